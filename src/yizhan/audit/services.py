"""Appending to the audit log.

``audit_append`` is called by every service that changes state, inside the
service's transaction, so the record commits or rolls back with the change
it describes.  It is the only code that writes audit records.

Sharding: all records written by one transaction go to one shard chosen at
random when the transaction first appends.  Concurrent transactions thus
lock different chain heads (with 8 shards, two writers wait on each other
one time in eight) and a transaction never holds two heads, so appending
cannot deadlock.

Lock order: the head is the last lock a transaction takes.  Once it holds
a head, a transaction must not go on to lock rows that another writer may
hold while waiting for the same head (a case step holds its case, then
appends): a service that locks cases does so before its first append,
directly or through the signals it sends (``directory.services``
``staff_unpost``, ``staff_deactivate`` and ``scope_grant_revoke`` send
``posts_left`` before appending their own record, and the release of
claims it causes locks every case concerned, in case id order, before its
first append).
"""

import secrets
from functools import partial

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from yizhan.audit import registry
from yizhan.audit.chain import changes_digest, genesis_hash, record_hash, storable
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.core import context


class UnregisteredAuditAction(Exception):
    pass


def actor_label(actor) -> tuple[int | None, str]:
    """The account id and the label an actor is recorded under (user, token, system)."""
    if actor is None:
        return None, "system"
    label = getattr(actor, "audit_label", None)
    if label is not None:
        return getattr(actor, "user_id", None), label
    return actor.pk, actor.get_username()


def _shard_for_transaction(using: str) -> int:
    connection = transaction.get_connection(using)
    outer = connection.atomic_blocks[0]
    cached = getattr(connection, "_yizhan_audit_shard", None)
    if cached is not None and cached[0] is outer:
        return cached[1]
    shard = secrets.randbelow(max(1, settings.YIZHAN_AUDIT_SHARDS))
    connection._yizhan_audit_shard = (outer, shard)
    # A function decorated with @transaction.atomic enters the same Atomic
    # on every call, so the outer block alone does not tell one transaction
    # from the next: forget the choice when this transaction commits.
    transaction.on_commit(partial(_forget_shard, connection), using=using)
    return shard


def _forget_shard(connection) -> None:
    connection._yizhan_audit_shard = None


def _lock_head(shard: int) -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(shard=shard).first()
    if head is None:
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(shard=shard, seq=0, hash=genesis_hash(shard))],
            ignore_conflicts=True,
        )
        head = AuditChainHead.objects.select_for_update().get(shard=shard)
    return head


def audit_append(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    agency_id: int | None = None,
    post_id: int | None = None,
    reason: str = "",
    changes: dict | None = None,
) -> AuditRecord:
    """Append one record for ``action`` on ``obj`` by ``actor``.

    ``actor`` is a user, an API-token principal, or None for the system.
    ``changes`` holds old and new values (``{"field": [old, new]}``) or the
    created values; it is stored and its SM3 digest is chained.  A float
    that PostgreSQL would not give back as it was is stored as the string
    of its repr (``chain.storable``).
    """
    if not registry.is_registered(action):
        raise UnregisteredAuditAction(f"audit action {action!r} is not registered")
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit_append must run inside the transaction of the change")

    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    ctx = context.current()
    actor_id, label = actor_label(actor)
    if agency_id is None and actor is not None:
        agency_id = getattr(actor, "acting_agency_id", None)
    if post_id is None and actor is not None:
        post_id, agency_id = registry.resolve_post(actor, agency_id)
    # Hashed as the database will give it back (chain.storable): a float
    # such as 1e16 would otherwise come back from PostgreSQL as another
    # number, and the untouched record would verify as altered.
    changes = storable(changes or {})

    shard = _shard_for_transaction(connection.alias)
    head = _lock_head(shard)
    fields = {
        "shard": shard,
        "seq": head.seq + 1,
        "at": timezone.now(),
        "actor_id": actor_id,
        "actor_label": label[:150],
        "agency_id": agency_id,
        "post_id": post_id,
        "action": action,
        "object_type": object_type[:80],
        "object_id": object_id[:64],
        "object_repr": object_repr[:200],
        "reason": reason,
        "request_id": ctx.request_id,
        "source": ctx.source,
        "digest": changes_digest(changes),
    }
    fields["hash"] = record_hash(fields, head.hash)
    record = AuditRecord.objects.create(prev_hash=head.hash, changes=changes, **fields)
    AuditChainHead.objects.filter(shard=shard).update(seq=record.seq, hash=record.hash)
    return record
