"""One interface for background work, embedded or distributed.

``enqueue(name, **kwargs)`` schedules a registered task after the current
transaction commits.  With no broker configured (embedded mode) the task
runs in this process, on a small worker thread so the request that
scheduled it is not held up; with ``YIZHAN_BROKER_URL`` set it is sent to
Celery workers.  ``every(seconds)`` registers periodic tasks that the
embedded scheduler (or Celery beat) runs; they must be idempotent, since
two nodes may run the same schedule.
"""

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, transaction

log = logging.getLogger(__name__)

_registry: dict[str, Callable] = {}
_periodic: list["Periodic"] = []


@dataclass(frozen=True)
class Periodic:
    name: str
    seconds: int


def task(name: str, *, every: int | None = None):
    """Register ``func`` as the task ``name`` (optionally periodic)."""

    def decorate(func):
        if name in _registry and _registry[name] is not func:
            raise ValueError(f"task {name!r} registered twice")
        _registry[name] = func
        if every:
            _periodic.append(Periodic(name, every))
        return func

    return decorate


def registered() -> dict[str, Callable]:
    return dict(_registry)


def periodic() -> list[Periodic]:
    return list(_periodic)


def run_now(name: str, **kwargs):
    """Run a task synchronously in this process (workers and tests use this).

    Outside a request, the task gets a context of its own, so every event
    and audit record it writes shares one correlation id.
    """
    from yizhan.core import context

    if context._current.get() is not None:
        return _registry[name](**kwargs)
    with context.acting("task"):
        return _registry[name](**kwargs)


class _EmbeddedRunner:
    def __init__(self):
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, name: str, kwargs: dict) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="yizhan-tasks",
                                                daemon=True)
                self._thread.start()
        self._queue.put((name, kwargs))

    def _loop(self):
        while True:
            name, kwargs = self._queue.get()
            close_old_connections()
            try:
                run_now(name, **kwargs)
            except Exception:
                log.exception("background task %s failed", name)
            finally:
                close_old_connections()
                self._queue.task_done()

    def drain(self) -> None:
        self._queue.join()


_embedded = _EmbeddedRunner()

# Set by the test suite so tasks run synchronously at commit.
EAGER = False


def enqueue(name: str, **kwargs) -> None:
    if name not in _registry:
        raise KeyError(f"unknown task {name!r}")

    def send():
        if EAGER:
            run_now(name, **kwargs)
        elif settings.YIZHAN_BROKER_URL:
            from yizhan.core.celery import app

            try:
                app.send_task(name, kwargs=kwargs)
            except Exception:
                # The step has committed: an unreachable broker (restarting,
                # a network fault) must neither turn it into a server error
                # nor lose its work (a certificate, a notice).  The work runs
                # here instead, as it does without a broker.
                log.exception("cannot hand task %s to the broker; running it in this "
                              "process", name)
                _embedded.submit(name, kwargs)
        else:
            _embedded.submit(name, kwargs)

    transaction.on_commit(send)


def drain() -> None:
    """Wait until the embedded runner has finished what it was given."""
    _embedded.drain()


class EmbeddedScheduler(threading.Thread):
    """Runs the periodic tasks in the serving process (embedded mode)."""

    def __init__(self, tick: float = 1.0):
        super().__init__(name="yizhan-scheduler", daemon=True)
        self._stop = threading.Event()
        self._tick = tick

    def run(self):
        import time

        last: dict[str, float] = {}
        while not self._stop.is_set():
            now = time.monotonic()
            for item in _periodic:
                if now - last.get(item.name, 0.0) >= item.seconds:
                    last[item.name] = now
                    _embedded.submit(item.name, {})
            self._stop.wait(self._tick)

    def stop(self):
        self._stop.set()
