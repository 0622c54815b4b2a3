"""Background work of the case engine."""

import datetime as dt
import logging

from django.utils import timezone

from yizhan.core.tasks import task

log = logging.getLogger(__name__)

# The name the recount is recorded under in workdays' CalendarCheckpoint.
DEADLINES_FOLLOWER = "cases.deadlines"

# How long an approval's own background issue (``cases.issue_certificate``,
# queued as the decision commits) has before the periodic job issues the
# certificate instead: longer than a busy queue takes, so that the two seldom
# render the same certificate side by side (harmless, only wasted: the second
# to record it keeps the first's).
CERTIFICATE_GRACE = dt.timedelta(minutes=10)


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


@task("cases.issue_missing_certificates", every=300)
def issue_missing_certificates() -> dict:
    """Every five minutes: the certificate of an approval whose background
    issue was lost (a worker killed, a queue emptied) is issued here.

    A 即办件 closes (办结) approved at the window's one step, with no
    delivery step to issue it (``services._ensure_certificate``): without
    this its applicant, told the certificate can be downloaded, would never
    have one.  Each case is issued as its own run would have issued it (by
    the deciding step's agency, as whoever decided), in a transaction of
    its own, so that one that cannot be issued (a name no installed font
    can draw) holds up no other; it is tried again next time.  Safe on
    several nodes: issuing twice records one certificate.
    """
    from yizhan.cases.certificates import certificate_issue_for_case, certificates_missing
    from yizhan.core import context

    issued = failed = 0
    for case_id, decided_id in certificates_missing(
            decided_before=timezone.now() - CERTIFICATE_GRACE):
        try:
            # One action per certificate: its event and audit record share
            # an id with nothing issued for another case.
            with context.acting("task"):
                certificate = certificate_issue_for_case(case_id=case_id, task_id=decided_id)
        except Exception:
            failed += 1
            log.exception("case %s: its missing certificate could not be issued", case_id)
        else:
            # 0: no longer an approval when the case was locked.
            issued += bool(certificate)
    return {"issued": issued, "failed": failed}


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
