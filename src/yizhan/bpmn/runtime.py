"""Running a process: start a workflow, complete its user tasks, step by step.

The case engine keeps two texts: ``ProcessDefinition.spec_json``, once per
item version, and ``Step.state_json``, once per case (the workflow state
without the specification).  Each call takes them back and returns the next
``Step``; nothing is kept between calls except a cache of deserialized
specifications keyed by the SHA-256 of ``spec_json``, so a step costs one
state deserialization, the engine's work and one state serialization, never
a re-parse of the process.

Every workflow runs with ``yizhan.bpmn.engine.SAFE_ENGINE``: conditions and
scripts are evaluated by ``yizhan.bpmn.expressions``, never by ``eval``.

Calls are pure functions of their arguments: a call that raises leaves
nothing behind, and the caller's stored state is still the state to use.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.utils.translation import gettext_lazy as _
from SpiffWorkflow.bpmn.specs.defaults import ExclusiveGateway, ParallelGateway
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from yizhan.bpmn import expressions, spiff
from yizhan.bpmn.definition import JOINT, ProcessDefinition, hash_spec
from yizhan.bpmn.engine import TaskExpressionError
from yizhan.bpmn.errors import (
    Detail,
    ProcessCallError,
    ProcessRuntimeError,
    ProcessStateError,
    TaskNotReady,
)
from yizhan.bpmn.expressions import RESERVED_NAMES, ExpressionError, value_problem

CACHE_SIZE = 256                 # deserialized specifications kept in memory
MAX_DATA_BYTES = 256 * 1024      # JSON size of the data passed to one call
# JSON size of the process data (the callers' data and what the scripts
# add), checked after each script and each call: each task keeps a copy of
# it in the state saved with the case.  Twice MAX_DATA_BYTES, so scripts
# have room above a full call's data.
MAX_PROCESS_DATA_BYTES = expressions.MAX_PROCESS_DATA_BYTES

# Keys of the state JSON and of the workflow's own data that are Yizhan's.
STATE_SPEC_KEY = "yizhan_spec"
INTERNAL = "_yizhan"


@dataclass(frozen=True)
class ReadyTask:
    """A user task waiting for someone holding ``role`` in ``agency_id``."""

    task_id: str        # a UUID; pass it back to ``complete``
    name: str           # the BPMN id of the user task
    title: str          # its name in the drawing, e.g. "审查"
    role: str           # a value of yizhan.directory.roles.Role
    agency_ref: str     # "$accepting", "$joint", "$upper" or an agency's name
    agency_id: int      # the agency, from ``start(agencies=...)``


@dataclass(frozen=True)
class Step:
    """Where a case's process stands after a call.

    ``cancelled`` lists the ids of tasks that were ready before this call
    and were withdrawn by it (for example the other joint reviews when one
    agency's rejection ends the joint stage); the case engine closes them.
    ``opened`` are the tasks of ``ready`` that this call made ready (for
    ``start`` and ``current``, all of them); the case engine opens them.
    ``outcome`` is set once ``finished``: the outcome of the end event
    reached (``yizhan.bpmn.definition.Outcome``).
    """

    state_json: str = field(repr=False)
    ready: list[ReadyTask]
    finished: bool
    outcome: str | None
    data: dict[str, Any]
    cancelled: list[str] = field(default_factory=list)
    opened: list[ReadyTask] = field(default_factory=list)


def start(spec: ProcessDefinition | str, *, data: Mapping[str, Any],
          agencies: Mapping[str, int | list[int]]) -> Step:
    """Start a process and run it up to its first user task(s).

    ``spec`` is a ``ProcessDefinition`` or its stored ``spec_json``.
    ``data`` is the application data the conditions read (JSON values; keys
    may not start with ``_`` or be one of ``joint_agencies``,
    ``joint_agency``, ``joint_opinions``).  ``agencies`` maps each of the
    definition's ``agency_refs`` to an agency id, and ``$joint`` to a list of
    ids, e.g. ``{"$accepting": 3, "$joint": [4, 5, 6], "$upper": 2}``.
    """
    compiled = _compiled(spec)
    agency_ids = _check_agencies(compiled.definition, agencies)
    data = check_data(data)
    if compiled.definition.has_joint:
        data[spiff.JOINT_AGENCIES] = list(agency_ids[JOINT])
    workflow = spiff.new_workflow(compiled.spec)
    workflow.data[INTERNAL] = {"agencies": agency_ids}
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    _advance(workflow.do_engine_steps)
    return _step(compiled, workflow, previously_ready=set())


def complete(spec: ProcessDefinition | str, state_json: str, *, task_id: str,
             data: Mapping[str, Any]) -> Step:
    """Complete the ready user task ``task_id`` with ``data`` and run on.

    ``data`` is merged into the process data (same rules as for ``start``);
    a ``$joint`` task must carry an ``opinion``, which is collected into
    ``joint_opinions``.  Raises ``TaskNotReady`` if the task is not ready
    (already done, cancelled, or not in this case).
    """
    compiled = _compiled(spec)
    workflow = _restore(compiled, state_json)
    task = _ready_task(workflow, task_id)
    data = check_data(data)
    post = compiled.definition.tasks[task.task_spec.bpmn_id]
    if post.joint and spiff.OPINION not in data:
        raise ProcessCallError(_("会同任务“%(task)s”须提交意见（opinion）。"), task=post.title)
    previously_ready = {str(t.id) for t in _ready_user_tasks(workflow)}
    task.data.update(data)

    def run():
        task.run()
        workflow.do_engine_steps()

    _advance(run)
    return _step(compiled, workflow, previously_ready=previously_ready - {str(task.id)})


def send_back(spec: ProcessDefinition | str, state_json: str, *, task_id: str) -> Step:
    """Return the ready user task ``task_id`` to the step before it (退回).

    The step before is the nearest user task upstream; when a parallel
    stage lies in between (the joint reviews before a joint decision), the
    whole stage is reopened, every branch of it.  Later work on the path is
    discarded and the earlier step is ready again with the data it had then.
    Raises ``ProcessCallError`` for the first step of a process.
    """
    compiled = _compiled(spec)
    workflow = _restore(compiled, state_json)
    task = _ready_task(workflow, task_id)
    target = _previous_stage(task)
    if target is None:
        post = compiled.definition.tasks[task.task_spec.bpmn_id]
        raise ProcessCallError(_("“%(task)s”是流程的第一个环节，没有可退回的环节。"),
                               task=post.title)
    previously_ready = {str(t.id) for t in _ready_user_tasks(workflow)}

    def run():
        workflow.reset_from_task_id(target.id)
        workflow.do_engine_steps()

    _advance(run)
    return _step(compiled, workflow, previously_ready=previously_ready)


def _previous_stage(task):
    """The task to reset to for returning ``task``, or None (see ``send_back``).

    Walking up the task tree, the nearest user task is the step before;
    when a join comes first, a parallel stage lies in between, and the split
    that opened it (``spiff.split_of``) is the stage's beginning.  A joint
    instance's own container (``JointTask``) is the same step, not the one
    before.
    """
    node = task.parent
    if node is not None and isinstance(node.task_spec, spiff.JointTask):
        node = node.parent
    while node is not None:
        node_spec = node.task_spec
        if isinstance(node_spec, ParallelGateway) and len(node_spec.inputs) > 1:
            return spiff.split_of(node)
        if node_spec.manual or isinstance(node_spec, spiff.JointTask):
            return node
        node = node.parent
    return None


def revise_data(spec: ProcessDefinition | str, state_json: str, *,
                data: Mapping[str, Any]) -> Step:
    """The application data ``data`` corrected in a stored state, nothing run.

    The applicant's answers corrected after a correction notice (补正) are
    what the conditions read from then on.  They are written into every
    task of the process, done ones included: a later return to an earlier
    step (``send_back``) makes it ready again with the data it had, which
    must be the corrected answers, not those first submitted.  ``data``
    follows the rules of ``start``.
    """
    compiled = _compiled(spec)
    workflow = _restore(compiled, state_json)
    data = check_data(data)
    for task in workflow.get_tasks():
        task.data.update(data)
    ready = _ready_user_tasks(workflow)
    _check_data_size(compiled.definition, workflow, ready)
    # Nothing ran: every ready task stays ready, none opened or cancelled.
    return _step(compiled, workflow, previously_ready={str(t.id) for t in ready},
                 state_json=spiff.dump_state(workflow, {STATE_SPEC_KEY:
                                                        compiled.definition.digest}))


def current(spec: ProcessDefinition | str, state_json: str) -> Step:
    """The step a stored state stands at, without changing it."""
    compiled = _compiled(spec)
    workflow = _restore(compiled, state_json)
    return _step(compiled, workflow, previously_ready=set(), state_json=state_json)


# The specification cache

@dataclass(frozen=True)
class _Compiled:
    definition: ProcessDefinition
    spec: Any   # SpiffWorkflow's BpmnProcessSpec, shared by every workflow of it


_cache: OrderedDict[str, _Compiled] = OrderedDict()
# The same process under another serialization of its text (a jsonb column
# reorders keys) shares the restored specification: keyed by digest.
_by_digest: dict[str, _Compiled] = {}
_cache_lock = threading.Lock()
_cache_stats = {"hits": 0, "misses": 0}


def spec_cache_info() -> dict[str, int]:
    """Hits, misses and size of the specification cache (for tests and benchmarks)."""
    with _cache_lock:
        return {**_cache_stats, "size": len(_cache)}


def clear_spec_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _by_digest.clear()
        _cache_stats.update(hits=0, misses=0)


def _compiled(spec: ProcessDefinition | str) -> _Compiled:
    if isinstance(spec, ProcessDefinition):
        key, text = spec.spec_hash, spec.spec_json
    elif isinstance(spec, str):
        key, text = hash_spec(spec), spec
    else:
        raise TypeError("spec must be a ProcessDefinition or its spec_json")
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            _cache_stats["hits"] += 1
            return found
        _cache_stats["misses"] += 1
    definition, spiff_document = ProcessDefinition._parse(text)
    with _cache_lock:
        same = _by_digest.get(definition.digest)
    if same is not None:
        compiled = _Compiled(definition, same.spec)
        _remember(key, compiled)
        return compiled
    if spiff_document.get("serializer_version") != spiff.SPIFF_SERIALIZER_VERSION:
        raise ProcessStateError(detail=_("流程定义由另一版本的流程引擎生成，请重新载入流程文件。"))
    try:
        bpmn_spec = spiff.spec_from_dict(spiff_document["spec"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ProcessStateError(detail=_("流程定义已损坏，请重新载入流程文件。")) from None
    compiled = _Compiled(definition, bpmn_spec)
    _remember(key, compiled)
    return compiled


def _remember(key: str, compiled: _Compiled) -> None:
    with _cache_lock:
        _cache[key] = compiled
        _by_digest[compiled.definition.digest] = compiled
        while len(_cache) > CACHE_SIZE:
            _key, evicted = _cache.popitem(last=False)
            if _by_digest.get(evicted.definition.digest) is evicted:
                del _by_digest[evicted.definition.digest]


# State

def _restore(compiled: _Compiled, state_json: str):
    try:
        dct = json.loads(state_json)
        if not isinstance(dct, dict):
            raise ValueError
    except (TypeError, ValueError):
        raise ProcessStateError(detail=_("流程状态不是有效的 JSON。")) from None
    if dct.pop(STATE_SPEC_KEY, None) != compiled.definition.digest:
        raise ProcessStateError(detail=_("流程状态不属于这个流程定义。"))
    if dct.pop(spiff.VERSION_KEY, None) != spiff.SPIFF_SERIALIZER_VERSION:
        raise ProcessStateError(detail=_("流程状态由另一版本的流程引擎保存。"))
    try:
        return spiff.load_state(dct, compiled.spec)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ProcessStateError(detail=_("流程状态已损坏。")) from None


def _ready_user_tasks(workflow):
    return [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]


def _ready_task(workflow, task_id: str):
    try:
        task = workflow.get_task_from_id(UUID(str(task_id)))
    except (ValueError, TypeError, KeyError):
        task = None
    except WorkflowException:
        task = None
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise TaskNotReady(task_id=str(task_id))
    return task


def _advance(run) -> None:
    """Run the engine; turn what it raises into errors that name the element.

    The conditions and scripts of the run share one work budget
    (``expressions.MAX_WORK``).
    """
    try:
        with expressions.work_budget():
            run()
    except TaskExpressionError as exc:
        raise ProcessRuntimeError(detail=Detail(_("%(element)s：%(error)s"),
                                                element=exc.element, error=exc.detail)) from None
    except ExpressionError as exc:
        # Evaluated by SpiffWorkflow outside any task (not reachable with the
        # supported elements, but the evaluator's refusal must surface).
        raise ProcessRuntimeError(detail=exc.detail) from None
    except WorkflowException as exc:
        spec = getattr(exc, "task_spec", None)
        element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", "?")
        if isinstance(spec, ExclusiveGateway):
            detail = Detail(_("排他网关 %(element)s 的条件都不满足，又没有默认出口。"),
                            element=element)
        else:
            detail = Detail(_("%(element)s：%(error)s"), element=element, error=str(exc))
        raise ProcessRuntimeError(detail=detail) from None


def _step(compiled: _Compiled, workflow, *, previously_ready: set[str],
          state_json: str | None = None) -> Step:
    definition = compiled.definition
    agencies = workflow.data[INTERNAL]["agencies"]
    ready_tasks = _ready_user_tasks(workflow)
    if state_json is None:
        # The engine just ran (``current`` only reads a stored state).
        _check_not_stuck(definition, workflow, ready_tasks)
        _check_data_size(definition, workflow, ready_tasks)
    ready = []
    for task in ready_tasks:
        post = definition.tasks[task.task_spec.bpmn_id]
        agency_id = task.data[spiff.JOINT_AGENCY] if post.joint else agencies[post.agency]
        ready.append(ReadyTask(task_id=str(task.id), name=post.task, title=post.title,
                               role=post.role, agency_ref=post.agency, agency_id=agency_id))
    finished = bool(workflow.completed)
    if finished:
        data = _visible(workflow.data)
        outcome = _outcome(definition, workflow)
    else:
        merged: dict[str, Any] = {}
        for task in ready_tasks:
            DeepMerge.merge(merged, task.data)
        data = _visible(merged)
        outcome = None
    if state_json is None:
        state_json = spiff.dump_state(workflow, {STATE_SPEC_KEY: definition.digest})
    still_ready = {r.task_id for r in ready}
    return Step(state_json=state_json, ready=ready, finished=finished, outcome=outcome,
                data=data, cancelled=sorted(previously_ready - still_ready),
                opened=[r for r in ready if r.task_id not in previously_ready])


def _check_not_stuck(definition: ProcessDefinition, workflow, ready_tasks) -> None:
    """Refuse a run that leaves nothing to do and the process not finished.

    A parallel join waiting for a branch an exclusive gateway did not take
    never fires: stored, such a case would stay open for ever with no task
    anyone can do.  The caller keeps its previous state.
    """
    if workflow.completed or ready_tasks:
        return
    waiting = sorted({
        getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
        for task in workflow.get_tasks(state=TaskState.WAITING)
        if getattr(task.task_spec, "bpmn_id", None)
    })
    raise ProcessRuntimeError(detail=Detail(
        _("%(elements)s：流程无法继续，没有可办理的环节，流程也未结束（可能是并行网关在等待一条"
          "不会到达的分支）。"),
        elements="、".join(waiting) or definition.process_id))


def _check_data_size(definition: ProcessDefinition, workflow, ready_tasks) -> None:
    """Refuse a run after which the process data is past the limit.

    Each script is checked as it runs (``expressions.execute``); this
    catches what piles up over many calls, each within ``MAX_DATA_BYTES``.
    """
    holders = [(definition.process_id, workflow.data)]
    holders += [(task.task_spec.bpmn_id, task.data) for task in ready_tasks]
    for element, data in holders:
        size = expressions.data_size(data)
        if size > MAX_PROCESS_DATA_BYTES:
            raise ProcessRuntimeError(detail=Detail(
                _("%(element)s：流程数据过大（%(size)s 字节），上限为 %(limit)s 字节。"),
                element=element, size=size, limit=MAX_PROCESS_DATA_BYTES))


def _visible(data: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({
        k: v for k, v in data.items()
        if not k.startswith("_") and k != spiff.JOINT_AGENCY
    }))


def _outcome(definition: ProcessDefinition, workflow) -> str | None:
    ends = [
        task for task in workflow.get_tasks(state=TaskState.COMPLETED)
        if getattr(task.task_spec, "bpmn_id", None) in definition.outcomes
    ]
    if not ends:
        return None
    last = max(ends, key=lambda t: t.last_state_change)
    return definition.outcomes[last.task_spec.bpmn_id]


# Checking what the caller passes

def _check_agencies(definition: ProcessDefinition, agencies) -> dict[str, Any]:
    if not isinstance(agencies, Mapping):
        raise ProcessCallError(_("agencies 必须是从机关代号到机关 ID 的映射。"))
    checked: dict[str, Any] = {}
    for ref in sorted(definition.agency_refs):
        if ref not in agencies:
            raise ProcessCallError(_("流程需要机关“%(ref)s”，但 agencies 中没有给出。"), ref=ref)
        value = agencies[ref]
        if ref == JOINT:
            if (not isinstance(value, (list, tuple)) or not value
                    or not all(_is_id(v) for v in value) or len(set(value)) != len(value)):
                raise ProcessCallError(_("“$joint”须是不重复的机关 ID 列表，且至少有一个。"))
            checked[ref] = list(value)
        else:
            if not _is_id(value):
                raise ProcessCallError(_("机关“%(ref)s”的 ID 必须是整数。"), ref=ref)
            checked[ref] = value
    return checked


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_data(data) -> dict[str, Any]:
    """A private, JSON-clean copy of ``data``, or ``ProcessCallError``."""
    if not isinstance(data, Mapping):
        raise ProcessCallError(_("data 必须是字典。"))
    # First, so that a key the message below would echo is storable text
    # (no NUL, no lone surrogate: value_problem refuses them, keys included).
    problem = value_problem(data)
    if problem is not None:
        raise ProcessCallError(_("data 有误：%(problem)s"), problem=problem)
    for key in data:
        if key.startswith("_") or key in RESERVED_NAMES:
            raise ProcessCallError(_("data 中的键“%(key)s”不允许使用（不能以下划线开头，"
                                     "也不能是系统保留的名称）。"), key=key)
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
        size = len(text.encode())
    except (TypeError, ValueError):
        # UnicodeEncodeError is a ValueError: value_problem lets no such text
        # through, but the documented error is this one, never a bare one.
        raise ProcessCallError(_("data 只能包含 JSON 值。")) from None
    if size > MAX_DATA_BYTES:
        raise ProcessCallError(_("data 过大，上限为 %(limit)s 字节。"), limit=MAX_DATA_BYTES)
    return json.loads(text)
