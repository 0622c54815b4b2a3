"""The API's one error shape, and that a refused request writes nothing.

Every error leaves as ``{code, message, message_zh, message_en, fields,
request_id}``; the request id is the one echoed in ``X-Request-ID``.
"""

import json
import re

import pytest
from django.test import override_settings

from tests.api import api_error as _error
from tests.factories import valid_id_number
from yizhan.audit.models import AuditRecord
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.models import Applicant
from yizhan.directory.roles import Role

APPLICANTS = "/api/v1/directory/applicants"


def _counts():
    return AuditRecord.objects.count(), Applicant.objects.count()


@pytest.fixture
def clerk_client(world, client_for):
    return client_for(world.user("a", Role.WINDOW_CLERK))


def _post(client, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(APPLICANTS, data=data, content_type="application/json", **extra)


def test_valid_registration_writes_the_applicant_and_one_record(clerk_client):
    """The control case: a correct request registers and is audited once."""
    audits, applicants = _counts()
    response = _post(clerk_client, {"kind": "person", "name": "李四",
                                    "id_number": valid_id_number(seq=321)})
    assert response.status_code == 201
    assert response.json()["id_number_masked"].startswith("4499")
    assert _counts() == (audits + 1, applicants + 1)
    record = AuditRecord.objects.order_by("-id").first()
    assert record.action == DirectoryAction.APPLICANT_REGISTERED
    assert record.actor_label == "a.window_clerk"


@pytest.mark.parametrize("body", ["{not json", '{"kind": "person",', "\ufeff\x00", "[1, 2"])
def test_malformed_json_is_refused_and_nothing_is_written(clerk_client, body):
    """A body that is not JSON gets 400 core.malformed_json."""
    before = _counts()
    body = _error(_post(clerk_client, body), 400, "core.malformed_json")
    assert body["message_zh"] == "请求体不是有效的 JSON。"
    assert body["message_en"] == "The request body is not valid JSON."
    assert _counts() == before


def test_body_over_the_limit_is_refused_and_nothing_is_written(clerk_client):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE gets 413 core.body_too_large."""
    before = _counts()
    payload = {"kind": "person", "name": "王" * 100, "id_number": valid_id_number(seq=322)}
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=128):
        body = _error(_post(clerk_client, payload), 413, "core.body_too_large")
    assert body["fields"] == {"limit": 128}
    assert "128" in body["message_zh"]
    assert _counts() == before


def test_invalid_id_number_is_refused_in_both_languages(clerk_client):
    """A wrong check digit gets 400 directory.invalid_identifier, in Chinese and English."""
    number = valid_id_number(seq=323)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    before = _counts()
    body = _error(_post(clerk_client, {"kind": "person", "name": "李四", "id_number": wrong}),
                  400, "directory.invalid_identifier")
    assert "校验位" in body["message_zh"]
    assert body["message"] == body["message_zh"]
    assert body["message_en"] != body["message_zh"]
    assert "check digit" in body["message_en"]
    assert _counts() == before


def test_english_request_gets_the_english_message(clerk_client):
    """``message`` follows the request's language; message_zh stays Chinese."""
    body = _error(_post(clerk_client, {"kind": "person", "name": "李四", "id_number": "123"},
                        HTTP_ACCEPT_LANGUAGE="en"), 400, "directory.invalid_identifier")
    assert body["message"] == body["message_en"]
    assert body["message_zh"].startswith("身份证号码")


def test_schema_violation_names_the_field(clerk_client):
    """A missing field gets 400 core.invalid_input with the field named."""
    before = _counts()
    body = _error(_post(clerk_client, {"name": "李四"}), 400, "core.invalid_input")
    assert {"field": "kind", "problem": "必填"} in body["fields"]["problems"]
    assert _counts() == before


def test_a_missing_body_is_named_as_the_body(clerk_client):
    """No body where one is required: the problem's field is ``body`` and the message
    names the request body, not an empty field ("输入有误：: 必填")."""
    before = _counts()
    for data in ("", "[1, 2]"):
        body = _error(_post(clerk_client, data), 400, "core.invalid_input")
        problems = body["fields"]["problems"]
        assert problems and all(p["field"] for p in problems), problems
    body = _error(_post(clerk_client, ""), 400, "core.invalid_input")
    assert body["fields"]["problems"] == [{"field": "body", "problem": "必填"}]
    assert body["message_zh"] == "输入有误：请求体: 必填"
    assert _counts() == before


@pytest.mark.parametrize(("path", "english"), [
    ("/api/v1/catalog/items?limit=" + "1" * 5000, "Unable to parse"),  # int_parsing_size
    ("/api/v1/supervision/scores?start=2026-01-01T01:00:00", "zero time"),  # inexact date
])
def test_every_schema_problem_a_query_can_cause_is_worded_in_chinese(
        world, client_for, path, english):
    """A problem missing from the table was worded in pydantic's English in message_zh."""
    body = _error(client_for(world.user("a", Role.AGENCY_HEAD)).get(path), 400,
                  "core.invalid_input")
    assert english not in body["message_zh"]
    assert re.search(r"[\u4e00-\u9fff]", body["fields"]["problems"][0]["problem"])


def test_a_problem_without_its_own_wording_is_an_invalid_value_not_pydantic_s_english():
    """The fallback is the platform's generic wording, never pydantic's ``msg``."""
    from django.utils import translation

    from yizhan.core.api import _pydantic_problem

    err = {"type": "callable_type", "loc": ("body", "payload", "x"),
           "msg": "Input should be callable"}
    with translation.override("zh-hans"):
        assert _pydantic_problem(err) == "值无效"
    # A placeholder pydantic did not fill is the generic wording too.
    with translation.override("zh-hans"):
        assert _pydantic_problem({"type": "less_than_equal", "msg": "Input should be"}) == (
            "值无效")


def test_schema_problems_are_worded_in_each_language(clerk_client):
    """pydantic speaks English only: the usual problems are the platform's own words."""
    body = _error(_post(clerk_client, {"kind": "person", "name": "王" * 201},
                        HTTP_ACCEPT_LANGUAGE="en"), 400, "core.invalid_input")
    assert body["message_zh"] == "输入有误：name: 不能超过 200 个字符"
    assert body["message_en"] == "Invalid input: name: must be at most 200 characters"
    assert body["fields"]["problems"] == [{"field": "name",
                                           "problem": "must be at most 200 characters"}]


def test_a_choice_is_refused_in_chinese_without_english_words(db, client):
    """pydantic joins the values a choice takes with the English "or" ('json' or
    'xlsx'): each language lists them with its own separator."""
    body = _error(client.get("/api/v1/catalog/export?format=csv", HTTP_ACCEPT_LANGUAGE="en"),
                  400, "core.invalid_input")
    assert body["message_zh"] == "输入有误：query.format: 应为以下之一：'json'、'xlsx'"
    assert body["message_en"] == "Invalid input: query.format: must be one of: 'json', 'xlsx'"
    assert body["fields"]["problems"] == [{"field": "query.format",
                                           "problem": "must be one of: 'json', 'xlsx'"}]


def test_the_values_of_a_choice_are_read_whole_whatever_they_hold():
    """A value holding a comma or an "or" stays one value; numbers and None are
    values too; an ``expected`` that cannot be read is the generic wording."""
    from django.utils import translation

    from yizhan.core.api import _pydantic_problem

    expected = """1, 2, 'a or b', "x', 'y" or None"""
    with translation.override("zh-hans"):
        assert _pydantic_problem({"type": "enum", "ctx": {"expected": expected}}) == (
            """应为以下之一：1、2、'a or b'、"x', 'y"、None""")
        assert _pydantic_problem({"type": "literal_error", "ctx": {"expected": "'only'"}}) == (
            "应为以下之一：'only'")
        assert _pydantic_problem({"type": "enum", "ctx": {"expected": "'open"}}) == "值无效"


def test_permission_refusal_writes_nothing(world, client_for):
    """A reviewer may not register applicants: 403 and no record."""
    before = _counts()
    response = _post(client_for(world.user("a", Role.REVIEWER)),
                     {"kind": "person", "name": "李四", "id_number": valid_id_number(seq=324)})
    body = _error(response, 403, "core.permission_denied")
    assert body["fields"] == {"action": "applicant_register"}
    assert _counts() == before


def test_unauthenticated_request_gets_401(world, client_for):
    """An auth route without a session or token answers core.not_authenticated."""
    before = _counts()
    _error(client_for(None).get("/api/v1/accounts/me"), 401, "core.not_authenticated")
    _error(_post(client_for(None), {"kind": "person", "name": "李四",
                                    "id_number": valid_id_number(seq=325)}),
           401, "core.not_authenticated")
    assert _counts() == before


def test_bad_bearer_token_gets_401(world, client_for):
    """A made-up API token is refused with 401 and the error shape."""
    response = client_for(None).get("/api/v1/accounts/me",
                                    HTTP_AUTHORIZATION="Bearer yz_deadbeef_nothing")
    _error(response, 401, "accounts.bad_token")


def test_unknown_object_gets_404(world, client_for):
    """A missing object answers core.not_found."""
    _error(client_for(None).get("/api/v1/directory/agencies/987654"), 404, "core.not_found")


@pytest.mark.parametrize("path", [
    f"/api/v1/cases/{10**30}",
    f"/api/v1/supervision/alerts?agency_id={10**30}",
    f"/api/v1/catalog/versions/{10**30}",
])
def test_an_id_beyond_any_column_is_refused_not_a_500(world, client_for, path):
    """SQLite's driver raises on 10**30 before a row is read; PostgreSQL finds nothing
    (an object: 404; a list filtered by it: empty)."""
    client = client_for(world.user("a", Role.SUPERVISION_OFFICER))
    response = client.get(path)
    if response.status_code == 200:
        assert "?" in path and response.json() == [], response.content
        return
    assert response.status_code in (400, 404), response.content
    body = response.json()
    assert body["code"] in ("core.number_out_of_range", "core.not_found")
    if response.status_code == 400:
        assert body["message_zh"] == "数值超出允许的范围。"
        assert body["message_en"] == "The number is out of the allowed range."


@pytest.mark.parametrize("path", [
    f"/api/v1/catalog/items?offset={10**20}",
    f"/api/v1/cases/mine?offset={2**63}",
    f"/api/v1/tasks/inbox?offset={2**62 + 1}",
])
def test_an_offset_beyond_any_row_count_is_refused_not_a_500(world, client_for, path):
    """ListPage's offset reaches SQL's OFFSET, a 64-bit integer: beyond it the database
    refused the query (a 500).  It is bounded like limit, and refused the same way."""
    client = client_for(world.user("a", Role.REVIEWER))
    client.raise_request_exception = False
    body = _error(client.get(path), 400, "core.invalid_input")
    assert body["fields"]["problems"][0]["field"].endswith("offset")


def test_the_largest_offset_answers_an_empty_page(world, client_for):
    from yizhan.core.api import MAX_OFFSET

    response = client_for(world.citizen).get(f"/api/v1/cases/mine?offset={MAX_OFFSET}")
    assert response.status_code == 200, response.content
    assert response.json() == []


@pytest.mark.parametrize(("value", "expected"), [
    ("12", 12), (12, 12), ("0012", 12), (str(2**63 - 1), 2**63 - 1),
    ("²", None), ("１２", None), ("-1", None), ("0", None), (0, None), (True, None),
    (str(2**63), None), (10**30, None), ("", None), (None, None), ("1.0", None), (1.0, None),
])
def test_parse_id_reads_what_a_person_means_by_an_id(value, expected):
    from yizhan.core.ids import parse_id

    assert parse_id(value) == expected


# --- failures outside the API's own handlers --------------------------------------


def test_an_unknown_route_answers_in_the_error_shape(world, client_for):
    body = _error(client_for(world.citizen).get("/api/v1/cases/1/nothing"), 404,
                  "core.not_found")
    assert "/api/v1/cases/1/nothing" in body["message_zh"]


def test_a_method_the_route_does_not_take_answers_in_the_error_shape(world, client_for):
    response = client_for(world.citizen).delete("/api/v1/cases/mine")
    body = _error(response, 405, "core.method_not_allowed")
    assert "DELETE" in body["message_en"] and "GET" in body["message_en"]


def test_a_body_django_cannot_parse_answers_in_the_error_shape(world, client_for):
    response = client_for(world.citizen).post("/api/v1/cases/1/materials", "x",
                                              content_type="multipart/form-data")
    _error(response, 400, "core.invalid_input")


def test_a_crash_answers_in_the_error_shape(world, client_for, monkeypatch):
    """A bug is a 500 in the same shape, with the request id to quote."""
    from yizhan.cases import selectors

    def crash(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "cases_of_applicant_user", crash)
    client = client_for(world.citizen)
    client.raise_request_exception = False
    _error(client.get("/api/v1/cases/mine"), 500, "core.server_error")


def test_a_write_without_any_credentials_is_401_not_a_csrf_refusal(world):
    """No session and no token: core.not_authenticated, as for a read.  CSRF guards a
    signed-in session; told about X-CSRFToken, a system that forgot its Bearer token
    would look for the wrong fix."""
    from django.test import Client

    before = _counts()
    client = Client(enforce_csrf_checks=True)
    body = _error(_post(client, {"kind": "person", "name": "李四",
                                 "id_number": valid_id_number(seq=326)}),
                  401, "core.not_authenticated")
    assert "CSRF" not in body["message_zh"]
    # A session cookie that signs nobody in (expired, made up) is no credential either.
    client.cookies["sessionid"] = "nobody"
    _error(client.post("/api/v1/accounts/tokens", json.dumps(
        {"agency_id": world.agency_a.pk, "name": "x", "role": "reviewer"}),
        content_type="application/json"), 401, "core.not_authenticated")
    assert _counts() == before


def test_a_refused_csrf_check_says_so(world):
    """A signed-in browser session writing without the CSRF header."""
    from django.test import Client

    from tests.cases.helpers import publish_item

    promised = publish_item(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.citizen)
    with_session = client.post("/api/v1/cases", json.dumps({
        "impl_code": promised.item.impl_code, "applicant_id": world.applicant.pk}),
        content_type="application/json")
    body = _error(with_session, 403, "core.csrf_failed")
    assert "X-CSRFToken" in body["message_zh"]


def test_pages_keep_their_own_error_pages(world, client_for):
    response = client_for(world.citizen).get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- NUL, which PostgreSQL's text cannot hold ------------------------------------


def test_a_nul_anywhere_in_api_input_is_refused_before_the_database(world, client_for):
    """In a JSON body (as \\u0000, in a value or a key), a query parameter or the
    address: a 400 in the error shape, and nothing written (a 500 on PostgreSQL)."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    person = {"kind": "person", "name": "李四", "id_number": valid_id_number(seq=77)}
    with_key = dict(person)
    with_key["note\u0000"] = "x"
    before = _counts()
    for body in ({**person, "name": "李\u0000四"}, with_key):
        _error(_post(client, json.dumps(body)), 400, "core.invalid_input")
    _error(client.get("/api/v1/cases/status", {"number": "4499\x00", "code": "1"}), 400,
           "core.invalid_input")
    _error(client.get("/api/v1/certificates/verify/a%00b"), 400, "core.invalid_input")
    assert _counts() == before


def test_a_lone_surrogate_in_a_json_body_is_refused_before_the_database(world, client_for):
    """JSON may escape half a surrogate pair (\\ud800); no encoding stores it, so it
    failed at the database (a 500).  Refused as NUL is, in a value or a key."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    person = {"kind": "person", "name": "李四", "id_number": valid_id_number(seq=78)}
    before = _counts()
    for body in ({**person, "name": "李\ud800四"}, {**person, "note\udfff": "x"},
                 {**person, "name": ["\udc00"]}):
        refused = _error(_post(client, json.dumps(body)), 400, "core.invalid_input")
        assert refused["message_zh"] == (
            "输入中含有无法保存的字符（不成对的 UTF-16 代理项），请删除后重试。")
    # A whole pair is a character like any other.
    assert _post(client, json.dumps({**person, "name": "李\U0001f600"})).status_code == 201
    assert _counts() == (before[0] + 1, before[1] + 1)


def test_unstorable_names_what_cannot_be_stored():
    from yizhan.core.text import NUL_REFUSED, SURROGATE_REFUSED, unstorable

    assert unstorable({"a": ["b", ("c", 1)], "d": None}) is None
    assert unstorable("a\x00") is NUL_REFUSED
    assert unstorable({"k\ud800": "v"}) is SURROGATE_REFUSED
    assert unstorable(["ok", {"x": "\udfff"}]) is SURROGATE_REFUSED
    assert unstorable("😀") is None


def test_a_nul_in_a_page_form_is_refused_with_a_page(world, client_for):
    response = client_for(world.citizen).post("/status/", {"number": "4499\x00",
                                                          "code": "12345678"})
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_the_openapi_document_describes_the_error_shape(client):
    """A client generated from the document knows every operation's failures and
    their one shape, as docs/api.md describes it."""
    schema = client.get("/api/v1/openapi.json").json()
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "message_zh", "message_en", "fields",
                                      "request_id"}
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations
    for operation in operations:
        for status in ("4XX", "5XX"):
            assert operation["responses"][status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, operation["operationId"]
    # What the document says is what a refusal is.
    body = client.get("/api/v1/no-such-route").json()
    assert set(body) == set(error["required"])
