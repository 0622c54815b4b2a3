"""``bpmn.send_back``: a ready task returns to the step before it."""

import pytest

from tests.bpmn.documents import document, flow, user_task
from yizhan import bpmn

AGENCIES = {"$accepting": 1, "$joint": [2, 3], "$upper": 5}


def _run(name, steps):
    definition = bpmn.load_template(name)
    step = bpmn.start(definition.spec_json, data={},
                      agencies={k: v for k, v in AGENCIES.items() if k in definition.agency_refs})
    for _ in range(steps):
        for ready in list(step.ready):
            step = bpmn.complete(definition.spec_json, step.state_json, task_id=ready.task_id,
                                 data={"opinion": "approve"})
    return definition.spec_json, step


def _names(step):
    return sorted((r.name, r.agency_id) for r in step.ready)


def test_a_decision_goes_back_to_its_review_under_the_same_id():
    spec, step = _run("promised", 2)
    assert _names(step) == [("decide", 1)]
    back = bpmn.send_back(spec, step.state_json, task_id=step.ready[0].task_id)
    assert _names(back) == [("review", 1)]
    assert back.cancelled == [step.ready[0].task_id]
    assert back.opened == back.ready
    review_id = back.ready[0].task_id
    again = bpmn.complete(spec, back.state_json, task_id=review_id, data={"opinion": "approve"})
    assert _names(again) == [("decide", 1)]


def test_a_joint_decision_reopens_the_whole_parallel_stage():
    spec, step = _run("parallel", 2)
    assert _names(step) == [("decide", 1)]
    back = bpmn.send_back(spec, step.state_json, task_id=step.ready[0].task_id)
    assert _names(back) == [("joint_review", 2), ("joint_review", 3), ("lead_review", 1)]
    assert back.data["joint_opinions"] == []
    for ready in back.ready:
        back = bpmn.complete(spec, back.state_json, task_id=ready.task_id,
                             data={"opinion": "approve"})
    assert _names(back) == [("decide", 1)]
    assert back.data["joint_opinions"] == ["approve", "approve"]


def test_a_joint_review_goes_back_to_acceptance_and_withdraws_the_stage():
    spec, step = _run("parallel", 1)
    before = {r.task_id for r in step.ready}
    joint = next(r for r in step.ready if r.name == "joint_review")
    back = bpmn.send_back(spec, step.state_json, task_id=joint.task_id)
    assert _names(back) == [("accept", 1)]
    assert set(back.cancelled) == before
    assert back.opened == back.ready


def test_upper_review_goes_back_to_the_lower_level():
    spec, step = _run("upper_review", 2)
    assert _names(step) == [("upper_level_review", 5)]
    back = bpmn.send_back(spec, step.state_json, task_id=step.ready[0].task_id)
    assert _names(back) == [("first_review", 1)]


def test_the_first_step_cannot_be_returned():
    spec, step = _run("promised", 0)
    with pytest.raises(bpmn.ProcessCallError) as exc:
        bpmn.send_back(spec, step.state_json, task_id=step.ready[0].task_id)
    assert "第一个环节" in exc.value.render("zh-hans")


def test_an_unknown_task_is_not_ready():
    spec, step = _run("promised", 1)
    with pytest.raises(bpmn.TaskNotReady):
        bpmn.send_back(spec, step.state_json, task_id="00000000-0000-0000-0000-000000000000")


def test_a_step_after_two_stages_in_a_row_reopens_the_second():
    """受理 → a ‖ b → one gateway joining them and splitting again → c ‖ d → join
    → 决定: returning 决定 reopens c and d, the stage just before it."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept")
            + "".join(user_task(t) for t in ("a", "b", "c", "d", "decide"))
            + '<bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="again"/>'
            + '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="approved"/>'
            + flow("start", "accept") + flow("accept", "split")
            + flow("split", "a") + flow("split", "b") + flow("a", "again") + flow("b", "again")
            + flow("again", "c") + flow("again", "d") + flow("c", "join") + flow("d", "join")
            + flow("join", "decide") + flow("decide", "approved"))
    definition = bpmn.load_process(
        document(body, lanes=[("window_clerk", ["accept", "a", "b", "c", "d", "decide"])]),
        resolve_agency=lambda name: False)
    spec = definition.spec_json
    step = bpmn.start(spec, data={}, agencies={"$accepting": 1})
    while [r.name for r in step.ready] != ["decide"]:
        step = bpmn.complete(spec, step.state_json, task_id=step.ready[0].task_id, data={})
    back = bpmn.send_back(spec, step.state_json, task_id=step.ready[0].task_id)
    assert _names(back) == [("c", 1), ("d", 1)]
    first_of_second = next(r for r in back.ready if r.name == "c")
    assert _names(bpmn.send_back(spec, back.state_json, task_id=first_of_second.task_id)) == [
        ("a", 1), ("b", 1)]
