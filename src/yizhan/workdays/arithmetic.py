"""Working-day arithmetic over a holiday calendar, without the database.

Statutory time limits in China are counted in working days (工作日): Monday
to Friday, except the public holidays announced each year by the State
Council, plus the weekend days it declares working days in exchange
(调休上班).  A ``WorkdayCalendar`` is built from the years whose
announcement is known and the exception dates (a weekday off, a weekend day
worked); it knows nothing about Django and is given to every computation
explicitly, so the clock's tests need no database (STYLE §12).

Counting follows the rule for statutory limits: a limit of N working days
for something received on day D ends at the end of the N-th working day
after D.  The day of receipt never counts (期限从次日起算), whether or not
it is a working day.  Hence ``count_workdays(a, b)`` counts the working
days in the half-open span (a, b], and ``add_workdays(d, n)`` is the
earliest date e with ``count_workdays(d, e) == n``: the two round-trip.

A year without a known announcement is counted on weekends alone, and
every result that relied on such a year is flagged ``provisional``; it
must be recomputed once that year's data is published.

The index: let W(o) be the number of working days before the proleptic
ordinal o.  Over the years that have data, W is precomputed as an array of
cumulative counts (one entry per day, a few thousand integers); outside
them working days are plain weekdays and W has a closed form.  A count is
then two lookups and an addition, and adding N working days is one binary
search, however large N is: no day-by-day loop.
"""

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import NamedTuple

# Ordinal 1, date(1, 1, 1), was a Monday in the proleptic Gregorian
# calendar, so the weekday of ordinal o is (o - 1) % 7 (Monday = 0).


def _weekdays_before(ordinal: int) -> int:
    """Number of Mondays to Fridays with an ordinal in [1, ordinal)."""
    weeks, rest = divmod(ordinal - 1, 7)
    return 5 * weeks + min(rest, 5)


def _weekdays_reach(target: int) -> int:
    """The smallest ordinal x with ``_weekdays_before(x) >= target``.

    The target-th weekday (1-based, counted from ordinal 1) lies ``weeks``
    whole weeks and ``rest`` days after ordinal 1; x is the day after it.
    Floor division makes this hold for targets below 1 too.
    """
    weeks, rest = divmod(target - 1, 5)
    return 7 * weeks + rest + 2


def _check_date(value, name: str) -> dt.date:
    # A datetime is a date too; accepting one would silently drop its time
    # and zone, which is how naive-datetime bugs start.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"{name} must be a datetime.date, not {type(value).__name__}")
    return value


def _check_int(n) -> int:
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"n must be an int, not {type(n).__name__}")
    return n


def _check_aware(value, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime.datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


class WorkdayDate(NamedTuple):
    """A date reached by adding working days."""

    date: dt.date
    # True when a day counted lies in a year without holiday data.
    provisional: bool


class WorkdayCount(NamedTuple):
    """A number of working days between two dates."""

    days: int
    provisional: bool


class Deadline(NamedTuple):
    """The end of a time limit: the last moment of its last working day."""

    at: dt.datetime  # 23:59:59.999999 local time of ``date``, timezone-aware
    date: dt.date
    provisional: bool


# The result types are named tuples rather than frozen dataclasses: equally
# immutable, and three times cheaper to build, which is most of the cost of
# one deadline once the arithmetic itself is a lookup.


class WorkdayCalendar:
    """The working days of the Chinese calendar, with a precomputed index.

    ``known_years`` are the years whose holiday data is complete (published);
    ``exceptions`` maps each date that departs from the Monday-to-Friday
    rule to whether it is a working day: False for a weekday holiday, True
    for a weekend day worked in exchange.  Exceptions may also be given for
    years not (yet) known, such as a year being entered; they are used, and
    results touching that year stay provisional.

    Instances are immutable once built and safe to share between threads.
    """

    __slots__ = ("_base", "_cumulative", "_end", "_exceptions", "_known", "_unknown")

    def __init__(self, *, known_years: Iterable[int] = (),
                 exceptions: Mapping[dt.date, bool] | None = None):
        known = frozenset(int(year) for year in known_years)
        table: dict[dt.date, bool] = {}
        for day, is_workday in (exceptions or {}).items():
            table[_check_date(day, "exception date")] = bool(is_workday)
        self._known = known
        self._exceptions = table

        # The index spans the years that have any data, whole years.  Every
        # known year lies inside it, so a day outside it is always in an
        # unknown year.
        years = known | {day.year for day in table}
        if not years:
            self._base = self._end = 1
            self._cumulative = [0]
            self._unknown = [0]
            return
        base = dt.date(min(years), 1, 1).toordinal()
        end = dt.date(max(years) + 1, 1, 1).toordinal()
        # cumulative[i] = W(base + i): working days before that ordinal,
        # starting from the closed form at the base so W is continuous.
        # unknown[i]: days of unknown years in [base, base + i), so whether
        # a span touches an unknown year is a subtraction too.
        total = _weekdays_before(base)
        missing = 0
        cumulative = [total]
        unknown = [0]
        for ordinal in range(base, end):
            day = dt.date.fromordinal(ordinal)
            flag = table.get(day)
            if flag is None:
                flag = day.weekday() < 5
            total += flag
            missing += day.year not in known
            cumulative.append(total)
            unknown.append(missing)
        self._base = base
        self._end = end
        self._cumulative = cumulative
        self._unknown = unknown

    def __repr__(self):
        years = sorted(self._known)
        span = f"{years[0]}–{years[-1]}" if years else "none"
        return (f"<WorkdayCalendar known years {span} ({len(years)}), "
                f"{len(self._exceptions)} exceptions>")

    # -- the index --------------------------------------------------------

    def _before(self, ordinal: int) -> int:
        """W(ordinal): the number of working days before ``ordinal``."""
        if ordinal <= self._base:
            return _weekdays_before(ordinal)
        if ordinal <= self._end:
            return self._cumulative[ordinal - self._base]
        return self._cumulative[-1] + _weekdays_before(ordinal) - _weekdays_before(self._end)

    def _reach(self, target: int) -> int:
        """The smallest ordinal x with W(x) >= target."""
        cumulative = self._cumulative
        if target <= cumulative[0]:
            return _weekdays_reach(target)
        if target <= cumulative[-1]:
            return self._base + bisect_left(cumulative, target)
        return _weekdays_reach(target - cumulative[-1] + _weekdays_before(self._end))

    def _provisional(self, first: int, last: int) -> bool:
        """Whether a day of ordinal first..last is in an unknown year."""
        if first > last:
            return False
        if first < self._base or last >= self._end:
            return True
        return self._unknown[last + 1 - self._base] != self._unknown[first - self._base]

    def _shift(self, start: int, n: int) -> tuple[int, bool]:
        """``add_workdays`` on ordinals, n != 0: (result, provisional)."""
        # The common case, start and result inside the index, written out:
        # two list reads and one bisect, no further calls.
        cumulative = self._cumulative
        i = start + 1 - self._base
        if 0 <= i < len(cumulative):
            target = cumulative[i] + n
            if cumulative[0] < target <= cumulative[-1]:
                j = bisect_left(cumulative, target)  # result + 1 - base
                unknown = self._unknown
                return self._base + j - 1, unknown[i] != unknown[j]
        result = self._reach(self._before(start + 1) + n) - 1
        if n > 0:
            return result, self._provisional(start + 1, result)
        return result, self._provisional(result + 1, start)

    # -- the public operations -------------------------------------------

    @property
    def known_years(self) -> frozenset[int]:
        return self._known

    def is_known(self, year: int) -> bool:
        """Whether ``year``'s holiday data is complete."""
        return year in self._known

    def exceptions(self) -> dict[dt.date, bool]:
        """A copy of the exception table (date -> is a working day)."""
        return dict(self._exceptions)

    def is_workday(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day (weekdays, in unknown years)."""
        _check_date(day, "day")
        flag = self._exceptions.get(day)
        return day.weekday() < 5 if flag is None else flag

    def count_workdays(self, start: dt.date, end: dt.date) -> WorkdayCount:
        """The working days in (start, end].

        If end < start, minus the working days in (end, start].
        """
        a = _check_date(start, "start").toordinal()
        b = _check_date(end, "end").toordinal()
        days = self._before(b + 1) - self._before(a + 1)
        return WorkdayCount(days, self._provisional(min(a, b) + 1, max(a, b)))

    def add_workdays(self, start: dt.date, n: int) -> WorkdayDate:
        """The n-th working day after ``start`` (before it when n < 0).

        ``start`` itself is never counted.  For n = 0 the answer is
        ``start``; otherwise it is a working day, and always the earliest
        date e with ``count_workdays(start, e).days == n``.
        """
        _check_date(start, "start")
        _check_int(n)
        if n == 0:
            return WorkdayDate(start, False)
        result, provisional = self._shift(start.toordinal(), n)
        return WorkdayDate(dt.date.fromordinal(result), provisional)

    def deadline(self, received_at: dt.datetime, n: int, tz: dt.tzinfo) -> Deadline:
        """The end of a limit of ``n`` working days from ``received_at``.

        The day of receipt is the local date of ``received_at`` in ``tz``;
        the limit ends at the end (23:59:59.999999 in ``tz``) of the n-th
        working day after it.  A limit of 0 ends on the day of receipt.
        """
        _check_aware(received_at, "received_at")
        _check_int(n)
        if n < 0:
            raise ValueError(f"a time limit is a whole number of working days >= 0, not {n!r}")
        last = received_at.astimezone(tz).date()
        provisional = False
        if n:
            result, provisional = self._shift(last.toordinal(), n)
            last = dt.date.fromordinal(result)
        return Deadline(dt.datetime.combine(last, dt.time.max, tzinfo=tz), last, provisional)

    def remaining(self, now: dt.datetime, deadline: Deadline) -> int:
        """Working days left of ``deadline`` at ``now``; negative if overdue.

        0 means today (in the deadline's zone) is the last day.  Once the
        deadline has passed the answer is -k, k being the working days
        after the deadline day up to today, and at least 1: a limit that
        ended on Friday is one day overdue on Saturday and still on Monday,
        two on Tuesday.
        """
        _check_aware(now, "now")
        _check_aware(deadline.at, "deadline.at")
        today = now.astimezone(deadline.at.tzinfo).date()
        if now <= deadline.at:
            return self.count_workdays(today, deadline.date).days
        return -max(1, self.count_workdays(deadline.date, today).days)
