"""Shared fixtures: the small world of two agencies, clients signed in as anyone."""

import pytest
from django.test import Client

from tests.factories import build_world
from yizhan.core import tasks


@pytest.fixture(autouse=True)
def _eager_tasks(monkeypatch):
    monkeypatch.setattr(tasks, "EAGER", True)


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
