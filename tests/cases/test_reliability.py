"""A step that fails half-way leaves the case exactly as it was before the step
(a certificate its delivery issued first, in a transaction of its own, stays)."""

import pytest

from tests.cases.helpers import (
    audit_actions,
    complete,
    nothing_written,
    open_task,
    reload,
    stored_files,
    submitted,
)
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.cases import certificates, events, services
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


def _approved_without_certificate(world, promised, monkeypatch):
    """An approved case whose background certificate issue was lost."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    with monkeypatch.context() as patch:
        patch.setattr(tasks, "EAGER", False)
        patch.setattr(tasks, "_embedded", type("Null", (), {"submit": lambda *a: None})())
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    assert not Certificate.objects.filter(case=case).exists()
    return case


def test_failed_delivery_that_issued_the_missing_certificate(world, promised, monkeypatch):
    """Delivery issues the certificate the background run never made, in a transaction
    of its own, then fails at its audit record: the certificate stays whole (row, event,
    audit record and its file), as the background run would have left it; nothing of
    the delivery stays, and storage keeps no signed file that no certificate records.
    The retry delivers with that certificate."""
    case = _approved_without_certificate(world, promised, monkeypatch)
    files = stored_files()
    before = _state(case)
    issued_before = audit_actions(case)
    with monkeypatch.context() as patch:
        _fail_completion_audit(patch)
        with pytest.raises(Boom):
            complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    certificate = Certificate.objects.get(case=case)
    assert stored_files() == files | {certificate.file.name}
    after = _state(case)
    assert (after["case"], after["tasks"]) == (before["case"], before["tasks"])
    assert after["events"][:len(before["events"])] == before["events"]
    assert [e["type"] for e in after["events"][len(before["events"]):]] == [
        EventType.CERTIFICATE_ISSUED]
    # The case's audit records; the agency's signing key, made on first use, keeps its own.
    assert audit_actions(case) == [*issued_before, CasesAction.CERTIFICATE_ISSUED]

    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert case.status == Case.Status.CLOSED
    assert list(Certificate.objects.filter(case=case)) == [certificate]
    assert stored_files() == files | {certificate.file.name}
    assert CaseEvent.objects.filter(case=case, type=EventType.CERTIFICATE_ISSUED).count() == 1
    assert AuditRecord.objects.filter(action=CasesAction.CERTIFICATE_ISSUED).count() == 1


def test_a_certificate_that_fails_to_be_recorded_leaves_no_file(world, promised,
                                                                monkeypatch):
    """The issue stores the signed file before it records the certificate: recording
    failing (here its audit record) removes the file again, and delivery, which issued
    it, is refused with nothing written."""
    case = _approved_without_certificate(world, promised, monkeypatch)
    real = certificates.audit_append

    def audit_append(**kwargs):
        if kwargs["action"] == CasesAction.CERTIFICATE_ISSUED:
            raise Boom("the audit log is unreachable")
        return real(**kwargs)

    files = stored_files()
    with monkeypatch.context() as patch:
        patch.setattr(certificates, "audit_append", audit_append)
        with pytest.raises(Boom):
            tasks.run_now("cases.issue_certificate", case_id=case.pk)
        assert stored_files() == files
        assert not Certificate.objects.filter(case=case).exists()
        # Now that the agency's signing key exists (made on first use, and kept).
        with nothing_written(), pytest.raises(Boom):
            complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    assert reload(case).status == Case.Status.APPROVED


def test_a_certificate_run_that_finds_another_recorded_removes_its_own_file(
        world, promised, monkeypatch):
    """Two runs at once both render and store; the one that takes the lock second keeps
    the first's certificate and removes its own file, not the recorded one."""
    case = _approved_without_certificate(world, promised, monkeypatch)
    files = stored_files()
    real = certificates._prepare
    first = []

    def prepare(case, agency_id):
        prepared = real(case, agency_id)
        if not first:
            # The other run, rendered after this one, records first.
            first.append(None)
            first[0] = certificates.certificate_issue_for_case(case_id=case.pk)
        return prepared

    monkeypatch.setattr(certificates, "_prepare", prepare)
    assert certificates.certificate_issue_for_case(case_id=case.pk) == first[0]
    certificate = Certificate.objects.get(case=case)
    assert certificate.pk == first[0]
    assert stored_files() == files | {certificate.file.name}
    assert certificates.certificate_verify(certificate=certificate).ok


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
