"""Performance scoring (绩效评估) of agencies and posts.

Alerts are raised for real: cases go through the case engine's services
and the sweep is run a month or two ahead, as tests/supervision/test_pages.py
does.  Only SX-02 (the promised deadline passed: a red card) is left among
the timeliness rules, so each late case carries exactly one red card, on
the review step held by agency A's reviewer post.

The arithmetic of alerts is pinned on the first default scheme (v1), whose
监察督办 dimension counts the red cards of cases still undecided at the end
of the period; the second default (v2, the notices source) is tested with
the notices in tests/supervision/test_notices.py.
"""

import datetime as dt
import inspect
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.api import api_error
from tests.cases.helpers import complete, publish_item, submitted
from tests.markers import postgres_only
from tests.supervision.helpers import district_officer, run_released_together
from tests.writes import watching
from yizhan.audit.models import AuditRecord
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory.models import Agency
from yizhan.directory.roles import Role
from yizhan.supervision import permissions, scoring, scoring_services
from yizhan.supervision import services as supervision_services
from yizhan.supervision.actions import SupervisionAction
from yizhan.supervision.detection import sweep
from yizhan.supervision.models import (
    AgencyScore,
    Alert,
    Grade,
    PostScore,
    ScoreDeduction,
    ScoreRun,
    ScoringScheme,
)
from yizhan.supervision.scoring import CENT, Period
from yizhan.supervision.scoring_selectors import agency_score_get, scores_for

pytestmark = pytest.mark.django_db

AHEAD = dt.timedelta(days=60)
CENT_UP = {"exp": CENT, "rounding": ROUND_HALF_UP}

nothing_written = watching(ScoringScheme, ScoreRun, AgencyScore, PostScore, ScoreDeduction,
                           AuditRecord)


@pytest.fixture(autouse=True)
def first_default_scheme(db):
    """Scheme v1 as the current one (migration 0006 added v2 on top of it)."""
    ScoringScheme.objects.filter(version__gt=1).delete()


def this_period() -> Period:
    """From yesterday to three months ahead: it holds alerts of a sweep 60 days ahead."""
    today = timezone.localdate()
    return Period.of(today - dt.timedelta(days=1), today + dt.timedelta(days=90))


@pytest.fixture
def red_only(lines_only):
    lines_only("SX-02")


@pytest.fixture
def version_a(world, red_only):
    return publish_item(world, name="绩效测试许可")


def late_case(world, version):
    """A case of A accepted now; a sweep 60 days ahead raises its red card (SX-02)."""
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    sweep(now=timezone.now() + AHEAD)
    return case


def red_card(case) -> Alert:
    return Alert.objects.get(case_id=case.pk, rule__code="SX-02")


def dimensions(score) -> dict[str, dict]:
    return {row["code"]: row for row in score.dimensions}


def expected_total(**deducted) -> Decimal:
    """The total when dimensions lost these points (satisfaction's 15 spread over 85)."""
    weights = {row["code"]: Decimal(str(row["weight"]))
               for row in ScoringScheme.objects.get(version=1).dimensions}
    lost = sum((Decimal(str(points)) * weights[code] for code, points in deducted.items()),
               Decimal(0))
    return (Decimal(100) - lost / (Decimal(100) - weights["satisfaction"])).quantize(**CENT_UP)


def compute(actor, period=None, reason=""):
    return scoring_services.scores_compute(actor=actor, period=period or this_period(),
                                           reason=reason)


def agency_score(run, agency) -> AgencyScore:
    return AgencyScore.objects.get(run=run, agency=agency)


# --- the scheme -----------------------------------------------------------------------------

def test_the_installation_starts_with_the_nine_dimensions():
    """Version 1 names the nine dimensions of practice, weighs 100 in all and is valid."""
    scheme = ScoringScheme.objects.get(version=1)
    assert [d["name"] for d in scheme.dimensions] == [
        "办件时效（监察点）", "事项公开", "收费", "监察督办", "数据报送", "投诉处理", "责任追究",
        "群众满意度", "其他"]
    assert sum(d["weight"] for d in scheme.dimensions) == 100
    assert scoring.clean_scheme(scheme.dimensions, scheme.bands) == (scheme.dimensions,
                                                                     scheme.bands)
    assert scheme.bands == {"excellent": 90, "good": 80, "pass": 60}
    assert scheme.reason == "按全国通行做法设置的默认方案"   # shown in the version history


@pytest.mark.parametrize(("change", "message"), [
    (lambda d, b: d[0].update(weight=25), "各指标权重之和须为 100，现为 95。"),
    (lambda d, b: d[0]["deductions"].update(red=-5), "“red”扣分须为 0 到 100 之间"),
    (lambda d, b: d[0]["deductions"].update(red=1.234), "最多两位小数"),
    (lambda d, b: d[2].update(source="rumours"), "数据来源无效：rumours"),
    (lambda d, b: d[1].update(code="timeliness"), "指标编码“timeliness”重复"),
    (lambda d, b: d[0].update(kinds=["weather"]), "预警类别无效"),
    (lambda d, b: d[0].update(rules=["XX-99"]), "不存在的规则：XX-99"),
    (lambda d, b: d[1].update(min_depth=7), "网上办理深度须为 1–4 级"),
    (lambda d, b: d[1].update(colour="red"), "不认识的设置：colour"),
    (lambda d, b: d[0].update(weight="三十"), "权重须为 0 到 100 之间"),
    (lambda d, b: b.update(good=95), "100 ≥ 优秀 > 良好 > 合格 > 0"),
    (lambda d, b: b.update(excellent=120), "“优秀”的分数线须为 0 到 100 之间"),
    (lambda d, b: b.update(fair=70), "只能设优秀、良好、合格三档"),
    (lambda d, b: [x.update(weight=0) for x in d[:7] + d[8:]] and d[7].update(weight=100),
     "除它以外至少一个指标的权重须大于 0"),
])
def test_an_invalid_scheme_is_refused_with_its_reason_and_nothing_written(
        world, officer, change, message):
    """Weights, deductions and bands are checked as a whole; nothing is written on refusal."""
    scheme = ScoringScheme.objects.get(version=1)
    dims = [dict(d, deductions=dict(d["deductions"])) if "deductions" in d else dict(d)
            for d in scheme.dimensions]
    bands = dict(scheme.bands)
    change(dims, bands)
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        scoring_services.scoring_scheme_update(actor=officer, dimensions=dims, bands=bands,
                                               reason="调整权重")
    assert message in refused.value.render()
    assert refused.value.code == "supervision.bad_scoring_scheme"


def test_the_office_changes_the_scheme_as_a_new_version(world, officer):
    """A good change makes version 2 with an audit record; the same again writes nothing."""
    scheme = ScoringScheme.objects.get(version=1)
    dims = [dict(d) for d in scheme.dimensions]
    dims[0]["weight"], dims[1]["weight"] = 35, 5
    new = scoring_services.scoring_scheme_update(actor=officer, dimensions=dims,
                                                 bands={"excellent": 95, "good": 85, "pass": 70},
                                                 reason="突出办件时效")
    assert (new.version, new.dimensions[0]["weight"], new.bands["pass"]) == (2, 35, 70)
    record = AuditRecord.objects.get(action=SupervisionAction.SCORING_SCHEME_UPDATED)
    assert (record.reason, record.changes["version"]) == ("突出办件时效", [1, 2])
    with nothing_written():
        same = scoring_services.scoring_scheme_update(
            actor=officer, dimensions=dims, bands={"excellent": 95, "good": 85, "pass": 70},
            reason="再存一次")
    assert same.pk == new.pk
    with nothing_written(), pytest.raises(InvalidInput, match="须说明理由"):
        scoring_services.scoring_scheme_update(actor=officer, dimensions=dims,
                                               bands=new.bands, reason=" ")


def test_only_the_supervision_office_changes_the_scheme(world):
    """Agency staff, an officer posted in one agency included, are refused; nothing written."""
    scheme = ScoringScheme.objects.get(version=1)
    for role in (Role.AGENCY_HEAD, Role.WINDOW_CLERK, Role.SYSADMIN, Role.SUPERVISION_OFFICER):
        with nothing_written(), pytest.raises(PermissionDenied):
            scoring_services.scoring_scheme_update(actor=world.user("a", role),
                                                   dimensions=scheme.dimensions,
                                                   bands=scheme.bands, reason="越权")


# --- computing ------------------------------------------------------------------------------

def test_a_red_card_lowers_the_agency_and_the_post_by_its_deduction(world, officer, version_a):
    """SX-02 costs 5 in timeliness (and 5 in 监察督办 while the case stays undecided),
    for agency A and for the reviewer post that held the step, with links to both."""
    case = late_case(world, version_a)
    alert = red_card(case)
    reviewer_post = world.posts["a"][Role.REVIEWER]
    assert (alert.level, alert.post_id) == ("red", reviewer_post.pk)

    run = compute(officer)
    score = agency_score(run, world.agency_a)
    dims = dimensions(score)
    assert (dims["timeliness"]["score"], dims["timeliness"]["deducted"]) == ("95.00", "5.00")
    assert dims["supervision"]["score"] == "95.00"
    assert dims["fees"]["score"] == dims["disclosure"]["score"] == "100.00"
    assert score.total == expected_total(timeliness=5, supervision=5) == Decimal("97.65")
    assert (score.grade, score.rank, score.alerts) == (Grade.EXCELLENT, 1, 1)
    deduction = ScoreDeduction.objects.get(agency_score=score, dimension="timeliness")
    assert (deduction.points, deduction.alert_id, deduction.case_id, deduction.post_id) == (
        Decimal(5), alert.pk, case.pk, reviewer_post.pk)

    post = PostScore.objects.get(agency_score=score, post=reviewer_post)
    assert dimensions(post)["timeliness"]["score"] == "95.00"
    assert dimensions(post)["disclosure"]["explain"]["key"] == "agency_only"
    assert post.total == score.total
    clerk = PostScore.objects.get(agency_score=score, post=world.posts["a"][Role.WINDOW_CLERK])
    assert (clerk.total, clerk.rank, post.rank) == (Decimal(100), 1, 3)

    detail = agency_score_get(actor=officer, period=this_period(), agency_id=world.agency_a.pk)
    [timeliness] = [d for d in detail.dimensions if d.dimension.code == "timeliness"]
    assert [d.alert_id for d in timeliness.deductions] == [alert.pk]
    [reviewer] = [p for p in detail.posts if p.row.score.post_id == reviewer_post.pk]
    assert {d.alert_id for d in reviewer.deductions} == {alert.pk}


def test_the_deduction_is_the_one_configured(world, officer, version_a):
    """A red card costs what the scheme says: 8 once the office sets 8."""
    late_case(world, version_a)
    scheme = ScoringScheme.objects.get(version=1)
    dims = [dict(d) for d in scheme.dimensions]
    dims[0] = dict(dims[0], deductions={"red": 8, "yellow": 3, "notice": 1})
    scoring_services.scoring_scheme_update(actor=officer, dimensions=dims, bands=scheme.bands,
                                           reason="红牌加重扣分")
    score = agency_score(compute(officer), world.agency_a)
    assert dimensions(score)["timeliness"]["score"] == "92.00"
    assert score.total == expected_total(timeliness=8, supervision=5)
    assert score.run.scheme.version == 2


def test_a_cleared_alert_does_not_count(world, officer, version_a):
    """Of two red cards, the one the office cleared costs nothing."""
    first, second = late_case(world, version_a), late_case(world, version_a)
    supervision_services.alert_clear(actor=officer, alert=red_card(first),
                                     reason="延期批准补录")
    score = agency_score(compute(officer), world.agency_a)
    assert dimensions(score)["timeliness"]["score"] == "95.00"
    assert list(ScoreDeduction.objects.filter(agency_score=score, dimension="timeliness")
                .values_list("alert_id", flat=True)) == [red_card(second).pk]
    assert score.alerts == 1


def test_satisfaction_has_no_data_so_its_weight_is_spread(world, officer, version_a):
    """Satisfaction is not scored and says why; the others count 100/85 of their weight;
    the dimensions without a source score full marks and say so."""
    score = agency_score(compute(officer), world.agency_a)
    dims = dimensions(score)
    satisfaction = dims["satisfaction"]
    assert (satisfaction["score"], satisfaction["effective_weight"]) == (None, "0.00")
    assert "群众满意度评价数据" in scoring.explain(satisfaction["explain"])
    assert "按比例分配给其他指标" in scoring.explain(satisfaction["explain"])
    assert dims["timeliness"]["effective_weight"] == "35.29"   # 30 × 100 / 85
    assert dims["reporting"]["effective_weight"] == "5.88"     # 5 × 100 / 85
    for code in ("reporting", "complaints", "accountability", "other"):
        assert dims[code]["score"] == "100.00"
        assert scoring.explain(dims[code]["explain"]) == "平台暂无该指标的数据来源，按满分计。"
    assert score.total == Decimal(100)
    weights = scoring.effective_weights(
        [scoring.Dimension.read(d) for d in ScoringScheme.objects.get(version=1).dimensions])
    assert sum(weights.values()) == Decimal(100)


def test_items_below_online_depth_three_cost_disclosure_points(world, officer, red_only):
    """事项公开 is computed from the catalog: each item below depth 3 costs 2, with its item;
    posts are not scored on it."""
    publish_item(world, name="网上办理许可")
    low = publish_item(world, name="线下办理许可", online_depth=2)
    score = agency_score(compute(officer), world.agency_a)
    disclosure = dimensions(score)["disclosure"]
    assert (disclosure["score"], disclosure["count"]) == ("98.00", 1)
    assert "2 个事项中有 1 个" in scoring.explain(disclosure["explain"])
    deduction = ScoreDeduction.objects.get(agency_score=score, dimension="disclosure")
    assert (deduction.item_id, deduction.points, deduction.post_id) == (low.item_id,
                                                                        Decimal(2), None)
    assert all(p.total == Decimal(100) for p in PostScore.objects.filter(agency_score=score))


def _cancel(world, version):
    """Cancel the item of ``version`` by a State Council decision."""
    from yizhan.catalog import services as catalog_services
    from yizhan.catalog.models import Item

    catalog_services.item_withdraw(
        actor=world.admin, item=Item.objects.get(pk=version.item_id), kind="cancelled",
        reason="国务院关于取消一批行政许可事项的决定（国发〔2026〕5号）")


def test_an_item_cancelled_before_the_period_ends_costs_no_disclosure_points(
        world, officer, red_only):
    """事项公开 counts the items in the catalog at the period's end.  An item
    cancelled by a State Council decision is out of it (the coverage leaves
    it out too): its agency can no longer raise its online depth, and it
    costs no points."""
    publish_item(world, name="网上办理许可")
    low = publish_item(world, name="线下办理许可", online_depth=2)
    _cancel(world, low)
    disclosure = dimensions(agency_score(compute(officer), world.agency_a))["disclosure"]
    assert (disclosure["score"], disclosure["count"]) == ("100.00", 0), disclosure
    assert "1 个事项的网上办理深度均达到" in scoring.explain(disclosure["explain"])


def test_an_item_cancelled_after_the_period_still_counts_for_it(world, officer, red_only,
                                                                monkeypatch):
    """Offered below depth 3 for the whole period and cancelled only after its
    end: the period's 事项公开 still loses the item's 2 points."""
    publish_item(world, name="网上办理许可")
    low = publish_item(world, name="线下办理许可", online_depth=2)
    period = this_period()
    after = period.bounds()[1] + dt.timedelta(days=1)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: after)
        _cancel(world, low)
    score = agency_score(compute(officer, period), world.agency_a)
    disclosure = dimensions(score)["disclosure"]
    assert (disclosure["score"], disclosure["count"]) == ("98.00", 1), disclosure
    assert ScoreDeduction.objects.get(agency_score=score, dimension="disclosure").item_id \
        == low.item_id


def test_an_internal_units_posts_are_ranked_within_its_department(world, officer, version_a):
    """A post of A's 审批科 is scored among A's posts; the unit is not ranked on its own."""
    from yizhan.directory import services as directory_services

    post = directory_services.post_create(actor=world.admin, agency=world.unit_a,
                                          name="科室审查岗", role=Role.REVIEWER)
    run = compute(officer)
    assert list(run.agency_scores.values_list("agency_id", flat=True)) == [world.agency_a.pk]
    detail = agency_score_get(actor=officer, period=this_period(), agency_id=world.agency_a.pk)
    assert "甲局审批科 · 科室审查岗" in [p.row.name for p in detail.posts]
    assert PostScore.objects.get(agency_score__run=run, post=post).total == Decimal(100)


def test_grades_follow_the_bands():
    """At or above a band's line is that grade; below the pass line fails."""
    bands = {"excellent": 90, "good": 80, "pass": 60}
    cases = {"100": Grade.EXCELLENT, "90": Grade.EXCELLENT, "89.99": Grade.GOOD,
             "80": Grade.GOOD, "79.99": Grade.PASS, "60": Grade.PASS, "59.99": Grade.FAIL,
             "0": Grade.FAIL}
    assert {total: scoring.grade_of(Decimal(total), bands) for total in cases} == cases


def test_grades_follow_the_bands_the_office_sets(world, officer, version_a):
    """With 合格 from 97 and 良好 from 98, a total of 97.65 is 合格."""
    late_case(world, version_a)
    scheme = ScoringScheme.objects.get(version=1)
    scoring_services.scoring_scheme_update(actor=officer, dimensions=scheme.dimensions,
                                           bands={"excellent": 99, "good": 98, "pass": 97},
                                           reason="从严定档")
    score = agency_score(compute(officer), world.agency_a)
    assert (score.total, score.grade) == (Decimal("97.65"), Grade.PASS)


def test_a_stored_period_stays_as_computed_until_recomputed(world, officer, version_a):
    """A later alert, or clearing a counted one, changes nothing stored; recomputing needs
    a reason, supersedes the earlier scores, keeps them, and is audited."""
    first = late_case(world, version_a)
    run = compute(officer)
    before = agency_score(run, world.agency_a)
    late_case(world, version_a)
    supervision_services.alert_clear(actor=officer, alert=red_card(first), reason="补录延期")
    [shown] = scores_for(actor=officer, period=this_period())
    assert (shown.pk, shown.total, shown.alerts) == (before.pk, before.total, 1)
    assert ScoreDeduction.objects.get(agency_score=before,
                                      dimension="timeliness").alert_id == red_card(first).pk

    with nothing_written(), pytest.raises(InvalidInput, match="重新计算须说明理由"):
        compute(officer)
    again = compute(officer, reason="核销后重新计算")
    after = agency_score(again, world.agency_a)
    [shown] = scores_for(actor=officer, period=this_period())
    assert shown.pk == after.pk and after.current is True
    before.refresh_from_db()
    assert before.current is False and before.total == expected_total(timeliness=5,
                                                                      supervision=5)
    assert after.alerts == 1
    assert ScoreDeduction.objects.get(agency_score=after,
                                      dimension="timeliness").alert.case_id != first.pk
    records = list(AuditRecord.objects.filter(action=SupervisionAction.SCORES_COMPUTED)
                   .order_by("at", "id"))
    assert [r.object_id for r in records] == [str(run.pk), str(again.pk)]
    assert records[1].changes["superseded_runs"] == [run.pk]
    assert records[1].reason == "核销后重新计算"


def test_only_the_office_computes_and_only_its_scope(world, officer, version_a):
    """Heads, clerks and an officer posted in agency A (who would score A's own
    work) are refused; the district office scores its district alone."""
    publish_item(world, agency=world.agency_b, name="乙局许可")
    for role in (Role.AGENCY_HEAD, Role.WINDOW_CLERK, Role.REVIEWER, Role.SUPERVISION_OFFICER):
        with nothing_written(), pytest.raises(PermissionDenied):
            compute(world.user("a", role))
    district, agency_c = district_officer(world)
    run = compute(district)
    assert set(run.agency_scores.values_list("agency_id", flat=True)) == {agency_c.pk}
    city = compute(officer, reason="全市统一计算")
    assert set(city.agency_scores.values_list("agency_id", flat=True)) == {
        world.agency_a.pk, world.agency_b.pk, agency_c.pk}


def test_a_period_with_nothing_to_score_is_refused(world, officer):
    """Without items or alerts there is nothing to rank: refused, nothing written."""
    with nothing_written(), pytest.raises(InvalidInput, match="没有可评估的机关"):
        compute(officer)


# System work with no actor, declared with the reason.
SYSTEM_SERVICES = {"scores_compute_after_quarter": "the periodic task at each quarter's end"}


def test_every_scoring_service_checks_its_permission():
    """Each public function of scoring_services calls ``permissions.<its own name>``."""
    missing = [name for name, func in inspect.getmembers(scoring_services, inspect.isfunction)
               if func.__module__ == scoring_services.__name__ and not name.startswith("_")
               and name not in SYSTEM_SERVICES
               and (not hasattr(permissions, name)
                    or f"permissions.{name}(" not in inspect.getsource(func))]
    assert missing == []


# --- periods ------------------------------------------------------------------------------

def test_periods_are_quarters_or_any_span_of_days():
    """A quarter key and a date range both read back as they were written."""
    q3 = Period.parse("2026Q3")
    assert (q3.starts_on, q3.ends_on, q3.key) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30),
                                                  "2026Q3")
    assert Period.parse("2026Q4").ends_on == dt.date(2026, 12, 31)
    custom = Period.parse("2026-07-01_2026-08-15")
    assert (custom.key, custom.quarter_number) == ("2026-07-01_2026-08-15", None)
    assert Period.of("2026-10-01", "2026-12-31").key == "2026Q4"
    for bad in ("2026Q5", "9999Q4", "last quarter", "2026-08-15_2026-07-01",
                "2020-01-01_2026-01-01", "9999-12-01_9999-12-31", "2026-02-30_2026-03-01"):
        with pytest.raises(InvalidInput):
            Period.parse(bad)
    assert [p.key for p in Period.recent_quarters(3, today=dt.date(2026, 2, 1))] == [
        "2026Q1", "2025Q4", "2025Q3"]


# --- pages, reports and the API -------------------------------------------------------------

@pytest.fixture
def two_agencies(world, officer, version_a):
    """A late case of A (one red card) and an item of B, computed by the city office."""
    case = late_case(world, version_a)
    publish_item(world, agency=world.agency_b, name="乙局许可")
    compute(officer)
    return case


def test_the_scores_page_ranks_and_drills_down_to_the_alert(world, officer, two_agencies,
                                                            client):
    """The ranking shows both agencies with grades; A's page links each deduction to the
    case's monitoring page and to the alert on it."""
    client.force_login(officer)
    key = this_period().key
    page = client.get(f"/supervision/scores/?period={key}").content.decode()
    assert 'data-testid="ranking"' in page
    assert page.index("乙局") < page.index("甲局")   # 100.00 before 97.65
    assert f'data-testid="grade-{world.agency_a.pk}">优秀<' in page
    assert "report-pdf" in page and "report-xlsx" in page
    response = client.get(f"/supervision/scores/agencies/{world.agency_a.pk}/?period={key}")
    assert response.status_code == 200
    page = response.content.decode()
    alert = red_card(two_agencies)
    assert f'href="/supervision/cases/{two_agencies.pk}/"' in page
    assert f'href="/supervision/cases/{two_agencies.pk}/#alert-{alert.pk}"' in page
    assert "SX-02" in page and "平台暂无该指标的数据来源" in page
    assert 'data-testid="total">97.65<' in page


def test_computing_from_the_page_and_recomputing_needs_a_reason(world, officer, version_a,
                                                                client):
    """The office computes from the form; a second time without a reason is refused."""
    late_case(world, version_a)
    client.force_login(officer)
    period = this_period()
    form = {"start": period.starts_on.isoformat(), "end": period.ends_on.isoformat()}
    response = client.post("/supervision/scores/compute/", form, follow=True)
    assert "已计算" in response.content.decode()
    assert ScoreRun.objects.count() == 1
    response = client.post("/supervision/scores/compute/", form, follow=True)
    assert "重新计算须说明理由" in response.content.decode()
    assert ScoreRun.objects.count() == 1
    response = client.post("/supervision/scores/compute/", {**form, "reason": "复核"},
                           follow=True)
    page = response.content.decode()
    assert ScoreRun.objects.count() == 2
    assert 'data-testid="runs"' in page and "已被取代" in page


def test_editing_the_scheme_from_its_page(world, officer, client):
    """Weights that do not add up to 100 are refused with the sum; good ones make v2."""
    client.force_login(officer)
    page = client.get("/supervision/scores/scheme/").content.decode()
    assert "群众满意度" in page and 'data-testid="weight-timeliness"' in page
    form = {"weight_timeliness": "40", "reason": "调整权重"}
    with nothing_written():
        page = client.post("/supervision/scores/scheme/", form, follow=True).content.decode()
    assert "各指标权重之和须为 100，现为 110。" in page
    client.post("/supervision/scores/scheme/", {**form, "weight_disclosure": "0"})
    scheme = ScoringScheme.objects.order_by("-version").first()
    assert (scheme.version, scheme.dimensions[0]["weight"], scheme.dimensions[1]["weight"]) == (
        2, 40, 0)


def test_the_pdf_report_is_a_pdf_with_the_agencies_names(world, officer, two_agencies,
                                                         client):
    """A real PDF: pypdf reads the agencies' names and the grades in Chinese."""
    client.force_login(officer)
    response = client.get(f"/supervision/scores/report/?period={this_period().key}&format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "甲局" in text and "乙局" in text
    assert "行政审批电子监察绩效评估" in text and "优秀" in text and "97.65" in text


def test_the_excel_report_has_the_ranking_rows(world, officer, two_agencies, client):
    """The workbook's ranking sheet lists the agencies best first, with totals and grades;
    the deductions sheet links the red card to its case."""
    client.force_login(officer)
    response = client.get(f"/supervision/scores/report/?period={this_period().key}"
                          "&format=xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    rows = list(workbook["排名"].iter_rows(values_only=True))
    assert rows[0][:5] == ("排名", "机关", "总分", "等级", "计入的预警")
    assert [row[:5] for row in rows[1:]] == [(1, "乙局", 100, "优秀", 0),
                                             (2, "甲局", 97.65, "优秀", 1)]
    lines = list(workbook["扣分明细"].iter_rows(values_only=True))
    alert = red_card(two_agencies)
    assert any(row[-1] == f"/supervision/cases/{two_agencies.pk}/#alert-{alert.pk}"
               for row in lines[1:])
    assert workbook["岗位"].max_row > 1


def test_the_excel_report_writes_names_as_text_not_formulas(world, officer, red_only, client):
    """Names and notes are typed by people: an item's name (a catalog editor's) or an
    agency's beginning with "=" shows as written, never run as a formula when the
    office opens the workbook."""
    name = '=HYPERLINK("http://evil.example/","点击查看")'
    publish_item(world, name=name, online_depth=2)   # a disclosure deduction names it
    Agency.objects.filter(pk=world.agency_a.pk).update(name="=1+1")
    compute(officer)
    client.force_login(officer)
    response = client.get(f"/supervision/scores/report/?period={this_period().key}"
                          "&format=xlsx")
    workbook = load_workbook(io.BytesIO(response.content))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert any(c.value == "=1+1" for c in texts)
    assert any(name in c.value for c in workbook["扣分明细"]["I"])
    assert all(c.data_type == "s" and c.quotePrefix for c in texts)


def test_the_api_computes_lists_and_explains(world, officer, version_a, client):
    """POST compute, GET the ranking and A's detail with its deductions and posts, GET the
    report; PUT a scheme whose weights do not add up is a 400."""
    case = late_case(world, version_a)
    client.force_login(officer)
    period = this_period()
    response = client.post("/api/v1/supervision/scores/compute",
                           {"start": period.starts_on.isoformat(),
                            "end": period.ends_on.isoformat()},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["scheme_version"] == 1
    rows = client.get(f"/api/v1/supervision/scores?period={period.key}").json()
    assert [(r["agency"], r["total"], r["grade_name"]) for r in rows] == [
        ("甲局", 97.65, "优秀")]
    detail = client.get(f"/api/v1/supervision/scores/agencies/{world.agency_a.pk}"
                        f"?period={period.key}").json()
    alert = red_card(case)
    [red] = [d for d in detail["deductions"] if d["dimension"] == "timeliness"]
    assert (red["alert_id"], red["case_id"], red["points"], red["rule"]) == (
        alert.pk, case.pk, 5.0, "SX-02")
    assert red["url"] == f"/supervision/cases/{case.pk}/#alert-{alert.pk}"
    [post] = [p for p in detail["posts"] if p["post_id"] == alert.post_id]
    assert red["id"] in post["deductions"]
    report = client.get(f"/api/v1/supervision/scores/report?period={period.key}&format=xlsx")
    assert report.status_code == 200
    assert load_workbook(io.BytesIO(report.content))["排名"]["B2"].value == "甲局"
    scheme = client.get("/api/v1/supervision/scores/scheme").json()
    scheme["dimensions"][0]["weight"] = 10
    response = client.put("/api/v1/supervision/scores/scheme",
                          {"dimensions": scheme["dimensions"], "bands": scheme["bands"],
                           "reason": "x"}, content_type="application/json")
    api_error(response, 400, "supervision.bad_scoring_scheme")
    # Weights that add up again: accepted as version 2, which the API then serves.
    scheme = client.get("/api/v1/supervision/scores/scheme").json()
    scheme["dimensions"][1]["weight"] += scheme["dimensions"][0]["weight"] - 10
    scheme["dimensions"][0]["weight"] = 10
    response = client.put("/api/v1/supervision/scores/scheme",
                          {"dimensions": scheme["dimensions"], "bands": scheme["bands"],
                           "reason": "调整权重"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert ScoringScheme.objects.order_by("-version").first().version == 2
    served = client.get("/api/v1/supervision/scores/scheme").json()
    assert served["dimensions"][0]["weight"] == 10


# --- who sees what --------------------------------------------------------------------------

def test_an_agency_head_sees_only_their_own_agency(world, two_agencies, client):
    """A's head reads A's score and deductions, never B's: pages, API and reports."""
    client.force_login(world.user("a", Role.AGENCY_HEAD))
    key = this_period().key
    page = client.get(f"/supervision/scores/?period={key}").content.decode()
    assert "甲局" in page and "乙局" not in page
    assert 'data-testid="compute"' not in page
    response = client.get(f"/supervision/scores/agencies/{world.agency_a.pk}/?period={key}")
    assert response.status_code == 200
    assert f"#alert-{red_card(two_agencies).pk}" in response.content.decode()
    assert client.get(f"/supervision/scores/agencies/{world.agency_b.pk}/?period={key}"
                      ).status_code == 404
    assert client.get(f"/api/v1/supervision/scores/agencies/{world.agency_b.pk}?period={key}"
                      ).status_code == 404
    assert [r["agency"] for r in client.get(f"/api/v1/supervision/scores?period={key}").json()
            ] == ["甲局"]
    workbook = load_workbook(io.BytesIO(client.get(
        f"/supervision/scores/report/?period={key}&format=xlsx").content))
    assert [row[1] for row in workbook["排名"].iter_rows(min_row=2, values_only=True)] == ["甲局"]
    pdf = client.get(f"/supervision/scores/report/?period={key}&format=pdf").content
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "甲局" in text and "乙局" not in text
    assert client.post("/supervision/scores/compute/", {"period": key}).status_code == 403


def test_a_clerk_is_refused_everywhere(world, two_agencies, client):
    """Staff other than the office and agency heads read no scores at all."""
    key = this_period().key
    for role in (Role.WINDOW_CLERK, Role.REVIEWER, Role.DATA_OFFICER):
        client.force_login(world.user("a", role))
        for url in (f"/supervision/scores/?period={key}",
                    f"/supervision/scores/agencies/{world.agency_a.pk}/?period={key}",
                    f"/supervision/scores/report/?period={key}&format=pdf",
                    "/supervision/scores/scheme/"):
            assert client.get(url).status_code == 403, (role, url)
        for url in (f"/api/v1/supervision/scores?period={key}",
                    f"/api/v1/supervision/scores/agencies/{world.agency_a.pk}?period={key}",
                    "/api/v1/supervision/scores/scheme"):
            assert client.get(url).status_code == 403, (role, url)
        with nothing_written():
            assert client.post("/supervision/scores/compute/",
                               {"period": key, "reason": "越权"}).status_code == 403
            assert client.post("/api/v1/supervision/scores/compute",
                               {"period": key, "reason": "越权"},
                               content_type="application/json").status_code == 403
    client.force_login(world.citizen)
    assert client.get(f"/supervision/scores/?period={key}").status_code == 403


# --- two computations at once -------------------------------------------------------------



@postgres_only
def test_two_computations_at_once_leave_one_score_in_force(committed, world, officer):
    """Both wait on the scheme, then run one after the other: the second supersedes the
    first, and each agency has exactly one score in force."""
    publish_item(world, name="并发计算许可")
    period = this_period()
    results, both_waited = run_released_together(
        lambda cursor: ScoringScheme.objects.select_for_update().order_by("-version").first(),
        *[lambda: scoring_services.scores_compute(actor=officer, period=period,
                                                  reason="两人同时计算")] * 2)
    assert both_waited
    assert all(isinstance(r, ScoreRun) for r in results), results
    first, second = sorted(results, key=lambda r: r.computed_at)
    assert list(AgencyScore.objects.filter(agency=world.agency_a, current=True)
                .values_list("run_id", flat=True)) == [second.pk]
    record = AuditRecord.objects.get(action=SupervisionAction.SCORES_COMPUTED,
                                     object_id=str(second.pk))
    assert record.changes["superseded_runs"] == [first.pk]


def test_a_dimension_s_kinds_are_listed_with_the_language_s_separator():
    """The scheme page lists the kinds of alert a dimension counts: 、 in Chinese,
    a comma in English."""
    from decimal import Decimal

    from django.utils import translation

    from yizhan.supervision.models import Kind
    from yizhan.supervision.scoring_selectors import SchemeDimension

    kinds = [Kind.values[0], Kind.values[1]]
    dimension = SchemeDimension(code="d", name="d", source="alerts", source_label="",
                                weight=Decimal(1), effective_weight=Decimal(1),
                                config={"kinds": kinds}, note="")
    with translation.override("zh-hans"):
        assert "、" in dimension.kinds_label
    with translation.override("en"):
        assert "、" not in dimension.kinds_label and ", " in dimension.kinds_label
