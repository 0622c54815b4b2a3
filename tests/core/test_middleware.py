"""Request ids and security headers.

Each request gets an id, echoed in ``X-Request-ID``: a well-formed id from a
trusted proxy is kept, anything else replaced.  Every audit record written while
serving the request carries that id.
"""

import json
import re

import pytest

from tests.factories import PASSWORD, valid_id_number
from yizhan.accounts.actions import AccountsAction
from yizhan.audit.models import AuditRecord
from yizhan.core import context
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.roles import Role

GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def behind_proxy(settings):
    """The test client's address (127.0.0.1) is a trusted proxy's."""
    settings.YIZHAN_TRUSTED_PROXIES = ["127.0.0.0/8"]


@pytest.mark.parametrize("incoming", ["proxy-0001-abcdef", "A1b2C3d4", "x" * 64,
                                      "0af7651916cd43dd8448eb211c80319c", "trace.id_42-x"])
def test_well_formed_incoming_id_is_kept(db, client, settings, incoming):
    """An id of 8 to 64 safe characters from a trusted proxy is echoed unchanged."""
    settings.YIZHAN_TRUSTED_PROXIES = ["127.0.0.0/8"]
    response = client.get("/", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] == incoming


def test_an_id_from_anyone_but_a_trusted_proxy_is_replaced(db, client):
    """A client could otherwise file its actions under someone else's request id."""
    response = client.get("/", HTTP_X_REQUEST_ID="proxy-0001-abcdef")
    assert GENERATED.match(response["X-Request-ID"])


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("203.0.113.9", "", "203.0.113.9"),                   # no proxy configured in front
    ("203.0.113.9", "198.51.100.7", "203.0.113.9"),       # a client's own header: ignored
    ("10.0.0.5", "198.51.100.7", "198.51.100.7"),         # through the proxy
    ("10.0.0.5", "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the client chose "1.2.3.4"
    ("10.0.0.5", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # two proxies
    ("10.0.0.5", "not-an-address", "10.0.0.5"),
    ("10.0.0.5", "", "10.0.0.5"),
])
def test_the_client_address_is_the_one_the_trusted_proxy_saw(settings, rf, remote, forwarded,
                                                             expected):
    from yizhan.core.middleware import client_ip

    settings.YIZHAN_TRUSTED_PROXIES = ["10.0.0.5", "10.1.0.0/16", "bad entry"]
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize("incoming", ["", "short", "x" * 65, "has space in it",
                                      "evil\r\nSet-Cookie:x", "<script>alert(1)</script>",
                                      "请求号一二三四五六七八"])
def test_malformed_incoming_id_is_replaced(db, client, incoming):
    """Anything else is replaced by a fresh id."""
    response = client.get("/", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming
    assert GENERATED.match(response["X-Request-ID"])


def test_each_request_gets_its_own_id(db, client):
    """Without an incoming id, two requests get two different ids."""
    first = client.get("/")["X-Request-ID"]
    second = client.get("/")["X-Request-ID"]
    assert GENERATED.match(first) and GENERATED.match(second)
    assert first != second


def test_api_errors_echo_the_request_id(db, client, behind_proxy):
    """The id in an error body is the one in the header, kept from the proxy."""
    response = client.get("/api/v1/accounts/me", HTTP_X_REQUEST_ID="proxy-trace-401")
    assert response.status_code == 401
    assert response["X-Request-ID"] == "proxy-trace-401"
    assert response.json()["request_id"] == "proxy-trace-401"


def test_api_write_carries_the_request_id(world, client_for, behind_proxy):
    """The record of an API write has the request's id and source api."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    before = set(AuditRecord.objects.values_list("id", flat=True))
    response = client.post(
        "/api/v1/directory/applicants",
        data=json.dumps({"kind": "person", "name": "赵六", "id_number": valid_id_number(seq=401)}),
        content_type="application/json", HTTP_X_REQUEST_ID="api-request-0001",
    )
    assert response.status_code == 201
    new = AuditRecord.objects.exclude(id__in=before)
    assert [(r.action, r.request_id, r.source) for r in new] == [
        (DirectoryAction.APPLICANT_REGISTERED, "api-request-0001", "api")]


def test_every_record_of_one_request_carries_its_id(db, client, behind_proxy):
    """Signing up on the page writes two records, both with the request's id."""
    response = client.post("/accounts/register/", {
        "username": "wangwu", "full_name": "王五", "id_number": valid_id_number(seq=402),
        "password": PASSWORD, "email": "",
    }, HTTP_X_REQUEST_ID="page-request-0001")
    assert response.status_code == 302, response.content.decode()
    assert response["X-Request-ID"] == "page-request-0001"
    records = AuditRecord.objects.filter(request_id="page-request-0001")
    assert {r.action for r in records} == {AccountsAction.USER_CREATED,
                                           DirectoryAction.APPLICANT_REGISTERED}
    assert {r.source for r in records} == {"web"}
    assert AuditRecord.objects.count() == 2


def test_generated_id_is_the_one_on_the_records(db, client):
    """With no incoming id, the records carry the id sent back in the header."""
    response = client.post("/accounts/register/", {
        "username": "zhaoliu", "full_name": "赵六", "id_number": valid_id_number(seq=403),
        "password": PASSWORD,
    })
    assert response.status_code == 302
    ids = set(AuditRecord.objects.values_list("request_id", flat=True))
    assert ids == {response["X-Request-ID"]}


def test_separate_requests_have_separate_ids(world, client_for):
    """Two requests' records do not share an id."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    before = set(AuditRecord.objects.values_list("id", flat=True))
    for seq in (404, 405):
        client.post("/api/v1/directory/applicants",
                    data=json.dumps({"kind": "person", "name": "某人",
                                     "id_number": valid_id_number(seq=seq)}),
                    content_type="application/json")
    new = AuditRecord.objects.exclude(id__in=before)
    assert new.count() == 2
    assert len({r.request_id for r in new}) == 2


def test_context_outside_a_request_is_the_system_with_fresh_ids():
    """Outside a request each call gets a new id, so records are never grouped wrongly."""
    first, second = context.current(), context.current()
    assert first.source == second.source == "system"
    assert first.request_id != second.request_id


def test_context_is_restored_after_a_request(db, client):
    """The request's context does not leak into code that runs afterwards."""
    client.get("/", HTTP_X_REQUEST_ID="leak-check-0001")
    assert context.current().request_id != "leak-check-0001"
    assert context.current().source == "system"


def test_page_has_security_headers(db, client):
    """Pages forbid foreign content, sniffing and framing."""
    response = client.get("/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_error_pages_and_api_have_security_headers(world, client_for):
    """Refusals and API answers carry the same headers."""
    page = client_for(world.citizen).get("/workbench/audit/")
    assert page.status_code == 403
    api = client_for(None).get("/api/v1/directory/divisions")
    assert api.status_code == 200
    for response in (page, api):
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"
