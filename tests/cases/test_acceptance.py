"""Acceptance (受理): starting the clock, refusing, and the one-time correction notice."""

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
    reload,
    submitted,
    upload,
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
    assert selectors.correction_allowed(reload(case), kind="decide")
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
