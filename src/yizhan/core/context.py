"""Per-request context that services read without threading it through.

The request id is set by middleware for a web request (and by the task
runner for background work) and read by the audit log and the case events,
so every record of one user action carries the same id.  Services still take the actor
as an explicit argument: the context only adds where the call came from.
"""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    source: str = "web"  # web, api, cli, task


_current: ContextVar[RequestContext | None] = ContextVar("yizhan_request_context", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        # Outside a request (shell, test, background task): each call gets a
        # fresh id so records are never wrongly grouped.
        return RequestContext(request_id=new_request_id(), source="system")
    return ctx


def activate(ctx: RequestContext):
    return _current.set(ctx)


def deactivate(token) -> None:
    _current.reset(token)


@contextmanager
def acting(source: str):
    """One action outside a web request (a command, a task): a fresh id, so
    every event and audit record it writes shares one correlation id."""
    token = activate(RequestContext(request_id=new_request_id(), source=source))
    try:
        yield
    finally:
        deactivate(token)
