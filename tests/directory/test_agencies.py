"""agency_create and post_create: who may add agencies, units and posts."""

import pytest

from tests.directory.writes import last_audit, nothing_written
from tests.factories import valid_credit_code
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory import services
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.error_codes import DirectoryErrorCode
from yizhan.directory.models import Agency
from yizhan.directory.roles import Role

# --- agency_create -------------------------------------------------------------


def test_superuser_creates_an_agency_with_its_path_and_audit(world):
    """A new top-level agency gets its own path and an audit row in its name.
    """
    code = valid_credit_code(303, "449900")
    agency = services.agency_create(actor=world.admin, name=" 丙局 ", kind="department",
                                    division_code="449900", credit_code=code.lower())
    assert agency.name == "丙局"
    assert agency.credit_code == code
    assert agency.path == f"/{agency.pk}/"
    record = last_audit(DirectoryAction.AGENCY_CREATED, object_id=str(agency.pk))
    assert record.agency_id == agency.pk
    assert record.actor_label == "root"
    assert record.changes["credit_code"] == code
    assert record.changes["division"] == "449900"


def test_duplicate_credit_code_is_refused(world):
    """Two agencies never share a unified social credit code."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.agency_create(actor=world.admin, name="丙局", kind="department",
                               division_code="449900",
                               credit_code=world.agency_a.credit_code)
    assert exc.value.code == DirectoryErrorCode.AGENCY_EXISTS
    assert world.agency_a.credit_code in exc.value.render()


def test_invalid_credit_code_is_refused(world):
    """A credit code with a wrong check character is refused."""
    code = valid_credit_code(304, "449900")
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.agency_create(actor=world.admin, name="丙局", kind="department",
                               division_code="449900", credit_code=wrong)
    assert exc.value.code == DirectoryErrorCode.INVALID_IDENTIFIER


def test_duplicate_name_in_the_same_division_is_refused(world):
    """Two agencies of one division do not share a name."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.agency_create(actor=world.admin, name="甲局", kind="department",
                               division_code="449900")
    assert exc.value.code == DirectoryErrorCode.AGENCY_EXISTS


def test_unknown_division_is_refused(world):
    """The message names the division code that does not exist."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.agency_create(actor=world.admin, name="丙局", kind="department",
                               division_code="449999")
    assert exc.value.code == DirectoryErrorCode.UNKNOWN_DIVISION
    assert "449999" in exc.value.render()


def test_unknown_parent_and_bad_kind_are_refused(world):
    """A missing parent, an unknown kind or an empty name is refused."""
    with nothing_written():
        with pytest.raises(InvalidInput) as exc:
            services.agency_create(actor=world.admin, name="某科", kind="unit",
                                   division_code="449900", parent_id=999_999)
        assert exc.value.code == DirectoryErrorCode.UNKNOWN_AGENCY
        with pytest.raises(InvalidInput):
            services.agency_create(actor=world.admin, name="某局", kind="ministry",
                                   division_code="449900")
        with pytest.raises(InvalidInput):
            services.agency_create(actor=world.admin, name=" ", kind="department",
                                   division_code="449900")


def test_agency_head_creates_an_internal_unit_of_their_agency(world):
    """The head of A may add a unit under A (and under A's units)."""
    head = world.user("a", "agency_head")
    unit = services.agency_create(actor=head, name="甲局法规科", kind="unit",
                                  division_code="449900", parent_id=world.agency_a.pk)
    assert unit.parent == world.agency_a
    assert unit.path == f"{world.agency_a.path}{unit.pk}/"
    sub = services.agency_create(actor=head, name="一股", kind="unit",
                                 division_code="449900", parent_id=world.unit_a.pk)
    assert sub.path.startswith(world.unit_a.path)
    record = last_audit(DirectoryAction.AGENCY_CREATED, object_id=str(unit.pk))
    assert record.actor_label == head.username
    assert record.changes["parent"] == world.agency_a.pk


def test_head_of_another_agency_may_not_create_units_under_a(world):
    """B's head cannot add units to A."""
    with nothing_written(), pytest.raises(PermissionDenied):
        services.agency_create(actor=world.user("b", "agency_head"), name="乙插科",
                               kind="unit", division_code="449900",
                               parent_id=world.agency_a.pk)


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.WINDOW_CLERK, Role.DATA_OFFICER])
def test_other_roles_of_the_agency_may_not_create_units(world, role):
    """Only managers of the agency add units."""
    with nothing_written(), pytest.raises(PermissionDenied):
        services.agency_create(actor=world.user("a", role), name="某科", kind="unit",
                               division_code="449900", parent_id=world.agency_a.pk)


def test_agency_head_may_not_create_top_level_agencies(world):
    """Top-level agencies need a sysadmin of the division, not a head."""
    for actor in (world.user("a", "agency_head"), world.user("a", "sysadmin"), world.citizen):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.agency_create(actor=actor, name="丁局", kind="department",
                                   division_code="449900")


def test_permission_is_checked_before_the_credit_code_is_looked_at(world):
    """A stranger learns nothing about which codes are taken."""
    with nothing_written(), pytest.raises(PermissionDenied):
        services.agency_create(actor=world.user("b", "agency_head"), name="乙插科",
                               kind="unit", division_code="449900",
                               parent_id=world.agency_a.pk,
                               credit_code=world.agency_b.credit_code)


# --- agency_update -------------------------------------------------------------


def test_agency_update_records_old_and_new_and_skips_no_change(world):
    """A rename is audited with both names; saving the same name writes
    nothing."""
    services.agency_update(actor=world.admin, agency=world.agency_a, short_name="甲")
    record = last_audit(DirectoryAction.AGENCY_UPDATED, object_id=str(world.agency_a.pk))
    assert record.changes == {"short_name": ["", "甲"]}
    with nothing_written():
        services.agency_update(actor=world.admin, agency=world.agency_a, short_name="甲")


def test_agency_renamed_to_a_name_in_use_or_to_nothing_is_refused(world):
    """Two agencies of one division, or two units of one agency, never share a name."""
    second = services.agency_create(actor=world.admin, name="甲局登记科", kind="unit",
                                    division_code=world.unit_a.division.code,
                                    parent_id=world.agency_a.pk)
    with nothing_written():
        with pytest.raises(InvalidInput) as exc:
            services.agency_update(actor=world.admin, agency=world.agency_b, name=" 甲局 ")
        assert exc.value.code == DirectoryErrorCode.AGENCY_EXISTS
        with pytest.raises(InvalidInput) as exc:
            services.agency_update(actor=world.admin, agency=second, name=world.unit_a.name)
        assert exc.value.code == DirectoryErrorCode.AGENCY_EXISTS
        with pytest.raises(InvalidInput):
            services.agency_update(actor=world.admin, agency=second, name="  ")
    services.agency_update(actor=world.admin, agency=second, name=" 甲局窗口科 ")
    assert Agency.objects.get(pk=second.pk).name == "甲局窗口科"


def test_agency_update_by_a_head_is_refused(world):
    """Renaming an agency needs a system administrator."""
    with nothing_written(), pytest.raises(PermissionDenied):
        services.agency_update(actor=world.user("a", "agency_head"), agency=world.agency_a,
                               name="改名")
    assert Agency.objects.get(pk=world.agency_a.pk).name == "甲局"


# --- post_create ---------------------------------------------------------------


def test_agency_head_creates_posts_in_the_agency_and_its_units(world):
    """Posts are created and audited under the agency they belong to."""
    head = world.user("a", "agency_head")
    post = services.post_create(actor=head, agency=world.agency_a, name="复核岗",
                                role=Role.REVIEWER)
    unit_post = services.post_create(actor=head, agency=world.unit_a, name="受理岗",
                                     role=Role.WINDOW_CLERK)
    assert (post.agency, post.role) == (world.agency_a, Role.REVIEWER)
    assert unit_post.agency == world.unit_a
    record = last_audit(DirectoryAction.POST_CREATED, object_id=str(post.pk))
    assert record.agency_id == world.agency_a.pk
    assert record.changes == {"name": "复核岗", "role": "reviewer"}


def test_post_create_refusals_write_nothing(world):
    """Strangers, non-managers, unknown roles and duplicate names are refused.
    """
    head_a = world.user("a", "agency_head")
    with nothing_written():
        with pytest.raises(PermissionDenied):
            services.post_create(actor=world.user("b", "agency_head"), agency=world.agency_a,
                                 name="插手岗", role=Role.REVIEWER)
        with pytest.raises(PermissionDenied):
            services.post_create(actor=world.user("a", "reviewer"), agency=world.agency_a,
                                 name="自设岗", role=Role.REVIEWER)
        with pytest.raises(PermissionDenied):
            services.post_create(actor=head_a, agency=world.agency_b, name="越权岗",
                                 role=Role.REVIEWER)
        with pytest.raises(InvalidInput) as exc:
            services.post_create(actor=head_a, agency=world.agency_a, name="新岗",
                                 role="emperor")
        assert exc.value.code == DirectoryErrorCode.UNKNOWN_ROLE
        with pytest.raises(InvalidInput) as exc:
            services.post_create(actor=head_a, agency=world.agency_a,
                                 name=world.posts["a"]["reviewer"].name, role=Role.REVIEWER)
        assert "已有名为" in exc.value.render()
        with pytest.raises(InvalidInput):
            services.post_create(actor=head_a, agency=world.agency_a, name="", role="reviewer")
