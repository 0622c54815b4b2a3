"""Stored files (materials, certificates, the catalog's forms) handed back as downloads."""

from pathlib import PurePath

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils.translation import gettext as _

from yizhan.cases.uploads import ALL_KINDS
from yizhan.core.errors import NotFound

# The extension a download gets for each checked type (``cases.uploads``).
EXTENSIONS = {kind.content_type: kind.extension for kind in ALL_KINDS}


def attachment(stored, name: str, content_type: str) -> FileResponse:
    """``stored.file`` as an attachment of the type its content was checked to be.

    Never the type the uploader's file name suggests: "申请书.html" holding
    a PDF is served as application/pdf and saved as 申请书.pdf, so no
    browser or desktop opens it as something else.  A file lost from the
    storage is a 404, not a server error.
    """
    try:
        handle = default_storage.open(stored.file.name, "rb")
    except OSError:
        raise NotFound() from None
    stem = PurePath(name).stem or _("材料")
    return FileResponse(handle, as_attachment=True, content_type=content_type,
                        filename=stem + EXTENSIONS.get(content_type, ""))
