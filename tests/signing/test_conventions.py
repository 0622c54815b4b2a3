"""The signing services check their permission predicates, as every service does.

tests/test_conventions.py covers the apps' ``services.py``; the signing
services live in ``audit/signing.py``, so they are checked here.  The
system functions are listed with the reason they check nothing.
"""

import inspect

from yizhan.audit import permissions, signing

SERVICES = ("signing_key_create", "signing_key_rotate")

SYSTEM_FUNCTIONS = {
    "sign_for_agency": "called by services that have already decided",
    "sign_certificate_bytes": "sign_for_agency for a certificate's digest",
    "verify_signature": "verifying is public",
    "verify_certificate_bytes": "verifying is public",
    "certificate_digest": "pure function",
    "certificate_message": "pure function",
    "default_algorithm": "pure function",
    "clear_key_cache": "process-local cache",
}


def test_signing_services_check_their_permission():
    for name in SERVICES:
        source = inspect.getsource(getattr(signing, name))
        assert hasattr(permissions, name)
        assert f"permissions.{name}(" in source, name


def test_every_public_function_is_a_service_or_a_listed_system_function():
    public = {
        name for name, func in inspect.getmembers(signing, inspect.isfunction)
        if func.__module__ == signing.__name__ and not name.startswith("_")
    }
    assert public == set(SERVICES) | set(SYSTEM_FUNCTIONS)
