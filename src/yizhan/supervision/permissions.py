"""Who may do what in electronic supervision.

The supervision office (监察员) watches the agencies its scope covers and
edits the rules; staff of an agency see the alerts on their own agency;
the platform administrator may read everything.
"""

from yizhan.directory.authz import scope_of
from yizhan.directory.roles import Role

WATCHERS = (Role.SUPERVISION_OFFICER, Role.SYSADMIN)
AGENCY_READERS = (Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD)


def rule_view(actor) -> bool:
    scope = scope_of(actor)
    return any(scope.has_role(role) for role in (*WATCHERS, Role.AGENCY_HEAD))


def rule_update(actor, *, rule) -> bool:
    return scope_of(actor).has_role(Role.SUPERVISION_OFFICER)


def alert_clear(actor, *, alert) -> bool:
    return scope_of(actor).has(Role.SUPERVISION_OFFICER, alert.agency_id)


def alert_view(actor, *, alert) -> bool:
    scope = scope_of(actor)
    return scope.has_any((*WATCHERS, *AGENCY_READERS), alert.agency_id)


def monitor(actor) -> bool:
    """The supervision office's pages: dashboard, monitoring, rules."""
    scope = scope_of(actor)
    return any(scope.has_role(role) for role in WATCHERS)


def alert_agencies(actor) -> frozenset[int] | None:
    """The agencies whose alerts ``actor`` may read (None: all)."""
    return scope_of(actor).agencies(*WATCHERS, *AGENCY_READERS)
