"""State changes of the holiday calendar.

Each function checks permission first, validates, writes, appends the
audit record and bumps the calendar's version in one transaction.  After
commit it drops this process's cached calendar and sends the app's
signals (``workdays.signals``) so the case engine can recompute deadlines.
``calendar_catch_up`` is the one that changes no calendar data: it makes
up for such work lost after commit, and records how far it got.  Nothing
else writes the calendar's tables (the seeding migration aside).
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.accounts.models import person_of
from yizhan.audit.services import audit_append
from yizhan.core.errors import InvalidInput
from yizhan.core.permissions import require
from yizhan.workdays import permissions, source
from yizhan.workdays.actions import WorkdaysAction
from yizhan.workdays.error_codes import WorkdaysErrorCode
from yizhan.workdays.models import CalendarCheckpoint, CalendarDay, CalendarVersion, CalendarYear
from yizhan.workdays.selectors import calendar_cache_clear, calendar_version
from yizhan.workdays.signals import calendar_day_changed, calendar_year_published

log = logging.getLogger(__name__)

# Years the platform accepts data for: generous, but a typo such as 20266
# or 1026 is refused instead of creating a year nobody meant.
MIN_YEAR = 1990
MAX_YEAR = 2100
NAME_MAX_LENGTH = 40


@dataclass
class SeedReport:
    """What ``calendar_seed`` did, year by year."""

    created: list[int] = field(default_factory=list)
    # Years already stored; seeding never overwrites them.
    kept: list[int] = field(default_factory=list)
    # Kept years whose stored exceptions differ from the package's.
    differing: list[int] = field(default_factory=list)


def _check_year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(_("年度 %(year)s 超出可维护的范围（%(low)s–%(high)s）。"),
                           code=WorkdaysErrorCode.YEAR_OUT_OF_RANGE, field="year",
                           year=year, low=MIN_YEAR, high=MAX_YEAR)
    return year


def _bump_version() -> None:
    """Mark the calendar changed, for every process (see ``selectors``).

    Called before the change's other writes: updating the version row
    waits for the steps that hold it FOR SHARE while they count deadlines
    (``selectors.calendar_held``).  Taken later, after the change's audit
    record had locked a chain head, a step waiting for that head while
    holding the row deadlocked with it.
    """
    now = timezone.now()
    if not CalendarVersion.objects.filter(pk=1).update(version=F("version") + 1,
                                                       changed_at=now):
        CalendarVersion.objects.create(pk=1, version=1, changed_at=now)
    transaction.on_commit(calendar_cache_clear)


def _lock_calendar() -> None:
    """Take the calendar's version row FOR UPDATE: the first lock of every change.

    Every change of the calendar takes it before it reads or locks a day
    or a year, so two changes take turns from their first read: they never
    lock those rows in opposite orders (a deadlock), and the second reads
    what the first wrote (the same day entered twice at once is found
    already so, not inserted twice).  Like ``_bump_version``'s update, it
    waits for the steps holding the row FOR SHARE; a change that finds
    nothing to do releases it without bumping the version.
    """
    list(CalendarVersion.objects.select_for_update().filter(pk=1).values_list("pk", flat=True))


def _send_on_commit(signal, **kwargs) -> None:
    def send():
        for receiver, result in signal.send_robust(sender=CalendarYear, **kwargs):
            if isinstance(result, Exception):
                log.error("receiver %r of a workdays signal failed", receiver,
                          exc_info=(type(result), result, result.__traceback__))

    transaction.on_commit(send)


@transaction.atomic
def calendar_day_set(*, actor, date: dt.date, is_workday: bool, name: str,
                     reason: str) -> CalendarDay | None:
    """Make ``date`` a working day or a day off, named after its holiday.

    A weekday off or a weekend day worked is stored as an exception (and
    the year's row is created, unpublished, if the year is new).  Setting a
    day back to what the Monday-to-Friday rule says removes the exception;
    the answer is then None.  A day already as asked changes nothing.
    """
    require(permissions.calendar_day_set(actor), action="calendar_day_set")
    if isinstance(date, dt.datetime) or not isinstance(date, dt.date):
        raise InvalidInput(_("日期无效。"), field="date")
    _check_year(date.year)
    if not isinstance(is_workday, bool):
        raise InvalidInput(_("请说明该日是否上班。"), field="is_workday")
    name = (name or "").strip()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("调整节假日须说明依据（如国务院办公厅通知文号）。"), field="reason")
    is_exception = is_workday != (date.weekday() < 5)
    if is_exception and not name:
        raise InvalidInput(_("请填写节日名称。"), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(_("节日名称不能超过 %(limit)s 个字符。"), field="name",
                           limit=NAME_MAX_LENGTH)

    _lock_calendar()
    day = CalendarDay.objects.select_for_update().filter(date=date).first()
    old = (day.is_workday, day.name) if day else (date.weekday() < 5, "")
    new = (is_workday, name if is_exception else "")
    if old == new:
        return day
    _bump_version()
    now = timezone.now()
    # Locked (after the version row, as by every change) so a publication of
    # the same year waits for this change.
    year, _created = CalendarYear.objects.select_for_update().get_or_create(
        year=date.year,
        defaults={"source": CalendarYear.Source.MANUAL, "published": False, "created_at": now},
    )
    if not is_exception:
        day.delete()
        day = None
    elif day is None:
        day = CalendarDay.objects.create(date=date, year=year, is_workday=is_workday, name=name,
                                         changed_at=now, changed_by=person_of(actor))
    else:
        day.is_workday, day.name = is_workday, name
        day.changed_at, day.changed_by = now, person_of(actor)
        day.save(update_fields=["is_workday", "name", "changed_at", "changed_by"])
    audit_append(actor=actor, action=WorkdaysAction.DAY_SET, object_type="workdays.calendarday",
                 object_id=date.isoformat(), object_repr=f"{date.isoformat()} {name}".strip(),
                 reason=reason,
                 changes={"date": date.isoformat(), "is_workday": [old[0], new[0]],
                          "name": [old[1], new[1]], "year_published": year.published})
    _send_on_commit(calendar_day_changed, date=date, year=date.year, published=year.published)
    return day


@transaction.atomic
def calendar_year_publish(*, actor, year: int, reason: str) -> CalendarYear:
    """Declare ``year``'s holiday data complete, so its deadlines become final.

    After commit, ``calendar_year_published`` asks for everything computed
    provisionally over the year to be recomputed.  Publishing a published
    year changes nothing.
    """
    require(permissions.calendar_year_publish(actor), action="calendar_year_publish")
    _check_year(year)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("发布年度日历须说明依据（如国务院办公厅通知文号）。"),
                           field="reason")
    _lock_calendar()
    row = CalendarYear.objects.select_for_update().filter(pk=year).first()
    if row is None:
        raise InvalidInput(_("%(year)s 年尚未录入任何节假日，不能发布。"),
                           code=WorkdaysErrorCode.YEAR_UNKNOWN, field="year", year=year)
    if row.published:
        return row
    # Every year has public holidays on weekdays; publishing a year
    # without one is a slip that would make its deadlines final and wrong.
    if not row.days.filter(is_workday=False).exists():
        raise InvalidInput(_("%(year)s 年没有录入放假日期，不能发布。"),
                           code=WorkdaysErrorCode.YEAR_EMPTY, field="year", year=year)
    _bump_version()
    row.published = True
    row.published_at = timezone.now()
    row.published_by = person_of(actor)
    row.save(update_fields=["published", "published_at", "published_by"])
    audit_append(actor=actor, action=WorkdaysAction.YEAR_PUBLISHED, obj=row, reason=reason,
                 changes={"published": [False, True],
                          "holidays": row.days.filter(is_workday=False).count(),
                          "workdays": row.days.filter(is_workday=True).count()})
    _send_on_commit(calendar_year_published, year=year)
    return row


@transaction.atomic
def calendar_seed(*, actor=None) -> SeedReport:
    """Store each year ``chinesecalendar`` knows and the database lacks.

    The years are stored as published (the package carries whole
    announcements) and announced after commit.  Idempotent.  Years
    already stored are kept as they are, whoever entered them: an
    administrator's data is never overwritten by the package; the report
    names those whose exceptions differ from it.
    """
    require(permissions.calendar_seed(actor), action="calendar_seed")
    _lock_calendar()
    stored = {
        row.year: row
        for row in CalendarYear.objects.select_for_update().filter(year__in=source.package_years())
    }
    stored_days: dict[int, set] = {}
    for date, is_workday, name in CalendarDay.objects.filter(
        year_id__in=list(stored)
    ).values_list("date", "is_workday", "name"):
        stored_days.setdefault(date.year, set()).add((date, is_workday, name))
    report = SeedReport()
    now = timezone.now()
    version = source.package_version()
    for year in source.package_years():
        days = source.package_exceptions(year)
        if year in stored:
            report.kept.append(year)
            if stored_days.get(year, set()) != {(d.date, d.is_workday, d.name) for d in days}:
                report.differing.append(year)
            continue
        if not report.created:
            _bump_version()   # before the first write (see _bump_version)
        row = CalendarYear.objects.create(year=year, source=CalendarYear.Source.PACKAGE,
                                          source_version=version, published=True,
                                          published_at=now, published_by=None, created_at=now)
        CalendarDay.objects.bulk_create([
            CalendarDay(date=d.date, year=row, is_workday=d.is_workday, name=d.name,
                        changed_at=now, changed_by=None)
            for d in days
        ])
        audit_append(actor=actor, action=WorkdaysAction.YEAR_SEEDED, obj=row,
                     changes={"source": source.SOURCE_NAME, "source_version": version,
                              "holidays": sum(1 for d in days if not d.is_workday),
                              "workdays": sum(1 for d in days if d.is_workday)})
        report.created.append(year)
    for year in report.created:
        _send_on_commit(calendar_year_published, year=year)
    return report


@dataclass
class CatchUp:
    """What ``calendar_catch_up`` did for one follower."""

    # The calendar version the follower had last run on, and the one it has now.
    before: int
    version: int
    ran: bool
    # What the work returned, None when it did not run.
    result: object = None


@transaction.atomic
def calendar_catch_up(*, actor=None, follower: str, work: Callable[[], object],
                      force: bool = False) -> CatchUp:
    """Run ``work`` if the calendar changed since ``follower`` last ran it.

    The signals of a change are sent after it commits, and the work they
    ask for (the recount of deadlines) may be lost with the process that
    was to run it.  A periodic job calls this; ``work`` runs when the
    calendar's version differs from the one recorded for ``follower``
    (``force``: in any case), and the version read before it ran is then
    recorded, in the same transaction.  Read before, so that a change
    committing meanwhile is caught up with at the next call, never marked
    done unseen.  Idempotent, and safe on several nodes at once: the
    follower's row is locked first, so a second call waits and then finds
    nothing to do.  ``work`` must count on the calendar as it is when it
    runs, and be safe to run again.

    Lock order: the follower's row, then whatever ``work`` locks.  Calendar
    changes never touch that row, and this never locks the version row
    (steps hold it FOR SHARE while counting).

    Not audited itself: the row is the follower's bookkeeping, no change of
    the calendar; the work audits what it changes.
    """
    require(permissions.calendar_catch_up(actor), action="calendar_catch_up")
    CalendarCheckpoint.objects.bulk_create([CalendarCheckpoint(name=follower)],
                                           ignore_conflicts=True)
    mark = CalendarCheckpoint.objects.select_for_update().get(name=follower)
    version = calendar_version()
    if mark.version == version and not force:
        return CatchUp(before=mark.version, version=version, ran=False)
    result = work()
    before = mark.version
    mark.version, mark.caught_up_at = version, timezone.now()
    mark.save(update_fields=["version", "caught_up_at"])
    return CatchUp(before=before, version=version, ran=True, result=result)
