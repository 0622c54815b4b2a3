"""Holiday data from the ``chinesecalendar`` package, as plain values.

The package carries the State Council's announcements as two tables keyed
by date: days off (``holidays``, weekends included) and weekend days worked
(``workdays``).  The platform stores only the exceptions to the
Monday-to-Friday rule, named in Chinese.  Nothing here touches the
database, so the data migration, the seeding service, the tests and the
benchmark all read the package the same way.
"""

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version

import chinese_calendar
from chinese_calendar.constants import Holiday

from yizhan.workdays.arithmetic import WorkdayCalendar

SOURCE_NAME = "chinesecalendar"

# English value of the package's enum -> the Chinese name it also carries.
_CHINESE = {holiday.value: holiday.chinese for holiday in Holiday}


@dataclass(frozen=True)
class SourceDay:
    date: dt.date
    is_workday: bool
    name: str


def package_version() -> str:
    try:
        return distribution_version("chinesecalendar")
    except PackageNotFoundError:
        return ""


@cache
def package_years() -> tuple[int, ...]:
    """The years the installed package has announcements for, in order."""
    years = {day.year for day in chinese_calendar.holidays}
    return tuple(range(min(years), max(years) + 1))


def chinese_name(english: str) -> str:
    return _CHINESE.get(english, english)


@cache
def _all_exceptions() -> dict[int, tuple[SourceDay, ...]]:
    by_year: dict[int, list[SourceDay]] = {}
    for day, english in chinese_calendar.holidays.items():
        if day.weekday() < 5:
            by_year.setdefault(day.year, []).append(SourceDay(day, False, chinese_name(english)))
    for day, english in chinese_calendar.workdays.items():
        if day.weekday() >= 5:
            by_year.setdefault(day.year, []).append(SourceDay(day, True, chinese_name(english)))
    return {year: tuple(sorted(days, key=lambda d: d.date)) for year, days in by_year.items()}


def package_exceptions(year: int) -> tuple[SourceDay, ...]:
    """The exceptions of ``year`` by date (empty if the package lacks it)."""
    return _all_exceptions().get(year, ())


def calendar_from_package() -> WorkdayCalendar:
    """The calendar as the installed package knows it (tests, benchmarks)."""
    exceptions = {
        day.date: day.is_workday for year in package_years() for day in package_exceptions(year)
    }
    return WorkdayCalendar(known_years=package_years(), exceptions=exceptions)
