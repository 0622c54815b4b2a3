"""Steps that meet: one lock order for every step, and a calendar change
that waits for the steps counting on the calendar.

A claim (签收) meets a withdrawal or a recount; a person leaving their post
(免去岗位, or their account switched off), whose claims go back to the post,
meets a withdrawal or their own last step.

Every step locks the case row first and then its tasks.  A claim that
locked its task first (its UPDATE) needed the case row only later: the
foreign key of its case event is checked at commit (FOR KEY SHARE on the
case, which the other step holds FOR UPDATE), and the audit head it locks
may be the other step's.  With two lock orders PostgreSQL killed one of the
two with "deadlock detected", a server error for its user.

To meet at the worst moment every time, this connection holds the audit
chain's head (one shard) while the two steps start; another writer holding
it is what happens one time in eight with the default eight shards.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from tests.cases.helpers import (
    complete,
    open_task,
    publish_item,
    reload,
    run_in_thread,
    submitted,
)
from tests.markers import postgres_only
from yizhan.accounts.models import User
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.cases import clock, events, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.models import Case, EventType, Task
from yizhan.core import tasks
from yizhan.directory import services as directory_services
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.roles import Role
from yizhan.workdays import services as workdays_services
from yizhan.workdays.selectors import calendar_build


def _waiting() -> int:
    """Sessions of this test database waiting for a lock (the server may be shared)."""
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless told otherwise.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(DISTINCT l.pid) FROM pg_locks l"
                       " JOIN pg_stat_activity a ON a.pid = l.pid"
                       " WHERE NOT l.granted AND a.datname = current_database()")
        return cursor.fetchone()[0]


def _until_waiting(n: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _waiting() >= n:
            return True
        time.sleep(0.02)
    return False


def _hold_the_head():
    """Lock the one audit chain head (in the caller's open transaction)."""
    AuditChainHead.objects.select_for_update().get(shard=0)


@postgres_only
@override_settings(YIZHAN_AUDIT_SHARDS=1)
def test_claim_while_the_applicant_withdraws(transactional_db, world, promised):
    """A reviewer clicks 签收 as the applicant clicks 撤回申请: neither gets a deadlock."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    task = open_task(case, "review")
    reviewer = User.objects.get(pk=world.user("a", Role.REVIEWER).pk)
    citizen = User.objects.get(pk=world.citizen.pk)
    with transaction.atomic():
        _hold_the_head()
        claim = run_in_thread(lambda: services.task_claim(
            actor=reviewer, task=Task.objects.get(pk=task.pk)))
        assert _until_waiting(1)           # the claim holds its task, waits for the head
        withdraw = run_in_thread(lambda: services.case_withdraw(
            actor=citizen, case=Case.objects.get(pk=case.pk), reason="不再需要"))
        assert _until_waiting(2)           # the withdrawal holds the case, waits for the task
    for thread, _box in (claim, withdraw):
        thread.join(timeout=60)
    results = [claim[1]["result"], withdraw[1]["result"]]
    assert not any(type(r).__name__ in ("OperationalError", "DeadlockDetected")
                   for r in results), results
    assert reload(case).status == Case.Status.WITHDRAWN


def _deadlocked(results) -> bool:
    return any(type(r).__name__ in ("OperationalError", "DeadlockDetected") for r in results)


def _claimed_review(world, promised):
    """A case in review whose review the reviewer of agency A has claimed."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    reviewer = User.objects.get(pk=world.user("a", Role.REVIEWER).pk)
    services.task_claim(actor=reviewer, task=open_task(case, "review"))
    return case, reviewer


def _leaving(world, reviewer, leaving):
    """How the reviewer leaves their post, run by the administrator."""
    admin = User.objects.get(pk=world.admin.pk)
    post = world.posts["a"][Role.REVIEWER]
    return {
        "deactivate": lambda: directory_services.staff_deactivate(
            actor=admin, user=User.objects.get(pk=reviewer.pk), reason="调离"),
        "unpost": lambda: directory_services.staff_unpost(
            actor=admin, user=User.objects.get(pk=reviewer.pk), post=post),
    }[leaving]


@postgres_only
@override_settings(YIZHAN_AUDIT_SHARDS=1)
@pytest.mark.parametrize("leaving", ["deactivate", "unpost"])
def test_leaving_a_post_while_the_applicant_withdraws(transactional_db, world, promised,
                                                      leaving):
    """The head switches off a reviewer's account (or removes them from the post)
    as the applicant of a case whose review they claimed withdraws it.  The
    claim goes back to the post, which locks the case: the directory service
    does it before its audit record, so that it locks case, then head, as the
    withdrawal does.  Head first, then case, deadlocked."""
    case, reviewer = _claimed_review(world, promised)
    citizen = User.objects.get(pk=world.citizen.pk)
    leave = _leaving(world, reviewer, leaving)
    with transaction.atomic():
        _hold_the_head()
        left = run_in_thread(leave)
        assert _until_waiting(1)           # released the claim (case locked), waits for the head
        withdraw = run_in_thread(lambda: services.case_withdraw(
            actor=citizen, case=Case.objects.get(pk=case.pk), reason="不再需要"))
        assert _until_waiting(2)           # the withdrawal waits for the case
    for thread, _box in (left, withdraw):
        thread.join(timeout=60)
    results = [left[1]["result"], withdraw[1]["result"]]
    assert not any(isinstance(r, Exception) for r in results), results
    assert Task.objects.filter(case_id=case.pk, status=Task.Status.CLAIMED).count() == 0
    assert reload(case).status == Case.Status.WITHDRAWN
    released = AuditRecord.objects.get(action=CasesAction.TASK_RELEASED)
    own = AuditRecord.objects.get(object_type="accounts.user", object_id=str(reviewer.pk),
                                  action__in=[DirectoryAction.STAFF_DEACTIVATED,
                                              DirectoryAction.STAFF_UNPOSTED])
    assert (released.shard, released.seq + 1) == (own.shard, own.seq)


@postgres_only
@override_settings(YIZHAN_AUDIT_SHARDS=1)
@pytest.mark.parametrize("leaving", ["deactivate", "unpost"])
def test_leaving_with_claims_on_two_cases_while_the_second_is_withdrawn(
        transactional_db, world, promised, leaving):
    """The reviewer who leaves holds claims on two cases, and the applicant of the
    second withdraws it.  Releasing the first claim appends (takes the head): had
    the second case been locked only then, the release would hold the head while
    waiting for the case the withdrawal holds while waiting for the head.  Every
    case is locked first, in case_id order, and only then are the claims released."""
    first, reviewer = _claimed_review(world, promised)
    second, _reviewer = _claimed_review(world, promised)
    assert first.pk < second.pk
    citizen = User.objects.get(pk=world.citizen.pk)
    leave = _leaving(world, reviewer, leaving)
    with transaction.atomic():
        _hold_the_head()
        left = run_in_thread(leave)
        assert _until_waiting(1)           # both cases locked, waits for the head
        withdraw = run_in_thread(lambda: services.case_withdraw(
            actor=citizen, case=Case.objects.get(pk=second.pk), reason="不再需要"))
        assert _until_waiting(2)           # the withdrawal waits for the second case
    for thread, _box in (left, withdraw):
        thread.join(timeout=60)
    results = [left[1]["result"], withdraw[1]["result"]]
    assert not _deadlocked(results), results
    assert not any(isinstance(r, Exception) for r in results), results
    assert reload(second).status == Case.Status.WITHDRAWN
    assert Task.objects.filter(claimed_by=reviewer, status=Task.Status.CLAIMED).count() == 0
    assert AuditRecord.objects.filter(action=CasesAction.TASK_RELEASED).count() == 2


@postgres_only
@override_settings(YIZHAN_AUDIT_SHARDS=1)
def test_deactivation_while_the_person_finishes_their_step(transactional_db, world, promised):
    """The reviewer completes the review they claimed as their account is switched
    off.  The step holds the case and, at commit, checks its event's reference to
    the reviewer (FOR KEY SHARE on their account); the deactivation, holding the
    account, waits for the case to release the claim.  It locks the account FOR NO
    KEY UPDATE, which lets that check through: FOR UPDATE deadlocked."""
    case, reviewer = _claimed_review(world, promised)
    admin = User.objects.get(pk=world.admin.pk)
    task = open_task(case, "review")
    with transaction.atomic():
        _hold_the_head()
        step = run_in_thread(lambda: services.task_complete(
            actor=reviewer, task=Task.objects.get(pk=task.pk), decision="approve",
            opinion="同意"))
        assert _until_waiting(1)           # the step holds the case, waits for the head
        deactivate = run_in_thread(lambda: directory_services.staff_deactivate(
            actor=admin, user=User.objects.get(pk=reviewer.pk), reason="调离"))
        assert _until_waiting(2)           # holds the account, waits for the case
    for thread, _box in (step, deactivate):
        thread.join(timeout=60)
    results = [step[1]["result"], deactivate[1]["result"]]
    assert not _deadlocked(results), results
    assert not any(isinstance(r, Exception) for r in results), results
    assert Task.objects.get(pk=task.pk).status == Task.Status.DONE
    assert not User.objects.get(pk=reviewer.pk).is_active


@postgres_only
@override_settings(YIZHAN_AUDIT_SHARDS=1)
def test_claim_during_the_deadline_recount(transactional_db, world, promised, monkeypatch):
    """The recount after a calendar change locks every case it counts again,
    then walks them; a reviewer claims a step of a case it has not reached yet."""
    first, _c = submitted(world, promised)
    second, _c = submitted(world, promised)
    for case in (first, second):
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    # Cases are counted in id order (as release_claims locks them): the second comes last.
    task = open_task(second, "review")
    # A holiday inside the review steps' limits, entered with the recount
    # held back: the recount below is the one under test.
    monkeypatch.setattr(tasks, "EAGER", False)
    monkeypatch.setattr(tasks, "_embedded", type("Null", (), {"submit": lambda *a: None})())
    day = timezone.localtime(task.due_at).date()
    workdays_services.calendar_day_set(actor=world.admin, date=day, is_workday=False,
                                       name="调休", reason="国办发明电〔2026〕1号")
    reviewer = User.objects.get(pk=world.user("a", Role.REVIEWER).pk)
    with transaction.atomic():
        _hold_the_head()
        recount = run_in_thread(lambda: services.deadlines_recompute(year=day.year))
        assert _until_waiting(1)           # locked both cases, moved the first, waits for the head
        claim = run_in_thread(lambda: services.task_claim(
            actor=reviewer, task=Task.objects.get(pk=task.pk)))
        assert _until_waiting(2)
    for thread, _box in (recount, claim):
        thread.join(timeout=60)
    results = [recount[1]["result"], claim[1]["result"]]
    assert not any(type(r).__name__ in ("OperationalError", "DeadlockDetected")
                   for r in results), results
    assert results[0] == 2
    assert Task.objects.get(pk=task.pk).status == Task.Status.CLAIMED


@postgres_only
@override_settings(YIZHAN_AUDIT_SHARDS=1)
def test_acceptance_committing_after_a_calendar_change_gets_the_new_deadline(
        transactional_db, world, monkeypatch):
    """A window clerk accepts a case while the calendar administrator makes a
    day of next year a holiday (the usual November/December work).  The
    acceptance holds the calendar's version row (calendar_held) until it
    commits, so the change waits for it and its recount finds the case;
    otherwise the case would keep a deadline that counts the new holiday as a
    working day, for good.  With one audit chain head, the change must take
    the version row before its audit record does: a change that locked the
    head first, then waited for the row, deadlocked with the acceptance
    waiting for the head.
    """
    workdays_services.calendar_seed(actor=None)   # a flushed database has no calendar
    version = publish_item(world, name="长时限许可", statutory_limit=300, promised_limit=300)
    case, _code = submitted(world, version)
    clerk = world.user("a", Role.WINDOW_CLERK)
    counted, go = threading.Event(), threading.Event()
    seen = {}
    real_append = events.append

    def append(**kwargs):
        event = real_append(**kwargs)
        if kwargs["type"] == EventType.ACCEPTED:
            seen["due"] = kwargs["case"].statutory_due   # counted, not yet committed
            counted.set()
            go.wait(timeout=30)
        return event

    monkeypatch.setattr(events, "append", append)
    task = open_task(case, "accept")
    thread, box = run_in_thread(lambda: services.task_complete(actor=clerk, task=task,
                                                               decision="approve"))
    assert counted.wait(timeout=30)
    # The day the clerk's count ends on becomes a holiday.  The change waits
    # for the acceptance to commit, then commits, and the recount it asks
    # for runs at once (tasks are eager).
    day = timezone.localtime(seen["due"]).date()
    change, change_box = run_in_thread(lambda: workdays_services.calendar_day_set(
        actor=world.admin, date=day, is_workday=False, name="调休",
        reason="国办发明电〔2026〕1号"))
    assert _until_waiting(1)      # the change waits for the acceptance's share lock
    go.set()
    thread.join(timeout=60)
    change.join(timeout=60)
    assert not isinstance(box.get("result"), Exception), box
    assert not isinstance(change_box.get("result"), Exception), change_box
    case = reload(case)
    calendar = calendar_build()
    expected = clock.deadlines(calendar=calendar, accepted_at=case.accepted_at,
                               statutory_limit=300, promised_limit=300)
    assert case.statutory_due == expected.statutory.at, (
        f"counted over {day}, now a holiday: {case.statutory_due} instead of "
        f"{expected.statutory.at}")


@postgres_only
@override_settings(YIZHAN_AUDIT_SHARDS=1)
def test_leaving_a_post_during_the_deadline_recount(transactional_db, world, promised,
                                                    monkeypatch):
    """A reviewer who claimed the reviews of two cases is taken off the post while
    the recount after a holiday change runs.  Leaving releases the claims with
    every case locked first in case id order (services.release_claims); the
    recount locks the cases it counts in one statement, in the same order.  The
    window clerk's own step on the older case (here: this connection holding
    its row) makes them meet: both wait for it, and neither holds what the
    other waits for (in the model's order, newest first, PostgreSQL killed
    one with "deadlock detected")."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    reviewer = User.objects.get(pk=world.user("a", Role.REVIEWER).pk)
    first, _c = submitted(world, promised)
    second, _c = submitted(world, promised)
    assert first.pk < second.pk
    for case in (first, second):
        complete(clerk, case, "accept")
        services.task_claim(actor=reviewer, task=open_task(case, "review"))
    # A holiday inside the reviews' limits, its recount held back: the one under test.
    monkeypatch.setattr(tasks, "EAGER", False)
    monkeypatch.setattr(tasks, "_embedded", type("Null", (), {"submit": lambda *a: None})())
    day = timezone.localtime(open_task(first, "review").due_at).date()
    workdays_services.calendar_day_set(actor=world.admin, date=day, is_workday=False,
                                       name="调休", reason="国办发明电〔2026〕1号")
    admin = User.objects.get(pk=world.admin.pk)
    post = world.posts["a"][Role.REVIEWER]
    with transaction.atomic():
        Case.objects.select_for_update().get(pk=first.pk)     # a step on the older case
        left = run_in_thread(lambda: directory_services.staff_unpost(
            actor=admin, user=User.objects.get(pk=reviewer.pk), post=post))
        assert _until_waiting(1)           # leaving waits for the older case
        recount = run_in_thread(lambda: services.deadlines_recompute())
        assert _until_waiting(2)           # the recount waits for the older case too
    for thread, _box in (left, recount):
        thread.join(timeout=60)
    results = [left[1]["result"], recount[1]["result"]]
    assert not _deadlocked(results), results
    assert not any(isinstance(r, Exception) for r in results), results
    assert Task.objects.filter(claimed_by=reviewer, status=Task.Status.CLAIMED).count() == 0
