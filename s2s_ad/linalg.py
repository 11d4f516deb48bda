"""Helpers that the emitted code of ``np.linalg`` rules calls.

Each is the derivative of one matrix function, in the closed forms of the
matrix-calculus literature (Giles, "An extended collection of matrix
derivative results"): ``solve_vjp_a`` is the lecture's ``-A^-T g x^T``,
``svdvals_vjp`` its ``U diag(g) V^T``.  Functions of a stack of matrices
work on the last two axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import Axis, expanded, extremum_weights, like


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
    norm = expanded(out, x.ndim, axis, keepdims)
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
