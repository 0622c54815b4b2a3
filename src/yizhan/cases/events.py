"""Appending case events: the only way a ``CaseEvent`` row is made.

Every state change of a case appends its event in the same transaction as
the change, with the request's correlation id.  Listeners registered with
``subscribe`` (supervision's on-event rules) run right after each append,
inside that transaction, so what they write commits or rolls back with it.

The actor an event recorded is read back here too (``closer``,
``recorded_actor``, ``same_actor``): to name it again in what follows from
its act, and to tell a request sent again by the same actor from another's.
"""

from collections.abc import Callable
from dataclasses import dataclass

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


# The events that close a task, each naming the task and whoever closed it:
# its decision (task_complete) or its return (task_return).  A refusal
# decided by a joint review's veto is recorded on that review, as its
# reviewer's.
TASK_CLOSING = (EventType.ACCEPTED, EventType.NOT_ACCEPTED, EventType.REVIEWED,
                EventType.APPROVED, EventType.REFUSED, EventType.DELIVERED,
                EventType.REPLIED, EventType.RETURNED)


@dataclass(frozen=True)
class RecordedActor:
    """An actor without an account (an API token), as an event recorded it.

    What follows from a token's act, later and elsewhere (the certificate
    issued on its decision, the refusal its veto decided), names the token
    as its own act did, by the label it was recorded under, rather than
    "system": the token itself is not at hand there.
    """

    audit_label: str
    pk = None
    user_id = None


def latest(*, types, case: Case | None = None, task: Task | None = None) -> CaseEvent | None:
    """The last event of one of ``types`` of ``case`` (or naming ``task``)."""
    events = CaseEvent.objects.filter(type__in=types).select_related("actor")
    events = events.filter(task_id=task.pk) if task is not None else events.filter(case=case)
    return events.order_by("-at", "-id").first()


def closer(task: Task):
    """Who closed ``task``, as its own closing event (``TASK_CLOSING``) recorded it.

    The person's account; a token as a ``RecordedActor`` with its label; None
    for the system, or for a task no event closed.  A task remembers its
    person only (``claimed_by``), which a token never sets, so what follows
    from the task's decision asks its closing event, not the task.
    """
    return recorded_actor(latest(types=TASK_CLOSING, task=task))


def recorded_actor(event: CaseEvent | None):
    """The actor ``event`` names, to be named again (see ``closer``)."""
    if event is None or (event.actor_id, event.actor_label) == actor_label(None):
        return None
    if event.actor_id is not None:
        return event.actor
    return RecordedActor(audit_label=event.actor_label)


def made_by(actor) -> dict:
    """The lookups of the events ``actor`` made, as ``append`` records them: a
    person by account, a token (or the system) by its label (``same_actor``)."""
    actor_id, label = actor_label(actor)
    if actor_id is not None:
        return {"actor_id": actor_id}
    return {"actor_id__isnull": True, "actor_label": label[:150]}


def same_actor(one, other) -> bool:
    """Whether ``one`` and ``other`` are the same actor as ``append`` records
    them: a person by account, a token (or the system) by its label."""
    one_id, one_label = actor_label(one)
    other_id, other_label = actor_label(other)
    if one_id is not None or other_id is not None:
        return one_id == other_id
    return one_label[:150] == other_label[:150]
