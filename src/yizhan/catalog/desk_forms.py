"""The catalog desk's item form: an item version's content as the page posts it.

The page is one form over the content that ``content.clean_version_data``
checks (the API's ``VersionIn``, an import's record).  Here the content is
turned into the page's fields and back; the checks are the content
module's, and a problem it reports (``materials[2].name``) is shown at the
field that holds the value.

Every field posts one value under its own name (a checkbox of a group
too: ``themes-birth``), so that the form, sent along with the display
toggles, comes back whole (``portal.views.kept_form`` keeps one value per
name).  Materials, fees, joint agencies and the application form's fields
are rows: ``materials-2-name``; ``materials-rows`` says how many were
shown.  Rows left blank are dropped, so the second row the content
module counts is the second row shown again.
"""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yizhan import bpmn
from yizhan.catalog import content, form_spec
from yizhan.catalog.models import (
    SERVICE_OBJECTS,
    SPECIAL_PROCEDURES,
    THEMES,
    CaseType,
    ExerciseLevel,
    Fee,
    Item,
    ItemType,
    ItemVersion,
    Material,
    OnlineDepth,
    ProcessTemplate,
)
from yizhan.core.sizes import MiB

# The texts of the item itself, as the form posts them.
TOP_TEXTS = ("name", "basic_code", "item_type", "exercise_level", "legal_basis",
             "acceptance_conditions", "process_description", "case_type", "statutory_limit",
             "promised_limit", "limit_notes", "result_name", "result_type", "result_sample",
             "visits_required", "online_depth", "handling_place", "handling_hours",
             "consultation", "complaint",
             "process_template", "process_xml", "upper_agency",
             # Files stay as attached on the draft's page: carried, never typed.
             "result_sample_file", "result_sample_file_name")
CHOICE_GROUPS = {"service_objects": SERVICE_OBJECTS, "special_procedures": SPECIAL_PROCEDURES,
                 "themes": THEMES}

MATERIAL_TEXTS = ("name", "condition", "copies", "blank_form", "sample",
                  "acceptance_standard", "basis")
MATERIAL_CHOICES = ("necessity", "source")
MATERIAL_FILES = ("blank_form_file", "blank_form_file_name", "sample_file",
                  "sample_file_name")
FEE_TEXTS = ("name", "standard", "amount", "basis", "waiver_basis")
FORM_FIELD_TEXTS = ("name", "label", "choices")

# Each group's most rows, and the blank rows a page offers after the filled ones.
ROW_LIMITS = {"materials": content.MAX_MATERIALS, "fees": content.MAX_FEES,
              "joint_agencies": content.MAX_JOINT_AGENCIES, "form_fields": form_spec.MAX_FIELDS}
BLANK_ROWS = {"materials": 2, "fees": 1, "joint_agencies": 1, "form_fields": 1}
ROW_GROUPS = tuple(ROW_LIMITS)

# One choice a line: a choice may itself hold a comma or a 、 (the API and the
# import take any text), which a separator within the line would split.
CHOICES_SEPARATORS = re.compile(r"[\r\n]+")

FORM_FIELD_TYPES = {"text": _("文本"), "number": _("数字"), "date": _("日期"),
                    "choice": _("选择"), "boolean": _("是/否")}


@dataclass
class Entry:
    """What the form holds: the item's fields, its rows, and what is wrong where.

    ``values`` maps a field's name to its text (a checkbox group's name to
    the values ticked); each row is a dict of the same.  ``errors`` maps an
    input's (or a group's, or a row's) name to its messages; ``general``
    holds those that belong to no one field.
    """

    values: dict = field(default_factory=dict)
    rows: dict = field(default_factory=lambda: {group: [] for group in ROW_GROUPS})
    errors: dict = field(default_factory=dict)
    general: list = field(default_factory=list)
    extra_rows: dict = field(default_factory=dict)

    def add_error(self, name: str, message) -> None:
        self.errors.setdefault(name, []).append(str(message))

    def add_row(self, group: str) -> None:
        if group in ROW_GROUPS:
            self.extra_rows[group] = self.extra_rows.get(group, 0) + 1

    def shown_rows(self, group: str) -> list[dict]:
        """The filled rows, then blank ones (as many as the page offers, and those added)."""
        rows = list(self.rows[group])
        blank = BLANK_ROWS[group] + self.extra_rows.get(group, 0)
        room = max(ROW_LIMITS[group] - len(rows), 0)
        return rows + [{} for _i in range(min(blank, room))]

    @property
    def invalid(self) -> bool:
        return bool(self.errors or self.general)


# --- from a version, from a post ----------------------------------------------------

def _text(value) -> str:
    return "" if value is None else str(value)


def entry_of(version: ItemVersion) -> Entry:
    """The form of a draft: its content as the page shows it, files included."""
    data = content.version_as_data(version, copy=True)
    entry = Entry()
    for name in TOP_TEXTS:
        entry.values[name] = _text(data.get(name))
    for group in CHOICE_GROUPS:
        entry.values[group] = list(data.get(group) or [])
    entry.rows["materials"] = [
        {**{key: _text(m.get(key)) for key in (*MATERIAL_TEXTS, *MATERIAL_CHOICES,
                                                  *MATERIAL_FILES)},
         "forms": list(m.get("forms") or [])} for m in data["materials"]]
    entry.rows["fees"] = [
        {**{key: _text(f.get(key)) for key in FEE_TEXTS}, "waivable": bool(f.get("waivable"))}
        for f in data["fees"]]
    entry.rows["joint_agencies"] = [{"agency": str(pk)} for pk in data["joint_agencies"]]
    entry.rows["form_fields"] = [
        {"name": f.get("name", ""), "label": f.get("label", ""), "type": f.get("type", "text"),
         "required": bool(f.get("required")), "choices": "\n".join(f.get("choices") or [])}
        for f in data["form_fields"] or []]
    return entry


def blank_entry() -> Entry:
    """The form of a new item: the defaults a new item most often has."""
    entry = Entry()
    entry.values.update({"case_type": CaseType.PROMISED, "process_template":
                         ProcessTemplate.PROMISED,
                         "online_depth": str(OnlineDepth.FULLY_ONLINE), "visits_required": "0"})
    return entry


def _count(posted, group: str) -> int:
    """The rows of ``group`` the page showed (``materials-rows``), every one of them.

    Not capped at the group's limit: a draft stored with more rows (before
    the limit) shows them all, and saved, each is sent on to the content
    check, which refuses the list naming its limit rather than the desk
    saving fewer rows than it showed.  Each row shown posts at least one
    input, so a count beyond the inputs posted is no page's.
    """
    try:
        count = int(posted.get(f"{group}-rows") or 0)
    except (TypeError, ValueError):
        count = 0
    return max(0, min(count, len(posted)))


def _posted(posted, name: str) -> str:
    return _text(posted.get(name))


def _ticked(posted, name: str) -> bool:
    return bool(posted.get(name))


def entry_from_post(posted, files=None) -> Entry:
    """The form as posted (a request's POST, or the fields a display toggle kept).

    A row left blank, or ticked for deletion, is dropped.  A BPMN file
    chosen replaces the process's XML.
    """
    entry = Entry()
    for name in TOP_TEXTS:
        entry.values[name] = _posted(posted, name)
    entry.values["agency"] = _posted(posted, "agency")
    entry.values["impl_code"] = _posted(posted, "impl_code")
    for group, choices in CHOICE_GROUPS.items():
        entry.values[group] = [code for code in choices if _ticked(posted, f"{group}-{code}")]
    for index in range(1, _count(posted, "materials") + 1):
        prefix = f"materials-{index}-"
        row = {key: _posted(posted, prefix + key)
               for key in (*MATERIAL_TEXTS, *MATERIAL_CHOICES, *MATERIAL_FILES)}
        row["forms"] = [code for code in Material.FORMS if _ticked(posted, f"{prefix}forms-{code}")]
        blank = (not any(row[key].strip() for key in MATERIAL_TEXTS if key != "copies")
                 and row["copies"].strip() in ("", "1")
                 and not row["blank_form_file"] and not row["sample_file"])
        if not blank and not _ticked(posted, prefix + "delete"):
            entry.rows["materials"].append(row)
    for index in range(1, _count(posted, "fees") + 1):
        prefix = f"fees-{index}-"
        row = {key: _posted(posted, prefix + key) for key in FEE_TEXTS}
        row["waivable"] = _ticked(posted, prefix + "waivable")
        if any(row[key].strip() for key in FEE_TEXTS) and not _ticked(posted, prefix + "delete"):
            entry.rows["fees"].append(row)
    for index in range(1, _count(posted, "joint_agencies") + 1):
        agency = _posted(posted, f"joint_agencies-{index}-agency")
        if agency:
            entry.rows["joint_agencies"].append({"agency": agency})
    for index in range(1, _count(posted, "form_fields") + 1):
        prefix = f"form_fields-{index}-"
        row = {key: _posted(posted, prefix + key) for key in FORM_FIELD_TEXTS}
        row["type"] = _posted(posted, prefix + "type") or "text"
        row["required"] = _ticked(posted, prefix + "required")
        if (any(row[key].strip() for key in FORM_FIELD_TEXTS)
                and not _ticked(posted, prefix + "delete")):
            entry.rows["form_fields"].append(row)
    upload = (files or {}).get("process_file")
    if upload:
        _read_process(entry, upload)
    return entry


def _read_process(entry: Entry, upload) -> None:
    """The file read as the process loader reads one (``bpmn.process_text``):
    UTF-8, or UTF-16 with its byte order mark, which takes up to twice the
    bytes of the same text; the loader checks the size of each."""
    if upload.size > 2 * bpmn.MAX_BYTES:
        entry.add_error("process_file", _("BPMN 文件不能超过 %(mb)s MB") % {
            "mb": bpmn.MAX_BYTES // MiB})
        return
    try:
        entry.values["process_xml"] = bpmn.process_text(upload.read(2 * bpmn.MAX_BYTES + 1))
    except bpmn.ProcessError as exc:
        entry.add_error("process_file", exc.render())


# --- to the content the services take --------------------------------------------------

def _choices_of(text: str) -> list[str]:
    return [part.strip() for part in CHOICES_SEPARATORS.split(text) if part.strip()]


def version_data(entry: Entry) -> dict:
    """The content in the shape ``content.clean_version_data`` checks."""
    values = entry.values
    data = {name: values.get(name, "") for name in TOP_TEXTS if name != "upper_agency"}
    for group in CHOICE_GROUPS:
        data[group] = list(values.get(group) or [])
    data["upper_agency"] = values.get("upper_agency") or None
    data["joint_agencies"] = [row["agency"] for row in entry.rows["joint_agencies"]]
    data["materials"] = [
        {**{key: row[key] for key in (*MATERIAL_TEXTS, *MATERIAL_CHOICES, *MATERIAL_FILES)},
         "forms": row["forms"]} for row in entry.rows["materials"]]
    data["fees"] = [{**{key: row[key] for key in FEE_TEXTS}, "waivable": row["waivable"]}
                    for row in entry.rows["fees"]]
    data["form_fields"] = [
        {"name": row["name"].strip(), "label": row["label"], "type": row["type"],
         "required": row["required"], "choices": _choices_of(row["choices"])}
        for row in entry.rows["form_fields"]]
    return data


# --- problems at their fields ---------------------------------------------------------

PROBLEM_FIELD = re.compile(r"^(?P<group>[a-z_]+)(?:\[(?P<index>\d+)\](?:\.(?P<key>[a-z_]+))?)?")


def input_for(problem_field: str) -> str | None:
    """The input (or group of inputs) a problem of the content module names:
    ``materials[2].name`` is ``materials-2-name``; None for one the page has not."""
    match = PROBLEM_FIELD.match(problem_field or "")
    if match is None:
        return None
    group, index, key = match.group("group", "index", "key")
    if index is None:
        if group in TOP_TEXTS or group in CHOICE_GROUPS or group in (
                "joint_agencies", "form_fields", "agency", "impl_code"):
            return group
        return None
    if group in ("materials", "fees", "form_fields"):
        return f"{group}-{index}-{key}" if key else f"{group}-{index}"
    return group if group in TOP_TEXTS or group in CHOICE_GROUPS else None


def place_problems(entry: Entry, problems: list[dict]) -> None:
    """Put each problem of a ``VersionDataError`` at its field.

    The application form's fields are checked as a list (``form_spec``),
    whose problems name no row: each is put at the row it is first found
    in, by checking the rows one more at a time.
    """
    by_row = _form_field_rows(entry)
    for problem in problems:
        name = input_for(problem["field"])
        if name == "form_fields" and problem["problem"] in by_row:
            name = by_row.pop(problem["problem"])
        if name is None:
            entry.general.append(f"{problem['field']}: {problem['problem']}")
        else:
            entry.add_error(name, problem["problem"])


def _form_field_rows(entry: Entry) -> dict[str, str]:
    definitions = version_data(entry)["form_fields"]
    found: dict[str, str] = {}
    before: list[str] = []
    for index in range(1, len(definitions) + 1):
        now = form_spec.check_definitions(definitions[:index])[1]
        for problem in now[len(before):]:
            found.setdefault(problem, f"form_fields-{index}")
        before = now
    return found


# --- the page's fields ----------------------------------------------------------------

LABELS = content.FIELD_LABELS


def _material_label(key: str):
    return Material._meta.get_field(key).verbose_name


def _fee_label(key: str):
    return Fee._meta.get_field(key).verbose_name


FORM_FIELD_LABELS = {"name": _("字段名称"), "label": _("显示名称"), "type": _("类型"),
                     "required": pgettext_lazy("field property", "必填"), "choices": _("选项")}
ITEM_TYPE_FROM_CODE = _("按基本编码前两位")
IMPL_CODE_HELP = _("留空则按基本编码、行使层级和实施机关自动生成；事项清单已赋码的，请照录")
WAIVER_BASIS_HELP = _("可减免时填写：减免的对象或情形，以及规定减免的文件名称和文号")
NO_AGENCY = _("无")


def _field(entry: Entry, kind: str, name: str, label, *, value=None, choices=(), help_text="",
           required=False, **extra) -> dict:
    """One input of the page, with its problems and the ids that describe it."""
    errors = entry.errors.get(name, [])
    described = ([f"{name}-help"] if help_text else []) + ([f"{name}-error"] if errors else [])
    return {"kind": kind, "name": name, "label": label,
            "value": entry.values.get(name, "") if value is None else value,
            "choices": [(str(v), lab) for v, lab in choices], "help": help_text,
            "required": required, "errors": errors, "describedby": " ".join(described),
            **extra}


def _checks(entry: Entry, name: str, label, choices, ticked, *, group_errors=None) -> dict:
    """A group of checkboxes, each posting under its own name (``themes-birth``)."""
    errors = entry.errors.get(name, []) if group_errors is None else group_errors
    return {"kind": "checks", "name": name, "label": label, "errors": errors,
            "describedby": f"{name}-error" if errors else "",
            "options": [{"name": f"{name}-{code}", "label": text, "checked": code in ticked}
                        for code, text in choices]}


def _row_fields(entry: Entry, group: str, index: int, row: dict, agency_choices) -> list[dict]:
    prefix = f"{group}-{index}-"
    # A problem of the whole row (form_spec's), or of the joint agencies together,
    # describes each input of the row.
    shared = [f"{name}-error" for name in (f"{group}-{index}", group if group ==
                                           "joint_agencies" else None)
              if name and entry.errors.get(name)]

    def text(key, label, kind="text", **extra):
        extra.setdefault("value", row.get(key, ""))
        made = _field(entry, kind, prefix + key, label, **extra)
        if shared:
            made["row_error"] = shared[0]
            made["describedby"] = " ".join([made["describedby"], *shared]).strip()
        return made

    if group == "materials":
        fields = [
            text("name", _material_label("name"), required=True),
            _checks(entry, prefix + "forms", _material_label("forms"), Material.FORMS.items(),
                    row.get("forms") or (["original"] if not row else [])),
            text("necessity", _material_label("necessity"), kind="select",
                 choices=Material.Necessity.choices),
            text("condition", _material_label("condition")),
            text("copies", _material_label("copies"), inputmode="numeric",
                 value=row.get("copies", "1") if row else "1"),
            text("source", _material_label("source"), kind="select",
                 choices=Material.Source.choices),
            text("blank_form", _material_label("blank_form")),
            text("sample", _material_label("sample")),
            text("acceptance_standard", _material_label("acceptance_standard"),
                 kind="textarea"),
            text("basis", _material_label("basis"), kind="textarea"),
        ]
        fields += [_field(entry, "hidden", prefix + key, "", value=row.get(key, ""))
                   for key in MATERIAL_FILES]
        attached = [row.get(key) for key in ("blank_form_file_name", "sample_file_name")
                    if row.get(key)]
        if attached:
            fields.append({"kind": "note", "name": prefix + "files", "value": attached})
    elif group == "fees":
        fields = [
            text("name", _fee_label("name"), required=True),
            text("standard", _fee_label("standard"), required=True),
            text("amount", _fee_label("amount"), inputmode="decimal"),
            text("basis", _fee_label("basis"), kind="textarea", required=True),
            _field(entry, "checkbox", prefix + "waivable", _fee_label("waivable"),
                   value=bool(row.get("waivable"))),
            text("waiver_basis", _fee_label("waiver_basis"), kind="textarea",
                 help_text=WAIVER_BASIS_HELP),
        ]
    elif group == "joint_agencies":
        fields = [text("agency", LABELS["joint_agencies"], kind="select",
                       choices=[("", NO_AGENCY), *agency_choices])]
    else:
        fields = [
            text("name", FORM_FIELD_LABELS["name"], help_text=_(
                "小写字母开头，可含数字和下划线，如 area；流程的条件按它读取")),
            text("label", FORM_FIELD_LABELS["label"]),
            text("type", FORM_FIELD_LABELS["type"], kind="select",
                 choices=FORM_FIELD_TYPES.items(), value=row.get("type", "text")),
            text("required", FORM_FIELD_LABELS["required"], kind="checkbox",
                 value=bool(row.get("required"))),
            text("choices", FORM_FIELD_LABELS["choices"], kind="textarea",
                 help_text=_("选择题的选项，每行一项")),
        ]
    if row and group != "joint_agencies":
        fields.append(_field(entry, "checkbox", prefix + "delete", _("删除此行"), value=False))
    return fields


ROW_TITLES = {"materials": _("材料 %(n)s"), "fees": _("收费项目 %(n)s"),
              "joint_agencies": _("联办机关 %(n)s"), "form_fields": _("字段 %(n)s")}
ADD_LABELS = {"materials": _("添加一项材料"), "fees": _("添加一项收费"),
              "joint_agencies": _("添加一个联办机关"), "form_fields": _("添加一个字段")}


def _rows(entry: Entry, group: str, agency_choices) -> dict:
    shown = entry.shown_rows(group)
    return {
        "group": group, "count": len(shown), "add_label": ADD_LABELS[group],
        "can_add": len(shown) < ROW_LIMITS[group], "errors": entry.errors.get(group, []),
        "rows": [{"index": index, "legend": ROW_TITLES[group] % {"n": index},
                  "id": f"{group}-{index}",
                  "errors": entry.errors.get(f"{group}-{index}", []),
                  "fields": _row_fields(entry, group, index, row, agency_choices)}
                 for index, row in enumerate(shown, start=1)],
    }


def sections(entry: Entry, *, agencies=None, agency_choices=()) -> list[dict]:
    """The page's fieldsets, in the order an item's guide reads.

    ``agencies``: the agencies a new item may be created for (None when
    editing a draft, whose agency is its item's); ``agency_choices``: the
    agencies a version may name as joint or upper agency.
    """
    v = entry.values
    basic = []
    if agencies is not None:
        basic.append(_field(entry, "select", "agency", Item._meta.get_field("agency").verbose_name,
                            choices=[("", _("请选择")), *agencies], required=True))
    basic += [
        _field(entry, "text", "name", LABELS["name"], required=True, maxlength=200),
        _field(entry, "text", "basic_code", LABELS["basic_code"], required=True,
               help_text=_("10 位：事项类型 2 位字母、主项 5 位、子项 3 位，如 XK00101000")),
        _field(entry, "select", "item_type", LABELS["item_type"],
               choices=[("", ITEM_TYPE_FROM_CODE), *ItemType.choices]),
        _field(entry, "select", "exercise_level", LABELS["exercise_level"], required=True,
               choices=[("", _("请选择")), *ExerciseLevel.choices]),
    ]
    if agencies is not None:
        # The code is the item's for good: given (or generated) once, when the
        # item is created, and kept by every later version.
        basic.append(_field(entry, "text", "impl_code",
                            Item._meta.get_field("impl_code").verbose_name,
                            help_text=IMPL_CODE_HELP))
    basic += [
        _field(entry, "textarea", "legal_basis", LABELS["legal_basis"], required=True),
        _checks(entry, "service_objects", LABELS["service_objects"], SERVICE_OBJECTS.items(),
                v.get("service_objects") or []),
        _checks(entry, "themes", LABELS["themes"], THEMES.items(), v.get("themes") or []),
    ]
    conditions = [
        _field(entry, "textarea", "acceptance_conditions", LABELS["acceptance_conditions"],
               required=True),
        _field(entry, "textarea", "process_description", LABELS["process_description"]),
        _checks(entry, "special_procedures", LABELS["special_procedures"],
                SPECIAL_PROCEDURES.items(), v.get("special_procedures") or []),
    ]
    limits = [
        _field(entry, "select", "case_type", LABELS["case_type"], choices=CaseType.choices),
        _field(entry, "text", "statutory_limit", LABELS["statutory_limit"],
               inputmode="numeric"),
        _field(entry, "text", "promised_limit", LABELS["promised_limit"], inputmode="numeric"),
        _field(entry, "textarea", "limit_notes", LABELS["limit_notes"]),
    ]
    result = [
        _field(entry, "text", "result_name", LABELS["result_name"], maxlength=200),
        _field(entry, "text", "result_type", LABELS["result_type"], maxlength=40),
        _field(entry, "text", "result_sample", LABELS["result_sample"], maxlength=255),
        _field(entry, "hidden", "result_sample_file", ""),
        _field(entry, "hidden", "result_sample_file_name", ""),
    ]
    if v.get("result_sample_file_name"):
        result.append({"kind": "note", "name": "result-files",
                       "value": [v["result_sample_file_name"]]})
    service = [
        _field(entry, "text", "visits_required", LABELS["visits_required"],
               inputmode="numeric"),
        _field(entry, "select", "online_depth", LABELS["online_depth"],
               choices=OnlineDepth.choices),
        _field(entry, "textarea", "handling_place", LABELS["handling_place"], rows=2,
               help_text=_("到现场办理的窗口和地址，如：市民中心A区2楼民政窗口")),
        _field(entry, "textarea", "handling_hours", LABELS["handling_hours"], rows=2,
               help_text=_("如：工作日 9:00—12:00，14:00—18:00（法定节假日除外）")),
        _field(entry, "textarea", "consultation", LABELS["consultation"]),
        _field(entry, "textarea", "complaint", LABELS["complaint"]),
    ]
    process = [
        _field(entry, "select", "process_template", LABELS["process_template"],
               choices=ProcessTemplate.choices),
        _field(entry, "file", "process_file", _("BPMN 文件"), accept=".bpmn,.xml",
               help_text=_("自定义流程须上传 BPMN 文件；选择新文件则替换下面的内容。")),
        _field(entry, "textarea", "process_xml", LABELS["process_xml"], rows=6),
        _field(entry, "select", "upper_agency", LABELS["upper_agency"],
               choices=[("", NO_AGENCY), *agency_choices]),
    ]
    return [
        {"id": "basic", "title": _("基本信息"), "fields": basic},
        {"id": "conditions", "title": LABELS["acceptance_conditions"], "fields": conditions},
        {"id": "materials", "title": Material._meta.verbose_name,
         "rows": _rows(entry, "materials", agency_choices)},
        {"id": "limits", "title": _("办理时限"), "fields": limits},
        {"id": "fees", "title": Fee._meta.verbose_name,
         "rows": _rows(entry, "fees", agency_choices)},
        {"id": "result", "title": _("办理结果"), "fields": result},
        {"id": "service", "title": _("办理方式与咨询"), "fields": service},
        {"id": "process", "title": LABELS["process_template"], "fields": process,
         "rows": _rows(entry, "joint_agencies", agency_choices)},
        {"id": "form_fields", "title": LABELS["form_fields"],
         "rows": _rows(entry, "form_fields", agency_choices)},
    ]
