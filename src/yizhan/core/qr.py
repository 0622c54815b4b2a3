"""QR codes that lead to the platform's public verification pages.

One matrix, three drawings: ``qr_png`` for images and e-mail, ``qr_svg``
for pages (scales without blurring and needs no image request), and
``yizhan.core.pdf`` draws the same ``qr_matrix`` as vector rectangles.
Error correction level M (15 % of the code may be lost) survives a creased
or stained print of a certificate while keeping a typical verification URL
at version 3 or 4, large modules at a 30 mm print size.
"""

import io
from functools import lru_cache

# The white margin the standard requires around the code, in modules.
QUIET_ZONE = 4


@lru_cache(maxsize=64)
def _matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    # Imported here: qrcode brings Pillow, which every process would otherwise
    # load at start-up (through the platform checks) for the few that draw.
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


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
