"""延期申请 in Chromium: the reviewer asks, the head approves from the workbench,
the applicant reads the extension and its reason on their case page.  Each
page with the request's forms meets the accessibility basics."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import sign_in_as
from tests.browser.test_accessibility import _check

pytestmark = pytest.mark.browser

REASON = "需组织专家现场评审，二十日内无法作出决定"


def _signed_in(browser, site, username):
    """A fresh browser of its own for ``username``, signed in."""
    context = browser.new_context(base_url=site.url, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    tab = context.new_page()
    sign_in_as(tab, username)
    return context, tab


def test_the_reviewer_asks_the_head_approves_and_the_applicant_is_told(browser, site):
    from tests.cases.helpers import accepted, open_task, publish_item
    from yizhan.directory.roles import Role

    world = site.world
    case = accepted(world, publish_item(world, name="食品经营许可证核发"))
    task = open_task(case)
    contexts = []
    try:
        context, reviewer = _signed_in(browser, site, world.user("a", Role.REVIEWER).username)
        contexts.append(context)
        reviewer.goto(reverse("cases:task", args=[task.pk]))
        _check(reviewer)
        reviewer.get_by_label("延长工作日数（1 至 10）").fill("7")
        reviewer.get_by_label("延期理由（批准后将告知申请人）").fill(REASON)
        reviewer.get_by_test_id("request-extension").click()
        expect(reviewer.get_by_text("已提交延期申请，等待本机关负责人批准。")).to_be_visible()
        expect(reviewer.get_by_test_id("pending-extension")).to_contain_text(REASON)
        _check(reviewer)

        context, head = _signed_in(browser, site, world.user("a", Role.AGENCY_HEAD).username)
        contexts.append(context)
        head.goto(reverse("portal:workbench"))
        listed = head.get_by_test_id("pending-extensions")
        expect(listed).to_contain_text("申请延长 7 个工作日")
        _check(head)
        listed.get_by_role("link", name=case.number).click()
        # The head's extension form comes filled with what was asked.
        expect(head.get_by_test_id("extend-days")).to_have_value("7")
        expect(head.get_by_test_id("extend-reason")).to_have_value(REASON)
        expect(head.get_by_test_id("decline-extension")).to_be_visible()
        _check(head)
        head.get_by_test_id("extend-days").fill("5")
        head.get_by_test_id("extend").click()
        expect(head.get_by_text("已延长办理期限。")).to_be_visible()
        expect(head.get_by_test_id("pending-extension")).to_have_count(0)
        head.goto(reverse("portal:workbench"))
        expect(head.get_by_test_id("pending-extensions")).to_have_count(0)

        context, citizen = _signed_in(browser, site, world.citizen.username)
        contexts.append(context)
        citizen.goto(reverse("cases:mine_detail", args=[case.pk]))
        expect(citizen.get_by_text("法定期限已延长 5 个工作日")).to_be_visible()
        expect(citizen.get_by_test_id("timeline")).to_contain_text(REASON)
    finally:
        for context in contexts:
            context.close()
