"""Middleware: request ids and the Content-Security-Policy header."""

import functools
import ipaddress
import re

from django.conf import settings

from yizhan.core import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# Everything under it is the JSON API: its requests are recorded as such,
# and every failure under it is answered in the API's error shape.
API_PREFIX = "/api/"


def is_api_request(request) -> bool:
    return request.path.startswith(API_PREFIX)


def parse_proxies(entries) -> tuple[tuple, list[str]]:
    """``YIZHAN_TRUSTED_PROXIES`` read: the networks, and the entries that are none.

    ``yizhan check`` reports the latter (core.E004); trusted they are not.
    """
    networks, invalid = [], []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            invalid.append(entry)
    return tuple(networks), invalid


@functools.cache
def _proxies(configured: tuple[str, ...]) -> tuple:
    return parse_proxies(configured)[0]


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


def throttle_address(ip: str | None) -> str | None:
    """The address failures are counted against: an IPv6 client's /64.

    One IPv6 host commonly holds a whole /64 and can use a new address for
    every try, so a count per address would never fill.  Every throttle
    (sign-in, the public status query) counts by this.
    """
    address = _address(ip or "")
    if address is None:
        return None
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


class RequestIdMiddleware:
    """Give each request an id, echo it in ``X-Request-ID``, and expose it.

    A well-formed id from a trusted proxy is kept so logs of the proxy and
    the platform line up; anything else is replaced (a client could
    otherwise give its actions the id of someone else's).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = (incoming if _SAFE_ID.match(incoming)
                      and _trusted(_address(request.META.get("REMOTE_ADDR") or ""))
                      else context.new_request_id())
        request.request_id = request_id
        source = "api" if is_api_request(request) else "web"
        token = context.activate(context.RequestContext(request_id=request_id, source=source))
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
