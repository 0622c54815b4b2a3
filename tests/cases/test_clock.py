"""The statutory clock: pauses the law allows, the one extension, provisional deadlines."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.cases.helpers import (
    accepted,
    add_agency,
    at_upper_review,
    audit_actions,
    colleague,
    complete,
    event_types,
    nothing_written,
    open_task,
    publish_item,
    reload,
    submitted,
    token_actor,
)
from yizhan.audit.models import AuditRecord
from yizhan.cases import selectors, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, EventType, Task
from yizhan.cases.signals import deadlines_moved
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory.roles import Role
from yizhan.workdays import services as workdays_services
from yizhan.workdays.selectors import calendar_current

TZ = timezone.get_default_timezone()


def _head(world):
    return world.user("a", Role.AGENCY_HEAD)


def _reviewer(world):
    return world.user("a", Role.REVIEWER)


# --- pauses ---------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["hearing", "tender", "auction", "testing", "quarantine",
                                    "appraisal", "expert_review", "inspection"])
def test_the_clock_stops_for_a_lawful_reason(world, promised, reason):
    """挂起: status, pause start and reason are kept; supervision is asked to watch the pause."""
    case = accepted(world, promised)
    services.case_suspend(actor=_reviewer(world), case=case, reason=reason,
                          note="申请人申请听证，定于下周举行")
    case = reload(case)
    assert case.status == Case.Status.SUSPENDED
    assert case.pause_reason == reason and case.paused_since is not None
    assert case.next_check_at is not None and case.next_check_at <= timezone.now()
    # The pause is told to the applicant (第四十五条): 告知 follows it.
    assert event_types(case)[-2:] == [EventType.SUSPENDED, EventType.NOTIFIED]
    assert case.events.get(type=EventType.SUSPENDED).data == {
        "reason": reason, "note": "申请人申请听证，定于下周举行"}
    record = AuditRecord.objects.get(action=CasesAction.CASE_SUSPENDED)
    assert (record.reason, record.changes) == ("申请人申请听证，定于下周举行",
                                               {"reason": reason})
    # The suspended case's task leaves the reviewer's inbox until it resumes.
    assert list(selectors.inbox(actor=_reviewer(world))) == []


def test_the_applicant_is_told_when_the_clock_stops_and_runs_again(
        world, promised, django_capture_on_commit_callbacks):
    """《行政许可法》第四十五条: time excluded from the limit (here an expert
    review) is told to the applicant, by e-mail and SMS, and so is the clock
    running again, with the working days not counted and the new deadline."""
    from django.core import mail

    from tests.cases.helpers import reachable
    from yizhan.core.notify import MemorySmsBackend

    reachable(world.citizen, phone="13900001111")
    case = accepted(world, promised)
    mail.outbox.clear()
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_suspend(actor=_reviewer(world), case=case, reason="expert_review",
                              note="委托专家评审")
    [stopped] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert stopped.subject == "办理期限暂停计算"
    assert f"办件 {case.number} 需要专家评审，所需时间不计入办理期限" in stopped.body
    assert [m.phone for m in MemorySmsBackend.outbox] == ["13900001111"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_resume(actor=_reviewer(world), case=reload(case))
    case = reload(case)
    [resumed] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert resumed.subject == "办理期限恢复计算"
    due = timezone.localtime(case.promised_due).strftime("%Y-%m-%d")
    assert (f"办件 {case.number} 的专家评审已结束，办理期限恢复计算；"
            f"暂停的 {case.paused_workdays} 个工作日不计入办理期限，承诺办结期限现为 {due}"
            in resumed.body)


@pytest.mark.parametrize("reason", ["correction", "holiday", "", "HEARING"])
def test_other_reasons_do_not_stop_the_clock(world, promised, reason):
    """Only the reasons the law lists (补正 has its own path) stop the clock."""
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_suspend(actor=_reviewer(world), case=case, reason=reason, note="说明")
    assert exc.value.code == CasesErrorCode.NO_REASON


def test_the_listed_reasons_follow_the_message_s_language(world, promised):
    """Refused on an English page, the Chinese message still lists the reasons in Chinese."""
    from django.utils import translation

    case = accepted(world, promised)
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        services.case_suspend(actor=_reviewer(world), case=case, reason="holiday", note="说明")
    assert "听证、招标、拍卖" in exc.value.render("zh-hans")
    assert "Hearing" in exc.value.render("en") and "听证" not in exc.value.render("en")


def test_a_pause_needs_a_note(world, promised):
    """A lawful reason still needs the particulars."""
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_suspend(actor=_reviewer(world), case=case, reason="hearing", note=" ")
    assert exc.value.code == CasesErrorCode.NO_REASON


def test_only_a_case_in_progress_is_suspended(world, promised):
    """A case not yet accepted has no clock to stop."""
    case, _code = submitted(world, promised)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_suspend(actor=_reviewer(world), case=case, reason="hearing", note="听证")
    assert exc.value.code == CasesErrorCode.BAD_STATE


@pytest.mark.parametrize("who", [("a", Role.WINDOW_CLERK), ("b", Role.REVIEWER)])
def test_only_reviewers_and_heads_of_the_agency_suspend(world, promised, who):
    """A window clerk, or a reviewer of another agency, may not stop the clock."""
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_suspend(actor=world.user(*who), case=case, reason="hearing", note="听证")


def test_the_upper_agency_s_reviewer_stops_the_clock_for_its_own_inspection(world):
    """《行政许可法》第四十五条: the time of the deciding agency's 检验检测、现场勘验、
    专家评审 is not counted.  Once an 上级初审 case is sent up, that agency is the
    upper one: its reviewer stops and restarts the clock, recorded as its own;
    the accepting agency's reviewer no longer does."""
    case, upper, staff = at_upper_review(world)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_suspend(actor=_reviewer(world), case=case, reason="inspection",
                              note="现场核查")
    case = services.case_suspend(actor=staff[Role.REVIEWER], case=case, reason="inspection",
                                 note="省厅组织现场核查")
    assert reload(case).status == Case.Status.SUSPENDED
    services.case_resume(actor=staff[Role.REVIEWER], case=reload(case))
    assert reload(case).status == Case.Status.IN_PROGRESS
    for event_type in (EventType.SUSPENDED, EventType.RESUMED):
        assert case.events.get(type=event_type).agency_id == upper.pk
    for action in (CasesAction.CASE_SUSPENDED, CasesAction.CASE_RESUMED):
        assert AuditRecord.objects.get(action=action).agency_id == upper.pk


def test_resuming_adds_the_paused_working_days_to_both_deadlines(world, promised):
    """恢复: the working days the case waited push both deadlines back, and the
    open step's own limit with them."""
    case = accepted(world, promised)
    review = case.tasks.get(status=Task.Status.OPEN)
    services.case_suspend(actor=_reviewer(world), case=case, reason="inspection",
                          note="现场勘验")
    since = timezone.now() - dt.timedelta(days=15)
    Case.objects.filter(pk=case.pk).update(paused_since=since)
    services.case_resume(actor=_reviewer(world), case=case)
    case = reload(case)
    calendar = calendar_current()
    lost = calendar.count_workdays(timezone.localtime(since).date(),
                                   timezone.localdate()).days
    assert lost >= 9
    assert case.paused_workdays == lost
    assert case.status == Case.Status.IN_PROGRESS
    assert (case.paused_since, case.pause_reason) == (None, "")
    assert case.statutory_due == calendar.deadline(case.accepted_at, 20 + lost, TZ).at
    assert case.promised_due == calendar.deadline(case.accepted_at, 10 + lost, TZ).at
    before = review.due_at
    review.refresh_from_db()
    assert review.due_at == calendar.deadline(before, lost, TZ).at
    assert case.next_check_at <= timezone.now()   # supervision re-plans the new deadlines
    resumed = case.events.get(type=EventType.RESUMED)
    assert resumed.data == {"reason": "inspection", "paused_workdays": lost}
    assert audit_actions(case)[-1] == CasesAction.CASE_RESUMED


def test_a_pause_within_one_day_costs_nothing(world, promised):
    """Suspended and resumed on the same day: the deadlines do not move."""
    case = accepted(world, promised)
    before = (case.statutory_due, case.promised_due)
    services.case_suspend(actor=_reviewer(world), case=case, reason="testing", note="检测")
    services.case_resume(actor=_reviewer(world), case=case)
    case = reload(case)
    assert case.paused_workdays == 0
    assert (case.statutory_due, case.promised_due) == before


@pytest.mark.parametrize("local", [dt.time(23, 30), dt.time(0, 30)])
def test_acceptance_near_midnight_counts_from_the_local_day(world, promised, monkeypatch,
                                                            local):
    """The day of acceptance is the Beijing date, whatever the UTC date."""
    known = calendar_current().known_years
    year = max(y for y in known if y + 1 in known)
    day = dt.date(year, 6, 10)
    while not calendar_current().is_workday(day):
        day += dt.timedelta(days=1)
    moment = dt.datetime.combine(day, local, tzinfo=TZ)
    case, _code = _accepted_on(world, promised, moment.astimezone(dt.UTC), monkeypatch)
    expected = calendar_current().add_workdays(day, 10).date
    assert timezone.localtime(case.promised_due).date() == expected
    assert timezone.localtime(case.promised_due).time() == dt.time.max


def test_a_pause_from_2330_to_0030_gives_back_the_resumption_day(world, promised, monkeypatch):
    """Each working day the case waited, up to and including the day it
    resumed, is given back: also for an hour across midnight."""
    calendar = calendar_current()
    year = max(y for y in calendar.known_years if y + 1 in calendar.known_years)
    day = dt.date(year, 6, 1)
    while not (calendar.is_workday(day) and calendar.is_workday(day + dt.timedelta(days=1))):
        day += dt.timedelta(days=1)
    case, _code = _accepted_on(world, promised, dt.datetime.combine(day, dt.time(9), tzinfo=TZ),
                               monkeypatch)
    since = dt.datetime.combine(day, dt.time(23, 30), tzinfo=TZ)
    case = _pause(world, case, since, since + dt.timedelta(hours=1), monkeypatch,
                  reason="hearing")
    assert case.paused_workdays == 1


def test_resuming_a_running_clock_is_refused(world, promised):
    """Only a suspended case resumes."""
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(Conflict):
        services.case_resume(actor=_reviewer(world), case=case)


def test_a_suspended_case_takes_no_decision(world, promised):
    """Tasks wait while the clock is stopped."""
    case = accepted(world, promised)
    services.case_suspend(actor=_reviewer(world), case=case, reason="hearing", note="听证")
    with nothing_written(), pytest.raises(Conflict):
        complete(_reviewer(world), case, "review")


# --- the one extension --------------------------------------------------------------


def test_the_head_extends_the_statutory_limit_once(world, promised):
    """延期: up to ten working days on the statutory deadline, by the agency head."""
    case = accepted(world, promised)
    promised_before = case.promised_due
    services.case_extend(actor=_head(world), case=case, workdays=10, reason="情况复杂，需集体讨论")
    case = reload(case)
    calendar = calendar_current()
    assert case.extension_workdays == 10
    assert case.statutory_due == calendar.deadline(case.accepted_at, 30, TZ).at
    assert case.promised_due == promised_before
    assert case.events.get(type=EventType.EXTENDED).data == {
        "workdays": 10, "reason": "情况复杂，需集体讨论"}
    record = AuditRecord.objects.get(action=CasesAction.CASE_EXTENDED)
    assert (record.reason, record.changes) == ("情况复杂，需集体讨论", {"workdays": 10})
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_extend(actor=_head(world), case=case, workdays=1, reason="再延")
    assert exc.value.code == CasesErrorCode.EXTENSION_ONCE


def test_the_same_extension_sent_again_answers_the_extended_case(world, promised):
    """The head's extension sent again (the same days and reason): the case as it
    is, nothing written.  Another extension, or the same one from another head,
    is the second extension the law does not allow."""
    case = accepted(world, promised)
    services.case_extend(actor=_head(world), case=case, workdays=5, reason="需集体讨论")
    other_head = colleague(world, "a", Role.AGENCY_HEAD, "a.head2")
    with nothing_written():
        again = services.case_extend(actor=_head(world), case=case, workdays=5,
                                     reason="需集体讨论")
        assert (again.pk, again.extension_workdays) == (case.pk, 5)
        for actor, workdays, reason in ((_head(world), 5, "再延"), (_head(world), 3, "需集体讨论"),
                                        (other_head, 5, "需集体讨论")):
            with pytest.raises(Conflict) as exc:
                services.case_extend(actor=actor, case=case, workdays=workdays, reason=reason)
            assert exc.value.code == CasesErrorCode.EXTENSION_ONCE


def test_a_token_s_pause_sent_again_answers_the_suspended_case(world, promised):
    """A reviewers' system stops the clock and sends it again: the case as it is,
    recognised by the token's label.  Another system, or another note, is refused;
    so is resuming twice by different actors."""
    case = accepted(world, promised)
    token, _label = token_actor(world, Role.REVIEWER)
    other, _other_label = token_actor(world, Role.REVIEWER)
    services.case_suspend(actor=token, case=case, reason="inspection", note="现场核查")
    with nothing_written():
        again = services.case_suspend(actor=token, case=case, reason="inspection",
                                      note="现场核查")
        assert again.status == Case.Status.SUSPENDED
        for actor, note in ((other, "现场核查"), (token, "再次核查")):
            with pytest.raises(Conflict) as exc:
                services.case_suspend(actor=actor, case=case, reason="inspection", note=note)
            assert exc.value.code == CasesErrorCode.BAD_STATE
    services.case_resume(actor=token, case=case)
    with nothing_written():
        assert services.case_resume(actor=token, case=case).status == Case.Status.IN_PROGRESS
        with pytest.raises(Conflict):
            services.case_resume(actor=other, case=case)
    assert event_types(case).count(EventType.SUSPENDED) == 1


@pytest.mark.parametrize("workdays", [0, 11, -1, "5"])
def test_an_extension_is_one_to_ten_working_days(world, promised, workdays):
    """Longer than the law allows, or not a whole number, is refused."""
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(InvalidInput):
        services.case_extend(actor=_head(world), case=case, workdays=workdays, reason="复杂")


def test_an_extension_needs_a_reason(world, promised):
    """The head states why the case needs longer."""
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_extend(actor=_head(world), case=case, workdays=5, reason="")
    assert exc.value.code == CasesErrorCode.NO_REASON


@pytest.mark.parametrize("who", [("a", Role.REVIEWER), ("b", Role.AGENCY_HEAD)])
def test_only_the_head_of_the_agency_extends(world, promised, who):
    """A reviewer, or another agency's head, cannot extend."""
    case = accepted(world, promised)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_extend(actor=world.user(*who), case=case, workdays=5, reason="复杂")


def test_extending_a_suspended_case_is_planned_again(world, promised):
    """An extension while the clock is stopped asks supervision to plan again."""
    case = accepted(world, promised)
    services.case_suspend(actor=_reviewer(world), case=case, reason="expert_review",
                          note="专家评审")
    services.case_extend(actor=_head(world), case=case, workdays=5, reason="专家评审耗时")
    case = reload(case)
    assert case.status == Case.Status.SUSPENDED
    assert case.next_check_at <= timezone.now()
    services.case_resume(actor=_reviewer(world), case=case)
    case = reload(case)
    assert case.next_check_at <= timezone.now()
    assert case.statutory_due == calendar_current().deadline(
        case.accepted_at, 20 + 5 + case.paused_workdays, TZ).at


def _overdue(world, version, monkeypatch, *, days_over=2):
    """A case accepted so long ago that its statutory deadline (20 working days)
    passed ``days_over`` working days ago."""
    start = calendar_current().add_workdays(timezone.localdate(), -(20 + days_over)).date
    case, _code = _accepted_on(world, version, dt.datetime.combine(start, dt.time(10), tzinfo=TZ),
                               monkeypatch)
    assert case.statutory_due < timezone.now()
    assert selectors.remaining_workdays(case).statutory < 0
    return case


def test_an_extension_after_the_statutory_deadline_is_refused(world, promised, monkeypatch,
                                                              client_for):
    """《行政许可法》第四十二条: the extension is granted when the decision cannot
    be made *within* the twenty days, so it is approved within them.  Approved
    after the deadline passed, it would turn an overdue case back into one
    with days left: refused, nothing written, and the case page offers no form."""
    case = _overdue(world, promised, monkeypatch)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_extend(actor=_head(world), case=case, workdays=10, reason="情况复杂")
    assert exc.value.code == CasesErrorCode.BAD_STATE
    assert "法定办理期限已届满，不能再延长" in exc.value.render("zh-hans")
    assert selectors.remaining_workdays(reload(case)).statutory < 0
    assert selectors.extension_allowed(case) is False
    page = client_for(_head(world)).get(f"/workbench/cases/{case.pk}/").content.decode()
    assert 'data-testid="extend"' not in page


def test_an_extension_on_the_last_day_of_the_limit_is_granted(world, promised):
    """Until the end of the statutory deadline's last day the head may extend."""
    case = accepted(world, promised)
    last_day = timezone.localtime(case.statutory_due).replace(hour=17)
    assert selectors.extension_allowed(case, last_day) is True
    assert selectors.extension_allowed(case, case.statutory_due + dt.timedelta(microseconds=1)) \
        is False


def test_a_case_paused_within_its_limit_may_be_extended_after_the_date(
        world, promised, monkeypatch):
    """Paused before its deadline, the case's limit stands still: the head may
    extend it while it waits, even once the deadline's date has gone by."""
    case = _overdue(world, promised, monkeypatch)
    before_due = case.statutory_due - dt.timedelta(days=3)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: before_due)
        services.case_suspend(actor=_reviewer(world), case=case, reason="expert_review",
                              note="专家评审")
    services.case_extend(actor=_head(world), case=reload(case), workdays=5, reason="专家评审耗时")
    assert reload(case).extension_workdays == 5


def test_a_pause_after_the_statutory_deadline_does_not_revive_it(world, promised, monkeypatch):
    """A case already overdue is suspended for two weeks and resumed: the
    pause's days are given back, but the limit had run out before it began,
    so the case stays overdue."""
    case = _overdue(world, promised, monkeypatch)
    services.case_suspend(actor=_reviewer(world), case=case, reason="inspection", note="现场勘验")
    later = timezone.now() + dt.timedelta(days=14)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: later)
        services.case_resume(actor=_reviewer(world), case=reload(case))
    case = reload(case)
    assert selectors.remaining_workdays(case, now=later).statutory < 0, (
        case.paused_workdays, case.statutory_due)


# --- each step's own limit, within the promise -----------------------------------------


def _done_in_time(actor, case, name, monkeypatch):
    """Complete the open step ``name`` an hour before its own limit ends."""
    task = open_task(case, name)
    at = task.due_at - dt.timedelta(hours=1)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: at)
        services.task_complete(actor=actor, task=task, decision="approve", opinion="同意")


def test_the_steps_of_an_upper_review_fit_in_the_promised_limit(world, monkeypatch):
    """上级初审: 初审 (half the promised limit), 上级审查 (half again) and 上级决定
    (a quarter) add up to more than the promise.  Each done on the last day of
    its own limit, the decision is still due by the promised deadline: no step
    in time can leave the case late."""
    _upper, upper_staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级初审许可", process_template="upper_review",
                           upper_agency="示范省厅", promised_limit=8, statutory_limit=20)
    case = accepted(world, version)
    _done_in_time(world.user("a", Role.REVIEWER), case, "first_review", monkeypatch)
    _done_in_time(upper_staff[Role.REVIEWER], case, "upper_level_review", monkeypatch)
    decide, case = open_task(case, "decide"), reload(case)
    assert decide.due_at == case.promised_due
    assert decide.due_provisional is case.promised_provisional


def test_with_a_one_day_promise_the_decision_is_due_with_the_promise(world, monkeypatch):
    """A 承诺件 promising one working day: review and decision have one day each
    of their own; reviewed on that day, the decision is due the same day."""
    version = publish_item(world, name="一日承诺", promised_limit=1, statutory_limit=20)
    case = accepted(world, version)
    assert open_task(case, "review").due_at == case.promised_due
    _done_in_time(_reviewer(world), case, "review", monkeypatch)
    assert open_task(case, "decide").due_at == case.promised_due


def test_a_step_capped_at_the_promise_takes_the_promise_s_mark(world, monkeypatch):
    """Reviewed on the last working day of the last year with holiday data,
    the decision's own day would fall in the next year, 暂定; the promised
    deadline it is capped at is final, and so is the step's limit."""
    calendar = calendar_current()
    last = max(calendar.known_years)
    end = dt.date(last, 12, 31)
    while not calendar.is_workday(end):
        end -= dt.timedelta(days=1)
    start = calendar.add_workdays(end, -1).date
    version = publish_item(world, name="一日承诺", promised_limit=1, statutory_limit=20)
    case, _code = _accepted_on(world, version, dt.datetime.combine(start, dt.time(10), tzinfo=TZ),
                               monkeypatch)
    assert timezone.localtime(case.promised_due).date() == end
    assert case.promised_provisional is False
    _done_in_time(_reviewer(world), case, "review", monkeypatch)
    decide = open_task(case, "decide")
    assert decide.due_at == case.promised_due
    assert decide.due_provisional is False


def test_a_step_capped_at_the_promise_stays_there_when_counted_again(world, monkeypatch):
    """The calendar's recount counts each open step again from its start:
    a step capped at the promised deadline stays capped, nothing moves."""
    version = publish_item(world, name="一日承诺", promised_limit=1, statutory_limit=20)
    case = accepted(world, version)
    _done_in_time(_reviewer(world), case, "review", monkeypatch)
    decide = open_task(case, "decide")
    with nothing_written():
        assert services.deadlines_recompute(year=None) == 0
    assert open_task(case, "decide").due_at == decide.due_at == reload(case).promised_due


def test_a_step_capped_at_the_promise_moves_with_it_after_a_pause(world, monkeypatch):
    """A pause gives the case and its open step the same working days back:
    the capped step is still due with the promise."""
    version = publish_item(world, name="一日承诺", promised_limit=1, statutory_limit=20)
    case = accepted(world, version)
    _done_in_time(_reviewer(world), case, "review", monkeypatch)
    since = timezone.now()
    case = _pause(world, case, since, since + dt.timedelta(days=10), monkeypatch)
    assert case.paused_workdays > 0
    assert open_task(case, "decide").due_at == case.promised_due


def _sent_up_late(world, monkeypatch):
    """An 上级初审 case whose first review took longer than the whole promise:
    accepted three weeks ago with a two-day promise, sent up now.  Returns the
    case, the upper agency's step and its staff."""
    _upper, staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅", promised_limit=2, statutory_limit=20)
    case, _code = _accepted_on(world, version, timezone.now() - dt.timedelta(days=21),
                               monkeypatch)
    assert case.promised_due < timezone.now()
    complete(_reviewer(world), case, "first_review", opinion="同意上报")
    return reload(case), open_task(case), staff


def test_the_upper_agency_s_step_is_not_overdue_the_moment_it_arrives(world, monkeypatch):
    """Once the promised deadline has passed at the lower level, a step the upper
    agency receives keeps its own limit: capped at that past deadline it would
    be due before it was created, and the sweep's 环节超时 (SX-05) would land
    on the upper agency's post for the lower agency's delay."""
    from yizhan.supervision.detection import sweep
    from yizhan.supervision.models import Alert

    case, arrived, _staff = _sent_up_late(world, monkeypatch)
    assert arrived.due_at > arrived.created_at
    assert arrived.due_at == services._task_due(case, "review", arrived.created_at).at
    sweep(now=timezone.now())
    assert not Alert.objects.filter(task=arrived, rule__code="SX-05").exists()


def test_a_step_opened_after_the_promise_keeps_its_limit_after_a_pause_and_a_recount(
        world, monkeypatch):
    """A pause gives the late step the working days it took, and the calendar's
    recount leaves it as it is: neither caps it at the promise it opened after."""
    case, arrived, staff = _sent_up_late(world, monkeypatch)
    with nothing_written():
        assert services.deadlines_recompute(year=None) == 0
    since = timezone.now()
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: since)
        services.case_suspend(actor=staff[Role.REVIEWER], case=case, reason="inspection",
                              note="现场勘验")
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: since + dt.timedelta(days=10))
        services.case_resume(actor=staff[Role.REVIEWER], case=reload(case))
    case = reload(case)
    assert case.paused_workdays > 0
    resumed = open_task(case)
    assert resumed.due_at == calendar_current().deadline(arrived.due_at, case.paused_workdays,
                                                         TZ).at
    assert resumed.due_at > case.promised_due
    services.deadlines_recompute(year=None)
    assert open_task(case).due_at == resumed.due_at


def test_delivery_keeps_its_own_limit_after_the_promise(world, monkeypatch):
    """Delivery follows the decision with a limit of its own (第四十四条): a
    decision made on the promise's last day is delivered the next working day."""
    version = publish_item(world, name="一日承诺", promised_limit=1, statutory_limit=20)
    case = accepted(world, version)
    _done_in_time(_reviewer(world), case, "review", monkeypatch)
    _done_in_time(_head(world), case, "decide", monkeypatch)
    case = reload(case)
    deliver = open_task(case, "deliver")
    assert timezone.localtime(deliver.due_at).date() == calendar_current().add_workdays(
        timezone.localtime(case.promised_due).date(), 1).date


# --- remaining working days -----------------------------------------------------------


def test_remaining_working_days(world, promised):
    """At acceptance the whole limits remain; on the last day 0; after it, negative."""
    case = accepted(world, promised)
    left = selectors.remaining_workdays(case, now=case.accepted_at)
    assert (left.statutory, left.promised, left.provisional) == (20, 10, case.due_provisional)
    last_day = timezone.localtime(case.promised_due).replace(hour=9)
    assert selectors.remaining_workdays(case, now=last_day).promised == 0
    after = calendar_current().add_workdays(last_day.date(), 1).date
    later = dt.datetime.combine(after, dt.time(9), tzinfo=TZ)
    assert selectors.remaining_workdays(case, now=later).promised == -1


def test_remaining_days_stand_still_while_suspended(world, promised):
    """A suspended case's remaining days are counted at the pause, not now."""
    case = accepted(world, promised)
    services.case_suspend(actor=_reviewer(world), case=case, reason="hearing", note="听证")
    Case.objects.filter(pk=case.pk).update(paused_since=case.accepted_at)
    case = reload(case)
    much_later = case.accepted_at + dt.timedelta(days=60)
    left = selectors.remaining_workdays(case, now=much_later)
    assert (left.statutory, left.promised) == (20, 10)


def test_a_case_not_accepted_has_no_remaining_days(world, promised):
    """Before acceptance there is no deadline to count to."""
    case, _code = submitted(world, promised)
    left = selectors.remaining_workdays(case)
    assert (left.statutory, left.promised) == (None, None)


# --- provisional deadlines and a newly published year ------------------------------------


def _accepted_on(world, version, moment, monkeypatch):
    """A case submitted and accepted by the window at ``moment``, and its query code.

    Submitted then too: accepted more than five working days after it was
    received, its limits would run from the receipt (test_acceptance.py).
    """
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        case, code = submitted(world, version)
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    return reload(case), code


def _first_weekday(year: int) -> dt.date:
    day = dt.date(year, 1, 1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def test_deadlines_into_an_unpublished_year_are_provisional_until_it_is_published(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """Accepted in late December, the deadlines run into a year without holiday data
    and are provisional; publishing that year recomputes them as final."""
    last_known = max(calendar_current().known_years)
    new_year = last_known + 1
    accepted_at = dt.datetime(last_known, 12, 24, 10, 0, tzinfo=TZ)
    case, _code = _accepted_on(world, promised, accepted_at, monkeypatch)
    assert case.accepted_at == accepted_at
    assert case.due_provisional is True
    provisional = case.promised_due
    assert provisional == calendar_current().deadline(accepted_at, 10, TZ).at
    assert selectors.remaining_workdays(case, now=accepted_at).provisional is True

    holiday = _first_weekday(new_year)
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=holiday, is_workday=False,
                                           name="元旦", reason="国办发明电〔测试〕1号")
    # An unpublished year's days move the deadlines, which stay provisional:
    # a case accepted before the edit counts the same days as one after it.
    assert reload(case).due_provisional is True
    assert reload(case).promised_due == calendar_current().deadline(accepted_at, 10, TZ).at
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_year_publish(actor=world.admin, year=new_year,
                                                reason="国办发明电〔测试〕1号")
    case = reload(case)
    calendar = calendar_current()
    assert calendar.is_known(new_year)
    assert case.due_provisional is False
    assert case.promised_due == calendar.deadline(accepted_at, 10, TZ).at
    assert case.statutory_due == calendar.deadline(accepted_at, 20, TZ).at
    # The new holiday lies inside the limit, so the deadline moved one working day later.
    assert case.promised_due.date() > provisional.date()
    moved, final = AuditRecord.objects.filter(
        action=CasesAction.DEADLINES_RECOMPUTED).order_by("seq")
    assert moved.actor_id is None and moved.actor_label == "system"
    assert moved.object_id == final.object_id == str(case.pk)
    assert set(moved.changes) == {"statutory_due", "promised_due"}
    # Each provisional mark that went is recorded by its own name.
    assert final.changes == {"due_provisional": [True, False],
                             "promised_provisional": [True, False]}


def test_only_the_deadline_that_reaches_the_unpublished_year_is_marked_provisional(
        world, promised, monkeypatch, client_for, django_capture_on_commit_callbacks):
    """Accepted in early December: the promised deadline (10 working days) falls in
    the last year with holiday data and is final; the statutory one (20) runs into
    the next year and alone is 暂定, on the applicant's page and in the API."""
    last_known = max(calendar_current().known_years)
    accepted_at = dt.datetime(last_known, 12, 7, 10, 0, tzinfo=TZ)
    case, code = _accepted_on(world, promised, accepted_at, monkeypatch)
    assert case.promised_due.year == last_known
    assert case.statutory_due.year == last_known + 1
    assert (case.due_provisional, case.promised_provisional) == (True, False)
    client = client_for(world.citizen)
    page = client.get(f"/my/cases/{case.pk}/").content.decode()
    promised_row = page.split("承诺期限</dt>")[1].split("</dd>")[0]
    statutory_row = page.split("法定期限</dt>")[1].split("</dd>")[0]
    assert "暂定" not in promised_row
    assert "暂定" in statutory_row
    body = client.get(f"/api/v1/cases/{case.pk}").json()
    assert (body["due_provisional"], body["promised_provisional"]) == (True, False)
    public = client_for(None).get("/api/v1/cases/status",
                                  {"number": case.number, "code": code}).json()
    assert (public["due_provisional"], public["promised_provisional"]) == (True, False)
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=_first_weekday(last_known + 1),
                                           is_workday=False, name="元旦",
                                           reason="国办发明电〔测试〕1号")
        workdays_services.calendar_year_publish(actor=world.admin, year=last_known + 1,
                                                reason="国办发明电〔测试〕1号")
    case = reload(case)
    assert (case.due_provisional, case.promised_provisional) == (False, False)


def test_recomputing_leaves_final_deadlines_alone(world, promised):
    """deadlines_recompute moves nothing when the calendar did not change."""
    case = accepted(world, promised)
    with nothing_written():
        assert services.deadlines_recompute(year=None) == 0
    assert reload(case).statutory_due == case.statutory_due


def test_a_day_edited_in_a_published_year_moves_cases_running_into_the_next(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """A case accepted in December whose statutory deadline falls in January is recomputed
    when a December working day of that (published) year becomes a holiday."""
    known = calendar_current().known_years
    year = max(y for y in known if y + 1 in known)
    accepted_at = dt.datetime(year, 12, 10, 10, 0, tzinfo=TZ)
    before, _code = _accepted_on(world, promised, accepted_at, monkeypatch)
    assert before.statutory_due.year == year + 1
    day = dt.date(year, 12, 15)
    while not calendar_current().is_workday(day):
        day += dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=day, is_workday=False,
                                           name="调休", reason="国办发明电〔测试〕2号")
    after = reload(before)
    calendar = calendar_current()
    assert after.statutory_due == calendar.deadline(accepted_at, 20, TZ).at
    assert after.promised_due == calendar.deadline(accepted_at, 10, TZ).at
    assert after.statutory_due.date() > before.statutory_due.date()


NOTICE = "国办发明电〔测试〕1号"


def _publish_with_new_year_holiday(world, year, capture):
    with capture(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=_first_weekday(year),
                                           is_workday=False, name="元旦", reason=NOTICE)
        workdays_services.calendar_year_publish(actor=world.admin, year=year, reason=NOTICE)


def _pause(world, case, since, until, monkeypatch, reason="inspection"):
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: since)
        services.case_suspend(actor=_reviewer(world), case=case, reason=reason, note="现场勘验")
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: until)
        services.case_resume(actor=_reviewer(world), case=reload(case))
    return reload(case)


def _paused_over_the_new_year(world, promised, monkeypatch):
    """A case accepted on 14 December of the last year with holiday data whose
    clock stood still from 28 December to 12 January of the next, which has
    none yet; returns it and (accepted at, paused since, resumed at)."""
    last = max(calendar_current().known_years)
    accepted_at = dt.datetime(last, 12, 14, 10, 0, tzinfo=TZ)
    case, _code = _accepted_on(world, promised, accepted_at, monkeypatch)
    since = dt.datetime(last, 12, 28, 10, 0, tzinfo=TZ)
    until = dt.datetime(last + 1, 1, 12, 10, 0, tzinfo=TZ)
    return _pause(world, case, since, until, monkeypatch), (accepted_at, since, until)


def test_a_pause_into_an_unpublished_year_is_counted_again_when_it_is_published(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """Paused from late December into January of a year without data, 1 January
    counted as a working day the case waited.  Once it is published as 元旦 the
    pause cost a working day less, and both deadlines come a day earlier."""
    case, (accepted_at, since, until) = _paused_over_the_new_year(world, promised, monkeypatch)
    new = until.year
    provisional_lost = case.paused_workdays
    assert case.due_provisional is True

    _publish_with_new_year_holiday(world, new, django_capture_on_commit_callbacks)
    calendar = calendar_current()
    lost = calendar.count_workdays(since.date(), until.date()).days
    assert lost == provisional_lost - 1
    case = reload(case)
    assert case.paused_workdays == lost
    assert case.due_provisional is False
    assert case.statutory_due == calendar.deadline(accepted_at, 20 + lost, TZ).at
    assert case.promised_due == calendar.deadline(accepted_at, 10 + lost, TZ).at
    record = AuditRecord.objects.filter(action=CasesAction.DEADLINES_RECOMPUTED).last()
    assert record.changes["paused_workdays"] == [provisional_lost, lost]


def test_a_make_up_working_day_inside_a_past_pause_is_given_back(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """A Saturday inside a finished pause becomes a 调休 working day: the case
    waited on one working day more, so its deadlines move a day later."""
    known = calendar_current().known_years
    year = max(y for y in known if y + 1 in known)
    accepted_at = dt.datetime(year, 3, 2, 10, 0, tzinfo=TZ)
    while accepted_at.weekday() != 0:
        accepted_at += dt.timedelta(days=1)
    case, _code = _accepted_on(world, promised, accepted_at, monkeypatch)
    since = accepted_at + dt.timedelta(days=2)
    case = _pause(world, case, since, since + dt.timedelta(days=14), monkeypatch,
                  reason="hearing")
    saturday = since.date() + dt.timedelta(days=(5 - since.weekday()) % 7)
    assert not calendar_current().is_workday(saturday)
    before = case.paused_workdays
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=saturday, is_workday=True,
                                           name="调休", reason=NOTICE)
    case = reload(case)
    assert case.paused_workdays == before + 1
    assert case.statutory_due == calendar_current().deadline(accepted_at, 20 + before + 1,
                                                             TZ).at


def test_a_step_limit_into_an_unpublished_year_is_provisional_until_it_is_published(
        world, promised, monkeypatch, client_for, django_capture_on_commit_callbacks):
    """A review opened on 30 December has its own limit, counted into a year
    without data: it is marked 暂定 in the inbox, the task page and the API,
    and counted again, as final, when the year is published."""
    last = max(calendar_current().known_years)
    accepted_at = dt.datetime(last, 12, 30, 10, 0, tzinfo=TZ)
    case, _code = _accepted_on(world, promised, accepted_at, monkeypatch)
    review = Task.objects.get(case=case, status=Task.Status.OPEN)
    limit = services._task_limit(case, "review")
    assert review.due_provisional is True
    assert review.due_at == calendar_current().deadline(accepted_at, limit, TZ).at
    reviewer = client_for(_reviewer(world))
    inbox = reviewer.get("/workbench/").content.decode()
    assert "暂定" in inbox.split(case.number)[1].split("</tr>")[0]
    assert "暂定" in reviewer.get(f"/workbench/tasks/{review.pk}/").content.decode()
    listed = reviewer.get("/api/v1/tasks/inbox").json()
    assert [t["due_provisional"] for t in listed if t["id"] == review.pk] == [True]

    _publish_with_new_year_holiday(world, last + 1, django_capture_on_commit_callbacks)
    review.refresh_from_db()
    final = calendar_current().deadline(accepted_at, limit, TZ)
    assert review.due_provisional is False
    assert review.due_at == final.at
    assert "暂定" not in reviewer.get(f"/workbench/tasks/{review.pk}/").content.decode()


def test_a_day_entered_for_an_unpublished_year_moves_provisional_deadlines_too(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """Two cases accepted at the same moment count the same days, whether
    accepted before or after an administrator entered 元旦 of a year still to
    be published."""
    last = max(calendar_current().known_years)
    moment = dt.datetime(last, 12, 24, 10, 0, tzinfo=TZ)
    first, _code = _accepted_on(world, promised, moment, monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=_first_weekday(last + 1),
                                           is_workday=False, name="元旦", reason=NOTICE)
    second, _code = _accepted_on(world, promised, moment, monkeypatch)
    first = reload(first)
    assert (first.due_provisional, second.due_provisional) == (True, True)
    assert first.statutory_due == second.statutory_due


def test_the_recount_reads_the_calendar_afresh(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """With a broker the recount runs in a worker, which may have read the
    calendar less than a second before the change committed elsewhere: it
    must count with the new calendar, not its copy."""
    from yizhan.workdays import selectors as workdays_selectors

    last = max(calendar_current().known_years)
    case, _code = _accepted_on(world, promised, dt.datetime(last, 12, 24, 10, 0, tzinfo=TZ),
                               monkeypatch)
    assert case.due_provisional is True
    monkeypatch.setattr(workdays_selectors, "_monotonic", lambda: 1000.0)
    workdays_selectors.calendar_cache_clear()
    calendar_current()   # the worker's copy, just checked
    # The change commits in another process: this one's copy is not dropped.
    monkeypatch.setattr(workdays_services, "calendar_cache_clear", lambda: None)
    _publish_with_new_year_holiday(world, last + 1, django_capture_on_commit_callbacks)
    assert reload(case).due_provisional is False


def test_editing_a_past_holiday_leaves_closed_cases_alone(world, promised, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    """A case accepted and closed in a known year keeps its deadlines when a
    working day inside its limit later becomes a holiday; a running case
    over the same days moves."""
    known = calendar_current().known_years
    year = max(y for y in known if y + 1 in known)
    at = dt.datetime(year, 3, 2, 10, 0, tzinfo=TZ)
    closed, _code = _accepted_on(world, promised, at, monkeypatch)
    services.case_withdraw(actor=world.citizen, case=closed, reason="不办了")
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    running, _code = _accepted_on(world, promised, at, monkeypatch)
    closed, running = reload(closed), reload(running)
    day = at.date() + dt.timedelta(days=1)
    while not calendar_current().is_workday(day):
        day += dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=day, is_workday=False,
                                           name="调休", reason=NOTICE)
    assert reload(closed).statutory_due == closed.statutory_due
    assert reload(running).statutory_due > running.statutory_due


def _at(moment, monkeypatch, call):
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        return call()


@pytest.mark.parametrize("delivered", [False, True], ids=["awaiting_delivery", "closed"])
def test_a_case_decided_before_the_year_is_published_loses_its_provisional_mark(
        world, promised, monkeypatch, client_for, django_capture_on_commit_callbacks,
        delivered):
    """Accepted on 7 December, the statutory deadline (20 working days) runs into
    the next year and is 暂定.  The head approves on 28 December; the case
    awaits delivery (still open) or is delivered.  Publishing the next year
    counts its deadlines again as final (from its stored pauses and
    extension): the applicant's page, the API and the public status query
    no longer say 暂定."""
    last = max(calendar_current().known_years)
    case, code = _accepted_on(world, promised, dt.datetime(last, 12, 7, 10, 0, tzinfo=TZ),
                              monkeypatch)
    assert case.due_provisional is True
    decided = dt.datetime(last, 12, 28, 10, 0, tzinfo=TZ)
    _at(decided, monkeypatch, lambda: complete(_reviewer(world), case, "review"))
    _at(decided, monkeypatch, lambda: complete(_head(world), case, "decide"))
    if delivered:
        _at(decided, monkeypatch, lambda: complete(world.user("a", Role.WINDOW_CLERK), case,
                                                   "deliver"))
    case = reload(case)
    assert case.status == (Case.Status.CLOSED if delivered else Case.Status.APPROVED)
    assert case.due_provisional is True

    told = []
    deadlines_moved.connect(lambda sender, case, moved, **kwargs: told.append(
        (case.pk, set(moved) - {"tasks"})), weak=False, dispatch_uid="test-told")
    try:
        _publish_with_new_year_holiday(world, last + 1, django_capture_on_commit_callbacks)
    finally:
        deadlines_moved.disconnect(dispatch_uid="test-told")
    # Decided: supervision keeps the alerts it raised on the case's own
    # deadlines (its sweep would not raise them again).
    assert not [pk for pk, names in told if pk == case.pk and names]

    case = reload(case)
    calendar = calendar_current()
    assert calendar.is_known(last + 1)
    assert (case.due_provisional, case.promised_provisional) == (False, False)
    assert case.statutory_due == calendar.deadline(case.accepted_at, 20, TZ).at
    record = AuditRecord.objects.filter(action=CasesAction.DEADLINES_RECOMPUTED,
                                        object_id=str(case.pk)).get()
    assert {"statutory_due", "due_provisional"} & set(record.changes)
    citizen = client_for(world.citizen)
    page = citizen.get(f"/my/cases/{case.pk}/").content.decode()
    assert "provisional-note" not in page
    assert "暂定" not in page.split("法定期限</dt>")[1].split("</dd>")[0]
    body = citizen.get(f"/api/v1/cases/{case.pk}").json()
    assert body["due_provisional"] is False
    public = client_for(None).get("/api/v1/cases/status",
                                  {"number": case.number, "code": code}).json()
    assert public["due_provisional"] is False


def test_two_pauses_recounted_from_events_match_what_resume_stored(
        world, promised, monkeypatch):
    """Several pauses: deadlines_recompute counts each again from its events and
    finds what the resumptions stored (nothing moves)."""
    known = calendar_current().known_years
    year = max(y for y in known if y + 1 in known)
    at = dt.datetime(year, 4, 1, 10, 0, tzinfo=TZ)
    case, _code = _accepted_on(world, promised, at, monkeypatch)
    for since, until in ((at + dt.timedelta(days=1), at + dt.timedelta(days=6)),
                         (at + dt.timedelta(days=8), at + dt.timedelta(days=20))):
        case = _pause(world, case, since, until, monkeypatch, reason="testing")
    review = Task.objects.get(case=case, status=Task.Status.OPEN)
    assert case.paused_workdays > 0
    assert services.deadlines_recompute(year=None) == 0
    assert reload(case).statutory_due == case.statutory_due
    assert Task.objects.get(pk=review.pk).due_at == review.due_at


def test_the_new_task_mail_marks_a_provisional_step_limit(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """A review opened on 30 December of the last year with data has a 暂定
    limit (inbox, task page, API): the "新待办" e-mail to the reviewers marks
    it too."""
    from django.core import mail

    reviewer = _reviewer(world)
    type(reviewer).objects.filter(pk=reviewer.pk).update(email="reviewer@example.org")
    last = max(calendar_current().known_years)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case, _code = _accepted_on(world, promised, dt.datetime(last, 12, 30, 10, 0, tzinfo=TZ),
                                   monkeypatch)
    review = Task.objects.get(case=case, status=Task.Status.OPEN)
    assert review.due_provisional is True
    message = next(m for m in mail.outbox
                   if m.subject.startswith("新待办") and m.to == ["reviewer@example.org"])
    due = timezone.localtime(review.due_at).strftime("%Y-%m-%d")
    assert f"请于 {due}（暂定） 前办理" in message.body, message.body


def test_a_deemed_acceptance_counted_over_an_unpublished_new_year_is_counted_again(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """Received in the last days of December and accepted on the fifth working
    day after, 元旦 a holiday (say 28 December 2026 and 5 January 2027): within
    the time 第三十二条 gives to tell what to correct, so the limits run from
    the acceptance.  Counted before the new year is published (1 January a
    working day), the window looked a day late, and the limits ran from the
    receipt (逾期不告知的，自收到申请材料之日起即为受理).  Publishing the year
    judges the start again: the limits run from the acceptance, and the
    change is audited."""
    calendar = calendar_current()
    last = max(calendar.known_years)
    new = last + 1
    day = dt.date(last, 12, 28)
    while not calendar.is_workday(day):
        day += dt.timedelta(days=1)
    received = dt.datetime.combine(day, dt.time(10), tzinfo=TZ)
    # The sixth working day counting 元旦: the fifth once it is a holiday.
    window = dt.datetime.combine(calendar.add_workdays(day, 6).date, dt.time(10), tzinfo=TZ)
    case, _code = _at(received, monkeypatch, lambda: submitted(world, promised))
    _at(window, monkeypatch,
        lambda: complete(world.user("a", Role.WINDOW_CLERK), case, "accept"))
    case = reload(case)
    assert case.accepted_at == received          # deemed, on the provisional count
    assert case.due_provisional is True

    _publish_with_new_year_holiday(world, new, django_capture_on_commit_callbacks)
    case = reload(case)
    calendar = calendar_current()
    assert calendar.count_workdays(received.date(), window.date()).days == 5
    assert (case.due_provisional, case.promised_provisional) == (False, False)
    assert case.accepted_at == window
    assert case.statutory_due == calendar.deadline(window, 20, TZ).at
    assert case.promised_due == calendar.deadline(window, 10, TZ).at
    record = AuditRecord.objects.filter(action=CasesAction.DEADLINES_RECOMPUTED,
                                        object_id=str(case.pk)).get()
    assert [dt.datetime.fromisoformat(moment) for moment in record.changes["accepted_at"]] \
        == [received, window]


def test_a_decided_case_s_pause_over_an_unpublished_new_year_is_counted_again(
        world, promised, monkeypatch, django_capture_on_commit_callbacks):
    """Accepted on 14 December; the clock stood still for an inspection from
    28 December to 12 January, 1 January counted as a working day the case
    waited; approved on 2 February, before the new year was published, its
    deadlines 暂定.  Published with 元旦, the pause cost a working day less:
    a decided case's pauses are counted again from their events as a running
    case's are, and its deadlines, now final, are the law's."""
    case, (accepted_at, since, until) = _paused_over_the_new_year(world, promised, monkeypatch)
    new = until.year
    provisional_lost = case.paused_workdays
    decided = dt.datetime(new, 2, 2, 10, 0, tzinfo=TZ)
    _at(decided, monkeypatch, lambda: complete(_reviewer(world), case, "review"))
    _at(decided, monkeypatch, lambda: complete(_head(world), case, "decide"))
    case = reload(case)
    assert case.status == Case.Status.APPROVED
    assert case.due_provisional is True

    _publish_with_new_year_holiday(world, new, django_capture_on_commit_callbacks)
    case = reload(case)
    calendar = calendar_current()
    lost = calendar.count_workdays(since.date(), until.date()).days
    assert lost == provisional_lost - 1
    assert (case.due_provisional, case.promised_provisional) == (False, False)
    assert case.paused_workdays == lost
    assert case.statutory_due == calendar.deadline(accepted_at, 20 + lost, TZ).at
    assert case.promised_due == calendar.deadline(accepted_at, 10 + lost, TZ).at
