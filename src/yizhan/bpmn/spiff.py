"""What Yizhan adds to SpiffWorkflow: the joint task, the parser, the serializer.

* ``JointTask``: the parallel multi-instance task of a ``$joint`` lane,
  one instance per joint agency.  Each instance receives its agency id in
  ``joint_agency``; each instance's ``opinion`` is collected, in the order
  the agencies answer, into ``joint_opinions``.
* ``ParallelGateway``: SpiffWorkflow's, except that at a join a branch's
  rejection (``opinion`` "reject") is not overwritten by another branch's
  approval.
* ``YizhanParser``: SpiffWorkflow's BPMN parser with the user task parser
  that builds ``JointTask`` and the gateway above.  It only ever sees
  documents that ``yizhan.bpmn.loader`` has already checked.
* ``spec_to_dict``/``spec_from_dict`` and ``dump_state``/``load_state``:
  the process specification is serialized once, and a workflow's state is
  serialized *without* it (SpiffWorkflow's own serializer always embeds the
  whole specification in every workflow).
"""

from __future__ import annotations

import json
import threading
from uuid import UUID

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.task_parsers import GatewayParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    MultiInstanceTaskConverter,
    ParallelGatewayConverter,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs import defaults
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import ParallelMultiInstanceTask, UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from yizhan.bpmn.engine import SAFE_ENGINE

VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY
JOINT_AGENCIES = "joint_agencies"
JOINT_AGENCY = "joint_agency"
JOINT_OPINIONS = "joint_opinions"
OPINION = "opinion"
REJECT = "reject"
# The data names a process reads that no applicant or script provides: the
# decision each user task is completed with (``opinion``, the case engine's
# approve/reject) and the joint agencies with their opinions (the runtime's).
ENGINE_NAMES = frozenset({OPINION, JOINT_AGENCIES, JOINT_AGENCY, JOINT_OPINIONS})

__all__ = [
    "ENGINE_NAMES",
    "JOINT_AGENCIES",
    "JOINT_AGENCY",
    "JOINT_OPINIONS",
    "OPINION",
    "REJECT",
    "SPIFF_SERIALIZER_VERSION",
    "VERSION_KEY",
    "JointTask",
    "ParallelGateway",
    "YizhanParser",
    "dump_state",
    "load_state",
    "new_workflow",
    "spec_from_dict",
    "spec_to_dict",
    "split_of",
]


class JointTask(ParallelMultiInstanceTask):
    """One instance per joint agency, in parallel; opinions are collected.

    Before the instances are made, an ``opinion`` left in the data by an
    earlier step is dropped (it is not any joint agency's opinion, and
    SpiffWorkflow refuses an output item that already exists) and
    ``joint_opinions`` starts empty, so a second joint stage in the same
    process starts afresh.
    """

    def create_children(self, my_task):
        my_task.data.pop(OPINION, None)
        my_task.data[JOINT_OPINIONS] = []
        super().create_children(my_task)


class ParallelGateway(defaults.ParallelGateway):
    """A parallel gateway at whose join a rejection holds.

    A join merges the data of the branches one over another, the branch
    that arrived last on top (SpiffWorkflow's ``UnstructuredJoin._run_hook``):
    of two agencies reviewing in explicit branches, each completing its task
    with ``opinion``, only the later decision would reach the gateway after
    the join, and an objection raised first would be lost, the licence
    granted over it.  So when any branch arriving at this join in this pass
    carries ``opinion`` "reject", the merged ``opinion`` is "reject"
    (docs/processes.md, "Data conventions").

    A join also waits only for the branches of this pass: SpiffWorkflow's
    own count takes in the tasks an earlier pass left at the join (a case
    sent back to before the split by the gateway after it), and the join
    would go on as soon as the first branch of the next pass arrived.

    The class keeps SpiffWorkflow's name: a stored specification names its
    gateways by it, and is restored onto this class.
    """

    def _check_threshold_unstructured(self, my_task):
        # SpiffWorkflow's check, with the tasks of earlier passes left out.
        split = split_of(my_task)
        waiting = set(self.inputs)
        for task in my_task.workflow.get_tasks(spec_name=self.name):
            if task.is_descendant_of(my_task):
                # A join inside a loop: the next pass is predicted below this
                # task; the branch it comes by is not waited for.
                node = task
                while node is not None and node.task_spec not in waiting:
                    node = node.parent
                if node is not None:
                    waiting.discard(node.task_spec)
            elif (task.parent.has_state(TaskState.COMPLETED)
                  and _this_pass(task, my_task, split)):
                waiting.discard(task.parent.task_spec)
        return not waiting

    def _run_hook(self, my_task):
        super()._run_hook(my_task)
        if len(self.inputs) > 1 and any(
                data.get(OPINION) == REJECT for data in _arrived(my_task)):
            my_task.data[OPINION] = REJECT
        return True


def _arrived(join):
    """The data of each branch that reached ``join`` (a join's task) in this pass.

    SpiffWorkflow gives each arriving branch a task of the join under the
    branch's last task: the earlier ones wait and are cancelled when the
    next arrives, the last one runs.  Those of an earlier pass (a loop back
    to before the split) stay in the tree; only those below the split that
    opened this pass count.
    """
    yield join.parent.data
    split = split_of(join)
    for task in join.workflow.get_tasks(spec_name=join.task_spec.name,
                                        state=TaskState.FINISHED_MASK):
        if (task is not join and task.parent.has_state(TaskState.COMPLETED)
                and _this_pass(task, join, split)):
            yield task.parent.data


def _this_pass(task, join, split) -> bool:
    """Whether ``task``, of the same join as the join task ``join``, belongs to
    the pass opened by ``split`` (``split_of(join)``)."""
    if split is not None:
        return task is join or task.is_descendant_of(split)
    # Branches that do not nest: SpiffWorkflow's own rule, earlier passes
    # being the join tasks above this one.
    return not join.is_descendant_of(task)


def split_of(join):
    """The task of the parallel gateway that opened the stage the join task
    ``join`` closes, or None (a graph whose branches do not nest).

    Walking up the task tree from the branch that reached the join, each
    join passed opens a stage nested in this one, which its split closes.
    """
    depth = 0
    node = join.parent
    while node is not None:
        spec = node.task_spec
        if isinstance(spec, defaults.ParallelGateway):
            # A gateway both joining and splitting is met as a split first.
            if len(spec.outputs) > 1:
                if depth == 0:
                    return node
                depth -= 1
            if len(spec.inputs) > 1:
                depth += 1
        node = node.parent
    return None


class _UserTaskParser(TaskParser):
    """Builds a ``JointTask`` where the document has a multi-instance marker.

    The loader allows the marker only on ``$joint`` tasks, parallel, with
    at most a ``completionCondition``; the collection, the item and the
    output are always the ones named above, so a person drawing the process
    never types them.
    """

    def _add_multiinstance_task(self, loop_characteristics):
        condition = self.xpath("./bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition")
        condition = condition[0].text.strip() if condition and condition[0].text else None
        original = self.spec.task_specs.pop(self.task.name)
        self.task = JointTask(
            self.spec,
            original.name,
            task_spec="",
            data_input=TaskDataReference(JOINT_AGENCIES),
            data_output=TaskDataReference(JOINT_OPINIONS),
            input_item=TaskDataReference(JOINT_AGENCY),
            output_item=TaskDataReference(OPINION),
            condition=condition,
            description="Joint Task",
        )
        self._copy_task_attrs(original, loop_characteristics)


class YizhanParser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        full_tag("userTask"): (_UserTaskParser, UserTask),
        full_tag("parallelGateway"): (GatewayParser, ParallelGateway),
    }


class _StateConverter(BpmnWorkflowConverter):
    """A ``BpmnWorkflow`` without its specification, restored onto a given one."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None):
        if spec is None:
            raise ValueError("the process specification is required to restore a workflow")
        workflow = self.target_class(spec, {}, script_engine=SAFE_ENGINE, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_CONFIG = {
    **{cls: converter for cls, converter in DEFAULT_CONFIG.items()
       if cls is not defaults.ParallelGateway},
    BpmnWorkflow: _StateConverter,
    JointTask: MultiInstanceTaskConverter,
    ParallelGateway: ParallelGatewayConverter,
}


class _Serializer(threading.local):
    """One registry per thread: SpiffWorkflow toggles a flag on it while encoding."""

    def __init__(self):
        self.registry = BpmnWorkflowSerializer.configure(_CONFIG)
        self.encoder = create_encoder(self.registry, None)


_serializer = _Serializer()


def spec_to_dict(spec) -> dict:
    return _serializer.registry.convert(spec)


def spec_from_dict(dct: dict):
    """Restore a specification; ``dct`` is consumed (the registry pops keys)."""
    return _serializer.registry.restore(dct)


def new_workflow(spec) -> BpmnWorkflow:
    return BpmnWorkflow(spec, script_engine=SAFE_ENGINE)


def dump_state(workflow: BpmnWorkflow, extra: dict) -> str:
    """The workflow as JSON, without its specification; ``extra`` is added on top."""
    registry = _serializer.registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
        dct[VERSION_KEY] = SPIFF_SERIALIZER_VERSION
        dct.update(extra)
        return json.dumps(dct, cls=_serializer.encoder, ensure_ascii=False,
                          separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load_state(dct: dict, spec) -> BpmnWorkflow:
    """Restore a workflow from ``dump_state``'s dict (already checked) onto ``spec``."""
    return _serializer.registry.restore(dct, spec=spec)
