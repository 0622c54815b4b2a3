"""Middleware: request ids and the Content-Security-Policy header."""

import contextlib
import functools
import ipaddress
import re

from django.conf import settings

from yizhan.core import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@functools.cache
def _proxies(configured: tuple[str, ...]) -> tuple:
    networks = []
    for entry in configured:
        # An entry that is no address is reported by ``yizhan check``
        # (core.E004), and trusted it is not.
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(entry, strict=False))
    return tuple(networks)


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address) -> bool:
    proxies = _proxies(tuple(settings.YIZHAN_TRUSTED_PROXIES))
    return address is not None and any(address in network for network in proxies)


def client_ip(request) -> str | None:
    """The address of the person, not of the proxy in front of the platform.

    Behind a trusted proxy it is the nearest address in X-Forwarded-For that
    no trusted proxy added: the leftmost entries are whatever the client
    chose to send.  Without a trusted proxy it is the connection's address.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not _trusted(_address(remote or "")):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for entry in reversed(forwarded):
        address = _address(entry)
        if address is None:
            return remote
        if not _trusted(address):
            return str(address)
    return remote


class RequestIdMiddleware:
    """Give each request an id, echo it in ``X-Request-ID``, and expose it.

    A well-formed id from a trusted proxy is kept so logs of the proxy and
    the platform line up; anything else is replaced (a client could
    otherwise give its actions the id of someone else's).  Sets
    ``request.client_ip`` (see ``client_ip``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        from_proxy = _trusted(_address(request.META.get("REMOTE_ADDR") or ""))
        request_id = (incoming if from_proxy and _SAFE_ID.match(incoming)
                      else context.new_request_id())
        request.request_id = request_id
        request.client_ip = client_ip(request)
        source = "api" if request.path.startswith("/api/") else "web"
        token = context.activate(
            context.RequestContext(
                request_id=request_id,
                source=source,
                ip=request.client_ip,
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
