"""Audit actions of the case engine."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CasesAction(models.TextChoices):
    CASE_CREATED = "cases.case_created", _("新建办件草稿")
    DRAFT_UPDATED = "cases.draft_updated", _("修改办件草稿")
    MATERIAL_UPLOADED = "cases.material_uploaded", _("上传申请材料")
    CASE_SUBMITTED = "cases.case_submitted", _("提交申请")
    QUERY_CODE_REISSUED = "cases.query_code_reissued", _("重新生成查询码")
    CASE_ISSUED = "cases.case_issued", _("下达督办件")
    TASK_CLAIMED = "cases.task_claimed", _("签收环节")
    TASK_RELEASED = "cases.task_released", _("解除签收")
    TASK_COMPLETED = "cases.task_completed", _("办理环节")
    TASK_RETURNED = "cases.task_returned", _("退回环节")
    CORRECTION_REQUESTED = "cases.correction_requested", _("一次性告知补正")
    CORRECTION_SUBMITTED = "cases.correction_submitted", _("提交补正材料")
    CASE_SUSPENDED = "cases.case_suspended", _("暂停计时")
    CASE_RESUMED = "cases.case_resumed", _("恢复计时")
    CASE_EXTENDED = "cases.case_extended", _("延长办理期限")
    EXTENSION_REQUESTED = "cases.extension_requested", _("申请延长办理期限")
    EXTENSION_DECLINED = "cases.extension_declined", _("不批准延期申请")
    EXTENSION_WITHDRAWN = "cases.extension_withdrawn", _("撤回延期申请")
    CASE_WITHDRAWN = "cases.case_withdrawn", _("撤回申请")
    CERTIFICATE_ISSUED = "cases.certificate_issued", _("签发电子证照")
    CERTIFICATE_REVOKED = "cases.certificate_revoked", _("注销电子证照")
    DEADLINES_RECOMPUTED = "cases.deadlines_recomputed", _("重算办理期限")
    FEE_CHARGED = "cases.fee_charged", _("收费")
