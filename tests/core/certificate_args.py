"""The certificate the PDF tests draw: the arguments of ``pdf.render_certificate``."""

import datetime

ARGS = {
    "title": "食品经营许可证", "number": "44990020260001000001-01",
    "holder": "示范市湖滨餐饮管理有限公司",
    "fields": [("统一社会信用代码", "91449901MA5XXXXX1X"), ("许可事项", "开办餐饮店“一件事”")],
    "issuer": "示范市行政服务中心",
    "issued_at": datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC),
    "verify_url": "http://127.0.0.1:8000/verify/abc/",
    "seal_text": "示范市行政服务中心\n电子证照专用章",
}
