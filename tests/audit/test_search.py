"""Searching the audit log: the selector, GET /api/v1/audit/records, the page.

Supervision officers read the records of the agencies they supervise (with
internal units); a division-wide grant reaches every agency of the
division; the superuser reads everything.  Others are refused.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone

from tests.api import ERROR_KEYS
from yizhan.audit import services as audit_services
from yizhan.audit.actions import AuditAction
from yizhan.audit.models import AuditRecord
from yizhan.audit.selectors import audit_search
from yizhan.audit.services import audit_append
from yizhan.core.errors import PermissionDenied
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.roles import Role
from yizhan.directory.services import post_create, scope_grant_create

API = "/api/v1/audit/records"
PAGE = "/workbench/audit/"


def _ids(qs) -> set[int]:
    return set(qs.values_list("id", flat=True))


def _of_agencies(*agency_ids) -> set[int]:
    return _ids(AuditRecord.objects.filter(agency_id__in=agency_ids))


def _officer(world, key="a"):
    return world.user(key, Role.SUPERVISION_OFFICER)


def _division_officer(world):
    """A data officer of B given supervision over the whole city."""
    user = world.user("b", Role.DATA_OFFICER)
    scope_grant_create(actor=world.admin, user=user, role=Role.SUPERVISION_OFFICER,
                       reason="市纪委监委派驻监督", division=world.city)
    return user


# --- who sees what (selector) ------------------------------------------------


def test_officer_sees_own_agency_and_its_units_only(world):
    """An officer of A reads A's and A's unit's records, not B's nor unattributed ones."""
    visible = _ids(audit_search(actor=_officer(world)))
    assert visible == _of_agencies(world.agency_a.pk, world.unit_a.pk)
    assert AuditRecord.objects.filter(pk__in=visible, agency_id=world.unit_a.pk).exists()
    assert not visible & _of_agencies(world.agency_b.pk)
    assert not visible & _ids(AuditRecord.objects.filter(agency_id__isnull=True))


def test_officer_of_b_does_not_see_a(world):
    """The rule is symmetric: B's officer reads B only."""
    visible = _ids(audit_search(actor=_officer(world, "b")))
    assert visible == _of_agencies(world.agency_b.pk)


def test_division_grant_sees_every_agency_of_the_division(world):
    """A division-wide supervision grant reaches A, A's unit and B."""
    user = _division_officer(world)
    visible = _ids(audit_search(actor=user))
    assert visible == _of_agencies(world.agency_a.pk, world.unit_a.pk, world.agency_b.pk)
    grant = AuditRecord.objects.get(action=DirectoryAction.GRANT_CREATED)
    assert grant.reason == "市纪委监委派驻监督"
    assert grant.changes["division"] == world.city.code


def test_superuser_sees_everything(world):
    """The installation's superuser reads every record, unattributed ones included."""
    assert _ids(audit_search(actor=world.admin)) == _ids(AuditRecord.objects.all())


def test_agency_sysadmin_reads_own_agency(world):
    """A system administrator of A reads A's records but not B's."""
    visible = _ids(audit_search(actor=world.user("a", Role.SYSADMIN)))
    assert visible == _of_agencies(world.agency_a.pk, world.unit_a.pk)


@pytest.mark.parametrize("who", ["reviewer", "window_clerk", "citizen", "nobody"])
def test_others_are_refused_and_nothing_is_written(world, who):
    """Reviewers, clerks, citizens and anonymous callers may not search."""
    actor = {"reviewer": world.user("a", Role.REVIEWER),
             "window_clerk": world.user("a", Role.WINDOW_CLERK),
             "citizen": world.citizen, "nobody": None}[who]
    before = AuditRecord.objects.count()
    with pytest.raises(PermissionDenied):
        audit_search(actor=actor)
    assert AuditRecord.objects.count() == before


# --- filters ---------------------------------------------------------------


def test_filter_by_actor(world):
    """actor_query matches the actor's label."""
    head = world.user("a", Role.AGENCY_HEAD)
    post = post_create(actor=head, agency=world.agency_a, name="督办岗", role=Role.REVIEWER)
    found = list(audit_search(actor=_officer(world), actor_query="a.agency_head"))
    assert [(r.object_id, r.actor_label) for r in found] == [(str(post.pk), "a.agency_head")]


def test_filter_by_object(world):
    """object_query matches the object's description, type, or exact id."""
    post = post_create(actor=world.admin, agency=world.agency_a, name="督办岗",
                       role=Role.REVIEWER)
    officer = _officer(world)
    by_repr = list(audit_search(actor=officer, object_query="督办岗"))
    assert [r.object_id for r in by_repr] == [str(post.pk)]
    by_id = audit_search(actor=officer, object_query=str(post.pk))
    assert str(post.pk) in {r.object_id for r in by_id}
    by_type = audit_search(actor=officer, object_query="directory.post")
    assert {r.object_type for r in by_type} == {"directory.post"}
    assert by_type.count() == AuditRecord.objects.filter(
        object_type="directory.post", agency_id=world.agency_a.pk).count()


def test_filter_by_object_does_not_reach_past_scope(world):
    """Searching for B's object as A's officer finds nothing."""
    assert not audit_search(actor=_officer(world), object_query="乙局").exists()
    assert audit_search(actor=world.admin, object_query="乙局").exists()


def test_filter_by_action(world):
    """action narrows to one registered action."""
    found = audit_search(actor=_officer(world), action=DirectoryAction.STAFF_CREATED)
    assert found.count() == len(Role.values)
    assert {r.action for r in found} == {DirectoryAction.STAFF_CREATED}


def _append_at(monkeypatch, at, object_id, agency_id):
    with monkeypatch.context() as patch, transaction.atomic():
        patch.setattr(audit_services, "timezone", SimpleNamespace(now=lambda: at))
        return audit_append(actor=None, action=AuditAction.VERIFIED, object_type="test.thing",
                            object_id=object_id, object_repr=f"按时记录{object_id}",
                            agency_id=agency_id)


def test_filter_by_time(world, monkeypatch):
    """since is inclusive, until exclusive."""
    base = timezone.now() + datetime.timedelta(days=400)
    a = world.agency_a.pk
    early = _append_at(monkeypatch, base, "t1", a)
    middle = _append_at(monkeypatch, base + datetime.timedelta(hours=1), "t2", a)
    late = _append_at(monkeypatch, base + datetime.timedelta(hours=2), "t3", a)
    officer = _officer(world)

    since_middle = audit_search(actor=officer, since=middle.at)
    assert _ids(since_middle) == {middle.pk, late.pk}
    until_middle = audit_search(actor=officer, until=middle.at, object_query="按时记录")
    assert _ids(until_middle) == {early.pk}
    window = audit_search(actor=officer, since=base, until=late.at)
    assert _ids(window) == {early.pk, middle.pk}
    assert list(audit_search(actor=officer, since=base).values_list("id", flat=True)) == [
        late.pk, middle.pk, early.pk]


# --- API ---------------------------------------------------------------------


def test_api_lists_visible_records_newest_first(world, client_for):
    """GET /records gives the caller's records with their chain fields."""
    response = client_for(_officer(world)).get(API, {"limit": 500})
    assert response.status_code == 200
    rows = response.json()
    assert {r["id"] for r in rows} == _of_agencies(world.agency_a.pk, world.unit_a.pk)
    expected_order = list(audit_search(actor=_officer(world)).values_list("id", flat=True))
    assert [r["id"] for r in rows] == expected_order
    record = AuditRecord.objects.get(pk=rows[0]["id"])
    assert rows[0]["hash"] == record.hash
    assert rows[0]["digest"] == record.digest
    assert rows[0]["request_id"] == record.request_id
    assert "changes" not in rows[0]


def test_api_division_grant_and_superuser(world, client_for):
    """The division officer sees A and B; the superuser sees all."""
    officer = _division_officer(world)
    rows = client_for(officer).get(API, {"limit": 500}).json()
    agencies = {r["agency_id"] for r in rows}
    assert {world.agency_a.pk, world.agency_b.pk} <= agencies
    assert None not in agencies
    rows = client_for(world.admin).get(API, {"limit": 500}).json()
    assert {r["id"] for r in rows} == _ids(AuditRecord.objects.all())


def test_api_filters(world, client_for):
    """actor, object, action, since, until and limit reach the selector."""
    head = world.user("a", Role.AGENCY_HEAD)
    post = post_create(actor=head, agency=world.agency_a, name="督办岗", role=Role.REVIEWER)
    record = AuditRecord.objects.get(object_type="directory.post", object_id=str(post.pk))
    client = client_for(_officer(world))

    rows = client.get(API, {"actor": "a.agency_head"}).json()
    assert [r["id"] for r in rows] == [record.pk]
    rows = client.get(API, {"object": "督办岗"}).json()
    assert [r["id"] for r in rows] == [record.pk]
    rows = client.get(API, {"action": DirectoryAction.POST_CREATED, "limit": 500}).json()
    assert record.pk in {r["id"] for r in rows}
    assert {r["action"] for r in rows} == {DirectoryAction.POST_CREATED}
    rows = client.get(API, {"since": record.at.isoformat()}).json()
    assert [r["id"] for r in rows] == [record.pk]
    rows = client.get(API, {"until": record.at.isoformat(), "limit": 500}).json()
    assert record.pk not in {r["id"] for r in rows}
    everything = [r["id"] for r in client.get(API, {"limit": 500}).json()]
    assert [r["id"] for r in client.get(API, {"limit": 2}).json()] == everything[:2]
    assert [r["id"] for r in client.get(API, {"limit": 2, "offset": 2}).json()] == (
        everything[2:4])
    for limit in (0, 501):
        refused = client.get(API, {"limit": limit})
        assert refused.status_code == 400
        assert refused.json()["code"] == "core.invalid_input"
        assert "query.limit" in refused.json()["message_zh"]


@pytest.mark.parametrize("who", ["reviewer", "citizen"])
def test_api_refuses_others_with_the_error_shape(world, client_for, who):
    """A reviewer or a citizen gets 403 core.permission_denied and nothing is written."""
    user = world.user("a", Role.REVIEWER) if who == "reviewer" else world.citizen
    before = AuditRecord.objects.count()
    response = client_for(user).get(API)
    assert response.status_code == 403
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "core.permission_denied"
    assert body["message_zh"] == "您没有执行此操作的权限。"
    assert body["message_en"]
    assert body["request_id"] == response["X-Request-ID"]
    assert AuditRecord.objects.count() == before


def test_api_needs_authentication(world, client_for):
    """Without a session or token the API answers 401."""
    response = client_for(None).get(API)
    assert response.status_code == 401
    assert response.json()["code"] == "core.not_authenticated"


# --- page --------------------------------------------------------------------


def test_page_shows_the_officers_records(world, client_for):
    """The workbench page lists A's records for A's officer, not B's."""
    client = client_for(_officer(world))
    response = client.get(PAGE, {"object": "areviewer"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "areviewer" in html
    assert "新增工作人员" in html  # the action's label, not its code
    response = client.get(PAGE, {"object": "breviewer"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "breviewer" not in html.split('data-testid="audit-results"')[1]
    assert "没有符合条件的记录" in html


def test_page_filters_by_actor_and_dates(world, client_for):
    """The page's actor and date filters narrow the list."""
    head = world.user("a", Role.AGENCY_HEAD)
    post_create(actor=head, agency=world.agency_a, name="督办岗", role=Role.REVIEWER)
    client = client_for(_officer(world))
    html = client.get(PAGE, {"actor": "a.agency_head"}).content.decode()
    assert "督办岗" in html
    assert "areviewer" not in html.split('data-testid="audit-results"')[1]
    today = timezone.localdate()
    html = client.get(PAGE, {"since": today.isoformat(), "until": today.isoformat()}
                      ).content.decode()
    assert "督办岗" in html
    tomorrow = today + datetime.timedelta(days=1)
    html = client.get(PAGE, {"since": tomorrow.isoformat()}).content.decode()
    assert "没有符合条件的记录" in html


@pytest.mark.parametrize("query", [{"until": "9999-12-31"}, {"since": "0001-01-01"},
                                   {"since": "2026-02-30"}])
def test_page_refuses_dates_it_cannot_search_with_a_400(world, client_for, query):
    """A day at the ends of the calendar has no instant in UTC, where records
    are kept (9999-12-31 ends in year 10000; 0001-01-01 in Beijing begins in
    year 0): it is refused at its field, as a day that does not exist is,
    with a 400 and nothing written, never a 500."""
    client = client_for(_officer(world))
    client.raise_request_exception = False
    before = AuditRecord.objects.count()
    response = client.get(PAGE, query)
    assert response.status_code == 400
    html = response.content.decode()
    if query != {"since": "2026-02-30"}:
        assert "日期超出允许的范围。" in html
    assert 'data-testid="audit-results"' not in html
    assert AuditRecord.objects.count() == before


def test_page_searches_up_to_the_last_days_it_can(world, client_for):
    """The days next to the calendar's ends are searched as any other."""
    client = client_for(_officer(world))
    response = client.get(PAGE, {"object": "areviewer", "since": "0001-01-02",
                                 "until": "9999-12-30"})
    assert response.status_code == 200
    assert "areviewer" in response.content.decode().split('data-testid="audit-results"')[1]


def test_division_officer_page_shows_both_agencies(world, client_for):
    """The division-wide officer's page finds B's records too."""
    client = client_for(_division_officer(world))
    html = client.get(PAGE, {"object": "breviewer"}).content.decode()
    assert "breviewer" in html.split('data-testid="audit-results"')[1]


@pytest.mark.parametrize("who", ["reviewer", "citizen"])
def test_page_refuses_others(world, client_for, who):
    """A reviewer or a citizen gets a 403 page, in Chinese, and nothing is written."""
    user = world.user("a", Role.REVIEWER) if who == "reviewer" else world.citizen
    before = AuditRecord.objects.count()
    response = client_for(user).get(PAGE)
    assert response.status_code == 403
    assert "权限" in response.content.decode()
    assert AuditRecord.objects.count() == before


def test_page_sends_anonymous_visitors_to_sign_in(world, client_for):
    """Signed-out visitors are redirected to the login page."""
    response = client_for(None).get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
