"""The supervision office's pages and API, and the marks in the workbench."""

import datetime

import pytest
from django.utils import timezone

from tests.api import api_error
from tests.cases.helpers import complete, open_task, publish_item, submitted
from yizhan.directory import pages
from yizhan.directory.roles import Role
from yizhan.supervision.detection import sweep
from yizhan.supervision.error_codes import SupervisionErrorCode
from yizhan.supervision.models import Alert, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def late_case(world):
    """An accepted case of agency A, swept a month ahead: its review is red."""
    version = publish_item(world, name="监察测试许可")
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    sweep(now=timezone.now() + datetime.timedelta(days=60))
    return case


def test_the_reviewer_sees_the_mark_in_the_workbench(world, late_case, client):
    """A late step carries a red mark in the inbox of the post that holds it."""
    client.force_login(world.user("a", Role.REVIEWER))
    page = client.get("/workbench/").content.decode()
    assert 'data-testid="mark-red"' in page
    assert open_task(late_case, "review").title in page


def test_the_dashboard_counts_and_draws_without_scripts(world, late_case, client):
    """Totals by level, coverage against targets, the red chart as SVG; no script tag."""
    client.force_login(world.user("a", Role.SUPERVISION_OFFICER))
    response = client.get("/supervision/")
    assert response.status_code == 200
    page = response.content.decode()
    reds = Alert.objects.filter(agency=world.agency_a, level="red").count()
    assert reds > 0
    assert f'data-testid="red-count">{reds}<' in page
    assert 'data-testid="red-chart"' in page and "<script" not in page
    assert "纳入电子监察的事项" in page and "100.0%" in page


def test_drill_down_from_an_alert_to_the_monitoring_points(world, late_case, client):
    """The alert list links each alert to the case's monitoring points and remaining days."""
    client.force_login(world.user("a", Role.SUPERVISION_OFFICER))
    alerts = client.get("/supervision/alerts/?level=red").content.decode()
    assert f"/supervision/cases/{late_case.pk}/" in alerts
    page = client.get(f"/supervision/cases/{late_case.pk}/").content.decode()
    assert "受理" in page and 'data-testid="points"' in page
    assert 'data-testid="remaining"' in page


def test_the_alerts_page_reaches_every_open_alert(world, late_case, officer, client):
    """More alerts than a page holds (a busy Monday): the oldest is on the last page, to
    be read and picked for a notice, and the pages keep the filters."""
    oldest = Alert.objects.filter(case=late_case, level="red").first()
    Alert.objects.filter(pk=oldest.pk).update(
        raised_at=timezone.now() - datetime.timedelta(days=30))
    Alert.objects.bulk_create([
        Alert(key=f"busy-{n}", rule=oldest.rule, rule_version=oldest.rule_version,
              level=oldest.level, case=late_case, agency=oldest.agency, message=oldest.message,
              raised_at=timezone.now() - datetime.timedelta(minutes=n)) for n in range(300)])
    client.force_login(officer)
    first = client.get("/supervision/alerts/?level=red").content.decode()
    assert f'data-testid="pick-alert-{oldest.pk}"' not in first
    assert 'href="?level=red&amp;page=2"' in first
    red = Alert.objects.filter(level="red", status="open").count()
    last = client.get(f"/supervision/alerts/?level=red&page={-(-red // pages.PAGE_SIZE)}")
    assert f'data-testid="pick-alert-{oldest.pk}"' in last.content.decode()


def test_the_alerts_page_filters_by_agency_and_rule(world, late_case, officer, client):
    """docs/supervision.md: alerts by level, status, agency and rule. A notice goes to one
    agency: the office picks its alerts by agency, and by the rule broken."""
    red = Alert.objects.get(case=late_case, rule__code="SX-02")
    others = Alert.objects.filter(case=late_case).exclude(pk=red.pk)
    assert others.exists()
    a, b = world.agency_a.pk, world.agency_b.pk
    client.force_login(officer)
    page = client.get(f"/supervision/alerts/?agency={a}&rule=SX-02").content.decode()
    assert '<label for="agency">责任机关</label>' in page
    assert '<label for="rule">规则</label>' in page
    assert f'<option value="{a}" selected>' in page and f'<option value="{b}" >' in page
    assert '<option value="SX-02" selected>' in page
    assert page.index('<option value="CX-01"') < page.index('<option value="SX-01"')
    assert f'data-testid="pick-alert-{red.pk}"' in page
    assert not any(f'data-testid="pick-alert-{other.pk}"' in page for other in others)
    page = client.get(f"/supervision/alerts/?agency={b}").content.decode()
    assert f'data-testid="pick-alert-{red.pk}"' not in page and "暂无预警。" in page
    # Agency staff choose among the agencies whose alerts they read: their own.
    client.force_login(world.user("a", Role.REVIEWER))
    page = client.get("/supervision/alerts/").content.decode()
    assert f'<option value="{a}" >' in page and f'<option value="{b}"' not in page


def test_the_case_page_says_overdue_as_the_other_pages_do(world, promised, officer, client,
                                                          monkeypatch):
    """Past its deadlines a case reads 已超期 N 个工作日, as on the applicant's
    and staff pages, never 剩余 -N 个工作日; in time, 剩余 N 个工作日."""
    from yizhan.cases import selectors as case_selectors
    from yizhan.workdays.selectors import calendar_current

    start = calendar_current().add_workdays(timezone.localdate(), -22).date
    case, _code = submitted(world, promised)
    at = datetime.datetime.combine(start, datetime.time(10),
                                   tzinfo=timezone.get_default_timezone())
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: at)
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    case.refresh_from_db()
    left = case_selectors.remaining_workdays(case)
    assert left.promised < left.statutory < 0
    client.force_login(officer)
    page = client.get(f"/supervision/cases/{case.pk}/").content.decode()
    line = page.split('data-testid="remaining"')[1].split("</p>")[0]
    assert f"已超期 {-left.promised} 个工作日" in line
    assert f"已超期 {-left.statutory} 个工作日" in line
    assert ">-" not in line and "剩余 -" not in line
    in_time, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), in_time, "accept")
    page = client.get(f"/supervision/cases/{in_time.pk}/").content.decode()
    assert "剩余 10 个工作日" in page.split('data-testid="remaining"')[1].split("</p>")[0]


def test_clearing_an_alert_from_its_case_page(world, officer, late_case, client):
    """The officer clears an alert with a reason; without one it stays open."""
    alert = Alert.objects.filter(case=late_case).first()
    client.force_login(officer)
    response = client.post(f"/supervision/alerts/{alert.pk}/clear/", {"reason": ""},
                           follow=True)
    assert "核销预警须说明理由" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    client.post(f"/supervision/alerts/{alert.pk}/clear/", {"reason": "延期批准补录"})
    alert.refresh_from_db()
    assert (alert.status, alert.cleared_reason) == (Alert.Status.CLEARED, "延期批准补录")


def test_the_workbench_leads_heads_to_notices_and_scores(world, client):
    """A head reads the agency's notices and scores; a clerk only the notices."""
    client.force_login(world.user("a", Role.AGENCY_HEAD))
    page = client.get("/workbench/").content.decode()
    assert 'href="/supervision/notices/"' in page and 'href="/supervision/scores/"' in page
    assert client.get("/supervision/scores/").status_code == 200
    client.force_login(world.user("a", Role.WINDOW_CLERK))
    page = client.get("/workbench/").content.decode()
    assert 'href="/supervision/notices/"' in page
    assert 'href="/supervision/scores/"' not in page


def test_each_clear_button_names_its_alert(world, officer, late_case, client):
    """Screen readers tell the clear buttons apart: each is described by its alert."""
    import re

    alerts = list(Alert.objects.filter(case=late_case))
    assert len(alerts) > 1
    client.force_login(officer)
    page = client.get(f"/supervision/cases/{late_case.pk}/").content.decode()
    for alert in alerts:
        summary = re.search(rf'<span id="alert-summary-{alert.pk}">(.*?)</span>（', page, re.S)
        assert summary and alert.rule.name in summary.group(1)
        assert f'<button type="submit" aria-describedby="alert-summary-{alert.pk}">' in page


def test_editing_a_rule_from_its_page(world, officer, client):
    """A bad threshold is refused with its message; a good one makes version 2."""
    client.force_login(officer)
    assert 'data-testid="save-rule"' in client.get("/supervision/rules/SX-01/").content.decode()
    form = {"name": "办件临近承诺期限", "level": "yellow", "enabled": "on",
            "param_share": "1.5", "param_days_before": "1", "reason": "调整预警线"}
    page = client.post("/supervision/rules/SX-01/", form, follow=True).content.decode()
    assert "应在" in page
    assert Rule.objects.get(code="SX-01").version == 1
    client.post("/supervision/rules/SX-01/", {**form, "param_share": "0.7"})
    rule = Rule.objects.get(code="SX-01")
    assert (rule.version, rule.params["share"]) == (2, 0.7)
    page = client.get("/supervision/rules/SX-01/").content.decode()
    assert "调整预警线" in page and "v2" in page


@pytest.mark.parametrize("posted, element, message", [
    ({"param_share": "1.5"}, "param_share", "应在 0.05 至 0.99 之间"),
    ({"param_days_before": "两天"}, "param_days_before", "应为数字"),
    ({"name": " "}, "name", "规则名称不能为空"),
    ({"reason": ""}, "reason", "修改监察规则须说明理由。"),
], ids=["out-of-range", "not-a-number", "no-name", "no-reason"])
def test_a_refused_rule_change_comes_back_as_typed_with_the_message_at_its_field(
        world, officer, client, posted, element, message):
    """The page comes back with 400 and every value as the officer typed it (the
    reason too), the refused field marked and described by its message, and
    the rule as it was."""
    import re

    from tests.supervision.helpers import nothing_written

    client.force_login(officer)
    form = {"name": "办件临近承诺期限（试行）", "level": "red", "param_share": "0.6",
            "param_days_before": "3", "reason": "调整预警线", **posted}
    with nothing_written():
        response = client.post("/supervision/rules/SX-01/", form)
    assert response.status_code == 400
    page = response.content.decode()
    for name, value in form.items() - {("level", "red")}:
        assert re.search(rf'<input id="{name}" name="{name}" value="{re.escape(value)}"',
                         page), name
    assert '<option value="red" selected>' in page
    assert re.search(r'<input type="checkbox" id="enabled" name="enabled" >', page)  # not sent
    assert f'aria-invalid="true" aria-describedby="{element}-error"' in page
    assert page.count('aria-invalid="true"') == 1
    shown = re.search(rf'<p class="field-error" id="{element}-error">([^<]*)</p>', page)
    assert shown and message in shown.group(1)
    assert Rule.objects.get(code="SX-01").version == 1


def test_a_clerk_may_not_open_the_dashboard_or_edit_rules(world, client):
    """The dashboard is the office's; agency staff see their own alerts only."""
    client.force_login(world.user("a", Role.WINDOW_CLERK))
    assert client.get("/supervision/").status_code == 403
    assert client.get("/supervision/rules/").status_code == 403
    assert client.get("/supervision/alerts/").status_code == 200
    client.force_login(world.user("a", Role.SUPERVISION_OFFICER))
    response = client.get("/supervision/rules/SX-01/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "办件临近承诺期限" in page                  # an officer of one agency reads
    assert 'data-testid="save-rule"' not in page   # and does not edit


def test_the_api_lists_alerts_and_monitoring(world, late_case, officer, client):
    """GET alerts and a case's monitoring points; PATCH a rule with a bad parameter is a 400."""
    client.force_login(world.user("a", Role.SUPERVISION_OFFICER))
    rows = client.get("/api/v1/supervision/alerts?level=red").json()
    assert rows and all(r["level"] == "red" for r in rows)
    assert {r["case_id"] for r in rows} == {late_case.pk}
    every = client.get("/api/v1/supervision/alerts").json()
    assert client.get("/api/v1/supervision/alerts?limit=1&offset=1").json() == every[1:2]
    assert client.get("/api/v1/supervision/alerts?limit=501").status_code == 400
    monitoring = client.get(f"/api/v1/supervision/cases/{late_case.pk}/monitoring").json()
    assert [p["type"] for p in monitoring["points"]][:2] == ["cases.submitted",
                                                             "cases.accepted"]
    assert monitoring["remaining"]["promised"] is not None
    coverage = client.get("/api/v1/supervision/coverage").json()
    assert [row["agency_id"] for row in coverage] == [world.agency_a.pk]
    response = client.patch("/api/v1/supervision/rules/SX-01",
                            {"changes": {"level": "red"}, "reason": "x"},
                            content_type="application/json")
    assert response.status_code == 403   # an officer posted in one agency
    client.force_login(officer)
    response = client.patch("/api/v1/supervision/rules/SX-01",
                            {"changes": {"params": {"shares": 0.5}}, "reason": "x"},
                            content_type="application/json")
    api_error(response, 400, "supervision.bad_rule")


def test_handling_time_by_item_against_its_limit(world, client):
    """Decided cases give each item's average and p90 working days beside its limit."""
    from yizhan.cases.models import Case
    from yizhan.supervision.selectors import handling_times
    from yizhan.workdays.selectors import calendar_current

    version = publish_item(world, name="用时统计许可")
    assert version.promised_limit == 10
    calendar = calendar_current()
    # Working days from acceptance to decision, and days paused among them:
    # 2, 5, 11 and 15 − 5 = 10 counted; only 11 is over the limit of 10.
    for used, paused in ((2, 0), (5, 0), (11, 0), (15, 5)):
        case, _code = submitted(world, version)
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
        complete(world.user("a", Role.REVIEWER), case, "review")
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
        accepted = timezone.localtime(Case.objects.get(pk=case.pk).accepted_at)
        day = calendar.add_workdays(accepted.date(), used).date
        # Set-up, not the code under test: the decision moved `used` working days on.
        Case.objects.filter(pk=case.pk).update(
            decided_at=accepted.replace(year=day.year, month=day.month, day=day.day),
            paused_workdays=paused)
    [row] = handling_times(actor=world.user("a", Role.SUPERVISION_OFFICER))
    assert (row.name, row.cases, row.average, row.p90, row.over_limit) == (
        "用时统计许可", 4, 7.0, 11, 1)
    assert row.limit == version.promised_limit
    client.force_login(world.user("a", Role.SUPERVISION_OFFICER))
    page = client.get("/supervision/").content.decode()
    assert 'data-testid="handling"' in page and "用时统计许可" in page


def test_the_dashboard_counts_alerts_per_local_day(world, late_case, client):
    """The last 30 days' chart counts each day's alerts by level, on the local calendar."""
    from yizhan.supervision.selectors import dashboard

    officer = world.user("a", Role.SUPERVISION_OFFICER)
    alerts = list(Alert.objects.filter(agency=world.agency_a))
    day = timezone.localtime(alerts[0].raised_at).date()
    by_level = {level: sum(1 for a in alerts if a.level == level)
                for level in ("yellow", "red", "notice")}
    assert dashboard(actor=officer).by_day == [
        (day, by_level["yellow"], by_level["red"], by_level["notice"])]
    client.force_login(officer)
    page = client.get("/supervision/").content.decode()
    assert 'data-testid="day-chart"' in page and day.strftime("%Y-%m-%d") in page


def test_the_api_lists_changes_rules_and_clears_alerts(world, late_case, officer, client):
    """GET rules lists the defaults; PATCH makes version 2; POST clear answers the cleared alert."""
    client.force_login(officer)
    rules = client.get("/api/v1/supervision/rules").json()
    assert len(rules) == 15 and rules[0]["code"] == "CX-01"
    sx01 = next(r for r in rules if r["code"] == "SX-01")
    assert (sx01["check"], sx01["params"], sx01["version"]) == (
        "case_warning", {"share": 0.8, "days_before": 1}, 1)
    response = client.patch("/api/v1/supervision/rules/SX-01",
                            {"changes": {"params": {"share": 0.7}}, "reason": "提前预警"},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    assert (response.json()["version"], response.json()["params"]) == (
        2, {"share": 0.7, "days_before": 1})
    alert = Alert.objects.filter(case=late_case).first()
    url = f"/api/v1/supervision/alerts/{alert.pk}/clear"
    response = client.post(url, {"reason": ""}, content_type="application/json")
    api_error(response, 400, SupervisionErrorCode.NO_REASON)
    response = client.post(url, {"reason": "延期批准补录"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["cleared_reason"]) == (
        "cleared", "延期批准补录")


@pytest.mark.parametrize("path", [
    "/supervision/alerts/?agency=%C2%B2",           # "²": a digit that int() refuses
    f"/supervision/alerts/?agency={10**30}",
    "/supervision/notices/new/?alert=%C2%B2",
    f"/supervision/notices/new/?alert={10**30}",
])
def test_a_query_id_that_is_no_id_is_ignored_not_a_500(world, late_case, client, path):
    client.force_login(world.user("a", Role.SUPERVISION_OFFICER))
    assert client.get(path).status_code == 200
