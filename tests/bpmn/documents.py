"""Small BPMN documents for the tests, written the way the XML looks.

``document(body, lanes=...)`` wraps process content in ``definitions`` and a
lane set; ``linear(...)`` is a start event, user tasks in a row and an end
event ``approved``.  No diagram interchange: the loader does not need it
(tests/bpmn/files/ has a modeler export with it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="Definitions_test" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)


def document(body: str, *, lanes: Iterable[tuple[str, Iterable[str]]] = (),
             process_id: str = "test", executable: str | None = "true",
             before: str = "", after: str = "") -> bytes:
    lane_xml = ""
    lanes = list(lanes)
    if lanes:
        lane_xml = '<bpmn:laneSet id="LaneSet_1">' + "".join(
            f'<bpmn:lane id="Lane_{i}" name="{name}">'
            + "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in refs)
            + "</bpmn:lane>"
            for i, (name, refs) in enumerate(lanes)
        ) + "</bpmn:laneSet>"
    attrs = f' isExecutable="{executable}"' if executable is not None else ""
    return (
        HEAD + before
        + f'<bpmn:process id="{process_id}" name="测试流程"{attrs}>{lane_xml}{body}</bpmn:process>'
        + after + "</bpmn:definitions>"
    ).encode()


def flow(source: str, target: str, condition: str | None = None, flow_id: str | None = None) -> str:
    flow_id = flow_id or f"f_{source}_{target}"
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    condition = condition.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def user_task(task_id: str, name: str = "", inner: str = "") -> str:
    return f'<bpmn:userTask id="{task_id}" name="{name or task_id}">{inner}</bpmn:userTask>'


def linear(*tasks: str, lane: str = "$accepting/window_clerk", middle: str = "",
           end: str = "approved") -> bytes:
    """start → tasks... → end, every task in ``lane``; ``middle`` adds elements."""
    chain = ["start", *tasks, end]
    body = '<bpmn:startEvent id="start"/>' + "".join(user_task(t) for t in tasks)
    body += middle + f'<bpmn:endEvent id="{end}"/>'
    body += "".join(flow(a, b) for a, b in itertools.pairwise(chain))
    return document(body, lanes=[(lane, tasks)])


def gateway_document(condition: str, *, lane: str = "$accepting/window_clerk") -> bytes:
    """start → task → exclusive gateway: ``condition`` → approved, default → refused."""
    body = (
        '<bpmn:startEvent id="start"/>'
        + user_task("decide", "决定")
        + '<bpmn:exclusiveGateway id="gw" default="f_default"/>'
        + '<bpmn:endEvent id="approved"/><bpmn:endEvent id="refused"/>'
        + flow("start", "decide") + flow("decide", "gw")
        + flow("gw", "approved", condition, flow_id="f_condition")
        + flow("gw", "refused", flow_id="f_default")
    )
    return document(body, lanes=[(lane, ["decide"])])
