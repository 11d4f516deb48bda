"""What ``ad.hessian``, ``ad.jacobian``, ``ad.hvp``, ... make, in a form transforms read.

Those functions are not emitted code: each is an *assembly* (stacking,
reshaping, sums -- all linear) of *sweeps*, runs of emitted forward-mode code
at constant tangents (unit vectors, ``v``).  A :class:`Composite` records that
form: ``body(sweep, args)``.  Its derivative in a direction is the same
assembly of the derivatives of the sweeps, the tangents held constant
(:meth:`Composite.lifted`): forward mode over each sweep's emitted code, one
more :class:`~s2s_ad.compiler.derived.Derived` in its chain.  So
``ad.jacobian(ad.hessian(f))`` runs forward over forward over reverse code
of ``f``, and every transform of a composite is again a composite.

>>> import numpy as np
>>> def f(x):
...     return x ** 4
>>> from s2s_ad.api.higher import hessian
>>> third = composite_of(hessian(f))
>>> third.lifted(("x",), (1.0,), True)((2.0,))  # d/dx 12 x^2 at 2
48.0
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..compiler.derived import Derived, annotate_error, as_real, derived_of, differentiable
from ..compiler.signatures import Binding
from ..compiler.spec import JVP
from .arguments import made_by
from .trees import leaves, rebuild

#: The attribute by which a function made by ``ad.hessian``, ... holds its :class:`Composite`.
COMPOSITE_ATTRIBUTE = "_s2s_composite"

Binder = Callable[[tuple, dict, str], tuple]


# ---------------------------------------------------------- sweep math


def check_input(value: Any, who: str, name: str) -> None:
    """A differentiated argument is a float, an array, or a list, tuple or dict of those."""
    if not differentiable(value):
        raise TypeError(
            f"{who}: the argument {name!r} is a {type(value).__name__}; expected a float or "
            "complex number, a NumPy float or complex array, or a list, tuple or dict of those"
        )


def basis(like: Any, k: int) -> Any:
    """The ``k``-th unit vector shaped (and typed) like ``like``.

    >>> basis(np.zeros(3), 1)
    array([0., 1., 0.])
    """
    if isinstance(like, np.ndarray):
        unit = np.zeros_like(like)
        unit.flat[k] = 1
        return unit
    return type(like)(1.0) if isinstance(like, np.floating) else 1.0


def zero(like: Any) -> Any:
    """Zeros shaped like ``like``."""
    return np.zeros_like(like) if isinstance(like, np.ndarray) else 0.0 * like


def entries(inputs: Sequence[Any]) -> Iterator[Tuple[int, int, int]]:
    """``(j, m, k)`` for every entry ``k`` of every leaf ``m`` of every input ``j``.

    >>> list(entries([1.0, np.zeros(2)]))
    [(0, 0, 0), (1, 0, 0), (1, 0, 1)]
    """
    for j, x in enumerate(inputs):
        for m, leaf in enumerate(leaves(x)):
            for k in range(np.size(leaf)):
                yield j, m, k


def unit_tangents(inputs: Sequence[Any], j: int, m: int, k: int) -> tuple:
    """Tangents for all ``inputs``: the ``k``-th unit vector in leaf ``m`` of input ``j``,
    zeros elsewhere (each shaped like its input).

    >>> unit_tangents([1.0, np.zeros(2)], 1, 0, 1)
    (0.0, array([0., 1.]))
    """
    return tuple(
        rebuild(
            x,
            [
                basis(leaf, k) if (i, n) == (j, m) else zero(leaf)
                for n, leaf in enumerate(leaves(x))
            ],
        )
        for i, x in enumerate(inputs)
    )


def assemble(columns: List[Any], out_like: Any, in_like: Any) -> Any:
    """Columns ``J @ e_k`` (one per entry of ``in_like``) as ``out.shape + in.shape``.

    >>> assemble([np.array([1.0, 2.0]), np.array([3.0, 4.0])], np.zeros(2), np.zeros(2))
    array([[1., 3.],
           [2., 4.]])
    """
    out_shape, in_shape = np.shape(out_like), np.shape(in_like)
    if not columns:  # an empty input
        return np.zeros(out_shape + in_shape)
    if not out_shape and not in_shape:
        value = columns[0]
        return float(value) if isinstance(value, float) or type(value) is float else value
    flat = np.stack([np.reshape(np.asarray(c), -1) for c in columns], axis=-1)
    return flat.reshape(out_shape + in_shape)


def check_output(out: Any, who: str = "jacobian") -> None:
    """What a Jacobian is taken of returns a float or an array."""
    if isinstance(out, bool) or not isinstance(
        out, (float, int, np.floating, np.integer, np.ndarray)
    ):
        raise TypeError(
            f"{who} expects f to return a float or an array, got a {type(out).__name__}"
        )


def forward_jacobian(
    sweep: Callable, args: tuple, inputs: list, who: str = "jacobian"
) -> Tuple[Any, tuple, list]:
    """``(out, blocks, aux)``: one JVP sweep per input entry, each giving a column; the
    blocks, one per input, shaped ``out.shape + in.shape`` leaf by leaf; and the aux of
    the last sweep, in a list (empty without ``has_aux``)."""
    out, aux = None, []
    columns: Dict[Tuple[int, int], List[Any]] = {}
    for j, m, k in entries(inputs):
        out, column, *aux = sweep(args, unit_tangents(inputs, j, m, k))
        columns.setdefault((j, m), []).append(column)
    if out is None or any(np.size(leaf) == 0 for x in inputs for leaf in leaves(x)):
        out, _, *aux = sweep(args, tuple(rebuild(x, map(zero, leaves(x))) for x in inputs))
    check_output(out, who)
    blocks = tuple(
        rebuild(x, [assemble(columns.get((j, m), []), out, y) for m, y in enumerate(leaves(x))])
        for j, x in enumerate(inputs)
    )
    return out, blocks, aux


def jacobian_body(positions: Sequence[int], single: bool) -> Callable:
    """``body(sweep, args)``: the Jacobian for the arguments at ``positions`` by forward
    mode, the block alone if ``single``, else a tuple of blocks."""

    def body(sweep: Callable, args: tuple) -> Any:
        _, blocks, _ = forward_jacobian(sweep, args, [args[p] for p in positions])
        return blocks[0] if single else blocks

    return body


# ------------------------------------------------------------- sweeps


class Emitted:
    """Runs of the emitted forward-mode code of ``derived`` (a JVP, or a tangent over a
    gradient), differentiated again once per direction in ``directions``.

    ``sweep(args, tangents)`` calls the code with ``args`` and then ``tangents``; lifted
    once, it runs forward mode over that code with the direction as its tangents and
    returns the tangent part, and so on.
    """

    def __init__(self, derived: Derived, directions: Tuple[tuple, ...] = ()):
        self.derived = derived
        self.directions = directions

    def __call__(self, args: tuple, tangents: Sequence[Any]) -> Any:
        groups = (tuple(tangents), *self.directions)
        leading = tuple(args) + tuple(t for group in groups[:-1] for t in group)
        fn, leading = self.derived.specialized(leading)
        try:
            result = fn(*leading, *groups[-1])
        except Exception as exc:
            annotate_error(exc)
            raise
        for _ in self.directions:  # forward mode returns (out, tangent): the tangent's
            result = result[1]
        return result

    def lifted(self, names: Tuple[str, ...], direction: Sequence[Any], optimize: bool) -> Emitted:
        """These sweeps differentiated in ``direction`` for the arguments ``names``."""
        derivative = derived_of(self.derived.f, JVP, names, inner=self.derived, optimize=optimize)
        return Emitted(derivative, self.directions + (tuple(direction),))


class Through:
    """Forward mode through a composite: ``sweep(args, tangents)`` gives ``(W(args), the
    derivative of W(args) for the arguments names in the direction tangents)``, or the
    derivative alone when not ``with_value`` (the tangent of a gradient: ``H @ v``)."""

    def __init__(
        self, composite: Composite, names: Tuple[str, ...], optimize: bool, with_value: bool = True
    ):
        self.composite = composite
        self.names = names
        self.optimize = optimize
        self.with_value = with_value

    def __call__(self, args: tuple, tangents: Sequence[Any]) -> Any:
        tangent = self.composite.lifted(self.names, tangents, self.optimize)(args)
        return (self.composite(args), tangent) if self.with_value else tangent

    def lifted(self, names: Tuple[str, ...], direction: Sequence[Any], optimize: bool) -> Through:
        lifted = self.composite.lifted(names, direction, optimize)
        return Through(lifted, self.names, self.optimize, self.with_value)


class Composite:
    """``body(sweep, args)``: what a function made by ``made_by`` computes, linear in what
    its ``sweep`` returns.  ``binding`` is that of the user function whose parameters the
    arguments start with; ``bind(args, kwargs, who)`` gives the arguments ``body`` takes.
    """

    def __init__(self, made_by: str, binding: Binding, body: Callable, sweep: Any, bind: Binder):
        self.made_by = made_by
        self.binding = binding
        self.body = body
        self.sweep = sweep
        self.bind = bind

    def __call__(self, args: tuple) -> Any:
        return self.body(self.sweep, args)

    def lifted(self, names: Tuple[str, ...], direction: Sequence[Any], optimize: bool) -> Composite:
        """The derivative for the arguments ``names`` in ``direction`` (one tangent each)."""
        sweep = self.sweep.lifted(names, direction, optimize)
        return Composite(self.made_by, self.binding, self.body, sweep, self.bind)

    def function(self, f: Callable, what: str) -> Callable:
        """The function users call: ``what`` of ``f``, computing this composite."""

        def composite_function(*args: Any, **kwargs: Any) -> Any:
            return self(self.bind(args, kwargs, what))

        return attach(made_by(composite_function, f, what), self)


def attach(function: Callable, composite: Optional[Composite]) -> Callable:
    """``function``, which transforms differentiate through ``composite`` (if any)."""
    setattr(function, COMPOSITE_ATTRIBUTE, composite)
    return function


def composite_of(f: Any) -> Optional[Composite]:
    """The composite of a function made by ``ad.hessian``, ``ad.jacobian``, ..., or None."""
    return getattr(f, COMPOSITE_ATTRIBUTE, None)


def checked(bind: Binder, positions: Sequence[int], names: Sequence[str]) -> Binder:
    """``bind``, whose arguments at ``positions`` are checked and taken as reals."""

    def bind_checked(args: tuple, kwargs: dict, who: str) -> tuple:
        bound = list(bind(args, kwargs, who))
        for name, p in zip(names, positions):
            check_input(bound[p], who, name)
            bound[p] = as_real(bound[p])
        return tuple(bound)

    return bind_checked


def plain_binder(binding: Binding) -> Binder:
    """Binding a call of the user function's parameters (defaults, keywords, ...)."""
    return binding.bind
