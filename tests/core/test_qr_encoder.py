"""The QR encoder of ``yizhan.core.qr``: qrcode's symbols, module for module, at every version.

``core.qr`` encodes, places and masks on whole symbols held as integers
instead of running qrcode's module-by-module code; these tests hold it to
qrcode's output for the data, the codewords, each mask's placement and
penalty, and the mask chosen.  (tests/signing/test_qr.py checks the
drawings of the matrix.)
"""

import random
import string

import pytest
import qrcode
from qrcode import util
from qrcode.constants import ERROR_CORRECT_M

from yizhan.core import qr

ALPHABETS = {
    "url": string.ascii_letters + string.digits + "/:.?=-_",
    "digits": string.digits,
    "alphanumeric": string.ascii_uppercase + string.digits + " $%*+-./:",
    "mixed": "https://证照.example.cn/?" + string.digits * 4 + string.ascii_uppercase,
}
# Around the capacities where the length fields grow (versions 10 and 27)
# and up to the largest symbols.
LENGTHS = (1, 7, 20, 21, 60, 178, 180, 181, 215, 300, 430, 433, 800, 1270, 1400, 1700, 2300,
           3100, 4000)


def _qrcode(data: str) -> qrcode.QRCode:
    reference = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    reference.add_data(data)
    reference.make(fit=True)
    return reference


@pytest.mark.parametrize("kind", sorted(ALPHABETS))
def test_the_symbol_is_qrcodes_at_every_size(kind):
    rng = random.Random(kind)
    versions = set()
    for length in LENGTHS:
        data = "".join(rng.choice(ALPHABETS[kind]) for _ in range(length))
        try:
            reference = _qrcode(data)
        except ValueError:   # longer than level M holds
            with pytest.raises(ValueError):
                qr.qr_matrix(data)
            continue
        versions.add(reference.version)
        assert qr.qr_matrix(data) == [list(row) for row in reference.get_matrix()], length
    assert len(versions) >= 10


def test_numbers_and_capitals_inside_a_url_are_chunks_of_their_own():
    data = "https://zwfw.example.gov.cn/v/" + "1234567890" * 3 + "/ABCDEFGHIJKLMNOPQRSTUVWXYZ/证"
    chunks = list(util.optimal_data_chunks(data, minimum=20))
    assert {chunk.mode for chunk in chunks} == {util.MODE_NUMBER, util.MODE_ALPHA_NUM,
                                                util.MODE_8BIT_BYTE}
    assert qr.qr_matrix(data) == [list(row) for row in _qrcode(data).get_matrix()]


@pytest.mark.parametrize("version", [1, 2, 5, 7, 9, 10, 14, 20, 27, 33, 40])
def test_codewords_are_qrcodes(version):
    rng = random.Random(version)
    capacity = util.BIT_LIMIT_TABLE[ERROR_CORRECT_M][version] // 8 - 3
    low = util.BIT_LIMIT_TABLE[ERROR_CORRECT_M][version - 1] // 8 if version > 1 else 1
    data = "".join(rng.choice(ALPHABETS["url"]) for _ in range(rng.randint(low, capacity)))
    chunks = list(util.optimal_data_chunks(data, minimum=20))
    assert qr._best_fit(chunks) == _qrcode(data).version == version
    assert qr._codewords(version, chunks) == bytes(
        util.create_data(version, ERROR_CORRECT_M, chunks))


@pytest.mark.parametrize("version", [1, 4, 7, 12, 25, 40])
def test_each_mask_places_and_scores_as_qrcode(version):
    """Not only the mask chosen: every mask's symbol and penalty are qrcode's."""
    rng = random.Random(version)
    capacity = util.BIT_LIMIT_TABLE[ERROR_CORRECT_M][version] // 8 - 3
    data = "".join(rng.choice(ALPHABETS["url"]) for _ in range(capacity))
    reference = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=0)
    reference.add_data(data)
    chunks = reference.data_list
    layout = qr._layout(version)
    placed = layout.place(qr._codewords(version, chunks))
    for pattern in range(8):
        reference.makeImpl(True, pattern)
        assert qr._score(layout.test_base | (placed ^ layout.masks[pattern]),
                         layout.size) == util.lost_point(reference.modules)
        reference.makeImpl(False, pattern)
        assert layout.rows(layout.bases[pattern] | (placed ^ layout.masks[pattern])) == tuple(
            tuple(row) for row in reference.modules)


def test_the_penalty_of_any_symbol_is_qrcodes():
    """Runs, blocks, finder-like patterns and balance, on symbols of every density."""
    rng = random.Random(18004)
    for size in (21, 25, 45, 57, 101, 177):
        for density in (0.05, 0.3, 0.5, 0.7, 0.95):
            modules = [[rng.random() < density for _ in range(size)] for _ in range(size)]
            rows = [sum(1 << c for c, dark in enumerate(row) if dark) for row in modules]
            symbol = sum(row << (r * size) for r, row in enumerate(rows))
            assert qr._score(symbol, size) == util.lost_point(modules), (size, density)


def test_reed_solomon_remainder_of_a_known_block():
    """ISO/IEC 18004 annex I: "01234567" at 1-M has these ten correction codewords."""
    data = bytes([0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11,
                  0xEC, 0x11, 0xEC, 0x11])
    assert qr._remainder(data, 10) == bytes([0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87,
                                              0x2C, 0x55])
