"""audit_append: what a record holds and how records chain, per shard."""

import datetime as dt
import itertools
import random
import struct
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from yizhan.accounts.services import token_authenticate, token_issue
from yizhan.audit.actions import AuditAction
from yizhan.audit.chain import changes_digest, genesis_hash, record_hash, storable
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.audit.services import UnregisteredAuditAction, audit_append
from yizhan.audit.verify import verify_chain
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.roles import Role
from yizhan.directory.services import post_create

from .chains import append_in_own_transaction

ACTION = AuditAction.VERIFIED


def _fields(record: AuditRecord) -> dict:
    return {
        "shard": record.shard, "seq": record.seq, "at": record.at,
        "actor_id": record.actor_id, "actor_label": record.actor_label,
        "agency_id": record.agency_id, "post_id": record.post_id, "action": record.action,
        "object_type": record.object_type, "object_id": record.object_id,
        "object_repr": record.object_repr, "reason": record.reason,
        "request_id": record.request_id, "source": record.source, "digest": record.digest,
    }


def test_record_describes_the_change_and_hashes_its_content(world):
    """A service's record names actor, agency, object and changes, and its hash covers them."""
    before = AuditRecord.objects.count()
    post = post_create(actor=world.admin, agency=world.agency_a, name="稽核岗",
                       role=Role.REVIEWER)
    assert AuditRecord.objects.count() == before + 1
    record = AuditRecord.objects.get(action=DirectoryAction.POST_CREATED, object_id=str(post.pk))
    assert record.actor_id == world.admin.pk
    assert record.actor_label == "root"
    assert record.agency_id == world.agency_a.pk
    assert record.object_type == "directory.post"
    assert record.object_repr == str(post)
    assert record.changes == {"name": "稽核岗", "role": Role.REVIEWER}
    assert record.digest == changes_digest(record.changes)
    assert record.hash == record_hash(_fields(record), record.prev_hash)
    assert record.action_label == "新增岗位"
    assert record.source == "system"


def _floats(count: int) -> list[float]:
    """Floats of every kind: random bit patterns (subnormals, NaNs, infinities
    included) and everyday magnitudes, seeded so a failure repeats."""
    rng = random.Random(20260101)
    bits = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
            for _ in range(count)]
    everyday = [rng.uniform(-1e6, 1e6) for _ in range(count)]
    return bits + everyday


EDGES = [0.5, 0.1, 1234.0, 1e-7, 5e-324, 1.7976931348623157e308, 9999999999999998.0, 1e16,
         -0.0, 0.0, float("nan"), float("inf"), float("-inf")]


def test_floats_are_stored_as_the_database_gives_them_back(world):
    """jsonb keeps numbers as numeric: 1e16 comes back as 10000000000000000, -0.0 as
    0.0, NaN is refused.  Such floats are stored as the string of their repr; every
    other float stays a number.  What was hashed is what comes back, on SQLite and
    PostgreSQL alike, so the record verifies."""
    many = _floats(2000)
    changes = {"edges": EDGES, "nested": {"pair": (1e16, 0.5), "deep": [{"x": -0.0}]},
               "many": many}
    with transaction.atomic():
        record = audit_append(actor=None, action=ACTION, object_type="t", object_id="1",
                              changes=changes)
    stored = AuditRecord.objects.get(pk=record.pk).changes
    assert stored["edges"] == [0.5, 0.1, 1234.0, 1e-7, 5e-324, "1.7976931348623157e+308",
                               9999999999999998.0, "1e+16", "-0.0", 0.0, "nan", "inf",
                               "-inf"]
    assert stored["nested"] == {"pair": ["1e+16", 0.5], "deep": [{"x": "-0.0"}]}
    for given, back in zip(many, stored["many"], strict=True):
        if isinstance(back, float):
            assert float.__repr__(back) == float.__repr__(given)
        else:
            assert back == float.__repr__(given)
    assert changes_digest(stored) == record.digest
    assert verify_chain().ok


def test_changes_without_such_floats_hash_as_before(world):
    """Records already in a log keep verifying: only a float that the database would
    change is stored differently; everything else hashes exactly as it did."""
    changes = {"n": 3, "big": 10**20, "f": [0.5, 1e-7, 1234.0], "s": "改", "none": None,
               "ok": True, "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
               "day": dt.date(2026, 1, 2), "money": Decimal("10.00"), "pair": (1, "a"),
               "nested": {"a": [{"b": 2.25}]}}
    assert changes_digest(storable(changes)) == changes_digest(changes)


@pytest.mark.parametrize("changes", [
    {"t": (Decimal("80.00"), (True, False), 2**70, 10**40)},
    {"x": [Decimal("1E+2"), -0.0, 1e16, True, 1.0]},
])
def test_decimals_and_big_integers_come_back_as_hashed(world, changes):
    """Money, nested tuples, an exponent Decimal and integers wider than 64 bits,
    stored and read back from the database (not only through ``storable``),
    still hash to the record's digest, and the chain verifies."""
    with transaction.atomic():
        record = audit_append(actor=None, action=ACTION, object_type="t", object_id="1",
                              changes=changes)
    stored = AuditRecord.objects.get(pk=record.pk).changes
    assert changes_digest(stored) == record.digest, stored
    assert verify_chain().ok


def test_records_of_one_shard_form_a_chain_ending_at_the_head(world):
    """Each record links to the previous one of its shard; the head pins the last."""
    for shard in AuditRecord.objects.order_by().values_list("shard", flat=True).distinct():
        records = list(AuditRecord.objects.filter(shard=shard).order_by("seq"))
        assert [r.seq for r in records] == list(range(1, len(records) + 1))
        assert records[0].prev_hash == genesis_hash(shard)
        for previous, record in itertools.pairwise(records):
            assert record.prev_hash == previous.hash
        head = AuditChainHead.objects.get(shard=shard)
        assert (head.seq, head.hash) == (records[-1].seq, records[-1].hash)


def test_genesis_hash_differs_per_shard():
    """Each shard's chain starts from its own genesis hash."""
    assert len({genesis_hash(shard) for shard in range(8)}) == 8


def test_token_principal_is_recorded_with_its_label_and_agency(world):
    """An API token acts under the label token:<prefix> for its agency."""
    token, secret = token_issue(actor=world.admin, agency=world.agency_b, name="对接系统",
                                role=Role.WINDOW_CLERK)
    principal = token_authenticate(secret)
    with transaction.atomic():
        record = audit_append(actor=principal, action=ACTION, object_type="test.thing",
                              object_id="7", object_repr="某物")
    assert record.actor_id is None
    assert record.actor_label == f"token:{token.prefix}"
    assert record.agency_id == world.agency_b.pk


def test_system_actor_is_recorded_as_system(db):
    """actor=None is the system."""
    with transaction.atomic():
        record = audit_append(actor=None, action=ACTION, object_type="test.thing",
                              object_id="1", object_repr="某物", reason="定期核验")
    assert (record.actor_id, record.actor_label, record.reason) == (None, "system", "定期核验")


def test_unregistered_action_raises_and_writes_nothing(world):
    """A free-text action name is refused before anything is written."""
    before = AuditRecord.objects.count()
    heads = list(AuditChainHead.objects.order_by("shard").values_list("shard", "seq", "hash"))
    with pytest.raises(UnregisteredAuditAction, match=r"directory\.made_up"), \
            transaction.atomic():
        audit_append(actor=world.admin, action="directory.made_up", obj=world.agency_a)
    assert AuditRecord.objects.count() == before
    assert list(AuditChainHead.objects.order_by("shard").values_list(
        "shard", "seq", "hash")) == heads


def test_append_outside_a_transaction_raises(committed_db):
    """A record must commit or roll back with its change, so autocommit is refused."""
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_append(actor=None, action=ACTION, object_type="test.thing", object_id="1")
    assert AuditRecord.objects.count() == 0
    assert AuditChainHead.objects.count() == 0


def test_rolled_back_change_leaves_no_record(world):
    """The record rolls back with the transaction that wrote it."""
    before = AuditRecord.objects.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        post_create(actor=world.admin, agency=world.agency_a,
                                       name="临时岗", role=Role.REVIEWER)
        raise Boom
    assert AuditRecord.objects.count() == before
    assert verify_chain().ok


def test_records_of_one_transaction_share_one_shard(committed_db, shard_cycle):
    """All records written by one transaction continue one shard's chain."""
    with transaction.atomic():
        first = audit_append(actor=None, action=ACTION, object_type="t", object_id="1")
        second = audit_append(actor=None, action=ACTION, object_type="t", object_id="2")
        with transaction.atomic():
            third = audit_append(actor=None, action=ACTION, object_type="t", object_id="3")
    assert first.shard == second.shard == third.shard
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash


def test_each_transaction_chooses_its_shard_afresh(committed_db, shard_cycle):
    """Repeated calls of one @atomic service spread over the shards."""
    with override_settings(YIZHAN_AUDIT_SHARDS=4):
        records = [append_in_own_transaction(object_type="t", object_id=str(n))
                   for n in range(8)]
    assert [r.shard for r in records] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert [r.seq for r in records] == [1, 1, 1, 1, 2, 2, 2, 2]
    for earlier, later in zip(records[:4], records[4:], strict=True):
        assert later.prev_hash == earlier.hash


def test_chains_across_shards_verify(committed_db, shard_cycle):
    """Records spread over all shards form separate chains that each verify."""
    with override_settings(YIZHAN_AUDIT_SHARDS=3):
        for n in range(9):
            append_in_own_transaction(object_type="t", object_id=str(n), changes={"n": n})
    heads = {h.shard: h.seq for h in AuditChainHead.objects.all()}
    assert heads == {0: 3, 1: 3, 2: 3}
    for shard in heads:
        assert AuditRecord.objects.get(shard=shard, seq=1).prev_hash == genesis_hash(shard)
    result = verify_chain()
    assert result.ok, result.breaks
    assert (result.records, result.shards) == (9, 3)


def test_records_name_the_post_the_actor_acts_in(world):
    """A staff member's record names their post and its agency without being told."""
    from yizhan.audit.models import AuditRecord
    from yizhan.directory import services
    from yizhan.directory.roles import Role

    head = world.user("a", Role.AGENCY_HEAD)
    post = services.post_create(actor=head, agency=world.agency_a, name="新设岗", role="reviewer")
    record = AuditRecord.objects.filter(object_type="directory.post",
                                        object_id=str(post.pk)).get()
    assert record.post_id == world.posts["a"][Role.AGENCY_HEAD].pk
    assert record.agency_id == world.agency_a.pk
