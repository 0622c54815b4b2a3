"""Browser fixtures: Debian's Chromium driven by Playwright on a live server.

Chromium comes from Debian (``make browser``), never from Playwright's own
download.  One browser serves the whole package; each test gets a fresh
context (no cookies) on pytest-django's live server, with the shared test
world built through the services.
"""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import PASSWORD, World

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every test of this package.

    Package scope rather than session scope: while Playwright's sync API is
    started, an asyncio loop runs in the main thread, and tests of other
    packages must not run beside it.
    """
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Debian's Chromium ({CHROMIUM}) is not installed, so the browser tests cannot "
            "run. Run `make browser` (as root: it installs the chromium and "
            "fonts-wqy-microhei packages), or deselect them with -m 'not browser'.",
            pytrace=False,
        )
    # The running loop makes Django refuse ORM calls from the test thread
    # (building the world, flushing the database) as "async-unsafe"; they
    # are plain synchronous calls, so the guard is lifted while it runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Site:
    """The running portal and the people in it."""

    url: str
    world: World


# On PostgreSQL the audit table refuses TRUNCATE (audit migration 0002), which
# is how pytest-django empties the tables after a transactional test.
_TRUNCATE_TRIGGER = ("audit_auditrecord", "audit_record_no_truncate")


def _set_truncate_trigger(enabled: bool) -> None:
    if connection.vendor != "postgresql":
        return
    table, trigger = _TRUNCATE_TRIGGER
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", [trigger])
        if cursor.fetchone() is None:
            return
        verb = "ENABLE" if enabled else "DISABLE"
        cursor.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")


@pytest.fixture(scope="package")
def _truncate_trigger_restored(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Leave the trigger as the session set it (off), once the last test's
    tables have been emptied, so later transactional tests can be emptied too."""
    yield
    with django_db_blocker.unblock():
        _set_truncate_trigger(False)
        # While Playwright's loop runs, Django keeps this thread's connection
        # apart from the one it opened before; close it, or the test
        # database cannot be dropped at the end of the run.
        connection.close()


@pytest.fixture
def _truncate_after_test(_truncate_trigger_restored, transactional_db) -> Iterator[None]:
    """The trigger is on while the test runs, and off for the emptying after it.

    The emptying comes after every function fixture's teardown (the live
    server's helper asks for the database first), so the trigger is put
    back by the next test, or by the package when none is left.
    """
    _set_truncate_trigger(True)
    yield
    _set_truncate_trigger(False)


@pytest.fixture
def site(_truncate_after_test, live_server, world) -> Site:
    """The live server with the world in its database.

    ``live_server`` makes the test transactional, so the server's threads see
    the world; afterwards pytest-django empties the tables.
    """
    return Site(url=live_server.url, world=world)


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A fresh tab as a citizen's browser sends it: Chinese, no cookies."""
    context = browser.new_context(base_url=site.url, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def sign_in(page: Page):
    """``sign_in(username, password)``: sign in through the login form."""

    def submit(username: str, password: str) -> None:
        page.goto(reverse("portal:login"))
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_test_id("sign-in").click()

    return submit


def sign_in_as(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form on ``page`` (any context: a phone's too),
    and wait until signed in."""
    page.goto(reverse("portal:login"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def large_text_on(page: Page) -> None:
    """Turn on 大字模式 from the header, and wait for the page in large text."""
    page.get_by_test_id("large-text").click()
    expect(page.locator("html")).to_have_class(re.compile(r"\blarge-text\b"))
