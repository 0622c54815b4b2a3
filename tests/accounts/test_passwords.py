"""Changing a password, and resetting a forgotten one by mail."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings

from tests.directory.writes import audit_rows, last_audit, nothing_written
from tests.factories import PASSWORD
from yizhan.accounts import services
from yizhan.accounts.actions import AccountsAction
from yizhan.accounts.error_codes import AccountsErrorCode
from yizhan.accounts.models import SignInFailure, User
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory import services as directory_services

CHANGE = "/accounts/password/"
RESET = "/accounts/password/reset/"
NEW_PASSWORD = "Fresh-pass-2027!"
CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


# --- change ------------------------------------------------------------------------


def test_change_keeps_the_session_and_is_audited(world, client_for):
    """The new password takes at once, the old one stops, and the user stays
    signed in."""
    citizen = world.citizen
    client = client_for(citizen)
    response = client.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/"
    assert client.get("/accounts/").status_code == 200  # still signed in
    assert User.objects.get(pk=citizen.pk).check_password(NEW_PASSWORD)
    assert last_audit(AccountsAction.PASSWORD_CHANGED, object_id=str(citizen.pk)
                      ).actor_label == "citizen"
    assert Client().login(username="citizen", password=NEW_PASSWORD)
    assert not Client().login(username="citizen", password=PASSWORD)


def test_wrong_old_password_is_refused(world, client_for):
    """Without the current password nothing changes."""
    client = client_for(world.citizen)
    with nothing_written():
        response = client.post(CHANGE, {"old_password": "Not-my-pass-1!",
                                        "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "原密码不正确" in response.content.decode()
    assert User.objects.get(pk=world.citizen.pk).check_password(PASSWORD)


@pytest.mark.parametrize("weak", ["short", "1234567890123", "password123", "citizen123"])
def test_weak_new_password_is_refused(world, client_for, weak):
    """Short, numeric, common or name-like passwords are refused with the
    reason."""
    client = client_for(world.citizen)
    with nothing_written():
        response = client.post(CHANGE, {"old_password": PASSWORD, "new_password": weak})
    assert response.status_code == 400
    assert "密码不符合要求" in response.content.decode()
    assert User.objects.get(pk=world.citizen.pk).check_password(PASSWORD)


def test_service_refuses_to_change_someone_else_s_password(world):
    """Not even the superuser changes another person's password this way."""
    with nothing_written(), pytest.raises(PermissionDenied):
        services.password_change(actor=world.admin, user=world.citizen,
                                 old_password=PASSWORD, new_password=NEW_PASSWORD)


def test_service_codes_for_wrong_and_weak(world):
    """Wrong old and weak new passwords carry their own error codes."""
    citizen = world.citizen
    with pytest.raises(InvalidInput) as exc:
        services.password_change(actor=citizen, user=citizen, old_password="x",
                                 new_password=NEW_PASSWORD)
    assert exc.value.code == AccountsErrorCode.WRONG_PASSWORD
    with pytest.raises(InvalidInput) as exc:
        services.password_change(actor=citizen, user=citizen, old_password=PASSWORD,
                                 new_password="short")
    assert exc.value.code == AccountsErrorCode.WEAK_PASSWORD
    assert "10" in exc.value.render("zh-hans")


def test_change_page_needs_sign_in(world):
    """Anonymous visitors are sent to sign in."""
    response = Client().get(CHANGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- reset -----------------------------------------------------------------------------


def request_reset(capture, email: str, *, ip: str = "127.0.0.1"):
    with capture(execute=True):
        return Client().post(RESET, {"email": email}, REMOTE_ADDR=ip)


def reset_link() -> str:
    """The path of the mailed link, which starts with the public address."""
    assert len(mail.outbox) == 1
    public = re.escape(settings.YIZHAN_PUBLIC_URL.rstrip("/"))
    match = re.search(public + r"(/accounts/password/reset/[^/\s]+/[^/\s]+/)",
                      mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(1)


def comparable(response) -> tuple:
    """What a visitor sees, without the per-request CSRF value."""
    return (response.status_code, [t.name for t in response.templates],
            CSRF_VALUE.sub("", response.content.decode()))


def test_reset_request_mails_a_link(world, django_capture_on_commit_callbacks):
    """A known address, in any case, gets one mail with a reset link."""
    response = request_reset(django_capture_on_commit_callbacks, "Citizen@Example.com")
    assert response.status_code == 200
    assert "如果该邮箱已注册" in response.content.decode()
    assert mail.outbox[0].to == ["citizen@example.com"]
    assert reset_link()
    assert last_audit(AccountsAction.PASSWORD_RESET_REQUESTED,
                      object_id=str(world.citizen.pk)).actor_label == "system"


@override_settings(YIZHAN_PUBLIC_URL="https://zwfw.example.gov.cn")
def test_the_reset_link_is_the_public_address(world, django_capture_on_commit_callbacks):
    """The reset mail's link is built from YIZHAN_PUBLIC_URL, as every other
    notification's, not from the Host header of the request (a proxy that
    passes its upstream name, or any other allowed host)."""
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(RESET, {"email": "citizen@example.com"}, HTTP_HOST="localhost")
    [message] = mail.outbox
    assert "https://zwfw.example.gov.cn/accounts/password/reset/" in message.body, message.body
    assert "localhost" not in message.body


def test_unknown_address_gets_the_same_page_and_no_mail(world,
                                                         django_capture_on_commit_callbacks):
    """The form cannot be used to find out who has an account."""
    known = request_reset(django_capture_on_commit_callbacks, "citizen@example.com")
    mail.outbox.clear()
    with nothing_written():
        unknown = request_reset(django_capture_on_commit_callbacks, "stranger@example.com")
    assert comparable(unknown) == comparable(known)
    assert mail.outbox == []


def test_the_request_does_not_wait_for_the_mail_server(world, monkeypatch, settings,
                                                     django_capture_on_commit_callbacks):
    """A mail server that is down gives a known address the same page, not an error."""
    from yizhan.core import tasks

    settings.EMAIL_BACKEND = "tests.accounts.test_passwords.DownMailBackend"
    monkeypatch.setattr(tasks, "EAGER", False)
    queued = []
    monkeypatch.setattr(tasks._embedded, "submit", lambda name, kw: queued.append((name, kw)))
    unknown = request_reset(django_capture_on_commit_callbacks, "stranger@example.com")
    known = request_reset(django_capture_on_commit_callbacks, "citizen@example.com")
    assert comparable(known) == comparable(unknown)
    [(name, kwargs)] = queued
    assert (name, kwargs["email"]) == ("core.deliver_notification", "citizen@example.com")


class DownMailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server is down")


def test_password_reset_mails_are_throttled(world, django_capture_on_commit_callbacks):
    """Anyone may type a citizen's address into the form: a script posting it
    twenty times gets three mails sent, and after the client's fifth request
    (sign-in's limit) a 429 saying how long to wait."""
    responses = [request_reset(django_capture_on_commit_callbacks, "citizen@example.com",
                               ip="203.0.113.9") for _ in range(20)]
    assert len(mail.outbox) == services.PASSWORD_RESET_MAX_PER_EMAIL
    statuses = [response.status_code for response in responses]
    assert statuses == [200] * settings.LOGIN_MAX_FAILURES + [429] * (
        20 - settings.LOGIN_MAX_FAILURES)
    assert "尝试次数过多，请 15 分钟后再试。" in responses[-1].content.decode()


def test_reset_mails_to_one_address_stop_and_the_page_does_not_say(
        world, django_capture_on_commit_callbacks):
    """Asked from a new client address each time, one e-mail address gets
    three mails in 15 minutes, whatever its case; the requests beyond get
    the page every request gets, known address or not."""
    asked = [request_reset(django_capture_on_commit_callbacks, email, ip=f"198.51.100.{i}")
             for i, email in enumerate(["citizen@example.com", "Citizen@Example.com",
                                        "CITIZEN@example.com", "citizen@example.com",
                                        "citizen@EXAMPLE.com"], start=1)]
    assert len(mail.outbox) == 3
    unknown = request_reset(django_capture_on_commit_callbacks, "stranger@example.com",
                            ip="198.51.100.99")
    assert all(comparable(response) == comparable(unknown) for response in asked)
    # Another citizen's mail is not held up by it.
    directory_services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                                    username="a.other", full_name="另一人",
                                    password=PASSWORD, email="other@example.com")
    request_reset(django_capture_on_commit_callbacks, "other@example.com", ip="198.51.100.1")
    assert mail.outbox[-1].to == ["other@example.com"]


def test_reset_requests_from_one_client_are_limited_whatever_the_address(
        world, django_capture_on_commit_callbacks):
    """Beyond five requests from one client (an IPv6 client's whole /64) in 15
    minutes, for whatever addresses, the next is a 429 with the wait: the
    same for a known address as for an unknown one, so it tells nothing.
    Another client is served."""
    for i in range(settings.LOGIN_MAX_FAILURES):
        response = request_reset(django_capture_on_commit_callbacks, f"nobody{i}@example.com",
                                 ip=f"2001:db8::{i + 1}")
        assert response.status_code == 200
    known = request_reset(django_capture_on_commit_callbacks, "citizen@example.com",
                          ip="2001:db8::ff")
    unknown = request_reset(django_capture_on_commit_callbacks, "stranger@example.com",
                            ip="2001:db8::fe")
    assert known.status_code == unknown.status_code == 429
    for response, email in ((known, "citizen@example.com"), (unknown, "stranger@example.com")):
        # What was typed is shown again; nothing else differs.
        assert (CSRF_VALUE.sub("", response.content.decode()).replace(email, "")
                == CSRF_VALUE.sub("", unknown.content.decode()).replace(
                    "stranger@example.com", ""))
    assert "尝试次数过多，请 15 分钟后再试。" in known.content.decode()
    assert mail.outbox == []
    request_reset(django_capture_on_commit_callbacks, "citizen@example.com",
                  ip="2001:db8:0:1::1")
    assert mail.outbox[0].to == ["citizen@example.com"]


def test_inactive_accounts_get_no_mail(world, django_capture_on_commit_callbacks):
    """A deactivated account cannot be reopened through a reset."""
    directory_services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                                    username="a.leaver", full_name="离职者",
                                    password=PASSWORD, email="leaver@example.com")
    leaver = User.objects.get(username="a.leaver")
    directory_services.staff_deactivate(actor=world.admin, user=leaver, reason="离职")
    request_reset(django_capture_on_commit_callbacks, "leaver@example.com")
    assert mail.outbox == []


def test_the_link_sets_a_new_password_once(world, django_capture_on_commit_callbacks):
    """The link works once: the new password takes, failures are cleared,
    the reset is audited, and the same link is then refused."""
    SignInFailure.objects.create(username="citizen", ip="10.9.0.1",
                                 at=world.citizen.date_joined)
    request_reset(django_capture_on_commit_callbacks, "citizen@example.com")
    link = reset_link()
    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    assert 'name="new_password"' in page.content.decode()
    assert "portal/base.html" in [t.name for t in page.templates]

    response = client.post(link, {"new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert User.objects.get(pk=world.citizen.pk).check_password(NEW_PASSWORD)
    assert not SignInFailure.objects.filter(username="citizen").exists()
    assert last_audit(AccountsAction.PASSWORD_RESET).actor_label == "citizen"

    again = Client().post(link, {"new_password": "Other-pass-2028!"})
    assert again.status_code == 400
    assert "重置链接无效或已过期" in again.content.decode()
    assert User.objects.get(pk=world.citizen.pk).check_password(NEW_PASSWORD)
    assert Client().get(link).status_code == 400
    assert len(audit_rows(AccountsAction.PASSWORD_RESET)) == 1


def test_weak_password_on_the_reset_page_is_refused(world, django_capture_on_commit_callbacks):
    """A weak password does not use up the link."""
    request_reset(django_capture_on_commit_callbacks, "citizen@example.com")
    link = reset_link()
    with nothing_written():
        response = Client().post(link, {"new_password": "short"})
    assert response.status_code == 400
    assert "密码不符合要求" in response.content.decode()
    assert User.objects.get(pk=world.citizen.pk).check_password(PASSWORD)
    assert Client().post(link, {"new_password": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize("path", [
    "/accounts/password/reset/MQ/bad-token/",
    "/accounts/password/reset/!!!/x/",
    "/accounts/password/reset/OTk5OTk5/abc-def/",
])
def test_forged_links_are_refused(world, path):
    """Links with a bad user id or token change nothing."""
    with nothing_written():
        response = Client().post(path, {"new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "重置链接无效或已过期" in response.content.decode()
