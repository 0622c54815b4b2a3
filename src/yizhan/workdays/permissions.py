"""Permission predicates of the workdays app, one per service.

The holiday calendar is one table for the whole installation, so changing
it is for whoever administers a division as a system administrator (a
division grant) or the installation's superuser; an agency's own system
administrator is not enough.
"""

from yizhan.directory.authz import scope_of
from yizhan.directory.roles import Role


def _calendar_administrator(actor) -> bool:
    return scope_of(actor).has_any_division(Role.SYSADMIN)


def calendar_day_set(actor) -> bool:
    return _calendar_administrator(actor)


def calendar_year_publish(actor) -> bool:
    return _calendar_administrator(actor)


def calendar_seed(actor) -> bool:
    # None is the system: the data migration and ``yizhan workdays seed``,
    # run by the operator who controls the server.
    return actor is None or _calendar_administrator(actor)


def calendar_catch_up(actor) -> bool:
    # System work: the periodic job, and ``yizhan deadlines recount`` run by
    # the operator who controls the server.  It changes no calendar data.
    return actor is None
