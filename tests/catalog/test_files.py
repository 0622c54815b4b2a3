"""Blank forms, samples and result samples: uploaded to a draft, served with the guide.

Files are kept once per content (sha256) under catalog/<sha[:2]>/<sha>.<ext>;
materials and versions refer to them by digest and by the name their editor
gave the file, through the same content dict as every other field, so a
copied version keeps both.  A file is served under a name only while a
version the requester may see refers to it under that name: the public
sees it while a published current version of an active agency's item does.
"""

import io
import json
import re
import struct
import uuid
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from openpyxl import Workbook

from tests.cases.helpers import run_together, stored_files
from tests.catalog.helpers import (
    FORM_NAME,
    attach,
    audit_actions,
    create,
    digest,
    editor,
    file_url,
    nothing_written,
    pdf_bytes,
    public_item,
    publish,
    published,
    reviewer,
    uploaded,
)
from tests.factories import item_content
from tests.markers import postgres_only
from yizhan import demo
from yizhan.accounts.models import User
from yizhan.audit.models import AuditRecord
from yizhan.cases import uploads
from yizhan.cases.uploads import CATALOG_FILES, check_upload
from yizhan.catalog import services, transfer
from yizhan.catalog.actions import CatalogAction
from yizhan.catalog.content import VersionDataError, clean_version_data
from yizhan.catalog.models import CatalogFile, ItemVersion
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory import services as directory_services

pytestmark = pytest.mark.django_db

BASE = "/api/v1/catalog"


def _zip(entries: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in entries.items():
            package.writestr(name, data)
    return buffer.getvalue()


def _docx(extra: dict | None = None) -> bytes:
    return _zip({"[Content_Types].xml": f"<Types id='{uuid.uuid4()}'/>",
                 "word/document.xml": "<w:document/>", **(extra or {})})


def _xlsx() -> bytes:
    book = Workbook()
    book.active["A1"] = f"登记表 {uuid.uuid4()}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Compound files (MS-CFB v3, as .doc and .xls are): FAT sector marks, and NOSTREAM
# for a directory entry without a sibling or a child.
END, FREE, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _header(*, fat_count, first_dir, first_difat, difat_count, difat):
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<5H", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<9I", 0, fat_count, first_dir, 0, 4096, END, 0,
                            first_difat, difat_count)
              + struct.pack("<109I", *difat))
    assert len(header) == 512
    return header


def _entry(name: str, kind: int, *, child=NOSTREAM, right=NOSTREAM, start=END,
           size=0) -> bytes:
    raw = name.encode("utf-16-le") + b"\0\0"
    return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", NOSTREAM, right, child) + b"\0" * 36
            + struct.pack("<IQ", start, size))


def _compound(stream: str = "WordDocument", data: bytes = b"", *, storage: str = "") -> bytes:
    """A compound file holding one 4 KiB stream in sectors 2..9, ``data`` padded with
    zeros (bytes no other test stores when none), and an empty ``storage`` beside it
    if named: what Word (``WordDocument``) or Excel (``Workbook``) would keep."""
    content = data.ljust(4096, b"\0") if data else uuid.uuid4().bytes * 256
    fat = [FATSECT, END, *range(3, 10), END]
    fat += [FREE] * (128 - len(fat))
    entries = [_entry("Root Entry", 5, child=1),
               _entry(stream, 2, right=2 if storage else NOSTREAM, start=2,
                      size=len(content))]
    if storage:
        entries.append(_entry(storage, 1))
    header = _header(fat_count=1, first_dir=1, first_difat=END, difat_count=0,
                     difat=[0] + [FREE] * 108)
    return (header + struct.pack("<128I", *fat) + b"".join(entries).ljust(512, b"\0")
            + content)


def _names(version) -> list[tuple]:
    """(blank form name, sample name) of each material, then the result sample's."""
    version = ItemVersion.objects.get(pk=version.pk)
    return [(m.blank_form_file_name, m.sample_file_name) for m in version.materials.all()] \
        + [version.result_sample_file_name]


# --- attaching -------------------------------------------------------------------


def test_a_blank_form_is_stored_once_by_its_content_and_named_on_the_material(world):
    draft = create(world)
    content = pdf_bytes("blank")
    version = attach(world, draft, content, name="食品经营许可申请书.pdf")
    sha = digest(content)
    material = version.materials.get()
    assert (material.blank_form_file, material.blank_form_file_name) == (
        sha, "食品经营许可申请书.pdf")
    record = CatalogFile.objects.get()
    assert record.sha256 == sha
    assert record.file.name == f"catalog/{sha[:2]}/{sha}.pdf"
    assert default_storage.open(record.file.name).read() == content
    assert (record.content_type, record.size) == ("application/pdf", len(content))
    assert record.uploaded_by == editor(world)
    assert audit_actions("catalog.itemversion", draft.pk)[-1] == CatalogAction.FILE_ATTACHED

    # The same bytes as the result sample, under another name: one file, two names.
    before = stored_files()
    attach(world, draft, content, kind="result_sample", name="另一个名字.pdf")
    assert CatalogFile.objects.count() == 1 and stored_files() == before
    assert ItemVersion.objects.get(pk=draft.pk).result_sample_file == sha
    assert _names(draft) == [("食品经营许可申请书.pdf", ""), "另一个名字.pdf"]


def test_the_checked_type_names_the_file_never_the_uploader(world):
    """A PDF called 申请书.docx is 申请书.pdf; folders and control characters are dropped."""
    draft = create(world)
    attach(world, draft, pdf_bytes("named"), name="..\\temp/申请\x07书.docx")
    assert draft.materials.get().blank_form_file_name == "申请书.pdf"
    assert CatalogFile.objects.get().content_type == "application/pdf"


@pytest.mark.parametrize("make, content_type, extension", [
    (_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     ".docx"),
    (_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    (_compound, "application/msword", ".doc"),
    (lambda: _compound("Workbook"), "application/vnd.ms-excel", ".xls"),
], ids=["docx", "xlsx", "doc", "xls"])
def test_word_and_excel_forms_are_accepted_by_their_content(world, make, content_type,
                                                            extension):
    draft = create(world)
    attach(world, draft, make(), name="表格.bin")
    assert CatalogFile.objects.get().content_type == content_type
    assert draft.materials.get().blank_form_file_name == "表格" + extension


@pytest.mark.parametrize("content, words", [
    (b"<html><script>alert(1)</script></html>", "类型不被接受"),
    (_zip({"payload.exe": b"MZ"}), "类型不被接受"),
    (_compound("PowerPoint Document"), "类型不被接受"),
    (_docx({"word/vbaProject.bin": b"macro"}), "含有宏"),
    (_compound(storage="Macros"), "含有宏"),
    (pdf_bytes("cut").replace(b"%%EOF", b""), "不完整"),
    (_compound()[:-2048], "不完整"),
], ids=["html", "zip", "ppt", "docm", "doc-macros", "truncated-pdf", "truncated-doc"])
def test_a_refused_upload_leaves_nothing_behind(world, content, words):
    draft = create(world)
    files = stored_files()
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        attach(world, draft, content, name="申请书.pdf")
    assert words in exc.value.render()
    assert stored_files() == files


@override_settings(YIZHAN_MAX_UPLOAD_BYTES=1024)
def test_a_file_above_the_limit_is_refused_413(world):
    draft = create(world)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        attach(world, draft, pdf_bytes("big") + b"0" * 2048)
    assert exc.value.http_status == 413


def test_only_the_draft_s_editors_attach_and_only_to_a_draft(world):
    draft = create(world)
    stranger = editor(world, "b")
    files = stored_files()
    with nothing_written(), pytest.raises(PermissionDenied):
        services.item_file_attach(actor=stranger, version=draft, kind="blank_form",
                                  material_order=1, upload=uploaded(pdf_bytes("stranger")))
    for kind, order in (("blank_form", 2), ("sample", "x"), ("manual", 1)):
        with nothing_written(), pytest.raises(InvalidInput):
            services.item_file_attach(actor=editor(world), version=draft, kind=kind,
                                      material_order=order, upload=uploaded(pdf_bytes("where")))
    version = publish(world, draft)
    with nothing_written(), pytest.raises(Conflict):
        attach(world, version, pdf_bytes("published"))
    assert stored_files() == files


def test_a_file_stored_before_a_refusal_under_the_lock_is_removed(world, monkeypatch):
    """The file is stored before the draft is written; when that write fails the
    file stored by the call goes, and no row is left."""
    draft = create(world)
    files = stored_files()

    def refuse(**kwargs):
        raise Conflict()

    monkeypatch.setattr(services, "audit_append", refuse)
    with nothing_written(), pytest.raises(Conflict):
        attach(world, draft, pdf_bytes("rolled back"))
    assert stored_files() == files


def test_a_file_is_removed_from_the_draft_and_kept_for_others(world):
    content = pdf_bytes("detach")
    version = attach(world, create(world), content)
    version = services.item_file_detach(actor=editor(world), version=version,
                                        kind="blank_form", material_order=1)
    assert _names(version) == [("", ""), ""]
    assert version.materials.get().blank_form_file == ""
    assert CatalogFile.objects.filter(sha256=digest(content)).exists()
    assert audit_actions("catalog.itemversion", version.pk)[-1] == CatalogAction.FILE_DETACHED
    with nothing_written(), pytest.raises(PermissionDenied):
        services.item_file_detach(actor=editor(world, "b"), version=version,
                                  kind="blank_form", material_order=1)


def test_who_attached_a_file_may_not_publish_the_version(world):
    """A file is content: the officer who attached it is one of the version's editors."""
    draft = create(world)
    services.item_file_attach(actor=reviewer(world), version=draft, kind="result_sample",
                              upload=uploaded(pdf_bytes("own")))
    services.item_version_submit(actor=editor(world), version=draft)
    with pytest.raises(PermissionDenied):
        services.item_version_publish(actor=reviewer(world), version=draft)


# --- the content dict -------------------------------------------------------------


def test_a_file_sent_again_under_another_name_renames_it_on_the_draft(world):
    content = pdf_bytes("renamed")
    draft = attach(world, create(world), content, name="附件1.pdf")
    attach(world, draft, content, name="附件1.pdf")   # a page reloaded: nothing new
    attach(world, draft, content, name="开业申请书.pdf")
    assert _names(draft) == [("开业申请书.pdf", ""), ""]
    changes = [r.changes for r in AuditRecord.objects.filter(
        object_type="catalog.itemversion", object_id=str(draft.pk),
        action=CatalogAction.FILE_ATTACHED).order_by("at", "id")]
    assert [c["file"] for c in changes] == [["", "附件1.pdf"], ["附件1.pdf", "开业申请书.pdf"]]
    assert changes[1]["sha256"] == [digest(content), digest(content)]


def test_the_next_version_keeps_the_files_and_edits_may_send_them_back(world):
    content, result = pdf_bytes("copied"), pdf_bytes("result")
    version = attach(world, create(world), content, name="申请书（空白）.pdf")
    version = attach(world, version, result, kind="result_sample", name="许可证样本.pdf")
    first = publish(world, version)
    second = services.item_version_draft(actor=editor(world), item=first.item)
    assert second.materials.get().blank_form_file == digest(content)
    assert second.result_sample_file == digest(result)
    assert _names(second) == [("申请书（空白）.pdf", ""), "许可证样本.pdf"]
    data = item_content(result_sample_file=digest(result).upper(),
                        result_sample_file_name="许可证样本.pdf",
                        materials=[{"name": "申请书", "blank_form_file": digest(content),
                                    "blank_form_file_name": "申请书（空白）.pdf"}])
    edited = services.item_version_edit(actor=editor(world), version=second, data=data)
    assert edited.result_sample_file == digest(result)
    assert _names(edited) == [("申请书（空白）.pdf", ""), "许可证样本.pdf"]


def test_an_edit_names_a_file_as_an_upload_is_named(world):
    """A name sent with the content is cleaned as an uploaded file's is (no folders, no
    control characters, the extension of the file's checked type); a file sent without
    a name takes the material's (the result's), and a name without a file is dropped."""
    form, result = pdf_bytes("form"), _docx()
    draft = attach(world, create(world), form)
    draft = attach(world, draft, result, kind="result_sample", name="样本.docx")
    data = item_content(
        result_name="食品经营许可证", result_sample_file=digest(result),
        materials=[{"name": "申请书", "blank_form_file": digest(form),
                    "blank_form_file_name": "C:\\草稿\\营业\u200b执照申请表.docx",
                    "sample_file_name": "没有文件.pdf"},
                   {"name": "委托书", "sample_file": digest(form)}])
    edited = services.item_version_edit(actor=editor(world), version=draft, data=data)
    assert _names(edited) == [("营业执照申请表.pdf", ""), ("", "委托书.pdf"),
                              "食品经营许可证.docx"]
    with pytest.raises(VersionDataError) as exc:
        clean_version_data(item_content(materials=[
            {"name": "申请书", "blank_form_file": digest(form),
             "blank_form_file_name": "申请\x07书.pdf"}]), agency=world.agency_a)
    assert [p["field"] for p in exc.value.fields["problems"]] == [
        "materials[1].blank_form_file_name"]


def test_a_reference_to_a_file_never_uploaded_is_refused_field_by_field(world):
    missing = "0" * 64
    with pytest.raises(VersionDataError) as exc:
        clean_version_data(item_content(
            result_sample_file=missing,
            materials=[{"name": "申请书", "sample_file": "not-a-digest"}]),
            agency=world.agency_a)
    problems = {p["field"]: p["problem"] for p in exc.value.fields["problems"]}
    assert problems == {
        "materials[1].sample_file": "示例样表：找不到文件“not-a-digest”，请重新上传",
        "result_sample_file": f"结果样本：找不到文件“{missing}”，请重新上传",
    }


# --- downloading -------------------------------------------------------------------


def test_the_guide_links_the_blank_form_and_anyone_downloads_it(world):
    version, content = public_item(world, materials=[
        {"name": "食品经营许可申请书", "blank_form": "食品经营许可申请书.pdf"},
        {"name": "授权委托书", "blank_form": "窗口领取"}])
    page = Client().get(f"/services/items/{version.item.impl_code}/").content.decode()
    url = file_url(content, FORM_NAME)
    assert url == f"/services/files/{digest(content)}/" + (
        "%E9%A3%9F%E5%93%81%E7%BB%8F%E8%90%A5%E8%AE%B8%E5%8F%AF%E7%94%B3%E8%AF%B7%E4%B9%A6.pdf")
    assert (f'空白表格：<a href="{url}" aria-label="下载空白表格：食品经营许可申请书.pdf"'
            in page)
    assert "空白表格：窗口领取" in page   # no file: the text as before
    printable = Client().get(f"/services/items/{version.item.impl_code}/?print=1")
    assert url in printable.content.decode()

    response = Client().get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E9%A3%9F%E5%93%81%E7%BB%8F%E8%90%A5%E8%AE%B8%E5%8F%AF"
        "%E7%94%B3%E8%AF%B7%E4%B9%A6.pdf")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "public" in response["Cache-Control"] and "immutable" in response["Cache-Control"]


def test_a_copy_held_by_the_browser_is_confirmed_without_the_bytes_while_shown(world):
    _version, content = public_item(world, materials=[
        {"name": "食品经营许可申请书", "blank_form": "食品经营许可申请书.pdf"}])
    url = file_url(content, FORM_NAME)
    etag = Client().get(url)["ETag"]
    again = Client().get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and "immutable" in again["Cache-Control"]
    assert Client().get(url, headers={"If-None-Match": '"other"'}).status_code == 200

    directory_services.agency_update(actor=world.admin, agency=world.agency_a,
                                     is_active=False)
    assert Client().get(url, headers={"If-None-Match": etag}).status_code == 404


def test_a_draft_s_file_is_seen_only_by_those_who_see_the_draft(world, client_for):
    content = pdf_bytes("draft only")
    attach(world, create(world), content)
    url = file_url(content, "申请书.pdf")
    assert Client().get(url).status_code == 404
    assert client_for(world.citizen).get(url).status_code == 404
    assert client_for(editor(world, "b")).get(url).status_code == 404
    mine = client_for(editor(world)).get(url)
    assert mine.status_code == 200
    assert "no-store" in mine["Cache-Control"] and "public" not in mine["Cache-Control"]


def test_a_draft_s_file_is_not_served_to_a_head_of_a_who_is_only_a_clerk_of_b(world,
                                                                              client_for):
    """As the draft itself (version_get_for_editor): B's draft is 404 to A's head
    who also holds a window post in B, and so is its blank form (it was served,
    since any post that saw agency B would do)."""
    from yizhan.directory.roles import Role

    content = pdf_bytes("b draft")
    draft_b = create(world, "乙局的草稿", key="b")
    services.item_file_attach(actor=editor(world, "b"), version=draft_b, kind="blank_form",
                              material_order=1, upload=uploaded(content, "内部草稿表.pdf"))
    head = editor(world)
    directory_services.staff_post(actor=world.admin, user=head,
                                  post=world.posts["b"][Role.WINDOW_CLERK])
    head = client_for(User.objects.get(pk=head.pk))
    url = file_url(content, "内部草稿表.pdf")
    assert head.get(f"/workbench/catalog/versions/{draft_b.pk}/").status_code == 404
    assert head.get(url).status_code == 404
    assert client_for(editor(world, "b")).get(url).status_code == 200


def test_a_file_leaves_the_public_with_its_item(world):
    """Superseded by a version without it, or its agency closed: no longer served."""
    version, content = public_item(world)
    url = file_url(content, FORM_NAME)
    assert Client().get(url).status_code == 200
    directory_services.agency_update(actor=world.admin, agency=world.agency_a,
                                     is_active=False)
    assert Client().get(url).status_code == 404
    directory_services.agency_update(actor=world.admin, agency=world.agency_a,
                                     is_active=True)
    draft = services.item_version_draft(actor=editor(world), item=version.item)
    services.item_file_detach(actor=editor(world), version=draft, kind="blank_form",
                              material_order=1)
    publish(world, draft)
    assert Client().get(url).status_code == 404
    assert Client().get(f"/services/files/{'f' * 64}/{FORM_NAME}").status_code == 404


def test_a_blank_form_link_from_before_a_new_version_leads_back_to_the_guide(world):
    """The guide was open (or bookmarked, or printed) when v2 replaced the blank
    form: the old address says the form was updated and leads to the guide for
    the new one, rather than a bare 找不到所请求的对象，或您无权查看。"""
    v1, content = public_item(world)
    draft = services.item_version_draft(actor=editor(world), item=v1.item)
    attach(world, draft, pdf_bytes("v2"), name="食品经营许可申请书（2026版）.pdf")
    publish(world, draft)

    response = Client().get(file_url(content, FORM_NAME))

    assert response.status_code == 404
    page = response.content.decode()
    assert "该文件已更新，请打开办事指南下载最新版本。" in page
    assert f'href="/services/items/{v1.item.impl_code}/"' in page


def test_an_old_form_of_an_item_no_longer_offered_is_plainly_not_found(world):
    """Only an item still in the public catalog is pointed to: not one whose
    agency closed, nor bytes no version ever offered under that name."""
    v1, content = public_item(world)
    draft = services.item_version_draft(actor=editor(world), item=v1.item)
    attach(world, draft, pdf_bytes("v2"), name="新表.pdf")
    publish(world, draft)
    directory_services.agency_update(actor=world.admin, agency=world.agency_a,
                                     is_active=False)

    for url in (file_url(content, FORM_NAME), file_url(content, "别的名字.pdf")):
        response = Client().get(url)
        assert response.status_code == 404
        assert "该文件已更新" not in response.content.decode()


def test_each_item_shows_and_serves_the_name_its_editor_gave_the_file(world, client_for):
    """The same standard form (bytes downloaded from the ministry) uploaded by two
    agencies under their own names: agency B's guide links it, and its download is
    saved, as B named it; what agency A's draft calls it is served to no one but A."""
    content = pdf_bytes("shared form")
    mine = create(world, "甲局事项")
    services.item_file_attach(actor=editor(world), version=mine, kind="blank_form",
                              material_order=1,
                              upload=uploaded(content, "附件1-张三修改稿.pdf"))
    theirs = create(world, "乙局事项", key="b")
    services.item_file_attach(actor=editor(world, "b"), version=theirs, kind="blank_form",
                              material_order=1, upload=uploaded(content, "营业执照申请表.pdf"))
    version = publish(world, theirs, key="b")
    assert CatalogFile.objects.filter(sha256=digest(content)).count() == 1

    page = Client().get(f"/services/items/{version.item.impl_code}/").content.decode()
    assert f'<a href="{file_url(content, "营业执照申请表.pdf")}"' in page
    assert "营业执照申请表.pdf" in page and "张三修改稿" not in page
    guide = Client().get(f"{BASE}/items/{version.item.impl_code}").json()
    assert guide["materials"][0]["blank_form_file_name"] == "营业执照申请表.pdf"
    assert guide["materials"][0]["blank_form_url"] == file_url(content, "营业执照申请表.pdf")

    theirs_download = Client().get(file_url(content, "营业执照申请表.pdf"))
    assert theirs_download.status_code == 200
    assert theirs_download["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7%E7%94%B3%E8%AF%B7"
        "%E8%A1%A8.pdf")
    draft_name = file_url(content, "附件1-张三修改稿.pdf")
    for who in (None, world.citizen, editor(world, "b")):
        assert client_for(who).get(draft_name).status_code == 404
    mine_download = client_for(editor(world)).get(draft_name)
    assert mine_download.status_code == 200
    assert "no-store" in mine_download["Cache-Control"]
    # The digest alone, or a name no version gives the file, serves nothing.
    for url in (f"/services/files/{digest(content)}/", file_url(content, "申请书.pdf"),
                file_url(content, "营业执照申请表.PDF")):
        assert client_for(editor(world)).get(url).status_code == 404


def test_a_result_sample_of_an_item_without_materials_is_public(world):
    content = pdf_bytes("result only")
    draft = create(world, "无需材料事项", materials=[])
    attach(world, draft, content, kind="result_sample", name="样本.pdf")
    publish(world, draft)
    assert Client().get(file_url(content, "样本.pdf")).status_code == 200


@postgres_only
def test_the_same_bytes_attached_twice_at_once_make_one_file(transactional_db, world):
    content = pdf_bytes("at once")
    first, second = create(world, "甲事项"), create(world, "乙事项")
    actor = User.objects.get(pk=editor(world).pk)
    results = run_together(*[
        (lambda v=v, k=k: services.item_file_attach(
            actor=actor, version=v, kind=k, material_order=1,
            upload=uploaded(content, "申请书.pdf")))
        for v, k in ((first, "blank_form"), (second, "sample"))])
    assert not [r for r in results if isinstance(r, Exception)], results
    record = CatalogFile.objects.get(sha256=digest(content))
    assert default_storage.open(record.file.name).read() == content
    assert _names(first) == [("申请书.pdf", ""), ""]
    assert _names(second) == [("", "申请书.pdf"), ""]
    default_storage.delete(record.file.name)


# --- the desk --------------------------------------------------------------------------


def test_the_desk_uploads_and_removes_files_of_a_draft(world, client_for):
    draft = create(world)
    desk = client_for(editor(world))
    page = desk.get(f"/workbench/catalog/versions/{draft.pk}/").content.decode()
    assert 'id="files"' in page and 'name="file"' in page
    attach = f"/workbench/catalog/versions/{draft.pk}/files/attach/"
    content = pdf_bytes("desk")
    response = desk.post(attach, {"kind": "sample", "material": "1",
                                  "file": uploaded(content, "样表.pdf")})
    assert response.status_code == 302 and response["Location"].endswith("#files")
    assert draft.materials.get().sample_file == digest(content)
    page = desk.get(f"/workbench/catalog/versions/{draft.pk}/").content.decode()
    assert "文件已上传。" in page and file_url(content, "样表.pdf") in page

    refused = desk.post(attach, {"kind": "blank_form", "material": "1",
                                 "file": uploaded(b"plain text", "申请书.pdf")}, follow=True)
    assert "类型不被接受" in refused.content.decode()
    missing = desk.post(attach, {"kind": "blank_form", "material": "1"}, follow=True)
    assert "请选择要上传的文件。" in missing.content.decode()

    desk.post(f"/workbench/catalog/versions/{draft.pk}/files/detach/",
              {"kind": "sample", "material": "1"})
    assert draft.materials.get().sample_file == ""


def test_the_desk_offers_no_upload_once_the_version_is_submitted(world, client_for):
    version = published(world)
    page = client_for(editor(world)).get(
        f"/workbench/catalog/versions/{version.pk}/").content.decode()
    assert 'name="file"' not in page
    stranger = client_for(editor(world, "b"))
    response = stranger.post(f"/workbench/catalog/versions/{version.pk}/files/attach/",
                             {"kind": "blank_form", "material": "1",
                              "file": uploaded(pdf_bytes("stranger"))})
    assert response.status_code == 404


# --- the API ------------------------------------------------------------------------


def test_the_api_gives_the_download_urls(world, client_for):
    version, content = public_item(world)
    guide = Client().get(f"{BASE}/items/{version.item.impl_code}").json()
    material = guide["materials"][0]
    assert (material["blank_form_file"], material["blank_form_file_name"]) == (
        digest(content), FORM_NAME)
    assert material["blank_form_url"] == file_url(content, FORM_NAME)
    assert (material["sample_url"], guide["result_sample_url"]) == (None, None)
    assert (material["sample_file_name"], guide["result_sample_file_name"]) == ("", "")
    draft = services.item_version_draft(actor=editor(world), item=version.item)
    head = client_for(editor(world))
    body = head.get(f"{BASE}/versions/{draft.pk}").json()
    # Sent back as read, the content keeps its file and its name.
    sent = head.put(f"{BASE}/versions/{draft.pk}", json.dumps(body),
                    content_type="application/json")
    assert sent.status_code == 200, sent.content
    assert sent.json()["materials"][0]["blank_form_file"] == digest(content)
    assert sent.json()["materials"][0]["blank_form_file_name"] == FORM_NAME
    # Renamed through the API: the draft's guide preview and download follow.
    body["materials"][0]["blank_form_file_name"] = "申请书（2027 版）"
    sent = head.put(f"{BASE}/versions/{draft.pk}", json.dumps(body),
                    content_type="application/json").json()
    assert sent["materials"][0]["blank_form_file_name"] == "申请书（2027 版）.pdf"
    assert sent["materials"][0]["blank_form_url"] == file_url(content, "申请书（2027 版）.pdf")
    assert head.get(file_url(content, "申请书（2027 版）.pdf")).status_code == 200


def test_the_json_export_carries_the_references_and_its_import_keeps_them(world):
    """The export goes through version_as_data: the sha256 and the names travel, the
    files do not."""
    version, content = public_item(world)
    exported = json.loads(Client().get(f"{BASE}/export").content)["items"]
    assert exported[0]["materials"][0]["blank_form_file"] == digest(content)
    assert exported[0]["materials"][0]["blank_form_file_name"] == FORM_NAME
    records = transfer.read_upload("catalog.json", json.dumps({"items": exported}).encode())
    result = transfer.catalog_import(actor=editor(world), records=records)
    assert result.unchanged == [version.item.impl_code]  # read back as the version holds them
    exported[0]["name"] = "食品经营许可证核发（修订）"  # and written with any change
    records = transfer.read_upload("catalog.json", json.dumps({"items": exported}).encode())
    result = transfer.catalog_import(actor=editor(world), records=records)
    assert result.drafted == [version.item.impl_code]
    draft = version.item.versions.get(status="draft")
    assert draft.materials.get().blank_form_file == digest(content)
    assert _names(draft) == [(FORM_NAME, ""), ""]
    exported[0]["materials"][0]["blank_form_file"] = "e" * 64
    records = transfer.read_upload("catalog.json", json.dumps({"items": exported}).encode())
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        transfer.catalog_import(actor=editor(world), records=records)
    assert exc.value.fields["errors"][0]["field"] == "materials[1].blank_form_file"


def test_the_excel_export_carries_the_references_and_its_import_keeps_them(world):
    """An Excel round trip keeps the files and their names too (columns 空白表格文件,
    空白表格文件名, 结果样本文件名 ...), a name Excel would take for a formula included."""
    version, content = public_item(world)
    draft = services.item_version_draft(actor=editor(world), item=version.item)
    result = pdf_bytes("excel result")
    attach(world, draft, result, kind="result_sample", name="=许可证样本.pdf")
    version = publish(world, draft)
    workbook = transfer.export_excel(ItemVersion.objects.filter(pk=version.pk))
    records = transfer.read_upload("catalog.xlsx", workbook)
    assert records[0].data["materials"][0]["blank_form_file"] == digest(content)
    assert records[0].data["materials"][0]["blank_form_file_name"] == FORM_NAME
    assert records[0].data["result_sample_file_name"] == "=许可证样本.pdf"
    records[0].data["name"] = "食品经营许可证核发（修订）"  # unchanged, it would not be written
    transfer.catalog_import(actor=editor(world), records=records)
    draft = version.item.versions.get(status="draft")
    assert draft.materials.get().blank_form_file == digest(content)
    assert _names(draft) == [(FORM_NAME, ""), "=许可证样本.pdf"]


# --- the migration that put the names on the references ------------------------------

BEFORE, AFTER = ("catalog", "0005_item_withdrawal"), ("catalog", "0006_file_names_on_references")


def _migrate(target):
    from tests.migrating import migrate, migrate_to_latest

    if target == AFTER:
        migrate_to_latest()   # the migration tested, and every one after it
        return None
    return migrate(target)


def test_the_migration_names_existing_references_as_their_file_was_named(transactional_db,
                                                                         world):
    """Before 0006 a file had one name, its first upload's, shown by every reference:
    each reference keeps it (what its guide showed).  Backwards, a file takes the name
    of a reference again (its digest when none refers to it)."""
    used, unused = pdf_bytes("migrated"), pdf_bytes("detached")
    draft = attach(world, create(world), used, name="申请书甲.pdf")
    attach(world, draft, unused, kind="result_sample", name="样本.pdf")
    services.item_file_detach(actor=editor(world), version=draft, kind="result_sample")
    try:
        old = _migrate(BEFORE)
        files = old.get_model("catalog", "CatalogFile").objects
        assert dict(files.values_list("sha256", "name")) == {
            digest(used): "申请书甲.pdf", digest(unused): digest(unused)}
        files.filter(sha256=digest(used)).update(name="首次上传.pdf")
        files.filter(sha256=digest(unused)).update(name="未用.pdf")
    finally:
        _migrate(AFTER)
    assert _names(draft) == [("首次上传.pdf", ""), ""]
    assert draft.materials.get().blank_form_download.url == file_url(used, "首次上传.pdf")


# --- the demo -------------------------------------------------------------------------


def test_the_demo_guides_let_applicants_download_the_blank_forms():
    """The demo's materials that name a blank form (食品经营许可申请书.pdf) have a real
    PDF drawn at load; some have a filled-in sample, some items a result sample."""
    demo.load(out=lambda *args: None)
    version = ItemVersion.objects.get(name="食品经营许可证核发", status="published",
                                      item__agency__name="示范市市场监督管理局")
    client = Client()
    text = client.get(f"/services/items/{version.item.impl_code}/").content.decode()
    links = re.findall(r'空白表格：<a href="([^"]+)" aria-label="下载空白表格：([^"]+)"', text)
    assert links == [(links[0][0], "食品经营许可申请书.pdf")]
    download = client.get(links[0][0])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert re.search(r'示例样表：<a href="/services/files/[0-9a-f]{64}/[^"/]+\.pdf"', text)
    assert re.search(r'<a href="/services/files/[0-9a-f]{64}/[^"/]+\.pdf" aria-label="下载结果'
                     r'样本：食品经营许可证（样本）.pdf"', text)
    named = [m for v in ItemVersion.objects.filter(status="published")
             for m in v.materials.all() if m.blank_form]
    assert named and all(m.blank_form_file for m in named)


# --- hostile compound files (.doc, .xls) -----------------------------------------------

def _looping(total_bytes: int) -> bytes:
    """A compound file whose header claims 2**32-1 FAT sectors, whose DIFAT chain
    points at sector 0, and sector 0 (zeros) points at itself: every FAT sector
    number is 0.  A few hundred KB, all zeros after the header."""
    return (_header(fat_count=0xFFFFFFFF, first_dir=0, first_difat=0,
                    difat_count=0xFFFFFFFF, difat=[0] * 109)
            + b"\0" * (total_bytes - 512))


def _check(content: bytes, name="表格.xls"):
    return check_upload(SimpleUploadedFile(name, content), CATALOG_FILES)


def test_each_sector_of_a_compound_file_is_read_at_most_once(monkeypatch):
    """A damaged (or crafted) file whose DIFAT and FAT name one sector again and
    again: header, allocation table and directory are read each sector at most
    once, so the work stays within the file's size (it grew with its square, a
    10 MB upload exhausting the server's memory).  A 64 KB file has 127 sectors."""
    calls = []
    real = uploads._words

    def counted(data):
        calls.append(len(data))
        return real(data)

    monkeypatch.setattr(uploads, "_words", counted)
    with pytest.raises(InvalidInput):
        _check(_looping(64 * 1024))
    assert len(calls) <= 128 + 1


def _record(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _biff8_with_macro_sheet() -> bytes:
    """BIFF8 workbook globals naming a hidden Excel 4.0 macro sheet (BOUNDSHEET, dt=1)
    and Auto_Open (a built-in FORM_NAME), then the macro sheet's substream (BOF dt=0x40)
    with its formulas: the XLM macros that need no VBA project."""
    bof_globals = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x1DA5, 1997,
                                              0, 0x06))
    name = b"Macro1"
    sheet = _record(0x0085, struct.pack("<IBB", 0x200, 1, 1)   # hidden, macro sheet
                    + struct.pack("<BB", len(name), 0) + name)
    auto_open = _record(0x0018, struct.pack("<HBBHHHBBBBB", 0x0020, 0, 1, 0, 0, 0, 0, 0,
                                            0, 0, 0) + b"\x01")
    eof = _record(0x000A, b"")
    globals_ = bof_globals + sheet + auto_open + eof
    macro_sheet = (_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0040, 0x1DA5, 1997,
                                               0, 0x06))
                   + f"=EXEC(\"calc.exe\") {uuid.uuid4()}".encode() + eof)
    return globals_.ljust(0x200, b"\0") + macro_sheet


def test_an_xls_with_an_excel_4_macro_sheet_is_refused_as_macros():
    """Excel 4.0 (XLM) macros live in the Workbook stream as a macro sheet, with no
    VBA storage at all: the classic macro downloader.  Macros are refused, these too."""
    with pytest.raises(InvalidInput) as exc:
        _check(_compound("Workbook", _biff8_with_macro_sheet()))
    assert "含有宏" in exc.value.render()


def test_the_same_xls_without_the_macro_sheet_passes():
    """The control: the builder makes an XLS the check takes."""
    bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x1DA5, 1997, 0, 0x06))
    name = b"Sheet1"
    sheet = _record(0x0085, struct.pack("<IBB", 0x200, 0, 0)
                    + struct.pack("<BB", len(name), 0) + name)
    assert _check(_compound("Workbook", bof + sheet + _record(0x000A, b""))).kind is uploads.XLS


def test_an_xls_whose_small_workbook_lives_in_the_mini_stream_is_read_too():
    """A Workbook stream under 4 KiB is kept in 64-byte mini sectors: its macro
    sheet is found there as well."""
    workbook = _biff8_with_macro_sheet()[:0x200].rstrip(b"\0") + _record(0x000A, b"")
    size = len(workbook)
    mini = -(-size // 64)
    fat = [FATSECT, END, END, END] + [FREE] * 124           # FAT, directory, mini FAT, container
    mini_fat = [*range(1, mini), END] + [FREE] * (128 - mini)
    entries = [_entry("Root Entry", 5, child=1, start=3, size=512),
               _entry("Workbook", 2, start=0, size=size)]
    header = bytearray(_header(fat_count=1, first_dir=1, first_difat=END, difat_count=0,
                               difat=[0] + [FREE] * 108))
    struct.pack_into("<III", header, 56, 4096, 2, 1)         # mini FAT at sector 2
    content = (bytes(header) + struct.pack("<128I", *fat)
               + b"".join(entries).ljust(512, b"\0") + struct.pack("<128I", *mini_fat)
               + workbook.ljust(512, b"\0"))
    with pytest.raises(InvalidInput) as exc:
        _check(content)
    assert "含有宏" in exc.value.render()
