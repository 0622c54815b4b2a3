"""The office's own writes, each setting sent wrong: a 4xx in the error shape, never a 500.

The rules' parameters and the scoring scheme are free-form JSON checked by
hand (``checks.clean_params``, ``scoring.clean_scheme``), so every value a
JSON body can hold is tried where the code reads it: a rule's common
settings once, each check's own parameters on every rule that has them; the
scheme's common keys once, and the keys of each source of data on the first
dimension of that source.
"""

import copy
import json

from django.test import Client

from tests.api import shape_fault

REASON = "市监察局〔2026〕12号通知"
# One value per way of going wrong in JSON: types, blanks, sizes beyond any
# column or float, nesting, and numbers written as text.
NASTY = [None, True, 0, -1, 1.5, 2**70, 10**400, -10**30, 1e308, "", "\u3000", "x" * 70000,
         "１２", "NaN", "1e999", [], ["x"], [[1]], [{"code": 1}], {"a": 1}, {"x": {"y": []}}]
# Keys a dimension may not have, or has only for another source of data.
EXTRA_KEYS = ["deductions", "kinds", "rules", "min_depth", "per_item"]
COMMON_KEYS = ["code", "name", "weight", "source", "note"]


def _send(client, failures, label, method, path, body):
    response = client.generic(method, path, json.dumps(body, default=str),
                              content_type="application/json")
    fault = shape_fault(response)
    if fault:
        failures.append(f"{label}: {fault}")


def test_no_rule_change_is_a_500(world, officer):
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    failures = []
    rules = client.get("/api/v1/supervision/rules").json()
    assert any(rule["params"] for rule in rules)
    first = next(rule for rule in rules if rule["params"])
    for rule in rules:
        path = f"/api/v1/supervision/rules/{rule['code']}"
        keys = ["name", "level", "params", "enabled", "items", "agencies"] if rule is first else []
        for key in keys:
            for value in NASTY:
                _send(client, failures, f"{rule['code']} {key}={str(value)[:20]}", "PATCH", path,
                      {"changes": {key: value}, "reason": REASON})
        for name in rule["params"]:
            for value in NASTY:
                _send(client, failures, f"{rule['code']} params.{name}={str(value)[:20]}",
                      "PATCH", path, {"changes": {"params": {name: value}}, "reason": REASON})
    assert not failures, "\n".join(failures[:60]) + f"\n... {len(failures)} in all"


def test_no_scoring_scheme_or_period_is_a_500(world, officer):
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    failures = []
    scheme = client.get("/api/v1/supervision/scores/scheme").json()
    base = {"dimensions": scheme["dimensions"], "bands": scheme["bands"], "reason": REASON}
    path = "/api/v1/supervision/scores/scheme"

    def put(label, change):
        body = copy.deepcopy(base)
        change(body)
        _send(client, failures, label, "PUT", path, body)

    for value in NASTY:
        for key in ("dimensions", "bands"):
            put(f"{key}={str(value)[:20]}", lambda body, key=key, v=value: body.update({key: v}))
        for band in scheme["bands"]:
            put(f"bands.{band}={str(value)[:20]}",
                lambda body, band=band, v=value: body["bands"].update({band: v}))
    # The common keys once; each source's own keys on its first dimension.
    seen = set()
    for i, dimension in enumerate(scheme["dimensions"]):
        if dimension["source"] in seen:
            continue
        seen.add(dimension["source"])
        keys = [key for key in dimension if key not in COMMON_KEYS]
        if i == 0:
            keys = COMMON_KEYS + keys + [key for key in EXTRA_KEYS if key not in dimension]
        for key in keys:
            for value in NASTY:
                put(f"dimensions.{i}.{key}={str(value)[:20]}",
                    lambda body, i=i, key=key, v=value: body["dimensions"][i].update({key: v}))
        if isinstance(dimension.get("deductions"), dict):
            for key in dimension["deductions"]:
                for value in NASTY:
                    put(f"dimensions.{i}.deductions.{key}={str(value)[:20]}",
                        lambda body, i=i, key=key, v=value:
                        body["dimensions"][i]["deductions"].update({key: v}))
    for body in [{"period": "2026Q1"}, {"period": "0001Q1"}, {"period": "9999Q4"},
                 {"start": "0001-01-01", "end": "9999-12-31"},
                 {"period": "2026-01-01_2025-01-01"}, {"period": "2026-02-30_2026-03-01"},
                 {"start": "2026-01-01"}, {"period": "2026Q1", "start": "2026-01-01",
                                           "end": "2026-02-01"}]:
        _send(client, failures, f"compute {body}", "POST", "/api/v1/supervision/scores/compute",
              body)
    for query in ["period=0001Q1", "period=9999Q4", "start=0001-01-01&end=9999-12-31",
                  "period=2026-02-30_2026-03-01", "period=1Q1", "period=%EF%BC%92026Q1"]:
        for page in ["/api/v1/supervision/scores", "/api/v1/supervision/scores/report",
                     f"/api/v1/supervision/scores/agencies/{world.agency_a.pk}"]:
            fault = shape_fault(client.get(f"{page}?{query}"))
            if fault:
                failures.append(f"GET {page}?{query}: {fault}")
    assert not failures, "\n".join(failures[:60]) + f"\n... {len(failures)} in all"
