"""The standard templates' step names are the platform's wording, translated."""

import re

from django.utils import translation

from yizhan.bpmn.templates import (
    INTERNAL_TEMPLATES,
    STEP_TITLES,
    TEMPLATES,
    step_title,
    template_xml,
)


def test_every_step_of_the_standard_templates_has_a_translated_title():
    """A step added to a shipped template without a title here would show in Chinese."""
    names = set()
    for name in (*TEMPLATES, *INTERNAL_TEMPLATES):
        names |= set(re.findall(rb'<bpmn:userTask id="[^"]*" name="([^"]*)"', template_xml(name)))
    assert {n.decode() for n in names} == set(STEP_TITLES)
    with translation.override("en"):
        for title in STEP_TITLES:
            assert not re.search(r"[\u4e00-\u9fff]", step_title(title)), title
        assert step_title("科室初核") == "科室初核"   # an agency's own wording stays
