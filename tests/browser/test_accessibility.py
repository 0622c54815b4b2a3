"""Accessibility basics on every main page, as the browser computes them.

Landmarks are found by their ARIA roles (implicit or explicit), as
assistive technology finds them; form labels through ``element.labels``.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.conftest import large_text_on, sign_in_as
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

# The main public pages, reached as a visitor does: by the header's links.
PUBLIC_PAGES = ["首页", "信息公开", "在线办事", "互动交流", "登录", "注册"]

FACTS = """() => {
  const text = (el) => (el ? el.textContent.trim() : "");
  const labelledBy = (el) => (el.getAttribute("aria-labelledby") || "").split(/\\s+/)
      .filter(Boolean).map((id) => text(document.getElementById(id))).join(" ");
  const labelled = (el) => [...(el.labels || [])].some((l) => text(l) !== "")
      || labelledBy(el) !== "" || (el.getAttribute("aria-label") || "").trim() !== "";
  const fields = [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => el.type !== "hidden");
  return {
    lang: document.documentElement.getAttribute("lang") || "",
    h1: [...document.querySelectorAll("h1")].map(text),
    fields: fields.length,
    unlabelled: fields.filter((el) => !labelled(el)).map((el) => el.outerHTML),
    imagesWithoutAlt: [...document.querySelectorAll("img:not([alt])")].map((el) => el.outerHTML),
    unnamedNavs: [...document.querySelectorAll("nav, [role=navigation]")]
      .filter((el) => (el.getAttribute("aria-label") || "").trim() === ""
                      && labelledBy(el) === "").map((el) => el.outerHTML.slice(0, 80)),
    duplicateIds: [...document.querySelectorAll("[id]")].map((el) => el.id)
      .filter((id, i, all) => all.indexOf(id) !== i),
  };
}"""


def _check(page: Page, path: str | None = None, lang: str = "zh-CN") -> None:
    """Check the page at ``path``, or the one already open."""
    if path is not None:
        response = page.goto(path)
        assert response is not None and response.ok, (path, response and response.status)
    # After a click, the heading a test waits for may be parsed before the
    # rest of a long page (a busy machine): the whole document is checked.
    page.wait_for_load_state("load")
    where = page.url
    facts = page.evaluate(FACTS)
    assert facts["lang"] == lang, where
    assert len(facts["h1"]) == 1 and facts["h1"][0], (where, facts["h1"])
    for role in ("main", "banner", "contentinfo"):
        assert page.get_by_role(role).count() == 1, (where, role)
    assert page.get_by_role("navigation").count() >= 1, where
    assert facts["unnamedNavs"] == [], where
    expect(page.get_by_role("banner").get_by_role("navigation")).to_have_attribute(
        "aria-label", "主导航" if lang == "zh-CN" else "Main navigation")
    assert facts["unlabelled"] == [], where
    assert facts["imagesWithoutAlt"] == [], where
    assert facts["duplicateIds"] == [], where
    # The skip link leads to the main landmark.
    assert page.locator("a.skip-link").get_attribute("href") == "#main", where
    assert page.locator("main#main").count() == 1, where


@pytest.mark.parametrize("link", PUBLIC_PAGES)
def test_public_page_basics(page: Page, link: str):
    """One h1, the landmarks, named navigation, labels, alt texts, a language."""
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("banner").get_by_role("link", name=link, exact=True).click()
    _check(page)


def test_forms_have_fields_to_check(page: Page):
    """The label check is not vacuous: login and register have fields."""
    for path, least in ((reverse("portal:login"), 3), (reverse("portal:register"), 6)):
        page.goto(path)
        assert page.evaluate(FACTS)["fields"] >= least, path


def test_staff_page_basics(page: Page, site, sign_in):
    """The workbench pages meet the same basics when signed in."""
    sign_in(site.world.user("a", "reviewer").username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("工作台")
    _check(page)
    subnav = page.get_by_role("navigation", name="工作台导航")
    subnav.get_by_role("link", name="本机关", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("本机关")
    _check(page)


def test_the_case_page_s_clock_forms_meet_the_basics_and_work(page: Page, site, sign_in):
    """The head's case page with its clock and extension forms; a pause made by the form."""
    from tests.cases.helpers import publish_item
    from tests.supervision.helpers import accepted
    from yizhan.directory.roles import Role

    case = accepted(site.world, publish_item(site.world))
    sign_in(site.world.user("a", Role.AGENCY_HEAD).username, PASSWORD)
    page.goto(reverse("cases:staff_case", args=[case.pk]))
    expect(page.get_by_role("button", name="批准延期")).to_be_visible()
    _check(page)
    page.get_by_label("法定事由").select_option(label="鉴定")
    page.get_by_label("具体情况").fill("房屋安全鉴定，待鉴定机构出具报告")
    page.get_by_role("button", name="暂停计时").click()
    expect(page.get_by_test_id("paused")).to_contain_text("鉴定")
    expect(page.get_by_role("button", name="恢复计时")).to_be_visible()
    _check(page)


def test_english_pages_declare_english(page: Page):
    """After the switch, pages say lang="en" and keep the same structure."""
    page.goto("/")
    page.get_by_role("button", name="English", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for path in (reverse("portal:home"), reverse("portal:login")):
        _check(page, path, lang="en")


def test_refused_sign_in_page_basics(page: Page, site, sign_in):
    """The login page with an error still has one h1 and labelled fields."""
    sign_in("nobody", "wrong-password")
    expect(page.get_by_role("alert")).to_be_visible()
    facts = page.evaluate(FACTS)
    assert len(facts["h1"]) == 1
    assert facts["unlabelled"] == []


# The width of a common phone, in CSS pixels.
PHONE = {"width": 390, "height": 844}

FITS = """() => [document.documentElement.clientWidth, document.documentElement.scrollWidth,
  [...document.querySelectorAll(".table-scroll")].map((el) =>
    [el.getAttribute("role"), el.tabIndex, el.getAttribute("aria-label")])]"""


def test_pages_fit_a_phone_and_wide_tables_scroll_in_their_own_box(browser, site):
    """On a phone, in standard and large text, no page scrolls sideways: a long
    implementation code wraps, and a table wider than the screen scrolls in a
    labelled region the keyboard can reach."""
    from tests.cases.helpers import accepted, publish_item
    from yizhan.catalog.models import Item
    from yizhan.directory.roles import Role

    world = site.world
    version = publish_item(world, name="开办餐饮店“一件事”（手机）")
    accepted(world, version)
    guide = reverse("catalog:guide", args=[Item.objects.get(pk=version.item_id).impl_code])
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=PHONE,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    try:
        phone = context.new_page()
        for username, paths in ((world.citizen.username, [guide, reverse("cases:mine")]),
                                (world.user("a", Role.REVIEWER).username,
                                 [reverse("portal:workbench"), reverse("cases:agency_cases")])):
            context.clear_cookies()  # signed out, standard text
            sign_in_as(phone, username)
            for large in (False, True):
                if large:
                    large_text_on(phone)
                for path in paths:
                    phone.goto(path)
                    width, scroll_width, regions = phone.evaluate(FITS)
                    assert scroll_width <= width, (path, large, width, scroll_width)
                    for role, tab_index, label in regions:
                        assert (role, tab_index) == ("region", 0) and label, (path, regions)
    finally:
        context.close()


def test_printable_guide_fits_a_phone(browser, site):
    """The printable guide is laid out for the phone's width, as every page is
    (not 980 px shrunk to 4-point text)."""
    from tests.cases.helpers import publish_item
    from yizhan.catalog.models import Item

    version = publish_item(site.world, name="手机打印测试")
    code = Item.objects.get(pk=version.item_id).impl_code
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=PHONE,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    try:
        tab = context.new_page()
        tab.goto(reverse("catalog:guide", args=[code]))
        normal = tab.evaluate("document.documentElement.clientWidth")
        tab.get_by_test_id("print-link").click()
        tab.wait_for_load_state()
        printable = tab.evaluate("document.documentElement.clientWidth")
        assert (normal, printable) == (390, 390)
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_printable_guide_does_not_scroll_sideways_on_a_phone(browser, site, locale):
    """The 36-character implementation code wraps, and the materials table scrolls in
    its own box: the printable guide opened on a phone is no wider than the phone
    (it was 450 px wide on a 390 px phone, 549 px in English)."""
    from tests.cases.helpers import publish_item
    from yizhan.catalog.models import Item

    version = publish_item(site.world, name="手机打印测试")
    code = Item.objects.get(pk=version.item_id).impl_code
    context = browser.new_context(base_url=site.url, locale=locale, viewport=PHONE,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    try:
        tab = context.new_page()
        tab.goto(reverse("catalog:guide", args=[code]) + "?print=1")
        expect(tab.locator("html")).to_have_attribute("lang", locale)
        width, scroll_width, _regions = tab.evaluate(FITS)
        assert scroll_width <= width, (locale, width, scroll_width)
    finally:
        context.close()


# The narrowest screen WCAG 1.4.10 (Reflow) asks pages to fit without sideways scrolling.
NARROW = {"width": 320, "height": 640}


@pytest.mark.parametrize("path, query", [("catalog:index", ""), ("catalog:search", "?q=食品")])
def test_large_text_catalog_pages_reflow_at_320_css_pixels(browser, site, path, query):
    """In large-text mode (22 px) the search box (flex-basis 16rem, 352 px) and the
    theme cards (minmax(16rem)) made 在线办事 and the search page 385 px wide."""
    from tests.cases.helpers import publish_item
    from yizhan.portal.context_processors import DISPLAY_COOKIE

    publish_item(site.world, name="食品经营许可证核发")
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=NARROW,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    context.add_cookies([{"name": DISPLAY_COOKIE, "value": "large", "url": site.url}])
    try:
        tab = context.new_page()
        tab.goto(reverse(path) + query)
        expect(tab.locator("html")).to_have_class(re.compile(r"\blarge-text\b"))
        width, scroll_width, _regions = tab.evaluate(FITS)
        assert scroll_width <= width, (path, width, scroll_width)
    finally:
        context.close()


def test_the_printable_guide_is_read_in_large_text_on_screen(browser, site):
    """The printable guide followed large-text mode nowhere: 11pt (14.7 px) on screen,
    smaller than the standard page.  Paper keeps its A4 sizes."""
    from tests.cases.helpers import publish_item
    from yizhan.catalog.models import Item
    from yizhan.portal.context_processors import DISPLAY_COOKIE

    version = publish_item(site.world, name="手机打印测试")
    code = Item.objects.get(pk=version.item_id).impl_code
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=NARROW,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    size = "parseFloat(getComputedStyle(document.body).fontSize)"
    try:
        tab = context.new_page()
        printable = reverse("catalog:guide", args=[code]) + "?print=1"
        tab.goto(printable)
        standard = tab.evaluate(size)
        context.add_cookies([{"name": DISPLAY_COOKIE, "value": "large", "url": site.url}])
        tab.goto(printable)
        assert tab.evaluate(size) >= 22 > standard
        width, scroll_width, _regions = tab.evaluate(FITS)
        assert scroll_width <= width, (width, scroll_width)
        tab.emulate_media(media="print")
        assert tab.evaluate(size) == pytest.approx(standard)
    finally:
        context.close()


CONTRAST = """(el) => {
  const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92
                                                   : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const style = getComputedStyle(el);
  let bg = el.parentElement, colour = "rgba(0, 0, 0, 0)";
  while (bg && (colour = getComputedStyle(bg).backgroundColor) === "rgba(0, 0, 0, 0)")
    bg = bg.parentElement;
  if (colour === "rgba(0, 0, 0, 0)") colour = "rgb(255, 255, 255)";
  const [a, b] = [lum(rgb(style.outlineColor)), lum(rgb(colour))].sort((x, y) => y - x);
  return {outline: style.outlineStyle + " " + style.outlineWidth + " " + style.outlineColor,
          background: colour, ratio: (a + 0.05) / (b + 0.05)};
}"""


def test_keyboard_focus_ring_contrasts_with_the_page(page: Page, site):
    """The keyboard's focus ring stands out from the white page: 3:1 or more
    (WCAG 1.4.11); the yellow alone gave 1.6:1."""
    page.goto(reverse("cases:status"))
    page.locator("#number").focus()
    page.keyboard.press("Tab")  # keyboard focus: :focus-visible applies
    facts = page.locator("#code").evaluate(CONTRAST)
    assert facts["outline"].startswith("solid"), facts
    assert facts["ratio"] >= 3, facts
