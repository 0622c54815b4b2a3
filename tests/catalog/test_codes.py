"""Basic codes and implementation codes: their shape, check characters and owner."""

import json
import threading
import time

import pytest
from django.db import connection

from tests.cases.helpers import run_in_thread
from tests.catalog.helpers import create, editor, nothing_written, reviewer
from tests.factories import item_content, valid_credit_code
from tests.markers import postgres_only
from yizhan.catalog import codes, services, transfer
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import Item
from yizhan.core.errors import InvalidInput

CREDIT = valid_credit_code(101, "449900")


@pytest.mark.parametrize("value", ["XK00101000", "xk00101000", " GG10101000 "])
def test_basic_code_is_normalised(value):
    assert codes.validate_basic_code(value) == value.strip().upper()


@pytest.mark.parametrize("value", ["", "XK0010100", "XK001010000", "XX00101000", "XK0010100A",
                                   "0000101000"])
def test_bad_basic_code_is_refused_with_its_field(value):
    with pytest.raises(InvalidInput) as exc:
        codes.validate_basic_code(value)
    assert exc.value.code == CatalogErrorCode.BAD_BASIC_CODE
    assert exc.value.fields["field"] == "basic_code"
    assert "10 位" in exc.value.render()


def test_impl_code_is_made_and_parsed_back():
    code = codes.make_impl_code(basic_code="XK00101000", level="3", division_code="449900",
                                credit_code=CREDIT, sequence=1)
    assert code == f"XK001010003449900{CREDIT}01"
    assert len(code) == 37
    parsed = codes.parse_impl_code(code.lower())
    assert parsed == codes.ImplCode("XK00101000", "3", "449900", CREDIT, "01")
    assert str(parsed) == code


def test_township_impl_code_carries_a_nine_digit_division():
    code = codes.make_impl_code(basic_code="GG10101000", level="5", division_code="449901001",
                                credit_code=CREDIT, sequence=12)
    assert len(code) == 40
    parsed = codes.parse_impl_code(code)
    assert (parsed.division, parsed.sequence) == ("449901001", "12")


def test_division_for_level_pads_a_county_code_for_township_items():
    assert codes.division_for_level("449900", "3") == "449900"
    assert codes.division_for_level("449901001", "4") == "449901"
    assert codes.division_for_level("449901001", "5") == "449901001"
    assert codes.division_for_level("449901", "5") == "449901000"


def _wrong_check_char(credit: str) -> str:
    return credit[:17] + ("0" if credit[17] != "0" else "1")


@pytest.mark.parametrize(("value", "detail"), [
    ("XK0010100", "长度不足"),
    ("XX001010003449900" + CREDIT + "01", "基本编码"),
    ("XK001010009449900" + CREDIT + "01", "事权层级"),
    ("XK001010003449900" + CREDIT + "1", "长度应为 37 位"),
    ("XK001010003009900" + CREDIT + "01", "行政区划代码 009900"),
    ("XK001010003449900" + _wrong_check_char(CREDIT) + "01", "校验不通过"),
    ("XK001010003449900" + CREDIT + "0A", "业务办理项编码"),
])
def test_bad_impl_code_is_refused_with_what_is_wrong(value, detail):
    with pytest.raises(InvalidInput) as exc:
        codes.parse_impl_code(value)
    assert exc.value.code == CatalogErrorCode.BAD_IMPL_CODE
    assert exc.value.fields["field"] == "impl_code"
    assert detail in exc.value.render()


# --- codes given to item_create ---------------------------------------------------


def test_generated_impl_code_names_the_agency_and_counts_up(world):
    first = create(world, "甲事项")
    second = create(world, "甲事项分项")
    credit = world.agency_a.credit_code
    assert first.item.impl_code == f"XK001010003449900{credit}01"
    assert second.item.impl_code == f"XK001010003449900{credit}02"


def test_given_impl_code_of_the_agency_is_kept(world):
    code = f"XK001010003449900{world.agency_a.credit_code}07"
    version = services.item_create(actor=editor(world), agency=world.agency_a,
                                   data=item_content(), impl_code=code.lower())
    assert version.item.impl_code == code


def test_impl_code_with_a_wrong_credit_check_character_is_refused(world):
    code = f"XK001010003449900{_wrong_check_char(world.agency_a.credit_code)}01"
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.item_create(actor=editor(world), agency=world.agency_a, data=item_content(),
                             impl_code=code)
    assert exc.value.code == CatalogErrorCode.BAD_IMPL_CODE
    assert "校验不通过" in exc.value.render()


def test_impl_code_naming_another_agency_is_refused(world):
    code = f"XK001010003449900{world.agency_b.credit_code}01"
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.item_create(actor=editor(world), agency=world.agency_a, data=item_content(),
                             impl_code=code)
    assert exc.value.code == CatalogErrorCode.BAD_IMPL_CODE
    assert "甲局" in exc.value.render()


@pytest.mark.parametrize("code_of", [
    lambda credit: f"XK001010003449901{credit}01",   # another division
    lambda credit: f"XK001020003449900{credit}01",   # another basic code
    lambda credit: f"XK001010002449900{credit}01",   # another level
])
def test_impl_code_disagreeing_with_the_content_is_refused(world, code_of):
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.item_create(actor=editor(world), agency=world.agency_a, data=item_content(),
                             impl_code=code_of(world.agency_a.credit_code))
    assert exc.value.code == CatalogErrorCode.BAD_IMPL_CODE


def test_impl_code_in_use_is_refused(world):
    first = create(world)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.item_create(actor=editor(world), agency=world.agency_a, data=item_content(),
                             impl_code=first.item.impl_code)
    assert exc.value.code == CatalogErrorCode.ITEM_EXISTS


def test_township_item_gets_a_code_that_parses_and_can_be_given_back(world):
    """A level-5 item's generated code has the 9-digit division its parser expects."""
    version = create(world, "街道事项", exercise_level="5")
    code = version.item.impl_code
    assert codes.parse_impl_code(code).division == "449900000"
    again = services.item_create(actor=editor(world), agency=world.agency_a,
                                 data=item_content("街道事项二", exercise_level="5"),
                                 impl_code=code[:-2] + "05")
    assert again.item.impl_code.endswith("05")


def test_the_hundredth_item_of_one_basic_code_is_refused_clearly(world):
    """The business sequence has two digits: a 100th item got a 38-character code,
    which every later check refused (no next version could ever be drafted)."""
    first = create(world)
    Item.objects.bulk_create(
        Item(impl_code=first.item.impl_code[:-2] + f"{sequence:02d}", agency=world.agency_a,
             created_at=first.item.created_at) for sequence in range(2, 100))
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        create(world, "第一百个事项")
    assert exc.value.code == CatalogErrorCode.IMPL_CODES_EXHAUSTED
    assert exc.value.fields["field"] == "basic_code"
    assert exc.value.render("zh-hans") == (
        "实施机关“甲局”的基本编码 XK00101000（行使层级 3）已有 99 个事项，业务办理项编码已用完，"
        "不能再新建。")
    # Another basic code of the agency still has all of its sequences.
    assert create(world, "另一事项", basic_code="XK00102000").item.impl_code.endswith("01")
    records = transfer.read_upload("catalog.json", json.dumps(
        [{**item_content("导入的第一百个"), "agency": "甲局"}]).encode())
    with nothing_written(), pytest.raises(transfer.ImportFailed) as failed:
        transfer.catalog_import(actor=editor(world), records=records)
    assert [e["field"] for e in failed.value.fields["errors"]] == ["basic_code"]


# --- two editors at once (PostgreSQL) -------------------------------------------------


def _lock_waits() -> int:
    """Connections of this database waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


@postgres_only
@pytest.mark.parametrize("given", [False, True])
def test_two_editors_creating_items_of_one_basic_code_at_once(transactional_db, world,
                                                               monkeypatch, given):
    """The first editor's code is chosen and not yet written when the second's is
    chosen: both once got ...01, and the second insert died on the unique index (a
    server error).  Now the second waits for the first (its agency's row) and gets
    ...02, or, for a code given explicitly and taken meanwhile, the refusal any taken
    code gets."""
    code = f"XK001010003449900{world.agency_a.credit_code}07" if given else None
    original = services._impl_code_for
    chosen = {"first": threading.Event(), "second": threading.Event()}
    go_on = threading.Event()

    def choosing(*args, **kwargs):
        result = original(*args, **kwargs)
        name = threading.current_thread().name
        chosen[name].set()
        if name == "first":
            go_on.wait(timeout=30)  # chosen, not yet written
        return result

    monkeypatch.setattr(services, "_impl_code_for", choosing)
    head, officer = editor(world), reviewer(world)
    first, first_box = run_in_thread(lambda: services.item_create(
        actor=head, agency=world.agency_a, data=item_content("一"), impl_code=code),
        name="first")
    assert chosen["first"].wait(timeout=30)
    second, second_box = run_in_thread(lambda: services.item_create(
        actor=officer, agency=world.agency_a, data=item_content("二"), impl_code=code),
        name="second")
    deadline = time.monotonic() + 30
    while not (chosen["second"].is_set() or _lock_waits()) and time.monotonic() < deadline:
        chosen["second"].wait(timeout=0.02)   # either it chose too, or it waits on a lock
    go_on.set()
    first.join(timeout=30)
    second.join(timeout=30)
    one, two = first_box["result"], second_box["result"]
    assert not isinstance(one, Exception), one
    if given:
        assert isinstance(two, InvalidInput), two
        assert two.code == CatalogErrorCode.ITEM_EXISTS
        assert list(Item.objects.values_list("impl_code", flat=True)) == [code]
    else:
        assert not isinstance(two, Exception), two
        assert (one.item.impl_code[-2:], two.item.impl_code[-2:]) == ("01", "02")
