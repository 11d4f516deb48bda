"""Checkpointing in reverse mode: recompute during the adjoint sweep instead of storing.

Two forms, both invisible to plain Python and to forward mode:

* ``ad.checkpoint(g)`` -- a call ``y = g(a, b)`` keeps only its inputs in the
  primal sweep (``y = g(a, b)``, a plain call); the adjoint sweep calls
  ``g``'s value-and-pullback again on those inputs and applies the pullback.
* ``for i in ad.checkpointed(range(n), ...)`` -- the loop iterates a
  :class:`~s2s_ad.runtime.schedules.Schedule`.  Its primal sweep saves the loop's
  state at the steps the schedule names and records only the last steps;
  its adjoint sweep is one loop over the schedule's actions::

      reversal = schedule.reversal()
      for i in reversal:
          action = reversal.action()
          if action == 'advance':   # the body, not recorded
          if action == 'record':    # the body, pushing what its adjoint reads
          if action == 'reverse':   # the adjoint of the body
          if action == 'save':      reversal[i] = (h, c)
          if action == 'restore':   h = reversal[i][0] ...

  The state is what the body reads before writing it, plus what the code
  after the loop's adjoint reads of what the body writes.  One emitted shape
  serves every schedule; :mod:`s2s_ad.runtime.schedules` decides the order.

Reverse mode calls in here at four points: when it reverses such a loop
(:func:`reverse_loop`, from ``reverse_control.py``), before it writes the
primal sweep (:func:`settle_states`), when it writes the loop's primal sweep
(:func:`primal_loop`), and when it reaches the adjoint of a checkpointed call
(:func:`recompute`).
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Set, TypeVar

from .. import rules, runtime
from ..runtime.schedules import (
    ADVANCE,
    CHECKPOINT_MARK,
    RECORD,
    RESTORE,
    REVERSE,
    SAVE,
    checkpointed,
    records,
    saves,
)
from . import ir
from .calls import Callee
from .errors import TransformError
from .spec import VJP

F = TypeVar("F", bound=Callable)


def is_checkpointed(fn: object) -> bool:
    """Whether ``fn`` came from ``ad.checkpoint``."""
    return getattr(fn, CHECKPOINT_MARK, False) is True


# ----------------------------------------------------------- calls


def recompute(rev, callee: Callee, call: ir.Call) -> ir.Var:
    """In the adjoint sweep: ``g_pullback = g_vjp(a, b)[1]``, the call run again."""
    both = rev.builder.call(callee, call.args, call.kwargs)
    pullback = ir.Var(rev.names.claim(f"{callee.fn.__name__}_pullback"))
    return rev.builder.call(operator.getitem, (both, ir.Const(1)), target=pullback)


# ----------------------------------------------------------- loops


@dataclass
class Loop:
    """A checkpointed loop's adjoint: blocks that are filled once the primal sweep is known."""

    stmt: ir.For
    reversal: ir.Var
    advance: list
    record: list
    reverse: list
    save: list
    restore: list
    state: List[ir.Var] = field(default_factory=list)
    copied: Set[ir.Var] = field(default_factory=set)  # written into: saved as copies
    loop_for: Optional[ir.For] = None  # the adjoint sweep's loop over the actions


def without_schedules(body: List[ir.Stmt]) -> List[ir.Stmt]:
    """``body`` with each ``ad.checkpointed`` loop walking its steps plainly (``for i in
    range(n)``), as code another transform differentiates runs them: reverse mode then
    saves every step, and forward mode over it sees no schedule object.

    Lowering writes ``schedule = checkpointed(steps, ...)`` before ``for i in schedule``.
    """
    steps_of = {
        s.target: s.value.args[0]
        for s in ir.walk(body)
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call) and s.value.fn is checkpointed
    }
    if not steps_of:
        return body

    def plain(stmts: List[ir.Stmt]) -> List[ir.Stmt]:
        out = []
        for stmt in stmts:
            if isinstance(stmt, ir.Assign) and stmt.target in steps_of:
                continue  # the schedule object is never made
            if isinstance(stmt, ir.For) and stmt.iter in steps_of:
                stmt = dataclasses.replace(stmt, iter=steps_of[stmt.iter])
            blocks = ir.blocks_of(stmt)
            if blocks:
                stmt = ir.with_blocks(stmt, tuple(plain(b) for b in blocks))
            out.append(stmt)
        return out

    return plain(body)


def is_checkpointed_loop(rev, stmt: ir.Stmt) -> bool:
    """A ``for`` over ``checkpointed(...)``, as lowering writes ``ad.checkpointed`` loops."""
    if not isinstance(stmt, ir.For) or not isinstance(stmt.iter, ir.Var):
        return False
    definition = rev.primal_defs.get(stmt.iter)
    value = definition.value if definition is not None else None
    return isinstance(value, ir.Call) and value.fn is checkpointed


def reverse_loop(rev, stmt: ir.For) -> None:
    """Append the adjoint of a checkpointed loop (nothing if its body has no adjoint)."""
    _refuse_jumps(stmt.body)
    _refuse_draws(stmt.body)
    adjoint = rev.reversed_body(stmt)
    if not adjoint:
        return  # nothing to reverse: the primal sweep runs the loop as it is
    rev.builder.forget(ir.walk(adjoint))
    # Until the primal sweep is written, the steps run by the adjoint sweep
    # stand there as what they read on entry: what the sweep reads decides
    # what the primal sweep pushes.
    entry = ir.Assign(rev.names.temp(), ir.Call(runtime.make_tuple, _sorted(_entry_reads(stmt))))
    loop = Loop(
        stmt,
        ir.Var(rev.names.claim("reversal")),
        advance=[ir.Comment("advance: run the step without recording it"), entry],
        record=[ir.Comment("record: run the step, pushing what its adjoint reads"), entry],
        reverse=[ir.Comment("reverse: the adjoint of the step")] + adjoint,
        save=[entry],
        restore=[entry],
    )
    action = ir.Var(rev.names.claim("action"))
    keep = (("keep", ir.Const(True)),) if rev.variant == VJP else ()
    start = ir.Call(runtime.call_method, (stmt.iter, ir.Const("reversal")), keep)
    rev.builder.out.append(ir.Assign(loop.reversal, start, stmt.loc))
    body: List[ir.Stmt] = [
        ir.Assign(action, ir.Call(runtime.call_method, (loop.reversal, ir.Const("action"))))
    ]
    blocks = (
        (ADVANCE, loop.advance),
        (RECORD, loop.record),
        (REVERSE, loop.reverse),
        (SAVE, loop.save),
        (RESTORE, loop.restore),
    )
    for name, block in blocks:
        test = rev.names.temp()
        body.append(ir.Assign(test, ir.Call(operator.eq, (action, ir.Const(name)))))
        body.append(ir.If(test, block, []))
    loop.loop_for = ir.For(stmt.target, loop.reversal, body, stmt.loc)
    rev.builder.append(loop.loop_for)
    rev.checkpointed[id(stmt)] = loop


def settle_states(rev, sweep: List[ir.Stmt]) -> Set[ir.Var]:
    """Decide each checkpointed loop's state and write its saves and restores.

    Returns the variables the primal sweep must bind before it starts (to
    ``None``): a snapshot or the pullback's defaults may read them before
    the loop first assigns them.
    """
    unbound: Set[ir.Var] = set()
    for loop in rev.checkpointed.values():
        body = loop.stmt.body
        written = _written(body)
        later = _reads_after(sweep, loop.loop_for) or set()
        loop.state = sorted(written & (_read_before_written(body) | later), key=str)
        loop.copied = {v for v in loop.state if v in _written_into(body)}
        loop.save[:] = _save(rev, loop, loop.reversal, loop.stmt)
        loop.restore[:] = _restore(rev, loop)
        loop.advance[1:] = _fresh_temporaries(rev, loop.stmt.body, set(loop.state))
        needed = set(loop.state)
        if rev.variant == VJP:  # the pullback takes what its sweep rebinds as defaults
            named = {v for v in written if v.name not in rev.names.generated}  # never renamed
            needed |= written & (_touched(loop.reverse) | named)
        unbound |= {v for v in needed if not _bound_before(rev, v, loop.stmt)}
    return unbound


def primal_loop(rev, stmt: ir.For, recorded: Callable[[list], list]) -> List[ir.Stmt]:
    """The primal sweep of a checkpointed loop; ``recorded(body)`` is the body with its pushes.

    ::

        for i in schedule:
            if saves(schedule):
                schedule[i] = (h, c)
            if records(schedule):
                <the body, pushing what its adjoint reads>
            else:
                <the body>

    Copies of the body other than the primal sweep's recorded one get fresh
    temporaries where nothing else reads them, so each reads like the user's
    loop.
    """
    loop = rev.checkpointed[id(stmt)]
    keep = set(loop.state) | _touched(loop.reverse)
    loop.record[1:] = _fresh_temporaries(rev, recorded(stmt.body), keep)
    saving, recording = rev.names.temp(), rev.names.temp()
    plain = _fresh_temporaries(rev, stmt.body, set(loop.state))
    body = [
        ir.Assign(saving, ir.Call(saves, (stmt.iter,))),
        ir.If(saving, _save(rev, loop, stmt.iter, stmt), []),
        ir.Assign(recording, ir.Call(records, (stmt.iter,))),
        ir.If(recording, recorded(stmt.body), plain),
    ]
    return [ir.For(stmt.target, stmt.iter, body, stmt.loc)]


def _save(rev, loop: Loop, store: ir.Var, stmt: ir.For) -> List[ir.Stmt]:
    """``store[i] = (h, copy_of(xs))``: arrays written into are saved as copies."""
    out: List[ir.Stmt] = []
    items = []
    for var in loop.state:
        if var in loop.copied:
            copy = rev.names.temp()
            out.append(ir.Assign(copy, ir.Call(runtime.copy_of, (var,))))
            var = copy
        items.append(var)
    state = rev.names.temp()
    out.append(ir.Assign(state, ir.Call(runtime.make_tuple, tuple(items))))
    out.append(ir.SetItem(store, stmt.target, state))
    return out


def _restore(rev, loop: Loop) -> List[ir.Stmt]:
    """``h = reversal[i][0]`` for each variable of the state (a fresh copy of one written into)."""
    state = rev.names.temp()
    out: List[ir.Stmt] = [
        ir.Assign(state, ir.Call(operator.getitem, (loop.reversal, loop.stmt.target)))
    ]
    for k, var in enumerate(loop.state):
        item = ir.Call(operator.getitem, (state, ir.Const(k)))
        if var in loop.copied:
            copy = rev.names.temp()
            out.append(ir.Assign(copy, item))
            item = ir.Call(runtime.copy_of, (copy,))
        out.append(ir.Assign(var, item))
    return out


# ----------------------------------------------------------- analysis


def _refuse_jumps(body: List[ir.Stmt]) -> None:
    """A checkpointed loop must run all its steps: the schedule is laid out in advance."""
    for stmt in _own_statements(body):
        if isinstance(stmt, ir.Break):
            raise TransformError(
                "`break` or `return` inside a checkpointed loop is not supported: "
                "its schedule needs the number of steps in advance",
                stmt.loc,
                "loop over ad.checkpointed(range(n)) with the number of steps known, "
                "and guard the rest of the body with an `if` instead of leaving the loop",
            )


def _refuse_draws(body: List[ir.Stmt]) -> None:
    """Recomputing a step must give the same values: no random draws in the loop."""
    for stmt in ir.walk(body):
        call = stmt.value if isinstance(stmt, ir.Assign) else None
        if not isinstance(call, ir.Call) or call.fn is checkpointed:
            continue
        draws = call.fn is runtime.call_method or (
            rules.is_nondifferentiable(call.fn)
            and not rules.is_pure(call.fn)
            and not rules.is_deterministic_check(call.fn)
        )
        if draws:
            raise TransformError(
                "a checkpointed loop cannot call what may draw random numbers: "
                "recomputing a step would draw new ones",
                stmt.loc,
                "draw the numbers before the loop (one array for all steps) and index it",
            )


def _own_statements(body: List[ir.Stmt]):
    """Statements of ``body``, nested branches included, nested loops excluded."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ir.If):
            yield from _own_statements(stmt.body)
            yield from _own_statements(stmt.orelse)


def _written(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables the body assigns or writes into (``x[i] = v``, ``xs.append(v)``)."""
    written = {v for s in ir.walk(body) for v in ir.targets_written(s)}
    return written | _written_into(body)


def _written_into(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Containers the body changes in place: a snapshot must copy them."""
    result: Set[ir.Var] = set()
    for stmt in ir.walk(body):
        if isinstance(stmt, ir.SetItem):
            result.add(stmt.target)
        elif isinstance(stmt, (ir.Push, ir.Pop)):
            result.add(stmt.stack)
    return result


def _read_before_written(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables some path through ``body`` reads before assigning them (the loop-carried ones)."""
    exposed: Set[ir.Var] = set()

    def reads(stmt: ir.Stmt) -> Set[ir.Var]:
        return {a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var)}

    def visit(stmts: List[ir.Stmt], written: Set[ir.Var]) -> Set[ir.Var]:
        written = set(written)
        for stmt in stmts:
            exposed.update(reads(stmt) - written)
            if isinstance(stmt, ir.If):
                written = visit(stmt.body, written) & visit(stmt.orelse, written)
            elif isinstance(stmt, ir.For):
                visit(stmt.body, written | {stmt.target})  # may run no step: writes do not count
            elif isinstance(stmt, ir.While):
                written = visit(stmt.test, written)
                visit(stmt.body, written)
            elif isinstance(stmt, (ir.Assign, ir.Pop)):  # not `x[i] = v`: a partial write
                written.add(stmt.target)
        return written

    visit(body, set())
    return exposed


def _reads_after(body: List[ir.Stmt], target: ir.Stmt) -> Optional[Set[ir.Var]]:
    """Variables read after ``target`` runs: later in its blocks, or anywhere in a loop
    around it (None if ``target`` is not in ``body``)."""
    for k, stmt in enumerate(body):
        if stmt is target:
            return _reads(body[k + 1 :])
        for block in ir.blocks_of(stmt):
            inner = _reads_after(block, target)
            if inner is not None:
                rest = _reads(body[k + 1 :])
                if isinstance(stmt, (ir.For, ir.While)):
                    rest |= _reads([stmt])
                return inner | rest
    return None


def _touched(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables ``body`` reads or writes."""
    return _reads(body) | {v for s in ir.walk(body) for v in ir.targets_written(s)}


def _reads(body: List[ir.Stmt]) -> Set[ir.Var]:
    return {a for s in ir.walk(body) for a in ir.atoms_read(s) if isinstance(a, ir.Var)}


def _bound_before(rev, var: ir.Var, loop: ir.For) -> bool:
    """Whether ``var`` surely has a value when ``loop`` starts."""
    position = next(k for k, s in enumerate(rev.fn.body) if any(i is loop for i in ir.walk([s])))
    return rev.stacks.bound_at(var, position)


def _fresh_temporaries(rev, body: List[ir.Stmt], keep: Set[ir.Var]) -> List[ir.Stmt]:
    """A copy of ``body`` whose temporaries (but those in ``keep``) have new names."""
    temporaries = {
        v
        for s in ir.walk(body)
        for v in ir.targets_written(s)
        if v.name in rev.names.generated and v not in keep
    }
    mapping = {v: rev.names.temp() for v in sorted(temporaries, key=str)}
    return ir.rename(body, mapping)


def _entry_reads(stmt: ir.For) -> Set[ir.Var]:
    """What a step of the loop reads on entry: its state and the values it does not change."""
    return _read_before_written(stmt.body) - {stmt.target}


def _sorted(variables: Set[ir.Var]) -> tuple:
    return tuple(sorted(variables, key=str))
