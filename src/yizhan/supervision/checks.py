"""What supervision can check: each rule names one of these checks.

A check knows its kind, the parameters it takes (with their defaults and
bounds, so a rule with an unknown parameter or a bad threshold is refused
with a clear message), and how it detects:

* on-event checks look at one case event as it is appended (procedure, fees,
  online handling) and return a ``Finding`` or None;
* sweep checks (timeliness) say, for a case or one of its tasks, the moment
  at which they fire (``moment``); the sweep raises the alert once that
  moment has passed and otherwise waits for it.

The defaults follow national practice of electronic supervision: yellow at
80 % of a limit or one working day before it ends, red once it has passed;
the lower level's first review within twenty working days
(《行政许可法》第四十三条); one correction notice (第三十二条); refusal with
reasons (第三十八条); a fee only with a basis and within its standard
(第五十八、五十九条).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yizhan.cases.clock import PAUSE_REASONS
from yizhan.cases.models import EventType
from yizhan.core.errors import InvalidInput
from yizhan.supervision.error_codes import SupervisionErrorCode
from yizhan.supervision.models import Kind, Level

E = EventType


@dataclass(frozen=True)
class Param:
    type: type
    default: Any
    label: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None


@dataclass(frozen=True)
class Finding:
    message: str
    evidence: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    name: str
    kind: str
    title: Any
    params: dict[str, Param] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    # On-event: detect(event, case, params, history) -> Finding | None, where
    # history() returns the case's event types so far (one query, if asked).
    detect: Callable | None = None
    # Sweep: "case" (the case's limits), "task" (each open task), "pause".
    target: str = ""


# --- timeliness (the sweep) --------------------------------------------------------

SHARE = Param(float, 0.8, _("已用时限比例（0–1）"), minimum=0.05, maximum=0.99)
DAYS_BEFORE = Param(int, 1, _("距期限工作日数"), minimum=0, maximum=30)


def warning_moment(calendar, tz, *, start: dt.datetime, due: dt.datetime, limit: int,
                   paused: int, share: float, days_before: int) -> dt.datetime:
    """When a limit turns yellow: the start of the working day on which the
    used share reaches ``share`` of ``limit`` (paused days not counted), or
    ``days_before`` working days before its last day, whichever comes first."""
    start_day = start.astimezone(tz).date()
    used = max(1, math.ceil(share * limit))
    by_share = calendar.add_workdays(start_day, used + paused).date
    by_days = calendar.add_workdays(due.astimezone(tz).date(), -days_before).date \
        if days_before else due.astimezone(tz).date()
    day = min(by_share, by_days)
    return dt.datetime.combine(max(day, start_day), dt.time.min, tzinfo=tz)


# --- on-event checks ------------------------------------------------------------------

def _decision_without_steps(event, case, params, history):
    types = history()
    missing = []
    if E.ACCEPTED not in types:
        missing.append(str(E.ACCEPTED.label))
    immediate = case.item_version.case_type == "immediate"
    if params["require_review"] and not immediate and E.REVIEWED not in types:
        missing.append(str(E.REVIEWED.label))
    if missing:
        return Finding(_("作出决定前缺少监察点：%(points)s。") % {"points": "、".join(missing)})
    return None


def _refusal_without_reason(event, case, params, history):
    data = event.data or {}
    if (data.get("opinion") or "").strip() or data.get("reasons"):
        return None
    return Finding(_("%(what)s未说明理由。") % {"what": event.get_type_display()})


def _repeated_correction(event, case, params, history):
    count = sum(1 for t in history() if t == E.CORRECTION_REQUESTED)
    if count > params["max_notices"]:
        return Finding(_("第 %(n)s 次告知补正，违反一次性告知。") % {"n": count},
                       {"notices": count})
    return None


def _unlawful_pause(event, case, params, history):
    reason = (event.data or {}).get("reason", "")
    if reason in params["lawful_reasons"]:
        return None
    return Finding(_("暂停计时事由“%(reason)s”不属于法定事由。") % {"reason": reason or "—"})


def _incomplete_acceptance(event, case, params, history):
    missing = (event.data or {}).get("missing_materials") or []
    if not missing:
        return None
    return Finding(_("受理时缺少必要材料：%(names)s。") % {"names": "、".join(missing)},
                   {"missing_materials": missing})


def _money(value) -> Decimal | None:
    """An amount of an event's data: a Decimal in the appending process, text once
    stored, a number from another channel; None when absent or not a number."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _fee_without_basis(event, case, params, history):
    # The amount decides, as for SF-02: an event from another channel may
    # mark a fee ``waived`` and still record money taken (第五十八条).  The
    # mark stands only for an event that records no amount at all.
    data = event.data or {}
    amount = _money(data.get("amount"))
    if ((data.get("basis") or "").strip() or amount == 0
            or (amount is None and data.get("waived"))):
        return None
    return Finding(_("收取“%(fee)s”%(amount)s 元，无收费依据。")
                   % {"fee": data.get("fee", ""), "amount": data.get("amount", "")})


def _fee_above_standard(event, case, params, history):
    # Compared here, not only taken from the engine's mark: an event appended
    # by another channel (an import, a counter system) may not carry it.
    data = event.data or {}
    amount, standard = _money(data.get("amount")), _money(data.get("standard_amount"))
    above = amount is not None and standard is not None and amount > standard
    if not (above or data.get("above_standard")):
        return None
    return Finding(_("收取“%(fee)s”%(amount)s 元，高于标准 %(standard)s 元。")
                   % {"fee": data.get("fee", ""), "amount": data.get("amount", ""),
                      "standard": data.get("standard_amount", "")})


# The channels a case is submitted by, as an alert names them (another
# system's own code is shown as it is).
CHANNELS = {"online": pgettext_lazy("channel", "网上"),
            "window": pgettext_lazy("channel", "窗口")}


def _offline_handling(event, case, params, history):
    channel = (event.data or {}).get("channel", "online")
    if channel == "online" or case.item_version.online_depth < params["min_depth"]:
        return None
    return Finding(_("全程网办事项经“%(channel)s”渠道线下办理。")
                   % {"channel": CHANNELS.get(channel, channel)})


CHECKS: dict[str, Check] = {c.name: c for c in [
    Check("case_warning", Kind.TIMELINESS, _("办件临近承诺期限"), target="case",
          params={"share": SHARE, "days_before": DAYS_BEFORE}),
    Check("case_promised_overdue", Kind.TIMELINESS, _("办件超过承诺期限"), target="case"),
    Check("case_statutory_overdue", Kind.TIMELINESS, _("办件超过法定期限"), target="case"),
    Check("task_warning", Kind.TIMELINESS, _("环节临近时限"), target="task",
          params={"share": SHARE, "days_before": DAYS_BEFORE}),
    Check("task_overdue", Kind.TIMELINESS, _("环节超时"), target="task"),
    Check("transfer_late", Kind.TIMELINESS, _("下级初审后逾期报送"), target="task",
          params={"task": Param(str, "first_review", _("初审环节代码（前缀）")),
                  "workdays": Param(int, 20, _("初审时限（工作日）"), minimum=1,
                                    maximum=60)}),
    Check("pause_too_long", Kind.PROCEDURE, _("暂停计时超过时限"), target="pause",
          params={"workdays": Param(int, 30, _("暂停时限（工作日）"), minimum=1,
                                    maximum=250)}),
    Check("decision_without_steps", Kind.PROCEDURE, _("跳过监察点作出决定"),
          events=(E.APPROVED, E.REFUSED), detect=_decision_without_steps,
          params={"require_review": Param(bool, True, _("承诺件须经审核"))}),
    Check("refusal_without_reason", Kind.PROCEDURE, _("不予受理或不予许可未说明理由"),
          events=(E.NOT_ACCEPTED, E.REFUSED), detect=_refusal_without_reason),
    Check("repeated_correction", Kind.PROCEDURE, _("多次告知补正"),
          events=(E.CORRECTION_REQUESTED,), detect=_repeated_correction,
          params={"max_notices": Param(int, 1, _("允许的告知次数"), minimum=1, maximum=5)}),
    Check("unlawful_pause", Kind.PROCEDURE, _("无法定事由暂停计时"),
          events=(E.SUSPENDED,), detect=_unlawful_pause,
          params={"lawful_reasons": Param(list, sorted(PAUSE_REASONS), _("法定事由"),
                                          choices=tuple(sorted(PAUSE_REASONS)))}),
    Check("incomplete_acceptance", Kind.PROCEDURE, _("材料不全即受理"),
          events=(E.ACCEPTED,), detect=_incomplete_acceptance),
    Check("fee_without_basis", Kind.FEE, _("无依据收费"),
          events=(E.FEE_CHARGED,), detect=_fee_without_basis),
    Check("fee_above_standard", Kind.FEE, _("超标准收费"),
          events=(E.FEE_CHARGED,), detect=_fee_above_standard),
    Check("offline_handling", Kind.ONLINE, _("全程网办事项线下办理"),
          events=(E.SUBMITTED,), detect=_offline_handling,
          params={"min_depth": Param(int, 4, _("网办深度（达到即视为全程网办）"),
                                     minimum=1, maximum=4)}),
]}

# The rules every installation starts with: (code, check, level).
DEFAULT_RULES = [
    ("SX-01", "case_warning", Level.YELLOW),
    ("SX-02", "case_promised_overdue", Level.RED),
    ("SX-03", "case_statutory_overdue", Level.RED),
    ("SX-04", "task_warning", Level.NOTICE),
    ("SX-05", "task_overdue", Level.YELLOW),
    ("SX-06", "transfer_late", Level.YELLOW),
    ("CX-01", "decision_without_steps", Level.RED),
    ("CX-02", "refusal_without_reason", Level.RED),
    ("CX-03", "repeated_correction", Level.YELLOW),
    ("CX-04", "unlawful_pause", Level.RED),
    ("CX-05", "pause_too_long", Level.YELLOW),
    ("CX-06", "incomplete_acceptance", Level.YELLOW),
    ("SF-01", "fee_without_basis", Level.RED),
    ("SF-02", "fee_above_standard", Level.RED),
    ("WB-01", "offline_handling", Level.NOTICE),
]


def defaults(check: Check) -> dict:
    return {name: param.default for name, param in check.params.items()}


def clean_params(check_name: str, params) -> dict:
    """The rule's parameters, checked and completed with defaults, or ``InvalidInput``."""
    check = CHECKS.get(check_name)
    if check is None:
        raise InvalidInput(_("没有名为“%(check)s”的检查项。"), code=SupervisionErrorCode.BAD_RULE,
                           field="check", check=check_name)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidInput(_("规则参数应为键值对。"), code=SupervisionErrorCode.BAD_RULE,
                           field="params")
    unknown = sorted(set(params) - set(check.params))
    if unknown:
        raise InvalidInput(_("检查项“%(check)s”没有参数：%(names)s。"),
                           code=SupervisionErrorCode.BAD_RULE, field="params",
                           check=str(check.title), names="、".join(map(str, unknown)))
    cleaned = defaults(check)
    for name, value in params.items():
        cleaned[name] = _clean_value(check.params[name], name, value)
    return cleaned


def _clean_value(param: Param, name: str, value):
    def bad(message, **fields):
        raise InvalidInput(message, code=SupervisionErrorCode.BAD_RULE, field=f"params.{name}",
                           param=str(param.label), **fields)

    if param.type is bool:
        if not isinstance(value, bool):
            bad(_("参数“%(param)s”应为是或否。"))
        return value
    if param.type is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad(_("参数“%(param)s”应为文本列表。"))
        if param.choices is not None:
            wrong = [v for v in value if v not in param.choices]
            if wrong:
                bad(_("参数“%(param)s”含有不认识的值：%(values)s。"), values="、".join(wrong))
        return sorted(set(value))
    if param.type is str:
        if not isinstance(value, str) or not value.strip() or len(value) > 80:
            bad(_("参数“%(param)s”应为不超过 80 字的文本。"))
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        bad(_("参数“%(param)s”应为数字。"))
    if isinstance(value, float) and not math.isfinite(value):
        bad(_("参数“%(param)s”应在 %(low)s 至 %(high)s 之间。"),  # int(inf) would raise
            low=param.minimum, high=param.maximum)
    if param.type is int and value != int(value):
        bad(_("参数“%(param)s”应为整数。"))
    value = param.type(value)
    if not math.isfinite(value) or (param.minimum is not None and value < param.minimum) or (
            param.maximum is not None and value > param.maximum):
        bad(_("参数“%(param)s”应在 %(low)s 至 %(high)s 之间。"),
            low=param.minimum, high=param.maximum)
    return value
