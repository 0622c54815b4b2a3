"""Anchors: the chain heads written down outside the database.

The chains catch an edit, insertion or removal by someone who cannot write
the whole of a shard again.  Someone who can (a database administrator, or
whoever holds a copy of the database) can rewrite every record from the
edited one on and the head with them, and the chain checks out: SM3 has no
key.  An anchor is each shard's head, sequence number and hash, taken at a
moment and kept where that person cannot reach it (another machine, write-once
storage, a paper log book: the anchor's own SM3 digest is short enough to
write down).  A record's hash covers every record before it in its shard, so
as long as the record an anchor names still has the hash it names, nothing
up to it has been rewritten; ``check`` says where that no longer holds.

An anchor is a small JSON document (``FORMAT``), written by
``yizhan audit anchor`` and read by ``yizhan audit verify --anchor FILE``.
"""

import datetime
import json

from yizhan.audit.chain import canonical
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.audit.verify import Break
from yizhan.core.crypto import sm3_hex
from yizhan.core.times import utc_text

FORMAT = "yizhan-audit-anchor/1"


class AnchorUnreadable(ValueError):
    """The file is not an anchor, or not one this code wrote and left intact."""


def _digest(body: dict) -> str:
    return sm3_hex(canonical(body).encode())


def take() -> dict:
    """Every shard's head now, read in one statement (one snapshot)."""
    heads = [{"shard": shard, "seq": seq, "hash": hash_}
             for shard, seq, hash_ in AuditChainHead.objects.order_by("shard")
             .values_list("shard", "seq", "hash")]
    body = {"format": FORMAT,
            "at": utc_text(datetime.datetime.now(datetime.UTC)),
            "heads": heads}
    return {**body, "digest": _digest(body)}


def dumps(anchor: dict) -> str:
    return json.dumps(anchor, ensure_ascii=False, indent=1) + "\n"


def loads(text: str) -> dict:
    """An anchor read back, its digest checked: a file damaged or edited since it
    was written is refused rather than trusted."""
    try:
        anchor = json.loads(text)
        body = {key: anchor[key] for key in ("format", "at", "heads")}
        digest = anchor["digest"]
        heads = [(int(head["shard"]), int(head["seq"]), str(head["hash"]))
                 for head in body["heads"]]
    except (ValueError, TypeError, KeyError) as exc:
        raise AnchorUnreadable(f"not an audit anchor: {exc}") from None
    if body["format"] != FORMAT:
        raise AnchorUnreadable(f"not an audit anchor of format {FORMAT}: {body['format']!r}")
    if _digest(body) != digest:
        raise AnchorUnreadable("the anchor's digest does not match its content "
                               "(the file was damaged or edited)")
    return {**body, "heads": [{"shard": s, "seq": n, "hash": h} for s, n, h in heads],
            "digest": digest}


def check(anchor: dict) -> list[Break]:
    """Where the log no longer holds what ``anchor`` names: a record missing, or
    with another hash (it, or a record before it, was rewritten)."""
    breaks = []
    for head in anchor["heads"]:
        if head["seq"] == 0:
            continue  # the shard was empty then: nothing to hold to
        row = (AuditRecord.objects.filter(shard=head["shard"], seq=head["seq"])
               .values("id", "hash").first())
        if row is None:
            breaks.append(Break(head["shard"], head["seq"], None,
                                f"the record the anchor of {anchor['at']} names is missing "
                                "(records removed)"))
        elif row["hash"] != head["hash"]:
            breaks.append(Break(head["shard"], head["seq"], row["id"],
                                f"hash differs from the anchor of {anchor['at']}: this "
                                "record or one before it in the shard was rewritten"))
    return breaks
