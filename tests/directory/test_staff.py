"""Staff accounts, postings, deactivation and cross-agency grants."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone, translation

from tests.api import api_error
from tests.directory.writes import audit_rows, last_audit, nothing_written
from tests.factories import PASSWORD, valid_credit_code
from yizhan.accounts import services as account_services
from yizhan.accounts.models import User
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory import services
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.authz import scope_of
from yizhan.directory.error_codes import DirectoryErrorCode
from yizhan.directory.models import Posting, ScopeGrant
from yizhan.directory.permissions import confers
from yizhan.directory.roles import Role

CJK = re.compile(r"[\u4e00-\u9fff]")


def fresh(user: User) -> User:
    """The user as the next request would load it (no cached scope)."""
    return User.objects.get(pk=user.pk)


# --- staff_create --------------------------------------------------------------


def test_agency_head_creates_staff_holding_the_post(world):
    """The account is staff, holds the post, can sign in, and is audited."""
    post = world.posts["a"]["reviewer"]
    user = services.staff_create(actor=world.user("a", "agency_head"), post=post,
                                 username="a.newcomer", full_name=" 王五 ",
                                 password=PASSWORD, email="wang@example.com")
    assert user.is_staff_member
    assert user.full_name == "王五"
    assert user.check_password(PASSWORD)
    assert list(Posting.objects.filter(user=user).values_list("post_id", flat=True)) == [post.pk]
    record = last_audit(DirectoryAction.STAFF_CREATED, object_id=str(user.pk))
    assert record.agency_id == world.agency_a.pk
    assert record.actor_label == "a.agency_head"
    assert record.changes["post"] == post.pk
    assert PASSWORD not in str(record.changes)


@pytest.mark.parametrize("password", ["short1!", "1234567890123", "password123", "a.newcomer1"])
def test_weak_password_is_refused_with_a_chinese_message(world, password):
    """Too short, all digits, too common, or too like the username."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                              username="a.newcomer", full_name="王五", password=password)
    message = exc.value.render("zh-hans")
    assert message.startswith("密码不符合要求：")
    detail = message.removeprefix("密码不符合要求：")
    assert CJK.search(detail), detail
    assert exc.value.fields["field"] == "password"
    # Raised on an English page or not, each language's message is whole.
    english = exc.value.render("en")
    assert english.startswith("The password") and not CJK.search(english), english
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                              username="a.newcomer", full_name="王五", password=password)
    assert exc.value.render("zh-hans") == message


@pytest.mark.parametrize("username", ["a.reviewer", "A.Reviewer", " a.reviewer "])
def test_duplicate_username_is_refused_whatever_the_case(world, username):
    """Usernames are unique without regard to case or spaces."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                              username=username, full_name="重名", password=PASSWORD)
    assert exc.value.code == DirectoryErrorCode.USERNAME_TAKEN
    assert "已被使用" in exc.value.render()


def test_staff_create_refusals_by_scope_and_input(world):
    """Other agencies' heads, non-managers and empty names are refused."""
    post = world.posts["a"]["reviewer"]
    with nothing_written():
        for actor in (world.user("b", "agency_head"), world.user("a", "reviewer"),
                      world.citizen):
            with pytest.raises(PermissionDenied):
                services.staff_create(actor=actor, post=post, username="x.new",
                                      full_name="某", password=PASSWORD)
        with pytest.raises(InvalidInput):
            services.staff_create(actor=world.admin, post=post, username=" ",
                                  full_name="某", password=PASSWORD)
        with pytest.raises(InvalidInput):
            services.staff_create(actor=world.admin, post=post, username="x.new",
                                  full_name=" ", password=PASSWORD)


def test_agency_head_may_staff_the_posts_of_internal_units(world):
    """A head staffs posts of A's units; the new account acts in the unit only.
    """
    unit_post = services.post_create(actor=world.admin, agency=world.unit_a, name="科员岗",
                                     role=Role.REVIEWER)
    user = services.staff_create(actor=world.user("a", "agency_head"), post=unit_post,
                                 username="unit.clerk", full_name="赵六", password=PASSWORD)
    assert scope_of(user).has(Role.REVIEWER, world.unit_a.pk)
    assert not scope_of(user).has(Role.REVIEWER, world.agency_a.pk)


# --- staff_post / staff_unpost -------------------------------------------------


def test_posting_and_unposting_change_the_scope(world):
    """A second post adds its agency to the scope at once; removing it takes
    it away again."""
    user = world.user("a", "reviewer")
    b_post = world.posts["b"]["window_clerk"]
    assert not scope_of(user).has(Role.WINDOW_CLERK, world.agency_b.pk)

    services.staff_post(actor=world.admin, user=user, post=b_post)
    assert scope_of(user).has(Role.WINDOW_CLERK, world.agency_b.pk)
    assert scope_of(fresh(user)).has(Role.WINDOW_CLERK, world.agency_b.pk)
    assert scope_of(user).has(Role.REVIEWER, world.agency_a.pk)
    posted = last_audit(DirectoryAction.STAFF_POSTED, object_id=str(user.pk))
    assert posted.agency_id == world.agency_b.pk
    assert posted.changes == {"post": b_post.pk, "role": "window_clerk"}

    services.staff_unpost(actor=world.admin, user=user, post=b_post)
    assert not scope_of(user).has(Role.WINDOW_CLERK, world.agency_b.pk)
    assert not scope_of(fresh(user)).has(Role.WINDOW_CLERK, world.agency_b.pk)
    unposted = last_audit(DirectoryAction.STAFF_UNPOSTED, object_id=str(user.pk))
    assert unposted.changes == {"post": b_post.pk}


def test_posting_twice_and_unposting_a_post_not_held_write_nothing(world):
    """Repeating a posting or removing one never held is a no-op."""
    user = world.user("a", "reviewer")
    with nothing_written():
        services.staff_post(actor=world.admin, user=user, post=world.posts["a"]["reviewer"])
        services.staff_unpost(actor=world.admin, user=user, post=world.posts["b"]["reviewer"])


def test_posting_refusals(world):
    """Only managers of the post's agency post staff, and only staff accounts.
    """
    a_post = world.posts["a"]["window_clerk"]
    with nothing_written():
        with pytest.raises(PermissionDenied):
            services.staff_post(actor=world.user("b", "agency_head"),
                                user=world.user("b", "reviewer"), post=a_post)
        with pytest.raises(PermissionDenied):
            services.staff_unpost(actor=world.user("b", "agency_head"),
                                  user=world.user("a", "reviewer"),
                                  post=world.posts["a"]["reviewer"])
        with pytest.raises(InvalidInput):
            services.staff_post(actor=world.admin, user=world.citizen, post=a_post)


def test_posting_a_switched_off_account_is_refused_like_a_grant(world):
    """A post, as a grant, goes only to an account that can act: one switched
    off is refused at the field, and nothing is written."""
    user = world.user("a", "reviewer")
    services.staff_deactivate(actor=world.admin, user=user, reason="离职")
    user.refresh_from_db()
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.staff_post(actor=world.user("a", "agency_head"), user=user,
                            post=world.posts["a"]["window_clerk"])
    assert exc.value.fields["field"] == "user"
    assert exc.value.render("zh-hans") == "只有有效的工作人员账户可以任命岗位。"
    assert not Posting.objects.filter(user=user, post=world.posts["a"]["window_clerk"]).exists()


def test_a_head_posts_and_unposts_staff_on_the_agency_page(world, client_for):
    """本机关: 任命岗位 takes an existing staff account's login name, 免去岗位
    takes the post away; what is wrong is said at the field, in Chinese."""
    head = client_for(world.user("a", "agency_head"))
    clerk, post = world.user("a", "window_clerk"), world.posts["a"]["reviewer"]
    page = head.get("/workbench/agency/").content.decode()
    assert f'data-testid="post-{post.pk}"' in page
    assert "任命岗位" in page and "免去岗位" in page
    url, field = f"/workbench/agency/posts/{post.pk}/staff/", f"post-{post.pk}-username"
    with nothing_written():
        for username, message in (("", None), ("nobody", "没有登录名为“nobody”的工作人员账户。"),
                                  (world.citizen.username, None)):
            response = head.post(url, {field: username})
            assert response.status_code == 400, username
            text = response.content.decode()
            assert f'id="id_{field}_error"' in text
            if message:
                assert message in text
    response = head.post(url, {field: clerk.username.upper()})
    assert response.status_code == 302
    assert Posting.objects.filter(user=clerk, post=post).exists()
    unpost = f'data-testid="unpost-{post.pk}-{clerk.pk}"'
    assert unpost in head.get("/workbench/agency/").content.decode()
    response = head.post(f"/workbench/agency/posts/{post.pk}/staff/{clerk.pk}/unpost/")
    assert response.status_code == 302
    assert not Posting.objects.filter(user=clerk, post=post).exists()
    assert last_audit(DirectoryAction.STAFF_UNPOSTED, object_id=str(clerk.pk)).actor_label == (
        "a.agency_head")


def test_the_agency_page_offers_staffing_only_to_who_may_do_it(world, client_for):
    """A colleague sees the posts and people without the forms; pressed anyway,
    the refusal changes nothing."""
    colleague = client_for(world.user("a", "reviewer"))
    page = colleague.get("/workbench/agency/").content.decode()
    assert "免去岗位" not in page and 'data-testid="post-' not in page
    clerk, post = world.user("a", "window_clerk"), world.posts["a"]["window_clerk"]
    with nothing_written():
        response = colleague.post(f"/workbench/agency/posts/{post.pk}/staff/{clerk.pk}/unpost/")
    assert response.status_code == 302
    assert Posting.objects.filter(user=clerk, post=post).exists()
    with nothing_written():
        response = colleague.post(f"/workbench/agency/posts/{post.pk}/staff/",
                                  {f"post-{post.pk}-username": "a.reviewer"})
    assert response.status_code == 403


# --- staff_deactivate ----------------------------------------------------------


def test_agency_head_deactivates_a_subordinate_with_a_reason(world):
    """The account is switched off, loses its scope, and the reason is audited.
    """
    reviewer = world.user("a", "reviewer")
    services.staff_deactivate(actor=world.user("a", "agency_head"), user=reviewer,
                              reason="调离本单位")
    reloaded = fresh(reviewer)
    assert reloaded.is_active is False
    assert scope_of(reloaded).is_staff is False
    record = last_audit(DirectoryAction.STAFF_DEACTIVATED, object_id=str(reviewer.pk))
    assert record.reason == "调离本单位"
    assert record.agency_id == world.agency_a.pk
    assert record.changes == {"is_active": [True, False]}


def test_deactivating_an_inactive_account_writes_nothing_more(world):
    """A second deactivation leaves no second record."""
    reviewer = world.user("a", "reviewer")
    services.staff_deactivate(actor=world.admin, user=reviewer, reason="离职")
    with nothing_written():
        services.staff_deactivate(actor=world.admin, user=reviewer, reason="离职")


@pytest.mark.parametrize("reason", ["", "   "])
def test_deactivation_needs_a_reason(world, reason):
    """An empty or blank reason is refused and the account stays on."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.staff_deactivate(actor=world.user("a", "agency_head"),
                                  user=world.user("a", "reviewer"), reason=reason)
    assert "理由" in exc.value.render()
    assert fresh(world.user("a", "reviewer")).is_active is True


def test_head_of_another_agency_may_not_deactivate(world):
    """B's head and A's colleagues cannot switch off A's staff."""
    for actor in (world.user("b", "agency_head"), world.user("a", "reviewer")):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.staff_deactivate(actor=actor, user=world.user("a", "reviewer"),
                                      reason="越权")
    assert fresh(world.user("a", "reviewer")).is_active is True


def test_staff_of_two_agencies_needs_a_manager_of_both(world):
    """Someone posted in A and B cannot be switched off by A's head alone."""
    reviewer = world.user("a", "reviewer")
    services.staff_post(actor=world.admin, user=reviewer, post=world.posts["b"]["reviewer"])
    with nothing_written(), pytest.raises(PermissionDenied):
        services.staff_deactivate(actor=world.user("a", "agency_head"), user=reviewer,
                                  reason="调离")


def _city_officer(world):
    """B's data officer, given supervision over the whole city (the city's
    supervision officer, seconded from an ordinary post in bureau B)."""
    officer = world.user("b", "data_officer")
    grant = services.scope_grant_create(actor=world.admin, user=officer,
                                        role=Role.SUPERVISION_OFFICER,
                                        reason="市纪委监委派驻监督", division=world.city)
    return fresh(officer), grant


def test_a_grant_s_holder_is_switched_off_only_by_who_may_revoke_the_grant(world):
    """B's head staffs B's data officer, but the same person's city-wide
    supervision grant is no head's to take away: only a system administrator
    over the city switches the officer off."""
    officer, _grant = _city_officer(world)
    for actor in (world.user("b", "agency_head"), world.user("b", "sysadmin")):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.staff_deactivate(actor=actor, user=officer, reason="调离")
    assert fresh(officer).is_active is True
    services.staff_deactivate(actor=world.admin, user=officer, reason="调离")
    assert fresh(officer).is_active is False


def test_a_grant_revoked_or_expired_no_longer_stands_in_the_head_s_way(world):
    """Only grants standing now count: once the city's grant is revoked, or
    has run out, B's head switches off B's data officer again."""
    for how in ("revoked", "expired"):
        officer, grant = _city_officer(world)
        if how == "revoked":
            services.scope_grant_revoke(actor=world.admin, grant=grant, reason="任务结束")
        else:
            ScopeGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
        services.staff_deactivate(actor=world.user("b", "agency_head"), user=officer,
                                  reason="调离")
        assert fresh(officer).is_active is False, how
        User.objects.filter(pk=officer.pk).update(is_active=True)


def test_a_staff_account_holding_grants_but_no_post_follows_the_same_rule(world):
    """Without a post, the grants decide: the administrator over what they
    reach switches the account off, an agency's head never."""
    user = services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                                 username="a.seconded", full_name="借调者", password=PASSWORD)
    services.scope_grant_create(actor=world.admin, user=user, role=Role.REVIEWER,
                                agency=world.agency_a, reason="借调甲局审查")
    services.staff_unpost(actor=world.admin, user=user, post=world.posts["a"]["reviewer"])
    with nothing_written(), pytest.raises(PermissionDenied):
        services.staff_deactivate(actor=world.user("a", "agency_head"), user=fresh(user),
                                  reason="借调结束")
    services.staff_deactivate(actor=world.user("a", "sysadmin"), user=fresh(user),
                              reason="借调结束")
    assert fresh(user).is_active is False


def test_a_deactivated_staff_member_s_open_session_is_signed_out_of_the_api(world, client_for):
    """Switched off mid-session: the next API call, a read or a write, is 401."""
    reviewer = world.user("a", "reviewer")
    client = client_for(reviewer)
    assert client.get("/api/v1/accounts/me").status_code == 200
    services.staff_deactivate(actor=world.admin, user=reviewer, reason="调离")
    api_error(client.get("/api/v1/tasks/inbox"), 401, "core.not_authenticated")
    api_error(client.post("/api/v1/tasks/1/claim", "{}", content_type="application/json"),
              401, "core.not_authenticated")


# --- what a token never does ---------------------------------------------------


def test_a_token_staffs_nothing_and_switches_nobody_off(world):
    """Who serves in an agency is decided by people.  An agency head's token holds
    the head's scope, but an account it made, with a password its holder chose,
    would outlive the token's revocation (and issue new tokens), and a token that
    switched staff off could switch off the people who would revoke it."""
    token, secret = account_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                 name="人事系统", role=Role.AGENCY_HEAD)
    principal = account_services.token_authenticate(secret)
    assert confers(principal, role=Role.REVIEWER, agency_id=world.agency_a.pk)
    reviewer, head = world.user("a", "reviewer"), world.user("a", "agency_head")
    calls = {
        "agency_create": lambda: services.agency_create(
            actor=principal, name="接口科", kind="unit", division_code="449900",
            parent_id=world.agency_a.pk),
        "post_create": lambda: services.post_create(actor=principal, agency=world.agency_a,
                                                    name="接口岗", role=Role.REVIEWER),
        "staff_create": lambda: services.staff_create(
            actor=principal, post=world.posts["a"]["agency_head"], username="a.backdoor",
            full_name="后门", password=PASSWORD),
        "staff_post": lambda: services.staff_post(actor=principal, user=reviewer,
                                                  post=world.posts["a"]["window_clerk"]),
        "staff_unpost": lambda: services.staff_unpost(actor=principal, user=reviewer,
                                                      post=world.posts["a"]["reviewer"]),
        "staff_deactivate": lambda: services.staff_deactivate(actor=principal, user=head,
                                                              reason="停用"),
    }
    for action, call in calls.items():
        with nothing_written(), pytest.raises(PermissionDenied) as refused:
            call()
        assert refused.value.fields == {"action": action}
    assert fresh(head).is_active and not User.objects.filter(username="a.backdoor").exists()
    # Through the API too: the head's token creates no account and deactivates no one.
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    with nothing_written():
        for url, body in (
            (f"/api/v1/directory/posts/{world.posts['a']['agency_head'].pk}/staff",
             {"username": "a.backdoor", "full_name": "后门", "password": "Backdoor-pass-2026"}),
            (f"/api/v1/directory/staff/{head.pk}/deactivate", {"reason": "停用"}),
            (f"/api/v1/directory/agencies/{world.agency_a.pk}/posts",
             {"name": "接口岗", "role": "reviewer"}),
            ("/api/v1/directory/agencies", {"name": "接口科", "kind": "unit",
                                            "division_code": "449900",
                                            "parent_id": world.agency_a.pk}),
        ):
            response = client.post(url, body, content_type="application/json")
            api_error(response, 403, "core.permission_denied")
    # The people the token would have switched off can still revoke it.
    account_services.token_revoke(actor=head, token=token, reason="停用")
    assert client.get("/api/v1/accounts/me").status_code == 401


# --- scope grants --------------------------------------------------------------


def test_division_grant_reaches_every_agency_in_the_division_until_revoked(world):
    """A city-wide grant covers the city's agencies, their units and agencies
    of the districts below; revoking it takes all of that away."""
    officer = world.user("b", "supervision_officer")
    district_agency = services.agency_create(actor=world.admin, name="东湖区某局",
                                             kind="department", division_code="449901")
    assert not scope_of(officer).has(Role.SUPERVISION_OFFICER, world.agency_a.pk)

    grant = services.scope_grant_create(actor=world.admin, user=officer,
                                        role=Role.SUPERVISION_OFFICER, division=world.city,
                                        reason="市监察室全市监察")
    scope = scope_of(officer)
    for agency in (world.agency_a, world.agency_b, world.unit_a, district_agency):
        assert scope.has(Role.SUPERVISION_OFFICER, agency.pk), agency.name
    assert scope.has_division(Role.SUPERVISION_OFFICER, world.district.pk)
    assert not scope.has(Role.REVIEWER, world.agency_a.pk)
    created = last_audit(DirectoryAction.GRANT_CREATED, object_id=str(grant.pk))
    assert created.reason == "市监察室全市监察"
    assert created.changes["division"] == "449900"
    assert grant.granted_by == world.admin

    services.scope_grant_revoke(actor=world.admin, grant=grant, reason="任务结束")
    after = scope_of(fresh(officer))
    assert not after.has(Role.SUPERVISION_OFFICER, world.agency_a.pk)
    assert not after.has(Role.SUPERVISION_OFFICER, district_agency.pk)
    assert after.has(Role.SUPERVISION_OFFICER, world.agency_b.pk)  # their own post
    revoked = last_audit(DirectoryAction.GRANT_REVOKED, object_id=str(grant.pk))
    assert revoked.reason == "任务结束"
    with nothing_written():
        services.scope_grant_revoke(actor=world.admin, grant=grant, reason="再次")


def test_agency_grant_reaches_the_agency_and_its_units_only(world):
    """An agency grant covers the agency and its units, not the division."""
    reviewer_b = world.user("b", "reviewer")
    services.scope_grant_create(actor=world.admin, user=reviewer_b, role=Role.REVIEWER,
                                agency=world.agency_a, reason="协助甲局审查")
    scope = scope_of(reviewer_b)
    assert scope.has(Role.REVIEWER, world.agency_a.pk)
    assert scope.has(Role.REVIEWER, world.unit_a.pk)
    assert not scope.has_division(Role.REVIEWER, world.city.pk)
    record = last_audit(DirectoryAction.GRANT_CREATED)
    assert record.agency_id == world.agency_a.pk


def test_expired_grant_gives_nothing(world):
    """A grant past its expiry reaches nothing."""
    reviewer_b = world.user("b", "reviewer")
    grant = services.scope_grant_create(actor=world.admin, user=reviewer_b,
                                        role=Role.REVIEWER, agency=world.agency_a,
                                        reason="临时协助",
                                        expires_at=timezone.now() + datetime.timedelta(days=1))
    assert scope_of(fresh(reviewer_b)).has(Role.REVIEWER, world.agency_a.pk)
    ScopeGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert not scope_of(fresh(reviewer_b)).has(Role.REVIEWER, world.agency_a.pk)


def test_a_grant_that_would_end_before_it_begins_or_past_year_9999_is_refused(world):
    """An expiry in the past would record a grant that never gave anything;
    one past the end of year 9999 in UTC cannot be read back.  Both are
    refused at the field, as a token's are, and nothing is written."""
    user = world.user("b", "reviewer")
    too_far = datetime.datetime(9999, 12, 31, 23, 59, 59,
                                tzinfo=datetime.timezone(-datetime.timedelta(hours=12)))
    yesterday = timezone.now() - datetime.timedelta(days=1)
    for expires_at, message in ((yesterday, "到期时间须晚于现在。"),
                                (too_far, "到期时间超出允许的范围。")):
        with nothing_written(), pytest.raises(InvalidInput) as exc:
            services.scope_grant_create(actor=world.admin, user=user, role=Role.REVIEWER,
                                        agency=world.agency_a, reason="临时协助",
                                        expires_at=expires_at)
        assert (exc.value.fields["field"], str(exc.value.message)) == ("expires_at", message)


def test_grant_refusals_write_nothing(world):
    """A head cannot grant, a grant needs one target, a known role and a
    reason."""
    user = world.user("b", "reviewer")
    with nothing_written():
        with pytest.raises(PermissionDenied):
            services.scope_grant_create(actor=world.user("a", "agency_head"), user=user,
                                        role=Role.REVIEWER, agency=world.agency_a,
                                        reason="私自授权")
        with pytest.raises(PermissionDenied):
            services.scope_grant_create(actor=world.user("a", "sysadmin"), user=user,
                                        role=Role.REVIEWER, division=world.city,
                                        reason="越级授权")
        with pytest.raises(InvalidInput):
            services.scope_grant_create(actor=world.admin, user=user, role=Role.REVIEWER,
                                        agency=world.agency_a, division=world.city,
                                        reason="两个对象")
        with pytest.raises(InvalidInput):
            services.scope_grant_create(actor=world.admin, user=user, role=Role.REVIEWER,
                                        reason="没有对象")
        with pytest.raises(InvalidInput) as exc:
            services.scope_grant_create(actor=world.admin, user=user, role="overlord",
                                        agency=world.agency_a, reason="未知角色")
        assert exc.value.code == DirectoryErrorCode.UNKNOWN_ROLE
        with pytest.raises(InvalidInput):
            services.scope_grant_create(actor=world.admin, user=user, role=Role.REVIEWER,
                                        agency=world.agency_a, reason=" ")


def test_a_grant_to_a_public_account_or_a_switched_off_one_is_refused(world):
    """A citizen's account is given no staff role: a grant is refused to it,
    as a post is (staff_post), or it would act as a window clerk and reveal
    anyone's ID number; so is a grant to staff switched off."""
    leaver = world.user("b", "reviewer")
    services.staff_deactivate(actor=world.admin, user=leaver, reason="离职")
    for user in (world.citizen, fresh(leaver)):
        with nothing_written(), pytest.raises(InvalidInput) as exc:
            services.scope_grant_create(actor=world.admin, user=user,
                                        role=Role.WINDOW_CLERK, reason="协助窗口",
                                        agency=world.agency_a)
        assert exc.value.fields["field"] == "user"
        assert exc.value.render("zh-hans") == "只有有效的工作人员账户可以授权。"
    assert not ScopeGrant.objects.filter(user__in=[world.citizen, leaver]).exists()


def test_a_grant_on_record_for_a_public_account_gives_it_nothing(world):
    """A grant row for a citizen (written before grants were refused to one,
    or by hand) reaches no agency: the scope is built from staff grants only."""
    ScopeGrant.objects.create(user=world.citizen, role=Role.WINDOW_CLERK,
                              agency=world.agency_a, reason="旧数据", granted_by=world.admin,
                              granted_at=timezone.now())
    scope = scope_of(fresh(world.citizen))
    assert scope.is_staff is False
    assert not scope.has(Role.WINDOW_CLERK, world.agency_a.pk)


def test_agency_sysadmin_grants_within_their_agency_only(world):
    """A's system administrator grants within A; B's cannot revoke it."""
    sysadmin_a = world.user("a", "sysadmin")
    grant = services.scope_grant_create(actor=sysadmin_a, user=world.user("b", "reviewer"),
                                        role=Role.REVIEWER, agency=world.unit_a,
                                        reason="协助审批科")
    assert grant.granted_by == sysadmin_a
    with nothing_written(), pytest.raises(PermissionDenied):
        services.scope_grant_revoke(actor=world.user("b", "sysadmin"), grant=grant,
                                    reason="越权收回")
    assert ScopeGrant.objects.get(pk=grant.pk).revoked_at is None
    assert len(audit_rows(DirectoryAction.GRANT_REVOKED)) == 0


# --- roles that oversee an agency ------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPERVISION_OFFICER, Role.SYSADMIN])
def test_the_head_may_not_confer_or_remove_a_role_that_oversees_the_agency(world, role):
    """A head who made a supervision officer in the agency could clear its own alerts."""
    head = world.user("a", "agency_head")
    post = world.posts["a"][role]
    overseer = world.user("a", role)
    with nothing_written():
        with pytest.raises(PermissionDenied):
            services.post_create(actor=head, agency=world.agency_a, name="自设岗", role=role)
        with pytest.raises(PermissionDenied):
            services.staff_create(actor=head, post=post, username="a.shadow",
                                  full_name="影子", password=PASSWORD)
        with pytest.raises(PermissionDenied):
            services.staff_post(actor=head, user=world.user("a", "reviewer"), post=post)
        with pytest.raises(PermissionDenied):
            services.staff_unpost(actor=head, user=overseer, post=post)
        with pytest.raises(PermissionDenied):
            services.staff_deactivate(actor=head, user=overseer, reason="调离")
    assert "supervision_officer" not in scope_of(fresh(head)).roles
    # The agency's system administrator does it.
    admin_a = world.user("a", "sysadmin")
    new = services.post_create(actor=admin_a, agency=world.agency_a, name="新设岗", role=role)
    services.staff_post(actor=admin_a, user=world.user("a", "reviewer"), post=new)


def test_the_head_still_staffs_the_roles_of_the_agencys_work(world):
    """Clerks, reviewers, heads and data officers are the head's to appoint."""
    head = world.user("a", "agency_head")
    for role in (Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD, Role.DATA_OFFICER):
        post = services.post_create(actor=head, agency=world.agency_a, name=f"新{role}",
                                    role=role)
        services.staff_post(actor=head, user=world.user("a", "reviewer"), post=post)


def test_a_superuser_deactivates_an_account_without_a_post(world):
    """No post, no agency: the record names none (it used to fail on the empty list)."""
    user = services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                                 username="a.leaver", full_name="离职者", password=PASSWORD)
    services.staff_unpost(actor=world.admin, user=user, post=world.posts["a"]["reviewer"])
    services.staff_deactivate(actor=world.admin, user=user, reason="离职")
    assert not fresh(user).is_active
    record = last_audit(DirectoryAction.STAFF_DEACTIVATED, object_id=str(user.pk))
    assert record.agency_id is None


@pytest.mark.parametrize(("field", "value"), [
    ("phone", "1" * 21),                 # longer than the column: PostgreSQL raised a 500
    ("phone", "请拨打总机"),
    ("phone", "１３８００１３８０００"),   # full-width digits
    ("email", "not-an-address"),
    ("email", "a" * 250 + "@example.com"),
    ("full_name", "王" * 101),
])
def test_contact_details_that_do_not_fit_are_refused(world, field, value):
    details = {"full_name": "王五", "email": "", "phone": "", field: value}
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                              username="a.newcomer", password=PASSWORD, **details)
    assert exc.value.fields["field"] == field


def test_a_telephone_is_kept_as_people_write_it(world):
    for n, number in enumerate(("13800138000", "0755-12345678", "+86 138 0013 8000")):
        user = services.staff_create(actor=world.admin, post=world.posts["a"]["reviewer"],
                                     username=f"a.phone{n}", full_name="王五",
                                     password=PASSWORD, phone=f" {number} ")
        assert user.phone == number



def test_a_district_administrator_lists_only_the_grants_of_the_district(world, client_for):
    """The master-data admin showed every grant of the platform to any division admin."""
    services.agency_create(actor=world.admin, name="东湖区政务局", kind="department",
                           division_code="449901", credit_code=valid_credit_code(303, "449901"))
    district_admin = world.user("b", Role.WINDOW_CLERK)
    services.scope_grant_create(actor=world.admin, user=district_admin, role=Role.SYSADMIN,
                                reason="区级系统管理", division=world.district)
    city_grant = services.scope_grant_create(
        actor=world.admin, user=world.user("b", Role.REVIEWER), role=Role.SUPERVISION_OFFICER,
        reason="市级监察", agency=world.agency_a)
    client = client_for(district_admin)
    listing = client.get("/admin/directory/scopegrant/")
    assert listing.status_code == 200
    assert f"/admin/directory/scopegrant/{city_grant.pk}/change/" not in listing.content.decode()
    assert client.get(f"/admin/directory/scopegrant/{city_grant.pk}/change/").status_code in (
        302, 403, 404)
    own = ScopeGrant.objects.get(user=district_admin)
    assert f"/admin/directory/scopegrant/{own.pk}/change/" in listing.content.decode()


def test_a_token_closes_no_agency_grants_no_scope_and_resets_no_second_factor(world):
    """The acts no route offers a token yet are refused to one in the predicates too:
    closing an agency, widening someone's scope for as long as the grant stands, and
    switching off a second factor are a person's."""
    from yizhan.accounts import permissions as account_permissions
    from yizhan.directory import permissions

    _token, secret = account_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                  name="运维系统", role=Role.SYSADMIN)
    principal = account_services.token_authenticate(secret)
    reviewer = world.user("a", "reviewer")
    for actor, allowed in ((world.admin, True), (principal, False)):
        assert permissions.agency_update(actor, agency=world.agency_a) is allowed
        assert permissions.scope_grant_create(actor, agency=world.agency_a,
                                              division=None) is allowed
        assert account_permissions.totp_disable(actor, user=reviewer) is allowed
