"""Electronic supervision, end to end: a late case is marked, noticed, answered and scored.

A citizen's case of agency A (甲局) is accepted and then left lying at the
review step.  The clock moves by giving the sweep a later ``now``, as the
supervision tests do: first past the review step's own limit (a yellow card
on the task), then past the promised deadline (a red card on the case).  The
reviewer sees the marks in the workbench; the city's supervision officer
sees the red card on the dashboard, issues a correction notice from the
alert list, A's head replies, the officer accepts the reply, and the
period's scores deduct the red card with a link back to it.

The people share one browser, as colleagues at one desk would: each signs
out before the next signs in, so every step runs with the rights of the
person named, never with a session left behind.

And a rule's page: a change refused comes back as the officer typed it, the
message at the field it is about.
"""

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.cases.helpers import open_task, publish_item
from tests.factories import PASSWORD
from tests.supervision.helpers import (
    TZ,
    accepted,
    city_officer,
    seed_as_migrations_do,
    start_of,
    workday,
)
from yizhan.cases.models import Case
from yizhan.directory.roles import Role
from yizhan.supervision.detection import sweep
from yizhan.supervision.models import Alert, Level

pytestmark = pytest.mark.browser

ITEM = "电子监察演练许可"
# Apps whose migrations seed rows this scenario needs.  The browser tests are
# transactional, and the emptying after each one takes seeded rows too:
# without the rules the sweep raises nothing, without the scheme nothing can
# be scored, and without the calendar deadlines are counted on weekends alone.
SEEDED_APPS = ("workdays", "supervision")
# A moment well inside a working day, so no line falls on the sweep itself.
INTO_THE_DAY = dt.timedelta(hours=1)
RULE_REASON = "依据《示范市行政审批电子监察办法》第十二条修订暂停时限"
REQUIREMENTS = "立即办结该件，查明超期原因，五个工作日内书面报告整改情况。"
REPLY = "已于当日办结该件；超期系审查岗人员调整所致，已明确专人签收并建立每日督办台账。"
CHECKED = "整改措施具体，予以认可。"
# Dimensions of the default scoring scheme: where a late case counts, and a notice.
TIMELINESS = "办件时效（监察点）"
SUPERVISION = "监察督办"


@pytest.fixture
def seeded(site) -> None:
    """The rules, the scoring scheme and the calendar, as a fresh installation has them.

    Each seed is idempotent: a database that still has its rows (the first
    test of a run) is left as it is.  The caches are dropped, so this
    process, the live server's threads included, reads the rows now stored.
    """
    seed_as_migrations_do(*SEEDED_APPS)


@pytest.fixture
def desk(page: Page, sign_in) -> Callable[[AbstractBaseUser], Page]:
    """``desk(user)``: the shared browser, with ``user`` signed in through the login form."""
    signed_in = []

    def take(user) -> Page:
        if signed_in:
            page.get_by_test_id("sign-out").click()
            expect(page.get_by_test_id("sign-in-link")).to_be_visible()
        sign_in(user.username, PASSWORD)
        expect(page.get_by_test_id("sign-out")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/workbench/$"))
        signed_in[:] = [user]
        return page

    return take


def _inbox_row(page: Page, number: str, step: str):
    """The one row of the workbench inbox for step ``step`` of case (or notice) ``number``."""
    row = page.get_by_test_id("inbox").get_by_role("row").filter(has_text=number).filter(
        has_text=step)
    expect(row).to_have_count(1)
    return row


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, TZ).date()


def test_a_late_case_is_marked_noticed_answered_and_scored(seeded, site, desk):
    world = site.world

    # --- set-up through the services: the item, the accepted case, the office ----
    version = publish_item(world, name=ITEM)
    assert (version.promised_limit, version.statutory_limit) == (10, 20)
    case = accepted(world, version)
    review = open_task(case, "review")
    officer = city_officer(world)
    reviewer = world.user("a", Role.REVIEWER)
    head = world.user("a", Role.AGENCY_HEAD)

    # --- the clock moves past the review step's limit: a yellow card on the task ---
    # Day 6 is after the review's five days (SX-05) and before the case's
    # yellow point at the start of day 8 (SX-01): only the step is late.
    first = start_of(workday(case, 6)) + INTO_THE_DAY
    assert review.due_at < first < start_of(workday(case, 8))
    sweep(now=first)
    late_step = Alert.objects.get(case=case, rule__code="SX-05")
    assert (late_step.task_id, late_step.level) == (review.pk, Level.YELLOW)
    assert not Alert.objects.filter(case=case, level=Level.RED).exists()

    page = desk(reviewer)
    row = _inbox_row(page, case.number, review.title)
    expect(row.get_by_test_id("mark-yellow")).to_have_text("黄牌")
    expect(row.get_by_test_id("mark-red")).to_have_count(0)

    # --- and past the promised deadline: a red card on the case -----------------
    second = start_of(workday(case, 11)) + INTO_THE_DAY
    assert case.promised_due < second
    sweep(now=second)
    red = Alert.objects.get(case=case, rule__code="SX-02")
    assert (red.level, red.agency, red.task, red.raised_at) == (
        Level.RED, world.agency_a, None, second)

    # The red card is on the case as a whole, so it marks the step too, and
    # the worst mark is the one shown.
    page.reload()
    row = _inbox_row(page, case.number, review.title)
    expect(row.get_by_test_id("mark-red")).to_have_text("红牌")
    expect(row.get_by_test_id("mark-yellow")).to_have_count(0)

    # --- the officer sees it on the dashboard ---------------------------------------
    page = desk(officer)
    page.get_by_role("link", name="电子监察", exact=True).click()
    expect(page).to_have_url(re.compile(r"/supervision/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("行政审批电子监察")
    # Open cards by level: the red SX-02; the yellow SX-05 and SX-01.
    expect(page.get_by_test_id("red-count")).to_have_text("1")
    expect(page.get_by_test_id("yellow-count")).to_have_text("2")
    # The ranking of red cards (a chart drawn on the server) names the agency.
    ranking = page.get_by_role("region", name="红牌最多的机关")
    expect(ranking.get_by_test_id("red-chart")).to_contain_text("甲局")
    coverage = page.get_by_test_id("coverage").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="甲局", exact=True))
    # Its red count leads to the list of its red cards.
    expect(coverage.get_by_role("link", name="1", exact=True)).to_have_attribute(
        "href", f"/supervision/alerts/?level=red&agency={world.agency_a.pk}")
    recent = page.get_by_role("region", name="最新预警").get_by_role("row").filter(
        has_text="SX-02")
    expect(recent).to_have_count(1)
    expect(recent).to_contain_text(case.number)
    expect(recent.get_by_test_id("mark-red")).to_be_visible()

    # --- a correction notice from the alert list ------------------------------------
    page.get_by_role("navigation", name="电子监察导航").get_by_role(
        "link", name="预警与违规").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("预警与违规")
    pick = page.get_by_test_id(f"pick-alert-{red.pk}")
    pick.check()
    expect(pick).to_be_checked()
    page.get_by_test_id("notice-from-alerts").click()
    expect(page).to_have_url(re.compile(rf"/supervision/notices/new/\?alert={red.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("下达督办")
    chosen = page.get_by_test_id("notice-alerts")
    expect(chosen.get_by_role("listitem")).to_have_count(1)
    expect(chosen).to_contain_text(case.number)
    expect(chosen).to_contain_text("SX-02 办件超过承诺期限")
    expect(chosen.get_by_role("checkbox")).to_be_checked()
    expect(page.get_by_test_id("notice-title")).to_have_value("关于甲局办件超期等问题的纠错通知")
    expect(page.get_by_test_id("notice-type")).to_have_value("correction")
    expect(page.get_by_label("发现的问题")).to_contain_text(f"{case.number}：SX-02")
    page.get_by_test_id("notice-requirements").fill(REQUIREMENTS)
    page.get_by_test_id("notice-issue").click()

    expect(page).to_have_url(re.compile(r"/supervision/notices/\d+/$"))
    expect(page.get_by_role("status")).to_contain_text("督办已下达，等待被督办机关回复。")
    summary = page.get_by_test_id("notice-summary")
    expect(summary).to_contain_text("纠错通知")
    expect(summary).to_contain_text("示范市监察局")
    expect(summary).to_contain_text("甲局")
    expect(summary.get_by_test_id("notice-requirements")).to_have_text(REQUIREMENTS)
    expect(summary.get_by_test_id("case-status")).to_have_text("办理中")
    # The reply is the agency head's to write, not the officer's.
    expect(page.get_by_test_id("notice-act")).to_have_count(0)
    expect(page.get_by_test_id("notice-alerts")).to_contain_text("SX-02")
    notice_url = re.sub(r"^https?://[^/]+", "", page.url)
    number = summary.get_by_test_id("case-number").inner_text().strip()
    notice = Case.objects.get(kind=Case.Kind.NOTICE, number=number)
    assert notice_url == f"/supervision/notices/{notice.pk}/"
    red.refresh_from_db()
    assert (red.status, red.notice_id) == (Alert.Status.NOTICED, notice.pk)

    # --- A's head replies -------------------------------------------------------------
    page = desk(head)
    _inbox_row(page, number, "整改回复").get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(r"/workbench/tasks/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "整改回复：关于甲局办件超期等问题的纠错通知")
    expect(page.get_by_test_id("notice-requirements")).to_have_text(REQUIREMENTS)
    page.get_by_test_id("opinion").fill(REPLY)
    page.get_by_test_id("approve").click()
    expect(page.get_by_role("status")).to_contain_text("回复已提交")
    expect(page).to_have_url(re.compile(r"/workbench/$"))
    expect(page.get_by_test_id("task-count")).to_have_text("共 0 件待办。")

    # --- the officer checks the reply and accepts it ----------------------------------
    page = desk(officer)
    page.get_by_role("link", name="电子监察", exact=True).click()
    page.get_by_role("navigation", name="电子监察导航").get_by_role("link", name="监察督办").click()
    page.get_by_test_id("notices").get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(rf"{re.escape(notice_url)}$"))
    act = page.get_by_test_id("notice-act")
    expect(act).to_have_text("审核回复")
    act.click()
    expect(page).to_have_url(re.compile(r"/workbench/tasks/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("审核回复")
    expect(page.get_by_test_id("timeline")).to_contain_text(REPLY)
    page.get_by_test_id("opinion").fill(CHECKED)
    approve = page.get_by_test_id("approve")
    expect(approve).to_have_text("认可回复")
    approve.click()
    expect(page.get_by_role("status")).to_contain_text("回复已认可，督办办结")

    page.goto(notice_url)
    expect(page.get_by_test_id("case-status")).to_have_text("回复已认可，已办结")
    expect(page.get_by_test_id("notice-act")).to_have_count(0)
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text(REPLY)
    expect(timeline).to_contain_text(CHECKED)
    # Only a correction request lists materials; no other step shows empty ones.
    expect(timeline).not_to_contain_text("（）")

    # --- the period's scores deduct the red card, and lead back to it ---------------
    # The sweep stamped the alerts with its own (future) moments, so the
    # period runs from the day of acceptance to the day of the second sweep.
    starts_on, ends_on = _local_date(case.accepted_at), _local_date(second)
    label = f"{starts_on.isoformat()} 至 {ends_on.isoformat()}"
    page.goto("/supervision/scores/")
    expect(page.get_by_role("heading", level=1)).to_have_text("行政审批电子监察绩效评估")
    compute = page.get_by_role("form", name="计算绩效评估")
    compute.get_by_label("起始日期").fill(starts_on.isoformat())
    compute.get_by_label("截止日期").fill(ends_on.isoformat())
    compute.get_by_label("计算说明").fill("督办演练：计算演练期间的绩效")
    compute.get_by_test_id("compute").click()
    expect(page.get_by_role("status")).to_contain_text(f"已计算 {label} 的绩效评估。")
    expect(page.get_by_test_id("period")).to_have_text(label)
    page.get_by_test_id("ranking").get_by_role("link", name="甲局", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/supervision/scores/agencies/{world.agency_a.pk}/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"甲局 · {label}")

    deductions = page.get_by_role("region", name=f"扣分明细：{TIMELINESS}")
    line = deductions.get_by_role("row").filter(has_text="SX-02")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("−5.00")  # a red card's cost in the default scheme
    expect(line.get_by_test_id("mark-red")).to_be_visible()
    expect(line.get_by_test_id("case-link")).to_have_text(case.number)
    # The notice counts in the 监察督办 dimension, and leads to its own page.
    noticed = page.get_by_role("region", name=f"扣分明细：{SUPERVISION}").get_by_role(
        "row").filter(has_text=number)
    expect(noticed).to_have_count(1)
    expect(noticed.get_by_test_id("case-link")).to_have_attribute("href", notice_url)
    link = line.get_by_test_id("alert-link")
    expect(link).to_have_text("SX-02 办件超过承诺期限")
    expect(link).to_have_attribute("href", f"/supervision/cases/{case.pk}/#alert-{red.pk}")
    link.click()

    expect(page).to_have_url(re.compile(rf"/supervision/cases/{case.pk}/#alert-{red.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"办件监察：{case.number}")
    shown = page.locator(f"#alert-{red.pk}")
    expect(shown).to_be_in_viewport()
    expect(shown).to_contain_text("SX-02 办件超过承诺期限")
    expect(shown.get_by_test_id("mark-red")).to_have_text("红牌")
    # Noticed, with the way to the notice that answered it.
    expect(shown.get_by_role("link", name="已发督办")).to_have_attribute("href", notice_url)


def test_a_refused_rule_change_comes_back_as_typed_with_its_message_at_the_field(
        seeded, site, desk):
    """CX-05 (暂停计时超过时限) allows 1 to 250 working days; 300 is refused.  The
    page comes back (400) with 300 and the reason still in their fields, the
    field marked invalid and described by the message, and nothing saved."""
    page = desk(city_officer(site.world))
    page.goto(reverse("supervision:rule", args=["CX-05"]))
    field = page.get_by_test_id("param-workdays")
    field.fill("300")
    page.get_by_test_id("reason").fill(RULE_REASON)
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.get_by_test_id("save-rule").click()
    assert answered.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_contain_text("CX-05")
    expect(field).to_have_value("300")
    expect(page.get_by_test_id("reason")).to_have_value(RULE_REASON)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("1 至 250"))
    expect(page.get_by_role("row").filter(has_text="v2")).to_have_count(0)
