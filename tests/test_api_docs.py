"""docs/api.md lists every error code; the OpenAPI document describes every body.

Codes are part of the API contract (``core/error_codes.py``): an integrator who
gets ``cases.task_taken`` (409) or ``accounts.bad_token`` (401) looks it up in
the document, so a code added to an app's ``error_codes.py`` fails here until
its row (code, status, meaning) is written, and a row whose code no longer
exists fails too.

A client generated from ``/api/v1/openapi.json`` sends what the document
says each operation takes, and reads a refused field by the path
docs/api.md describes: the schemas in the document are the ones the
operations validate with, and a body's fields are named as the body holds
them.
"""

import importlib
import pkgutil
import re
from enum import StrEnum
from pathlib import Path

from ninja.openapi.schema import OpenAPISchema

import yizhan
from yizhan.api import api

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
# A table row: | `app.code` | status | meaning |
ROW = re.compile(r"^\| `([a-z_]+\.[a-z_]+)` \| ([^|]+) \| ([^|]+) \|$", re.MULTILINE)


def _codes() -> set[str]:
    codes = set()
    for app in pkgutil.iter_modules(yizhan.__path__):
        try:
            module = importlib.import_module(f"yizhan.{app.name}.error_codes")
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum:
                codes |= {str(member) for member in value}
    return codes


def _rows() -> dict[str, tuple[str, str]]:
    return {code: (status.strip(), meaning.strip())
            for code, status, meaning in ROW.findall(API_DOC.read_text())}


def test_the_codes_are_found():
    """The walk over the apps sees every app's codes, not just the core's."""
    codes = _codes()
    assert {"core.not_found", "accounts.bad_token", "cases.task_taken",
            "supervision.bad_scoring_scheme", "workdays.year_empty"} <= codes
    assert len({code.split(".")[0] for code in codes}) >= 9


def test_every_error_code_has_its_row_in_the_api_document():
    missing = sorted(_codes() - set(_rows()))
    assert not missing, f"docs/api.md has no row for {len(missing)} codes: {missing}"


def test_every_row_of_the_api_document_is_a_code_that_exists():
    stale = sorted(set(_rows()) - _codes())
    assert not stale, f"docs/api.md lists codes no error_codes.py has: {stale}"


def test_every_row_gives_a_status_and_a_meaning():
    for code, (status, meaning) in _rows().items():
        assert status == "—" or re.match(r"[1-5]\d\d\b", status), (code, status)
        assert len(meaning) > 5, (code, meaning)


def _body_schema(document: dict, method: str, path: str) -> dict:
    """The schema the document gives the JSON body of ``method path``."""
    schema = document["paths"][f"/api/v1{path}"][method]["requestBody"]["content"][
        "application/json"]["schema"]
    name = schema.get("allOf", [schema])[0]["$ref"].rsplit("/", 1)[1]
    return document["components"]["schemas"][name]


def test_no_schema_of_the_document_replaces_another(monkeypatch):
    """ninja files every schema under its class name alone: two classes of one
    name (the catalog's fee and a case's fee charge, a reason required by one
    app and optional in another) leave one description, and the operations of
    the other are documented with its fields.  Every schema an operation
    validates or answers with is the one the document holds under its name."""
    added, clashes = {}, set()
    add = OpenAPISchema.add_schema_definitions

    def recording(self, definitions):
        for name, schema in definitions.items():
            if added.setdefault(name, schema) != schema:
                clashes.add(name)
        add(self, definitions)

    monkeypatch.setattr(OpenAPISchema, "add_schema_definitions", recording)
    document = api.get_openapi_schema()
    assert {"CatalogFeeIn", "FeeChargeIn", "StaffDeactivateIn", "CaseOut"} <= set(added)
    assert not clashes, f"schemas sharing a name in the document: {sorted(clashes)}"
    schemas = document["components"]["schemas"]
    assert all(schemas[name] == schema for name, schema in added.items())


def test_the_document_says_a_deactivation_and_a_reveal_need_a_reason():
    """A client generated from the document sends the reason the API requires
    (400 ``core.invalid_input`` without it)."""
    document = api.get_openapi_schema()
    for path in ("/directory/staff/{user_id}/deactivate",
                 "/directory/applicants/{applicant_id}/reveal"):
        schema = _body_schema(document, "post", path)
        assert "reason" in schema.get("required", []), (path, schema)


def test_the_document_describes_a_catalog_fee_as_the_catalog_takes_it():
    """The ``fees`` of an item version are the catalog's (name, standard, basis,
    waiver), not a fee charged on a case (``fee_id``)."""
    document = api.get_openapi_schema()
    schemas = document["components"]["schemas"]
    for method, path in (("put", "/catalog/versions/{version_id}"),
                         ("post", "/catalog/items")):
        body = _body_schema(document, method, path)
        if "fees" not in body["properties"]:  # an item's version is its ``content``
            body = schemas[body["properties"]["content"]["$ref"].rsplit("/", 1)[1]]
        fee = schemas[body["properties"]["fees"]["items"]["$ref"].rsplit("/", 1)[1]]
        assert {"name", "standard", "basis", "waivable", "waiver_basis"} <= set(
            fee["properties"]), fee
        assert "fee_id" not in fee["properties"], fee
    charge = _body_schema(document, "post", "/cases/{case_id}/fees")
    assert {"fee_id", "amount", "idempotency_key"} <= set(charge["properties"]), charge


def test_every_json_body_parameter_is_named_payload():
    """A JSON body is the operation's one body parameter, which the client never
    names: a refused field is reported by its path in the body (``number``),
    the parameter's name left out (core.api._field_of drops ``payload``).  A
    body parameter of another name would be reported with it (``query.number``),
    and docs/api.md reads ``query.`` as a field of the query string."""
    operations = [operation for _prefix, router in api._routers
                  for view in router.path_operations.values()
                  for operation in view.operations]
    bodies = {operation.view_func.__name__: list(model.model_fields)
              for operation in operations for model in operation.models
              if model.__ninja_param_source__ == "body"}
    assert {"case_status_post", "charge_fee", "deactivate_staff"} <= set(bodies)
    misnamed = {view: names for view, names in bodies.items() if names != ["payload"]}
    assert not misnamed, f"JSON body parameters not named payload: {misnamed}"
