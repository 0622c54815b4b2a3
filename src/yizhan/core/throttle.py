"""Throttles of what anyone may try without signing in: record, then count.

Password-reset mails and public registration count every try, refused or
not, per address (an IPv6 client's /64, ``core.middleware.throttle_address``)
and, where it matters, per thing tried on (an e-mail address).  Sign-in
counts only failures, which a success clears, and keeps them for the audit
of abuse (``accounts.SignInFailure``); the public status query counts only
wrong guesses (``cases.StatusQueryFailure``): they keep their own tables.
"""

import datetime
from enum import StrEnum

from django.utils import timezone

from yizhan.core.middleware import throttle_address
from yizhan.core.models import Attempt
from yizhan.core.tasks import task

# How long a try is kept once no throttle counts it any more: longer than any
# window here, so a job running late forgets nothing still counted.
KEPT = datetime.timedelta(days=1)


class Over(StrEnum):
    ADDRESS = "address"
    KEY = "key"


def attempt_counted(*, kind: str, ip: str | None, window: datetime.timedelta,
                    per_address: int | None = None, key: str = "",
                    per_key: int | None = None) -> Over | None:
    """Record one try, then count it with those of the last ``window``.

    Returns which limit the try goes beyond (the address's is looked at
    first), or None when it is within both.  A try beyond a limit does not
    lengthen the wait it met: one beyond the address's is not kept, one
    beyond the key's is kept for its address only (the client did make a
    request, and a script repeating one key is still stopped at its address).

    The try is recorded before it is counted, each statement committing on
    its own (call this outside any transaction the caller may roll back,
    or a refused try would not be counted): tries sent at once each see
    those committed before their count, so no more than the limit get past
    it however many come together.  Counting first and recording after
    would let all of them read the same count.
    """
    address = throttle_address(ip)
    attempt = Attempt.objects.create(kind=kind, at=timezone.now(), address=address, key=key)
    recent = Attempt.objects.filter(kind=kind, at__gte=timezone.now() - window)
    over = None
    if per_address is not None and address and recent.filter(address=address).count() > per_address:
        over = Over.ADDRESS
    elif per_key is not None and key and recent.filter(key=key).count() > per_key:
        over = Over.KEY
    if over == Over.ADDRESS:
        attempt.delete()
    elif over == Over.KEY:
        Attempt.objects.filter(pk=attempt.pk).update(key="")
    return over


@task("core.forget_old_attempts", every=3600)
def forget_old_attempts() -> int:
    """Delete tries no throttle counts any more; idempotent, as any node may run it."""
    deleted, _ = Attempt.objects.filter(at__lt=timezone.now() - KEPT).delete()
    return deleted
