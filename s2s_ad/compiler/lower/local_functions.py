"""Lowering local functions (``def g``, ``g = lambda``): definitions, inlined calls, values.

A call of a local function is inlined: its body, with fresh names, is
lowered where the call stands (see ``nested.py``).  A local function used
as a value is the Python function object itself.
"""

from __future__ import annotations

from collections import Counter
from typing import List

import gast

from .. import ir, nested
from .factories import packed_functions
from .inlining import FunctionArgument
from .state import LoweringState, assigned_in_control_flow, loops
from .statements import close_open_paths, has_return


class LocalFunctionLowering(LoweringState):
    """Local functions: recorded where defined, inlined where called."""

    def define_function(self, stmt: gast.stmt) -> None:
        """Record a local ``def`` or ``g = lambda ...``; its defaults are evaluated now."""
        name = self.definition_sites.get(stmt)
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
        local = nested.LocalFunction.of(node, name)
        local.parsed = self.parsed
        for param, default in local.default_nodes:
            local.defaults[param] = self.expression(default)
        self.local_functions[name] = local

    def inline_call(
        self,
        node: gast.Call,
        local: nested.LocalFunction,
        keep,
        bound_args=(),
        bound_kwargs=(),
        free_renames=None,
        code=None,
    ) -> ir.Atom:
        """A call to a local function: its body, with fresh names, lowered right here.

        ``bound_args``/``bound_kwargs`` come before the call's own (a partial's);
        ``free_renames`` are fresh names for free names of a module-level function, and
        ``code`` its code object: a call of it inside its own body is recursion, while one
        in the call's arguments (``h(h(x))``) is not.
        """
        if any(local.node is inlined for inlined in self.inlining):
            raise self.error(
                f"the local function `{local.name}` calls itself",
                node,
                "define it at module level, where recursion works",
            )
        args, kwargs = self.call_arguments(node, functions=True)
        args = list(bound_args) + args
        kwargs = list(dict([*bound_kwargs, *kwargs]).items())
        try:
            bound = local.bind(args, kwargs)
        except TypeError as exc:
            raise self.error(str(exc), node, "") from None
        statements, renames = nested.renamed_body(local, self.names.claim, free_renames)
        self.register_definitions(statements, renames)
        self.declare_inlined(statements, [renames[p] for p in local.parameters])
        arguments = list(node.args) + [kw.value for kw in node.keywords]
        sources = set().union(*map(self.sharing.sources, arguments)) if arguments else set()
        for param, value in bound.items():
            fresh = renames[param]
            if param in (local.var_positional, local.var_keyword):
                value = packed_functions(value) or self.packed(value, node)
            if isinstance(value, ir.Const) and isinstance(value.value, FunctionArgument):
                self.function_values[fresh] = value.value.value  # calls of it are inlined
                continue
            self.sharing.bind(fresh, sources)  # the body may write into what it was given
            self.bound_names.add(fresh)
            if fresh in self.mutable:
                self.bind(fresh, value, node)
            else:
                self.env[fresh] = value  # the body cannot rebind the caller's names
        saved = self.retval, self.returned, self.loop_depth, self.parsed
        self.retval = self.returned = None
        self.loop_depth = 0
        if any(has_return(loop) for loop in loops(gast.Module(body=statements, type_ignores=[]))):
            self.retval = ir.Var(self.names.claim(f"{local.shown_name}_retval"))
            self.returned = ir.Var(self.names.claim(f"{local.shown_name}_returned"))
            self.body.append(ir.Assign(self.returned, ir.Const(False)))
        self.inlining.append(local.node)
        self.inline_calls.append(node)
        self.inlined_code.append(code)
        self.parsed = local.parsed or self.parsed  # the body's own source and names
        try:
            block = self.lowered_block(statements)
        finally:
            self.inlining.pop()
            self.inline_calls.pop()
            self.inlined_code.pop()
            self.retval, self.returned, self.loop_depth, self.parsed = saved
        return self.splice_inlined(block, local.shown_name, node, keep)

    def declare_inlined(self, statements: list, params: List[str]) -> None:
        """Make the fresh names of an inlined body known, as ``__init__`` does for the function."""
        placed = list(nested.own_nodes_placed(gast.Module(body=statements, type_ignores=[])))
        own = nested.own_of(placed)  # a module's own nodes: its statements' (one walk)
        stores = Counter(nested.names_stored(own))
        stores.update(  # an item write rebinds its variable: `a = updated(a, i, v)`
            root for root in map(nested.item_written, own) if root
        )
        self.locals |= set(stores) | set(params)
        mutable = assigned_in_control_flow(placed)
        mutable |= {p for p in params if stores[p]}  # a reassigned parameter gets a variable
        self.mutable |= mutable
        self.single_assignment |= {n for n, c in stores.items() if c == 1} - mutable - set(params)

    def splice_inlined(self, block: List[ir.Stmt], name: str, node: gast.AST, keep) -> ir.Atom:
        """Append an inlined body; its returns become the value of the call."""
        loc = self.parsed.loc(node)
        close_open_paths(block, ir.Return(ir.Const(None), loc))
        returns = [s for s in ir.walk(block) if isinstance(s, ir.Return)]
        self.refuse_returned_functions(returns, node)
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

    def constant_defaults(self, local: nested.LocalFunction) -> tuple:
        """The values of a local function's defaults, which must be constants."""
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
        return tuple(defaults)

    def function_value(self, local: nested.LocalFunction, node: gast.AST) -> ir.Const:
        """A local function passed on as a value: the Python function itself."""
        defaults = self.constant_defaults(local)
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


def _returns_to_assignments(block: List[ir.Stmt], result: ir.Var) -> None:
    """Each ``return v`` of an inlined body (all in tail position) becomes ``result = v``."""
    for k, stmt in enumerate(block):
        if isinstance(stmt, ir.Return):
            block[k] = ir.Assign(result, stmt.value, stmt.loc)
        elif isinstance(stmt, ir.If):
            _returns_to_assignments(stmt.body, result)
            _returns_to_assignments(stmt.orelse, result)
