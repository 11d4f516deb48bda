"""Stage 4a: forward mode -- a tangent statement beside each primal one.

For ``t2 = t0 + t1`` with both operands active this writes
``dt2 = dt0 + dt1`` right after it.  Only active variables get tangents; a
tangent that would be zero is never built.

>>> def f(x):
...     return x + x ** 2
>>> from .lower import lower_function
>>> from .spec import Spec
>>> fn = forward(lower_function(f), Spec("jvp", ("x",), ("scalar",)))
>>> fn.name
'f_jvp'
"""

from __future__ import annotations

import operator
from typing import Callable, Dict, Optional, Tuple

from .. import runtime
from ..rules import SCALAR
from . import analyse, ir
from .binding import template_of
from .calls import Callee, is_user_function, varied_parameters
from .closed_calls import jvp_call
from .ir import DISPLAYS
from .lower import Lowered
from .spec import DERIVATIVE, JVP, TANGENT, Spec
from .transform import Transform


def forward(low: Lowered, spec: Spec) -> ir.Function:
    """The JVP of ``low``: ``f_jvp(*params, *tangents) -> (out, out_tangent)``.

    In mode ``derivative`` the tangents are not parameters but ones (the
    derivative of an elementwise function): ``f_derivative(*params) -> out'``.
    In mode ``tangent``, ``f_tangent(*params, *tangents) -> out_tangent``:
    what only the output needs is left to dead-code elimination (a
    Hessian-vector product does not need the gradient it differentiates).
    """
    return Forward(low, spec).run()


# Writes as values, linear in their container and the value written together: the tangent
# is the same call on the tangents at these argument positions.
JOINT_WRITES = ((runtime.updated, (0, 2)), (runtime.synced, (0, 3)), (runtime.resynced, (0, 2)))


def joint_write(fn: object) -> Optional[Tuple[int, ...]]:
    """The positions of the arguments ``fn`` is jointly linear in, if it is a joint write.

    >>> joint_write(runtime.updated), joint_write(print)
    ((0, 2), None)
    """
    return next((linear for write, linear in JOINT_WRITES if fn is write), None)


class Forward(Transform):
    """Forward mode over one lowered function."""

    def __init__(self, low: Lowered, spec: Spec):
        super().__init__(low, spec)
        seed_ones = spec.mode == DERIVATIVE
        self.seed_ones = seed_ones
        self.tangent_only = seed_ones or spec.mode == TANGENT
        self.tangent: Dict[ir.Var, ir.Atom] = {}
        self.tangent_params = {
            p: low.names.derivative(ir.Var(p)) for p in self.wrt if not seed_ones
        }
        # Stacks (lists appended to) get a tangent of their own to append to.
        self.item_written = {s.stack for s in ir.walk(self.fn.body) if isinstance(s, ir.Push)}
        # A variable assigned in several places keeps its tangent in one name,
        # `dv`, which every assignment writes; reads before the first one in
        # program order (in a loop) see the last iteration's.
        for var in self.mutable & self.active:
            self.tangent[var] = self.names.derivative(var)

    def run(self) -> ir.Function:
        body = self.block(self.fn.body)
        suffix = "derivative" if self.seed_ones else "tangent" if self.tangent_only else "jvp"
        params = tuple(ir.Param(p.name) for p in self.fn.params)
        params += tuple(ir.Param(v.name) for v in self.tangent_params.values())
        return ir.Function(f"{self.base_name}_{suffix}", params, body, loc=self.fn.loc)

    def block(self, stmts: list) -> list:
        """The statements of one block, each followed by its tangent statements."""
        with self.builder.block() as out:
            for stmt in stmts:
                self.builder.loc = getattr(stmt, "loc", None)
                if isinstance(stmt, ir.Return):
                    tangents = self.returned_tangent(stmt.value)
                    value = tangents if self.tangent_only else (stmt.value, tangents)
                    out.append(ir.Return(value, stmt.loc))
                elif isinstance(stmt, ir.STRUCTURED):
                    if isinstance(stmt, (ir.For, ir.While)):
                        self.entering_loop()
                    blocks = tuple(self.block(b) for b in ir.blocks_of(stmt))
                    built = ir.with_blocks(stmt, blocks)
                    out.append(built)
                    self.builder.forget(ir.walk([built]))
                elif self.is_user_call(stmt):
                    self.user_call(stmt)
                else:
                    out.append(stmt)
                    if isinstance(stmt, ir.Assign) and stmt.target in self.active:
                        self.tangent[stmt.target] = self.assigned_tangent(stmt)
                    elif isinstance(stmt, ir.Push) and stmt.stack in self.tangent:
                        self.push_tangent(stmt)
                    elif isinstance(stmt, ir.Pop) and stmt.stack in self.tangent:
                        self.pop_tangent(stmt)
        return out

    def push_tangent(self, stmt: ir.Push) -> None:
        """``xs.append(v)`` appends ``dv`` to ``dxs``, which holds the tangents of the items."""
        tangent = self.tangent.get(stmt.value) or self.zero(stmt.value)
        self.builder.out.append(ir.Push(self.tangent[stmt.stack], tangent, stmt.loc))

    def pop_tangent(self, stmt: ir.Pop) -> None:
        """``v = xs.pop()`` pops ``dv`` from ``dxs``, which holds the tangents of the items."""
        if stmt.target in self.active:
            target = self.tangent.get(stmt.target) or self.names.derivative(stmt.target)
            self.tangent[stmt.target] = target
        else:  # popped all the same, to keep the tangents in step with the items
            target = self.names.temp()
        self.builder.out.append(ir.Pop(target, self.tangent[stmt.stack], stmt.loc))

    def is_user_call(self, stmt: ir.Stmt) -> bool:
        return (
            isinstance(stmt, ir.Assign)
            and stmt.target in self.active
            and isinstance(stmt.value, ir.Call)
            and is_user_function(stmt.value.fn)
            and any(a in self.tangent for a in ir.expr_atoms(stmt.value))
        )

    def user_call(self, stmt: ir.Assign) -> None:
        """``t = g(a, b)`` becomes ``t, dt = g_jvp((da,), a, b)``: ``g`` is transformed too;
        in code that is differentiated again, ``t, dt = g_jvp(a, b, d_a=da)``, a plain
        function (see ``closed_calls.py``)."""
        call = stmt.value
        params = varied_parameters(call, set(self.tangent), stmt.loc)
        wrt = tuple(name for name, _ in params)
        if self.spec.closed:
            tangents = [self.tangent[a] for _, a in params]
            jvp = jvp_call(call.fn, wrt, call, tangents, stmt.loc)
        else:
            callee = self.callee(call.fn, wrt)
            tangents = self.builder.call(runtime.make_tuple, [self.tangent[a] for _, a in params])
            jvp = ir.Call(callee, (tangents,) + call.args, call.kwargs)
        both = self.names.temp()
        self.builder.out.append(ir.Assign(both, jvp, stmt.loc))
        self.builder.out.append(
            ir.Assign(stmt.target, ir.Call(operator.getitem, (both, ir.Const(0))), stmt.loc)
        )
        target = self.names.derivative(stmt.target)
        self.builder.call(operator.getitem, (both, ir.Const(1)), target=target)
        self.tangent[stmt.target] = target

    def callee(self, fn: Callable, wrt: Tuple[str, ...]) -> Callee:
        """The derivative of a user function that is not inlined, as this mode calls it."""
        return Callee(fn, JVP, wrt)

    def assigned_tangent(self, stmt: ir.Assign) -> ir.Atom:
        """The tangent of an assignment, in ``dv`` when ``v`` is assigned in several places."""
        target = stmt.target
        canonical = self.names.derivative(target)
        tangent = self.tangent_of(stmt)
        if target in self.item_written:
            return self.list_tangent(stmt, tangent, canonical)
        if target in self.mutable:
            if tangent != canonical:
                self.builder.assign(canonical, tangent)
            return canonical
        if self.is_unstable(tangent):
            # `dv` of a variable assigned again later would change under us.
            self.builder.assign(canonical, tangent)
            return canonical
        return tangent

    def list_tangent(self, stmt: ir.Assign, tangent: ir.Atom, canonical: ir.Var) -> ir.Atom:
        """The tangent of a list that items are appended to: a list of its own, in ``dxs``."""
        if self.is_varied_value(stmt):
            return self.builder.call(runtime.copy_of, (tangent,), target=canonical)
        return self.builder.call(runtime.zeros_like, (stmt.target,), target=canonical)

    def is_varied_value(self, stmt: ir.Assign) -> bool:
        value = stmt.value
        if isinstance(value, ir.Load):
            return value.name in self.wrt
        if isinstance(value, ir.Var):
            return value in self.tangent
        if isinstance(value, ir.Call):
            return any(a in self.varied for a in value.args)
        return False

    def tangent_of(self, stmt: ir.Assign) -> ir.Atom:
        value = stmt.value
        if isinstance(value, ir.Load):
            if value.free or value.name not in self.wrt:
                return self.zero(stmt.target)
            return self.seed(value.name)
        if isinstance(value, ir.Var):
            if value not in self.tangent:
                return self.zero(stmt.target)
            return self.named(stmt.target, self.tangent[value])
        if isinstance(value, ir.Const):
            return self.zero(stmt.target)
        if not any(a in self.tangent for a in analyse.differentiable_args(value)):
            return self.zero(stmt.target)
        if value.fn in DISPLAYS:
            return self.display_tangent(stmt)
        if joint_write(value.fn) is not None:
            return self.update_tangent(stmt)
        return self.call_tangent(stmt)

    def zero(self, atom: ir.Atom) -> ir.Atom:
        """A zero tangent shaped like ``atom``."""
        if self.kind(atom) == SCALAR:
            return ir.Const(0.0)
        return self.builder.call(runtime.zeros_like, (atom,))

    def seed(self, param: str) -> ir.Atom:
        if not self.seed_ones:
            return self.tangent_params[param]
        if self.param_kinds.get(param) == SCALAR:
            return ir.Const(1.0)
        target = self.low.names.derivative(ir.Var(param))
        return self.builder.call(runtime.ones_like, (ir.Var(param),), target=target)

    def display_tangent(self, stmt: ir.Assign) -> ir.Atom:
        """``(a, b)`` has the tangent ``(da, db)``; items that do not vary get zeros."""
        call = stmt.value
        args = tuple(self.tangent.get(a) or self.zero(a) for a in call.args)
        kwargs = tuple((k, self.tangent.get(v) or self.zero(v)) for k, v in call.kwargs)
        target = self.names.derivative(stmt.target)
        return self.builder.call(call.fn, args, kwargs, target=target)

    def update_tangent(self, stmt: ir.Assign) -> ir.Atom:
        """``y = updated(x, i, v)`` has the tangent ``updated(dx, i, dv)``: one write, where
        the rule's two terms would add two arrays (or dicts, which do not add); the same
        for the other writes of :data:`JOINT_WRITES`."""
        call = stmt.value
        linear = joint_write(call.fn)
        args = tuple(
            self.tangent.get(a) or self.zero(a) if k in linear else a
            for k, a in enumerate(call.args)
        )
        return self.builder.call(call.fn, args, target=self.names.derivative(stmt.target))

    def call_tangent(self, stmt: ir.Assign) -> ir.Atom:
        call = stmt.value
        rule, namespace, env = self.rule_context(stmt)
        params = list(enumerate(rule.arg_names))
        moving = [(i, n) for i, n in params if rule.jvp[i] is not None and env[n] in self.tangent]
        target = self.low.names.derivative(stmt.target)
        if not moving:
            return self.zero(stmt.target)
        total = None
        add = runtime.add if rule.tuple_result else operator.add
        for n, (i, name) in enumerate(moving):
            template = template_of(rule, i, "jvp", call, stmt.loc)
            env_i = {**env, "d" + name: self.tangent[env[name]]}
            last = n == len(moving) - 1
            alone = len(moving) == 1
            needs_expand = alone and rule.constant_partial(i) and self.broadcasts(rule, env, i)
            into = target if alone and not needs_expand else None
            term = self.builder.instantiate(template, env_i, namespace, target=into)
            if needs_expand:
                term = self.builder.call(runtime.expand_like, (term, stmt.target), target=target)
            if total is None:
                total = term
            else:
                total = self.builder.call(add, (total, term), target=target if last else None)
        return self.named(stmt.target, total)

    def named(self, var: ir.Var, tangent: ir.Atom) -> ir.Atom:
        """Without optimization every tangent gets its own name, as in the lectures."""
        if self.optimize:
            return tangent
        target = self.low.names.derivative(var)
        if tangent != target:
            self.builder.assign(target, tangent)
        return target

    def returned_tangent(self, value: ir.Tree) -> ir.Tree:
        """The tangent of what the function returns (a tuple's, item by item)."""
        return ir.map_tree(value, self.output_tangent)

    def output_tangent(self, atom: ir.Atom) -> ir.Atom:
        if isinstance(atom, ir.Var) and atom in self.tangent:
            return self.tangent[atom]
        return self.zero(atom)
