"""The standard templates run end to end, one request per step."""

import json

import pytest
from lxml import etree

from yizhan import bpmn
from yizhan.bpmn.loader import BPMN, BPMNDI

ACCEPTING, UPPER = 3, 2
JOINT = [4, 5, 6]

NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": "http://www.omg.org/spec/DD/20100524/DC"}


@pytest.mark.parametrize("name", bpmn.TEMPLATES)
def test_every_template_has_a_diagram_for_every_element(name):
    """Each template renders in a modeler: every node, lane and flow has DI."""
    root = etree.fromstring(bpmn.template_xml(name))
    process = root.find("bpmn:process", NS)
    drawn_shapes = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    drawn_edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    for element in process.iterdescendants():
        if not isinstance(element.tag, str) or not element.get("id"):
            continue
        local = etree.QName(element).localname
        if local == "sequenceFlow":
            assert element.get("id") in drawn_edges, element.get("id")
        elif local not in {"laneSet", "terminateEventDefinition"}:
            assert element.get("id") in drawn_shapes, element.get("id")
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        assert shape.find("dc:Bounds", NS) is not None
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2


@pytest.mark.parametrize("name", bpmn.TEMPLATES)
def test_every_template_loads_and_names_only_symbolic_agencies(name):
    definition = bpmn.load_template(name)
    assert definition.process_id == name
    assert definition.agency_refs <= {"$accepting", "$joint", "$upper"}
    assert set(definition.outcomes.values()) <= set(bpmn.Outcome.values)


def test_immediate_is_one_task_for_the_window_clerk(case):
    """即办件: the clerk accepts and decides on the spot."""
    definition = bpmn.load_template("immediate")
    c = case(definition, data={}, agencies={"$accepting": ACCEPTING})
    assert [(t.title, t.role, t.agency_id) for t in c.ready] == [
        ("受理并当场办结", "window_clerk", ACCEPTING)]
    step = c.do("受理并当场办结", opinion="approve")
    assert (step.finished, step.outcome, step.ready) == (True, "approved", [])

    c = case(definition, data={}, agencies={"$accepting": ACCEPTING})
    assert c.do("受理并当场办结", opinion="reject").outcome == "refused"


def test_promised_goes_accept_review_decide_deliver(case):
    """承诺件: 受理 > 审查 > 决定 > 送达, each by its post."""
    c = case(bpmn.load_template("promised"), data={"amount": 5000},
             agencies={"$accepting": ACCEPTING})
    c.do("受理", opinion="approve")
    c.do("审查", opinion="approve", comment="材料齐全")
    c.do("决定", opinion="approve")
    step = c.do("送达准予决定")
    assert c.history == [
        ("受理", "window_clerk", ACCEPTING),
        ("审查", "reviewer", ACCEPTING),
        ("决定", "agency_head", ACCEPTING),
        ("送达准予决定", "window_clerk", ACCEPTING),
    ]
    assert (step.finished, step.outcome) == (True, "approved")
    assert step.data["amount"] == 5000
    assert step.data["comment"] == "材料齐全"


def test_promised_refusals(case):
    definition = bpmn.load_template("promised")
    c = case(definition, data={}, agencies={"$accepting": ACCEPTING})
    assert c.do("受理", opinion="reject").outcome == "not_accepted"

    c = case(definition, data={}, agencies={"$accepting": ACCEPTING})
    c.do("受理", opinion="approve")
    c.do("审查", opinion="reject")
    c.do("决定", opinion="reject")
    assert c.titles() == ["送达不予许可决定"]
    assert c.do("送达不予许可决定").outcome == "refused"


def _parallel(case):
    c = case(bpmn.load_template("parallel"), data={"amount": 1},
             agencies={"$accepting": ACCEPTING, "$joint": JOINT})
    c.do("受理", opinion="approve")
    return c


def test_parallel_gives_each_joint_agency_its_task_at_once(case):
    """并联件: after acceptance every reviewing agency has a task, in parallel."""
    c = _parallel(case)
    joint = [(t.title, t.role, t.agency_id) for t in c.ready if t.agency_ref == "$joint"]
    assert joint == [("会同审查", "reviewer", 4), ("会同审查", "reviewer", 5),
                     ("会同审查", "reviewer", 6)]
    lead = [(t.title, t.role, t.agency_id) for t in c.ready if t.agency_ref == "$accepting"]
    assert lead == [("主办机关审查", "reviewer", ACCEPTING)]
    assert len({t.task_id for t in c.ready}) == 4


def test_parallel_all_approve_then_joint_decision_and_delivery(case):
    c = _parallel(case)
    c.do("会同审查", 5, opinion="approve")
    c.do("主办机关审查", opinion="approve")
    c.do("会同审查", 4, opinion="approve")
    assert "联合决定" not in c.titles()      # the join waits for agency 6
    step = c.do("会同审查", 6, opinion="approve")
    assert [(t.title, t.agency_id) for t in step.ready] == [("联合决定", ACCEPTING)]
    assert step.data["joint_opinions"] == ["approve", "approve", "approve"]
    c.do("联合决定", opinion="approve")
    step = c.do("送达准予决定")
    assert (step.finished, step.outcome) == (True, "approved")


def test_parallel_one_joint_rejection_withdraws_the_others_and_refuses(case):
    """The process says: one joint agency's rejection ends the joint review.

    The remaining joint reviews are withdrawn (``cancelled``), and after the
    join the exclusive gateway routes to the refusal, skipping the decision.
    """
    c = _parallel(case)
    c.do("会同审查", 4, opinion="approve")
    agency_6 = c.task("会同审查", 6).task_id
    step = c.do("会同审查", 5, opinion="reject", reason="不符合消防要求")
    assert step.cancelled == [agency_6]
    assert [t.title for t in step.ready] == ["主办机关审查"]
    step = c.do("主办机关审查", opinion="approve")
    assert [t.title for t in step.ready] == ["送达不予许可决定"]
    assert step.data["joint_opinions"] == ["approve", "reject"]
    step = c.do("送达不予许可决定")
    assert (step.finished, step.outcome) == (True, "refused")
    assert "联合决定" not in [title for title, *_ in c.history]


def test_parallel_lead_rejection_refuses_too(case):
    c = _parallel(case)
    for agency in JOINT:
        c.do("会同审查", agency, opinion="approve")
    step = c.do("主办机关审查", opinion="reject")
    assert [t.title for t in step.ready] == ["送达不予许可决定"]


def test_parallel_joint_task_needs_an_opinion(case):
    c = _parallel(case)
    with pytest.raises(bpmn.ProcessCallError) as info:
        c.do("会同审查", 4, comment="没有意见")
    assert "opinion" in info.value.render("zh-hans")


def test_upper_review_goes_to_the_upper_agency(case):
    """上级初审: the lower level accepts and reviews, the upper reviews and decides."""
    c = case(bpmn.load_template("upper_review"), data={},
             agencies={"$accepting": ACCEPTING, "$upper": UPPER})
    c.do("受理", opinion="approve")
    c.do("初审并转报上级", opinion="approve")
    c.do("上级审查", opinion="approve")
    c.do("上级决定", opinion="approve")
    step = c.do("送达准予决定")
    assert c.history == [
        ("受理", "window_clerk", ACCEPTING),
        ("初审并转报上级", "reviewer", ACCEPTING),
        ("上级审查", "reviewer", UPPER),
        ("上级决定", "agency_head", UPPER),
        ("送达准予决定", "window_clerk", ACCEPTING),
    ]
    assert step.outcome == "approved"


def test_state_is_plain_json_without_the_specification():
    """The state is stored per case; the spec is not repeated inside it."""
    definition = bpmn.load_template("parallel")
    step = bpmn.start(definition, data={}, agencies={"$accepting": 1, "$joint": [2, 3]})
    state = json.loads(step.state_json)
    assert "spec" not in state and "subprocess_specs" not in state
    assert state["yizhan_spec"] == definition.digest
    assert "会同审查" not in step.state_json   # task titles live in the spec only
    assert len(step.state_json) < len(definition.spec_json)


def test_a_state_survives_reserialization_of_the_spec_text():
    """A jsonb column may reorder the spec's keys; the state still matches it."""
    definition = bpmn.load_template("promised")
    step = bpmn.start(definition, data={}, agencies={"$accepting": 1})
    reordered = json.dumps(json.loads(definition.spec_json), indent=1, sort_keys=False)
    assert reordered != definition.spec_json
    step = bpmn.complete(reordered, step.state_json, task_id=step.ready[0].task_id,
                         data={"opinion": "approve"})
    assert [t.title for t in step.ready] == ["审查"]


def test_the_example_in_docs_processes_md_runs():
    definition = bpmn.load_template("parallel")
    spec = definition.spec_json

    step = bpmn.start(spec, data={"amount": 200000},
                      agencies={"$accepting": 3, "$joint": [4, 5, 6]})
    assert [(t.title, t.role, t.agency_id) for t in step.ready] == [
        ("受理", "window_clerk", 3)]
    step = bpmn.complete(spec, step.state_json, task_id=step.ready[0].task_id,
                         data={"opinion": "approve"})
    assert [(t.title, t.role, t.agency_id) for t in step.ready] == [
        ("主办机关审查", "reviewer", 3), ("会同审查", "reviewer", 4),
        ("会同审查", "reviewer", 5), ("会同审查", "reviewer", 6)]
    for task in step.ready:
        step = bpmn.complete(spec, step.state_json, task_id=task.task_id,
                             data={"opinion": "approve"})
    assert [(t.title, t.role, t.agency_id) for t in step.ready] == [
        ("联合决定", "agency_head", 3)]
    assert step.data["joint_opinions"] == ["approve"] * 3
    step = bpmn.complete(spec, step.state_json, task_id=step.ready[0].task_id,
                         data={"opinion": "approve"})
    assert [(t.title, t.role, t.agency_id) for t in step.ready] == [
        ("送达准予决定", "window_clerk", 3)]
    step = bpmn.complete(spec, step.state_json, task_id=step.ready[0].task_id, data={})
    assert (step.finished, step.outcome) == (True, "approved")
