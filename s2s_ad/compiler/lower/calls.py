"""Lowering calls: functions, methods, ``sum``/``min``/``max``, and ``ad.grad(f)(x)``.

A call of a module-level function is one ``Call`` statement, whose rule
the later stages look up.  A method of a computed value is the NumPy
function of that name (``x.sum()`` is ``np.sum(x)``); ``xs.append(v)`` and
``xs.pop()`` are ``Push`` and ``Pop``.  ``sum``, ``min`` and ``max`` of a
comprehension are rewritten as loops, ``min(a, b)`` as branches.  Calls of
local functions are inlined (see ``local_functions.py``).
"""

from __future__ import annotations

import ast
import inspect
import math
import operator
from typing import Any, Optional, Tuple

import gast
import numpy as np

from ... import rules, runtime
from ...rules.numpy import ARRAY_METHODS
from ...runtime.schedules import checkpointed, records, saves
from .. import hooks, ir, nested, packed_calls
from ..binding import IN_PLACE_METHODS
from ..closed_calls import added_parameters, closed_derivative
from ..errors import TransformError
from ..parse import dotted_name
from ..signatures import parameters, signature
from ..spec import JVP
from .containers import locate
from .inlining import Captured, FunctionArgument, is_user_code, lifted_function
from .records import field_names
from .state import LoweringState

# x.reshape(2, 3) and x.transpose(1, 0) take the shape or axes as separate arguments.
_UNPACKED_METHODS = {"reshape", "transpose"}
# List methods that both modes follow item by item, with their number of arguments
# (anything else on a list, `xs.pop(0)` too, is a constant).
_STACK_METHODS = {"append": 1, "pop": 0}


class CallLowering(LoweringState):
    """Calls into atoms; a local function's call is inlined by :class:`LocalFunctionLowering`."""

    def call(self, node: gast.Call, name: Optional[str]) -> ir.Atom:
        if isinstance(node.func, gast.Name) and node.func.id in self.local_functions:
            return self.inline_call(node, self.local_functions[node.func.id], name)
        value = self.called_function(node.func)
        if value is not None:  # a function passed in, or taken from a tuple or dict
            return self.call_function(node, value, name)
        func = node.func
        if isinstance(func, gast.Attribute) and self.is_computed(func.value):
            if func.attr == "_replace":  # of a NamedTuple: a new record
                return self.replace_method(node, name)
            inlined = self.receiver_method_call(node, name)
            return inlined if inlined is not None else self.method_call(node, name)
        result = self.called_result(node, name)  # `compose(f, g)(x)`
        if result is not None:
            return result
        if isinstance(func, gast.Call):  # `ad.grad(g)(x)`
            return self.call_function(node, self.derived_function(func), name)
        fn = self.resolve(func)
        if any(fn is f for f in (checkpointed, saves, records)):
            raise self.misplaced_schedule(fn, node)
        if any(fn is t for t in hooks.DIRECT_TRANSFORMS):  # `ad.jvp(g, (x,), (v,))`
            return self.jvp_inside(node, name)
        if any(fn is t for t in hooks.PULLBACK_MAKERS):  # not `value, pullback = ad.vjp(...)`
            raise self.error(
                "ad.vjp inside a differentiated function is unpacked where it is called",
                node,
                "write `value, pullback = ad.vjp(g, x, ...)` as a statement of its own",
            )
        self.refuse_uncalled_maker(fn, node)  # `return ad.hessian(g)`
        self.refuse_parameter_writes(fn)
        record = self.record_call(node, fn, name)
        if record is not None:
            return record
        starred = any(isinstance(a, gast.Starred) for a in node.args)
        plain = not node.keywords and not starred
        if fn in (min, max) and len(node.args) >= 2 and plain:
            return self.min_max(node, fn, [self.expression(a) for a in node.args])
        if fn in (min, max) and starred and not node.keywords:  # `max(*pair)`
            values = self.call_arguments(node)[0]
            if len(values) >= 2:
                return self.min_max(node, fn, values)
        if fn in (sum, min, max) and len(node.args) == 1 and plain:
            arg = node.args[0]
            if isinstance(arg, (gast.GeneratorExp, gast.ListComp)):
                return self.reduction(node, fn, arg)
            if fn is not sum:  # min(xs): a loop over the items
                return self.reduction(node, fn, _items_of(arg))
        if fn in (list, tuple, dict):
            return self.container_call(node, fn, name)
        if fn is np.einsum and node.args and not _is_string(node.args[0]):
            node = self.einsum_with_subscripts(node)
        if fn is math.log and len(node.args) == 2 and not node.keywords:
            return self.log_in_base(node, name)
        if fn is divmod and len(node.args) == 2 and not node.keywords:
            return self.divmod_call(node, name)
        definition = rules.substitute_of(fn)
        if definition is not None:  # a library function s2s_ad defines in Python
            return self.inline_function(node, definition, name)
        if self.inlinable(fn):
            return self.inline_function(node, fn, name)
        if self.packs(fn):
            return self.packed_call(node, fn, name)
        args, kwargs = self.call_arguments(node)
        parts = dotted_name(node.func)
        spelling = ".".join(parts) if parts else None
        call = ir.Call(rules.Opaque.of(fn), tuple(args), tuple(kwargs), spelling)
        return self.emit(call, node, name)

    def log_in_base(self, node: gast.Call, name: Optional[str]) -> ir.Atom:
        """``math.log(x, base)`` is ``math.log(x) / math.log(base)``, each by its own rule."""
        logs = [
            self.emit(ir.Call(math.log, (self.expression(arg),), spelling="math.log"), node)
            for arg in node.args
        ]
        return self.emit(ir.Call(operator.truediv, tuple(logs)), node, name)

    def einsum_with_subscripts(self, node: gast.Call) -> gast.Call:
        """The interleaved ``np.einsum(a, [0, 1], b, [1, 2], [0, 2])`` as the call with
        subscripts, ``np.einsum("ab,bc->ac", a, b)``; the sublists must be written out."""
        operands, sublists = node.args[0::2], node.args[1::2]
        if len(node.args) % 2:  # the last one is the output's sublist
            operands, output = operands[:-1], [node.args[-1]]
        else:
            output = []
        letters = []
        for sublist in [*sublists, *output]:
            labels = _literal_labels(sublist)
            if labels is None:
                raise self.error(
                    "the sublists of np.einsum's interleaved form must be lists of whole "
                    "numbers written in the call",
                    sublist,
                    'write them out, or use subscripts: np.einsum("ij,jk->ik", a, b)',
                )
            letters.append("".join(labels))
        subscripts = ",".join(letters[: len(sublists)])
        if output:
            subscripts += "->" + letters[-1]
        args = [gast.Constant(subscripts, None), *operands]
        rewritten = gast.Call(node.func, args, node.keywords)
        return gast.copy_location(rewritten, node)

    def refuse_parameter_writes(self, fn: Any) -> None:
        """A user function that writes into its parameter changes its caller's object in
        Python, which a derivative working on values cannot do: refused where it writes."""
        if not inspect.isfunction(fn) or fn in self.callees_writing_nothing:
            return  # a Python function is hashable
        if self.is_library_call_of(fn) or rules.lookup(fn):
            return
        try:
            callee = self.parsed_callee(fn)
        except TransformError:
            return  # no source: the callee's own transform says so
        for param, write in nested.parameter_writes(callee.node):
            raise TransformError(
                f"`{fn.__name__}` writes into its parameter `{param}`, which changes the "
                "caller's object in Python; s2s_ad differentiates values, and the caller "
                "would not see the change",
                callee.loc(write),
                f"return the new value from `{fn.__name__}` and assign it in the caller, or "
                f"copy first (`{param} = {param}.copy()`) if the caller should not see it",
            )
        self.callees_writing_nothing.add(fn)

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

    def call_arguments(
        self, node: gast.Call, functions: bool = False, spread: bool = False
    ) -> tuple:
        """The atoms of a call's positional and keyword arguments.

        With ``functions`` (a call being inlined), an argument that is a function
        value stands as a ``FunctionArgument`` constant, for the body to call; with
        ``functions`` or ``spread`` (a call of a function that takes ``*args``), a last
        ``*xs`` whose items are not known here as a :class:`~s2s_ad.compiler.nested.Spread`,
        for the callee's ``*args``.
        """
        args = []
        for position, arg in enumerate(node.args):
            if isinstance(arg, gast.Starred):  # `g(*xs)`: the items of a known container
                last = position == len(node.args) - 1 and (functions or spread)
                args.extend(self.spread(arg.value, tuple, node, open_ended=last))
            else:
                args.append(self.argument(arg, functions))
        kwargs = []
        for kw in node.keywords:
            if kw.arg is None:  # `g(**d)`
                kwargs.extend(self.spread(kw.value, dict, node).items())
            else:
                kwargs.append((kw.arg, self.argument(kw.value, functions)))
        return args, kwargs

    def packs(self, fn: Any) -> bool:
        """Whether a call of ``fn`` that is not inlined is a call of
        ``packed_calls.packed(fn)``: a user function, or a derivative s2s_ad made, that
        takes ``*args`` or ``**kwargs``."""
        derived = getattr(fn, "_s2s_derived", None) is not None
        return (derived or is_user_code(fn)) and packed_calls.takes_variadic(fn)

    def packed_call(self, node: gast.Call, fn: Any, keep, args=(), kwargs=()) -> ir.Atom:
        """``h(a, b, c)`` of ``def h(x, *xs)``, not inlined, as ``h(x=a, xs=(b, c))`` of
        ``packed_calls.packed(h)``: each parameter one value, ``*xs`` a tuple built here
        (from the items of a last ``*ys`` too, known or not), ``**kw`` a dict.
        ``args``/``kwargs``: atoms bound first (a ``functools.partial``)."""
        call_args, call_kwargs = self.call_arguments(node, spread=True)
        given = dict([*kwargs, *call_kwargs])
        try:
            bound = signature(fn).bind(*args, *call_args, **given)
        except TypeError as exc:
            raise self.error(
                f"cannot match this call to the parameters of `{fn.__name__}`: {exc}",
                node,
                "call it with arguments that match its parameters",
            ) from None
        parameters = signature(fn).parameters
        values = []
        for name, value in bound.arguments.items():
            kind = parameters[name].kind
            if kind == inspect.Parameter.VAR_POSITIONAL and _spread_alone(value):
                value = self.emit(ir.Call(runtime.as_tuple, (value[0].items,)), node)  # `*xs`
            elif kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                value = self.packed(value, node)
            elif isinstance(value, nested.Spread):
                raise self.error(
                    f"`*{self.parsed.segment(node.args[-1].value)}` would fill the parameter "
                    f"`{name}` of `{fn.__name__}`, and its items are known only when it runs",
                    node,
                    "pass the arguments for the named parameters one by one",
                )
            values.append((name, value))
        call = ir.Call(packed_calls.packed(fn), (), tuple(values))
        return self.emit(call, node, keep)

    def argument(self, node: gast.expr, functions: bool) -> ir.Atom:
        value = self.known_function(node) if functions else None
        if value is not None:
            return ir.Const(FunctionArgument(value))
        return self.expression(node)

    def is_computed(self, node: gast.expr) -> bool:
        """Whether an expression is a value of this function, not a module or global."""
        parts = dotted_name(node)
        return parts is None or parts[0] in self.locals or parts[0] in self.env

    def method_call(self, node: gast.Call, name: Optional[str]) -> ir.Atom:
        """``x.sum(axis=0)`` as ``np.sum(x, axis=0)``; ``xs.append(v)``/``xs.pop()`` as Push/Pop."""
        method = node.func.attr
        if method == "extend" and len(node.args) == 1 and not node.keywords:
            if isinstance(node.func.value, gast.Name):
                return self.extended(node)
        # `x.sort()` sorts `x` itself, unlike np.sort: the transform refuses it if `x` varies
        fn = None if method in IN_PLACE_METHODS else ARRAY_METHODS.get(method)
        receiver = self.expression(node.func.value)
        cls = self.receiver_classes.get(receiver)
        if cls is not None and method in field_names(cls):
            raise self.error(
                f"`{method}` is a field of {cls.__name__}: s2s_ad does not call a function "
                "stored in a record",
                node,
                "pass the function as an argument of the function that calls it",
            )
        member = self.class_member(receiver, method)  # `Normal(mu, s).logpdf(x)`
        inlined = None if member is None else self.inline_method(node, receiver, member, name)
        if inlined is not None:
            return inlined
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

    def extended(self, node: gast.Call) -> ir.Atom:
        """``xs.extend(items)`` as ``for item in items: xs.append(item)``: each item a Push."""
        item = self.names.claim("item")
        self.mutable.add(item)
        append = gast.Attribute(node.func.value, "append", gast.Load())
        step = gast.Expr(gast.Call(append, [_name(item)], []))
        loop = gast.For(_name(item, gast.Store()), node.args[0], [step], [], None)
        locate(loop, node)
        self.block([loop])
        return ir.Const(None)

    def stack_step(self, method: str, stack: ir.Var, args: list, node, name) -> ir.Atom:
        """``xs.append(v)`` is a ``Push``, ``xs.pop()`` a ``Pop``: both modes follow the items."""
        loc = self.parsed.loc(node)
        if method == "append":
            self.refuse_function_values(args, node)
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
        comp = self.fresh_comprehension(comp)
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
            locate(stmt, node)
        self.block(statements)
        return ir.Var(total)

    def min_max(self, node: gast.Call, fn: Any, values: list) -> ir.Atom:
        """``min(a, b, ...)`` of the atoms ``values``: a branch per argument, so the
        derivative is the chosen one's."""
        better = operator.lt if fn is min else operator.gt
        loc = self.parsed.loc(node)
        var = self.names.temp()
        self.body.append(ir.Assign(var, values[0], loc, self.parsed.segment(node)))
        for value in values[1:]:
            test = self.emit(ir.Call(better, (value, var)), node)
            self.body.append(ir.If(test, [ir.Assign(var, value, loc)], [], loc))
        return var

    def jvp_inside(self, node: gast.Call, name: Optional[str]) -> ir.Atom:
        """``ad.jvp(g, (x, y), (v, None))`` as a call of ``g``'s forward-mode code (a
        derived function, see ``closed_calls``): ``(g(x, y), J @ v)``, differentiated
        again through that code.  A local ``g`` that reads local variables takes them."""
        usage = "write ad.jvp(g, (x, ...), (dx, ...)) with tuples written out, a tangent per primal"
        if len(node.args) != 3 or node.keywords:
            raise self.error(
                "ad.jvp inside a differentiated function takes g, the primals and the "
                "tangents, and no options",
                node,
                usage,
            )
        g, primals, tangents = node.args
        shown = (gast.Tuple, gast.List)
        if not (isinstance(primals, shown) and isinstance(tangents, shown)) or len(
            primals.elts
        ) != len(tangents.elts):
            raise self.error(
                "ad.jvp inside a differentiated function needs its primals and tangents "
                "as displays of the same length",
                node,
                usage,
            )
        target, captured = self.transformed_function(g)
        if not inspect.isfunction(target):
            raise self.error(
                "ad.jvp inside a differentiated function needs a Python function", g, usage
            )
        params = parameters(target)
        given = [i for i, t in enumerate(tangents.elts) if not _is_none(t)]
        if len(primals.elts) > len(params) or not given:
            raise self.error(
                f"ad.jvp: `{getattr(target, '__name__', 'g')}` takes the parameters "
                f"{', '.join(params)}; give a primal for each and at least one tangent",
                node,
                usage,
            )
        wrt = tuple(params[i] for i in given)
        wrapper = closed_derivative(target, JVP, wrt)
        args = tuple(self.expression(p) for p in primals.elts)
        kwargs = tuple(
            (d, self.expression(tangents.elts[i]))
            for d, i in zip(added_parameters(target, JVP, wrt), given)
        )
        value = Captured(wrapper, captured) if captured else wrapper
        bare = gast.Call(func=node.func, args=[], keywords=[])
        return self.call_function(gast.copy_location(bare, node), value, name, args, kwargs)

    def derived_function(self, node: gast.Call) -> Any:
        """``ad.grad(g)`` in ``ad.grad(g)(x)``: made now, from its constant arguments.

        The call of the result is then differentiated through the emitted code of
        ``g``'s derivative (see ``calls.Callee``).  A local ``g`` that reads local
        variables becomes a function of its own that takes them (`Captured`).
        """
        maker = self.callee_of(node)
        if any(maker is m for m in hooks.COMPOSITE_MAKERS):  # `ad.hessian(g)(x)`
            return self.composite_made_inside(node, maker)
        if maker not in hooks.DERIVATIVE_MAKERS:
            supported = [f"{name}(f)(...)" for name in hooks.DERIVATIVE_MAKERS.values()]
            supported += [f"{name}(f)(...)" for name, _ in hooks.COMPOSITE_MAKERS.values()]
            raise self.error(
                "calling the result of a call is only supported for "
                + ", ".join(supported[:-1])
                + " and "
                + supported[-1],
                node,
                "call a function by its name",
            )
        captured: Tuple[str, ...] = ()
        args = [self.constant_argument(a) for a in node.args[1:]]
        if node.args:
            target, captured = self.transformed_function(node.args[0])
            args.insert(0, target)
        kwargs = {kw.arg: self.constant_argument(kw.value) for kw in node.keywords}
        try:
            made = maker(*args, **kwargs)
        except TypeError as exc:
            raise self.error(str(exc), node, "") from None
        return Captured(made, captured) if captured else made

    def transformed_function(self, node: gast.expr) -> Tuple[Any, Tuple[str, ...]]:
        """The function a transform called here is given (``g`` of ``ad.grad(g)``), and
        the local variables it reads, which it takes (see :meth:`lifted`)."""
        local = self.known_function(node)
        if isinstance(local, nested.LocalFunction):
            return self.lifted(local, node)
        return self.constant_argument(node), ()

    def refuse_uncalled_maker(self, fn: Any, node: gast.Call) -> None:
        """``ad.hessian(g)`` made inside a differentiated function and not called where it
        is made, nor bound to a name assigned once: refused, saying what can be called."""
        spelling = hooks.spelling_of_maker(fn)
        if spelling is not None:
            raise self.error(
                f"{spelling}(g) made inside a differentiated function is called where it is "
                "made, or bound to a name assigned once (outside loops and branches) and called",
                node,
                hooks.inside_hint(),
            )

    def lifted(self, local: nested.LocalFunction, node: gast.AST) -> Tuple[Any, Tuple[str, ...]]:
        """A local function as a Python function, and the local variables it reads, which
        the function takes as keyword-only parameters of the same names."""
        free = nested.free_names(local.statements(), set(local.parameters))
        captured = tuple(n for n in free if n in self.locals or n in self.env)
        if not captured:
            return self.function_value(local, node).value, ()
        functions = [n for n in captured if n in self.local_functions or n in self.function_values]
        if functions or local.keyword_only:
            what = (
                f"reads the local function `{functions[0]}`"
                if functions
                else "has keyword-only parameters"
            )
            raise self.error(
                f"`{local.shown_name}` is differentiated here, and it {what}",
                node,
                "define the function at module level and pass what it reads as arguments",
            )
        defaults = self.constant_defaults(local)
        where = self.parsed.loc(local.node)
        return lifted_function(
            local, captured, defaults, where, self.parsed.fn.__globals__
        ), captured

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


def _spread_alone(value: tuple) -> bool:
    """Whether the ``*args`` of a call are all the items of one ``*xs``."""
    return len(value) == 1 and isinstance(value[0], nested.Spread)


def _is_string(node: gast.expr) -> bool:
    return isinstance(node, gast.Constant) and isinstance(node.value, str)


def _literal_labels(node: gast.expr) -> Optional[list]:
    """The einsum letters of a sublist written as ``[0, 1, ...]`` (52 labels, as NumPy's)."""
    if not isinstance(node, (gast.List, gast.Tuple)):
        return None
    labels = []
    for item in node.elts:
        value = item.value if isinstance(item, gast.Constant) else None
        if value is Ellipsis or isinstance(item, gast.Name) and item.id == "Ellipsis":
            labels.append("...")
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 52:
            labels.append(chr(ord("a") + value) if value < 26 else chr(ord("A") + value - 26))
        else:
            return None
    return labels


def _name(name: str, ctx: Any = None) -> gast.Name:
    return gast.Name(name, ctx or gast.Load(), None, None)


def _assign(name: str, value: gast.expr) -> gast.Assign:
    return gast.Assign([_name(name, gast.Store())], value, None)


def _items_of(arg: gast.expr) -> gast.GeneratorExp:
    """``min(xs)`` as ``min(v for v in xs)``."""
    item = "_item"
    generator = gast.comprehension(_name(item, gast.Store()), arg, [], 0)
    return gast.GeneratorExp(_name(item), [generator])


def _is_none(node: gast.expr) -> bool:
    return isinstance(node, gast.Constant) and node.value is None
