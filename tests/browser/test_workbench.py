"""The reviewer's pages in Chromium: a tablet and a phone, large text."""


import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import large_text_on, sign_in_as
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _reviewer_with_a_task(site):
    from tests.cases.helpers import accepted, open_task, publish_item
    from yizhan.directory.roles import Role

    world = site.world
    case = accepted(world, publish_item(world, name="食品经营许可证核发"))
    return world.user("a", Role.REVIEWER), open_task(case)


def test_switching_to_large_text_keeps_the_reasons_typed_on_the_task_page(page, site,
                                                                          sign_in):
    """A reviewer writes the reasons of a refusal, then turns on 大字模式 to read
    them over: the page comes back in large text with the reasons still there,
    as the apply page keeps what was typed (portal.views.kept_form)."""
    reviewer, task = _reviewer_with_a_task(site)
    sign_in(reviewer.username, PASSWORD)
    page.goto(reverse("cases:task", args=[task.pk]))
    reasons = "经营场所使用证明缺少出租方签章页，消防安全告知承诺书未签字"
    page.get_by_test_id("opinion").fill(reasons)
    large_text_on(page)
    expect(page.get_by_test_id("opinion")).to_have_value(reasons)


ROWS = """() => [...document.querySelectorAll("[data-testid=inbox] tbody tr")]
  .map((tr) => tr.getBoundingClientRect().height)"""

SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_the_inbox_stays_readable_on_a_phone(browser, site, large):
    """On a 360 px phone 我的待办 scrolls in its own region; its columns must not be
    squeezed to one or two characters, which stacks an agency's name over five
    lines and makes each task half a screen tall.  The page itself does not
    scroll sideways."""
    reviewer, _task = _reviewer_with_a_task(site)
    context = browser.new_context(base_url=site.url, locale="zh-CN",
                                  viewport={"width": 360, "height": 740}, is_mobile=True,
                                  timezone_id="Asia/Shanghai")
    try:
        phone = context.new_page()
        sign_in_as(phone, reviewer.username)
        if large:
            large_text_on(phone)
        phone.goto(reverse("portal:workbench"))
        heights = phone.evaluate(ROWS)
        assert heights
        # A task is a line or three, not a third of the screen.
        assert max(heights) <= 740 / 4, heights
        assert not phone.evaluate(SIDEWAYS)
    finally:
        context.close()
