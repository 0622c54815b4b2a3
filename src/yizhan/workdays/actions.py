"""Audit actions of the workdays app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkdaysAction(models.TextChoices):
    DAY_SET = "workdays.day_set", _("调整节假日")
    YEAR_PUBLISHED = "workdays.year_published", _("发布年度日历")
    YEAR_SEEDED = "workdays.year_seeded", _("导入年度日历")
