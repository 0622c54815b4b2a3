"""Case pages: apply, follow, correct and download (applicants); filing for
a walk-in applicant (the window); the task desk (staff); status by query
code and certificate verification (public)."""

import uuid
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from yizhan.bpmn import task_kind
from yizhan.cases import certificates, permissions, selectors, services
from yizhan.cases.clock import SUSPEND_REASONS
from yizhan.cases.downloads import attachment
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, Certificate, EventType, Task
from yizhan.cases.uploads import max_megabytes
from yizhan.catalog import form_spec
from yizhan.catalog import selectors as catalog_selectors
from yizhan.catalog.search import MAX_QUERY_CHARS
from yizhan.core.errors import ApplicationError, NotFound, joined, listed
from yizhan.core.ids import parse_id
from yizhan.core.middleware import client_ip
from yizhan.directory import permissions as directory_permissions
from yizhan.directory import selectors as directory_selectors
from yizhan.directory import services as directory_services
from yizhan.directory.authz import scope_of
from yizhan.directory.error_codes import DirectoryErrorCode
from yizhan.directory.models import Applicant
from yizhan.directory.pages import paged, refusal_shown, safe_next, staff_page
from yizhan.directory.roles import Role
from yizhan.portal.views import kept_form


def _int(value) -> int:
    """A posted id; anything else is 0, which no row has (the service names the field)."""
    return parse_id(value) or 0


def _errors_from(exc: ApplicationError) -> list[str]:
    return [exc.render()]


def _upload_materials(request, case, material_ids, invalid=None, *,
                      posted_as: dict[int, int] | None = None) -> list[str]:
    """Store each file posted as ``material_<id>``; return the refusals' messages.

    ``invalid``, when given, takes each refused material's message by its id,
    for the page to show it at its field.  ``posted_as``, when given, names
    the id each material's file was posted under (a form of an earlier
    version of the item: ``selectors.materials_as_posted``).
    """
    errors = []
    for material_id in material_ids:
        posted_id = material_id if posted_as is None else posted_as.get(material_id)
        upload = request.FILES.get(f"material_{posted_id}") if posted_id else None
        if upload is None:
            continue
        try:
            services.material_upload(actor=request.user, case=case, material_id=material_id,
                                     upload=upload)
        except ApplicationError as exc:
            errors += _errors_from(exc)
            if invalid is not None:
                invalid[material_id] = exc.render()
    return errors


def _query_code_key(case_id: int) -> str:
    return f"query_code_{case_id}"


def _keep_query_code(request, case, code) -> None:
    """Keep the query code for the case's page, for the rest of the session.

    The code is issued once, at submission: the page keeps showing it while
    the session lasts (a reload in large text or in English, a look back
    later), never a code that is not there.  Saved at once, so that a second
    click of the same form, waiting on the case meanwhile, finds it (below).
    """
    if not code:
        _query_code_stored_meanwhile(request, case)
        return
    request.session[_query_code_key(case.pk)] = code
    request.session.save()


def _kept_query_code(request, case) -> str | None:
    """The code this session keeps for ``case`` while it still opens the case.

    One replaced since (重新生成查询码 in another browser) no longer works:
    it is dropped rather than shown to be kept safe.
    """
    key = _query_code_key(case.pk)
    code = request.session.get(key)
    if code and not selectors.query_code_matches(case, code):
        del request.session[key]
        return None
    return code


def _query_code_stored_meanwhile(request, case) -> None:
    """The code a concurrent request of this session stored for ``case``.

    A second click of the same form loaded the session before the first
    click stored the code; as every request saves its session
    (``SESSION_SAVE_EVERY_REQUEST``), its copy without the code would
    replace the stored one, and the page the browser shows (the second's)
    would never show it.  It takes the code from the stored session first.
    """
    key = _query_code_key(case.pk)
    session_key = request.session.session_key
    if key in request.session or not session_key:
        return
    code = type(request.session)(session_key).load().get(key)
    if code:
        request.session[key] = code


def _no_longer(case, *statuses) -> bool:
    """Whether ``case`` has left ``statuses`` since this request read it: a
    concurrent request of the same form (a double click) went through."""
    return not Case.objects.filter(pk=case.pk, status__in=statuses).exists()


def _missing_at_fields(exc: ApplicationError, materials, invalid) -> None:
    """A refused submission's missing materials, each marked at its field."""
    missing = set(exc.fields.get("missing") or ())
    for material in materials:
        if material.name in missing:
            invalid.setdefault(material.pk, _("请上传此材料。"))


def _answers(request, version) -> dict:
    """The application form's answers as posted, by field name."""
    return {field["name"]: request.POST.get(f"field_{field['name']}", "")
            for field in version.form_fields}


def _posted_materials(request, version) -> selectors.PostedMaterials:
    """The application form's files as ``version``'s materials, whichever version
    the form was of: its hidden ``version``, or for a page without it, the
    version its file inputs name (``selectors.materials_as_posted``)."""
    return selectors.materials_as_posted(
        version=version, posted_version_id=parse_id(request.POST.get("version")),
        posted_ids={parse_id(name.removeprefix("material_")) for name in request.FILES
                    if name.startswith("material_")} - {None})


def _chosen_files(request, posted: selectors.PostedMaterials) -> set[str]:
    """The names of the file inputs that had a file chosen, as the page of the
    version in force names them (for ``_lost_files``)."""
    return {f"material_{material_id}" for material_id, posted_id in posted.posted_as.items()
            if f"material_{posted_id}" in request.FILES}


def _item_updated(case, materials) -> str:
    """事项已更新: the form was of an earlier version of the item, whose
    materials differ from the version in force; what it kept is listed, so
    that the applicant chooses only what is new or missing."""
    message = _("事项已更新：您填写期间发布了新版办事指南，申请材料有增减，"
                "请按下方现行材料核对后再提交。")
    names = {m.pk: m.name for m in materials}
    files = [names[material_id] + pgettext("open bracket", "（") + name
             + pgettext("close bracket", "）")
             for material_id, name in _kept_files(case).items() if material_id in names]
    if files:
        message += _("已保存的文件：%(files)s。") % {
            "files": listed(files)}
    return message


def _kept_files(case, version=None) -> dict[int, str]:
    """The files a draft of the request's user holds, by material id: the page
    says which need not be chosen again.  A draft of an earlier version,
    continued by the form of ``version`` (``selectors.draft_continues``),
    holds them as that version's materials of the same names, as which the
    form, sent, files them."""
    files = {record.material_id: record.original_name
             for record in selectors.case_files(case) if not record.replaced}
    if version is None or case.item_version_id == version.pk:
        return files
    posted_as = selectors.materials_as_posted(
        version=version, posted_version_id=case.item_version_id, posted_ids=()).posted_as
    return {material_id: files[earlier] for material_id, earlier in posted_as.items()
            if earlier in files}


def _file_application(request, *, version, applicant, materials, key, errors, invalid,
                      field_invalid, kept, posted, draft=False):
    """Create (or, by ``key``, continue) the case of an application form, upload
    its files and submit it (or keep it a draft when ``draft``).

    Returns the case when the form is done with: submitted by this request,
    or by an earlier one with the same key (a double click, a retry, the
    form sent again from the browser's history), or saved as a draft.
    Otherwise None, with the refusals' messages added to ``errors``, each
    material's also to ``invalid`` by its id, each form field's problem to
    ``field_invalid`` by the field's name, and the files the draft holds to
    ``kept`` by material id.  The apply page and the window's page both file
    through it.

    A form refused for an answer (a number typed in words, a required answer
    left out) still files the draft with the answers given and valid, and
    its files: the browser cannot choose a file again for the applicant, and
    an elderly applicant who scanned it should not have to.  The draft is
    continued by the same key when the form comes back corrected.

    A form opened before a new version of the item was published
    (``posted``: ``_posted_materials``) files on the version in force, each
    file as the material of the same name.  Where materials were added or
    removed since, it is not submitted: the page comes back saying that the
    item was updated (``_item_updated``), with the files kept.
    """
    answers = _answers(request, version)
    try:
        case = services.case_create(actor=request.user, item_version=version,
                                    applicant=applicant, data=answers,
                                    idempotency_key=key, unfinished=True)
    except ApplicationError as exc:
        if exc.code == CasesErrorCode.KEY_REUSED and exc.fields.get("case_id"):
            # The form sent again after it went through (the back button,
            # an answer changed): the application is the one submitted.
            messages.warning(request, _("该申请已提交（办件编号 %(number)s），"
                                        "如需更改请撤回后重新申请。")
                             % {"number": exc.fields["number"]})
            return selectors.case_get_for_actor(actor=request.user,
                                                case_id=exc.fields["case_id"])
        errors += _errors_from(exc)
        field_invalid.update(exc.fields.get("problems") or {})
        return None
    if case.status != Case.Status.DRAFT:
        # The same form again after it went through: its files
        # would be refused as late, so show the submitted case.
        _query_code_stored_meanwhile(request, case)
        return case
    errors += _upload_materials(request, case, [m.pk for m in materials], invalid,
                                posted_as=posted.posted_as)
    if errors and _no_longer(case, Case.Status.DRAFT):
        # A double click: the first request submitted the case
        # while this one uploaded its copies of the files, which
        # were refused as late.  The application went through.
        errors.clear()
        _query_code_stored_meanwhile(request, case)
        return case
    if posted.changed:
        # Shown first: it explains the other messages (a new material missing).
        errors.insert(0, _item_updated(case, materials))
    clean = form_spec.clean_unfinished if draft else form_spec.clean_answers
    problems = clean(version.form_fields, answers)[1] if version.form_fields else {}
    if problems:
        field_invalid.update(problems)
        errors.append(_("申请信息有误：%(detail)s") % {"detail": joined(problems.values())})
        if draft:
            errors.append(_("草稿已保存，标出的信息有误，未保存；请改正后再保存或提交。"))
    if not errors and draft:
        messages.success(request, _("草稿已保存，可稍后继续上传材料并提交。"))
        return case
    if not errors:
        try:
            case, code = services.case_submit(actor=request.user, case=case)
        except ApplicationError as exc:
            errors += _errors_from(exc)
            field_invalid.update(exc.fields.get("problems") or {})
            _missing_at_fields(exc, materials, invalid)
        else:
            _keep_query_code(request, case, code)
            messages.success(request, _("申请已提交，办件编号 %(number)s。")
                             % {"number": case.number})
            return case
    kept.update(_kept_files(case))
    return None


def _lost_files(chosen, materials, *, invalid, kept) -> dict[int, str]:
    """The files chosen (``chosen``: their fields' names) with a form that came
    back that were not kept, by material id: the page asks for them again, as
    a browser empties a file input."""
    return {m.pk: _("所选文件未能保存，请重新选择。") for m in materials
            if f"material_{m.pk}" in chosen and m.pk not in invalid and m.pk not in kept}


def _returned_form(request, *, version, materials):
    """The application form this page sent along with a display toggle (大字模式,
    高对比度: portal.views.kept_form), to be filled in again; None when none.

    Returns what was typed, the names of the file inputs that had a file
    chosen (the page asks for those again) and the files the draft of the
    form's key holds (kept by a refused submission: they need not be chosen
    again).  The toggles send the form url-encoded, not to upload files that
    cannot be kept, so a file input sends only its file's name.  The apply
    page and the window's page both take their form back here.
    """
    returned = kept_form(request)
    if returned is None:
        return None
    inputs = {f"material_{m.pk}" for m in materials}
    posted = {name: value for name, value in returned.items() if name not in inputs}
    chosen = {name for name in inputs if returned.get(name)}
    draft = selectors.draft_by_key(actor=request.user, version=version,
                                   key=posted.get("key", "")[:64])
    return posted, chosen, (_kept_files(draft, version) if draft else {})


def _continued_draft(request, version) -> Case | None:
    """The draft ``?draft=`` names for the form of ``version`` to continue
    (修改申请信息 on the applicant's case page, 继续办理 on the window's list),
    or None when none is named; not found when it is not one this form
    continues (``selectors.draft_continues``)."""
    if not request.GET.get("draft"):
        return None
    draft = selectors.case_get_for_actor(actor=request.user, case_id=_int(request.GET["draft"]))
    if not selectors.draft_continues(draft, actor=request.user, version=version):
        raise NotFound()
    return draft


def _draft_as_posted(draft: Case) -> dict[str, str]:
    """The answers a draft holds, as its form posts them."""
    return {f"field_{name}": _as_posted(value) for name, value in draft.data.items()}


@login_required
@require_http_methods(["GET", "POST"])
def apply(request, impl_code: str):
    """One page: choose the applicant, attach the materials, submit.

    The hidden key makes the whole form idempotent: submitting it again
    (a double click, a retry after a dropped connection) continues the same
    case rather than starting a second one.  An item not offered online
    shows where to apply instead of the form.
    """
    version = catalog_selectors.item_guide(impl_code=impl_code)
    if not version.offered_online:
        # 网上办理深度 一级、二级: one applies at the window.  This page lists
        # only the account's own applicants; a clerk filing for a walk-in
        # applicant uses the window's page (window_apply).
        return render(request, "cases/apply_offline.html", {"v": version},
                      status=409 if request.method == "POST" else 200)
    registered = list(directory_selectors.applicants_of_user(user=request.user))
    # Only the applicants the item serves (服务对象) are offered, as on the
    # window's page: the service refuses another (services.case_create) only
    # once every material has been scanned and chosen.
    applicants = [a for a in registered
                  if Applicant.SERVICE_OBJECT[a.kind] in version.service_objects]
    materials = list(version.materials.all())
    errors: list[str] = []
    invalid: dict[int, str] = {}         # material id -> what is wrong with it
    field_invalid: dict[str, str] = {}   # form field name -> what is wrong with it
    kept: dict[int, str] = {}            # material id -> the file the draft holds
    posted = request.POST if request.method == "POST" else {}
    chosen_files = set(request.FILES)
    if request.method == "POST":
        key = request.POST.get("key", "")[:64]
        posted_materials = _posted_materials(request, version)
        chosen_files = _chosen_files(request, posted_materials)
        # Any of the account's own: one the item does not serve is refused by
        # the service, which says so, rather than as not chosen.
        applicant = next((a for a in registered if str(a.pk) == request.POST.get("applicant")),
                         None)
        if applicant is None:
            errors.append(_("请选择申请人。"))
        else:
            case = _file_application(request, version=version, applicant=applicant,
                                     materials=materials, key=key, errors=errors,
                                     invalid=invalid, field_invalid=field_invalid, kept=kept,
                                     posted=posted_materials,
                                     draft=request.POST.get("action") == "draft")
            if case is not None:
                return redirect("cases:mine_detail", case_id=case.pk)
        status = 400
    elif (draft := _continued_draft(request, version)) is not None:
        # 修改申请信息 on a draft's page: the form continues the draft (its key),
        # with the answers and files it holds.
        key = draft.idempotency_key
        posted = {"applicant": str(draft.applicant_id)} | _draft_as_posted(draft)
        kept = _kept_files(draft, version)
        status = 200
    else:
        key = uuid.uuid4().hex
        status = 200
    if request.method == "GET" and (returned := _returned_form(
            request, version=version, materials=materials)) is not None:
        # Back from 大字模式 (or 高对比度), switched with this form: what was
        # typed comes back, and the files a refused submission kept; the
        # files chosen since must be chosen again.
        posted, chosen_files, kept = returned
        key = posted.get("key", "")[:64] or key
    # After a refusal the page keeps the applicant chosen, as it keeps the answers.
    chosen = next((a.pk for a in applicants if str(a.pk) == posted.get("applicant")),
                  applicants[0].pk if applicants else None)
    # Registered, but as none the item serves: said instead of a form that
    # could only be refused.
    not_served = (_("该事项不受理%(who)s的申请。") % {
        "who": listed(Applicant.Kind(kind).label
                      for kind in dict.fromkeys(a.kind for a in registered))}
        if registered and not applicants else "")
    return render(request, "cases/apply.html", {
        "v": version, "applicants": applicants, "not_served": not_served,
        "materials": materials, "key": key,
        "errors": errors, "invalid": invalid, "field_invalid": field_invalid,
        "kept": kept, "lost": _lost_files(chosen_files, materials, invalid=invalid, kept=kept),
        "posted": posted, "chosen": chosen, "max_mb": max_megabytes(),
        "max_text": form_spec.MAX_TEXT,
        # The display toggles send this form along (portal/base.html).
        "display_form": "application-form" if applicants else "",
    }, status=status)


def _as_posted(value) -> str:
    """A stored answer as the form posts it (a boolean's checkbox sends "true")."""
    if value is None or value is False:
        return ""
    return "true" if value is True else str(value)


@login_required
def mine(request):
    return render(request, "cases/mine.html", {
        "cases": paged(request, selectors.cases_of_applicant_user(user=request.user)),
    })


@login_required
@require_http_methods(["GET", "POST"])
def mine_detail(request, case_id: int):
    """The applicant's case page; its one form posted here is 重新生成查询码.

    The query code stays on the page for the rest of the session (kept by
    ``_keep_query_code``).  A code lost all the same (another browser, a
    session ended) is replaced by a new one, which the page then shows; the
    old code stops working.
    """
    if request.method == "POST":
        return _reissue_query_code(
            request, selectors.case_get_for_actor(actor=request.user, case_id=case_id),
            back_to="cases:mine_detail")
    case = selectors.case_detail(actor=request.user, case_id=case_id)
    if not permissions.case_applicant_page(request.user, case=case):
        raise NotFound()
    # A refused 提交申请 of a draft (mine_submit): its materials' problems, once.
    draft_invalid = {_int(k): v for k, v in
                     (request.session.pop(_draft_invalid_key(case.pk), None) or {}).items()}
    return render(request, "cases/case_detail.html", {
        "case": case, "remaining": selectors.remaining_workdays(case),
        "draft_invalid": draft_invalid,
        "query_code": _kept_query_code(request, case),
        "certificate": Certificate.objects.filter(case=case).first(),
        "applicant_view": True,
        "may_withdraw": selectors.withdrawal_allowed(case)
        and permissions.case_withdraw(request.user, case=case),
        "may_reissue_code": bool(case.number)
        and permissions.case_query_code_reissue(request.user, case=case),
        "may_edit_draft": _draft_editable(request, case),
        **_correction_context(request, case, action="cases:mine_correct"),
    })


def _correction_context(request, case, *, action: str) -> dict:
    """The correction form of a case under correction, for the reader if they
    may answer it (``permissions.case_correct``): ``action`` the page it posts
    to, the files already sent again since the notice, by material id, each
    marked at its material, and an input for each answer of the application
    form the notice lists (what was typed when refused, else the answer
    given).  The printable notice's link, for whoever may print it."""
    actor = request.user
    correcting = (case.status == Case.Status.CORRECTION
                  and permissions.case_correct(actor, case=case))
    kept = request.session.pop(_correction_kept_key(case.pk), None) or {}
    fields = {f["name"]: f for f in case.item_version.form_fields or []}
    return {
        "correction_action": reverse(action, args=[case.pk]) if correcting else "",
        "correction_answers": selectors.correction_answers(case) if correcting else {},
        "correction_fields": [{
            "field": fields[item["field"]], "problem": item["problem"],
            "posted": {f"field_{item['field']}": kept["answers"][item["field"]]
                       if item["field"] in kept.get("answers", {})
                       else _as_posted(case.data.get(item["field"]))},
            "error": kept.get("problems", {}).get(item["field"], ""),
        } for item in case.correction.items
            if "field" in item and item["field"] in fields] if correcting else [],
        "max_text": form_spec.MAX_TEXT,
        "may_print_correction": bool(case.corrections)
        and permissions.correction_notice_print(actor, case=case),
    }


def _draft_editable(request, case) -> bool:
    """Whether 修改申请信息 may take ``case`` back to the apply page, which continues
    only a draft of the viewer's own with a key (``apply``), on the form of the
    version in force: not one the window filed for them (the clerk's).  A
    draft of a version superseded since is linked there whatever its form:
    only that page files it as the version in force's, which submission
    wants."""
    item = case.item_version.item
    if item.published_id is None or item.is_withdrawn:
        return False
    superseded = case.item_version_id != item.published_id
    return ((superseded or bool(case.item_version.form_fields))
            and selectors.draft_continues(case, actor=request.user, version=item.published))


def _reissue_query_code(request, case: Case, *, back_to: str):
    """重新生成查询码: a new query code for a submitted case, kept in the session
    to be shown on ``back_to`` (a page of the case); the old one stops working."""
    if (request.POST.get("action") != "reissue_query_code"
            or not permissions.case_query_code_reissue(request.user, case=case)):
        raise NotFound()
    with refusal_shown(request):
        case, code = services.case_query_code_reissue(actor=request.user, case=case)
        _keep_query_code(request, case, code)
        messages.success(request, _("已重新生成查询码，原查询码已失效，不能再用于查询。"))
    return redirect(back_to, case_id=case.pk)


@login_required
@require_POST
def mine_withdraw(request, case_id: int):
    """The applicant withdraws the application before it is decided (撤回申请)."""
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    if not permissions.case_withdraw(request.user, case=case):
        raise NotFound()
    with refusal_shown(request):
        services.case_withdraw(actor=request.user, case=case,
                               reason=request.POST.get("reason", ""))
        messages.success(request, _("申请已撤回。"))
    return redirect("cases:mine_detail", case_id=case.pk)


@login_required
@require_POST
def mine_submit(request, case_id: int):
    """Finish a saved draft: upload what was added, then submit."""
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    if case.status != Case.Status.DRAFT:
        # Sent again after it went through (a double click): nothing to do.
        _query_code_stored_meanwhile(request, case)
        return redirect("cases:mine_detail", case_id=case.pk)
    materials = list(case.item_version.materials.all())
    invalid: dict[int, str] = {}   # material id -> what is wrong with it
    errors = _upload_materials(request, case, [m.pk for m in materials], invalid)
    if errors and _no_longer(case, Case.Status.DRAFT):
        # Submitted by a concurrent click while this one uploaded.
        _query_code_stored_meanwhile(request, case)
        return redirect("cases:mine_detail", case_id=case.pk)
    if not errors and request.POST.get("action") != "draft":
        try:
            case, code = services.case_submit(actor=request.user, case=case)
        except ApplicationError as exc:
            errors += _errors_from(exc)
            _missing_at_fields(exc, materials, invalid)
        else:
            _keep_query_code(request, case, code)
            if code:
                messages.success(request, _("申请已提交，办件编号 %(number)s。")
                                 % {"number": case.number})
    for error in errors:
        messages.error(request, error)
    if invalid:
        # For the case page to mark each at its input, as the apply page does.
        request.session[_draft_invalid_key(case.pk)] = {str(k): v for k, v in invalid.items()}
    return redirect("cases:mine_detail", case_id=case.pk)


def _draft_invalid_key(case_id: int) -> str:
    return f"draft_invalid_{case_id}"


@login_required
@require_POST
def mine_correct(request, case_id: int):
    """提交补正材料: the applicant's answer to the correction notice."""
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    _take_in_correction(request, case)
    return redirect("cases:mine_detail", case_id=case.pk)


def _take_in_correction(request, case) -> None:
    """Upload the files posted for the materials the correction notice lists and
    resubmit (``services.case_correct``), each refusal told as a message.

    The applicant's page and the window's (for an applicant without an
    account, who brings the materials there) post the same form here.
    """
    errors = []
    answers = None
    if case.status == Case.Status.CORRECTION:
        listed = [item for item in case.correction.items if "material_id" in item]
        errors = _upload_materials(request, case, [item["material_id"] for item in listed])
        answers = {item["field"]: request.POST.get(f"field_{item['field']}", "")
                   for item in case.correction.items if "field" in item} or None
        if errors and _no_longer(case, Case.Status.CORRECTION):
            # A double click: the first request resubmitted while this one
            # uploaded its copies, refused as late.  The service answers
            # for the case as it now is (sent again: unchanged).
            errors = []
    # Not under correction (any more): no file is uploaded; case_correct
    # returns a case whose correction is already in unchanged, and refuses
    # any other (withdrawn, never asked to correct).
    problems = {}
    if not errors:
        try:
            services.case_correct(actor=request.user, case=case, data=answers)
        except ApplicationError as exc:
            errors += _errors_from(exc)
            problems = exc.fields.get("problems") or {}
    for error in errors:
        messages.error(request, error)
    if not errors:
        messages.success(request, _("补正材料已提交。"))
    elif answers:
        # The answers typed come back at their fields, with what is wrong
        # with each (the files uploaded are kept by the case already).
        request.session[_correction_kept_key(case.pk)] = {
            "answers": answers, "problems": {k: str(v) for k, v in problems.items()}}


def _correction_kept_key(case_id: int) -> str:
    return f"correction_kept_{case_id}"


@require_POST
@staff_page()
def staff_correct(request, case_id: int):
    """The window takes in the corrected materials of an applicant without an
    account (``permissions.case_correct``), as the applicant would post them."""
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    if not permissions.case_correct(request.user, case=case):
        raise NotFound()
    _take_in_correction(request, case)
    return redirect("cases:staff_case", case_id=case.pk)


@login_required
def correction_notice(request, case_id: int):
    """补正材料通知书: the correction notice as a printable page (A4), handed to
    an applicant at the window or printed by them; for whoever the selector
    lets print it (``permissions.correction_notice_print``)."""
    case = selectors.correction_notice_for_actor(actor=request.user, case_id=case_id)
    return render(request, "cases/correction_notice.html", {
        "case": case, "notice": case.correction,
        "at_the_window": case.applicant.user_id is None,
    })


@login_required
def certificate_download(request, case_id: int):
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    certificate = Certificate.objects.filter(case=case).first()
    if certificate is None:
        raise NotFound()
    return attachment(certificate, certificate.number, "application/pdf")


@login_required
def material_download(request, file_id: int):
    record = selectors.material_file_for_actor(actor=request.user, file_id=file_id)
    return attachment(record, record.original_name, record.content_type)


@require_http_methods(["GET", "POST"])
def status(request):
    """Status by case number and query code, without signing in."""
    case = None
    error = ""
    error_status = 400
    if request.method == "POST":
        try:
            case = services.case_status_lookup(number=request.POST.get("number", ""),
                                               code=request.POST.get("code", ""),
                                               ip=client_ip(request))
        except ApplicationError as exc:
            error = exc.render()
            error_status = exc.http_status
    return render(request, "cases/status.html", {
        "case": case, "error": error,
        "remaining": selectors.remaining_workdays(case) if case else None,
    }, status=error_status if error else 200)


@never_cache   # a revocation shows at once
@require_http_methods(["GET", "POST"])
def verify(request, token: str):
    """The page a certificate's QR code opens; a file can be checked against it.

    Never kept by a cache, so that a revocation shows at once.  A file
    that cannot be checked (none chosen, empty, not a PDF, too large) is
    refused with its 4xx; a file checked is a verdict, genuine or not (200).
    """
    certificate = selectors.certificate_by_token(token=token)
    uploaded = None
    uploaded_name = ""
    refusal = ""
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        uploaded_name = upload.name if upload is not None else ""
        try:
            uploaded = certificates.certificate_check_file(certificate=certificate,
                                                           upload=upload)
        except ApplicationError as exc:
            refusal, status = exc.render(), exc.http_status
    result = certificates.certificate_verify(certificate=certificate)
    return render(request, "cases/verify.html", {
        "certificate": certificate, "result": result,
        "verdict": certificates.certificate_verdict(certificate, result),
        "uploaded": uploaded, "uploaded_name": uploaded_name, "refusal": refusal,
        "max_mb": max_megabytes(),
    }, status=status)


# --- the window: filing for a walk-in applicant -----------------------------------

@staff_page(allowed=directory_permissions.applicant_look_up)
def window_items(request):
    """代办申请: the items the clerk's window takes in, to file one for a walk-in applicant.

    Those of the agencies where the clerk serves at the window, offered
    online or not: an item applied for only at the window (网上办理深度
    一级、二级) is filed here.
    """
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    versions = catalog_selectors.item_search(query=query)
    agencies = scope_of(request.user).agencies(Role.WINDOW_CLERK)
    if agencies is not None:
        versions = versions.filter(item__agency_id__in=agencies)
    return render(request, "cases/window_items.html", {
        "versions": paged(request, versions), "q": query,
        "drafts": selectors.window_drafts(actor=request.user).count(),
    })


# The recorded reason of giving up a window draft (its event and audit
# record), in the records' language whatever the clerk's page is in.
WINDOW_DRAFT_GIVEN_UP = "窗口代办申请未提交，已放弃"


@staff_page(allowed=directory_permissions.applicant_look_up)
@require_http_methods(["GET", "POST"])
def window_drafts(request):
    """未提交的代办申请: the clerk's window filings not submitted, to continue or give up.

    A filing refused for a missing material or a wrong answer is kept as a
    draft with its files (``_file_application``); the applicant may come
    back with the document another day.  继续办理 opens the item's window
    page on the draft (``?draft=``), where the applicant is looked up again
    by the document in hand; 放弃 withdraws it (services.case_withdraw), so
    that it leaves this list and the applicant's.
    """
    if request.method == "POST":
        case = selectors.window_drafts(actor=request.user).filter(
            pk=_int(request.POST.get("case"))).first()
        if case is None or request.POST.get("action") != "discard":
            raise NotFound()
        with refusal_shown(request):
            services.case_withdraw(actor=request.user, case=case, reason=WINDOW_DRAFT_GIVEN_UP)
            messages.success(request, _("已放弃该代办申请草稿。"))
        return redirect("cases:window_drafts")
    return render(request, "cases/window_drafts.html", {
        "drafts": paged(request, selectors.window_drafts(actor=request.user)),
    })



def _walk_in(request, *, kind: str, number: str, found, invalid: dict):
    """The applicant the window files for: the one found by the number, or one
    registered now from the posted name, phone (and legal representative).

    Registered meanwhile (the first click of a double click, a colleague at
    the next window), the record is taken, not refused as registered
    already.  A name typed that is not the registered one is refused at the
    name field: the clerk checks the document in hand against the record.
    ``invalid`` takes each refusal's message by the applicant field's name.
    """
    name = request.POST.get("name", "").strip()
    if found is None:
        try:
            return directory_services.applicant_register(
                actor=request.user, kind=kind, name=name,
                id_number=number if kind == Applicant.Kind.PERSON else "",
                credit_code=number if kind == Applicant.Kind.LEGAL else "",
                legal_rep_name=request.POST.get("legal_rep_name", ""),
                phone=request.POST.get("phone", ""))
        except ApplicationError as exc:
            if exc.code == DirectoryErrorCode.APPLICANT_EXISTS:
                found = directory_services.applicant_look_up(
                    actor=request.user, kind=kind, number=number)
            if found is None:
                invalid[exc.fields.get("field") or "number"] = exc.render()
                return None
    if name and name != found.name:
        invalid["name"] = _("该证件号码已登记为“%(name)s”，请核对申请人的证件。") % {
            "name": found.name}
        return None
    return found


@staff_page(allowed=directory_permissions.applicant_look_up)
@require_http_methods(["GET", "POST"])
def window_apply(request, impl_code: str):
    """窗口代办申请: the window files an application for a walk-in applicant.

    The clerk looks the applicant up by the number of the document in hand
    (an ID card, a business licence's unified social credit code) or
    registers them, fills in the item's form and attaches the materials, as
    the applicant would online; the case is the window's (services.case_create
    records channel window and the clerk) and goes to acceptance as usual.
    Only a window clerk of the item's accepting agency files here.  The
    hidden key makes the form idempotent, as on the apply page.

    The lookup is posted (``action=find``) and files nothing: a full ID
    number in the URL would stay in server and proxy logs, in the counter
    browser's history and in the Referer of every later request.  Each
    lookup is audited (directory.services.applicant_look_up).
    """
    version = catalog_selectors.item_guide(impl_code=impl_code)
    if not permissions.files_at_counter(request.user, agency_id=version.item.agency_id):
        raise NotFound()
    # 继续办理 (window_drafts): the draft's key, answers and files come back
    # once the applicant is looked up again by the document in hand.
    draft = _continued_draft(request, version)
    materials = list(version.materials.all())
    kinds = [(value, label) for value, label in Applicant.Kind.choices
             if Applicant.SERVICE_OBJECT[value] in version.service_objects]
    finding = request.method == "POST" and request.POST.get("action") == "find"
    # Back from 大字模式 (or 高对比度), switched with the application form: what
    # the clerk typed comes back, the applicant looked up again by its number.
    returned = (_returned_form(request, version=version, materials=materials)
                if request.method == "GET" else None)
    if request.method == "POST":
        source = request.POST
    else:
        source = returned[0] if returned is not None else {}
    kind = (source.get("kind") or (draft.applicant.kind if draft else "")
            or (kinds[0][0] if kinds else ""))
    number = source.get("number", "").strip()[:40]
    errors: list[str] = []
    invalid: dict[int, str] = {}         # material id -> what is wrong with it
    field_invalid: dict[str, str] = {}   # form field name -> what is wrong with it
    who_invalid: dict[str, str] = {}     # applicant field -> what is wrong with it
    kept: dict[int, str] = {}            # material id -> the file the draft holds
    posted = request.POST if request.method == "POST" and not finding else {}
    chosen_files = set(request.FILES)
    found = None
    looked_up = False
    if number or request.method == "POST":
        if kind not in {value for value, _label in kinds}:
            # Refused before anyone is registered for an application the
            # service would refuse (services._check_applicant_served).
            labels = dict(Applicant.Kind.choices)
            who_invalid["kind"] = (_("该事项不受理%(who)s的申请。") % {"who": labels[kind]}
                                   if kind in labels else _("申请人类型须为自然人或法人。"))
        else:
            try:
                found = directory_services.applicant_look_up(
                    actor=request.user, kind=kind, number=number)
            except ApplicationError as exc:
                who_invalid[exc.fields.get("field") or "number"] = exc.render()
            else:
                looked_up = True
    if looked_up and draft is not None and getattr(found, "pk", None) != draft.applicant_id:
        # A draft is continued for its own applicant only: another document
        # (someone else at the counter, the wrong row of the list) would file
        # this applicant's answers and scans as that person's application.
        # Nothing of the draft is shown and nobody is registered.
        who_invalid["number"] = _("该证件号码不是此草稿的申请人（%(name)s）的，"
                                  "请核对申请人出示的证件。") % {"name": draft.applicant.name}
        found, looked_up = None, False
    if request.method == "POST" and not finding:
        key = request.POST.get("key", "")[:64]
        posted_materials = _posted_materials(request, version)
        chosen_files = _chosen_files(request, posted_materials)
        applicant = (_walk_in(request, kind=kind, number=number, found=found,
                              invalid=who_invalid) if looked_up else None)
        if applicant is not None:
            case = _file_application(request, version=version, applicant=applicant,
                                     materials=materials, key=key, errors=errors,
                                     invalid=invalid, field_invalid=field_invalid,
                                     kept=kept, posted=posted_materials)
            if case is not None:
                return redirect("cases:window_filed", case_id=case.pk)
            # Registered by this post: the page comes back with the record found.
            found = applicant
        status = 400
    else:
        key = uuid.uuid4().hex
        if returned is not None:
            posted, chosen_files, kept = returned
            key = posted.get("key", "")[:64] or key
        elif draft is not None:
            key = draft.idempotency_key
            posted = _draft_as_posted(draft)
            kept = _kept_files(draft, version)
        status = 400 if who_invalid else 200
    return render(request, "cases/window_apply.html", {
        "v": version, "materials": materials, "key": key, "kinds": kinds, "kind": kind,
        "number": number, "found": found, "looked_up": looked_up, "draft": draft,
        "errors": list(who_invalid.values()) + errors, "invalid": invalid,
        "field_invalid": field_invalid, "who_invalid": who_invalid,
        "kept": kept, "lost": _lost_files(chosen_files, materials, invalid=invalid,
                                          kept=kept),
        "posted": posted, "max_mb": max_megabytes(), "max_text": form_spec.MAX_TEXT,
        # The display toggles send the application form along (portal/base.html).
        "display_form": "window-application" if looked_up else "",
    }, status=status)


@staff_page(allowed=directory_permissions.applicant_look_up)
@require_http_methods(["GET", "POST"])
def window_filed(request, case_id: int):
    """The case the window filed: its number and query code, to hand to the applicant.

    Only the code's hash is kept, so the code is shown by the request that
    submitted; the page keeps showing it for the rest of the session, as the
    applicant's case page does.  One lost all the same (a double click's
    second page, another browser) is replaced here (重新生成查询码), by the
    clerk who filed while they still serve at a window.
    """
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    if (case.submitted_by_id != request.user.pk or case.channel != "window"
            or not case.was_submitted):
        raise NotFound()
    if request.method == "POST":
        return _reissue_query_code(request, case, back_to="cases:window_filed")
    return render(request, "cases/window_filed.html", {
        "case": case, "query_code": _kept_query_code(request, case),
        "may_reissue_code": permissions.case_query_code_reissue(request.user, case=case),
    })


# --- staff ---------------------------------------------------------------------

@staff_page()
def agency_cases(request):
    """本机关办件, by status, and by case number or applicant's name (``q``)."""
    statuses = selectors.submitted_statuses()
    status_filter = request.GET.get("status", "")
    if status_filter not in dict(statuses):
        status_filter = ""
    q = request.GET.get("q", "")
    cases = paged(request, selectors.agency_cases(actor=request.user, status=status_filter, q=q))
    return render(request, "cases/agency_cases.html", {
        "cases": cases,
        # 暂定 is explained once below the table when a row shows it.
        "any_provisional": any(case.promised_provisional for case in cases),
        "statuses": statuses, "status": status_filter, "q": q,
    })


@staff_page()
def staff_case(request, case_id: int):
    return _staff_case_page(request, case_id)


def _page_path(request, name: str, pk: int) -> str | None:
    """Where the display toggles return to (base.html ``page_path``): the page
    itself when it answers a refused form posted to an action's address,
    which takes no GET (a toggle used there answered 405); else the request's."""
    return reverse(name, args=[pk]) if request.method == "POST" else None


def _staff_case_page(request, case_id: int, *, action: str = "", refused=None,
                     back: str = ""):
    """The staff case page; after a refused form, as ``_task_page`` shows its own."""
    case = selectors.case_detail_for_staff(actor=request.user, case_id=case_id)
    values, invalid = _kept(request, action, refused)
    return render(request, "cases/case_detail.html", {
        "case": case, "remaining": selectors.remaining_workdays(case),
        "applicant_view": False, "values": values, "invalid": invalid, "back": back,
        "page_path": _page_path(request, "cases:staff_case", case_id),
        # The limits of the steps it lists (办理环节).
        "step_provisional": _step_provisional_note(case, case.task_list),
        **_case_actions(request.user, case, values),
        # An applicant without an account corrects at the window: its clerks
        # take in what they bring here (permissions.case_correct).
        **_correction_context(request, case, action="cases:staff_correct"),
    }, status=400 if refused is not None else 200)


def _step_provisional_note(case, tasks) -> bool:
    """Whether a page showing the limits of ``tasks`` explains 暂定 in words
    below them (its badge's tooltip never shows on a phone): when one is
    provisional and the case summary does not already, for the case's own
    deadlines (cases/case_summary.html).  A step's limit may run into a year
    without holiday data while the case's are final: delivery, due after
    the decision."""
    if not any(task.due_at and task.due_provisional for task in tasks):
        return False
    return not (case.promised_due and (case.promised_provisional or case.due_provisional))


# Each staff form's fields, by action: the name posted, and the id of the
# element on the page where what was typed is kept, and a refusal of the
# field (the service's ``field``) is shown.  Ids are unique across the task
# page, which holds the case's forms too.
STAFF_FORM_FIELDS = {
    "approve": {"opinion": "opinion"},
    "reject": {"opinion": "opinion"},
    "not_accept": {"opinion": "opinion"},
    "return": {"opinion": "opinion"},
    "correction": {"items": "correction", "note": "note"},
    "fee": {"fee_id": "fee_id", "amount": "amount", "note": "fee-note", "key": "fee-key"},
    "suspend": {"reason": "pause-reason", "note": "pause-note"},
    "extend": {"workdays": "extend-days", "reason": "extend-reason"},
    "extension_request": {"workdays": "ask-days", "reason": "ask-reason"},
    "extension_decline": {"note": "decline-note"},
    "revoke": {"reason": "revoke-reason"},
}


def _kept(request, action: str, refused: ApplicationError | None) -> tuple[dict, dict]:
    """What the refused form ``action`` had typed, and the refusal at its field.

    Both by element id.  A correction's problem left blank is refused
    naming its material (or form field), and shown at its problem.
    """
    if refused is None:
        return {}, {}
    fields = STAFF_FORM_FIELDS.get(action, {})
    values = {element: request.POST.get(name, "") for name, element in fields.items()}
    listed = refused.fields.get("material_id") or (
        f"field-{refused.fields['form_field']}" if refused.fields.get("form_field") else None)
    element = (f"problem-{listed}" if action == "correction" and listed
               else fields.get(refused.fields.get("field")))
    return values, ({element: refused.render()} if element else {})


def _refused_at_field(exc: ApplicationError) -> bool:
    """Whether the refusal names a field of the form: the page then comes back
    with what was typed, the message at the field (a refusal of the action as
    a whole is told on the page the form returns to)."""
    return bool(exc.fields.get("field"))


def _case_actions(actor, case, values: dict, *, on_task: bool = False) -> dict:
    """The certificate, and which of the case's clock and certificate actions ``actor`` may take.

    The services check again; this only decides which forms a page shows.
    The extension request waiting for the head (staff only) is shown with
    its decline and withdraw forms, and fills the head's extension form
    (``values``, unless a refused form brought back what was typed).  The
    request form is the task page's (``on_task``): its holder asks.
    """
    certificate = Certificate.objects.filter(case=case).first()
    undecided = selectors.clock_adjustable(case)
    extendable = selectors.extension_allowed(case)
    pending = selectors.pending_extension(case, actor=actor)
    may_extend = extendable and permissions.case_extend(actor, case=case)
    if pending is not None and may_extend and "extend-days" not in values:
        values["extend-days"] = str(pending.workdays)
        values["extend-reason"] = pending.reason
    may_request = (on_task and extendable and pending is None
                   and permissions.case_extension_request(actor, case=case))
    return {
        "pending_extension": pending,
        "may_request_extension": may_request,
        "may_decline_extension": pending is not None
        and permissions.case_extension_decline(actor, case=case),
        "may_withdraw_extension": pending is not None
        and permissions.case_extension_withdraw(actor, request=pending),
        "certificate": certificate,
        "may_suspend": case.status == Case.Status.IN_PROGRESS and undecided
        and permissions.case_suspend(actor, case=case),
        "may_resume": case.status == Case.Status.SUSPENDED
        and permissions.case_resume(actor, case=case),
        "may_extend": may_extend,
        "may_revoke": certificate is not None and certificate.revoked_at is None
        and permissions.certificate_revoke(actor, certificate=certificate),
        "suspend_reasons": list(SUSPEND_REASONS.items()),
        # Ten working days, fifteen for parallel approval (第四十二条第二款).
        "max_extension": selectors.extension_most(case) if may_extend or may_request else None,
    }


@require_POST
@staff_page()
def case_action(request, case_id: int, action: str):
    """暂停计时, 恢复计时, 延期 (asked for, approved, declined, withdrawn) and
    注销证照 from the staff pages.

    A refusal naming a field brings back the page the form was on, with
    what was typed; anything else returns to it with the message.
    """
    case = selectors.case_get_for_staff(actor=request.user, case_id=case_id)
    back = safe_next(request, reverse("cases:staff_case", args=[case.pk]))
    try:
        if action == "suspend":
            services.case_suspend(actor=request.user, case=case,
                                  reason=request.POST.get("reason", ""),
                                  note=request.POST.get("note", ""))
            messages.success(request, _("已暂停计时。"))
        elif action == "resume":
            services.case_resume(actor=request.user, case=case)
            messages.success(request, _("已恢复计时，期限已顺延。"))
        elif action == "extend":
            services.case_extend(actor=request.user, case=case,
                                 workdays=_int(request.POST.get("workdays")),
                                 reason=request.POST.get("reason", ""))
            messages.success(request, _("已延长办理期限。"))
        elif action == "extension_request":
            services.case_extension_request(actor=request.user, case=case,
                                            workdays=_int(request.POST.get("workdays")),
                                            reason=request.POST.get("reason", ""))
            messages.success(request, _("已提交延期申请，等待本机关负责人批准。"))
        elif action == "extension_decline":
            services.case_extension_decline(actor=request.user, case=case,
                                            note=request.POST.get("note", ""))
            messages.success(request, _("已不批准该延期申请，并已告知提出申请的承办人。"))
        elif action == "extension_withdraw":
            services.case_extension_withdraw(actor=request.user, case=case)
            messages.success(request, _("已撤回延期申请。"))
        elif action == "revoke":
            certificate = Certificate.objects.filter(case=case).first()
            if certificate is None:
                raise NotFound()
            certificates.certificate_revoke(actor=request.user, certificate=certificate,
                                            reason=request.POST.get("reason", ""))
            messages.success(request, _("证照已注销，核验时将显示已注销。"))
        else:
            raise NotFound()
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.render())
        if _refused_at_field(exc):
            return _case_form_refused(request, case, action=action, refused=exc, back=back)
    return redirect(back)


def _case_form_refused(request, case, *, action: str, refused, back: str):
    """The page a refused case form came from (the task page or the case
    page), again, with what was typed and the refusal at its field."""
    try:
        match = resolve(urlsplit(back).path)
    except Resolver404:
        match = None
    if match is not None and match.view_name == "cases:task":
        try:
            task = selectors.task_get_for_actor(actor=request.user,
                                                task_id=match.kwargs["task_id"])
        except NotFound:
            task = None
        if task is not None and task.case_id == case.pk:
            return _task_page(request, task, action=action, refused=refused, back=back)
    return _staff_case_page(request, case.pk, action=action, refused=refused, back=back)


@staff_page()
def task_page(request, task_id: int):
    task = selectors.task_get_for_actor(actor=request.user, task_id=task_id)
    return _task_page(request, task)


def _task_page(request, task, *, action: str = "", refused=None, back: str = ""):
    """The task page; after a refused form (``action``), with status 400, what
    was typed kept and the refusal shown at its field, as the apply page does.
    A refusal of the action as a whole comes back with its own status.

    The decision forms carry the task's version as shown, so that a page
    left open while the task changed acts on nothing (``cases.task_changed``):
    it comes back with status 409, what was typed kept, and ``task`` (read
    again by the caller) giving the forms its current version.
    The fee form carries a new key each time it is shown: the same form sent
    twice records one fee.
    """
    case = selectors.case_detail_for_staff(actor=request.user, case_id=task.case_id)
    kind = task_kind(task.name)
    values, invalid = _kept(request, action, refused)
    # What the task form carried comes back: posted with a refused button of
    # it, or sent along by a display toggle (大字模式, 高对比度, the language:
    # portal.views.kept_form).  It holds the decision and the correction
    # notice alike, so the opinion, the materials ticked, their problems and
    # the note all come back, whichever part was being written.
    if refused is not None:
        typed = request.POST if action in TASK_FORM_ACTIONS else {}
    else:
        typed = kept_form(request) or {}
    for element in ("opinion", "note"):
        values.setdefault(element, typed.get(element, ""))
    # The forms shown are those the services would take: the actor holds the
    # step's role, the step is not a colleague's, and the case's state allows it.
    may_act = (permissions.task_complete(request.user, task=task)
               and selectors.in_hand(task, request.user))
    materials = list(case.item_version.materials.all())
    may_approve = may_act and selectors.decision_allowed(case, kind=kind, decision="approve")
    no_correction = selectors.correction_refusal(case, kind=kind) if may_act else None
    may_correct = (may_act and no_correction is None
                   and permissions.case_request_correction(request.user, task=task))
    # Still to do while another agency opened with it (the same parallel
    # stage) has rejected: told from the timeline the page shows anyway.
    stage_rejections = [
        e for e in case.timeline
        if e.type == EventType.REVIEWED and e.data.get("decision") == "reject"
        and e.task is not None and e.task.created_at == task.created_at
        and e.agency_id != task.agency_id
    ] if task.status in (Task.Status.OPEN, Task.Status.CLAIMED) else []
    # The fee form where the service takes a charge: not on a case paused
    # or waiting for its correction.
    fees = list(case.item_version.fees.all())
    may_charge = (bool(fees) and permissions.case_fee_charge(request.user, case=case)
                  and selectors.fee_refusal(case) is None)
    return render(request, "cases/task.html", {
        "task": task, "case": case, "kind": kind, "may_act": may_act,
        "page_path": _page_path(request, "cases:task", task.pk),
        "may_release": task.status == Task.Status.CLAIMED
        and permissions.task_release(request.user, task=task),
        "step_provisional": _step_provisional_note(case, [task]),
        "unsent": _unsent(typed, materials=materials,
                          fields=case.item_version.form_fields or [],
                          opinion_shown=may_act and (case.kind == Case.Kind.NOTICE
                                                     or may_approve),
                          notice_shown=may_act and may_correct)
        + (_fee_unsent(values, fees) if action == "fee" and not may_charge else []),
        "values": values, "invalid": invalid, "back": back,
        "correction_rows": [{
            "material": m, "ticked": f"listed_{m.pk}" in typed,
            "problem": typed.get(f"problem_{m.pk}", ""),
            "error": invalid.get(f"problem-{m.pk}", ""),
        } for m in materials],
        # The application form's answers, which the notice may list too.
        "correction_field_rows": [{
            "field": f, "ticked": f"listed_field_{f['name']}" in typed,
            "problem": typed.get(f"problem_field_{f['name']}", ""),
            "error": invalid.get(f"problem-field-{f['name']}", ""),
        } for f in case.item_version.form_fields or []],
        # The key comes back with what was typed (nothing was recorded with
        # it), unless it is what was refused: sent again, it would be again.
        "fee_key": (values.get("fee-key") if getattr(refused, "code", None)
                    != CasesErrorCode.KEY_REUSED else "") or uuid.uuid4().hex,
        "may_approve": may_approve,
        "stage_rejections": stage_rejections,
        # The display toggles send the task form along (portal/base.html).
        "display_form": "task-form" if may_act and (
            case.kind == Case.Kind.NOTICE or may_approve or may_correct) else "",
        "may_reject": may_act and selectors.decision_allowed(case, kind=kind,
                                                             decision="reject"),
        # The window's acceptance refuses to accept with its "reject"; a
        # 即办件's step, whose "reject" is 不予许可, with its own button.
        "may_not_accept": may_act and kind != "accept" and selectors.decision_allowed(
            case, kind=kind, decision=selectors.NOT_ACCEPT),
        "may_return": may_act and selectors.return_allowed(case, kind=kind),
        "may_correct": may_correct,
        # Why the notice is no longer offered, when only its time has run out.
        "correction_too_late": no_correction.render() if no_correction is not None
        and no_correction.code == CasesErrorCode.CORRECTION_TOO_LATE else "",
        "may_print_correction": bool(case.corrections)
        and permissions.correction_notice_print(request.user, case=case),
        "remaining": selectors.remaining_workdays(case),
        "materials": materials,
        "fees": fees,
        "may_charge": may_charge,
        **_case_actions(request.user, case, values, on_task=True),
    }, status=200 if refused is None else 400 if _refused_at_field(refused)
        else refused.http_status)


def _unsent(typed, *, materials, fields, opinion_shown: bool,
            notice_shown: bool) -> list[tuple]:
    """What a refused task form had typed that the page, as the case now is,
    holds no field for: the case paused meanwhile offers neither a decision
    nor a notice.  Each text with what it was written for, shown to be copied
    and sent once the step may be handled again, rather than lost."""
    texts = []
    if not opinion_shown:
        texts.append((_("意见"), typed.get("opinion", "")))
    if not notice_shown:
        texts += [(m.name, typed.get(f"problem_{m.pk}", "")) for m in materials]
        texts += [(f["label"], typed.get(f"problem_field_{f['name']}", "")) for f in fields]
        texts.append((_("补充说明"), typed.get("note", "")))
    return [(label, text) for label, text in texts if text.strip()]


def _fee_unsent(values: dict, fees) -> list[tuple]:
    """What a refused fee form had typed (``values``, by element id) when the
    page, as the case now is, offers no fee form (the case paused
    meanwhile): shown to be copied, as ``_unsent`` shows a decision's."""
    amount, note = values.get("amount", ""), values.get("fee-note", "")
    if not (amount.strip() or note.strip()):
        return []
    chosen = next((f.name for f in fees if str(f.pk) == values.get("fee_id")), "")
    texts = [(_("收费项目"), chosen), (_("实收金额（元，减免填 0）"), amount), (_("备注"), note)]
    return [(label, text) for label, text in texts if text.strip()]


def _posted_version(request) -> int | None:
    """The task's version on the page the form was sent from; None from a
    form without it.  Anything but digits matches no version."""
    raw = request.POST.get("version")
    if raw is None or raw == "":
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else -1


# The buttons of the task form (task.html), which holds the decision and the
# correction notice: each posts the whole form.
TASK_FORM_ACTIONS = ("approve", "reject", "not_accept", "return", "correction")
# The task page's forms whose every refusal, not only one at a field, brings
# the page back with what was typed: the task form's, and the fee form's (an
# amount and note taken down at the counter, lost if the page only said no).
KEPT_ON_REFUSAL = (*TASK_FORM_ACTIONS, "fee")


def _correction_items(post) -> list[dict]:
    """The materials and form answers the clerk listed: each ticked, and each
    whose problem was written.

    A problem typed without ticking its box is meant to be told: the notice
    goes out once (一次性告知), so nothing the clerk wrote may be dropped.
    A box ticked with no problem is refused by the service, naming the
    material.  In the page's order of the materials.  Each box has a name
    of its own (``listed_<id>``), so that a display toggle, which keeps one
    value a name, keeps every box ticked.
    """
    ticked = [key.removeprefix("listed_") for key in post if key.startswith("listed_")]
    listed = [key.removeprefix("problem_") for key in post if key.startswith("problem_")
              and (key.removeprefix("problem_") in ticked or post.get(key, "").strip())]
    listed += [m for m in ticked if f"problem_{m}" not in post]
    # A form field's box and problem are ``listed_field_<name>`` and
    # ``problem_field_<name>``: a material's id is a number, never field_….
    return [{**({"field": m.removeprefix("field_")} if m.startswith("field_")
                else {"material_id": m}), "problem": post.get(f"problem_{m}", "")}
            for m in dict.fromkeys(listed)]


@require_POST
@staff_page()
def task_action(request, task_id: int, action: str):
    """The task page's forms.  A refusal naming a field brings the page back
    with what was typed; anything else returns to it with the message."""
    task = selectors.task_get_for_actor(actor=request.user, task_id=task_id)
    version = _posted_version(request)
    try:
        if action == "claim":
            services.task_claim(actor=request.user, task=task)
            messages.success(request, _("已签收。"))
        elif action == "release":
            services.task_release(actor=request.user, task=task)
            messages.success(request, _("已解除签收，该环节已回到本岗位的待办。"))
        elif action in ("approve", "reject", selectors.NOT_ACCEPT):
            services.task_complete(actor=request.user, task=task, decision=action,
                                   opinion=request.POST.get("opinion", ""),
                                   expected_version=version)
            if task.case.kind != Case.Kind.NOTICE:
                messages.success(request, _("已办理。"))
            elif task_kind(task.name) == "reply":
                messages.success(request, _("回复已提交，等待监察机关审核。"))
            else:
                messages.success(request, _("回复已认可，督办办结。"))
            return redirect("portal:workbench")
        elif action == "return":
            services.task_return(actor=request.user, task=task,
                                 opinion=request.POST.get("opinion", ""),
                                 expected_version=version)
            messages.success(request, _("已退回上一环节。") if task.case.kind != Case.Kind.NOTICE
                             else _("回复已退回，被督办机关须重新整改并回复。"))
            return redirect("portal:workbench")
        elif action == "fee":
            services.case_fee_charge(actor=request.user, case=task.case,
                                     fee_id=_int(request.POST.get("fee_id")),
                                     amount=request.POST.get("amount", ""),
                                     note=request.POST.get("note", ""),
                                     idempotency_key=request.POST.get("key", ""))
            messages.success(request, _("已记录收费。"))
        elif action == "correction":
            services.case_request_correction(actor=request.user, task=task,
                                             items=_correction_items(request.POST),
                                             note=request.POST.get("note", ""),
                                             expected_version=version)
            messages.success(request, _("已一次性告知申请人补正。"))
            return redirect("portal:workbench")
        else:
            raise NotFound()
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.render())
        if action in KEPT_ON_REFUSAL or _refused_at_field(exc):
            # What was typed (a reasoned opinion, a correction notice, a fee) is
            # kept on the page as the task and the case are now, whatever
            # the refusal: a stale page (its forms then carry the current
            # version), or the case changed meanwhile (the head paused the
            # clock), so that the reviewer looks again and sends it without
            # writing it again.
            task = selectors.task_get_for_actor(actor=request.user, task_id=task.pk)
            return _task_page(request, task, action=action, refused=exc,
                              back=reverse("cases:task", args=[task.pk]))
    return redirect("cases:task", task_id=task.pk)
