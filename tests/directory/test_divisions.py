"""division_create: codes under their parents, levels from the code, audit."""

import pytest

from tests.directory.writes import last_audit, nothing_written
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory import services
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.error_codes import DirectoryErrorCode
from yizhan.directory.models import Division


def test_division_under_a_county_is_created_with_its_level_and_audited(world):
    """A 9-digit street under a county is a town; the audit row names it."""
    town = services.division_create(actor=world.admin, code="449901001", name="东湖街道",
                                     parent_code="449901")
    assert town.level == Division.Level.TOWN
    assert town.parent == world.district
    assert town.path == f"{world.district.path}{town.pk}/"
    record = last_audit(DirectoryAction.DIVISION_CREATED, object_id=str(town.pk))
    assert record.actor_label == "root"
    assert record.changes == {"code": "449901001", "name": "东湖街道", "parent": "449901"}


@pytest.mark.parametrize(("code", "parent", "level"), [
    ("450000", None, Division.Level.PROVINCE),
    ("449800", "440000", Division.Level.CITY),
    ("449902", "449900", Division.Level.COUNTY),
])
def test_level_is_derived_from_the_code(world, code, parent, level):
    """Province, city and county follow from the trailing zeros of the code."""
    division = services.division_create(actor=world.admin, code=code, name="某地",
                                        parent_code=parent)
    assert division.level == level


def test_village_code_sits_below_its_town(world):
    """A 12-digit community code is a village under its 9-digit town."""
    services.division_create(actor=world.admin, code="449901001", name="东湖街道",
                             parent_code="449901")
    village = services.division_create(actor=world.admin, code="449901001002",
                                       name="湖滨社区", parent_code="449901001")
    assert village.level == Division.Level.VILLAGE
    assert village.parent.code == "449901001"


def test_statistical_code_is_stored_normalised(world):
    """449901002000 is stored as the 9-digit street code 449901002."""
    division = services.division_create(actor=world.admin, code="449901002000",
                                        name="西湖街道", parent_code="449901")
    assert division.code == "449901002"
    assert division.level == Division.Level.TOWN


def test_unknown_parent_is_refused(world):
    """The message names the missing parent code in both languages."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.division_create(actor=world.admin, code="449903", name="某区",
                                 parent_code="449800")
    assert exc.value.code == DirectoryErrorCode.UNKNOWN_DIVISION
    assert "449800" in exc.value.render("zh-hans")
    assert "449800" in exc.value.render("en")


@pytest.mark.parametrize(("code", "parent"), [
    ("450100", "449900"),      # another province's city under our city
    ("449801", "449900"),      # another city's county
    ("449902001", "449901"),   # a street of the neighbouring county
    ("449900", "449901"),      # a city under a county
    ("440100", "449900"),      # a sibling city under a city
])
def test_code_not_under_its_parent_is_refused(world, code, parent):
    """The child's code must start with the parent's significant digits and
    sit at a lower level."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.division_create(actor=world.admin, code=code, name="某地",
                                 parent_code=parent)
    assert exc.value.code == DirectoryErrorCode.BAD_DIVISION_PARENT


@pytest.mark.parametrize("code", ["449901", "449901000000"])
def test_duplicate_code_is_refused(world, code):
    """An existing code, also when given in its 12-digit form, is refused."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.division_create(actor=world.admin, code=code, name="重复",
                                 parent_code="449900")
    assert exc.value.code == DirectoryErrorCode.DIVISION_EXISTS
    assert "已存在" in exc.value.render()


def test_invalid_code_and_empty_name_are_refused(world):
    """A malformed code or a blank name is refused."""
    with nothing_written():
        with pytest.raises(InvalidInput) as exc:
            services.division_create(actor=world.admin, code="44990a", name="某地",
                                     parent_code="449900")
        assert exc.value.code == DirectoryErrorCode.INVALID_IDENTIFIER
        with pytest.raises(InvalidInput):
            services.division_create(actor=world.admin, code="449905", name="  ",
                                     parent_code="449900")


def test_staff_without_a_division_grant_may_not_create_divisions(world):
    """Even an agency's system administrator needs the division in scope."""
    for actor in (world.user("a", "sysadmin"), world.user("a", "agency_head"), world.citizen):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.division_create(actor=actor, code="449905", name="某区",
                                     parent_code="449900")


def test_division_sysadmin_grant_allows_children_but_not_new_provinces(world):
    """A sysadmin granted the city may add a county to it, not a province."""
    officer = world.user("a", "sysadmin")
    services.scope_grant_create(actor=world.admin, user=officer, role="sysadmin",
                                division=world.city, reason="市政务办授权维护区划")
    county = services.division_create(actor=officer, code="449905", name="新区",
                                      parent_code="449900")
    assert county.level == Division.Level.COUNTY
    with nothing_written(), pytest.raises(PermissionDenied):
        services.division_create(actor=officer, code="450000", name="邻省")
