"""窗口代办申请 in the browser: the clerk files for a walk-in applicant."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import _check
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_the_window_files_for_a_walk_in_applicant(page: Page, site, sign_in, tmp_path):
    """From the workbench to the filed page: an item offered only at the window, an
    applicant registered on the way, the number and query code shown at the end."""
    from tests.cases.helpers import PDF, publish_item
    from tests.factories import valid_id_number
    from yizhan.cases.models import Case
    from yizhan.directory.roles import Role

    world = site.world
    publish_item(world, name="窗口办理事项", online_depth=2)
    scan = tmp_path / "申请书.pdf"
    scan.write_bytes(PDF)
    sign_in(world.user("a", Role.WINDOW_CLERK).username, PASSWORD)
    page.get_by_role("navigation", name="工作台导航").get_by_role(
        "link", name="窗口代办申请").click()
    _check(page)
    page.get_by_role("link", name="窗口办理事项").click()
    page.get_by_label("证件号码").fill(valid_id_number(seq=31))
    page.get_by_role("button", name="查找", exact=True).click()
    expect(page.get_by_test_id("applicant-new")).to_be_visible()
    _check(page)
    page.get_by_label("姓名").fill("王五")
    page.get_by_label("联系电话").fill("13700002222")
    page.get_by_label(re.compile("申请书")).set_input_files(str(scan))
    page.get_by_test_id("submit-application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申请已提交")
    _check(page)
    case = Case.objects.get()
    expect(page.get_by_test_id("case-number")).to_have_text(case.number)
    expect(page.get_by_test_id("query-code")).to_have_text(re.compile(r"^\d{8}$"))
    assert (case.channel, case.status) == ("window", Case.Status.SUBMITTED)


def test_a_filing_refused_for_a_material_is_continued_from_the_drafts_list(
        page: Page, site, sign_in, tmp_path):
    """The applicant has only the licence: the filing is refused for the missing
    申请书 and kept. They come back with it; the clerk finds the filing under
    未提交的代办申请, looks the applicant up again, sees the licence kept,
    attaches the 申请书 and submits: one case, both files."""
    from tests.cases.helpers import PDF, publish_item
    from tests.factories import valid_id_number
    from yizhan.cases.models import Case, MaterialFile
    from yizhan.directory.roles import Role

    world = site.world
    publish_item(world, name="窗口办理事项", online_depth=2, materials=[
        {"name": "申请书", "forms": ["original"]}, {"name": "营业执照", "forms": ["copy"]}])
    scan = tmp_path / "扫描件.pdf"
    scan.write_bytes(PDF)
    number = valid_id_number(seq=33)
    sign_in(world.user("a", Role.WINDOW_CLERK).username, PASSWORD)
    page.goto("/workbench/apply/")
    page.get_by_role("link", name="窗口办理事项").click()
    page.get_by_label("证件号码").fill(number)
    page.get_by_role("button", name="查找", exact=True).click()
    page.get_by_label("姓名").fill("王五")
    page.get_by_label(re.compile("营业执照")).set_input_files(str(scan))
    page.get_by_test_id("submit-application").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("申请书")

    page.goto("/workbench/apply/")
    with page.expect_navigation():
        page.get_by_test_id("window-drafts-link").click()
    _check(page)
    expect(page.get_by_test_id("window-drafts")).to_contain_text("王五")
    with page.expect_navigation():
        page.get_by_test_id("continue-draft").click()
    expect(page.get_by_test_id("continuing-draft")).to_contain_text("王五")
    _check(page)
    page.get_by_label("证件号码").fill(number)
    page.get_by_role("button", name="查找", exact=True).click()
    expect(page.get_by_test_id("applicant-found")).to_contain_text("王五")
    expect(page.locator("[data-testid^=material-kept-]")).to_have_count(1)
    page.get_by_label(re.compile("申请书")).set_input_files(str(scan))
    page.get_by_test_id("submit-application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申请已提交")
    case = Case.objects.get()
    assert case.status == Case.Status.SUBMITTED
    assert MaterialFile.objects.filter(case=case).count() == 2
