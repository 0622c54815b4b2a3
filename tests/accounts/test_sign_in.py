"""Signing in and out through the pages, and the throttle on failures."""

import datetime
import re

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from tests.directory.writes import last_audit, nothing_written
from tests.factories import PASSWORD, SignInFailureFactory
from yizhan.accounts.actions import AccountsAction
from yizhan.accounts.models import SignInFailure, User
from yizhan.directory import services as directory_services

LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"
ACCOUNT = "/accounts/"
BAD_CREDENTIALS = "用户名或密码错误"


def sign_in(client, username, password, *, ip="127.0.0.1", **data):
    return client.post(LOGIN, {"username": username, "password": password, **data},
                       REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def lock_minutes() -> int:
    return max(1, settings.LOGIN_LOCK_SECONDS // 60)


# --- success -----------------------------------------------------------------------


def test_staff_are_sent_to_the_workbench_and_the_sign_in_is_audited(world):
    """Staff land on the workbench; the audit names who signed in."""
    client = Client()
    response = sign_in(client, "a.reviewer", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/workbench/"
    assert signed_in(client)
    record = last_audit(AccountsAction.SIGNED_IN)
    assert record.actor_label == "a.reviewer"
    assert record.actor_id == world.user("a", "reviewer").pk
    assert client.get("/workbench/").status_code == 200


def test_public_users_are_sent_home(world):
    """Citizens land on the portal's home page."""
    client = Client()
    response = sign_in(client, "citizen", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in(client)


@pytest.mark.parametrize("typed", ["Citizen", "CITIZEN", " citizen "])
def test_the_login_name_signs_in_whatever_its_case(world, typed):
    """A phone keyboard that capitalises the first letter does not lock the
    citizen out: the name is one account whatever its case, as registration
    and the throttle count it."""
    client = Client()
    response = sign_in(client, typed, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.citizen.pk)
    assert last_audit(AccountsAction.SIGNED_IN).actor_id == world.citizen.pk


def test_the_database_refuses_a_name_differing_only_in_case(world):
    """Two sign-ups racing past the service's check cannot both get the name."""
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="CITIZEN", kind=User.Kind.PUBLIC)


@pytest.mark.parametrize("page", [LOGIN, "/accounts/register/"])
def test_the_login_name_field_is_neither_capitalised_nor_corrected(world, page):
    """Phones type the login name as it is keyed in."""
    field = re.search(r'<input[^>]*name="username"[^>]*>', Client().get(page).content.decode())
    for attribute in ('autocapitalize="none"', 'autocorrect="off"', 'spellcheck="false"',
                      'autocomplete="username"'):
        assert attribute in field.group(0), (page, attribute)


def test_next_is_followed_only_within_the_site(world):
    """A next address on this site is followed; another site's is ignored."""
    ok = Client().post(f"{LOGIN}?next=/accounts/", {"username": "citizen",
                                                      "password": PASSWORD})
    assert ok["Location"] == "/accounts/"
    evil = Client().post(LOGIN, {"username": "citizen", "password": PASSWORD,
                                 "next": "https://evil.example/"})
    assert evil["Location"] == "/"


def test_sign_in_page_is_shown(world):
    """The page shows the sign-in form."""
    response = Client().get(LOGIN)
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


# --- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(("username", "password"), [
    ("a.reviewer", "Wrong-pass-2026!"),
    ("nobody.here", PASSWORD),
])
def test_wrong_password_or_unknown_user_gives_401_with_one_message(world, username, password):
    """Either way the same Chinese message, so the page does not tell which."""
    client = Client()
    response = sign_in(client, username, password, ip="10.0.0.1")
    assert response.status_code == 401
    assert BAD_CREDENTIALS in response.content.decode()
    assert not signed_in(client)
    failure = SignInFailure.objects.get()
    assert (failure.username, failure.ip) == (username, "10.0.0.1")
    record = last_audit(AccountsAction.SIGN_IN_REFUSED)
    assert record.actor_label == "system"
    assert record.object_id == username
    assert record.reason == "bad credentials"


def test_inactive_account_cannot_sign_in(world):
    """A deactivated account is refused like a wrong password."""
    directory_services.staff_deactivate(actor=world.admin, user=world.user("a", "reviewer"),
                                        reason="离职")
    client = Client()
    response = sign_in(client, "a.reviewer", PASSWORD)
    assert response.status_code == 401
    assert not signed_in(client)


def test_empty_form_is_a_400_and_records_nothing(world):
    """An incomplete form is not counted as a failed sign-in."""
    with nothing_written():
        response = Client().post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 400


# --- throttling ---------------------------------------------------------------------


def test_account_locks_after_max_failures_even_with_the_right_password(world):
    """Failures from many addresses lock the account; the locked attempt
    is refused before the password is looked at, and writes nothing."""
    for i in range(settings.LOGIN_MAX_FAILURES):
        assert sign_in(Client(), "a.reviewer", f"wrong-{i}", ip=f"10.1.0.{i}").status_code == 401
    client = Client()
    with nothing_written():
        response = sign_in(client, "a.reviewer", PASSWORD, ip="10.1.1.1")
    assert response.status_code == 429
    page = response.content.decode()
    assert f"{lock_minutes()} 分钟" in page
    assert BAD_CREDENTIALS not in page
    assert not signed_in(client)


def test_lock_applies_whatever_the_case_of_the_username(world):
    """Changing the case of the username does not dodge the lock, nor does
    a success in one case leave the failures typed in another."""
    for i in range(settings.LOGIN_MAX_FAILURES):
        sign_in(Client(), "A.Reviewer" if i % 2 else "a.REVIEWER", f"wrong-{i}",
                ip=f"10.2.0.{i}")
    for typed in ("a.reviewer", "A.Reviewer"):
        assert sign_in(Client(), typed, PASSWORD, ip="10.2.1.1").status_code == 429
    SignInFailure.objects.filter(username="a.REVIEWER").delete()
    assert sign_in(Client(), "A.REVIEWER", PASSWORD, ip="10.2.1.2").status_code == 302
    assert not SignInFailure.objects.exists()


def test_one_address_failing_across_usernames_is_locked(world):
    """Guessing many accounts from one address locks that address, for every
    account, while other addresses still get in."""
    for i in range(settings.LOGIN_MAX_FAILURES):
        sign_in(Client(), f"guess{i}", "wrong", ip="10.3.0.1")
    locked = sign_in(Client(), "a.reviewer", PASSWORD, ip="10.3.0.1")
    assert locked.status_code == 429
    assert f"{lock_minutes()} 分钟" in locked.content.decode()
    assert sign_in(Client(), "a.reviewer", PASSWORD, ip="10.3.0.2").status_code == 302


def test_an_ipv6_client_is_counted_by_its_64(world):
    """A new address of the same /64 for every guess is still one client."""
    for i in range(settings.LOGIN_MAX_FAILURES):
        sign_in(Client(), f"guess{i}", "wrong", ip=f"2001:db8:7:1::{i + 1:x}")
    assert sign_in(Client(), "a.reviewer", PASSWORD, ip="2001:db8:7:1::ff").status_code == 429
    assert sign_in(Client(), "a.reviewer", PASSWORD, ip="2001:db8:7:2::1").status_code == 302


def test_behind_the_proxy_each_person_is_their_own_address(world, settings):
    """Every request comes from the proxy: its address alone would lock everyone out."""
    settings.YIZHAN_TRUSTED_PROXIES = ["10.9.0.1"]

    def through_proxy(username, password, client_address):
        return Client().post(LOGIN, {"username": username, "password": password},
                             REMOTE_ADDR="10.9.0.1", HTTP_X_FORWARDED_FOR=client_address)

    for i in range(settings.LOGIN_MAX_FAILURES):
        through_proxy(f"guess{i}", "wrong", "198.51.100.7")
    assert through_proxy("a.reviewer", PASSWORD, "198.51.100.7").status_code == 429
    assert through_proxy("a.reviewer", PASSWORD, "198.51.100.8").status_code == 302
    assert set(SignInFailure.objects.values_list("ip", flat=True)) == {"198.51.100.7"}


def test_one_failure_short_of_the_limit_still_lets_the_owner_in(world):
    """The lock starts at the limit, not before."""
    for i in range(settings.LOGIN_MAX_FAILURES - 1):
        sign_in(Client(), "a.reviewer", f"wrong-{i}", ip=f"10.4.0.{i}")
    assert sign_in(Client(), "a.reviewer", PASSWORD, ip="10.4.1.1").status_code == 302


def test_success_clears_the_account_s_failures(world):
    """After a successful sign-in the count for the account starts again."""
    for i in range(settings.LOGIN_MAX_FAILURES - 1):
        sign_in(Client(), "a.reviewer", f"wrong-{i}", ip=f"10.5.0.{i}")
    assert sign_in(Client(), "a.reviewer", PASSWORD, ip="10.5.1.1").status_code == 302
    assert not SignInFailure.objects.filter(username__iexact="a.reviewer").exists()
    for i in range(settings.LOGIN_MAX_FAILURES - 1):
        sign_in(Client(), "a.reviewer", f"again-{i}", ip=f"10.5.2.{i}")
    assert sign_in(Client(), "a.reviewer", PASSWORD, ip="10.5.3.1").status_code == 302


def test_failures_older_than_the_window_do_not_count(world):
    """Failures outside the lock window are forgotten."""
    old = timezone.now() - datetime.timedelta(seconds=settings.LOGIN_LOCK_SECONDS + 60)
    SignInFailureFactory.create_batch(settings.LOGIN_MAX_FAILURES * 2, username="a.reviewer",
                                      ip="10.6.0.1", at=old)
    assert sign_in(Client(), "a.reviewer", PASSWORD, ip="10.6.0.1").status_code == 302


# --- signing out ----------------------------------------------------------------------


def test_sign_out_ends_the_session_and_is_audited(world, client_for):
    """After sign-out the account page asks to sign in again."""
    citizen = world.citizen
    client = client_for(citizen)
    assert client.get(ACCOUNT).status_code == 200
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not signed_in(client)
    assert client.get(ACCOUNT).status_code == 302
    record = last_audit(AccountsAction.SIGNED_OUT, object_id=str(citizen.pk))
    assert record.actor_label == "citizen"


def test_get_to_sign_out_does_not_sign_out(world, client_for):
    """A link or an image cannot sign anyone out: only POST does."""
    client = client_for(world.citizen)
    with nothing_written():
        response = client.get(LOGOUT)
    assert response.status_code == 405
    assert signed_in(client)
    assert client.get(ACCOUNT).status_code == 200


def test_sign_out_without_a_session_is_harmless(world):
    """Signing out when not signed in just goes home."""
    with nothing_written():
        response = Client().post(LOGOUT)
    assert response.status_code == 302


# --- session settings -------------------------------------------------------------------


def test_sessions_are_short_and_end_with_the_browser():
    """A forgotten session on a shared counter PC does not live on."""
    assert 0 < settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_session_cookie_has_no_fixed_expiry(world):
    """The session cookie is a browser-session cookie, not a persistent one."""
    client = Client()
    response = sign_in(client, "citizen", PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == ""
    assert cookie["max-age"] == ""
    assert cookie["httponly"]
