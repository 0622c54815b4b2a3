"""Audit actions of the accounts app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountsAction(models.TextChoices):
    SIGNED_IN = "accounts.signed_in", _("登录")
    SIGNED_OUT = "accounts.signed_out", _("退出登录")
    SIGN_IN_REFUSED = "accounts.sign_in_refused", _("登录被拒绝")
    PASSWORD_CHANGED = "accounts.password_changed", _("修改密码")
    PASSWORD_RESET_REQUESTED = "accounts.password_reset_requested", _("申请重置密码")
    PASSWORD_RESET = "accounts.password_reset", _("重置密码")
    TOTP_ENABLED = "accounts.totp_enabled", _("启用动态口令")
    TOTP_DISABLED = "accounts.totp_disabled", _("停用动态口令")
    TOKEN_ISSUED = "accounts.token_issued", _("签发接口令牌")
    TOKEN_REVOKED = "accounts.token_revoked", _("吊销接口令牌")
    USER_CREATED = "accounts.user_created", _("创建账户")
    USER_DEACTIVATED = "accounts.user_deactivated", _("停用账户")
