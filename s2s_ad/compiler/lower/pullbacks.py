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
        options = self.vjp_options(call)
        has_aux = bool(options.get("has_aux", False))
        value_target, pullback_name, *aux_target = self.vjp_targets(node, has_aux)
        target, captured = self.vjp_function(call)
        primals = call.args[1:]
        wrt, checked = self.vjp_wrt(call, target, len(primals), options)
        args = tuple(self.snapshot(self.expression(p), p) for p in primals)
        kwargs = tuple((n, self.snapshot(self.expression(_load(n)), call)) for n in captured)
        if checked:  # the default wrt: every argument, which must be a float or an array
            names = ir.Const(tuple(wrt))
            check = ir.Call(runtime.check_vjp_primals, (names, *args), spelling="check_vjp_primals")
            self.emit(check, call)
        bare = gast.copy_location(gast.Call(func=call.func, args=[], keywords=[]), call)
        fn = Captured(target, captured) if captured else target
        keep = None if has_aux else _plain_name(value_target)
        value = self.call_function(bare, fn, keep, args)
        aux = None
        if has_aux:  # g returns (output, aux): the pullback seeds the output alone
            value, aux = (
                self.emit(ir.Call(operator.getitem, (value, ir.Const(k))), call) for k in (0, 1)
            )
            self.assign(aux_target[0], aux, node)
        self.assign(value_target, value, node)
        pullback = BoundDerivative(target, COTANGENTS, wrt, args, kwargs, aux)
        self.function_values[pullback_name] = pullback
        return True

    def vjp_function(self, call: gast.Call) -> Tuple[Any, Tuple[str, ...]]:
        """``g`` of ``ad.vjp(g, x, ...)`` and the local variables it reads (see ``lifted``)."""
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
        return target, captured

    def vjp_options(self, call: gast.Call) -> dict:
        """The keyword arguments of ``ad.vjp(...)``: constants, ``wrt``, ``has_aux`` or
        ``optimize`` (the outer transform's decides)."""
        options = {kw.arg: self.constant_argument(kw.value) for kw in call.keywords}
        unknown = [k for k in options if k not in _OPTIONS]
        if unknown:
            raise self.error(f"ad.vjp does not take `{unknown[0]}`", call, _USAGE)
        return options

    def vjp_targets(self, node: gast.Assign, has_aux: bool) -> list:
        """The targets of ``value, pullback(, aux) = ad.vjp(...)``; the pullback is a name
        bound once."""
        unpacked = len(node.targets) == 1 and isinstance(node.targets[0], (gast.Tuple, gast.List))
        targets = node.targets[0].elts if unpacked else ()
        if len(targets) != 2 + has_aux:
            what = (
                "the value, the pullback and the aux" if has_aux else "the value and the pullback"
            )
            raise self.error(
                f"ad.vjp inside a differentiated function is unpacked into {what}",
                node,
                "write `value, pullback, aux = ad.vjp(g, x, has_aux=True)`" if has_aux else _USAGE,
            )
        pullback = targets[1]
        if not isinstance(pullback, gast.Name) or pullback.id not in self.single_assignment:
            raise self.error(
                "the pullback of ad.vjp inside a differentiated function must be "
                "a name assigned once, outside loops and branches",
                node,
                "assign the pullback once, at the top level of the function",
            )
        return [targets[0], pullback.id, *targets[2:]]

    def vjp_wrt(
        self, call: gast.Call, target: Any, count: int, options: dict
    ) -> Tuple[Tuple[str, ...], bool]:
        """The parameters ``ad.vjp(g, ...)`` differentiates, and whether they are every
        argument given (then checked at run time to be floats or arrays)."""
        binding = Binding.of(target, "ad.vjp")
        try:
            given = binding.positional_names(count, "ad.vjp", "argument(s)")
            if "wrt" not in options:
                return given, True
            wrt, _ = binding.wrt_names(options["wrt"], "ad.vjp")
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
            seed = args[0]
            if bound.aux is not None:  # the output's cotangent, and zeros for the aux
                zero = self.emit(ir.Call(runtime.zeros_like, (bound.aux,)), node)
                seed = self.emit(ir.Call(runtime.make_tuple, (seed, zero)), node)
            call = cotangents_call(bound.fn, bound.wrt, plain, seed, loc)
            return self.emit(ir.Call(call.fn, call.args, call.kwargs, call.fn.__name__), node, keep)
        call = jvp_call(bound.fn, bound.wrt, plain, args, loc)
        pair = self.emit(ir.Call(call.fn, call.args, call.kwargs, call.fn.__name__), node)
        return self.emit(ir.Call(operator.getitem, (pair, ir.Const(1))), node, keep)


def _plain_name(target: gast.expr) -> Optional[str]:
    return target.id if isinstance(target, gast.Name) else None


def _load(name: str) -> gast.Name:
    return gast.Name(name, gast.Load(), None, None)
