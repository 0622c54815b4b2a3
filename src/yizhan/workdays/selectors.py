"""Reads of the workdays app: the current calendar, cached per process.

The calendar is read on almost every request that shows a case (deadlines,
days remaining) and changes a few times a year, so each process keeps one
built ``WorkdayCalendar`` and only asks the database whether it is still
current.

Why a version row checked at most once a second: the Django cache is
per-process in the default configuration (local memory), so it cannot
carry an invalidation from the process that made the change to the
others; the database can.  Every service that changes the calendar bumps
``CalendarVersion`` in its own transaction.  A process compares that
number with the one its calendar was built from, a primary-key read of
one row, and does so at most once per ``CHECK_SECONDS`` however many
deadlines it computes, so a page listing 100 cases costs at most one query
(none most of the time), not one per case.  The price is that another
process may use the old calendar for up to a second after a change
commits, which is harmless for limits counted in days.  The process that
made the change drops its copy as soon as the change commits.  The check
compares for inequality, not "newer", so a version that went back (a
rolled-back test, a restored backup) also rebuilds.
"""

import datetime as dt
import threading
import time

from django.db import connection
from django.db.models import Count, Q, QuerySet

from yizhan.workdays.arithmetic import WorkdayCalendar
from yizhan.workdays.models import CalendarCheckpoint, CalendarDay, CalendarVersion, CalendarYear

CHECK_SECONDS = 1.0

# Replaced by tests to move time forward without sleeping.
_monotonic = time.monotonic

_lock = threading.Lock()
# (version, calendar) or None; replaced as a whole, never mutated.
_cached: tuple[int, WorkdayCalendar] | None = None
_checked_at = float("-inf")


def calendar_version() -> int:
    """The version number of the stored calendar (0 before any change)."""
    return CalendarVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def calendar_checkpoint(*, follower: str) -> CalendarCheckpoint | None:
    """Which calendar version ``follower``'s work last ran on (None: never)."""
    return CalendarCheckpoint.objects.filter(name=follower).first()


def calendar_build() -> WorkdayCalendar:
    """The calendar as stored now, uncached: two queries."""
    known = CalendarYear.objects.filter(published=True).values_list("year", flat=True)
    exceptions = dict(CalendarDay.objects.values_list("date", "is_workday"))
    return WorkdayCalendar(known_years=list(known), exceptions=exceptions)


def _calendar_of(version: int) -> WorkdayCalendar:
    """This process's calendar, rebuilt unless it was built from ``version``.

    Called with ``_lock`` held.  The version is read before the days, so a
    change committing in between leaves a calendar newer than its number:
    rebuilt again at the next check, never older than it claims.
    """
    global _cached, _checked_at
    if _cached is None or _cached[0] != version:
        _cached = (version, calendar_build())
    _checked_at = _monotonic()
    return _cached[1]


def calendar_current() -> WorkdayCalendar:
    """The current calendar, from this process's cache when still valid."""
    cached = _cached
    if cached is not None and _monotonic() - _checked_at < CHECK_SECONDS:
        return cached[1]
    with _lock:
        cached = _cached
        if cached is not None and _monotonic() - _checked_at < CHECK_SECONDS:
            return cached[1]  # another thread checked while this one waited
        return _calendar_of(calendar_version())


def calendar_held() -> WorkdayCalendar:
    """The current calendar for a step that stores deadlines, held until it commits.

    The version row is read FOR SHARE (on PostgreSQL): a calendar change,
    which updates that row, waits for the step to commit, so the recount
    it asks for afterwards finds the step's deadlines; a step that starts
    while a change is being made waits for it and counts on the new
    calendar.  Without the lock a step counting on the old calendar could
    commit just after the recount looked, and keep a wrong deadline for
    good.  Shared locks do not wait for one another: steps never queue on
    it.  One primary-key read a step (a step reads it once and passes the
    calendar on); on SQLite, whose writers take turns anyway, the cached
    calendar serves.  Django's ORM has no FOR SHARE, hence the SQL.
    """
    if connection.vendor != "postgresql":
        return calendar_current()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM workdays_calendarversion WHERE id = 1 FOR SHARE")
        row = cursor.fetchone()
    version = row[0] if row else 0
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        return _calendar_of(version)


def calendar_cache_clear() -> None:
    """Forget this process's calendar; the next read rebuilds it.

    The services call it when their change commits.  Test suites call it
    between tests, since a rolled-back test leaves no committed change to
    announce.
    """
    global _cached, _checked_at
    with _lock:
        _cached = None
        _checked_at = float("-inf")


def calendar_year_list() -> QuerySet[CalendarYear]:
    """Every stored year with its numbers of days off and days worked."""
    return CalendarYear.objects.select_related("published_by").annotate(
        holiday_count=Count("days", filter=Q(days__is_workday=False)),
        workday_count=Count("days", filter=Q(days__is_workday=True)),
    ).order_by("year")


def calendar_year_get(*, year: int) -> CalendarYear | None:
    return CalendarYear.objects.select_related("published_by").filter(pk=year).first()


def calendar_day_list(*, year: int) -> QuerySet[CalendarDay]:
    return CalendarDay.objects.filter(year_id=year).select_related("changed_by").order_by("date")


def missing_calendar_year(today: dt.date) -> int | None:
    """The year whose holiday data administrators should enter now, if any.

    The current year when it has no published data; from 1 November, next
    year while it has none (the State Council usually announces it in
    October or November).  Reads the cached calendar: no query most of the
    time.
    """
    calendar = calendar_current()
    if not calendar.is_known(today.year):
        return today.year
    if today.month >= 11 and not calendar.is_known(today.year + 1):
        return today.year + 1
    return None


def next_year_missing(today: dt.date) -> bool:
    """True from 1 November while next year has no published holiday data."""
    return today.month >= 11 and not calendar_current().is_known(today.year + 1)
