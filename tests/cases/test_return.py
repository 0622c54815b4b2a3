"""退回: a review or decision goes back to the step before it, with reasons."""

import pytest

from tests.cases.helpers import (
    accepted_parallel,
    audit_actions,
    colleague,
    complete,
    event_types,
    nothing_written,
    open_task,
    reachable,
    reload,
    submitted,
)
from yizhan.cases import selectors, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, EventType, Task
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory.roles import Role

E = EventType


def _open_names(case):
    return sorted(Task.objects.filter(case=case, status__in=["open", "claimed"])
                  .values_list("name", "agency__name"))


def test_decision_returned_to_review_and_redone(world, promised):
    """The head returns the decision; the review reopens; the clock does not restart."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    deadline = reload(case).statutory_due
    complete(world.user("a", Role.REVIEWER), case, "review", opinion="同意")
    decide = open_task(case, "decide")
    reopened = services.task_return(actor=world.user("a", Role.AGENCY_HEAD), task=decide,
                                    opinion="现场核查意见缺失，请补充")
    assert [(t.name, t.role) for t in reopened] == [("review", Role.REVIEWER)]
    decide.refresh_from_db()
    assert (decide.status, decide.decision, decide.opinion) == (
        Task.Status.DONE, "return", "现场核查意见缺失，请补充")
    assert [t.name for t in selectors.inbox(actor=world.user("a", Role.REVIEWER))] == ["review"]
    event = case.events.get(type=E.RETURNED)
    assert event.data == {"task": "decide", "opinion": "现场核查意见缺失，请补充",
                          "to": ["review"]}
    assert audit_actions(case).count(CasesAction.TASK_RETURNED) == 1
    complete(world.user("a", Role.REVIEWER), case, "review", opinion="已补充核查")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    # (the certificate, not issued after the decision here, is issued at delivery)
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.APPROVED)
    assert case.statutory_due == deadline
    assert event_types(case) == [E.SUBMITTED, E.ACCEPTED, E.NOTIFIED, E.REVIEWED, E.RETURNED,
                                 E.REVIEWED, E.APPROVED, E.NOTIFIED, E.CERTIFICATE_ISSUED,
                                 E.DELIVERED, E.CLOSED, E.NOTIFIED]


def test_review_returned_to_acceptance_keeps_the_clock(world, promised):
    """A review returned to the window reopens acceptance; re-accepting keeps the first clock."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    first = reload(case)
    services.task_return(actor=world.user("a", Role.REVIEWER), task=open_task(case, "review"),
                         opinion="受理登记信息有误")
    assert _open_names(case) == [("accept", "甲局")]
    assert reload(case).status == Case.Status.IN_PROGRESS
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    again = reload(case)
    assert (again.accepted_at, again.statutory_due, again.promised_due) == (
        first.accepted_at, first.statutory_due, first.promised_due)
    assert open_task(case).name == "review"


def test_a_case_returned_to_the_window_cannot_be_refused_acceptance(world, promised):
    """Once 受理, an application ends in a decision: the reopened acceptance
    may be confirmed, not turned into 不予受理."""
    case, _code = submitted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    complete(clerk, case, "accept")
    services.task_return(actor=world.user("a", Role.REVIEWER), task=open_task(case, "review"),
                         opinion="受理登记信息有误")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.task_complete(actor=clerk, task=open_task(case, "accept"),
                               decision="reject", opinion="材料不全")
    assert exc.value.code == CasesErrorCode.BAD_DECISION
    assert reload(case).status == Case.Status.IN_PROGRESS


def test_joint_decision_returned_reopens_every_review(world):
    """Returning the joint decision reopens the lead review and every joint review."""
    case, _third, _staff = accepted_parallel(world)
    for task in list(Task.objects.filter(case=case, status="open")):
        services.task_complete(actor=_reviewer(world, task), task=task, decision="approve")
    decide = open_task(case, "decide")
    reopened = services.task_return(actor=world.user("a", Role.AGENCY_HEAD), task=decide,
                                    opinion="请各部门重新会审")
    assert sorted((t.name, t.agency.name) for t in reopened) == [
        ("joint_review", "丙局"), ("joint_review", "乙局"), ("lead_review", "甲局")]
    for task in reopened:
        services.task_complete(actor=_reviewer(world, task), task=task, decision="approve")
    decide = open_task(case, "decide")
    assert decide.status == Task.Status.OPEN


def test_joint_review_returned_cancels_the_other_reviews(world):
    """A joint agency returns the case to the accepting window: the stage is withdrawn."""
    case, _third, _staff = accepted_parallel(world)
    joint_b = open_task(case, "joint_review", agency=world.agency_b)
    services.task_return(actor=world.user("b", Role.REVIEWER), task=joint_b,
                         opinion="申请范围与受理登记不符")
    assert _open_names(case) == [("accept", "甲局")]
    statuses = dict(Task.objects.filter(case=case).exclude(name="accept")
                    .values_list("name", "status").order_by("name", "status"))
    assert statuses["lead_review"] == "cancelled"


def test_a_return_tells_the_holders_of_the_reviews_it_withdrew(
        world, django_capture_on_commit_callbacks):
    """乙局 returns its joint review to the window: the lead's and 丙局's reviews
    are withdrawn, and their reviewers are told why."""
    from django.core import mail

    case, _third, staff = accepted_parallel(world)
    lead, joint_c = reachable(world.user("a", Role.REVIEWER), staff[Role.REVIEWER])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.task_return(actor=world.user("b", Role.REVIEWER),
                             task=open_task(case, "joint_review", agency=world.agency_b),
                             opinion="申请范围与受理登记不符")
    told = {m.to[0]: m.body for m in mail.outbox if m.subject == f"待办已取消：{case.number}"}
    assert set(told) == {lead.email, joint_c.email}
    assert "办件已被退回重新办理，本环节已取消" in told[joint_c.email]


def test_a_refusal_states_only_the_reasons_of_the_round_that_refused(world):
    """丙局 rejects; the lead reviewer sends the case back to the window; in the
    second round 丙局 approves and the lead rejects.  The refusal states the
    lead's reason alone: 丙局's first-round reason was answered by the return,
    and 丙局 has approved since."""
    case, third, staff = accepted_parallel(world)
    complete(staff[Role.REVIEWER], case, "joint_review", agency=third, decision="reject",
             opinion="消防通道不足")
    services.task_return(actor=world.user("a", Role.REVIEWER),
                         task=open_task(case, "lead_review"), opinion="请窗口核对材料")
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(staff[Role.REVIEWER], case, "joint_review", agency=third)
    complete(world.user("b", Role.REVIEWER), case, "joint_review", agency=world.agency_b)
    complete(world.user("a", Role.REVIEWER), case, "lead_review", decision="reject",
             opinion="选址不符合规划")
    assert open_task(case).name == "deliver_refusal"
    case = reload(case)
    assert case.outcome_reason == "选址不符合规划"
    assert case.events.get(type=E.REFUSED).data["reasons"] == ["选址不符合规划"]
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    assert reload(case).outcome_reason == "选址不符合规划"


def test_a_case_accepted_again_after_a_return_is_not_announced_twice(
        world, django_capture_on_commit_callbacks):
    """A joint reviewer returns the case to the window (the agency's own step);
    the window accepts it again: the applicant, told 已受理 the first time, is
    not told again."""
    from django.core import mail

    from yizhan.core.notify import MemorySmsBackend

    reachable(world.citizen, phone="13900001111")
    case, third, staff = accepted_parallel(world)
    services.task_return(actor=staff[Role.REVIEWER],
                         task=open_task(case, "joint_review", agency=third),
                         opinion="请核对材料")
    mail.outbox.clear()
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    assert [m for m in mail.outbox if m.to == ["citizen@example.com"]] == []
    assert MemorySmsBackend.outbox == []
    assert event_types(case)[-1] == E.ACCEPTED


def _reviewer(world, task):
    from yizhan.directory.models import Posting

    return Posting.objects.filter(post__agency=task.agency, post__role=task.role).first().user


def test_return_needs_reasons_and_the_right_step(world, promised):
    """No reason, acceptance or delivery steps, or a stranger: refused, nothing written."""
    case, _code = submitted(world, promised)
    accept = open_task(case, "accept")
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.task_return(actor=world.user("a", Role.WINDOW_CLERK), task=accept,
                             opinion="x")
    assert exc.value.code == CasesErrorCode.CANNOT_RETURN
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    review = open_task(case, "review")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.task_return(actor=world.user("a", Role.REVIEWER), task=review, opinion="  ")
    assert exc.value.code == CasesErrorCode.NO_REASON
    with nothing_written(), pytest.raises(PermissionDenied):
        services.task_return(actor=world.user("b", Role.REVIEWER), task=review, opinion="越权")
    services.task_claim(actor=world.user("a", Role.REVIEWER), task=review)
    second = colleague(world, "a", Role.REVIEWER, "a.reviewer2")
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.task_return(actor=second, task=review, opinion="x")
    assert exc.value.code == CasesErrorCode.TASK_TAKEN


def test_return_through_the_api(world, promised, client):
    """POST /tasks/{id}/return answers with the reopened tasks; a missing reason is a 400."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    decide = open_task(case, "decide")
    client.force_login(world.user("a", Role.AGENCY_HEAD))
    url = f"/api/v1/tasks/{decide.pk}/return"
    response = client.post(url, {"opinion": ""}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == CasesErrorCode.NO_REASON
    response = client.post(url, {"opinion": "请补充意见"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert [t["name"] for t in response.json()] == ["review"]


def test_return_from_the_task_page(world, promised, client):
    """The workbench's 退回 button sends the decision back and says so."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    decide = open_task(case, "decide")
    client.force_login(world.user("a", Role.AGENCY_HEAD))
    page = client.get(f"/workbench/tasks/{decide.pk}/")
    assert 'data-testid="return"' in page.content.decode()
    response = client.post(f"/workbench/tasks/{decide.pk}/return/", {"opinion": "请补充"},
                           follow=True)
    assert "已退回上一环节" in response.content.decode()
    assert open_task(case).name == "review"
