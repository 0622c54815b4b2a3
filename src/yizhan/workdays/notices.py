"""The workbench's reminder to enter next year's holidays.

The portal's workbench view adds ``calendar_notice_context(request)`` to
its context and includes ``workdays/calendar_notice.html``; the notice
shows only to those who can act on it (calendar administrators), only
while a year is missing (see ``selectors.missing_calendar_year``), and
costs no query in the common case (the calendar is cached and the scope is
cached on the user).
"""

import datetime as dt

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from yizhan.workdays import permissions
from yizhan.workdays.selectors import missing_calendar_year


def calendar_notice_context(request, *, today: dt.date | None = None) -> dict:
    """Context of ``workdays/calendar_notice.html`` (``today``: local date)."""
    year = None
    url = ""
    if permissions.calendar_day_set(request.user):
        year = missing_calendar_year(today or timezone.localdate())
        if year is not None:
            try:
                url = reverse("admin:workdays_calendarday_add")
            except NoReverseMatch:
                url = ""
    return {"workdays_missing_year": year, "workdays_add_url": url}
