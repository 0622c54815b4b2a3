"""A step that fails half-way leaves the case exactly as it was before the step."""

import pytest

from tests.cases.helpers import complete, open_task, reload, submitted
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.cases import events, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.models import Case, CaseEvent, Certificate, EventType, Task
from yizhan.core import context, tasks
from yizhan.directory.roles import Role


class Boom(Exception):
    pass


def _state(case) -> dict:
    """Everything a step may change: the case row, its tasks, events and the audit log."""
    return {
        "case": Case.objects.filter(pk=case.pk).values().get(),
        "tasks": list(Task.objects.filter(case_id=case.pk).order_by("id").values()),
        "events": list(CaseEvent.objects.filter(case_id=case.pk).order_by("id").values()),
        "audit": list(AuditRecord.objects.order_by("id").values_list("id", "action", "hash")),
        "heads": list(AuditChainHead.objects.order_by("shard").values()),
    }


def _fail_audit(monkeypatch):
    real = services.audit_append

    def audit_append(**kwargs):
        if kwargs["action"] == CasesAction.TASK_COMPLETED:
            raise Boom("the audit log is unreachable")
        return real(**kwargs)

    monkeypatch.setattr(services, "audit_append", audit_append)


def _fail_event(monkeypatch):
    real = events.append

    def append(**kwargs):
        if kwargs["type"] == EventType.REVIEWED:
            raise Boom("the event table is unreachable")
        return real(**kwargs)

    monkeypatch.setattr(events, "append", append)


@pytest.mark.parametrize("break_it", [_fail_audit, _fail_event], ids=["audit", "event"])
def test_a_failed_review_leaves_the_case_before_the_step(world, promised, monkeypatch,
                                                         break_it):
    """Status, process state, tasks, events and audit are untouched; a retry then works."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    reviewer = world.user("a", Role.REVIEWER)
    task = services.task_claim(actor=reviewer, task=open_task(case))
    before = _state(case)
    with monkeypatch.context() as patch:
        break_it(patch)
        with pytest.raises(Boom):
            services.task_complete(actor=reviewer, task=task, decision="approve",
                                   opinion="同意")
    assert _state(case) == before
    assert reload(case).status == Case.Status.IN_PROGRESS
    assert Task.objects.get(pk=task.pk).status == Task.Status.CLAIMED
    assert not Task.objects.filter(case=case, name="decide").exists()

    token = context.activate(context.RequestContext(request_id="retry-1"))
    try:
        services.task_complete(actor=reviewer, task=task, decision="approve", opinion="同意")
    finally:
        context.deactivate(token)
    reviewed = CaseEvent.objects.filter(case=case, type=EventType.REVIEWED)
    assert reviewed.count() == 1
    completed = AuditRecord.objects.filter(action=CasesAction.TASK_COMPLETED,
                                           object_id=str(case.pk), changes__task="审查")
    assert completed.count() == 1
    event, record = reviewed.get(), completed.get()
    assert event.correlation_id == record.request_id == "retry-1"
    assert (event.data["decision"], record.changes["decision"]) == ("approve", "approve")
    assert event.data["opinion"] == record.reason == "同意"
    assert open_task(case).name == "decide"
    assert Task.objects.get(pk=task.pk).status == Task.Status.DONE


def test_a_failed_acceptance_does_not_start_the_clock(world, promised, monkeypatch):
    """If acceptance fails at its last write, the case is still waiting, clock unset."""
    case, _code = submitted(world, promised)
    before = _state(case)
    with monkeypatch.context() as patch:
        _fail_audit(patch)
        with pytest.raises(Boom):
            complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    assert _state(case) == before
    case = reload(case)
    assert case.status == Case.Status.SUBMITTED
    assert case.accepted_at is None and case.statutory_due is None


# --- failing half-way: delivery and decision --------------------------------------

def _fail_completion_audit(patch):
    real = services.audit_append

    def audit_append(**kwargs):
        if kwargs["action"] == CasesAction.TASK_COMPLETED:
            raise Boom
        return real(**kwargs)

    patch.setattr(services, "audit_append", audit_append)


def test_failed_delivery_that_issued_the_missing_certificate(world, promised, monkeypatch):
    """Delivery issues the certificate the background run never made, then fails at its
    audit record: nothing of the step stays, not even the certificate's file."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    monkeypatch.setattr(tasks, "EAGER", False)
    monkeypatch.setattr(tasks, "_embedded", type("Null", (), {"submit": lambda *a: None})())
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    monkeypatch.setattr(tasks, "EAGER", True)
    assert not Certificate.objects.filter(case=case).exists()
    before = _state(case)
    with monkeypatch.context() as patch:
        _fail_completion_audit(patch)
        with pytest.raises(Boom):
            complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    assert _state(case) == before
    # The file it left is replaced by the retry (documented in cases/certificates.py).
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert case.status == Case.Status.CLOSED
    assert Certificate.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, type=EventType.CERTIFICATE_ISSUED).count() == 1
    assert AuditRecord.objects.filter(action=CasesAction.CERTIFICATE_ISSUED).count() == 1


def test_failed_decision_is_retried_cleanly(world, promised, monkeypatch,
                                           django_capture_on_commit_callbacks):
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    before = _state(case)
    with monkeypatch.context() as patch:
        _fail_completion_audit(patch)
        with pytest.raises(Boom):
            complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    assert _state(case) == before
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    case = reload(case)
    assert case.status == Case.Status.APPROVED
    assert Certificate.objects.filter(case=case).count() == 1
    assert open_task(case).name.startswith("deliver")
