"""Concurrent appends on PostgreSQL: parallel writers keep every chain intact.

Each thread has its own database connection and commits its own
transactions, so the test runs on a committed database; each thread closes
its connection when it is done.  SQLite serialises writers on one lock, so
the test is for PostgreSQL only.
"""

import threading

import pytest
from django.db import connection, transaction
from django.test import override_settings

from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.audit.verify import verify_chain

from .chains import append_in_own_transaction

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
)

THREADS = 8
TRANSACTIONS = 12


def _run_in_threads(work) -> None:
    """Run ``work(n)`` on THREADS threads started together; re-raise failures."""
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def body(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # reported to the test below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def _assert_chains_intact(expected_records: int) -> None:
    result = verify_chain(stop_at_first=False)
    assert result.breaks == []
    assert result.records == expected_records
    for head in AuditChainHead.objects.all():
        seqs = list(AuditRecord.objects.filter(shard=head.shard).order_by("seq")
                    .values_list("seq", flat=True))
        assert seqs == list(range(1, head.seq + 1))


@pytest.mark.parametrize("shards", [1, 3, 8])
def test_parallel_writers_produce_chains_that_verify(committed_db, shards):
    """Threads appending at once, even to one shard, leave gapless chains."""

    def work(n: int) -> None:
        for i in range(TRANSACTIONS):
            append_in_own_transaction(object_type="test.thread", object_id=f"{n}-{i}",
                                      changes={"thread": n, "i": i})

    with override_settings(YIZHAN_AUDIT_SHARDS=shards):
        _run_in_threads(work)
    _assert_chains_intact(THREADS * TRANSACTIONS)
    assert AuditChainHead.objects.count() <= shards
    ids = set(AuditRecord.objects.values_list("object_id", flat=True))
    assert len(ids) == THREADS * TRANSACTIONS


def test_parallel_transactions_of_several_records_stay_contiguous(committed_db):
    """Records of one transaction are consecutive in their shard despite other writers."""

    def work(n: int) -> None:
        for i in range(4):
            with transaction.atomic():
                for part in range(3):
                    append_in_own_transaction(object_type="test.thread",
                                              object_id=f"{n}-{i}-{part}")

    with override_settings(YIZHAN_AUDIT_SHARDS=2):
        _run_in_threads(work)
    _assert_chains_intact(THREADS * 4 * 3)
    for n in range(THREADS):
        for i in range(4):
            rows = list(AuditRecord.objects.filter(object_id__startswith=f"{n}-{i}-")
                        .order_by("object_id").values_list("shard", "seq"))
            assert len({shard for shard, _seq in rows}) == 1
            seqs = [seq for _shard, seq in rows]
            assert seqs == list(range(seqs[0], seqs[0] + 3))


def test_verification_beside_writers_finds_no_break(committed_db):
    """verify_chain run while others append reports an intact log every time."""
    writers_done = threading.Event()
    results = []

    def work(n: int) -> None:
        if n == 0:
            # One thread verifies again and again while the others write.
            while not writers_done.is_set():
                results.append(verify_chain(stop_at_first=False).breaks)
            results.append(verify_chain(stop_at_first=False).breaks)
            return
        for i in range(TRANSACTIONS):
            append_in_own_transaction(object_type="test.thread", object_id=f"{n}-{i}")

    finished = threading.Barrier(THREADS - 1, action=writers_done.set)

    def work_then_signal(n: int) -> None:
        try:
            work(n)
        finally:
            if n != 0:
                finished.wait()

    with override_settings(YIZHAN_AUDIT_SHARDS=2):
        _run_in_threads(work_then_signal)
    assert len(results) >= 1
    assert all(breaks == [] for breaks in results)
    _assert_chains_intact((THREADS - 1) * TRANSACTIONS)
