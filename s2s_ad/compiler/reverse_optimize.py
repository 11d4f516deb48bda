"""Reverse mode's optimisations of the sweeps it writes (``optimize=True`` only).

The adjoint rules give correct sweeps on their own; these make them cheaper:

* :func:`rematerialize` recomputes a loop's cheap scalar temporaries in the
  adjoint sweep instead of pushing them on the stack in the primal sweep;
* :func:`shape_from_earliest` lets helpers that read an array only for its
  shape (``unreduce(g, t10)``) read the earliest array of that shape key, so
  the primal sweep need not keep ``t10``.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections import Counter
from typing import Callable, Dict, List, Optional, Set, Tuple

from ..rules import SCALAR, Kind
from ..runtime import arrays
from . import ir
from .stacks import Site, Stacks, sweep_reads
from .templates import ARITHMETIC

# Helpers that read their second argument only for its shape and dtype.
_SHAPE_ONLY = {arrays.unreduce, arrays.unreduce_mean}

_LAST = (float("inf"),)  # an order key after every other
_NONE = (_LAST, None)  # no first assignment


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
    place; returns the variables recomputed.  Each statement is looked at a
    bounded number of times: the blocks of the sweep are :class:`_Order` s.
    """
    readers: Dict[ir.Var, List[ir.Stmt]] = {}
    for stmt in ir.walk(body):
        for var in {a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var)}:
            readers.setdefault(var, []).append(stmt)
    context = _Context(body, stacks)
    holding = _blocks_holding(sweep)  # statements stay in their lists as pops move
    orders: Dict[int, _Order] = {}  # by id of the block
    recomputed: Set[ir.Var] = set()
    for site in sorted(stacks.sites.values(), key=lambda s: s.path):
        if not _cheap(site.stmt, kind) or len(stacks.by_var[site.var]) != 1:
            continue
        loop = _loop_around(body, site, readers.get(site.var, []), context)
        if loop is None:
            continue
        block = holding.get(id(site.pop))
        if block is None:
            continue
        order = orders.get(id(block))
        if order is None:
            order = orders[id(block)] = _Order(block)
        ready = _ready_at(site, loop, order, context)
        first_read = order.first_reading(site.var)
        if ready is None or first_read is None or first_read <= ready:
            continue  # unread (its pop goes anyway), or read before it could be redone
        if ready and order.key_of(site.pop) < ready:
            # as `block.remove(pop); block.insert(ready, ...)`: one place further on
            ready = order.next_key(ready)
        order.remove(site.pop)
        order.insert_after(ready, ir.Assign(site.var, site.stmt.value, site.stmt.loc))
        recomputed.add(site.var)
    for order in orders.values():
        order.write_back()
    return recomputed


class _Context:
    """What :func:`rematerialize` asks of the primal body, each found in one pass: where
    each statement is (its paths, as :attr:`Site.path`), what each loop writes, and
    the sites of each variable by the block holding them."""

    def __init__(self, body: List[ir.Stmt], stacks: Stacks):
        self.paths: Dict[int, List[tuple]] = {}  # by id of the statement
        self._index(body, ())
        self._written: Dict[int, Counter] = {}  # by id of the loop
        self.sites_in_block: Dict[tuple, List[Site]] = {}  # (variable, path of the block)
        for site in stacks.sites.values():
            self.sites_in_block.setdefault((site.var, site.path[:-1]), []).append(site)

    def _index(self, stmts: List[ir.Stmt], path: tuple) -> None:
        for k, stmt in enumerate(stmts):
            self.paths.setdefault(id(stmt), []).append(path + ((k, 0),))
            for b, block in enumerate(ir.blocks_of(stmt)):
                self._index(block, path + ((k, b),))

    def written_in(self, loop: ir.Stmt) -> Counter:
        """How many statements of ``loop``'s body write each variable."""
        written = self._written.get(id(loop))
        if written is None:
            written = Counter(v for s in ir.walk(loop.body) for v in ir.targets_written(s))
            self._written[id(loop)] = written
        return written

    def inside(self, stmt: ir.Stmt, body_path: tuple, position: int) -> bool:
        """Whether ``stmt`` is in ``loop.body[position:]`` (``body_path``: the path of the
        loop with the block of its body last)."""
        depth = len(body_path)
        return any(
            path[:depth] == body_path and len(path) > depth and path[depth][0] >= position
            for path in self.paths.get(id(stmt), ())
        )


class _Order:
    """A block of the adjoint sweep whose statements move: an order key for each (a tuple;
    a statement put after another gets that one's key extended), the first reader and the
    first assignment of each variable, and the block written back once at the end."""

    def __init__(self, block: List[ir.Stmt]):
        self.block = block
        self.keys: Dict[int, tuple] = {}  # by id of the statement present
        self.by_key: Dict[tuple, ir.Stmt] = {}
        self.sorted_keys: List[tuple] = [(k,) for k in range(len(block))]
        self.first_reader: Dict[ir.Var, tuple] = {}  # variable -> the key of its first reader
        self.first_assign: Dict[ir.Var, Tuple[tuple, ir.Stmt]] = {}  # the same, assignments
        self.inserted_after: Dict[tuple, int] = {}
        self.changed = False
        for key, stmt in zip(self.sorted_keys, block):  # in order: the first seen is first
            self.keys[id(stmt)] = key
            self.by_key[key] = stmt
            for var in _reads(stmt):
                self.first_reader.setdefault(var, key)
            if isinstance(stmt, ir.Assign):
                self.first_assign.setdefault(stmt.target, (key, stmt))

    def _index(self, stmt: ir.Stmt, key: tuple) -> None:
        """Give ``stmt`` its key; it may be the first reader or assignment of a variable
        (statements are removed only if they read nothing the sweep counts: pops)."""
        self.keys[id(stmt)] = key
        self.by_key[key] = stmt
        for var in _reads(stmt):
            if key < self.first_reader.get(var, _LAST):
                self.first_reader[var] = key
        if isinstance(stmt, ir.Assign) and key < self.first_assign.get(stmt.target, _NONE)[0]:
            self.first_assign[stmt.target] = (key, stmt)

    def key_of(self, stmt: ir.Stmt) -> Optional[tuple]:
        """The order key of ``stmt``, None if the block does not hold it."""
        return self.keys.get(id(stmt))

    def first_reading(self, var: ir.Var) -> Optional[tuple]:
        """The key of the first statement reading ``var`` (nested bodies included)."""
        return self.first_reader.get(var)

    def first_assign_to(self, var: ir.Var) -> Optional[ir.Stmt]:
        """The first assignment ``var = ...`` of the block."""
        return self.first_assign.get(var, _NONE)[1]

    def next_key(self, key: tuple) -> tuple:
        """The key of the statement after the one of ``key``; ``key`` for the last."""
        at = bisect.bisect_right(self.sorted_keys, key)
        return self.sorted_keys[at] if at < len(self.sorted_keys) else key

    def remove(self, stmt: ir.Stmt) -> None:
        """Take out ``stmt`` (a pop: it reads nothing the sweep counts)."""
        key = self.keys.pop(id(stmt))
        del self.by_key[key]
        del self.sorted_keys[bisect.bisect_left(self.sorted_keys, key)]
        self.changed = True

    def insert_after(self, key: tuple, stmt: ir.Stmt) -> None:
        """Put ``stmt`` right after the statement of ``key`` (first for the empty key), as
        ``block.insert(index + 1, stmt)`` would."""
        count = self.inserted_after[key] = self.inserted_after.get(key, 0) + 1
        new_key = key + (1, -count) if key else (-1, -count)
        bisect.insort(self.sorted_keys, new_key)
        self._index(stmt, new_key)
        self.changed = True

    def write_back(self) -> None:
        if self.changed:
            self.block[:] = [self.by_key[key] for key in self.sorted_keys]


def _reads(stmt: ir.Stmt) -> Set[ir.Var]:
    """:func:`~.stacks.sweep_reads` of one statement, without a walk for a simple one."""
    if isinstance(stmt, ir.Pop):
        return set()  # the stack's own pops are not counted
    if ir.blocks_of(stmt):
        return sweep_reads([stmt])
    return {a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var)}


def _loop_around(
    body: List[ir.Stmt], site: Site, readers: List[ir.Stmt], context: _Context
) -> Optional[ir.Stmt]:
    """The loop whose body holds ``site`` at its top level, if the temporary lives
    only inside that body, after ``site`` (``readers``: the statements reading it)."""
    if not site.in_loop or len(site.path) < 2 or site.path[-1][1] != 0:
        return None
    loop = _statement_at(body, site.path[:-1])
    if not isinstance(loop, (ir.For, ir.While)):
        return None
    position = site.path[-1][0]
    body_block = 1 if isinstance(loop, ir.While) else 0  # a while loop's test comes first
    body_path = site.path[:-2] + ((site.path[-2][0], body_block),)
    if any(not context.inside(s, body_path, position) or s is site.stmt for s in readers):
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


def _ready_at(site: Site, loop: ir.Stmt, order: _Order, context: _Context) -> Optional[tuple]:
    """The order key of the statement after which every operand of ``site`` again holds the
    value it had at ``site`` (the empty key: from the start of the reversed body), or None
    if some operand never does."""
    position = site.path[-1][0]
    written_in_loop = context.written_in(loop)
    ready: tuple = ()
    for arg in ir.expr_atoms(site.stmt.value):
        if not isinstance(arg, ir.Var) or not written_in_loop[arg]:
            continue  # a constant, or invariant in the loop
        if isinstance(loop, ir.For) and arg == loop.target:
            continue  # the reversed loop runs over the same indices
        if written_in_loop[arg] != 1:
            return None
        sites = context.sites_in_block.get((arg, site.path[:-1]), [])
        if len(sites) != 1:
            return None
        restore = sites[0].pop if sites[0].path[-1][0] > position else None
        if restore is None:  # written earlier in the body: a temporary recomputed before
            restore = order.first_assign_to(arg)
        key = order.key_of(restore) if restore is not None else None
        if key is None:
            return None
        ready = max(ready, key)
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

    def visit(block: List[ir.Stmt]) -> None:
        for stmt in block:
            holding.setdefault(id(stmt), block)
        for stmt in block:
            for inner in ir.blocks_of(stmt):
                visit(inner)

    visit(body)
    return holding
