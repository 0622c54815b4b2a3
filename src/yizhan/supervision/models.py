"""Supervision rules (data the supervision office edits) and the alerts they raise.

A rule names one of the checks in ``yizhan.supervision.checks`` and gives it
a level, a scope and parameters; the office edits them, every edit makes a
new version (kept as a ``RuleRevision``) and an audit record.  An alert is
raised once: its ``key`` (rule, case, task and the moment that was crossed)
is unique, so a sweep run twice, or on two workers at once, never raises it
twice.  Alerts are never deleted; they are cleared with a reason.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    NOTICE = "notice", _("提醒")
    YELLOW = "yellow", _("黄牌")
    RED = "red", _("红牌")


class Kind(models.TextChoices):
    TIMELINESS = "timeliness", _("时效监察")
    PROCEDURE = "procedure", _("程序监察")
    FEE = "fee", _("收费监察")
    ONLINE = "online", _("网上办理监察")


class Rule(models.Model):
    code = models.CharField(_("规则编码"), max_length=20, unique=True)
    name = models.CharField(_("规则名称"), max_length=100)
    check_code = models.CharField(_("检查项"), max_length=60)
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    level = models.CharField(_("级别"), max_length=8, choices=Level.choices)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    items = models.ManyToManyField("catalog.Item", verbose_name=_("适用事项"), blank=True,
                                   related_name="+")
    agencies = models.ManyToManyField("directory.Agency", verbose_name=_("适用机关"),
                                      blank=True, related_name="+")
    enabled = models.BooleanField(_("启用"), default=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    updated_at = models.DateTimeField(_("修改时间"))

    class Meta:
        verbose_name = _("监察规则")
        verbose_name_plural = _("监察规则")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class RuleRevision(models.Model):
    """What a rule said from one version on: the history the office can read."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField(encoder=DjangoJSONEncoder)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("监察规则版本")
        verbose_name_plural = _("监察规则版本")
        ordering = ["rule", "-version"]
        constraints = [models.UniqueConstraint(fields=["rule", "version"],
                                               name="rule_revision_unique")]

    def __str__(self):
        return f"{self.rule_id} v{self.version}"


class RulesetVersion(models.Model):
    """One row, bumped by every rule change: workers reload their rules when it moves."""

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return str(self.number)


class Alert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("未处理")
        NOTICED = "noticed", _("已发督办")
        CLEARED = "cleared", _("已核销")

    key = models.CharField(max_length=120, unique=True)
    rule = models.ForeignKey(Rule, verbose_name=_("规则"), on_delete=models.PROTECT,
                             related_name="alerts")
    rule_version = models.PositiveIntegerField()
    level = models.CharField(_("级别"), max_length=8, choices=Level.choices)
    case = models.ForeignKey("cases.Case", verbose_name=_("办件"), on_delete=models.PROTECT,
                             related_name="alerts")
    task = models.ForeignKey("cases.Task", verbose_name=_("环节"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="alerts")
    agency = models.ForeignKey("directory.Agency", verbose_name=_("责任机关"),
                               on_delete=models.PROTECT, related_name="alerts")
    post = models.ForeignKey("directory.Post", verbose_name=_("责任岗位"), null=True,
                             blank=True, on_delete=models.PROTECT, related_name="alerts")
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("责任人"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="alerts")
    message = models.CharField(_("说明"), max_length=300)
    evidence = models.JSONField(_("证据"), encoder=DjangoJSONEncoder, default=dict)
    raised_at = models.DateTimeField(_("产生时间"), db_index=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices,
                              default=Status.OPEN)
    cleared_at = models.DateTimeField(_("核销时间"), null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    cleared_reason = models.TextField(_("核销理由"), blank=True)

    class Meta:
        verbose_name = _("监察预警")
        verbose_name_plural = _("监察预警")
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "status", "level"], name="alert_agency_idx"),
            models.Index(fields=["case", "level"], name="alert_case_idx"),
        ]

    def __str__(self):
        return f"{self.get_level_display()} {self.rule_id} {self.case_id}"

    def delete(self, *args, **kwargs):
        raise TypeError("alerts are never deleted; clear them with a reason")
