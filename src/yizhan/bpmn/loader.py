"""Checking an uploaded BPMN 2.0 file and turning it into a ``ProcessDefinition``.

``load_process`` refuses, with a ``ProcessError`` that names the element
and the reason, anything the runtime could not run safely and predictably:

* more than ``MAX_BYTES``, not UTF-8, not well-formed XML, or any DTD (so
  no entity can be declared: no XXE, no billion laughs; the parser resolves
  none either and never touches the network);
* more than ``MAX_FLOW_NODES`` flow nodes or ``MAX_SCRIPT_TASKS`` script
  tasks (every case of the process pays for them at each step);
* an element nested where only text belongs (in an ``incoming``, a
  ``script``, a condition ...), a BPMN element inside the diagram
  interchange, or diagram coordinates that are not numbers;
* a flow node id SpiffWorkflow uses for its own task specs (``Start``,
  ``End``, ``Root``, or any id with a ``.``);
* not BPMN 2.0, no executable process, or more than one;
* an element outside the supported set (``SUPPORTED``): start event, end
  event (plain or terminate), user task, script task, exclusive and
  parallel gateway, sequence flow, lanes, plus what modelers draw for
  people (pools, text annotations, associations, groups, documentation,
  extension elements, diagram interchange), which never runs;
* a user task whose post (its lane, or for a task in no lane, or only in
  lanes without names, its candidate group: Camunda 7's
  ``camunda:candidateGroups``, Camunda 8's ``zeebe:assignmentDefinition``)
  does not name a known role and agency, a multi-instance marker anywhere
  but on a ``$joint`` task;
* a condition or script outside ``yizhan.bpmn.expressions``, or declared in
  another language (a script's ``scriptFormat``, a condition's ``language``:
  JavaScript, Groovy ...);
* a graph the engine would get stuck in: not exactly one start event, an
  element without an exit, an element that cannot be reached, a loop with no
  user task in it (the engine would spin), an exclusive gateway with a
  conditional exit and no default exit, an exit with neither a condition nor
  the default mark, a parallel join fed by different exits of one exclusive
  gateway (it would wait for a branch that was not taken), an end event
  whose id names no outcome.

Every ``extensionElements`` and ``documentation`` is removed from the
parsed tree first (once the candidate groups of the user tasks and the
scripts of Camunda 8 script tasks are read from them): they only ever carry
notes for people and modeler settings (``camunda:*``, ``zeebe:*``), and
SpiffWorkflow reads every descendant of a process (any element with an id,
any tag ending in ``sequenceFlow``, conditions and event definitions at any
depth), so whatever they held would run without having been checked.  The
checks then run on that tree and SpiffWorkflow parses the same tree, so the
messages are ours and in Chinese; what SpiffWorkflow still refuses is passed
on with its (English) reason.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException

from yizhan.bpmn import expressions, spiff
from yizhan.bpmn.definition import (
    SYMBOLIC_AGENCIES,
    Outcome,
    ProcessDefinition,
    TaskPost,
    build_spec_json,
    outcome_of,
)
from yizhan.bpmn.errors import Detail, ProcessError
from yizhan.core.errors import rendered_later
from yizhan.directory.roles import Role

MAX_BYTES = 1024 * 1024
# SpiffWorkflow's joins rescan the task tree for each arriving branch and
# every script runs at each step of every case: a process far larger than
# any real procedure would make each step cost seconds.
MAX_FLOW_NODES = 200
MAX_SCRIPT_TASKS = 50
# A script task's scriptFormat, when a modeler writes one: the language of
# ``expressions`` (a subset of Python's), or FEEL (a Camunda 8 script).
SCRIPT_FORMATS = frozenset({"python", "text/x-python", "feel"})
# A condition's language, when a modeler writes one: the same, or JUEL (a
# Camunda 7 expression); ``expressions`` tells JUEL and FEEL by their form.
CONDITION_LANGUAGES = SCRIPT_FORMATS | {"juel"}

# The encoding a text's XML declaration names: a text read from a file (an
# upload through the API is JSON text) has none of its own any more.
_DECLARATION_ENCODING = re.compile(
    r"""\A(\ufeff?\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])""")
_DECLARED_ENCODING = re.compile(
    rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"

# The roles that do case work, with the labels a person may write instead
# of the code (the Chinese labels of ``Role``; a test keeps them in step).
# The supervision officer checks the replies to the office's own cases
# (监察督办, the ``notice`` template).
TASK_ROLES = {
    Role.WINDOW_CLERK.value: Role.WINDOW_CLERK,
    Role.REVIEWER.value: Role.REVIEWER,
    Role.AGENCY_HEAD.value: Role.AGENCY_HEAD,
    Role.SUPERVISION_OFFICER.value: Role.SUPERVISION_OFFICER,
    "窗口受理员": Role.WINDOW_CLERK,
    "审查员": Role.REVIEWER,
    "部门负责人": Role.AGENCY_HEAD,
    "监察员": Role.SUPERVISION_OFFICER,
}

FLOW_NODES = frozenset({
    "startEvent", "endEvent", "userTask", "scriptTask", "exclusiveGateway", "parallelGateway",
})
# What modelers draw for people; none of it runs.
ARTIFACTS = frozenset({"textAnnotation", "association", "group", "documentation",
                       "extensionElements"})
PROCESS_CHILDREN = FLOW_NODES | ARTIFACTS | {"sequenceFlow", "laneSet"}
NODE_CHILDREN = frozenset({"incoming", "outgoing", "documentation", "extensionElements"})
EXTRA_CHILDREN = {
    "endEvent": frozenset({"terminateEventDefinition"}),
    "userTask": frozenset({"multiInstanceLoopCharacteristics"}),
    "scriptTask": frozenset({"script"}),
}
DEFINITIONS_CHILDREN = frozenset({"process", "collaboration", "category", "documentation",
                                  "extensionElements"})
COLLABORATION_CHILDREN = frozenset({"participant"}) | ARTIFACTS
SUPPORTED = FLOW_NODES | {"sequenceFlow", "lane"}
# Removed before anything is checked (see the module docstring).
STRIPPED = frozenset({"extensionElements", "documentation"})
# Elements whose children the checker goes through one by one ...
CHECKED_CONTENT = FLOW_NODES | {"definitions", "process", "collaboration", "laneSet", "lane",
                                "childLaneSet", "sequenceFlow",
                                "multiInstanceLoopCharacteristics"}
# ... and those that may hold only these; every other element holds text only.
CONTENT = {
    "textAnnotation": frozenset({"text"}),
    "category": frozenset({"categoryValue"}),
}
# The names SpiffWorkflow gives its own task specs, next to those named
# after the flow nodes: "Start", "End", "Root", "<process>.EndJoin",
# "<node>.BoundaryEventSplit" ...  A flow node with one of them replaces or
# shadows the engine's spec: the process ends at once or cannot start.
RESERVED_IDS = frozenset({"Start", "End", "Root"})

KINDS = {
    "startEvent": _("开始事件"),
    "endEvent": _("结束事件"),
    "userTask": _("用户任务"),
    "scriptTask": _("脚本任务"),
    "exclusiveGateway": _("排他网关"),
    "parallelGateway": _("并行网关"),
    "inclusiveGateway": _("包容网关"),
    "eventBasedGateway": _("事件网关"),
    "complexGateway": _("复杂网关"),
    "sequenceFlow": _("顺序流"),
    "messageFlow": _("消息流"),
    "process": _("流程"),
    "lane": _("泳道"),
    "task": _("未指定类型的任务"),
    "serviceTask": _("服务任务"),
    "sendTask": _("发送任务"),
    "receiveTask": _("接收任务"),
    "manualTask": _("手工任务"),
    "businessRuleTask": _("业务规则任务"),
    "subProcess": _("子流程"),
    "adHocSubProcess": _("特设子流程"),
    "transaction": _("事务子流程"),
    "callActivity": _("调用活动"),
    "intermediateCatchEvent": _("中间捕获事件"),
    "intermediateThrowEvent": _("中间抛出事件"),
    "boundaryEvent": _("边界事件"),
    "timerEventDefinition": _("定时事件定义"),
    "messageEventDefinition": _("消息事件定义"),
    "signalEventDefinition": _("信号事件定义"),
    "errorEventDefinition": _("错误事件定义"),
    "escalationEventDefinition": _("升级事件定义"),
    "conditionalEventDefinition": _("条件事件定义"),
    "compensateEventDefinition": _("补偿事件定义"),
    "cancelEventDefinition": _("取消事件定义"),
    "linkEventDefinition": _("链接事件定义"),
    "standardLoopCharacteristics": _("循环标记"),
    "multiInstanceLoopCharacteristics": _("多实例标记"),
    "ioSpecification": _("输入输出定义"),
    "dataInputAssociation": _("数据输入关联"),
    "dataOutputAssociation": _("数据输出关联"),
    "dataObject": _("数据对象"),
    "dataObjectReference": _("数据对象引用"),
    "dataStoreReference": _("数据存储引用"),
    "message": _("消息定义"),
    "signal": _("信号定义"),
    "error": _("错误定义"),
    "escalation": _("升级定义"),
    "dataStore": _("数据存储"),
    "itemDefinition": _("数据项定义"),
    "import": _("导入"),
}

UNSUPPORTED = _(
    "%(element)s：不支持%(kind)s。流程只能由开始事件、结束事件（可为终止结束事件）、"
    "用户任务、脚本任务、排他网关、并行网关、顺序流和泳道组成。"
)


def load_process(xml: bytes, *, resolve_agency: Callable[[str], bool]) -> ProcessDefinition:
    """Check an uploaded BPMN 2.0 file and load it.

    ``resolve_agency(name)`` answers whether the agency of that name can be
    named in a lane: True, False (there is none), or the reason it cannot
    be (a text, e.g. the name is ambiguous); it is asked once for each named
    (not ``$``-symbolic) agency in a lane.
    Raises ``ProcessError`` (code ``bpmn.invalid``) naming the element and
    the reason.
    """
    root, groups = _prepared(xml)
    process = _Checker(root, resolve_agency, groups).check()
    return process.build(root)


@dataclass(frozen=True)
class ProcessOutline:
    """The drawing of a process ``load_process`` accepts, for the checks of a caller's
    own conventions (the case engine reads what a user task is from its id).

    ``kinds`` maps each flow node's id to its element (``userTask``,
    ``endEvent`` ...); ``flows`` each sequence flow's id to its source and
    target; ``labels`` each of these ids to the element as a message names
    it; ``conditions`` the id of each element carrying a condition (an exit
    of a gateway, a joint task's completion condition) to the condition;
    ``scripts`` each script task's id to its script.
    """

    start: str
    kinds: Mapping[str, str]
    flows: Mapping[str, tuple[str, str]]
    labels: Mapping[str, Detail]
    conditions: Mapping[str, str]
    scripts: Mapping[str, str]

    def reachable(self, *, avoiding: Collection[str] = ()) -> set[str]:
        """The flow nodes a case can reach from the start event without going
        through one of ``avoiding`` (those it stops at are included)."""
        exits: dict[str, list[str]] = {}
        for source, target in self.flows.values():
            exits.setdefault(source, []).append(target)
        return _reachable([self.start], lambda node_id: exits.get(node_id, ()),
                          avoiding=avoiding)


def outline_process(xml: bytes) -> ProcessOutline:
    """The outline of a BPMN file, checked as ``load_process`` checks it.

    Raises ``ProcessError`` for a file ``load_process`` refuses; agencies
    named in lanes are not looked up (``load_process`` does that).
    """
    root, groups = _prepared(xml)
    return _Checker(root, lambda name: True, groups).check().outline()


def _reachable(starts, following: Callable[[str], Collection[str]], *,
               avoiding: Collection[str] = ()) -> set[str]:
    """The nodes of ``starts`` and every node reached from them by ``following``
    (a node's next nodes, forwards or backwards), not going on from ``avoiding``."""
    reached, frontier = set(starts), list(starts)
    while frontier:
        node_id = frontier.pop()
        if node_id in avoiding:
            continue
        for target in following(node_id):
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    return reached


def _local(node) -> str:
    return etree.QName(node).localname


def _namespace(node) -> str | None:
    return etree.QName(node).namespace


def _kind(tag: str):
    return KINDS.get(tag, tag)


def _label(node) -> Detail:
    tag = _local(node)
    name = _name(node)
    if name:
        return Detail(_("%(kind)s“%(name)s”（%(id)s）"), kind=_kind(tag), name=name,
                      id=node.get("id", "?"))
    return Detail(_("%(kind)s %(id)s"), kind=_kind(tag), id=node.get("id", "?"))


def _name(node) -> str:
    return " ".join((node.get("name") or "").split())


def _refuse(node, message, **fields):
    raise ProcessError(message, element=_label(node), element_id=node.get("id", ""), **fields)


def process_text(xml: bytes) -> str:
    """The text of a BPMN file as it was saved: UTF-8 (with or without a byte
    order mark) or UTF-16 with its byte order mark.

    For a caller that keeps the file as text (the catalog's upload form):
    ``load_process`` reads the text as it reads the file.  Raises
    ``ProcessError`` for a file it would refuse for its size or encoding.
    """
    if _is_utf16(xml):
        # Saved as UTF-16 by a Windows editor: read as text, then checked as
        # UTF-8 like any other file (the size first, before decoding).
        if len(xml) > 2 * MAX_BYTES:
            raise ProcessError(_("流程文件过大：%(size)s 字节，上限为 %(limit)s 字节。"),
                               size=len(xml), limit=MAX_BYTES)
        try:
            return bytes(xml).decode("utf-16")
        except UnicodeDecodeError:
            raise ProcessError(_("流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。")) from None
    _check_bytes(xml)
    return bytes(xml).decode("utf-8-sig")


def _is_utf16(xml) -> bool:
    return isinstance(xml, (bytes, bytearray)) and xml.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def _parse_xml(xml: bytes):
    if _is_utf16(xml):
        xml = process_text(xml)
    if isinstance(xml, str):
        xml = _DECLARATION_ENCODING.sub(r"\1UTF-8\3", xml, count=1)
        try:
            xml = xml.encode()
        except UnicodeEncodeError:
            # A lone surrogate ("\ud800", from a JSON "\\ud800" escape) has
            # no UTF-8 form: the text cannot be a file anyone saved.
            raise ProcessError(_("流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。")) from None
    if not isinstance(xml, (bytes, bytearray)):
        raise ProcessError(_("流程文件必须以字节形式提供。"))
    _check_bytes(xml)
    return _parse_checked(xml)


def _check_bytes(xml: bytes) -> None:
    """Size, encoding and a DTD, before any parsing."""
    if len(xml) > MAX_BYTES:
        raise ProcessError(_("流程文件过大：%(size)s 字节，上限为 %(limit)s 字节。"),
                           size=len(xml), limit=MAX_BYTES)
    if not xml.strip():
        raise ProcessError(_("流程文件是空的。"))
    # UTF-8 only (what modelers write): then a DTD cannot hide from the byte
    # search below in another encoding.  The parsed tree is checked again.
    declared = _DECLARED_ENCODING.match(xml)
    if b"\x00" in xml or (declared and declared.group(1).lower() not in (b"utf-8", b"utf8")):
        raise ProcessError(_("流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。"))
    try:
        bytes(xml).decode("utf-8")
    except UnicodeDecodeError:
        raise ProcessError(_("流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。")) from None
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise ProcessError(_("流程文件含有 DTD 或实体声明，出于安全原因不予接受。"))


def _parse_checked(xml: bytes):
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(bytes(xml), parser)
    except etree.XMLSyntaxError as exc:
        # libxml2's wording is English; its place is what the reader needs.
        line, column = exc.position
        raise ProcessError(_("流程文件不是有效的 XML：第 %(line)s 行第 %(column)s 列附近有错误。"),
                           line=line, column=column) from None
    except (etree.LxmlError, ValueError):
        raise ProcessError(_("流程文件不是有效的 XML。")) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ProcessError(_("流程文件含有 DTD 或实体声明，出于安全原因不予接受。"))
    if next(root.iter(etree.Entity), None) is not None:
        raise ProcessError(_("流程文件含有 DTD 或实体声明，出于安全原因不予接受。"))
    if not isinstance(root.tag, str) or root.tag != f"{{{BPMN}}}definitions":
        raise ProcessError(_("文件不是 BPMN 2.0 文档：根元素应为命名空间 %(namespace)s 中的 "
                             "definitions。"), namespace=BPMN)
    return root


def _prepared(xml: bytes):
    """The parsed tree without notes (``_strip_notes``), and the candidate groups
    of its user tasks; both these and Camunda 8's scripts are read from the
    notes first (``_candidate_groups``, ``_zeebe_scripts``)."""
    root = _parse_xml(xml)
    groups = _candidate_groups(root)
    _zeebe_scripts(root)
    _strip_notes(root)
    return root, groups


def _zeebe_scripts(root) -> None:
    """Give a Camunda 8 script task, whose script is a ``zeebe:script`` among its
    notes, the ``script`` it means (``expressions.feel_script``); the script is
    then checked as any other."""
    for task in root.iter(f"{{{BPMN}}}scriptTask"):
        zeebe = task.find(f"{{{BPMN}}}extensionElements/{{{ZEEBE}}}script")
        if zeebe is None or task.find(f"{{{BPMN}}}script") is not None:
            continue
        try:
            text = expressions.feel_script(zeebe.get("resultVariable") or "",
                                           zeebe.get("expression") or "")
        except expressions.ExpressionError as exc:
            _refuse(task, _("%(element)s 的脚本不被允许：%(detail)s"), detail=exc.detail)
        etree.SubElement(task, f"{{{BPMN}}}script").text = text


def _candidate_groups(root) -> dict[str, str]:
    """User task id → the post its candidate group names, as a modeler writes it:
    ``camunda:candidateGroups`` (Camunda 7) or the ``candidateGroups`` of a
    ``zeebe:assignmentDefinition`` (Camunda 8)."""
    found = {}
    for task in root.iter(f"{{{BPMN}}}userTask"):
        groups = task.get(f"{{{CAMUNDA}}}candidateGroups")
        for assignment in task.iterfind(f"{{{BPMN}}}extensionElements/"
                                        f"{{{ZEEBE}}}assignmentDefinition"):
            groups = groups or assignment.get("candidateGroups")
        if groups and groups.strip() and task.get("id"):
            found[task.get("id")] = groups.strip()
    return found


def _strip_notes(root) -> None:
    """Remove every ``extensionElements`` and ``documentation`` (see the module docstring)."""
    found = list(root.iter(*(f"{{{BPMN}}}{tag}" for tag in STRIPPED)))
    for node in found:
        parent = node.getparent()
        if parent is not None:
            # Keep the text after the element (lxml stores it on the element).
            _remove_keeping_tail(parent, node)


def _remove_keeping_tail(parent, node) -> None:
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


class _Checked:
    """What the checks found, ready to be handed to SpiffWorkflow."""

    def __init__(self, process, posts, outcomes, nodes, flows):
        self.process = process
        self.posts = posts
        self.outcomes = outcomes
        self.nodes = nodes
        self.flows = flows

    def outline(self) -> ProcessOutline:
        conditions, scripts = {}, {}
        for flow_id, flow in self.flows.items():
            condition = flow.find(f"{{{BPMN}}}conditionExpression")
            if condition is not None:
                conditions[flow_id] = (condition.text or "").strip()
        for node_id, node in self.nodes.items():
            condition = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics/"
                                  f"{{{BPMN}}}completionCondition")
            if condition is not None and (condition.text or "").strip():
                conditions[node_id] = condition.text.strip()
            if _local(node) == "scriptTask":
                scripts[node_id] = node.find(f"{{{BPMN}}}script").text
        elements = {**self.nodes, **self.flows}
        return ProcessOutline(
            start=next(i for i, n in self.nodes.items() if _local(n) == "startEvent"),
            kinds=MappingProxyType({i: _local(n) for i, n in self.nodes.items()}),
            flows=MappingProxyType({i: (f.get("sourceRef"), f.get("targetRef"))
                                    for i, f in self.flows.items()}),
            labels=MappingProxyType({i: _label(n) for i, n in elements.items()}),
            conditions=MappingProxyType(conditions),
            scripts=MappingProxyType(scripts),
        )

    def build(self, root) -> ProcessDefinition:
        process_id = self.process.get("id")
        parser = spiff.YizhanParser()
        try:
            parser.add_bpmn_xml(root)
            spec = parser.get_spec(process_id)
            spiff_spec = spiff.spec_to_dict(spec)
        except SpiffWorkflowException as exc:
            element = getattr(exc, "id", "") or process_id
            raise ProcessError(_("%(element)s：流程引擎无法解析：%(error)s"),
                               element=element, element_id=element, error=str(exc)) from None
        except RecursionError:
            raise ProcessError(_("%(element)s：流程过于复杂，流程引擎无法解析。"),
                               element=process_id, element_id=process_id) from None
        except (ValueError, TypeError, LookupError, AttributeError) as exc:
            # Whatever the checks above did not foresee is still a bad file
            # (a 400 naming the process), never a server error.
            raise ProcessError(_("%(element)s：流程引擎无法解析：%(error)s"),
                               element=process_id, element_id=process_id,
                               error=f"{type(exc).__name__}: {exc}") from None
        name = _name(self.process) or _participant_name(root, process_id) or process_id
        spec_json = build_spec_json(
            process_id=process_id,
            name=name,
            tasks=self.posts,
            outcomes=self.outcomes,
            spiff_spec=spiff_spec,
            serializer_version=spiff.SPIFF_SERIALIZER_VERSION,
        )
        return ProcessDefinition.from_json(spec_json)


def _participant_name(root, process_id) -> str:
    for participant in root.iter(f"{{{BPMN}}}participant"):
        if participant.get("processRef") == process_id:
            return _name(participant)
    return ""


class _Checker:
    def __init__(self, root, resolve_agency, groups):
        self.root = root
        self.resolve_agency = resolve_agency
        self.groups = groups
        self.agency_known: dict[str, object] = {}
        self.lane_clashes: dict[str, tuple[list[str], list[str]]] = {}

    def check(self) -> _Checked:
        process = self._the_process()
        self._check_definitions()
        nodes, flows = self._check_elements(process)
        self._check_size(process, nodes)
        self._check_nesting(self.root)
        self._check_diagram()
        self._check_ids()
        lanes = self._lanes(process)
        posts = self._check_user_tasks(nodes, lanes)
        self._check_scripts(nodes)
        self._check_flows(nodes, flows)
        outcomes = self._check_graph(process, nodes, flows)
        return _Checked(process, posts, outcomes, nodes, flows)

    # The document

    def _the_process(self):
        processes = [p for p in self.root if _namespace(p) == BPMN and _local(p) == "process"]
        executable = [p for p in processes if p.get("isExecutable", "true") == "true"]
        if not executable:
            raise ProcessError(_("流程文件中没有可执行的流程（请在建模工具中把流程设为“可执行”，"
                                 "即 isExecutable=\"true\"）。"))
        if len(executable) > 1:
            raise ProcessError(_("流程文件只能有一个可执行流程，现有 %(count)s 个：%(ids)s。"),
                               count=len(executable),
                               ids="、".join(p.get("id", "?") for p in executable))
        process = executable[0]
        if not process.get("id"):
            raise ProcessError(_("可执行流程没有 ID。"))
        return process

    def _check_definitions(self):
        for child in self.root:
            if not isinstance(child.tag, str):
                continue
            if _namespace(child) == BPMNDI and _local(child) == "BPMNDiagram":
                continue
            if _namespace(child) != BPMN or _local(child) not in DEFINITIONS_CHILDREN:
                _refuse(child, UNSUPPORTED, kind=_kind(_local(child)))
            if _local(child) == "collaboration":
                for item in child:
                    if _namespace(item) != BPMN or _local(item) not in COLLABORATION_CHILDREN:
                        _refuse(item, UNSUPPORTED, kind=_kind(_local(item)))

    def _check_elements(self, process):
        nodes, flows = {}, {}
        for child in process:
            if not isinstance(child.tag, str):
                continue
            tag = _local(child)
            if _namespace(child) != BPMN or tag not in PROCESS_CHILDREN:
                _refuse(child, UNSUPPORTED, kind=_kind(tag))
            if tag in FLOW_NODES:
                allowed = NODE_CHILDREN | EXTRA_CHILDREN.get(tag, frozenset())
                for item in child:
                    if _namespace(item) != BPMN or _local(item) not in allowed:
                        _refuse(child, UNSUPPORTED, kind=_kind(_local(item)))
                if not child.get("id"):
                    raise ProcessError(_("有一个%(kind)s没有 ID。"), kind=_kind(tag))
                self._check_node_id(child)
                nodes[child.get("id")] = child
            elif tag == "sequenceFlow":
                for item in child:
                    if _namespace(item) != BPMN or _local(item) not in {
                            "conditionExpression", "documentation", "extensionElements"}:
                        _refuse(child, UNSUPPORTED, kind=_kind(_local(item)))
                if not child.get("id"):
                    raise ProcessError(_("有一条顺序流没有 ID。"))
                flows[child.get("id")] = child
            elif tag == "laneSet":
                self._check_lane_set(child)
        return nodes, flows

    def _check_node_id(self, node):
        node_id = node.get("id")
        if node_id in RESERVED_IDS or "." in node_id:
            _refuse(node, _("%(element)s：ID 与流程引擎的内部名称冲突（Start、End、Root 和含“.”"
                            "的 ID 由引擎保留），请改用其他 ID。"))

    def _check_size(self, process, nodes):
        if len(nodes) > MAX_FLOW_NODES:
            _refuse(process, _("%(element)s 有 %(count)s 个流程节点，上限为 %(limit)s 个。"),
                    count=len(nodes), limit=MAX_FLOW_NODES)
        scripts = sum(1 for node in nodes.values() if _local(node) == "scriptTask")
        if scripts > MAX_SCRIPT_TASKS:
            _refuse(process, _("%(element)s 有 %(count)s 个脚本任务，上限为 %(limit)s 个。"),
                    count=scripts, limit=MAX_SCRIPT_TASKS)

    def _check_nesting(self, node, owner=None):
        """Refuse an element where only text belongs (an ``incoming``, a ``script`` ...).

        SpiffWorkflow would find it there all the same (see the module
        docstring).  The children of the elements in ``CHECKED_CONTENT`` are
        checked one by one elsewhere; a non-executable process never runs,
        and the diagram is ``_check_diagram``'s.
        """
        tag = _local(node)
        if node.get("id"):
            owner = node
        if _namespace(node) == BPMNDI and tag == "BPMNDiagram":
            return
        if _namespace(node) == BPMN and tag == "process" and node.get(
                "isExecutable", "true") != "true":
            return
        checked = _namespace(node) == BPMN and tag in CHECKED_CONTENT
        allowed = CONTENT.get(tag, frozenset()) if _namespace(node) == BPMN else frozenset()
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if not checked and (_namespace(child) != BPMN or _local(child) not in allowed):
                if owner is None:
                    raise ProcessError(_("%(part)s 中不能含有其他元素（%(child)s）。"),
                                       part=tag, child=_kind(_local(child)))
                _refuse(owner, _("%(element)s：%(part)s 中不能含有其他元素（%(child)s）。"),
                        part=tag, child=_kind(_local(child)))
            self._check_nesting(child, owner)

    def _check_diagram(self):
        """The diagram interchange: pictures only, with numbers for coordinates."""
        for diagram in self.root.iterchildren(f"{{{BPMNDI}}}BPMNDiagram"):
            for node in diagram.iter():
                if isinstance(node.tag, str) and _namespace(node) == BPMN:
                    raise ProcessError(_("图形 %(diagram)s 中不能含有流程元素（%(kind)s）。"),
                                       diagram=diagram.get("id", "?"),
                                       kind=_kind(_local(node)), element_id=node.get("id", ""))
        # SpiffWorkflow reads the positions (it orders parallel branches by them).
        for bounds in self.root.iter(f"{{{DC}}}Bounds"):
            for attribute in ("x", "y", "width", "height"):
                value = bounds.get(attribute)
                if value is None:
                    continue
                try:
                    number = float(value)
                except ValueError:
                    number = math.nan
                if not math.isfinite(number):
                    shape = bounds.getparent()
                    target = shape.get("bpmnElement", "") if shape is not None else ""
                    raise ProcessError(
                        _("图形 %(shape)s（元素 %(target)s）的坐标 %(attribute)s=“%(value)s”"
                          "不是数字。"),
                        shape=shape.get("id", "?") if shape is not None else "?",
                        target=target or "?", attribute=attribute, value=value[:50],
                        element_id=target)

    def _check_lane_set(self, lane_set):
        for lane in lane_set:
            if _namespace(lane) != BPMN or _local(lane) not in {"lane", "documentation",
                                                                "extensionElements"}:
                _refuse(lane_set, UNSUPPORTED, kind=_kind(_local(lane)))
            for item in lane if _local(lane) == "lane" else ():
                tag = _local(item)
                if _namespace(item) != BPMN or tag not in {
                        "flowNodeRef", "childLaneSet", "documentation", "extensionElements"}:
                    _refuse(lane, UNSUPPORTED, kind=_kind(tag))
                if tag == "childLaneSet":
                    self._check_lane_set(item)

    def _check_ids(self):
        seen = set()
        for node in self.root.iter():
            if not isinstance(node.tag, str) or _namespace(node) != BPMN:
                continue
            node_id = node.get("id")
            if node_id is None:
                continue
            if node_id in seen:
                raise ProcessError(_("元素 ID“%(id)s”重复出现。"), id=node_id, element_id=node_id)
            seen.add(node_id)

    # Lanes and posts

    def _lanes(self, process) -> dict[str, list[str]]:
        """Node id → the lane names from the outermost lane to the innermost.

        A node only in lanes without names is in no lane: Camunda Modeler
        draws a pool's lanes unnamed, and the post is then typed in the
        task's candidate group; a lane with no name says nothing about it.
        """
        found: dict[str, list[str]] = {}

        def walk(lane_set, path):
            for lane in lane_set.iterchildren(f"{{{BPMN}}}lane"):
                here = [*path, _name(lane)]
                refs = lane.iterchildren(f"{{{BPMN}}}flowNodeRef") if any(here) else ()
                for ref in refs:
                    node_id = (ref.text or "").strip()
                    known = found.get(node_id, [])
                    if here[:len(known)] != known and known[:len(here)] != here:
                        # Two lanes side by side: two posts, and no saying
                        # which one the task is for.
                        self.lane_clashes.setdefault(node_id, (known, here))
                    # A node listed by nested lanes belongs to the innermost.
                    if len(here) >= len(known):
                        found[node_id] = here
                for child in lane.iterchildren(f"{{{BPMN}}}childLaneSet"):
                    walk(child, here)

        for lane_set in process.iterchildren(f"{{{BPMN}}}laneSet"):
            walk(lane_set, [])
        return found

    def _check_user_tasks(self, nodes, lanes) -> dict[str, TaskPost]:
        posts = {}
        for node_id, node in nodes.items():
            if _local(node) != "userTask":
                continue
            if node_id not in lanes and node_id in self.groups:
                # A task in a lane takes its post from the lane: its candidate
                # group may be a group of another platform's (Camunda's own).
                post = self._post_of_groups(node, self.groups[node_id])
            else:
                if node_id in self.lane_clashes:
                    first, second = self.lane_clashes[node_id]
                    _refuse(node, _("%(element)s 同时列在泳道“%(first)s”和“%(second)s”中，"
                                    "一个用户任务只能属于一个泳道。"),
                            first="/".join(first), second="/".join(second))
                post = self._post(node, lanes.get(node_id, []))
            self._check_multi_instance(node, post)
            posts[node_id] = post
        return posts

    def _post_of_groups(self, node, groups) -> TaskPost:
        parts = [part.strip() for part in groups.replace("／", "/").split("/")]
        if "," in groups or "，" in groups or len(parts) > 2 or not all(parts):
            _refuse(node, _("%(element)s 的候选组（candidateGroups）“%(groups)s”须是一个岗位，"
                            "写作“角色”或“机关/角色”，例如“$accepting/窗口受理员”。"),
                    groups=groups[:100])
        return self._post_of_parts(node, parts,
                                   pgettext_lazy("in a sentence", "候选组（candidateGroups）"))

    def _post(self, node, lane_names) -> TaskPost:
        parts = [
            part.strip()
            for name in lane_names
            for part in name.replace("／", "/").split("/")
            if part.strip()
        ]
        if not parts:
            _refuse(node, _("%(element)s 不在任何泳道里。用户任务须放在以“角色”或“机关/角色”"
                            "命名的泳道中，例如“$accepting/窗口受理员”，或在任务的候选组"
                            "（candidateGroups）中这样填写。"))
        if len(parts) > 2:
            _refuse(node, _("%(element)s 所在泳道“%(lane)s”的名称应为“角色”或“机关/角色”。"),
                    lane="/".join(parts))
        return self._post_of_parts(node, parts, pgettext_lazy("in a sentence", "泳道"))

    def _post_of_parts(self, node, parts, source) -> TaskPost:
        """The post of ``parts`` (``[agency, role]`` or ``[role]``), named in
        ``source`` (the lane or the candidate group)."""
        role_name = parts[-1]
        role = TASK_ROLES.get(role_name)
        if role is None:
            known = {r.value for r in Role}
            if role_name in known:
                _refuse(node, _("%(element)s：角色“%(role)s”不办理流程任务；可用的角色是 "
                                "%(roles)s。"), role=role_name, roles=rendered_later(_role_list))
            _refuse(node, _("%(element)s：%(source)s中的角色“%(role)s”不存在；可用的角色是 "
                            "%(roles)s。"),
                    source=source, role=role_name, roles=rendered_later(_role_list))
        agency = parts[0] if len(parts) == 2 else SYMBOLIC_AGENCIES[0]
        if agency.startswith("$"):
            if agency not in SYMBOLIC_AGENCIES:
                _refuse(node, _("%(element)s：机关代号“%(agency)s”不存在；可用的代号是 "
                                "%(symbols)s。"), agency=agency,
                        symbols="、".join(SYMBOLIC_AGENCIES))
        else:
            if agency not in self.agency_known:
                self.agency_known[agency] = self.resolve_agency(agency)
            answer = self.agency_known[agency]
            if answer is None or isinstance(answer, bool):
                if not answer:
                    _refuse(node, _("%(element)s：%(source)s中的机关“%(agency)s”不存在。"),
                            source=source, agency=agency)
            else:
                _refuse(node, _("%(element)s：%(source)s中的机关“%(agency)s”不能使用：%(reason)s"),
                        source=source, agency=agency, reason=answer)
        title = _name(node) or node.get("id")
        return TaskPost(task=node.get("id"), title=title, role=role.value, agency=agency)

    def _check_multi_instance(self, node, post):
        marker = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
        if not post.joint:
            if marker is not None:
                _refuse(node, _("%(element)s：只有“$joint”（会同机关）泳道中的任务才能是"
                                "多实例任务。"))
            return
        if marker is None:
            _refuse(node, _("%(element)s 在“$joint”泳道中，须画成并行多实例任务（三条竖线标记），"
                            "每个会同机关各办一份。"))
        if marker.get("isSequential") == "true":
            _refuse(node, _("%(element)s：会同机关的任务须并行办理，不能是串行多实例。"))
        for item in marker:
            tag = _local(item)
            if _namespace(item) != BPMN or tag not in {"completionCondition", "documentation",
                                                       "extensionElements"}:
                _refuse(node, _("%(element)s：会同任务的实例由系统按会同机关生成，多实例标记中只能"
                                "填写完成条件（completionCondition），不能有 %(item)s。"), item=tag)
            if tag == "completionCondition":
                self._check_condition(node, item)

    def _check_condition(self, node, condition):
        """Refuse the condition element ``condition`` of ``node`` (a flow, or a
        joint task's completion condition) in another language, or outside
        ``expressions``."""
        language = (condition.get("language") or "").strip()
        if language and language.lower() not in CONDITION_LANGUAGES:
            # Camunda 7 runs a condition in JavaScript or Groovy when the
            # modeler names it; read here, the same text may mean something
            # else (JavaScript's 500 == "500" is true, here false), so the
            # language named is the one refused, as for a script task.
            _refuse(node, _("%(element)s 的条件语言“%(language)s”不受支持：条件只能用本平台的"
                            "表达式，或 JUEL（${…}）、FEEL（=…）的比较写成（language 留空或填 "
                            "python）。"),
                    language=language[:30])
        text = condition.text
        try:
            expressions.compile_expression(text or "")
        except expressions.ExpressionError as exc:
            _refuse(node, _("%(element)s 的条件“%(expression)s”不被允许：%(detail)s"),
                    expression=(text or "").strip()[:200], detail=exc.detail)

    def _check_scripts(self, nodes):
        for node in nodes.values():
            if _local(node) != "scriptTask":
                continue
            language = (node.get("scriptFormat") or "").strip()
            if language and language.lower() not in SCRIPT_FORMATS:
                # A Groovy or JavaScript script whose text happened to read as
                # assignments would run with another meaning: the language
                # the modeler names is the one refused.
                _refuse(node, _("%(element)s 的脚本语言“%(language)s”不受支持：脚本只能用"
                                "“变量 = 表达式”的赋值写成（scriptFormat 留空或填 python）。"),
                        language=language[:30])
            scripts = node.findall(f"{{{BPMN}}}script")
            if len(scripts) != 1 or not (scripts[0].text or "").strip():
                _refuse(node, _("%(element)s 没有脚本。"))
            try:
                expressions.compile_script(scripts[0].text)
            except expressions.ExpressionError as exc:
                _refuse(node, _("%(element)s 的脚本不被允许：%(detail)s"), detail=exc.detail)

    # The graph

    def _check_flows(self, nodes, flows):
        for flow in flows.values():
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in nodes:
                    _refuse(flow, _("%(element)s 的%(end)s“%(ref)s”不是本流程中的元素。"),
                            end=_("起点") if end == "sourceRef" else _("终点"),
                            ref=flow.get(end) or "")
            condition = flow.find(f"{{{BPMN}}}conditionExpression")
            if condition is not None:
                if _local(nodes[flow.get("sourceRef")]) != "exclusiveGateway":
                    _refuse(flow, _("%(element)s 带有条件，但条件只能写在排他网关的出口上。"))
                self._check_condition(flow, condition)

    def _check_graph(self, process, nodes, flows) -> dict[str, str]:
        outgoing = {node_id: [] for node_id in nodes}
        incoming = {node_id: [] for node_id in nodes}
        for flow in flows.values():
            outgoing[flow.get("sourceRef")].append(flow)
            incoming[flow.get("targetRef")].append(flow)

        starts = [n for n in nodes.values() if _local(n) == "startEvent"]
        if not starts:
            _refuse(process, _("%(element)s 没有开始事件。"))
        if len(starts) > 1:
            _refuse(process, _("%(element)s 只能有一个开始事件，现有 %(count)s 个。"),
                    count=len(starts))
        ends = [n for n in nodes.values() if _local(n) == "endEvent"]
        if not ends:
            _refuse(process, _("%(element)s 没有结束事件。"))

        outcomes = {}
        for node_id, node in nodes.items():
            tag = _local(node)
            exits = outgoing[node_id]
            if tag == "startEvent" and incoming[node_id]:
                _refuse(node, _("%(element)s 是开始事件，不能有进入的顺序流。"))
            if tag == "endEvent":
                if exits:
                    _refuse(node, _("%(element)s 是结束事件，不能有出口。"))
                outcome = outcome_of(node_id)
                if outcome is None:
                    _refuse(node, _("%(element)s：结束事件的 ID 须表示办理结果，为 %(outcomes)s "
                                    "之一，或加下划线后缀（如 refused_review）。"),
                            outcomes=rendered_later(_outcome_list))
                outcomes[node_id] = outcome
                continue
            if not exits:
                _refuse(node, _("%(element)s 没有出口顺序流。"))
            if tag in ("exclusiveGateway", "parallelGateway"):
                if tag == "exclusiveGateway":
                    self._check_exclusive(node, exits)
            elif len(exits) > 1:
                _refuse(node, _("%(element)s 有 %(count)s 个出口；分支请用排他网关或并行网关。"),
                        count=len(exits))

        reached = _reachable([starts[0].get("id")], lambda node_id: [
            flow.get("targetRef") for flow in outgoing[node_id]])
        for node_id, node in nodes.items():
            if node_id not in reached:
                _refuse(node, _("%(element)s 从开始事件无法到达。"))

        self._check_idle_loops(nodes, outgoing)
        self._check_parallel_joins(nodes, outgoing, incoming)
        return outcomes

    def _check_exclusive(self, gateway, exits):
        default = gateway.get("default")
        if default is not None and default not in {f.get("id") for f in exits}:
            _refuse(gateway, _("%(element)s 的默认出口“%(flow)s”不是它的出口。"), flow=default)
        conditional = False
        for flow in exits:
            has_condition = flow.find(f"{{{BPMN}}}conditionExpression") is not None
            if flow.get("id") == default and has_condition:
                _refuse(flow, _("%(element)s 是默认出口，不能再带条件。"))
            if flow.get("id") != default and not has_condition and len(exits) > 1:
                _refuse(flow, _("%(element)s 是排他网关的出口，但既没有条件也不是默认出口。"))
            conditional = conditional or has_condition
        if conditional and default is None:
            # Conditions rarely cover every application: when none holds the
            # case would stop at this gateway, after the step before it was
            # done, and a case keeps its process version, so no later fix
            # reaches it.  The default exit is where such a case goes.  A
            # single exit with a condition is the same trap, with one
            # condition.
            if len(exits) == 1:
                _refuse(gateway, _("%(element)s 只有一条出口，且带条件，但没有默认出口：申请信息"
                                   "不满足该条件时办件将无法继续。请去掉这个条件，或再画一条"
                                   "默认出口。"))
            _refuse(gateway, _("%(element)s 的出口都带条件，但没有默认出口：申请信息不满足任何"
                               "条件时办件将无法继续。请把其中一条出口设为默认出口。"))

    def _check_parallel_joins(self, nodes, outgoing, incoming):
        """Refuse a parallel join fed by different exits of one exclusive gateway.

        A parallel gateway with several incoming flows waits for a case on
        each of them; an exclusive gateway sends the case down one exit
        only.  When the exits of one exclusive gateway lead to different
        incoming flows of the join (or some of them), the join waits for a
        branch the case did not take, and every case stops there: the step
        before is refused for good (``runtime._check_not_stuck``).  A
        gateway whose every exit ends or reaches the same flows of the
        join, such as a return loop or a choice nested in one branch and
        merged before the join, is fine.
        """
        joins = [n for n in nodes if _local(nodes[n]) == "parallelGateway"
                 and len(incoming[n]) > 1]
        splits = [n for n in nodes if _local(nodes[n]) == "exclusiveGateway"
                  and len(outgoing[n]) > 1]
        for join in joins:
            into = {flow.get("id") for flow in incoming[join]}
            # The flow nodes from which the join can be reached.
            upstream = _reachable(
                [flow.get("sourceRef") for flow in incoming[join]],
                lambda node_id: [flow.get("sourceRef") for flow in incoming[node_id]])
            for split in splits:
                if split not in upstream:
                    continue
                reached = {frozenset(found) for flow in outgoing[split]
                           if (found := self._flows_reached(flow, outgoing, into,
                                                            stop={split, join}))}
                if len(reached) > 1:
                    _refuse(nodes[join], _(
                        "%(element)s 要等每条进入的分支都到达才继续，但这些分支来自"
                        "%(gateway)s 的不同出口：排他网关只走其中一条，并行网关会一直等待没有走"
                        "的分支，办件将无法继续。汇合排他网关的分支请用排他网关。"),
                        gateway=_label(nodes[split]))

    @staticmethod
    def _flows_reached(first, outgoing, wanted, *, stop) -> set[str]:
        """The flows of ``wanted`` a case reaches after ``first``, not going on from
        a node of ``stop``."""
        found, seen, frontier = set(), set(), [first]
        while frontier:
            flow = frontier.pop()
            if flow.get("id") in wanted:
                found.add(flow.get("id"))
            target = flow.get("targetRef")
            if target in stop or target in seen:
                continue
            seen.add(target)
            frontier.extend(outgoing[target])
        return found

    def _check_idle_loops(self, nodes, outgoing):
        """Refuse a cycle of gateways and scripts: the engine would spin in it."""
        automatic = {node_id for node_id, node in nodes.items() if _local(node) != "userTask"}
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for first in automatic:
            if first in state:
                continue
            stack = [(first, iter(outgoing[first]))]
            state[first] = 1
            while stack:
                node_id, exits = stack[-1]
                for flow in exits:
                    target = flow.get("targetRef")
                    if target not in automatic:
                        continue
                    if state.get(target) == 1:
                        _refuse(nodes[target], _("%(element)s 处在一个没有用户任务的回路中，"
                                                 "流程会空转。"))
                    if target not in state:
                        state[target] = 1
                        stack.append((target, iter(outgoing[target])))
                        break
                else:
                    state[node_id] = 2
                    stack.pop()


def _role_list() -> str:
    """The roles a lane may name, as the refusal lists them (from TASK_ROLES)."""
    roles = dict.fromkeys(TASK_ROLES.values())
    return "、".join(f"{role.value}（{role.label}）" for role in roles)


def _outcome_list() -> str:
    return "、".join(f"{outcome.value}（{outcome.label}）" for outcome in Outcome)

__all__ = ["MAX_BYTES", "SUPPORTED", "ProcessOutline", "load_process", "outline_process",
           "process_text"]
