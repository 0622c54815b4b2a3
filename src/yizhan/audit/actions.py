"""Audit actions recorded by the audit app itself."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    VERIFIED = "audit.verified", _("核验审计链")
    SIGNING_KEY_CREATED = "audit.signing_key_created", _("生成签名密钥")
    SIGNING_KEY_ROTATED = "audit.signing_key_rotated", _("轮换签名密钥")
