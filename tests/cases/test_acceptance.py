"""Acceptance (受理): starting the clock, refusing, and the one-time correction notice."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.cases.helpers import (
    PNG,
    audit_actions,
    colleague,
    complete,
    event_types,
    nothing_written,
    open_task,
    received_workdays_ago,
    reload,
    submitted,
    upload,
    walk_in_case,
)
from yizhan.audit.models import AuditRecord
from yizhan.cases import selectors, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, CorrectionNotice, EventType, MaterialFile, Task
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory.roles import Role
from yizhan.workdays.selectors import calendar_current


def _clerk(world, key="a"):
    return world.user(key, Role.WINDOW_CLERK)


def _material_id(version, name):
    return version.materials.get(name=name).pk


def test_acceptance_starts_the_clock_in_working_days(world, promised):
    """受理 sets accepted_at and both deadlines from the working-day calendar."""
    case, _code = submitted(world, promised)
    complete(_clerk(world), case, "accept")
    case = reload(case)
    calendar = calendar_current()
    tz = timezone.get_default_timezone()
    assert case.status == Case.Status.IN_PROGRESS
    assert case.accepted_at is not None
    assert case.statutory_due == calendar.deadline(case.accepted_at, 20, tz).at
    assert case.promised_due == calendar.deadline(case.accepted_at, 10, tz).at
    assert case.due_provisional is calendar.deadline(case.accepted_at, 20, tz).provisional
    # Due for supervision's look at once; the sweep sets the next moment.
    assert case.next_check_at <= timezone.now()
    # 受理 is told to the applicant (第三十二条): the 告知 point.
    assert event_types(case) == [EventType.SUBMITTED, EventType.ACCEPTED, EventType.NOTIFIED]
    accepted = case.events.get(type=EventType.ACCEPTED)
    assert accepted.task == Task.objects.get(case=case, name="accept")
    assert (accepted.actor, accepted.data["decision"]) == (_clerk(world), "approve")
    review = open_task(case)
    assert (review.name, review.role, review.agency) == ("review", Role.REVIEWER,
                                                         world.agency_a)
    assert review.due_at == calendar.deadline(review.created_at, 5, tz).at
    record = AuditRecord.objects.filter(action=CasesAction.TASK_COMPLETED).get()
    assert record.changes == {"task": "受理", "decision": "approve",
                              "status": Case.Status.IN_PROGRESS}


def test_refusing_acceptance_needs_a_reason(world, promised):
    """不予受理 without reasons is refused and changes nothing."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.task_complete(actor=_clerk(world), task=task, decision="reject", opinion="  ")
    assert exc.value.code == CasesErrorCode.NO_REASON
    assert reload(case).status == Case.Status.SUBMITTED


def test_refusing_acceptance_with_a_reason_ends_the_case(world, promised):
    """With its reason, 不予受理 ends the case: NOT_ACCEPTED then CLOSED."""
    case, _code = submitted(world, promised)
    complete(_clerk(world), case, "accept", decision="reject", opinion="不属于本机关职权范围")
    case = reload(case)
    assert case.status == Case.Status.NOT_ACCEPTED
    assert case.outcome == Case.Outcome.NOT_ACCEPTED
    assert case.outcome_reason == "不属于本机关职权范围"
    assert case.closed_at is not None
    assert case.accepted_at is None and case.statutory_due is None
    assert event_types(case) == [EventType.SUBMITTED, EventType.NOT_ACCEPTED, EventType.CLOSED,
                                 EventType.NOTIFIED]
    assert case.events.get(type=EventType.CLOSED).data == {"outcome": "not_accepted"}
    assert not Task.objects.filter(case=case, status__in=["open", "claimed"]).exists()
    record = AuditRecord.objects.get(action=CasesAction.TASK_COMPLETED)
    assert record.reason == "不属于本机关职权范围"


def test_a_bad_decision_is_refused(world, promised):
    """The decision is approve or reject, nothing else."""
    case, _code = submitted(world, promised)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.task_complete(actor=_clerk(world), task=open_task(case), decision="maybe")
    assert exc.value.code == CasesErrorCode.BAD_DECISION


def test_staff_of_another_agency_cannot_accept(world, promised):
    """B's window clerk holds no post in A: acceptance is refused."""
    case, _code = submitted(world, promised)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.task_complete(actor=_clerk(world, "b"), task=open_task(case),
                               decision="approve")


def _request_correction(world, case, version, names=("申请书", "营业执照")):
    items = [{"material_id": _material_id(version, name), "problem": f"{name}未签字"}
             for name in names]
    return services.case_request_correction(actor=_clerk(world), task=open_task(case),
                                            items=items, note="请一次性补正")


def test_the_same_correction_notice_sent_again_returns_the_notice(world, promised):
    """The clerk's notice sent again (a double click, a retry; the materials as the
    form sends them, ids in text): the notice sent, nothing written.  Another clerk
    sending the same, or the clerk another list, is refused: it is notified once."""
    case, _code = submitted(world, promised)
    notice = _request_correction(world, case, promised)
    other = colleague(world, "a", Role.WINDOW_CLERK, "a.clerk2")
    asked = [{"material_id": str(_material_id(promised, name)), "problem": f"{name}未签字 "}
             for name in ("申请书", "营业执照")]
    with nothing_written():
        again = services.case_request_correction(actor=_clerk(world), task=open_task(case),
                                                 items=asked, note="请一次性补正")
        assert again.pk == notice.pk
        for actor, items in ((other, asked), (_clerk(world), asked[:1])):
            with pytest.raises(Conflict) as exc:
                services.case_request_correction(actor=actor, task=open_task(case),
                                                 items=items, note="请一次性补正")
            assert exc.value.code == CasesErrorCode.BAD_STATE


def test_the_correction_notice_lists_every_material_at_once(world, promised):
    """一次性告知: every faulty material with its problem; the case waits for the applicant."""
    case, _code = submitted(world, promised)
    notice = _request_correction(world, case, promised)
    assert [item["name"] for item in notice.items] == ["申请书", "营业执照"]
    assert notice.items[0] == {"material_id": _material_id(promised, "申请书"), "name": "申请书",
                               "problem": "申请书未签字"}
    case = reload(case)
    assert case.status == Case.Status.CORRECTION
    assert case.corrections == 1
    assert case.pause_reason == "correction" and case.paused_since is not None
    assert event_types(case)[-1] == EventType.CORRECTION_REQUESTED
    assert case.events.get(type=EventType.CORRECTION_REQUESTED).data["items"] == notice.items
    assert audit_actions(case)[-1] == CasesAction.CORRECTION_REQUESTED
    # The acceptance task leaves the inbox while the applicant corrects.
    assert list(selectors.inbox(actor=_clerk(world))) == []
    assert open_task(case).status == Task.Status.OPEN


def test_acceptance_waits_while_under_correction(world, promised):
    """The clerk cannot accept a case whose correction is outstanding."""
    case, _code = submitted(world, promised)
    _request_correction(world, case, promised)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.task_complete(actor=_clerk(world), task=open_task(case), decision="approve")
    assert exc.value.code == CasesErrorCode.BAD_STATE


@pytest.mark.parametrize("items", [
    [],
    [{"material_id": 999999, "problem": "不清晰"}],
    [{"material_id": "x", "problem": "不清晰"}],
    [{"problem": "不清晰"}],
    "申请书",
], ids=["empty", "unknown", "not-a-number", "no-material", "not-a-list"])
def test_a_notice_names_real_materials(world, promised, items):
    """A notice without materials, or naming a material of no item, is refused."""
    case, _code = submitted(world, promised)
    with nothing_written(), pytest.raises(InvalidInput):
        services.case_request_correction(actor=_clerk(world), task=open_task(case),
                                         items=items if isinstance(items, list) else [items])


def test_each_listed_material_needs_a_problem(world, promised):
    """Naming a material without saying what is wrong is refused, naming the
    material (the page marks its field)."""
    case, _code = submitted(world, promised)
    material_id = _material_id(promised, "申请书")
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        services.case_request_correction(
            actor=_clerk(world), task=open_task(case),
            items=[{"material_id": material_id, "problem": " "}])
    assert "申请书" in refused.value.render()
    assert refused.value.fields["material_id"] == material_id


def test_the_applicant_must_reupload_every_listed_material(world, promised):
    """case_correct names what is still missing until every listed material is new."""
    case, _code = submitted(world, promised)
    _request_correction(world, case, promised)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_correct(actor=world.citizen, case=case)
    assert exc.value.code == CasesErrorCode.MISSING_MATERIALS
    assert exc.value.fields["missing"] == ["申请书", "营业执照"]
    services.material_upload(actor=world.citizen, case=case,
                             material_id=_material_id(promised, "申请书"), upload=upload(PNG))
    with pytest.raises(InvalidInput) as exc:
        services.case_correct(actor=world.citizen, case=case)
    assert exc.value.fields["missing"] == ["营业执照"]
    services.material_upload(actor=world.citizen, case=case,
                             material_id=_material_id(promised, "营业执照"), upload=upload(PNG))
    case = services.case_correct(actor=world.citizen, case=case)
    case = reload(case)
    assert case.status == Case.Status.SUBMITTED
    assert (case.paused_since, case.pause_reason) == (None, "")
    # The acceptance step has a new limit: due for supervision's look at once.
    assert case.next_check_at is not None and case.next_check_at <= timezone.now()
    assert CorrectionNotice.objects.get(case=case).answered_at is not None
    assert MaterialFile.objects.filter(case=case, replaced=True).count() == 2
    assert event_types(case) == [EventType.SUBMITTED, EventType.CORRECTION_REQUESTED,
                                 EventType.CORRECTION_SUBMITTED]
    assert audit_actions(case)[-1] == CasesAction.CORRECTION_SUBMITTED
    assert list(selectors.inbox(actor=_clerk(world))) == [open_task(case)]


def test_only_the_materials_the_notice_lists_can_be_replaced(world, promised):
    """The window accepted the materials the notice did not list as they stand:
    under correction the applicant replaces only the listed ones."""
    case, _code = submitted(world, promised)
    _request_correction(world, case, promised, names=("申请书",))
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material_id(promised, "营业执照"),
                                 upload=upload(PNG))
    assert exc.value.code == CasesErrorCode.NOT_IN_NOTICE
    assert exc.value.render("zh-hans") == "补正告知没有列出“营业执照”，该材料不能更换。"
    services.material_upload(actor=world.citizen, case=case,
                             material_id=_material_id(promised, "申请书"), upload=upload(PNG))
    services.case_correct(actor=world.citizen, case=case)
    assert MaterialFile.objects.filter(case=case, replaced=True).count() == 1


def test_after_correction_acceptance_continues_and_no_second_notice(world, promised):
    """The notice is given once: a second one is refused, and acceptance goes on."""
    case, _code = submitted(world, promised)
    _request_correction(world, case, promised, names=("申请书",))
    services.material_upload(actor=world.citizen, case=case,
                             material_id=_material_id(promised, "申请书"), upload=upload(PNG))
    services.case_correct(actor=world.citizen, case=case)
    with nothing_written(), pytest.raises(Conflict) as exc:
        _request_correction(world, case, promised, names=("营业执照",))
    assert exc.value.code == CasesErrorCode.CORRECTION_ONCE
    complete(_clerk(world), case, "accept")
    case = reload(case)
    assert case.status == Case.Status.IN_PROGRESS
    assert event_types(case) == [EventType.SUBMITTED, EventType.CORRECTION_REQUESTED,
                                 EventType.CORRECTION_SUBMITTED, EventType.ACCEPTED,
                                 EventType.NOTIFIED]


def test_correction_is_only_at_acceptance(world, promised):
    """Once accepted, the case can no longer be sent back for correction."""
    case, _code = submitted(world, promised)
    complete(_clerk(world), case, "accept")
    review = open_task(case)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_request_correction(
            actor=world.user("a", Role.REVIEWER), task=review,
            items=[{"material_id": _material_id(promised, "申请书"), "problem": "不清晰"}])
    assert exc.value.code == CasesErrorCode.BAD_STATE


def test_the_window_of_an_immediate_item_notifies_corrections(world):
    """即办件 is accepted and decided in one step at the window (受理并当场办结):
    a faulty material there is told once (一次性告知), not answered with a
    refusal, and the step then goes on; once decided, nothing is told."""
    from tests.cases.helpers import publish_item

    version = publish_item(world, name="即办事项", case_type="immediate",
                           process_template="immediate", statutory_limit=1, promised_limit=0,
                           materials=[{"name": "申请书", "forms": ["original"]}])
    case, _code = submitted(world, version)
    task = open_task(case)
    assert task.name == "decide"
    assert selectors.correction_refusal(reload(case), kind="decide") is None
    material = version.materials.get()
    services.case_request_correction(actor=_clerk(world), task=task, items=[
        {"material_id": material.pk, "problem": "申请书未签字"}])
    assert reload(case).status == Case.Status.CORRECTION
    services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                             upload=upload(PNG))
    services.case_correct(actor=world.citizen, case=case)
    task = open_task(case)
    assert task.due_from is not None and task.due_at > task.due_from
    complete(_clerk(world), case, "decide")
    case = reload(case)
    assert case.status == Case.Status.CLOSED and case.accepted_at is not None
    assert event_types(case)[:4] == [EventType.SUBMITTED, EventType.CORRECTION_REQUESTED,
                                     EventType.CORRECTION_SUBMITTED, EventType.ACCEPTED]


def test_correcting_a_case_not_under_correction_is_refused(world, promised):
    """case_correct on a case with nothing to correct changes nothing."""
    case, _code = submitted(world, promised)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_correct(actor=world.citizen, case=case)
    assert exc.value.code == CasesErrorCode.BAD_STATE


def test_the_applicant_is_told_what_to_correct(world, promised,
                                                django_capture_on_commit_callbacks):
    """The notice reaches the applicant after commit and names every material."""
    from django.core import mail

    case, _code = submitted(world, promised)
    with django_capture_on_commit_callbacks(execute=True):
        _request_correction(world, case, promised)
    assert "申请书、营业执照" in mail.outbox[-1].body


def test_a_clerk_cannot_notify_corrections_on_a_task_another_clerk_claimed(world, promised):
    """The one notice is the claiming clerk's to give: a colleague is refused, nothing written."""
    from tests.cases.helpers import colleague as second_holder

    case, _code = submitted(world, promised)
    colleague = second_holder(world, "a", Role.WINDOW_CLERK, "a.clerk2")
    services.task_claim(actor=_clerk(world), task=open_task(case))
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_request_correction(
            actor=colleague, task=open_task(case),
            items=[{"material_id": _material_id(promised, "申请书"), "problem": "不清晰"}])
    assert exc.value.code == CasesErrorCode.TASK_TAKEN
    assert reload(case).corrections == 0


# --- 一次性告知: what the notice may list -----------------------------------------

def test_a_notice_lists_each_material_once(world, promised):
    """A material named twice (a client's list, merged from two checks) is refused,
    naming it: the applicant's page would show two file inputs with the same id
    and name, of which only one file is kept."""
    case, _code = submitted(world, promised)
    material_id = _material_id(promised, "申请书")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_request_correction(actor=_clerk(world), task=open_task(case), items=[
            {"material_id": material_id, "problem": "缺少签名"},
            {"material_id": str(material_id), "problem": "缺少盖章"}])
    assert exc.value.fields["field"] == "items"
    assert exc.value.fields["material_id"] == material_id
    assert "申请书" in exc.value.render()


# --- the walk-in applicant corrects at the window --------------------------------------

def test_a_colleague_at_the_window_takes_in_a_walk_in_applicant_s_corrections(world, promised):
    """An applicant without an account is told 请携带补正材料到受理窗口办理; the
    clerk serving them that day is not always the one who filed.  A window clerk
    of the accepting agency uploads the corrected material and resubmits."""
    case, _code = walk_in_case(world, promised)
    other = colleague(world, "a", Role.WINDOW_CLERK, "a.clerk2")
    material_id = _material_id(promised, "申请书")
    services.case_request_correction(actor=_clerk(world), task=open_task(case), items=[
        {"material_id": material_id, "problem": "缺少签名"}])
    services.material_upload(actor=other, case=reload(case), material_id=material_id,
                             upload=upload(PNG))
    services.case_correct(actor=other, case=reload(case))
    assert reload(case).status == Case.Status.SUBMITTED
    assert MaterialFile.objects.get(case=case, replaced=False,
                                    material_id=material_id).uploaded_by == other


def test_only_the_accepting_agency_s_window_takes_in_a_walk_in_correction(world, promised):
    """Not a reviewer of the agency, nor another agency's window; and an
    applicant with an account corrects themselves, not through the window."""
    case, _code = walk_in_case(world, promised)
    material_id = _material_id(promised, "申请书")
    services.case_request_correction(actor=_clerk(world), task=open_task(case), items=[
        {"material_id": material_id, "problem": "缺少签名"}])
    for outsider in (world.user("a", Role.REVIEWER), _clerk(world, "b")):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.material_upload(actor=outsider, case=reload(case),
                                     material_id=material_id, upload=upload(PNG))
        with nothing_written(), pytest.raises(PermissionDenied):
            services.case_correct(actor=outsider, case=reload(case))
    online, _code = submitted(world, promised)
    _request_correction(world, online, promised)
    other = colleague(world, "a", Role.WINDOW_CLERK, "a.clerk3")
    with nothing_written(), pytest.raises(PermissionDenied):
        services.material_upload(actor=other, case=reload(online), material_id=material_id,
                                 upload=upload(PNG))


# --- 《行政许可法》第三十二条: five working days to tell, or the application is accepted

def test_the_time_to_tell_is_five_working_days_from_receipt(world, promised):
    """On the fifth working day after receipt the notice may still be given;
    after it, not (第八十二条: the law's days are working days)."""
    from yizhan.cases import clock

    assert clock.CORRECTION_NOTICE_WORKDAYS == 5
    case, _code = submitted(world, promised)
    received = received_workdays_ago(case, 5)
    case = reload(case)
    calendar = calendar_current()
    due = clock.correction_notice_due(calendar=calendar, received_at=received)
    assert due.date == calendar.add_workdays(timezone.localtime(received).date(), 5).date
    assert selectors.correction_refusal(case, kind="accept", now=due.at) is None
    late = selectors.correction_refusal(case, kind="accept",
                                        now=due.at + dt.timedelta(seconds=1))
    assert late is not None and late.code == CasesErrorCode.CORRECTION_TOO_LATE


def test_a_correction_notice_after_five_working_days_is_refused(world, promised):
    """逾期不告知的，自收到申请材料之日起即为受理: after five working days the
    window can no longer send the application back for correction (409, the
    rule cited), and nothing is written."""
    case, _code = submitted(world, promised)
    received_workdays_ago(case, 8)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_request_correction(actor=_clerk(world), task=open_task(case), items=[
            {"material_id": _material_id(promised, "申请书"), "problem": "缺少签名"}])
    assert exc.value.code == CasesErrorCode.CORRECTION_TOO_LATE
    assert exc.value.http_status == 409
    assert "第三十二条" in exc.value.render() and "5 个工作日" in exc.value.render()
    assert reload(case).status == Case.Status.SUBMITTED
    assert not CorrectionNotice.objects.filter(case=case).exists()


def test_an_application_left_past_five_working_days_counts_from_its_receipt(world, promised):
    """Accepted late without a notice in time, the application is in law accepted
    on the day it was received: its deadlines count from then, not from the day
    the window got round to it; the acceptance's event keeps when it acted."""
    case, _code = submitted(world, promised)
    received = received_workdays_ago(case, 8)
    complete(_clerk(world), case, "accept")
    tz = timezone.get_default_timezone()
    calendar = calendar_current()
    case = reload(case)
    assert case.accepted_at == received
    assert case.statutory_due == calendar.deadline(received, 20, tz).at
    assert case.promised_due == calendar.deadline(received, 10, tz).at
    event = case.events.get(type=EventType.ACCEPTED)
    assert event.at > received
    assert dt.datetime.fromisoformat(event.data["deemed_accepted_at"]) == received
    # Counted again when the calendar changes, still from the receipt.
    services.deadlines_recompute(year=None)
    assert reload(case).statutory_due == calendar.deadline(received, 20, tz).at


def test_an_application_accepted_in_time_counts_from_its_acceptance(world, promised):
    """Within the five working days the clock starts at acceptance, as always."""
    case, _code = submitted(world, promised)
    received_workdays_ago(case, 5)
    task = complete(_clerk(world), case, "accept")
    case = reload(case)
    assert case.accepted_at == Task.objects.get(pk=task.pk).completed_at
    assert "deemed_accepted_at" not in case.events.get(type=EventType.ACCEPTED).data


def test_after_a_correction_the_receipt_is_the_corrected_materials(world, promised):
    """The corrected materials are the ones received: acceptance more than five
    working days after the correction was answered counts from the answer."""
    case, _code = submitted(world, promised)
    _request_correction(world, case, promised)
    for name in ("申请书", "营业执照"):
        services.material_upload(actor=world.citizen, case=reload(case),
                                 material_id=_material_id(promised, name), upload=upload(PNG))
    services.case_correct(actor=world.citizen, case=reload(case))
    answered = received_workdays_ago(case, 9)
    CorrectionNotice.objects.filter(case=case).update(answered_at=answered)
    complete(_clerk(world), case, "accept")
    case = reload(case)
    assert case.accepted_at == answered
    assert case.statutory_due == calendar_current().deadline(
        answered, 20, timezone.get_default_timezone()).at


# --- 即办件: the window's one step refuses to accept ---------------------------------

def _immediate(world):
    from tests.cases.helpers import publish_item

    return publish_item(world, name="即办事项", case_type="immediate",
                        process_template="immediate", statutory_limit=1, promised_limit=0,
                        materials=[{"name": "申请书", "forms": ["original"]}])


def test_the_window_of_an_immediate_item_refuses_to_accept(
        world, django_capture_on_commit_callbacks):
    """受理并当场办结 is still 受理: an application outside the agency's powers is
    不予受理 (第三十二条), recorded as the window's acceptance step records it:
    the same events, outcome and message, and no clock."""
    from django.core import mail

    case, _code = submitted(world, _immediate(world))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.task_complete(actor=_clerk(world), task=open_task(case),
                               decision=selectors.NOT_ACCEPT, opinion="不属于本机关职权范围")
    case = reload(case)
    assert (case.status, case.outcome, case.outcome_reason) == (
        Case.Status.NOT_ACCEPTED, Case.Outcome.NOT_ACCEPTED, "不属于本机关职权范围")
    assert case.accepted_at is None and case.statutory_due is None
    assert case.decided_at is None and case.closed_at is not None
    assert event_types(case) == [EventType.SUBMITTED, EventType.NOT_ACCEPTED, EventType.CLOSED,
                                 EventType.NOTIFIED]
    assert case.events.get(type=EventType.CLOSED).data == {"outcome": "not_accepted"}
    assert f"办件 {case.number} 不予受理，理由见平台。" in mail.outbox[-1].body
    assert not Task.objects.filter(case=case, status__in=["open", "claimed"]).exists()


def test_an_immediate_item_s_refusal_to_accept_needs_a_reason(world):
    """不予受理 without reasons is refused and changes nothing."""
    case, _code = submitted(world, _immediate(world))
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.task_complete(actor=_clerk(world), task=open_task(case),
                               decision=selectors.NOT_ACCEPT, opinion=" ")
    assert exc.value.code == CasesErrorCode.NO_REASON


def test_not_accept_is_refused_once_the_case_is_accepted(world, promised):
    """不予受理 is before acceptance: a review, or the window after a return,
    refuses on the merits (不予许可) instead."""
    case, _code = submitted(world, promised)
    complete(_clerk(world), case, "accept")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.task_complete(actor=world.user("a", Role.REVIEWER), task=open_task(case),
                               decision=selectors.NOT_ACCEPT, opinion="不属于本机关")
    assert exc.value.code == CasesErrorCode.BAD_DECISION


def test_the_window_s_accept_step_takes_not_accept_as_its_refusal(world, promised):
    """At the window's acceptance not_accept is the same 不予受理 as its reject."""
    case, _code = submitted(world, promised)
    complete(_clerk(world), case, "accept", decision=selectors.NOT_ACCEPT, opinion="不属于本机关")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.NOT_ACCEPTED, Case.Outcome.NOT_ACCEPTED)
    assert event_types(case)[:3] == [EventType.SUBMITTED, EventType.NOT_ACCEPTED,
                                     EventType.CLOSED]


def test_the_recount_judges_every_receipt_again_without_a_query_a_case(world, promised):
    """The deadline recount judges again when each accepted application's
    limits run from (第三十二条), from when its materials were received: for
    a corrected one the answer to its notice, read with the case, not one
    query a case."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def corrected_and_accepted():
        case, _code = submitted(world, promised)
        _request_correction(world, case, promised)
        for name in ("申请书", "营业执照"):
            services.material_upload(actor=world.citizen, case=reload(case),
                                     material_id=_material_id(promised, name),
                                     upload=upload(PNG))
        services.case_correct(actor=world.citizen, case=reload(case))
        complete(_clerk(world), case, "accept")

    corrected_and_accepted()
    with CaptureQueriesContext(connection) as one:
        assert services.deadlines_recompute(year=None) == 0
    corrected_and_accepted()
    corrected_and_accepted()
    with CaptureQueriesContext(connection) as three:
        assert services.deadlines_recompute(year=None) == 0
    assert len(three) == len(one), [query["sql"] for query in three.captured_queries]
