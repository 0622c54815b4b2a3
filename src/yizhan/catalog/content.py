"""The content of an item version: checking it and writing it out.

The content arrives as a plain dict (from a form, the API or an import
row) and is checked by one function, ``clean_version_data``, so every entry
point applies the same rules and reports problems field by field;
``version_as_data`` gives a version back in the same shape (copying a
version, exporting).
"""

import json
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from yizhan.catalog import codes, form_spec
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import (
    SERVICE_OBJECTS,
    SPECIAL_PROCEDURES,
    THEMES,
    CaseType,
    ExerciseLevel,
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


# Time limits, visits and copies: far above any real one, far below what
# the integer columns hold.
MAX_COUNT = 9999
# Fee.amount: 12 digits with 2 decimals.
MAX_AMOUNT_DIGITS = 10


def _int(problems, data, field, default=None, minimum=0, maximum=MAX_COUNT):
    value = data.get(field)
    # A blank cell (Excel) or null (JSON) means "not given", like a missing key.
    if value is None or value == "":
        value = default
    label = FIELD_LABELS.get(field, field)
    try:
        number = int(value)
        if isinstance(value, float) and value != number:
            raise ValueError
    except (TypeError, ValueError, OverflowError):  # "abc", 1.5, Infinity
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


def _clean_materials(problems, rows):
    cleaned = []
    if not isinstance(rows, list):
        _problem(problems, "materials", _("申请材料应为列表"))
        return cleaned
    for index, row in enumerate(rows, start=1):
        where = f"materials[{index}]"
        if not isinstance(row, dict):
            _problem(problems, where, _("应为对象"))
            continue
        name = str(row.get("name") or "").strip()
        if not name:
            _problem(problems, f"{where}.name", _("请填写材料名称"))
        forms = row.get("forms") or ["original"]
        if isinstance(forms, str):
            forms = [f.strip() for f in forms.replace("，", ",").split(",") if f.strip()]
        bad_forms = [f for f in forms if f not in Material.FORMS]
        if bad_forms:
            _problem(problems, f"{where}.forms", _("材料形式只能是 original、copy、electronic"))
        necessity = row.get("necessity") or Material.Necessity.REQUIRED
        if necessity not in Material.Necessity.values:
            _problem(problems, f"{where}.necessity", _("必要性只能是 required、conditional、"
                                                       "optional"))
        source = row.get("source") or Material.Source.APPLICANT
        if source not in Material.Source.values:
            _problem(problems, f"{where}.source", _("来源渠道无效"))
        try:
            copies = int(row.get("copies") or 1)
            if not 1 <= copies <= MAX_COUNT:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            _problem(problems, f"{where}.copies", _("份数应为正整数"))
            copies = 1
        cleaned.append({
            "order": index, "name": name[:200], "forms": forms, "necessity": necessity,
            "condition": str(row.get("condition") or "")[:200], "copies": copies,
            "source": source, "blank_form": str(row.get("blank_form") or "")[:255],
            "sample": str(row.get("sample") or "")[:255],
            "acceptance_standard": str(row.get("acceptance_standard") or ""),
            "basis": str(row.get("basis") or ""),
        })
    return cleaned


def _clean_fees(problems, rows):
    cleaned = []
    if not isinstance(rows, list):
        _problem(problems, "fees", _("收费项目应为列表"))
        return cleaned
    for index, row in enumerate(rows, start=1):
        where = f"fees[{index}]"
        if not isinstance(row, dict):
            _problem(problems, where, _("应为对象"))
            continue
        for key, label in (("name", _("收费项目")), ("standard", _("收费标准")),
                           ("basis", _("收费依据"))):
            if not str(row.get(key) or "").strip():
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
        cleaned.append({
            "order": index, "name": str(row.get("name") or "").strip()[:200],
            "standard": str(row.get("standard") or "").strip()[:200], "amount": amount,
            "basis": str(row.get("basis") or "").strip(),
            "waivable": bool(row.get("waivable")),
        })
    return cleaned


def _agency_ids(problems, field, value):
    if value in (None, "", []):
        return []
    if not isinstance(value, list):
        value = [value]
    ids = []
    for ref in value:
        agency = find_agency(ref)
        if agency is None:
            _problem(problems, field, _("找不到机关“%(ref)s”") % {"ref": ref})
        else:
            ids.append(agency.pk)
    return ids


def find_agency(ref):
    """An agency by id, credit code or exact name (imports use names)."""
    # Digits: an id; 18 characters, even if all digits: a credit code.
    if isinstance(ref, int) or (isinstance(ref, str) and len(ref) < 12 and parse_id(ref)):
        pk = parse_id(ref)
        return Agency.objects.filter(pk=pk).first() if pk else None
    ref = str(ref).strip()
    return (Agency.objects.filter(credit_code=ref).first()
            or Agency.objects.filter(name=ref).first())


def clean_version_data(data: dict, *, agency: Agency) -> dict:
    """Check a version's content; return clean values or raise with every problem.

    The problems are worded when they are found, in the request's language;
    the error carries them in both, checked once more in each, so that
    ``message_en`` is English throughout and ``message_zh`` Chinese.
    """
    clean, problems = _clean(data, agency=agency)
    if not problems:
        return clean

    def worded() -> str:
        return joined(f"{p['field']}: {p['problem']}" for p in _clean(data, agency=agency)[1])

    raise VersionDataError(detail=worded_in_each_language(worded), problems=problems)


def _clean(data: dict, *, agency: Agency) -> tuple[dict, list[dict]]:
    problems: list[dict] = []
    clean: dict = {}
    for field, (required, max_length) in TEXT_FIELDS.items():
        value = str(data.get(field) or "").strip()
        if required and not value:
            _problem(problems, field, _("请填写%(label)s") % {"label": FIELD_LABELS[field]})
        if max_length and len(value) > max_length:
            _problem(problems, field, _("%(label)s不能超过 %(n)s 个字") % {
                "label": FIELD_LABELS[field], "n": max_length})
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
    joint = _agency_ids(problems, "joint_agencies", data.get("joint_agencies"))
    if agency.pk in joint:
        _problem(problems, "joint_agencies", _("联办机关不能包括实施机关本身"))
    clean["joint_agencies"] = joint
    upper = _agency_ids(problems, "upper_agency", data.get("upper_agency"))
    clean["upper_agency_id"] = upper[0] if upper else None
    if template == ProcessTemplate.PARALLEL and not joint:
        _problem(problems, "joint_agencies", _("并联审批事项须至少有一个联办机关"))
    if template == ProcessTemplate.UPPER_REVIEW and not upper:
        _problem(problems, "upper_agency", _("上级初审事项须指定上级审批机关"))
    if template == ProcessTemplate.CUSTOM and not clean["process_xml"]:
        _problem(problems, "process_xml", _("自定义流程须上传 BPMN 文件"))
    elif template == ProcessTemplate.CUSTOM:
        from yizhan.bpmn import ProcessError
        from yizhan.catalog.process import compile_xml

        # The same check as at publication, so a file that edits cleanly publishes.
        try:
            compile_xml(clean["process_xml"].encode())
        except ProcessError as exc:
            _problem(problems, "process_xml", exc.render())
    if case_type == CaseType.IMMEDIATE and template not in (ProcessTemplate.IMMEDIATE,
                                                            ProcessTemplate.CUSTOM):
        _problem(problems, "process_template", _("即办件应使用即办件流程"))
    clean["materials"] = _clean_materials(problems, data.get("materials") or [])
    clean["fees"] = _clean_fees(problems, data.get("fees") or [])
    return clean, problems


def version_as_data(version: ItemVersion) -> dict:
    """A version's content in the input shape (for copying and export)."""
    fields = [
        *TEXT_FIELDS, "basic_code", "item_type", "exercise_level", "case_type", "statutory_limit",
        "promised_limit", "visits_required", "online_depth", "service_objects",
        "special_procedures", "themes", "process_template", "form_fields",
    ]
    data = {field: getattr(version, field) for field in fields}
    data["joint_agencies"] = [a.name for a in version.joint_agencies.all()]
    data["upper_agency"] = version.upper_agency.name if version.upper_agency_id else None
    data["materials"] = [
        {k: getattr(m, k) for k in ("name", "forms", "necessity", "condition", "copies",
                                    "source", "blank_form", "sample", "acceptance_standard",
                                    "basis")}
        for m in version.materials.all()
    ]
    data["fees"] = [
        {"name": f.name, "standard": f.standard,
         "amount": str(f.amount) if f.amount is not None else None, "basis": f.basis,
         "waivable": f.waivable}
        for f in version.fees.all()
    ]
    return data


