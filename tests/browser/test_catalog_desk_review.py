"""The catalog desk's version page as a reviewer uses it: the versions of the
item, and a refused withdrawal coming back with what was typed; and a draft's
page on a phone."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.conftest import large_text_on, sign_in_as
from tests.browser.test_accessibility import _check
from tests.catalog.helpers import attach, create, editor, pdf_bytes, published, reviewer
from tests.factories import PASSWORD
from yizhan.catalog import services

pytestmark = pytest.mark.browser

TYPED = "根据市政府第12次常务会议纪要暂停办理本事项，待新规定出台后恢复"


def test_a_refused_withdrawal_comes_back_as_typed_with_its_message_at_the_field(
        page: Page, site, sign_in):
    v1 = published(site.world)
    v2 = services.item_version_draft(actor=editor(site.world), item=v1.item)
    sign_in(reviewer(site.world).username, PASSWORD)
    page.goto(reverse("catalog:desk_version", args=[v2.pk]))
    _check(page)
    page.get_by_test_id("versions").get_by_role("link", name="v1", exact=True).click()
    expect(page).to_have_url(re.compile(reverse("catalog:desk_version", args=[v1.pk]) + "$"))
    _check(page)

    page.get_by_test_id("kind-suspended").check()
    reason = page.get_by_label("依据（决定名称和文号）")
    reason.fill(TYPED)
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.get_by_test_id("withdraw").click()
    assert answered.value.status == 400
    expect(reason).to_have_value(TYPED)
    expect(page.get_by_test_id("kind-suspended")).to_be_checked()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile("文号"))
    _check(page)


FITS = "() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]"
NAME = "开办餐饮店“一件事”食品经营许可证核发（含小餐饮、小食杂店、食品摊贩登记）"
MATERIAL = "食品经营许可申请书（含法定代表人身份证明、授权委托书及经营场所使用证明）"


@pytest.mark.parametrize(("width", "large"), [(360, False), (360, True)])
def test_a_draft_s_page_does_not_scroll_sideways(browser, site, width, large):
    """The 空白表格与样本 table scrolls in its own box; its hidden labels (a file
    input's 空白表格：<material>) must not widen the page beyond it."""
    world = site.world
    draft = create(world, NAME, materials=[{"name": MATERIAL}])
    attach(world, draft, pdf_bytes("phone"), name="Scan_20260314_093015_application_form.pdf")
    context = browser.new_context(base_url=site.url, locale="zh-CN", is_mobile=True,
                                  viewport={"width": width, "height": 800})
    try:
        phone = context.new_page()
        sign_in_as(phone, editor(world).username)
        if large:
            large_text_on(phone)
        phone.goto(reverse("catalog:desk_version", args=[draft.pk]))
        expect(phone.get_by_role("heading", name="空白表格与样本")).to_be_visible()
        client_width, scroll_width = phone.evaluate(FITS)
        assert scroll_width <= client_width, (width, large, client_width, scroll_width)
    finally:
        context.close()


@pytest.mark.parametrize("large", [False, True])
def test_the_review_page_s_form_and_process_fit_a_phone(browser, site, large):
    """The application form's fields and the process's steps scroll in their own
    boxes, and the uploaded BPMN, opened, wraps its long lines."""
    from yizhan.bpmn.templates import template_xml

    world = site.world
    version = create(world, NAME, process_template="custom",
                     process_xml=template_xml("parallel").decode(), joint_agencies=["乙局"],
                     form_fields=[{"name": "business_premises_area_in_square_metres",
                                   "label": "经营场所使用面积（平方米，含仓储和加工区域）",
                                   "type": "choice", "required": True,
                                   "choices": ["100平方米以下", "100至500平方米",
                                               "500平方米以上"]}])
    services.item_version_submit(actor=editor(world), version=version)
    context = browser.new_context(base_url=site.url, locale="zh-CN", is_mobile=True,
                                  viewport={"width": 360, "height": 800})
    try:
        phone = context.new_page()
        sign_in_as(phone, reviewer(world).username)
        if large:
            large_text_on(phone)
        phone.goto(reverse("catalog:desk_version", args=[version.pk]))
        expect(phone.get_by_role("heading", name="申请表字段")).to_be_visible()
        phone.get_by_test_id("process-xml").locator("summary").click()
        expect(phone.get_by_test_id("process-xml").locator("code")).to_be_visible()
        client_width, scroll_width = phone.evaluate(FITS)
        assert scroll_width <= client_width, (large, client_width, scroll_width)
        _check(phone)
    finally:
        context.close()
