"""State changes of performance scoring: editing the scheme, computing a period.

A computation is stored with every deduction behind it, so the quarterly
report the office publishes does not change when an alert is cleared
afterwards.  Computing the same period again supersedes the earlier scores
of the agencies it covers; the earlier ones stay on record, and both
computations are in the audit log.
"""

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from yizhan.accounts.models import person_of
from yizhan.audit.services import audit_append
from yizhan.core.errors import Conflict, InvalidInput
from yizhan.core.permissions import require
from yizhan.supervision import permissions, scoring
from yizhan.supervision.actions import SupervisionAction
from yizhan.supervision.error_codes import SupervisionErrorCode
from yizhan.supervision.models import (
    AgencyScore,
    PostScore,
    ScoreDeduction,
    ScoreRun,
    ScoringScheme,
)
from yizhan.supervision.scoring import Period, ScoringErrorCode


def _current_scheme_locked() -> ScoringScheme | None:
    # Locking the current version serialises scheme edits and computations:
    # a computation never reads a scheme that is being replaced, and two
    # computations of one period never both find the same scores to supersede.
    return ScoringScheme.objects.select_for_update().order_by("-version").first()


@transaction.atomic
def scoring_scheme_update(*, actor, dimensions: list, bands: dict,
                          reason: str = "") -> ScoringScheme:
    """Replace the dimensions, weights, deductions and grade bands: a new version.

    The scheme is checked as a whole (``scoring.clean_scheme``); anything
    wrong is refused with a message naming it, and nothing is written.  A
    change that changes nothing writes nothing and returns the current
    version.  Stored computations keep the version they used.
    """
    require(permissions.scoring_scheme_update(actor), action="scoring_scheme_update")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("修改绩效评估方案须说明理由。"), code=SupervisionErrorCode.NO_REASON,
                           field="reason")
    current = _current_scheme_locked()
    dimensions, bands = scoring.clean_scheme(dimensions, bands)
    if current is not None and (current.dimensions, current.bands) == (dimensions, bands):
        return current
    version = current.version + 1 if current is not None else 1
    try:
        with transaction.atomic():
            scheme = ScoringScheme.objects.create(
                version=version, dimensions=dimensions, bands=bands,
                changed_by=person_of(actor), changed_at=timezone.now(), reason=reason)
    except IntegrityError:
        raise Conflict(_("评估方案已被他人修改，请刷新后重试。")) from None
    changes = {"version": [current.version if current else None, version]}
    if current is None or current.dimensions != dimensions:
        changes["dimensions"] = [current.dimensions if current else None, dimensions]
    if current is None or current.bands != bands:
        changes["bands"] = [current.bands if current else None, bands]
    audit_append(actor=actor, action=SupervisionAction.SCORING_SCHEME_UPDATED, obj=scheme,
                 reason=reason, changes=changes)
    return scheme


@transaction.atomic
def scores_compute(*, actor, period: Period, reason: str = "") -> ScoreRun:
    """Compute and store the scores of ``period`` for the agencies of the actor's scope.

    Uses the current scheme; cleared alerts do not count.  When the period
    was computed before for some of these agencies, a reason is required,
    and the new scores supersede the earlier ones, which stay on record.
    """
    require(permissions.scores_compute(actor), action="scores_compute")
    return _store_scores(actor=actor, period=period, reason=reason,
                         scheme=_current_scheme_locked(),
                         agency_ids=permissions.score_compute_agencies(actor))


@transaction.atomic
def scores_compute_after_quarter(*, today: dt.date | None = None) -> ScoreRun | None:
    """The quarterly scores, computed by the platform once the quarter has ended.

    For every agency not scored yet for the quarter before the one
    ``today`` falls in.  Run by a periodic task; an agency whose quarter is
    already computed (by this task, or by an office for its own agencies)
    is left as it is: recomputing it needs the office and a reason.
    Returns the run, or None when there was nothing to do.
    """
    from yizhan.directory.models import Agency

    quarter = Period.containing(today or timezone.localdate()).quarter_before()
    # Two workers running the task at once queue on the scheme's row: the
    # second finds the first one's scores and does nothing.
    scheme = _current_scheme_locked()
    if ScoreRun.objects.filter(starts_on=quarter.starts_on, ends_on=quarter.ends_on,
                               computed_by=None).exists():
        # The usual answer, every six hours: the platform has scored the
        # quarter.  An agency it left out had nothing to score, and none can
        # gain any since: alerts and publications are dated when they happen.
        return None
    # Scored for good: after the quarter ended.  A look an office took while
    # it ran missed the alerts raised since, and is computed again.
    scored = set(AgencyScore.objects.filter(
        starts_on=quarter.starts_on, ends_on=quarter.ends_on, current=True,
        run__computed_at__gte=quarter.bounds()[1],
    ).values_list("agency_id", flat=True))
    agency_ids = None
    if scored:
        agency_ids = frozenset(Agency.objects.exclude(pk__in=scored)
                               .values_list("pk", flat=True))
    try:
        return _store_scores(actor=None, period=quarter, scheme=scheme, agency_ids=agency_ids,
                             reason=_("季度结束后自动计算"))
    except InvalidInput as exc:
        if exc.code == ScoringErrorCode.NOTHING_TO_SCORE:
            return None
        raise


def _store_scores(*, actor, period: Period, reason, scheme: ScoringScheme | None,
                  agency_ids) -> ScoreRun:
    """Compute and store; ``scheme`` is the current one, locked by the caller.

    What is stored (deduction notes, the reason) is text in the platform's
    language, whatever the language of the request that asked for it.
    """
    with translation.override(settings.LANGUAGE_CODE):
        reason = str(reason or "").strip()
        if scheme is None:
            raise InvalidInput(_("尚未配置绩效评估方案。"), code=ScoringErrorCode.BAD_SCHEME)
        result = scoring.compute(dimensions=scheme.dimensions, bands=scheme.bands, period=period,
                                 agency_ids=agency_ids)
        if not result.agencies:
            raise InvalidInput(
                _("该期间在您的监察范围内没有可评估的机关（没有已发布的事项，也没有预警）。"),
                code=ScoringErrorCode.NOTHING_TO_SCORE)
        # The scheme's lock serialises computations: no other one can
        # supersede these scores meanwhile.
        earlier = list(AgencyScore.objects.filter(
            agency_id__in=[card.agency_id for card in result.agencies], starts_on=period.starts_on,
            ends_on=period.ends_on, current=True).values_list("pk", "run_id"))
        if earlier and not reason:
            raise InvalidInput(_("该期间已有评估结果，重新计算须说明理由。"),
                               code=SupervisionErrorCode.NO_REASON, field="reason")
        AgencyScore.objects.filter(pk__in=[pk for pk, _run in earlier]).update(current=False)

        run = ScoreRun.objects.create(starts_on=period.starts_on, ends_on=period.ends_on,
                                      scheme=scheme, computed_by=person_of(actor),
                                      computed_at=timezone.now(), reason=reason,
                                      agencies=len(result.agencies))
        scores = AgencyScore.objects.bulk_create([
            AgencyScore(run=run, agency_id=card.agency_id, starts_on=period.starts_on,
                        ends_on=period.ends_on, current=True, total=card.total, grade=card.grade,
                        rank=card.rank, ranked=card.ranked, alerts=card.alerts,
                        dimensions=card.dimensions)
            for card in result.agencies])
        by_agency = {score.agency_id: score for score in scores}
        PostScore.objects.bulk_create([
            PostScore(agency_score=by_agency[agency_id], post_id=card.post_id, total=card.total,
                      grade=card.grade, rank=card.rank, ranked=card.ranked, alerts=card.alerts,
                      dimensions=card.dimensions)
            for agency_id, cards in result.posts.items() for card in cards], batch_size=1000)
        ScoreDeduction.objects.bulk_create([
            ScoreDeduction(agency_score=by_agency[card.agency_id], post_id=line.post_id,
                           dimension=line.dimension, points=line.points, alert_id=line.alert_id,
                           case_id=line.case_id, item_id=line.item_id, level=line.level,
                           note=line.note)
            for card in result.agencies for line in card.lines], batch_size=1000)
        _rerank(period)
        audit_append(actor=actor, action=SupervisionAction.SCORES_COMPUTED, obj=run, reason=reason,
                     object_repr=period.key,
                     changes={"period": [period.starts_on.isoformat(), period.ends_on.isoformat()],
                              "scheme": scheme.version, "agencies": len(scores),
                              "superseded_runs": sorted({run_id for _pk, run_id in earlier})})
        return run


def _rerank(period: Period) -> None:
    """Rank every agency score in force for ``period`` together.

    Computations cover different agencies (an office its scope, the
    platform the agencies left out) and each ranks its own: without this,
    one board showed two agencies first, out of different totals.  Runs
    are serialised by the scheme's lock, so the ranks stay consistent.
    """
    scores = list(AgencyScore.objects.filter(
        starts_on=period.starts_on, ends_on=period.ends_on, current=True,
    ).select_related("agency"))
    before = {score.pk: (score.rank, score.ranked) for score in scores}
    scoring.rank(scores, key=lambda s: (-s.total, s.agency.name, s.agency_id))
    AgencyScore.objects.bulk_update(
        [s for s in scores if (s.rank, s.ranked) != before[s.pk]], ["rank", "ranked"],
        batch_size=500)

