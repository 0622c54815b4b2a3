"""Every API route, fed bad input, answers a 4xx in the error shape: never a 500.

Two walks.  The first calls each operation of the OpenAPI document with ids
that name nothing or cannot be ids (as the superuser, an agency head, a
citizen, an agency head's API token, a principal that is no user, and no one),
and with bodies that are not what the route takes, other content types and
out-of-range queries.  The second takes agency B's real objects
(``tests/test_access_walk._foreign``) and changes one field of each route's
body at a time, as a member of B or of the city's supervision office who may
act on them, so that the wrong value gets past the lookup and the permission
check into the service.

Each list holds one value per way of going wrong, not many of the same kind:
the whole suite has to stay quick on two cores.
"""

import json
import re

import pytest
from django.test import Client

from tests.api import shape_fault
from tests.test_access_walk import _foreign
from yizhan.accounts import services as account_services
from yizhan.api import api
from yizhan.directory.models import Posting
from yizhan.directory.roles import Role

# Not a number; a number naming nothing; beyond any column; non-ASCII; not UTF-8.
PATH_VALUES = ["abc", "0", str(2**63), "%E4%B8%AD", "%FF"]
BODIES = [
    b"", b"null", b"1", b'"x"', b"[]", b"[{}]", b"{}", b"true",
    b'{"a": ' * 200 + b"1" + b"}" * 200,                     # nested past any schema
    '{"name": "\xff"}'.encode("latin-1"),                     # not UTF-8
    b"\xff\xfe\x00",
    # Every field a route takes, with the wrong type.
    json.dumps({"reason": 1, "note": [], "opinion": {}, "decision": None, "items": "x",
                "workdays": "x", "amount": 1.5, "fee_id": "x", "impl_code": 1,
                "applicant_id": "x", "data": [], "agency_id": -1, "name": ["x"], "role": 1,
                "code": 1, "changes": [], "alerts": "x", "type": 1, "dimensions": {},
                "bands": [], "period": 1, "start": "x", "content": []}).encode(),
    # The right types, with values beyond what the database or the law holds.
    json.dumps({"agency_id": 2**70, "applicant_id": 2**70, "fee_id": 2**70, "workdays": 2**70,
                "alerts": [2**70], "impl_code": "x", "name": "x", "role": "reviewer",
                "reason": "x" * 100000, "decision": "approve", "opinion": "x", "items": [
                    {"material_id": 2**70, "problem": "x"}], "note": "x",
                "amount": "1e999999", "title": "x", "requirements": "x", "type": "correction",
                "reply_workdays": 2**70, "changes": {"level": "x"}, "period": "9999Q9",
                "dimensions": [], "bands": {}}).encode(),
]
CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=xx", "application/xml"]
QUERIES = ["limit=-1", "limit=abc", "offset=-5", "limit=99999999999999999999999",
           "agency=abc", "agency_id=abc", "case_id=-1", f"agency_id={2**70}",
           "since=notadate", "until=2026-13-45", "period=9999Q9", "period=abc",
           "start=2026-01-01", "end=2020-01-01&start=2026-01-01", "format=doc",
           "number=x&code=y", "open_only=maybe", "parent=%FF", "division=%FF",
           "q=" + "x" * 5000, "format=xlsx&period=1999Q1"]
# One field of a real body at a time.  Text first: a caller the route refuses
# is told so at the first value its schema takes, and is not asked again.
WRONG = ["", "\u3000", "x" * 70000, "１２", "2026-13-40", "NaN", 0, -1, 2**70, 1.5, True,
         None, [], ["x"], {"a": 1}]
REFUSED = {401, 403, 404}


def _operations():
    for path, ops in api.get_openapi_schema()["paths"].items():
        for method, op in ops.items():
            queries = any(p["in"] == "query" for p in op.get("parameters", []))
            yield method.upper(), path, queries


def _check(failures, label, response):
    fault = shape_fault(response)
    if fault:
        failures.append(f"{label}: {fault}")


def _report(failures):
    return "\n".join(failures[:80]) + f"\n... {len(failures)} in all"


@pytest.mark.django_db
def test_every_route_answers_bad_ids_bodies_and_queries_in_the_error_shape(world):
    """Each bad id as each kind of caller (one with posts, one without, a token, no
    one); each bad body, content type and query once, as the administrator: the body
    and the query are read before the caller or the id matters."""
    _token, secret = account_services.token_issue(
        actor=world.admin, agency=world.agency_a, name="对接系统", role=Role.AGENCY_HEAD)
    clients = {"admin": Client(), "head": Client(), "citizen": Client(),
               "token": Client(HTTP_AUTHORIZATION=f"Bearer {secret}"), "anonymous": Client()}
    clients["admin"].force_login(world.admin)
    clients["head"].force_login(world.user("a", Role.AGENCY_HEAD))
    clients["citizen"].force_login(world.citizen)
    failures = []
    for method, path, queries in _operations():
        for who, client in clients.items():
            client.raise_request_exception = False
            for value in PATH_VALUES if "{" in path else ["0"]:
                concrete = re.sub(r"\{[^}]+\}", value, path)
                response = (client.get(concrete) if method == "GET" else client.generic(
                    method, concrete, b"{}", content_type="application/json"))
                _check(failures, f"{who} {method} {concrete}", response)
        admin, concrete = clients["admin"], re.sub(r"\{[^}]+\}", "0", path)
        label = f"admin {method} {concrete}"
        if method == "GET":
            for query in QUERIES if queries else []:
                _check(failures, f"{label}?{query}", admin.get(f"{concrete}?{query}"))
            continue
        for body in BODIES:
            _check(failures, f"{label} body={body[:60]!r}",
                   admin.generic(method, concrete, body, content_type="application/json"))
        for content_type in CONTENT_TYPES:
            _check(failures, f"{label} {content_type}",
                   admin.generic(method, concrete, b"a=1&b=\xff", content_type=content_type))
    assert not failures, _report(failures)


@pytest.mark.django_db
def test_every_route_with_one_field_wrong_on_real_objects(world):
    """Each write is walked by the first caller it does not refuse: the values reach
    the same service whoever sends them.  Each read's queries are sent by the first
    caller it answers and by the first one of limited scope (the superuser's lists
    are not filtered by agency)."""
    routes = _foreign(world)
    callers = {"admin": world.admin, "b.head": world.user("b", Role.AGENCY_HEAD),
               "b.reviewer": world.user("b", Role.REVIEWER),
               "b.clerk": world.user("b", Role.WINDOW_CLERK),
               "officer": Posting.objects.get(post__role=Role.SUPERVISION_OFFICER,
                                              post__agency__name="示范市监察局").user}
    clients = {}
    for who, user in callers.items():
        clients[who] = Client(raise_request_exception=False)
        clients[who].force_login(user)
    # Switching staff off last: B's reviewer still holds B's open task until then.
    order = sorted(routes, key=lambda route: "deactivate" in route[1])
    failures = []
    for method, template in order:
        path, body = routes[method, template]
        if body and "__file__" in body:
            continue
        for who, client in clients.items():
            if method == "GET":
                if client.get(path).status_code in REFUSED:
                    continue
                for query in QUERIES:
                    separator = "&" if "?" in path else "?"
                    _check(failures, f"{who} GET {path}{separator}{query}",
                           client.get(f"{path}{separator}{query}"))
                if who != "admin":
                    break
            elif not body:
                # Nothing to get wrong but the state the object is in.
                response = client.generic(method, path, b"{}", content_type="application/json")
                _check(failures, f"{who} {method} {path}", response)
                if response.status_code not in REFUSED:
                    break
            elif _walk_fields(failures, who, client, method, path, body):
                break
    assert not failures, _report(failures)


def _walk_fields(failures, who, client, method, path, body) -> bool:
    """Send ``body`` with each field wrong in turn; False if the caller is refused.

    A 404 before any answer but 400 is the route's object hidden from the caller;
    ids are changed last, as an id naming nothing is answered 404 too.
    """
    reached = False
    for key in sorted(body, key=_is_id):
        for value in WRONG:
            response = client.generic(method, path, json.dumps(dict(body, **{key: value})),
                                      content_type="application/json")
            _check(failures, f"{who} {method} {path} {key}={str(value)[:20]!r}", response)
            status = response.status_code
            if status in (401, 403) or (status == 404 and not reached and not _is_id(key)):
                return False
            reached = reached or status not in (400, 404)
    return True


def _is_id(key: str) -> bool:
    return key.endswith("_id") or key == "alerts"
