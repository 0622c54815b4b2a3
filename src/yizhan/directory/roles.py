"""The roles a post (or an API token, or a grant) carries.

A role says what kind of work someone does; where they may do it comes
from the agency of the post (and its internal units) plus explicit grants.
The public role belongs to every signed-in citizen and needs no post.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    WINDOW_CLERK = "window_clerk", _("窗口受理员")
    REVIEWER = "reviewer", _("审查员")
    AGENCY_HEAD = "agency_head", _("部门负责人")
    SUPERVISION_OFFICER = "supervision_officer", _("监察员")
    DATA_OFFICER = "data_officer", _("数据管理员")
    SYSADMIN = "sysadmin", _("系统管理员")


PUBLIC_ROLE = "public"
