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

    >>> var_vjp(1.0, np.array([1.0, 3.0]))
    array([-1.,  1.])
    """
    centered, count = _centered(x, axis)
    return like(x, expanded(g, np.ndim(x), axis, keepdims) * 2 * centered / (count - ddof))


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
