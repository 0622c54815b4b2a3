"""The condition and script language: what it evaluates and what it refuses."""

import pytest

from yizhan.bpmn import expressions
from yizhan.bpmn.expressions import ExpressionFailed, ExpressionRefused, evaluate, execute

DATA = {
    "amount": 150000,
    "opinion": "reject",
    "joint_opinions": ["approve", "reject"],
    "applicant": {"kind": "legal", "name": "某某公司"},
    "items": [1, 2, 3],
    "missing_value": None,
}


@pytest.mark.parametrize(("source", "expected"), [
    ("amount > 100000", True),
    ("amount > 100000 and opinion == 'approve'", False),
    ('opinion == "reject" or "reject" in joint_opinions', True),
    ('"reject" not in joint_opinions', False),
    ("100000 < amount <= 200000", True),
    ("applicant.kind == 'legal'", True),
    ("applicant['name']", "某某公司"),
    ("items[-1] + len(items)", 6),
    ("sum(items) / 2", 3.0),
    ("amount // 1000 % 7", 3),
    ("-amount + +1", -149999),
    ("not missing_value", True),
    ("missing_value is None", True),
    ("max(items) if items else 0", 3),
    ("min(1, 2.5)", 1),
    ("abs(-3) + round(2.567, 2)", 5.57),
    ("int('12') + float('0.5')", 12.5),
    ("str(amount) + '元'", "150000元"),
    ("bool([])", False),
    ("any([0, 1]) and all([1, 1])", True),
    ("[1, 2] + [3]", [1, 2, 3]),
    ("{'a': 1}['a']", 1),
    ("'k' in {'k': 1}", True),
    ("1 in {1, 2}", True),
    ("(1, 2)[0]", 1),
])
def test_evaluates(source, expected):
    assert evaluate(source, DATA) == expected


@pytest.mark.parametrize("source", [
    "__import__('os')",
    "open('/etc/passwd').read()",
    "().__class__.__bases__[0].__subclasses__()",
    "applicant.__class__",
    "_private",
    "items.append(4)",
    "'{}'.format(amount)",
    "[x for x in items]",
    "{x: 1 for x in items}",
    "(x for x in items)",
    "lambda: 1",
    "amount ** 2",
    "f'{amount}'",
    "(a := 1)",
    "items[0:2]",
    "{**applicant}",
    "len(items, key=1)",
    "b'bytes'",
    "...",
    "1j",
    "amount @ amount",
    "amount << 2",
    "~amount",
    "await amount",
    "yield amount",
    "import os",
    "amount = 1",
    "",
    "   ",
    "x" * (expressions.MAX_SOURCE + 1),
    " + ".join(["1"] * (expressions.MAX_NODES)),
    "-" * (expressions.MAX_DEPTH + 5) + "1",
])
def test_refuses(source):
    with pytest.raises(ExpressionRefused):
        expressions.compile_expression(source)
    with pytest.raises(ExpressionRefused):
        evaluate(source, DATA)


@pytest.mark.parametrize("source", [
    "unknown > 1",
    "applicant.age",
    "items[10]",
    "opinion < 1",
    "amount / 0",
    "'a' + 1",
    "'ab' * 3",
    "items * 3",
    "1 in amount",
    "amount * amount * amount * amount",
    "int('x')",
    "round(1.5, 1000000000)",
    "amount.kind",
    "len(amount)",
])
def test_fails_cleanly(source):
    with pytest.raises((ExpressionFailed, ExpressionRefused)):
        evaluate(source, DATA)


def test_attribute_access_on_non_dicts_is_refused_at_run_time():
    with pytest.raises(ExpressionRefused):
        evaluate("opinion.upper", DATA)


def test_scripts_assign_in_order():
    data = {"amount": 2000}
    execute("fee = amount * 0.01\ntotal = amount + fee\nlabel = '合计' + str(total)", data)
    assert data == {"amount": 2000, "fee": 20.0, "total": 2020.0, "label": "合计2020.0"}


@pytest.mark.parametrize("script", [
    "import os",
    "from os import system",
    "x = y = 1",
    "x += 1",
    "a.b = 1",
    "a[0] = 1",
    "a, b = 1, 2",
    "del amount",
    "if amount: x = 1",
    "for i in items: pass",
    "while True: pass",
    "def f(): pass",
    "class A: pass",
    "with open('f') as f: pass",
    "try:\n  x = 1\nexcept Exception:\n  pass",
    "x = 1; exec('y = 2')",
    "len = 1",
    "joint_opinions = []",
    "_x = 1",
    "\n".join(f"x{i} = {i}" for i in range(expressions.MAX_STATEMENTS + 1)),
])
def test_scripts_are_assignments_only(script):
    with pytest.raises(ExpressionRefused):
        expressions.compile_script(script)


def test_a_script_cannot_grow_values_without_bound():
    data = {"s": "x" * 100, "n": 2}
    with pytest.raises(ExpressionFailed):
        execute("\n".join(["s = s + s"] * 20), data)
    with pytest.raises(ExpressionFailed):
        execute("\n".join(["n = n * n"] * 20), data)


def test_lists_of_lists_cannot_grow_without_bound():
    """Each list is short, but [a, a, ...] nests: the weight counts it whole."""
    names = ",".join(["a"] * 150)
    for script in (
        # across lines: 150, 150², 150³ ... elements
        "a = [" + ",".join(["1"] * 150) + "]\n" + "\n".join([f"a = [{names}]"] * 4),
        # within one expression, before str() could spell it out
        "a = [" + ",".join(["1"] * 150) + f"]\na = [{names}]\nb = str([a, a, a])",
    ):
        with pytest.raises(ExpressionFailed) as info:
            execute(script, {})
        assert str(info.value) == "值过大。"
    data = {}
    execute("a = [1, 2]\nb = [a, a, [a]]\nc = len(b)", data)
    assert data == {"a": [1, 2], "b": [[1, 2], [1, 2], [[1, 2]]], "c": 3}


@pytest.mark.parametrize(("script", "problem"), [
    ("s = {1, 2}", "只能是 JSON 值，不能是 set。"),
    ("s = {1: 2}", "字典的键必须是文本。"),
    ('s = {"typename": "BpmnWorkflow"}', "不能使用键“typename”。"),
    ("s = 1\n" + "\n".join(["s = [s]"] * 25), "数据嵌套过深。"),
])
def test_a_script_stores_only_what_process_data_may_hold(script, problem):
    """A set is fine in a condition (x in {1, 2}); stored, it could not be saved."""
    data = {}
    with pytest.raises(ExpressionFailed) as info:
        execute(script, data)
    assert str(info.value) == f"“s”的值有误：{problem}"
    assert evaluate("2 in {1, 2}", {})


def test_messages_are_chinese_and_name_the_problem():
    with pytest.raises(ExpressionRefused) as info:
        expressions.compile_expression("().__class__")
    assert str(info.value) == "不允许以下划线开头的名称“__class__”。"
    with pytest.raises(ExpressionFailed) as info:
        evaluate("amount > 1", {})
    assert str(info.value) == "变量“amount”不存在。"


# What SpiffWorkflow or the database could not take back

def test_a_script_may_not_assign_typename():
    """SpiffWorkflow takes task data with a top-level ``typename`` key for one of its
    own objects when it restores the state: every later step of the case would fail."""
    with pytest.raises(ExpressionRefused) as info:
        expressions.compile_script('fee = 1\ntypename = "x"')
    assert str(info.value) == "第 2 行：不能给“typename”赋值。"


def test_a_script_leaves_no_typename_key_in_the_data():
    """The data is checked whole after the lines, whatever put the key there."""
    with pytest.raises(ExpressionFailed) as info:
        execute("fee = 1", {"typename": "BpmnWorkflow"})
    assert str(info.value) == "流程数据有误：不能使用键“typename”。"


UNSTORABLE = "文本中含有无法保存的字符（NUL 或不成对的 UTF-16 代理项）。"


@pytest.mark.parametrize("source", [
    r'note == "\ud800"',
    r'note == "办结" + "\udfff"',
    r'note == "\x00"',
    r'{"\ud800": 1} == note',
])
def test_a_literal_no_database_can_store_is_refused(source):
    """A valid escape, but the text has no UTF-8 form (or PostgreSQL refuses NUL)."""
    with pytest.raises(ExpressionRefused) as info:
        expressions.compile_expression(source)
    assert str(info.value) == f"不允许的文本常量：{UNSTORABLE}"
    with pytest.raises(ExpressionRefused):
        expressions.compile_script(f"x = {source}")


@pytest.mark.parametrize("value", [
    "\ud800", ["办结", "\udfff"], {"\ud800": 1}, {"note": {"text": "a\x00b"}},
])
def test_process_data_holds_no_text_a_database_cannot_store(value):
    assert str(expressions.value_problem(value)) == UNSTORABLE
    with pytest.raises(ExpressionFailed) as info:
        execute("copy = value", {"value": value})
    assert str(info.value) == f"“copy”的值有误：{UNSTORABLE}"


# The work budget

def _nested_pair() -> dict:
    """Two equal lists of 2 x 9,216 one-element lists, built apart (no object shared
    below the top): each weighs 36,867, under MAX_WEIGHT."""
    script = "\n".join(
        ["a = [[0],[0],[0],[0],[0],[0],[0],[0],[0]]", *["a = a + a"] * 10,
         "d = [[0],[0],[0],[0],[0],[0],[0],[0],[0]]", *["d = d + d"] * 10,
         "b = [a, a]", "c = [d, d]"])
    data = {}
    execute(script, data)
    return data


BUDGET_SPENT = f"条件和脚本的计算量超过上限（{expressions.MAX_WORK}）。"


def test_comparing_nested_values_is_charged_for_every_element_it_goes_through():
    """``b == c`` goes through some 37,000 elements: charged for the top-level lengths
    only, it cost 7 units, and 60 such comparisons in one condition cost seconds."""
    data = _nested_pair()
    with expressions.work_budget(limit=10_000), pytest.raises(ExpressionFailed) as info:
        evaluate("b == c", data)
    assert str(info.value) == BUDGET_SPENT
    with expressions.work_budget(), pytest.raises(ExpressionFailed) as info:
        evaluate(" and ".join(["b == c"] * 60), data)
    assert str(info.value) == BUDGET_SPENT
    assert evaluate("b == c", data) is True   # one alone is within a run's budget


def test_concatenating_nested_lists_is_charged_for_every_element():
    data = _nested_pair()
    with expressions.work_budget(limit=10_000), pytest.raises(ExpressionFailed) as info:
        evaluate("b + [0]", data)
    assert str(info.value) == BUDGET_SPENT
