"""A claimed task goes back to its post (解除签收): when its holder leaves the post,
or when they (or the agency's head) give it back."""

import pytest
from django.core import mail

from tests.cases.helpers import (
    audit_actions,
    colleague,
    complete,
    event_types,
    nothing_written,
    open_task,
    reload,
    submitted,
)
from yizhan.cases import services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, EventType, Task
from yizhan.core.errors import Conflict, PermissionDenied
from yizhan.directory import services as directory_services
from yizhan.directory.models import Post
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
