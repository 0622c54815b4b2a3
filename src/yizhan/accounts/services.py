"""State changes of the accounts app: sign-in, passwords, second factor, tokens.

Sign-in is a service too: its refusals are recorded (for throttling, and in
the audit log), and the throttle is checked before the password so that a
locked account gives nothing away.
"""

import datetime
import secrets

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yizhan.accounts import permissions
from yizhan.accounts.actions import AccountsAction
from yizhan.accounts.error_codes import AccountsErrorCode
from yizhan.accounts.models import ApiToken, SignInFailure, User, person_of
from yizhan.accounts.principals import TokenPrincipal
from yizhan.audit.services import audit_append
from yizhan.core import crypto, notify, throttle
from yizhan.core.errors import (
    ApplicationError,
    InvalidInput,
    NotAuthenticated,
    Throttled,
    joined,
    worded_in_each_language,
)
from yizhan.core.middleware import client_ip, throttle_address
from yizhan.core.models import Attempt
from yizhan.core.permissions import require
from yizhan.directory import identifiers
from yizhan.directory.roles import Role

TOKEN_PREFIX = "yz_"


class SignInRefused(ApplicationError):
    code = AccountsErrorCode.BAD_CREDENTIALS
    message = _("用户名或密码错误。")
    http_status = 401


class SecondFactorRequired(ApplicationError):
    code = AccountsErrorCode.TOTP_REQUIRED
    message = _("请输入动态口令。")
    http_status = 401


def _recent_failures(*, username: str, ip: str | None) -> int:
    since = timezone.now() - datetime.timedelta(seconds=settings.LOGIN_LOCK_SECONDS)
    query = Q(username__iexact=username)
    if ip:
        query |= Q(ip=ip)
    return SignInFailure.objects.filter(query, at__gte=since).count()


@transaction.atomic
def _record_failure(*, username: str, ip: str | None, why: str) -> None:
    SignInFailure.objects.create(at=timezone.now(), username=username[:150], ip=ip)
    audit_append(actor=None, action=AccountsAction.SIGN_IN_REFUSED, object_type="accounts.user",
                 object_id=username[:64], object_repr=username[:200], reason=why)


def user_sign_in(*, request, username: str, password: str, totp_code: str = "") -> User:
    """Check credentials and the throttle; return the user to log in.

    Raises ``Throttled`` when the account or the address has failed
    ``LOGIN_MAX_FAILURES`` times within ``LOGIN_LOCK_SECONDS``.  The caller
    (a view) starts the session with ``django.contrib.auth.login``.
    """
    username = (username or "").strip()
    ip = throttle_address(client_ip(request)) if request is not None else None
    if _recent_failures(username=username, ip=ip) >= settings.LOGIN_MAX_FAILURES:
        raise Throttled(code=AccountsErrorCode.LOCKED_OUT,
                        minutes=max(1, settings.LOGIN_LOCK_SECONDS // 60))
    user = authenticate(request, username=username, password=password)
    if user is None:
        _record_failure(username=username, ip=ip, why="bad credentials")
        raise SignInRefused()
    if user.totp_enabled:
        if not totp_code:
            raise SecondFactorRequired()
        step = _totp_step(user, totp_code.strip())
        # A code is good once: a step at or before the last one used is a
        # replay (someone who saw the code over a shoulder, or a proxy log).
        if step is None or step <= user.totp_last_step:
            _record_failure(username=username, ip=ip, why="bad second factor")
            raise SignInRefused(_("动态口令错误。"), code=AccountsErrorCode.BAD_TOTP)
    with transaction.atomic():
        # A success clears the account's failures, not the address's.
        SignInFailure.objects.filter(username__iexact=username).delete()
        if user.totp_enabled:
            User.objects.filter(pk=user.pk).update(totp_last_step=step)
        audit_append(actor=user, action=AccountsAction.SIGNED_IN, obj=user)
    return user


def _totp_step(user: User, code: str) -> int | None:
    """The time step ``code`` belongs to (one step of drift allowed), or None."""
    totp = _totp_for(user)
    now = timezone.now()
    for drift in (0, -1, 1):
        at = now + datetime.timedelta(seconds=drift * totp.interval)
        if secrets.compare_digest(totp.at(at), code):
            return totp.timecode(at)
    return None


@transaction.atomic
def user_sign_out(*, actor: User) -> None:
    audit_append(actor=actor, action=AccountsAction.SIGNED_OUT, obj=actor)


def check_new_password(password: str, user: User, *, field: str = "new_password") -> None:
    """Refuse a password Django's validators reject, with their reasons in Chinese."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    def reasons() -> str:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            return joined(exc.messages)
        return ""

    found = reasons()
    if found:
        # The validators translate their reasons as they run.
        raise InvalidInput(_("密码不符合要求：%(detail)s"), code=AccountsErrorCode.WEAK_PASSWORD,
                           field=field, detail=worded_in_each_language(reasons))


@transaction.atomic
def password_change(*, actor, user: User, old_password: str, new_password: str) -> User:
    require(permissions.password_change(actor, user=user), action="password_change")
    if not user.check_password(old_password):
        raise InvalidInput(_("原密码不正确。"), code=AccountsErrorCode.WRONG_PASSWORD,
                           field="old_password")
    check_new_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_append(actor=actor, action=AccountsAction.PASSWORD_CHANGED, obj=user)
    return user


@transaction.atomic
def user_register_public(*, username: str, full_name: str, password: str, email: str = "",
                         phone: str = "") -> User:
    """Self-registration of a citizen or enterprise agent (public account)."""
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise InvalidInput(_("请填写登录名（不超过 150 个字符）。"), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("登录名“%(username)s”已被使用。"),
                           code=AccountsErrorCode.USERNAME_TAKEN, username=username)
    user = User(username=username,
                full_name=identifiers.clean_name(full_name, field="full_name", max_length=100,
                                                 missing=None),
                email=identifiers.clean_email(email), phone=identifiers.clean_phone(phone),
                kind=User.Kind.PUBLIC)
    check_new_password(password, user)
    user.set_password(password)
    user.save()
    audit_append(actor=user, action=AccountsAction.USER_CREATED, obj=user,
                 changes={"username": username, "kind": user.kind})
    return user


# At most this many reset mails to one e-mail address in the window, however
# many addresses ask: anyone may type a citizen's address into the form, and
# without a limit a script would fill the inbox (and have the platform's mail
# server listed as a source of spam).
PASSWORD_RESET_MAX_PER_EMAIL = 3


def password_reset_request(*, email: str, reset_url_template: str, ip: str | None) -> None:
    """Mail a reset link if an active account has this address.

    Answers the same whether or not the address is known, so the form
    cannot be used to find out who has an account.  ``reset_url_template``
    has ``{uid}`` and ``{token}`` placeholders.

    Throttled like sign-in: beyond ``LOGIN_MAX_FAILURES`` requests from one
    client address (``ip``; an IPv6 client's /64) within
    ``LOGIN_LOCK_SECONDS``, whatever the e-mail addresses, raises
    ``Throttled``.  Beyond ``PASSWORD_RESET_MAX_PER_EMAIL`` requests for one
    e-mail address in that time, from anywhere, nothing is sent and nothing
    is raised: a refusal there would tell that the address had been asked
    for, and the page must look the same either way.
    """
    email = (email or "").strip()
    if not email:
        return
    over = throttle.attempt_counted(
        kind=Attempt.Kind.PASSWORD_RESET, ip=ip,
        window=datetime.timedelta(seconds=settings.LOGIN_LOCK_SECONDS),
        per_address=settings.LOGIN_MAX_FAILURES,
        # A digest, not the address: the record is of what strangers typed.
        key=crypto.blind_index(email.casefold()), per_key=PASSWORD_RESET_MAX_PER_EMAIL)
    if over == throttle.Over.ADDRESS:
        raise Throttled(minutes=max(1, settings.LOGIN_LOCK_SECONDS // 60))
    if over is not None:
        return
    for user in User.objects.filter(email__iexact=email, is_active=True):
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = reset_url_template.format(uid=uid, token=token)
        with transaction.atomic():
            audit_append(actor=None, action=AccountsAction.PASSWORD_RESET_REQUESTED, obj=user)
            # Sent by the task runner, not in the request: a mail server that
            # is down or slow must not tell a known address from an unknown one.
            notify.send(email=user.email, subject=gettext("重置一站平台密码"),
                        text=gettext("请打开以下链接设置新密码（仅可使用一次）：\n%(link)s")
                        % {"link": link})


def password_reset_user(*, uidb64: str, token: str) -> User:
    try:
        uid = force_str(urlsafe_base64_decode(uidb64))
        user = User.objects.get(pk=uid, is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidInput(_("重置链接无效或已过期，请重新申请。"),
                           code=AccountsErrorCode.BAD_RESET_LINK)
    return user


@transaction.atomic
def password_reset_confirm(*, uidb64: str, token: str, new_password: str) -> User:
    user = password_reset_user(uidb64=uidb64, token=token)
    check_new_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    SignInFailure.objects.filter(username__iexact=user.username).delete()
    audit_append(actor=user, action=AccountsAction.PASSWORD_RESET, obj=user)
    return user


def _totp_for(user: User) -> pyotp.TOTP:
    return pyotp.TOTP(crypto.decrypt_field(user.totp_secret))


def totp_new_secret() -> str:
    return pyotp.random_base32()


def totp_provisioning_uri(*, user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username,
                                               issuer_name=settings.YIZHAN_SITE_NAME)


@transaction.atomic
def totp_enable(*, actor, user: User, secret: str, code: str) -> User:
    """Turn on the second factor once the user proves their app has ``secret``."""
    require(permissions.totp_enable(actor, user=user), action="totp_enable")
    if not pyotp.TOTP(secret).verify((code or "").strip(), valid_window=1):
        raise InvalidInput(_("动态口令错误，请确认手机时间准确后重试。"),
                           code=AccountsErrorCode.BAD_TOTP, field="code")
    user.totp_secret = crypto.encrypt_field(secret)
    user.totp_enabled = True
    user.save(update_fields=["totp_secret", "totp_enabled"])
    audit_append(actor=actor, action=AccountsAction.TOTP_ENABLED, obj=user)
    return user


@transaction.atomic
def totp_disable(*, actor, user: User, reason: str = "") -> User:
    """Switch off ``user``'s second factor: their own choice, or a reset after a
    lost phone by whoever answers for every role they hold."""
    require(permissions.totp_disable(actor, user=user), action="totp_disable")
    if getattr(person_of(actor), "pk", None) != user.pk and not (reason or "").strip():
        # Someone else's account loses a safeguard: the audit record says why,
        # to be checked against the staff member's own request.
        raise InvalidInput(_("为他人停用动态口令须说明理由。"), field="reason")
    if not user.totp_enabled:
        return user
    user.totp_secret = ""
    user.totp_enabled = False
    user.save(update_fields=["totp_secret", "totp_enabled"])
    audit_append(actor=actor, action=AccountsAction.TOTP_DISABLED, obj=user, reason=reason)
    return user


def _token_digest(secret: str) -> str:
    return crypto.sm3_hex(secret.encode())


def check_expiry(expires_at: datetime.datetime | None) -> datetime.datetime | None:
    """An expiry of a token or a grant, refused unless it is a readable future time.

    A time without a zone is the platform's local time (Beijing time).
    """
    if expires_at is None:
        return None
    if timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)
    try:
        # Kept and answered in UTC: a time past the end of year 9999 there
        # (9999-12-31T23:59:59-12:00) is one that neither this platform
        # nor a client can read back, whatever the database stores.
        expires_at.astimezone(datetime.UTC)
    except OverflowError:
        raise InvalidInput(_("到期时间超出允许的范围。"), field="expires_at") from None
    if expires_at <= timezone.now():
        raise InvalidInput(_("到期时间须晚于现在。"), field="expires_at")
    return expires_at


@transaction.atomic
def token_issue(*, actor, agency, name: str, role: str,
                expires_at: datetime.datetime | None = None) -> tuple[ApiToken, str]:
    """Issue a token for ``agency``; return it with the secret, shown once."""
    if role not in Role.values:
        raise InvalidInput(_("角色“%(role)s”不存在。"), field="role", role=role)
    require(permissions.token_issue(actor, agency=agency, role=role), action="token_issue")
    expires_at = check_expiry(expires_at)
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("请填写令牌名称（说明由哪个系统使用）。"), field="name")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        agency=agency, name=name[:100], role=role, prefix=prefix,
        digest=_token_digest(secret), created_by=person_of(actor),
        created_at=timezone.now(), expires_at=expires_at,
    )
    audit_append(actor=actor, action=AccountsAction.TOKEN_ISSUED, obj=token,
                 agency_id=agency.pk, changes={"name": name, "role": role, "prefix": prefix})
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


@transaction.atomic
def token_revoke(*, actor, token: ApiToken, reason: str = "") -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    require(permissions.token_revoke(actor, token=token), action="token_revoke")
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_append(actor=actor, action=AccountsAction.TOKEN_REVOKED, obj=token,
                 agency_id=token.agency_id, reason=reason)
    return token


def token_authenticate(raw: str) -> TokenPrincipal:
    """Resolve a presented token to its principal, or refuse."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        raise NotAuthenticated(_("接口令牌无效。"), code=AccountsErrorCode.BAD_TOKEN)
    prefix, _sep, secret = raw[len(TOKEN_PREFIX):].partition("_")
    token = ApiToken.objects.select_related("agency").filter(prefix=prefix).first()
    now = timezone.now()
    if (
        token is None
        or not secrets.compare_digest(token.digest, _token_digest(secret))
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
        # A closed agency's systems act for nobody (its staff's sessions
        # already see nothing of it).
        or not token.agency.is_active
    ):
        raise NotAuthenticated(_("接口令牌无效、已过期或已被吊销。"),
                               code=AccountsErrorCode.BAD_TOKEN)
    # Usage time at minute precision: enough to see an unused token, without
    # a write on every call.
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return TokenPrincipal(token_id=token.pk, prefix=token.prefix, agency_id=token.agency_id,
                          agency_path=token.agency.path, role=token.role)


@transaction.atomic
def superuser_create(*, username: str, password: str = "", password_hash: str = "",
                     full_name: str = "") -> User:
    """Create the installation's bootstrap administrator (command line only).

    There is no page or API for this: whoever runs commands on the server
    already controls the installation.  The account is audited like any
    other.
    """
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("登录名“%(username)s”已被使用。"),
                           code=AccountsErrorCode.USERNAME_TAKEN, username=username)
    user = User(username=username, full_name=full_name, kind=User.Kind.STAFF,
                is_superuser=True, is_staff=True)
    if password_hash:
        user.password = password_hash
    else:
        check_new_password(password, user)
        user.set_password(password)
    user.save()
    audit_append(actor=None, action=AccountsAction.USER_CREATED, obj=user,
                 changes={"username": username, "superuser": True})
    return user
