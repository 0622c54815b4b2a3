"""Certificates: the PDF renders in Chinese, and its signed digest catches any change."""

import datetime
import io
import itertools
import os

import pypdf
import pytest
from pypdf.generic import ContentStream

from yizhan.audit import signing
from yizhan.audit.signing import VerificationReason
from yizhan.core import pdf
from yizhan.core.qr import QUIET_ZONE, qr_matrix
from yizhan.directory.roles import Role

ISSUED_AT = datetime.datetime(2026, 3, 5, 2, 30, tzinfo=datetime.UTC)  # 10:30 in Shanghai
VERIFY_URL = "https://zwfw.example.gov.cn/verify/JY14499000012345?d=3fa1c2"
CERTIFICATE = {
    "title": "食品经营许可证",
    "number": "JY14499000012345",
    "holder": "示范市东湖区湖滨餐饮管理有限公司",
    "fields": [
        ("统一社会信用代码", "91449900MA5T8Q6X1K"),
        ("法定代表人", "张三"),
        ("经营场所", "示范省示范市东湖区湖滨路一百二十八号创新大厦十六层一六零八室"),
        ("经营项目", "热食类食品制售；冷食类食品制售；糕点类食品制售（含裱花蛋糕）；自制饮品制售"),
        ("有效期至", "2031年3月4日"),
    ],
    "issuer": "示范市市场监督管理局",
    "issued_at": ISSUED_AT,
    "verify_url": VERIFY_URL,
    "seal_text": "示范市市场监督管理局\n电子证照专用章",
}


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    """One rendering shared by the module: a render takes most of a second."""
    return pdf.render_certificate(**CERTIFICATE)


def _text(data: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()


def _squash(text: str) -> str:
    return "".join(text.split())


# --- rendering ------------------------------------------------------------------


def test_certificate_is_one_a4_page(pdf_bytes):
    assert pdf_bytes.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert reader.metadata.title == "食品经营许可证"
    assert reader.metadata.author == "示范市市场监督管理局"


def test_chinese_text_is_extractable(pdf_bytes):
    """The embedded CJK font maps its glyphs back to the Chinese characters."""
    text = _squash(_text(pdf_bytes))
    for expected in ("食品经营许可证", "（电子证照）", "证照编号：JY14499000012345",
                     "示范市东湖区湖滨餐饮管理有限公司", "91449900MA5T8Q6X1K",
                     "热食类食品制售", "发证机关：示范市市场监督管理局", "2026年3月5日",
                     "电子证照专用章", "扫码核验真伪", "法定代表人", "张三"):
        assert expected in text, expected
    # Labels are spread over one width, so their characters are apart.
    assert "持证人" in text


def test_date_is_the_day_in_the_platforms_time_zone():
    late = datetime.datetime(2026, 3, 5, 17, 0, tzinfo=datetime.UTC)  # 6 March, 01:00
    assert pdf.chinese_date(late) == "2026年3月6日"


def test_a_cjk_font_is_embedded(pdf_bytes):
    page = pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages[0]
    fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]
    assert fonts
    for font in fonts:
        assert font["/Subtype"] == "/Type0"
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor  # the TrueType program is in the file
    assert any("UMing" in font["/BaseFont"] or "WenQuanYi" in font["/BaseFont"]
               for font in fonts)


def test_same_input_gives_the_same_bytes(pdf_bytes):
    assert pdf.render_certificate(**CERTIFICATE) == pdf_bytes


def test_qr_code_drawn_in_the_pdf_is_the_code_of_the_verify_url(pdf_bytes):
    """The black rectangles in the QR box rebuild qrcode's matrix for the URL."""
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
    operations = ContentStream(reader.pages[0].get_contents(), reader).operations
    expected = qr_matrix(VERIFY_URL)
    size = len(expected)
    module = pdf.QR_SIZE / (size + 2 * QUIET_ZONE)
    k = 72 / 25.4
    drawn = [[False] * size for _ in range(size)]
    for (operands, operator), (_, following) in itertools.pairwise(operations):
        if operator != b"re" or following != b"f":
            continue
        x, top = float(operands[0]) / k, pdf.PAGE_H - float(operands[1]) / k
        width, height = float(operands[2]) / k, -float(operands[3]) / k
        inside = pdf.QR_X <= x < pdf.QR_X + pdf.QR_SIZE and pdf.QR_Y <= top < pdf.QR_Y + pdf.QR_SIZE
        if not inside or abs(height - module) > 0.01:
            continue
        row = round((top - pdf.QR_Y) / module) - QUIET_ZONE
        first = round((x - pdf.QR_X) / module) - QUIET_ZONE
        for c in range(first, first + round(width / module)):
            drawn[row][c] = True
    assert drawn == expected


def test_rare_characters_fall_back_to_a_second_font():
    """A name the first font lacks a glyph for is still drawn and extractable."""
    fonts = pdf.cjk_fonts()
    rare = "刏"  # in WenQuanYi Micro Hei, not in AR PL UMing
    if len(fonts) < 2 or ord(rare) in pdf._codepoints(fonts[0]):
        pytest.skip("needs AR PL UMing with a WenQuanYi font as fallback")
    data = pdf.render_certificate(**{**CERTIFICATE, "holder": f"王{rare}"})
    assert f"王{rare}" in _squash(_text(data))
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    assert len(page["/Resources"]["/Font"]) == 2


# Where Debian's fonts-hanazono puts the fallback font for CJK Extension B.
HANAMIN_A = "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"


def _font_for(point: int) -> pdf.FontFile | None:
    return next((font for font in pdf.cjk_fonts() if point in pdf._codepoints(font)), None)


def test_a_character_beyond_the_main_fonts_is_drawn_from_hanazono():
    """𠮷 (U+20BB7, CJK Extension B) is in neither UMing nor WenQuanYi: without a
    further fallback the holder 吉𠮷 was printed as 吉, and signed as genuine."""
    if not os.path.isfile(HANAMIN_A):
        pytest.skip("needs Debian's fonts-hanazono (make fonts)")
    data = pdf.render_certificate(**{**CERTIFICATE, "holder": "吉𠮷"})
    assert "持证人：吉𠮷" in _squash(_text(data))
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    names = [font.get_object()["/BaseFont"] for font in page["/Resources"]["/Font"].values()]
    assert len(names) == 2 and any("HanaMin" in name for name in names)


def test_a_character_no_font_has_is_refused_naming_it():
    """Never a document without the character: the error says which one, and what
    to install."""
    missing = "\U00030000"   # 𰀀, CJK Extension G: in none of Debian's TrueType CJK fonts
    if _font_for(ord(missing)) is not None:
        pytest.skip("an installed font has the character")
    with pytest.raises(pdf.CjkCharactersMissing) as exc:
        pdf.render_certificate(**{**CERTIFICATE, "holder": f"吉{missing}"})
    assert isinstance(exc.value, pdf.CjkFontMissing)
    assert exc.value.characters == missing
    message = str(exc.value)
    assert f"已安装的字体都没有字符“{missing}”（U+30000）" in message
    assert f"No installed font has the characters {missing} (U+30000)" in message
    assert "apt-get install fonts-hanazono" in message


def test_characters_without_ink_need_no_glyph():
    """A word joiner or a variation selector has nothing to draw: a font
    without it is no reason to refuse the name."""
    holder = "王\u2060五\U000e0100"   # a word joiner; an ideographic variation selector
    if _font_for(0x2060) or _font_for(0xE0100):
        pytest.skip("an installed font has these characters")
    data = pdf.render_certificate(**{**CERTIFICATE, "holder": holder})
    assert "持证人：王五" in _squash(_text(data))


# --- long titles and names stay inside the frame ------------------------------------

FRAME_LEFT, FRAME_RIGHT = 14.2, pdf.PAGE_W - 14.2   # the inner gold rule
MM = 25.4 / 72


def _runs(data: bytes) -> list[tuple[str, float, float, float]]:
    """(text, x, baseline from the top, size in pt) of each piece of text drawn, in mm."""
    runs = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            runs.append((text, tm[4] * MM, pdf.PAGE_H - tm[5] * MM, font_size))

    pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text(visitor_text=visit)
    return runs


def _width(text: str, size: float) -> float:
    """``text``'s width in mm at ``size`` pt, in the certificate's font."""
    document = pdf.new_document(title="", text=text, created_at=ISSUED_AT, creator="")
    document.set_font(pdf._FAMILY, size=size)
    return document.get_string_width(text)


def _inside(runs, left=FRAME_LEFT, right=FRAME_RIGHT) -> bool:
    return all(left <= x and x + _width(text, size) <= right for text, x, _y, size in runs)


def test_a_short_title_is_one_line_at_30_points():
    [title] = [run for run in _runs(pdf.render_certificate(**CERTIFICATE))
               if run[0] == CERTIFICATE["title"]]
    assert (round(title[2], 2), title[3]) == (44.0, 30.0)


def test_a_long_title_is_set_smaller_to_stay_inside_the_frame():
    """At 30 pt a title of 24 characters (an item's name and 决定书) started left of
    the page's edge and was cut off at both sides."""
    title = "对从事出版物零售业务的单位和个体工商户的审批决定书"
    runs = [run for run in _runs(pdf.render_certificate(**{**CERTIFICATE, "title": title}))
            if run[0] == title]
    assert len(runs) == 1 and 18 <= runs[0][3] < 30
    assert _inside(runs)


@pytest.mark.parametrize(("length", "lines", "size"), [(43, 2, 18.0), (203, 4, None)])
def test_a_title_too_long_for_one_line_wraps_by_character_above_the_subtitle(
        length, lines, size):
    """Two lines at 18 pt; an item name of 200 characters (the catalog's longest)
    in lines of smaller type still."""
    title = "测" * (length - 3) + "决定书"
    runs = [run for run in _runs(pdf.render_certificate(**{**CERTIFICATE, "title": title}))
            if run[2] < 50]   # above the subtitle
    assert "".join(text for text, *_ in runs) == title
    assert len(runs) == lines and len({run[3] for run in runs}) == 1
    if size is not None:
        assert runs[0][3] == size
    assert _inside(runs)
    subtitle = next(run for run in _runs(pdf.render_certificate(**CERTIFICATE))
                    if run[0] == pdf.SUBTITLE)
    assert runs[-1][2] < subtitle[2] - subtitle[3] * MM and runs[0][2] > 20


def _issuer_lines(data: bytes):
    # The seal's ring draws the name a character at a time, and the date is below.
    return [run for run in _runs(data)
            if pdf.TABLE_BOTTOM < run[2] < pdf.SEAL_CY and len(run[0].strip()) > 1]


@pytest.mark.parametrize("issuer", [
    "示范市市场监督管理局",
    "中国（上海）自由贸易试验区临港新片区管理委员会",
    "示范市" + "测" * 97,   # an agency's longest name: 100 characters
])
def test_the_issuer_line_keeps_between_the_qr_code_and_the_frame(issuer):
    """At 13 pt on one line a real 22-character agency name ran over the frame:
    the line is set smaller, then wrapped, and never reaches the QR code."""
    data = pdf.render_certificate(**{**CERTIFICATE, "issuer": issuer,
                                     "seal_text": f"{issuer}\n电子证照专用章"})
    runs = _issuer_lines(data)
    assert "".join(text for text, *_ in runs) == f"发证机关：{issuer}"
    assert _inside(runs, left=pdf.QR_X + pdf.QR_SIZE + 2)
    assert round(runs[-1][2], 2) == pdf.SEAL_CY - 7 and all(size <= 13 for *_, size in runs)
    if len(issuer) <= 10:
        assert [size for *_, size in runs] == [13.0]


def test_fields_that_cannot_fit_one_page_are_refused():
    many = [(f"事项{i}", "内容" * 40) for i in range(40)]
    with pytest.raises(ValueError):
        pdf.render_certificate(**{**CERTIFICATE, "fields": many})


def test_missing_font_names_the_debian_package(monkeypatch, settings):
    settings.YIZHAN_PDF_FONT = ""
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", (pdf.FontFile("/nonexistent.ttc", 0, "x"),))
    with pytest.raises(pdf.CjkFontMissing) as exc:
        pdf.render_certificate(**CERTIFICATE)
    assert "apt-get install fonts-arphic-uming" in str(exc.value)
    [error] = pdf.check_cjk_font()
    assert error.id == "core.E010"


# --- signing and verifying ---------------------------------------------------------


@pytest.fixture(params=["SM2-SM3", "Ed25519"])
def algorithm(request, monkeypatch):
    if request.param == "SM2-SM3":
        if not signing.SM2_AVAILABLE:
            pytest.skip("tongsuopy is not installed")
    else:
        monkeypatch.setattr(signing, "SM2_AVAILABLE", False)
    return request.param


@pytest.fixture
def issued(world, algorithm, pdf_bytes):
    signed = signing.sign_certificate_bytes(agency_id=world.agency_a.pk, pdf_bytes=pdf_bytes)
    assert signed.signature.algorithm == algorithm
    return signed


def _verify(data, signed, **overrides):
    arguments = {"expected_digest": signed.digest, "key_id": signed.signature.key_id,
                 "signature_b64": signed.signature.value_b64, **overrides}
    return signing.verify_certificate_bytes(data, **arguments)


def test_digest_is_sm3_of_the_exact_bytes(issued, pdf_bytes):
    from yizhan.core.crypto import sm3_hex

    assert issued.digest == sm3_hex(pdf_bytes)
    assert signing.verify_signature(
        key_id=issued.signature.key_id, data=b"yizhan-certificate-v1:" + issued.digest.encode(),
        value_b64=issued.signature.value_b64,
    ) is True


def test_issued_certificate_verifies(issued, pdf_bytes, algorithm):
    result = _verify(pdf_bytes, issued)
    assert result.ok is True
    assert result.reason == ""
    assert result.revoked is False
    assert result.algorithm == algorithm
    assert result.key_id == issued.signature.key_id
    assert result.key_retired_at is None
    assert "真实有效" in result.message


def test_one_changed_byte_is_an_altered_certificate(issued, pdf_bytes):
    for position in (len(pdf_bytes) // 2, len(pdf_bytes) - 2, 0):
        altered = bytearray(pdf_bytes)
        altered[position] ^= 0x01
        result = _verify(bytes(altered), issued)
        assert (result.ok, result.reason) == (False, VerificationReason.ALTERED)
    assert "篡改" in result.message
    assert _verify(pdf_bytes + b"\n", issued).reason == VerificationReason.ALTERED


def test_altered_file_with_its_own_digest_has_a_bad_signature(issued, pdf_bytes):
    """Whoever changes the file and its recorded digest cannot sign the new digest."""
    altered = pdf_bytes.replace(b"/Title", b"/Titlf", 1)
    result = _verify(altered, issued, expected_digest=signing.certificate_digest(altered))
    assert (result.ok, result.reason) == (False, VerificationReason.BAD_SIGNATURE)


def test_signature_of_another_certificate_is_bad(world, issued, pdf_bytes):
    other = signing.sign_certificate_bytes(agency_id=world.agency_a.pk, pdf_bytes=b"%PDF-other")
    result = _verify(pdf_bytes, issued, signature_b64=other.signature.value_b64)
    assert (result.ok, result.reason) == (False, VerificationReason.BAD_SIGNATURE)


def test_unknown_key(issued, pdf_bytes):
    result = _verify(pdf_bytes, issued, key_id=issued.signature.key_id + 1000)
    assert (result.ok, result.reason) == (False, VerificationReason.KEY_UNKNOWN)
    assert result.key_id is None


def test_revocation_is_the_callers_input(issued, pdf_bytes):
    """A genuine but revoked certificate fails with its own reason."""
    result = _verify(pdf_bytes, issued, revoked=True)
    assert (result.ok, result.reason, result.revoked) == (False, VerificationReason.REVOKED, True)
    assert "撤销" in result.message
    altered = _verify(pdf_bytes[:-1], issued, revoked=True)
    assert (altered.reason, altered.revoked) == (VerificationReason.ALTERED, True)


def test_certificate_signed_before_rotation_still_verifies(world, issued, pdf_bytes):
    signing.signing_key_rotate(actor=world.user("a", Role.SYSADMIN), agency=world.agency_a,
                               reason="年度更换")
    result = _verify(pdf_bytes, issued)
    assert result.ok is True
    assert result.key_retired_at is not None
