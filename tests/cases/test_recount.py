"""A calendar change whose recount was lost is made up for.

The recount a calendar change asks for runs after the change commits, in
the background: a worker killed in between (a restart, a deploy) loses it.
The periodic job ``cases.catch_up_deadlines`` (and ``yizhan deadlines
recount``) counts every deadline again when the calendar has moved past
the version the last full recount ran on.
"""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.cases.helpers import accepted, nothing_written, reload
from yizhan.audit.models import AuditRecord
from yizhan.cases import clock
from yizhan.cases import tasks as case_tasks
from yizhan.cases.actions import CasesAction
from yizhan.core import tasks
from yizhan.workdays import services as workdays_services
from yizhan.workdays.selectors import calendar_build, calendar_cache_clear, calendar_version

NOTICE = "国办发明电〔2026〕1号"


@pytest.fixture
def lost(monkeypatch):
    """Background work handed over from now on is lost, as with a worker killed
    before it ran; ``lost.back()`` brings the platform back (work runs again)."""
    monkeypatch.setattr(tasks, "EAGER", False)
    monkeypatch.setattr(tasks, "_embedded", type("Killed", (), {"submit": lambda *a: None})())

    class Lost:
        @staticmethod
        def back():
            monkeypatch.setattr(tasks, "EAGER", True)

    return Lost


def _holiday_on_the_promised_deadline(world, case):
    day = timezone.localtime(case.promised_due).date()
    workdays_services.calendar_day_set(actor=world.admin, date=day, is_workday=False,
                                       name="调休", reason=NOTICE)
    calendar_cache_clear()
    return day


def _counted_now(case, version):
    return clock.deadlines(calendar=calendar_build(), accepted_at=case.accepted_at,
                           statutory_limit=version.statutory_limit,
                           promised_limit=version.promised_limit)


def test_a_calendar_change_whose_recount_was_lost_is_recounted_later(world, promised, lost):
    """The holiday change commits; the process that would run the recount dies before
    it does.  When the platform is back, its periodic jobs count the deadline again."""
    case_tasks.deadlines_catch_up()             # the deadlines are counted on this calendar
    case = accepted(world, promised)
    day = _holiday_on_the_promised_deadline(world, case)
    assert reload(case).promised_due == case.promised_due    # the recount was lost
    lost.back()
    for periodic in tasks.periodic():
        tasks.run_now(periodic.name)
    case = reload(case)
    assert case.promised_due == _counted_now(case, promised).promised.at, (
        f"{day} is now a holiday, but the promised deadline still counts it")
    records = AuditRecord.objects.filter(action=CasesAction.DEADLINES_RECOMPUTED,
                                         object_id=str(case.pk))
    # Recounted over every year (which a lost run was for is not known): the
    # record says the calendar moved, not "calendar None".
    assert [record.reason for record in records] == ["calendar"]


def test_the_catch_up_is_periodic_and_idempotent(world, promised):
    """Registered with the scheduler; once the deadlines are counted on the current
    calendar, running it again writes nothing."""
    assert "cases.catch_up_deadlines" in {p.name for p in tasks.periodic()}
    accepted(world, promised)
    tasks.run_now("cases.catch_up_deadlines")
    with nothing_written():
        assert tasks.run_now("cases.catch_up_deadlines") == {
            "recounted": False, "cases": 0, "calendar": calendar_version()}


def test_after_a_change_recounted_as_usual_the_catch_up_counts_nothing(
        world, promised, django_capture_on_commit_callbacks):
    """The change's own recount ran (tasks run at commit) and recorded the calendar
    it counted on: the periodic run finds it current and counts nothing again."""
    case_tasks.deadlines_catch_up()
    case = accepted(world, promised)
    with django_capture_on_commit_callbacks(execute=True):
        _holiday_on_the_promised_deadline(world, case)
    moved = reload(case).promised_due
    assert moved != case.promised_due
    records = AuditRecord.objects.count()
    done = case_tasks.deadlines_catch_up()
    assert (done.ran, done.version) == (False, calendar_version())
    assert AuditRecord.objects.count() == records
    assert reload(case).promised_due == moved


def _command(*args) -> str:
    out = io.StringIO()
    call_command("deadlines", *args, stdout=out)
    return out.getvalue()


def test_the_operator_makes_up_a_lost_recount_by_hand(world, promised, lost):
    """``yizhan deadlines recount`` does what the periodic job does, at once;
    ``status`` says whether the deadlines are behind the calendar."""
    case_tasks.deadlines_catch_up()
    case = accepted(world, promised)
    _holiday_on_the_promised_deadline(world, case)
    version = calendar_version()
    assert f"calendar version {version}" in _command("status")
    assert "behind" in _command("status")
    output = _command("recount")
    assert "recounted" in output and "1 cases moved" in output
    case = reload(case)
    assert case.promised_due == _counted_now(case, promised).promised.at
    assert "up to date" in _command("status")
    assert "up to date" in _command("recount")
    assert "0 cases moved" in _command("recount", "--force")
