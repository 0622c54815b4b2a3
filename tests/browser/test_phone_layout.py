"""The applicant's pages on a 360×740 phone, in normal and large text (zh-CN),
and a page staff open on one (the supervision officer's 办件监察): nothing
pushes the page sideways, what to do is on the first screen, what is tapped
is big enough, and nothing is explained only on hover."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import large_text_on
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
FITS = "() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]"
LONG = "Scan_20260314_093015_business_licence_copy.pdf"


def _phone(browser, site, *, large=False, sign_in=True, user=None):
    """A phone with the citizen (or ``user``) signed in."""
    context = browser.new_context(base_url=site.url, locale="zh-CN", viewport=PHONE,
                                  device_scale_factor=2, is_mobile=True, has_touch=True,
                                  timezone_id="Asia/Shanghai")
    phone = context.new_page()
    if sign_in:
        phone.goto(reverse("portal:login"))
        phone.get_by_label("用户名").fill((user or site.world.citizen).username)
        phone.get_by_label("密码").fill(PASSWORD)
        phone.get_by_test_id("sign-in").click()
        expect(phone.get_by_test_id("sign-out")).to_be_visible()
    else:
        phone.goto("/")
    if large:
        large_text_on(phone)
    return context, phone


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_a_kept_long_file_name_on_the_apply_form_does_not_push_the_page_sideways(
        browser, site, large, tmp_path):
    """A draft saved with a scanner's file name and a mistyped number comes back
    with 已保存：<name>: the name wraps, and the 申请材料 fieldset (as wide as its
    longest word by default) does not push the page sideways."""
    from tests.cases.helpers import PDF, publish_item

    world = site.world
    version = publish_item(world, name="食品经营许可（手机）", form_fields=[
        {"name": "seats", "label": "就餐座位数", "type": "number", "required": True}])
    material = version.materials.first()
    scan = tmp_path / LONG
    scan.write_bytes(PDF)
    context, phone = _phone(browser, site, large=large)
    try:
        phone.goto(reverse("cases:apply", args=[version.item.impl_code]))
        phone.get_by_label("就餐座位数").fill("四十")
        phone.locator(f"#material-{material.pk}").set_input_files(scan)
        phone.get_by_test_id("save-draft").click()
        expect(phone.get_by_text(LONG, exact=False)).to_be_visible()
        width, scroll = phone.evaluate(FITS)
        assert scroll <= width, (width, scroll)
    finally:
        context.close()


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_my_cases_shows_each_case_s_status_on_a_phone(browser, site, large):
    """我的办件 on a phone: each case a block whose cells are headed by their
    column, so that where each case stands (状态) is on the screen, not off to
    the side of a scrolling table."""
    from tests.cases.helpers import publish_item, submitted

    world = site.world
    version = publish_item(world, name="食品经营许可（手机）")
    submitted(world, version)
    context, phone = _phone(browser, site, large=large)
    try:
        phone.goto(reverse("cases:mine"))
        status = phone.get_by_test_id("case-status").first
        expect(status).to_have_text("待受理")
        box = status.bounding_box()
        region = phone.locator(".table-scroll").first.bounding_box()
        assert box["x"] + box["width"] <= region["x"] + region["width"], (box, region)
    finally:
        context.close()


def test_withdrawing_takes_a_second_tap(browser, site):
    """撤回申请 ends the case for good: the first tap only opens the form, whose
    own button (确认撤回申请) withdraws."""
    from tests.cases.helpers import publish_item, submitted
    from yizhan.cases.models import Case

    world = site.world
    version = publish_item(world, name="食品经营许可（手机）")
    case, _code = submitted(world, version)
    context, phone = _phone(browser, site)
    try:
        phone.goto(reverse("cases:mine_detail", args=[case.pk]))
        expect(phone.get_by_test_id("withdraw")).to_be_hidden()
        phone.get_by_test_id("withdraw-open").click()
        assert Case.objects.get(pk=case.pk).status != Case.Status.WITHDRAWN
        with phone.expect_navigation():
            phone.get_by_test_id("withdraw").click()
        assert Case.objects.get(pk=case.pk).status == Case.Status.WITHDRAWN
    finally:
        context.close()


def test_the_provisional_mark_is_explained_without_hovering(browser, site):
    """暂定 is explained in words on the page, not only in a tooltip, which a phone
    never shows: the applicant learns why the deadline may still move."""
    from tests.cases.helpers import accepted, publish_item

    world = site.world
    version = publish_item(world, name="食品经营许可（手机）")
    case = accepted(world, version)
    context, phone = _phone(browser, site)
    try:
        phone.goto(reverse("cases:mine_detail", args=[case.pk]))
        badge = phone.locator(".badge", has_text="暂定").first
        expect(badge).to_be_visible()
        expect(phone.get_by_role("main")).to_contain_text("节假日尚未公布")
    finally:
        context.close()


def test_header_sign_in_links_are_big_enough_to_tap(browser, site):
    """登录 in the header is at least 44 px each way, as a shaky finger needs."""
    context, phone = _phone(browser, site, sign_in=False)
    try:
        for testid in ("sign-in-link",):
            box = phone.get_by_test_id(testid).bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44, box
    finally:
        context.close()


def test_the_status_answer_does_not_show_a_version_code(browser, site):
    """The public status answer and the applicant's case page name the item
    without a version code: "（v1）" means nothing to a citizen."""
    from tests.cases.helpers import publish_item, submitted

    world = site.world
    version = publish_item(world, name="食品经营许可（手机）")
    case, code = submitted(world, version)
    context, phone = _phone(browser, site, sign_in=False)
    try:
        phone.goto(reverse("cases:status"))
        phone.get_by_label("办件编号").fill(case.number)
        phone.get_by_label("查询码").fill(code)
        phone.get_by_role("button", name="查询", exact=True).click()
        expect(phone.get_by_test_id("case-number")).to_have_text(case.number)
        assert not re.search(r"（v\d+）", phone.get_by_role("main").inner_text())
    finally:
        context.close()


def test_typed_answers_survive_switching_to_large_text(browser, site):
    """Control: switching 大字模式 halfway through the apply form keeps what was typed."""
    from tests.cases.helpers import publish_item

    world = site.world
    version = publish_item(world, name="食品经营许可（手机）", form_fields=[
        {"name": "shop_name", "label": "拟用店名", "type": "text", "required": True}])
    context, phone = _phone(browser, site)
    try:
        phone.goto(reverse("cases:apply", args=[version.item.impl_code]))
        phone.get_by_label("拟用店名").fill("湖滨小馆")
        large_text_on(phone)
        expect(phone.get_by_label("拟用店名")).to_have_value("湖滨小馆")
    finally:
        context.close()


def test_the_case_page_facts_stay_readable_in_large_text(browser, site):
    """The case page's facts on a phone in large text: each label above its value,
    so that a long label (经营场所面积（平方米）) does not leave the values a column of
    one or two characters, and the case number (copied into 办件查询) keeps to a
    line or two."""
    from tests.cases.helpers import publish_item, submitted

    world = site.world
    version = publish_item(world, name="开办餐饮店“一件事”", form_fields=[
        {"name": "area", "label": "经营场所面积（平方米）", "type": "text", "required": True}])
    case, _code = submitted(world, version, data={"area": "120"})
    context, phone = _phone(browser, site, large=True)
    try:
        phone.goto(reverse("cases:mine_detail", args=[case.pk]))
        number = phone.get_by_test_id("case-number")
        expect(number).to_have_text(case.number)
        lines = phone.evaluate(
            "e => Math.round(e.getBoundingClientRect().height"
            " / parseFloat(getComputedStyle(e).lineHeight))", number.element_handle())
        assert lines <= 2, f"the case number takes {lines} lines"
    finally:
        context.close()


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_the_correction_notice_is_on_the_first_screen(browser, site, large):
    """A case awaiting correction opens on 补正告知, the one thing the applicant
    must act on: on the first screen of a 740 px phone, above the facts list."""
    from tests.cases.helpers import open_task, publish_item, submitted
    from yizhan.cases import services
    from yizhan.directory.roles import Role

    world = site.world
    # The answers 开办餐饮店 asks (demo catalog): six short facts.
    labels = ["拟用店名", "经营场所面积（平方米）", "就餐座位数", "经营项目", "预计开业日期",
              "开展网络订餐"]
    fields = [{"name": f"f{i}", "label": label, "type": "text", "required": True}
              for i, label in enumerate(labels)]
    version = publish_item(world, name="开办餐饮店“一件事”", form_fields=fields)
    case, _code = submitted(world, version, data={f"f{i}": "是" for i in range(len(labels))})
    clerk = world.user("a", Role.WINDOW_CLERK)
    task = services.task_claim(actor=clerk, task=open_task(case))
    material = version.materials.first()
    services.case_request_correction(actor=clerk, task=task, items=[
        {"material_id": material.pk, "problem": "缺少签章页，请上传完整扫描件"}])
    context, phone = _phone(browser, site, large=large)
    try:
        phone.goto(reverse("cases:mine_detail", args=[case.pk]))
        heading = phone.get_by_role("heading", name="补正告知")
        expect(heading).to_be_visible()
        top = heading.bounding_box()["y"]
        assert top < PHONE["height"], f"补正告知 starts at {top:.0f} px"
    finally:
        context.close()


# The elements, outside a scrolling region, whose content is wider than they are.
WIDER = """() => [...document.querySelectorAll('body *')].filter((el) =>
  !el.closest('.table-scroll') && el.scrollWidth > el.clientWidth + 1
  && getComputedStyle(el).position !== 'absolute')
  .map((el) => el.tagName.toLowerCase() + ' ' + el.clientWidth + '<' + el.scrollWidth + 'px')"""


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_supervision_case_page_does_not_scroll_sideways(browser, site, language, large):
    """办件监察 is the page a red card on the dashboard leads to.  Its heading
    ends in the case number, 22 digits without a break: the heading breaks it
    rather than push the page wider than the phone, in either language."""
    from tests.cases.helpers import accepted, publish_item
    from tests.supervision.helpers import city_officer, seed_as_migrations_do

    world = site.world
    seed_as_migrations_do("workdays", "supervision")
    case = accepted(world, publish_item(world, name="食品经营许可证核发"))
    context, phone = _phone(browser, site, large=large, user=city_officer(world))
    try:
        context.add_cookies([{"name": "django_language", "value": language, "url": site.url}])
        phone.goto(reverse("supervision:case", args=[case.pk]))
        expect(phone.get_by_role("heading", level=1)).to_contain_text(case.number)
        expect(phone.get_by_test_id("points")).to_be_attached()
        width, scroll = phone.evaluate(FITS)
        assert scroll <= width, (language, width, scroll, phone.evaluate(WIDER))
    finally:
        context.close()
