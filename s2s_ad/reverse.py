"""Stage 4b: reverse mode -- a primal sweep, then adjoint statements in reverse.

For ``t5 = t2 * t4`` the adjoint sweep gets ``dt4 = dt5 * t2`` and
``dt2 = dt5 * t4``; a second contribution to the same adjoint accumulates
(``dt0 += dt2``), the first one assigns, and adjoints that would be zero are
never built.  Three shapes of output share this code:

* ``grad`` / ``value_and_grad``: one function, seeded with a cotangent of 1;
* ``vjp``: the primal sweep returns the output and a ``pullback`` closure that
  runs the adjoint sweep for any cotangent, as often as it is called.
"""

from __future__ import annotations

import operator
from typing import Dict, Mapping, Sequence, Tuple

from . import ir, runtime
from .errors import TransformError
from .lower import Lowered
from .rules import SCALAR
from .templates import Transform, template_of

GRAD, VALUE_AND_GRAD, VJP = "grad", "value_and_grad", "vjp"


def reverse(
    low: Lowered,
    wrt: Sequence[str],
    param_kinds: Mapping[str, str],
    *,
    optimize: bool,
    variant: str = GRAD,
) -> ir.Function:
    """The reverse-mode derivative of ``low`` as a new IR function."""
    return _Reverse(low, wrt, param_kinds, optimize, variant).run()


class _Reverse(Transform):
    def __init__(self, low: Lowered, wrt, param_kinds, optimize, variant):
        super().__init__(low, wrt, param_kinds, optimize)
        self.variant = variant
        # adjoint of each variable: (atom holding it, whether we own that value)
        self.adjoint: Dict[ir.Var, Tuple[ir.Atom, bool]] = {}

    def dname(self, var: ir.Var) -> ir.Var:
        """``dv`` for ``v``; the adjoint of a parameter's load is ``dx``."""
        return self.names.derivative(var, self.low.load_of.get(var, ""))

    # ------------------------------------------------------------ driver

    def run(self) -> ir.Function:
        body = [s for s in self.fn.body if not isinstance(s, ir.Return)]
        ret = self.fn.body[-1]
        sweep = self.builder.out
        sweep.append(ir.Comment("adjoint sweep"))
        params = tuple(ir.Param(p.name) for p in self.fn.params)
        base = self.base_name

        cotangent = None
        if self.variant == VJP:
            cotangent = self.seed_from_parameter(ret)
        else:
            self.seed_with_one(ret)
        for stmt in reversed(body):
            if isinstance(stmt, ir.Assign) and stmt.target in self.adjoint:
                self.builder.loc = stmt.loc
                self.propagate(stmt)
        self.builder.loc = ret.loc
        grads = tuple(self.gradient(p) for p in self.wrt)
        sweep, grads = self.name_gradients(sweep, grads)

        if self.variant == VJP:
            pullback_name = self.names.claim(f"{base}_pullback")
            pullback = ir.Function(
                pullback_name,
                (ir.Param(cotangent.name),),
                sweep + [ir.Return(grads, ret.loc)],
                loc=ret.loc,
            )
            value = (ret.value, ir.Var(pullback_name))
            return ir.Function(
                f"{base}_vjp", params, body + [pullback, ir.Return(value, ret.loc)], loc=self.fn.loc
            )
        result = grads[0] if len(grads) == 1 else grads
        if self.variant == VALUE_AND_GRAD:
            result = (ret.value, result)
        name = f"{base}_{self.variant}"
        return ir.Function(
            name, params, body + sweep + [ir.Return(result, ret.loc)], loc=self.fn.loc
        )

    # ------------------------------------------------------------ seeds

    def seed_with_one(self, ret: ir.Return) -> None:
        out = ret.value
        if isinstance(out, tuple):
            raise TransformError(
                "grad needs a function that returns one scalar, but this one returns a tuple",
                ret.loc,
                "use ad.vjp or ad.jacobian, or return a single value",
            )
        if not (isinstance(out, ir.Var) and out in self.active):
            return
        self.builder.loc = ret.loc
        if self.kind(out) == SCALAR:
            seed = ir.Const(1.0)
            if not self.optimize:
                self.builder.out.append(ir.Assign(self.dname(out), seed, ret.loc))
                seed = self.dname(out)
        else:
            seed = self.builder.call(runtime.seed_cotangent, (out,), target=self.dname(out))
        self.adjoint[out] = (seed, False)

    def seed_from_parameter(self, ret: ir.Return) -> ir.Var:
        """The pullback's parameter; a tuple output's cotangent is unpacked."""
        out = ret.value
        if not isinstance(out, tuple):
            param = self.dname(out) if isinstance(out, ir.Var) else ir.Var(self.names.claim("dout"))
            if isinstance(out, ir.Var) and out in self.active:
                self.adjoint[out] = (param, False)
            return param
        param = ir.Var(self.names.claim("dout"))
        self.builder.loc = ret.loc
        self._unpack(out, param)
        return param

    def _unpack(self, tree: ir.Tree, cotangent: ir.Atom) -> None:
        for index, item in enumerate(tree):
            if not any(a in self.active for a in ir.tree_atoms(item) if isinstance(a, ir.Var)):
                continue
            part = self.builder.call(operator.getitem, (cotangent, ir.Const(index)))
            if isinstance(item, tuple):
                self._unpack(item, part)
            else:
                self.accumulate(item, part)

    # ------------------------------------------------------ propagation

    def propagate(self, stmt: ir.Assign) -> None:
        g = self.adjoint[stmt.target][0]
        value = stmt.value
        if isinstance(value, ir.Var):
            if value in self.varied:
                self.accumulate(value, g)
        elif isinstance(value, ir.Call):
            self.propagate_call(stmt, g)

    def propagate_call(self, stmt: ir.Assign, g: ir.Atom) -> None:
        call = stmt.value
        rule, arg_kinds, namespace, env = self.rule_context(stmt)
        env["g"] = g
        for i, arg in enumerate(call.args):
            if rule.vjp[i] is None or arg not in self.varied:
                continue
            reduce = rule.elementwise and any(
                k != SCALAR for j, k in enumerate(arg_kinds) if j != i
            )
            template = template_of(rule, i, "vjp", call, stmt.loc)
            into = self.dname(arg) if arg not in self.adjoint else None
            term = self.builder.instantiate(
                template, env, namespace, target=None if reduce else into
            )
            if reduce:
                term = self.builder.call(runtime.unbroadcast, (term, arg), target=into)
            self.accumulate(arg, term)

    def accumulate(self, var: ir.Var, term: ir.Atom) -> None:
        """Add ``term`` to the adjoint of ``var``: the first assigns, later ones add."""
        target = self.dname(var)
        owned = term == target and self.builder.is_fresh(term)
        if var not in self.adjoint:
            if term != target and not self.optimize:
                self.builder.out.append(ir.Assign(target, term, self.builder.loc))
                term = target
            self.adjoint[var] = (term, owned)
            return
        current, current_owned = self.adjoint[var]
        if current_owned or self.kind(var) == SCALAR and current == target:
            self.builder.accumulate(target, term)
            self.adjoint[var] = (target, current_owned)
        else:
            total = self.builder.call(operator.add, (current, term), target=target)
            self.adjoint[var] = (total, self.builder.is_fresh(total))

    def name_gradients(self, sweep: list, grads: tuple) -> Tuple[list, tuple]:
        """Call the gradient of ``x`` ``dx`` even when it is another adjoint's value.

        ``x - mu`` passes its adjoint ``dt8`` straight through to ``x``; the
        code reads better when that variable is named ``dx`` throughout.
        """
        mapping: Dict[ir.Var, ir.Var] = {}
        for param, grad in zip(self.wrt, grads):
            temp = self.low.param_temps.get(param)
            if temp is None or not isinstance(grad, ir.Var) or grad in mapping:
                continue
            wanted = self.dname(temp)
            if grad != wanted and grad in self.builder.defs and wanted not in self.builder.defs:
                mapping[grad] = wanted
        if not mapping:
            return sweep, grads
        renamed = ir.rename(sweep, mapping)
        return renamed, tuple(mapping.get(g, g) for g in grads)

    def gradient(self, param: str) -> ir.Atom:
        temp = self.low.param_temps.get(param)
        if temp is not None and temp in self.adjoint:
            return self.adjoint[temp][0]
        if self.param_kinds.get(param) == SCALAR:
            return ir.Const(0.0)
        return self.builder.call(runtime.zeros_like, (ir.Var(param),))
