"""A small, closed expression language for gateway conditions and scripts.

Conditions in an uploaded BPMN file are written by people who are not fully
trusted, and SpiffWorkflow's default script engine hands them to ``eval`` and
``exec``.  Here an expression is parsed with ``ast`` and checked against a
whitelist before it is ever evaluated, and evaluation walks the tree itself:
nothing is compiled to bytecode, so nothing outside the whitelist can run.

What an expression may use:

* names of process data (``amount``, ``opinion``); names that start with an
  underscore are refused, so dunder tricks have nothing to start from;
* literals: strings, numbers, ``True``/``False``/``None``, lists, tuples,
  sets and dicts of these;
* ``and``/``or``/``not``, comparisons (``==``, ``<``, ``in``, ``is None`` ...),
  ``+ - * / // %``, unary ``-``/``+``, ``x if c else y``;
* subscripts (``opinions[0]``, ``applicant["kind"]``) and ``a.b`` as a
  shorthand for ``a["b"]`` on dicts only;
* calls of a few pure functions: ``len abs min max round int float str bool
  any all sum``.

Anything else (other calls, attribute access on non-dicts, lambdas,
comprehensions, ``**``, f-strings, walrus ...) is refused with
``ExpressionRefused`` when the expression is compiled, and the evaluator
refuses it again if a tree ever reaches it unchecked.  Values are limited in
size, nested values counted whole, so that neither ``a * a`` nor ``[a, a]``
repeated in a script can exhaust memory; what a script stores must be
process data (the JSON values a caller may pass, see ``value_problem``).

A script is a sequence of plain assignments ``name = expression``.

A condition may also be written as Camunda Modeler writes it: ``${amount >
500}`` (JUEL, Camunda 7) or ``=amount > 500`` (FEEL, Camunda 8).  The
comparisons, ``and``/``or``/``not``, arithmetic, ``null``/``true``/``false``
and ``a.b`` of these are rewritten into the language above before it is
checked (``_from_modeler``); anything else of JUEL or FEEL is refused.  So
is a Camunda 8 script task's FEEL expression (``feel_script``).
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import functools
import json
import math
import operator
import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from yizhan.bpmn.errors import Detail
from yizhan.core.text import unstorable

# Bounds that keep one evaluation cheap.
MAX_SOURCE = 2000          # characters of one condition or script
MAX_NODES = 400            # AST nodes of one expression or script
MAX_DEPTH = 40             # nesting of one expression (the evaluator recurses)
MAX_STATEMENTS = 50        # assignments in one script
MAX_INT = 2**63            # |int| of any intermediate value
MAX_LENGTH = 10_000        # len() of any intermediate str/list/dict
# A list may hold lists: what a value weighs is every element and character
# in it, nested values counted whole, so [a, a, a] repeated cannot grow past
# this however it is built, in one expression or across a script's lines.
MAX_WEIGHT = 50_000
MAX_DATA_DEPTH = 20        # nesting of process data (a caller's, or a script's)
# JSON size of the process data after a script: one value is bounded by
# MAX_WEIGHT, but not how many a script (or many scripts) store.
MAX_PROCESS_DATA_BYTES = 512 * 1024
# Work of one engine run, every condition and script in it together: a node
# visited is one unit, and so is each element a function, a comparison or a
# concatenation goes through.  The bounds above keep each value small, not
# how often a script goes through it: sum() over a list of 8,000 numbers,
# written out a hundred times in each of fifty scripts, would cost every
# step of every case seconds.  A real condition costs tens of units.
MAX_WORK = 200_000

_budget: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "expression_work_budget", default=None)


@contextlib.contextmanager
def work_budget(limit: int = MAX_WORK):
    """Share one budget of ``limit`` units among the evaluations in the block."""
    token = _budget.set([limit])
    try:
        yield
    finally:
        _budget.reset(token)

# The data keys a script may not assign to: they carry the joint agencies and
# their opinions, which only the runtime writes.
RESERVED_NAMES = frozenset({"joint_agencies", "joint_agency", "joint_opinions"})
# SpiffWorkflow's serializer takes a dict with a "typename" key for one of
# its own objects when it restores the state: the task data itself is such a
# dict, so neither a script nor a caller may store a value under this name.
TYPENAME = "typename"


class ExpressionError(ValueError):
    """Base: ``detail`` is a translatable ``Detail`` saying what is wrong."""

    def __init__(self, template, **params):
        self.detail = Detail(template, **params)
        super().__init__(template, params)

    def __str__(self) -> str:
        return str(self.detail)


class ExpressionRefused(ExpressionError):
    """The expression uses something outside the language (load time or run time)."""


class ExpressionFailed(ExpressionError):
    """A well-formed expression could not be evaluated with the data at hand."""


def _checked(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise ExpressionFailed(_("整数超出允许范围。"))
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, (str, list, tuple, dict, set, frozenset)):
        if len(value) > MAX_LENGTH:
            raise ExpressionFailed(_("值过长。"))
        return value
    raise ExpressionRefused(_("不允许的值类型 %(type)s。"), type=type(value).__name__)


def value_problem(value, depth: int = 0) -> Detail | None:
    """What keeps ``value`` from being process data, or None if nothing does.

    Process data is JSON: text, finite numbers, booleans, None, lists and
    dicts with text keys, nested at most ``MAX_DATA_DEPTH`` deep.  The same
    rule holds for the data a caller passes to the runtime and for the
    values a script stores.
    """
    if depth > MAX_DATA_DEPTH:
        return Detail(_("数据嵌套过深。"))
    if isinstance(value, str):
        return _text_problem(value)
    if value is None or isinstance(value, (bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else Detail(_("数字必须是有限值。"))
    if isinstance(value, (list, tuple)):
        for item in value:
            problem = value_problem(item, depth + 1)
            if problem is not None:
                return problem
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return Detail(_("字典的键必须是文本。"))
            if key == TYPENAME:
                return Detail(_("不能使用键“typename”。"))
            problem = _text_problem(key)
            if problem is not None:
                return problem
            problem = value_problem(item, depth + 1)
            if problem is not None:
                return problem
        return None
    return Detail(_("只能是 JSON 值，不能是 %(type)s。"), type=type(value).__name__)


def _text_problem(text: str) -> Detail | None:
    """A NUL or a lone half of a surrogate pair (``"\\ud800"`` is a valid
    escape) has no place in the saved state or the case's data: the UTF-8
    encoding, or PostgreSQL, fails on it (``core.text``)."""
    if unstorable(text) is None:
        return None
    return Detail(_("文本中含有无法保存的字符（NUL 或不成对的 UTF-16 代理项）。"))


def _round(number, digits=0):
    # round(5, -10**18) would compute 10**(10**18).
    if not isinstance(digits, int) or abs(digits) > 15:
        raise ExpressionFailed(_("round() 的位数必须是 -15 到 15 之间的整数。"))
    return round(number, digits)


def _sum(values):
    total = 0
    for value in values:
        total = _checked(_arith(operator.add, total, value))
    return total


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "abs": abs,
    "min": min,
    "max": max,
    "round": _round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "any": any,
    "all": all,
    "sum": _sum,
}

_NUMBER = (int, float)


def _refused_call() -> ExpressionRefused:
    return ExpressionRefused(_("只能调用这些函数：%(functions)s。"),
                             functions="、".join(FUNCTIONS))


def _refused_construct(node: ast.AST) -> ExpressionRefused:
    return ExpressionRefused(_("不允许使用 %(construct)s。"), construct=type(node).__name__)

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}

_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}

_ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load,
    ast.BoolOp, ast.And, ast.Or,
    ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, *_BINOPS,
    ast.Compare, *_COMPARE,
    ast.IfExp,
    ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.Subscript, ast.Attribute, ast.Call,
)


def _refuse_name(name: str) -> None:
    if name.startswith("_"):
        raise ExpressionRefused(_("不允许以下划线开头的名称“%(name)s”。"), name=name)


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check_tree(tree: ast.AST) -> None:
    for count, node in enumerate(ast.walk(tree), start=1):
        if count > MAX_NODES:
            raise ExpressionRefused(_("表达式过于复杂。"))
        if not isinstance(node, _ALLOWED):
            raise _refused_construct(node)
        if isinstance(node, ast.Constant) and not (
            node.value is None or isinstance(node.value, (bool, int, float, str))
        ):
            raise ExpressionRefused(_("不允许的常量 %(value)s。"), value=repr(node.value))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            problem = _text_problem(node.value)
            if problem is not None:
                # Not echoed: the message itself could not be saved or sent.
                raise ExpressionRefused(_("不允许的文本常量：%(problem)s"), problem=problem)
        if isinstance(node, ast.Name):
            _refuse_name(node.id)
        elif isinstance(node, ast.Attribute):
            _refuse_name(node.attr)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise _refused_call()
            if node.keywords:
                raise ExpressionRefused(_("函数调用不能使用关键字参数。"))
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            raise ExpressionRefused(_("不允许使用切片。"))
        elif isinstance(node, ast.Dict) and any(key is None for key in node.keys):
            raise ExpressionRefused(_("不允许使用 ** 展开。"))
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionRefused(_("表达式嵌套过深。"))


def _parse(source: str, mode: str) -> ast.AST:
    if not isinstance(source, str):
        raise ExpressionRefused(_("表达式必须是文本。"))
    if len(source) > MAX_SOURCE:
        raise ExpressionRefused(_("表达式超过 %(limit)s 个字符。"), limit=MAX_SOURCE)
    try:
        return ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        # Python's own wording (exc.msg) is English whatever the reader's
        # language: the place is what a modeler needs to mend the condition.
        if not exc.offset:
            raise ExpressionRefused(_("语法错误：表达式不完整。")) from None
        raise ExpressionRefused(_("语法错误：第 %(line)s 行第 %(column)s 个字符附近无法解析。"),
                                line=exc.lineno, column=exc.offset) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionRefused(_("表达式无法解析。")) from None


# Camunda Modeler's two condition languages: ``${...}`` (or ``#{...}``) is
# JUEL, a leading ``=`` is FEEL.  Neither can start a condition of the
# language above, so the form of the text says which one it is.
_JUEL = re.compile(r"\A\s*[$#]\{(.*)\}\s*\Z", re.DOTALL)
_FEEL = re.compile(r"\A\s*=(?!=)(.*)\Z", re.DOTALL)
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>&&|\|\||==|!=|<=|>=|\.\.|[-+*/%<>=!()\[\]{},.:?])
""", re.VERBOSE)
_LITERALS = {"null": "None", "true": "True", "false": "False"}
_JUEL_WORDS = {**_LITERALS, "and": "and", "or": "or", "not": "!", "eq": "==", "ne": "!=",
               "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%",
               "&&": "and", "||": "or", "!": "!"}
_FEEL_WORDS = {**_LITERALS, "=": "==", "not": "!"}
# What the two languages have beyond comparisons and arithmetic.
_JUEL_REFUSED = frozenset({"empty", "instanceof", "?", ":", "=", "..", "None", "True", "False"})
_FEEL_REFUSED = frozenset({"if", "then", "else", "for", "some", "every", "satisfies", "between",
                           "instance", "function", "..", "?", "&&", "||", "!", "==", ":",
                           "None", "True", "False"})
_OPEN = {"(": ")", "[": "]", "{": "}"}


def _from_modeler(source: str) -> tuple[str, str] | None:
    """``source`` rewritten from JUEL or FEEL, with the language's name; None
    if it is written in the language of this module already."""
    juel = _JUEL.match(source)
    feel = None if juel else _FEEL.match(source)
    if juel is None and feel is None:
        return None
    language, words, refused = (("JUEL", _JUEL_WORDS, _JUEL_REFUSED) if juel
                                else ("FEEL", _FEEL_WORDS, _FEEL_REFUSED))
    text = (juel or feel).group(1)
    tokens, position = [], 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or (found.lastgroup not in ("space", "string")
                             and found.group() in refused):
            token = text[position:].split()[0] if found is None else found.group()
            raise ExpressionRefused(
                _("%(language)s 表达式中的“%(token)s”不受支持：只能使用比较、and、or、not、"
                  "算术运算和 null、true、false。"), language=language, token=token[:20])
        position = found.end()
        if found.lastgroup != "space":
            token = found.group()
            tokens.append(words.get(token, token) if found.lastgroup != "string" else token)
    return " ".join(_bind_not(tokens, language)), language


def _bind_not(tokens: list[str], language: str) -> list[str]:
    """JUEL's ``!``/``not`` and FEEL's ``not(...)`` bind to the operand right after
    them (``!a == b`` is ``(!a) == b``); Python's ``not`` takes the whole
    comparison, so each is written ``(not operand)``."""
    out, index = [], 0
    while index < len(tokens):
        if tokens[index] == "!":
            operand, index = _operand(tokens, index + 1, language)
            out += ["(", "not", *_bind_not(operand, language), ")"]
        else:
            out.append(tokens[index])
            index += 1
    return out


def _operand(tokens: list[str], index: int, language: str) -> tuple[list[str], int]:
    """The tokens of the operand starting at ``index`` and the index after it."""
    start = index
    while index < len(tokens) and tokens[index] in ("!", "-", "+"):
        index += 1
    if index >= len(tokens):
        raise ExpressionRefused(_("%(language)s 表达式不完整。"), language=language)
    index = _past_group(tokens, index, language) if tokens[index] in _OPEN else index + 1
    # Then any ``.name``, ``[key]`` or ``(arguments)`` after it.
    while index < len(tokens) and (tokens[index] in "([" or tokens[index] == "."):
        index = index + 2 if tokens[index] == "." else _past_group(tokens, index, language)
    return tokens[start:index], index


def _past_group(tokens: list[str], index: int, language: str) -> int:
    depth = []
    for position in range(index, len(tokens)):
        if tokens[position] in _OPEN:
            depth.append(_OPEN[tokens[position]])
        elif depth and tokens[position] == depth[-1]:
            depth.pop()
            if not depth:
                return position + 1
    raise ExpressionRefused(_("%(language)s 表达式的括号不成对。"), language=language)


def feel_script(variable: str, expression: str) -> str:
    """A Camunda 8 script task (``zeebe:script``: a FEEL ``expression`` whose
    value is stored as ``variable``) as a script of this language."""
    translated = _from_modeler(expression or "")
    if translated is None or translated[1] != "FEEL":
        raise ExpressionRefused(_("Camunda 8 脚本的表达式须以“=”开头（FEEL）。"))
    compile_expression(expression)  # what cannot be read is said in FEEL's terms
    if not variable.isidentifier():
        raise ExpressionRefused(_("Camunda 8 脚本的结果变量“%(name)s”不是有效的变量名。"),
                                name=variable[:50])
    return f"{variable} = {translated[0]}"


@functools.lru_cache(maxsize=1024)
def compile_expression(source: str) -> ast.Expression:
    """Parse and check a condition; raise ``ExpressionRefused`` if not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionRefused(_("条件为空。"))
    if len(source) > MAX_SOURCE:
        raise ExpressionRefused(_("表达式超过 %(limit)s 个字符。"), limit=MAX_SOURCE)
    try:
        translated = _from_modeler(source)
    except RecursionError:
        # A "!" before each of a thousand operands nests as deep.
        raise ExpressionRefused(_("表达式无法解析。")) from None
    if translated is None:
        tree = _parse(source, "eval")
    else:
        try:
            tree = _parse(translated[0], "eval")
        except ExpressionRefused:
            # Python's own words about the rewritten text would not help.
            raise ExpressionRefused(_("无法按 %(language)s 读懂这个表达式：只能使用比较、and、or、"
                                      "not、算术运算和 null、true、false。"),
                                    language=translated[1]) from None
    _check_tree(tree)
    return tree


@functools.lru_cache(maxsize=256)
def compile_script(source: str) -> tuple[tuple[str, ast.expr], ...]:
    """Parse and check a script: assignments ``name = expression`` only."""
    tree = _parse(source or "", "exec")
    if len(tree.body) > MAX_STATEMENTS:
        raise ExpressionRefused(_("脚本超过 %(limit)s 条语句。"), limit=MAX_STATEMENTS)
    assignments = []
    for statement in tree.body:
        if (
            not isinstance(statement, ast.Assign)
            or len(statement.targets) != 1
            or not isinstance(statement.targets[0], ast.Name)
        ):
            raise ExpressionRefused(
                _("第 %(line)s 行：脚本只能是“变量 = 表达式”形式的赋值。"), line=statement.lineno
            )
        name = statement.targets[0].id
        _refuse_name(name)
        if name in RESERVED_NAMES or name in FUNCTIONS or name == TYPENAME:
            raise ExpressionRefused(_("第 %(line)s 行：不能给“%(name)s”赋值。"),
                                    line=statement.lineno, name=name)
        value = ast.Expression(body=statement.value)
        _check_tree(value)
        assignments.append((name, statement.value))
    return tuple(assignments)


def _names_in(tree: ast.AST) -> set[str]:
    """The data names ``tree`` reads: not the functions it calls."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and id(node) not in called}


def condition_names(source: str) -> frozenset[str]:
    """The data names a condition reads: ``applicant.kind == "legal" and len(items) > 1``
    reads ``applicant`` and ``items``.  Raises ``ExpressionRefused`` as
    ``compile_expression`` does."""
    return frozenset(_names_in(compile_expression(source)))


def script_names(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """The names a script assigns and those it reads (a line may read what an
    earlier line assigned).  Raises ``ExpressionRefused`` as ``compile_script`` does."""
    assigned, read = set(), set()
    for name, expression in compile_script(source):
        assigned.add(name)
        read |= _names_in(expression)
    return frozenset(assigned), frozenset(read)


# What fails on None: ordering, arithmetic, a sign, these functions, an
# index or attribute, and ``in`` a text.
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_NONE_FAILS_IN = frozenset({"len", "abs", "min", "max", "round", "int", "float", "sum",
                            "any", "all"})


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _tested(node: ast.AST, truth: bool) -> frozenset[str]:
    """The names ``node`` proves are not None when it is ``truth``:
    ``x is not None``, ``x != None`` and ``x`` when true, ``x is None`` and
    ``x == None`` when false, through ``not``, ``and`` and ``or``."""
    if isinstance(node, ast.Name):
        return frozenset({node.id}) if truth else frozenset()
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _tested(node.operand, not truth)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = node.left, node.comparators[0]
        name = (left.id if isinstance(left, ast.Name) and _is_none(right)
                else right.id if isinstance(right, ast.Name) and _is_none(left) else None)
        if name is not None:
            differs = isinstance(node.ops[0], (ast.IsNot, ast.NotEq))
            same = isinstance(node.ops[0], (ast.Is, ast.Eq))
            if (differs and truth) or (same and not truth):
                return frozenset({name})
        return frozenset()
    if isinstance(node, ast.BoolOp):
        # ``a and b`` true: both are; false: one of them is, after the
        # others before it were true.  ``or`` the other way round.
        whole = isinstance(node.op, ast.And) == truth
        if whole:
            return frozenset().union(*(_tested(value, truth) for value in node.values))
        proven, before = None, frozenset()
        for value in node.values:
            here = before | _tested(value, truth)
            proven = here if proven is None else proven & here
            before |= _tested(value, not truth)
        return proven or frozenset()
    return frozenset()


def _unguarded(node: ast.AST, maybe_none: frozenset[str], safe: frozenset[str]) -> set[str]:
    def bare(operand) -> set[str]:
        if isinstance(operand, ast.Name) and operand.id in maybe_none - safe:
            return {operand.id}
        return set()

    if isinstance(node, ast.BoolOp):
        found, known = set(), safe
        for value in node.values:
            found |= _unguarded(value, maybe_none, known)
            known = known | _tested(value, isinstance(node.op, ast.And))
        return found
    if isinstance(node, ast.IfExp):
        return (_unguarded(node.test, maybe_none, safe)
                | _unguarded(node.body, maybe_none, safe | _tested(node.test, True))
                | _unguarded(node.orelse, maybe_none, safe | _tested(node.test, False)))
    found = set()
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            left, right = operands[index], operands[index + 1]
            if isinstance(op, _ORDERING):
                found |= bare(left) | bare(right)
            elif isinstance(op, (ast.In, ast.NotIn)):
                found |= bare(right)
                if isinstance(right, ast.Constant) and isinstance(right.value, str):
                    found |= bare(left)
    elif isinstance(node, ast.BinOp):
        found |= bare(node.left) | bare(node.right)
    elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
        found |= bare(node.operand)
    elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in _NONE_FAILS_IN:
        for argument in node.args:
            found |= bare(argument)
    elif isinstance(node, (ast.Subscript, ast.Attribute)):
        found |= bare(node.value)
    for child in ast.iter_child_nodes(node):
        found |= _unguarded(child, maybe_none, safe)
    return found


def _may_be_none(node: ast.AST, maybe_none: frozenset[str], safe: frozenset[str]) -> bool:
    """Whether the value of ``node`` can be None when the names of
    ``maybe_none`` not in ``safe`` (tested) can be.  Conservative: only a
    value that is provably not None is not, so that a blank answer a script
    passes on (``size = area``) is followed to where it is used."""
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.Name):
        return node.id in maybe_none - safe
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare,
                         ast.List, ast.Tuple, ast.Set, ast.Dict)):
        # Arithmetic, a sign and a comparison fail on None rather than give
        # it (the operand is refused on its own), ``not`` gives a bool.
        return False
    if isinstance(node, ast.BoolOp):
        # ``a and b`` gives the first false operand, or the last one: any of
        # them, each after the ones before it were true.  ``a or b`` gives
        # the first true operand (never None), or the last one.
        conjunction = isinstance(node.op, ast.And)
        known = safe
        for value in node.values[:-1]:
            if conjunction and _may_be_none(value, maybe_none, known):
                return True
            known = known | _tested(value, conjunction)
        return _may_be_none(node.values[-1], maybe_none, known)
    if isinstance(node, ast.IfExp):
        return (_may_be_none(node.body, maybe_none, safe | _tested(node.test, True))
                or _may_be_none(node.orelse, maybe_none, safe | _tested(node.test, False)))
    if isinstance(node, ast.Call):
        if getattr(node.func, "id", None) in ("min", "max"):
            # One of the arguments, or an element of the only one.
            return len(node.args) < 2 or any(
                _may_be_none(argument, maybe_none, safe) for argument in node.args)
        return False
    if isinstance(node, ast.Subscript) and isinstance(node.value, (ast.List, ast.Tuple,
                                                                   ast.Dict)):
        # ``{"甲": 1, "乙": 2}[kind]``: one of the values written there.
        values = node.value.values if isinstance(node.value, ast.Dict) else node.value.elts
        return any(_may_be_none(value, maybe_none, safe) for value in values)
    # An element or key of process data may be None.
    return True


def unguarded_names(source: str, maybe_none) -> frozenset[str]:
    """The names of ``maybe_none`` (an optional field, None when left blank)
    that the condition ``source`` uses where None cannot be: ``area > 500``
    uses ``area`` so, ``area is not None and area > 500`` does not."""
    tree = compile_expression(source)
    return frozenset(_unguarded(tree.body, frozenset(maybe_none), frozenset()))


def _follow_script(source: str, maybe_none) -> tuple[frozenset[str], frozenset[str]]:
    """The names of ``maybe_none`` a script uses where None cannot be, and the
    names that may be None once it has run.  A line that assigns a name a
    value that is provably not None (``area = area or 0``) gives it a value
    for the lines after it; any other value (``size = area``, ``area =
    area``) may be None there."""
    maybe_none, found = set(maybe_none), set()
    for name, expression in compile_script(source):
        found |= _unguarded(expression, frozenset(maybe_none), frozenset())
        if _may_be_none(expression, frozenset(maybe_none), frozenset()):
            maybe_none.add(name)
        else:
            maybe_none.discard(name)
    return frozenset(found), frozenset(maybe_none)


def script_unguarded_names(source: str, maybe_none) -> frozenset[str]:
    """The same as ``unguarded_names`` for a script (see ``_follow_script``)."""
    return _follow_script(source, maybe_none)[0]


def script_none_names(source: str, maybe_none) -> frozenset[str]:
    """The names a script assigns that may be None once it has run, when the
    names of ``maybe_none`` may be before: ``size = area`` leaves ``size``
    None when ``area`` is, ``size = area or 0`` does not."""
    assigned, _read = script_names(source)
    return _follow_script(source, maybe_none)[1] & assigned


def evaluate(source: str, data: Mapping[str, Any]) -> Any:
    """Evaluate a condition against ``data``."""
    return _Evaluator(data).visit(compile_expression(source).body)


def execute(source: str, data: MutableMapping[str, Any]) -> None:
    """Run a script, assigning into ``data`` one statement at a time.

    What a line stores joins the process data, which is saved as JSON with
    the case: a set, a dict keyed by numbers or a value too deep is refused
    here, naming the variable, rather than when the case is saved.
    """
    evaluator = _Evaluator(data)
    for name, expression in compile_script(source):
        value = evaluator.visit(expression)
        problem = value_problem(value)
        if problem is not None:
            raise ExpressionFailed(_("“%(name)s”的值有误：%(problem)s"), name=name,
                                   problem=problem)
        data[name] = value
    # The data as a whole, as it is saved: what the lines above stored, and
    # what they stored it under.
    problem = value_problem(data)
    if problem is not None:
        raise ExpressionFailed(_("流程数据有误：%(problem)s"), problem=problem)
    size = data_size(data)
    if size > MAX_PROCESS_DATA_BYTES:
        raise ExpressionFailed(_("流程数据过大（%(size)s 字节），上限为 %(limit)s 字节。"),
                               size=size, limit=MAX_PROCESS_DATA_BYTES)


def data_size(data) -> int:
    """The size of ``data`` as it is saved (UTF-8 JSON), in bytes."""
    return len(json.dumps(data, ensure_ascii=False, default=str).encode())


def _arith(op, left, right):
    if isinstance(left, _NUMBER) and isinstance(right, _NUMBER):
        pass
    elif op is operator.add and (
        (isinstance(left, str) and isinstance(right, str))
        or (isinstance(left, list) and isinstance(right, list))
        or (isinstance(left, tuple) and isinstance(right, tuple))
    ):
        if len(left) + len(right) > MAX_LENGTH:
            raise ExpressionFailed(_("值过长。"))
    else:
        raise ExpressionFailed(_("不能对 %(left)s 和 %(right)s 做算术运算。"),
                               left=type(left).__name__, right=type(right).__name__)
    # Check the size of a product before multiplying, not after.
    if (op is operator.mul and isinstance(left, int) and isinstance(right, int)
            and left and right and math.log2(abs(left)) + math.log2(abs(right)) > 64):
        raise ExpressionFailed(_("整数超出允许范围。"))
    try:
        return op(left, right)
    except ZeroDivisionError:
        raise ExpressionFailed(_("除数为零。")) from None
    except (OverflowError, ValueError):
        # Python's own words ("integer division result too large for a
        # float") would reach the window clerk in English.
        raise ExpressionFailed(_("运算结果超出允许范围。")) from None


class _Evaluator:
    """Walks a checked tree; any node type it does not know is refused."""

    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        # The engine run's budget, or one of its own outside a run.
        self._budget = _budget.get() or [MAX_WORK]
        # id of a list/tuple/dict/set -> (the value, its weight).  Holding the
        # value keeps its id from being reused while the weight is remembered;
        # nothing in the language changes a container once it is built.
        self._weights: dict[int, tuple[Any, int]] = {}

    def _charge(self, units: int) -> None:
        budget = self._budget
        budget[0] -= units
        if budget[0] < 0:
            raise ExpressionFailed(_("条件和脚本的计算量超过上限（%(limit)s）。"),
                                   limit=MAX_WORK)

    def visit(self, node: ast.AST) -> Any:
        self._charge(1)
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise _refused_construct(node)
        value = _checked(method(node))
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            self._weigh(value)
        return value

    def _cost(self, value) -> int:
        """What going through ``value`` costs (see ``MAX_WORK``): a comparison
        or a concatenation goes through nested lists and dicts whole, so
        their weight, not their length, is charged."""
        if isinstance(value, (str, list, tuple, dict, set, frozenset)):
            return self._weigh(value)
        return 0

    def _weigh(self, value) -> int:
        """Elements and characters of ``value``, nested values counted whole."""
        if isinstance(value, str):
            return len(value) or 1
        if not isinstance(value, (list, tuple, dict, set, frozenset)):
            return 1
        known = self._weights.get(id(value))
        if known is not None:
            return known[1]
        items = (list(value.keys()) + list(value.values()) if isinstance(value, dict)
                 else value)
        weight = 1
        for item in items:
            weight += self._weigh(item)
            if weight > MAX_WEIGHT:
                raise ExpressionFailed(_("值过大。"))
        self._weights[id(value)] = (value, weight)
        return weight

    def visit_Constant(self, node: ast.Constant):
        if node.value is None or isinstance(node.value, (bool, int, float, str)):
            return node.value
        raise ExpressionRefused(_("不允许的常量 %(value)s。"), value=repr(node.value))

    def visit_Name(self, node: ast.Name):
        _refuse_name(node.id)
        try:
            return self.data[node.id]
        except KeyError:
            raise ExpressionFailed(_("变量“%(name)s”不存在。"), name=node.id) from None

    def visit_BoolOp(self, node: ast.BoolOp):
        if isinstance(node.op, ast.And):
            value = True
            for operand in node.values:
                value = self.visit(operand)
                if not value:
                    return value
            return value
        if isinstance(node.op, ast.Or):
            value = False
            for operand in node.values:
                value = self.visit(operand)
                if value:
                    return value
            return value
        raise ExpressionRefused(_("不允许的逻辑运算。"))

    def visit_UnaryOp(self, node: ast.UnaryOp):
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        if not isinstance(operand, _NUMBER):
            raise ExpressionFailed(_("正负号只能用于数字。"))
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        raise ExpressionRefused(_("不允许的一元运算。"))

    def visit_BinOp(self, node: ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise _refused_construct(node.op)
        left, right = self.visit(node.left), self.visit(node.right)
        self._charge(self._cost(left) + self._cost(right))
        return _arith(op, left, right)

    def visit_Compare(self, node: ast.Compare):
        left = self.visit(node.left)
        for op_node, comparator in zip(node.ops, node.comparators, strict=True):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise _refused_construct(op_node)
            right = self.visit(comparator)
            self._charge(self._cost(left) + self._cost(right))
            if isinstance(op_node, (ast.In, ast.NotIn)) and not isinstance(
                right, (str, list, tuple, dict, set, frozenset)
            ):
                raise ExpressionFailed(_("in 的右边必须是文本、列表或字典。"))
            try:
                result = op(left, right)
            except TypeError:
                raise ExpressionFailed(_("不能比较 %(left)s 和 %(right)s。"),
                                       left=type(left).__name__,
                                       right=type(right).__name__) from None
            if not result:
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp):
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_List(self, node: ast.List):
        return [self.visit(item) for item in node.elts]

    def visit_Tuple(self, node: ast.Tuple):
        return tuple(self.visit(item) for item in node.elts)

    def visit_Set(self, node: ast.Set):
        try:
            return {self.visit(item) for item in node.elts}
        except TypeError:
            raise ExpressionFailed(_("集合的元素必须是简单值。")) from None

    def visit_Dict(self, node: ast.Dict):
        if any(key is None for key in node.keys):
            raise ExpressionRefused(_("不允许使用 ** 展开。"))
        try:
            return {self.visit(key): self.visit(value)
                    for key, value in zip(node.keys, node.values, strict=True)}
        except TypeError:
            raise ExpressionFailed(_("字典的键必须是简单值。")) from None

    def visit_Subscript(self, node: ast.Subscript):
        if isinstance(node.slice, ast.Slice):
            raise ExpressionRefused(_("不允许使用切片。"))
        container = self.visit(node.value)
        key = self.visit(node.slice)
        if not isinstance(container, (dict, list, tuple, str)):
            raise ExpressionFailed(_("只能对文本、列表或字典取下标。"))
        try:
            return container[key]
        except (KeyError, IndexError, TypeError):
            raise ExpressionFailed(_("下标 %(key)s 不存在。"), key=repr(key)) from None

    def visit_Attribute(self, node: ast.Attribute):
        _refuse_name(node.attr)
        container = self.visit(node.value)
        if not isinstance(container, dict):
            raise ExpressionRefused(_("只能用“.”读取字典的键。"))
        try:
            return container[node.attr]
        except KeyError:
            raise ExpressionFailed(_("键“%(key)s”不存在。"), key=node.attr) from None

    def visit_Call(self, node: ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise _refused_call()
        if node.keywords:
            raise ExpressionRefused(_("函数调用不能使用关键字参数。"))
        args = [self.visit(arg) for arg in node.args]
        self._charge(sum(map(self._weigh, args)))
        try:
            return FUNCTIONS[node.func.id](*args)
        except ExpressionError:
            # Our own functions (round, sum) say what is wrong themselves;
            # ExpressionError is a ValueError, so it would be caught below.
            raise
        except (TypeError, ValueError, OverflowError):
            # Python's text ("invalid literal for int() with base 10") is
            # English and about Python: the window clerk reads this message.
            raise ExpressionFailed(_("%(function)s() 无法处理这个值。"),
                                   function=node.func.id) from None
