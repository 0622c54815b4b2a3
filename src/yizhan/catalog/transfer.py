"""Import and export of the catalog as JSON and Excel.

Both formats carry the same records: one per item, in the input shape of
``services.clean_version_data`` plus ``impl_code`` (optional for new items)
and ``agency`` (credit code, or a name borne by one agency only; exports
write the code where the agency has one, as for joint and upper agencies).
Excel spreads a record over three sheets — 事项, 申请材料, 收费项目 — joined
by the 事项键 column (the implementation code, or any label unique in the
file for new items).  A list in one cell is separated by 、 (or commas); an
item that holds one is written in double quotes (``split_list``).

Import checks every record first and reports each bad one with its sheet,
row and field; only when all are good does it write, in one transaction,
so a catalog is never half imported.  A record of a cancelled item is such
a bad one; a suspended item's record becomes its draft as for any item, and
the result names it (``ImportResult.suspended``): the draft is published
only once the item is restored.
"""

import io
import json
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chartsheet import Chartsheet

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
from yizhan.directory.models import Agency

MAX_IMPORT_BYTES = 10 * 1024 * 1024
# Rows read from a workbook: items, and the materials or fees of all of them.
# Far above a real catalog's import, far below what keeps a request waiting.
MAX_IMPORT_ITEMS = 10_000
MAX_IMPORT_ROWS = 100_000

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
    ("咨询方式", "consultation"), ("投诉方式", "complaint"),
    ("特别程序", "special_procedures"), ("主题", "themes"), ("流程", "process_template"),
    ("自定义流程（BPMN）", "process_xml"), ("申请表字段", "form_fields"),
]
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
    ("收费依据", "basis"), ("可减免", "waivable"),
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


def _normalise(key: str, value):
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if key in LIST_KEYS:
        items = value if isinstance(value, list) else split_list(str(value))[0]
        labels = CHOICE_LABELS.get(key, {})
        return [labels.get(str(item), item) for item in items]
    if key in CHOICE_LABELS:
        return CHOICE_LABELS[key].get(str(value), str(value))
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


def read_json(raw: bytes) -> list[Record]:
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(_("文件不是有效的 JSON：%(detail)s"), detail=str(exc)) from None
    except RecursionError:
        # A few bytes of "[[[[" nest deeper than the parser's recursion limit.
        raise InvalidInput(_("文件不是有效的 JSON：嵌套层数过多。")) from None
    if isinstance(data, dict):
        data = data.get("items")
    if not isinstance(data, list):
        raise InvalidInput(_("JSON 文件应为事项列表，或含 items 列表的对象。"))
    if len(data) > MAX_IMPORT_ITEMS:
        raise InvalidInput(_("文件超过 %(limit)s 个事项，请分批导入。"), limit=MAX_IMPORT_ITEMS)
    records = []
    for index, entry in enumerate(data, start=1):
        if not isinstance(entry, dict):
            entry = {"_bad": True}
        records.append(Record("JSON", index, {k: (v if k in ("materials", "fees") else
                                                  _normalise(k, v)) for k, v in entry.items()}))
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


def _read_sheet(workbook, title, limit):
    """The header and the non-blank rows (with their numbers) of one sheet, or None."""
    if title not in workbook.sheetnames:
        return None
    sheet = workbook[title]
    if isinstance(sheet, Chartsheet):
        # A chart that took the sheet's name has no cells to read.
        raise InvalidInput(_("文件不是有效的 Excel（.xlsx）工作簿：工作表“%(sheet)s”是图表，"
                             "不是数据表。"), sheet=title)
    header = _values(next(sheet.iter_rows(max_row=1), None) or ())
    width = max((i + 1 for i, h in enumerate(header) if h is not None), default=0)
    rows = []
    if not width:
        return header[:width], rows
    # Bounded by the header's width: otherwise one far-away cell (XFD20000)
    # pads every row to 16,384 columns, minutes of work for a 5 KB file.
    for row_number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=width), start=2):
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
    for row_number, cached in enumerate(workbook[title].iter_rows(
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


def _sheet_rows(read, title, columns, errors):
    if read is None:
        if title == SHEETS[0]:
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


def read_excel(raw: bytes) -> list[Record]:
    errors: list[dict] = []
    try:
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
    items = _sheet_rows(read[0], SHEETS[0], ITEM_COLUMNS, errors)
    materials = _sheet_rows(read[1], SHEETS[1], MATERIAL_COLUMNS, errors)
    fees = _sheet_rows(read[2], SHEETS[2], FEE_COLUMNS, errors)
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
        raise InvalidInput(_("文件过大（上限 %(mb)s MB）。"), http_status=413,
                           mb=MAX_IMPORT_BYTES // (1024 * 1024))
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
    """Sheet and row of a problem: a material's or fee's own row in Excel."""
    match = _ROW_FIELD.match(field_name)
    if match:
        target, index = match.group(1), int(match.group(2))
        rows = getattr(record, f"{target}_rows")
        if 0 < index <= len(rows):
            sheet = SHEETS[1] if target == "materials" else SHEETS[2]
            return {"sheet": sheet, "row": rows[index - 1]}
    return {"sheet": record.sheet, "row": record.row}


def _check(actor, record: Record, errors: list[dict]):
    """Validate one record; return (agency, existing item, clean data) or None."""
    data = record.data
    if data.get("_bad"):
        errors.append({"sheet": record.sheet, "row": record.row, "field": "",
                       "problem": gettext("应为对象")})
        return None
    for key in ("agency", "impl_code"):
        char = content.illegal_character(data.get(key) and str(data[key]))
        if char:
            # Not echoed: a page could not show it, the database not look it up.
            errors.append({"sheet": record.sheet, "row": record.row, "field": key,
                           "problem": gettext("含有不能保存的字符 %(char)s（控制字符或无效的 "
                                              "Unicode 字符）") % {"char": char}})
            return None
    try:
        agency = content.find_agency(data.get("agency") or "")
    except content.AmbiguousAgency as exc:
        errors.append({"sheet": record.sheet, "row": record.row, "field": "agency",
                       "problem": exc.render()})
        return None
    if agency is None:
        errors.append({"sheet": record.sheet, "row": record.row, "field": "agency",
                       "problem": gettext("找不到实施机关“%(a)s”")
                       % {"a": data.get("agency") or ""}})
        return None
    existing = None
    if data.get("impl_code"):
        existing = Item.objects.filter(impl_code=data["impl_code"]).first()
    if existing is not None and existing.internal:
        # The platform's own item (监察督办) has no editors and no next draft
        # (services.item_version_draft): its code is taken, as by any item.
        errors.append({"sheet": record.sheet, "row": record.row, "field": "impl_code",
                       "problem": gettext("实施编码 %(impl_code)s 已存在。")
                       % {"impl_code": existing.impl_code}})
        return None
    allowed = (permissions.item_version_draft(actor, item=existing) if existing
               else permissions.item_create(actor, agency=agency))
    if not allowed:
        raise PermissionDenied(_("您无权维护“%(agency)s”的事项（%(sheet)s 第 %(row)s 行）。"),
                               agency=agency.name, sheet=record.sheet, row=record.row)
    if existing is not None and existing.is_cancelled:
        # A cancelled item is out of service for good: a record for it (an
        # old export, another system's copy) never brings it back.
        errors.append({"sheet": record.sheet, "row": record.row, "field": "impl_code",
                       "problem": gettext("%(withdrawal)s取消是最终的：该事项不能再恢复、发布或"
                                          "新建版本；如需重新办理，请作为新事项录入。")
                       % {"withdrawal": existing.withdrawal_statement()}})
        return None
    for key in AGENCY_LIST_KEYS:
        if isinstance(data.get(key), str):
            data[key] = _agency_list(data[key])
    try:
        content.clean_version_data(data, agency=agency)
    except content.VersionDataError as exc:
        for problem in exc.fields["problems"]:
            errors.append({**_where(record, problem["field"]), **problem})
        return None
    if existing is not None and existing.agency_id != agency.pk:
        errors.append({"sheet": record.sheet, "row": record.row, "field": "impl_code",
                       "problem": gettext("实施编码属于另一个机关")})
        return None
    return agency, existing


@transaction.atomic
def catalog_import(*, actor, records: list[Record], source: str = "") -> ImportResult:
    """Import every record or none: new items as drafts, known ones as new drafts."""
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
            errors.append({"sheet": record.sheet, "row": record.row, "field": "impl_code",
                           "problem": gettext("实施编码 %(impl_code)s 与第 %(row)s 行重复，"
                                              "一个事项在文件中只能出现一次")
                           % {"impl_code": code, "row": first_with_code[code].row}})
    if errors:
        raise ImportFailed(count=len(errors), errors=errors)
    result = ImportResult()
    # The agencies written to, locked in one order before any of them: each new
    # item locks its agency (services.item_create), and two imports locking
    # two agencies in opposite orders would deadlock.
    list(Agency.objects.select_for_update(no_key=True)
         .filter(pk__in={agency.pk for (agency, _existing), _record in checked})
         .order_by("pk").values_list("pk", flat=True))
    for (agency, existing), record in checked:
        try:
            with transaction.atomic():  # a savepoint: one row's refusal, then the next row
                _write(actor, agency, existing, record, result)
        except (InvalidInput, Conflict) as exc:
            # A problem only visible while writing (e.g. a code given in one
            # row that an earlier row's new item was just generated, or an
            # item already awaiting review): reported with its row, like the
            # others; nothing is written.
            errors.append({"sheet": record.sheet, "row": record.row,
                           "field": exc.fields.get("field", ""), "problem": exc.render()})
    if errors:
        raise ImportFailed(count=len(errors), errors=errors)
    audit_append(actor=actor, action=CatalogAction.CATALOG_IMPORTED, object_type="catalog",
                 object_id=source[:64] or "import", object_repr=source[:200] or "import",
                 changes={"created": result.created, "drafted": result.drafted})
    return result


def _write(actor, agency, existing, record: Record, result: ImportResult) -> None:
    """One checked record: a new item, or the next draft (or the open draft) of a known one."""
    if existing is None:
        version = services.item_create(actor=actor, agency=agency, data=record.data,
                                       impl_code=record.data.get("impl_code") or None)
        result.created.append(version.item.impl_code)
    else:
        open_version = existing.versions.filter(
            status=ItemVersion.Status.DRAFT).first()
        if open_version is not None:
            services.item_version_edit(actor=actor, version=open_version,
                                       data=record.data)
        else:
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
        records.append(data)
    return records


def export_json(versions) -> bytes:
    return json.dumps({"items": export_records(versions)}, ensure_ascii=False, indent=2,
                      default=str).encode()


# The most characters an Excel cell holds; a longer text would be cut by Excel.
EXCEL_CELL_LIMIT = 32_767


def _cell(value, impl_code: str, header: str):
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
    sheet.append([key if k == "key" else _cell(record.get(k), key, h) for h, k in columns])
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            # openpyxl takes any text starting with "=" for a formula: an
            # exported "=HYPERLINK(...)" would run in the reader's Excel, and
            # the text would come back empty on import (formulas are read as
            # their cached value). Text, and marked so in Excel too.
            cell.data_type = "s"
            cell.quotePrefix = True
        elif cell.data_type == "e":
            # And a text such as "#N/A" for an error value, which the import
            # refuses (_ExcelError): text.
            cell.data_type = "s"


def export_excel(versions) -> bytes:
    workbook = Workbook()
    sheets = [workbook.active, workbook.create_sheet(), workbook.create_sheet()]
    for sheet, title, columns in zip(sheets, SHEETS, (ITEM_COLUMNS, MATERIAL_COLUMNS,
                                                      FEE_COLUMNS), strict=True):
        sheet.title = title
        sheet.append([header for header, _key in columns])
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
