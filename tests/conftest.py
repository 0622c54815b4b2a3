"""Shared fixtures: the small world of two agencies, clients signed in as anyone."""

import pytest
from django.db import connection
from django.test import Client

from tests.factories import build_world
from yizhan.core import tasks


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Let transactional tests empty the audit table between tests.

    Django resets the database after a transactional test with TRUNCATE,
    which the audit table's trigger refuses on PostgreSQL.  Only the
    TRUNCATE trigger of the test database is switched off; UPDATE and
    DELETE stay refused, and tests/audit checks TRUNCATE with the trigger
    switched back on inside its own transaction.
    """
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_auditrecord DISABLE TRIGGER audit_record_no_truncate"
            )


@pytest.fixture(autouse=True)
def _eager_tasks(monkeypatch):
    monkeypatch.setattr(tasks, "EAGER", True)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the platform's language.

    A request through the test client activates the request's language in
    this thread and nothing resets it, so a test after an English request
    would otherwise render messages in English.
    """
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Tests roll back; a calendar, rules or whether the demo city is loaded,
    cached by an earlier test, must not leak."""
    from yizhan.demo import loaded_cache_clear
    from yizhan.supervision.detection import rules_cache_clear
    from yizhan.workdays.selectors import calendar_cache_clear

    calendar_cache_clear()
    rules_cache_clear()
    loaded_cache_clear()
    yield
    calendar_cache_clear()
    rules_cache_clear()
    loaded_cache_clear()


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def client_for():
    """``client_for(user)``: a test client with ``user`` signed in."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
