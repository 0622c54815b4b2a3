"""``yizhan catalog import``: the desk's import from the command line."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.catalog.helpers import editor, nothing_written
from tests.factories import item_content
from yizhan.audit.models import AuditRecord
from yizhan.catalog.actions import CatalogAction
from yizhan.catalog.models import Item


def _file(tmp_path, *records, name="catalog.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"items": list(records)}, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _run(path, username):
    out, err = io.StringIO(), io.StringIO()
    call_command("catalog", "import", path, "--as", username, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_file_is_imported_as_the_named_person(world, tmp_path):
    person = editor(world)
    path = _file(tmp_path, {**item_content("命令行导入事项"), "agency": "甲局"})
    out, _err = _run(path, person.username)
    assert "新增 / created 1" in out
    assert Item.objects.filter(versions__name="命令行导入事项").count() == 1
    record = AuditRecord.objects.get(action=CatalogAction.CATALOG_IMPORTED)
    assert record.actor_id == person.pk
    assert record.object_id == "catalog.json"   # the file's name, not the path
    # The same file again: nothing new.
    out, _err = _run(path, person.username)
    assert "新增 / created 0" in out and "未改动 / unchanged 1" in out


def test_bad_rows_are_listed_and_nothing_is_imported(world, tmp_path):
    path = _file(tmp_path, {**item_content("好事项"), "agency": "甲局"},
                 {**item_content("坏事项"), "agency": "没有这个局"})
    err = io.StringIO()
    with nothing_written(), pytest.raises(CommandError, match="导入未执行：1 处错误"):
        call_command("catalog", "import", path, "--as", editor(world).username,
                     stdout=io.StringIO(), stderr=err)
    [line] = err.getvalue().splitlines()
    sheet, row, field, problem = line.split("\t")
    assert (sheet, row, field) == ("JSON", "2", "agency")
    assert problem


def test_the_persons_permission_is_checked(world, tmp_path):
    path = _file(tmp_path, {**item_content("无权导入"), "agency": "甲局"})
    clerk = world.user("a", "window_clerk")
    with nothing_written(), pytest.raises(CommandError):
        _run(path, clerk.username)
    with pytest.raises(CommandError, match="没有启用的用户"):
        _run(path, "nobody")
    with pytest.raises(CommandError, match="无法读取文件"):
        _run(str(tmp_path / "missing.json"), clerk.username)
