"""Checking uploaded material files: type by content, size, completeness.

The declared content type and the file name are not trusted: the first
bytes decide the type, and the last bytes show whether the file arrived
whole (a PDF ends with ``%%EOF``, a PNG with its IEND chunk, a JPEG with
the EOI marker, an OFD/ZIP with its end-of-central-directory record).
An OFD document (GB/T 33190) is a ZIP package with ``OFD.xml`` at its
root: any other ZIP (a .docx, an archive of programs) is refused.
"""

import io
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from yizhan.cases.error_codes import CasesErrorCode
from yizhan.core.crypto import sm3_hex
from yizhan.core.errors import InvalidInput

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Kind:
    content_type: str
    label: str


PDF = Kind("application/pdf", "PDF")
JPEG = Kind("image/jpeg", "JPEG")
PNG = Kind("image/png", "PNG")
OFD = Kind("application/ofd", "OFD")


@dataclass(frozen=True)
class CheckedUpload:
    content: bytes
    kind: Kind
    digest: str
    size: int


def max_bytes() -> int:
    return int(getattr(settings, "YIZHAN_MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES))


def _kind(head: bytes) -> Kind | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04"):
        return OFD
    return None


def _complete(kind: Kind, content: bytes) -> bool:
    tail = content[-2048:]
    if kind is PDF:
        return b"%%EOF" in tail
    if kind is PNG:
        return tail.endswith(b"IEND\xaeB`\x82")
    if kind is JPEG:
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    if kind is OFD:
        return b"PK\x05\x06" in content[-65557:]
    return False


# Entries an OFD package's directory may list; a real one has tens.
MAX_OFD_ENTRIES = 10_000


def _is_ofd_package(content: bytes) -> bool:
    """A ZIP whose root holds OFD.xml (only the central directory is read)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError,
            NotImplementedError, RuntimeError, EOFError):
        return False
    return len(names) <= MAX_OFD_ENTRIES and "OFD.xml" in names


def check_upload(upload) -> CheckedUpload:
    """Read and check an uploaded file; raise a clear error, or return its bytes."""
    limit = max_bytes()
    if upload.size is not None and upload.size > limit:
        raise InvalidInput(_("文件“%(name)s”过大：上限 %(mb)s MB。"),
                           code=CasesErrorCode.UPLOAD_TOO_BIG, http_status=413,
                           name=upload.name, mb=limit // (1024 * 1024))
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise InvalidInput(_("文件“%(name)s”过大：上限 %(mb)s MB。"),
                           code=CasesErrorCode.UPLOAD_TOO_BIG, http_status=413,
                           name=upload.name, mb=limit // (1024 * 1024))
    kind = _kind(content[:16])
    if kind is None:
        raise InvalidInput(_("文件“%(name)s”的类型不被接受：请上传 PDF、JPG、PNG 或 OFD 文件。"),
                           code=CasesErrorCode.UPLOAD_TYPE, http_status=415, name=upload.name)
    if not _complete(kind, content):
        raise InvalidInput(_("文件“%(name)s”不完整（可能上传中断），请重新上传。"),
                           code=CasesErrorCode.UPLOAD_TRUNCATED, name=upload.name)
    if kind is OFD and not _is_ofd_package(content):
        raise InvalidInput(_("文件“%(name)s”不是 OFD 文档：请上传 PDF、JPG、PNG 或 OFD 文件。"),
                           code=CasesErrorCode.UPLOAD_TYPE, http_status=415, name=upload.name)
    return CheckedUpload(content=content, kind=kind, digest=sm3_hex(content),
                         size=len(content))
