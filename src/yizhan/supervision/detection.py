"""Detection: rules applied on each case event, and the timeliness sweep.

On-event checks run inside the transaction that appends the event (the case
engine calls ``on_event`` for every append), so an alert commits with the
step that caused it, within the same second.  The rules are read from a
per-process cache that is reloaded when ``RulesetVersion`` moves (looked at
no more than once a second), so most events cost no query at all.

The sweep reads only cases whose ``next_check_at`` has passed.  The case
engine sets it to "now" whenever a case's clock or tasks change; the sweep
then works out when the case will next cross a line (a yellow point, a
deadline, a pause limit), raises what has already been crossed and sets
``next_check_at`` to the next line, or clears it.  Its cost grows with the
cases due, not with the cases open.  Alerts have unique keys, so running a
sweep twice, or two sweeps at once, never raises one twice; the update of
``next_check_at`` only applies if nobody changed it meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from yizhan.cases.models import Case, CaseEvent, EventType, Task
from yizhan.core.tasks import enqueue
from yizhan.supervision import checks
from yizhan.supervision.models import Alert, Rule, RulesetVersion
from yizhan.workdays.selectors import calendar_current

log = logging.getLogger(__name__)

BATCH = 1000
RULES_TTL = 1.0   # seconds between looks at RulesetVersion


@dataclass(frozen=True)
class ActiveRule:
    id: int
    code: str
    name: str
    check: checks.Check
    level: str
    params: dict
    version: int
    item_ids: frozenset[int]
    agency_ids: frozenset[int]

    def applies(self, item_id: int, agency_id: int) -> bool:
        return ((not self.item_ids or item_id in self.item_ids)
                and (not self.agency_ids or agency_id in self.agency_ids))


class _RuleCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        self.number = None
        self.looked = 0.0
        self.rules: list[ActiveRule] = []
        self.by_event: dict[str, list[ActiveRule]] = {}

    def get(self) -> _RuleCache:
        now = time.monotonic()
        with self.lock:
            if self.number is not None and now - self.looked < RULES_TTL:
                return self
        number = RulesetVersion.objects.filter(pk=1).values_list("number", flat=True).first()
        with self.lock:
            self.looked = now
            if number == self.number and self.number is not None:
                return self
        rules = _load_rules()
        by_event: dict[str, list[ActiveRule]] = defaultdict(list)
        for rule in rules:
            for event_type in rule.check.events:
                by_event[event_type].append(rule)
        with self.lock:
            self.number = number if number is not None else 0
            self.rules = rules
            self.by_event = dict(by_event)
        return self


def _load_rules() -> list[ActiveRule]:
    found = []
    queryset = Rule.objects.filter(enabled=True).prefetch_related("items", "agencies")
    for rule in queryset:
        check = checks.CHECKS.get(rule.check_code)
        if check is None:
            log.error("supervision rule %s names an unknown check %r", rule.code, rule.check_code)
            continue
        params = {**checks.defaults(check), **(rule.params or {})}
        found.append(ActiveRule(
            id=rule.pk, code=rule.code, name=rule.name, check=check, level=rule.level,
            params=params, version=rule.version,
            item_ids=frozenset(i.pk for i in rule.items.all()),
            agency_ids=frozenset(a.pk for a in rule.agencies.all())))
    return found


_rules = _RuleCache()


def rules_cache_clear() -> None:
    """Forget the cached rules (after a rule change in this process, and in tests)."""
    _rules.clear()


def active_rules() -> list[ActiveRule]:
    return _rules.get().rules


# --- on each event ------------------------------------------------------------------

def on_event(event: CaseEvent) -> None:
    """Apply the on-event rules to one case event (inside its transaction)."""
    rules = _rules.get().by_event.get(event.type)
    if not rules:
        return
    case = event.case
    item_id = case.item_version.item_id
    agency_id = event.agency_id or case.agency_id
    seen: list[str] | None = None

    def history() -> list[str]:
        nonlocal seen
        if seen is None:
            seen = list(CaseEvent.objects.filter(case_id=case.pk).values_list("type", flat=True))
        return seen

    raised = []
    for rule in rules:
        if not rule.applies(item_id, agency_id):
            continue
        with translation.override("zh-hans"):
            finding = rule.check.detect(event, case, rule.params, history)
            if finding is None:
                continue
            message = str(finding.message)
        raised.append(Alert(
            key=f"{rule.code}:e{event.pk}", rule_id=rule.id, rule_version=rule.version,
            level=rule.level, case_id=case.pk, task_id=event.task_id, agency_id=agency_id,
            post_id=_post_of(event.actor_id, agency_id), responsible_id=event.actor_id,
            message=message[:300],
            evidence={"events": [event.pk], **finding.evidence}, raised_at=event.at))
    if raised:
        _insert(raised)


def _post_of(user_id: int | None, agency_id: int) -> int | None:
    if user_id is None:
        return None
    from yizhan.directory.models import Posting

    return (Posting.objects.filter(user_id=user_id, post__agency_id=agency_id)
            .values_list("post_id", flat=True).first())


def _insert(alerts: list[Alert]) -> list[str]:
    """Insert the alerts not raised before; return their keys and notify about them."""
    keys = [a.key for a in alerts]
    existing = set(Alert.objects.filter(key__in=keys).values_list("key", flat=True))
    new = [a for a in alerts if a.key not in existing]
    if not new:
        return []
    # A concurrent sweep may insert the same keys between the read and the
    # write: the unique key keeps one, and this insert skips it.
    Alert.objects.bulk_create(new, ignore_conflicts=True, batch_size=BATCH)
    new_keys = [a.key for a in new]
    enqueue("supervision.notify_alerts", keys=new_keys)
    return new_keys


# --- the sweep ---------------------------------------------------------------------

@dataclass
class SweepResult:
    cases: int = 0
    alerts: int = 0
    batches: int = 0


_FIELDS = ("id", "status", "agency_id", "item_version__item_id",
           "item_version__promised_limit", "accepted_at", "decided_at", "promised_due",
           "statutory_due", "paused_since", "paused_workdays", "next_check_at")
_TASK_FIELDS = ("id", "case_id", "name", "title", "agency_id", "role", "claimed_by_id",
                "created_at", "due_at")
_LIVE = (Case.Status.SUBMITTED, Case.Status.IN_PROGRESS, Case.Status.APPROVED)


def sweep(now: dt.datetime | None = None) -> SweepResult:
    """Raise every timeliness alert due at ``now`` and plan each case's next look."""
    now = now or timezone.now()
    by_target: dict[str, list[ActiveRule]] = defaultdict(list)
    for rule in active_rules():
        if rule.check.target:
            by_target[rule.check.target].append(rule)
    calendar = calendar_current()
    tz = timezone.get_default_timezone()
    result = SweepResult()
    last = None
    while True:
        queryset = Case.objects.filter(next_check_at__lte=now)
        if last is not None:
            queryset = queryset.filter(Q(next_check_at__gt=last[0])
                                       | Q(next_check_at=last[0], id__gt=last[1]))
        rows = list(queryset.order_by("next_check_at", "id").values(*_FIELDS)[:BATCH])
        if not rows:
            break
        last = (rows[-1]["next_check_at"], rows[-1]["id"])
        result.batches += 1
        result.cases += len(rows)
        planner = _Planner(by_target, calendar, tz, now, rows)
        with transaction.atomic():
            alerts, updates = planner.run()
            result.alerts += len(_insert(alerts)) if alerts else 0
            _move_next_checks(updates)
        if len(rows) < BATCH:
            break
    return result


class _Planner:
    """Works out, for one batch of due cases, what has fired and when to look next."""

    def __init__(self, by_target, calendar, tz, now, rows):
        self.by_target, self.calendar, self.tz, self.now = by_target, calendar, tz, now
        self.rows = rows
        ids = [row["id"] for row in rows]
        self.tasks: dict[int, list[dict]] = defaultdict(list)
        if by_target.get("task") or by_target.get("case"):
            for task in (Task.objects.filter(case_id__in=ids,
                                             status__in=[Task.Status.OPEN, Task.Status.CLAIMED])
                         .order_by("created_at", "id").values(*_TASK_FIELDS)):
                self.tasks[task["case_id"]].append(task)
        self.accepted_events = dict(CaseEvent.objects.filter(
            case_id__in=ids, type=EventType.ACCEPTED).values_list("case_id", "id")) \
            if by_target.get("case") else {}
        pairs = {(t["agency_id"], t["role"]) for ts in self.tasks.values() for t in ts}
        self.posts = _posts_for(pairs)

    def run(self):
        alerts, updates = [], []
        for row in self.rows:
            fired, upcoming = self._plan(row)
            alerts.extend(fired)
            updates.append((row["id"], row["next_check_at"], min(upcoming, default=None)))
        return alerts, updates

    def _plan(self, row):
        fired: list[Alert] = []
        upcoming: list[dt.datetime] = []
        status = row["status"]
        item_id, agency_id = row["item_version__item_id"], row["agency_id"]

        def consider(rule, moment, *, task=None, message="", evidence=None):
            if moment is None:
                return
            if moment > self.now:
                upcoming.append(moment)
                return
            holder = task or (self.tasks[row["id"]][0] if self.tasks[row["id"]] else None)
            fired.append(self._alert(rule, row, holder, task, moment, message, evidence or {}))

        if status == Case.Status.SUSPENDED:
            for rule in self.by_target.get("pause", ()):
                if rule.applies(item_id, agency_id) and row["paused_since"]:
                    moment = self.calendar.deadline(row["paused_since"], rule.params["workdays"],
                                                    self.tz).at
                    consider(rule, moment, message=_zh(_("暂停计时已超过 %(n)s 个工作日。"),
                                                       n=rule.params["workdays"]),
                             evidence={"paused_since": row["paused_since"]})
            return fired, upcoming
        if status not in _LIVE:
            return fired, upcoming
        if row["accepted_at"] and row["decided_at"] is None and status == Case.Status.IN_PROGRESS:
            self._case_rules(row, consider)
        for task in self.tasks[row["id"]]:
            self._task_rules(row, task, consider)
        return fired, upcoming

    def _case_rules(self, row, consider):
        item_id, agency_id = row["item_version__item_id"], row["agency_id"]
        evidence = {"events": [e] if (e := self.accepted_events.get(row["id"])) else []}
        for rule in self.by_target.get("case", ()):
            if not rule.applies(item_id, agency_id):
                continue
            name = rule.check.name
            if name == "case_warning" and row["promised_due"]:
                moment = checks.warning_moment(
                    self.calendar, self.tz, start=row["accepted_at"], due=row["promised_due"],
                    limit=row["item_version__promised_limit"], paused=row["paused_workdays"],
                    share=rule.params["share"], days_before=rule.params["days_before"])
                consider(rule, moment, evidence={**evidence, "due": row["promised_due"]},
                         message=_zh(_("办件将于 %(due)s 到达承诺期限。"),
                                     due=_day(row["promised_due"], self.tz)))
            elif name == "case_promised_overdue" and row["promised_due"]:
                consider(rule, row["promised_due"],
                         evidence={**evidence, "due": row["promised_due"]},
                         message=_zh(_("办件已超过承诺期限（%(due)s）。"),
                                     due=_day(row["promised_due"], self.tz)))
            elif name == "case_statutory_overdue" and row["statutory_due"]:
                consider(rule, row["statutory_due"],
                         evidence={**evidence, "due": row["statutory_due"]},
                         message=_zh(_("办件已超过法定期限（%(due)s）。"),
                                     due=_day(row["statutory_due"], self.tz)))

    def _task_rules(self, row, task, consider):
        item_id = row["item_version__item_id"]
        for rule in self.by_target.get("task", ()):
            if not rule.applies(item_id, task["agency_id"]):
                continue
            name = rule.check.name
            due = task["due_at"]
            if name == "task_warning" and due:
                limit = self.calendar.count_workdays(task["created_at"].astimezone(self.tz).date(),
                                                     due.astimezone(self.tz).date()).days
                moment = checks.warning_moment(
                    self.calendar, self.tz, start=task["created_at"], due=due, limit=max(1, limit),
                    paused=0, share=rule.params["share"], days_before=rule.params["days_before"])
                consider(rule, moment, task=task, evidence={"due": due},
                         message=_zh(_("“%(task)s”环节将于 %(due)s 到期。"), task=task["title"],
                                     due=_day(due, self.tz)))
            elif name == "task_overdue" and due:
                consider(rule, due, task=task, evidence={"due": due},
                         message=_zh(_("“%(task)s”环节已超过时限（%(due)s）。"), task=task["title"],
                                     due=_day(due, self.tz)))
            elif name == "transfer_late" and task["name"].startswith(rule.params["task"]):
                moment = self.calendar.deadline(task["created_at"], rule.params["workdays"],
                                                self.tz).at
                consider(rule, moment, task=task, evidence={"due": moment},
                         message=_zh(_("下级初审超过 %(n)s 个工作日仍未报送上级机关。"),
                                     n=rule.params["workdays"]))

    def _alert(self, rule, row, holder, task, moment, message, evidence) -> Alert:
        task_id = task["id"] if task else None
        agency_id = holder["agency_id"] if holder else row["agency_id"]
        post_id = self.posts.get((holder["agency_id"], holder["role"])) if holder else None
        return Alert(
            key=f"{rule.code}:{row['id']}:{task_id or 0}:{int(moment.timestamp())}",
            rule_id=rule.id, rule_version=rule.version, level=rule.level, case_id=row["id"],
            task_id=task_id, agency_id=agency_id, post_id=post_id,
            responsible_id=holder["claimed_by_id"] if holder else None,
            message=message[:300], evidence={**evidence, "moment": moment},
            raised_at=self.now)


def _posts_for(pairs) -> dict[tuple[int, str], int]:
    if not pairs:
        return {}
    from yizhan.directory.models import Post

    agencies = {a for a, _role in pairs}
    found = {}
    for post_id, agency_id, role in (Post.objects.filter(agency_id__in=agencies)
                                     .order_by("id").values_list("id", "agency_id", "role")):
        found.setdefault((agency_id, role), post_id)
    return found


def _zh(template, **fields) -> str:
    """An alert's text: in Chinese, as the notifications that carry it are."""
    with translation.override("zh-hans"):
        return str(template) % fields


def _day(value: dt.datetime, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d")


def _move_next_checks(updates: list[tuple[int, dt.datetime, dt.datetime | None]]) -> None:
    """Set each case's next look, unless the case engine changed it meanwhile."""
    if not updates:
        return
    if connection.vendor == "postgresql":
        values = ", ".join(["(%s, %s::timestamptz, %s::timestamptz)"] * len(updates))
        params = [value for row in updates for value in row]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE cases_case AS c SET next_check_at = v.next "   # noqa: S608 (placeholders only)
                f"FROM (VALUES {values}) AS v(id, old, next) "
                f"WHERE c.id = v.id AND c.next_check_at = v.old", params)
        return
    for case_id, old, new in updates:
        Case.objects.filter(pk=case_id, next_check_at=old).update(next_check_at=new)
