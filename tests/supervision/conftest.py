"""Fixtures of supervision's tests: the case engine's, a city supervision officer, rules."""


import pytest

from tests.cases.conftest import _fresh_caches, promised  # noqa: F401  (fixtures)
from tests.supervision.helpers import city_officer, seed_as_migrations_do, set_enabled


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


@pytest.fixture
def committed(transactional_db):
    """Committed writes, with the rules and the scheme as their migrations seed them.

    A committed test empties the tables afterwards, seeded rows too, so an
    earlier one may have left none.  Seeding is idempotent.
    """
    seed_as_migrations_do("supervision")
