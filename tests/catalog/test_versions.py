"""Versions of an item: draft, review, publication, the next version; who may do what."""

import pytest

from tests.catalog.helpers import (
    audit_actions,
    create,
    editor,
    nothing_written,
    provincial_agency,
    publish,
    published,
    reviewer,
)
from tests.factories import item_content, valid_credit_code
from yizhan.audit.models import AuditRecord
from yizhan.catalog import services
from yizhan.catalog.actions import CatalogAction
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import Item, ItemVersion
from yizhan.core.error_codes import CoreErrorCode
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory import services as directory_services
from yizhan.directory.roles import Role

Status = ItemVersion.Status


def test_create_makes_a_draft_v1_with_its_materials_and_an_audit_row(world):
    version = create(world, "测试许可", fees=[{"name": "工本费", "standard": "每证 10 元",
                                              "amount": "10", "basis": "某文件"}])
    assert (version.number, version.status) == (1, Status.DRAFT)
    assert version.edited_by == editor(world)
    assert version.item.agency == world.agency_a
    assert version.item.published is None
    assert [m.name for m in version.materials.all()] == ["申请书"]
    assert [f.name for f in version.fees.all()] == ["工本费"]
    assert " 测试 " in version.search_text
    record = AuditRecord.objects.get(action=CatalogAction.ITEM_CREATED)
    assert record.actor_label == "a.agency_head"
    assert record.agency_id == world.agency_a.pk
    assert record.changes == {"impl_code": version.item.impl_code, "name": "测试许可",
                              "version": 1}


def test_bad_content_creates_nothing(world):
    with nothing_written(), pytest.raises(InvalidInput):
        services.item_create(actor=editor(world), agency=world.agency_a,
                             data=item_content(promised_limit=99))


def test_an_existing_implementation_code_is_named_in_the_refusal(world):
    """The code was once passed as ``code=``, which is the error's code: "%(code)s" showed."""
    code = create(world).item.impl_code
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.item_create(actor=editor(world), agency=world.agency_a,
                             data=item_content("再来一次"), impl_code=code)
    assert exc.value.code == CatalogErrorCode.ITEM_EXISTS
    assert exc.value.render("zh-hans") == f"实施编码 {code} 已存在。"
    assert code in exc.value.render("en")


def test_submit_then_publish_by_a_data_officer(world):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    version.refresh_from_db()
    assert version.status == Status.PENDING
    services.item_version_publish(actor=reviewer(world), version=version, note="同意发布")
    version.refresh_from_db()
    assert version.status == Status.PUBLISHED
    assert version.reviewed_by == reviewer(world)
    assert version.review_note == "同意发布"
    assert version.published_at is not None
    assert Item.objects.get(pk=version.item_id).published == version


def test_a_system_administrator_of_the_agency_may_publish(world):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    services.item_version_publish(actor=world.user("a", "sysadmin"), version=version)
    version.refresh_from_db()
    assert version.status == Status.PUBLISHED


def test_the_editor_cannot_publish_their_own_version(world):
    """Publishing needs a second person: a data officer's own draft waits for another."""
    officer = reviewer(world)
    version = services.item_create(actor=officer, agency=world.agency_a, data=item_content())
    services.item_version_submit(actor=officer, version=version)
    with nothing_written(), pytest.raises(PermissionDenied) as exc:
        services.item_version_publish(actor=officer, version=version)
    assert exc.value.code == CatalogErrorCode.SAME_REVIEWER
    assert exc.value.http_status == 403
    assert exc.value.render("zh-hans") == "发布须由编辑人以外的人员审核。"
    services.item_version_publish(actor=world.user("a", "sysadmin"), version=version)


def test_whoever_wrote_any_of_the_version_cannot_publish_it(world):
    """Not only the last editor: a draft someone else saved once is still the officer's."""
    officer, head = reviewer(world), editor(world)
    v1 = services.item_create(actor=officer, agency=world.agency_a, data=item_content())
    services.item_version_edit(actor=head, version=v1, data=item_content("改名事项"))
    services.item_version_submit(actor=head, version=v1)
    with nothing_written(), pytest.raises(PermissionDenied) as exc:
        services.item_version_publish(actor=officer, version=v1)
    assert exc.value.code == CatalogErrorCode.SAME_REVIEWER
    services.item_version_publish(actor=world.user("a", "sysadmin"), version=v1)
    v2 = services.item_version_draft(actor=officer, item=v1.item)
    services.item_version_edit(actor=head, version=v2, data=item_content("再改名"))
    services.item_version_submit(actor=head, version=v2)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.item_version_publish(actor=officer, version=v2)


@pytest.mark.parametrize("role", [Role.AGENCY_HEAD, Role.REVIEWER, Role.WINDOW_CLERK])
def test_only_data_officers_and_sysadmins_publish(world, role):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    with nothing_written(), pytest.raises(PermissionDenied) as exc:
        services.item_version_publish(actor=world.user("a", role), version=version)
    assert exc.value.code == CoreErrorCode.PERMISSION_DENIED


def test_another_agency_s_data_officer_cannot_publish(world):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.item_version_publish(actor=reviewer(world, "b"), version=version)


def test_only_a_pending_version_is_published(world):
    version = create(world)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.item_version_publish(actor=reviewer(world), version=version)
    assert exc.value.code == CatalogErrorCode.NOT_PENDING
    publish(world, version)
    with nothing_written(), pytest.raises(Conflict):
        services.item_version_publish(actor=reviewer(world), version=version)


def test_only_a_draft_is_submitted(world):
    version = published(world)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.item_version_submit(actor=editor(world), version=version)
    assert exc.value.code == CatalogErrorCode.NOT_DRAFT


def test_a_draft_is_edited_in_place(world):
    version = create(world)
    services.item_version_edit(actor=editor(world), version=version,
                               data=item_content("改名事项", materials=[]))
    version.refresh_from_db()
    assert (version.number, version.name) == (1, "改名事项")
    assert version.materials.count() == 0
    assert " 改名 " in version.search_text


@pytest.mark.parametrize("state", ["pending", "published"])
def test_editing_a_pending_or_published_version_is_refused(world, state):
    version = create(world)
    if state == "pending":
        services.item_version_submit(actor=editor(world), version=version)
    else:
        publish(world, version)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.item_version_edit(actor=editor(world), version=version,
                                   data=item_content("改名事项"))
    assert exc.value.code == CatalogErrorCode.NOT_DRAFT


def test_the_next_version_copies_the_latest(world):
    v1 = published(world, "并联事项", process_template="parallel", joint_agencies=["乙局"],
                   fees=[{"name": "工本费", "standard": "每证 10 元", "amount": "10",
                          "basis": "某文件"}])
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    assert (v2.number, v2.status) == (2, Status.DRAFT)
    assert v2.name == "并联事项"
    assert [a.name for a in v2.joint_agencies.all()] == ["乙局"]
    assert [m.name for m in v2.materials.all()] == ["申请书"]
    assert [(f.name, f.amount) for f in v2.fees.all()] == [("工本费", v1.fees.get().amount)]
    v1.refresh_from_db()
    assert v1.status == Status.PUBLISHED
    assert Item.objects.get(pk=v1.item_id).published_id == v1.pk


def test_the_place_hours_and_waiver_grounds_are_content_of_the_version(world):
    """Copied to the next version; changed on a published item, they are the next
    version's, and the one in service (and its cases) keeps its own."""
    fee = {"name": "工本费", "standard": "每证 20 元", "basis": "某文件", "waivable": True,
           "waiver_basis": "低保对象免收：某文件"}
    v1 = published(world, handling_place="市民中心A区", handling_hours="工作日 9:00—17:00",
                   fees=[fee])
    copy = services.item_version_draft(actor=editor(world), item=v1.item)
    assert (copy.handling_place, copy.handling_hours) == ("市民中心A区", "工作日 9:00—17:00")
    assert copy.fees.get().waiver_basis == "低保对象免收：某文件"
    services.item_version_edit(actor=editor(world), version=copy, data=item_content(
        handling_place="市民中心B区", handling_hours="工作日 9:00—17:00",
        fees=[{**fee, "waiver_basis": "低保对象、特困人员免收：某文件"}]))
    publish(world, copy)
    v1.refresh_from_db()
    copy.refresh_from_db()
    assert (v1.status, v1.handling_place, v1.fees.get().waiver_basis) == (
        Status.SUPERSEDED, "市民中心A区", "低保对象免收：某文件")
    assert (copy.number, copy.status, copy.handling_place) == (2, Status.PUBLISHED, "市民中心B区")
    assert copy.fees.get().waiver_basis == "低保对象、特困人员免收：某文件"


def test_the_next_version_copies_the_agencies_themselves_not_their_names(world):
    """The copy once went through names: another division's 乙局 (sorting first) was taken."""
    upper = provincial_agency(world)
    v1 = published(world, "上级初审事项", process_template="upper_review",
                   upper_agency=upper.name, joint_agencies=["乙局"])
    directory_services.agency_create(actor=world.admin, name="乙局", kind="department",
                                     division_code="440000",
                                     credit_code=valid_credit_code(606, "440000"))
    # The upper agency's namesake, in another province (sorting first).
    directory_services.division_create(actor=world.admin, code="430000", name="另一省")
    directory_services.agency_create(actor=world.admin, name=upper.name, kind="department",
                                     division_code="430000",
                                     credit_code=valid_credit_code(607, "430000"))
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    assert v2.upper_agency_id == upper.pk
    assert list(v2.joint_agencies.values_list("pk", flat=True)) == [world.agency_b.pk]


@pytest.mark.parametrize("change", [{"basic_code": "CF00999000", "item_type": "CF"},
                                    {"exercise_level": "2"}])
def test_a_later_version_keeps_what_the_implementation_code_says(world, change):
    """Changing the basic code or the level would publish under another item's code."""
    v1 = published(world)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.item_version_draft(actor=editor(world), item=v1.item,
                                    data=item_content(**change))
    assert exc.value.code == CatalogErrorCode.BAD_IMPL_CODE
    assert v1.item.impl_code in exc.value.render()
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    with nothing_written(), pytest.raises(InvalidInput):
        services.item_version_edit(actor=editor(world), version=v2, data=item_content(**change))


def test_only_one_open_version_at_a_time(world):
    v1 = published(world)
    services.item_version_draft(actor=editor(world), item=v1.item)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.item_version_draft(actor=editor(world), item=v1.item)
    assert exc.value.code == CatalogErrorCode.DRAFT_EXISTS


def test_publishing_v2_supersedes_v1(world):
    v1 = published(world)
    v2 = services.item_version_draft(actor=editor(world), item=v1.item,
                                     data=item_content("测试事项（2026 年版）"))
    publish(world, v2)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == (Status.SUPERSEDED, Status.PUBLISHED)
    assert Item.objects.get(pk=v1.item_id).published == v2
    record = AuditRecord.objects.filter(action=CatalogAction.VERSION_PUBLISHED,
                                        object_id=str(v2.pk)).get()
    assert record.changes["superseded"] == v1.pk


def test_a_returned_version_goes_back_to_draft_with_the_note(world):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    with nothing_written(), pytest.raises(InvalidInput):
        services.item_version_return(actor=reviewer(world), version=version, note=" ")
    services.item_version_return(actor=reviewer(world), version=version, note="设定依据缺条款号")
    version.refresh_from_db()
    assert (version.status, version.review_note) == (Status.DRAFT, "设定依据缺条款号")
    with pytest.raises(PermissionDenied):
        services.item_version_return(actor=editor(world), version=version, note="x")


def test_a_version_edited_since_the_reviewer_saw_it_is_neither_published_nor_returned(world):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    seen = ItemVersion.objects.get(pk=version.pk).edited_at
    services.item_version_return(actor=reviewer(world), version=version, note="请补充材料",
                                 seen_edited_at=seen)
    services.item_version_edit(actor=editor(world), version=version,
                               data={**item_content("新名称"), "base_edited_at": seen})
    services.item_version_submit(actor=editor(world), version=version)
    for review in (services.item_version_publish, services.item_version_return):
        with nothing_written(), pytest.raises(Conflict) as refused:
            review(actor=reviewer(world), version=version, note="同意", seen_edited_at=seen)
        assert refused.value.code == CatalogErrorCode.STALE_VERSION
        assert refused.value.fields == {"field": "edited_at"}
    # The page's value is the ISO text of the time it showed.
    shown = ItemVersion.objects.get(pk=version.pk).edited_at.isoformat()
    services.item_version_publish(actor=reviewer(world), version=version, note="同意",
                                  seen_edited_at=shown)
    version.refresh_from_db()
    assert (version.status, version.name) == (Status.PUBLISHED, "新名称")


def test_a_draft_edited_since_it_was_read_is_not_overwritten(world):
    version = create(world)
    read_at = ItemVersion.objects.get(pk=version.pk).edited_at
    services.item_version_edit(actor=reviewer(world), version=version,
                               data={**item_content("数据专员改的名称"), "base_edited_at": read_at})
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.item_version_edit(actor=editor(world), version=version,
                                   data={**item_content("局长改的名称"), "base_edited_at": read_at})
    assert refused.value.code == CatalogErrorCode.STALE_VERSION
    assert refused.value.fields == {"field": "base_edited_at"}


@pytest.mark.parametrize("value", ["昨天", "2026-01-05 08:30", ["2026-01-05T08:30:00Z"]])
def test_a_time_read_that_is_no_time_with_its_offset_is_refused(world, value):
    version = create(world)
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        services.item_version_edit(actor=editor(world), version=version,
                                   data={**item_content("改名"), "base_edited_at": value})
    assert refused.value.code == CatalogErrorCode.BAD_FIELD
    assert refused.value.fields == {"field": "base_edited_at"}


def test_every_step_leaves_its_audit_row(world):
    v1 = create(world)
    services.item_version_edit(actor=editor(world), version=v1, data=item_content("改名"))
    services.item_version_submit(actor=editor(world), version=v1)
    services.item_version_return(actor=reviewer(world), version=v1, note="请补充")
    services.item_version_submit(actor=editor(world), version=v1)
    services.item_version_publish(actor=reviewer(world), version=v1, note="同意")
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    assert audit_actions("catalog.item", v1.item_id) == [CatalogAction.ITEM_CREATED]
    assert audit_actions("catalog.itemversion", v1.pk) == [
        CatalogAction.VERSION_EDITED, CatalogAction.VERSION_SUBMITTED,
        CatalogAction.VERSION_RETURNED, CatalogAction.VERSION_SUBMITTED,
        CatalogAction.VERSION_PUBLISHED,
    ]
    assert audit_actions("catalog.itemversion", v2.pk) == [CatalogAction.VERSION_DRAFTED]
    published_row = AuditRecord.objects.get(action=CatalogAction.VERSION_PUBLISHED)
    assert (published_row.actor_label, published_row.reason) == ("a.data_officer", "同意")
    assert published_row.agency_id == world.agency_a.pk


# --- who may edit -------------------------------------------------------------


def test_another_agency_s_head_cannot_touch_a_s_items(world):
    version = create(world)
    stranger = editor(world, "b")
    with nothing_written():
        with pytest.raises(PermissionDenied):
            services.item_create(actor=stranger, agency=world.agency_a, data=item_content())
        with pytest.raises(PermissionDenied):
            services.item_version_edit(actor=stranger, version=version,
                                       data=item_content("插手"))
        with pytest.raises(PermissionDenied):
            services.item_version_submit(actor=stranger, version=version)
    publish(world, version)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.item_version_draft(actor=stranger, item=version.item)


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.WINDOW_CLERK, Role.SUPERVISION_OFFICER])
def test_staff_without_an_editing_role_cannot_create_items(world, role):
    counts = (AuditRecord.objects.count(), ItemVersion.objects.count())
    with nothing_written(), pytest.raises(PermissionDenied):
        services.item_create(actor=world.user("a", role), agency=world.agency_a,
                             data=item_content())
    assert (AuditRecord.objects.count(), ItemVersion.objects.count()) == counts


def test_citizens_and_nobody_cannot_create_items(world):
    with nothing_written():
        for actor in (world.citizen, None):
            with pytest.raises(PermissionDenied):
                services.item_create(actor=actor, agency=world.agency_a, data=item_content())


def test_a_data_officer_edits_the_items_of_their_agency(world):
    version = services.item_create(actor=reviewer(world), agency=world.agency_a,
                                   data=item_content())
    assert version.edited_by == reviewer(world)


def test_an_agency_without_credit_code_cannot_implement_items(world):
    """Internal units have no credit code, so no implementation code."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.item_create(actor=editor(world), agency=world.unit_a, data=item_content())
    assert exc.value.code == CatalogErrorCode.BAD_IMPL_CODE


# --- the migration that gave fees their grounds of waiver -----------------------------------


def test_the_migration_gives_an_existing_waivable_fee_grounds_that_let_it_be_copied(
        transactional_db, world):
    """A waivable fee stored before 0009 has no grounds of its own, which every later
    content check asks of it: without any, 新建版本 (a copy of the version) was
    refused, and no editor could open the draft that gives them."""
    from tests.migrating import migrate, migrate_to_latest

    v1 = published(world, fees=[
        {"name": "工本费", "standard": "每证 20 元", "basis": "某文件；低保对象免收",
         "waivable": True, "waiver_basis": "低保对象免收"},
        {"name": "补证费", "standard": "每证 10 元", "basis": "某文件"}])
    try:
        old = migrate(("catalog", "0008_search_text_language"))
        fees = old.get_model("catalog", "Fee").objects.filter(version_id=v1.pk)
        assert sorted(fees.values_list("waivable", flat=True)) == [False, True]
    finally:
        migrate_to_latest()
    assert list(v1.fees.order_by("order").values_list("waiver_basis", flat=True)) == [
        "见收费依据", ""]
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    assert [f.waiver_basis for f in v2.fees.order_by("order")] == ["见收费依据", ""]
