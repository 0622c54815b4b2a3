"""Validation and masking of 身份证号码, 统一社会信用代码 and 行政区划代码.

The check characters are computed here from the standards themselves
(ISO 7064 MOD 11-2 for ID numbers, GB 32100 MOD 31 for credit codes) so the
tests do not share an oracle with the code under test.
"""

import datetime
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.factories import valid_credit_code, valid_id_number
from yizhan.directory.error_codes import DirectoryErrorCode
from yizhan.directory.identifiers import (
    InvalidIdentifier,
    mask_id_number,
    mask_name,
    validate_credit_code,
    validate_division_code,
    validate_id_number,
)

# Province-level prefixes of GB/T 2260, a representative spread.
PROVINCES = ["11", "12", "31", "32", "44", "45", "46", "50", "51", "54", "65", "71", "81", "82"]
ID_CHARS = "0123456789X"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Far enough from today that the local date of the server cannot matter.
LATEST_BIRTH = datetime.date.today() - datetime.timedelta(days=2)

fast = settings(deadline=None, max_examples=150)


def id_check_char(body: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits (GB 11643-1999)."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def uscc_check_char(body: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


@st.composite
def id_numbers(draw, *, born=None):
    province = draw(st.sampled_from(PROVINCES))
    rest = draw(st.text("0123456789", min_size=4, max_size=4))
    if born is None:
        born = draw(st.dates(min_value=datetime.date(1880, 1, 1), max_value=LATEST_BIRTH))
    order = draw(st.integers(min_value=0, max_value=999))
    body = f"{province}{rest}{born:%Y%m%d}{order:03d}"
    return body + id_check_char(body)


@st.composite
def credit_codes(draw):
    authority = draw(st.sampled_from("159ANY"))
    category = draw(st.sampled_from("123"))
    division = draw(st.sampled_from(PROVINCES)) + draw(st.text("0123456789", min_size=4,
                                                               max_size=4))
    subject = draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    body = f"{authority}{category}{division}{subject}"
    return body + uscc_check_char(body)


# --- 身份证号码 --------------------------------------------------------------


def test_check_char_helper_agrees_with_published_examples():
    """The test's own MOD 11-2 gives the check characters of known numbers."""
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("36042619910101007") == "1"


@fast
@given(id_numbers())
def test_valid_id_numbers_are_accepted(number):
    """Every number with a valid region, birth date and check character passes.
    """
    assert validate_id_number(number) == number


@pytest.mark.parametrize("division", ["449901", "440309", "440310", "330110", "460400"])
def test_divisions_newer_than_stdnums_table_are_accepted(division):
    """Region codes created after 2014 (Shenzhen's 龙华 440309 and the
    demo city's 449901) are not refused: only the province is checked."""
    body = f"{division}19900101123"
    number = body + id_check_char(body)
    assert validate_id_number(number) == number


def test_factory_numbers_are_valid():
    """The factory's numbers pass too, so the world builder stays honest."""
    for seq in (1, 7, 42, 998):
        number = valid_id_number(seq=seq)
        assert validate_id_number(number) == number


@fast
@given(id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from(ID_CHARS))
def test_any_single_character_change_is_refused(number, position, replacement):
    """MOD 11-2 catches every single substitution, wherever it is."""
    assume(number[position] != replacement)
    changed = number[:position] + replacement + number[position + 1:]
    with pytest.raises(InvalidIdentifier) as exc:
        validate_id_number(changed)
    assert exc.value.code == DirectoryErrorCode.INVALID_IDENTIFIER


def test_wrong_check_char_gives_a_clear_chinese_message():
    """A typo in the last place says that the check character is wrong."""
    number = valid_id_number(seq=5)
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    with pytest.raises(InvalidIdentifier) as exc:
        validate_id_number(wrong)
    assert "校验位错误" in exc.value.render("zh-hans")
    assert exc.value.http_status == 400


@pytest.mark.parametrize("birth", [
    "19900230",  # 30 February
    "19901301",  # month 13
    "19900001",  # month 0
    "19900100",  # day 0
    "19000229",  # 1900 was not a leap year
    "18791231",  # before 1880
])
def test_impossible_birth_dates_are_refused(birth):
    """A birth date that does not exist is refused even with a right check
    char."""
    body = f"440305{birth}123"
    with pytest.raises(InvalidIdentifier) as exc:
        validate_id_number(body + id_check_char(body))
    assert "出生日期" in exc.value.render("zh-hans")


def test_leap_day_is_a_real_birth_date():
    """29 February of a leap year is a valid birth date."""
    body = "44030520000229123"
    assert validate_id_number(body + id_check_char(body))


@fast
@given(st.dates(min_value=datetime.date.today() + datetime.timedelta(days=2),
                max_value=datetime.date(2999, 12, 31)).flatmap(lambda d: id_numbers(born=d)))
def test_future_birth_dates_are_refused(number):
    """Nobody is born in the future."""
    with pytest.raises(InvalidIdentifier) as exc:
        validate_id_number(number)
    assert "出生日期" in exc.value.render("zh-hans")


@fast
@given(st.text("0123456789", min_size=4, max_size=4),
       st.integers(min_value=0, max_value=999))
def test_lowercase_x_is_accepted_and_normalised(rest, start):
    """A check character typed as x is read as X; spaces are dropped."""
    bodies = (f"44{rest}19850615{order:03d}" for order in (*range(start, 1000), *range(start)))
    number = next(body for body in bodies if id_check_char(body) == "X") + "X"
    assert validate_id_number(number.lower()) == number
    spaced = f" {number[:6]} {number[6:14]} {number[14:].lower()} "
    assert validate_id_number(spaced) == number


@pytest.mark.parametrize("bad", [
    "", "12345", "11010519491231002", "11010519491231002XX", "1101051949123100ZX",
    "X10105194912310021", "11010519491231002Y",
])
def test_malformed_id_numbers_are_refused_with_the_shape_message(bad):
    """Wrong length or characters: the message says what the shape must be."""
    with pytest.raises(InvalidIdentifier) as exc:
        validate_id_number(bad)
    assert "18 位" in exc.value.render("zh-hans")


def test_full_width_digits_are_refused():
    """Full-width digits would dodge the duplicate check by giving a second
    index for the same person, so they are refused like any other shape
    error."""
    number = "11010519491231002X"
    wide = number[:2] + "".join(chr(ord(c) + 0xFEE0) for c in number[2:17]) + "X"
    with pytest.raises(InvalidIdentifier):
        validate_id_number(wide)


@pytest.mark.parametrize("province", ["00", "10", "19", "29", "66", "99"])
def test_unknown_province_prefix_is_refused(province):
    """The first two digits must be a province-level code."""
    body = f"{province}010519491231002"
    with pytest.raises(InvalidIdentifier) as exc:
        validate_id_number(body + id_check_char(body))
    assert "地区码" in exc.value.render("zh-hans")


# --- 统一社会信用代码 ---------------------------------------------------------


@fast
@given(credit_codes())
def test_valid_credit_codes_are_accepted(code):
    """Any code with a right MOD 31 check character passes, including those
    whose registration authority is a letter (N: rural collectives)."""
    assert validate_credit_code(code) == code
    assert validate_credit_code(code.lower()) == code


@pytest.mark.parametrize("body", ["N2449901MA5F00001", "Y1449901MA5F00001",
                                  "A1449901MA5F00001", "93449901MA5F00001"])
def test_credit_codes_with_letter_authorities_are_accepted(body):
    """GB 32100 lets the registration authority and category be letters:
    N2 (village collectives), Y1 (other), A1 (military); python-stdnum wrongly
    wants digits there."""
    code = body + uscc_check_char(body)
    assert validate_credit_code(code) == code


def test_factory_credit_codes_are_valid():
    """The factory's credit codes pass."""
    code = valid_credit_code(7)
    assert validate_credit_code(code) == code


@fast
@given(credit_codes(), st.sampled_from(USCC_ALPHABET))
def test_wrong_credit_code_check_char_is_refused(code, replacement):
    """Any other last character is refused."""
    assume(replacement != code[17])
    with pytest.raises(InvalidIdentifier) as exc:
        validate_credit_code(code[:17] + replacement)
    assert "统一社会信用代码无效" in exc.value.render("zh-hans")


@fast
@given(credit_codes(), st.integers(min_value=0, max_value=16), st.sampled_from(USCC_ALPHABET))
def test_single_substitution_in_a_credit_code_is_refused(code, position, replacement):
    """MOD 31 with weights prime to 31 catches every single substitution."""
    assume(code[position] != replacement)
    with pytest.raises(InvalidIdentifier):
        validate_credit_code(code[:position] + replacement + code[position + 1:])


@pytest.mark.parametrize("bad", ["", "91440300", "91440300MA5F00001AA", "914403OOMA5F0000I1"])
def test_malformed_credit_codes_are_refused(bad):
    """Wrong length, letters in the division part, or letters outside the
    alphabet (I, O, S, V, Z) are refused."""
    with pytest.raises(InvalidIdentifier):
        validate_credit_code(bad)


# --- 行政区划代码 -------------------------------------------------------------


@pytest.mark.parametrize(("raw", "normalised"), [
    ("440000", "440000"),
    ("449901", "449901"),
    (" 440309 ", "440309"),
    ("449901001", "449901001"),
    ("449901001002", "449901001002"),
    ("449901000000", "449901"),
    ("449901001000", "449901001"),
    ("440000000000", "440000"),
])
def test_division_codes_are_normalised_to_their_shortest_exact_form(raw, normalised):
    """6, 9 and 12 digits are accepted; trailing zero levels of the
    12-digit statistical form are dropped."""
    assert validate_division_code(raw) == normalised


@pytest.mark.parametrize("bad", [
    "", "44", "4499010", "44990100", "4499010010", "44990100100", "4499010010020",
    "44990a", "44 9901", "-44990", "44９９０１",
])
def test_division_codes_of_the_wrong_shape_are_refused(bad):
    """Only 6, 9 or 12 ASCII digits are division codes."""
    with pytest.raises(InvalidIdentifier) as exc:
        validate_division_code(bad)
    assert "行政区划代码应为" in exc.value.render("zh-hans")


@pytest.mark.parametrize("bad", ["000000", "100000", "990000", "660101001", "990101001002"])
def test_division_codes_with_a_bad_province_are_refused(bad):
    """The first two digits must be a province-level code."""
    with pytest.raises(InvalidIdentifier) as exc:
        validate_division_code(bad)
    assert "省级代码无效" in exc.value.render("zh-hans")


# --- Masking -------------------------------------------------------------------


@fast
@given(id_numbers())
def test_masked_id_number_keeps_only_region_and_last_four(number):
    """4403**********1234: the province and city, ten stars, the last four."""
    masked = mask_id_number(number)
    assert re.fullmatch(r"\d{4}\*{10}\d{3}[\dX]", masked)
    assert masked[:4] == number[:4]
    assert masked[-4:] == number[-4:]
    assert number[4:14] not in masked


def test_mask_shape_example():
    """The documented example."""
    assert mask_id_number("440305199001011234") == "4403**********1234"


def test_short_values_are_masked_entirely():
    """Values too short to keep both ends are all stars."""
    assert mask_id_number("12345678") == "********"
    assert mask_id_number("") == ""


def test_names_keep_the_family_name_only():
    """Names keep their first character."""
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "李"
