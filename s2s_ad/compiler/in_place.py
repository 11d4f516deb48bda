"""Stage 5b: item writes in place where nothing can tell the difference.

Lowering turns every item write into a new value, ``y = updated(x, i, v)``
(a copy with the item replaced, JAX's ``x.at[i].set(v)``), so no statement,
saved value or adjoint ever reads an array that was overwritten after it was
read, and the caller's arrays are never changed.  The copy is wasted when the
old value is dead, and this pass writes into ``x`` itself
(``x[i] = v; y = x``) when

* ``x`` always holds an object this code allocated (every assignment to it
  is a call that returns a new object: arithmetic, a ufunc, ``updated``,
  ``zeros_like``, ...), never a parameter, a restored value or a loop item;
* no variable that may hold ``x``'s object or a part of it (``x``, copies of
  it, and results of calls that may return a view or an item of their
  arguments: indexing, reshapes, containers, anything not known to allocate)
  is live after the write, or ever pushed on a stack.  When ``y`` is ``x``
  itself (``u = updated(u, i, v)`` in a loop) its later reads read the new
  value and do not count.

A list grown as a value, ``t = appended(xs, v)`` (reverse mode's ``xs.append(v)``),
is appended to in place (``xs.append(v); t = xs``) on the same conditions, where ``xs``
always holds a list this code built (``[]``, ``appended(...)``, or a copy of such a
variable), so that a loop of appends is O(n), not O(n²); the variables that may hold
its object include those it was copied from.

Liveness is the textbook backward analysis on the structured IR, with loops
iterated to a fixed point and ``break`` jumping to the loop's exit; a nested
function (the pullback) reads everything it mentions where it is defined.

>>> x, y, t = ir.Var("x"), ir.Var("y"), ir.Var("t")
>>> body = [
...     ir.Assign(x, ir.Call(runtime.zeros_like, (ir.Var("a"),))),
...     ir.Assign(y, ir.Call(runtime.updated, (x, ir.Const(0), ir.Const(1.0)))),
...     ir.Return(y),
... ]
>>> [type(stmt).__name__ for stmt in write_in_place(body)]  # x[0] = 1.0; return x
['Assign', 'SetItem', 'Return']
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Dict, List, Set

import numpy as np

from .. import runtime
from ..rules.syntax import BINARY_OPERATORS, UNARY_OPERATORS
from . import ir

# Calls whose result is always a new object, never an argument or a part of one.
ALLOCATING = {
    runtime.updated,
    runtime.cleared,
    runtime.copy_of,
    runtime.owned_copy,
    runtime.zeros_like,
    runtime.ones_like,
    runtime.make_list,
    np.zeros,
    np.ones,
    np.empty,
    np.zeros_like,
    np.ones_like,
    np.full,
    np.copy,
} | {fn for fn in list(BINARY_OPERATORS) + list(UNARY_OPERATORS) if fn is not operator.getitem}


def write_in_place(body: List[ir.Stmt]) -> List[ir.Stmt]:
    """``body`` with the copies of dead values in ``updated`` and ``appended`` calls
    written in place."""
    writes = [s for s in ir.walk(body) if _is_update(s) or _is_append(s)]
    if not writes:  # the analyses below would find nothing to do
        return body
    owned = _owned(body)
    lists = _built_lists(body)
    # Liveness is a question about each variable alone: only those that may share an
    # object written in place are followed (all of them would make loops quadratic).
    candidates = [
        s.value.args[0] for s in writes if s.value.args[0] in (owned if _is_update(s) else lists)
    ]
    if not candidates:
        return body
    sharing = _sharing(body)
    copied_from = _copied_from(body)
    escaped = {s.value for s in ir.walk(body) if isinstance(s, ir.Push)}
    followed = set().union(
        *(sharing.get(a, {a}) for x in candidates for a in copied_from.get(x, {x}))
    )
    live_after: Dict[int, Set[ir.Var]] = {}  # by id of the update
    _live_in(body, set(), set(), live_after, followed)

    def elidable(stmt: ir.Assign) -> bool:
        x = stmt.value.args[0]
        if not (isinstance(x, ir.Var) and x in (lists if _is_append(stmt) else owned)):
            return False
        shares = set().union(*(sharing.get(a, {a}) for a in copied_from.get(x, {x})))
        later = live_after[id(stmt)] - {stmt.target}  # which holds the new value
        return not (shares & later) and not (shares & escaped)

    definitions = Counter(v for s in ir.walk(body) for v in ir.targets_written(s))
    uses = Counter(a for s in ir.walk(body) for a in ir.atoms_read(s))
    renamed: Dict[ir.Var, ir.Var] = {}

    def copied_back(stmt: ir.Assign, following: List[ir.Stmt]) -> bool:
        """``t = appended(xs, v)`` then ``xs = t``, ``t`` read nowhere else: after
        ``xs.append(v)`` neither is needed."""
        target, x = stmt.target, stmt.value.args[0]
        after = following[0] if following else None
        return (
            isinstance(after, ir.Assign)
            and (after.target, after.value) == (x, target)
            and definitions[target] == 1
            and uses[target] == 1
        )

    def rewrite(stmts: List[ir.Stmt]) -> List[ir.Stmt]:
        out: List[ir.Stmt] = []
        skip = None
        for k, original in enumerate(stmts):
            if original is skip:
                continue
            elide = (_is_update(original) or _is_append(original)) and elidable(original)
            stmt = ir.substitute(original, lambda a: renamed.get(a, a), deep=False)
            if elide:
                x, *where, value = stmt.value.args
                if where:
                    out.append(ir.SetItem(x, where[0], value, stmt.loc))
                else:
                    out.append(ir.Push(x, value, stmt.loc))
                if stmt.target == x:
                    continue
                if copied_back(original, stmts[k + 1 : k + 2]):
                    skip = stmts[k + 1]
                    continue
                if definitions[stmt.target] == 1 and definitions[x] == 1:
                    renamed[stmt.target] = x  # one object under one name from here on
                else:
                    out.append(ir.Assign(stmt.target, x, stmt.loc, stmt.note))
                continue
            if isinstance(stmt, ir.Function):
                body = rewrite(original.body)
                stmt = ir.Function(stmt.name, stmt.params, body, stmt.doc, stmt.loc)
            elif ir.blocks_of(stmt):
                stmt = ir.with_blocks(stmt, tuple(rewrite(b) for b in ir.blocks_of(original)))
            out.append(stmt)
        return out

    return rewrite(body)


def _is_update(stmt: ir.Stmt) -> bool:
    return (
        isinstance(stmt, ir.Assign)
        and isinstance(stmt.value, ir.Call)
        and stmt.value.fn is runtime.updated
    )


def _is_append(stmt: ir.Stmt) -> bool:
    return (
        isinstance(stmt, ir.Assign)
        and isinstance(stmt.value, ir.Call)
        and stmt.value.fn is runtime.appended
    )


def _built_lists(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables that always hold a list this code built: every assignment is ``[...]``,
    ``appended(...)`` or a copy of another such variable (never a parameter)."""
    sources: Dict[ir.Var, List[ir.Expr]] = {}
    for stmt in ir.walk(body):
        for var in ir.targets_written(stmt):
            value = stmt.value if isinstance(stmt, ir.Assign) else None
            sources.setdefault(var, []).append(value)
        if isinstance(stmt, ir.Function):
            for param in stmt.params:
                sources.setdefault(ir.Var(param.name), []).append(None)
    built = set(sources)
    changed = True
    while changed:  # the greatest fixed point: copies may go round a loop
        changed = False
        for var in list(built):
            if not all(_builds_list(value, built) for value in sources[var]):
                built.discard(var)
                changed = True
    return built


def _builds_list(value: object, built: Set[ir.Var]) -> bool:
    if isinstance(value, ir.Var):
        return value in built
    return isinstance(value, ir.Call) and value.fn in (runtime.make_list, runtime.appended)


def _copied_from(body: List[ir.Stmt]) -> Dict[ir.Var, Set[ir.Var]]:
    """For each variable, those joined to it by plain copies (``a = b``) either way: they
    may hold the same object."""
    neighbours: Dict[ir.Var, Set[ir.Var]] = {}
    for stmt in ir.walk(body):
        if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Var):
            neighbours.setdefault(stmt.target, set()).add(stmt.value)
            neighbours.setdefault(stmt.value, set()).add(stmt.target)
    joined: Dict[ir.Var, Set[ir.Var]] = {}
    for var in neighbours:
        if var in joined:
            continue
        group, todo = {var}, [var]
        while todo:
            for nxt in neighbours[todo.pop()]:
                if nxt not in group:
                    group.add(nxt)
                    todo.append(nxt)
        for member in group:
            joined[member] = group
    return joined


def _allocates(stmt: ir.Stmt) -> bool:
    value = stmt.value if isinstance(stmt, ir.Assign) else None
    return isinstance(value, ir.Call) and (value.fn in ALLOCATING or isinstance(value.fn, np.ufunc))


def _owned(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables every assignment of which allocates a new object."""
    always: Dict[ir.Var, bool] = {}
    for stmt in ir.walk(body):
        for var in ir.targets_written(stmt):
            always[var] = always.get(var, True) and _allocates(stmt)
        if isinstance(stmt, ir.Function):
            for param in stmt.params:
                always[ir.Var(param.name)] = False
    return {var for var, yes in always.items() if yes}


def _sharing(body: List[ir.Stmt]) -> Dict[ir.Var, Set[ir.Var]]:
    """For each variable, the variables that may hold its object or a part of it."""
    edges: Dict[ir.Var, Set[ir.Var]] = {}
    for stmt in ir.walk(body):
        if not isinstance(stmt, ir.Assign) or _allocates(stmt):
            continue
        value = stmt.value
        sources = [value] if isinstance(value, ir.Var) else []
        if isinstance(value, ir.Call):
            sources = [a for a in value.args + tuple(v for _, v in value.kwargs)]
        for source in sources:
            if isinstance(source, ir.Var):
                edges.setdefault(source, set()).add(stmt.target)
    closure: Dict[ir.Var, Set[ir.Var]] = {}
    for var in edges:
        seen, todo = {var}, [var]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        closure[var] = seen
    return closure


def _reads(stmt: ir.Stmt, followed: Set[ir.Var]) -> Set[ir.Var]:
    """The ``followed`` variables a simple statement reads (a nested function: all it
    mentions)."""
    if isinstance(stmt, ir.Function):
        inner = {a for s in ir.walk(stmt.body) for a in ir.atoms_read(s)}
        inner |= {p.default for p in stmt.params if p.default is not None}
        return inner & followed
    return {a for a in ir.atoms_read(stmt) if a in followed}


def _live_in(
    stmts: List[ir.Stmt],
    live: Set[ir.Var],
    at_break: Set[ir.Var],
    out: Dict[int, Set[ir.Var]],
    followed: Set[ir.Var],
) -> Set[ir.Var]:
    """The ``followed`` variables live before ``stmts`` given those live after them
    (``live``) and at the exit of the innermost loop (``at_break``); records each update's
    live-after.

    The set is updated in place, statement by statement (a copy for each would make the
    pass quadratic in a long block where many variables are live)."""
    live = set(live)
    for stmt in reversed(stmts):
        if _is_update(stmt) or _is_append(stmt):
            out[id(stmt)] = set(live)
        if isinstance(stmt, ir.Return):
            live = _reads(stmt, followed)
        elif isinstance(stmt, ir.Break):
            live = set(at_break)
        elif isinstance(stmt, ir.If):
            body = _live_in(stmt.body, live, at_break, out, followed)
            orelse = _live_in(stmt.orelse, live, at_break, out, followed)
            live = body | orelse | _reads(stmt, followed)
        elif isinstance(stmt, ir.For):
            live = _loop_head(stmt, live, out, followed) | _reads(stmt, followed)
        elif isinstance(stmt, ir.While):
            live = _loop_head(stmt, live, out, followed)
        else:
            if not isinstance(stmt, (ir.SetItem, ir.Accum)):
                live.difference_update(ir.targets_written(stmt))
            live |= _reads(stmt, followed)
    return live


def _loop_head(
    loop: ir.Stmt, after: Set[ir.Var], out: Dict[int, Set[ir.Var]], followed: Set[ir.Var]
) -> Set[ir.Var]:
    """What is live where each trip of ``loop`` starts: a fixed point over its trips."""
    head = set(after)
    while True:
        if isinstance(loop, ir.For):
            body = _live_in(loop.body, head, after, out, followed) - {loop.target}
            new = after | body
        else:  # while True: test; if not cond: break; body
            body = _live_in(loop.body, head, after, out, followed)
            cond = {loop.cond} & followed
            new = _live_in(loop.test, body | after | cond, after, out, followed)
        if new <= head:
            return head
        head |= new
