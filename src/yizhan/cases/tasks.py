"""Background work of the case engine."""

from yizhan.core.tasks import task

# The name the recount is recorded under in workdays' CalendarCheckpoint.
DEADLINES_FOLLOWER = "cases.deadlines"


def deadlines_catch_up(*, force: bool = False):
    """Count every deadline again if the calendar moved past the last full recount.

    A calendar change asks for it after the change commits
    (``on_calendar_day_changed``, ``on_calendar_year_published``), and the
    periodic job runs it again in case that run was lost (a worker that
    died in between, a broker that dropped the message): otherwise cases
    would keep deadlines counted on the old calendar for good.  It recounts
    all (year None: which years a lost run was for is not known) when the
    calendar's version is not the one recorded by the last run, and records
    it, so the periodic run after a change's own finds nothing to do.
    """
    from yizhan.cases.services import deadlines_recompute
    from yizhan.workdays.services import calendar_catch_up

    return calendar_catch_up(actor=None, follower=DEADLINES_FOLLOWER,
                             work=deadlines_recompute, force=force)


@task("cases.catch_up_deadlines", every=300)
def catch_up_deadlines() -> dict:
    """Every five minutes (embedded scheduler or Celery beat); safe on several nodes."""
    done = deadlines_catch_up()
    return {"recounted": done.ran, "cases": done.result or 0, "calendar": done.version}


@task("cases.release_lapsed_claims", every=60)
def release_lapsed_claims() -> dict:
    """Every minute: tasks claimed through a grant that ran out go back to their
    post (an expiry, unlike a revocation, is announced by nothing); safe on
    several nodes."""
    from yizhan.cases.services import claims_release_lapsed

    return {"released": len(claims_release_lapsed())}


@task("cases.tell_task_holders")
def tell_task_holders(*, task_ids: list[int]) -> int:
    from yizhan.cases.notifications import tell_task_holders

    return tell_task_holders(task_ids)


@task("cases.tell_cancelled")
def tell_cancelled(*, task_ids: list[int], reason: str) -> int:
    from yizhan.cases.notifications import tell_cancelled

    return tell_cancelled(task_ids, reason=reason)


def on_calendar_year_published(sender, *, year, **kwargs):
    """A year's holidays are in: provisional deadlines over it become final."""
    from yizhan.core.tasks import enqueue

    enqueue("cases.catch_up_deadlines")


def on_calendar_day_changed(sender, *, year, published, **kwargs):
    """A day changed: deadlines counted over it move.  In a published year
    they were final; in one still to be published they stay provisional,
    but move too, so that a case accepted before the edit counts the same
    days as one accepted after it."""
    from yizhan.core.tasks import enqueue

    enqueue("cases.catch_up_deadlines")


def on_posts_left(sender, *, actor, user, posts, **kwargs):
    """Someone left posts or a grant was revoked: the tasks they claimed there
    go back to the post, in the same transaction (not background work: the
    change is one)."""
    from yizhan.cases.services import release_claims

    release_claims(actor=actor, user=user, posts=posts)
