"""Anchors: the chain heads kept outside the database catch a log rewritten whole.

The rewrites go around the model with raw SQL, as someone with database
access would; on PostgreSQL the append-only trigger is off for the test's
transaction (``trigger_off``).
"""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from yizhan.audit import anchor
from yizhan.audit.chain import HASHED_FIELDS, record_hash
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.audit.verify import verify_chain

from .chains import append_in_own_transaction, chain


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _written(tmp_path, name="anchor.json") -> str:
    path = tmp_path / name
    out = io.StringIO()
    call_command("audit", "anchor", "--out", str(path), stdout=out)
    assert "审计锚点已写入" in out.getvalue()
    return str(path)


def _text(path) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _verify(*args) -> str:
    out = io.StringIO()
    call_command("audit", "verify", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _verify_error(*args) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("audit", "verify", *args, stdout=io.StringIO(), stderr=err)
    return str(raised.value) + err.getvalue()


def _rewrite_from(record: AuditRecord, reason: str) -> None:
    """Edit ``record`` and recompute every hash after it and the head, as a
    database administrator could: the chain then checks out."""
    prev = record.prev_hash
    for row in chain(record.shard)[record.seq - 1:]:
        fields = {name: getattr(row, name) for name in HASHED_FIELDS}
        if row.pk == record.pk:
            fields["reason"] = reason
        new_hash = record_hash(fields, prev)
        _sql("UPDATE audit_auditrecord SET reason = %s, prev_hash = %s, hash = %s "
             "WHERE id = %s", [fields["reason"], prev, new_hash, row.pk])
        prev = new_hash
    _sql("UPDATE audit_auditchainhead SET hash = %s WHERE shard = %s", [prev, record.shard])


def test_an_intact_log_agrees_with_its_anchor_and_with_later_appends(world, tmp_path):
    path = _written(tmp_path)
    taken = json.loads(_text(path))
    assert len(taken["heads"]) == AuditChainHead.objects.count()
    append_in_own_transaction(object_type="test", object_id="after")
    output = _verify("--anchor", path)
    assert "audit chain intact" in output
    assert f"agrees with the anchor {path}" in output and taken["digest"] in output


def test_a_log_rewritten_whole_passes_the_chain_but_not_the_anchor(world, tmp_path,
                                                                   trigger_off):
    path = _written(tmp_path)
    target = AuditRecord.objects.order_by("shard", "seq")[2]
    _rewrite_from(target, "改过的事由")
    # The limit of a keyless hash: the chain alone cannot see it.
    assert verify_chain().ok
    [brk] = anchor.check(anchor.loads(_text(path)))
    assert brk.shard == target.shard
    assert "was rewritten" in brk.problem
    assert "was rewritten" in _verify_error("--anchor", path)


def test_records_removed_at_the_end_with_the_head_moved_back_are_caught(world, tmp_path,
                                                                        trigger_off):
    path = _written(tmp_path)
    head = AuditChainHead.objects.filter(seq__gt=1).order_by("-seq").first()
    last = AuditRecord.objects.get(shard=head.shard, seq=head.seq)
    _sql("DELETE FROM audit_auditrecord WHERE id = %s", [last.pk])
    _sql("UPDATE audit_auditchainhead SET seq = %s, hash = %s WHERE shard = %s",
         [head.seq - 1, last.prev_hash, head.shard])
    assert verify_chain().ok
    assert "is missing (records removed)" in _verify_error("--anchor", path)


def test_an_edited_or_foreign_anchor_is_refused(world, tmp_path):
    path = _written(tmp_path)
    taken = json.loads(_text(path))
    taken["heads"][0]["seq"] += 1
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(taken), encoding="utf-8")
    assert "anchor" in _verify_error("--anchor", str(edited))
    assert "digest does not match" in _verify_error("--anchor", str(edited))
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"items": []}', encoding="utf-8")
    assert "not an audit anchor" in _verify_error("--anchor", str(foreign))
    assert "cannot read anchor" in _verify_error("--anchor", str(tmp_path / "none.json"))


def test_an_anchor_kept_is_never_overwritten(world, tmp_path):
    path = _written(tmp_path)
    before = _text(path)
    with pytest.raises(CommandError, match="cannot write"):
        call_command("audit", "anchor", "--out", path, stdout=io.StringIO())
    assert _text(path) == before


def test_an_anchor_of_an_empty_log_and_to_standard_output(db):
    out = io.StringIO()
    call_command("audit", "anchor", stdout=out)
    taken = anchor.loads(out.getvalue())
    assert taken["heads"] == []
    assert anchor.check(taken) == []
