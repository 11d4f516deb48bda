"""The intermediate representation: a small three-address language.

Every stage after ``lower`` reads and writes these few dataclasses and nothing
else.  A :class:`Function` has parameters and a body, a list of statements:

* :class:`Assign` -- ``target = value`` where the value is one primitive
  :class:`Call` on atoms, a :class:`Load` of a parameter or free name, or an
  atom (a copy).  Primal temporaries are assigned once; adjoint and tangent
  variables may be accumulated into with :class:`Accum` (``target += value``).
* :class:`Return` -- a (nested tuple of) atoms.
* :class:`Comment` -- text tying emitted code back to the user's lines.
* :class:`Function` -- a nested ``def`` (the pullback of ``vjp``).

Atoms are :class:`Var` (a name) and :class:`Const` (a Python literal).
Control flow (``If``, ``For``, ``While``) and stack statements (``Push``,
``Pop``) join this set as structured statements holding their own bodies;
every pass walks bodies through :func:`walk` so that nesting is one place.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Tuple, Union

from .errors import Loc

try:
    from ast import unparse as _unparse
except ImportError:  # Python 3.8
    from astunparse import unparse as _unparse


@dataclass(frozen=True)
class Var:
    """A variable of the emitted program."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    """A literal: a number, bool, None, string, or a tuple of those.

    ``spelling`` keeps how the user wrote a named constant (``math.pi``).
    Equality includes the type so that ``1``, ``1.0`` and ``True`` stay apart.
    """

    value: Any
    spelling: Optional[str] = field(default=None, compare=False)

    def _key(self) -> tuple:
        return (type(self.value), self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Const) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.spelling or repr(self.value)


Atom = Union[Var, Const]
# A return value: an atom or a tuple nesting atoms.
Tree = Union[Atom, Tuple["Tree", ...]]


@dataclass(frozen=True)
class Load:
    """Read a parameter or a free (global, closure, builtin) name."""

    name: str
    free: bool = False


@dataclass(frozen=True)
class Call:
    """Apply one primitive to atoms.

    ``fn`` is the Python object called (``operator.add`` for ``+``,
    ``numpy.exp``, ...); rules are looked up by it.  ``spelling`` is how the
    source wrote the callee, used when emitting if it still names ``fn``.
    """

    fn: Callable
    args: Tuple[Atom, ...]
    kwargs: Tuple[Tuple[str, Atom], ...] = ()
    spelling: Optional[str] = field(default=None, compare=False)


Expr = Union[Load, Call, Var, Const]


@dataclass
class Assign:
    target: Var
    value: Expr
    loc: Optional[Loc] = None
    note: str = ""  # the user's source text this statement computes


@dataclass
class Accum:
    """``target += value``: accumulate an adjoint contribution."""

    target: Var
    value: Atom
    loc: Optional[Loc] = None


@dataclass
class Return:
    value: Tree
    loc: Optional[Loc] = None


@dataclass
class Comment:
    text: str


@dataclass(frozen=True)
class Param:
    """A parameter of an emitted function (defaults are bound by the API, not here)."""

    name: str


@dataclass
class Function:
    name: str
    params: Tuple[Param, ...]
    body: list
    doc: str = ""
    loc: Optional[Loc] = None


Stmt = Union[Assign, Accum, Return, Comment, Function]


# Python operators as primitives: the IR calls the `operator` function, the
# printer and the emitter turn it back into infix syntax.
BINARY_OPERATORS = {
    operator.add: ast.Add,
    operator.sub: ast.Sub,
    operator.mul: ast.Mult,
    operator.truediv: ast.Div,
    operator.floordiv: ast.FloorDiv,
    operator.mod: ast.Mod,
    operator.pow: ast.Pow,
    operator.matmul: ast.MatMult,
}
UNARY_OPERATORS = {operator.neg: ast.USub, operator.pos: ast.UAdd}


def walk(body: list) -> Iterator[Stmt]:
    """Every statement of ``body``, nested bodies included, in order."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, Function):
            yield from walk(stmt.body)


def atoms_read(stmt: Stmt) -> Iterator[Atom]:
    """The atoms a statement reads (not those of nested bodies)."""
    if isinstance(stmt, Assign):
        yield from expr_atoms(stmt.value)
    elif isinstance(stmt, Accum):
        yield stmt.target
        yield stmt.value
    elif isinstance(stmt, Return):
        yield from tree_atoms(stmt.value)


def expr_atoms(expr: Expr) -> Iterator[Atom]:
    if isinstance(expr, Call):
        yield from expr.args
        for _, value in expr.kwargs:
            yield value
    elif isinstance(expr, (Var, Const)):
        yield expr


def tree_atoms(tree: Tree) -> Iterator[Atom]:
    if isinstance(tree, tuple):
        for item in tree:
            yield from tree_atoms(item)
    else:
        yield tree


def map_tree(tree: Tree, fn: Callable[[Atom], Atom]) -> Tree:
    if isinstance(tree, tuple):
        return tuple(map_tree(item, fn) for item in tree)
    return fn(tree)


def substitute(stmt: Stmt, replace: Callable[[Atom], Atom]) -> Stmt:
    """A copy of ``stmt`` with every atom it reads passed through ``replace``."""
    if isinstance(stmt, Assign):
        value = stmt.value
        if isinstance(value, Call):
            value = Call(
                value.fn,
                tuple(replace(a) for a in value.args),
                tuple((k, replace(v)) for k, v in value.kwargs),
                value.spelling,
            )
        elif isinstance(value, (Var, Const)):
            value = replace(value)
        return Assign(stmt.target, value, stmt.loc, stmt.note)
    if isinstance(stmt, Accum):
        return Accum(stmt.target, replace(stmt.value), stmt.loc)
    if isinstance(stmt, Return):
        return Return(map_tree(stmt.value, replace), stmt.loc)
    if isinstance(stmt, Function):
        body = [substitute(s, replace) for s in stmt.body]
        return Function(stmt.name, stmt.params, body, stmt.doc, stmt.loc)
    return stmt


# ---------------------------------------------------------------- printing


def atom_to_ast(atom: Atom) -> ast.expr:
    if isinstance(atom, Var):
        return ast.Name(id=atom.name, ctx=ast.Load())
    if atom.spelling:
        return ast.parse(atom.spelling, mode="eval").body
    return _literal(atom.value)


def _literal(value: Any) -> ast.expr:
    if isinstance(value, tuple):
        return ast.Tuple(elts=[_literal(v) for v in value], ctx=ast.Load())
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)


def expr_to_ast(
    expr: Expr,
    callee: Callable[[Call], ast.expr],
    atom: Callable[[Atom], ast.expr] = atom_to_ast,
) -> ast.expr:
    """Python syntax for one IR expression.

    ``callee`` spells called objects; ``atom`` spells arguments (the emitter
    passes one that folds temporaries into their use).
    """
    if isinstance(expr, Load):
        return ast.Name(id=expr.name, ctx=ast.Load())
    if isinstance(expr, (Var, Const)):
        return atom(expr)
    args = [atom(a) for a in expr.args]
    if expr.fn in BINARY_OPERATORS and len(args) == 2 and not expr.kwargs:
        return ast.BinOp(left=args[0], op=BINARY_OPERATORS[expr.fn](), right=args[1])
    if expr.fn in UNARY_OPERATORS and len(args) == 1 and not expr.kwargs:
        return ast.UnaryOp(op=UNARY_OPERATORS[expr.fn](), operand=args[0])
    if expr.fn is operator.getitem and len(args) == 2:
        return ast.Subscript(value=args[0], slice=args[1], ctx=ast.Load())
    keywords = [ast.keyword(arg=k, value=atom(v)) for k, v in expr.kwargs]
    return ast.Call(func=callee(expr), args=args, keywords=keywords)


def spelled_callee(call: Call) -> ast.expr:
    """The callee as the source spelled it (or by its ``__name__``)."""
    name = call.spelling or getattr(call.fn, "__name__", None) or repr(call.fn)
    return ast.parse(name, mode="eval").body


def unparse(node: ast.AST) -> str:
    return _unparse(ast.fix_missing_locations(node)).strip()


def format_trace(fn: Function) -> str:
    """The three-address trace of a lowered function, one primitive per line.

    Loads print as ``t0 = load('x')``; each line ends with the user's source
    text it computes.
    """
    lines = []
    for stmt in fn.body:
        if isinstance(stmt, Assign):
            if isinstance(stmt.value, Load):
                text = f"{stmt.target} = load({stmt.value.name!r})"
            else:
                text = f"{stmt.target} = {unparse(expr_to_ast(stmt.value, spelled_callee))}"
            if stmt.note:
                text = f"{text:<24}# {stmt.note}"
            lines.append(text)
        elif isinstance(stmt, Return):
            lines.append(f"return {unparse(_tree_to_ast(stmt.value))}")
        elif isinstance(stmt, Comment):
            lines.append(f"# {stmt.text}")
    return "\n".join(lines) + "\n"


def _tree_to_ast(tree: Tree) -> ast.expr:
    if isinstance(tree, tuple):
        return ast.Tuple(elts=[_tree_to_ast(t) for t in tree], ctx=ast.Load())
    return atom_to_ast(tree)


# ------------------------------------------------------------------ naming


class Names:
    """Fresh names that never collide with the user's.

    Temporaries are ``t0, t1, ...``; the derivative of ``v`` is ``dv``
    (``dv_1`` if the user already has a ``dv``).  ``generated`` records the
    temporaries, which the emitter may fold into the expression using them.
    """

    def __init__(self, taken: set):
        self.taken = set(taken)
        self.generated: set = set()
        self._counter = 0
        self._derivatives: dict = {}

    def temp(self) -> Var:
        while f"t{self._counter}" in self.taken:
            self._counter += 1
        name = f"t{self._counter}"
        self._counter += 1
        self.taken.add(name)
        self.generated.add(name)
        return Var(name)

    def claim(self, name: str) -> str:
        """``name`` if it is free, else ``name_1``, ``name_2``, ..."""
        candidate, k = name, 1
        while candidate in self.taken:
            candidate, k = f"{name}_{k}", k + 1
        self.taken.add(candidate)
        return candidate

    def derivative(self, var: Var, base: str = "") -> Var:
        """The derivative variable of ``var`` (named after ``base`` if given)."""
        key = var.name
        if key not in self._derivatives:
            self._derivatives[key] = Var(self.claim("d" + (base or var.name)))
        return self._derivatives[key]


def rename(body: list, mapping: dict) -> list:
    """A copy of ``body`` with the variables in ``mapping`` renamed, targets included."""

    def swap(atom: Atom) -> Atom:
        return mapping.get(atom, atom) if isinstance(atom, Var) else atom

    renamed = []
    for stmt in body:
        stmt = substitute(stmt, swap)
        if isinstance(stmt, (Assign, Accum)):
            stmt.target = swap(stmt.target)
        elif isinstance(stmt, Function):
            stmt = Function(stmt.name, stmt.params, rename(stmt.body, mapping), stmt.doc, stmt.loc)
        renamed.append(stmt)
    return renamed
