"""Audit actions of the directory app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DirectoryAction(models.TextChoices):
    DIVISION_CREATED = "directory.division_created", _("新增行政区划")
    AGENCY_CREATED = "directory.agency_created", _("新增机关")
    AGENCY_UPDATED = "directory.agency_updated", _("修改机关")
    POST_CREATED = "directory.post_created", _("新增岗位")
    STAFF_CREATED = "directory.staff_created", _("新增工作人员")
    STAFF_POSTED = "directory.staff_posted", _("任命岗位")
    STAFF_UNPOSTED = "directory.staff_unposted", _("免去岗位")
    STAFF_DEACTIVATED = "directory.staff_deactivated", _("停用工作人员")
    GRANT_CREATED = "directory.grant_created", _("授予跨机关权限")
    GRANT_REVOKED = "directory.grant_revoked", _("收回跨机关权限")
    APPLICANT_REGISTERED = "directory.applicant_registered", _("登记申请人")
    APPLICANT_IDENTIFIER_REVEALED = "directory.applicant_identifier_revealed", _("查看证件号码")
    APPLICANT_LOOKED_UP = "directory.applicant_looked_up", _("按证件号码查找申请人")
