"""The BPMN process layer: load checked BPMN 2.0 processes and run them.

A library, not a Django app: no models, no database.  The case engine
stores ``ProcessDefinition.spec_json`` once per item version and
``Step.state_json`` once per case, and calls::

    definition = load_process(xml, resolve_agency=agency_exists)
    step = start(definition.spec_json, data={...}, agencies={"$accepting": 3})
    step = complete(definition.spec_json, step.state_json,
                    task_id=step.ready[0].task_id, data={"opinion": "approve"})

See docs/processes.md for the conventions (lanes, symbolic agencies,
outcomes, conditions) and the reasons behind them.
"""

from yizhan.bpmn.definition import (
    ACCEPTING,
    JOINT,
    UPPER,
    Outcome,
    ProcessDefinition,
    TaskPost,
    task_kind,
)
from yizhan.bpmn.errors import (
    ProcessCallError,
    ProcessError,
    ProcessRuntimeError,
    ProcessStateError,
    TaskNotReady,
)
from yizhan.bpmn.loader import (
    MAX_BYTES,
    ProcessOutline,
    load_process,
    outline_process,
    process_text,
)
from yizhan.bpmn.runtime import (
    ReadyTask,
    Step,
    check_data,
    clear_spec_cache,
    complete,
    current,
    revise_data,
    send_back,
    spec_cache_info,
    start,
)
from yizhan.bpmn.spiff import ENGINE_NAMES
from yizhan.bpmn.templates import TEMPLATES, load_template, template_xml

__all__ = [
    "ACCEPTING",
    "ENGINE_NAMES",
    "JOINT",
    "MAX_BYTES",
    "TEMPLATES",
    "UPPER",
    "Outcome",
    "ProcessCallError",
    "ProcessDefinition",
    "ProcessError",
    "ProcessOutline",
    "ProcessRuntimeError",
    "ProcessStateError",
    "ReadyTask",
    "Step",
    "TaskNotReady",
    "TaskPost",
    "check_data",
    "clear_spec_cache",
    "complete",
    "current",
    "load_process",
    "load_template",
    "outline_process",
    "process_text",
    "revise_data",
    "send_back",
    "spec_cache_info",
    "start",
    "task_kind",
    "template_xml",
]
