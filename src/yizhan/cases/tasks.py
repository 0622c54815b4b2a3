"""Background work of the case engine."""

from yizhan.core.tasks import task


@task("cases.recompute_deadlines")
def recompute_deadlines(*, year: int | None = None) -> int:
    from yizhan.cases.services import deadlines_recompute

    return deadlines_recompute(year=year)


@task("cases.tell_task_holders")
def tell_task_holders(*, task_ids: list[int]) -> int:
    from yizhan.cases.notifications import tell_task_holders

    return tell_task_holders(task_ids)


def on_calendar_year_published(sender, *, year, **kwargs):
    """A year's holidays are in: provisional deadlines over it become final."""
    from yizhan.core.tasks import enqueue

    enqueue("cases.recompute_deadlines", year=year)


def on_calendar_day_changed(sender, *, year, published, **kwargs):
    """A day changed: deadlines counted over it move.  In a published year
    they were final; in one still to be published they stay provisional,
    but move too, so that a case accepted before the edit counts the same
    days as one accepted after it."""
    from yizhan.core.tasks import enqueue

    enqueue("cases.recompute_deadlines", year=year)


def on_posts_left(sender, *, actor, user, posts, **kwargs):
    """Someone left posts: the tasks they claimed there go back to the post,
    in the same transaction (not background work: the change is one)."""
    from yizhan.cases.services import release_claims

    release_claims(actor=actor, user=user, posts=posts)
