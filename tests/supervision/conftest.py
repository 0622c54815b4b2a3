"""Fixtures of supervision's tests: the case engine's, a city supervision officer, rules."""

import pytest

from tests.cases.conftest import _fresh_caches, promised  # noqa: F401  (fixtures)
from tests.supervision.helpers import city_officer, set_enabled


@pytest.fixture
def officer(world):
    """A supervision officer of the city's supervision office, watching every agency."""
    return city_officer(world)


@pytest.fixture
def lines_only(db):
    """``lines_only(*codes)``: switch every timeliness rule off but ``codes``."""

    def keep(*codes):
        set_enabled(exclude=codes, kind="timeliness", enabled=False)

    return keep
