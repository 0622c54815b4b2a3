"""Fixtures for the BPMN tests: no database, the cache emptied per test."""

import json

import pytest

from yizhan import bpmn


@pytest.fixture(autouse=True)
def _fresh_spec_cache():
    bpmn.clear_spec_cache()
    yield
    bpmn.clear_spec_cache()


class Case:
    """Drives one case the way the case engine will: only text is kept.

    Between calls the spec and the state exist only as JSON strings, and
    every call goes through a JSON round trip of both, as if each step were
    a separate request reading them back from the database.
    """

    def __init__(self, definition, *, data, agencies):
        self.spec_json = definition.spec_json
        self.step = bpmn.start(_reread(self.spec_json), data=data, agencies=agencies)
        self.history = []

    @property
    def ready(self):
        return self.step.ready

    def titles(self):
        return sorted(task.title for task in self.step.ready)

    def task(self, title, agency_id=None):
        matches = [t for t in self.step.ready
                   if t.title == title and (agency_id is None or t.agency_id == agency_id)]
        assert len(matches) == 1, (title, agency_id, self.step.ready)
        return matches[0]

    def do(self, title, agency_id=None, **data):
        task = self.task(title, agency_id)
        self.history.append((task.title, task.role, task.agency_id))
        self.step = bpmn.complete(_reread(self.spec_json), _reread(self.step.state_json),
                                  task_id=task.task_id, data=data)
        return self.step


def _reread(text: str) -> str:
    """The text as it comes back from a JSON column."""
    return json.dumps(json.loads(text), ensure_ascii=False)


@pytest.fixture
def case():
    return Case
