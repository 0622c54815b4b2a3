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


# --- the window's correction notice: sent once, so never half-written ---------------

TABLET = {"width": 820, "height": 1180}


def _case_at_the_window(site):
    from tests.cases.helpers import open_task, publish_item, submitted
    from yizhan.directory.roles import Role

    world = site.world
    version = publish_item(world, name="食品经营许可证核发", materials=[
        {"name": "食品经营许可申请书", "forms": ["original"]},
        {"name": "营业执照复印件", "forms": ["copy"]},
        {"name": "设备布局和操作流程文件", "forms": ["original"]},
    ])
    case, _code = submitted(world, version)
    return world.user("a", Role.WINDOW_CLERK), case, open_task(case)


def _window(browser, site, username, viewport=TABLET, **options):
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=viewport,
                                  timezone_id="Asia/Shanghai", **options)
    tab = context.new_page()
    sign_in_as(tab, username)
    return context, tab


def _nothing_sent(case):
    from yizhan.cases.models import Case, CorrectionNotice

    assert not CorrectionNotice.objects.filter(case_id=case.pk).exists()
    assert Case.objects.get(pk=case.pk).status == Case.Status.SUBMITTED


def test_enter_in_a_problem_does_not_send_the_one_time_notice(browser, site):
    """The clerk writes the first material's problem and presses Enter (the
    on-screen keyboard's 前往): the notice must not go out with that one
    material, as no second notice may follow.  Enter starts a new line."""
    clerk, case, task = _case_at_the_window(site)
    context, tab = _window(browser, site, clerk.username, has_touch=True)
    try:
        tab.goto(reverse("cases:task", args=[task.pk]))
        problem = tab.get_by_test_id("correct-problem-1")
        problem.fill("缺少申请人签名")
        problem.press("Enter")
        problem.type("第二页")
        tab.get_by_label("补充说明").press("Enter")
        tab.wait_for_timeout(300)
        expect(problem).to_have_value("缺少申请人签名\n第二页")
        _nothing_sent(case)
    finally:
        context.close()


def test_enter_in_a_tick_box_sends_nothing(browser, site):
    """Chromium submits a form on Enter in a tick box: the page comes back with
    what was typed, and neither 受理 nor the notice went out."""
    clerk, case, task = _case_at_the_window(site)
    context, tab = _window(browser, site, clerk.username)
    try:
        tab.goto(reverse("cases:task", args=[task.pk]))
        tab.get_by_test_id("correct-problem-1").fill("缺少申请人签名")
        box = tab.get_by_test_id("correct-material-2")
        box.check()
        box.press("Enter")
        tab.wait_for_load_state()
        expect(tab.get_by_test_id("correct-problem-1")).to_have_value("缺少申请人签名")
        expect(tab.get_by_test_id("correct-material-2")).to_be_checked()
        _nothing_sent(case)
    finally:
        context.close()


def test_large_text_keeps_the_problems_typed(browser, site):
    """Halfway through the list the clerk turns on 大字模式 to read it over: the
    opinion, the boxes ticked, the problems typed and the note come back."""
    clerk, case, task = _case_at_the_window(site)
    context, tab = _window(browser, site, clerk.username, has_touch=True)
    try:
        tab.goto(reverse("cases:task", args=[task.pk]))
        tab.get_by_test_id("opinion").fill("材料待核")
        tab.get_by_test_id("correct-material-1").check()
        tab.get_by_test_id("correct-material-3").check()
        tab.get_by_test_id("correct-problem-1").fill("缺少申请人签名")
        tab.get_by_test_id("correct-problem-2").fill("复印件未加盖公章")
        tab.get_by_label("补充说明").fill("请一次性补正")
        large_text_on(tab)
        expect(tab.get_by_test_id("opinion")).to_have_value("材料待核")
        expect(tab.get_by_test_id("correct-problem-1")).to_have_value("缺少申请人签名")
        expect(tab.get_by_test_id("correct-problem-2")).to_have_value("复印件未加盖公章")
        expect(tab.get_by_label("补充说明")).to_have_value("请一次性补正")
        expect(tab.get_by_test_id("correct-material-1")).to_be_checked()
        expect(tab.get_by_test_id("correct-material-2")).not_to_be_checked()
        expect(tab.get_by_test_id("correct-material-3")).to_be_checked()
        _nothing_sent(case)
    finally:
        context.close()


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_the_correction_notice_fits_a_phone(browser, site, large):
    """At 390 px, in standard and large text, each problem's box is as wide as
    its row, and the page does not scroll sideways."""
    clerk, _case, task = _case_at_the_window(site)
    context, tab = _window(browser, site, clerk.username, viewport={"width": 390, "height": 844},
                           is_mobile=True, has_touch=True)
    try:
        if large:
            large_text_on(tab)
        tab.goto(reverse("cases:task", args=[task.pk]))
        problem = tab.get_by_test_id("correct-problem-1").bounding_box()
        row = tab.get_by_test_id("correct-problem-1").locator("xpath=..").bounding_box()
        assert problem["width"] >= row["width"] - 2, (problem, row)
        assert problem["x"] >= 0 and problem["x"] + problem["width"] <= 390
        assert not tab.evaluate(SIDEWAYS)
    finally:
        context.close()


SCANNED = "Business_License_Scan_2026_12_05_HighResolution_Final_Version_Signed.pdf"


def test_the_task_page_fits_a_phone_with_a_long_file_name(browser, site):
    """A material's file name as the scanner or the phone named it does not make
    the task page scroll sideways on a 390 px phone, in standard and large
    text: it wraps in 申请材料 and in the correction notice's rows, as on the
    case page."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.cases.helpers import PDF, open_task, publish_item
    from yizhan.cases import services
    from yizhan.directory.roles import Role

    world = site.world
    version = publish_item(world)
    case = services.case_create(actor=world.citizen, item_version=version,
                                applicant=world.applicant)
    for material in version.materials.all():
        services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                                 upload=SimpleUploadedFile(SCANNED, PDF))
    case, _code = services.case_submit(actor=world.citizen, case=case)
    task = open_task(case, "accept")
    context, phone = _window(browser, site, world.user("a", Role.WINDOW_CLERK).username,
                             viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        for large in (False, True):
            if large:
                large_text_on(phone)
            for path in (reverse("cases:staff_case", args=[case.pk]),
                         reverse("cases:task", args=[task.pk])):
                phone.goto(path)
                assert not phone.evaluate(SIDEWAYS), (path, large)
    finally:
        context.close()
