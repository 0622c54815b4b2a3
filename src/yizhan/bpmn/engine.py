"""The script engine SpiffWorkflow runs with: no ``eval``, no ``exec``.

SpiffWorkflow evaluates every condition and script through
``workflow.script_engine`` (and a few places, such as ad hoc subprocesses,
go straight to ``script_engine.environment``).  ``SAFE_ENGINE`` replaces
both with ``yizhan.bpmn.expressions``; every workflow the runtime creates or
restores is given this engine, so SpiffWorkflow's ``PythonScriptEngine``
is never used.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from yizhan.bpmn import expressions

_SERVICE_REFUSED = _("不支持调用外部服务。")


class TaskExpressionError(Exception):
    """An ``ExpressionError`` raised while the engine ran ``element``."""

    def __init__(self, element: str, detail):
        self.element = element
        self.detail = detail
        super().__init__(element, detail)

    def __str__(self) -> str:
        return f"{self.element}: {self.detail}"


def _element(task) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_id", None) or spec.name


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates with the whitelisted evaluator, over the task data only."""

    def evaluate(self, expression, context, external_context=None):
        if external_context:
            # Data objects; names in the task data win, as in SpiffWorkflow.
            context = {**external_context, **context}
        return expressions.evaluate(expression, context)

    def execute(self, script, context, external_context=None):
        expressions.execute(script, context)
        return True

    def call_service(self, context, **kwargs):
        raise expressions.ExpressionRefused(_SERVICE_REFUSED)


class SafeScriptEngine(PythonScriptEngine):
    """A ``PythonScriptEngine`` whose every entry point uses ``SafeEnvironment``.

    Errors are not wrapped in SpiffWorkflow's exceptions: an
    ``ExpressionError`` reaches the runtime as ``TaskExpressionError`` with
    its (translatable) detail and the id of the element it happened in.
    """

    def __init__(self):
        super().__init__(environment=SafeEnvironment())

    def validate(self, expression):
        expressions.compile_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except expressions.ExpressionError as exc:
            raise TaskExpressionError(_element(task), exc.detail) from None

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context)
        except expressions.ExpressionError as exc:
            raise TaskExpressionError(_element(task), exc.detail) from None

    def call_service(self, task, **kwargs):
        raise expressions.ExpressionRefused(_SERVICE_REFUSED)


SAFE_ENGINE = SafeScriptEngine()
