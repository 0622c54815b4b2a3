"""Portal and workbench pages: parse the request, call one service, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yizhan.accounts import permissions as account_permissions
from yizhan.accounts import services as account_services
from yizhan.accounts.services import SecondFactorRequired
from yizhan.audit import registry as audit_registry
from yizhan.audit import selectors as audit_selectors
from yizhan.audit.permissions import audit_search as may_search_audit
from yizhan.cases import permissions as case_permissions
from yizhan.cases import selectors as case_selectors
from yizhan.catalog import permissions as catalog_permissions
from yizhan.catalog import selectors as catalog_selectors
from yizhan.catalog.forms import SearchForm
from yizhan.core.errors import ApplicationError, NotFound
from yizhan.core.middleware import client_ip
from yizhan.core.public import public_url
from yizhan.directory import permissions as directory_permissions
from yizhan.directory import selectors as directory_selectors
from yizhan.directory import services as directory_services
from yizhan.directory.authz import scope_of
from yizhan.directory.pages import paged, refusal_shown, safe_next, staff_page
from yizhan.portal import forms
from yizhan.portal.context_processors import CONTRAST_COOKIE, DISPLAY_COOKIE
from yizhan.supervision import permissions as supervision_permissions
from yizhan.supervision import selectors as supervision_selectors
from yizhan.workdays.notices import calendar_notice_context

ONE_YEAR = 365 * 24 * 3600


# Top-level agencies the home page names, the city's own first (by division
# code); 全部部门 leads to the catalog's list of every department with items.
HOME_AGENCIES = 40


def home(request):
    agencies = directory_selectors.agency_list().filter(parent__isnull=True)[:HOME_AGENCIES]
    with_items = catalog_selectors.item_counts_by_agency()
    return render(request, "portal/home.html", {
        # Each with whether it has items: its name then leads to them.
        "agencies": [(agency, agency.pk in with_items) for agency in agencies],
        # Finding the item is where most visits begin (办事指南 and 申请).
        "search_form": SearchForm(),
    })


def disclosure(request):
    """信息公开: the government's organisation, public by law."""
    agencies = directory_selectors.agency_list().filter(parent__isnull=True)
    return render(request, "portal/disclosure.html", {"agencies": agencies})


def participation(request):
    """互动交流: channels of public participation."""
    return render(request, "portal/participation.html", {})


# A form a page sends to display_settings (its toggles name it with form=…
# formaction=…), so that switching to large text does not wipe what was typed:
# kept in the session for the page to fill in again, once.  Files cannot be
# kept (a browser never fills a file input): only their fields' names are, for
# the page to ask for them again.  The toggles send the form url-encoded
# (portal/base.html), so that switching uploads no file: a file input then
# comes as a field holding its file's name, which the page knows as its own.
KEPT_FORM = "display_kept_form"
KEPT_FORM_MARKER = "display_keeps_form"
MAX_KEPT_FORM_CHARS = 40_000
# The language, switched from a page with a form to keep (portal/base.html):
# not "language", which an application form's own field may be named.
LANGUAGE_FIELD = "display_language"
_NOT_KEPT = {"csrfmiddlewaretoken", "next", "large_text", "high_contrast", LANGUAGE_FIELD,
             KEPT_FORM_MARKER}


def _keep_form(request, path: str) -> None:
    data = {name: value for name, value in request.POST.items() if name not in _NOT_KEPT}
    if sum(len(name) + len(value) for name, value in data.items()) > MAX_KEPT_FORM_CHARS:
        return
    request.session[KEPT_FORM] = {"path": path, "data": data}


def kept_form(request) -> dict | None:
    """The fields of the form this page sent to display_settings; None when
    there is none (for another page, or taken already)."""
    kept = request.session.get(KEPT_FORM)
    if not kept or kept.get("path") != request.get_full_path():
        return None
    del request.session[KEPT_FORM]
    return kept["data"]


@require_POST
def display_settings(request):
    """Turn large text / high contrast on or off, or switch the language of a
    page with a form; works without JavaScript.

    A page's form may come along (``KEPT_FORM_MARKER``): its fields are kept
    for the page the browser returns to.  The language is set as Django's
    ``set_language`` sets it, which a page without a form posts to.
    """
    target = safe_next(request, reverse("portal:home"))
    if request.POST.get(KEPT_FORM_MARKER):
        _keep_form(request, target)
    response = HttpResponseRedirect(target)
    language = request.POST.get(LANGUAGE_FIELD, "")
    if language and check_for_language(language) and language in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language,
                            max_age=settings.LANGUAGE_COOKIE_AGE,
                            path=settings.LANGUAGE_COOKIE_PATH,
                            domain=settings.LANGUAGE_COOKIE_DOMAIN,
                            secure=settings.LANGUAGE_COOKIE_SECURE,
                            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                            samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    for cookie, field, value in ((DISPLAY_COOKIE, "large_text", "large"),
                                 (CONTRAST_COOKIE, "high_contrast", "high")):
        if field in request.POST:
            if request.POST[field] == "on":
                response.set_cookie(cookie, value, max_age=ONE_YEAR, samesite="Lax",
                                    secure=request.is_secure(), httponly=True)
            else:
                response.delete_cookie(cookie)
    return response


@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = forms.SignInForm(request.POST or None)
    need_totp = False
    if request.method == "POST" and form.is_valid():
        try:
            user = account_services.user_sign_in(request=request, **form.cleaned_data)
        except SecondFactorRequired as exc:
            need_totp = True
            form.add_error("totp_code", exc.render())
        except ApplicationError as exc:
            form.add_error(None, exc.render())
            return render(request, "registration/login.html",
                          {"form": form, "need_totp": need_totp, "next": _next_param(request)},
                          status=exc.http_status)
        else:
            login(request, user)
            default = reverse("portal:workbench") if user.is_staff_member else reverse(
                "portal:home")
            return redirect(safe_next(request, default))
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/login.html",
                  {"form": form, "need_totp": need_totp, "next": _next_param(request)},
                  status=status)


def _next_param(request) -> str:
    return safe_next(request, "")


@require_POST
def sign_out(request):
    if request.user.is_authenticated:
        account_services.user_sign_out(actor=request.user)
    logout(request)
    messages.info(request, _("您已安全退出。"))
    return redirect("portal:home")


@require_http_methods(["GET", "POST"])
def register(request):
    form = forms.RegisterForm(request.POST or None)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            user = directory_services.person_sign_up(**form.cleaned_data,
                                                     ip=client_ip(request))
        except ApplicationError as exc:
            field = exc.fields.get("field")
            form.add_error(field if field in form.fields else None, exc.render())
            status = exc.http_status
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("注册成功，欢迎使用。"))
            return redirect("portal:home")
    return render(request, "registration/register.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.password_change(actor=request.user, user=request.user,
                                             **form.cleaned_data)
        except ApplicationError as exc:
            field = exc.fields.get("field")
            form.add_error(field if field in form.fields else None, exc.render())
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改。"))
            return redirect("portal:account")
    return render(request, "registration/password_change.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def password_reset(request):
    form = forms.PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The public address, as every notification's: not the request's Host
        # header, which a proxy or another allowed host may have set.
        template = public_url("portal:password_reset_confirm", "UIDX", "TOKENX"
                              ).replace("UIDX", "{uid}").replace("TOKENX", "{token}")
        try:
            account_services.password_reset_request(email=form.cleaned_data["email"],
                                                    reset_url_template=template,
                                                    ip=client_ip(request))
        except ApplicationError as exc:
            # Raised for the client address's own limit only, never for the e-mail typed.
            form.add_error(None, exc.render())
            return render(request, "registration/password_reset.html", {"form": form},
                          status=exc.http_status)
        return render(request, "registration/password_reset_sent.html")
    return render(request, "registration/password_reset.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


# Not registration/password_reset_confirm.html: the admin app comes first in
# INSTALLED_APPS and its template of that name would be rendered instead,
# which shows "invalid link" and no form because it expects ``validlink``.
_RESET_CONFIRM_TEMPLATE = "registration/password_reset_new.html"


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request, uidb64: str, token: str):
    form = forms.PasswordResetConfirmForm(request.POST or None)
    try:
        account_services.password_reset_user(uidb64=uidb64, token=token)
    except ApplicationError as exc:
        return render(request, _RESET_CONFIRM_TEMPLATE,
                      {"invalid": exc.render()}, status=400)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.password_reset_confirm(uidb64=uidb64, token=token,
                                                    **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error("new_password", exc.render())
        else:
            messages.success(request, _("密码已重置，请用新密码登录。"))
            return redirect("portal:login")
    return render(request, _RESET_CONFIRM_TEMPLATE, {"form": form},
                  status=400 if request.method == "POST" else 200)


@login_required
def account(request):
    return render(request, "portal/account.html", {
        "applicants": directory_selectors.applicants_of_user(user=request.user),
        "postings": directory_selectors.postings_of(user=request.user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request):
    """Enable the second factor: show a secret, confirm with one code."""
    user = request.user
    if request.method == "POST" and request.POST.get("action") == "disable":
        account_services.totp_disable(actor=user, user=user, reason="disabled by the user")
        messages.success(request, _("已停用动态口令。"))
        return redirect("portal:account")
    secret = request.session.get("totp_pending") or account_services.totp_new_secret()
    request.session["totp_pending"] = secret
    form = forms.TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.totp_enable(actor=user, user=user, secret=secret,
                                         code=form.cleaned_data["code"])
        except ApplicationError as exc:
            form.add_error("code", exc.render())
        else:
            del request.session["totp_pending"]
            messages.success(request, _("已启用动态口令，下次登录时需要输入。"))
            return redirect("portal:account")
    return render(request, "portal/totp.html", {
        "form": form, "secret": secret,
        "uri": account_services.totp_provisioning_uri(user=user, secret=secret),
    }, status=400 if request.method == "POST" else 200)


# The extension requests listed on the workbench: the most urgent, each a link
# to its case page, where it is approved or declined.  The workbench says how
# many wait and links to all of them (workbench_extensions): a request beyond
# the first ones must not sit unseen until the statutory limit runs out, after
# which the extension is refused (《行政许可法》第四十二条).
WORKBENCH_EXTENSIONS = 20


def _any_provisional(*, tasks=(), extensions=()) -> bool:
    """Whether a row shows 暂定, explained once in words below the lists: a
    step's limit, or the statutory deadline of a case whose extension waits."""
    return (any(task.due_provisional for task in tasks)
            or any(extension.case.due_provisional for extension in extensions))


@staff_page()
def workbench(request):
    tasks = paged(request, case_selectors.inbox(actor=request.user))
    marks = supervision_selectors.marks_for_tasks(tasks)
    for task in tasks:
        task.mark = marks.get(task.pk, "")
    # 待批准的延期申请 of the agencies the user heads: the nearest, and how many
    # wait, counted only when the list is full.
    awaiting = case_selectors.extensions_awaiting(actor=request.user)
    extensions = list(awaiting[:WORKBENCH_EXTENSIONS])
    extensions_total = (awaiting.count() if len(extensions) == WORKBENCH_EXTENSIONS
                        else len(extensions))
    return render(request, "portal/workbench.html", {
        "postings": directory_selectors.postings_of(user=request.user),
        "may_audit": may_search_audit(request.user),
        # The window's pages ask this predicate; a clerk through a scope
        # grant holds no posting and is still shown the link.
        "may_file_at_window": directory_permissions.applicant_look_up(request.user),
        # The catalog desk's own predicate: its editing roles only.
        "may_edit_catalog": catalog_permissions.catalog_edit_any(request.user),
        "may_monitor": supervision_permissions.monitor(request.user),
        "may_see_scores": supervision_permissions.scores_view(request.user),
        "tasks": tasks,
        "extensions": extensions,
        "extensions_total": extensions_total,
        "any_provisional": _any_provisional(tasks=tasks, extensions=extensions),
        "now": timezone.now(),
        **calendar_notice_context(request),
    })


@staff_page(allowed=case_permissions.extensions_awaiting)
def workbench_extensions(request):
    """待批准的延期申请, all of them, paged: the workbench lists the nearest."""
    extensions = paged(request, case_selectors.extensions_awaiting(actor=request.user))
    return render(request, "portal/workbench_extensions.html", {
        "extensions": extensions,
        "any_provisional": _any_provisional(extensions=extensions),
    })


def _post_prefix(post) -> str:
    return f"post-{post.pk}"


def _totp_prefix(user) -> str:
    return f"totp-{user.pk}"


def _my_agency_page(request, *, failed=None, status: int = 200):
    """本机关: each home agency's posts and staff, with the forms the viewer may
    use on them; ``failed`` is a refused form, shown in its row with its errors.
    """
    viewer = request.user

    def form_for(form_class, prefix):
        if failed is not None and failed.prefix == prefix:
            return failed
        return form_class(prefix=prefix)

    agencies = []
    for agency in directory_selectors.agencies_for_actor(actor=viewer).filter(
        pk__in=scope_of(viewer).home_agency_ids
    ):
        staff = list(directory_selectors.staff_list_for_actor(actor=viewer, agency_id=agency.pk))
        for posting in staff:
            posting.may_unpost = directory_permissions.staff_unpost(viewer, post=posting.post)
        posts = list(directory_selectors.post_list_for_actor(actor=viewer, agency_id=agency.pk))
        for post in posts:
            post.form = (form_for(forms.PostStaffForm, _post_prefix(post))
                         if directory_permissions.staff_post(viewer, post=post) else None)
        # A lost phone: the staff member whose second factor is on, for whoever
        # may take away every role they hold (docs/access.md); one's own is
        # switched off on the account page.
        resets, seen = [], set()
        for posting in staff:
            person = posting.user
            if (person.pk in seen or not person.totp_enabled or person.pk == viewer.pk
                    or not account_permissions.totp_disable(viewer, user=person)):
                continue
            seen.add(person.pk)
            resets.append({"user": person, "form": form_for(forms.TotpResetForm,
                                                            _totp_prefix(person))})
        agencies.append({"agency": agency, "staff": staff, "posts": posts, "resets": resets})
    return render(request, "portal/my_agency.html", {"agencies": agencies}, status=status)


@staff_page()
def my_agency(request):
    return _my_agency_page(request)


@staff_page()
@require_POST
def my_agency_post_staff(request, post_id: int):
    """任命岗位: post an existing staff account, named by login name (调岗)."""
    post = directory_selectors.post_get_for_actor(actor=request.user, post_id=post_id)
    form = forms.PostStaffForm(request.POST, prefix=_post_prefix(post))
    if not form.is_valid():
        return _my_agency_page(request, failed=form, status=400)
    username = form.cleaned_data["username"]
    try:
        user = directory_selectors.staff_account_get(username=username)
    except NotFound:
        form.add_error("username", _("没有登录名为“%(username)s”的工作人员账户。")
                       % {"username": username})
        return _my_agency_page(request, failed=form, status=400)
    try:
        directory_services.staff_post(actor=request.user, user=user, post=post)
    except ApplicationError as exc:
        form.add_error("username", exc.render())
        return _my_agency_page(request, failed=form, status=exc.http_status)
    messages.success(request, _("已任命%(name)s为“%(post)s”。")
                     % {"name": user.full_name or user.username, "post": post.name})
    return redirect("portal:my_agency")


@staff_page()
@require_POST
def my_agency_unpost_staff(request, post_id: int, user_id: int):
    """免去岗位: the cases the staff member claimed there go back to the post."""
    post = directory_selectors.post_get_for_actor(actor=request.user, post_id=post_id)
    user = directory_selectors.staff_account_get(user_id=user_id)
    with refusal_shown(request):
        directory_services.staff_unpost(actor=request.user, user=user, post=post)
        messages.success(request, _("已免去%(name)s的“%(post)s”岗位。")
                         % {"name": user.full_name or user.username, "post": post.name})
    return redirect("portal:my_agency")


@staff_page()
@require_POST
def my_agency_totp_reset(request, user_id: int):
    """重置动态口令 of a staff member who lost their phone, with the reason."""
    user = directory_selectors.staff_account_get(user_id=user_id)
    form = forms.TotpResetForm(request.POST, prefix=_totp_prefix(user))
    if not form.is_valid():
        return _my_agency_page(request, failed=form, status=400)
    try:
        account_services.totp_disable(actor=request.user, user=user,
                                      reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        form.add_error("reason", exc.render())
        return _my_agency_page(request, failed=form, status=exc.http_status)
    messages.success(request, _("已重置%(name)s的动态口令，其下次登录只需密码。")
                     % {"name": user.full_name or user.username})
    return redirect("portal:my_agency")


@staff_page()
def audit_search(request):
    form = forms.AuditSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "portal/audit_search.html", {
            "form": form, "records": None, "labels": audit_registry.all_actions(),
        }, status=400)
    data = form.cleaned_data if form.is_bound else {}
    qs = audit_selectors.audit_search(
        actor=request.user,
        actor_query=data.get("actor") or "",
        object_query=data.get("object") or "",
        since=data.get("since"),
        until=data.get("until"),
    )
    return render(request, "portal/audit_search.html", {
        "form": form, "records": paged(request, qs), "labels": audit_registry.all_actions(),
    })
