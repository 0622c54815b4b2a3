"""The catalog desk's item form: a new item, and a draft edited (staff pages).

Saving calls ``services.item_create`` or ``services.item_version_edit``
and nothing else writes.  A refusal shows the form again with everything
that was posted, each problem at its field.  The form carries the
draft's ``edited_at`` (``base_edited_at``), so that a save read before a
colleague's edit is refused rather than silently undoing it, and a key,
so that the same form sent twice (a double click, a retry) saves once.
"""

import uuid

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods

from yizhan.catalog import desk_forms, permissions, selectors, services
from yizhan.catalog.content import VersionDataError
from yizhan.catalog.models import ItemVersion
from yizhan.core.errors import ApplicationError, NotFound
from yizhan.core.ids import parse_id
from yizhan.directory.models import Agency
from yizhan.directory.pages import staff_page
from yizhan.portal.views import kept_form

# The forms saved in this session, by key: the version each made (a second
# send of the same form shows it rather than saving again).
SAVED = "catalog_desk_saved"
SAVED_KEPT = 50


def _agency_label(agency: Agency) -> str:
    return (f"{agency.name}{pgettext('open bracket', '（')}{agency.division.name}"
            f"{pgettext('close bracket', '）')}")


def _agency_choices(entry: desk_forms.Entry):
    """The agencies a version may name as joint or upper agency: the open ones,
    and any the form names already (a closed one is then reported by the check)."""
    named = {parse_id(row["agency"]) for row in entry.rows["joint_agencies"]}
    named.add(parse_id(entry.values.get("upper_agency")))
    named.discard(None)
    agencies = (Agency.objects.filter(Q(is_active=True) | Q(pk__in=named))
                .select_related("division").order_by("division__code", "name"))
    return [(a.pk, _agency_label(a)) for a in agencies]


def _render(request, entry: desk_forms.Entry, *, version=None, agencies=None, key=None,
            base=None, status=200):
    # A new item's agency is chosen; a draft's is its item's.
    agency_options = [(a.pk, _agency_label(a)) for a in agencies] if version is None else None
    return render(request, "catalog/desk_edit.html", {
        "v": version, "entry": entry, "key": key or uuid.uuid4().hex,
        "base_edited_at": base if base is not None else (
            version.edited_at.isoformat() if version else ""),
        "sections": desk_forms.sections(entry, agencies=agency_options,
                                        agency_choices=_agency_choices(entry)),
        # The display toggles send this form along (portal/base.html).
        "display_form": "item-form",
    }, status=status)


def _saved(request, key: str) -> int | None:
    return request.session.get(SAVED, {}).get(key) if key else None


def _remember(request, key: str, version: ItemVersion) -> None:
    saved = dict(request.session.get(SAVED, {}))
    saved[key] = version.pk
    request.session[SAVED] = dict(list(saved.items())[-SAVED_KEPT:])


def _refused(entry: desk_forms.Entry, exc: ApplicationError) -> None:
    """A refusal of the service, at its field where it names one the page has."""
    if isinstance(exc, VersionDataError):
        desk_forms.place_problems(entry, exc.fields.get("problems", []))
        return
    name = desk_forms.input_for(str(exc.fields.get("field", "")))
    if name:
        entry.add_error(name, exc.render())
    else:
        entry.general.append(exc.render())


def _posted(request, *, version=None, agencies=None):
    """A form posted: another row, or a save."""
    entry = desk_forms.entry_from_post(request.POST, request.FILES)
    key = request.POST.get("key", "")[:64] or uuid.uuid4().hex
    base = request.POST.get("base_edited_at", "")[:64]
    page = {"version": version, "agencies": agencies, "key": key, "base": base}
    if request.POST.get("add_row"):
        entry.add_row(request.POST["add_row"])
        return _render(request, entry, **page)
    if (done := _saved(request, key)) is not None:
        return redirect("catalog:desk_version", version_id=done)
    if entry.invalid:  # a BPMN file that is no text
        return _render(request, entry, status=400, **page)
    data = desk_forms.version_data(entry)
    try:
        if version is None:
            chosen = parse_id(entry.values.get("agency"))
            agency = next((a for a in agencies if a.pk == chosen), None)
            if agency is None:
                if chosen and Agency.objects.filter(pk=chosen).exists():
                    raise NotFound()  # an agency the person does not edit
                entry.add_error("agency", _("请选择实施机关"))
                return _render(request, entry, status=400, **page)
            # A code given (an item list's, 已赋码) is checked by the service and
            # taken; left blank, one is generated.
            saved = services.item_create(actor=request.user, agency=agency, data=data,
                                         impl_code=entry.values["impl_code"].strip() or None)
        else:
            # Refused when the draft was changed since the form was read.
            data["base_edited_at"] = base
            saved = services.item_version_edit(actor=request.user, version=version, data=data)
    except NotFound:
        raise
    except ApplicationError as exc:
        _refused(entry, exc)
        return _render(request, entry, status=exc.http_status, **page)
    _remember(request, key, saved)
    messages.success(request, _("已保存。"))
    return redirect("catalog:desk_version", version_id=saved.pk)


@require_http_methods(["GET", "POST"])
@staff_page(permissions.catalog_edit_any)
def item_new(request):
    """新建事项: the content of a new item, for one of the agencies the person edits."""
    agencies = selectors.agencies_for_new_item(actor=request.user)
    if request.method == "POST":
        return _posted(request, agencies=agencies)
    kept = kept_form(request)
    if kept is not None:  # back from a display or language switch
        return _render(request, desk_forms.entry_from_post(kept), agencies=agencies,
                       key=kept.get("key"))
    entry = desk_forms.blank_entry()
    if len(agencies) == 1:
        entry.values["agency"] = str(agencies[0].pk)
    return _render(request, entry, agencies=agencies)


@require_http_methods(["GET", "POST"])
@staff_page(permissions.catalog_edit_any)
def version_edit(request, version_id: int):
    """编辑草稿: the content of a draft, its files kept as attached."""
    version = selectors.version_get_for_editor(actor=request.user, version_id=version_id)
    if request.method == "POST":
        return _posted(request, version=version)
    if version.status != ItemVersion.Status.DRAFT:
        messages.error(request, _("只能修改草稿；已发布的事项请先新建版本。"))
        return redirect("catalog:desk_version", version_id=version.pk)
    kept = kept_form(request)
    if kept is not None:
        return _render(request, desk_forms.entry_from_post(kept), version=version,
                       key=kept.get("key"), base=kept.get("base_edited_at", ""))
    return _render(request, desk_forms.entry_of(version), version=version)
