"""The transforms of a :class:`~s2s_ad.api.composite.Composite` (``ad.grad(ad.hessian(f))``).

Each is forward mode through the composite (:class:`~s2s_ad.api.composite.Through`):
one derivative of the composite per input entry, each the same assembly of sweeps of
code differentiated once more.  A gradient is the Jacobian of a size-1 output, read as
a scalar's; what a transform returns is a composite again, so it may be transformed
again.

>>> def f(x):
...     return x ** 4
>>> from s2s_ad.api.higher import hessian
>>> gradient(composite_of(hessian(f)), 0, True, "grad")((2.0,))  # 24 x
48.0
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from ..compiler.derived import differentiable, needs_real
from ..compiler.signatures import Wrt
from .checks import check_tangent
from .composite import (
    Composite,
    Through,
    checked,
    composite_of,
    forward_jacobian,
    jacobian_body,
)
from .trees import leaves, rebuild

__all__ = ["composite_of", "gradient", "jacobian", "jvp", "vjp", "derivative", "refuse"]


def refuse(composite: Composite, who: str, what: str) -> None:
    """A ``TypeError``: ``who`` does not transform ``composite`` with ``what``."""
    raise TypeError(
        f"{who} of a function made by {composite.made_by} is supported without {what}; "
        f"transform f itself for that"
    )


def _resolve(composite: Composite, wrt: Wrt, who: str) -> Tuple[Tuple[str, ...], bool, tuple]:
    """The parameter names ``wrt`` names, whether one was asked for, and their positions."""
    names, single = composite.binding.wrt_names(wrt, who)
    return names, single, composite.binding.positions(names)


def _scalar_shaped(block: Any, like: Any) -> Any:
    """A block ``(1,) * k + x.shape`` (or ``x.shape`` already) as shaped like ``x``, leaf by
    leaf for a list, tuple or dict ``x``.

    >>> _scalar_shaped((np.ones((1, 2)), np.ones(1)), (np.zeros(2), 0.0))
    (array([1., 1.]), 1.0)
    """
    return rebuild(like, map(_leaf_shaped, leaves(block), leaves(like)))


def _leaf_shaped(block: Any, like: Any) -> Any:
    if np.shape(like):
        return np.reshape(block, np.shape(like))
    return np.reshape(block, ()).item() if isinstance(block, np.ndarray) else block


def _as_float(tangent: Any) -> Any:
    """A tangent as floats (float arrays), leaf by leaf."""
    as_float = [np.asarray(t, dtype=float) if np.ndim(t) else float(t) for t in leaves(tangent)]
    return rebuild(tangent, as_float)


def gradient(
    composite: Composite, wrt: Wrt, optimize: bool, who: str, with_value: bool = False
) -> Composite:
    """The gradient of a composite with a size-1 output (``(value, gradient)`` with
    ``with_value``); a tuple of gradients for a tuple ``wrt``."""
    names, single, positions = _resolve(composite, wrt, who)

    def body(sweep: Any, args: tuple) -> Any:
        inputs = [args[p] for p in positions]
        out, blocks, _ = forward_jacobian(sweep, args, inputs, who)
        if np.size(out) != 1:
            raise TypeError(
                f"{who} expects a scalar output; the function made by {composite.made_by} "
                f"returns shape {np.shape(out)} (use ad.jacobian)"
            )
        shaped = tuple(_scalar_shaped(b, x) for b, x in zip(blocks, inputs))
        result = shaped[0] if single else shaped
        return (_scalar_shaped(out, 0.0), result) if with_value else result

    bind = checked(composite.bind, positions, names)
    return Composite(
        composite.made_by, composite.binding, body, Through(composite, names, optimize), bind
    )


def jacobian(composite: Composite, wrt: Wrt, optimize: bool, who: str) -> Composite:
    """The Jacobian of a composite, ``out.shape + in.shape`` (a tuple for a tuple ``wrt``)."""
    names, single, positions = _resolve(composite, wrt, who)
    bind = checked(composite.bind, positions, names)
    body = jacobian_body(positions, single)
    return Composite(
        composite.made_by, composite.binding, body, Through(composite, names, optimize), bind
    )


def derivative(composite: Composite, order: int, optimize: bool) -> Composite:
    """The ``order``-th derivative of a composite in its first argument, along ones
    (elementwise for an elementwise function of an array)."""
    names, _, positions = _resolve(composite, 0, "derivative")

    def body(sweep: Any, args: tuple) -> Any:
        like = args[positions[0]]
        ones = rebuild(like, [np.ones_like(x) if np.ndim(x) else 1.0 for x in leaves(like)])
        for _ in range(order):
            sweep = sweep.lifted(names, (ones,), optimize)
        return composite.body(sweep, args)

    bind = checked(composite.bind, positions, names)
    return Composite(composite.made_by, composite.binding, body, composite.sweep, bind)


def jvp(
    composite: Composite, primals: Sequence[Any], tangents: Sequence[Any], optimize: bool
) -> Tuple[Any, Any]:
    """``(W(*primals), its derivative along tangents)``; None marks a constant argument."""
    params = composite.binding.params
    if any(t is not None for t in tangents[len(params) :]):
        raise TypeError(
            f"jvp of a function made by {composite.made_by} takes tangents for the parameters "
            f"of {composite.binding.name} only ({', '.join(params)}); give None for the others"
        )
    active = [(name, t) for name, t in zip(params, tangents) if t is not None]
    names = tuple(name for name, _ in active)
    bind = checked(composite.bind, composite.binding.positions(names), names)
    args = bind(tuple(primals), {}, "jvp")
    for (name, tangent), p in zip(active, composite.binding.positions(names)):
        check_tangent(tangent, args[p], "jvp", name)
    out = composite(args)
    if not names:
        return out, np.zeros_like(out) if isinstance(out, np.ndarray) else 0.0 * out
    direction = tuple(_as_float(t) for _, t in active)
    return out, composite.lifted(names, direction, optimize)(args)


def vjp(
    composite: Composite, primals: Sequence[Any], wrt: Optional[Wrt], optimize: bool
) -> Tuple[Any, Callable]:
    """``(W(*primals), pullback)``, the pullback contracting the cotangent with the
    Jacobian (computed once, by forward mode)."""
    if wrt is None:  # every float or float array given for a parameter of the user function
        wrt = tuple(
            name
            for name, value in zip(composite.binding.params, primals)
            if differentiable(value) and not needs_real(value)
        )
        if not wrt:
            raise TypeError("vjp: none of the arguments is a float or a float array")
    names, _, positions = _resolve(composite, wrt, "vjp")
    jacobians = jacobian(composite, tuple(names), optimize, "vjp")
    args = jacobians.bind(tuple(primals), {}, "vjp")
    out = composite(args)
    blocks = jacobians(args)

    def pullback(cotangent: Any) -> tuple:
        if np.shape(cotangent) != np.shape(out):
            raise TypeError(
                f"vjp: the cotangent has shape {np.shape(cotangent)}, the output {np.shape(out)}"
            )
        axes = np.ndim(out)
        contract = [  # leaf by leaf: each block is a tree of out.shape + leaf.shape arrays
            rebuild(block, [np.tensordot(cotangent, b, axes=axes) for b in leaves(block)])
            for block in blocks
        ]
        return tuple(_scalar_shaped(c, args[p]) for c, p in zip(contract, positions))

    return out, pullback
