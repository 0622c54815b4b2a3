"""Import and export of the catalog as JSON and Excel.

Both formats carry the same records: one per item, in the input shape of
``services.clean_version_data`` plus ``impl_code`` (optional for new items)
and ``agency`` (credit code, or a name borne by one agency only; exports
write the code where the agency has one, as for joint and upper agencies).
Excel spreads a record over three sheets — 事项, 申请材料, 收费项目 — joined
by the 事项键 column (the implementation code, or any label unique in the
file for new items).  A list in one cell is separated by 、 (or commas); an
item that holds one is written in double quotes (``split_list``).  Choice
columns are written as the Chinese words the import reads back.

An export also says which version each record was taken from
(``base_version``, ``base_edited_at``): a record whose item was edited
since is refused, so that an old file never silently undoes a colleague's
later edit.  A record equal to its item's latest version is not written
at all (``ImportResult.unchanged``): importing an export untouched changes
nothing, and does not make the importer an editor of anyone's draft.

Import checks every record first and reports each bad one with its sheet,
row and field (for Excel, the column as the sheet names it); only when all
are good does it write, in one transaction, so a catalog is never half
imported.  A record of a cancelled item is such a bad one; a suspended
item's record becomes its draft as for any item, and the result names it
(``ImportResult.suspended``): the draft is published only once the item is
restored.
"""

import datetime
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chartsheet import Chartsheet
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from yizhan.audit.services import audit_append
from yizhan.catalog import content, permissions, services
from yizhan.catalog.actions import CatalogAction
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import (
    SERVICE_OBJECTS,
    SPECIAL_PROCEDURES,
    THEMES,
    CaseType,
    ExerciseLevel,
    Item,
    ItemType,
    ItemVersion,
    Material,
    OnlineDepth,
    ProcessTemplate,
)
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.core.permissions import require
from yizhan.core.sizes import MiB, megabytes
from yizhan.core.spreadsheets import append_row
from yizhan.core.times import utc_text
from yizhan.directory.models import Agency

MAX_IMPORT_BYTES = 10 * MiB
# A workbook is a zip of XML parts that openpyxl parses whole: a part of
# millions of tiny elements (shared strings, blank rows) compresses a
# thousandfold, and 200 KB of it once took 77 s and 550 MB to read.  What
# the parts expand to is read from the archive's directory, before any is
# parsed (zipfile never expands a part beyond the size the directory gives
# it).  The 10 MB a file may hold expand to some 50–100 MB of real items;
# a sheet of 10,000 items whose texts all repeat compresses about 1:20.
MAX_EXPANDED_BYTES = 100 * MiB
MAX_COMPRESSION_RATIO = 100
# Small parts (styles, an empty sheet) are not held to the ratio: they are
# cheap to read, and a few repeated lines compress well.
RATIO_CHECKED_FROM = MiB
# Rows read from a workbook: items, and the materials or fees of all of them.
# Far above a real catalog's import, far below what keeps a request waiting.
MAX_IMPORT_ITEMS = 10_000
MAX_IMPORT_ROWS = 100_000
# Blank rows are not read as items, but they are read: a sheet goes on being
# read this many rows past its limit of non-blank ones, and no further, so
# that millions of blank rows (or one cell at row 1,000,000) cannot keep a
# request busy for minutes.
MAX_BLANK_ROWS = 10_000

# Excel columns: (header, key). Choice columns accept the code or the label.
ITEM_COLUMNS = [
    ("事项键", "key"), ("实施编码", "impl_code"), ("实施机关", "agency"),
    ("事项名称", "name"), ("基本编码", "basic_code"), ("事项类型", "item_type"),
    ("行使层级", "exercise_level"), ("设定依据", "legal_basis"),
    ("联办机关", "joint_agencies"), ("上级审批机关", "upper_agency"),
    ("服务对象", "service_objects"), ("受理条件", "acceptance_conditions"),
    ("办理流程", "process_description"), ("法定时限", "statutory_limit"),
    ("承诺时限", "promised_limit"), ("时限说明", "limit_notes"), ("办件类型", "case_type"),
    ("结果名称", "result_name"), ("结果类型", "result_type"), ("结果样本", "result_sample"),
    ("结果样本文件", "result_sample_file"), ("结果样本文件名", "result_sample_file_name"),
    ("到现场次数", "visits_required"), ("网上办理深度", "online_depth"),
    ("办理地点", "handling_place"), ("办理时间", "handling_hours"),
    ("咨询方式", "consultation"), ("投诉方式", "complaint"),
    ("特别程序", "special_procedures"), ("主题", "themes"), ("流程", "process_template"),
    ("自定义流程（BPMN）", "process_xml"), ("申请表字段", "form_fields"),
    # The version the row was exported from: an item edited since is refused.
    ("导出时版本号", "base_version"), ("导出时修改时间", "base_edited_at"),
]
# Columns a file may lack: a file written before exports had them, or by
# hand, is read without the check they make.  Any other column missing
# would empty that content of every item, and is refused.
OPTIONAL_HEADERS = {"导出时版本号", "导出时修改时间"}
MATERIAL_COLUMNS = [
    ("事项键", "key"), ("材料名称", "name"), ("材料形式", "forms"), ("必要性", "necessity"),
    ("适用情形", "condition"), ("份数", "copies"), ("来源渠道", "source"),
    ("空白表格", "blank_form"), ("示例样表", "sample"), ("受理标准", "acceptance_standard"),
    ("依据", "basis"),
    # The SHA-256 of a file uploaded on this installation (files are not exported),
    # and the name the material gives it.
    ("空白表格文件", "blank_form_file"), ("空白表格文件名", "blank_form_file_name"),
    ("示例样表文件", "sample_file"), ("示例样表文件名", "sample_file_name"),
]
FEE_COLUMNS = [
    ("事项键", "key"), ("收费项目", "name"), ("收费标准", "standard"), ("金额上限", "amount"),
    ("收费依据", "basis"), ("可减免", "waivable"), ("减免依据", "waiver_basis"),
]
LIST_KEYS = {"service_objects", "special_procedures", "themes", "forms"}
# Also a list, but its text is split when the import checks it, where the
# agencies can be looked up (_agency_list): a unit's name may hold a 、.
AGENCY_LIST_KEYS = {"joint_agencies"}
LIST_SEPARATORS = "、，,"
SHEETS = ("事项", "申请材料", "收费项目")


def _label_map(choices) -> dict[str, str]:
    return {str(label): value for value, label in choices}


CHOICE_LABELS = {
    "item_type": _label_map(ItemType.choices),
    "exercise_level": _label_map(ExerciseLevel.choices),
    "case_type": _label_map(CaseType.choices),
    "process_template": _label_map(ProcessTemplate.choices),
    "necessity": _label_map(Material.Necessity.choices),
    "source": _label_map(Material.Source.choices),
    "service_objects": {str(v): k for k, v in SERVICE_OBJECTS.items()},
    "special_procedures": {str(v): k for k, v in SPECIAL_PROCEDURES.items()},
    "themes": {str(v): k for k, v in THEMES.items()},
    "forms": {str(v): k for k, v in Material.FORMS.items()},
}
# Kept apart from CHOICE_LABELS: a number stays a number ("4" and 4 both work).
ONLINE_DEPTH_LABELS = _label_map(OnlineDepth.choices)
# What an Excel export writes in a choice column: the words the import reads.
CHOICE_WORDS = {key: {value: label for label, value in labels.items()}
                for key, labels in {**CHOICE_LABELS, "online_depth": ONLINE_DEPTH_LABELS}.items()}
# The column of each key, by sheet, as an Excel file's errors name it.
HEADERS = {
    SHEETS[0]: {**{key: header for header, key in ITEM_COLUMNS},
                "materials": SHEETS[1], "fees": SHEETS[2]},
    SHEETS[1]: {key: header for header, key in MATERIAL_COLUMNS},
    SHEETS[2]: {key: header for header, key in FEE_COLUMNS},
}


class ImportFailed(InvalidInput):
    """Some records are bad; ``fields['errors']`` lists sheet, row, field, problem."""

    code = CatalogErrorCode.IMPORT_FAILED
    message = _("导入未执行：%(count)s 处错误，请修改后重新导入。")


@dataclass
class Record:
    sheet: str
    row: int
    data: dict
    materials_rows: list[int] = field(default_factory=list)
    fees_rows: list[int] = field(default_factory=list)


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    drafted: list[str] = field(default_factory=list)
    # Of ``drafted``, the items suspended (暂停办理): their drafts wait for the
    # restoration to be published.
    suspended: list[str] = field(default_factory=list)
    # Records equal to their item's latest version (or, without a code, to an
    # item of the agency): nothing written.
    unchanged: list[str] = field(default_factory=list)


# --- reading -----------------------------------------------------------------

def split_list(text: str) -> tuple[list[str], bool]:
    """The items of a list cell, and whether any of them was quoted.

    Items are separated by 、, ， or ","; an item starting with a double
    quote runs to the closing one, separators included, ``""`` inside
    standing for one quote (as in CSV): ``"发改局、粮食局办公室"、乙局`` is two
    items.  Read in one pass, whatever the cell holds.
    """
    items, item, quoted = [], [], False
    in_quotes = started = False
    index = 0
    while index < len(text):
        char = text[index]
        if in_quotes:
            if char != '"':
                item.append(char)
            elif text.startswith('"', index + 1):
                item.append('"')
                index += 1
            else:
                in_quotes = False
        elif char in LIST_SEPARATORS:
            items.append("".join(item))
            item, started = [], False
        elif char == '"' and not started:
            item, in_quotes, quoted, started = [], True, True, True
        else:
            item.append(char)
            started = started or not char.isspace()
        index += 1
    items.append("".join(item))
    return [p.strip() for p in items if p.strip()], quoted


def list_cell(items) -> str:
    """A list as one cell, read back item for item by ``split_list``."""
    def one(item: str) -> str:
        if item != item.strip() or any(c in item for c in LIST_SEPARATORS + '"'):
            return '"' + item.replace('"', '""') + '"'
        return item
    return "、".join(one(str(item)) for item in items)


def _names_agency(ref: str) -> bool:
    try:
        return content.find_agency(ref) is not None
    except content.AmbiguousAgency:
        return True  # it names agencies; which one, the check asks


def _agency_list(text: str) -> list[str]:
    """The agencies a list cell names: split, unless the cell is one unit's name.

    Exports quote a name holding a separator; a person typing the cell, or
    an export of an earlier version, may not have.  An unquoted cell that
    names an agency as a whole is that one agency unless its parts all
    name agencies too (then the separators separate, as documented).
    """
    items, quoted = split_list(text)
    if quoted or len(items) < 2 or not _names_agency(text.strip()):
        return items
    if all(_names_agency(item) for item in items):
        return items
    return [text.strip()]


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


def _normalise(key: str, value):
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if key in LIST_KEYS:
        items = value if isinstance(value, list) else split_list(str(value))[0]
        labels = CHOICE_LABELS.get(key, {})
        return [labels.get(str(item).strip(), _stripped(item)) for item in items]
    if key in CHOICE_LABELS:
        # Read without surrounding spaces, as the other cells are: "行政许可 " is 行政许可.
        return CHOICE_LABELS[key].get(str(value).strip(), str(value).strip())
    if key == "online_depth" and isinstance(value, str):
        if value.strip() in ONLINE_DEPTH_LABELS:
            return ONLINE_DEPTH_LABELS[value.strip()]
        # The number a label starts with ("4 全程网办"), all of it: "12" is
        # not 1 but a depth the check refuses.
        leading = re.match(r"\s*(\d{1,4})(?!\d)", value)  # longer: left to the check
        if leading:
            return int(leading.group(1))
    # 可减免 (yes/no words) is read by the content check, which reports a word
    # it does not know instead of taking it for "no".
    return value


class _NumberTooLong(Exception):
    pass


def _json_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        # More digits than Python converts (sys.get_int_max_str_digits, 4,300):
        # no count, code or amount is such a number.
        raise _NumberTooLong from None


class _JsonObject(dict):
    """A JSON object as parsed: ``repeated`` names each key it held more than once.

    The standard parser keeps the last of such values silently; the program
    or person who wrote the file may well have meant the first.
    """

    repeated: tuple = ()

    @classmethod
    def parsed(cls, pairs) -> dict:
        value = cls(pairs)
        if len(value) < len(pairs):
            seen: set = set()
            value.repeated = tuple(key for key, _v in pairs if key in seen or seen.add(key))
        return value


def _repeated_keys(value) -> list[str]:
    """The keys repeated in any object of ``value``, however deep (without recursion:
    a JSON file nests as deep as its parser allows)."""
    found, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            found.extend(getattr(item, "repeated", ()))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def _json_text(raw: bytes) -> str:
    """The file as text: UTF-8, or UTF-16 or UTF-32 (Windows Notepad's "Unicode" is
    UTF-16 with a byte order mark), told apart as JSON's own reader does."""
    try:
        return raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError:
        raise InvalidInput(_("文件不是有效的 JSON：文件不是 UTF-8 编码的文本（也可以是带 BOM 的 "
                             "UTF-16 或 UTF-32），请以 UTF-8 编码另存后重新导入。")) from None


def read_json(raw: bytes) -> list[Record]:
    repeated = []

    def parsed_object(pairs):
        value = _JsonObject.parsed(pairs)
        if value.repeated:
            repeated.append(value)
        return value

    try:
        data = json.loads(_json_text(raw), parse_int=_json_int,
                          object_pairs_hook=parsed_object)
    except json.JSONDecodeError as exc:
        raise InvalidInput(_("文件不是有效的 JSON：第 %(line)s 行第 %(column)s 列有语法错误。"),
                           line=exc.lineno, column=exc.colno) from None
    except _NumberTooLong:
        raise InvalidInput(_("文件不是有效的 JSON：数字过长（超过 %(digits)s 位）。"),
                           digits=sys.get_int_max_str_digits()) from None
    except RecursionError:
        # A few bytes of "[[[[" nest deeper than the parser's recursion limit.
        raise InvalidInput(_("文件不是有效的 JSON：嵌套层数过多。")) from None
    if isinstance(data, dict) and data.repeated:
        raise InvalidInput(_("文件不是有效的 JSON：键“%(key)s”重复出现，无法确定取哪一个值。"),
                           key=data.repeated[0][:50])
    entries = data.get("items") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InvalidInput(_("JSON 文件应为事项列表，或含 items 列表的对象。"))
    if len(entries) > MAX_IMPORT_ITEMS:
        raise InvalidInput(_("文件超过 %(limit)s 个事项，请分批导入。"), limit=MAX_IMPORT_ITEMS)
    records, errors = [], []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            entry = {"_bad": True}
        if repeated:  # walked only when some object of the file repeats a key
            errors.extend({"sheet": "JSON", "row": index, "field": key[:50],
                           "problem": gettext("键“%(key)s”重复出现，无法确定取哪一个值")
                           % {"key": key[:50]}}
                          for key in dict.fromkeys(_repeated_keys(entry)))
        records.append(Record("JSON", index, {k: (v if k in ("materials", "fees") else
                                                  _normalise(k, v)) for k, v in entry.items()}))
    if errors:
        raise ImportFailed(count=len(errors), errors=errors)
    return records


class _Formula:
    """A formula cell: its value is the one computed and saved with the file.

    The first reading sees formulas (``data_only=False``); the values saved
    with them are read in a second one, for workbooks that have any.  A
    formula left without one (the file was written by a program that never
    computed it) is refused, not read as a blank cell.
    """

    __slots__ = ("coordinate",)

    def __init__(self, coordinate: str):
        self.coordinate = coordinate


class _ExcelError:
    """A cell holding an Excel error value (#N/A, #REF!, #DIV/0!…), typed in or
    computed by a formula (a VLOOKUP that found nothing): refused, not read as
    the text "#N/A"."""

    __slots__ = ("coordinate", "value")

    def __init__(self, coordinate: str, value):
        self.coordinate = coordinate
        self.value = value


def _values(cells) -> list:
    return [_Formula(cell.coordinate) if cell.data_type == "f"
            else _ExcelError(cell.coordinate, cell.value) if cell.data_type == "e"
            else cell.value for cell in cells]


def _worksheet(workbook, title):
    """One sheet of a read-only workbook, read to its last row whatever it declares."""
    sheet = workbook[title]
    if isinstance(sheet, Chartsheet):
        # A chart that took the sheet's name has no cells to read.
        raise InvalidInput(_("文件不是有效的 Excel（.xlsx）工作簿：工作表“%(sheet)s”是图表，"
                             "不是数据表。"), sheet=title)
    # A read-only sheet reads the range its <dimension> declares, and WPS and
    # Apache POI (EasyExcel) write A1 there whatever the sheet holds: read so,
    # every row but the header would be dropped without a word.  The rows are
    # bounded here instead (_read_sheet).
    sheet.reset_dimensions()
    return sheet


def _read_sheet(workbook, title, limit):
    """The header and the non-blank rows (with their numbers) of one sheet, or None."""
    if title not in workbook.sheetnames:
        return None
    sheet = _worksheet(workbook, title)
    header = _values(next(sheet.iter_rows(max_row=1), None) or ())
    width = max((i + 1 for i, h in enumerate(header) if h is not None), default=0)
    rows = []
    if not width:
        return header[:width], rows
    last_row = 1 + limit + MAX_BLANK_ROWS
    # Bounded by the header's width: otherwise one far-away cell (XFD20000)
    # pads every row to 16,384 columns, minutes of work for a 5 KB file.
    for row_number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=width), start=2):
        if row_number > last_row:
            # Blank rows count here (each is read): a file of millions of them
            # is refused after a moment's reading, not read for minutes.
            raise InvalidInput(_("工作表“%(sheet)s”超过 %(rows)s 行（空行也计算在内），请删除"
                                 "多余的行或分批导入。"), sheet=title, rows=last_row)
        values = _values(cells)
        if values.count(None) + values.count("") == len(values):
            continue
        if len(rows) == limit:
            raise InvalidInput(_("工作表“%(sheet)s”超过 %(limit)s 行，请分批导入。"),
                               sheet=title, limit=limit)
        rows.append((row_number, values))
    return header[:width], rows


def _formula_rows(read) -> dict[int, list]:
    """The rows, by number, of one sheet's ``read`` that hold formulas."""
    if read is None:
        return {}
    header, rows = read
    return {row_number: values for row_number, values in [(1, header), *rows]
            if any(isinstance(v, _Formula) for v in values)}


def _computed_values(workbook, title, pending: dict[int, list]) -> None:
    """Put in place of the formulas of one sheet's rows the values saved with them."""
    width = max(len(values) for values in pending.values())
    for row_number, cached in enumerate(_worksheet(workbook, title).iter_rows(
            min_row=min(pending), max_row=max(pending), max_col=width), start=min(pending)):
        values = pending.get(row_number)
        for index, value in enumerate(values or ()):
            if not isinstance(value, _Formula) or index >= len(cached):
                continue
            if cached[index].data_type == "e":
                values[index] = _ExcelError(value.coordinate, cached[index].value)
            elif cached[index].value is not None:
                values[index] = cached[index].value


def _uncomputed(title, row, field, formula: _Formula) -> dict:
    return {"sheet": title, "row": row, "field": field,
            "problem": gettext("单元格 %(cell)s 是公式，但文件中没有它的计算结果（生成文件的"
                               "程序没有计算公式）：请在 Excel 中把它保存为值（复制后“粘贴为"
                               "数值”）后重新导入") % {"cell": formula.coordinate}}


def _error_value(title, row, field, error: _ExcelError) -> dict:
    return {"sheet": title, "row": row, "field": field,
            "problem": gettext("单元格 %(cell)s 的值是 Excel 错误 %(value)s（如公式没有找到数据）："
                               "请改正后重新导入") % {"cell": error.coordinate,
                                              "value": error.value}}


def _sheet_rows(read, title, columns, errors, *, whole: bool):
    """The rows of one sheet as entries keyed as records are, problems in ``errors``.

    ``whole``: the file has items to import, so this sheet must be there with
    every column (but the optional ones): one renamed, deleted or misspelt
    would be read as empty and silently clear that content of every item.
    """
    if read is None:
        if whole or title == SHEETS[0]:
            errors.append({"sheet": title, "row": 0, "field": "",
                           "problem": gettext("缺少工作表“%(sheet)s”") % {"sheet": title}})
        return []
    header, rows = read
    for h in header:
        if isinstance(h, _Formula):
            errors.append(_uncomputed(title, 1, "", h))
        elif isinstance(h, _ExcelError):
            errors.append(_error_value(title, 1, "", h))
    by_header = {str(h).strip(): i for i, h in enumerate(header)
                 if h is not None and not isinstance(h, (_Formula, _ExcelError))}
    known = {h for h, _k in columns}
    unknown = [h for h in by_header if h not in known]
    if unknown:
        errors.append({"sheet": title, "row": 1, "field": "",
                       "problem": gettext("未知的列：%(cols)s") % {"cols": "、".join(unknown)}})
    missing = [h for h, _k in columns if h not in by_header and h not in OPTIONAL_HEADERS]
    if whole and missing:
        errors.append({"sheet": title, "row": 1, "field": "",
                       "problem": gettext("缺少列：%(cols)s") % {"cols": "、".join(missing)}})
    result = []
    for row_number, values in rows:
        entry = {}
        for header_text, key in columns:
            index = by_header.get(header_text)
            if index is not None and index < len(values):
                if isinstance(values[index], _Formula):
                    errors.append(_uncomputed(title, row_number, header_text, values[index]))
                    continue
                if isinstance(values[index], _ExcelError):
                    errors.append(_error_value(title, row_number, header_text, values[index]))
                    continue
                entry[key] = _normalise(key, values[index])
        result.append((row_number, entry))
    return result


def _too_large(message, **fields) -> InvalidInput:
    return InvalidInput(message, http_status=413, **fields)


def _archive_checked(raw: bytes) -> None:
    """Refuse a workbook whose parts expand beyond what a catalog needs
    (``MAX_EXPANDED_BYTES``, ``MAX_COMPRESSION_RATIO``), before any is parsed."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        parts = archive.infolist()
    if sum(part.file_size for part in parts) > MAX_EXPANDED_BYTES:
        raise _too_large(_("工作簿解压后超过 %(mb)s MB，请分批导入。"),
                         mb=megabytes(MAX_EXPANDED_BYTES))
    if any(part.file_size > RATIO_CHECKED_FROM
           and part.file_size > MAX_COMPRESSION_RATIO * max(part.compress_size, 1)
           for part in parts):
        raise _too_large(_("工作簿的压缩比异常（解压后是压缩时的 %(ratio)s 倍以上），不像 Excel "
                           "或 WPS 保存的文件，不能导入；请用 Excel 或 WPS 另存后重新导入。"),
                         ratio=MAX_COMPRESSION_RATIO)


def read_excel(raw: bytes) -> list[Record]:
    errors: list[dict] = []
    try:
        _archive_checked(raw)
        # Formulas as formulas first: read as the values saved with them
        # (data_only), one never computed would be a blank cell.
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
        # A read-only workbook parses each sheet lazily, so a damaged sheet
        # shows only while its rows are read.
        read = [_read_sheet(workbook, title, limit)
                for title, limit in zip(SHEETS, (MAX_IMPORT_ITEMS, MAX_IMPORT_ROWS,
                                                 MAX_IMPORT_ROWS), strict=True)]
        workbook.close()
        formulas = [_formula_rows(sheet) for sheet in read]
        if any(formulas):
            computed = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
            for title, pending in zip(SHEETS, formulas, strict=True):
                if pending:
                    _computed_values(computed, title, pending)
            computed.close()
    except InvalidInput:
        raise
    except Exception as exc:
        # Only openpyxl and zipfile run in this block, and a damaged or unusual
        # file makes them fail with almost any exception (RuntimeError for an
        # encrypted entry, NotImplementedError for an unknown compression,
        # AttributeError for a chartsheet without drawings, the XML parsers'
        # SyntaxError…): every one is the file's fault, never a server error.
        raise InvalidInput(_("文件不是有效的 Excel（.xlsx）工作簿：%(detail)s"),
                           detail=str(exc) or type(exc).__name__) from None
    whole = bool(read[0] and read[0][1])  # items to import
    items = _sheet_rows(read[0], SHEETS[0], ITEM_COLUMNS, errors, whole=whole)
    materials = _sheet_rows(read[1], SHEETS[1], MATERIAL_COLUMNS, errors, whole=whole)
    fees = _sheet_rows(read[2], SHEETS[2], FEE_COLUMNS, errors, whole=whole)
    records: dict[str, Record] = {}
    for row_number, entry in items:
        key = str(entry.pop("key", None) or entry.get("impl_code") or entry.get("name") or "")
        if key in records:
            errors.append({"sheet": SHEETS[0], "row": row_number, "field": "事项键",
                           "problem": gettext("事项键“%(key)s”重复") % {"key": key}})
            continue
        entry["materials"], entry["fees"] = [], []
        records[key] = Record(SHEETS[0], row_number, entry)
    for sheet, rows, target in ((SHEETS[1], materials, "materials"),
                                (SHEETS[2], fees, "fees")):
        for row_number, entry in rows:
            key = str(entry.pop("key", None) or "")
            if key not in records:
                errors.append({"sheet": sheet, "row": row_number, "field": "事项键",
                               "problem": gettext("在“事项”表中找不到事项键“%(key)s”")
                               % {"key": key}})
                continue
            records[key].data[target].append(entry)
            getattr(records[key], f"{target}_rows").append(row_number)
    if errors:
        raise ImportFailed(count=len(errors), errors=errors)
    return list(records.values())


def read_upload(name: str, raw: bytes) -> list[Record]:
    if len(raw) > MAX_IMPORT_BYTES:
        raise _too_large(_("文件过大（上限 %(mb)s MB）。"), mb=megabytes(MAX_IMPORT_BYTES))
    lowered = (name or "").lower()
    if lowered.endswith(".json"):
        return read_json(raw)
    if lowered.endswith(".xlsx"):
        if not raw.startswith(b"PK"):
            raise InvalidInput(_("文件不是有效的 Excel（.xlsx）工作簿。"))
        return read_excel(raw)
    raise InvalidInput(_("只能导入 .xlsx 或 .json 文件。"), http_status=415)


# --- importing ---------------------------------------------------------------

_ROW_FIELD = re.compile(r"^(materials|fees)\[(\d+)\]\.?(.*)$")


def _where(record: Record, field_name: str) -> dict:
    """Sheet, row and field of a problem: in Excel, a material's or fee's own row,
    and the field as its column is headed (承诺时限, not promised_limit)."""
    sheet, row, key = record.sheet, record.row, field_name
    match = _ROW_FIELD.match(field_name)
    if match:
        target, index = match.group(1), int(match.group(2))
        rows = getattr(record, f"{target}_rows")
        if 0 < index <= len(rows):
            sheet = SHEETS[1] if target == "materials" else SHEETS[2]
            row, key = rows[index - 1], match.group(3)
    if sheet not in HEADERS:  # JSON: the keys are the file's own words
        return {"sheet": sheet, "row": row, "field": field_name}
    return {"sheet": sheet, "row": row, "field": HEADERS[sheet].get(key, key)}


def _error(record: Record, field_name: str, problem) -> dict:
    return {**_where(record, field_name), "problem": str(problem)}


def _choice_problem(record: Record, field_name: str) -> str | None:
    """For an Excel record, the problem with a choice cell in the words of the sheet:
    the labels it takes (原件、复印件、电子件), not the codes a JSON file uses."""
    if record.sheet not in HEADERS:
        return None
    holder, key, sheet = record.data, field_name, SHEETS[0]
    match = _ROW_FIELD.match(field_name)
    if match:
        rows = record.data.get(match.group(1)) or []
        index = int(match.group(2))
        if not 0 < index <= len(rows) or not isinstance(rows[index - 1], dict):
            return None
        holder, key = rows[index - 1], match.group(3)
        sheet = SHEETS[1] if match.group(1) == "materials" else SHEETS[2]
    if key not in CHOICE_LABELS:
        return None
    given = holder.get(key)
    allowed = set(CHOICE_LABELS[key].values())
    # A blank cell, a word with a character no field holds: the content check's words.
    wrong = [str(value) for value in (given if isinstance(given, list) else [given])
             if value not in (None, "") and str(value) not in allowed
             and not content.illegal_character(str(value))]
    if not wrong:
        return None
    return gettext("%(column)s“%(values)s”无效，只能是：%(choices)s") % {
        "column": HEADERS[sheet][key], "values": "、".join(v[:50] for v in wrong),
        "choices": "、".join(CHOICE_LABELS[key])}


def export_base(data: dict) -> tuple[int | None, datetime.datetime | None]:
    """The version a record was exported from, and its last edit; ValueError if the
    file holds something else there."""
    number, edited_at = data.get("base_version"), data.get("base_edited_at")
    if number is not None and number != "":
        if isinstance(number, bool) or not isinstance(number, (int, str)):
            raise ValueError
        number = int(str(number).strip())
    else:
        number = None
    if edited_at is not None and edited_at != "":
        edited_at = datetime.datetime.fromisoformat(str(edited_at).strip())
        if edited_at.tzinfo is None:
            raise ValueError
    else:
        edited_at = None
    return number, edited_at


def _check(actor, record: Record, errors: list[dict]):
    """Validate one record; return (agency, existing item, clean data) or None."""
    data = record.data
    if data.get("_bad"):
        errors.append(_error(record, "", gettext("应为对象")))
        return None
    for key in ("agency", "impl_code"):
        char = content.illegal_character(data.get(key) and str(data[key]))
        if char:
            # Not echoed: a page could not show it, the database not look it up.
            errors.append(_error(record, key, gettext(
                "含有不能保存的字符 %(char)s（控制字符或无效的 Unicode 字符）") % {"char": char}))
            return None
    try:
        agency = content.find_agency(data.get("agency") or "")
    except content.AmbiguousAgency as exc:
        errors.append(_error(record, "agency", exc.render()))
        return None
    if agency is None:
        errors.append(_error(record, "agency", gettext("找不到实施机关“%(a)s”")
                             % {"a": data.get("agency") or ""}))
        return None
    existing = None
    if data.get("impl_code"):
        existing = Item.objects.filter(impl_code=data["impl_code"]).first()
    if existing is not None and existing.internal:
        # The platform's own item (监察督办) has no editors and no next draft
        # (services.item_version_draft): its code is taken, as by any item.
        errors.append(_error(record, "impl_code", gettext("实施编码 %(impl_code)s 已存在。")
                             % {"impl_code": existing.impl_code}))
        return None
    if existing is not None and existing.agency_id != agency.pk:
        # Before who may write it: a code copied wrong is the row's problem, listed
        # with the file's others, not a refusal naming the row's agency, which
        # the importer may well maintain.
        errors.append(_error(record, "impl_code", gettext("实施编码属于另一个机关")))
        return None
    allowed = (permissions.item_version_draft(actor, item=existing) if existing
               else permissions.item_create(actor, agency=agency))
    if not allowed:
        raise PermissionDenied(_("您无权维护“%(agency)s”的事项（%(sheet)s 第 %(row)s 行）。"),
                               agency=agency.name, sheet=record.sheet, row=record.row)
    if existing is not None and existing.is_cancelled:
        # A cancelled item is out of service for good: a record for it (an
        # old export, another system's copy) never brings it back.
        errors.append(_error(record, "impl_code", gettext(
            "%(withdrawal)s取消是最终的：该事项不能再恢复、发布或新建版本；如需重新办理，请作为"
            "新事项录入。") % {"withdrawal": existing.withdrawal_statement()}))
        return None
    if existing is not None:
        try:
            export_base(data)
        except (TypeError, ValueError):
            errors.append(_error(record, "base_version",
                                 gettext("导出时的版本信息无效，请重新导出后再编辑")))
            return None
    for key in AGENCY_LIST_KEYS:
        if isinstance(data.get(key), str):
            data[key] = _agency_list(data[key])
    try:
        clean = content.clean_version_data(data, agency=agency,
                                           kept_upper=_kept_upper(existing))
    except content.VersionDataError as exc:
        for problem in exc.fields["problems"]:
            errors.append(_error(record, problem["field"],
                                 _choice_problem(record, problem["field"])
                                 or problem["problem"]))
        return None
    return agency, existing, clean


def _kept_upper(existing: Item | None) -> int | None:
    """The upper agency a record for ``existing`` may keep: its latest version's,
    which the draft the record becomes is written over or copied from
    (``services.item_version_edit``, ``item_version_draft``)."""
    if existing is None:
        return None
    return (existing.versions.order_by("-number")
            .values_list("upper_agency_id", flat=True).first())


@transaction.atomic
def catalog_import(*, actor, records: list[Record], source: str = "") -> ImportResult:
    """Import every record or none: new items as drafts, known ones as new drafts,
    records equal to their item's latest version not at all."""
    require(permissions.catalog_import(actor), action="catalog_import")
    errors: list[dict] = []
    checked = []
    first_with_code: dict[str, Record] = {}
    for record in records:
        if record.data.get("impl_code") and not record.data.get("_bad"):
            # As typed: a code copied with a space or in lower case is still the item's.
            record.data["impl_code"] = str(record.data["impl_code"]).strip().upper()
        checked.append((_check(actor, record, errors), record))
        code = record.data.get("impl_code")
        if code and first_with_code.setdefault(code, record) is not record:
            # Two records of one item would each become its next draft, the
            # second silently replacing the first: the editor chooses.
            errors.append(_error(record, "impl_code", gettext(
                "实施编码 %(impl_code)s 与第 %(row)s 行重复，一个事项在文件中只能出现一次")
                % {"impl_code": code, "row": first_with_code[code].row}))
    if errors:
        raise ImportFailed(count=len(errors), errors=errors)
    result = ImportResult()
    # The agencies written to, locked in one order before any of them: each new
    # item locks its agency (services.item_create), and two imports locking
    # two agencies in opposite orders would deadlock.  Two imports of the same
    # agencies thus run one after the other, and the second sees the first's
    # items (_same_new_item).
    list(Agency.objects.select_for_update(no_key=True)
         .filter(pk__in={checks[0].pk for checks, _record in checked})
         .order_by("pk").values_list("pk", flat=True))
    for (agency, existing, clean), record in checked:
        try:
            with transaction.atomic():  # a savepoint: one row's refusal, then the next row
                _write(actor, agency, existing, clean, record, result)
        except (InvalidInput, Conflict) as exc:
            # A problem only visible while writing (e.g. a code given in one
            # row that an earlier row's new item was just generated, an item
            # awaiting review, or one edited since the file was exported):
            # reported with its row, like the others; nothing is written.
            errors.append(_error(record, exc.fields.get("field", ""), exc.render()))
    if errors:
        raise ImportFailed(count=len(errors), errors=errors)
    audit_append(actor=actor, action=CatalogAction.CATALOG_IMPORTED, object_type="catalog",
                 object_id=source[:64] or "import", object_repr=source[:200] or "import",
                 changes={"created": result.created, "drafted": result.drafted,
                          "unchanged": result.unchanged})
    return result


def _comparable(clean: dict) -> dict:
    """Clean content as two versions are compared: the joint agencies are a set."""
    return {**clean, "joint_agencies": sorted(clean["joint_agencies"])}


def _same_content(version: ItemVersion, clean: dict, agency) -> bool:
    """Whether ``clean`` is what ``version`` holds, as a copy of it would be checked."""
    try:
        held = content.clean_version_data(content.version_as_data(version, copy=True),
                                          agency=agency, kept_upper=version.upper_agency_id)
    except content.VersionDataError:
        return False  # it names an agency closed since, say: not what a record may say
    return _comparable(held) == _comparable(clean)


def _same_new_item(agency, clean: dict) -> Item | None:
    """An item of ``agency`` whose latest version is ``clean``, for a record without a
    code: the same file imported twice (a retry, a double click) finds the items the
    first import made, rather than making each one again.  A cancelled item is no such
    item: an item offered again after a cancellation is entered as a new one."""
    later = ItemVersion.objects.filter(item=OuterRef("item"), number__gt=OuterRef("number"))
    candidates = (ItemVersion.objects.filter(
        item__agency=agency, item__internal=False, name=clean["name"],
        basic_code=clean["basic_code"], exercise_level=clean["exercise_level"])
        .exclude(item__withdrawn_kind=Item.Withdrawal.CANCELLED)
        .exclude(Exists(later))  # each item's latest version only, in the one query
        .select_related("item").order_by("item_id"))
    for version in candidates:
        if _same_content(version, clean, agency):
            return version.item
    return None


def _write(actor, agency, existing, clean, record: Record, result: ImportResult) -> None:
    """One checked record: a new item, or the next draft (or the open draft) of a
    known one; nothing when it holds what the item's latest version holds."""
    if existing is None:
        twin = None if record.data.get("impl_code") else _same_new_item(agency, clean)
        if twin is not None:
            result.unchanged.append(twin.impl_code)
            return
        version = services.item_create(actor=actor, agency=agency, data=record.data,
                                       impl_code=record.data.get("impl_code") or None)
        result.created.append(version.item.impl_code)
        return
    # Locked while it is compared and written: an edit of it (which locks it
    # too) waits, or is seen.
    latest = (ItemVersion.objects.select_for_update(of=("self",))
              .filter(item=existing).order_by("-number").first())
    if _same_content(latest, clean, agency):
        # Nothing to write: no new draft, no edit that would make the importer
        # one of the draft's editors (and keep them from reviewing it); an
        # item awaiting review is left to its review.
        result.unchanged.append(existing.impl_code)
        return
    number, edited_at = export_base(record.data)
    if (number is not None and number != latest.number) or (
            edited_at is not None and edited_at != latest.edited_at):
        raise Conflict(_("该事项在导出后已被修改，请重新导出后再编辑。"), field="base_version",
                       exported=number, latest=latest.number)
    if latest.status == ItemVersion.Status.DRAFT:
        services.item_version_edit(actor=actor, version=latest, data=record.data)
    else:
        # Published: its next draft.  Awaiting review: refused (DRAFT_EXISTS).
        services.item_version_draft(actor=actor, item=existing, data=record.data)
    result.drafted.append(existing.impl_code)
    if existing.is_suspended:
        # Imported like any item's next draft (preparing the restoration),
        # but not published while suspended (services.item_version_publish).
        result.suspended.append(existing.impl_code)


# --- exporting ---------------------------------------------------------------

def export_records(versions) -> list[dict]:
    records = []
    for version in versions:
        data = content.version_as_data(version)
        data["impl_code"] = version.item.impl_code
        data["agency"] = content.agency_reference(version.item.agency)
        data["base_version"] = version.number
        data["base_edited_at"] = utc_text(version.edited_at)
        records.append(data)
    return records


def export_json(versions) -> bytes:
    return json.dumps({"items": export_records(versions)}, ensure_ascii=False, indent=2,
                      default=str).encode()


# The most characters an Excel cell holds; a longer text would be cut by Excel.
EXCEL_CELL_LIMIT = 32_767
# Columns of codes: text cells (a credit code or a sha256 retyped into a
# General cell becomes 9.14499E+17), wide enough to show the code whole.
CODE_WIDTHS = {"key": 42, "impl_code": 42, "agency": 22, "basic_code": 13,
               "joint_agencies": 22, "upper_agency": 22, "base_edited_at": 28,
               "result_sample_file": 66, "blank_form_file": 66, "sample_file": 66}
# Columns of long text: wide, wrapped, read from the top.
LONG_TEXT = {"legal_basis", "acceptance_conditions", "process_description", "limit_notes",
             "handling_place", "handling_hours", "consultation", "complaint", "process_xml",
             "form_fields", "condition", "acceptance_standard", "basis", "standard",
             "waiver_basis"}
LONG_TEXT_WIDTH = 50
WRAPPED = Alignment(wrap_text=True, vertical="top")


def _cell(key: str, value, impl_code: str, header: str):
    words = CHOICE_WORDS.get(key)
    if words and isinstance(value, list):
        value = [words.get(item, item) for item in value]
    elif words:
        value = words.get(value, value)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list):
        value = list_cell(value)
    if isinstance(value, str):
        # Only content stored before such characters were refused holds them;
        # they are invisible, and openpyxl cannot write them at all.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if len(value) > EXCEL_CELL_LIMIT:
            raise InvalidInput(_("事项 %(impl_code)s 的“%(column)s”超过 Excel 单元格上限 "
                                 "%(limit)s 个字符，不能导出为 Excel，请导出为 JSON。"),
                               impl_code=impl_code, column=header, limit=EXCEL_CELL_LIMIT)
    return value


def _append(sheet, columns, key: str, record: dict) -> None:
    # As text: a formula would come back empty on import (formulas are read
    # as their cached value), an error value refused (_ExcelError).
    cells = append_row(sheet, [key if k == "key" else _cell(k, record.get(k), key, h)
                               for h, k in columns])
    for cell, (_header, column_key) in zip(cells, columns, strict=True):
        if column_key in CODE_WIDTHS:
            cell.number_format = "@"
        elif column_key in LONG_TEXT:
            cell.alignment = WRAPPED


def _header_width(header: str) -> int:
    """The width a header needs: a Chinese character takes two of Excel's units."""
    return sum(2 if ord(char) > 0x2E7F else 1 for char in header) + 2


def _layout(sheet, columns) -> None:
    """A sheet to edit: the header bold and frozen, each column wide enough for its
    header, codes and long texts wider, code columns formatted as text (also for
    rows added by hand)."""
    sheet.freeze_panes = "A2"
    for index, (header, key) in enumerate(columns, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = max(_header_width(header), CODE_WIDTHS.get(key, 0),
                              LONG_TEXT_WIDTH if key in LONG_TEXT else 0)
        if key in CODE_WIDTHS:
            dimension.number_format = "@"


def export_excel(versions) -> bytes:
    workbook = Workbook()
    sheets = [workbook.active, workbook.create_sheet(), workbook.create_sheet()]
    all_columns = (ITEM_COLUMNS, MATERIAL_COLUMNS, FEE_COLUMNS)
    for sheet, title, columns in zip(sheets, SHEETS, all_columns, strict=True):
        sheet.title = title
        sheet.append([header for header, _key in columns])
        _layout(sheet, columns)
    for record in export_records(versions):
        key = record["impl_code"]
        _append(sheets[0], ITEM_COLUMNS, key, record)
        for material in record["materials"]:
            _append(sheets[1], MATERIAL_COLUMNS, key, material)
        for fee in record["fees"]:
            _append(sheets[2], FEE_COLUMNS, key, fee)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
