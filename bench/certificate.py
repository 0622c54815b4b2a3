"""Benchmark: rendering an electronic certificate, against signing it.

Renders certificates like those the case engine issues (a company holder,
five fields, a fresh verification URL each time, so that no QR code is
cached) with ``yizhan.core.pdf.render_certificate``, in a process that has
rendered one already (the font is parsed once per process; that first
render is reported apart).  The baseline is a fixed task measured in the
same run, in turns with the rendering so that machine load hits both
alike: digesting and signing the same bytes as ``sign_certificate_bytes``
does (SM3, then SM2-SM3 where tongsuopy is installed, Ed25519 otherwise,
with a key made in the process: no database).  Times are the process's CPU
time, which waiting for a core on a shared machine does not inflate; the
renders' wall-clock time is reported too.  Then the QR code's two
parts, each against the plain way in turns: the matrix from ``core.qr``
against the qrcode library's own ``make``, and the drawing (one piece of
page content) against one ``pdf.rect`` call per run of dark modules.

Checks that the same input gives the same bytes and that every matrix is
qrcode's (exit status 1 otherwise).  Needs Django settings but no database.
Prints one JSON object::

    .venv/bin/python bench/certificate.py [--count 20] [--rounds 5]
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _setup_django() -> None:
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    os.environ.setdefault("YIZHAN_FIELD_KEY", "000102030405060708090a0b0c0d0e0f")
    os.environ.setdefault("YIZHAN_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "yizhan.settings"
    import django

    django.setup()


def certificates(seed: int):
    """Endless certificate arguments, as the case engine passes them, each with its own URL."""
    rng = random.Random(seed)
    issued = dt.datetime(2026, 3, 5, 2, 30, tzinfo=dt.UTC)
    n = 0
    while True:
        n += 1
        token = "".join(rng.choice(TOKEN_CHARS) for _ in range(24))   # token_urlsafe(18)
        yield {
            "title": "食品经营许可证",
            "number": f"4499002026{n:010d}-01",
            "holder": "示范市东湖区湖滨餐饮管理有限公司",
            "fields": [
                ("统一社会信用代码", "91449900MA5T8Q6X1K"),
                ("法定代表人", "张三"),
                ("许可事项", "开办餐饮店“一件事”"),
                ("许可内容", "食品经营许可证"),
                ("办件编号", f"4499002026{n:010d}"),
            ],
            "issuer": "示范市市场监督管理局",
            "issued_at": issued + dt.timedelta(seconds=n),
            "verify_url": f"http://127.0.0.1:8000/verify/{token}/",
            "seal_text": "示范市市场监督管理局\n电子证照专用章",
        }


def timed(func, *args) -> tuple[tuple[float, float], object]:
    """The CPU and wall-clock seconds of ``func(*args)``, and its result."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = func(*args)
    return (time.process_time() - cpu, time.perf_counter() - wall), result


def summary(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {"median": round(statistics.median(ms), 3), "best": round(ms[0], 3),
            "p90": round(ms[int(0.9 * (len(ms) - 1))], 3)}


def in_turns(rounds: int, count: int, first, second) -> tuple[list, list, list[float]]:
    """``count`` calls of each, in turns for ``rounds``.

    Returns the (CPU, wall) seconds of each call of either, and each
    round's ratio of the CPU medians.
    """
    times: tuple[list, list] = ([], [])
    ratios = []
    for _ in range(rounds):
        medians = []
        for k, func in enumerate((first, second)):
            batch = [func()[0] for _ in range(count)]
            times[k].extend(batch)
            medians.append(statistics.median(cpu for cpu, _wall in batch))
        ratios.append(medians[0] / medians[1])
    return times[0], times[1], ratios


def cpu(times) -> list[float]:
    return [seconds for seconds, _wall in times]


def wall(times) -> list[float]:
    return [seconds for _cpu, seconds in times]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20,
                        help="calls of each variant per round (default 20)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds, the variants in turns (default 5)")
    parser.add_argument("--seed", type=int, default=20260305, help="random seed")
    args = parser.parse_args(argv)

    _setup_django()
    import fpdf  # imported before the clock: the first render only parses the font
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    from yizhan.audit import signing
    from yizhan.core import pdf, qr

    inputs = certificates(args.seed)
    first_args = next(inputs)
    (_cpu, first_seconds), first = timed(lambda: pdf.render_certificate(**first_args))
    same_bytes = pdf.render_certificate(**first_args) == first

    algorithm = signing.default_algorithm()
    private_pem, _public, _fingerprint = signing._generate(algorithm)
    private = signing._load_private(algorithm, private_pem)

    def render():
        arguments = next(inputs)
        return timed(lambda: pdf.render_certificate(**arguments))

    def sign():
        def digest_and_sign():
            digest = signing.certificate_digest(first)
            return signing._sign(algorithm, private, signing.certificate_message(digest))
        return timed(digest_and_sign)

    render_times, sign_times, ratios = in_turns(args.rounds, args.count, render, sign)

    # The QR code alone: the matrix, then the drawing.
    urls = [next(inputs)["verify_url"] for _ in range(args.count * args.rounds * 2)]
    agree = True

    def library_matrix(url):
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
        code.add_data(url)
        code.make(fit=True)
        return code.get_matrix()

    pending = iter(urls)

    def ours():
        nonlocal agree
        url = next(pending)
        seconds, matrix = timed(qr._matrix.__wrapped__, url)   # past the cache
        agree = agree and [list(row) for row in matrix] == library_matrix(url)
        return seconds, matrix

    def theirs():
        return timed(library_matrix, next(pending))

    matrix_times, library_times, matrix_ratios = in_turns(args.rounds, args.count, ours, theirs)

    url = urls[0]
    matrix = qr.qr_matrix(url)
    page = fpdf.FPDF(orientation="P", unit="mm", format="A4")
    page.add_page()

    def draw_rect():
        module = pdf.QR_SIZE / (len(matrix) + 2 * qr.QUIET_ZONE)
        with page.local_context(fill_color=(255, 255, 255)):
            page.rect(pdf.QR_X, pdf.QR_Y, pdf.QR_SIZE, pdf.QR_SIZE, style="F")
        with page.local_context(fill_color=(0, 0, 0)):
            for r, c, n in qr.qr_runs(matrix):
                page.rect(pdf.QR_X + (c + qr.QUIET_ZONE) * module,
                          pdf.QR_Y + (r + qr.QUIET_ZONE) * module, n * module, module,
                          style="F")

    draw_times, rect_times, draw_ratios = in_turns(
        args.rounds, args.count, lambda: timed(pdf._qr, page, url), lambda: timed(draw_rect))

    print(json.dumps({
        "benchmark": "certificate.render",
        "certificates": len(render_times),
        "rounds": args.rounds,
        "first_render_seconds": round(first_seconds, 3),
        "render_cpu_ms": summary(cpu(render_times)),
        "render_wall_ms": summary(wall(render_times)),
        "baseline_digest_and_sign_cpu_ms": summary(cpu(sign_times)),
        "algorithm": algorithm,
        "ratio_render_over_sign": round(statistics.median(cpu(render_times))
                                        / statistics.median(cpu(sign_times)), 2),
        "ratio_by_round": [round(r, 2) for r in ratios],
        "pdf_bytes": len(first),
        "qr": {
            "modules": len(matrix),
            "matrix_cpu_ms": summary(cpu(matrix_times)),
            "qrcode_make_cpu_ms": summary(cpu(library_times)),
            "ratio_qrcode_over_matrix": round(1 / statistics.median(matrix_ratios), 2),
            "draw_cpu_ms": summary(cpu(draw_times)),
            "rect_per_run_cpu_ms": summary(cpu(rect_times)),
            "ratio_rect_over_draw": round(1 / statistics.median(draw_ratios), 2),
        },
        "same_input_same_bytes": same_bytes,
        "matrices_agree": agree,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "fonts": [font.path for font in pdf.cjk_fonts()],
        "fpdf2": version("fpdf2"),
        "fonttools": version("fonttools"),
        "python": platform.python_version(),
    }, ensure_ascii=False, indent=2))
    return 0 if same_bytes and agree else 1


if __name__ == "__main__":
    sys.exit(main())
