"""Offline verification of the audit chains.

Walks every shard in sequence order, recomputing each record's change
digest and hash.  A record that was altered fails its own hash; one that
was inserted or removed breaks the sequence or the link to the previous
hash; removing the newest records leaves the chain head pointing past the
end.  Memory stays flat: records are streamed in key order.

A broken link cannot say which side is at fault.  SM3 has no key, so
whoever edits a record can recompute its hash: the record then checks out
and only the next one's link to it breaks.  A record inserted or removed
between the two looks the same.  The break therefore names both records,
the earlier one first, since an edit is the likelier thing to look for.
"""

from dataclasses import dataclass, field

from yizhan.audit.chain import HASHED_FIELDS, changes_digest, genesis_hash, record_hash
from yizhan.audit.models import AuditChainHead, AuditRecord


@dataclass
class Break:
    shard: int
    seq: int | None
    record_id: int | None
    problem: str
    # A broken link: the later of the two records it joins (the earlier
    # one is ``seq`` / ``record_id``).
    next_seq: int | None = None
    next_record_id: int | None = None

    def __str__(self):
        where = f"shard {self.shard}, seq {self.seq}, record id {self.record_id}"
        if self.next_record_id is not None:
            where += f" and seq {self.next_seq}, record id {self.next_record_id}"
        return f"{where}: {self.problem}"


@dataclass
class VerifyResult:
    records: int = 0
    shards: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_chain(*, stop_at_first: bool = True) -> VerifyResult:
    result = VerifyResult()
    shards = set(AuditChainHead.objects.values_list("shard", flat=True)) | set(
        AuditRecord.objects.order_by().values_list("shard", flat=True).distinct()
    )
    for shard in sorted(shards):
        result.shards += 1
        prev = genesis_hash(shard)
        prev_id = None
        expected_seq = 1
        last_seq = 0
        seen_head_seq = None
        while True:
            read = 0
            rows = AuditRecord.objects.filter(shard=shard)
            if seen_head_seq is not None:  # reading on: only what came since
                rows = rows.filter(seq__gt=last_seq)
            rows = (
                rows.order_by("seq")
                .values("id", "prev_hash", "hash", "changes", *HASHED_FIELDS)
                .iterator(chunk_size=2000)
            )
            for row in rows:
                read += 1
                result.records += 1
                found = []
                # Where the record sits: its number, and its link to the one before.
                if row["seq"] != expected_seq:
                    found.append(Break(shard, row["seq"], row["id"],
                                       f"sequence jumps from {expected_seq - 1} to "
                                       f"{row['seq']} (record removed)"))
                elif row["prev_hash"] != prev and prev_id is None:
                    found.append(Break(shard, row["seq"], row["id"],
                                       "link to the start of the chain is broken (record "
                                       "inserted or removed before it)"))
                elif row["prev_hash"] != prev:
                    found.append(Break(
                        shard, expected_seq - 1, prev_id,
                        f"link broken: record {row['id']} does not link to record "
                        f"{prev_id}; record {prev_id} was altered and its hash recomputed, "
                        "or a record was inserted or removed between the two",
                        next_seq=row["seq"], next_record_id=row["id"]))
                # What the record says, against the hash it carries (which
                # covers its own link, whether or not that link holds).
                if changes_digest(row["changes"]) != row["digest"]:
                    found.append(Break(shard, row["seq"], row["id"],
                                       "change content does not match its digest "
                                       "(record altered)"))
                elif record_hash(row, row["prev_hash"]) != row["hash"]:
                    found.append(Break(shard, row["seq"], row["id"],
                                       "hash does not match the record's content "
                                       "(record altered)"))
                for brk in found:
                    result.breaks.append(brk)
                    if stop_at_first:
                        return result
                prev = row["hash"]
                prev_id = row["id"]
                expected_seq = row["seq"] + 1
                last_seq = row["seq"]
            # The head is read after the records.  A writer commits its
            # records and the head together, so a head past the last record
            # read means either records committed while this shard was read
            # (read on) or records removed at the end (nothing more to read,
            # head unchanged).
            head = AuditChainHead.objects.filter(shard=shard).first()
            if head is None or head.seq <= last_seq:
                break
            if read == 0 and head.seq == seen_head_seq:
                break
            seen_head_seq = head.seq
        if head is None or head.seq != last_seq or head.hash != prev:
            result.breaks.append(
                Break(shard, last_seq, None,
                      "chain head does not match the last record (records removed at the end)")
            )
            if stop_at_first:
                return result
    return result
