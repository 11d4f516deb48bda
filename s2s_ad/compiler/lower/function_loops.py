"""Loops over tuples, lists and dicts of functions, unrolled.

``for g in (f, h): total = total + g(x)`` calls a different function on each trip.  A
call of a function value is inlined (or made to the function itself), so that its
derivative is specialised on which function it is; a loop cannot do that for a value
that changes from trip to trip.  The loop is therefore unrolled: one copy of its body
per function, lowered with the loop's names bound to that item.  The forms are:

* ``for g in fs`` over a tuple or list of functions (a display, or a name or parameter
  bound to one), and ``for k in table`` / ``table.keys()`` over a dict of them;
* ``for k, g in table.items()`` and ``for g in table.values()``;
* ``for i, g in enumerate(fs)``, and ``for g, w in zip(fs, ws)`` (``ws`` read by
  position).

``break``, ``continue`` and ``return`` cannot stand in such a loop: its trips are gone.
"""

from __future__ import annotations

import copy
from typing import Any, List, Optional, Tuple

import gast

from ... import runtime
from .. import ir, nested
from .state import LOOPS, LoweringState

# What an unrolled trip binds each target to: a function value, or a key or index.
# (target, "function", the function), (target, "constant", a key or index), or
# (target, "item", (a name bound to a zipped sequence, a position in it))
Binding = Tuple[gast.expr, str, Any]


class FunctionLoopLowering(LoweringState):
    """``for`` loops over tables of function values, unrolled trip by trip."""

    def function_loop(self, node: gast.For) -> bool:
        """Unroll ``node`` if it walks a tuple, list or dict of functions; False if it
        walks anything else."""
        trips = self.function_trips(node)
        if trips is None:
            return False
        # a `return` anywhere, a `break` or `continue` of this loop (not of one inside it)
        in_inner_loops = {id(n) for n, inside in nested.own_nodes_within(node, LOOPS) if inside}
        for inner in nested.own_nodes(node):
            if isinstance(inner, gast.Return) or (
                isinstance(inner, (gast.Break, gast.Continue)) and id(inner) not in in_inner_loops
            ):
                raise self.error(
                    f"`{type(inner).__name__.lower()}` in a loop over functions: s2s_ad "
                    "unrolls such a loop, one copy of its body per function",
                    inner,
                    "compute a flag in the loop and test it after the loop",
                )
        if node.orelse:
            raise self.error(
                "`for ... else` over functions is not supported",
                node,
                "move the `else` block after the loop",
            )
        rebound = set(nested.stored_names(node.body))
        functions = {t.id for t, kind, _ in trips[0] if kind == "function"}
        for target in nested.own_nodes(gast.Module(node.body, [])):
            if isinstance(target, gast.Name) and target.id in functions & rebound:
                if isinstance(target.ctx, gast.Store):
                    raise self.error(
                        f"`{target.id}` walks functions here and is rebound in the loop",
                        target,
                        "give the value another name",
                    )
        # the names walking functions are function values only for the loop's trips
        before = {name: self.function_values.get(name) for name in functions}
        try:
            for bindings in trips:
                self.unrolled_trip(node, bindings, rebound)
        finally:
            for name, value in before.items():
                if value is None:
                    self.function_values.pop(name, None)
                else:
                    self.function_values[name] = value
        return True

    def unrolled_trip(self, node: gast.For, bindings: List[Binding], rebound: set) -> None:
        """One copy of the loop's body, with its targets bound to one item (``rebound``:
        the names the body stores, whose values are not known as constants)."""
        assignments, constants = [], {}
        for target, kind, value in bindings:
            if kind == "function":
                self.function_values[target.id] = value
                continue
            stored = gast.Name(target.id, gast.Store(), None, None)
            if kind == "item":  # `w = ws[k]` of a zipped sequence
                sequence, k = value
                read = gast.Subscript(sequence, gast.Constant(k, None), gast.Load())
                assignments.append(gast.Assign([stored], read, None))
                continue
            if target.id not in rebound:
                constants[target.id] = value
            assignments.append(gast.Assign([stored], gast.Constant(value, None), None))
        for assignment in assignments:
            gast.copy_location(assignment, node)
            gast.fix_missing_locations(assignment)
        outer = self.trip_constants
        self.trip_constants = {**outer, **constants}
        try:
            self.block(assignments + copy.deepcopy(node.body))
        finally:
            self.trip_constants = outer

    def function_trips(self, node: gast.For) -> Optional[List[List[Binding]]]:
        """What each trip of ``node`` binds its targets to, if it walks functions."""
        iterable, target = node.iter, node.target
        fn = self.callee_of(iterable) if isinstance(iterable, gast.Call) else None
        if fn is zip:
            return self.zipped_trips(iterable, target)
        if fn is enumerate and len(iterable.args) == 1 and not iterable.keywords:
            table = self.function_table_of(iterable.args[0])
            if table is None or not _pair(target):
                return None
            index, item = target.elts
            items = list(table) if isinstance(table, dict) else table
            kind = "constant" if isinstance(table, dict) else "function"
            return [[(index, "constant", k), (item, kind, value)] for k, value in enumerate(items)]
        view = _dict_view(iterable)
        if view is not None:
            table = self.function_table_of(iterable.func.value)
            if not isinstance(table, dict):
                return None
            if view == "items":
                if not _pair(target):
                    return None
                key, value = target.elts
                return [[(key, "constant", k), (value, "function", v)] for k, v in table.items()]
            if not isinstance(target, gast.Name):
                return None
            if view == "values":
                return [[(target, "function", v)] for v in table.values()]
            return [[(target, "constant", k)] for k in table]
        table = self.function_table_of(iterable)
        if table is None or not isinstance(target, gast.Name):
            return None
        if isinstance(table, dict):
            return [[(target, "constant", k)] for k in table]
        return [[(target, "function", value)] for value in table]

    def zipped_trips(self, call: gast.Call, target: gast.expr) -> Optional[List[List[Binding]]]:
        """``for f, w in zip(fs, ws)`` with ``fs`` a tuple of functions: one trip per
        function, ``w`` bound to ``ws[k]`` (``ws`` evaluated once, and checked when the
        code runs to be no shorter: fewer trips than functions cannot be unrolled)."""
        names = target.elts if isinstance(target, gast.Tuple) else ()
        if call.keywords or len(names) != len(call.args) or len(names) < 2:
            return None
        if not all(isinstance(name, gast.Name) for name in names):
            return None
        tables = [self.function_table_of(arg) for arg in call.args]
        if not any(isinstance(table, tuple) for table in tables):
            return None
        count = min(len(table) for table in tables if table is not None)
        columns = []
        for arg, table in zip(call.args, tables):
            if table is None:  # data: evaluated once, read by position on each trip
                columns.append([("item", (self.walked_once(arg, count), k)) for k in range(count)])
            elif isinstance(table, dict):
                columns.append([("constant", key) for key in list(table)[:count]])
            else:
                columns.append([("function", value) for value in table[:count]])
        return [[(name, *column[k]) for name, column in zip(names, columns)] for k in range(count)]

    def walked_once(self, node: gast.expr, count: int) -> gast.Name:
        """A name for the value of ``node``, checked to have at least ``count`` items."""
        message = self.error(
            f"`{self.parsed.segment(node)}` has fewer items than the functions zipped with it: "
            "s2s_ad unrolls a loop over functions, one trip per function",
            node,
            "give it one item per function",
        )
        check = ir.Call(
            runtime.at_least, (self.expression(node), ir.Const(count), ir.Const(str(message)))
        )
        return self.bound_to(self.emit(check, node), "items")

    def function_table_of(self, node: gast.expr) -> Any:
        """The tuple or dict of function values ``node`` denotes, or None."""
        if isinstance(node, gast.Call):  # a table a factory returns; no partials here
            return self.returned_table(node)
        table = self.known_function(node)
        return table if isinstance(table, (tuple, dict)) else None


def _pair(target: gast.expr) -> bool:
    return (
        isinstance(target, gast.Tuple)
        and len(target.elts) == 2
        and all(isinstance(e, gast.Name) for e in target.elts)
    )


def _dict_view(node: gast.expr) -> Optional[str]:
    """``"items"``, ``"keys"`` or ``"values"`` for ``d.items()`` and the like, else None."""
    if (
        isinstance(node, gast.Call)
        and isinstance(node.func, gast.Attribute)
        and node.func.attr in ("items", "keys", "values")
        and not node.args
        and not node.keywords
    ):
        return node.func.attr
    return None
