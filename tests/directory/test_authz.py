"""The scope of an actor: posts with the units below, tokens, the superuser."""

from django.contrib.auth.models import AnonymousUser

from tests.factories import PASSWORD
from yizhan.accounts import services as account_services
from yizhan.accounts.models import User
from yizhan.directory import services
from yizhan.directory.authz import EMPTY, forget_scope, is_sysadmin, scope_of
from yizhan.directory.roles import Role


def test_a_post_reaches_the_agency_and_its_internal_units(world):
    """The head of A acts in A and in A's units, not in B."""
    scope = scope_of(world.user("a", "agency_head"))
    assert scope.has(Role.AGENCY_HEAD, world.agency_a.pk)
    assert scope.has(Role.AGENCY_HEAD, world.unit_a.pk)
    assert not scope.has(Role.AGENCY_HEAD, world.agency_b.pk)
    assert not scope.has(Role.REVIEWER, world.agency_a.pk)
    assert scope.agencies(Role.AGENCY_HEAD) == {world.agency_a.pk, world.unit_a.pk}
    assert scope.home_agency_ids == {world.agency_a.pk}
    assert scope.sees_agency(world.unit_a.pk)
    assert not scope.sees_agency(world.agency_b.pk)
    assert scope.is_staff


def test_units_created_later_are_in_the_next_scope(world):
    """A unit added under A is reached by A's posts without a new posting."""
    head = world.user("a", "agency_head")
    sub = services.agency_create(actor=world.admin, name="二股", kind="unit",
                                 division_code="449900", parent_id=world.unit_a.pk)
    assert scope_of(User.objects.get(pk=head.pk)).has(Role.AGENCY_HEAD, sub.pk)


def test_a_post_in_a_unit_does_not_reach_up_to_the_parent(world):
    """Units sit below their agency; a unit's post does not reach the agency.
    """
    unit_post = services.post_create(actor=world.admin, agency=world.unit_a, name="科长岗",
                                     role=Role.AGENCY_HEAD)
    chief = services.staff_create(actor=world.admin, post=unit_post, username="unit.chief",
                                  full_name="科长", password=PASSWORD)
    scope = scope_of(chief)
    assert scope.has(Role.AGENCY_HEAD, world.unit_a.pk)
    assert not scope.has(Role.AGENCY_HEAD, world.agency_a.pk)


def test_sibling_agency_ids_do_not_leak_through_path_prefixes(world):
    """Agency paths end in a slash, so /1/ never matches /12/."""
    created = [services.agency_create(actor=world.admin, name=f"局{i}", kind="department",
                                      division_code="449900") for i in range(12)]
    head = world.user("a", "agency_head")
    reached = scope_of(head).agencies(Role.AGENCY_HEAD)
    assert reached == {world.agency_a.pk, world.unit_a.pk}
    assert not reached & {agency.pk for agency in created}


def test_token_principal_is_limited_to_its_agency_and_role(world):
    """A token of A acts only in A (and A's units), only in its role."""
    _token, secret = account_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                  name="审批系统", role=Role.REVIEWER)
    principal = account_services.token_authenticate(secret)
    scope = scope_of(principal)
    assert scope.has(Role.REVIEWER, world.agency_a.pk)
    assert scope.has(Role.REVIEWER, world.unit_a.pk)
    assert not scope.has(Role.REVIEWER, world.agency_b.pk)
    assert not scope.has(Role.AGENCY_HEAD, world.agency_a.pk)
    assert not scope.has_division(Role.REVIEWER, world.city.pk)
    assert not scope.sees_agency(world.agency_b.pk)
    assert scope.home_agency_ids == {world.agency_a.pk}
    assert not is_sysadmin(principal)


def test_superuser_is_unrestricted(world):
    """The bootstrap account administers every agency and division, even new
    ones."""
    scope = scope_of(world.admin)
    later = services.agency_create(actor=world.admin, name="新设局", kind="department",
                                   division_code="449901")
    for agency in (world.agency_a, world.agency_b, world.unit_a, later):
        assert scope.has(Role.SYSADMIN, agency.pk)
        assert scope.sees_agency(agency.pk)
    assert scope.has_division(Role.SYSADMIN, world.province.pk)
    assert scope.agencies() is None
    assert is_sysadmin(world.admin)


def test_people_without_posts_have_no_scope(world):
    """Citizens, anonymous visitors, nobody and deactivated staff reach
    nothing."""
    for actor in (world.citizen, AnonymousUser(), None):
        scope = scope_of(actor)
        assert not scope.is_staff
        assert not scope.has_role(Role.WINDOW_CLERK)
        assert scope.agencies() == frozenset()
    reviewer = world.user("a", "reviewer")
    services.staff_deactivate(actor=world.admin, user=reviewer, reason="离职")
    assert scope_of(User.objects.get(pk=reviewer.pk)) is EMPTY


def test_scope_is_cached_on_the_actor_until_forgotten(world):
    """One request computes the scope once; forget_scope drops it."""
    user = world.user("a", "reviewer")
    first = scope_of(user)
    assert scope_of(user) is first
    forget_scope(user)
    assert scope_of(user) is not first
    assert scope_of(user) == first
