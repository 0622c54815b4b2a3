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
import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from yizhan.cases import clock
from yizhan.cases.models import Case, CaseEvent, EventType, Task
from yizhan.cases.signals import deadlines_moved
from yizhan.core.tasks import enqueue
from yizhan.supervision import checks
from yizhan.supervision.models import Alert, Rule, RulesetVersion
from yizhan.workdays.selectors import calendar_current

log = logging.getLogger(__name__)

BATCH = 1000
# A limit ends at the last instant of its last day; it has passed one tick later.
_AFTER = dt.timedelta(microseconds=1)
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
        number = RulesetVersion.objects.filter(pk=1).values_list("number", flat=True).first() or 0
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
            self.number = number
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
    if case.kind != Case.Kind.APPROVAL:
        # The procedure, fee and online rules are about approvals; the
        # office's own notices are watched by their step limits (the sweep).
        return
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
        if not raised:
            post_id = _post_of(event.actor_id, agency_id)
        raised.append({
            "key": f"{rule.code}:e{event.pk}", "rule_id": rule.id, "rule_version": rule.version,
            "level": rule.level, "case_id": case.pk, "task_id": event.task_id,
            "agency_id": agency_id, "post_id": post_id, "responsible_id": event.actor_id,
            "message": message[:300],
            "evidence": {"events": [event.pk], **finding.evidence}, "raised_at": event.at})
    # The keys name this event, appended a moment ago: none can exist yet, and
    # the insert skips a conflict anyway.
    _insert_rows(raised)


# --- deadlines counted again -----------------------------------------------------------

def on_deadlines_moved(sender, *, case, moved, cause="calendar", **kwargs) -> None:
    """The calendar, or a pause given back, moved deadlines of ``case``
    (inside the step's transaction): the open alerts about the old ones are
    cleared by the system, saying why, and the sweep raises what the new
    ones call for."""
    from yizhan.supervision.services import SUPERSEDED_BECAUSE, alerts_clear_superseded

    alerts_clear_superseded(case=case, moved=moved, reason=SUPERSEDED_BECAUSE[cause])


deadlines_moved.connect(on_deadlines_moved, dispatch_uid="supervision.deadlines_moved")


def _post_of(user_id: int | None, agency_id: int) -> int | None:
    if user_id is None:
        return None
    from yizhan.directory.models import Posting

    return (Posting.objects.filter(user_id=user_id, post__agency_id=agency_id)
            .values_list("post_id", flat=True).first())


def _insert_rows(rows: list[dict]) -> list[str]:
    """Insert alerts (dicts of the columns ``_ALERT_INSERT`` takes) found not raised before.

    Returns, and notifies about, the keys this call inserted: an alert that
    a concurrent sweep inserted since they were looked for is neither
    written again nor announced again.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        new_keys = _insert_postgresql(rows)
    else:
        new = [Alert(**row) for row in rows]
        # The unique key keeps one of two concurrent inserts; this one skips it.
        Alert.objects.bulk_create(new, ignore_conflicts=True, batch_size=BATCH)
        new_keys = [a.key for a in new]
    if new_keys:
        enqueue("supervision.notify_alerts", keys=new_keys)
    return new_keys


def _existing_keys(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    if connection.vendor != "postgresql":
        return set(Alert.objects.filter(key__in=keys).values_list("key", flat=True))
    # Thousands of keys: one JSON parameter, not thousands of placeholders.
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM supervision_alert "
                       "WHERE key IN (SELECT jsonb_array_elements_text(%s::jsonb))",
                       [json.dumps(keys)])
        return {key for (key,) in cursor.fetchall()}


def _insert_postgresql(rows: list[dict]) -> list[str]:
    """One statement for the lot: the rows travel as one JSON document.

    Each row is a few values; sent as query parameters, quoting them costs
    more than the insert itself.  ``evidence`` is encoded as its JSONField
    would encode it; ``raised_at`` keeps its microseconds.
    """
    document = json.dumps(
        [{**row, "raised_at": row["raised_at"].isoformat()} for row in rows],
        cls=DjangoJSONEncoder, ensure_ascii=False)
    with connection.cursor() as cursor:
        cursor.execute(_ALERT_INSERT, [Alert.Status.OPEN, document])
        return [key for (key,) in cursor.fetchall()]


# Every column of ``Alert`` but ``notice`` (an alert is raised without one): a
# field added to the model must be added here too.
_ALERT_INSERT = (
    "INSERT INTO supervision_alert (key, rule_id, rule_version, level, case_id, task_id, "
    "agency_id, post_id, responsible_id, message, evidence, raised_at, status, cleared_at, "
    "cleared_by_id, cleared_reason) "
    "SELECT r.key, r.rule_id, r.rule_version, r.level, r.case_id, r.task_id, r.agency_id, "
    "r.post_id, r.responsible_id, r.message, r.evidence, r.raised_at, %s, NULL, NULL, '' "
    "FROM jsonb_to_recordset(%s::jsonb) AS r(key text, rule_id bigint, rule_version integer, "
    "level text, case_id bigint, task_id bigint, agency_id bigint, post_id bigint, "
    "responsible_id bigint, message text, evidence jsonb, raised_at timestamptz) "
    "ON CONFLICT (key) DO NOTHING RETURNING key")


# --- the sweep ---------------------------------------------------------------------

@dataclass
class SweepResult:
    cases: int = 0
    alerts: int = 0
    batches: int = 0


_FIELDS = ("id", "status", "agency_id", "item_version__item_id",
           "item_version__promised_limit", "accepted_at", "decided_at", "promised_due",
           "promised_provisional", "statutory_due", "due_provisional", "paused_since",
           "paused_workdays", "next_check_at")
_TASK_FIELDS = ("id", "case_id", "name", "title", "agency_id", "role", "claimed_by_id",
                "created_at", "due_from", "due_at", "due_provisional")
_LIVE = (Case.Status.SUBMITTED, Case.Status.IN_PROGRESS, Case.Status.APPROVED)

# What the sweep's alerts say, by check: in Chinese, as the notifications that
# carry them are.  Translated once per sweep, not once per alert.
_TEXTS = {
    "pause_too_long": _("暂停计时已超过 %(n)s 个工作日。"),
    "case_warning": _("办件将于 %(due)s 到达承诺期限。"),
    "case_promised_overdue": _("办件已超过承诺期限（%(due)s）。"),
    "case_statutory_overdue": _("办件已超过法定期限（%(due)s）。"),
    "task_warning": _("“%(task)s”环节将于 %(due)s 到期。"),
    "task_overdue": _("“%(task)s”环节已超过时限（%(due)s）。"),
    "transfer_late": _("下级初审超过 %(n)s 个工作日仍未报送上级机关。"),
    # After the date of a deadline counted into a year whose holidays are
    # not published yet: it moves when they are, as every page marks it.
    "provisional": _("（暂定）"),
}


def sweep(now: dt.datetime | None = None) -> SweepResult:
    """Raise every timeliness alert due at ``now`` and plan each case's next look.

    The due cases are read in batches of ``BATCH`` in (``next_check_at``, id)
    order, each batch's alerts and next looks committed together: memory is
    that of one batch, and a sweep that stops half-way has lost nothing.
    """
    now = now or timezone.now()
    by_target: dict[str, list[ActiveRule]] = defaultdict(list)
    for rule in active_rules():
        if rule.check.target:
            by_target[rule.check.target].append(rule)
    calendar = calendar_current()
    tz = timezone.get_default_timezone()
    with translation.override("zh-hans"):
        texts = {name: str(text) for name, text in _TEXTS.items()}
    result = SweepResult()
    last = None
    while True:
        queryset = Case.objects.filter(next_check_at__lte=now)
        if last is not None:
            # The lower bound lets the index scan start where the last batch
            # ended; the OR alone is only a filter, so each batch would read
            # again every due case before it.
            queryset = queryset.filter(Q(next_check_at__gt=last[0])
                                       | Q(next_check_at=last[0], id__gt=last[1]),
                                       next_check_at__gte=last[0])
        rows = _values(queryset.order_by("next_check_at", "id").values(*_FIELDS)[:BATCH])
        if not rows:
            break
        last = (rows[-1]["next_check_at"], rows[-1]["id"])
        result.batches += 1
        result.cases += len(rows)
        planner = _Planner(by_target, calendar, tz, now, rows, texts)
        with transaction.atomic():
            alerts, updates = planner.run()
            result.alerts += len(_insert_rows(alerts))
            _move_next_checks(updates)
        if len(rows) < BATCH:
            break
    return result


def line_key(code: str, case_id: int, task_id: int | None, anchor: dt.datetime) -> str:
    """The key of the alert rule ``code`` raises for a line of a case (or of
    one of its tasks) that belongs to ``anchor``: the deadline, the pause.

    ``task_id`` is None for a limit of the case even when a step holds it
    (SX-06's twenty days): one lapse is one alert whichever step held it.
    """
    return f"{code}:{case_id}:{task_id or 0}:{int(anchor.timestamp())}"


# The sweep's checks whose lines belong to a deadline, by what they count to
# (as ``deadlines_moved`` names it): their alerts are about that deadline.
ANCHORED_CHECKS = {
    "promised_due": ("case_warning", "case_promised_overdue"),
    "statutory_due": ("case_statutory_overdue",),
    "tasks": ("task_warning", "task_overdue"),
}


def superseded_keys(case_id: int, moved: dict) -> list[str]:
    """The keys of the alerts about deadlines of a case that were counted again.

    ``moved`` is what ``deadlines_moved`` sends: each deadline that moved,
    as [old, new].  Every rule of an anchored check counts, switched off or
    not: its alert raised before still names the old deadline.
    """
    codes = defaultdict(list)
    checks_by_name = {name: what for what, names in ANCHORED_CHECKS.items() for name in names}
    for code, check_code in Rule.objects.filter(
            check_code__in=checks_by_name).values_list("code", "check_code"):
        codes[checks_by_name[check_code]].append(code)
    keys = []
    # A deadline that had no value before (none counted yet) had no alert.
    for what in ("promised_due", "statutory_due"):
        if what in moved and moved[what][0] is not None:
            keys += [line_key(code, case_id, None, moved[what][0]) for code in codes[what]]
    for task_id, (old, _new) in (moved.get("tasks") or {}).items():
        if old is not None:
            keys += [line_key(code, case_id, task_id, old) for code in codes["tasks"]]
    return keys


class _Line(NamedTuple):
    """A line a case has crossed: what its alert says, once it is known to be new."""

    key: str
    rule: ActiveRule
    row: dict
    holder: dict | None
    task: dict | None
    moment: dt.datetime
    fields: dict
    evidence: dict


class _Planner:
    """Works out, for one batch of due cases, what has fired and when to look next.

    Alerts come out as dicts of their columns, not model instances: a
    batch can raise thousands, and building models cost more than inserting.
    """

    def __init__(self, by_target, calendar, tz, now, rows, texts):
        self.by_target, self.calendar, self.tz, self.now = by_target, calendar, tz, now
        self.rows, self.texts = rows, texts
        ids = [row["id"] for row in rows]
        self.tasks: dict[int, list[dict]] = defaultdict(list)
        if by_target.get("task") or by_target.get("case"):
            for task in _values(Task.objects.filter(
                    case_id__in=ids, status__in=[Task.Status.OPEN, Task.Status.CLAIMED])
                    .order_by("created_at", "id").values(*_TASK_FIELDS)):
                self.tasks[task["case_id"]].append(task)
        self.posts: dict[tuple[int, str], int] = {}
        self.accepted_events: dict[int, int] = {}
        # The finished pauses of the cases whose clock has stood still: a
        # step's warning counts its own days, not the ones a pause gave back,
        # and the lower level's twenty days (SX-06) move on by them.
        self.pauses: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
        paused = [row["id"] for row in rows
                  if row["paused_workdays"] and row["id"] in self.tasks]
        if paused and by_target.get("task"):
            events: dict[int, list] = defaultdict(list)
            for event in CaseEvent.objects.filter(
                    case_id__in=paused, type__in=[EventType.SUSPENDED, EventType.RESUMED]
            ).order_by("case_id", "at", "id").only("case_id", "type", "at"):
                events[event.case_id].append(event)
            self.pauses = {case_id: clock.pause_spans(found) for case_id, found in events.items()}

    def run(self) -> tuple[list[dict], list[tuple]]:
        """The batch's new alerts, and each case's next look.

        Each look works out every line a case has crossed, and most of them
        were raised at an earlier look: those are recognised by their keys
        before anything else of their alerts is written out.
        """
        lines: list[_Line] = []
        updates = []
        for row in self.rows:
            crossed, upcoming = self._plan(row)
            lines.extend(crossed)
            updates.append((row["id"], row["next_check_at"], min(upcoming, default=None)))
        existing = _existing_keys([line.key for line in lines])
        lines = [line for line in lines if line.key not in existing]
        # What only new alerts need is read for them alone: in steady
        # running most lines crossed were raised at an earlier look.
        self.posts = _posts_for({(line.holder["agency_id"], line.holder["role"])
                                 for line in lines if line.holder})
        cases = {line.row["id"] for line in lines if line.rule.check.target == "case"}
        if cases:
            self.accepted_events = dict(CaseEvent.objects.filter(
                case_id__in=cases, type=EventType.ACCEPTED).values_list("case_id", "id"))
        return [self._alert(line) for line in lines], updates

    def _plan(self, row):
        fired: list[_Line] = []
        upcoming: list[dt.datetime] = []
        status = row["status"]
        item_id, agency_id = row["item_version__item_id"], row["agency_id"]
        tasks = self.tasks.get(row["id"], ())

        def consider(rule, moment, *, anchor, task=None, case_line=False, fields=None,
                     evidence=None):
            # Only the key is made here: the rest of an alert is written
            # out (``_alert``) once it is known not to have been raised.
            # A line is crossed from its moment on: a warning from the start
            # of its day, a deadline from the instant after the limit ends
            # (``_AFTER``; at 23:59:59.999999 of its last day it has not).
            if moment is None:
                return
            if moment > self.now:
                upcoming.append(moment)
                return
            # The key names what the line belongs to (the deadline, the
            # pause), not where the line lies: moving a threshold does not
            # raise a line already crossed again, a new deadline does.  A
            # limit of the case that a step holds (``case_line``) is keyed
            # without the step: the next step to hold it finds its alert.
            key_task = task["id"] if task and not case_line else None
            fired.append(_Line(
                line_key(rule.code, row["id"], key_task, anchor), rule, row,
                task or _case_holder(tasks, row["agency_id"]), task, moment, fields or {},
                evidence or {}))

        if status == Case.Status.SUSPENDED:
            for rule in self.by_target.get("pause", ()):
                if rule.applies(item_id, agency_id) and row["paused_since"]:
                    moment = self.calendar.deadline(row["paused_since"], rule.params["workdays"],
                                                    self.tz).at
                    consider(rule, moment, anchor=row["paused_since"],
                             fields={"n": rule.params["workdays"]},
                             evidence={"paused_since": row["paused_since"]})
            return fired, upcoming
        if status not in _LIVE:
            return fired, upcoming
        if row["accepted_at"] and row["decided_at"] is None and status == Case.Status.IN_PROGRESS:
            self._case_rules(row, consider)
        for task in tasks:
            self._task_rules(row, task, consider)
        return fired, upcoming

    def _case_rules(self, row, consider):
        item_id, agency_id = row["item_version__item_id"], row["agency_id"]
        for rule in self.by_target.get("case", ()):
            if not rule.applies(item_id, agency_id):
                continue
            name = rule.check.name
            promised = _deadline(row["promised_due"], row["promised_provisional"])
            if name == "case_warning" and row["promised_due"]:
                moment = checks.warning_moment(
                    self.calendar, self.tz, start=row["accepted_at"], due=row["promised_due"],
                    limit=row["item_version__promised_limit"], paused=row["paused_workdays"],
                    share=rule.params["share"], days_before=rule.params["days_before"])
                consider(rule, moment, anchor=row["promised_due"], fields=promised,
                         evidence=promised)
            elif name == "case_promised_overdue" and row["promised_due"]:
                consider(rule, row["promised_due"] + _AFTER, anchor=row["promised_due"],
                         fields=promised, evidence=promised)
            elif name == "case_statutory_overdue" and row["statutory_due"]:
                # ``due_provisional`` is the statutory deadline's own mark.
                statutory = _deadline(row["statutory_due"], row["due_provisional"])
                consider(rule, row["statutory_due"] + _AFTER, anchor=row["statutory_due"],
                         fields=statutory, evidence=statutory)

    def _task_rules(self, row, task, consider):
        item_id = row["item_version__item_id"]
        for rule in self.by_target.get("task", ()):
            if not rule.applies(item_id, task["agency_id"]):
                continue
            name = rule.check.name
            due = task["due_at"]
            deadline = _deadline(due, task["due_provisional"])
            if name == "task_warning" and due:
                # The step's limit runs from when it began (for acceptance
                # after a correction, the resubmission) and its due was moved
                # on by the working days each pause since then took: those
                # are neither time used nor part of its own limit, as for
                # the case's warning.
                start = task["due_from"] or task["created_at"]
                paused = self._paused_since(row, start)
                span = self.calendar.count_workdays(start.astimezone(self.tz).date(),
                                                    due.astimezone(self.tz).date()).days
                moment = checks.warning_moment(
                    self.calendar, self.tz, start=start, due=due, limit=max(1, span - paused),
                    paused=paused, share=rule.params["share"],
                    days_before=rule.params["days_before"])
                consider(rule, moment, anchor=due, task=task,
                         fields={"task": task["title"], **deadline}, evidence=deadline)
            elif name == "task_overdue" and due:
                consider(rule, due + _AFTER, anchor=due, task=task,
                         fields={"task": task["title"], **deadline}, evidence=deadline)
            elif name == "transfer_late" and task["name"].startswith(rule.params["task"]):
                # 《行政许可法》第四十三条: the lower agency sends the case up
                # within twenty days of accepting it.  Counted from the
                # acceptance, not from this step: a first review given back
                # by the upper agency does not start the twenty days again,
                # and a late one is one lapse of the case's limit, however
                # many first reviews hold it in turn (keyed without the
                # step).  第四十五条 takes the time of 检验、检测、鉴定、专家
                # 评审 (and 现场勘验) out of every limit of 第四十二条 to
                # 第四十五条, these twenty days included: the line moves on
                # by the working days the pauses since acceptance took, as
                # the case's own deadlines do.  The anchor stays the
                # acceptance, so the line keeps its key when it moves.
                start = row["accepted_at"] or task["created_at"]
                workdays = rule.params["workdays"] + self._paused_since(row, start)
                due = self.calendar.deadline(start, workdays, self.tz).at
                consider(rule, due + _AFTER, anchor=start, task=task, case_line=True,
                         fields={"n": rule.params["workdays"]}, evidence={"due": due})

    def _paused_since(self, row, start: dt.datetime) -> int:
        """Working days the case's finished pauses begun at or after ``start``
        took: time the law excludes from a limit counted from ``start``.

        Read only for cases whose clock has stood still (``self.pauses``);
        a case paused now has its pause watched instead (``_plan``).
        """
        return clock.paused_in(calendar=self.calendar, spans=self.pauses.get(row["id"], ()),
                               after=start)

    def _alert(self, line: _Line) -> dict:
        rule, row, holder, fields, evidence = (line.rule, line.row, line.holder, line.fields,
                                                line.evidence)
        if "due" in fields:
            day = _day(fields["due"], self.tz)
            if fields.get("provisional"):
                day += self.texts["provisional"]
            fields = {**fields, "due": day}
        if rule.check.target == "case":
            event = self.accepted_events.get(row["id"])
            evidence = {"events": [event] if event else [], **evidence}
        return {
            "key": line.key, "rule_id": rule.id, "rule_version": rule.version,
            "level": rule.level, "case_id": row["id"],
            "task_id": line.task["id"] if line.task else None,
            "agency_id": holder["agency_id"] if holder else row["agency_id"],
            "post_id": self.posts.get((holder["agency_id"], holder["role"])) if holder else None,
            "responsible_id": holder["claimed_by_id"] if holder else None,
            "message": (self.texts[rule.check.name] % fields)[:300],
            "evidence": {**evidence, "moment": line.moment},
            "raised_at": self.now,
        }


def _values(queryset) -> list[dict]:
    """The rows of a ``values()`` queryset, as ``list(queryset)`` gives them.

    On PostgreSQL they are read with psycopg's own timestamptz loader.  The
    one Django installs (to give datetimes the connection's time zone) is
    written in Python, and a batch holds thousands of timestamps: reading
    them took a fifth of the sweep's processor time in this process.
    psycopg's gives the same instants in the session's time zone, which
    Django sets to that same zone.
    """
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        adapters = getattr(cursor.cursor, "adapters", None)
        if adapters is None:   # not psycopg 3
            return list(queryset)
        from psycopg import adapters as default_adapters
        from psycopg.pq import Format

        oid = default_adapters.types["timestamptz"].oid
        adapters.register_loader(oid, default_adapters.get_loader(oid, Format.TEXT))
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _case_holder(tasks, agency_id: int):
    """Who answers for a case's own limits: the accepting agency's open step.

    For a parallel item that is the lead agency's step, not whichever joint
    review sorts first; with no open step there, the first open one.
    """
    for task in tasks:
        if task["agency_id"] == agency_id:
            return task
    return tasks[0] if tasks else None


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


def _deadline(due: dt.datetime | None, provisional: bool) -> dict:
    """What an alert about deadline ``due`` says of it (its fields and its
    evidence): the date, and ``provisional`` when it was counted into a year
    whose holidays are not published, so the date may still move."""
    return {"due": due, "provisional": True} if provisional else {"due": due}


def _day(value: dt.datetime, tz) -> str:
    return value.astimezone(tz).date().isoformat()


def _move_next_checks(updates: list[tuple[int, dt.datetime, dt.datetime | None]]) -> None:
    """Set each case's next look, unless the case engine changed it meanwhile."""
    if not updates:
        return
    if connection.vendor == "postgresql":
        # One JSON document, as for the alerts; isoformat keeps the
        # microseconds the compare-and-set needs.
        document = json.dumps([
            {"id": case_id, "old": old.isoformat(), "next": new.isoformat() if new else None}
            for case_id, old, new in updates])
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE cases_case AS c SET next_check_at = v.next "
                "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, old timestamptz, "
                "next timestamptz) WHERE c.id = v.id AND c.next_check_at = v.old", [document])
        return
    for case_id, old, new in updates:
        Case.objects.filter(pk=case_id, next_check_at=old).update(next_check_at=new)
