"""Blank forms, samples and result samples: uploading on the desk, downloading.

A file is served by its sha256 and the name a version gives it, only while
such a version may be shown (``selectors.catalog_file_for``): the public
copy is cached long, since the content never changes under its address; a
draft's is not cached.  The address of a form a newer version replaced leads
to the item's guide (``selectors.version_replacing_file``).
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from yizhan.cases.downloads import attachment
from yizhan.catalog import permissions, selectors, services
from yizhan.core.errors import InvalidInput, NotFound
from yizhan.directory.pages import refusal_shown, staff_page

# A year: the address is the content's digest and its name, so a cached copy is
# never stale.
PUBLIC_MAX_AGE = 365 * 24 * 3600


@require_safe
def download(request, sha256: str, name: str):
    """The file, or, at the address of a form a newer version of its item replaced,
    a page that says so and leads to the item's guide (404 all the same)."""
    try:
        reference, public = selectors.catalog_file_for(user=request.user, sha256=sha256,
                                                       name=name)
    except NotFound:
        current = selectors.version_replacing_file(sha256=sha256, name=name)
        if current is None:
            raise
        return render(request, "catalog/file_replaced.html", {"v": current}, status=404)
    record = reference.record
    etag = f'"{record.sha256}"'
    # A browser or proxy that holds the bytes asks again with If-None-Match:
    # a 304 without the file, once the file is known to be still shown.
    response = (get_conditional_response(request, etag=etag)
                or attachment(record, reference.name, record.content_type))
    response["ETag"] = etag
    if public:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE, immutable=True)
    else:
        patch_cache_control(response, private=True, no_store=True)
    return response


def _back(version_id: int):
    return redirect(reverse("catalog:desk_version", args=[version_id]) + "#files")


@require_POST
@staff_page(permissions.catalog_edit_any)
def desk_file_attach(request, version_id: int):
    version = selectors.version_get_for_editor(actor=request.user, version_id=version_id)
    with refusal_shown(request):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(gettext_lazy("请选择要上传的文件。"), field="file")
        services.item_file_attach(actor=request.user, version=version,
                                  kind=request.POST.get("kind", ""),
                                  material_order=request.POST.get("material"), upload=upload)
        messages.success(request, _("文件已上传。"))
    return _back(version.pk)


@require_POST
@staff_page(permissions.catalog_edit_any)
def desk_file_detach(request, version_id: int):
    version = selectors.version_get_for_editor(actor=request.user, version_id=version_id)
    with refusal_shown(request):
        services.item_file_detach(actor=request.user, version=version,
                                  kind=request.POST.get("kind", ""),
                                  material_order=request.POST.get("material"))
        messages.success(request, _("文件已移除。"))
    return _back(version.pk)
