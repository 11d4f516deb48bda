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
    centered, count = _centered(x, axis)
    return like(x, _expanded(g, np.ndim(x), axis, keepdims) * 2 * centered / (count - ddof))


def var_jvp(dx: Any, x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The tangent of ``np.var(x, axis, ddof=ddof)`` along ``dx``.

    >>> float(var_jvp(np.array([1.0, 0.0]), np.array([1.0, 3.0])))
    -1.0
    """
    centered, count = _centered(x, axis)
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
    return _number_if_0d(result)


def wins(x: Any, y: Any) -> Any:
    """d maximum(x, y) / d x: 1 where ``x > y``, 1/2 at ties, 0 where ``x < y``.

    >>> wins(np.array([1.0, 2.0, 3.0]), 2.0)
    array([0. , 0.5, 1. ])
    """
    dtype = _float_dtype(x, y)
    result = (np.asarray(x) > y).astype(dtype) + dtype.type(0.5) * (np.asarray(x) == y)
    return _number_if_0d(result)


def sinc_derivative(x: Any, out: Any) -> Any:
    """d sinc(x) / dx = (cos(pi x) - sinc(x)) / x, and 0 at x = 0.

    >>> float(sinc_derivative(0.0, 1.0))
    0.0
    """
    x = np.asarray(x, dtype=float)
    safe = np.where(x == 0, 1.0, x)
    result = np.where(x == 0, 0.0, (np.cos(np.pi * safe) - out) / safe)
    return _number_if_0d(result)


# -------------------------------------------------------------- internals


def like(x: Any, value: Any) -> Any:
    """``value`` as a new value of ``x``'s type, shape and float dtype."""
    if isinstance(x, np.ndarray):
        dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64
        return np.array(np.broadcast_to(value, x.shape), dtype=dtype)
    if isinstance(x, np.generic) and np.issubdtype(x.dtype, np.inexact):
        return x.dtype.type(np.asarray(value).reshape(()))
    return float(np.asarray(value).reshape(()))


def _centered(x: Any, axis: Axis) -> Tuple[np.ndarray, int]:
    """``x`` minus its mean over ``axis``, and how many entries each mean averages."""
    centered = np.asarray(x) - np.mean(x, axis=axis, keepdims=True)
    return centered, reduced_size(x, axis)


def _number_if_0d(result: np.ndarray) -> Any:
    """A Python float for a 0-d result (the derivative of a float is a float)."""
    return result if np.ndim(result) else float(result)


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


# ---------------------------------------------------------------- products


def matmul_vjp_x(g: Any, x: Any, y: Any) -> Any:
    """The cotangent of ``x`` in ``x @ y`` (1-D operands and batch broadcasting included).

    >>> matmul_vjp_x(np.ones((2, 2)), np.zeros((2, 3)), np.ones((3, 2)))
    array([[2., 2., 2.],
           [2., 2., 2.]])
    """
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
    from .runtime import unbroadcast

    return like(x, unbroadcast(np.asarray(value), np.zeros(np.shape(x))))


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


# ---------------------------------------------------------- shape operations


def untranspose(g: Any, axes: Any = None) -> Any:
    """The cotangent of ``x`` in ``np.transpose(x, axes)``: the inverse permutation.

    >>> untranspose(np.zeros((2, 3, 4)), (1, 2, 0)).shape
    (4, 2, 3)
    """
    return np.transpose(g) if axes is None else np.transpose(g, np.argsort(axes))


def untile(g: Any, x: Any, reps: Any) -> Any:
    """The cotangent of ``x`` in ``np.tile(x, reps)``: the sum over the copies.

    >>> untile(np.arange(6.0), np.zeros(2), 3)
    array([6., 9.])
    """
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    ndim = max(len(reps), np.ndim(x))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - np.ndim(x)) + np.shape(x)
    interleaved = tuple(n for pair in zip(reps, shape) for n in pair)
    summed = np.sum(np.reshape(g, interleaved), axis=tuple(range(0, 2 * ndim, 2)))
    return like(x, np.reshape(summed, np.shape(x)))


def unrepeat(g: Any, x: Any, repeats: Any, axis: Optional[int] = None) -> Any:
    """The cotangent of ``x`` in ``np.repeat(x, repeats, axis)``: each run summed.

    >>> unrepeat(np.arange(6.0), np.zeros(3), 2)
    array([1., 5., 9.])
    """
    g = np.asarray(g)
    if axis is None:
        flat = np.ravel(np.asarray(x))
        counts = np.broadcast_to(repeats, flat.shape)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
        summed = np.add.reduceat(g, starts) if g.size else np.zeros(flat.shape)
        return like(x, np.reshape(summed, np.shape(x)))
    counts = np.broadcast_to(repeats, (np.shape(x)[axis],))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
    return like(x, np.add.reduceat(g, starts, axis=axis))


def diag_vjp(g: Any, x: Any, k: int = 0) -> Any:
    """The cotangent of ``x`` in ``np.diag(x, k)``: a vector's matrix, or a matrix's diagonal.

    >>> diag_vjp(np.array([1.0, 2.0]), np.zeros((2, 2)))
    array([[1., 0.],
           [0., 2.]])
    """
    if np.ndim(x) == 1:
        return like(x, np.diag(g, k))
    return diagonal_vjp(g, x, offset=k)


def diagonal_vjp(g: Any, x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The cotangent of ``x`` in ``np.diagonal(x, offset, axis1, axis2)``: zeros, ``g`` there.

    >>> diagonal_vjp(np.array([5.0]), np.zeros((2, 2)), offset=1)
    array([[0., 5.],
           [0., 0.]])
    """
    result = np.zeros(np.shape(x), dtype=_float_dtype(x, g))
    view = np.diagonal(result, offset=offset, axis1=axis1, axis2=axis2)
    view.setflags(write=True)  # np.diagonal returns a read-only view of ``result``
    view[...] = g
    return result


def unpad(g: Any, x: Any, pad_width: Any) -> Any:
    """The cotangent of ``x`` in ``np.pad(x, pad_width)`` (constant mode): the middle of ``g``.

    >>> unpad(np.arange(5.0), np.zeros(2), (1, 2))
    array([1., 2.])
    """
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (np.ndim(x), 2))
    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, np.shape(x)))
    return like(x, np.asarray(g)[index])


def unconcatenate(g: Any, xs: Any, axis: Optional[int] = 0) -> list:
    """The cotangents of the arrays ``np.concatenate(xs, axis)`` joined: ``g`` cut back.

    >>> unconcatenate(np.arange(3.0), [np.zeros(1), np.zeros(2)])
    [array([0.]), array([1., 2.])]
    """
    if axis is None:
        sizes = [np.size(x) for x in xs]
        pieces = np.split(np.ravel(g), np.cumsum(sizes)[:-1])
        return [like(x, np.reshape(p, np.shape(x))) for p, x in zip(pieces, xs)]
    sizes = [np.shape(x)[axis] for x in xs]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return [like(x, p) for p, x in zip(pieces, xs)]


def unstack(g: Any, xs: Any, axis: int = 0) -> list:
    """The cotangents of the arrays ``np.stack(xs, axis)`` stacked.

    >>> unstack(np.array([[1.0, 2.0], [3.0, 4.0]]), [np.zeros(2), np.zeros(2)])
    [array([1., 2.]), array([3., 4.])]
    """
    return [like(x, np.take(g, k, axis=axis)) for k, x in enumerate(xs)]


def unhstack(g: Any, xs: Any) -> list:
    """The cotangents of the arrays ``np.hstack(xs)`` joined.

    >>> unhstack(np.arange(3.0), [np.zeros(2), 0.0])
    [array([0., 1.]), 2.0]
    """
    blocks = [np.atleast_1d(x) for x in xs]
    axis = 0 if blocks[0].ndim == 1 else 1
    return _cut(g, xs, blocks, axis)


def unvstack(g: Any, xs: Any) -> list:
    """The cotangents of the arrays ``np.vstack(xs)`` joined.

    >>> unvstack(np.arange(4.0).reshape(2, 2), [np.zeros(2), np.zeros((1, 2))])
    [array([0., 1.]), array([[2., 3.]])]
    """
    return _cut(g, xs, [np.atleast_2d(x) for x in xs], 0)


def unarray(g: Any, x: Any) -> Any:
    """The cotangent of ``x`` (a number, an array, or a nested list of them) in ``np.array(x)``.

    >>> unarray(np.array([1.0, 2.0]), [0.0, 0.0])
    [1.0, 2.0]
    """
    if isinstance(x, (list, tuple)):
        items = [unarray(np.asarray(g)[k], item) for k, item in enumerate(x)]
        return tuple(items) if isinstance(x, tuple) else items
    return like(x, g)


def _cut(g: Any, xs: Any, blocks: list, axis: int) -> list:
    sizes = [b.shape[axis] for b in blocks]
    pieces = np.split(np.asarray(g), np.cumsum(sizes)[:-1], axis=axis)
    return [like(x, np.reshape(p, np.shape(x))) for p, x in zip(pieces, xs)]


# ----------------------------------------------------------- linear algebra


def mT(a: Any) -> Any:
    """The matrix transpose of ``a`` (its last two axes swapped).

    >>> mT(np.zeros((4, 2, 3))).shape
    (4, 3, 2)
    """
    return np.swapaxes(a, -1, -2)


def solve_vjp_b(g: Any, a: Any) -> Any:
    """The cotangent of ``b`` in ``x = solve(A, b)``: ``A^-T g`` (the lecture's formula).

    >>> solve_vjp_b(np.array([1.0, 1.0]), np.diag([2.0, 4.0]))
    array([0.5 , 0.25])
    """
    return np.linalg.solve(mT(a), g)


def solve_vjp_a(g: Any, a: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``x = solve(A, b)``: ``-(A^-T g) x^T``.

    >>> solve_vjp_a(np.array([1.0, 0.0]), np.eye(2), np.array([3.0, 4.0]))
    array([[-3., -4.],
           [-0., -0.]])
    """
    gb = np.linalg.solve(mT(a), g)
    if np.ndim(out) == 1:
        return -np.outer(gb, out)
    return -(gb @ mT(out))


def det_jvp(da: Any, a: Any, out: Any) -> Any:
    """The tangent of ``det(A)``: ``det(A) tr(A^-1 dA)``.

    >>> float(det_jvp(np.eye(2), 2 * np.eye(2), 4.0))
    4.0
    """
    return out * np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)


def det_vjp(g: Any, a: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``det(A)``: ``g det(A) A^-T``.

    >>> det_vjp(1.0, 2 * np.eye(2), 4.0)
    array([[2., 0.],
           [0., 2.]])
    """
    scale = np.asarray(g * out)[..., None, None]
    return like(a, scale * mT(np.linalg.inv(a)))


def slogdet_jvp(da: Any, a: Any) -> tuple:
    """The tangent of ``(sign, logabsdet) = slogdet(A)``: ``(0, tr(A^-1 dA))``.

    >>> slogdet_jvp(np.eye(2), 2 * np.eye(2))[1]
    1.0
    """
    trace = np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)
    return (np.zeros_like(trace), trace if np.ndim(trace) else float(trace))


def slogdet_vjp(g: Any, a: Any) -> Any:
    """The cotangent of ``A`` in ``slogdet(A)``: ``g_logabsdet A^-T`` (the sign is flat).

    >>> slogdet_vjp((0.0, 1.0), 2 * np.eye(2))
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    return like(a, np.asarray(g[1])[..., None, None] * mT(np.linalg.inv(a)))


def cholesky_jvp(da: Any, out: Any) -> Any:
    """The tangent of ``L = cholesky(A)``, which reads the lower triangle of ``A``.

    >>> cholesky_jvp(np.eye(2), np.eye(2))
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    lower = np.tril(da)
    symmetric = lower + mT(np.tril(da, -1))
    inner = np.linalg.solve(out, mT(np.linalg.solve(out, symmetric)))  # L^-1 S L^-T
    return out @ _phi(inner)


def cholesky_vjp(g: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``L = cholesky(A)`` (zero above the diagonal: NumPy reads
    only the lower triangle).

    >>> cholesky_vjp(np.eye(2), np.eye(2))
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    inner = _phi(mT(out) @ g)
    left = np.linalg.solve(mT(out), inner)  # L^-T Phi
    m = mT(np.linalg.solve(mT(out), mT(left)))  # L^-T Phi L^-1
    return like(out, np.tril(m + mT(m), -1) + _diag_part(m))


def eigvalsh_vjp(g: Any, a: Any) -> Any:
    """The cotangent of symmetric ``A`` in ``eigvalsh(A)``: ``V diag(g) V^T``.

    NumPy reads the lower triangle, so the cotangent lives there.

    >>> eigvalsh_vjp(np.array([1.0, 1.0]), np.diag([1.0, 2.0]))
    array([[1., 0.],
           [0., 1.]])
    """
    _, v = np.linalg.eigh(a)
    m = (v * np.asarray(g)[..., None, :]) @ mT(v)
    return like(a, np.tril(m + mT(m), -1) + _diag_part(m))


def svdvals_vjp(g: Any, a: Any) -> Any:
    """The cotangent of ``W`` in ``svdvals(W)``: ``U diag(g) V^T`` (the lecture's formula).

    >>> svdvals_vjp(np.array([1.0, 1.0]), np.diag([3.0, 2.0]))
    array([[1., 0.],
           [0., 1.]])
    """
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return like(a, (u * np.asarray(g)[..., None, :]) @ vh)


def norm_weights(x: Any, out: Any, ord: Any = None, axis: Axis = None, keepdims: bool = False):
    """d norm(x, ord, axis) / d x, entry by entry (x's shape).

    >>> norm_weights(np.array([3.0, 4.0]), 5.0)
    array([0.6, 0.8])
    """
    x = np.asarray(x)
    if _is_matrix_norm(x, ord, axis):
        return like(x, _matrix_norm_weights(x, ord, axis))
    norm = _expanded(out, x.ndim, axis, keepdims)
    if ord is None or ord == 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            return like(x, np.where(norm == 0, 0.0, x / np.where(norm == 0, 1.0, norm)))
    if ord == 1:
        return like(x, np.sign(x))
    if ord in (np.inf, -np.inf):
        return like(x, np.sign(x) * extremum_weights(np.abs(x), out, axis, keepdims))
    if ord == 0:
        return like(x, np.zeros_like(x, dtype=float))
    return like(x, np.sign(x) * (np.abs(x) / norm) ** (ord - 1))


def matrix_power_jvp(da: Any, a: Any, n: int) -> Any:
    """The tangent of ``matrix_power(A, n)`` for n >= 0: ``sum_k A^k dA A^(n-1-k)``.

    >>> matrix_power_jvp(np.eye(2), 2 * np.eye(2), 3)
    array([[12.,  0.],
           [ 0., 12.]])
    """
    powers = _powers(a, n)
    return sum((powers[k] @ da @ powers[n - 1 - k] for k in range(n)), np.zeros_like(da))


def matrix_power_vjp(g: Any, a: Any, n: int) -> Any:
    """The cotangent of ``A`` in ``matrix_power(A, n)`` for n >= 0.

    >>> matrix_power_vjp(np.eye(2), 2 * np.eye(2), 2)
    array([[4., 0.],
           [0., 4.]])
    """
    powers = [mT(p) for p in _powers(a, n)]
    total = sum((powers[k] @ g @ powers[n - 1 - k] for k in range(n)), np.zeros(np.shape(a)))
    return like(a, total)


def _powers(a: Any, n: int) -> list:
    if n < 0:
        raise ValueError("the derivative of matrix_power is implemented for n >= 0")
    result = [np.broadcast_to(np.eye(np.shape(a)[-1]), np.shape(a))]
    for _ in range(n - 1):
        result.append(result[-1] @ a)
    return result


def _phi(m: Any) -> Any:
    """The lower triangle of ``m`` with its diagonal halved."""
    return np.tril(m) - 0.5 * _diag_part(m)


def _diag_part(m: Any) -> Any:
    n = np.shape(m)[-1]
    return m * np.eye(n)


def _is_matrix_norm(x: np.ndarray, ord: Any, axis: Axis) -> bool:
    if axis is None:
        return x.ndim == 2 and ord is not None
    return np.ndim(axis) == 1 and len(axis) == 2


def _matrix_norm_weights(x: np.ndarray, ord: Any, axis: Axis) -> np.ndarray:
    axes = (0, 1) if axis is None else tuple(a % x.ndim for a in axis)
    m = np.moveaxis(x, axes, (-2, -1))
    if ord in (None, "fro"):
        weights = m / np.linalg.norm(m, axis=(-2, -1), keepdims=True)
    elif ord == "nuc":
        u, _, vh = np.linalg.svd(m, full_matrices=False)
        weights = u @ vh
    elif ord in (2, -2):
        u, _, vh = np.linalg.svd(m, full_matrices=False)
        k = 0 if ord == 2 else -1
        weights = u[..., :, k : k + 1 or None] @ vh[..., k : k + 1 or None, :]
    elif ord in (1, -1, np.inf, -np.inf):
        along = -2 if ord in (1, -1) else -1  # column sums for 1, row sums for inf
        sums = np.sum(np.abs(m), axis=along, keepdims=True)
        best = np.max(sums, axis=-1 if along == -2 else -2, keepdims=True)
        if ord in (-1, -np.inf):
            best = np.min(sums, axis=-1 if along == -2 else -2, keepdims=True)
        hit = sums == best
        weights = np.sign(m) * hit / np.sum(hit, axis=(-2, -1), keepdims=True)
    else:
        raise ValueError(f"the derivative of a matrix norm with ord={ord!r} is not implemented")
    return np.moveaxis(weights, (-2, -1), axes)


def eigvalsh_jvp(da: Any, a: Any) -> Any:
    """The tangent of ``eigvalsh(A)``: ``v_i^T dA v_i`` (``dA`` read from its lower triangle).

    >>> eigvalsh_jvp(np.eye(2), np.diag([1.0, 2.0]))
    array([1., 1.])
    """
    symmetric = np.tril(da) + mT(np.tril(da, -1))
    _, v = np.linalg.eigh(a)
    return np.sum(v * (symmetric @ v), axis=-2)


def svdvals_jvp(da: Any, a: Any) -> Any:
    """The tangent of ``svdvals(W)``: ``u_i^T dW v_i``.

    >>> svdvals_jvp(np.eye(2), np.diag([3.0, 2.0]))
    array([1., 1.])
    """
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(u * (da @ mT(vh)), axis=-2)
