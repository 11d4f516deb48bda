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
* :class:`If`, :class:`For`, :class:`While`, :class:`Break` -- structured
  control flow; each holds its own bodies (lists of statements).
* :class:`SetItem` -- ``target[index] = value``.
* :class:`Push`, :class:`Pop` -- the stack that reverse mode uses to restore
  values a loop or a reassignment overwrote.

Atoms are :class:`Var` (a name) and :class:`Const` (a Python literal).  Every
pass reaches nested bodies through :func:`walk`, :func:`blocks_of` and
:func:`with_blocks`, so that nesting is handled in one place.
"""

from __future__ import annotations

import ast
import keyword
import operator
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Tuple, Union

from .. import runtime
from ..rules.syntax import BINARY_OPERATORS, COMPARE_OPERATORS, UNARY_OPERATORS, unparse
from .errors import Loc

# The variable of each name that is in use (see Var.__new__).
_VARS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_VARS_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class Var:
    """A variable of the emitted program.

    There is one object per name (while it is in use), so that equality and hashing are
    the object's own, which Python does without calling a method: every pass hashes and
    compares variables, and methods written in Python for it took a tenth of a transform.

    >>> Var("x") is Var("x"), Var("x") == Var("y")
    (True, False)
    >>> import copy
    >>> copy.deepcopy([Var("x")])[0] is Var("x")
    True
    """

    name: str

    def __new__(cls, name: str) -> Var:
        with _VARS_LOCK:  # two threads transforming at once get the same object
            var = _VARS.get(name)
            if var is None:
                var = _VARS[name] = object.__new__(cls)
        return var

    def __str__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple:
        """Copies and pickles are the one variable of the name (``copy.deepcopy`` of IR)."""
        return (Var, (self.name,))


@dataclass(frozen=True)
class Const:
    """A literal: a number, bool, None, string, or a tuple of those.

    ``spelling`` keeps how the user wrote a named constant (``math.pi``).
    Equality includes the type so that ``1``, ``1.0`` and ``True`` stay apart.
    """

    value: Any
    spelling: Optional[str] = field(default=None, compare=False)

    def _key(self) -> tuple:
        if isinstance(self.value, slice):  # slices are unhashable before Python 3.12
            return (slice, (self.value.start, self.value.stop, self.value.step))
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
    """Read a parameter or a free (global, closure, builtin) name.

    A free name of a function inlined from elsewhere is read as ``home.attr``
    (its module and its own name, or a closure cell and ``cell_contents``).
    """

    name: str
    free: bool = False
    home: Any = field(default=None, compare=False)
    attr: str = ""


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
    """``target += value`` (or ``target[index] += value``): accumulate a derivative.

    With ``subtract``, ``target -= value``: a negated term, without the negation.
    """

    target: Var
    value: Atom
    loc: Optional[Loc] = None
    index: Optional[Atom] = None
    subtract: bool = False


@dataclass
class SetItem:
    """``target[index] = value``."""

    target: Var
    index: Atom
    value: Atom
    loc: Optional[Loc] = None


@dataclass
class Push:
    """``stack.append(value)``: save a value the adjoint sweep will need."""

    stack: Var
    value: Atom
    loc: Optional[Loc] = None


@dataclass
class Pop:
    """``target = stack.pop()``: restore a saved value."""

    target: Var
    stack: Var
    loc: Optional[Loc] = None


@dataclass
class If:
    cond: Atom
    body: list
    orelse: list
    loc: Optional[Loc] = None


@dataclass
class For:
    """``for target in iter: body``; ``iter`` is an atom (a ``range`` once lowered)."""

    target: Var
    iter: Atom
    body: list
    loc: Optional[Loc] = None


@dataclass
class While:
    """``while True: test; if not cond: break; body`` -- ``test`` computes ``cond``."""

    test: list
    cond: Atom
    body: list
    loc: Optional[Loc] = None


@dataclass
class Break:
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
    """A parameter of an emitted function.

    User defaults are bound by the API; ``default`` is for the pullback
    closure, which takes a snapshot of the values its adjoint sweep restores.
    """

    name: str
    default: Optional[Atom] = None


@dataclass
class Function:
    name: str
    params: Tuple[Param, ...]
    body: list
    doc: str = ""
    loc: Optional[Loc] = None


Stmt = Union[Assign, Accum, SetItem, Push, Pop, Return, Comment, Function, If, For, While, Break]
STRUCTURED = (If, For, While, Function)


# Python operators are primitives: the IR calls the `operator` function, the
# printer and the emitter turn it back into infix syntax (rules.syntax has the tables).
# Built values print as displays: ``(a, b)``, ``[a, b]``, ``{'k': v}``, ``a and b``.
DISPLAYS = {
    runtime.make_tuple: lambda elts, kw: ast.Tuple(elts=elts, ctx=ast.Load()),
    runtime.make_list: lambda elts, kw: ast.List(elts=elts, ctx=ast.Load()),
    runtime.make_dict: lambda elts, kw: ast.Dict(
        keys=[ast.Constant(k) for k, _ in kw], values=[v for _, v in kw]
    ),
    runtime.both: lambda elts, kw: ast.BoolOp(op=ast.And(), values=elts),
    runtime.either: lambda elts, kw: ast.BoolOp(op=ast.Or(), values=elts),
}


def blocks_of(stmt: Stmt) -> Tuple[list, ...]:
    """The nested bodies of a statement (none for simple statements)."""
    kind = stmt.__class__  # every pass asks this of every statement: no isinstance chain
    if kind is If:
        return (stmt.body, stmt.orelse)
    if kind is For or kind is Function:
        return (stmt.body,)
    if kind is While:
        return (stmt.test, stmt.body)
    return ()


def with_blocks(stmt: Stmt, blocks: Tuple[list, ...]) -> Stmt:
    """A shallow copy of a structured statement with new bodies."""
    if isinstance(stmt, If):
        return If(stmt.cond, blocks[0], blocks[1], stmt.loc)
    if isinstance(stmt, For):
        return For(stmt.target, stmt.iter, blocks[0], stmt.loc)
    if isinstance(stmt, While):
        return While(blocks[0], stmt.cond, blocks[1], stmt.loc)
    if isinstance(stmt, Function):
        return Function(stmt.name, stmt.params, blocks[0], stmt.doc, stmt.loc)
    return stmt


def walk(body: list) -> Iterator[Stmt]:
    """Every statement of ``body``, nested bodies included, in order.

    >>> loop = For(Var("i"), Var("n"), [Break()])
    >>> [s.__class__.__name__ for s in walk([Comment("x"), loop, Break()])]
    ['Comment', 'For', 'Break', 'Break']
    """
    # every pass walks every statement: a simple one costs one class test, not a call
    for stmt in body:
        yield stmt
        if stmt.__class__ in _NESTING:
            for block in blocks_of(stmt):
                yield from walk(block)


_NESTING = frozenset(STRUCTURED)


# The helpers below return tuples: every pass calls them for every statement, and a
# generator costs more to make and run than the few atoms it gives.


def atoms_read(stmt: Stmt) -> Tuple[Atom, ...]:
    """The atoms a statement reads (not those of nested bodies)."""
    kind = stmt.__class__
    if kind is Assign:
        return expr_atoms(stmt.value)
    if kind is Accum:
        if stmt.index is not None:
            return (stmt.target, stmt.value, stmt.index)
        return (stmt.target, stmt.value)
    if kind is SetItem:
        return (stmt.target, stmt.index, stmt.value)
    if kind is Push:
        return (stmt.stack, stmt.value)
    if kind is Pop:
        return (stmt.stack,)
    if kind is Return:
        return tree_atoms(stmt.value)
    if kind is If or kind is While:
        return (stmt.cond,)
    if kind is For:
        return (stmt.iter,)
    if kind is Function:
        return tuple(p.default for p in stmt.params if p.default is not None)
    return ()


def targets_written(stmt: Stmt) -> Tuple[Var, ...]:
    """The variables a statement (re)binds or mutates (not those of nested bodies)."""
    kind = stmt.__class__
    if kind is Assign or kind is Accum or kind is SetItem or kind is Pop or kind is For:
        return (stmt.target,)
    if kind is Function:
        return (Var(stmt.name),)
    return ()


def expr_atoms(expr: Expr) -> Tuple[Atom, ...]:
    kind = expr.__class__
    if kind is Call:
        atoms = tuple(expr.args)
        if expr.kwargs:
            atoms += tuple(value for _, value in expr.kwargs)
        if expr.fn.__class__ is Var:  # calling a closure the sweep made (a pullback)
            atoms = (expr.fn,) + atoms
        return atoms
    if kind is Var or isinstance(expr, Const):
        return (expr,)
    return ()


def tree_atoms(tree: Tree) -> Tuple[Atom, ...]:
    if isinstance(tree, tuple):
        return tuple(atom for item in tree for atom in tree_atoms(item))
    return (tree,)


def map_tree(tree: Tree, fn: Callable[[Atom], Atom]) -> Tree:
    if isinstance(tree, tuple):
        return tuple(map_tree(item, fn) for item in tree)
    return fn(tree)


def substitute(stmt: Stmt, replace: Callable[[Atom], Atom], deep: bool = True) -> Stmt:
    """A copy of ``stmt`` with every atom it reads passed through ``replace``.

    Nested bodies are substituted too unless ``deep`` is false (then they are
    shared); targets are left alone (see :func:`rename`).
    """
    if isinstance(stmt, Assign):
        value = stmt.value
        if isinstance(value, Call):
            value = Call(
                replace(value.fn) if isinstance(value.fn, Var) else value.fn,
                tuple(replace(a) for a in value.args),
                tuple((k, replace(v)) for k, v in value.kwargs),
                value.spelling,
            )
        elif isinstance(value, (Var, Const)):
            value = replace(value)
        return Assign(stmt.target, value, stmt.loc, stmt.note)
    if isinstance(stmt, Accum):
        index = None if stmt.index is None else replace(stmt.index)
        return Accum(stmt.target, replace(stmt.value), stmt.loc, index, stmt.subtract)
    if isinstance(stmt, SetItem):
        return SetItem(stmt.target, replace(stmt.index), replace(stmt.value), stmt.loc)
    if isinstance(stmt, Push):
        return Push(stmt.stack, replace(stmt.value), stmt.loc)
    if isinstance(stmt, Pop):
        return Pop(stmt.target, stmt.stack, stmt.loc)
    if isinstance(stmt, Return):
        return Return(map_tree(stmt.value, replace), stmt.loc)
    blocks = blocks_of(stmt)
    if deep:
        blocks = tuple([substitute(s, replace) for s in block] for block in blocks)
    if isinstance(stmt, If):
        return If(replace(stmt.cond), blocks[0], blocks[1], stmt.loc)
    if isinstance(stmt, For):
        return For(stmt.target, replace(stmt.iter), blocks[0], stmt.loc)
    if isinstance(stmt, While):
        return While(blocks[0], replace(stmt.cond), blocks[1], stmt.loc)
    if isinstance(stmt, Function):
        params = tuple(
            p if p.default is None else Param(p.name, replace(p.default)) for p in stmt.params
        )
        return Function(stmt.name, params, blocks[0], stmt.doc, stmt.loc)
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
    if expr.fn in COMPARE_OPERATORS and len(args) == 2 and not expr.kwargs:
        return ast.Compare(left=args[0], ops=[COMPARE_OPERATORS[expr.fn]()], comparators=[args[1]])
    if expr.fn is operator.contains and len(args) == 2:  # contains(b, a) is `a in b`
        return ast.Compare(left=args[1], ops=[ast.In()], comparators=[args[0]])
    if expr.fn is operator.getitem and len(args) == 2:
        return subscript(args[0], args[1])
    if expr.fn is runtime.field and isinstance(expr.args[1], Const):  # field(p, "W") is p.W
        return ast.Attribute(value=args[0], attr=expr.args[1].value, ctx=ast.Load())
    if expr.fn in DISPLAYS:
        return DISPLAYS[expr.fn](args, [(k, atom(v)) for k, v in expr.kwargs])
    keywords = [ast.keyword(arg=k, value=atom(v)) for k, v in expr.kwargs]
    if expr.fn is runtime.call_method:  # call_method(x, "name", ...) is x.name(...)
        method = ast.Attribute(value=args[0], attr=expr.args[1].value, ctx=ast.Load())
        return ast.Call(func=method, args=args[2:], keywords=keywords)
    func = atom(expr.fn) if isinstance(expr.fn, Var) else callee(expr)
    return ast.Call(func=func, args=args, keywords=keywords)


def subscript(value: ast.expr, index: ast.expr, ctx: ast.expr_context = None) -> ast.Subscript:
    """``value[index]``, with ``slice(a, b)`` in the index written as ``a:b``."""
    return ast.Subscript(value=value, slice=_index(index), ctx=ctx or ast.Load())


def _index(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Tuple):
        return ast.Tuple(elts=[_index(e) for e in node.elts], ctx=ast.Load())
    is_slice = (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "slice"
        and not node.keywords
        and 1 <= len(node.args) <= 3
    )
    if not is_slice:
        return node
    parts = list(node.args) if len(node.args) > 1 else [ast.Constant(None), node.args[0]]
    parts += [ast.Constant(None)] * (3 - len(parts))
    lower, upper, step = (None if _is_none(p) else p for p in parts)
    return ast.Slice(lower=lower, upper=upper, step=step)


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def spelled_callee(call: Call) -> ast.expr:
    """The callee as the source spelled it (or by its ``__name__``)."""
    name = call.spelling or getattr(call.fn, "__name__", None) or repr(call.fn)
    return ast.parse(name, mode="eval").body


def format_trace(fn: Function) -> str:
    """The three-address trace of a lowered function, one primitive per line.

    Loads print as ``t0 = load('x')``; each line ends with the user's source
    text it computes.  Control flow is indented like Python.
    """
    lines: list = []
    _trace_block(fn.body, 0, lines)
    return "\n".join(lines) + "\n"


def _trace_block(body: list, depth: int, lines: list) -> None:
    pad = "    " * depth
    for stmt in body:
        if isinstance(stmt, Assign):
            if isinstance(stmt.value, Load):
                text = f"{stmt.target} = load({stmt.value.name!r})"
            else:
                text = f"{stmt.target} = {unparse(expr_to_ast(stmt.value, spelled_callee))}"
            if stmt.note:
                text = f"{text:<24}# {stmt.note}"
            lines.append(pad + text)
        elif isinstance(stmt, SetItem):
            target = subscript(atom_to_ast(stmt.target), atom_to_ast(stmt.index))
            lines.append(f"{pad}{unparse(target)} = {stmt.value}")
        elif isinstance(stmt, Push):
            lines.append(f"{pad}{stmt.stack}.append({unparse(atom_to_ast(stmt.value))})")
        elif isinstance(stmt, Pop):
            lines.append(f"{pad}{stmt.target} = {stmt.stack}.pop()")
        elif isinstance(stmt, Return):
            lines.append(f"{pad}return {unparse(_tree_to_ast(stmt.value))}")
        elif isinstance(stmt, Comment):
            lines.append(f"{pad}# {stmt.text}")
        elif isinstance(stmt, Break):
            lines.append(f"{pad}break")
        elif isinstance(stmt, If):
            lines.append(f"{pad}if {stmt.cond}:")
            _trace_block(stmt.body or [Comment("pass")], depth + 1, lines)
            if stmt.orelse:
                lines.append(f"{pad}else:")
                _trace_block(stmt.orelse, depth + 1, lines)
        elif isinstance(stmt, For):
            lines.append(f"{pad}for {stmt.target} in {stmt.iter}:")
            _trace_block(stmt.body or [Comment("pass")], depth + 1, lines)
        elif isinstance(stmt, While):
            lines.append(f"{pad}while True:")
            _trace_block(stmt.test, depth + 1, lines)
            lines.append(f"{pad}    if not {stmt.cond}: break")
            _trace_block(stmt.body, depth + 1, lines)


def _tree_to_ast(tree: Tree) -> ast.expr:
    if isinstance(tree, tuple):
        return ast.Tuple(elts=[_tree_to_ast(t) for t in tree], ctx=ast.Load())
    return atom_to_ast(tree)


# ------------------------------------------------------------------ naming


class Names:
    """Fresh names that never collide with the user's.

    Temporaries are ``t0, t1, ...``; the derivative of ``v`` is ``dv``
    (``dv_1`` if the user already has a ``dv``), or ``d2v`` when the code
    being differentiated is itself a derivative s2s_ad emitted (``level`` 2;
    see :mod:`s2s_ad.compiler.naming`).  ``generated`` records the
    temporaries, which the emitter may fold into the expression using them;
    ``primal_of`` the derivatives named after their primal variable, and
    ``suggested`` the names a stage would like a variable to be shown under
    (the gradient of ``a`` is ``da`` even when it is a primal temporary).
    The emitter gives the temporaries that survive their final names.
    """

    def __init__(self, taken: set):
        self.taken = set(taken)
        self.user = frozenset(taken)
        self.generated: set = set()
        self.level = 1
        self.primal_of: dict = {}
        self.suggested: dict = {}
        self._counter = 0
        self._derivatives: dict = {}

    @property
    def prefix(self) -> str:
        """What derivative names start with at this level: ``d``, ``d2``, ``d3``, ..."""
        return "d" if self.level == 1 else f"d{self.level}"

    def temp(self) -> Var:
        while f"t{self._counter}" in self.taken:
            self._counter += 1
        name = f"t{self._counter}"
        self._counter += 1
        self.taken.add(name)
        self.generated.add(name)
        return Var(name)

    def claim(self, name: str) -> str:
        """``name`` if it is free, else ``name_1``, ``name_2``, ...; a name that is not an
        identifier is made one first (``<lambda>_pullback`` as ``lambda_pullback``)."""
        if not name.isidentifier() or keyword.iskeyword(name):
            name = _identifier(name)
        candidate, k = name, 1
        while candidate in self.taken:
            candidate, k = f"{name}_{k}", k + 1
        self.taken.add(candidate)
        return candidate

    def derivative(self, var: Var, base: str = "") -> Var:
        """The derivative variable of ``var`` (named after ``base`` if given)."""
        key = var.name
        if key not in self._derivatives:
            self._derivatives[key] = Var(self.claim(self.prefix + (base or var.name)))
            if not base:
                self.primal_of[self._derivatives[key].name] = var.name
        return self._derivatives[key]

    def suggest(self, var: Var, name: str) -> None:
        """Show ``var`` as ``name`` if it survives as a temporary and ``name`` is free."""
        self.suggested.setdefault(var.name, name)


def rename(body: list, mapping: dict) -> list:
    """A copy of ``body`` with the variables in ``mapping`` renamed, targets included."""

    def swap(atom: Atom) -> Atom:
        return mapping.get(atom, atom) if isinstance(atom, Var) else atom

    def visit(stmts: list) -> list:
        renamed = []
        for stmt in stmts:
            blocks = blocks_of(stmt)
            stmt = substitute(stmt, swap, deep=False)
            if isinstance(stmt, (Assign, Accum, SetItem, Pop, For)):
                stmt.target = swap(stmt.target)
            if isinstance(stmt, (Push, Pop)):
                stmt.stack = swap(stmt.stack)
            if blocks:
                stmt = with_blocks(stmt, tuple(visit(b) for b in blocks))
            renamed.append(stmt)
        return renamed

    return visit(body)


def _identifier(name: str) -> str:
    """``name`` as a Python identifier that is no keyword.

    >>> _identifier("<lambda>_pullback"), _identifier("lambda"), _identifier("2nd")
    ('lambda_pullback', 'lambda_', 'v_2nd')
    """
    name = re.sub(r"\W+", "", name) or "v"
    if name[0].isdigit():
        name = "v_" + name
    return name + "_" if keyword.iskeyword(name) else name
