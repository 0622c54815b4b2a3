"""API tokens: shown once, stored as an SM3 digest, bound to one agency and
role."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.api import ERROR_KEYS, api_error
from tests.directory.writes import last_audit, nothing_written
from tests.factories import item_content
from yizhan.accounts import services
from yizhan.accounts.actions import AccountsAction
from yizhan.accounts.models import ApiToken
from yizhan.catalog.models import Item, ItemVersion
from yizhan.core import crypto
from yizhan.core.errors import InvalidInput, NotAuthenticated, PermissionDenied
from yizhan.directory.roles import Role

ME = "/api/v1/accounts/me"
TOKENS = "/api/v1/accounts/tokens"


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def issue(world, role=Role.REVIEWER, agency=None, **extra):
    return services.token_issue(actor=world.admin, agency=agency or world.agency_a,
                                name="审批系统", role=role, **extra)


def raw_row(token: ApiToken) -> tuple:
    table = connection.ops.quote_name(ApiToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [token.pk])  # noqa: S608
        return cursor.fetchone()


# --- issuing ------------------------------------------------------------------------


def test_only_the_sm3_digest_of_the_secret_is_stored(world):
    """The secret is returned once; the row holds its SM3 digest and prefix
    only."""
    token, secret = issue(world)
    assert secret.startswith(f"yz_{token.prefix}_")
    key = secret.removeprefix(f"yz_{token.prefix}_")
    assert len(key) >= 32
    assert token.digest == crypto.sm3_hex(key.encode())
    for value in raw_row(token):
        assert key not in str(value)
    record = last_audit(AccountsAction.TOKEN_ISSUED, object_id=str(token.pk))
    assert record.agency_id == world.agency_a.pk
    assert record.changes == {"name": "审批系统", "role": "reviewer", "prefix": token.prefix}
    assert key not in str(record.changes)


def test_two_tokens_have_different_secrets_and_prefixes(world):
    """Every token is unique, prefix and secret."""
    (first, s1), (second, s2) = issue(world), issue(world)
    assert s1 != s2
    assert first.prefix != second.prefix


def test_api_returns_the_secret_once_and_lists_without_it(world, client_for):
    """The issuing response has the secret; the list never does."""
    client = client_for(world.user("a", "agency_head"))
    response = client.post(TOKENS, {"agency_id": world.agency_a.pk, "name": "档案系统",
                                    "role": "reviewer"}, content_type="application/json")
    assert response.status_code == 201
    issued = response.json()
    secret = issued["token"]
    assert secret.startswith(f"yz_{issued['prefix']}_")
    assert issued["agency_id"] == world.agency_a.pk
    listing = client.get(f"/api/v1/accounts/agencies/{world.agency_a.pk}/tokens")
    assert listing.status_code == 200
    assert [t["id"] for t in listing.json()] == [issued["id"]]
    assert "token" not in listing.json()[0]
    assert secret not in listing.content.decode()
    assert secret.split("_", 2)[2] not in listing.content.decode()


def test_head_of_b_cannot_issue_a_token_for_a(world, client_for):
    """Neither the service nor the API lets B's head act for A."""
    with nothing_written(), pytest.raises(PermissionDenied):
        services.token_issue(actor=world.user("b", "agency_head"), agency=world.agency_a,
                             name="越权", role=Role.REVIEWER)
    client = client_for(world.user("b", "agency_head"))
    with nothing_written():
        response = client.post(TOKENS, {"agency_id": world.agency_a.pk, "name": "越权",
                                        "role": "reviewer"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "core.permission_denied"


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.WINDOW_CLERK, Role.DATA_OFFICER])
def test_non_managers_cannot_issue_tokens(world, role):
    """Only managers of the agency issue its tokens."""
    with nothing_written(), pytest.raises(PermissionDenied):
        services.token_issue(actor=world.user("a", role), agency=world.agency_a,
                             name="自签", role=Role.REVIEWER)


@pytest.mark.parametrize("role", [Role.SYSADMIN, Role.SUPERVISION_OFFICER])
def test_only_a_sysadmin_issues_a_token_that_oversees_the_agency(world, role):
    """A head issues working tokens, not administrator or supervision ones (a
    supervision token of its own would let an agency clear its own alerts)."""
    head, admin_a = world.user("a", "agency_head"), world.user("a", "sysadmin")
    with nothing_written(), pytest.raises(PermissionDenied):
        services.token_issue(actor=head, agency=world.agency_a, name="管理", role=role)
    token, _secret = services.token_issue(actor=admin_a, agency=world.agency_a, name="管理",
                                          role=role)
    assert token.created_by == admin_a
    with nothing_written():
        with pytest.raises(PermissionDenied):
            services.token_revoke(actor=head, token=token, reason="x")
        with pytest.raises(PermissionDenied):
            services.token_issue(actor=admin_a, agency=world.agency_b, name="管理", role=role)
    assert services.token_issue(actor=world.admin, agency=world.agency_b, name="管理", role=role)


def test_a_token_neither_issues_nor_revokes_tokens(world):
    """A token that minted another would live on past its own expiry and revocation."""
    head_token, secret = issue(world, role=Role.AGENCY_HEAD,
                               expires_at=timezone.now() + datetime.timedelta(hours=1))
    working, _working_secret = issue(world)
    with nothing_written():
        response = Client().post(TOKENS, {"agency_id": world.agency_a.pk, "name": "永久",
                                          "role": Role.REVIEWER},
                                 content_type="application/json", **bearer(secret))
        assert response.status_code == 403, response.content
        response = Client().post(f"{TOKENS}/{working.pk}/revoke", {"reason": "x"},
                                 content_type="application/json", **bearer(secret))
        assert response.status_code in (403, 404), response.content
    assert head_token.revoked_at is None


def test_an_expiry_without_a_time_zone_is_beijing_time(world, client_for):
    """"2030-01-01T00:00:00" from a system that sends no zone is read, not a 500."""
    response = client_for(world.admin).post(
        TOKENS, {"agency_id": world.agency_a.pk, "name": "审批系统", "role": Role.REVIEWER,
                 "expires_at": "2030-01-01T00:00:00"}, content_type="application/json")
    assert response.status_code == 201, response.content
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.expires_at == datetime.datetime(2029, 12, 31, 16, tzinfo=datetime.UTC)


def test_an_expiry_past_year_9999_in_utc_is_refused_and_nothing_is_written(world):
    """9999-12-31T23:59:59-12:00 is 10000-01-01 in UTC.  PostgreSQL stored it
    (timestamptz reaches far beyond), then the answer could not be written:
    a 400 without the secret, the token and its audit record kept, and every
    later read of the agency's tokens a 500.  (On SQLite the write itself
    failed: the test tells the difference on PostgreSQL.)"""
    client = Client(raise_request_exception=False)
    client.force_login(world.user("a", Role.AGENCY_HEAD))
    with nothing_written():
        refused = client.post(TOKENS, {
            "agency_id": world.agency_a.pk, "name": "对接系统", "role": Role.REVIEWER,
            "expires_at": "9999-12-31T23:59:59-12:00"}, content_type="application/json")
    body = api_error(refused, 400, "core.invalid_input")
    assert body["fields"]["field"] == "expires_at"
    assert body["message_zh"] == "到期时间超出允许的范围。"
    listed = client.get(f"/api/v1/accounts/agencies/{world.agency_a.pk}/tokens")
    assert (listed.status_code, listed.json()) == (200, [])


def test_unknown_role_and_empty_name_are_refused(world):
    """A token needs a real role and a name saying who uses it."""
    with nothing_written():
        with pytest.raises(InvalidInput):
            services.token_issue(actor=world.admin, agency=world.agency_a, name="x",
                                 role="root")
        with pytest.raises(InvalidInput):
            services.token_issue(actor=world.admin, agency=world.agency_a, name="  ",
                                 role=Role.REVIEWER)


def test_token_list_is_refused_to_other_agencies(world, client_for):
    """B's head cannot see A's tokens."""
    issue(world)
    response = client_for(world.user("b", "agency_head")).get(
        f"/api/v1/accounts/agencies/{world.agency_a.pk}/tokens")
    assert response.status_code == 403


# --- using ------------------------------------------------------------------------------


def test_bearer_token_works_on_me(world):
    """A Bearer token authenticates as a system of its agency and is marked
    used."""
    token, secret = issue(world)
    response = Client().get(ME, **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"username": f"token:{token.prefix}", "full_name": "",
                               "kind": "system", "postings": [], "roles": ["reviewer"],
                               "applicants": []}
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_session_still_works_on_me(world, client_for):
    """A signed-in user sees their posts and roles."""
    response = client_for(world.user("a", "reviewer")).get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "a.reviewer"
    assert body["roles"] == ["reviewer"]
    assert body["postings"][0]["agency_id"] == world.agency_a.pk
    assert body["applicants"] == []


def test_a_signed_in_applicant_learns_their_applicant_ids(world, client_for):
    """POST /cases needs applicant_id; the applicant record made at sign-up is the
    caller's, and /me tells a client which ids are theirs (the ID number masked)."""
    me = client_for(world.citizen).get(ME).json()
    assert [a["id"] for a in me["applicants"]] == [world.applicant.pk], me
    [applicant] = me["applicants"]
    assert applicant["name"] == world.applicant.name
    assert applicant["id_number_masked"] == world.applicant.id_number_masked
    assert "id_number" not in applicant


@pytest.mark.parametrize("presented", [
    "garbage", "yz_", "yz_nothing", "yz_deadbeef_notasecret", "Bearer", "yz__x",
])
def test_garbage_tokens_get_401(world, presented):
    """Anything that is not a live token is refused with accounts.bad_token."""
    issue(world)
    response = Client().get(ME, **bearer(presented))
    assert response.status_code == 401
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "accounts.bad_token"


def test_a_right_prefix_with_a_wrong_secret_gets_401(world):
    """Knowing the public prefix is not enough."""
    token, secret = issue(world)
    forged = f"yz_{token.prefix}_{'A' * 43}"
    assert forged != secret
    response = Client().get(ME, **bearer(forged))
    assert response.status_code == 401
    assert response.json()["code"] == "accounts.bad_token"


def test_no_credentials_get_401(world):
    """Without a session or a token the API asks to sign in."""
    response = Client().get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "core.not_authenticated"


def test_revoked_token_gets_401(world):
    """Revocation takes effect at once and is audited with its reason."""
    token, secret = issue(world)
    assert Client().get(ME, **bearer(secret)).status_code == 200
    services.token_revoke(actor=world.user("a", "agency_head"), token=token, reason="系统下线")
    response = Client().get(ME, **bearer(secret))
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "accounts.bad_token"
    assert "吊销" in body["message_zh"]
    record = last_audit(AccountsAction.TOKEN_REVOKED, object_id=str(token.pk))
    assert (record.reason, record.agency_id) == ("系统下线", world.agency_a.pk)
    with nothing_written():
        services.token_revoke(actor=world.admin, token=token, reason="再次")


def test_expired_token_gets_401(world, monkeypatch):
    """Once its expiry has passed the token is refused."""
    _token, secret = issue(world, expires_at=timezone.now() + datetime.timedelta(hours=1))
    assert Client().get(ME, **bearer(secret)).status_code == 200
    later = timezone.now() + datetime.timedelta(hours=2)
    monkeypatch.setattr(services.timezone, "now", lambda: later)
    response = Client().get(ME, **bearer(secret))
    assert response.status_code == 401
    assert response.json()["code"] == "accounts.bad_token"
    with pytest.raises(NotAuthenticated):
        services.token_authenticate(secret)


def test_a_closed_agency_s_token_gets_401(world):
    """An agency made inactive: its systems' tokens act for nobody any more."""
    from yizhan.directory import services as directory_services

    _token, secret = issue(world)
    assert Client().get(ME, **bearer(secret)).status_code == 200
    directory_services.agency_update(actor=world.admin, agency=world.agency_a, is_active=False)
    response = Client().get(ME, **bearer(secret))
    assert response.status_code == 401
    assert response.json()["code"] == "accounts.bad_token"


def test_revoke_through_the_api(world, client_for):
    """A head revokes a token of their agency through the API."""
    token, secret = issue(world)
    response = client_for(world.user("a", "agency_head")).post(
        f"{TOKENS}/{token.pk}/revoke", {"reason": "泄露"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert Client().get(ME, **bearer(secret)).status_code == 401


def test_a_revocation_may_be_sent_without_a_body(world, client_for):
    """docs/api.md lists the revocation with no body, and its reason is optional: sent
    as ``curl -X POST`` sends it (no body, with or without the JSON type) it revokes,
    rather than "输入有误：: 必填"."""
    head = client_for(world.user("a", "agency_head"))
    for send in (lambda url: head.generic("POST", url),
                 lambda url: head.post(url, "", content_type="application/json")):
        token, secret = issue(world)
        response = send(f"{TOKENS}/{token.pk}/revoke")
        assert response.status_code == 200, response.content
        assert response.json()["revoked_at"] is not None
        assert Client().get(ME, **bearer(secret)).status_code == 401
        assert last_audit(AccountsAction.TOKEN_REVOKED, object_id=str(token.pk)).reason == ""


def test_head_of_b_cannot_revoke_a_s_token(world, client_for):
    """B's head can neither revoke nor find A's token."""
    token, secret = issue(world)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.token_revoke(actor=world.user("b", "agency_head"), token=token, reason="x")
    client = client_for(world.user("b", "agency_head"))
    with nothing_written():
        response = client.post(f"{TOKENS}/{token.pk}/revoke", {"reason": "x"},
                               content_type="application/json")
    assert response.status_code == 404
    assert Client().get(ME, **bearer(secret)).status_code == 200


# --- scope of a token --------------------------------------------------------------------


@pytest.mark.parametrize("what", ["posts", "staff"])
def test_token_of_a_lists_a_but_not_b(world, what):
    """A token reaches its own agency's internal lists, never another's."""
    _token, secret = issue(world)
    own = Client().get(f"/api/v1/directory/agencies/{world.agency_a.pk}/{what}", **bearer(secret))
    assert own.status_code == 200
    assert own.json()
    other = Client().get(f"/api/v1/directory/agencies/{world.agency_b.pk}/{what}",
                         **bearer(secret))
    assert other.status_code in (403, 404)
    assert other.json()["code"] in ("core.not_found", "core.permission_denied")
    assert "b." not in other.content.decode()


def test_token_writes_without_csrf_and_within_its_agency_only(world):
    """Another system posts with its token alone (no session, no CSRF cookie):
    allowed in its agency, refused in another, and audited as the token.  (A
    catalog system's item: posts and staff are never a token's to create.)"""
    token, secret = issue(world, role=Role.DATA_OFFICER)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/catalog/items",
                           {"agency_id": world.agency_a.pk, "content": item_content("接口事项")},
                           content_type="application/json", **bearer(secret))
    assert response.status_code == 201, response.content
    item = ItemVersion.objects.get(pk=response.json()["id"]).item
    record = last_audit("catalog.item_created", object_id=str(item.pk))
    assert record.actor_label == f"token:{token.prefix}"
    assert record.actor_id is None
    with nothing_written():
        refused = client.post("/api/v1/catalog/items",
                              {"agency_id": world.agency_b.pk,
                               "content": item_content("越权事项")},
                              content_type="application/json", **bearer(secret))
    assert refused.status_code == 403
    assert not Item.objects.filter(agency=world.agency_b).exists()


def test_a_token_creates_no_staff_account_that_would_outlive_it(world):
    """An agency head's token made a staff account with a password of its holder's
    choosing: revoking the token left the account, which signed in and issued a new
    token; and the token could switch off the head who would revoke it."""
    token, secret = issue(world, role=Role.AGENCY_HEAD)
    head = world.user("a", "agency_head")
    client = Client()
    with nothing_written():
        created = client.post(
            f"/api/v1/directory/posts/{world.posts['a']['agency_head'].pk}/staff",
            {"username": "backdoor", "full_name": "后门", "password": "Backdoor-pass-2026"},
            content_type="application/json", **bearer(secret))
        switched_off = client.post(f"/api/v1/directory/staff/{head.pk}/deactivate",
                                   {"reason": "x"}, content_type="application/json",
                                   **bearer(secret))
    for response in (created, switched_off):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "core.permission_denied"
    head.refresh_from_db()
    assert head.is_active
    services.token_revoke(actor=head, token=token, reason="停用")
    assert not Client().login(username="backdoor", password="Backdoor-pass-2026")


def test_session_writes_still_need_csrf(world):
    """Putting the token first does not open the session to cross-site posts (and
    answering 401 to a write with no credentials does not either).
    """
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("a", "agency_head"))
    with nothing_written():
        response = client.post(f"/api/v1/directory/agencies/{world.agency_a.pk}/posts",
                               {"name": "跨站岗", "role": "reviewer"},
                               content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "core.csrf_failed"


def test_a_reviewer_token_cannot_manage_its_own_agency(world):
    """A working token cannot issue more tokens."""
    _token, secret = issue(world, role=Role.REVIEWER)
    with nothing_written():
        response = Client().post(TOKENS, {"agency_id": world.agency_a.pk, "name": "自我繁殖",
                                          "role": "reviewer"},
                                 content_type="application/json", **bearer(secret))
    assert response.status_code == 403
