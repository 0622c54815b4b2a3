"""Audit records and the heads of their hash chains.

A record is written once and never changed: the model refuses ``save()`` on
an existing row and ``delete()``, its queryset refuses ``update()`` and
``delete()``, and on PostgreSQL a trigger refuses UPDATE, DELETE and
TRUNCATE (migration 0002).  Records are chained per shard: each record's
hash covers its content and the previous record's hash in the same shard,
so an altered, inserted or removed record breaks the chain, and the head
row pins the end of each chain so that removing the newest records is
caught too.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImmutableRecordError(Exception):
    pass


class AuditRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRecordError("audit records cannot be updated")

    def delete(self):
        raise ImmutableRecordError("audit records cannot be deleted")

    # bulk paths that bypass save() are closed too
    def bulk_update(self, *args, **kwargs):
        raise ImmutableRecordError("audit records cannot be updated")


class AuditRecord(models.Model):
    shard = models.PositiveSmallIntegerField(_("分片"))
    seq = models.PositiveBigIntegerField(_("序号"))
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    # The label survives in the chain even if the account is renamed.
    actor_label = models.CharField(_("操作人标识"), max_length=150)
    agency_id = models.BigIntegerField(_("所属机关"), null=True, blank=True, db_index=True)
    post_id = models.BigIntegerField(_("岗位"), null=True, blank=True)
    action = models.CharField(_("动作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80)
    object_id = models.CharField(_("对象标识"), max_length=64)
    object_repr = models.CharField(_("对象"), max_length=200)
    reason = models.TextField(_("事由"), blank=True)
    request_id = models.CharField(_("请求号"), max_length=64, db_index=True)
    source = models.CharField(_("来源"), max_length=16)
    changes = models.JSONField(_("变更内容"), encoder=DjangoJSONEncoder, default=dict)
    digest = models.CharField(_("变更摘要"), max_length=64)
    prev_hash = models.CharField(_("前序哈希"), max_length=64)
    hash = models.CharField(_("哈希"), max_length=64)

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        constraints = [
            models.UniqueConstraint(fields=["shard", "seq"], name="audit_record_shard_seq"),
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_at_idx"),
        ]
        ordering = ["-at", "-id"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.shard}:{self.seq} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("audit records cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("audit records cannot be deleted")

    @property
    def action_label(self) -> str:
        from yizhan.audit.registry import label

        return label(self.action)


class AuditChainHead(models.Model):
    """The last sequence number and hash of one shard's chain.

    Appending locks this row, so writers to different shards never wait on
    each other; see ``audit.services``.
    """

    shard = models.PositiveSmallIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")
        default_permissions = ()

    def __str__(self):
        return f"shard {self.shard} @ {self.seq}"


class SigningKeyQuerySet(models.QuerySet):
    def delete(self):
        raise ImmutableRecordError("signing keys are retired, never deleted")


class SigningKey(models.Model):
    """An agency's key for signing its results (certificates, documents).

    The private key is PEM encrypted with the field key
    (``yizhan.core.crypto.encrypt_field``); the public key is in clear.
    An agency has at most one active key.  Rotation retires the old key:
    its private half is erased, since nothing signs with it again, and its
    public half stays so that what it signed still verifies.  Keys are
    never deleted.  See ``yizhan.audit.signing``.
    """

    class Algorithm(models.TextChoices):
        SM2_SM3 = "SM2-SM3", _("SM2 数字签名（SM3 杂凑）")
        ED25519 = "Ed25519", _("Ed25519 数字签名")

    agency = models.ForeignKey("directory.Agency", verbose_name=_("机关"),
                               on_delete=models.PROTECT, related_name="signing_keys")
    algorithm = models.CharField(_("算法"), max_length=16, choices=Algorithm.choices)
    public_key_pem = models.TextField(_("公钥"))
    private_key_enc = models.TextField(_("私钥（加密）"), blank=True)
    # SM3 of the public key's DER (SubjectPublicKeyInfo), for offline checks.
    fingerprint = models.CharField(_("公钥指纹"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("生成时间"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("生成人"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    retired_reason = models.TextField(_("停用事由"), blank=True)

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("签名密钥")
        verbose_name_plural = _("签名密钥")
        ordering = ["agency_id", "-created_at", "-id"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["agency"], condition=models.Q(retired_at__isnull=True),
                                    name="signing_key_one_active_per_agency"),
        ]

    def __str__(self):
        return f"{self.algorithm} {self.fingerprint[:16]}"

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("signing keys are retired, never deleted")

    @property
    def is_active(self) -> bool:
        return self.retired_at is None
