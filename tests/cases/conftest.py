"""Fixtures of the case engine's tests: a fresh calendar, published items."""

import pytest
from django.core.files.storage import default_storage

from tests.cases.helpers import publish_item, stored_files
from yizhan.bpmn import clear_spec_cache
from yizhan.core.notify import MemorySmsBackend
from yizhan.workdays.selectors import calendar_cache_clear


@pytest.fixture(autouse=True)
def _fresh_caches():
    """No calendar, process spec, stored file or SMS outbox carries over.

    A test's writes are rolled back, never committed, so nothing tells the
    calendar cache.
    """
    calendar_cache_clear()
    clear_spec_cache()
    MemorySmsBackend.outbox.clear()
    for name in stored_files():
        default_storage.delete(name)
    yield
    calendar_cache_clear()


@pytest.fixture
def promised(world):
    """A published 承诺件 of agency A with two required materials and an optional one."""
    return publish_item(world, materials=[
        {"name": "申请书", "forms": ["original"]},
        {"name": "营业执照", "forms": ["copy"]},
        {"name": "补充说明", "forms": ["original"], "necessity": "optional"},
    ])
