"""Performance scoring API: a period's ranking, an agency's detail, computing, the scheme.

Mounted at ``/api/v1/supervision/scores``.  A period is named by ``period``
(a quarter such as ``2026Q3``, or ``2026-07-01_2026-08-15``) or by ``start``
and ``end`` dates; without either, the latest period computed.
"""

import datetime
from typing import Any

from ninja import Field, Router, Schema, Status

from yizhan.core.api import AUTH, actor_of
from yizhan.supervision import scoring_selectors, scoring_services
from yizhan.supervision.reports import report_response
from yizhan.supervision.scoring import NOTICE_DEDUCTIONS, Period, Source

router = Router(tags=["supervision"])


class DimensionOut(Schema):
    code: str
    name: str
    source: str = Field(..., description="where the dimension's score comes from: "
                                         + ", ".join(Source.values))
    weight: float
    effective_weight: float = Field(..., description="the weight once the weight of "
                                                     "dimensions without data is spread")
    score: float | None = Field(..., description="0–100; null when not scored")
    deducted: float
    count: int = Field(..., description="deductions in this dimension")
    explanation: str


class AgencyScoreOut(Schema):
    agency_id: int
    agency: str
    period: str
    starts_on: datetime.date
    ends_on: datetime.date
    total: float
    grade: str
    grade_name: str
    rank: int
    ranked: int
    alerts: int
    run_id: int
    computed_at: datetime.datetime
    scheme_version: int
    dimensions: list[DimensionOut]


class DeductionOut(Schema):
    id: int
    dimension: str
    points: float
    level: str
    note: str
    alert_id: int | None
    rule: str | None
    case_id: int | None
    case_number: str | None
    item_id: int | None
    post_id: int | None
    url: str = Field(..., description="the case's supervision page at the alert")


class PostScoreOut(Schema):
    post_id: int
    post: str
    total: float
    grade: str
    grade_name: str
    rank: int
    ranked: int
    alerts: int
    dimensions: list[DimensionOut]
    deductions: list[int] = Field(..., description="ids of the agency's deductions that "
                                                   "count for this post")


class AgencyScoreDetailOut(AgencyScoreOut):
    deductions: list[DeductionOut]
    posts: list[PostScoreOut]


class ComputeIn(Schema):
    period: str = Field("", description="a quarter such as 2026Q3, or start_end dates")
    start: datetime.date | None = Field(None, description="first day (instead of period)")
    end: datetime.date | None = Field(None, description="last day, included")
    reason: str = Field("", description="why; required when the period was computed before")


class RunOut(Schema):
    id: int
    period: str
    starts_on: datetime.date
    ends_on: datetime.date
    scheme_version: int = Field(..., alias="scheme.version")
    computed_at: datetime.datetime
    agencies: int
    reason: str

    @staticmethod
    def resolve_period(obj):
        return Period(obj.starts_on, obj.ends_on).key


class SchemeOut(Schema):
    version: int
    dimensions: list[dict[str, Any]]
    bands: dict[str, Any]
    changed_at: datetime.datetime
    reason: str


class SchemeIn(Schema):
    dimensions: list[dict[str, Any]] = Field(..., description=(
        "every dimension: code, name, weight (the weights add up to 100), source "
        "(" + ", ".join(Source.values) + "), note; for alerts: kinds, rules, deductions "
        "{notice, yellow, red}, undecided_only; for catalog: min_depth, per_item; "
        "for notices: deductions {" + ", ".join(NOTICE_DEDUCTIONS) + "}"))
    bands: dict[str, Any] = Field(..., description="lowest totals of excellent, good, pass")
    reason: str = Field(..., description="why the scheme changes (kept with the version)")


def _period(actor, period: str, start, end) -> Period:
    return (Period.from_params(period=period, start=start, end=end)
            or scoring_selectors.default_period(actor=actor))


def _dimensions(row) -> list[dict]:
    return [{"code": d.code, "name": d.name, "source": d.source, "weight": d.weight,
             "effective_weight": d.effective_weight, "score": d.score, "deducted": d.deducted,
             "count": d.count, "explanation": d.explanation} for d in row.dimensions]


def _agency(row) -> dict:
    score = row.score
    return {"agency_id": score.agency_id, "agency": row.name,
            "period": Period(score.starts_on, score.ends_on).key, "starts_on": score.starts_on,
            "ends_on": score.ends_on, "total": score.total, "grade": score.grade,
            "grade_name": row.grade_label, "rank": score.rank, "ranked": score.ranked,
            "alerts": score.alerts, "run_id": score.run_id, "computed_at": score.run.computed_at,
            "scheme_version": score.run.scheme.version, "dimensions": _dimensions(row)}


def _deduction(d) -> dict:
    return {"id": d.pk, "dimension": d.dimension, "points": d.points, "level": d.level,
            "note": d.note, "alert_id": d.alert_id,
            "rule": d.alert.rule.code if d.alert_id else None, "case_id": d.case_id,
            "case_number": d.case.number if d.case_id else None, "item_id": d.item_id,
            "post_id": d.post_id, "url": d.link}


@router.get("", response=list[AgencyScoreOut], auth=AUTH)
def list_scores(request, period: str = "", start: datetime.date | None = None,
                end: datetime.date | None = None):
    """The scores in force for a period of the agencies the caller may read, best first."""
    actor = actor_of(request)
    board = scoring_selectors.score_board(actor=actor, period=_period(actor, period, start, end))
    return [_agency(row) for row in board.rows]


@router.get("/agencies/{agency_id}", response=AgencyScoreDetailOut, auth=AUTH)
def agency_score(request, agency_id: int, period: str = "", start: datetime.date | None = None,
                 end: datetime.date | None = None):
    """One agency's score: each dimension, every deduction with its alert and case, its posts."""
    actor = actor_of(request)
    detail = scoring_selectors.agency_score_get(
        actor=actor, period=_period(actor, period, start, end), agency_id=agency_id)
    return {**_agency(detail.row),
            "deductions": [_deduction(d) for item in detail.dimensions for d in item.deductions],
            "posts": [{"post_id": p.row.score.post_id, "post": p.row.name,
                       "total": p.row.score.total, "grade": p.row.score.grade,
                       "grade_name": p.row.grade_label, "rank": p.row.score.rank,
                       "ranked": p.row.score.ranked, "alerts": p.row.score.alerts,
                       "dimensions": _dimensions(p.row),
                       "deductions": [d.pk for d in p.deductions]} for p in detail.posts]}


@router.post("/compute", response={201: RunOut}, auth=AUTH)
def compute_scores(request, payload: ComputeIn):
    """Compute and store a period's scores for the agencies of the caller's scope.

    ``period`` or ``start`` and ``end`` name the period; ``reason`` is
    required when it was computed before (the new scores supersede the
    earlier ones, which stay on record).
    """
    period = Period.from_params(period=payload.period, start=payload.start, end=payload.end,
                                required=True)
    run = scoring_services.scores_compute(actor=actor_of(request), period=period,
                                          reason=payload.reason)
    return Status(201, run)


@router.get("/scheme", response=SchemeOut, auth=AUTH)
def get_scheme(request):
    """The scheme in force: dimensions, weights, deductions, grade bands."""
    return scoring_selectors.scoring_scheme_current(actor=actor_of(request)).scheme


@router.put("/scheme", response=SchemeOut, auth=AUTH)
def put_scheme(request, payload: SchemeIn):
    """Replace the scheme as a whole: a new version, and an audit record."""
    return scoring_services.scoring_scheme_update(
        actor=actor_of(request), dimensions=payload.dimensions, bands=payload.bands,
        reason=payload.reason)


@router.get("/report", auth=AUTH)
def report(request, format: str = "pdf", period: str = "",
           start: datetime.date | None = None, end: datetime.date | None = None):
    """The period's report as a download: ``format`` pdf or xlsx."""
    actor = actor_of(request)
    found = scoring_selectors.score_report(actor=actor,
                                           period=_period(actor, period, start, end))
    return report_response(found, format)
