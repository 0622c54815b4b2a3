"""The staff workbench: what 我的待办 lists and counts, and which forms the task
and case pages offer (only what the services would do)."""

import datetime as dt
import re
from urllib.parse import urlencode

import lxml.html
import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tests.cases.helpers import (
    accepted,
    accepted_parallel,
    colleague,
    complete,
    open_task,
    publish_item,
    reload,
    submitted,
)
from yizhan.cases import selectors, services
from yizhan.cases.models import Case, Task
from yizhan.directory.pages import PAGE_SIZE
from yizhan.directory.roles import Role

TASK_LINK = re.compile(r'href="/workbench/tasks/(\d+)/"')
TZ = timezone.get_default_timezone()


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _doc(response):
    assert response.status_code == 200, response.status_code
    return lxml.html.fromstring(response.content.decode())


def _text(el) -> str:
    return " ".join(el.text_content().split())


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


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


@pytest.mark.parametrize("role", [Role.WINDOW_CLERK, Role.REVIEWER, Role.SUPERVISION_OFFICER])
def test_every_workbench_link_opens_for_its_reader(world, client_for, role):
    """The workbench's navigation offers only pages its reader may open: 事项管理
    is for the catalog desk's editing roles, as the window, audit, monitoring and
    scores links are for theirs."""
    client = client_for(world.user("a", role))
    page = _page(client, "/workbench/")
    nav = re.search(r'<nav class="subnav".*?</nav>', page, re.S).group(0)
    refused = [href for href in re.findall(r'href="([^"]+)"', nav)
               if client.get(href).status_code == 403]
    assert refused == [], f"{role} is offered pages that refuse them: {refused}"


def test_the_catalog_desk_is_linked_for_its_editors(world, client_for):
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    assert 'href="/workbench/catalog/"' in _page(head, "/workbench/")
    assert head.get("/workbench/catalog/").status_code == 200


def test_the_provisional_mark_in_the_inbox_is_explained_in_words(world, client_for):
    """暂定 next to a step's limit in 我的待办 is explained on the page (the year's
    holidays not yet published), not only in a tooltip a tablet never shows —
    as the case page does (provisional-note)."""
    reviewer = client_for(world.user("a", Role.REVIEWER))
    # A step due next year, whose holidays the test calendar does not hold.
    case = accepted(world, publish_item(world, promised_limit=60, statutory_limit=60))
    assert open_task(case).due_provisional
    doc = _doc(reviewer.get(reverse("portal:workbench")))
    assert "暂定" in _text(doc.xpath("//*[@data-testid='inbox']")[0])
    [note] = doc.xpath("//*[@data-testid='provisional-note']")
    assert "节假日尚未公布" in _text(note)


def test_the_inbox_says_nothing_of_provisional_limits_when_none_is(world, promised,
                                                                   client_for):
    accepted(world, promised)
    doc = _doc(client_for(world.user("a", Role.REVIEWER)).get(reverse("portal:workbench")))
    assert doc.xpath("//*[@data-testid='inbox']")
    assert not doc.xpath("//*[@data-testid='provisional-note']")


def test_the_provisional_mark_in_the_agency_s_cases_is_explained_in_words(world, promised,
                                                                          client_for):
    """本机关办件 explains 暂定 below its table once, whichever rows carry it."""
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    accepted(world, promised)
    doc = _doc(head.get(reverse("cases:agency_cases")))
    assert not doc.xpath("//*[@data-testid='provisional-note']")

    accepted(world, publish_item(world, name="长期许可", promised_limit=60,
                                 statutory_limit=60))
    doc = _doc(head.get(reverse("cases:agency_cases")))
    assert "暂定" in _text(doc.xpath("//table")[0])
    [note] = doc.xpath("//*[@data-testid='provisional-note']")
    assert "节假日尚未公布" in _text(note)


def test_the_agency_s_cases_offer_no_status_none_of_them_can_have(world, promised,
                                                                  client_for):
    """本机关办件 lists submitted cases only (selectors.submitted_cases): its
    filter offers every status but 草稿, which would always find nothing, and
    a status asked for by hand that none can have lists them all."""
    case = accepted(world, promised)
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    doc = _doc(head.get(reverse("cases:agency_cases")))
    offered = doc.xpath("//select[@name='status']/option/@value")
    assert offered == ["", *[value for value in Case.Status.values
                             if value != Case.Status.DRAFT]]
    page = _page(head, reverse("cases:agency_cases") + "?status=draft")
    assert case.number in page


def test_a_provisional_step_limit_is_explained_on_the_task_page(
        world, promised, client_for, monkeypatch):
    """Accepted on 1 December 2026, both of the case's deadlines fall in 2026 and
    are final; decided on 31 December, its delivery (one working day) is due on
    1 January 2027, 暂定.  The badge's meaning is only in a tooltip (never shown
    on a phone): the task page, and the case page's list of steps, say it in
    words (cases/_provisional_note.html), though the case's own deadlines,
    being final, do not."""
    def at(moment, call):
        with monkeypatch.context() as patch:
            patch.setattr(timezone, "now", lambda: moment)
            return call()

    accepted_at = dt.datetime(2026, 12, 1, 10, tzinfo=TZ)
    case, _code = at(accepted_at, lambda: submitted(world, promised))
    at(accepted_at, lambda: complete(world.user("a", Role.WINDOW_CLERK), case, "accept"))
    decided = dt.datetime(2026, 12, 31, 10, tzinfo=TZ)
    at(decided, lambda: complete(world.user("a", Role.REVIEWER), case, "review"))
    at(decided, lambda: complete(world.user("a", Role.AGENCY_HEAD), case, "decide"))
    case = reload(case)
    assert case.status == Case.Status.APPROVED
    assert (case.due_provisional, case.promised_provisional) == (False, False)
    deliver = open_task(case, "deliver")
    assert deliver.due_provisional is True
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    for url in (f"/workbench/tasks/{deliver.pk}/", f"/workbench/cases/{case.pk}/"):
        page = clerk.get(url).content.decode()
        assert "暂定" in page, url
        assert page.count('data-testid="provisional-note"') == 1, url


# --- the task page --------------------------------------------------------------------

def test_the_timeline_tells_a_joint_rejection_from_an_approval(world, client_for):
    """A joint agency rejects while the lead agency's review is still open: the
    lead reviewer, opening the task, sees in 办理进度 that the joint review said
    不同意 (it ends the case in a refusal once the lead review is in), and above
    the forms which agency of the stage has rejected."""
    case, third, staff = accepted_parallel(world)
    lead_reviewer = client_for(world.user("a", Role.REVIEWER))
    complete(world.user("b", Role.REVIEWER), case, "joint_review", agency=world.agency_b,
             opinion="经审查材料齐全")
    url = reverse("cases:task", args=[open_task(case, "lead_review").pk])
    assert not _doc(lead_reviewer.get(url)).xpath("//*[@data-testid='stage-rejected']")

    complete(staff[Role.REVIEWER], case, "joint_review", agency=third, decision="reject",
             opinion="消防通道被占用")
    doc = _doc(lead_reviewer.get(url))
    rows = [_text(li) for li in doc.xpath("//*[@data-testid='timeline']/li")]
    rejected = next(r for r in rows if "消防通道被占用" in r)
    approved = next(r for r in rows if "经审查材料齐全" in r)
    assert "不同意" in rejected, rows
    assert "不同意" not in approved and "同意" in approved, rows
    [note] = doc.xpath("//*[@data-testid='stage-rejected']")
    assert "丙局" in _text(note) and world.agency_b.name not in _text(note)

    english = _doc(_english(lead_reviewer).get(url))
    rows = [_text(li) for li in english.xpath("//*[@data-testid='timeline']/li")]
    assert "Rejected" in next(r for r in rows if "消防通道被占用" in r), rows
    assert "Approved" in next(r for r in rows if "经审查材料齐全" in r), rows

    # Once the lead review is in, the case is refused: no stage is still open.
    complete(world.user("a", Role.REVIEWER), case, "lead_review")
    assert not _doc(lead_reviewer.get(url)).xpath("//*[@data-testid='stage-rejected']")


def test_the_public_timeline_shows_no_review_s_decision(world):
    """The status query by number and code (public) shows no opinion of a review,
    nor its decision."""
    case, third, staff = accepted_parallel(world)
    complete(staff[Role.REVIEWER], case, "joint_review", agency=third, decision="reject",
             opinion="消防通道被占用")
    html = render_to_string("cases/timeline.html", {"case": selectors.case_detail(
        actor=world.user("a", Role.REVIEWER), case_id=case.pk), "public": True})
    assert "同意" not in html and "消防通道被占用" not in html


def test_switching_to_large_text_keeps_the_opinion_typed(world, promised, client_for):
    """The display toggles send the decision form along (form="task-form"): the
    task page comes back in large text with the reasons typed, once."""
    case = accepted(world, promised)
    url = reverse("cases:task", args=[open_task(case, "review").pk])
    client = client_for(world.user("a", Role.REVIEWER))
    page = client.get(url).content.decode()
    toggle = re.search(r'<button[^>]*data-testid="large-text"[^>]*>', page).group()
    assert 'form="task-form"' in toggle and 'formaction="/display/"' in toggle
    assert re.search(r'<form[^>]*id="task-form"', page)
    reasons = "经营场所使用证明缺少出租方签章页"
    switched = client.post("/display/", urlencode({
        "version": "0", "opinion": reasons, "large_text": "on", "next": url,
        "display_keeps_form": "1"}), content_type="application/x-www-form-urlencoded",
        follow=True)
    assert switched.redirect_chain == [(url, 302)]
    page = switched.content.decode()
    assert 'class="large-text"' in page
    [opinion] = lxml.html.fromstring(page).xpath("//textarea[@id='opinion']")
    assert opinion.text == reasons
    # Once: the page loaded again is a fresh form.
    assert not lxml.html.fromstring(client.get(url).content.decode()).xpath(
        "//textarea[@id='opinion']")[0].text


def test_switching_the_language_keeps_the_opinion_typed(world, promised, client_for):
    """The language switch sends the decision form along as the display toggles do
    (name display_language, not an application field's possible name "language")."""
    case = accepted(world, promised)
    url = reverse("cases:task", args=[open_task(case, "review").pk])
    client = client_for(world.user("a", Role.REVIEWER))
    page = client.get(url).content.decode()
    switch = re.search(r'<button[^>]*data-testid="language"[^>]*>', page).group()
    assert 'form="task-form"' in switch and 'name="display_language"' in switch
    reasons = "经营场所使用证明缺少出租方签章页"
    switched = client.post("/display/", urlencode({
        "version": "0", "opinion": reasons, "display_language": "en", "next": url,
        "display_keeps_form": "1"}), content_type="application/x-www-form-urlencoded",
        follow=True)
    page = switched.content.decode()
    assert '<html lang="en"' in page
    [opinion] = lxml.html.fromstring(page).xpath("//textarea[@id='opinion']")
    assert opinion.text == reasons
    # A language the platform does not have changes nothing.
    client.post("/display/", {"display_language": "xx", "next": url})
    assert '<html lang="en"' in client.get(url).content.decode()


def _acceptance_page(world, promised, client_for):
    """The window's acceptance page of a submitted case: the clerk's client, the
    page's address, the item's materials in order, and the case."""
    case, _code = submitted(world, promised)
    url = reverse("cases:task", args=[open_task(case, "accept").pk])
    materials = list(promised.materials.order_by("order"))
    return client_for(world.user("a", Role.WINDOW_CLERK)), url, materials, case


def test_switching_to_large_text_keeps_the_correction_notice_typed(world, promised,
                                                                   client_for):
    """At acceptance the decision and the correction notice are one form, which
    the toggles send along: the opinion, every box ticked, each problem and the
    note come back, once; nothing is sent to the applicant."""
    client, url, (first, second, third), case = _acceptance_page(world, promised, client_for)
    page = client.get(url).content.decode()
    toggle = re.search(r'<button[^>]*data-testid="large-text"[^>]*>', page).group()
    assert 'form="task-form"' in toggle
    [form] = lxml.html.fromstring(page).xpath("//form[@id='task-form']")
    assert form.xpath(f".//textarea[@id='problem-{first.pk}']")
    assert form.xpath(".//textarea[@id='note']") and form.xpath(".//textarea[@id='opinion']")
    switched = client.post("/display/", urlencode({
        "version": "0", "opinion": "材料待核", f"listed_{first.pk}": "1",
        f"listed_{second.pk}": "1", f"problem_{first.pk}": "缺少申请人签名",
        f"problem_{second.pk}": "复印件未加盖公章\n第二页模糊", f"problem_{third.pk}": "",
        "note": "请一次性补正", "large_text": "on", "next": url, "display_keeps_form": "1"}),
        content_type="application/x-www-form-urlencoded", follow=True)
    assert switched.redirect_chain == [(url, 302)]
    doc = lxml.html.fromstring(switched.content.decode())
    assert doc.xpath("//textarea[@id='opinion']")[0].text == "材料待核"
    assert doc.xpath(f"//textarea[@id='problem-{first.pk}']")[0].text == "缺少申请人签名"
    assert (doc.xpath(f"//textarea[@id='problem-{second.pk}']")[0].text
            == "复印件未加盖公章\n第二页模糊")
    assert doc.xpath("//textarea[@id='note']")[0].text == "请一次性补正"
    assert [box.get("checked") is not None for box in
            (doc.xpath(f"//input[@id='fixm-{m.pk}']")[0] for m in (first, second, third))
            ] == [True, True, False]
    assert reload(case).status == Case.Status.SUBMITTED
    # Once: the page loaded again is a fresh form.
    again = lxml.html.fromstring(client.get(url).content.decode())
    assert not again.xpath(f"//textarea[@id='problem-{first.pk}']")[0].text


def test_enter_in_the_task_form_sends_no_decision_and_no_notice(world, promised, client_for):
    """Enter in a tick box submits the form to its own action (Chromium does so):
    with the notice offered, that is the toggles' own, which keeps what was
    typed and comes back; neither 受理 nor a half-written notice goes out."""
    client, url, (first, *_rest), case = _acceptance_page(world, promised, client_for)
    [form] = lxml.html.fromstring(client.get(url).content.decode()).xpath(
        "//form[@id='task-form']")
    assert form.get("action") == reverse("portal:display")
    assert all(button.get("formaction") for button in form.xpath(".//button"))
    fields = {field.get("name"): field.get("value") for field in
              form.xpath(".//input[@type='hidden']")}
    response = client.post(form.get("action"), {
        **fields, f"listed_{first.pk}": "1", f"problem_{first.pk}": "缺少签名"}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert reload(case).status == Case.Status.SUBMITTED and not reload(case).corrections
    doc = lxml.html.fromstring(response.content.decode())
    assert doc.xpath(f"//textarea[@id='problem-{first.pk}']")[0].text == "缺少签名"


def test_a_refused_decision_keeps_the_correction_notice_typed(world, promised, client_for):
    """不予受理 without reasons, sent from the form that also holds the notice being
    written: the page comes back with the problems and the note as typed."""
    client, _url, (first, *_rest), case = _acceptance_page(world, promised, client_for)
    response = client.post(reverse("cases:task_action", args=[open_task(case).pk, "reject"]),
                           {"opinion": "", f"listed_{first.pk}": "1",
                            f"problem_{first.pk}": "缺少签名", "note": "请带原件"})
    assert response.status_code == 400
    doc = lxml.html.fromstring(response.content.decode())
    assert doc.xpath(f"//textarea[@id='problem-{first.pk}']")[0].text == "缺少签名"
    assert doc.xpath("//textarea[@id='note']")[0].text == "请带原件"
    assert doc.xpath(f"//input[@id='fixm-{first.pk}']")[0].get("checked") is not None


REASONS = "经审查，申请人提交的场所平面图与现场不符，依据《食品经营许可管理办法》第十条不予许可。"


def test_a_decision_refused_for_a_change_to_the_case_keeps_the_reasons_typed(
        world, promised, client_for):
    """While the reviewer writes the reasons, the head stops the clock for an
    expert review (第四十五条): the case is paused, the task unchanged.  The
    decision is refused and told why; the reasons come back with the page (as
    a stale page's do, cases.task_changed), not dropped by a redirect.  A
    paused case takes no decision, so the page offers no decision form: the
    reasons are shown to be copied and sent once the clock runs again."""
    case = accepted(world, promised)
    task = open_task(case, "review")
    reviewer = client_for(world.user("a", Role.REVIEWER))
    _page(reviewer, f"/workbench/tasks/{task.pk}/")
    services.case_suspend(actor=world.user("a", Role.AGENCY_HEAD), case=reload(case),
                          reason="expert_review", note="专家评审")
    response = reviewer.post(f"/workbench/tasks/{task.pk}/reject/",
                             {"opinion": REASONS, "version": str(task.version)})
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN
    assert reload(case).status == Case.Status.SUSPENDED
    assert response.status_code == 409
    doc = lxml.html.fromstring(response.content.decode())
    assert "下不能办理此环节" in _text(doc)
    assert not doc.xpath("//textarea[@id='opinion']")
    [kept] = doc.xpath("//*[@data-testid='unsent']//textarea")
    assert kept.text.strip() == REASONS and kept.get("readonly") is not None
    label = doc.xpath(f"//label[@for='{kept.get('id')}']")[0]
    assert _text(label) == "意见"


def test_the_task_page_says_why_no_notice_is_offered_after_five_working_days(
        world, promised, client_for):
    """The correction form is offered only while the service would take it; once
    the five working days have passed, the page says so and cites the rule."""
    from tests.cases.helpers import received_workdays_ago

    client, url, _materials, case = _acceptance_page(world, promised, client_for)
    assert 'data-testid="correction-too-late"' not in client.get(url).content.decode()
    received_workdays_ago(case, 7)
    doc = _doc(client.get(url))
    assert not doc.xpath("//*[@data-testid='request-correction']")
    [why] = doc.xpath("//*[@data-testid='correction-too-late']")
    assert "第三十二条" in _text(why) and "逾期不告知" in _text(why)
    # 受理 is still offered: the application is accepted in law anyway.
    assert doc.xpath("//*[@data-testid='approve']")


def test_the_window_of_an_immediate_item_offers_to_refuse_to_accept(world, client_for):
    """受理并当场办结 is still 受理: the step offers 不予受理 besides 不同意 (不予
    许可); posted with its reason, the case ends not accepted."""
    version = publish_item(world, name="即办事项", case_type="immediate",
                           process_template="immediate", statutory_limit=1, promised_limit=0,
                           materials=[{"name": "申请书", "forms": ["original"]}])
    case, _code = submitted(world, version)
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    task = open_task(case)
    page = client.get(reverse("cases:task", args=[task.pk])).content.decode()
    assert re.search(r"<button[^>]*>\s*不予受理\s*</button>", page)
    assert re.search(r"<button[^>]*>\s*不同意\s*</button>", page)
    response = client.post(reverse("cases:task_action", args=[task.pk, "not_accept"]),
                           {"opinion": ""})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in re.search(r'<textarea[^>]*id="opinion"[^>]*>',
                                              response.content.decode()).group()
    response = client.post(reverse("cases:task_action", args=[task.pk, "not_accept"]),
                           {"opinion": "不属于本机关职权范围"})
    assert response.status_code == 302
    assert reload(case).status == Case.Status.NOT_ACCEPTED


def test_the_window_s_accept_step_offers_one_refusal_to_accept(world, promised, client_for):
    """The acceptance step's own refusal is its 不予受理: no second button."""
    client, url, _materials, _case = _acceptance_page(world, promised, client_for)
    page = client.get(url).content.decode()
    assert len(re.findall(r"<button[^>]*>\s*不予受理\s*</button>", page)) == 1
    assert 'data-testid="not-accept"' not in page


def test_a_task_page_without_a_decision_form_keeps_no_form_for_the_toggles(
        world, promised, client_for):
    case = accepted(world, promised)
    url = reverse("cases:task", args=[open_task(case, "review").pk])
    page = client_for(world.user("a", Role.AGENCY_HEAD)).get(url).content.decode()
    assert 'form="task-form"' not in page and 'id="task-form"' not in page


def test_the_pause_button_names_the_action_in_english(world, client_for):
    """暂停计时 names both the state (Clock paused) and the action; the button on
    the case page is the action, as the convention says (context "button")."""
    case = accepted(world, publish_item(world))
    doc = _doc(_english(client_for(world.user("a", Role.REVIEWER))).get(
        reverse("cases:staff_case", args=[case.pk])))
    button = doc.xpath("//button[@data-testid='suspend']")[0]
    assert _text(button) == "Pause the clock"


def test_one_working_day_left_reads_in_the_singular_in_english(world, client_for):
    """The days left on the task page read "1 working day left", not "1 working
    days left", and the extension likewise."""
    version = publish_item(world, promised_limit=1, statutory_limit=1)
    case = accepted(world, version)
    services.case_extend(actor=world.user("a", Role.AGENCY_HEAD), case=case, workdays=1,
                         reason="需要现场核查")
    task = open_task(reload(case))
    doc = _doc(_english(client_for(world.user("a", Role.REVIEWER))).get(
        reverse("cases:task", args=[task.pk])))
    text = _text(doc.xpath("//main")[0])
    assert "1 working days" not in text, re.findall(r"[^.]{0,30}1 working days[^.]{0,20}",
                                                    text)
    assert "Statutory deadline extended by 1 working day" in text
    assert "1 working day left" in text


def test_the_working_days_left_or_overdue_read_well_for_one_and_many():
    def remaining(n, language):
        with translation.override(language):
            return " ".join(lxml.html.fromstring(
                f"<p>{render_to_string('cases/_remaining.html', {'n': n})}</p>"
            ).text_content().split())

    assert remaining(1, "zh-hans") == "剩余 1 个工作日"
    assert remaining(-3, "zh-hans") == "已超期 3 个工作日"
    assert [remaining(n, "en") for n in (0, 1, 2, -1, -3)] == [
        "0 working days left", "1 working day left", "2 working days left",
        "1 working day overdue", "3 working days overdue"]


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


def test_a_filing_clerk_moved_to_another_agency_sees_no_staff_page(world, promised,
                                                                    client_for):
    """A's clerk files a walk-in case and is moved to B's window (调岗): still a
    window clerk, of another agency.  A's reviewer has asked the head for more
    time, with a reason that is the agency's own until the head approves it
    (docs/cases.md).  Neither the applicant's page of the case (the clerk's
    hold on it ended with A's window) nor A's workbench pages of it are B's
    clerk's to read."""
    from tests.cases.helpers import walk_in_case
    from yizhan.directory import services as directory_services
    from yizhan.directory.authz import forget_scope

    case, _code = walk_in_case(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    services.case_extension_request(actor=world.user("a", Role.REVIEWER), case=case,
                                    workdays=5, reason="内部会商意见分歧，需报分管领导")
    clerk = world.user("a", Role.WINDOW_CLERK)
    directory_services.staff_post(actor=world.admin, user=clerk,
                                  post=world.posts["b"][Role.WINDOW_CLERK])
    directory_services.staff_unpost(actor=world.admin, user=clerk,
                                    post=world.posts["a"][Role.WINDOW_CLERK])
    forget_scope(clerk)
    client = client_for(clerk)
    task = open_task(case, "review")
    for url in (f"/my/cases/{case.pk}/", f"/workbench/cases/{case.pk}/",
                f"/workbench/tasks/{task.pk}/"):
        response = client.get(url)
        assert "内部会商意见分歧" not in response.content.decode(), url
        assert response.status_code == 404, url
