"""Which optional fields a condition or script uses where None cannot be.

A blank optional answer is None; ``bpmn.expressions.unguarded_names`` finds
the uses that would stop a case at its gateway, so that the item is refused
when it is saved instead.
"""

import pytest

from yizhan.bpmn.expressions import script_none_names, script_unguarded_names, unguarded_names

OPTIONAL = {"area", "kind", "name", "opened"}


@pytest.mark.parametrize(("condition", "unguarded"), [
    ("area > 500", {"area"}),
    ("0 < area < 10", {"area"}),
    ("area + 1 > 2", {"area"}),
    ("-area < 0", {"area"}),
    ("len(name) > 3", {"name"}),
    ("'公司' in name", {"name"}),
    ("kind in '甲乙'", {"kind"}),
    ("opened < '2026-01-01'", {"opened"}),
    ('kind == "x" and area > 500', {"area"}),
    ("area is not None or area > 500", {"area"}),
    ("(area is None or kind == 'x') and area > 3", {"area"}),
    ("${area > 500}", {"area"}),
    ("=area >= 500", {"area"}),
    # Tested first, in every form the documentation gives.
    ("area is not None and area > 500", set()),
    ("area != None and area > 500", set()),
    ("None != area and area > 500", set()),
    ("area and area > 500", set()),
    ("area is None or area > 500", set()),
    ("not area or area > 500", set()),
    ("not (area is None) and area > 500", set()),
    ("(area is None or kind == 'x') or area > 3", set()),
    ("not (area is None or kind == 'x') and area > 3", set()),
    ("area > 500 if area is not None else False", set()),
    ("False if area is None else area > 500", set()),
    ("${area != null && area > 500}", set()),
    ("=area != null and area > 500", set()),
    # What works on None needs no test.
    ("area == 500", set()),
    ('kind == "legal"', set()),
    ("kind in ['甲', '乙']", set()),
    ("str(name) == ''", set()),
    ("not area", set()),
    # Names that are not optional fields are not this check's concern.
    ('opinion == "approve" and amount > 5', set()),
])
def test_unguarded_names(condition, unguarded):
    assert unguarded_names(condition, OPTIONAL) == unguarded


def test_a_script_line_that_assigns_a_field_gives_it_a_value_for_the_lines_after():
    assert script_unguarded_names("fee = area * 2", OPTIONAL) == {"area"}
    assert script_unguarded_names("area = area or 0\nfee = area * 2", OPTIONAL) == set()
    assert script_unguarded_names("fee = area * 2\narea = 0", OPTIONAL) == {"area"}


def test_a_script_line_that_passes_a_blank_answer_on_gives_no_value():
    """``size = area`` is None when area is, and so is ``area = area``: what
    the lines after read is as blank as the answer."""
    assert script_unguarded_names("size = area\nfee = size * 2", OPTIONAL) == {"size"}
    assert script_unguarded_names("area = area\nfee = area * 2", OPTIONAL) == {"area"}
    assert script_unguarded_names("size = area or 0\nfee = size * 2", OPTIONAL) == set()


@pytest.mark.parametrize("value", [
    "area", "None", "kind and 1", "area if kind else 0", "0 if area else kind",
    "max(area, 1)", "max([1, 2])", "applicant['kind']", "applicant.kind", "[area][0]",
    "{'甲': 1, '乙': None}[kind]",
])
def test_a_value_that_may_be_none_leaves_the_name_it_is_assigned_to_none(value):
    assert script_none_names(f"size = {value}", OPTIONAL) == {"size"}


@pytest.mark.parametrize("value", [
    "0", "''", "False", "area or 0", "kind or name or ''", "area + 1", "area > 500",
    "not area", "area is not None and area > 500", "0 if area is None else area",
    "area if area is not None else 0", "(area is None or kind == 'x') or area",
    "len(name)", "str(area)", "round(area)", "max(area, 1) if area else 0",
    "[area]", "{'甲': 1, '乙': 2}[kind]", "amount",
])
def test_a_value_that_cannot_be_none_gives_the_name_a_value(value):
    assert script_none_names(f"size = {value}", OPTIONAL) == set()


def test_the_last_line_that_assigns_a_name_says_whether_it_may_be_none():
    assert script_none_names("size = area\nsize = size or 0", OPTIONAL) == set()
    assert script_none_names("size = 0\nsize = area", OPTIONAL) == {"size"}
    # Only the names the script assigns: a field it reads stays the caller's concern.
    assert script_none_names("size = area or 0", OPTIONAL) == set()
