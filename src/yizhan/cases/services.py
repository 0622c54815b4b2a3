"""State changes of cases: application, acceptance, review, decision, delivery.

Every function here is one user action: it locks the case row (so that two
steps of one case — say two joint reviews finishing together — never lose
each other's process state), checks permission, validates, advances the
BPMN process, writes, appends the case event and the audit record, and
schedules notifications after commit.  Each runs in its own short
transaction; a failure anywhere leaves the case exactly as it was.
"""

import datetime
import re
import secrets
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan import bpmn
from yizhan.accounts.models import person_of
from yizhan.audit.services import audit_append
from yizhan.bpmn import task_kind
from yizhan.cases import certificates, clock, events, notifications, permissions, selectors
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import (
    Case,
    CaseEvent,
    CaseNumberSequence,
    Certificate,
    CorrectionNotice,
    EventType,
    ExtensionRequest,
    MaterialFile,
    StatusQueryFailure,
    Task,
)
from yizhan.cases.signals import deadlines_moved
from yizhan.cases.uploads import check_upload
from yizhan.catalog import form_spec
from yizhan.catalog import selectors as catalog_selectors
from yizhan.catalog.content import file_display_name
from yizhan.catalog.models import Fee, Item, ItemVersion, Material
from yizhan.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Throttled,
    joined,
    listed_later,
    rendered_later,
    worded_in_each_language,
)
from yizhan.core.ids import parse_id
from yizhan.core.middleware import throttle_address
from yizhan.core.permissions import require
from yizhan.core.tasks import enqueue
from yizhan.directory import selectors as directory_selectors
from yizhan.directory.authz import forget_scope
from yizhan.workdays.arithmetic import Deadline
from yizhan.workdays.selectors import calendar_cache_clear, calendar_current, calendar_held

MAX_DATA_KEYS = 100
_DATA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")
# The supervision office checks an agency's reply to a notice within five
# working days (Yizhan's default, a step limit like any other).
NOTICE_VERIFY_WORKDAYS = 5


# What a step on an applicant's behalf, or one that tells the applicant
# (``notifications.TOLD_KINDS``), reads besides the item version: the
# applicant and their account, whose contact the applicant is told at.
APPLICANT_SIDE = ("applicant", "applicant__user")


def _lock(case: Case, *related: str) -> Case:
    """The case, locked, with its item version and the ``related`` rows a step reads.

    Every step reads the item version (the process, the limits).  Joining
    the other rows on every step cost a review a tenth of its time in the
    ORM alone (measured with bench/lifecycle.py), so they come only when the
    step names them; a row not named still loads, with a query of its own,
    when read.
    """
    return Case.objects.select_for_update(of=("self",)).select_related(
        "item_version", *related).get(pk=case.pk)


def _application_data(item_version: ItemVersion, data, *, unfinished: bool = False) -> dict:
    """``data`` checked as the case will carry it: the form's answers cleaned.

    The process's own data rules (finite numbers, no reserved names, size)
    are applied here too, so that nothing is stored in a draft that
    submission would then refuse.  ``unfinished`` (a draft saved from the
    application page) keeps the answers given and valid and leaves out the
    others, required or refused, unreported: the page reports them at their
    fields, and submission checks the stored answers in full
    (``_check_answers_complete``).
    """
    if data is None:
        data = {}
    if not isinstance(data, dict) or len(data) > MAX_DATA_KEYS:
        raise InvalidInput(_("申请信息应为不超过 %(n)s 项的键值对。"), field="data",
                           n=MAX_DATA_KEYS)
    bad = [key for key in data if not isinstance(key, str) or not _DATA_KEY.match(key)]
    if bad:
        raise InvalidInput(_("申请信息的字段名只能由字母、数字和下划线组成：%(keys)s"),
                           field="data", keys=listed_later(bad))
    if item_version.form_fields and unfinished:
        answers, _problems = form_spec.clean_unfinished(item_version.form_fields, data)
        data = {field["name"]: answers.get(field["name"])
                for field in item_version.form_fields}
    elif item_version.form_fields:
        answers = _answers_in_full(item_version.form_fields, data,
                                   _("申请信息有误：%(detail)s"))
        # Only the form's answers: gateways may branch on them, so a key the
        # form does not have would let the applicant steer the routing, and
        # a blank optional answer is None (a condition tests ``x is not
        # None``), never the "" that makes ``area > 500`` fail every step.
        data = {field["name"]: answers.get(field["name"])
                for field in item_version.form_fields}
    try:
        return bpmn.check_data(data)
    except bpmn.ProcessCallError as exc:
        raise InvalidInput(exc.message, field="data", **exc.fields) from None


def _check_answers_complete(case: Case) -> None:
    """The stored answers of a draft, checked in full before it is submitted: a
    draft may hold an application form's answers unfinished (``unfinished``)."""
    if case.item_version.form_fields:
        _answers_in_full(case.item_version.form_fields, case.data,
                         _("申请信息尚未填写完整：%(detail)s"))


def _answers_in_full(fields: list, data: dict, message) -> dict:
    """The form's answers cleaned, every required one given and each valid;
    refused with ``message`` (its ``detail`` the problems) otherwise, each
    problem by its field's name (``problems``) for the page to show there."""
    answers, problems = form_spec.clean_answers(fields, data)
    if problems:
        # Worded as found, in the request's language; checked again in each
        # language so that each message is in one language throughout.
        raise InvalidInput(message, field="data", problems=problems,
                           detail=worded_in_each_language(lambda: joined(
                               form_spec.clean_answers(fields, data)[1].values())))
    return answers


def _check_applicant_served(item_version: ItemVersion, applicant) -> None:
    wanted = applicant.SERVICE_OBJECT[applicant.kind]
    if wanted not in item_version.service_objects:
        raise InvalidInput(_("该事项不受理%(who)s的申请。"), code=CasesErrorCode.APPLICANT,
                           who=_("自然人") if wanted == "natural" else _("法人"))


# --- application -------------------------------------------------------------

@transaction.atomic
def case_create(*, actor, item_version: ItemVersion, applicant, data: dict | None = None,
                idempotency_key: str = "", unfinished: bool = False) -> Case:
    """Start an application (a draft) for ``applicant`` on a published item.

    With an ``idempotency_key`` a retried request returns the case the first
    one created, never a second.  With ``unfinished`` the draft keeps the
    answers given and valid and leaves out the others (``_application_data``),
    so that a form refused for an answer still keeps its files in the draft;
    ``case_submit`` then checks the answers in full.  An applicant applies online only for an
    item offered online (网上办理深度 三级 or above); a window clerk of the
    item's agency files a walk-in application for any of its items, recorded
    as the window's.
    """
    require(permissions.case_create(actor, applicant=applicant, item_version=item_version),
            action="case_create")
    at_window = permissions.files_at_window(actor, applicant=applicant)
    key = (idempotency_key or "").strip()[:64]
    if key:
        existing = Case.objects.filter(submitted_by=actor, idempotency_key=key).first()
        if existing is not None:
            return _continue_keyed(existing, actor=actor, item_version=item_version,
                                   applicant=applicant, data=data, unfinished=unfinished)
    item = _check_taking_in(item_version, at_window=at_window, draft=False)
    _check_applicant_served(item_version, applicant)
    data = _application_data(item_version, data, unfinished=unfinished)
    now = timezone.now()
    case = Case(kind="approval", item_version=item_version, applicant=applicant,
                submitted_by=actor, agency_id=item.agency_id,
                channel="window" if at_window else "online", data=data,
                idempotency_key=key, created_at=now)
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        # The same key, committed by a concurrent retry: that one wins.
        existing = Case.objects.filter(submitted_by=actor, idempotency_key=key).first()
        if existing is None:
            raise
        return existing
    audit_append(actor=actor, action=CasesAction.CASE_CREATED, obj=case,
                 agency_id=case.agency_id,
                 changes={"item": item.impl_code, "version": item_version.number,
                          "applicant": applicant.pk})
    return case


def _check_taking_in(item_version: ItemVersion, *, at_window: bool, draft: bool) -> Item:
    """``item_version`` takes in an application: it is the version in force of an
    item still offered, online unless the window files it.  Returns the item.

    A new application and a draft moved onto the version in force
    (``_draft_move``) are checked alike; ``draft`` words the refusals for the
    latter.
    """
    # Read afresh: the caller's version may have been loaded before a newer
    # version superseded it, and its cached item would still say published.
    item = Item.objects.select_related("agency").get(pk=item_version.item_id)
    if item.published_id != item_version.pk:
        raise InvalidInput(_("该事项版本未发布或已被新版本替代，请从事项指南重新申请。"),
                           code=CasesErrorCode.NOT_PUBLISHED)
    _check_still_offered(item, draft=draft)
    _check_agencies_open(item_version, draft=draft)
    if not at_window and not item_version.offered_online:
        raise Conflict(_("该事项不提供网上申请，请按办事指南到窗口办理。"),
                       code=CasesErrorCode.NOT_ONLINE)
    return item


def _check_still_offered(item: Item, *, draft: bool, agency=None) -> None:
    """Nothing new is taken in on an item out of service: its agency closed (or
    merged), or the item cancelled or suspended by a decision
    (catalog.services.item_withdraw).  A new application and a draft saved
    before are refused alike, each told so; cases submitted before go on.
    ``agency`` is the item's, when the caller holds it already.
    """
    if not (agency or item.agency).is_active:
        raise InvalidInput(
            _("该事项已不再办理：其实施机关已撤销或合并。本草稿不能再提交，"
              "可拨打 12345 咨询现由哪个部门办理。") if draft else
            _("该事项已不再办理：其实施机关已撤销或合并，不能再提出申请。"
              "可拨打 12345 咨询现由哪个部门办理。"),
            code=CasesErrorCode.ITEM_WITHDRAWN)
    if item.is_withdrawn:
        raise InvalidInput(_("%(withdrawal)s本草稿不能再提交。") if draft else
                           _("%(withdrawal)s现在不能提出申请。"),
                           code=CasesErrorCode.ITEM_WITHDRAWN,
                           withdrawal=rendered_later(item.withdrawal_statement),
                           withdrawn_kind=item.withdrawn_kind, decision=item.withdrawn_reason)


def _check_agencies_open(item_version: ItemVersion, *, draft: bool) -> None:
    """Nothing new is taken in whose process would reach a closed agency.

    A joint or upper agency closed (or merged) after the version was
    published would still get a review task of every new case, in an inbox
    nobody works at, and the case would wait there past its limit.  Refused
    as for a closed accepting agency (``_check_still_offered``), naming it;
    cases submitted before go on.
    """
    closed = catalog_selectors.closed_named_agencies(item_version)
    if not closed:
        return
    field, agency = closed[0]
    raise InvalidInput(
        _("该事项已不再办理：其%(role)s“%(agency)s”已撤销或合并。本草稿不能再提交，"
          "可拨打 12345 咨询现由哪个部门办理。") if draft else
        _("该事项已不再办理：其%(role)s“%(agency)s”已撤销或合并，不能再提出申请。"
          "可拨打 12345 咨询现由哪个部门办理。"),
        code=CasesErrorCode.ITEM_WITHDRAWN, agency=agency.name,
        role=catalog_selectors.ROLE_IN_A_SENTENCE[field])


def _continue_keyed(case: Case, *, actor, item_version: ItemVersion, applicant, data,
                    unfinished: bool = False) -> Case:
    """The case an idempotency key already named, for a request sent again.

    The same request again (a double click, a retry after a dropped
    connection) gets the case back.  A draft takes the applicant and the
    answers of the request: the application page sends its key again after
    a refusal, with what the applicant corrected.  A key sent for another
    item, or for other answers once the case is submitted, is refused
    rather than answered with a case that is not the one asked for.
    A retry that arrives after the item got a new version names a case
    already submitted on the old one: that case is the answer (its answers
    followed the old version's form, so they are not compared).  One that
    names a draft on the old one moves the draft onto the version in force
    (``_draft_move``), and goes on as for a draft of it.

    A draft the window filed is the walk-in applicant's whose document the
    clerk checked: sent again for another applicant (another person's
    document at the counter, the wrong row looked up), it is refused, not
    switched, lest one person's answers and scans be filed as another's
    application.  An account's own draft may switch between the applicant
    records it acts for (the apply page's choice).
    """
    if (case.channel == "window" and case.status == Case.Status.DRAFT
            and case.applicant_id != applicant.pk):
        raise Conflict(_("该请求编号的代办申请草稿是另一申请人的，不能改为此申请人的申请；"
                         "请核对申请人的证件，或重新打开申请页面。"),
                       code=CasesErrorCode.KEY_REUSED)
    if case.item_version_id != item_version.pk:
        earlier = ItemVersion.objects.filter(pk=case.item_version_id,
                                             item_id=item_version.item_id).exists()
        if case.was_submitted and case.applicant_id == applicant.pk and earlier:
            return case
        if case.status != Case.Status.DRAFT or not earlier:
            raise Conflict(_("该请求编号已用于其他事项或事项版本的申请，请重新打开申请页面。"),
                           code=CasesErrorCode.KEY_REUSED)
        case = _draft_move(case, actor=actor, item_version=item_version, applicant=applicant)
    data = _application_data(item_version, data, unfinished=unfinished)
    if case.applicant_id == applicant.pk and case.data == data:
        return case
    case = _lock(case, "applicant")
    if case.status != Case.Status.DRAFT and not case.was_submitted:
        # A draft its applicant withdrew before submitting it: no application
        # was made, so there is none to lead to.
        raise Conflict(_("该请求编号的草稿已撤回，请重新打开申请页面。"),
                       code=CasesErrorCode.KEY_REUSED)
    if case.status != Case.Status.DRAFT:
        # The case named, for the page to lead to it: the form sent again
        # from the browser's history after it went through, changed.
        raise Conflict(_("该请求编号的申请已经提交，内容不能再更改。"),
                       code=CasesErrorCode.KEY_REUSED, case_id=case.pk, number=case.number)
    _check_applicant_served(item_version, applicant)
    before = {"applicant": case.applicant_id, "data": case.data}
    case.applicant = applicant
    case.data = data
    case.save(update_fields=["applicant", "data"])
    audit_append(actor=actor, action=CasesAction.DRAFT_UPDATED, obj=case,
                 agency_id=case.agency_id,
                 changes={"applicant": [before["applicant"], applicant.pk],
                          "data": [before["data"], data]})
    return case


def _draft_move(case: Case, *, actor, item_version: ItemVersion, applicant) -> Case:
    """The draft ``case``, of an earlier version of the item, moved onto
    ``item_version``, the version in force, for its form sent again by its key.

    A form refused after it filed the draft comes back with the same key; if
    the agency publishes a new version meanwhile, the draft could never be
    submitted (``case_submit`` wants the version in force), and refusing the
    key would bring the page back with it again, the files chosen lost.  So
    the draft goes over as a form opened before the new version does
    (``selectors.materials_as_posted``): each file as the new version's
    material of the same name.  A file of a material the new version no
    longer asks for is dropped, as a file replaced in a draft is: it never
    was part of an application.  The answers go through the new version's
    form, keeping those given and valid (a draft's, ``unfinished``).
    Refused as a new application would be when the new version takes none in.
    """
    case = _lock(case, "applicant")
    if case.status != Case.Status.DRAFT or case.item_version_id == item_version.pk:
        return case   # moved, or ended, by a request that went first
    item = _check_taking_in(item_version, draft=True, at_window=permissions.files_at_window(
        actor, applicant=applicant))
    _check_applicant_served(item_version, applicant)
    earlier = case.item_version
    refiled = {before: now for now, before in selectors.materials_as_posted(
        version=item_version, posted_version_id=earlier.pk, posted_ids=()).posted_as.items()}
    dropped = []
    for record in MaterialFile.objects.filter(case=case).select_related("material"):
        if record.material_id in refiled:
            MaterialFile.objects.filter(pk=record.pk).update(
                material_id=refiled[record.material_id])
            continue
        record.delete()
        _file_delete_on_commit(record.file.name)
        dropped.append({"material": record.material.name, "file": record.original_name,
                        "sm3": record.digest})
    before = case.data
    case.item_version = item_version
    case.agency_id = item.agency_id
    case.data = _application_data(item_version, before, unfinished=True)
    case.save(update_fields=["item_version", "agency", "data"])
    audit_append(actor=actor, action=CasesAction.DRAFT_UPDATED, obj=case,
                 agency_id=case.agency_id,
                 changes={"version": [earlier.number, item_version.number],
                          "item_version": [earlier.pk, item_version.pk],
                          "data": [before, case.data], "dropped_files": dropped})
    return case


def material_upload(*, actor, case: Case, material_id: int, upload) -> MaterialFile:
    """Attach a checked file to a material of a draft or a case under correction.

    The file is checked before anything is written, stored, and removed
    again if the database write fails, so a refused upload leaves nothing.
    """
    # Checked once before the file is read or stored, and again under the lock.
    require(permissions.material_upload(actor, case=case), action="material_upload")
    checked = check_upload(upload)
    name = default_storage.save(f"cases/{case.pk}/{checked.digest}",
                                ContentFile(checked.content))
    try:
        record = _material_record(actor=actor, case=case, material_id=material_id,
                                  upload=upload, checked=checked, name=name)
    except BaseException:
        default_storage.delete(name)
        raise
    if record.file.name != name:   # the same file again: the copy is not kept
        default_storage.delete(name)
    return record


@transaction.atomic
def _material_record(*, actor, case, material_id, upload, checked, name) -> MaterialFile:
    case = _lock(case, *APPLICANT_SIDE)
    require(permissions.material_upload(actor, case=case), action="material_upload")
    if case.status == Case.Status.WITHDRAWN:
        # Withdrawn as a draft too, never submitted: not "已提交".
        raise Conflict(_("办件已撤回，不能再上传材料。"), code=CasesErrorCode.BAD_STATE)
    if case.status in (Case.Status.CLOSED, Case.Status.NOT_ACCEPTED):
        raise Conflict(_("办件已办结，不能再上传材料。"), code=CasesErrorCode.BAD_STATE)
    if case.status not in (Case.Status.DRAFT, Case.Status.CORRECTION):
        raise Conflict(_("办件已提交，不能再上传材料（补正时除外）。"),
                       code=CasesErrorCode.BAD_STATE)
    material = Material.objects.filter(pk=material_id, version_id=case.item_version_id).first()
    if material is None:
        raise InvalidInput(_("该事项没有这项材料。"), field="material_id")
    if case.status == Case.Status.CORRECTION and material.pk not in {
            item.get("material_id") for item in case.correction.items}:
        # 一次性告知: the notice lists everything to correct; the window
        # accepted the other materials as they stand, and they stay so.
        raise Conflict(_("补正告知没有列出“%(name)s”，该材料不能更换。"),
                       code=CasesErrorCode.NOT_IN_NOTICE, name=material.name)
    current = MaterialFile.objects.filter(case=case, material=material, replaced=False).first()
    if current is not None and current.digest == checked.digest and (
            case.status == Case.Status.DRAFT
            or current.uploaded_at >= case.correction.issued_at):
        # A retried upload (a page sent again, a client's retry): the file
        # is there already, in this phase.  A file the correction notice
        # found fault with, sent again unchanged, is a new answer to it.
        return current
    changes = {}
    if current is not None and case.status == Case.Status.DRAFT:
        # A file replaced in the draft was never part of the application:
        # neither staff nor storage keep it (a draft may be edited any
        # number of times).  During a correction the file the notice
        # found fault with stays, marked replaced, as the record of what
        # was first submitted.
        current.delete()
        _file_delete_on_commit(current.file.name)
        changes["replaced_sm3"] = current.digest
    elif current is not None:
        MaterialFile.objects.filter(pk=current.pk).update(replaced=True)
    record = MaterialFile(
        case=case, material=material,
        # Without folders or control characters (a right-to-left override
        # makes 合同\u202egpj.exe read 合同exe.jpg), and with the extension
        # of the type the content was checked to be.
        original_name=file_display_name(upload.name, material.name, checked.kind.extension),
        content_type=checked.kind.content_type, size=checked.size, digest=checked.digest,
        uploaded_by=actor, uploaded_at=timezone.now(),
    )
    record.file.name = name
    record.save()
    audit_append(actor=actor, action=CasesAction.MATERIAL_UPLOADED, obj=case,
                 agency_id=case.agency_id,
                 changes={"material": material.name, "file": record.original_name,
                          "sm3": checked.digest, "size": checked.size, **changes})
    return record


def _file_delete_on_commit(name: str) -> None:
    """Delete a material's stored file once the transaction that dropped its row
    commits, unless a row still refers to it (files are stored by digest)."""

    def delete():
        if not MaterialFile.objects.filter(file=name).exists():
            default_storage.delete(name)

    transaction.on_commit(delete)


def _missing_materials(case: Case) -> list[str]:
    # Materials issued by government bodies are fetched through data sharing
    # (免提交): the applicant is never asked to upload them.
    return list(case.item_version.materials
                .filter(necessity=Material.Necessity.REQUIRED)
                .exclude(source=Material.Source.GOVERNMENT)
                .exclude(pk__in=MaterialFile.objects.filter(case=case, replaced=False)
                         .values("material_id"))
                .values_list("name", flat=True))


# The widths of the case number's agency id and serial.  Every part has a
# fixed width, so that no two (agency, serial) pairs read as the same digits:
# six digits hold the ids of a province's agencies and their internal
# units, and a year's serials of the busiest one.
NUMBER_AGENCY_DIGITS = 6
NUMBER_SERIAL_DIGITS = 6


def _allocate_number(case: Case, now, agency=None) -> str:
    """办件编号: division (6) + year (4) + agency (6) + serial in the year (6).

    The agency is the one that numbers the case: the accepting agency, or
    for a supervision notice the office that issues it.  A part that would
    not fit its width is refused, never cut or widened: the number would
    then be another case's.
    """
    agency = agency or case.agency
    if agency.pk >= 10 ** NUMBER_AGENCY_DIGITS:
        raise Conflict(_("机构编号超出办件编号所能容纳的位数，无法编号，请联系系统管理员。"),
                       code=CasesErrorCode.BAD_STATE)
    year = timezone.localtime(now).year
    sequence = CaseNumberSequence.objects.filter(agency_id=agency.pk, year=year)
    if not sequence.update(last=F("last") + 1):
        # The agency's first case of the year.
        CaseNumberSequence.objects.get_or_create(agency_id=agency.pk, year=year)
        sequence.update(last=F("last") + 1)
    serial = sequence.get().last
    if serial >= 10 ** NUMBER_SERIAL_DIGITS:
        # Raised inside the step's transaction: the count goes back with it.
        raise Conflict(_("本机构本年度的办件编号已用完（每年最多 %(most)s 件），"
                         "请联系系统管理员。"),
                       code=CasesErrorCode.BAD_STATE, most=10 ** NUMBER_SERIAL_DIGITS - 1)
    division = agency.division.code[:6].ljust(6, "0")
    return (f"{division}{year}{agency.pk:0{NUMBER_AGENCY_DIGITS}d}"
            f"{serial:0{NUMBER_SERIAL_DIGITS}d}")


def _agencies_for(case: Case, definition: bpmn.ProcessDefinition) -> dict:
    from yizhan.catalog.process import named_agency
    from yizhan.directory.models import Agency

    version = case.item_version
    mapping: dict = {}
    for ref in definition.agency_refs:
        if ref == bpmn.ACCEPTING:
            mapping[ref] = case.agency_id
        elif ref == bpmn.JOINT:
            mapping[ref] = sorted(version.joint_agencies.values_list("id", flat=True))
        elif ref == bpmn.UPPER:
            mapping[ref] = version.upper_agency_id
        else:
            agency = named_agency(ref)
            if agency is None:
                raise InvalidInput(_("流程中的机关“%(name)s”不存在。"), name=ref)
            if not isinstance(agency, Agency):
                raise InvalidInput(_("流程中的机关“%(name)s”不能使用：%(reason)s。"),
                                   name=ref, reason=agency)
            mapping[ref] = agency.pk
    return mapping


def _task_limit(case: Case, kind: str) -> int:
    """Working days allowed for one step (every task has its own limit).

    Acceptance and delivery: one working day; the review and decision
    steps share the promised limit, review half, decision a quarter.  The
    shares are whole days of at least one, and a process may have more
    steps than review and decision (an upper-level review's three), so
    their sum may exceed the promise: once the case is accepted, a step's
    due is also capped at the case's promised deadline (``_within_promise``).
    """
    if case.kind == Case.Kind.NOTICE:
        # The notice states the addressee's limit; the office checks a reply
        # within NOTICE_VERIFY_WORKDAYS.
        return case.data["reply_workdays"] if kind == "reply" else NOTICE_VERIFY_WORKDAYS
    promised = case.item_version.promised_limit
    if kind in ("accept", "deliver"):
        return 1
    if kind == "review":
        return max(1, promised // 2)
    return max(1, promised // 4)


def _task_due(case: Case, kind: str, start, *, paused: int = 0, calendar=None) -> Deadline:
    """When a step of ``kind`` whose limit began at ``start`` is due: its own
    limit in working days, and the ``paused`` working days the case's clock
    has stood still since."""
    return (calendar or calendar_held()).deadline(
        start, _task_limit(case, kind) + paused, timezone.get_default_timezone())


def _within_promise(case: Case, kind: str, due: Deadline, *, late: bool) -> Deadline:
    """``due``, or the case's promised deadline where that comes first.

    The steps up to the decision are done within what the case promises
    (《行政许可法》第四十二条 counts the limit to the decision): a step's own
    limit never runs past it, once acceptance has set it.  Delivery has its
    own limit after the decision (第四十四条) and is not capped.  The mark
    that goes with the date is that of whichever deadline wins.

    A step that opened ``late``, the promise already run out
    (``_opened_late``), keeps its own limit: capped, it would be overdue
    the moment it arrived, and supervision would hold its post (an upper
    agency receiving the case late) to account for the delay of the steps
    before it.
    """
    promised = case.promised_due
    if (promised is None or case.accepted_at is None or kind == "deliver" or late
            or due.at <= promised):
        return due
    local = timezone.localtime(promised)
    return Deadline(local, local.date(), case.promised_provisional)


def _opened_late(task: Task, promised) -> bool:
    """Whether the open ``task`` opened once the case's promised deadline (as it
    stood, ``promised``) had passed: its limit is then its own
    (``_within_promise``), and so runs past that deadline, as no capped
    step's does.  Asked before a pause is given back or the calendar counted
    again, so that a step keeps the limit it opened with."""
    return promised is not None and task.due_at is not None and task.due_at > promised


def _open_tasks(case: Case, step: bpmn.Step, now) -> list[Task]:
    """A task for each user task the step made ready.

    The case's open tasks are the process's ready user tasks before the
    step (both are written in the same transaction), so the ones the step
    made ready are new to the case: nothing is read to find them.
    """
    created = []
    calendar = calendar_held() if step.opened else None
    for ready in step.opened:
        kind = task_kind(ready.name)
        due = _within_promise(case, kind, _task_due(case, kind, now, calendar=calendar),
                              late=case.promised_due is not None and case.promised_due <= now)
        created.append(Task(case=case, spiff_id=ready.task_id, name=ready.name,
                            title=ready.title, role=ready.role, agency_id=ready.agency_id,
                            created_at=now, due_at=due.at, due_provisional=due.provisional))
    Task.objects.bulk_create(created)
    if created:
        # New steps with their own limits: supervision plans its next look.
        case.next_check_at = now
        if case.kind != Case.Kind.NOTICE:   # notices tell their addressees themselves
            notifications.tasks_opened(created)
    return created


def _cancel_withdrawn(case: Case, step: bpmn.Step) -> list[int]:
    """Close the open tasks the process withdrew in this step; return their ids,
    so that the caller tells their holders why (``notifications.tasks_cancelled``)."""
    if not step.cancelled:
        return []
    return _cancel_open(Task.objects.filter(case=case, spiff_id__in=step.cancelled))


def _cancel_open(tasks) -> list[int]:
    """Cancel those of ``tasks`` still to do (open or claimed); return their ids,
    for their holders to be told (``notifications.tasks_cancelled``).  The
    version moves, so that a page open on one refuses its form."""
    ids = list(tasks.filter(status__in=[Task.Status.OPEN, Task.Status.CLAIMED])
               .values_list("pk", flat=True))
    Task.objects.filter(pk__in=ids).update(status=Task.Status.CANCELLED,
                                           version=F("version") + 1)
    return ids


@transaction.atomic
def case_submit(*, actor, case: Case) -> tuple[Case, str | None]:
    """Submit a draft; returns the case and its query code (shown once).

    Submitting a case that is already submitted returns it unchanged, with
    no code: a retried click does nothing twice.
    """
    case = _lock(case, *APPLICANT_SIDE, "item_version__item", "agency__division")
    require(permissions.case_submit(actor, case=case), action="case_submit")
    if case.status != Case.Status.DRAFT:
        return case, None
    _check_still_offered(case.item_version.item, draft=True, agency=case.agency)
    if case.item_version.item.published_id != case.item_version_id:
        # The item was changed since the draft began (a withdrawal was told
        # above): its materials and conditions may no longer be the ones in
        # force.  The draft is not lost: sent again by its key on the version
        # in force, it moves there with its files (_draft_move).
        raise InvalidInput(_("该事项的办事指南已更新，本草稿须按现行办事指南修改申请信息后"
                             "再提交，已上传的同名材料会保留。"),
                           code=CasesErrorCode.NOT_PUBLISHED)
    _check_agencies_open(case.item_version, draft=True)
    _check_answers_complete(case)
    missing = _missing_materials(case)
    if missing:
        raise InvalidInput(_("还缺少必要材料：%(names)s"), code=CasesErrorCode.MISSING_MATERIALS,
                           names=listed_later(missing), missing=missing)
    version = case.item_version
    # The runtime keeps each parsed specification by its hash, so steps never
    # re-parse it; only the agencies the process names are read here.
    definition = bpmn.ProcessDefinition.from_json(version.process_spec)
    now = timezone.now()
    step = bpmn.start(version.process_spec, data=case.data,
                      agencies=_agencies_for(case, definition))
    case.number = _allocate_number(case, now)
    code = _new_query_code(case)
    case.status = Case.Status.SUBMITTED
    case.submitted_at = now
    case.process_state = step.state_json
    _open_tasks(case, step, now)
    case.save(update_fields=["number", "query_code_hash", "status", "submitted_at",
                             "process_state", "next_check_at"])
    events.append(case=case, type=EventType.SUBMITTED, actor=actor,
                  data={"item": version.item.impl_code, "version": version.number,
                        "channel": case.channel})
    audit_append(actor=actor, action=CasesAction.CASE_SUBMITTED, obj=case,
                 agency_id=case.agency_id, changes={"number": case.number})
    notifications.case_submitted(case)
    return case, code


def _new_query_code(case: Case) -> str:
    """A fresh 8-digit query code for ``case``; only its hash is kept."""
    code = f"{secrets.randbelow(10**8):08d}"
    case.query_code_hash = selectors.query_code_digest(case.number, code)
    return code


@transaction.atomic
def case_query_code_reissue(*, actor, case: Case) -> tuple[Case, str]:
    """A new query code for a submitted case; the old one stops working.

    The code is shown once, at submission: a lost response, a double click
    whose second page came back without it, or a page reloaded in large
    text must not leave the applicant without one, so the signed-in
    applicant (or the clerk who filed for them) may ask for a new one.
    """
    case = _lock(case)
    require(permissions.case_query_code_reissue(actor, case=case),
            action="case_query_code_reissue")
    if not case.number:
        # A draft, or one withdrawn unsubmitted: the query code goes with the
        # case number (its digest is keyed by it), which only submitting gives.
        raise Conflict(_("草稿尚未提交，没有查询码。"), code=CasesErrorCode.BAD_STATE)
    code = _new_query_code(case)
    case.save(update_fields=["query_code_hash"])
    audit_append(actor=actor, action=CasesAction.QUERY_CODE_REISSUED, obj=case,
                 agency_id=case.agency_id, changes={"number": case.number})
    return case, code


# --- cases the platform issues ------------------------------------------------

@transaction.atomic
def case_issue(*, actor, kind: str, item_version: ItemVersion, applicant, agency,
               issuer, data: dict) -> Case:
    """Start a case that nobody applies for: one an office issues to ``agency``.

    A supervision notice (监察督办) is in progress from the moment it is
    issued and its clock runs from then: there is no draft, no window and
    no acceptance.  ``issuer`` numbers it; the process's first step is the
    addressee's.  ``data`` holds what the notice says, and
    ``data["reply_workdays"]`` the addressee's limit.
    """
    require(permissions.case_issue(actor, agency=agency), action="case_issue")
    now = timezone.now()
    case = Case(kind=kind, item_version=item_version, applicant=applicant, submitted_by=actor,
                agency=agency, channel="online", data=data, status=Case.Status.IN_PROGRESS,
                created_at=now, submitted_at=now, accepted_at=now)
    case.save()
    case.number = _allocate_number(case, now, agency=issuer)
    definition = bpmn.ProcessDefinition.from_json(item_version.process_spec)
    step = bpmn.start(item_version.process_spec, data={},
                      agencies=_agencies_for(case, definition))
    case.process_state = step.state_json
    _open_tasks(case, step, now)
    case.save(update_fields=["number", "process_state", "next_check_at"])
    events.append(case=case, type=EventType.NOTICE_ISSUED, actor=actor, agency_id=issuer.pk,
                  data={"kind": kind, "to": agency.pk, **{
                      k: v for k, v in data.items() if k in ("type", "title", "alerts",
                                                            "reply_workdays")}})
    audit_append(actor=actor, action=CasesAction.CASE_ISSUED, obj=case, agency_id=issuer.pk,
                 changes={"number": case.number, "kind": kind, "to": agency.name})
    notifications.notice_issued(case)
    return case


# --- staff steps -------------------------------------------------------------

@transaction.atomic
def task_claim(*, actor, task: Task) -> Task:
    """Take a task (签收/承办): exactly one of two people claiming at once wins.

    The case is locked first, as by every other step: a claim that locked
    its task first met a withdrawal or a recount (case, then tasks) in a
    deadlock.
    """
    task, _case = _locked(task)
    require(permissions.task_claim(actor, task=task), action="task_claim")
    if task.status == Task.Status.CLAIMED and task.claimed_by_id == getattr(actor, "pk", None):
        return task
    now = timezone.now()
    won = Task.objects.filter(pk=task.pk, status=Task.Status.OPEN, version=task.version).update(
        status=Task.Status.CLAIMED, claimed_by=person_of(actor), claimed_at=now,
        version=F("version") + 1)
    if not won:
        raise Conflict(_("该环节已被他人签收或已办理，请刷新待办列表。"),
                       code=CasesErrorCode.TASK_TAKEN)
    task.refresh_from_db()
    events.append(case=task.case, type=EventType.TASK_CLAIMED, actor=actor, task=task,
                  data={"task": task.name})
    audit_append(actor=actor, action=CasesAction.TASK_CLAIMED, obj=task.case,
                 agency_id=task.agency_id, changes={"task": task.title})
    return task


def release_claims(*, actor, user, posts) -> list[Task]:
    """Put back in their post's inbox the tasks ``user`` claimed and can no longer do.

    Runs when a person stops holding roles (``directory.signals.posts_left``:
    a post left, the account switched off, a grant revoked), in the
    transaction of that change, whose service checked that ``actor`` may
    make it; and for grants that ran out, which nobody announces, from the
    periodic ``claims_release_lapsed`` (``actor`` None: the system).  A
    claim is held for ever otherwise: nobody else in the post may handle the
    task, the one who claimed it no longer may, and the case would stand
    still past its limit.

    ``posts``, the ``(agency id, role)`` pairs left, say which roles' claims
    to look at; whether one goes back is decided as the step itself decides
    who may act, on the person's whole scope as it is now (their posts with
    the units below them, their live grants).  A claim in a role they still
    hold there, by another post or a grant, stays theirs.
    """
    forget_scope(user)
    roles = {role for _agency, role in posts}
    claimed = [task for task in Task.objects.filter(claimed_by=user, status=Task.Status.CLAIMED,
                                                    role__in=roles).order_by("case_id", "pk")
               if not permissions.task_claim(user, task=task)]
    # Lock order: every case first, in case_id order, and only then the
    # releases, each of which appends (takes an audit chain head).  Locking
    # the next case after appending for the last one held a head while
    # waiting for a case, which a step on that case (case, then head) holds.
    cases = {case_id: _lock(Case(pk=case_id))
             for case_id in sorted({task.case_id for task in claimed})}
    # Read again under the cases' locks, at once: a step that closed one
    # meanwhile held its case until it committed.
    current = Task.objects.filter(pk__in=[task.pk for task in claimed],
                                  status=Task.Status.CLAIMED, claimed_by=user).in_bulk()
    released = []
    now = timezone.now()
    for task in claimed:
        task = current.get(task.pk)
        if task is None:
            continue
        task.case = case = cases[task.case_id]
        _release(task, case, actor=actor, holder=user, now=now)
        released.append(task)
    notifications.tasks_opened(released)
    return released


def claims_release_lapsed() -> list[Task]:
    """Put back in their post's inbox the tasks claimed through a grant that has run out.

    System work (no actor), run periodically (``tasks.release_lapsed_claims``):
    an expiry is no change anyone makes, so nothing announces it as leaving
    a post or a revocation is announced.  Until then the one who claimed may
    no longer act, and the post that may neither lists nor counts the task.
    The candidates are found in one query, the claims whose holder had a
    grant of the task's role that expired after the claim was made; each
    holder's then go through ``release_claims``, which decides on their whole
    scope (another post or grant may still cover the task) and writes the
    same events, audit records and notices, in one transaction per holder.
    Safe to run twice at once: a claim already back is skipped.
    """
    lapsed = directory_selectors.grants_expired(now=timezone.now()).filter(
        user=OuterRef("claimed_by"), role=OuterRef("role"), expires_at__gt=OuterRef("claimed_at"))
    candidates = (Task.objects.filter(status=Task.Status.CLAIMED).filter(Exists(lapsed))
                  .select_related("claimed_by").order_by("claimed_by_id", "pk"))
    held: dict[int, tuple] = {}
    for task in candidates:
        holder, posts = held.setdefault(task.claimed_by_id, (task.claimed_by, set()))
        posts.add((task.agency_id, task.role))
    released = []
    for holder, posts in held.values():
        with transaction.atomic():
            released += release_claims(actor=None, user=holder, posts=posts)
    return released


@transaction.atomic
def task_release(*, actor, task: Task) -> Task:
    """解除签收: put a claimed task back in its post's inbox.

    Whoever claimed it by mistake, or cannot finish it (leave, a case they
    must stand aside from), gives it back, and the agency's head may give
    back anyone's; until then no colleague may handle it.  The post's
    holders are told it is theirs again.  A task already back (a second
    click) is returned unchanged.
    """
    task, case = _locked(task)
    require(permissions.task_release(actor, task=task), action="task_release")
    if task.status == Task.Status.OPEN:
        return task
    if task.status != Task.Status.CLAIMED:
        raise Conflict(_("该环节已办理或已取消。"), code=CasesErrorCode.TASK_CLOSED)
    _release(task, case, actor=actor, holder=task.claimed_by, now=timezone.now())
    notifications.tasks_opened([task])
    return task


def _release(task: Task, case: Case, *, actor, holder, now) -> None:
    """Undo ``holder``'s claim of ``task`` (read under its case's lock), with its record."""
    Task.objects.filter(pk=task.pk).update(status=Task.Status.OPEN, claimed_by=None,
                                           claimed_at=None, version=task.version + 1)
    task.status, task.claimed_by, task.claimed_at = Task.Status.OPEN, None, None
    task.version += 1
    events.append(case=case, type=EventType.TASK_RELEASED, actor=actor, task=task, at=now,
                  data={"task": task.name, "claimed_by": holder.pk})
    audit_append(actor=actor, action=CasesAction.TASK_RELEASED, obj=case,
                 agency_id=task.agency_id,
                 changes={"task": task.title, "claimed_by": holder.username})


def _locked(task: Task, *related: str) -> tuple[Task, Case]:
    """The task, read again under the lock of its case, and the locked case.

    A task never changes case or name, so the caller's copy says which case
    to lock (with the ``related`` rows the step reads); the task itself is
    read only once the lock is held.
    """
    case = _lock(Case(pk=task.case_id), *related)
    task = Task.objects.get(pk=task.pk)
    task.case = case
    return task, case


def _done_as_asked(task: Task, actor, *, decision: str, opinion: str) -> bool:
    """Whether ``task`` is done already as this request asks: by ``actor`` (whom
    its closing event names, ``events.closer``), with the same decision and
    opinion.

    The same request sent again (a double click, a retry after the answer was
    lost) went through, and is answered with what it did: 409 "已办理或已取消"
    would not tell it from a colleague's decision or a withdrawal.  Anything
    else sent to a done task is refused (``_check_in_hand``).
    """
    return (task.status == Task.Status.DONE and task.decision == decision
            and task.opinion == (opinion or "").strip()
            and events.same_actor(events.closer(task), actor))


def _sent_again(case: Case, actor, type: str, *, among: tuple = (), **data) -> bool:
    """Whether the case's last event of ``type`` (the last ``among`` those
    types too) is ``actor``'s, with ``data``: the request that made it, sent
    again after the answer was lost, and answered with the case as it is."""
    event = events.latest(types=(type, *among), case=case)
    return (event is not None and event.type == type
            and all(event.data.get(key) == value for key, value in data.items())
            and events.same_actor(events.recorded_actor(event), actor))


def _check_in_hand(task: Task, actor) -> None:
    """The task is still to do, and nobody but ``actor`` has claimed it."""
    if task.status not in (Task.Status.OPEN, Task.Status.CLAIMED):
        raise Conflict(_("该环节已办理或已取消。"), code=CasesErrorCode.TASK_CLOSED)
    if not selectors.in_hand(task, actor):
        raise Conflict(_("该环节已由他人签收办理。"), code=CasesErrorCode.TASK_TAKEN)


def _check_version(task: Task, expected: int | None) -> None:
    """The task is as the page that acts on it showed it (``expected``, its version then).

    A page left open goes stale: meanwhile a colleague may have sent the
    correction notice and the applicant new files, or the step been claimed
    and put back.  A decision taken on it would be taken on what the deciding
    person never saw, so it is refused, and they look again.  Callers that
    send no version (the API before it had one) act on the task as it is.
    """
    if expected is not None and expected != task.version:
        raise Conflict(_("该环节已有变化，请刷新页面查看后再办理。"),
                       code=CasesErrorCode.TASK_CHANGED)


def _close_task(task: Task, actor, *, decision: str, opinion: str, now) -> None:
    """Mark ``task`` done unless someone else got there first."""
    done = Task.objects.filter(
        pk=task.pk, version=task.version, status__in=[Task.Status.OPEN, Task.Status.CLAIMED],
    ).update(status=Task.Status.DONE, decision=decision, opinion=opinion, completed_at=now,
             claimed_by=person_of(actor) if task.claimed_by_id is None else task.claimed_by_id,
             version=F("version") + 1)
    if not done:
        raise Conflict(_("该环节已被他人办理，请刷新后查看。"), code=CasesErrorCode.TASK_TAKEN)


def _start_clock(case: Case, now) -> list[str]:
    """Accept ``case`` at ``now``: the clock starts, from the receipt of its
    materials when acceptance came too late (``clock.clock_start``: 逾期不告知
    的，自收到申请材料之日起即为受理), which ``accepted_at`` then records; the
    acceptance's event keeps when the window acted."""
    # Nothing is paused or extended before acceptance: the deadlines are the limits'.
    calendar = calendar_held()
    case.accepted_at = clock.clock_start(calendar=calendar,
                                         received_at=selectors.materials_received_at(case),
                                         accepted_at=now)
    return ["accepted_at", *_recompute(case, calendar)]


def _deemed(case: Case, now) -> dict:
    """What the event of an acceptance at ``now`` that started the clock
    (``_start_clock``) adds when the law accepted the application earlier
    than the window did: since when."""
    return {"deemed_accepted_at": case.accepted_at} if case.accepted_at != now else {}


def task_complete(*, actor, task: Task, decision: str, opinion: str = "",
                  expected_version: int | None = None) -> Task:
    """Handle a task with a decision (approve/reject) and an opinion.

    Where acceptance is decided, ``not_accept`` is 不予受理 (the window's
    "reject" is too): a 即办件's step that would accept and decide at once
    refuses to accept as the window's acceptance does, with the same event,
    outcome and message, and no clock.
    A refusal at any step needs its reasons.  Acceptance starts the clock;
    an approving decision issues the signed certificate; delivery of the
    decision closes the case (办结).  A waiting extension request is closed
    by the decision, or by the step that sends an upper-level review up to
    the agency that decides it from then on (its requester is told).
    ``expected_version``, when given, is the task's version on the page the
    decision was made on: a task that changed since is refused
    (``_check_version``).  The same decision sent again by whoever made it
    returns the task as it is (``_done_as_asked``).
    An approval whose certificate the background run never issued is
    delivered with one: it is issued first, in a transaction of its own
    (``_ensure_certificate``), and the step then runs.
    """
    # Checked once before a missing certificate is issued, and again under the lock.
    require(permissions.task_complete(actor, task=task), action="task_complete")
    asked = {"actor": actor, "task": task, "decision": decision, "opinion": opinion,
             "expected_version": expected_version}
    try:
        return _task_complete(**asked)
    except _CertificateMissing as missing:
        certificates.certificate_issue_for_case(case_id=missing.case_id,
                                                task_id=missing.decided_id)
    return _task_complete(**asked)


@transaction.atomic
def _task_complete(*, actor, task: Task, decision: str, opinion: str,
                   expected_version: int | None) -> Task:
    """The step of ``task_complete``, in one transaction."""
    told = task_kind(task.name) in notifications.TOLD_KINDS
    task, case = _locked(task, *(APPLICANT_SIDE if told else ()))
    require(permissions.task_complete(actor, task=task), action="task_complete")
    if _done_as_asked(task, actor, decision=decision, opinion=opinion):
        return task
    _check_in_hand(task, actor)
    _check_version(task, expected_version)
    kind = task_kind(task.name)
    # 上级初审: the step that sends the case up hands its decision, and the
    # approval of its extension, to the upper agency; a request waiting on
    # the agency deciding until then lapses with the step.
    deciding = permissions.deciding_agency_id(case)
    refusal = selectors.decision_refusal(case, kind=kind, decision=decision)
    if refusal is not None:
        raise refusal
    # 不予受理 (第三十二条), at the window's acceptance or at a 即办件's step
    # that would accept and decide at once: one path for both.
    not_accepted = selectors.refuses_acceptance(kind=kind, decision=decision)
    opinion = (opinion or "").strip()
    if kind == "reply" and not opinion:
        raise InvalidInput(_("请写明整改情况或不能整改的理由。"),
                           code=CasesErrorCode.NO_REASON, field="opinion")
    if (decision == "reject" or not_accepted) and not opinion:
        raise InvalidInput(_("不予受理、不同意或不予许可须写明理由。"),
                           code=CasesErrorCode.NO_REASON, field="opinion")
    if kind == "deliver" and case.status == Case.Status.APPROVED:
        # Asked once the step is known to go ahead: a refused delivery
        # issues nothing.
        _ensure_certificate(case)
    now = timezone.now()
    # Accepted again after an internal return: the applicant was told of
    # the acceptance the first time, and the return was the agency's own.
    accepted_before = case.accepted_at is not None
    vetoed = False
    _close_task(task, actor, decision=decision, opinion=opinion, now=now)
    # The process knows a refusal as "reject": its branch to 不予受理 after
    # the window's acceptance, to its end after a 即办件's step (whose
    # outcome ``_finish`` then records as 不予受理, the case never accepted).
    step = bpmn.complete(case.item_version.process_spec, case.process_state,
                         task_id=task.spiff_id,
                         data={"opinion": "reject" if not_accepted else decision})
    fields = ["process_state", "status", "next_check_at"]
    base = {"task": task.name, "decision": decision, "opinion": opinion}
    if not_accepted:
        # The clock never starts: the application was not accepted.
        events.append(case=case, type=EventType.NOT_ACCEPTED, actor=actor, task=task,
                      data=base)
    elif kind == "accept":
        # Supervision checks that nothing required was missing (it
        # reads events, not the case's files).
        base["missing_materials"] = _missing_materials(case)
        if case.accepted_at is None:
            # Accepted again after a return: the clock runs from the
            # first acceptance, never restarts.
            fields += _start_clock(case, now)
            base.update(_deemed(case, now))
        case.status = Case.Status.IN_PROGRESS
        events.append(case=case, type=EventType.ACCEPTED, actor=actor, task=task, data=base)
    elif kind == "decide":
        if case.accepted_at is None:
            # 即办件: accepted and decided in one step at the window.
            fields += _start_clock(case, now)
            events.append(case=case, type=EventType.ACCEPTED, actor=actor, task=task,
                          data={**base, **_deemed(case, now)})
        case.decided_at = now
        fields.append("decided_at")
        if decision == "approve":
            case.status = Case.Status.APPROVED
            events.append(case=case, type=EventType.APPROVED, actor=actor, task=task,
                          data=base)
            # Rendering and signing take most of a second (font subsetting):
            # done after commit, in the background, so the decision itself
            # stays a short transaction.  Issuing is idempotent.
            # Issued by the deciding step: by its agency (for an upper-level
            # review, the upper agency, not the one whose window accepted),
            # as whoever decided, person or token.
            enqueue("cases.issue_certificate", case_id=case.pk, task_id=task.pk)
        else:
            case.outcome_reason = opinion
            fields.append("outcome_reason")
            events.append(case=case, type=EventType.REFUSED, actor=actor, task=task,
                          data=base)
    elif kind == "deliver":
        events.append(case=case, type=EventType.DELIVERED, actor=actor, task=task, data=base)
    elif kind == "reply":
        events.append(case=case, type=EventType.REPLIED, actor=actor, task=task, data=base)
    else:
        events.append(case=case, type=EventType.REVIEWED, actor=actor, task=task, data=base)
    if rejections := _refused_undecided(case, step):
        fields += _refusal_decide(case, task, actor, now, rejections)
        vetoed = True
    # With the standard processes only a joint agency's rejection withdraws
    # tasks (the other joint reviews); an uploaded process may withdraw them
    # otherwise, and is not told as a rejection.
    notifications.tasks_cancelled(_cancel_withdrawn(case, step),
                                  reason="vetoed" if decision == "reject" else "superseded")
    _open_tasks(case, step, now)
    case.process_state = step.state_json
    if step.finished:
        fields += _finish(case, step, actor, now, reason=opinion)
    case.save(update_fields=sorted(set(fields)))
    if "decided_at" in fields or (not case.is_open and case.decided_at is None):
        # Decided (or ended undecided) by this step: its limit can no longer be
        # extended.  Not asked at delivery: nothing can be requested once a
        # case is decided (_check_extendable), so nothing waits then.
        _close_pending_extension(case, actor, status=ExtensionRequest.Status.WITHDRAWN,
                                 deciding=deciding)
    elif permissions.deciding_agency_id(case) != deciding:
        # Sent up: the heads who were asked may no longer approve (第四十二条,
        # 本行政机关负责人), and the upper agency's were never told.  Left
        # waiting, nobody would decide it while the statutory deadline ran
        # out; closed, whoever asked is told, and the upper agency's reviewer
        # asks its own head if the upper agency needs the time.
        lapsed = _close_pending_extension(case, actor, status=ExtensionRequest.Status.WITHDRAWN,
                                          deciding=deciding, reason="case sent up")
        if lapsed is not None:
            notifications.extension_lapsed(case, lapsed)
    audit_append(actor=actor, action=CasesAction.TASK_COMPLETED, obj=case,
                 agency_id=task.agency_id, reason=opinion,
                 changes={"task": task.title, "decision": decision, "status": case.status})
    if case.kind == Case.Kind.NOTICE:
        notifications.notice_progressed(case, kind=kind)
    elif vetoed:
        notifications.case_refused(case)
    elif not_accepted:
        # Told as the window's 不予受理, whichever step refused to accept.
        notifications.task_completed(case, task, kind="accept", decision="reject")
    elif not (kind == "accept" and accepted_before):
        notifications.task_completed(case, task, kind=kind, decision=decision)
    return task


def _refused_undecided(case: Case, step: bpmn.Step) -> list[Task]:
    """The rejecting steps by which ``step`` refused the accepted, undecided
    application ``case`` with no decision step, or ``[]``: a review's
    rejection led the process to delivery (a joint agency's veto), or to its
    end at a ``refused`` end event (an uploaded process whose 不同意 at a
    review ends the case).  Either is a refusal (不予许可) all the same,
    decided and told as the head's is (《行政许可法》第三十八条), by
    ``_refusal_decide``; and like the head's it has its reasons, so a
    process that ends ``refused`` after steps that all approved is left to
    ``_finish``, never told as a refusal without a reason.
    """
    if (case.kind != Case.Kind.APPROVAL or case.decided_at is not None
            or case.accepted_at is None):
        return []
    if step.finished:
        refused = step.outcome == Case.Outcome.REFUSED
    else:
        refused = any(task_kind(r.name) == "deliver" for r in step.ready)
    if not refused:
        return []
    rejections = _round_rejections(case)
    return rejections if any(t.opinion for t in rejections) else []


def _refusal_decide(case: Case, task: Task, actor, now, rejections: list[Task]) -> list[str]:
    """Decide the refusal ``_refused_undecided`` found (its ``rejections``), on
    closing ``task``; return the fields it set.

    Decided now, with the rejecting reviews' reasons, and recorded as such
    for supervision: as the rejecting review's (the one that finished last
    may have approved), by whoever gave it (its closing event's actor, a
    token too), in its agency, so that an alert on it names the post that
    refused.
    """
    reasons = [t.opinion for t in rejections if t.opinion]
    rejecting = rejections[-1]
    case.decided_at = now
    case.outcome_reason = "；".join(reasons)
    events.append(case=case, type=EventType.REFUSED,
                  actor=actor if rejecting.pk == task.pk else events.closer(rejecting),
                  task=rejecting,
                  data={"task": rejecting.name, "decision": rejecting.decision,
                        "opinion": rejecting.opinion, "reasons": reasons})
    return ["decided_at", "outcome_reason"]


class _CertificateMissing(Exception):
    """The delivery step of an approval found no certificate (``_ensure_certificate``)."""

    def __init__(self, case_id: int, decided_id: int | None):
        super().__init__(case_id, decided_id)
        self.case_id = case_id
        self.decided_id = decided_id


def _ensure_certificate(case: Case) -> None:
    """An approval is delivered with its certificate.

    The certificate is issued in the background after the decision; if that
    run was lost (a worker killed, a queue emptied), nothing else would
    issue it, and the case would close approved with nothing to download.
    Delivery then issues it itself, as the deciding step would have: by
    its agency, as whoever decided (``certificate_issue_for_case``).  Not
    inside the step's transaction: the signed file is stored as the
    certificate is recorded, and a step failing after that (at its audit
    record, or its commit) would roll the row back and leave a sealed file
    with a verification token that no certificate records.  The step stops
    here instead (``_CertificateMissing``, its transaction rolled back),
    ``task_complete`` issues the certificate in a transaction of its own,
    and runs the step again, which then finds it.  The usual delivery,
    whose certificate exists, pays only the query that finds it.
    """
    if Certificate.objects.filter(case=case).exists():
        return
    decided = certificates.approving_steps(case).values_list("pk", flat=True).first()
    raise _CertificateMissing(case.pk, decided)


@transaction.atomic
def task_return(*, actor, task: Task, opinion: str,
                expected_version: int | None = None) -> list[Task]:
    """退回: send a review or decision back to the step before it, with reasons.

    The step before is reopened in its post's inbox (for a joint decision,
    every joint review); the returned task is closed with the decision
    ``return``.  The clock keeps running: a return is the agency's own
    time, not time the law excludes.  Returns the reopened tasks.
    ``expected_version``, and the same return sent again, as for
    ``task_complete``.
    """
    task, case = _locked(task)
    require(permissions.task_return(actor, task=task), action="task_return")
    if _done_as_asked(task, actor, decision="return", opinion=opinion):
        # The tasks the return reopened: opened at the very moment it
        # closed this one (``_open_tasks`` and ``_close_task`` share it).
        return list(case.tasks.filter(created_at=task.completed_at).exclude(pk=task.pk)
                    .order_by("pk"))
    _check_in_hand(task, actor)
    _check_version(task, expected_version)
    kind = task_kind(task.name)
    if not selectors.return_allowed(case, kind=kind):
        raise Conflict(_("只有办理中的审查、决定环节可以退回。"),
                       code=CasesErrorCode.CANNOT_RETURN)
    opinion = (opinion or "").strip()
    if not opinion:
        raise InvalidInput(_("退回须写明理由。"), code=CasesErrorCode.NO_REASON, field="opinion")
    try:
        step = bpmn.send_back(case.item_version.process_spec, case.process_state,
                              task_id=task.spiff_id)
    except bpmn.ProcessCallError as exc:
        raise Conflict(exc.message, code=CasesErrorCode.CANNOT_RETURN, **exc.fields) from None
    now = timezone.now()
    _close_task(task, actor, decision="return", opinion=opinion, now=now)
    # A joint review returned to the window withdraws the others: their
    # holders are told, as they would be of a withdrawal.
    notifications.tasks_cancelled(_cancel_withdrawn(case, step), reason="returned")
    reopened = _open_tasks(case, step, now)
    case.process_state = step.state_json
    case.save(update_fields=["process_state", "next_check_at"])
    events.append(case=case, type=EventType.RETURNED, actor=actor, task=task,
                  data={"task": task.name, "opinion": opinion,
                        "to": [t.name for t in reopened]})
    audit_append(actor=actor, action=CasesAction.TASK_RETURNED, obj=case,
                 agency_id=task.agency_id, reason=opinion,
                 changes={"task": task.title, "to": [t.title for t in reopened]})
    if case.kind == Case.Kind.NOTICE:
        notifications.notice_returned(case, opinion)
    return reopened


def _round_rejections(case: Case) -> list[Task]:
    """The steps that rejected in the round that refused, in the order they were given.

    A round begins at acceptance, and again at each return (and acceptance
    again after it).  A rejection from an earlier round was answered there
    (the case went back to be put right) and, the agency having approved
    since, is not a reason of this refusal.
    """
    done = case.tasks.filter(status=Task.Status.DONE)
    began = (done.filter(Q(decision="return") | Q(name__startswith="accept", decision="approve"))
             .order_by("-completed_at", "-id").values_list("completed_at", flat=True).first())
    rejections = done.filter(decision="reject")
    if began is not None:
        rejections = rejections.filter(completed_at__gte=began)
    return list(rejections.order_by("completed_at", "id"))


def _rejection_reasons(case: Case) -> list[str]:
    """The reasons of the steps that rejected in the round that refused, in order."""
    return [task.opinion for task in _round_rejections(case) if task.opinion]


def _finish(case: Case, step: bpmn.Step, actor, now, *, reason: str) -> list[str]:
    outcome = step.outcome or Case.Outcome.APPROVED
    if outcome == Case.Outcome.REFUSED and case.accepted_at is None:
        # Refused and never accepted: not a refusal on the merits (不予许可,
        # of an accepted application) but 不予受理, as a 即办件's step that
        # refuses to accept ends in a process that has no branch for it.
        outcome = Case.Outcome.NOT_ACCEPTED
    case.outcome = outcome
    case.status = (Case.Status.NOT_ACCEPTED if outcome == Case.Outcome.NOT_ACCEPTED
                   else Case.Status.CLOSED)
    if outcome != Case.Outcome.APPROVED and not case.outcome_reason:
        # A refusal reached without a refusing decision (a joint review's
        # rejection leads straight to delivery) states the reasons of the
        # steps that rejected, not the delivering clerk's note.
        case.outcome_reason = "；".join(_rejection_reasons(case)) or reason
    case.closed_at = now
    case.next_check_at = None
    events.append(case=case, type=EventType.CLOSED, actor=actor,
                  data={"outcome": outcome})
    return ["outcome", "outcome_reason", "closed_at", "next_check_at"]


# --- corrections, pauses, extension --------------------------------------------

@transaction.atomic
def case_request_correction(*, actor, task: Task, items: list[dict], note: str = "",
                            expected_version: int | None = None) -> CorrectionNotice:
    """一次性告知: list every missing or faulty material at once.

    Only at acceptance, and only once per case: the applicant is told
    everything in one notice.  Acceptance waits (its clock pauses) until
    the applicant resubmits.  For a 即办件 acceptance is the window's
    accept-and-decide step, before it is done.  ``expected_version`` as
    for ``task_complete``.  The same notice sent again by whoever sent it,
    while the case awaits the correction, returns the notice sent.
    """
    task, case = _locked(task, *APPLICANT_SIDE)
    require(permissions.case_request_correction(actor, task=task),
            action="case_request_correction")
    if case.status == Case.Status.CORRECTION and _notice_as_asked(
            case, task, actor, items=items, note=note):
        return case.correction
    _check_in_hand(task, actor)
    _check_version(task, expected_version)
    refusal = selectors.correction_refusal(case, kind=task_kind(task.name))
    if refusal is not None:
        raise refusal
    cleaned = _notice_items(case.item_version, items)
    if not cleaned:
        raise InvalidInput(_("请列出需要补正的全部材料。"), field="items")
    now = timezone.now()
    notice = CorrectionNotice.objects.create(case=case, items=cleaned, note=note,
                                             issued_by=person_of(actor), issued_at=now)
    case.status = Case.Status.CORRECTION
    case.corrections += 1
    case.paused_since = now
    case.pause_reason = "correction"
    case.save(update_fields=["status", "corrections", "paused_since", "pause_reason"])
    events.append(case=case, type=EventType.CORRECTION_REQUESTED, actor=actor, task=task,
                  data={"items": cleaned, "note": note})
    audit_append(actor=actor, action=CasesAction.CORRECTION_REQUESTED, obj=case,
                 agency_id=task.agency_id, changes={"items": cleaned})
    notifications.correction_requested(case, notice)
    return notice


def _notice_items(version: ItemVersion, items) -> list[dict]:
    """The entries of a correction notice, checked: each a material of
    ``version`` (``material_id``) or an answer of its application form
    (``field``, the form field's name), with the problem to correct.

    The application form is part of the application (申请书): an answer that
    is wrong or incomplete is told in the same notice as the materials, once.
    Each entry keeps the material's or the field's name as the notice shows it.
    """
    materials = {m.pk: m for m in version.materials.all()}
    fields = {f["name"]: f for f in version.form_fields or []}
    cleaned = []
    for entry in items or []:
        entry = entry if isinstance(entry, dict) else {}
        if entry.get("field") is not None:
            field = fields.get(entry["field"]) if isinstance(entry["field"], str) else None
            key = ("field", field["name"]) if field else None
            named = {"form_field": field["name"]} if field else {}
            name = field["label"] if field else ""
        else:
            material = materials.get(parse_id(entry.get("material_id")))
            key = ("material_id", material.pk) if material else None
            named = {"material_id": material.pk} if material else {}
            name = material.name if material else ""
        problem = str(entry.get("problem") or "").strip()
        if key is not None and not problem:
            # Named, so that the page marks the entry's own field: the
            # notice goes out once, and nothing listed may go without its problem.
            raise InvalidInput(_("请写明“%(name)s”需要补正的问题。"), field="items",
                               name=name, **named)
        if key is None:
            raise InvalidInput(_("每一项补正须指明材料或申请信息并写明问题。"), field="items")
        if any(item.get(key[0]) == key[1] for item in cleaned):
            # The applicant's page has one input an entry: two entries would
            # keep one answer for both.  Its problems are told together.
            raise InvalidInput(_("“%(name)s”列出了不止一次，每项只列一次，"
                                 "请把它的问题写在一起。"), field="items", name=name, **named)
        cleaned.append({key[0]: key[1], "name": name, "problem": problem})
    return cleaned


def _notice_entry(entry) -> tuple:
    """What a notice's entry (or a request's) lists: a material or a form field."""
    if not isinstance(entry, dict):
        return (None, None)
    if entry.get("field") is not None:
        return ("field", entry["field"])
    return ("material_id", parse_id(entry.get("material_id")))


def _notice_as_asked(case: Case, task: Task, actor, *, items, note: str) -> bool:
    """Whether the case's correction notice is the one this request asks for:
    sent on ``task`` by ``actor``, listing the same materials with the same
    problems, and the same note (a double click, a retry after the answer
    was lost; see ``_done_as_asked``)."""
    notice = case.correction
    asked = [(_notice_entry(entry), str(entry.get("problem") or "").strip())
             if isinstance(entry, dict) else None for entry in items or []]
    return (notice.note == note
            and asked == [(_notice_entry(item), item["problem"]) for item in notice.items]
            and events.same_actor(events.recorded_actor(events.latest(
                types=(EventType.CORRECTION_REQUESTED,), task=task)), actor))


@transaction.atomic
def case_correct(*, actor, case: Case, data: dict | None = None) -> Case:
    """The applicant resubmits after correcting; acceptance resumes.

    Every material the notice lists must have been uploaded again since,
    and every answer of the application form it lists be given again in
    ``data`` (by field name); ``data`` may hold no other answer, the rest
    having been accepted as it stands.  The answers are checked as at
    submission, with the others kept.
    An applicant without an account does so at the accepting agency's
    window, through whichever clerk serves there (``permissions.case_correct``).
    """
    case = _lock(case, *APPLICANT_SIDE)
    require(permissions.case_correct(actor, case=case), action="case_correct")
    if case.status != Case.Status.CORRECTION:
        if case.status in Case.OPEN_STATUSES and CorrectionNotice.objects.filter(
                case=case, answered_at__isnull=False).exists():
            # Sent again (a double click, a retry): the correction is in.
            return case
        raise Conflict(_("本件没有待补正的内容。"), code=CasesErrorCode.BAD_STATE)
    notice = case.correction
    now = timezone.now()
    revised = _corrected_answers(case, notice, data)
    fixed = selectors.correction_answers(case)
    missing = [item["name"] for item in notice.items
               if "material_id" in item and item["material_id"] not in fixed]
    if missing:
        raise InvalidInput(_("以下材料尚未重新上传：%(names)s"),
                           code=CasesErrorCode.MISSING_MATERIALS, names=listed_later(missing),
                           missing=missing)
    notice.answered_at = now
    notice.save(update_fields=["answered_at"])
    case.status = Case.Status.SUBMITTED
    case.paused_since = None
    case.pause_reason = ""
    # The acceptance step starts afresh from the resubmission, with a new
    # limit: supervision plans its next look.
    case.next_check_at = now
    fields = ["status", "paused_since", "pause_reason", "next_check_at"]
    changes = {}
    if revised:
        # The conditions read the corrected answers from now on.
        changes = {name: [case.data.get(name), value] for name, value in revised.items()
                   if case.data.get(name) != value}
        case.data = {**case.data, **revised}
        case.process_state = bpmn.revise_data(case.item_version.process_spec,
                                              case.process_state, data=revised).state_json
        fields += ["data", "process_state"]
    case.save(update_fields=fields)
    back = list(case.tasks.filter(status__in=[Task.Status.OPEN, Task.Status.CLAIMED]))
    calendar = calendar_held() if back else None
    for task in back:
        due = _task_due(case, task_kind(task.name), now, calendar=calendar)
        Task.objects.filter(pk=task.pk).update(due_at=due.at, due_from=now,
                                               due_provisional=due.provisional,
                                               version=F("version") + 1)
    events.append(case=case, type=EventType.CORRECTION_SUBMITTED, actor=actor,
                  data={"materials": sorted(fixed), "fields": sorted(revised)})
    audit_append(actor=actor, action=CasesAction.CORRECTION_SUBMITTED, obj=case,
                 agency_id=case.agency_id,
                 changes={f"data.{name}": values for name, values in changes.items()} or None)
    notifications.correction_submitted(case)
    notifications.tasks_opened(back)   # acceptance is the window's to do again
    return case


def _corrected_answers(case: Case, notice: CorrectionNotice, data) -> dict:
    """The answers of the application form that ``data`` corrects, checked:
    exactly those the notice lists, each given, and all the answers then
    valid together, as at submission (``_answers_in_full``).  By field name."""
    listed = [item["field"] for item in notice.items if "field" in item]
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise InvalidInput(_("申请信息应为键值对。"), field="data")
    labels = {f["name"]: f["label"] for f in case.item_version.form_fields or []}
    others = [labels.get(name, str(name)) for name in data if name not in listed]
    if others:
        # As for a material the notice does not list (``material_upload``):
        # the window accepted these answers as they stand.
        raise Conflict(_("补正告知没有列出以下申请信息，不能修改：%(names)s"), field="data",
                       code=CasesErrorCode.NOT_IN_NOTICE, names=listed_later(others))
    unanswered = [name for name in listed if name not in data]
    if unanswered:
        raise InvalidInput(_("以下申请信息尚未重新填写：%(names)s"), field="data",
                           code=CasesErrorCode.MISSING_MATERIALS,
                           problems={name: str(_("请重新填写此项。")) for name in unanswered},
                           names=listed_later(labels[name] for name in unanswered))
    if not listed:
        return {}
    answers = _application_data(case.item_version, {**case.data, **data})
    return {name: answers.get(name) for name in listed}


@transaction.atomic
def case_suspend(*, actor, case: Case, reason: str, note: str) -> Case:
    """Stop the clock for time the law excludes (hearing, inspection ...).

    The same request sent again by whoever stopped it, while the clock
    stands still, returns the case as it is.
    """
    case = _lock(case, *APPLICANT_SIDE)
    require(permissions.case_suspend(actor, case=case), action="case_suspend")
    if case.status == Case.Status.SUSPENDED and _sent_again(
            case, actor, EventType.SUSPENDED, reason=reason, note=note):
        # Sent again (a double click, a retry): the clock is stopped as asked.
        return case
    if reason not in clock.SUSPEND_REASONS:
        raise InvalidInput(_("暂停计时须为法定事由：%(reasons)s。"),
                           code=CasesErrorCode.NO_REASON, field="reason",
                           reasons=listed_later(clock.SUSPEND_REASONS.values()))
    if not (note or "").strip():
        raise InvalidInput(_("请说明暂停计时的具体情况。"), code=CasesErrorCode.NO_REASON,
                           field="note")
    if case.status != Case.Status.IN_PROGRESS:
        raise Conflict(_("只有办理中的办件可以暂停计时。"), code=CasesErrorCode.BAD_STATE)
    _check_undecided(case)
    now = timezone.now()
    case.status = Case.Status.SUSPENDED
    case.paused_since = now
    case.pause_reason = reason
    # Supervision watches how long the clock stays stopped.
    case.next_check_at = now
    case.save(update_fields=["status", "paused_since", "pause_reason", "next_check_at"])
    # The event carries the very moment the clock stopped: the pause is
    # counted from it again when the calendar changes (``clock.pause_spans``).
    # Recorded as the deciding agency's (for an upper-level review sent up,
    # the upper one), whose inspection or testing the pause is.
    deciding = permissions.deciding_agency_id(case)
    events.append(case=case, type=EventType.SUSPENDED, actor=actor, at=now,
                  agency_id=deciding, data={"reason": reason, "note": note})
    audit_append(actor=actor, action=CasesAction.CASE_SUSPENDED, obj=case,
                 agency_id=deciding, reason=note, changes={"reason": reason})
    if case.kind != Case.Kind.NOTICE:
        # 《行政许可法》第四十五条: the applicant is told of the time not counted.
        notifications.case_suspended(case, reason=reason)
    return case


def _check_undecided(case: Case) -> None:
    """The clock runs to the decision: a refusal still to be delivered is
    in progress, but its limits are spent and can no longer stop or grow
    (《行政许可法》第四十二条 counts to the decision, 第四十四条 delivery apart)."""
    if not selectors.clock_adjustable(case):
        raise Conflict(_("办件已作出决定，办理期限不再暂停或延长。"),
                       code=CasesErrorCode.BAD_STATE)


def _recompute(case: Case, calendar=None) -> list[str]:
    version = case.item_version
    result = clock.deadlines(calendar=calendar or calendar_held(), accepted_at=case.accepted_at,
                             statutory_limit=version.statutory_limit,
                             promised_limit=version.promised_limit,
                             paused_workdays=case.paused_workdays,
                             extension_workdays=case.extension_workdays)
    return clock.apply(case, result)


@transaction.atomic
def case_resume(*, actor, case: Case) -> Case:
    """Start the clock again; the applicant is told, with the new promised deadline.

    Sent again by whoever started it, while it runs since, the case is
    returned as it is.
    """
    case = _lock(case, *APPLICANT_SIDE)
    require(permissions.case_resume(actor, case=case), action="case_resume")
    if case.status == Case.Status.IN_PROGRESS and _sent_again(
            case, actor, EventType.RESUMED, among=(EventType.SUSPENDED,)):
        # Sent again (a double click, a retry): the clock runs, since this
        # actor's resumption.
        return case
    if case.status != Case.Status.SUSPENDED:
        raise Conflict(_("办件未暂停计时。"), code=CasesErrorCode.BAD_STATE)
    now = timezone.now()
    calendar = calendar_held()
    lost = clock.paused_workdays(calendar=calendar, since=case.paused_since,
                                 until=now)
    case.paused_workdays += lost
    reason = case.pause_reason
    case.status = Case.Status.IN_PROGRESS
    case.paused_since = None
    case.pause_reason = ""
    promised_before = case.promised_due
    before = {name: getattr(case, name) for name in ("statutory_due", "promised_due")}
    fields = ["paused_workdays", "status", "paused_since", "pause_reason",
              *_recompute(case, calendar)]
    case.save(update_fields=fields)
    moved = {name: [old, getattr(case, name)] for name, old in before.items()
             if old != getattr(case, name)}
    if lost:
        # Each open step's own limit stopped with the case's clock: it is
        # given back the working days the pause took, or supervision would
        # count time the law excludes against the step.
        tz = timezone.get_default_timezone()
        open_steps = list(case.tasks.filter(status__in=[Task.Status.OPEN, Task.Status.CLAIMED],
                                            due_at__isnull=False))
        for task in open_steps:
            # The promised deadline moved by the same days: a step capped at
            # it stays there, and one that opened late keeps its own limit.
            due = _within_promise(case, task_kind(task.name),
                                  calendar.deadline(task.due_at, lost, tz),
                                  late=_opened_late(task, promised_before))
            if due.at != task.due_at:
                moved.setdefault("tasks", {})[task.pk] = [task.due_at, due.at]
            task.due_at, task.due_provisional = due.at, due.provisional
        Task.objects.bulk_update(open_steps, ["due_at", "due_provisional"])
    deciding = permissions.deciding_agency_id(case)
    events.append(case=case, type=EventType.RESUMED, actor=actor, at=now,
                  agency_id=deciding, data={"reason": reason, "paused_workdays": lost})
    audit_append(actor=actor, action=CasesAction.CASE_RESUMED, obj=case,
                 agency_id=deciding, changes={"paused_workdays": lost})
    if moved:
        # The deadlines moved on by the days the law excludes: supervision's
        # alerts on the old ones (a warning, an overdue step counted as if the
        # clock had run) go, and its sweep raises what the new ones call for,
        # as after a recount.
        deadlines_moved.send(sender=Case, case=case, moved=moved, cause="resumed")
    if case.kind != Case.Kind.NOTICE:
        notifications.case_resumed(case, reason=reason, paused_workdays=lost)
    return case


def _check_extendable(case: Case) -> None:
    """The one extension may still be granted (``selectors.extension_allowed``),
    or refused saying which condition failed: asked for (``case_extension_request``)
    and approved (``case_extend``) alike."""
    if case.extension_workdays:
        raise Conflict(_("办理期限只能延长一次。"), code=CasesErrorCode.EXTENSION_ONCE)
    if case.status not in Case.RUNNING_STATUSES:
        raise Conflict(_("只有办理中的办件可以延期。"), code=CasesErrorCode.BAD_STATE)
    _check_undecided(case)
    if not selectors.extension_allowed(case, timezone.now()):
        # 《行政许可法》第四十二条: the extension is granted when the decision
        # cannot be made within the limit, so it is approved within it.
        raise Conflict(_("法定办理期限已届满，不能再延长；延期须在法定期限届满前批准。"),
                       code=CasesErrorCode.BAD_STATE)


def _check_extension(case: Case, workdays, reason: str) -> None:
    """The working days (1 to ``selectors.extension_most``: ten, fifteen for
    parallel approval) and the reason of an extension of ``case``."""
    most = selectors.extension_most(case)
    if not isinstance(workdays, int) or isinstance(workdays, bool) or not (
            1 <= workdays <= most):
        raise InvalidInput(_("延长期限为 1 至 %(n)s 个工作日。"), field="workdays", n=most)
    if not (reason or "").strip():
        raise InvalidInput(_("延期须说明理由。"), code=CasesErrorCode.NO_REASON, field="reason")


def _pending_extension(case: Case) -> ExtensionRequest | None:
    """The case's request waiting for the head, read under the case's lock."""
    return ExtensionRequest.objects.filter(
        case=case, status=ExtensionRequest.Status.PENDING).select_related("requested_by").first()


def _last_extension_request(case: Case) -> ExtensionRequest | None:
    return ExtensionRequest.objects.filter(case=case).order_by("-requested_at", "-pk").first()


@transaction.atomic
def case_extend(*, actor, case: Case, workdays: int, reason: str) -> Case:
    """The one lawful extension, approved by the head of the deciding agency
    (``permissions.deciding_agency_id``), of at most ``selectors.extension_most``
    working days.

    With a request pending (``case_extension_request``) this is its approval:
    the head may grant fewer working days or reword the reason, and the
    request is marked approved in the same transaction.  The same extension
    sent again by the head who approved it (the same working days and
    reason) returns the case as it is; any other is the second extension the
    law does not allow.
    """
    case = _lock(case)
    require(permissions.case_extend(actor, case=case), action="case_extend")
    if case.extension_workdays == workdays and _sent_again(
            case, actor, EventType.EXTENDED, workdays=workdays, reason=reason):
        return case
    _check_extendable(case)
    _check_extension(case, workdays, reason)
    case.extension_workdays = workdays
    fields = ["extension_workdays", *_recompute(case)]
    case.save(update_fields=fields)
    request = _close_pending_extension(case, actor, status=ExtensionRequest.Status.APPROVED)
    asked = {"request": request.pk} if request is not None else {}
    deciding = permissions.deciding_agency_id(case)
    events.append(case=case, type=EventType.EXTENDED, actor=actor, agency_id=deciding,
                  data={"workdays": workdays, "reason": reason, **asked})
    audit_append(actor=actor, action=CasesAction.CASE_EXTENDED, obj=case,
                 agency_id=deciding, reason=reason,
                 changes={"workdays": workdays, **asked})
    notifications.case_extended(case, reason=reason)
    return case


def _close_pending_extension(case: Case, actor, *, status: str, deciding: int | None = None,
                             reason: str = "case closed") -> ExtensionRequest | None:
    """Close the case's pending request, if any, as ``status``: approved by the
    extension (``case_extend``), withdrawn with the case decided or withdrawn,
    or sent up to the upper agency (``task_complete``), so that nothing waits
    for a head on a case they can no longer extend.

    Closed with the case (not approved), it records the step that closed it
    in the audit log, for ``reason``, under the agency the request was made
    to, as its other records are: ``deciding``, the deciding agency before
    the step (``permissions.deciding_agency_id`` unless given).  Its event
    is the case's own.
    """
    request = _pending_extension(case)
    if request is None:
        return None
    request.status = status
    approved = status == ExtensionRequest.Status.APPROVED
    request.decided_by = person_of(actor) if approved else None
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    if not approved:
        if deciding is None:
            deciding = permissions.deciding_agency_id(case)
        audit_append(actor=actor, action=CasesAction.EXTENSION_WITHDRAWN, obj=case,
                     agency_id=deciding, reason=reason,
                     changes={"request": request.pk, "status": case.status})
    return request


@transaction.atomic
def case_extension_request(*, actor, case: Case, workdays: int, reason: str) -> ExtensionRequest:
    """延期申请: the person handling the case asks the deciding agency's head to
    extend it (``permissions.deciding_agency_id``).

    《行政许可法》第四十二条: an application that cannot be decided within the
    limit may be extended by ten working days (fifteen for parallel approval:
    ``selectors.extension_most``) with the head's approval, the reason told
    to the applicant.  Asked while the case could be extended
    (``_check_extendable``) and no other request waits; the heads of the
    deciding agency are told.  The same request sent again by whoever made
    it (the same working days and reason) returns the request made.
    """
    case = _lock(case)
    require(permissions.case_extension_request(actor, case=case),
            action="case_extension_request")
    reason = (reason or "").strip()
    last = _last_extension_request(case)
    if (last is not None and last.requested_by_id == person_of(actor).pk
            and last.workdays == workdays and last.reason == reason
            and last.status in (ExtensionRequest.Status.PENDING,
                                ExtensionRequest.Status.APPROVED)):
        # Sent again (a double click, a retry after the answer was lost).
        return last
    _check_extendable(case)
    if _pending_extension(case) is not None:
        raise Conflict(_("本件已有待负责人批准的延期申请，请等待批准或由提出人撤回后再申请。"),
                       code=CasesErrorCode.EXTENSION_PENDING)
    _check_extension(case, workdays, reason)
    request = ExtensionRequest(case=case, requested_by=person_of(actor), workdays=workdays,
                               reason=reason, requested_at=timezone.now())
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:
        # Another request committed meanwhile (the case's lock makes this a
        # last resort): one waits for the head at a time.
        raise Conflict(_("本件已有待负责人批准的延期申请，请等待批准或由提出人撤回后再申请。"),
                       code=CasesErrorCode.EXTENSION_PENDING) from None
    deciding = permissions.deciding_agency_id(case)
    events.append(case=case, type=EventType.EXTENSION_REQUESTED, actor=actor,
                  at=request.requested_at, agency_id=deciding,
                  data={"request": request.pk, "workdays": workdays, "reason": reason})
    audit_append(actor=actor, action=CasesAction.EXTENSION_REQUESTED, obj=case,
                 agency_id=deciding, reason=reason,
                 changes={"request": request.pk, "workdays": workdays})
    notifications.extension_requested(case, request)
    return request


@transaction.atomic
def case_extension_decline(*, actor, case: Case, note: str) -> ExtensionRequest:
    """The head does not approve the pending request, saying why; its requester
    is told.  The same decline sent again by that head returns the request."""
    case = _lock(case)
    require(permissions.case_extension_decline(actor, case=case),
            action="case_extension_decline")
    note = (note or "").strip()
    request = _pending_extension(case)
    if request is None:
        last = _last_extension_request(case)
        if (last is not None and last.status == ExtensionRequest.Status.DECLINED
                and last.decided_by_id == person_of(actor).pk and last.decision_note == note):
            return last
        raise Conflict(_("本件没有待批准的延期申请。"), code=CasesErrorCode.BAD_STATE)
    if not note:
        raise InvalidInput(_("不批准延期申请须说明理由。"), code=CasesErrorCode.NO_REASON,
                           field="note")
    request.status = ExtensionRequest.Status.DECLINED
    request.decided_by = person_of(actor)
    request.decided_at = timezone.now()
    request.decision_note = note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    deciding = permissions.deciding_agency_id(case)
    events.append(case=case, type=EventType.EXTENSION_DECLINED, actor=actor,
                  at=request.decided_at, agency_id=deciding,
                  data={"request": request.pk, "note": note})
    audit_append(actor=actor, action=CasesAction.EXTENSION_DECLINED, obj=case,
                 agency_id=deciding, reason=note, changes={"request": request.pk})
    notifications.extension_declined(case, request)
    return request


@transaction.atomic
def case_extension_withdraw(*, actor, case: Case) -> ExtensionRequest:
    """Whoever asked takes back their pending request (the case was decided in
    time after all, or the reason needs rewording).  Sent again, the request
    they withdrew is returned."""
    case = _lock(case)
    # The latest request is the one pending, when one is.
    request = _last_extension_request(case)
    require(request is not None and permissions.case_extension_withdraw(actor, request=request),
            action="case_extension_withdraw")
    person = person_of(actor)
    if (request.status == ExtensionRequest.Status.WITHDRAWN
            and request.decided_by_id == person.pk):
        # Sent again (a double click, a retry): withdrawn as asked.
        return request
    if request.status != ExtensionRequest.Status.PENDING:
        raise Conflict(_("本件没有待批准的延期申请。"), code=CasesErrorCode.BAD_STATE)
    request.status = ExtensionRequest.Status.WITHDRAWN
    request.decided_by = person
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    deciding = permissions.deciding_agency_id(case)
    events.append(case=case, type=EventType.EXTENSION_WITHDRAWN, actor=actor,
                  at=request.decided_at, agency_id=deciding, data={"request": request.pk})
    audit_append(actor=actor, action=CasesAction.EXTENSION_WITHDRAWN, obj=case,
                 agency_id=deciding, changes={"request": request.pk})
    return request


@transaction.atomic
def case_withdraw(*, actor, case: Case, reason: str = "") -> Case:
    """The applicant withdraws before a decision."""
    case = _lock(case, *APPLICANT_SIDE)
    require(permissions.case_withdraw(actor, case=case), action="case_withdraw")
    if case.status == Case.Status.WITHDRAWN:
        # Sent again (a double click, a retry after the answer was lost): it
        # went through, and "already decided" would tell the applicant otherwise.
        return case
    if not selectors.withdrawal_allowed(case):
        raise Conflict(_("办件已作出决定，不能撤回。"), code=CasesErrorCode.BAD_STATE)
    now = timezone.now()
    cancelled = _cancel_open(case.tasks.all())
    case.status = Case.Status.WITHDRAWN
    case.outcome = Case.Outcome.WITHDRAWN
    case.outcome_reason = reason
    case.closed_at = now
    case.next_check_at = None
    # Closed: no clock stands still any more (under correction or suspended).
    case.paused_since = None
    case.pause_reason = ""
    case.save(update_fields=["status", "outcome", "outcome_reason", "closed_at",
                             "next_check_at", "paused_since", "pause_reason"])
    events.append(case=case, type=EventType.WITHDRAWN, actor=actor, data={"reason": reason})
    _close_pending_extension(case, actor, status=ExtensionRequest.Status.WITHDRAWN)
    audit_append(actor=actor, action=CasesAction.CASE_WITHDRAWN, obj=case,
                 agency_id=case.agency_id, reason=reason)
    # Whoever was working on the case would otherwise see its task vanish.
    notifications.tasks_cancelled(cancelled, reason="withdrawn")
    return case


# --- fees ------------------------------------------------------------------------

@transaction.atomic
def case_fee_charge(*, actor, case: Case, fee_id: int, amount, note: str = "",
                    idempotency_key: str = "") -> Case:
    """Record a fee charged on a case (收费), as it was charged.

    The record states what happened, so a charge above the item's standard
    is recorded (and marked) rather than refused: electronic supervision
    must see it.  Waived fees are recorded with amount 0.  With an
    ``idempotency_key`` the same request sent again (a double click, a
    retry after a dropped connection) records nothing more: a second record
    would say the applicant paid twice, and raise a second alert.

    The key is the actor's own, as ``case_create``'s is its submitter's: the
    event that carries it records who charged (a person by account, a token
    or the system by label), and another actor's charge with the same key is
    another charge.  The key sent again with another fee, amount or note is
    not a retry: recording nothing would answer a charge that was never
    recorded as if it had been, so it is refused (``cases.idempotency_key_reused``).
    """
    case = _lock(case)
    require(permissions.case_fee_charge(actor, case=case), action="case_fee_charge")
    key = (idempotency_key or "").strip()[:64]
    # Read under the case's lock: a concurrent copy waited for the first.
    earlier = key and CaseEvent.objects.filter(
        case=case, type=EventType.FEE_CHARGED, data__idempotency_key=key,
        **events.made_by(actor)).order_by("pk").first()
    if earlier:
        try:
            fee, charged = _fee_as_charged(case, fee_id, amount)
        except InvalidInput:
            fee = charged = None
        # A charge recorded before its event kept the fee's id names the fee only.
        same_fee = fee is not None and (
            earlier.data["fee_id"] == fee.pk if "fee_id" in earlier.data
            else earlier.data.get("fee") == fee.name)
        if (same_fee and charged == Decimal(str(earlier.data.get("amount")))
                and earlier.data.get("note", "") == note):
            return case
        raise Conflict(_("该请求编号已用于本办件的另一笔收费（收费项目、金额或说明不同），"
                         "本次未记录。如确为另一笔收费，请重新打开收费表单或使用新的请求编号。"),
                       code=CasesErrorCode.KEY_REUSED)
    refused = selectors.fee_refusal(case)
    if refused is not None:
        raise refused
    fee, charged = _fee_as_charged(case, fee_id, amount)
    above = fee.amount is not None and charged > fee.amount
    events.append(case=case, type=EventType.FEE_CHARGED, actor=actor,
                  data={"fee_id": fee.pk, "fee": fee.name, "standard": fee.standard,
                        "basis": fee.basis,
                        "standard_amount": fee.amount, "amount": charged,
                        "above_standard": above, "waived": charged == 0, "note": note,
                        **({"idempotency_key": key} if key else {})})
    audit_append(actor=actor, action=CasesAction.FEE_CHARGED, obj=case,
                 agency_id=case.agency_id, reason=note,
                 changes={"fee": fee.name, "amount": charged, "above_standard": above})
    return case


def _fee_as_charged(case: Case, fee_id, amount) -> tuple[Fee, Decimal]:
    """The item's fee ``fee_id`` and ``amount`` as recorded (to the fen), or refused.

    Money is paid in fen: an amount with a fraction of one is a typo, and
    rounded it would be recorded as other than typed (0.004 as waived), so
    it is refused; 80.000 is 80.00 written otherwise, and taken.
    """
    fee = case.item_version.fees.filter(pk=fee_id).first()
    if fee is None:
        raise InvalidInput(_("该事项没有这个收费项目。"), field="fee_id")
    try:
        typed = Decimal(str(amount))
        charged = typed.quantize(Decimal("0.01"))
        if charged < 0 or charged != typed:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("金额应为不小于 0 的数字，最多两位小数。"), field="amount") from None
    return fee, charged


# --- status without signing in ---------------------------------------------------

STATUS_QUERY_MAX_FAILURES = 10
# Wrong tries on one case number from every address together: a query code
# has 10^8 values, so at this rate guessing one takes decades however many
# addresses try.  The applicant, locked out of the public query meanwhile,
# still sees the case when signed in.
STATUS_QUERY_MAX_FAILURES_PER_NUMBER = 30
STATUS_QUERY_WINDOW = datetime.timedelta(minutes=15)


def case_status_lookup(*, number: str, code: str, ip: str | None) -> Case:
    """A case by its number and query code, for anyone who has both.

    Open to anyone, so guessing is throttled: after ten wrong tries from one
    address (for IPv6, one /64) in fifteen minutes, or thirty on one case
    number from anywhere, further tries are refused for a while.  Full-width
    digits (a Chinese keyboard) are the same digits, also when a wrong try
    is counted against the number.
    """
    block = throttle_address(ip)
    number = selectors.query_input(number)[:32]
    code = selectors.query_input(code)
    # The try is recorded as a failure before it is checked, and counted
    # with the others: tries sent at once each see those committed before
    # their count, so that no more than the limit get past it, however
    # many come together (counting first and recording after a wrong code
    # let each of them read the same count).  Each statement commits on
    # its own; no transaction is held while the case is looked up.
    attempt = StatusQueryFailure.objects.create(at=timezone.now(), ip=block, number=number)
    guessed_wrong = False
    try:
        recent = StatusQueryFailure.objects.filter(at__gte=timezone.now() - STATUS_QUERY_WINDOW)
        if ((block and recent.filter(ip=block).count() > STATUS_QUERY_MAX_FAILURES)
                or (number and recent.filter(number=number).count()
                    > STATUS_QUERY_MAX_FAILURES_PER_NUMBER)):
            raise Throttled(minutes=STATUS_QUERY_WINDOW.seconds // 60)
        return selectors.case_by_query_code(number=number, code=code)
    except (NotFound, InvalidInput):
        guessed_wrong = True
        raise
    finally:
        # Only a wrong number or code stays counted: a refused try is not a
        # guess (it does not lengthen the wait), nor is one that found its case.
        if not guessed_wrong:
            attempt.delete()


# --- the calendar changed ------------------------------------------------------

@transaction.atomic
def deadlines_recompute(*, year: int | None = None) -> int:
    """Count the deadlines of open cases and steps again after the calendar changed.

    System work (no actor): run when a year's holidays are published, so
    provisional deadlines become final, and when a day is edited.  Counted
    again from what they are made of: the case's deadlines from its
    acceptance, limits, extension and the working days its pauses cost
    (each pause recounted from its events, since a day inside it may have
    changed); each open step's limit from when it began.  Returns the
    number of cases whose deadlines or steps moved.

    Only an application (``Case.Kind.APPROVAL``) has deadlines of its own; a
    supervision notice's limits are its steps', counted again as steps.  A
    case decided, withdrawn or closed while a deadline of it was provisional
    is counted again too (its pauses from their events, its extension), so
    that its 暂定 mark goes once the year is published; one whose deadlines
    are final is left as it is.  When an application's limits run from (its
    acceptance, or its receipt: 第三十二条, ``clock.clock_start``) is judged
    again too, since the five working days after receipt may have run over
    a day the calendar changed.
    """
    # This process may have read the calendar a moment before the change
    # committed elsewhere (a worker): the count must use the new one.
    calendar_cache_clear()
    calendar = calendar_current()
    steps = Task.objects.filter(status__in=[Task.Status.OPEN, Task.Status.CLAIMED],
                                due_at__isnull=False)
    counted = Q(kind=Case.Kind.APPROVAL, accepted_at__isnull=False)
    running = counted & Q(status__in=Case.RUNNING_STATUSES)
    provisional = counted & (Q(due_provisional=True) | Q(promised_provisional=True))
    if year is not None:
        # Whatever counted days through that year, whichever year it ends in.
        steps = steps.filter(Q(due_provisional=True)
                             | Q(created_at__year__lte=year, due_at__year__gte=year))
        running &= (Q(due_provisional=True)
                    | Q(accepted_at__year__lte=year, statutory_due__year__gte=year))
    # Locked in case id order, as every step that locks several cases does
    # (release_claims): in the model's order (newest first) the recount and
    # a person leaving a post would each hold a case the other waits for.
    # The correction notice comes with the case: its answer is when the
    # materials were received (selectors.materials_received_at).
    cases = list(Case.objects.select_for_update(of=("self",)).filter(
        running | provisional | Q(pk__in=steps.values("case_id"))
    ).select_related("item_version", "correction").order_by("pk"))
    ids = [case.pk for case in cases]
    pauses = {}
    for event in CaseEvent.objects.filter(
            case_id__in=ids, type__in=[EventType.SUSPENDED, EventType.RESUMED]).order_by(
            "case_id", "at", "id").only("case_id", "type", "at"):
        pauses.setdefault(event.case_id, []).append(event)
    # When the window acted: the first acceptance (one again after a return
    # never restarts the clock).
    acceptances = {}
    for event in CaseEvent.objects.filter(case_id__in=ids, type=EventType.ACCEPTED).order_by(
            "case_id", "at", "id").only("case_id", "at"):
        acceptances.setdefault(event.case_id, event)
    open_steps = {}
    for task in steps.filter(case_id__in=ids):
        open_steps.setdefault(task.case_id, []).append(task)
    moved = 0
    for case in cases:
        spans = clock.pause_spans(pauses.get(case.pk, ()))
        changes, fields = {}, []
        promised_before = case.promised_due
        is_running = case.status in Case.RUNNING_STATUSES
        if case.kind == Case.Kind.APPROVAL and case.accepted_at is not None and (
                is_running or case.due_provisional or case.promised_provisional):
            before = {name: getattr(case, name) for name in
                      ("accepted_at", "paused_workdays", *clock.DEADLINE_FIELDS)}
            acceptance = acceptances.get(case.pk)
            if acceptance is not None:
                # 第三十二条 (逾期不告知的，自收到申请材料之日起即为受理) judged
                # again: the five working days after receipt may have run
                # over a day since made a holiday or a working day.  Judged
                # the same, the moment stored is kept (the event was written
                # a moment after the clock started: not a change).
                received = selectors.materials_received_at(case)
                deemed = clock.clock_start(calendar=calendar, received_at=received,
                                           accepted_at=acceptance.at) == received
                if deemed != (case.accepted_at == received):
                    case.accepted_at = received if deemed else acceptance.at
            # Every pause counted again from its events, the case decided or
            # not: one counted over an unpublished year would otherwise stay
            # in its final deadlines as the provisional count had it.
            case.paused_workdays = clock.paused_in(calendar=calendar, spans=spans)
            fields = ["accepted_at", "paused_workdays", *_recompute(case, calendar)]
            changes = {name: [before[name], getattr(case, name)]
                       for name in ("accepted_at", "paused_workdays", "statutory_due",
                                    "promised_due")
                       if before[name] != getattr(case, name)}
            if not changes:
                # Only a provisional mark went (a year published): each one
                # that did is recorded by its own name.
                changes = {name: [before[name], getattr(case, name)]
                           for name in ("due_provisional", "promised_provisional")
                           if before[name] != getattr(case, name)}
        moved_steps, moved_dues = [], {}
        for task in open_steps.get(case.pk, ()):
            start = task.due_from or task.created_at
            kind = task_kind(task.name)
            # Capped at the case's promised deadline as counted again just
            # above, unless the step opened after it had passed.
            due = _within_promise(case, kind, _task_due(
                case, kind, start, calendar=calendar,
                paused=clock.paused_in(calendar=calendar, spans=spans, after=start)),
                late=_opened_late(task, promised_before))
            if (due.at, due.provisional) != (task.due_at, task.due_provisional):
                changes.setdefault("tasks", {})[task.title] = [task.due_at, due.at]
                if due.at != task.due_at:
                    moved_dues[task.pk] = [task.due_at, due.at]
                task.due_at, task.due_provisional = due.at, due.provisional
                moved_steps.append(task)
        if not changes:
            continue
        Task.objects.bulk_update(moved_steps, ["due_at", "due_provisional"])
        if moved_steps and not fields:
            # Steps with new limits: supervision plans its next look.
            case.next_check_at = timezone.now()
            fields = ["next_check_at"]
        case.save(update_fields=fields)
        audit_append(actor=None, action=CasesAction.DEADLINES_RECOMPUTED, obj=case,
                     agency_id=case.agency_id,
                     reason=f"calendar {year}" if year is not None else "calendar",
                     changes=changes)
        # Supervision is told what its sweep still looks at, and so raises
        # again on the new deadline: a case's own deadlines until it is
        # decided, its open steps while it is open.  Told of a decided case's
        # deadline, it would clear the alerts raised on the old one for good.
        dues = {name: changes[name] for name in ("statutory_due", "promised_due")
                if name in changes and case.status in Case.RUNNING_STATUSES}
        if moved_dues and case.status in Case.OPEN_STATUSES:
            dues["tasks"] = moved_dues
        if dues:
            deadlines_moved.send(sender=Case, case=case, moved=dues, cause="calendar")
        moved += 1
    return moved

