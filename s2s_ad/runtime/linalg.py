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

from . import unbroadcast
from .arrays import Axis, expanded, extremum_weights, like, unreduce

_LAST_TWO = (-2, -1)  # the axes of the matrices in a stack


def mT(a: Any) -> Any:
    """The matrix transpose of ``a`` (its last two axes swapped).

    >>> mT(np.zeros((4, 2, 3))).shape
    (4, 3, 2)
    """
    return np.swapaxes(a, -1, -2)


def solve_vjp_b(g: Any, a: Any, b: Any) -> Any:
    """The cotangent of ``b`` in ``x = solve(A, b)``: ``A^-T g`` (the lecture's formula).

    >>> solve_vjp_b(np.array([1.0, 1.0]), np.diag([2.0, 4.0]), np.zeros(2))
    array([0.5 , 0.25])
    """
    return like(b, np.linalg.solve(mT(a), g))


def solve_vjp_a(g: Any, a: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``x = solve(A, b)``: ``-(A^-T g) x^T``.

    >>> solve_vjp_a(np.array([1.0, 0.0]), np.eye(2), np.array([3.0, 4.0]))
    array([[-3., -4.],
           [-0., -0.]])
    """
    gb = np.linalg.solve(mT(a), g)
    if np.ndim(out) == 1:
        return like(a, -np.outer(gb, out))
    return like(a, -(gb @ mT(out)))


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

    >>> float(slogdet_jvp(np.eye(2), 2 * np.eye(2))[1])
    1.0
    """
    trace = np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)
    return (np.zeros_like(trace), trace)


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
    inner = np.linalg.solve(out, mT(np.linalg.solve(out, symmetrized(da))))  # L^-1 S L^-T
    return out @ phi(inner)


def cholesky_vjp(g: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``L = cholesky(A)`` (zero above the diagonal: NumPy reads
    only the lower triangle).

    >>> cholesky_vjp(np.eye(2), np.eye(2))
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    inner = phi(mT(out) @ g)
    left = np.linalg.solve(mT(out), inner)  # L^-T Phi
    m = mT(np.linalg.solve(mT(out), mT(left)))  # L^-T Phi L^-1
    return like(out, onto_triangle(m))


def eigvalsh_vjp(g: Any, a: Any, UPLO: str = "L") -> Any:
    """The cotangent of symmetric ``A`` in ``eigvalsh(A)``: ``V diag(g) V^T``.

    NumPy reads the lower triangle (``UPLO="U"``: the upper one), so the cotangent lives there.

    >>> eigvalsh_vjp(np.array([1.0, 1.0]), np.diag([1.0, 2.0]))
    array([[1., 0.],
           [0., 1.]])
    """
    _, v = np.linalg.eigh(a, UPLO)
    m = (v * np.asarray(g)[..., None, :]) @ mT(v)
    return like(a, onto_triangle(m, UPLO))


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
    return vector_norm_weights(x, out, axis, keepdims, 2 if ord is None else ord)


def vector_norm_weights(x: Any, out: Any, axis: Axis = None, keepdims: bool = False, ord=2):
    """d vector_norm(x, axis, keepdims, ord) / d x, entry by entry (x's shape): the norm over
    ``axis`` (None: all entries), whatever the number of axes.

    >>> vector_norm_weights(np.array([[3.0], [-4.0]]), 7.0, ord=1)
    array([[ 1.],
           [-1.]])
    """
    x = np.asarray(x)
    norm = expanded(out, x.ndim, axis, keepdims)
    if ord == 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            return like(x, np.where(norm == 0, 0.0, x / np.where(norm == 0, 1.0, norm)))
    if ord == 1:
        return like(x, np.sign(x))
    if ord in (np.inf, -np.inf):
        return like(x, np.sign(x) * extremum_weights(np.abs(x), out, axis, keepdims))
    if ord == 0:
        return like(x, np.zeros_like(x, dtype=float))
    return like(x, np.sign(x) * (np.abs(x) / norm) ** (ord - 1))


def norm_hvp(t: Any, x: Any, ord: Any = None, axis: Axis = None) -> Any:
    """The Hessian of ``norm(x, ord, axis)`` times ``t`` (the derivative of
    :func:`norm_weights` along ``t``).

    >>> norm_hvp(np.array([1.0, 0.0]), np.array([3.0, 4.0]))
    array([ 0.128, -0.096])
    """
    x = np.asarray(x)
    if not _is_matrix_norm(x, ord, axis):
        return vector_norm_hvp(t, x, axis, 2 if ord is None else ord)
    axes = (0, 1) if axis is None else tuple(a % x.ndim for a in axis)
    t, m = (np.moveaxis(np.asarray(v), axes, _LAST_TWO) for v in (t, x))
    return like(x, np.moveaxis(_matrix_norm_hvp(t, m, ord), _LAST_TWO, axes))


def vector_norm_hvp(t: Any, x: Any, axis: Axis = None, ord: Any = 2) -> Any:
    """The Hessian of ``vector_norm(x, axis, ord=ord)`` times ``t``: with ``w`` the weights,
    ``(ord - 1) (|x|^(ord-2) / n^(ord-1) t - w sum(w t) / n)``, zero for ord 0, 1 and inf.

    >>> vector_norm_hvp(np.array([1.0, 0.0]), np.array([3.0, 4.0]))
    array([ 0.128, -0.096])
    """
    x, t = np.asarray(x), np.asarray(t)
    if ord in (0, 1, np.inf, -np.inf):  # piecewise linear
        return like(x, np.zeros_like(t))
    norm = np.sum(np.abs(x) ** ord, axis=axis, keepdims=True) ** (1 / ord)
    weights = vector_norm_weights(x, norm, axis, True, ord)
    curvature = 1 / norm if ord == 2 else np.abs(x) ** (ord - 2) / norm ** (ord - 1)
    along = np.sum(weights * t, axis=axis, keepdims=True)
    return like(x, (ord - 1) * (curvature * t - weights * along / norm))


def matrix_norm_hvp(t: Any, x: Any, ord: Any = "fro") -> Any:
    """The Hessian of ``np.linalg.matrix_norm(x, ord=ord)`` (last two axes) times ``t``.

    >>> matrix_norm_hvp(np.array([[1.0, 0.0]]), np.array([[3.0, 4.0]]))
    array([[ 0.128, -0.096]])
    """
    return like(x, _matrix_norm_hvp(np.asarray(t), np.asarray(x), ord))


def _matrix_norm_hvp(t: Any, m: Any, ord: Any) -> Any:
    """The Hessian of a matrix norm of the stack ``m`` (last two axes) times ``t``: the
    singular-vector norms move with their singular vectors (:func:`svd_jvp`)."""
    if ord in (None, "fro"):
        return vector_norm_hvp(t, m, _LAST_TWO, 2)
    if ord in (1, -1, np.inf, -np.inf):  # piecewise linear
        return np.zeros_like(t)
    if ord not in ("nuc", 2, -2):
        raise ValueError(f"the derivative of a matrix norm with ord={ord!r} is not implemented")
    u, s, vh = np.linalg.svd(m, full_matrices=False)
    du, _, dvh = svd_jvp(t, m, (u, s, vh), full_matrices=False)
    if ord != "nuc":  # the extreme singular pair only
        k = slice(0, 1) if ord == 2 else slice(-1, None)
        u, du, vh, dvh = u[..., :, k], du[..., :, k], vh[..., k, :], dvh[..., k, :]
    return du @ vh + u @ dvh


def matrix_spread(g: Any, x: Any, keepdims: bool = False) -> Any:
    """The cotangent ``g`` of one number per matrix of ``x`` (the last two axes) spread over
    each matrix.

    >>> matrix_spread(np.array([1.0, 2.0]), np.zeros((2, 1, 2)))
    array([[[1., 1.]],
    <BLANKLINE>
           [[2., 2.]]])
    """
    return unreduce(g, x, _LAST_TWO, keepdims)


def matrix_power_jvp(da: Any, a: Any, n: int) -> Any:
    """The tangent of ``matrix_power(A, n)`` for n >= 0: ``sum_k A^k dA A^(n-1-k)``.

    >>> matrix_power_jvp(np.eye(2), 2 * np.eye(2), 3)
    array([[12.,  0.],
           [ 0., 12.]])
    """
    return like(da, matrix_power_derivative(a, n, da))


def matrix_power_vjp(g: Any, a: Any, n: int) -> Any:
    """The cotangent of ``A`` in ``matrix_power(A, n)`` for n >= 0.

    >>> matrix_power_vjp(np.eye(2), 2 * np.eye(2), 2)
    array([[4., 0.],
           [0., 4.]])
    """
    return matrix_power_gradient(g, a, n)


# Products of matrices are multilinear: the derivative of ``A^n`` (or of a chain
# ``X_1 X_2 ... X_n``) along directions ``D_1 .. D_m`` puts each direction in place of one
# factor, in every way.  Each helper's derivative is another of them with one more direction.


def matrix_power_derivative(a: Any, n: int, *directions: Any) -> Any:
    """The derivative of ``matrix_power(A, n)`` (n >= 0) along ``directions``.

    >>> matrix_power_derivative(2 * np.eye(2), 2, np.eye(2), np.eye(2))
    array([[2., 0.],
           [0., 2.]])
    """
    if n < 0:
        raise ValueError("the derivative of matrix_power is implemented for n >= 0")
    factors, lines = [a] * n, [[d] * n for d in directions]
    return like(a, _chain_derivative(factors, lines, np.shape(a)))


def matrix_power_gradient(g: Any, a: Any, n: int, *directions: Any) -> Any:
    """The gradient in ``A`` of ``<g, matrix_power_derivative(A, n, *directions)>``.

    >>> matrix_power_gradient(np.eye(2), 2 * np.eye(2), 2, np.eye(2))
    array([[2., 0.],
           [0., 2.]])
    """
    if n < 0:
        raise ValueError("the derivative of matrix_power is implemented for n >= 0")
    factors, lines = [a] * n, [[d] * n for d in directions]
    return like(a, sum(_chain_gradients(g, factors, lines), np.zeros(np.shape(a))))


def _chain_derivative(factors: list, directions: list, shape: tuple) -> Any:
    """The sum of the products of ``factors`` with each direction (a list of one matrix per
    factor) in place of one factor, in every way: zeros of ``shape`` if there are none."""
    full = (1 << len(directions)) - 1
    product = _chain_sums(factors, directions)[-1].get(full)
    if product is None:  # more directions than factors
        return np.zeros(shape)
    return np.broadcast_to(np.eye(shape[-1]), shape) if product is _IDENTITY else product


def _chain_gradients(g: Any, factors: list, directions: list) -> list:
    """Per factor, the gradient of ``<g, _chain_derivative(factors, directions)>`` in it:
    ``left^T g right^T`` for the sums of products on either side of it."""
    before = _chain_sums(factors, directions)
    # built from the end with the factors transposed: ``after[j][T]`` is the transpose of the
    # product of the last ``j`` factors
    reversed_lines = [[mT(d) for d in line[::-1]] for line in directions]
    after = _chain_sums([mT(f) for f in factors[::-1]], reversed_lines)
    full, count = (1 << len(directions)) - 1, len(factors)
    result = []
    for k, factor in enumerate(factors):
        total = np.zeros(np.shape(factor))
        for s, left in before[k].items():
            right = after[count - 1 - k].get(full ^ s)
            if right is not None:
                total = total + _then(_then(_transposed(left), g), right)
        result.append(total)
    return result


_IDENTITY = "identity"  # the empty product: factors multiply onto it unchanged


def _chain_sums(factors: list, directions: list) -> list:
    """``sums[k][S]``: the sum of the products of the first ``k`` factors with the directions
    in the subset ``S`` (a bit mask) each in place of one of them (a missing ``S``: zero)."""
    sums = [{0: _IDENTITY}]
    for k, factor in enumerate(factors):
        current = {}
        for s in range(1 << len(directions)):
            terms = [_then(sums[-1][s], factor)] if s in sums[-1] else []
            for bit, line in enumerate(directions):
                if s >> bit & 1 and s ^ (1 << bit) in sums[-1]:
                    terms.append(_then(sums[-1][s ^ (1 << bit)], line[k]))
            if terms:
                current[s] = sum(terms[1:], terms[0])
        sums.append(current)
    return sums


def _then(left: Any, right: Any) -> Any:
    """``left @ right``, where either may be the identity."""
    if left is _IDENTITY:
        return right
    return left if right is _IDENTITY else np.matmul(left, right)


def _transposed(m: Any) -> Any:
    return m if m is _IDENTITY else mT(m)


def phi(m: Any) -> Any:
    """The lower triangle of ``m`` with its diagonal halved (a linear map that is its own
    transpose).

    >>> phi(np.ones((2, 2)))
    array([[0.5, 0. ],
           [1. , 0.5]])
    """
    return np.tril(m) - 0.5 * _diag_part(m)


def _diag_part(m: Any) -> Any:
    m = np.asarray(m)
    return m * np.eye(m.shape[-1], dtype=m.dtype)


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


def eigvalsh_jvp(da: Any, a: Any, UPLO: str = "L") -> Any:
    """The tangent of ``eigvalsh(A)``: ``v_i^T dA v_i`` (``dA`` read from its lower triangle).

    >>> eigvalsh_jvp(np.eye(2), np.diag([1.0, 2.0]))
    array([1., 1.])
    """
    _, v = np.linalg.eigh(a, UPLO)
    return np.sum(v * (symmetrized(da, UPLO) @ v), axis=-2)


def svdvals_jvp(da: Any, a: Any) -> Any:
    """The tangent of ``svdvals(W)``: ``u_i^T dW v_i``.

    >>> svdvals_jvp(np.eye(2), np.diag([3.0, 2.0]))
    array([1., 1.])
    """
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(u * (da @ mT(vh)), axis=-2)


# ---------------------------------------------------------------- factorizations
# QR: Walter & Lehmann, "Algorithmic differentiation of linear algebra functions with
# application in optimum experimental design"; the wide case as in Liao et al.,
# "Differentiable programming tensor networks".  eigh and svd: Giles (2008), Townsend,
# "Differentiating the singular value decomposition"; the JVPs follow JAX's qr_jvp,
# eigh_jvp and svd_jvp rules.  Each VJP is the transpose of its JVP.


def qr_jvp(da: Any, a: Any, out: Any, mode: str = "reduced") -> Any:
    """The tangent of ``(Q, R) = qr(A)`` (just ``R`` for ``mode="r"``).

    With ``C = Q^T dA R^-1`` and ``Omega`` the skew-symmetric matrix whose lower triangle is
    ``C``'s: ``dQ = Q Omega + (I - Q Q^T) dA R^-1``, ``dR = (C - Omega) R``.  A wide ``A = [X Y]``
    has ``R = [R1 Q^T Y]``: ``X`` is factored as a square matrix.

    >>> dq, dr = qr_jvp(np.eye(2), 2 * np.eye(2), (np.eye(2), 2 * np.eye(2)))
    >>> dq, dr
    (array([[0., 0.],
           [0., 0.]]), array([[1., 0.],
           [0., 1.]]))
    """
    q, r = _qr_factors(a, out, mode)
    k = min(np.shape(a)[-2:])
    r1, da_r_inverse = r[..., :k], _right_solve(da[..., :k], r[..., :k])
    c = mT(q) @ da_r_inverse
    omega = np.tril(c, -1) - mT(np.tril(c, -1))
    dq = q @ omega + _off_span(da_r_inverse, q)
    beyond = mT(dq) @ a[..., k:] + mT(q) @ da[..., k:]  # R's columns past k: Q^T A[:, k:]
    dr = np.concatenate([(c - omega) @ r1, beyond], axis=-1)
    return like(r, dr) if mode == "r" else (like(q, dq), like(r, dr))


def qr_vjp(g: Any, a: Any, out: Any, mode: str = "reduced") -> Any:
    """The cotangent of ``A`` in ``(Q, R) = qr(A)``: ``(gQ + Q copyltu(M)) R^-T`` with
    ``M = R gR^T - gQ^T Q`` (a wide ``A`` adds the part of ``R`` beyond the square).

    >>> qr_vjp((np.zeros((2, 2)), np.eye(2)), 2 * np.eye(2), (np.eye(2), 2 * np.eye(2)))
    array([[1., 0.],
           [0., 1.]])
    """
    q, r = _qr_factors(a, out, mode)
    gq, gr = (np.zeros_like(q), g) if mode == "r" else g
    k = min(np.shape(a)[-2:])
    gq = gq + a[..., k:] @ mT(gr[..., k:])  # R's columns past k are Q^T A[:, k:]
    m = r[..., :k] @ mT(gr[..., :k]) - mT(gq) @ q
    first = mT(np.linalg.solve(r[..., :k], mT(gq + q @ symmetrized(m))))  # (...) R^-T
    return like(a, np.concatenate([first, q @ gr[..., k:]], axis=-1))


def _qr_factors(a: Any, out: Any, mode: str) -> tuple:
    """``(Q, R)`` of the reduced QR decomposition of ``a``, from ``out`` where it has them."""
    if mode == "r":
        q, r = np.linalg.qr(a)
        return q, r
    require_determined_qr(a, mode)
    q, r = out
    return q, r


def require_determined_qr(a: Any, mode: str) -> None:
    """Refuse the derivative of ``qr(a, mode)`` where ``Q``'s extra columns are not determined.

    >>> require_determined_qr(np.ones((3, 2)), "complete")
    Traceback (most recent call last):
    ...
    ValueError: the derivative of qr(a, mode='complete') is not defined here: the extra \
columns of Q are any basis of a complement; use mode='reduced' or mode='r'
    """
    m, n = np.shape(a)[-2:]
    if mode == "reduced" or (mode == "complete" and m <= n):
        return
    raise ValueError(
        f"the derivative of qr(a, mode={mode!r}) is not defined here"
        + (": the extra columns of Q are any basis of a complement" if mode == "complete" else "")
        + "; use mode='reduced' or mode='r'"
    )


def eigh_jvp(da: Any, a: Any, out: Any, UPLO: str = "L") -> tuple:
    """The tangent of ``(w, V) = eigh(A)``: with ``P = V^T dA V``, ``dw = diag(P)`` and
    ``dV = V (F * P)``, ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal.

    ``dA`` is read from the triangle NumPy reads (``UPLO``).

    >>> eigh_jvp(np.eye(2), np.diag([1.0, 2.0]), (np.array([1.0, 2.0]), np.eye(2)))[0]
    array([1., 1.])
    """
    w, v = out
    p = mT(v) @ symmetrized(da, UPLO) @ v
    with np.errstate(invalid="ignore"):  # inf where a repeated eigenvalue leaves V undetermined
        dv = v @ (inverse_gaps(w) * p)
    return like(w, np.diagonal(p, axis1=-2, axis2=-1)), like(v, dv)


def eigh_vjp(g: Any, a: Any, out: Any, UPLO: str = "L") -> Any:
    """The cotangent of ``A`` in ``(w, V) = eigh(A)``: ``V (diag(gw) + F * (V^T gV)) V^T``,
    moved onto the triangle NumPy reads.

    >>> eigh_vjp((np.array([1.0, 2.0]), np.zeros((2, 2))), np.eye(2), ([1.0, 2.0], np.eye(2)))
    array([[1., 0.],
           [0., 2.]])
    """
    w, v = out
    gw, gv = g
    inner = masked_product(inverse_gaps(w), mT(v) @ gv) + diag_matrix(gw)
    return like(a, onto_triangle(v @ inner @ mT(v), UPLO))


def svd_jvp(da: Any, a: Any, out: Any, full_matrices=True, compute_uv=True, hermitian=False) -> Any:
    """The tangent of ``(U, S, Vh) = svd(A)`` (just ``S`` if not ``compute_uv``).

    With ``P = U^T dA V`` and ``F[i, j] = 1 / (s[j]^2 - s[i]^2)``: ``dS = diag(P)``,
    ``dU = U (F * (P S + S P^T)) + (I - U U^T) dA V S^-1``,
    ``dV = V (F * (S P + P^T S)) + (I - V V^T) dA^T U S^-1``.  With ``hermitian``, ``dA`` is
    read from the lower triangle, as NumPy reads ``A``.

    >>> svd_jvp(np.eye(2), np.diag([3.0, 2.0]), np.array([3.0, 2.0]), compute_uv=False)
    array([1., 1.])
    """
    u, s, vh = _svd_factors(a, out, full_matrices, compute_uv, hermitian)
    da = symmetrized(da) if hermitian else da
    p = mT(u) @ da @ mT(vh)
    ds = like(s, np.diagonal(p, axis1=-2, axis2=-1))
    if not compute_uv:
        return ds
    f, row, column = inverse_gaps(s**2), s[..., None, :], s[..., :, None]
    with np.errstate(divide="ignore", invalid="ignore"):  # inf where U, V are undetermined
        du = u @ (f * (p * row + column * mT(p))) + _off_span(da @ mT(vh), u) / row
        dv = mT(vh) @ (f * (column * p + mT(p) * row)) + _off_span(mT(da) @ u, mT(vh)) / row
    return like(u, du), ds, like(vh, mT(dv))


def svd_vjp(g: Any, a: Any, out: Any, full_matrices=True, compute_uv=True, hermitian=False):
    """The cotangent of ``A`` in ``(U, S, Vh) = svd(A)``: with ``J = F * (U^T gU)``,
    ``K = F * (V^T gV)``, ``U ((J + J^T) S + diag(gS) + S (K + K^T)) V^T``
    ``+ (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T)``.

    >>> svd_vjp(np.array([1.0, 1.0]), np.diag([3.0, 2.0]), np.array([3.0, 2.0]), compute_uv=False)
    array([[1., 0.],
           [0., 1.]])
    """
    u, s, vh = _svd_factors(a, out, full_matrices, compute_uv, hermitian)
    gu, gs, gvh = g if compute_uv else (np.zeros_like(u), g, np.zeros_like(vh))
    v, gv = mT(vh), mT(gvh)
    f, row, column = inverse_gaps(s**2), s[..., None, :], s[..., :, None]
    j, k = masked_product(f, mT(u) @ gu), masked_product(f, mT(v) @ gv)
    inner = (j + mT(j)) * row + diag_matrix(gs) + column * (k + mT(k))
    with np.errstate(divide="ignore"):
        m = u @ inner @ vh + masked_product(1 / row, _off_span(gu, u)) @ vh
        m = m + u @ mT(masked_product(1 / row, _off_span(gv, v)))
    return like(a, onto_triangle(m) if hermitian else m)


def _svd_factors(a, out, full_matrices: bool, compute_uv: bool, hermitian: bool) -> tuple:
    """``(U, S, Vh)`` of the reduced SVD of ``a``, from ``out`` where it has them."""
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
        return u, s, vh
    require_determined_svd(a, full_matrices)
    u, s, vh = out
    return u, s, vh


def require_determined_svd(a: Any, full_matrices: bool) -> None:
    """Refuse the derivative of ``svd(a, full_matrices=True)`` of a non-square matrix.

    >>> require_determined_svd(np.ones((3, 2)), True)
    Traceback (most recent call last):
    ...
    ValueError: the derivative of svd(a, full_matrices=True) of a non-square matrix is not \
defined: the extra columns of U (rows of Vh) are any basis of a complement; use \
full_matrices=False (or compute_uv=False)
    """
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise ValueError(
            "the derivative of svd(a, full_matrices=True) of a non-square matrix is not "
            "defined: the extra columns of U (rows of Vh) are any basis of a complement; "
            "use full_matrices=False (or compute_uv=False)"
        )


def pinv_jvp(da: Any, a: Any, out: Any, hermitian: bool = False) -> Any:
    """The tangent of ``A+ = pinv(A)`` (Golub & Pereyra), where the rank does not change:
    ``-A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+``.

    >>> pinv_jvp(np.eye(2), 2 * np.eye(2), 0.5 * np.eye(2))
    array([[-0.25,  0.  ],
           [ 0.  , -0.25]])
    """
    if hermitian:  # NumPy reads the lower triangle
        a, da = symmetrized(a), symmetrized(da)
    p, dat = out, mT(da)
    across = p @ mT(p) @ (dat - dat @ a @ p)
    along = (dat - p @ a @ dat) @ mT(p) @ p
    return like(p, across + along - p @ da @ p)


def pinv_vjp(g: Any, a: Any, out: Any, hermitian: bool = False) -> Any:
    """The cotangent of ``A`` in ``A+ = pinv(A)``:
    ``-A+^T g A+^T + (I - A A+) g^T A+ A+^T + A+^T A+ g^T (I - A+ A)``.

    >>> pinv_vjp(np.eye(2), 2 * np.eye(2), 0.5 * np.eye(2))
    array([[-0.25,  0.  ],
           [ 0.  , -0.25]])
    """
    if hermitian:
        return like(a, onto_triangle(_pinv_vjp(g, symmetrized(a), out)))
    return like(a, _pinv_vjp(g, a, out))


def _pinv_vjp(g: Any, a: Any, p: Any) -> Any:
    gt = mT(g)
    along = (gt - a @ (p @ gt)) @ p @ mT(p)
    across = mT(p) @ p @ (gt - (gt @ p) @ a)
    return along + across - mT(p) @ g @ mT(p)


def lstsq_jvp_a(da: Any, a: Any, b: Any, out: Any) -> tuple:
    """The tangent of ``(x, residuals, rank, sv) = lstsq(A, b)`` along ``dA``, the rank held.

    ``x = A+ b`` moves as ``pinv_jvp`` says; the squared residuals by ``-2 r^T dA x`` (``r = b - A
    x`` is orthogonal to ``A``'s columns); ``sv`` as ``svdvals_jvp``; ``rank`` not at all.

    >>> out = np.linalg.lstsq(2 * np.eye(2), np.ones(2))
    >>> lstsq_jvp_a(np.eye(2), 2 * np.eye(2), np.ones(2), out)[0]
    array([-0.25, -0.25])
    """
    x, residuals, rank, sv = out
    p, r, dat = _pinv_of_rank(a, rank), b - a @ x, mT(da)
    kernel = dat @ (mT(p) @ x)
    dx = p @ (mT(p) @ (dat @ r)) + kernel - p @ (a @ kernel) - p @ (da @ x)
    dres = _residuals_tangent(-(da @ x), r, residuals)
    return like(x, dx), dres, 0.0, svdvals_jvp(da, a)


def lstsq_jvp_b(db: Any, a: Any, b: Any, out: Any) -> tuple:
    """The tangent of ``lstsq(A, b)`` along ``db``: ``dx = A+ db``, residuals ``2 r^T db``.

    >>> out = np.linalg.lstsq(2 * np.eye(2), np.ones(2))
    >>> lstsq_jvp_b(np.ones(2), 2 * np.eye(2), np.ones(2), out)[0]
    array([0.5, 0.5])
    """
    x, residuals, rank, sv = out
    p, r = _pinv_of_rank(a, rank), b - a @ x
    dres = _residuals_tangent(db, r, residuals)
    return like(x, p @ db), dres, 0.0, np.zeros_like(sv)


def lstsq_vjp_a(g: Any, a: Any, b: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``(x, residuals, rank, sv) = lstsq(A, b)``, the transpose
    of :func:`lstsq_jvp_a`.

    >>> out = np.linalg.lstsq(2 * np.eye(2), np.ones(2))
    >>> lstsq_vjp_a((np.ones(2), np.zeros(0), 0, np.zeros(2)), 2 * np.eye(2), np.ones(2), out)
    array([[-0.25, -0.25],
           [-0.25, -0.25]])
    """
    x, residuals, rank, _ = out
    gx, gres, _, gsv = g
    p, r = _pinv_of_rank(a, rank), b - a @ x
    ga = _pinv_vjp(_times_transposed(gx, b), a, p) + svdvals_vjp(gsv, a)
    if np.size(residuals):
        ga = ga - 2 * _times_transposed(r * gres, x)
    return like(a, ga)


def lstsq_vjp_b(g: Any, a: Any, b: Any, out: Any) -> Any:
    """The cotangent of ``b`` in ``lstsq(A, b)``: ``A+^T gx + 2 r gres``.

    >>> out = np.linalg.lstsq(2 * np.eye(2), np.ones(2))
    >>> lstsq_vjp_b((np.ones(2), np.zeros(0), 0, np.zeros(2)), 2 * np.eye(2), np.ones(2), out)
    array([0.5, 0.5])
    """
    x, residuals, rank, _ = out
    gx, gres, _, _ = g
    gb = mT(_pinv_of_rank(a, rank)) @ gx
    if np.size(residuals):
        gb = gb + 2 * (b - a @ x) * gres
    return like(b, gb)


def _pinv_of_rank(a: Any, rank: int) -> Any:
    """The pseudo-inverse of ``a`` with the singular values past ``rank`` cut, as lstsq's."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return (mT(vh[:rank]) / s[:rank]) @ mT(u[:, :rank])


def _residuals_tangent(d_residual: Any, r: Any, residuals: Any) -> Any:
    """The tangent of lstsq's squared residual norms, the residual ``r`` moving by
    ``d_residual`` (empty where NumPy gives no residuals)."""
    if not np.size(residuals):
        return np.zeros_like(residuals)
    return like(residuals, 2 * np.sum(r * d_residual, axis=0))


def _times_transposed(u: Any, v: Any) -> Any:
    """``u v^T`` for columns (or stacks of columns side by side, as lstsq's ``b``)."""
    return np.outer(u, v) if np.ndim(u) == 1 else u @ mT(v)


# ---------------------------------------------------------------- array-API functions
# np.linalg's own versions (NumPy 2) of matrix_norm, trace, vecdot, ...: the last two axes
# are the matrix, and the vector axis is its own per operand.


def matrix_norm_jvp(dx: Any, x: Any, keepdims: bool = False, ord: Any = "fro") -> Any:
    """The tangent of ``np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)`` (the matrices
    are the last two axes).

    >>> float(matrix_norm_jvp(np.ones((1, 2)), np.array([[3.0, 4.0]])))
    1.4
    """
    weights = like(x, _matrix_norm_weights(np.asarray(x), ord, _LAST_TWO))
    return np.sum(dx * weights, axis=_LAST_TWO, keepdims=keepdims)


def matrix_norm_vjp(g: Any, x: Any, keepdims: bool = False, ord: Any = "fro") -> Any:
    """The cotangent of ``x`` in ``np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)``.

    >>> matrix_norm_vjp(1.0, np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """
    weights = like(x, _matrix_norm_weights(np.asarray(x), ord, _LAST_TWO))
    return matrix_spread(g, x, keepdims) * weights


def matrix_trace_vjp(g: Any, x: Any, offset: int = 0) -> Any:
    """The cotangent of ``x`` in ``np.linalg.trace(x, offset=offset)`` (last two axes).

    >>> matrix_trace_vjp(np.array([1.0, 2.0]), np.zeros((2, 2, 3)), offset=1)[1]
    array([[0., 2., 0.],
           [0., 0., 2.]])
    """
    m, n = np.shape(x)[-2:]
    return like(x, np.asarray(g)[..., None, None] * np.eye(m, n, k=offset))


def vecdot_vjp(g: Any, x: Any, other: Any, axis: int = -1) -> Any:
    """The cotangent of ``x`` in ``np.vecdot(x, other, axis=axis)`` (or ``np.linalg.vecdot``)
    of real vectors: ``g * other``, summed back to ``x``'s shape.

    >>> vecdot_vjp(np.array([1.0, 2.0]), np.zeros(3), np.ones((2, 3)))
    array([3., 3., 3.])
    """
    x_last = np.moveaxis(np.asarray(x), axis, -1)
    spread = np.asarray(g)[..., None] * np.moveaxis(other, axis, -1)
    return like(x, np.moveaxis(unbroadcast(spread, x_last), -1, axis))


def multi_dot_jvp(dxs: Any, xs: Any) -> Any:
    """The tangent of ``multi_dot(xs)``: each factor's tangent in its place, summed.

    >>> multi_dot_jvp([np.eye(2), np.zeros((2, 2)), np.eye(2)], [2 * np.eye(2)] * 3)
    array([[8., 0.],
           [0., 8.]])
    """
    return multi_dot_derivative(xs, dxs)


def multi_dot_vjp(g: Any, xs: Any) -> list:
    """The cotangents of the factors of ``multi_dot(xs)``: ``(left)^T g (right)^T`` for each,
    with the product of the factors to its left and right (a 1-D first factor is a row, a 1-D
    last one a column).

    >>> multi_dot_vjp(1.0, [np.ones(2), 2 * np.eye(2), np.ones(2)])[0]
    array([2., 2.])
    """
    return multi_dot_gradient(g, xs)


def multi_dot_derivative(xs: Any, *directions: Any) -> Any:
    """The derivative of ``multi_dot(xs)`` along ``directions`` (lists shaped like ``xs``).

    >>> multi_dot_derivative([np.ones(2), np.eye(2)], [np.ones(2), np.eye(2)])
    array([2., 2.])
    """
    factors, lines, shape = _as_chain(xs, directions)
    kept = [n for n, end in zip(shape, (xs[0], xs[-1])) if np.ndim(end) == 2]  # 1-D ends drop
    return np.reshape(_chain_derivative(factors, lines, shape), kept)


def multi_dot_gradient(g: Any, xs: Any, *directions: Any) -> list:
    """Per factor of ``xs``, the gradient of ``<g, multi_dot_derivative(xs, *directions)>``.

    >>> xs = [np.ones(2), np.eye(2), np.ones(2)]
    >>> multi_dot_gradient(1.0, xs, [np.zeros(2), np.eye(2), np.zeros(2)])[0]
    array([1., 1.])
    """
    factors, lines, shape = _as_chain(xs, directions)
    parts = _chain_gradients(np.reshape(g, shape), factors, lines)
    return [like(x, np.reshape(p, np.shape(x))) for p, x in zip(parts, xs)]


def _as_chain(xs: Any, directions: tuple) -> tuple:
    """The factors of ``multi_dot(xs)`` and the directions as matrices (a 1-D first factor a
    row, a 1-D last one a column), and the shape of their product."""

    def matrices(items: Any) -> list:
        result = [np.atleast_2d(x) for x in items]
        if np.ndim(items[-1]) == 1:
            result[-1] = result[-1].T
        return result

    factors = matrices(list(xs))
    return (
        factors,
        [matrices(list(d)) for d in directions],
        (factors[0].shape[0], factors[-1].shape[1]),
    )


def tensorsolve_jvp_a(da: Any, a: Any, out: Any, axes: Any = None) -> Any:
    """The tangent of ``x = tensorsolve(a, b, axes)`` along ``da``: it solves
    ``a . dx = -(da . x)``.

    >>> tensorsolve_jvp_a(np.eye(2), 2 * np.eye(2), np.ones(2))
    array([-0.5, -0.5])
    """
    moved = np.transpose(da, tensorsolve_order(np.ndim(a), axes))
    return np.linalg.tensorsolve(a, -np.tensordot(moved, out, np.ndim(out)), axes=axes)


def tensorsolve_vjp_b(g: Any, a: Any, b: Any, axes: Any = None) -> Any:
    """The cotangent of ``b`` in ``tensorsolve(a, b, axes)``: ``a`` as a matrix, ``A^-T g``.

    >>> tensorsolve_vjp_b(np.ones(2), 2 * np.eye(2), np.ones(2))
    array([0.5, 0.5])
    """
    moved = np.transpose(a, tensorsolve_order(np.ndim(a), axes))
    matrix = np.reshape(moved, (np.size(b), -1))
    return like(b, np.reshape(np.linalg.solve(mT(matrix), np.ravel(g)), np.shape(b)))


def tensorsolve_vjp_a(g: Any, a: Any, b: Any, out: Any, axes: Any = None) -> Any:
    """The cotangent of ``a`` in ``x = tensorsolve(a, b, axes)``: ``-(b's cotangent) (x) x``.

    >>> tensorsolve_vjp_a(np.ones(2), 2 * np.eye(2), np.ones(2), 0.5 * np.ones(2))
    array([[-0.25, -0.25],
           [-0.25, -0.25]])
    """
    moved = -np.multiply.outer(tensorsolve_vjp_b(g, a, b, axes), out)
    return like(a, np.transpose(moved, np.argsort(tensorsolve_order(np.ndim(a), axes))))


def tensorsolve_order(ndim: int, axes: Any) -> list:
    """The order of ``a``'s axes that tensorsolve works in: those in ``axes`` moved last.

    >>> tensorsolve_order(3, (0,))
    [1, 2, 0]
    """
    order = list(range(ndim))
    for k in () if axes is None else axes:
        order.remove(k % ndim)
        order.append(k % ndim)
    return order


def tensorinv_jvp(da: Any, out: Any, ind: int = 2) -> Any:
    """The tangent of ``tensorinv(a, ind)``: ``-(out . da . out)``, as matrices.

    >>> tensorinv_jvp(np.eye(2), 0.5 * np.eye(2), ind=1)
    array([[-0.25, -0.  ],
           [-0.  , -0.25]])
    """
    inverse, d = as_square(out, np.ndim(out) - ind), as_square(da, ind)
    return like(out, np.reshape(-(inverse @ d @ inverse), np.shape(out)))


def tensorinv_vjp(g: Any, a: Any, out: Any, ind: int = 2) -> Any:
    """The cotangent of ``a`` in ``tensorinv(a, ind)``: ``-(out^T g out^T)``, as matrices.

    >>> tensorinv_vjp(np.eye(2), 2 * np.eye(2), 0.5 * np.eye(2), ind=1)
    array([[-0.25, -0.  ],
           [-0.  , -0.25]])
    """
    inverse, gm = as_square(out, np.ndim(out) - ind), as_square(g, np.ndim(out) - ind)
    return like(a, np.reshape(-(mT(inverse) @ gm @ mT(inverse)), np.shape(a)))


def as_square(t: Any, ind: int) -> Any:
    """``t`` as a matrix: its first ``ind`` axes the rows, the others the columns.

    >>> as_square(np.zeros((2, 3, 4)), 2).shape
    (6, 4)
    """
    rows = int(np.prod(np.shape(t)[:ind]))
    return np.reshape(t, (rows, -1))


def cond_jvp(dx: Any, x: Any, p: Any = None) -> Any:
    """The tangent of ``cond(x, p)``: the sum of ``dx`` times :func:`_cond_weights`.

    >>> float(cond_jvp(np.eye(2), np.diag([4.0, 2.0])))
    -0.5
    """
    return np.sum(dx * _cond_weights(x, p), axis=_LAST_TWO)


def cond_vjp(g: Any, x: Any, p: Any = None) -> Any:
    """The cotangent of ``x`` in ``cond(x, p)``: ``g`` times :func:`_cond_weights`.

    >>> cond_vjp(1.0, np.diag([4.0, 2.0]))
    array([[ 0.5,  0. ],
           [ 0. , -1. ]])
    """
    return unreduce(g, x, _LAST_TWO) * _cond_weights(x, p)


def _cond_weights(x: Any, p: Any = None) -> Any:
    """d cond(x, p) / d x, entry by entry (stacks of matrices).

    For ``p`` None, 2 or -2 the ratio of extreme singular values ``s_a / s_b`` moves by
    ``(u_a v_a^T - (s_a / s_b) u_b v_b^T) / s_b``; otherwise ``cond = |x| |x^-1|`` and the
    product rule applies, with ``d x^-1 = -x^-1 dx x^-1``.
    """
    x = np.asarray(x)
    if p in (None, 2, -2):
        return like(x, _singular_ratio_weights(x, -1 if p == -2 else 0))
    inverse = np.linalg.inv(x)
    norms = [np.linalg.norm(m, p, axis=_LAST_TWO, keepdims=True) for m in (x, inverse)]
    weights = [_matrix_norm_weights(m, p, _LAST_TWO) for m in (x, inverse)]
    through_inverse = mT(inverse) @ weights[1] @ mT(inverse)
    return like(x, weights[0] * norms[1] - norms[0] * through_inverse)


def _singular_ratio_weights(x: Any, top: int) -> Any:
    """d (s[top] / s[other]) / d x, ``other`` the opposite end of the singular values."""
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    bottom = -1 - top
    pair = [u[..., :, k, None] * vh[..., None, k, :] for k in (top, bottom)]
    s_top, s_bottom = s[..., top, None, None], s[..., bottom, None, None]
    return (pair[0] - (s_top / s_bottom) * pair[1]) / s_bottom


# ---------------------------------------------------------------- shared pieces


def symmetrized(m: Any, uplo: str = "L") -> Any:
    """The symmetric matrix NumPy reads from ``m``: its lower (``uplo="U"``: upper) triangle
    mirrored.

    >>> symmetrized(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[1., 3.],
           [3., 4.]])
    """
    if uplo.upper() == "U":
        return np.triu(m) + mT(np.triu(m, 1))
    return np.tril(m) + mT(np.tril(m, -1))


def onto_triangle(m: Any, uplo: str = "L") -> Any:
    """The transpose of :func:`symmetrized`: a cotangent of the symmetric matrix moved onto
    the triangle NumPy reads.

    >>> onto_triangle(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[1., 0.],
           [5., 4.]])
    """
    if uplo.upper() == "U":
        return np.triu(m + mT(m), 1) + _diag_part(m)
    return np.tril(m + mT(m), -1) + _diag_part(m)


def inverse_gaps(w: Any) -> Any:
    """``F[..., i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it (inf for a repeated
    value: its vectors are not determined), of ``w``'s dtype (real or complex).

    >>> inverse_gaps(np.array([1.0, 3.0]))
    array([[ 0. ,  0.5],
           [-0.5,  0. ]])
    """
    w = np.asarray(w)
    gaps = w[..., None, :] - w[..., :, None]
    diagonal = np.eye(np.shape(w)[-1], dtype=bool)
    with np.errstate(divide="ignore"):
        return np.where(diagonal, 0.0, 1.0 / np.where(diagonal, 1.0, gaps))


def masked_product(weights: Any, m: Any) -> Any:
    """``weights * m``, but 0 where ``m`` is, even where a weight is infinite: a repeated
    eigenvalue or a zero singular value does not matter where the program does not use the
    vectors it leaves undetermined (their cotangents are zeros).  Its rule differentiates the
    product, each term masked by its own factor, so that a zero cotangent with a nonzero
    tangent (at third order) is not masked away.

    >>> masked_product(np.array([np.inf, 2.0]), np.array([0.0, 3.0]))
    array([0., 6.])
    """
    with np.errstate(invalid="ignore"):
        return np.where(m == 0, 0.0, weights * m)


def diag_matrix(v: Any) -> Any:
    """The (stack of) diagonal matrices with ``v`` on the diagonal, of ``v``'s dtype.

    >>> diag_matrix(np.array([1.0, 2j]))
    array([[1.+0.j, 0.+0.j],
           [0.+0.j, 0.+2.j]])
    """
    v = np.asarray(v)
    return v[..., None] * np.eye(np.shape(v)[-1], dtype=bool)


def _off_span(x: Any, q: Any) -> Any:
    """The part of ``x``'s columns orthogonal to the orthonormal columns of ``q``."""
    return x - q @ (mT(q) @ x)


def _right_solve(b: Any, r: Any) -> Any:
    """``b r^-1``."""
    return mT(np.linalg.solve(mT(r), mT(b)))


# ---------------------------------------------- higher derivatives of factorizations
# The JVP and VJP helpers of qr, eigh, svd and pinv are written in NumPy that has rules
# (products, transposes, solves, the gaps 1 / (w[j] - w[i]), masked_product) and in the
# factors, whose own tangents these helpers give.  Transformed from their source, they have
# derivatives of every order: a second transform differentiates them through their code, and
# the factors through the factorizations' rules, which call them again (as JAX's rules do).
# The rules register these functions (and the helpers they call) to be transformed so.
TRANSFORMED_FROM_SOURCE = (
    qr_jvp,
    qr_vjp,
    _qr_factors,
    eigh_jvp,
    eigh_vjp,
    svd_jvp,
    svd_vjp,
    _svd_factors,
    pinv_jvp,
    pinv_vjp,
    _pinv_vjp,
    inverse_gaps,
    diag_matrix,
    _off_span,
    _right_solve,
)
