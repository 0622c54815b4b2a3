"""Who is who: divisions, agencies, posts, staff postings, grants, applicants.

Trees (divisions, agencies) keep a materialised ``path`` of ancestor ids so
"this agency and all its units" is one indexed prefix query.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yizhan.directory.roles import Role


class Division(models.Model):
    """An administrative division with its GB/T 2260 code."""

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("省级")
        CITY = 2, _("地级")
        COUNTY = 3, _("县级")
        TOWN = 4, _("乡级")
        VILLAGE = 5, _("村级")

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name=_("上级区划"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, db_index=True, editable=False)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}（{self.code}）"


class Agency(models.Model):
    """A government body (机关/部门) or one of its internal units."""

    class Kind(models.TextChoices):
        GOVERNMENT = "government", _("人民政府")
        DEPARTMENT = "department", _("政府工作部门")
        SERVICE_CENTER = "service_center", _("行政服务中心")
        SUPERVISION = "supervision", _("监察机关")
        CONGRESS = "congress", _("人民代表大会")
        CPPCC = "cppcc", _("政协")
        COURT = "court", _("人民法院")
        PROCURATORATE = "procuratorate", _("人民检察院")
        PUBLIC_INSTITUTION = "institution", _("事业单位")
        INTERNAL_UNIT = "unit", _("内设机构")

    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=40, blank=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    division = models.ForeignKey(Division, verbose_name=_("所属区划"), on_delete=models.PROTECT,
                                 related_name="agencies")
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    parent = models.ForeignKey("self", verbose_name=_("上级机关"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="units")
    path = models.CharField(max_length=255, db_index=True, editable=False)
    is_active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("机关")
        verbose_name_plural = _("机关")
        ordering = ["division__code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["credit_code"], condition=~models.Q(credit_code=""),
                                    name="agency_credit_code_unique"),
            models.UniqueConstraint(fields=["division", "parent", "name"],
                                    name="agency_name_unique_in_division"),
        ]

    def __str__(self):
        return self.name


class Post(models.Model):
    """A post (岗位) in an agency, carrying one role."""

    agency = models.ForeignKey(Agency, verbose_name=_("机关"), on_delete=models.PROTECT,
                               related_name="posts")
    name = models.CharField(_("岗位名称"), max_length=60)
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        ordering = ["agency_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="post_name_unique_in_agency"),
        ]

    def __str__(self):
        return f"{self.agency.name} · {self.name}"


class Posting(models.Model):
    """A staff member holding a post."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("工作人员"),
                             on_delete=models.PROTECT, related_name="postings")
    post = models.ForeignKey(Post, verbose_name=_("岗位"), on_delete=models.PROTECT,
                             related_name="postings")
    since = models.DateTimeField(_("任职时间"))

    class Meta:
        verbose_name = _("任职")
        verbose_name_plural = _("任职")
        constraints = [
            models.UniqueConstraint(fields=["user", "post"], name="posting_unique"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.post}"


class ScopeGrant(models.Model):
    """Permission to act in a role beyond one's own agency.

    The target is an agency (with its units) or a whole division (every
    agency in it and below), for example the city supervision office
    watching all of the city's agencies.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("被授权人"),
                             on_delete=models.PROTECT, related_name="scope_grants")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    agency = models.ForeignKey(Agency, verbose_name=_("机关"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    division = models.ForeignKey(Division, verbose_name=_("区划"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("授权依据"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("授权人"),
                                   null=True, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(_("授权时间"))
    expires_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("收回时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("跨机关授权")
        verbose_name_plural = _("跨机关授权")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(agency__isnull=False, division__isnull=True)
                           | models.Q(agency__isnull=True, division__isnull=False)),
                name="grant_targets_agency_or_division",
            ),
        ]

    def __str__(self):
        return f"{self.user} {self.role} → {self.agency or self.division}"


class Applicant(models.Model):
    """Someone who applies: a natural person or a legal person.

    Personal identifiers are stored encrypted (SM4-GCM) with a keyed blind
    index for lookup; see ``yizhan.core.crypto``.  The unified social credit
    code of a legal person is public by law and stored in clear.
    """

    class Kind(models.TextChoices):
        PERSON = "person", _("自然人")
        LEGAL = "legal", _("法人")

    # The catalog's word for each kind (ItemVersion.service_objects: 服务对象).
    SERVICE_OBJECT = {Kind.PERSON: "natural", Kind.LEGAL: "legal"}

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称/姓名"), max_length=200)
    id_number_enc = models.CharField(_("身份证号码（加密）"), max_length=200, blank=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True)
    id_number_masked = models.CharField(_("身份证号码"), max_length=18, blank=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    legal_rep_name = models.CharField(_("法定代表人"), max_length=100, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("账户"), null=True,
                             blank=True, on_delete=models.SET_NULL, related_name="applicants")
    created_at = models.DateTimeField(_("登记时间"))

    class Meta:
        verbose_name = _("申请人")
        verbose_name_plural = _("申请人")
        constraints = [
            models.UniqueConstraint(fields=["id_number_index"],
                                    condition=models.Q(kind="person"),
                                    name="applicant_person_unique"),
            models.UniqueConstraint(fields=["credit_code"], condition=models.Q(kind="legal"),
                                    name="applicant_legal_unique"),
        ]

    def __str__(self):
        return self.name
