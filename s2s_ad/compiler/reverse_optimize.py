"""Reverse mode's optimisations of the sweeps it writes (``optimize=True`` only).

The adjoint rules give correct sweeps on their own; these make them cheaper:

* :func:`rematerialize` recomputes a loop's cheap scalar temporaries in the
  adjoint sweep instead of pushing them on the stack in the primal sweep;
* :func:`shape_from_earliest` lets helpers that read an array only for its
  shape (``unreduce(g, t10)``) read the earliest array of that shape key, so
  the primal sweep need not keep ``t10``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Callable, Dict, List, Optional, Set

from ..rules import SCALAR, Kind
from ..runtime import arrays
from . import ir
from .stacks import Site, Stacks, sweep_reads
from .templates import ARITHMETIC

# Helpers that read their second argument only for its shape and dtype.
_SHAPE_ONLY = {arrays.unreduce, arrays.unreduce_mean}


def rematerialize(
    body: List[ir.Stmt], stacks: Stacks, sweep: List[ir.Stmt], kind: Callable[[ir.Atom], Kind]
) -> Set[ir.Var]:
    """Recompute a loop's cheap scalar temporaries in the adjoint sweep instead of saving them.

    ``t = a * x`` at the top of a loop body is pushed each iteration so that
    the reversed iteration can read it back.  If ``t`` lives only within one
    iteration and its operands are back at their values of that moment
    early in the reversed iteration (loop invariants, the loop index, values
    restored by their own pops, other recomputed temporaries), the reversed
    iteration recomputes ``t = a * x`` there and nothing is saved: the
    scalar recurrence then stores one float per step, as by hand.

    ``body`` is the primal body, ``sweep`` the adjoint sweep, changed in
    place; returns the variables recomputed.
    """
    readers: Dict[ir.Var, List[ir.Stmt]] = {}
    for stmt in ir.walk(body):
        for atom in set(ir.atoms_read(stmt)):
            readers.setdefault(atom, []).append(stmt)
    recomputed: Set[ir.Var] = set()
    holding = _blocks_holding(sweep)  # statements stay in their lists as pops move
    for site in sorted(stacks.sites.values(), key=lambda s: s.path):
        if not _cheap(site.stmt, kind) or len(stacks.by_var[site.var]) != 1:
            continue
        loop = _loop_around(body, site, readers.get(site.var, []))
        if loop is None:
            continue
        block = holding.get(id(site.pop))
        if block is None:
            continue
        ready = _ready_at(site, loop, block, stacks.by_var)
        reads = [k for k, stmt in enumerate(block) if site.var in sweep_reads([stmt])]
        if ready is None or not reads or reads[0] < ready:
            continue  # unread (its pop goes anyway), or read before it could be redone
        block.remove(site.pop)
        block.insert(ready, ir.Assign(site.var, site.stmt.value, site.stmt.loc))
        recomputed.add(site.var)
    return recomputed


def _loop_around(body: List[ir.Stmt], site: Site, readers: List[ir.Stmt]) -> Optional[ir.Stmt]:
    """The loop whose body holds ``site`` at its top level, if the temporary lives
    only inside that body, after ``site`` (``readers``: the statements reading it)."""
    if site.item or not site.in_loop or len(site.path) < 2 or site.path[-1][1] != 0:
        return None
    loop = _statement_at(body, site.path[:-1])
    if not isinstance(loop, (ir.For, ir.While)):
        return None
    position = site.path[-1][0]
    inside = {id(s) for s in ir.walk(loop.body[position:])}
    if any(id(s) not in inside or s is site.stmt for s in readers):
        return None
    return loop


def _cheap(stmt: ir.Stmt, kind: Callable[[ir.Atom], Kind]) -> bool:
    """Scalar arithmetic and ``math`` functions: cheaper to redo than to save."""
    if not isinstance(stmt, ir.Assign) or not isinstance(stmt.value, ir.Call):
        return False
    call = stmt.value
    return (
        (call.fn in ARITHMETIC or getattr(call.fn, "__module__", None) == "math")
        and not call.kwargs
        and kind(stmt.target) == SCALAR
        and all(kind(a) == SCALAR for a in call.args)
    )


def _ready_at(
    site: Site, loop: ir.Stmt, block: List[ir.Stmt], by_var: Dict[ir.Var, List[Site]]
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
            restore = next((s for s in block if isinstance(s, ir.Assign) and s.target == arg), None)
        if restore is None or not any(s is restore for s in block):
            return None
        ready = max(ready, next(k for k, s in enumerate(block) if s is restore) + 1)
    return ready


def shape_from_earliest(
    sweep: List[ir.Stmt], body: List[ir.Stmt], shape_keys: Dict[ir.Var, tuple]
) -> List[ir.Stmt]:
    """``unreduce(g, t10)`` reads ``t10`` only for its shape: read the first value of
    that shape instead, so the primal sweep may skip computing ``t10``."""
    earliest: Dict[tuple, ir.Var] = {}
    for stmt in body:
        if isinstance(stmt, ir.Assign) and stmt.target in shape_keys:
            earliest.setdefault(shape_keys[stmt.target], stmt.target)

    def substitute(stmts: List[ir.Stmt]) -> List[ir.Stmt]:
        out = []
        for stmt in stmts:
            call = stmt.value if isinstance(stmt, ir.Assign) else None
            if isinstance(call, ir.Call) and call.fn in _SHAPE_ONLY:
                like = call.args[1]
                same = earliest.get(shape_keys.get(like), like)
                call = dataclasses.replace(call, args=call.args[:1] + (same,) + call.args[2:])
                stmt = dataclasses.replace(stmt, value=call)
            blocks = ir.blocks_of(stmt)
            out.append(ir.with_blocks(stmt, tuple(map(substitute, blocks))) if blocks else stmt)
        return out

    return substitute(sweep)


def _statement_at(body: List[ir.Stmt], path: tuple) -> ir.Stmt:
    """The statement at ``path``: pairs of (position in the block, which block of it)."""
    stmt = None
    for k, b in path:
        stmt = body[k]
        blocks = ir.blocks_of(stmt)
        body = blocks[b] if b < len(blocks) else []
    return stmt


def _blocks_holding(body: List[ir.Stmt]) -> Dict[int, List[ir.Stmt]]:
    """For each statement of ``body`` (nested ones included), by id: the list that holds it
    (``body`` or a block of one of its statements); the first one if several do."""
    holding: Dict[int, List[ir.Stmt]] = {}
    for stmt in body:
        holding.setdefault(id(stmt), body)
    for stmt in body:
        for block in ir.blocks_of(stmt):
            for key, found in _blocks_holding(block).items():
                holding.setdefault(key, found)
    return holding
