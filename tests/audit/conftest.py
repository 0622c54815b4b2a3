"""Fixtures for the audit tests: committed transactions and tampering.

On PostgreSQL the audit table carries triggers that refuse UPDATE, DELETE
and TRUNCATE (migration 0002).  Two consequences for tests:

- a test that tampers with records switches the triggers off inside its
  own transaction (``trigger_off``), which the end of the test rolls back;
- a test whose transactions really commit (``committed_db``) may switch
  them off for good, and ends with Django emptying every table with
  TRUNCATE; the triggers are off for that and put back afterwards exactly
  as they were before the test.
"""

import itertools
from types import SimpleNamespace

import pytest

from yizhan.audit import services as audit_services

from .chains import set_triggers, trigger_states


@pytest.fixture
def _audit_triggers_restored(django_db_setup, django_db_blocker):
    """Put the triggers back as they were, after the emptying of the tables."""
    with django_db_blocker.unblock():
        before = trigger_states()
    yield
    with django_db_blocker.unblock():
        for name, state in before.items():
            set_triggers(state != "D", name)


@pytest.fixture
def committed_db(_audit_triggers_restored, transactional_db):
    """A database whose transactions commit, and that can be emptied afterwards."""
    yield
    set_triggers(False)


@pytest.fixture
def trigger_off(db):
    """Let raw SQL alter audit rows until the test's transaction rolls back."""
    set_triggers(False)


@pytest.fixture
def shard_cycle(monkeypatch):
    """Make each transaction's random shard the next of 0, 1, 2, ... in turn."""
    counter = itertools.count()
    monkeypatch.setattr(audit_services, "secrets",
                        SimpleNamespace(randbelow=lambda n: next(counter) % n))
    return counter
