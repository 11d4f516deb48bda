"""Lowering ``value, pullback = ad.vjp(g, x, ...)`` inside a differentiated function.

The value is the call ``g(x, ...)``, lowered like any call (inlined when it can be).
The pullback is a function value, a ``BoundDerivative`` (``inlining.py``): a call
``pullback(v)`` is the call ``g_cotangents(x, ..., seed=v)`` of ``g``'s closed
reverse-mode code (see ``closed_calls``), which the next transform differentiates
again, to any order.  The
arguments are taken as they are at the ``ad.vjp`` call, however the variables change
later.  A local ``g`` that reads local variables takes them as keyword-only arguments
(``Captured``), so they receive their gradient too.

``wrt`` is a literal, or by default every argument given, as ``ad.vjp`` differentiates
every float or array argument: emitted code checks at run time that each is one
(:func:`~s2s_ad.runtime.check_vjp_primals`), since lowering does not know the kinds.

>>> BoundDerivative(print, COTANGENTS, ("x",), (), ()).wrt
('x',)
"""

from __future__ import annotations

import inspect
import operator
from typing import Any, Optional, Tuple

import gast

from ... import runtime
from .. import hooks, ir
from ..closed_calls import cotangents_call, jvp_call
from ..signatures import Binding
from ..spec import COTANGENTS
from .inlining import BoundDerivative, Captured
from .state import LoweringState

_USAGE = "write `value, pullback = ad.vjp(g, x, ...)` as a statement of its own"
_OPTIONS = ("wrt", "has_aux", "optimize")


class PullbackLowering(LoweringState):
    """``value, pullback = ad.vjp(g, x)`` and the calls ``pullback(v)``."""

    def vjp_assignment(self, node: gast.Assign) -> bool:
        """Lower ``value, pullback = ad.vjp(g, ...)`` (True), or leave the statement (False)."""
        call = node.value
        if not isinstance(call, gast.Call):
            return False
        if not any(self.callee_of(call) is fn for fn in hooks.PULLBACK_MAKERS):
            return False
        value_target, pullback_name = self.vjp_targets(node)
        target, captured = self.transformed_function(call.args[0]) if call.args else (None, ())
        if not inspect.isfunction(target):
            raise self.error(
                "ad.vjp inside a differentiated function needs a Python function "
                "as its first argument",
                call,
                _USAGE,
            )
        primals = call.args[1:]
        if not primals or any(isinstance(p, gast.Starred) for p in primals):
            raise self.error(
                "ad.vjp inside a differentiated function takes its arguments "
                "written out, one by one",
                call,
                _USAGE,
            )
        wrt, checked = self.vjp_wrt(call, target, len(primals))
        args = tuple(self.snapshot(self.expression(p), p) for p in primals)
        kwargs = tuple(
            (n, self.snapshot(self.expression(gast.Name(n, gast.Load(), None, None)), call))
            for n in captured
        )
        if checked:  # the default wrt: every argument, which must be a float or an array
            names = ir.Const(tuple(wrt))
            check = ir.Call(runtime.check_vjp_primals, (names, *args), spelling="check_vjp_primals")
            self.emit(check, call)
        bare = gast.copy_location(gast.Call(func=call.func, args=[], keywords=[]), call)
        fn = Captured(target, captured) if captured else target
        value = self.call_function(bare, fn, _plain_name(value_target), args)
        self.assign(value_target, value, node)
        self.function_values[pullback_name] = BoundDerivative(target, COTANGENTS, wrt, args, kwargs)
        return True

    def vjp_targets(self, node: gast.Assign) -> Tuple[gast.expr, str]:
        """The targets of ``value, pullback = ad.vjp(...)``; the pullback is a name bound once."""
        unpacked = len(node.targets) == 1 and isinstance(node.targets[0], (gast.Tuple, gast.List))
        targets = node.targets[0].elts if unpacked else ()
        if len(targets) != 2:
            raise self.error(
                "ad.vjp inside a differentiated function is unpacked into the value and the "
                "pullback",
                node,
                _USAGE,
            )
        pullback = targets[1]
        if not isinstance(pullback, gast.Name) or pullback.id not in self.single_assignment:
            raise self.error(
                "the pullback of ad.vjp inside a differentiated function must be "
                "a name assigned once, outside loops and branches",
                node,
                "assign the pullback once, at the top level of the function",
            )
        return targets[0], pullback.id

    def vjp_wrt(self, call: gast.Call, target: Any, count: int) -> Tuple[Tuple[str, ...], bool]:
        """The parameters ``ad.vjp(g, ...)`` differentiates, and whether they are every
        argument given (then checked at run time to be floats or arrays)."""
        options = {kw.arg: kw.value for kw in call.keywords}
        unknown = [k for k in options if k not in _OPTIONS]
        if unknown or self.constant_argument(options.get("has_aux", _false())) is not False:
            what = f"`{unknown[0]}`" if unknown else "has_aux=True"
            raise self.error(
                f"ad.vjp inside a differentiated function does not take {what} yet",
                call,
                "return the aux from a separate call of g",
            )
        binding = Binding.of(target, "ad.vjp")
        try:
            given = binding.positional_names(count, "ad.vjp", "argument(s)")
            if "wrt" not in options:
                return given, True
            wrt, _ = binding.wrt_names(self.constant_argument(options["wrt"]), "ad.vjp")
        except TypeError as exc:
            raise self.error(str(exc), call, _USAGE) from None
        missing = [name for name in wrt if name not in given]
        if missing:
            raise self.error(
                f"ad.vjp: wrt names `{missing[0]}`, which is given no argument here", call, _USAGE
            )
        return wrt, False

    def snapshot(self, atom: ir.Atom, node: gast.AST) -> ir.Atom:
        """``atom`` as it is now: a variable is copied, since it may be assigned again."""
        return self.emit(atom, node) if isinstance(atom, ir.Var) else atom

    def bound_derivative_call(
        self, node: gast.Call, bound: BoundDerivative, keep: Optional[str], given: tuple = ()
    ) -> ir.Atom:
        """``pullback(v)``: the cotangents of ``bound.wrt``, by the closed reverse-mode code
        of ``bound.fn``; in ``JVP`` mode (a sweep) the tangent alone.  ``given`` holds an
        argument a partial gave first."""
        args, kwargs = self.call_arguments(node)
        args = [*given, *args]
        if len(args) != 1 or kwargs:
            raise self.error(
                "the pullback of ad.vjp takes one argument, the cotangent",
                node,
                "write pullback(v)",
            )
        plain = ir.Call(bound.fn, bound.args, bound.kwargs)
        loc = self.parsed.loc(node)
        if bound.mode == COTANGENTS:
            call = cotangents_call(bound.fn, bound.wrt, plain, args[0], loc)
            return self.emit(ir.Call(call.fn, call.args, call.kwargs, call.fn.__name__), node, keep)
        call = jvp_call(bound.fn, bound.wrt, plain, args, loc)
        pair = self.emit(ir.Call(call.fn, call.args, call.kwargs, call.fn.__name__), node)
        return self.emit(ir.Call(operator.getitem, (pair, ir.Const(1))), node, keep)


def _plain_name(target: gast.expr) -> Optional[str]:
    return target.id if isinstance(target, gast.Name) else None


def _false() -> gast.Constant:
    return gast.Constant(False, None)
