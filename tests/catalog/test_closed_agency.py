"""A closed agency (``Agency.is_active`` false) offers nothing any more.

Its items leave the public catalog — the department list, the theme counts,
the search, the guide and the API's catalog — and no new application can be
started on them; cases already under way go on as before.  No item of it is
created or published, and no version names it as joint or upper agency.
"""

import pytest
from django.test import Client

from tests.cases.helpers import add_agency, draft, nothing_written, publish_item, reload
from tests.catalog import helpers as catalog
from tests.catalog.helpers import create, editor, published, reviewer
from yizhan.audit.models import AuditRecord
from yizhan.bpmn.templates import template_xml
from yizhan.cases import services as case_services
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case
from yizhan.catalog import selectors, services
from yizhan.catalog.actions import CatalogAction
from yizhan.catalog.content import VersionDataError, version_as_data
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import Item, ItemVersion
from yizhan.core.errors import Conflict, InvalidInput, NotFound
from yizhan.directory import services as directory_services

pytestmark = pytest.mark.django_db


def _close(world, agency):
    directory_services.agency_update(actor=world.admin, agency=agency, is_active=False)


@pytest.fixture
def closed(world):
    """食品经营许可证核发 of agency A (then closed) and 公共场所卫生许可证核发 of B (open)."""
    food = published(world, "食品经营许可证核发", basic_code="XK04101000", online_depth=4,
                     themes=["permits"])
    hygiene = published(world, "公共场所卫生许可证核发", key="b", basic_code="XK05101000",
                        themes=["permits", "health"])
    _close(world, world.agency_a)
    return {"food": food, "hygiene": hygiene}


def test_the_services_page_no_longer_lists_a_closed_agency_or_counts_its_items(world, closed):
    """在线办事 lists departments with items: a closed one is gone, and the theme
    counts count only what can still be applied for."""
    text = Client().get("/services/").content.decode()
    assert f"?agency={world.agency_a.pk}" not in text
    assert f"?agency={world.agency_b.pk}" in text
    assert selectors.agencies_with_items() == [(world.agency_b, 1)]
    assert selectors.theme_counts()["permits"] == 1


def test_search_and_theme_pages_leave_out_a_closed_agency_s_items(world, closed):
    """Searching by name or code, or browsing a theme, never offers an item the
    applicant can no longer apply for."""
    client = Client()
    for params in ({"q": "食品经营"}, {"q": closed["food"].item.impl_code},
                   {"q": "许可证核发"}, {"theme": "permits"}):
        text = client.get("/services/search/", params).content.decode()
        assert "食品经营许可证核发" not in text, params
    assert "公共场所卫生许可证核发" in client.get(
        "/services/search/", {"q": "许可证核发"}).content.decode()
    assert [v.name for v in selectors.item_search(query="许可")] == ["公共场所卫生许可证核发"]


def test_a_closed_agency_s_department_page_is_not_found(world, closed):
    """Its department page (a bookmark, an old link) answers 404, not an empty
    list under its name."""
    assert Client().get("/services/search/", {"agency": world.agency_a.pk}).status_code == 404
    assert Client().get("/services/search/", {"agency": world.agency_b.pk}).status_code == 200


def test_a_closed_agency_s_guide_says_the_item_is_no_longer_offered(world, closed):
    """The guide (and its printable view) answers 404 — the item is gone from the
    catalog — with a page saying why and where to ask, not a bare “page not found”."""
    code = closed["food"].item.impl_code
    for path in (f"/services/items/{code}/", f"/services/items/{code}/?print=1"):
        page = Client().get(path)
        assert page.status_code == 404, path
        text = page.content.decode()
        assert "该事项已不再办理" in text and "12345" in text, path
        assert "在线申请" not in text, path
    # An item that never existed keeps the plain 404.
    missing = Client().get("/services/items/XK0000000000000/")
    assert missing.status_code == 404 and "该事项已不再办理" not in missing.content.decode()


def test_the_apply_page_of_a_closed_agency_s_item_is_not_found(world, closed, client_for):
    code = closed["food"].item.impl_code
    response = client_for(world.citizen).get(f"/services/items/{code}/apply/")
    assert response.status_code == 404
    assert "该事项已不再办理" in response.content.decode()


def test_the_catalog_api_leaves_out_a_closed_agency_s_items(world, closed):
    """The API's item, search and export read the same public catalog."""
    client = Client()
    code = closed["food"].item.impl_code
    item = client.get(f"/api/v1/catalog/items/{code}")
    assert item.status_code == 404
    assert item.json()["code"] == "core.not_found"
    assert "该事项已不再办理" in item.json()["message_zh"]
    found = client.get("/api/v1/catalog/items", {"q": "许可证核发"}).json()
    assert [row["name"] for row in found] == ["公共场所卫生许可证核发"]
    exported = client.get("/api/v1/catalog/export").content.decode()
    assert "食品经营许可证核发" not in exported and "公共场所卫生许可证核发" in exported


def test_a_new_application_for_a_closed_agency_s_item_is_refused(world):
    """Even with the version in hand (a page loaded before the closing, an API
    client), case_create refuses, says why in Chinese, and writes nothing."""
    version = publish_item(world)
    _close(world, world.agency_a)
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        case_services.case_create(actor=world.citizen, item_version=version,
                                  applicant=world.applicant)
    assert refused.value.code == CasesErrorCode.ITEM_WITHDRAWN
    assert "该事项已不再办理" in refused.value.render("zh-hans")
    assert not Case.objects.exists()


def test_cases_already_under_way_are_not_touched(world):
    """A case submitted before the closing keeps its status and stays on the
    applicant's list; the same request sent again still gets its draft back."""
    version = publish_item(world, materials=[])
    case = draft(world, version, key="before-closing")
    case = case_services.case_submit(actor=world.citizen, case=case)[0]
    _close(world, world.agency_a)
    assert reload(case).status == Case.Status.SUBMITTED
    again = case_services.case_create(actor=world.citizen, item_version=version,
                                      applicant=world.applicant,
                                      idempotency_key="before-closing")
    assert again.pk == case.pk
    page = Client()
    page.force_login(world.citizen)
    assert page.get(f"/my/cases/{case.pk}/").status_code == 200
    with pytest.raises(NotFound):
        selectors.item_guide(impl_code=version.item.impl_code)


def test_a_draft_begun_before_the_closing_is_not_submitted(world):
    """As a new application is refused, so is a saved draft: nothing new is taken in."""
    version = publish_item(world, materials=[])
    case = draft(world, version, key="draft-before-closing")
    _close(world, world.agency_a)
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        case_services.case_submit(actor=world.citizen, case=case)
    assert refused.value.code == CasesErrorCode.ITEM_WITHDRAWN
    assert reload(case).status == Case.Status.DRAFT


def test_supervision_coverage_counts_only_items_on_offer(world):
    """A closed agency's items take no applications: they are not counted among
    the items under electronic supervision."""
    from yizhan.directory.roles import Role
    from yizhan.supervision.selectors import coverage

    publish_item(world)
    publish_item(world, agency=world.agency_b, name="乙局许可")
    _close(world, world.agency_a)
    rows = {row.agency_id: row for row in coverage(actor=world.user("a", Role.SYSADMIN))}
    assert world.agency_a.pk not in rows or rows[world.agency_a.pk].items == 0


# --- the catalog desk -------------------------------------------------------------

# A version naming 丙局 as its joint agency, or as its upper agency; 丙局 is an
# agency of the province (``_provincial_third``), above 甲局 as an upper agency must be.
NAMING = {"joint_agencies": {"process_template": "parallel", "joint_agencies": ["丙局"]},
          "upper_agency": {"process_template": "upper_review", "upper_agency": "丙局"}}


def _provincial_third(world):
    return add_agency(world, "丙局", credit_seed=303, division="440000")


@pytest.mark.parametrize("field", list(NAMING))
def test_a_closed_agency_is_not_named_as_joint_or_upper_agency(world, field):
    """Every case would wait on a task given to an agency nobody works at."""
    third, _staff = _provincial_third(world)
    _close(world, third)
    with catalog.nothing_written(), pytest.raises(VersionDataError) as exc:
        create(world, "并联事项", **NAMING[field])
    assert {"field": field, "problem": "“丙局”已停用"} in exc.value.fields["problems"]


@pytest.mark.parametrize("field", list(NAMING))
def test_the_next_version_of_an_item_naming_a_closed_agency_says_which(world, field):
    """Content naming it by id (as a copy does) is refused naming the agency; the
    copy itself leaves it out and says so — the returned version, the audit
    record — or the item, out of service since 丙局 closed, could get no draft
    in which to name another agency."""
    third, _staff = _provincial_third(world)
    v1 = catalog.publish(world, create(world, "并联事项", **NAMING[field]))
    _close(world, third)
    with catalog.nothing_written(), pytest.raises(VersionDataError) as exc:
        services.item_version_draft(actor=editor(world), item=v1.item,
                                    data=version_as_data(v1, copy=True))
    assert {"field": field, "problem": "“丙局”已停用"} in exc.value.fields["problems"]

    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    assert v2.dropped_closed == [third]
    assert list(v2.joint_agencies.all()) == [] and v2.upper_agency_id is None
    record = AuditRecord.objects.get(action=CatalogAction.VERSION_DRAFTED,
                                     object_id=str(v2.pk))
    assert record.changes == {"number": 2, "dropped_closed": [
        {"field": field, "id": third.pk, "name": "丙局"}]}


def test_a_copy_keeps_the_open_joint_agencies(world):
    """Only the closed one is left out: with 乙局 still at work, the copy is ready
    to be published as it is, and the item is offered again."""
    third, _staff = _provincial_third(world)
    v1 = catalog.publish(world, create(world, "并联事项", process_template="parallel",
                                       joint_agencies=["乙局", "丙局"]))
    _close(world, third)
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    assert v2.dropped_closed == [third]
    assert list(v2.joint_agencies.all()) == [world.agency_b]
    catalog.publish(world, v2)
    assert selectors.item_guide(impl_code=v1.item.impl_code).pk == v2.pk


def test_a_copy_of_an_item_naming_only_open_agencies_drops_nothing(world):
    v1 = catalog.publish(world, create(world, "并联事项", process_template="parallel",
                                       joint_agencies=["乙局"]))
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    assert v2.dropped_closed == []
    record = AuditRecord.objects.get(action=CatalogAction.VERSION_DRAFTED,
                                     object_id=str(v2.pk))
    assert record.changes == {"number": 2}


def _copied_after_the_closure(world, **content):
    """An item naming the provincial 丙局 (``content``), published; 丙局 closes;
    the next version is copied, submitted and refused at publication.
    Returns ``(v1, v2, the refusal's ExceptionInfo)``, nothing written by it."""
    third, _staff = _provincial_third(world)
    v1 = catalog.publish(world, create(world, "并联事项", **content))
    _close(world, third)
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    services.item_version_submit(actor=editor(world), version=v2)
    with catalog.nothing_written(), pytest.raises(Conflict) as exc:
        services.item_version_publish(actor=reviewer(world), version=v2)
    assert exc.value.code == CatalogErrorCode.AGENCY_MISSING
    return v1, v2, exc


@pytest.mark.parametrize("field", list(NAMING))
def test_a_copy_without_the_agency_its_process_needs_is_published_once_another_is_named(
        world, field):
    """丙局 was the only joint (the upper) agency: the draft has none, and is not
    published so — every case would fail at the $joint ($upper) step — until its
    editor names one; then the item is offered again."""
    v1, v2, exc = _copied_after_the_closure(world, **NAMING[field])
    assert exc.value.fields["field"] == field
    assert exc.value.render("zh-hans") == {
        "joint_agencies": "并联审批事项须至少有一个联办机关；请退回编辑人修改后再发布。",
        "upper_agency": "上级初审事项须指定上级审批机关；请退回编辑人修改后再发布。"}[field]
    assert exc.value.render("en").startswith({
        "joint_agencies": "A parallel approval item needs at least one joint agency",
        "upper_agency": "An item with preliminary review by a higher authority"}[field])
    assert ItemVersion.objects.get(pk=v2.pk).status == ItemVersion.Status.PENDING

    services.item_version_return(actor=reviewer(world), version=v2, note="请改定机关")
    other = ({"joint_agencies": [world.agency_b.name]} if field == "joint_agencies"
             else {"upper_agency": catalog.provincial_agency(world).name})
    data = {**version_as_data(v2), **other}
    services.item_version_edit(actor=editor(world), version=v2, data=data)
    catalog.publish(world, v2)
    assert selectors.item_guide(impl_code=v1.item.impl_code).pk == v2.pk


def test_an_uploaded_process_s_lane_without_its_agency_is_not_published(world):
    """The same for a custom process's $joint lane: the refusal names its step, in
    Chinese and in English."""
    _v1, _v2, exc = _copied_after_the_closure(
        world, process_template="custom", process_xml=template_xml("parallel").decode(),
        joint_agencies=["丙局"])
    assert exc.value.render("zh-hans").startswith(
        "用户任务“会同审查”（joint_review）在“$joint”泳道中，须至少有一个联办机关；")
    assert exc.value.render("en").startswith(
        "The user task “会同审查” (joint_review) is in the “$joint” lane")


@pytest.mark.parametrize("field", list(NAMING))
def test_the_desk_drafts_the_version_without_the_closed_agency_and_says_so(
        world, client_for, field):
    """新建版本 on the desk: the draft is made, and its editor is told which agency
    was left out and what to do."""
    third, _staff = _provincial_third(world)
    v1 = catalog.publish(world, create(world, "并联事项", **NAMING[field]))
    _close(world, third)
    page = client_for(editor(world)).post(
        f"/workbench/catalog/versions/{v1.pk}/draft/", follow=True)
    v2 = ItemVersion.objects.get(item=v1.item, number=2)
    assert page.redirect_chain[-1][0] == f"/workbench/catalog/versions/{v2.pk}/"
    assert ("已新建版本草稿；已停用的机关“丙局”未复制，请在草稿中改定联办或上级审批机关。"
            in page.content.decode())


def test_the_api_drafts_the_version_without_the_closed_agency(world, client_for):
    """POST /items/{code}/versions: the draft's agencies are what is left; the audit
    record says what was left out."""
    third, _staff = _provincial_third(world)
    v1 = catalog.publish(world, create(world, "并联事项", process_template="parallel",
                                       joint_agencies=["乙局", "丙局"]))
    _close(world, third)
    response = client_for(editor(world)).post(
        f"/api/v1/catalog/items/{v1.item.impl_code}/versions")
    assert response.status_code == 201
    assert response.json()["joint_agencies"] == [world.agency_b.credit_code]


@pytest.mark.parametrize("field", list(NAMING))
def test_a_version_naming_an_agency_closed_since_it_was_written_is_not_published(world, field):
    """Checked again at publication: the agency was open when the draft was written."""
    third, _staff = _provincial_third(world)
    version = create(world, "并联事项", **NAMING[field])
    services.item_version_submit(actor=editor(world), version=version)
    _close(world, third)
    with catalog.nothing_written(), pytest.raises(Conflict) as exc:
        services.item_version_publish(actor=reviewer(world), version=version)
    assert exc.value.code == CatalogErrorCode.AGENCY_CLOSED
    assert exc.value.fields["field"] == field
    assert exc.value.render("zh-hans").startswith("“丙局”已停用")
    assert ItemVersion.objects.get(pk=version.pk).status == ItemVersion.Status.PENDING


def test_an_item_of_a_closed_agency_is_neither_created_nor_published(world):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    _close(world, world.agency_a)
    with catalog.nothing_written(), pytest.raises(Conflict) as exc:
        services.item_version_publish(actor=reviewer(world), version=version)
    assert exc.value.code == CatalogErrorCode.AGENCY_CLOSED
    assert exc.value.render("zh-hans") == "实施机关“甲局”已停用，不能新建或发布它的事项。"
    with catalog.nothing_written(), pytest.raises(Conflict) as exc:
        create(world, "新事项", basic_code="XK00102000")
    assert exc.value.code == CatalogErrorCode.AGENCY_CLOSED
    assert Item.objects.count() == 1


# --- a joint or upper agency closed after publication ------------------------------

@pytest.mark.parametrize("field", list(NAMING))
def test_an_item_naming_an_agency_closed_since_publication_is_no_longer_offered(world, field):
    """丙局 closed after publication: cases.services refuses every new application
    (cases.item_withdrawn), so nothing offers the item any more — else a citizen
    fills the whole form and uploads the materials only to be refused at the end.
    The guide says why (naming 丙局) and where to ask, as for a closed
    implementing agency."""
    third, _staff = _provincial_third(world)
    version = catalog.publish(world, create(world, "并联事项", themes=["permits"],
                                            **NAMING[field]))
    code = version.item.impl_code
    assert selectors.theme_counts()["permits"] == 1
    _close(world, third)
    for path in (f"/services/items/{code}/", f"/services/items/{code}/?print=1"):
        page = Client().get(path)
        text = page.content.decode()
        assert page.status_code == 404, path
        assert "该事项已不再办理" in text and "丙局" in text and "12345" in text, path
        assert 'data-testid="apply"' not in text, path
    for params in ({"q": "并联事项"}, {"q": code}, {"theme": "permits"}):
        found = Client().get("/services/search/", params).content.decode()
        assert f"/services/items/{code}/" not in found, params
    assert selectors.theme_counts()["permits"] == 0
    assert selectors.agencies_with_items() == []
    with pytest.raises(NotFound) as exc:
        selectors.item_guide(impl_code=code)
    assert "丙局" in exc.value.render("zh-hans")


@pytest.mark.parametrize("field", list(NAMING))
def test_the_catalog_api_leaves_out_an_item_naming_a_closed_agency(world, field):
    third, _staff = _provincial_third(world)
    code = catalog.publish(world, create(world, "并联事项", **NAMING[field])).item.impl_code
    _close(world, third)
    client = Client()
    item = client.get(f"/api/v1/catalog/items/{code}")
    assert item.status_code == 404
    assert item.json()["code"] == "core.not_found"
    assert "丙局" in item.json()["message_zh"] and "12345" in item.json()["message_zh"]
    assert client.get("/api/v1/catalog/items", {"q": "并联事项"}).json() == []
    assert "并联事项" not in client.get("/api/v1/catalog/export").content.decode()


def test_the_search_of_the_catalog_stays_one_row_per_version(world):
    """Versions naming several joint agencies are each found once: the closed
    agencies are looked up in subqueries, not joined (no DISTINCT needed)."""
    add_agency(world, "丙局", credit_seed=303)
    catalog.publish(world, create(world, "并联事项", process_template="parallel",
                                  joint_agencies=[world.agency_b.name, "丙局"]))
    assert [v.name for v in selectors.item_search(query="并联事项")] == ["并联事项"]
    sql = str(selectors.published_versions().query).upper()
    assert "DISTINCT" not in sql and "EXISTS" in sql


def test_a_case_under_way_still_shows_its_item_when_a_joint_agency_closes(world, client_for):
    """The applicant's and the staff's pages of a case accepted before the closing
    read the case's own version, not the public catalog."""
    from tests.cases.helpers import accepted_parallel
    from yizhan.directory.roles import Role

    case, third, _staff = accepted_parallel(world)
    _close(world, third)
    mine = client_for(world.citizen).get(f"/my/cases/{case.pk}/")
    assert mine.status_code == 200 and "并联许可" in mine.content.decode()
    staff = client_for(world.user("a", Role.WINDOW_CLERK)).get(f"/workbench/cases/{case.pk}/")
    assert staff.status_code == 200 and "并联许可" in staff.content.decode()
