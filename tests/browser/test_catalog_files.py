"""Blank forms on the desk and in the guide, as an editor and an applicant use them."""

import uuid

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import FITS, PHONE, _check
from tests.catalog.helpers import create, editor, publish
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _pdf() -> bytes:
    return (b"%PDF-1.4\n% " + str(uuid.uuid4()).encode()
            + b"\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def test_an_editor_uploads_a_blank_form_that_applicants_then_download(page: Page, site,
                                                                      sign_in, browser):
    world = site.world
    draft = create(world, "食品经营许可证核发", basic_code="XK04101000",
                   materials=[{"name": "食品经营许可申请书"}, {"name": "授权委托书"}])
    sign_in(editor(world).username, PASSWORD)
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    page.goto(reverse("catalog:desk_version", args=[draft.pk]))
    _check(page)
    page.get_by_label("空白表格：食品经营许可申请书").set_input_files(
        {"name": "食品经营许可申请书.pdf", "mimeType": "application/pdf", "buffer": _pdf()})
    page.get_by_test_id("upload-blank_form-1").click()
    expect(page.get_by_text("文件已上传。")).to_be_visible()
    expect(page.get_by_test_id("current-blank_form-1")).to_have_text("食品经营许可申请书.pdf")
    _check(page)
    # Content that is no accepted type is refused on the page, by its content.
    page.get_by_label("示例样表：授权委托书").set_input_files(
        {"name": "委托书.pdf", "mimeType": "application/pdf", "buffer": b"<html></html>"})
    page.get_by_test_id("upload-sample-2").click()
    expect(page.get_by_text("类型不被接受")).to_be_visible()

    publish(world, draft)
    code = draft.item.impl_code
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=PHONE,
                                  is_mobile=True, timezone_id="Asia/Shanghai",
                                  accept_downloads=True)
    try:
        phone = context.new_page()
        phone.goto(reverse("catalog:guide", args=[code]))
        link = phone.get_by_role("link", name="下载空白表格：食品经营许可申请书.pdf")
        expect(link).to_be_visible()
        width, scroll_width, _regions = phone.evaluate(FITS)
        assert scroll_width <= width
        with phone.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "食品经营许可申请书.pdf"
    finally:
        context.close()
