"""Helpers that check what a call wrote: nothing at all, or these audit rows.

``nothing_written()`` snapshots every table of the directory and accounts
apps and the audit log, and fails if the block changed any of them.  Use it
around ``pytest.raises`` so the refusal is checked first::

    with nothing_written(), pytest.raises(PermissionDenied):
        services.post_create(actor=stranger, ...)
"""

from tests.writes import watching
from yizhan.accounts.models import ApiToken, SignInFailure, User
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.directory.models import Agency, Applicant, Division, Post, Posting, ScopeGrant

_WATCHED = (Division, Agency, Post, Posting, ScopeGrant, Applicant, User, ApiToken,
            SignInFailure, AuditRecord, AuditChainHead)


# Bookkeeping that any authenticated call may touch, refused or not: when a
# token was last used is recorded before the endpoint decides anything.
nothing_written = watching(*_WATCHED, ignore={ApiToken: {"last_used_at"}})


def audit_rows(action: str, **filters):
    """Audit records of ``action`` (and ``filters``), oldest first."""
    return list(AuditRecord.objects.filter(action=action, **filters).order_by("at", "id"))


def last_audit(action: str, **filters) -> AuditRecord:
    rows = audit_rows(action, **filters)
    assert rows, f"no audit record {action} {filters}"
    return rows[-1]
