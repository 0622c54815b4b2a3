"""Catalog API: the public catalog, and editing, review and import for staff."""

import datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from yizhan.catalog import selectors, services, transfer
from yizhan.catalog.content import agency_reference
from yizhan.catalog.models import THEMES, Item
from yizhan.core.api import AUTH, ListPage, actor_of
from yizhan.core.errors import NotFound
from yizhan.core.times import utc_text
from yizhan.directory import selectors as directory_selectors

router = Router(tags=["catalog"])


class ItemSummary(Schema):
    impl_code: str = Field(..., alias="item.impl_code")
    name: str
    item_type: str
    agency: str = Field(..., alias="item.agency.name")
    case_type: str
    statutory_limit: int
    promised_limit: int
    online_depth: int
    visits_required: int
    version: int = Field(..., alias="number")


class MaterialOut(Schema):
    order: int
    name: str
    forms: list[str]
    necessity: str
    condition: str
    copies: int
    source: str
    blank_form: str
    blank_form_file: str = Field(..., description="sha256 of the uploaded blank form, or \"\"")
    blank_form_file_name: str = Field(..., description="the name this material gives the "
                                      "blank form (shown and downloaded under), or \"\"")
    blank_form_url: str | None = Field(None, description="where to download the blank form "
                                       "(null once the item is cancelled or suspended)")
    sample: str
    sample_file: str = Field(..., description="sha256 of the uploaded sample, or \"\"")
    sample_file_name: str = Field(..., description="the name this material gives the "
                                  "sample, or \"\"")
    sample_url: str | None = Field(None, description="where to download the sample (null "
                                   "once the item is cancelled or suspended)")
    acceptance_standard: str
    basis: str

    @staticmethod
    def resolve_blank_form_url(obj):
        return _download_url(obj.blank_form_download, obj.version)

    @staticmethod
    def resolve_sample_url(obj):
        return _download_url(obj.sample_download, obj.version)


class GuideMaterialOut(MaterialOut):
    # In the guide only: a published version's materials are the ones applied
    # with.  An editor's draft is written anew by every PUT, its ids with it.
    id: int = Field(..., description="the material_id an upload names "
                    "(POST /cases/{id}/materials)")


def _download_url(record, version) -> str | None:
    """The path of a catalog file's download (``/services/files/<sha256>/<name>``), or
    None: no file, or a published version of an item taken out of service, whose
    files are no longer served (``selectors.catalog_file_for``)."""
    if record is None or (version.status == version.Status.PUBLISHED
                          and version.item.is_withdrawn):
        return None
    return record.url


class FeeOut(Schema):
    name: str
    standard: str
    amount: Decimal | None
    basis: str
    waivable: bool
    waiver_basis: str = Field(..., description="who or what case is exempt, by which "
                              "rule (减免依据); \"\" for a fee that is not waivable")


class WithdrawalOut(Schema):
    kind: str = Field(..., description="cancelled (取消, final) or suspended (暂停办理)")
    since: datetime.datetime
    reason: str = Field(..., description="the decision's name and number")


def _withdrawal(item) -> dict | None:
    if not item.is_withdrawn:
        return None
    return {"kind": item.withdrawn_kind, "since": item.withdrawn_at,
            "reason": item.withdrawn_reason}


class ItemGuide(ItemSummary):
    withdrawal: WithdrawalOut | None = Field(
        None, description="null while the item is in service; else cancelled or suspended, "
        "since when, by which decision (the item is then out of the search and export, "
        "and no application is taken)")
    basic_code: str
    exercise_level: str
    legal_basis: str
    service_objects: list[str]
    acceptance_conditions: str
    process_description: str
    limit_notes: str
    result_name: str
    result_type: str
    result_sample: str
    result_sample_file: str = Field(..., description="sha256 of the uploaded result "
                                    "sample, or \"\"")
    result_sample_file_name: str = Field(..., description="the name this version gives "
                                         "the result sample, or \"\"")
    result_sample_url: str | None = Field(None, description="where to download the "
                                          "result sample (null once the item is cancelled "
                                          "or suspended)")
    handling_place: str = Field(..., description="where to apply in person (办理地点), "
                                "or \"\"")
    handling_hours: str = Field(..., description="when (办理时间), or \"\"")
    consultation: str
    complaint: str
    special_procedures: list[str]
    themes: list[str]
    form_fields: list[dict]
    process_template: str
    status: str
    published_at: datetime.datetime | None
    joint_agencies: list[str]
    upper_agency: str | None
    materials: list[GuideMaterialOut]
    fees: list[FeeOut]

    @staticmethod
    def resolve_withdrawal(obj):
        return _withdrawal(obj.item)

    @staticmethod
    def resolve_joint_agencies(obj):
        return [a.name for a in obj.joint_agencies.all()]

    @staticmethod
    def resolve_upper_agency(obj):
        return obj.upper_agency.name if obj.upper_agency_id else None

    @staticmethod
    def resolve_materials(obj):
        return list(obj.materials.all())

    @staticmethod
    def resolve_fees(obj):
        return list(obj.fees.all())

    @staticmethod
    def resolve_result_sample_url(obj):
        return _download_url(obj.result_sample_download, obj)


class VersionOut(ItemGuide):
    id: int
    review_note: str
    # As PUT takes them: without ids, which the next PUT would change.
    materials: list[MaterialOut]
    # The editors' view of the content: what PUT takes, so that a version
    # read, changed and written back keeps its uploaded process.  Not in the
    # public guide, which describes the process in words.
    process_xml: str = Field(..., description="the uploaded BPMN process (process_template "
                             "\"custom\"), or \"\"")
    # Named as PUT takes them and an export writes them (credit codes): a
    # name is unique only within a division, and one another agency bears
    # too would be refused when the version is written back as read.
    joint_agencies: list[str] = Field(..., description="credit codes (a unit without one "
                                      "by its name), as PUT takes them")
    upper_agency: str | None = Field(..., description="a credit code (a unit without one "
                                     "by its name), as PUT takes it, or null")
    edited_at: str = Field(..., description="the version's last edit (content or file), "
                           "UTC to the microsecond: sent back as PUT's base_edited_at, or "
                           "publish's and return's edited_at, it refuses the write if the "
                           "version changed since it was read")

    @staticmethod
    def resolve_joint_agencies(obj):
        return [agency_reference(a) for a in obj.joint_agencies.all()]

    @staticmethod
    def resolve_upper_agency(obj):
        return agency_reference(obj.upper_agency) if obj.upper_agency_id else None

    @staticmethod
    def resolve_edited_at(obj):
        # As an export writes base_edited_at: a JSON time has milliseconds only.
        return utc_text(obj.edited_at)


class MaterialIn(Schema):
    name: str
    forms: list[str] = ["original"]
    necessity: str = "required"
    condition: str = ""
    copies: int = 1
    source: str = "applicant"
    blank_form: str = ""
    blank_form_file: str = Field("", description="sha256 of a file uploaded on the desk "
                                 "(kept when the content is sent back as read)")
    blank_form_file_name: str = Field("", description="the name to show it under (its "
                                      "extension is the file's type); omitted: the "
                                      "material's name")
    sample: str = ""
    sample_file: str = Field("", description="sha256 of a file uploaded on the desk")
    sample_file_name: str = Field("", description="the name to show it under; omitted: "
                                  "the material's name")
    acceptance_standard: str = ""
    basis: str = ""


class CatalogFeeIn(Schema):
    name: str
    standard: str
    amount: Decimal | None = None
    basis: str
    waivable: bool = False
    waiver_basis: str = Field("", description="required when waivable: who or what case "
                              "is exempt, and the document and number that say so")


class VersionIn(Schema):
    """The content of an item version; see docs/catalog.md for every field."""

    name: str
    basic_code: str = Field(..., description="e.g. XK00101000")
    item_type: str = ""
    exercise_level: str = Field(..., description="1 national … 5 township")
    legal_basis: str
    joint_agencies: list[str] = Field([], description="credit codes, or names only one "
                                      "agency bears")
    upper_agency: str | None = Field(None, description="a credit code, or a name only one "
                                     "agency bears")
    service_objects: list[str] = Field(..., description="natural and/or legal")
    acceptance_conditions: str
    process_description: str = ""
    statutory_limit: int
    promised_limit: int
    limit_notes: str = ""
    case_type: str = "promised"
    result_name: str = ""
    result_type: str = ""
    result_sample: str = ""
    result_sample_file: str = Field("", description="sha256 of a file uploaded on the desk")
    result_sample_file_name: str = Field("", description="the name to show it under; "
                                         "omitted: the result's name")
    visits_required: int = 0
    online_depth: int = 4
    handling_place: str = Field("", description="where to apply in person (办理地点), "
                                "at most 500 characters")
    handling_hours: str = Field("", description="when (办理时间), at most 200 characters")
    consultation: str = ""
    complaint: str = ""
    special_procedures: list[str] = []
    themes: list[str] = []
    form_fields: list[dict] = Field([], description="the application form's fields: "
                                    "name, label, type, required, choices")
    process_template: str = "promised"
    process_xml: str = ""
    materials: list[MaterialIn] = []
    fees: list[CatalogFeeIn] = []
    base_edited_at: str | None = Field(None, description="the edited_at of the version as "
                                       "read: if it was edited since, the PUT is refused "
                                       "(409 catalog.stale_version) and nothing is written")


class ItemCreateIn(Schema):
    agency_id: int
    impl_code: str | None = Field(None, description="omit to generate from the codes")
    content: VersionIn


class NoteIn(Schema):
    note: str = ""
    edited_at: str | None = Field(None, description="the edited_at of the version as the "
                                  "reviewer read it: if it was edited since, it is neither "
                                  "published nor returned (409 catalog.stale_version)")


# Every field of the body is optional, so the body is too: a publication
# may be sent with none; a return without its note is refused by the
# service, naming the field.
NO_NOTE = NoteIn()


class ImportOut(Schema):
    created: list[str]
    drafted: list[str]
    suspended: list[str] = Field(..., description="of drafted, the items suspended: their "
                                 "drafts are published only once the item is restored")
    unchanged: list[str] = Field(..., description="items whose record holds what their latest "
                                 "version holds (or, for a record without a code, what an "
                                 "item of the agency holds): nothing was written for them")


@router.get("/items", response=list[ItemSummary], auth=None)
def search_items(request, page: Query[ListPage], q: str = "", agency: int | None = None,
                 theme: str = "", type: str = ""):
    """Published items, a page at a time; ``q`` is matched word by word (Chinese
    segmentation)."""
    return page.of(selectors.item_search(query=q, agency_id=agency, theme=theme,
                                         item_type=type))


@router.get("/themes", response=dict[str, str], auth=None)
def list_themes(request):
    """Life events and enterprise themes: code -> name."""
    return {code: str(label) for code, label in THEMES.items()}


@router.get("/items/{impl_code}", response=ItemGuide, auth=None)
def get_item(request, impl_code: str):
    """The complete guide (办事指南) of a published item, and its state: ``withdrawal``
    says when an item was cancelled or suspended, since when and by which decision."""
    return selectors.item_read(impl_code=impl_code)


@router.get("/export", auth=None)
def export_catalog(request, format: Literal["json", "xlsx"] = "json"):
    """The published catalog as JSON or Excel (``format=xlsx``); another format is refused."""
    versions = selectors.versions_for_export(selectors.published_versions())
    if format == "xlsx":
        response = HttpResponse(
            transfer.export_excel(versions),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = 'attachment; filename="catalog.xlsx"'
        return response
    return HttpResponse(transfer.export_json(versions), content_type="application/json")


@router.post("/items", response={201: VersionOut}, auth=AUTH)
def create_item(request, payload: ItemCreateIn):
    """Create an item of an agency; its first version is a draft."""
    agency = directory_selectors.agency_get(agency_id=payload.agency_id)
    version = services.item_create(actor=actor_of(request), agency=agency,
                                   data=payload.content.dict(), impl_code=payload.impl_code)
    return Status(201, version)


@router.get("/versions/{version_id}", response=VersionOut, auth=AUTH)
def get_version(request, version_id: int):
    """Any version (drafts included) of an item of the caller's agencies."""
    return selectors.version_get_for_editor(actor=actor_of(request), version_id=version_id)


@router.put("/versions/{version_id}", response=VersionOut, auth=AUTH)
def edit_version(request, version_id: int, payload: VersionIn):
    version = selectors.version_get_for_editor(actor=actor_of(request), version_id=version_id)
    return services.item_version_edit(actor=actor_of(request), version=version,
                                      data=payload.dict())


@router.post("/items/{impl_code}/versions", response={201: VersionOut}, auth=AUTH)
def draft_version(request, impl_code: str):
    """Start the next version of an item as a copy of its latest."""
    item = Item.objects.filter(impl_code=impl_code).first()
    if item is None:
        raise NotFound()
    return Status(201, services.item_version_draft(actor=actor_of(request), item=item))


@router.post("/versions/{version_id}/submit", response=VersionOut, auth=AUTH)
def submit_version(request, version_id: int):
    version = selectors.version_get_for_editor(actor=actor_of(request), version_id=version_id)
    return services.item_version_submit(actor=actor_of(request), version=version)


@router.post("/versions/{version_id}/publish", response=VersionOut, auth=AUTH)
def publish_version(request, version_id: int, payload: NoteIn = NO_NOTE):
    """Publish a pending version (a reviewer other than its editor)."""
    version = selectors.version_get_for_editor(actor=actor_of(request), version_id=version_id)
    return services.item_version_publish(actor=actor_of(request), version=version,
                                         note=payload.note, seen_edited_at=payload.edited_at)


@router.post("/versions/{version_id}/return", response=VersionOut, auth=AUTH)
def return_version(request, version_id: int, payload: NoteIn = NO_NOTE):
    version = selectors.version_get_for_editor(actor=actor_of(request), version_id=version_id)
    return services.item_version_return(actor=actor_of(request), version=version,
                                        note=payload.note, seen_edited_at=payload.edited_at)


@router.post("/import", response=ImportOut, auth=AUTH)
def import_catalog(request, file: File[UploadedFile]):
    """Import items from .xlsx or .json: all records or none; errors list each row.

    A record equal to its item's latest version is not written (``unchanged``);
    one exported from a version edited since (``base_version``,
    ``base_edited_at``) is refused."""
    records = transfer.read_upload(file.name, file.read(transfer.MAX_IMPORT_BYTES + 1))
    result = transfer.catalog_import(actor=actor_of(request), records=records,
                                     source=file.name)
    return {"created": result.created, "drafted": result.drafted,
            "suspended": result.suspended, "unchanged": result.unchanged}
