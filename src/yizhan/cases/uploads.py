"""Checking uploaded files: type by content, size, completeness.

The declared content type and the file name are not trusted: the first
bytes decide the type, and the file's structure shows whether it arrived
whole (a PDF ends with ``%%EOF``, a PNG with its IEND chunk, a JPEG's
segments lead to its EOI marker, a ZIP package ends with its
end-of-central-directory record, a compound file (.doc, .xls) holds every
sector its allocation table uses).
A ZIP package is an OFD document (GB/T 33190) when ``OFD.xml`` is at its
root, a Word or Excel file when it holds ``word/document.xml`` or
``xl/workbook.xml``; a compound file is a Word or Excel file when it holds
a ``WordDocument`` or ``Workbook`` stream.  Any other ZIP or compound file
(an archive of programs) is refused, and so is a document with macros,
or a PDF that runs code when it is opened (``_pdf_runs_code``).

Each use says which kinds it accepts: applicants' materials
(``CASE_MATERIALS``: PDF, images and OFD) and the catalog's blank forms
and samples (``CATALOG_FILES``: Word and Excel too).
"""

import dataclasses
import io
import re
import struct
import zipfile
from dataclasses import dataclass

import pypdf
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from yizhan.cases.error_codes import CasesErrorCode
from yizhan.core.crypto import sm3_hex
from yizhan.core.errors import InvalidInput
from yizhan.core.sizes import megabytes


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
    """One file's limit (``YIZHAN_MAX_UPLOAD_BYTES``; settings give its default)."""
    return int(settings.YIZHAN_MAX_UPLOAD_BYTES)


def max_megabytes() -> str:
    """The limit as the pages and messages state it, in MB ("10", "2.5")."""
    return megabytes(max_bytes())


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
        return _jpeg_whole(content)
    if sniffed == ZIP:
        return b"PK\x05\x06" in content[-65557:]
    if sniffed == COMPOUND:
        return compound is not None and compound[1]
    return False


# A JPEG marker that begins a segment with a length, or ends the image: 0xFF
# and a code other than 0x00 (a 0xFF byte of coded data), 0x01 (TEM) and
# 0xD0-0xD7 (RST), which stand alone, and 0xFF (fill bytes may precede a
# marker: the last 0xFF of a run is the marker's).  No repetition, so a
# search never goes back over what it has read.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\x01\xd0-\xd7\xff]")
_JPEG_EOI, _JPEG_SOI = 0xD9, 0xD8


def _jpeg_whole(content: bytes) -> bool:
    """Whether the JPEG's segments, from SOI through its scans, reach the EOI marker.

    Phones append data after the image's EOI (a motion photo's video, a
    Samsung trailer, a second picture), so the file need not end with it.
    Each segment is skipped by its length and a scan's coded data is
    searched once for the marker after it: the work grows with the file,
    once over.  The data ending first is a file cut short.
    """
    position = 2                                    # after SOI
    while (found := _JPEG_MARKER.search(content, position)) is not None:
        code = content[found.start() + 1]
        position = found.end()
        if code == _JPEG_EOI:
            return True
        if code == _JPEG_SOI:
            continue
        if position + 2 > len(content):
            return False
        # The length counts its own two bytes; what follows an SOS
        # segment is coded data, searched through by the next turn.
        position += int.from_bytes(content[position:position + 2], "big")
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


# --- PDFs that run code ---------------------------------------------------------
#
# Staff open applicants' PDFs in a desktop reader, which runs a document's
# JavaScript and may start a program (a Launch action).  A PDF is refused
# when it holds a Launch action anywhere a reader finds actions, or
# JavaScript that runs without anyone asking: on opening (the catalog's
# /OpenAction), on the document's events (the catalog's /AA: closing,
# saving, printing), as document-level scripts (the /Names /JavaScript
# tree), on a page's opening or closing (its /AA), or on a page's events in
# an annotation's /AA (/PO, /PC, /PV, /PI).  JavaScript that runs when the
# reader types in or clicks a form field (/K, /F, /V, /C, mouse and focus)
# is kept: an agency's own fillable forms compute their totals that way.

# Objects read in one PDF looking for actions: many times what an
# application's PDF holds (its pages, their annotations, the form's fields
# and the bookmarks), and few enough to read in about a second.
PDF_OBJECTS_LIMIT = 100_000
# Bytes of compressed object streams (PDF 1.5) decoded to read those
# objects, in all and for any one stream: a few megabytes of small
# dictionaries is a document of thousands of pages, and without a limit a
# file of 10 MB could make pypdf decode and parse gigabytes.
PDF_OBJECT_STREAMS_LIMIT = 5 * 1024 * 1024
# An annotation's events that do not wait for the reader to act on it.
_PAGE_EVENTS = frozenset({"/PO", "/PC", "/PV", "/PI"})
# A startxref that points nowhere: pypdf then rebuilds the cross-reference
# table from the objects, as a desktop reader does with a file that has
# none, so a script cannot hide behind a missing table.
_REBUILD_XREF = b"\nstartxref\n0\n%%EOF\n"


class _TooComplex(Exception):
    pass


_PYPDF_OUTPUT_LIMITS = ("zlib_maximum_output_length", "lzw_maximum_output_length",
                        "run_length_maximum_output_length", "brotli_maximum_output_length",
                        "array_based_stream_maximum_output_length")


def _pypdf_limits():
    """pypdf's own limits on a stream's decoded bytes, lowered for this reading
    (its defaults allow 75 MB a stream), for this reading only (a context
    variable: other readings keep theirs).  The floor of pypdf in
    pyproject.toml is the release that lets them be set so; a limit a later
    release drops is left out rather than refused."""
    known = {field.name for field in dataclasses.fields(pypdf.Configuration)}
    return pypdf.apply_configuration(**{name: PDF_OBJECT_STREAMS_LIMIT
                                        for name in _PYPDF_OUTPUT_LIMITS if name in known})


# pypdf's error for a limit it will not pass (a file made to exhaust it).
_LIMIT_REACHED = pypdf.errors.LimitReachedError


class _PdfActions:
    """One bounded reading of a PDF's actions (see above); pypdf reads the objects."""

    def __init__(self, reader):
        self.reader = reader
        self.left = PDF_OBJECTS_LIMIT
        self.streams: set[int] = set()
        self.decoded = 0

    def get(self, value):
        """``value`` with an indirect reference followed; None when it cannot be read.

        Each object read, and each element of an array looked through, counts
        against the limit: however many objects a file lists, and however
        they refer to each other, no more than ``PDF_OBJECTS_LIMIT`` are read.
        """
        if isinstance(value, IndirectObject):
            self.left -= 1
            if self.left < 0:
                raise _TooComplex
            try:
                found = value.get_object()
                stream = self._stream_size(value.idnum)
            except _LIMIT_REACHED:
                raise _TooComplex from None
            except Exception:  # a damaged object is skipped, as a reader does
                return None
            self.decoded += stream
            if self.decoded > PDF_OBJECT_STREAMS_LIMIT:
                raise _TooComplex
            return found
        return value

    def _stream_size(self, number: int) -> int:
        """The decoded bytes of the object stream holding object ``number``, the
        first time one of its objects is read (pypdf decodes a stream once)."""
        holder = getattr(self.reader, "xref_objStm", {}).get(number)
        if holder is None or holder[0] in self.streams:
            return 0
        self.streams.add(holder[0])
        return len(self.reader.get_object(holder[0]).get_data())

    def entry(self, holder, key):
        return self.get(holder.get(key)) if isinstance(holder, DictionaryObject) else None

    def items(self, value) -> list:
        """An array's elements (a single value stands for itself)."""
        value = self.get(value)
        if isinstance(value, ArrayObject):
            self.left -= len(value)
            if self.left < 0:
                raise _TooComplex
            return list(value)
        return [] if value is None else [value]

    def runs_code(self, action, *, unasked: bool) -> bool:
        """Whether ``action``, or one its /Next chain leads to, launches a program,
        or (``unasked``: run without the reader acting) runs JavaScript."""
        for step in self.each(action, lambda a: self.items(a.get("/Next"))):
            kind = self.get(step.get("/S"))
            if kind == "/Launch":
                return True
            if unasked and (kind == "/JavaScript" or "/JS" in step):
                return True
        return False

    def events_run_code(self, holder, *, unasked_events=None) -> bool:
        """Whether an additional-actions dictionary (/AA) runs code: a Launch on any
        event, JavaScript on ``unasked_events`` (every event when None)."""
        events = self.entry(holder, "/AA")
        if not isinstance(events, DictionaryObject):
            return False
        return any(self.runs_code(action, unasked=unasked_events is None
                                  or event in unasked_events)
                   for event, action in list(events.items()))

    def each(self, start, following):
        """Every dictionary reached from ``start`` by ``following`` (a node's next
        objects), each once: the trees and chains of a PDF may loop."""
        pending, seen = [start], set()
        while pending:
            node = self.get(pending.pop())
            if not isinstance(node, DictionaryObject) or id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            pending.extend(following(node))

    def name_tree_has_entries(self, node) -> bool:
        return any(self.items(entry.get("/Names"))
                   for entry in self.each(node, lambda n: self.items(n.get("/Kids"))))

    def widgets_run_code(self, holder) -> bool:
        """An annotation's or a form field's actions: Launch, or JavaScript on a page's events."""
        return (self.runs_code(holder.get("/A"), unasked=False)
                or self.events_run_code(holder, unasked_events=_PAGE_EVENTS))

    def tree_runs_code(self, top, children: str, check) -> bool:
        """``check`` on every node of a tree (pages, fields), each node once."""
        return any(check(node)
                   for node in self.each(top, lambda n: self.items(n.get(children))))

    def page_runs_code(self, page) -> bool:
        """A page's (or a page tree node's) events, and its annotations' actions."""
        if self.events_run_code(page):
            return True
        for annotation in self.items(page.get("/Annots")):
            annotation = self.get(annotation)
            if isinstance(annotation, DictionaryObject) and self.widgets_run_code(annotation):
                return True
        return False

    def outline_runs_code(self, outlines) -> bool:
        return any(self.runs_code(entry.get("/A"), unasked=False)
                   for entry in self.each(self.entry(outlines, "/First"),
                                          lambda e: [e.get("/Next"), e.get("/First")]))

    def found(self) -> bool:
        root = self.get(self.reader.trailer.get("/Root"))
        if not isinstance(root, DictionaryObject):
            return False
        fields = self.entry(self.entry(root, "/AcroForm"), "/Fields")
        return (self.runs_code(root.get("/OpenAction"), unasked=True)
                or self.events_run_code(root)
                or self.name_tree_has_entries(self.entry(self.entry(root, "/Names"),
                                                         "/JavaScript"))
                or self.tree_runs_code(root.get("/Pages"), "/Kids", self.page_runs_code)
                or any(self.tree_runs_code(field, "/Kids", self.widgets_run_code)
                       for field in self.items(fields))
                or self.outline_runs_code(self.entry(root, "/Outlines")))


def _pdf_reader(content: bytes):
    """A pypdf reader of ``content``, or None when pypdf cannot read it."""
    for data in (content, content + _REBUILD_XREF):
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                # Readers open a file with only an owner password (restrictions
                # on printing, copying) without asking: so does this.
                reader.decrypt("")
            if reader.trailer.get("/Root") is not None:
                return reader
        except _LIMIT_REACHED:
            raise
        except Exception:  # noqa: S112 - pypdf raises many kinds on a damaged file
            continue
    return None


def _pdf_runs_code(content: bytes) -> bool | None:
    """Whether a PDF runs code when opened (see above): True, False, or None when
    it holds more than is read (``PDF_OBJECTS_LIMIT``, ``PDF_OBJECT_STREAMS_LIMIT``).

    A file pypdf cannot read is not refused for that alone: it was checked
    as a PDF already (its header, its %%EOF), as every PDF was before.
    """
    try:
        with _pypdf_limits():
            reader = _pdf_reader(content)
            return reader is not None and _PdfActions(reader).found()
    except (_TooComplex, _LIMIT_REACHED):
        return None
    except Exception:  # pypdf's errors on a damaged file (RecursionError too)
        return False


def _refused(accepted: Accepted, name: str, sniffed=None) -> InvalidInput:
    if sniffed == ZIP and OFD in accepted.kinds and not accepted.kinds & {DOCX, XLSX}:
        # Materials take OFD as their only package: say what the ZIP is not.
        return InvalidInput(
            _("文件“%(name)s”不是 OFD 文档：请上传 PDF、JPG、PNG 或 OFD 文件。"),
            code=CasesErrorCode.UPLOAD_TYPE, http_status=415, name=name)
    return InvalidInput(accepted.refusal, code=CasesErrorCode.UPLOAD_TYPE, http_status=415,
                        name=name)


def _too_big(upload, limit: int) -> InvalidInput:
    return InvalidInput(_("文件“%(name)s”过大：上限 %(mb)s MB。"),
                        code=CasesErrorCode.UPLOAD_TOO_BIG, http_status=413,
                        name=upload.name, mb=megabytes(limit))


def _read_within_limit(upload) -> bytes:
    """The bytes of ``upload``: refused when too large or empty."""
    limit = max_bytes()
    if upload.size is not None and upload.size > limit:
        raise _too_big(upload, limit)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise _too_big(upload, limit)
    if not content:
        # Before the type, which an empty file has none of: "PDF is not
        # accepted" to someone who chose 申请书.pdf would send them looking
        # for another format.
        raise InvalidInput(_("文件“%(name)s”是空文件，请重新选择。"), name=upload.name)
    return content


def read_to_compare(upload, accepted: Accepted) -> bytes:
    """The bytes of a file that is only hashed and compared, or a refusal.

    Within the size limit, not empty, and of an accepted kind by its first
    bytes; not what ``check_upload`` also asks of a file that is kept and
    opened by staff (whole, running no script, no macros), which guards
    the people who open it.  A file only compared is never opened.
    """
    content = _read_within_limit(upload)
    if _sniff(content[:16]) not in accepted.kinds:
        raise _refused(accepted, upload.name)
    return content


def check_upload(upload, accepted: Accepted = CASE_MATERIALS) -> CheckedUpload:
    """Read and check an uploaded file; raise a clear error, or return its bytes.

    ``accepted`` says which kinds this use takes (an applicant's material
    unless told otherwise); the size limit is ``YIZHAN_MAX_UPLOAD_BYTES``.
    """
    content = _read_within_limit(upload)
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
    if kind is PDF:
        runs_code = _pdf_runs_code(content)
        if runs_code:
            raise InvalidInput(_("文件“%(name)s”含有打开时自动运行的脚本或启动程序的动作，"
                                 "请另存为普通 PDF 后上传。"),
                               code=CasesErrorCode.UPLOAD_TYPE, http_status=415,
                               name=upload.name)
        if runs_code is None:
            raise InvalidInput(_("文件“%(name)s”的结构过于复杂，无法检查其中是否含有自动运行的"
                                 "脚本，请另存为普通 PDF 后上传。"),
                               code=CasesErrorCode.UPLOAD_TYPE, http_status=415,
                               name=upload.name)
    return CheckedUpload(content=content, kind=kind, digest=sm3_hex(content),
                         size=len(content))
