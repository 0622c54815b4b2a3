"""What a signing call wrote: nothing at all, or these audit rows and keys."""

from tests.writes import watching
from yizhan.audit.models import AuditChainHead, AuditRecord, SigningKey

_WATCHED = (SigningKey, AuditRecord, AuditChainHead)


# Fail if the block changed signing keys or the audit log.
nothing_written = watching(*_WATCHED)


def audit_rows(action: str, **filters) -> list[AuditRecord]:
    """Audit records of ``action`` (and ``filters``), oldest first."""
    return list(AuditRecord.objects.filter(action=action, **filters).order_by("at", "id"))
