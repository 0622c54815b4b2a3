"""The certificate's verification page on a phone, as a bank clerk or a landlord
uses it: the QR code opens it, the file they were sent is checked on it."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import large_text_on
from tests.cases.helpers import complete, publish_item, submitted
from yizhan.cases import certificates
from yizhan.cases.models import Certificate
from yizhan.core import tasks
from yizhan.directory.roles import Role

pytestmark = pytest.mark.browser

# A small phone, in CSS pixels.
SMALL_PHONE = {"width": 360, "height": 740}
# What a messaging app or a browser names a downloaded attachment: one long word.
LONG_NAME = "Download_20260314_093015_JY14403050012345_certificate_copy.pdf"


def _issued(world) -> Certificate:
    case, _code = submitted(world, publish_item(world, materials=[
        {"name": "申请书", "forms": ["original"]}]))
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    tasks.run_now("cases.issue_certificate", case_id=case.pk)
    return Certificate.objects.get(case=case)


def test_a_phone_in_large_text_reads_the_verdicts_in_words_and_sees_the_file_s(
        browser, site, tmp_path):
    """At 360 px in large text nothing scrolls sideways; each verdict is a status
    that says 核验通过 or 核验未通过 in words (the mark beside it is hidden from
    screen readers); the file's verdict, under the form, is scrolled into view."""
    certificate = _issued(site.world)
    with certificate.file.open("rb") as handle:
        data = bytearray(handle.read())
    data[len(data) // 2] ^= 1
    altered = tmp_path / "证照.pdf"
    altered.write_bytes(bytes(data))
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=SMALL_PHONE,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    try:
        tab = context.new_page()
        tab.goto(f"/verify/{certificate.verify_token}/")
        large_text_on(tab)
        expect(tab.get_by_role("heading", level=1)).to_have_text("电子证照核验")
        expect(tab.get_by_role("status")).to_contain_text("核验通过")
        tab.get_by_label("选择证照 PDF 文件").set_input_files(str(altered))
        tab.get_by_role("button", name="核对").click()
        verdict = tab.get_by_test_id("file-verdict")
        expect(verdict).to_have_attribute("role", "status")
        expect(verdict).to_contain_text("核验未通过")
        expect(verdict).to_be_in_viewport()
        expect(verdict.locator("[aria-hidden=true]")).to_have_text("✘")
        assert tab.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    finally:
        context.close()


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_a_long_file_name_in_the_file_s_verdict_does_not_push_the_page_sideways(
        browser, site, tmp_path, large):
    """An inspector checks the file the shop sent them: the verdict names it
    (您上传的文件“…”), and a long name must wrap, not widen the page."""
    certificate = _issued(site.world)
    sent = tmp_path / LONG_NAME
    with certificate.file.open("rb") as handle:
        sent.write_bytes(handle.read())
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=SMALL_PHONE,
                                  is_mobile=True, timezone_id="Asia/Shanghai")
    try:
        tab = context.new_page()
        tab.goto(f"/verify/{certificate.verify_token}/")
        if large:
            large_text_on(tab)
        tab.get_by_label("选择证照 PDF 文件").set_input_files(str(sent))
        tab.get_by_role("button", name="核对").click()
        verdict = tab.get_by_test_id("file-verdict")
        expect(verdict).to_contain_text("核验通过")
        expect(verdict).to_contain_text(LONG_NAME)
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= SMALL_PHONE["width"], f"the page is {width} px wide on a 360 px phone"
    finally:
        context.close()


def test_a_revoked_certificate_s_page_says_so_and_since_when(page, site):
    world = site.world
    certificate = _issued(world)
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason="许可被依法撤销")
    page.goto(f"/verify/{certificate.verify_token}/")
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_contain_text("核验未通过")
    expect(verdict).to_contain_text(re.compile(r"该证照已于\d{4}年\d{1,2}月\d{1,2}日注销"))
    expect(page.get_by_test_id("revoked-at")).to_be_visible()
