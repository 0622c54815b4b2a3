"""The public portal in a real browser: language, display modes, keyboard."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import large_text_on

pytestmark = pytest.mark.browser

NAV_ZH = ["首页", "信息公开", "在线办事", "互动交流"]
NAV_EN = ["Home", "Government information", "Online services", "Public participation"]


def _nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="主导航").or_(
        page.get_by_role("navigation", name="Main navigation"))


def _css(locator: Locator, prop: str) -> str:
    return locator.evaluate("(el, prop) => getComputedStyle(el).getPropertyValue(prop)", prop)


def _px(value: str) -> float:
    assert value.endswith("px"), value
    return float(value[:-2])


def _name_and_state(button: Locator) -> tuple[str, str | None]:
    return button.inner_text().strip(), button.get_attribute("aria-pressed")


def _assert_toggle_keeps_its_name(before: tuple[str, str | None],
                                  after: tuple[str, str | None]) -> None:
    # A toggle button (aria-pressed) must keep its label when its state
    # changes, or a screen reader announces e.g. "标准字号, pressed" for
    # large text.  A button whose label names the action carries no state.
    if before[1] is not None or after[1] is not None:
        assert before[0] == after[0], (before, after)


def test_home_renders_in_chinese(page: Page):
    """The home page is Chinese (zh-CN), with the three channels and a footer."""
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_title(re.compile("首页"))
    expect(page.get_by_role("heading", level=1)).to_have_text("一站式网上政务服务")
    nav = page.get_by_role("banner").get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link")).to_contain_text(NAV_ZH)
    home = nav.get_by_role("link", name="首页", exact=True)
    expect(home).to_have_attribute("aria-current", "page")
    footer = page.get_by_role("contentinfo")
    expect(footer).to_be_visible()
    # The test world is built in the demo city's division (449900 示范市):
    # its footer names the demo's offices and says it is fictitious.
    expect(footer).to_contain_text("示范市人民政府办公室")
    expect(footer).to_contain_text("所有机构与人员均为虚构")
    # The world's agencies are listed from the directory.
    expect(page.get_by_role("main")).to_contain_text("甲局")


def test_language_switch_turns_english_and_back(page: Page):
    """English is one click away, stays chosen on the next page, and reverts."""
    page.goto("/")
    page.get_by_role("button", name="English", exact=True).click()
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(_nav(page).get_by_role("link")).to_contain_text(NAV_EN)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "One-stop online government services")
    expect(page.get_by_role("button", name="Large text", exact=True)).to_be_visible()

    # The choice persists: on the next page, and after a reload.
    _nav(page).get_by_role("link", name="Government information", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Government information")
    expect(html).to_have_attribute("lang", "en")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Government information")
    expect(html).to_have_attribute("lang", "en")
    here = page.url

    # And back to Chinese, staying on the same page.
    page.get_by_role("button", name="中文", exact=True).click()
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("信息公开")
    assert page.url == here
    _nav(page).get_by_role("link", name="互动交流", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("互动交流")
    expect(_nav(page).get_by_role("link")).to_contain_text(NAV_ZH)


def test_large_text_mode_enlarges_persists_and_turns_off(page: Page):
    """大字模式 enlarges the root font; it survives navigation and reload."""
    page.goto("/")
    html = page.locator("html")
    h1 = page.get_by_role("heading", level=1)
    toggle = page.get_by_test_id("large-text")
    standard = _css(html, "font-size")
    standard_h1 = _css(h1, "font-size")
    before = _name_and_state(toggle)
    assert before[0] == "大字模式"

    toggle.click()
    expect(html).to_have_class(re.compile(r"\blarge-text\b"))
    expect(html).not_to_have_css("font-size", standard)
    large = _css(html, "font-size")
    assert _px(large) >= _px(standard) * 1.25, (standard, large)
    # Text sized in rem grows with it.
    assert _px(_css(h1, "font-size")) > _px(standard_h1)
    _assert_toggle_keeps_its_name(before, _name_and_state(toggle))

    page.get_by_role("link", name="信息公开", exact=True).first.click()
    expect(h1).to_have_text("信息公开")
    expect(html).to_have_css("font-size", large)
    page.reload()
    expect(html).to_have_class(re.compile(r"\blarge-text\b"))
    expect(html).to_have_css("font-size", large)

    # Turning it off comes back to the same page at the standard size.
    toggle.click()
    expect(html).not_to_have_class(re.compile(r"\blarge-text\b"))
    expect(html).to_have_css("font-size", standard)
    expect(h1).to_have_text("信息公开")
    expect(toggle).to_have_text("大字模式")
    page.goto("/")
    expect(html).to_have_css("font-size", standard)


def test_high_contrast_mode_toggles_and_persists(page: Page):
    """高对比度 switches to black-on-white colours until it is turned off."""
    page.goto("/")
    html = page.locator("html")
    banner = page.get_by_role("banner")
    toggle = page.get_by_test_id("high-contrast")
    normal = _css(banner, "background-color")
    before = _name_and_state(toggle)
    assert before[0] == "高对比度"

    toggle.click()
    expect(html).to_have_class(re.compile(r"\bhigh-contrast\b"))
    expect(banner).to_have_css("background-color", "rgb(0, 0, 0)")
    expect(page.locator("body")).to_have_css("color", "rgb(0, 0, 0)")
    assert normal != "rgb(0, 0, 0)"
    _assert_toggle_keeps_its_name(before, _name_and_state(toggle))

    page.get_by_role("link", name="互动交流", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("互动交流")
    expect(banner).to_have_css("background-color", "rgb(0, 0, 0)")
    page.reload()
    expect(html).to_have_class(re.compile(r"\bhigh-contrast\b"))

    toggle.click()
    expect(html).not_to_have_class(re.compile(r"\bhigh-contrast\b"))
    expect(banner).to_have_css("background-color", normal)
    expect(toggle).to_have_text("高对比度")


def test_display_modes_combine_and_work_in_english(page: Page):
    """Both modes can be on at once, and the language switch keeps them."""
    page.goto("/")
    large_text_on(page)
    page.get_by_test_id("high-contrast").click()
    expect(page.locator("html")).to_have_class(re.compile(r"\blarge-text\b.*\bhigh-contrast\b"))
    page.get_by_test_id("language").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("html")).to_have_class(re.compile(r"\blarge-text\b.*\bhigh-contrast\b"))
    expect(page.get_by_test_id("large-text")).to_have_text(re.compile("text", re.IGNORECASE))


def test_first_tab_reaches_the_skip_link_which_moves_focus_to_main(page: Page):
    """Keyboard users can jump past the header straight to the content."""
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到主要内容", exact=True)
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#main$"))
    # The next Tab continues inside the main content, not at the header.
    page.keyboard.press("Tab")
    focused_in_main = page.evaluate(
        "() => document.querySelector('main').contains(document.activeElement)")
    assert focused_in_main is True


def test_an_item_is_searched_for_from_the_home_page(page: Page, site):
    """Most visits begin by looking for an item: the home page has the search
    box, and a query typed in traditional characters finds the item."""
    from tests.cases.helpers import publish_item

    publish_item(site.world, name="食品经营许可证核发")
    page.goto("/")
    box = page.get_by_role("search").get_by_label("搜索事项")
    box.fill("食品經營許可")
    with page.expect_navigation():
        box.press("Enter")
    expect(page.get_by_role("main")).to_contain_text("食品经营许可证核发")
