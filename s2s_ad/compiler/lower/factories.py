"""Functions that return functions: closures, factories and combinators, specialised.

A call of a user function whose value is a local function (``return lambda t, y:
-alpha * y``), a tuple or list of them (``return [lambda t, k=k: p[k] * t ** k for k
in range(3)]``), a ``functools.partial`` or a function passed in, is inlined like any
call (``inlining.py``); its ``return`` gives a *function value* instead of data, a
``FunctionArgument`` constant.  The caller binds it to a name (``rhs = make_rhs(alpha)``),
calls it (``compose(f, g)(x)``), passes it on (``rk4(rhs, y0, h, n)``) or walks it
(``for term in make_terms(p)``); a call of it inlines its body there.

Its free variables are the inlined callee's locals, which have fresh names nobody
rebinds after the callee returned: a call reads them as they were when the callee
returned, Python's late binding to the callee frame's final values.  A lambda's
default (``k=k``) is evaluated where the lambda is made, as Python does.

Which function a call returns must be known at lowering: one returned from a loop or
from one of several ``return``s, or bound to a name assigned in a branch or a loop, is
refused at the user's line.

>>> is_function_value(ir.Const(FunctionArgument(print)))
True
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Optional

import gast

from .. import hooks, ir, nested
from .inlining import NOT_CONSTANT, Partial, is_user_code, not_inlined_reason
from .state import FunctionArgument, LoweringState, is_function_value


def packed_functions(value: Any) -> Optional[ir.Const]:
    """``*fs`` (a tuple of atoms) or ``**fs`` (a dict) bound to function values only: the
    tuple or dict of them, as one function value; None otherwise.

    >>> packed_functions((ir.Const(FunctionArgument(print)),)).value.value == (print,)
    True
    """
    items = list(value.values()) if isinstance(value, dict) else list(value)
    if not items or not all(map(is_function_value, items)):
        return None
    if isinstance(value, dict):
        return ir.Const(FunctionArgument({k: a.value.value for k, a in value.items()}))
    return ir.Const(FunctionArgument(tuple(a.value.value for a in items)))


class FactoryLowering(LoweringState):
    """Function values returned by inlined calls: made, bound, called and walked."""

    def returned_function(self, node: gast.Return) -> Optional[ir.Atom]:
        """``return h`` (a function value) in an inlined body: the function value it gives
        the call; None when it returns data."""
        if not self.inlining or node.value is None:
            return None
        value = self.known_function(node.value)
        if value is None:
            return None
        if self.loop_depth:
            raise self.error(
                "a function returned from inside a loop is not known where the call is "
                "lowered, so s2s_ad cannot specialise its calls",
                node,
                "pick the function after the loop, and return it there",
            )
        return ir.Const(FunctionArgument(value))

    def refuse_returning_function(self, value: Any, node: gast.Return) -> None:
        """The differentiated function itself returns a function value."""
        if not self.inlining and is_function_value(value):
            raise self.error(
                "the differentiated function returns a function",
                node,
                "return a value computed by calling the function instead",
            )

    def refuse_returned_functions(self, returns: list, node: gast.AST) -> None:
        """An inlined body with several ``return``s that gives a function from one of
        them: which one it gives depends on data."""
        if len(returns) > 1 and any(is_function_value(r.value) for r in returns):
            raise self.error(
                "this call returns a function from one of several `return`s, which one "
                "depends on the data, so s2s_ad cannot specialise its calls",
                node,
                "return one function that branches inside its body, or call the "
                "functions in each branch",
            )

    def bind_function_value(self, target: gast.expr, value: Any, node: gast.AST) -> None:
        """``rhs = make_rhs(alpha)``: the name stands for the function value."""
        if isinstance(target, (gast.Tuple, gast.List)) and isinstance(value, tuple):
            if len(target.elts) != len(value):
                raise self.error(
                    f"this unpacks {len(value)} functions into {len(target.elts)} names",
                    target,
                    "",
                )
            for elt, item in zip(target.elts, value):
                self.bind_function_value(elt, item, node)
            return
        if not isinstance(target, gast.Name) or target.id in self.mutable:
            raise self.error(
                "a function a call returned can only be bound to a name assigned once, "
                "outside branches and loops: s2s_ad specialises its calls where it is "
                "lowered",
                target,
                "call the function where it is made (`make(a)(x)`), or give each function "
                "a name of its own",
            )
        self.env.pop(target.id, None)
        self.function_values[target.id] = value

    def called_result(self, node: gast.Call, keep) -> Optional[ir.Atom]:
        """``compose(f, g)(x)``: the call of the function value a user function's call
        returned; None when ``node.func`` is no call of a user function."""
        if hooks.spelling_of_maker(self.callee_of(node.func)) is not None:
            return None  # `ad.grad(g)(x)`, a maker of the hook table's
        self.refuse_called_result_of_recursion(node.func)
        if not self.calls_user_function(node.func):
            return None
        value = self.expression(node.func)
        if not is_function_value(value):
            raise self.error(
                "this calls the result of a call that returns data, not a function",
                node,
                "make the called function return a function (a local `def` or lambda)",
            )
        return self.call_function(node, value.value.value, keep)

    def refuse_called_result_of_recursion(self, func: gast.expr) -> None:
        """``make(n, a)(x)`` of a user function that is called, not inlined (it recurses):
        the function it returns is made when the code runs, too late to specialise."""
        fn = self.callee_of(func) if not self.is_computed(getattr(func, "func", func)) else None
        if not is_user_code(fn) or self.inlinable(fn):
            return
        reason = not_inlined_reason(fn) or f"`{fn.__name__}` calls itself"
        raise self.error(
            f"this calls the function `{fn.__name__}` returns, but {reason}, so s2s_ad calls "
            "it rather than inlining it, and the function it returns is not known here",
            func,
            f"let `{fn.__name__}` be inlined (no recursion: a loop instead; constant "
            "defaults), or make it compute the value itself",
        )

    def calls_user_function(self, node: gast.expr) -> bool:
        """Whether ``node`` is a call of a local function or an inlinable user function."""
        if not isinstance(node, gast.Call):
            return False
        if isinstance(node.func, gast.Name) and node.func.id in self.local_functions:
            return True
        if isinstance(node.func, gast.Call):
            return self.calls_user_function(node.func)
        fn = self.called_function(node.func)  # a factory passed in: `make(a)(x)`
        if fn is None and not self.is_computed(node.func):
            fn = self.callee_of(node)
        return self.is_inlined(fn)

    def is_inlined(self, fn: Any) -> bool:
        """Whether a call of the function value ``fn`` is inlined (so it may give one)."""
        if isinstance(fn, Partial):
            return self.is_inlined(fn.target)
        if isinstance(fn, functools.partial):
            return self.is_inlined(fn.func)
        return isinstance(fn, nested.LocalFunction) or self.inlinable(fn)

    def returned_table(self, node: gast.expr) -> Any:
        """``for term in make_terms(p)``: the tuple or dict of functions the call of a user
        function returned, or None; a call that returns data is lowered once, its value
        kept for the loop (``prelowered``)."""
        if not self.calls_user_function(node):
            return None
        value = self.expression(node)
        if is_function_value(value) and isinstance(value.value.value, (tuple, dict)):
            return value.value.value
        if is_function_value(value):
            raise self.error("this walks a single function", node, "return a tuple of them")
        self.prelowered[node] = value
        return None

    def function_comprehension(self, node: gast.ListComp) -> Optional[tuple]:
        """``[lambda t, k=k: p[k] * t ** k for k in range(3)]``: a tuple of function values,
        one per item of a ``range`` of constant length; None for other comprehensions."""
        if len(node.generators) != 1 or not isinstance(node.elt, gast.Lambda):
            return None
        generator = node.generators[0]
        if generator.ifs or not isinstance(generator.target, gast.Name):
            return None
        stops = self.constant_range(generator.iter)
        if stops is None:
            raise self.error(
                "a comprehension of functions is unrolled, one function per item, so it "
                "must walk `range(n)` with `n` known where it is lowered",
                generator.iter,
                "walk `range` of a constant, or write the functions out in a tuple",
            )
        fresh = self.names.claim(generator.target.id)
        element = _renamed_variable(node.elt, generator.target.id, fresh)
        items = []
        for k in range(*stops):  # the lambda's defaults (`k=k`) are evaluated per item
            self.env[fresh] = ir.Const(k)
            items.append(self.known_function(element))
        return tuple(items)  # the variable keeps its last value: late binding

    def constant_range(self, node: gast.expr) -> Optional[tuple]:
        """The arguments of ``range(...)`` when they are constants, else None."""
        if not isinstance(node, gast.Call) or self.callee_of(node) is not range or node.keywords:
            return None
        values = [self.constant_index(a) for a in node.args]
        for k, arg in enumerate(node.args):  # a parameter bound to a constant
            if isinstance(arg, gast.Name) and isinstance(self.env.get(arg.id), ir.Const):
                values[k] = self.env[arg.id].value
        if any(v is NOT_CONSTANT or not isinstance(v, int) for v in values):
            return None
        return tuple(values)


def _renamed_variable(node: gast.Lambda, name: str, fresh: str) -> gast.Lambda:
    """A copy of a comprehension's lambda where its variable ``name`` is ``fresh``: in the
    defaults, and in the body unless a parameter of the lambda shadows it."""
    node = copy.deepcopy(node)
    args = node.args
    shadowed = name in {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
    reads = list(args.defaults) + [d for d in args.kw_defaults if d is not None]
    if not shadowed:
        reads.append(node.body)
    for read in reads:
        for inner in gast.walk(read):
            if isinstance(inner, gast.Name) and inner.id == name:
                inner.id = fresh
    return node
