"""Checking uploaded files: type by content, size, completeness.

The declared content type and the file name are not trusted: the first
bytes decide the type, and the last bytes show whether the file arrived
whole (a PDF ends with ``%%EOF``, a PNG with its IEND chunk, a JPEG with
the EOI marker, a ZIP package with its end-of-central-directory record, a
compound file (.doc, .xls) with every sector its allocation table uses).
A ZIP package is an OFD document (GB/T 33190) when ``OFD.xml`` is at its
root, a Word or Excel file when it holds ``word/document.xml`` or
``xl/workbook.xml``; a compound file is a Word or Excel file when it holds
a ``WordDocument`` or ``Workbook`` stream.  Any other ZIP or compound file
(an archive of programs) is refused, and so is a document with macros.

Each use says which kinds it accepts: applicants' materials
(``CASE_MATERIALS``: PDF, images and OFD) and the catalog's blank forms
and samples (``CATALOG_FILES``: Word and Excel too).
"""

import io
import struct
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yizhan.cases.error_codes import CasesErrorCode
from yizhan.core.crypto import sm3_hex
from yizhan.core.errors import InvalidInput

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Kind:
    content_type: str
    label: str
    extension: str


PDF = Kind("application/pdf", "PDF", ".pdf")
JPEG = Kind("image/jpeg", "JPEG", ".jpg")
PNG = Kind("image/png", "PNG", ".png")
OFD = Kind("application/ofd", "OFD", ".ofd")
DOC = Kind("application/msword", "DOC", ".doc")
DOCX = Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "DOCX", ".docx")
XLS = Kind("application/vnd.ms-excel", "XLS", ".xls")
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "XLSX", ".xlsx")
ALL_KINDS = (PDF, JPEG, PNG, OFD, DOC, DOCX, XLS, XLSX)


@dataclass(frozen=True)
class Accepted:
    """The kinds one use accepts, and how a file of another kind is refused."""

    kinds: frozenset[Kind]
    refusal: Promise     # names the kinds; %(name)s is the file's name


CASE_MATERIALS = Accepted(
    frozenset({PDF, JPEG, PNG, OFD}),
    _("文件“%(name)s”的类型不被接受：请上传 PDF、JPG、PNG 或 OFD 文件。"))
CATALOG_FILES = Accepted(
    frozenset({PDF, OFD, DOC, DOCX, XLS, XLSX, JPEG, PNG}),
    _("文件“%(name)s”的类型不被接受：请上传 PDF、OFD、Word、Excel、JPG 或 PNG 文件。"))


@dataclass(frozen=True)
class CheckedUpload:
    content: bytes
    kind: Kind
    digest: str
    size: int


def max_bytes() -> int:
    return int(getattr(settings, "YIZHAN_MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES))


# Containers, told apart by what they hold once the file is known to be whole.
ZIP = "zip"
COMPOUND = "compound"
CONTAINER_KINDS = {ZIP: (OFD, DOCX, XLSX), COMPOUND: (DOC, XLS)}
COMPOUND_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A Word or Excel file with macros (.docm, .xlsm, or a .doc/.xls with a VBA
# project): never passed on to those who download it.
MACROS = "macros"


def _sniff(head: bytes) -> Kind | str | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    if head.startswith(COMPOUND_MAGIC):
        return COMPOUND
    return None


def _complete(sniffed: Kind | str, content: bytes) -> bool:
    tail = content[-2048:]
    if sniffed is PDF:
        return b"%%EOF" in tail
    if sniffed is PNG:
        return tail.endswith(b"IEND\xaeB`\x82")
    if sniffed is JPEG:
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    if sniffed == ZIP:
        return b"PK\x05\x06" in content[-65557:]
    if sniffed == COMPOUND:
        read = _compound_names(content)
        return read is not None and read[1]
    return False


# Entries a package's directory may list; a real one has tens (an OFD) to
# a few hundred (a workbook with many sheets and pictures).
MAX_ZIP_ENTRIES = 10_000


def _zip_kind(content: bytes) -> Kind | str | None:
    """OFD, DOCX or XLSX by the names in the package (only the central directory is read)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError,
            NotImplementedError, RuntimeError, EOFError):
        return None
    if len(names) > MAX_ZIP_ENTRIES:
        return None
    present = set(names)
    if "OFD.xml" in present:
        return OFD
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return MACROS   # a .docm or .xlsm
    if "[Content_Types].xml" in present:
        if "word/document.xml" in present:
            return DOCX
        if "xl/workbook.xml" in present:
            return XLSX
    return None


_FREE_SECTOR = 0xFFFFFFFF
_LAST_REGULAR_SECTOR = 0xFFFFFFF9
_DIRECTORY_ENTRY = 128


def _words(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(data) // 4}I", data[:len(data) // 4 * 4])


def _compound_names(content: bytes) -> tuple[set[str], bool] | None:
    """The storage and stream names of a compound file (MS-CFB), lower-cased,
    and whether every sector its allocation table uses is in ``content``;
    None when the header is not a compound file's.

    Only the header, the allocation table and the directory are read, each
    sector at most once.
    """
    if len(content) < 512:
        return None
    major, byte_order, shift = struct.unpack_from("<HHH", content, 26)
    if byte_order != 0xFFFE or (major, shift) not in ((3, 9), (4, 12)):
        return None
    size = 1 << shift
    fat_count, first_directory = struct.unpack_from("<II", content, 44)
    first_difat, difat_count = struct.unpack_from("<II", content, 68)
    present = (len(content) - 1) // size          # sectors that start in the file

    def sector(number: int) -> bytes:
        start = (number + 1) * size
        return content[start:start + size].ljust(size, b"\0")

    whole = True
    fat_sectors = list(_words(content[76:512]))
    number = first_difat
    for _step in range(min(difat_count, present)):
        if number >= present:
            whole = False
            break
        words = _words(sector(number))
        fat_sectors.extend(words[:-1])
        number = words[-1]
    fat: list[int] = []
    for number in [n for n in fat_sectors if n <= _LAST_REGULAR_SECTOR][:fat_count]:
        if number >= present:
            whole = False
            break
        fat.extend(_words(sector(number)))
    used = [n for n, entry in enumerate(fat) if entry != _FREE_SECTOR]
    if used and used[-1] >= present:
        whole = False
    names: set[str] = set()
    number, visited = first_directory, set()
    while number < min(len(fat), present) and number not in visited:
        visited.add(number)
        data = sector(number)
        for start in range(0, size, _DIRECTORY_ENTRY):
            entry = data[start:start + _DIRECTORY_ENTRY]
            length = int.from_bytes(entry[64:66], "little")
            if entry[66] in (1, 2, 5) and 2 <= length <= 64 and length % 2 == 0:
                names.add(entry[:length - 2].decode("utf-16-le", "replace").lower())
        number = fat[number]
    return names, whole


def _compound_kind(content: bytes) -> Kind | str | None:
    """DOC or XLS by the streams the file holds (MACROS with a VBA project); None
    for anything else."""
    read = _compound_names(content)
    if read is None:
        return None
    names, _whole = read
    if names & {"macros", "_vba_project_cur", "vba"}:
        return MACROS
    if "worddocument" in names:
        return DOC
    if names & {"workbook", "book"}:
        return XLS
    return None


def _refused(accepted: Accepted, name: str, sniffed=None) -> InvalidInput:
    if sniffed == ZIP and OFD in accepted.kinds and not accepted.kinds & {DOCX, XLSX}:
        # Materials take OFD as their only package: say what the ZIP is not.
        return InvalidInput(
            _("文件“%(name)s”不是 OFD 文档：请上传 PDF、JPG、PNG 或 OFD 文件。"),
            code=CasesErrorCode.UPLOAD_TYPE, http_status=415, name=name)
    return InvalidInput(accepted.refusal, code=CasesErrorCode.UPLOAD_TYPE, http_status=415,
                        name=name)


def check_upload(upload, accepted: Accepted = CASE_MATERIALS) -> CheckedUpload:
    """Read and check an uploaded file; raise a clear error, or return its bytes.

    ``accepted`` says which kinds this use takes (an applicant's material
    unless told otherwise); the size limit is ``YIZHAN_MAX_UPLOAD_BYTES``.
    """
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
    sniffed = _sniff(content[:16])
    possible = CONTAINER_KINDS.get(sniffed, (sniffed,)) if sniffed else ()
    if not accepted.kinds.intersection(possible):
        raise _refused(accepted, upload.name)
    if not _complete(sniffed, content):
        raise InvalidInput(_("文件“%(name)s”不完整（可能上传中断），请重新上传。"),
                           code=CasesErrorCode.UPLOAD_TRUNCATED, name=upload.name)
    kind = sniffed
    if sniffed == ZIP:
        kind = _zip_kind(content)
    elif sniffed == COMPOUND:
        kind = _compound_kind(content)
    if kind == MACROS and accepted.kinds & {DOC, DOCX, XLS, XLSX}:
        raise InvalidInput(_("文件“%(name)s”含有宏，不被接受：请另存为不含宏的 Word、Excel "
                             "文件或 PDF。"),
                           code=CasesErrorCode.UPLOAD_TYPE, http_status=415, name=upload.name)
    if kind not in accepted.kinds:
        raise _refused(accepted, upload.name, sniffed)
    return CheckedUpload(content=content, kind=kind, digest=sm3_hex(content),
                         size=len(content))
