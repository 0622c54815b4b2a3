"""Template helpers of the case pages."""

from django import template
from django.utils.translation import gettext as _

from yizhan.directory.identifiers import mask_name

register = template.Library()


@register.filter
def step(title):
    """A task's title in the page's language (the standard templates' steps)."""
    from yizhan.bpmn.templates import step_title

    return step_title(title)


@register.simple_tag(takes_context=True)
def event_shown(context, event):
    """What the timeline tells of ``event`` on the applicant's page (``applicant_view``)
    or on a staff page: ``selectors.event_shown``, which the API follows too."""
    from yizhan.cases import selectors

    return selectors.event_shown(event, staff=not context.get("applicant_view"))


@register.filter
def public_name(applicant):
    """The applicant's name on the public status page: a person's masked (张*).

    Anyone holding a case number and its query code reads that page, so it
    says no more of a person than the applicant needs to recognise the case.
    """
    if applicant.kind == "person":
        return mask_name(applicant.name)
    return applicant.name


@register.filter
def answer(case, field):
    """An application answer for display: 是/否 for yes-no fields."""
    value = (case.data or {}).get(field["name"], "")
    if field["type"] == "boolean":
        return _("是") if value else _("否")
    return value


@register.filter
def pause_reason(key):
    """The label of a reason the clock stopped for (``clock.PAUSE_REASONS``)."""
    from yizhan.cases.clock import PAUSE_REASONS

    return PAUSE_REASONS.get(key, key)


@register.filter
def magnitude(number):
    """A number without its sign: 已超期 3 个工作日, not -3."""
    return abs(number)
