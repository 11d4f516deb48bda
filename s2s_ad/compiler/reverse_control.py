"""Reverse mode's control flow, reversed structurally.

An ``if`` becomes an ``if`` on the same condition with each branch
reversed; a ``for`` runs its reversed body over the same indices
backwards; a ``while`` (or a loop left by ``break``) runs the reversed body
as many times as the primal sweep counted (:mod:`.stacks` keeps the count).
An adjoint that the reversed statement changes and code after it reads is
*carried*: each branch, and each trip of a loop, ends with it in the
variable's own name (``dv``), so the code after finds it there.
"""

from __future__ import annotations

import operator
from typing import Callable, Dict, FrozenSet, List, Optional, Set, Tuple

from .. import runtime
from ..rules import SCALAR
from . import checkpoint, ir
from .stacks import Stacks
from .transform import Transform

Adjoint = Tuple[ir.Atom, bool]  # the atom holding it, and whether we own that value


class AdjointMap(dict):
    """Variable -> its :data:`Adjoint`; :meth:`holders` finds the variables whose adjoint
    a variable holds without a scan of them all (an index built when first asked for,
    then kept up to date, and handed on by :meth:`copy`: each branch of an ``if`` starts
    from a copy, and building the index again for each would be quadratic).

    >>> a, b, t = ir.Var("a"), ir.Var("b"), ir.Var("t")
    >>> adjoints = AdjointMap({a: (t, False)})
    >>> adjoints[b] = (t, True)
    >>> [str(v) for v in adjoints.holders(t)]
    ['a', 'b']
    >>> branch = adjoints.copy()
    >>> del branch[a]
    >>> [str(v) for v in branch.holders(t)], [str(v) for v in adjoints.holders(t)]
    (['b'], ['a', 'b'])
    """

    def __init__(self, entries=()):
        super().__init__(entries)
        # frozen sets, replaced when they change, so that copy() can share them
        self._holders: Optional[Dict[ir.Var, FrozenSet[ir.Var]]] = None
        self._position: Dict[ir.Var, int] = {}  # the order of the dict, for holders()
        self._count = 0

    def copy(self) -> AdjointMap:
        """A copy, with the index (if built) copied in one go."""
        twin = AdjointMap(self)
        if self._holders is not None:
            twin._holders, twin._position = dict(self._holders), dict(self._position)
            twin._count = self._count
        return twin

    def holders(self, atom: ir.Var) -> List[ir.Var]:
        """The variables whose adjoint ``atom`` holds, in the order of the dict."""
        if self._holders is None:
            self._holders = {}
            for var, adjoint in self.items():
                self._hold(var, adjoint)
        return sorted(self._holders.get(atom, ()), key=self._position.__getitem__)

    def _hold(self, var: ir.Var, adjoint: Adjoint) -> None:
        if var not in self._position:
            self._position[var] = self._count
            self._count += 1
        atom = adjoint[0]
        if type(atom) is ir.Var:  # only a variable equals one
            self._holders[atom] = self._holders.get(atom, frozenset()) | {var}

    def _unhold(self, var: ir.Var) -> None:
        atom = self[var][0]
        if type(atom) is ir.Var:
            self._holders[atom] = self._holders[atom] - {var}

    def __setitem__(self, var: ir.Var, adjoint: Adjoint) -> None:
        if self._holders is not None:
            if var in self:
                self._unhold(var)
            self._hold(var, adjoint)
        super().__setitem__(var, adjoint)

    def __delitem__(self, var: ir.Var) -> None:
        if self._holders is not None and var in self:
            self._unhold(var)
            del self._position[var]
        super().__delitem__(var)

    def pop(self, var: ir.Var, *default):
        if var not in self:
            return super().pop(var, *default)
        adjoint = self[var]
        del self[var]
        return adjoint

    def update(self, *args, **kwargs) -> None:
        for var, adjoint in dict(*args, **kwargs).items():
            self[var] = adjoint

    def setdefault(self, var: ir.Var, adjoint: Adjoint) -> Adjoint:
        if var not in self:
            self[var] = adjoint
        return self[var]

    def popitem(self):
        var = next(reversed(self))
        return var, self.pop(var)

    def clear(self) -> None:
        super().clear()
        self._holders, self._position = None, {}


class ControlFlowReversal(Transform):
    """The adjoint of ``if``, ``for`` and ``while``; the base of reverse mode's transformer.

    The transformer (:class:`~s2s_ad.compiler.reverse.Reverse`) provides what
    is declared below: the adjoint of each variable so far, the stacks, the
    primal definitions, and the adjoint sweep's ``reverse_into`` (a block's
    adjoint), ``dname`` (``dv`` for ``v``) and ``evict`` (copy ``dv`` out of
    other adjoints before ``dv`` is assigned).
    """

    stacks: Stacks
    primal_defs: Dict[ir.Var, ir.Assign]
    reverse_into: Callable[[List[ir.Stmt]], None]
    dname: Callable[[ir.Var], ir.Var]
    evict: Callable[..., None]
    bound_here: Callable[[ir.Var], bool]

    @property
    def adjoint(self) -> AdjointMap:
        """The adjoint of each variable so far (any dict assigned becomes an AdjointMap)."""
        return self._adjoint

    @adjoint.setter
    def adjoint(self, adjoints: Dict[ir.Var, Adjoint]) -> None:
        self._adjoint = adjoints if isinstance(adjoints, AdjointMap) else AdjointMap(adjoints)

    def reverse_if(self, stmt: ir.If) -> None:
        before = self.adjoint.copy()
        # A branch that assigns a variable whose adjoint is live here (a loop
        # carries it) consumes that adjoint: the other branch keeps it.
        assigned = {v for s in ir.walk([stmt]) for v in ir.targets_written(s)}
        carried = self.carried(stmt) | (assigned & set(before))
        branches, states = [], []
        for block in (stmt.body, stmt.orelse):
            self.adjoint = before.copy()
            with self.builder.block() as out:
                self.reverse_into(block)
            branches.append(out)
            states.append(self.adjoint)
        after = before.copy()
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
        # what the builder knows of the variables the body writes goes when the loop is
        # appended; the steps before it are calls that no definition simplifies
        body = self.reversed_body(stmt)
        counter = self.stacks.trip_counter(stmt)
        pop = self.stacks.trip_count_pop(stmt)
        if pop is not None:
            self.builder.append(pop)
        steps = self.reversed_steps(stmt, counter)
        target = stmt.target if isinstance(stmt, ir.For) else ir.Var(self.names.claim("_"))
        self.builder.append(ir.For(target, steps, body, stmt.loc))

    def reversed_body(self, stmt) -> List[ir.Stmt]:
        """The adjoint of one trip of a loop; carried adjoints end each trip in their own names."""
        carried = self.carried(stmt)
        assigned = {v for s in ir.walk([stmt]) for v in ir.targets_written(s)}
        for var in sorted(carried, key=str):
            self.materialize(var, owned_ok=var not in assigned)
        at_entry = self.adjoint.copy()
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

    def forward_steps(self, steps: ir.Atom) -> ir.Atom:
        """``steps`` again, as a ``range(...)`` call when the primal sweep built it by one."""
        definition = self.primal_defs.get(steps) if isinstance(steps, ir.Var) else None
        if definition is not None and definition.value.fn is range:
            return self.builder.call(range, definition.value.args, spelling="range")
        return steps

    # ------------------------------------------------------ carried adjoints

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
        outside = self.stacks.reads_outside[id(stmt)]
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
        if self.kind(var) != SCALAR and (self.stacks.bound_throughout(var) or self.bound_here(var)):
            self.builder.call(runtime.zeros_like, (var,), target=target)
            return True
        self.builder.assign(target, ir.Const(0.0))
        return False


def _differentiable_reads(stmt: ir.Assign):
    value = stmt.value
    if isinstance(value, ir.Var):
        return [value]
    if isinstance(value, ir.Call):
        return [a for a in ir.expr_atoms(value) if isinstance(a, ir.Var)]
    return []
