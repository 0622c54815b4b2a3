"""Case pages: apply, follow, correct and download (applicants); the task
desk (staff); status by query code and certificate verification (public)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from yizhan.bpmn import task_kind
from yizhan.cases import certificates, permissions, selectors, services
from yizhan.cases.clock import SUSPEND_REASONS
from yizhan.cases.downloads import attachment
from yizhan.cases.models import Case, Certificate
from yizhan.cases.uploads import max_megabytes
from yizhan.catalog import selectors as catalog_selectors
from yizhan.core.errors import ApplicationError, NotFound
from yizhan.core.ids import parse_id
from yizhan.core.middleware import client_ip
from yizhan.directory import selectors as directory_selectors
from yizhan.directory.pages import paged, refusal_shown, safe_next, staff_page


def _int(value) -> int:
    """A posted id; anything else is 0, which no row has (the service names the field)."""
    return parse_id(value) or 0


def _errors_from(exc: ApplicationError) -> list[str]:
    return [exc.render()]


def _upload_materials(request, case, material_ids, invalid=None) -> list[str]:
    """Store each file posted as ``material_<id>``; return the refusals' messages.

    ``invalid``, when given, takes each refused material's message by its id,
    for the page to show it at its field.
    """
    errors = []
    for material_id in material_ids:
        upload = request.FILES.get(f"material_{material_id}")
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
        # applicant uses the workbench's API (services.case_create).
        return render(request, "cases/apply_offline.html", {"v": version},
                      status=409 if request.method == "POST" else 200)
    applicants = list(directory_selectors.applicants_of_user(user=request.user))
    materials = list(version.materials.all())
    errors: list[str] = []
    invalid: dict[int, str] = {}   # material id -> what is wrong with it
    if request.method == "POST":
        key = request.POST.get("key", "")[:64]
        applicant = next((a for a in applicants if str(a.pk) == request.POST.get("applicant")),
                         None)
        answers = {field["name"]: request.POST.get(f"field_{field['name']}", "")
                   for field in version.form_fields}
        if applicant is None:
            errors.append(_("请选择申请人。"))
        else:
            try:
                case = services.case_create(actor=request.user, item_version=version,
                                            applicant=applicant, data=answers,
                                            idempotency_key=key)
            except ApplicationError as exc:
                errors += _errors_from(exc)
            else:
                if case.status != Case.Status.DRAFT:
                    # The same form again after it went through: its files
                    # would be refused as late, so show the submitted case.
                    _query_code_stored_meanwhile(request, case)
                    return redirect("cases:mine_detail", case_id=case.pk)
                errors += _upload_materials(request, case, [m.pk for m in materials], invalid)
                if errors and _no_longer(case, Case.Status.DRAFT):
                    # A double click: the first request submitted the case
                    # while this one uploaded its copies of the files, which
                    # were refused as late.  The application went through.
                    _query_code_stored_meanwhile(request, case)
                    return redirect("cases:mine_detail", case_id=case.pk)
                if not errors and request.POST.get("action") == "draft":
                    messages.success(request, _("草稿已保存，可稍后继续上传材料并提交。"))
                    return redirect("cases:mine_detail", case_id=case.pk)
                if not errors and case.status == Case.Status.DRAFT:
                    try:
                        case, code = services.case_submit(actor=request.user, case=case)
                    except ApplicationError as exc:
                        errors += _errors_from(exc)
                        _missing_at_fields(exc, materials, invalid)
                    else:
                        _keep_query_code(request, case, code)
                        messages.success(request, _("申请已提交，办件编号 %(number)s。")
                                         % {"number": case.number})
                        return redirect("cases:mine_detail", case_id=case.pk)
                elif not errors:
                    return redirect("cases:mine_detail", case_id=case.pk)
        status = 400
    else:
        key = uuid.uuid4().hex
        status = 200
    # After a refusal the page keeps the applicant chosen, as it keeps the answers.
    chosen = next((a.pk for a in applicants if str(a.pk) == request.POST.get("applicant")),
                  applicants[0].pk if applicants else None)
    return render(request, "cases/apply.html", {
        "v": version, "applicants": applicants, "materials": materials, "key": key,
        "errors": errors, "invalid": invalid,
        "posted": request.POST if request.method == "POST" else {},
        "chosen": chosen, "max_mb": max_megabytes(),
    }, status=status)


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
        return _reissue_query_code(request, case_id)
    case = selectors.case_detail(actor=request.user, case_id=case_id)
    if not permissions.case_correct(request.user, case=case):
        raise NotFound()
    return render(request, "cases/case_detail.html", {
        "case": case, "remaining": selectors.remaining_workdays(case),
        "query_code": _kept_query_code(request, case),
        "certificate": Certificate.objects.filter(case=case).first(),
        "applicant_view": True,
        "may_withdraw": selectors.withdrawal_allowed(case)
        and permissions.case_withdraw(request.user, case=case),
        "may_reissue_code": case.status != Case.Status.DRAFT
        and permissions.case_query_code_reissue(request.user, case=case),
    })


def _reissue_query_code(request, case_id: int):
    """重新生成查询码: a new query code for a submitted case; the old one stops working."""
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    if (request.POST.get("action") != "reissue_query_code"
            or not permissions.case_query_code_reissue(request.user, case=case)):
        raise NotFound()
    with refusal_shown(request):
        case, code = services.case_query_code_reissue(actor=request.user, case=case)
        _keep_query_code(request, case, code)
        messages.success(request, _("已重新生成查询码，原查询码已失效，不能再用于查询。"))
    return redirect("cases:mine_detail", case_id=case.pk)


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
    errors = _upload_materials(
        request, case, case.item_version.materials.values_list("pk", flat=True))
    if errors and _no_longer(case, Case.Status.DRAFT):
        # Submitted by a concurrent click while this one uploaded.
        _query_code_stored_meanwhile(request, case)
        return redirect("cases:mine_detail", case_id=case.pk)
    if not errors and request.POST.get("action") != "draft":
        try:
            case, code = services.case_submit(actor=request.user, case=case)
        except ApplicationError as exc:
            errors += _errors_from(exc)
        else:
            _keep_query_code(request, case, code)
            if code:
                messages.success(request, _("申请已提交，办件编号 %(number)s。")
                                 % {"number": case.number})
    for error in errors:
        messages.error(request, error)
    return redirect("cases:mine_detail", case_id=case.pk)


@login_required
@require_POST
def mine_correct(request, case_id: int):
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    errors = []
    if case.status == Case.Status.CORRECTION:
        errors = _upload_materials(request, case,
                                   [item["material_id"] for item in case.correction.items])
        if errors and _no_longer(case, Case.Status.CORRECTION):
            # A double click: the first request resubmitted while this one
            # uploaded its copies, refused as late.  The service answers
            # for the case as it now is (sent again: unchanged).
            errors = []
    # Not under correction (any more): no file is uploaded; case_correct
    # returns a case whose correction is already in unchanged, and refuses
    # any other (withdrawn, never asked to correct).
    if not errors:
        try:
            services.case_correct(actor=request.user, case=case)
        except ApplicationError as exc:
            errors += _errors_from(exc)
    for error in errors:
        messages.error(request, error)
    if not errors:
        messages.success(request, _("补正材料已提交。"))
    return redirect("cases:mine_detail", case_id=case.pk)


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
    """The page a certificate's QR code opens; a file can be checked against it."""
    certificate = selectors.certificate_by_token(token=token)
    uploaded = None
    uploaded_name = ""
    if request.method == "POST" and request.FILES.get("file"):
        uploaded_name = request.FILES["file"].name
        data = request.FILES["file"].read(20 * 1024 * 1024)
        uploaded = certificates.certificate_verify(certificate=certificate, pdf_bytes=data)
    result = certificates.certificate_verify(certificate=certificate)
    return render(request, "cases/verify.html", {
        "certificate": certificate, "result": result, "uploaded": uploaded,
        "uploaded_name": uploaded_name,
    })


# --- staff ---------------------------------------------------------------------

@staff_page()
def agency_cases(request):
    status_filter = request.GET.get("status", "")
    if status_filter not in Case.Status.values:
        status_filter = ""
    return render(request, "cases/agency_cases.html", {
        "cases": paged(request, selectors.agency_cases(actor=request.user,
                                                       status=status_filter)),
        "statuses": Case.Status.choices, "status": status_filter,
    })


@staff_page()
def staff_case(request, case_id: int):
    case = selectors.case_detail(actor=request.user, case_id=case_id)
    return render(request, "cases/case_detail.html", {
        "case": case, "remaining": selectors.remaining_workdays(case),
        "applicant_view": False, **_case_actions(request.user, case),
    })


def _case_actions(actor, case) -> dict:
    """The certificate, and which of the case's clock and certificate actions ``actor`` may take.

    The services check again; this only decides which forms a page shows.
    """
    certificate = Certificate.objects.filter(case=case).first()
    undecided = selectors.clock_adjustable(case)
    return {
        "certificate": certificate,
        "may_suspend": case.status == Case.Status.IN_PROGRESS and undecided
        and permissions.case_suspend(actor, case=case),
        "may_resume": case.status == Case.Status.SUSPENDED
        and permissions.case_resume(actor, case=case),
        "may_extend": selectors.extension_allowed(case)
        and permissions.case_extend(actor, case=case),
        "may_revoke": certificate is not None and certificate.revoked_at is None
        and permissions.certificate_revoke(actor, certificate=certificate),
        "suspend_reasons": list(SUSPEND_REASONS.items()),
        "max_extension": services.MAX_EXTENSION,
    }


@require_POST
@staff_page()
def case_action(request, case_id: int, action: str):
    """暂停计时, 恢复计时, 延期 and 注销证照 from the staff pages."""
    case = selectors.case_get_for_actor(actor=request.user, case_id=case_id)
    with refusal_shown(request):
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
        elif action == "revoke":
            certificate = Certificate.objects.filter(case=case).first()
            if certificate is None:
                raise NotFound()
            certificates.certificate_revoke(actor=request.user, certificate=certificate,
                                            reason=request.POST.get("reason", ""))
            messages.success(request, _("证照已注销，核验时将显示已注销。"))
        else:
            raise NotFound()
    return redirect(safe_next(request, reverse("cases:staff_case", args=[case.pk])))


@staff_page()
def task_page(request, task_id: int):
    task = selectors.task_get_for_actor(actor=request.user, task_id=task_id)
    case = selectors.case_detail(actor=request.user, case_id=task.case_id)
    kind = task_kind(task.name)
    # The forms shown are those the services would take: the actor holds the
    # step's role, the step is not a colleague's, and the case's state allows it.
    may_act = (permissions.task_complete(request.user, task=task)
               and selectors.in_hand(task, request.user))
    return render(request, "cases/task.html", {
        "task": task, "case": case, "kind": kind, "may_act": may_act,
        "may_approve": may_act and selectors.decision_allowed(case, kind=kind,
                                                              decision="approve"),
        "may_reject": may_act and selectors.decision_allowed(case, kind=kind,
                                                             decision="reject"),
        "may_return": may_act and selectors.return_allowed(case, kind=kind),
        "may_correct": may_act and selectors.correction_allowed(case, kind=kind)
        and permissions.case_request_correction(request.user, task=task),
        "remaining": selectors.remaining_workdays(case),
        "materials": list(case.item_version.materials.all()),
        "fees": list(case.item_version.fees.all()),
        "may_charge": permissions.case_fee_charge(request.user, case=case),
        **_case_actions(request.user, case),
    })


@require_POST
@staff_page()
def task_action(request, task_id: int, action: str):
    task = selectors.task_get_for_actor(actor=request.user, task_id=task_id)
    with refusal_shown(request):
        if action == "claim":
            services.task_claim(actor=request.user, task=task)
            messages.success(request, _("已签收。"))
        elif action in ("approve", "reject"):
            services.task_complete(actor=request.user, task=task, decision=action,
                                   opinion=request.POST.get("opinion", ""))
            if task.case.kind != Case.Kind.NOTICE:
                messages.success(request, _("已办理。"))
            elif task_kind(task.name) == "reply":
                messages.success(request, _("回复已提交，等待监察机关审核。"))
            else:
                messages.success(request, _("回复已认可，督办办结。"))
            return redirect("portal:workbench")
        elif action == "return":
            services.task_return(actor=request.user, task=task,
                                 opinion=request.POST.get("opinion", ""))
            messages.success(request, _("已退回上一环节。") if task.case.kind != Case.Kind.NOTICE
                             else _("回复已退回，被督办机关须重新整改并回复。"))
            return redirect("portal:workbench")
        elif action == "fee":
            services.case_fee_charge(actor=request.user, case=task.case,
                                     fee_id=_int(request.POST.get("fee_id")),
                                     amount=request.POST.get("amount", ""),
                                     note=request.POST.get("note", ""))
            messages.success(request, _("已记录收费。"))
        elif action == "correction":
            items = [{"material_id": m, "problem": request.POST.get(f"problem_{m}", "")}
                     for m in request.POST.getlist("material")]
            services.case_request_correction(actor=request.user, task=task, items=items,
                                             note=request.POST.get("note", ""))
            messages.success(request, _("已一次性告知申请人补正。"))
            return redirect("portal:workbench")
        else:
            raise NotFound()
    return redirect("cases:task", task_id=task.pk)
