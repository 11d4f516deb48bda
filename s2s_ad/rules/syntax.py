"""Python's operators as primitives, and printing templates back as source.

Templates are Python expressions, so the rules layer owns the link between
an operator's syntax (``ast.Add``) and the function that computes it
(``operator.add``): the IR calls the function, the printer and the emitter
turn it back into infix syntax, and Taylor mode evaluates templates by it.

>>> BINARY_OPERATORS[operator.add].__name__, AST_BINARY[ast.Mult].__name__
('Add', 'mul')
"""

from __future__ import annotations

import ast
import operator
from ast import unparse as _unparse

BINARY_OPERATORS = {
    operator.add: ast.Add,
    operator.sub: ast.Sub,
    operator.mul: ast.Mult,
    operator.truediv: ast.Div,
    operator.floordiv: ast.FloorDiv,
    operator.mod: ast.Mod,
    operator.pow: ast.Pow,
    operator.matmul: ast.MatMult,
    operator.and_: ast.BitAnd,
    operator.or_: ast.BitOr,
    operator.xor: ast.BitXor,
}
UNARY_OPERATORS = {operator.neg: ast.USub, operator.pos: ast.UAdd, operator.not_: ast.Not}
UNARY_OPERATORS[operator.invert] = ast.Invert
COMPARE_OPERATORS = {
    operator.lt: ast.Lt,
    operator.le: ast.LtE,
    operator.gt: ast.Gt,
    operator.ge: ast.GtE,
    operator.eq: ast.Eq,
    operator.ne: ast.NotEq,
    operator.is_: ast.Is,
    operator.is_not: ast.IsNot,
}
# The other way: the function an operator's syntax node denotes.
AST_BINARY = {node: fn for fn, node in BINARY_OPERATORS.items()}
AST_COMPARE = {node: fn for fn, node in COMPARE_OPERATORS.items()}


def unparse(node: ast.AST) -> str:
    """Source text of an AST node, without surrounding whitespace.

    >>> unparse(ast.parse("x*(y+1)", mode="eval").body)
    'x * (y + 1)'

    A name and a number print without the unparser, as it prints them: the emitter
    prints tens of thousands of them for a long function.

    >>> unparse(ast.Name(id="x", ctx=ast.Load())), unparse(ast.Constant(1e-05))
    ('x', '1e-05')
    """
    kind = node.__class__
    if kind is ast.Name:
        return node.id
    if kind is ast.Constant and node.value.__class__ in _PLAIN_CONSTANTS:
        text = repr(node.value)
        if "inf" not in text and "nan" not in text:  # the unparser spells those otherwise
            return text
    return _unparse(node).strip()


_PLAIN_CONSTANTS = (int, float, bool, type(None))
