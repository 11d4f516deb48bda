"""Stage 5: clean the emitted IR the way a careful person would.

Six passes, each a function from a body to a body:

* :func:`propagate_copies` -- ``t0 = load('x')`` and ``t7 = t3`` disappear;
  their uses read ``x`` and ``t3`` directly;
* :func:`share_common_subexpressions` -- a pure call computed twice with the
  same arguments is computed once, also across the primal and adjoint sweeps
  (:func:`optimize` runs these first two as one sweep);
* :func:`forward_block_copies` -- ``dt3 = dresult`` in a loop body goes
  when ``dt3`` is read only before ``dresult`` is next written;
* :func:`eliminate_dead_code` -- pure statements whose results nobody reads,
  in loops and branches too;
* :func:`~s2s_ad.compiler.in_place.write_in_place` -- ``y = updated(x, i, v)``
  becomes ``x[i] = v`` where the old value of ``x`` is dead;
* :func:`assign_directly` -- ``dt8 = ddA + dt7; ddA = dt8`` becomes
  ``ddA = ddA + dt7``.

Constant folding and algebraic simplification happen earlier, while rule
templates are instantiated (:mod:`s2s_ad.compiler.templates`).
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import AbstractSet, Callable, Dict, List, Optional, Sequence, Set, Tuple

from .. import rules, runtime
from . import ir
from .in_place import write_in_place


def optimize(fn: ir.Function, temporaries: AbstractSet[str] = frozenset()) -> ir.Function:
    """All passes, in order; ``temporaries`` are those the emitter may fold into their use."""
    params = [ir.Var(p.name) for p in fn.params]
    body = _propagate_and_share(fn.body, params, copies=True, common=True)
    body = forward_block_copies(body)
    body = eliminate_dead_code(body)
    body = write_in_place(body)
    body = assign_directly(body, temporaries)
    return ir.Function(fn.name, fn.params, body, fn.doc, fn.loc)


def mutable_vars(body: List[ir.Stmt], params: Sequence[ir.Var] = ()) -> Set[ir.Var]:
    """Variables written more than once (accumulated adjoints, loop variables),
    written inside a loop, or written into (``x[i] = v``).  Parameters count as
    written once, on entry."""
    writes: Counter = Counter(params)

    def visit(stmts: List[ir.Stmt], in_loop: bool) -> None:
        for stmt in stmts:
            for var in ir.targets_written(stmt):
                mutated = isinstance(stmt, (ir.SetItem, ir.Pop, ir.For)) or in_loop
                writes[var] += 2 if mutated else 1
            if isinstance(stmt, (ir.Push, ir.Pop)):
                writes[stmt.stack] += 2
            if isinstance(stmt, ir.Function):
                writes.update(ir.Var(p.name) for p in stmt.params)
            for block in ir.blocks_of(stmt):
                visit(block, in_loop or isinstance(stmt, (ir.For, ir.While)))

    visit(body, False)
    return {var for var, count in writes.items() if count > 1}


def propagate_copies(body: List[ir.Stmt], params: Sequence[ir.Var] = ()) -> List[ir.Stmt]:
    """``t0 = load('x')`` and ``t7 = t3`` go; their uses read ``x`` and ``t3`` directly."""
    return _propagate_and_share(body, params, copies=True, common=False)


def share_common_subexpressions(
    body: List[ir.Stmt], params: Sequence[ir.Var] = ()
) -> List[ir.Stmt]:
    """A pure call made twice with the same arguments is made once."""
    return _propagate_and_share(body, params, copies=False, common=True)


def _propagate_and_share(
    body: List[ir.Stmt], params: Sequence[ir.Var], copies: bool, common: bool
) -> List[ir.Stmt]:
    """Copy propagation and common subexpressions in one sweep over the statements.

    Running them one after the other gives the same code (dropping copies of
    variables written once changes no other variable's count of writes), but
    rebuilds every statement twice.
    """
    mutable = mutable_vars(body, params)
    replace: Dict[ir.Var, ir.Atom] = {}

    def resolve(atom: ir.Atom) -> ir.Atom:
        while atom.__class__ is ir.Var and atom in replace:
            atom = replace[atom]
        return atom

    def visit(stmts: List[ir.Stmt], available: Dict[tuple, ir.Var]) -> List[ir.Stmt]:
        kept = []
        for stmt in stmts:
            if isinstance(stmt, ir.Function):
                inner = visit(stmt.body, dict(available))
                kept.append(ir.Function(stmt.name, stmt.params, inner, stmt.doc, stmt.loc))
                continue
            stmt = ir.substitute(stmt, resolve)
            if copies:
                source = _copied(stmt, mutable)
                if source is not None:
                    if source != stmt.target:
                        replace[stmt.target] = source
                    continue
            key = _call_key(stmt, mutable) if common else None
            if key is not None:
                if key in available:
                    replace[stmt.target] = available[key]
                    continue
                available[key] = stmt.target
            kept.append(stmt)
        return kept

    return visit(body, {})


def _copied(stmt: ir.Stmt, mutable: Set[ir.Var]):
    """What ``stmt`` copies, if it is a copy its readers may read instead: a
    variable's load, a constant, or another variable written once."""
    if not isinstance(stmt, ir.Assign) or stmt.target in mutable:
        return None
    value = stmt.value
    if isinstance(value, ir.Load) and value.home is None:
        return ir.Var(value.name)
    if isinstance(value, ir.Const) or (isinstance(value, ir.Var) and value not in mutable):
        return value
    return None


def _call_key(stmt: ir.Stmt, mutable: Set[ir.Var]):
    if not (isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Call)):
        return None
    call = stmt.value
    if stmt.target in mutable or not rules.is_pure(call.fn) or call.fn in _NOT_SHARED:
        return None
    if call.fn in _ALLOCATING:  # a new container, which add_at may write into in place
        return None
    if any(a in mutable for a in ir.expr_atoms(call)):
        return None
    args = call.args
    if call.fn in _COMMUTATIVE and len(args) == 2:
        args = tuple(sorted(args, key=repr))
    return (id(call.fn), args, call.kwargs)


# The steps of a loop and of its reversed loop are each written where they
# are used (`for i in range(k)`, `for i in reversed(range(k))`).
_NOT_SHARED = {range}

# a * b and b * a are one value (the order of a product of floats does not
# change its rounding).
_COMMUTATIVE = {operator.add, operator.mul}


def forward_block_copies(body: List[ir.Stmt]) -> List[ir.Stmt]:
    """Drop copies ``a = b`` of variables that are written again later.

    :func:`propagate_copies` keeps them, since ``b`` changes.  Within one
    block, though, ``a`` can read ``b`` until ``b`` is next written (that
    statement included: it reads before it writes), provided ``a`` is
    written nowhere else and read nowhere else.  Self-copies ``b = b`` go too.
    """
    writes, reads = _writes_and_reads(body)

    def visit(stmts: List[ir.Stmt]) -> List[ir.Stmt]:
        stmts = [_with_blocks_visited(s, visit) for s in stmts]
        k = 0
        while k < len(stmts):
            stmt = stmts[k]
            if _is_copy(stmt) and stmt.target == stmt.value:
                del stmts[k]
                continue
            if _is_copy(stmt) and writes[stmt.target] == 1 and _forward(stmts, k, reads):
                del stmts[k]
                continue
            k += 1
        return stmts

    return visit(body)


def _writes_and_reads(body: List[ir.Stmt]) -> Tuple[Counter, Counter]:
    """How often each variable is written, and how often read, in ``body``."""
    writes: Dict[ir.Var, int] = {}
    reads: Dict[ir.Var, int] = {}
    for stmt in ir.walk(body):
        for var in ir.targets_written(stmt):
            writes[var] = writes.get(var, 0) + 1
        for atom in ir.atoms_read(stmt):
            if atom.__class__ is ir.Var:
                reads[atom] = reads.get(atom, 0) + 1
    return Counter(writes), Counter(reads)


def _with_blocks_visited(stmt: ir.Stmt, visit: Callable) -> ir.Stmt:
    """``stmt``, with ``visit`` applied to each of its nested blocks, if it has any."""
    blocks = ir.blocks_of(stmt)
    if not blocks:
        return stmt
    return ir.with_blocks(stmt, tuple(visit(block) for block in blocks))


def _is_copy(stmt: ir.Stmt) -> bool:
    return stmt.__class__ is ir.Assign and stmt.value.__class__ is ir.Var


def _forward(stmts: List[ir.Stmt], k: int, reads: Counter) -> bool:
    """Replace the reads of ``stmts[k]``'s target by its source, if all may be; say if done."""
    copy, source = stmts[k].target, stmts[k].value
    seen = 0
    for j in range(k + 1, len(stmts)):
        stmt = stmts[j]
        nested = [a for b in ir.blocks_of(stmt) for s in ir.walk(b) for a in ir.atoms_read(s)]
        if copy in nested:
            return False
        seen += sum(1 for a in ir.atoms_read(stmt) if a == copy)
        written = {v for s in ir.walk([stmt]) for v in ir.targets_written(s)}
        restores = isinstance(stmt, ir.Assign) and stmt.value == copy  # `b = a`: b keeps its value
        if (source in written and not restores) or seen == reads[copy]:
            break
    if seen != reads[copy]:
        return False
    for j in range(k + 1, len(stmts)):
        if not reads[copy]:
            break
        count = sum(1 for a in ir.atoms_read(stmts[j]) if a == copy)
        if count:
            stmts[j] = ir.substitute(stmts[j], lambda a: source if a == copy else a, deep=False)
            reads[copy] -= count
            reads[source] += count
    return True


def assign_directly(
    body: List[ir.Stmt], temporaries: AbstractSet[str] = frozenset()
) -> List[ir.Stmt]:
    """Drop copies ``y = t`` of a value computed only to be copied: its statement writes ``y``.

    ``t`` must be written once and read only by the copy, in the same block;
    the statements between them (their nested bodies too) must neither read
    nor write ``y``, nor call a closure, which might read it.  This is the
    tangent of ``dA += g`` in forward-over-reverse code, ``dt8 = ddA + dt7;
    ddA = dt8``, and of ``result = result * A`` in a loop.  A call into one
    of the ``temporaries`` stays where it is: the emitter folds it into the
    copy, which then shows no copy.
    """
    writes, reads = _writes_and_reads(body)

    def visit(stmts: List[ir.Stmt]) -> List[ir.Stmt]:
        stmts = [_with_blocks_visited(s, visit) for s in stmts]
        defined: Dict[ir.Var, int] = {}  # variable -> index of its statement in this block
        k = 0
        while k < len(stmts):
            stmt = stmts[k]
            source = stmt.value if _is_copy(stmt) else None
            j = defined.get(source) if source is not None else None
            if j is not None and source.name in temporaries and _is_call(stmts[j]):
                j = None  # printed as `y = call(...)` already
            if j is not None and writes[source] == reads[source] == 1:
                if _untouched(stmts[j + 1 : k], stmt.target):
                    stmts[j] = _retargeted(stmts[j], stmt.target)
                    defined[stmt.target] = j
                    del stmts[k]
                    continue
            if isinstance(stmt, (ir.Assign, ir.Pop)):
                defined[stmt.target] = k
            k += 1
        return stmts

    return visit(body)


def _is_call(stmt: ir.Stmt) -> bool:
    return isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Call)


def _untouched(between: List[ir.Stmt], var: ir.Var) -> bool:
    """Whether ``between`` neither reads nor writes ``var`` (nor calls a closure)."""
    for stmt in ir.walk(between):
        if isinstance(stmt, ir.Function) or var in ir.atoms_read(stmt):
            return False
        if var in _changes(stmt):
            return False
        value = getattr(stmt, "value", None)
        if isinstance(value, ir.Call) and isinstance(value.fn, ir.Var):
            return False
    return True


def _retargeted(stmt: ir.Stmt, target: ir.Var) -> ir.Stmt:
    if isinstance(stmt, ir.Pop):
        return ir.Pop(target, stmt.stack, stmt.loc)
    return ir.Assign(target, stmt.value, stmt.loc, stmt.note)


def eliminate_dead_code(body: List[ir.Stmt]) -> List[ir.Stmt]:
    """Drop statements whose effects nobody needs, in loops and branches too.

    Mark and sweep: a statement is needed if it has an effect of its own
    (a return, an impure call, control flow, a write into a value that may be
    shared) or writes a variable that a needed statement reads.  Writes into
    a container the code itself allocated (``dx = zeros_like(x)``,
    ``stack = []``) are as dead as the container when nothing needed reads it:
    the gradient that forward-over-reverse code computes beside its tangent
    goes when only the tangent is returned.
    """
    fresh = _fresh_containers(body)
    statements = list(ir.walk(body))
    writers: Dict[ir.Var, List[ir.Stmt]] = {}
    for stmt in statements:
        for var in _changes(stmt):
            writers.setdefault(var, []).append(stmt)
    needed: Set[ir.Var] = set()
    shaped: Set[ir.Var] = set()  # read only by zeros_like: writing items into them is dead
    pending = [s for s in statements if _needed(s, needed, shaped, fresh)]
    # Whether a statement is needed only ever turns from no to yes, and each is asked
    # again when a variable it writes turns needed: those taken from `pending` are the
    # needed ones.
    done: Set[int] = set()
    while pending:
        stmt = pending.pop()
        if id(stmt) in done:
            continue
        done.add(id(stmt))
        shape_only = _read_for_shape(stmt, fresh)
        for atom in ir.atoms_read(stmt):
            if atom.__class__ is not ir.Var:
                continue
            into = shaped if atom is shape_only else needed
            if atom not in into:
                into.add(atom)  # its writers may be needed now
                pending += [w for w in writers.get(atom, ()) if _needed(w, needed, shaped, fresh)]
    return _prune(body, done)


def _changes(stmt: ir.Stmt) -> List[ir.Var]:
    """The variables a statement binds or changes in place (a stack it pushes onto too)."""
    if isinstance(stmt, ir.Push):
        return [stmt.stack]
    if isinstance(stmt, ir.Pop):
        return [stmt.target, stmt.stack]
    return list(ir.targets_written(stmt))


def _needed(stmt: ir.Stmt, needed: Set[ir.Var], shaped: Set[ir.Var], fresh: Set[ir.Var]) -> bool:
    if isinstance(stmt, ir.Assign):
        return stmt.target in needed or stmt.target in shaped or not _removable(stmt.value)
    if isinstance(stmt, ir.SetItem):  # an item written does not change the shape
        return stmt.target in needed or stmt.target not in fresh
    if isinstance(stmt, ir.Accum):
        return stmt.target in needed or stmt.target in shaped or stmt.target not in fresh
    if isinstance(stmt, (ir.Push, ir.Pop)):
        stack = stmt.stack
        target = stmt.target if isinstance(stmt, ir.Pop) else None
        return stack in needed or stack in shaped or stack not in fresh or target in needed
    return True  # returns, control flow, nested functions, comments


def _read_for_shape(stmt: ir.Stmt, fresh: Set[ir.Var]) -> Optional[ir.Var]:
    """The container this code allocated that ``stmt`` reads only for its shape
    (``zeros_like(v)``), if any."""
    value = stmt.value if stmt.__class__ is ir.Assign else None
    if value.__class__ is not ir.Call or value.fn is not runtime.zeros_like:
        return None
    if len(value.args) == 1 and value.args[0] in fresh:
        return value.args[0]
    return None


def _fresh_containers(body: List[ir.Stmt]) -> Set[ir.Var]:
    """Variables only ever assigned a new container this code allocated."""
    assigned: Dict[ir.Var, bool] = {}
    for stmt in ir.walk(body):
        rebinds = isinstance(stmt, (ir.Assign, ir.For, ir.Function)) or isinstance(stmt, ir.Pop)
        for var in ir.targets_written(stmt) if rebinds else ():
            allocates = (
                isinstance(stmt, ir.Assign)
                and isinstance(stmt.value, ir.Call)
                and stmt.value.fn in _ALLOCATING
            )
            assigned[var] = assigned.get(var, True) and allocates
    return {var for var, always in assigned.items() if always}


# Runtime helpers that return a new container (never one of their arguments).
_ALLOCATING = {
    runtime.zeros_like,
    runtime.copy_of,
    runtime.owned_copy,
    runtime.make_list,
    runtime.updated,
}


def _prune(stmts: List[ir.Stmt], needed: Set[int]) -> List[ir.Stmt]:
    """``stmts`` without those whose ``id`` is not ``needed``, in nested blocks too."""
    kept = []
    for stmt in stmts:
        if id(stmt) not in needed:
            continue
        blocks = ir.blocks_of(stmt)
        if blocks:
            stmt = ir.with_blocks(stmt, tuple(_prune(block, needed) for block in blocks))
        kept.append(stmt)
    return kept


def _removable(value: ir.Expr) -> bool:
    return not isinstance(value, ir.Call) or rules.is_pure(value.fn)
