"""Certificates drawn with the process's cached fonts are the ones fpdf2 draws."""

import io
import logging
import shutil
from pathlib import Path

import pypdf
import pytest
from fontTools.ttLib import TTFont
from fpdf import FPDF

from tests.core.certificate_args import ARGS
from yizhan.core import pdf


def _uncached(monkeypatch, args=ARGS):
    def plain(document, family, font):
        FPDF.add_font(document, family, fname=font.path, collection_font_number=font.face)

    monkeypatch.setattr(pdf, "_add_font", plain)
    return pdf.render_certificate(**args)


def _font_file(data: bytes) -> TTFont:
    """The font the page embeds."""
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    [font] = page["/Resources"]["/Font"].values()
    descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
    return TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))


def _embedded(data: bytes) -> tuple[bytes, dict]:
    """The page's drawing operations, and each embedded glyph's outline and advance."""
    with _font_file(data) as face:
        glyf, hmtx = face["glyf"], face["hmtx"]
        glyphs = {name: (list(glyf[name].getCoordinates(glyf)[0]), hmtx[name])
                  for name in face.getGlyphOrder()}
    return pypdf.PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data(), glyphs


def test_cached_fonts_draw_what_fpdf_draws(monkeypatch):
    """The cached font path draws the same, first use or later.

    The bytes are not fpdf2's: its subset recompiles every glyph (to
    recompute bounding boxes the font already has right), the cached path
    copies each glyph's data as it is.  The page and the outlines are equal.
    """
    pdf._font_templates.clear()
    first = pdf.render_certificate(**ARGS)
    again = pdf.render_certificate(**ARGS)
    other = pdf.render_certificate(**{**ARGS, "holder": "示范市南港海鲜酒楼有限公司"})
    reference = _uncached(monkeypatch)
    assert first == again
    assert _embedded(first) == _embedded(reference)
    assert _embedded(other) != _embedded(reference)


def test_composite_glyphs_keep_their_parts(monkeypatch):
    """A composite glyph names its parts by glyph id, which the cut font renumbers."""
    args = {**ARGS, "holder": "Café ℃ Ⅲ 示范餐饮"}
    drawn = pdf.render_certificate(**args)
    with _font_file(drawn) as face:
        assert any(face["glyf"][name].isComposite() for name in face.getGlyphOrder())
    reference = _uncached(monkeypatch, args)
    assert _embedded(drawn) == _embedded(reference)


def test_documents_drawn_at_once_share_the_parsed_font():
    """Threads cut their documents' fonts from one parsed font and only read it."""
    from concurrent.futures import ThreadPoolExecutor

    pdf._font_templates.clear()
    holders = [f"示范市第{n}餐饮管理有限公司" for n in "一二三四五六七八"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda h: pdf.render_certificate(**{**ARGS, "holder": h}),
                                 holders))
    alone = [pdf.render_certificate(**{**ARGS, "holder": h}) for h in holders]
    assert together == alone


# --- the everyday subset -----------------------------------------------------------


@pytest.fixture
def fonts_used(monkeypatch):
    """The font files each render adds, in order."""
    used = []
    add = pdf._add_font

    def spy(document, family, font):
        used.append(font)
        add(document, family, font)

    monkeypatch.setattr(pdf, "_add_font", spy)
    return used


def _text(data: bytes) -> str:
    return "".join(pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text().split())


def test_everyday_text_is_drawn_from_the_reduced_font(fonts_used, settings):
    data = pdf.render_certificate(**ARGS)
    [font] = fonts_used
    whole = pdf.cjk_fonts()[0]
    assert font.path.startswith(str(settings.YIZHAN_CACHE_DIR))
    assert pdf._codepoints(font) < pdf._codepoints(whole)
    with TTFont(font.path, lazy=True) as reduced, \
            TTFont(whole.path, fontNumber=whole.face, lazy=True) as original:
        # The same outline for a character, whichever file it comes from.
        name = reduced.getBestCmap()[ord("证")]
        assert (reduced["glyf"][name].getCoordinates(reduced["glyf"])[0]
                == original["glyf"][original.getBestCmap()[ord("证")]]
                .getCoordinates(original["glyf"])[0])
    assert ARGS["holder"] in _text(data)


def test_the_everyday_subset_keeps_the_source_font_s_timestamps(fonts_used):
    """Built with the moment of the build inside, every certificate's bytes would
    change when the cache is rebuilt or on another machine: the same input must
    give the same bytes."""
    pdf.render_certificate(**ARGS)
    [font] = fonts_used
    whole = pdf.cjk_fonts()[0]
    with TTFont(font.path, lazy=True) as reduced, \
            TTFont(whole.path, fontNumber=whole.face, lazy=True) as original:
        assert (reduced["head"].created, reduced["head"].modified) == (
            original["head"].created, original["head"].modified)


def test_a_rare_character_is_drawn_from_the_whole_font(fonts_used, monkeypatch):
    """Cut from the whole font, too, the page and outlines are fpdf2's own."""
    whole = pdf.cjk_fonts()[0]
    rare = "堃"   # common in names, not in GB 2312
    if ord(rare) not in pdf._codepoints(whole):
        pytest.skip("the installed font lacks the character")
    args = {**ARGS, "holder": f"李{rare} Café ℃"}
    data = pdf.render_certificate(**args)
    assert fonts_used[0] == whole
    assert f"李{rare}" in _text(data)
    assert _embedded(data) == _embedded(_uncached(monkeypatch, args))


def _forget_everyday():
    pdf._everyday_path.cache_clear()
    pdf._everyday_unwritable.clear()


def test_without_a_writable_cache_the_whole_font_serves(fonts_used, settings, tmp_path,
                                                        caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.YIZHAN_CACHE_DIR = blocker
    _forget_everyday()
    try:
        with caplog.at_level(logging.WARNING, logger="yizhan.core.pdf"):
            data = pdf.render_certificate(**ARGS)
            again = pdf.render_certificate(**ARGS)
    finally:
        _forget_everyday()
    assert fonts_used[0] == fonts_used[1] == pdf.cjk_fonts()[0]
    assert caplog.text.count("everyday font subset") == 1   # not tried again
    assert ARGS["holder"] in _text(data) and ARGS["holder"] in _text(again)


def test_an_emptied_cache_is_filled_again(fonts_used, settings, tmp_path):
    """Deleting the cache while the platform runs costs a rebuild, not a failure."""
    settings.YIZHAN_CACHE_DIR = tmp_path / "cache"
    _forget_everyday()
    try:
        pdf.render_certificate(**ARGS)
        built = Path(fonts_used[0].path)
        assert built.is_file() and built.is_relative_to(tmp_path)
        shutil.rmtree(tmp_path / "cache")
        data = pdf.render_certificate(**ARGS)
    finally:
        _forget_everyday()
    assert fonts_used[1] == fonts_used[0] and built.is_file()
    assert ARGS["holder"] in _text(data)
