"""An item's application form: field definitions and the answers to them."""

import pytest

from tests.factories import item_content
from yizhan.catalog import form_spec, services
from yizhan.catalog.content import VersionDataError

FIELDS = [
    {"name": "area", "label": "经营面积", "type": "number", "required": True},
    {"name": "kind", "label": "类别", "type": "choice", "choices": ["热食", "冷食"]},
    {"name": "opening", "label": "开业日期", "type": "date"},
    {"name": "online", "label": "网络订餐", "type": "boolean"},
    {"name": "note", "label": "说明", "type": "text"},
]


@pytest.mark.django_db
def test_an_item_keeps_its_form_fields(world):
    """Valid definitions are stored with the version."""
    version = services.item_create(actor=world.admin, agency=world.agency_a,
                                   data=item_content(form_fields=FIELDS))
    assert [f["name"] for f in version.form_fields] == ["area", "kind", "opening", "online",
                                                        "note"]


@pytest.mark.django_db
@pytest.mark.parametrize("fields, problem", [
    ([{"name": "Area", "label": "面积", "type": "number"}], "名称"),
    ([{"name": "a", "label": "甲"}, {"name": "a", "label": "乙"}], "重复"),
    ([{"name": "a", "label": "", "type": "text"}], "显示名称"),
    ([{"name": "a", "label": "甲", "type": "file"}], "类型"),
    ([{"name": "a", "label": "甲", "type": "choice"}], "选项"),
    ("not a list", "列表"),
    ([{"name": "a", "label": "甲", "type": "choice", "choices": 5}], "选项应为列表"),
    # The desk shows choices one a line: one that held a line break would
    # come back as two when the draft is saved there.
    ([{"name": "a", "label": "甲", "type": "choice", "choices": ["热食\n冷食"]}], "不能分行"),
    ([{"name": "a", "label": "甲", "type": "choice", "choices": ["热食", " "]}], "不能为空"),
    ([{"name": "a", "label": "甲", "type": "choice", "choices": ["热食", "热食 "]}], "有重复"),
    ([{"name": "joint_agencies", "label": "甲"}], "保留"),
    ([{"name": "opinion", "label": "意见"}], "保留"),
    ([{"name": "typename", "label": "类型"}], "保留"),
    ([{"name": "a", "label": "甲", "required": "也许"}], "“必填”应为“是”或“否”"),
    ([{"name": "a", "label": "甲", "required": 2}], "“必填”应为“是”或“否”"),
    ([{"name": "a", "label": "甲" * 101}], "显示名称不能超过 100 个字"),
])
def test_bad_definitions_are_refused_with_the_reason(world, fields, problem):
    """Each bad definition is named in the error, and no item is created."""
    with pytest.raises(VersionDataError) as exc:
        services.item_create(actor=world.admin, agency=world.agency_a,
                             data=item_content(form_fields=fields))
    assert problem in exc.value.render()


@pytest.mark.django_db
@pytest.mark.parametrize(("required", "expected"), [
    ("false", False), ("否", False), ("0", False), (0, False), ("", False), (None, False),
    (False, False), ("true", True), ("是", True), ("1", True), (1, True), (True, True),
])
def test_required_is_read_as_yes_or_no(world, required, expected):
    """As a fee's 可减免 is: bool("false") once made the field required, and every
    applicant had to fill it in."""
    fields = [{"name": "area", "label": "经营面积", "type": "number", "required": required}]
    version = services.item_create(actor=world.admin, agency=world.agency_a,
                                   data=item_content(form_fields=fields))
    assert version.form_fields[0]["required"] is expected


def test_choices_are_kept_without_surrounding_spaces():
    """A choice is read as the desk reads it, without surrounding spaces, so an
    answer and a process condition compare with what the applicant is shown."""
    fields, problems = form_spec.check_definitions(
        [{"name": "kind", "label": "类别", "type": "choice",
          "choices": [" 1,000平方米以下 ", "其他"]}])
    assert (problems, fields[0]["choices"]) == ([], ["1,000平方米以下", "其他"])


def test_answers_are_typed_and_checked():
    """Numbers, dates, choices and yes/no answers come back typed; problems by field."""
    fields, problems = form_spec.check_definitions(FIELDS)
    assert problems == []
    answers, problems = form_spec.clean_answers(
        fields, {"area": "120.5", "kind": "热食", "opening": "2027-01-05", "online": "on",
                 "note": " 临街 "})
    assert problems == {}
    assert answers == {"area": 120.5, "kind": "热食", "opening": "2027-01-05",
                       "online": True, "note": "临街"}
    _answers, problems = form_spec.clean_answers(
        fields, {"area": "", "kind": "西餐", "opening": "明天"})
    assert set(problems) == {"area", "kind", "opening"}
    assert "经营面积" in problems["area"]


def test_a_text_answer_too_long_is_refused_not_cut():
    """A 600-character answer was stored cut to 500, and nobody was told."""
    fields, _problems = form_spec.check_definitions(FIELDS)
    answers, problems = form_spec.clean_answers(fields, {"note": "食" * 501})
    assert "note" not in answers
    assert problems["note"] == f"说明不能超过 {form_spec.MAX_TEXT} 个字"
    answers, problems = form_spec.clean_answers(fields, {"note": "食" * 500})
    assert (answers["note"], "note" in problems) == ("食" * 500, False)


@pytest.mark.parametrize("answer", ["1e2000000", "1e5000", "-1e15", "1" * 40])
def test_a_number_answer_out_of_range_is_refused_before_it_is_converted(answer):
    """"1e2000000" is nine characters, and int() of it took minutes of CPU."""
    fields, _problems = form_spec.check_definitions(FIELDS)
    answers, problems = form_spec.clean_answers(fields, {"area": answer})
    assert problems == {"area": "经营面积超出允许的范围"}
    assert "area" not in answers
    answers, problems = form_spec.clean_answers(fields, {"area": "999999999999999"})
    assert (answers["area"], problems) == (999999999999999, {})
    answers, problems = form_spec.clean_answers(fields, {"area": "1e-2000000"})
    assert (answers["area"], problems) == (0.0, {})
