"""Files as Camunda Modeler writes them: JUEL and FEEL conditions, candidate
groups, Camunda 8 script tasks, a file saved as UTF-16."""

import codecs

import pytest

from tests.bpmn.documents import HEAD, document, flow, gateway_document, user_task
from yizhan import bpmn

KNOWN_AGENCIES = {"市市场监督管理局"}
CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
ZEEBE = 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '


def load(xml):
    return bpmn.load_process(xml, resolve_agency=KNOWN_AGENCIES.__contains__)


def message(xml):
    with pytest.raises(bpmn.ProcessError) as info:
        load(xml)
    return info.value.render("zh-hans")


def with_namespace(xml: bytes, namespace: str) -> bytes:
    return xml.replace(HEAD.encode(), HEAD.replace("xmlns:xsi", namespace + "xmlns:xsi").encode())


# Conditions

@pytest.mark.parametrize(("condition", "data", "outcome"), [
    ("${amount > 500}", {"amount": 600}, "approved"),
    ("${amount > 500}", {"amount": 100}, "refused"),
    ("${amount gt 500 && kind == 'legal'}", {"amount": 600, "kind": "legal"}, "approved"),
    ("${amount gt 500 && kind == 'legal'}", {"amount": 600, "kind": "natural"}, "refused"),
    ("${!urgent}", {"urgent": False}, "approved"),
    ("${!urgent || amount le 10}", {"urgent": True, "amount": 5}, "approved"),
    # ! binds to its operand, as in JUEL: (!urgent) == true.
    ("${!urgent == true}", {"urgent": False}, "approved"),
    ("${kind != null}", {"kind": None}, "refused"),
    ("=amount > 500", {"amount": 600}, "approved"),
    ('= amount > 500 and kind = "legal"', {"amount": 600, "kind": "legal"}, "approved"),
    ('=kind != "legal" or not(urgent)', {"kind": "legal", "urgent": True}, "refused"),
    ("=kind = null", {"kind": None}, "approved"),
])
def test_juel_and_feel_conditions_branch_on_application_data(case, condition, data, outcome):
    definition = load(gateway_document(condition))
    c = case(definition, data=data, agencies={"$accepting": 1})
    c.do("决定")
    assert c.step.outcome == outcome


@pytest.mark.parametrize(("condition", "reason"), [
    ("${amount > 500 ? true : false}", "JUEL 表达式中的“?”不受支持"),
    ("${empty kind}", "JUEL 表达式中的“empty”不受支持"),
    ("=if amount > 500 then true else false", "FEEL 表达式中的“if”不受支持"),
    ("=amount in [1..5]", "FEEL 表达式中的“..”不受支持"),
    ("${!}", "JUEL 表达式不完整"),
    ("${!(a}", "JUEL 表达式的括号不成对"),
    ("${a b}", "无法按 JUEL 读懂这个表达式"),
    ("${execution.getVariable('amount') > 5}", "只能调用这些函数"),
    ("${x.__class__}", "不允许以下划线开头的名称"),
    # A "!" before each of 1,990 operands nests deeper than Python recurses.
    ("${" + "!" * 1990 + "a}", "表达式无法解析"),
])
def test_the_rest_of_juel_and_feel_is_refused_in_chinese_naming_the_flow(condition, reason):
    text = message(gateway_document(condition))
    assert text.startswith("顺序流 f_condition 的条件")
    assert reason in text


def _declared(condition: str, language: str) -> bytes:
    return gateway_document(condition).replace(
        b'xsi:type="bpmn:tFormalExpression">',
        f'xsi:type="bpmn:tFormalExpression" language="{language}">'.encode())


@pytest.mark.parametrize("language", ["javascript", "groovy", "JavaScript", "mvel"])
def test_a_condition_declared_in_another_language_is_refused_naming_it(language):
    """Camunda 7 runs such a condition as JavaScript or Groovy, where the same
    text may mean something else (JavaScript's ``amount == "500"`` holds for
    500, here not): the language is refused as a script task's is."""
    assert message(_declared('amount == "500"', language)) == (
        f"顺序流 f_condition 的条件语言“{language}”不受支持：条件只能用本平台的表达式，"
        "或 JUEL（${…}）、FEEL（=…）的比较写成（language 留空或填 python）。")


def test_a_completion_condition_declared_in_another_language_is_refused_naming_it():
    body = ('<bpmn:startEvent id="start"/>' + user_task(
                "joint", "会同审查",
                inner='<bpmn:multiInstanceLoopCharacteristics><bpmn:completionCondition '
                      'xsi:type="bpmn:tFormalExpression" language="groovy">'
                      'opinion == "reject"</bpmn:completionCondition>'
                      "</bpmn:multiInstanceLoopCharacteristics>")
            + '<bpmn:endEvent id="approved"/>' + flow("start", "joint")
            + flow("joint", "approved"))
    text = message(document(body, lanes=[("$joint/reviewer", ["joint"])]))
    assert text.startswith("用户任务“会同审查”（joint） 的条件语言“groovy”不受支持")


@pytest.mark.parametrize(("condition", "language"), [
    ("=amount > 500", "feel"),
    ("=amount > 500", "FEEL"),
    ("${amount > 500}", "juel"),
    ("amount > 500", "python"),
    ("amount > 500", "text/x-python"),
    ("amount > 500", " "),
])
def test_a_condition_declared_in_our_languages_branches(case, condition, language):
    definition = load(_declared(condition, language))
    c = case(definition, data={"amount": 600}, agencies={"$accepting": 1})
    c.do("决定")
    assert c.step.outcome == "approved"


# Posts

def _task(attributes: str = "", extension: str = "", *, namespace: str = CAMUNDA) -> bytes:
    body = (
        '<bpmn:startEvent id="start"/>'
        f'<bpmn:userTask id="accept" name="受理" {attributes}>{extension}</bpmn:userTask>'
        '<bpmn:endEvent id="approved"/>'
        + flow("start", "accept") + flow("accept", "approved")
    )
    return with_namespace(document(body), namespace)


def test_camunda_7_candidate_groups_name_the_post_of_a_task_in_no_lane():
    post = load(_task('camunda:candidateGroups="市市场监督管理局/审查员"')).tasks["accept"]
    assert (post.role, post.agency) == ("reviewer", "市市场监督管理局")


def test_camunda_8_assignment_definition_names_the_post_of_a_task_in_no_lane():
    post = load(_task(extension='<bpmn:extensionElements><zeebe:assignmentDefinition '
                                'candidateGroups="window_clerk"/></bpmn:extensionElements>',
                      namespace=ZEEBE)).tasks["accept"]
    assert (post.role, post.agency) == ("window_clerk", "$accepting")


def test_a_task_in_a_lane_takes_the_lane_s_post_whatever_its_candidate_groups():
    """Camunda Modeler files carry Camunda's own groups (``window``)."""
    lane = ('<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="$accepting/reviewer">'
            "<bpmn:flowNodeRef>accept</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>")
    xml = _task('camunda:candidateGroups="window"').replace(
        b'isExecutable="true">', b'isExecutable="true">' + lane.encode())
    post = load(xml).tasks["accept"]
    assert (post.role, post.agency) == ("reviewer", "$accepting")


def _in_lanes(xml: bytes, lanes: str) -> bytes:
    return xml.replace(b'isExecutable="true">',
                       b'isExecutable="true"><bpmn:laneSet id="ls">' + lanes.encode()
                       + b"</bpmn:laneSet>")


def test_a_task_in_an_unnamed_lane_takes_its_candidate_group():
    """Camunda Modeler draws a pool's lanes unnamed; the post is then typed in
    the task's Candidate groups.  A lane with no name says nothing of it."""
    xml = _in_lanes(_task('camunda:candidateGroups="$accepting/窗口受理员"'),
                    '<bpmn:lane id="l1"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
                    "<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>"
                    '<bpmn:flowNodeRef>approved</bpmn:flowNodeRef></bpmn:lane>'
                    '<bpmn:lane id="l2" name=" "/>')
    post = load(xml).tasks["accept"]
    assert (post.role, post.agency) == ("window_clerk", "$accepting")


def test_an_unnamed_lane_beside_a_named_one_leaves_the_named_one_s_post():
    xml = _in_lanes(_task('camunda:candidateGroups="window"'),
                    '<bpmn:lane id="l1"><bpmn:flowNodeRef>accept</bpmn:flowNodeRef></bpmn:lane>'
                    '<bpmn:lane id="l2" name="$accepting/reviewer">'
                    "<bpmn:flowNodeRef>accept</bpmn:flowNodeRef></bpmn:lane>")
    post = load(xml).tasks["accept"]
    assert (post.role, post.agency) == ("reviewer", "$accepting")


def test_a_task_in_an_unnamed_lane_and_without_candidate_group_is_told_of_both():
    xml = _in_lanes(_task(), '<bpmn:lane id="l1"><bpmn:flowNodeRef>accept</bpmn:flowNodeRef>'
                             "</bpmn:lane>")
    assert "或在任务的候选组（candidateGroups）中这样填写" in message(xml)


def test_a_candidate_group_naming_an_unknown_agency_is_refused():
    assert message(_task('camunda:candidateGroups="不存在局/审查员"')) == (
        "用户任务“受理”（accept）：候选组（candidateGroups）中的机关“不存在局”不存在。")


@pytest.mark.parametrize("groups", ["reviewer,agency_head", "a/b/reviewer", "/reviewer"])
def test_a_candidate_group_naming_more_or_less_than_one_post_is_refused(groups):
    assert message(_task(f'camunda:candidateGroups="{groups}"')) == (
        f"用户任务“受理”（accept） 的候选组（candidateGroups）“{groups}”须是一个岗位，写作“角色”或"
        "“机关/角色”，例如“$accepting/窗口受理员”。")


def test_a_task_in_no_lane_and_without_candidate_group_is_told_of_both():
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + '<bpmn:endEvent id="approved"/>' + flow("start", "accept")
            + flow("accept", "approved"))
    assert "或在任务的候选组（candidateGroups）中这样填写" in message(document(body))


# Camunda 8 script tasks

def _zeebe_script(attributes: str) -> bytes:
    body = (
        '<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
        + '<bpmn:scriptTask id="calc" name="计算费用"><bpmn:extensionElements>'
        + f"<zeebe:script {attributes}/></bpmn:extensionElements></bpmn:scriptTask>"
        + '<bpmn:endEvent id="approved"/>'
        + flow("start", "accept") + flow("accept", "calc") + flow("calc", "approved"))
    return with_namespace(document(body, lanes=[("window_clerk", ["accept"])]), ZEEBE)


def test_a_camunda_8_script_task_stores_its_feel_expression(case):
    definition = load(_zeebe_script('expression="=amount * 2" resultVariable="fee"'))
    c = case(definition, data={"amount": 3}, agencies={"$accepting": 1})
    c.do("受理")
    assert c.step.data["fee"] == 6


@pytest.mark.parametrize(("attributes", "reason"), [
    ('expression="=string length(x)" resultVariable="n"', "无法按 FEEL 读懂这个表达式"),
    ('expression="amount" resultVariable="n"', "Camunda 8 脚本的表达式须以“=”开头（FEEL）"),
    ('expression="=1" resultVariable="a b"', "结果变量“a b”不是有效的变量名"),
    ('expression="=1" resultVariable="joint_opinions"', "不能给“joint_opinions”赋值"),
])
def test_a_camunda_8_script_outside_the_language_is_refused(attributes, reason):
    text = message(_zeebe_script(attributes))
    assert text.startswith("脚本任务“计算费用”（calc） 的脚本不被允许：")
    assert reason in text


# Encodings

def _utf16_declared():
    return gateway_document("amount > 500").decode().replace(
        'encoding="UTF-8"', 'encoding="UTF-16"')


def test_a_file_saved_as_utf16_with_its_byte_order_mark_loads():
    assert set(load(_utf16_declared().encode("utf-16")).tasks) == {"decide"}


def test_text_declaring_another_encoding_loads():
    """The API carries the file as text: the encoding it declares no longer applies."""
    assert set(load(_utf16_declared()).tasks) == {"decide"}


@pytest.mark.parametrize(("raw", "text"), [
    ("<x/>".encode("utf-16"), "<x/>"),
    (codecs.BOM_UTF16_BE + "<x/>".encode("utf-16-be"), "<x/>"),
    ("<流程/>".encode("utf-8-sig"), "<流程/>"),
    ("<流程/>".encode(), "<流程/>"),
])
def test_the_text_of_a_file_is_read_as_the_loader_reads_it(raw, text):
    """``process_text``, for a caller keeping the file as text (the catalog's desk)."""
    assert bpmn.process_text(raw) == text


@pytest.mark.parametrize(("raw", "reason"), [
    (b"\x89PNG\r\n\x1a\n", "流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。"),
    (codecs.BOM_UTF16_LE + b"<", "流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。"),
    (b"<x/>" + b" " * bpmn.MAX_BYTES, "流程文件过大"),
    (codecs.BOM_UTF16_LE + b" \x00" * bpmn.MAX_BYTES, "流程文件过大"),
])
def test_a_file_the_loader_would_not_read_is_refused_as_text_too(raw, reason):
    with pytest.raises(bpmn.ProcessError) as info:
        bpmn.process_text(raw)
    assert info.value.render("zh-hans").startswith(reason)

