"""PDF electronic certificates (电子证照) with Chinese text, a seal and a QR code.

``render_certificate`` lays out one A4 page: a bordered certificate with
its title, number, holder and fields, the issuing agency and date under a
red round seal, and a QR code that leads to the public verification page.
Everything is drawn locally with fpdf2: the seal is vector graphics, the QR
code is vector rectangles from ``yizhan.core.qr``, and the text uses a CJK
font from Debian's packages, embedded as a subset so that the file looks
the same in every reader.  Nothing is fetched at run time.

The drawn seal is a picture, not the signature: the certificate's
authenticity rests on the agency's signature over the SM3 digest of these
exact bytes (``yizhan.audit.signing``), which the verification page checks.

Fonts: AR PL UMing (Debian's ``fonts-arphic-uming``), a Ming/Song serif as
official documents use, is preferred; the WenQuanYi fonts serve when it is
missing, and another font found is added as a fallback only when the text
has characters the first lacks (rare characters in names, which the
HanaMin fonts of ``fonts-hanazono`` cover as far as CJK Extension F).
``settings.YIZHAN_PDF_FONT`` may name another TrueType file (``path``, or
``path#face`` for a collection), tried first.  A text with a character that
no font has is refused (``CjkCharactersMissing``): a certificate is never
drawn without it.
"""

import logging
import math
import os
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from yizhan.core.qr import QUIET_ZONE, qr_matrix, qr_runs

# The Debian package that setup installs; named in the error when no font
# is found.
FONT_PACKAGE = "fonts-arphic-uming"

log = logging.getLogger(__name__)

# fontTools warns on every render that it drops UMing's bitmap strikes
# (table "BDF "), which a subset for print does not need.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


@dataclass(frozen=True)
class FontFile:
    path: str
    face: int
    package: str


# In order of preference.  fpdf2 embeds TrueType outlines (glyf), so the
# CFF-based Noto CJK collections are not listed.
FONT_CANDIDATES = (
    FontFile("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming"),
    FontFile("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei"),
    FontFile("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "fonts-wqy-microhei"),
    # Fallbacks only, for rare characters in names: between them the two
    # HanaMin files have the CJK unified ideographs up to Extension F
    # (𠮷 and its like, which UMing and WenQuanYi lack).  Their Japanese
    # Mincho design would not do for the whole page.
    FontFile("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf", 0, "fonts-hanazono"),
    FontFile("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf", 0, "fonts-hanazono"),
)
# The package of the fallback fonts, named when a character is in no font.
FALLBACK_FONT_PACKAGE = "fonts-hanazono"


class CjkFontMissing(ImproperlyConfigured):
    pass


class CjkCharactersMissing(CjkFontMissing):
    """Characters of a document that no installed font has.

    fpdf2 leaves out a character its fonts lack, without a word: a
    certificate for 吉𠮷 would name its holder 吉, and be signed as genuine.
    Such a document is refused instead.  ``characters`` are the missing
    characters, in code point order.
    """

    def __init__(self, characters):
        self.characters = "".join(sorted(set(characters)))
        points = "、".join(f"U+{ord(ch):04X}" for ch in self.characters)
        super().__init__(
            f"已安装的字体都没有字符“{self.characters}”（{points}），不能生成缺字的文档。"
            f"请安装 {FALLBACK_FONT_PACKAGE}（apt-get install {FALLBACK_FONT_PACKAGE}）"
            "或含有这些字符的字体（YIZHAN_PDF_FONT）。/ "
            f"No installed font has the characters {self.characters} ({points}); "
            "a document is not drawn without them. Install Debian's "
            f"{FALLBACK_FONT_PACKAGE} package, or set YIZHAN_PDF_FONT to a TrueType "
            "font that has them."
        )


def cjk_fonts() -> list[FontFile]:
    """The CJK fonts present on this machine, preferred first."""
    found = []
    configured = getattr(settings, "YIZHAN_PDF_FONT", "")
    if configured:
        path, _, face = configured.partition("#")
        if not os.path.isfile(path):
            raise CjkFontMissing(f"YIZHAN_PDF_FONT 指定的字体文件 {path!r} 不存在 / "
                                 f"YIZHAN_PDF_FONT names {path!r}, which does not exist.")
        found.append(FontFile(path, int(face or 0), "YIZHAN_PDF_FONT"))
    found.extend(font for font in FONT_CANDIDATES if os.path.isfile(font.path))
    if not found:
        raise CjkFontMissing(
            f"找不到生成电子证照所需的中文字体，请安装 {FONT_PACKAGE}（apt-get install "
            f"{FONT_PACKAGE}）或设置 YIZHAN_PDF_FONT。/ "
            "No Chinese (CJK) font for PDF certificates was found. Install Debian's "
            f"{FONT_PACKAGE} package (apt-get install {FONT_PACKAGE}), or set "
            "YIZHAN_PDF_FONT to the path of a TrueType CJK font."
        )
    return found


def check_cjk_font(app_configs=None, **kwargs):
    """System check: certificates cannot be rendered without a CJK font."""
    from django.core.checks import Error

    try:
        cjk_fonts()
    except CjkFontMissing as exc:
        return [Error(str(exc), hint=f"apt-get install {FONT_PACKAGE}", id="core.E010")]
    return []


# Layout, in millimetres on an A4 portrait page.  Tests read the QR box.
PAGE_W, PAGE_H = 210.0, 297.0
QR_X, QR_Y, QR_SIZE = 28.0, 204.0, 34.0
SEAL_R = 21.0
SEAL_CX, SEAL_CY = 150.0, 222.0
# The issuer's name and the date sit left of the seal's centre, so that the
# seal covers the end of the name and straddles the date (骑年盖月), as an
# agency stamps a paper certificate.
ISSUER_CX = 140.0
# The 发证机关 line keeps to this width about ISSUER_CX: clear of the QR code
# on its left and of the frame on its right.  A long name is set smaller,
# then in lines stacked upwards from the usual baseline, below the table.
ISSUER_W = 100.0
ISSUER_BASELINE = SEAL_CY - 7
TABLE_X, TABLE_RIGHT = 30.0, 180.0
TABLE_TOP, TABLE_BOTTOM = 74.0, 194.0
# The title: one line on TITLE_BASELINE, inside the frame (14.2 mm from
# the page's edges) with a margin.  A long one (an item's name and 决定书)
# is set smaller; one too long at TITLE_LINE_MIN pt is wrapped by character,
# its lines stacked upwards from TITLE_LAST_BASELINE, above the subtitle.
TITLE_W = 170.0
TITLE_BASELINE, TITLE_LAST_BASELINE, TITLE_TOP = 44.0, 47.0, 28.0
TITLE_SIZE, TITLE_LINE_MIN, TITLE_MIN = 30.0, 18.0, 9.0

INK = (28, 28, 28)
MUTED = (96, 96, 96)
FRAME = (150, 28, 32)
GOLD = (190, 150, 80)
RULE = (214, 200, 180)
WATERMARK = (246, 236, 222)
SEAL_RED = (222, 24, 32)

SUBTITLE = "（电子证照）"
QR_CAPTION = "扫码核验真伪"
FOOTER = ("本证照由一站政务服务平台签发，并经发证机关电子签名。"
          "扫描二维码或访问二维码下方网址可核验真伪。")
HOLDER_LABEL = "持证人"

_FAMILY = "cjk"
_PT = 25.4 / 72  # millimetres per point


@lru_cache(maxsize=8)
def _codepoints(font: FontFile) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(font.path, fontNumber=font.face, lazy=True) as face:
        return frozenset(face.getBestCmap())


# Parsed fonts, one per font file, face and family, kept for the life of the process,
# each with the data of the glyphs documents have used, ready to embed (``_glyph_data``).
_font_templates: dict[tuple[str, int, str], tuple[object, dict[str, bytes]]] = {}
_font_lock = threading.Lock()

# The tables a document's font is made of.  The glyph tables (glyf, loca,
# hmtx, cmap, post) are cut to the document's glyphs; these are copied
# whole.  Vertical metrics, bitmaps and layout tables are left out: the
# page sets horizontal text, and fpdf2 drops the layout tables too.
_COPIED_TABLES = ("head", "hhea", "maxp", "OS/2", "name", "gasp", "cvt ", "fpgm", "prep")


def _template(font: FontFile, family: str) -> tuple[object, dict[str, bytes]]:
    """fpdf2's parsed font for ``font``, made once per process, and its glyph data.

    Every table a document's font is cut from is read here, under the
    lock, so that documents on other threads only ever read them.  The
    second value gathers each glyph's data as documents come to use it
    (``_glyph_data``).
    """
    from fpdf import FPDF

    key = (font.path, font.face, family)
    kept = _font_templates.get(key)
    if kept is None:
        with _font_lock:
            kept = _font_templates.get(key)
            if kept is None:
                scratch = FPDF()
                scratch.add_font(family, fname=font.path, collection_font_number=font.face)
                template = scratch.fonts[family.lower()]
                face = template.ttfont
                for tag in ("glyf", "loca", "hmtx", "cmap", "post", *_COPIED_TABLES):
                    if tag in face:
                        face[tag]
                kept = _font_templates[key] = (template, {})
    return kept


def _glyph_subset(face, names: list[str], codepoints: set[int], glyph_data: dict[str, bytes]):
    """A TrueType font of just ``names`` (and their components), cut from ``face``.

    ``face`` is only read.  Each glyph's data is copied as it is: fontTools'
    own subsetter would first decode the whole font's glyph, metrics, name
    and character tables, which took three quarters of a certificate's
    rendering, to keep a hundred or two of its glyphs.  ``glyph_data`` keeps
    each glyph's data for the next document (``_glyph_data``).
    """
    import copy

    from fontTools.ttLib import TTFont, newTable
    from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
    from fontTools.ttLib.tables._g_l_y_f import Glyph

    glyf = face["glyf"]
    order = face.getGlyphOrder()
    # .notdef, .null, CR and space, as fpdf2's subset keeps them.
    wanted = set(order[:4]) | set(names)
    pending = list(wanted)
    while pending:   # the parts of composite glyphs
        source = glyf.glyphs[pending.pop()]
        if source.isComposite():
            for part in source.getComponentNames(glyf):
                if part not in wanted:
                    wanted.add(part)
                    pending.append(part)
    kept = sorted(wanted, key=face.getGlyphID)

    subset = TTFont(recalcBBoxes=False, recalcTimestamp=False)
    subset.setGlyphOrder(kept)
    for tag in _COPIED_TABLES:
        if tag in face:
            subset[tag] = copy.deepcopy(face[tag])
    table = subset["glyf"] = _trimmed_glyf_class()("glyf")
    table.glyphOrder = kept
    table.glyphs = {name: _raw_glyph(Glyph, glyf, name, glyph_data) for name in kept}
    subset["loca"] = newTable("loca")
    metrics = face["hmtx"].metrics
    table = subset["hmtx"] = newTable("hmtx")
    table.metrics = {name: metrics[name] for name in kept}
    table = subset["cmap"] = newTable("cmap")
    table.tableVersion = 0
    table.tables = []
    for source in face["cmap"].tables:
        if source.format in (4, 12) and source.isUnicode():
            part = CmapSubtable.newSubtable(source.format)
            part.platformID, part.platEncID, part.language = (
                source.platformID, source.platEncID, source.language)
            part.cmap = {point: source.cmap[point] for point in codepoints
                         if point in source.cmap and (source.format == 12 or point <= 0xFFFF)}
            table.tables.append(part)
    post = face["post"]
    table = subset["post"] = newTable("post")
    table.formatType = 3.0   # no glyph names: the embedded subset drops them anyway
    for field in ("italicAngle", "underlinePosition", "underlineThickness", "isFixedPitch",
                  "minMemType42", "maxMemType42", "minMemType1", "maxMemType1"):
        setattr(table, field, getattr(post, field))
    return subset


def _raw_glyph(glyph_class, glyf, name: str, glyph_data: dict[str, bytes]):
    """A new glyph object with the data of the glyph ``name``.

    A composite glyph names its parts by glyph id, which the subset
    renumbers: it is expanded against the whole font, so that its parts
    are known by name and numbered afresh when the subset is written.
    """
    copied = glyph_class(_glyph_data(glyph_class, glyf, name, glyph_data))
    if copied.isComposite():
        copied.expand(glyf)
    return copied


def _glyph_data(glyph_class, glyf, name: str, glyph_data: dict[str, bytes]) -> bytes:
    """The data of the glyph ``name`` as fpdf2's subsetter leaves it, kept in ``glyph_data``.

    The subsetter trims each glyph's data (the padding after its last
    coordinate) by walking its flags, for every document: most of its
    time on a certificate.  Trimmed here once per glyph and process, the
    data is the same, and the document's glyph table skips the walk
    (``_trimmed_glyf_class``).  Threads may both trim a glyph the first
    time; they store equal bytes.
    """
    data = glyph_data.get(name)
    if data is None:
        glyph = glyf.glyphs[name]
        data = getattr(glyph, "data", None)
        if data is None:   # a glyph the template expanded
            data = glyph.compile(glyf, False) if glyph.numberOfContours else b""
        if data:   # an empty glyph has nothing to trim
            trimmed = glyph_class(data)
            trimmed.trim()
            data = trimmed.data
        data = glyph_data[name] = bytes(data)
    return data


@lru_cache(maxsize=1)
def _trimmed_glyf_class():
    """The glyph table of a document's font, whose glyph data is trimmed already.

    fontTools' subsetter (which fpdf2 runs on the document's font when it
    writes the PDF) ends by trimming every glyph's data; with the hinting
    kept, as fpdf2 keeps it, that is a walk over each glyph's flags that
    changes nothing here.  With the hinting removed it runs as usual.
    """
    from fontTools import subset  # noqa: F401  (adds the subsetting methods to the tables)
    from fontTools.ttLib import getTableClass

    class TrimmedGlyf(getTableClass("glyf")):
        def prune_post_subset(self, font, options):
            if options.hinting:
                return True
            return super().prune_post_subset(font, options)

    return TrimmedGlyf


@lru_cache(maxsize=1)
def _document_font_class():
    # Made on first use: fpdf2 is imported only by the processes that draw.
    from fpdf.fonts import TTFFont

    class DocumentFont(TTFFont):
        """One document's use of a parsed font; its embedded font is made at output.

        fpdf2 reads ``ttfont`` only when it writes the PDF, to cut the
        subset it embeds.  By then the document's glyphs are known, and a
        font of just those is cut from the parsed template.
        """

        __slots__ = ("_face", "_glyph_data", "_template_face")

        @property
        def ttfont(self):
            if self._face is None:
                codepoints = set()
                for glyph, _char_id in self.subset.items():
                    if glyph is not None:
                        unicode = glyph.unicode
                        codepoints.update(unicode if isinstance(unicode, tuple) else (unicode,))
                self._face = _glyph_subset(self._template_face,
                                           self.subset.get_all_glyph_names(), codepoints,
                                           self._glyph_data)
            return self._face

        @ttfont.setter
        def ttfont(self, face):
            self._face = face

    return DocumentFont


def _add_font(pdf, family: str, font: FontFile) -> None:
    """``pdf.add_font``, without parsing the font file again for every document.

    fpdf2 parses the whole font (glyph table, metrics, character map) for
    each document, and parses it again when it cuts the subset to embed.
    The parsed font is kept for the process; each document gets a copy
    with its own glyph subset, whose embedded font is cut from the kept
    tables (``_glyph_subset``).  The page and the glyph outlines are those
    of fpdf2's own path (tests/core/test_pdf_fonts.py).
    """
    from fpdf.fonts import SubsetMap, TTFFont

    template, glyph_data = _template(font, family)
    document_class = _document_font_class()
    document = document_class.__new__(document_class)
    for slot in TTFFont.__slots__:
        if slot != "ttfont" and hasattr(template, slot):
            setattr(document, slot, getattr(template, slot))
    document._template_face = template.ttfont
    document._glyph_data = glyph_data
    document._face = None
    document.i = len(pdf.fonts) + 1
    document.missing_glyphs = []
    document.glyph_ids = dict(template.glyph_ids)
    document.subset = SubsetMap(document)
    document._hbfont = None
    document.biggest_size_pt = 0
    pdf.fonts[family.lower()] = document


# --- the everyday subset ------------------------------------------------------
#
# Each process parses the font it draws from once and keeps it (above).
# UMing has 27,000 glyphs: parsed, that is about 90 MB of a worker's memory
# and most of a second on its first certificate.  A copy of the font cut
# down once to the characters of everyday text (GB 2312, ASCII and the
# punctuation official documents use, some 7,500 glyphs) takes about 55 MB
# and a third of the time; a document with a character outside it (a rare
# character in a name) is drawn from the whole font, which is then parsed
# too.  The glyphs are the same outlines either way.

EVERYDAY_VERSION = 2   # part of the cached file's name: raise it to rebuild


def _everyday_codepoints() -> frozenset[int]:
    points = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    points |= set(range(0x2010, 0x2040)) | set(range(0x3000, 0x3040))
    points |= set(range(0xFF01, 0xFF5F))
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(points)


# Fonts whose everyday subset could not be written: not tried again per document.
_everyday_unwritable: set[FontFile] = set()


@lru_cache(maxsize=8)
def _everyday_path(font: FontFile) -> Path:
    stat = os.stat(font.path)
    name = (f"{Path(font.path).stem}-{font.face}-{stat.st_size}-{int(stat.st_mtime)}"
            f"-everyday{EVERYDAY_VERSION}.ttf")
    return Path(settings.YIZHAN_CACHE_DIR) / "fonts" / name


def _everyday_font(font: FontFile) -> FontFile | None:
    """The everyday subset of ``font``, built into the cache directory when missing.

    Looked for on every document, so a cache directory emptied while the
    platform runs is filled again, not failed on.  None when it cannot be
    written there (the whole font serves instead).
    """
    path = _everyday_path(font)
    if not path.is_file():
        if font in _everyday_unwritable:
            return None
        with _font_lock:
            if not path.is_file():
                try:
                    _build_everyday_font(font, path)
                except OSError as exc:
                    log.warning("cannot write the everyday font subset to %s (%s); "
                                "PDFs use the whole font", path, exc)
                    _everyday_unwritable.add(font)
                    return None
    return FontFile(str(path), 0, font.package)


def _build_everyday_font(font: FontFile, path: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    # Glyph names are kept: fpdf2 subsets each document by name.  Tables
    # fpdf2 drops from every embedded subset are dropped here already.
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True,
                             ignore_missing_glyphs=True, ignore_missing_unicodes=True)
    options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta",
                            "EBDT", "EBLC", "EBSC"]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        # The source font's timestamps are kept (not the moment of the build):
        # the same input gives the same bytes on every machine and after
        # the cache is rebuilt.
        with TTFont(font.path, fontNumber=font.face, lazy=True,
                    recalcTimestamp=False) as face:
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=_everyday_codepoints())
            subsetter.subset(face)
            face.save(partial)
        # Another process may be building the same file: whole files only.
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _inked(ch: str) -> bool:
    """Whether ``ch`` is drawn with a glyph of its own.

    Spaces, control and format characters (a zero-width space) and
    variation selectors have no ink: a font need not map them, and a
    document drawn without them reads the same.
    """
    if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"):
        return False
    point = ord(ch)
    return not (0xFE00 <= point <= 0xFE0F or 0xE0100 <= point <= 0xE01EF)


def use_cjk_fonts(pdf, family: str, text: str) -> None:
    """Give ``pdf`` the font family ``family`` for ``text``, in Chinese.

    ``text`` must hold every character the document draws.  The everyday
    subset of the first font serves when it has them all; loading a CJK
    font takes a quarter of a second, so a fallback font is loaded only
    when the text has characters the first font lacks.  A character that
    no font has raises ``CjkCharactersMissing``.
    """
    fonts = cjk_fonts()
    wanted = {ord(ch) for ch in text if _inked(ch)}
    everyday = _everyday_font(fonts[0])
    if everyday is not None and wanted <= _codepoints(everyday):
        # Cut from the first font: nothing is missing, and the whole font's
        # character map (a tenth of a second, 10 MB) need not be read.
        _add_font(pdf, family, everyday)
        return
    _add_font(pdf, family, fonts[0])
    missing = wanted - _codepoints(fonts[0])
    fallbacks = []
    for n, font in enumerate(fonts[1:], start=1):
        if missing & _codepoints(font):
            _add_font(pdf, f"{family}{n}", font)
            fallbacks.append(f"{family}{n}")
            missing -= _codepoints(font)
    if missing:
        raise CjkCharactersMissing(map(chr, missing))
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks)


def new_document(*, title: str, text: str, created_at: datetime, creator: str,
                 author: str = "", subject: str = "", margins=(0.0, 0.0, 0.0)):
    """A one-page A4 document with the CJK fonts that ``text`` needs.

    The metadata and creation date are given, never read from the clock:
    the same input gives the same bytes.  ``margins`` are left, top, right.
    """
    from fpdf import FPDF

    cjk_fonts()   # says which package to install, before anything is drawn
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(*margins)
    use_cjk_fonts(pdf, _FAMILY, text)
    pdf.set_title(title)
    if author:
        pdf.set_author(author)
    if subject:
        pdf.set_subject(subject)
    pdf.set_creator(creator)
    pdf.set_producer("Yizhan")
    pdf.set_creation_date(created_at)
    pdf.set_lang("zh-CN")
    pdf.add_page()
    return pdf


def chinese_date(at: datetime) -> str:
    """``2026年3月5日`` in the platform's time zone."""
    local = timezone.localtime(at) if timezone.is_aware(at) else at
    return f"{local.year}年{local.month}月{local.day}日"


def _frame(pdf) -> None:
    """A double border with corner marks and a faint rosette in the middle."""
    with pdf.local_context(draw_color=WATERMARK, line_width=0.25):
        cx, cy = PAGE_W / 2, 138.0
        for i in range(24):
            angle = 2 * math.pi * i / 24
            pdf.circle(cx + 17 * math.cos(angle), cy + 17 * math.sin(angle), 34)
    with pdf.local_context(draw_color=FRAME, line_width=1.4):
        pdf.rect(10, 10, PAGE_W - 20, PAGE_H - 20)
    with pdf.local_context(draw_color=GOLD, line_width=0.35):
        pdf.rect(13, 13, PAGE_W - 26, PAGE_H - 26)
        pdf.rect(14.2, 14.2, PAGE_W - 28.4, PAGE_H - 28.4)
    with pdf.local_context(fill_color=FRAME):
        for x, y in ((13, 13), (PAGE_W - 13, 13), (13, PAGE_H - 13), (PAGE_W - 13, PAGE_H - 13)):
            pdf.polygon([(x, y - 3), (x + 3, y), (x, y + 3), (x - 3, y)], style="F")


def _centered(pdf, text: str, y: float, *, cx: float = PAGE_W / 2) -> None:
    pdf.text(cx - pdf.get_string_width(text) / 2, y, text)


def _spread(pdf, text: str, x: float, y: float, width: float) -> None:
    """Write ``text`` on one baseline, its characters spread over ``width``.

    Form labels of unequal length line up this way (持　证　人 above
    法定代表人), as on printed certificates.
    """
    natural = pdf.get_string_width(text)
    if len(text) < 2 or natural >= width:
        pdf.text(x, y, text)
        return
    gap = (width - natural) / (len(text) - 1)
    for ch in text:
        pdf.text(x, y, ch)
        x += pdf.get_string_width(ch) + gap


def _fitted(pdf, text: str, *, width: float, largest: float, line_min: float,
            smallest: float, top: float, baseline: float) -> tuple[float, list[str]]:
    """The size and the lines to set ``text`` in ``width``.

    One line if it fits at some size from ``largest`` down to ``line_min``
    (in half points); otherwise lines wrapped by character at ``line_min``,
    set smaller, down to ``smallest``, only while the lines (the last on
    ``baseline``) would reach above ``top``.  ValueError when even that does
    not fit.  Leaves the font at the size found.
    """
    size = largest
    while size >= line_min:
        pdf.set_font(_FAMILY, size=size)
        if pdf.get_string_width(text) <= width:
            return size, [text]
        size -= 0.5
    size = line_min
    while size >= smallest:
        pdf.set_font(_FAMILY, size=size)
        lines = _wrapped(pdf, text, width)
        if baseline - (len(lines) - 1) * _leading(size) - size * _PT * 0.8 >= top:
            # As few lines, of about equal length: the narrowest width that
            # needs no more of them (not a full line and a word's end).
            narrow, wide = width / len(lines), width
            while wide - narrow > 0.5:
                middle = (narrow + wide) / 2
                if len(_wrapped(pdf, text, middle)) <= len(lines):
                    wide = middle
                else:
                    narrow = middle
            return size, _wrapped(pdf, text, wide)
        size -= 0.5
    raise ValueError(f"{text[:20]}… does not fit its place on the certificate")


def _wrapped(pdf, text: str, width: float) -> list[str]:
    """``text`` wrapped by character in ``width`` at the current font."""
    return pdf.multi_cell(width, 1, text, dry_run=True, output="LINES", wrapmode="CHAR")


def _leading(size: float) -> float:
    """The distance of the baselines of wrapped lines at ``size`` points, in mm."""
    return size * _PT * 1.3


def _lines_up(pdf, lines: list[str], baseline: float, *, cx: float, size: float) -> None:
    """``lines`` centred on ``cx``, the last on ``baseline``."""
    for n, line in enumerate(lines):
        _centered(pdf, line, baseline - (len(lines) - 1 - n) * _leading(size), cx=cx)


def _table_layout(pdf, rows, size: float) -> tuple[float, float, float]:
    """Label width, line height and total height of the rows at ``size``."""
    pdf.set_font(_FAMILY, size=size)
    label_w = max(pdf.get_string_width("法定代表人"),
                  *(pdf.get_string_width(label) for label, _ in rows))
    value_w = TABLE_RIGHT - (TABLE_X + label_w + size * _PT * 1.5)
    line = size * _PT * 1.55
    total = 0.0
    for _, value in rows:
        lines = pdf.multi_cell(value_w, line, value or "—", dry_run=True, output="LINES",
                               wrapmode="CHAR")
        total += max(1, len(lines)) * line + 4.0
    return label_w, line, total


def _table(pdf, rows) -> None:
    """Label and value rows; the text shrinks until the rows fit the page."""
    size = 13.0
    while True:
        label_w, line, total = _table_layout(pdf, rows, size)
        if TABLE_TOP + total <= TABLE_BOTTOM:
            break
        if size <= 8.0:
            raise ValueError("the certificate's fields do not fit on one page")
        size -= 0.5
    colon_x = TABLE_X + label_w + 0.5
    value_x = TABLE_X + label_w + size * _PT * 1.5
    value_w = TABLE_RIGHT - value_x
    y = TABLE_TOP
    for label, value in rows:
        baseline = y + line * 0.72
        pdf.set_text_color(*MUTED)
        _spread(pdf, label, TABLE_X, baseline, label_w)
        pdf.text(colon_x, baseline, "：")
        pdf.set_text_color(*INK)
        pdf.set_xy(value_x, y)
        pdf.multi_cell(value_w, line, value or "—", wrapmode="CHAR", new_x="LEFT", new_y="NEXT")
        y = pdf.get_y() + 1.5
        with pdf.local_context(draw_color=RULE, line_width=0.15,
                               dash_pattern={"dash": 0.6, "gap": 0.6}):
            pdf.line(value_x, y, TABLE_RIGHT, y)
        y += 2.5


def _qr(pdf, url: str) -> None:
    """The code as black rectangles on a white square (with quiet zone).

    Each horizontal run of dark modules is one filled rectangle, written
    to the page as ``pdf.rect(x, y, w, h, style="F")`` writes it (the same
    numbers, the same bytes), but as one piece of content for all of
    them: a call of ``pdf.rect`` for each of a code's three hundred runs
    took a tenth of the render.  tests/core/test_pdf_output.py checks that
    the page is the one ``pdf.rect`` draws.
    """
    matrix = qr_matrix(url)
    module = QR_SIZE / (len(matrix) + 2 * QUIET_ZONE)
    with pdf.local_context(fill_color=(255, 255, 255)):
        pdf.rect(QR_X, QR_Y, QR_SIZE, QR_SIZE, style="F")
    k, page_h = pdf.k, pdf.h
    height = f"{-module * k:.2f}"
    with pdf.local_context(fill_color=(0, 0, 0)):
        pdf._out("\n".join(
            f"{(QR_X + (c + QUIET_ZONE) * module) * k:.2f} "
            f"{(page_h - (QR_Y + (r + QUIET_ZONE) * module)) * k:.2f} "
            f"{n * module * k:.2f} {height} re f"
            for r, c, n in qr_runs(matrix)))


def _seal(pdf, seal_text: str) -> None:
    """A round official seal: ring, star, name along the arc, purpose below.

    The first line of ``seal_text`` runs clockwise along the upper arc, as
    the agency's name does on a real seal; a second line, if any (such as
    电子证照专用章), is set straight under the star.  The ink multiplies
    with what is under it, so the issuer's name stays legible through it.
    """
    arc_text, _, purpose = seal_text.strip().partition("\n")
    arc_text, purpose = arc_text.strip(), purpose.strip()
    cx, cy, radius = SEAL_CX, SEAL_CY, SEAL_R
    with pdf.local_context(draw_color=SEAL_RED, fill_color=SEAL_RED, text_color=SEAL_RED,
                           blend_mode="Multiply", fill_opacity=0.92, stroke_opacity=0.92):
        pdf.set_line_width(1.1)
        pdf.circle(cx, cy, radius - 0.55)
        star_r = radius * 0.30
        pdf.star(cx, cy, star_r * 0.382, star_r, 5, rotate_degrees=180, style="F")
        if arc_text:
            count = len(arc_text)
            # Up to about 16 characters fill 250 degrees of the ring.
            size_pt = max(8.0, min(14.0, 190.0 / count))
            height = size_pt * _PT
            text_r = radius - 1.6 - height * 0.62
            step = min(24.0, 250.0 / max(count - 1, 1))
            span = step * (count - 1)
            # Slightly bolder strokes, as a seal's engraving is.
            pdf.set_line_width(0.12)
            pdf.text_mode = "FILL_STROKE"
            pdf.set_font(_FAMILY, size=size_pt)
            for i, ch in enumerate(arc_text):
                phi = -span / 2 + step * i
                x = cx + text_r * math.sin(math.radians(phi))
                y = cy - text_r * math.cos(math.radians(phi))
                with pdf.rotation(-phi, x, y):
                    pdf.text(x - pdf.get_string_width(ch) / 2, y + height * 0.36, ch)
            pdf.text_mode = "FILL"
        if purpose:
            size_pt = max(7.0, min(10.0, 85.0 / len(purpose)))
            pdf.set_font(_FAMILY, size=size_pt)
            _centered(pdf, purpose, cy + radius * 0.58, cx=cx)


def render_certificate(
    *,
    title: str,
    number: str,
    holder: str,
    fields: list[tuple[str, str]],
    issuer: str,
    issued_at: datetime,
    verify_url: str,
    seal_text: str,
) -> bytes:
    """Render one certificate as the bytes of an A4 PDF.

    ``fields`` are (label, value) rows shown after the holder, in order;
    long values wrap and the text shrinks to keep to one page (ValueError
    when even the smallest size does not fit).  ``seal_text`` is the
    agency's name for the seal's ring, optionally followed by a newline and
    the seal's purpose (``示范市市场监督管理局\\n电子证照专用章``).
    A long title, and a long 发证机关 line, are set smaller and then wrapped
    to keep to their places.  ``issued_at`` is shown as a date in the
    platform's time zone and is the PDF's creation date, so the same input
    gives the same bytes.  A character that no installed font has raises
    ``CjkCharactersMissing``.
    """
    if not title or not number or not verify_url:
        raise ValueError("a certificate needs a title, a number and a verification URL")
    rows = [(HOLDER_LABEL, holder), *fields]
    text = "".join([title, number, issuer, seal_text, verify_url, SUBTITLE, QR_CAPTION,
                    FOOTER, "证照编号：发证机关年月日0123456789",
                    *(label + value for label, value in rows)])
    pdf = new_document(title=title, text=text, created_at=issued_at,
                       creator="一站政务服务平台 Yizhan", author=issuer, subject="电子证照")
    _frame(pdf)

    pdf.set_text_color(*INK)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.25)
    size, lines = _fitted(pdf, title, width=TITLE_W, largest=TITLE_SIZE,
                          line_min=TITLE_LINE_MIN, smallest=TITLE_MIN, top=TITLE_TOP,
                          baseline=TITLE_LAST_BASELINE)
    pdf.text_mode = "FILL_STROKE"
    if len(lines) == 1:
        # A short title is spaced out, as on printed certificates.
        spacing = 4.0 if len(title) <= 10 else 0.0
        pdf.set_char_spacing(spacing)
        # Character spacing follows the last character too: centre on the ink.
        _centered(pdf, title, TITLE_BASELINE, cx=PAGE_W / 2 + spacing * _PT / 2)
        pdf.set_char_spacing(0)
    else:
        _lines_up(pdf, lines, TITLE_LAST_BASELINE, cx=PAGE_W / 2, size=size)
    pdf.text_mode = "FILL"

    pdf.set_font(_FAMILY, size=11)
    pdf.set_text_color(*MUTED)
    _centered(pdf, SUBTITLE, 53)
    pdf.set_text_color(*INK)
    _centered(pdf, f"证照编号：{number}", 61)
    with pdf.local_context(draw_color=GOLD, line_width=0.5):
        pdf.line(TABLE_X, 66, TABLE_RIGHT, 66)
    with pdf.local_context(draw_color=GOLD, line_width=0.2):
        pdf.line(TABLE_X, 67.2, TABLE_RIGHT, 67.2)

    _table(pdf, rows)

    _qr(pdf, verify_url)
    pdf.set_font(_FAMILY, size=9)
    pdf.set_text_color(*INK)
    _centered(pdf, QR_CAPTION, QR_Y + QR_SIZE + 5, cx=QR_X + QR_SIZE / 2)
    pdf.set_font(_FAMILY, size=6.5)
    pdf.set_text_color(*MUTED)
    pdf.set_xy(QR_X - 8, QR_Y + QR_SIZE + 7)
    pdf.multi_cell(QR_SIZE + 16, 3, verify_url, align="C", wrapmode="CHAR")

    pdf.set_text_color(*INK)
    size, lines = _fitted(pdf, f"发证机关：{issuer}", width=ISSUER_W, largest=13.0,
                          line_min=10.0, smallest=8.0, top=TABLE_BOTTOM + 2,
                          baseline=ISSUER_BASELINE)
    _lines_up(pdf, lines, ISSUER_BASELINE, cx=ISSUER_CX, size=size)
    pdf.set_font(_FAMILY, size=13)
    _centered(pdf, chinese_date(issued_at), SEAL_CY + 5, cx=ISSUER_CX + 6)
    _seal(pdf, seal_text)

    pdf.set_font(_FAMILY, size=8)
    pdf.set_text_color(*MUTED)
    _centered(pdf, FOOTER, 272)
    return bytes(pdf.output())
