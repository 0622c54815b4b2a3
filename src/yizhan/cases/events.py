"""Appending case events: the only way a ``CaseEvent`` row is made.

Every state change of a case appends its event in the same transaction as
the change, with the request's correlation id.  Listeners registered with
``subscribe`` (supervision's on-event rules) run right after each append,
inside that transaction, so what they write commits or rolls back with it.
"""

from collections.abc import Callable

from django.utils import timezone

from yizhan.audit.services import actor_label
from yizhan.cases.models import Case, CaseEvent, EventType, Task
from yizhan.core import context

_listeners: list[Callable[[CaseEvent], None]] = []


def subscribe(listener: Callable[[CaseEvent], None]) -> None:
    """Call ``listener(event)`` after every append (in the same transaction)."""
    if listener not in _listeners:
        _listeners.append(listener)


def append(*, case: Case, type: str, actor, task: Task | None = None, agency_id=None,
           data: dict | None = None, at=None) -> CaseEvent:
    if type not in EventType.values:
        raise ValueError(f"unknown case event type {type!r}")
    actor_id, label = actor_label(actor)
    event = CaseEvent.objects.create(
        case=case, task=task, type=type, at=at or timezone.now(), actor_id=actor_id,
        actor_label=label[:150],
        agency_id=agency_id if agency_id is not None else (
            task.agency_id if task is not None else case.agency_id),
        data=data or {}, correlation_id=context.current().request_id,
    )
    for listener in list(_listeners):
        listener(event)
    return event
