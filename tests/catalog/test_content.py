"""clean_version_data: one check for every entry point, every problem reported."""

import itertools
import json
from decimal import Decimal

import pytest

from tests.bpmn.documents import document, flow, user_task
from tests.catalog.helpers import (
    city_agencies,
    create,
    editor,
    nothing_written,
    provincial_agency,
)
from tests.factories import item_content
from yizhan import bpmn
from yizhan.bpmn.templates import TEMPLATES
from yizhan.catalog import services, transfer
from yizhan.catalog.content import (
    MAX_JOINT_AGENCIES,
    TEMPLATE_NEEDS,
    VersionDataError,
    clean_version_data,
    version_as_data,
)
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.directory import services as directory_services


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
        "blank_form_file": "", "blank_form_file_name": "", "sample_file": "",
        "sample_file_name": "", "acceptance_standard": "", "basis": ""}


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
    upper = provincial_agency(world)
    clean = clean_version_data(item_content(process_template="upper_review",
                                            upper_agency=upper.name), agency=world.agency_a)
    assert clean["upper_agency_id"] == upper.pk


@pytest.mark.parametrize("upper", ["self", "sibling", "below"])
def test_an_upper_review_item_needs_an_upper_agency_above_its_own(world, upper):
    """上级初审 sends the case up to 上级行政机关 (《行政许可法》第四十三条): an item
    naming its own agency, one of the same division, or one below it would have
    its cases "sent up" to itself, sideways or down."""
    from tests.cases.helpers import add_agency

    if upper == "below":
        add_agency(world, "东湖区局", credit_seed=707, division="449901")
    name = {"self": world.agency_a.name, "sibling": world.agency_b.name,
            "below": "东湖区局"}[upper]
    with nothing_written(), pytest.raises(VersionDataError) as exc:
        create(world, process_template="upper_review", upper_agency=name)
    assert {"field": "upper_agency",
            "problem": "上级审批机关须是本机关的上级机关（所在行政区划高于本机关）"} \
        in exc.value.fields["problems"]


def test_an_item_stored_before_the_rule_keeps_its_upper_agency_in_its_next_version(world):
    """An item whose upper agency is not above it (stored before the rule) still
    gets its next draft, which copies it, and is saved with it kept; naming
    another such agency is refused as for a new item."""
    from tests.catalog.helpers import editor, published
    from yizhan.catalog import services
    from yizhan.catalog.models import ItemVersion

    v1 = published(world, process_template="upper_review",
                   upper_agency=provincial_agency(world).name)
    ItemVersion.objects.filter(pk=v1.pk).update(upper_agency=world.agency_b)
    draft = services.item_version_draft(actor=editor(world), item=v1.item)
    assert draft.upper_agency_id == world.agency_b.pk
    data = {**version_as_data(draft), "name": "改过名的事项"}
    services.item_version_edit(actor=editor(world), version=draft, data=data)
    with pytest.raises(VersionDataError) as exc:
        again = ItemVersion.objects.get(pk=draft.pk)
        services.item_version_edit(actor=editor(world), version=again, data={
            **version_as_data(again), "upper_agency": world.agency_a.name})
    assert exc.value.fields["problems"][0]["field"] == "upper_agency"


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
    ({"materials": [{"name": f"材料{i}"} for i in range(201)]}, "materials"),
    ({"fees": [{"name": "工本费", "standard": "每证", "basis": "规定"}] * 51}, "fees"),
    ({"materials": [{"name": "申请书", "forms": 5}]}, "materials[1].forms"),
    ({"materials": [{"name": "申请书", "forms": [["original"]]}]}, "materials[1].forms"),
    ({"materials": [{"name": "申请书", "forms": [{"x": 1}]}]}, "materials[1].forms"),
    ({"consultation": "电话\x0112345"}, "consultation"),
    ({"name": "\ud800"}, "name"),
    ({"themes": ["permits\x0b"]}, "themes[1]"),
    ({"form_fields": [{"name": "k", "label": "类\x1f别"}]}, "form_fields[1].label"),
    ({"fees": [{"name": "工本费", "standard": "每证", "basis": "\udc80"}]}, "fees[1].basis"),
    ({"fees": [{"name": "", "standard": "", "basis": ""}]}, "fees[1].name"),
    # Once changed silently: 0 and true to one copy, 2.5 to two, true to one day.
    ({"materials": [{"name": "申请书", "copies": 0}]}, "materials[1].copies"),
    ({"materials": [{"name": "申请书", "copies": 2.5}]}, "materials[1].copies"),
    ({"materials": [{"name": "申请书", "copies": True}]}, "materials[1].copies"),
    ({"statutory_limit": True}, "statutory_limit"),
    ({"fees": [{"name": "工本费", "standard": "每证", "basis": "某文", "waivable": "maybe"}]},
     "fees[1].waivable"),
    ({"fees": [{"name": "工本费", "standard": "每证", "basis": "某文", "waivable": [1]}]},
     "fees[1].waivable"),
    ({"fees": [{"name": "工本费", "standard": "每证", "basis": "某文", "waivable": True,
                "waiver_basis": ["低保"]}]}, "fees[1].waiver_basis"),
    ({"handling_place": "窗口\x07"}, "handling_place"),
    ({"handling_hours": {"工作日": "9:00"}}, "handling_hours"),
])
def test_single_problem_names_its_field(world, overrides, field):
    assert field in _problems(world, **overrides)


def test_a_control_character_or_lone_surrogate_is_named_in_its_problem(world):
    """Once stored: a 500 on the database write (surrogate) or on the Excel export."""
    problems = _problems(world, consultation="电话\x0112345", limit_notes="\ud800")
    assert problems["consultation"] == ("含有不能保存的字符 U+0001"
                                        "（控制字符或无效的 Unicode 字符）")
    assert "U+D800" in problems["limit_notes"]


def test_content_nested_far_too_deep_is_refused_not_walked(world):
    deep: list = []
    for _level in range(2000):
        deep = [deep]
    assert "themes" in _problems(world, themes=deep)


def test_the_implementing_agency_is_not_its_own_joint_agency(world):
    problems = _problems(world, process_template="parallel", joint_agencies=["甲局", "乙局"])
    assert problems == {"joint_agencies": "联办机关不能包括实施机关本身"}


def test_agencies_are_found_by_name_credit_code_or_id(world):
    clean = clean_version_data(
        item_content(process_template="parallel",
                     joint_agencies=[world.agency_b.credit_code, str(world.unit_a.pk)]),
        agency=world.agency_a)
    assert clean["joint_agencies"] == [world.agency_b.pk, world.unit_a.pk]


def test_joint_agencies_beyond_the_limit_are_refused_at_every_entry_point(world):
    """The desk offers MAX_JOINT_AGENCIES rows of joint agencies: an item stored with
    more through the API or an import could not be saved on the desk as it is."""
    agencies = [a.credit_code for a in city_agencies(world, MAX_JOINT_AGENCIES + 1)]
    clean = clean_version_data(item_content(process_template="parallel",
                                            joint_agencies=agencies[:-1]),
                               agency=world.agency_a)
    assert len(clean["joint_agencies"]) == MAX_JOINT_AGENCIES

    content = item_content(process_template="parallel", joint_agencies=agencies)
    assert _problems(world, **content) == {"joint_agencies": "最多 20 项"}
    # The API's and the desk's service, and an import.
    with nothing_written(), pytest.raises(VersionDataError) as exc:
        services.item_create(actor=editor(world), agency=world.agency_a, data=content)
    assert exc.value.fields["problems"] == [{"field": "joint_agencies", "problem": "最多 20 项"}]
    raw = json.dumps({"items": [{**content, "agency": "甲局"}]}, ensure_ascii=False).encode()
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        transfer.catalog_import(actor=editor(world), source="catalog.json",
                                records=transfer.read_upload("catalog.json", raw))
    assert [e["field"] for e in exc.value.fields["errors"]] == ["joint_agencies"]


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


@pytest.mark.parametrize(("waivable", "expected"), [
    ("false", False), ("否", False), ("No", False), (0, False), (None, False), ("", False),
    ("true", True), ("是", True), (" Y ", True), (1, True), (True, True),
])
def test_a_fee_is_waivable_by_a_boolean_or_a_yes_no_word(world, waivable, expected):
    """Not bool(value): the string "false" was once read as waivable."""
    fee = {"name": "工本费", "standard": "每证", "basis": "某文", "waivable": waivable,
           "waiver_basis": "低保对象免收：某文" if expected else ""}
    clean = clean_version_data(item_content(fees=[fee]), agency=world.agency_a)
    assert clean["fees"][0]["waivable"] is expected


# --- where and when to apply, and a waiver's grounds (the national guide standard) ------

WAIVABLE = {"name": "不动产登记费", "standard": "每件 80 元", "amount": "80",
            "basis": "发改价格规〔2016〕2559号", "waivable": True,
            "waiver_basis": "小微企业免收：财税〔2016〕79号"}


def test_a_waivable_fee_keeps_its_grounds(world):
    clean = clean_version_data(item_content(fees=[WAIVABLE]), agency=world.agency_a)
    assert clean["fees"][0]["waiver_basis"] == "小微企业免收：财税〔2016〕79号"


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_waivable_fee_without_its_grounds_is_refused_at_that_field(world, blank):
    """允许减免依据 stands beside 是否允许减免: 可减免 是 alone tells no applicant
    whether they are exempt."""
    problems = _problems(world, fees=[{**WAIVABLE, "waiver_basis": blank}])
    assert problems == {"fees[1].waiver_basis": "可减免的收费须填写减免依据：减免的对象或情形，"
                                                "以及规定减免的文件名称和文号"}


def test_grounds_of_a_fee_that_is_not_waivable_are_refused(world):
    """Shown nowhere (the guide has none for a fee never waived), or misleading."""
    problems = _problems(world, fees=[{**WAIVABLE, "waivable": False}])
    assert problems == {"fees[1].waiver_basis": "填写了减免依据，但该收费未标为可减免：请标为"
                                                "可减免，或删去减免依据"}


def test_a_fee_whose_waivable_is_no_answer_is_refused_for_that_alone(world):
    problems = _problems(world, fees=[{**WAIVABLE, "waivable": "maybe"}])
    assert list(problems) == ["fees[1].waivable"]


def test_the_place_and_hours_of_applying_are_optional_texts_kept_as_given(world):
    clean = clean_version_data(item_content(
        handling_place=" 示范市民政局婚姻登记处（市民中心A区2楼） ",
        handling_hours="工作日 9:00—12:00，14:00—17:30"), agency=world.agency_a)
    assert clean["handling_place"] == "示范市民政局婚姻登记处（市民中心A区2楼）"
    assert clean["handling_hours"] == "工作日 9:00—12:00，14:00—17:30"
    blank = clean_version_data(item_content(), agency=world.agency_a)
    assert (blank["handling_place"], blank["handling_hours"]) == ("", "")


def test_the_place_and_hours_longer_than_their_columns_are_refused_not_cut(world):
    problems = _problems(world, handling_place="楼" * 501, handling_hours="时" * 201)
    assert problems == {"handling_place": "办理地点不能超过 500 个字",
                        "handling_hours": "办理时间不能超过 200 个字"}
    clean = clean_version_data(item_content(handling_place="楼" * 500,
                                            handling_hours="时" * 200), agency=world.agency_a)
    assert (len(clean["handling_place"]), len(clean["handling_hours"])) == (500, 200)


def test_materials_without_copies_take_one(world):
    clean = clean_version_data(item_content(materials=[
        {"name": "申请书"}, {"name": "身份证", "copies": ""}, {"name": "执照", "copies": "3"}]),
        agency=world.agency_a)
    assert [m["copies"] for m in clean["materials"]] == [1, 1, 3]


def test_two_materials_of_one_name_are_refused(world):
    with nothing_written(), pytest.raises(VersionDataError) as refused:
        create(world, materials=[{"name": "申请书"}, {"name": "营业执照"},
                                 {"name": "申请书 "}])
    assert refused.value.fields["problems"] == [
        {"field": "materials[3].name", "problem": "材料名称“申请书”与第 1 项重复"}]


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
               "basis": "某文件", "waivable": True, "waiver_basis": "低保对象免收：某文件"}],
        handling_place="市民中心A区2楼\n各区行政服务中心", handling_hours="工作日 9:00—17:00")
    version = create(world, **{k: v for k, v in data.items() if k != "name"}, name="并联事项")
    again = clean_version_data(version_as_data(version), agency=world.agency_a)
    assert again == clean_version_data(data, agency=world.agency_a)


# Custom processes

def _two_step(lane_of_review: str) -> str:
    """Accepted at the window, reviewed in ``lane_of_review``, decided by the head."""
    marker = ("<bpmn:multiInstanceLoopCharacteristics/>"
              if lane_of_review.startswith("$joint") else "")
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + user_task("review", "审查", inner=marker) + user_task("decide", "决定")
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "accept") + flow("accept", "review") + flow("review", "decide")
            + flow("decide", "approved"))
    return document(body, lanes=[("$accepting/window_clerk", ["accept"]),
                                 (lane_of_review, ["review"]),
                                 ("$accepting/agency_head", ["decide"])]).decode()


@pytest.mark.parametrize(("lane", "field", "problem"), [
    ("$joint/reviewer", "joint_agencies",
     "用户任务“审查”（review）在“$joint”泳道中，须至少有一个联办机关"),
    ("$upper/reviewer", "upper_agency",
     "用户任务“审查”（review）在“$upper”泳道中，须指定上级审批机关"),
])
def test_a_custom_process_needs_the_agencies_its_lanes_name(world, lane, field, problem):
    """As the parallel and upper-review templates do: published without them, every
    application would fail when it is submitted."""
    xml = _two_step(lane)
    assert _problems(world, process_template="custom", process_xml=xml) == {field: problem}
    named = ({"joint_agencies": ["乙局"]} if field == "joint_agencies"
             else {"upper_agency": provincial_agency(world).name})
    clean = clean_version_data(item_content(process_template="custom", process_xml=xml, **named),
                               agency=world.agency_a)
    assert clean["process_template"] == "custom"


def test_the_template_needs_are_the_templates_lanes():
    """The table the agency check reads for a template says what its lanes name."""
    for template in TEMPLATES:
        refs = bpmn.load_template(template).agency_refs - {bpmn.ACCEPTING}
        assert refs == set(TEMPLATE_NEEDS.get(template, {})), template


def test_a_custom_process_with_a_lone_surrogate_is_a_field_problem(world):
    """It has no UTF-8 form: refused as the loader refuses it, not a 500."""
    xml = _two_step("reviewer").replace("测试流程", "\ud800")
    with pytest.raises(VersionDataError) as info:
        clean_version_data(item_content(process_template="custom", process_xml=xml),
                           agency=world.agency_a)
    problem = "流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。"
    assert {"field": "process_xml", "problem": problem} in info.value.fields["problems"]


def test_a_lane_must_name_exactly_one_active_agency(world):
    """Unit names repeat under different parents, and a case routes a lane's tasks to
    the agency of that name: an ambiguous or inactive name is refused."""
    for parent in (world.agency_a, world.agency_b):
        directory_services.agency_create(actor=world.admin, name="审批科", kind="unit",
                                         division_code="449900", parent_id=parent.pk)
    problems = _problems(world, process_template="custom", process_xml=_two_step("审批科/reviewer"))
    assert problems["process_xml"] == ("用户任务“审查”（review）：泳道中的机关“审批科”不能使用："
                                       "有多个在用的机关同名，无法确定是哪一个")
    directory_services.agency_update(actor=world.admin, agency=world.unit_a, is_active=False)
    problems = _problems(world, process_template="custom",
                         process_xml=_two_step(f"{world.unit_a.name}/reviewer"))
    assert problems["process_xml"] == (
        f"用户任务“审查”（review）：泳道中的机关“{world.unit_a.name}”不能使用：该机关已停用")
    clean = clean_version_data(
        item_content(process_template="custom", process_xml=_two_step("乙局/reviewer")),
        agency=world.agency_a)
    assert clean["process_template"] == "custom"


def _process_problems(world, xml, **overrides) -> list[str]:
    """Every problem reported on the uploaded process, in order."""
    with pytest.raises(VersionDataError) as exc:
        clean_version_data(item_content(process_template="custom", process_xml=xml,
                                        **overrides), agency=world.agency_a)
    return [p["problem"] for p in exc.value.fields["problems"] if p["field"] == "process_xml"]


TASK_ID_CONVENTION = (
    "办件系统按用户任务的 ID 识别环节：受理环节的 ID 以 accept 开头，决定环节以 decide 开头，"
    "送达环节以 deliver 开头，其余用户任务都按审查处理；请在建模工具的属性面板中修改 ID"
    "（自动生成的 ID 如 Activity_0x1y2z 不能识别）")


def _modeler_ids_process() -> str:
    """受理 → 决定 → approved or refused, with the ids bpmn.io and Camunda Modeler draw."""
    body = ('<bpmn:startEvent id="StartEvent_1"/>'
            + user_task("Activity_0acc1", "受理") + user_task("Activity_1dec2", "决定")
            + '<bpmn:exclusiveGateway id="Gateway_0ok" default="Flow_no"/>'
            + '<bpmn:endEvent id="approved" name="准予"/><bpmn:endEvent id="refused"/>'
            + flow("StartEvent_1", "Activity_0acc1") + flow("Activity_0acc1", "Activity_1dec2")
            + flow("Activity_1dec2", "Gateway_0ok")
            + flow("Gateway_0ok", "approved", 'opinion == "approve"', flow_id="Flow_ok")
            + flow("Gateway_0ok", "refused", flow_id="Flow_no"))
    return document(body, lanes=[("$accepting/窗口受理员", ["Activity_0acc1"]),
                                 ("$accepting/部门负责人", ["Activity_1dec2"])]).decode()


def test_a_process_with_modeler_ids_is_refused_with_the_id_convention(world):
    """The case engine reads what a step is from its id: with ``Activity_0acc1`` the
    受理 step would never accept a case (no clock), nor 决定 decide one (an approval
    closed with no certificate)."""
    assert _process_problems(world, _modeler_ids_process()) == [
        "用户任务“受理”（Activity_0acc1） 是办件的第一个环节，但不是受理环节：办件要受理后才"
        "开始计时。" + TASK_ID_CONVENTION,
        "结束事件“准予”（approved） 表示准予，但不经过决定环节也能到达：准予要在决定环节作出，"
        "准予的证照由此签发。",
    ]
    fixed = _modeler_ids_process().replace("Activity_0acc1", "accept").replace(
        "Activity_1dec2", "decide")
    assert clean_version_data(item_content(process_template="custom", process_xml=fixed),
                              agency=world.agency_a)["process_template"] == "custom"


def test_an_approval_reachable_past_the_decision_is_refused(world):
    """A review's own exit to ``approved`` skips the head's decision."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + user_task("review", "审查") + user_task("decide", "决定")
            + '<bpmn:exclusiveGateway id="gw" default="f_decide"/>'
            + '<bpmn:endEvent id="approved"/><bpmn:endEvent id="approved_fast"/>'
            + flow("start", "accept") + flow("accept", "review") + flow("review", "gw")
            + flow("gw", "approved_fast", "opinion == 'approve'")
            + flow("gw", "decide", flow_id="f_decide") + flow("decide", "approved"))
    xml = document(body, lanes=[("$accepting/window_clerk", ["accept"]),
                                ("$accepting/reviewer", ["review"]),
                                ("$accepting/agency_head", ["decide"])]).decode()
    assert _process_problems(world, xml) == [
        "结束事件 approved_fast 表示准予，但不经过决定环节也能到达：准予要在决定环节作出，"
        "准予的证照由此签发。" + TASK_ID_CONVENTION]


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_standard_templates_uploaded_as_files_pass(world, template):
    """Downloaded, edited and uploaded again, each template meets the id convention; a
    即办件's first step is its decision (the window accepts and decides at once)."""
    agencies = {"joint_agencies": ["乙局"], "upper_agency": provincial_agency(world).name}
    clean = clean_version_data(item_content(
        process_template="custom", process_xml=bpmn.template_xml(template).decode(),
        **agencies), agency=world.agency_a)
    assert clean["process_template"] == "custom"


AREA_FIELD = {"name": "area", "label": "经营面积", "type": "number"}


def _gateway_on(condition: str, script: str = "", *, then: str = "", big: str = "") -> str:
    """受理 (then a script 计算, and a script 汇总 after it) → gateway: ``condition``
    → 重大项目审查 (then a script 复核), default → 决定."""
    scripts = [(task_id, name, text) for task_id, name, text in (
        ("calc", "计算", script), ("total", "汇总", then)) if text]
    tasks = "".join(f'<bpmn:scriptTask id="{task_id}" name="{name}"><bpmn:script>{text}'
                    '</bpmn:script></bpmn:scriptTask>' for task_id, name, text in scripts)
    chain = ["accept", *(task_id for task_id, _name, _text in scripts), "gw_area"]
    big_chain = ["review_big", *(["recheck"] if big else []), "decide"]
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理") + tasks
            + (f'<bpmn:scriptTask id="recheck" name="复核"><bpmn:script>{big}'
               '</bpmn:script></bpmn:scriptTask>' if big else "")
            + '<bpmn:exclusiveGateway id="gw_area" default="f_small"/>'
            + user_task("review_big", "重大项目审查") + user_task("decide", "决定")
            + '<bpmn:endEvent id="approved"/>' + flow("start", "accept")
            + "".join(flow(a, b) for a, b in itertools.pairwise(chain))
            + flow("gw_area", "review_big", condition, flow_id="f_big")
            + flow("gw_area", "decide", flow_id="f_small")
            + "".join(flow(a, b) for a, b in itertools.pairwise(big_chain))
            + flow("decide", "approved"))
    return document(body, lanes=[("$accepting/window_clerk", ["accept"]),
                                 ("$accepting/reviewer", ["review_big"]),
                                 ("$accepting/agency_head", ["decide"])]).decode()


def test_a_condition_on_a_name_no_case_has_is_refused_naming_the_flow(world):
    """``amount`` is not a field of the form: every case would stop at the gateway, or
    the applicant would route it by posting an ``amount`` of their choosing."""
    unknown = ("读取了“amount”，但它不是申请表的字段，也不是脚本赋值的变量或系统提供的变量"
               "（joint_agencies、joint_agency、joint_opinions、opinion）：办件时无法判断。"
               "请在申请表中添加该字段，或修改条件")
    assert _process_problems(world, _gateway_on("amount > 100000"),
                             form_fields=[AREA_FIELD]) == [f"顺序流 f_big {unknown}"]
    # A script reading it is refused as well, naming the script.
    assert _process_problems(world, _gateway_on("fee > 100", script="fee = amount * 0.01"),
                             form_fields=[AREA_FIELD]) == [f"脚本任务“计算”（calc） {unknown}"]


BLANK_AREA = ("在可选字段“area”未填写时无法判断：未填写的字段没有值（None），不能比较或计算。"
              "请先判断是否填写（例如在前面加上“area is not None and”），或把该字段改为必填")


def _may_be_blank(name: str) -> str:
    return (f"使用的“{name}”可能没有值（None）：脚本赋给它的值可能是 None（例如可选字段未填写时），"
            f"不能比较或计算。请先判断是否有值（例如在前面加上“{name} is not None and”），"
            f"或让脚本赋给它的值不会是 None（例如“{name} = … or 0”）")


def test_a_condition_that_cannot_be_decided_on_a_blank_optional_field_is_refused(world):
    """An optional field left blank is None: ``area > 500`` would stop every
    case without the answer at the step before the gateway, for good."""
    for condition in ("area > 500", "${area > 500}", "=area >= 500", "area * 2 > 1000",
                      'opinion == "x" or area > 500'):
        assert _process_problems(world, _gateway_on(condition), form_fields=[AREA_FIELD]) == [
            f"顺序流 f_big {BLANK_AREA}"], condition
    assert _process_problems(world, _gateway_on("fee > 100", script="fee = area * 0.01"),
                             form_fields=[AREA_FIELD]) == [f"脚本任务“计算”（calc） {BLANK_AREA}"]


@pytest.mark.parametrize(("condition", "scripts", "problem"), [
    # A script's copy of the answer is as blank as the answer.
    ("size > 500", {"script": "size = area"}, f"顺序流 f_big {_may_be_blank('size')}"),
    # Assigning the field to itself gives it no value.
    ("area > 500", {"script": "area = area"}, f"顺序流 f_big {BLANK_AREA}"),
    # Nor does one script's copy reach another with a value.
    ("fee > 100", {"script": "size = area", "then": "fee = size * 2"},
     f"脚本任务“汇总”（total） {_may_be_blank('size')}"),
    # The gateway comes before the script that gives the field a value.
    ("area > 500", {"big": "area = area or 0"}, f"顺序流 f_big {BLANK_AREA}"),
])
def test_a_blank_optional_field_a_script_passes_on_is_refused(world, condition, scripts,
                                                              problem):
    """Saved, such an item would stop every case without the answer at 受理 for
    good, as ``area > 500`` would: a script that assigns a name gives it a value
    only if that value cannot be None, and only for the steps after it."""
    xml = _gateway_on(condition, **scripts)
    assert _process_problems(world, xml, form_fields=[AREA_FIELD]) == [problem]
    definition = bpmn.load_process(xml.encode(), resolve_agency=lambda name: True)
    step = bpmn.start(definition, data={"area": None}, agencies={"$accepting": 1})
    with pytest.raises(bpmn.ProcessRuntimeError):
        bpmn.complete(definition, step.state_json, task_id=step.ready[0].task_id,
                      data={"opinion": "approve"})


@pytest.mark.parametrize(("condition", "scripts"), [
    ("area > 500", {"script": "area = area or 0"}),
    ("size > 500", {"script": "size = area or 0"}),
    ("size > 500", {"script": "size = 0 if area is None else area"}),
    ("fee > 100", {"script": "size = area or 0", "then": "fee = size * 2"}),
    ("area > 500", {"script": "area = area or 0", "big": "fee = area * 2"}),
])
def test_a_value_a_script_gives_a_blank_optional_field_is_accepted(world, condition, scripts):
    clean = clean_version_data(item_content(
        process_template="custom", process_xml=_gateway_on(condition, **scripts),
        form_fields=[AREA_FIELD]), agency=world.agency_a)
    assert clean["process_template"] == "custom"


@pytest.mark.parametrize(("condition", "required"), [
    ("area > 500", True),                                    # required: always answered
    ("area is not None and area > 500", False),
    ("area != None and area > 500", False),
    ("${area != null && area > 500}", False),
    ("=area != null and area > 500", False),
    ("area is None or area > 500", False),
    ("area > 500 if area is not None else False", False),
    ("area == 500", False),                                  # None == 500 is False
])
def test_a_condition_decided_on_every_answer_is_accepted(world, condition, required):
    clean = clean_version_data(item_content(
        process_template="custom", process_xml=_gateway_on(condition),
        form_fields=[{**AREA_FIELD, "required": required}]), agency=world.agency_a)
    assert clean["process_template"] == "custom"


@pytest.mark.parametrize(("condition", "script"), [
    ("area is not None and area > 500", ""),               # a field of the form
    ("fee > 100", "fee = 0 if area is None else area * 2"),  # a name a script assigns
    ('opinion == "approve"', ""),                           # the engine's own
])
def test_a_condition_may_read_the_form_the_scripts_and_the_engine(world, condition, script):
    clean = clean_version_data(item_content(
        process_template="custom", process_xml=_gateway_on(condition, script),
        form_fields=[AREA_FIELD]), agency=world.agency_a)
    assert clean["process_template"] == "custom"
