"""Taking an item out of service by a decision: 取消 (final) and 暂停办理 (restorable).

A reviewer of the item's agency — the people who publish its versions —
records the decision (its name and number).  The item leaves the public
catalog (lists, counts, search, the API's list and export, its blank
forms), its guide says cancelled or suspended, since when and by which
decision, and no version of it is published while it is out of service.
A suspension is restored; a cancellation is final.  The case engine's side
(no new application, no draft submitted, cases under way finish) is in
tests/cases/test_item_withdrawal.py.
"""

import datetime
import json
import re

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.catalog.helpers import (
    FORM_NAME,
    audit_actions,
    create,
    digest,
    editor,
    file_url,
    nothing_written,
    public_item,
    published,
    reviewer,
)
from tests.factories import item_content
from yizhan.accounts import services as accounts_services
from yizhan.audit.models import AuditRecord
from yizhan.catalog import selectors, services, transfer
from yizhan.catalog.actions import CatalogAction
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import Item, ItemVersion
from yizhan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yizhan.directory.roles import Role

pytestmark = pytest.mark.django_db

DECISION = "国务院关于取消一批行政许可事项的决定（国发〔2026〕5号）"
SUSPENSION = "示范市人民政府关于暂停办理部分事项的通知（示政发〔2026〕12号）"
CANCELLED, SUSPENDED = Item.Withdrawal.CANCELLED, Item.Withdrawal.SUSPENDED
BASE = "/api/v1/catalog"


def _withdraw(world, version, kind=CANCELLED, reason=DECISION, actor=None) -> Item:
    return services.item_withdraw(actor=actor or reviewer(world), item=version.item,
                                  kind=kind, reason=reason)


def _item(version) -> Item:
    return Item.objects.get(pk=version.item_id)


@pytest.fixture
def food(world):
    """食品经营许可证核发 of agency A, published (full online, theme permits)."""
    return published(world, "食品经营许可证核发", basic_code="XK04101000", online_depth=4,
                     themes=["permits"])


@pytest.fixture
def hygiene(world):
    """公共场所卫生许可证核发 of agency B, published, left in service."""
    return published(world, "公共场所卫生许可证核发", key="b", basic_code="XK05101000",
                     themes=["permits", "health"])


# --- the record of the decision -----------------------------------------------------


def test_a_cancellation_records_when_why_and_by_whom_with_its_audit_record(world, food):
    item = _withdraw(world, food)
    item = _item(food)
    assert item.withdrawn_kind == CANCELLED and item.is_cancelled and item.is_withdrawn
    assert item.withdrawn_reason == DECISION
    assert item.withdrawn_by == reviewer(world)
    assert item.withdrawn_at is not None
    # The published version stays the item's: cases under way keep it.
    assert item.published_id == food.pk
    assert ItemVersion.objects.get(pk=food.pk).status == ItemVersion.Status.PUBLISHED
    record = AuditRecord.objects.get(action=CatalogAction.ITEM_CANCELLED)
    assert (record.object_type, record.object_id) == ("catalog.item", str(item.pk))
    assert record.reason == DECISION
    assert record.agency_id == world.agency_a.pk
    before, after = record.changes["withdrawal"]
    assert before == {"kind": "", "at": None, "reason": "", "by": None}
    assert after["kind"] == "cancelled" and after["reason"] == DECISION
    assert after["by"] == reviewer(world).pk
    assert record.changes["version"] == 1
    assert item.withdrawal_statement() == (
        f"该事项已于 {item.withdrawn_on} 取消，依据：{DECISION}。")


def test_the_decision_is_kept_on_one_line(world, food):
    item = _withdraw(world, food,
                     reason="  国务院关于取消一批\n行政许可事项的决定\t（国发〔2026〕5号） ")
    assert item.withdrawn_reason == "国务院关于取消一批 行政许可事项的决定 （国发〔2026〕5号）"


@pytest.mark.parametrize("reason", [
    "", "   ", "上级要求", "国务院关于取消一批行政许可事项的决定",
    "国发〔2026〕5", "决定\x07（国发〔2026〕5号）", "决定（国发〔2026〕5号）" + "。" * 500,
])
def test_a_withdrawal_needs_the_decision_s_name_and_number(world, food, reason):
    """The decision and its number (…5号, …令第732号) are what the guide quotes: a
    withdrawal without them is refused, naming the field, and writes nothing."""
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        _withdraw(world, food, reason=reason)
    assert refused.value.code == CatalogErrorCode.BAD_FIELD
    assert refused.value.fields["field"] == "reason"


def test_a_decree_number_and_full_width_digits_are_document_numbers(world, food, hygiene):
    assert _withdraw(world, food, kind=SUSPENDED, reason="国务院令第７３２号").is_suspended
    assert _withdraw(world, hygiene, reason="市政府令第12号", actor=reviewer(world, "b"))


def test_a_withdrawal_is_a_cancellation_or_a_suspension(world, food):
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        _withdraw(world, food, kind="merged")
    assert refused.value.fields["field"] == "kind"


def test_an_item_never_published_is_not_withdrawn(world):
    """Nothing is in service yet: the draft is simply not published."""
    draft = create(world)
    with nothing_written(), pytest.raises(Conflict) as refused:
        _withdraw(world, draft)
    assert refused.value.code == CatalogErrorCode.NOT_PUBLISHED


def test_the_platform_s_internal_items_are_not_found(world, food):
    Item.objects.filter(pk=food.item_id).update(internal=True)
    with nothing_written(), pytest.raises(NotFound):
        _withdraw(world, food)


# --- who may ----------------------------------------------------------------------------


def _token_of_a(world, role=Role.DATA_OFFICER):
    _token, secret = accounts_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                   name="事项同步系统", role=role)
    return accounts_services.token_authenticate(secret)


@pytest.mark.parametrize("who", ["editor", "other_reviewer", "citizen", "clerk", "token"])
def test_only_the_item_s_reviewers_withdraw_and_refusals_write_nothing(world, food, who):
    """The people who publish the item's versions: a data officer or system
    administrator whose scope covers the agency, as a person.  Not its head (an
    editor), another agency's reviewer, a citizen, a clerk, or a token."""
    actor = {"editor": lambda: editor(world), "other_reviewer": lambda: reviewer(world, "b"),
             "citizen": lambda: world.citizen,
             "clerk": lambda: world.user("a", Role.WINDOW_CLERK),
             "token": lambda: _token_of_a(world)}[who]()
    with nothing_written(), pytest.raises(PermissionDenied) as refused:
        _withdraw(world, food, actor=actor)
    assert refused.value.fields["action"] == "item_withdraw"
    assert not _item(food).is_withdrawn


def test_a_system_administrator_of_the_agency_withdraws_too(world, food):
    assert _withdraw(world, food, actor=world.user("a", Role.SYSADMIN)).is_cancelled


@pytest.mark.parametrize("who", ["editor", "other_reviewer", "token"])
def test_only_the_item_s_reviewers_restore_and_refusals_write_nothing(world, food, who):
    _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    actor = {"editor": lambda: editor(world), "other_reviewer": lambda: reviewer(world, "b"),
             "token": lambda: _token_of_a(world)}[who]()
    with nothing_written(), pytest.raises(PermissionDenied) as refused:
        services.item_restore(actor=actor, item=food.item, reason="暂停期满")
    assert refused.value.fields["action"] == "item_restore"
    assert _item(food).is_suspended


# --- the public catalog ---------------------------------------------------------------


@pytest.mark.parametrize("kind", [CANCELLED, SUSPENDED])
def test_a_withdrawn_item_leaves_every_public_list_and_the_search(world, food, hygiene, kind):
    code = food.item.impl_code
    _withdraw(world, food, kind=kind)
    assert [v.pk for v in selectors.published_versions()] == [hygiene.pk]
    assert selectors.agencies_with_items() == [(world.agency_b, 1)]
    assert selectors.theme_counts()["permits"] == 1
    assert [v.name for v in selectors.item_search(query="许可证核发")] == ["公共场所卫生许可证核发"]
    assert not selectors.item_search(query=code).exists()
    text = Client().get("/services/").content.decode()
    assert f"?agency={world.agency_a.pk}" not in text
    client = Client()
    for params in ({"q": "食品经营"}, {"q": code}, {"q": "许可证核发"}, {"theme": "permits"},
                   {"agency": world.agency_a.pk}):
        page = client.get("/services/search/", params)
        assert "食品经营许可证核发" not in page.content.decode(), params
    # The API's list and export read the same catalog.
    found = client.get(f"{BASE}/items", {"q": "许可证核发"}).json()
    assert [row["name"] for row in found] == ["公共场所卫生许可证核发"]
    assert client.get(f"{BASE}/items", {"q": code}).json() == []
    exported = client.get(f"{BASE}/export").content.decode()
    assert "食品经营许可证核发" not in exported and "公共场所卫生许可证核发" in exported


def test_the_guide_of_a_cancelled_item_says_so_since_when_and_by_which_decision(world, food):
    """Not a bare "page not found": as for a closed agency's item, the guide answers
    404 with a page saying why — here the decision and its date — and where to ask."""
    code = food.item.impl_code
    item = _withdraw(world, food)
    for path in (f"/services/items/{code}/", f"/services/items/{code}/?print=1"):
        page = Client().get(path)
        assert page.status_code == 404, path
        text = page.content.decode()
        assert f"该事项已于 {item.withdrawn_on} 取消，依据：{DECISION}。" in text, path
        assert "12345" in text and "在线申请" not in text, path
    with pytest.raises(NotFound) as missing:
        selectors.item_guide(impl_code=code)
    assert missing.value.fields["decision"] == DECISION
    assert missing.value.fields["withdrawn_kind"] == "cancelled"


def test_the_guide_of_a_suspended_item_says_suspended(world, food):
    item = _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    page = Client().get(f"/services/items/{food.item.impl_code}/")
    assert page.status_code == 404
    assert f"该事项自 {item.withdrawn_on} 起暂停办理，依据：{SUSPENSION}。" in page.content.decode()


def test_the_apply_page_of_a_withdrawn_item_says_why(world, food, client_for):
    _withdraw(world, food)
    page = client_for(world.citizen).get(f"/services/items/{food.item.impl_code}/apply/")
    assert page.status_code == 404
    assert DECISION in page.content.decode()


def test_the_api_item_read_shows_the_state(world, food):
    """The API answers a withdrawn item with its state (a program keeping a copy of
    the catalog learns of the decision); an item in service has none."""
    url = f"{BASE}/items/{food.item.impl_code}"
    assert Client().get(url).json()["withdrawal"] is None
    item = _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    body = Client().get(url).json()
    assert body["name"] == "食品经营许可证核发"
    assert body["withdrawal"]["kind"] == "suspended"
    assert body["withdrawal"]["reason"] == SUSPENSION
    since = datetime.datetime.fromisoformat(body["withdrawal"]["since"].replace("Z", "+00:00"))
    assert abs(since - item.withdrawn_at) < datetime.timedelta(seconds=1)


def test_the_editor_s_version_read_shows_the_state_too(world, food, client_for):
    _withdraw(world, food)
    body = client_for(editor(world)).get(f"{BASE}/versions/{food.pk}").json()
    assert body["withdrawal"]["kind"] == "cancelled"


def test_a_withdrawn_item_s_blank_forms_are_no_longer_public(world, client_for):
    version, content = public_item(world)
    url = file_url(content, FORM_NAME)
    assert Client().get(url).status_code == 200
    _withdraw(world, version, kind=SUSPENDED, reason=SUSPENSION)
    assert Client().get(url).status_code == 404
    # Staff who see the item on the desk still reach it.
    assert client_for(editor(world)).get(url).status_code == 200
    services.item_restore(actor=reviewer(world), item=version.item, reason="暂停期满")
    assert Client().get(url).status_code == 200


def test_the_api_offers_no_download_a_withdrawn_item_no_longer_serves(world):
    """The item read still answers for a suspended item, but it links no file
    that would then answer 404; the links come back with the restoration."""
    version, content = public_item(world)
    attach_url = f"{BASE}/items/{version.item.impl_code}"
    body = Client().get(attach_url).json()
    assert body["materials"][0]["blank_form_url"] == file_url(content, FORM_NAME)
    _withdraw(world, version, kind=SUSPENDED, reason=SUSPENSION)
    body = Client().get(attach_url).json()
    assert body["withdrawal"]["kind"] == "suspended"
    assert body["materials"][0]["blank_form_url"] is None
    assert body["materials"][0]["blank_form_file"] == digest(content)
    services.item_restore(actor=reviewer(world), item=version.item, reason="暂停期满")
    assert Client().get(attach_url).json()["materials"][0]["blank_form_url"] == file_url(
        content, FORM_NAME)


# --- versions of a withdrawn item ----------------------------------------------------------


def _pending(world, version):
    draft = services.item_version_draft(actor=editor(world), item=version.item)
    return services.item_version_submit(actor=editor(world), version=draft)


def test_a_pending_version_of_a_suspended_item_is_not_published(world, food):
    """Publishing would put the item back in the catalog: refused, saying why, until
    the suspension is restored; then it is published as usual."""
    pending = _pending(world, food)
    _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.item_version_publish(actor=reviewer(world), version=pending)
    assert refused.value.code == CatalogErrorCode.ITEM_WITHDRAWN
    assert SUSPENSION in refused.value.render("zh-hans")
    assert "恢复办理后才能发布" in refused.value.render("zh-hans")
    services.item_restore(actor=reviewer(world), item=food.item, reason="暂停期满")
    assert services.item_version_publish(actor=reviewer(world), version=pending).status == (
        ItemVersion.Status.PUBLISHED)


def test_a_suspended_item_s_draft_is_edited_and_submitted_meanwhile(world, food):
    _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    draft = services.item_version_draft(actor=editor(world), item=food.item)
    services.item_version_edit(actor=editor(world), version=draft,
                               data=item_content("食品经营许可证核发（修订）",
                                                 basic_code="XK04101000"))
    assert services.item_version_submit(actor=editor(world), version=draft).status == "pending"


def test_a_cancelled_item_gets_no_new_version_and_its_open_one_is_not_published(world, food):
    pending = _pending(world, food)
    _withdraw(world, food)
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.item_version_publish(actor=reviewer(world), version=pending)
    assert refused.value.code == CatalogErrorCode.ITEM_CANCELLED
    assert DECISION in refused.value.render("zh-hans")
    services.item_version_return(actor=reviewer(world), version=pending, note="事项已取消")
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.item_version_submit(actor=editor(world), version=pending)
    assert refused.value.code == CatalogErrorCode.ITEM_CANCELLED
    ItemVersion.objects.filter(pk=pending.pk).delete()   # as if there were none open
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.item_version_draft(actor=editor(world), item=food.item)
    assert refused.value.code == CatalogErrorCode.ITEM_CANCELLED
    assert "取消是最终的" in refused.value.render("zh-hans")


def test_a_new_item_cannot_take_a_cancelled_item_s_code(world, food):
    _withdraw(world, food)
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        services.item_create(actor=editor(world), agency=world.agency_a,
                             data=item_content("食品经营许可证核发", basic_code="XK04101000"),
                             impl_code=food.item.impl_code)
    assert refused.value.code == CatalogErrorCode.ITEM_EXISTS


# --- restoring ---------------------------------------------------------------------------


def test_a_suspension_is_restored_and_the_item_is_offered_again(world, food):
    _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    assert not selectors.published_versions().exists()
    item = services.item_restore(actor=reviewer(world), item=food.item,
                                 reason="示范市人民政府关于恢复办理的通知（示政发〔2026〕20号）")
    assert not item.is_withdrawn
    item = _item(food)
    assert (item.withdrawn_kind, item.withdrawn_at, item.withdrawn_reason,
            item.withdrawn_by) == ("", None, "", None)
    assert [v.pk for v in selectors.published_versions()] == [food.pk]
    assert Client().get(f"/services/items/{food.item.impl_code}/").status_code == 200
    assert Client().get(f"{BASE}/items/{food.item.impl_code}").json()["withdrawal"] is None
    assert audit_actions("catalog.item", item.pk)[-2:] == [
        CatalogAction.ITEM_SUSPENDED, CatalogAction.ITEM_RESTORED]
    record = AuditRecord.objects.get(action=CatalogAction.ITEM_RESTORED)
    assert record.reason == "示范市人民政府关于恢复办理的通知（示政发〔2026〕20号）"
    assert record.changes["withdrawal"][0]["reason"] == SUSPENSION
    assert record.changes["withdrawal"][1] is None


def test_a_restoration_needs_its_reason(world, food):
    _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        services.item_restore(actor=reviewer(world), item=food.item, reason="  ")
    assert refused.value.fields["field"] == "reason"


def test_a_cancelled_item_cannot_be_restored(world, food):
    _withdraw(world, food)
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.item_restore(actor=reviewer(world), item=food.item, reason="重新开放")
    assert refused.value.code == CatalogErrorCode.ITEM_CANCELLED
    assert "作为新事项录入" in refused.value.render("zh-hans")
    assert _item(food).is_cancelled


def test_an_item_in_service_has_nothing_to_restore(world, food):
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.item_restore(actor=reviewer(world), item=food.item, reason="恢复")
    assert refused.value.code == CatalogErrorCode.NOT_WITHDRAWN


def test_a_suspended_item_may_then_be_cancelled_but_not_suspended_again(world, food):
    _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    with nothing_written(), pytest.raises(Conflict) as refused:
        _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    assert refused.value.code == CatalogErrorCode.ITEM_WITHDRAWN
    item = _withdraw(world, food, kind=CANCELLED)
    assert item.is_cancelled and item.withdrawn_reason == DECISION
    before, after = AuditRecord.objects.get(action=CatalogAction.ITEM_CANCELLED).changes[
        "withdrawal"]
    assert (before["kind"], after["kind"]) == ("suspended", "cancelled")
    with nothing_written(), pytest.raises(Conflict) as refused:
        _withdraw(world, food, kind=CANCELLED)
    assert refused.value.code == CatalogErrorCode.ITEM_CANCELLED


# --- the desk ------------------------------------------------------------------------------


def test_the_reviewer_withdraws_on_the_item_s_desk_page_and_the_desk_shows_it(world, food,
                                                                              client_for):
    desk = client_for(reviewer(world))
    page = desk.get(f"/workbench/catalog/versions/{food.pk}/").content.decode()
    assert 'data-testid="withdraw-form"' in page and 'value="suspended"' in page
    assert 'data-testid="restore-form"' not in page
    # The head edits the item but does not withdraw it: no form.
    head_page = client_for(editor(world)).get(f"/workbench/catalog/versions/{food.pk}/")
    assert 'data-testid="withdraw-form"' not in head_page.content.decode()

    response = desk.post(f"/workbench/catalog/versions/{food.pk}/withdraw/",
                         {"kind": "suspended", "reason": SUSPENSION}, follow=True)
    text = response.content.decode()
    item = _item(food)
    assert item.is_suspended and item.withdrawn_reason == SUSPENSION
    assert f"该事项自 {item.withdrawn_on} 起暂停办理，依据：{SUSPENSION}。" in text
    assert 'data-testid="restore-form"' in text
    assert 'value="suspended"' not in text   # a suspension is cancelled, not suspended again
    listing = desk.get("/workbench/catalog/").content.decode()
    assert f'data-testid="withdrawn-{item.pk}"' in listing and "暂停办理" in listing

    desk.post(f"/workbench/catalog/versions/{food.pk}/restore/", {"reason": "暂停期满"})
    assert not _item(food).is_withdrawn
    desk.post(f"/workbench/catalog/versions/{food.pk}/withdraw/",
              {"kind": "cancelled", "reason": DECISION})
    assert _item(food).is_cancelled
    page = desk.get(f"/workbench/catalog/versions/{food.pk}/").content.decode()
    assert 'data-testid="withdraw-form"' not in page and "已取消" in page
    assert f"/workbench/catalog/versions/{food.pk}/draft/" not in page   # no 新建版本


def test_a_refused_withdrawal_on_the_desk_is_shown_and_changes_nothing(world, food, client_for):
    desk = client_for(reviewer(world))
    with nothing_written():
        response = desk.post(f"/workbench/catalog/versions/{food.pk}/withdraw/",
                             {"kind": "cancelled", "reason": "领导要求"}, follow=True)
    assert "请写明取消或暂停所依据的决定名称和文号" in response.content.decode()
    with nothing_written():
        response = client_for(editor(world)).post(
            f"/workbench/catalog/versions/{food.pk}/withdraw/",
            {"kind": "cancelled", "reason": DECISION}, follow=True)
    assert "您没有执行此操作的权限" in response.content.decode()


TYPED = "根据市政府第12次常务会议纪要暂停办理本事项，待新规定出台后恢复"


def _refused_page(client, version, action, data):
    with nothing_written():
        response = client.post(f"/workbench/catalog/versions/{version.pk}/{action}/", data)
    assert response.status_code == 400
    return lxml.html.fromstring(response.content.decode())


def _described_by(doc, field) -> list[str]:
    return [doc.get_element_by_id(i).text_content()
            for i in (field.get("aria-describedby") or "").split()
            if doc.xpath(f'//*[@id="{i}"]')]


def test_a_refused_withdrawal_keeps_what_was_typed(world, food, client_for):
    """The decision typed without its document number is refused: the form comes
    back with the text and the choice made, to add the number, not to type it all
    again."""
    doc = _refused_page(client_for(reviewer(world)), food, "withdraw",
                        {"kind": "suspended", "reason": TYPED})
    assert doc.get_element_by_id("withdraw-reason").text_content().strip() == TYPED
    assert doc.xpath('//input[@name="kind"][@value="suspended"]')[0].checked
    assert not doc.xpath('//input[@name="kind"][@value="cancelled"]')[0].checked


def test_a_refused_withdrawal_ties_its_message_to_the_field(world, food, client_for):
    doc = _refused_page(client_for(reviewer(world)), food, "withdraw",
                        {"kind": "suspended", "reason": TYPED})
    field = doc.get_element_by_id("withdraw-reason")
    assert field.get("aria-invalid") == "true"
    messages = _described_by(doc, field)
    assert any("文号" in text for text in messages), messages
    # Said once, at the field: not again at the top of the page.
    assert not doc.xpath('//div[@class="messages"]')


def test_a_refused_restoration_keeps_what_was_typed_at_its_field(world, food, client_for):
    _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    doc = _refused_page(client_for(reviewer(world)), food, "restore", {"reason": " \x01 "})
    field = doc.get_element_by_id("restore-reason")
    assert field.get("aria-invalid") == "true"
    assert field.text_content() == " \x01 "
    assert any("不能保存的字符" in text for text in _described_by(doc, field))
    # The other form is as it was.
    assert doc.get_element_by_id("withdraw-reason").text_content() == ""
    assert doc.get_element_by_id("withdraw-reason").get("aria-invalid") is None


def test_a_refusal_not_about_the_reason_is_said_on_the_page(world, food, client_for):
    doc = _refused_page(client_for(reviewer(world)), food, "withdraw",
                        {"kind": "", "reason": DECISION})
    assert "请选择取消事项或暂停办理。" in doc.xpath('//div[@class="messages"]')[0].text_content()
    assert doc.get_element_by_id("withdraw-reason").text_content() == DECISION
    assert doc.get_element_by_id("withdraw-reason").get("aria-invalid") is None


def test_the_english_suspension_notice_reads_as_two_sentences(world, food, client_for):
    services.item_withdraw(actor=reviewer(world), item=food.item, kind="suspended",
                           reason="市政府决定（示府〔2026〕3号）")
    client = client_for(reviewer(world))
    client.cookies["django_language"] = "en"
    notice = lxml.html.fromstring(client.get(f"/workbench/catalog/versions/{food.pk}/")
                                  .content.decode()).xpath(
        '//*[@data-testid="withdrawal"]')[0].text_content()
    assert "While suspended" in notice
    assert not re.search(r"[.)）]While", notice), notice


# --- import and export ------------------------------------------------------------------------


def _import(world, *records):
    raw = json.dumps({"items": list(records)}, ensure_ascii=False).encode()
    return transfer.catalog_import(actor=editor(world),
                                   records=transfer.read_upload("catalog.json", raw),
                                   source="catalog.json")


def _record(version, name="食品经营许可证核发（修订）"):
    return {**item_content(name, basic_code="XK04101000"), "agency": "甲局",
            "impl_code": version.item.impl_code}


def test_an_import_never_brings_back_a_cancelled_item(world, food):
    """A record of a cancelled item (an old export, another system's copy) is a row
    error, like any bad record: nothing of the file is imported."""
    _withdraw(world, food)
    with nothing_written(), pytest.raises(transfer.ImportFailed) as failed:
        _import(world, {**item_content("新事项", basic_code="XK04102000"), "agency": "甲局"},
                _record(food))
    [error] = failed.value.fields["errors"]
    assert (error["row"], error["field"]) == (2, "impl_code")
    assert DECISION in error["problem"] and "取消是最终的" in error["problem"]


def test_an_import_drafts_a_suspended_item_which_stays_suspended(world, food, client_for):
    """A suspended item may be prepared for its restoration: the record becomes its
    next draft and the result names it, but the item stays out of the catalog and
    the draft is published only once it is restored."""
    _withdraw(world, food, kind=SUSPENDED, reason=SUSPENSION)
    result = _import(world, _record(food))
    assert result.drafted == result.suspended == [food.item.impl_code]
    assert _item(food).is_suspended and not selectors.published_versions().exists()
    draft = food.item.versions.get(number=2)
    services.item_version_submit(actor=editor(world), version=draft)
    with pytest.raises(Conflict):
        services.item_version_publish(actor=reviewer(world), version=draft)
    # The desk says so after an import.
    raw = json.dumps({"items": [_record(food, "再次修订")]}, ensure_ascii=False).encode()
    services.item_version_return(actor=reviewer(world), version=draft, note="再改")
    response = client_for(editor(world)).post(
        "/workbench/catalog/import/",
        {"file": SimpleUploadedFile("catalog.json", raw)}, follow=True)
    assert "以下事项正在暂停办理，其草稿须恢复办理后才能发布" in response.content.decode()


def test_the_desk_export_leaves_out_cancelled_items(world, food):
    """What the desk exports is what its editors may import back."""
    other = published(world, "其他事项", basic_code="XK04102000")
    _withdraw(world, food)
    exported = selectors.editor_versions_for_export(actor=editor(world))
    assert [v.pk for v in exported] == [other.pk]
