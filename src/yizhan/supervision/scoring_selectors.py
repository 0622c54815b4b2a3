"""Reads of performance scoring: a period's ranking, an agency's drill-down, the scheme.

Only stored computations are read, so what the office published is what
everyone sees until the period is computed again.  The supervision office
reads the agencies its scope covers; an agency head reads their own
agency; nobody else reads scores.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from yizhan.core.errors import NotFound, PermissionDenied, listed
from yizhan.supervision import permissions, scoring
from yizhan.supervision.models import (
    AgencyScore,
    Grade,
    Kind,
    PostScore,
    ScoreDeduction,
    ScoreRun,
    ScoringScheme,
)
from yizhan.supervision.scoring import Period, Source


@dataclass(frozen=True)
class DimensionView:
    code: str
    name: str
    source: str
    weight: Decimal
    effective_weight: Decimal
    score: Decimal | None
    deducted: Decimal
    count: int
    explanation: str

    @property
    def spread(self) -> bool:
        """Not scored; its weight went to the other dimensions."""
        return self.score is None


def dimension_views(rows: list[dict]) -> list[DimensionView]:
    return [DimensionView(
        code=row["code"], name=row["name"], source=row["source"],
        weight=Decimal(row["weight"]), effective_weight=Decimal(row["effective_weight"]),
        score=None if row["score"] is None else Decimal(row["score"]),
        deducted=Decimal(row["deducted"]), count=row["count"],
        explanation=scoring.explain(row["explain"])) for row in rows]


@dataclass(frozen=True)
class ScoreRow:
    """An agency's or a post's stored score, with its dimensions read."""

    score: AgencyScore | PostScore
    name: str
    dimensions: list[DimensionView]
    # Aligned with the board's columns (None where the row's scheme has
    # no such dimension).
    cells: list[DimensionView | None]

    @property
    def grade_label(self) -> str:
        return str(Grade(self.score.grade).label)


def _row(score, name: str, columns: list[tuple[str, str]] | None = None) -> ScoreRow:
    dimensions = dimension_views(score.dimensions)
    by_code = {d.code: d for d in dimensions}
    cells = [by_code.get(code) for code, _name in columns] if columns else dimensions
    return ScoreRow(score=score, name=name, dimensions=dimensions, cells=cells)


def _columns(scores) -> list[tuple[str, str]]:
    """The dimensions of the rows shown, in scheme order (rows may span schemes)."""
    seen: dict[str, str] = {}
    for score in scores:
        for row in score.dimensions:
            seen.setdefault(row["code"], row["name"])
    return list(seen.items())


def _visible(actor) -> QuerySet[AgencyScore]:
    if not permissions.scores_view(actor):
        raise PermissionDenied(action="scores_view")
    queryset = AgencyScore.objects.select_related("agency", "run", "run__scheme",
                                                  "run__computed_by")
    agencies = permissions.score_agencies(actor)
    if agencies is not None:
        queryset = queryset.filter(agency_id__in=agencies)
    return queryset


def score_periods(*, actor) -> list[Period]:
    """The periods with stored scores the actor may read, latest first."""
    pairs = (_visible(actor).filter(current=True).order_by("-ends_on", "-starts_on")
             .values_list("starts_on", "ends_on").distinct())
    return [Period(start, end) for start, end in pairs]


def default_period(*, actor, today: dt.date | None = None,
                   periods: list[Period] | None = None) -> Period:
    """The latest period computed, else the last complete quarter.

    ``periods``: the actor's ``score_periods``, when the caller has them.
    """
    if periods is None:
        periods = score_periods(actor=actor)
    if periods:
        return periods[0]
    return Period.containing(today or timezone.localdate()).quarter_before()


@dataclass(frozen=True)
class Board:
    period: Period
    columns: list[tuple[str, str]]
    rows: list[ScoreRow]
    runs: list[ScoreRun]
    history: list[ScoreRun]


def scores_for(*, actor, period: Period) -> list[AgencyScore]:
    """The scores in force for ``period`` of the agencies the actor may read, best first."""
    return list(_visible(actor).filter(starts_on=period.starts_on, ends_on=period.ends_on,
                                       current=True).order_by("-total", "agency__name", "id"))


def score_board(*, actor, period: Period) -> Board:
    """The ranking of a period; for the office, also every computation of it."""
    scores = scores_for(actor=actor, period=period)
    columns = _columns(scores)
    runs = sorted({s.run_id: s.run for s in scores}.values(), key=lambda r: r.computed_at,
                  reverse=True)
    history = []
    if permissions.scores_compute(actor):
        queryset = ScoreRun.objects.filter(starts_on=period.starts_on, ends_on=period.ends_on)
        agencies = permissions.score_agencies(actor)
        if agencies is not None:
            queryset = queryset.filter(agency_scores__agency_id__in=agencies).distinct()
        history = list(queryset.select_related("scheme", "computed_by")
                       .order_by("-computed_at", "-id"))
    return Board(period=period, columns=columns,
                 rows=[_row(s, s.agency.name, columns) for s in scores], runs=runs,
                 history=history)


@dataclass(frozen=True)
class DimensionDetail:
    dimension: DimensionView
    deductions: list[ScoreDeduction]


@dataclass(frozen=True)
class PostDetail:
    row: ScoreRow
    deductions: list[ScoreDeduction]


@dataclass(frozen=True)
class AgencyDetail:
    row: ScoreRow
    dimensions: list[DimensionDetail]
    posts: list[PostDetail]
    earlier: list[AgencyScore]

    @property
    def score(self) -> AgencyScore:
        return self.row.score


def _with_details(queryset: QuerySet[AgencyScore]) -> QuerySet[AgencyScore]:
    return queryset.prefetch_related(
        Prefetch("deductions", queryset=ScoreDeduction.objects.select_related(
            "alert", "alert__rule", "alert__responsible", "case", "item", "post",
            "post__agency")
            .order_by("id")),
        Prefetch("post_scores", queryset=PostScore.objects.select_related(
            "post", "post__agency").order_by("rank", "post_id")))


def _post_name(post, agency_id: int) -> str:
    return post.name if post.agency_id == agency_id else f"{post.agency.name} · {post.name}"


def _detail(score: AgencyScore, earlier: list[AgencyScore] | None = None) -> AgencyDetail:
    deductions = list(score.deductions.all())
    by_dimension: dict[str, list[ScoreDeduction]] = defaultdict(list)
    by_post: dict[int, list[ScoreDeduction]] = defaultdict(list)
    for deduction in deductions:
        by_dimension[deduction.dimension].append(deduction)
        if deduction.post_id:
            by_post[deduction.post_id].append(deduction)
    row = _row(score, score.agency.name)
    posts = []
    for post_score in score.post_scores.all():
        posts.append(PostDetail(row=_row(post_score, _post_name(post_score.post, score.agency_id)),
                                deductions=by_post.get(post_score.post_id, [])))
    return AgencyDetail(
        row=row, posts=posts, earlier=earlier or [],
        dimensions=[DimensionDetail(d, by_dimension.get(d.code, [])) for d in row.dimensions])


def agency_score_get(*, actor, period: Period, agency_id: int) -> AgencyDetail:
    """One agency's score for ``period``: dimensions, their deductions, its posts.

    Not found when the agency is not the actor's to read, or was not scored.
    """
    visible = _visible(actor)
    if not permissions.score_agency_view(actor, agency_id=agency_id):
        raise NotFound()
    period_scores = visible.filter(agency_id=agency_id, starts_on=period.starts_on,
                                   ends_on=period.ends_on)
    score = _with_details(period_scores.filter(current=True)).first()
    if score is None:
        raise NotFound()
    earlier = list(period_scores.filter(current=False).order_by("-run__computed_at", "-id"))
    return _detail(score, earlier)


@dataclass(frozen=True)
class Report:
    board: Board
    details: list[AgencyDetail]


def score_report(*, actor, period: Period) -> Report:
    """Everything the PDF and Excel reports show: the ranking and each agency's detail."""
    board = score_board(actor=actor, period=period)
    scores = _with_details(_visible(actor).filter(
        pk__in=[row.score.pk for row in board.rows])).order_by("-total", "agency__name", "id")
    return Report(board=board, details=[_detail(score) for score in scores])


@dataclass(frozen=True)
class SchemeDimension:
    code: str
    name: str
    source: str
    source_label: str
    weight: Decimal
    effective_weight: Decimal
    config: dict
    note: str

    @property
    def kinds_label(self) -> str:
        return listed(Kind(k).label for k in self.config.get("kinds", ()))


@dataclass(frozen=True)
class SchemeView:
    scheme: ScoringScheme
    dimensions: list[SchemeDimension]
    bands: dict
    history: list[ScoringScheme]


def scoring_scheme_current(*, actor) -> SchemeView:
    """The scheme in force, with each dimension's weight once satisfaction's is spread."""
    if not permissions.scores_view(actor):
        raise PermissionDenied(action="scores_view")
    history = list(ScoringScheme.objects.select_related("changed_by").order_by("-version")[:20])
    if not history:
        raise NotFound()
    scheme = history[0]
    read = [scoring.Dimension.read(row) for row in scheme.dimensions]
    weights = scoring.effective_weights(read)
    return SchemeView(scheme=scheme, bands=scheme.bands, history=history, dimensions=[
        SchemeDimension(code=row["code"], name=row["name"], source=row["source"],
                        source_label=str(Source(row["source"]).label),
                        weight=Decimal(str(row["weight"])),
                        effective_weight=weights[row["code"]].quantize(scoring.CENT, ROUND_HALF_UP),
                        config=row, note=row.get("note", ""))
        for row in scheme.dimensions])
