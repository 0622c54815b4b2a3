"""Steps that meet on PostgreSQL: keyed retries, two staff, joins, certificates,
the audit chain, background work and the supervision sweep."""

import pytest
from django.db import transaction

from tests.cases.helpers import (
    accepted_parallel,
    colleague,
    complete,
    event_types,
    open_task,
    publish_item,
    reload,
    run_together,
    stored_files,
    submitted,
)
from tests.markers import postgres_only
from yizhan.accounts.models import User
from yizhan.audit.models import AuditRecord
from yizhan.audit.verify import verify_chain
from yizhan.cases import certificates, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.models import Case, CaseEvent, Certificate, EventType, Task
from yizhan.core import tasks
from yizhan.core.errors import Conflict
from yizhan.directory.roles import Role


class Boom(Exception):
    pass


@postgres_only
def test_same_key_from_two_threads_makes_one_case(transactional_db, world, promised):
    citizen = User.objects.get(pk=world.citizen.pk)
    results = run_together(*[
        (lambda: services.case_create(actor=citizen, item_version=promised,
                                      applicant=world.applicant, idempotency_key="same"))
        for _ in range(4)])
    assert all(isinstance(r, Case) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Case.objects.count() == 1
    assert AuditRecord.objects.filter(action=CasesAction.CASE_CREATED).count() == 1


@postgres_only
def test_two_staff_completing_one_open_task_at_once(transactional_db, world, promised):
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    task = open_task(case)
    second = colleague(world, "a", Role.REVIEWER, "a.reviewer2")
    users = [User.objects.get(pk=world.user("a", Role.REVIEWER).pk), second]
    results = run_together(*[
        (lambda u=u, d=d: services.task_complete(actor=u, task=Task.objects.get(pk=task.pk),
                                                 decision=d, opinion="意见"))
        for u, d in zip(users, ["approve", "reject"], strict=True)])
    wins = [r for r in results if isinstance(r, Task)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert (len(wins), len(losses)) == (1, 1), results
    assert event_types(case).count(EventType.REVIEWED) == 1
    assert Task.objects.filter(case=case, name="decide").count() == 1
    assert AuditRecord.objects.filter(action=CasesAction.TASK_COMPLETED,
                                      changes__task="审查").count() == 1


@postgres_only
def test_three_branches_finishing_at_once_join_once(transactional_db, world):
    case, c, c_staff = accepted_parallel(world)
    lead = open_task(case, "lead_review")
    b_task = open_task(case, "joint_review", agency=world.agency_b)
    c_task = open_task(case, "joint_review", agency=c)
    calls = [
        (User.objects.get(pk=world.user("a", Role.REVIEWER).pk), lead),
        (User.objects.get(pk=world.user("b", Role.REVIEWER).pk), b_task),
        (User.objects.get(pk=c_staff[Role.REVIEWER].pk), c_task),
    ]
    results = run_together(*[
        (lambda u=u, t=t: services.task_complete(actor=u, task=t, decision="approve",
                                                 opinion="同意"))
        for u, t in calls])
    assert all(isinstance(r, Task) for r in results), results
    assert Task.objects.filter(case=case, name="decide").count() == 1
    assert open_task(case).name == "decide"
    assert event_types(case).count(EventType.REVIEWED) == 3


def _approved(world, version):
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    tasks.EAGER = False
    try:
        with transaction.atomic():   # the background issue is not run here
            complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
            transaction.set_rollback(False)
    finally:
        tasks.EAGER = True
    return reload(case)


@postgres_only
def test_certificate_issued_twice_at_once_is_issued_once(transactional_db, world, promised,
                                                         monkeypatch):
    from tests.cases.conftest import _fresh_caches  # noqa: F401

    monkeypatch.setattr(tasks, "_embedded", type("Null", (), {"submit": lambda *a: None})())
    case = _approved(world, promised)
    assert case.status == Case.Status.APPROVED
    assert not Certificate.objects.filter(case=case).exists()
    results = run_together(*[
        (lambda: certificates.certificate_issue_for_case(case_id=case.pk, actor_id=None,
                                                         agency_id=case.agency_id))
        for _ in range(3)])
    assert all(isinstance(r, int) for r in results), results
    assert Certificate.objects.filter(case=case).count() == 1
    assert len(set(results)) == 1
    # A run that lost to another removed the file it had stored.
    assert {name for name in stored_files() if name.startswith("certificates/")} == {
        Certificate.objects.get(case=case).file.name}
    assert event_types(case).count(EventType.CERTIFICATE_ISSUED) == 1
    assert AuditRecord.objects.filter(action=CasesAction.CERTIFICATE_ISSUED).count() == 1


@postgres_only
def test_audit_chain_verifies_after_steps_of_several_agencies_at_once(transactional_db, world,
                                                                      promised):
    b_version = publish_item(world, agency=world.agency_b, name="乙局许可")
    a_cases = [submitted(world, promised, key=f"a{n}")[0] for n in range(3)]
    b_cases = [submitted(world, b_version, key=f"b{n}")[0] for n in range(3)]
    a_clerk = User.objects.get(pk=world.user("a", Role.WINDOW_CLERK).pk)
    b_clerk = User.objects.get(pk=world.user("b", Role.WINDOW_CLERK).pk)
    calls = [(a_clerk, c) for c in a_cases] + [(b_clerk, c) for c in b_cases]
    results = run_together(*[
        (lambda u=u, c=c: services.task_complete(actor=u, task=open_task(c, "accept"),
                                                 decision="approve"))
        for u, c in calls])
    assert all(isinstance(r, Task) for r in results), results
    result = verify_chain(stop_at_first=False)
    assert result.breaks == []
    assert result.records == AuditRecord.objects.count()


def test_background_work_of_a_rolled_back_decision_never_runs(world, promised, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    real = services.audit_append

    def audit_append(**kwargs):
        if kwargs["action"] == CasesAction.TASK_COMPLETED:
            raise Boom
        return real(**kwargs)

    monkeypatch.setattr(services, "audit_append", audit_append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    assert callbacks == []
    assert not Certificate.objects.filter(case=case).exists()
    assert reload(case).status == Case.Status.IN_PROGRESS
    assert not CaseEvent.objects.filter(case=case, type=EventType.APPROVED).exists()


@postgres_only
def test_sweep_writing_after_a_case_moved_keeps_the_move(transactional_db, world, promised):
    """A sweep plans from rows read before the applicant withdrew; its write of the
    next look does not bring the closed case back under watch."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from tests.cases.helpers import run_in_thread
    from tests.cases.test_lock_order import _until_waiting
    from tests.supervision.helpers import seed_as_migrations_do
    from yizhan.supervision.detection import SweepResult, rules_cache_clear, sweep
    from yizhan.supervision.models import Alert

    seed_as_migrations_do("supervision")
    rules_cache_clear()
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    citizen = User.objects.get(pk=world.citizen.pk)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {Alert._meta.db_table} IN SHARE MODE")
        swept = run_in_thread(lambda: sweep(now=timezone.now() + dt.timedelta(days=400)))
        assert _until_waiting(1)         # planned, waits to write its alerts
        services.case_withdraw(actor=citizen, case=Case.objects.get(pk=case.pk), reason="撤")
    swept[0].join(timeout=60)
    assert isinstance(swept[1]["result"], SweepResult), swept[1]
    case = reload(case)
    assert case.status == Case.Status.WITHDRAWN
    assert case.next_check_at is None
