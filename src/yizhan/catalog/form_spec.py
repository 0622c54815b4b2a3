"""The application form of an item: the fields an applicant fills in.

An item version lists its fields as data (``ItemVersion.form_fields``):

    [{"name": "area", "label": "经营面积（平方米）", "type": "number",
      "required": true},
     {"name": "seats", "label": "座位数", "type": "number"},
     {"name": "kind", "label": "经营类别", "type": "choice",
      "choices": ["热食类", "冷食类", "饮品店"]}]

``name`` is what processes' conditions read (``area > 500``), so it is an
identifier.  Types: text, number, date (YYYY-MM-DD), choice, boolean.  The
same definitions check the item (``check_definitions``) and an applicant's
answers (``clean_answers``).
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext

from yizhan.bpmn.expressions import RESERVED_NAMES

TYPES = ("text", "number", "date", "choice", "boolean")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
MAX_FIELDS = 40
MAX_LABEL = 100           # a field's label, as the apply page shows it
MAX_TEXT = 500
MAX_DIGITS = 15            # a number answer below 10^15 (and a float keeps 15 digits)
# Names the process data keeps for itself: the joint agencies and their
# opinions (written by the runtime), each decision's "opinion" (which
# gateways read), and "typename" (SpiffWorkflow's own marker).
RESERVED = RESERVED_NAMES | {"opinion", "typename"}

TRUE_WORDS = {"1", "true", "是", "yes", "y"}
FALSE_WORDS = {"0", "false", "否", "no", "n", ""}


def yes_no(value) -> bool | None:
    """A JSON boolean, 0 or 1, or a word for yes or no (missing is no); None for
    anything else, which the caller reports.

    Not bool(value): the string "false" (an Excel cell, a hand-written JSON
    file) is true.  Here, where the item's content check (``content``) and the
    form fields' both read it.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    return None


def check_definitions(value) -> tuple[list[dict], list[str]]:
    """Clean field definitions; return them with a list of problems."""
    problems: list[str] = []
    if value in (None, "", []):
        return [], problems
    if not isinstance(value, list) or len(value) > MAX_FIELDS:
        return [], [gettext("申请表字段应为不超过 %(n)s 项的列表") % {"n": MAX_FIELDS}]
    cleaned, seen = [], set()
    for index, entry in enumerate(value, start=1):
        if not isinstance(entry, dict):
            problems.append(gettext("第 %(i)s 个字段应为对象") % {"i": index})
            continue
        name = str(entry.get("name") or "")
        label = str(entry.get("label") or "").strip()
        kind = entry.get("type") or "text"
        if not NAME.match(name):
            problems.append(gettext("第 %(i)s 个字段的名称须为小写字母开头的字母、数字或下划线")
                            % {"i": index})
        elif name in seen:
            problems.append(gettext("字段名称“%(name)s”重复") % {"name": name})
        elif name in RESERVED:
            problems.append(gettext("字段名称“%(name)s”为流程保留，请换一个") % {"name": name})
        seen.add(name)
        if not label:
            problems.append(gettext("第 %(i)s 个字段须有显示名称") % {"i": index})
        elif len(label) > MAX_LABEL:
            # Reported, not cut: the form would ask something else than written.
            problems.append(gettext("第 %(i)s 个字段的显示名称不能超过 %(n)s 个字")
                            % {"i": index, "n": MAX_LABEL})
        if kind not in TYPES:
            problems.append(gettext("第 %(i)s 个字段的类型须为 %(types)s 之一")
                            % {"i": index, "types": "、".join(TYPES)})
        raw_choices = entry.get("choices") or []
        if not isinstance(raw_choices, list):
            problems.append(gettext("第 %(i)s 个字段的选项应为列表") % {"i": index})
            raw_choices = []
        # Each choice one line of text, once: the desk shows them one a line,
        # and an applicant cannot tell two equal choices apart.
        choices = [str(c).strip() for c in raw_choices]
        if any(not c or "\n" in c or "\r" in c for c in choices):
            problems.append(gettext("第 %(i)s 个字段的选项不能为空，也不能分行") % {"i": index})
        elif len(set(choices)) < len(choices):
            problems.append(gettext("第 %(i)s 个字段的选项有重复") % {"i": index})
        if kind == "choice" and not choices:
            problems.append(gettext("第 %(i)s 个字段为选择题，须列出选项") % {"i": index})
        required = yes_no(entry.get("required"))
        if required is None:
            problems.append(gettext("第 %(i)s 个字段的“必填”应为“是”或“否”（true 或 false）")
                            % {"i": index})
        cleaned.append({"name": name, "label": label, "type": kind,
                        "required": bool(required), "choices": choices})
    return cleaned, problems


def clean_answers(definitions: list[dict], raw: dict) -> tuple[dict, dict[str, str]]:
    """An applicant's answers, typed; and the problems, by field name."""
    answers: dict = {}
    problems: dict[str, str] = {}
    raw = raw or {}
    for field in definitions:
        name, kind = field["name"], field["type"]
        value = raw.get(name)
        if isinstance(value, str):
            value = value.strip()
        if kind == "boolean":
            answers[name] = value in (True, "true", "on", "1", 1, "是")
            if field["required"] and not answers[name]:
                problems[name] = gettext("请确认%(label)s") % {"label": field["label"]}
            continue
        if value in (None, ""):
            if field["required"]:
                problems[name] = gettext("请填写%(label)s") % {"label": field["label"]}
            continue
        if kind == "number":
            try:
                number = Decimal(str(value))
                if not number.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                problems[name] = gettext("%(label)s应为数字") % {"label": field["label"]}
                continue
            if number and number.adjusted() >= MAX_DIGITS:
                # Checked before int(): "1e2000000" would build a
                # two-million-digit integer, minutes of CPU.
                problems[name] = gettext("%(label)s超出允许的范围") % {"label": field["label"]}
                continue
            answers[name] = int(number) if number == number.to_integral_value() else float(
                number)
        elif kind == "date":
            try:
                answers[name] = datetime.date.fromisoformat(str(value)).isoformat()
            except ValueError:
                problems[name] = (gettext("%(label)s应为日期（年-月-日）")
                                  % {"label": field["label"]})
        elif kind == "choice":
            if str(value) not in field["choices"]:
                problems[name] = gettext("%(label)s的选项无效") % {"label": field["label"]}
            else:
                answers[name] = str(value)
        elif len(str(value)) > MAX_TEXT:
            # Refused, not cut: what the applicant wrote is theirs to shorten.
            problems[name] = (gettext("%(label)s不能超过 %(n)s 个字")
                              % {"label": field["label"], "n": MAX_TEXT})
        else:
            answers[name] = str(value)
    return answers, problems


def clean_unfinished(definitions: list[dict], raw: dict) -> tuple[dict, dict[str, str]]:
    """The answers of an application not finished yet (a draft): those given and
    valid, typed; and the problems of those given but refused, by field name.

    A required answer not given yet is no problem here: a draft is for what
    the applicant does not know yet.  Submission checks the stored answers
    in full (``clean_answers``).
    """
    raw = raw or {}
    answers, problems = clean_answers(definitions, raw)
    given = {field["name"] for field in definitions
             if field["type"] != "boolean" and raw.get(field["name"]) not in (None, "")
             and str(raw.get(field["name"])).strip()}
    return answers, {name: problem for name, problem in problems.items() if name in given}
