"""延期申请: the person handling a case asks the agency's head for the extension.

《行政许可法》第四十二条: a decision that cannot be made within the limit may be
extended by ten working days (fifteen for parallel approval) with the approval
of the head of the agency that decides, the reason told to the applicant.  The
reviewer (or the window) asks from the task page; the head approves with the
extension form, prefilled, or declines with a note.
"""

import json
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.api import api_error
from tests.cases.helpers import (
    accepted,
    accepted_parallel,
    add_agency,
    at_upper_review,
    audit_actions,
    colleague,
    complete,
    event_types,
    nothing_written,
    open_task,
    publish_item,
    reachable,
    reload,
    run_together,
    token_actor,
)
from tests.markers import postgres_only
from yizhan.audit.models import AuditRecord
from yizhan.cases import services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, EventType, ExtensionRequest
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory.roles import Role
from yizhan.portal.views import WORKBENCH_EXTENSIONS

BASE = "/api/v1"
REASON = "需组织现场核查，二十日内无法作出决定"



def _head(world, key="a"):
    return world.user(key, Role.AGENCY_HEAD)


def _reviewer(world, key="a"):
    return world.user(key, Role.REVIEWER)


def _ask(world, case, *, actor=None, workdays=5, reason=REASON):
    return services.case_extension_request(actor=actor or _reviewer(world), case=case,
                                           workdays=workdays, reason=reason)


def _post(client, url, payload=None):
    return client.post(url, json.dumps(payload or {}), content_type="application/json")


# --- asking ---------------------------------------------------------------------------


def test_the_reviewer_asks_and_the_heads_are_told(world, promised,
                                                  django_capture_on_commit_callbacks):
    """The request is stored pending, with its event and audit record; the heads
    of the agency get the request with the case page's address."""
    reachable(_head(world))
    case = accepted(world, promised)
    with django_capture_on_commit_callbacks(execute=True):
        request = _ask(world, case)
    assert (request.status, request.workdays, request.reason) == (
        ExtensionRequest.Status.PENDING, 5, REASON)
    assert request.requested_by == _reviewer(world)
    assert event_types(case)[-1] == EventType.EXTENSION_REQUESTED
    assert case.events.get(type=EventType.EXTENSION_REQUESTED).data == {
        "request": request.pk, "workdays": 5, "reason": REASON}
    assert audit_actions(case)[-1] == CasesAction.EXTENSION_REQUESTED
    record = AuditRecord.objects.get(action=CasesAction.EXTENSION_REQUESTED)
    assert (record.reason, record.changes) == (REASON, {"request": request.pk, "workdays": 5})
    # Nothing is extended until the head approves.
    assert reload(case).extension_workdays == 0
    told = [m for m in mail.outbox if _head(world).email in m.to]
    assert len(told) == 1 and case.number in told[0].subject
    assert REASON in told[0].body and f"/workbench/cases/{case.pk}/" in told[0].body


def test_the_window_holding_a_step_may_ask(world, promised):
    """The window clerk holds the acceptance step once the review returns the
    case to the window (its clock runs): they may ask too."""
    case = accepted(world, promised)
    services.task_return(actor=_reviewer(world), task=open_task(case, "review"),
                         opinion="请核对营业执照")
    clerk = world.user("a", Role.WINDOW_CLERK)
    assert _ask(world, reload(case), actor=clerk).requested_by == clerk


@pytest.mark.parametrize("who", [("a", Role.WINDOW_CLERK), ("a", Role.AGENCY_HEAD),
                                 ("a", Role.SUPERVISION_OFFICER), ("b", Role.REVIEWER),
                                 ("b", Role.AGENCY_HEAD)])
def test_only_the_holder_of_a_step_of_the_case_s_agency_asks(world, promised, who):
    """Nobody without a step of the case in hand asks: the window after
    acceptance, the head (who extends), another agency's reviewer."""
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(PermissionDenied):
        _ask(world, case, actor=world.user(*who))


def test_a_step_a_colleague_claimed_is_not_in_hand(world, promised):
    """A reviewer whose colleague claimed the review has nothing to ask about."""
    case = accepted(world, promised)
    other = colleague(world, "a", Role.REVIEWER, "a.reviewer2")
    services.task_claim(actor=other, task=open_task(case, "review"))
    with nothing_written(), pytest.raises(PermissionDenied):
        _ask(world, case)
    assert _ask(world, case, actor=other).requested_by == other


def test_a_token_asks_for_nothing(world, promised):
    """A reviewers' system handles steps, but a request needs a person behind its reason."""
    case = accepted(world, promised)
    token, _label = token_actor(world, Role.REVIEWER)
    with nothing_written(), pytest.raises(PermissionDenied):
        _ask(world, case, actor=token)


@pytest.mark.parametrize("workdays, reason, field", [
    (0, REASON, "workdays"), (11, REASON, "workdays"), ("5", REASON, "workdays"),
    (True, REASON, "workdays"), (5, "", "reason"), (5, "   ", "reason")])
def test_a_request_is_one_to_ten_working_days_with_a_reason(world, promised, workdays,
                                                             reason, field):
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _ask(world, case, workdays=workdays, reason=reason)
    assert exc.value.fields["field"] == field


def test_a_case_that_cannot_be_extended_cannot_be_asked_for(world, promised):
    """The same conditions as the extension itself: not once extended, not
    before acceptance, not past the statutory limit."""
    submitted_case = accepted(world, promised)
    services.case_extend(actor=_head(world), case=submitted_case, workdays=3, reason="复杂")
    with nothing_written(), pytest.raises(Conflict) as exc:
        _ask(world, submitted_case)
    assert exc.value.code == CasesErrorCode.EXTENSION_ONCE
    late = accepted(world, promised)
    Case.objects.filter(pk=late.pk).update(statutory_due=timezone.now()
                                           - timezone.timedelta(days=1))
    with nothing_written(), pytest.raises(Conflict) as exc:
        _ask(world, reload(late))
    assert "法定办理期限已届满" in str(exc.value.render())


def test_one_request_waits_at_a_time(world, promised):
    """While one request waits, another (by anyone, with other values) is refused."""
    case = accepted(world, promised)
    _ask(world, case)
    other = colleague(world, "a", Role.REVIEWER, "a.reviewer2")
    with nothing_written():
        for actor, workdays in ((other, 5), (_reviewer(world), 3)):
            with pytest.raises(Conflict) as exc:
                _ask(world, case, actor=actor, workdays=workdays)
            assert exc.value.code == CasesErrorCode.EXTENSION_PENDING


def test_the_database_keeps_one_pending_request_per_case(world, promised):
    """The partial unique constraint: a second pending row is refused however written."""
    case = accepted(world, promised)
    first = _ask(world, case)
    with pytest.raises((IntegrityError, ValidationError)), transaction.atomic():
        ExtensionRequest.objects.create(case=case, requested_by=first.requested_by, workdays=2,
                                        reason="x", requested_at=timezone.now())
    ExtensionRequest.objects.filter(pk=first.pk).update(status=ExtensionRequest.Status.DECLINED)
    ExtensionRequest.objects.create(case=case, requested_by=first.requested_by, workdays=2,
                                    reason="x", requested_at=timezone.now())


def test_the_same_request_sent_again_is_answered_as_made(world, promised):
    """A double click, a retry after the answer was lost: the request made,
    nothing written twice; also once the head approved it."""
    case = accepted(world, promised)
    first = _ask(world, case)
    with nothing_written():
        assert _ask(world, case).pk == first.pk
        assert _ask(world, case, reason=f"  {REASON} ").pk == first.pk
    services.case_extend(actor=_head(world), case=case, workdays=5, reason=REASON)
    with nothing_written():
        assert _ask(world, case).pk == first.pk


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_leave_one_pending(world, promised):
    """Two reviewers ask at the same moment: the case's lock lets one in, the
    other is told a request waits.  The same person's two clicks make one."""
    case = accepted(world, promised)
    other = colleague(world, "a", Role.REVIEWER, "a.reviewer2")
    results = run_together(lambda: _ask(world, case, workdays=5),
                           lambda: _ask(world, case, actor=other, workdays=4))
    made = [r for r in results if isinstance(r, ExtensionRequest)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(made) == 1 and len(refused) == 1, results
    assert refused[0].code == CasesErrorCode.EXTENSION_PENDING
    assert ExtensionRequest.objects.filter(case=case).count() == 1
    assert event_types(case).count(EventType.EXTENSION_REQUESTED) == 1
    services.case_extension_withdraw(actor=made[0].requested_by, case=case)
    results = run_together(lambda: _ask(world, case, workdays=2),
                           lambda: _ask(world, case, workdays=2))
    assert all(isinstance(r, ExtensionRequest) for r in results), results
    assert results[0].pk == results[1].pk
    assert ExtensionRequest.objects.filter(
        case=case, status=ExtensionRequest.Status.PENDING).count() == 1


# --- the head's answer ----------------------------------------------------------------


def test_the_head_approves_with_fewer_days_and_the_request_is_approved(world, promised):
    """Approving is the extension itself, in the same transaction as the request's
    approval; the head may lower the days and reword the reason."""
    case = accepted(world, promised)
    request = _ask(world, case)
    services.case_extend(actor=_head(world), case=case, workdays=3, reason="需现场核查")
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (ExtensionRequest.Status.APPROVED,
                                                   _head(world))
    assert reload(case).extension_workdays == 3
    assert case.events.get(type=EventType.EXTENDED).data == {
        "workdays": 3, "reason": "需现场核查", "request": request.pk}
    # The applicant is told, as for any extension.
    assert event_types(case)[-2:] == [EventType.EXTENDED, EventType.NOTIFIED]


def test_the_head_declines_with_a_note_and_the_requester_is_told(
        world, promised, django_capture_on_commit_callbacks):
    reachable(_reviewer(world))
    case = accepted(world, promised)
    request = _ask(world, case)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_extension_decline(actor=_head(world), case=case, note=" ")
    assert (exc.value.code, exc.value.fields["field"]) == (CasesErrorCode.NO_REASON, "note")
    for who in (_reviewer(world), _head(world, "b"), world.user("a", Role.WINDOW_CLERK)):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.case_extension_decline(actor=who, case=case, note="不同意")
    token, _label = token_actor(world, Role.AGENCY_HEAD)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_extension_decline(actor=token, case=case, note="不同意")
    with django_capture_on_commit_callbacks(execute=True):
        declined = services.case_extension_decline(actor=_head(world), case=case,
                                                   note="可在期限内完成核查")
    assert (declined.pk, declined.status, declined.decision_note) == (
        request.pk, ExtensionRequest.Status.DECLINED, "可在期限内完成核查")
    assert event_types(case)[-1] == EventType.EXTENSION_DECLINED
    assert audit_actions(case)[-1] == CasesAction.EXTENSION_DECLINED
    told = [m for m in mail.outbox if _reviewer(world).email in m.to]
    assert len(told) == 1 and "可在期限内完成核查" in told[0].body
    # Sent again: the same answer, nothing more; another note finds nothing waiting.
    with nothing_written():
        assert services.case_extension_decline(actor=_head(world), case=case,
                                               note="可在期限内完成核查").pk == request.pk
        with pytest.raises(Conflict):
            services.case_extension_decline(actor=_head(world), case=case, note="另一理由")
    # Declined, it no longer waits: a new request may be made.
    assert _ask(world, case, workdays=3).pk != request.pk


def test_the_requester_withdraws_their_own_request(world, promised):
    case = accepted(world, promised)
    request = _ask(world, case)
    other = colleague(world, "a", Role.REVIEWER, "a.reviewer2")
    for who in (other, _head(world)):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.case_extension_withdraw(actor=who, case=case)
    withdrawn = services.case_extension_withdraw(actor=_reviewer(world), case=case)
    assert (withdrawn.pk, withdrawn.status) == (request.pk, ExtensionRequest.Status.WITHDRAWN)
    assert event_types(case)[-1] == EventType.EXTENSION_WITHDRAWN
    assert audit_actions(case)[-1] == CasesAction.EXTENSION_WITHDRAWN
    with nothing_written():
        assert services.case_extension_withdraw(actor=_reviewer(world), case=case).pk == \
            request.pk
        with pytest.raises((PermissionDenied, Conflict)):
            services.case_extension_withdraw(actor=other, case=case)


def test_the_head_still_extends_without_a_request(world, promised):
    case = accepted(world, promised)
    services.case_extend(actor=_head(world), case=case, workdays=5, reason="复杂")
    assert reload(case).extension_workdays == 5
    assert not ExtensionRequest.objects.filter(case=case).exists()


# --- the deciding agency (上级初审) and parallel approval ----------------------------------


def test_the_upper_agency_s_head_approves_the_extension_of_the_case_it_decides(
        world, django_capture_on_commit_callbacks):
    """《行政许可法》第四十二条: an extension is approved by the head of the agency that
    decides (本行政机关负责人).  In 上级初审 that is the upper agency, which holds the
    review and the decision once the case is sent up; its reviewer asks, its heads
    are told, its head approves, and the records name it."""
    case, upper, staff = at_upper_review(world)
    reachable(_head(world), staff[Role.AGENCY_HEAD])
    with django_capture_on_commit_callbacks(execute=True):
        request = _ask(world, case, actor=staff[Role.REVIEWER])
    assert request.status == ExtensionRequest.Status.PENDING
    told = {address for m in mail.outbox for address in m.to}
    assert staff[Role.AGENCY_HEAD].email in told and _head(world).email not in told
    # The accepting agency's staff no longer manage the clock of a case sent up.
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_extend(actor=_head(world), case=reload(case), workdays=5, reason=REASON)
    services.case_extend(actor=staff[Role.AGENCY_HEAD], case=reload(case), workdays=5,
                         reason=REASON)
    assert reload(case).extension_workdays == 5
    assert ExtensionRequest.objects.get().status == ExtensionRequest.Status.APPROVED
    for event_type in (EventType.EXTENSION_REQUESTED, EventType.EXTENDED):
        assert case.events.get(type=event_type).agency_id == upper.pk
    for action in (CasesAction.EXTENSION_REQUESTED, CasesAction.CASE_EXTENDED):
        assert AuditRecord.objects.get(action=action).agency_id == upper.pk


def test_the_upper_agency_s_head_sees_the_request_on_the_workbench(world, client_for):
    """待批准的延期申请 lists a request where its head approves it: the upper
    agency's, once the case is sent up, not the accepting agency's."""
    case, _upper, staff = at_upper_review(world)
    _ask(world, case, actor=staff[Role.REVIEWER])
    page = client_for(staff[Role.AGENCY_HEAD]).get("/workbench/").content.decode()
    assert "待批准的延期申请" in page and f'href="/workbench/cases/{case.pk}/"' in page
    assert "待批准的延期申请" not in client_for(_head(world)).get(
        "/workbench/").content.decode()


def test_before_the_case_is_sent_up_the_accepting_agency_extends(world):
    """During the first review the upper agency has not seen the case: its
    accepting agency answers for the time, and the upper agency's head may not
    extend it."""
    _upper, staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅")
    case = accepted(world, version)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_extend(actor=staff[Role.AGENCY_HEAD], case=case, workdays=5,
                             reason=REASON)
    _ask(world, case)
    services.case_extend(actor=_head(world), case=reload(case), workdays=5, reason=REASON)
    assert reload(case).extension_workdays == 5


def test_a_request_waiting_when_the_case_is_sent_up_lapses_and_the_upper_agency_asks_again(
        world, django_capture_on_commit_callbacks):
    """上级初审: the accepting agency's reviewer asks during the first review and
    then sends the case up.  From then on only the upper agency's head may
    approve (本行政机关负责人), and its heads were never told: the request is
    closed as withdrawn with the step that sent the case up, recorded under the
    agency it was made to, and whoever asked is told why.  The upper agency's
    reviewer asks again, and its head decides."""
    _upper, staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅")
    case = accepted(world, version)
    reachable(_reviewer(world), _head(world), staff[Role.AGENCY_HEAD])
    request = _ask(world, case)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        complete(_reviewer(world), reload(case), "first_review", opinion="同意上报")
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (ExtensionRequest.Status.WITHDRAWN, None)
    record = AuditRecord.objects.get(action=CasesAction.EXTENSION_WITHDRAWN)
    assert (record.agency_id, record.reason) == (world.agency_a.pk, "case sent up")
    [told] = [m for m in mail.outbox if _reviewer(world).email in m.to
              and "延期申请" in m.subject]
    assert told.subject == f"延期申请已失效：{case.number}"
    assert "已报送上级机关审查决定，您的延期申请随之撤回" in told.body
    assert told.body.endswith(f"/workbench/cases/{case.pk}/")
    # Nothing waits on the accepting agency's heads, who may no longer decide it.
    assert not ExtensionRequest.objects.filter(status=ExtensionRequest.Status.PENDING).exists()
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_extension_decline(actor=_head(world), case=reload(case), note="不同意")
    # The upper agency asks for itself; its head is told and approves.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = _ask(world, reload(case), actor=staff[Role.REVIEWER])
    assert again.pk != request.pk and again.status == ExtensionRequest.Status.PENDING
    assert any(staff[Role.AGENCY_HEAD].email in m.to and "延期申请" in m.subject
               for m in mail.outbox)
    services.case_extend(actor=staff[Role.AGENCY_HEAD], case=reload(case), workdays=5,
                         reason=REASON)
    again.refresh_from_db()
    assert again.status == ExtensionRequest.Status.APPROVED
    assert reload(case).extension_workdays == 5


def test_a_request_the_upper_agency_s_decision_closes_is_recorded_under_it(world):
    """A waiting request closed with the case is recorded under the agency it
    was made to, as its other records are: once sent up, the upper agency's."""
    case, upper, staff = at_upper_review(world)
    request = _ask(world, case, actor=staff[Role.REVIEWER])
    complete(staff[Role.REVIEWER], case, "upper_level_review")
    complete(staff[Role.AGENCY_HEAD], reload(case), "decide")
    request.refresh_from_db()
    assert request.status == ExtensionRequest.Status.WITHDRAWN
    record = AuditRecord.objects.get(action=CasesAction.EXTENSION_WITHDRAWN)
    assert (record.agency_id, record.reason) == (upper.pk, "case closed")


def test_a_parallel_case_may_be_extended_by_fifteen_working_days(world):
    """《行政许可法》第四十二条第二款: 统一办理、联合办理 (the 并联 of 第二十六条) may be
    extended by fifteen working days, not ten; asked and approved alike."""
    case, _third, _staff = accepted_parallel(world)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _ask(world, case, workdays=16)
    assert exc.value.fields["field"] == "workdays"
    assert "1 至 15 个工作日" in exc.value.render()
    _ask(world, case, workdays=15)
    case = services.case_extend(actor=_head(world), case=reload(case), workdays=15,
                                reason="三个会同机关均需现场核查")
    assert reload(case).extension_workdays == 15


def test_a_promised_item_naming_joint_agencies_gets_the_ordinary_extension(world):
    """第四十二条第二款's fifteen days are for 统一办理、联合办理: an item whose
    process (承诺件) never gives the joint agencies it names a step is handled
    by one agency alone, and may be extended by ten working days only."""
    add_agency(world, "丙局", credit_seed=303)
    version = publish_item(world, name="单独办理", process_template="promised",
                           joint_agencies=["丙局"])
    case = accepted(world, version)
    assert not case.tasks.exclude(agency=world.agency_a).exists()   # only A works on it
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _ask(world, case, workdays=11)
    assert exc.value.fields["field"] == "workdays"
    assert "1 至 10 个工作日" in exc.value.render()
    _ask(world, case, workdays=10)
    with nothing_written(), pytest.raises(InvalidInput):
        services.case_extend(actor=_head(world), case=reload(case), workdays=11,
                             reason="丙局需出具意见")


def test_the_forms_offer_fifteen_days_for_a_parallel_case_and_ten_otherwise(
        world, promised, client_for):
    """The request's and the head's forms say the most the law allows the case."""
    parallel, _third, _staff = accepted_parallel(world)
    single = accepted(world, promised)
    reviewer, head = client_for(_reviewer(world)), client_for(_head(world))
    for case, step, most in ((parallel, "lead_review", 15), (single, "review", 10)):
        task = open_task(case, step)
        asking = reviewer.get(f"/workbench/tasks/{task.pk}/").content.decode()
        assert re.search(rf'id="ask-days"[^>]*max="{most}"', asking)
        extending = head.get(f"/workbench/cases/{case.pk}/").content.decode()
        assert re.search(rf'id="extend-days"[^>]*max="{most}"', extending)


# --- closed with the case ---------------------------------------------------------------


def test_a_decision_closes_the_waiting_request(world, promised):
    """Decided in time after all: nothing waits on a case no longer to be extended."""
    case = accepted(world, promised)
    request = _ask(world, case)
    complete(_reviewer(world), case, "review")
    request.refresh_from_db()
    assert request.status == ExtensionRequest.Status.PENDING   # the head still decides
    complete(_head(world), case, "decide")
    request.refresh_from_db()
    assert request.status == ExtensionRequest.Status.WITHDRAWN and request.decided_by is None
    record = AuditRecord.objects.filter(action=CasesAction.EXTENSION_WITHDRAWN).get()
    assert record.changes == {"request": request.pk, "status": Case.Status.APPROVED}


def test_the_applicant_s_withdrawal_closes_the_waiting_request(world, promised):
    case = accepted(world, promised)
    request = _ask(world, case)
    services.case_withdraw(actor=world.citizen, case=case, reason="不再需要")
    request.refresh_from_db()
    assert request.status == ExtensionRequest.Status.WITHDRAWN
    assert not ExtensionRequest.objects.filter(status=ExtensionRequest.Status.PENDING).exists()


# --- pages ---------------------------------------------------------------------------


def _task_url(case):
    return f"/workbench/tasks/{open_task(case, 'review').pk}/"


def test_the_reviewer_asks_from_the_task_page(world, promised, client_for):
    case = accepted(world, promised)
    reviewer = client_for(_reviewer(world))
    page = reviewer.get(_task_url(case)).content.decode()
    assert 'data-testid="request-extension"' in page and 'data-testid="extend"' not in page
    url = _task_url(case)
    # A refused form comes back to the task page with what was typed.
    with nothing_written():
        response = reviewer.post(f"/workbench/cases/{case.pk}/extension_request/",
                                 {"workdays": "12", "reason": REASON, "next": url})
    assert response.status_code == 400
    body = response.content.decode()
    assert "1 至 10" in body and REASON in body
    assert re.search(r'id="ask-days"[^>]*aria-invalid="true"', body)
    response = reviewer.post(f"/workbench/cases/{case.pk}/extension_request/",
                             {"workdays": "5", "reason": REASON, "next": url})
    assert response.status_code == 302 and response["Location"] == url
    page = reviewer.get(url).content.decode()
    assert 'data-testid="pending-extension"' in page
    assert 'data-testid="request-extension"' not in page
    assert 'data-testid="withdraw-extension"' in page
    # The case page offers no request form: the task page's holder asks.
    assert 'data-testid="request-extension"' not in reviewer.get(
        f"/workbench/cases/{case.pk}/").content.decode()
    reviewer.post(f"/workbench/cases/{case.pk}/extension_withdraw/", {"next": url})
    assert ExtensionRequest.objects.get().status == ExtensionRequest.Status.WITHDRAWN


def test_the_head_sees_the_request_on_the_workbench_and_approves_it_prefilled(
        world, promised, client_for, django_assert_max_num_queries):
    cases = [accepted(world, promised) for _ in range(3)]
    for case in cases:
        _ask(world, case, workdays=4)
    head = client_for(_head(world))
    page = head.get("/workbench/").content.decode()
    assert "待批准的延期申请" in page
    for case in cases:
        assert f'href="/workbench/cases/{case.pk}/"' in page
    # The list costs the same with three requests as with one.
    with django_assert_max_num_queries(60) as three:
        head.get("/workbench/")
    services.case_extension_withdraw(actor=_reviewer(world), case=cases[1])
    services.case_extension_withdraw(actor=_reviewer(world), case=cases[2])
    with django_assert_max_num_queries(60) as one:
        head.get("/workbench/")
    assert len(three.captured_queries) == len(one.captured_queries)
    # Another agency's head, and the reviewer, see no list.
    assert "待批准的延期申请" not in client_for(_head(world, "b")).get(
        "/workbench/").content.decode()
    assert "待批准的延期申请" not in client_for(_reviewer(world)).get(
        "/workbench/").content.decode()
    case = cases[0]
    page = head.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert re.search(r'id="extend-days"[^>]*value="4"', page)
    assert f">{REASON}</textarea>" in page
    assert 'data-testid="decline-extension"' in page
    head.post(f"/workbench/cases/{case.pk}/extend/", {"workdays": "4", "reason": REASON})
    assert reload(case).extension_workdays == 4
    assert ExtensionRequest.objects.get(case=case).status == ExtensionRequest.Status.APPROVED
    assert "待批准的延期申请" not in head.get("/workbench/").content.decode()


CASE_LINK = re.compile(r'href="/workbench/cases/(\d+)/"')


def test_the_head_reaches_every_waiting_request_or_is_told_how_many(
        world, promised, client_for, monkeypatch):
    """The workbench lists the nearest requests, says how many wait and, when
    there are more, links to all of them, paged: a request beyond the first
    ones would otherwise wait unseen until the statutory limit runs out and it
    can no longer be granted (selectors.extension_allowed)."""
    cases = [accepted(world, promised) for _ in range(WORKBENCH_EXTENSIONS + 1)]
    for case in cases[:-1]:
        _ask(world, case)
    head = client_for(_head(world))
    page = head.get("/workbench/").content.decode()
    assert f"共 {WORKBENCH_EXTENSIONS} 件待批准" in page
    assert 'data-testid="all-extensions"' not in page   # every one is listed

    _ask(world, cases[-1])
    page = head.get("/workbench/").content.decode()
    assert f"共 {len(cases)} 件待批准" in page
    assert len(set(CASE_LINK.findall(page))) == WORKBENCH_EXTENSIONS
    assert re.search(r'href="/workbench/extensions/" data-testid="all-extensions"', page)

    monkeypatch.setattr("yizhan.directory.pages.PAGE_SIZE", 8)
    pages = -(-len(cases) // 8)
    seen = []
    for number in range(1, pages + 1):
        page = head.get(f"/workbench/extensions/?page={number}").content.decode()
        assert f"共 {len(cases)} 件待批准" in page and f"{number} / {pages}" in page
        seen += [int(pk) for pk in CASE_LINK.findall(page)]
    assert seen == [case.pk for case in cases]   # soonest statutory deadline first
    # The head of the deciding agency only: another agency's head sees none
    # of A's requests, and whoever heads no agency is refused the page.
    page = client_for(_head(world, "b")).get("/workbench/extensions/").content.decode()
    assert "共 0 件待批准" in page and not CASE_LINK.findall(page)
    for refused in (_reviewer(world), world.citizen):
        assert client_for(refused).get("/workbench/extensions/").status_code == 403


def test_a_provisional_statutory_deadline_among_the_requests_is_explained_in_words(
        world, client_for):
    """A page showing a provisional limit says it in a sentence below
    (cases/_provisional_note.html), not only in a tooltip no phone shows: a
    head whose inbox is empty (the case is at review) still sees the 暂定 of a
    request's 法定期限 explained, on the workbench and on the full list."""
    case = accepted(world, publish_item(world, name="长期许可", promised_limit=60,
                                        statutory_limit=60))
    assert case.due_provisional
    _ask(world, case)
    head = client_for(_head(world))
    for url in ("/workbench/", "/workbench/extensions/"):
        page = head.get(url).content.decode()
        listed = re.search(r'<ul data-testid="pending-extensions">.*?</ul>', page, re.S)
        assert "暂定" in listed.group(0), url
        assert page.count('data-testid="provisional-note"') == 1, url
        assert 'data-testid="inbox"' not in page, url


def test_the_head_declines_on_the_case_page(world, promised, client_for):
    case = accepted(world, promised)
    _ask(world, case)
    head = client_for(_head(world))
    with nothing_written():
        response = head.post(f"/workbench/cases/{case.pk}/extension_decline/", {"note": ""})
    assert response.status_code == 400
    assert re.search(r'id="decline-note"[^>]*aria-invalid="true"', response.content.decode())
    response = head.post(f"/workbench/cases/{case.pk}/extension_decline/",
                         {"note": "可在期限内办结"}, follow=True)
    body = response.content.decode()
    assert "已不批准该延期申请" in body and 'data-testid="pending-extension"' not in body
    assert "可在期限内办结" in body   # in the staff timeline
    assert reload(case).extension_workdays == 0


def test_the_applicant_sees_the_extension_s_reason_but_not_the_request_s(world, promised,
                                                                          client_for):
    """The request's reason is the agency's until approved; the extension's reason
    is told to the applicant (第四十二条)."""
    case = accepted(world, promised)
    _ask(world, case, reason="内部：等待专家")
    citizen = client_for(world.citizen)
    page = citizen.get(f"/my/cases/{case.pk}/").content.decode()
    assert "内部：等待专家" not in page and 'data-testid="pending-extension"' not in page
    services.case_extend(actor=_head(world), case=case, workdays=5, reason="需组织专家评审")
    page = citizen.get(f"/my/cases/{case.pk}/").content.decode()
    assert "需组织专家评审" in page and "法定期限已延长 5 个工作日" in page
    assert "内部：等待专家" not in page


# --- API ------------------------------------------------------------------------------


def test_the_extension_request_through_the_api(world, promised, client_for):
    case = accepted(world, promised)
    reviewer, head = client_for(_reviewer(world)), client_for(_head(world))
    citizen = client_for(world.citizen)
    api_error(_post(reviewer, f"{BASE}/cases/{case.pk}/extension-request",
                    {"workdays": 11, "reason": REASON}), 400, "core.invalid_input")
    made = _post(reviewer, f"{BASE}/cases/{case.pk}/extension-request",
                 {"workdays": 5, "reason": REASON})
    assert made.status_code == 200, made.content
    body = made.json()
    assert (body["status"], body["workdays"], body["requested_by"]) == (
        "pending", 5, _reviewer(world).username)
    again = _post(reviewer, f"{BASE}/cases/{case.pk}/extension-request",
                  {"workdays": 5, "reason": REASON})
    assert again.json() == body
    api_error(_post(head, f"{BASE}/cases/{case.pk}/extension-request",
                    {"workdays": 5, "reason": REASON}), 403, "core.permission_denied")
    assert head.get(f"{BASE}/cases/{case.pk}").json()["extension_request"]["id"] == body["id"]
    applicant_view = citizen.get(f"{BASE}/cases/{case.pk}").json()
    assert applicant_view["extension_request"] is None
    api_error(_post(head, f"{BASE}/cases/{case.pk}/extension-request/decline"), 400,
              CasesErrorCode.NO_REASON)
    api_error(_post(citizen, f"{BASE}/cases/{case.pk}/extension-request/withdraw"), 403,
              "core.permission_denied")
    declined = _post(head, f"{BASE}/cases/{case.pk}/extension-request/decline",
                     {"note": "可按期办结"})
    assert declined.json()["status"] == "declined"
    assert declined.json()["decision_note"] == "可按期办结"
    assert head.get(f"{BASE}/cases/{case.pk}").json()["extension_request"] is None
    _post(reviewer, f"{BASE}/cases/{case.pk}/extension-request", {"workdays": 3,
                                                                   "reason": REASON})
    withdrawn = _post(reviewer, f"{BASE}/cases/{case.pk}/extension-request/withdraw")
    assert withdrawn.json()["status"] == "withdrawn"
    api_error(_post(head, f"{BASE}/cases/{case.pk}/extension-request/decline",
                    {"note": "x"}), 409, CasesErrorCode.BAD_STATE)
