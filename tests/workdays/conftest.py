"""Fixtures of the workdays tests: a clean calendar cache, calendar administrators."""

import pytest

from yizhan.directory import services as directory_services
from yizhan.directory.roles import Role
from yizhan.workdays.selectors import calendar_cache_clear


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """Each test starts with no cached calendar.

    A test's writes are rolled back, never committed, so no commit hook
    tells the cache; without this a calendar built in one test could be
    served to the next within the second the cache trusts itself.
    """
    calendar_cache_clear()
    yield
    calendar_cache_clear()


@pytest.fixture
def city_sysadmin(world):
    """Agency A's system administrator, granted the city as a whole."""
    officer = world.user("a", Role.SYSADMIN)
    directory_services.scope_grant_create(actor=world.admin, user=officer, role=Role.SYSADMIN,
                                          division=world.city, reason="市政务办授权维护工作日历")
    return officer
