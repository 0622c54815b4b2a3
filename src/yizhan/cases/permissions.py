"""Permission predicates of the case engine, one per service.

Applicants act on their own cases (the applicant record is theirs); a
window clerk may apply on someone's behalf at the counter.  Staff act on
a task when they hold its role in its agency (or a grant covers it); a
staff member sees only the cases of the agencies in their scope.
"""

from yizhan.accounts.models import person_of
from yizhan.cases.models import Task
from yizhan.directory.authz import scope_of
from yizhan.directory.roles import Role

STAFF_VIEW_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD,
                    Role.SUPERVISION_OFFICER, Role.SYSADMIN)
# The roles that hold tasks.
TASK_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD, Role.SUPERVISION_OFFICER)


def _own_applicant(actor, applicant) -> bool:
    return (actor is not None and applicant.user_id is not None
            and applicant.user_id == getattr(actor, "pk", None))


def files_at_window(actor, *, applicant) -> bool:
    """Whether ``actor`` files for ``applicant`` at the counter (a window clerk
    for a walk-in applicant) rather than the applicant applying online."""
    return not _own_applicant(actor, applicant)


def case_create(actor, *, applicant, item_version) -> bool:
    # A person files: the applicant, or a window clerk at the counter, who
    # then uploads and submits.  A token has nobody behind it to do that.
    # The counter is the accepting agency's (the item's): a clerk of another
    # agency has no window for the item, and would file what is not theirs.
    if person_of(actor) is None:
        return False
    if _own_applicant(actor, applicant):
        return True
    return files_at_counter(actor, agency_id=item_version.item.agency_id)


def files_at_counter(actor, *, agency_id: int) -> bool:
    """Whether ``actor`` serves at the window of ``agency_id``, and so files
    its items for walk-in applicants (the window's pages, ``case_create``)
    and carries through the walk-in applications they filed there."""
    agencies = counter_agencies(actor)
    return agency_id is not None and (agencies is None or agency_id in agencies)


def counter_agencies(actor) -> frozenset[int] | None:
    """The agencies at whose window ``actor`` serves (None: every agency's).

    ``files_at_counter`` for one agency; ``selectors.cases_of_applicant_user``
    for the list of the walk-in applications a clerk still carries.
    """
    return scope_of(actor).agencies(Role.WINDOW_CLERK)


def _applicant_or_clerk(actor, case) -> bool:
    # Only an application has an applicant's rights over it; a case the
    # platform issues (a supervision notice) is handled by staff alone, and
    # its issuing officer is not its applicant.
    if case.kind != case.Kind.APPROVAL:
        return False
    if _own_applicant(actor, case.applicant):
        return True
    # A window clerk who filed a walk-in application carries it through
    # while they serve at the window where they filed it, the accepting
    # agency's; the case is the applicant's, not theirs to keep after leaving
    # the post, nor to take along to another agency's window.
    return (actor is not None and case.submitted_by_id == getattr(actor, "pk", None)
            and files_at_counter(actor, agency_id=case.agency_id))


def _walk_in_at_the_window(actor, case) -> bool:
    # An applicant without an account acts on a submitted application only
    # at the accepting agency's window (told so: 请携带补正材料到受理窗口办理),
    # where whoever serves that day takes in what they bring, not only the
    # clerk who filed.  A draft stays the filing clerk's (window_drafts).
    return (case.kind == case.Kind.APPROVAL and case.applicant.user_id is None
            and case.status != case.Status.DRAFT
            and files_at_counter(actor, agency_id=case.agency_id))


def material_upload(actor, *, case) -> bool:
    return _applicant_or_clerk(actor, case) or _walk_in_at_the_window(actor, case)


def case_submit(actor, *, case) -> bool:
    return _applicant_or_clerk(actor, case)


def case_query_code_reissue(actor, *, case) -> bool:
    return _applicant_or_clerk(actor, case)


def case_correct(actor, *, case) -> bool:
    return _applicant_or_clerk(actor, case) or _walk_in_at_the_window(actor, case)


def case_applicant_page(actor, *, case) -> bool:
    """The applicant's own page of ``case`` (/my/cases/): its applicant, or the
    clerk who filed it at the window."""
    return _applicant_or_clerk(actor, case)


def correction_notice_print(actor, *, case) -> bool:
    """The printable 补正材料通知书: for the applicant's side, who is handed or
    shown it, and for the accepting agency's staff, who hand it over at the
    window (a joint agency's reviewer sees the case, but gives no notice)."""
    return (_applicant_or_clerk(actor, case)
            or (case.kind == case.Kind.APPROVAL
                and scope_of(actor).has_any(STAFF_VIEW_ROLES, case.agency_id)))


def case_withdraw(actor, *, case) -> bool:
    return _applicant_or_clerk(actor, case)


def case_view(actor, *, case) -> bool:
    return _applicant_or_clerk(actor, case) or case_staff_page(actor, case=case)


def case_staff_page(actor, *, case) -> bool:
    """The staff pages of ``case`` (the workbench's case and task pages, its
    tasks in the API): for its staff (``case_staff_view``), never by being its
    applicant or the clerk who filed it, whose page is ``case_applicant_page``:
    the staff pages show what the agency keeps to itself until it decides (an
    extension's reason before the head approves it, the reviewers' opinions)."""
    if not case.was_submitted:
        # Not an application: a draft and its files are the applicant's until
        # they submit it, and stay theirs if they withdraw it unsubmitted.
        return False
    return case_staff_view(actor, case=case)


def case_staff_view(actor, *, case) -> bool:
    """Whether ``actor`` sees ``case`` as its staff do (who acted, by sign-in
    name, and every event's data), not as its applicant: by a role of its
    agency, or of an agency holding one of its tasks (joint review; the
    supervision office checking the reply to its notice)."""
    scope = scope_of(actor)
    if scope.has_any(STAFF_VIEW_ROLES, case.agency_id):
        return True
    agencies = scope.agencies(*TASK_ROLES)
    task_agencies = {t.agency_id for t in case.tasks.all()}
    return agencies is None or bool(task_agencies & agencies)


def case_issue(actor, *, agency) -> bool:
    """The supervision office issues notices to the agencies its scope covers."""
    # An officer, never a token: the issued case names the person who issued it.
    return (person_of(actor) is not None
            and scope_of(actor).has(Role.SUPERVISION_OFFICER, agency.pk))


def task_claim(actor, *, task) -> bool:
    # Claiming puts a task in one person's hands; a token, which no person
    # holds, handles a task without claiming it.
    return person_of(actor) is not None and scope_of(actor).has(task.role, task.agency_id)


def task_release(actor, *, task) -> bool:
    """解除签收: one's own claim, while one holds the step's role; the agency's
    head, who assigns the work of its posts, any claim of the agency.

    An open task has no claim: whoever may claim it may "release" it, to
    nothing (a second click).  Only a person claims, so only a person releases.
    """
    person = person_of(actor)
    if person is None:
        return False
    scope = scope_of(actor)
    if scope.has(Role.AGENCY_HEAD, task.agency_id):
        return True
    return task.claimed_by_id in (None, person.pk) and scope.has(task.role, task.agency_id)


def task_complete(actor, *, task) -> bool:
    return scope_of(actor).has(task.role, task.agency_id)


def task_return(actor, *, task) -> bool:
    return scope_of(actor).has(task.role, task.agency_id)


def case_request_correction(actor, *, task) -> bool:
    return scope_of(actor).has(task.role, task.agency_id)


def deciding_agency_id(case) -> int:
    """The agency that decides ``case``, and so runs its clock: the accepting
    agency, or for an upper-level review (上级初审) the upper agency once the
    case has been sent up to it (one of its steps has reached that agency).

    《行政许可法》第三十五条: the lower agency reviews first and the upper one
    decides; the time of the upper agency's 检验、检测、现场勘验 is not
    counted (第四十五条) and its extension is approved by its own head
    (第四十二条, 本行政机关负责人).  Until the case is sent up, the upper
    agency has not seen it, and the accepting agency answers for its time.
    Once sent up the upper agency keeps the decision, also while a return
    has the first review done again.
    """
    upper = case.item_version.upper_agency_id
    if upper is not None and upper != case.agency_id and any(
            task.agency_id == upper for task in case.tasks.all()):
        return upper
    return case.agency_id


def case_suspend(actor, *, case) -> bool:
    """The reviewers and the head of the deciding agency (``deciding_agency_id``)
    stop the clock for the time the law excludes."""
    # Only an application runs on the statutory clock; a notice's reply has
    # its own step limit, which the addressed agency must not stop or extend.
    if case.kind != case.Kind.APPROVAL:
        return False
    scope = scope_of(actor)
    return scope.has_any((Role.REVIEWER, Role.AGENCY_HEAD), deciding_agency_id(case))


def case_resume(actor, *, case) -> bool:
    return case_suspend(actor, case=case)


def case_extend(actor, *, case) -> bool:
    """An extension needs the approval of the head of the agency that decides
    (《行政许可法》第四十二条, ``deciding_agency_id``)."""
    if case.kind != case.Kind.APPROVAL:
        return False
    # 经本行政机关负责人批准: the head approves, as a person, and answers for
    # the longer wait the applicant is told of; a token in the head's role
    # would grant it with nobody behind the approval (as certificate_revoke
    # refuses it).  Tasks, a decision step included, a token handles as any
    # holder of their role does (task_complete, docs/api.md).
    return (person_of(actor) is not None
            and scope_of(actor).has(Role.AGENCY_HEAD, deciding_agency_id(case)))


def extensions_awaiting(actor) -> bool:
    """待批准的延期申请 are listed to whoever may approve one (``case_extend``):
    a person holding the head's role in some agency; which requests, the
    selector of the same name decides by the deciding agency."""
    return person_of(actor) is not None and scope_of(actor).has_role(Role.AGENCY_HEAD)


# The steps whose holder may ask the head for the extension: the window's
# and the reviewers' (the head, holding a decision step, extends itself).
EXTENSION_REQUEST_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER)


def case_extension_request(actor, *, case) -> bool:
    """延期申请: a person handling the case asks the head of the deciding agency
    (``deciding_agency_id``).

    The holder of a step still to do in that agency (open in a post they
    hold, or claimed by them): the window clerk or the reviewer, as a
    person, who answers for the reason the applicant will be told.  A token
    handles steps but asks for nothing.
    """
    if case.kind != case.Kind.APPROVAL:
        return False
    person = person_of(actor)
    if person is None:
        return False
    scope = scope_of(actor)
    deciding = deciding_agency_id(case)
    return any(
        task.agency_id == deciding and task.role in EXTENSION_REQUEST_ROLES
        and task.status in (Task.Status.OPEN, Task.Status.CLAIMED)
        and scope.has(task.role, task.agency_id)
        and (task.status == Task.Status.OPEN or task.claimed_by_id == person.pk)
        for task in case.tasks.all())


def case_extension_decline(actor, *, case) -> bool:
    """Declining a request is the head's, as approving it is (``case_extend``)."""
    return case_extend(actor, case=case)


def case_extension_withdraw(actor, *, request) -> bool:
    """Whoever asked takes their own request back."""
    person = person_of(actor)
    return person is not None and request.requested_by_id == person.pk


def certificate_revoke(actor, *, certificate) -> bool:
    # The head decides, as a person: revoking withdraws a licence its holder
    # relies on, a decision someone answers for (as a token may not publish
    # an item), and an agency-head token could otherwise undo what the agency
    # granted with nobody behind the act.
    return (person_of(actor) is not None
            and scope_of(actor).has(Role.AGENCY_HEAD, certificate.agency_id))


def case_fee_charge(actor, *, case) -> bool:
    """The window (or the reviewer) of the case's agency records fees."""
    return scope_of(actor).has_any((Role.WINDOW_CLERK, Role.REVIEWER), case.agency_id)
