"""Applying: drafts, material uploads and submission."""

import datetime as dt
import re

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from tests.cases.helpers import (
    JPEG,
    PDF,
    PNG,
    another_citizen,
    audit_actions,
    draft,
    event_types,
    nothing_written,
    publish_again,
    publish_item,
    reachable,
    reload,
    stored_files,
    submitted,
    upload,
)
from tests.factories import item_content, valid_credit_code
from yizhan.audit.models import AuditRecord
from yizhan.audit.verify import verify_chain
from yizhan.cases import selectors, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, CaseNumberSequence, EventType, MaterialFile, Task
from yizhan.catalog import services as catalog_services
from yizhan.catalog.models import ItemVersion
from yizhan.core.crypto import sm3_hex
from yizhan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yizhan.directory import services as directory_services
from yizhan.directory.roles import Role

# --- drafts -------------------------------------------------------------------


def test_create_makes_a_draft_pinned_to_the_published_version(world, promised):
    """A draft records the version, applicant, agency and data, and is audited."""
    case = services.case_create(actor=world.citizen, item_version=promised,
                                applicant=world.applicant, data={"shop_name": "张记小吃"})
    case = reload(case)
    assert case.status == Case.Status.DRAFT
    assert case.item_version == promised
    assert case.agency == world.agency_a
    assert case.submitted_by == world.citizen
    assert case.data == {"shop_name": "张记小吃"}
    assert case.number is None
    assert event_types(case) == []
    record = AuditRecord.objects.get(action=CasesAction.CASE_CREATED)
    assert record.object_id == str(case.pk)
    assert record.agency_id == world.agency_a.pk
    assert record.changes == {"item": promised.item.impl_code, "version": 1,
                              "applicant": world.applicant.pk}


def test_create_is_idempotent_with_the_same_key(world, promised):
    """A retried request with the same idempotency key returns the first case."""
    first = services.case_create(actor=world.citizen, item_version=promised,
                                 applicant=world.applicant, idempotency_key="k-1")
    with nothing_written():
        again = services.case_create(actor=world.citizen, item_version=promised,
                                     applicant=world.applicant, idempotency_key="k-1")
    assert again.pk == first.pk
    assert Case.objects.filter(submitted_by=world.citizen).count() == 1
    other = services.case_create(actor=world.citizen, item_version=promised,
                                 applicant=world.applicant, idempotency_key="k-2")
    assert other.pk != first.pk


@pytest.mark.parametrize("value", [1e16, -0.0], ids=["1e16", "minus-zero"])
def test_a_draft_retried_with_a_large_number_leaves_the_log_verifiable(world, promised,
                                                                       value):
    """The applicant retries with the same key and other answers (an item without form
    fields takes any JSON).  PostgreSQL's jsonb gives 1e16 back as 10000000000000000
    and -0.0 as 0.0; the draft_updated record must still verify untouched."""
    services.case_create(actor=world.citizen, item_version=promised,
                         applicant=world.applicant, data={"n": 1}, idempotency_key="k-n")
    services.case_create(actor=world.citizen, item_version=promised,
                         applicant=world.applicant, data={"n": value}, idempotency_key="k-n")
    assert AuditRecord.objects.filter(action=CasesAction.DRAFT_UPDATED).count() == 1
    result = verify_chain(stop_at_first=False)
    assert result.breaks == [], [str(b) for b in result.breaks]


def test_a_key_sent_again_for_other_content_is_refused_once_submitted(world, promised):
    """The key names one application: for another item, or for other answers after
    submission, it is refused rather than answered with the first case."""
    other = publish_item(world, name="另一许可")
    case, _code = submitted(world, promised, key="k-9", data={"shop_name": "张记"})
    with nothing_written():
        again = services.case_create(actor=world.citizen, item_version=promised,
                                     applicant=world.applicant, idempotency_key="k-9",
                                     data=case.data)
        assert again.pk == case.pk
        for version, data in ((other, case.data), (promised, {"shop_name": "另一家"})):
            with pytest.raises(Conflict) as exc:
                services.case_create(actor=world.citizen, item_version=version,
                                     applicant=world.applicant, idempotency_key="k-9",
                                     data=data)
            assert exc.value.code == CasesErrorCode.KEY_REUSED


@pytest.mark.parametrize("data", [
    {"area": float("nan")},
    {"area": float("inf")},
    {"joint_agencies": [1]},
    {"joint_opinions": []},
])
def test_data_the_process_would_refuse_is_refused_at_once(world, promised, data):
    """Non-finite numbers and the process's reserved names never reach a draft,
    which submission would then refuse for good."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_create(actor=world.citizen, item_version=promised,
                             applicant=world.applicant, data=data)
    assert exc.value.fields["field"] == "data"


def test_an_unpublished_version_is_refused(world):
    """A draft or pending version of an item cannot be applied for."""
    version = catalog_services.item_create(actor=world.admin, agency=world.agency_a,
                                           data=item_content())
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_create(actor=world.citizen, item_version=version,
                             applicant=world.applicant)
    assert exc.value.code == CasesErrorCode.NOT_PUBLISHED


def test_a_superseded_version_is_refused(world, promised):
    """Once v2 is published, applying on v1 is refused, even with a v1 loaded earlier."""
    loaded_before = ItemVersion.objects.select_related("item").get(pk=promised.pk)
    assert loaded_before.item.published_id == promised.pk
    v2 = catalog_services.item_version_draft(actor=world.admin, item=promised.item)
    catalog_services.item_version_submit(actor=world.admin, version=v2)
    catalog_services.item_version_publish(actor=world.user("a", Role.SYSADMIN), version=v2)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_create(actor=world.citizen, item_version=loaded_before,
                             applicant=world.applicant)
    assert exc.value.code == CasesErrorCode.NOT_PUBLISHED
    case = services.case_create(actor=world.citizen, item_version=v2,
                                applicant=world.applicant)
    assert case.item_version == v2


def test_a_draft_begun_on_a_version_since_superseded_is_not_submitted(world, promised):
    """A draft is submitted on the version it began with only while that version
    is the one in force; after v2 its conditions may have changed."""
    case = draft(world, promised)
    v2 = catalog_services.item_version_draft(actor=world.admin, item=promised.item)
    catalog_services.item_version_submit(actor=world.admin, version=v2)
    catalog_services.item_version_publish(actor=world.user("a", Role.SYSADMIN), version=v2)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_submit(actor=world.citizen, case=case)
    assert exc.value.code == CasesErrorCode.NOT_PUBLISHED
    # Not "apply again": 修改申请信息 carries the draft and its files over.
    assert "修改申请信息" in exc.value.render("zh-hans")
    assert reload(case).status == Case.Status.DRAFT


def test_an_applicant_kind_the_item_does_not_serve_is_refused(world):
    """An item for legal persons only refuses a natural person."""
    version = publish_item(world, service_objects=["legal"])
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_create(actor=world.citizen, item_version=version,
                             applicant=world.applicant)
    assert exc.value.code == CasesErrorCode.APPLICANT
    assert "自然人" in exc.value.render()


def test_a_legal_person_applies_for_an_item_for_legal_persons(world):
    """A citizen's company (a legal applicant they registered) may apply."""
    version = publish_item(world, service_objects=["legal"])
    company = directory_services.applicant_register(
        actor=world.citizen, kind="legal", name="张记餐饮有限公司",
        credit_code=valid_credit_code(909), legal_rep_name="张三", for_self=True)
    case = services.case_create(actor=world.citizen, item_version=version, applicant=company)
    assert case.applicant == company


def test_someone_elses_applicant_is_refused(world, promised):
    """A citizen cannot apply in another citizen's name."""
    stranger, _applicant = another_citizen()
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_create(actor=stranger, item_version=promised, applicant=world.applicant)


def test_a_window_clerk_applies_on_someones_behalf(world, promised):
    """At the counter a window clerk creates the case for a walk-in applicant."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    case = services.case_create(actor=clerk, item_version=promised, applicant=world.applicant)
    assert (case.submitted_by, case.channel) == (clerk, "window")


def test_an_item_not_offered_online_is_applied_for_at_the_window_only(world):
    """网上办理深度 一级/二级: the guide offers no 在线申请, and the service refuses
    an applicant's own online application; the window files it for them, and
    the case is recorded as the window's (not counted as handled online)."""
    version = publish_item(world, name="窗口办理事项", online_depth=2)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_create(actor=world.citizen, item_version=version,
                             applicant=world.applicant)
    assert exc.value.code == CasesErrorCode.NOT_ONLINE
    assert "窗口" in exc.value.render("zh-hans")
    clerk = world.user("a", Role.WINDOW_CLERK)
    case = services.case_create(actor=clerk, item_version=version, applicant=world.applicant)
    assert case.channel == "window"


def test_a_retry_after_a_new_version_returns_the_submitted_case(world, promised):
    """The response to a submitted application was lost and the item got a new
    version meanwhile: the retry with the same key gets the submitted case,
    not a refusal that would send the applicant to apply a second time."""
    case = draft(world, promised, key="lost-answer")
    services.case_submit(actor=world.citizen, case=case)
    v2 = catalog_services.item_version_draft(actor=world.admin, item=promised.item)
    catalog_services.item_version_submit(actor=world.admin, version=v2)
    catalog_services.item_version_publish(actor=world.user("a", Role.SYSADMIN), version=v2)
    with nothing_written():
        again = services.case_create(actor=world.citizen, item_version=v2,
                                     applicant=world.applicant, idempotency_key="lost-answer")
    assert again.pk == case.pk
    # A draft on the old version is moved onto the version in force, where it
    # can be submitted (test_a_draft_of_an_earlier_version_moves_onto_the_version_in_force).
    old = draft(world, v2, key="old-draft", files=False)
    Case.objects.filter(pk=old.pk).update(item_version=promised)
    moved = services.case_create(actor=world.citizen, item_version=v2,
                                 applicant=world.applicant, idempotency_key="old-draft")
    assert (moved.pk, moved.item_version_id) == (old.pk, v2.pk)


def test_a_draft_of_an_earlier_version_moves_onto_the_version_in_force(
        world, django_capture_on_commit_callbacks):
    """A refused form filed a draft on v1 under its key; v2 is published, and the
    form is sent again by the key.  The draft moves onto v2: each file as v2's
    material of the same name, the file of a material v2 no longer asks for
    dropped (row and stored file), the answers taken through v2's form (those
    v2 refuses left out), the move audited.  It can then be submitted."""
    v1 = publish_item(world, materials=[{"name": "申请书", "forms": ["original"]},
                                        {"name": "旧证明", "forms": ["copy"]}],
                      form_fields=[{"name": "kind", "label": "经营类别", "type": "choice",
                                    "choices": ["热食类", "冷食类"]},
                                   {"name": "note", "label": "备注", "type": "text"}])
    case = services.case_create(actor=world.citizen, item_version=v1,
                                applicant=world.applicant, idempotency_key="K",
                                data={"kind": "冷食类", "note": "临街"}, unfinished=True)
    first = {m.name: m for m in v1.materials.all()}
    kept = services.material_upload(actor=world.citizen, case=case,
                                    material_id=first["申请书"].pk, upload=upload())
    gone = services.material_upload(actor=world.citizen, case=case,
                                    material_id=first["旧证明"].pk,
                                    upload=upload(PNG, "旧证明.png"))
    v2 = publish_again(world, v1, materials=[{"name": "申请书", "forms": ["original"]}],
                       form_fields=[{"name": "kind", "label": "经营类别", "type": "choice",
                                     "choices": ["热食类"]}])

    with django_capture_on_commit_callbacks(execute=True):
        moved = services.case_create(actor=world.citizen, item_version=v2,
                                     applicant=world.applicant, idempotency_key="K",
                                     data={"kind": "热食类"}, unfinished=True)

    assert (moved.pk, moved.item_version_id, moved.data) == (case.pk, v2.pk, {"kind": "热食类"})
    assert list(MaterialFile.objects.filter(case=case).values_list("pk", "material_id")) == [
        (kept.pk, v2.materials.get(name="申请书").pk)]
    assert gone.file.name not in stored_files()
    assert kept.file.name in stored_files()
    record = AuditRecord.objects.filter(action=CasesAction.DRAFT_UPDATED).order_by("id").first()
    assert record.changes["version"] == [v1.number, v2.number]
    assert record.changes["data"] == [{"kind": "冷食类", "note": "临街"}, {"kind": None}]
    assert [f["material"] for f in record.changes["dropped_files"]] == ["旧证明"]
    services.case_submit(actor=world.citizen, case=moved)
    assert reload(case).status == Case.Status.SUBMITTED


def test_a_key_of_another_item_s_draft_is_still_refused(world, promised):
    """Only a draft of the same item moves: a key that names a draft of another
    item is refused as before, and nothing is written; another person's key
    of the same name is theirs, and starts their own application."""
    case = draft(world, promised, key="K", files=False)
    other = publish_item(world, name="另一许可")
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_create(actor=world.citizen, item_version=other,
                             applicant=world.applicant, idempotency_key="K")
    assert exc.value.code == CasesErrorCode.KEY_REUSED
    stranger, theirs = another_citizen()
    own = services.case_create(actor=stranger, item_version=promised, applicant=theirs,
                               idempotency_key="K")
    assert own.pk != case.pk
    assert reload(case).item_version_id == promised.pk


def test_a_clerk_who_left_the_window_no_longer_reaches_the_cases_they_filed(world, promised):
    """The walk-in case stays the applicant's; the clerk's hold on it ends with the post."""
    from yizhan.accounts.models import User
    from yizhan.directory import services as directory_services

    clerk = world.user("a", Role.WINDOW_CLERK)
    case, _code = submitted(world, promised, actor=clerk)
    directory_services.staff_unpost(actor=world.admin, user=clerk,
                                    post=world.posts["a"][Role.WINDOW_CLERK])
    former = User.objects.get(pk=clerk.pk)
    with nothing_written(), pytest.raises((PermissionDenied, NotFound)):
        services.case_withdraw(actor=former, case=case, reason="不办了")
    with pytest.raises((PermissionDenied, NotFound)):
        selectors.case_get_for_actor(actor=former, case_id=case.pk)
    assert services.case_withdraw(actor=world.citizen, case=case).status == "withdrawn"


@pytest.mark.parametrize("data", [
    {"店名": "张记"},
    {"1st": "x"},
    {"shop name": "x"},
    {"__class__": "x"},
    ["not", "a", "dict"],
    {f"k{i}": i for i in range(101)},
])
def test_data_keys_must_be_identifiers(world, promised, data):
    """Application data is a small dict whose keys are letters, digits and underscores."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_create(actor=world.citizen, item_version=promised,
                             applicant=world.applicant, data=data)
    assert exc.value.fields["field"] == "data"


# --- uploads ------------------------------------------------------------------


def _material(version, name="申请书"):
    return version.materials.get(name=name)


def _refused_upload(world, promised, content: bytes, name: str):
    """The refusal of ``content`` uploaded as ``name`` to a fresh draft, which
    leaves nothing written."""
    case = draft(world, promised, files=False)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk,
                                 upload=upload(content, name))
    return exc


def test_an_upload_is_stored_with_its_sm3_digest(world, promised):
    """The file is kept under its digest, recorded with type, size and SM3, and audited."""
    case = draft(world, promised, files=False)
    record = services.material_upload(actor=world.citizen, case=case,
                                      material_id=_material(promised).pk,
                                      upload=upload(PDF, "申请书.pdf"))
    assert record.digest == sm3_hex(PDF)
    assert (record.content_type, record.size, record.original_name) == (
        "application/pdf", len(PDF), "申请书.pdf")
    assert default_storage.exists(record.file.name)
    assert sm3_hex(PDF) in record.file.name and "申请书" not in record.file.name
    with default_storage.open(record.file.name, "rb") as handle:
        assert handle.read() == PDF
    audit = AuditRecord.objects.get(action=CasesAction.MATERIAL_UPLOADED)
    assert audit.changes["sm3"] == sm3_hex(PDF)
    assert audit.changes["material"] == "申请书"


def test_the_type_comes_from_the_content_not_the_name(world, promised):
    """A PNG named .pdf is stored as a PNG; a JPEG is accepted as a JPEG."""
    case = draft(world, promised, files=False)
    png = services.material_upload(actor=world.citizen, case=case,
                                   material_id=_material(promised).pk,
                                   upload=upload(PNG, "scan.pdf"))
    jpeg = services.material_upload(actor=world.citizen, case=case,
                                    material_id=_material(promised, "营业执照").pk,
                                    upload=upload(JPEG, "licence.png"))
    assert png.content_type == "image/png"
    assert jpeg.content_type == "image/jpeg"


def test_a_text_file_renamed_pdf_is_refused_415(world, promised):
    """Content that is no accepted type is refused whatever its name, and nothing is kept."""
    exc = _refused_upload(world, promised, b"just some text\n%%EOF\n", "申请书.pdf")
    assert (exc.value.code, exc.value.http_status) == (CasesErrorCode.UPLOAD_TYPE, 415)


@override_settings(YIZHAN_MAX_UPLOAD_BYTES=64)
def test_a_file_too_big_is_refused_413(world, promised):
    """A file above the configured limit is refused before it is stored."""
    case = draft(world, promised, files=False)
    big = b"%PDF-1.4\n" + b"0" * 100 + b"\n%%EOF\n"
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk, upload=upload(big))
    assert (exc.value.code, exc.value.http_status) == (CasesErrorCode.UPLOAD_TOO_BIG, 413)


@pytest.mark.parametrize(("limit", "stated"), [(1024 * 1024 + 512 * 1024, "1.5 MB"),
                                               (256 * 1024, "0.25 MB")])
@pytest.mark.parametrize("size_known", [True, False])
def test_a_file_too_big_is_refused_with_the_limit_as_configured(world, promised, limit,
                                                                 stated, size_known):
    """A limit that is no whole number of MB is stated as it is set (1.5 MB, not
    1 MB; 0.25 MB, not 0 MB), whether the file's size was known before it was
    read or only once it was."""
    case = draft(world, promised, files=False)
    big = upload(b"%PDF-1.4\n" + b"0" * limit + b"\n%%EOF\n")
    if not size_known:
        big.size = None
    with override_settings(YIZHAN_MAX_UPLOAD_BYTES=limit), nothing_written(), \
            pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk, upload=big)
    assert (exc.value.code, exc.value.http_status) == (CasesErrorCode.UPLOAD_TOO_BIG, 413)
    assert exc.value.render("zh-hans") == f"文件“申请书.pdf”过大：上限 {stated}。"


@pytest.mark.parametrize("content", [
    PDF.replace(b"%%EOF", b""),
    PNG[:-12],
    JPEG[:-2],
], ids=["pdf", "png", "jpeg"])
def test_a_truncated_file_is_refused(world, promised, content):
    """A PDF without %%EOF, a PNG without IEND, a JPEG without EOI are refused."""
    case = draft(world, promised, files=False)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk, upload=upload(content))
    assert exc.value.code == CasesErrorCode.UPLOAD_TRUNCATED


def test_a_material_of_another_item_is_refused_and_its_file_removed(world, promised):
    """The file stored before the database write is deleted when the write fails."""
    other = publish_item(world, name="另一事项", basic_code="XK00102000")
    case = draft(world, promised, files=False)
    with nothing_written(), pytest.raises(InvalidInput):
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=other.materials.get().pk, upload=upload())


def test_a_stranger_cannot_upload_to_a_case(world, promised):
    """Only the applicant (or the clerk who filed it) uploads to a case."""
    case = draft(world, promised, files=False)
    stranger, _applicant = another_citizen()
    with nothing_written(), pytest.raises(PermissionDenied):
        services.material_upload(actor=stranger, case=case,
                                 material_id=_material(promised).pk, upload=upload())


def test_a_file_replaced_in_the_draft_is_deleted_after_commit(
        world, promised, django_capture_on_commit_callbacks):
    """A second file for the same material of a draft takes the first one's place:
    the first one's row goes, and its stored file once the upload commits (it
    was never part of the application).  The audit record names the file replaced."""
    case = draft(world, promised, files=False)
    first = services.material_upload(actor=world.citizen, case=case,
                                     material_id=_material(promised).pk, upload=upload(PDF))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = services.material_upload(actor=world.citizen, case=case,
                                          material_id=_material(promised).pk,
                                          upload=upload(PNG))
    assert not MaterialFile.objects.filter(pk=first.pk).exists()
    assert default_storage.exists(first.file.name)       # until the upload commits
    for callback in callbacks:
        callback()
    assert not default_storage.exists(first.file.name)
    assert default_storage.exists(second.file.name)
    assert second.replaced is False
    audit = AuditRecord.objects.filter(action=CasesAction.MATERIAL_UPLOADED).latest("id")
    assert audit.changes["replaced_sm3"] == sm3_hex(PDF)


def test_replacing_a_draft_s_file_again_and_again_does_not_fill_the_storage(
        world, promised, django_capture_on_commit_callbacks):
    """Each material of a draft has one file, stored once, however often it is replaced."""
    case = draft(world, promised, files=False)
    material = _material(promised)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(30):
            services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                                     upload=upload(PDF.replace(b"Catalog",
                                                               b"Catalog /N " + str(n).encode())))
    assert len([n for n in stored_files() if n.startswith(f"cases/{case.pk}/")]) == 1
    assert MaterialFile.objects.filter(case=case).count() == 1


def test_a_stored_file_another_row_refers_to_stays_when_a_draft_replaces_it(
        world, promised, django_capture_on_commit_callbacks):
    """Files are stored by digest: one still named by another row is not deleted."""
    case = draft(world, promised, files=False)
    first = services.material_upload(actor=world.citizen, case=case,
                                     material_id=_material(promised).pk, upload=upload(PDF))
    other = draft(world, promised, files=False, key="another-draft")
    MaterialFile.objects.create(
        case=other, material=first.material, file=first.file.name, original_name="申请书.pdf",
        content_type=first.content_type, size=first.size, digest=first.digest,
        uploaded_by=world.citizen, uploaded_at=first.uploaded_at)
    with django_capture_on_commit_callbacks(execute=True):
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk, upload=upload(PNG))
    assert default_storage.exists(first.file.name)


def test_the_same_file_sent_again_is_kept_once(world, promised):
    """A retried upload (the page sent again with its key) is the file already
    there: no second copy, row or audit record."""
    case = draft(world, promised, files=False)
    material = _material(promised)
    first = services.material_upload(actor=world.citizen, case=case,
                                     material_id=material.pk, upload=upload(PDF))
    files, records = stored_files(), AuditRecord.objects.count()
    again = services.material_upload(actor=world.citizen, case=case,
                                     material_id=material.pk, upload=upload(PDF, "又一次.pdf"))
    assert again.pk == first.pk and not again.replaced
    assert stored_files() == files
    assert AuditRecord.objects.count() == records
    assert MaterialFile.objects.filter(case=case, material=material).count() == 1


def _ofd(entries: dict) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in entries.items():
            package.writestr(name, data)
    return buffer.getvalue()


def test_an_ofd_document_is_a_zip_with_ofd_xml_at_its_root(world, promised):
    """GB/T 33190: an OFD package has OFD.xml at its root.  Any other ZIP (a
    .docx, an archive of programs) is refused as a type, and nothing is kept."""
    case = draft(world, promised, files=False)
    ofd = _ofd({"OFD.xml": b'<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>',
                "Doc_0/Document.xml": b"<ofd:Document/>"})
    record = services.material_upload(actor=world.citizen, case=case,
                                      material_id=_material(promised).pk,
                                      upload=upload(ofd, "营业执照.ofd"))
    assert record.content_type == "application/ofd"
    for other in (_ofd({"payload.exe": b"MZ\x90\x00"}), _ofd({"word/document.xml": b"<w/>"})):
        with nothing_written(), pytest.raises(InvalidInput) as exc:
            services.material_upload(actor=world.citizen, case=case,
                                     material_id=_material(promised).pk,
                                     upload=upload(other, "材料.ofd"))
        assert exc.value.code == CasesErrorCode.UPLOAD_TYPE
        assert exc.value.http_status == 415


def test_no_upload_after_submission(world, promised):
    """A submitted case takes no new files (except under correction), and keeps none."""
    case, _code = submitted(world, promised)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk, upload=upload())
    assert exc.value.code == CasesErrorCode.BAD_STATE


@pytest.mark.parametrize("submit", [False, True], ids=["draft", "submitted"])
def test_an_upload_to_a_withdrawn_case_says_it_was_withdrawn(world, promised, submit):
    """A withdrawn case takes no files, and the refusal says why: a draft
    withdrawn was never submitted, so not "办件已提交"."""
    case = draft(world, promised, files=submit)
    if submit:
        case, _code = services.case_submit(actor=world.citizen, case=case)
    services.case_withdraw(actor=world.citizen, case=case)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk, upload=upload())
    assert exc.value.code == CasesErrorCode.BAD_STATE
    assert exc.value.render("zh-hans") == "办件已撤回，不能再上传材料。"


def test_an_empty_file_is_told_it_is_empty(world, promised):
    """A 0-byte 申请书.pdf is refused as empty, not as a type the material does
    not take (which would send the applicant looking for another format)."""
    exc = _refused_upload(world, promised, b"", "申请书.pdf")
    assert exc.value.http_status == 400
    assert exc.value.render("zh-hans") == "文件“申请书.pdf”是空文件，请重新选择。"


# Google's, Xiaomi's and OPPO's 动态照片 (Motion Photo, MicroVideo): the JPEG's
# EOI, then the MP4 of the short video.
MOTION_PHOTO = JPEG + b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 8 + b"mdat"
# Samsung's trailer after the EOI (ExifTool's "Samsung trailer"), ending in SEFT.
SAMSUNG_PHOTO = JPEG + b"\x00\x00\x01\x0a\x00\x00\x00\x00Image_UTC_Data1700000000000" + (
    b"SEFH\x6b\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01\x0a\x00\x00\x00\x00\x00\x00SEFT")
# A baseline JPEG with its tables and one scan, whose coded data holds a
# stuffed 0xFF (FF 00) and a restart marker, then the EOI and a trailer
# holding bytes that look like markers.
SCANNED_PHOTO = (
    b"\xff\xd8\xff\xe1\x00\x08Exif\x00\x00"                  # SOI, APP1
    b"\xff\xdb\x00\x05\x00\x01\x02"                             # DQT
    b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00"       # SOF0
    b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"                   # SOS
    b"\x12\xff\x00\x34\xff\xd0\x56\xff\xff\xd9"                   # coded data, fill, EOI
    b"\xff\xe0\x00\x40trailer")


@pytest.mark.parametrize("content", [MOTION_PHOTO, SAMSUNG_PHOTO, SCANNED_PHOTO],
                         ids=["motion", "samsung", "scan"])
def test_a_whole_phone_photo_with_a_trailer_is_not_called_truncated(world, promised, content):
    """A JPEG straight from a phone camera, whole, is accepted: what phones append
    after the image's end marker does not make it "不完整（可能上传中断）"."""
    case = draft(world, promised, files=False)
    record = services.material_upload(actor=world.citizen, case=case,
                                      material_id=_material(promised).pk,
                                      upload=upload(content, "营业执照.jpg"))
    assert record.content_type == "image/jpeg"


@pytest.mark.parametrize("content", [
    SCANNED_PHOTO[:SCANNED_PHOTO.index(b"\xff\xd9")],      # cut in the coded data
    SCANNED_PHOTO[:30],                                  # cut inside a segment
    JPEG[:-2] + b"\x00\x00ftypmp42",                       # no EOI before what follows
], ids=["in-scan", "in-segment", "trailer-without-eoi"])
def test_a_jpeg_whose_data_ends_before_its_end_marker_is_truncated(world, promised, content):
    exc = _refused_upload(world, promised, content, "营业执照.jpg")
    assert exc.value.code == CasesErrorCode.UPLOAD_TRUNCATED


def _pdf(*objects: bytes, xref: bool = True) -> bytes:
    """A PDF of ``objects`` (numbered from 1, the first the catalog), with a
    cross-reference table unless ``xref`` is false."""
    out, offsets = b"%PDF-1.7\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    if not xref:
        return out + b"trailer << /Root 1 0 R >>\n%%EOF\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + (b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                  % (len(objects) + 1, table))


def _pdf_with(catalog: bytes = b"", page: bytes = b"", *more: bytes, xref: bool = True) -> bytes:
    return _pdf(b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R " + page + b" >>", *more, xref=xref)


JS = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"
LAUNCH = b"<< /S /Launch /F (cmd.exe) /P (/c calc) >>"
FIELD = (b"/AcroForm << /Fields [4 0 R] >>", b"/Annots [4 0 R]")


@pytest.mark.parametrize("pdf", [
    _pdf_with(b"/OpenAction " + JS),
    _pdf_with(b"/OpenAction " + LAUNCH),
    _pdf_with(b"/OpenAction " + JS, xref=False),            # a reader rebuilds the table
    _pdf_with(b"/OpenAction << /S /Java#53cript /JS (x) >>"),  # a name written escaped
    _pdf_with(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next [" + LAUNCH + b"] >>"),
    _pdf_with(b"/AA << /WC 4 0 R >>", b"", JS),                # on closing the document
    _pdf_with(b"/Names << /JavaScript << /Names [(init) 4 0 R] >> >>", b"", JS),
    _pdf_with(b"", b"/AA << /O " + JS + b" >>"),               # on opening the page
    _pdf_with(b"", b"/Annots [<< /Subtype /Link /A " + LAUNCH + b" >>]"),
    _pdf_with(*FIELD, b"<< /FT /Tx /T (a) /Subtype /Widget /AA << /PO " + JS + b" >> >>"),
    _pdf_with(*FIELD, b"<< /FT /Tx /T (a) /Subtype /Widget /AA << /K " + LAUNCH + b" >> >>"),
    _pdf_with(b"/Outlines << /First 4 0 R >>", b"", b"<< /Title (a) /A " + LAUNCH + b" >>"),
], ids=["open-js", "open-launch", "no-xref", "escaped", "next-launch", "document-aa",
        "names-js", "page-aa", "link-launch", "field-page-open", "field-launch", "bookmark"])
def test_a_pdf_that_runs_code_when_opened_is_refused(world, promised, pdf):
    """Staff open applicants' PDFs in a desktop reader: a PDF that runs a script
    without the reader acting, or launches a program, is refused as a document
    with macros is, and nothing is kept."""
    case = draft(world, promised, files=False)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk, upload=upload(pdf))
    assert (exc.value.code, exc.value.http_status) == (CasesErrorCode.UPLOAD_TYPE, 415)
    assert exc.value.render("zh-hans") == (
        "文件“申请书.pdf”含有打开时自动运行的脚本或启动程序的动作，请另存为普通 PDF 后上传。")


@pytest.mark.parametrize("pdf", [
    # An agency's fillable form: totals computed, entries checked as one types.
    _pdf_with(*FIELD, b"<< /FT /Tx /T (total) /Subtype /Widget /AA << /C " + JS + b" /K "
              + JS + b" /V " + JS + b" >> >>"),
    _pdf_with(b"", b"/Annots [<< /Subtype /Link /A " + JS + b" >>]"),   # run when clicked
    _pdf_with(b"/OpenAction [3 0 R /Fit] /Names << /JavaScript << /Names [] >> >>"),
    _pdf_with(b"/OpenAction 4 0 R", b"", b"<< /S /GoTo /D [3 0 R /Fit] /Next 4 0 R >>"),
    b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n",     # nothing pypdf can read
], ids=["form-scripts", "link-js", "open-at-page", "next-loop", "unreadable"])
def test_a_pdf_whose_scripts_wait_for_the_reader_is_accepted(world, promised, pdf):
    case = draft(world, promised, files=False)
    record = services.material_upload(actor=world.citizen, case=case,
                                      material_id=_material(promised).pk, upload=upload(pdf))
    assert record.content_type == "application/pdf"


def test_a_pdf_beyond_what_is_read_is_refused_as_too_complex(world, promised, monkeypatch):
    """The reading is bounded: a PDF with more objects than are read is refused
    (a script could hide past them), saying why."""
    from yizhan.cases import uploads

    monkeypatch.setattr(uploads, "PDF_OBJECTS_LIMIT", 2)
    case = draft(world, promised, files=False)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk, upload=upload(_pdf_with()))
    assert (exc.value.code, exc.value.http_status) == (CasesErrorCode.UPLOAD_TYPE, 415)
    assert "结构过于复杂" in exc.value.render("zh-hans")


def _pdf_compressed(catalog: bytes = b"") -> bytes:
    """A PDF 1.5 whose catalog, page tree and page are in a compressed object
    stream (object 4), found through a cross-reference stream (object 5)."""
    import zlib

    bodies = [b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
              b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
              b"<< /Type /Page /Parent 2 0 R >>"]
    offsets, at = [], 0
    for body in bodies:
        offsets.append(at)
        at += len(body) + 1
    header = b" ".join(b"%d %d" % (n, offset) for n, offset in enumerate(offsets, start=1))
    packed = zlib.compress(header + b" " + b" ".join(bodies) + b" ")
    out = b"%PDF-1.5\n"
    stream_at = len(out)
    out += (b"4 0 obj\n<< /Type /ObjStm /N 3 /First %d /Filter /FlateDecode /Length %d >>\n"
            b"stream\n" % (len(header) + 1, len(packed)) + packed + b"\nendstream\nendobj\n")
    xref_at = len(out)
    rows = [(0, 0, 65535), (2, 4, 0), (2, 4, 1), (2, 4, 2), (1, stream_at, 0), (1, xref_at, 0)]
    table = b"".join(bytes([kind]) + a.to_bytes(4, "big") + b.to_bytes(2, "big")
                     for kind, a, b in rows)
    return out + (b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\n"
                  b"stream\n" % len(table) + table
                  + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at)


def test_a_pdf_s_compressed_objects_are_read_within_a_limit(world, promised, monkeypatch):
    """Objects in a compressed object stream are read like any (a script there is
    found); the bytes decoded for them are bounded, and a PDF that needs more is
    refused as too complex to check rather than read at any cost."""
    from yizhan.cases import uploads

    case = draft(world, promised, files=False)
    material = _material(promised).pk
    record = services.material_upload(actor=world.citizen, case=case, material_id=material,
                                      upload=upload(_pdf_compressed()))
    assert record.content_type == "application/pdf"
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case, material_id=material,
                                 upload=upload(_pdf_compressed(b"/OpenAction " + JS)))
    assert "自动运行的脚本" in exc.value.render("zh-hans")
    monkeypatch.setattr(uploads, "PDF_OBJECT_STREAMS_LIMIT", 40)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case, material_id=material,
                                 upload=upload(_pdf_compressed(b"/Lang (zh-CN)")))
    assert (exc.value.code, exc.value.http_status) == (CasesErrorCode.UPLOAD_TYPE, 415)
    assert "结构过于复杂" in exc.value.render("zh-hans")


def test_the_catalog_s_files_are_checked_for_scripts_too():
    """check_upload serves the catalog's blank forms and samples as well."""
    from yizhan.cases.uploads import CATALOG_FILES, check_upload

    with pytest.raises(InvalidInput) as exc:
        check_upload(upload(_pdf_with(b"/OpenAction " + JS), "空白表格.pdf"), CATALOG_FILES)
    assert exc.value.code == CasesErrorCode.UPLOAD_TYPE


def test_a_file_name_is_kept_without_control_characters(world, promised):
    """"合同\u202egpj.exe" reads 合同exe.jpg: the name kept has no bidirectional
    override (nor any other control or format character), and the extension of
    the type the content was checked to be."""
    case = draft(world, promised, files=False)
    record = services.material_upload(actor=world.citizen, case=case,
                                      material_id=_material(promised, "补充说明").pk,
                                      upload=upload(PDF, "合同\u202egpj\u200b\x07.exe"))
    assert record.original_name == "合同gpj.pdf"
    nameless = services.material_upload(actor=world.citizen, case=case,
                                         material_id=_material(promised).pk,
                                         upload=upload(PNG, "\u202e.png"))
    assert nameless.original_name == "申请书.png"     # the material's name stands in


@override_settings(YIZHAN_MAX_UPLOAD_BYTES=len(PDF))
def test_a_file_exactly_at_the_limit_is_taken_and_one_byte_more_is_not(world, promised):
    case = draft(world, promised, files=False)
    material = _material(promised)
    services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                             upload=upload(PDF))
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                                 upload=upload(PDF + b"\n"))
    assert (exc.value.code, exc.value.http_status) == (CasesErrorCode.UPLOAD_TOO_BIG, 413)


@pytest.mark.parametrize("content", [
    b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    b"GIF89a\x01\x00\x01\x00;",
], ids=["svg", "html", "gif"])
def test_markup_named_png_is_refused(world, promised, content):
    exc = _refused_upload(world, promised, content, "scan.png")
    assert exc.value.code == CasesErrorCode.UPLOAD_TYPE


# --- submission -----------------------------------------------------------------


def test_missing_required_materials_are_listed_by_name(world, promised):
    """Submission is refused naming every required material still missing."""
    case = draft(world, promised, files=False)
    services.material_upload(actor=world.citizen, case=case,
                             material_id=_material(promised, "补充说明").pk, upload=upload())
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_submit(actor=world.citizen, case=case)
    assert exc.value.code == CasesErrorCode.MISSING_MATERIALS
    assert exc.value.fields["missing"] == ["申请书", "营业执照"]
    assert "申请书、营业执照" in exc.value.render()
    assert reload(case).status == Case.Status.DRAFT


def test_materials_issued_by_government_are_not_asked_for(world):
    """A required material that a government body issues is fetched, not uploaded."""
    version = publish_item(world, materials=[
        {"name": "申请书", "forms": ["original"]},
        {"name": "户籍证明", "forms": ["electronic"], "source": "government"},
    ])
    case = draft(world, version, files=False)
    services.material_upload(actor=world.citizen, case=case,
                             material_id=_material(version).pk, upload=upload())
    case, _code = services.case_submit(actor=world.citizen, case=case)
    assert case.status == Case.Status.SUBMITTED


def test_optional_materials_are_not_required(world, promised):
    """The two required materials are enough to submit."""
    case = draft(world, promised, files=False)
    for name in ("申请书", "营业执照"):
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised, name).pk, upload=upload())
    case, code = services.case_submit(actor=world.citizen, case=case)
    assert case.status == Case.Status.SUBMITTED
    assert code is not None


def test_submission_numbers_the_case_and_gives_a_query_code(world, promised):
    """办件编号 = division (6) + year (4) + agency (6) + serial (6); the code is 8 digits."""
    case, code = submitted(world, promised)
    year = timezone.localtime(case.submitted_at).year
    agency = world.agency_a
    assert case.number == f"449900{year}{agency.pk:06d}000001"
    assert re.fullmatch(r"\d{22}", case.number)
    assert re.fullmatch(r"\d{8}", code)
    assert case.query_code_hash == sm3_hex(f"{case.number}:{code}".encode())
    assert code not in case.query_code_hash
    second, _code = submitted(world, promised)
    assert second.number == f"449900{year}{agency.pk:06d}000002"
    assert CaseNumberSequence.objects.get(agency=agency, year=year).last == 2


@pytest.fixture
def next_agency_id():
    """``next_agency_id(n)``: the next agency created gets the id ``n``.

    PostgreSQL does not roll a sequence back with the test's transaction: it
    is set back as it was afterwards, or every later test's agencies would
    have ids from ``n`` on.
    """
    from django.db import connection

    sequence = "pg_get_serial_sequence('directory_agency', 'id')"
    saved = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {sequence}")
            name = cursor.fetchone()[0]     # the sequence's name, as PostgreSQL quotes it
            cursor.execute(f"SELECT last_value, is_called FROM {name}")  # noqa: S608
            saved = cursor.fetchone()

    def set_next(value: int) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT setval({sequence}, %s)", [value - 1])
            else:
                cursor.execute("UPDATE sqlite_sequence SET seq = %s "
                               "WHERE name = 'directory_agency'", [value - 1])

    yield set_next
    if saved is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT setval({sequence}, %s, %s)", list(saved))


def _agency_with_item(world, next_agency_id, pk: int, seed: int):
    from tests.cases.helpers import add_agency

    next_agency_id(pk)
    agency, staff = add_agency(world, f"编号局{pk}", credit_seed=seed,
                               roles=(Role.WINDOW_CLERK, Role.SYSADMIN))
    assert agency.pk == pk
    return agency, publish_item(world, agency=agency, publisher=staff[Role.SYSADMIN],
                                name=f"编号许可{pk}")


def test_two_agencies_never_get_the_same_case_number(world, next_agency_id):
    """Every part has its width: agency 1234's serial 500001 and agency 12345's
    serial 1 (the same digits once run together without widths) are two numbers,
    and an agency id of five digits (a province's agencies and their units)
    keeps the documented 22 digits."""
    year = timezone.localtime().year
    (small, small_item), (_large, large_item) = (
        _agency_with_item(world, next_agency_id, 1234, 611),
        _agency_with_item(world, next_agency_id, 12345, 612))
    CaseNumberSequence.objects.create(agency=small, year=year, last=500_000)
    first, _code = services.case_submit(actor=world.citizen, case=draft(world, small_item))
    second, _code = services.case_submit(actor=world.citizen, case=draft(world, large_item))
    assert first.number == f"449900{year}001234500001"
    assert second.number == f"449900{year}012345000001"
    assert re.fullmatch(r"\d{22}", second.number)


def test_a_number_that_would_not_fit_is_refused_not_cut(world, next_agency_id):
    """The agency's millionth case of a year, or an agency id of seven digits,
    has no number of the documented width: the submission is refused with a
    message saying so (never a number another case has, nor a 500), and the
    draft and the year's count stay as they were."""
    year = timezone.localtime().year
    agency, item = _agency_with_item(world, next_agency_id, 4321, 613)
    CaseNumberSequence.objects.create(agency=agency, year=year, last=999_999)
    case = draft(world, item)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_submit(actor=world.citizen, case=case)
    assert exc.value.code == CasesErrorCode.BAD_STATE
    assert "办件编号已用完" in exc.value.render("zh-hans")
    assert CaseNumberSequence.objects.get(agency=agency, year=year).last == 999_999
    _huge, huge_item = _agency_with_item(world, next_agency_id, 1_000_000, 614)
    case = draft(world, huge_item)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_submit(actor=world.citizen, case=case)
    assert exc.value.render("zh-hans") == (
        "机构编号超出办件编号所能容纳的位数，无法编号，请联系系统管理员。")


@pytest.mark.parametrize(("at", "year"), [
    (dt.datetime(2025, 12, 31, 15, 59, 59, tzinfo=dt.UTC), 2025),  # 23:59:59 Beijing
    (dt.datetime(2025, 12, 31, 16, 0, 0, tzinfo=dt.UTC), 2026),    # 1 January, 00:00
], ids=["last-second", "new-year"])
def test_the_number_s_year_is_beijing_s(world, promised, monkeypatch, at, year):
    """The year in the number, and the sequence counted, are those of local
    (Beijing) time, not UTC's."""
    case = draft(world, promised)
    monkeypatch.setattr(timezone, "now", lambda: at)
    case, _code = services.case_submit(actor=world.citizen, case=case)
    assert case.number[6:10] == str(year)
    assert case.number.endswith("000001")
    assert CaseNumberSequence.objects.get(agency=world.agency_a).year == year


def test_a_failed_submission_leaves_no_gap_in_the_serials(world, promised, monkeypatch):
    """The serial is counted in the submission's transaction: a failure after it
    rolls it back, and the next case gets the serial the failed one would have had."""
    case = draft(world, promised)
    real = services._open_tasks

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "_open_tasks", broken)
    with pytest.raises(RuntimeError):
        services.case_submit(actor=world.citizen, case=case)
    assert Case.objects.get(pk=case.pk).number is None
    monkeypatch.setattr(services, "_open_tasks", real)
    case, _code = services.case_submit(actor=world.citizen, case=case)
    assert case.number.endswith("000001")


def test_agencies_number_independently(world, promised):
    """Each agency counts its own serials from 1."""
    of_b = publish_item(world, agency=world.agency_b, name="乙局许可")
    first_a, _code = submitted(world, promised)
    first_b, _code = submitted(world, of_b)
    assert first_a.number.endswith("000001") and first_b.number.endswith("000001")
    assert first_a.number != first_b.number


def test_submission_writes_the_submitted_event_and_audit_record(world, promised):
    """SUBMITTED names the item, version and channel; the audit row names the number."""
    case, _code = submitted(world, promised)
    case = reload(case)
    assert case.status == Case.Status.SUBMITTED
    assert case.submitted_at is not None
    assert event_types(case) == [EventType.SUBMITTED]
    event = case.events.get()
    assert event.data == {"item": promised.item.impl_code, "version": 1, "channel": "online"}
    assert (event.actor, event.agency) == (world.citizen, world.agency_a)
    assert audit_actions(case)[-1] == CasesAction.CASE_SUBMITTED
    record = AuditRecord.objects.get(action=CasesAction.CASE_SUBMITTED)
    assert record.changes == {"number": case.number}


def test_submitting_twice_returns_the_same_case_and_no_second_code(world, promised):
    """A retried submission changes nothing and shows no new query code."""
    case, code = submitted(world, promised)
    with nothing_written():
        again, second_code = services.case_submit(actor=world.citizen, case=case)
    assert again.pk == case.pk
    assert again.number == case.number
    assert code is not None and second_code is None
    assert event_types(case) == [EventType.SUBMITTED]


def test_the_first_task_is_acceptance_by_the_window_clerk(world, promised):
    """受理 waits in the inbox of the accepting agency's window clerk, nowhere else."""
    case, _code = submitted(world, promised)
    task = Task.objects.get(case=case)
    assert (task.name, task.title, task.role, task.agency) == (
        "accept", "受理", Role.WINDOW_CLERK, world.agency_a)
    assert task.status == Task.Status.OPEN
    assert task.due_at is not None
    assert list(selectors.inbox(actor=world.user("a", Role.WINDOW_CLERK))) == [task]
    assert list(selectors.inbox(actor=world.user("b", Role.WINDOW_CLERK))) == []
    assert list(selectors.inbox(actor=world.user("a", Role.REVIEWER))) == []


def test_a_stranger_cannot_submit(world, promised):
    """Only the applicant submits their draft."""
    case = draft(world, promised)
    stranger, _applicant = another_citizen()
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_submit(actor=stranger, case=case)


def test_the_applicant_is_told_after_commit(world, promised, django_capture_on_commit_callbacks):
    """The submission notice goes out once the transaction commits, naming the number."""
    from django.core import mail

    case = draft(world, promised)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case, _code = services.case_submit(actor=world.citizen, case=case)
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    assert case.number in mail.outbox[0].body


def test_a_case_filed_at_the_window_is_told_to_the_applicant_not_to_the_clerk(
        world, promised, django_capture_on_commit_callbacks):
    """The clerk files for an applicant who has an account: the applicant's
    notices go to the applicant's e-mail and phone, never to the clerk's."""
    from django.core import mail

    from yizhan.core.notify import MemorySmsBackend

    clerk = world.user("a", Role.WINDOW_CLERK)
    reachable(clerk, phone="13900009999")
    reachable(world.citizen, phone="13900001111")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submitted(world, promised, actor=clerk)
    assert [m.to for m in mail.outbox if m.subject == "申请已提交"] == [["citizen@example.com"]]
    # (The clerk's phone hears of supervision's alert on a 全程网办 item filed
    # at the window, which is not the applicant's notice.)
    assert [m.phone for m in MemorySmsBackend.outbox if "请等待受理" in m.text] == [
        "13900001111"]


@override_settings(YIZHAN_PUBLIC_URL="https://zwfw.example.gov.cn")
def test_a_walk_in_applicant_without_an_account_is_told_by_sms_with_the_status_page(
        world, promised, django_capture_on_commit_callbacks):
    """No account, so no e-mail and no case page to sign in to: an SMS to the
    applicant's phone, with the status query's address (number and query code)."""
    from django.core import mail

    from tests.factories import valid_id_number
    from yizhan.core.notify import MemorySmsBackend

    clerk = world.user("a", Role.WINDOW_CLERK)
    reachable(clerk, phone="13900009999")
    walk_in = directory_services.applicant_register(
        actor=clerk, kind="person", name="王五", id_number=valid_id_number(seq=11),
        phone="13700002222")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case, _code = submitted(world, promised, actor=clerk, applicant=walk_in)
    assert [m for m in mail.outbox if m.subject == "申请已提交"] == []
    [sms] = [m for m in MemorySmsBackend.outbox if "请等待受理" in m.text]
    assert sms.phone == "13700002222" and case.number in sms.text
    assert sms.text.endswith("https://zwfw.example.gov.cn/status/")


@override_settings(YIZHAN_PUBLIC_URL="https://zwfw.example.gov.cn/")
def test_each_message_ends_with_the_address_of_its_page(
        world, promised, django_capture_on_commit_callbacks):
    """“请登录平台” names the page: the applicant's e-mail and SMS end with the
    address of their case page, a clerk's 新待办 with that of the task page."""
    from django.core import mail

    from tests.cases.helpers import open_task
    from yizhan.core.notify import MemorySmsBackend

    clerk, = reachable(world.user("a", Role.WINDOW_CLERK))
    reachable(world.citizen, phone="13900001111")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case, _code = submitted(world, promised)
    page = f"https://zwfw.example.gov.cn/my/cases/{case.pk}/"
    [to_applicant] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert to_applicant.body.endswith(page)
    assert [m.text.endswith(page) for m in MemorySmsBackend.outbox] == [True]
    [to_clerk] = [m for m in mail.outbox if m.to == [clerk.email]]
    assert to_clerk.body.endswith(
        f"https://zwfw.example.gov.cn/workbench/tasks/{open_task(case, 'accept').pk}/")


@pytest.mark.parametrize("field", ["joint_agencies", "upper_agency"])
def test_an_item_whose_joint_or_upper_agency_closed_takes_no_new_application(world, field):
    """丙局 closed after the item was published: a new application (online or
    filed at the window) and a saved draft are refused, naming 丙局, as for a
    closed accepting agency; nothing is written and no review reaches 丙局.
    A case submitted before goes on."""
    from tests.cases.helpers import add_agency

    # In the province: as the upper agency, 丙局 is above 甲局.
    third, _staff = add_agency(world, "丙局", credit_seed=303, division="440000")
    version = publish_item(world, name="并联许可", materials=[], **(
        {"process_template": "parallel", "joint_agencies": [world.agency_b.name, "丙局"]}
        if field == "joint_agencies" else
        {"process_template": "upper_review", "upper_agency": "丙局"}))
    before, _code = submitted(world, version)
    waiting = draft(world, version, key="saved-before")
    directory_services.agency_update(actor=world.admin, agency=third, is_active=False)
    role = "会同办理机关" if field == "joint_agencies" else "上级审批机关"
    for actor in (world.citizen, world.user("a", Role.WINDOW_CLERK)):
        with nothing_written(), pytest.raises(InvalidInput) as exc:
            services.case_create(actor=actor, item_version=version, applicant=world.applicant)
        assert exc.value.code == CasesErrorCode.ITEM_WITHDRAWN
        assert exc.value.render("zh-hans") == (
            f"该事项已不再办理：其{role}“丙局”已撤销或合并，不能再提出申请。"
            "可拨打 12345 咨询现由哪个部门办理。")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_submit(actor=world.citizen, case=waiting)
    assert exc.value.code == CasesErrorCode.ITEM_WITHDRAWN
    assert f"其{role}“丙局”已撤销或合并。本草稿不能再提交" in exc.value.render("zh-hans")
    # The role sits inside the sentence: not the capitalised label of the guide.
    english = "higher approving agency" if field == "upper_agency" else "joint agency"
    assert f"its {english} “丙局” has been closed" in exc.value.render("en")
    assert reload(waiting).status == Case.Status.DRAFT
    assert not Task.objects.filter(agency=third).exclude(case=before).exists()
    assert reload(before).status == Case.Status.SUBMITTED


def test_materials_are_listed_in_the_files_of_the_case(world, promised):
    """Each required material has exactly one current file after submission."""
    case, _code = submitted(world, promised)
    current = MaterialFile.objects.filter(case=case, replaced=False)
    assert sorted(current.values_list("material__name", flat=True)) == sorted(
        ["申请书", "营业执照", "补充说明"])


@pytest.mark.django_db
def test_the_application_form_is_checked_and_kept(world):
    """Answers to the item's form are typed and stored; a missing required one is refused."""
    from tests.cases.helpers import nothing_written, publish_item
    from yizhan.cases import services as case_services
    from yizhan.core.errors import InvalidInput

    version = publish_item(world, form_fields=[
        {"name": "area", "label": "经营面积", "type": "number", "required": True}])
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        case_services.case_create(actor=world.citizen, item_version=version,
                                  applicant=world.applicant, data={})
    assert "经营面积" in exc.value.render()
    case = case_services.case_create(actor=world.citizen, item_version=version,
                                     applicant=world.applicant, data={"area": "88"})
    assert case.data == {"area": 88}


def test_a_lane_agency_closed_or_doubled_after_publication_stops_submission(world):
    """A lane names its agency: closed, or joined by another of the same name,
    after the item was published, the case is refused, never routed elsewhere."""
    from tests.bpmn.documents import document, flow, user_task

    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + user_task("review", "审查") + user_task("decide", "决定")
            + '<bpmn:endEvent id="approved"/>'
            + flow("start", "accept") + flow("accept", "review") + flow("review", "decide")
            + flow("decide", "approved"))
    xml = document(body, lanes=[("$accepting/window_clerk", ["accept"]),
                                (f"{world.unit_a.name}/reviewer", ["review"]),
                                ("$accepting/agency_head", ["decide"])]).decode()
    version = publish_item(world, name="科室审查事项", process_template="custom", process_xml=xml)
    case, _code = submitted(world, version)
    assert Task.objects.get(case=case).name == "accept"
    assert reload(case).status == Case.Status.SUBMITTED

    directory_services.agency_update(actor=world.admin, agency=world.unit_a, is_active=False)
    waiting = draft(world, version)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_submit(actor=world.citizen, case=waiting)
    assert exc.value.render("zh-hans") == (
        f"流程中的机关“{world.unit_a.name}”不能使用：该机关已停用。")

    directory_services.agency_update(actor=world.admin, agency=world.unit_a, is_active=True)
    directory_services.agency_create(actor=world.admin, name=world.unit_a.name, kind="unit",
                                     division_code="449900", parent_id=world.agency_b.pk)
    with pytest.raises(InvalidInput) as exc:
        services.case_submit(actor=world.citizen, case=waiting)
    assert "有多个在用的机关同名" in exc.value.render("zh-hans")


def test_the_application_data_holds_the_form_s_fields_only(world):
    """Gateways may branch on the answers: a key the form does not have (a ``typename``
    SpiffWorkflow would misread, an ``amount`` to steer the routing) is not kept, and
    a blank optional answer is None, never the "" that breaks ``area > 500``."""
    version = publish_item(world, form_fields=[
        {"name": "area", "label": "经营面积", "type": "number"},
        {"name": "shop_name", "label": "店名", "type": "text"},
        {"name": "chain", "label": "连锁经营", "type": "boolean"}])
    case = services.case_create(actor=world.citizen, item_version=version,
                                applicant=world.applicant,
                                data={"area": "", "amount": 999999, "typename": "x"})
    assert case.data == {"area": None, "shop_name": None, "chain": False}
    case, _code = submitted(world, version, data={"area": "88", "shop_name": " 湖滨小馆 "})
    assert reload(case).data == {"area": 88, "shop_name": "湖滨小馆", "chain": False}


def test_a_clerk_who_left_the_window_no_longer_lists_the_walk_in_cases(world, client_for):
    """A window clerk files 王五's application at the counter.  While they serve
    there, the case is theirs to carry through (permissions._applicant_or_clerk);
    once they leave the window post the case page and the API refuse them (404),
    and 我的办件 and GET /api/v1/cases/mine no longer list it either: the walk-in
    applicant's name, the item, the status and any refusal's reason are not
    shown to someone who may no longer open the case."""
    from tests.cases.helpers import walk_in
    from yizhan.accounts.models import User

    version = publish_item(world)
    clerk = world.user("a", Role.WINDOW_CLERK)
    case, _code = submitted(world, version, actor=clerk, applicant=walk_in(world))
    serving = client_for(clerk)
    assert "王五" in serving.get("/my/cases/").content.decode()
    directory_services.staff_unpost(actor=world.admin, user=clerk,
                                    post=world.posts["a"][Role.WINDOW_CLERK])
    client = client_for(User.objects.get(pk=clerk.pk))
    assert client.get(f"/my/cases/{case.pk}/").status_code == 404

    listed = client.get("/my/cases/").content.decode()
    api = client.get("/api/v1/cases/mine").json()

    assert ("王五" in listed, [row["id"] for row in api]) == (False, [])
