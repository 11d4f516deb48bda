"""Stage 4b: reverse mode -- a primal sweep, then adjoint statements in reverse.

For ``t5 = t2 * t4`` the adjoint sweep gets ``dt4 = dt5 * t2`` and
``dt2 = dt5 * t4``; a second contribution to the same adjoint accumulates
(``dt0 += dt2``), the first one assigns, and adjoints that would be zero are
never built.  Three shapes of output share this code:

* ``grad`` / ``value_and_grad``: one function, seeded with a cotangent of 1;
* ``vjp``: the primal sweep returns the output and a ``pullback`` closure that
  runs the adjoint sweep for any cotangent, as often as it is called;
* ``cotangents``: both sweeps in one function that takes the cotangent as its last
  parameter and returns the gradients, what code that is differentiated again calls
  (:mod:`.closed_calls`).

Control flow is reversed structurally (:mod:`.reverse_control`).  A value
that the adjoint sweep reads but the primal sweep overwrites is pushed on a
stack before it is overwritten and popped back after the adjoint of that
assignment (:mod:`.stacks`).  With ``optimize``, :mod:`.reverse_optimize`
makes the sweeps cheaper; :mod:`.checkpoint` recomputes instead of storing
where the user asks for it.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from .. import rules, runtime
from ..rules import ARRAY, SCALAR, UNKNOWN
from . import analyse, checkpoint, ir
from .binding import template_of
from .calls import Callee, is_user_function, varied_parameters
from .closed_calls import cotangents_call
from .errors import TransformError
from .ir import DISPLAYS
from .lower import Lowered
from .reverse_control import Adjoint, ControlFlowReversal
from .reverse_optimize import rematerialize, shape_from_earliest
from .spec import COTANGENTS, VALUE_AND_GRAD, VJP, Spec
from .stacks import Stacks
from .transform import DifferentiableArgs

# Helpers whose results are lists built as values (reverse mode's ``xs.append(v)``)
LIST_BUILDERS = (runtime.appended, runtime.initial)
# Calls whose result is a container when their first argument is one (a dict built by
# item writes, and its derivatives in the emitted gradient)
CONTAINER_KEEPERS = (
    runtime.updated,
    runtime.cleared,
    runtime.zeros_like,
    runtime.copy_of,
    runtime.add_at,
)

# The statement that assigns a user function's result (by id: the same variable may
# be assigned a call's result in both branches of an ``if``, or something else
# elsewhere) -> its pullback (None where the adjoint sweep runs the call again: an
# ``ad.checkpoint`` function, or any call in code that is differentiated again), the
# VJP, and the arguments it differentiates.
Pullbacks = Dict[int, Tuple[Optional[ir.Var], Callee, Sequence]]


def reverse(low: Lowered, spec: Spec) -> ir.Function:
    """The reverse-mode derivative of ``low`` as a new IR function."""
    return Reverse(low, spec).run()


class Reverse(ControlFlowReversal):
    """Reverse mode over one lowered function: the primal sweep, then the adjoint sweep.

    The adjoint sweep is written first, statement by statement from the last,
    with every pop that might be needed; then the primal sweep, with the
    pushes of what the adjoint sweep turned out to read.
    """

    def __init__(self, low: Lowered, spec: Spec):
        self.spec = spec
        wrt = spec.wrt
        fn = low.function
        body = single_exit(fn.body, low.names)
        self.pullbacks: Pullbacks = {}
        self.checkpointed: Dict[int, checkpoint.Loop] = {}  # ad.checkpointed loops, by id
        args_of = DifferentiableArgs()  # what each call's derivative flows through
        varied = analyse.varied(ir.Function(fn.name, fn.params, body), wrt, args_of)
        body = lists_as_values(body, varied, low.names)
        body = call_vjps(body, varied, low, self.pullbacks, spec.closed)
        if spec.closed:  # the next transform reads plain loops: no schedule objects
            body = checkpoint.without_schedules(body)
        low = dataclasses.replace(
            low, function=ir.Function(fn.name, fn.params, body, fn.doc, fn.loc)
        )
        super().__init__(low, spec, args_of)
        self.variant = spec.mode
        self.adjoint: Dict[ir.Var, Adjoint] = {}
        self.stacks = Stacks(self.fn, self.names, set(self.low.param_temps.values()))
        self.primal_defs = {s.target: s for s in ir.walk(self.fn.body) if isinstance(s, ir.Assign)}
        # records (`p` of `p.W`) add field by field too: `+` on a dataclass is not defined
        self.containers = containers_built(self.fn.body) | records_read(self.fn.body)
        self.rematerialized: Set[ir.Var] = set()  # recomputed in the adjoint sweep, not saved
        self.item_accumulated: Set[ir.Var] = set()  # adjoints that `add_at` wrote items into
        # the blocks whose adjoints are being written, innermost last: where each variable
        # is first assigned in the block, and the position of the statement being reversed
        self.sweep_frames: List[Tuple[Dict[ir.Var, int], List[int]]] = []
        self.assignments = Counter(
            s.target for s in ir.walk(self.fn.body) if isinstance(s, ir.Assign)
        )

    def dname(self, var: ir.Var) -> ir.Var:
        """``dv`` for ``v``; the adjoint of a parameter's load is ``dx``."""
        return self.names.derivative(var, self.low.load_of.get(var, ""))

    # ------------------------------------------------------------ driver

    def run(self) -> ir.Function:
        body = self.fn.body
        ret = body[-1]
        body = body[:-1]
        self.builder.loc = ret.loc
        with self.builder.block() as sweep:
            sweep.append(ir.Comment("adjoint sweep"))
            cotangent = None
            if self.variant in (VJP, COTANGENTS):
                cotangent = self.seed_from_parameter(ret)
            else:
                self.seed_with_one(ret)
            self.reverse_into(body)
            self.builder.loc = ret.loc
            grads = tuple(self.gradient(p) for p in self.wrt)
        primal, restored = self.instrument(body, sweep)
        if self.optimize:
            sweep = shape_from_earliest(sweep, body, self.shape_keys)
        sweep, grads = self.name_gradients(sweep, grads)
        if self.variant == VJP:
            pullback = self.pullback(ret, sweep, grads, cotangent, restored)
            value = (ret.value, ir.Var(pullback.name))
            body = primal + [pullback, ir.Return(value, ret.loc)]
        elif self.variant == COTANGENTS:
            body = primal + sweep + [ir.Return(grads, ret.loc)]
        else:
            result = self.result(ret, primal, grads, restored)
            body = primal + sweep + [ir.Return(result, ret.loc)]
        name = f"{self.base_name}_{self.variant}"
        params = self.emitted_params()
        if self.variant == COTANGENTS:
            params += (ir.Param(cotangent.name),)
        return ir.Function(name, params, body, loc=self.fn.loc)

    def instrument(
        self, body: List[ir.Stmt], sweep: List[ir.Stmt]
    ) -> Tuple[List[ir.Stmt], Set[ir.Var]]:
        """The primal sweep with the pushes and trip counts the adjoint sweep needs, and
        the variables the adjoint sweep restores.

        Drops the adjoint sweep's pops of values it turned out not to read.
        """
        if self.optimize:
            self.rematerialized = rematerialize(self.fn.body, self.stacks, sweep, self.kind)
        unbound = self.stacks.settle(sweep)  # the first push may find these unbound
        unbound |= checkpoint.settle_states(self, sweep)
        primal = self.stacks.instrumented(body, self.checkpointed_primal)
        restored = self.stacks.restored()
        return self.stacks.prologue(unbound) + primal, restored

    def checkpointed_primal(
        self, stmt: ir.Stmt, recorded: Callable[[List[ir.Stmt]], List[ir.Stmt]]
    ) -> Optional[List[ir.Stmt]]:
        """The primal sweep of an ``ad.checkpointed`` loop (None for other statements)."""
        if id(stmt) not in self.checkpointed:
            return None
        return checkpoint.primal_loop(self, stmt, recorded)

    def pullback(
        self,
        ret: ir.Return,
        sweep: List[ir.Stmt],
        grads: tuple,
        cotangent: ir.Var,
        restored: Set[ir.Var],
    ) -> ir.Function:
        """``f_pullback``, the closure ``f_vjp`` returns: the adjoint sweep."""
        # The pullback rebinds primal variables (pops, reversed loops): those
        # it also reads start from the values the primal sweep left.
        primal_vars = {v for s in ir.walk(self.fn.body[:-1]) for v in ir.targets_written(s)}
        rebound = {v for s in ir.walk(sweep) for v in ir.targets_written(s)}
        read_first = rebound & primal_vars & _reads_unbound(sweep)
        restored |= read_first - self.rematerialized
        # A checkpointed loop's snapshot reads every state variable, a recomputed one too,
        # before the adjoint recomputes it: its value there is never used, but it is bound.
        placeholders = sorted(read_first & self.rematerialized, key=str)
        name = self.names.claim(f"{self.base_name}_pullback")
        params = [ir.Param(cotangent.name)]
        prologue: List[ir.Stmt] = []
        if restored:
            # The pullback may run many times: it restores values into
            # its own copies, taken when the primal sweep ended.
            params += [ir.Param(v.name, v) for v in sorted(restored, key=str)]
            prologue = [
                ir.Assign(v, ir.Call(runtime.copy_of, (v,)), ret.loc)
                for v in sorted(restored, key=str)
                if v == self.stacks.stack
            ]
        prologue += [ir.Assign(v, ir.Const(None), ret.loc) for v in placeholders]
        body = prologue + sweep + [ir.Return(grads, ret.loc)]
        return ir.Function(name, tuple(params), body, loc=ret.loc)

    def result(
        self, ret: ir.Return, primal: List[ir.Stmt], grads: tuple, restored: Set[ir.Var]
    ) -> ir.Tree:
        """What ``f_grad`` returns (the gradient), or ``f_value_and_grad`` (the value too).

        A value the adjoint sweep restores to older values is kept first, at
        the end of ``primal``.
        """
        result = grads[0] if len(grads) == 1 else grads
        if self.variant == VALUE_AND_GRAD:
            value = ret.value
            if any(a in restored for a in ir.tree_atoms(value)):
                kept = ir.Var(self.names.claim("value"))
                primal.append(ir.Assign(kept, value, ret.loc))
                value = kept
            result = (value, result)
        return result

    def emitted_params(self) -> Tuple[ir.Param, ...]:
        """The emitted function's parameters: the user function's, without defaults."""
        return tuple(ir.Param(p.name) for p in self.fn.params)

    # ------------------------------------------------------------ seeds

    def seed_with_one(self, ret: ir.Return) -> None:
        out = ret.value
        if isinstance(out, tuple):
            raise TransformError(
                "grad needs a function that returns one scalar, but this one returns a tuple",
                ret.loc,
                "use ad.vjp or ad.jacobian, or return a single value; for a value returned "
                "beside the loss, return (loss, aux) and pass has_aux=True",
            )
        self.builder.loc = ret.loc
        if not (isinstance(out, ir.Var) and out in self.active):
            if self.kind(out) != SCALAR:  # a zero gradient, if the output is a number
                self.builder.call(runtime.check_scalar_output, (out,))
            return
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
        first: Dict[ir.Var, int] = {}
        for k, stmt in enumerate(stmts):
            if isinstance(stmt, ir.Assign):
                first.setdefault(stmt.target, k)
        frame = (first, [len(stmts)])
        self.sweep_frames.append(frame)
        try:
            for k in range(len(stmts) - 1, -1, -1):
                frame[1][0] = k
                self.reverse_statement(stmts[k])
        finally:
            self.sweep_frames.pop()

    def bound_here(self, var: ir.Var) -> bool:
        """Whether ``var``, assigned once, was assigned before the statement being
        reversed, in its block or a block around it: it has its value here."""
        if self.assignments[var] != 1:
            return False
        return any(
            first.get(var, position[0]) < position[0] for first, position in self.sweep_frames
        )

    def reverse_statement(self, stmt: ir.Stmt) -> None:
        """Append the adjoint of one statement."""
        self.builder.loc = getattr(stmt, "loc", None)
        if isinstance(stmt, ir.Assign):
            self.reverse_assign(stmt)
        elif isinstance(stmt, ir.If):
            self.reverse_if(stmt)
        elif isinstance(stmt, (ir.For, ir.While)):
            self.reverse_loop(stmt)
        pop = self.stacks.pop_after(stmt)
        if pop is not None:
            self.builder.append(pop)

    def reverse_assign(self, stmt: ir.Assign) -> None:
        target = stmt.target
        if target not in self.adjoint or isinstance(stmt.value, ir.Load):
            return
        g, owned = self.adjoint.pop(target)  # before this assignment, its value had no uses
        value = stmt.value
        if isinstance(value, ir.Var):
            if value in self.varied:
                self.accumulate(value, g)
        elif isinstance(value, ir.Call) and value.fn is runtime.updated:
            self.propagate_update(value, g, owned)
        elif isinstance(value, ir.Call):
            self.propagate_call(stmt, g)

    def propagate_call(self, stmt: ir.Assign, g: ir.Atom) -> None:
        call = stmt.value
        if id(stmt) in self.pullbacks:
            pullback, callee, args = self.pullbacks[id(stmt)]
            if self.spec.closed:  # the call again, for the cotangents, as plain code
                closed = cotangents_call(call.fn, callee.wrt, call, g, stmt.loc)
                cotangents = self.builder.call(closed.fn, closed.args, closed.kwargs)
            else:
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
            self.propagate_display(stmt.target, call, g)
            return
        if not any(a in self.varied for a in self.args_of(call)):
            return  # a constant (`np.ones_like(x)`) assigned to a variable that varies elsewhere
        if call.fn is runtime.appended and not self.spec.closed:
            self.propagate_append(call, g)
            return
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

    def propagate_append(self, call: ir.Call, g: ir.Atom) -> None:
        """``t = appended(xs, v)`` in code that is not differentiated again: ``dv = last(dt,
        None)`` and ``dxs = initial(dt, v)``.  The rule's ``last(dt, xs)`` reads ``xs`` only
        for the transpose of ``last``; without it the list is not saved on every trip, and
        the append is written in place (``in_place.py``): a loop of appends is O(n)."""
        items, value = call.args
        terms = []
        if value in self.varied:
            terms.append((value, self.builder.call(runtime.last, (g, ir.Const(None)))))
        if items in self.varied:
            terms.append((items, self.builder.call(runtime.initial, (g, value))))
        for arg, term in terms:
            self.accumulate(arg, term)

    def propagate_update(self, call: ir.Call, g: ir.Atom, owned: bool) -> None:
        """``y = updated(x, i, v)``: ``dv`` gets ``dy[i]``, and ``dx`` the rest of ``dy``:
        ``dy`` itself with ``dy[i] = 0`` written in place where the sweep owns it."""
        x, index, value = call.args
        if value in self.varied:
            self.accumulate(value, self.builder.call(runtime.written_vjp, (g, index, value)))
        if x not in self.varied:
            return
        if owned and x not in self.adjoint:
            self.builder.append(ir.SetItem(g, index, ir.Const(0.0), self.builder.loc))
            self.accumulate(x, g)
        else:
            self.accumulate(x, self.builder.call(runtime.cleared, (g, index)))

    def propagate_display(self, display: ir.Var, call: ir.Call, g: ir.Atom) -> None:
        """``(a, b)``: item ``k`` of the cotangent goes to the ``k``-th item."""
        items = list(enumerate(call.args)) + [(key, value) for key, value in call.kwargs]
        for key, value in items:
            if value in self.varied:
                if self.stacks.bound_throughout(display):
                    part = self.builder.call(operator.getitem, (g, ir.Const(key)))
                else:  # a loop's trips bind the display: its cotangent may still be 0.0
                    part = self.builder.call(runtime.part, (g, ir.Const(key), display))
                self.accumulate(value, part)

    def accumulate_item(self, container: ir.Var, index: ir.Atom, g: ir.Atom) -> None:
        """``dx[i] += g``: the cotangent of ``x[i]`` goes into one element of ``dx``."""
        acc = self.owned_accumulator(container)
        if self.kind(container) == ARRAY and (self.kind(index) == SCALAR or _basic_slice(index)):
            self.builder.accumulate(acc, g, index)  # in place: no item is selected twice
        else:
            self.builder.call(runtime.add_at, (acc, index, g), target=acc)
            if self.kind(container) != ARRAY:  # maybe a list: `+=` would join, not add
                self.item_accumulated.add(container)

    def owned_accumulator(self, var: ir.Var) -> ir.Var:
        """``dv`` holding an array or container this sweep owns and may write into."""
        target = self.dname(var)
        current = self.adjoint.get(var)
        if current is None:
            self.evict(target)
            self.builder.call(runtime.zeros_like, (var,), target=target)
        elif not current[1]:
            self.evict(target)
            if self.kind(var) != SCALAR and not self.stacks.bound_throughout(var):
                # a loop's trips bind `var`: its adjoint may start as 0.0 (assign_zero)
                self.builder.call(runtime.owned_copy, (current[0], var), target=target)
            else:
                self.builder.call(runtime.copy_of, (current[0],), target=target)
        self.adjoint[var] = (target, True)
        return target

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
        if self.may_be_container(var):  # `+` would join two lists: add item by item
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

    def may_be_container(self, var: ir.Var) -> bool:
        """Whether the adjoint of ``var`` may be a list, tuple or dict: a display, an item
        accumulated, or, where the kinds come from the arguments, a value of unknown kind
        (what a call that is not inlined returns, an item of it)."""
        if self.is_display(var) or var in self.item_accumulated:
            return True
        return self.spec.kinds_of_values and self.kind(var) == UNKNOWN

    def is_display(self, var: ir.Var) -> bool:
        """Whether ``var`` holds a list, tuple or dict the function built (``[x, y]``,
        ``appended(xs, v)``, the emitted gradient's ``initial(g, v)``, or a copy), or may
        hold one it was given (a parameter that is neither a number nor an array)."""
        if var in self.containers:
            return True
        given = self.spec.kinds_of_values and var in self.low.load_of
        return given and self.kind(var) == UNKNOWN

    def evict(self, name: ir.Var, keep: Optional[ir.Var] = None) -> None:
        """Before ``name`` is assigned, copy it out of other adjoints that hold it."""
        for var in self.adjoint.holders(name):
            if var != keep:
                copy = self.names.temp()
                self.builder.assign(copy, name)
                self.adjoint[var] = (copy, False)

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
                and s.value.fn in (operator.getitem, runtime.field)
                and s.value.args[0] == temp
                for s in ir.walk(self.fn.body)
            ):
                return self.builder.call(runtime.as_structure, (atom, temp))
            return atom
        if self.param_kinds.get(param) == SCALAR:
            return ir.Const(0.0)
        return self.builder.call(runtime.zeros_like, (ir.Var(param),))


# ---------------------------------------------- the body, before the sweeps


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


def call_vjps(
    body: List[ir.Stmt],
    varied: Set[ir.Var],
    low: Lowered,
    pullbacks: Pullbacks,
    closed: bool = False,
) -> List[ir.Stmt]:
    """Calls of user functions on varied values become calls of their VJPs.

    ``t = g(a, b)`` becomes ``t, g_pullback = g_vjp(a, b)`` (as three
    statements); the adjoint sweep calls ``g_pullback(dt)``, as ``pullbacks`` records.
    In ``closed`` code (and for ``ad.checkpoint`` functions) the call stays, and the
    adjoint sweep runs it again for the cotangents.
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
            callee = Callee(call.fn, VJP, tuple(name for name, _ in params))
            if closed or checkpoint.is_checkpointed(call.fn):  # the adjoint sweep calls again
                pullbacks[id(stmt)] = (None, callee, [a for _, a in params])
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
            result = ir.Assign(stmt.target, value, stmt.loc, stmt.note)
            out.append(result)
            pullbacks[id(result)] = (pullback, callee, [a for _, a in params])
            continue
        blocks = ir.blocks_of(stmt)
        if blocks:
            blocks = tuple(call_vjps(b, varied, low, pullbacks, closed) for b in blocks)
            stmt = ir.with_blocks(stmt, blocks)
        out.append(stmt)
    return out


def lists_as_values(body: List[ir.Stmt], varied: Set[ir.Var], names: ir.Names) -> List[ir.Stmt]:
    """``xs.append(v)`` / ``v = xs.pop()`` on a list of varied values, written as new values.

    ``t = appended(xs, v); xs = t``; ``v = xs[-1]``, then ``t = xs[:-1]; xs = t``: the
    list the adjoint sweep reads back is never changed in place (a reassigned ``xs``
    is saved and restored like any other variable), and each step has a rule, so the
    emitted gradient's own stack can be differentiated again.
    """
    out: List[ir.Stmt] = []
    for stmt in body:
        if isinstance(stmt, ir.Push) and stmt.stack in varied:
            grown = ir.Call(runtime.appended, (stmt.stack, stmt.value))
            out.extend(_rebound(stmt.stack, grown, names, stmt.loc))
        elif isinstance(stmt, ir.Pop) and stmt.stack in varied:
            item = ir.Call(operator.getitem, (stmt.stack, ir.Const(-1)))
            out.append(ir.Assign(stmt.target, item, stmt.loc))
            rest = ir.Call(operator.getitem, (stmt.stack, ir.Const(slice(None, -1))))
            out.extend(_rebound(stmt.stack, rest, names, stmt.loc))
        else:
            blocks = ir.blocks_of(stmt)
            if blocks:
                stmt = ir.with_blocks(
                    stmt, tuple(lists_as_values(b, varied, names) for b in blocks)
                )
            out.append(stmt)
    return out


def containers_built(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables that surely hold a list, tuple or dict: a display (``[x, y]``), a list
    built by ``appended``/``initial``, a slice of one, or a copy of one."""
    assigns = [s for s in ir.walk(body) if isinstance(s, ir.Assign)]
    found: Set[ir.Var] = set()
    grew = True
    while grew:
        grew = False
        for stmt in assigns:
            if stmt.target not in found and _builds_container(stmt.value, found):
                found.add(stmt.target)
                grew = True
    return found


def records_read(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables whose fields are read or replaced (``p`` of ``p.W``): records."""
    return {
        s.value.args[0]
        for s in ir.walk(body)
        if isinstance(s, ir.Assign)
        and isinstance(s.value, ir.Call)
        and s.value.fn in (runtime.field, runtime.with_field)
        and isinstance(s.value.args[0], ir.Var)
    }


def _builds_container(value: ir.Expr, found: Set[ir.Var]) -> bool:
    if isinstance(value, ir.Var):
        return value in found
    if not isinstance(value, ir.Call):
        return False
    if value.fn in DISPLAYS or value.fn in LIST_BUILDERS:
        return True
    rule = rules.lookup(value.fn)
    if rule is not None and rule.tuple_result:  # np.linalg.eigh's (w, V), ...
        return True
    if value.fn is runtime.sum_vjp:  # the cotangent of a list's items
        return value.args[1] in found
    if value.fn in (runtime.owned_copy, runtime.getitem_vjp):  # shaped like their second
        return value.args[1] in found
    if value.fn in CONTAINER_KEEPERS:
        return value.args[0] in found
    index = value.args[1] if value.fn is operator.getitem else None
    return isinstance(index, ir.Const) and isinstance(index.value, slice) and value.args[0] in found


def _rebound(var: ir.Var, value: ir.Call, names: ir.Names, loc) -> List[ir.Stmt]:
    """``t = value; var = t``: an assignment's value never reads its own target."""
    temp = names.temp()
    return [ir.Assign(temp, value, loc), ir.Assign(var, temp, loc)]


# ------------------------------------------------------------------ helpers


def _basic_slice(index: ir.Atom) -> bool:
    """A constant basic index with a slice in it: ``dx[index] += g`` adds each item once."""
    if not isinstance(index, ir.Const) or not runtime.is_basic_index(index.value):
        return False
    items = index.value if isinstance(index.value, tuple) else (index.value,)
    return any(isinstance(i, slice) for i in items)


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
