"""Audit actions recorded by the audit app itself."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    VERIFIED = "audit.verified", _("核验审计链")
