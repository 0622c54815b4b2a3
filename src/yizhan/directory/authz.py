"""What an actor may reach: their scope of roles over agencies.

A scope maps each role to the set of agency ids where the actor holds it:
the agencies of their posts with all internal units below them, plus the
agencies reached by unexpired, unrevoked grants.  It is computed once per
actor object (one request) and cached on it.  Every permission predicate in
every app asks the scope; none looks at posts directly.
"""

import contextlib
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone

from yizhan.directory.models import Agency, Division, Posting, ScopeGrant
from yizhan.directory.roles import Role


@dataclass(frozen=True)
class Scope:
    roles: dict[str, frozenset[int]] = field(default_factory=dict)
    home_agency_ids: frozenset[int] = frozenset()
    # Divisions (with everything below) where a role was granted as a whole.
    division_roles: dict[str, frozenset[int]] = field(default_factory=dict)
    # Roles held over every agency and division (the bootstrap superuser).
    everywhere: frozenset[str] = frozenset()

    def has(self, role: str, agency_id: int | None) -> bool:
        if agency_id is None:
            return False
        return role in self.everywhere or agency_id in self.roles.get(role, frozenset())

    def has_any(self, roles, agency_id: int | None) -> bool:
        return any(self.has(role, agency_id) for role in roles)

    def has_role(self, role: str) -> bool:
        return role in self.everywhere or bool(self.roles.get(role))

    def has_division(self, role: str, division_id: int | None) -> bool:
        if division_id is None:
            return False
        return role in self.everywhere or division_id in self.division_roles.get(role, frozenset())

    def has_any_division(self, role: str) -> bool:
        return role in self.everywhere or bool(self.division_roles.get(role))

    def agencies(self, *roles: str) -> frozenset[int] | None:
        """Agency ids where any of ``roles`` is held; None means every agency."""
        wanted = roles or tuple(set(self.roles) | set(self.everywhere))
        if any(role in self.everywhere for role in wanted):
            return None
        result: set[int] = set()
        for role in wanted:
            result |= self.roles.get(role, frozenset())
        return frozenset(result)

    def sees_agency(self, agency_id: int) -> bool:
        """Whether the agency's internal matters are visible in any role."""
        ids = self.agencies()
        return ids is None or agency_id in ids or agency_id in self.home_agency_ids

    @property
    def is_staff(self) -> bool:
        return bool(self.roles) or bool(self.everywhere)


EMPTY = Scope()


def _with_units(agency_paths: list[str]) -> set[int]:
    if not agency_paths:
        return set()
    query = Q()
    for path in agency_paths:
        query |= Q(path__startswith=path)
    return set(Agency.objects.filter(query).values_list("id", flat=True))


def _divisions_below(division_paths: list[str]) -> set[int]:
    if not division_paths:
        return set()
    query = Q()
    for path in division_paths:
        query |= Q(path__startswith=path)
    return set(Division.objects.filter(query).values_list("id", flat=True))


def live_grants(user, *, now=None) -> QuerySet[ScopeGrant]:
    """The grants ``user`` holds at ``now`` (default: now): neither revoked
    nor past their expiry."""
    now = now or timezone.now()
    return ScopeGrant.objects.filter(user=user, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def build_scope_for_user(user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return EMPTY
    if user.is_superuser:
        # The installation's bootstrap account administers everything; it is
        # created by the operator, never through the platform's pages.
        return Scope(everywhere=frozenset({Role.SYSADMIN}))
    now = timezone.now()
    by_role_paths: dict[str, list[str]] = {}
    homes: set[int] = set()
    for role, agency_id, path in Posting.objects.filter(user=user).values_list(
        "post__role", "post__agency_id", "post__agency__path"
    ):
        by_role_paths.setdefault(role, []).append(path)
        homes.add(agency_id)
    division_paths: dict[str, list[str]] = {}
    # A grant gives a staff member more; a public account (a citizen's) is
    # given no staff role whatever a grant says (services.scope_grant_create
    # refuses one, as staff_post refuses it a post).
    grants = (live_grants(user, now=now).values_list("role", "agency__path", "division__path")
              if user.is_staff_member else ())
    for role, agency_path, division_path in grants:
        if agency_path:
            by_role_paths.setdefault(role, []).append(agency_path)
        if division_path:
            division_paths.setdefault(role, []).append(division_path)
    roles: dict[str, frozenset[int]] = {}
    division_roles: dict[str, frozenset[int]] = {}
    for role in set(by_role_paths) | set(division_paths):
        ids = _with_units(by_role_paths.get(role, []))
        divisions = _divisions_below(division_paths.get(role, []))
        if divisions:
            division_roles[role] = frozenset(divisions)
            ids |= set(
                Agency.objects.filter(division_id__in=divisions).values_list("id", flat=True)
            )
        roles[role] = frozenset(ids)
    return Scope(roles=roles, home_agency_ids=frozenset(homes), division_roles=division_roles)


def scope_of(actor) -> Scope:
    """The scope of a user or API-token principal (cached on the object)."""
    if actor is None:
        return EMPTY
    cached = getattr(actor, "_yizhan_scope", None)
    if cached is not None:
        return cached
    builder = getattr(actor, "build_scope", None)
    scope = builder() if builder is not None else build_scope_for_user(actor)
    with contextlib.suppress(AttributeError):
        actor._yizhan_scope = scope
    return scope


def forget_scope(actor) -> None:
    if actor is not None and hasattr(actor, "_yizhan_scope"):
        del actor._yizhan_scope
    if actor is not None and hasattr(actor, "_yizhan_postings"):
        del actor._yizhan_postings


def is_sysadmin(actor) -> bool:
    return scope_of(actor).has_role(Role.SYSADMIN)


def acting_post(actor, agency_id: int | None) -> tuple[int | None, int | None]:
    """The post ``actor`` acts in for an audit record, and its agency.

    The post in ``agency_id`` if the actor holds one there; without an
    agency, the actor's only post.  Postings are read once per actor object.
    """
    if getattr(actor, "pk", None) is None:
        return None, agency_id
    postings = getattr(actor, "_yizhan_postings", None)
    if postings is None:
        postings = list(Posting.objects.filter(user_id=actor.pk)
                        .values_list("post_id", "post__agency_id"))
        with contextlib.suppress(AttributeError):
            actor._yizhan_postings = postings
    if agency_id is not None:
        for post_id, post_agency in postings:
            if post_agency == agency_id:
                return post_id, agency_id
        return None, agency_id
    if len(postings) == 1:
        return postings[0]
    return None, None
