"""Stage 4a: forward mode -- a tangent statement beside each primal one.

For ``t2 = t0 + t1`` with both operands active this writes
``dt2 = dt0 + dt1`` right after it.  Only active variables get tangents; a
tangent that would be zero is never built.

>>> def f(x):
...     return x + x ** 2
>>> from .lower import lower_function
>>> fn = forward(lower_function(f), ("x",), {"x": "scalar"}, optimize=True)
>>> fn.name
'f_jvp'
"""

from __future__ import annotations

import operator
from typing import Dict, Mapping, Sequence

from . import ir, runtime
from .lower import Lowered
from .rules import SCALAR
from .templates import Transform, template_of


def forward(
    low: Lowered,
    wrt: Sequence[str],
    param_kinds: Mapping[str, str],
    *,
    optimize: bool,
    seed_ones: bool = False,
) -> ir.Function:
    """The JVP of ``low``: ``f_jvp(*params, *tangents) -> (out, out_tangent)``.

    With ``seed_ones`` the tangents are not parameters but ones (the
    derivative of an elementwise function): ``f_derivative(*params) -> out'``.
    """
    return _Forward(low, wrt, param_kinds, optimize, seed_ones).run()


class _Forward(Transform):
    def __init__(self, low, wrt, param_kinds, optimize, seed_ones):
        super().__init__(low, wrt, param_kinds, optimize)
        self.seed_ones = seed_ones
        self.tangent: Dict[ir.Var, ir.Atom] = {}
        self.tangent_params = {
            p: low.names.derivative(ir.Var(p)) for p in self.wrt if not seed_ones
        }

    def run(self) -> ir.Function:
        out = self.builder.out
        for stmt in self.fn.body:
            if isinstance(stmt, ir.Return):
                self.builder.loc = stmt.loc
                tangents = ir.map_tree(stmt.value, self.output_tangent)
                value = tangents if self.seed_ones else (stmt.value, tangents)
                out.append(ir.Return(value, stmt.loc))
                break
            out.append(stmt)
            if isinstance(stmt, ir.Assign) and stmt.target in self.active:
                self.builder.loc = stmt.loc
                self.tangent[stmt.target] = self.tangent_of(stmt)
        suffix = "derivative" if self.seed_ones else "jvp"
        params = tuple(ir.Param(p.name) for p in self.fn.params)
        params += tuple(ir.Param(v.name) for v in self.tangent_params.values())
        return ir.Function(f"{self.base_name}_{suffix}", params, out, loc=self.fn.loc)

    def tangent_of(self, stmt: ir.Assign) -> ir.Atom:
        value = stmt.value
        if isinstance(value, ir.Load):
            return self.seed(value.name)
        if isinstance(value, ir.Var):
            return self.named(stmt.target, self.tangent[value])
        return self.call_tangent(stmt)

    def seed(self, param: str) -> ir.Atom:
        if not self.seed_ones:
            return self.tangent_params[param]
        if self.param_kinds.get(param) == SCALAR:
            return ir.Const(1.0)
        target = self.low.names.derivative(ir.Var(param))
        return self.builder.call(runtime.ones_like, (ir.Var(param),), target=target)

    def call_tangent(self, stmt: ir.Assign) -> ir.Atom:
        call = stmt.value
        rule, arg_kinds, namespace, env = self.rule_context(stmt)
        moving = [
            i for i, arg in enumerate(call.args) if rule.jvp[i] is not None and arg in self.varied
        ]
        target = self.low.names.derivative(stmt.target)
        total = None
        for n, i in enumerate(moving):
            name = rule.arg_names[i]
            template = template_of(rule, i, "jvp", call, stmt.loc)
            env_i = {**env, "d" + name: self.tangent[call.args[i]]}
            last = n == len(moving) - 1
            alone = len(moving) == 1
            needs_expand = (
                alone
                and rule.elementwise
                and rule.constant_partial(i)
                and any(k != SCALAR for j, k in enumerate(arg_kinds) if j != i)
            )
            into = target if alone and not needs_expand else None
            term = self.builder.instantiate(template, env_i, namespace, target=into)
            if needs_expand:
                term = self.builder.call(runtime.expand_like, (term, stmt.target), target=target)
            if total is None:
                total = term
            else:
                total = self.builder.call(
                    operator.add, (total, term), target=target if last else None
                )
        return self.named(stmt.target, total)

    def named(self, var: ir.Var, tangent: ir.Atom) -> ir.Atom:
        """Without optimization every tangent gets its own name, as in the lectures."""
        if self.optimize:
            return tangent
        target = self.low.names.derivative(var)
        if tangent != target:
            self.builder.out.append(ir.Assign(target, tangent, self.builder.loc))
        return target

    def output_tangent(self, atom: ir.Atom) -> ir.Atom:
        if isinstance(atom, ir.Var) and atom in self.tangent:
            return self.tangent[atom]
        if self.kind(atom) == SCALAR:
            return ir.Const(0.0)
        return self.builder.call(runtime.zeros_like, (atom,))
