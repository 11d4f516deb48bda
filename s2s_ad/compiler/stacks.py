"""What reverse mode saves: values the primal sweep overwrites and the adjoint sweep reads.

A value that the adjoint sweep reads but the primal sweep overwrites (a loop
variable, a reassigned name; item writes are new values, ``a = updated(a, i, v)``,
so an array written into is a reassigned name) is pushed on ``stack`` just
before it is overwritten and popped back just after the adjoint of that
assignment, so every adjoint statement sees the values its primal statement
saw.  A ``while`` (or a loop left by ``break``) counts its trips; inside
another loop the count is pushed too.  Only what the adjoint sweep reads
back is saved.

:class:`Stacks` works in three steps around the writing of the adjoint sweep:

1. it indexes the primal body: each assignment is a :class:`Site` whose old
   value may be needed, with the pop that would restore it;
2. the adjoint sweep places every site's pop (:meth:`Stacks.pop_after`) and
   every trip count's (:meth:`Stacks.trip_count_pop`);
3. with the sweep written, :meth:`Stacks.settle` drops the pops of values it
   does not read back, and :meth:`Stacks.instrumented` writes the primal sweep
   with the pushes of those that remain.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Collection, Dict, List, Optional, Set, Tuple

from .. import runtime
from . import ir

# The primal sweep of a statement the stacks do not instrument themselves (a
# checkpointed loop), given how to instrument a block; None for any other.
PrimalLoop = Callable[[ir.Stmt, Callable[[List[ir.Stmt]], List[ir.Stmt]]], Optional[List[ir.Stmt]]]


@dataclass
class Site:
    """An assignment whose old value the adjoint sweep may need back."""

    stmt: ir.Stmt
    var: ir.Var
    pop: ir.Stmt  # the statement restoring it, placed in the adjoint sweep
    in_loop: bool
    path: tuple  # pairs of (position in the block, which block of it), from the top level


class Stacks:
    """The sites of one function's primal body, and the pushes and pops that save them."""

    def __init__(self, fn: ir.Function, names: ir.Names, params: Collection[ir.Var]):
        """Index ``fn`` (whose body ends with its one ``return``); ``params`` are the
        variables holding the parameters, bound from the start."""
        self.fn = fn
        self.names = names
        self.params = params
        self.stack = ir.Var(names.claim("stack"))
        self.sites: Dict[int, Site] = {}  # by id of the assignment
        self.counters: Dict[int, ir.Var] = {}  # loop id -> its trip counter
        self.in_loop: Dict[int, bool] = {}  # structured statement id -> inside a loop
        self.reads_outside: Dict[int, UsedOutside] = {}  # the same -> what code outside uses
        self._uses: Optional[Counter] = None  # variable -> how many statements use it
        self.top_index: Dict[ir.Var, int] = {}  # first top-level assignment of each variable
        self.kept: Dict[int, Site] = {}  # the sites saved, once settled
        self._index_sites(fn.body[:-1], (), False)
        self.by_var: Dict[ir.Var, List[Site]] = {}
        for site in self.sites.values():
            self.by_var.setdefault(site.var, []).append(site)

    # ------------------------------------------------------ the primal body

    def _index_sites(self, stmts: List[ir.Stmt], path: tuple, in_loop: bool) -> None:
        """Find the assignments that may overwrite a value the adjoint sweep needs."""
        for k, stmt in enumerate(stmts):
            here = path + ((k, 0),)
            if not path:
                for var in ir.targets_written(stmt):
                    self.top_index.setdefault(var, k)
            if isinstance(stmt, ir.Assign) and not isinstance(stmt.value, ir.Load):
                pop = ir.Pop(stmt.target, self.stack, stmt.loc)
                self.sites[id(stmt)] = Site(stmt, stmt.target, pop, in_loop, here)
            if isinstance(stmt, (ir.For, ir.While, ir.If)):
                self.in_loop[id(stmt)] = in_loop
                self.reads_outside[id(stmt)] = self._reads_outside(stmt)
                loop = isinstance(stmt, (ir.For, ir.While))
                if loop and (isinstance(stmt, ir.While) or _breaks(stmt.body)):
                    self.counters[id(stmt)] = ir.Var(self.names.claim("trips"))
                for b, block in enumerate(ir.blocks_of(stmt)):
                    self._index_sites(block, path + ((k, b),), in_loop or loop)

    def _reads_outside(self, stmt) -> UsedOutside:
        """Variables read or assigned outside ``stmt`` (their adjoint lives on after it)."""
        if self._uses is None:
            self._uses = _statements_using(self.fn.body)
        own = {a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var)}
        return UsedOutside(self._uses, _statements_using([stmt]), own)

    def bound_throughout(self, var: ir.Var) -> bool:
        """Whether ``var`` is a parameter or assigned at the top level, outside control flow."""
        return var in self.params or var in self.top_index

    def bound_at(self, var: ir.Var, position: int) -> bool:
        """Whether ``var`` surely has a value when top-level statement ``position`` runs."""
        if var in self.params:
            return True
        first = self.top_index.get(var)
        return first is not None and first < position

    # ------------------------------------------------------ the adjoint sweep

    def pop_after(self, stmt: ir.Stmt) -> Optional[ir.Stmt]:
        """What restores the value ``stmt`` overwrites, placed after its adjoint."""
        site = self.sites.get(id(stmt))
        return site.pop if site is not None else None

    def trip_counter(self, loop: ir.Stmt) -> Optional[ir.Var]:
        """The variable counting the trips of ``loop``, if its trips must be counted."""
        return self.counters.get(id(loop))

    def trip_count_pop(self, loop: ir.Stmt) -> Optional[ir.Pop]:
        """Restores the trip count of a counted loop inside another, before its adjoint."""
        counter = self.counters.get(id(loop))
        if counter is None or not self.in_loop.get(id(loop)):
            return None
        return ir.Pop(counter, self.stack, loop.loc)

    def settle(self, sweep: List[ir.Stmt]) -> Set[ir.Var]:
        """Keep the sites whose old values ``sweep`` reads back; drop the other pops.

        Returns the variables the first push may find unbound (the primal sweep binds
        them to None first).
        """
        while True:  # dropping a pop can empty a reversed `if`, which then reads nothing
            kept = self._read_back(sweep)
            drop = {id(s.pop) for s in self.sites.values() if id(s.stmt) not in kept}
            unread = _drop(sweep, drop, set(self.counters.values()))
            if not any(s.var in unread for s in kept.values()):
                break  # the sweep reads what it read, but for no kept pop's variable
        self.kept = kept
        return {s.var for s in kept.values() if not self.bound_at(s.var, s.path[0][0])}

    def _read_back(self, sweep: List[ir.Stmt]) -> Dict[int, Site]:
        """The sites whose pops ``sweep`` reads after, and that overwrite a value."""
        later, needed = _read_after_pops(sweep)
        kept: Dict[int, Site] = {}
        for var, sites in self.by_var.items():
            if var not in needed:
                continue
            for site in sites:
                restores = (
                    site.in_loop
                    or var in self.params  # the argument came first
                    or any(_may_precede(o, site) for o in sites)
                )
                if restores and later.get(id(site.pop), False):
                    kept[id(site.stmt)] = site
        return kept

    @property
    def uses_stack(self) -> bool:
        """Whether the settled sweeps push anything: values, or trip counts of inner loops."""
        return bool(self.kept) or any(self.in_loop.get(i) for i in self.counters)

    def restored(self) -> Set[ir.Var]:
        """What the settled adjoint sweep rebinds or writes into, the stack included."""
        restored = {s.var for s in self.kept.values()}
        if self.uses_stack:
            restored.add(self.stack)
        return restored

    # ------------------------------------------------------ the primal sweep

    def prologue(self, unbound: Set[ir.Var]) -> List[ir.Stmt]:
        """The primal sweep's first statements: the stack, and ``v = None`` for ``unbound``."""
        out: List[ir.Stmt] = []
        if self.uses_stack:
            out.append(ir.Assign(self.stack, ir.Call(runtime.make_list, ())))
        for var in sorted(unbound, key=str):
            out.append(ir.Assign(var, ir.Const(None)))
        return out

    def instrumented(self, stmts: List[ir.Stmt], primal_loop: PrimalLoop) -> List[ir.Stmt]:
        """``stmts`` with the pushes and trip counts of the settled sites."""
        out: List[ir.Stmt] = []
        for stmt in stmts:
            own = primal_loop(stmt, lambda b: self.instrumented(b, primal_loop))
            if own is not None:
                out += own
                continue
            site = self.kept.get(id(stmt))
            if site is not None:
                out.append(ir.Push(self.stack, site.var, stmt.loc))
            counter = self.counters.get(id(stmt))
            save_count = counter is not None and self.in_loop.get(id(stmt))
            blocks = ir.blocks_of(stmt)
            if blocks:
                blocks = tuple(self.instrumented(b, primal_loop) for b in blocks)
                if counter is not None:
                    count = ir.Assign(counter, ir.Call(operator.add, (counter, ir.Const(1))))
                    blocks = blocks[:-1] + ([count] + blocks[-1],)
                    out.append(ir.Assign(counter, ir.Const(0), stmt.loc))
                stmt = ir.with_blocks(stmt, blocks)
            out.append(stmt)
            if save_count:
                out.append(ir.Push(self.stack, counter, stmt.loc))
        return out


# ------------------------------------------------------------------ helpers


class UsedOutside:
    """The variables that statements outside a structured statement read or assign, plus
    those its own header reads: ``var in used`` in constant time, from counts of the
    statements using each variable, in the whole body and inside the statement."""

    def __init__(self, everywhere: Counter, inside: Counter, own: Set[ir.Var]):
        self.everywhere, self.inside, self.own = everywhere, inside, own

    def __contains__(self, var: object) -> bool:
        return var in self.own or self.everywhere[var] > self.inside[var]


def _statements_using(body: List[ir.Stmt]) -> Counter:
    """For each variable, how many statements of ``body`` (nested ones included, each
    statement object once) read or assign it."""
    counts: Counter = Counter()
    seen: Set[int] = set()
    for s in ir.walk(body):
        if id(s) not in seen:
            seen.add(id(s))
            used = {a for a in ir.atoms_read(s) if isinstance(a, ir.Var)}
            counts.update(used.union(ir.targets_written(s)))
    return counts


def sweep_reads(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables the statements read, not counting the stack's own pops."""
    return {
        a
        for s in ir.walk(body)
        if not isinstance(s, ir.Pop)
        for a in ir.atoms_read(s)
        if isinstance(a, ir.Var)
    }


def _breaks(body: List[ir.Stmt]) -> bool:
    """Whether a loop body may ``break`` (breaks of nested loops excluded)."""
    for stmt in body:
        if isinstance(stmt, ir.Break):
            return True
        if isinstance(stmt, ir.If) and (_breaks(stmt.body) or _breaks(stmt.orelse)):
            return True
    return False


def _may_precede(other: Site, site: Site) -> bool:
    """Whether ``other`` can run before ``site`` (and so leave a value it overwrites)."""
    if other is site:
        return False
    for (k1, b1), (k2, b2) in zip(other.path, site.path):
        if k1 != k2:
            return k1 < k2
        if b1 != b2:
            return False  # two branches of one `if`
    return len(other.path) < len(site.path)


def _read_after_pops(sweep: List[ir.Stmt]) -> Tuple[Dict[int, bool], Set[ir.Var]]:
    """For each pop: whether the variable it restores is read after it runs (later in its
    blocks, or anywhere in a loop around it, which runs again); and what the sweep reads
    (:func:`sweep_reads`).

    One backward scan per block: ``later`` holds what the rest of the block reads, and
    the reads after an enclosing statement are a chain of such sets, so no set is copied.
    A pop not read after it waits for what the loops around it read, known once their
    blocks are scanned: no loop is walked again for it.

    >>> x, s = ir.Var("x"), ir.Var("stack")
    >>> pop = ir.Pop(x, s)
    >>> loop = ir.For(ir.Var("i"), ir.Var("n"), [ir.Accum(ir.Var("y"), x), pop])
    >>> read_after, reads = _read_after_pops([loop])
    >>> read_after[id(pop)], sorted(v.name for v in reads)
    (True, ['n', 'x', 'y'])
    """
    result: Dict[int, bool] = {}

    def visit(body: List[ir.Stmt], after_block: List[Set[ir.Var]], waiting: list) -> Set[ir.Var]:
        later: Set[ir.Var] = set()
        chain = after_block + [later]
        for stmt in reversed(body):
            if isinstance(stmt, ir.Pop):
                result[id(stmt)] = any(stmt.target in reads for reads in chain)
                if not result[id(stmt)]:
                    waiting.append(stmt)  # read in a loop around it?
            blocks = ir.blocks_of(stmt)
            if blocks:
                if isinstance(stmt, (ir.For, ir.While)):
                    inside: list = []
                    nested = [visit(block, chain, inside) for block in blocks]
                    reads = set().union(*nested)
                    reads.update(a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var))
                    for pop in inside:
                        if pop.target in reads:
                            result[id(pop)] = True
                        else:
                            waiting.append(pop)  # an outer loop may read it
                else:
                    nested = [visit(block, chain, waiting) for block in blocks]
                later.update(*nested)  # the blocks are not each other's later
            if not isinstance(stmt, ir.Pop):
                later.update(a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var))
        return later

    reads = visit(sweep, [], [])
    return result, reads


def _drop(body: List[ir.Stmt], drop: Set[int], counters: Set[ir.Var]) -> Set[ir.Var]:
    """Remove the pops in ``drop``, then reversed branches and loops left with nothing to do;
    returns what the headers of those that went read (the sweep no longer does there)."""
    unread: Set[ir.Var] = set()
    k = 0
    while k < len(body):
        stmt = body[k]
        if id(stmt) in drop:
            del body[k]
            continue
        for block in ir.blocks_of(stmt):
            unread |= _drop(block, drop, counters)
        if isinstance(stmt, (ir.If, ir.For)) and not any(ir.blocks_of(stmt)):
            unread.update(a for a in ir.atoms_read(stmt) if isinstance(a, ir.Var))
            del body[k]
            previous = body[k - 1] if k > 0 else None
            if (
                isinstance(stmt, ir.For)
                and isinstance(previous, ir.Pop)
                and previous.target in counters
            ):
                del body[k - 1]  # the trip count it would have read
                k -= 1
            continue
        k += 1
    return unread
