"""Tags every template has (``TEMPLATES["OPTIONS"]["builtins"]``)."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template, or "" when absent."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


class _ScrollRegion(template.Node):
    def __init__(self, label, nodelist):
        self.label = label
        self.nodelist = nodelist

    def render(self, context):
        return format_html(
            '<div class="table-scroll" role="region" tabindex="0" aria-label="{}">{}</div>',
            self.label.resolve(context), self.nodelist.render(context))


@register.tag
def scrollregion(parser, token):
    """``{% scrollregion _("标签") %}<table>…</table>{% endscrollregion %}``

    A table wider than a phone scrolls in its own box rather than the whole
    page sideways; the box is a labelled region the keyboard can reach, so
    that it can be scrolled without a mouse (WCAG 2.1.1).
    """
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("scrollregion takes one argument, its label")
    nodelist = parser.parse(("endscrollregion",))
    parser.delete_first_token()
    return _ScrollRegion(parser.compile_filter(bits[1]), nodelist)
