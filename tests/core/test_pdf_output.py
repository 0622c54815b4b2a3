"""The certificate's shortcuts write the bytes fpdf2's own calls write.

The QR code goes onto the page as one piece of content instead of a
``pdf.rect`` call per run, and each glyph's data is trimmed once per
process instead of by fontTools' subsetter in every document.  Both are
held to the bytes of the plain way here.
"""

import pytest
from fontTools import subset
from fontTools.ttLib import getTableClass
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fpdf import FPDF

from tests.core.certificate_args import ARGS
from yizhan.core import pdf
from yizhan.core.qr import QUIET_ZONE, qr_matrix, qr_runs


def _page(draw) -> bytes:
    document = FPDF(orientation="P", unit="mm", format="A4")
    document.add_page()
    draw(document)
    return bytes(document.pages[1].contents)


def _qr_with_rect(document, url: str) -> None:
    """The QR code drawn with fpdf2's ``rect``, one call per run."""
    matrix = qr_matrix(url)
    module = pdf.QR_SIZE / (len(matrix) + 2 * QUIET_ZONE)
    with document.local_context(fill_color=(255, 255, 255)):
        document.rect(pdf.QR_X, pdf.QR_Y, pdf.QR_SIZE, pdf.QR_SIZE, style="F")
    with document.local_context(fill_color=(0, 0, 0)):
        for r, c, n in qr_runs(matrix):
            document.rect(pdf.QR_X + (c + QUIET_ZONE) * module,
                          pdf.QR_Y + (r + QUIET_ZONE) * module, n * module, module, style="F")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/verify/abc/",
    "https://zwfw.example.gov.cn/verify/Xq3v9LmZ0aB7cD2eF5gH8iJk/",
    "https://zwfw.example.gov.cn/verify/" + "Ab9-_" * 40,
])
def test_the_qr_code_is_the_content_rect_writes(url):
    assert _page(lambda document: pdf._qr(document, url)) == _page(
        lambda document: _qr_with_rect(document, url))


def _untrimmed(glyph_class, glyf, name, glyph_data):
    """A glyph's data as the font holds it, padding and all."""
    glyph = glyf.glyphs[name]
    data = getattr(glyph, "data", None)
    if data is None:
        data = glyph.compile(glyf, False) if glyph.numberOfContours else b""
    return data


@pytest.mark.parametrize("holder", [
    "示范市湖滨餐饮管理有限公司",
    "Café ℃ Ⅲ 示范餐饮",   # composite glyphs
    "李堃",                 # not in the everyday subset: drawn from the whole font
])
def test_glyphs_trimmed_once_embed_the_font_the_subsetter_trims(monkeypatch, holder):
    args = {**ARGS, "holder": holder}
    kept = pdf.render_certificate(**args)
    monkeypatch.setattr(pdf, "_glyph_data", _untrimmed)
    monkeypatch.setattr(pdf, "_trimmed_glyf_class", lambda: getTableClass("glyf"))
    assert pdf.render_certificate(**args) == kept


def test_without_hinting_the_subsetter_still_trims():
    # One contour of three points at the origin (no coordinates), then padding.
    padded = Glyph(b"\x00\x01" + b"\x00" * 8 + b"\x00\x02" + b"\x00\x00" + b"\x31" * 3
                   + b"\x00" * 3)
    length = len(padded.data)
    table = pdf._trimmed_glyf_class()("glyf")
    table.glyphs = {"a": padded}
    table.prune_post_subset(None, subset.Options(hinting=True))
    assert len(padded.data) == length   # trimmed when it was kept, not again
    table.prune_post_subset(None, subset.Options(hinting=False))
    assert len(padded.data) < length
