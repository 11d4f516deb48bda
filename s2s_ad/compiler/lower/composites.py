"""Lowering ``ad.hessian(g)(x)``, ``ad.jacobian(g)(x)``, ``ad.hvp(g)(x, v)``,
``ad.laplacian``, ``ad.divergence`` and ``ad.curl`` called inside a differentiated function.

Outside, such a function is a composite (``api/composite.py``): a linear assembly of
forward-mode sweeps.  Inside, the same assembly (``assemblies.py``) is inlined where the
call stands, over sweeps bound to the call's arguments (``BoundDerivative`` in ``JVP``
mode): ``g_jvp(x, d_x=v)[1]`` for ``J @ v``, and for ``H @ v`` the same over ``g``'s
gradient, made now by ``ad.grad(g, wrt=...)``.  The sweeps are ``closed_calls`` wrappers,
which the outer transform differentiates again, to any order.  A local ``g`` that reads
local variables takes them (``Captured``), so they receive their gradient too.

>>> sorted(ASSEMBLIES)
['curl', 'divergence', 'hessian', 'hvp', 'jacobian', 'laplacian']
"""

from __future__ import annotations

import inspect
from typing import Any, Optional

import gast

from .. import hooks, ir
from ..signatures import Binding
from ..spec import JVP
from . import assemblies
from .inlining import BoundDerivative, CompositeCall, FunctionArgument
from .state import LoweringState

# What each transform assembles, and whether its sweeps are H @ v (else J @ v).
ASSEMBLIES = {
    "hessian": (assemblies.hessian_inside, True),
    "jacobian": (assemblies.jacobian_inside, False),
    "hvp": (assemblies.hvp_inside, True),
    "laplacian": (assemblies.trace_inside, True),
    "divergence": (assemblies.trace_inside, False),
    "curl": (assemblies.curl_inside, False),
}


class CompositeLowering(LoweringState):
    """``ad.hessian(g)`` and the like made inside, and their calls."""

    def composite_made_inside(self, node: gast.Call, maker: Any) -> CompositeCall:
        """``ad.hessian(g, wrt=1)``: ``g`` (lifted if it reads local variables) and the
        constant options, checked as the transform checks them."""
        spelling, kind = hooks.COMPOSITE_MAKERS[maker]
        if not node.args:
            raise self.error(f"{spelling} needs the function to differentiate", node, "")
        target, captured = self.transformed_function(node.args[0])
        options = [self.constant_argument(a) for a in node.args[1:]]
        named = {kw.arg: self.constant_argument(kw.value) for kw in node.keywords}
        try:
            bound = inspect.signature(maker).bind(target, *options, **named)
        except TypeError as exc:
            raise self.error(f"{spelling}: {exc}", node, "") from None
        wrt = bound.arguments.get("wrt", 0)
        if bound.arguments.get("has_aux") or not isinstance(wrt, (int, str)):
            raise self.error(
                f"{spelling} inside a differentiated function takes one wrt and no has_aux",
                node,
                f"call {spelling} outside, or once per argument",
            )
        if not inspect.isfunction(target):
            raise self.error(
                f"{spelling} inside a differentiated function needs a Python function",
                node.args[0],
                "define the function with def or lambda",
            )
        assembly, second_order = ASSEMBLIES[kind]
        return CompositeCall(spelling, assembly, second_order, target, wrt, captured)

    def composite_call(
        self, node: gast.Call, made: CompositeCall, keep: Optional[str], given=(), named=()
    ) -> ir.Atom:
        """``ad.hessian(g)(x, ...)``: the assembly inlined over sweeps at these arguments."""
        args, kwargs = self.call_arguments(node)
        args, kwargs = [*given, *args], [*named, *kwargs]
        vector = []
        if made.assembly is assemblies.hvp_inside:  # `ad.hvp(g)(x, v)`: v comes last
            if not args:
                raise self.error(f"{made.spelling}(g) takes g's arguments and then v", node, "")
            vector = [args.pop()]
        binding = Binding.of(made.fn, made.spelling)
        try:
            (name,), _ = binding.wrt_names(made.wrt, made.spelling)
            given_names = binding.positional_names(len(args), made.spelling, "argument(s)")
        except TypeError as exc:
            raise self.error(str(exc), node, "") from None
        values = dict(zip(given_names, args)) | dict(kwargs)
        if name not in values:
            raise self.error(
                f"{made.spelling}: give `{name}`, which it differentiates, in the call", node, ""
            )
        captured = tuple((c, self.expression(_load(c))) for c in made.captured)
        fn = made.fn
        if made.second_order:
            fn = self.gradient_made_inside(made.fn, name, node)
        sweep = BoundDerivative(fn, JVP, (name,), tuple(args), tuple(kwargs) + captured)
        bare = gast.copy_location(gast.Call(func=node.func, args=[], keywords=[]), node)
        bound = (ir.Const(FunctionArgument(sweep)), values[name], *vector)
        return self.call_function(bare, made.assembly, keep, bound)

    def gradient_made_inside(self, fn: Any, name: str, node: gast.Call) -> Any:
        """``ad.grad(fn, wrt=name)``, made now: what ``H @ v`` sweeps run forward mode over."""
        for maker, spelling in hooks.DERIVATIVE_MAKERS.items():
            if spelling == "ad.grad":
                return maker(fn, wrt=name)
        raise self.error("ad.grad is not registered", node, "import s2s_ad")


def _load(name: str) -> gast.Name:
    return gast.Name(name, gast.Load(), None, None)
