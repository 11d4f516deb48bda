"""Derivatives of the general eigendecomposition ``w, V = np.linalg.eig(A)`` and of
``np.linalg.eigvals(A)``, for real or complex square ``A`` (or stacks of them), as JAX's
``eig_jvp_rule`` writes them.

With ``P = V^-1 dA V`` and ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal (0 on it):
``dw = diag(P)`` and ``U = V (F * P)``.  The eigenvalue equation leaves ``dV = U + V diag(c)``
with ``c`` free; LAPACK (which NumPy calls) fixes each column by a unit 2-norm and a real
largest-magnitude entry, and ``c`` follows that choice, as in JAX:
``c_j = -Re(v_j^H u_j) - i Im(u_kj) / Re(v_kj)``, ``k`` the row of ``v_j``'s largest entry.
The VJPs are the transposes of these maps in JAX's convention (``docs/complex.md``); a real
``A`` gets the real part.  The formulas need distinct eigenvalues; the vectors' derivatives
jump where two entries of a column swap as its largest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .complex_numbers import real_like
from .linalg import diag_matrix, inverse_gaps, masked_product, mT


def eig_jvp(da: Any, a: Any, out: Any) -> tuple:
    """The tangent ``(dw, dV)`` of ``(w, V) = eig(A)`` along ``dA``.

    >>> dw, dv = eig_jvp(np.eye(2), np.diag([1.0, 2.0]), (np.array([1.0, 2.0]), np.eye(2)))
    >>> dw, dv
    (array([1., 1.]), array([[0., 0.],
           [0., 0.]]))
    """
    w, v = out
    require_eigenbasis(v)
    p = np.linalg.solve(v, da @ v)
    with np.errstate(invalid="ignore"):  # a repeated eigenvalue: V undetermined
        dv = v @ (inverse_gaps(w) * p)
    norm = np.real(np.sum(np.conjugate(v) * dv, axis=-2, keepdims=True))
    if not np.iscomplexobj(v):  # real vectors: the sign is fixed, the norm correction alone
        return np.diagonal(p, axis1=-2, axis2=-1), dv - v * norm
    largest, scale = largest_entries(v)
    phase = np.imag(np.sum(largest * dv, axis=-2, keepdims=True)) / scale
    return np.diagonal(p, axis1=-2, axis2=-1), dv - v * (norm + 1j * phase)


def eig_vjp(g: Any, a: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``(w, V) = eig(A)`` from those ``(gw, gV)`` of its results:
    ``V^-T (diag(gw) + F * (V^T gU)) V^T``, with ``r = sum(gV * V, axis=-2)`` and
    ``gU = gV - conj(V) Re(r) - i E Im(r) / Re(v_kj)`` (``E`` 1 at each column's largest
    entry) the transpose of the correction ``c``.

    >>> eig_vjp((np.array([1.0, 2.0]), np.zeros((2, 2))), np.eye(2), ([1.0, 2.0], np.eye(2)))
    array([[1., 0.],
           [0., 2.]])
    """
    w, v = out
    require_eigenbasis(v)
    gw, gv = g
    paired = np.sum(gv * v, axis=-2, keepdims=True)
    gv = gv - np.conjugate(v) * np.real(paired)
    if np.iscomplexobj(v):
        largest, scale = largest_entries(v)
        gv = gv - 1j * largest * np.imag(paired) / scale
    inner = masked_product(inverse_gaps(w), mT(v) @ gv) + diag_matrix(gw)  # 0 for unused V
    return real_like(np.linalg.solve(mT(v), inner @ mT(v)), a)


def eigvals_jvp(da: Any, a: Any, out: Any) -> Any:
    """The tangent of ``w = eigvals(A)`` along ``dA``: ``diag(V^-1 dA V)``.

    >>> da, a = np.array([[0.0, 1.0], [0.0, 0.0]]), np.diag([1.0, 2.0])
    >>> np.real(eigvals_jvp(da, a, np.array([1.0, 2.0])))  # complex from NumPy 2.5 on
    array([0., 0.])
    """
    v = vectors_of(a, out)
    require_eigenbasis(v)
    return np.diagonal(np.linalg.solve(v, da @ v), axis1=-2, axis2=-1)


def eigvals_vjp(g: Any, a: Any, out: Any) -> Any:
    """The cotangent of ``A`` in ``w = eigvals(A)``: ``V^-T diag(g) V^T``.

    >>> eigvals_vjp(np.array([1.0, 0.0]), np.diag([1.0, 2.0]), np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 0.]])
    """
    v = vectors_of(a, out)
    require_eigenbasis(v)
    return real_like(np.linalg.solve(mT(v), np.asarray(g)[..., :, None] * mT(v)), a)


# Past this condition number of the eigenvectors, the matrix is defective or so near it
# that the derivatives lose more than six digits: refused rather than returned.
LARGEST_EIGENBASIS_CONDITION = 1e10


def require_eigenbasis(v: Any) -> None:
    """Refuse the derivative of ``eig``/``eigvals`` where the eigenvectors ``v`` do not span
    the space (a defective matrix, such as a Jordan block): its eigenvalues have no
    derivative there, and the formulas would return noise.

    >>> require_eigenbasis(np.eye(2))
    >>> require_eigenbasis(np.array([[1.0, -1.0], [0.0, 1e-16]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the derivative of np.linalg.eig/eigvals is not defined here: the matrix is ...
    """
    condition = float(np.max(np.linalg.cond(v)))
    if not condition <= LARGEST_EIGENBASIS_CONDITION:
        raise ValueError(
            "the derivative of np.linalg.eig/eigvals is not defined here: the matrix is "
            "defective (its eigenvectors do not span the space; their condition number is "
            f"{condition:.0e}), so its eigenvalues have no derivative; differentiate a "
            "function of the matrix itself, such as np.trace(a @ a) for the sum of squared "
            "eigenvalues"
        )


def vectors_of(a: Any, w: Any) -> np.ndarray:
    """The eigenvectors of ``a``, in the order of its eigenvalues ``w`` (as
    ``np.linalg.eigvals`` gave them): each column that of the nearest eigenvalue.

    >>> np.real(vectors_of(np.diag([2.0, 1.0]), np.array([1.0, 2.0])))  # NumPy 2.5: complex
    array([[0., 1.],
           [1., 0.]])
    """
    found, v = np.linalg.eig(a)
    return np.take_along_axis(v, matching_columns(w, found)[..., None, :], axis=-1)


def matching_columns(w: Any, found: Any) -> np.ndarray:
    """For each eigenvalue in ``w``, the position of the nearest one in ``found``, each
    position taken once: a repeated eigenvalue gets as many eigenvectors as it repeats.

    >>> matching_columns(np.array([1.0, 1.0, 2.0]), np.array([2.0, 1.0, 1.0]))
    array([1, 2, 0])
    """
    distance = np.abs(np.asarray(w)[..., :, None] - np.asarray(found)[..., None, :])
    nearest = np.argmin(distance, axis=-1)
    flat_distance = distance.reshape((-1,) + distance.shape[-2:])
    flat_nearest = nearest.reshape((-1, nearest.shape[-1]))
    for batch, chosen in enumerate(flat_nearest):
        if len(set(chosen.tolist())) < len(chosen):  # a position taken twice: share them out
            flat_nearest[batch] = _closest_pairs(flat_distance[batch])
    return flat_nearest.reshape(nearest.shape)


def _closest_pairs(distance: np.ndarray) -> np.ndarray:
    """Rows matched to distinct columns, the closest remaining pair first."""
    distance = distance.astype(float)
    matched = np.zeros(distance.shape[0], dtype=int)
    for _ in range(distance.shape[0]):
        row, column = np.unravel_index(np.argmin(distance), distance.shape)
        matched[row] = column
        distance[row, :] = np.inf
        distance[:, column] = np.inf
    return matched


def largest_entries(v: Any) -> tuple:
    """Where each column of ``v`` has its largest entry in magnitude (1 there, 0 elsewhere),
    and that entry's real part (``(..., 1, n)``), which LAPACK makes the entry itself.

    >>> largest_entries(np.array([[0.6, 0.8], [0.8, 0.6j]]))
    (array([[0., 1.],
           [1., 0.]]), array([[0.8, 0.8]]))
    """
    rows = np.arange(np.shape(v)[-2])[:, None]
    largest = np.where(rows == np.argmax(np.abs(v), axis=-2)[..., None, :], 1.0, 0.0 * np.real(v))
    return largest, np.real(np.sum(largest * v, axis=-2, keepdims=True))


# The helpers are written in NumPy that has rules (and in the eigenvalues and vectors, whose
# tangents eig_jvp gives): the rules register them to be transformed from their source, which
# gives derivatives of every order (as for eigh, svd, qr and pinv in runtime/linalg.py).
TRANSFORMED_FROM_SOURCE = (eig_jvp, eig_vjp, eigvals_jvp, eigvals_vjp, vectors_of, largest_entries)
