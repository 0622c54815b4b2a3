"""Conventions the code base keeps, checked so they stay kept.

Every public function in an app's ``services.py`` checks its permission
predicate, named like the service, in that app's ``permissions.py`` (the
CKAN rule: an action that never calls its auth function is a bug).  The
few services open to anyone are listed with the reason.  A template comment
that spans lines is a ``{% comment %}`` block, never ``{# #}``.
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest

import yizhan

APPS = ["directory", "accounts", "catalog", "workdays", "cases"]

OPEN_TO_ANYONE = {
    "accounts.user_sign_in": "signing in is how one becomes someone",
    "accounts.user_sign_out": "one's own session",
    "accounts.user_register_public": "self-registration of a citizen",
    "accounts.password_reset_request": "proves nothing until the mailed link is used",
    "accounts.password_reset_user": "checks the mailed link's token",
    "accounts.password_reset_confirm": "checks the mailed link's token",
    "accounts.superuser_create": "command line only: the operator controls the server",
    "accounts.token_authenticate": "authentication itself",
    "accounts.totp_new_secret": "pure function",
    "accounts.check_new_password": "validation only; writes nothing",
    "accounts.check_expiry": "validation only; writes nothing",
    "accounts.totp_provisioning_uri": "pure function",
    "directory.person_sign_up": "self-registration of a citizen",
    "cases.deadlines_recompute": "system work when the calendar changes; no actor",
    "cases.case_status_lookup": "anyone with the number and query code; throttled",
    "cases.release_claims": "follows a change of postings or grants whose own service "
                            "checked the caller (directory.staff_unpost, staff_deactivate, "
                            "scope_grant_revoke)",
    "cases.claims_release_lapsed": "system work: claims through grants that ran out; no actor",
    "workdays.calendar_seed": "system work (migration, command line); no actor",
    "catalog.internal_item_version": "made once for a case whose own service checked the "
                                     "caller (supervision.notice_issue)",
    "directory.agency_party": "recorded for a case whose own service checked the caller "
                              "(supervision.notice_issue)",
}


def _services(app):
    module = importlib.import_module(f"yizhan.{app}.services")
    for name, func in inspect.getmembers(module, inspect.isfunction):
        if func.__module__ == module.__name__ and not name.startswith("_"):
            yield name, func


@pytest.mark.parametrize("app", APPS)
def test_every_service_checks_its_permission(app):
    """Each service calls ``permissions.<its own name>`` or is declared open."""
    permissions = importlib.import_module(f"yizhan.{app}.permissions")
    missing = []
    for name, func in _services(app):
        if f"{app}.{name}" in OPEN_TO_ANYONE:
            continue
        source = inspect.getsource(func)
        if not hasattr(permissions, name) or f"permissions.{name}(" not in source:
            missing.append(name)
    assert missing == [], f"services without their permission check: {missing}"


def test_open_list_names_real_services():
    """The list of open services has no stale names."""
    real = {f"{app}.{name}" for app in APPS for name, _ in _services(app)}
    assert set(OPEN_TO_ANYONE) <= real, set(OPEN_TO_ANYONE) - real


def _template_files():
    for folder in Path(yizhan.__file__).parent.rglob("templates"):
        yield from (path for path in folder.rglob("*") if path.is_file())


def test_no_template_comment_spans_lines():
    """A ``{# #}`` comment ends on its own line: one that goes on to the next is
    not a comment to Django, and its text is printed on the page.  Longer
    comments are ``{% comment %}`` blocks."""
    spanning = [f"{path}:{text.count(chr(10), 0, found.start()) + 1}"
                for path in _template_files()
                for text in [path.read_text(encoding="utf-8")]
                for found in re.finditer(r"\{#(?:(?!#\}).)*?\n", text, re.S)]
    assert list(_template_files()), "no templates found"
    assert spanning == [], f"multi-line {{# comments: {spanning}"
