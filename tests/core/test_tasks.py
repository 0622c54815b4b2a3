"""Background work: enqueue runs a task after commit, never on rollback.

The suite runs tasks eagerly at commit (tests/conftest.py).  The embedded
runner, which serves a laptop installation, is exercised with EAGER off.
Tasks registered here go into a copy of the registry, dropped after each
test.
"""

import logging
import threading

import psycopg
import pytest
from django.db import close_old_connections, connection, transaction
from django.test import override_settings

from tests.markers import postgres_only
from yizhan.core import tasks


class Boom(Exception):
    pass


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the task registry and schedule for this test."""
    monkeypatch.setattr(tasks, "_registry", dict(tasks._registry))
    monkeypatch.setattr(tasks, "_periodic", list(tasks._periodic))


@pytest.fixture
def ran(registry):
    """Register ``tests.record``, which notes its arguments and thread."""
    calls: list[dict] = []

    @tasks.task("tests.record")
    def record(**kwargs):
        calls.append({"kwargs": kwargs, "thread": threading.current_thread().name})

    return calls


def test_task_runs_only_after_commit(db, ran, django_capture_on_commit_callbacks):
    """Nothing runs while the transaction is open; the task runs at commit."""
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            tasks.enqueue("tests.record", case_id=7)
            assert ran == []
        assert ran == []
    assert [call["kwargs"] for call in ran] == [{"case_id": 7}]


def test_task_never_runs_on_rollback(db, ran, django_capture_on_commit_callbacks):
    """A rolled-back transaction drops the tasks it scheduled."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Boom), transaction.atomic():
            tasks.enqueue("tests.record", case_id=8)
            raise Boom
        tasks.enqueue("tests.record", case_id=9)
    assert [call["kwargs"] for call in ran] == [{"case_id": 9}]
    assert len(callbacks) == 1


def test_task_runs_after_a_real_commit(transactional_db, ran):
    """On a committed transaction the task runs once the outer block ends."""
    with transaction.atomic():
        tasks.enqueue("tests.record", n=1)
        with transaction.atomic():
            tasks.enqueue("tests.record", n=2)
        assert ran == []
    assert [call["kwargs"] for call in ran] == [{"n": 1}, {"n": 2}]


def test_task_outside_a_transaction_runs_at_once(transactional_db, ran):
    """In autocommit there is nothing to wait for."""
    tasks.enqueue("tests.record", n=3)
    assert [call["kwargs"] for call in ran] == [{"n": 3}]


def test_unknown_task_raises(db, registry, django_capture_on_commit_callbacks):
    """Enqueueing a name nobody registered fails at once, scheduling nothing."""
    with django_capture_on_commit_callbacks() as callbacks, \
            pytest.raises(KeyError, match=r"tests\.nobody"):
        tasks.enqueue("tests.nobody")
    assert callbacks == []


def test_embedded_runner_runs_tasks_on_its_thread(db, ran, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    """With EAGER off and no broker, the task runs on the runner's thread."""
    monkeypatch.setattr(tasks, "EAGER", False)
    with override_settings(YIZHAN_BROKER_URL=""), \
            django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue("tests.record", n=1)
        tasks.enqueue("tests.record", n=2)
    tasks.drain()
    assert [call["kwargs"] for call in ran] == [{"n": 1}, {"n": 2}]
    assert {call["thread"] for call in ran} == {"yizhan-tasks"}
    assert threading.current_thread().name != "yizhan-tasks"


def test_embedded_runner_survives_a_failing_task(db, ran, monkeypatch, caplog,
                                                 django_capture_on_commit_callbacks):
    """A failing task is logged and the next one still runs."""

    @tasks.task("tests.fail")
    def fail():
        raise Boom("task failed on purpose")

    monkeypatch.setattr(tasks, "EAGER", False)
    with caplog.at_level(logging.ERROR, logger="yizhan.core.tasks"), \
            override_settings(YIZHAN_BROKER_URL=""), \
            django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue("tests.fail")
        tasks.enqueue("tests.record", n=3)
    tasks.drain()
    assert [call["kwargs"] for call in ran] == [{"n": 3}]
    assert "background task tests.fail failed" in caplog.text


def test_broker_mode_sends_to_celery(db, ran, monkeypatch, django_capture_on_commit_callbacks):
    """With a broker URL the task is handed to Celery by name, after commit."""
    celery_module = pytest.importorskip("yizhan.core.celery")
    sent = []
    monkeypatch.setattr(celery_module.app, "send_task",
                        lambda name, kwargs: sent.append((name, kwargs)))
    monkeypatch.setattr(tasks, "EAGER", False)
    with override_settings(YIZHAN_BROKER_URL="redis://127.0.0.1:6379/0"), \
            django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue("tests.record", n=4)
        assert sent == []
    assert sent == [("tests.record", {"n": 4})]
    assert ran == []


def test_an_unreachable_broker_runs_the_task_here(db, ran, monkeypatch, caplog,
                                                  django_capture_on_commit_callbacks):
    """The step has committed when the broker refuses (Redis restarting): no
    error reaches the user, and the work is done in this process, not lost."""
    celery_module = pytest.importorskip("yizhan.core.celery")

    def refused(name, kwargs):
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setattr(celery_module.app, "send_task", refused)
    monkeypatch.setattr(tasks, "EAGER", False)
    with caplog.at_level(logging.ERROR, logger="yizhan.core.tasks"), \
            override_settings(YIZHAN_BROKER_URL="redis://127.0.0.1:6399/0"), \
            django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue("tests.record", n=5)
    tasks.drain()
    assert [call["kwargs"] for call in ran] == [{"n": 5}]
    assert "cannot hand task tests.record to the broker" in caplog.text


def test_run_now_runs_synchronously(ran):
    """Workers and tests call run_now, which returns the task's result."""
    assert tasks.run_now("tests.record", n=5) is None
    assert ran[0]["kwargs"] == {"n": 5}
    assert ran[0]["thread"] == threading.current_thread().name


def test_registering_a_name_twice_is_refused(registry):
    """Two functions under one name would make the name ambiguous."""

    @tasks.task("tests.once")
    def first():
        return 1

    assert tasks.task("tests.once")(first) is first  # the same function again is fine
    with pytest.raises(ValueError, match="registered twice"):

        @tasks.task("tests.once")
        def second():
            return 2


def test_periodic_tasks_are_listed(registry):
    """every= registers a periodic task for the scheduler and Celery beat."""

    @tasks.task("tests.sweep", every=300)
    def sweep():
        return None

    assert tasks.Periodic("tests.sweep", 300) in tasks.periodic()
    assert tasks.registered()["tests.sweep"] is sweep


@postgres_only
def test_a_job_after_the_database_dropped_the_connection(transactional_db, world):
    """The database restarted (a failover, an idle connection cut by a firewall)
    while a worker kept its connection (CONN_MAX_AGE): the next job, run as the
    embedded runner and Celery's Django fixup run it (close_old_connections
    first), reconnects rather than fail and be lost.  So does the first request
    of each web thread, which would otherwise answer 500."""
    connection.ensure_connection()
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    close_old_connections()     # what the runner does before each job
    try:
        assert tasks.run_now("cases.release_lapsed_claims") == {"released": 0}
    finally:
        connection.close()      # for the test database's teardown
