"""The second factor (动态口令): enabling, signing in with it, resetting it."""

import time

import pyotp
import pytest
from django.test import Client

from tests.directory.writes import last_audit, nothing_written
from tests.factories import PASSWORD
from yizhan.accounts import services
from yizhan.accounts.actions import AccountsAction
from yizhan.accounts.error_codes import AccountsErrorCode
from yizhan.accounts.models import SignInFailure, User
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory import services as directory_services
from yizhan.directory.roles import Role

LOGIN = "/accounts/login/"


def wrong_code(secret: str) -> str:
    """A six-digit code that is valid at no moment near now."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    near = {totp.at(now + step * 30) for step in range(-3, 4)}
    return next(code for code in ("000000", "123456", "999999", "314159", "271828")
                if code not in near)


def enable(user: User) -> str:
    secret = services.totp_new_secret()
    services.totp_enable(actor=user, user=user, secret=secret, code=pyotp.TOTP(secret).now())
    return secret


def test_enabling_with_a_current_code_turns_it_on_and_stores_the_secret_encrypted(world):
    """The secret is kept SM4-encrypted and the change is audited."""
    user = world.user("a", "reviewer")
    secret = services.totp_new_secret()
    services.totp_enable(actor=user, user=user, secret=secret, code=pyotp.TOTP(secret).now())
    stored = User.objects.get(pk=user.pk)
    assert stored.totp_enabled is True
    assert secret not in stored.totp_secret
    assert stored.totp_secret.startswith("sm4gcm1:")
    record = last_audit(AccountsAction.TOTP_ENABLED, object_id=str(user.pk))
    assert record.actor_label == "a.reviewer"
    assert secret not in str(record.changes)


def test_a_wrong_code_is_refused_and_nothing_changes(world):
    """A code the app did not show leaves the second factor off."""
    user = world.user("a", "reviewer")
    secret = services.totp_new_secret()
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.totp_enable(actor=user, user=user, secret=secret, code=wrong_code(secret))
    assert exc.value.code == AccountsErrorCode.BAD_TOTP
    assert "动态口令错误" in exc.value.render()
    assert User.objects.get(pk=user.pk).totp_enabled is False


def test_nobody_enables_the_second_factor_for_someone_else(world):
    """Only the user enables their own second factor."""
    user = world.user("a", "reviewer")
    secret = services.totp_new_secret()
    for actor in (world.user("a", "agency_head"), world.admin):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.totp_enable(actor=actor, user=user, secret=secret,
                                 code=pyotp.TOTP(secret).now())


def test_enabling_through_the_page(world, client_for):
    """The page shows a secret kept in the session and accepts its code."""
    user = world.user("a", "reviewer")
    client = client_for(user)
    page = client.get("/accounts/totp/")
    assert page.status_code == 200
    secret = client.session["totp_pending"]
    assert secret in page.content.decode()
    bad = client.post("/accounts/totp/", {"code": wrong_code(secret)})
    assert bad.status_code == 400
    assert "动态口令错误" in bad.content.decode()
    assert User.objects.get(pk=user.pk).totp_enabled is False
    good = client.post("/accounts/totp/", {"code": pyotp.TOTP(secret).now()})
    assert good.status_code == 302
    assert User.objects.get(pk=user.pk).totp_enabled is True
    assert "totp_pending" not in client.session


def test_sign_in_asks_for_the_code_when_enabled(world):
    """The right password alone is not enough; the page asks for the code
    and the missing code is not counted as a failure."""
    secret = enable(world.user("a", "reviewer"))
    client = Client()
    response = client.post(LOGIN, {"username": "a.reviewer", "password": PASSWORD})
    assert response.status_code == 400
    assert "请输入动态口令" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not SignInFailure.objects.exists()

    response = client.post(LOGIN, {"username": "a.reviewer", "password": PASSWORD,
                                   "totp_code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert response["Location"] == "/workbench/"
    assert "_auth_user_id" in client.session


def test_the_admin_s_own_sign_in_form_is_not_a_way_round_the_code(world, client_for):
    """Django's admin form checks the password alone: a system administrator
    with the second factor on, or anyone trying passwords there, would pass
    neither the code nor the throttle.  /admin/login/ sends to the
    platform's page; a signed-in user who administers nothing is refused."""
    enable(world.user("a", Role.SYSADMIN))
    client = Client()
    response = client.post("/admin/login/?next=/admin/directory/post/",
                           {"username": "a.sysadmin", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/directory/post/"
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # to sign in, as before
    assert client.get("/admin/login/?next=https://evil.example/")["Location"] == (
        "/accounts/login/?next=/admin/")
    assert client_for(world.user("a", Role.REVIEWER)).get("/admin/login/").status_code == 403
    admin = client_for(world.user("b", Role.SYSADMIN))
    assert admin.get("/admin/login/?next=/admin/directory/post/")["Location"] == (
        "/admin/directory/post/")


def test_a_wrong_code_at_sign_in_is_a_counted_failure(world):
    """A wrong code is refused and counts towards the lock."""
    secret = enable(world.user("a", "reviewer"))
    client = Client()
    response = client.post(LOGIN, {"username": "a.reviewer", "password": PASSWORD,
                                   "totp_code": wrong_code(secret)})
    assert response.status_code == 401
    assert "动态口令错误" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert SignInFailure.objects.filter(username="a.reviewer").count() == 1
    assert last_audit(AccountsAction.SIGN_IN_REFUSED).reason == "bad second factor"


def test_a_code_with_the_wrong_password_reveals_nothing_about_the_code(world):
    """The password is checked first, with the usual message."""
    secret = enable(world.user("a", "reviewer"))
    response = Client().post(LOGIN, {"username": "a.reviewer", "password": "Wrong-pass-1!",
                                     "totp_code": pyotp.TOTP(secret).now()})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.content.decode()


def test_agency_head_may_disable_a_subordinate_s_second_factor(world):
    """A lost phone: the head of the agency resets it, with a reason on record.
    """
    reviewer = world.user("a", "reviewer")
    enable(reviewer)
    services.totp_disable(actor=world.user("a", "agency_head"), user=reviewer,
                          reason="手机丢失")
    stored = User.objects.get(pk=reviewer.pk)
    assert (stored.totp_enabled, stored.totp_secret) == (False, "")
    record = last_audit(AccountsAction.TOTP_DISABLED, object_id=str(reviewer.pk))
    assert (record.actor_label, record.reason) == ("a.agency_head", "手机丢失")
    response = Client().post(LOGIN, {"username": "a.reviewer", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("reason", ["", "   "])
def test_resetting_another_person_s_second_factor_needs_a_reason(world, reason):
    """Someone else's safeguard is switched off only with the reason on record;
    one's own needs none."""
    reviewer = world.user("a", "reviewer")
    enable(reviewer)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.totp_disable(actor=world.user("a", "agency_head"), user=reviewer,
                              reason=reason)
    assert exc.value.fields["field"] == "reason"
    assert exc.value.render("zh-hans") == "为他人停用动态口令须说明理由。"
    assert User.objects.get(pk=reviewer.pk).totp_enabled is True
    services.totp_disable(actor=reviewer, user=reviewer, reason=reason)
    assert User.objects.get(pk=reviewer.pk).totp_enabled is False


def test_a_head_resets_a_second_factor_on_the_agency_page(world, client_for):
    """本机关 shows 重置动态口令 for a staff member whose second factor is on, to
    whoever may reset it; the reason is asked at its field."""
    reviewer = world.user("a", "reviewer")
    enable(reviewer)
    head = client_for(world.user("a", "agency_head"))
    page = head.get("/workbench/agency/").content.decode()
    assert f'data-testid="totp-reset-{reviewer.pk}"' in page
    colleague_page = client_for(world.user("a", "window_clerk")).get("/workbench/agency/")
    assert "totp-reset-" not in colleague_page.content.decode()
    url = f"/workbench/agency/staff/{reviewer.pk}/totp/"
    field = f"totp-{reviewer.pk}-reason"
    with nothing_written():
        response = head.post(url, {field: "   "})
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    assert User.objects.get(pk=reviewer.pk).totp_enabled is True
    response = head.post(url, {field: "手机丢失"})
    assert response.status_code == 302
    assert User.objects.get(pk=reviewer.pk).totp_enabled is False
    record = last_audit(AccountsAction.TOTP_DISABLED, object_id=str(reviewer.pk))
    assert (record.actor_label, record.reason) == ("a.agency_head", "手机丢失")
    assert "totp-reset-" not in head.get("/workbench/agency/").content.decode()


def test_head_of_another_agency_may_not_disable_it(world):
    """Other agencies' heads, colleagues and citizens cannot switch it off."""
    reviewer = world.user("a", "reviewer")
    enable(reviewer)
    for actor in (world.user("b", "agency_head"), world.user("a", "window_clerk"),
                  world.citizen):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.totp_disable(actor=actor, user=reviewer, reason="越权")
    assert User.objects.get(pk=reviewer.pk).totp_enabled is True


def test_a_grant_s_holder_s_second_factor_is_reset_only_by_who_may_revoke_the_grant(world):
    """B's head resets B's staff's second factor, but not that of the city's
    supervision officer seconded from a post in B: the city-wide grant is a
    system administrator's over the city to take away, and so is resetting
    what guards it (docs/access.md)."""
    officer = world.user("b", "data_officer")
    directory_services.scope_grant_create(actor=world.admin, user=officer,
                                          role=Role.SUPERVISION_OFFICER,
                                          reason="市纪委监委派驻监督", division=world.city)
    enable(officer)
    for actor in (world.user("b", "agency_head"), world.user("b", "sysadmin")):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.totp_disable(actor=actor, user=User.objects.get(pk=officer.pk),
                                  reason="手机丢失")
    assert User.objects.get(pk=officer.pk).totp_enabled is True
    services.totp_disable(actor=world.admin, user=User.objects.get(pk=officer.pk),
                          reason="手机丢失")
    assert User.objects.get(pk=officer.pk).totp_enabled is False


def test_users_disable_their_own_second_factor_on_the_page(world, client_for):
    """The account page switches it off for oneself, audited."""
    citizen = world.citizen
    enable(citizen)
    response = client_for(citizen).post("/accounts/totp/", {"action": "disable"})
    assert response.status_code == 302
    assert User.objects.get(pk=citizen.pk).totp_enabled is False
    assert last_audit(AccountsAction.TOTP_DISABLED).actor_label == "citizen"


def test_disabling_when_not_enabled_writes_nothing(world):
    """Switching off what is off leaves no record."""
    with nothing_written():
        services.totp_disable(actor=world.admin, user=world.user("a", "reviewer"),
                              reason="无需")


@pytest.mark.django_db
def test_a_code_signs_in_only_once(world, rf):
    """The same code cannot be used twice: the second use is refused as a replay."""
    user = world.user("a", "reviewer")
    secret = services.totp_new_secret()
    services.totp_enable(actor=user, user=user, secret=secret, code=pyotp.TOTP(secret).now())
    code = pyotp.TOTP(secret).now()
    request = rf.post("/accounts/login/")
    request.META["REMOTE_ADDR"] = "10.9.9.9"
    services.user_sign_in(request=request, username=user.username, password=PASSWORD,
                          totp_code=code)
    with pytest.raises(services.SignInRefused):
        services.user_sign_in(request=request, username=user.username, password=PASSWORD,
                              totp_code=code)
