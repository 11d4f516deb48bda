"""Stage 3: what each variable is, before any derivative code is written.

* **activity** -- a variable is *varied* if it depends on a differentiated
  input, *useful* if the output depends on it, and *active* if both.  Only
  active variables get tangent or adjoint statements, so a value that cannot
  change the derivative costs nothing.
* **kinds** -- whether a value is known to be a scalar.  Broadcasting can
  only happen between non-scalars, so ``unbroadcast`` is emitted only where
  an operand may be an array.
"""

from __future__ import annotations

import operator
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Set

from .. import rules
from ..rules import SCALAR, UNKNOWN, kind_of_value
from . import ir
from .binding import bound_arguments


def differentiable_args(call: ir.Call) -> Iterable[ir.Atom]:
    """The arguments a call's derivative may flow through.

    A call without a rule is taken to depend on all its arguments, so that
    activity analysis flags it and the transform reports the missing rule.
    """
    if rules.is_nondifferentiable(call.fn):
        return ()
    rule = rules.rule_of(call)
    if rule is None:
        return list(call.args) + [v for _, v in call.kwargs]
    try:
        bound = bound_arguments(rule, call)
    except ValueError:  # a call the rule does not fit: the transform reports it
        return list(call.args) + [v for _, v in call.kwargs]
    return [bound[name] for name, t in zip(rule.arg_names, rule.vjp) if t is not None]


# What a call's derivative may flow through: differentiable_args, or a memo of it
ArgsOf = Callable[[ir.Call], Iterable[ir.Atom]]


def varied(
    fn: ir.Function, wrt: Iterable[str], args_of: ArgsOf = differentiable_args
) -> Set[ir.Var]:
    """Variables that depend on the parameters named in ``wrt``.

    Flow-insensitive: a variable assigned in several places is varied if any
    assignment is, and loops are followed to a fixed point (what the parameters
    reach along the statements' data flow, found in one pass over a graph).
    ``args_of`` is :func:`differentiable_args` or a memo of it.
    """
    wrt = set(wrt)
    seeds: List[ir.Var] = []
    flows: Dict[ir.Atom, List[ir.Var]] = {}  # atom -> the variables that vary with it
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Assign):
            value = stmt.value
            if isinstance(value, ir.Load):
                if not value.free and value.name in wrt:
                    seeds.append(stmt.target)
                continue
            sources = args_of(value) if isinstance(value, ir.Call) else (value,)
            _flow(flows, sources, stmt.target)
        elif isinstance(stmt, ir.Push):
            _flow(flows, (stmt.value,), stmt.stack)
        elif isinstance(stmt, ir.Pop):
            _flow(flows, (stmt.stack,), stmt.target)
    return _reached(seeds, flows)


def useful(fn: ir.Function, args_of: ArgsOf = differentiable_args) -> Set[ir.Var]:
    """Variables the returned value depends on (through differentiable paths); ``args_of``
    as for :func:`varied`."""
    seeds: List[ir.Var] = []
    flows: Dict[ir.Atom, List[ir.Var]] = {}  # variable -> the variables it depends on
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Return):
            seeds += [a for a in ir.tree_atoms(stmt.value) if isinstance(a, ir.Var)]
        elif isinstance(stmt, ir.Assign):
            value = stmt.value
            if isinstance(value, ir.Call):
                for a in args_of(value):
                    if isinstance(a, ir.Var):
                        flows.setdefault(stmt.target, []).append(a)
            elif isinstance(value, ir.Var):
                flows.setdefault(stmt.target, []).append(value)
        elif isinstance(stmt, ir.Push):
            if isinstance(stmt.value, ir.Var):
                flows.setdefault(stmt.stack, []).append(stmt.value)
        elif isinstance(stmt, ir.Pop):
            flows.setdefault(stmt.target, []).append(stmt.stack)
    return _reached(seeds, flows)


def _flow(flows: Dict[ir.Atom, List[ir.Var]], sources: Iterable[ir.Atom], target: ir.Var) -> None:
    for source in sources:
        if isinstance(source, ir.Var):
            flows.setdefault(source, []).append(target)


def _reached(seeds: List[ir.Var], flows: Mapping[ir.Atom, List[ir.Var]]) -> Set[ir.Var]:
    """The seeds and every variable the ``flows`` lead to from them."""
    result = set(seeds)
    work = list(result)
    while work:
        for var in flows.get(work.pop(), ()):
            if var not in result:
                result.add(var)
                work.append(var)
    return result


def active(fn: ir.Function, wrt: Iterable[str]) -> Set[ir.Var]:
    """Variables that need a derivative: varied and useful."""
    return varied(fn, wrt) & useful(fn)


def kinds(
    fn: ir.Function, param_kinds: Mapping[str, str], free_values: Mapping[str, object]
) -> Dict[ir.Atom, str]:
    """The kind of every variable, from the kinds of the parameters.

    A variable assigned in several places has the join of their kinds
    (``unknown`` where they differ); loops are followed to a fixed point.
    """
    result: Dict[ir.Atom, str] = {}

    def kind(atom: ir.Atom) -> Optional[str]:
        """The kind known so far; None before any assignment of it was seen."""
        if isinstance(atom, ir.Const):
            return kind_of_value(atom.value)
        return result.get(atom)

    def join(var: ir.Var, k: str) -> None:
        old = result.get(var)
        result[var] = k if old is None or old == k else UNKNOWN

    pushed: Dict[ir.Var, str] = {}  # per list: the join of the kinds pushed onto it
    while True:
        before = dict(result)
        for stmt in ir.walk(fn.body):
            if isinstance(stmt, ir.For):
                join(stmt.target, SCALAR)
            if isinstance(stmt, ir.Push) and stmt.value != ir.Const(None):
                k = kind(stmt.value)
                if k is not None:
                    old = pushed.get(stmt.stack)
                    pushed[stmt.stack] = k if old in (None, k) else UNKNOWN
            elif isinstance(stmt, ir.Pop) and stmt.stack in pushed:
                join(stmt.target, pushed[stmt.stack])
            if not isinstance(stmt, ir.Assign):
                continue
            value = stmt.value
            if isinstance(value, ir.Load):
                if value.free:
                    k = kind_of_value(free_values.get(value.name))
                else:
                    k = param_kinds.get(value.name, UNKNOWN)
            elif isinstance(value, ir.Call):
                rule = rules.rule_of(value)
                arg_kinds = [kind(a) for a in value.args]
                if None in arg_kinds:
                    continue  # an argument assigned later in a loop: next round
                if rule is not None:
                    k = rule.result_kind(arg_kinds)
                else:  # a comparison of scalars is a scalar
                    k = rules.join_kinds(arg_kinds) if value.fn in _COMPARISONS else UNKNOWN
                if rule is not None and rule.reduction and not _reduces_everything(rule, value):
                    k = arg_kinds[0] if arg_kinds[0] == SCALAR else UNKNOWN
            else:
                k = kind(value)
                if k is None:
                    continue
            join(stmt.target, k)
        if result == before:
            return result


_COMPARISONS = (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne)


def _reduces_everything(rule, call: ir.Call) -> bool:
    """Whether a reduction's ``axis`` is None and ``keepdims`` false (its result is a scalar)."""
    try:
        bound = bound_arguments(rule, call)
    except ValueError:
        return False
    axis, keepdims = bound.get("axis", ir.Const(None)), bound.get("keepdims", ir.Const(False))
    is_const = isinstance(axis, ir.Const) and isinstance(keepdims, ir.Const)
    return is_const and axis.value is None and not keepdims.value


def shape_keys(
    fn: ir.Function, kinds: Mapping[ir.Var, str], mutable: Set[ir.Var]
) -> Dict[ir.Var, tuple]:
    """Keys naming the shape of array variables: two variables with one key have one shape.

    The key of a parameter is its name; an elementwise call on arrays that
    share a key (and scalars) keeps that key; ``x[a:]``, ``x[:-b]`` and
    ``x[a:-b]`` drop ``a + b`` rows of ``x``'s shape, so ``x[1:]`` and
    ``x[:-1]`` share a key.  ``mutable`` variables (assigned more than once), and every
    other call, get no key.  Reverse mode leaves out ``unbroadcast`` between
    arrays with one key: nothing was broadcast.
    """
    keys: Dict[ir.Var, tuple] = {}
    for stmt in ir.walk(fn.body):
        if not isinstance(stmt, ir.Assign) or stmt.target in mutable:
            continue
        key = _shape_key(stmt.value, keys, kinds)
        if key is not None and kinds.get(stmt.target) != SCALAR:
            keys[stmt.target] = key
    return keys


def _shape_key(value: ir.Expr, keys: Mapping[ir.Var, tuple], kinds) -> Optional[tuple]:
    if isinstance(value, ir.Load):
        return ("argument", value.name)
    if isinstance(value, ir.Var):
        return keys.get(value)
    if not isinstance(value, ir.Call) or value.kwargs:
        return None
    if value.fn is operator.getitem:
        return _rows_key(value.args, keys)
    rule = rules.rule_of(value)
    if rule is None or not rule.elementwise:
        return None
    arrays = {
        keys.get(a) if isinstance(a, ir.Var) else None
        for a in value.args
        if not (isinstance(a, ir.Const) and kind_of_value(a.value) == SCALAR)
        and not (isinstance(a, ir.Var) and kinds.get(a) == SCALAR)
    }
    return arrays.pop() if len(arrays) == 1 and None not in arrays else None


def _rows_key(args: tuple, keys: Mapping[ir.Var, tuple]) -> Optional[tuple]:
    """``x[a:]``, ``x[:-b]``, ``x[a:-b]`` (``a, b >= 0``): ``x``'s shape less ``a + b`` rows."""
    array, index = args
    base = keys.get(array) if isinstance(array, ir.Var) else None
    if base is None or not (isinstance(index, ir.Const) and isinstance(index.value, slice)):
        return None
    start, stop, step = index.value.start, index.value.stop, index.value.step
    if step not in (None, 1) or not isinstance(start or 0, int) or (start or 0) < 0:
        return None
    if stop is not None and not (isinstance(stop, int) and stop < 0):
        return None
    dropped = (start or 0) - (stop or 0)
    if base[0] == "rows":
        return ("rows", base[1], base[2] + dropped)
    return ("rows", base, dropped)
