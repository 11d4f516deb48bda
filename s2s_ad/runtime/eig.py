"""Derivatives of the general eigendecomposition ``w, V = np.linalg.eig(A)`` and of
``np.linalg.eigvals(A)``, for real or complex square ``A`` (or stacks of them), as JAX's
``eig_jvp_rule`` writes them.

With ``P = V^-1 dA V`` and ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal (0 on it):
``dw = diag(P)`` and ``dV = V (F * P)``, less ``V diag(Re(V^H dV))`` so that each column
keeps its unit norm.  A column's phase is not determined (NumPy picks one), so only
functions of the vectors that do not depend on it (``np.abs(V)``, ``V @ diag(w) @ inv(V)``)
have derivatives that match the differences of NumPy's results.  The VJPs are the transposes
of these maps in JAX's convention (``docs/complex.md``); a real ``A`` gets the real part.
The formulas need distinct eigenvalues.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .complex_numbers import real_like
from .linalg import mT


def eig_jvp(da: Any, a: Any, out: Any) -> tuple:
    """The tangent ``(dw, dV)`` of ``(w, V) = eig(A)`` along ``dA``.

    >>> dw, dv = eig_jvp(np.eye(2), np.diag([1.0, 2.0]), (np.array([1.0, 2.0]), np.eye(2)))
    >>> dw, dv
    (array([1., 1.]), array([[0., 0.],
           [0., 0.]]))
    """
    w, v = out
    p = np.linalg.solve(v, da @ v)
    with np.errstate(divide="ignore", invalid="ignore"):  # a repeated eigenvalue: V undetermined
        dv = v @ (gap_reciprocals(w) * p)
    dv = dv - v * np.real(np.sum(np.conjugate(v) * dv, axis=-2, keepdims=True))
    return np.diagonal(p, axis1=-2, axis2=-1), dv


def eig_vjp(g: Any, a: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``(w, V) = eig(A)`` from those ``(gw, gV)`` of its results:
    ``V^-T (diag(gw) + F * (V^T gV')) V^T``, with ``gV' = gV - conj(V) diag(Re(sum(gV * V)))``
    the transpose of the norm correction.

    >>> eig_vjp((np.array([1.0, 2.0]), np.zeros((2, 2))), np.eye(2), ([1.0, 2.0], np.eye(2)))
    array([[1., 0.],
           [0., 2.]])
    """
    w, v = out
    gw, gv = g
    gv = gv - np.conjugate(v) * np.real(np.sum(gv * v, axis=-2, keepdims=True))
    vectors = mT(v) @ gv
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 where gV is: unused vectors
        inner = np.where(vectors == 0, 0, gap_reciprocals(w) * vectors)
    w = np.asarray(w)
    inner = inner + np.asarray(gw)[..., None] * np.eye(w.shape[-1], dtype=w.dtype)
    return real_like(np.linalg.solve(mT(v), inner @ mT(v)), a)


def eigvals_jvp(da: Any, a: Any, out: Any) -> Any:
    """The tangent of ``w = eigvals(A)`` along ``dA``: ``diag(V^-1 dA V)``.

    >>> eigvals_jvp(np.array([[0.0, 1.0], [0.0, 0.0]]), np.diag([1.0, 2.0]), np.array([1.0, 2.0]))
    array([0., 0.])
    """
    v = vectors_of(a, out)
    return np.diagonal(np.linalg.solve(v, da @ v), axis1=-2, axis2=-1)


def eigvals_vjp(g: Any, a: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``w = eigvals(A)``: ``V^-T diag(g) V^T``.

    >>> eigvals_vjp(np.array([1.0, 0.0]), np.diag([1.0, 2.0]), np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 0.]])
    """
    v = vectors_of(a, out)
    return real_like(np.linalg.solve(mT(v), np.asarray(g)[..., :, None] * mT(v)), a)


def vectors_of(a: Any, w: Any) -> np.ndarray:
    """The eigenvectors of ``a``, in the order of its eigenvalues ``w`` (as
    ``np.linalg.eigvals`` gave them): each column that of the nearest eigenvalue.

    >>> vectors_of(np.diag([2.0, 1.0]), np.array([1.0, 2.0]))
    array([[0., 1.],
           [1., 0.]])
    """
    found, v = np.linalg.eig(a)
    nearest = np.argmin(np.abs(np.asarray(w)[..., :, None] - found[..., None, :]), axis=-1)
    return np.take_along_axis(v, nearest[..., None, :], axis=-1)


def gap_reciprocals(w: Any) -> np.ndarray:
    """``F[..., i, j] = 1 / (w[j] - w[i])``, 0 on the diagonal (inf off it where two
    eigenvalues are equal).

    >>> gap_reciprocals(np.array([1.0, 3.0]))
    array([[ 0. ,  0.5],
           [-0.5,  0. ]])
    """
    w = np.asarray(w)
    eye = np.eye(w.shape[-1], dtype=w.dtype)
    return 1 / (eye + w[..., None, :] - w[..., :, None]) - eye
