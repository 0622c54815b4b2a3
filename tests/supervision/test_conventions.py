"""Conventions of supervision: every service checks its own permission predicate."""

import inspect

from yizhan.supervision import permissions, services

# Public functions of services.py that are no user action, with the reason.
SYSTEM = {
    "rule_snapshot": "a pure function of a rule (what a revision records)",
    "alerts_clear_superseded": "system work after the calendar moved a case's deadlines",
}


def _public_functions(module):
    for name, func in inspect.getmembers(module, inspect.isfunction):
        if func.__module__ == module.__name__ and not name.startswith("_"):
            yield name, func


def test_every_service_checks_its_permission():
    """Each service calls ``permissions.<its own name>`` or is listed as system work."""
    missing = [name for name, func in _public_functions(services) if name not in SYSTEM
               and (not hasattr(permissions, name)
                    or f"permissions.{name}(" not in inspect.getsource(func))]
    assert missing == []


def test_the_system_list_names_real_functions():
    """No stale names in the list of unchecked functions."""
    assert set(SYSTEM) <= {name for name, _f in _public_functions(services)}
