"""Instantiate rule templates as IR statements.

A :class:`Builder` turns a template such as ``g * cos(x)`` into three-address
statements with the template's names replaced by atoms of the program being
transformed.  With ``optimize`` it simplifies as it goes, the way a person
would when writing a derivative by hand: constants are folded, ``1 * e`` is
``e``, ``-1 * e`` is ``-e``, ``a + -b`` is ``a - b``.  Every simplification is
shape-safe: nothing turns an array into a scalar.
"""

from __future__ import annotations

import ast
import contextlib
import operator
from typing import Any, Callable, Collection, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import runtime
from ..rules import Template
from ..rules.syntax import AST_BINARY, AST_COMPARE
from . import ir
from .binding import Default
from .errors import Loc

# The arithmetic operators: folded on constants here, recomputed rather than
# saved by reverse mode's loops (reverse_optimize.py).
ARITHMETIC = {
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.pow,
    operator.neg,
}

# Calls that may return (a view of) their argument instead of a new value:
# an adjoint holding their result must not be updated in place.
ALIASING = {
    id(fn)
    for fn in (
        runtime.unbroadcast,
        runtime.expand_like,
        runtime.stop_gradient,
        runtime.synced,
        runtime.resynced,
        runtime.kept,
    )
}


_ABSENT = object()


class ScopedTable(dict):
    """A dict whose changes since :meth:`open` are undone by :meth:`close`: a builder's
    nested block leaves what it learned behind at the cost of what it changed, not of a
    copy of everything known.  Keys of ``watched`` that may be present are kept in
    ``present_watched`` (a superset), so that they can be dropped without a scan.

    >>> table = ScopedTable({"a"})
    >>> table["a"] = 1
    >>> table.open(); table["a"] = 2; table.add("b"); table.close()
    >>> table, table.present_watched
    ({'a': 1}, {'a'})
    """

    def __init__(self, watched: Collection = frozenset()):
        super().__init__()
        self.watched = watched
        self.present_watched: set = set()
        self._undo: List[list] = []  # per open scope: (key, value before or _ABSENT)

    def open(self) -> None:
        self._undo.append([])

    def close(self) -> None:
        for key, before in reversed(self._undo.pop()):
            if before is _ABSENT:
                super().pop(key, None)
            else:
                super().__setitem__(key, before)
                if key in self.watched:
                    self.present_watched.add(key)

    def __setitem__(self, key, value) -> None:
        if self._undo:
            self._undo[-1].append((key, self.get(key, _ABSENT)))
        if key in self.watched:
            self.present_watched.add(key)
        super().__setitem__(key, value)

    def pop(self, key, default=None):
        if key not in self:
            return default
        if self._undo:
            self._undo[-1].append((key, self[key]))
        return super().pop(key)

    def add(self, key) -> None:
        """As a set: ``key`` is in."""
        self[key] = True

    def discard(self, key) -> None:
        """As a set: ``key`` is out."""
        self.pop(key)


class Builder:
    """Appends statements to ``out``; returns the atom holding each result.

    ``changing``: the variables whose definitions a loop's second trip may change
    (:meth:`entering_loop` forgets them).
    """

    def __init__(
        self,
        names: ir.Names,
        optimize: bool,
        is_float: Callable[[ir.Atom], bool],
        changing: Collection[ir.Var] = frozenset(),
    ):
        self.names = names
        self.optimize = optimize
        self.is_float = is_float
        self.out: List[ir.Stmt] = []
        self.loc: Optional[Loc] = None
        self.defs: ScopedTable = ScopedTable(changing)  # variable -> the call assigned to it
        self.accumulated = ScopedTable(changing)  # defs that no longer describe the value
        # How often each variable was written, and for each def the counts of the
        # variables it reads then: a def whose operand was written since (a stack pop
        # restoring it, say) no longer describes its value in terms of that operand.
        self.writes: Dict[ir.Var, int] = {}
        self.operands = ScopedTable()  # variable -> ((operand, its write count), ...)

    # ------------------------------------------------------------ calls

    def call(
        self,
        fn: Any,
        args: Sequence[ir.Atom],
        kwargs: Sequence[Tuple[str, ir.Atom]] = (),
        target: Optional[ir.Var] = None,
        spelling: Optional[str] = None,
    ) -> ir.Atom:
        args = tuple(args)
        if self.optimize and not kwargs:
            simpler = self._simplify(fn, args)
            if simpler is not None:
                if isinstance(simpler, tuple):
                    return self.call(simpler[0], simpler[1], target=target)
                return simpler
            if fn is operator.mul:
                negated = self._negation_out_of_product(args, target)
                if negated is not None:
                    return negated
        var = target or self.names.temp()
        self.accumulated.discard(var)
        call = ir.Call(fn, args, tuple(kwargs), spelling)
        self.out.append(ir.Assign(var, call, self.loc))
        reads = {a for a in ir.expr_atoms(call) if isinstance(a, ir.Var)}
        self.operands[var] = tuple((a, self.writes.get(a, 0)) for a in reads)
        self.wrote(var)
        self.defs[var] = call
        return var

    def accumulate(self, target: ir.Var, value: ir.Atom, index: Optional[ir.Atom] = None) -> None:
        """Append ``target += value`` (``target[index] += value`` with an index).

        A negated value ``-e`` is subtracted: ``target -= e``.
        """
        negated = self.definition(value) if self.optimize else None
        if negated is not None and negated.fn is operator.neg and value not in self.accumulated:
            self.out.append(ir.Accum(target, negated.args[0], self.loc, index, subtract=True))
        else:
            self.out.append(ir.Accum(target, value, self.loc, index))
        self.accumulated.add(target)
        self.wrote(target)

    def assign(self, target: ir.Var, value: ir.Atom) -> ir.Var:
        """Append the copy ``target = value``."""
        self.out.append(ir.Assign(target, value, self.loc))
        self.defs.pop(target, None)
        self.accumulated.discard(target)
        self.wrote(target)
        return target

    def append(self, stmt: ir.Stmt) -> None:
        """Append a statement the builder does not look into; its targets are forgotten."""
        self.out.append(stmt)
        self.forget(ir.walk([stmt]))

    def forget(self, statements) -> None:
        """Drop what is known about variables these statements write.

        After a branch or a loop the builder no longer knows which of the
        values assigned inside a variable holds.
        """
        for stmt in statements:
            for var in ir.targets_written(stmt):
                self.defs.pop(var, None)
                self.accumulated.discard(var)
                self.wrote(var)

    def wrote(self, var: ir.Var) -> None:
        """Count a write of ``var``: defs that read its earlier value go stale."""
        self.writes[var] = self.writes.get(var, 0) + 1

    def definition(self, atom: ir.Atom) -> Optional[ir.Call]:
        """The call that assigned ``atom``, if its operands still hold what it read."""
        call = self.defs.get(atom) if isinstance(atom, ir.Var) else None
        if call is None or any(self.writes.get(a, 0) != n for a, n in self.operands[atom]):
            return None
        return call

    @contextlib.contextmanager
    def block(self):
        """Build a nested body: statements go to a new list, which is yielded.

        What the builder learns about variables inside stays inside: a
        branch must not simplify with a definition from its sibling.
        """
        outer, self.out = self.out, []
        tables = (self.defs, self.accumulated, self.operands)
        for table in tables:
            table.open()
        try:
            yield self.out
        finally:
            self.out = outer
            for table in tables:
                table.close()

    def entering_loop(self) -> None:
        """Forget the definitions of the ``changing`` variables: a loop's second trip
        starts from the values the first one left."""
        for table in (self.defs, self.accumulated):
            for var in [v for v in table.present_watched if v in table]:
                self.defs.pop(var)
                self.accumulated.discard(var)
            table.present_watched.clear()

    def is_fresh(self, atom: ir.Atom) -> bool:
        """Whether ``atom`` holds a value this builder just allocated."""
        call = self.defs.get(atom) if isinstance(atom, ir.Var) else None
        return call is not None and id(call.fn) not in ALIASING

    # -------------------------------------------------------- templates

    def instantiate(
        self,
        template: Template,
        env: Mapping[str, ir.Atom],
        namespace: Mapping[str, Any],
        target: Optional[ir.Var] = None,
    ) -> ir.Atom:
        """The atom holding ``template`` evaluated with ``env`` substituted."""
        return self._node(template.tree, env, namespace, target)

    def _node(self, node: ast.expr, env, namespace, target=None) -> ir.Atom:
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            value = namespace[node.id]
            if isinstance(value, (int, float)):
                return ir.Const(value)
            raise ValueError(f"template name {node.id!r} is not a value")
        if isinstance(node, ast.Constant):
            return ir.Const(node.value)
        if isinstance(node, ast.BinOp):
            left = self._node(node.left, env, namespace)
            right = self._node(node.right, env, namespace)
            fn = AST_BINARY[type(node.op)]
            return self.call(fn, (left, right), target=target)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left = self._node(node.left, env, namespace)
            right = self._node(node.comparators[0], env, namespace)
            return self.call(AST_COMPARE[type(node.ops[0])], (left, right), target=target)
        if isinstance(node, ast.UnaryOp):
            operand = self._node(node.operand, env, namespace)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self.call(operator.neg, (operand,), target=target)
        if isinstance(node, ast.Call):
            fn, spelling = resolve_callee(node.func, namespace)
            args = [self._node(a, env, namespace) for a in node.args]
            kwargs = [(k.arg, self._node(k.value, env, namespace)) for k in node.keywords]
            kwargs = [(k, v) for k, v in kwargs if not isinstance(v, Default)]
            return self.call(fn, args, kwargs, target=target, spelling=spelling)
        raise ValueError(f"unsupported template syntax: {ast.dump(node)}")

    # ---------------------------------------------------- simplification

    def _simplify(self, fn: Any, args: Tuple[ir.Atom, ...]):
        """An atom, or a (fn, args) pair, equal to ``fn(*args)``; None if no rule applies."""
        if fn in ARITHMETIC and all(_is_number(a) for a in args):
            try:
                return ir.Const(fn(*(a.value for a in args)))
            except (ArithmeticError, ValueError, TypeError):
                return None
        if fn is operator.mul:
            a, b = args
            for one, other in ((a, b), (b, a)):
                if self._is_unit(one, other, 1):
                    return other
                if self._is_unit(one, other, -1):
                    return (operator.neg, (other,))
        if fn is operator.truediv and self._is_unit(args[1], args[0], 1):
            return args[0]
        if fn is runtime.power_exponent and _is_number(args[1]) and args[1].value != 0:
            return ir.Const(args[1].value - 1)  # y - 1 wherever y is not 0
        if fn is runtime.nonzero_base and _is_number(args[0]) and args[0].value != 0:
            return args[0]
        if fn is operator.pow and args[1] == ir.Const(1):
            return args[0]
        if fn is operator.neg:
            inner = self._negated(args[0])
            if inner is not None:
                return inner
        if fn is operator.add:
            a, b = args
            if self._negated(b) is not None:
                return (operator.sub, (a, self._negated(b)))
            if self._negated(a) is not None:
                return (operator.sub, (b, self._negated(a)))
        if fn is operator.sub and self._negated(args[1]) is not None:
            return (operator.add, (args[0], self._negated(args[1])))
        if fn is runtime.zeros_like:  # zeros like zeros like x are zeros like x
            inner = self.definition(args[0])
            if inner is not None and inner.fn is runtime.zeros_like and not inner.kwargs:
                return (runtime.zeros_like, inner.args)
        return None

    def _is_unit(self, const: ir.Atom, other: ir.Atom, unit: int) -> bool:
        """``const`` is ``unit`` and multiplying ``other`` by it changes nothing.

        An int unit never changes a type; a float unit may turn an int into
        a float, so it is dropped only when ``other`` is known to be a float.
        """
        if not _is_number(const) or const.value != unit:
            return False
        return isinstance(const.value, int) or self.is_float(other)

    def _negation_out_of_product(self, args: tuple, target: Optional[ir.Var]):
        """``(-a) * b`` as ``-(a * b)``: the same rounding, and an accumulation
        or a sum that takes the result then absorbs the negation (``dx -= a * b``)."""
        for k, arg in enumerate(args):
            inner = self._negated(arg)
            if inner is not None:
                operands = (inner, args[1]) if k == 0 else (args[0], inner)
                product = self.call(operator.mul, operands)
                return self.call(operator.neg, (product,), target=target)
        return None

    def _negated(self, atom: ir.Atom) -> Optional[ir.Atom]:
        if atom in self.accumulated:
            return None
        call = self.definition(atom)
        if call is not None and call.fn is operator.neg:
            return call.args[0]
        return None


def _is_number(atom: ir.Atom) -> bool:
    return (
        isinstance(atom, ir.Const)
        and isinstance(atom.value, (int, float))
        and not isinstance(atom.value, bool)
    )


def resolve_callee(node: ast.expr, namespace: Mapping[str, Any]) -> Tuple[Any, str]:
    """The object a template's dotted name (``np.linalg.solve``) denotes, and its spelling."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id)
    parts.reverse()
    obj = namespace[parts[0]]
    for attr in parts[1:]:
        obj = getattr(obj, attr)
    return obj, ".".join(parts)
