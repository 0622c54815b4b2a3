"""docs/api.md lists every error code a client can be answered with.

Codes are part of the API contract (``core/error_codes.py``): an integrator who
gets ``cases.task_taken`` (409) or ``accounts.bad_token`` (401) looks it up in
the document, so a code added to an app's ``error_codes.py`` fails here until
its row (code, status, meaning) is written, and a row whose code no longer
exists fails too.
"""

import importlib
import pkgutil
import re
from enum import StrEnum
from pathlib import Path

import yizhan

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
