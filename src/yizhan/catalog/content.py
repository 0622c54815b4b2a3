"""The content of an item version: checking it and writing it out.

The content arrives as a plain dict (from a form, the API or an import
row) and is checked by one function, ``clean_version_data``, so every entry
point applies the same rules and reports problems field by field;
``version_as_data`` gives a version back in the same shape (copying a
version, exporting).
"""

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath

from django.utils.translation import gettext_lazy as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from yizhan.bpmn.definition import JOINT, UPPER
from yizhan.catalog import codes, form_spec
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import (
    SERVICE_OBJECTS,
    SPECIAL_PROCEDURES,
    THEMES,
    CaseType,
    CatalogFile,
    ExerciseLevel,
    Fee,
    ItemType,
    ItemVersion,
    Material,
    OnlineDepth,
    ProcessTemplate,
)
from yizhan.core.errors import InvalidInput, joined, worded_in_each_language
from yizhan.core.ids import parse_id
from yizhan.directory.models import Agency

TEXT_FIELDS = {
    # field: (required, max length or None)
    "name": (True, 200),
    "legal_basis": (True, None),
    "acceptance_conditions": (True, None),
    "process_description": (False, None),
    "limit_notes": (False, None),
    "result_name": (False, 200),
    "result_type": (False, 40),
    "result_sample": (False, 255),
    "handling_place": (False, 500),
    "handling_hours": (False, 200),
    "consultation": (False, None),
    "complaint": (False, None),
    "process_xml": (False, None),
}
FIELD_LABELS = {field.name: field.verbose_name for field in ItemVersion._meta.get_fields()
                if hasattr(field, "verbose_name")}


class VersionDataError(InvalidInput):
    """One or more fields are wrong; ``fields['problems']`` lists them all."""

    code = CatalogErrorCode.BAD_FIELD
    message = _("事项信息有误：%(detail)s")


def _problem(problems, field, message):
    problems.append({"field": field, "problem": str(message)})


# Control characters an Excel cell cannot hold (the export would fail on
# them) and lone halves of a surrogate pair (no encoding stores them, so the
# database write would fail): refused on the way in, whatever the entry point.
ILLEGAL_TEXT_RE = re.compile(f"{ILLEGAL_CHARACTERS_RE.pattern}|[\ud800-\udfff]")
# Real content nests three levels (form_fields[i].choices[j]); anything far
# deeper is not content, and walking it must not exhaust the stack.
MAX_NESTING = 8


def illegal_character(text) -> str | None:
    """The first character of ``text`` no field may hold, as U+XXXX; None if none."""
    match = ILLEGAL_TEXT_RE.search(text) if isinstance(text, str) else None
    return f"U+{ord(match.group()):04X}" if match else None


class _TooDeep(Exception):
    pass


def _text_problems(problems, value, where, depth=0):
    """Report every string in ``value`` (keys included) holding an illegal character."""
    if depth > MAX_NESTING:
        raise _TooDeep
    if isinstance(value, dict):
        for key, item in value.items():
            _text_problems(problems, key, where, depth + 1)
            _text_problems(problems, item, f"{where}.{key}" if not illegal_character(key)
                           else where, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            _text_problems(problems, item, f"{where}[{index}]", depth + 1)
    elif char := illegal_character(value):
        _problem(problems, where, _("含有不能保存的字符 %(char)s（控制字符或无效的 Unicode 字符）")
                 % {"char": char})


# Time limits, visits and copies: far above any real one, far below what
# the integer columns hold.
MAX_COUNT = 9999
# Fee.amount: 12 digits with 2 decimals.
MAX_AMOUNT_DIGITS = 10


def _whole(value) -> int:
    """``value`` as a whole number; ValueError for 2.5 or a JSON true (int() takes both)."""
    if isinstance(value, bool):
        raise ValueError
    number = int(value)
    if isinstance(value, float) and value != number:
        raise ValueError
    return number


def _yes_no(problems, where, value) -> bool:
    """A JSON boolean, 0 or 1, or a word for yes or no: anything else is reported.

    Read as the form fields' "required" is (``form_spec.yes_no``).
    """
    answer = form_spec.yes_no(value)
    if answer is None:
        _problem(problems, where, _("应为“是”或“否”（true 或 false）"))
    return bool(answer)


def _text(problems, where, value, *, label, max_length=None, strip=True) -> str:
    """``value`` as text, reported when it is no text or longer than its column.

    A number is text as written (an Excel cell holding 0755-1234 as a
    number); a JSON list, object or boolean is not: its str() (the Python
    form, "['…']") would be stored and shown on the guide.  A text longer
    than the column is reported, not cut: an import would otherwise succeed
    with other content than the file's.
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        _problem(problems, where, _("%(label)s应为文本") % {"label": label})
        return ""
    text = str(value).strip() if strip else str(value)
    if max_length and len(text) > max_length:
        _problem(problems, where, _("%(label)s不能超过 %(n)s 个字") % {
            "label": label, "n": max_length})
    return text


def _int(problems, data, field, default=None, minimum=0, maximum=MAX_COUNT):
    value = data.get(field)
    # A blank cell (Excel) or null (JSON) means "not given", like a missing key.
    if value is None or value == "":
        value = default
    label = FIELD_LABELS.get(field, field)
    try:
        number = _whole(value)
    except (TypeError, ValueError, OverflowError):  # "abc", 1.5, Infinity, true
        _problem(problems, field, _("%(label)s应为整数") % {"label": label})
        return default
    if number < minimum:
        _problem(problems, field, _("%(label)s不能小于 %(min)s") % {
            "label": label, "min": minimum})
    elif number > maximum:
        _problem(problems, field, _("%(label)s不能大于 %(max)s") % {
            "label": label, "max": maximum})
        return default
    return number


def _choice_list(problems, data, field, allowed, *, required=False):
    value = data.get(field) or []
    if isinstance(value, str):
        value = [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]
    if not isinstance(value, list):
        _problem(problems, field, _("应为列表"))
        return []
    unknown = [v for v in value if v not in allowed]
    if unknown:
        _problem(problems, field, _("未知取值：%(values)s；可选：%(allowed)s") % {
            "values": "、".join(map(str, unknown)), "allowed": "、".join(allowed)})
    if required and not value:
        _problem(problems, field, _("%(label)s不能为空") % {
            "label": FIELD_LABELS.get(field, field)})
    return [v for v in value if v in allowed]


# Far above any real item's lists (the longest guides list some fifty
# materials), far below what makes every guide page and application form
# of the item a burden: a 3 MB file once made 200,000 material rows.
MAX_MATERIALS = 200
MAX_FEES = 50
# The agencies that decide a 并联审批 item together, each given its own task in
# every case: the desk offers as many rows, and no entry point takes more, so
# that an item the API or an import stores is one the desk shows and saves whole.
MAX_JOINT_AGENCIES = 20


def _too_many(problems, field, values, limit) -> bool:
    """Whether ``values`` holds more than ``limit`` entries (then reported at ``field``)."""
    if len(values) <= limit:
        return False
    _problem(problems, field, _("最多 %(limit)s 项") % {"limit": limit})
    return True


def _list_of_rows(problems, rows, field, message, limit) -> list | None:
    if not isinstance(rows, list):
        _problem(problems, field, message)
        return None
    if _too_many(problems, field, rows, limit):
        return None
    return rows


# A material's texts besides its name, kept as given (a condition may be
# indented); the name is stripped.
MATERIAL_TEXTS = ("condition", "blank_form", "sample", "acceptance_standard", "basis")


def _clean_materials(problems, rows):
    cleaned = []
    rows = _list_of_rows(problems, rows, "materials", _("申请材料应为列表"), MAX_MATERIALS)
    if rows is None:
        return cleaned
    # Each name once: an applicant, a window clerk and a correction notice
    # tell the materials apart by their names.
    first_of = {}
    for index, row in enumerate(rows, start=1):
        where = f"materials[{index}]"
        if not isinstance(row, dict):
            _problem(problems, where, _("应为对象"))
            continue
        reported = len(problems)
        name = _text(problems, f"{where}.name", row.get("name"), label=_("材料名称"),
                     max_length=Material._meta.get_field("name").max_length)
        if not name and len(problems) == reported:
            _problem(problems, f"{where}.name", _("请填写材料名称"))
        elif name in first_of:
            _problem(problems, f"{where}.name", _("材料名称“%(name)s”与第 %(n)s 项重复") % {
                "name": name, "n": first_of[name]})
        elif name:
            first_of[name] = index
        forms = row.get("forms") or ["original"]
        if isinstance(forms, str):
            forms = [f.strip() for f in forms.replace("，", ",").split(",") if f.strip()]
        if not isinstance(forms, list):
            forms = [forms]
        # A JSON file can hold anything here, lists and objects included.
        bad_forms = [f for f in forms if not isinstance(f, str) or f not in Material.FORMS]
        if bad_forms:
            _problem(problems, f"{where}.forms", _("材料形式只能是 original、copy、electronic"))
        necessity = row.get("necessity") or Material.Necessity.REQUIRED
        if necessity not in Material.Necessity.values:
            _problem(problems, f"{where}.necessity", _("必要性只能是 required、conditional、"
                                                       "optional"))
        source = row.get("source") or Material.Source.APPLICANT
        if source not in Material.Source.values:
            _problem(problems, f"{where}.source", _("来源渠道无效"))
        copies = row.get("copies")
        try:
            # Only a missing copies means one: 0, 2.5 or true were once read as 1 or 2.
            copies = 1 if copies is None or copies == "" else _whole(copies)
            if not 1 <= copies <= MAX_COUNT:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            _problem(problems, f"{where}.copies", _("份数应为正整数"))
            copies = 1
        texts = {key: _text(problems, f"{where}.{key}", row.get(key), strip=False,
                            label=Material._meta.get_field(key).verbose_name,
                            max_length=Material._meta.get_field(key).max_length)
                 for key in MATERIAL_TEXTS}
        cleaned.append({
            "order": index, "name": name, "forms": forms, "necessity": necessity,
            "copies": copies, "source": source, **texts,
            "blank_form_file": _file_reference(row.get("blank_form_file")),
            "blank_form_file_name": _given_name(row.get("blank_form_file_name")),
            "sample_file": _file_reference(row.get("sample_file")),
            "sample_file_name": _given_name(row.get("sample_file_name")),
        })
    return cleaned


def _file_reference(value) -> str:
    """A reference to a CatalogFile as given: its sha256, in lower case."""
    return str(value or "").strip().lower()


def _given_name(value) -> str:
    """The name a reference gives its file, as given (``_check_files`` cleans it)."""
    return str(value or "")


# The most characters of a file name's stem (its extension is added to them).
FILE_NAME_STEM_MAX = 150


def file_display_name(given, fallback: str, extension: str) -> str:
    """The name a file is shown and downloaded under: ``given`` without folders or
    control characters, ending with ``extension``, the checked type's (申请书.doc
    holding a PDF is 申请书.pdf); ``fallback`` (the material's name) when nothing
    is left of it."""
    base = PurePosixPath(str(given or "").replace("\\", "/")).name
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    stem = "".join(ch for ch in stem if ch.isprintable()).strip(" .")
    stem = stem or "".join(ch for ch in str(fallback or "") if ch.isprintable()).strip(" .")
    return stem[:FILE_NAME_STEM_MAX] + extension


# The fields that refer to a file, with the name a problem gives them; each
# has a field ``<field>_name`` beside it, the name its editor gave the file.
FILE_REFERENCES = {"blank_form_file": _("空白表格"), "sample_file": _("示例样表"),
                   "result_sample_file": _("结果样本")}


def _check_files(problems, clean) -> None:
    """Every file a version refers to must have been uploaded (one query); each
    reference's name is cleaned (``file_display_name``), the material's name (the
    result's, the item's) standing in for a name not given, and a name without a
    file is dropped."""
    from yizhan.cases.downloads import EXTENSIONS

    fallback = clean["result_name"] or clean["name"]
    wanted = [("result_sample_file", "result_sample_file", clean, fallback)]
    for index, material in enumerate(clean["materials"], start=1):
        for key in ("blank_form_file", "sample_file"):
            wanted.append((f"materials[{index}].{key}", key, material, material["name"]))
    refs = {holder[key] for _where, key, holder, _fallback in wanted if holder[key]}
    # A longer value is no sha256, and no query needs to look for it.
    types = dict(CatalogFile.objects.filter(sha256__in=[r for r in refs if len(r) == 64])
                 .values_list("sha256", "content_type")) if refs else {}
    for where, key, holder, name_fallback in wanted:
        ref = holder[key]
        if not ref:
            holder[f"{key}_name"] = ""
        elif ref in types:
            holder[f"{key}_name"] = file_display_name(holder[f"{key}_name"], name_fallback,
                                                      EXTENSIONS.get(types[ref], ""))
        elif not illegal_character(ref):  # that one is reported
            _problem(problems, where, _("%(label)s：找不到文件“%(ref)s”，请重新上传") % {
                "label": FILE_REFERENCES[key], "ref": ref[:64]})


WAIVER_BASIS_NEEDED = _("可减免的收费须填写减免依据：减免的对象或情形，"
                        "以及规定减免的文件名称和文号")
WAIVER_BASIS_UNUSED = _("填写了减免依据，但该收费未标为可减免：请标为可减免，或删去减免依据")


def _clean_fees(problems, rows):
    cleaned = []
    rows = _list_of_rows(problems, rows, "fees", _("收费项目应为列表"), MAX_FEES)
    if rows is None:
        return cleaned
    for index, row in enumerate(rows, start=1):
        where = f"fees[{index}]"
        if not isinstance(row, dict):
            _problem(problems, where, _("应为对象"))
            continue
        texts = {}
        for key, label in (("name", _("收费项目")), ("standard", _("收费标准")),
                           ("basis", _("收费依据"))):
            reported = len(problems)
            texts[key] = _text(problems, f"{where}.{key}", row.get(key), label=label,
                               max_length=Fee._meta.get_field(key).max_length)
            if not texts[key] and len(problems) == reported:
                _problem(problems, f"{where}.{key}", _("请填写%(label)s") % {"label": label})
        amount = row.get("amount")
        if amount in ("", None):
            amount = None
        else:
            try:
                amount = Decimal(str(amount))
                if not amount.is_finite() or amount < 0:
                    raise InvalidOperation
                if amount and (amount.adjusted() >= MAX_AMOUNT_DIGITS
                               or amount != amount.quantize(Decimal("0.01"))):
                    # It would be stored, then fail every page that reads it.
                    _problem(problems, f"{where}.amount",
                             _("金额最多 %(n)s 位整数、2 位小数") % {"n": MAX_AMOUNT_DIGITS})
                    amount = None
            except InvalidOperation:
                _problem(problems, f"{where}.amount", _("金额应为不小于 0 的数字"))
                amount = None
        reported = len(problems)
        waivable = _yes_no(problems, f"{where}.waivable", row.get("waivable"))
        waiver_basis = _text(problems, f"{where}.waiver_basis", row.get("waiver_basis"),
                             label=_("减免依据"))
        # 允许减免依据 stands beside 是否允许减免 in the implementation list: an
        # applicant told a fee may be waived must be told who is exempt and by
        # which rule, and grounds of a fee never waived would mislead.
        if len(problems) == reported and waivable and not waiver_basis:
            _problem(problems, f"{where}.waiver_basis", WAIVER_BASIS_NEEDED)
        elif len(problems) == reported and waiver_basis and not waivable:
            _problem(problems, f"{where}.waiver_basis", WAIVER_BASIS_UNUSED)
        cleaned.append({"order": index, **texts, "amount": amount, "waivable": waivable,
                        "waiver_basis": waiver_basis})
    return cleaned


def _agency_ids(problems, field, value, limit=None):
    if value in (None, "", []):
        return []
    if not isinstance(value, list):
        value = [value]
    if limit is not None and _too_many(problems, field, value, limit):
        # Those within the limit are still checked; the rest are not looked up.
        value = value[:limit]
    ids = []
    for ref in value:
        if illegal_character(str(ref)):
            continue  # reported already, and not to be echoed
        try:
            agency = find_agency(ref)
        except AmbiguousAgency as exc:
            _problem(problems, field, exc.render())
            continue
        if agency is None:
            _problem(problems, field, _("找不到机关“%(ref)s”") % {"ref": ref})
        elif not agency.is_active:
            # A closed agency works no more: every case would wait on a task
            # given to it (the lanes of an uploaded process are checked alike,
            # process.named_agency).  Named by name: a copy refers by id.
            _problem(problems, field, _("“%(ref)s”已停用") % {"ref": agency.name})
        else:
            ids.append(agency.pk)
    return ids


def _is_above(upper_id: int, agency: Agency) -> bool:
    """Whether the agency ``upper_id`` is above ``agency``: its division contains
    ``agency``'s division and is not that division itself.

    A case of 上级初审 is reviewed below and sent up to the agency that decides
    (《行政许可法》第四十三条: 下级行政机关 … 报送上级行政机关); an agency of
    the item's own division, or of a division beside or below it, would have
    its cases "sent up" to itself, sideways or down.
    """
    upper = Agency.objects.select_related("division").get(pk=upper_id)
    return (upper.division_id != agency.division_id
            and agency.division.path.startswith(upper.division.path))


class AmbiguousAgency(InvalidInput):
    message = _("有多个机关名为“%(name)s”，请改用统一社会信用代码指明是哪一个"
                "（没有代码的内设机构用机关编号）")


def find_agency(ref):
    """An agency by id, credit code or exact name; None if there is none.

    Names are unique only within a division, so a name several agencies
    bear raises ``AmbiguousAgency``: taking the first would silently give
    the item another division's agency.
    """
    if isinstance(ref, bool):
        return None  # a JSON true is no id
    # Digits: an id; 18 characters, even if all digits: a credit code.
    if isinstance(ref, int) or (isinstance(ref, str) and len(ref) < 12 and parse_id(ref)):
        pk = parse_id(ref)
        return Agency.objects.filter(pk=pk).first() if pk else None
    ref = str(ref).strip()
    if not ref or illegal_character(ref):
        # Blank would match every unit without a credit code; an illegal
        # character is reported as a field problem (the database could not
        # even compare it).
        return None
    by_code = Agency.objects.filter(credit_code=ref).first()
    if by_code is not None:
        return by_code
    named = list(Agency.objects.filter(name=ref).order_by("pk")[:2])
    if len(named) > 1:
        raise AmbiguousAgency(name=ref)
    return named[0] if named else None


def agency_reference(agency: Agency) -> str:
    """How an export names an agency: by its credit code, unique, where it has one.

    A name is not unique; a unit without a code can only be named (in a
    list, a name holding "、" is quoted: ``transfer.list_cell``).
    """
    return agency.credit_code or agency.name


def clean_version_data(data: dict, *, agency: Agency, kept_upper: int | None = None,
                       lanes_unfilled: bool = False) -> dict:
    """Check a version's content; return clean values or raise with every problem.

    The problems are worded when they are found, in the request's language;
    the error carries them in both, checked once more in each, so that
    ``message_en`` is English throughout and ``message_zh`` Chinese.
    ``kept_upper`` is the upper agency the version written over (or copied)
    already names: kept, it is not refused for not being above, a rule
    younger than some items (without it, such an item could get no draft
    in which to change it).  ``lanes_unfilled`` lets a ``$joint`` or
    ``$upper`` lane of the process be left without its agency: in a copy
    that left out closed agencies (``services.item_version_draft``), the
    draft in which the editor names others; publication refuses it until
    then (``unnamed_lanes``).
    """
    clean, problems = _clean(data, agency=agency, kept_upper=kept_upper,
                             lanes_unfilled=lanes_unfilled)
    if not problems:
        return clean

    def worded() -> str:
        return joined(f"{p['field']}: {p['problem']}"
                      for p in _clean(data, agency=agency, kept_upper=kept_upper,
                                      lanes_unfilled=lanes_unfilled)[1])

    raise VersionDataError(detail=worded_in_each_language(worded), problems=problems)


def _clean(data: dict, *, agency: Agency, kept_upper: int | None = None,
           lanes_unfilled: bool = False) -> tuple[dict, list[dict]]:
    problems: list[dict] = []
    clean: dict = {}
    too_deep = []
    for field, value in data.items():
        if field in FIELD_LABELS or field in ("materials", "fees"):
            try:
                _text_problems(problems, value, field)
            except _TooDeep:
                _problem(problems, field, _("嵌套层数过多"))
                too_deep.append(field)
    # The checks below would recurse through such a value too (str() of it).
    data = {k: v for k, v in data.items() if k not in too_deep}
    for field, (required, max_length) in TEXT_FIELDS.items():
        reported = len(problems)
        value = _text(problems, field, data.get(field), label=FIELD_LABELS[field],
                      max_length=max_length)
        if required and not value and len(problems) == reported:
            _problem(problems, field, _("请填写%(label)s") % {"label": FIELD_LABELS[field]})
        clean[field] = value
    try:
        clean["basic_code"] = codes.validate_basic_code(data.get("basic_code", ""))
    except InvalidInput as exc:
        _problem(problems, "basic_code", exc.render())
        clean["basic_code"] = ""
    item_type = data.get("item_type") or clean["basic_code"][:2]
    if item_type not in ItemType.values:
        _problem(problems, "item_type", _("事项类型无效"))
    elif clean["basic_code"] and clean["basic_code"][:2] != item_type:
        _problem(problems, "item_type", _("事项类型与基本编码前两位不一致"))
    clean["item_type"] = item_type
    level = str(data.get("exercise_level") or "")
    if level not in ExerciseLevel.values:
        _problem(problems, "exercise_level", _("行使层级应为 1–5"))
    clean["exercise_level"] = level
    case_type = data.get("case_type") or CaseType.PROMISED
    if case_type not in CaseType.values:
        _problem(problems, "case_type", _("办件类型应为 immediate（即办件）或 promised（承诺件）"))
    clean["case_type"] = case_type
    clean["statutory_limit"] = _int(problems, data, "statutory_limit", 0)
    clean["promised_limit"] = _int(problems, data, "promised_limit",
                                   clean["statutory_limit"])
    if (clean["statutory_limit"] is not None and clean["promised_limit"] is not None
            and clean["promised_limit"] > clean["statutory_limit"]):
        _problem(problems, "promised_limit", _("承诺时限不能长于法定时限"))
    if case_type == CaseType.PROMISED and not clean["statutory_limit"]:
        _problem(problems, "statutory_limit", _("承诺件须有法定办结时限"))
    clean["visits_required"] = _int(problems, data, "visits_required", 0)
    depth = _int(problems, data, "online_depth", OnlineDepth.FULLY_ONLINE, minimum=1)
    if depth not in OnlineDepth.values:
        _problem(problems, "online_depth", _("网上办理深度应为 1–4"))
    clean["online_depth"] = depth
    clean["service_objects"] = _choice_list(problems, data, "service_objects",
                                            list(SERVICE_OBJECTS), required=True)
    clean["special_procedures"] = _choice_list(problems, data, "special_procedures",
                                               list(SPECIAL_PROCEDURES))
    clean["themes"] = _choice_list(problems, data, "themes", list(THEMES))
    raw_fields = data.get("form_fields")
    if isinstance(raw_fields, str) and raw_fields.strip():
        try:
            raw_fields = json.loads(raw_fields)
        except json.JSONDecodeError:
            raw_fields = "bad"
    form_fields, field_problems = form_spec.check_definitions(raw_fields)
    for problem in field_problems:
        _problem(problems, "form_fields", problem)
    clean["form_fields"] = form_fields
    template = data.get("process_template") or ProcessTemplate.PROMISED
    if template not in ProcessTemplate.values:
        _problem(problems, "process_template", _("流程模板无效"))
    clean["process_template"] = template
    joint = _agency_ids(problems, "joint_agencies", data.get("joint_agencies"),
                        limit=MAX_JOINT_AGENCIES)
    if agency.pk in joint:
        _problem(problems, "joint_agencies", _("联办机关不能包括实施机关本身"))
    clean["joint_agencies"] = joint
    upper = _agency_ids(problems, "upper_agency", data.get("upper_agency"))
    if upper and upper[0] != kept_upper and not _is_above(upper[0], agency):
        _problem(problems, "upper_agency",
                 _("上级审批机关须是本机关的上级机关（所在行政区划高于本机关）"))
    clean["upper_agency_id"] = upper[0] if upper else None
    definition = None
    if template == ProcessTemplate.CUSTOM and not clean["process_xml"]:
        _problem(problems, "process_xml", _("自定义流程须上传 BPMN 文件"))
    elif template == ProcessTemplate.CUSTOM:
        from yizhan.bpmn import ProcessError
        from yizhan.catalog.process import compile_definition

        # The same check as at publication, so a file that edits cleanly publishes.
        try:
            definition = compile_definition(clean["process_xml"])
        except ProcessError as exc:
            _problem(problems, "process_xml", exc.render())
        else:
            for problem in _custom_process_problems(clean["process_xml"], definition,
                                                    form_fields):
                _problem(problems, "process_xml", problem)
    if not lanes_unfilled:
        for field, problem in unnamed_lanes(template, definition, joint=bool(joint),
                                            upper=bool(upper)):
            _problem(problems, field, problem)
    if case_type == CaseType.IMMEDIATE and template not in (ProcessTemplate.IMMEDIATE,
                                                            ProcessTemplate.CUSTOM):
        _problem(problems, "process_template", _("即办件应使用即办件流程"))
    clean["materials"] = _clean_materials(problems, data.get("materials") or [])
    clean["fees"] = _clean_fees(problems, data.get("fees") or [])
    clean["result_sample_file"] = _file_reference(data.get("result_sample_file"))
    clean["result_sample_file_name"] = _given_name(data.get("result_sample_file_name"))
    _check_files(problems, clean)
    return clean, problems


# The symbolic agencies (beyond $accepting) each standard template's lanes
# name, with the problem reported when the version does not say which.
TEMPLATE_NEEDS = {
    ProcessTemplate.PARALLEL: {JOINT: _("并联审批事项须至少有一个联办机关")},
    ProcessTemplate.UPPER_REVIEW: {UPPER: _("上级初审事项须指定上级审批机关")},
}


def _custom_needs(definition) -> dict:
    """The same for an uploaded process: the problem names the first task of the lane
    (worded in each language, as publication's refusal tells it in both)."""
    needs = {}
    for post in definition.tasks.values():
        task = {"title": post.title, "id": post.task}
        if post.agency == JOINT and JOINT not in needs:
            needs[JOINT] = worded_in_each_language(
                lambda task=task: _("用户任务“%(title)s”（%(id)s）在“$joint”泳道中，"
                                    "须至少有一个联办机关") % task)
        if post.agency == UPPER and UPPER not in needs:
            needs[UPPER] = worded_in_each_language(
                lambda task=task: _("用户任务“%(title)s”（%(id)s）在“$upper”泳道中，"
                                    "须指定上级审批机关") % task)
    return needs


def unnamed_lanes(template: str, definition, *, joint: bool, upper: bool
                  ) -> list[tuple[str, str]]:
    """The agencies a version's process waits for and the version does not name:
    each as its field ("joint_agencies", "upper_agency") with the problem.

    A process with a ``$joint`` (``$upper``) lane gives its tasks to the
    version's joint (upper) agencies: without them every application would
    fail when it is submitted.  ``definition`` is the loaded process of a
    custom one (None when it could not be loaded: its own problem is said);
    ``joint`` and ``upper`` whether the version names any.
    """
    needs = (_custom_needs(definition)
             if template == ProcessTemplate.CUSTOM and definition is not None
             else TEMPLATE_NEEDS.get(template, {}))
    return [(field, needs[lane]) for lane, field, named in (
        (JOINT, "joint_agencies", joint), (UPPER, "upper_agency", upper))
        if lane in needs and not named]


# How the case engine tells the steps apart (docs/processes.md, "Task ids"),
# said in every problem about it: modelers give tasks ids like Activity_0x1y2z.
TASK_ID_CONVENTION = _(
    "办件系统按用户任务的 ID 识别环节：受理环节的 ID 以 accept 开头，决定环节以 decide 开头，"
    "送达环节以 deliver 开头，其余用户任务都按审查处理；请在建模工具的属性面板中修改 ID"
    "（自动生成的 ID 如 Activity_0x1y2z 不能识别）")


def _custom_process_problems(xml: str, definition, form_fields: list[dict]) -> list[str]:
    """What the case engine could not run in an uploaded process the loader accepts.

    The case engine reads what a user task is from its BPMN id
    (``bpmn.task_kind``): a case is accepted, and its clock
    starts, at an ``accept…`` task (a 即办件's window accepts at its
    ``decide…`` task), and decided, with the certificate of an approval, at
    a ``decide…`` task.  So every case's first step must be one of these,
    and no case may reach an approving end without a decision.  The
    conditions may read only what every case has: the form's answers
    (``cases.services._application_data`` keeps nothing else), what the
    process's scripts assign and what the engine provides; any other name
    would stop the case at that gateway, or let the applicant route it.
    """
    from yizhan.bpmn import ENGINE_NAMES, Outcome, outline_process, task_kind
    from yizhan.bpmn.expressions import condition_names, script_names

    outline = outline_process(xml)
    problems = []
    tasks = set(definition.tasks)
    kinds = {task: task_kind(task) for task in tasks}

    first = sorted(outline.reachable(avoiding=tasks) & tasks)
    if not first:
        problems.append(_("流程没有受理环节。"))
    for task_id in first:
        if kinds[task_id] not in ("accept", "decide"):
            problems.append(_("%(element)s 是办件的第一个环节，但不是受理环节：办件要受理后才"
                              "开始计时。") % {"element": outline.labels[task_id]})
    undecided = outline.reachable(avoiding={t for t, kind in kinds.items() if kind == "decide"})
    for end, outcome in definition.outcomes.items():
        if outcome == Outcome.APPROVED and end in undecided:
            problems.append(_("%(element)s 表示准予，但不经过决定环节也能到达：准予要在决定"
                              "环节作出，准予的证照由此签发。") % {"element": outline.labels[end]})
    if problems:
        # Said once, after the first: the steps are most often right and
        # only their ids are a modeler's.
        problems[0] = f"{problems[0]}{TASK_ID_CONVENTION}"

    assigned, reads = set(), {}
    for element, script in outline.scripts.items():
        names, reads[element] = script_names(script)
        assigned |= names
    for element, condition in outline.conditions.items():
        reads[element] = condition_names(condition)
    known = {field["name"] for field in form_fields} | assigned | ENGINE_NAMES
    for element, names in reads.items():
        unknown = sorted(names - known)
        if unknown:
            problems.append(_("%(element)s 读取了“%(names)s”，但它不是申请表的字段，也不是脚本"
                              "赋值的变量或系统提供的变量（%(engine)s）：办件时无法判断。请在申请"
                              "表中添加该字段，或修改条件") % {
                "element": outline.labels[element], "names": "、".join(unknown),
                "engine": "、".join(sorted(ENGINE_NAMES))})

    # An optional field left blank is None (a yes/no field is False), and
    # ``area > 500`` cannot be decided on None: every case without that
    # answer would stop at the step before, with nothing staff could do.
    optional = {field["name"] for field in form_fields
                if not field.get("required") and field.get("type") != "boolean"}
    for element, names in _blank_uses(outline, optional).items():
        fields, others = sorted(names & optional), sorted(names - optional)
        if fields:
            problems.append(_("%(element)s 在可选字段“%(names)s”未填写时无法判断：未填写的字段"
                              "没有值（None），不能比较或计算。请先判断是否填写（例如在前面加上"
                              "“%(first)s is not None and”），或把该字段改为必填") % {
                "element": outline.labels[element], "names": "、".join(fields),
                "first": fields[0]})
        if others:
            # What a script assigned: ``size = area`` is None when area is.
            problems.append(_("%(element)s 使用的“%(names)s”可能没有值（None）：脚本赋给它的"
                              "值可能是 None（例如可选字段未填写时），不能比较或计算。请先判断是否"
                              "有值（例如在前面加上“%(first)s is not None and”），或让脚本赋给它的"
                              "值不会是 None（例如“%(first)s = … or 0”）") % {
                "element": outline.labels[element], "names": "、".join(others),
                "first": others[0]})
    return problems


def _blank_uses(outline, optional: set[str]) -> dict[str, frozenset[str]]:
    """The names each script and condition of ``outline`` uses where None
    cannot be, when the fields of ``optional`` are left blank.

    At an element, an optional field may be None unless every way there
    goes through a script that gives it a value (a gateway before the
    script sees the blank answer).  A name that a script may leave None
    (``size = area``, ``area = area``) may be None everywhere: which of the
    scripts assigning it ran last is not followed, so any of them may have.
    """
    from yizhan.bpmn.expressions import (
        script_names,
        script_none_names,
        script_unguarded_names,
        unguarded_names,
    )

    assigning: dict[str, set[str]] = {}
    for element, script in outline.scripts.items():
        for name in script_names(script)[0]:
            assigning.setdefault(name, set()).add(element)
    # The flow nodes a case reaches with each optional field a script
    # assigns still unassigned; a condition is read at its gateway (or, a
    # completion condition, at its task).
    unassigned = {name: outline.reachable(avoiding=assigning[name])
                  for name in optional & assigning.keys()}

    def maybe_none(element: str, left_none: set[str]) -> set[str]:
        node = outline.flows[element][0] if element in outline.flows else element
        return left_none | {name for name in optional
                            if name not in unassigned or node in unassigned[name]}

    # What a script leaves None makes other scripts' values None in turn
    # (``size = area`` then ``total = size``): until nothing more is.
    left_none: set[str] = set()
    while True:
        more = set().union(*(script_none_names(script, maybe_none(element, left_none))
                             for element, script in outline.scripts.items()))
        if more <= left_none:
            break
        left_none |= more
    uses = {element: script_unguarded_names(script, maybe_none(element, left_none))
            for element, script in outline.scripts.items()}
    uses.update({element: unguarded_names(condition, maybe_none(element, left_none))
                 for element, condition in outline.conditions.items()})
    return {element: names for element, names in uses.items() if names}


def version_as_data(version: ItemVersion, *, copy: bool = False) -> dict:
    """A version's content in the input shape (for copying and export).

    Agencies are named as an export names them (``agency_reference``), or,
    for a ``copy`` of the version, by primary key: the copy has exactly the
    agencies of the original, whatever their names.
    """
    refer = (lambda agency: agency.pk) if copy else agency_reference
    fields = [
        *TEXT_FIELDS, "basic_code", "item_type", "exercise_level", "case_type", "statutory_limit",
        "promised_limit", "visits_required", "online_depth", "service_objects",
        "special_procedures", "themes", "process_template", "form_fields", "result_sample_file",
        "result_sample_file_name",
    ]
    data = {field: getattr(version, field) for field in fields}
    data["joint_agencies"] = [refer(a) for a in version.joint_agencies.all()]
    data["upper_agency"] = refer(version.upper_agency) if version.upper_agency_id else None
    data["materials"] = [
        {k: getattr(m, k) for k in ("name", "forms", "necessity", "condition", "copies",
                                    "source", "blank_form", "blank_form_file",
                                    "blank_form_file_name", "sample", "sample_file",
                                    "sample_file_name", "acceptance_standard", "basis")}
        for m in version.materials.all()
    ]
    data["fees"] = [
        {"name": f.name, "standard": f.standard,
         "amount": str(f.amount) if f.amount is not None else None, "basis": f.basis,
         "waivable": f.waivable, "waiver_basis": f.waiver_basis}
        for f in version.fees.all()
    ]
    return data


