"""The case pages: applying, following, correcting; the staff workbench; status."""

import re
from urllib.parse import urlencode

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.cases.helpers import (
    PDF,
    PNG,
    accepted,
    another_citizen,
    colleague,
    complete,
    draft,
    event_types,
    material_uploads,
    multipart,
    nothing_written,
    open_task,
    publish_again,
    publish_item,
    reload,
    submitted,
    upload,
    walk_in_case,
)
from yizhan.audit.models import AuditRecord
from yizhan.cases import services
from yizhan.cases.actions import CasesAction
from yizhan.cases.models import Case, EventType, MaterialFile
from yizhan.core.errors import ApplicationError
from yizhan.directory.roles import Role

E = EventType


def _messages(response) -> list[str]:
    """The messages the page shows at its top (portal/base.html)."""
    return re.findall(r'class="message [a-z]+">([^<]*)', response.content.decode())


def _element(response, tag: str, element_id: str) -> str:
    """The opening tag of the element ``element_id`` of the page."""
    found = re.search(rf'<{tag}[^>]*\bid="{element_id}"[^>]*>', response.content.decode())
    assert found, f"no <{tag} id={element_id}>"
    return found.group(0)


def _at_field(response, tag: str, element_id: str) -> str:
    """The refusal shown at a field: marked invalid, described by its message."""
    element = _element(response, tag, element_id)
    assert 'aria-invalid="true"' in element, element
    described = re.search(r'aria-describedby="([^"]+)"', element).group(1)
    found = re.search(rf'id="{described}">([^<]*)<', response.content.decode())
    assert found, described
    return found.group(1)


def _hidden(page: str, after: str) -> dict:
    """The hidden fields of the form that follows the marker ``after`` on the page."""
    form = page.split(after, 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def _apply_form(world, version, key="form-key-1", files=None):
    return {"key": key, "applicant": str(world.applicant.pk),
            **material_uploads(version, files)}


def test_the_apply_page_lists_the_materials(world, promised, client_for):
    """GET shows each material, marks the required ones, and carries a fresh key."""
    response = client_for(world.citizen).get(
        f"/services/items/{promised.item.impl_code}/apply/")
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("申请书", "营业执照", "补充说明"):
        assert name in page
    assert 'name="key"' in page
    assert "张三" in page


@pytest.mark.parametrize(("limit", "stated"), [(5 * 1024 * 1024, "5 MB"),
                                               (25 * 1024 * 1024, "25 MB")])
def test_the_apply_page_states_the_configured_limit(world, promised, client_for, settings,
                                                    limit, stated):
    """The page tells the limit the service enforces (YIZHAN_MAX_UPLOAD_BYTES), not
    a fixed 10 MB that would have an 8 MB scan refused after it was chosen."""
    settings.YIZHAN_MAX_UPLOAD_BYTES = limit
    page = client_for(world.citizen).get(
        f"/services/items/{promised.item.impl_code}/apply/").content.decode()
    assert "10 MB" not in page
    assert f"每个不超过 {stated}。" in page


def test_files_over_the_request_s_total_are_refused_before_anything_is_kept(
        world, promised, client_for, settings):
    """A form whose files together are more than one request keeps
    (YIZHAN_MAX_REQUEST_FILES_BYTES) is refused as a whole with a 4xx, before any
    view runs: no case and no file."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.YIZHAN_MAX_REQUEST_FILES_BYTES = 5000
    big = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"
    client = client_for(world.citizen)
    with nothing_written():
        response = client.post(f"/services/items/{promised.item.impl_code}/apply/",
                               _apply_form(world, promised, files=dict.fromkeys(
                                   ("申请书", "营业执照", "补充说明"), big)))
    assert response.status_code == 413
    assert "一次提交的文件合计超过" in response.content.decode()
    assert not Case.objects.exists()


def test_a_file_named_in_gbk_is_kept_under_its_name_on_the_draft_page(world, promised,
                                                                      client_for):
    """The draft page's 保存草稿 with 营业执照.pdf named in GBK bytes (an older
    Windows browser): the file is kept under its name, as through the API."""
    case = draft(world, promised, files=False)
    material = promised.materials.get(name="营业执照")
    body, content_type = multipart(
        {"action": "draft"}, {f"material_{material.pk}": ("营业执照.pdf".encode("gbk"), PDF)})
    response = client_for(world.citizen).generic("POST", f"/my/cases/{case.pk}/submit/", body,
                                                 content_type=content_type)
    assert response.status_code == 302
    assert [(f.material_id, f.original_name) for f in MaterialFile.objects.filter(case=case)] == [
        (material.pk, "营业执照.pdf")]


def test_a_file_name_in_no_known_encoding_is_refused_on_the_page_saying_so(world, promised,
                                                                          client_for):
    """A name neither UTF-8 nor GB18030: the page says the name cannot be read
    (400), rather than saving the draft as if no file had been chosen."""
    case = draft(world, promised, files=False)
    material = promised.materials.first()
    body, content_type = multipart(
        {"action": "draft"}, {f"material_{material.pk}": (b"\x80\xff.pdf", PDF)})
    with nothing_written():
        response = client_for(world.citizen).generic(
            "POST", f"/my/cases/{case.pk}/submit/", body, content_type=content_type)
    assert response.status_code == 400
    assert "文件名的编码无法识别" in response.content.decode()


def test_the_apply_page_needs_a_sign_in(world, promised, client):
    """An anonymous visitor is sent to sign in."""
    response = client.get(f"/services/items/{promised.item.impl_code}/apply/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_applying_on_the_page_creates_uploads_and_submits(world, promised, client_for):
    """One POST: a submitted case with its files; the query code is shown on the case
    page, and still there when the applicant comes back to it in the same session."""
    client = client_for(world.citizen)
    url = f"/services/items/{promised.item.impl_code}/apply/"
    response = client.post(url, _apply_form(world, promised))
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/my/cases/{case.pk}/"
    assert case.status == Case.Status.SUBMITTED
    assert MaterialFile.objects.filter(case=case).count() == 3
    assert event_types(case) == [E.SUBMITTED]
    first = client.get(f"/my/cases/{case.pk}/").content.decode()
    assert 'data-testid="query-code"' in first
    assert case.number in first
    second = client.get(f"/my/cases/{case.pk}/").content.decode()
    assert 'data-testid="query-code"' in second


def test_posting_the_same_form_twice_makes_one_case(world, promised, client_for):
    """A double click or a retry continues the same case: one case, one submission."""
    client = client_for(world.citizen)
    url = f"/services/items/{promised.item.impl_code}/apply/"
    client.post(url, _apply_form(world, promised))
    case = Case.objects.get()
    with nothing_written():
        again = client.post(url, _apply_form(world, promised))
    assert again.status_code == 302
    assert again["Location"] == f"/my/cases/{case.pk}/"
    assert Case.objects.count() == 1
    assert event_types(case) == [E.SUBMITTED]


def test_a_missing_material_on_the_page_is_named_and_the_retry_completes(
        world, promised, client_for):
    """Without a required file the page says which; sending it with the same key submits."""
    client = client_for(world.citizen)
    url = f"/services/items/{promised.item.impl_code}/apply/"
    response = client.post(url, _apply_form(world, promised, files={"营业执照": None}))
    assert response.status_code == 400
    assert "营业执照" in response.content.decode()
    case = Case.objects.get()
    assert case.status == Case.Status.DRAFT
    retry = client.post(url, _apply_form(world, promised))
    assert retry.status_code == 302
    assert reload(case).status == Case.Status.SUBMITTED
    assert Case.objects.count() == 1


def test_a_retry_after_a_refusal_carries_the_corrected_answers(world, client_for):
    """The first post leaves a draft (a bad file); the retry with the same key and a
    corrected answer submits the corrected answer, not the first one."""
    version = publish_item(world, name="带表单的许可",
                           form_fields=[{"name": "area", "label": "经营面积",
                                         "type": "number", "required": True}])
    client = client_for(world.citizen)
    url = f"/services/items/{version.item.impl_code}/apply/"
    first = _apply_form(world, version, files={"申请书": b"plain text"})
    first["field_area"] = "88"
    assert client.post(url, first).status_code == 400
    assert Case.objects.get().data == {"area": 88}
    retry = _apply_form(world, version)
    retry["field_area"] = "120"
    assert client.post(url, retry).status_code == 302
    case = Case.objects.get()
    assert (case.status, case.data) == (Case.Status.SUBMITTED, {"area": 120})
    record = AuditRecord.objects.get(action=CasesAction.DRAFT_UPDATED)
    assert record.changes["data"] == [{"area": 88}, {"area": 120}]


def test_the_page_keeps_the_chosen_applicant_after_a_refusal(world, client_for):
    """A citizen applying for their company, refused for a missing answer, finds the
    company still chosen, not their own name, on the page that comes back."""
    import re

    from tests.factories import valid_credit_code
    from yizhan.directory import services as directory_services

    company = directory_services.applicant_register(
        actor=world.citizen, kind="legal", name="张记餐饮有限公司",
        credit_code=valid_credit_code(777), legal_rep_name="张三", for_self=True)
    version = publish_item(world, name="带表单的许可", service_objects=["natural", "legal"],
                           form_fields=[{"name": "area", "label": "经营面积",
                                         "type": "number", "required": True}])
    response = client_for(world.citizen).post(
        f"/services/items/{version.item.impl_code}/apply/",
        {"key": "k2", "applicant": str(company.pk), "field_area": ""})
    assert response.status_code == 400
    radios = dict(re.findall(r'<input type="radio" name="applicant" value="(\d+)"[^>]*?'
                             r'( checked)?>', response.content.decode()))
    assert radios == {str(world.applicant.pk): "", str(company.pk): " checked"}


# --- a refused application form keeps what was typed and chosen ---------------------


def _form_item(world, **field):
    spec = {"name": "area", "label": "经营面积", "type": "number", "required": True}
    spec.update(field)
    return publish_item(world, name="带表单的许可",
                        materials=[{"name": "申请书", "forms": ["original"]},
                                   {"name": "营业执照", "forms": ["copy"]}],
                        form_fields=[spec])


def _apply_url(version) -> str:
    return f"/services/items/{version.item.impl_code}/apply/"


def test_a_refused_answer_keeps_the_files_in_a_draft(world, client_for):
    """An elderly applicant types 八十 for a number and attaches both scans: the
    answer is refused at its field, the scans are kept in a draft (the page says
    so at each input), and the corrected form, without the files chosen again,
    submits."""
    version = _form_item(world)
    client = client_for(world.citizen)
    refused = client.post(_apply_url(version),
                          {**_apply_form(world, version), "field_area": "八十"})
    assert refused.status_code == 400
    assert _at_field(refused, "input", "f-area") == "经营面积应为数字"
    case = Case.objects.get()
    assert (case.status, case.data) == (Case.Status.DRAFT, {"area": None})
    assert MaterialFile.objects.filter(case=case).count() == 2
    for material in version.materials.all():
        kept = _element(refused, "input", f"material-{material.pk}")
        assert f'aria-describedby="material-{material.pk}-kept"' in kept
        assert "无需再次选择" in refused.content.decode()
    retry = client.post(_apply_url(version), {**_apply_form(world, version, files={
        "申请书": None, "营业执照": None}), "field_area": "80"})
    assert retry.status_code == 302
    case = Case.objects.get()
    assert (case.status, case.data) == (Case.Status.SUBMITTED, {"area": 80})


def test_a_file_the_page_could_not_keep_is_asked_for_again(world, client_for):
    """No applicant chosen: nothing is filed, and each chosen file's input says to
    choose it again (a browser empties file inputs)."""
    version = _form_item(world)
    form = {**_apply_form(world, version), "field_area": "80"}
    del form["applicant"]
    with nothing_written():
        refused = client_for(world.citizen).post(_apply_url(version), form)
    assert refused.status_code == 400
    for material in version.materials.all():
        assert _described(refused, f"material-{material.pk}") == "所选文件未能保存，请重新选择。"


def _described(response, element_id: str) -> str:
    """What the element ``element_id`` is described by."""
    element = _element(response, "input", element_id)
    described = re.search(r'aria-describedby="([^"]+)"', element).group(1)
    return re.search(rf'id="{described}"[^>]*>([^<]*)<', response.content.decode()).group(1)


def test_a_draft_holds_an_unfinished_answer_but_is_not_submitted_with_it(
        world, client_for):
    """保存草稿 with a required answer not known yet saves the draft (and its files);
    the draft cannot be submitted until the answer is given, which its page
    leads back to the application form for."""
    version = _form_item(world)
    client = client_for(world.citizen)
    saved = client.post(_apply_url(version), {**_apply_form(world, version),
                                              "field_area": "", "action": "draft"})
    assert saved.status_code == 302
    case = Case.objects.get()
    assert (case.status, case.data) == (Case.Status.DRAFT, {"area": None})
    assert MaterialFile.objects.filter(case=case).count() == 2
    refused = client.post(f"/my/cases/{case.pk}/submit/", {}, follow=True)
    assert "申请信息尚未填写完整：请填写经营面积" in refused.content.decode()
    assert reload(case).status == Case.Status.DRAFT
    edit = re.search(r'href="([^"]+)" data-testid="edit-draft"',
                     refused.content.decode()).group(1).replace("&amp;", "&")
    page = client.get(edit)
    assert _hidden(page.content.decode(), "multipart/form-data")["key"] == case.idempotency_key
    done = client.post(_apply_url(version), {
        **_apply_form(world, version, key=case.idempotency_key,
                      files={"申请书": None, "营业执照": None}), "field_area": "80"})
    assert done["Location"] == f"/my/cases/{case.pk}/"
    assert reload(case).status == Case.Status.SUBMITTED


def test_a_draft_of_a_superseded_version_is_continued_on_the_version_in_force(
        world, client_for):
    """修改申请信息 continues a draft on the apply page, which offers the version in
    force.  A draft begun on a version superseded since is linked there too:
    the page carries its key, answers and files (as v2's materials of the same
    names), and sent, moves it onto v2 (services.case_create), where it can be
    submitted; its own page could not submit it, nothing given is lost."""
    version = _form_item(world)
    client = client_for(world.citizen)
    client.post(_apply_url(version), {**_apply_form(world, version, files={"营业执照": None}),
                                      "field_area": "80", "action": "draft"})
    case = Case.objects.get()
    assert 'data-testid="edit-draft"' in client.get(f"/my/cases/{case.pk}/").content.decode()
    v2 = publish_again(world, version, name="带表单的许可", materials=TWO_MATERIALS,
                       form_fields=version.form_fields, consultation="0755-12345678")
    page = client.get(f"/my/cases/{case.pk}/")
    assert page.status_code == 200
    assert f'?draft={case.pk}" data-testid="edit-draft"' in page.content.decode()

    form = client.get(f"{_apply_url(version)}?draft={case.pk}")

    assert form.status_code == 200
    hidden = _hidden(form.content.decode(), "multipart/form-data")
    assert (hidden["key"], hidden["version"]) == (case.idempotency_key, str(v2.pk))
    assert 'value="80"' in _element(form, "input", "f-area")
    again = {m.name: m.pk for m in v2.materials.all()}
    assert "申请书.pdf" in _described(form, f"material-{again['申请书']}")
    done = client.post(_apply_url(version), {
        **_apply_form(world, v2, key=case.idempotency_key, files={"申请书": None}),
        "version": str(v2.pk), "field_area": "80"})
    assert done["Location"] == f"/my/cases/{case.pk}/", _messages(done)
    case = reload(case)
    assert (case.status, case.item_version_id) == (Case.Status.SUBMITTED, v2.pk)
    assert sorted(MaterialFile.objects.filter(case=case).values_list("material_id", flat=True)
                  ) == sorted(again.values())


# --- a form opened before a new version of the item was published --------------------


TWO_MATERIALS = [{"name": "申请书", "forms": ["original"]},
                 {"name": "营业执照", "forms": ["copy"]}]


@pytest.mark.parametrize("names_version", [True, False])
def test_files_attached_before_a_new_version_is_published_are_not_dropped(
        world, client_for, names_version):
    """A citizen opens 在线申请 and attaches every material; meanwhile the agency
    publishes v2 (here only the consultation phone changed), whose materials are
    new rows.  The form's files are filed as v2's materials of the same names
    and the application goes through; a page without the hidden version (one
    opened before it had it) is known by the materials it names."""
    v1 = publish_item(world, materials=TWO_MATERIALS)
    client = client_for(world.citizen)
    page = client.get(_apply_url(v1)).content.decode()
    assert _hidden(page, "multipart/form-data")["version"] == str(v1.pk)
    form = _apply_form(world, v1) | ({"version": str(v1.pk)} if names_version else {})
    v2 = publish_again(world, v1, materials=TWO_MATERIALS, consultation="0755-12345678")

    response = client.post(_apply_url(v1), form)

    assert response.status_code == 302, _messages(response)
    case = Case.objects.get()
    assert (case.status, case.item_version_id) == (Case.Status.SUBMITTED, v2.pk)
    assert sorted(MaterialFile.objects.filter(case=case).values_list(
        "material__version_id", "material__name")) == sorted(
        (v2.pk, m["name"]) for m in TWO_MATERIALS)


def test_materials_changed_meanwhile_bring_the_form_back_with_the_files_kept(
        world, client_for):
    """v2 asks for a new material and drops none: the form is not submitted but
    comes back saying the item was updated, listing the files kept (filed on
    v2's materials of the same names), and the new material's input empty.
    Sent again with that file only, it goes through."""
    v1 = publish_item(world, materials=TWO_MATERIALS)
    client = client_for(world.citizen)
    form = _apply_form(world, v1) | {"version": str(v1.pk)}
    v2 = publish_again(world, v1, materials=[
        *TWO_MATERIALS, {"name": "场地证明", "forms": ["copy"]}])

    back = client.post(_apply_url(v1), form)

    assert back.status_code == 400
    text = back.content.decode()
    assert "事项已更新" in text
    assert "已保存的文件：申请书（申请书.pdf）、营业执照（营业执照.pdf）。" in text
    case = Case.objects.get()
    assert (case.status, case.item_version_id) == (Case.Status.DRAFT, v2.pk)
    assert event_types(case) == []
    for material in v2.materials.all():
        kept = MaterialFile.objects.filter(case=case, material=material).exists()
        assert kept is (material.name != "场地证明"), material.name
    assert _hidden(text, "multipart/form-data")["version"] == str(v2.pk)
    done = client.post(_apply_url(v1), {
        **_apply_form(world, v2, files={"申请书": None, "营业执照": None}),
        "version": str(v2.pk)})
    assert done["Location"] == f"/my/cases/{case.pk}/"
    assert reload(case).status == Case.Status.SUBMITTED


def test_a_refused_form_sent_again_after_a_new_version_goes_through(world, client_for):
    """提交申请 is refused for a missing material: the page files a draft (key K)
    with the file chosen and comes back with K.  Meanwhile the agency publishes
    v2 (only the consultation phone changed).  The applicant chooses the
    missing file and presses 提交申请 again: the form is of the item in force
    (its hidden version is v2), so it goes through, as a form opened before
    v2 does, rather than being refused for its key (cases.idempotency_key_reused,
    "请重新打开申请页面") with the page keeping the same key, so that pressing
    again could never succeed."""
    v1 = publish_item(world, materials=TWO_MATERIALS)
    client = client_for(world.citizen)
    first = {m.name: m.pk for m in v1.materials.all()}
    refused = client.post(_apply_url(v1), {
        "key": "K", "applicant": str(world.applicant.pk), "version": str(v1.pk),
        f"material_{first['申请书']}": SimpleUploadedFile("申请书.pdf", PDF)})
    assert refused.status_code == 400
    assert Case.objects.get().status == Case.Status.DRAFT

    v2 = publish_again(world, v1, materials=TWO_MATERIALS, consultation="0755-12345678")
    again = {m.name: m.pk for m in v2.materials.all()}
    form = {"key": "K", "applicant": str(world.applicant.pk), "version": str(v2.pk)}
    pressed = [client.post(_apply_url(v2), {
        **form, **{f"material_{again[name]}": SimpleUploadedFile(f"{name}.pdf", PDF)
                   for name in ("申请书", "营业执照")}}) for _try in range(2)]

    assert [r.status_code for r in pressed] != [400, 400], [
        re.findall(r'<div class="form-errors"[^>]*>(.*?)</div>', r.content.decode(), re.S)
        for r in pressed]
    assert Case.objects.filter(status=Case.Status.SUBMITTED, item_version=v2).count() == 1


def test_a_draft_drops_an_answer_it_refuses_and_says_so(world, client_for):
    """保存草稿 with a number typed in words keeps the draft without it and marks it."""
    version = _form_item(world, required=False)
    refused = client_for(world.citizen).post(
        _apply_url(version), {**_apply_form(world, version), "field_area": "八十",
                              "action": "draft"})
    assert refused.status_code == 400
    assert _at_field(refused, "input", "f-area") == "经营面积应为数字"
    assert Case.objects.get().data == {"area": None}


def test_a_draft_with_unfinished_answers_is_refused_by_the_service(world):
    """Submission checks the stored answers in full, whoever submits."""
    version = _form_item(world)
    case = services.case_create(actor=world.citizen, item_version=version,
                                applicant=world.applicant, data={"area": "x"},
                                unfinished=True)
    for material in version.materials.all():
        services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                                 upload=upload())
    with pytest.raises(ApplicationError) as refused:
        services.case_submit(actor=world.citizen, case=case)
    assert refused.value.fields["problems"] == {"area": "请填写经营面积"}


def test_the_draft_buttons_skip_the_browser_s_required_check(world, client_for):
    """保存草稿 submits the form whose answers are ``required``: without
    formnovalidate the browser would not send a draft with one left empty."""
    version = _form_item(world)
    client = client_for(world.citizen)
    page = client.get(_apply_url(version)).content.decode()
    assert "formnovalidate" in re.search(r'<button[^>]*value="draft"[^>]*>', page).group()
    case = services.case_create(actor=world.citizen, item_version=version,
                                applicant=world.applicant, unfinished=True)
    page = client.get(f"/my/cases/{case.pk}/").content.decode()
    assert "formnovalidate" in re.search(r'<button[^>]*value="draft"[^>]*>', page).group()


def test_a_text_answer_is_limited_and_a_standard_keeps_its_lines(world, client_for):
    """The input stops at the 500 characters an answer may have (a longer one is
    refused, not cut); a material's acceptance standard keeps its line breaks."""
    version = publish_item(world, name="带表单的许可",
                           materials=[{"name": "申请书", "forms": ["original"],
                                       "acceptance_standard": "一、签字\n二、盖章"}],
                           form_fields=[{"name": "scope", "label": "经营范围",
                                         "type": "text"}])
    client = client_for(world.citizen)
    page = client.get(_apply_url(version))
    assert 'maxlength="500"' in _element(page, "input", "f-scope")
    assert '<p class="help prewrap">一、签字\n二、盖章</p>' in page.content.decode()
    refused = client.post(_apply_url(version), {**_apply_form(world, version),
                                                "field_scope": "食" * 600})
    assert refused.status_code == 400
    assert _at_field(refused, "input", "f-scope") == "经营范围不能超过 500 个字"


def test_switching_to_large_text_keeps_the_answers_typed(world, client_for):
    """The display toggles send the apply form along (form=, formaction=): the page
    comes back in large text with the answers, the applicant and the key, and asks
    for the files chosen again, which a browser cannot keep."""
    version = _form_item(world)
    client = client_for(world.citizen)
    page = client.get(_apply_url(version)).content.decode()
    toggle = re.search(r'<button[^>]*data-testid="large-text"[^>]*>', page).group()
    assert all(a in toggle for a in ('form="application-form"', 'formaction="/display/"',
                                     "formnovalidate"))
    material = version.materials.get(name="申请书")
    with nothing_written():
        # As the browser sends it (formenctype url-encoded): a file input as
        # the name of the file chosen.
        switched = client.post("/display/", urlencode({
            "key": "k-typed", "applicant": world.applicant.pk,
            f"material_{material.pk}": "申请书.pdf",
            "field_area": "88", "large_text": "on", "next": _apply_url(version),
            "display_keeps_form": "1"}), content_type="application/x-www-form-urlencoded",
            follow=True)
    assert switched.redirect_chain == [(_apply_url(version), 302)]
    page = switched.content.decode()
    assert 'class="large-text"' in page
    assert 'value="88"' in _element(switched, "input", "f-area")
    assert _hidden(page, "multipart/form-data")["key"] == "k-typed"
    assert _described(switched, f"material-{material.pk}") == "所选文件未能保存，请重新选择。"
    # Once: the page loaded again is a fresh form.
    again = client.get(_apply_url(version))
    assert 'value=""' in _element(again, "input", "f-area")


def test_the_toggles_send_the_form_without_its_files_and_enter_still_submits(
        world, client_for):
    """The toggles name the apply form and come first in the page: a hidden button
    submitting the form to its own action comes before them, as Enter in an answer
    presses the form's first submit button (the browser test presses it).  They
    send the form url-encoded, not uploading files that cannot be kept: a chosen
    file then comes as its name, and is asked for again."""
    version = _form_item(world)
    client = client_for(world.citizen)
    page = client.get(_apply_url(version)).content.decode()
    default = re.search(r'<button[^>]*form="application-form"[^>]*>', page).group()
    assert "hidden" in default and "formaction" not in default and "name=" not in default
    assert page.index(default) < page.index('data-testid="large-text"')
    for testid in ("large-text", "high-contrast"):
        toggle = re.search(rf'<button[^>]*data-testid="{testid}"[^>]*>', page).group()
        assert 'formenctype="application/x-www-form-urlencoded"' in toggle
    material = version.materials.get(name="申请书")
    other = version.materials.get(name="营业执照")
    switched = client.post("/display/", {
        "key": "k-typed", "applicant": str(world.applicant.pk), "field_area": "88",
        f"material_{material.pk}": "申请书.pdf", f"material_{other.pk}": "",
        "large_text": "on", "next": _apply_url(version), "display_keeps_form": "1"},
        follow=True)
    assert _described(switched, f"material-{material.pk}") == "所选文件未能保存，请重新选择。"
    assert "aria-describedby" not in _element(switched, "input", f"material-{other.pk}")


def test_large_text_after_a_refusal_still_says_the_files_are_kept(world, client_for):
    """A refused answer keeps both scans in a draft.  大字模式 then sends the form
    along (no file chosen again: the browser emptied the inputs): the page comes
    back with the answers and the draft's key, and still says at each input that
    its scan is kept, not leading an elderly applicant to scan it again."""
    version = _form_item(world)
    client = client_for(world.citizen)
    refused = client.post(_apply_url(version),
                          {**_apply_form(world, version, key="k-1"), "field_area": "八十"})
    assert refused.status_code == 400
    switched = client.post("/display/", {
        "key": "k-1", "applicant": str(world.applicant.pk), "field_area": "八十",
        "large_text": "on", "next": _apply_url(version), "display_keeps_form": "1"},
        follow=True)
    assert 'class="large-text"' in switched.content.decode()
    assert _hidden(switched.content.decode(), "multipart/form-data")["key"] == "k-1"
    for material in version.materials.all():
        assert "无需再次选择" in _described(switched, f"material-{material.pk}")


def test_a_resent_form_with_a_changed_answer_leads_to_the_submitted_case(world, client_for):
    """Submitted, then back in the browser's history, an answer corrected and sent
    again: the page leads to the case submitted (where it can be withdrawn) and
    says so, rather than refusing a 请求编号 the applicant never saw."""
    version = _form_item(world)
    client = client_for(world.citizen)
    assert client.post(_apply_url(version), {**_apply_form(world, version),
                                             "field_area": "88"}).status_code == 302
    case = Case.objects.get()
    with nothing_written():
        again = client.post(_apply_url(version), {**_apply_form(world, version),
                                                  "field_area": "120"}, follow=True)
    assert again.redirect_chain == [(f"/my/cases/{case.pk}/", 302)]
    assert (f"该申请已提交（办件编号 {case.number}），如需更改请撤回后重新申请。"
            in _messages(again))
    assert reload(case).data == {"area": 88}


def test_a_draft_s_missing_material_is_marked_at_its_field(world, promised, client_for):
    """继续申请 refused for a missing material: the refusal is an alert (read out on
    load), and the material's input is marked and described, as on the apply page."""
    case = services.case_create(actor=world.citizen, item_version=promised,
                                applicant=world.applicant)
    missing = promised.materials.get(name="营业执照")
    page = client_for(world.citizen).post(f"/my/cases/{case.pk}/submit/", {}, follow=True)
    assert re.search(r'<p role="alert" class="message error">还缺少必要材料',
                     page.content.decode())
    assert _at_field(page, "input", f"draft-{missing.pk}") == "请上传此材料。"
    # Once: the page shown again is not marked.
    again = client_for(world.citizen).get(f"/my/cases/{case.pk}/")
    assert 'aria-invalid' not in _element(again, "input", f"draft-{missing.pk}")


def test_a_bad_file_on_the_page_is_refused_with_its_name(world, promised, client_for):
    """A text file posing as a PDF is reported; nothing is submitted."""
    client = client_for(world.citizen)
    url = f"/services/items/{promised.item.impl_code}/apply/"
    response = client.post(url, _apply_form(world, promised, files={"申请书": b"plain text"}))
    assert response.status_code == 400
    assert "申请书.pdf" in response.content.decode()
    assert Case.objects.get().status == Case.Status.DRAFT


def test_my_cases_and_the_case_page(world, promised, client_for):
    """/my/cases/ lists the case; its page shows the timeline and the days remaining."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    client = client_for(world.citizen)
    listing = client.get("/my/cases/").content.decode()
    assert case.number in listing and "办理中" in listing
    page = client.get(f"/my/cases/{case.pk}/").content.decode()
    assert 'data-testid="timeline"' in page
    assert "申请" in page and "受理" in page
    assert "剩余 10 个工作日" in page
    assert "剩余 20 个工作日" in page


def test_someone_elses_case_page_is_not_found(world, promised, client_for):
    """Another citizen, and staff on the applicant's page, get 404."""
    case, _code = submitted(world, promised)
    stranger, _applicant = another_citizen()
    assert client_for(stranger).get(f"/my/cases/{case.pk}/").status_code == 404
    assert client_for(world.user("b", Role.REVIEWER)).get(
        f"/workbench/cases/{case.pk}/").status_code == 404


def test_the_correction_form_reuploads_and_resubmits(world, promised, client_for):
    """The applicant sees the notice, sends the listed files, and the case resubmits."""
    from yizhan.cases import services

    case, _code = submitted(world, promised)
    material = promised.materials.get(name="营业执照")
    services.case_request_correction(actor=world.user("a", Role.WINDOW_CLERK),
                                     task=open_task(case),
                                     items=[{"material_id": material.pk, "problem": "已过期"}])
    client = client_for(world.citizen)
    page = client.get(f"/my/cases/{case.pk}/").content.decode()
    assert "营业执照：已过期" in page and 'data-testid="submit-correction"' in page
    # Without the file: an error, still under correction.
    client.post(f"/my/cases/{case.pk}/correct/", {})
    assert reload(case).status == Case.Status.CORRECTION
    response = client.post(f"/my/cases/{case.pk}/correct/",
                           {f"material_{material.pk}": SimpleUploadedFile("new.png", PNG)})
    assert response.status_code == 302
    assert reload(case).status == Case.Status.SUBMITTED
    assert event_types(case)[-1] == E.CORRECTION_SUBMITTED


# --- the staff workbench ----------------------------------------------------------------


def test_the_workbench_lists_the_inbox(world, promised, client_for):
    """/workbench/ lists the clerk's 受理 task with a link; B's clerk sees none."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    page = client_for(world.user("a", Role.WINDOW_CLERK)).get("/workbench/").content.decode()
    assert f"/workbench/tasks/{task.pk}/" in page and case.number in page
    other = client_for(world.user("b", Role.WINDOW_CLERK)).get("/workbench/").content.decode()
    assert case.number not in other


def test_the_workbench_needs_staff(world, client_for, client):
    """A citizen is refused; an anonymous visitor is sent to sign in."""
    assert client_for(world.citizen).get("/workbench/cases/").status_code == 403
    assert client.get("/workbench/cases/").status_code == 302


def test_the_clerk_accepts_on_the_task_page(world, promised, client_for):
    """The task page offers 受理; posting it accepts the case and returns to the workbench."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    page = clerk.get(f"/workbench/tasks/{task.pk}/").content.decode()
    assert 'data-testid="approve"' in page and 'data-testid="request-correction"' in page
    assert clerk.post(f"/workbench/tasks/{task.pk}/claim/").status_code == 302
    response = clerk.post(f"/workbench/tasks/{task.pk}/approve/", {"opinion": ""})
    assert response["Location"] == "/workbench/"
    case = reload(case)
    assert case.status == Case.Status.IN_PROGRESS
    assert event_types(case) == [E.SUBMITTED, E.TASK_CLAIMED, E.ACCEPTED, E.NOTIFIED]


def test_the_clerk_requests_a_correction_on_the_task_page(world, promised, client_for):
    """Ticking materials with their problems sends the one-time notice."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    first, second = promised.materials.filter(name__in=["申请书", "营业执照"]).order_by("order")
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    clerk.post(f"/workbench/tasks/{task.pk}/correction/", {
        f"listed_{first.pk}": "1", f"listed_{second.pk}": "1", f"problem_{first.pk}": "未签字",
        f"problem_{second.pk}": "已过期", "note": "请一并补正"})
    case = reload(case)
    assert case.status == Case.Status.CORRECTION
    assert [i["problem"] for i in case.correction.items] == ["未签字", "已过期"]


def test_a_problem_written_without_ticking_its_box_is_listed(world, promised, client_for):
    """The clerk writes what is wrong with two materials but ticks one box: the
    one-time notice (一次性告知) lists both, never drops what was written."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    first, second = promised.materials.filter(name__in=["申请书", "营业执照"]).order_by("order")
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    clerk.post(f"/workbench/tasks/{task.pk}/correction/", {
        f"listed_{first.pk}": "1", f"problem_{first.pk}": "未签字",
        f"problem_{second.pk}": "营业执照已过期"})
    case = reload(case)
    assert case.status == Case.Status.CORRECTION
    assert [(i["material_id"], i["problem"]) for i in case.correction.items] == [
        (first.pk, "未签字"), (second.pk, "营业执照已过期")]


def test_a_refused_correction_notice_keeps_what_the_clerk_typed(world, promised, client_for):
    """A material ticked with its problem left blank: the page comes back (400) with
    every problem and the note typed, the refusal at that material's field."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    first, second = promised.materials.filter(name__in=["申请书", "营业执照"]).order_by("order")
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    with nothing_written():
        response = clerk.post(f"/workbench/tasks/{task.pk}/correction/", {
            f"listed_{first.pk}": "1", f"listed_{second.pk}": "1",
            f"problem_{first.pk}": "申请书第三页未签字",
            f"problem_{second.pk}": "", "note": "请于十日内补正"})
    assert response.status_code == 400
    page = lxml.html.fromstring(response.content.decode())
    [problem] = page.xpath(f"//textarea[@id='problem-{first.pk}']")
    assert problem.text == "申请书第三页未签字"
    assert page.xpath("//textarea[@id='note']")[0].text == "请于十日内补正"
    assert "checked" in _element(response, "input", f"fixm-{second.pk}")
    assert "营业执照" in _at_field(response, "textarea", f"problem-{second.pk}")
    assert 'aria-invalid' not in _element(response, "textarea", f"problem-{first.pk}")


def test_a_refusal_without_reasons_is_shown_at_the_opinion_field(world, promised, client_for):
    """不予受理 without reasons: the message is tied to the opinion field."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    response = clerk.post(f"/workbench/tasks/{task.pk}/reject/", {"opinion": " "})
    assert response.status_code == 400
    assert "须写明理由" in _at_field(response, "textarea", "opinion")


def test_a_refused_return_keeps_the_page_s_other_forms_on_the_task_page(
        world, promised, client_for):
    """退回 without reasons comes back at the action's address: the page's other
    forms (暂停计时) still return to the task page, not to the action."""
    case = accepted(world, promised)
    task = open_task(case)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    response = reviewer.post(f"/workbench/tasks/{task.pk}/return/", {"opinion": ""})
    assert response.status_code == 400
    assert "退回须写明理由" in _at_field(response, "textarea", "opinion")
    assert f'name="next" value="/workbench/tasks/{task.pk}/"' in response.content.decode()


def test_a_stale_acceptance_page_does_not_accept_files_it_never_showed(
        world, promised, client_for):
    """Clerk A opens the acceptance page; colleague B sends the correction notice
    and the applicant resubmits with new files.  A's old page, posted now, is
    refused and A is told to look again; the page shown next acts."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    clerk_a = client_for(world.user("a", Role.WINDOW_CLERK))
    page = clerk_a.get(f"/workbench/tasks/{task.pk}/").content.decode()
    form = _hidden(page, 'id="task-form"')
    assert form["version"] == str(task.version)
    clerk_b = colleague(world, "a", Role.WINDOW_CLERK, "clerk.b")
    first = promised.materials.get(name="申请书")
    services.case_request_correction(actor=clerk_b, task=task, items=[
        {"material_id": first.pk, "problem": "未签字"}])
    services.material_upload(actor=world.citizen, case=reload(case), material_id=first.pk,
                             upload=upload(b"%PDF-1.4\n% another file\n%%EOF\n"))
    services.case_correct(actor=world.citizen, case=reload(case))
    with nothing_written():
        response = clerk_a.post(f"/workbench/tasks/{task.pk}/approve/",
                                {**form, "opinion": ""}, follow=True)
    assert reload(case).status == Case.Status.SUBMITTED
    assert _messages(response) == ["该环节已有变化，请刷新页面查看后再办理。"]
    form = _hidden(response.content.decode(), 'id="task-form"')
    clerk_a.post(f"/workbench/tasks/{task.pk}/approve/", {**form, "opinion": ""})
    assert reload(case).status == Case.Status.IN_PROGRESS


def test_a_stale_page_keeps_the_opinion_that_was_typed(world, promised, client_for):
    """The reviewer writes a reasoned refusal on a page that went stale (a colleague
    claimed the step and gave it back meanwhile).  The refusal is the page again,
    409, with the opinion kept and the version now current: sent again, it acts."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    task = open_task(case, "review")
    reviewer = client_for(world.user("a", Role.REVIEWER))
    # 不同意 is a button of the 同意 form, which carries the version.
    page = reviewer.get(f"/workbench/tasks/{task.pk}/").content.decode()
    form = _hidden(page, 'id="task-form"')
    other = colleague(world, "a", Role.REVIEWER, "reviewer.b")
    services.task_release(actor=other, task=services.task_claim(actor=other, task=task))
    opinion = "经审查，申请人提交的营业执照经营范围不含本项许可所需内容，建议不予许可。"
    with nothing_written():
        response = reviewer.post(f"/workbench/tasks/{task.pk}/reject/",
                                 {**form, "opinion": opinion})
    assert response.status_code == 409
    assert reload(case).status == Case.Status.IN_PROGRESS
    assert _messages(response) == ["该环节已有变化，请刷新页面查看后再办理。"]
    assert re.search(r'<textarea id="opinion"[^>]*>([^<]*)</textarea>',
                     response.content.decode()).group(1) == opinion
    again = _hidden(response.content.decode(), 'id="task-form"')
    assert again["version"] == str(open_task(case, "review").version) != form["version"]
    reviewer.post(f"/workbench/tasks/{task.pk}/reject/", {**again, "opinion": opinion})
    assert reload(case).events.get(type=E.REVIEWED).data["opinion"] == opinion


def test_the_claimer_gives_the_task_back_on_the_task_page(world, promised, client_for):
    """签收 by mistake: the page offers 解除签收, and the task is back in the post's
    inbox, where a colleague sees it."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    assert 'data-testid="release"' not in clerk.get(f"/workbench/tasks/{task.pk}/").content.decode()
    clerk.post(f"/workbench/tasks/{task.pk}/claim/")
    page = clerk.get(f"/workbench/tasks/{task.pk}/").content.decode()
    assert "解除签收" in page and 'data-testid="release"' in page
    other = client_for(colleague(world, "a", Role.WINDOW_CLERK, "clerk.b"))
    assert f"/workbench/tasks/{task.pk}/" not in other.get("/workbench/").content.decode()
    response = clerk.post(f"/workbench/tasks/{task.pk}/release/")
    assert response["Location"] == f"/workbench/tasks/{task.pk}/"
    assert open_task(case).status == "open"
    assert event_types(case)[-1] == E.TASK_RELEASED
    assert f"/workbench/tasks/{task.pk}/" in other.get("/workbench/").content.decode()


def test_the_release_button_reads_as_an_action_in_english(world, promised, client_for):
    """解除签收 is both the button and the event's label; the button has its own
    msgid (context "button"), so in English it does not read "Claim released",
    as if already done."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    clerk.post(f"/workbench/tasks/{task.pk}/claim/")
    page = clerk.get(f"/workbench/tasks/{task.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    button = re.search(r'<button type="submit" data-testid="release">([^<]*)</button>', page)
    assert button, page
    assert button.group(1) != "Claim released"


def test_a_refusal_without_reasons_on_the_page_is_shown_not_done(world, promised, client_for):
    """不予受理 with an empty opinion returns to the task page with the message."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    with nothing_written():
        response = clerk.post(f"/workbench/tasks/{task.pk}/reject/", {"opinion": ""},
                              follow=True)
    assert "须写明理由" in response.content.decode()
    assert reload(case).status == Case.Status.SUBMITTED


def test_the_reviewer_approves_on_the_task_page(world, promised, client_for):
    """The reviewer's 同意 completes the review and opens the decision."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    task = open_task(case)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    page = reviewer.get(f"/workbench/tasks/{task.pk}/").content.decode()
    assert "同意" in page and 'data-testid="request-correction"' not in page
    reviewer.post(f"/workbench/tasks/{task.pk}/approve/", {"opinion": "材料齐全"})
    assert open_task(case).name == "decide"
    assert reload(case).events.get(type=E.REVIEWED).data["opinion"] == "材料齐全"


@pytest.mark.parametrize("role", [Role.WINDOW_CLERK, Role.REVIEWER])
def test_another_agencys_task_page_is_not_found(world, promised, client_for, role):
    """B's staff cannot open or act on A's task."""
    case, _code = submitted(world, promised)
    task = open_task(case)
    client = client_for(world.user("b", role))
    assert client.get(f"/workbench/tasks/{task.pk}/").status_code == 404
    with nothing_written():
        assert client.post(f"/workbench/tasks/{task.pk}/approve/").status_code == 404


def test_the_agency_case_list(world, promised, client_for):
    """/workbench/cases/ lists the agency's cases and filters by status."""
    case, _code = submitted(world, promised)
    client = client_for(world.user("a", Role.REVIEWER))
    assert case.number in client.get("/workbench/cases/").content.decode()
    assert case.number not in client.get("/workbench/cases/?status=closed").content.decode()
    assert case.number not in client_for(world.user("b", Role.REVIEWER)).get(
        "/workbench/cases/").content.decode()


def test_the_agency_case_list_pages_keep_the_filter(world, promised, client_for, monkeypatch):
    """The pager's links keep the query as it came (every value of a repeated
    name, names with signs); the pages hold every case once."""
    monkeypatch.setattr("yizhan.directory.pages.PAGE_SIZE", 2)
    numbers = {submitted(world, promised)[0].number for _ in range(3)}
    client = client_for(world.user("a", Role.REVIEWER))
    first = client.get("/workbench/cases/", {"status": "submitted"}).content.decode()
    assert 'href="?status=submitted&amp;page=2"' in first
    repeated = client.get("/workbench/cases/?status=submitted&k=1&k=2&a%26b=c").content.decode()
    assert 'href="?status=submitted&amp;k=1&amp;k=2&amp;a%26b=c&amp;page=2"' in repeated
    second = client.get("/workbench/cases/", {"status": "submitted", "page": 2})
    shown = [n for n in numbers if n in first] + [n for n in numbers
                                                  if n in second.content.decode()]
    assert sorted(shown) == sorted(numbers)


def test_the_agency_case_list_finds_a_case_by_its_number_or_applicant(
        world, promised, client_for):
    """The applicant at the counter gives the case number (or its beginning, in
    full-width digits too) or their name; blank or over-long searches are ignored,
    and another agency's case is never found."""
    one, _code = submitted(world, promised)
    other, _code = submitted(world, promised)
    client = client_for(world.user("a", Role.WINDOW_CLERK))

    def listed(**query):
        page = client.get("/workbench/cases/", query).content.decode()
        return {case.number for case in (one, other) if f">{case.number}</a>" in page}

    page = client.get("/workbench/cases/", {"q": one.number}).content.decode()
    assert '<label for="q">' in page and f'value="{one.number}"' in page
    assert listed(q=one.number) == {one.number}
    full_width = one.number.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    assert listed(q=full_width) == {one.number}
    assert listed(q=one.number[:10]) == {one.number, other.number}
    assert listed(q=world.applicant.name[:1]) == {one.number, other.number}
    assert listed(q="不存在的申请人") == set()
    assert listed(q=" ") == listed(q="9" * 101) == {one.number, other.number}
    assert listed(q=one.number, status="closed") == set()
    assert f">{one.number}</a>" not in client_for(world.user("b", Role.WINDOW_CLERK)).get(
        "/workbench/cases/", {"q": one.number}).content.decode()


@pytest.mark.django_db
def test_a_draft_is_saved_and_submitted_later(world, promised, client_for):
    """保存草稿 keeps the application unsubmitted; the case page finishes it."""
    from yizhan.cases.models import Case

    client = client_for(world.citizen)
    code = promised.item.impl_code
    first = promised.materials.get(order=1)
    response = client.post(f"/services/items/{code}/apply/", {
        "key": "draft-1", "applicant": world.applicant.pk, "action": "draft",
        f"material_{first.pk}": SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n")})
    case = Case.objects.get(idempotency_key="draft-1")
    assert response.status_code == 302 and case.status == Case.Status.DRAFT
    page = client.get(f"/my/cases/{case.pk}/").content.decode()
    assert "继续申请" in page and "a.pdf" in page
    second = promised.materials.get(order=2)
    client.post(f"/my/cases/{case.pk}/submit/", {
        f"material_{second.pk}": SimpleUploadedFile("b.pdf", b"%PDF-1.4\n%%EOF\n")})
    case.refresh_from_db()
    assert case.status == Case.Status.SUBMITTED and case.number


def test_the_window_records_a_fee_on_the_task_page(world, client_for):
    """A fee charged on the page is an event; a bad fee id is a message on the page, not a 500."""
    from tests.supervision.helpers import fee_item

    version = fee_item(world, amount="80")
    case, _code = submitted(world, version)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    task = open_task(case, "accept")
    page = clerk.get(f"/workbench/tasks/{task.pk}/").content.decode()
    assert "记录收费" in page and "登记费" in page
    with nothing_written():
        refused = clerk.post(f"/workbench/tasks/{task.pk}/fee/", {"fee_id": "abc",
                                                                 "amount": "80"}, follow=True)
    assert refused.status_code == 400
    assert "该事项没有这个收费项目" in refused.content.decode()
    assert 'aria-describedby="fee_id-error"' in _element(refused, "select", "fee_id")
    assert 'value="80"' in _element(refused, "input", "amount")
    done = clerk.post(f"/workbench/tasks/{task.pk}/fee/",
                      {"fee_id": version.fees.get().pk, "amount": "80", "note": "现场缴费"})
    assert done.status_code == 302
    assert E.FEE_CHARGED in event_types(case)


def _fee_form(world, client_for):
    """A case of an item with an 80-yuan fee waiting for acceptance, and its
    clerk's 记录收费 form as the task page shows it:
    ``(version, case, clerk's client, task, the form's address, its fields)``."""
    from tests.supervision.helpers import fee_item

    version = fee_item(world, amount="80")
    case, _code = submitted(world, version)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    task = open_task(case, "accept")
    url = f"/workbench/tasks/{task.pk}/fee/"
    form = _hidden(clerk.get(f"/workbench/tasks/{task.pk}/").content.decode(), f'{url}"')
    return version, case, clerk, task, url, form


def test_a_double_click_on_record_fee_records_the_fee_once(world, client_for):
    """The same 记录收费 form posted twice (a double click, a retry) records one
    charge, not two (which would also raise two alerts for supervision); the form
    shown again records a second charge."""
    version, case, clerk, task, url, form = _fee_form(world, client_for)
    assert form["key"]
    form.update({"fee_id": version.fees.get().pk, "amount": "80", "note": "现场缴费"})
    for _click in range(2):
        assert clerk.post(url, form).status_code == 302
    assert event_types(case).count(E.FEE_CHARGED) == 1
    again = _hidden(clerk.get(f"/workbench/tasks/{task.pk}/").content.decode(), f'{url}"')
    assert again["key"] != form["key"]
    clerk.post(url, {**form, "key": again["key"]})
    assert event_types(case).count(E.FEE_CHARGED) == 2


def test_the_fee_form_is_offered_only_where_a_charge_is_taken(world, client_for):
    """A paused case takes no fee (selectors.fee_refusal), so its task page
    offers no 记录收费; a fee sent from a page left open before the pause is
    refused and told why, what was typed shown to be copied, not lost."""
    from tests.supervision.helpers import fee_item

    version = fee_item(world, amount="80")
    case = accepted(world, version)
    task = open_task(case, "review")
    reviewer = client_for(world.user("a", Role.REVIEWER))
    url = f"/workbench/tasks/{task.pk}/"
    assert "记录收费" in reviewer.get(url).content.decode()
    services.case_suspend(actor=world.user("a", Role.AGENCY_HEAD), case=reload(case),
                          reason="expert_review", note="专家评审")
    page = lxml.html.fromstring(reviewer.get(url).content.decode())
    assert not page.xpath("//input[@id='amount']") and "记录收费" not in page.text_content()
    with nothing_written():
        sent = reviewer.post(f"{url}fee/", {"fee_id": version.fees.get().pk,
                                            "amount": "80", "note": "现场缴费"})
    assert sent.status_code == 409
    assert "办件当前状态下不能收费。" in _messages(sent)
    doc = lxml.html.fromstring(sent.content.decode())
    assert not doc.xpath("//input[@id='amount']")
    kept = {doc.xpath(f"//label[@for='{t.get('id')}']")[0].text_content(): t.text
            for t in doc.xpath("//*[@data-testid='unsent']//textarea")}
    assert kept == {"收费项目": "登记费", "实收金额（元，减免填 0）": "80", "备注": "现场缴费"}


def test_a_refused_fee_keeps_the_amount_and_note_typed(world, client_for):
    """Refused at its amount (a fraction of a fen) or as a whole (its key
    already used for another charge), the fee form comes back with the fee,
    amount and note as typed; the key refused is replaced, so that the form
    sent again is the other charge the message offers to record."""
    version, case, clerk, _task, url, form = _fee_form(world, client_for)
    form.update({"fee_id": version.fees.get().pk, "amount": "0.004", "note": "现场缴费"})
    with nothing_written():
        refused = clerk.post(url, form)
    assert refused.status_code == 400
    assert _at_field(refused, "input", "amount") == "金额应为不小于 0 的数字，最多两位小数。"
    assert 'value="0.004"' in _element(refused, "input", "amount")
    assert 'value="现场缴费"' in _element(refused, "input", "fee-note")
    assert _hidden(refused.content.decode(), f'action="{url}"')["key"] == form["key"]
    assert clerk.post(url, {**form, "amount": "80"}).status_code == 302
    with nothing_written():
        reused = clerk.post(url, {**form, "amount": "40", "note": "补收"})
    assert reused.status_code == 409
    assert any("该请求编号已用于本办件的另一笔收费" in m for m in _messages(reused))
    assert 'value="40"' in _element(reused, "input", "amount")
    assert 'value="补收"' in _element(reused, "input", "fee-note")
    assert f'value="{form["fee_id"]}" selected' in reused.content.decode()
    again = _hidden(reused.content.decode(), f'action="{url}"')
    assert again["key"] != form["key"]
    assert clerk.post(url, {**form, **again, "amount": "40", "note": "补收"}).status_code == 302
    assert event_types(case).count(E.FEE_CHARGED) == 2


def test_the_display_toggles_of_a_refused_form_return_to_its_page(world, client_for):
    """A refused form is answered at the action's address, which takes no GET:
    大字模式 used there sent the browser back to it, and it answered 405.  The
    toggles return to the task page (or the case page) itself."""
    _version, case, clerk, task, url, form = _fee_form(world, client_for)
    refused = clerk.post(url, {**form, "amount": "0.004"})
    assert refused.status_code == 400
    toggle = _hidden(refused.content.decode(), 'action="/display/"')
    assert toggle["next"] == f"/workbench/tasks/{task.pk}/"
    landed = clerk.post("/display/", {"next": toggle["next"], "large_text": "on"}, follow=True)
    assert landed.status_code == 200 and landed.redirect_chain[-1][0] == toggle["next"]
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    reviewer = client_for(world.user("a", Role.REVIEWER))
    refused = reviewer.post(f"/workbench/cases/{case.pk}/suspend/", {"reason": "inspection"})
    assert refused.status_code == 400
    assert _hidden(refused.content.decode(), 'action="/display/"')["next"] == (
        f"/workbench/cases/{case.pk}/")


def test_a_double_click_on_the_task_page_lands_on_the_result(world, promised, client_for):
    """一次性告知 and then 同意, each clicked twice (both posts carrying the page's
    version): the second click lands where the first did, with its message, not
    on "办件当前状态下不能告知补正" or "该环节已办理或已取消"; each is recorded once."""
    case, _code = submitted(world, promised)
    task = open_task(case, "accept")
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    page = clerk.get(f"/workbench/tasks/{task.pk}/").content.decode()
    material = promised.materials.get(name="营业执照")
    correction = {**_hidden(page, 'id="task-form"'),
                  f"listed_{material.pk}": "1", f"problem_{material.pk}": "已过期",
                  "note": "请补正"}
    for _click in range(2):
        response = clerk.post(f"/workbench/tasks/{task.pk}/correction/", correction,
                              follow=True)
        assert response.redirect_chain == [("/workbench/", 302)]
        assert _messages(response) == ["已一次性告知申请人补正。"]
    services.material_upload(actor=world.citizen, case=reload(case), material_id=material.pk,
                             upload=upload(PNG, "营业执照.png"))
    services.case_correct(actor=world.citizen, case=reload(case))
    page = clerk.get(f"/workbench/tasks/{task.pk}/").content.decode()
    approval = {**_hidden(page, 'id="task-form"'), "opinion": "齐全"}
    for _click in range(2):
        response = clerk.post(f"/workbench/tasks/{task.pk}/approve/", approval, follow=True)
        assert response.redirect_chain == [("/workbench/", 302)]
        assert _messages(response) == ["已办理。"]
    assert event_types(case).count(E.CORRECTION_REQUESTED) == 1
    assert event_types(case).count(E.ACCEPTED) == 1


def test_a_double_click_on_the_case_page_lands_on_the_result(world, promised, client_for):
    """暂停计时, 恢复计时 and 延期, each clicked twice: the second click shows what the
    first did, not "只有办理中的办件可以暂停计时" or "只能延长一次"."""
    case = accepted(world, promised)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    for client, action, form, said in (
            (reviewer, "suspend", {"reason": "hearing", "note": "举行听证"}, "已暂停计时。"),
            (reviewer, "resume", {}, "已恢复计时，期限已顺延。"),
            (head, "extend", {"workdays": "5", "reason": "需补充现场核查"}, "已延长办理期限。")):
        for _click in range(2):
            response = client.post(f"/workbench/cases/{case.pk}/{action}/", form, follow=True)
            assert response.redirect_chain == [(f"/workbench/cases/{case.pk}/", 302)]
            assert _messages(response) == [said], action
    assert [event_types(case).count(t) for t in (E.SUSPENDED, E.RESUMED, E.EXTENDED)] == [
        1, 1, 1]


def test_the_applicant_and_the_reviewer_download_a_material(world, promised, client_for):
    """The stored bytes come back as an attachment to whoever may see the case."""
    case, _code = submitted(world, promised)
    record = MaterialFile.objects.filter(case=case, replaced=False).first()
    stored = record.file.open("rb").read()
    for user in (world.citizen, world.user("a", Role.REVIEWER)):
        response = client_for(user).get(f"/files/{record.pk}/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == stored
        assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(("content", "name", "served", "saved_as"), [
    # Checked to be a PDF: never served as the HTML its name says.
    (b"%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n", "申请书.html",
     "application/pdf", "申请书.pdf"),
    (PNG, "scan.pdf", "image/png", "scan.png"),
])
def test_a_material_is_served_as_the_type_its_content_was_checked_to_be(
        world, promised, client_for, content, name, served, saved_as):
    """The uploader's file name decides neither the type nor the extension."""
    from urllib.parse import quote

    case = draft(world, promised, files=False)
    record = services.material_upload(
        actor=world.citizen, case=case,
        material_id=promised.materials.get(order=1).pk, upload=upload(content, name))
    response = client_for(world.citizen).get(f"/files/{record.pk}/")
    assert response["Content-Type"] == served
    assert quote(saved_as) in response["Content-Disposition"]


def test_who_downloads_a_material(world, client_for):
    """The applicant and staff of the lead and of a joint agency holding a task get
    it, as an attachment with nosniff; another applicant and an unrelated agency's
    staff get 404."""
    from tests.cases.helpers import accepted_parallel, add_agency

    case, _third, staff = accepted_parallel(world)
    record = MaterialFile.objects.filter(case=case, replaced=False).first()
    url = f"/files/{record.pk}/"
    stranger, _applicant = another_citizen()
    _unrelated, unrelated_staff = add_agency(world, "戊局", credit_seed=505)
    for user in (world.citizen, world.user("a", Role.REVIEWER), staff[Role.REVIEWER]):
        response = client_for(user).get(url)
        assert response.status_code == 200, user
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
    for user in (stranger, unrelated_staff[Role.REVIEWER]):
        assert client_for(user).get(url).status_code == 404, user


def test_a_jpeg_named_html_is_saved_as_jpg(world, promised, client_for):
    from tests.cases.helpers import JPEG

    case = draft(world, promised, files=False)
    record = services.material_upload(actor=world.citizen, case=case,
                                      material_id=promised.materials.get(name="申请书").pk,
                                      upload=upload(JPEG, "photo.html"))
    response = client_for(world.citizen).get(f"/files/{record.pk}/")
    assert response["Content-Type"] == "image/jpeg"
    assert "photo.jpg" in response["Content-Disposition"]


def _kept_from_before(case, material, name: str, *, replaced: bool, at) -> MaterialFile:
    """A row as uploads before this version left them (replaced in the draft and
    kept, or named with control characters), with its stored file."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from yizhan.core.crypto import sm3_hex

    content = PDF.replace(b"Catalog", b"Catalog /Lang (" + name.encode("unicode_escape") + b")")
    stored = default_storage.save(f"cases/{case.pk}/{sm3_hex(content)}", ContentFile(content))
    return MaterialFile.objects.create(
        case=case, material=material, file=stored, original_name=name,
        content_type="application/pdf", size=len(content), digest=sm3_hex(content),
        uploaded_by=case.submitted_by, uploaded_at=at, replaced=replaced)


def test_a_file_replaced_before_submission_is_not_handed_to_staff(world, promised, client_for):
    """The wrong file, replaced in the draft before submitting, was never part of
    the application: staff neither see it listed nor download it ("Staff do not
    see a draft, nor its files, until it is submitted"), also for a row kept from
    before replaced draft files were deleted."""
    from datetime import timedelta

    from django.utils import timezone

    material = promised.materials.get(name="申请书")
    case = draft(world, promised, files=False)
    replaced_now = services.material_upload(
        actor=world.citizen, case=case, material_id=material.pk,
        upload=upload(PDF.replace(b"Catalog", b"Catalog /N 1"), "别人的身份证.pdf"))
    kept = _kept_from_before(case, material, "别人的户口本.pdf", replaced=True,
                             at=timezone.now() - timedelta(minutes=5))
    for other in promised.materials.all():
        services.material_upload(actor=world.citizen, case=case, material_id=other.pk,
                                 upload=upload())
    services.case_submit(actor=world.citizen, case=case)
    for user in (world.user("a", Role.WINDOW_CLERK), world.citizen):
        client = client_for(user)
        for record in (replaced_now, kept):
            assert client.get(f"/files/{record.pk}/").status_code == 404
        page = client.get(f"/workbench/cases/{case.pk}/" if user != world.citizen
                          else f"/my/cases/{case.pk}/").content.decode()
        assert "别人的身份证" not in page and "别人的户口本" not in page
        assert "申请书.pdf" in page


def test_a_file_replaced_during_a_correction_stays_marked_replaced(world, promised, client_for):
    """What the applicant submitted stays on the record: replaced under a correction
    notice, it is listed as 已被替换 and can still be downloaded."""
    from tests.cases.helpers import PNG

    case, _code = submitted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    material = promised.materials.get(name="申请书")
    first = MaterialFile.objects.get(case=case, material=material)
    services.case_request_correction(actor=clerk, task=open_task(case, "accept"),
                                     items=[{"material_id": material.pk, "problem": "模糊"}])
    services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                             upload=upload(PNG, "申请书.png"))
    client = client_for(clerk)
    page = client.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert "（已被替换）" in page
    assert client.get(f"/files/{first.pk}/").status_code == 200


def test_a_right_to_left_override_in_a_file_name_is_not_shown_to_staff(world, promised,
                                                                       client_for):
    """"合同\u202egpj.exe" reads 合同exe.jpg on the page: neither a name cleaned on
    upload nor one kept from before shows a bidirectional override, on the page
    or in the downloaded file's name."""
    from datetime import timedelta

    from django.utils import timezone

    case = draft(world, promised)
    record = services.material_upload(actor=world.citizen, case=case,
                                      material_id=promised.materials.get(name="补充说明").pk,
                                      upload=upload(PDF.replace(b"Catalog", b"Catalog /N 1"),
                                                    "合同\u202egpj.exe"))
    case, _code = services.case_submit(actor=world.citizen, case=case)
    old = _kept_from_before(case, promised.materials.get(name="营业执照"), "执照\u202efdp.exe",
                            replaced=False, at=timezone.now() + timedelta(seconds=1))
    assert "\u202e" not in record.original_name
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    page = client.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert "\u202e" not in page
    assert "合同gpj.pdf" in page and "执照fdp.pdf" in page
    response = client.get(f"/files/{old.pk}/")
    assert "%E2%80%AE" not in response["Content-Disposition"]
    assert "\u202e" not in response["Content-Disposition"]


def test_a_file_lost_from_storage_is_not_found(world, promised, client_for):
    """A stored file gone (a storage move, a restore) is a 404, not a server error."""
    from django.core.files.storage import default_storage

    case, _code = submitted(world, promised)
    record = MaterialFile.objects.filter(case=case, replaced=False).first()
    default_storage.delete(record.file.name)
    response = client_for(world.citizen).get(f"/files/{record.pk}/")
    assert response.status_code == 404


# --- the clock, the extension and the certificate from the staff pages -------------


def test_the_reviewer_stops_and_restarts_the_clock_on_the_task_page(world, promised,
                                                                    client_for):
    """暂停计时 for an appraisal from the task page, back to it; then 恢复计时."""
    case = accepted(world, promised)
    task = open_task(case)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    page = reviewer.get(f"/workbench/tasks/{task.pk}/").content.decode()
    assert 'data-testid="suspend"' in page and 'value="appraisal"' in page
    assert 'data-testid="extend"' not in page   # the head's approval
    response = reviewer.post(f"/workbench/cases/{case.pk}/suspend/", {
        "reason": "appraisal", "note": "房屋安全鉴定，鉴定机构出具报告前",
        "next": f"/workbench/tasks/{task.pk}/"})
    assert response["Location"] == f"/workbench/tasks/{task.pk}/"
    case = reload(case)
    assert (case.status, case.pause_reason) == (Case.Status.SUSPENDED, "appraisal")
    page = reviewer.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert "鉴定" in page and 'data-testid="resume"' in page
    assert 'data-testid="suspend"' not in page
    reviewer.post(f"/workbench/cases/{case.pk}/resume/")
    assert reload(case).status == Case.Status.IN_PROGRESS
    assert event_types(case)[-4:] == [E.SUSPENDED, E.NOTIFIED, E.RESUMED, E.NOTIFIED]


def test_a_pause_without_a_lawful_reason_is_shown_not_done(world, promised, client_for):
    case = accepted(world, promised)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    with nothing_written():
        response = reviewer.post(f"/workbench/cases/{case.pk}/suspend/",
                                 {"reason": "holiday", "note": "负责人休假"}, follow=True)
    assert "暂停计时须为法定事由：听证、招标、拍卖" in response.content.decode()
    assert reload(case).status == Case.Status.IN_PROGRESS


def test_the_lawful_reasons_are_listed_in_the_page_s_language(world, promised, client_for):
    """In English, the list of lawful reasons is joined as English lists are."""
    case = accepted(world, promised)
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    with nothing_written():
        response = head.post(f"/workbench/cases/{case.pk}/suspend/",
                             {"reason": "bogus", "note": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    (message,) = _messages(response)
    assert "Hearing" in message and "、" not in message


def test_a_refused_extension_keeps_what_the_head_typed(world, promised, client_for):
    """The head types the reason and mistypes the days (15): the case page comes
    back (400) with both kept and the refusal at the days."""
    case = accepted(world, promised)
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    reason = "需组织专家现场核查，无法在期限内作出决定"
    with nothing_written():
        response = head.post(f"/workbench/cases/{case.pk}/extend/",
                             {"workdays": "15", "reason": reason})
    assert response.status_code == 400
    assert f">{reason}</textarea>" in response.content.decode()
    assert 'value="15"' in _element(response, "input", "extend-days")
    assert "1 至 10" in _at_field(response, "input", "extend-days")
    assert (f'name="next" value="/workbench/cases/{case.pk}/"'
            in response.content.decode())


def test_a_refused_pause_on_the_task_page_comes_back_to_the_task_page(
        world, promised, client_for):
    """暂停计时 from the task page without its note: the task page, not the case
    page, comes back with the reason chosen."""
    case = accepted(world, promised)
    task = open_task(case)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    response = reviewer.post(f"/workbench/cases/{case.pk}/suspend/", {
        "reason": "appraisal", "note": " ", "next": f"/workbench/tasks/{task.pk}/"})
    assert response.status_code == 400
    assert 'data-testid="approve"' in response.content.decode()
    assert _at_field(response, "textarea", "pause-note")
    assert re.search(r'<option value="appraisal" selected>', response.content.decode())


def test_the_head_extends_once_on_the_case_page(world, promised, client_for):
    """延期 needs the head; a second extension is refused with the reason shown."""
    case = accepted(world, promised)
    before = case.statutory_due
    reviewer = client_for(world.user("a", Role.REVIEWER))
    with nothing_written():
        assert reviewer.post(f"/workbench/cases/{case.pk}/extend/",
                             {"workdays": "5", "reason": "需补充现场核查"}).status_code == 302
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    assert 'data-testid="extend"' in head.get(f"/workbench/cases/{case.pk}/").content.decode()
    head.post(f"/workbench/cases/{case.pk}/extend/", {"workdays": "5", "reason": "需补充现场核查"})
    case = reload(case)
    assert case.extension_workdays == 5 and case.statutory_due > before
    page = head.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert "法定期限已延长 5 个工作日" in page and 'data-testid="extend"' not in page
    with nothing_written():
        response = head.post(f"/workbench/cases/{case.pk}/extend/",
                             {"workdays": "3", "reason": "再延"}, follow=True)
    assert "只能延长一次" in response.content.decode()


@pytest.mark.parametrize("workdays", ["0", "11", "五", "", "²"])
def test_a_bad_extension_is_shown_not_done(world, promised, client_for, workdays):
    case = accepted(world, promised)
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    with nothing_written():
        response = head.post(f"/workbench/cases/{case.pk}/extend/",
                             {"workdays": workdays, "reason": "需补充现场核查"}, follow=True)
    assert "延长期限为 1 至 10 个工作日" in response.content.decode()


def test_another_agencys_staff_cannot_stop_the_clock(world, promised, client_for):
    case = accepted(world, promised)
    with nothing_written():
        response = client_for(world.user("b", Role.AGENCY_HEAD)).post(
            f"/workbench/cases/{case.pk}/suspend/", {"reason": "hearing", "note": "听证"})
    assert response.status_code == 404


def test_the_head_revokes_the_certificate_on_the_case_page(
        world, promised, client_for, django_capture_on_commit_callbacks):
    """注销证照 with a reason; the verification page then says so."""
    from yizhan.cases.models import Certificate

    case = accepted(world, promised)
    complete(world.user("a", Role.REVIEWER), case, "review")
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    certificate = Certificate.objects.get(case=case)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    assert 'data-testid="revoke"' not in reviewer.get(
        f"/workbench/cases/{case.pk}/").content.decode()
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    with nothing_written():
        head.post(f"/workbench/cases/{case.pk}/revoke/", {"reason": " "})
    head.post(f"/workbench/cases/{case.pk}/revoke/", {"reason": "被许可人以欺骗手段取得"})
    certificate.refresh_from_db()
    assert certificate.revoked_at is not None
    assert certificate.revoke_reason == "被许可人以欺骗手段取得"
    assert "已注销" in head.get(f"/verify/{certificate.verify_token}/").content.decode()


@pytest.mark.parametrize("path", ["suspend", "resume", "extend", "revoke", "delete"])
def test_a_case_action_needs_a_post_and_staff(world, promised, client_for, path):
    case = accepted(world, promised)
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    assert head.get(f"/workbench/cases/{case.pk}/{path}/").status_code == 405
    citizen = client_for(world.citizen)
    with nothing_written():
        assert citizen.post(f"/workbench/cases/{case.pk}/{path}/").status_code in (403, 404)


def test_an_outside_next_is_not_followed(world, promised, client_for):
    case = accepted(world, promised)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    response = reviewer.post(f"/workbench/cases/{case.pk}/suspend/", {
        "reason": "hearing", "note": "申请人申请听证", "next": "https://evil.example/"})
    assert response["Location"] == f"/workbench/cases/{case.pk}/"


# --- withdrawing from the applicant's page -------------------------------------------


def test_the_applicant_withdraws_before_the_decision(world, promised, client_for):
    case = accepted(world, promised)
    citizen = client_for(world.citizen)
    page = citizen.get(f"/my/cases/{case.pk}/").content.decode()
    assert 'data-testid="withdraw"' in page
    response = citizen.post(f"/my/cases/{case.pk}/withdraw/", {"reason": "店址变更，另行申请"})
    assert response["Location"] == f"/my/cases/{case.pk}/"
    case = reload(case)
    assert (case.status, case.outcome_reason) == (Case.Status.WITHDRAWN, "店址变更，另行申请")
    assert not case.tasks.filter(status__in=["open", "claimed"]).exists()
    assert 'data-testid="withdraw"' not in citizen.get(f"/my/cases/{case.pk}/").content.decode()
    # Sent again (a double click, a lost answer): withdrawn it is, nothing more
    # is written, and it is not told the case "has been decided".
    with nothing_written():
        response = citizen.post(f"/my/cases/{case.pk}/withdraw/", follow=True)
    assert "申请已撤回" in response.content.decode()
    assert "不能撤回" not in response.content.decode()


def test_another_citizen_cannot_withdraw(world, promised, client_for):
    case = accepted(world, promised)
    other, _applicant = another_citizen()
    with nothing_written():
        assert client_for(other).post(f"/my/cases/{case.pk}/withdraw/").status_code == 404
    assert reload(case).status == Case.Status.IN_PROGRESS


def test_my_cases_page_reaches_every_case_page_by_page(world, promised, client_for):
    """Fifty a page, with links to the next and back."""
    from yizhan.cases import services as case_services

    for number in range(51):
        case_services.case_create(actor=world.citizen, item_version=promised,
                                  applicant=world.applicant, idempotency_key=f"k{number}")
    client = client_for(world.citizen)
    first = client.get("/my/cases/").content.decode()
    second = client.get("/my/cases/", {"page": 2}).content.decode()
    assert first.count("/my/cases/") - second.count("/my/cases/") == 49
    assert 'href="?page=2"' in first and 'href="?page=1"' in second


# --- the correction notice: answered at the window, marked, printed ----------------

def _notice(world, case, version, names=("申请书",), note=""):
    return services.case_request_correction(
        actor=world.user("a", Role.WINDOW_CLERK), task=open_task(case),
        items=[{"material_id": version.materials.get(name=name).pk, "problem": "缺少签名"}
               for name in names], note=note)


def _correction_section(page: str) -> str:
    section = page[page.index('id="correction-title"'):]
    return section[:section.index("</section>")]


def test_the_workbench_takes_in_a_walk_in_applicant_s_correction(world, promised,
                                                                  client_for):
    """The applicant without an account brings the corrected material to the
    window: the staff case page has the correction form, and a clerk of the
    accepting agency (not only the one who filed) sends it from there."""
    case, _code = walk_in_case(world, promised)
    material = promised.materials.get(name="申请书")
    _notice(world, case, promised)
    clerk = client_for(colleague(world, "a", Role.WINDOW_CLERK, "a.clerk2"))
    page = clerk.get(f"/workbench/cases/{case.pk}/").content.decode()
    section = _correction_section(page)
    assert f'name="material_{material.pk}"' in section
    assert f'action="/workbench/cases/{case.pk}/correct/"' in section
    response = clerk.post(f"/workbench/cases/{case.pk}/correct/", {
        f"material_{material.pk}": SimpleUploadedFile("签字版.png", PNG)}, follow=True)
    assert response.redirect_chain == [(f"/workbench/cases/{case.pk}/", 302)]
    assert _messages(response) == ["补正材料已提交。"]
    assert reload(case).status == Case.Status.SUBMITTED
    # Sent again (a double click): nothing failed, nothing more is written.
    with nothing_written():
        again = clerk.post(f"/workbench/cases/{case.pk}/correct/", follow=True)
    assert _messages(again) == ["补正材料已提交。"]


def test_the_workbench_does_not_correct_for_an_applicant_with_an_account(world, promised,
                                                                          client_for):
    """An applicant with an account corrects on their own page: the window's
    case page has no form for them, and its post is refused."""
    case, _code = submitted(world, promised)
    material = promised.materials.get(name="申请书")
    _notice(world, case, promised)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    page = clerk.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert f'name="material_{material.pk}"' not in page
    with nothing_written():
        response = clerk.post(f"/workbench/cases/{case.pk}/correct/", {
            f"material_{material.pk}": SimpleUploadedFile("a.png", PNG)})
    assert response.status_code == 404


def test_the_case_page_shows_no_template_comment(world, promised, client_for):
    """A ``{# #}`` comment spans one line only: a two-line one is printed on the
    page, for applicants and staff alike."""
    case, _code = submitted(world, promised)
    for user, url in ((world.citizen, f"/my/cases/{case.pk}/"),
                      (world.user("a", Role.WINDOW_CLERK), f"/workbench/cases/{case.pk}/")):
        page = client_for(user).get(url).content.decode()
        assert "{#" not in page and "#}" not in page, url
        assert "a refusal tells the applicant of their remedies" not in page, url


def test_the_correction_form_shows_what_was_already_sent_again(world, promised, client_for):
    """The applicant who re-uploaded one of two listed materials (the other refused,
    or sent from another device) sees at each material what is already in, as
    the draft's form marks each file; the file the notice found fault with is
    not taken for an answer."""
    case, _code = submitted(world, promised)
    _notice(world, case, promised, names=("申请书", "营业执照"), note="请一次性补正")
    services.material_upload(actor=world.citizen, case=reload(case),
                             material_id=promised.materials.get(name="申请书").pk,
                             upload=upload(PNG, "签字版申请书.png"))
    page = client_for(world.citizen).get(f"/my/cases/{case.pk}/").content.decode()
    section = _correction_section(page)
    assert "请一次性补正" in section
    sent = re.findall(r'data-testid="correction-sent">([^<]*)<', section)
    assert sent == ["签字版申请书.png"]
    assert section.index("签字版申请书.png") < section.index("营业执照")


def test_the_correction_notice_prints_on_one_page(world, promised, client_for):
    """补正材料通知书: what the SMS sends the walk-in applicant to the window for,
    printed there; with the agency, case, applicant, item, date, every
    material and problem, the note, where to bring them and the law."""
    case, _code = walk_in_case(world, promised)
    notice = _notice(world, case, promised, names=("申请书", "营业执照"),
                     note="另需携带身份证原件")
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    for url in (f"/workbench/cases/{case.pk}/", f"/workbench/tasks/{open_task(case).pk}/"):
        page = clerk.get(url).content.decode()
        assert f'href="/cases/{case.pk}/correction-notice/"' in page, url
    response = clerk.get(f"/cases/{case.pk}/correction-notice/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "portal/print.css" in page and "site.css" not in page
    text = " ".join(lxml.html.fromstring(page).text_content().split())
    for expected in ("补正材料通知书", world.agency_a.name, case.number, "王五",
                     promised.name, timezone.localtime(notice.issued_at).strftime("%Y-%m-%d"),
                     "申请书", "营业执照", "缺少签名", "另需携带身份证原件",
                     f"请携带上述补正材料到{world.agency_a.name}受理窗口办理", "第三十二条"):
        assert expected in text, expected


def test_the_correction_notice_says_where_and_when_to_bring_the_materials(world, client_for):
    """An applicant sent to the window is told where it is and when it is open,
    as the item's guide says (办理地点, 办理时间)."""
    version = publish_item(world, name="窗口事项", handling_place="市民中心A区2楼3号窗口",
                           handling_hours="工作日 9:00—12:00，14:00—18:00")
    case, _code = walk_in_case(world, version)
    _notice(world, case, version)
    page = client_for(world.user("a", Role.WINDOW_CLERK)).get(
        f"/cases/{case.pk}/correction-notice/").content.decode()
    text = " ".join(lxml.html.fromstring(page).text_content().split())
    assert "办理地点：市民中心A区2楼3号窗口" in text
    assert "办理时间：工作日 9:00—12:00，14:00—18:00" in text


def test_the_applicant_prints_their_correction_notice(world, promised, client_for):
    """The applicant with an account prints it from their case page, which says
    they may also upload; no notice, nothing to print."""
    case, _code = submitted(world, promised)
    citizen = client_for(world.citizen)
    assert citizen.get(f"/cases/{case.pk}/correction-notice/").status_code == 404
    _notice(world, case, promised)
    page = citizen.get(f"/my/cases/{case.pk}/").content.decode()
    assert f'href="/cases/{case.pk}/correction-notice/"' in _correction_section(page)
    printed = citizen.get(f"/cases/{case.pk}/correction-notice/").content.decode()
    assert "请登录平台上传上述补正材料后一次性提交" in printed


def test_only_the_accepting_agency_and_the_applicant_print_the_notice(world, client_for):
    """A joint agency's reviewer sees the case but gives no notice; another
    citizen sees nothing of it."""
    from tests.cases.helpers import add_agency

    _third, staff = add_agency(world, "丙局", credit_seed=303)
    version = publish_item(world, name="并联许可", process_template="parallel",
                           joint_agencies=[world.agency_b.name, "丙局"])
    case, _code = submitted(world, version)
    _notice(world, case, version)
    material = version.materials.get(name="申请书")
    services.material_upload(actor=world.citizen, case=reload(case), material_id=material.pk,
                             upload=upload(PNG))
    services.case_correct(actor=world.citizen, case=reload(case))
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    url = f"/cases/{case.pk}/correction-notice/"
    assert client_for(world.user("a", Role.REVIEWER)).get(url).status_code == 200
    joint = client_for(staff[Role.REVIEWER])
    assert joint.get(f"/workbench/cases/{case.pk}/").status_code == 200
    assert joint.get(url).status_code == 404
    other, _applicant = another_citizen()
    assert client_for(other).get(url).status_code == 404


def test_the_apply_page_offers_only_applicants_the_item_serves(world, client_for):
    """张三 registered his company (a legal person) beside himself.  An item that
    serves legal persons only (服务对象: 法人, as most business licences) must not
    offer — let alone pre-select — 张三 as a natural person: the service refuses
    that application (cases.applicant) after he has scanned and attached every
    material, and the files he chose are gone.  The window's page offers only
    the kinds the item serves (docs/cases.md); the applicant's page does too,
    and to someone registered as none of them it says so instead of a form."""
    from tests.factories import valid_credit_code
    from yizhan.directory import services as directory_services

    company = directory_services.applicant_register(
        actor=world.citizen, kind="legal", name="张记餐饮有限公司",
        credit_code=valid_credit_code(909), legal_rep_name="张三", for_self=True)
    version = publish_item(world, name="法人许可", service_objects=["legal"])
    url = f"/services/items/{version.item.impl_code}/apply/"

    page = client_for(world.citizen).get(url).content.decode()
    offered = {value: "checked" in tag for tag, value in
               ((m.group(0), m.group(1)) for m in re.finditer(
                   r'<input type="radio" name="applicant" value="(\d+)"[^>]*>', page))}
    assert offered == {str(company.pk): True}

    person, _applicant = another_citizen()
    page = client_for(person).get(url).content.decode()
    assert "该事项不受理自然人的申请。" in page and 'name="applicant"' not in page
