"""The hash of an audit record, shared by appending and verification.

The hash covers a canonical JSON form of every field that says what
happened, plus the previous hash of the same shard.  Canonical means sorted
keys, no spaces, UTF-8, and datetimes in UTC ISO form, so the same record
hashes the same on SQLite and PostgreSQL and when verified offline.

What is hashed must be exactly what the database gives back, or an
untouched record fails verification: ``storable`` makes the changes so
before they are hashed and stored.
"""

import json
import math

from django.core.serializers.json import DjangoJSONEncoder

from yizhan.core.crypto import sm3_hex
from yizhan.core.times import utc_text

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


def _comes_back_unchanged(number: float) -> bool:
    """Whether PostgreSQL's jsonb gives ``number`` back with the same JSON text.

    JSON writes a float as Python's ``repr`` (the shortest decimal that
    reads back as the same float).  jsonb keeps a number as ``numeric``:
    the same decimal digits, printed without an exponent and without the
    sign of a zero.  So a float written in plain decimal notation (0.5,
    1234.0: 1e-4 <= |x| < 1e16) or with a negative exponent (1e-07, printed
    0.0000001) comes back with a decimal point, as the float it was, and
    its repr is the same text again.  One written with a positive exponent
    (1e+16) comes back without a decimal point, as the integer
    10000000000000000; -0.0 comes back as 0.0; NaN and the infinities are
    no JSON, and jsonb refuses them.
    """
    text = float.__repr__(number)
    return math.isfinite(number) and "e+" not in text and text != "-0.0"


def storable(value):
    """``value`` with each float that jsonb would change replaced by its repr.

    The string ("1e+16", "-0.0", "nan") says what was given, and reads back
    as the same text on every database.  Every other value, and every float
    that comes back unchanged, is left as it is, so it is hashed as it
    always was.  Lists and tuples become lists, as in JSON.
    """
    if isinstance(value, float):
        return value if _comes_back_unchanged(value) else float.__repr__(value)
    if isinstance(value, dict):
        return {key: storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item) for item in value]
    return value


def changes_digest(changes: dict) -> str:
    return sm3_hex(canonical(changes).encode())


def record_hash(fields: dict, prev_hash: str) -> str:
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["at"] = utc_text(fields["at"])
    return sm3_hex((prev_hash + canonical(body)).encode())
