"""The catalog desk's item form, as an editor fills it in a browser."""


import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.conftest import large_text_on, sign_in_as
from tests.browser.test_accessibility import FITS, _check
from tests.catalog.helpers import create, editor
from tests.factories import PASSWORD
from yizhan.catalog.models import ItemVersion

pytestmark = pytest.mark.browser

WIDE = {"width": 1280, "height": 900}
NARROW_PHONE = {"width": 360, "height": 740}


def _fill_new_item(page: Page) -> None:
    page.locator("#name").fill("食品经营许可证核发")
    page.locator("#basic_code").fill("XK00101000")
    page.locator("#exercise_level").select_option("3")
    page.locator("#legal_basis").fill("《中华人民共和国食品安全法》第三十五条")
    page.get_by_label("法人", exact=True).check()
    page.locator("#acceptance_conditions").fill("具有与经营的食品品种相适应的经营场所")
    page.locator("#statutory_limit").fill("20")
    page.locator("#promised_limit").fill("10")
    page.locator("#materials-1-name").fill("食品经营许可申请书")
    page.locator("#materials-2-name").fill("营业执照")
    page.locator("#materials-2-forms-original").uncheck()
    page.locator("#materials-2-forms-copy").check()
    page.locator("#fees-1-name").fill("工本费")
    page.locator("#fees-1-standard").fill("每证 10 元")
    page.locator("#fees-1-amount").fill("10")
    page.locator("#fees-1-basis").fill("《收费管理办法》")


def test_an_editor_enters_a_new_item_with_two_materials_and_a_fee(page: Page, site, sign_in):
    world = site.world
    page.set_viewport_size(WIDE)
    sign_in(editor(world).username, PASSWORD)
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    page.goto(reverse("catalog:desk"))
    page.get_by_role("link", name="新建事项").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("新建事项")
    _check(page)
    # The header's hidden submit button (the one Enter presses) is not an empty box.
    expect(page.locator(".tools button[hidden]")).to_be_hidden()
    _fill_new_item(page)
    # A third material: the page comes back with one more row, nothing typed lost.
    page.get_by_test_id("add-materials").click()
    expect(page.locator("#materials-2-name")).to_have_value("营业执照")
    expect(page.locator("#fees-1-amount")).to_have_value("10")
    expect(page.locator("#materials-4-name")).to_be_visible()
    page.get_by_test_id("save").click()
    expect(page.get_by_text("已保存。")).to_be_visible()
    version = ItemVersion.objects.get(name="食品经营许可证核发")
    assert [(m.name, m.forms) for m in version.materials.order_by("order")] == [
        ("食品经营许可申请书", ["original"]), ("营业执照", ["copy"])]
    assert [(f.name, f.standard) for f in version.fees.all()] == [("工本费", "每证 10 元")]
    # And edited again from its page.
    page.get_by_test_id("edit-draft").click()
    expect(page.locator("#materials-2-name")).to_have_value("营业执照")
    _check(page)


def test_a_refused_save_shows_each_problem_at_its_field(page: Page, site, sign_in):
    world = site.world
    sign_in(editor(world).username, PASSWORD)
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    page.goto(reverse("catalog:desk_new"))
    _fill_new_item(page)
    page.locator("#materials-2-name").fill("")
    page.locator("#materials-2-condition").fill("委托办理的")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("form-error")).to_be_visible()
    field = page.locator("#materials-2-name")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#materials-2-name-error")).to_contain_text("请填写材料名称")
    expect(page.locator("#materials-2-condition")).to_have_value("委托办理的")
    _check(page)


def test_large_text_keeps_what_was_typed_in_the_form(page: Page, site, sign_in):
    world = site.world
    sign_in(editor(world).username, PASSWORD)
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    page.goto(reverse("catalog:desk_new"))
    _fill_new_item(page)
    large_text_on(page)
    expect(page.locator("#fees-1-basis")).to_have_value("《收费管理办法》")
    expect(page.locator("#materials-2-forms-copy")).to_be_checked()
    page.get_by_test_id("language").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#materials-2-name")).to_have_value("营业执照")
    expect(page.locator("#fees-1-amount")).to_have_value("10")


def test_the_form_does_not_scroll_sideways_on_a_narrow_phone(browser, site):
    world = site.world
    draft = create(world, "开办餐饮店“一件事”（手机）")
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=NARROW_PHONE,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    try:
        phone = context.new_page()
        sign_in_as(phone, editor(world).username)
        for large in (False, True):
            if large:
                large_text_on(phone)
            for path in (reverse("catalog:desk_new"),
                         reverse("catalog:desk_edit", args=[draft.pk])):
                phone.goto(path)
                width, scroll_width, _regions = phone.evaluate(FITS)
                assert scroll_width <= width, (path, large, width, scroll_width)
    finally:
        context.close()
