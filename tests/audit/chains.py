"""Helpers shared by the audit tests."""

from django.db import connection, transaction

from yizhan.audit.actions import AuditAction
from yizhan.audit.models import AuditRecord
from yizhan.audit.services import audit_append


@transaction.atomic
def append_in_own_transaction(**kwargs) -> AuditRecord:
    """Append one system record in a transaction of its own.

    Every call enters the same ``Atomic`` object, as a service decorated
    with ``@transaction.atomic`` does.
    """
    return audit_append(actor=None, action=AuditAction.VERIFIED, **kwargs)


def chain(shard: int) -> list[AuditRecord]:
    """The records of one shard in chain order."""
    return list(AuditRecord.objects.filter(shard=shard).order_by("seq"))


def newest_shard() -> int:
    """The shard of the most recently written record."""
    return AuditRecord.objects.order_by("-id").values_list("shard", flat=True)[0]


TABLE = "audit_auditrecord"


def trigger_states() -> dict[str, str]:
    """The append-only triggers of the audit table and whether each is on."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger "
            "WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY tgname",
            [TABLE],
        )
        return dict(cursor.fetchall())


def set_triggers(enabled: bool, name: str = "USER") -> None:
    """Switch one trigger (or all of the table's) on or off; PostgreSQL only."""
    if connection.vendor != "postgresql":
        return
    verb = "ENABLE" if enabled else "DISABLE"
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} {verb} TRIGGER {name}")
