"""The catalog API: the public catalog, and editing, review and import for staff."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.api import api_error as _error
from tests.catalog.helpers import (
    attach,
    create,
    editor,
    nothing_written,
    pdf_bytes,
    provincial_agency,
    published,
    reviewer,
    workbook_bytes,
)
from tests.factories import item_content, valid_credit_code
from yizhan.accounts import services as accounts_services
from yizhan.catalog import transfer
from yizhan.catalog.models import Item, ItemVersion
from yizhan.directory.roles import Role

BASE = "/api/v1/catalog"


def _post(client, url, payload=None):
    return client.post(url, json.dumps(payload or {}), content_type="application/json")


# --- public -------------------------------------------------------------------


def test_search_is_public_and_lists_published_items_only(world):
    item = published(world, "食品经营许可证核发", basic_code="XK04101000")
    create(world, "食品生产许可证核发", basic_code="XK04102000")
    response = Client().get(f"{BASE}/items", {"q": "食品"})
    assert response.status_code == 200
    assert response.json() == [{
        "impl_code": item.item.impl_code, "name": "食品经营许可证核发", "item_type": "XK",
        "agency": "甲局", "case_type": "promised", "statutory_limit": 20, "promised_limit": 10,
        "online_depth": 4, "visits_required": 0, "version": 1}]
    assert Client().get(f"{BASE}/items", {"q": "宇宙飞船"}).json() == []
    assert len(Client().get(f"{BASE}/items", {"theme": "permits"}).json()) == 1
    assert len(Client().get(f"{BASE}/items", {"agency": world.agency_b.pk}).json()) == 0


def test_search_pages_through_every_item(world):
    """Beyond a page the rest is reached with ``offset``, not cut off."""
    for n, code in enumerate(("XK04101000", "XK04102000", "XK04103000")):
        published(world, f"食品许可{n}", basic_code=code)
    every = [row["impl_code"] for row in Client().get(f"{BASE}/items", {"q": "食品"}).json()]
    assert len(every) == 3
    first = Client().get(f"{BASE}/items", {"q": "食品", "limit": 2}).json()
    rest = Client().get(f"{BASE}/items", {"q": "食品", "limit": 2, "offset": 2}).json()
    assert [row["impl_code"] for row in first + rest] == every
    _error(Client().get(f"{BASE}/items", {"limit": 501}), 400, "core.invalid_input")


def test_the_guide_is_public_with_everything_it_shows(world):
    version = published(world, "并联事项", process_template="parallel", joint_agencies=["乙局"],
                        fees=[{"name": "工本费", "standard": "每证 10 元", "amount": "10",
                               "basis": "某文件", "waivable": True,
                               "waiver_basis": "低保对象免收：某文件"}],
                        handling_place="市民中心A区2楼", handling_hours="工作日 9:00—17:00")
    body = Client().get(f"{BASE}/items/{version.item.impl_code}").json()
    assert body["name"] == "并联事项"
    assert body["status"] == "published"
    assert body["joint_agencies"] == ["乙局"]
    assert body["materials"][0]["name"] == "申请书"
    assert body["fees"] == [{"name": "工本费", "standard": "每证 10 元", "amount": "10.00",
                             "basis": "某文件", "waivable": True,
                             "waiver_basis": "低保对象免收：某文件"}]
    assert (body["handling_place"], body["handling_hours"]) == ("市民中心A区2楼",
                                                                "工作日 9:00—17:00")
    assert body["legal_basis"] == "《中华人民共和国行政许可法》"
    assert (body["upper_agency"], body["result_sample"]) == (None, "")


def test_the_guide_and_a_version_show_the_upper_agency_and_result_sample(world, client_for):
    upper = provincial_agency(world)
    version = published(world, process_template="upper_review", upper_agency=upper.name,
                        result_sample="/media/result.pdf")
    guide = Client().get(f"{BASE}/items/{version.item.impl_code}").json()
    shown = client_for(editor(world)).get(f"{BASE}/versions/{version.pk}").json()
    # The guide names the agency for its reader; the editors' version as PUT
    # takes it back, by its credit code (a name is unique within a division only).
    assert (guide["upper_agency"], guide["result_sample"]) == (upper.name, "/media/result.pdf")
    assert (shown["upper_agency"], shown["result_sample"]) == (upper.credit_code,
                                                               "/media/result.pdf")


def test_an_unpublished_or_unknown_item_is_not_found(world):
    draft = create(world)
    for code in (draft.item.impl_code, "XK001010003449900000000000000000001"):
        _error(Client().get(f"{BASE}/items/{code}"), 404, "core.not_found")


def test_themes_and_the_published_export_are_public(world):
    published(world, "已发布")
    create(world, "草稿", basic_code="XK00102000")
    assert Client().get(f"{BASE}/themes").json()["birth"] == "生育收养"
    exported = json.loads(Client().get(f"{BASE}/export").content)
    assert [r["name"] for r in exported["items"]] == ["已发布"]
    xlsx = Client().get(f"{BASE}/export", {"format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert [r.data["name"] for r in transfer.read_excel(xlsx.content)] == ["已发布"]
    # A format it does not write is refused, not answered in JSON.
    refused = Client().get(f"{BASE}/export", {"format": "xml"})
    assert refused.status_code == 400 and refused.json()["code"] == "core.invalid_input"


# --- editing through the API ----------------------------------------------------


def test_create_edit_submit_publish_through_the_api(world, client_for):
    head = client_for(editor(world))
    created = _post(head, f"{BASE}/items", {"agency_id": world.agency_a.pk,
                                            "content": item_content("接口事项")})
    assert created.status_code == 201, created.content
    version = created.json()
    assert (version["status"], version["version"], version["agency"]) == ("draft", 1, "甲局")
    vid = version["id"]

    edited = head.put(f"{BASE}/versions/{vid}", json.dumps(item_content("接口事项（改）")),
                      content_type="application/json")
    assert edited.status_code == 200
    assert edited.json()["name"] == "接口事项（改）"
    assert _post(head, f"{BASE}/versions/{vid}/submit").json()["status"] == "pending"

    body = _error(_post(head, f"{BASE}/versions/{vid}/publish"), 403, "core.permission_denied")
    assert body["message_zh"] == "您没有执行此操作的权限。"
    done = _post(client_for(reviewer(world)), f"{BASE}/versions/{vid}/publish", {"note": "同意"})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["review_note"]) == ("published", "同意")
    code = version["impl_code"]
    assert Client().get(f"{BASE}/items/{code}").json()["name"] == "接口事项（改）"

    again = _post(head, f"{BASE}/items/{code}/versions")
    assert again.status_code == 201
    assert (again.json()["version"], again.json()["name"]) == (2, "接口事项（改）")


def test_the_place_hours_and_waiver_grounds_are_written_and_read_through_the_api(
        world, client_for):
    head = client_for(editor(world))
    fee = {"name": "不动产登记费", "standard": "每件 550 元", "amount": "550", "basis": "某文件",
           "waivable": True, "waiver_basis": "小微企业免收：财税〔2016〕79号"}
    created = _post(head, f"{BASE}/items", {"agency_id": world.agency_a.pk, "content":
                                            item_content("接口事项", fees=[fee],
                                                         handling_place="市民中心C区",
                                                         handling_hours="工作日")})
    assert created.status_code == 201, created.content
    read = head.get(f"{BASE}/versions/{created.json()['id']}").json()
    assert (read["handling_place"], read["handling_hours"]) == ("市民中心C区", "工作日")
    assert read["fees"][0]["waiver_basis"] == "小微企业免收：财税〔2016〕79号"


def test_a_waivable_fee_without_its_grounds_is_refused_by_the_api(world, client_for):
    head = client_for(editor(world))
    version = create(world)
    content = item_content(fees=[{"name": "工本费", "standard": "每证 10 元",
                                  "basis": "某文件", "waivable": True}])
    with nothing_written():
        response = head.put(f"{BASE}/versions/{version.pk}", json.dumps(content),
                            content_type="application/json")
    body = _error(response, 400, "catalog.bad_field")
    assert [p["field"] for p in body["fields"]["problems"]] == ["fees[1].waiver_basis"]
    assert "减免依据" in body["message_zh"]


def test_the_editor_publishing_their_own_version_gets_same_reviewer(world, client_for):
    officer = client_for(reviewer(world))
    vid = _post(officer, f"{BASE}/items", {"agency_id": world.agency_a.pk,
                                           "content": item_content()}).json()["id"]
    _post(officer, f"{BASE}/versions/{vid}/submit")
    with nothing_written():
        response = _post(officer, f"{BASE}/versions/{vid}/publish")
    body = _error(response, 403, "catalog.same_reviewer")
    assert body["message_zh"] == "发布须由编辑人以外的人员审核。"
    assert body["message_en"]


def test_an_api_token_cannot_be_the_second_person(world):
    """A token is no person: it may edit, but never publish, even another's draft."""
    _token, secret = accounts_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                   name="事项同步系统", role=Role.DATA_OFFICER)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    created = _post(client, f"{BASE}/items", {"agency_id": world.agency_a.pk,
                                              "content": item_content("系统事项")})
    assert created.status_code == 201
    vid = created.json()["id"]
    _post(client, f"{BASE}/versions/{vid}/submit")
    _error(_post(client, f"{BASE}/versions/{vid}/publish"), 403, "catalog.same_reviewer")
    others = create(world, "他人事项", basic_code="XK00102000")
    _post(client, f"{BASE}/versions/{others.pk}/submit")
    _error(_post(client, f"{BASE}/versions/{others.pk}/publish"), 403, "catalog.same_reviewer")
    assert not ItemVersion.objects.filter(status="published").exists()


def test_whoever_issued_the_token_that_wrote_a_version_cannot_publish_it(world, client_for):
    """The token's acts name no person, but its issuer holds its secret: the system
    administrator who wrote an item through a token he issued once published it on the
    desk himself, the review nobody's second look."""
    _token, secret = accounts_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                   name="同步", role=Role.AGENCY_HEAD)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    created = _post(client, f"{BASE}/items", {"agency_id": world.agency_a.pk,
                                              "content": item_content("令牌事项")})
    assert created.status_code == 201
    vid = created.json()["id"]
    assert _post(client, f"{BASE}/versions/{vid}/submit").status_code == 200
    with nothing_written():
        page = client_for(world.admin).post(f"/workbench/catalog/versions/{vid}/publish/",
                                            follow=True)
    assert "发布须由编辑人以外的人员审核。" in page.content.decode()
    assert ItemVersion.objects.get(pk=vid).status == ItemVersion.Status.PENDING
    # Anyone else who reviews the agency's items may.
    assert _post(client_for(reviewer(world)), f"{BASE}/versions/{vid}/publish").status_code == 200


def test_an_api_token_cannot_return_a_version_either(world):
    """Returning is the review's other outcome (docs/api.md: "never a token"): a token
    returned another's pending version, though it may not publish it."""
    _token, secret = accounts_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                   name="事项同步系统", role=Role.DATA_OFFICER)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    others = create(world, "他人事项", basic_code="XK00102000")
    _post(client, f"{BASE}/versions/{others.pk}/submit")
    with nothing_written():
        response = _post(client, f"{BASE}/versions/{others.pk}/return", {"note": "请补充依据"})
    body = _error(response, 403, "core.permission_denied")
    assert body["fields"] == {"action": "item_version_return"}
    assert ItemVersion.objects.get(pk=others.pk).status == ItemVersion.Status.PENDING


def test_publish_and_return_may_be_sent_without_a_body(world, client_for):
    """Their bodies hold only an optional note: sent without one, a return is refused by
    its own rule (a note is required), naming the field, and a publication publishes."""
    version = create(world)
    officer = client_for(reviewer(world))
    _post(client_for(editor(world)), f"{BASE}/versions/{version.pk}/submit")
    with nothing_written():
        refused = officer.generic("POST", f"{BASE}/versions/{version.pk}/return")
    assert _error(refused, 400, "core.invalid_input")["fields"]["field"] == "note"
    done = officer.generic("POST", f"{BASE}/versions/{version.pk}/publish")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "published"


def test_bad_content_gets_every_problem_in_the_error_fields(world, client_for):
    with nothing_written():
        response = _post(client_for(editor(world)), f"{BASE}/items", {
            "agency_id": world.agency_a.pk,
            "content": item_content(promised_limit=30, process_template="upper_review",
                                    themes=["nope"],
                                    fees=[{"name": "工本费", "standard": "每证", "amount": "-1",
                                           "basis": "某文件"}])})
    body = _error(response, 400, "catalog.bad_field")
    fields = {p["field"] for p in body["fields"]["problems"]}
    assert fields == {"promised_limit", "upper_agency", "themes", "fees[1].amount"}
    assert body["message_zh"].startswith("事项信息有误：")
    # Each language's message is whole, the problems included.
    assert "承诺时限不能长于法定时限" in body["message_zh"]
    english = body["message_en"]
    assert english.startswith("The service item has errors: ")
    assert not re.search(r"[\u4e00-\u9fff]", english.replace("乙局", "")), english


def test_a_malformed_payload_gets_the_same_error_shape(world, client_for):
    with nothing_written():
        response = _post(client_for(editor(world)), f"{BASE}/items",
                         {"agency_id": world.agency_a.pk, "content": {"name": "缺字段"}})
    body = _error(response, 400, "core.invalid_input")
    assert any(p["field"].startswith("content.") for p in body["fields"]["problems"])


def test_a_lone_surrogate_in_the_content_is_refused_not_a_500(world, client_for):
    """Refused by the API's parser, as in any JSON body (the content's own check names
    the field for imported files, which the parser does not read)."""
    body = json.dumps({"agency_id": world.agency_a.pk, "content": item_content("\ud800")})
    with nothing_written():
        response = client_for(editor(world)).post(f"{BASE}/items", body,
                                                  content_type="application/json")
    body = _error(response, 400, "core.invalid_input")
    assert "代理项" in body["message_zh"]


def test_a_non_finite_fee_amount_is_worded_in_chinese(world, client_for):
    """NaN is a Decimal pydantic refuses (finite_number): its English was the Chinese
    message's text."""
    content = item_content("费用事项", fees=[{"name": "工本费", "standard": "每件",
                                             "amount": "NaN", "basis": "文件"}])
    with nothing_written():
        response = _post(client_for(editor(world)), f"{BASE}/items",
                         {"agency_id": world.agency_a.pk, "content": content})
    body = _error(response, 400, "core.invalid_input")
    assert "finite" not in body["message_zh"], body["message_zh"]
    assert {"field": "content.fees.0.amount", "problem": "应为有限的数字"} in (
        body["fields"]["problems"])


def test_an_existing_implementation_code_is_refused_with_the_code_named(world, client_for):
    code = create(world).item.impl_code
    with nothing_written():
        response = _post(client_for(editor(world)), f"{BASE}/items", {
            "agency_id": world.agency_a.pk, "impl_code": code, "content": item_content("重复")})
    body = _error(response, 400, "catalog.item_exists")
    assert body["message_zh"] == f"实施编码 {code} 已存在。"
    assert body["fields"] == {"field": "impl_code", "impl_code": code}


def test_another_agency_s_head_is_refused_and_nothing_is_written(world, client_for):
    version = create(world)
    client = client_for(editor(world, "b"))
    with nothing_written():
        _error(_post(client, f"{BASE}/items", {"agency_id": world.agency_a.pk,
                                               "content": item_content()}),
               403, "core.permission_denied")
        _error(client.get(f"{BASE}/versions/{version.pk}"), 404, "core.not_found")
        _error(client.put(f"{BASE}/versions/{version.pk}", json.dumps(item_content("插手")),
                          content_type="application/json"), 404, "core.not_found")
        _error(_post(client, f"{BASE}/versions/{version.pk}/submit"), 404, "core.not_found")


def test_a_reviewer_role_cannot_create_items(world, client_for):
    with nothing_written():
        _error(_post(client_for(world.user("a", "reviewer")), f"{BASE}/items",
                     {"agency_id": world.agency_a.pk, "content": item_content()}),
               403, "core.permission_denied")


def test_staff_writes_need_sign_in(world):
    with nothing_written():
        _error(_post(Client(), f"{BASE}/items", {"agency_id": world.agency_a.pk,
                                                 "content": item_content()}),
               401, "core.not_authenticated")


def test_editing_a_published_version_is_a_conflict(world, client_for):
    version = published(world)
    response = client_for(editor(world)).put(f"{BASE}/versions/{version.pk}",
                                             json.dumps(item_content("改")),
                                             content_type="application/json")
    _error(response, 409, "catalog.not_draft")


@pytest.mark.parametrize("process", ["custom", "parallel"])
def test_a_version_read_and_written_back_keeps_its_process(world, client_for, process):
    """GET then PUT of the same body, one field changed: the read left out the
    uploaded BPMN process that PUT takes, so a custom-process item could not be
    edited that way ("请上传 BPMN 文件").  The public guide does not show the XML."""
    from yizhan.bpmn.templates import template_xml

    extra = ({"process_xml": template_xml("promised").decode()} if process == "custom"
             else {"joint_agencies": ["乙局"]})
    client = client_for(editor(world))
    created = _post(client, f"{BASE}/items", {"agency_id": world.agency_a.pk, "content":
                                              item_content("流程事项", process_template=process,
                                                           **extra)})
    assert created.status_code == 201, created.content
    vid = created.json()["id"]
    stored = ItemVersion.objects.get(pk=vid).process_xml
    read = client.get(f"{BASE}/versions/{vid}").json()
    assert read["process_xml"] == stored
    assert bool(stored) == (process == "custom")
    read["consultation"] = "咨询电话 12345"
    written = client.put(f"{BASE}/versions/{vid}", json.dumps(read),
                         content_type="application/json")
    assert written.status_code == 200, written.content
    answer = written.json()
    assert answer.pop("edited_at") > read.pop("edited_at")   # the edit's time, UTC
    assert answer == read
    assert ItemVersion.objects.get(pk=vid).process_xml == stored
    _post(client, f"{BASE}/versions/{vid}/submit")
    _post(client_for(reviewer(world)), f"{BASE}/versions/{vid}/publish")
    guide = Client().get(f"{BASE}/items/{read['impl_code']}").json()
    assert guide["consultation"] == "咨询电话 12345"
    assert "process_xml" not in guide


def test_a_version_with_a_joint_agency_of_a_shared_name_is_written_back_as_read(
        world, client_for):
    """The read named the joint agencies by name, which another agency may bear
    too (names are unique within a division only): the PUT of what was read was
    then refused.  The editors' read names them as PUT takes them and an
    export writes them, by credit code; the public guide keeps the names."""
    from yizhan.directory import services as directory_services

    directory_services.agency_create(actor=world.admin, name="乙局", kind="department",
                                     division_code="449901",
                                     credit_code=valid_credit_code(606, "449901"))
    client = client_for(editor(world))
    created = _post(client, f"{BASE}/items", {
        "agency_id": world.agency_a.pk,
        "content": item_content("并联事项", process_template="parallel",
                                joint_agencies=[world.agency_b.credit_code])})
    assert created.status_code == 201, created.content
    read = _as_read(client, ItemVersion.objects.get(pk=created.json()["id"]))
    assert read["joint_agencies"] == [world.agency_b.credit_code]
    read["consultation"] = "咨询电话 12345"
    written = client.put(f"{BASE}/versions/{read['id']}", json.dumps(read),
                         content_type="application/json")
    assert written.status_code == 200, written.json()["message"]
    version = ItemVersion.objects.get(pk=read["id"])
    assert list(version.joint_agencies.all()) == [world.agency_b]
    assert version.consultation == "咨询电话 12345"


# --- import ---------------------------------------------------------------------


def _upload(client, name, raw):
    return client.post(f"{BASE}/import", {"file": SimpleUploadedFile(name, raw)})


def test_import_a_json_file(world, client_for):
    raw = json.dumps({"items": [{**item_content("导入事项"), "agency": "甲局"}]},
                     ensure_ascii=False).encode()
    response = _upload(client_for(editor(world)), "catalog.json", raw)
    assert response.status_code == 200
    [code] = response.json()["created"]
    assert Item.objects.get(impl_code=code).versions.get().name == "导入事项"


def test_import_a_bad_workbook_lists_each_error_and_imports_nothing(world, client_for):
    good = {"事项键": "k", "实施机关": "甲局", "事项名称": "好事项", "基本编码": "XK00101000",
            "行使层级": "3", "设定依据": "某法", "服务对象": "legal", "受理条件": "符合条件",
            "法定时限": 20, "承诺时限": 10}
    raw = workbook_bytes(items=[good, {**good, "事项键": "k2", "行使层级": "9"}])
    with nothing_written():
        response = _upload(client_for(editor(world)), "catalog.xlsx", raw)
    body = _error(response, 400, "catalog.import_failed")
    assert body["fields"]["errors"] == [{"sheet": "事项", "row": 3, "field": "行使层级",
                                         "problem": "行使层级“9”无效，只能是：国家级、省级、市级、"
                                                    "县级、乡镇级"}]


@pytest.mark.parametrize(("name", "raw", "status"), [
    ("catalog.txt", b"hello", 415),
    ("catalog.xlsx", b"hello", 400),
    ("catalog.json", b" " * (transfer.MAX_IMPORT_BYTES + 1), 413),
])
def test_import_refuses_wrong_files(world, client_for, name, raw, status):
    with nothing_written():
        _error(_upload(client_for(editor(world)), name, raw), status, "core.invalid_input")


def test_import_needs_sign_in(world):
    _error(_upload(Client(), "catalog.json", b"[]"), 401, "core.not_authenticated")


def test_a_process_with_camunda_7_conditions_is_saved(world, client_for):
    """Camunda Modeler writes a condition as ``${...}`` (JUEL): once refused as a
    syntax error, in Python's English."""
    from yizhan.bpmn.templates import template_xml

    xml = template_xml("promised").decode()
    assert 'opinion == "reject"' in xml
    xml = xml.replace('opinion == "reject"', "${opinion == 'reject'}")
    response = _post(client_for(editor(world)), f"{BASE}/items", {
        "agency_id": world.agency_a.pk,
        "content": item_content("流程事项", process_template="custom", process_xml=xml)})
    assert response.status_code == 201, response.content
    assert "${opinion == 'reject'}" in ItemVersion.objects.get(pk=response.json()["id"]).process_xml


# --- what was read is what is written: edited_at ------------------------------------


def _put(client, version, body):
    return client.put(f"{BASE}/versions/{version.pk}", json.dumps(body),
                      content_type="application/json")


def _as_read(client, version) -> dict:
    body = client.get(f"{BASE}/versions/{version.pk}").json()
    # What the editor read is what they write back; the version's time is the
    # base of the write (as an export's base_edited_at is for an import).
    body["base_edited_at"] = body["edited_at"]
    return body


def test_a_second_editor_does_not_silently_overwrite_the_first(world, client_for):
    version = create(world)
    head, officer = client_for(editor(world)), client_for(reviewer(world))
    read_by_head = _as_read(head, version)
    read_by_officer = _as_read(officer, version)
    read_by_officer["name"] = "数据专员改的名称"
    assert _put(officer, version, read_by_officer).status_code == 200

    read_by_head["legal_basis"] = "局长改的依据"
    with nothing_written():
        response = _put(head, version, read_by_head)
    body = _error(response, 409, "catalog.stale_version")
    assert body["fields"] == {"field": "base_edited_at"}
    assert body["message_zh"] == "该草稿在您读取后已被他人修改，请重新读取后再编辑。"
    version.refresh_from_db()
    assert version.name == "数据专员改的名称"
    # Read again, the head's edit goes through.
    again = _as_read(head, version)
    again["legal_basis"] = "局长改的依据"
    assert _put(head, version, again).status_code == 200


def test_an_edit_read_before_a_colleague_s_upload_does_not_remove_the_file(world, client_for):
    version = create(world)
    head = client_for(editor(world))
    read_by_head = _as_read(head, version)
    attach(world, version, pdf_bytes("desk"), name="申请书.pdf")  # on the desk, meanwhile

    read_by_head["legal_basis"] = "《行政许可法》第二十九条"
    with nothing_written():
        response = _put(head, version, read_by_head)
    _error(response, 409, "catalog.stale_version")
    assert version.materials.get().blank_form_file, "the colleague's blank form was dropped"


def test_an_edit_without_its_base_replaces_the_draft_as_before(world, client_for):
    version = create(world)
    body = client_for(editor(world)).get(f"{BASE}/versions/{version.pk}").json()
    body["name"] = "改名"
    response = _put(client_for(reviewer(world)), version, body)
    assert response.status_code == 200, response.content
    assert response.json()["edited_at"] != body["edited_at"]


@pytest.mark.parametrize("value", ["昨天", "2026-01-05T08:30:00", "2026-13-45T00:00:00Z", "0"])
def test_a_base_that_is_no_time_with_its_offset_is_refused_in_chinese(world, client_for, value):
    version = create(world)
    head = client_for(editor(world))
    body = _as_read(head, version)
    body["base_edited_at"] = value
    with nothing_written():
        response = _put(head, version, body)
    body = _error(response, 400, "catalog.bad_field")
    assert body["fields"] == {"field": "base_edited_at"}
    assert body["message_zh"].startswith("修改时间无效")


def test_a_review_acts_on_the_version_the_reviewer_read(world, client_for):
    version = create(world)
    head, officer = client_for(editor(world)), client_for(reviewer(world))
    _post(head, f"{BASE}/versions/{version.pk}/submit")
    seen = officer.get(f"{BASE}/versions/{version.pk}").json()["edited_at"]
    _post(officer, f"{BASE}/versions/{version.pk}/return", {"note": "请补充依据"})
    assert _put(head, version, item_content("改过的名称")).status_code == 200
    _post(head, f"{BASE}/versions/{version.pk}/submit")

    for action in ("publish", "return"):
        with nothing_written():
            response = _post(officer, f"{BASE}/versions/{version.pk}/{action}",
                             {"note": "同意", "edited_at": seen})
        body = _error(response, 409, "catalog.stale_version")
        assert body["message_zh"] == "该版本在您打开后已被修改，请重新打开后再审核。"
        assert body["fields"] == {"field": "edited_at"}
    seen = officer.get(f"{BASE}/versions/{version.pk}").json()["edited_at"]
    done = _post(officer, f"{BASE}/versions/{version.pk}/publish",
                 {"note": "同意", "edited_at": seen})
    assert done.status_code == 200, done.content
    assert done.json()["name"] == "改过的名称"


def test_a_review_s_edited_at_that_is_no_time_is_refused_in_chinese(world, client_for):
    version = create(world)
    _post(client_for(editor(world)), f"{BASE}/versions/{version.pk}/submit")
    with nothing_written():
        response = _post(client_for(reviewer(world)), f"{BASE}/versions/{version.pk}/publish",
                         {"edited_at": "刚才"})
    assert _error(response, 400, "catalog.bad_field")["fields"] == {"field": "edited_at"}
