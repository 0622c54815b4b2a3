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
import re
from functools import lru_cache

# The white margin the standard requires around the code, in modules.
QUIET_ZONE = 4


@lru_cache(maxsize=64)
def _matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    from qrcode.constants import ERROR_CORRECT_M

    code = _code_class()(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


# --- choosing the mask ---------------------------------------------------------
#
# The standard has the encoder try all eight masks and keep the one whose
# symbol scores the lowest penalty (ISO/IEC 18004 §7.8.3: long runs, 2×2
# blocks, finder-like patterns, the balance of dark and light).  qrcode
# lays out the whole symbol again for each mask and scores it module by
# module: 11 ms of a certificate's 40.  Only the data modules differ from
# one mask to the next, so here the symbol is laid out once, each mask is
# applied to whole rows held as integers, and the penalty is scored on
# rows and columns as bit strings.  The mask chosen, and its penalty, are
# qrcode's own (tests/signing/test_qr.py compares them).

_RUN = re.compile(r"0{5,}|1{5,}")
_FINDER_LIKE = re.compile(r"(?=10111010000|00001011101)")


@lru_cache(maxsize=1)
def _code_class():
    # Imported here: qrcode brings Pillow, which every process would otherwise
    # load at start-up (through the platform checks) for the few that draw.
    import qrcode

    class Code(qrcode.QRCode):
        def best_mask_pattern(self):
            return _best_mask(self)

    class Layout(qrcode.QRCode):
        """Records which modules hold data (those the data placement fills)."""

        def map_data(self, data, mask_pattern):
            self.data_modules = [[cell is None for cell in row] for row in self.modules]

    Code.layout_class = Layout
    return Code


@lru_cache(maxsize=40)
def _masks(code_class, version: int) -> tuple[tuple[int, ...], ...]:
    """For each mask pattern, per row, the data modules it darkens, as bits."""
    from qrcode.util import mask_func

    layout = code_class.layout_class(version=version, border=0)
    layout.data_cache = b""
    layout.makeImpl(True, 0)
    size = len(layout.data_modules)
    masks = []
    for pattern in range(8):
        darkens = mask_func(pattern)
        masks.append(tuple(
            sum(1 << c for c in range(size) if row[c] and darkens(r, c))
            for r, row in enumerate(layout.data_modules)))
    return tuple(masks)


def _best_mask(code) -> int:
    code.makeImpl(True, 0)
    size = len(code.modules)
    masks = _masks(type(code), code.version)
    plain = [sum(1 << c for c, dark in enumerate(row) if dark) ^ mask
             for row, mask in zip(code.modules, masks[0], strict=True)]
    scores = [_penalty([row ^ mask for row, mask in zip(plain, masks[pattern], strict=True)],
                       size)
              for pattern in range(8)]
    return scores.index(min(scores))   # the first of equals, as qrcode does


def _penalty(rows: list[int], size: int) -> int:
    """qrcode's ``util.lost_point`` of the symbol whose rows are ``rows`` (bit c = column c)."""
    lines = [format(row, f"0{size}b") for row in rows]
    lines += ["".join(column) for column in zip(*lines, strict=True)]
    runs = sum(len(run) - 2 for line in lines for run in _RUN.findall(line))
    finder_like = 40 * sum(len(_FINDER_LIKE.findall(line)) for line in lines)
    # A 2×2 block at column c is of one colour when each row's modules c and
    # c+1 agree and the two rows agree at c.
    pairs = (1 << (size - 1)) - 1
    blocks = 0
    for upper, lower in itertools.pairwise(rows):
        same = ~(upper ^ (upper >> 1)) & ~(lower ^ (lower >> 1)) & ~(upper ^ lower) & pairs
        blocks += same.bit_count()
    dark = sum(row.bit_count() for row in rows)
    balance = int(abs(float(dark) / (size**2) * 100 - 50) / 5) * 10
    return runs + 3 * blocks + finder_like + balance


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
