"""Errors of the BPMN process layer.

All are ``ApplicationError`` subclasses with a code from
``BpmnErrorCode``.  A message template names its placeholders and the
values travel in ``fields``; a reason that has placeholders of its own is a
``Detail``, rendered only when the message is, so that it follows the
language of the message (``as_dict`` renders Chinese and English).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from yizhan.bpmn.error_codes import BpmnErrorCode
from yizhan.core.errors import ApplicationError, InvalidInput


class Detail:
    """A translatable template with its parameters, rendered on ``str()``."""

    __slots__ = ("params", "template")

    def __init__(self, template, **params):
        self.template = template
        self.params = params

    def __str__(self) -> str:
        text = str(self.template)
        if not self.params:
            return text
        try:
            return text % {k: str(v) for k, v in self.params.items()}
        except (KeyError, TypeError, ValueError):
            return text

    def __repr__(self) -> str:
        return f"Detail({self.template!r}, {self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Detail) and (
            str(self.template), self.params) == (str(other.template), other.params)

    def __hash__(self) -> int:
        return hash(str(self.template))


class ProcessError(InvalidInput):
    """An uploaded BPMN file is refused (or a stored definition is unusable).

    ``fields`` carry ``element`` (the id and name of the offending element,
    when there is one) and whatever the message names.
    """

    code = BpmnErrorCode.INVALID
    message = _("流程文件无效。")


class ProcessCallError(InvalidInput):
    """The caller passed data or agencies the runtime cannot accept."""

    code = BpmnErrorCode.INVALID_CALL
    message = _("流程调用参数有误。")


class TaskNotReady(ApplicationError):
    """The task to complete is not waiting (done, cancelled or unknown)."""

    code = BpmnErrorCode.TASK_NOT_READY
    message = _("任务 %(task_id)s 不是待办任务，可能已由他人办理或已被撤销。")
    http_status = 409


class ProcessRuntimeError(ApplicationError):
    """The engine could not go on: a condition failed, no gateway exit matched ..."""

    code = BpmnErrorCode.RUNTIME
    message = _("流程运行出错：%(detail)s")
    http_status = 422


class ProcessStateError(ApplicationError):
    """The stored state does not belong to this process or cannot be read."""

    code = BpmnErrorCode.BAD_STATE
    message = _("流程状态无法读取：%(detail)s")
    http_status = 500
