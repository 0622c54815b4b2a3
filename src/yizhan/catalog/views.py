"""Catalog pages: browse, search and the guide (public); editing desk (staff)."""

import re
from urllib.parse import urljoin

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.encoding import uri_to_iri
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yizhan.catalog import permissions, selectors, services, transfer
from yizhan.catalog.desk_forms import FORM_FIELD_LABELS, FORM_FIELD_TYPES
from yizhan.catalog.forms import ImportForm, NoteForm, SearchForm
from yizhan.catalog.models import SERVICE_OBJECTS, THEMES, ItemType
from yizhan.catalog.search import has_chinese
from yizhan.core.errors import ApplicationError, NotFound, listed
from yizhan.core.ids import parse_id
from yizhan.core.public import public_url
from yizhan.directory.pages import paged, refusal_shown, staff_page

PERSON_THEMES = ["birth", "household", "education", "employment", "marriage", "housing",
                 "health", "social_security", "travel", "retirement", "death"]
ENTERPRISE_THEMES = ["establish", "permits", "qualification", "construction", "tax",
                     "dissolution"]
# Who applies for the items each section lists (SERVICE_OBJECTS): a retiree
# opening 退休养老 finds what a person applies for, not an institution's filing.
PERSON, ENTERPRISE = "natural", "legal"


def index(request):
    person = selectors.theme_counts(service_object=PERSON)
    enterprise = selectors.theme_counts(service_object=ENTERPRISE)
    return render(request, "catalog/index.html", {
        "form": SearchForm(),
        "agencies": selectors.agencies_with_items(),
        "person": PERSON, "enterprise": ENTERPRISE,
        "person_themes": [(t, THEMES[t], person[t]) for t in PERSON_THEMES],
        "enterprise_themes": [(t, THEMES[t], enterprise[t]) for t in ENTERPRISE_THEMES],
    })


def search(request):
    """The search page, which is also a department's page (``?agency=``) and a
    theme's (``?theme=``, with ``&for=natural`` or ``&for=legal`` from 个人办事
    and 法人办事), a page of results at a time.

    A query the form refuses (too long) shows the form's error and no
    results.  The page of an agency that is not in the public catalog (none
    has that id, or it is closed) is not found.  A theme or applicant that
    is none is ignored.
    """
    form = SearchForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    query = form.cleaned_data["q"] if form.is_bound and valid else ""
    agency_id = parse_id(request.GET.get("agency"))  # a value that is no id is ignored
    agency = selectors.catalog_agency(agency_id=agency_id) if agency_id else None
    theme = request.GET.get("theme", "")
    theme = theme if theme in THEMES else ""
    applicant = request.GET.get("for", "")
    applicant = applicant if applicant in SERVICE_OBJECTS else ""
    results = None
    if valid:
        results = paged(request, selectors.item_search(
            query=query, agency_id=agency.pk if agency else None, theme=theme,
            service_object=applicant))
    return render(request, "catalog/search.html", {
        "form": form, "query": query, "agency": agency, "theme": theme,
        "applicant": applicant, "theme_name": THEMES.get(theme), "results": results,
        # No item had every word: these have some (item_search counts them).
        "partial": bool(results and getattr(results[0], "hits", 0)),
        # Item names are Chinese: a query in English or pinyin that found
        # nothing is told so, and sent to the theme lists.
        "not_chinese": bool(query) and not has_chinese(query),
    })


def guide(request, impl_code: str):
    version = selectors.item_guide(impl_code=impl_code)
    context = {"v": version, "item_types": dict(ItemType.choices)}
    if request.GET.get("print"):
        context["addresses"] = _printed_addresses(version)
        return render(request, "catalog/guide_print.html", context)
    return render(request, "catalog/guide.html", context)


def _printed_addresses(version) -> dict[str, str]:
    """The absolute address of each link of the guide's files and forms, by the
    link as the page has it: on paper a link is only its text, and a file's
    link is a path of this site.  Addresses are the platform's public ones
    (``core.public``), never made from the request's host."""
    files = [version.result_sample_download]
    links = [version.result_sample_link]
    for material in version.materials.all():
        files += [material.blank_form_download, material.sample_download]
        links += [material.blank_form_link, material.sample_link]
    home = public_url("portal:home")
    addresses = {f.url: _breakable(public_url("catalog:file", f.record.sha256, f.name))
                 for f in files if f is not None}
    # A link an editor typed: a web address, or a path of this site.
    addresses.update((link, _breakable(urljoin(home, link))) for link in links if link)
    return addresses


# The separators of an address, after which a printed line may end.
_ADDRESS_BREAK = re.compile(r"(?<=[/.?&=_~-])")


def _breakable(address: str) -> str:
    """``address`` as it is printed: its Chinese file name as characters, not
    percent-escapes (an IRI, which a browser takes as typed), in HTML that
    wraps after its separators (/ . - ? & = _ ~), so that a long address in a
    narrow column breaks between its words and only a word wider than the
    column is broken inside."""
    parts = _ADDRESS_BREAK.split(uri_to_iri(address))
    return format_html("<wbr>".join(["{}"] * len(parts)), *parts)


@staff_page(permissions.catalog_edit_any)
def desk(request):
    """The catalog desk of the workbench: my agencies' items and their versions."""
    return render(request, "catalog/desk.html", {
        "items": selectors.items_for_editor(actor=request.user),
        "import_form": ImportForm(),
    })


@staff_page(permissions.catalog_edit_any)
def desk_version(request, version_id: int):
    version = selectors.version_get_for_editor(actor=request.user, version_id=version_id)
    return _desk_version_page(request, version)


def _desk_version_page(request, version, *, status: int = 200, posted: dict | None = None,
                       reason_error: str = ""):
    """A version's desk page; after a refused withdrawal or restoration, with what
    was posted (``posted``: kind, reason) and the refusal of the reason at its field."""
    return render(request, "catalog/desk_version.html", {
        "v": version, "note_form": NoteForm(),
        # What the guide does not show and the version's cases go by.
        "process": selectors.version_process(version),
        "field_labels": FORM_FIELD_LABELS, "field_types": FORM_FIELD_TYPES,
        "versions": selectors.item_versions_for_editor(item=version.item),
        "may_review": permissions.item_version_publish(request.user, version=version),
        "may_edit": permissions.item_version_edit(request.user, version=version),
        "may_withdraw": permissions.item_withdraw(request.user, item=version.item),
        "posted": posted or {}, "reason_error": reason_error,
    }, status=status)


def _withdrawal_action(request, version, action: str):
    """Withdraw or restore the version's item; a refusal comes back on the page
    with what was typed, the reason's own refusal at its field."""
    reason = request.POST.get("reason", "")
    try:
        if action == "withdraw":
            item = services.item_withdraw(actor=request.user, item=version.item,
                                          kind=request.POST.get("kind", ""), reason=reason)
            messages.success(request, item.withdrawal_statement())
        else:
            services.item_restore(actor=request.user, item=version.item, reason=reason)
            messages.success(request, _("已恢复办理，事项重新在办事指南中公布。"))
    except NotFound:
        raise
    except ApplicationError as exc:
        reason_error = exc.render() if exc.fields.get("field") == "reason" else ""
        if not reason_error:
            messages.error(request, exc.render())
        posted = {"action": action, "kind": request.POST.get("kind", ""), "reason": reason}
        return _desk_version_page(request, version, status=exc.http_status, posted=posted,
                                  reason_error=reason_error)
    return redirect("catalog:desk_version", version_id=version.pk)


@require_POST
@staff_page(permissions.catalog_edit_any)
def desk_action(request, version_id: int, action: str):
    version = selectors.version_get_for_editor(actor=request.user, version_id=version_id)
    note = request.POST.get("note", "")
    # The version as the reviewer's page showed it (its hidden edited_at).
    seen = request.POST.get("edited_at")
    if action in ("withdraw", "restore"):
        return _withdrawal_action(request, version, action)
    with refusal_shown(request):
        if action == "submit":
            services.item_version_submit(actor=request.user, version=version)
            messages.success(request, _("已提交审核。"))
        elif action == "publish":
            services.item_version_publish(actor=request.user, version=version, note=note,
                                          seen_edited_at=seen)
            messages.success(request, _("已发布。"))
        elif action == "return":
            services.item_version_return(actor=request.user, version=version, note=note,
                                         seen_edited_at=seen)
            messages.success(request, _("已退回编辑人。"))
        elif action == "draft":
            version = services.item_version_draft(actor=request.user, item=version.item)
            if version.dropped_closed:
                messages.success(request, _(
                    "已新建版本草稿；已停用的机关“%(names)s”未复制，请在草稿中改定联办或"
                    "上级审批机关。") % {"names": listed(a.name for a in version.dropped_closed)})
            else:
                messages.success(request, _("已新建版本草稿。"))
        else:
            raise NotFound()
    return redirect("catalog:desk_version", version_id=version.pk)


@require_POST
@staff_page(permissions.catalog_edit_any)
def desk_import(request):
    form = ImportForm(request.POST, request.FILES)
    errors = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            records = transfer.read_upload(upload.name,
                                           upload.read(transfer.MAX_IMPORT_BYTES + 1))
            result = transfer.catalog_import(actor=request.user, records=records,
                                             source=upload.name)
        except ApplicationError as exc:
            messages.error(request, exc.render())
            errors = exc.fields.get("errors", [])
            # As the API answers it: a file too large is 413, not 400.
            status = exc.http_status
        else:
            messages.success(
                request,
                _("导入成功：新增 %(c)s 项，更新 %(d)s 项（均为草稿，待审核发布）。")
                % {"c": len(result.created), "d": len(result.drafted)},
            )
            if result.unchanged:
                messages.info(
                    request,
                    _("另有 %(u)s 项与现有版本相同，未改动。") % {"u": len(result.unchanged)})
            if result.suspended:
                messages.warning(
                    request,
                    _("以下事项正在暂停办理，其草稿须恢复办理后才能发布：%(codes)s")
                    % {"codes": listed(result.suspended)})
            return redirect("catalog:desk")
    else:
        status = 400
    return render(request, "catalog/desk.html", {
        "items": selectors.items_for_editor(actor=request.user),
        "import_form": form, "import_errors": errors,
    }, status=status)


@staff_page(permissions.catalog_edit_any)
def desk_export(request):
    versions = selectors.editor_versions_for_export(actor=request.user)
    try:
        body = transfer.export_excel(versions)
    except ApplicationError as exc:  # a text longer than a cell holds
        messages.error(request, exc.render())
        return redirect("catalog:desk")
    response = HttpResponse(
        body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="catalog-drafts.xlsx"'
    return response


