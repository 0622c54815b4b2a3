"""The holiday table: one row per year, one per exception day, one version.

A year's row says where its data came from and whether it is complete
(published).  Days are stored only where they depart from the
Monday-to-Friday rule: a weekday off (法定节假日) or a weekend day worked
(调休上班).  The single ``CalendarVersion`` row changes with every change,
so processes can tell cheaply that their cached calendar is stale.  A
``CalendarCheckpoint`` row says which version the work that follows the
calendar (the case engine's recount of deadlines) last ran on.  Only
``workdays.services`` writes these tables (and the seeding migration).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarYear(models.Model):
    """The holiday data of one calendar year."""

    class Source(models.TextChoices):
        PACKAGE = "chinesecalendar", _("chinesecalendar 软件包")
        MANUAL = "manual", _("管理员录入")

    year = models.PositiveSmallIntegerField(_("年度"), primary_key=True)
    source = models.CharField(_("数据来源"), max_length=20, choices=Source.choices)
    source_version = models.CharField(_("来源版本"), max_length=20, blank=True)
    published = models.BooleanField(
        _("已发布"), default=False,
        help_text=_("发布表示该年度的节假日安排已完整录入；未发布年度的期限计算均为暂定。"),
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    # Null on a published year: published by the system (seeded).
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发布人"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("日历年度")
        verbose_name_plural = _("日历年度")
        ordering = ["-year"]

    def __str__(self):
        return str(self.year)


class CalendarDay(models.Model):
    """A date that departs from the Monday-to-Friday rule."""

    date = models.DateField(_("日期"), unique=True)
    year = models.ForeignKey(CalendarYear, verbose_name=_("年度"), on_delete=models.PROTECT,
                             related_name="days")
    is_workday = models.BooleanField(
        _("上班"), help_text=_("勾选：周末调休上班；不勾选：工作日放假。"),
    )
    name = models.CharField(_("节日名称"), max_length=40)
    changed_at = models.DateTimeField(_("修改时间"))
    # Null: written by the system (seeded from the package).
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("修改人"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        ordering = ["date"]

    def __str__(self):
        kind = _("上班") if self.is_workday else _("放假")
        return f"{self.date.isoformat()} {self.name}（{kind}）"


class CalendarVersion(models.Model):
    """One row (id 1) whose number goes up with every calendar change."""

    version = models.PositiveBigIntegerField(_("版本号"), default=0)
    changed_at = models.DateTimeField(_("修改时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("日历版本")
        verbose_name_plural = _("日历版本")

    def __str__(self):
        return str(self.version)


class CalendarCheckpoint(models.Model):
    """The calendar version that a follower's work last ran on.

    A follower is work that must run after every calendar change, such as
    the case engine's recount of deadlines (``cases.deadlines``).  That
    work is asked for after the change commits, so a worker that dies in
    between loses it; a periodic job compares this row with
    ``CalendarVersion`` and runs the work again when the calendar has moved
    on (``services.calendar_catch_up``).  Written only there, never by a
    calendar change, whose lock on the version row it would otherwise meet.
    """

    name = models.CharField(_("跟随者"), max_length=40, primary_key=True)
    version = models.PositiveBigIntegerField(_("已处理的日历版本"), default=0)
    caught_up_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("日历跟随进度")
        verbose_name_plural = _("日历跟随进度")
        default_permissions = ()

    def __str__(self):
        return f"{self.name} @ {self.version}"
