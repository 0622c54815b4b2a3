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


def _complete(sniffed: Kind | str, content: bytes, compound=None) -> bool:
    """Whether the file ends as its kind does; ``compound`` is a compound
    file's reading (``_compound``), read once for this and its kind."""
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
        return compound is not None and compound[1]
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


def _compound(content: bytes) -> tuple[dict[str, tuple[int, int]], bool, object] | None:
    """Read a compound file (MS-CFB): its storage and stream names, lower-cased,
    with each stream's first sector and size; whether every sector its
    allocation table uses is in ``content``; and a reader of a stream.
    None when the header is not a compound file's.

    Only the header, the allocation table and the directory are read, each
    sector at most once, and no chain is followed further than the file has
    sectors: a table that loops or repeats itself (a damaged file, or one
    made to make the reader work) ends the reading, it does not multiply it.
    """
    if len(content) < 512:
        return None
    major, byte_order, shift = struct.unpack_from("<HHH", content, 26)
    if byte_order != 0xFFFE or (major, shift) not in ((3, 9), (4, 12)):
        return None
    size = 1 << shift
    per_sector = size // 4
    fat_count, first_directory = struct.unpack_from("<II", content, 44)
    mini_cutoff, first_mini_fat, mini_fat_count = struct.unpack_from("<III", content, 56)
    first_difat, difat_count = struct.unpack_from("<II", content, 68)
    present = (len(content) - 1) // size          # sectors that start in the file
    # The allocation table needs no more sectors than it takes to list them all.
    fat_needed = min(fat_count, -(-present // per_sector) + 1)

    def sector(number: int) -> bytes:
        start = (number + 1) * size
        return content[start:start + size].ljust(size, b"\0")

    whole = True
    fat_sectors = [n for n in _words(content[76:512]) if n <= _LAST_REGULAR_SECTOR]
    number, seen = first_difat, set()
    for _step in range(min(difat_count, present)):
        if len(fat_sectors) >= fat_needed:
            break
        if number >= present or number in seen:
            whole = False
            break
        seen.add(number)
        words = _words(sector(number))
        fat_sectors.extend(n for n in words[:-1] if n <= _LAST_REGULAR_SECTOR)
        number = words[-1]
    fat: list[int] = []
    for number in fat_sectors[:fat_needed]:
        if number >= present or number in seen:
            whole = False
            break
        seen.add(number)
        fat.extend(_words(sector(number)))
    used = [n for n, entry in enumerate(fat) if entry != _FREE_SECTOR]
    if used and used[-1] >= present:
        whole = False

    def chain(first: int) -> list[int]:
        """The sectors of a chain from ``first``, ending at a loop or the file's end."""
        numbers, visited = [], set()
        number = first
        while number < min(len(fat), present) and number not in visited:
            visited.add(number)
            numbers.append(number)
            number = fat[number]
        return numbers

    streams: dict[str, tuple[int, int]] = {}
    root: tuple[int, int] | None = None
    for number in chain(first_directory):
        data = sector(number)
        for start in range(0, size, _DIRECTORY_ENTRY):
            entry = data[start:start + _DIRECTORY_ENTRY]
            length = int.from_bytes(entry[64:66], "little")
            if entry[66] in (1, 2, 5) and 2 <= length <= 64 and length % 2 == 0:
                name = entry[:length - 2].decode("utf-16-le", "replace").lower()
                first, stream_size = struct.unpack_from("<IQ", entry, 116)
                streams.setdefault(name, (first, stream_size))
                if entry[66] == 5 and root is None:
                    root = (first, stream_size)

    def read(name: str, limit: int) -> bytes:
        """Up to ``limit`` bytes of stream ``name`` (b"" when it cannot be read)."""
        first, stream_size = streams.get(name, (_FREE_SECTOR, 0))
        wanted = min(stream_size, limit)
        if stream_size >= mini_cutoff:
            return b"".join(sector(n) for n in chain(first)[:-(-wanted // size)])[:wanted]
        # A small stream lives in the mini stream, in 64-byte sectors.
        if root is None:
            return b""
        mini_fat = [word for n in chain(first_mini_fat)[:mini_fat_count]
                    for word in _words(sector(n))]
        container = b"".join(sector(n) for n in chain(root[0]))
        out, number, visited = [], first, set()
        while number < len(mini_fat) and number not in visited and len(out) * 64 < wanted:
            visited.add(number)
            out.append(container[number * 64:number * 64 + 64])
            number = mini_fat[number]
        return b"".join(out)[:wanted]

    return streams, whole, read


# Excel's BIFF records that say a workbook holds macros without a VBA project:
# a macro sheet (Excel 4.0, XLM) or a module sheet among its sheets, or a
# built-in name that runs one when the file opens or closes.
_BOF, _BOUNDSHEET, _NAME, _EOF = 0x0809, 0x0085, 0x0018, 0x000A
_MACRO_SHEETS = {1, 6}                  # dt: 1 macro sheet, 6 VB module
_AUTO_NAMES = {b"\x01", b"\x02"}        # Auto_Open, Auto_Close
# The workbook's globals come first and are small; more is never read.
_GLOBALS_LIMIT = 1024 * 1024


def _workbook_macros(workbook: bytes) -> bool:
    """Whether the globals of a BIFF workbook stream declare Excel 4.0 macros."""
    position, name_at = 0, 14
    while position + 4 <= len(workbook):
        kind, length = struct.unpack_from("<HH", workbook, position)
        data = workbook[position + 4:position + 4 + length]
        position += 4 + length
        if kind == _EOF:
            break
        if kind == _BOF and position == 4 + length and data[:2] == b"\x00\x06":
            name_at = 15     # BIFF8: a flags byte comes before a name's characters
        if kind == _BOUNDSHEET and len(data) >= 6 and data[5] in _MACRO_SHEETS:
            return True
        if (kind == _NAME and len(data) > name_at and data[0] & 0x20     # fBuiltin
                and data[name_at:name_at + data[3]] in _AUTO_NAMES):
            return True
    return False


def _compound_kind(read) -> Kind | str | None:
    """DOC or XLS by the streams a compound file holds (``read`` is its
    reading, ``_compound``); MACROS with a VBA project or Excel 4.0 macros;
    None for anything else."""
    if read is None:
        return None
    streams, _whole, stream = read
    names = set(streams)
    if names & {"macros", "_vba_project_cur", "vba"}:
        return MACROS
    if "worddocument" in names:
        return DOC
    if names & {"workbook", "book"}:
        book = "workbook" if "workbook" in names else "book"
        if _workbook_macros(stream(book, _GLOBALS_LIMIT)):
            return MACROS
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
    compound = _compound(content) if sniffed == COMPOUND else None
    if not _complete(sniffed, content, compound):
        raise InvalidInput(_("文件“%(name)s”不完整（可能上传中断），请重新上传。"),
                           code=CasesErrorCode.UPLOAD_TRUNCATED, name=upload.name)
    kind = sniffed
    if sniffed == ZIP:
        kind = _zip_kind(content)
    elif sniffed == COMPOUND:
        kind = _compound_kind(compound)
    if kind == MACROS and accepted.kinds & {DOC, DOCX, XLS, XLSX}:
        raise InvalidInput(_("文件“%(name)s”含有宏，不被接受：请另存为不含宏的 Word、Excel "
                             "文件或 PDF。"),
                           code=CasesErrorCode.UPLOAD_TYPE, http_status=415, name=upload.name)
    if kind not in accepted.kinds:
        raise _refused(accepted, upload.name, sniffed)
    return CheckedUpload(content=content, kind=kind, digest=sm3_hex(content),
                         size=len(content))
