"""Two people acting on the same task: exactly one wins, the other is told."""


import contextlib
import threading

import pytest

from tests.cases.helpers import (
    accepted_parallel,
    colleague,
    complete,
    draft,
    event_types,
    nothing_written,
    open_task,
    reload,
    run_together,
    submitted,
)
from tests.markers import postgres_only
from yizhan.accounts.models import User
from yizhan.audit.models import AuditRecord
from yizhan.cases import selectors, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, CaseEvent, EventType, StatusQueryFailure, Task
from yizhan.core.errors import Conflict, NotFound, Throttled
from yizhan.directory.roles import Role


def _second_reviewer(world):
    """Another reviewer of agency A, on the same post as the first."""
    return colleague(world, "a", Role.REVIEWER, "a.reviewer2")


def _in_review(world, version):
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    return case, open_task(case)


def test_of_two_claims_with_stale_objects_one_wins(world, promised):
    """Both loaded the open task; the second claim gets Conflict cases.task_taken."""
    case, task = _in_review(world, promised)
    first, second = world.user("a", Role.REVIEWER), _second_reviewer(world)
    stale_one = Task.objects.get(pk=task.pk)
    stale_two = Task.objects.get(pk=task.pk)
    claimed = services.task_claim(actor=first, task=stale_one)
    assert (claimed.status, claimed.claimed_by) == (Task.Status.CLAIMED, first)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.task_claim(actor=second, task=stale_two)
    assert (exc.value.code, exc.value.http_status) == (CasesErrorCode.TASK_TAKEN, 409)
    task.refresh_from_db()
    assert (task.status, task.claimed_by, task.version) == (Task.Status.CLAIMED, first, 1)
    assert event_types(case).count(EventType.TASK_CLAIMED) == 1
    claim_event = case.events.get(type=EventType.TASK_CLAIMED)
    assert (claim_event.actor, claim_event.task) == (first, task)
    assert AuditRecord.objects.filter(action=CasesAction.TASK_CLAIMED).count() == 1


def test_claiming_ones_own_task_again_changes_nothing(world, promised):
    """A repeated click on 签收 by the same person is no error and no second event."""
    _case, task = _in_review(world, promised)
    reviewer = world.user("a", Role.REVIEWER)
    services.task_claim(actor=reviewer, task=task)
    with nothing_written():
        again = services.task_claim(actor=reviewer, task=task)
    assert again.claimed_by == reviewer


def test_a_task_claimed_by_someone_else_cannot_be_completed(world, promised):
    """Only the claimer completes a claimed task."""
    case, task = _in_review(world, promised)
    services.task_claim(actor=world.user("a", Role.REVIEWER), task=task)
    second = _second_reviewer(world)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.task_complete(actor=second, task=task, decision="approve")
    assert exc.value.code == CasesErrorCode.TASK_TAKEN
    assert reload(case).status == Case.Status.IN_PROGRESS


def test_the_claimer_completes_their_task(world, promised):
    """The claimed task is completed by its claimer and keeps them as the handler."""
    case, task = _in_review(world, promised)
    reviewer = world.user("a", Role.REVIEWER)
    services.task_claim(actor=reviewer, task=task)
    services.task_complete(actor=reviewer, task=task, decision="approve")
    task.refresh_from_db()
    assert (task.status, task.claimed_by) == (Task.Status.DONE, reviewer)
    assert event_types(case)[-2:] == [EventType.TASK_CLAIMED, EventType.REVIEWED]


def test_a_done_task_cannot_be_completed_again(world, promised):
    """Completing a finished task (a stale page, a retried request) is refused."""
    case, task = _in_review(world, promised)
    stale = Task.objects.get(pk=task.pk)
    services.task_complete(actor=world.user("a", Role.REVIEWER), task=task, decision="approve")
    second = _second_reviewer(world)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.task_complete(actor=second, task=stale, decision="approve")
    assert exc.value.code == CasesErrorCode.TASK_CLOSED
    assert event_types(case).count(EventType.REVIEWED) == 1


def test_a_decision_sent_again_by_whoever_made_it_returns_the_task(world, promised):
    """The reviewer's own decision sent again (a double click, a retry after the
    answer was lost), from the page they decided on: the task as it is, nothing
    written.  Sent with another decision or opinion it is still refused."""
    case, task = _in_review(world, promised)
    reviewer = world.user("a", Role.REVIEWER)
    stale = Task.objects.get(pk=task.pk)
    services.task_complete(actor=reviewer, task=task, decision="approve", opinion=" 同意 ",
                           expected_version=stale.version)
    with nothing_written():
        again = services.task_complete(actor=reviewer, task=stale, decision="approve",
                                       opinion="同意", expected_version=stale.version)
        assert (again.pk, again.status, again.opinion) == (task.pk, Task.Status.DONE, "同意")
        for decision, opinion in (("reject", "同意"), ("approve", "同意，建议批准")):
            with pytest.raises(Conflict) as exc:
                services.task_complete(actor=reviewer, task=stale, decision=decision,
                                       opinion=opinion)
            assert exc.value.code == CasesErrorCode.TASK_CLOSED
    assert event_types(case).count(EventType.REVIEWED) == 1


def test_a_done_task_cannot_be_claimed(world, promised):
    """Claiming a finished task is refused as taken."""
    _case, task = _in_review(world, promised)
    services.task_complete(actor=world.user("a", Role.REVIEWER), task=task, decision="approve")
    second = _second_reviewer(world)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.task_claim(actor=second, task=task)
    assert exc.value.code == CasesErrorCode.TASK_TAKEN


def _corrected_meanwhile(world, promised):
    """A case whose acceptance task changed under a page read before: a colleague
    sent the correction notice and the applicant answered it with a new file.
    Returns the case, the task and its version as the page showed it."""
    from tests.cases.helpers import upload

    case, _code = submitted(world, promised)
    task = open_task(case)
    shown = task.version
    first = promised.materials.get(name="申请书")
    services.case_request_correction(actor=colleague(world, "a", Role.WINDOW_CLERK, "clerk.b"),
                                     task=task, items=[{"material_id": first.pk,
                                                        "problem": "未签字"}])
    services.material_upload(actor=world.citizen, case=reload(case), material_id=first.pk,
                             upload=upload(b"%PDF-1.4\n% another file\n%%EOF\n"))
    services.case_correct(actor=world.citizen, case=reload(case))
    return case, task, shown


@pytest.mark.parametrize("step", ["approve", "reject", "return", "correction"])
def test_a_step_taken_on_a_stale_reading_is_refused(world, promised, step):
    """Accepting on files the clerk never saw: refused (cases.task_changed), nothing
    written; taken on the task as it now is, it goes through."""
    case, task, shown = _corrected_meanwhile(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    take = {
        "approve": lambda version: services.task_complete(
            actor=clerk, task=task, decision="approve", expected_version=version),
        "reject": lambda version: services.task_complete(
            actor=clerk, task=task, decision="reject", opinion="不属于本机关",
            expected_version=version),
        # Only a review or a decision is returned: refused as stale before that.
        "return": lambda version: services.task_return(
            actor=clerk, task=task, opinion="退回", expected_version=version),
        "correction": lambda version: services.case_request_correction(
            actor=clerk, task=task, items=[{"material_id": 0, "problem": "x"}],
            expected_version=version),
    }[step]
    with nothing_written(), pytest.raises(Conflict) as exc:
        take(shown)
    assert exc.value.code == CasesErrorCode.TASK_CHANGED
    assert "刷新" in exc.value.render()
    if step in ("approve", "reject"):
        take(open_task(case).version)
        assert reload(case).status != Case.Status.SUBMITTED


def test_without_a_version_the_task_is_taken_as_it_is(world, promised):
    """Callers that send no version (the API before it had one) act as before."""
    case, task, _shown = _corrected_meanwhile(world, promised)
    services.task_complete(actor=world.user("a", Role.WINDOW_CLERK), task=task,
                           decision="approve")
    assert reload(case).status == Case.Status.IN_PROGRESS


def test_a_stale_version_over_the_api_is_a_409(world, promised, client_for):
    """The inbox gives each task's version; sent back stale, the step is refused."""
    from tests.api import api_error

    case, task, shown = _corrected_meanwhile(world, promised)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    listed = clerk.get("/api/v1/tasks/inbox").json()
    assert [t["version"] for t in listed if t["id"] == task.pk] == [open_task(case).version]
    with nothing_written():
        refused = clerk.post(f"/api/v1/tasks/{task.pk}/complete",
                             {"decision": "approve", "version": shown},
                             content_type="application/json")
    api_error(refused, 409, "cases.task_changed")
    done = clerk.post(f"/api/v1/tasks/{task.pk}/complete",
                      {"decision": "approve", "version": open_task(case).version},
                      content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == Task.Status.DONE


# --- real threads (PostgreSQL) -------------------------------------------------------


@postgres_only
def test_two_threads_claiming_at_once_one_wins(transactional_db, world, promised):
    """Two reviewers claim in two transactions at once: one claim, one task_taken."""
    case, task = _in_review(world, promised)
    second = _second_reviewer(world)
    reviewers = [User.objects.get(pk=world.user("a", Role.REVIEWER).pk),
                 User.objects.get(pk=second.pk)]
    results = run_together(*[
        (lambda user=user: services.task_claim(actor=user, task=Task.objects.get(pk=task.pk)))
        for user in reviewers])
    wins = [r for r in results if isinstance(r, Task)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert (len(wins), len(losses)) == (1, 1), results
    assert losses[0].code == CasesErrorCode.TASK_TAKEN
    task.refresh_from_db()
    assert task.status == Task.Status.CLAIMED
    assert task.claimed_by_id == wins[0].claimed_by_id
    assert CaseEvent.objects.filter(case=case, type=EventType.TASK_CLAIMED).count() == 1
    assert AuditRecord.objects.filter(action=CasesAction.TASK_CLAIMED).count() == 1


@postgres_only
def test_two_joint_reviews_finishing_at_once_both_count(transactional_db, world):
    """Two agencies completing their joint reviews at the same moment lose neither answer."""
    case, c, c_staff = accepted_parallel(world)
    b_task = open_task(case, "joint_review", agency=world.agency_b)
    c_task = open_task(case, "joint_review", agency=c)
    b_reviewer = User.objects.get(pk=world.user("b", Role.REVIEWER).pk)
    c_reviewer = User.objects.get(pk=c_staff[Role.REVIEWER].pk)
    results = run_together(
        lambda: services.task_complete(actor=b_reviewer, task=b_task, decision="approve"),
        lambda: services.task_complete(actor=c_reviewer, task=c_task, decision="approve"),
    )
    assert all(isinstance(r, Task) for r in results), results
    complete(world.user("a", Role.REVIEWER), case, "lead_review")
    assert open_task(case).name == "decide"
    assert event_types(case).count(EventType.REVIEWED) == 3


@postgres_only
def test_applications_submitted_at_once_get_numbers_in_turn(transactional_db, world,
                                                             promised):
    """The agency's first applications of the year, submitted at the same moment,
    get the serials 1, 2 and 3: the sequence is made once and counted under its lock."""
    drafts = [draft(world, promised, key=f"k{n}") for n in range(3)]
    citizen = User.objects.get(pk=world.citizen.pk)
    results = run_together(*[
        (lambda case=case: services.case_submit(actor=citizen, case=Case.objects.get(pk=case.pk)))
        for case in drafts])
    assert all(isinstance(r, tuple) for r in results), results
    numbers = sorted(Case.objects.filter(pk__in=[c.pk for c in drafts])
                     .values_list("number", flat=True))
    assert [number[-6:] for number in numbers] == ["000001", "000002", "000003"]


@postgres_only
def test_wrong_codes_sent_at_once_are_throttled_as_when_sent_in_turn(
        transactional_db, world, promised, monkeypatch):
    """Twenty wrong query codes sent at the same moment from one address: no more
    than ten are checked against the case, as when they come one after another
    (each try is counted before its code is checked, not after)."""
    case, _code = submitted(world, promised)
    number = Case.objects.get(pk=case.pk).number
    tries = 20
    checked = []
    lock = threading.Lock()
    together = threading.Barrier(tries)
    real = selectors.case_by_query_code

    def slow_check(*, number, code):
        with lock:
            checked.append(code)
        # Every try that got past the count waits here for the others, as
        # requests served at once by several workers do.
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait(timeout=3)
        return real(number=number, code=code)

    monkeypatch.setattr(selectors, "case_by_query_code", slow_check)
    results = run_together(*[
        (lambda i=i: services.case_status_lookup(number=number, code=f"{i:08d}",
                                                 ip="10.7.7.7"))
        for i in range(tries)])
    assert all(isinstance(r, (NotFound, Throttled)) for r in results), results
    assert len(checked) <= services.STATUS_QUERY_MAX_FAILURES, (
        f"{len(checked)} wrong codes were checked; "
        f"{StatusQueryFailure.objects.count()} failures recorded")
    # Only the wrong codes checked count: the tries refused do not lengthen the wait.
    assert StatusQueryFailure.objects.count() == len(checked)
