"""Service items to the national item standard (基本目录 and 实施清单).

An ``Item`` is the stable identity of one implementation of an item by one
agency (its 实施编码); every content change is a new ``ItemVersion``.  A
published version is never edited: editing it drafts the next version, and
cases keep the version they were started with.  Publishing needs a second
person (the reviewer may not be the editor).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def linkable(value: str) -> str:
    """``value`` if a page may link to it, else "".

    Sample and blank-form fields are free text typed by editors: only a web
    address or a path of this site becomes a link (never ``javascript:``);
    anything else ("窗口领取") is shown as text.
    """
    value = (value or "").strip()
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else ""


def catalog_file_path(instance, filename):
    """``catalog/<sha[:2]>/<sha>.<ext>``: the content names the file, never its uploader."""
    return f"catalog/{instance.sha256[:2]}/{instance.sha256}{instance.extension}"


class CatalogFile(models.Model):
    """A blank form, sample or result sample of the catalog, stored once per content.

    Materials and versions refer to it by ``sha256`` (a reference the
    content dict carries like any other field, so a copied version keeps
    it); the same bytes uploaded twice are one file.  ``content_type`` is
    the type the content was checked to be (``cases.uploads``), never the
    uploader's.  The file has no name of its own: each reference carries
    the name its editor gave it (``Material.blank_form_file_name`` …), so
    two agencies uploading the same standard form each show their name,
    and neither sees what the other (or its draft) called it.
    """

    sha256 = models.CharField(_("SHA-256 摘要"), max_length=64, unique=True)
    file = models.FileField(upload_to=catalog_file_path, max_length=255)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_at = models.DateTimeField(_("上传时间"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        verbose_name = _("事项文件")
        verbose_name_plural = _("事项文件")
        ordering = ["-uploaded_at"]

    def __str__(self):
        return self.sha256 + self.extension

    @property
    def extension(self) -> str:
        from yizhan.cases.downloads import EXTENSIONS

        return EXTENSIONS.get(self.content_type, "")

    @property
    def kind_label(self) -> str:
        """PDF, DOCX, XLSX…: what the guide says the download is."""
        from yizhan.cases.uploads import ALL_KINDS

        return next((k.label for k in ALL_KINDS if k.content_type == self.content_type), "")


class FileReference:
    """A catalog file as one material or version refers to it: the stored file and
    the name that reference gives it, which the guide shows, the download's
    address carries and its Content-Disposition says."""

    def __init__(self, record: CatalogFile, name: str):
        self.record = record
        self.name = name

    size = property(lambda self: self.record.size)
    kind_label = property(lambda self: self.record.kind_label)

    @property
    def url(self) -> str:
        """``/services/files/<sha256>/<name>``: served only while a version the
        requester may see refers to these bytes under this name."""
        from django.urls import reverse

        return reverse("catalog:file", args=[self.record.sha256, self.name])

    def __str__(self):
        return self.name


def _files_of(version) -> dict:
    """The catalog files ``version`` and its materials refer to, by sha256: one query
    per version, however many materials the guide lists."""
    cached = getattr(version, "_catalog_files", None)
    if cached is None:
        wanted = {version.result_sample_file} | {
            ref for m in version.materials.all() for ref in (m.blank_form_file, m.sample_file)}
        wanted.discard("")
        cached = {f.sha256: f for f in CatalogFile.objects.filter(sha256__in=wanted)} \
            if wanted else {}
        version._catalog_files = cached
    return cached


def _reference(version, sha256: str, name: str) -> FileReference | None:
    record = _files_of(version).get(sha256) if sha256 else None
    if record is None:
        return None
    # Every reference has a name (content.clean_version_data, migration 0006).
    return FileReference(record, name or str(record))


class ItemType(models.TextChoices):
    """The eleven kinds of administrative power and public service, with the
    two-letter type codes used in the basic code."""

    LICENSING = "XK", _("行政许可")
    PENALTY = "CF", _("行政处罚")
    COERCION = "QZ", _("行政强制")
    LEVY = "ZS", _("行政征收")
    PAYMENT = "JF", _("行政给付")
    INSPECTION = "JC", _("行政检查")
    CONFIRMATION = "QR", _("行政确认")
    REWARD = "JL", _("行政奖励")
    ADJUDICATION = "CJ", _("行政裁决")
    OTHER_POWER = "QT", _("其他行政权力")
    PUBLIC_SERVICE = "GG", _("公共服务")


class ExerciseLevel(models.TextChoices):
    """事权层级: the level of government that exercises the item."""

    NATIONAL = "1", _("国家级")
    PROVINCIAL = "2", _("省级")
    MUNICIPAL = "3", _("市级")
    COUNTY = "4", _("县级")
    TOWNSHIP = "5", _("乡镇级")


class CaseType(models.TextChoices):
    IMMEDIATE = "immediate", _("即办件")
    PROMISED = "promised", _("承诺件")


class OnlineDepth(models.IntegerChoices):
    """网上办理深度, from information only to fully online."""

    INFORMATION = 1, _("一级：网上发布办事指南")
    DOWNLOAD = 2, _("二级：网上下载表格、预约")
    PRE_REVIEW = 3, _("三级：网上申报、预审，到现场一次")
    FULLY_ONLINE = 4, _("四级：全程网上办理")


def offered_online(depth: int) -> bool:
    """Whether an item of this 网上办理深度 takes applications online (三级 up):
    below it, one applies at the window, where a clerk files it."""
    return depth >= OnlineDepth.PRE_REVIEW


class ProcessTemplate(models.TextChoices):
    IMMEDIATE = "immediate", _("即办件流程")
    PROMISED = "promised", _("承诺件流程")
    PARALLEL = "parallel", _("并联审批流程")
    UPPER_REVIEW = "upper_review", _("上级初审流程")
    CUSTOM = "custom", _("自定义流程")


SERVICE_OBJECTS = {"natural": _("自然人"), "legal": _("法人")}

SPECIAL_PROCEDURES = {
    "hearing": _("听证"),
    "inspection": _("现场勘验"),
    "testing": _("检验检测"),
    "expert_review": _("专家评审"),
    "public_notice": _("公示"),
    "quarantine": _("检疫"),
    "tender": _("招标"),
    "auction": _("拍卖"),
    "appraisal": _("鉴定"),
}

# 主题: life events for persons, themes for enterprises.
THEMES = {
    "birth": _("生育收养"),
    "household": _("户籍办理"),
    "education": _("教育科研"),
    "employment": _("就业创业"),
    "marriage": _("婚姻登记"),
    "housing": _("住房保障"),
    "health": _("医疗卫生"),
    "social_security": _("社会保障"),
    "travel": _("出境入境"),
    "retirement": _("退休养老"),
    "death": _("死亡殡葬"),
    "establish": _("设立变更"),
    "permits": _("准营准办"),
    "qualification": _("资质认证"),
    "construction": _("工程建设"),
    "tax": _("税费办理"),
    "dissolution": _("注销清算"),
}


class Item(models.Model):
    class Withdrawal(models.TextChoices):
        """Why an item is out of service, by a government decision (事项取消 / 暂停办理)."""

        CANCELLED = "cancelled", _("已取消")     # final: never offered again
        SUSPENDED = "suspended", _("暂停办理")   # may be restored (item_restore)

    impl_code = models.CharField(_("实施编码"), max_length=64, unique=True)
    agency = models.ForeignKey("directory.Agency", verbose_name=_("实施机关"),
                               on_delete=models.PROTECT, related_name="items")
    published = models.ForeignKey("ItemVersion", verbose_name=_("现行版本"), null=True,
                                  blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"))
    # An item the platform keeps for its own cases (监察督办): never in the
    # public catalog, the editors' lists or the supervision coverage.
    internal = models.BooleanField(_("内部事项"), default=False, editable=False)
    # Out of service by a decision (services.item_withdraw): all four set, or
    # none.  The published version stays the item's (cases under way keep
    # it, a restored suspension offers it again); the public catalog leaves
    # the item out (selectors.published_versions).
    withdrawn_kind = models.CharField(_("停止办理方式"), max_length=12, blank=True,
                                      choices=Withdrawal.choices, editable=False)
    withdrawn_at = models.DateTimeField(_("停止办理时间"), null=True, blank=True,
                                        editable=False)
    withdrawn_reason = models.CharField(_("停止办理依据"), max_length=500, blank=True,
                                        editable=False)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("停止办理操作人"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", editable=False)

    class Meta:
        verbose_name = _("事项")
        verbose_name_plural = _("事项")
        ordering = ["impl_code"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(withdrawn_kind="", withdrawn_at__isnull=True,
                                    withdrawn_reason="")
                           | models.Q(withdrawn_kind__in=["cancelled", "suspended"],
                                      withdrawn_at__isnull=False)
                           & ~models.Q(withdrawn_reason="")),
                name="item_withdrawal_whole"),
        ]

    def __str__(self):
        return self.impl_code

    @property
    def is_withdrawn(self) -> bool:
        return bool(self.withdrawn_kind)

    @property
    def is_cancelled(self) -> bool:
        return self.withdrawn_kind == self.Withdrawal.CANCELLED

    @property
    def is_suspended(self) -> bool:
        return self.withdrawn_kind == self.Withdrawal.SUSPENDED

    @property
    def withdrawn_on(self) -> str:
        """The local date of the withdrawal, as 2026-03-01 (the same in every language)."""
        return timezone.localdate(self.withdrawn_at).isoformat() if self.withdrawn_at else ""

    def withdrawal_statement(self) -> str:
        """One sentence, in the active language: cancelled or suspended, since when,
        by which decision; "" for an item in service.

        Pages, messages and refusals quote it (as a ``rendered_later`` field,
        so each rendering of a refusal is in its own language).
        """
        if self.is_cancelled:
            text = _("该事项已于 %(date)s 取消，依据：%(decision)s。")
        elif self.is_suspended:
            text = _("该事项自 %(date)s 起暂停办理，依据：%(decision)s。")
        else:
            return ""
        return str(text) % {"date": self.withdrawn_on, "decision": self.withdrawn_reason}


class ItemVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING = "pending", _("待审核")
        PUBLISHED = "published", _("已发布")
        SUPERSEDED = "superseded", _("已被新版本替代")
        INTERNAL = "internal", _("内部事项，不公开")

    item = models.ForeignKey(Item, verbose_name=_("事项"), on_delete=models.PROTECT,
                             related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices,
                              default=Status.DRAFT)

    name = models.CharField(_("事项名称"), max_length=200)
    basic_code = models.CharField(_("基本编码"), max_length=32)
    item_type = models.CharField(_("事项类型"), max_length=2, choices=ItemType.choices)
    legal_basis = models.TextField(_("设定依据"))
    exercise_level = models.CharField(_("行使层级"), max_length=1,
                                      choices=ExerciseLevel.choices)
    joint_agencies = models.ManyToManyField("directory.Agency", verbose_name=_("联办机关"),
                                            blank=True, related_name="joint_item_versions")
    upper_agency = models.ForeignKey("directory.Agency", verbose_name=_("上级审批机关"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="upper_item_versions")
    service_objects = models.JSONField(_("服务对象"), default=list)
    acceptance_conditions = models.TextField(_("受理条件"))
    process_description = models.TextField(_("办理流程"), blank=True)
    statutory_limit = models.PositiveIntegerField(_("法定办结时限（工作日）"))
    promised_limit = models.PositiveIntegerField(_("承诺办结时限（工作日）"))
    limit_notes = models.TextField(_("时限说明"), blank=True)
    case_type = models.CharField(_("办件类型"), max_length=12, choices=CaseType.choices)
    result_name = models.CharField(_("审批结果名称"), max_length=200, blank=True)
    result_type = models.CharField(_("审批结果类型"), max_length=40, blank=True)
    result_sample = models.CharField(_("结果样本"), max_length=255, blank=True)
    # The sha256 of a CatalogFile, or "": the sample to download, under the
    # name its editor gave it ("" with no file).
    result_sample_file = models.CharField(_("结果样本文件"), max_length=64, blank=True)
    result_sample_file_name = models.CharField(_("结果样本文件名"), max_length=200,
                                               blank=True)
    visits_required = models.PositiveSmallIntegerField(_("到办事现场次数"), default=0)
    online_depth = models.PositiveSmallIntegerField(_("网上办理深度"),
                                                    choices=OnlineDepth.choices,
                                                    default=OnlineDepth.FULLY_ONLINE)
    # Where and when one applies in person (办理地点, 办理时间): elements of every
    # guide of the national standard, for whoever goes to the window.
    handling_place = models.CharField(_("办理地点"), max_length=500, blank=True)
    handling_hours = models.CharField(_("办理时间"), max_length=200, blank=True)
    consultation = models.TextField(_("咨询方式"), blank=True)
    complaint = models.TextField(_("监督投诉方式"), blank=True)
    special_procedures = models.JSONField(_("特别程序"), default=list)
    themes = models.JSONField(_("主题分类"), default=list)
    # The application form beyond the materials: [{"name", "label", "type",
    # "required", "choices"}]; see yizhan.catalog.forms_spec.
    form_fields = models.JSONField(_("申请表字段"), default=list, blank=True)
    process_template = models.CharField(_("流程"), max_length=16,
                                        choices=ProcessTemplate.choices,
                                        default=ProcessTemplate.PROMISED)
    process_xml = models.TextField(_("自定义流程 BPMN"), blank=True)
    # The process as SpiffWorkflow's serialized specification: parsed once,
    # when the version is published, never per case or per step.
    process_spec = models.TextField(editable=False, blank=True)
    search_text = models.TextField(editable=False, blank=True)

    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("编辑人"),
                                  null=True, on_delete=models.PROTECT, related_name="+")
    edited_at = models.DateTimeField(_("编辑时间"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    review_note = models.TextField(_("审核意见"), blank=True)

    class Meta:
        verbose_name = _("事项版本")
        verbose_name_plural = _("事项版本")
        ordering = ["item_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="item_version_unique"),
            # At most one draft (or pending) version per item at a time.
            models.UniqueConstraint(fields=["item"],
                                    condition=models.Q(status__in=["draft", "pending"]),
                                    name="item_one_open_version"),
        ]
        indexes = [models.Index(fields=["status"], name="item_version_status_idx")]

    def __str__(self):
        return f"{self.name} v{self.number}"

    @property
    def agency(self):
        return self.item.agency

    @property
    def offered_online(self) -> bool:
        return offered_online(self.online_depth)

    @property
    def result_sample_link(self) -> str:
        return linkable(self.result_sample)

    @property
    def result_sample_download(self) -> FileReference | None:
        return _reference(self, self.result_sample_file, self.result_sample_file_name)

    @property
    def special_procedure_labels(self) -> list[str]:
        """The special procedures by name (听证, 现场勘验), for the guide."""
        return [str(SPECIAL_PROCEDURES.get(code, code)) for code in self.special_procedures]


class Material(models.Model):
    class Necessity(models.TextChoices):
        REQUIRED = "required", _("必要")
        CONDITIONAL = "conditional", _("容缺或情形必要")
        OPTIONAL = "optional", _("非必要")

    class Source(models.TextChoices):
        APPLICANT = "applicant", _("申请人自备")
        GOVERNMENT = "government", _("政府部门核发")
        INTERMEDIARY = "intermediary", _("中介机构出具")
        OTHER = "other", _("其他")

    FORMS = {"original": _("原件"), "copy": _("复印件"), "electronic": _("电子件")}

    version = models.ForeignKey(ItemVersion, verbose_name=_("事项版本"),
                                on_delete=models.CASCADE, related_name="materials")
    order = models.PositiveSmallIntegerField(_("序号"))
    name = models.CharField(_("材料名称"), max_length=200)
    forms = models.JSONField(_("材料形式"), default=list)
    necessity = models.CharField(_("必要性"), max_length=12, choices=Necessity.choices,
                                 default=Necessity.REQUIRED)
    condition = models.CharField(_("适用情形"), max_length=200, blank=True)
    copies = models.PositiveSmallIntegerField(_("份数"), default=1)
    source = models.CharField(_("来源渠道"), max_length=16, choices=Source.choices,
                              default=Source.APPLICANT)
    blank_form = models.CharField(_("空白表格"), max_length=255, blank=True)
    sample = models.CharField(_("示例样表"), max_length=255, blank=True)
    # The sha256 of a CatalogFile, or "": the files to download, each under
    # the name its editor gave it ("" with no file).
    blank_form_file = models.CharField(_("空白表格文件"), max_length=64, blank=True)
    blank_form_file_name = models.CharField(_("空白表格文件名"), max_length=200, blank=True)
    sample_file = models.CharField(_("示例样表文件"), max_length=64, blank=True)
    sample_file_name = models.CharField(_("示例样表文件名"), max_length=200, blank=True)
    acceptance_standard = models.TextField(_("受理标准"), blank=True)
    basis = models.TextField(_("要求提供材料的依据"), blank=True)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["version_id", "order"]

    def __str__(self):
        return self.name

    @property
    def blank_form_link(self) -> str:
        return linkable(self.blank_form)

    @property
    def sample_link(self) -> str:
        return linkable(self.sample)

    @property
    def blank_form_download(self) -> FileReference | None:
        return _reference(self.version, self.blank_form_file, self.blank_form_file_name)

    @property
    def sample_download(self) -> FileReference | None:
        return _reference(self.version, self.sample_file, self.sample_file_name)


class Fee(models.Model):
    version = models.ForeignKey(ItemVersion, verbose_name=_("事项版本"),
                                on_delete=models.CASCADE, related_name="fees")
    order = models.PositiveSmallIntegerField(_("序号"))
    name = models.CharField(_("收费项目"), max_length=200)
    standard = models.CharField(_("收费标准"), max_length=200)
    amount = models.DecimalField(_("金额上限（元）"), max_digits=12, decimal_places=2,
                                 null=True, blank=True)
    basis = models.TextField(_("收费依据"))
    waivable = models.BooleanField(_("可减免"), default=False)
    # Who or what case is exempt, by which rule (允许减免依据 of the implementation
    # list): required of a waivable fee (content._clean_fees), "" otherwise.
    waiver_basis = models.TextField(_("减免依据"), blank=True)

    class Meta:
        verbose_name = _("收费项目")
        verbose_name_plural = _("收费项目")
        ordering = ["version_id", "order"]

    def __str__(self):
        return self.name
