"""calendar_day_set and calendar_year_publish: checked, audited, announced after commit."""

import datetime as dt
import importlib
import inspect
import threading
import time

import pytest
from django.db import connection, transaction

from tests.cases.helpers import run_in_thread
from tests.markers import postgres_only
from tests.workdays.writes import nothing_written
from yizhan.accounts.models import User
from yizhan.audit.models import AuditRecord
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory.roles import Role
from yizhan.workdays import services
from yizhan.workdays.actions import WorkdaysAction
from yizhan.workdays.error_codes import WorkdaysErrorCode
from yizhan.workdays.models import CalendarCheckpoint, CalendarDay, CalendarVersion, CalendarYear
from yizhan.workdays.selectors import calendar_checkpoint, calendar_current, calendar_version
from yizhan.workdays.signals import calendar_day_changed, calendar_year_published

D = dt.date
NOTICE = "国办发明电〔2026〕9号"


@pytest.fixture
def signals_received():
    received = []

    def on_published(sender, year, **kwargs):
        received.append(("published", year))

    def on_changed(sender, date, year, published, **kwargs):
        received.append(("changed", date, published))

    calendar_year_published.connect(on_published)
    calendar_day_changed.connect(on_changed)
    yield received
    calendar_year_published.disconnect(on_published)
    calendar_day_changed.disconnect(on_changed)


def enter_2027(actor):
    """Part of the 2027 announcement: 元旦 on Friday 1 January, a worked Saturday."""
    services.calendar_day_set(actor=actor, date=D(2027, 1, 1), is_workday=False, name="元旦",
                              reason=NOTICE)
    services.calendar_day_set(actor=actor, date=D(2027, 2, 20), is_workday=True, name="春节",
                              reason=NOTICE)


def test_every_service_checks_its_permission():
    """Each service calls ``permissions.<its own name>`` first (STYLE §8)."""
    module = importlib.import_module("yizhan.workdays.services")
    permissions = importlib.import_module("yizhan.workdays.permissions")
    names = [name for name, func in inspect.getmembers(module, inspect.isfunction)
             if func.__module__ == module.__name__ and not name.startswith("_")]
    assert sorted(names) == ["calendar_catch_up", "calendar_day_set", "calendar_seed",
                             "calendar_year_publish"]
    for name in names:
        source = inspect.getsource(getattr(module, name))
        assert hasattr(permissions, name) and f"permissions.{name}(" in source, name


@pytest.mark.django_db
class TestCalendarDaySet:
    def test_a_new_year_gets_its_first_day_and_an_audit_record(self, world):
        version = calendar_version()
        day = services.calendar_day_set(actor=world.admin, date=D(2027, 1, 1), is_workday=False,
                                        name=" 元旦 ", reason=NOTICE)
        assert (day.date, day.is_workday, day.name, day.changed_by) == (
            D(2027, 1, 1), False, "元旦", world.admin)
        year = CalendarYear.objects.get(pk=2027)
        assert (year.source, year.published) == ("manual", False)
        record = AuditRecord.objects.get(action=WorkdaysAction.DAY_SET)
        assert (record.actor_label, record.object_type, record.object_id, record.reason) == (
            "root", "workdays.calendarday", "2027-01-01", NOTICE)
        assert record.changes == {"date": "2027-01-01", "is_workday": [True, False],
                                  "name": ["", "元旦"], "year_published": False}
        assert calendar_version() == version + 1

    def test_a_division_sysadmin_corrects_a_published_year(self, world, city_sysadmin,
                                                           django_capture_on_commit_callbacks,
                                                           signals_received):
        """Sunday 20 September 2026 worked -> renamed; the change is announced after commit."""
        with django_capture_on_commit_callbacks() as callbacks:
            day = services.calendar_day_set(actor=city_sysadmin, date=D(2026, 9, 20),
                                            is_workday=True, name="国庆节、中秋节",
                                            reason=NOTICE)
        assert day.name == "国庆节、中秋节"
        assert signals_received == []
        for callback in callbacks:
            callback()
        assert signals_received == [("changed", D(2026, 9, 20), True)]
        record = AuditRecord.objects.get(action=WorkdaysAction.DAY_SET)
        assert record.changes["name"] == ["国庆节", "国庆节、中秋节"]
        assert record.actor_label == city_sysadmin.username

    def test_setting_a_day_back_to_the_rule_removes_the_exception(self, world):
        """National Day 2026 moved: Thursday 1 October made a working day again."""
        assert services.calendar_day_set(actor=world.admin, date=D(2026, 10, 1),
                                         is_workday=True, name="", reason=NOTICE) is None
        assert not CalendarDay.objects.filter(date=D(2026, 10, 1)).exists()
        record = AuditRecord.objects.get(action=WorkdaysAction.DAY_SET)
        assert record.changes["is_workday"] == [False, True]
        assert record.changes["name"] == ["国庆节", ""]

    def test_nothing_changes_when_the_day_is_already_so(self, world):
        with nothing_written():
            day = services.calendar_day_set(actor=world.admin, date=D(2026, 10, 1),
                                            is_workday=False, name="国庆节", reason=NOTICE)
            assert day.name == "国庆节"
            assert services.calendar_day_set(actor=world.admin, date=D(2026, 10, 12),
                                             is_workday=True, name="", reason=NOTICE) is None

    def test_a_day_left_as_the_rule_says_creates_no_year(self, world):
        """Monday 6 March 2028 as a working day: nothing to store, not even the year."""
        with nothing_written():
            assert services.calendar_day_set(actor=world.admin, date=D(2028, 3, 6),
                                             is_workday=True, name="", reason=NOTICE) is None
        assert not CalendarYear.objects.filter(pk=2028).exists()

    @pytest.mark.parametrize("actor_key", ["reviewer", "agency_sysadmin", "citizen", "system"])
    def test_refused_for_anyone_but_calendar_administrators(self, world, actor_key,
                                                            signals_received):
        """An agency's own sysadmin is not enough; nothing is written or sent."""
        actor = {"reviewer": world.user("a", Role.REVIEWER),
                 "agency_sysadmin": world.user("a", Role.SYSADMIN),
                 "citizen": world.citizen, "system": None}[actor_key]
        with nothing_written(), pytest.raises(PermissionDenied):
            services.calendar_day_set(actor=actor, date=D(2027, 1, 1), is_workday=False,
                                      name="元旦", reason=NOTICE)
        assert signals_received == []

    @pytest.mark.parametrize(("kwargs", "field"), [
        ({"reason": "  "}, "reason"),
        ({"name": ""}, "name"),
        ({"name": "节" * 41}, "name"),
        ({"date": dt.datetime(2027, 1, 1, tzinfo=dt.UTC)}, "date"),
        ({"date": D(2101, 1, 1)}, "year"),
        ({"is_workday": None}, "is_workday"),
    ])
    def test_bad_input_is_refused_and_names_the_field(self, world, kwargs, field):
        arguments = {"date": D(2027, 1, 1), "is_workday": False, "name": "元旦",
                     "reason": NOTICE} | kwargs
        with nothing_written(), pytest.raises(InvalidInput) as exc:
            services.calendar_day_set(actor=world.admin, **arguments)
        assert exc.value.fields["field"] == field


@pytest.mark.django_db
class TestCalendarYearPublish:
    def test_publishing_is_audited_and_announced_after_commit_only(
            self, world, django_capture_on_commit_callbacks, signals_received):
        enter_2027(world.admin)
        with django_capture_on_commit_callbacks() as callbacks:
            row = services.calendar_year_publish(actor=world.admin, year=2027, reason=NOTICE)
            assert ("published", 2027) not in signals_received
        assert (row.published, row.published_by) == (True, world.admin)
        assert row.published_at is not None
        record = AuditRecord.objects.get(action=WorkdaysAction.YEAR_PUBLISHED)
        assert (record.object_id, record.reason) == ("2027", NOTICE)
        assert record.changes == {"published": [False, True], "holidays": 1, "workdays": 1}
        for callback in callbacks:
            callback()
        assert signals_received[-1] == ("published", 2027)
        assert calendar_current().is_known(2027)

    def test_a_rolled_back_publication_announces_nothing(
            self, world, django_capture_on_commit_callbacks, signals_received):
        enter_2027(world.admin)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), \
                transaction.atomic():
            services.calendar_year_publish(actor=world.admin, year=2027, reason=NOTICE)
            raise RuntimeError("the surrounding work failed")
        assert ("published", 2027) not in signals_received
        assert CalendarYear.objects.get(pk=2027).published is False

    def test_publishing_a_published_year_changes_nothing(self, world, signals_received,
                                                         django_capture_on_commit_callbacks):
        with nothing_written(), django_capture_on_commit_callbacks(execute=True):
            row = services.calendar_year_publish(actor=world.admin, year=2026, reason=NOTICE)
        assert row.published is True
        assert signals_received == []

    def test_a_year_without_days_off_cannot_be_published(self, world):
        services.calendar_day_set(actor=world.admin, date=D(2027, 2, 20), is_workday=True,
                                  name="春节", reason=NOTICE)
        with nothing_written(), pytest.raises(InvalidInput) as exc:
            services.calendar_year_publish(actor=world.admin, year=2027, reason=NOTICE)
        assert exc.value.code == WorkdaysErrorCode.YEAR_EMPTY
        with nothing_written(), pytest.raises(InvalidInput) as exc:
            services.calendar_year_publish(actor=world.admin, year=2028, reason=NOTICE)
        assert exc.value.code == WorkdaysErrorCode.YEAR_UNKNOWN
        assert "2028" in exc.value.render("zh-hans")

    def test_publishing_needs_a_reason(self, world):
        enter_2027(world.admin)
        with nothing_written(), pytest.raises(InvalidInput):
            services.calendar_year_publish(actor=world.admin, year=2027, reason=" ")

    def test_refused_for_a_reviewer_writing_and_sending_nothing(
            self, world, django_capture_on_commit_callbacks, signals_received):
        enter_2027(world.admin)
        with nothing_written(), django_capture_on_commit_callbacks(execute=True), \
                pytest.raises(PermissionDenied):
            services.calendar_year_publish(actor=world.user("a", Role.REVIEWER), year=2027,
                                           reason=NOTICE)
        assert signals_received == []
        assert CalendarYear.objects.get(pk=2027).published is False


@pytest.mark.django_db
class TestCatchUp:
    """calendar_catch_up: work that must follow every change runs when the calendar moved."""

    FOLLOWER = "tests.follower"

    def _work(self):
        runs = []

        def work():
            runs.append(calendar_version())
            return len(runs)

        return runs, work

    def test_runs_once_per_change_and_records_the_version(self, world):
        runs, work = self._work()
        first = services.calendar_catch_up(follower=self.FOLLOWER, work=work)
        assert (first.before, first.ran, first.result) == (0, True, 1)
        assert first.version == calendar_version()
        mark = calendar_checkpoint(follower=self.FOLLOWER)
        assert (mark.version, mark.caught_up_at is not None) == (first.version, True)
        with nothing_written():
            again = services.calendar_catch_up(follower=self.FOLLOWER, work=work)
        assert (again.ran, again.result, len(runs)) == (False, None, 1)
        enter_2027(world.admin)
        later = services.calendar_catch_up(follower=self.FOLLOWER, work=work)
        assert (later.before, later.version, later.ran) == (first.version,
                                                            calendar_version(), True)
        assert runs == [first.version, later.version]

    def test_force_runs_without_a_change(self, world):
        runs, work = self._work()
        services.calendar_catch_up(follower=self.FOLLOWER, work=work)
        assert services.calendar_catch_up(follower=self.FOLLOWER, work=work, force=True).ran
        assert len(runs) == 2

    def test_a_change_during_the_work_is_caught_up_with_next_time(self, world):
        """The version is read before the work: a change committing meanwhile is not
        marked done unseen."""
        before = calendar_version()

        def work():
            CalendarVersion.objects.filter(pk=1).update(version=before + 1)

        done = services.calendar_catch_up(follower=self.FOLLOWER, work=work)
        assert done.version == before
        assert calendar_checkpoint(follower=self.FOLLOWER).version == before
        assert services.calendar_catch_up(follower=self.FOLLOWER, work=lambda: None).ran

    def test_failed_work_records_nothing(self, world):
        def work():
            raise RuntimeError("the worker died")

        with pytest.raises(RuntimeError):
            services.calendar_catch_up(follower=self.FOLLOWER, work=work)
        assert calendar_checkpoint(follower=self.FOLLOWER) is None
        assert services.calendar_catch_up(follower=self.FOLLOWER, work=lambda: None).ran

    def test_followers_are_apart(self, world):
        services.calendar_catch_up(follower=self.FOLLOWER, work=lambda: None)
        assert services.calendar_catch_up(follower="tests.other", work=lambda: None).ran

    def test_system_work_only(self, world):
        runs, work = self._work()
        with nothing_written(), pytest.raises(PermissionDenied):
            services.calendar_catch_up(actor=world.admin, follower=self.FOLLOWER, work=work)
        assert runs == []
        assert not CalendarCheckpoint.objects.exists()


def _waiting() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


@postgres_only
def test_two_nodes_catching_up_at_once_run_the_work_once(transactional_db):
    """Two schedulers start the periodic job together: the second waits for the
    first's row (even the row's creation), then finds the calendar caught up with."""
    CalendarVersion.objects.update_or_create(pk=1, defaults={"version": 7})
    started, go = threading.Event(), threading.Event()
    runs = []

    def slow():
        runs.append("first")
        started.set()
        go.wait(timeout=30)

    first = run_in_thread(lambda: services.calendar_catch_up(follower="t", work=slow))
    assert started.wait(timeout=30)
    second = run_in_thread(lambda: services.calendar_catch_up(
        follower="t", work=lambda: runs.append("second")))
    deadline = time.monotonic() + 20
    while _waiting() < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    go.set()
    for thread, _box in (first, second):
        thread.join(timeout=60)
    assert runs == ["first"]
    assert (first[1]["result"].ran, second[1]["result"].ran) == (True, False)
    assert calendar_checkpoint(follower="t").version == 7


# --- two calendar administrators at once ----------------------------------------------

NOTICE_2027 = "国办发明电〔2026〕9号"


def _someone_waits_for_a_row(seconds=5.0) -> bool:
    """Whether a session of this database waits for a lock (within ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # The statistics views keep their first snapshot for the transaction.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


@postgres_only
def test_publishing_a_year_while_a_colleague_enters_one_of_its_days_fails_neither(
        transactional_db, world, monkeypatch):
    """One administrator publishes 2027 while another enters a day of 2027 (a
    worked Saturday of 春节): both change the calendar and take turns, each
    taking the version row first.  Locking the year's row and then the
    version row in one, the other way round in the other, deadlocked (one
    aborted by PostgreSQL: a 500 on the admin page)."""
    CalendarVersion.objects.update_or_create(pk=1, defaults={"version": 7})
    services.calendar_day_set(actor=world.admin, date=D(2027, 1, 1), is_workday=False,
                              name="元旦", reason=NOTICE_2027)
    real_bump = services._bump_version
    year_locked, version_taken = threading.Event(), threading.Event()

    def bump():
        if threading.current_thread().name == "publish":
            # The publication has locked what it locks before its write; the
            # colleague either takes the version row now or waits for it.
            year_locked.set()
            if not version_taken.is_set():
                _someone_waits_for_a_row()
            real_bump()
        else:
            year_locked.wait(timeout=5)
            real_bump()
            version_taken.set()

    monkeypatch.setattr(services, "_bump_version", bump)
    admin = User.objects.get(pk=world.admin.pk)
    publish = run_in_thread(lambda: services.calendar_year_publish(
        actor=admin, year=2027, reason=NOTICE_2027), name="publish")
    assert year_locked.wait(timeout=30)
    enter = run_in_thread(lambda: services.calendar_day_set(
        actor=admin, date=D(2027, 2, 20), is_workday=True, name="春节",
        reason=NOTICE_2027), name="enter")
    for thread, _box in (publish, enter):
        thread.join(timeout=60)
    assert isinstance(publish[1]["result"], CalendarYear), publish[1]["result"]
    assert isinstance(enter[1]["result"], CalendarDay), enter[1]["result"]
    assert CalendarYear.objects.get(pk=2027).published is True
    assert CalendarDay.objects.filter(date=D(2027, 2, 20), is_workday=True).exists()


@postgres_only
def test_two_administrators_entering_the_same_holiday_at_once_both_succeed(
        transactional_db, world, monkeypatch):
    """Two administrators both enter 元旦 2027 from the State Council's notice at
    the same moment.  The second waits for the version row before it reads the
    day, and then finds it already so; read before, it found no row and
    inserted it again (an IntegrityError: a 500)."""
    # As after the seeding migration (a transactional test before may have emptied it).
    CalendarVersion.objects.update_or_create(pk=1, defaults={"version": 7})
    real_bump = services._bump_version
    arrived = []

    def bump():
        # Before writing, each waits until the other has read the day too, or
        # waits for a lock (as the second does, before it reads).
        arrived.append(threading.current_thread().name)
        deadline = time.monotonic() + 5
        while len(arrived) < 2 and time.monotonic() < deadline:
            if _someone_waits_for_a_row(seconds=0.05):
                break
        real_bump()

    monkeypatch.setattr(services, "_bump_version", bump)
    admin = User.objects.get(pk=world.admin.pk)

    def enter():
        return services.calendar_day_set(actor=admin, date=D(2027, 1, 1), is_workday=False,
                                         name="元旦", reason=NOTICE_2027)

    first = run_in_thread(enter, name="first")
    second = run_in_thread(enter, name="second")
    for thread, _box in (first, second):
        thread.join(timeout=60)
    results = [first[1]["result"], second[1]["result"]]
    assert all(isinstance(r, CalendarDay) for r in results), results
    assert CalendarDay.objects.filter(date=D(2027, 1, 1)).count() == 1
    assert AuditRecord.objects.filter(action=WorkdaysAction.DAY_SET).count() == 1
    assert arrived in (["first"], ["second"])
