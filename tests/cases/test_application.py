"""Applying: drafts, material uploads and submission."""

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
    publish_item,
    reload,
    stored_files,
    submitted,
    upload,
)
from tests.factories import item_content, valid_credit_code
from yizhan.audit.models import AuditRecord
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
    # A draft on the old version is not continued: it could not be submitted.
    old = draft(world, v2, key="old-draft", files=False)
    Case.objects.filter(pk=old.pk).update(item_version=promised)
    with pytest.raises(Conflict) as exc:
        services.case_create(actor=world.citizen, item_version=v2,
                             applicant=world.applicant, idempotency_key="old-draft")
    assert exc.value.code == CasesErrorCode.KEY_REUSED


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
    case = draft(world, promised, files=False)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.material_upload(actor=world.citizen, case=case,
                                 material_id=_material(promised).pk,
                                 upload=upload(b"just some text\n%%EOF\n", "申请书.pdf"))
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


def test_uploading_again_replaces_the_earlier_file(world, promised):
    """A second file for the same material marks the first one replaced."""
    case = draft(world, promised, files=False)
    first = services.material_upload(actor=world.citizen, case=case,
                                     material_id=_material(promised).pk, upload=upload(PDF))
    second = services.material_upload(actor=world.citizen, case=case,
                                      material_id=_material(promised).pk, upload=upload(PNG))
    first.refresh_from_db()
    assert first.replaced is True
    assert second.replaced is False


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
    """办件编号 = division (6) + year (4) + agency (4) + serial (6); the code is 8 digits."""
    case, code = submitted(world, promised)
    year = timezone.localtime(case.submitted_at).year
    agency = world.agency_a
    assert case.number == f"449900{year}{agency.pk % 10000:04d}000001"
    assert re.fullmatch(r"\d{20}", case.number)
    assert re.fullmatch(r"\d{8}", code)
    assert case.query_code_hash == sm3_hex(f"{case.number}:{code}".encode())
    assert code not in case.query_code_hash
    second, _code = submitted(world, promised)
    assert second.number == f"449900{year}{agency.pk % 10000:04d}000002"
    assert CaseNumberSequence.objects.get(agency=agency, year=year).last == 2


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
