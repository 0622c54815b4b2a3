"""The standard processes shipped with Yizhan, as BPMN 2.0 files.

They are ordinary uploads: drawn with lanes and diagram interchange so they
open in bpmn.io and Camunda Modeler, and loaded through ``load_process``
like any other file.  See docs/processes.md for what each one does.
"""

from __future__ import annotations

from importlib import resources

from django.utils.translation import pgettext_lazy

from yizhan.bpmn.definition import ProcessDefinition
from yizhan.bpmn.loader import load_process

IMMEDIATE = "immediate"        # 即办件
PROMISED = "promised"          # 承诺件
PARALLEL = "parallel"          # 并联件
UPPER_REVIEW = "upper_review"  # 上级初审

TEMPLATES = (IMMEDIATE, PROMISED, PARALLEL, UPPER_REVIEW)
# The supervision office's own cases (监察督办): not offered for catalog items.
NOTICE = "notice"
INTERNAL_TEMPLATES = (NOTICE,)


# The names of the standard templates' user tasks, for the pages in other
# languages: a task keeps its process's name (``Task.title``), which for
# these is the platform's own wording, not an agency's.  A test keeps the
# table in step with the files.
STEP_TITLES = {
    "受理": pgettext_lazy("step", "受理"),
    "审查": pgettext_lazy("step", "审查"),
    "决定": pgettext_lazy("step", "决定"),
    "受理并当场办结": pgettext_lazy("step", "受理并当场办结"),
    "主办机关审查": pgettext_lazy("step", "主办机关审查"),
    "会同审查": pgettext_lazy("step", "会同审查"),
    "联合决定": pgettext_lazy("step", "联合决定"),
    "初审并转报上级": pgettext_lazy("step", "初审并转报上级"),
    "上级审查": pgettext_lazy("step", "上级审查"),
    "上级决定": pgettext_lazy("step", "上级决定"),
    "送达准予决定": pgettext_lazy("step", "送达准予决定"),
    "送达不予许可决定": pgettext_lazy("step", "送达不予许可决定"),
    "整改回复": pgettext_lazy("step", "整改回复"),
    "审核回复": pgettext_lazy("step", "审核回复"),
}


def step_title(title: str) -> str:
    """``title`` in the current language when it is a standard template's."""
    translated = STEP_TITLES.get(title)
    return str(translated) if translated is not None else title


def template_xml(name: str) -> bytes:
    """The BPMN file of a standard template."""
    if name not in TEMPLATES and name not in INTERNAL_TEMPLATES:
        raise KeyError(name)
    return resources.files("yizhan.bpmn").joinpath("templates", f"{name}.bpmn").read_bytes()


def load_template(name: str) -> ProcessDefinition:
    """Load a standard template (they name only symbolic agencies)."""
    return load_process(template_xml(name), resolve_agency=_no_named_agencies)


def _no_named_agencies(name: str) -> bool:
    return False
