"""Audit records are written once: the model and the database refuse changes."""

import pytest
from django.db import DatabaseError, connection, transaction

from yizhan.audit.models import AuditRecord, ImmutableRecordError
from yizhan.audit.verify import verify_chain
from yizhan.directory.roles import Role
from yizhan.directory.services import post_create

from .chains import set_triggers, trigger_states

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only"
)


def _snapshot():
    return list(AuditRecord.objects.order_by("id").values_list("id", "reason", "hash"))


def test_saving_an_existing_record_is_refused(world):
    """.save() of a stored record raises and changes nothing."""
    before = _snapshot()
    record = AuditRecord.objects.order_by("id").first()
    record.reason = "事后补记"
    with pytest.raises(ImmutableRecordError):
        record.save()
    with pytest.raises(ImmutableRecordError):
        record.save(update_fields=["reason"])
    assert _snapshot() == before


def test_deleting_a_record_is_refused(world):
    """.delete() of a record raises and the record stays."""
    before = _snapshot()
    record = AuditRecord.objects.order_by("id").first()
    with pytest.raises(ImmutableRecordError):
        record.delete()
    assert _snapshot() == before


def test_queryset_update_is_refused(world):
    """QuerySet.update() on records raises and changes nothing."""
    before = _snapshot()
    with pytest.raises(ImmutableRecordError):
        AuditRecord.objects.all().update(reason="批量改写")
    with pytest.raises(ImmutableRecordError):
        AuditRecord.objects.filter(pk=before[0][0]).update(reason="改写")
    assert _snapshot() == before


def test_queryset_delete_is_refused(world):
    """QuerySet.delete() on records raises and removes nothing."""
    before = _snapshot()
    with pytest.raises(ImmutableRecordError):
        AuditRecord.objects.all().delete()
    with pytest.raises(ImmutableRecordError):
        AuditRecord.objects.filter(pk=before[0][0]).delete()
    assert _snapshot() == before


def test_bulk_update_is_refused(world):
    """bulk_update(), which bypasses save(), is refused too."""
    before = _snapshot()
    records = list(AuditRecord.objects.order_by("id")[:2])
    for record in records:
        record.reason = "改写"
    with pytest.raises(ImmutableRecordError):
        AuditRecord.objects.bulk_update(records, ["reason"])
    assert _snapshot() == before
    assert verify_chain().ok


def _raw_refused(statement: str, params=()) -> str:
    """Run ``statement`` in a savepoint; return the database's refusal."""
    with pytest.raises(DatabaseError) as raised, transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(statement, params)
    return str(raised.value)


@postgresql_only
def test_trigger_refuses_raw_update(world):
    """With the trigger on, a raw UPDATE is refused by the database."""
    before = _snapshot()
    message = _raw_refused("UPDATE audit_auditrecord SET reason = %s WHERE id = %s",
                           ["改写", before[0][0]])
    assert "append-only" in message
    assert "UPDATE refused" in message
    assert _snapshot() == before


@postgresql_only
def test_trigger_refuses_raw_delete(world):
    """With the trigger on, a raw DELETE is refused by the database."""
    before = _snapshot()
    message = _raw_refused("DELETE FROM audit_auditrecord WHERE id = %s", [before[-1][0]])
    assert "DELETE refused" in message
    assert _snapshot() == before


@postgresql_only
def test_migration_installs_the_append_only_triggers(db):
    """Migration 0002 puts a row trigger and a TRUNCATE trigger on the table."""
    assert set(trigger_states()) == {"audit_record_no_update_delete",
                                     "audit_record_no_truncate"}
    assert trigger_states()["audit_record_no_update_delete"] != "D"


@postgresql_only
def test_trigger_refuses_truncate(world):
    """With the trigger on, TRUNCATE of the audit table is refused."""
    # The suite switches the TRUNCATE trigger off for its own emptying of
    # the database between transactional tests (tests/conftest.py); it is
    # switched on again here, inside this test's transaction.
    set_triggers(True, "audit_record_no_truncate")
    before = _snapshot()
    message = _raw_refused("TRUNCATE audit_auditrecord")
    assert "TRUNCATE refused" in message
    assert _snapshot() == before
    assert verify_chain().ok


@postgresql_only
def test_trigger_lets_new_records_in(world):
    """The trigger refuses changes, not appends: services still write records."""
    before = AuditRecord.objects.count()
    post_create(actor=world.admin, agency=world.agency_b, name="新岗", role=Role.REVIEWER)
    assert AuditRecord.objects.count() == before + 1
