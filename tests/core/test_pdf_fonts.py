"""Certificates render the same bytes with the process's cached fonts."""

import datetime

from fpdf import FPDF

from yizhan.core import pdf

ARGS = {
    "title": "食品经营许可证", "number": "44990020260001000001-01",
    "holder": "示范市湖滨餐饮管理有限公司",
    "fields": [("统一社会信用代码", "91449901MA5XXXXX1X"), ("许可事项", "开办餐饮店“一件事”")],
    "issuer": "示范市行政服务中心",
    "issued_at": datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC),
    "verify_url": "http://127.0.0.1:8000/verify/abc/",
    "seal_text": "示范市行政服务中心\n电子证照专用章",
}


def _uncached(monkeypatch):
    def plain(document, family, font):
        FPDF.add_font(document, family, fname=font.path, collection_font_number=font.face)

    monkeypatch.setattr(pdf, "_add_font", plain)
    return pdf.render_certificate(**ARGS)


def test_cached_fonts_give_the_bytes_fpdf_gives(monkeypatch):
    """The cached font path changes nothing in the output, first use or later."""
    pdf._font_templates.clear()
    first = pdf.render_certificate(**ARGS)
    again = pdf.render_certificate(**ARGS)
    other = pdf.render_certificate(**{**ARGS, "holder": "示范市南港海鲜酒楼有限公司"})
    reference = _uncached(monkeypatch)
    assert first == again == reference
    assert other != reference
