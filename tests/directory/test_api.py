"""The directory API: public reference data, scoped lists, thin writes."""

from django.test import Client

from tests.api import api_error
from tests.directory.writes import last_audit, nothing_written
from tests.factories import PASSWORD
from yizhan.accounts.models import User
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.models import Post, Posting


def test_divisions_and_agencies_are_public(world):
    """Divisions and agencies are public reference data; a missing code is a
    JSON 404."""
    client = Client()
    divisions = client.get("/api/v1/directory/divisions", {"parent": "449900"})
    assert divisions.status_code == 200
    assert [d["code"] for d in divisions.json()] == ["449901"]
    assert client.get("/api/v1/directory/divisions/449901").json()["parent_code"] == "449900"
    agencies = client.get("/api/v1/directory/agencies", {"division": "449900"}).json()
    assert {a["name"] for a in agencies} == {"甲局", "乙局", "甲局审批科"}
    api_error(client.get("/api/v1/directory/divisions/449999"), 404, "core.not_found")


def test_posts_and_staff_are_listed_to_the_agency_s_own_staff(world, client_for):
    """Any staff member sees the posts and colleagues of their agency."""
    client = client_for(world.user("a", "reviewer"))
    posts = client.get(f"/api/v1/directory/agencies/{world.agency_a.pk}/posts")
    assert posts.status_code == 200
    assert {p["role"] for p in posts.json()} == {p.role for p in world.posts["a"].values()}
    staff = client.get(f"/api/v1/directory/agencies/{world.agency_a.pk}/staff")
    assert "a.reviewer" in {s["username"] for s in staff.json()}


def test_another_agency_s_posts_and_staff_are_not_found(world, client_for):
    """Another agency's internal lists answer 404, not 403."""
    client = client_for(world.user("b", "agency_head"))
    for what in ("posts", "staff"):
        response = client.get(f"/api/v1/directory/agencies/{world.agency_a.pk}/{what}")
        assert response.status_code == 404
        assert response.json()["code"] == "core.not_found"


def test_lists_need_sign_in(world):
    """Anonymous callers get 401 in the error shape."""
    api_error(Client().get(f"/api/v1/directory/agencies/{world.agency_a.pk}/posts"), 401,
              "core.not_authenticated")


def test_head_creates_a_post_through_the_api(world, client_for):
    """The endpoint calls the service, which audits the head."""
    response = client_for(world.user("a", "agency_head")).post(
        f"/api/v1/directory/agencies/{world.agency_a.pk}/posts",
        {"name": "复核岗", "role": "reviewer"}, content_type="application/json")
    assert response.status_code == 201
    post = Post.objects.get(pk=response.json()["id"])
    assert last_audit(DirectoryAction.POST_CREATED, object_id=str(post.pk)).actor_label == (
        "a.agency_head")


def test_head_of_another_agency_is_refused_and_nothing_is_written(world, client_for):
    """A refused write is a JSON 403 with the Chinese message."""
    client = client_for(world.user("b", "agency_head"))
    with nothing_written():
        response = client.post(f"/api/v1/directory/agencies/{world.agency_a.pk}/posts",
                               {"name": "插手岗", "role": "reviewer"},
                               content_type="application/json")
    body = api_error(response, 403, "core.permission_denied")
    assert body["message_zh"] == "您没有执行此操作的权限。"


def test_weak_staff_password_through_the_api_gets_a_chinese_400(world, client_for):
    """The API explains a weak password in Chinese and names the field."""
    client = client_for(world.user("a", "agency_head"))
    with nothing_written():
        response = client.post(f"/api/v1/directory/posts/{world.posts['a']['reviewer'].pk}/staff",
                               {"username": "a.new", "full_name": "王五", "password": "short"},
                               content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["message_zh"].startswith("密码不符合要求：")
    assert "10" in body["message_zh"]
    assert body["fields"]["field"] == "password"


def test_staff_created_through_the_api_can_sign_in(world, client_for):
    """An account created through the API can sign in with its password."""
    response = client_for(world.user("a", "agency_head")).post(
        f"/api/v1/directory/posts/{world.posts['a']['reviewer'].pk}/staff",
        {"username": "a.new", "full_name": "王五", "password": PASSWORD},
        content_type="application/json")
    assert response.status_code == 201
    assert Client().login(username="a.new", password=PASSWORD)


def test_deactivation_through_the_api_needs_a_reason(world, client_for):
    """Missing, empty or blank reasons are a 400; with a reason the account is
    off."""
    client = client_for(world.user("a", "agency_head"))
    url = f"/api/v1/directory/staff/{world.user('a', 'reviewer').pk}/deactivate"
    with nothing_written():
        for payload in ({}, {"reason": ""}, {"reason": "   "}):
            response = client.post(url, payload, content_type="application/json")
            api_error(response, 400, "core.invalid_input")
    response = client.post(url, {"reason": "调离"}, content_type="application/json")
    assert response.status_code == 200
    assert User.objects.get(username="a.reviewer").is_active is False


def test_deactivating_a_citizen_through_the_staff_endpoint_is_not_found(world, client_for):
    """The staff endpoint does not reach public accounts."""
    client = client_for(world.admin)
    with nothing_written():
        response = client.post(f"/api/v1/directory/staff/{world.citizen.pk}/deactivate",
                               {"reason": "试试"}, content_type="application/json")
    assert response.status_code == 404


def test_a_head_posts_and_unposts_existing_staff_through_the_api(world, client_for):
    """调岗: 201 for a new posting, 200 when it is already held, 204 for taking
    it away; each change audited once."""
    client = client_for(world.user("a", "agency_head"))
    clerk, post = world.user("a", "window_clerk"), world.posts["a"]["reviewer"]
    url = f"/api/v1/directory/posts/{post.pk}/staff/{clerk.pk}"
    response = client.post(url)
    assert response.status_code == 201
    assert response.json() == {"user_id": clerk.pk, "username": clerk.username,
                               "full_name": clerk.full_name, "post_id": post.pk,
                               "post_name": post.name, "role": "reviewer"}
    assert last_audit(DirectoryAction.STAFF_POSTED, object_id=str(clerk.pk)).actor_label == (
        "a.agency_head")
    with nothing_written():
        assert client.post(url).status_code == 200
    response = client.delete(url)
    assert (response.status_code, response.content) == (204, b"")
    assert not Posting.objects.filter(user=clerk, post=post).exists()
    assert last_audit(DirectoryAction.STAFF_UNPOSTED, object_id=str(clerk.pk)).actor_label == (
        "a.agency_head")


def test_posting_through_the_api_is_refused_as_the_services_refuse_it(world, client_for):
    """A post beyond one's reach and a public account are not found; a staff
    member who may not confer the role is refused; a switched-off account is
    a 400 naming the field.  Nothing is written."""
    head = client_for(world.user("a", "agency_head"))
    clerk, post = world.user("a", "window_clerk"), world.posts["a"]["reviewer"]
    post_b = world.posts["b"]["reviewer"]
    gone = world.user("a", "data_officer")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    colleague = client_for(world.user("a", "reviewer"))
    with nothing_written():
        for method in (head.post, head.delete):
            api_error(method(f"/api/v1/directory/posts/{post_b.pk}/staff/{clerk.pk}"),
                      404, "core.not_found")
            api_error(method(f"/api/v1/directory/posts/{post.pk}/staff/{world.citizen.pk}"),
                      404, "core.not_found")
            api_error(method(f"/api/v1/directory/posts/999999/staff/{clerk.pk}"),
                      404, "core.not_found")
        api_error(colleague.post(f"/api/v1/directory/posts/{post.pk}/staff/{clerk.pk}"),
                  403, "core.permission_denied")
        api_error(colleague.delete(f"/api/v1/directory/posts/{post.pk}/staff/"
                                   f"{world.user('a', 'reviewer').pk}"),
                  403, "core.permission_denied")
        body = api_error(head.post(f"/api/v1/directory/posts/{post.pk}/staff/{gone.pk}"),
                         400, "core.invalid_input")
    assert body["message_zh"] == "只有有效的工作人员账户可以任命岗位。"
    assert body["fields"]["field"] == "user"


def test_a_head_resets_a_staff_member_s_second_factor_through_the_api(world, client_for):
    """A lost phone: the reason is required (missing, empty or blank is a 400
    that changes nothing) and kept in the audit record."""
    from tests.accounts.test_totp import enable
    from yizhan.accounts.actions import AccountsAction

    reviewer = world.user("a", "reviewer")
    enable(reviewer)
    client = client_for(world.user("a", "agency_head"))
    other_head = client_for(world.user("b", "agency_head"))
    url = f"/api/v1/directory/staff/{reviewer.pk}/totp/disable"
    with nothing_written():
        for payload in ({}, {"reason": ""}, {"reason": "   "}):
            api_error(client.post(url, payload, content_type="application/json"),
                      400, "core.invalid_input")
        api_error(other_head.post(url, {"reason": "越权"}, content_type="application/json"),
                  403, "core.permission_denied")
        api_error(client.post(f"/api/v1/directory/staff/{world.citizen.pk}/totp/disable",
                              {"reason": "手机丢失"}, content_type="application/json"),
                  404, "core.not_found")
    assert User.objects.get(pk=reviewer.pk).totp_enabled is True
    response = client.post(url, {"reason": "手机丢失"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"user_id": reviewer.pk, "username": "a.reviewer",
                               "totp_enabled": False}
    record = last_audit(AccountsAction.TOTP_DISABLED, object_id=str(reviewer.pk))
    assert (record.actor_label, record.reason) == ("a.agency_head", "手机丢失")
