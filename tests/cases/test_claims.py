"""A claimed task whose holder leaves the post goes back to the post (解除签收)."""

import pytest
from django.core import mail

from tests.cases.helpers import (
    audit_actions,
    colleague,
    event_types,
    open_task,
    reload,
    submitted,
)
from yizhan.cases import services
from yizhan.cases.actions import CasesAction
from yizhan.cases.models import Case, EventType, Task
from yizhan.core.errors import PermissionDenied
from yizhan.directory import services as directory_services
from yizhan.directory.models import Post
from yizhan.directory.roles import Role


@pytest.mark.parametrize("how", ["unposted", "deactivated"])
def test_a_claim_goes_back_to_the_post_when_its_holder_leaves(
        world, promised, how, django_capture_on_commit_callbacks):
    """Otherwise nobody could handle the task: colleagues are refused (已由他人
    签收), the leaver no longer may act, and the case would stand still."""
    case, _code = submitted(world, promised)
    leaver = world.user("a", Role.WINDOW_CLERK)
    other = colleague(world, "a", Role.WINDOW_CLERK, "clerk2", email="clerk2@example.org")
    services.task_claim(actor=leaver, task=open_task(case, "accept"))
    mail.outbox.clear()
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
