"""The timeliness sweep: lines crossed are raised once, the next line is planned, the rest unread.

The clock is moved by giving the sweep a later ``now``.  A 承诺件 accepted at
T (promised 10 working days, statutory 20; its review step 5) has these
lines, counted in working days after the day of acceptance:

* day 4, start: the review's notice point (SX-04, 80 % of its five days);
* day 5, end: the review is overdue (SX-05);
* day 8, start: the case's yellow point (SX-01, 80 % of its ten days);
* day 10, end: the promised deadline (SX-02); day 20, end: the statutory one (SX-03).
"""

import datetime as dt
from functools import partial

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.cases.helpers import add_agency, complete, open_task, publish_item, reload, submitted
from tests.supervision.helpers import (
    MICRO,
    TZ,
    accepted,
    codes,
    end_of,
    start_of,
    workday,
)
from yizhan.cases import services as case_services
from yizhan.cases.models import Case, CaseEvent, EventType
from yizhan.directory.roles import Role
from yizhan.supervision import services
from yizhan.supervision.detection import rules_cache_clear, sweep
from yizhan.supervision.models import Alert, Level, Rule
from yizhan.workdays.selectors import calendar_cache_clear, calendar_current

FAR = dt.timedelta(days=400)


def _only(case, code) -> Alert:
    return Alert.objects.get(case_id=case.pk, rule__code=code)


def test_after_acceptance_the_case_is_due_and_planned_to_its_first_line(world, promised):
    """Due at once; a sweep now raises nothing and plans the first line, the review's notice."""
    case = accepted(world, promised)
    assert case.next_check_at <= timezone.now()
    result = sweep(now=timezone.now())
    assert (result.cases, result.alerts) == (1, 0)
    assert codes() == []
    assert reload(case).next_check_at == start_of(workday(case, 4))


def test_a_sweep_now_plans_the_yellow_point(world, promised, lines_only):
    """With the case's lines only, the next look is the yellow point: day 8's start."""
    lines_only("SX-01", "SX-02", "SX-03")
    case = accepted(world, promised)
    assert sweep(now=timezone.now()).alerts == 0
    assert reload(case).next_check_at == start_of(workday(case, 8))


def test_the_yellow_point_raises_sx01(world, promised, lines_only):
    """Not a moment before the yellow point; at it a yellow SX-01 on A's review post."""
    lines_only("SX-01", "SX-02", "SX-03")
    case = accepted(world, promised)
    sweep(now=timezone.now())
    yellow = start_of(workday(case, 8))
    Case.objects.filter(pk=case.pk).update(next_check_at=yellow - 2 * MICRO)
    assert sweep(now=yellow - MICRO).alerts == 0        # read, and nothing crossed yet
    assert reload(case).next_check_at == yellow
    assert sweep(now=yellow).alerts == 1
    alert = _only(case, "SX-01")
    accepted_event = CaseEvent.objects.get(case_id=case.pk, type=EventType.ACCEPTED)
    assert (alert.level, alert.agency, alert.task) == (Level.YELLOW, world.agency_a, None)
    assert (alert.post, alert.responsible) == (world.posts["a"][Role.REVIEWER], None)
    assert alert.evidence["events"] == [accepted_event.pk]
    assert alert.raised_at == yellow
    # Next: the first instant after the promised limit ends.
    assert reload(case).next_check_at == case.promised_due + MICRO


def test_past_the_promised_deadline_sx02_is_raised(world, promised, lines_only):
    """A moment after the promised deadline: a red SX-02; the statutory one is next."""
    lines_only("SX-01", "SX-02", "SX-03")
    case = accepted(world, promised)
    assert case.promised_due == end_of(workday(case, 10))
    sweep(now=case.promised_due - MICRO)
    assert codes(case) == ["SX-01"]
    sweep(now=case.promised_due + MICRO)
    assert codes(case) == ["SX-01", "SX-02"]
    assert _only(case, "SX-02").level == Level.RED
    assert reload(case).next_check_at == case.statutory_due + MICRO


def test_past_the_statutory_deadline_sx03_is_raised_and_nothing_is_left_to_watch(
        world, promised, lines_only):
    """A moment after the statutory deadline: a red SX-03; the case needs no further look."""
    lines_only("SX-01", "SX-02", "SX-03")
    case = accepted(world, promised)
    assert case.statutory_due == end_of(workday(case, 20))
    result = sweep(now=case.statutory_due + MICRO)
    assert result.alerts == 3
    assert codes(case) == ["SX-01", "SX-02", "SX-03"]
    assert _only(case, "SX-03").level == Level.RED
    assert reload(case).next_check_at is None


def test_an_overdue_step_raises_sx05_on_its_agency_and_post(world, lines_only):
    """Joint review of B claimed and late: SX-05 on B, B's review post, the claimer; A's too."""
    lines_only("SX-05")
    version = publish_item(world, name="并联许可", process_template="parallel",
                           joint_agencies=[world.agency_b.name])
    case = accepted(world, version)
    b_task = open_task(case, "joint_review", agency=world.agency_b)
    a_task = open_task(case, "lead_review")
    reviewer_b = world.user("b", Role.REVIEWER)
    case_services.task_claim(actor=reviewer_b, task=b_task)
    assert b_task.due_at == end_of(workday(case, 5))
    assert sweep(now=b_task.due_at - MICRO).alerts == 0
    Case.objects.filter(pk=case.pk).update(next_check_at=b_task.due_at - MICRO)
    assert sweep(now=b_task.due_at + MICRO).alerts == 2
    on_b = Alert.objects.get(task=b_task)
    assert (on_b.rule.code, on_b.level, on_b.agency) == ("SX-05", Level.YELLOW, world.agency_b)
    assert (on_b.post, on_b.responsible) == (world.posts["b"][Role.REVIEWER], reviewer_b)
    on_a = Alert.objects.get(task=a_task)
    assert (on_a.agency, on_a.post, on_a.responsible) == (
        world.agency_a, world.posts["a"][Role.REVIEWER], None)


def test_a_late_first_review_raises_sx06(world, lines_only):
    """上级初审: a first review still not sent up after twenty working days is SX-06."""
    lines_only("SX-06")
    add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅")
    case = accepted(world, version)
    task = open_task(case, "first_review")
    limit = end_of(workday(task.created_at, 20))
    sweep(now=limit - MICRO)
    assert codes() == []
    sweep(now=limit + MICRO)
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.task, alert.agency) == ("SX-06", task, world.agency_a)


def test_the_lower_level_s_twenty_days_run_from_acceptance_through_a_return(
        world, lines_only, monkeypatch):
    """《行政许可法》第四十三条: the lower agency reviews and sends the case up within
    twenty days of accepting it.  A return from the upper agency ten days later
    opens a new first review, which gets no twenty fresh days: SX-06 counts from
    the acceptance (docs/cases.md: a return is the agency's own time)."""
    lines_only("SX-06")
    upper, upper_staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅")
    case = accepted(world, version)
    complete(world.user("a", Role.REVIEWER), case, "first_review", opinion="同意上报")
    assert open_task(case).agency == upper
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + dt.timedelta(days=10))
    case_services.task_return(actor=upper_staff[Role.REVIEWER], task=open_task(case),
                              opinion="现场核查记录不全，请补充后重新上报")
    monkeypatch.setattr(timezone, "now", real_now)
    again = open_task(case, "first_review")
    assert again.agency == world.agency_a
    limit = end_of(workday(reload(case).accepted_at, 20))
    sweep(now=limit - MICRO)
    assert codes() == []
    sweep(now=limit + MICRO)
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.task, alert.agency) == ("SX-06", again, world.agency_a)


def test_the_same_sweep_again_raises_nothing_new(world, promised):
    """Run twice, or with the cases due again, the sweep adds no alert a second time."""
    cases = [accepted(world, promised) for _ in range(2)]
    later = timezone.now() + FAR
    first = sweep(now=later)
    count = Alert.objects.count()
    assert first.alerts == count > 0
    assert sweep(now=later).alerts == 0
    # The engine asks for a look at every change: looked at again, still nothing new.
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(next_check_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        again = sweep(now=later)
    assert (again.cases, again.alerts) == (2, 0)
    assert Alert.objects.count() == count
    # What only a new alert needs (posts, acceptance events) is not read.
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "directory_post" not in read and "cases_caseevent" not in read


def _counted_sweep(now):
    """The sweep's result and its number of queries, with the caches cold."""
    rules_cache_clear()
    calendar_cache_clear()
    with CaptureQueriesContext(connection) as queries:
        result = sweep(now=now)
    return result, len(queries.captured_queries)


def test_cases_not_due_are_not_read(world, promised):
    """The same queries whether one or twenty open cases wait for a later line."""
    accepted(world, promised)
    sweep(now=timezone.now())
    one, with_one = _counted_sweep(timezone.now())
    for _ in range(19):
        accepted(world, promised)
    sweep(now=timezone.now())
    assert Case.objects.filter(status=Case.Status.IN_PROGRESS,
                               next_check_at__gt=timezone.now()).count() == 20
    twenty, with_twenty = _counted_sweep(timezone.now())
    assert (one.cases, twenty.cases) == (0, 0)
    assert with_one == with_twenty


def test_a_closed_case_is_never_alerted(world, promised, django_capture_on_commit_callbacks):
    """Decided and delivered: nothing to watch; even looked at, a closed case raises nothing."""
    case = accepted(world, promised)
    complete(world.user("a", Role.REVIEWER), case, "review")
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert (case.status, case.next_check_at) == (Case.Status.CLOSED, None)
    assert sweep(now=timezone.now() + FAR).cases == 0
    Case.objects.filter(pk=case.pk).update(next_check_at=timezone.now())
    assert sweep(now=timezone.now() + FAR).alerts == 0
    assert codes() == []
    assert reload(case).next_check_at is None


def test_a_withdrawn_case_is_never_alerted(world, promised):
    """Withdrawn while in review: its deadlines pass without an alert."""
    case = accepted(world, promised)
    case_services.case_withdraw(actor=world.citizen, case=case, reason="不再需要")
    Case.objects.filter(pk=case.pk).update(next_check_at=timezone.now())
    assert sweep(now=timezone.now() + FAR).alerts == 0
    assert codes() == []


def test_a_suspended_case_gets_cx05_only_after_the_pause_limit(world, promised):
    """Paused: no deadline alert while the clock is stopped; CX-05 once 30 working days pass."""
    case = accepted(world, promised)
    case_services.case_suspend(actor=world.user("a", Role.REVIEWER), case=case,
                               reason="expert_review", note="专家评审")
    case = reload(case)
    limit = end_of(workday(case.paused_since, 30))
    assert sweep(now=timezone.now()).alerts == 0
    assert reload(case).next_check_at == limit
    # Looked at just before the limit (long past both deadlines): nothing yet.
    Case.objects.filter(pk=case.pk).update(next_check_at=limit - 2 * MICRO)
    assert limit - MICRO > case.statutory_due
    assert sweep(now=limit - MICRO).alerts == 0
    assert codes() == []
    assert sweep(now=limit + MICRO).alerts == 1
    alert = _only(case, "CX-05")
    assert (alert.level, alert.agency, alert.post) == (Level.YELLOW, world.agency_a,
                                                       world.posts["a"][Role.REVIEWER])
    assert reload(case).next_check_at is None


def test_an_extension_moves_the_statutory_line(world, promised, lines_only):
    """Extended by ten working days: not overdue at the old statutory deadline, at the new one."""
    lines_only("SX-03")
    case = accepted(world, promised)
    old = case.statutory_due
    case_services.case_extend(actor=world.user("a", Role.AGENCY_HEAD), case=case, workdays=10,
                              reason="情况复杂")
    case = reload(case)
    assert case.statutory_due == end_of(workday(case, 30))
    sweep(now=old + MICRO)
    assert codes() == []
    sweep(now=case.statutory_due + MICRO)
    assert codes() == ["SX-03"]


def test_a_timeliness_rule_change_replans_open_cases(world, promised, officer, lines_only):
    """SX-01 at half the limit: open cases are due again and turn yellow at day 5."""
    lines_only("SX-01")
    case = accepted(world, promised)
    sweep(now=timezone.now())
    assert reload(case).next_check_at == start_of(workday(case, 8))
    services.rule_update(actor=officer, rule=Rule.objects.get(code="SX-01"),
                         changes={"params": {"share": 0.5}}, reason="提前预警")
    assert reload(case).next_check_at <= timezone.now()
    sweep(now=timezone.now())
    half = start_of(workday(case, 5))
    assert reload(case).next_check_at == half
    sweep(now=half)
    alert = _only(case, "SX-01")
    assert (alert.rule_version, alert.raised_at) == (2, half)


def test_other_rule_changes_leave_the_plan_alone(world, promised, officer):
    """A fee rule's change moves no case's next look."""
    case = accepted(world, promised)
    sweep(now=timezone.now())
    planned = reload(case).next_check_at
    services.rule_update(actor=officer, rule=Rule.objects.get(code="SF-02"),
                         changes={"level": "yellow"}, reason="调整级别")
    assert reload(case).next_check_at == planned


def test_a_pause_limit_change_replans_open_cases_too(world, promised, officer):
    """CX-05 is a procedure rule, but the sweep applies it: its change re-plans."""
    case = accepted(world, promised)
    sweep(now=timezone.now())
    assert reload(case).next_check_at > timezone.now()
    services.rule_update(actor=officer, rule=Rule.objects.get(code="CX-05"),
                         changes={"params": {"workdays": 20}}, reason="缩短暂停上限")
    assert reload(case).next_check_at <= timezone.now()


def test_a_threshold_change_does_not_raise_a_crossed_line_again(world, promised, officer,
                                                                lines_only):
    """A case already yellow stays with one SX-01 when the yellow point moves earlier."""
    lines_only("SX-01")
    case = accepted(world, promised)
    yellow = start_of(workday(case, 8))
    sweep(now=yellow)
    assert codes(case) == ["SX-01"]
    services.rule_update(actor=officer, rule=Rule.objects.get(code="SX-01"),
                         changes={"params": {"share": 0.5}}, reason="提前预警")
    sweep(now=yellow + dt.timedelta(hours=1))
    assert codes(case) == ["SX-01"]


def test_at_the_last_instant_of_a_deadline_nothing_is_overdue_yet(world, promised,
                                                                   lines_only):
    """A limit ends at the end of its last working day: at that instant it has not passed."""
    lines_only("SX-02", "SX-05")
    case = accepted(world, promised)
    review = open_task(case, "review")
    sweep(now=review.due_at)
    assert codes() == []
    sweep(now=review.due_at + MICRO)
    assert codes() == ["SX-05"]
    sweep(now=case.promised_due)
    assert codes() == ["SX-05"]
    sweep(now=case.promised_due + MICRO)
    assert sorted(codes()) == ["SX-02", "SX-05"]


def test_the_sweep_runs_every_minute_as_a_task(world, promised):
    """Embedded scheduler and Celery beat both take it from the registry, every 60 s."""
    from yizhan.core import tasks

    assert {(p.name, p.seconds) for p in tasks.periodic()} >= {("supervision.sweep", 60)}
    case = accepted(world, promised)
    assert tasks.run_now("supervision.sweep") == {"cases": 1, "alerts": 0}
    assert reload(case).next_check_at > timezone.now()


# --- pauses, provisional deadlines and a recounted calendar ---------------------------------


def _accepted_at(world, version, moment, monkeypatch):
    """A case submitted and accepted by the window at ``moment``.

    Submitted then too: accepted more than five working days after receipt,
    its limits would run from the receipt (《行政许可法》第三十二条).
    """
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        case, _code = submitted(world, version)
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    return reload(case)


def test_a_steps_warning_does_not_count_the_pause_as_time_used(world, promised, monkeypatch,
                                                               lines_only):
    """SX-04 warns at 80 % of a step's own limit, paused days not counted, as
    SX-01 does for the case.  A review of 5 working days, paused for 10 from
    its first day: its due is day 15, and the warning day 4 + 10 = 14, not
    day 12 (80 % of the 15 days between its opening and its due)."""
    lines_only("SX-04")
    calendar = calendar_current()
    year = max(y for y in calendar.known_years if y + 1 in calendar.known_years)
    day0 = dt.date(year, 3, 2)
    while not calendar.is_workday(day0):
        day0 += dt.timedelta(days=1)
    case = _accepted_at(world, promised, dt.datetime.combine(day0, dt.time(10), tzinfo=TZ),
                        monkeypatch)
    review = open_task(case, "review")

    def moment(n, hour=10):
        return dt.datetime.combine(workday(case, n), dt.time(hour), tzinfo=TZ)

    reviewer = world.user("a", Role.REVIEWER)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment(1))
        case_services.case_suspend(actor=reviewer, case=reload(case), reason="testing",
                                   note="检测")
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment(11))
        case_services.case_resume(actor=reviewer, case=reload(case))
    review.refresh_from_db()
    assert review.due_at == end_of(workday(case, 15))
    sweep(now=moment(12, hour=9))
    assert codes(case) == []
    assert reload(case).next_check_at == start_of(workday(case, 14))
    sweep(now=start_of(workday(case, 14)))
    assert codes(case) == ["SX-04"]


def test_a_warning_about_a_provisional_deadline_says_so(world, promised, monkeypatch,
                                                        lines_only):
    """Accepted on 24 December of the last year with holiday data, the promised
    deadline is 暂定 on every page: the yellow alert marks its date so, and
    its evidence says ``provisional``."""
    lines_only("SX-01")
    last = max(calendar_current().known_years)
    case = _accepted_at(world, promised, dt.datetime(last, 12, 24, 10, 0, tzinfo=TZ),
                        monkeypatch)
    assert case.promised_provisional is True
    sweep(now=case.promised_due - dt.timedelta(hours=12))
    alert = _only(case, "SX-01")
    day = timezone.localtime(case.promised_due).date().isoformat()
    assert alert.message == f"办件将于 {day}（暂定） 到达承诺期限。"
    assert alert.evidence["provisional"] is True


def test_an_overdue_provisional_step_says_so_and_a_final_one_does_not(world, promised,
                                                                      monkeypatch, lines_only):
    """A review opened on 30 December of the last year with data has a 暂定
    limit: past it, SX-05 marks the date; a review with a final limit not."""
    lines_only("SX-05")
    last = max(calendar_current().known_years)
    case = _accepted_at(world, promised, dt.datetime(last, 12, 30, 10, 0, tzinfo=TZ),
                        monkeypatch)
    review = open_task(case, "review")
    assert review.due_provisional is True
    sweep(now=review.due_at + MICRO)
    alert = _only(case, "SX-05")
    assert "（暂定）" in alert.message and alert.evidence["provisional"] is True
    final = accepted(world, promised)
    sweep(now=open_task(final, "review").due_at + MICRO)
    alert = _only(final, "SX-05")
    assert "暂定" not in alert.message and "provisional" not in alert.evidence


def test_publishing_the_year_clears_the_warning_about_the_old_deadline(
        world, promised, monkeypatch, lines_only, django_capture_on_commit_callbacks):
    """The holidays published move the provisional promised deadline: the
    yellow alert about the old one is cleared by the system, with the reason
    and an audit record, and the sweep raises one for the new deadline.
    One case, one limit, one open warning."""
    from yizhan.audit.models import AuditRecord
    from yizhan.supervision.actions import SupervisionAction
    from yizhan.workdays import services as workdays_services

    lines_only("SX-01")
    notice = "国办发明电〔测试〕1号"
    last = max(calendar_current().known_years)
    case = _accepted_at(world, promised, dt.datetime(last, 12, 24, 10, 0, tzinfo=TZ),
                        monkeypatch)
    sweep(now=case.promised_due - dt.timedelta(hours=12))
    old = _only(case, "SX-01")
    new_year = dt.date(last + 1, 1, 1)
    while new_year.weekday() >= 5:
        new_year += dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=new_year, is_workday=False,
                                           name="元旦", reason=notice)
        workdays_services.calendar_year_publish(actor=world.admin, year=last + 1,
                                                reason=notice)
    case = reload(case)
    assert case.promised_provisional is False
    old.refresh_from_db()
    assert (old.status, old.cleared_by, old.cleared_reason) == (
        Alert.Status.CLEARED, None, services.RECOUNTED)
    record = AuditRecord.objects.get(action=SupervisionAction.ALERT_CLEARED)
    assert (record.object_id, record.actor_id, record.actor_label, record.reason) == (
        str(old.pk), None, "system", "期限按公布的节假日重算，原期限的预警不再适用。")
    sweep(now=case.promised_due - dt.timedelta(hours=12))
    open_warnings = Alert.objects.filter(case_id=case.pk, rule__code="SX-01",
                                         status=Alert.Status.OPEN)
    assert open_warnings.count() == 1
    assert "暂定" not in open_warnings.get().message


def test_a_recount_that_moves_no_deadline_clears_nothing(
        world, promised, monkeypatch, lines_only, django_capture_on_commit_callbacks):
    """A day edited outside the case's limits leaves its alerts as they are."""
    from yizhan.workdays import services as workdays_services

    lines_only("SX-01")
    case = accepted(world, promised)
    sweep(now=case.promised_due - dt.timedelta(hours=12))
    alert = _only(case, "SX-01")
    day = timezone.localtime(case.statutory_due).date() + dt.timedelta(days=60)
    while not calendar_current().is_workday(day):
        day += dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=day, is_workday=False,
                                           name="调休", reason="国办发明电〔测试〕2号")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def _at_time(monkeypatch, moment, call):
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        return call()


def test_one_lapse_is_one_alert_after_a_lawful_pause(world, promised, lines_only, monkeypatch):
    """Accepted on Monday 2 March 2026 (promised 10 working days, its review 5).
    On day 11 the case is a day past its promised deadline and its review six
    days past its own: the sweep raises SX-02 and SX-05.  The reviewer then
    stops the clock for testing (检验检测, 第四十五条) until day 15: both limits
    move on by the four working days, and the alerts on the old ones are
    cleared by the system (as after a recount), saying why.  The case is
    still a day late: the sweep raises SX-02 and SX-05 again on the new
    deadlines, one alert for each lapse (the agency's score loses each
    deduction once)."""
    from yizhan.audit.models import AuditRecord
    from yizhan.supervision.actions import SupervisionAction

    lines_only("SX-02", "SX-05")
    reviewer = world.user("a", Role.REVIEWER)
    case = _accepted_at(world, promised, dt.datetime(2026, 3, 2, 10, tzinfo=TZ), monkeypatch)
    day11 = start_of(workday(case, 11)) + dt.timedelta(hours=9)
    sweep(now=day11)
    old = list(Alert.objects.filter(case_id=case.pk).order_by("rule__code"))
    assert [alert.rule.code for alert in old] == ["SX-02", "SX-05"]
    _at_time(monkeypatch, day11, lambda: case_services.case_suspend(
        actor=reviewer, case=reload(case), reason="testing", note="送检"))
    day15 = start_of(workday(case, 15)) + dt.timedelta(hours=9)
    _at_time(monkeypatch, day15, lambda: case_services.case_resume(actor=reviewer,
                                                                   case=reload(case)))
    assert reload(case).paused_workdays == 4
    for alert in old:
        alert.refresh_from_db()
        assert (alert.status, alert.cleared_by, alert.cleared_reason) == (
            Alert.Status.CLEARED, None, services.PAUSE_GIVEN_BACK)
    assert set(AuditRecord.objects.filter(action=SupervisionAction.ALERT_CLEARED)
               .values_list("actor_label", "reason")) == {
        ("system", "暂停计时期间不计入办理期限，期限已顺延，原期限的预警不再适用。")}
    sweep(now=day15 + dt.timedelta(hours=1))
    open_alerts = list(Alert.objects.filter(case_id=case.pk, status=Alert.Status.OPEN)
                       .values_list("rule__code", "message"))
    assert sorted(code for code, _message in open_alerts) == ["SX-02", "SX-05"], open_alerts


def test_a_warning_about_the_old_promised_deadline_goes_with_the_pause(
        world, promised, lines_only, monkeypatch):
    """The yellow point (SX-01, day 8) says 办件将于 16 March 到达承诺期限; the clock
    then stands still for five working days and the promised deadline is 23
    March.  The warning about 16 March is cleared when the clock runs again,
    and the one open warning names the deadline that stands."""
    lines_only("SX-01")
    reviewer = world.user("a", Role.REVIEWER)
    case = _accepted_at(world, promised, dt.datetime(2026, 3, 2, 10, tzinfo=TZ), monkeypatch)
    day8 = start_of(workday(case, 8))
    sweep(now=day8)
    _at_time(monkeypatch, day8 + dt.timedelta(hours=9), lambda: case_services.case_suspend(
        actor=reviewer, case=reload(case), reason="testing", note="送检"))
    _at_time(monkeypatch, start_of(workday(case, 13)) + dt.timedelta(hours=9),
             lambda: case_services.case_resume(actor=reviewer, case=reload(case)))
    case = reload(case)
    sweep(now=start_of(workday(case, 16)))
    open_alerts = list(Alert.objects.filter(case_id=case.pk, status=Alert.Status.OPEN)
                       .values_list("message", flat=True))
    assert open_alerts == ["办件将于 2026-03-23 到达承诺期限。"], open_alerts


# --- SX-06: the lower level's twenty days (《行政许可法》第四十三条) -----------------------------


def _morning_of_day(case, n: int) -> dt.datetime:
    """9:00 on the ``n``-th working day of ``case``'s clock."""
    return start_of(workday(case, n)) + dt.timedelta(hours=9)


def _upper_case(world, monkeypatch):
    """An 上级初审 case of A accepted on Monday 2 March 2026, its first review
    open at A; returns ``(case, {role: user} of the provincial 示范省厅)``."""
    _upper, upper_staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅")
    case = _accepted_at(world, version, dt.datetime(2026, 3, 2, 10, tzinfo=TZ), monkeypatch)
    return case, upper_staff


def test_time_paused_for_inspection_is_not_counted_in_the_twenty_days(
        world, lines_only, monkeypatch):
    """第四十五条: the time of 现场勘验/检测 is not counted in the limits of 第三节
    (第四十二条 to 第四十五条), 第四十三条's twenty days included.  The lower
    agency stops the clock for ten working days during its first review: it
    has until the end of day 30 to send the case up, and no SX-06 stands on
    day 21."""
    lines_only("SX-06")
    case, _upper_staff = _upper_case(world, monkeypatch)
    reviewer = world.user("a", Role.REVIEWER)
    day = partial(_morning_of_day, case)

    _at_time(monkeypatch, day(2), lambda: case_services.case_suspend(
        actor=reviewer, case=reload(case), reason="inspection", note="现场勘验"))
    _at_time(monkeypatch, day(12), lambda: case_services.case_resume(actor=reviewer,
                                                                     case=reload(case)))
    assert reload(case).paused_workdays == 10
    sweep(now=end_of(workday(case, 20)) + MICRO)
    sweep(now=day(21))
    assert codes(case) == [], "SX-06 raised on day 21 though ten of the days were paused"
    due = end_of(workday(case, 30))
    assert reload(case).next_check_at == due + MICRO
    # At the last instant of day 30 the days have not run out; past it they have.
    sweep(now=due)
    assert codes(case) == []
    sweep(now=due + MICRO)
    alert = _only(case, "SX-06")
    assert alert.evidence["due"][:10] == due.date().isoformat()


def test_one_late_transfer_is_one_alert_through_a_return(world, lines_only, monkeypatch):
    """The lower agency sends the case up on day 22, two days late: one SX-06,
    on its first review.  The upper agency returns it for a missing record;
    the new first review counts from the same acceptance, so it is the same
    lapse of the same limit, and no second yellow card (the agency's score
    would lose the deduction twice)."""
    lines_only("SX-06")
    case, upper_staff = _upper_case(world, monkeypatch)
    first = open_task(case, "first_review")
    day = partial(_morning_of_day, case)

    sweep(now=day(21))
    assert list(Alert.objects.filter(case_id=case.pk).values_list("task_id", "agency_id")) \
        == [(first.pk, world.agency_a.pk)]
    _at_time(monkeypatch, day(22), lambda: complete(world.user("a", Role.REVIEWER), case,
                                                    "first_review", opinion="同意上报"))
    _at_time(monkeypatch, day(23), lambda: case_services.task_return(
        actor=upper_staff[Role.REVIEWER], task=open_task(case),
        opinion="现场核查记录不全，请补充后重新上报"))
    assert open_task(case, "first_review").pk != first.pk
    sweep(now=day(23) + dt.timedelta(hours=1))
    found = list(Alert.objects.filter(case_id=case.pk).values_list("rule__code", "task_id"))
    assert found == [("SX-06", first.pk)], found


def test_an_sx06_alert_stored_under_its_step_s_key_is_found_after_the_migration(
        world, lines_only, monkeypatch):
    """An SX-06 alert raised before its key named the case alone carries its
    first review's id: migration 0010 gives the case's earliest one the key
    the sweep now makes, so the first review opened again after a return
    raises no second alert."""
    from importlib import import_module

    from django.apps import apps

    from yizhan.supervision.detection import line_key

    migration = import_module("yizhan.supervision.migrations.0010_transfer_late_keyed_by_case")
    lines_only("SX-06")
    case, upper_staff = _upper_case(world, monkeypatch)
    first = open_task(case, "first_review")
    day = partial(_morning_of_day, case)

    sweep(now=day(21))
    alert = _only(case, "SX-06")
    stored = line_key("SX-06", case.pk, first.pk, case.accepted_at)
    Alert.objects.filter(pk=alert.pk).update(key=stored)
    migration.rekey(apps, None)
    alert.refresh_from_db()
    assert alert.key == line_key("SX-06", case.pk, None, case.accepted_at)
    _at_time(monkeypatch, day(22), lambda: complete(world.user("a", Role.REVIEWER), case,
                                                    "first_review", opinion="同意上报"))
    _at_time(monkeypatch, day(23), lambda: case_services.task_return(
        actor=upper_staff[Role.REVIEWER], task=open_task(case),
        opinion="现场核查记录不全，请补充后重新上报"))
    sweep(now=day(23) + dt.timedelta(hours=1))
    assert list(Alert.objects.filter(case_id=case.pk).values_list("pk", flat=True)) \
        == [alert.pk]
