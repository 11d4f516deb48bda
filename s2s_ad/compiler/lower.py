"""Stage 2: lower a parsed function to the three-address IR.

Each statement of the result applies one primitive to atoms.  Parameters are
read with ``load`` the first time they are used; a variable assigned once
keeps the user's name, everything else gets a fresh ``t<k>``.  Every
statement keeps its source position and the source text it computes, so
errors and comments can point back at the user's line.

Control flow stays structured (:class:`ir.If`, :class:`ir.For`,
:class:`ir.While`).  A variable assigned inside a branch or a loop is a
*mutable* variable: it keeps the user's name and every assignment writes it.
``return``, ``break`` and ``continue`` inside an ``if`` move the statements
after the ``if`` into the branch that does not jump, so that every jump ends
its block; a ``return`` inside a loop sets ``retval`` and breaks out.
Loops over sequences become loops over indices (``for i in range(len(xs)):
x = xs[i]``), which is what reverse mode needs to walk them backwards.

>>> def f(x, a, b):
...     return (x + a) * (x + b)
>>> print(lower(parse(f)).function.body[2].note)
x + a
"""

from __future__ import annotations

import ast
import copy
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import gast
import numpy as np

from .. import runtime
from ..rules.numpy import ARRAY_ATTRIBUTES, ARRAY_METHODS
from ..runtime.schedules import checkpointed, records, saves
from . import hooks, ir, nested
from .errors import TransformError
from .parse import NOT_FOUND, Parsed, dotted_name, parse

BINARY = {
    gast.Add: operator.add,
    gast.Sub: operator.sub,
    gast.Mult: operator.mul,
    gast.Div: operator.truediv,
    gast.FloorDiv: operator.floordiv,
    gast.Mod: operator.mod,
    gast.Pow: operator.pow,
    gast.MatMult: operator.matmul,
}

# What to tell the user about syntax this version does not transform.
UNSUPPORTED = {
    gast.AsyncFor: "`async for` loops cannot be differentiated",
    gast.Try: "`try` blocks cannot be differentiated",
    gast.With: "`with` blocks cannot be differentiated",
    gast.AsyncWith: "`async with` blocks cannot be differentiated",
    gast.Raise: "`raise` is not supported in differentiated code",
    gast.Yield: "generators (`yield`) cannot be differentiated",
    gast.YieldFrom: "generators (`yield from`) cannot be differentiated",
    gast.Await: "`await` cannot be differentiated",
    gast.Global: "`global` declarations are not supported",
    gast.Nonlocal: "`nonlocal` declarations are not supported",
    gast.AsyncFunctionDef: "`async def` cannot be differentiated",
    gast.ClassDef: "class definitions inside a differentiated function are not supported",
    gast.ListComp: "list comprehensions are supported only inside sum, min and max",
    gast.GeneratorExp: "generator expressions are supported only inside sum, min and max",
    gast.DictComp: "dict comprehensions are not supported yet",
    gast.SetComp: "set comprehensions are not supported yet",
    gast.Set: "set displays are not supported",
    gast.Starred: "star arguments (`*args`) are not supported",
    gast.Delete: "`del` is not supported in differentiated code",
    gast.Assert: "`assert` is not supported in differentiated code",
    gast.Import: "imports inside a differentiated function are not supported",
    gast.ImportFrom: "imports inside a differentiated function are not supported",
}
HINTS = {
    gast.Try: "move the code that may raise out of the differentiated function",
    gast.With: "open the resource outside and pass the values in",
    gast.Yield: "return a list (or an array) of the values instead",
    gast.YieldFrom: "return a list (or an array) of the values instead",
    gast.Global: "pass the value in as an argument and return the new value",
    gast.Nonlocal: "pass the value in as an argument and return the new value",
    gast.ClassDef: "define the class at module level",
    gast.AsyncFunctionDef: "write a plain `def`",
    gast.AsyncFor: "write a plain `for` loop",
    gast.Await: "compute the value before calling the differentiated function",
}
REWRITE_HINT = (
    "rewrite this line with arithmetic, math and NumPy calls, or move it into a "
    "helper function registered with ad.defvjp / ad.defjvp"
)
COMPARE = {
    gast.Lt: operator.lt,
    gast.LtE: operator.le,
    gast.Gt: operator.gt,
    gast.GtE: operator.ge,
    gast.Eq: operator.eq,
    gast.NotEq: operator.ne,
    gast.Is: operator.is_,
    gast.IsNot: operator.is_not,
}
# Calls that only build booleans: a test made of these may be evaluated eagerly.
_EAGER_SAFE = set(COMPARE.values()) | {operator.not_, runtime.both, runtime.either}
_JUMPS = (gast.Return, gast.Break, gast.Continue)
# Attributes of computed values that are constants for differentiation.
SHAPE_ATTRIBUTES = {"shape": np.shape, "ndim": np.ndim, "size": np.size}
# x.reshape(2, 3) and x.transpose(1, 0) take the shape or axes as separate arguments.
_UNPACKED_METHODS = {"reshape", "transpose"}
# List methods that both modes follow item by item, with their number of arguments
# (anything else on a list, `xs.pop(0)` too, is a constant).
_STACK_METHODS = {"append": 1, "pop": 0}
_LOOPS = (gast.For, gast.While)


@dataclass
class Lowered:
    """A function in IR form, with what later stages need to know about it."""

    parsed: Parsed
    function: ir.Function
    names: ir.Names
    param_temps: Dict[str, ir.Var] = field(default_factory=dict)
    free_values: Dict[str, Any] = field(default_factory=dict)
    load_of: Dict[ir.Var, str] = field(default_factory=dict)  # load temp -> name loaded


def lower(parsed: Parsed) -> Lowered:
    """The IR of a parsed function."""
    return _Lowerer(parsed).run()


def lower_function(fn) -> Lowered:
    """Parse and lower a Python function in one step."""
    return lower(parse(fn))


class _Lowerer:
    def __init__(self, parsed: Parsed):
        self.parsed = parsed
        self.node = parsed.node
        self.params = _params(parsed)
        self.param_names = {p.name for p in self.params}
        stores = Counter(nested.stored_names(self.node.body))
        self.locals = set(stores) | self.param_names
        self.definition_sites = self._definition_sites(stores)
        self.local_functions: Dict[str, nested.LocalFunction] = {}
        self.inlining: List[str] = []  # local functions being inlined, innermost last
        self.mutable = _assigned_in_control_flow(self.node)
        self.single_assignment = {
            n for n, c in stores.items() if c == 1 and n not in self.param_names
        } - self.mutable
        every_name = {n.id for n in gast.walk(self.node) if isinstance(n, gast.Name)}
        self.names = ir.Names(every_name | self.param_names)
        self.env: Dict[str, ir.Atom] = {}
        self._refuse_unsupported()
        self.top: List[ir.Stmt] = []
        self.body: List[ir.Stmt] = self.top
        self.loop_depth = 0
        self.booleans: set = set()  # variables holding results of comparisons
        self.returns_in_loops = any(
            isinstance(n, gast.Return) for loop in _loops(self.node) for n in gast.walk(loop)
        )
        self.retval = self.returned = None
        self.lowered = Lowered(parsed, None, self.names)  # function filled in by run()

    # ------------------------------------------------------------ driver

    def run(self) -> Lowered:
        statements = list(self.node.body)
        if statements and _is_docstring(statements[0]):
            statements = statements[1:]
        loc = self.parsed.loc(self.node)
        for p in self.params:
            if p.name in self.mutable:  # reassigned in a loop or branch: one variable
                var = ir.Var(p.name)
                self.top.append(ir.Assign(var, ir.Load(p.name), loc, p.name))
                self.lowered.param_temps[p.name] = var
                self.lowered.load_of[var] = p.name
                self.env[p.name] = var
        if self.returns_in_loops:
            self.retval = ir.Var(self.names.claim("retval"))
            self.returned = ir.Var(self.names.claim("returned"))
            self.top.append(ir.Assign(self.returned, ir.Const(False)))
        self.block(statements)
        _close_open_paths(self.top, ir.Return(ir.Const(None), loc))
        self.lowered.function = ir.Function(
            name=self.parsed.name, params=tuple(self.params), body=self.top, loc=loc
        )
        return self.lowered

    def _definition_sites(self, stores: Counter) -> Dict[int, str]:
        """The statements that define local functions (``def g``, ``g = lambda``), by id.

        Only definitions at the top of the body count, and their name must
        not be bound anywhere else: a call then always means one function.
        """
        sites = {}
        for stmt in self.node.body:
            name = _defined_function(stmt)
            if name is None:
                continue
            if stores[name] > 1 or name in self.param_names:
                raise self.error(
                    f"the local function `{name}` is bound more than once",
                    _another_binding(self.node, name, stmt),
                    "give each local function a name of its own",
                )
            sites[id(stmt)] = name
        return sites

    def error(self, message: str, node: gast.AST, hint: str = REWRITE_HINT) -> TransformError:
        return TransformError(message, self.parsed.loc(node), hint)

    def _refuse_unsupported(self) -> None:
        """Refuse, at its own line, the first construct this compiler cannot transform."""
        reduced = {
            id(node.args[0])
            for node in _walk_inlined(self.node)
            if isinstance(node, gast.Call)
            and len(node.args) == 1
            and not node.keywords
            and any(self.callee_of(node) is fn for fn in (sum, min, max))
        }
        for node in gast.walk(self.node):  # also inside nested functions: a clearer message
            if isinstance(node, (gast.Global, gast.Nonlocal)):
                raise self.error(UNSUPPORTED[type(node)], node, HINTS[type(node)])
        for node in _walk_inlined(self.node):
            if id(node) in reduced:
                continue
            if type(node) in UNSUPPORTED:
                raise self.error(UNSUPPORTED[type(node)], node, HINTS.get(type(node), REWRITE_HINT))
            if isinstance(node, (gast.For, gast.While)) and node.orelse:
                raise self.error(
                    "`else` clauses on loops are not supported",
                    node.orelse[0],
                    "set a flag before `break` and test it after the loop",
                )

    # -------------------------------------------------------- blocks

    def lowered_block(self, statements: list) -> List[ir.Stmt]:
        """Lower statements into a new block (a branch or a loop body)."""
        outer, self.body = self.body, []
        try:
            self.block(statements)
            return self.body
        finally:
            self.body = outer

    def block(self, statements: list) -> None:
        for k, stmt in enumerate(statements):
            rest = statements[k + 1 :]
            if isinstance(stmt, _JUMPS):
                self.jump(stmt)
                return
            if isinstance(stmt, gast.If) and rest and _may_jump(stmt):
                self.if_statement(stmt, rest)
                return
            if isinstance(stmt, _LOOPS) and self.returned is not None and _has_return(stmt):
                self.statement(stmt)
                self.after_loop_with_return(stmt, rest)
                return
            self.statement(stmt)

    def jump(self, node: gast.stmt) -> None:
        loc = self.parsed.loc(node)
        if isinstance(node, gast.Return):
            value = ir.Const(None) if node.value is None else self.tree(node.value)
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
        # `continue` ends its block, and every block after it was moved into
        # the branch that does not jump: nothing is left to skip.

    def after_loop_with_return(self, loop: gast.stmt, rest: list) -> None:
        loc = self.parsed.loc(loop)
        leave = ir.Break(loc) if self.loop_depth else ir.Return(self.retval, loc)
        self.body.append(ir.If(self.returned, [leave], self.lowered_block(rest), loc))

    def build_tuple(self, tree: tuple, node: gast.AST) -> ir.Atom:
        items = [self.build_tuple(t, node) if isinstance(t, tuple) else t for t in tree]
        return self.emit(ir.Call(runtime.make_tuple, tuple(items)), node)

    # -------------------------------------------------------- statements

    def statement(self, node: gast.stmt) -> None:
        if isinstance(node, gast.FunctionDef) or _defined_function(node):
            self.define_function(node)
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
        else:
            raise self.error(_unsupported(node), node)

    def define_function(self, stmt: gast.stmt) -> None:
        """Record a local ``def`` or ``g = lambda ...``; its defaults are evaluated now."""
        name = self.definition_sites.get(id(stmt))
        if name is None:
            raise self.error(
                "local functions can only be defined at the top level of the function body",
                stmt,
                "move the `def` (or `lambda`) out of the branch, loop or nested function",
            )
        node = stmt if isinstance(stmt, gast.FunctionDef) else stmt.value
        if isinstance(node, gast.FunctionDef) and node.decorator_list:
            raise self.error(
                "decorated local functions are not supported",
                node.decorator_list[0],
                "define the decorated function at module level",
            )
        if node.args.vararg is not None or node.args.kwarg is not None:
            raise self.error(
                "local functions with *args or **kwargs are not supported",
                node,
                "list the parameters explicitly",
            )
        local = nested.LocalFunction.of(node, name)
        for param, default in local.default_nodes:
            local.defaults[param] = self.expression(default)
        self.local_functions[name] = local

    def inline_call(self, node: gast.Call, local: nested.LocalFunction, keep) -> ir.Atom:
        """A call to a local function: its body, with fresh names, lowered right here."""
        if local.name in self.inlining:
            raise self.error(
                f"the local function `{local.name}` calls itself",
                node,
                "define it at module level, where recursion works",
            )
        args, kwargs = self.call_arguments(node)
        try:
            bound = local.bind(args, kwargs)
        except TypeError as exc:
            raise self.error(str(exc), node, "") from None
        statements, renames = nested.renamed_body(local, self.names.claim)
        self.declare_inlined(statements, [renames[p] for p in local.parameters])
        for param, value in bound.items():
            fresh = renames[param]
            if fresh in self.mutable:
                self.bind(fresh, value, node)
            else:
                self.env[fresh] = value  # the body cannot rebind the caller's names
        saved = self.retval, self.returned, self.loop_depth
        self.retval = self.returned = None
        self.loop_depth = 0
        if any(_has_return(loop) for loop in _loops(gast.Module(body=statements, type_ignores=[]))):
            self.retval = ir.Var(self.names.claim(f"{local.name}_retval"))
            self.returned = ir.Var(self.names.claim(f"{local.name}_returned"))
            self.body.append(ir.Assign(self.returned, ir.Const(False)))
        self.inlining.append(local.name)
        try:
            block = self.lowered_block(statements)
        finally:
            self.inlining.pop()
            self.retval, self.returned, self.loop_depth = saved
        return self.splice_inlined(block, local.name, node, keep)

    def declare_inlined(self, statements: list, params: List[str]) -> None:
        """Make the fresh names of an inlined body known, as ``__init__`` does for the function."""
        stores = Counter(nested.stored_names(statements))
        self.locals |= set(stores) | set(params)
        mutable = _assigned_in_control_flow(gast.Module(body=statements, type_ignores=[]))
        mutable |= {p for p in params if stores[p]}  # a reassigned parameter gets a variable
        self.mutable |= mutable
        self.single_assignment |= {n for n, c in stores.items() if c == 1} - mutable - set(params)

    def splice_inlined(self, block: List[ir.Stmt], name: str, node: gast.AST, keep) -> ir.Atom:
        """Append an inlined body; its returns become the value of the call."""
        loc = self.parsed.loc(node)
        _close_open_paths(block, ir.Return(ir.Const(None), loc))
        returns = [s for s in ir.walk(block) if isinstance(s, ir.Return)]
        last = block[-1]
        if len(returns) == 1 and last is returns[0]:
            value = last.value
            before = block[-2] if len(block) > 1 else None
            retarget = (
                keep
                and isinstance(value, ir.Var)
                and isinstance(before, ir.Assign)
                and before.target == value
                and value.name in self.names.generated
            )
            if retarget:  # `z = g(x)` names the body's last value `z`
                before.target = value = ir.Var(keep)
            self.body.extend(block[:-1])
            return value
        result = ir.Var(self.names.claim(f"{name}_result"))
        _returns_to_assignments(block, result)
        self.body.extend(block)
        return result

    def assign(self, target: gast.expr, value: ir.Atom, node: gast.AST) -> ir.Atom:
        """Bind ``target`` (a name, a tuple of targets or a subscript) to ``value``.

        Returns the atom that holds the value afterwards.
        """
        if isinstance(target, gast.Name):
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
            container = self.expression(target.value)
            if not isinstance(container, ir.Var):
                raise self.error("only variables can be assigned into", target)
            index = self.index(target.slice)
            loc = self.parsed.loc(node)
            self.body.append(ir.SetItem(container, index, value, loc))
            return value
        raise self.error(
            f"assigning to {type(target).__name__.lower()} targets is not supported",
            target,
            "assign to a name or to an element `x[i]`",
        )

    def bind(self, name: str, value: ir.Atom, node: gast.AST) -> ir.Atom:
        if name not in self.mutable:
            if isinstance(value, ir.Var) and value.name in self.mutable:
                # `b = a` with `a` reassigned later: `b` keeps today's value
                copy = ir.Var(name) if name in self.single_assignment else self.names.temp()
                loc, note = self.parsed.loc(node), self.parsed.segment(node)
                self.body.append(ir.Assign(copy, value, loc, note))
                value = copy
            self.env[name] = value
            return value
        var = ir.Var(name)
        self.env[name] = var
        last = self.body[-1] if self.body else None
        fresh = (
            isinstance(last, ir.Assign)
            and last.target == value
            and value.name in self.names.generated
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
            raise self.error(f"the operator {type(node.op).__name__} is not supported", node)
        note = self.parsed.segment(node)
        target = node.target
        if isinstance(target, gast.Name):
            current = self.name(target.id, target)
            value = self.expression(node.value)
            keep = target.id if target.id in self.single_assignment else None
            result = self.emit(ir.Call(fn, (current, value)), node, keep, note=note)
            self.bind(target.id, result, node)
        elif isinstance(target, gast.Subscript):
            container = self.expression(target.value)
            index = self.index(target.slice)
            current = self.emit(ir.Call(operator.getitem, (container, index)), target)
            value = self.expression(node.value)
            result = self.emit(ir.Call(fn, (current, value)), node, note=note)
            self.body.append(ir.SetItem(container, index, result, self.parsed.loc(node)))
        else:
            raise self.error("only names and elements `x[i]` can be updated in place", node)

    def if_statement(self, node: gast.If, rest: list) -> None:
        """``if``; ``rest`` (the statements after it) goes into each branch that does not jump."""
        cond = self.expression(node.test)
        body = list(node.body) + ([] if _ends_in_jump(node.body) else rest)
        orelse = list(node.orelse) + ([] if _ends_in_jump(node.orelse) else rest)
        self.body.append(
            ir.If(cond, self.lowered_block(body), self.lowered_block(orelse), self.parsed.loc(node))
        )

    def for_statement(self, node: gast.For) -> None:
        loc = self.parsed.loc(node)
        iterable = node.iter
        fn = self.callee_of(iterable)
        prologue = []  # (target node, atom) pairs bound at the top of each iteration
        counted = None  # enumerate's count, when it does not start at 0
        if fn is checkpointed:
            self.checkpointed_loop(node)
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
            sequence = self.expression(iterable.args[0])
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
            sequences = [self.expression(a) for a in iterable.args]
            index = ir.Var(self.names.claim("i"))
            prologue = list(zip(node.target.elts, sequences))
        else:
            sequence = self.expression(iterable)
            index = ir.Var(self.names.claim("i"))
            prologue = [(node.target, sequence)]
        lengths = [self.emit(ir.Call(len, (seq,), spelling="len"), iterable) for _, seq in prologue]
        count = lengths[0]
        for other in lengths[1:]:
            count = self.emit(ir.Call(min, (count, other), spelling="min"), iterable)
        steps = self.emit(ir.Call(range, (count,), spelling="range"), iterable)
        self.range_loop(node, steps, index, prologue, loc, counted)

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
        sequence = self.expression(inner)
        length = self.emit(ir.Call(len, (sequence,), spelling="len"), node.iter)
        positions = self.emit(ir.Call(range, (length,), spelling="range"), node.iter)
        steps = self.emit(ir.Call(reversed, (positions,)), node.iter)
        index = ir.Var(self.names.claim("i"))
        self.range_loop(node, steps, index, [(node.target, sequence)], loc)

    def range_loop(self, node, steps, index: ir.Var, prologue: list, loc, counted=None) -> None:
        self.loop_depth += 1
        outer, self.body = self.body, []
        try:
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

    def tree(self, node: gast.expr) -> ir.Tree:
        """A returned value: an atom, or a tuple display of returned values."""
        if isinstance(node, gast.Tuple):
            return tuple(self.tree(elt) for elt in node.elts)
        return self.expression(node)

    # ------------------------------------------------------- expressions

    def emit(
        self, value: ir.Expr, node: gast.AST, name: Optional[str] = None, note: str = ""
    ) -> ir.Var:
        # A user variable assigned once keeps its name; it cannot collide.
        target = ir.Var(name) if name else self.names.temp()
        loc = self.parsed.loc(node)
        self.body.append(ir.Assign(target, value, loc, note or self.parsed.segment(node)))
        return target

    def expression(self, node: gast.expr, name: Optional[str] = None) -> ir.Atom:
        """Lower an expression; ``name`` names its result after a user variable."""
        keep = name if name in self.single_assignment else None
        if isinstance(node, gast.Constant):
            return ir.Const(node.value)
        if isinstance(node, gast.Name):
            return self.name(node.id, node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, gast.BinOp):
            fn = BINARY.get(type(node.op))
            if fn is None:
                raise self.error(f"the operator {type(node.op).__name__} is not supported", node)
            left, right = self.expression(node.left), self.expression(node.right)
            return self.emit(ir.Call(fn, (left, right)), node, keep)
        if isinstance(node, gast.UnaryOp):
            operand = self.expression(node.operand)
            if isinstance(node.op, gast.UAdd):
                return operand
            if isinstance(node.op, gast.USub):
                if isinstance(operand, ir.Const) and isinstance(operand.value, (int, float)):
                    return ir.Const(-operand.value)
                return self.emit(ir.Call(operator.neg, (operand,)), node, keep)
            if isinstance(node.op, gast.Not):
                result = self.emit(ir.Call(operator.not_, (operand,)), node, keep)
                self.booleans.add(result)
                return result
            raise self.error(f"the operator {type(node.op).__name__} is not supported yet", node)
        if isinstance(node, gast.Call):
            return self.call(node, keep)
        if isinstance(node, gast.Compare):
            return self.compare(node, keep)
        if isinstance(node, gast.BoolOp):
            return self.boolean(node, keep)
        if isinstance(node, gast.IfExp):
            return self.conditional(node)
        if isinstance(node, gast.Subscript):
            container = self.expression(node.value)
            index = self.index(node.slice)
            return self.emit(ir.Call(operator.getitem, (container, index)), node, keep)
        if isinstance(node, (gast.Tuple, gast.List)):
            items = tuple(self.expression(e) for e in node.elts)
            maker = runtime.make_tuple if isinstance(node, gast.Tuple) else runtime.make_list
            return self.emit(ir.Call(maker, items), node, keep)
        if isinstance(node, gast.Dict):
            return self.dict_display(node, keep)
        if isinstance(node, gast.Lambda):
            return self.function_value(nested.LocalFunction.of(node, "<lambda>"), node)
        raise self.error(_unsupported(node), node)

    def function_value(self, local: nested.LocalFunction, node: gast.AST) -> ir.Const:
        """A local function passed on as a value: the Python function itself."""
        defaults = []
        for param, default in local.default_nodes:
            value = local.defaults.get(param) or self.expression(default)
            if not isinstance(value, ir.Const):
                raise self.error(
                    f"the default of `{param}` must be a constant when `{local.name}` "
                    "is passed on as a value",
                    default,
                    "",
                )
            defaults.append(value.value)
        line = self.parsed.loc(local.node).lineno
        fn, missing = nested.function_object(
            self.parsed.fn, local, line, self.parsed.resolver.cells, tuple(defaults)
        )
        if fn is None:
            what = f"reads the local variables {', '.join(missing)}" if missing else "is not found"
            raise self.error(
                f"`{local.name}` is passed on as a value, and it {what}",
                node,
                "call local functions directly, or pass a function that reads only "
                "its parameters, globals and constants",
            )
        return ir.Const(fn, spelling=None if local.name == "<lambda>" else local.name)

    def index(self, node: gast.expr) -> ir.Atom:
        """An index: atoms, slices ``a:b:c`` and tuples of them."""
        if isinstance(node, gast.Slice):
            parts = [
                ir.Const(None) if p is None else self.expression(p)
                for p in (node.lower, node.upper, node.step)
            ]
            if all(isinstance(p, ir.Const) for p in parts):
                return ir.Const(slice(*(p.value for p in parts)), spelling=_slice_text(parts))
            return self.emit(ir.Call(slice, tuple(parts), spelling="slice"), node)
        if isinstance(node, gast.Tuple):
            parts = tuple(self.index(e) for e in node.elts)
            return self.emit(ir.Call(runtime.make_tuple, parts), node)
        return self.expression(node)

    def dict_display(self, node: gast.Dict, keep: Optional[str]) -> ir.Atom:
        items = []
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, gast.Constant) and isinstance(key.value, str)):
                raise self.error(
                    "only dict displays with string keys are supported", key or node, ""
                )
            items.append((key.value, self.expression(value)))
        return self.emit(ir.Call(runtime.make_dict, (), tuple(items)), node, keep)

    def compare(self, node: gast.Compare, keep: Optional[str]) -> ir.Atom:
        """``a < b <= c`` is ``a < b and b <= c`` with ``b`` evaluated once."""
        left = self.expression(node.left)
        parts = []
        for op, right_node in zip(node.ops, node.comparators):
            right = self.expression(right_node)
            if isinstance(op, (gast.In, gast.NotIn)):
                part = self.emit(ir.Call(operator.contains, (right, left)), node)
                if isinstance(op, gast.NotIn):
                    part = self.emit(ir.Call(operator.not_, (part,)), node)
            else:
                part = self.emit(ir.Call(COMPARE[type(op)], (left, right)), node)
            parts.append(part)
            left = right
        result = parts[0]
        for part in parts[1:]:
            result = self.emit(ir.Call(runtime.both, (result, part)), node)
        if keep and isinstance(result, ir.Var) and result.name in self.names.generated:
            self.body[-1].target = result = ir.Var(keep)
        self.booleans.add(result)
        return result

    def boolean(self, node: gast.BoolOp, keep: Optional[str]) -> ir.Atom:
        """``and`` / ``or``: eager when the later operands only compare, short-circuit otherwise."""
        is_and = isinstance(node.op, gast.And)
        result = self.expression(node.values[0])
        for operand in node.values[1:]:
            outer, self.body = self.body, []
            try:
                value = self.expression(operand)
                statements = self.body
            finally:
                self.body = outer
            bools = self.booleans
            if all(_eager_safe(s) for s in statements) and result in bools and value in bools:
                self.body.extend(statements)
                combine = runtime.both if is_and else runtime.either
                result = self.emit(ir.Call(combine, (result, value)), node)
                self.booleans.add(result)
                continue
            var = self.names.temp()
            loc = self.parsed.loc(node)
            self.body.append(ir.Assign(var, result, loc))
            statements.append(ir.Assign(var, value, loc))
            body, orelse = (statements, []) if is_and else ([], statements)
            # the test reads the operand, not `var`: the branch rebinds `var`,
            # and reverse mode replays the test after the branch ran
            self.body.append(ir.If(result, body, orelse, loc))
            result = var
        return result

    def conditional(self, node: gast.IfExp) -> ir.Atom:
        """``a if c else b``: a branch that assigns one variable."""
        cond = self.expression(node.test)
        var = self.names.temp()
        loc = self.parsed.loc(node)
        branches = []
        for value_node in (node.body, node.orelse):
            outer, self.body = self.body, []
            try:
                value = self.expression(value_node)
                self.body.append(ir.Assign(var, value, loc, self.parsed.segment(value_node)))
                branches.append(self.body)
            finally:
                self.body = outer
        self.body.append(ir.If(cond, branches[0], branches[1], loc))
        return var

    def name(self, name: str, node: gast.AST) -> ir.Atom:
        if name in self.env:
            return self.env[name]
        if name in self.mutable:
            return ir.Var(name)
        if name in self.local_functions:
            return self.function_value(self.local_functions[name], node)
        if name in self.param_names:
            temp = self.load(ir.Load(name), node)
            self.lowered.param_temps[name] = temp
            return temp
        if name in self.locals:
            raise self.error(
                f"local variable {name!r} is used before it is assigned", node, hint=""
            )
        value = self.parsed.resolver.lookup(name)
        if value is NOT_FOUND:
            raise self.error(f"name {name!r} is not defined", node, hint="")
        self.lowered.free_values[name] = value
        return self.load(ir.Load(name, free=True), node)

    def load(self, load: ir.Load, node: gast.AST) -> ir.Var:
        """Read a parameter or free name once, at the function's top level.

        Loads go to the top level even from inside a branch or a loop, so
        that the value is defined wherever the name is used later.
        """
        temp = self.names.temp()
        self.top.append(ir.Assign(temp, load, self.parsed.loc(node), load.name))
        self.lowered.load_of[temp] = load.name
        self.env[load.name] = temp
        return temp

    def derived_function(self, node: gast.Call) -> Any:
        """``ad.grad(f)`` in ``ad.grad(f)(x)``: made now, from its constant arguments.

        The call of the result is then differentiated through the emitted
        code of ``f``'s derivative (see ``calls.Callee``).
        """
        maker = self.callee_of(node)
        if maker not in hooks.DERIVATIVE_MAKERS:
            supported = [f"{name}(f)(...)" for name in hooks.DERIVATIVE_MAKERS.values()]
            raise self.error(
                "calling the result of a call is only supported for "
                + ", ".join(supported[:-1])
                + " and "
                + supported[-1],
                node,
                "call a function by its name",
            )
        args = [self.constant_argument(a) for a in node.args]
        kwargs = {kw.arg: self.constant_argument(kw.value) for kw in node.keywords}
        try:
            return maker(*args, **kwargs)
        except TypeError as exc:
            raise self.error(str(exc), node, "") from None

    def constant_argument(self, node: gast.expr) -> Any:
        """A module-level object or a literal, as an argument of ``ad.grad(f, wrt=...)``."""
        if isinstance(node, (gast.Constant, gast.Tuple)):
            try:
                return ast.literal_eval(gast.gast_to_ast(node))
            except ValueError:
                pass
        elif dotted_name(node) is not None:
            return self.resolve(node)
        raise self.error(
            "the arguments of ad.grad(...) inside a differentiated function must be "
            "module-level functions and constants",
            node,
            "define the function at module level and give wrt as a literal",
        )

    def callee_of(self, node: gast.expr) -> Any:
        """The object a call's dotted callee denotes, or None."""
        if not isinstance(node, gast.Call):
            return None
        parts = dotted_name(node.func)
        if parts is None or parts[0] in self.locals or parts[0] in self.env:
            return None
        obj = self.parsed.resolver.lookup(parts[0])
        for attr in parts[1:]:
            obj = getattr(obj, attr, NOT_FOUND)
        return None if obj is NOT_FOUND else obj

    def resolve(self, node: gast.expr) -> Any:
        """The object a dotted name of free variables denotes (``np.linalg.norm``)."""
        parts = dotted_name(node)
        if parts is None or parts[0] in self.locals or parts[0] in self.env:
            raise self.error(
                "calling or reading attributes of computed values is not supported yet",
                node,
            )
        obj = self.parsed.resolver.lookup(parts[0])
        if obj is NOT_FOUND:
            raise self.error(f"name {parts[0]!r} is not defined", node, hint="")
        for attr in parts[1:]:
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                raise self.error(f"{'.'.join(parts)!r} does not exist", node, hint="") from None
        return obj

    def attribute(self, node: gast.Attribute) -> ir.Atom:
        parts = dotted_name(node)
        local = parts is None or parts[0] in self.locals or parts[0] in self.env
        if local and node.attr in SHAPE_ATTRIBUTES:
            value = self.expression(node.value)
            return self.emit(ir.Call(SHAPE_ATTRIBUTES[node.attr], (value,)), node)
        if local and node.attr in ARRAY_ATTRIBUTES:
            fn = ARRAY_ATTRIBUTES[node.attr]
            value = self.expression(node.value)
            return self.emit(ir.Call(fn, (value,), spelling=f"np.{fn.__name__}"), node)
        value = self.resolve(node)
        if isinstance(value, (int, float, complex, bool, type, np.dtype)):  # np.pi, np.float32
            return ir.Const(value, spelling=".".join(dotted_name(node)))
        raise self.error(
            f"{self.parsed.segment(node)!r} is a {type(value).__name__}, "
            "not a number this function can compute with",
            node,
        )

    def call(self, node: gast.Call, name: Optional[str]) -> ir.Atom:
        if isinstance(node.func, gast.Name) and node.func.id in self.local_functions:
            return self.inline_call(node, self.local_functions[node.func.id], name)
        func = node.func
        if isinstance(func, gast.Attribute) and self.is_computed(func.value):
            return self.method_call(node, name)
        fn = self.derived_function(func) if isinstance(func, gast.Call) else self.resolve(func)
        if any(fn is f for f in (checkpointed, saves, records)):
            raise self.misplaced_schedule(fn, node)
        if fn in (min, max) and len(node.args) >= 2 and not node.keywords:
            return self.min_max(node, fn)
        if fn in (sum, min, max) and len(node.args) == 1 and not node.keywords:
            arg = node.args[0]
            if isinstance(arg, (gast.GeneratorExp, gast.ListComp)):
                return self.reduction(node, fn, arg)
            if fn is not sum:  # min(xs): a loop over the items
                return self.reduction(node, fn, _items_of(arg))
        args, kwargs = self.call_arguments(node)
        parts = dotted_name(node.func)
        spelling = ".".join(parts) if parts else None
        return self.emit(ir.Call(fn, tuple(args), tuple(kwargs), spelling), node, name)

    def misplaced_schedule(self, fn: Any, node: gast.Call) -> TransformError:
        if fn is checkpointed and not self.parsed.filename.startswith("<s2s_ad"):
            return self.error(
                "ad.checkpointed(...) must be the iterable of a `for` loop",
                node,
                "write `for i in ad.checkpointed(range(n)):`",
            )
        # s2s_ad's reverse-mode code of a checkpointed loop, transformed again
        return self.error(
            "the reverse-mode code of a checkpointed loop cannot be differentiated again",
            node,
            "for second derivatives (ad.hessian, ad.hvp, ...), differentiate a version "
            "of the function without ad.checkpointed",
        )

    def call_arguments(self, node: gast.Call) -> tuple:
        """The atoms of a call's positional and keyword arguments."""
        args = []
        for arg in node.args:
            if isinstance(arg, gast.Starred):
                raise self.error(UNSUPPORTED[gast.Starred], arg, "pass the arguments one by one")
            args.append(self.expression(arg))
        kwargs = []
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error(
                    "`**kwargs` in calls is not supported", node, "pass keyword arguments by name"
                )
            kwargs.append((kw.arg, self.expression(kw.value)))
        return args, kwargs

    def is_computed(self, node: gast.expr) -> bool:
        """Whether an expression is a value of this function, not a module or global."""
        parts = dotted_name(node)
        return parts is None or parts[0] in self.locals or parts[0] in self.env

    def method_call(self, node: gast.Call, name: Optional[str]) -> ir.Atom:
        """``x.sum(axis=0)`` as ``np.sum(x, axis=0)``; ``xs.append(v)``/``xs.pop()`` as Push/Pop."""
        method = node.func.attr
        fn = ARRAY_METHODS.get(method)
        receiver = self.expression(node.func.value)
        args, kwargs = self.call_arguments(node)
        if _STACK_METHODS.get(method) == len(args) and isinstance(receiver, ir.Var) and not kwargs:
            return self.stack_step(method, receiver, args, node, name)
        if fn is None:  # a constant, unless it reads a varied value (the transform says so)
            call = ir.Call(runtime.call_method, (receiver, ir.Const(method), *args), tuple(kwargs))
            return self.emit(call, node, name)
        if method in _UNPACKED_METHODS and len(args) > 1:
            args = [self.emit(ir.Call(runtime.make_tuple, tuple(args)), node)]
        spelling = f"np.{fn.__name__}" if getattr(np, fn.__name__, None) is fn else None
        call = ir.Call(fn, (receiver, *args), tuple(kwargs), spelling)
        return self.emit(call, node, name)

    def stack_step(self, method: str, stack: ir.Var, args: list, node, name) -> ir.Atom:
        """``xs.append(v)`` is a ``Push``, ``xs.pop()`` a ``Pop``: both modes follow the items."""
        loc = self.parsed.loc(node)
        if method == "append":
            self.body.append(ir.Push(stack, args[0], loc))
            return ir.Const(None)
        target = ir.Var(name) if name else self.names.temp()
        self.body.append(ir.Pop(target, stack, loc))
        return target

    def reduction(self, node: gast.Call, fn: Any, comp: gast.AST) -> ir.Atom:
        """``sum(e for x in xs if c)``, ``min(...)``, ``max(...)`` as a loop.

        The comprehension is rewritten as Python statements (a ``for`` per
        generator, an ``if`` per condition) and lowered like user code, so
        both modes see an ordinary loop; its variables get fresh names.
        """
        comp = _fresh_comprehension(comp, self)
        total = self.names.claim("total" if fn is sum else "best")
        self.mutable.add(total)
        if fn is sum:
            update = [_assign(total, gast.BinOp(_name(total), gast.Add(), comp.elt))]
            init = gast.Constant(0, None)
        else:
            item = self.names.claim("item")
            self.mutable.add(item)
            better = gast.Lt() if fn is min else gast.Gt()
            replace = [_assign(total, _name(item))]
            is_first = gast.Compare(_name(total), [gast.Is()], [gast.Constant(None, None)])
            improves = gast.Compare(_name(item), [better], [_name(total)])
            update = [
                _assign(item, comp.elt),
                gast.If(is_first, replace, [gast.If(improves, replace, [])]),
            ]
            init = gast.Constant(None, None)
        body = update
        for generator in reversed(comp.generators):
            for condition in reversed(generator.ifs):
                body = [gast.If(condition, body, [])]
            body = [gast.For(generator.target, generator.iter, body, [], None)]
        statements = [_assign(total, init)] + body
        for stmt in statements:
            _locate(stmt, node)
        self.block(statements)
        return ir.Var(total)

    def min_max(self, node: gast.Call, fn: Any) -> ir.Atom:
        """``min(a, b, ...)``: a branch per argument, so the derivative is the chosen one's."""
        better = operator.lt if fn is min else operator.gt
        loc = self.parsed.loc(node)
        values = [self.expression(a) for a in node.args]
        var = self.names.temp()
        self.body.append(ir.Assign(var, values[0], loc, self.parsed.segment(node)))
        for value in values[1:]:
            test = self.emit(ir.Call(better, (value, var)), node)
            self.body.append(ir.If(test, [ir.Assign(var, value, loc)], [], loc))
        return var


def _name(name: str, ctx: Any = None) -> gast.Name:
    return gast.Name(name, ctx or gast.Load(), None, None)


def _assign(name: str, value: gast.expr) -> gast.Assign:
    return gast.Assign([_name(name, gast.Store())], value, None)


def _locate(tree: gast.AST, where: gast.AST) -> None:
    """Give synthesized nodes the position of the user's expression they stand for."""
    for node in gast.walk(tree):
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if hasattr(node, "_attributes") and attr in node._attributes:
                if getattr(node, attr, None) is None:
                    setattr(node, attr, getattr(where, attr, None))


def _items_of(arg: gast.expr) -> gast.GeneratorExp:
    """``min(xs)`` as ``min(v for v in xs)``."""
    item = "_item"
    generator = gast.comprehension(_name(item, gast.Store()), arg, [], 0)
    return gast.GeneratorExp(_name(item), [generator])


def _fresh_comprehension(comp: gast.AST, lowerer: _Lowerer) -> gast.AST:
    """A copy of a comprehension whose variables have fresh, mutable names."""
    import copy

    comp = copy.deepcopy(comp)
    renames = {}
    for generator in comp.generators:
        for node in gast.walk(generator.target):
            if isinstance(node, gast.Name):
                renames.setdefault(node.id, lowerer.names.claim(node.id))
    for node in gast.walk(comp):
        if isinstance(node, gast.Name) and node.id in renames:
            node.id = renames[node.id]
    lowerer.mutable.update(renames.values())
    lowerer.locals.update(renames.values())
    return comp


def _single_name(targets: list) -> Optional[str]:
    if len(targets) == 1 and isinstance(targets[0], gast.Name):
        return targets[0].id
    return None


def _slice_text(parts: List[ir.Const]) -> str:
    lower, upper, step = (("" if p.value is None else repr(p.value)) for p in parts)
    return f"slice({lower or None}, {upper or None}, {step or None})"


def _eager_safe(stmt: ir.Stmt) -> bool:
    return isinstance(stmt, ir.Assign) and (
        isinstance(stmt.value, ir.Load)
        or isinstance(stmt.value, ir.Call)
        and stmt.value.fn in _EAGER_SAFE
    )


def _plain_pair(target: gast.expr) -> bool:
    return (
        isinstance(target, gast.Tuple)
        and len(target.elts) == 2
        and isinstance(target.elts[0], gast.Name)
    )


def _walk_inlined(node: gast.AST):
    """Nodes of a function, including local functions (they are inlined), not classes."""
    for child in gast.iter_child_nodes(node):
        yield child
        if not isinstance(child, (gast.ClassDef, gast.AsyncFunctionDef)):
            yield from _walk_inlined(child)


def _defined_function(stmt: gast.stmt) -> Optional[str]:
    """The name a statement binds to a local function (``def g``, ``g = lambda``), or None."""
    if isinstance(stmt, gast.FunctionDef):
        return stmt.name
    if (
        isinstance(stmt, gast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], gast.Name)
        and isinstance(stmt.value, gast.Lambda)
    ):
        return stmt.targets[0].id
    return None


def _another_binding(fn: gast.FunctionDef, name: str, site: gast.stmt) -> gast.AST:
    """Where ``name`` is bound other than by the definition ``site`` (or the site itself)."""
    own = {id(n) for n in nested.own_nodes(site)} | {id(site)}
    for node in nested.own_nodes(fn):
        if id(node) in own:
            continue
        stored = isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Param))
        if (stored and node.id == name) or (
            isinstance(node, gast.FunctionDef) and node.name == name
        ):
            return node
    return site


def _returns_to_assignments(block: List[ir.Stmt], result: ir.Var) -> None:
    """Each ``return v`` of an inlined body (all in tail position) becomes ``result = v``."""
    for k, stmt in enumerate(block):
        if isinstance(stmt, ir.Return):
            block[k] = ir.Assign(result, stmt.value, stmt.loc)
        elif isinstance(stmt, ir.If):
            _returns_to_assignments(stmt.body, result)
            _returns_to_assignments(stmt.orelse, result)


def _loops(node: gast.AST) -> list:
    return [n for n in nested.own_nodes(node) if isinstance(n, _LOOPS)]


def _assigned_in_control_flow(fn: gast.FunctionDef) -> set:
    """Names bound inside a branch or a loop (they become mutable variables)."""
    names = set()
    for node in nested.own_nodes(fn):
        if isinstance(node, (gast.If, gast.For, gast.While)):
            inner = list(node.body) + list(node.orelse)
            if isinstance(node, gast.For):
                inner.append(node.target)
            for stmt in inner:
                for n in [stmt, *nested.own_nodes(stmt)]:
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                        names.add(n.id)
                    if isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name):
                        names.add(n.target.id)
    return names


def _has_return(node: gast.AST) -> bool:
    return any(isinstance(n, gast.Return) for n in nested.own_nodes(node))


def _may_jump(node: gast.If) -> bool:
    """Whether an ``if`` may return, break or continue (jumps of nested loops excluded)."""

    def visit(stmts) -> bool:
        for stmt in stmts:
            if isinstance(stmt, _JUMPS):
                return True
            if isinstance(stmt, gast.If) and (visit(stmt.body) or visit(stmt.orelse)):
                return True
            if isinstance(stmt, _LOOPS) and _has_return(stmt):
                return True
        return False

    return visit(node.body) or visit(node.orelse)


def _ends_in_jump(stmts: list) -> bool:
    """Whether every path through ``stmts`` ends in return, break or continue."""
    for stmt in stmts:
        if isinstance(stmt, _JUMPS):
            return True
        if isinstance(stmt, gast.If) and _ends_in_jump(stmt.body) and _ends_in_jump(stmt.orelse):
            return True
    return False


def _close_open_paths(body: List[ir.Stmt], stmt: ir.Stmt) -> None:
    """Append ``stmt`` to every path through ``body`` that does not return.

    Afterwards a ``return`` ends every path, and nothing follows a statement
    whose paths all return: reverse mode relies on that.
    """
    last = body[-1] if body else None
    if isinstance(last, ir.Return):
        return
    if isinstance(last, ir.If):
        _close_open_paths(last.body, stmt)
        _close_open_paths(last.orelse, stmt)
        return
    body.append(stmt)


def _params(parsed: Parsed) -> List[ir.Param]:
    args = parsed.node.args
    if args.vararg is not None or args.kwarg is not None:
        raise TransformError(
            "functions with *args or **kwargs cannot be differentiated yet",
            parsed.loc(args.vararg or args.kwarg),
            "list the parameters explicitly",
        )
    every = list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
    return [ir.Param(arg.id) for arg in every]


def _is_docstring(node: gast.stmt) -> bool:
    return (
        isinstance(node, gast.Expr)
        and isinstance(node.value, gast.Constant)
        and isinstance(node.value.value, str)
    )


def _unsupported(node: gast.AST) -> str:
    return UNSUPPORTED.get(type(node), f"`{type(node).__name__}` is not supported")
