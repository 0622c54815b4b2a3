"""Performance scoring (绩效评估) of agencies and posts: periods, the scheme, the arithmetic.

A scheme (``models.ScoringScheme``, data the supervision office edits) lists
dimensions, each with a weight, a source of data and its deductions, and
the grade bands.  Every dimension starts at 100 and loses points for each
alert or catalog item its source finds in the period, down to 0; the total
is the weighted sum of the dimensions, and the grade follows the bands.

Sources of data:

* ``alerts``: alerts raised in the period and not cleared, chosen by the
  kind of their rule (and/or rule codes), each costing the deduction of its
  level.  ``undecided_only`` keeps only alerts whose case was still
  undecided when the period ended: a card that did not lead to a decision
  (监察督办 without effect).
* ``catalog``: the agency's items as published when the period ended, each
  below the online depth ``min_depth`` costing ``per_item`` (事项公开); an
  item cancelled or suspended before the end is out of the catalog and
  costs nothing.  It is an agency's matter, so posts are not scored on it.
* ``notices``: supervision notices (监察督办) issued to the agency in the
  period, each costing the deduction of its type (纠错通知, 监察建议书), and
  each return of its reply costing ``returned`` more.  An agency's matter,
  as the catalog is: the head replies for the agency.
* ``ratings``: applicants' satisfaction ratings.  The platform has none
  yet: the dimension is not scored and its weight is spread over the other
  dimensions in proportion to their weights.
* ``none``: no source of data in the platform yet (complaints, data
  reporting, accountability, other): full marks, and the explanation says
  so rather than inventing figures.

Posts are scored the same way from the alerts attributed to them
(``Alert.post``).  Nothing here writes: ``scoring_services`` stores a
computation, and every deduction with it, with links to its alert, case
or item.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.core.errors import InvalidInput
from yizhan.core.ids import parse_id
from yizhan.directory.roles import Role
from yizhan.supervision.error_codes import ScoringErrorCode
from yizhan.supervision.models import Alert, Grade, Kind, Level, Rule

HUNDRED = Decimal(100)
CENT = Decimal("0.01")

# Applicants cannot rate a case in the platform yet.  When they can, the
# ratings source reads their ratings, and a period with none still has its
# weight spread over the other dimensions.
RATINGS_AVAILABLE = False

# Posts whose work cases go through; other posts are scored only when an
# alert names them.
CASE_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD)


class Source(models.TextChoices):
    ALERTS = "alerts", _("监察预警")
    CATALOG = "catalog", _("事项目录（网上办理深度）")
    NOTICES = "notices", _("监察督办件")
    RATINGS = "ratings", _("群众满意度评价")
    NONE = "none", _("暂无数据来源")


# --- periods ---------------------------------------------------------------------------

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})$")
MAX_DAYS = 3 * 366
YEARS = range(1990, 2200)


@dataclass(frozen=True)
class Period:
    """Whole days from ``starts_on`` to ``ends_on``, both included, in local time."""

    starts_on: dt.date
    ends_on: dt.date

    @classmethod
    def of(cls, starts_on, ends_on) -> Period:
        """A period from two dates (or ISO strings); refused when backwards or too long."""
        try:
            start = starts_on if isinstance(starts_on, dt.date) else dt.date.fromisoformat(
                str(starts_on or "").strip())
            end = ends_on if isinstance(ends_on, dt.date) else dt.date.fromisoformat(
                str(ends_on or "").strip())
        except ValueError:
            raise InvalidInput(_("评估期间须给出起止日期（年-月-日）。"),
                               code=ScoringErrorCode.BAD_PERIOD, field="period") from None
        if start.year not in YEARS or end.year not in YEARS:
            raise InvalidInput(_("评估期间的年份无效。"), code=ScoringErrorCode.BAD_PERIOD,
                               field="period")
        if end < start:
            raise InvalidInput(_("评估期间的截止日期不能早于起始日期。"),
                               code=ScoringErrorCode.BAD_PERIOD, field="period")
        if (end - start).days >= MAX_DAYS:
            raise InvalidInput(_("评估期间不能超过三年。"), code=ScoringErrorCode.BAD_PERIOD,
                               field="period")
        return cls(start, end)

    @classmethod
    def quarter(cls, year: int, number: int) -> Period:
        start = dt.date(year, 3 * number - 2, 1)
        following = dt.date(year + 1, 1, 1) if number == 4 else dt.date(year, 3 * number + 1, 1)
        return cls(start, following - dt.timedelta(days=1))

    @classmethod
    def containing(cls, day: dt.date) -> Period:
        """The calendar quarter ``day`` falls in."""
        return cls.quarter(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026Q3`` (a quarter) or ``2026-07-01_2026-08-15`` (any period)."""
        text = (text or "").strip()
        if (found := _QUARTER.match(text)) and int(found[1]) in YEARS:
            return cls.quarter(int(found[1]), int(found[2]))
        if found := _RANGE.match(text):
            return cls.of(found[1], found[2])
        raise InvalidInput(_("评估期间无效：%(value)s。"), code=ScoringErrorCode.BAD_PERIOD,
                           field="period", value=text[:40])

    @classmethod
    def from_params(cls, *, period: str = "", start=None, end=None,
                    required: bool = False) -> Period | None:
        """The period a form or query names (dates win over a key); None if none."""
        if start or end:
            return cls.of(start, end)
        if period:
            return cls.parse(period)
        if required:
            raise InvalidInput(_("请选择评估期间。"), code=ScoringErrorCode.BAD_PERIOD,
                               field="period")
        return None

    @classmethod
    def recent_quarters(cls, count: int = 8, *, today: dt.date | None = None) -> list[Period]:
        """The current quarter and the ``count - 1`` before it, newest first."""
        quarter = cls.containing(today or timezone.localdate())
        found = []
        for _n in range(count):
            found.append(quarter)
            quarter = quarter.quarter_before()
        return found

    def quarter_before(self) -> Period:
        """The calendar quarter that ends the day before this period starts."""
        return Period.containing(self.starts_on - dt.timedelta(days=1))

    @property
    def quarter_number(self) -> int | None:
        number = (self.starts_on.month - 1) // 3 + 1
        if self == Period.quarter(self.starts_on.year, number):
            return number
        return None

    @property
    def key(self) -> str:
        if number := self.quarter_number:
            return f"{self.starts_on.year}Q{number}"
        return f"{self.starts_on.isoformat()}_{self.ends_on.isoformat()}"

    @property
    def label(self) -> str:
        if number := self.quarter_number:
            return str(_("%(year)s 年第 %(quarter)s 季度")) % {"year": self.starts_on.year,
                                                              "quarter": number}
        return str(_("%(start)s 至 %(end)s")) % {"start": self.starts_on.isoformat(),
                                                 "end": self.ends_on.isoformat()}

    def bounds(self, tz=None) -> tuple[dt.datetime, dt.datetime]:
        """The first instant of the period and the first instant after it."""
        tz = tz or timezone.get_default_timezone()
        return (dt.datetime.combine(self.starts_on, dt.time.min, tzinfo=tz),
                dt.datetime.combine(self.ends_on + dt.timedelta(days=1), dt.time.min,
                                    tzinfo=tz))


# --- the scheme --------------------------------------------------------------------------

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,29}$")
COMMON_KEYS = {"code", "name", "weight", "source", "note"}
SOURCE_KEYS = {
    Source.ALERTS: {"kinds", "rules", "deductions", "undecided_only"},
    Source.CATALOG: {"min_depth", "per_item"},
    Source.NOTICES: {"deductions"},
    Source.RATINGS: set(),
    Source.NONE: set(),
}
BAND_KEYS = (Grade.EXCELLENT, Grade.GOOD, Grade.PASS)
# What a notice costs: by its type, and for each return of its reply.
NOTICE_DEDUCTIONS = {"correction": _("纠错通知"), "recommendation": _("监察建议书"),
                     "returned": _("回复被退回")}


def _bad(message, **fields):
    return InvalidInput(message, code=ScoringErrorCode.BAD_SCHEME, **fields)


def _number(value) -> Decimal | None:
    """A number from 0 to 100 with at most two decimals, or None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0 or number > HUNDRED:
        return None
    if number != number.quantize(CENT):
        return None
    return number


def _plain(number: Decimal):
    """A Decimal as it is kept in JSON: an int when whole, else a float of two decimals."""
    return int(number) if number == number.to_integral_value() else float(number)


def clean_scheme(dimensions, bands) -> tuple[list[dict], dict]:
    """Check a scheme as a whole and return it in its stored shape.

    Refused with a message naming the problem: a dimension without a
    code or name, a code twice, an unknown source or setting, a weight or
    deduction that is not a number from 0 to 100, weights that do not add
    up to 100, no weight left once satisfaction's is spread, bands out of
    order.
    """
    if not isinstance(dimensions, list) or not dimensions:
        raise _bad(_("评估指标须为非空列表。"), field="dimensions")
    cleaned = []
    seen = set()
    total = Decimal(0)
    for n, given in enumerate(dimensions, start=1):
        if not isinstance(given, dict):
            raise _bad(_("第 %(n)s 个评估指标的格式无效。"), field="dimensions", n=n)
        name = str(given.get("name") or "").strip()
        if not name or len(name) > 40:
            raise _bad(_("第 %(n)s 个评估指标的名称不能为空，且不超过 40 字。"),
                       field="dimensions", n=n)
        code = str(given.get("code") or "")
        if not _CODE.match(code):
            raise _bad(_("指标“%(name)s”的编码须为小写字母开头的字母、数字或下划线（2–30 位）。"),
                       field="dimensions", name=name)
        if code in seen:
            raise _bad(_("指标编码“%(dimension)s”重复。"), field="dimensions", dimension=code)
        seen.add(code)
        source = given.get("source")
        if source not in Source.values:
            raise _bad(_("指标“%(name)s”的数据来源无效：%(source)s。"), field="dimensions",
                       name=name, source=str(source)[:40])
        unknown = sorted(set(given) - COMMON_KEYS - SOURCE_KEYS[source])
        if unknown:
            raise _bad(_("指标“%(name)s”有不认识的设置：%(keys)s。"), field="dimensions",
                       name=name, keys="、".join(map(str, unknown)))
        weight = _number(given.get("weight"))
        if weight is None:
            raise _bad(_("指标“%(name)s”的权重须为 0 到 100 之间、最多两位小数的数。"),
                       field="dimensions", name=name)
        total += weight
        note = str(given.get("note") or "").strip()
        if len(note) > 200:
            raise _bad(_("指标“%(name)s”的说明不能超过 200 字。"), field="dimensions", name=name)
        row = {"code": code, "name": name, "weight": _plain(weight), "source": source,
               "note": note}
        if source == Source.ALERTS:
            row.update(_clean_alert_source(given, name))
        elif source == Source.CATALOG:
            row.update(_clean_catalog_source(given, name))
        elif source == Source.NOTICES:
            row.update(_clean_notice_source(given, name))
        cleaned.append(row)
    if total != HUNDRED:
        raise _bad(_("各指标权重之和须为 100，现为 %(total)s。"), field="dimensions",
                   total=str(_plain(total)))
    spread = sum((Decimal(str(d["weight"])) for d in cleaned
                  if d["source"] == Source.RATINGS and not RATINGS_AVAILABLE), Decimal(0))
    if spread >= HUNDRED:
        raise _bad(_("群众满意度暂无数据，除它以外至少一个指标的权重须大于 0。"),
                   field="dimensions")
    return cleaned, clean_bands(bands)


def _clean_alert_source(given: dict, name: str) -> dict:
    kinds = given.get("kinds") or []
    rules = given.get("rules") or []
    if not isinstance(kinds, list) or any(k not in Kind.values for k in kinds):
        raise _bad(_("指标“%(name)s”的预警类别无效，可选：%(choices)s。"), field="dimensions",
                   name=name, choices="、".join(Kind.values))
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise _bad(_("指标“%(name)s”的规则须为规则编码列表。"), field="dimensions", name=name)
    missing = sorted(set(rules) - set(Rule.objects.filter(code__in=rules)
                                      .values_list("code", flat=True)))
    if missing:
        raise _bad(_("指标“%(name)s”引用了不存在的规则：%(rules)s。"), field="dimensions",
                   name=name, rules="、".join(missing))
    if not kinds and not rules:
        raise _bad(_("指标“%(name)s”须指明计入哪些预警（类别或规则）。"), field="dimensions",
                   name=name)
    deductions = given.get("deductions") or {}
    if not isinstance(deductions, dict) or set(deductions) - set(Level.values):
        raise _bad(_("指标“%(name)s”的扣分须按级别给出：%(levels)s。"), field="dimensions",
                   name=name, levels="、".join(Level.values))
    clean = {}
    for level in Level.values:
        points = _number(deductions.get(level, 0))
        if points is None:
            raise _bad(_("指标“%(name)s”的“%(level)s”扣分须为 0 到 100 之间、最多两位小数的数。"),
                       field="dimensions", name=name, level=level)
        clean[level] = _plain(points)
    undecided = given.get("undecided_only", False)
    if not isinstance(undecided, bool):
        raise _bad(_("指标“%(name)s”的“仅计期末未办结”须为是或否。"), field="dimensions",
                   name=name)
    return {"kinds": sorted(set(kinds)), "rules": sorted(set(rules)), "deductions": clean,
            "undecided_only": undecided}


def _clean_catalog_source(given: dict, name: str) -> dict:
    depth = given.get("min_depth", 3)
    if isinstance(depth, str):
        depth = parse_id(depth.strip()) or depth
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 4:
        raise _bad(_("指标“%(name)s”的网上办理深度须为 1–4 级。"), field="dimensions", name=name)
    per_item = _number(given.get("per_item"))
    if per_item is None:
        raise _bad(_("指标“%(name)s”的每个事项扣分须为 0 到 100 之间、最多两位小数的数。"),
                   field="dimensions", name=name)
    return {"min_depth": depth, "per_item": _plain(per_item)}


def _clean_notice_source(given: dict, name: str) -> dict:
    deductions = given.get("deductions") or {}
    if not isinstance(deductions, dict) or set(deductions) - set(NOTICE_DEDUCTIONS):
        raise _bad(_("指标“%(name)s”的扣分须按督办类型给出：%(keys)s。"), field="dimensions",
                   name=name, keys="、".join(NOTICE_DEDUCTIONS))
    clean = {}
    for key in NOTICE_DEDUCTIONS:
        points = _number(deductions.get(key, 0))
        if points is None:
            raise _bad(_("指标“%(name)s”的“%(level)s”扣分须为 0 到 100 之间、最多两位小数的数。"),
                       field="dimensions", name=name, level=key)
        clean[key] = _plain(points)
    return {"deductions": clean}


def clean_bands(bands) -> dict:
    if not isinstance(bands, dict) or set(bands) - set(BAND_KEYS):
        raise _bad(_("等级分数线只能设优秀、良好、合格三档（excellent、good、pass）。"),
                   field="bands")
    clean = {}
    for grade in BAND_KEYS:
        number = _number(bands.get(grade))
        if number is None:
            raise _bad(_("“%(grade)s”的分数线须为 0 到 100 之间、最多两位小数的数。"),
                       field="bands", grade=str(Grade(grade).label))
        clean[grade] = number
    if not (HUNDRED >= clean[Grade.EXCELLENT] > clean[Grade.GOOD] > clean[Grade.PASS] > 0):
        raise _bad(_("等级分数线须满足 100 ≥ 优秀 > 良好 > 合格 > 0。"), field="bands")
    return {grade: _plain(number) for grade, number in clean.items()}


def grade_of(total: Decimal, bands: dict) -> str:
    for grade in BAND_KEYS:
        if total >= Decimal(str(bands[grade])):
            return grade
    return Grade.FAIL


@dataclass(frozen=True)
class Dimension:
    """One dimension of a stored scheme, read for computing."""

    code: str
    name: str
    weight: Decimal
    source: str
    kinds: frozenset = frozenset()
    rules: frozenset = frozenset()
    deductions: dict = field(default_factory=dict)
    undecided_only: bool = False
    min_depth: int = 3
    per_item: Decimal = Decimal(0)

    @classmethod
    def read(cls, row: dict) -> Dimension:
        return cls(code=row["code"], name=row["name"], weight=Decimal(str(row["weight"])),
                   source=row["source"], kinds=frozenset(row.get("kinds", ())),
                   rules=frozenset(row.get("rules", ())),
                   deductions={k: Decimal(str(v)) for k, v in
                               (row.get("deductions") or {}).items()},
                   undecided_only=bool(row.get("undecided_only")),
                   min_depth=int(row.get("min_depth", 3)),
                   per_item=Decimal(str(row.get("per_item", 0))))

    @property
    def spread(self) -> bool:
        """Not scored: its weight goes to the other dimensions."""
        return self.source == Source.RATINGS and not RATINGS_AVAILABLE

    def matches(self, alert: AlertRow, end: dt.datetime) -> bool:
        if alert.kind not in self.kinds and alert.rule not in self.rules:
            return False
        return not self.undecided_only or alert.decided_at is None or alert.decided_at >= end


def effective_weights(dimensions: list[Dimension]) -> dict[str, Decimal]:
    """Each dimension's weight once the weight of those not scored is spread.

    In proportion: with satisfaction's 15 spread, a dimension of weight 30
    counts 30 × 100 / 85.
    """
    spread = sum((d.weight for d in dimensions if d.spread), Decimal(0))
    base = HUNDRED - spread
    return {d.code: Decimal(0) if d.spread else d.weight * HUNDRED / base for d in dimensions}


# --- explanations -------------------------------------------------------------------------

# Stored as a key and its numbers, and put into words when shown, so a
# stored result reads in the reader's language.
EXPLANATIONS = {
    "alerts": _("计入 %(count)s 条预警，共扣 %(points)s 分。"),
    "alerts_none": _("期间内没有计入本指标的预警，得满分。"),
    "undecided": _("计入 %(count)s 条期末仍未办结的办件上的预警（督办未见成效），"
                   "共扣 %(points)s 分。"),
    "undecided_none": _("期间内没有期末仍未办结的受督办办件，得满分。"),
    "catalog": _("%(items)s 个事项中有 %(count)s 个的网上办理深度低于 %(depth)s 级，"
                 "共扣 %(points)s 分。"),
    "catalog_none": _("%(items)s 个事项的网上办理深度均达到 %(depth)s 级，得满分。"),
    "notices": _("期间内下达督办件 %(notices)s 份，回复被退回 %(returns)s 次，"
                 "共扣 %(points)s 分。"),
    "notices_none": _("期间内没有下达给本机关的督办件，得满分。"),
    "agency_only": _("按机关评估的指标，不适用于岗位，按满分计。"),
    "ratings": _("平台尚无群众满意度评价数据：本指标暂不计分，其权重 %(weight)s "
                 "按比例分配给其他指标。"),
    "no_source": _("平台暂无该指标的数据来源，按满分计。"),
}
FLOOR = _("扣分超过 100 分，按 0 分计。")


def describe(row: dict) -> str:
    """How a dimension of a scheme is scored, in words (for the scheme and the reports)."""
    source = row["source"]
    if source == Source.ALERTS:
        counted = "、".join([*(str(Kind(k).label) for k in row.get("kinds", ())),
                            *row.get("rules", ())])
        text = (_("%(counted)s的预警，仅计期末仍未办结的办件，每条扣分：红牌 %(red)s，"
                  "黄牌 %(yellow)s，提醒 %(notice)s。") if row.get("undecided_only") else
                _("%(counted)s的预警每条扣分：红牌 %(red)s，黄牌 %(yellow)s，提醒 %(notice)s。"))
        return str(text) % {"counted": counted, **row["deductions"]}
    if source == Source.CATALOG:
        return str(_("网上办理深度低于 %(depth)s 级的事项，每个扣 %(points)s 分。")) % {
            "depth": row["min_depth"], "points": row["per_item"]}
    if source == Source.NOTICES:
        return str(_("期间内下达的督办件，每份纠错通知扣 %(correction)s 分，每份监察建议书扣 "
                     "%(recommendation)s 分；回复每被退回一次再扣 %(returned)s 分。")) % row[
            "deductions"]
    if source == Source.RATINGS and not RATINGS_AVAILABLE:
        return str(_("平台尚无群众满意度评价数据，本指标暂不计分，其权重按比例分配给其他指标。"))
    return str(EXPLANATIONS["no_source"])


def explain(explanation: dict) -> str:
    """A stored explanation in words, in the active language."""
    text = EXPLANATIONS.get(explanation.get("key"))
    if text is None:
        return ""
    words = str(text) % (explanation.get("params") or {})
    if explanation.get("floor"):
        words += str(FLOOR)
    return words


# --- computing ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AlertRow:
    id: int
    level: str
    rule: str
    kind: str
    case_id: int
    decided_at: dt.datetime | None
    agency_id: int
    post_id: int | None
    message: str


@dataclass(frozen=True)
class ItemRow:
    item_id: int
    agency_id: int
    name: str
    depth: int


@dataclass(frozen=True)
class NoticeRow:
    case_id: int
    agency_id: int
    type: str
    title: str
    returns: int


@dataclass
class Line:
    """One deduction: an alert (with its case) or an item, in one dimension."""

    dimension: str
    points: Decimal
    note: str
    level: str = ""
    alert_id: int | None = None
    case_id: int | None = None
    item_id: int | None = None
    post_id: int | None = None


@dataclass
class Card:
    """The score of one agency or post."""

    agency_id: int
    post_id: int | None
    name: str
    dimensions: list[dict]
    total: Decimal
    grade: str
    alerts: int
    lines: list[Line]
    rank: int = 0
    ranked: int = 0


@dataclass
class Computation:
    period: Period
    agencies: list[Card]
    posts: dict[int, list[Card]]


def _score(dimensions: list[Dimension], weights: dict[str, Decimal], bands: dict, *,
           alerts: list[AlertRow], items: list[ItemRow] | None, end: dt.datetime,
           notices: list[NoticeRow] | None = None,
           ) -> tuple[list[dict], Decimal, str, list[Line]]:
    """Each dimension's score and explanation, the total, the grade and the deductions.

    ``items`` and ``notices`` are None for a post: the catalog and the
    notices are the agency's matter.
    """
    results, lines = [], []
    weighted = Decimal(0)
    for dim in dimensions:
        found: list[Line] = []
        deducted = Decimal(0)
        if dim.spread:
            score = None
            explanation = {"key": "ratings", "params": {"weight": str(_plain(dim.weight))}}
        elif dim.source == Source.NONE:
            score, explanation = HUNDRED, {"key": "no_source", "params": {}}
        elif (dim.source == Source.CATALOG and items is None) or (
                dim.source == Source.NOTICES and notices is None):
            score, explanation = HUNDRED, {"key": "agency_only", "params": {}}
        else:
            if dim.source == Source.NOTICES:
                found = _notice_lines(dim, notices)
                returns = sum(n.returns for n in notices)
                explanation = {"key": "notices" if found else "notices_none",
                               "params": {"notices": len(notices), "returns": returns}}
            elif dim.source == Source.CATALOG:
                found = [Line(dim.code, dim.per_item, item.name[:300], item_id=item.item_id)
                         for item in items if item.depth < dim.min_depth and dim.per_item]
                explanation = {"key": "catalog" if found else "catalog_none",
                               "params": {"items": len(items), "depth": dim.min_depth}}
            else:
                found = [Line(dim.code, dim.deductions[alert.level], alert.message[:300],
                              level=alert.level, alert_id=alert.id, case_id=alert.case_id,
                              post_id=alert.post_id)
                         for alert in alerts
                         if dim.deductions.get(alert.level) and dim.matches(alert, end)]
                key = "undecided" if dim.undecided_only else "alerts"
                explanation = {"key": key if found else f"{key}_none", "params": {}}
            deducted = sum((line.points for line in found), Decimal(0))
            score = max(Decimal(0), HUNDRED - deducted)
            explanation["params"].update(count=len(found), points=str(_plain(deducted)))
            if deducted > HUNDRED:
                explanation["floor"] = True
        if score is not None:
            weighted += score * weights[dim.code]
        results.append({
            "code": dim.code, "name": dim.name, "source": dim.source,
            "weight": str(dim.weight.quantize(CENT)),
            "effective_weight": str(weights[dim.code].quantize(CENT, ROUND_HALF_UP)),
            "score": None if score is None else str(score.quantize(CENT)),
            "deducted": str(deducted.quantize(CENT)), "count": len(found),
            "explain": explanation,
        })
        lines.extend(found)
    total = (weighted / HUNDRED).quantize(CENT, ROUND_HALF_UP)
    return results, total, grade_of(total, bands), lines


def _notice_lines(dim: Dimension, notices: list[NoticeRow]) -> list[Line]:
    lines = []
    for notice in notices:
        label = str(NOTICE_DEDUCTIONS.get(notice.type, notice.type))
        points = dim.deductions.get(notice.type, Decimal(0))
        if points:
            lines.append(Line(dim.code, points, f"{label}：{notice.title}"[:300],
                              case_id=notice.case_id))
        per_return = dim.deductions.get("returned", Decimal(0))
        if notice.returns and per_return:
            lines.append(Line(dim.code, per_return * notice.returns,
                              f"{NOTICE_DEDUCTIONS['returned']} {notice.returns}：{notice.title}"
                              [:300], case_id=notice.case_id))
    return lines


def rank(rows: list, *, key) -> list:
    """Best first by ``key``; equal totals share a rank (1, 2, 2, 4).

    ``rows`` are computed cards or stored scores: anything with ``total``,
    ``rank`` and ``ranked``, which are set in place.
    """
    rows.sort(key=key)
    for n, row in enumerate(rows, start=1):
        row.rank = rows[n - 2].rank if n > 1 and rows[n - 2].total == row.total else n
        row.ranked = len(rows)
    return rows


def _rank(cards: list[Card]) -> list[Card]:
    return rank(cards, key=lambda c: (-c.total, c.name, c.post_id or c.agency_id))


def compute(*, dimensions: list[dict], bands: dict, period: Period,
            agency_ids: frozenset[int] | None) -> Computation:
    """Score every agency of ``agency_ids`` (None: all) and its posts for ``period``.

    Agencies scored are departments (an internal unit's alerts and posts
    count for the department above it) that had items published and in
    service at the end of the period or alerts in it.  Cleared alerts do
    not count.
    """
    from yizhan.catalog.models import ItemVersion
    from yizhan.directory.models import Agency, Post

    dims = [Dimension.read(row) for row in dimensions]
    weights = effective_weights(dims)
    start, end = period.bounds()

    names, department = _departments(Agency)

    def in_scope(agency_id: int) -> bool:
        top = department.get(agency_id)
        return top is not None and (agency_ids is None or top in agency_ids)

    alerts = (Alert.objects.filter(raised_at__gte=start, raised_at__lt=end)
              .exclude(status=Alert.Status.CLEARED))
    if agency_ids is not None:
        alerts = alerts.filter(agency_id__in=agency_ids)
    by_agency: dict[int, list[AlertRow]] = defaultdict(list)
    for row in alerts.order_by("raised_at", "id").values_list(
            "id", "level", "rule__code", "rule__kind", "case_id", "case__decided_at",
            "agency_id", "post_id", "message"):
        alert = AlertRow(*row)
        if in_scope(alert.agency_id):
            by_agency[department[alert.agency_id]].append(alert)

    # The catalog as it stood at the period's end: an item cancelled or
    # suspended before then (``Item.withdrawn_at``) was out of the public
    # catalog, as the coverage leaves it out, and its agency could no longer
    # raise its online depth; one withdrawn after the end was still offered
    # for the whole period.  (``published_versions`` is the catalog now: it
    # would drop the versions in force at an earlier end, and the items
    # withdrawn since.)
    versions = (ItemVersion.objects.filter(published_at__isnull=False, published_at__lt=end)
                .exclude(item__withdrawn_at__lt=end))
    if agency_ids is not None:
        versions = versions.filter(item__agency_id__in=agency_ids)
    items: dict[int, list[ItemRow]] = defaultdict(list)
    seen_items = set()
    for item_id, agency_id, name, depth in versions.order_by(
            "item_id", "-published_at", "-id").values_list(
            "item_id", "item__agency_id", "name", "online_depth"):
        # The newest version published before the end is the one in force.
        if item_id in seen_items or not in_scope(agency_id):
            continue
        seen_items.add(item_id)
        items[department[agency_id]].append(ItemRow(item_id, agency_id, name, depth))

    notices = _notices(start, end, agency_ids, in_scope, department)
    scored = sorted(set(by_agency) | set(items) | set(notices))
    scored_set = set(scored)
    members = {a for a, top in department.items() if top in scored_set}
    posts_by_agency: dict[int, list[tuple[int, str]]] = defaultdict(list)
    with_alerts = {a.post_id for rows in by_agency.values() for a in rows if a.post_id}
    for post_id, name, agency_id, role in (Post.objects.filter(agency_id__in=members)
                                           .order_by("agency_id", "id")
                                           .values_list("id", "name", "agency_id", "role")):
        if role in CASE_ROLES or post_id in with_alerts:
            label = name if department[agency_id] == agency_id else f"{names[agency_id]} · {name}"
            posts_by_agency[department[agency_id]].append((post_id, label))

    agency_cards, post_cards = [], {}
    for agency_id in scored:
        rows = by_agency.get(agency_id, [])
        results, total, grade, lines = _score(dims, weights, bands, alerts=rows,
                                              items=items.get(agency_id, []), end=end,
                                              notices=notices.get(agency_id, []))
        agency_cards.append(Card(agency_id, None, names[agency_id], results, total, grade,
                                 len(rows), lines))
        by_post: dict[int | None, list[AlertRow]] = defaultdict(list)
        for alert in rows:
            by_post[alert.post_id].append(alert)
        cards = []
        for post_id, label in posts_by_agency.get(agency_id, []):
            own = by_post.get(post_id, [])
            results, total, grade, lines = _score(dims, weights, bands, alerts=own, items=None,
                                                  end=end)
            cards.append(Card(agency_id, post_id, label, results, total, grade, len(own), lines))
        post_cards[agency_id] = _rank(cards)
    return Computation(period=period, agencies=_rank(agency_cards), posts=post_cards)


def _notices(start, end, agency_ids, in_scope, department) -> dict[int, list[NoticeRow]]:
    """The notices issued in the period, by department, with the returns of their replies."""
    from django.db.models import Count, Q

    from yizhan.cases.models import Case

    queryset = Case.objects.filter(kind=Case.Kind.NOTICE, submitted_at__gte=start,
                                   submitted_at__lt=end)
    if agency_ids is not None:
        queryset = queryset.filter(agency_id__in=agency_ids)
    found: dict[int, list[NoticeRow]] = defaultdict(list)
    for case_id, agency_id, data, returns in (
            queryset.annotate(returns=Count("tasks", filter=Q(tasks__decision="return")))
            .order_by("submitted_at", "id").values_list("id", "agency_id", "data", "returns")):
        if in_scope(agency_id):
            found[department[agency_id]].append(NoticeRow(
                case_id, agency_id, str(data.get("type", "")), str(data.get("title", "")),
                returns))
    return found


def _departments(agency_model) -> tuple[dict[int, str], dict[int, int]]:
    """Agency names, and each agency's department (itself, or the nearest above a unit)."""
    rows = list(agency_model.objects.values_list("id", "name", "kind", "path"))
    names = {pk: name for pk, name, _kind, _path in rows}
    kinds = {pk: kind for pk, _name, kind, _path in rows}
    department = {}
    for pk, _name, kind, path in rows:
        top = pk
        if kind == agency_model.Kind.INTERNAL_UNIT:
            for ancestor in reversed([int(p) for p in path.strip("/").split("/") if p]):
                if kinds.get(ancestor) != agency_model.Kind.INTERNAL_UNIT:
                    top = ancestor
                    break
        department[pk] = top
    return names, department
