"""Reads of supervision: alerts, a case's monitoring points, coverage, the dashboard.

Everything is computed from case events, alerts and the catalog, never from
anything an agency reports by hand.  The supervision office sees the
agencies its scope covers; staff of an agency see their own agency's alerts.
"""

import datetime
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from yizhan.cases import clock
from yizhan.cases import selectors as case_selectors
from yizhan.cases.models import Case, CaseEvent, EventType
from yizhan.core.errors import NotFound, PermissionDenied
from yizhan.directory.models import Agency
from yizhan.supervision import permissions
from yizhan.supervision.detection import active_rules
from yizhan.supervision.models import Alert, Level, Rule

LEVEL_RANK = {Level.NOTICE: 1, Level.YELLOW: 2, Level.RED: 3}

# The monitoring points of the supervision standard, in the order of a case.
MONITORING_POINTS = (
    EventType.SUBMITTED, EventType.ACCEPTED, EventType.NOT_ACCEPTED, EventType.TASK_CLAIMED,
    EventType.REVIEWED, EventType.RETURNED, EventType.APPROVED, EventType.REFUSED,
    EventType.CLOSED, EventType.NOTIFIED, EventType.CORRECTION_REQUESTED,
    EventType.CORRECTION_SUBMITTED, EventType.FEE_CHARGED, EventType.SUSPENDED,
    EventType.RESUMED, EventType.EXTENDED, EventType.DELIVERED, EventType.CERTIFICATE_ISSUED,
    EventType.WITHDRAWN, EventType.NOTICE_ISSUED, EventType.REPLIED,
)


def _visible(actor) -> QuerySet[Alert]:
    agencies = permissions.alert_agencies(actor)
    queryset = Alert.objects.select_related("rule", "case", "agency", "post", "responsible")
    if agencies is not None:
        queryset = queryset.filter(agency_id__in=agencies)
    return queryset


def alerts_for(*, actor, level: str = "", status: str = "", agency_id: int | None = None,
               case_id: int | None = None, rule_code: str = "") -> QuerySet[Alert]:
    queryset = _visible(actor)
    if level:
        queryset = queryset.filter(level=level)
    if status:
        queryset = queryset.filter(status=status)
    if agency_id:
        queryset = queryset.filter(agency_id=agency_id)
    if case_id:
        queryset = queryset.filter(case_id=case_id)
    if rule_code:
        queryset = queryset.filter(rule__code=rule_code)
    return queryset.order_by("-raised_at", "-id")


def alert_agencies_for(*, actor) -> QuerySet[Agency]:
    """The agencies whose alerts ``actor`` reads: the choices of the alerts page's filter."""
    agencies = permissions.alert_agencies(actor)
    queryset = Agency.objects.only("name")
    if agencies is not None:
        queryset = queryset.filter(pk__in=agencies)
    return queryset.order_by("division__code", "name", "id")


def alert_rules() -> QuerySet[Rule]:
    """Every rule, by code: the choices of the alerts page's filter (a disabled
    rule's alerts stay on record)."""
    return Rule.objects.only("code", "name").order_by("code")


def alert_get_for_actor(*, actor, alert_id: int) -> Alert:
    alert = _visible(actor).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound()
    return alert


def rules_for(*, actor) -> QuerySet[Rule]:
    if not permissions.rule_view(actor):
        raise PermissionDenied(action="rule_view")
    return Rule.objects.prefetch_related("items", "agencies").order_by("code")


def rule_get(*, actor, code: str) -> Rule:
    rule = rules_for(actor=actor).filter(code=code).first()
    if rule is None:
        raise NotFound()
    return rule


def marks_for_tasks(tasks) -> dict[int, str]:
    """The worst open alert level on each task, or on its case as a whole.

    For the workbench: a reviewer sees a yellow or red mark on the step
    that is late, and on every step of a case that is late as a whole.
    """
    tasks = list(tasks)
    if not tasks:
        return {}
    case_ids = {t.case_id for t in tasks}
    task_ids = {t.pk for t in tasks}
    worst_task: dict[int, str] = {}
    worst_case: dict[int, str] = {}
    for task_id, case_id, level in (
            Alert.objects.filter(status=Alert.Status.OPEN)
            .filter(Q(task_id__in=task_ids) | Q(case_id__in=case_ids, task__isnull=True))
            .values_list("task_id", "case_id", "level")):
        target, key = (worst_task, task_id) if task_id else (worst_case, case_id)
        if LEVEL_RANK[level] > LEVEL_RANK.get(target.get(key), 0):
            target[key] = level
    marks = {}
    for task in tasks:
        candidates = [lv for lv in (worst_task.get(task.pk), worst_case.get(task.case_id)) if lv]
        if candidates:
            marks[task.pk] = max(candidates, key=LEVEL_RANK.get)
    return marks


@dataclass(frozen=True)
class Monitoring:
    case: Case
    points: list[CaseEvent]
    alerts: list[Alert]
    remaining: object


def case_monitoring(*, actor, case_id: int) -> Monitoring:
    """A case's monitoring points with times, actors and remaining working days."""
    case = case_selectors.case_get_for_actor(actor=actor, case_id=case_id)
    points = list(CaseEvent.objects.filter(case=case, type__in=MONITORING_POINTS)
                  .select_related("task", "agency").order_by("at", "id"))
    alerts = list(alerts_for(actor=actor, case_id=case.pk))
    return Monitoring(case=case, points=points, alerts=alerts,
                      remaining=case_selectors.remaining_workdays(case))


# --- coverage and the dashboard ---------------------------------------------------------

@dataclass
class AgencyRow:
    agency_id: int
    name: str
    items: int = 0
    items_supervised: int = 0
    items_online: int = 0
    cases: int = 0
    cases_supervised: int = 0
    cases_fully_online: int = 0
    open_cases: int = 0
    alerts: dict | None = None

    @staticmethod
    def share(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def items_supervised_pct(self):
        return self.share(self.items_supervised, self.items)

    @property
    def cases_supervised_pct(self):
        return self.share(self.cases_supervised, self.cases)


# The plans' own floor: every item applied for online and supervised, most
# cases handled fully online (全程网办).
TARGETS = {"items_online": 100.0, "items_supervised": 100.0, "cases_fully_online": 90.0}


def _supervised(rules, item_id: int, agency_id: int) -> bool:
    """An item is under supervision when an enabled deadline rule applies to it."""
    return any(r.applies(item_id, agency_id) for r in rules)


def coverage(*, actor) -> list[AgencyRow]:
    """Per agency: items and cases, and the shares under supervision and online."""
    from yizhan.catalog.models import OnlineDepth, offered_online
    from yizhan.catalog.selectors import published_versions

    if not permissions.monitor(actor):
        raise PermissionDenied(action="monitor")
    agencies = permissions.alert_agencies(actor)
    deadline_rules = [r for r in active_rules() if r.check.target == "case"]
    rows: dict[int, AgencyRow] = {}

    def row(agency_id, name):
        return rows.setdefault(agency_id, AgencyRow(agency_id, name, alerts={}))

    # The items on offer, the public catalog's: a cancelled or suspended item,
    # or one of a closed agency, takes no applications and is no part of the
    # coverage.
    versions = published_versions()
    if agencies is not None:
        versions = versions.filter(item__agency_id__in=agencies)
    supervised_items = set()
    fully_online = set()
    # Four columns, not every published version's process and search text.
    for item_id, agency_id, name, depth in versions.values_list(
            "item_id", "item__agency_id", "item__agency__name", "online_depth"):
        r = row(agency_id, name)
        r.items += 1
        if offered_online(depth):
            r.items_online += 1
        if depth >= OnlineDepth.FULLY_ONLINE:
            fully_online.add(item_id)
        if _supervised(deadline_rules, item_id, agency_id):
            r.items_supervised += 1
            supervised_items.add(item_id)
    cases = case_selectors.submitted_cases().filter(kind=Case.Kind.APPROVAL)
    if agencies is not None:
        cases = cases.filter(agency_id__in=agencies)
    for agency_id, name, item_id, channel, status, n in (
            cases.values_list("agency_id", "agency__name", "item_version__item_id", "channel",
                              "status").annotate(n=Count("id")).order_by()):
        r = row(agency_id, name)
        r.cases += n
        if item_id in supervised_items or _supervised(deadline_rules, item_id, agency_id):
            r.cases_supervised += n
        if channel == "online" and item_id in fully_online:
            r.cases_fully_online += n
        if status in Case.OPEN_STATUSES:
            r.open_cases += n
    alerts = Alert.objects.filter(status=Alert.Status.OPEN)
    if agencies is not None:
        alerts = alerts.filter(agency_id__in=agencies)
    for agency_id, name, level, n in (alerts.values_list("agency_id", "agency__name", "level")
                                      .annotate(n=Count("id")).order_by()):
        row(agency_id, name).alerts[level] = n
    return sorted(rows.values(), key=lambda r: (-(r.alerts or {}).get(Level.RED, 0), r.name))


@dataclass(frozen=True)
class HandlingTime:
    item_id: int
    name: str
    cases: int
    average: float
    p90: int
    limit: int
    over_limit: int


def handling_times(*, actor, days: int = 90) -> list[HandlingTime]:
    """Working days from acceptance to decision, per item, against its promised limit.

    Cases decided in the last ``days`` days; paused days do not count.
    """
    from yizhan.workdays.selectors import calendar_current

    if not permissions.monitor(actor):
        raise PermissionDenied(action="monitor")
    agencies = permissions.alert_agencies(actor)
    since = timezone.now() - datetime.timedelta(days=days)
    cases = Case.objects.filter(kind=Case.Kind.APPROVAL, decided_at__gte=since,
                                accepted_at__isnull=False)
    if agencies is not None:
        cases = cases.filter(agency_id__in=agencies)
    calendar = calendar_current()
    tz = timezone.get_default_timezone()
    used: dict[int, list[int]] = {}
    about: dict[int, tuple[str, int]] = {}
    for item_id, name, limit, accepted, decided, paused in cases.values_list(
            "item_version__item_id", "item_version__name", "item_version__promised_limit",
            "accepted_at", "decided_at", "paused_workdays"):
        days_used = calendar.count_workdays(accepted.astimezone(tz).date(),
                                            decided.astimezone(tz).date()).days
        used.setdefault(item_id, []).append(max(0, days_used - paused))
        about[item_id] = (name, limit)
    rows = []
    for item_id, values in used.items():
        values.sort()
        name, limit = about[item_id]
        p90 = values[min(len(values) - 1, max(0, -(-9 * len(values) // 10) - 1))]
        rows.append(HandlingTime(item_id, name, len(values), round(sum(values) / len(values), 1),
                                 p90, limit, sum(1 for v in values if v > limit)))
    return sorted(rows, key=lambda r: (-r.over_limit, -r.p90, r.name))


@dataclass(frozen=True)
class Dashboard:
    rows: list[AgencyRow]
    totals: AgencyRow
    by_level: dict
    by_day: list[tuple]
    recent: list[Alert]
    targets: dict
    actual: dict
    handling: list[HandlingTime]


def dashboard(*, actor, days: int = 30) -> Dashboard:
    rows = coverage(actor=actor)
    totals = AgencyRow(0, "", alerts={})
    for r in rows:
        for name in ("items", "items_supervised", "items_online", "cases", "cases_supervised",
                     "cases_fully_online", "open_cases"):
            setattr(totals, name, getattr(totals, name) + getattr(r, name))
        for level, n in (r.alerts or {}).items():
            totals.alerts[level] = totals.alerts.get(level, 0) + n
    since = timezone.now() - datetime.timedelta(days=days)
    visible = _visible(actor)
    # Counted by the database, per local day: a month of a city's alerts is
    # not read row by row.
    counts = Counter({(day, level): n for day, level, n in (
        visible.filter(raised_at__gte=since)
        .annotate(day=TruncDate("raised_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "level").annotate(n=Count("id")).order_by())})
    days_seen = sorted({d for d, _level in counts})
    by_day = [(d, counts[(d, Level.YELLOW)], counts[(d, Level.RED)], counts[(d, Level.NOTICE)])
              for d in days_seen]
    actual = {
        "items_online": AgencyRow.share(totals.items_online, totals.items),
        "items_supervised": AgencyRow.share(totals.items_supervised, totals.items),
        "cases_fully_online": AgencyRow.share(totals.cases_fully_online, totals.cases),
    }
    return Dashboard(rows=rows, totals=totals, by_level=dict(totals.alerts or {}),
                     by_day=by_day, recent=list(visible.filter(status=Alert.Status.OPEN)[:20]),
                     targets=TARGETS, actual=actual, handling=handling_times(actor=actor))


# --- supervision notices (监察督办) ------------------------------------------------

def notices_for(*, actor, open_only: bool = False, agency_id: int | None = None
                ) -> QuerySet[Case]:
    """The notices ``actor`` may read: to the agencies in their scope, or by their office."""
    agencies = permissions.notice_agencies(actor)
    queryset = Case.objects.filter(kind=Case.Kind.NOTICE).select_related("agency",
                                                                         "submitted_by")
    if agencies is not None:
        # The office holds the step that checks each reply: its officers see
        # the notices they issued through it.
        mine = Case.objects.filter(kind=Case.Kind.NOTICE).filter(
            Q(agency_id__in=agencies) | Q(tasks__agency_id__in=agencies)).values("pk")
        queryset = queryset.filter(pk__in=mine)
    if open_only:
        queryset = queryset.filter(status__in=Case.OPEN_STATUSES)
    if agency_id:
        queryset = queryset.filter(agency_id=agency_id)
    return queryset.order_by("-submitted_at", "-id")


def notice_facts_draft(alerts, *, limit: int) -> str:
    """The 发现的问题 the notice form proposes: a line per alert, its case, rule and message.

    The officer did not write it, so it must never be what gets the notice
    refused: when the lines of many alerts (up to a hundred) would exceed
    ``limit``, the longest messages are shortened to an equal share of the
    room (short ones stay whole).  Nothing is lost: the notice records its
    alerts, shown in full with it.
    """
    heads = [f"{a.case.number or a.case_id}：{a.rule.code}" for a in alerts]
    # Each line is its head, a space and its message; lines end with "\n".
    room = limit - sum(len(head) + 2 for head in heads) + 1
    share = _equal_share([len(a.message) for a in alerts], room)
    lines = [f"{head} {_shortened(a.message, share)}".rstrip()
             for head, a in zip(heads, alerts, strict=True)]
    text = ""
    for line in lines:
        # Only when even the heads do not fit (rule codes of twenty characters):
        # the whole lines that do.
        longer = f"{text}\n{line}" if text else line
        if len(longer) > limit:
            break
        text = longer
    return text


def _equal_share(lengths: list[int], room: int) -> int | None:
    """The most characters each text keeps so that all fit in ``room`` (None: all fit)."""
    if sum(lengths) <= room:
        return None
    room = max(0, room)
    ordered = sorted(lengths)
    for index, length in enumerate(ordered):
        left = len(ordered) - index
        if length * left > room:
            return room // left
        room -= length
    return None


def _shortened(text: str, most: int | None) -> str:
    if most is None or len(text) <= most:
        return text
    return f"{text[:most - 1]}…" if most > 0 else ""


@dataclass(frozen=True)
class Notice:
    case: Case
    alerts: list[Alert]
    open_task: object
    remaining: int | None


def notice_detail(*, actor, case_id: int) -> Notice:
    """A notice with its alerts, every reply and check, and the days left to the open step."""
    from yizhan.cases.models import Task
    from yizhan.workdays.selectors import calendar_current

    case = case_selectors.case_detail(actor=actor, case_id=case_id)
    if case.kind != Case.Kind.NOTICE:
        raise NotFound()
    alerts = list(Alert.objects.filter(notice=case).select_related("rule", "case", "agency",
                                                                   "post", "responsible"))
    open_task = next((t for t in case.task_list
                      if t.status in (Task.Status.OPEN, Task.Status.CLAIMED)), None)
    remaining = None
    if open_task is not None:
        remaining = clock.remaining(calendar=calendar_current(), now=timezone.now(),
                                    due=open_task.due_at)
    return Notice(case=case, alerts=alerts, open_task=open_task, remaining=remaining)
