"""The hash of an audit record, shared by appending and verification.

The hash covers a canonical JSON form of every field that says what
happened, plus the previous hash of the same shard.  Canonical means sorted
keys, no spaces, UTF-8, and datetimes in UTC ISO form, so the same record
hashes the same on SQLite and PostgreSQL and when verified offline.
"""

import datetime
import json

from django.core.serializers.json import DjangoJSONEncoder

from yizhan.core.crypto import sm3_hex

HASHED_FIELDS = (
    "shard",
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "agency_id",
    "post_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "reason",
    "request_id",
    "source",
    "digest",
)


def genesis_hash(shard: int) -> str:
    return sm3_hex(f"yizhan-audit-genesis:{shard}".encode())


def canonical(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def changes_digest(changes: dict) -> str:
    return sm3_hex(canonical(changes).encode())


def _utc(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(fields: dict, prev_hash: str) -> str:
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["at"] = _utc(fields["at"])
    return sm3_hex((prev_hash + canonical(body)).encode())
