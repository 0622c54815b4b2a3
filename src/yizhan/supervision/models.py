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
from django.urls import reverse
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


class AlertQuerySet(models.QuerySet):
    def delete(self):
        raise TypeError("alerts are never deleted; clear them with a reason")


class Alert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("未处理")
        NOTICED = "noticed", _("已发督办")
        CLEARED = "cleared", _("已核销")

    key = models.CharField(max_length=120)
    rule = models.ForeignKey(Rule, verbose_name=_("规则"), on_delete=models.PROTECT,
                             related_name="alerts")
    rule_version = models.PositiveIntegerField()
    level = models.CharField(_("级别"), max_length=8, choices=Level.choices)
    case = models.ForeignKey("cases.Case", verbose_name=_("办件"), on_delete=models.PROTECT,
                             related_name="alerts", db_index=False)
    task = models.ForeignKey("cases.Task", verbose_name=_("环节"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="alerts")
    agency = models.ForeignKey("directory.Agency", verbose_name=_("责任机关"),
                               on_delete=models.PROTECT, related_name="alerts", db_index=False)
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
    # The supervision notice (监察督办, a case of its own) the alert led to.
    notice = models.ForeignKey("cases.Case", verbose_name=_("督办件"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="noticed_alerts")

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("监察预警")
        verbose_name_plural = _("监察预警")
        ordering = ["-raised_at", "-id"]
        # The sweep inserts thousands of alerts at a time and each index is
        # written for each: the key is unique by a constraint (``unique=True``
        # would add an unused pattern-ops index on PostgreSQL), and the
        # composite indexes serve lookups by agency or case alone.
        constraints = [models.UniqueConstraint(fields=["key"], name="alert_key_unique")]
        indexes = [
            models.Index(fields=["agency", "status", "level"], name="alert_agency_idx"),
            models.Index(fields=["case", "level"], name="alert_case_idx"),
        ]

    def __str__(self):
        return f"{self.get_level_display()} {self.rule_id} {self.case_id}"

    def delete(self, *args, **kwargs):
        raise TypeError("alerts are never deleted; clear them with a reason")


# --- performance scoring (绩效评估); see scoring.py ------------------------------------

class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("优秀")
    GOOD = "good", _("良好")
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")


class ScoringScheme(models.Model):
    """One version of how agencies and posts are scored: dimensions, weights, bands.

    A version is never edited: the supervision office's change is a new
    version (``scoring_services.scoring_scheme_update``), and every stored
    computation names the version it used.  The shape of ``dimensions``
    and ``bands`` is checked by ``scoring.clean_scheme``.
    """

    version = models.PositiveIntegerField(_("版本"), unique=True)
    dimensions = models.JSONField(_("评估指标"), encoder=DjangoJSONEncoder)
    bands = models.JSONField(_("等级分数线"), encoder=DjangoJSONEncoder)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("修改时间"))
    reason = models.TextField(_("修改理由"), blank=True)

    class Meta:
        verbose_name = _("绩效评估方案")
        verbose_name_plural = _("绩效评估方案")
        ordering = ["-version"]

    def __str__(self):
        return f"v{self.version}"


class ScoreRun(models.Model):
    """One computation of a period's scores, for the agencies of one scope.

    Stored so that a published report does not change when alerts are
    cleared later; computing the period again makes a new run whose scores
    supersede the earlier ones (which stay on record).
    """

    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"))
    scheme = models.ForeignKey(ScoringScheme, verbose_name=_("评估方案"),
                               on_delete=models.PROTECT, related_name="runs")
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    computed_at = models.DateTimeField(_("计算时间"), db_index=True)
    reason = models.TextField(_("计算说明"), blank=True)
    agencies = models.PositiveIntegerField(_("机关数"), default=0)

    class Meta:
        verbose_name = _("绩效评估计算")
        verbose_name_plural = _("绩效评估计算")
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["starts_on", "ends_on"], name="score_run_period_idx")]

    def __str__(self):
        return f"{self.starts_on}–{self.ends_on} #{self.pk}"


class AgencyScore(models.Model):
    """An agency's score for one period, as one run computed it.

    ``current`` marks the score in force: the latest run that covered the
    agency for exactly this period.  ``dimensions`` holds each dimension's
    result (see ``scoring.DimensionResult``); the deductions behind it are
    ``ScoreDeduction`` rows.
    """

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="agency_scores")
    agency = models.ForeignKey("directory.Agency", verbose_name=_("机关"),
                               on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"))
    current = models.BooleanField(_("现行结果"), default=True)
    total = models.DecimalField(_("总分"), max_digits=5, decimal_places=2)
    grade = models.CharField(_("等级"), max_length=10, choices=Grade.choices)
    rank = models.PositiveIntegerField(_("排名"))
    ranked = models.PositiveIntegerField(_("参评机关数"))
    alerts = models.PositiveIntegerField(_("计入的预警"), default=0)
    dimensions = models.JSONField(_("各指标得分"), encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("机关绩效得分")
        verbose_name_plural = _("机关绩效得分")
        ordering = ["rank", "agency_id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "starts_on", "ends_on"],
                                    condition=models.Q(current=True),
                                    name="agency_score_current_unique"),
            models.UniqueConstraint(fields=["run", "agency"], name="agency_score_run_unique"),
        ]
        indexes = [models.Index(fields=["starts_on", "ends_on", "current"],
                                name="agency_score_period_idx")]

    def __str__(self):
        return f"{self.agency_id} {self.starts_on}–{self.ends_on}: {self.total}"


class PostScore(models.Model):
    """A post's score within its agency's score, from the alerts attributed to it."""

    agency_score = models.ForeignKey(AgencyScore, on_delete=models.CASCADE,
                                     related_name="post_scores")
    post = models.ForeignKey("directory.Post", verbose_name=_("岗位"),
                             on_delete=models.PROTECT, related_name="+")
    total = models.DecimalField(_("总分"), max_digits=5, decimal_places=2)
    grade = models.CharField(_("等级"), max_length=10, choices=Grade.choices)
    rank = models.PositiveIntegerField(_("排名"))
    ranked = models.PositiveIntegerField(_("参评岗位数"))
    alerts = models.PositiveIntegerField(_("计入的预警"), default=0)
    dimensions = models.JSONField(_("各指标得分"), encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("岗位绩效得分")
        verbose_name_plural = _("岗位绩效得分")
        ordering = ["rank", "post_id"]
        constraints = [models.UniqueConstraint(fields=["agency_score", "post"],
                                               name="post_score_unique")]

    def __str__(self):
        return f"{self.post_id}: {self.total}"


class ScoreDeduction(models.Model):
    """One deduction behind a score: an alert (with its case) or a catalog item.

    A deduction with a post counts for that post's score too.
    """

    agency_score = models.ForeignKey(AgencyScore, on_delete=models.CASCADE,
                                     related_name="deductions")
    post = models.ForeignKey("directory.Post", verbose_name=_("岗位"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    dimension = models.CharField(_("指标"), max_length=30)
    points = models.DecimalField(_("扣分"), max_digits=6, decimal_places=2)
    alert = models.ForeignKey(Alert, verbose_name=_("预警"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", verbose_name=_("办件"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey("catalog.Item", verbose_name=_("事项"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("级别"), max_length=8, choices=Level.choices, blank=True)
    note = models.CharField(_("说明"), max_length=300)

    class Meta:
        verbose_name = _("绩效扣分")
        verbose_name_plural = _("绩效扣分")
        ordering = ["dimension", "id"]

    def __str__(self):
        return f"{self.dimension} -{self.points}"

    @property
    def case_link(self) -> str:
        """The case's page in supervision: a notice's own page, or the case's; "" for an item."""
        if not self.case_id:
            return ""
        if self.case.kind == "notice":
            return reverse("supervision:notice", args=[self.case_id])
        return reverse("supervision:case", args=[self.case_id])

    @property
    def link(self) -> str:
        """Where the deduction is explained, for pages, the API and the Excel report.

        An alert is shown on its case's supervision page, a notice's too (a
        late reply is a card on the notice, which the notice's own page,
        listing the alerts it was issued for, does not show); a deduction
        for a notice itself leads to the notice; "" for a catalog item.
        """
        if self.alert_id:
            return f"{reverse('supervision:case', args=[self.case_id])}#alert-{self.alert_id}"
        return self.case_link
