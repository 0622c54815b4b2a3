"""Case API: applying, following and receiving results; tasks for staff."""

import datetime
from typing import Any

from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from yizhan.bpmn.templates import step_title
from yizhan.cases import certificates, clock, permissions, selectors, services
from yizhan.cases.clock import SUSPEND_REASONS
from yizhan.cases.downloads import attachment
from yizhan.cases.models import Certificate
from yizhan.catalog import selectors as catalog_selectors
from yizhan.core.api import AUTH, ListPage, actor_of
from yizhan.core.errors import NotFound
from yizhan.core.middleware import client_ip
from yizhan.directory import selectors as directory_selectors

router = Router(tags=["cases"])


class TaskOut(Schema):
    id: int
    # The case the step is of: a system handling its agency's steps reads the
    # application (GET /cases/{id}) before it decides.
    case_id: int = Field(..., description="the case the step is of (GET /cases/{id})")
    case_number: str | None = Field(..., alias="case.number",
                                    description="that case's number (办件编号)")
    name: str
    title: str
    role: str
    agency_id: int
    agency: str = Field(..., alias="agency.name")
    status: str
    decision: str
    opinion: str
    created_at: datetime.datetime
    due_at: datetime.datetime | None
    # The step's limit runs into a year without holiday data.
    due_provisional: bool
    completed_at: datetime.datetime | None
    # Changes with every change of the task; sent back with a decision, it
    # refuses one taken on a stale reading (409 ``cases.task_changed``).
    version: int

    @staticmethod
    def resolve_title(obj):
        # In the request's language, as the pages show it (the ``step`` filter).
        return step_title(obj.title)


class EventItemOut(Schema):
    name: str = Field(..., description="the material, or the application form's field, to "
                      "correct")
    problem: str


class EventOut(Schema):
    """One event of a case's timeline, wherever it is answered.

    The applicant is answered what their case page shows: the agency, the
    step, an opinion, a correction's items, a review's decision, an
    extension's working days and reason (``selectors.event_shown``, which
    the page follows too).  Staff who see the case by a role (of its agency,
    or of an agency holding one of its tasks) are answered also an extension
    request's days and reason and a declined one's note, as their pages show
    them, who acted (actor_label) and everything the event records (data);
    anyone else is answered as the applicant, those two null.
    """

    type: str
    label: str
    at: datetime.datetime
    agency: str | None = Field(..., description="the name of the agency that acted, or null")
    step: str | None = Field(..., description="the title of the step, in the request's "
                             "language, or null")
    opinion: str = Field(..., description="the opinion given, or \"\"")
    items: list[EventItemOut] = Field(..., description="a correction notice's materials and "
                                      "problems, or []")
    decision: str = Field(..., description="a review's (cases.reviewed) decision, approve "
                          "(同意) or reject (不同意), or \"\"")
    workdays: int | None = Field(..., description="the working days of an extension "
                                 "(cases.extended), or, to staff, of an extension request "
                                 "(cases.extension_requested); else null")
    reason: str = Field(..., description="the reason of that extension (told to the "
                        "applicant, 《行政许可法》第四十二条) or request, or \"\"")
    note: str = Field(..., description="staff only: why the head declined an extension "
                      "request (cases.extension_declined), or \"\"")
    actor_label: str | None = Field(..., description="staff only: who acted (a sign-in "
                                    "name); null for the applicant")
    data: dict[str, Any] | None = Field(..., description="staff only: everything the event "
                                        "records; null for the applicant")

    @staticmethod
    def resolve_label(obj):
        return str(obj.get_type_display())

    @staticmethod
    def resolve_agency(obj):
        return obj.agency.name if obj.agency_id else None

    @staticmethod
    def resolve_step(obj):
        return step_title(obj.task.title) if obj.task_id else None

    @staticmethod
    def resolve_opinion(obj, context):
        return _shown(obj, context).opinion

    @staticmethod
    def resolve_items(obj, context):
        return [{"name": str(item.get("name", "")), "problem": str(item.get("problem", ""))}
                for item in _shown(obj, context).items]

    @staticmethod
    def resolve_decision(obj, context):
        return _shown(obj, context).decision

    @staticmethod
    def resolve_workdays(obj, context):
        return _shown(obj, context).workdays

    @staticmethod
    def resolve_reason(obj, context):
        return _shown(obj, context).reason

    @staticmethod
    def resolve_note(obj, context):
        return _shown(obj, context).note

    @staticmethod
    def resolve_actor_label(obj, context):
        return obj.actor_label if _staff_reads(obj, context) else None

    @staticmethod
    def resolve_data(obj, context):
        return obj.data if _staff_reads(obj, context) else None


def _shown(event, context) -> selectors.EventShown:
    """What the case page would tell this answer's reader of ``event``, read once."""
    if not hasattr(event, "api_shown"):
        event.api_shown = selectors.event_shown(event, staff=_staff_reads(event, context))
    return event.api_shown


def _staff_reads(event, context) -> bool:
    """Whether the answer's reader sees ``event``'s case as its staff do
    (``permissions.case_staff_view``).

    Marked on the event (``seen_as_staff``) by an endpoint that has the case
    at hand; otherwise decided once per case for the request's caller, so
    that every endpoint answering events (the supervision office's too)
    answers the applicant the applicant's view.  Without a request, nobody's.
    """
    marked = getattr(event, "seen_as_staff", None)
    if marked is not None:
        return marked
    request = (context or {}).get("request")
    if request is None:
        return False
    known = request.__dict__.setdefault("cases_seen_as_staff", {})
    if event.case_id not in known:
        known[event.case_id] = selectors.case_id_seen_as_staff(actor=actor_of(request),
                                                               case_id=event.case_id)
    return known[event.case_id]


class RemainingOut(Schema):
    statutory: int | None
    promised: int | None
    provisional: bool


class CaseOut(Schema):
    id: int
    number: str | None
    item: str = Field(..., alias="item_version.name")
    impl_code: str = Field(..., alias="item_version.item.impl_code")
    item_version: int = Field(..., alias="item_version.number")
    applicant: str = Field(..., alias="applicant.name")
    agency: str = Field(..., alias="agency.name")
    status: str
    status_label: str
    outcome: str
    outcome_reason: str
    submitted_at: datetime.datetime | None
    accepted_at: datetime.datetime | None
    statutory_due: datetime.datetime | None
    promised_due: datetime.datetime | None
    due_provisional: bool
    promised_provisional: bool

    @staticmethod
    def resolve_status_label(obj):
        return str(obj.get_status_display())


class CaseMaterialOut(Schema):
    id: int = Field(..., description="the material_id an upload names")
    order: int
    name: str
    necessity: str = Field(..., description="required, conditional or optional")


class FileOut(Schema):
    id: int
    material_id: int
    original_name: str
    content_type: str
    size: int
    digest: str


class CaseFileOut(FileOut):
    replaced: bool = Field(..., description="replaced during a correction (kept: it is "
                           "what was submitted)")


class ExtensionRequestOut(Schema):
    """An extension request (延期申请) to the agency's head."""

    id: int
    workdays: int
    reason: str = Field(..., description="told to the applicant once the head approves")
    status: str = Field(..., description="pending, approved, declined or withdrawn")
    requested_by: str = Field(..., alias="requested_by.username",
                              description="who asked (a sign-in name)")
    requested_at: datetime.datetime
    decided_at: datetime.datetime | None
    decision_note: str = Field(..., description="why the head declined, or \"\"")


def _certificate_of(case) -> Certificate | None:
    """The case's certificate, read once for the fields that describe it."""
    if not hasattr(case, "api_certificate"):
        case.api_certificate = Certificate.objects.filter(case=case).first()
    return case.api_certificate


def _correction_of(case):
    """The case's correction notice, or None when none was given."""
    return getattr(case, "correction", None) if case.corrections else None


class CaseDetail(CaseOut):
    data: dict[str, Any] = Field(..., description="the application's answers (a draft's "
                                 "as saved so far)")
    materials: list[CaseMaterialOut] = Field(..., description="the materials of the item "
                                             "version applied on")
    files: list[CaseFileOut] = Field(..., description="the application's uploaded files, in "
                                     "the order of the materials")
    tasks: list[TaskOut]
    timeline: list[EventOut]
    remaining: RemainingOut
    correction: list[dict[str, Any]] | None
    # 一次告知全部内容: the note is part of the notice, as the case page shows it.
    correction_note: str | None = Field(..., description="what the correction notice says "
                                        "besides its materials (补充说明), \"\" without one; "
                                        "null when no notice was given")
    correction_issued_at: datetime.datetime | None = Field(
        ..., description="when the correction notice was given; null when none was")
    certificate: str | None
    # The holder relies on the certificate: a revocation (注销) is told with
    # its day and reason, as the case page shows them (the public
    # verification leaves the reason out, not the holder's own case).
    certificate_revoked: bool = Field(..., description="whether the certificate was "
                                      "revoked (注销); false without a certificate")
    certificate_revoked_at: datetime.datetime | None = Field(
        ..., description="when it was revoked; null while in force or without one")
    certificate_revoke_reason: str = Field(..., description="why it was revoked, as "
                                           "recorded; \"\" while in force")
    extension_request: ExtensionRequestOut | None = Field(
        None, description="staff only: the extension request waiting for the head; null "
        "when none waits, and for the applicant")

    @staticmethod
    def resolve_materials(obj):
        return list(obj.item_version.materials.order_by("order", "pk"))

    @staticmethod
    def resolve_files(obj):
        return obj.file_list

    @staticmethod
    def resolve_tasks(obj):
        return obj.task_list

    @staticmethod
    def resolve_remaining(obj):
        return selectors.remaining_workdays(obj).__dict__

    @staticmethod
    def resolve_correction(obj):
        notice = _correction_of(obj)
        return notice.items if notice is not None else None

    @staticmethod
    def resolve_correction_note(obj):
        notice = _correction_of(obj)
        return notice.note if notice is not None else None

    @staticmethod
    def resolve_correction_issued_at(obj):
        notice = _correction_of(obj)
        return notice.issued_at if notice is not None else None

    @staticmethod
    def resolve_certificate(obj):
        cert = _certificate_of(obj)
        return cert.number if cert else None

    @staticmethod
    def resolve_certificate_revoked(obj):
        cert = _certificate_of(obj)
        return cert is not None and cert.revoked_at is not None

    @staticmethod
    def resolve_certificate_revoked_at(obj):
        cert = _certificate_of(obj)
        return cert.revoked_at if cert else None

    @staticmethod
    def resolve_certificate_revoke_reason(obj):
        cert = _certificate_of(obj)
        return cert.revoke_reason if cert and cert.revoked_at else ""

    @staticmethod
    def resolve_extension_request(obj):
        # Set by the endpoint, which knows who reads (selectors.pending_extension).
        return getattr(obj, "pending_extension", None)


class PublicEventOut(Schema):
    type: str
    label: str
    at: datetime.datetime

    @staticmethod
    def resolve_label(obj):
        return str(obj.get_type_display())


class CaseStatusOut(Schema):
    """What anyone holding the number and query code sees: no names of staff,
    no opinions."""

    number: str
    item: str = Field(..., alias="item_version.name")
    agency: str = Field(..., alias="agency.name")
    status: str
    status_label: str
    outcome: str
    submitted_at: datetime.datetime | None
    accepted_at: datetime.datetime | None
    statutory_due: datetime.datetime | None
    promised_due: datetime.datetime | None
    due_provisional: bool
    promised_provisional: bool
    remaining: RemainingOut
    timeline: list[PublicEventOut]

    @staticmethod
    def resolve_status_label(obj):
        return str(obj.get_status_display())

    @staticmethod
    def resolve_remaining(obj):
        return selectors.remaining_workdays(obj).__dict__


class CaseIn(Schema):
    impl_code: str = Field(..., description="implementation code of a published item")
    applicant_id: int = Field(..., description="an applicant record of the caller")
    data: dict[str, Any] = Field({}, description="application fields (letters, digits, _)")
    idempotency_key: str = Field("", max_length=64,
                                 description="a retried request with the same key "
                                             "returns the same case")


class Submitted(Schema):
    case: CaseOut
    query_code: str | None = Field(None, description="the query code for the status query "
                                   "without login; null when the case was submitted before "
                                   "(POST /cases/{id}/query-code issues a new one)")


class QueryCodeOut(Schema):
    query_code: str = Field(..., description="the new query code; the old one no longer works")


# The task's ``version`` as read (TaskOut); a client that sends it is refused
# (409 ``cases.task_changed``) when the task changed since.  Without it the
# task is handled as it is.
VERSION = Field(None, ge=0, description="optional: the task's version as read; 409 "
                "cases.task_changed when it changed since")


class DecisionIn(Schema):
    # Named in the schema for generated clients; another value is still
    # answered by the service, 400 cases.bad_decision in both languages.
    decision: str = Field(..., description="approve, reject, or not_accept (不予受理: "
                          "where acceptance is decided, before the case is accepted; a "
                          "reject of the window's accept step is 不予受理 too, of a "
                          "即办件's accept-and-decide step 不予许可)",
                          json_schema_extra={"enum": list(selectors.DECISIONS)})
    opinion: str = Field("", description="required when rejecting or not accepting")
    version: int | None = VERSION


class OpinionIn(Schema):
    opinion: str = Field(..., description="the reasons, required")
    version: int | None = VERSION


class CorrectionItem(Schema):
    """One entry of a correction notice: a material or an answer of the
    application form (one of the two), and its problem."""
    material_id: int | None = Field(None, description="a material of the case's item version")
    field: str | None = Field(None, description="or the name of an application form field "
                              "whose answer is to be corrected")
    problem: str


class CorrectIn(Schema):
    data: dict[str, Any] | None = Field(
        None, description="the corrected answers of every form field the notice lists "
        "(by name), and of no other")


NO_ANSWERS = CorrectIn()


class CorrectionIn(Schema):
    items: list[CorrectionItem]
    note: str = ""
    version: int | None = VERSION


class SuspendIn(Schema):
    reason: str = Field(..., description="the lawful reason: " + ", ".join(SUSPEND_REASONS))
    note: str


# 《行政许可法》第四十二条: ten working days at most, fifteen for an item handled
# by several agencies together (第二款: an item whose process has its joint
# agencies review the case).
EXTENSION_DAYS = (f"1 to {clock.EXTENSION_WORKDAYS}, or 1 to {clock.JOINT_EXTENSION_WORKDAYS} "
                  "for an item whose process has its joint agencies review the case "
                  "(parallel approval, 《行政许可法》第四十二条第二款)")


class ExtendIn(Schema):
    workdays: int = Field(..., description="working days granted, " + EXTENSION_DAYS)
    reason: str


class ExtensionRequestIn(Schema):
    workdays: int = Field(..., description="working days asked for, " + EXTENSION_DAYS)
    reason: str = Field(..., description="told to the applicant if the head approves")


class DeclineIn(Schema):
    # Optional in the schema, so that a body without it is refused by the
    # service naming the field (400 ``cases.no_reason``), as the page's form is.
    note: str = Field("", description="required: why the head does not approve")


NO_DECLINE_NOTE = DeclineIn()


class WithdrawIn(Schema):
    reason: str = ""


# Every field of the body is optional, so the body is too: a withdrawal
# may be sent with none (``curl -X POST``), as docs/api.md lists it.
NO_REASON = WithdrawIn()


class RevokeIn(Schema):
    # Optional in the schema, so that a body sent without it (or no body) is
    # refused by the service naming the field (400 ``cases.no_reason``), as
    # the pages' form is.
    reason: str = Field("", description="required: why the certificate is revoked "
                        "(400 cases.no_reason without it); recorded, never shown publicly")


NO_REVOKE_REASON = RevokeIn()


class FeeChargeIn(Schema):
    fee_id: int = Field(..., description="a fee of the case's item version")
    amount: str = Field(..., description="yuan charged, e.g. \"80.00\"; 0 when waived")
    note: str = ""
    idempotency_key: str = Field("", max_length=64,
                                 description="a retried request with the same key records "
                                             "the fee once")


class VerificationOut(Schema):
    number: str
    title: str
    holder: str
    issuer: str
    issued_at: datetime.datetime
    valid: bool
    revoked: bool
    # When it was revoked (注销), for a system that relies on it to compare
    # with the date it was shown the certificate; null while in force.
    revoked_at: datetime.datetime | None = None
    message: str
    algorithm: str


@router.post("/cases", response={201: CaseOut}, auth=AUTH)
def create_case(request, payload: CaseIn):
    """Start an application (a draft) on a published item.

    An item cancelled or suspended is refused by the service
    (``cases.item_withdrawn``, naming the decision), not reported missing.
    """
    actor = actor_of(request)
    version = catalog_selectors.item_read(impl_code=payload.impl_code)
    applicant = directory_selectors.applicant_get_for_actor(actor=actor,
                                                            applicant_id=payload.applicant_id)
    case = services.case_create(actor=actor, item_version=version, applicant=applicant,
                                data=payload.data, idempotency_key=payload.idempotency_key)
    return Status(201, selectors.case_get_for_actor(actor=actor, case_id=case.pk))


@router.get("/cases/mine", response=list[CaseOut], auth=AUTH)
def my_cases(request, page: Query[ListPage]):
    """The caller's applications, newest first, a page at a time."""
    return page.of(selectors.cases_of_applicant_user(user=actor_of(request)))


class StatusQueryIn(Schema):
    number: str = Field(..., description="the case number (办件编号)")
    code: str = Field(..., description="the query code")


@router.post("/cases/status", response=CaseStatusOut, auth=None)
def case_status_post(request, payload: StatusQueryIn):
    """Status without signing in: the case number and the query code, in the body.

    The way to ask: a query code in a URL ends up in web server and proxy
    logs, and in a browser's history.  Ten wrong tries from one address in
    fifteen minutes are answered 429.
    """
    return services.case_status_lookup(number=payload.number, code=payload.code,
                                       ip=client_ip(request))


@router.get("/cases/status", response=CaseStatusOut, auth=None,
            summary="Case status (discouraged: use POST)")
def case_status(request, number: str, code: str):
    """Status without signing in, the number and the query code in the URL.

    Kept for the clients that use it; discouraged, as the code ends up in
    logs (use ``POST /cases/status``).  Throttled alike.
    """
    return services.case_status_lookup(number=number, code=code, ip=client_ip(request))


@router.get("/cases/{case_id}", response=CaseDetail, auth=AUTH)
def get_case(request, case_id: int):
    """The case with its answers, materials, files, tasks and timeline.  The
    applicant's timeline names the agency and the step, not who acted
    (``actor_label`` and ``data`` are null): the staff's names it."""
    actor = actor_of(request)
    case = selectors.case_detail(actor=actor, case_id=case_id)
    staff = permissions.case_staff_view(actor, case=case)
    for event in case.timeline:
        event.seen_as_staff = staff
    case.pending_extension = selectors.pending_extension(case, actor=actor) if staff else None
    return case


@router.post("/cases/{case_id}/materials", response={201: FileOut}, auth=AUTH)
def upload_material(request, case_id: int, material_id: Form[int], file: File[UploadedFile]):
    """Upload one material file: PDF, JPG, PNG or OFD, at most the platform's limit
    (`YIZHAN_MAX_UPLOAD_BYTES`, 10 MB unless the operator sets another; the
    413 `cases.upload_too_big` answer names it).  A PDF that runs a script or
    starts a program when opened is refused (415 `cases.upload_type`).  The
    file's name may be sent in UTF-8 or in GB18030 (GBK); a name in neither
    is refused (400 `core.file_name_encoding`)."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    record = services.material_upload(actor=actor, case=case, material_id=material_id,
                                      upload=file)
    return Status(201, record)


@router.post("/cases/{case_id}/submit", response=Submitted, auth=AUTH)
def submit_case(request, case_id: int):
    """Submit a draft; repeating it returns the case unchanged."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    case, code = services.case_submit(actor=actor, case=case)
    return {"case": selectors.case_get_for_actor(actor=actor, case_id=case.pk),
            "query_code": code}


@router.post("/cases/{case_id}/query-code", response=QueryCodeOut, auth=AUTH)
def reissue_query_code(request, case_id: int):
    """A new query code for a submitted case (the old one stops working).

    For a client that lost the code: the answer to /submit went astray, and
    submitting again answers ``query_code: null``.
    """
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    _case, code = services.case_query_code_reissue(actor=actor, case=case)
    return {"query_code": code}


@router.post("/cases/{case_id}/correct", response=CaseOut, auth=AUTH)
def correct_case(request, case_id: int, payload: CorrectIn = NO_ANSWERS):
    """Resubmit after uploading every material the correction notice lists,
    with the corrected answers of the form fields it lists."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_correct(actor=actor, case=case, data=payload.data)


@router.post("/cases/{case_id}/withdraw", response=CaseOut, auth=AUTH)
def withdraw_case(request, case_id: int, payload: WithdrawIn = NO_REASON):
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_withdraw(actor=actor, case=case, reason=payload.reason)


@router.post("/cases/{case_id}/suspend", response=CaseOut, auth=AUTH)
def suspend_case(request, case_id: int, payload: SuspendIn):
    """Stop the clock for a lawful reason (the reviewers and head of the deciding
    agency: for an upper-level review sent up, the upper agency)."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_suspend(actor=actor, case=case, reason=payload.reason,
                                 note=payload.note)


@router.post("/cases/{case_id}/resume", response=CaseOut, auth=AUTH)
def resume_case(request, case_id: int):
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_resume(actor=actor, case=case)


@router.post("/cases/{case_id}/extend", response=CaseOut, auth=AUTH)
def extend_case(request, case_id: int, payload: ExtendIn):
    """The one extension (at most 10 working days, 15 for an item with joint
    agencies), by the head of the deciding agency (for an upper-level review
    sent up, the upper agency); with a request waiting
    (``/extension-request``), its approval (the head may grant fewer days or
    reword the reason)."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_extend(actor=actor, case=case, workdays=payload.workdays,
                                reason=payload.reason)


@router.post("/cases/{case_id}/extension-request", response=ExtensionRequestOut, auth=AUTH)
def request_extension(request, case_id: int, payload: ExtensionRequestIn):
    """延期申请: the holder of a step of the case in the deciding agency (window or
    reviewer, as a person) asks that agency's head for the one extension.
    Sent again with the same values, the request made is answered; another
    while one waits is refused (409 ``cases.extension_pending``)."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_extension_request(actor=actor, case=case, workdays=payload.workdays,
                                           reason=payload.reason)


@router.post("/cases/{case_id}/extension-request/decline", response=ExtensionRequestOut,
             auth=AUTH)
def decline_extension(request, case_id: int, payload: DeclineIn = NO_DECLINE_NOTE):
    """The head does not approve the waiting request, with the reason (the
    requester is told).  Approving it is ``POST /cases/{id}/extend``."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_extension_decline(actor=actor, case=case, note=payload.note)


@router.post("/cases/{case_id}/extension-request/withdraw", response=ExtensionRequestOut,
             auth=AUTH)
def withdraw_extension(request, case_id: int):
    """Whoever asked takes their waiting request back."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_extension_withdraw(actor=actor, case=case)


@router.post("/cases/{case_id}/fees", response=CaseOut, auth=AUTH)
def charge_fee(request, case_id: int, payload: FeeChargeIn):
    """Record a fee charged on the case (the window of the case's agency)."""
    actor = actor_of(request)
    case = selectors.case_get_for_actor(actor=actor, case_id=case_id)
    return services.case_fee_charge(actor=actor, case=case, fee_id=payload.fee_id,
                                    amount=payload.amount, note=payload.note,
                                    idempotency_key=payload.idempotency_key)


@router.get("/cases/{case_id}/certificate", auth=AUTH, openapi_extra={"responses": {200: {
    "description": "the signed certificate, as an attachment",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}})
def download_certificate(request, case_id: int):
    """The signed certificate PDF of an approved case."""
    case = selectors.case_get_for_actor(actor=actor_of(request), case_id=case_id)
    certificate = Certificate.objects.filter(case=case).first()
    if certificate is None:
        raise NotFound()
    return attachment(certificate, certificate.number, "application/pdf")


@router.get("/tasks/inbox", response=list[TaskOut], auth=AUTH)
def task_inbox(request, page: Query[ListPage]):
    """What the caller can do: open tasks of their roles in their agencies and
    the tasks they claimed (not a colleague's), soonest due first, a page at a time."""
    return page.of(selectors.inbox(actor=actor_of(request)))


@router.post("/tasks/{task_id}/claim", response=TaskOut, auth=AUTH)
def claim_task(request, task_id: int):
    actor = actor_of(request)
    task = selectors.task_get_for_actor(actor=actor, task_id=task_id)
    return services.task_claim(actor=actor, task=task)


@router.post("/tasks/{task_id}/complete", response=TaskOut, auth=AUTH)
def complete_task(request, task_id: int, payload: DecisionIn):
    """Handle a task: approve, or reject (or not_accept, 不予受理, where acceptance
    is decided) with reasons."""
    actor = actor_of(request)
    task = selectors.task_get_for_actor(actor=actor, task_id=task_id)
    services.task_complete(actor=actor, task=task, decision=payload.decision,
                           opinion=payload.opinion, expected_version=payload.version)
    task.refresh_from_db()
    return task


@router.post("/tasks/{task_id}/return", response=list[TaskOut], auth=AUTH)
def return_task(request, task_id: int, payload: OpinionIn):
    """退回: send a review or decision back to the step before it; returns the reopened tasks."""
    actor = actor_of(request)
    task = selectors.task_get_for_actor(actor=actor, task_id=task_id)
    return services.task_return(actor=actor, task=task, opinion=payload.opinion,
                                expected_version=payload.version)


@router.post("/tasks/{task_id}/correction", response=CaseOut, auth=AUTH)
def request_correction(request, task_id: int, payload: CorrectionIn):
    """一次性告知: every material and form answer to correct, once (at acceptance)."""
    actor = actor_of(request)
    task = selectors.task_get_for_actor(actor=actor, task_id=task_id)
    services.case_request_correction(actor=actor, task=task,
                                     items=[i.dict(exclude_none=True) for i in payload.items],
                                     note=payload.note,
                                     expected_version=payload.version)
    return selectors.case_get_for_actor(actor=actor, case_id=task.case_id)


@router.post("/certificates/{number}/revoke", response=VerificationOut, auth=AUTH)
def revoke_certificate(request, number: str, payload: RevokeIn = NO_REVOKE_REASON):
    """注销证照: the head of the issuing agency, as a person, with the reason."""
    actor = actor_of(request)
    certificate = Certificate.objects.select_related("case").filter(number=number).first()
    if certificate is None:
        raise NotFound()
    selectors.case_get_for_actor(actor=actor, case_id=certificate.case_id)
    certificate = certificates.certificate_revoke(actor=actor, certificate=certificate,
                                                  reason=payload.reason)
    return _verification(certificate)


def _verification(certificate, checked=None):
    """The certificate as verified: its archived file's verdict, or ``checked``,
    the verdict on a file someone sent (``certificate_check_file``)."""
    if checked is None:
        result = certificates.certificate_verify(certificate=certificate)
        # As the page says it: a revoked certificate says since when.
        checked = certificates.FileCheck(
            ok=result.ok, message=certificates.certificate_verdict(certificate, result))
    # The names printed on the certificate, not the agency's or holder's today.
    return {"number": certificate.number, "title": certificate.title,
            "holder": certificate.holder_name, "issuer": certificate.issuer_name,
            "issued_at": certificate.issued_at, "valid": checked.ok,
            "revoked": certificate.revoked_at is not None, "revoked_at": certificate.revoked_at,
            "message": checked.message, "algorithm": certificate.algorithm}


@router.get("/certificates/verify/{token}", response=VerificationOut, auth=None)
def verify_certificate(request, token: str, response: HttpResponse):
    """Public check of a certificate (the QR code's target), stored file re-verified."""
    # Never kept by a cache: a revocation shows at once.
    add_never_cache_headers(response)
    return _verification(selectors.certificate_by_token(token=token))


@router.post("/certificates/verify/{token}", response=VerificationOut, auth=None)
def verify_certificate_file(request, token: str, file: File[UploadedFile],
                            response: HttpResponse):
    """Check a file someone was sent against the certificate (multipart `file`),
    as the verification page does.

    `valid` is true only for the exact bytes that were signed, of a
    certificate in force; `message` says what the file is otherwise (another
    certificate, the signed file changed after issue, or not the original).
    A file that differs is answered 200 with `valid` false; one that cannot
    be compared is refused: empty (400 `core.invalid_input`), larger than
    the platform's upload limit (413 `cases.upload_too_big`), not a PDF (415
    `cases.upload_type`).  An unknown token is a 404.  The file is neither
    kept nor opened, only compared.
    """
    add_never_cache_headers(response)
    certificate = selectors.certificate_by_token(token=token)
    checked = certificates.certificate_check_file(certificate=certificate, upload=file)
    return _verification(certificate, checked)
