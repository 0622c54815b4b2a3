"""The applicant's pages on a phone, in large text: nothing scrolls sideways."""


import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import large_text_on, sign_in_as

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
FITS = "() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]"
WIDE = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map(e => e.tagName + ':' + (e.textContent || '').trim().slice(0, 60)).slice(0, 8)"""


def test_the_applicant_s_case_pages_fit_a_phone_in_large_text(browser, site):
    """An applicant reading on a phone with 大字模式 on expects to read the apply page,
    the case page (its timeline, and its files under the long names a camera or a
    scanner gives them) and the public status answer without the page sliding
    sideways: long file names wrap."""
    from tests.cases.helpers import JPEG, publish_item, upload
    from yizhan.cases import services

    world = site.world
    version = publish_item(world, name="食品经营许可（手机）")
    case = services.case_create(actor=world.citizen, item_version=version,
                                applicant=world.applicant)
    for material in version.materials.all():
        services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                                 upload=upload(JPEG, "Scan_20260314_093015_business_licence.jpg"))
    case, code = services.case_submit(actor=world.citizen, case=case)
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=PHONE,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    try:
        phone = context.new_page()
        sign_in_as(phone, world.citizen.username)
        large_text_on(phone)
        problems = []
        for path in (reverse("cases:apply", args=[version.item.impl_code]),
                     reverse("cases:mine_detail", args=[case.pk])):
            phone.goto(path)
            width, scroll = phone.evaluate(FITS)
            if scroll > width:
                wide = phone.evaluate(WIDE)
                problems.append((path, width, scroll, wide))
        phone.goto(reverse("cases:status"))
        phone.get_by_label("办件编号").fill(case.number)
        phone.get_by_label("查询码").fill(code)
        phone.get_by_role("button", name="查询", exact=True).click()
        expect(phone.get_by_test_id("timeline")).to_be_visible()
        width, scroll = phone.evaluate(FITS)
        if scroll > width:
            problems.append(("status", width, scroll))
        assert not problems, problems
    finally:
        context.close()
