"""Permission predicates of the accounts app, one per service."""

from yizhan.directory.authz import scope_of
from yizhan.directory.roles import Role

MANAGERS = (Role.SYSADMIN, Role.AGENCY_HEAD)


def _is_user(actor) -> bool:
    return actor is not None and getattr(actor, "pk", None) is not None


def password_change(actor, *, user) -> bool:
    return _is_user(actor) and actor.pk == user.pk


def totp_enable(actor, *, user) -> bool:
    return _is_user(actor) and actor.pk == user.pk


def totp_disable(actor, *, user) -> bool:
    if _is_user(actor) and actor.pk == user.pk:
        return True
    # A lost phone: the head of the staff member's agency may reset it.
    from yizhan.directory.models import Posting

    agencies = set(Posting.objects.filter(user=user).values_list("post__agency_id", flat=True))
    scope = scope_of(actor)
    return bool(agencies) and all(scope.has_any(MANAGERS, a) for a in agencies)


def token_issue(actor, *, agency, role) -> bool:
    scope = scope_of(actor)
    if role == Role.SYSADMIN:
        return scope.has(Role.SYSADMIN, agency.id)
    return scope.has_any(MANAGERS, agency.id)


def token_revoke(actor, *, token) -> bool:
    return scope_of(actor).has_any(MANAGERS, token.agency_id)


def token_list(actor, *, agency_id) -> bool:
    return scope_of(actor).has_any(MANAGERS, agency_id)
