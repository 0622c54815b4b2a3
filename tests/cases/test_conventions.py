"""Conventions of the case engine: permission checks, closed event types, append-only log."""

import inspect

import pytest

from tests.cases.helpers import complete, submitted
from yizhan.cases import certificates, events, permissions, services
from yizhan.cases.models import CaseEvent, EventType
from yizhan.directory.roles import Role

# Services that check no permission predicate, with the reason.
SYSTEM = {
    "deadlines_recompute": "system work after the calendar changed (no actor)",
    "certificate_issue_for_case": "background step after an approving decision",
    "certificates_missing": "a read of the periodic job that issues them (no actor)",
    "approving_steps": "a read: the step whose agency issues the certificate",
    "certificate_verify": "public: anyone may verify a certificate",
    "certificate_check_file": "public: anyone may check the file they hold against one",
    "certificate_verdict": "a pure function of a verification",
    "verify_url": "a pure function of a token",
    "case_status_lookup": "anyone with the number and query code; throttled",
    "release_claims": "follows a change of postings or grants whose service checked the actor",
    "claims_release_lapsed": "system work: grants that ran out (no actor)",
}


def _public_functions(module):
    for name, func in inspect.getmembers(module, inspect.isfunction):
        if func.__module__ == module.__name__ and not name.startswith("_"):
            yield name, func


@pytest.mark.parametrize("module", [services, certificates], ids=["services", "certificates"])
def test_every_service_checks_its_permission(module):
    """Each service calls ``permissions.<its own name>`` or is listed as system work."""
    missing = []
    for name, func in _public_functions(module):
        if name in SYSTEM:
            continue
        source = inspect.getsource(func)
        if not hasattr(permissions, name) or f"permissions.{name}(" not in source:
            # A service split in two checks in its first half (material_upload).
            missing.append(name)
    assert missing == []


def test_the_system_list_names_real_functions():
    """No stale names in the list of unchecked functions."""
    real = {name for module in (services, certificates) for name, _f in _public_functions(module)}
    assert set(SYSTEM) <= real


def test_an_unknown_event_type_fails_loudly(world, promised):
    """Appending a type outside EventType raises and writes nothing."""
    case, _code = submitted(world, promised)
    before = CaseEvent.objects.count()
    with pytest.raises(ValueError):
        events.append(case=case, type="cases.made_up", actor=None)
    assert CaseEvent.objects.count() == before


def test_events_are_append_only(world, promised):
    """An event row can be neither changed nor deleted, one by one or in bulk."""
    case, _code = submitted(world, promised)
    event = CaseEvent.objects.get(case=case)
    event.data = {"forged": True}
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        CaseEvent.objects.filter(case=case).update(data={})
    with pytest.raises(TypeError):
        CaseEvent.objects.filter(case=case).delete()
    assert CaseEvent.objects.get(pk=event.pk).data != {"forged": True}


def test_one_actions_rows_share_a_correlation_id(world, promised):
    """The rows of one request (NOT_ACCEPTED, CLOSED, the audit record) share its id."""
    from yizhan.audit.models import AuditRecord
    from yizhan.core import context

    case, _code = submitted(world, promised)
    token = context.activate(context.RequestContext(request_id="one-click"))
    try:
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept", decision="reject",
                 opinion="不属于本机关")
    finally:
        context.deactivate(token)
    rows = CaseEvent.objects.filter(case=case, correlation_id="one-click")
    assert sorted(rows.values_list("type", flat=True)) == sorted(
        [EventType.NOT_ACCEPTED, EventType.CLOSED, EventType.NOTIFIED])
    assert AuditRecord.objects.filter(request_id="one-click").count() == 1
