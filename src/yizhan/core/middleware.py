"""Middleware: request ids and the Content-Security-Policy header."""

import re

from django.conf import settings

from yizhan.core import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give each request an id, echo it in ``X-Request-ID``, and expose it.

    A well-formed id from a trusted proxy is kept so logs of the proxy and
    the platform line up; anything else is replaced.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else context.new_request_id()
        request.request_id = request_id
        source = "api" if request.path.startswith("/api/") else "web"
        token = context.activate(
            context.RequestContext(
                request_id=request_id,
                source=source,
                ip=request.META.get("REMOTE_ADDR"),
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = request_id
        return response


class ContentSecurityPolicyMiddleware:
    """Everything the platform serves comes from itself: say so to browsers.

    No page loads scripts, styles or fonts from elsewhere (no CDN), so the
    policy can forbid it outright.
    """

    POLICY = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Django's own debug pages use inline styles; leave them readable.
        if not (settings.DEBUG and response.status_code >= 500):
            response.setdefault("Content-Security-Policy", self.POLICY)
        return response
