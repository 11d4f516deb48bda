"""Helpers that the emitted code of NumPy's shape operations calls.

Shape operations are linear: each helper here undoes one of them on a
cotangent (``untile`` sums the copies ``np.tile`` made, ``unconcatenate``
cuts ``g`` back into the pieces that were joined).  Results have the shape
and float dtype of the argument they belong to.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .arrays import float_dtype, like


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
    result = np.zeros(np.shape(x), dtype=float_dtype(x, g))
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
