"""Background work of the accounts app."""

from django.contrib.sessions.models import Session
from django.utils import timezone

from yizhan.core.tasks import task


@task("accounts.clear_expired_sessions", every=3600)
def clear_expired_sessions() -> int:
    """Delete expired sessions; idempotent, so two nodes may both run it."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
