"""The standard processes shipped with Yizhan, as BPMN 2.0 files.

They are ordinary uploads: drawn with lanes and diagram interchange so they
open in bpmn.io and Camunda Modeler, and loaded through ``load_process``
like any other file.  See docs/processes.md for what each one does.
"""

from __future__ import annotations

from importlib import resources

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
