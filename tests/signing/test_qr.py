"""QR codes: the PNG and the SVG draw exactly qrcode's matrix for the URL.

No QR decoder is installed, so the drawings are checked module by module
against the matrix that the qrcode library computed for the URL.
"""

import io
import re
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from yizhan.core.qr import QUIET_ZONE, qr_matrix, qr_png, qr_svg

URL = "https://zwfw.example.gov.cn/verify/JY14499000012345?d=3fa1c2"


def test_matrix_is_square_and_of_a_qr_size():
    matrix = qr_matrix(URL)
    size = len(matrix)
    assert all(len(row) == size for row in matrix)
    assert (size - 17) % 4 == 0  # version v has 17 + 4v modules
    # The three finder patterns: dark 7x7 rings in three corners.
    for r0, c0 in ((0, 0), (0, size - 7), (size - 7, 0)):
        assert all(matrix[r0][c0 + i] and matrix[r0 + 6][c0 + i] for i in range(7))


@pytest.mark.parametrize("length", [5, 30, 60, 90, 150, 260])   # versions 1 to 12
def test_the_matrix_is_qrcodes_own(length):
    """The mask is chosen faster than qrcode does, but the same one: so is every module."""
    import random
    import string

    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    rng = random.Random(length)
    for _ in range(12):
        url = "".join(rng.choice(string.ascii_letters + string.digits + "/:.?=-")
                      for _ in range(length))
        reference = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
        reference.add_data(url)
        reference.make(fit=True)
        assert qr_matrix(url) == [list(row) for row in reference.get_matrix()]


def test_each_masks_penalty_is_qrcodes():
    import qrcode
    from qrcode import util
    from qrcode.constants import ERROR_CORRECT_M

    from yizhan.core import qr

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(URL * 3)   # version 7 and up also carry version information
    code.best_fit()
    assert code.version >= 7
    for pattern in range(8):
        code.makeImpl(True, pattern)
        rows = [sum(1 << c for c, dark in enumerate(row) if dark) for row in code.modules]
        symbol = sum(row << (r * len(rows)) for r, row in enumerate(rows))
        assert qr._score(symbol, len(rows)) == util.lost_point(code.modules)


def test_matrix_needs_a_url():
    with pytest.raises(ValueError):
        qr_matrix("")


def test_png_is_a_valid_image_of_the_expected_size():
    data = qr_png(URL, box_size=8)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.verify()
    image = Image.open(io.BytesIO(data))
    side = (len(qr_matrix(URL)) + 2 * QUIET_ZONE) * 8
    assert image.format == "PNG"
    assert image.size == (side, side)


def test_png_draws_the_matrix_module_by_module():
    box = 6
    matrix = qr_matrix(URL)
    image = Image.open(io.BytesIO(qr_png(URL, box_size=box))).convert("L")
    side = len(matrix) + 2 * QUIET_ZONE
    for r in range(side):
        for c in range(side):
            dark = image.getpixel((c * box + box // 2, r * box + box // 2)) < 128
            inside = QUIET_ZONE <= r < side - QUIET_ZONE and QUIET_ZONE <= c < side - QUIET_ZONE
            expected = inside and matrix[r - QUIET_ZONE][c - QUIET_ZONE]
            assert dark == expected, (r, c)


def test_svg_is_well_formed_and_draws_the_matrix():
    svg = qr_svg(URL, label="扫码核验 <证照>")
    root = ET.fromstring(svg)  # noqa: S314  (our own output, not untrusted input)
    matrix = qr_matrix(URL)
    side = len(matrix) + 2 * QUIET_ZONE
    assert root.get("viewBox") == f"0 0 {side} {side}"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "扫码核验 <证照>"
    path = root.find("{http://www.w3.org/2000/svg}path").get("d")
    drawn = [[False] * len(matrix) for _ in matrix]
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path):
        for c in range(int(x), int(x) + int(n)):
            drawn[int(y) - QUIET_ZONE][c - QUIET_ZONE] = True
    assert drawn == matrix


def test_svg_without_label_is_hidden_from_screen_readers():
    assert 'aria-hidden="true"' in qr_svg(URL)
