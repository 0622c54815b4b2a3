"""Who may read the audit log.

Supervision officers read the records of the agencies they supervise;
system administrators read those of the agencies they administer, and, if
they administer a whole division, the records that belong to no agency
(sign-ins, public registrations).
"""

from yizhan.directory.authz import scope_of
from yizhan.directory.roles import Role

READERS = (Role.SUPERVISION_OFFICER, Role.SYSADMIN)


def audit_search(actor) -> bool:
    scope = scope_of(actor)
    return any(scope.has_role(role) for role in READERS)


def audit_verify(actor) -> bool:
    return scope_of(actor).has_any_division(Role.SYSADMIN)


def visible_agency_ids(actor) -> frozenset[int] | None:
    """Agencies whose records the actor reads; None means all."""
    return scope_of(actor).agencies(*READERS)


def sees_unattributed(actor) -> bool:
    return audit_verify(actor)


def signing_key_create(actor, *, agency) -> bool:
    """An agency's system administrators manage its signing keys."""
    return scope_of(actor).has(Role.SYSADMIN, agency.id)


def signing_key_rotate(actor, *, agency) -> bool:
    return scope_of(actor).has(Role.SYSADMIN, agency.id)
