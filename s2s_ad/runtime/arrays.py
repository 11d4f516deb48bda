"""Helpers that the emitted code of NumPy rules calls (``s2s_ad.runtime.arrays.unreduce``, ...).

Each is the derivative piece of one family of NumPy functions, written so
that a reader of the emitted code can look it up: reductions over ``axis``
spread a cotangent back over the reduced axes (:func:`unreduce`), ``max``
and ``min`` share it between ties (:func:`extremum_weights`), and so on.
Results have the shape and float dtype of the argument they belong to.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from . import sum_to_shape, unbroadcast

Axis = Optional[Any]  # None, an int or a tuple of ints


def unreduce(g: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Spread the cotangent ``g`` of a reduction of ``x`` over ``axis`` back to ``x``'s shape.

    >>> unreduce(np.array([1.0, 2.0]), np.zeros((2, 3)), axis=1)
    array([[1., 1., 1.],
           [2., 2., 2.]])
    """
    if axis is None and not getattr(g, "ndim", 0):  # a full reduction: g everywhere
        return like(x, g)
    g = expanded(g, np.ndim(x), axis, keepdims)
    return like(x, np.broadcast_to(g, np.shape(x)))


def unreduce_mean(g: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """The cotangent of ``x`` for ``np.mean(x, axis)``: ``g`` spread out and shared.

    >>> unreduce_mean(1.0, np.zeros(4))
    array([0.25, 0.25, 0.25, 0.25])
    """
    return unreduce(np.asarray(g) / reduced_size(x, axis), x, axis, keepdims)


def reduced_size(x: Any, axis: Axis = None) -> int:
    """How many entries of ``x`` a reduction over ``axis`` combines into each result.

    >>> reduced_size(np.zeros((2, 3, 4)), axis=(0, 2))
    8
    """
    if axis is None:
        return int(np.size(x))
    shape = np.shape(x)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))


def extremum_weights(x: Any, out: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Where ``x`` reaches its max (or min) ``out``, one over the number of ties; else 0.

    >>> extremum_weights(np.array([1.0, 3.0, 3.0]), 3.0)
    array([0. , 0.5, 0.5])
    """
    hit = np.asarray(x) == expanded(out, np.ndim(x), axis, keepdims)
    count = np.sum(hit, axis=axis, keepdims=True)
    return like(x, hit / count)


def prod_others(x: Any, axis: Axis = None) -> Any:
    """d prod(x) / d x: for each entry, the product of the other entries along ``axis``.

    Computed without dividing by ``x``, so zeros are fine.

    >>> prod_others(np.array([2.0, 0.0, 5.0]))
    array([ 0., 10.,  0.])
    """
    x = np.asarray(x)
    lined, restore = _to_last_axis(x, axis)
    ones = np.ones(lined.shape[:-1] + (1,), dtype=lined.dtype)
    before = np.cumprod(np.concatenate([ones, lined[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, lined[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return restore(before * after)


def var_vjp(g: Any, x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The cotangent of ``x`` for ``np.var(x, axis, ddof=ddof)`` with result cotangent ``g``.

    For complex ``x``, ``var`` is the mean of ``|x - mean|^2``, real: the cotangent is
    ``2 g conj(x - mean) / (N - ddof)`` (JAX's convention, ``docs/complex.md``).

    >>> var_vjp(1.0, np.array([1.0, 3.0]))
    array([-1.,  1.])
    """
    centered, count = _centered(x, axis)
    slope = expanded(np.real(g), np.ndim(x), axis, keepdims) * 2 * np.conjugate(centered)
    return like(x, slope / (count - ddof))


def var_jvp(dx: Any, x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The tangent of ``np.var(x, axis, ddof=ddof)`` along ``dx``.

    >>> float(var_jvp(np.array([1.0, 0.0]), np.array([1.0, 3.0])))
    -1.0
    """
    centered, count = _centered(x, axis)
    total = np.sum(2 * _paired(centered, dx), axis=axis, keepdims=keepdims)
    return total / (count - ddof)


def cumsum_vjp(g: Any, x: Any, axis: Optional[int] = None) -> Any:
    """The cotangent of ``x`` for ``np.cumsum(x, axis)``: a cumulative sum from the end.

    >>> cumsum_vjp(np.array([1.0, 1.0, 1.0]), np.zeros(3))
    array([3., 2., 1.])
    """
    g = np.asarray(g)
    if axis is None:
        return like(x, np.cumsum(g[::-1])[::-1].reshape(np.shape(x)))
    flipped = np.flip(g, axis)
    return like(x, np.flip(np.cumsum(flipped, axis=axis), axis))


def trace_vjp(g: Any, x: Any, offset: int = 0) -> Any:
    """The cotangent of a matrix ``x`` for ``np.trace(x, offset)``: ``g`` on that diagonal.

    >>> trace_vjp(2.0, np.zeros((2, 2)))
    array([[2., 0.],
           [0., 2.]])
    """
    rows, cols = np.shape(x)[:2]
    spread = np.asarray(g)[..., None, None] * np.eye(rows, cols, k=offset)
    return like(x, np.moveaxis(spread, (-2, -1), (0, 1)))  # np.trace reads axes 0 and 1


def inside(x: Any, lo: Any, hi: Any) -> Any:
    """1 where ``lo <= x <= hi`` (a bound of None is no bound), else 0: d clip / d x.

    >>> inside(np.array([-2.0, 0.5, 2.0]), -1.0, None)
    array([0., 1., 1.])
    """
    result = np.ones(np.shape(x), dtype=float_dtype(x))
    if lo is not None:
        result = result * (np.asarray(x) >= lo)
    if hi is not None:
        result = result * (np.asarray(x) <= hi)
    return _number_if_0d(result)


def wins(x: Any, y: Any) -> Any:
    """d maximum(x, y) / d x: 1 where ``x > y``, 1/2 at ties, 0 where ``x < y``.

    >>> wins(np.array([1.0, 2.0, 3.0]), 2.0)
    array([0. , 0.5, 1. ])
    """
    dtype = float_dtype(x, y)
    result = (np.asarray(x) > y).astype(dtype) + dtype.type(0.5) * (np.asarray(x) == y)
    return _number_if_0d(result)


def sinc_derivative(x: Any, out: Any) -> Any:
    """d sinc(x) / dx = (cos(pi x) - sinc(x)) / x, and 0 at x = 0.

    >>> float(sinc_derivative(0.0, 1.0))
    0.0
    """
    safe = np.where(np.equal(x, 0), 1.0, x)
    return like(x, np.where(np.equal(x, 0), 0.0, (np.cos(np.pi * safe) - out) / safe))


def cumprod_jvp(dx: Any, x: Any, axis: Optional[int] = None) -> Any:
    """The tangent of ``np.cumprod(x, axis)`` along ``dx`` (exact where ``x`` has zeros).

    >>> cumprod_jvp(np.array([1.0, 0.0, 0.0]), np.array([2.0, 0.0, 3.0]))
    array([1., 0., 0.])
    """
    lined, restore = _to_last_axis(np.asarray(x), axis)
    tangent = _to_last_axis(np.asarray(dx, dtype=lined.dtype), axis)[0]
    result = np.einsum("...j,...ji->...i", tangent, _cumprod_partials(lined))
    return result if axis is None else restore(result)


def cumprod_vjp(g: Any, x: Any, axis: Optional[int] = None) -> Any:
    """The cotangent of ``x`` for ``np.cumprod(x, axis)`` (exact where ``x`` has zeros).

    >>> cumprod_vjp(np.ones(3), np.array([2.0, 0.0, 3.0]))
    array([1., 8., 0.])
    """
    lined, restore = _to_last_axis(np.asarray(x), axis)
    flat_g = np.reshape(g, lined.shape) if axis is None else _to_last_axis(np.asarray(g), axis)[0]
    return like(x, restore(np.einsum("...ji,...i->...j", _cumprod_partials(lined), flat_g)))


def _cumprod_partials(x: np.ndarray) -> np.ndarray:
    """``w[..., j, i]`` = d cumprod(x)_i / d x_j along the last axis: the product of
    ``x_0 .. x_i`` without ``x_j`` (zero for j > i), with no division by ``x``."""
    n = x.shape[-1]
    later = np.arange(n)[:, None] < np.arange(n)[None, :]  # k > j
    after = np.cumprod(np.where(later, x[..., None, :], 1.0), axis=-1)  # x_{j+1} .. x_i
    ones = np.ones(x.shape[:-1] + (1,), dtype=x.dtype)
    before = np.cumprod(np.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)  # x_0 .. x_{j-1}
    return before[..., :, None] * after * ~np.tril(np.ones((n, n), dtype=bool), -1)


def cumulative_vjp(
    g: Any,
    x: Any,
    axis: Optional[int] = None,
    include_initial: bool = False,
    prod: bool = False,
    *directions: Any,
) -> Any:
    """The cotangent of ``x`` for ``np.cumulative_sum`` (``np.cumulative_prod`` if ``prod``);
    with ``directions``, the gradient of ``<g, cumulative_derivative(x, ..., *directions)>``.

    ``include_initial`` put a 0 (or 1) in front along the axis, which has no derivative.

    >>> cumulative_vjp(np.ones(4), np.zeros(3), include_initial=True)
    array([3., 2., 1.])
    """
    axis = 0 if axis is None else axis
    if include_initial:
        g = np.delete(np.asarray(g), 0, axis=axis)
    if not directions:
        return (cumprod_vjp if prod else cumsum_vjp)(g, x, axis=axis)
    if not prod:  # a sum's derivative does not depend on x
        return like(x, 0.0)
    return cumprod_gradient(g, x, axis, *directions)


def cumulative_derivative(
    x: Any,
    axis: Optional[int] = None,
    include_initial: bool = False,
    prod: bool = False,
    *directions: Any,
) -> Any:
    """The derivative of ``np.cumulative_sum(x, axis=axis, include_initial=include_initial)``
    (``np.cumulative_prod`` if ``prod``) along ``directions``.

    >>> cumulative_derivative(np.array([2.0, 3.0]), 0, True, True, np.ones(2))
    array([0., 1., 5.])
    """
    axis = 0 if axis is None else axis
    if prod:
        value = cumprod_derivative(x, axis, *directions)
    elif len(directions) < 2:
        value = np.cumsum(directions[0] if directions else x, axis=axis)
    else:
        value = np.zeros(np.shape(x), dtype=float_dtype(x, *directions))
    if include_initial:
        initial = 1.0 if prod and not directions else 0.0
        value = np.insert(value, 0, initial, axis=axis)
    return value


def cumulative_prod_jvp(
    dx: Any, x: Any, axis: Optional[int] = None, include_initial: bool = False
) -> Any:
    """The tangent of ``np.cumulative_prod(x, axis, include_initial)`` along ``dx``.

    >>> cumulative_prod_jvp(np.ones(2), np.array([2.0, 3.0]), include_initial=True)
    array([0., 1., 5.])
    """
    axis = 0 if axis is None else axis
    tangent = cumprod_jvp(dx, x, axis=axis)
    if not include_initial:
        return tangent
    return np.insert(tangent, 0, 0.0, axis=axis)


# Higher derivatives of products.  A product of entries x_k is multilinear, so its m-th
# derivative along directions d_1 .. d_m is the coefficient of t_1 ... t_m in the product of
# (x_k + t_1 d_1k + ... + t_m d_mk): each direction replaces one entry, in every way.  These
# helpers compute such coefficients (exact where x has zeros), and each one's derivative is
# another of them with one more direction, so emitted derivatives can be differentiated again.


def cumprod_derivative(x: Any, axis: Optional[int], *directions: Any) -> Any:
    """The derivative of ``np.cumprod(x, axis)`` along ``directions`` (none: the product itself).

    >>> cumprod_derivative(np.array([2.0, 3.0]), None, np.ones(2), np.ones(2))
    array([0., 2.])
    """
    lined, restore = _to_last_axis(np.asarray(x), axis)
    lines = [_to_last_axis(np.asarray(d), axis)[0] for d in directions]
    result = _coefficients(lined, lines)[-1][..., 1:]
    return result if axis is None else restore(result)


def cumprod_gradient(g: Any, x: Any, axis: Optional[int], *directions: Any) -> Any:
    """The gradient in ``x`` of ``<g, cumprod_derivative(x, axis, *directions)>``: with no
    directions, the cotangent of ``x`` for ``np.cumprod(x, axis)``.

    >>> cumprod_gradient(np.ones(2), np.array([2.0, 3.0]), None, np.ones(2))
    array([1., 1.])
    """
    lined, restore = _to_last_axis(np.asarray(x), axis)
    flat_g = np.reshape(g, lined.shape) if axis is None else _to_last_axis(np.asarray(g), axis)[0]
    lines = [_to_last_axis(np.asarray(d), axis)[0] for d in directions]
    return like(x, restore(_weighted_gradient(flat_g, lined, lines)))


def prod_partials(x: Any, axis: Axis, *directions: Any) -> Any:
    """The gradient of the derivative of ``np.prod(x, axis)`` along ``directions``: with none,
    :func:`prod_others`; with one, the Hessian of the product times it.

    >>> prod_partials(np.array([2.0, 3.0, 5.0]), None, np.array([1.0, 0.0, 0.0]))
    array([0., 5., 3.])
    """
    lined, restore = _to_last_axis(np.asarray(x), axis)
    last = np.zeros(lined.shape, dtype=lined.dtype)
    last[..., -1] = 1.0  # the product is the cumulative product's last entry
    lines = [_to_last_axis(np.asarray(d), axis)[0] for d in directions]
    return like(x, restore(_weighted_gradient(last, lined, lines)))


def _coefficients(x: np.ndarray, directions: list) -> list:
    """``c[S][..., i]``: the coefficient of the product of ``t_l`` for ``l`` in the subset
    ``S`` (a bit mask) in the product of the first ``i`` factors along the last axis."""
    n, subsets = x.shape[-1], 1 << len(directions)
    dtype = float_dtype(x, *directions)
    c = np.zeros((subsets,) + x.shape[:-1] + (n + 1,), dtype=dtype)
    c[0, ..., 0] = 1.0
    for k in range(n):
        for s in range(subsets):
            c[s, ..., k + 1] = c[s, ..., k] * x[..., k]
            for bit, d in _members(s, directions):
                c[s, ..., k + 1] += c[s ^ bit, ..., k] * d[..., k]
    return list(c)


def _weighted_gradient(g: np.ndarray, x: np.ndarray, directions: list) -> np.ndarray:
    """The gradient in ``x`` of ``sum_i g_i c_i``, ``c_i`` the coefficient of all directions in
    the product of the first ``i + 1`` factors: each entry ``j`` left out, with the factors
    before it (``before``) and the weighted sums of the runs after it (``after``)."""
    before = _coefficients(x, directions)
    n, subsets = x.shape[-1], len(before)
    after = np.zeros((subsets,) + x.shape, dtype=before[0].dtype)
    after[0, ..., n - 1] = g[..., n - 1]
    for j in range(n - 2, -1, -1):
        for s in range(subsets):
            after[s, ..., j] = after[s, ..., j + 1] * x[..., j + 1]
            for bit, d in _members(s, directions):
                after[s, ..., j] += after[s ^ bit, ..., j + 1] * d[..., j + 1]
        after[0, ..., j] += g[..., j]
    full = subsets - 1
    return sum(before[s][..., :n] * after[full ^ s] for s in range(subsets))


def _members(subset: int, directions: list) -> list:
    """``(bit, direction)`` for the directions in a subset (a bit mask)."""
    return [(1 << k, d) for k, d in enumerate(directions) if subset >> k & 1]


def sinc_nth_derivative(x: Any, n: int) -> Any:
    """The ``n``-th derivative of ``np.sinc`` at ``x``.

    Near 0 it is the integral of ``(pi t)^n cos(pi x t + n pi / 2)`` over ``t`` in [0, 1]
    (Gauss-Legendre); elsewhere the recurrence from ``x sinc(x) = sin(pi x) / pi``.

    >>> round(float(sinc_nth_derivative(0.0, 2)), 6), round(-np.pi ** 2 / 3, 6)
    (-3.289868, -3.289868)
    """
    values = np.asarray(x, dtype=float_dtype(x))
    nodes, weights = np.polynomial.legendre.leggauss(24)
    t, w = (nodes + 1) / 2, weights / 2
    phase = np.pi * values[..., None] * t + n * np.pi / 2
    near = np.sum(w * (np.pi * t) ** n * np.cos(phase), axis=-1)
    safe = np.where(np.abs(values) < 1, 1.0, values)
    far = np.sinc(safe)
    for k in range(1, n + 1):
        far = (np.pi ** (k - 1) * np.sin(np.pi * safe + k * np.pi / 2) - k * far) / safe
    return like(x, np.where(np.abs(values) < 1, near, far))


def nanmean_vjp(g: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """The cotangent of ``x`` for ``np.nanmean(x, axis)``: ``g`` shared by the non-NaN entries.

    >>> nanmean_vjp(1.0, np.array([1.0, np.nan, 3.0]))
    array([0.5, 0. , 0.5])
    """
    present = ~np.isnan(x)
    count = np.sum(present, axis=axis, keepdims=True)
    return like(x, present * expanded(g, np.ndim(x), axis, keepdims) / count)


def nanvar_vjp(g: Any, x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The cotangent of ``x`` for ``np.nanvar(x, axis, ddof=ddof)``; NaN entries get 0.

    >>> nanvar_vjp(1.0, np.array([1.0, np.nan, 3.0]))
    array([-1.,  0.,  1.])
    """
    centered, count = _nan_centered(x, axis)
    slope = expanded(np.real(g), np.ndim(x), axis, keepdims) * 2 * np.conjugate(centered)
    return like(x, slope / (count - ddof))


def nanvar_jvp(dx: Any, x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The tangent of ``np.nanvar(x, axis, ddof=ddof)`` along ``dx`` (NaN entries ignored).

    >>> float(nanvar_jvp(np.array([1.0, 5.0, 0.0]), np.array([1.0, np.nan, 3.0])))
    -1.0
    """
    centered, count = _nan_centered(x, axis)
    present = np.where(np.isnan(x), 0.0, dx)
    total = np.sum(2 * _paired(centered, present), axis=axis, keepdims=keepdims)
    return total / np.reshape(count - ddof, np.shape(total)).astype(total.dtype)


def average_vjp_a(g: Any, a: Any, axis: Axis = None, weights: Any = None, keepdims=False) -> Any:
    """The cotangent of ``a`` for ``np.average(a, axis, weights)``: ``g`` shared by weight.

    >>> average_vjp_a(1.0, np.zeros(2), weights=np.array([1.0, 3.0]))
    array([0.25, 0.75])
    """
    if weights is None:
        return unreduce_mean(g, a, axis, keepdims)
    w = weights_along(a, axis, weights)
    share = w / np.sum(w, axis=axis, keepdims=True)
    return like(a, expanded(g, np.ndim(a), axis, keepdims) * share)


def average_jvp_weights(
    dweights: Any, a: Any, axis: Axis, weights: Any, out: Any, keepdims: bool = False
) -> Any:
    """The tangent of ``np.average(a, axis, weights)`` along the weights' tangent.

    >>> float(average_jvp_weights(np.array([1.0, 0.0]), np.array([0.0, 4.0]), None,
    ...                           np.array([1.0, 1.0]), 2.0))
    -1.0
    """
    w, dw = weights_along(a, axis, weights), weights_along(a, axis, dweights)
    centered = np.asarray(a) - expanded(out, np.ndim(a), axis, keepdims)
    total = np.sum(centered * dw, axis=axis, keepdims=keepdims)
    return total / np.sum(w, axis=axis, keepdims=keepdims)


def average_vjp_weights(
    g: Any, a: Any, axis: Axis, weights: Any, out: Any, keepdims: bool = False
) -> Any:
    """The cotangent of the weights of ``np.average(a, axis, weights)``.

    >>> average_vjp_weights(1.0, np.array([0.0, 4.0]), None, np.array([1.0, 1.0]), 2.0)
    array([-1.,  1.])
    """
    w = weights_along(a, axis, weights)
    g = expanded(g, np.ndim(a), axis, keepdims)
    centered = np.asarray(a) - expanded(out, np.ndim(a), axis, keepdims)
    return unweights_along(g * centered / np.sum(w, axis=axis, keepdims=True), a, axis, weights)


def weights_along(a: Any, axis: Axis, weights: Any) -> np.ndarray:
    """The weights as ``np.average(a, axis, weights)`` applies them: 1-D weights lie along
    ``axis``, and all are spread to ``a``'s shape.

    >>> weights_along(np.zeros((2, 3)), 0, np.array([1.0, 2.0]))
    array([[1., 1., 1.],
           [2., 2., 2.]])
    """
    weights = np.asarray(weights)
    if weights.ndim != np.ndim(a):
        weights = _along(weights, np.ndim(a), axis)
    return np.broadcast_to(weights, np.shape(a))


def unweights_along(g: Any, a: Any, axis: Axis, weights: Any) -> Any:
    """The transpose of :func:`weights_along`: ``g`` (spread to ``a``'s shape) summed back to
    the weights' shape.

    >>> unweights_along(np.ones((2, 3)), np.zeros((2, 3)), 0, np.zeros(2))
    array([3., 3.])
    """
    g = np.broadcast_to(g, np.shape(a))
    if np.ndim(weights) == np.ndim(a):
        return like(weights, g)
    others = tuple(k for k in range(np.ndim(a)) if k != axis % np.ndim(a))
    return like(weights, np.sum(g, axis=others))  # 1-D weights along ``axis``


def trapezoid_vjp_y(g: Any, y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    """The cotangent of ``y`` for ``np.trapezoid(y, x, dx, axis)``: half of each neighbouring width.

    >>> trapezoid_vjp_y(1.0, np.zeros(3), np.array([0.0, 1.0, 3.0]))
    array([0.5, 1.5, 1. ])
    """
    widths = _trapezoid_widths(y, x, dx, axis)
    zero = np.zeros_like(widths[..., :1])
    share = (np.concatenate([widths, zero], -1) + np.concatenate([zero, widths], -1)) / 2
    share = np.moveaxis(share, -1, axis % np.ndim(y)) if np.ndim(share) == np.ndim(y) else share
    return like(y, np.expand_dims(g, axis) * _along(share, np.ndim(y), axis))


def trapezoid_jvp_x(dxs: Any, y: Any, x: Any, axis: int = -1) -> Any:
    """The tangent of ``np.trapezoid(y, x, axis=axis)`` along the tangent ``dxs`` of ``x``.

    >>> float(trapezoid_jvp_x(np.array([0.0, 1.0]), np.array([1.0, 3.0]), np.array([0.0, 2.0])))
    2.0
    """
    width_tangent = np.diff(dxs, axis=-1 if np.ndim(x) == 1 else axis)
    heights = _pairwise_means(y, axis)
    return np.sum(_along(width_tangent, np.ndim(heights), axis) * heights, axis=axis)


def trapezoid_vjp_x(g: Any, y: Any, x: Any, axis: int = -1) -> Any:
    """The cotangent of ``x`` for ``np.trapezoid(y, x, axis=axis)``.

    >>> trapezoid_vjp_x(1.0, np.array([1.0, 3.0]), np.array([0.0, 2.0]))
    array([-2.,  2.])
    """
    per_width = np.expand_dims(g, axis) * _pairwise_means(y, axis)  # d out / d width
    if np.ndim(x) == 1:
        others = tuple(k for k in range(per_width.ndim) if k != axis % per_width.ndim)
        per_width = np.sum(per_width, axis=others)
        axis = 0
    zero = np.zeros_like(np.take(per_width, [0], axis=axis))
    padded_before = np.concatenate([zero, per_width], axis=axis)
    padded_after = np.concatenate([per_width, zero], axis=axis)
    return like(x, unbroadcast(padded_before - padded_after, x))


def _trapezoid_widths(y: Any, x: Any, dx: float, axis: int) -> np.ndarray:
    """The widths between samples, along the last axis."""
    n = np.shape(y)[axis]
    if x is None:
        return np.full(n - 1, float(dx))
    widths = np.diff(x, axis=-1 if np.ndim(x) == 1 else axis)
    return widths if np.ndim(x) == 1 else np.moveaxis(widths, axis, -1)


def _pairwise_means(y: Any, axis: int) -> np.ndarray:
    """The mean of each two neighbouring samples along ``axis``."""
    y = np.asarray(y)
    n = y.shape[axis]
    take = lambda lo, hi: np.take(y, np.arange(lo, hi), axis=axis)  # noqa: E731
    return (take(0, n - 1) + take(1, n)) / 2


def _along(values: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """A 1-D ``values`` shaped to broadcast along ``axis`` of an ``ndim``-d array."""
    if np.ndim(values) != 1:
        return values
    shape = [1] * ndim
    shape[axis] = -1
    return np.reshape(values, shape)


def _nan_centered(x: Any, axis: Axis) -> Tuple[np.ndarray, Any]:
    """``x`` minus its NaN-ignoring mean (0 at NaNs), and how many non-NaN entries each has."""
    present = ~np.isnan(x)
    centered = np.where(present, np.asarray(x) - np.nanmean(x, axis=axis, keepdims=True), 0.0)
    return centered, np.sum(present, axis=axis, keepdims=True)


# -------------------------------------------------------------- internals


def like(x: Any, value: Any) -> Any:
    """``value`` as a new value of ``x``'s type, shape and float dtype.

    A list or tuple that NumPy reads as an array (``np.sum([1, a * a, 2])``)
    gets an array, whose items are the cotangents of the list's items.

    >>> like([1, 2.5, 2], 1.0)
    array([1., 1., 1.])
    """
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if np.iscomplexobj(value) and not np.iscomplexobj(x):  # a real value met a complex one
        value = np.real(value)
    if isinstance(x, np.ndarray):
        dtype = x.dtype if x.dtype.kind in "fc" else np.dtype(np.float64)
        if not getattr(value, "ndim", 0):
            filled = np.empty(x.shape, dtype=dtype)
            filled.fill(value)
            return filled
        return np.array(np.broadcast_to(value, x.shape), dtype=dtype)
    if isinstance(x, np.generic) and np.issubdtype(x.dtype, np.inexact):
        return x.dtype.type(np.asarray(value).reshape(()))
    return float(np.asarray(value).reshape(()))


def _paired(centered: Any, dx: Any) -> Any:
    """``Re(conj(centered) * dx)``, the terms of the change of ``sum |centered|^2 / 2``."""
    if np.iscomplexobj(centered) or np.iscomplexobj(dx):
        return np.real(np.conjugate(centered) * dx)
    return centered * dx


def _centered(x: Any, axis: Axis) -> Tuple[np.ndarray, int]:
    """``x`` minus its mean over ``axis``, and how many entries each mean averages."""
    centered = np.asarray(x) - np.mean(x, axis=axis, keepdims=True)
    return centered, reduced_size(x, axis)


def _number_if_0d(result: np.ndarray) -> Any:
    """A Python float for a 0-d result (the derivative of a float is a float)."""
    return result if np.ndim(result) else float(result)


def float_dtype(*values: Any) -> np.dtype:
    """The float dtype of an operation on ``values`` (float64 for Python numbers)."""
    dtype = np.result_type(*(getattr(v, "dtype", np.float64) for v in values if v is not None))
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def expanded(g: Any, ndim: int, axis: Axis, keepdims: bool) -> Any:
    """``g`` with the reduced axes put back as length-1 axes."""
    g = np.asarray(g)
    if keepdims or axis is None:
        return g
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return np.expand_dims(g, tuple(a % ndim for a in axes))


def _to_last_axis(x: np.ndarray, axis: Axis) -> Tuple[np.ndarray, Any]:
    """``x`` with the axes of ``axis`` moved to the end and flattened into one, and the
    function that puts an array of that layout back into ``x``'s shape."""
    if axis is None:
        return x.reshape(-1), lambda y: y.reshape(x.shape)
    axes = tuple(a % x.ndim for a in ((axis,) if np.ndim(axis) == 0 else axis))
    rest = tuple(a for a in range(x.ndim) if a not in axes)
    moved = np.transpose(x, rest + axes)
    lined = moved.reshape(moved.shape[: len(rest)] + (-1,))

    def restore(y: np.ndarray) -> np.ndarray:
        return np.transpose(y.reshape(moved.shape), np.argsort(rest + axes))

    return lined, restore


# ---------------------------------------------------------------- products


def matmul_vjp_x(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``x`` in ``x @ y`` (1-D operands and batch broadcasting included).

    >>> matmul_vjp_x(np.ones((2, 2)), np.zeros((2, 3)), np.ones((3, 2)))
    array([[2., 2., 2.],
           [2., 2., 2.]])
    """
    if type(x) is np.ndarray and type(y) is np.ndarray and type(g) is np.ndarray:
        if x.ndim == 2 and y.ndim == 2:  # the common cases, without reshaping
            return _owned(x, g @ y.T)
        if x.ndim == 1 and y.ndim == 2:
            return _owned(x, y @ g)
    x2, y2, g2 = _as_matrices(g, x, y)
    gx = g2 @ np.swapaxes(y2, -1, -2)
    if np.ndim(x) == 1:
        gx = gx[..., 0, :]
    return _sum_like(gx, x)


def matmul_vjp_y(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``y`` in ``x @ y``.

    >>> matmul_vjp_y(np.ones(2), np.ones((2, 3)), np.zeros(3))
    array([2., 2., 2.])
    """
    if type(x) is np.ndarray and type(y) is np.ndarray and type(g) is np.ndarray:
        if x.ndim == 2 and y.ndim in (1, 2):  # the common cases, without reshaping
            return _owned(y, x.T @ g)
    x2, y2, g2 = _as_matrices(g, x, y)
    gy = np.swapaxes(x2, -1, -2) @ g2
    if np.ndim(y) == 1:
        gy = gy[..., 0]
    return _sum_like(gy, y)


def tensordot_vjp_x(g: Any, x: Any, y: Any, axes: Any = 2) -> Any:
    """The cotangent of ``x`` in ``np.tensordot(x, y, axes)``.

    >>> tensordot_vjp_x(np.ones(2), np.zeros((2, 3)), np.ones(3), axes=1)
    array([[1., 1., 1.],
           [1., 1., 1.]])
    """
    ax_x, ax_y = _contracted(np.ndim(x), np.ndim(y), axes)
    free_x = [a for a in range(np.ndim(x)) if a not in ax_x]
    free_y = [a for a in range(np.ndim(y)) if a not in ax_y]
    gx = np.tensordot(g, y, axes=(list(range(len(free_x), np.ndim(g))), free_y))
    order = free_x + [ax_x[ax_y.index(a)] for a in sorted(ax_y)]
    return like(x, np.transpose(gx, np.argsort(order)))


def tensordot_vjp_y(g: Any, x: Any, y: Any, axes: Any = 2) -> Any:
    """The cotangent of ``y`` in ``np.tensordot(x, y, axes)``.

    >>> tensordot_vjp_y(np.ones(2), np.ones((2, 3)), np.zeros(3), axes=1)
    array([2., 2., 2.])
    """
    ax_x, ax_y = _contracted(np.ndim(x), np.ndim(y), axes)
    free_x = [a for a in range(np.ndim(x)) if a not in ax_x]
    gy = np.tensordot(x, g, axes=(free_x, list(range(len(free_x)))))
    order = [ax_y[ax_x.index(a)] for a in sorted(ax_x)]
    order += [a for a in range(np.ndim(y)) if a not in ax_y]
    return like(y, np.transpose(gy, np.argsort(order)))


def dot_vjp_x(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``x`` in ``np.dot(x, y)`` (a product when either is a scalar).

    >>> dot_vjp_x(1.0, np.zeros(2), np.array([3.0, 4.0]))
    array([3., 4.])
    """
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return _sum_like(np.multiply(g, y), x)
    return tensordot_vjp_x(g, x, y, _dot_axes(x, y))


def dot_vjp_y(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``y`` in ``np.dot(x, y)``.

    >>> dot_vjp_y(1.0, np.array([3.0, 4.0]), np.zeros(2))
    array([3., 4.])
    """
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return _sum_like(np.multiply(g, x), y)
    return tensordot_vjp_y(g, x, y, _dot_axes(x, y))


def inner_vjp_x(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``x`` in ``np.inner(x, y)`` (last axes contracted).

    >>> inner_vjp_x(2.0, np.zeros(2), np.array([1.0, -1.0]))
    array([ 2., -2.])
    """
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return _sum_like(np.multiply(g, y), x)
    return tensordot_vjp_x(g, x, y, ([np.ndim(x) - 1], [np.ndim(y) - 1]))


def inner_vjp_y(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``y`` in ``np.inner(x, y)``.

    >>> inner_vjp_y(2.0, np.array([1.0, -1.0]), np.zeros(2))
    array([ 2., -2.])
    """
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return _sum_like(np.multiply(g, x), y)
    return tensordot_vjp_y(g, x, y, ([np.ndim(x) - 1], [np.ndim(y) - 1]))


def kron_vjp_x(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``x`` in ``np.kron(x, y)``: each block of ``g`` against ``y``.

    >>> kron_vjp_x(np.ones(4), np.zeros(2), np.array([1.0, 2.0]))
    array([3., 3.])
    """
    blocks, xs, ys = _kron_blocks(g, x, y)
    axes = tuple(range(1, 2 * len(xs), 2))
    return like(
        x,
        np.sum(blocks * np.reshape(y, _interleave_ones(ys, True)), axis=axes).reshape(np.shape(x)),
    )


def kron_vjp_y(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``y`` in ``np.kron(x, y)``.

    >>> kron_vjp_y(np.ones(4), np.array([1.0, 2.0]), np.zeros(2))
    array([3., 3.])
    """
    blocks, xs, ys = _kron_blocks(g, x, y)
    axes = tuple(range(0, 2 * len(xs), 2))
    return like(
        y,
        np.sum(blocks * np.reshape(x, _interleave_ones(xs, False)), axis=axes).reshape(np.shape(y)),
    )


def convolve_vjp(g: Any, a: Any, v: Any, mode: str = "full", position: int = 0) -> Any:
    """The cotangent of ``a`` (``position`` 0) or ``v`` (1) for ``np.convolve(a, v, mode)``.

    ``g`` is put back where its entries lie in the full convolution, then
    correlated with the other factor.

    >>> a, v = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    >>> convolve_vjp(np.array([1.0, 0.0, 0.0]), a, v, "full", position=1)
    array([1., 0.])
    """
    n_a, n_v = np.size(a), np.size(v)
    short = min(n_a, n_v)
    start = {"full": 0, "same": (short - 1) // 2, "valid": short - 1}[mode]
    full = np.zeros(n_a + n_v - 1, dtype=float_dtype(g, a, v))
    full[start : start + np.size(g)] = g
    own, other = (a, v) if position == 0 else (v, a)
    if np.iscomplexobj(other):  # np.correlate conjugates its second argument
        other = np.conjugate(other)
    return like(own, np.correlate(full, other, "valid"))


def correlate_vjp(g: Any, a: Any, v: Any, mode: str = "valid", position: int = 0) -> Any:
    """The cotangent of ``a`` (``position`` 0) or ``v`` (1) for ``np.correlate(a, v, mode)``,
    which is ``np.convolve(a, v[::-1], mode)`` for real arrays.

    >>> correlate_vjp(np.array([1.0]), np.array([1.0, 2.0]), np.array([3.0, 4.0]), "valid", 0)
    array([3., 4.])
    """
    # np.correlate(a, v) is np.convolve(a, conj(v)[::-1]): conjugate-linear in a complex v
    cotangent = convolve_vjp(g, a, np.conjugate(np.asarray(v))[::-1], mode, position)
    return cotangent if position == 0 else like(v, np.conjugate(cotangent[::-1]))


def cross_vjp(g: Any, a: Any, b: Any, axis: Optional[int] = None, position: int = 0) -> Any:
    """The cotangent of ``a`` (``position`` 0) or ``b`` (1) for ``np.cross(a, b, axis=axis)``
    of 3-vectors: ``b × g`` for ``a``, ``g × a`` for ``b``.

    >>> cross_vjp(np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([1., 0., 0.])
    """
    axis = -1 if axis is None else axis
    if np.shape(a)[axis] != 3 or np.shape(b)[axis] != 3:
        raise ValueError("s2s_ad differentiates np.cross of 3-vectors only")
    if position == 0:
        return like(a, unbroadcast(np.cross(b, g, axis=axis), a))
    return like(b, unbroadcast(np.cross(g, a, axis=axis), b))


def outer_last(u: Any, v: Any) -> np.ndarray:
    """``u[..., :, None] * v[..., None, :]``: a stack of outer products.

    >>> outer_last(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array([[3., 4.],
           [6., 8.]])
    """
    return np.expand_dims(u, -1) * np.expand_dims(v, -2)


def linspace_vjp(
    g: Any,
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    axis: int = 0,
    position: int = 0,
) -> Any:
    """The cotangent of ``start`` (``position`` 0) or ``stop`` (1) for ``np.linspace``.

    Sample ``k`` is ``start + t_k (stop - start)`` with ``t = linspace(0, 1, num, endpoint)``.

    >>> linspace_vjp(np.ones(3), 0.0, 1.0, num=3, position=1)
    1.5
    """
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    weights = t if position == 1 else 1.0 - t
    g = np.moveaxis(np.asarray(g), axis, 0)
    total = np.tensordot(weights, g, axes=(0, 0))
    own = stop if position == 1 else start
    return like(own, unbroadcast(total, own))


def polyval_slope(p: Any, x: Any) -> Any:
    """d polyval(p, x) / dx: ``np.polyval(np.polyder(p), x)`` in ``p``'s float dtype.

    >>> float(polyval_slope([1.0, 0.0, 0.0], 3.0))
    6.0
    """
    return polyval_derivative(p, x, 1)


def polyval_derivative(p: Any, x: Any, n: int = 1) -> Any:
    """d^n polyval(p, x) / dx^n, in ``p``'s float dtype.

    >>> float(polyval_derivative([1.0, 0.0, 0.0], 3.0, 2))
    2.0
    """
    p = np.asarray(p)
    coefficients = p
    for _ in range(n):
        degree = coefficients.shape[0] - 1
        if degree == 0:
            return np.zeros_like(np.polyval(p, x))
        coefficients = coefficients[:-1] * np.arange(degree, 0, -1).astype(float_dtype(p))
    return np.polyval(coefficients, x)


def polyval_vjp_p(g: Any, p: Any, x: Any, n: int = 0) -> Any:
    """The cotangent of the coefficients ``p`` for ``np.polyval(p, x)`` (for its ``n``-th
    derivative in ``x``, :func:`polyval_derivative`): ``g`` times d^n x^(m-1-k) / dx^n, summed.

    >>> polyval_vjp_p(1.0, np.array([1.0, 0.0, 0.0]), 3.0)
    array([9., 3., 1.])
    >>> polyval_vjp_p(1.0, np.array([1.0, 0.0, 0.0]), 3.0, 1)
    array([6., 1., 0.])
    """
    exponents = np.arange(np.shape(p)[0] - 1, -1, -1)
    powers = np.asarray(x)[..., None] ** np.maximum(exponents - n, 0)
    for j in range(n):  # the falling factorial e (e - 1) ... (e - n + 1); 0 for e < n
        powers = powers * (exponents - j).astype(powers.dtype)
    total = np.sum(np.asarray(g)[..., None] * powers, axis=tuple(range(np.ndim(x))))
    if isinstance(p, (list, tuple)):  # coefficients written as a list of numbers
        return type(p)(float(t) for t in total)
    return like(p, total)


def einsum_vjp(g: Any, subscripts: str, k: int, *operands: Any) -> Any:
    """The cotangent of operand ``k`` in ``np.einsum(subscripts, *operands)``.

    ``g`` contracted with the other operands back to operand ``k``'s indices;
    indices only operand ``k`` summed over are spread back, a repeated index
    (a diagonal) is written back on the diagonal, and broadcast ``...`` axes
    are summed.

    >>> a, b = np.ones((2, 3)), np.arange(3.0)
    >>> einsum_vjp(np.ones(2), "ij,j->i", 0, a, b)
    array([[0., 1., 2.],
           [0., 1., 2.]])
    >>> einsum_vjp(1.0, "ii", 0, np.zeros((2, 2)))
    array([[1., 0.],
           [0., 1.]])
    """
    inputs, output = einsum_specs(subscripts, len(operands))
    spec, x = inputs[k], operands[k]
    others = [s for i, s in enumerate(inputs) if i != k]
    letters = "".join(dict.fromkeys(spec.replace("...", "")))
    reached = set(output + "".join(others))
    kept = "".join(c for c in letters if c in reached)
    dots = "..." if "..." in spec else ""
    rest = [op for i, op in enumerate(operands) if i != k]
    # NumPy wants `...` in the output wherever an input has it; extra axes are summed below.
    any_dots = "..." if "..." in output + "".join(others) + spec else ""
    part = np.einsum(",".join([output, *others]) + "->" + any_dots + kept, g, *rest)
    sizes, dot_shape = _einsum_sizes(spec, np.shape(x))
    n_dots = len(dot_shape)
    part = _sum_to_ndim(part, n_dots, np.ndim(part) - len(kept), dot_shape)
    for position, c in enumerate(letters):  # indices summed over in operand k alone
        if c not in reached:
            part = np.expand_dims(part, n_dots + position)
    part = np.broadcast_to(part, dot_shape + tuple(sizes[c] for c in letters))
    if len(letters) == len(spec.replace("...", "")):
        return like(x, np.einsum(dots + letters + "->" + spec, part))
    result = np.zeros(np.shape(x), dtype=float_dtype(x, g))
    np.einsum(spec + "->" + dots + letters, result)[...] = part  # a view of the diagonal
    return _number_if_0d(result) if np.ndim(x) == 0 else result


def einsum_specs(subscripts: str, count: int) -> Tuple[list, str]:
    """The input specs and the output spec of ``subscripts``, made explicit as NumPy does.

    >>> einsum_specs("ij,jk", 2)
    (['ij', 'jk'], 'ik')
    >>> einsum_specs("...i, ...i -> ...", 2)
    (['...i', '...i'], '...')
    """
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    specs = inputs.split(",")
    if len(specs) != count:
        raise ValueError(f"{subscripts!r} names {len(specs)} operands, not {count}")
    if not arrow:
        letters = "".join(specs).replace("...", "")
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        output = ("..." if "..." in inputs else "") + "".join(once)
    return specs, output


def _einsum_sizes(spec: str, shape: tuple) -> Tuple[dict, tuple]:
    """The length of each index letter of one operand, and the shape of its ``...``."""
    before, _, after = spec.partition("...")
    end = len(shape) - len(after)
    dims = shape[: len(before)] + shape[end:]
    return dict(zip(before + after, dims)), tuple(shape[len(before) : end])


def _sum_to_ndim(part: Any, n_dots: int, part_dots: int, dot_shape: tuple) -> Any:
    """``part``'s leading ``...`` axes summed down to ``dot_shape`` (undoing broadcasting)."""
    part = np.asarray(part)
    if part_dots > n_dots:
        part = np.sum(part, axis=tuple(range(part_dots - n_dots)))
    for axis, size in enumerate(dot_shape):
        if size == 1 and part.shape[axis] != 1:
            part = np.sum(part, axis=axis, keepdims=True)
    return part


def _as_matrices(g: Any, x: Any, y: Any):
    x2 = np.asarray(x)[None, :] if np.ndim(x) == 1 else np.asarray(x)
    y2 = np.asarray(y)[:, None] if np.ndim(y) == 1 else np.asarray(y)
    g2 = np.asarray(g)
    if np.ndim(x) == 1:
        g2 = np.expand_dims(g2, -2 if np.ndim(y) != 1 else 0)
    if np.ndim(y) == 1:
        g2 = np.expand_dims(g2, -1)
    return x2, y2, g2


def _sum_like(value: Any, x: Any) -> Any:
    """``value`` summed over the axes broadcasting added to ``x``, as a value like ``x``."""
    value, shape = np.asarray(value), np.shape(x)
    if value.shape != shape:
        value = sum_to_shape(value, shape)
    return _owned(x, value)


def _owned(x: Any, value: np.ndarray) -> Any:
    """:func:`like`, without copying a new array that already fits (a product's result)."""
    fits = (
        type(x) is np.ndarray
        and type(value) is np.ndarray
        and value.base is None
        and value.shape == x.shape
        and value.dtype == (x.dtype if x.dtype.kind in "fc" else np.float64)
    )
    return value if fits else like(x, value)


def _contracted(x_ndim: int, y_ndim: int, axes: Any) -> Tuple[list, list]:
    """``np.tensordot``'s ``axes`` as two lists of non-negative axes."""
    if np.ndim(axes) == 0:
        n = int(axes)
        return list(range(x_ndim - n, x_ndim)), list(range(n))
    ax_x, ax_y = axes
    ax_x = [ax_x] if np.ndim(ax_x) == 0 else list(ax_x)
    ax_y = [ax_y] if np.ndim(ax_y) == 0 else list(ax_y)
    return [a % x_ndim for a in ax_x], [a % y_ndim for a in ax_y]


def _dot_axes(x: Any, y: Any) -> Tuple[list, list]:
    return [np.ndim(x) - 1], [0 if np.ndim(y) == 1 else np.ndim(y) - 2]


def _kron_blocks(g: Any, x: Any, y: Any):
    ndim = max(np.ndim(x), np.ndim(y))
    xs = (1,) * (ndim - np.ndim(x)) + np.shape(x)
    ys = (1,) * (ndim - np.ndim(y)) + np.shape(y)
    interleaved = tuple(n for pair in zip(xs, ys) for n in pair)
    return np.reshape(g, interleaved), xs, ys


def _interleave_ones(shape: tuple, second: bool) -> tuple:
    """``(a, b)`` as ``(1, a, 1, b)`` (``second``) or ``(a, 1, b, 1)``."""
    return tuple(n for s in shape for n in ((1, s) if second else (s, 1)))
