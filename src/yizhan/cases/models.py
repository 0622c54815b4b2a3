"""Cases (办件), their tasks, events, materials and certificates.

A case pins the item version it was started with.  Its process state is
the workflow without its specification (the specification lives once on the
item version).  The clock is kept as plain columns: when it started, the
deadlines, the working days paused, and ``next_check_at`` — the next moment
supervision needs to look at the case — which is indexed so that a sweep
reads only the cases that are due.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """The monitoring points of electronic supervision, and the other steps.

    Values are namespaced and never reused; supervision rules refer to them.
    """

    SUBMITTED = "cases.submitted", _("申请")
    ACCEPTED = "cases.accepted", _("受理")
    NOT_ACCEPTED = "cases.not_accepted", _("不予受理")
    CORRECTION_REQUESTED = "cases.correction_requested", _("补正告知")
    CORRECTION_SUBMITTED = "cases.correction_submitted", _("补正提交")
    TASK_CLAIMED = "cases.task_claimed", _("承办")
    # The one who claimed a task left its post: it is back in the post's inbox.
    TASK_RELEASED = "cases.task_released", _("解除签收")
    REVIEWED = "cases.reviewed", _("审核")
    RETURNED = "cases.returned", _("退回")
    APPROVED = "cases.approved", _("批准")
    REFUSED = "cases.refused", _("不予批准")
    NOTIFIED = "cases.notified", _("告知")
    FEE_CHARGED = "cases.fee_charged", _("收费")
    SUSPENDED = "cases.suspended", _("挂起")
    RESUMED = "cases.resumed", _("恢复")
    EXTENDED = "cases.extended", _("延期")
    # The person handling a case asks the agency's head for the extension;
    # the head declines it, or its requester takes it back.  The approval is
    # the extension itself (``EXTENDED``).
    EXTENSION_REQUESTED = "cases.extension_requested", _("延期申请")
    EXTENSION_DECLINED = "cases.extension_declined", _("延期申请未获批准")
    EXTENSION_WITHDRAWN = "cases.extension_withdrawn", _("延期申请撤回")
    CERTIFICATE_ISSUED = "cases.certificate_issued", _("出证")
    DELIVERED = "cases.delivered", _("送达")
    CLOSED = "cases.closed", _("办结")
    WITHDRAWN = "cases.withdrawn", _("撤回")
    CERTIFICATE_REVOKED = "cases.certificate_revoked", _("证照注销")
    NOTICE_ISSUED = "cases.notice_issued", _("下达督办")
    REPLIED = "cases.replied", _("督办回复")


class Case(models.Model):
    class Kind(models.TextChoices):
        # An application for an item of the catalog.
        APPROVAL = "approval", _("审批服务")
        # A correction notice or supervision recommendation the supervision
        # office issues to an agency (监察督办): the agency replies, the
        # office accepts or returns the reply.  No applicant applies, no
        # certificate is issued; its limits are those of its steps.
        NOTICE = "notice", _("监察督办")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待受理")
        CORRECTION = "correction", _("待补正")
        IN_PROGRESS = "in_progress", _("办理中")
        SUSPENDED = "suspended", _("暂停计时")
        APPROVED = "approved", _("已批准，待送达")
        CLOSED = "closed", _("已办结")
        NOT_ACCEPTED = "not_accepted", _("不予受理")
        WITHDRAWN = "withdrawn", _("已撤回")

    class Outcome(models.TextChoices):
        APPROVED = "approved", _("准予许可")
        REFUSED = "refused", _("不予许可")
        NOT_ACCEPTED = "not_accepted", _("不予受理")
        WITHDRAWN = "withdrawn", _("撤回")

    OPEN_STATUSES = (Status.SUBMITTED, Status.CORRECTION, Status.IN_PROGRESS, Status.SUSPENDED,
                     Status.APPROVED)
    # Accepted and not yet decided: the clock runs (or stands still for a
    # lawful reason), and the deadlines may move.
    RUNNING_STATUSES = (Status.IN_PROGRESS, Status.SUSPENDED)
    # Before a decision the applicant may withdraw (《行政许可法》 leaves the
    # application theirs until it is decided).
    WITHDRAWABLE_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.CORRECTION,
                             Status.IN_PROGRESS, Status.SUSPENDED)

    number = models.CharField(_("办件编号"), max_length=32, null=True, blank=True)
    kind = models.CharField(_("办件类别"), max_length=20, choices=Kind.choices,
                            default=Kind.APPROVAL)
    item_version = models.ForeignKey("catalog.ItemVersion", verbose_name=_("事项版本"),
                                     on_delete=models.PROTECT, related_name="cases")
    applicant = models.ForeignKey("directory.Applicant", verbose_name=_("申请人"),
                                  on_delete=models.PROTECT, related_name="cases",
                                  db_index=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提交人"),
                                     on_delete=models.PROTECT, related_name="submitted_cases")
    agency = models.ForeignKey("directory.Agency", verbose_name=_("受理机关"),
                               on_delete=models.PROTECT, related_name="cases", db_index=False)
    channel = models.CharField(_("申请渠道"), max_length=12, default="online")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices,
                              default=Status.DRAFT)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices, blank=True)
    outcome_reason = models.TextField(_("理由"), blank=True)
    data = models.JSONField(_("申请信息"), encoder=DjangoJSONEncoder, default=dict)
    process_state = models.TextField(editable=False, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    query_code_hash = models.CharField(max_length=64, blank=True)
    corrections = models.PositiveSmallIntegerField(_("补正次数"), default=0)

    created_at = models.DateTimeField(_("创建时间"))
    submitted_at = models.DateTimeField(_("申请时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    # The clock (working days; see cases/clock.py).
    statutory_due = models.DateTimeField(_("法定期限"), null=True, blank=True)
    promised_due = models.DateTimeField(_("承诺期限"), null=True, blank=True)
    # A deadline is provisional when the days it counts reach a year without
    # holiday data.  The promised limit is never longer than the statutory
    # one, so ``due_provisional`` (the statutory deadline's) is also "some
    # deadline is provisional"; the promised one may well be final already.
    due_provisional = models.BooleanField(_("期限为暂定"), default=False)
    promised_provisional = models.BooleanField(_("承诺期限为暂定"), default=False)
    paused_since = models.DateTimeField(_("暂停计时起"), null=True, blank=True)
    pause_reason = models.CharField(_("暂停事由"), max_length=40, blank=True)
    paused_workdays = models.PositiveIntegerField(_("已暂停工作日"), default=0)
    extension_workdays = models.PositiveIntegerField(_("延期工作日"), default=0)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)

    class Meta:
        verbose_name = _("办件")
        verbose_name_plural = _("办件")
        ordering = ["-created_at", "-id"]
        # Every index here is written again whenever the sweep moves a case's
        # ``next_check_at`` (an indexed column, so no update is HOT): none is
        # kept that another covers.  The number is unique by a constraint, not
        # ``unique=True``, which on PostgreSQL adds a second, pattern-ops index
        # for LIKE that nothing uses; the composite indexes serve lookups by
        # agency or applicant alone, and status alone is never selective.
        constraints = [
            models.UniqueConstraint(fields=["number"], name="case_number_unique"),
            models.UniqueConstraint(fields=["submitted_by", "idempotency_key"],
                                    condition=~models.Q(idempotency_key=""),
                                    name="case_idempotent_submission"),
        ]
        indexes = [
            models.Index(fields=["agency", "status"], name="case_agency_status_idx"),
            models.Index(fields=["applicant", "status"], name="case_applicant_status_idx"),
        ]

    def __str__(self):
        return self.number or _("草稿 #%(pk)s") % {"pk": self.pk}

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def was_submitted(self) -> bool:
        """Whether the case ever was an application before the agency (or a
        notice issued).  Not the status: a draft its applicant withdrew is
        已撤回 without ever having been submitted, and has no number."""
        return self.submitted_at is not None


class CaseNumberSequence(models.Model):
    """The last serial per agency and year; locked to allocate the next.

    Per agency, not per city, so that agencies never wait on each other.
    """

    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "year"], name="case_sequence_unique"),
        ]

    def __str__(self):
        return f"{self.agency_id}/{self.year}: {self.last}"


class Task(models.Model):
    """One step of a case for a post in an agency (受理, 审查, 决定 ...)."""

    class Status(models.TextChoices):
        OPEN = "open", _("待办")
        CLAIMED = "claimed", _("办理中")
        DONE = "done", _("已办")
        CANCELLED = "cancelled", _("已取消")

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE,
                             related_name="tasks")
    spiff_id = models.CharField(max_length=40)
    name = models.CharField(_("环节代码"), max_length=80)
    title = models.CharField(_("环节"), max_length=120)
    role = models.CharField(_("岗位角色"), max_length=32)
    agency = models.ForeignKey("directory.Agency", verbose_name=_("办理机关"),
                               on_delete=models.PROTECT, related_name="tasks")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices,
                              default=Status.OPEN)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("承办人"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decision = models.CharField(_("办理意见"), max_length=16, blank=True)
    opinion = models.TextField(_("意见说明"), blank=True)
    created_at = models.DateTimeField(_("到达时间"))
    claimed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("环节时限"), null=True, blank=True)
    # When the step's own limit began: its opening, or the applicant's
    # resubmission after a correction (None: ``created_at``).  Kept so the
    # limit can be counted again when the calendar changes.
    due_from = models.DateTimeField(_("时限起算"), null=True, blank=True)
    # The limit runs into a year without holiday data (see ``clock``).
    due_provisional = models.BooleanField(_("环节时限暂定"), default=False)
    # Bumped on every change: two people acting on the same task at once
    # both read N, and only one UPDATE ... WHERE version = N succeeds.
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("环节任务")
        verbose_name_plural = _("环节任务")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["agency", "role", "status"], name="task_inbox_idx"),
        ]
        constraints = [
            # A returned step comes back under the same workflow task id:
            # one row per time it was open, but never two open at once.
            models.UniqueConstraint(fields=["case", "spiff_id"],
                                    condition=models.Q(status__in=["open", "claimed"]),
                                    name="task_spiff_open_unique"),
        ]

    def __str__(self):
        return f"{self.case} · {self.title}"


class CaseEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("case events are append-only")

    def delete(self):
        raise TypeError("case events are append-only")


class CaseEvent(models.Model):
    """An append-only record of one step; supervision reads only these."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="events")
    type = models.CharField(_("类型"), max_length=40, choices=EventType.choices)
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("操作人"), max_length=150)
    agency = models.ForeignKey("directory.Agency", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    correlation_id = models.CharField(max_length=64, db_index=True)

    objects = CaseEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("办件事件")
        verbose_name_plural = _("办件事件")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="event_case_at_idx")]

    def __str__(self):
        return f"{self.case_id} {self.type} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("case events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("case events are append-only")


def material_path(instance, filename):
    # The stored name never contains what the user called the file.
    return f"cases/{instance.case_id}/{instance.digest[:2]}/{instance.digest}"


class MaterialFile(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="files")
    material = models.ForeignKey("catalog.Material", verbose_name=_("材料"),
                                 on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=material_path, max_length=255)
    original_name = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    digest = models.CharField(_("SM3 摘要"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField()
    replaced = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("申请材料文件")
        verbose_name_plural = _("申请材料文件")
        ordering = ["material__order", "uploaded_at"]

    def __str__(self):
        return self.original_name


class CorrectionNotice(models.Model):
    """一次性告知: everything the applicant must correct, listed once."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="correction")
    items = models.JSONField(default=list)  # [{"material_id", "name", "problem"}]
    note = models.TextField(blank=True)
    # None when a token issued it (the audit log names the token).
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, related_name="+")
    issued_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("补正告知")
        verbose_name_plural = _("补正告知")

    def __str__(self):
        return f"{self.case}: {len(self.items)}"


class Certificate(models.Model):
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="certificate")
    # The issuing (deciding) agency: for an upper-level review, the upper one.
    agency = models.ForeignKey("directory.Agency", verbose_name=_("发证机关"),
                               on_delete=models.PROTECT, related_name="certificates")
    number = models.CharField(_("证照编号"), max_length=40, unique=True)
    # An item's name (up to 200 characters) and 决定书 when it names no result.
    title = models.CharField(_("证照名称"), max_length=255)
    # The names as printed and signed: an agency renamed (机构改革) or a holder
    # who changed name later does not change what the certificate says, and
    # the public verification page shows these.
    issuer_name = models.CharField(_("发证机关名称"), max_length=200)
    holder_name = models.CharField(_("持证者名称"), max_length=200)
    file = models.FileField(max_length=255)
    # Indexed: the public verification page looks a file up by its digest
    # (another certificate uploaded by mistake is named), once per upload.
    digest = models.CharField(max_length=64, db_index=True)
    key_id = models.BigIntegerField()
    algorithm = models.CharField(max_length=20)
    signature = models.TextField()
    verify_token = models.CharField(max_length=40, unique=True)
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("电子证照")
        verbose_name_plural = _("电子证照")

    def __str__(self):
        return self.number


class ExtensionRequest(models.Model):
    """延期申请: the person handling a case asks the agency's head to extend its limit.

    《行政许可法》第四十二条 has the head approve the one extension; the
    request carries the working days and the reason the reviewer proposes,
    which the head may lower or reword on approving (``services.case_extend``).
    At most one request of a case is pending; none stays pending once the
    case is decided, withdrawn or extended, or sent up to the upper agency
    (上级初审), whose head the request was not made to.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待批准")
        APPROVED = "approved", _("已批准")
        DECLINED = "declined", _("未批准")
        WITHDRAWN = "withdrawn", _("已撤回")

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE,
                             related_name="extension_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提出人"),
                                     on_delete=models.PROTECT, related_name="+")
    workdays = models.PositiveIntegerField(_("延长工作日"))
    reason = models.TextField(_("延期理由"))
    requested_at = models.DateTimeField(_("申请时间"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices,
                              default=Status.PENDING)
    # None when the request was closed with its case (decided, withdrawn or sent up).
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    decision_note = models.TextField(_("处理意见"), blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=models.Q(status="pending"),
                                    name="extension_request_one_pending"),
        ]
        indexes = [
            models.Index(fields=["status", "case"], name="extension_request_status_idx"),
        ]

    def __str__(self):
        return f"{self.case} +{self.workdays} ({self.status})"


class StatusQueryFailure(models.Model):
    """A wrong number or query code, kept to throttle guessing.

    ``ip`` is the address counted against (an IPv6 client's /64), ``number``
    the case number tried.
    """

    at = models.DateTimeField(db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    number = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        verbose_name = _("办件查询失败记录")
        verbose_name_plural = _("办件查询失败记录")

    def __str__(self):
        return f"{self.ip} {self.at:%Y-%m-%d %H:%M}"
