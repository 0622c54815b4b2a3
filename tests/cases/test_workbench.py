"""The staff workbench: what 我的待办 lists and counts, and which forms the task
and case pages offer (only what the services would do)."""

import re

from tests.cases.helpers import colleague, complete, open_task, publish_item, reload, submitted
from yizhan.cases import selectors, services
from yizhan.cases.models import Case, Task
from yizhan.directory.pages import PAGE_SIZE
from yizhan.directory.roles import Role

TASK_LINK = re.compile(r'href="/workbench/tasks/(\d+)/"')


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _decided_refusal(world, promised):
    """An application refused (不予许可) and not yet delivered: in progress, decided."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide", decision="reject",
             opinion="不符合条件")
    case = reload(case)
    assert case.status == Case.Status.IN_PROGRESS and case.decided_at is not None
    return case


# --- 我的待办 -------------------------------------------------------------------------

def test_the_inbox_holds_what_its_owner_can_do(world, promised, client_for):
    """A task 签收 by one reviewer is theirs alone: it stays in their 我的待办 and
    leaves every colleague's, who would only be refused (该环节已由他人签收办理) —
    in the list, the count and the API alike."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    first = world.user("a", Role.REVIEWER)
    other = colleague(world, "a", Role.REVIEWER, "a.reviewer2")
    task = open_task(case, "review")
    assert list(selectors.inbox(actor=other)) == [task]
    services.task_claim(actor=first, task=task)

    assert list(selectors.inbox(actor=other)) == []
    assert "共 0 件待办" in _page(client_for(other), "/workbench/")
    assert client_for(other).get("/api/v1/tasks/inbox").json() == []

    assert list(selectors.inbox(actor=first)) == [task]
    page = _page(client_for(first), "/workbench/")
    assert "共 1 件待办" in page and f"/workbench/tasks/{task.pk}/" in page
    assert [t["id"] for t in client_for(first).get("/api/v1/tasks/inbox").json()] == [task.pk]


def test_the_workbench_counts_every_task_and_pages_to_each(world, client_for):
    """A window with more waiting applications than one page (and than the old
    cap of 200) is told the true count and reaches every one through the pager."""
    version = publish_item(world, name="无材料事项", materials=[
        {"name": "补充说明", "forms": ["original"], "necessity": "optional"}])
    for _n in range(201):
        submitted(world, version, files=False)
    waiting = set(Task.objects.filter(status=Task.Status.OPEN, agency=world.agency_a)
                  .values_list("pk", flat=True))
    assert len(waiting) == 201
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    pages = -(-201 // PAGE_SIZE)
    seen = []
    for number in range(1, pages + 1):
        page = _page(client, f"/workbench/?page={number}")
        assert "共 201 件待办" in page
        assert f"{number} / {pages}" in page
        seen += [int(pk) for pk in TASK_LINK.findall(page)]
    assert len(seen) == len(set(seen)) == 201 and set(seen) == waiting


# --- the task page --------------------------------------------------------------------

def test_a_task_page_offers_no_action_on_a_task_a_colleague_claimed(world, promised,
                                                                     client_for):
    """Only the clerk who 签收 the acceptance is shown 受理/不予受理/告知补正; a
    colleague in the same post sees the task and who holds it, and no form."""
    case, _code = submitted(world, promised)
    task = open_task(case, "accept")
    clerk = world.user("a", Role.WINDOW_CLERK)
    services.task_claim(actor=clerk, task=task)
    other = colleague(world, "a", Role.WINDOW_CLERK, "a.clerk2")
    url = f"/workbench/tasks/{task.pk}/"

    page = _page(client_for(other), url)
    assert str(clerk) in page
    for action in ("claim", "approve", "reject", "request-correction"):
        assert f'data-testid="{action}"' not in page

    page = _page(client_for(clerk), url)
    for action in ("approve", "reject", "request-correction"):
        assert f'data-testid="{action}"' in page
    assert 'data-testid="claim"' not in page


def test_a_returned_acceptance_offers_neither_refusal_nor_correction(world, promised,
                                                                      client_for):
    """Returned to the window after 受理, the case can only be accepted again: the
    service refuses 不予受理 (a refusal is now a decision, 不予许可) and 告知补正
    (only at first acceptance), so the page offers 受理 alone."""
    case, _code = submitted(world, promised)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    first = _page(clerk, f"/workbench/tasks/{open_task(case, 'accept').pk}/")
    assert 'data-testid="reject"' in first and 'data-testid="request-correction"' in first
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    services.task_return(actor=world.user("a", Role.REVIEWER), task=open_task(case, "review"),
                         opinion="受理登记信息有误")

    page = _page(clerk, f"/workbench/tasks/{open_task(case, 'accept').pk}/")
    assert 'data-testid="approve"' in page
    assert 'data-testid="reject"' not in page
    assert 'data-testid="request-correction"' not in page


# --- the clock and withdrawal after a decision -----------------------------------------

def test_the_case_page_offers_no_pause_or_extension_once_decided(world, promised,
                                                                 client_for):
    """The clock runs to the decision: after 不予许可, while the refusal awaits
    delivery, the service refuses to pause or extend (办件已作出决定), so the
    head's case and task pages no longer offer 暂停计时 or 批准延期."""
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    before = _page(head, f"/workbench/cases/{case.pk}/")
    assert 'data-testid="suspend"' in before and 'data-testid="extend"' in before

    case = _decided_refusal(world, promised)
    deliver = open_task(case, "deliver")
    for url in (f"/workbench/cases/{case.pk}/", f"/workbench/tasks/{deliver.pk}/"):
        page = _page(head, url)
        assert 'data-testid="suspend"' not in page
        assert 'data-testid="extend"' not in page


def test_the_applicant_is_not_offered_withdrawal_once_decided(world, promised, client_for):
    """An application may be withdrawn until it is decided; a refusal awaiting
    delivery is still in progress, but the service refuses to withdraw it
    (办件已作出决定，不能撤回), so 撤回申请 is no longer offered."""
    citizen = client_for(world.citizen)
    case, _code = submitted(world, promised)
    assert 'data-testid="withdraw"' in _page(citizen, f"/my/cases/{case.pk}/")

    case = _decided_refusal(world, promised)
    assert 'data-testid="withdraw"' not in _page(citizen, f"/my/cases/{case.pk}/")
