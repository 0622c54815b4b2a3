"""Working-day arithmetic, with no database.

The oracle is ``chinese_calendar.is_workday`` walked one day at a time,
not the index under test.  None of these tests may touch the database
(pytest-django refuses it without the ``db`` fixture), which is the point:
the clock is pure code over a calendar given to it.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yizhan.workdays.arithmetic import Deadline, WorkdayCalendar
from yizhan.workdays.source import calendar_from_package, package_exceptions, package_years

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = calendar_from_package()
FIRST, LAST = package_years()[0], package_years()[-1]
ONE_DAY = dt.timedelta(days=1)

fast = settings(deadline=None, max_examples=300)


def reference_add(start: dt.date, n: int) -> dt.date:
    """The n-th working day after ``start``, walking chinese_calendar day by day."""
    day, found = start, 0
    while found < n:
        day += ONE_DAY
        found += chinese_calendar.is_workday(day)
    return day


def with_2027(**extra) -> WorkdayCalendar:
    """The package's calendar plus a 2027 as an administrator might enter it."""
    exceptions = CALENDAR.exceptions()
    exceptions.update({D(2027, 1, 1): False})  # 元旦, a Friday
    exceptions.update(extra.get("exceptions", {}))
    return WorkdayCalendar(known_years=CALENDAR.known_years | {2027}, exceptions=exceptions)


known_dates = st.dates(min_value=D(FIRST, 1, 1), max_value=D(LAST, 6, 30))
any_dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2040, 12, 31))


def test_the_package_covers_2004_through_2026():
    assert (FIRST, LAST) == (2004, 2026)
    assert CALENDAR.known_years == frozenset(range(2004, 2027))


def test_every_known_day_agrees_with_chinese_calendar():
    """All 8,401 days of 2004–2026, holidays, weekends and 调休 alike."""
    day = D(FIRST, 1, 1)
    disagree = []
    while day.year <= LAST:
        if CALENDAR.is_workday(day) != chinese_calendar.is_workday(day):
            disagree.append(day)
        day += ONE_DAY
    assert disagree == []


@fast
@given(start=known_dates, n=st.integers(min_value=0, max_value=100))
def test_adding_matches_a_day_by_day_walk(start, n):
    result = CALENDAR.add_workdays(start, n)
    assert result.date == reference_add(start, n)
    assert result.provisional is False
    if n:
        assert chinese_calendar.is_workday(result.date)


@fast
@given(start=any_dates, n=st.integers(min_value=-800, max_value=800))
def test_adding_then_counting_round_trips(start, n):
    """count(start, add(start, n)) == n everywhere, known years or not."""
    added = CALENDAR.add_workdays(start, n)
    counted = CALENDAR.count_workdays(start, added.date)
    assert counted.days == n
    assert counted.provisional is added.provisional


@fast
@given(start=any_dates, n=st.integers(min_value=1, max_value=800))
def test_the_result_is_the_earliest_date_with_that_count(start, n):
    result = CALENDAR.add_workdays(start, n).date
    assert CALENDAR.is_workday(result)
    assert CALENDAR.count_workdays(start, result - ONE_DAY).days == n - 1


@fast
@given(a=any_dates, b=any_dates)
def test_counting_is_antisymmetric_and_additive(a, b):
    assert CALENDAR.count_workdays(a, b).days == -CALENDAR.count_workdays(b, a).days
    middle = D(2015, 6, 15)
    assert (CALENDAR.count_workdays(a, middle).days + CALENDAR.count_workdays(middle, b).days
            == CALENDAR.count_workdays(a, b).days)


@pytest.mark.parametrize("start", [D(2026, 10, 1), D(2026, 10, 3), D(2026, 10, 8),
                                   D(2027, 5, 1), D(1999, 1, 1)])
def test_adding_zero_is_the_day_itself(start):
    """Whatever the day, holiday or weekend or unknown year, 0 days is that day."""
    assert CALENDAR.add_workdays(start, 0).date == start
    assert CALENDAR.add_workdays(start, 0).provisional is False
    assert CALENDAR.count_workdays(start, start).days == 0


def test_the_day_of_receipt_never_counts():
    """期限从次日起算: from a working Wednesday or a Saturday alike."""
    assert CALENDAR.add_workdays(D(2026, 3, 4), 1).date == D(2026, 3, 5)
    assert CALENDAR.add_workdays(D(2026, 3, 7), 1).date == D(2026, 3, 9)
    assert CALENDAR.count_workdays(D(2026, 3, 7), D(2026, 3, 9)).days == 1


def test_national_day_week_2026_and_its_adjusted_working_days():
    """1–7 October 2026 is off; Sunday 20 September and Saturday 10 October are worked."""
    for day in (D(2026, 10, d) for d in range(1, 8)):
        assert CALENDAR.is_workday(day) is False, day
    assert CALENDAR.is_workday(D(2026, 9, 20)) is True   # Sunday, 调休上班
    assert CALENDAR.is_workday(D(2026, 10, 10)) is True  # Saturday, 调休上班
    assert chinese_calendar.is_workday(D(2026, 9, 20)) and chinese_calendar.is_workday(
        D(2026, 10, 10))
    # Received on the eve of the holiday: the next working day is the 8th.
    assert CALENDAR.add_workdays(D(2026, 9, 30), 1).date == D(2026, 10, 8)
    # Received on Friday the 9th: the worked Saturday is the first day.
    assert CALENDAR.add_workdays(D(2026, 10, 9), 1).date == D(2026, 10, 10)
    # Received on Saturday the 19th: the worked Sunday is the first day.
    assert CALENDAR.add_workdays(D(2026, 9, 19), 1).date == D(2026, 9, 20)
    # September 30 + 5: 8, 9, 10 (Sat), 12, 13 October.
    assert CALENDAR.add_workdays(D(2026, 9, 30), 5).date == D(2026, 10, 13)
    october = [D(2026, 10, d) for d in range(1, 32)]
    assert CALENDAR.count_workdays(D(2026, 9, 30), D(2026, 10, 31)).days == sum(
        chinese_calendar.is_workday(d) for d in october)


def test_spring_festival_2024():
    """10 February 2024 (Saturday) is 春节; Sundays 4 and 18 February are worked."""
    assert CALENDAR.is_workday(D(2024, 2, 10)) is False
    assert CALENDAR.is_workday(D(2024, 2, 12)) is False
    assert CALENDAR.is_workday(D(2024, 2, 4)) is True
    assert CALENDAR.is_workday(D(2024, 2, 18)) is True
    assert CALENDAR.add_workdays(D(2024, 2, 9), 1).date == D(2024, 2, 18)  # 除夕 was worked


def test_crossing_into_a_new_year():
    """New Year 2026: 1–3 January off, Sunday 4 January worked."""
    assert CALENDAR.add_workdays(D(2025, 12, 31), 1).date == D(2026, 1, 4)
    assert CALENDAR.count_workdays(D(2025, 12, 30), D(2026, 1, 5)).days == 3
    assert CALENDAR.add_workdays(D(2026, 1, 4), -1).date == D(2025, 12, 31)
    result = CALENDAR.add_workdays(D(2004, 12, 20), 300)
    assert result.date == reference_add(D(2004, 12, 20), 300)
    assert result.provisional is False


def test_far_beyond_the_known_years_counts_weekdays():
    """Outside the data the count is plain Monday–Friday, and provisional."""
    result = CALENDAR.add_workdays(D(2026, 12, 31), 10_000)
    assert result.date == D(2026, 12, 31) + dt.timedelta(weeks=2000)  # Thursday + 2,000 weeks
    assert result.provisional is True
    assert CALENDAR.count_workdays(D(2026, 12, 31), result.date).days == 10_000
    early = CALENDAR.add_workdays(D(1995, 3, 1), 5)  # Wednesday
    assert early.date == D(1995, 3, 8)
    assert early.provisional is True


def test_limit_running_into_an_unknown_year_is_provisional_until_it_is_known():
    """From December 2026 into 2027: provisional; with 2027 entered, final."""
    received = dt.datetime(2026, 12, 18, 10, 0, tzinfo=SHANGHAI)  # Friday
    before = CALENDAR.deadline(received, 20, SHANGHAI)
    # Weekends alone: 21 Dec .. 15 Jan is 20 weekdays.
    assert before == Deadline(at=dt.datetime(2027, 1, 15, 23, 59, 59, 999999, tzinfo=SHANGHAI),
                              date=D(2027, 1, 15), provisional=True)
    after = with_2027().deadline(received, 20, SHANGHAI)
    assert after.date == D(2027, 1, 18)  # 元旦 on Friday 1 January moves it to Monday
    assert after.provisional is False
    # A limit ending within 2026 was never provisional.
    assert CALENDAR.deadline(received, 5, SHANGHAI).provisional is False


def test_unpublished_exceptions_are_used_and_flagged():
    """Days entered for a year not yet published count, provisionally."""
    exceptions = CALENDAR.exceptions() | {D(2027, 1, 1): False}
    calendar = WorkdayCalendar(known_years=CALENDAR.known_years, exceptions=exceptions)
    result = calendar.add_workdays(D(2026, 12, 31), 1)
    assert result.date == D(2027, 1, 4)
    assert result.provisional is True
    assert calendar.is_known(2027) is False


def test_an_empty_calendar_is_weekdays_everywhere():
    calendar = WorkdayCalendar()
    assert calendar.add_workdays(D(2026, 9, 30), 1).date == D(2026, 10, 1)
    assert calendar.add_workdays(D(2026, 10, 2), 1).date == D(2026, 10, 5)
    assert calendar.count_workdays(D(2026, 10, 2), D(2026, 10, 9)).days == 5
    assert calendar.count_workdays(D(2026, 10, 2), D(2026, 10, 9)).provisional is True


def test_package_exceptions_are_only_departures_from_the_weekday_rule():
    for year in package_years():
        for day in package_exceptions(year):
            assert day.is_workday == (day.date.weekday() >= 5), day
            assert day.name and day.name.isascii() is False, day
    names = {day.name for day in package_exceptions(2026)}
    assert names == {"元旦", "春节", "清明", "劳动节", "端午", "中秋", "国庆节"}


class TestDeadline:
    def test_ends_at_the_last_moment_of_the_nth_working_day(self):
        received = dt.datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI)
        deadline = CALENDAR.deadline(received, 5, SHANGHAI)
        assert deadline.at == dt.datetime(2026, 10, 13, 23, 59, 59, 999999, tzinfo=SHANGHAI)
        assert deadline.date == D(2026, 10, 13)
        assert deadline.provisional is False

    def test_the_day_of_receipt_is_the_local_date(self):
        """17:00 UTC on 30 September is 01:00 on 1 October in Shanghai."""
        received = dt.datetime(2026, 9, 30, 17, 0, tzinfo=dt.UTC)
        assert CALENDAR.deadline(received, 1, SHANGHAI).date == D(2026, 10, 8)
        received = dt.datetime(2026, 9, 30, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
        assert CALENDAR.deadline(received, 1, SHANGHAI).date == D(2026, 10, 8)
        received = dt.datetime(2026, 10, 9, 16, 30, tzinfo=dt.UTC)  # 00:30 on Saturday 10th
        assert CALENDAR.deadline(received, 1, SHANGHAI).date == D(2026, 10, 12)

    def test_a_limit_of_zero_ends_on_the_day_of_receipt(self):
        received = dt.datetime(2026, 10, 3, 9, 0, tzinfo=SHANGHAI)
        deadline = CALENDAR.deadline(received, 0, SHANGHAI)
        assert deadline.at == dt.datetime(2026, 10, 3, 23, 59, 59, 999999, tzinfo=SHANGHAI)

    def test_naive_datetimes_and_bad_limits_are_refused(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            CALENDAR.deadline(dt.datetime(2026, 9, 30, 15, 0), 5, SHANGHAI)
        with pytest.raises(ValueError, match=">= 0"):
            CALENDAR.deadline(dt.datetime(2026, 9, 30, tzinfo=SHANGHAI), -1, SHANGHAI)
        with pytest.raises(TypeError, match=r"datetime\.date"):
            CALENDAR.add_workdays(dt.datetime(2026, 9, 30, tzinfo=SHANGHAI), 1)
        with pytest.raises(TypeError):
            CALENDAR.is_workday("2026-09-30")
        with pytest.raises(TypeError):
            CALENDAR.add_workdays(D(2026, 9, 30), 1.5)


class TestRemaining:
    # Limit ends on Friday 16 October 2026.
    deadline = CALENDAR.deadline(dt.datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI), 4, SHANGHAI)

    def at(self, day, hour=10):
        return dt.datetime(2026, 10, day, hour, 0, tzinfo=SHANGHAI)

    def test_working_days_left_before_the_end(self):
        assert self.deadline.date == D(2026, 10, 16)
        assert CALENDAR.remaining(self.at(12), self.deadline) == 4
        assert CALENDAR.remaining(self.at(15), self.deadline) == 1
        assert CALENDAR.remaining(self.at(16, 23), self.deadline) == 0  # the last day

    def test_negative_once_overdue(self):
        assert CALENDAR.remaining(self.at(17), self.deadline) == -1  # Saturday
        assert CALENDAR.remaining(self.at(19), self.deadline) == -1  # Monday
        assert CALENDAR.remaining(self.at(20), self.deadline) == -2  # Tuesday

    def test_read_in_the_deadlines_zone(self):
        """16:30 UTC on the 16th is already Saturday in Shanghai: overdue."""
        now = dt.datetime(2026, 10, 16, 16, 30, tzinfo=dt.UTC)
        assert CALENDAR.remaining(now, self.deadline) == -1
        now = dt.datetime(2026, 10, 16, 15, 30, tzinfo=dt.UTC)  # 23:30 Friday
        assert CALENDAR.remaining(now, self.deadline) == 0

    def test_naive_now_is_refused(self):
        with pytest.raises(ValueError):
            CALENDAR.remaining(dt.datetime(2026, 10, 12), self.deadline)
