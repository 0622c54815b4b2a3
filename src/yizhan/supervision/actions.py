"""Audit actions of electronic supervision."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SupervisionAction(models.TextChoices):
    RULE_UPDATED = "supervision.rule_updated", _("修改监察规则")
    ALERT_CLEARED = "supervision.alert_cleared", _("核销监察预警")
