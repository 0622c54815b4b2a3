"""Limits stated in MB, as every page and message states them."""

import pytest

from yizhan.core.sizes import MiB, megabytes


@pytest.mark.parametrize(("size", "stated"), [
    (10 * MiB, "10"),
    (200 * MiB, "200"),
    (MiB + MiB // 2, "1.5"),        # not "1"
    (MiB, "1"),
    (MiB // 2, "0.5"),              # not "0"
    (MiB // 4, "0.25"),
    (64 * 1024, "0.062"),
    (1024, "0.00098"),
    (0, "0"),
])
def test_a_size_is_stated_in_mb_without_rounding_it_away(size, stated):
    assert megabytes(size) == stated
