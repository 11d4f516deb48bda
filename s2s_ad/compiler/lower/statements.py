"""Lowering statements: blocks, jumps, assignments, ``if``, ``for`` and ``while``.

Statements are appended to the current block, ``self.body``; a branch or a
loop body is lowered into a block of its own.  How jumps and loops over
sequences are rewritten is told in the package's docstring; the functions at
the end of this module decide where a block jumps and close its open paths.
"""

from __future__ import annotations

import copy
import operator
from typing import Any, Dict, List, Optional, Tuple

import gast

from ... import runtime
from ...runtime.schedules import check_steps, checkpointed
from .. import ir, nested
from ..parse import Parsed, dotted_name
from .environment import UNBOUND
from .expressions import BINARY
from .state import (
    LOOPS,
    LoweringState,
    defined_function,
    is_function_value,
    unsupported_message,
    unsupported_operator,
)

_JUMPS = (gast.Return, gast.Break, gast.Continue)


class StatementLowering(LoweringState):
    """Statements into ``self.body``.

    Expressions are lowered by :class:`ExpressionLowering` and local ``def`` by
    :class:`LocalFunctionLowering`, both reached through ``self``.
    """

    def lowered_block(self, statements: list) -> List[ir.Stmt]:
        """Lower statements into a new block (a branch or a loop body); ``block_bound``
        is then the names it bound, which are unbound again."""
        outer, self.body = self.body, []
        try:
            with self.bound_names.block() as bound:
                self.block(statements)
            self.block_bound = bound
            return self.body
        finally:
            self.body = outer

    def block(self, statements: list) -> None:
        statements = unwrapped(statements)
        for k, stmt in enumerate(statements):
            rest = statements[k + 1 :]
            if isinstance(stmt, _JUMPS):
                self.jump(stmt)
                return
            if isinstance(stmt, gast.If) and rest and _may_jump(stmt):
                self.if_statement(stmt, rest)
                return
            if isinstance(stmt, LOOPS) and self.returned is not None and has_return(stmt):
                self.statement(stmt)
                self.after_loop_with_return(stmt, rest)
                return
            self.statement(stmt)

    def jump(self, node: gast.stmt) -> None:
        loc = self.parsed.loc(node)
        if isinstance(node, gast.Return):
            value = self.returned_function(node)  # `return lambda t: a * t` when inlined
            if value is None:
                value = ir.Const(None) if node.value is None else self.tree(node.value)
            self.refuse_returning_function(value, node)
            if self.loop_depth == 0:
                if self.inlining and isinstance(value, tuple):  # the call's value is one atom
                    value = self.build_tuple(value, node)
                self.body.append(ir.Return(value, loc))
                return
            if isinstance(value, tuple):
                value = self.build_tuple(value, node)
            self.body.append(ir.Assign(self.retval, value, loc, self.parsed.segment(node)))
            self.body.append(ir.Assign(self.returned, ir.Const(True), loc))
            self.body.append(ir.Break(loc))
        elif isinstance(node, gast.Break):
            self.body.append(ir.Break(loc))

    def after_loop_with_return(self, loop: gast.stmt, rest: list) -> None:
        loc = self.parsed.loc(loop)
        leave = ir.Break(loc) if self.loop_depth else ir.Return(self.retval, loc)
        returned = self.settled(self.returned, loop)
        self.body.append(ir.If(returned, [leave], self.lowered_block(rest), loc))

    def settled(self, cond: ir.Atom, node: gast.AST) -> ir.Atom:
        """A branch's condition in a name of its own where it is a variable the branch may
        assign (a `returned` flag, `if done: ... else: done = True`): reverse mode tests
        it again after the branch ran, and must see the value the primal sweep tested."""
        if isinstance(cond, ir.Var) and (cond.name in self.mutable or cond == self.returned):
            return self.emit(cond, node)
        return cond

    def build_tuple(self, tree: tuple, node: gast.AST) -> ir.Atom:
        items = [self.build_tuple(t, node) if isinstance(t, tuple) else t for t in tree]
        return self.emit(ir.Call(runtime.make_tuple, tuple(items)), node)

    def tree(self, node: gast.expr) -> ir.Tree:
        """A returned value: an atom, or a tuple display of returned values."""
        if isinstance(node, gast.Tuple):
            return tuple(self.tree(elt) for elt in node.elts)
        return self.expression(node)

    def statement(self, node: gast.stmt) -> None:
        if isinstance(node, gast.FunctionDef) or defined_function(node):
            self.define_function(node)
        elif isinstance(node, gast.Assign) and self.vjp_assignment(node):
            pass  # `value, pullback = ad.vjp(g, x)`: calls of the pullback are lowered later
        elif isinstance(node, gast.Assign) and self.function_table(node):
            pass  # `table = {"f": np.sin, "g": g}`: its calls are resolved when lowered
        elif isinstance(node, gast.Assign):
            value = self.expression(node.value, name=_single_name(node.targets))
            for target in node.targets:
                value = self.assign(target, value, node)
        elif isinstance(node, gast.AnnAssign):
            if node.value is not None:
                value = self.expression(node.value, name=_single_name([node.target]))
                self.assign(node.target, value, node)
        elif isinstance(node, gast.AugAssign):
            self.augmented(node)
        elif isinstance(node, gast.If):
            self.if_statement(node, [])
        elif isinstance(node, gast.For):
            self.for_statement(node)
        elif isinstance(node, gast.While):
            self.while_statement(node)
        elif isinstance(node, gast.Expr):
            self.expression(node.value)
        elif isinstance(node, gast.Pass):
            pass
        elif isinstance(node, gast.Assert):
            self.assertion(node)
        else:
            raise self.error(unsupported_message(node), node)

    def assertion(self, node: gast.Assert) -> None:
        """``assert test, message``: checked where it stands, in every sweep, never
        differentiated (the message is evaluated with the test); gone under ``python -O``,
        as in Python."""
        if not __debug__:
            return
        args = [self.expression(node.test)]
        if node.msg is not None:
            args.append(self.expression(node.msg))
        self.emit(ir.Call(runtime.check_assertion, tuple(args), spelling="check_assertion"), node)

    def assign(self, target: gast.expr, value: ir.Atom, node: gast.AST) -> ir.Atom:
        """Bind ``target`` (a name, a tuple of targets or a subscript) to ``value``.

        Returns the atom that holds the value afterwards.
        """
        if is_function_value(value):  # `rhs = make_rhs(alpha)`
            self.bind_function_value(target, value.value.value, node)
            return value
        if isinstance(target, gast.Name):
            value_node = _value_of(node)
            whole = isinstance(node, gast.Assign) and node.targets == [target]
            derived = value_node if whole or isinstance(node, gast.AnnAssign) else None
            self.sharing.bind(target.id, self.sharing.sources(value_node), derived)
            return self.bind(target.id, value, node)
        if isinstance(target, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) for e in target.elts):
                raise self.error("starred assignment (`a, *b = ...`) is not supported", target)
            items = [
                self.emit(ir.Call(operator.getitem, (value, ir.Const(k))), node)
                for k in range(len(target.elts))
            ]
            for elt, item in zip(target.elts, items):
                self.assign(elt, item, node)
            return value
        if isinstance(target, gast.Subscript):
            root, path = self.item_path(target)
            self.write_item(root, path, value, node)
            return value
        if isinstance(target, gast.Attribute):
            raise self.attribute_write(target)
        what = "this kind of target"
        raise self.error(
            f"assigning to {what} is not supported",
            target,
            "assign to a name or to an element `x[i]`",
        )

    def attribute_write(self, target: gast.Attribute) -> Exception:
        """``p.W = ...`` changes the object in place, which every name holding it sees."""
        obj = self.parsed.segment(target.value)
        field = target.attr
        return self.error(
            f"`{obj}.{field} = ...` changes the object `{obj}` in place (the caller's "
            "object, if it was passed in); s2s_ad differentiates values and does not "
            "follow writes into objects",
            target,
            f"make a new object instead: `{obj} = dataclasses.replace({obj}, {field}=...)` "
            f"(a NamedTuple: `{obj} = {obj}._replace({field}=...)`), or keep the value in "
            "a variable of its own",
        )

    def item_path(self, target: gast.Subscript) -> Tuple[str, List[Tuple[ir.Atom, ir.Atom]]]:
        """The variable an item write goes into, and the (container, index) pairs from it
        to the item: ``a[i][j]`` gives ``a`` and ``[(a, i), (a[i], j)]``.

        Each container and index is evaluated once, in Python's order.
        """
        base = target.value
        if isinstance(base, gast.Name):
            if base.id not in self.locals:
                raise self.error(
                    f"this line writes into `{base.id}`, which is not a local variable",
                    target,
                    f"s2s_ad differentiates values and never changes arrays outside the "
                    f"call: pass `{base.id}` in as an argument, or copy it into a local "
                    f"(`{base.id}_copy = {base.id}.copy()`) and write into that",
                )
            root, path = base.id, []
            container = self.name(base.id, base)
        elif isinstance(base, gast.Subscript):
            root, path = self.item_path(base)
            container = self.emit(ir.Call(operator.getitem, path[-1]), base)
        elif isinstance(base, gast.Attribute) and base.attr == "flat":
            array = self.parsed.segment(base.value)
            raise self.error(
                f"writing through `{array}.flat[...]` is not supported (reading is)",
                target,
                f"write the item by its position in each axis: "
                f"`{array}[np.unravel_index(i, {array}.shape)] = v`",
            )
        else:
            raise self.error(
                "only variables and their items can be assigned into",
                target,
                "write the item into a local variable: `a = ...; a[i] = v`",
            )
        return root, path + [(container, self.index(target.slice))]

    def write_item(self, root: str, path: list, value: ir.Atom, node: gast.AST) -> None:
        """``a[i][j] = v`` as values: ``a_i = updated(a[i], j, v)``, ``a = updated(a, i, a_i)``.

        No array is written in place: whatever read ``a`` before keeps the value it read
        (the derivative of each statement sees the values its statement saw), and the
        caller's arrays stay as they were.  The emitter writes in place where nothing can
        tell the difference.
        """
        guarded, syncs = self.guard_write(root, path[0][0], node)
        path[0] = (guarded, path[0][1])
        note = self.parsed.segment(node)
        for container, index in reversed(path):
            call = ir.Call(runtime.updated, (container, index, value))
            value = self.emit(call, node, note=note)
        self.bind(root, value, node)
        self.sync_views(root, syncs, node)

    def guard_write(self, name: str, atom: ir.Atom, node: gast.AST) -> Tuple[ir.Atom, list]:
        """``atom`` (the value of ``name``), checked at run time before a write into it
        where another name read later may hold the same object (see :mod:`.aliasing`),
        and the views to keep in step after the write (for :meth:`sync_views`)."""
        at_risk = self.sharing.at_risk(name, None if self.inline_calls else node, self.bound_names)
        related = {name} | self.sharing.shares.get(name, set())
        walked = [seq for sources, seq in self.loop_sequences if sources & related]
        if walked:  # a loop walking this object reads it again on its next trip
            error = self.error(
                f"this line writes into `{name}`, which a `for` loop around it is walking: "
                "Python's later trips would see the change, and s2s_ad differentiates values",
                node,
                f"walk a copy (`for item in {name}.copy():`) or index by position",
            )
            for sequence in walked:
                check = ir.Call(runtime.unshared, (atom, sequence, ir.Const(str(error))))
                atom = self.emit(check, node)
        if not at_risk:
            return atom, []
        listed = ", ".join(f"`{o}`" for o in at_risk)
        error = self.error(
            f"this line writes into `{name}`, which holds the same array as {listed} (or a "
            "view of it), read later: Python changes both, and s2s_ad differentiates values",
            node,
            f"copy before writing (`{name} = {name}.copy()`), or write into {listed} itself",
        )
        group = self.views_to_sync(name, at_risk, node)
        if group is None:
            for other in at_risk:
                check = ir.Call(
                    runtime.unshared, (atom, self.name(other, node), ir.Const(str(error)))
                )
                atom = self.emit(check, node)
            return atom, []
        base, views = group
        syncs = []
        for view, index in views:
            index_atom = ir.Const(None) if index is None else self.index(index)
            x = atom if view == name else self.name(view, node)
            whole = atom if base == name else self.name(base, node)
            check = ir.Call(runtime.shares, (x, whole, index_atom, ir.Const(str(error))))
            syncs.append((view, base, index_atom, self.emit(check, node)))
        return atom, syncs

    def views_to_sync(self, name: str, at_risk: List[str], node: gast.AST) -> Optional[tuple]:
        """``(base, [(view, index), ...])`` where a write into ``name`` can be made to every
        name at risk: ``name`` and those names are one base and views taken from it whole or
        by a constant basic index (see :mod:`.aliasing`), the written view first; None
        where it cannot."""
        if self.inline_calls or self.checkpointing:
            return None  # restores of checkpointed loops copy: views would come apart
        derived = self.sharing.derived
        for base in ([derived[name][0]] if name in derived else []) + [name]:
            views = ([name] if name != base else []) + [o for o in at_risk if o != base]
            if all(derived.get(view, ("",))[0] == base for view in views):
                break
        else:
            return None
        # a name assigned outside control flow only is a value, not a variable a loop or a
        # branch can rebind
        rebound = [base] + views if name != base else views
        top = id(node) in self.sharing.top_level and not self.loop_depth
        if not top and not all(n in self.mutable for n in rebound):
            return None
        return base, [(view, derived[view][1]) for view in views]

    def sync_views(self, name: str, syncs: list, node: gast.AST) -> None:
        """After a write into ``name``: the base it is a view of takes the write, and the
        views of the base are taken again from its new value (where they share, at run
        time: see :func:`s2s_ad.runtime.shares`)."""
        for view, base, index, shared in syncs:
            if view == name:  # the written view comes first
                synced = (self.name(base, node), shared, index, self.name(view, node))
                self.bind(base, self.emit(ir.Call(runtime.synced, synced), node), node)
            resynced = (self.name(view, node), shared, self.name(base, node), index)
            self.bind(view, self.emit(ir.Call(runtime.resynced, resynced), node), node)

    def bind(self, name: str, value: ir.Atom, node: gast.AST) -> ir.Atom:
        self.bound_names.add(name)
        if name not in self.mutable:
            if isinstance(value, ir.Var) and value.name in self.mutable:
                # `b = a` with `a` reassigned later: `b` keeps today's value
                copy = ir.Var(name) if name in self.single_assignment else self.names.temp()
                loc, note = self.parsed.loc(node), self.parsed.segment(node)
                self.body.append(ir.Assign(copy, value, loc, note))
                value = copy
            if isinstance(value, ir.Var):
                self.named_temps.add(value)
            self.env[name] = value
            return value
        var = ir.Var(name)
        self.env[name] = var
        last = self.body[-1] if self.body else None
        fresh = (
            isinstance(last, ir.Assign)
            and last.target == value
            and value.name in self.names.generated
            and value not in self.named_temps  # another name's value: it stays
            and isinstance(last.value, ir.Call)
            and var not in last.value.args
            and var not in [v for _, v in last.value.kwargs]
        )
        if fresh:  # write the call's result straight into the variable
            last.target = var
        elif value != var:
            note = self.parsed.segment(node)
            self.body.append(ir.Assign(var, value, self.parsed.loc(node), note))
        return var

    def augmented(self, node: gast.AugAssign) -> None:
        fn = BINARY.get(type(node.op))
        if fn is None:
            raise self.error(unsupported_operator(node.op), node)
        note = self.parsed.segment(node)
        target = node.target
        if isinstance(target, gast.Name) and self.is_sequence(
            gast.BinOp(target, node.op, node.value)
        ):
            joined = gast.copy_location(gast.BinOp(_load(target), node.op, node.value), node)
            self.statement(gast.copy_location(gast.Assign([target], joined, None), node))
            return
        if isinstance(target, gast.Name):
            current, syncs = self.guard_write(target.id, self.name(target.id, target), node)
            value = self.expression(node.value)
            keep = target.id if target.id in self.single_assignment else None
            result = self.emit(ir.Call(fn, (current, value)), node, keep, note=note)
            self.bind(target.id, result, node)
            self.sync_views(target.id, syncs, node)
        elif isinstance(target, gast.Subscript):
            root, path = self.item_path(target)
            current = self.emit(ir.Call(operator.getitem, path[-1]), target)
            value = self.expression(node.value)
            result = self.emit(ir.Call(fn, (current, value)), node, note=note)
            self.write_item(root, path, result, node)
        else:
            raise self.error("only names and elements `x[i]` can be updated in place", node)

    def if_statement(self, node: gast.If, rest: list) -> None:
        """``if``; ``rest`` (the statements after it) goes into each branch that does not jump."""
        cond = self.settled(self.expression(node.test), node)
        body = list(node.body) + ([] if _ends_in_jump(node.body) else rest)
        orelse = list(node.orelse) + ([] if _ends_in_jump(node.orelse) else rest)
        derived = dict(self.sharing.derived)
        with self.env.changes() as before:
            lowered_body = self.lowered_block(body)
            bound_in_body, derived_in_body = self.block_bound, self.sharing.derived
            self.forget_branch(before)  # `rest` in the first branch rebinds what the second reads
            self.sharing.derived = derived
            lowered_orelse = self.lowered_block(orelse)
            self.forget_branch(before)
        self.sharing.join(derived_in_body)
        self.bound_names |= bound_in_body & self.block_bound  # bound on both paths
        self.body.append(ir.If(cond, lowered_body, lowered_orelse, self.parsed.loc(node)))

    def forget_branch(self, before: Dict[str, Any]) -> None:
        """Bind the names a branch rebound as they were ``before`` it (as
        :meth:`~s2s_ad.compiler.lower.environment.Environment.changes` records them); the
        branch's loads stay, as loads are made at the top level, and so do names it unbound."""
        for name, old in list(before.items()):
            atom = self.env.get(name, UNBOUND)
            if atom is UNBOUND or atom is old or atom in self.lowered.load_of:
                continue
            if old is UNBOUND:
                del self.env[name]
            else:
                self.env[name] = old

    def for_statement(self, node: gast.For) -> None:
        walking = len(self.loop_sequences)
        try:
            self.for_loop(node)
        finally:
            del self.loop_sequences[walking:]

    def for_loop(self, node: gast.For) -> None:
        loc = self.parsed.loc(node)
        iterable = node.iter
        fn = self.callee_of(iterable)
        prologue = []  # (target node, atom) pairs bound at the top of each iteration
        counted = None  # enumerate's count, when it does not start at 0
        if fn is checkpointed:
            self.checkpointing += 1
            try:
                self.checkpointed_loop(node)
            finally:
                self.checkpointing -= 1
            return
        if self.function_loop(node):  # `for g in (f, h)`: unrolled
            return
        if self.dict_view_loop(node) or self.dict_key_loop(node):  # `for k, v in d.items()`
            return
        if fn is range:
            if not isinstance(node.target, gast.Name):
                raise self.error("`range` gives one int per iteration", node.target, "")
            self.range_loop(node, self.expression(iterable), ir.Var(node.target.id), [], loc)
            return
        if fn is reversed and len(iterable.args) == 1 and not iterable.keywords:
            self.reversed_loop(node, loc)
            return
        if fn is enumerate and _plain_pair(node.target) and iterable.args:
            sequence = self.sequence(iterable.args[0], node)
            start = iterable.args[1:] or [kw.value for kw in iterable.keywords if kw.arg == "start"]
            if start:  # enumerate(xs, 1): count from `start`, index from 0
                index = ir.Var(self.names.claim("k"))
                prologue = [(node.target.elts[1], sequence)]
                counted = (node.target.elts[0], self.expression(start[0]))
            else:
                index = ir.Var(node.target.elts[0].id)
                prologue = [(node.target.elts[1], sequence)]
        elif fn is zip and isinstance(node.target, gast.Tuple) and not iterable.keywords:
            if len(node.target.elts) != len(iterable.args):
                raise self.error("unpack one name per sequence zipped", node.target, "")
            sequences = [self.sequence(a, node) for a in iterable.args]
            index = ir.Var(self.names.claim("i"))
            prologue = list(zip(node.target.elts, sequences))
        else:
            sequence = self.sequence(iterable, node)
            index = ir.Var(self.names.claim("i"))
            prologue = [(node.target, sequence)]
        lengths = [self.emit(ir.Call(len, (seq,), spelling="len"), iterable) for _, seq in prologue]
        count = lengths[0]
        for other in lengths[1:]:
            count = self.emit(ir.Call(min, (count, other), spelling="min"), iterable)
        steps = self.emit(ir.Call(range, (count,), spelling="range"), iterable)
        self.range_loop(node, steps, index, prologue, loc, counted)

    def sequence(self, iterable: gast.expr, loop: gast.For) -> ir.Atom:
        """The sequence a ``for`` loop walks: the object it held when the loop started,
        even where the body rebinds its name or writes into it (``for v in y: y = 2 * y``).
        """
        sequence = self.expression(iterable)
        if self.may_be_dict(iterable, loop):
            sequence = self.emit(
                ir.Call(runtime.not_a_dict, (sequence, self.dict_walk_error(iterable, loop))),
                iterable,
            )
        self.loop_sequences.append((self.sharing.sources(iterable), sequence))
        rebound = set(nested.stored_names(loop.body)) | {
            root for root in map(nested.item_written, gast.walk(loop)) if root is not None
        }
        if isinstance(iterable, gast.Name) and iterable.id in rebound:
            sequence = self.emit(sequence, iterable)
        return sequence

    def may_be_dict(self, iterable: gast.expr, loop: gast.For) -> bool:
        """Whether a sequence walked by position may be a dict at run time, whose keys Python
        walks instead: a name, item or attribute not surely bound to a list or tuple."""
        return (
            isinstance(iterable, (gast.Name, gast.Subscript, gast.Attribute))
            and loop not in self.positional_loops
            and not self.is_sequence(iterable)
        )

    def dict_walk_error(self, iterable: gast.expr, loop: gast.For) -> ir.Const:
        """The refusal :func:`runtime.not_a_dict` raises where a walked value is a dict."""
        # the copy of a comprehension's loop may place its iterable at the whole
        # comprehension: a name is spelled by its name
        walked = _spelled(iterable, self.parsed)
        target = self.parsed.segment(loop.target)
        error = self.error(
            f"this loop walks `{walked}` by position, but it is a dict here, whose keys Python "
            "walks; s2s_ad walks a dict's keys where it can tell the value is a dict",
            iterable,
            f"write `for {target} in {walked}.keys():` (or `for key, value in {walked}.items():`)",
        )
        return ir.Const(str(error))

    def checkpointed_loop(self, node: gast.For) -> None:
        """``for i in ad.checkpointed(steps, ...)``: the loop over ``steps``, iterating a
        schedule that reverse mode follows (see ``checkpoint.py``)."""
        call = node.iter
        if len(call.args) != 1 or any(kw.arg is None for kw in call.keywords):
            raise self.error(
                "ad.checkpointed takes the iterable and keyword options",
                call,
                "write ad.checkpointed(range(n)) or ad.checkpointed(range(n), snapshots=s)",
            )
        steps = call.args[0]
        if isinstance(steps, gast.Constant) and not isinstance(steps.value, (str, bytes)):
            raise self.error(
                "ad.checkpointed expects the loop's steps, an iterable such as range(n), "
                f"got the {type(steps.value).__name__} {steps.value!r}",
                call,
                f"write ad.checkpointed(range({steps.value!r}))",
            )
        if isinstance(steps, gast.Name):  # a clear error where its value is no iterable
            self.emit(ir.Call(check_steps, (self.expression(steps),)), call)
        options = tuple((kw.arg, self.expression(kw.value)) for kw in call.keywords)
        inner = copy.copy(node)
        inner.iter = call.args[0]
        self.for_statement(inner)
        loop = self.body[-1]
        schedule = ir.Var(self.names.claim("schedule"))
        maker = ir.Call(checkpointed, (loop.iter,), options, ".".join(dotted_name(call.func)))
        assign = ir.Assign(schedule, maker, self.parsed.loc(call), self.parsed.segment(call))
        self.body.insert(len(self.body) - 1, assign)
        loop.iter = schedule

    def reversed_loop(self, node: gast.For, loc) -> None:
        """``for i in reversed(range(n))`` over the reversed range; ``reversed(xs)`` by index."""
        inner = node.iter.args[0]
        if self.callee_of(inner) is range:
            if not isinstance(node.target, gast.Name):
                raise self.error("`range` gives one int per iteration", node.target, "")
            steps = self.emit(ir.Call(reversed, (self.expression(inner),)), node.iter)
            self.range_loop(node, steps, ir.Var(node.target.id), [], loc)
            return
        sequence = self.sequence(inner, node)
        length = self.emit(ir.Call(len, (sequence,), spelling="len"), node.iter)
        positions = self.emit(ir.Call(range, (length,), spelling="range"), node.iter)
        steps = self.emit(ir.Call(reversed, (positions,)), node.iter)
        index = ir.Var(self.names.claim("i"))
        self.range_loop(node, steps, index, [(node.target, sequence)], loc)

    def range_loop(self, node, steps, index: ir.Var, prologue: list, loc, counted=None) -> None:
        self.loop_depth += 1
        outer, self.body = self.body, []
        try:
            with self.bound_names.block():  # a loop may run no trip: its names stay unbound
                self.env[index.name] = index
                if counted is not None:
                    target, start = counted
                    number = self.emit(ir.Call(operator.add, (index, start)), target)
                    self.assign(target, number, node)
                for target, sequence in prologue:
                    item = self.emit(ir.Call(operator.getitem, (sequence, index)), target)
                    self.assign(target, item, node)
                self.block(node.body)
            body = self.body
        finally:
            self.body = outer
            self.loop_depth -= 1
        self.body.append(ir.For(index, steps, body, loc))

    def while_statement(self, node: gast.While) -> None:
        if any(isinstance(n, gast.NamedExpr) for n in gast.walk(node.test)):
            node = _test_in_body(node)
        outer, self.body = self.body, []
        try:
            cond = self.expression(node.test)
            test = self.body
        finally:
            self.body = outer
        self.loop_depth += 1
        try:
            body = self.lowered_block(node.body)
        finally:
            self.loop_depth -= 1
        self.body.append(ir.While(test, cond, body, self.parsed.loc(node)))


def _test_in_body(loop: gast.While) -> gast.While:
    """``while (y := f(y)) < c: body`` as ``while True: if not (y := f(y)) < c: break``,
    then ``body``: the test binds a name, which reverse mode sees only in a loop's body."""
    test = loop.test
    leave = gast.copy_location(gast.Break(), test)
    negated = gast.copy_location(gast.UnaryOp(op=gast.Not(), operand=test), test)
    check = gast.copy_location(gast.If(test=negated, body=[leave], orelse=[]), test)
    forever = gast.copy_location(gast.Constant(value=True, kind=None), test)
    return gast.copy_location(gast.While(test=forever, body=[check, *loop.body], orelse=[]), loop)


def unwrapped(statements: list) -> list:
    """``statements`` with the bodies of ``with`` blocks in their place: the only ones
    left when lowering starts are ``with np.errstate(...)``, transparent for derivatives."""
    flat = []
    for stmt in statements:
        flat.extend(unwrapped(stmt.body) if isinstance(stmt, gast.With) else [stmt])
    return flat


def _load(name: gast.Name) -> gast.Name:
    return gast.copy_location(gast.Name(name.id, gast.Load(), None, None), name)


def _single_name(targets: list) -> Optional[str]:
    if len(targets) == 1 and isinstance(targets[0], gast.Name):
        return targets[0].id
    return None


def _plain_pair(target: gast.expr) -> bool:
    return (
        isinstance(target, gast.Tuple)
        and len(target.elts) == 2
        and isinstance(target.elts[0], gast.Name)
    )


def has_return(node: gast.AST) -> bool:
    """Whether ``node`` contains a ``return`` (nested scopes excluded)."""
    return any(isinstance(n, gast.Return) for n in nested.own_nodes(node))


def _may_jump(node: gast.If) -> bool:
    """Whether an ``if`` may return, break or continue (jumps of nested loops excluded)."""
    return _jumps_in(node.body) or _jumps_in(node.orelse)


def _jumps_in(stmts: list) -> bool:
    # not a closure: a recursive local function is a reference cycle left to the collector
    for stmt in unwrapped(stmts):
        if isinstance(stmt, _JUMPS):
            return True
        if isinstance(stmt, gast.If) and (_jumps_in(stmt.body) or _jumps_in(stmt.orelse)):
            return True
        if isinstance(stmt, LOOPS) and has_return(stmt):
            return True
    return False


def _ends_in_jump(stmts: list) -> bool:
    """Whether every path through ``stmts`` ends in return, break or continue."""
    for stmt in unwrapped(stmts):
        if isinstance(stmt, _JUMPS):
            return True
        if isinstance(stmt, gast.If) and _ends_in_jump(stmt.body) and _ends_in_jump(stmt.orelse):
            return True
    return False


def close_open_paths(body: List[ir.Stmt], stmt: ir.Stmt) -> None:
    """Append ``stmt`` to every path through ``body`` that does not return.

    Afterwards a ``return`` ends every path, and nothing follows a statement
    whose paths all return: reverse mode relies on that.
    """
    last = body[-1] if body else None
    if isinstance(last, ir.Return):
        return
    if isinstance(last, ir.If):
        close_open_paths(last.body, stmt)
        close_open_paths(last.orelse, stmt)
        return
    body.append(stmt)


def _value_of(node: gast.AST) -> Optional[gast.AST]:
    """The expression a binding statement takes its value from (a loop: its sequence)."""
    if isinstance(node, (gast.Assign, gast.AnnAssign, gast.NamedExpr)):
        return node.value
    if isinstance(node, gast.For):
        return node.iter
    return None


def _spelled(node: gast.expr, parsed: Parsed) -> str:
    """How the user wrote ``node``: a name by its name, anything else from the source."""
    return node.id if isinstance(node, gast.Name) else parsed.segment(node)
