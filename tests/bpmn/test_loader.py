"""Uploading BPMN files: what is accepted, and what is refused with which message."""

import itertools
from pathlib import Path

import pytest
from django.utils import translation

from tests.bpmn.documents import document, flow, gateway_document, linear, user_task
from yizhan import bpmn
from yizhan.bpmn import loader
from yizhan.directory.roles import Role

FILES = Path(__file__).parent / "files"
KNOWN_AGENCIES = {"市市场监督管理局", "市公安局"}


def load(xml: bytes):
    return bpmn.load_process(xml, resolve_agency=KNOWN_AGENCIES.__contains__)


def refusal(xml: bytes) -> bpmn.ProcessError:
    with pytest.raises(bpmn.ProcessError) as info:
        load(xml)
    return info.value


def message(xml: bytes) -> str:
    return refusal(xml).render("zh-hans")


def test_a_modeler_export_with_diagram_interchange_loads():
    """A Camunda Modeler file: pool, nested lanes, DI, camunda:* extensions, a script."""
    definition = load((FILES / "camunda_modeler.bpmn").read_bytes())
    assert definition.process_id == "Process_food_license"
    assert definition.name == "食品经营许可"
    posts = {p.title: (p.role, p.agency) for p in definition.tasks.values()}
    assert posts == {
        "受理": ("window_clerk", "$accepting"),
        "审查": ("reviewer", "$accepting"),
        "区县局决定": ("agency_head", "$accepting"),
        "市局决定": ("agency_head", "市市场监督管理局"),
        "送达": ("window_clerk", "$accepting"),
    }
    assert definition.agency_refs == {"$accepting", "市市场监督管理局"}
    assert definition.outcomes == {"approved": "approved"}


@pytest.mark.parametrize(("amount", "decider", "agency_id"), [
    (200000, "市局决定", 2),
    (100000, "区县局决定", 7),
])
def test_gateways_branch_on_application_data(case, amount, decider, agency_id):
    """``amount > 100000`` sends the case to the city; a script computed the fee."""
    definition = load((FILES / "camunda_modeler.bpmn").read_bytes())
    c = case(definition, data={"amount": amount},
             agencies={"$accepting": 7, "市市场监督管理局": 2})
    c.do("受理")
    c.do("审查", opinion="approve")
    assert [(t.title, t.agency_id) for t in c.ready] == [(decider, agency_id)]
    assert c.step.data["large"] is (amount > 100000)
    assert c.step.data["fee"] == round(amount * 0.001, 2)


def test_the_definition_is_rebuilt_from_its_text():
    definition = bpmn.load_template("parallel")
    again = bpmn.ProcessDefinition.from_json(definition.spec_json)
    assert again == definition


def test_the_role_labels_match_the_directory():
    """Lanes may say 审查员 instead of reviewer: the labels are Role's."""
    with translation.override("zh-hans"):
        labels = {str(role.label): role for role in Role}
    for label, role in loader.TASK_ROLES.items():
        if label not in {r.value for r in Role}:
            assert labels[label] is role


@pytest.mark.parametrize("lane", [
    "reviewer", "审查员", "$accepting/reviewer", "$accepting / 审查员", "$accepting／审查员",
])
def test_lane_names_a_role_with_or_without_an_agency(lane):
    definition = load(linear("review", lane=lane))
    assert definition.tasks["review"].role == "reviewer"
    assert definition.tasks["review"].agency == "$accepting"


# Refusals: each names the element and the reason.

def test_not_xml():
    assert message(b"this is not xml <") .startswith("流程文件不是有效的 XML")
    assert message(b"") == "流程文件是空的。"


def test_not_bpmn():
    text = message(b'<?xml version="1.0"?><definitions xmlns="http://example.com/x"/>')
    assert text.startswith("文件不是 BPMN 2.0 文档")


def test_no_executable_process():
    text = message(linear("a").replace(b'isExecutable="true"', b'isExecutable="false"'))
    assert "没有可执行的流程" in text


def test_two_executable_processes():
    xml = document('<bpmn:startEvent id="s"/>', after=(
        '<bpmn:process id="other" isExecutable="true"><bpmn:startEvent id="s2"/>'
        "</bpmn:process>"))
    assert "只能有一个可执行流程" in message(xml)


def test_no_start_event():
    body = user_task("a") + '<bpmn:endEvent id="approved"/>' + flow("a", "approved")
    error = refusal(document(body, lanes=[("window_clerk", ["a"])]))
    assert error.render("zh-hans") == "流程“测试流程”（test） 没有开始事件。"
    assert error.fields["element_id"] == "test"
    assert error.code == "bpmn.invalid"
    assert error.http_status == 400
    assert isinstance(error, bpmn.ProcessError)


def test_unknown_role():
    error = refusal(linear("review", lane="$accepting/inspector"))
    assert error.render("zh-hans").startswith(
        "用户任务“review”（review）：泳道中的角色“inspector”不存在")
    assert error.fields["element_id"] == "review"


def test_a_role_that_does_no_case_work():
    text = message(linear("review", lane="sysadmin"))
    assert "角色“sysadmin”不办理流程任务" in text
    # The refusal lists every role that may hold a task, from the loader's own table.
    for role in set(loader.TASK_ROLES.values()):
        assert f"{role.value}（" in text
    assert "supervision_officer（监察员）" in text


def test_the_listed_roles_follow_the_message_s_language():
    """Raised on an English page, the Chinese message still lists the roles in Chinese."""
    with translation.override("en"):
        error = refusal(linear("review", lane="sysadmin"))
    assert "supervision_officer（监察员）" in error.render("zh-hans")
    assert "supervision_officer（监察员）" not in error.render("en")


def test_unknown_agency():
    text = message(linear("review", lane="市税务局/reviewer"))
    assert text == "用户任务“review”（review）：泳道中的机关“市税务局”不存在。"


def test_known_named_agency():
    definition = load(linear("review", lane="市公安局/reviewer"))
    assert definition.tasks["review"].agency == "市公安局"
    assert definition.agency_refs == {"市公安局"}


def test_unknown_symbolic_agency():
    assert "机关代号“$province”不存在" in message(linear("a", lane="$province/reviewer"))


def test_user_task_outside_lanes():
    body = ('<bpmn:startEvent id="start"/>' + user_task("a", "审查")
            + '<bpmn:endEvent id="approved"/>' + flow("start", "a") + flow("a", "approved"))
    assert message(document(body)).startswith("用户任务“审查”（a） 不在任何泳道里")


def test_lane_with_too_many_parts():
    assert "应为“角色”或“机关/角色”" in message(linear("a", lane="a/b/reviewer"))


@pytest.mark.parametrize(("element", "kind"), [
    ('<bpmn:serviceTask id="svc" name="调用接口"/>', "服务任务"),
    ('<bpmn:callActivity id="call" calledElement="other"/>', "调用活动"),
    ('<bpmn:subProcess id="sub"/>', "子流程"),
    ('<bpmn:sendTask id="send"/>', "发送任务"),
    ('<bpmn:task id="plain"/>', "未指定类型的任务"),
    ('<bpmn:inclusiveGateway id="inc"/>', "包容网关"),
    ('<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition/>'
     "</bpmn:intermediateCatchEvent>", "中间捕获事件"),
    ('<bpmn:boundaryEvent id="b" attachedToRef="a"><bpmn:timerEventDefinition/>'
     "</bpmn:boundaryEvent>", "边界事件"),
    ('<bpmn:dataObjectReference id="doc"/>', "数据对象引用"),
])
def test_unsupported_elements(element, kind):
    error = refusal(linear("a", middle=element))
    assert f"不支持{kind}" in error.render("zh-hans")
    assert "流程只能由开始事件、结束事件" in error.render("zh-hans")


@pytest.mark.parametrize(("definition", "kind"), [
    ("<bpmn:timerEventDefinition/>", "定时事件定义"),
    ("<bpmn:messageEventDefinition/>", "消息事件定义"),
])
def test_start_events_carry_no_trigger(definition, kind):
    xml = linear("a").replace(b'<bpmn:startEvent id="start"/>',
                              f'<bpmn:startEvent id="start">{definition}</bpmn:startEvent>'
                              .encode())
    assert message(xml) == (f"开始事件 start：不支持{kind}。流程只能由开始事件、结束事件（可为"
                            "终止结束事件）、用户任务、脚本任务、排他网关、并行网关、顺序流和泳道组成。")


def test_message_flows_between_pools_are_refused():
    xml = linear("a").replace(b"<bpmn:process", (
        b'<bpmn:collaboration id="c"><bpmn:participant id="p" processRef="test"/>'
        b'<bpmn:messageFlow id="m" sourceRef="p" targetRef="p"/></bpmn:collaboration>'
        b"<bpmn:process"))
    assert "不支持消息流" in message(xml)


def test_root_level_message_definitions_are_refused():
    xml = linear("a").replace(b"<bpmn:process",
                              b'<bpmn:message id="msg" name="m"/><bpmn:process')
    assert "不支持消息定义" in message(xml)


def test_loop_marker_is_refused():
    xml = linear("a").replace(b'name="a"></bpmn:userTask>',
                              b'name="a"><bpmn:standardLoopCharacteristics/></bpmn:userTask>')
    assert "不支持循环标记" in message(xml)


def test_multi_instance_only_in_the_joint_lane():
    xml = linear("a").replace(
        b'name="a"></bpmn:userTask>',
        b'name="a"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>')
    assert "只有“$joint”（会同机关）泳道中的任务才能是多实例任务" in message(xml)


def test_joint_task_must_be_drawn_parallel_multi_instance():
    assert "须画成并行多实例任务" in message(linear("a", lane="$joint/reviewer"))
    xml = linear("a", lane="$joint/reviewer").replace(
        b'name="a"></bpmn:userTask>',
        b'name="a"><bpmn:multiInstanceLoopCharacteristics isSequential="true"/>'
        b"</bpmn:userTask>")
    assert "不能是串行多实例" in message(xml)


def test_joint_task_collection_is_not_typed_by_hand():
    xml = linear("a", lane="$joint/reviewer").replace(
        b'name="a"></bpmn:userTask>',
        b'name="a"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3'
        b"</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>")
    assert "不能有 loopCardinality" in message(xml)


def test_condition_only_on_exclusive_gateway_exits():
    body = ('<bpmn:startEvent id="start"/>' + user_task("a") + '<bpmn:endEvent id="approved"/>'
            + flow("start", "a") + flow("a", "approved", "amount > 1"))
    text = message(document(body, lanes=[("window_clerk", ["a"])]))
    assert text == "顺序流 f_a_approved 带有条件，但条件只能写在排他网关的出口上。"


def test_exclusive_exit_without_condition_or_default():
    xml = gateway_document("amount > 1").replace(b' default="f_default"', b"")
    assert message(xml) == "顺序流 f_default 是排他网关的出口，但既没有条件也不是默认出口。"


def test_exclusive_gateway_whose_exits_all_have_conditions_needs_a_default():
    """Conditions that miss some application would stop the case at the gateway."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("decide", "决定")
            + '<bpmn:exclusiveGateway id="gw"/>'
            + '<bpmn:endEvent id="approved"/><bpmn:endEvent id="refused"/>'
            + flow("start", "decide") + flow("decide", "gw")
            + flow("gw", "approved", "amount > 1") + flow("gw", "refused", "amount <= 1"))
    xml = document(body, lanes=[("$accepting/window_clerk", ["decide"])])
    assert message(xml) == ("排他网关 gw 的出口都带条件，但没有默认出口：申请信息不满足任何"
                            "条件时办件将无法继续。请把其中一条出口设为默认出口。")


def test_an_exclusive_gateway_whose_only_exit_has_a_condition_needs_a_default():
    """A case whose data do not meet the one condition would stop at the gateway for
    good: the step before it refused on every retry."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + '<bpmn:exclusiveGateway id="gw"/>' + user_task("review", "审查")
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "accept") + flow("accept", "gw")
            + flow("gw", "review", 'opinion == "approve"', flow_id="f_only")
            + flow("review", "approved"))
    error = refusal(document(body, lanes=[("window_clerk", ["accept", "review"])]))
    assert error.fields["element_id"] == "gw"
    assert error.render("zh-hans") == (
        "排他网关 gw 只有一条出口，且带条件，但没有默认出口：申请信息不满足该条件时办件将无法"
        "继续。请去掉这个条件，或再画一条默认出口。")
    # Without the condition, a gateway with one exit is a plain pass.
    assert load(document(body.replace(
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
        'opinion == "approve"</bpmn:conditionExpression>', ""),
        lanes=[("window_clerk", ["accept", "review"])]))


def _exclusive_then_parallel_join() -> str:
    """Exclusive split → 甲审查 | 乙审查 → *parallel* join → 复核."""
    return ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + '<bpmn:exclusiveGateway id="gw" name="分流" default="f_default"/>'
            + '<bpmn:parallelGateway id="join"/>'
            + user_task("a", "甲审查") + user_task("b", "乙审查") + user_task("review", "复核")
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "accept") + flow("accept", "gw")
            + flow("gw", "a", 'opinion == "approve"') + flow("gw", "b", flow_id="f_default")
            + flow("a", "join") + flow("b", "join") + flow("join", "review")
            + flow("review", "approved"))


def test_a_parallel_join_of_the_exits_of_an_exclusive_gateway_is_refused():
    """The join waits for the branch that was not taken: every case would be refused
    at the step that reaches it (``runtime._check_not_stuck``) and never move on."""
    xml = document(_exclusive_then_parallel_join(),
                   lanes=[("window_clerk", ["accept", "a", "b", "review"])])
    error = refusal(xml)
    assert error.fields["element_id"] == "join"
    assert error.render("zh-hans") == (
        "并行网关 join 要等每条进入的分支都到达才继续，但这些分支来自排他网关“分流”（gw） "
        "的不同出口：排他网关只走其中一条，并行网关会一直等待没有走的分支，办件将无法继续。"
        "汇合排他网关的分支请用排他网关。")
    # Joined by an exclusive gateway, the same branches are fine.
    assert load(xml.replace(b'<bpmn:parallelGateway id="join"/>',
                            b'<bpmn:exclusiveGateway id="join"/>'))


def test_a_parallel_join_behind_an_exclusive_gateway_that_is_sound_loads(case):
    """What the join check must let through: an exit that ends the case (a veto to a
    terminate end), one that loops back before the split (补正), and a choice made
    inside one branch and merged again before the join."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + '<bpmn:exclusiveGateway id="gw_accept" default="f_split"/>'
            + '<bpmn:parallelGateway id="split"/>' + user_task("police", "公安审查")
            + '<bpmn:exclusiveGateway id="police_ok" default="f_police_ok"/>'
            + '<bpmn:exclusiveGateway id="choice" default="f_site"/>'
            + user_task("paper", "书面审查") + user_task("site", "现场核查")
            + '<bpmn:exclusiveGateway id="merge"/>' + '<bpmn:parallelGateway id="join"/>'
            + user_task("decide", "决定")
            + '<bpmn:exclusiveGateway id="gw_decide" default="f_approved"/>'
            + '<bpmn:endEvent id="approved"/><bpmn:endEvent id="not_accepted"/>'
            + '<bpmn:endEvent id="refused"><bpmn:terminateEventDefinition/></bpmn:endEvent>'
            + flow("start", "accept") + flow("accept", "gw_accept")
            + flow("gw_accept", "not_accepted", 'opinion == "reject"')
            + flow("gw_accept", "split", flow_id="f_split")
            + flow("split", "police") + flow("split", "choice")
            + flow("police", "police_ok")
            + flow("police_ok", "refused", 'opinion == "reject"')
            + flow("police_ok", "join", flow_id="f_police_ok")
            + flow("choice", "paper", 'kind == "paper"') + flow("choice", "site", flow_id="f_site")
            + flow("paper", "merge") + flow("site", "merge") + flow("merge", "join")
            + flow("join", "decide") + flow("decide", "gw_decide")
            + flow("gw_decide", "accept", 'opinion == "correct"')
            + flow("gw_decide", "approved", flow_id="f_approved"))
    definition = load(document(body, lanes=[
        ("window_clerk", ["accept"]), ("reviewer", ["police", "paper", "site"]),
        ("agency_head", ["decide"])]))
    c = case(definition, data={"kind": "paper"}, agencies={"$accepting": 1})
    c.do("受理", opinion="approve")
    assert c.titles() == ["书面审查", "公安审查"]
    c.do("书面审查", opinion="approve")
    c.do("公安审查", opinion="approve")
    assert c.do("决定", opinion="approve").outcome == "approved"


def test_condition_with_a_syntax_error():
    text = message(gateway_document("amount >"))
    assert text == "顺序流 f_condition 的条件“amount >”不被允许：语法错误：表达式不完整。"


def test_a_syntax_error_is_placed_in_the_readers_words():
    """Python's and libxml2's own wording is English: the refusal says where."""
    text = message(gateway_document("amount ==== 1"))
    assert text == ("顺序流 f_condition 的条件“amount ==== 1”不被允许："
                    "语法错误：第 1 行第 10 个字符附近无法解析。")
    assert message(b"<a>\n<b x=1/></a>") == "流程文件不是有效的 XML：第 2 行第 6 列附近有错误。"


def test_element_without_exit():
    body = ('<bpmn:startEvent id="start"/>' + user_task("a") + user_task("b")
            + '<bpmn:endEvent id="approved"/>' + flow("start", "a") + flow("a", "approved")
            + flow("start", "b", flow_id="f2"))
    text = message(document(body, lanes=[("window_clerk", ["a", "b"])]))
    assert text == "开始事件 start 有 2 个出口；分支请用排他网关或并行网关。"


def test_task_without_exit():
    body = ('<bpmn:startEvent id="start"/>' + user_task("a", "审查")
            + '<bpmn:endEvent id="approved"/>' + flow("start", "a"))
    text = message(document(body, lanes=[("window_clerk", ["a"])]))
    assert text == "用户任务“审查”（a） 没有出口顺序流。"


def test_unreachable_element():
    body = ('<bpmn:startEvent id="start"/>' + user_task("a") + user_task("lost", "遗漏")
            + '<bpmn:endEvent id="approved"/>' + flow("start", "a") + flow("a", "approved")
            + flow("lost", "approved"))
    text = message(document(body, lanes=[("window_clerk", ["a", "lost"])]))
    assert text == "用户任务“遗漏”（lost） 从开始事件无法到达。"


def test_loop_without_a_user_task_would_spin():
    body = ('<bpmn:startEvent id="start"/>' + user_task("a")
            + '<bpmn:exclusiveGateway id="g1" default="f_g1_g2"/>'
            + '<bpmn:exclusiveGateway id="g2" default="f_g2_g1"/>'
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "a") + flow("a", "g1") + flow("g1", "g2")
            + flow("g1", "approved", "opinion == 'approve'") + flow("g2", "g1"))
    assert "处在一个没有用户任务的回路中" in message(
        document(body, lanes=[("window_clerk", ["a"])]))


def test_a_loop_through_a_user_task_is_fine(case):
    """补正: the reviewer sends the case back to the clerk, who accepts again."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + user_task("review", "审查")
            + '<bpmn:exclusiveGateway id="g" default="f_g_approved"/>'
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "accept") + flow("accept", "review") + flow("review", "g")
            + flow("g", "accept", 'opinion == "correct"') + flow("g", "approved"))
    definition = load(document(body, lanes=[("window_clerk", ["accept"]),
                                            ("reviewer", ["review"])]))
    c = case(definition, data={}, agencies={"$accepting": 1})
    c.do("受理")
    c.do("审查", opinion="correct")
    c.do("受理")
    step = c.do("审查", opinion="approve")
    assert step.outcome == "approved"


def test_end_event_must_name_an_outcome():
    text = message(linear("a", end="Event_0abc"))
    assert text.startswith("结束事件 Event_0abc：结束事件的 ID 须表示办理结果")


def test_end_event_ids_with_a_suffix_name_their_outcome():
    definition = load(linear("a", end="not_accepted_incomplete"))
    assert definition.outcomes == {"not_accepted_incomplete": "not_accepted"}


def test_duplicate_ids():
    xml = linear("a").replace(b'<bpmn:endEvent id="approved"/>',
                              b'<bpmn:endEvent id="approved"/><bpmn:textAnnotation id="a"/>')
    assert message(xml) == "元素 ID“a”重复出现。"


def test_oversized_file():
    xml = linear("a").replace(b"</bpmn:definitions>",
                              b"<!--" + b"x" * loader.MAX_BYTES + b"--></bpmn:definitions>")
    assert message(xml).startswith("流程文件过大")


def test_script_task_outside_the_language():
    body = ('<bpmn:startEvent id="start"/><bpmn:scriptTask id="s" name="算费">'
            "<bpmn:script>import os</bpmn:script></bpmn:scriptTask>"
            '<bpmn:endEvent id="approved"/>' + flow("start", "s") + flow("s", "approved"))
    assert message(document(body)) == (
        "脚本任务“算费”（s） 的脚本不被允许：第 1 行：脚本只能是“变量 = 表达式”形式的赋值。")


@pytest.mark.parametrize("language", ["groovy", "javascript", "JavaScript"])
def test_a_script_in_another_language_is_refused_naming_it(language):
    """Camunda Modeler writes the script's language: one in Groovy or JavaScript
    is refused as such, even when its text reads as assignments here."""
    body = ('<bpmn:startEvent id="start"/>'
            f'<bpmn:scriptTask id="s" name="算费" scriptFormat="{language}">'
            "<bpmn:script>fee = 100</bpmn:script></bpmn:scriptTask>"
            '<bpmn:endEvent id="approved"/>' + flow("start", "s") + flow("s", "approved"))
    assert message(document(body)) == (
        f"脚本任务“算费”（s） 的脚本语言“{language}”不受支持：脚本只能用“变量 = 表达式”的"
        "赋值写成（scriptFormat 留空或填 python）。")


def _script_process(script: str) -> bytes:
    body = ('<bpmn:startEvent id="start"/>'
            f'<bpmn:scriptTask id="calc" name="计算"><bpmn:script>{script}</bpmn:script>'
            '</bpmn:scriptTask>' + user_task("accept", "受理") + '<bpmn:endEvent id="approved"/>'
            + flow("start", "calc") + flow("calc", "accept") + flow("accept", "approved"))
    return document(body, lanes=[("window_clerk", ["accept"])])


def test_a_script_assigning_typename_is_refused():
    """Stored in the task data, the key makes SpiffWorkflow take the data for one of
    its own objects when the state is restored: the case could never move again."""
    error = refusal(_script_process('typename = "x"'))
    assert error.fields["element_id"] == "calc"
    assert error.render("zh-hans") == (
        "脚本任务“计算”（calc） 的脚本不被允许：第 1 行：不能给“typename”赋值。")


@pytest.mark.parametrize("script", [r'note = "\ud800"', r'note = "办结" + "\udfff"'])
def test_a_script_storing_a_lone_surrogate_is_refused(script):
    """``"\\ud800"`` is a valid escape, but the text has no UTF-8 form: the first
    step of every case of the item was a server error."""
    error = refusal(_script_process(script))
    assert error.fields["element_id"] == "calc"
    assert error.render("zh-hans") == (
        "脚本任务“计算”（calc） 的脚本不被允许：不允许的文本常量：文本中含有无法保存的字符"
        "（NUL 或不成对的 UTF-16 代理项）。")


def test_messages_have_an_english_rendering_too():
    """The API renders both languages; the English one exists (may fall back)."""
    body = refusal(linear("review", lane="市税务局/reviewer")).as_dict()
    assert body["code"] == "bpmn.invalid"
    assert body["message_zh"] == "用户任务“review”（review）：泳道中的机关“市税务局”不存在。"
    assert body["message_en"]
    assert body["fields"]["agency"] == "市税务局"
    assert body["fields"]["element_id"] == "review"


# What SpiffWorkflow would read but the checks would not see

PLAIN = {
    "start": '<bpmn:startEvent id="start"/>',
    "gw": '<bpmn:exclusiveGateway id="gw"/>',
    "gw_a": flow("gw", "a"),
}
HIDDEN = {
    # A back edge gw → s: a loop with no user task, refused if drawn.
    "flow": {"gw": '<bpmn:exclusiveGateway id="gw" default="f_gw_a"><bpmn:extensionElements>'
                   '<bpmn:sequenceFlow id="hidden" sourceRef="gw" targetRef="s">'
                   "<bpmn:conditionExpression>True</bpmn:conditionExpression>"
                   "</bpmn:sequenceFlow></bpmn:extensionElements></bpmn:exclusiveGateway>"},
    # A condition outside the expression language, on a flow drawn without one.
    "condition": {"gw_a": '<bpmn:sequenceFlow id="f_gw_a" sourceRef="gw" targetRef="a">'
                          "<bpmn:documentation><bpmn:conditionExpression>__import__('os')"
                          "</bpmn:conditionExpression></bpmn:documentation></bpmn:sequenceFlow>"},
    # A trigger on the start event, which must have none.
    "trigger": {"start": '<bpmn:startEvent id="start"><bpmn:extensionElements>'
                         '<bpmn:messageEventDefinition id="hidden"/></bpmn:extensionElements>'
                         "</bpmn:startEvent>"},
}


@pytest.mark.parametrize("hidden", HIDDEN.values(), ids=HIDDEN.keys())
def test_extension_elements_and_documentation_never_reach_the_engine(case, hidden):
    """Their content is not checked, so SpiffWorkflow never sees it: it would take
    any flow, condition or event definition at any depth."""
    parts = {**PLAIN, **hidden}
    body = (parts["start"]
            + '<bpmn:scriptTask id="s"><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>'
            + parts["gw"] + user_task("a") + '<bpmn:endEvent id="approved"/>'
            + flow("start", "s") + flow("s", "gw") + parts["gw_a"] + flow("a", "approved"))
    definition = load(document(body, lanes=[("window_clerk", ["a"])]))
    for text in ("hidden", "__import__"):
        assert text not in definition.spec_json
    c = case(definition, data={}, agencies={"$accepting": 1})
    assert c.titles() == ["a"]
    assert c.do("a").outcome == "approved"


@pytest.mark.parametrize(("xml", "text"), [
    (linear("a").replace(b'name="a"></bpmn:userTask>', (
        b'name="a"><bpmn:outgoing><bpmn:sequenceFlow id="x" sourceRef="a" targetRef="start"/>'
        b"</bpmn:outgoing></bpmn:userTask>")),
     "用户任务“a”（a）：outgoing 中不能含有其他元素（顺序流）。"),
    (linear("a").replace(b'<bpmn:endEvent id="approved"/>', (
        b'<bpmn:endEvent id="approved"/><bpmn:textAnnotation id="note">'
        b'<bpmn:text>note</bpmn:text><bpmn:startEvent id="s2"/></bpmn:textAnnotation>')),
     "textAnnotation note：textAnnotation 中不能含有其他元素（开始事件）。"),
    (linear("a").replace(b"</bpmn:definitions>", (
        b'<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" id="d">'
        b'<bpmn:process id="other"/></bpmndi:BPMNDiagram></bpmn:definitions>')),
     "图形 d 中不能含有流程元素（流程）。"),
])
def test_elements_where_only_text_or_pictures_belong_are_refused(xml, text):
    """SpiffWorkflow finds a flow or a process wherever it is nested."""
    assert message(xml) == text


def test_diagram_coordinates_must_be_numbers():
    """SpiffWorkflow reads the positions with float(): a ValueError, not a refusal."""
    di = ('<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
          'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="d">'
          '<bpmndi:BPMNPlane id="p" bpmnElement="test">'
          '<bpmndi:BPMNShape id="shape_a" bpmnElement="a">'
          '<dc:Bounds x="abc" y="1" width="1" height="1"/>'
          "</bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram>")
    error = refusal(linear("a").replace(b"</bpmn:definitions>",
                                        di.encode() + b"</bpmn:definitions>"))
    assert error.render("zh-hans") == "图形 shape_a（元素 a）的坐标 x=“abc”不是数字。"
    assert error.fields["element_id"] == "a"


@pytest.mark.parametrize("failure", [ValueError("bad"), TypeError("bad"), RecursionError()])
def test_whatever_the_engine_s_parser_raises_is_a_refusal(monkeypatch, failure):
    """A file the checks did not foresee is still a 400 naming the process, never a 500."""
    def fail(self, bpmn, filename=None):
        raise failure

    monkeypatch.setattr(bpmn.spiff.YizhanParser, "add_bpmn_xml", fail)
    error = refusal(linear("a"))
    assert error.render("zh-hans").startswith("test：流程")
    assert error.fields["element_id"] == "test"


@pytest.mark.parametrize("task_id", [
    "Start", "End", "Root", "test.EndJoin", "approved.BoundaryEventSplit", "a.b",
])
def test_ids_the_engine_uses_for_itself_are_refused(task_id):
    """SpiffWorkflow names its own task specs Start, End, Root, <process>.EndJoin,
    <node>.BoundaryEventSplit: a node of that name replaces one, and the case ends at
    once (as approved) or cannot start."""
    error = refusal(linear(task_id))
    assert error.render("zh-hans") == (
        f"用户任务“{task_id}”（{task_id}）：ID 与流程引擎的内部名称冲突（Start、End、Root 和含“.”"
        "的 ID 由引擎保留），请改用其他 ID。")
    assert error.fields["element_id"] == task_id


def test_a_process_has_at_most_max_flow_nodes():
    """Every step of every case pays for the size of the graph (joins rescan it)."""
    tasks = [f"t{i}" for i in range(loader.MAX_FLOW_NODES - 1)]
    assert message(linear(*tasks)) == (
        f"流程“测试流程”（test） 有 {loader.MAX_FLOW_NODES + 1} 个流程节点，"
        f"上限为 {loader.MAX_FLOW_NODES} 个。")
    load(linear(*tasks[:-1]))


def test_a_process_has_at_most_max_script_tasks():
    """Every script runs at each step of every case that reaches it."""
    count = loader.MAX_SCRIPT_TASKS + 1
    chain = ["start", *[f"s{i}" for i in range(count)], "a", "approved"]
    body = ('<bpmn:startEvent id="start"/>'
            + "".join(f'<bpmn:scriptTask id="s{i}"><bpmn:script>n = {i}</bpmn:script>'
                      "</bpmn:scriptTask>" for i in range(count))
            + user_task("a") + '<bpmn:endEvent id="approved"/>'
            + "".join(flow(x, y) for x, y in itertools.pairwise(chain)))
    assert message(document(body, lanes=[("window_clerk", ["a"])])) == (
        f"流程“测试流程”（test） 有 {count} 个脚本任务，上限为 {loader.MAX_SCRIPT_TASKS} 个。")


def test_a_named_agency_the_directory_refuses_is_named_with_the_reason():
    """``resolve_agency`` may answer why a name cannot be used (ambiguous, inactive)."""
    reasons = {"审批科": "有 2 个在用的机关同名，无法确定是哪一个"}
    error = refusal_with(linear("review", lane="审批科/reviewer"),
                         resolve_agency=lambda name: reasons.get(name, False))
    assert error.render("zh-hans") == (
        "用户任务“review”（review）：泳道中的机关“审批科”不能使用："
        "有 2 个在用的机关同名，无法确定是哪一个")
    assert error.fields["element_id"] == "review"


def refusal_with(xml: bytes, **kwargs) -> bpmn.ProcessError:
    with pytest.raises(bpmn.ProcessError) as info:
        bpmn.load_process(xml, **kwargs)
    return info.value


def test_a_task_in_two_lanes_side_by_side_is_refused():
    """Two posts would claim it, and the later lane silently won."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("review", "审查")
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "review") + flow("review", "approved"))
    xml = document(body, lanes=[("window_clerk", ["review"]), ("reviewer", ["review"])])
    assert message(xml) == ("用户任务“审查”（review） 同时列在泳道“window_clerk”和“reviewer”中，"
                            "一个用户任务只能属于一个泳道。")
