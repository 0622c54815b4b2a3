"""Stable error codes of the BPMN process layer."""

from enum import StrEnum


class BpmnErrorCode(StrEnum):
    INVALID = "bpmn.invalid"
    INVALID_CALL = "bpmn.invalid_call"
    TASK_NOT_READY = "bpmn.task_not_ready"
    RUNTIME = "bpmn.runtime"
    BAD_STATE = "bpmn.bad_state"
