"""clean_version_data: one check for every entry point, every problem reported."""

from decimal import Decimal

import pytest

from tests.catalog.helpers import create
from tests.factories import item_content
from yizhan.catalog.content import VersionDataError, clean_version_data, version_as_data
from yizhan.catalog.error_codes import CatalogErrorCode


def _problems(world, **overrides) -> dict[str, str]:
    with pytest.raises(VersionDataError) as exc:
        clean_version_data(item_content(**overrides), agency=world.agency_a)
    assert exc.value.code == CatalogErrorCode.BAD_FIELD
    assert exc.value.http_status == 400
    problems = exc.value.fields["problems"]
    for problem in problems:
        assert problem["field"] in exc.value.render()
    return {p["field"]: p["problem"] for p in problems}


def test_valid_content_comes_back_clean(world):
    clean = clean_version_data(
        item_content(basic_code=" xk00101000 ", joint_agencies=["乙局"],
                     fees=[{"name": "工本费", "standard": "每证 10 元", "amount": "10",
                            "basis": "某文件"}]),
        agency=world.agency_a)
    assert clean["basic_code"] == "XK00101000"
    assert clean["item_type"] == "XK"
    assert clean["joint_agencies"] == [world.agency_b.pk]
    assert clean["fees"][0]["amount"] == Decimal("10")
    assert clean["materials"][0] == {
        "order": 1, "name": "申请书", "forms": ["original"], "necessity": "required",
        "condition": "", "copies": 1, "source": "applicant", "blank_form": "", "sample": "",
        "acceptance_standard": "", "basis": ""}


def test_every_problem_is_reported_at_once_with_its_field(world):
    """One refusal names every wrong field, not only the first."""
    problems = _problems(
        world, promised_limit=30, statutory_limit=20, process_template="parallel",
        themes=["permits", "holidays"],
        materials=[{"name": "申请书", "forms": ["original", "fax"]}, {"name": ""}],
        fees=[{"name": "工本费", "standard": "每证", "amount": "-5", "basis": "某文件"}],
    )
    assert set(problems) == {"promised_limit", "joint_agencies", "themes",
                             "materials[1].forms", "materials[2].name", "fees[1].amount"}
    assert problems["promised_limit"] == "承诺时限不能长于法定时限"
    assert problems["joint_agencies"] == "并联审批事项须至少有一个联办机关"
    assert "holidays" in problems["themes"]
    assert "original、copy、electronic" in problems["materials[1].forms"]
    assert problems["fees[1].amount"] == "金额应为不小于 0 的数字"


def test_upper_review_needs_the_upper_agency(world):
    problems = _problems(world, process_template="upper_review")
    assert problems == {"upper_agency": "上级初审事项须指定上级审批机关"}
    clean = clean_version_data(item_content(process_template="upper_review", upper_agency="乙局"),
                               agency=world.agency_a)
    assert clean["upper_agency_id"] == world.agency_b.pk


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": "  "}, "name"),
    ({"legal_basis": ""}, "legal_basis"),
    ({"acceptance_conditions": None}, "acceptance_conditions"),
    ({"name": "名" * 201}, "name"),
    ({"basic_code": "XK123"}, "basic_code"),
    ({"item_type": "CF"}, "item_type"),
    ({"exercise_level": "6"}, "exercise_level"),
    ({"case_type": "someday"}, "case_type"),
    ({"statutory_limit": "二十"}, "statutory_limit"),
    ({"statutory_limit": 0}, "statutory_limit"),
    ({"visits_required": -1}, "visits_required"),
    ({"online_depth": 5}, "online_depth"),
    ({"service_objects": []}, "service_objects"),
    ({"service_objects": ["aliens"]}, "service_objects"),
    ({"special_procedures": ["prayer"]}, "special_procedures"),
    ({"process_template": "waterfall"}, "process_template"),
    ({"case_type": "immediate", "process_template": "promised"}, "process_template"),
    ({"process_template": "custom"}, "process_xml"),
    ({"joint_agencies": ["不存在的局"], "process_template": "parallel"}, "joint_agencies"),
    ({"materials": [{"name": "申请书", "necessity": "maybe"}]}, "materials[1].necessity"),
    ({"materials": [{"name": "申请书", "source": "friend"}]}, "materials[1].source"),
    ({"materials": [{"name": "申请书", "copies": -1}]}, "materials[1].copies"),
    ({"materials": ["申请书"]}, "materials[1]"),
    ({"materials": "申请书"}, "materials"),
    ({"fees": [{"name": "", "standard": "", "basis": ""}]}, "fees[1].name"),
])
def test_single_problem_names_its_field(world, overrides, field):
    assert field in _problems(world, **overrides)


def test_the_implementing_agency_is_not_its_own_joint_agency(world):
    problems = _problems(world, process_template="parallel", joint_agencies=["甲局", "乙局"])
    assert problems == {"joint_agencies": "联办机关不能包括实施机关本身"}


def test_agencies_are_found_by_name_credit_code_or_id(world):
    clean = clean_version_data(
        item_content(process_template="parallel",
                     joint_agencies=[world.agency_b.credit_code, str(world.unit_a.pk)]),
        agency=world.agency_a)
    assert clean["joint_agencies"] == [world.agency_b.pk, world.unit_a.pk]


def test_immediate_item_needs_no_statutory_limit(world):
    clean = clean_version_data(
        item_content(case_type="immediate", process_template="immediate", statutory_limit=0,
                     promised_limit=0), agency=world.agency_a)
    assert (clean["statutory_limit"], clean["promised_limit"]) == (0, 0)


def test_blank_numbers_take_their_defaults(world):
    """A blank Excel cell or a JSON null is "not given", not "not a number"."""
    clean = clean_version_data(
        item_content(promised_limit=None, visits_required="", online_depth=None),
        agency=world.agency_a)
    assert clean["promised_limit"] == 20
    assert clean["visits_required"] == 0
    assert clean["online_depth"] == 4


def test_comma_separated_lists_are_accepted(world):
    clean = clean_version_data(
        item_content(themes="permits，establish", service_objects="natural, legal",
                     materials=[{"name": "申请书", "forms": "original,copy"}]),
        agency=world.agency_a)
    assert clean["themes"] == ["permits", "establish"]
    assert clean["service_objects"] == ["natural", "legal"]
    assert clean["materials"][0]["forms"] == ["original", "copy"]


def test_a_version_written_out_cleans_to_the_same_content(world):
    data = item_content(
        "并联事项", process_template="parallel", joint_agencies=["乙局"],
        special_procedures=["inspection"], limit_notes="现场核查时间不计入",
        materials=[{"name": "申请书", "forms": ["original", "electronic"], "copies": 2,
                    "necessity": "conditional", "condition": "委托办理的",
                    "source": "government", "acceptance_standard": "签字"}],
        fees=[{"name": "工本费", "standard": "每证 10 元", "amount": "10.00",
               "basis": "某文件", "waivable": True}])
    version = create(world, **{k: v for k, v in data.items() if k != "name"}, name="并联事项")
    again = clean_version_data(version_as_data(version), agency=world.agency_a)
    assert again == clean_version_data(data, agency=world.agency_a)
