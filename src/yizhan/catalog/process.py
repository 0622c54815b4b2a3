"""Compiling an item version's process, once, when the version is published.

Standard templates and uploaded BPMN files go through the same checked
loader (``yizhan.bpmn.load_process``); the serialized specification is
stored on the version and every case of that version runs on it.
"""

from django.utils.translation import gettext_lazy as _

from yizhan.bpmn import ProcessDefinition, load_process
from yizhan.bpmn.errors import Detail
from yizhan.bpmn.templates import TEMPLATES, template_xml
from yizhan.catalog.models import ProcessTemplate
from yizhan.directory.models import Agency


def named_agency(name: str) -> Agency | Detail | None:
    """The one active agency a lane names, the reason it cannot be used, or None.

    Agency names are unique only under one parent (two agencies may each
    have a unit "审批科"), and the case engine routes a lane's tasks to the
    agency of that name: a name that is not one active agency's would send
    them to another agency, or to one that no longer works.  Asked when the
    process is published and again when a case starts, since agencies are
    renamed, added and closed in between.
    """
    active = list(Agency.objects.filter(name=name, is_active=True)[:2])
    if len(active) == 1:
        return active[0]
    if active:
        return Detail(_("有多个在用的机关同名，无法确定是哪一个"))
    if Agency.objects.filter(name=name).exists():
        return Detail(_("该机关已停用"))
    return None


def _agency_exists(name: str):
    """For the loader: True, False (no such agency) or the reason it cannot be named."""
    found = named_agency(name)
    return found if isinstance(found, Detail) else found is not None


def compile_process(version) -> str:
    """The specification JSON of ``version``'s process (raises ``ProcessError``)."""
    return process_definition(version).spec_json


def process_definition(version) -> ProcessDefinition:
    """``version``'s process, loaded (raises ``ProcessError``)."""
    return compile_definition(process_file(version))


def process_file(version) -> bytes | str:
    """The BPMN file of ``version``'s process: its template's or its uploaded one."""
    if version.process_template == ProcessTemplate.CUSTOM:
        # Passed as text: the loader refuses what has no UTF-8 form.
        return version.process_xml
    if version.process_template in TEMPLATES:
        return template_xml(version.process_template)
    raise ValueError(f"unknown process template {version.process_template!r}")


def compile_definition(xml: bytes | str) -> ProcessDefinition:
    """The loaded process of a BPMN file (raises ``ProcessError``)."""
    return load_process(xml, resolve_agency=_agency_exists)
