"""Users, failed sign-in records and API tokens."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class YizhanUserManager(UserManager):
    def get_by_natural_key(self, username):
        # A login name is one account whatever its case: registration and
        # staff creation refuse "Zhangsan" once "zhangsan" exists, and the
        # sign-in throttle counts both as one, so signing in (Django's
        # ModelBackend looks the account up here) finds it too, when a
        # phone keyboard capitalises the first letter.
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A person (or system) that signs in.

    ``kind`` separates the public (citizens, enterprise agents) from staff;
    what a staff member may do comes from their posts and grants in the
    directory app, never from this model alone.
    """

    class Kind(models.TextChoices):
        PUBLIC = "public", _("公众用户")
        STAFF = "staff", _("工作人员")

    kind = models.CharField(_("用户类型"), max_length=16, choices=Kind.choices,
                            default=Kind.PUBLIC)
    full_name = models.CharField(_("姓名"), max_length=100, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    totp_secret = models.CharField(_("动态口令密钥（加密）"), max_length=200, blank=True)
    totp_enabled = models.BooleanField(_("启用动态口令"), default=False)
    # The time step of the last code accepted, so a code works only once.
    totp_last_step = models.BigIntegerField(default=0, editable=False)

    objects = YizhanUserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            # The database's word on it, for two sign-ups racing each other.
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    def __str__(self):
        return self.full_name or self.username

    @property
    def is_public_user(self) -> bool:
        return self.kind == self.Kind.PUBLIC

    @property
    def is_staff_member(self) -> bool:
        return self.kind == self.Kind.STAFF


def person_of(actor) -> "User | None":
    """The user account behind an actor: None for an API token or the system.

    Columns such as "edited by" or "claimed by" name a person; a token's
    acts are attributed to the token in the audit log instead.
    """
    return actor if isinstance(actor, User) else None


class SignInFailure(models.Model):
    """One refused sign-in, kept for throttling and for the audit of abuse."""

    at = models.DateTimeField(_("时间"), db_index=True)
    username = models.CharField(_("用户名"), max_length=150, db_index=True)
    ip = models.GenericIPAddressField(_("地址"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("登录失败记录")
        verbose_name_plural = _("登录失败记录")

    def __str__(self):
        return f"{self.username} {self.at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A revocable credential for another system acting for one agency.

    Only the SM3 digest of the secret is stored; the token itself is shown
    once, when issued.  The token acts with one role inside its agency
    (and the agency's internal units), never beyond.
    """

    agency = models.ForeignKey("directory.Agency", verbose_name=_("机关"),
                               on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    role = models.CharField(_("角色"), max_length=32)
    prefix = models.CharField(_("前缀"), max_length=16, unique=True)
    digest = models.CharField(_("摘要"), max_length=64)
    created_by = models.ForeignKey(User, verbose_name=_("签发人"), null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("签发时间"))
    expires_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self):
        return f"{self.name} ({self.prefix})"
