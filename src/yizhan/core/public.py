"""The platform's addresses as the public sees them.

Links that leave the platform (in an e-mail, an SMS, a certificate's QR
code, a password-reset message) are made from ``YIZHAN_PUBLIC_URL``, never
from the request's Host header, which a proxy or another allowed host may
have set.
"""

from django.conf import settings
from django.urls import reverse


def public_url(name: str, *args) -> str:
    """The absolute address of the page ``name`` (a URL name)."""
    return settings.YIZHAN_PUBLIC_URL.rstrip("/") + reverse(name, args=args)
