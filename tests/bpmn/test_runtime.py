"""The runtime API: start, complete, current; errors; the specification cache."""

import itertools
import json

import pytest

from tests.bpmn.documents import document, flow, gateway_document, linear, user_task
from yizhan import bpmn
from yizhan.bpmn import runtime


def load(xml, agencies=("市公安局", "市消防救援支队")):
    return bpmn.load_process(xml, resolve_agency=set(agencies).__contains__)


@pytest.fixture
def promised():
    return bpmn.load_template("promised")


def first(step):
    assert len(step.ready) == 1, step.ready
    return step.ready[0].task_id


# Completing

def test_completing_a_task_twice_is_refused(promised):
    step = bpmn.start(promised, data={}, agencies={"$accepting": 1})
    task_id = first(step)
    after = bpmn.complete(promised, step.state_json, task_id=task_id, data={"opinion": "approve"})
    with pytest.raises(bpmn.TaskNotReady) as info:
        bpmn.complete(promised, after.state_json, task_id=task_id, data={"opinion": "approve"})
    assert info.value.http_status == 409
    assert info.value.code == "bpmn.task_not_ready"
    assert info.value.render("zh-hans") == (
        f"任务 {task_id} 不是待办任务，可能已由他人办理或已被撤销。")


@pytest.mark.parametrize("task_id", [
    "00000000-0000-0000-0000-000000000000", "not-a-uuid", "", None, 42,
])
def test_completing_an_unknown_task_is_refused(promised, task_id):
    step = bpmn.start(promised, data={}, agencies={"$accepting": 1})
    with pytest.raises(bpmn.TaskNotReady):
        bpmn.complete(promised, step.state_json, task_id=task_id, data={})


def test_completing_a_task_that_is_not_ready_yet_is_refused(promised):
    """Only READY user tasks: not the start event, not a future task."""
    step = bpmn.start(promised, data={}, agencies={"$accepting": 1})
    state = json.loads(step.state_json)
    others = [tid for tid, t in state["tasks"].items() if tid != first(step)]
    for task_id in others:
        with pytest.raises(bpmn.TaskNotReady):
            bpmn.complete(promised, step.state_json, task_id=task_id, data={})


def test_a_cancelled_joint_task_cannot_be_completed():
    definition = bpmn.load_template("parallel")
    step = bpmn.start(definition, data={}, agencies={"$accepting": 1, "$joint": [2, 3]})
    step = bpmn.complete(definition, step.state_json, task_id=first(step),
                         data={"opinion": "approve"})
    joint = {t.agency_id: t.task_id for t in step.ready if t.agency_ref == "$joint"}
    step = bpmn.complete(definition, step.state_json, task_id=joint[2], data={"opinion": "reject"})
    assert step.cancelled == [joint[3]]
    with pytest.raises(bpmn.TaskNotReady):
        bpmn.complete(definition, step.state_json, task_id=joint[3], data={"opinion": "approve"})


def test_a_step_names_the_tasks_it_opened():
    """The case engine opens a task for each of ``opened`` and reads nothing
    else to find them, so a task still waiting must not be listed again."""
    definition = bpmn.load_template("parallel")
    step = bpmn.start(definition, data={}, agencies={"$accepting": 1, "$joint": [2, 3]})
    assert step.opened == step.ready
    step = bpmn.complete(definition, step.state_json, task_id=first(step),
                         data={"opinion": "approve"})
    assert sorted((t.name, t.agency_id) for t in step.opened) == [
        ("joint_review", 2), ("joint_review", 3), ("lead_review", 1)]
    reviews = list(step.ready)
    for done, review in enumerate(reviews, start=1):
        step = bpmn.complete(definition, step.state_json, task_id=review.task_id,
                             data={"opinion": "approve"})
        if done < len(reviews):
            assert step.opened == []
            assert len(step.ready) == len(reviews) - done
    assert [t.name for t in step.opened] == ["decide"] == [t.name for t in step.ready]


def test_current_reads_a_state_without_changing_it(promised):
    step = bpmn.start(promised, data={"amount": 3}, agencies={"$accepting": 1})
    again = bpmn.current(promised.spec_json, step.state_json)
    assert again == step


def test_steps_report_the_data():
    definition = load(gateway_document("amount > 100000"))
    step = bpmn.start(definition, data={"amount": 5, "applicant": {"kind": "legal"}},
                      agencies={"$accepting": 1})
    assert step.data == {"amount": 5, "applicant": {"kind": "legal"}}
    step = bpmn.complete(definition, step.state_json, task_id=first(step),
                         data={"opinion": "approve", "amount": 500000})
    assert (step.finished, step.outcome) == (True, "approved")
    assert step.data == {"amount": 500000, "applicant": {"kind": "legal"}, "opinion": "approve"}


def test_conditions_read_nested_data():
    definition = load(gateway_document('applicant.kind == "legal" and len(items) >= 2'))
    for applicant, items, outcome in [({"kind": "legal"}, [1, 2], "approved"),
                                      ({"kind": "person"}, [1, 2], "refused"),
                                      ({"kind": "legal"}, [1], "refused")]:
        step = bpmn.start(definition, data={"applicant": applicant, "items": items},
                          agencies={"$accepting": 1})
        step = bpmn.complete(definition, step.state_json, task_id=first(step), data={})
        assert step.outcome == outcome


def test_no_exit_matches(monkeypatch):
    """A process stored before a default exit was required still stops cleanly."""
    from yizhan.bpmn import loader

    monkeypatch.setattr(loader._Checker, "_check_exclusive", lambda self, gateway, exits: None)
    body = ('<bpmn:startEvent id="start"/>' + user_task("a")
            + '<bpmn:exclusiveGateway id="gw"/><bpmn:endEvent id="approved"/>'
            + '<bpmn:endEvent id="refused"/>'
            + flow("start", "a") + flow("a", "gw")
            + flow("gw", "approved", 'opinion == "approve"')
            + flow("gw", "refused", 'opinion == "reject"'))
    definition = load(document(body, lanes=[("window_clerk", ["a"])]))
    step = bpmn.start(definition, data={}, agencies={"$accepting": 1})
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.complete(definition, step.state_json, task_id=first(step),
                      data={"opinion": "maybe"})
    assert info.value.render("zh-hans") == (
        "流程运行出错：排他网关 gw 的条件都不满足，又没有默认出口。")



@pytest.mark.parametrize(("condition", "data", "told"), [
    # Python's own words ("invalid literal for int() with base 10") are not
    # the window clerk's language.
    ("int(shop) > 3", {"shop": "张记"}, "int() 无法处理这个值。"),
    ("float(shop) > 3", {"shop": []}, "float() 无法处理这个值。"),
    # round() says what is wrong itself, once.
    ("round(amount, 99) > 3", {"amount": 5}, "round() 的位数必须是 -15 到 15 之间的整数。"),
])
def test_a_failing_function_is_told_in_the_reader_s_language_once(condition, data, told):
    definition = load(gateway_document(condition))
    step = bpmn.start(definition, data=data, agencies={"$accepting": 1})
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.complete(definition, step.state_json, task_id=first(step),
                      data={"opinion": "approve"})
    assert info.value.render("zh-hans") == f"流程运行出错：gw：{told}"


def test_arithmetic_that_fails_is_told_in_the_reader_s_words():
    """Python's own words ("integer division result too large for a float")
    never reach the clerk.  Data and literals are kept within range before,
    so this is the last guard."""
    import operator

    from django.utils import translation

    from yizhan.bpmn import expressions

    with pytest.raises(expressions.ExpressionFailed) as info:
        expressions._arith(operator.truediv, 10 ** 400, 3)
    with translation.override("zh-hans"):
        assert str(info.value) == "运算结果超出允许范围。"
    with translation.override("en"):
        assert str(info.value) == "The result of the calculation is out of range."


def test_a_join_waiting_for_a_branch_not_taken_stops_the_step(monkeypatch):
    """An exclusive split joined by a parallel gateway: the join waits for ever.

    The loader refuses such a process now; one stored before it did would
    leave the case open with no task anyone can do: the call is refused
    instead, naming the join, and the caller keeps its state.
    """
    from yizhan.bpmn import loader

    monkeypatch.setattr(loader._Checker, "_check_parallel_joins", lambda self, *args: None)
    body = ('<bpmn:startEvent id="start"/>' + user_task("a")
            + '<bpmn:exclusiveGateway id="x" default="f_x_t2"/>' + user_task("t1")
            + user_task("t2") + '<bpmn:parallelGateway id="j"/>' + user_task("last")
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "a") + flow("a", "x") + flow("x", "t1", "n > 0") + flow("x", "t2")
            + flow("t1", "j") + flow("t2", "j") + flow("j", "last") + flow("last", "approved"))
    definition = load(document(body, lanes=[("window_clerk", ["a", "t1", "t2", "last"])]))
    step = bpmn.start(definition, data={"n": 1}, agencies={"$accepting": 1})
    step = bpmn.complete(definition, step.state_json, task_id=first(step), data={})
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.complete(definition, step.state_json, task_id=first(step), data={})
    assert info.value.render("zh-hans") == (
        "流程运行出错：j：流程无法继续，没有可办理的环节，流程也未结束（可能是并行网关在等待一条"
        "不会到达的分支）。")
    assert info.value.http_status == 422
    assert [t.name for t in bpmn.current(definition, step.state_json).ready] == ["t1"]


# Named agencies, explicit parallel branches, terminate, scripts

def _two_named_agencies(end_event: str) -> bytes:
    """A parallel gateway to two named agencies; a rejection terminates."""
    body = (
        '<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
        + '<bpmn:parallelGateway id="split"/>'
        + user_task("police", "公安审查") + user_task("fire", "消防审查")
        + '<bpmn:exclusiveGateway id="police_ok" default="f_police_ok_join"/>'
        + '<bpmn:exclusiveGateway id="fire_ok" default="f_fire_ok_join"/>'
        + '<bpmn:parallelGateway id="join"/>' + user_task("decide", "决定")
        + '<bpmn:endEvent id="approved"/>' + end_event
        + flow("start", "accept") + flow("accept", "split")
        + flow("split", "police") + flow("split", "fire")
        + flow("police", "police_ok") + flow("fire", "fire_ok")
        + flow("police_ok", "refused", 'police_opinion == "reject"',
               flow_id="f_police_refused")
        + flow("fire_ok", "refused", 'fire_opinion == "reject"', flow_id="f_fire_refused")
        + flow("police_ok", "join") + flow("fire_ok", "join")
        + flow("join", "decide") + flow("decide", "approved")
    )
    return document(body, lanes=[
        ("window_clerk", ["accept"]),
        ("市公安局/reviewer", ["police"]),
        ("市消防救援支队/审查员", ["fire"]),
        ("agency_head", ["decide"]),
    ])


TERMINATE = ('<bpmn:endEvent id="refused"><bpmn:terminateEventDefinition id="t"/>'
             "</bpmn:endEvent>")
AGENCIES = {"$accepting": 1, "市公安局": 7, "市消防救援支队": 8}


def test_named_agencies_in_explicit_parallel_branches():
    definition = load(_two_named_agencies(TERMINATE))
    assert definition.agency_refs == {"$accepting", "市公安局", "市消防救援支队"}
    step = bpmn.start(definition, data={}, agencies=AGENCIES)
    step = bpmn.complete(definition, step.state_json, task_id=first(step), data={})
    assert sorted((t.title, t.role, t.agency_id) for t in step.ready) == [
        ("公安审查", "reviewer", 7), ("消防审查", "reviewer", 8)]
    by_title = {t.title: t.task_id for t in step.ready}
    step = bpmn.complete(definition, step.state_json, task_id=by_title["公安审查"],
                         data={"police_opinion": "approve"})
    step = bpmn.complete(definition, step.state_json, task_id=by_title["消防审查"],
                         data={"fire_opinion": "approve"})
    assert [t.title for t in step.ready] == ["决定"]
    assert step.data["police_opinion"] == step.data["fire_opinion"] == "approve"


def test_a_terminate_end_event_withdraws_the_other_branches():
    definition = load(_two_named_agencies(TERMINATE))
    step = bpmn.start(definition, data={}, agencies=AGENCIES)
    step = bpmn.complete(definition, step.state_json, task_id=first(step), data={})
    by_title = {t.title: t.task_id for t in step.ready}
    step = bpmn.complete(definition, step.state_json, task_id=by_title["公安审查"],
                         data={"police_opinion": "reject"})
    assert (step.finished, step.outcome, step.ready) == (True, "refused", [])
    assert step.cancelled == [by_title["消防审查"]]


def test_start_needs_every_agency_the_process_names():
    definition = load(_two_named_agencies(TERMINATE))
    with pytest.raises(bpmn.ProcessCallError) as info:
        bpmn.start(definition, data={}, agencies={"$accepting": 1, "市公安局": 7})
    assert info.value.render("zh-hans") == "流程需要机关“市消防救援支队”，但 agencies 中没有给出。"
    assert info.value.code == "bpmn.invalid_call"


def _both_opinions_at_the_join(after_reject: str) -> bytes:
    """受理 → 公安审查 ‖ 消防审查, each completed with ``opinion`` → join →
    ``opinion == "reject"`` → ``after_reject``, otherwise 决定."""
    body = (
        '<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
        + '<bpmn:parallelGateway id="split"/>'
        + user_task("police", "公安审查") + user_task("fire", "消防审查")
        + '<bpmn:parallelGateway id="join"/>'
        + '<bpmn:exclusiveGateway id="gw" default="f_ok"/>' + user_task("decide", "决定")
        + '<bpmn:endEvent id="approved"/>'
        + ('<bpmn:endEvent id="refused"/>' if after_reject == "refused" else "")
        + flow("start", "accept") + flow("accept", "split")
        + flow("split", "police") + flow("split", "fire")
        + flow("police", "join") + flow("fire", "join") + flow("join", "gw")
        + flow("gw", after_reject, 'opinion == "reject"')
        + flow("gw", "decide", flow_id="f_ok") + flow("decide", "approved")
    )
    return document(body, lanes=[
        ("window_clerk", ["accept"]),
        ("市公安局/reviewer", ["police"]),
        ("市消防救援支队/审查员", ["fire"]),
        ("agency_head", ["decide"]),
    ])


def _review(definition, step, opinions: dict[str, str]):
    """Complete the ready reviews in the order of ``opinions`` (title → opinion)."""
    for title, opinion in opinions.items():
        [task_id] = [t.task_id for t in step.ready if t.title == title]
        step = bpmn.complete(definition, step.state_json, task_id=task_id,
                             data={"opinion": opinion})
    return step


@pytest.mark.parametrize("opinions", [
    {"公安审查": "reject", "消防审查": "approve"},
    {"消防审查": "approve", "公安审查": "reject"},
    {"消防审查": "reject", "公安审查": "approve"},
])
def test_a_rejection_in_one_branch_holds_at_the_join(opinions):
    """Each branch writes ``opinion``; whichever arrives last, one agency's
    rejection is what the gateway after the join reads."""
    definition = load(_both_opinions_at_the_join("refused"))
    step = bpmn.start(definition, data={}, agencies=AGENCIES)
    step = bpmn.complete(definition, step.state_json, task_id=first(step),
                         data={"opinion": "approve"})
    step = _review(definition, step, opinions)
    assert (step.finished, step.outcome) == (True, "refused")


def test_approvals_in_both_branches_go_on_to_the_decision():
    definition = load(_both_opinions_at_the_join("refused"))
    step = bpmn.start(definition, data={}, agencies=AGENCIES)
    step = bpmn.complete(definition, step.state_json, task_id=first(step),
                         data={"opinion": "approve"})
    step = _review(definition, step, {"公安审查": "approve", "消防审查": "approve"})
    assert [t.title for t in step.ready] == ["决定"]
    assert step.data["opinion"] == "approve"


def test_after_a_rejection_sends_the_case_back_the_next_pass_starts_afresh():
    """A rejection at the join sends the case back to 受理 and both reviews run
    again: the join waits for both of the new pass (not going on when the first
    arrives, counting the other's arrival in the earlier pass), and the earlier
    rejection no longer counts."""
    definition = load(_both_opinions_at_the_join("accept"))
    step = bpmn.start(definition, data={}, agencies=AGENCIES)
    for opinions in ({"公安审查": "reject", "消防审查": "approve"},
                     {"消防审查": "reject", "公安审查": "approve"}):
        step = bpmn.complete(definition, step.state_json, task_id=first(step),
                             data={"opinion": "approve"})
        step = _review(definition, step, opinions)
        assert [t.title for t in step.ready] == ["受理"]
    step = bpmn.complete(definition, step.state_json, task_id=first(step),
                         data={"opinion": "approve"})
    step = _review(definition, step, {"消防审查": "approve"})
    assert [t.title for t in step.ready] == ["公安审查"]
    step = _review(definition, step, {"公安审查": "approve"})
    assert [t.title for t in step.ready] == ["决定"]


@pytest.mark.parametrize("joint", [[], [4, 4], [4, "5"], 4, [True]])
def test_joint_agencies_must_be_a_list_of_distinct_ids(joint):
    with pytest.raises(bpmn.ProcessCallError):
        bpmn.start(bpmn.load_template("parallel"), data={},
                   agencies={"$accepting": 1, "$joint": joint})


@pytest.mark.parametrize("accepting", ["3", None, 3.0, True])
def test_agency_ids_are_integers(accepting):
    with pytest.raises(bpmn.ProcessCallError):
        bpmn.start(bpmn.load_template("immediate"), data={}, agencies={"$accepting": accepting})


@pytest.mark.parametrize("data", [
    {"_private": 1},
    {"joint_opinions": ["approve"]},
    {"joint_agencies": [1]},
    {"when": object()},
    {"x": float("nan")},
    {"nested": {"typename": "BpmnWorkflow"}},
    {1: "not a string key"},
    {"big": "x" * (300 * 1024)},
    [("a", 1)],
])
def test_data_must_be_plain_json_without_reserved_keys(promised, data):
    with pytest.raises(bpmn.ProcessCallError):
        bpmn.start(promised, data=data, agencies={"$accepting": 1})
    step = bpmn.start(promised, data={}, agencies={"$accepting": 1})
    with pytest.raises(bpmn.ProcessCallError):
        bpmn.complete(promised, step.state_json, task_id=first(step), data=data)


@pytest.mark.parametrize("data", [
    {"note": "\ud800"},
    {"\udfff": 1},
    {"_\ud800": 1},
    {"items": [{"text": "a\x00b"}]},
    {"typename": "BpmnWorkflow"},
])
def test_check_data_refuses_what_could_not_be_stored_with_its_own_error(data):
    """Not a bare UnicodeEncodeError (a 500): ``bpmn.invalid_call``, a 400, with a
    message that holds none of the text it refuses."""
    with pytest.raises(bpmn.ProcessCallError) as info:
        bpmn.check_data(data)
    assert info.value.http_status == 400
    text = info.value.render("zh-hans")
    assert text in ("data 有误：文本中含有无法保存的字符（NUL 或不成对的 UTF-16 代理项）。",
                    "data 有误：不能使用键“typename”。")
    text.encode()


def test_data_is_copied_not_shared(promised):
    data = {"items": [1]}
    step = bpmn.start(promised, data=data, agencies={"$accepting": 1})
    data["items"].append(2)
    assert step.data["items"] == [1]


def test_script_tasks_assign_with_the_safe_evaluator():
    body = ('<bpmn:startEvent id="start"/><bpmn:scriptTask id="fee" name="算费">'
            "<bpmn:script>fee = 0 if amount &lt; 1000 else amount // 100\n"
            "label = \"收费 \" + str(fee)</bpmn:script></bpmn:scriptTask>"
            + user_task("pay", "收费") + '<bpmn:endEvent id="approved"/>'
            + flow("start", "fee") + flow("fee", "pay") + flow("pay", "approved"))
    definition = load(document(body, lanes=[("window_clerk", ["pay"])]))
    step = bpmn.start(definition, data={"amount": 123456}, agencies={"$accepting": 1})
    assert step.data == {"amount": 123456, "fee": 1234, "label": "收费 1234"}


@pytest.mark.parametrize("script", [
    "s = {1, 2}",
    'x = {"typename": "BpmnWorkflow"}',
    "a = [" + ",".join(["1"] * 150) + "]\n" + "\n".join(
        ["a = [" + ",".join(["a"] * 150) + "]"] * 4),
])
def test_a_script_that_would_store_what_cannot_be_saved_stops_the_start(script):
    """Refused at the script, naming it, instead of a 500 when saving or a case
    whose state no longer loads."""
    body = ('<bpmn:startEvent id="start"/><bpmn:scriptTask id="fee" name="算费">'
            f"<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>"
            + user_task("pay", "收费") + '<bpmn:endEvent id="approved"/>'
            + flow("start", "fee") + flow("fee", "pay") + flow("pay", "approved"))
    definition = load(document(body, lanes=[("window_clerk", ["pay"])]))
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.start(definition, data={}, agencies={"$accepting": 1})
    assert info.value.render("zh-hans").startswith("流程运行出错：fee")



def test_scripts_cannot_grow_the_process_data_past_the_limit():
    """Each value a script stores is bounded, not how many: a few lines would make
    every case of the process megabytes of state."""
    lines = ['a = "' + "x" * 500 + '"', "a = " + " + ".join(["a"] * 18)]  # 9000 characters
    lines += [f"w{i} = [a, a, a, a, a]" for i in range(20)]
    body = ('<bpmn:startEvent id="start"/><bpmn:scriptTask id="grow" name="生成">'
            "<bpmn:script>" + "\n".join(lines) + "</bpmn:script></bpmn:scriptTask>"
            + user_task("pay", "收费") + '<bpmn:endEvent id="approved"/>'
            + flow("start", "grow") + flow("grow", "pay") + flow("pay", "approved"))
    definition = load(document(body, lanes=[("window_clerk", ["pay"])]))
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.start(definition, data={}, agencies={"$accepting": 1})
    text = info.value.render("zh-hans")
    assert text.startswith("流程运行出错：grow：流程数据过大（")
    assert text.endswith(f"上限为 {runtime.MAX_PROCESS_DATA_BYTES} 字节。")


def test_data_piling_up_over_calls_is_bounded_too():
    """Each call's data is within MAX_DATA_BYTES; what they add up to is checked."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("fill", "填报")
            + '<bpmn:exclusiveGateway id="g" default="f_g_fill"/>'
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "fill") + flow("fill", "g")
            + flow("g", "approved", 'opinion == "approve"') + flow("g", "fill"))
    definition = load(document(body, lanes=[("window_clerk", ["fill"])]))
    chunk = "x" * (runtime.MAX_DATA_BYTES - 100)
    step = bpmn.start(definition, data={"part0": chunk}, agencies={"$accepting": 1})
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        for n in range(1, runtime.MAX_PROCESS_DATA_BYTES // runtime.MAX_DATA_BYTES + 1):
            step = bpmn.complete(definition, step.state_json, task_id=first(step),
                                 data={f"part{n}": chunk, "opinion": "correct"})
    assert info.value.render("zh-hans").startswith("流程运行出错：fill：流程数据过大（")


# State and specification

def test_a_state_does_not_run_on_another_process(promised):
    other = bpmn.load_template("immediate")
    step = bpmn.start(promised, data={}, agencies={"$accepting": 1})
    with pytest.raises(bpmn.ProcessStateError) as info:
        bpmn.complete(other, step.state_json, task_id=first(step), data={})
    assert info.value.render("zh-hans") == "流程状态无法读取：流程状态不属于这个流程定义。"


@pytest.mark.parametrize("state", ["", "[]", "{", '{"yizhan_spec": "x"}'])
def test_a_broken_state_is_refused(promised, state):
    with pytest.raises(bpmn.ProcessStateError):
        bpmn.complete(promised, state, task_id="x", data={})


def test_a_foreign_spec_text_is_refused():
    with pytest.raises(bpmn.ProcessStateError):
        bpmn.start('{"spec": {}}', data={}, agencies={})
    with pytest.raises(bpmn.ProcessStateError):
        bpmn.ProcessDefinition.from_json("not json")


def test_the_specification_is_deserialized_once_not_per_step(promised, monkeypatch):
    """Every step after the first finds the spec in the cache: no re-parsing."""
    from yizhan.bpmn import spiff

    restored = []
    original = spiff.spec_from_dict
    monkeypatch.setattr(spiff, "spec_from_dict",
                        lambda dct: restored.append(1) or original(dct))
    spec_json = promised.spec_json
    step = bpmn.start(spec_json, data={}, agencies={"$accepting": 1})
    for opinion in ["approve", "approve", "approve", None]:
        step = bpmn.complete(spec_json, step.state_json, task_id=first(step),
                             data={"opinion": opinion} if opinion else {})
    assert step.outcome == "approved"
    assert restored == [1]
    assert bpmn.spec_cache_info() == {"hits": 4, "misses": 1, "size": 1}


def test_the_same_process_in_another_text_shares_the_restored_spec(promised, monkeypatch):
    from yizhan.bpmn import spiff

    restored = []
    original = spiff.spec_from_dict
    monkeypatch.setattr(spiff, "spec_from_dict",
                        lambda dct: restored.append(1) or original(dct))
    bpmn.start(promised, data={}, agencies={"$accepting": 1})
    reordered = json.dumps(json.loads(promised.spec_json), indent=2)
    bpmn.start(reordered, data={}, agencies={"$accepting": 1})
    assert restored == [1]


def test_the_cache_is_bounded(monkeypatch):
    from yizhan.bpmn import runtime

    monkeypatch.setattr(runtime, "CACHE_SIZE", 2)
    for name in bpmn.TEMPLATES:
        definition = bpmn.load_template(name)
        bpmn.current(definition, bpmn.start(
            definition, data={}, agencies={"$accepting": 1, "$joint": [2], "$upper": 3}
        ).state_json)
    assert bpmn.spec_cache_info()["size"] == 2


def test_linear_document_helper_runs():
    definition = load(linear("a", "b"))
    step = bpmn.start(definition, data={}, agencies={"$accepting": 1})
    step = bpmn.complete(definition, step.state_json, task_id=first(step), data={})
    step = bpmn.complete(definition, step.state_json, task_id=first(step), data={})
    assert step.outcome == "approved"


def test_the_package_needs_no_settings_and_no_database():
    """A bare interpreter (no DJANGO_SETTINGS_MODULE) loads and runs a template."""
    import os
    import subprocess
    import sys

    code = (
        "from yizhan import bpmn\n"
        "d = bpmn.load_template('promised')\n"
        "s = bpmn.start(d.spec_json, data={}, agencies={'$accepting': 1})\n"
        "s = bpmn.complete(d.spec_json, s.state_json, task_id=s.ready[0].task_id,"
        " data={'opinion': 'reject'})\n"
        "from django.conf import settings\n"
        "assert not settings.configured, 'settings (and so a database) were needed'\n"
        "print(s.outcome)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,  # noqa: S603
                            env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "not_accepted"


def test_the_scripts_of_one_run_share_a_work_budget():
    """Each value is small, not how often a script goes through it: scripts
    summing an 8,000-element list again and again, many scripts in a row, would
    make every step of every case take seconds.  The run stops at the budget,
    naming the script; one such script alone stays within it."""
    from yizhan.bpmn import expressions

    build = ["a = [1, 1, 1, 1, 1, 1, 1, 1]"] + ["a = a + a"] * 10   # 8,192 elements
    sums = ["s = " + " + ".join(["sum(a)"] * 20)]
    scripts = [f"script{i}" for i in range(10)]
    body = '<bpmn:startEvent id="start"/>'
    for name in scripts:
        body += (f'<bpmn:scriptTask id="{name}"><bpmn:script>'
                 + "\n".join(build + sums) + "</bpmn:script></bpmn:scriptTask>")
    body += user_task("pay", "收费") + '<bpmn:endEvent id="approved"/>'
    chain = ["start", *scripts, "pay", "approved"]
    body += "".join(flow(a, b) for a, b in itertools.pairwise(chain))
    definition = load(document(body, lanes=[("window_clerk", ["pay"])]))
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.start(definition, data={}, agencies={"$accepting": 1})
    text = info.value.render("zh-hans")
    assert text.startswith("流程运行出错：script")
    assert f"计算量超过上限（{expressions.MAX_WORK}）" in text
    # One script alone is well within the budget of its own run.
    alone = load(document('<bpmn:startEvent id="start"/><bpmn:scriptTask id="once">'
                          "<bpmn:script>" + "\n".join(build + sums)
                          + "</bpmn:script></bpmn:scriptTask>" + user_task("pay", "收费")
                          + '<bpmn:endEvent id="approved"/>' + flow("start", "once")
                          + flow("once", "pay") + flow("pay", "approved"),
                          lanes=[("window_clerk", ["pay"])]))
    step = bpmn.start(alone, data={}, agencies={"$accepting": 1})
    assert step.data["s"] == 20 * 8192
