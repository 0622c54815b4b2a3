"""QR codes that lead to the platform's public verification pages.

One matrix, three drawings: ``qr_png`` for images and e-mail, ``qr_svg``
for pages (scales without blurring and needs no image request), and
``yizhan.core.pdf`` draws the same ``qr_matrix`` as vector rectangles.
Error correction level M (15 % of the code may be lost) survives a creased
or stained print of a certificate while keeping a typical verification URL
at version 3 or 4, large modules at a 30 mm print size.
"""

import io
import itertools
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

# The white margin the standard requires around the code, in modules.
QUIET_ZONE = 4

# Error correction level M in the qrcode library's numbering, which indexes
# its tables (its ERROR_CORRECT_M).
_LEVEL_M = 0
# QRCode.add_data's default: runs of 20 digits or more are encoded as
# numbers, of 20 upper-case letters or more as alphanumerics.
_CHUNK_MINIMUM = 20


@lru_cache(maxsize=64)
def _matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The symbol the qrcode library makes for ``data`` at level M, module for module.

    The data chunks, the version and the tables are qrcode's; the bit stream,
    the error correction codewords, their placement and the choice of mask
    are done here on whole symbols held as one integer (see below), which
    is several times faster than qrcode's module-by-module Python.
    """
    from qrcode import util

    chunks = list(util.optimal_data_chunks(data, minimum=_CHUNK_MINIMUM))
    version = _best_fit(chunks)
    layout = _layout(version)
    placed = layout.place(_codewords(version, chunks))
    masked = [placed ^ mask for mask in layout.masks]
    scores = [_score(layout.test_base | symbol, layout.size) for symbol in masked]
    pattern = scores.index(min(scores))   # the first of equals, as qrcode does
    return layout.rows(layout.bases[pattern] | masked[pattern])


# --- the data: bit stream and error correction codewords ------------------------


def _best_fit(chunks) -> int:
    """The smallest version that holds ``chunks`` (qrcode's ``QRCode.best_fit``)."""
    from qrcode import util

    start = 1
    while True:
        sizes = util.mode_sizes_for_version(start)
        needed = sum(4 + sizes[chunk.mode] + _data_bits(chunk) for chunk in chunks)
        version = bisect_left(util.BIT_LIMIT_TABLE[_LEVEL_M], needed, start)
        if version == 41:   # qrcode raises ValueError (no version 41) too
            raise ValueError("the data does not fit in a QR code at level M")
        # A longer length field from version 10 and 27 on: count again.
        if util.mode_sizes_for_version(version) is sizes:
            return version
        start = version


def _data_bits(chunk) -> int:
    from qrcode import util

    count = len(chunk.data)
    if chunk.mode == util.MODE_NUMBER:
        return 10 * (count // 3) + (0, 4, 7)[count % 3]
    if chunk.mode == util.MODE_ALPHA_NUM:
        return 11 * (count // 2) + 6 * (count % 2)
    return 8 * count


def _chunk_fields(chunk):
    """``(value, bits)`` of each field of ``chunk``'s data (``QRData.write``)."""
    from qrcode import util

    data = chunk.data
    if chunk.mode == util.MODE_NUMBER:
        for i in range(0, len(data), 3):
            part = data[i:i + 3]
            yield int(part), util.NUMBER_LENGTH[len(part)]
    elif chunk.mode == util.MODE_ALPHA_NUM:
        for i in range(0, len(data), 2):
            part = data[i:i + 2]
            if len(part) > 1:
                yield util.ALPHA_NUM.find(part[0]) * 45 + util.ALPHA_NUM.find(part[1]), 11
            else:
                yield util.ALPHA_NUM.find(part), 6
    else:
        yield int.from_bytes(data, "big"), 8 * len(data)


def _codewords(version: int, chunks) -> bytes:
    """Data and error correction codewords, interleaved (qrcode's ``util.create_data``)."""
    from qrcode import base, exceptions, util

    sizes = util.mode_sizes_for_version(version)
    stream = length = 0
    for chunk in chunks:
        fields = [(chunk.mode, 4), (len(chunk), sizes[chunk.mode]), *_chunk_fields(chunk)]
        for value, bits in fields:
            stream = (stream << bits) | (value & ((1 << bits) - 1))
            length += bits
    limit = util.BIT_LIMIT_TABLE[_LEVEL_M][version]
    if length > limit:
        raise exceptions.DataOverflowError(
            f"Code length overflow. Data size ({length}) > size available ({limit})")
    # Up to four 0s as terminator, 0s to the byte, then the pad bytes.
    bits = min(limit - length, 4)
    bits += -(length + bits) % 8
    stream <<= bits
    length += bits
    fill = (limit - length) // 8
    data = stream.to_bytes(length // 8, "big") + bytes((util.PAD0, util.PAD1)) * (fill // 2)
    if fill % 2:
        data += bytes((util.PAD0,))

    blocks, corrections, offset = [], [], 0
    for block in base.rs_blocks(version, _LEVEL_M):
        part = data[offset:offset + block.data_count]
        offset += block.data_count
        blocks.append(part)
        corrections.append(_remainder(part, block.total_count - block.data_count))
    return bytes(_interleave(blocks) + _interleave(corrections))


def _interleave(parts: list[bytes]) -> list[int]:
    longest = max(len(part) for part in parts)
    return [part[i] for i in range(longest) for part in parts if i < len(part)]


@lru_cache(maxsize=1)
def _galois() -> tuple[list[int], list[int]]:
    """Exponents and logarithms in GF(256) with the QR polynomial x⁸+x⁴+x³+x²+1."""
    exp, log = [0] * 510, [0] * 256
    x = 1
    for i in range(255):
        exp[i] = exp[i + 255] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    return exp, log


@lru_cache(maxsize=32)
def _feedback(count: int) -> tuple[int, ...]:
    """For each byte f, f times the generator polynomial of ``count`` codewords.

    The generator is the product of (x - αⁱ) for i < count; its leading 1 is
    left out, and the other coefficients are packed big-endian into one
    integer, so that a division step is one shift and one exclusive or.
    """
    exp, log = _galois()

    def times(a: int, b: int) -> int:
        return exp[log[a] + log[b]] if a and b else 0

    generator = [1]
    for i in range(count):
        generator = [a ^ times(b, exp[i])
                     for a, b in zip([*generator, 0], [0, *generator], strict=True)]
    tail = generator[1:]
    return tuple(int.from_bytes(bytes(times(f, g) for g in tail), "big") for f in range(256))


def _remainder(data: bytes, count: int) -> bytes:
    """The ``count`` Reed-Solomon codewords of ``data``: data·xⁿ mod the generator."""
    feedback = _feedback(count)
    shift = 8 * (count - 1)
    mask = (1 << (8 * count)) - 1
    register = 0
    for byte in data:
        register = ((register << 8) & mask) ^ feedback[byte ^ (register >> shift)]
    return register.to_bytes(count, "big")


# --- the symbol: layout, placement and the mask ----------------------------------
#
# A symbol of n×n modules is held as one integer: row r, column c is bit
# r·n + c, dark as 1.  Everything that depends only on the version is
# worked out once from qrcode's own layout (``_layout``): the function
# patterns, where each data bit goes, and which data modules each of the
# eight masks darkens.  A code is then its data bits placed (one sum),
# each mask one exclusive or, and each mask's penalty (ISO/IEC 18004
# §7.8.3: long runs, 2×2 blocks, finder-like patterns, the balance of dark
# and light) some sixty operations on the whole symbol at once
# (``_score``).  The standard has the encoder keep the mask with the lowest
# penalty; the penalty, the mask and so every module are qrcode's own, which
# scores each mask with the format information left light
# (tests/signing/test_qr.py and tests/core/test_qr_encoder.py compare them).


@dataclass(frozen=True, slots=True)
class _Layout:
    """What a symbol of one version is made of, each part as a symbol-sized integer."""

    size: int
    weights: tuple[int, ...]    # 1 << module, for each data bit in placement order
    masks: tuple[int, ...]      # per mask pattern, the data modules it darkens
    test_base: int              # function patterns, format information light
    bases: tuple[int, ...]      # per mask pattern, function patterns and format information

    def place(self, codewords: bytes) -> int:
        """The data modules ``codewords`` darken, before masking.

        Modules after the last codeword (the remainder bits) stay light.
        """
        bits = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b")
        return sum(itertools.compress(self.weights, bits.encode().translate(_ZERO)))

    def rows(self, symbol: int) -> tuple[tuple[bool, ...], ...]:
        n = self.size
        flags = format(symbol, f"0{n * n}b").encode().translate(_ZERO)[::-1]
        return tuple(tuple(map(bool, flags[i:i + n])) for i in range(0, n * n, n))


_ZERO = bytes.maketrans(b"0", b"\0")


def _symbol(modules) -> int:
    """qrcode's modules (True, False or None for unset) as one integer."""
    n = len(modules)
    return sum(1 << (r * n + c) for r, row in enumerate(modules) for c, dark in enumerate(row)
               if dark)


@lru_cache(maxsize=40)
def _layout(version: int) -> _Layout:
    from qrcode.util import mask_func

    code = _layout_class()(version=version, error_correction=_LEVEL_M, border=0)
    code.data_cache = b""
    code.makeImpl(True, 0)
    free = code.data_modules
    n = len(free)
    test_base = _symbol(code.modules)
    bases = []
    for pattern in range(8):
        code.makeImpl(False, pattern)
        bases.append(_symbol(code.modules))
    masks = []
    for pattern in range(8):
        darkens = mask_func(pattern)
        masks.append(sum(1 << (r * n + c) for r in range(n) for c in range(n)
                         if free[r][c] and darkens(r, c)))
    # The data bits' order: two columns at a time from the right, upwards
    # and downwards in turn, skipping the vertical timing pattern
    # (qrcode's ``QRCode.map_data``).
    order = []
    row, step = n - 1, -1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while 0 <= row < n:
            order.extend(row * n + c for c in (col, col - 1) if free[row][c])
            row += step
        row -= step
        step = -step
    return _Layout(n, tuple(1 << i for i in order), tuple(masks), test_base, tuple(bases))


@lru_cache(maxsize=40)
def _score_masks(n: int) -> tuple[int, int, int, int]:
    """Where a pair, and where eleven modules, fit in a row and in a column."""
    def where(fits) -> int:
        return sum(1 << (r * n + c) for r in range(n) for c in range(n) if fits(r, c))

    return (where(lambda r, c: c <= n - 2), where(lambda r, c: r <= n - 2),
            where(lambda r, c: c <= n - 11), where(lambda r, c: r <= n - 11))


def _score(symbol: int, n: int) -> int:
    """qrcode's ``util.lost_point`` of the n×n ``symbol`` (bit r·n + c is row r, column c)."""
    pair_h, pair_v, eleven_h, eleven_v = _score_masks(n)
    light = symbol ^ ((1 << (n * n)) - 1)
    score = 0
    for step, pair, eleven in ((1, pair_h, eleven_h), (n, pair_v, eleven_v)):
        # Runs of five or more alike: 3 points, and 1 for each module more.
        same = ~(symbol ^ (symbol >> step)) & pair            # this module and the next agree
        five = same & (same >> step) & (same >> 2 * step) & (same >> 3 * step)
        score += five.bit_count() + 2 * (five & ~(five >> step)).bit_count()
        if step == 1:
            # 2×2 blocks of one colour: 3 points each.
            below = ~(symbol ^ (symbol >> n)) & pair_v
            score += 3 * (same & (same >> n) & below).bit_count()
        # 1011101 with four light modules before or after it: 40 points.
        dark = [symbol >> (k * step) for k in range(11)]
        lit = [light >> (k * step) for k in range(11)]
        core = lit[1] & dark[4] & lit[5] & dark[6] & lit[9] & eleven
        ahead = core & dark[0] & dark[2] & dark[3] & lit[7] & lit[8] & lit[10]
        behind = core & lit[0] & lit[2] & lit[3] & dark[7] & dark[8] & dark[10]
        score += 40 * (ahead.bit_count() + behind.bit_count())
    # Each 5 % of dark modules away from half: 10 points.
    score += int(abs(float(symbol.bit_count()) / (n**2) * 100 - 50) / 5) * 10
    return score


@lru_cache(maxsize=1)
def _layout_class():
    """qrcode's QRCode recording which modules hold data (those the data
    placement fills), to lay a version out once.

    Imported here: qrcode brings Pillow, which every process would otherwise
    load at start-up (through the platform checks) for the few that draw.
    """
    import qrcode

    class Layout(qrcode.QRCode):
        def map_data(self, data, mask_pattern):
            self.data_modules = [[cell is None for cell in row] for row in self.modules]

    return Layout


def qr_matrix(url: str) -> list[list[bool]]:
    """The modules of the code for ``url``, dark as True, without margin."""
    if not url:
        raise ValueError("a QR code needs a non-empty URL")
    return [list(row) for row in _matrix(url)]


def qr_png(url: str, *, box_size: int = 8) -> bytes:
    """A black-on-white PNG of the code with its quiet zone.

    The image is ``(modules + 2 * QUIET_ZONE) * box_size`` pixels square,
    one bit per pixel.
    """
    from PIL import Image

    matrix = qr_matrix(url)
    side = len(matrix) + 2 * QUIET_ZONE
    small = Image.new("1", (side, side), 1)
    pixels = small.load()
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                pixels[c + QUIET_ZONE, r + QUIET_ZONE] = 0
    image = small.resize((side * box_size, side * box_size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def qr_runs(matrix: list[list[bool]]):
    """Yield ``(row, first_column, length)`` for each horizontal dark run.

    Drawing runs instead of single modules keeps SVG paths and PDF content
    streams small and leaves no hairline gaps between adjacent modules.
    """
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                yield r, start, c - start
            else:
                c += 1


def qr_svg(url: str, *, label: str = "") -> str:
    """An inline ``<svg>`` element of the code, sized by the page's CSS.

    The viewBox counts modules, so the element scales to any size without
    blurring; ``label`` becomes its accessible name.
    """
    from django.utils.html import escape

    matrix = qr_matrix(url)
    side = len(matrix) + 2 * QUIET_ZONE
    path = "".join(
        f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h{n}v1h-{n}z" for r, c, n in qr_runs(matrix)
    )
    accessible = (f' role="img" aria-label="{escape(label)}"' if label
                  else ' aria-hidden="true"')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}"'
        f' shape-rendering="crispEdges"{accessible}>'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )
