"""Performance scoring pages: a period's ranking, an agency's drill-down, computing
a period, the scheme, and the PDF and Excel reports."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yizhan.directory.pages import refusal_shown, staff_page
from yizhan.supervision import (
    permissions,
    reports,
    scoring,
    scoring_selectors,
    scoring_services,
)
from yizhan.supervision.models import Grade, Level
from yizhan.supervision.scoring import Period, Source


def _period(params, *, required: bool = False) -> Period | None:
    return Period.from_params(period=params.get("period", ""), start=params.get("start") or None,
                              end=params.get("end") or None, required=required)


def _shown_period(request, periods: list[Period] | None = None) -> Period:
    """The period the query asks for, else the default one."""
    return _period(request.GET) or scoring_selectors.default_period(actor=request.user,
                                                                    periods=periods)


def _choices(periods: list[Period], period: Period) -> list[Period]:
    """Recent quarters and every period computed, latest first, with the one shown."""
    found = {p.key: p for p in (*Period.recent_quarters(8), *periods, period)}
    return sorted(found.values(), key=lambda p: (p.ends_on, p.starts_on), reverse=True)


@staff_page(permissions.scores_view)
def scores(request):
    periods = scoring_selectors.score_periods(actor=request.user)
    period = _shown_period(request, periods)
    board = scoring_selectors.score_board(actor=request.user, period=period)
    return render(request, "supervision/scores.html", {
        "board": board, "period": period, "choices": _choices(periods, period),
        "query": urlencode({"period": period.key}),
        "may_compute": permissions.scores_compute(request.user),
        "may_monitor": permissions.monitor(request.user),
    })


@require_POST
@staff_page(permissions.scores_compute)
def scores_compute(request):
    period = None
    with refusal_shown(request):
        period = _period(request.POST, required=True)
        scoring_services.scores_compute(actor=request.user, period=period,
                                        reason=request.POST.get("reason", ""))
        messages.success(request, _("已计算 %(period)s 的绩效评估。") % {"period": period.label})
    url = reverse("supervision:scores")
    return redirect(f"{url}?{urlencode({'period': period.key})}" if period else url)


@staff_page(permissions.scores_view)
def score_agency(request, agency_id: int):
    period = _shown_period(request)
    detail = scoring_selectors.agency_score_get(actor=request.user, period=period,
                                                agency_id=agency_id)
    return render(request, "supervision/scores_agency.html", {
        "detail": detail, "period": period, "query": urlencode({"period": period.key}),
        "may_monitor": permissions.monitor(request.user),
    })


@staff_page(permissions.scores_view)
def scores_report(request):
    period = _shown_period(request)
    report = scoring_selectors.score_report(actor=request.user, period=period)
    return reports.report_response(report, request.GET.get("format", "pdf"))


@staff_page(permissions.scores_view)
def scoring_scheme(request):
    view = scoring_selectors.scoring_scheme_current(actor=request.user)
    posted = {}
    if request.method == "POST":
        posted = request.POST
        with refusal_shown(request):
            dimensions, bands = _scheme_from(request.POST, view.scheme)
            scoring_services.scoring_scheme_update(actor=request.user, dimensions=dimensions,
                                                   bands=bands,
                                                   reason=request.POST.get("reason", ""))
            messages.success(request, _("评估方案已保存为新版本，下次计算时生效。"))
            return redirect("supervision:scoring_scheme")
    return render(request, "supervision/scores_scheme.html", {
        "view": view, "rows": _form_rows(view, posted),
        "bands": [(grade, Grade(grade).label, posted.get(f"band_{grade}",
                                                         view.bands.get(grade)))
                  for grade in scoring.BAND_KEYS],
        "reason": posted.get("reason", ""),
        "may_edit": permissions.scoring_scheme_update(request.user),
        "may_monitor": permissions.monitor(request.user),
    })


def _deduction_keys(source: str) -> list[tuple[str, str]]:
    """What a dimension deducts for, with labels: alert levels, or notice types."""
    if source == Source.ALERTS:
        return list(Level.choices)
    if source == Source.NOTICES:
        return [(key, str(label)) for key, label in scoring.NOTICE_DEDUCTIONS.items()]
    return []


def _form_rows(view, posted) -> list[dict]:
    """Each dimension's editable values: as posted when a form came back refused."""
    rows = []
    for dimension in view.dimensions:
        code, config = dimension.code, dimension.config
        deductions = config.get("deductions") or {}
        rows.append({
            "dimension": dimension, "code": code,
            "name": posted.get(f"name_{code}", dimension.name),
            "weight": posted.get(f"weight_{code}", config["weight"]),
            "levels": [(level, label, posted.get(f"{level}_{code}", deductions.get(level, 0)))
                       for level, label in _deduction_keys(dimension.source)],
            "per_item": posted.get(f"per_item_{code}", config.get("per_item")),
            "min_depth": posted.get(f"min_depth_{code}", config.get("min_depth")),
        })
    return rows


def _scheme_from(post, scheme) -> tuple[list[dict], dict]:
    """The form's names, weights, deductions and bands over the current scheme.

    The sources of data and what each dimension counts stay as they are
    (the API changes those); ``scoring.clean_scheme`` says what is wrong.
    """
    dimensions = []
    for row in scheme.dimensions:
        code = row["code"]
        changed = {**row, "name": post.get(f"name_{code}", row["name"]),
                   "weight": post.get(f"weight_{code}", row["weight"])}
        if row["source"] in (Source.ALERTS, Source.NOTICES):
            changed["deductions"] = {key: post.get(f"{key}_{code}",
                                                   row["deductions"].get(key, 0))
                                     for key, _label in _deduction_keys(row["source"])}
        elif row["source"] == Source.CATALOG:
            changed["per_item"] = post.get(f"per_item_{code}", row["per_item"])
            changed["min_depth"] = post.get(f"min_depth_{code}", row["min_depth"])
        dimensions.append(changed)
    bands = {grade: post.get(f"band_{grade}", scheme.bands.get(grade))
             for grade in scoring.BAND_KEYS}
    return dimensions, bands
