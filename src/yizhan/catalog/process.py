"""Compiling an item version's process, once, when the version is published.

Standard templates and uploaded BPMN files go through the same checked
loader (``yizhan.bpmn.load_process``); the serialized specification is
stored on the version and every case of that version runs on it.
"""

from yizhan.bpmn import load_process
from yizhan.bpmn.templates import TEMPLATES, template_xml
from yizhan.catalog.models import ProcessTemplate
from yizhan.directory.models import Agency


def _agency_exists(name: str) -> bool:
    return Agency.objects.filter(name=name, is_active=True).exists()


def compile_process(version) -> str:
    """The specification JSON of ``version``'s process (raises ``ProcessError``)."""
    if version.process_template == ProcessTemplate.CUSTOM:
        xml = version.process_xml.encode()
    elif version.process_template in TEMPLATES:
        xml = template_xml(version.process_template)
    else:
        raise ValueError(f"unknown process template {version.process_template!r}")
    return compile_xml(xml)


def compile_xml(xml: bytes) -> str:
    """The specification JSON of a BPMN file (raises ``ProcessError``)."""
    return load_process(xml, resolve_agency=_agency_exists).spec_json
