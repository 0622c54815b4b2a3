"""Who may do what in electronic supervision.

The supervision office (监察员) watches the agencies its scope covers and
edits the rules; staff of an agency see the alerts on their own agency;
the platform administrator may read everything.
"""

from yizhan.accounts.models import person_of
from yizhan.directory.authz import scope_of
from yizhan.directory.roles import Role

WATCHERS = (Role.SUPERVISION_OFFICER, Role.SYSADMIN)
AGENCY_READERS = (Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD)


def rule_view(actor) -> bool:
    scope = scope_of(actor)
    return any(scope.has_role(role) for role in (*WATCHERS, Role.AGENCY_HEAD))


def rule_update(actor, *, rule) -> bool:
    """Rules hold for the whole city: only the supervision office changes them.

    That is an officer whose scope is granted over a division, not one
    posted in a single agency, who could otherwise switch off the rules
    watching their own agency.
    """
    return _office(scope_of(actor))


def _office(scope) -> bool:
    """An officer of a supervision office: one whose scope is granted over a division.

    An officer posted in a single agency watches it but does not judge it:
    clearing its alerts or computing its score would let the agency mark
    its own work, as changing the rules would.
    """
    return scope.has_any_division(Role.SUPERVISION_OFFICER)


def alert_clear(actor, *, alert) -> bool:
    scope = scope_of(actor)
    return _office(scope) and scope.has(Role.SUPERVISION_OFFICER, alert.agency_id)


def notice_issue(actor, *, agency_id: int) -> bool:
    """The office issues notices (监察督办) to the agencies its scope covers.

    An officer issues them, never an API token: a notice is signed by the
    person who issued it (it is their case, as an application is its
    applicant's), and a token has nobody behind it.
    """
    if person_of(actor) is None:
        return False
    return scope_of(actor).has(Role.SUPERVISION_OFFICER, agency_id)


def _office_member(actor) -> bool:
    """An officer of some supervision office (what they reach is their scope's)."""
    return scope_of(actor).has_role(Role.SUPERVISION_OFFICER)


def notice_issuer(actor) -> bool:
    """The pages that issue notices."""
    return _office_member(actor)


def notice_agencies(actor) -> frozenset[int] | None:
    """The agencies whose notices ``actor`` may read (None: all): those of their alerts."""
    return alert_agencies(actor)


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


# --- performance scoring (绩效评估) ---------------------------------------------------

SCORE_READERS = (Role.SUPERVISION_OFFICER, Role.AGENCY_HEAD)


def scoring_scheme_update(actor) -> bool:
    """The scheme is the city's, as the rules are: only the supervision office edits it.

    An officer granted a division, not one posted in a single agency, who
    could otherwise weigh the dimensions in their own agency's favour.
    """
    return _office(scope_of(actor))


def scores_compute(actor) -> bool:
    """The office computes the scores of the agencies its scope covers."""
    return _office(scope_of(actor))


def scores_view(actor) -> bool:
    """The office reads its scope's scores; an agency head reads their agency's."""
    scope = scope_of(actor)
    return any(scope.has_role(role) for role in SCORE_READERS)


def score_agency_view(actor, *, agency_id: int) -> bool:
    return scope_of(actor).has_any(SCORE_READERS, agency_id)


def score_agencies(actor) -> frozenset[int] | None:
    """The agencies whose scores ``actor`` may read (None: all)."""
    return scope_of(actor).agencies(*SCORE_READERS)


def score_compute_agencies(actor) -> frozenset[int] | None:
    """The agencies a computation by ``actor`` covers (None: all)."""
    return scope_of(actor).agencies(Role.SUPERVISION_OFFICER)
