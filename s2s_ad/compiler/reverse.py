"""Stage 4b: reverse mode -- a primal sweep, then adjoint statements in reverse.

For ``t5 = t2 * t4`` the adjoint sweep gets ``dt4 = dt5 * t2`` and
``dt2 = dt5 * t4``; a second contribution to the same adjoint accumulates
(``dt0 += dt2``), the first one assigns, and adjoints that would be zero are
never built.  Three shapes of output share this code:

* ``grad`` / ``value_and_grad``: one function, seeded with a cotangent of 1;
* ``vjp``: the primal sweep returns the output and a ``pullback`` closure that
  runs the adjoint sweep for any cotangent, as often as it is called.

Control flow is reversed structurally: an ``if`` becomes an ``if`` on the
same condition with each branch reversed, a ``for`` runs its reversed body
over the same indices backwards, and a ``while`` (or a loop left by
``break``) counts its trips in the primal sweep and runs the reversed body
that many times.  A value that the adjoint sweep reads but the primal sweep
overwrites (a loop variable, a reassigned name, an element written into) is
pushed on ``stack`` just before it is overwritten and popped back just after
the adjoint of that assignment, so every adjoint statement sees the values
its primal statement saw.  Only such values are saved.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .. import runtime
from ..rules import ARRAY, SCALAR
from ..runtime import arrays
from . import analyse, checkpoint, ir
from .binding import template_of
from .calls import Callee, is_user_function, varied_parameters
from .errors import TransformError
from .ir import DISPLAYS
from .lower import Lowered
from .spec import VALUE_AND_GRAD, VJP, Spec
from .templates import ARITHMETIC
from .transform import Transform

Adjoint = Tuple[ir.Atom, bool]  # the atom holding it, and whether we own that value


def reverse(low: Lowered, spec: Spec) -> ir.Function:
    """The reverse-mode derivative of ``low`` as a new IR function."""
    return Reverse(low, spec).run()


@dataclass
class _Site:
    """An assignment whose old value the adjoint sweep may need back."""

    stmt: ir.Stmt
    var: ir.Var
    pop: ir.Stmt  # the statement(s) restoring it, placed in the adjoint sweep
    in_loop: bool
    path: tuple
    item: bool = False  # an element written into (``x[i] = v``)
    restore: List[ir.Stmt] = field(default_factory=list)


class Reverse(Transform):
    """Reverse mode over one lowered function: the primal sweep, then the adjoint sweep."""

    def __init__(self, low: Lowered, spec: Spec):
        wrt = spec.wrt
        fn = low.function
        body = single_exit(fn.body, low.names)
        self.pullbacks: Dict[ir.Var, Tuple[Optional[ir.Var], Callee, Sequence]] = {}
        self.checkpointed: Dict[int, checkpoint.Loop] = {}  # ad.checkpointed loops, by id
        body = self.call_vjps(body, analyse.varied(ir.Function(fn.name, fn.params, body), wrt), low)
        low = dataclasses.replace(
            low, function=ir.Function(fn.name, fn.params, body, fn.doc, fn.loc)
        )
        super().__init__(low, spec)
        self.refuse_varied_lists()
        self.variant = spec.mode
        self.adjoint: Dict[ir.Var, Adjoint] = {}
        self.stack = ir.Var(self.names.claim("stack"))
        self.sites: Dict[int, _Site] = {}
        self.counters: Dict[int, ir.Var] = {}  # loop id -> its trip counter
        self.primal_defs = {s.target: s for s in ir.walk(self.fn.body) if isinstance(s, ir.Assign)}
        self.reads_outside: Dict[int, Set[ir.Var]] = {}
        self.in_loop: Dict[int, bool] = {}  # structured statement id -> inside a loop
        self.top_index: Dict[ir.Var, int] = {}  # first top-level assignment of each variable
        self.item_restored: Set[ir.Var] = set()
        self.rematerialized: Set[ir.Var] = set()  # recomputed in the adjoint sweep, not saved

    def call_vjps(self, body: List[ir.Stmt], varied: Set[ir.Var], low: Lowered) -> List[ir.Stmt]:
        """Calls of user functions on varied values become calls of their VJPs.

        ``t = g(a, b)`` becomes ``t, g_pullback = g_vjp(a, b)`` (as three
        statements); the adjoint sweep calls ``g_pullback(dt)``.
        """
        out = []
        for stmt in body:
            call = stmt.value if isinstance(stmt, ir.Assign) else None
            if (
                isinstance(call, ir.Call)
                and is_user_function(call.fn)
                and any(a in varied for a in ir.expr_atoms(call))
            ):
                params = varied_parameters(call, varied, stmt.loc)
                callee = Callee(call.fn, "vjp", tuple(name for name, _ in params))
                if checkpoint.is_checkpointed(call.fn):  # the adjoint sweep calls g_vjp
                    self.pullbacks[stmt.target] = (None, callee, [a for _, a in params])
                    out.append(stmt)
                    continue
                both = low.names.temp()
                pullback = ir.Var(low.names.claim(f"{call.fn.__name__}_pullback"))
                out.append(ir.Assign(both, ir.Call(callee, call.args, call.kwargs), stmt.loc))
                # the pullback first: the adjoint of the value, which calls it,
                # then runs before a loop's restore of the pullback
                value = ir.Call(operator.getitem, (both, ir.Const(1)))
                out.append(ir.Assign(pullback, value, stmt.loc))
                value = ir.Call(operator.getitem, (both, ir.Const(0)))
                out.append(ir.Assign(stmt.target, value, stmt.loc, stmt.note))
                self.pullbacks[stmt.target] = (pullback, callee, [a for _, a in params])
                continue
            blocks = ir.blocks_of(stmt)
            if blocks:
                stmt = ir.with_blocks(stmt, tuple(self.call_vjps(b, varied, low) for b in blocks))
            out.append(stmt)
        return out

    def dname(self, var: ir.Var) -> ir.Var:
        """``dv`` for ``v``; the adjoint of a parameter's load is ``dx``."""
        return self.names.derivative(var, self.low.load_of.get(var, ""))

    # ------------------------------------------------------------ driver

    def run(self) -> ir.Function:
        body = self.fn.body
        ret = body[-1]
        body = body[:-1]
        self.index_sites(body, (), False)
        self.builder.loc = ret.loc
        params = tuple(ir.Param(p.name) for p in self.fn.params)
        base = self.base_name

        with self.builder.block() as sweep:
            sweep.append(ir.Comment("adjoint sweep"))
            cotangent = None
            if self.variant == VJP:
                cotangent = self.seed_from_parameter(ret)
            else:
                self.seed_with_one(ret)
            self.reverse_into(body)
            self.builder.loc = ret.loc
            grads = tuple(self.gradient(p) for p in self.wrt)
        primal, restored = self.instrument(body, sweep)
        if self.optimize:
            sweep = self.shape_from_earliest(sweep, body)
        sweep, grads = self.name_gradients(sweep, grads)

        if self.variant == VJP:
            # The pullback rebinds primal variables (pops, reversed loops): those
            # it also reads start from the values the primal sweep left.
            primal_vars = {v for s in ir.walk(body) for v in ir.targets_written(s)}
            rebound = {v for s in ir.walk(sweep) for v in ir.targets_written(s)}
            restored |= (rebound & primal_vars & _reads_unbound(sweep)) - self.rematerialized
            pullback_name = self.names.claim(f"{base}_pullback")
            pb_params = [ir.Param(cotangent.name)]
            prologue: List[ir.Stmt] = []
            if restored:
                # The pullback may run many times: it restores values into
                # its own copies, taken when the primal sweep ended.
                pb_params += [ir.Param(v.name, v) for v in sorted(restored, key=str)]
                prologue = [
                    ir.Assign(v, ir.Call(runtime.copy_of, (v,)), ret.loc)
                    for v in sorted(restored, key=str)
                    if v == self.stack or self.kind(v) != SCALAR and v in self.item_restored
                ]
            pullback = ir.Function(
                pullback_name,
                tuple(pb_params),
                prologue + sweep + [ir.Return(grads, ret.loc)],
                loc=ret.loc,
            )
            value = (ret.value, ir.Var(pullback_name))
            return ir.Function(
                f"{base}_vjp",
                params,
                primal + [pullback, ir.Return(value, ret.loc)],
                loc=self.fn.loc,
            )
        result = grads[0] if len(grads) == 1 else grads
        if self.variant == VALUE_AND_GRAD:
            value = ret.value
            if any(a in restored for a in ir.tree_atoms(value)):
                # the adjoint sweep restores it to older values: keep the output
                kept = ir.Var(self.names.claim("value"))
                primal.append(ir.Assign(kept, value, ret.loc))
                value = kept
            result = (value, result)
        name = f"{base}_{self.variant}"
        return ir.Function(
            name, params, primal + sweep + [ir.Return(result, ret.loc)], loc=self.fn.loc
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
                seed = self.builder.assign(self.dname(out), seed)
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

    # ----------------------------------------------------- the adjoint sweep

    def reverse_into(self, stmts: List[ir.Stmt]) -> None:
        """Append the adjoint of ``stmts`` (in reverse order) to the builder's block."""
        for stmt in reversed(stmts):
            self.builder.loc = getattr(stmt, "loc", None)
            if isinstance(stmt, ir.Assign):
                self.reverse_assign(stmt)
            elif isinstance(stmt, ir.SetItem):
                self.reverse_set_item(stmt)
            elif isinstance(stmt, ir.If):
                self.reverse_if(stmt)
            elif isinstance(stmt, (ir.For, ir.While)):
                self.reverse_loop(stmt)
            site = self.sites.get(id(stmt))
            if site is not None:
                self.builder.append(site.pop)

    def reverse_assign(self, stmt: ir.Assign) -> None:
        target = stmt.target
        if target not in self.adjoint or isinstance(stmt.value, ir.Load):
            return
        g, _ = self.adjoint.pop(target)  # before this assignment, its value had no uses
        value = stmt.value
        if isinstance(value, ir.Var):
            if value in self.varied:
                self.accumulate(value, g)
        elif isinstance(value, ir.Call):
            self.propagate_call(stmt, g)

    def propagate_call(self, stmt: ir.Assign, g: ir.Atom) -> None:
        call = stmt.value
        if stmt.target in self.pullbacks:
            pullback, callee, args = self.pullbacks[stmt.target]
            if pullback is None:  # ad.checkpoint: run the call again for its pullback
                pullback = checkpoint.recompute(self, callee, call)
            cotangents = self.builder.call(pullback, (g,))
            for k, arg in enumerate(args):
                self.accumulate(arg, self.builder.call(operator.getitem, (cotangents, ir.Const(k))))
            return
        if call.fn is operator.getitem and call.args[0] in self.varied:
            self.accumulate_item(call.args[0], call.args[1], g)
            return
        if call.fn in DISPLAYS:
            self.propagate_display(call, g)
            return
        if not any(a in self.varied for a in analyse.differentiable_args(call)):
            return  # a constant (`np.ones_like(x)`) assigned to a variable that varies elsewhere
        rule, namespace, env = self.rule_context(stmt)
        env["g"] = g
        terms = []
        for i, name in enumerate(rule.arg_names):
            arg = env[name]
            if rule.vjp[i] is None or arg not in self.varied:
                continue
            first = all(arg != a for a, _ in terms)
            reduce = self.broadcasts(rule, env, i)
            template = template_of(rule, i, "vjp", call, stmt.loc)
            into = self.dname(arg) if arg not in self.adjoint and first else None
            if into == g or into in self.unstable:
                into = None
            term = self.builder.instantiate(
                template, env, namespace, target=None if reduce else into
            )
            if reduce:
                term = self.builder.call(runtime.unbroadcast, (term, arg), target=into)
            terms.append((arg, term))
        for arg, term in terms:
            self.accumulate(arg, term)

    def propagate_display(self, call: ir.Call, g: ir.Atom) -> None:
        """``(a, b)``: item ``k`` of the cotangent goes to the ``k``-th item."""
        items = list(enumerate(call.args)) + [(key, value) for key, value in call.kwargs]
        for key, value in items:
            if value in self.varied:
                part = self.builder.call(operator.getitem, (g, ir.Const(key)))
                self.accumulate(value, part)

    def accumulate_item(self, container: ir.Var, index: ir.Atom, g: ir.Atom) -> None:
        """``dx[i] += g``: the cotangent of ``x[i]`` goes into one element of ``dx``."""
        acc = self.owned_accumulator(container)
        if self.kind(container) == ARRAY and (self.kind(index) == SCALAR or _basic_slice(index)):
            self.builder.accumulate(acc, g, index)  # in place: no item is selected twice
        else:
            self.builder.call(runtime.add_at, (acc, index, g), target=acc)

    def owned_accumulator(self, var: ir.Var) -> ir.Var:
        """``dv`` holding an array or container this sweep owns and may write into."""
        target = self.dname(var)
        current = self.adjoint.get(var)
        if current is None:
            self.evict(target)
            self.builder.call(runtime.zeros_like, (var,), target=target)
        elif not current[1]:
            self.evict(target)
            self.builder.call(runtime.copy_of, (current[0],), target=target)
        self.adjoint[var] = (target, True)
        return target

    def reverse_set_item(self, stmt: ir.SetItem) -> None:
        """``x[i] = v``: ``dv`` gets ``dx[i]``, and ``dx[i]`` is zero before it."""
        container = stmt.target
        if container not in self.adjoint:
            return
        acc, _ = self.adjoint[container]
        if stmt.value in self.varied:
            part = self.builder.call(runtime.written_vjp, (acc, stmt.index, stmt.value))
            self.accumulate(stmt.value, part)
        acc = self.owned_accumulator(container)
        self.builder.append(ir.SetItem(acc, stmt.index, ir.Const(0.0), stmt.loc))

    def accumulate(self, var: ir.Var, term: ir.Atom) -> None:
        """Add ``term`` to the adjoint of ``var``: the first assigns, later ones add."""
        target = self.dname(var)
        owned = term == target and self.builder.is_fresh(term)
        if var not in self.adjoint:
            if term != target and (not self.optimize or self.is_unstable(term)):
                self.evict(target)
                term = self.builder.assign(target, term)
            self.adjoint[var] = (term, owned)
            return
        current, current_owned = self.adjoint[var]
        if self.is_display(var):  # `+` would concatenate: add item by item
            self.evict(target, keep=var)
            total = self.builder.call(runtime.add, (current, term), target=target)
            self.adjoint[var] = (total, False)
        elif current_owned or self.kind(var) == SCALAR and current == target:
            self.builder.accumulate(target, term)
            self.adjoint[var] = (target, current_owned)
        else:
            self.evict(target, keep=var)
            total = self.builder.call(operator.add, (current, term), target=target)
            self.adjoint[var] = (total, self.builder.is_fresh(total))

    def is_display(self, var: ir.Var) -> bool:
        """Whether ``var`` holds a list, tuple or dict the function built (``[x, y]``)."""
        definition = self.primal_defs.get(var)
        value = definition.value if definition is not None else None
        return isinstance(value, ir.Call) and value.fn in DISPLAYS

    def evict(self, name: ir.Var, keep: Optional[ir.Var] = None) -> None:
        """Before ``name`` is assigned, copy it out of other adjoints that hold it."""
        for var, (atom, _) in list(self.adjoint.items()):
            if atom == name and var != keep:
                copy = self.names.temp()
                self.builder.assign(copy, name)
                self.adjoint[var] = (copy, False)

    # ------------------------------------------------------- control flow

    def reverse_if(self, stmt: ir.If) -> None:
        before = dict(self.adjoint)
        # A branch that assigns a variable whose adjoint is live here (a loop
        # carries it) consumes that adjoint: the other branch keeps it.
        assigned = {v for s in ir.walk([stmt]) for v in ir.targets_written(s)}
        carried = self.carried(stmt) | (assigned & set(before))
        branches, states = [], []
        for block in (stmt.body, stmt.orelse):
            self.adjoint = dict(before)
            with self.builder.block() as out:
                self.reverse_into(block)
            branches.append(out)
            states.append(self.adjoint)
        after = dict(before)
        for var in carried:
            after.pop(var, None)
        for var in sorted(carried, key=str):
            first, second = states[0].get(var), states[1].get(var)
            if first == second:
                if first is not None:
                    after[var] = first
                continue
            for out, state in zip(branches, states):
                self.adjoint = state
                with self.builder.block() as tail:
                    self.canonical(var, state.get(var))
                out.extend(tail)
            owned = all(s.get(var, (None, False))[1] for s in states)
            after[var] = (self.dname(var), owned)
        self.adjoint = after
        self.builder.append(ir.If(stmt.cond, branches[0], branches[1], stmt.loc))

    def reverse_loop(self, stmt) -> None:
        if checkpoint.is_checkpointed_loop(self, stmt):
            checkpoint.reverse_loop(self, stmt)
            return
        body = self.reversed_body(stmt)
        self.builder.forget(ir.walk(body))
        counter = self.counters.get(id(stmt))
        if counter is not None and self.in_loop.get(id(stmt)):
            self.builder.append(ir.Pop(counter, self.stack, stmt.loc))
        steps = self.reversed_steps(stmt, counter)
        target = stmt.target if isinstance(stmt, ir.For) else ir.Var(self.names.claim("_"))
        self.builder.append(ir.For(target, steps, body, stmt.loc))

    def reversed_body(self, stmt) -> List[ir.Stmt]:
        """The adjoint of one trip of a loop; carried adjoints end each trip in their own names."""
        carried = self.carried(stmt)
        assigned = {v for s in ir.walk([stmt]) for v in ir.targets_written(s)}
        for var in sorted(carried, key=str):
            self.materialize(var, owned_ok=var not in assigned)
        at_entry = dict(self.adjoint)
        self.entering_loop()
        with self.builder.block() as body:
            self.reverse_into(stmt.body)
            for var in sorted(carried, key=str):
                self.canonical(var, self.adjoint.get(var))
        self.adjoint = at_entry
        return body

    def reversed_steps(self, stmt, counter: Optional[ir.Var]) -> ir.Atom:
        """``reversed(range(...))`` over the primal loop's steps (the first ``counter`` ones)."""
        if isinstance(stmt, ir.While):
            return self.builder.call(range, (counter,), spelling="range")
        steps = stmt.iter
        definition = self.primal_defs.get(steps) if isinstance(steps, ir.Var) else None
        if definition is not None and definition.value.fn is reversed:
            steps = self.forward_steps(definition.value.args[0])
            if counter is None:
                return steps  # reversed(reversed(r)) is r
            none, step = ir.Const(None), ir.Const(-1)
            backwards = self.builder.call(slice, (none, none, step), spelling="slice")
            steps = self.builder.call(operator.getitem, (steps, backwards))
        else:
            steps = self.forward_steps(steps)
        if counter is not None:
            first = self.builder.call(slice, (ir.Const(None), counter), spelling="slice")
            steps = self.builder.call(operator.getitem, (steps, first))
        return self.builder.call(reversed, (steps,), spelling="reversed")

    def refuse_varied_lists(self) -> None:
        """``xs.append(v)`` / ``xs.pop()`` on a list of varied values: forward mode only, so far."""
        for stmt in ir.walk(self.fn.body):
            if isinstance(stmt, (ir.Push, ir.Pop)) and stmt.stack in self.varied:
                if self.low.parsed.filename.startswith("<s2s_ad"):
                    raise TransformError(
                        "reverse mode over emitted reverse-mode code (reverse-over-reverse) "
                        "is not supported",
                        stmt.loc,
                        "use forward-over-reverse: ad.hessian(f), ad.hvp(f), or "
                        "ad.jvp / ad.jacobian(..., mode='forward') of ad.grad(f)",
                    )
                method = "append" if isinstance(stmt, ir.Push) else "pop"
                raise TransformError(
                    f"`.{method}()` on a list that holds varied values is not supported "
                    "in reverse mode yet",
                    stmt.loc,
                    "build the list with a comprehension or np.stack, or use forward mode "
                    "(ad.jvp, ad.jacobian(..., mode='forward'))",
                )

    def forward_steps(self, steps: ir.Atom) -> ir.Atom:
        """``steps`` again, as a ``range(...)`` call when the primal sweep built it by one."""
        definition = self.primal_defs.get(steps) if isinstance(steps, ir.Var) else None
        if definition is not None and definition.value.fn is range:
            return self.builder.call(range, definition.value.args, spelling="range")
        return steps

    def carried(self, stmt) -> Set[ir.Var]:
        """Variables whose adjoint the reversed ``stmt`` changes and code outside it sees."""
        inside = list(ir.walk([stmt]))
        touched: Set[ir.Var] = set()
        assigned: Set[ir.Var] = set()
        for s in inside:
            if isinstance(s, ir.Assign) and s.target in self.active:
                touched.add(s.target)
                assigned.add(s.target)
                touched.update(a for a in _differentiable_reads(s) if a in self.varied)
            elif isinstance(s, ir.SetItem) and s.target in self.active:
                touched.add(s.target)
                if s.value in self.varied:
                    touched.add(s.value)
        outside = self.reads_outside[id(stmt)]
        local = {
            v
            for v in assigned
            if v not in outside and v.name in self.names.generated and v not in self.low.load_of
        }
        if isinstance(stmt, ir.If):
            local |= {v for v in assigned if v not in outside}
        return touched - local

    def materialize(self, var: ir.Var, owned_ok: bool) -> None:
        """Make ``dv`` hold the adjoint of ``var`` in its own name, before a loop."""
        target = self.dname(var)
        current = self.adjoint.get(var)
        if current is None:
            fresh = self.assign_zero(var)
            self.adjoint[var] = (target, fresh and owned_ok)
        elif current[0] != target:
            self.evict(target)
            self.builder.assign(target, current[0])
            self.adjoint[var] = (target, False)
        else:
            self.adjoint[var] = (target, current[1] and owned_ok)

    def canonical(self, var: ir.Var, state: Optional[Adjoint]) -> None:
        """Append what makes ``dv`` hold ``state`` (zero if absent)."""
        target = self.dname(var)
        if state is None:
            self.assign_zero(var)
        elif state[0] != target:
            self.evict(target, keep=var)
            self.builder.assign(target, state[0])

    def assign_zero(self, var: ir.Var) -> bool:
        """``dv = 0.0``, or ``dv = zeros_like(v)`` when ``v`` may be an array that is
        surely bound here; returns whether a new array was made."""
        target = self.dname(var)
        self.evict(target, keep=var)
        if self.kind(var) != SCALAR and self.bound_throughout(var):
            self.builder.call(runtime.zeros_like, (var,), target=target)
            return True
        self.builder.assign(target, ir.Const(0.0))
        return False

    def bound_throughout(self, var: ir.Var) -> bool:
        """Whether ``var`` is a parameter or assigned at the top level, outside control flow."""
        return var in self.low.param_temps.values() or var in self.top_index

    # ----------------------------------------------- what the sweep restores

    def index_sites(self, stmts: List[ir.Stmt], path: tuple, in_loop: bool) -> None:
        """Find the assignments that may overwrite a value the adjoint sweep needs."""
        for k, stmt in enumerate(stmts):
            here = path + ((k, 0),)
            if not path:
                for var in ir.targets_written(stmt):
                    self.top_index.setdefault(var, k)
            if isinstance(stmt, ir.Assign) and not isinstance(stmt.value, ir.Load):
                pop = ir.Pop(stmt.target, self.stack, stmt.loc)
                self.sites[id(stmt)] = _Site(stmt, stmt.target, pop, in_loop, here)
            elif isinstance(stmt, ir.SetItem):
                temp = self.names.temp()
                pop = ir.Pop(temp, self.stack, stmt.loc)
                restore = ir.SetItem(stmt.target, stmt.index, temp, stmt.loc)
                site = _Site(stmt, stmt.target, pop, in_loop, here, item=True)
                site.restore = [pop, restore]
                self.sites[id(stmt)] = site
            if isinstance(stmt, (ir.For, ir.While, ir.If)):
                self.in_loop[id(stmt)] = in_loop
                self.reads_outside[id(stmt)] = self._reads_outside(stmt)
                loop = isinstance(stmt, (ir.For, ir.While))
                if loop and (isinstance(stmt, ir.While) or _breaks(stmt.body)):
                    self.counters[id(stmt)] = ir.Var(self.names.claim("trips"))
                for b, block in enumerate(ir.blocks_of(stmt)):
                    self.index_sites(block, path + ((k, b),), in_loop or loop)

    def _reads_outside(self, stmt) -> Set[ir.Var]:
        """Variables read or assigned outside ``stmt`` (their adjoint lives on after it)."""
        inside = {id(s) for s in ir.walk([stmt])}
        reads = set()
        for s in ir.walk(self.fn.body):
            if id(s) not in inside:
                reads.update(a for a in ir.atoms_read(s) if isinstance(a, ir.Var))
                reads.update(ir.targets_written(s))
        reads.update(a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var))
        return reads

    def instrument(self, body: List[ir.Stmt], sweep: List[ir.Stmt]):
        """The primal sweep with the pushes and trip counts the adjoint sweep needs.

        Drops the adjoint sweep's pops of values it turned out not to read.
        """
        by_var: Dict[ir.Var, List[_Site]] = {}
        for site in self.sites.values():
            by_var.setdefault(site.var, []).append(site)
        if self.optimize:
            self.rematerialize(sweep, by_var)
        while True:  # dropping a pop can empty a reversed `if`, which then reads nothing
            needed = _reads(sweep)
            later = _read_after_pops(sweep)
            kept: Dict[int, _Site] = {}
            for var, sites in by_var.items():
                if var not in needed:
                    continue
                for site in sites:
                    restores = (
                        site.item
                        or site.in_loop
                        or var in self.low.param_temps.values()  # the argument came first
                        or any(_may_precede(o, site) for o in sites)
                    )
                    if restores and (site.item or var in later.get(id(site.pop), ())):
                        kept[id(site.stmt)] = site
            drop = {id(s.pop) for s in self.sites.values() if id(s.stmt) not in kept}
            if not _drop(sweep, drop, set(self.counters.values())):
                break
        preinit = {
            s.var for s in kept.values() if not s.item and not self.bound_before(s)
        }  # the first push may find these unbound
        _expand(sweep, {id(s.pop): s.restore for s in kept.values() if s.item})
        restored = {s.var for s in kept.values() if not s.item}
        self.item_restored = {s.var for s in kept.values() if s.item}
        uses_stack = bool(kept) or any(self.in_loop.get(i) for i in self.counters)
        preinit |= checkpoint.settle_states(self, sweep)
        primal = self._instrumented(body, kept)
        prologue: List[ir.Stmt] = []
        if uses_stack:
            prologue.append(ir.Assign(self.stack, ir.Call(runtime.make_list, ())))
            restored.add(self.stack)
        for var in sorted(preinit, key=str):
            prologue.append(ir.Assign(var, ir.Const(None)))
        return prologue + primal, restored | self.item_restored

    def rematerialize(self, sweep: List[ir.Stmt], by_var: Dict[ir.Var, List[_Site]]) -> None:
        """Recompute a loop's cheap scalar temporaries in the adjoint sweep instead of saving them.

        ``t = a * x`` at the top of a loop body is pushed each iteration so that
        the reversed iteration can read it back.  If ``t`` lives only within one
        iteration and its operands are back at their values of that moment
        early in the reversed iteration (loop invariants, the loop index, values
        restored by their own pops, other recomputed temporaries), the reversed
        iteration recomputes ``t = a * x`` there and nothing is saved: the
        scalar recurrence then stores one float per step, as by hand.
        """
        readers: Dict[ir.Var, List[ir.Stmt]] = {}
        for stmt in ir.walk(self.fn.body):
            for atom in set(ir.atoms_read(stmt)):
                readers.setdefault(atom, []).append(stmt)
        for site in sorted(self.sites.values(), key=lambda s: s.path):
            if not self._cheap(site.stmt) or len(by_var[site.var]) != 1:
                continue
            loop = self._loop_around(site, readers.get(site.var, []))
            if loop is None:
                continue
            block = _block_holding(sweep, site.pop)
            if block is None:
                continue
            ready = self._ready_at(site, loop, block, by_var)
            reads = [k for k, stmt in enumerate(block) if site.var in _reads([stmt])]
            if ready is None or not reads or reads[0] < ready:
                continue  # unread (its pop goes anyway), or read before it could be redone
            block.remove(site.pop)
            block.insert(ready, ir.Assign(site.var, site.stmt.value, site.stmt.loc))
            self.rematerialized.add(site.var)

    def _loop_around(self, site: _Site, readers: List[ir.Stmt]) -> Optional[ir.Stmt]:
        """The loop whose body holds ``site`` at its top level, if the temporary lives
        only inside that body, after ``site`` (``readers``: the statements reading it)."""
        if site.item or not site.in_loop or len(site.path) < 2 or site.path[-1][1] != 0:
            return None
        loop = _statement_at(self.fn.body, site.path[:-1])
        if not isinstance(loop, (ir.For, ir.While)):
            return None
        position = site.path[-1][0]
        inside = {id(s) for s in ir.walk(loop.body[position:])}
        if any(id(s) not in inside or s is site.stmt for s in readers):
            return None
        return loop

    def _cheap(self, stmt: ir.Stmt) -> bool:
        """Scalar arithmetic and ``math`` functions: cheaper to redo than to save."""
        if not isinstance(stmt, ir.Assign) or not isinstance(stmt.value, ir.Call):
            return False
        call = stmt.value
        return (
            (call.fn in ARITHMETIC or getattr(call.fn, "__module__", None) == "math")
            and not call.kwargs
            and self.kind(stmt.target) == SCALAR
            and all(self.kind(a) == SCALAR for a in call.args)
        )

    def _ready_at(
        self, site: _Site, loop: ir.Stmt, block: List[ir.Stmt], by_var: Dict[ir.Var, List[_Site]]
    ) -> Optional[int]:
        """Where in the reversed body every operand of ``site`` again holds the value it had
        at ``site``, or None if some operand never does."""
        position = site.path[-1][0]
        written_in_loop = Counter(v for s in ir.walk(loop.body) for v in ir.targets_written(s))
        ready = 0
        for arg in ir.expr_atoms(site.stmt.value):
            if not isinstance(arg, ir.Var) or not written_in_loop[arg]:
                continue  # a constant, or invariant in the loop
            if isinstance(loop, ir.For) and arg == loop.target:
                continue  # the reversed loop runs over the same indices
            sites = [s for s in by_var.get(arg, []) if s.path[:-1] == site.path[:-1]]
            if written_in_loop[arg] != 1 or len(sites) != 1:
                return None
            restore = sites[0].pop if sites[0].path[-1][0] > position else None
            if restore is None:  # written earlier in the body: a temporary recomputed before
                restore = next(
                    (s for s in block if isinstance(s, ir.Assign) and s.target == arg), None
                )
            if restore is None or not any(s is restore for s in block):
                return None
            ready = max(ready, next(k for k, s in enumerate(block) if s is restore) + 1)
        return ready

    def shape_from_earliest(self, sweep: List[ir.Stmt], body: List[ir.Stmt]) -> List[ir.Stmt]:
        """``unreduce(g, t10)`` reads ``t10`` only for its shape: read the first value of
        that shape instead, so the primal sweep may skip computing ``t10``."""
        earliest: Dict[tuple, ir.Var] = {}
        for stmt in body:
            if isinstance(stmt, ir.Assign) and stmt.target in self.shape_keys:
                earliest.setdefault(self.shape_keys[stmt.target], stmt.target)

        def substitute(stmts: List[ir.Stmt]) -> List[ir.Stmt]:
            out = []
            for stmt in stmts:
                call = stmt.value if isinstance(stmt, ir.Assign) else None
                if isinstance(call, ir.Call) and call.fn in _SHAPE_ONLY:
                    like = call.args[1]
                    same = earliest.get(self.shape_keys.get(like), like)
                    call = dataclasses.replace(call, args=call.args[:1] + (same,) + call.args[2:])
                    stmt = dataclasses.replace(stmt, value=call)
                blocks = ir.blocks_of(stmt)
                out.append(ir.with_blocks(stmt, tuple(map(substitute, blocks))) if blocks else stmt)
            return out

        return substitute(sweep)

    def bound_before(self, site: _Site) -> bool:
        """Whether ``site.var`` surely has a value when ``site`` runs."""
        if site.var in self.low.param_temps.values():
            return True
        first = self.top_index.get(site.var)
        return first is not None and first < site.path[0][0]

    def _instrumented(self, stmts: List[ir.Stmt], kept: Dict[int, _Site]) -> List[ir.Stmt]:
        out: List[ir.Stmt] = []
        for stmt in stmts:
            if id(stmt) in self.checkpointed:
                out += checkpoint.primal_loop(self, stmt, lambda b: self._instrumented(b, kept))
                continue
            site = kept.get(id(stmt))
            if site is not None and site.item:
                element = self.names.temp()
                saved = self.names.temp()
                out.append(ir.Assign(element, ir.Call(operator.getitem, (stmt.target, stmt.index))))
                out.append(ir.Assign(saved, ir.Call(runtime.copy_of, (element,))))
                out.append(ir.Push(self.stack, saved, stmt.loc))
            elif site is not None:
                out.append(ir.Push(self.stack, site.var, stmt.loc))
            counter = self.counters.get(id(stmt))
            save_count = counter is not None and self.in_loop.get(id(stmt))
            blocks = ir.blocks_of(stmt)
            if blocks:
                blocks = tuple(self._instrumented(b, kept) for b in blocks)
                if counter is not None:
                    count = ir.Assign(counter, ir.Call(operator.add, (counter, ir.Const(1))))
                    blocks = blocks[:-1] + ([count] + blocks[-1],)
                    out.append(ir.Assign(counter, ir.Const(0), stmt.loc))
                stmt = ir.with_blocks(stmt, blocks)
            out.append(stmt)
            if save_count:
                out.append(ir.Push(self.stack, counter, stmt.loc))
        return out

    # ---------------------------------------------------------- gradients

    def name_gradients(self, sweep: list, grads: tuple) -> Tuple[list, tuple]:
        """Call the gradient of ``x`` ``dx`` even when it is another adjoint's value.

        ``x - mu`` passes its adjoint ``dt8`` straight through to ``x``; the
        code reads better when that variable is named ``dx`` throughout.  A
        gradient the sweep does not write (the primal ``x + b`` is the
        gradient of ``a``) is named so by the emitter, if it stays a variable.
        """
        mapping: Dict[ir.Var, ir.Var] = {}
        written = {v for s in ir.walk(sweep) for v in ir.targets_written(s)}
        for param, grad in zip(self.wrt, grads):
            temp = self.low.param_temps.get(param)
            if temp is None or not isinstance(grad, ir.Var) or grad in mapping:
                continue
            wanted = self.dname(temp)
            if grad != wanted and grad in written and wanted not in written:
                if sum(1 for s in ir.walk(sweep) if grad in ir.targets_written(s)) == 1:
                    mapping[grad] = wanted
            if grad != wanted and grad not in mapping:
                self.names.suggest(grad, wanted.name)
        if not mapping:
            return sweep, grads
        renamed = ir.rename(sweep, mapping)
        return renamed, tuple(mapping.get(g, g) for g in grads)

    def gradient(self, param: str) -> ir.Atom:
        temp = self.low.param_temps.get(param)
        if temp is not None and temp in self.adjoint:
            atom, _ = self.adjoint[temp]
            if self.kind(temp) != SCALAR and any(
                isinstance(s, ir.Assign)
                and isinstance(s.value, ir.Call)
                and s.value.fn is operator.getitem
                and s.value.args[0] == temp
                for s in ir.walk(self.fn.body)
            ):
                return self.builder.call(runtime.as_structure, (atom, temp))
            return atom
        if self.param_kinds.get(param) == SCALAR:
            return ir.Const(0.0)
        return self.builder.call(runtime.zeros_like, (ir.Var(param),))


# ------------------------------------------------------------------ helpers


def single_exit(body: List[ir.Stmt], names: ir.Names) -> List[ir.Stmt]:
    """``body`` with one ``return``, at its end.

    Lowering leaves a ``return`` only at the end of a path; each one becomes
    an assignment to a result variable, returned at the end.
    """
    returns = [s for s in ir.walk(body) if isinstance(s, ir.Return)]
    if len(returns) == 1 and body and body[-1] is returns[0]:
        return body
    result = ir.Var(names.claim("result"))

    def visit(stmts: List[ir.Stmt]) -> List[ir.Stmt]:
        out = []
        for stmt in stmts:
            if isinstance(stmt, ir.Return):
                value = stmt.value
                if isinstance(value, tuple):
                    value = _tuple_atom(value, out, names, stmt.loc)
                out.append(ir.Assign(result, value, stmt.loc))
            elif isinstance(stmt, ir.If):
                out.append(ir.If(stmt.cond, visit(stmt.body), visit(stmt.orelse), stmt.loc))
            else:
                out.append(stmt)
        return out

    return visit(body) + [ir.Return(result, returns[-1].loc)]


def _tuple_atom(tree: tuple, out: list, names: ir.Names, loc) -> ir.Atom:
    items = tuple(_tuple_atom(t, out, names, loc) if isinstance(t, tuple) else t for t in tree)
    var = names.temp()
    out.append(ir.Assign(var, ir.Call(runtime.make_tuple, items), loc))
    return var


def _differentiable_reads(stmt: ir.Assign):
    value = stmt.value
    if isinstance(value, ir.Var):
        return [value]
    if isinstance(value, ir.Call):
        return [a for a in ir.expr_atoms(value) if isinstance(a, ir.Var)]
    return []


def _breaks(body: List[ir.Stmt]) -> bool:
    """Whether a loop body may ``break`` (breaks of nested loops excluded)."""
    for stmt in body:
        if isinstance(stmt, ir.Break):
            return True
        if isinstance(stmt, ir.If) and (_breaks(stmt.body) or _breaks(stmt.orelse)):
            return True
    return False


def _may_precede(other: _Site, site: _Site) -> bool:
    """Whether ``other`` can run before ``site`` (and so leave a value it overwrites)."""
    if other is site:
        return False
    for (k1, b1), (k2, b2) in zip(other.path, site.path):
        if k1 != k2:
            return k1 < k2
        if b1 != b2:
            return False  # two branches of one `if`
    return len(other.path) < len(site.path)


# Helpers that read their second argument only for its shape and dtype.
_SHAPE_ONLY = {arrays.unreduce, arrays.unreduce_mean}


def _basic_slice(index: ir.Atom) -> bool:
    """A constant basic index with a slice in it: ``dx[index] += g`` adds each item once."""
    if not isinstance(index, ir.Const) or not runtime.is_basic_index(index.value):
        return False
    items = index.value if isinstance(index.value, tuple) else (index.value,)
    return any(isinstance(i, slice) for i in items)


def _statement_at(body: List[ir.Stmt], path: tuple) -> ir.Stmt:
    """The statement at ``path``: pairs of (position in the block, which block of it)."""
    stmt = None
    for k, b in path:
        stmt = body[k]
        blocks = ir.blocks_of(stmt)
        body = blocks[b] if b < len(blocks) else []
    return stmt


def _block_holding(body: List[ir.Stmt], target: ir.Stmt) -> Optional[List[ir.Stmt]]:
    """The list (a body or a block of one of its statements) that holds ``target``."""
    if any(s is target for s in body):
        return body
    for stmt in body:
        for block in ir.blocks_of(stmt):
            found = _block_holding(block, target)
            if found is not None:
                return found
    return None


def _reads(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables the statements read, not counting the stack's own pops."""
    return {
        a
        for s in ir.walk(body)
        if not isinstance(s, ir.Pop)
        for a in ir.atoms_read(s)
        if isinstance(a, ir.Var)
    }


def _read_after_pops(sweep: List[ir.Stmt]) -> Dict[int, Set[ir.Var]]:
    """For each pop: the variables read after it runs (later in its blocks, or anywhere
    in a loop around it, which runs again)."""
    result: Dict[int, Set[ir.Var]] = {}

    def visit(body: List[ir.Stmt], after_block: Set[ir.Var]) -> None:
        reads_from = [set() for _ in range(len(body) + 1)]
        reads_from[-1] = set(after_block)
        for k in range(len(body) - 1, -1, -1):
            reads_from[k] = reads_from[k + 1] | _reads([body[k]])
        for k, stmt in enumerate(body):
            if isinstance(stmt, ir.Pop):
                result[id(stmt)] = reads_from[k + 1]
            for block in ir.blocks_of(stmt):
                inherited = reads_from[k + 1]
                if isinstance(stmt, (ir.For, ir.While)):
                    inherited = inherited | _reads([stmt])
                visit(block, inherited)

    visit(sweep, set())
    return result


def _reads_unbound(body: List[ir.Stmt], bound: frozenset = frozenset()) -> Set[ir.Var]:
    """Variables read where no enclosing ``for`` of ``body`` binds them."""
    result: Set[ir.Var] = set()
    for stmt in body:
        if not isinstance(stmt, ir.Pop):
            result.update(
                a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var) and a not in bound
            )
        inner = bound | {stmt.target} if isinstance(stmt, ir.For) else bound
        for block in ir.blocks_of(stmt):
            result |= _reads_unbound(block, inner)
    return result


def _drop(body: List[ir.Stmt], drop: Set[int], counters: Set[ir.Var]) -> bool:
    """Remove the pops in ``drop``, then reversed branches and loops left with nothing to do."""
    changed = False
    k = 0
    while k < len(body):
        stmt = body[k]
        if id(stmt) in drop:
            del body[k]
            changed = True
            continue
        for block in ir.blocks_of(stmt):
            changed |= _drop(block, drop, counters)
        if isinstance(stmt, (ir.If, ir.For)) and not any(ir.blocks_of(stmt)):
            del body[k]
            previous = body[k - 1] if k > 0 else None
            if (
                isinstance(stmt, ir.For)
                and isinstance(previous, ir.Pop)
                and previous.target in counters
            ):
                del body[k - 1]  # the trip count it would have read
                k -= 1
            changed = True
            continue
        k += 1
    return changed


def _expand(body: List[ir.Stmt], restores: Dict[int, list]) -> None:
    """Expand the pops of elements into pop-and-store."""
    k = 0
    while k < len(body):
        stmt = body[k]
        if id(stmt) in restores:
            body[k : k + 1] = restores[id(stmt)]
            k += len(restores[id(stmt)])
            continue
        for block in ir.blocks_of(stmt):
            _expand(block, restores)
        k += 1
