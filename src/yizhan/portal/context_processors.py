"""Display preferences (large text, high contrast) for every template.

Kept in cookies so they persist across pages and sessions without an
account: an older citizen who enlarges the text once keeps it.
"""

from django.conf import settings

DISPLAY_COOKIE = "yz_display"
CONTRAST_COOKIE = "yz_contrast"


def display(request):
    return {
        "large_text": request.COOKIES.get(DISPLAY_COOKIE) == "large",
        "high_contrast": request.COOKIES.get(CONTRAST_COOKIE) == "high",
        "site_name": settings.YIZHAN_SITE_NAME,
    }
