"""Item codes: the basic code (基本编码) and implementation code (实施编码).

The structure follows the provincial coding standards built on GB/T 39554.1
(modelled on DB52/T 1264-2018):

- basic code, 10 characters: item type (2 letters, see ``ItemType``), main
  item (5 digits), sub-item (3 digits, ``000`` when there is none);
  e.g. ``XK00101000``;
- implementation code: basic code (10) + level of exercise (1 digit, see
  ``ExerciseLevel``) + division code of the implementing agency (6 digits, 9
  for townships) + the agency's unified social credit code (18) + business
  item sequence (2 digits); e.g. ``XK00101000`` ``3`` ``449900``
  ``11449900MB0000001X`` ``01``.

Codes are strings: leading zeros matter.  The embedded division code and
credit code are checked (check characters, and that they name the
implementing agency).
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import ExerciseLevel, ItemType
from yizhan.core.errors import InvalidInput
from yizhan.directory import identifiers


@dataclass(frozen=True)
class ImplCode:
    basic: str
    level: str
    division: str
    credit_code: str
    sequence: str

    def __str__(self):
        return f"{self.basic}{self.level}{self.division}{self.credit_code}{self.sequence}"


def validate_basic_code(value: str) -> str:
    # An Excel cell or a JSON number may hold digits as a number.
    code = str(value if value is not None else "").strip().upper()
    if len(code) != 10 or code[:2] not in ItemType.values or not (
            code[2:].isascii() and code[2:].isdigit()):
        raise InvalidInput(
            _("基本编码“%(value)s”无效：应为 10 位，前 2 位为事项类型代码（如 XK），"
              "后 8 位为数字。"),
            code=CatalogErrorCode.BAD_BASIC_CODE, field="basic_code", value=value,
        )
    return code


def _bad_impl(value, detail):
    return InvalidInput(_("实施编码“%(value)s”无效：%(detail)s"),
                        code=CatalogErrorCode.BAD_IMPL_CODE, field="impl_code", value=value,
                        detail=detail)


def parse_impl_code(value: str) -> ImplCode:
    code = str(value if value is not None else "").strip().upper()
    if len(code) < 11:
        raise _bad_impl(value, _("长度不足"))
    try:
        basic = validate_basic_code(code[:10])
    except InvalidInput:
        raise _bad_impl(value, _("前 10 位不是有效的基本编码")) from None
    level = code[10]
    if level not in ExerciseLevel.values:
        raise _bad_impl(value, _("第 11 位事权层级代码应为 1–5"))
    division_length = 9 if level == ExerciseLevel.TOWNSHIP else 6
    expected = 11 + division_length + 18 + 2
    if len(code) != expected:
        raise _bad_impl(value, _("长度应为 %(n)s 位") % {"n": expected})
    division = code[11:11 + division_length]
    credit = code[11 + division_length:11 + division_length + 18]
    sequence = code[-2:]
    try:
        identifiers.validate_division_code(division)
    except InvalidInput:
        raise _bad_impl(value, _("其中的行政区划代码 %(d)s 无效") % {"d": division}) from None
    try:
        identifiers.validate_credit_code(credit)
    except InvalidInput:
        raise _bad_impl(value, _("其中的统一社会信用代码 %(c)s 校验不通过") % {"c": credit}
                        ) from None
    if not (sequence.isascii() and sequence.isdigit()):
        raise _bad_impl(value, _("最后 2 位业务办理项编码应为数字"))
    return ImplCode(basic, level, division, credit, sequence)


def division_for_level(division_code: str, level: str) -> str:
    """The division part of an implementation code: 9 digits for a township
    item, 6 otherwise (a county-level or higher code is padded with zeros
    when a township item is implemented above the township)."""
    length = 9 if level == ExerciseLevel.TOWNSHIP else 6
    return division_code[:length].ljust(length, "0")


def make_impl_code(*, basic_code: str, level: str, division_code: str, credit_code: str,
                   sequence: int = 1) -> str:
    return str(ImplCode(basic_code, level, division_code, credit_code, f"{sequence:02d}"))
