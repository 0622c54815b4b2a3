"""What a signing call wrote: nothing at all, or these audit rows and keys."""

from contextlib import contextmanager

from yizhan.audit.models import AuditChainHead, AuditRecord, SigningKey

_WATCHED = (SigningKey, AuditRecord, AuditChainHead)


def snapshot() -> dict[str, list[tuple]]:
    return {
        model._meta.label: sorted(
            (tuple(sorted(row.items())) for row in model.objects.values()), key=repr
        )
        for model in _WATCHED
    }


@contextmanager
def nothing_written():
    """Fail if the block changed signing keys or the audit log."""
    before = snapshot()
    yield
    after = snapshot()
    changed = [label for label in before if before[label] != after[label]]
    assert not changed, f"a refused call wrote to {changed}"


def audit_rows(action: str, **filters) -> list[AuditRecord]:
    """Audit records of ``action`` (and ``filters``), oldest first."""
    return list(AuditRecord.objects.filter(action=action, **filters).order_by("at", "id"))
