"""What one Excel cell of an import holds: formulas, and lists of agencies.

A formula is read as the value saved with it, and refused where the file
holds none (it would read as a blank cell) or where that value is an Excel
error (#N/A: it would read as the text "#N/A").  A list cell is separated by 、
or commas, and a name that holds one is quoted, so that a unit without a
credit code named "发改局、粮食局办公室" comes back as itself.
"""

import io
import json
import re
import zipfile

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from tests.catalog.helpers import editor, nothing_written, published, workbook_bytes
from yizhan.catalog import selectors, transfer
from yizhan.catalog.models import Item
from yizhan.directory import services as directory_services


def _import(world, raw, name="catalog.xlsx"):
    records = transfer.read_upload(name, raw)
    return transfer.catalog_import(actor=editor(world), records=records, source=name)


def _refused(world, raw) -> list[dict]:
    with nothing_written(), pytest.raises(transfer.ImportFailed) as exc:
        _import(world, raw)
    return exc.value.fields["errors"]


def _row(**cells):
    return {"事项键": "k1", "实施机关": "甲局", "事项名称": "人工填写的事项",
            "基本编码": "XK00301000", "事项类型": "行政许可", "行使层级": "市级",
            "设定依据": "《某条例》第三条", "服务对象": "法人、自然人",
            "受理条件": "符合条件", "法定时限": 20,
            "承诺时限": 5, "办件类型": "承诺件", "流程": "承诺件流程", **cells}


def _column(header: str, columns=transfer.ITEM_COLUMNS) -> str:
    return get_column_letter([h for h, _k in columns].index(header) + 1)


class ExcelError(str):
    """A formula's computed value that is an Excel error, as ``_with_computed`` saves it."""


def _with_computed(raw: bytes, sheet: int, values: dict) -> bytes:
    """``raw`` as Excel saves it: each formula cell of ``values`` with its computed value."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == f"xl/worksheets/sheet{sheet}.xml":
                text = data.decode()
                for coordinate, value in values.items():
                    kind = (' t="e"' if isinstance(value, ExcelError)
                            else ' t="str"' if isinstance(value, str) else "")
                    text, found = re.subn(
                        rf'<c r="{coordinate}"([^>]*)>(<f>.*?</f>)<v\s*(?:/>|></v>)</c>',
                        rf'<c r="{coordinate}"\1{kind}>\2<v>{value}</v></c>', text)
                    assert found == 1, coordinate
                data = text.encode()
            target.writestr(entry, data)
    return out.getvalue()


# --- formulas -------------------------------------------------------------------


UNCOMPUTED = ("单元格 {cell} 是公式，但文件中没有它的计算结果（生成文件的程序没有计算公式）："
              "请在 Excel 中把它保存为值（复制后“粘贴为数值”）后重新导入")


def test_a_formula_without_a_computed_value_is_refused_naming_its_cell(world):
    """Read as blank, a required name was refused for a reason the editor could not see,
    and an optional note was silently lost."""
    raw = workbook_bytes(
        items=[_row(**{"事项名称": '=CONCAT("食品","经营")', "时限说明": "=B2"})],
        materials=[{"事项键": "k1", "材料名称": '=UPPER("申请书")', "必要性": "必要"}])
    errors = _refused(world, raw)
    name, notes = f"{_column('事项名称')}2", f"{_column('时限说明')}2"
    material = f"{_column('材料名称', transfer.MATERIAL_COLUMNS)}2"
    assert errors == [
        {"sheet": "事项", "row": 2, "field": "事项名称", "problem": UNCOMPUTED.format(cell=name)},
        {"sheet": "事项", "row": 2, "field": "时限说明",
         "problem": UNCOMPUTED.format(cell=notes)},
        {"sheet": "申请材料", "row": 2, "field": "材料名称",
         "problem": UNCOMPUTED.format(cell=material)},
    ]


def test_an_uncomputed_formula_in_an_optional_cell_alone_is_refused(world):
    raw = workbook_bytes(items=[_row(**{"时限说明": "=B2"})])
    assert [(e["sheet"], e["row"], e["field"]) for e in _refused(world, raw)] == [
        ("事项", 2, "时限说明")]


def test_a_formula_is_read_as_the_value_saved_with_it(world):
    raw = workbook_bytes(items=[_row(**{"事项名称": '=CONCAT("食品","经营")',
                                        "承诺时限": "=B2/4", "时限说明": "=B2"})])
    raw = _with_computed(raw, 1, {f"{_column('事项名称')}2": "食品经营许可",
                                  f"{_column('承诺时限')}2": 5,
                                  f"{_column('时限说明')}2": "按工作日计"})
    result = _import(world, raw)
    version = Item.objects.get(impl_code=result.created[0]).versions.get()
    assert (version.name, version.promised_limit, version.limit_notes) == (
        "食品经营许可", 5, "按工作日计")


ERROR_VALUE = "单元格 {cell} 的值是 Excel 错误 {value}（如公式没有找到数据）：请改正后重新导入"


def test_a_formula_whose_value_is_an_excel_error_is_refused_naming_its_cell(world):
    """=VLOOKUP(...) that found nothing: the item was imported named "#N/A"."""
    raw = workbook_bytes(items=[_row(**{"事项名称": '=VLOOKUP("x",A1:A2,1,FALSE)'})],
                         materials=[{"事项键": "k1", "材料名称": "申请书", "份数": "=1/0"}])
    name = f"{_column('事项名称')}2"
    copies = f"{_column('份数', transfer.MATERIAL_COLUMNS)}2"
    raw = _with_computed(_with_computed(raw, 1, {name: ExcelError("#N/A")}),
                         2, {copies: ExcelError("#DIV/0!")})
    assert _refused(world, raw) == [
        {"sheet": "事项", "row": 2, "field": "事项名称",
         "problem": ERROR_VALUE.format(cell=name, value="#N/A")},
        {"sheet": "申请材料", "row": 2, "field": "份数",
         "problem": ERROR_VALUE.format(cell=copies, value="#DIV/0!")},
    ]


def test_an_error_value_typed_into_a_cell_is_refused(world):
    """Not only a formula's: a cell may hold #REF! itself (pasted as values)."""
    raw = workbook_bytes(items=[_row(**{"时限说明": "#REF!"})])  # openpyxl: an error cell
    assert load_workbook(io.BytesIO(raw))["事项"][f"{_column('时限说明')}2"].data_type == "e"
    assert [(e["row"], e["field"]) for e in _refused(world, raw)] == [(2, "时限说明")]


def test_text_that_starts_with_an_equals_sign_is_text_not_a_formula(world):
    raw = workbook_bytes(items=[_row()])
    book = load_workbook(io.BytesIO(raw))
    cell = book["事项"][f"{_column('时限说明')}2"]
    cell.value, cell.data_type = "=法定时限减半", "s"
    buffer = io.BytesIO()
    book.save(buffer)
    result = _import(world, buffer.getvalue())
    assert Item.objects.get(impl_code=result.created[0]).versions.get().limit_notes == (
        "=法定时限减半")


# --- lists of agencies ------------------------------------------------------------


def _unit(world, name: str):
    """A unit of 甲局 without a credit code: it can only be named."""
    return directory_services.agency_create(actor=world.admin, name=name, kind="unit",
                                            division_code="449900",
                                            parent_id=world.agency_a.pk)


def _joint_cell(raw: bytes) -> str:
    sheet = load_workbook(io.BytesIO(raw))["事项"]
    return sheet[f"{_column('联办机关')}2"].value


@pytest.mark.parametrize("export", [transfer.export_excel, transfer.export_json])
def test_a_unit_whose_name_holds_a_list_separator_survives_a_round_trip(world, export):
    unit = _unit(world, "发改局、粮食局办公室")
    one = published(world, "并联事项", process_template="parallel", joint_agencies=[unit.pk])
    raw = export(selectors.published_versions())
    if export is transfer.export_excel:
        assert _joint_cell(raw) == '"发改局、粮食局办公室"'
    result = _import(world, raw, "catalog.xlsx" if export is transfer.export_excel
                     else "catalog.json")
    # Read back as the version holds it: nothing to write.
    assert (result.unchanged, result.drafted) == ([one.item.impl_code], [])
    assert one.item.versions.count() == 1


def test_such_a_unit_among_other_joint_agencies_survives_a_round_trip(world):
    odd = _unit(world, '办公室，"综合"科、档案室')
    unit = _unit(world, "发改局、粮食局办公室")
    one = published(world, "并联事项", process_template="parallel",
                    joint_agencies=[world.agency_b.pk, unit.pk, world.unit_a.pk, odd.pk])
    raw = transfer.export_excel(selectors.published_versions())
    cell = _joint_cell(raw)
    assert set(cell.split("、")) >= {world.agency_b.credit_code, "甲局审批科"}
    assert '"发改局、粮食局办公室"' in cell and '"办公室，""综合""科、档案室"' in cell
    assert _import(world, raw).unchanged == [one.item.impl_code]  # read back as it is


@pytest.mark.parametrize("cell", ["发改局、粮食局办公室", " 发改局、粮食局办公室 ",
                                  '"发改局、粮食局办公室"'])
def test_a_typed_or_earlier_export_s_unquoted_name_is_read_whole(world, cell):
    """An earlier export wrote the name as it is; a person may type it so too."""
    unit = _unit(world, "发改局、粮食局办公室")
    raw = workbook_bytes(items=[_row(**{"流程": "并联审批流程", "联办机关": cell})])
    result = _import(world, raw)
    version = Item.objects.get(impl_code=result.created[0]).versions.get()
    assert list(version.joint_agencies.values_list("pk", flat=True)) == [unit.pk]


def test_separators_separate_where_every_part_names_an_agency(world):
    """甲局审批科 and 乙局, and a unit bearing both names: the documented reading."""
    _unit(world, "乙局、甲局审批科")
    raw = workbook_bytes(items=[_row(**{"流程": "并联审批流程",
                                        "联办机关": "乙局、甲局审批科"})])
    result = _import(world, raw)
    version = Item.objects.get(impl_code=result.created[0]).versions.get()
    assert set(version.joint_agencies.values_list("pk", flat=True)) == {
        world.agency_b.pk, world.unit_a.pk}


def test_a_list_naming_no_agency_as_a_whole_reports_each_missing_part(world):
    raw = workbook_bytes(items=[_row(**{"流程": "并联审批流程", "联办机关": "乙局、无此科"})])
    errors = _refused(world, raw)
    assert [(e["row"], e["field"], e["problem"]) for e in errors] == [
        (2, "联办机关", "找不到机关“无此科”")]


def test_a_json_string_of_agencies_is_read_like_a_cell(world):
    unit = _unit(world, "发改局、粮食局办公室")
    record = {"name": "并联事项", "agency": "甲局", "basic_code": "XK00301000",
              "item_type": "XK", "exercise_level": "3", "legal_basis": "《某条例》",
              "service_objects": ["legal"], "acceptance_conditions": "符合条件",
              "statutory_limit": 20,
              "promised_limit": 5, "case_type": "promised", "process_template": "parallel",
              "joint_agencies": f'"发改局、粮食局办公室",{world.agency_b.credit_code}'}
    result = _import(world, json.dumps({"items": [record]}).encode(), "catalog.json")
    version = Item.objects.get(impl_code=result.created[0]).versions.get()
    assert set(version.joint_agencies.values_list("pk", flat=True)) == {
        unit.pk, world.agency_b.pk}


@pytest.mark.parametrize(("cell", "items", "quoted"), [
    ("", [], False),
    ("甲、乙，丙,丁", ["甲", "乙", "丙", "丁"], False),
    (" 甲 、、 乙 、", ["甲", "乙"], False),
    ('"甲、乙"、丙', ["甲、乙", "丙"], True),
    (' "甲，乙" ,"丙"', ["甲，乙", "丙"], True),
    ('"说""是"""', ['说"是"'], True),
    ('甲"乙、丙', ['甲"乙', "丙"], False),
    ('"甲、乙', ["甲、乙"], True),
    ('"甲"乙、丙', ["甲乙", "丙"], True),
])
def test_split_list_reads_separators_and_quotes(cell, items, quoted):
    assert transfer.split_list(cell) == (items, quoted)


@pytest.mark.parametrize("items", [
    ["甲", "乙"], ["发改局、粮食局办公室"], ['"引号"开头', "末尾引号\""], ["逗号,号", "，"],
    [" 空格 "], ["913300001234567890", "甲局审批科"],
])
def test_list_cell_is_read_back_item_for_item(items):
    items = [i for i in items if i.strip()]
    cell = transfer.list_cell(items)
    assert transfer.split_list(cell)[0] == [i.strip() for i in items]
