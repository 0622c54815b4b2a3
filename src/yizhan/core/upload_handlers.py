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
reaches this handler's files and is within any such cap.

A file's name, too, is read here.  Django reads each part's headers as
UTF-8 and silently drops a header line that is not: a file whose name an
older Windows client sent in GBK (营业执照.pdf as the bytes of code page
936) would lose its Content-Disposition, and with it the file, which the
endpoint would then report missing.  Every multipart body is therefore
read through ``FileNamesAsUtf8``, which re-encodes such a line from
GB18030 (a superset of GBK) to UTF-8, and refuses the request (400,
``FileNameUndecodable``) when the line is neither.  The name then goes
through Django's cleaning and each service's, as any other.
"""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import (
    MAX_TOTAL_HEADER_SIZE,
    MultiPartParser,
    MultiPartParserError,
)
from django.utils.translation import gettext_lazy as _

from yizhan.core.error_codes import CoreErrorCode
from yizhan.core.errors import InvalidInput
from yizhan.core.sizes import megabytes


def max_received_bytes() -> int:
    return max(int(settings.YIZHAN_MAX_RECEIVED_FILE_BYTES),
               int(settings.YIZHAN_MAX_UPLOAD_BYTES))


def max_request_files_bytes() -> int:
    return int(settings.YIZHAN_MAX_REQUEST_FILES_BYTES)


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


class FileNameUndecodable(InvalidInput, MultiPartParserError):
    """A file's name is in neither UTF-8 nor GB18030; an error of both kinds,
    as ``RequestFilesTooLarge`` is."""

    code = CoreErrorCode.FILE_NAME_ENCODING
    message = _("文件名的编码无法识别，请改用 UTF-8 编码的文件名"
                "（或将文件重命名为只含字母和数字的名称）后重新上传。")


def _utf8_headers(headers: bytes) -> bytes:
    """One part's header lines, its Content-Disposition in UTF-8.

    UTF-8 first: a name in it is taken as sent.  Then GB18030, whose
    multi-byte characters take the whole line apart correctly even where
    a GBK trail byte is an ASCII one ("\\" is the second byte of some).
    """
    lines = headers.split(b"\r\n")
    for number, line in enumerate(lines):
        if not line.lstrip().lower().startswith(b"content-disposition"):
            continue
        try:
            line.decode("utf-8")
            continue
        except UnicodeDecodeError:
            pass
        try:
            lines[number] = line.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            if b"filename" in line.lower():
                raise FileNameUndecodable() from None
            # A field's line (no file): left for Django to drop, as before.
    return b"\r\n".join(lines)


class FileNamesAsUtf8:
    """A multipart body read through, each part's Content-Disposition header
    in UTF-8 (``_utf8_headers``); everything else as it was sent.

    It reads as Django's parser does: a part begins after each
    ``--boundary``, wherever that is found, and its headers end at the
    first blank line, within ``MAX_TOTAL_HEADER_SIZE`` (past that Django
    refuses the body).  No more than one read and one part's headers are
    held at a time.
    """

    def __init__(self, stream, boundary: bytes, chunk_size: int):
        self._pieces = self._transcoded(stream, b"--" + boundary, chunk_size)
        self._left = b""

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            read, self._left = self._left + b"".join(self._pieces), b""
            return read
        while not self._left:
            piece = next(self._pieces, None)
            if piece is None:
                return b""
            self._left = piece
        read, self._left = self._left[:size], self._left[size:]
        return read

    @staticmethod
    def _transcoded(stream, delimiter: bytes, chunk_size: int):
        pending = b""
        in_headers = False   # ``pending`` begins right after a delimiter
        ended = False
        while not ended:
            chunk = stream.read(chunk_size)
            ended = not chunk
            pending += chunk
            while True:
                if in_headers:
                    end = pending.find(b"\r\n\r\n")
                    if end < 0 and len(pending) <= MAX_TOTAL_HEADER_SIZE and not ended:
                        break   # the rest of the headers is still to come
                    in_headers = False
                    # Not a part's headers when no blank line comes before the
                    # next delimiter (the closing "--boundary--", a damaged body).
                    if 0 <= end <= MAX_TOTAL_HEADER_SIZE and delimiter not in pending[:end]:
                        yield _utf8_headers(pending[:end])
                        pending = pending[end:]
                found = pending.find(delimiter)
                if found < 0:
                    break
                found += len(delimiter)
                yield pending[:found]
                pending = pending[found:]
                in_headers = True
            if not in_headers and not ended:
                # A delimiter may begin in the last bytes read: kept for the next.
                keep = len(delimiter) - 1
                if len(pending) > keep:
                    yield pending[:len(pending) - keep]
                    pending = pending[len(pending) - keep:]
        if pending:
            yield pending


class _RawInputSeen:
    """A handler as the second reading of a body sees it: itself, but for the
    raw input, which it was given by the first reading (the real stream,
    whose size Django's memory handler measures)."""

    def __init__(self, handler):
        self._handler = handler

    def __getattr__(self, name):
        return getattr(self._handler, name)

    def handle_raw_input(self, *args, **kwargs):
        return None


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    # Django makes the handlers anew for each request; the limits are read
    # once for it.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._total_limit = max_request_files_bytes()
        self._total_room = self._total_limit
        self._file_room = max_received_bytes() + 1
        self._kept = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        """Parse the body as Django would, but read through ``FileNamesAsUtf8``.

        This is Django's hook for a handler to take the parsing over.  The
        handlers up to this one have been given the raw input already (the
        memory handler measured the real body with it): the parser of the
        converted body gets them without that step (``_RawInputSeen``), so
        that it is neither done twice nor done on the converted body.
        """
        handlers = list(getattr(self.request, "upload_handlers", None) or ())
        if not any(handler is self for handler in handlers):
            return None      # not parsing a request's body: nothing to take over
        seen = next(n for n, handler in enumerate(handlers) if handler is self) + 1
        parser = MultiPartParser(
            META, FileNamesAsUtf8(input_data, boundary, self.chunk_size),
            [_RawInputSeen(handler) for handler in handlers[:seen]] + handlers[seen:],
            encoding)
        try:
            return parser.parse()
        except Exception:
            self._discard()
            raise

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._room = self._file_room
        self._kept.append(self.file)

    def receive_data_chunk(self, raw_data, start):
        if self._room > 0:
            kept = raw_data[:self._room]
            if len(kept) > self._total_room:
                self._discard()
                raise RequestFilesTooLarge(mb=megabytes(self._total_limit))
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
