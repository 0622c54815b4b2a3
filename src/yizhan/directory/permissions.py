"""Permission predicates of the directory app, one per service.

Each predicate is named after the service that calls it and answers True or
False; services call ``require`` which raises ``PermissionDenied``.  A
staff member acts only within the agencies of their posts (and their
units) unless a grant or the bootstrap superuser says otherwise; see
``authz.Scope``.
"""

from yizhan.accounts.models import person_of
from yizhan.directory.authz import live_grants, scope_of
from yizhan.directory.roles import Role

MANAGERS = (Role.SYSADMIN, Role.AGENCY_HEAD)
# Roles that watch over an agency rather than work in it.  Its head staffs
# the agency, but a head who could make a supervision officer or a system
# administrator in it could clear its own alerts and grant its own scope.
OVERSIGHT_ROLES = frozenset({Role.SYSADMIN, Role.SUPERVISION_OFFICER})


def confers(actor, *, role: str, agency_id: int) -> bool:
    """Whether ``actor`` may give or take away ``role`` in an agency.

    One rule for a post, a posting, a staff account and an API token:
    the agency's managers confer the roles of its work; only a system
    administrator over the agency confers the roles that oversee it.
    """
    scope = scope_of(actor)
    if role in OVERSIGHT_ROLES:
        return scope.has(Role.SYSADMIN, agency_id)
    return scope.has_any(MANAGERS, agency_id)


def division_create(actor, *, parent) -> bool:
    scope = scope_of(actor)
    if parent is None:
        # A new province-level root: only the installation's superuser.
        return Role.SYSADMIN in scope.everywhere
    return scope.has_division(Role.SYSADMIN, parent.id)


def _person(actor) -> bool:
    """Whether a person acts, not an API token (nor the system).

    Who serves in an agency is decided by people: a token that made a staff
    account, with a password its holder chose, would leave behind a sign-in
    that outlives the token's expiry and revocation (and, in the head's
    role, issues new tokens); one that switched off staff could switch off
    the people who would revoke it.  The same holds for an agency, whose
    head then staffs it, and for a post, the role it confers.
    """
    return person_of(actor) is not None


def agency_create(actor, *, division, parent) -> bool:
    if not _person(actor):
        return False
    scope = scope_of(actor)
    if parent is not None:
        return scope.has_any(MANAGERS, parent.id)
    return scope.has_division(Role.SYSADMIN, division.id)


def agency_update(actor, *, agency) -> bool:
    # Closing an agency ends its staff's claims and takes its items out of
    # service: a person's act, as creating it is.
    return _person(actor) and scope_of(actor).has(Role.SYSADMIN, agency.id)


def post_create(actor, *, agency, role) -> bool:
    return _person(actor) and confers(actor, role=role, agency_id=agency.id)


def staff_create(actor, *, post) -> bool:
    return _person(actor) and confers(actor, role=post.role, agency_id=post.agency_id)


def staff_post(actor, *, post) -> bool:
    return _person(actor) and confers(actor, role=post.role, agency_id=post.agency_id)


def staff_unpost(actor, *, post) -> bool:
    return _person(actor) and confers(actor, role=post.role, agency_id=post.agency_id)


def removes_every_role(actor, *, user, posts) -> bool:
    """Whether ``actor`` may take away every role ``user`` holds at once, as
    switching the account off, or its second factor, does.

    ``posts``: the (role, agency id) of every post the account holds; each
    is the roles of the agency's work for its managers to take away, an
    overseeing role for a system administrator over the agency
    (``confers``).  Each grant standing now is for whoever may revoke it:
    the city's supervision officer, seconded from an ordinary post in a
    bureau, answers for the whole city to the administrator who granted
    it, never to the bureau's head.  An account holding neither (a
    citizen's, or staff left without a post) is only the installation
    superuser's to switch off or reset.
    """
    grants = list(live_grants(user).select_related("agency", "division"))
    if not posts and not grants:
        return Role.SYSADMIN in scope_of(actor).everywhere
    return (all(confers(actor, role=role, agency_id=agency_id) for role, agency_id in posts)
            and all(scope_grant_revoke(actor, grant=grant) for grant in grants))


def staff_deactivate(actor, *, user, posts) -> bool:
    """``posts``: the (role, agency id) of every post the account holds."""
    return _person(actor) and removes_every_role(actor, user=user, posts=posts)


def staff_view(actor, *, agency_id) -> bool:
    """Colleagues of one agency are visible to every staff member in it."""
    return scope_of(actor).sees_agency(agency_id)


def scope_grant_create(actor, *, agency, division) -> bool:
    # A grant widens what someone sees for as long as it stands: never a
    # token's to give, which may be revoked the next day.
    if not _person(actor):
        return False
    scope = scope_of(actor)
    if agency is not None:
        return scope.has(Role.SYSADMIN, agency.id)
    return scope.has_division(Role.SYSADMIN, division.id)


def scope_grant_revoke(actor, *, grant) -> bool:
    return scope_grant_create(actor, agency=grant.agency, division=grant.division)


def applicant_register(actor, *, for_self: bool) -> bool:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if for_self:
        return getattr(actor, "is_public_user", False)
    return scope_of(actor).has_role(Role.WINDOW_CLERK)


def applicant_look_up(actor) -> bool:
    # Who may register a walk-in applicant may find one already registered.
    return applicant_register(actor, for_self=False)


def applicant_identifier_reveal(actor, *, applicant) -> bool:
    # A person, never a token: the number is revealed to someone who checks
    # it against the identity document in front of them; a system has no
    # document to check and would only copy the number out.
    if not _person(actor):
        return False
    if applicant.user_id is not None and applicant.user_id == getattr(actor, "pk", None):
        return True
    # The window clerk checks the applicant's identity document at the
    # counter; every reveal is audited with its reason.
    return scope_of(actor).has_role(Role.WINDOW_CLERK)
