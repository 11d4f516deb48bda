"""``has_aux``: differentiate the first item of what ``f`` returns, pass the second through.

With ``has_aux=True`` the user's function returns ``(output, aux)``.  The
stages differentiate a view of it that returns only ``output``
(:func:`split_aux`): every ``return (output, aux)`` becomes ``aux = aux``
followed by ``return output``, so ``aux`` is computed by the same primal
sweep, once per call, and never seeded nor given a cotangent.  After the
stage, :func:`with_aux` puts it back into what the emitted function returns,
with JAX's shapes: ``(gradient, aux)``, ``((value, aux), gradient)``,
``(out, pullback, aux)`` and ``(out, tangent, aux)``.

>>> def f(x):
...     return x * x, "note"
>>> from .lower import lower_function
>>> low, aux = split_aux(lower_function(f))
>>> print(ir.format_trace(low.function), end="")
t0 = load('x')          # x
t1 = t0 * t0            # x * x
aux = 'note'
return t1
"""

from __future__ import annotations

import dataclasses
import operator
from typing import List, Optional, Tuple

from .. import runtime
from . import ir
from .errors import Loc
from .lower import Lowered
from .spec import GRAD, JVP, VALUE_AND_GRAD, VJP, Mode
from .transform import mutable_variables

# What the emitted function returns with has_aux, from what it returns without.
_WITH_AUX = {
    GRAD: lambda result, aux: (result, aux),
    VALUE_AND_GRAD: lambda result, aux: ((result[0], aux), result[1]),
    VJP: lambda result, aux: (result[0], result[1], aux),
    JVP: lambda result, aux: (result[0], result[1], aux),
}
AUX_MODES = tuple(_WITH_AUX)


def split_aux(low: Lowered) -> Tuple[Lowered, ir.Var]:
    """The view of ``low`` that returns only the output, and the variable that keeps ``aux``."""
    aux = ir.Var(low.names.claim("aux"))
    fn = low.function
    body = fn.body
    split = _Splitter(low.names, aux, body)
    view = ir.Function(fn.name, fn.params, split.block(body), fn.doc, fn.loc)
    return dataclasses.replace(low, function=view), aux


def with_aux(fn: ir.Function, aux: ir.Var, mode: Mode) -> ir.Function:
    """``fn`` (a stage's output) returning ``aux`` too, in the shape ``mode`` gives it."""
    if mode not in _WITH_AUX:
        raise ValueError(f"has_aux is not supported in mode {mode!r}")
    wrap = _WITH_AUX[mode]

    def visit(stmts: List[ir.Stmt]) -> List[ir.Stmt]:
        out = []
        for stmt in stmts:
            if isinstance(stmt, ir.Return):
                stmt = ir.Return(wrap(stmt.value, aux), stmt.loc)
            elif ir.blocks_of(stmt) and not isinstance(stmt, ir.Function):  # not the pullback
                stmt = ir.with_blocks(stmt, tuple(visit(b) for b in ir.blocks_of(stmt)))
            out.append(stmt)
        return out

    return ir.Function(fn.name, fn.params, visit(fn.body), fn.doc, fn.loc)


class _Splitter:
    """Rewrites every ``return (output, aux)`` of a body as ``aux = ...; return output``."""

    def __init__(self, names: ir.Names, aux: ir.Var, body: List[ir.Stmt]):
        self.names = names
        self.aux = aux
        mutable = mutable_variables(body)
        assigned_once = (s for s in ir.walk(body) if isinstance(s, ir.Assign))
        self.definitions = {s.target: s for s in assigned_once if s.target not in mutable}

    def block(self, stmts: List[ir.Stmt]) -> List[ir.Stmt]:
        out: List[ir.Stmt] = []
        for stmt in stmts:
            if isinstance(stmt, ir.Return):
                output, aux_value = self.pair(stmt, out)
                out.append(ir.Assign(self.aux, aux_value, stmt.loc))
                out.append(ir.Return(output, stmt.loc))
            elif ir.blocks_of(stmt):
                out.append(ir.with_blocks(stmt, tuple(self.block(b) for b in ir.blocks_of(stmt))))
            else:
                out.append(stmt)
        return out

    def pair(self, ret: ir.Return, out: List[ir.Stmt]) -> Tuple[ir.Tree, ir.Atom]:
        """The output and the aux of one ``return``; ``out`` gets what computes them."""
        value = ret.value
        definition = self.definitions.get(value) if isinstance(value, ir.Var) else None
        if definition is not None and isinstance(definition.value, ir.Call):
            call = definition.value
            if call.fn is runtime.make_tuple and not call.kwargs:  # `pair = (y, aux)`
                value = call.args
        if isinstance(value, tuple):
            if len(value) != 2:
                raise _not_a_pair(f"a tuple of {len(value)} items", ret.loc)
            output, aux_value = value
            if isinstance(aux_value, tuple):  # `return y, (a, b)`
                aux_value = self.packed(aux_value, out, ret.loc)
            return output, aux_value
        if isinstance(value, ir.Const):
            raise _not_a_pair(str(value), ret.loc)
        if definition is not None and _is_not_a_tuple(definition.value):
            raise _not_a_pair(f"`{definition.note or value}`", ret.loc)
        # A tuple made elsewhere (a call, an argument): checked when the code runs.
        aux_value = self.assign(ir.Call(runtime.aux_of, (value,)), out, ret.loc)
        output = self.assign(ir.Call(operator.getitem, (value, ir.Const(0))), out, ret.loc)
        return output, aux_value

    def packed(self, tree: tuple, out: List[ir.Stmt], loc: Optional[Loc]) -> ir.Var:
        """A variable holding the nested tuple ``tree``."""
        items = tuple(self.packed(t, out, loc) if isinstance(t, tuple) else t for t in tree)
        return self.assign(ir.Call(runtime.make_tuple, items), out, loc)

    def assign(self, value: ir.Expr, out: List[ir.Stmt], loc: Optional[Loc]) -> ir.Var:
        var = self.names.temp()
        out.append(ir.Assign(var, value, loc))
        return var


def _is_not_a_tuple(expr: ir.Expr) -> bool:
    """An expression whose value is certainly not a tuple (arithmetic, a list, ...)."""
    if not isinstance(expr, ir.Call):
        return isinstance(expr, ir.Const) and not isinstance(expr.value, tuple)
    return expr.fn in _NOT_TUPLES


# Calls whose result is never a tuple (``+`` and ``*`` may make one: ``(y,) + (aux,)``).
_NOT_TUPLES = frozenset(
    (runtime.make_list, runtime.make_dict, operator.sub, operator.truediv, operator.pow)
    + (operator.neg, operator.matmul)
)


def _not_a_pair(what: str, loc: Optional[Loc]) -> TypeError:
    where = f"{loc.filename}:{loc.lineno}: " if loc else ""
    line = f"\n    {loc.source_line.strip()}" if loc and loc.source_line else ""
    return TypeError(
        f"{where}has_aux=True needs a function that returns a pair (output, aux), "
        f"but this one returns {what.strip()}{line}"
    )
