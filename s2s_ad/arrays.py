"""Helpers that the emitted code of NumPy rules calls (``from s2s_ad.arrays import unreduce``).

Each is the derivative piece of one family of NumPy functions, written so
that a reader of the emitted code can look it up: reductions over ``axis``
spread a cotangent back over the reduced axes (:func:`unreduce`), ``max``
and ``min`` share it between ties (:func:`extremum_weights`), and so on.
Results have the shape and float dtype of the argument they belong to.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

Axis = Optional[Any]  # None, an int or a tuple of ints


def unreduce(g: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Spread the cotangent ``g`` of a reduction of ``x`` over ``axis`` back to ``x``'s shape.

    >>> unreduce(np.array([1.0, 2.0]), np.zeros((2, 3)), axis=1)
    array([[1., 1., 1.],
           [2., 2., 2.]])
    """
    g = _expanded(g, np.ndim(x), axis, keepdims)
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
    hit = np.asarray(x) == _expanded(out, np.ndim(x), axis, keepdims)
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

    >>> var_vjp(1.0, np.array([1.0, 3.0]))
    array([-1.,  1.])
    """
    centered = np.asarray(x) - np.mean(x, axis=axis, keepdims=True)
    count = np.size(x) // max(np.size(np.mean(x, axis=axis)), 1)
    return like(x, _expanded(g, np.ndim(x), axis, keepdims) * 2 * centered / (count - ddof))


def var_jvp(dx: Any, x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The tangent of ``np.var(x, axis, ddof=ddof)`` along ``dx``.

    >>> float(var_jvp(np.array([1.0, 0.0]), np.array([1.0, 3.0])))
    -1.0
    """
    centered = np.asarray(x) - np.mean(x, axis=axis, keepdims=True)
    count = np.size(x) // max(np.size(np.mean(x, axis=axis)), 1)
    total = np.sum(2 * centered * dx, axis=axis, keepdims=keepdims)
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
    return like(x, g * np.eye(rows, cols, k=offset))


def inside(x: Any, lo: Any, hi: Any) -> Any:
    """1 where ``lo <= x <= hi`` (a bound of None is no bound), else 0: d clip / d x.

    >>> inside(np.array([-2.0, 0.5, 2.0]), -1.0, None)
    array([0., 1., 1.])
    """
    result = np.ones(np.shape(x), dtype=_float_dtype(x))
    if lo is not None:
        result = result * (np.asarray(x) >= lo)
    if hi is not None:
        result = result * (np.asarray(x) <= hi)
    return result if np.ndim(result) else float(result)


def wins(x: Any, y: Any) -> Any:
    """d maximum(x, y) / d x: 1 where ``x > y``, 1/2 at ties, 0 where ``x < y``.

    >>> wins(np.array([1.0, 2.0, 3.0]), 2.0)
    array([0. , 0.5, 1. ])
    """
    dtype = _float_dtype(x, y)
    result = (np.asarray(x) > y).astype(dtype) + dtype.type(0.5) * (np.asarray(x) == y)
    return result if np.ndim(result) else float(result)


def sinc_derivative(x: Any, out: Any) -> Any:
    """d sinc(x) / dx = (cos(pi x) - sinc(x)) / x, and 0 at x = 0.

    >>> float(sinc_derivative(0.0, 1.0))
    0.0
    """
    x = np.asarray(x, dtype=float)
    safe = np.where(x == 0, 1.0, x)
    result = np.where(x == 0, 0.0, (np.cos(np.pi * safe) - out) / safe)
    return result if np.ndim(result) else float(result)


# -------------------------------------------------------------- internals


def like(x: Any, value: Any) -> Any:
    """``value`` as a new value of ``x``'s type, shape and float dtype."""
    if isinstance(x, np.ndarray):
        dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64
        return np.array(np.broadcast_to(value, x.shape), dtype=dtype)
    if isinstance(x, np.generic) and np.issubdtype(x.dtype, np.inexact):
        return x.dtype.type(np.asarray(value).reshape(()))
    return float(np.asarray(value).reshape(()))


def _float_dtype(*values: Any) -> np.dtype:
    """The float dtype of an operation on ``values`` (float64 for Python numbers)."""
    dtype = np.result_type(*(getattr(v, "dtype", np.float64) for v in values if v is not None))
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def _expanded(g: Any, ndim: int, axis: Axis, keepdims: bool) -> Any:
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
