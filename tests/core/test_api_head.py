"""HEAD is answered wherever GET is: the GET's status and headers, no body.

Monitoring and link checkers ask with HEAD (RFC 9110 §9.3.2); the API
answers it as its GET, with the same authentication and errors, and
without a second operation in the OpenAPI document.
"""

import re

import pytest
from django.test import RequestFactory
from django.urls import resolve

from tests.api import api_error as _error
from yizhan.directory.roles import Role

# Headers that differ between any two requests, whatever their method.
_PER_REQUEST = {"X-Request-ID", "Date"}


def _headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in _PER_REQUEST}


def _same_answer(client, path: str, **extra):
    got = client.get(path, **extra)
    head = client.head(path, **extra)
    assert head.status_code == got.status_code, (path, head.status_code, got.content)
    assert _headers(head) == _headers(got), path
    assert head["Content-Length"] == str(len(got.content)), path
    assert head.content == b""
    return got


def _get_paths(schema) -> list[str]:
    """Every GET operation's path, its parameters filled with an id nothing has."""
    return [re.sub(r"\{[^}]+\}", "987654", path)
            for path, operations in schema["paths"].items() if "get" in operations]


def test_every_get_operation_answers_head_as_its_get(world, client_for, client):
    """Anonymous and signed-in: the same status (200, 400, 401, 403, 404) and headers."""
    paths = _get_paths(client.get("/api/v1/openapi.json").json())
    assert len(paths) > 20
    for who in (None, world.user("a", Role.AGENCY_HEAD)):
        signed = client_for(who)
        for path in paths:
            _same_answer(signed, path)


def test_head_is_authenticated_like_get(world, client_for):
    _same_answer(client_for(world.citizen), "/api/v1/accounts/me")
    got = _same_answer(client_for(None), "/api/v1/accounts/me")
    _error(got, 401, "core.not_authenticated")
    got = _same_answer(client_for(None), "/api/v1/accounts/me",
                       HTTP_AUTHORIZATION="Bearer yz_deadbeef_nothing")
    _error(got, 401, "accounts.bad_token")


def test_head_answers_a_list_with_its_length(world, client_for):
    got = _same_answer(client_for(None), "/api/v1/directory/agencies")
    assert got.json()


def test_the_api_drops_the_body_itself():
    """The test client drops a HEAD's body as web servers do; the API does not rely on it."""
    request = RequestFactory().head("/api/v1/openapi.json")
    response = resolve(request.path).func(request)
    assert response.status_code == 200
    assert response.content == b""
    assert int(response["Content-Length"]) > 1000
    assert request.method == "HEAD"


def test_head_on_a_route_without_get_is_refused_naming_what_it_takes(world, client_for):
    response = client_for(world.citizen).head("/api/v1/cases/1/submit")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.content == b""
    body = _error(client_for(world.citizen).put("/api/v1/cases/1/submit"), 405,
                  "core.method_not_allowed")
    assert "HEAD" not in body["message_en"]


def test_a_route_that_takes_get_lists_head_among_its_methods(world, client_for):
    response = client_for(world.citizen).delete("/api/v1/cases/mine")
    body = _error(response, 405, "core.method_not_allowed")
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD"}
    assert "HEAD" in body["message_en"] and "GET" in body["message_en"]


@pytest.mark.parametrize("method", ["head", "options", "trace"])
def test_the_openapi_document_lists_no_head_operations(client, method):
    schema = client.get("/api/v1/openapi.json").json()
    assert not [path for path, operations in schema["paths"].items() if method in operations]
