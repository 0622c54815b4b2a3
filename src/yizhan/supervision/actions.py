"""Audit actions of electronic supervision."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SupervisionAction(models.TextChoices):
    RULE_UPDATED = "supervision.rule_updated", _("修改监察规则")
    ALERT_CLEARED = "supervision.alert_cleared", _("核销监察预警")
    NOTICE_ISSUED = "supervision.notice_issued", _("下达监察督办")
    SCORING_SCHEME_UPDATED = "supervision.scoring_scheme_updated", _("修改绩效评估方案")
    SCORES_COMPUTED = "supervision.scores_computed", _("计算绩效评估")
