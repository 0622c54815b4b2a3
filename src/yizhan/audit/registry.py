"""The closed set of audit actions.

Each app defines its actions as ``TextChoices`` with values prefixed by the
app label (``directory.staff_created``) and registers them in its
``AppConfig.ready()``.  Appending a record with an action nobody registered
fails loudly, so the log never fills with free-text names.
"""

from django.db import models

_actions: dict[str, str] = {}


def register_actions(choices: type[models.TextChoices]) -> None:
    for value, label in choices.choices:
        if value in _actions and _actions[value] != label:
            raise ValueError(f"audit action {value!r} registered twice with different labels")
        _actions[value] = label


def is_registered(action: str) -> bool:
    return action in _actions


def label(action: str) -> str:
    return str(_actions.get(action, action))


def all_actions() -> dict[str, str]:
    return dict(_actions)


# Who resolves the post an actor acts in: the directory registers it in its
# AppConfig.ready() (the audit app calls no other app).  Signature:
# resolver(actor, agency_id) -> (post_id, agency_id).
_post_resolver = None


def set_post_resolver(resolver) -> None:
    global _post_resolver
    _post_resolver = resolver


def resolve_post(actor, agency_id):
    if _post_resolver is None or actor is None:
        return None, agency_id
    return _post_resolver(actor, agency_id)
