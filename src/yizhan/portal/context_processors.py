"""Display preferences (large text, high contrast) and what every page's
footer says of the site, for every template.

The preferences are kept in cookies so they persist across pages and
sessions without an account: an older citizen who enlarges the text once
keeps it.
"""

from django.conf import settings

from yizhan import demo

DISPLAY_COOKIE = "yz_display"
CONTRAST_COOKIE = "yz_contrast"


def display(request):
    return {
        "large_text": request.COOKIES.get(DISPLAY_COOKIE) == "large",
        "high_contrast": request.COOKIES.get(CONTRAST_COOKIE) == "high",
        "site_name": settings.YIZHAN_SITE_NAME,
        **site_footer(),
    }


def site_footer() -> dict:
    """Who answers for the site (主办) and who runs it (承办), as the
    installation names them, and whether it is the demo city, whose pages
    say that its agencies and people are fictitious.  An installation that
    names no office gets none named; the demo names its own unless the
    installation does."""
    is_demo = demo.is_loaded_cached()
    return {
        "site_owner": settings.YIZHAN_SITE_OWNER or (demo.SITE_OWNER if is_demo else ""),
        "site_operator": (settings.YIZHAN_SITE_OPERATOR
                          or (demo.SITE_OPERATOR if is_demo else "")),
        "site_is_demo": is_demo,
    }
