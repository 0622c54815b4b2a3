"""Sizes as pages and messages state them.

Limits are set in bytes (``YIZHAN_MAX_UPLOAD_BYTES`` and the like) and
stated in MB.  Every page and message that names one formats it here, so
that a limit of 1.5 MB never reads "1 MB" in one place and "1.5 MB" in
another, and a limit under 1 MB never reads "0 MB".
"""

import math

MiB = 1024 * 1024


def megabytes(size: int) -> str:
    """``size`` bytes in MB, as a limit is stated: "10", "1.5", "0.25".

    One decimal from 1 MB up; below it two significant digits, so that a
    small limit is not rounded down to nothing.
    """
    value = size / MiB
    if value >= 1 or value == 0:
        return f"{round(value, 1):g}"
    decimals = 1 - math.floor(math.log10(value))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")
