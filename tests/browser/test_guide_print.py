"""The 办事指南 as it is printed and read on a phone, in a real browser.

An enterprise agent prints the guide to bring to the window (A4, the
printable view rendered with ``page.pdf()``); an older citizen reads it on a
390 px phone in large text, or presses Ctrl+P on the guide page itself.
"""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from tests.catalog.helpers import attach, create, pdf_bytes, publish
from yizhan.catalog.models import Item
from yizhan.portal.context_processors import DISPLAY_COOKIE

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# The printable view's content box on A4 (210 mm less print.css's 2 × 16 mm), and the
# guide page's under Chromium's default print margins (210 mm less 2 × 0.4 in).
A4_PRINTABLE = {"width": 673, "height": 1000}
A4_DEFAULT_MARGINS = {"width": 718, "height": 1000}
EXTERNAL_FORM = "https://zwfw.example.gov.cn/forms/social-org-application.pdf"


def _guide_item(world, *, materials=None, fees=None, **overrides):
    """A published item of agency A with a PDF blank form on its first material;
    its implementation code."""
    materials = materials or [
        {"name": "社会团体成立登记申请书", "forms": ["original", "electronic"],
         "acceptance_standard": "法定代表人签字并加盖公章"},
        {"name": "章程草案", "forms": ["original"], "blank_form": EXTERNAL_FORM,
         "acceptance_standard": "经会员大会或会员代表大会通过"},
        {"name": "业务主管单位的批准文件", "forms": ["copy"], "necessity": "conditional",
         "condition": "法律法规规定须经批准的", "source": "government",
         "acceptance_standard": "批准文件在有效期内"},
    ]
    version = create(world, "社会团体成立登记", basic_code="XK00101000", materials=materials,
                     fees=fees or [], **overrides)
    attach(world, version, pdf_bytes("print"), name="社会团体成立登记申请书.pdf")
    publish(world, version)
    return Item.objects.get(pk=version.item_id).impl_code


def _context(browser, site, *, locale="zh-CN", viewport=None, large=False, phone=False):
    context = browser.new_context(base_url=site.url, locale=locale, viewport=viewport,
                                  is_mobile=phone, has_touch=phone,
                                  timezone_id="Asia/Shanghai")
    cookies = [{"name": "django_language", "value": "en" if locale == "en" else "zh-hans",
                "url": site.url}]
    if large:
        cookies.append({"name": DISPLAY_COOKIE, "value": "large", "url": site.url})
    context.add_cookies(cookies)
    return context


def _pages_text(pdf: bytes) -> list[list[str]]:
    """The printed PDF's pages, each as its non-blank lines of text."""
    return [[line.strip() for line in page.extract_text().splitlines() if line.strip()]
            for page in PdfReader(io.BytesIO(pdf)).pages]


def _printable(code: str) -> str:
    return reverse("catalog:guide", args=[code]) + "?print=1"


# --- links on paper -----------------------------------------------------------------


def test_the_printed_guide_says_where_each_link_leads(browser, site):
    """On paper a link is its text only: 空白表格：社会团体成立登记申请书.pdf（PDF 0.1 KB）
    had no address to download it from, and a form linked elsewhere printed as
    the bare word 下载.  Each is followed by its absolute address."""
    code = _guide_item(site.world)
    context = _context(browser, site)
    try:
        tab = context.new_page()
        tab.goto(_printable(code))
        tab.emulate_media(media="print")
        text = "".join("".join(page) for page in _pages_text(tab.pdf(format="A4")))
    finally:
        context.close()
    assert "/services/files/" in text.replace(" ", "")
    assert "zwfw.example.gov.cn" in text.replace(" ", "")


# --- page breaks ----------------------------------------------------------------------

# Lines added before 申请材料 move the heading and the table down the first pages,
# so that some of the layouts put a heading, or a row, across a page's end.
PADDINGS = range(0, 40, 2)
FILL = "\n".join(f"（{n}）具有与申请事项相适应的条件。" for n in range(60))


def _printed_with_padding(tab, lines: int) -> list[list[str]]:
    tab.evaluate(
        """([fill, lines]) => {
             const p = [...document.querySelectorAll('h2')].find(h => h.nextElementSibling
                       && h.nextElementSibling.tagName === 'P').nextElementSibling;
             p.textContent = fill.split('\\n').slice(0, lines).join('\\n');
           }""", [FILL, lines])
    return _pages_text(tab.pdf(format="A4"))


def test_no_printed_page_ends_with_a_heading(browser, site):
    """No page ends with 申请材料 (or 咨询与投诉) and starts the next with its
    table, as the demo's 开办餐饮店“一件事” and 不动产转移登记 once printed."""
    code = _guide_item(site.world, limit_notes="现场核查时间不计入办理时限")
    context = _context(browser, site)
    orphaned, pages_seen = [], {}
    try:
        tab = context.new_page()
        tab.goto(_printable(code))
        tab.emulate_media(media="print")
        headings = set(tab.eval_on_selector_all("main h2", "hs => hs.map(h => h.textContent)"))
        for lines in PADDINGS:
            tab.reload()
            pages = pages_seen[lines] = _printed_with_padding(tab, lines)
            orphaned += [(lines, n) for n, page in enumerate(pages[:-1])
                         if page and page[-1] in headings]
    finally:
        context.close()
    assert orphaned == [], [(lines, n, pages_seen[lines][n][-3:]) for lines, n in orphaned]


def test_no_material_row_is_split_across_printed_pages(browser, site):
    """A row of 申请材料 is not broken across pages (its name on one, its 依据 and
    the rest of its acceptance standard on the next).  Each row here starts with
    起N and ends with 止N; both must be on one page."""
    materials = [{"name": f"起{n} 申请材料{n}", "forms": ["original", "copy"],
                  "acceptance_standard": "\n".join(["须加盖公章，与原件一致"] * 6) + f"\n止{n}"}
                 for n in range(1, 9)]
    code = _guide_item(site.world, materials=materials)
    context = _context(browser, site)
    split = []
    try:
        tab = context.new_page()
        tab.goto(_printable(code))
        tab.emulate_media(media="print")
        for lines in PADDINGS:
            tab.reload()
            pages = ["".join(page).replace(" ", "") for page in _printed_with_padding(tab, lines)]
            for n in range(1, 9):
                start = next(i for i, text in enumerate(pages) if f"起{n}" in text)
                if f"止{n}" not in pages[start]:
                    split.append((lines, n))
    finally:
        context.close()
    assert split == []


# --- the English printout -------------------------------------------------------------

# A printed address (.address) is no word: it may break anywhere, and a file's
# 64-digit digest must break somewhere.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('table th, table td')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('.address')) continue;
      for (const m of node.data.matchAll(/[A-Za-z]{2,}/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def test_the_english_printout_breaks_no_word_in_the_middle(browser, site):
    """With overflow-wrap: anywhere on every th and td a table squeezed its
    columns to a letter or two: on A4 the English guide read Seque/nce/num/ber,
    For/m, Num/ber/of/copie/s, Orig/inal, Elect/ronic."""
    code = _guide_item(site.world)
    context = _context(browser, site, locale="en", viewport=A4_PRINTABLE)
    try:
        tab = context.new_page()
        tab.goto(_printable(code))
        tab.emulate_media(media="print")
        broken = tab.evaluate(BROKEN_WORDS)
    finally:
        context.close()
    assert broken == []


# --- the printable view and the guide on a phone ---------------------------------------

NARROW_CELLS = """() => [...document.querySelectorAll('table th, table td')]
  .filter(c => c.getBoundingClientRect().width > 0
               && c.getBoundingClientRect().width < 4 * parseFloat(getComputedStyle(c).fontSize))
  .map(c => c.textContent.trim().slice(0, 12))"""


@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_the_printable_view_on_a_phone_keeps_its_columns_readable(browser, site, large):
    """打印版 opened on a 390 px phone (to save or share the guide) takes the
    portal's narrow-screen layout: the seven columns of 申请材料 were squeezed
    to one or two characters each (序/号, 份/数, 原/件/、/电/子/件)."""
    code = _guide_item(site.world)
    context = _context(browser, site, viewport=PHONE, large=large, phone=True)
    try:
        tab = context.new_page()
        tab.goto(_printable(code))
        narrow = tab.evaluate(NARROW_CELLS)
    finally:
        context.close()
    assert narrow == []


def test_the_fee_table_on_a_phone_shows_whether_each_fee_can_be_waived(browser, site):
    """On a 390 px phone in large text 收费 is stacked as 申请材料 is (a block per
    fee): its 可减免 column lay off the screen, in a box that scrolls sideways,
    where an older citizen does not look.  Its grounds (减免依据) are a block of
    the fee like the others."""
    code = _guide_item(site.world, fees=[{
        "name": "不动产登记费（住宅类）", "standard": "每件 80 元", "amount": "80",
        "basis": "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》"
                 "（发改价格规〔2016〕2559号）", "waivable": True,
        "waiver_basis": "保障性住房登记免收：《财政部 国家发展改革委关于不动产登记收费有关政策"
                        "问题的通知》（财税〔2016〕79号）"}])
    context = _context(browser, site, viewport=PHONE, large=True, phone=True)
    try:
        tab = context.new_page()
        tab.goto(reverse("catalog:guide", args=[code]))
        cells = tab.eval_on_selector_all(
            "table", """tables => tables.filter(t => t.textContent.includes('不动产登记费'))
                          .flatMap(t => [...t.querySelectorAll('td')])
                          .map(td => Math.round(td.getBoundingClientRect().right))""")
        width = tab.evaluate("document.documentElement.clientWidth")
        grounds = tab.locator("td", has_text="财税〔2016〕79号").evaluate(
            "td => [td.dataset.label, getComputedStyle(td).display]")
    finally:
        context.close()
    assert cells and max(cells) <= width, (cells, width)
    assert grounds == ["减免依据", "block"]


# --- Ctrl+P on the guide page itself ---------------------------------------------------

CLIPPED = """() => ({
  clipped: [...document.querySelectorAll('.table-scroll')]
             .filter(box => box.scrollWidth > box.clientWidth + 1)
             .map(box => `${box.getAttribute('aria-label')} ${box.scrollWidth}>${box.clientWidth}`),
  navigation: [...document.querySelectorAll('header, nav, .actions, footer')]
                .filter(e => e.getClientRects().length > 0).map(e => e.tagName + '.' + e.className),
})"""


def test_printing_the_guide_page_in_large_text_cuts_off_no_column(browser, site):
    """An older citizen in large-text mode prints the guide page itself (Ctrl+P):
    the header, the menu and the buttons are not printed, the text is the
    standard size, and the materials table, no longer in its sideways scrolling
    box, keeps its right-hand columns (受理标准) on the paper."""
    code = _guide_item(site.world)
    context = _context(browser, site, viewport=A4_DEFAULT_MARGINS, large=True)
    try:
        tab = context.new_page()
        tab.goto(reverse("catalog:guide", args=[code]))
        tab.emulate_media(media="print")
        found = tab.evaluate(CLIPPED)
    finally:
        context.close()
    assert found == {"clipped": [], "navigation": []}
