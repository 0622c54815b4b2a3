"""Opening a restaurant, end to end, in the demo city.

An enterprise's agent applies online for the parallel item 开办餐饮店“一件事”;
the window clerk of the accepting agency asks once for a correction; the
agent corrects; the clerk accepts; the lead agency and the three joint
agencies review side by side; the head decides; the clerk delivers; the
agent downloads the signed certificate and checks it on the public
verification page.  Every person has their own browser.
"""

import io
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fpdf import FPDF
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from yizhan import demo
from yizhan.catalog.models import ItemVersion
from yizhan.core import tasks
from yizhan.directory.models import Posting
from yizhan.directory.roles import Role

pytestmark = pytest.mark.browser

ITEM = "开办餐饮店“一件事”"
AGENT = "hubin.canyin"
COMPANY = "示范市湖滨餐饮管理有限公司"
FAULTY = "经营场所使用证明"
PROBLEM = "租赁合同缺少出租方签章页，请上传完整的合同扫描件"
# Screenshots of what the clerk and the agent saw, to look at after a run.
SHOTS = Path(tempfile.gettempdir())


@pytest.fixture
def demo_city(browser: Browser, _truncate_after_test, live_server, monkeypatch) -> str:
    """The demo city in the live server's database; its address.

    ``browser`` comes first: while Playwright runs, the ORM calls here need
    its lifting of Django's async guard.  Certificates are issued at the
    commit of the decision, on whichever thread commits it.
    """
    monkeypatch.setattr(tasks, "EAGER", True)
    demo.load(out=lambda *args: None)
    return live_server.url


@pytest.fixture
def person(browser: Browser, demo_city: str) -> Iterator[Callable[[str], Page]]:
    """``person(username)``: that person's own browser, signed in."""
    contexts = []

    def sign_in(username: str) -> Page:
        context = browser.new_context(base_url=demo_city, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        page.get_by_test_id("sign-in-link").click()
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(demo.DEMO_PASSWORD)
        page.get_by_test_id("sign-in").click()
        expect(page.get_by_test_id("sign-out")).to_be_visible()
        return page

    yield sign_in
    for context in contexts:
        context.close()


def _pdf(path: Path, title: str) -> Path:
    """A small real PDF: one A4 page with a line of text."""
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=14)
    document.cell(text=title)
    document.output(str(path))
    return path


def _staff(agency_id: int, role: str) -> str:
    posting = (Posting.objects.filter(post__agency_id=agency_id, post__role=role)
               .select_related("user").order_by("id").first())
    assert posting is not None, f"no {role} in agency {agency_id}"
    return posting.user.username


def _open_task(page: Page, number: str, step: str) -> None:
    """From the workbench inbox, open the step ``step`` of case ``number``."""
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="工作台").click()
    row = page.get_by_test_id("inbox").get_by_role("row").filter(has_text=number).filter(
        has_text=step)
    expect(row).to_have_count(1)
    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(step)
    expect(page.get_by_test_id("case-number")).to_have_text(number)


def _open_my_case(page: Page, number: str) -> None:
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的办件").click()
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_test_id("case-number")).to_have_text(number)


def test_restaurant_opened_online_with_one_correction_and_joint_review(
        demo_city, person, tmp_path: Path):
    version = ItemVersion.objects.select_related("item").get(
        name=ITEM, status=ItemVersion.Status.PUBLISHED)
    accepting = version.item.agency_id
    joint = list(version.joint_agencies.order_by("id").values_list("id", flat=True))
    assert len(joint) == 3
    clerk_name = _staff(accepting, Role.WINDOW_CLERK)
    reviewer_names = [_staff(agency, Role.REVIEWER) for agency in [accepting, *joint]]
    head_name = _staff(accepting, Role.AGENCY_HEAD)

    # --- the agent finds the item and applies -----------------------------
    agent = person(AGENT)
    agent.get_by_role("navigation", name="主导航").get_by_role("link", name="在线办事").click()
    search = agent.get_by_role("search", name="搜索事项")
    search.get_by_role("searchbox", name="搜索事项").fill("开餐馆")
    search.get_by_role("button", name="搜索").click()
    agent.get_by_role("link", name=ITEM).click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text(ITEM)
    agent.get_by_test_id("apply").click()
    expect(agent.get_by_role("heading", level=1)).to_have_text(f"在线申请：{ITEM}")
    expect(agent.get_by_label(re.compile(COMPANY))).to_be_checked()

    # The item's application form: the shop, its size and what it serves.
    agent.get_by_label("拟用店名").fill("湖滨小馆")
    agent.get_by_label("经营场所面积（平方米）").fill("120")
    agent.get_by_label("就餐座位数").fill("40")
    agent.get_by_label("经营项目").select_option("热食类食品制售")
    agent.get_by_label("开展网络订餐").check()

    materials = list(version.materials.order_by("order"))
    for material in materials:
        upload = _pdf(tmp_path / f"{material.order:02d}.pdf", f"material {material.order}")
        agent.get_by_test_id(f"material-{material.order}").set_input_files(upload)
    agent.get_by_test_id("submit-application").click()
    number = agent.get_by_test_id("case-number").inner_text().strip()
    assert re.fullmatch(r"\d{22}", number), number
    expect(agent.get_by_role("status").first).to_contain_text(f"办件编号 {number}")
    expect(agent.get_by_test_id("query-code")).to_contain_text(re.compile(r"查询码：\d{8}"))
    expect(agent.locator("dl.facts")).to_contain_text("湖滨小馆")
    expect(agent.get_by_test_id("case-status")).to_have_text("待受理")

    # --- the window clerk asks once for a correction ----------------------
    clerk = person(clerk_name)
    _open_task(clerk, number, "受理")
    clerk.screenshot(path=str(SHOTS / "restaurant-task.png"), full_page=True)
    clerk.get_by_label(FAULTY, exact=True).check()
    clerk.get_by_label(f"{FAULTY}：问题说明").fill(PROBLEM)
    clerk.get_by_test_id("request-correction").click()
    expect(clerk.get_by_role("status")).to_contain_text("已一次性告知申请人补正")
    expect(clerk.get_by_test_id("inbox").get_by_role("row").filter(has_text=number)
           ).to_have_count(0)

    # --- the agent corrects and resubmits ---------------------------------
    _open_my_case(agent, number)
    expect(agent.get_by_test_id("case-status")).to_have_text("待补正")
    notice = agent.get_by_role("region", name="补正告知")
    expect(notice).to_contain_text(FAULTY)
    expect(notice).to_contain_text(PROBLEM)
    fixed = _pdf(tmp_path / "fixed.pdf", "lease contract, complete")
    notice.get_by_label(re.compile(FAULTY)).set_input_files(fixed)
    agent.get_by_test_id("submit-correction").click()
    expect(agent.get_by_role("status")).to_contain_text("补正材料已提交")
    expect(agent.get_by_test_id("case-status")).to_have_text("待受理")
    expect(agent.get_by_role("region", name="申请材料")).to_contain_text("fixed.pdf")

    # --- the clerk accepts -------------------------------------------------
    _open_task(clerk, number, "受理")
    clerk.get_by_test_id("approve").click()
    expect(clerk.get_by_role("status")).to_contain_text("已办理")

    # --- four reviewers, side by side --------------------------------------
    reviewers = [person(name) for name in reviewer_names]
    steps = ["主办机关审查"] + ["会同审查"] * len(joint)
    for page, step in zip(reviewers, steps, strict=True):
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="工作台").click()
        row = page.get_by_test_id("inbox").get_by_role("row").filter(has_text=number)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(step)
    for page in reviewers:
        page.reload()
        row = page.get_by_test_id("inbox").get_by_role("row").filter(has_text=number)
        row.get_by_role("link", name=number).click()
        expect(page.get_by_test_id("case-number")).to_have_text(number)
        page.get_by_test_id("opinion").fill("材料齐全，符合条件，同意。")
        page.get_by_test_id("approve").click()
        expect(page.get_by_role("status")).to_contain_text("已办理")

    # --- the head decides, the clerk delivers ------------------------------
    head = person(head_name)
    _open_task(head, number, "联合决定")
    head.get_by_test_id("approve").click()
    expect(head.get_by_role("status")).to_contain_text("已办理")

    _open_task(clerk, number, "送达")
    clerk.get_by_test_id("approve").click()
    expect(clerk.get_by_role("status")).to_contain_text("已办理")

    # --- the agent: closed, the certificate, its verification ---------------
    _open_my_case(agent, number)
    expect(agent.get_by_test_id("case-status")).to_contain_text("已办结")
    timeline = agent.get_by_test_id("timeline")
    for step in ("申请", "补正告知", "补正提交", "受理", "审核", "批准"):
        expect(timeline).to_contain_text(step)
    expect(timeline.get_by_role("listitem").filter(has_text="审核")).to_have_count(4)

    with agent.expect_download() as info:
        agent.get_by_test_id("certificate-download").click()
    certificate = Path(info.value.path()).read_bytes()
    assert certificate.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(certificate)).pages)
    assert COMPANY in text
    assert number in text

    agent.get_by_role("link", name="核验", exact=True).click()
    expect(agent.get_by_role("heading", level=1)).to_have_text("电子证照核验")
    expect(agent.get_by_test_id("verdict")).to_contain_text("证照真实有效")
    expect(agent.get_by_role("main")).to_contain_text(COMPANY)

    genuine = tmp_path / "certificate.pdf"
    genuine.write_bytes(certificate)
    agent.get_by_label("选择证照 PDF 文件").set_input_files(genuine)
    agent.get_by_role("button", name="核对").click()
    expect(agent.get_by_test_id("file-verdict")).to_contain_text("证照真实有效")
    agent.screenshot(path=str(SHOTS / "restaurant-verify.png"), full_page=True)

    altered = bytearray(certificate)
    middle = len(altered) // 2
    altered[middle] ^= 0x01
    forged = tmp_path / "certificate-altered.pdf"
    forged.write_bytes(bytes(altered))
    agent.get_by_label("选择证照 PDF 文件").set_input_files(forged)
    agent.get_by_role("button", name="核对").click()
    expect(agent.get_by_test_id("file-verdict")).to_contain_text("可能已被篡改")
    expect(agent.get_by_test_id("verdict")).to_contain_text("证照真实有效")
