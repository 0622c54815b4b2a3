"""Reads of the case engine; who sees which case is decided here.

Applicants see their own cases; staff see the cases of the agencies in
their scope, and the cases where their agency holds a task (joint review).
Inboxes list the open tasks whose role the actor holds in the task's
agency, and the tasks the actor claimed.
"""

import hmac
import unicodedata
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.accounts.models import person_of
from yizhan.cases import clock, permissions
from yizhan.cases.downloads import EXTENSIONS
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, CaseEvent, EventType, ExtensionRequest, MaterialFile, Task
from yizhan.catalog.content import file_display_name
from yizhan.catalog.models import ItemVersion, Material
from yizhan.core.crypto import sm3_hex
from yizhan.core.errors import ApplicationError, Conflict, InvalidInput, NotFound
from yizhan.directory.authz import scope_of
from yizhan.workdays.selectors import calendar_current

# 不予受理 where acceptance is decided (the window's acceptance, or a 即办件's
# step that accepts and decides at once), whose "reject" is 不予许可 (a
# refusal on the merits of an application then recorded as accepted).
NOT_ACCEPT = "not_accept"
DECISIONS = ("approve", "reject", NOT_ACCEPT)

CASE_RELATED = ("item_version", "item_version__item", "agency", "applicant", "submitted_by")


def _cases() -> QuerySet[Case]:
    return Case.objects.select_related(*CASE_RELATED)


def _cases_with_tasks() -> QuerySet[Case]:
    # The tasks decide who may see a case (joint review), and every page and
    # answer that shows one case lists them: read once, in order.
    tasks = Task.objects.select_related("agency", "claimed_by").order_by("created_at", "id")
    return _cases().prefetch_related(Prefetch("tasks", queryset=tasks))


def _case_seen(actor, case_id: int, rule) -> Case | None:
    """The case ``case_id`` with its tasks if ``rule(actor, case=...)`` lets the actor see it."""
    case = _cases_with_tasks().filter(pk=case_id).first()
    return case if case is not None and rule(actor, case=case) else None


def case_get_for_actor(*, actor, case_id: int) -> Case:
    case = _case_seen(actor, case_id, permissions.case_view)
    if case is None:
        raise NotFound()
    return case


def case_detail(*, actor, case_id: int) -> Case:
    """A case with its tasks, events and files, for one page."""
    case = case_get_for_actor(actor=actor, case_id=case_id)
    return _with_timeline(case)


def case_get_for_staff(*, actor, case_id: int) -> Case:
    """A case for its staff pages (``permissions.case_staff_page``): not found for
    whoever sees it only as its applicant or as the clerk who filed it."""
    case = _case_seen(actor, case_id, permissions.case_staff_page)
    if case is None:
        raise NotFound()
    return case


def case_detail_for_staff(*, actor, case_id: int) -> Case:
    """``case_get_for_staff`` with its tasks, events and files, for one page."""
    return _with_timeline(case_get_for_staff(actor=actor, case_id=case_id))


def case_id_seen_as_staff(*, actor, case_id: int) -> bool:
    """``permissions.case_staff_view`` for the case ``case_id`` (False if there is none)."""
    return _case_seen(actor, case_id, permissions.case_staff_view) is not None


def _with_timeline(case: Case) -> Case:
    case.timeline = list(CaseEvent.objects.filter(case=case).select_related("task", "agency")
                         .order_by("at", "id"))
    case.task_list = list(case.tasks.all())
    case.file_list = case_files(case)
    return case


@dataclass(frozen=True)
class EventShown:
    """What a case's timeline tells of one event besides its type, agency and step."""

    decision: str  # a review's "approve" (同意) or "reject" (不同意); else ""
    opinion: str
    items: list  # a correction notice's materials, each with its problem
    workdays: int | None  # an extension's (or, to staff, an extension request's) days
    reason: str  # the reason of that extension (or request)
    note: str  # to staff: why the head declined an extension request


def event_shown(event: CaseEvent, *, staff: bool) -> EventShown:
    """What the timeline tells of ``event`` to the applicant, or to ``staff``.

    The case page (``cases/timeline.html``) and the API (``EventOut``) both
    follow it.  The applicant is told the opinions, a correction's items, a
    review's decision, and an extension's working days and reason
    (《行政许可法》第四十二条: the reason is told to the applicant).  An
    extension request, and the head's refusal of it, are the agency's
    internal steps: only staff are told their days, reason and note.
    """
    data = event.data or {}
    extension = event.type == EventType.EXTENDED or (
        staff and event.type == EventType.EXTENSION_REQUESTED)
    decision = data.get("decision") if event.type == EventType.REVIEWED else ""
    return EventShown(
        decision=decision if decision in ("approve", "reject") else "",
        opinion=str(data.get("opinion") or ""),
        items=list(data.get("items") or ()),
        workdays=data.get("workdays") if extension else None,
        reason=str(data.get("reason") or "") if extension else "",
        note=str(data.get("note") or "")
        if staff and event.type == EventType.EXTENSION_DECLINED else "",
    )


def case_files(case: Case) -> list[MaterialFile]:
    """The application's files of ``case``, in the order of its materials."""
    return [_named(record) for record in
            _material_files().filter(case=case).select_related("material")
            .order_by("material__order", "uploaded_at")]


def _material_files() -> QuerySet[MaterialFile]:
    """The files that are part of the application.

    A file replaced before the case was submitted never was: replacing a
    draft's file deletes it, and a row an earlier version kept (its
    replacement uploaded by the submission, or the case never submitted)
    is neither listed nor served.  A file replaced during a
    correction stays, marked replaced: it is what the applicant submitted.
    """
    replaced_before_submission = MaterialFile.objects.filter(
        case=OuterRef("case"), material=OuterRef("material"), pk__gt=OuterRef("pk"),
        uploaded_at__lte=OuterRef("case__submitted_at"))
    return MaterialFile.objects.exclude(
        Q(replaced=True) & (Q(case__submitted_at__isnull=True)
                            | Exists(replaced_before_submission)))


def _named(record: MaterialFile) -> MaterialFile:
    """``record`` with its name as it is shown and downloaded: a name kept before
    names were cleaned on upload may hold control characters (a right-to-left
    override) that make it read as another."""
    record.original_name = file_display_name(record.original_name, record.material.name,
                                             EXTENSIONS.get(record.content_type, ""))
    return record


def material_file_for_actor(*, actor, file_id: int) -> MaterialFile:
    """A material file to download: one of the application's files, of a case the
    actor may see (otherwise not found)."""
    record = (_material_files().select_related("case", "material")
              .filter(pk=file_id).first())
    if record is None or not permissions.case_view(actor, case=record.case):
        raise NotFound()
    return _named(record)


def draft_continues(case: Case, *, actor, version) -> bool:
    """Whether an application form of ``version`` continues the draft ``case``.

    Only a draft the actor saved, of that version, by the idempotency key
    the form posts again: the applicant's own on the apply page (修改申请信息),
    the clerk's own on the window's page (继续办理).  A draft the window
    filed is the clerk's to continue, not the applicant's.  A draft of a
    version of the item superseded since is continued by the form of the
    version in force, which files it as that version's (its files by their
    materials' names, ``materials_as_posted``; services.case_create moves it
    there), so that what the applicant gave is not lost.
    """
    return (case.status == Case.Status.DRAFT and bool(case.idempotency_key)
            and case.submitted_by_id is not None
            and case.submitted_by_id == getattr(person_of(actor), "pk", None)
            and (case.item_version_id == version.pk
                 or (version.item.published_id == version.pk
                     and case.item_version.item_id == version.item_id)))


def draft_by_key(*, actor, version, key: str) -> Case | None:
    """The draft an application form of ``version`` continues by its ``key``
    (one sent back from a display toggle), or None (``draft_continues``)."""
    if not key or person_of(actor) is None:
        return None
    case = Case.objects.filter(submitted_by=actor, idempotency_key=key,
                               status=Case.Status.DRAFT).select_related("item_version").first()
    return case if case is not None and draft_continues(case, actor=actor,
                                                         version=version) else None


def _carried_by_filer(user) -> Q:
    """The cases ``user`` filed that they still carry as their filer: at the
    window of an agency where they serve at the window now
    (``permissions.counter_agencies``, the rule by which they open one,
    ``permissions.case_applicant_page``).  A clerk moved to another agency's
    window (调岗) no longer carries the old agency's: the applicant's case is
    not theirs to take along."""
    counters = permissions.counter_agencies(user)
    return (Q(submitted_by=user) if counters is None
            else Q(submitted_by=user, agency_id__in=counters))


def window_drafts(*, actor) -> QuerySet[Case]:
    """未提交的代办申请: the drafts the clerk's window filings left (a material
    missing, an answer refused, the applicant gone to fetch a document),
    newest first, to be continued or given up (``draft_continues``).

    Only those of the agencies at whose window the clerk serves now
    (``_carried_by_filer``): one of another agency's would list a
    stranger's name and item that the clerk can neither continue nor give up.
    """
    if person_of(actor) is None:
        return Case.objects.none()
    return _cases().filter(_carried_by_filer(actor), channel="window",
                           status=Case.Status.DRAFT,
                           kind=Case.Kind.APPROVAL).order_by("-created_at", "-pk")


def cases_of_applicant_user(*, user) -> QuerySet[Case]:
    """The applications a user made or is the applicant of (not notices they issued).

    The walk-in applications a window clerk filed are listed while they serve
    at the window of the agency they filed them with, the rule by which they
    open one (``permissions.case_applicant_page``): a list entry that would
    not open would show a stranger's name, item and outcome.
    """
    if person_of(user) is None:
        return Case.objects.none()  # a token applies for nobody
    return _cases().filter(_carried_by_filer(user) | Q(applicant__user=user),
                           kind=Case.Kind.APPROVAL).order_by("-created_at")


def inbox(*, actor) -> QuerySet[Task]:
    """What the actor can do now (我的待办): the open tasks of their roles in
    the tasks' agencies, and the tasks they claimed themselves.

    A task a colleague has claimed is theirs (``in_hand``): it is neither
    listed nor counted here.  An API token claims nothing, so it is given
    the open tasks only.
    """
    scope = scope_of(actor)
    match = Q(pk__in=[])
    roles = set(scope.roles) | set(scope.everywhere)
    for role in roles:
        ids = scope.agencies(role)
        match |= Q(role=role) if ids is None else Q(role=role, agency_id__in=ids)
    doable = Q(status=Task.Status.OPEN)
    person = person_of(actor)
    if person is not None:
        doable |= Q(status=Task.Status.CLAIMED, claimed_by=person)
    return (Task.objects.filter(match, doable)
            .exclude(case__status__in=[Case.Status.CORRECTION, Case.Status.SUSPENDED])
            .select_related("case", "case__item_version", "case__applicant", "agency",
                            "claimed_by")
            .order_by("due_at", "id"))


def submitted_cases() -> QuerySet[Case]:
    """The cases that are before an agency: applications once submitted, and
    the notices issued (``Case.was_submitted``).  Neither a draft nor a draft
    its applicant withdrew unsubmitted: the staff never see them, and they
    count in no figure of the agency's work."""
    return Case.objects.filter(submitted_at__isnull=False)


def submitted_statuses() -> list[tuple[str, str]]:
    """The statuses a case of ``submitted_cases`` can be in, as choices: every
    one but 草稿, which submitting leaves for good; 本机关办件 filters by them."""
    return [(value, label) for value, label in Case.Status.choices
            if value != Case.Status.DRAFT]


# Longer than any case number or applicant's name: a search that long is
# something pasted by mistake, and is ignored rather than run.
AGENCY_CASES_QUERY_MAX = 100


def agency_cases(*, actor, status: str = "", q: str = "") -> QuerySet[Case]:
    """The cases the actor's agencies handle, newest first.

    ``q`` finds a case by its number (whole, or its beginning: the applicant
    at the counter reads it out) or by the applicant's name; it narrows what
    the scope lets the actor see, never widens it.
    """
    scope = scope_of(actor)
    ids = scope.agencies(*permissions.STAFF_VIEW_ROLES)
    qs = submitted_cases().select_related(*CASE_RELATED)
    if ids is not None:
        # Through a task (joint review) only the roles that do tasks see a
        # case, as in permissions.case_staff_page: a listed case must open.
        task_ids = scope.agencies(*permissions.TASK_ROLES)
        qs = qs.filter(Q(agency_id__in=ids) | Q(tasks__agency_id__in=task_ids)).distinct()
    if status:
        qs = qs.filter(status=status)
    q = str(q or "").strip()
    if q and len(q) <= AGENCY_CASES_QUERY_MAX:
        # A number typed in full-width digits (a Chinese keyboard) is the
        # same number; a name is matched as written.
        qs = qs.filter(Q(number__startswith=query_input(q)) | Q(applicant__name__icontains=q))
    return qs.order_by("-submitted_at")


def correction_notice_for_actor(*, actor, case_id: int) -> Case:
    """A case with its correction notice, for the printable 补正材料通知书.

    For whoever ``permissions.correction_notice_print`` lets print it (the
    applicant's side, the accepting agency's staff); not found otherwise,
    and for a case that was never told to correct anything.
    """
    case = _cases().select_related("correction", "applicant__user").filter(pk=case_id).first()
    if (case is None or not case.corrections
            or not permissions.correction_notice_print(actor, case=case)):
        raise NotFound()
    return case


@dataclass(frozen=True)
class PostedMaterials:
    """An application form's file inputs read as the materials of the version in
    force (``materials_as_posted``): by each material's id, the id its file
    was posted under (``material_<id>``); and whether the form was of an
    earlier version whose materials were not the same."""

    posted_as: dict[int, int]
    changed: bool = False


def materials_as_posted(*, version, posted_version_id: int | None,
                        posted_ids) -> PostedMaterials:
    """How a form of the item of ``version`` posted its materials' files.

    A form opened before a new version of the item was published names the
    files by the earlier version's materials (new rows on publishing): each
    is posted again as ``version``'s material of the same name (names are
    unique within a version), so that a file the applicant chose is not
    dropped, and ``changed`` says that materials were added or removed since
    (the applicant then looks at the form again).  The form's version is
    the one it names (``posted_version_id``), or for a form that names none,
    the one the posted materials (``posted_ids``) are of.  A version of
    another item, or none, posts as ``version``'s own.
    """
    current = list(version.materials.all())
    own = {m.pk: m.pk for m in current}
    if posted_version_id is None:
        foreign = set(posted_ids) - set(own)
        earlier = set(Material.objects.filter(pk__in=foreign, version__item_id=version.item_id)
                      .values_list("version_id", flat=True)) if foreign else set()
        posted_version_id = earlier.pop() if len(earlier) == 1 else None
    if (posted_version_id is None or posted_version_id == version.pk
            or not ItemVersion.objects.filter(pk=posted_version_id,
                                              item_id=version.item_id).exists()):
        return PostedMaterials(posted_as=own)
    before = list(Material.objects.filter(version_id=posted_version_id)
                  .values_list("pk", "name"))
    names = [name for _pk, name in before]
    by_name = {name: pk for pk, name in before if names.count(name) == 1}
    posted_as = {m.pk: by_name[m.name] for m in current if m.name in by_name}
    return PostedMaterials(posted_as=posted_as,
                           changed=sorted(names) != sorted(m.name for m in current))


def materials_received_at(case: Case):
    """When the application's materials were received (第三十二条's 收到申请材料):
    its submission, or the answer to its correction notice, whose corrected
    materials are those then received."""
    if case.corrections and case.correction.answered_at is not None:
        return case.correction.answered_at
    return case.submitted_at


def correction_answers(case: Case) -> dict[int, MaterialFile]:
    """The files sent in answer to the case's correction notice, by material id:
    each material's file uploaded since the notice (``services.case_correct``
    wants one for every material the notice lists)."""
    if not case.corrections:
        return {}
    return {record.material_id: _named(record) for record in MaterialFile.objects.filter(
        case=case, replaced=False, uploaded_at__gte=case.correction.issued_at,
    ).select_related("material")}


def task_get_for_actor(*, actor, task_id: int) -> Task:
    """A task of a case whose staff pages the actor sees (``case_get_for_staff``)."""
    task = Task.objects.select_related("case", "agency").filter(pk=task_id).first()
    if task is None or not permissions.case_staff_page(actor, case=task.case):
        raise NotFound()
    return task


# --- what a step allows ----------------------------------------------------------
# The state conditions the services check besides the permission predicate,
# as pure functions of the rows a page already holds, so that a page offers
# only what the service would do.  The services call them (``_check_in_hand``,
# ``_check_undecided``, ``task_return``, ``case_request_correction``,
# ``case_withdraw``), with messages that say which condition failed;
# ``decision_refusal`` and ``correction_refusal`` give ``task_complete``
# and ``case_request_correction`` the error itself.


def in_hand(task: Task, actor) -> bool:
    """The task is still to do, and nobody but ``actor`` has claimed it
    (services._check_in_hand)."""
    if task.status == Task.Status.OPEN:
        return True
    return (task.status == Task.Status.CLAIMED
            and task.claimed_by_id == getattr(actor, "pk", None))


def decision_refusal(case: Case, *, kind: str, decision: str) -> ApplicationError | None:
    """Why a step of ``kind`` of ``case`` cannot take ``decision``, or None
    (services.task_complete raises it; pages offer only what gives None).

    Only an application's steps before delivery can refuse; the window
    refuses to accept (不予受理) only before the case was first accepted,
    after which a refusal is a decision (不予许可).  The reasons a refusal
    needs are the service's to check: they are not the state's.
    """
    if case.status not in (Case.Status.SUBMITTED, Case.Status.IN_PROGRESS,
                           Case.Status.APPROVED):
        return Conflict(_("办件当前状态（%(status)s）下不能办理此环节。"),
                        code=CasesErrorCode.BAD_STATE, status=case.get_status_display())
    if decision not in DECISIONS:
        return InvalidInput(_("办理意见须为 approve（同意）、reject（不同意）"
                              "或 not_accept（不予受理）。"),
                            code=CasesErrorCode.BAD_DECISION, field="decision")
    if decision == "approve":
        return None
    if decision == NOT_ACCEPT and not (case.kind == Case.Kind.APPROVAL
                                       and accepting_step(case, kind=kind)
                                       and case.accepted_at is None):
        return InvalidInput(_("只有受理环节在受理前可以不予受理；已受理的办件如不符合条件，"
                              "请在审查、决定环节提出不予许可。"),
                            code=CasesErrorCode.BAD_DECISION, field="decision")
    if case.kind == Case.Kind.NOTICE:
        return InvalidInput(_("督办件只能提交回复或认可回复；不认可的回复请退回重新整改。"),
                            code=CasesErrorCode.BAD_DECISION, field="decision")
    if kind == "deliver":
        return InvalidInput(_("送达环节只能确认送达。"), code=CasesErrorCode.BAD_DECISION,
                            field="decision")
    if kind == "accept" and case.accepted_at is not None:
        # Returned to the window after it was accepted: the application is
        # already 受理 and its clock runs, so it ends in a decision
        # (不予许可), not in a refusal to accept.
        return InvalidInput(_("本件已经受理，不能再不予受理；如不符合条件，请在审查、"
                              "决定环节提出不予许可。"),
                            code=CasesErrorCode.BAD_DECISION, field="decision")
    return None


def refuses_acceptance(*, kind: str, decision: str) -> bool:
    """Whether ``decision`` on a step of ``kind`` (one ``decision_refusal``
    lets take it) is 不予受理: the window's acceptance rejecting, or
    ``NOT_ACCEPT`` where acceptance is decided."""
    return decision == NOT_ACCEPT or (kind == "accept" and decision == "reject")


def decision_allowed(case: Case, *, kind: str, decision: str) -> bool:
    """Whether a step of ``kind`` of ``case`` takes ``decision``."""
    return decision_refusal(case, kind=kind, decision=decision) is None


def return_allowed(case: Case, *, kind: str) -> bool:
    """A step of ``kind`` may be sent back (services.task_return): a review or a
    decision of a case in progress."""
    return kind in ("review", "decide") and case.status == Case.Status.IN_PROGRESS


def accepting_step(case: Case, *, kind: str) -> bool:
    """Whether a step of ``kind`` is where ``case`` is accepted (受理): the
    window's acceptance, or a 即办件's accept-and-decide step while the case
    is not yet accepted."""
    return kind == "accept" or (kind == "decide" and case.accepted_at is None)


def correction_refusal(case: Case, *, kind: str, now=None) -> ApplicationError | None:
    """Why no correction notice can be given on a step of ``kind`` of ``case``
    at ``now`` (the present by default), or None (services.case_request_correction
    raises it; pages offer the form only when it gives None).

    一次性告知: at acceptance, of a submitted case, once, and within
    ``clock.CORRECTION_NOTICE_WORKDAYS`` working days of receiving the
    materials (《行政许可法》第三十二条); after them the application is
    accepted in law, and its limits run from the receipt (``clock.clock_start``).
    """
    if not accepting_step(case, kind=kind):
        return Conflict(_("只能在受理环节告知补正。"), code=CasesErrorCode.BAD_STATE)
    if case.status != Case.Status.SUBMITTED:
        return Conflict(_("办件当前状态下不能告知补正。"), code=CasesErrorCode.BAD_STATE)
    if case.corrections:
        return Conflict(_("补正须一次性告知，本件已告知过，不能再次告知。"),
                        code=CasesErrorCode.CORRECTION_ONCE)
    due = clock.correction_notice_due(calendar=calendar_current(),
                                      received_at=materials_received_at(case))
    if (now or timezone.now()) > due.at:
        return Conflict(_("收到申请材料已超过 %(n)s 个工作日，不能再告知补正。《行政许可法》"
                          "第三十二条：申请材料不齐全或者不符合法定形式的，应当当场或者在五日内"
                          "一次告知申请人需要补正的全部内容，逾期不告知的，自收到申请材料之日起"
                          "即为受理。"),
                        code=CasesErrorCode.CORRECTION_TOO_LATE,
                        n=clock.CORRECTION_NOTICE_WORKDAYS, due=due.date.isoformat())
    return None


def fee_refusal(case: Case) -> ApplicationError | None:
    """Why no fee can be recorded on ``case`` now, or None
    (services.case_fee_charge raises it; pages offer the fee form only when
    it gives None).

    A fee is taken while the application is before the agency and its
    result not yet delivered: not while the applicant is still correcting
    it (not yet accepted) nor while it is paused, when nothing is handled.
    """
    if case.status not in (Case.Status.SUBMITTED, Case.Status.IN_PROGRESS,
                           Case.Status.APPROVED):
        return Conflict(_("办件当前状态下不能收费。"), code=CasesErrorCode.BAD_STATE)
    return None


def clock_adjustable(case: Case) -> bool:
    """The limits may still be paused or extended: no decision yet
    (services._check_undecided)."""
    return case.decided_at is None


def extension_allowed(case: Case, now=None) -> bool:
    """The one extension may still be approved at ``now`` (the present by
    default; services.case_extend): a running case, not extended yet,
    undecided, and within its statutory limit.

    《行政许可法》第四十二条 grants the extension when the decision cannot be
    made within the limit: approved once the limit has run out, it would
    only hide that the case is overdue.  A paused case's limit stands still
    at the pause, so it is judged there.
    """
    if (case.status not in Case.RUNNING_STATUSES or case.extension_workdays
            or not clock_adjustable(case)):
        return False
    at = case.paused_since or now or timezone.now()
    return case.statutory_due is None or at <= case.statutory_due


def extension_most(case: Case) -> int:
    """The most working days the one extension of ``case`` may add: fifteen for
    an item handled by several agencies together (统一办理、联合办理、集中办理:
    《行政许可法》第四十二条第二款), ten otherwise (``clock.EXTENSION_WORKDAYS``).

    Handled together when its process gives the joint agencies steps (a
    ``$joint`` lane), not when the item merely names joint agencies: a 承诺件,
    上级初审 or 即办件 naming some is still handled by one agency alone.  Read
    from the version's stored process, with no query of its own.
    """
    from yizhan.bpmn import ProcessDefinition

    if ProcessDefinition.from_json(case.item_version.process_spec).has_joint:
        return clock.JOINT_EXTENSION_WORKDAYS
    return clock.EXTENSION_WORKDAYS


def pending_extension(case: Case, *, actor) -> ExtensionRequest | None:
    """The case's extension request waiting for the head, for ``actor`` if they
    see the case as its staff do (``permissions.case_staff_view``): the request
    and its reason are the agency's until the head approves them.  None otherwise."""
    if not permissions.case_staff_view(actor, case=case):
        return None
    return (ExtensionRequest.objects.filter(case=case, status=ExtensionRequest.Status.PENDING)
            .select_related("requested_by").first())


def extensions_awaiting(*, actor) -> QuerySet[ExtensionRequest]:
    """待批准的延期申请: the pending requests of the cases decided by agencies where
    ``actor`` holds the head's role, those whose limit runs out first first,
    in one query.

    Only a person approves (``permissions.case_extend``): a token is shown none,
    as is anyone heading no agency (``permissions.extensions_awaiting``).
    """
    from yizhan.directory.roles import Role

    if not permissions.extensions_awaiting(actor):
        return ExtensionRequest.objects.none()
    ids = scope_of(actor).agencies(Role.AGENCY_HEAD)
    pending = ExtensionRequest.objects.filter(status=ExtensionRequest.Status.PENDING,
                                              case__kind=Case.Kind.APPROVAL)
    if ids is not None:
        # The deciding agency (``permissions.deciding_agency_id``) in SQL: the
        # upper agency once a step of the case has reached it, else the
        # accepting one.
        sent_up = Exists(Task.objects.filter(
            case_id=OuterRef("case_id"),
            agency_id=OuterRef("case__item_version__upper_agency_id")))
        pending = pending.alias(sent_up=sent_up).filter(
            Q(sent_up=True, case__item_version__upper_agency_id__in=ids)
            | Q(sent_up=False, case__agency_id__in=ids))
    return (pending.select_related("case", "case__item_version", "case__agency",
                                   "requested_by")
            .only("workdays", "reason", "requested_at", "requested_by__username",
                  "requested_by__full_name", "case__number", "case__statutory_due",
                  "case__due_provisional", "case__item_version__name", "case__agency__name")
            .order_by("case__statutory_due", "requested_at", "pk"))


def withdrawal_allowed(case: Case) -> bool:
    """The applicant may still withdraw: before a decision (services.case_withdraw)."""
    return case.status in Case.WITHDRAWABLE_STATUSES and case.decided_at is None


@dataclass(frozen=True)
class Remaining:
    statutory: int | None
    promised: int | None
    provisional: bool


def remaining_workdays(case: Case, now=None) -> Remaining:
    """Working days left to each deadline, shown to applicant and staff.

    The clock runs to the decision (《行政许可法》第四十二条, delivery apart):
    a decided case is counted at its decision, a paused one at the pause,
    so an approval made in time is not shown overdue while it waits to be
    delivered.  A case no longer open (closed, withdrawn, not accepted) has
    no days left to count: none, rather than a number that grows negative.
    """
    if not case.is_open:
        return Remaining(statutory=None, promised=None, provisional=case.due_provisional)
    now = now or timezone.now()
    calendar = calendar_current()
    at = case.decided_at or case.paused_since or now
    return Remaining(
        statutory=clock.remaining(calendar=calendar, now=at, due=case.statutory_due,
                                  provisional=case.due_provisional),
        promised=clock.remaining(calendar=calendar, now=at, due=case.promised_due,
                                 provisional=case.promised_provisional),
        provisional=case.due_provisional,
    )


def query_input(value) -> str:
    """A case number or query code as typed: NFKC-normalised and stripped.

    A phone's Chinese keyboard types full-width digits (４４９９…); they are
    the same digits, and must neither miss the case nor count as a wrong try
    on another number than the one meant.
    """
    return unicodedata.normalize("NFKC", str(value or "")).strip()


def query_code_digest(number: str, code: str) -> str:
    """What a case keeps of its query code (never the code itself)."""
    return sm3_hex(f"{number}:{code}".encode())


def query_code_matches(case: Case, code: str) -> bool:
    """Whether ``code`` is the case's query code now."""
    return bool(case.query_code_hash) and hmac.compare_digest(
        case.query_code_hash, query_code_digest(case.number, str(code)))


def case_by_query_code(*, number: str, code: str) -> Case:
    """Status without signing in: the case number and its query code, as typed
    once normalised (``query_input``, by ``services.case_status_lookup``)."""
    if not number or not code.isdigit():
        raise InvalidInput(_bad_query())
    case = _cases_with_tasks().filter(number=number).first()
    if case is None or not query_code_matches(case, code):
        # The same answer for a wrong number and a wrong code.
        raise NotFound(_bad_query())
    return _with_timeline(case)


def _bad_query():
    from django.utils.translation import gettext_lazy as _

    return _("办件编号或查询码不正确。")


def certificate_by_token(*, token: str):
    from yizhan.cases.models import Certificate

    # What the verification page and the API show: the holder and the issuer.
    certificate = Certificate.objects.select_related("case__applicant", "agency").filter(
        verify_token=token).first()
    if certificate is None:
        raise NotFound()
    return certificate


