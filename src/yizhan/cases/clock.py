"""The statutory clock of a case, counted in Chinese working days.

Pure functions over a case's clock columns and a ``WorkdayCalendar``; the
services call them and save the columns.  The rules:

- the clock starts at acceptance (受理): the statutory and promised limits
  run from the next working day (``WorkdayCalendar.deadline``); an
  application accepted more than five working days after its materials
  were received, with no correction notice in that time, runs from the
  receipt (``clock_start``);
- time the law excludes (补正, hearing, tender, auction, testing, quarantine,
  appraisal, expert review, inspection: ``PAUSE_REASONS``) pauses the clock:
  the working days between pause and resume are added to both limits;
- one lawful extension (``EXTENSION_WORKDAYS``, or
  ``JOINT_EXTENSION_WORKDAYS`` for parallel approval) adds its working days
  to the statutory limit only;
- a limit that runs into a year with no holiday data is provisional, and is
  recomputed when that year is published.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.cases.models import EventType
from yizhan.workdays.arithmetic import Deadline, WorkdayCalendar

# The lawful reasons to stop the clock.  《行政许可法》第四十五条: the time
# needed for 听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审 is not counted
# in the limits; 现场勘验 (第三十四条) likewise, as the provinces' rules on
# special procedures say; and 补正 (第三十二条), which the correction notice
# starts and the applicant's answer ends.
PAUSE_REASONS = {
    "correction": _("补正材料"),
    "hearing": _("听证"),
    "tender": _("招标"),
    "auction": _("拍卖"),
    "testing": _("检验检测"),
    "quarantine": _("检疫"),
    "appraisal": _("鉴定"),
    "expert_review": _("专家评审"),
    "inspection": _("现场勘验"),
}

# Those staff choose when they stop the clock (补正 is the correction notice's).
SUSPEND_REASONS = {key: label for key, label in PAUSE_REASONS.items() if key != "correction"}

# 《行政许可法》第三十二条: materials incomplete or not in the legal form are
# told 当场或者在五日内, all at once (一次告知); 逾期不告知的，自收到申请材料之日起
# 即为受理.  The law's limits are working days (第八十二条: 以工作日计算，不含
# 法定节假日), counted from the day after receipt as every limit is.
CORRECTION_NOTICE_WORKDAYS = 5

# 《行政许可法》第四十二条: a decision that cannot be made within the limit may
# be put off once, by at most ten working days; an application handled by
# several agencies together (统一办理、联合办理、集中办理, the 并联审批 of
# 第二十六条: an item whose process has its joint agencies review the case, a
# ``$joint`` lane) by at most fifteen.
EXTENSION_WORKDAYS = 10
JOINT_EXTENSION_WORKDAYS = 15


@dataclass(frozen=True)
class Deadlines:
    statutory: Deadline
    promised: Deadline

    @property
    def provisional(self) -> bool:
        return self.statutory.provisional or self.promised.provisional


def deadlines(*, calendar: WorkdayCalendar, accepted_at: dt.datetime, statutory_limit: int,
              promised_limit: int, paused_workdays: int = 0,
              extension_workdays: int = 0) -> Deadlines:
    tz = timezone.get_default_timezone()
    statutory = calendar.deadline(accepted_at, statutory_limit + paused_workdays
                                  + extension_workdays, tz)
    promised = calendar.deadline(accepted_at, promised_limit + paused_workdays, tz)
    return Deadlines(statutory=statutory, promised=promised)


def correction_notice_due(*, calendar: WorkdayCalendar, received_at: dt.datetime) -> Deadline:
    """The end of the time to tell what to correct in materials received at
    ``received_at`` (``CORRECTION_NOTICE_WORKDAYS``); after it no notice may
    be given."""
    return calendar.deadline(received_at, CORRECTION_NOTICE_WORKDAYS,
                             timezone.get_default_timezone())


def clock_start(*, calendar: WorkdayCalendar, received_at: dt.datetime,
                accepted_at: dt.datetime) -> dt.datetime:
    """When the limits of an application accepted at ``accepted_at`` run from.

    From the acceptance; but an application left longer than the time to
    tell what to correct (``correction_notice_due``) was in law accepted on
    the day its materials were received (第三十二条: 逾期不告知的，自收到申请
    材料之日起即为受理), and the days the window let pass count against its
    limits.  ``received_at`` is when the materials were received: the
    submission, or the answer to the correction notice.
    """
    if accepted_at > correction_notice_due(calendar=calendar, received_at=received_at).at:
        return received_at
    return accepted_at


def paused_workdays(*, calendar: WorkdayCalendar, since: dt.datetime, until: dt.datetime
                    ) -> int:
    """Working days lost to a pause: from the day after ``since`` to ``until``.

    A pause begun and ended on the same day costs nothing; each working day
    on which the case waited, up to and including the day it resumed,
    is given back.
    """
    tz = timezone.get_default_timezone()
    start = since.astimezone(tz).date()
    end = until.astimezone(tz).date()
    if end <= start:
        return 0
    return calendar.count_workdays(start, end).days


def pause_spans(events) -> list[tuple[dt.datetime, dt.datetime]]:
    """The finished pauses of one case, as (since, until), from its events.

    ``events`` are the case's SUSPENDED and RESUMED events (objects with
    ``type`` and ``at``) in order.  The events, written with the same moment
    as the case's clock columns, are the record of when the clock stood
    still; the working days each pause cost are counted from them again
    whenever the calendar changes.
    """
    spans, since = [], None
    for event in events:
        if event.type == EventType.SUSPENDED:
            since = event.at
        elif event.type == EventType.RESUMED and since is not None:
            spans.append((since, event.at))
            since = None
    return spans


def paused_in(*, calendar: WorkdayCalendar, spans, after: dt.datetime | None = None) -> int:
    """Working days the finished pauses ``spans`` cost (only those begun at
    or after ``after``, when given), under ``calendar``."""
    return sum(paused_workdays(calendar=calendar, since=since, until=until)
               for since, until in spans if after is None or since >= after)


def remaining(*, calendar: WorkdayCalendar, now: dt.datetime, due: dt.datetime | None,
              provisional: bool = False) -> int | None:
    """Working days left to ``due`` (negative when overdue), or None."""
    if due is None:
        return None
    tz = timezone.get_default_timezone()
    local = due.astimezone(tz)
    deadline = Deadline(at=local, date=local.date(), provisional=provisional)
    return calendar.remaining(now, deadline)


# The case's fields that ``apply`` stores the deadlines in.
DEADLINE_FIELDS = ("statutory_due", "promised_due", "due_provisional", "promised_provisional")


def apply(case, result: Deadlines) -> list[str]:
    """Store deadlines on ``case``; return the fields changed.

    The case is due for supervision's look at once: the sweep works out
    when it next crosses a line (a warning point, a deadline) from the
    rules in force, and sets ``next_check_at`` to that moment.
    """
    case.statutory_due = result.statutory.at
    case.promised_due = result.promised.at
    case.due_provisional = result.provisional
    case.promised_provisional = result.promised.provisional
    case.next_check_at = timezone.now()
    return [*DEADLINE_FIELDS, "next_check_at"]
