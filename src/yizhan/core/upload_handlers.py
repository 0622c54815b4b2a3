"""Receiving uploaded files without keeping more of them than any form accepts.

Django streams a file larger than ``FILE_UPLOAD_MAX_MEMORY_SIZE`` into a
temporary file whole, however large, before any view can look at its size:
a client sending gigabytes fills the disk.  The handler here keeps at most
``YIZHAN_MAX_RECEIVED_FILE_BYTES`` + 1 bytes of each file (the largest any
endpoint accepts: materials, catalog imports, certificates to verify),
drops the rest as it arrives, and reports the size that was sent, so that
the endpoint's own limit refuses the file with its usual message.

A request may carry many files (the apply page has an input for each of up
to 200 materials), so the per-file cap alone would still let one request
keep 200 times as much.  What one request's files keep in all is capped
too (``YIZHAN_MAX_REQUEST_FILES_BYTES``): past it, the request is refused
as a whole (413, ``RequestFilesTooLarge``) and what it had kept is
deleted at once.  A request small enough to be read into memory
(``FILE_UPLOAD_MAX_MEMORY_SIZE``, counted over the whole body) never
reaches this handler and is within any such cap.
"""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext_lazy as _

from yizhan.core.error_codes import CoreErrorCode
from yizhan.core.errors import InvalidInput

DEFAULT_MAX_REQUEST_FILES_BYTES = 200 * 1024 * 1024


def max_received_bytes() -> int:
    return max(int(settings.YIZHAN_MAX_RECEIVED_FILE_BYTES),
               int(getattr(settings, "YIZHAN_MAX_UPLOAD_BYTES", 0)))


def max_request_files_bytes() -> int:
    return int(getattr(settings, "YIZHAN_MAX_REQUEST_FILES_BYTES",
                       DEFAULT_MAX_REQUEST_FILES_BYTES))


class RequestFilesTooLarge(InvalidInput, MultiPartParserError):
    """The files of one request are more than it may keep in all.

    An application error (the API answers it in its error shape) and a
    parse error of the body, so that Django marks the body unreadable
    rather than reading it again, and a page answers it as a bad request.
    """

    code = CoreErrorCode.BODY_TOO_LARGE
    message = _("一次提交的文件合计超过 %(mb)s MB，请分批上传：可先保存草稿，"
                "再在草稿页面上传其余材料。")
    http_status = 413


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    # Django makes the handlers anew for each request.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._total_room = max_request_files_bytes()
        self._kept = []

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._room = max_received_bytes() + 1
        self._kept.append(self.file)

    def receive_data_chunk(self, raw_data, start):
        if self._room > 0:
            kept = raw_data[:self._room]
            if len(kept) > self._total_room:
                self._discard()
                limit = max_request_files_bytes()
                raise RequestFilesTooLarge(mb=f"{round(limit / (1024 * 1024), 1):g}")
            self.file.write(kept)
            self._room -= len(kept)
            self._total_room -= len(kept)
        # The rest is read from the request and dropped.
        return None

    def _discard(self) -> None:
        """Close, and so delete, the temporary files this request kept."""
        for file in self._kept:
            file.close()
        self._kept = []
