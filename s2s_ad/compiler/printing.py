"""Python text of IR expressions, printed straight from the IR.

Emission prints tens of thousands of expressions for a long function; building a
syntax tree for each and unparsing it cost a fifth of the transform.  A :class:`Text`
is an expression's text with its precedence (so that the expression it is folded
into adds the parentheses ``ast.unparse`` would), the names it reads, and what an
enclosing subscript or attribute needs to know of it.  The text is exactly what
``ast.unparse`` writes for the syntax tree :func:`s2s_ad.compiler.ir.expr_to_ast`
builds.

>>> x, y = variable("x"), variable("y")
>>> top(binary("*", x, binary("+", y, constant(1))))
'x * (y + 1)'
>>> top(tuple_of([x])), top(subscript(x, tuple_of([call("slice", [constant(None), y]), y])))
('(x,)', 'x[:y, y]')
"""

from __future__ import annotations

import ast
import operator
import sys
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Sequence, Tuple

from .. import runtime
from ..rules.syntax import BINARY_OPERATORS, COMPARE_OPERATORS, UNARY_OPERATORS
from . import ir

# ``ast``'s precedence levels (``ast._Precedence``), lowest first.
TUPLE, TEST, OR, AND, NOT, CMP, EXPR, BXOR, BAND, SHIFT, ARITH, TERM, FACTOR, POWER = (
    1,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
)
ATOM = 17

_SYMBOLS = {
    ast.Add: ("+", ARITH),
    ast.Sub: ("-", ARITH),
    ast.Mult: ("*", TERM),
    ast.MatMult: ("@", TERM),
    ast.Div: ("/", TERM),
    ast.Mod: ("%", TERM),
    ast.FloorDiv: ("//", TERM),
    ast.Pow: ("**", POWER),
    ast.LShift: ("<<", SHIFT),
    ast.RShift: (">>", SHIFT),
    ast.BitOr: ("|", EXPR),
    ast.BitXor: ("^", BXOR),
    ast.BitAnd: ("&", BAND),
    ast.USub: ("-", FACTOR),
    ast.UAdd: ("+", FACTOR),
    ast.Invert: ("~", FACTOR),
    ast.Not: ("not", NOT),
    ast.Eq: ("==", CMP),
    ast.NotEq: ("!=", CMP),
    ast.Lt: ("<", CMP),
    ast.LtE: ("<=", CMP),
    ast.Gt: (">", CMP),
    ast.GtE: (">=", CMP),
    ast.Is: ("is", CMP),
    ast.IsNot: ("is not", CMP),
    ast.In: ("in", CMP),
    ast.NotIn: ("not in", CMP),
}
# The operator functions of the IR, by their symbol.
BINARY = {fn: _SYMBOLS[node][0] for fn, node in BINARY_OPERATORS.items()}
UNARY = {fn: _SYMBOLS[node][0] for fn, node in UNARY_OPERATORS.items()}
COMPARE = {fn: _SYMBOLS[node][0] for fn, node in COMPARE_OPERATORS.items()}
_PRECEDENCE = {_SYMBOLS[node][0]: _SYMBOLS[node][1] for node in BINARY_OPERATORS.values()}
_INFINITY = "1e" + repr(sys.float_info.max_10_exp + 1)  # as ``ast.unparse`` spells inf
_NO_NAMES: frozenset = frozenset()


class Text(NamedTuple):
    """An expression's text, its precedence, the names it reads, and its shape.

    ``shape`` is ``"int"`` for an integer literal (``1 .real``), ``"none"`` for
    ``None``, ``"tuple"`` for a tuple display (``parts`` its items) and ``"slice"``
    for a call of ``slice`` (``parts`` its arguments), which a subscript writes as
    ``a:b``.
    """

    text: str
    precedence: int = ATOM
    names: frozenset = _NO_NAMES
    shape: str = ""
    parts: Tuple[Text, ...] = ()


def within(item: Text, context: int) -> str:
    """``item``'s text where the context has precedence ``context``: parenthesized if lower.

    >>> within(binary("+", variable("a"), variable("b")), TERM)
    '(a + b)'
    """
    return f"({item.text})" if context > item.precedence else item.text


def top(item: Text) -> str:
    """The text of a whole expression (a statement's value): ``ast.unparse``'s.

    >>> top(tuple_of([variable("a"), variable("b")]))
    '(a, b)'
    """
    return within(item, TEST)


def names_of(items: Iterable[Text]) -> frozenset:
    """The names the expressions ``items`` read, together.

    >>> sorted(names_of([variable("a"), variable("b"), constant(2)]))
    ['a', 'b']
    """
    names = _NO_NAMES
    for item in items:
        if item.names:
            names = names | item.names if names else item.names
    return names


def variable(name: str) -> Text:
    """A name read.

    >>> variable("x")
    Text(text='x', precedence=17, names=frozenset({'x'}), shape='', parts=())
    """
    return Text(name, ATOM, frozenset((name,)))


def constant(value: Any) -> Text:
    """A literal as the IR writes it: a negative number negated, a tuple as a display.

    >>> top(constant(-2.5)), top(constant((1, float("inf")))), top(constant(float("nan")))
    ('-2.5', '(1, 1e309)', '(1e309-1e309)')
    """
    if isinstance(value, tuple):
        return tuple_of([constant(item) for item in value])
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return Text("-" + _literal(-value).text, FACTOR)
    return _literal(value)


def _literal(value: Any) -> Text:
    if value is None:
        return Text("None", ATOM, _NO_NAMES, "none")
    if value is ...:
        return Text("...")
    if isinstance(value, (float, complex)):
        text = repr(value).replace("inf", _INFINITY).replace("nan", f"({_INFINITY}-{_INFINITY})")
        return Text(text)
    return Text(repr(value), ATOM, _NO_NAMES, "int" if isinstance(value, int) else "")


def binary(symbol: str, left: Text, right: Text) -> Text:
    """``left symbol right`` (``**`` binds to the right).

    >>> top(binary("**", binary("**", variable("a"), variable("b")), variable("c")))
    '(a ** b) ** c'
    """
    level = _PRECEDENCE[symbol]
    left_level, right_level = (level + 1, level) if level == POWER else (level, level + 1)
    text = f"{within(left, left_level)} {symbol} {within(right, right_level)}"
    return Text(text, level, names_of((left, right)))


def unary(symbol: str, operand: Text) -> Text:
    """``-x``, ``+x``, ``~x`` or ``not x``.

    >>> top(unary("-", binary("*", variable("a"), variable("b")))), top(unary("not", variable("a")))
    ('-(a * b)', 'not a')
    """
    level = NOT if symbol == "not" else FACTOR
    space = " " if level == NOT else ""
    return Text(f"{symbol}{space}{within(operand, level)}", level, operand.names)


def compare(symbol: str, left: Text, right: Text) -> Text:
    """``left symbol right`` for a comparison (``<``, ``in``, ``is not``, ...).

    >>> top(compare("<", variable("a"), binary("+", variable("b"), constant(1))))
    'a < b + 1'
    """
    text = f"{within(left, CMP + 1)} {symbol} {within(right, CMP + 1)}"
    return Text(text, CMP, names_of((left, right)))


def boolean(symbol: str, values: Sequence[Text]) -> Text:
    """``a and b and ...`` (each operand binding one level tighter than the one before).

    >>> top(boolean("or", [variable("a"), boolean("or", [variable("b"), variable("c")])]))
    'a or (b or c)'
    """
    level = AND if symbol == "and" else OR
    texts = [within(value, min(level + 1 + i, ATOM)) for i, value in enumerate(values)]
    return Text(f" {symbol} ".join(texts), level, names_of(values))


def tuple_of(items: Sequence[Text]) -> Text:
    """A tuple display; parenthesized by the context (always, when empty).

    >>> top(tuple_of([])), top(tuple_of([variable("a")]))
    ('()', '(a,)')
    """
    if not items:
        return Text("()", ATOM, _NO_NAMES, "tuple")
    return Text(_items(items), TUPLE, names_of(items), "tuple", tuple(items))


def _items(items: Sequence[Text]) -> str:
    if len(items) == 1:
        return within(items[0], TEST) + ","
    return ", ".join([within(item, TEST) for item in items])


def list_of(items: Sequence[Text]) -> Text:
    """A list display.

    >>> top(list_of([variable("a"), tuple_of([variable("b")])]))
    '[a, (b,)]'
    """
    text = "[" + ", ".join([within(item, TEST) for item in items]) + "]"
    return Text(text, ATOM, names_of(items))


def dict_of(entries: Sequence[Tuple[Any, Text]]) -> Text:
    """A dict display of constant keys.

    >>> top(dict_of([("k", variable("v"))]))
    "{'k': v}"
    """
    texts = [f"{_literal(key).text}: {within(value, TEST)}" for key, value in entries]
    return Text("{" + ", ".join(texts) + "}", ATOM, names_of(value for _, value in entries))


def attribute(value: Text, attr: str) -> Text:
    """``value.attr`` (``1 .real`` for an integer literal, as ``ast.unparse`` writes it).

    >>> top(attribute(variable("p"), "W")), top(attribute(constant(1), "real"))
    ('p.W', '1 .real')
    """
    space = " " if value.shape == "int" else ""
    return Text(f"{within(value, ATOM)}{space}.{attr}", ATOM, value.names)


def call(func: Text | str, args: Sequence[Text], keywords: Sequence[Tuple[str, Text]] = ()) -> Text:
    """``func(args, name=value, ...)``; a callee given as text is a dotted name.

    >>> top(call("np.sum", [variable("x")], [("axis", constant(0))]))
    'np.sum(x, axis=0)'
    """
    if isinstance(func, str):
        head = func.split(".", 1)[0]
        func = Text(func, ATOM, frozenset((head,)))
    texts = [within(arg, TEST) for arg in args]
    texts += [f"{name}={within(value, TEST)}" for name, value in keywords]
    names = names_of([func, *args, *(value for _, value in keywords)])
    text = f"{within(func, ATOM)}({', '.join(texts)})"
    if func.text == "slice" and not keywords and 1 <= len(args) <= 3:
        return Text(text, ATOM, names, "slice", tuple(args))
    return Text(text, ATOM, names)


def subscript(value: Text, index: Text) -> Text:
    """``value[index]``, with ``slice(a, b)`` in the index written as ``a:b``.

    >>> top(subscript(variable("x"), call("slice", [variable("a"), constant(None), constant(2)])))
    'x[a::2]'
    """
    if index.shape == "tuple" and index.parts:
        parts = [_index(part) for part in index.parts]
        inside, names = _items(parts), names_of([value, *parts])
    else:
        index = _index(index)
        inside, names = within(index, TEST), names_of((value, index))
    return Text(f"{within(value, ATOM)}[{inside}]", ATOM, names)


def _index(item: Text) -> Text:
    if item.shape == "tuple":
        return tuple_of([_index(part) for part in item.parts]) if item.parts else item
    if item.shape != "slice":
        return item
    parts: List[Any] = list(item.parts) if len(item.parts) > 1 else [None, item.parts[0]]
    parts += [None] * (3 - len(parts))
    lower, upper, step = (
        None if p is None or p.shape == "none" else within(p, TEST) for p in parts
    )
    text = f"{lower or ''}:{upper or ''}" + ("" if step is None else f":{step}")
    return Text(text, ATOM, names_of(item.parts))  # no longer reads the name ``slice``


def call_of(
    value: ir.Call, callee: Callable[[ir.Call], str], atom: Callable[[ir.Atom], Text]
) -> Text:
    """The text of a call: ``ir.expr_to_ast``'s syntax, printed as ``ast.unparse`` would.

    ``callee`` names called objects, ``atom`` prints arguments (the emitter's folds
    temporaries into their use).

    >>> call = ir.Call(operator.mul, (ir.Var("a"), ir.Const(-2)))
    >>> top(call_of(call, lambda c: "f", lambda a: variable(a.name) if a.__class__ is ir.Var
    ...     else constant(a.value)))
    'a * -2'
    """
    fn = value.fn
    args = [atom(a) for a in value.args]
    if not value.kwargs and len(args) == 2:
        if fn in BINARY:
            return binary(BINARY[fn], args[0], args[1])
        if fn in COMPARE:
            return compare(COMPARE[fn], args[0], args[1])
    if fn in UNARY and len(args) == 1 and not value.kwargs:
        return unary(UNARY[fn], args[0])
    if fn is operator.contains and len(args) == 2:  # contains(b, a) is `a in b`
        return compare("in", args[1], args[0])
    if fn is operator.getitem and len(args) == 2:
        return subscript(args[0], args[1])
    if fn is runtime.field and isinstance(value.args[1], ir.Const):  # field(p, "W") is p.W
        return attribute(args[0], value.args[1].value)
    display = DISPLAYS.get(fn) if not isinstance(fn, ir.Var) else None
    if display is not None:
        return display(args, [(k, atom(v)) for k, v in value.kwargs])
    keywords = [(k, atom(v)) for k, v in value.kwargs]
    if fn is runtime.call_method:  # call_method(x, "name", ...) is x.name(...)
        method = attribute(args[0], value.args[1].value)
        return call(method, args[2:], keywords)
    return call(atom(fn) if isinstance(fn, ir.Var) else callee(value), args, keywords)


# Built values print as displays: ``(a, b)``, ``[a, b]``, ``{'k': v}``, ``a and b``.
DISPLAYS: Dict[Any, Callable[[list, list], Text]] = {
    runtime.make_tuple: lambda elts, kw: tuple_of(elts),
    runtime.make_list: lambda elts, kw: list_of(elts),
    runtime.make_dict: lambda elts, kw: dict_of(kw),
    runtime.both: lambda elts, kw: boolean("and", elts),
    runtime.either: lambda elts, kw: boolean("or", elts),
}


def from_syntax(node: ast.expr) -> Text:
    """The :class:`Text` of a syntax tree (a spelled constant such as ``math.pi``).

    >>> from_syntax(ast.parse("a + b", mode="eval").body)[:2]
    ('a + b', 12)
    """
    names = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    kind = node.__class__
    if kind is ast.Tuple:
        return tuple_of([from_syntax(e) for e in node.elts])
    if kind is ast.Constant:
        return _literal(node.value)
    if kind is ast.Call and _is_slice_call(node):
        parts = tuple(from_syntax(a) for a in node.args)
        return Text(ast.unparse(node), ATOM, names, "slice", parts)
    text = ast.unparse(node)
    if kind is ast.BinOp or kind is ast.UnaryOp or kind is ast.Compare:
        op = node.ops[0] if kind is ast.Compare else node.op
        level = _SYMBOLS[op.__class__][1]
        return Text(text, level, names)
    if kind is ast.BoolOp:
        return Text(text, AND if isinstance(node.op, ast.And) else OR, names)
    if kind is ast.IfExp or kind is ast.Lambda:
        return Text(text, TEST, names)
    return Text(text, ATOM, names)  # a name, call, attribute, display, ...


def _is_slice_call(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Name)
        and func.id == "slice"
        and not node.keywords
        and (1 <= len(node.args) <= 3)
    )
