"""verify_chain and ``audit verify``: an intact log passes, tampering is named.

Tampering goes around the model (raw SQL, or the ORM's plain create), as
someone with database access would.  On PostgreSQL the append-only trigger
is switched off for the test's transaction first (``trigger_off``).
"""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from yizhan.audit import verify
from yizhan.audit.actions import AuditAction
from yizhan.audit.chain import HASHED_FIELDS, changes_digest, genesis_hash, record_hash
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.audit.services import audit_append
from yizhan.audit.verify import verify_chain
from yizhan.directory.actions import DirectoryAction

from .chains import append_in_own_transaction, chain, newest_shard, set_triggers


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _middle_record() -> AuditRecord:
    """A record with records before and after it in its shard."""
    record = AuditRecord.objects.filter(action=DirectoryAction.STAFF_CREATED).order_by(
        "shard", "seq")[3]
    assert AuditRecord.objects.filter(shard=record.shard, seq=record.seq + 1).exists()
    return record


def _verify_command() -> str:
    out = io.StringIO()
    call_command("audit", "verify", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _verify_command_error(*args) -> tuple[str, str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("audit", "verify", *args, stdout=io.StringIO(), stderr=err)
    return str(raised.value), err.getvalue()


def test_clean_log_verifies(world):
    """The log the services wrote verifies, every record read."""
    result = verify_chain()
    assert result.ok, result.breaks
    assert result.records == AuditRecord.objects.count()
    assert result.shards == AuditChainHead.objects.count()


def test_command_prints_success_on_an_intact_log(world):
    """``audit verify`` says the chain is intact and how much it read."""
    output = _verify_command()
    total = AuditRecord.objects.count()
    assert "audit chain intact" in output
    assert "审计链完整" in output
    assert f"{total} records" in output


def test_empty_log_verifies(db):
    """A new installation with no records verifies."""
    result = verify_chain()
    assert result.ok
    assert (result.records, result.shards) == (0, 0)


def test_altered_field_is_caught_and_named(world, trigger_off):
    """Changing a hashed field with raw SQL breaks that record's own hash."""
    target = _middle_record()
    _sql("UPDATE audit_auditrecord SET actor_label = %s WHERE id = %s", ["someone.else", target.pk])

    result = verify_chain()
    assert not result.ok
    brk = result.breaks[0]
    assert (brk.shard, brk.seq, brk.record_id) == (target.shard, target.seq, target.pk)
    assert "hash does not match" in brk.problem

    message, stderr = _verify_command_error()
    assert f"record id {target.pk}" in message
    assert f"seq {target.seq}" in message
    assert f"record id {target.pk}" in stderr


def test_altered_time_is_caught(world, trigger_off):
    """Backdating a record breaks its hash."""
    target = _middle_record()
    earlier = target.at - datetime.timedelta(days=30)
    _sql("UPDATE audit_auditrecord SET at = %s WHERE id = %s", [earlier, target.pk])
    brk = verify_chain().breaks[0]
    assert brk.record_id == target.pk


def test_deleted_middle_record_is_caught_at_the_next(world, trigger_off):
    """Removing a record leaves a gap that the following record reports."""
    target = _middle_record()
    following = AuditRecord.objects.get(shard=target.shard, seq=target.seq + 1)
    _sql("DELETE FROM audit_auditrecord WHERE id = %s", [target.pk])

    result = verify_chain()
    brk = result.breaks[0]
    assert (brk.shard, brk.seq, brk.record_id) == (following.shard, following.seq, following.pk)
    assert "record removed" in brk.problem

    message, _stderr = _verify_command_error()
    assert f"record id {following.pk}" in message


def test_deleted_and_renumbered_record_is_caught_by_the_link(world, trigger_off):
    """Closing the gap after a removal still breaks the link to the previous hash;
    the break names the two records the removed one stood between."""
    target = _middle_record()
    before = AuditRecord.objects.get(shard=target.shard, seq=target.seq - 1)
    later = [r.pk for r in chain(target.shard) if r.seq > target.seq]
    _sql("DELETE FROM audit_auditrecord WHERE id = %s", [target.pk])
    for pk in later:
        _sql("UPDATE audit_auditrecord SET seq = seq - 1 WHERE id = %s", [pk])

    brk = verify_chain().breaks[0]
    assert (brk.seq, brk.record_id) == (before.seq, before.pk)
    assert (brk.next_seq, brk.next_record_id) == (target.seq, later[0])
    assert "inserted or removed between the two" in brk.problem
    message, _stderr = _verify_command_error()
    assert f"record id {before.pk} and seq {target.seq}, record id {later[0]}" in message


def test_edited_record_with_a_recomputed_hash_is_named(world, trigger_off):
    """SM3 has no key: an insider who edits a record can recompute its hash, so the
    record checks out and only the next one's link to it breaks.  The break names
    the edited record first, and the next one as where the link broke, not the
    next one alone as inserted or removed."""
    target = _middle_record()
    following = AuditRecord.objects.get(shard=target.shard, seq=target.seq + 1)
    fields = {name: getattr(target, name) for name in HASHED_FIELDS}
    fields["reason"] = "改过的事由"
    _sql("UPDATE audit_auditrecord SET reason = %s, hash = %s WHERE id = %s",
         ["改过的事由", record_hash(fields, target.prev_hash), target.pk])

    result = verify_chain(stop_at_first=False)
    assert len(result.breaks) == 1, [str(b) for b in result.breaks]
    brk = result.breaks[0]
    assert (brk.shard, brk.seq, brk.record_id) == (target.shard, target.seq, target.pk)
    assert (brk.next_seq, brk.next_record_id) == (following.seq, following.pk)
    assert f"record {target.pk} was altered and its hash recomputed" in brk.problem
    message, stderr = _verify_command_error()
    assert f"seq {target.seq}, record id {target.pk}" in message
    assert f"record {target.pk} was altered" in stderr


def test_first_record_not_linked_to_the_start_is_named(world, trigger_off):
    """A chain's first record that does not link to the chain's start is named itself."""
    first = chain(newest_shard())[0]
    fields = {name: getattr(first, name) for name in HASHED_FIELDS}
    _sql("UPDATE audit_auditrecord SET prev_hash = %s, hash = %s WHERE id = %s",
         ["0" * 64, record_hash(fields, "0" * 64), first.pk])
    brk = verify_chain().breaks[0]
    assert (brk.seq, brk.record_id, brk.next_record_id) == (1, first.pk, None)
    assert "link to the start of the chain is broken" in brk.problem


def test_a_misplaced_record_that_was_also_altered_is_reported_twice(world, trigger_off):
    """With ``--all``, a record after a broken link is still checked against its own hash."""
    target = _middle_record()
    following = AuditRecord.objects.get(shard=target.shard, seq=target.seq + 1)
    _sql("UPDATE audit_auditrecord SET prev_hash = %s WHERE id = %s", ["0" * 64, following.pk])
    result = verify_chain(stop_at_first=False)
    assert [(b.record_id, b.next_record_id) for b in result.breaks] == [
        (target.pk, following.pk), (following.pk, None)]
    assert "hash does not match" in result.breaks[1].problem


def _forge(shard: int, seq: int, prev_hash: str, *, valid_hash: bool) -> AuditRecord:
    fields = {
        "shard": shard, "seq": seq, "at": timezone.now(), "actor_id": None,
        "actor_label": "system", "agency_id": None, "post_id": None,
        "action": DirectoryAction.STAFF_DEACTIVATED, "object_type": "accounts.user",
        "object_id": "1", "object_repr": "root", "reason": "forged",
        "request_id": "f" * 32, "source": "system", "digest": changes_digest({}),
    }
    fields["hash"] = record_hash(fields, prev_hash) if valid_hash else "0" * 64
    # A plain INSERT: the model lets new rows be created, as the trigger does.
    return AuditRecord.objects.create(prev_hash=prev_hash, changes={}, **fields)


def test_forged_record_with_a_bad_hash_is_named(world):
    """A record appended by hand without the right hash fails its own check."""
    last = chain(newest_shard())[-1]
    forged = _forge(last.shard, last.seq + 1, last.hash, valid_hash=False)
    brk = verify_chain().breaks[0]
    assert (brk.shard, brk.seq, brk.record_id) == (forged.shard, forged.seq, forged.pk)
    message, _stderr = _verify_command_error()
    assert f"record id {forged.pk}" in message


def test_forged_record_with_a_recomputed_hash_is_caught_by_the_head(world):
    """A forger who recomputes the hash still leaves the chain head behind."""
    last = chain(newest_shard())[-1]
    forged = _forge(last.shard, last.seq + 1, last.hash, valid_hash=True)
    result = verify_chain()
    brk = result.breaks[0]
    assert (brk.shard, brk.seq) == (forged.shard, forged.seq)
    assert "chain head does not match" in brk.problem
    message, _stderr = _verify_command_error()
    assert f"shard {forged.shard}, seq {forged.seq}" in message


def test_forged_record_before_the_first_is_caught(world):
    """A record slipped in before seq 1 of a chain is reported."""
    shard = newest_shard()
    forged = _forge(shard, 0, genesis_hash(shard), valid_hash=True)
    brk = verify_chain().breaks[0]
    assert (brk.shard, brk.seq, brk.record_id) == (shard, 0, forged.pk)
    assert "sequence jumps" in brk.problem


def test_forged_record_in_an_unused_shard_is_caught(world):
    """A record in a shard with no chain head is reported."""
    forged = _forge(99, 1, genesis_hash(99), valid_hash=True)
    brk = verify_chain().breaks[0]
    assert (brk.shard, brk.seq) == (99, forged.seq)
    assert "chain head" in brk.problem


def test_deleted_newest_record_is_caught_by_the_head(world, trigger_off):
    """Removing the end of a chain is caught because the head points past it."""
    records = chain(newest_shard())
    newest, remaining = records[-1], records[-2]
    _sql("DELETE FROM audit_auditrecord WHERE id = %s", [newest.pk])

    brk = verify_chain().breaks[0]
    assert (brk.shard, brk.seq, brk.record_id) == (newest.shard, remaining.seq, None)
    assert "chain head does not match" in brk.problem

    message, stderr = _verify_command_error()
    assert f"shard {newest.shard}, seq {remaining.seq}" in message
    assert "chain head does not match" in stderr


def test_altered_changes_json_is_caught(world, trigger_off):
    """Editing the stored change content no longer matches its digest."""
    target = AuditRecord.objects.filter(action=DirectoryAction.POST_CREATED).order_by(
        "shard", "seq")[2]
    forged = dict(target.changes, role="sysadmin")
    cast = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    _sql(f"UPDATE audit_auditrecord SET changes = {cast} WHERE id = %s",  # noqa: S608
         [json.dumps(forged), target.pk])
    assert AuditRecord.objects.get(pk=target.pk).changes["role"] == "sysadmin"

    brk = verify_chain().breaks[0]
    assert (brk.seq, brk.record_id) == (target.seq, target.pk)
    assert "change content does not match its digest" in brk.problem
    message, _stderr = _verify_command_error()
    assert f"record id {target.pk}" in message


def test_all_option_reports_every_break(world, trigger_off):
    """``--all`` reports each break instead of stopping at the first."""
    records = AuditRecord.objects.filter(action=DirectoryAction.STAFF_CREATED).order_by(
        "shard", "seq")
    first, second = records[2], records[6]
    for target in (first, second):
        _sql("UPDATE audit_auditrecord SET reason = %s WHERE id = %s", ["改过", target.pk])

    assert [b.record_id for b in verify_chain(stop_at_first=True).breaks] == [first.pk]
    assert [b.record_id for b in verify_chain(stop_at_first=False).breaks] == [first.pk,
                                                                              second.pk]
    message, stderr = _verify_command_error("--all")
    assert f"record id {first.pk}" in message
    assert f"record id {first.pk}" in stderr
    assert f"record id {second.pk}" in stderr


def test_first_break_is_named_across_shards(committed_db, shard_cycle):
    """With several shards, the break is named in the shard where it is."""
    with override_settings(YIZHAN_AUDIT_SHARDS=3):
        for n in range(9):
            append_in_own_transaction(object_type="t", object_id=str(n), changes={"n": n})
    target = AuditRecord.objects.get(shard=2, seq=2)
    set_triggers(False)  # committed_db puts them back after the test
    _sql("UPDATE audit_auditrecord SET object_id = %s WHERE id = %s", ["42", target.pk])

    result = verify_chain()
    assert [(b.shard, b.seq, b.record_id) for b in result.breaks] == [(2, 2, target.pk)]
    message, _stderr = _verify_command_error()
    assert f"shard 2, seq 2, record id {target.pk}" in message


def test_appending_after_verification_keeps_the_chain_intact(world):
    """Verification reads only; the chain continues from its head afterwards."""
    assert verify_chain().ok
    with transaction.atomic():
        audit_append(actor=world.admin, action=AuditAction.VERIFIED, object_type="audit.chain",
                     object_id="all", object_repr="审计链")
    assert verify_chain().ok


def test_appends_committed_during_verification_are_not_taken_for_tampering(
        committed_db, shard_cycle, monkeypatch):
    # Deterministic stand-in for a race: the hook runs after verification
    # has started and before the shard's records are read.
    """Verifying a live log: a writer committing meanwhile is no break."""
    with override_settings(YIZHAN_AUDIT_SHARDS=2):
        for n in range(4):
            append_in_own_transaction(object_type="t", object_id=str(n))
        real_genesis = verify.genesis_hash

        def genesis_then_append(shard):
            # Another request commits to this shard just as it is read.
            append_in_own_transaction(object_type="t", object_id=f"during-{shard}")
            return real_genesis(shard)

        monkeypatch.setattr(verify, "genesis_hash", genesis_then_append)
        result = verify_chain(stop_at_first=False)
    assert result.breaks == []
    assert AuditRecord.objects.count() == 6


def test_removal_at_the_end_is_still_caught_while_reading_on(committed_db, shard_cycle):
    """Reading on after the head does not hide records removed at the end."""
    with override_settings(YIZHAN_AUDIT_SHARDS=1):
        for n in range(3):
            append_in_own_transaction(object_type="t", object_id=str(n))
    set_triggers(False)  # committed_db puts them back after the test
    newest = chain(0)[-1]
    _sql("DELETE FROM audit_auditrecord WHERE id = %s", [newest.pk])
    result = verify_chain(stop_at_first=False)
    assert [(b.shard, b.seq, b.record_id) for b in result.breaks] == [(0, 2, None)]
    assert result.records == 2
