"""Validation and masking of Chinese identifiers.

- 公民身份号码 (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check
  character.  python-stdnum's division table stops at 2014, so the region
  prefix is checked for shape only: newer divisions must not be refused.
- 统一社会信用代码 (GB 32100-2015): 18 characters with a MOD 31 check.
- 行政区划代码 (GB/T 2260): 6 digits, or the 12-digit statistical form with
  the town (3) and village (3) levels appended.

Contact details and names are checked here too, against the columns that
hold them: a value too long for its column is refused with a message, not
left to the database (PostgreSQL raises; SQLite would store it).

Each validator returns the normalised value or raises ``InvalidIdentifier``
with a message saying what is wrong.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric, uscc

from yizhan.core.errors import InvalidInput
from yizhan.directory.error_codes import DirectoryErrorCode


class InvalidIdentifier(InvalidInput):
    code = DirectoryErrorCode.INVALID_IDENTIFIER


def validate_id_number(value: str) -> str:
    number = (value or "").strip().replace(" ", "").upper()
    # isdigit() alone accepts full-width and other Unicode digits, which int()
    # reads too: the same person would then get a second blind index.
    if len(number) != 18 or not number.isascii() or not number[:17].isdigit() or not (
        number[17].isdigit() or number[17] == "X"
    ):
        raise InvalidIdentifier(
            _("身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X。"), value=value
        )
    if number[:2] not in _PROVINCES:
        raise InvalidIdentifier(_("身份证号码中的地区码无效。"))
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1880 or born > datetime.date.today():
        raise InvalidIdentifier(_("身份证号码中的出生日期无效。"))
    # stdnum's calc_check_digit expects the full number, check digit included.
    if ric.calc_check_digit(number) != number[17]:
        raise InvalidIdentifier(_("身份证号码校验位错误，请核对后重新输入。"))
    return number


# First two digits of GB/T 2260 province-level codes.
_PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83", "91",
}


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def validate_credit_code(value: str) -> str:
    code = (value or "").strip().replace(" ", "").upper()
    # stdnum's uscc.validate wants digits in the first eight places, but the
    # registration authority and the category (places 1 and 2) may be
    # letters under GB 32100 (A military, N rural collectives, Y other);
    # only the division code (places 3 to 8) is always digits.
    if (
        len(code) != 18
        or any(c not in _USCC_ALPHABET for c in code)
        or not all(c in "0123456789" for c in code[2:8])
        or uscc.calc_check_digit(code[:17]) != code[17]
    ):
        raise InvalidIdentifier(
            _("统一社会信用代码无效（应为 18 位，末位校验码须正确），请核对后重新输入。"),
            value=value,
        )
    return code


def validate_division_code(value: str) -> str:
    """Return the code normalised to its shortest exact form.

    A 12-digit statistical code whose last six digits are zero is a
    county-level (or higher) code and is stored as 6 digits; otherwise the
    12 digits are kept (street: 9 significant digits, community: 12).
    """
    code = (value or "").strip()
    if not code.isascii() or not code.isdigit() or len(code) not in (6, 9, 12):
        raise InvalidIdentifier(
            _("行政区划代码应为 6 位（县级以上）或 9/12 位（乡镇、村居）数字。"), value=value
        )
    if code[:2] not in _PROVINCES:
        raise InvalidIdentifier(_("行政区划代码的省级代码无效。"), value=value)
    if len(code) == 12 and code[6:] == "000000":
        return code[:6]
    if len(code) == 12 and code[9:] == "000":
        return code[:9]
    return code


def mask_id_number(number: str) -> str:
    """4403**********1234: keep the province and city, and the last four."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


# As people write a number: 13800138000, 0755-12345678, +86 138 0013 8000.
# ASCII digits only ([0-9] is not \d), at most the column's 20 characters.
PHONE = re.compile(r"\+?[0-9][0-9 -]{2,18}")


def clean_phone(value) -> str:
    """A telephone number, or "" when none is given."""
    phone = str(value or "").strip()
    if phone and not PHONE.fullmatch(phone):
        raise InvalidInput(_("联系电话格式有误：只能是数字，可含“+”“-”和空格，最多 20 位。"),
                           field="phone")
    return phone


def clean_email(value) -> str:
    """An e-mail address, or "" when none is given."""
    email = str(value or "").strip()
    if email:
        try:
            if len(email) > 254:  # the column, and RFC 5321's limit
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            raise InvalidInput(_("电子邮箱地址格式有误。"), field="email") from None
    return email


NAME_MISSING = _("请填写姓名或名称。")


def clean_name(value, *, field: str, max_length: int, missing=NAME_MISSING) -> str:
    """A person's or an organisation's name, stripped; refused if too long for its column.

    ``missing`` is the message for a name not given, or None if it may be left out.
    """
    name = str(value or "").strip()
    if missing is not None and not name:
        raise InvalidInput(missing, field=field)
    if len(name) > max_length:
        raise InvalidInput(_("名称不能超过 %(n)s 个字。"), field=field, n=max_length)
    return name

