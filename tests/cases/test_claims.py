"""A claimed task goes back to its post (解除签收): when its holder leaves the post
or the grant they claimed it through ends, or when they (or the agency's head)
give it back."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from tests.cases.helpers import (
    accepted,
    audit_actions,
    colleague,
    complete,
    event_types,
    nothing_written,
    open_task,
    reload,
    submitted,
)
from yizhan.cases import selectors, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, EventType, Task
from yizhan.core import tasks
from yizhan.core.errors import Conflict, PermissionDenied
from yizhan.directory import services as directory_services
from yizhan.directory.authz import forget_scope
from yizhan.directory.models import Post, ScopeGrant
from yizhan.directory.roles import Role


def _accept_claimed_with_a_colleague(world, promised):
    """A submitted case whose acceptance A's clerk claimed, a second clerk of the
    same post, and an empty outbox; returns ``(case, claimer, colleague)``."""
    case, _code = submitted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    other = colleague(world, "a", Role.WINDOW_CLERK, "clerk2", email="clerk2@example.org")
    services.task_claim(actor=clerk, task=open_task(case, "accept"))
    mail.outbox.clear()
    return case, clerk, other


@pytest.mark.parametrize("how", ["unposted", "deactivated"])
def test_a_claim_goes_back_to_the_post_when_its_holder_leaves(
        world, promised, how, django_capture_on_commit_callbacks):
    """Otherwise nobody could handle the task: colleagues are refused (已由他人
    签收), the leaver no longer may act, and the case would stand still."""
    case, leaver, other = _accept_claimed_with_a_colleague(world, promised)
    with django_capture_on_commit_callbacks(execute=True):
        if how == "unposted":
            directory_services.staff_unpost(actor=world.admin, user=leaver,
                                            post=world.posts["a"][Role.WINDOW_CLERK])
        else:
            directory_services.staff_deactivate(actor=world.admin, user=leaver, reason="调离")
    task = open_task(case, "accept")
    assert (task.status, task.claimed_by_id, task.claimed_at) == (Task.Status.OPEN, None, None)
    assert event_types(case)[-1] == EventType.TASK_RELEASED
    assert audit_actions(case)[-1] == CasesAction.TASK_RELEASED
    # The post's remaining holders hear the step is theirs again.
    assert [m.to for m in mail.outbox if m.subject.startswith("新待办")] == [
        ["clerk2@example.org"]]
    services.task_complete(actor=other, task=task, decision="approve")
    assert reload(case).status == Case.Status.IN_PROGRESS


def test_a_claim_in_a_post_the_person_still_holds_is_kept(world, promised):
    """Leaving one of two window posts of the agency keeps the window's claims."""
    case, _code = submitted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    second = Post.objects.create(agency=world.agency_a, name="第二窗口",
                                 role=Role.WINDOW_CLERK)
    directory_services.staff_post(actor=world.admin, user=clerk, post=second)
    services.task_claim(actor=clerk, task=open_task(case, "accept"))
    directory_services.staff_unpost(actor=world.admin, user=clerk,
                                    post=world.posts["a"][Role.WINDOW_CLERK])
    task = open_task(case, "accept")
    assert (task.status, task.claimed_by_id) == (Task.Status.CLAIMED, clerk.pk)
    assert EventType.TASK_RELEASED not in event_types(case)


def test_a_refused_unposting_releases_nothing(world, promised):
    case, _code = submitted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    services.task_claim(actor=clerk, task=open_task(case, "accept"))
    with pytest.raises(PermissionDenied):
        directory_services.staff_unpost(actor=world.user("b", Role.SYSADMIN), user=clerk,
                                        post=world.posts["a"][Role.WINDOW_CLERK])
    task = open_task(case, "accept")
    assert (task.status, task.claimed_by_id) == (Task.Status.CLAIMED, clerk.pk)


# --- given back: 解除签收 ----------------------------------------------------------

def test_the_claimer_gives_a_task_back_to_the_post(
        world, promised, django_capture_on_commit_callbacks):
    """签收 by mistake, or before leave: the claimer puts the task back, recorded as
    such, the post's holders are told, and a colleague then handles it."""
    case, clerk, other = _accept_claimed_with_a_colleague(world, promised)
    with django_capture_on_commit_callbacks(execute=True):
        services.task_release(actor=clerk, task=open_task(case, "accept"))
    task = open_task(case, "accept")
    assert (task.status, task.claimed_by_id, task.claimed_at) == (Task.Status.OPEN, None, None)
    assert event_types(case)[-1] == EventType.TASK_RELEASED
    assert case.events.get(type=EventType.TASK_RELEASED).data["claimed_by"] == clerk.pk
    assert audit_actions(case)[-1] == CasesAction.TASK_RELEASED
    assert ["clerk2@example.org"] in [m.to for m in mail.outbox
                                      if m.subject.startswith("新待办")]
    services.task_claim(actor=other, task=task)
    complete(other, case, "accept")
    assert reload(case).status == Case.Status.IN_PROGRESS


def test_giving_back_a_task_already_back_changes_nothing(world, promised):
    """A second click of 解除签收 finds the task open: nothing more is written."""
    case, _code = submitted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    task = open_task(case, "accept")
    services.task_claim(actor=clerk, task=task)
    services.task_release(actor=clerk, task=task)
    with nothing_written():
        assert services.task_release(actor=clerk, task=task).status == Task.Status.OPEN


def test_a_colleague_cannot_give_back_anothers_claim(world, promised):
    case, _code = submitted(world, promised)
    services.task_claim(actor=world.user("a", Role.WINDOW_CLERK), task=open_task(case))
    other = colleague(world, "a", Role.WINDOW_CLERK, "clerk2")
    for someone in (other, world.user("a", Role.REVIEWER), world.user("b", Role.AGENCY_HEAD)):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.task_release(actor=someone, task=open_task(case))


def test_the_agency_head_gives_back_anyones_claim(world, promised):
    """The head assigns the work of the agency's posts: a claim held by someone
    away goes back without waiting for them to leave the post."""
    case, _code = submitted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    services.task_claim(actor=clerk, task=open_task(case))
    head = world.user("a", Role.AGENCY_HEAD)
    services.task_release(actor=head, task=open_task(case))
    assert open_task(case).status == Task.Status.OPEN
    event = case.events.get(type=EventType.TASK_RELEASED)
    assert (event.actor_id, event.data["claimed_by"]) == (head.pk, clerk.pk)


def test_a_done_task_cannot_be_given_back(world, promised):
    case, _code = submitted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    task = open_task(case)
    services.task_claim(actor=clerk, task=task)
    services.task_complete(actor=clerk, task=task, decision="approve")
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.task_release(actor=world.user("a", Role.AGENCY_HEAD), task=task)
    assert refused.value.code == CasesErrorCode.TASK_CLOSED


# --- claimed through a grant (借调) -------------------------------------------------

def _claimed_through_a_grant(world, promised, *, over):
    """A's review claimed by a reviewer of B whom a grant of A's reviewer role
    seconds to A (借调), ``over`` A itself or the whole city; returns
    ``(case, task, seconded, grant)``."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    seconded = world.user("b", Role.REVIEWER)
    target = ({"agency": world.agency_a} if over == "agency"
              else {"division": world.agency_a.division})
    grant = directory_services.scope_grant_create(
        actor=world.admin, user=seconded, role=Role.REVIEWER, reason="借调甲局审批",
        expires_at=timezone.now() + dt.timedelta(days=30), **target)
    task = services.task_claim(actor=seconded, task=open_task(case, "review"))
    return case, task, seconded, grant


def _runs_out(grant):
    """The grant's expiry passes (after the claim, which it allowed): nothing
    happens until the periodic job looks."""
    ScopeGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())


@pytest.mark.parametrize(("how", "over"), [("revoked", "agency"), ("revoked", "division"),
                                           ("expired", "agency"), ("expired", "division")])
def test_a_claim_made_through_a_grant_goes_back_when_the_grant_ends(
        world, promised, how, over, django_capture_on_commit_callbacks):
    """Otherwise the claim outlives the grant: its holder may no longer act,
    and the post that may neither lists nor counts the task, which stands
    past its limit with nobody told."""
    case, task, seconded, grant = _claimed_through_a_grant(world, promised, over=over)
    with django_capture_on_commit_callbacks(execute=True):
        if how == "revoked":
            directory_services.scope_grant_revoke(actor=world.admin, grant=grant,
                                                  reason="借调结束")
        else:
            _runs_out(grant)
            tasks.run_now("cases.release_lapsed_claims")

    forget_scope(seconded)  # a new request reads the scope afresh
    reviewer = world.user("a", Role.REVIEWER)
    task = Task.objects.get(pk=task.pk)
    assert (task.status, task.claimed_by_id) == (Task.Status.OPEN, None)
    event = case.events.get(type=EventType.TASK_RELEASED)
    assert (event.actor_id, event.data["claimed_by"]) == (
        world.admin.pk if how == "revoked" else None, seconded.pk)
    assert audit_actions(case)[-1] == CasesAction.TASK_RELEASED
    # The one who claimed it can no longer act on it ...
    with pytest.raises(PermissionDenied):
        services.task_complete(actor=seconded, task=task, decision="approve")
    assert task not in selectors.inbox(actor=seconded)
    # ... so the post that may has it back: in its inbox, and to handle.
    assert task in selectors.inbox(actor=reviewer), "the task is in nobody's inbox"
    services.task_complete(actor=reviewer, task=task, decision="approve")


def test_a_claim_still_covered_by_a_post_stays_when_a_grant_runs_out(world, promised):
    """A grant that adds nothing to a post the person holds takes nothing away
    when it ends; the periodic job is registered, and finds nothing more to do."""
    assert ("cases.release_lapsed_claims", 60) in {(p.name, p.seconds) for p in tasks.periodic()}
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    reviewer = world.user("a", Role.REVIEWER)
    grant = directory_services.scope_grant_create(
        actor=world.admin, user=reviewer, role=Role.REVIEWER, agency=world.agency_a,
        reason="值班", expires_at=timezone.now() + dt.timedelta(days=1))
    services.task_claim(actor=reviewer, task=open_task(case, "review"))
    _runs_out(grant)
    with nothing_written():
        assert tasks.run_now("cases.release_lapsed_claims") == {"released": 0}
    directory_services.scope_grant_revoke(actor=world.admin, grant=grant, reason="值班结束")
    task = open_task(case, "review")
    assert (task.status, task.claimed_by_id) == (Task.Status.CLAIMED, reviewer.pk)
    assert EventType.TASK_RELEASED not in event_types(case)


def test_the_head_reaches_a_colleague_s_claimed_step_from_the_pages(world, promised,
                                                                   client_for):
    """The reviewer claims the review and falls ill: nobody else in the post
    sees it any more (neither listed nor counted).  The staff case page lists
    the case's steps, each linked to its task page, where the head gives the
    claim back."""
    case = accepted(world, promised)
    task = open_task(case, "review")
    services.task_claim(actor=world.user("a", Role.REVIEWER), task=task)
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    task_url = f"/workbench/tasks/{task.pk}/"
    reached = set()
    for url in ("/workbench/", "/workbench/cases/", f"/workbench/cases/{case.pk}/"):
        page = head.get(url).content.decode()
        reached |= set(re.findall(r'href="(/workbench/tasks/\d+/)"', page))
    assert task_url in reached, "the head cannot find the claimed step to give it back"
    case_page = head.get(f"/workbench/cases/{case.pk}/").content.decode()
    steps = case_page.split('data-testid="steps"')[1].split("</table>")[0]
    assert str(world.user("a", Role.REVIEWER)) in steps      # who holds it
    assert 'data-testid="release"' in head.get(task_url).content.decode()
    response = head.post(f"{task_url}release/")
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN
