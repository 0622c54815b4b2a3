"""Distributed mode: registered tasks travel to Celery over a real Redis."""

import socket
import uuid

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from yizhan.core import tasks

REDIS = ("127.0.0.1", 6379)


def _redis_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(REDIS) == 0


def test_celery_app_knows_every_registered_task_and_schedule():
    """Every platform task is a Celery task, and periodic ones are on beat's schedule."""
    from yizhan.core.celery import app

    assert set(tasks.registered()) <= set(app.tasks)
    for item in tasks.periodic():
        assert app.conf.beat_schedule[item.name]["schedule"] == float(item.seconds)


def test_a_worker_runs_each_task_in_a_context_of_its_own(monkeypatch):
    """As in embedded mode: one correlation id for the task's writes, source "task"."""
    from yizhan.core import context
    from yizhan.core.celery import app

    seen = []
    monkeypatch.setitem(tasks._registry, "accounts.clear_expired_sessions",
                        lambda: seen.append(context.current()) or 0)
    assert app.tasks["accounts.clear_expired_sessions"]() == 0
    [ctx] = seen
    assert ctx.source == "task" and ctx.request_id


@pytest.mark.django_db
def test_session_cleanup_task_deletes_only_expired_sessions():
    """The hourly clean-up removes expired sessions and keeps live ones."""
    now = timezone.now()
    Session.objects.create(session_key="old" + uuid.uuid4().hex, session_data="",
                           expire_date=now - timezone.timedelta(hours=1))
    live = Session.objects.create(session_key="new" + uuid.uuid4().hex, session_data="",
                                  expire_date=now + timezone.timedelta(hours=1))
    assert tasks.run_now("accounts.clear_expired_sessions") == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


@pytest.mark.django_db(transaction=True)
def test_enqueue_with_a_broker_sends_the_task_through_redis(settings, monkeypatch):
    """With YIZHAN_BROKER_URL set, enqueue publishes to the broker after commit."""
    if not _redis_up():
        pytest.fail("Redis is not running on 127.0.0.1:6379 (start it: see docs/operations.md)")
    from kombu import Connection, Exchange, Queue

    from yizhan.core.celery import app

    url = "redis://127.0.0.1:6379/15"
    settings.YIZHAN_BROKER_URL = url
    app.conf.broker_url = url
    queue = f"yizhan-test-{uuid.uuid4().hex}"
    app.conf.task_default_queue = queue
    try:
        with Connection(url) as conn:
            # Celery's default queue: a direct exchange and routing key of its name.
            Queue(queue, Exchange(queue, type="direct"), routing_key=queue)(
                conn.default_channel).declare()
            simple = conn.SimpleQueue(queue)
            monkeypatch.setattr(tasks, "EAGER", False)
            from django.db import transaction

            with transaction.atomic():
                tasks.enqueue("accounts.clear_expired_sessions")
                with pytest.raises(simple.Empty):  # nothing leaves before the commit
                    simple.get(timeout=0.2)
            message = simple.get(timeout=5)
            assert message.headers["task"] == "accounts.clear_expired_sessions"
            message.ack()
            simple.close()
    finally:
        app.conf.task_default_queue = "celery"
        app.conf.broker_url = None
