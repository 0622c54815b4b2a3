"""Import and export of the catalog: Excel and JSON, all records or none."""

import io
import json
import re
import threading
import time
import zipfile

import pytest
from openpyxl import load_workbook

from tests.cases.helpers import run_in_thread
from tests.catalog.helpers import (
    create,
    editor,
    nothing_written,
    provincial_agency,
    publish,
    published,
    reviewer,
    workbook_bytes,
)
from tests.catalog.test_codes import _lock_waits
from tests.factories import item_content, valid_credit_code
from tests.markers import postgres_only
from yizhan.audit.models import AuditRecord
from yizhan.catalog import selectors, services, transfer
from yizhan.catalog.actions import CatalogAction
from yizhan.catalog.content import version_as_data
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import Item, ItemVersion
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory import services as directory_services


def _json(*records) -> bytes:
    return json.dumps({"items": list(records)}, ensure_ascii=False).encode()


def _record(name="导入事项", agency="甲局", **overrides):
    return {**item_content(name, **overrides), "agency": agency}


def _import(world, raw, name="catalog.json", actor=None):
    records = transfer.read_upload(name, raw)
    return transfer.catalog_import(actor=actor or editor(world), records=records, source=name)


def _failed(world, raw, name="catalog.xlsx", actor=None) -> list[tuple]:
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw, name, actor)
    assert exc.value.code == CatalogErrorCode.IMPORT_FAILED
    errors = exc.value.fields["errors"]
    assert exc.value.fields["count"] == len(errors)
    return [(e["sheet"], e["row"], e["field"]) for e in errors]


# --- JSON ---------------------------------------------------------------------


def test_json_import_creates_drafts_and_one_audit_row(world):
    result = _import(world, _json(_record("甲事项"), _record("乙事项", agency="乙局")),
                     actor=world.admin)
    assert len(result.created) == 2
    assert result.drafted == []
    versions = ItemVersion.objects.order_by("name")
    assert [(v.name, v.status, v.item.agency.name) for v in versions] == [
        ("乙事项", "draft", "乙局"), ("甲事项", "draft", "甲局")]
    record = AuditRecord.objects.get(action=CatalogAction.CATALOG_IMPORTED)
    assert record.object_id == "catalog.json"
    assert record.changes == {"created": result.created, "drafted": [], "unchanged": []}


def test_json_import_accepts_a_bare_list_and_agency_credit_codes(world):
    raw = json.dumps([_record(agency=world.agency_a.credit_code)]).encode()
    assert len(_import(world, raw).created) == 1


def test_json_import_of_a_known_code_drafts_the_next_version(world):
    v1 = published(world)
    result = _import(world, _json(_record("测试事项（修订）", impl_code=v1.item.impl_code)))
    assert result.drafted == [v1.item.impl_code]
    v2 = v1.item.versions.get(number=2)
    assert (v2.name, v2.status) == ("测试事项（修订）", "draft")
    again = _import(world, _json(_record("再次修订", impl_code=v1.item.impl_code)))
    assert again.drafted == [v1.item.impl_code]
    v2.refresh_from_db()
    assert v2.name == "再次修订"
    assert v1.item.versions.count() == 2


@pytest.mark.parametrize(("raw", "message"), [
    (b"{not json", "不是有效的 JSON"),
    (b'{"items": 3}', "事项列表"),
    ("\ufeff[]".encode() + b"\xff", "不是有效的 JSON"),
    (b"[" * 100_000, "嵌套层数过多"),  # once a RecursionError, a 500
])
def test_unreadable_json_is_refused(world, raw, message):
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _import(world, raw)
    assert message in exc.value.render()


def test_bad_json_records_are_all_reported_and_nothing_imported(world):
    raw = _json(_record("好事项"), _record(agency="不存在的局"), "not an object",
                _record(basic_code="XK1", themes=["nope"]))
    assert _failed(world, raw, "catalog.json") == [
        ("JSON", 2, "agency"), ("JSON", 3, ""), ("JSON", 4, "basic_code"),
        ("JSON", 4, "item_type"), ("JSON", 4, "themes")]
    assert not Item.objects.exists()


FEE = {"name": "工本费", "standard": "每证", "basis": "某文"}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"fees": [{**FEE, "amount": "1e20"}]}, "fees[1].amount"),      # stored, then a 500 on read
    ({"fees": [{**FEE, "amount": "0.001"}]}, "fees[1].amount"),
    ({"fees": [{**FEE, "amount": "NaN"}]}, "fees[1].amount"),
    ({"statutory_limit": 10**30, "promised_limit": 1}, "statutory_limit"),
    ({"statutory_limit": float("inf")}, "statutory_limit"),
    ({"statutory_limit": 20.5}, "statutory_limit"),
    ({"materials": [{"name": "申请书", "copies": 10**30}]}, "materials[1].copies"),
    ({"agency": "²"}, "agency"),
    ({"form_fields": [{"name": "k", "label": "类别", "type": "choice", "choices": 5}]},
     "form_fields"),
])
def test_values_a_column_cannot_hold_are_reported_not_a_500(world, overrides, field):
    """Each is named on its row; nothing is imported, so nothing breaks a page later."""
    agency = overrides.pop("agency", "甲局")
    raw = json.dumps({"items": [_record(agency=agency, **overrides)]}, ensure_ascii=False,
                     allow_nan=True).encode()
    assert ("JSON", 1, field) in _failed(world, raw, "catalog.json")
    assert not Item.objects.exists()


def test_a_json_fee_waivable_false_is_not_waivable(world):
    fee = {**FEE, "waivable": "false"}  # once bool("false"): waivable
    result = _import(world, _json(_record(fees=[fee])))
    assert Item.objects.get(impl_code=result.created[0]).versions.get().fees.get().waivable is False


@pytest.mark.parametrize(("overrides", "field", "limit"), [
    ({"materials": [{"name": "申" * 201}]}, "materials[1].name", 200),
    ({"materials": [{"name": "申请书", "condition": "况" * 201}]}, "materials[1].condition", 200),
    ({"materials": [{"name": "申请书", "blank_form": "表" * 256}]},
     "materials[1].blank_form", 255),
    ({"materials": [{"name": "申请书", "sample": "样" * 256}]}, "materials[1].sample", 255),
    ({"fees": [{**FEE, "name": "费" * 201}]}, "fees[1].name", 200),
    ({"fees": [{**FEE, "standard": "标" * 201}]}, "fees[1].standard", 200),
])
def test_a_material_or_fee_text_longer_than_its_column_is_reported_not_cut(
        world, overrides, field, limit):
    """Once cut to size silently: the import "succeeded" with other content than the
    file's.  Reported as the item's own texts are, with the field and its limit."""
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, _json(_record(**overrides)))
    [error] = exc.value.fields["errors"]
    assert (error["row"], error["field"]) == (1, field)
    assert error["problem"].endswith(f"不能超过 {limit} 个字")


def test_material_and_fee_texts_as_long_as_their_columns_are_kept_whole(world):
    result = _import(world, _json(_record(
        materials=[{"name": "申" * 200, "condition": "况" * 200, "blank_form": "表" * 255}],
        fees=[{**FEE, "name": "费" * 200, "standard": "标" * 200}])))
    version = Item.objects.get(impl_code=result.created[0]).versions.get()
    material, fee = version.materials.get(), version.fees.get()
    assert (len(material.name), len(material.condition), len(material.blank_form)) == (
        200, 200, 255)
    assert (len(fee.name), len(fee.standard)) == (200, 200)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": ["食品经营许可"]}, "name"),
    ({"legal_basis": {"法": "食品安全法"}}, "legal_basis"),
    ({"acceptance_conditions": ["符合条件"]}, "acceptance_conditions"),
    ({"consultation": True}, "consultation"),
    ({"materials": [{"name": ["申请书"]}]}, "materials[1].name"),
    ({"materials": [{"name": "申请书", "basis": {"条": 8}}]}, "materials[1].basis"),
    ({"fees": [{**FEE, "standard": ["每证 10 元"]}]}, "fees[1].standard"),
])
def test_a_json_list_object_or_boolean_where_text_belongs_is_reported(world, overrides, field):
    """Its str() was stored: the guide showed "['食品经营许可']"."""
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, _json(_record(**overrides)))
    [error] = exc.value.fields["errors"]
    assert error["field"] == field
    assert error["problem"].endswith("应为文本")


def test_numbers_where_text_belongs_are_read_as_written(world):
    """An Excel cell or a JSON number holding digits (a hotline, a count) is that text."""
    result = _import(world, _json(_record(
        complaint=12345, limit_notes=1.5, materials=[{"name": 2024, "condition": 0}],
        fees=[{**FEE, "standard": 10}])))
    version = Item.objects.get(impl_code=result.created[0]).versions.get()
    assert (version.complaint, version.limit_notes) == ("12345", "1.5")
    assert (version.materials.get().name, version.materials.get().condition) == ("2024", "0")
    assert version.fees.get().standard == "10"


def test_a_record_with_the_code_of_an_internal_item_is_a_row_error_not_a_404(world):
    """The platform's own items (监察督办) have no next draft: the whole import once
    answered 404 for one such row."""
    version = published(world)
    Item.objects.filter(pk=version.item_id).update(internal=True)
    raw = _json(_record("新事项", basic_code="XK00102000"),
                _record(impl_code=version.item.impl_code))
    assert _failed(world, raw, "catalog.json") == [("JSON", 2, "impl_code")]


@pytest.mark.parametrize("depth", ["12", "0", "99999"])
def test_an_online_depth_out_of_range_is_reported_not_cut_to_its_first_digit(world, depth):
    """"12" was once read as 1."""
    assert ("JSON", 1, "online_depth") in _failed(world, _json(_record(online_depth=depth)),
                                                  "catalog.json")


def test_excel_yes_no_and_depth_words_it_does_not_know_are_reported(world):
    raw = workbook_bytes(
        items=[{"事项键": "k1", "实施机关": "甲局", "事项名称": "事项", "基本编码": "XK00101000",
                "行使层级": "3", "设定依据": "某法", "服务对象": "legal", "受理条件": "符合条件",
                "法定时限": 20, "承诺时限": 10, "网上办理深度": "12 级"}],
        fees=[{"事项键": "k1", "收费项目": "工本费", "收费标准": "每证", "收费依据": "某文件",
               "可减免": "看情况"}])
    assert sorted(_failed(world, raw)) == [("事项", 2, "网上办理深度"), ("收费项目", 2, "可减免")]


def test_a_basic_code_written_as_a_number_is_read_as_its_digits(world):
    """An Excel cell or a JSON number holding the ten digits of a public-service code."""
    record = _record(basic_code=1010100000, item_type="")
    failures = _failed(world, _json(record), "catalog.json")
    assert ("JSON", 1, "basic_code") in failures  # "1010100000": no type letters, told so


def test_two_records_claiming_one_code_import_nothing(world):
    """A clash seen only while writing still leaves nothing behind."""
    code = f"XK001010003449900{world.agency_a.credit_code}01"
    raw = _json(_record("一", impl_code=code), _record("二", impl_code=code))
    assert _failed(world, raw, "catalog.json") == [("JSON", 2, "impl_code")]


def test_an_impl_code_typed_with_spaces_or_in_lower_case_finds_its_item(world):
    v1 = published(world)
    raw = _json(_record("修订", impl_code=f" {v1.item.impl_code.lower()} "))
    assert _import(world, raw).drafted == [v1.item.impl_code]
    assert v1.item.versions.get(number=2).name == "修订"


def test_records_repeating_a_known_item_s_code_are_each_reported(world):
    """Once merged silently: each became the next draft, the last one's content kept."""
    code = published(world).item.impl_code
    raw = _json(_record("第一条", impl_code=code), _record("第二条", impl_code=f"{code} "),
                _record("另一个事项", basic_code="XK00102000"), _record("第三条", impl_code=code))
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw)
    errors = exc.value.fields["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(2, "impl_code"), (4, "impl_code")]
    assert errors[1]["problem"] == f"实施编码 {code} 与第 1 行重复，一个事项在文件中只能出现一次"


def test_every_clash_seen_while_writing_is_reported_at_once(world):
    """Not only the first: the editor fixes the file once."""
    first = f"XK001010003449900{world.agency_a.credit_code}01"
    second = f"XK001010003449900{world.agency_a.credit_code}02"
    raw = _json(_record("一", impl_code=first), _record("二", impl_code=first),
                _record("三", impl_code=second), _record("四", impl_code=second))
    assert _failed(world, raw, "catalog.json") == [("JSON", 2, "impl_code"),
                                                   ("JSON", 4, "impl_code")]
    assert not Item.objects.exists()


def test_importing_for_an_agency_one_does_not_edit_is_refused(world):
    raw = _json(_record("甲事项"), _record("乙事项", agency="乙局"))
    with nothing_written(), pytest.raises(PermissionDenied) as exc:
        _import(world, raw, actor=editor(world))
    assert "乙局" in exc.value.render()
    assert "第 2 行" in exc.value.render()


def test_staff_who_edit_no_items_cannot_import(world):
    with nothing_written(), pytest.raises(PermissionDenied):
        _import(world, _json(_record()), actor=world.user("a", "reviewer"))


def test_a_code_of_another_agency_s_item_is_a_row_error_not_a_refusal_of_one_s_own_agency(
        world):
    """甲局's head imports a row for 甲局 whose 实施编码 (copied wrong) is 乙局's item:
    they were told “您无权维护“甲局”的事项”, their own agency, and the import
    stopped there instead of listing the row's problem with the file's others."""
    theirs = published(world, "乙局事项", key="b")
    raw = _json(_record(impl_code=theirs.item.impl_code, agency="甲局"),
                _record("甲局事项", legal_basis=""))
    for actor in (editor(world), world.admin):
        assert _failed(world, raw, "catalog.json", actor=actor) == [
            ("JSON", 1, "impl_code"), ("JSON", 2, "legal_basis")]
    with pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw, actor=editor(world))
    assert exc.value.fields["errors"][0]["problem"] == "实施编码属于另一个机关"
    # 乙局's own head, naming 甲局 for their item: the row's problem too.
    assert _failed(world, _json(_record(impl_code=theirs.item.impl_code, agency="甲局")),
                   "catalog.json", actor=editor(world, "b")) == [
        ("JSON", 1, "impl_code")]


# --- the checks on the file itself ----------------------------------------------


def test_a_text_file_renamed_xlsx_is_refused_clearly(world):
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _import(world, "事项名称,基本编码\n".encode(), "catalog.xlsx")
    assert exc.value.render("zh-hans") == "文件不是有效的 Excel（.xlsx）工作簿。"
    assert exc.value.http_status == 400


def _damaged_workbook() -> bytes:
    good = zipfile.ZipFile(io.BytesIO(transfer.export_excel([])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as damaged:
        for name in good.namelist():
            data = good.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            damaged.writestr(name, data)
    return out.getvalue()


def _other_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _patched_workbook(*, flag=None, method=None) -> bytes:
    """A workbook whose entries claim encryption (flag bit 0) or an unknown compression."""
    import struct

    data = bytearray(transfer.export_excel([]))
    # (signature, offset of the flag in that header): local headers, then the directory.
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(signature)
        while pos >= 0:
            if flag is not None:
                struct.pack_into("<H", data, pos + at, flag)
            if method is not None:
                struct.pack_into("<H", data, pos + at + 2, method)
            pos = data.find(signature, pos + 4)
    return bytes(data)


def _encrypted_workbook() -> bytes:
    return _patched_workbook(flag=1)


def _oddly_compressed_workbook() -> bytes:
    return _patched_workbook(method=99)


def _chart_named_like_the_item_sheet(*, with_chart: bool) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    book.active.title = "其他"
    book.active.append([1])
    chartsheet = book.create_chartsheet("事项")
    if with_chart:
        chart = BarChart()
        chart.add_data(Reference(book.active, min_col=1, min_row=1, max_row=1))
        chartsheet.add_chart(chart)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _chartsheet() -> bytes:
    return _chart_named_like_the_item_sheet(with_chart=True)


def _empty_chartsheet() -> bytes:
    return _chart_named_like_the_item_sheet(with_chart=False)


@pytest.mark.parametrize("raw", [b"PK\x03\x04 but no archive follows", b"PK", "_other_zip",
                                 "_damaged_workbook", "_encrypted_workbook",
                                 "_oddly_compressed_workbook", "_chartsheet",
                                 "_empty_chartsheet"])
def test_a_broken_or_foreign_zip_named_xlsx_is_refused_not_crashed_on(world, raw):
    raw = globals()[raw]() if isinstance(raw, str) else raw
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _import(world, raw, "catalog.xlsx")
    assert exc.value.render("zh-hans").startswith("文件不是有效的 Excel（.xlsx）工作簿")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": "\ud800"}, "name"),  # a lone surrogate: the database write failed
    ({"agency": "\udfff"}, "agency"),
    ({"impl_code": "XK\x00"}, "impl_code"),
    ({"consultation": "电话\x0112345"}, "consultation"),  # the Excel export failed
    ({"materials": [{"name": "申请\x1f书"}]}, "materials[1].name"),
])
def test_text_no_column_can_hold_is_a_row_error_not_a_500(world, overrides, field):
    raw = json.dumps({"items": [_record(**overrides)]}).encode()  # written as \uXXXX
    assert ("JSON", 1, field) in _failed(world, raw, "catalog.json")


def test_a_tiny_sparse_workbook_is_read_quickly(world):
    """One far-away cell (XFD20000) once padded every row to 16,384 columns: minutes."""
    import time

    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "事项"
    book.active.append([h for h, _k in transfer.ITEM_COLUMNS])
    book.active.cell(row=20000, column=16384, value="x")
    buffer = io.BytesIO()
    book.save(buffer)
    started = time.monotonic()
    assert transfer.read_upload("catalog.xlsx", buffer.getvalue()) == []
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("name", ["catalog.xlsx", "catalog.json"])
def test_more_items_than_an_import_reads_are_refused(world, monkeypatch, name):
    monkeypatch.setattr(transfer, "MAX_IMPORT_ITEMS", 2)
    rows = [{"事项键": f"k{n}", "事项名称": f"事项{n}"} for n in range(3)]
    raw = workbook_bytes(items=rows) if name.endswith("xlsx") else _json(*rows)
    with pytest.raises(InvalidInput) as exc:
        transfer.read_upload(name, raw)
    assert "超过 2 " in exc.value.render("zh-hans")
    monkeypatch.setattr(transfer, "MAX_IMPORT_ITEMS", 3)
    assert len(transfer.read_upload(name, raw)) == 3


def test_an_oversized_file_is_refused_with_413(world):
    with pytest.raises(InvalidInput) as exc:
        transfer.read_upload("catalog.json", b" " * (transfer.MAX_IMPORT_BYTES + 1))
    assert exc.value.http_status == 413
    assert "10 MB" in exc.value.render()


@pytest.mark.parametrize("name", ["catalog.txt", "catalog.csv", "catalog", "catalog.xls"])
def test_other_file_types_are_refused_with_415(name):
    with pytest.raises(InvalidInput) as exc:
        transfer.read_upload(name, b"anything")
    assert exc.value.http_status == 415
    assert ".xlsx" in exc.value.render()


# --- Excel --------------------------------------------------------------------


def _published_pair(world):
    one = published(world, "并联事项", process_template="parallel", joint_agencies=["乙局"],
                    special_procedures=["inspection"], themes=["permits", "establish"],
                    materials=[{"name": "申请书", "forms": ["original", "electronic"],
                                "copies": 2, "necessity": "conditional",
                                "condition": "委托办理的", "source": "government",
                                "acceptance_standard": "签字", "basis": "某条例第八条"},
                               {"name": "营业执照", "forms": ["copy"]}],
                    fees=[{"name": "工本费", "standard": "每证 10 元", "amount": "10.50",
                           "basis": "某文件", "waivable": True,
                           "waiver_basis": "低保对象免收：某文件"}])
    two = published(world, "即办事项", basic_code="QR00201000", case_type="immediate",
                    process_template="immediate", statutory_limit=1, promised_limit=0,
                    materials=[])
    return one, two


def _renamed(raw: bytes, fmt: str, impl_code: str, name: str) -> bytes:
    """An export with the name of one item changed, as an editor changes it."""
    if fmt == "json":
        data = json.loads(raw)
        for record in data["items"]:
            if record["impl_code"] == impl_code:
                record["name"] = name
        return json.dumps(data, ensure_ascii=False).encode()
    book = load_workbook(io.BytesIO(raw))
    sheet = book["事项"]
    headers = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[headers.index("实施编码")].value == impl_code:
            row[headers.index("事项名称")].value = name
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_excel_round_trip_writes_only_the_items_whose_rows_were_changed(world):
    """Once every item of the file got a new draft, the same content again
    (the behaviour this test stated before): an untouched file changes nothing."""
    one, two = _published_pair(world)
    raw = transfer.export_excel(selectors.published_versions())
    result = _import(world, raw, "catalog.xlsx")
    assert (result.created, result.drafted) == ([], [])
    assert sorted(result.unchanged) == sorted([one.item.impl_code, two.item.impl_code])
    assert ItemVersion.objects.count() == 2
    result = _import(world, _renamed(raw, "xlsx", one.item.impl_code, "并联事项（修订）"),
                     "catalog.xlsx")
    assert (result.drafted, result.unchanged) == ([one.item.impl_code], [two.item.impl_code])
    v2 = one.item.versions.get(number=2)
    assert v2.status == "draft"
    assert version_as_data(v2) == {**version_as_data(one), "name": "并联事项（修订）"}
    assert not two.item.versions.filter(number=2).exists()


def test_excel_round_trip_keeps_a_custom_process(world):
    """The uploaded BPMN file once had no column: the import then refused the item."""
    from yizhan.bpmn.templates import template_xml

    v1 = published(world, "自定义流程事项", process_template="custom",
                   process_xml=template_xml("promised").decode())
    result = _import(world, transfer.export_excel(selectors.published_versions()),
                     "catalog.xlsx")
    assert result.unchanged == [v1.item.impl_code]  # read back as the version holds it


def test_excel_export_writes_text_starting_with_equals_as_text(world):
    """Not a formula: it would run in the reader's Excel, and come back empty on import."""
    v1 = published(world, '=HYPERLINK("http://evil.example","点此")', limit_notes="=法定时限减半",
                   materials=[{"name": "=申请书"}])
    raw = transfer.export_excel(selectors.published_versions())
    book = load_workbook(io.BytesIO(raw))
    cells = [book["事项"]["D2"], book["申请材料"]["B2"]]
    assert [(c.value, c.data_type, c.quotePrefix) for c in cells] == [
        ('=HYPERLINK("http://evil.example","点此")', "s", True), ("=申请书", "s", True)]
    assert _import(world, raw, "catalog.xlsx").unchanged == [v1.item.impl_code]


def test_a_text_longer_than_an_excel_cell_is_refused_clearly(world, client_for):
    version = published(world, legal_basis="法" * (transfer.EXCEL_CELL_LIMIT + 1))
    with pytest.raises(InvalidInput) as exc:
        transfer.export_excel(selectors.published_versions())
    assert exc.value.render("zh-hans") == (
        f"事项 {version.item.impl_code} 的“设定依据”超过 Excel 单元格上限 32767 个字符，"
        "不能导出为 Excel，请导出为 JSON。")
    response = client_for(editor(world)).get("/workbench/catalog/export/", follow=True)
    assert "超过 Excel 单元格上限" in response.content.decode()
    assert len(json.loads(transfer.export_json(selectors.published_versions()))["items"]) == 1


def test_control_characters_stored_before_they_were_refused_do_not_break_the_export(world):
    version = published(world)
    ItemVersion.objects.filter(pk=version.pk).update(consultation="电话\x0112345")
    book = load_workbook(io.BytesIO(transfer.export_excel(selectors.published_versions())))
    headers = [c.value for c in book["事项"][1]]
    assert book["事项"].cell(row=2, column=headers.index("咨询方式") + 1).value == "电话12345"


def test_json_round_trip_keeps_the_content(world):
    one, two = _published_pair(world)
    raw = transfer.export_json(selectors.published_versions())
    assert sorted(_import(world, raw).unchanged) == sorted([one.item.impl_code,
                                                            two.item.impl_code])
    _import(world, _renamed(raw, "json", one.item.impl_code, "改名"))
    assert version_as_data(one.item.versions.get(number=2)) == {**version_as_data(one),
                                                                "name": "改名"}


@pytest.mark.parametrize("fmt", ["xlsx", "json"])
def test_every_field_survives_a_round_trip(world, fmt):
    """Upper and joint agencies, form fields, files, fees with and without an amount,
    and texts that look like numbers, formulas or Excel error values come back as
    they were, in either format."""
    from tests.cases.helpers import add_agency
    from tests.catalog.helpers import attach, pdf_bytes, publish

    add_agency(world, "丙局", credit_seed=303)
    version = create(
        world, "全字段事项", process_template="upper_review",
        upper_agency=provincial_agency(world).name,
        joint_agencies=["丙局"], special_procedures=["inspection"], themes=["permits"],
        form_fields=[{"name": "area", "label": "面积", "type": "choice", "required": True,
                      "choices": ["1", "2.0", "是"]}],
        limit_notes="  前后空格  ", consultation="0755-1234", complaint="12345",
        handling_place="市民中心A区2楼\n=各区行政服务中心", handling_hours="9:00",
        result_name="许可证", result_type="证照", result_sample="#N/A",
        visits_required=0, online_depth=3,
        materials=[{"name": "申请书", "forms": ["original", "copy"], "copies": 3,
                    "condition": "  条件 ", "blank_form": "'引号", "sample": "=x",
                    "acceptance_standard": "0012", "basis": "TRUE"},
                   {"name": "0123", "necessity": "optional", "source": "government"}],
        fees=[{"name": "费", "standard": "标准", "amount": "0", "basis": "依据",
               "waivable": False},
              {"name": "费2", "standard": "#REF!", "amount": None, "basis": "依据",
               "waivable": True, "waiver_basis": "小微企业免收：\n财税〔2016〕79号"},
              {"name": "费3", "standard": "标准", "amount": "1234567890.12", "basis": "依据"}])
    attach(world, version, pdf_bytes("round trip"))
    attach(world, version, pdf_bytes("round trip sample"), kind="result_sample",
           name="样本.pdf")
    v1 = publish(world, ItemVersion.objects.get(pk=version.pk))
    versions = selectors.versions_for_export(selectors.published_versions())
    raw = transfer.export_excel(versions) if fmt == "xlsx" else transfer.export_json(versions)
    result = _import(world, raw, f"catalog.{fmt}", actor=world.admin)
    assert result.unchanged == [v1.item.impl_code]
    # Written as a new draft once a cell changes: all the rest as it was.
    _import(world, _renamed(raw, fmt, v1.item.impl_code, "全字段事项（修订）"),
            f"catalog.{fmt}", actor=world.admin)
    assert version_as_data(v1.item.versions.get(number=2)) == {
        **version_as_data(v1), "name": "全字段事项（修订）"}


@pytest.mark.parametrize("fmt", ["xlsx", "json"])
def test_export_of_an_item_with_a_kept_upper_agency_imports_back(world, fmt):
    """An item stored before the upper-agency rule keeps its upper agency in its next
    versions (docs/catalog.md); its export, imported back untouched or with its name
    changed, was refused at upper_agency (上级审批机关须是本机关的上级机关)."""
    v1 = published(world, process_template="upper_review",
                   upper_agency=provincial_agency(world).name)
    ItemVersion.objects.filter(pk=v1.pk).update(upper_agency=world.agency_b)
    v1.refresh_from_db()
    versions = selectors.versions_for_export(selectors.published_versions())
    raw = transfer.export_excel(versions) if fmt == "xlsx" else transfer.export_json(versions)
    assert _import(world, raw, f"catalog.{fmt}").unchanged == [v1.item.impl_code]
    renamed = _renamed(raw, fmt, v1.item.impl_code, "改过名的事项")
    assert _import(world, renamed, f"catalog.{fmt}").drafted == [v1.item.impl_code]
    draft = v1.item.versions.get(number=2)
    assert (draft.name, draft.upper_agency_id) == ("改过名的事项", world.agency_b.pk)
    # The desk's export of that draft, changed and imported over it (an edit of it).
    again = _renamed(_desk_export(world), "xlsx", v1.item.impl_code, "再改名的事项")
    assert _import(world, again, "catalog.xlsx").drafted == [v1.item.impl_code]
    draft.refresh_from_db()
    assert (draft.name, draft.upper_agency_id) == ("再改名的事项", world.agency_b.pk)


def test_an_import_naming_another_upper_agency_that_is_not_above_is_refused(world):
    """Only the upper agency the item already names is kept: naming another that is
    not above the item's agency is refused, as for a new item."""
    v1 = published(world, process_template="upper_review",
                   upper_agency=provincial_agency(world).name)
    ItemVersion.objects.filter(pk=v1.pk).update(upper_agency=world.agency_b)
    data = json.loads(transfer.export_json([ItemVersion.objects.get(pk=v1.pk)]))
    data["items"][0]["upper_agency"] = "甲局审批科"
    assert _failed(world, json.dumps(data, ensure_ascii=False).encode(), "catalog.json") == [
        ("JSON", 1, "upper_agency")]


def _namesake(world, name: str, division="440000", seed=303):
    """Another agency called ``name`` (in the province, which sorts first)."""
    return directory_services.agency_create(actor=world.admin, name=name, kind="department",
                                            division_code=division,
                                            credit_code=valid_credit_code(seed, division))


@pytest.mark.parametrize("export", [transfer.export_json, transfer.export_excel])
def test_a_round_trip_keeps_agencies_whose_names_another_division_bears(world, export):
    """Exports name agencies by credit code; by name, the other division's was taken."""
    upper = provincial_agency(world)
    one = published(world, "上级初审事项", process_template="upper_review",
                    upper_agency=upper.name, joint_agencies=["乙局"])
    _namesake(world, "乙局")
    _namesake(world, "甲局", seed=404)
    _namesake(world, upper.name, division="449900", seed=606)
    raw = export(selectors.published_versions())
    result = _import(world, raw, "catalog.xlsx" if export is transfer.export_excel
                     else "catalog.json", actor=world.admin)
    # By name, the other 乙局 would have been read: a change, and a new draft.
    assert (result.unchanged, result.drafted) == ([one.item.impl_code], [])


def test_exports_name_agencies_by_credit_code_and_units_without_one_by_name(world):
    published(world, "并联事项", process_template="parallel",
              joint_agencies=["乙局", "甲局审批科"])
    [record] = json.loads(transfer.export_json(selectors.published_versions()))["items"]
    assert record["agency"] == world.agency_a.credit_code
    assert record["joint_agencies"] == [world.agency_b.credit_code, "甲局审批科"]


def test_a_joint_agency_whose_name_holds_a_list_separator_survives_excel(world):
    joint = _namesake(world, "发改局、粮食局", division="449900", seed=505)
    one = published(world, "并联事项", process_template="parallel",
                    joint_agencies=[joint.credit_code])
    result = _import(world, transfer.export_excel(selectors.published_versions()),
                     "catalog.xlsx")
    assert result.unchanged == [one.item.impl_code]


def test_a_name_several_agencies_bear_is_refused_asking_for_the_credit_code(world):
    _namesake(world, "乙局")
    raw = _json(_record(agency="乙局"), _record(process_template="parallel",
                                               joint_agencies=["乙局"]))
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw, actor=world.admin)
    ambiguous = ("有多个机关名为“乙局”，请改用统一社会信用代码指明是哪一个"
                 "（没有代码的内设机构用机关编号）")
    assert [(e["row"], e["field"]) for e in exc.value.fields["errors"]
            if e["problem"] == ambiguous] == [(1, "agency"), (2, "joint_agencies")]
    # The credit code says which; a name only one agency bears still works.
    raw = _json(_record(agency=world.agency_b.credit_code),
                _record("另一个", basic_code="XK00102000", process_template="parallel",
                        joint_agencies=[world.agency_b.credit_code, "甲局审批科"]))
    assert len(_import(world, raw, actor=world.admin).created) == 2


def test_a_record_without_an_agency_is_not_given_a_unit_without_a_code(world):
    """A blank name once matched the blank credit code of every such unit."""
    assert _failed(world, _json(_record(agency="")), "catalog.json") == [("JSON", 1, "agency")]


_EXCEL_ITEM = {"事项键": "k1", "实施机关": "甲局", "事项名称": "结婚登记",
               "基本编码": "QR00101000", "行使层级": "市级", "设定依据": "《婚姻登记条例》",
               "服务对象": "自然人", "受理条件": "符合条件", "法定时限": 1, "承诺时限": 0,
               "办件类型": "即办件", "流程": "即办件流程"}


def test_excel_accepts_labels_and_blank_optional_cells(world):
    """People fill the sheet with the words they see: 行政许可, 市级, 原件、复印件."""
    raw = workbook_bytes(
        items=[{"事项键": "k1", "实施机关": "甲局", "事项名称": "人工填写的事项",
                "基本编码": "XK00301000", "事项类型": "行政许可", "行使层级": "市级",
                "设定依据": "《某条例》第三条", "服务对象": "法人、自然人",
                "受理条件": "符合条件", "法定时限": 20, "承诺时限": 5, "办件类型": "承诺件",
                "网上办理深度": "四级：全程网上办理", "主题": "准营准办，设立变更",
                "流程": "承诺件流程", "到现场次数": None}],
        materials=[{"事项键": "k1", "材料名称": "申请书", "材料形式": "原件、复印件",
                    "必要性": "必要", "来源渠道": "申请人自备", "份数": 2}],
        fees=[{"事项键": "k1", "收费项目": "工本费", "收费标准": "每证 5 元", "金额上限": 5,
               "收费依据": "某文件", "可减免": "是", "减免依据": "低保对象免收：某文件"}])
    result = _import(world, raw, "catalog.xlsx")
    version = Item.objects.get(impl_code=result.created[0]).versions.get()
    assert (version.item_type, version.exercise_level, version.case_type) == ("XK", "3",
                                                                             "promised")
    assert version.service_objects == ["legal", "natural"]
    assert version.themes == ["permits", "establish"]
    assert (version.online_depth, version.visits_required) == (4, 0)
    material = version.materials.get()
    assert (material.forms, material.copies) == (["original", "copy"], 2)
    fee = version.fees.get()
    assert (str(fee.amount), fee.waivable) == ("5.00", True)
    assert fee.waiver_basis == "低保对象免收：某文件"


def test_excel_columns_of_the_place_hours_and_waiver_grounds_are_read_and_exported(world):
    """办理地点, 办理时间 and 减免依据, headed in Chinese like the other columns."""
    raw = workbook_bytes(
        items=[{**_EXCEL_ITEM, "办理地点": "示范市民政局婚姻登记处（市民中心A区2楼）",
                "办理时间": "工作日 9:00—12:00，14:00—17:30"}],
        fees=[{"事项键": "k1", "收费项目": "不动产登记费", "收费标准": "每件 550 元",
               "收费依据": "发改价格规〔2016〕2559号", "可减免": "是",
               "减免依据": "小微企业免收：财税〔2016〕79号"}])
    version = Item.objects.get(impl_code=_import(world, raw, "catalog.xlsx").created[0]) \
        .versions.get()
    assert version.handling_place == "示范市民政局婚姻登记处（市民中心A区2楼）"
    assert version.handling_hours == "工作日 9:00—12:00，14:00—17:30"
    assert version.fees.get().waiver_basis == "小微企业免收：财税〔2016〕79号"
    publish(world, version)
    book = load_workbook(io.BytesIO(transfer.export_excel(
        selectors.versions_for_export(selectors.published_versions()))))
    items, fees = ([dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]],
                             strict=True)) for sheet in (book["事项"], book["收费项目"])])
    assert (items["办理地点"], items["办理时间"]) == (version.handling_place,
                                                      version.handling_hours)
    assert (fees["可减免"], fees["减免依据"]) == (True, "小微企业免收：财税〔2016〕79号")


def test_a_waivable_fee_row_without_its_grounds_is_reported_at_its_column(world):
    raw = workbook_bytes(
        items=[_EXCEL_ITEM],
        fees=[{"事项键": "k1", "收费项目": "工本费", "收费标准": "每证 5 元",
               "收费依据": "某文件", "可减免": "否"},
              {"事项键": "k1", "收费项目": "补证费", "收费标准": "每证 5 元",
               "收费依据": "某文件", "可减免": "是"}])
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw, "catalog.xlsx")
    assert exc.value.fields["errors"] == [{
        "sheet": "收费项目", "row": 3, "field": "减免依据",
        "problem": "可减免的收费须填写减免依据：减免的对象或情形，以及规定减免的文件名称和文号"}]


def test_bad_excel_rows_are_each_reported_with_sheet_row_and_field(world):
    """Nothing is imported, not even the good rows; each problem says where it is."""
    good = {"事项键": "good", "实施机关": "甲局", "事项名称": "好事项", "基本编码": "XK00101000",
            "行使层级": "3", "设定依据": "某法", "服务对象": "legal", "受理条件": "符合条件",
            "法定时限": 20, "承诺时限": 10}
    raw = workbook_bytes(
        items=[good,
               {**good, "事项键": "late", "事项名称": "超时事项", "承诺时限": 30},
               {**good, "事项键": "nowhere", "实施机关": "不存在的局"},
               {**good, "事项键": "code", "基本编码": "XK1", "主题": "宇宙"}],
        materials=[{"事项键": "good", "材料名称": "申请书"},
                   {"事项键": "good", "材料名称": "身份证", "材料形式": "传真"}],
        fees=[{"事项键": "good", "收费项目": "工本费", "收费标准": "每证", "金额上限": -1,
               "收费依据": "某文件"}])
    assert sorted(_failed(world, raw)) == sorted([
        ("事项", 3, "承诺时限"),
        ("事项", 4, "实施机关"),
        ("事项", 5, "基本编码"), ("事项", 5, "事项类型"), ("事项", 5, "主题"),
        ("申请材料", 3, "材料形式"),
        ("收费项目", 2, "金额上限"),
    ])
    assert not Item.objects.exists()


def test_sheet_structure_problems_are_reported_before_any_row_is_checked(world):
    good = {"事项键": "k1", "实施机关": "甲局", "事项名称": "好事项"}
    raw = workbook_bytes(
        items=[good, {**good, "事项名称": "重复键"}],
        materials=[{"事项键": "missing", "材料名称": "申请书"}],
        item_headers=[h for h, _k in transfer.ITEM_COLUMNS] + ["备注"])
    assert _failed(world, raw) == [("事项", 1, ""), ("事项", 3, "事项键"),
                                   ("申请材料", 2, "事项键")]


def test_a_workbook_without_the_item_sheet_is_refused(world):
    raw = workbook_bytes()
    book = load_workbook(io.BytesIO(raw))
    book["事项"].title = "Sheet1"
    buffer = io.BytesIO()
    book.save(buffer)
    assert _failed(world, buffer.getvalue()) == [("事项", 0, "")]


def test_an_empty_workbook_imports_nothing_and_says_so_in_the_audit(world):
    result = _import(world, workbook_bytes(), "empty.xlsx")
    assert (result.created, result.drafted) == ([], [])
    assert AuditRecord.objects.filter(action=CatalogAction.CATALOG_IMPORTED).count() == 1


def test_an_import_over_an_open_draft_edits_that_draft(world):
    draft = create(world)
    raw = _json(_record("草稿改名", impl_code=draft.item.impl_code))
    assert _import(world, raw).drafted == [draft.item.impl_code]
    draft.refresh_from_db()
    assert (draft.name, draft.number) == ("草稿改名", 1)


def test_an_import_over_a_pending_version_is_reported_with_its_row(world):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    raw = _json(_record("新事项"), _record("改名", impl_code=version.item.impl_code))
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw, actor=reviewer(world))
    [error] = exc.value.fields["errors"]
    assert (error["sheet"], error["row"]) == ("JSON", 2)
    assert error["problem"] == "该事项已有未发布的版本，请在其上修改。"


# --- what an unchanged or stale record does ---------------------------------------------------


def _desk_export(world, actor=None) -> bytes:
    return transfer.export_excel(selectors.editor_versions_for_export(actor=actor or editor(world)))


def test_the_desk_export_imports_back_while_an_item_awaits_review(world):
    """docs/catalog.md: "what it exports can be imported back by the same person".  It
    was refused whole: 事项 row 3 "该事项已有未发布的版本，请在其上修改。"."""
    published(world, "事项一")
    waiting = create(world, "待审事项", basic_code="XK00102000")
    services.item_version_submit(actor=editor(world), version=waiting)
    result = _import(world, _desk_export(world), "catalog.xlsx")
    assert len(result.unchanged) == 2
    waiting.refresh_from_db()
    assert waiting.status == "pending"


def test_importing_an_unchanged_export_writes_no_version_and_no_edit(world):
    """Once one new draft per published item (version_drafted) and one version_edited
    per open draft, for a file nobody changed."""
    one = published(world, "事项一")
    draft = create(world, "草稿事项", basic_code="XK00102000")
    raw = _desk_export(world)
    versions = ItemVersion.objects.count()
    edits = AuditRecord.objects.exclude(action=CatalogAction.CATALOG_IMPORTED).count()
    result = _import(world, raw, "catalog.xlsx")
    assert ItemVersion.objects.count() == versions
    assert AuditRecord.objects.exclude(action=CatalogAction.CATALOG_IMPORTED).count() == edits
    assert sorted(result.unchanged) == sorted([one.item.impl_code, draft.item.impl_code])
    record = AuditRecord.objects.get(action=CatalogAction.CATALOG_IMPORTED)
    assert record.changes == {"created": [], "drafted": [], "unchanged": result.unchanged}


def test_an_unchanged_round_trip_does_not_take_the_review_from_the_reviewer(world):
    """The data officer exports and imports back a file untouched; the head's draft
    then counted them among its editors, and they could no longer publish it."""
    draft = create(world, "草稿事项")
    _import(world, _desk_export(world, reviewer(world)), "catalog.xlsx", actor=reviewer(world))
    services.item_version_submit(actor=editor(world), version=draft)
    services.item_version_publish(actor=reviewer(world), version=draft)


def test_a_changed_record_of_an_item_awaiting_review_is_still_refused(world):
    waiting = create(world, "待审事项")
    services.item_version_submit(actor=editor(world), version=waiting)
    raw = json.loads(transfer.export_json(selectors.editor_versions_for_export(
        actor=editor(world))))
    raw["items"][0]["name"] = "改名"
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, json.dumps(raw).encode())
    assert [(e["row"], e["problem"]) for e in exc.value.fields["errors"]] == [
        (1, "该事项已有未发布的版本，请在其上修改。")]


STALE = "该事项在导出后已被修改，请重新导出后再编辑。"


def test_a_stale_export_does_not_silently_undo_a_colleague_s_edit(world):
    """Monday's export, edited offline, came back on Wednesday over Tuesday's edit of a
    colleague: their name was gone, and nothing said so."""
    draft = create(world, "原名称")
    raw = _desk_export(world, reviewer(world))          # Monday: exported to edit offline
    services.item_version_edit(actor=editor(world), version=draft,
                               data=item_content("同事改过的名称"))  # Tuesday: a colleague edits
    assert _failed(world, raw, actor=reviewer(world)) == [("事项", 2, "导出时版本号")]
    with pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw, "catalog.xlsx", actor=reviewer(world))
    assert exc.value.fields["errors"][0]["problem"] == STALE
    draft.refresh_from_db()
    assert draft.name == "同事改过的名称"


def test_an_export_of_a_published_version_does_not_replace_a_newer_draft(world):
    """The public export (or an older desk export) names version 1; a draft 2 has
    been written since: the file's version 1 would have replaced it."""
    v1 = published(world, "事项一")
    raw = json.loads(transfer.export_json(selectors.published_versions()))
    services.item_version_draft(actor=editor(world), item=v1.item,
                                data=item_content("事项一（第二版）"))
    raw["items"][0]["consultation"] = "咨询电话 12345"
    assert _failed(world, json.dumps(raw).encode(), "catalog.json") == [
        ("JSON", 1, "base_version")]
    # Without the version it was exported from (a province's file), read as before.
    del raw["items"][0]["base_version"], raw["items"][0]["base_edited_at"]
    assert _import(world, json.dumps(raw).encode()).drafted == [v1.item.impl_code]
    assert v1.item.versions.get(number=2).consultation == "咨询电话 12345"


def test_an_edited_row_of_a_current_export_is_written(world):
    draft = create(world, "原名称")
    raw = _desk_export(world)
    book = load_workbook(io.BytesIO(raw))
    headers = [c.value for c in book["事项"][1]]
    book["事项"].cell(row=2, column=headers.index("事项名称") + 1, value="新名称")
    buffer = io.BytesIO()
    book.save(buffer)
    assert _import(world, buffer.getvalue(), "catalog.xlsx").drafted == [draft.item.impl_code]
    draft.refresh_from_db()
    assert (draft.name, draft.number) == ("新名称", 1)


@pytest.mark.parametrize("base", [{"base_version": "二"}, {"base_version": True},
                                  {"base_edited_at": "昨天"},
                                  {"base_edited_at": "2026-01-01T00:00:00"}])
def test_an_export_version_that_is_no_version_is_a_row_error(world, base):
    draft = create(world)
    raw = _json(_record("改名", impl_code=draft.item.impl_code, **base))
    assert _failed(world, raw, "catalog.json") == [("JSON", 1, "base_version")]


def test_the_same_new_items_imported_twice_are_made_once(world):
    """A retry after a lost answer, or the same file sent twice at the same moment (the
    second waits for the first's lock on the agency): once, each new item was made
    twice, under the next implementation code."""
    raw = _json(_record("新事项一"), _record("新事项二", basic_code="XK00102000"))
    first = _import(world, raw)
    again = _import(world, raw)
    assert (again.created, sorted(again.unchanged)) == ([], sorted(first.created))
    assert Item.objects.count() == 2
    # Another item of the same basic code is made; so is one whose twin was cancelled
    # (an item offered again after a cancellation is a new item).
    assert len(_import(world, _json(_record("新事项三"))).created) == 1
    cancelled = publish(world, Item.objects.get(impl_code=first.created[0]).versions.get())
    services.item_withdraw(actor=reviewer(world), item=cancelled.item, kind="cancelled",
                           reason="某市人民政府关于取消一批事项的决定（某政〔2026〕1号）")
    assert len(_import(world, _json(_record("新事项一"))).created) == 1


def test_a_new_item_is_matched_by_its_latest_version_only(world):
    """The item the first import made has a newer version since (published, then
    drafted with other conditions): the same record no longer is that item, and
    its first version, which it still equals, does not make it so."""
    raw = _json(_record("新事项一"))
    item = Item.objects.get(impl_code=_import(world, raw).created[0])
    publish(world, item.versions.get())
    services.item_version_draft(actor=editor(world), item=item, data=item_content(
        "新事项一", acceptance_conditions="申请人应当具有相应的经营场所。"))
    assert len(_import(world, raw).created) == 1


@postgres_only
def test_the_same_new_item_imported_twice_at_the_same_moment_is_made_once(
        transactional_db, world, monkeypatch):
    """The second import waits for the first's lock on the agency, then finds its item."""
    original = services.item_create
    written, go_on = threading.Event(), threading.Event()

    def creating(**kwargs):
        version = original(**kwargs)
        if threading.current_thread().name == "first":
            written.set()
            go_on.wait(timeout=30)  # written, not yet committed
        return version

    monkeypatch.setattr(services, "item_create", creating)
    raw = _json(_record("新事项"))
    first, first_box = run_in_thread(lambda: _import(world, raw), name="first")
    assert written.wait(timeout=30)
    second, second_box = run_in_thread(lambda: _import(world, raw), name="second")
    deadline = time.monotonic() + 30
    while not _lock_waits() and time.monotonic() < deadline:
        time.sleep(0.02)
    go_on.set()
    first.join(timeout=30)
    second.join(timeout=30)
    one, two = first_box["result"], second_box["result"]
    assert not isinstance(one, Exception), one
    assert not isinstance(two, Exception), two
    assert (two.created, two.unchanged) == ([], one.created)
    assert Item.objects.count() == 1


def test_the_api_and_the_desk_tell_the_unchanged_items(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    published(world, "事项一")
    raw = _desk_export(world)
    response = client_for(editor(world)).post(
        "/api/v1/catalog/import", {"file": SimpleUploadedFile("catalog.xlsx", raw)})
    assert response.status_code == 200
    assert response.json() == {"created": [], "drafted": [], "suspended": [],
                               "unchanged": [Item.objects.get().impl_code]}
    page = client_for(editor(world)).post(
        "/workbench/catalog/import/", {"file": SimpleUploadedFile("catalog.xlsx", raw)},
        follow=True)
    assert "另有 1 项与现有版本相同，未改动。" in page.content.decode()


# --- errors in the words of the sheet ---------------------------------------------------------


def test_the_desk_error_table_names_the_excel_columns_and_labels(world, client_for):
    """It showed promised_limit, materials[1].forms and "材料形式只能是 original、copy、
    electronic": the keys and codes of JSON, not what the sheet says."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = {"实施机关": "甲局", "基本编码": "XK00101000", "行使层级": "3", "设定依据": "某法",
            "服务对象": "legal", "受理条件": "符合条件", "法定时限": 20}
    raw = workbook_bytes(items=[{**good, "事项键": "k", "事项名称": "好事项", "承诺时限": 30}],
                         materials=[{"事项键": "k", "材料名称": "申请书", "材料形式": "传真"}])
    response = client_for(editor(world)).post(
        "/workbench/catalog/import/", {"file": SimpleUploadedFile("catalog.xlsx", raw)})
    assert response.status_code == 400
    table = response.content.decode().split('data-testid="import-errors"')[1].split("</table>")[0]
    cells = re.findall(r"<td>(.*?)</td>", table)
    assert [cells[i:i + 4] for i in range(0, len(cells), 4)] == [
        ["事项", "2", "承诺时限", "承诺时限不能长于法定时限"],
        ["申请材料", "2", "材料形式", "材料形式“传真”无效，只能是：原件、复印件、电子件"]]


@pytest.mark.parametrize(("cells", "field", "problem"), [
    ({"事项类型": "许可"}, "事项类型",
     "事项类型“许可”无效，只能是：行政许可、行政处罚、行政强制、行政征收、行政给付、行政检查、"
     "行政确认、行政奖励、行政裁决、其他行政权力、公共服务"),
    ({"服务对象": "法人、企业"}, "服务对象", "服务对象“企业”无效，只能是：自然人、法人"),
    ({"办件类型": "普通件"}, "办件类型", "办件类型“普通件”无效，只能是：即办件、承诺件"),
    ({"事项类型": "行政处罚"}, "事项类型", "事项类型与基本编码前两位不一致"),
])
def test_a_choice_cell_s_problem_lists_the_words_the_column_takes(world, cells, field,
                                                                   problem):
    row = {"事项键": "k", "实施机关": "甲局", "事项名称": "事项", "基本编码": "XK00101000",
           "行使层级": "3", "设定依据": "某法", "服务对象": "legal", "受理条件": "符合条件",
           "法定时限": 20, "承诺时限": 10, **cells}
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, workbook_bytes(items=[row]), "catalog.xlsx")
    assert [(e["field"], e["problem"]) for e in exc.value.fields["errors"]] == [(field, problem)]


def test_choice_cells_with_a_trailing_space_are_read_like_the_other_cells(world):
    """实施编码, 实施机关 and 事项名称 were read without surrounding spaces; the choice
    columns were not, and were refused with "事项类型无效", the value not shown."""
    row = {"事项键": "k", "实施机关": "甲局 ", "事项名称": "好事项", "基本编码": "XK00101000",
           "事项类型": "行政许可 ", "行使层级": "市级 ", "设定依据": "某法", "服务对象": "法人 ",
           "受理条件": "符合条件", "法定时限": 20, "承诺时限": 10, "办件类型": " 承诺件 "}
    result = _import(world, workbook_bytes(items=[row]), "catalog.xlsx")
    version = Item.objects.get(impl_code=result.created[0]).versions.get()
    assert (version.item_type, version.exercise_level, version.case_type) == (
        "XK", "3", "promised")


def _export_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _items(world, count, start, *, publish, upper):
    from tests.catalog.helpers import create

    for n in range(start, start + count):
        (published if publish else create)(
            world, f"事项{n}", basic_code=f"XK00{n:03d}000", upper_agency=upper.name,
            process_template="upper_review", joint_agencies=["乙局"],
            fees=[{"name": "工本费", "standard": "每证", "basis": "某文", "amount": "10"}])


@pytest.mark.parametrize(("url", "publish"), [("/api/v1/catalog/export", True),
                                              ("/api/v1/catalog/export?format=xlsx", True),
                                              ("/workbench/catalog/export/", False)])
def test_an_export_reads_as_many_queries_for_eight_items_as_for_two(world, client_for, url,
                                                                   publish):
    """The upper agency, joint agencies, materials and fees are read once for all rows."""
    client = client_for(editor(world))
    upper = provincial_agency(world)
    _items(world, 2, 100, publish=publish, upper=upper)
    client.get(url)  # the editor's scope, read once per request
    few = _export_queries(client, url)
    _items(world, 6, 200, publish=publish, upper=upper)
    assert _export_queries(client, url) == few
