"""Helpers that the emitted code of NumPy's shape operations calls.

Shape operations are linear: each helper here undoes one of them on a
cotangent (``untile`` sums the copies ``np.tile`` made, ``unconcatenate``
cuts ``g`` back into the pieces that were joined).  Results have the shape
and float dtype of the argument they belong to.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import unbroadcast
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
    """The cotangent of ``x`` in ``np.repeat(x, repeats, axis)``: each run summed (an entry
    repeated 0 times gets 0).

    >>> unrepeat(np.arange(6.0), np.zeros(3), 2)
    array([1., 5., 9.])
    >>> unrepeat(np.arange(2.0), np.zeros(3), [0, 2, 0])
    array([0., 1., 0.])
    """
    g = np.asarray(g)
    lined = np.ravel(g) if axis is None else np.moveaxis(g, axis, 0)
    count = np.size(x) if axis is None else np.shape(x)[axis]
    owners = np.repeat(np.arange(count), repeats)  # the entry of x each entry of g copies
    summed = np.zeros((count,) + lined.shape[1:], dtype=np.result_type(g.dtype, np.float16))
    np.add.at(summed, owners, lined)
    if axis is None:
        return like(x, np.reshape(summed, np.shape(x)))
    return like(x, np.moveaxis(summed, 0, axis))


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
        return _as_argument([like(x, np.reshape(p, np.shape(x))) for p, x in zip(pieces, xs)], xs)
    sizes = [np.shape(x)[axis] for x in xs]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return _as_argument([like(x, p) for p, x in zip(pieces, xs)], xs)


def unstack(g: Any, xs: Any, axis: int = 0) -> list:
    """The cotangents of the arrays ``np.stack(xs, axis)`` stacked.

    >>> unstack(np.array([[1.0, 2.0], [3.0, 4.0]]), [np.zeros(2), np.zeros(2)])
    [array([1., 2.]), array([3., 4.])]
    """
    return _as_argument([like(x, np.take(g, k, axis=axis)) for k, x in enumerate(xs)], xs)


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
    return _as_argument([like(x, np.reshape(p, np.shape(x))) for p, x in zip(pieces, xs)], xs)


def _as_argument(cotangents: list, xs: Any) -> Any:
    """The cotangents of the arrays a join took, as one array where ``xs`` was one array
    (``np.hstack(x)`` joins the rows of ``x``: its cotangent is an array like ``x``)."""
    if isinstance(xs, np.ndarray):
        return like(xs, np.reshape(np.array(cotangents), np.shape(xs)))
    return cotangents


def positions(xs: Any) -> Any:
    """Each entry of ``xs`` (an array, or a nested list of them) labelled by its flat position.

    Gathering these labels the way a primal call gathers entries (``np.take(positions(x), i)``)
    shows where each entry of the result came from: :func:`ungather` sends ``g`` back there.

    >>> positions([np.zeros(2), np.zeros((1, 2))])
    [array([0, 1]), array([[2, 3]])]
    """
    return _positions(xs, 0)[0]


def elsewhere(xs: Any) -> Any:
    """``-1`` in place of each entry of ``xs``: entries of a result that come from another argument.

    >>> elsewhere([np.zeros(2), 0.0])
    [array([-1, -1]), array(-1)]
    """
    if isinstance(xs, (list, tuple)):
        return [elsewhere(x) for x in xs]
    return np.full(np.shape(xs), -1)


def ungather(g: Any, xs: Any, sources: Any) -> Any:
    """The cotangent of ``xs`` for a result whose entries copy those of ``xs`` at ``sources``.

    ``sources`` are labels from :func:`positions` gathered like the result (-1: an entry
    that is not from ``xs``); an entry copied several times gets the sum of its cotangents.

    >>> ungather(np.array([1.0, 2.0, 3.0]), np.zeros(2), np.array([1, -1, 1]))
    array([0., 4.])
    """
    weights = np.ravel(np.broadcast_to(g, np.shape(sources)))
    sources = np.ravel(sources)
    size = _total_size(xs)
    kept = (sources >= 0) & (sources < size)
    totals = np.bincount(sources[kept], weights=np.real(weights[kept]), minlength=size)
    if np.iscomplexobj(weights):  # np.bincount adds real weights only
        imaginary = np.bincount(sources[kept], weights=np.imag(weights[kept]), minlength=size)
        totals = totals + 1j * imaginary
    return _unflatten(totals, xs)


def gathered(g: Any, sources: Any, v: Any) -> Any:
    """The transpose of ``ungather(v, xs, sources)``: the entries of ``g`` (shaped like ``xs``)
    at ``sources`` (0 where a source is -1), summed to the shape of ``v``.

    >>> gathered(np.array([5.0, 7.0]), np.array([1, -1, 1]), np.zeros(3))
    array([7., 0., 7.])
    """
    flat = _flattened(g)
    sources = np.asarray(sources)
    kept = (sources >= 0) & (sources < flat.size)
    values = np.zeros(sources.shape, dtype=flat.dtype)
    values[kept] = flat[sources[kept]]
    return unbroadcast(values, v)


def permutation_of(x: Any, out: Any, axis: Optional[int] = -1) -> Any:
    """The indices ``p`` with ``out == np.take_along_axis(x, p, axis)``, for ``out`` a
    reordering of ``x`` along ``axis`` (by ``np.sort`` or ``np.partition``).

    >>> permutation_of(np.array([3.0, 1.0, 2.0]), np.array([1.0, 3.0, 2.0]))
    array([1, 0, 2])
    """
    ranks = np.argsort(np.argsort(out, axis=axis), axis=axis)
    return np.take_along_axis(np.argsort(x, axis=axis), ranks, axis=axis)


def reordered(dx: Any, x: Any, out: Any, axis: Optional[int] = -1) -> Any:
    """The tangent of ``out``, a reordering of ``x`` along ``axis``: ``dx`` reordered alike.

    >>> reordered(np.array([0.3, 0.1, 0.2]), np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    array([0.1, 0.2, 0.3])
    """
    return np.take_along_axis(np.asarray(dx), permutation_of(x, out, axis), axis=axis)


def unreordered(g: Any, x: Any, out: Any, axis: Optional[int] = -1) -> Any:
    """The cotangent of ``x`` for ``out``, a reordering of ``x`` along ``axis``.

    >>> unreordered(np.array([0.1, 0.2, 0.3]), np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    array([0.3, 0.1, 0.2])
    """
    p = permutation_of(x, out, axis)
    return ungather(g, x, np.take_along_axis(np.asarray(positions(x)), p, axis=axis))


def undiff(g: Any, x: Any, n: int = 1, axis: int = -1) -> Any:
    """The cotangent of ``x`` in ``np.diff(x, n, axis)`` (or ``np.ediff1d(x)``, flattened).

    Each difference ``x[i + 1] - x[i]`` sends ``g[i]`` to ``x[i + 1]`` and ``-g[i]`` to ``x[i]``.

    >>> undiff(np.array([1.0, 10.0]), np.zeros(3))
    array([-1., -9., 10.])
    """
    g = np.asarray(g)
    widths = [(0, 0)] * g.ndim
    widths[axis] = (1, 1)
    for _ in range(n):
        g = -np.diff(np.pad(g, widths), axis=axis)
    return _unflatten(np.ravel(g), x)


def diff_like(g: Any, v: Any, n: int = 1, axis: int = -1) -> Any:
    """The transpose of ``undiff(v, x, n, axis)``: ``np.diff(g, n, axis)``, of the flattened
    ``g`` where ``v`` is flat and ``g`` is not (as ``np.ediff1d`` takes differences).

    >>> diff_like(np.array([[1.0, 2.0], [4.0, 8.0]]), np.zeros(3))
    array([1., 2., 4.])
    """
    g = np.asarray(g)
    if g.ndim != np.ndim(v):
        g, axis = np.ravel(g), -1
    return np.diff(g, n=n, axis=axis)


def uncolumn_stack(g: Any, xs: Any) -> list:
    """The cotangents of the arrays ``np.column_stack(xs)`` joined (1-D ones as columns).

    >>> uncolumn_stack(np.arange(6.0).reshape(2, 3), [np.zeros(2), np.zeros((2, 2))])
    [array([0., 3.]), array([[1., 2.],
           [4., 5.]])]
    """
    blocks = [np.array(x, ndmin=2).T if np.ndim(x) < 2 else np.asarray(x) for x in xs]
    return _cut(g, xs, blocks, 1)


def undstack(g: Any, xs: Any) -> list:
    """The cotangents of the arrays ``np.dstack(xs)`` joined.

    >>> [p.shape for p in undstack(np.zeros((1, 2, 3)), [np.zeros(2), np.zeros((1, 2, 2))])]
    [(2,), (1, 2, 2)]
    """
    return _cut(g, xs, [np.atleast_3d(x) for x in xs], 2)


def _positions(xs: Any, start: int) -> tuple:
    """``positions(xs)`` counted from ``start``, and the next free label."""
    if isinstance(xs, (list, tuple)):
        labelled = []
        for x in xs:
            label, start = _positions(x, start)
            labelled.append(label)
        return labelled, start
    size = int(np.size(xs))
    return np.arange(start, start + size).reshape(np.shape(xs)), start + size


def _total_size(xs: Any) -> int:
    if isinstance(xs, (list, tuple)):
        return sum(_total_size(x) for x in xs)
    return int(np.size(xs))


def _unflatten(flat: np.ndarray, xs: Any) -> Any:
    """``flat`` cut into pieces shaped (and typed) like ``xs``, an array or a nested list."""
    if not isinstance(xs, (list, tuple)):
        return like(xs, np.reshape(flat, np.shape(xs)))
    sizes = [_total_size(x) for x in xs]
    pieces = np.split(flat, np.cumsum(sizes)[:-1])
    return [_unflatten(piece, x) for piece, x in zip(pieces, xs)]


def _flattened(xs: Any) -> np.ndarray:
    """The entries of ``xs`` (an array, or a nested list of them) in one flat array."""
    if isinstance(xs, (list, tuple)):
        return np.concatenate([_flattened(x) for x in xs]) if xs else np.zeros(0)
    return np.ravel(xs)


def rolled_axes(ndim: int, axis: int, start: int = 0) -> tuple:
    """The order ``np.rollaxis(x, axis, start)`` puts the axes of an ``ndim``-array in.

    >>> rolled_axes(3, 2)
    (2, 0, 1)
    """
    probe = np.broadcast_to(0, tuple(range(2, ndim + 2)))  # lengths 2, 3, ... name the axes
    return tuple(n - 2 for n in np.rollaxis(probe, axis, start).shape)


def spaced_gradient(f: Any, spacing: tuple = (), axis: Any = None, edge_order: int = 1) -> Any:
    """``np.gradient(f, *spacing, axis=axis, edge_order=edge_order)``, the spacings in a tuple.

    >>> spaced_gradient(np.array([0.0, 1.0, 4.0]), (0.5,))
    array([2., 4., 6.])
    """
    return np.gradient(f, *spacing, axis=axis, edge_order=edge_order)


def gradient_vjp(v: Any, spacing: tuple = (), axis: Any = None, edge_order: int = 1) -> Any:
    """The cotangent of ``f`` in ``np.gradient(f, *spacing, axis=axis, edge_order=...)``:
    ``v`` is the cotangent of the result (a list of them when it has several axes).

    Along each axis the finite differences are a band matrix ``D`` whose row ``i`` has its
    entries in three neighbouring columns; ``np.gradient`` of the 0/1 combs with period 3
    reads them off (each comb meets each row's columns once), and ``D^T v`` adds them up.

    >>> gradient_vjp(np.array([1.0, 0.0, 0.0]), (0.5,))
    array([-2.,  2.,  0.])
    """
    several = isinstance(v, (list, tuple))
    parts = [np.asarray(p) for p in v] if several else [np.asarray(v)]
    shape = parts[0].shape
    axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
    axes = [int(a) % len(shape) for a in axes]
    steps = list(spacing) if len(spacing) != 1 else list(spacing) * len(axes)
    total = np.zeros(shape, dtype=np.result_type(*parts, np.float32))
    for k, (part, along) in enumerate(zip(parts, axes)):
        step = steps[k:k + 1]  # fmt: skip
        total = total + _differences_transposed(part, along, step, edge_order)
    return total


def _differences_transposed(v: np.ndarray, axis: int, step: list, edge_order: int) -> Any:
    """``D^T v`` along ``axis``, ``D`` the differences ``np.gradient`` takes with ``step``."""
    lined = np.moveaxis(v, axis, 0)
    n = lined.shape[0]
    period = min(3, n)
    window = np.clip(np.arange(n) - 1, 0, n - period)  # the first column of each row's band
    total = np.zeros_like(lined)
    for r in range(period):
        comb = (np.arange(n) % period == r).astype(np.float64)
        entries = np.gradient(comb, *step, edge_order=edge_order)  # D[i, the band's r column]
        columns = window + (r - window) % period
        weights = np.reshape(entries, (n,) + (1,) * (lined.ndim - 1)).astype(total.dtype)
        np.add.at(total, columns, weights * lined)
    return np.moveaxis(total, 0, axis)


def index_r(items: Any) -> Any:
    """``np.r_[a, b, ...]`` of the computed ``items``: joined along the first axis.

    >>> index_r((np.array([1.0, 2.0]), 3.0))
    array([1., 2., 3.])
    """
    return np.r_[tuple(items)]


def index_c(items: Any) -> Any:
    """``np.c_[a, b, ...]`` of the computed ``items``: joined along the last axis, 1-D items
    as columns.

    >>> index_c((np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    array([[1., 3.],
           [2., 4.]])
    """
    return np.c_[tuple(items)]
