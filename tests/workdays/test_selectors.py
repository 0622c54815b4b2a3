"""The cached calendar, its invalidation, and the reminder for next year."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from yizhan.directory.roles import Role
from yizhan.workdays import selectors, services
from yizhan.workdays.models import CalendarVersion
from yizhan.workdays.notices import calendar_notice_context
from yizhan.workdays.selectors import (
    calendar_current,
    missing_calendar_year,
    next_year_missing,
)

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTICE = "国办发明电〔2026〕9号"


@pytest.fixture
def clock(monkeypatch):
    """A monotonic clock the test moves by hand."""
    now = [1000.0]
    monkeypatch.setattr(selectors, "_monotonic", lambda: now[0])

    def advance(seconds):
        now[0] += seconds

    return advance


def publish_2027(actor, capture):
    with capture(execute=True):
        services.calendar_day_set(actor=actor, date=D(2027, 1, 1), is_workday=False,
                                  name="元旦", reason=NOTICE)
        services.calendar_year_publish(actor=actor, year=2027, reason=NOTICE)


@pytest.mark.django_db
class TestCalendarCurrent:
    def test_built_once_then_served_without_queries(self, clock, django_assert_num_queries):
        with django_assert_num_queries(3):  # version, years, days
            calendar = calendar_current()
        assert calendar.is_known(2026) and not calendar.is_known(2027)
        with django_assert_num_queries(0):
            assert calendar_current() is calendar

    def test_a_hundred_deadlines_cost_no_query(self, clock, django_assert_num_queries):
        """What a case list does: one calendar for every row, no N+1."""
        calendar_current()
        received = dt.datetime(2026, 9, 1, 9, 0, tzinfo=SHANGHAI)
        with django_assert_num_queries(0):
            deadlines = [calendar_current().deadline(received + dt.timedelta(days=i), 20,
                                                     SHANGHAI) for i in range(100)]
        assert deadlines[0].date == D(2026, 9, 29)

    def test_the_changing_process_sees_its_edit_at_commit(self, world, clock,
                                                          django_capture_on_commit_callbacks):
        before = calendar_current()
        assert before.is_workday(D(2026, 6, 1)) is True
        with django_capture_on_commit_callbacks(execute=True):
            services.calendar_day_set(actor=world.admin, date=D(2026, 6, 1), is_workday=False,
                                      name="示范假日", reason=NOTICE)
        after = calendar_current()  # no time has passed: the commit hook cleared the cache
        assert after is not before
        assert after.is_workday(D(2026, 6, 1)) is False

    def test_other_processes_notice_the_version_within_a_second(
            self, world, clock, django_capture_on_commit_callbacks, django_assert_num_queries):
        """A change committed elsewhere (no commit hook here) is read after the check interval."""
        before = calendar_current()
        with django_capture_on_commit_callbacks(execute=False):  # another process's commit
            services.calendar_day_set(actor=world.admin, date=D(2026, 6, 1), is_workday=False,
                                      name="示范假日", reason=NOTICE)
        with django_assert_num_queries(0):
            assert calendar_current() is before  # trusted for up to a second
        clock(selectors.CHECK_SECONDS + 0.1)
        with django_assert_num_queries(3):
            after = calendar_current()
        assert after.is_workday(D(2026, 6, 1)) is False
        clock(selectors.CHECK_SECONDS + 0.1)
        with django_assert_num_queries(1):  # the version only: unchanged
            assert calendar_current() is after

    def test_a_version_that_went_back_rebuilds_too(self, clock):
        """A restored backup or rolled-back change: rebuilt, not trusted."""
        first = calendar_current()
        CalendarVersion.objects.filter(pk=1).update(version=0)
        clock(selectors.CHECK_SECONDS + 0.1)
        assert calendar_current() is not first


@pytest.mark.django_db
class TestNextYearMissing:
    def test_from_the_first_of_november(self):
        assert next_year_missing(D(2026, 10, 31)) is False
        assert next_year_missing(D(2026, 11, 1)) is True
        assert next_year_missing(D(2026, 12, 31)) is True
        assert next_year_missing(D(2025, 11, 1)) is False  # 2026 is known

    def test_until_next_year_is_published(self, world, django_capture_on_commit_callbacks):
        services.calendar_day_set(actor=world.admin, date=D(2027, 1, 1), is_workday=False,
                                  name="元旦", reason=NOTICE)
        selectors.calendar_cache_clear()
        assert next_year_missing(D(2026, 11, 1)) is True  # entered, not yet published
        publish_2027(world.admin, django_capture_on_commit_callbacks)
        assert next_year_missing(D(2026, 11, 1)) is False

    def test_the_missing_year_includes_the_current_one(self):
        assert missing_calendar_year(D(2026, 10, 31)) is None
        assert missing_calendar_year(D(2026, 11, 1)) == 2027
        assert missing_calendar_year(D(2027, 3, 1)) == 2027
        assert missing_calendar_year(D(2003, 6, 1)) == 2003


@pytest.mark.django_db
class TestNotice:
    def render(self, user, today):
        request = RequestFactory().get("/workbench/")
        request.user = user
        context = calendar_notice_context(request, today=today)
        return context, render_to_string("workdays/calendar_notice.html", context)

    def test_shown_to_calendar_administrators_from_november(self, world):
        context, html = self.render(world.admin, D(2026, 11, 1))
        assert context["workdays_missing_year"] == 2027
        assert "2027 年的节假日安排尚未发布" in html
        assert "/admin/workdays/calendarday/add/" in html
        _context, html = self.render(world.admin, D(2026, 10, 31))
        assert html.strip() == ""

    def test_hidden_from_those_who_cannot_act(self, world):
        for user in (world.user("a", Role.REVIEWER), world.user("a", Role.SYSADMIN)):
            context, html = self.render(user, D(2026, 11, 1))
            assert context["workdays_missing_year"] is None
            assert html.strip() == ""

    def test_the_reminder_starts_on_1_november_beijing_time(self, world, monkeypatch):
        """00:30 on 1 November in Beijing is still 31 October in UTC: the
        reminder already shows (to calendar administrators, not to others)."""
        from django.utils import timezone

        last = max(calendar_current().known_years)
        monkeypatch.setattr(timezone, "now",
                            lambda: dt.datetime(last, 10, 31, 16, 30, tzinfo=dt.UTC))
        request = RequestFactory().get("/workbench/")
        request.user = world.admin
        assert calendar_notice_context(request)["workdays_missing_year"] == last + 1
        request.user = world.user("a", Role.SYSADMIN)
        assert calendar_notice_context(request)["workdays_missing_year"] is None
        request.user = world.admin
        monkeypatch.setattr(timezone, "now",
                            lambda: dt.datetime(last, 10, 31, 15, 30, tzinfo=dt.UTC))
        assert calendar_notice_context(request)["workdays_missing_year"] is None
