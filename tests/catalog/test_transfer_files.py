"""The files an import reads and an export writes, as other programs write and read them.

Workbooks are real .xlsx bytes written by openpyxl, some then edited at the zip
level the way WPS, Apache POI (EasyExcel) or a hostile sender writes them; JSON
files are real bytes, in the encodings Windows programs save.
"""

import io
import json
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from tests.api import api_error
from tests.catalog.helpers import editor, nothing_written, published, workbook_bytes
from tests.catalog.test_transfer_cells import _column, _with_computed
from tests.factories import item_content
from yizhan.catalog import selectors, transfer
from yizhan.catalog.models import Item
from yizhan.core.errors import InvalidInput


def _import(world, raw, name="catalog.xlsx", actor=None):
    records = transfer.read_upload(name, raw)
    return transfer.catalog_import(actor=actor or editor(world), records=records, source=name)


def _desk_export(world) -> bytes:
    return transfer.export_excel(selectors.editor_versions_for_export(actor=editor(world)))


def _saved(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rezipped(raw: bytes, change) -> bytes:
    """``raw`` with each part replaced by ``change(name, bytes)``."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info.filename)))
    return out.getvalue()


def _refused(world, raw, name="catalog.xlsx") -> list[tuple]:
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw, name)
    return [(e["sheet"], e["row"], e["field"], e["problem"]) for e in exc.value.fields["errors"]]


GOOD_ROW = {"实施机关": "甲局", "基本编码": "XK00101000", "行使层级": "3", "设定依据": "某法",
            "服务对象": "legal", "受理条件": "符合条件", "法定时限": 20, "承诺时限": 10}


# --- rows past a sheet's declared <dimension> -----------------------------------------------

def _declaring_a1(raw: bytes, prefix="xl/worksheets/") -> bytes:
    """The sheets (those whose part starts with ``prefix``) declare their used range
    as A1, as some WPS and Apache POI (EasyExcel) files do; Excel ignores it."""
    return _rezipped(raw, lambda name, data: re.sub(rb'<dimension ref="[^"]*"/>',
                                                    b'<dimension ref="A1"/>', data)
                     if name.startswith(prefix) else data)


def test_a_workbook_declaring_its_range_as_a1_imports_every_row(world):
    """Read as declared, "导入成功：新增 0 项" for a file of three items."""
    rows = [{**GOOD_ROW, "事项键": f"k{n}", "事项名称": f"新事项{n}"} for n in range(3)]
    raw = _declaring_a1(workbook_bytes(items=rows))
    assert len(load_workbook(io.BytesIO(raw))["事项"]["A"]) == 4  # the rows are in the file
    assert len(_import(world, raw).created) == 3


def test_a_materials_sheet_declaring_a1_does_not_strip_the_items_of_their_materials(world):
    """Read as declared, the item's next draft had no materials, and nothing said so."""
    v1 = published(world, "事项一", materials=[{"name": "申请书"}, {"name": "身份证"}])
    raw = _declaring_a1(_desk_export(world), "xl/worksheets/sheet2.xml")  # 申请材料
    assert _import(world, raw).unchanged == [v1.item.impl_code]
    assert v1.item.versions.count() == 1


def test_a_formula_past_the_declared_range_is_read_as_its_saved_value(world):
    """The values saved with formulas are read in a second pass over the sheet: it
    reads past the declared range too."""
    raw = workbook_bytes(items=[{**GOOD_ROW, "事项键": "k", "事项名称": "=B2"}])
    raw = _declaring_a1(_with_computed(raw, 1, {f"{_column('事项名称')}2": "公式算出的名称"}))
    result = _import(world, raw)
    assert Item.objects.get(impl_code=result.created[0]).versions.get().name == "公式算出的名称"


# --- archives that expand beyond reason --------------------------------------------------------

class _Opened(BaseException):
    """Raised instead of parsing: read_excel turns any Exception into a refusal."""


def _never_parsed(monkeypatch):
    def opened(*args, **kwargs):
        raise _Opened("the archive was given to openpyxl without a look at its expanded size")

    monkeypatch.setattr(transfer, "load_workbook", opened)


def _shared_strings_bomb(expanded: int) -> bytes:
    """A workbook whose shared-strings part expands to ``expanded`` bytes."""
    base = transfer.export_excel([])
    override = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(base))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", override)
            target.writestr(info.filename, data)
        with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            chunk = b"<si><t>a</t></si>" * (1 << 16)
            for _ in range(expanded // len(chunk)):
                part.write(chunk)
            part.write(b"</sst>")
    return out.getvalue()


def test_a_workbook_expanding_a_thousandfold_is_refused_before_it_is_parsed(world, monkeypatch):
    """Measured before the check: a 213 KB file of this shape (85 MB expanded) took 77 s
    and 550 MB of memory to read; the 10 MB the import accepts expand to some 4 GB."""
    raw = _shared_strings_bomb(64 * 1024 * 1024)  # under the bound on the expanded size
    assert len(raw) < 200_000
    _never_parsed(monkeypatch)
    with pytest.raises(InvalidInput) as exc:
        transfer.read_upload("catalog.xlsx", raw)
    assert exc.value.http_status == 413
    assert "压缩比异常" in exc.value.render("zh-hans")


def test_a_workbook_expanding_beyond_the_bound_is_refused_before_it_is_parsed(world,
                                                                             monkeypatch):
    """However well or badly its parts compress."""
    raw = _desk_export(world)
    expanded = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(raw)).infolist())
    monkeypatch.setattr(transfer, "MAX_EXPANDED_BYTES", expanded - 1)
    _never_parsed(monkeypatch)
    with pytest.raises(InvalidInput) as exc:
        transfer.read_upload("catalog.xlsx", raw)
    assert exc.value.http_status == 413
    assert exc.value.render("zh-hans").startswith("工作簿解压后超过")


def test_the_api_answers_a_workbook_bomb_with_413(world):
    client = Client()
    client.force_login(editor(world))
    with nothing_written():
        response = client.post("/api/v1/catalog/import", {
            "file": SimpleUploadedFile("catalog.xlsx", _shared_strings_bomb(64 * 1024 * 1024))})
    api_error(response, 413, "core.invalid_input")


def test_blank_rows_are_read_only_so_far_past_the_limit(world, monkeypatch):
    """One cell far down the sheet (or millions of blank rows, which no longer expand
    past the archive's bounds) once kept a request reading blank rows for minutes."""
    monkeypatch.setattr(transfer, "MAX_IMPORT_ITEMS", 5)
    monkeypatch.setattr(transfer, "MAX_BLANK_ROWS", 20)
    book = load_workbook(io.BytesIO(workbook_bytes(
        items=[{**GOOD_ROW, "事项键": "k", "事项名称": "好事项"}])))
    book["事项"].cell(row=1_000_000, column=1, value="远处的单元格")
    raw = _saved(book)
    with pytest.raises(InvalidInput) as exc:
        transfer.read_upload("catalog.xlsx", raw)
    assert exc.value.render("zh-hans") == ("工作表“事项”超过 26 行（空行也计算在内），"
                                           "请删除多余的行或分批导入。")
    monkeypatch.setattr(transfer, "MAX_BLANK_ROWS", 1_000_000)
    assert len(transfer.read_upload("catalog.xlsx", raw)) == 2


# --- a column or sheet missing from the file ------------------------------------------------

def _without_column(raw: bytes, *headers: str, sheet="事项") -> bytes:
    book = load_workbook(io.BytesIO(raw))
    for header in headers:
        columns = [c.value for c in book[sheet][1]]
        book[sheet].delete_cols(columns.index(header) + 1)
    return _saved(book)


def _with_sheet_renamed(raw: bytes, title: str) -> bytes:
    book = load_workbook(io.BytesIO(raw))
    book[title].title = f"{title}（修改）"
    return _saved(book)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda raw: _without_column(raw, "主题"), [("事项", 1, "", "缺少列：主题")]),
    (lambda raw: _without_column(raw, "申请表字段", "主题"),
     [("事项", 1, "", "缺少列：主题、申请表字段")]),
    (lambda raw: _without_column(raw, "材料形式", sheet="申请材料"),
     [("申请材料", 1, "", "缺少列：材料形式")]),
    # A workbook exported before these columns existed: its items' place, hours
    # and waivers' grounds would be cleared.
    (lambda raw: _without_column(raw, "办理地点", "办理时间"),
     [("事项", 1, "", "缺少列：办理地点、办理时间")]),
    (lambda raw: _without_column(raw, "减免依据", sheet="收费项目"),
     [("收费项目", 1, "", "缺少列：减免依据")]),
    (lambda raw: _with_sheet_renamed(raw, "申请材料"),
     [("申请材料", 0, "", "缺少工作表“申请材料”")]),
    (lambda raw: _with_sheet_renamed(raw, "收费项目"),
     [("收费项目", 0, "", "缺少工作表“收费项目”")]),
], ids=["no 主题", "no 主题 nor 申请表字段", "no 材料形式", "no 办理地点 nor 办理时间",
        "no 减免依据", "材料 sheet renamed",
        "收费 sheet renamed"])
def test_a_missing_column_or_sheet_is_refused_not_read_as_empty(world, change, expected):
    """Read as empty, the item's next draft lost its themes, form or materials, silently."""
    published(world, "事项一", themes=["permits"],
              form_fields=[{"name": "area", "label": "面积", "type": "number"}],
              materials=[{"name": "申请书"}, {"name": "身份证"}])
    assert _refused(world, change(_desk_export(world))) == expected


def test_new_items_are_refused_too_when_a_sheet_of_their_file_is_missing(world):
    raw = workbook_bytes(items=[{**GOOD_ROW, "事项键": "k", "事项名称": "新事项"}])
    assert _refused(world, _with_sheet_renamed(raw, "收费项目")) == [
        ("收费项目", 0, "", "缺少工作表“收费项目”")]


def test_a_file_without_the_export_version_columns_is_read_as_before(world):
    """A workbook written before exports had them, or by hand."""
    raw = _without_column(workbook_bytes(items=[{**GOOD_ROW, "事项键": "k",
                                                 "事项名称": "新事项"}]),
                          "导出时版本号", "导出时修改时间")
    assert len(_import(world, raw).created) == 1


# --- JSON as other programs write it --------------------------------------------------------

LONG_NUMBER = ('{"items": [{"name": "x", "statutory_limit": ' + "1" * 5000 + "}]}").encode()


def test_a_json_number_of_5000_digits_is_refused_as_bad_json(world):
    """Once a ValueError of Python's integer conversion: a server error."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _import(world, LONG_NUMBER, "catalog.json")
    assert exc.value.render("zh-hans") == "文件不是有效的 JSON：数字过长（超过 4300 位）。"


def test_the_api_answers_a_json_number_of_5000_digits_with_400(world):
    client = Client(raise_request_exception=False)
    client.force_login(editor(world))
    response = client.post("/api/v1/catalog/import",
                           {"file": SimpleUploadedFile("catalog.json", LONG_NUMBER)})
    api_error(response, 400, "core.invalid_input")


def _record(name, **overrides) -> str:
    return json.dumps({**item_content(name, **overrides), "agency": "甲局"}, ensure_ascii=False)


def test_a_json_record_with_a_key_twice_is_refused_naming_the_key_and_the_record(world):
    """Read as its last value, the item was named 第二个名称."""
    twice = _record("第一个名称")[:-1] + ', "name": "第二个名称"}'
    material_twice = _record("材料", materials=[{"name": "申请书", "copies": 1}]).replace(
        '"copies": 1', '"copies": 1, "copies": 2')
    raw = f'{{"items": [{_record("好事项")}, {twice}, {material_twice}]}}'.encode()
    assert _refused(world, raw, "catalog.json") == [
        ("JSON", 2, "name", "键“name”重复出现，无法确定取哪一个值"),
        ("JSON", 3, "copies", "键“copies”重复出现，无法确定取哪一个值")]


def test_a_json_file_repeating_its_items_key_is_refused(world):
    raw = f'{{"items": [{_record("一")}], "items": [{_record("二")}]}}'.encode()
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _import(world, raw, "catalog.json")
    assert "键“items”重复出现" in exc.value.render("zh-hans")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_a_utf16_or_utf32_json_file_is_read(world, encoding):
    """Windows Notepad's "Unicode" is UTF-16 with a BOM: it was "not valid JSON:
    'utf-8' codec can't decode byte 0xff in position 0"."""
    raw = f'{{"items": [{_record("记事本文件")}]}}'.encode(encoding)
    assert len(_import(world, raw, "catalog.json").created) == 1


def test_a_json_file_in_another_encoding_is_refused_in_chinese(world):
    raw = f'{{"items": [{_record("国标编码的文件")}]}}'.encode("gbk")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _import(world, raw, "catalog.json")
    assert exc.value.render("zh-hans") == (
        "文件不是有效的 JSON：文件不是 UTF-8 编码的文本（也可以是带 BOM 的 UTF-16 或 UTF-32），"
        "请以 UTF-8 编码另存后重新导入。")


def test_a_json_syntax_error_is_told_by_line_and_column_in_chinese(world):
    raw = b'{"items": [\n  {"name": "x",}\n]}'
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _import(world, raw, "catalog.json")
    assert exc.value.render("zh-hans") == "文件不是有效的 JSON：第 2 行第 16 列有语法错误。"


# --- the export, as a sheet to edit -----------------------------------------------------------

def _item_row(raw: bytes) -> tuple:
    sheet = load_workbook(io.BytesIO(raw))["事项"]
    headers = [c.value for c in sheet[1]]
    return sheet, headers, {h: sheet.cell(row=2, column=i + 1) for i, h in enumerate(headers)}


def test_the_export_opens_with_a_frozen_bold_header_wide_code_columns_and_text_cells(world):
    published(world, "事项一", legal_basis="《某法》第一条" * 20)
    sheet, headers, row = _item_row(_desk_export(world))
    assert sheet.freeze_panes == "A2"
    assert all(sheet.cell(row=1, column=i + 1).font.b for i in range(len(headers)))
    width = {h: sheet.column_dimensions[row[h].column_letter].width for h in headers}
    # Without a width, a 37-character code shows as "XK0010100…".
    assert width["实施编码"] >= len(row["实施编码"].value)
    assert width["实施机关"] >= len(row["实施机关"].value)
    # A credit code retyped into a General cell becomes 9.14499E+17 in Excel.
    assert (row["实施编码"].number_format, row["实施机关"].number_format) == ("@", "@")
    assert row["设定依据"].alignment.wrap_text
    assert width["设定依据"] >= 40


def test_the_export_writes_the_chinese_labels_the_import_accepts(world):
    published(world, "事项一", online_depth=3,
              materials=[{"name": "申请书", "forms": ["original", "copy"],
                          "necessity": "optional", "source": "government"}])
    raw = _desk_export(world)
    _sheet, _headers, row = _item_row(raw)
    assert [row[h].value for h in ("事项类型", "行使层级", "服务对象", "办件类型", "主题",
                                   "流程", "网上办理深度")] == [
        "行政许可", "市级", "自然人、法人", "承诺件", "准营准办", "承诺件流程",
        "三级：网上申报、预审，到现场一次"]
    material = load_workbook(io.BytesIO(raw))["申请材料"]
    assert [c.value for c in material[2]][2:4] == ["原件、复印件", "非必要"]
    # And read back as they were written.
    assert len(_import(world, raw).unchanged) == 1
