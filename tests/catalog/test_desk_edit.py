"""The catalog desk's item form: a new item entered, a draft edited, on the page."""

import codecs
import datetime
import re

import lxml.html
import pytest

from tests.catalog.helpers import (
    attach,
    audit_actions,
    city_agencies,
    create,
    digest,
    editor,
    nothing_written,
    pdf_bytes,
    published,
)
from tests.factories import item_content
from yizhan.catalog import codes, services
from yizhan.catalog.content import MAX_JOINT_AGENCIES, MAX_MATERIALS
from yizhan.catalog.models import Item, ItemVersion
from yizhan.directory.roles import Role
from yizhan.portal.views import KEPT_FORM_MARKER

NEW = "/workbench/catalog/new/"


def _desk(version) -> str:
    return f"/workbench/catalog/versions/{version.pk}/"


def _edit(version) -> str:
    return f"{_desk(version)}edit/"


def _doc(response):
    return lxml.html.fromstring(response.content.decode())


def _item_form(response) -> dict:
    """The values the item form on the page posts (no button pressed)."""
    form = _doc(response).get_element_by_id("item-form")
    return dict(form.form_values())


def _described(doc, element) -> str:
    """The texts of the elements ``element`` names in aria-describedby."""
    ids = (element.get("aria-describedby") or "").split()
    return " ".join(doc.get_element_by_id(i).text_content() for i in ids
                    if doc.xpath(f'//*[@id="{i}"]'))


def _refused_at(client, fields: dict, field_id: str, problem: str):
    """The new-item form ``fields`` posted: refused (400, nothing written) with
    ``problem`` at the input ``field_id``, marked invalid; the response."""
    with nothing_written():
        response = client.post(NEW, fields)
    assert response.status_code == 400
    doc = _doc(response)
    field = doc.get_element_by_id(field_id)
    assert field.get("aria-invalid") == "true"
    assert problem in _described(doc, field)
    return response


def _new_item(fields: dict, world) -> dict:
    """A new item's form filled in as an editor does: two materials and a fee."""
    fields.update({
        "agency": str(world.agency_a.pk), "name": "食品经营许可证核发",
        "basic_code": "XK00101000", "exercise_level": "3",
        "legal_basis": "《中华人民共和国食品安全法》第三十五条",
        "service_objects-legal": "1", "themes-permits": "1",
        "acceptance_conditions": "具有与经营的食品品种相适应的经营场所",
        "statutory_limit": "20", "promised_limit": "10",
        "materials-1-name": "食品经营许可申请书", "materials-1-copies": "1",
        "materials-2-name": "营业执照", "materials-2-forms-copy": "1",
        "fees-1-name": "工本费", "fees-1-standard": "每证 10 元", "fees-1-amount": "10",
        "fees-1-basis": "《收费管理办法》",
    })
    fields.pop("materials-2-forms-original")  # ticked on a blank row: a copy only
    return fields


# --- the links and the forms --------------------------------------------------------


def _forms_reached(client, url):
    """The forms of ``url`` and of the desk pages it links to."""
    page = client.get(url).content.decode()
    pages = [page]
    for href in set(re.findall(r'href="(/workbench/catalog/[^"#]*)"', page)):
        if "/export/" not in href and href != url:
            response = client.get(href)
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                pages.append(response.content.decode())
    return [form for html in pages for form in lxml.html.fromstring(html).forms]


def _fields(form) -> set[str]:
    return {el.name for el in form.inputs if el.name}


def test_the_desk_offers_a_form_for_a_new_item(world, client_for):
    forms = _forms_reached(client_for(editor(world)), "/workbench/catalog/")
    assert any({"name", "basic_code", "legal_basis", "statutory_limit",
                "promised_limit"} <= _fields(form) for form in forms)


def test_a_draft_is_edited_on_the_desk(world, client_for):
    version = create(world, "草稿名称")
    forms = _forms_reached(client_for(editor(world)), _desk(version))
    editing = [form for form in forms if {"name", "legal_basis"} <= _fields(form)]
    assert editing and editing[0].inputs["name"].value == "草稿名称"


def test_the_form_groups_the_content_under_headings(world, client_for):
    doc = _doc(client_for(editor(world)).get(NEW))
    headings = [h.text_content() for h in doc.xpath('//form[@id="item-form"]//h2')]
    assert {"基本信息", "申请材料", "办理时限", "收费项目", "申请表字段"} <= set(headings)
    # Every input has its label (the page's accessibility test checks it in a browser).
    for element in doc.xpath('//form[@id="item-form"]//*[self::input[@type!="hidden"] or '
                             'self::select or self::textarea]'):
        assert doc.xpath(f'//label[@for="{element.get("id")}"]'), element.get("name")


# --- a new item -----------------------------------------------------------------------


def test_a_new_item_is_entered_on_the_desk(world, client_for):
    client = client_for(editor(world))
    fields = _new_item(_item_form(client.get(NEW)), world)
    response = client.post(NEW, fields)
    assert response.status_code == 302
    version = ItemVersion.objects.get(name="食品经营许可证核发")
    assert response["Location"] == _desk(version)
    assert (version.status, version.item.agency, version.number) == (
        ItemVersion.Status.DRAFT, world.agency_a, 1)
    assert [(m.name, m.forms) for m in version.materials.order_by("order")] == [
        ("食品经营许可申请书", ["original"]), ("营业执照", ["copy"])]
    assert [(f.name, str(f.amount)) for f in version.fees.all()] == [("工本费", "10.00")]
    assert (version.service_objects, version.themes) == (["legal"], ["permits"])
    assert audit_actions("catalog.item", version.item_id) == ["catalog.item_created"]


def test_the_same_form_sent_twice_makes_one_item(world, client_for):
    client = client_for(editor(world))
    fields = _new_item(_item_form(client.get(NEW)), world)
    first, second = client.post(NEW, fields), client.post(NEW, fields)
    assert first["Location"] == second["Location"]
    assert Item.objects.filter(versions__name="食品经营许可证核发").count() == 1


def test_another_row_comes_back_with_what_was_typed(world, client_for):
    client = client_for(editor(world))
    fields = _new_item(_item_form(client.get(NEW)), world)
    with nothing_written():
        response = client.post(NEW, {**fields, "add_row": "materials"})
    assert response.status_code == 200
    doc = _doc(response)
    names = [el.value for el in doc.xpath('//input[starts-with(@name, "materials-")]')
             if el.name.endswith("-name") and el.name.count("-") == 2]
    assert names == ["食品经营许可申请书", "营业执照", "", "", ""]
    assert _item_form(response)["fees-1-amount"] == "10"


def test_a_new_item_takes_the_implementation_code_it_is_given(world, client_for):
    """The 实施编码 of an item is assigned by the provincial item list (已赋码): the desk
    takes it as the API and the import do, rather than always generating 01."""
    a = world.agency_a
    given = codes.make_impl_code(basic_code="XK00101000", level="3",
                                 division_code=a.division.code, credit_code=a.credit_code,
                                 sequence=2)
    client = client_for(editor(world))
    response = client.get(NEW)
    doc = _doc(response)
    assert "留空则按基本编码、行使层级和实施机关自动生成" in _described(
        doc, doc.get_element_by_id("impl_code"))
    fields = {**_new_item(_item_form(response), world), "impl_code": f" {given.lower()} "}
    assert client.post(NEW, fields).status_code == 302
    version = ItemVersion.objects.get(name="食品经营许可证核发")
    assert version.item.impl_code == given
    # The code is the item's for good: a draft's form has no such field.
    assert "impl_code" not in _item_form(client.get(_edit(version)))


def test_an_implementation_code_left_blank_is_generated(world, client_for):
    client = client_for(editor(world))
    fields = _new_item(_item_form(client.get(NEW)), world)
    assert fields["impl_code"] == ""
    assert client.post(NEW, fields).status_code == 302
    assert ItemVersion.objects.get(name="食品经营许可证核发").item.impl_code.endswith("01")


@pytest.mark.parametrize(("code", "problem"), [
    ("XK001", "长度不足"),
    # 乙局's credit code in a code for 甲局's item.
    ("agency_b", "实施编码中的统一社会信用代码与实施机关“甲局”不符"),
])
def test_an_implementation_code_that_does_not_fit_is_said_at_its_field(world, client_for,
                                                                        code, problem):
    if code == "agency_b":
        code = codes.make_impl_code(basic_code="XK00101000", level="3",
                                    division_code=world.agency_b.division.code,
                                    credit_code=world.agency_b.credit_code, sequence=1)
    client = client_for(editor(world))
    fields = {**_new_item(_item_form(client.get(NEW)), world), "impl_code": code}
    response = _refused_at(client, fields, "impl_code", problem)
    assert _item_form(response)["impl_code"] == code


def test_a_new_item_for_an_agency_one_does_not_edit_is_not_found(world, client_for):
    client = client_for(editor(world))
    doc = _doc(client.get(NEW))
    offered = {o.get("value") for o in doc.xpath('//select[@id="agency"]/option') if o.get("value")}
    assert offered == {str(world.agency_a.pk)}
    fields = {**_new_item(_item_form(client.get(NEW)), world), "agency": str(world.agency_b.pk)}
    with nothing_written():
        assert client.post(NEW, fields).status_code == 404


def test_no_agency_chosen_is_said_at_the_field(world, client_for):
    client = client_for(world.user("a", Role.SYSADMIN))
    fields = {**_new_item(_item_form(client.get(NEW)), world), "agency": ""}
    _refused_at(client, fields, "agency", "请选择实施机关")


# --- problems at their fields -------------------------------------------------------


def test_every_problem_is_shown_at_its_field_and_everything_is_kept(world, client_for):
    client = client_for(editor(world))
    fields = _new_item(_item_form(client.get(NEW)), world)
    fields.update({
        "statutory_limit": "二十", "legal_basis": "",
        # A second material without its name, a third as it should be.
        "materials-2-name": "", "materials-2-condition": "委托办理的",
        "materials-rows": "3", "materials-3-name": "授权委托书",
        "fees-1-amount": "十元",
        "form_fields-1-name": "Area", "form_fields-1-label": "经营面积",
        "form_fields-1-type": "number",
    })
    with nothing_written():
        response = client.post(NEW, fields)
    assert response.status_code == 400
    doc = _doc(response)
    expected = {"statutory_limit": "应为整数", "legal_basis": "请填写设定依据",
                "materials-2-name": "请填写材料名称", "fees-1-amount": "金额应为",
                "form_fields-1-name": "小写字母开头"}
    for name, problem in expected.items():
        field = doc.get_element_by_id(name)
        assert field.get("aria-invalid") == "true", name
        assert problem in _described(doc, field), (name, _described(doc, field))
    # Everything posted is there again.
    again = _item_form(response)
    for name in ("statutory_limit", "materials-2-condition", "materials-3-name",
                 "fees-1-amount", "fees-1-basis", "form_fields-1-label", "themes-permits",
                 "service_objects-legal", "materials-2-forms-copy"):
        assert again.get(name) == fields[name], name
    assert again["form_fields-1-type"] == "number"
    assert doc.get_element_by_id("form-errors") is not None


def test_a_waivable_fee_without_its_grounds_is_said_at_that_field(world, client_for):
    client = client_for(editor(world))
    fields = {**_new_item(_item_form(client.get(NEW)), world), "fees-1-waivable": "1"}
    with nothing_written():
        response = client.post(NEW, fields)
    assert response.status_code == 400
    doc = _doc(response)
    field = doc.get_element_by_id("fees-1-waiver_basis")
    assert field.tag == "textarea" and field.get("aria-invalid") == "true"
    assert "可减免的收费须填写减免依据" in _described(doc, field)
    assert _item_form(response)["fees-1-waivable"] == "1"


def test_the_place_hours_and_waiver_grounds_are_entered_on_the_desk(world, client_for):
    client = client_for(editor(world))
    form = _item_form(client.get(NEW))
    assert {"handling_place", "handling_hours", "fees-1-waiver_basis"} <= set(form)
    fields = {**_new_item(form, world), "handling_place": "市民中心B区市场监管窗口",
              "handling_hours": "工作日 9:00—12:00，14:00—18:00", "fees-1-waivable": "1",
              "fees-1-waiver_basis": "小微企业免收：财税〔2016〕79号"}
    assert client.post(NEW, fields).status_code == 302
    version = ItemVersion.objects.get(name="食品经营许可证核发")
    assert (version.handling_place, version.handling_hours) == (
        "市民中心B区市场监管窗口", "工作日 9:00—12:00，14:00—18:00")
    assert version.fees.get().waiver_basis == "小微企业免收：财税〔2016〕79号"
    # 编辑草稿 shows them as saved.
    again = _item_form(client.get(_edit(version)))
    assert (again["handling_place"], again["fees-1-waiver_basis"]) == (
        "市民中心B区市场监管窗口", "小微企业免收：财税〔2016〕79号")


def test_a_custom_process_without_a_file_is_said_at_the_process(world, client_for):
    client = client_for(editor(world))
    fields = {**_new_item(_item_form(client.get(NEW)), world), "process_template": "custom"}
    response = client.post(NEW, fields)
    assert response.status_code == 400
    doc = _doc(response)
    assert "BPMN" in _described(doc, doc.get_element_by_id("process_xml"))


def test_a_bpmn_file_that_is_no_text_is_refused_at_the_file(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(editor(world))
    # A picture: neither UTF-8 nor, with no byte order mark, UTF-16.
    fields = {**_new_item(_item_form(client.get(NEW)), world), "process_template": "custom",
              "process_file": SimpleUploadedFile("p.bpmn", b"\x89PNG\r\n\x1a\n\x00\x00")}
    with nothing_written():
        response = client.post(NEW, fields)
    assert response.status_code == 400
    doc = _doc(response)
    assert "UTF-8" in _described(doc, doc.get_element_by_id("process_file"))
    assert _item_form(response)["name"] == "食品经营许可证核发"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_a_bpmn_file_saved_as_utf16_or_with_a_bom_uploads_at_the_desk(world, client_for,
                                                                     encoding):
    """The file may be saved as UTF-8 or as UTF-16 with its byte order mark
    (docs/processes.md): the desk reads it as the process loader does."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yizhan.bpmn import template_xml

    text = template_xml("promised").decode()
    raw = (codecs.BOM_UTF16_BE + text.encode(encoding) if encoding == "utf-16-be"
           else text.encode(encoding))
    client = client_for(editor(world))
    fields = {**_new_item(_item_form(client.get(NEW)), world), "process_template": "custom",
              "process_file": SimpleUploadedFile("p.bpmn", raw)}
    response = client.post(NEW, fields)
    assert response.status_code == 302
    version = ItemVersion.objects.get(name="食品经营许可证核发")
    assert version.process_xml == text.strip()


# --- a draft edited -------------------------------------------------------------------


def test_a_draft_is_saved_and_keeps_its_files(world, client_for):
    content = pdf_bytes("desk-edit")
    version = attach(world, create(world, "草稿名称"), content, name="申请书.pdf")
    client = client_for(editor(world))
    fields = _item_form(client.get(_edit(version)))
    assert fields["materials-1-blank_form_file"] == digest(content)
    fields.update({"legal_basis": "《行政许可法》第二十九条", "materials-2-name": "身份证明"})
    response = client.post(_edit(version), fields)
    assert response.status_code == 302 and response["Location"] == _desk(version)
    version.refresh_from_db()
    assert version.legal_basis == "《行政许可法》第二十九条"
    first, second = version.materials.order_by("order")
    assert (first.blank_form_file, first.blank_form_file_name) == (digest(content), "申请书.pdf")
    assert second.name == "身份证明"
    assert audit_actions("catalog.itemversion", version.pk)[-1] == "catalog.version_edited"


def test_a_row_ticked_for_deletion_is_removed(world, client_for):
    version = create(world, materials=[{"name": "申请书"}, {"name": "营业执照"}])
    client = client_for(editor(world))
    fields = {**_item_form(client.get(_edit(version))), "materials-1-delete": "1"}
    assert client.post(_edit(version), fields).status_code == 302
    assert [m.name for m in version.materials.all()] == ["营业执照"]


def test_a_draft_saved_on_the_desk_keeps_every_joint_agency_it_shows(world, client_for):
    """As many as the desk offers rows for, saved unchanged, are all kept."""
    agencies = [a.name for a in city_agencies(world, MAX_JOINT_AGENCIES)]
    version = create(world, "并联事项", process_template="parallel", joint_agencies=agencies)
    client = client_for(editor(world))
    fields = _item_form(client.get(_edit(version)))
    assert client.post(_edit(version), fields).status_code == 302
    assert version.joint_agencies.count() == MAX_JOINT_AGENCIES


def test_a_draft_with_as_many_rows_as_allowed_is_saved_on_the_desk(world, client_for):
    """Each material posts a dozen inputs: at Django's default of 1,000 fields a
    request, a draft of some eighty materials (of the 200 allowed) was refused
    whole as a bad request, and what the editor typed was lost."""
    materials = [{"name": f"材料{n}", "forms": ["original", "copy"], "copies": 1,
                  "condition": "", "basis": "《示范条例》第五条"}
                 for n in range(1, MAX_MATERIALS + 1)]
    version = create(world, "多材料事项", materials=materials)
    client = client_for(editor(world))
    fields = _item_form(client.get(_edit(version)))
    assert len(fields) > 1000, len(fields)
    assert client.post(_edit(version), fields).status_code == 302
    assert version.materials.count() == MAX_MATERIALS


def test_a_draft_with_more_joint_agencies_than_the_limit_is_refused_not_cut(world, client_for):
    """A draft stored with more (before the limit) shows them all; saved, the desk
    once kept the first 23 of them and said nothing.  It is refused at the joint
    agencies instead, and saves once the editor has cleared the rows beyond."""
    agencies = city_agencies(world, MAX_JOINT_AGENCIES + 5)
    version = create(world, "并联事项", process_template="parallel",
                     joint_agencies=[a.name for a in agencies[:MAX_JOINT_AGENCIES]])
    version.joint_agencies.add(*agencies[MAX_JOINT_AGENCIES:])
    client = client_for(editor(world))
    fields = _item_form(client.get(_edit(version)))
    shown = [name for name in fields if re.fullmatch(r"joint_agencies-\d+-agency", name)]
    assert len(shown) == MAX_JOINT_AGENCIES + 5
    with nothing_written():
        response = client.post(_edit(version), fields)
    assert response.status_code == 400
    assert "最多 20 项" in _doc(response).get_element_by_id("joint_agencies-error").text_content()
    assert len([name for name in _item_form(response) if name in shown]) == len(shown)
    for index in range(MAX_JOINT_AGENCIES + 1, MAX_JOINT_AGENCIES + 6):
        fields[f"joint_agencies-{index}-agency"] = ""
    assert client.post(_edit(version), fields).status_code == 302
    assert set(version.joint_agencies.all()) == set(agencies[:MAX_JOINT_AGENCIES])


def test_a_draft_saved_unchanged_on_the_desk_keeps_its_form_field_choices(world, client_for):
    """A choice may hold a comma or a 、 (the API and the import take any text):
    the form gives one choice a line, so that saving the draft unchanged does
    not split one into two, which would change what applicants may answer."""
    choices = ["1,000平方米以下", "个体工商户、农民专业合作社", "其他"]
    version = create(world, form_fields=[{"name": "kind", "label": "类别", "type": "choice",
                                          "required": True, "choices": choices}])
    client = client_for(editor(world))
    response = client.get(_edit(version))
    box = _doc(response).get_element_by_id("form_fields-1-choices")
    assert box.tag == "textarea"
    label = _doc(response).xpath('//label[@for="form_fields-1-choices"]')[0]
    assert label.text_content().strip() == "选项"
    assert "每行一项" in _described(_doc(response), box)
    fields = _item_form(response)
    assert fields["form_fields-1-choices"].splitlines() == choices
    fields["legal_basis"] = "《行政许可法》第二十九条"
    assert client.post(_edit(version), fields).status_code == 302
    version.refresh_from_db()
    assert version.legal_basis == "《行政许可法》第二十九条"
    assert version.form_fields[0]["choices"] == choices


def test_choices_typed_one_a_line_are_read_without_blank_lines_or_spaces(world, client_for):
    version = create(world)
    client = client_for(editor(world))
    fields = {**_item_form(client.get(_edit(version))),
              "form_fields-1-name": "kind", "form_fields-1-label": "类别",
              "form_fields-1-type": "choice",
              "form_fields-1-choices": " 热食类\r\n\r\n冷食类、饮品店 \r\n  \n其他"}
    assert client.post(_edit(version), fields).status_code == 302
    version.refresh_from_db()
    assert version.form_fields[0]["choices"] == ["热食类", "冷食类、饮品店", "其他"]


def test_a_draft_changed_since_the_form_was_read_is_not_overwritten(world, client_for):
    version = create(world, "草稿名称")
    client = client_for(editor(world))
    fields = _item_form(client.get(_edit(version)))
    services.item_version_edit(actor=world.user("a", Role.DATA_OFFICER), version=version,
                               data=item_content("数据专员改的名称"))
    fields["legal_basis"] = "局长改的依据"
    response = client.post(_edit(version), fields)
    assert response.status_code == 409
    doc = _doc(response)
    assert doc.get_element_by_id("form-errors").text_content().strip()
    assert _item_form(response)["legal_basis"] == "局长改的依据"
    version.refresh_from_db()
    assert version.name == "数据专员改的名称"


def test_the_form_carries_the_draft_s_edit_time(world, client_for):
    version = create(world)
    fields = _item_form(client_for(editor(world)).get(_edit(version)))
    assert datetime.datetime.fromisoformat(fields["base_edited_at"]) == version.edited_at


def test_a_published_version_is_not_edited_on_the_form(world, client_for):
    version = published(world)
    client = client_for(editor(world))
    response = client.get(_edit(version), follow=True)
    assert "只能修改草稿" in response.content.decode()
    assert not _doc(response).xpath('//form[@id="item-form"]')
    assert "edit-draft" not in client.get(_desk(version)).content.decode()
    fields = {**_item_form(client.get(_edit(create(world, "别的", basic_code="XK00102000")))),
              "name": "改名"}
    with nothing_written():
        response = client.post(_edit(version), fields)
    assert response.status_code == 409
    assert _item_form(response)["name"] == "改名"


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_agency_s_editor_does_not_find_the_draft(world, client_for, method):
    version = create(world)
    client = client_for(editor(world, "b"))
    with nothing_written():
        response = getattr(client, method)(_edit(version), {"name": "越权"})
    assert response.status_code == 404


@pytest.mark.parametrize("url", ["new", "edit"])
def test_a_case_reviewer_has_no_item_form(world, client_for, url):
    version = create(world)
    client = client_for(world.user("a", Role.REVIEWER))
    target = NEW if url == "new" else _edit(version)
    with nothing_written():
        assert client.get(target).status_code in (403, 404)
        assert client.post(target, {"name": "越权", "agency": world.agency_a.pk}
                           ).status_code in (403, 404)


# --- the display and language switches keep what was typed ---------------------------


def test_large_text_keeps_what_was_typed(world, client_for):
    client = client_for(editor(world))
    fields = _new_item(_item_form(client.get(NEW)), world)
    client.post("/display/", {**fields, "large_text": "on", "next": NEW,
                              KEPT_FORM_MARKER: "1"})
    response = client.get(NEW)
    assert 'class="large-text"' in response.content.decode()
    again = _item_form(response)
    assert again["materials-2-forms-copy"] == "1"
    assert again["fees-1-basis"] == "《收费管理办法》"


def test_switching_the_language_keeps_what_was_typed(world, client_for):
    version = create(world, "草稿名称")
    client = client_for(editor(world))
    fields = {**_item_form(client.get(_edit(version))), "legal_basis": "正在输入的依据"}
    with nothing_written():
        # The header's language button sends the form to /display/ (portal/base.html).
        response = client.post("/display/", {**fields, "display_language": "en",
                                             KEPT_FORM_MARKER: "1", "next": _edit(version)})
    assert response.status_code == 302 and response["Location"] == _edit(version)
    response = client.get(_edit(version))
    assert '<html lang="en"' in response.content.decode()
    assert _item_form(response)["legal_basis"] == "正在输入的依据"
