"""Audit actions of the catalog app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CatalogAction(models.TextChoices):
    ITEM_CREATED = "catalog.item_created", _("新增事项")
    VERSION_DRAFTED = "catalog.version_drafted", _("新建事项版本草稿")
    VERSION_EDITED = "catalog.version_edited", _("修改事项草稿")
    VERSION_SUBMITTED = "catalog.version_submitted", _("提交事项审核")
    VERSION_PUBLISHED = "catalog.version_published", _("发布事项")
    VERSION_RETURNED = "catalog.version_returned", _("退回事项草稿")
    CATALOG_IMPORTED = "catalog.imported", _("导入事项目录")
    INTERNAL_ITEM_CREATED = "catalog.internal_item_created", _("新增内部事项")
    FILE_ATTACHED = "catalog.file_attached", _("上传事项表格或样本")
    FILE_DETACHED = "catalog.file_detached", _("移除事项表格或样本")
    ITEM_CANCELLED = "catalog.item_cancelled", _("取消事项")
    ITEM_SUSPENDED = "catalog.item_suspended", _("暂停办理事项")
    ITEM_RESTORED = "catalog.item_restored", _("恢复办理事项")
