"""Which optional fields a condition or script uses where None cannot be.

A blank optional answer is None; ``bpmn.expressions.unguarded_names`` finds
the uses that would stop a case at its gateway, so that the item is refused
when it is saved instead.
"""

import pytest

from yizhan.bpmn.expressions import script_unguarded_names, unguarded_names

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
