"""The apply page in Chromium: what an applicant typed and chose survives a
refusal and a switch to large text."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _item(world):
    from tests.cases.helpers import publish_item
    return publish_item(world, name="带表单的许可",
                        form_fields=[{"name": "area", "label": "经营面积",
                                      "type": "number", "required": True}])


def _open_apply_page(page, site, sign_in, tmp_path):
    """The citizen signed in on the apply page of the item; returns the item and a scan."""
    from tests.cases.helpers import PDF

    version = _item(site.world)
    scan = tmp_path / "申请书.pdf"
    scan.write_bytes(PDF)
    sign_in(site.world.citizen.username, PASSWORD)
    page.goto(reverse("cases:apply", args=[version.item.impl_code]))
    return version, scan


def test_switching_to_large_text_keeps_what_was_typed(page, site, sign_in, tmp_path):
    """An elderly applicant half-way through the form finds the text too small and
    presses 大字模式 (no JavaScript needed): the page comes back in large text with
    the answer typed, and asks for the chosen file again (a browser cannot keep it)."""
    _version, scan = _open_apply_page(page, site, sign_in, tmp_path)
    page.get_by_label("经营面积").fill("88")
    page.get_by_test_id("material-1").set_input_files(str(scan))
    page.get_by_test_id("large-text").click()
    expect(page.locator("html")).to_have_class("large-text")
    expect(page.get_by_label("经营面积")).to_have_value("88")
    expect(page.get_by_text("所选文件未能保存，请重新选择。")).to_be_visible()
    # An empty required answer does not stop the switch back (formnovalidate).
    page.get_by_label("经营面积").fill("")
    page.get_by_test_id("large-text").click()
    expect(page.locator("html")).not_to_have_class("large-text")


def test_a_refused_answer_keeps_the_chosen_file(page, site, sign_in, tmp_path):
    """A number typed in words is refused by the server: the file chosen with it is
    kept in a draft, which the page says at its input; the corrected answer then
    submits without choosing the file again."""
    from yizhan.cases.models import Case, MaterialFile

    _version, scan = _open_apply_page(page, site, sign_in, tmp_path)
    page.get_by_label("经营面积").fill("八十八")
    page.get_by_test_id("material-1").set_input_files(str(scan))
    page.get_by_test_id("submit-application").click()
    expect(page.get_by_test_id("form-error")).to_be_visible()
    expect(page.get_by_test_id("material-kept-1")).to_contain_text("申请书.pdf")
    assert MaterialFile.objects.count() == 1
    page.get_by_label("经营面积").fill("88")
    page.get_by_test_id("submit-application").click()
    expect(page.get_by_test_id("query-code")).to_be_visible()
    assert Case.objects.get().status == Case.Status.SUBMITTED


def test_enter_in_an_answer_submits_the_application(page, site, sign_in, tmp_path):
    """The display toggles name the apply form and come before it in the page, so
    the first of its submit buttons would be 大字模式: Enter in an answer (a phone
    keyboard's 前往) must submit the application, not switch the text size."""
    from yizhan.cases.models import Case

    version, scan = _open_apply_page(page, site, sign_in, tmp_path)
    for order in range(1, version.materials.count() + 1):
        page.get_by_test_id(f"material-{order}").set_input_files(str(scan))
    page.get_by_label("经营面积").fill("88")
    page.get_by_label("经营面积").press("Enter")
    expect(page.get_by_test_id("query-code")).to_be_visible()
    expect(page.locator("html")).not_to_have_class("large-text")
    assert Case.objects.get().status == Case.Status.SUBMITTED
