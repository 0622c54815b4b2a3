"""Certificates: the PDF renders in Chinese, and its signed digest catches any change."""

import datetime
import io
import itertools

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
