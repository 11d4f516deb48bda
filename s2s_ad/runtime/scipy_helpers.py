"""Helpers the SciPy rules' templates call (``s2s_ad/rules/scipy.py``), in NumPy only.

Each is linear in its matrix argument, and the rules of the helpers pair them up with
their transposes, so that derivatives through SciPy's linear algebra can be differentiated
again.  SciPy itself is never imported here: it is an optional extra.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .linalg import mT, onto_triangle, symmetrized

# Python floats, so that float32 stays float32 in the templates that use them
SQRT_PI = math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2 * math.pi)

# scipy.linalg's spellings of "solve with the transpose" (trans=1 or 'T'; 'C' is the same for
# real matrices)
_TRANSPOSED = (1, 2, "T", "C", "t", "c")


def transposed_if(m: Any, trans: Any) -> Any:
    """``m``, or its matrix transpose where ``trans`` (scipy.linalg's) says to transpose.

    >>> transposed_if(np.array([[1.0, 2.0], [3.0, 4.0]]), "T")
    array([[1., 3.],
           [2., 4.]])
    """
    return mT(m) if _is_transposed(trans) else m


def _is_transposed(trans: Any) -> bool:
    return any(trans is t or (type(trans) is type(t) and trans == t) for t in _TRANSPOSED)


def flipped(trans: Any) -> int:
    """The ``trans`` of the transposed solve: 1 for 0, 0 for 1.

    >>> flipped(0), flipped("T")
    (1, 0)
    """
    return 0 if _is_transposed(trans) else 1


def triangle(m: Any, lower: bool, unit_diagonal: bool = False) -> Any:
    """The triangle of ``m`` that ``scipy.linalg.solve_triangular`` reads: lower or upper,
    without the diagonal when it is taken to be ones.

    >>> triangle(np.ones((2, 2)), lower=False, unit_diagonal=True)
    array([[0., 1.],
           [0., 0.]])
    """
    offset = 1 if unit_diagonal else 0
    return np.tril(m, -offset) if lower else np.triu(m, offset)


def lower_view(m: Any, lower: bool) -> Any:
    """``m`` where ``lower``, else its transpose: an upper Cholesky factor as a lower one.

    >>> lower_view(np.array([[1.0, 2.0], [0.0, 3.0]]), lower=False)
    array([[1., 0.],
           [2., 3.]])
    """
    return m if lower else mT(m)


def _uplo(lower: bool) -> str:
    return "L" if lower else "U"


def solved_matrix(a: Any, assume_a: Any, lower: bool, transposed: bool) -> Any:
    """The matrix ``scipy.linalg.solve(a, b, assume_a=..., lower=..., transposed=...)`` solves
    with: ``a``, or the symmetric matrix of the triangle it reads, transposed if asked.

    >>> solved_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]), "sym", True, False)
    array([[1., 3.],
           [3., 4.]])
    """
    if _reads_a_triangle(assume_a):
        a = symmetrized(a, _uplo(lower))
    return mT(a) if transposed else a


def solved_matrix_vjp(g: Any, assume_a: Any, lower: bool, transposed: bool) -> Any:
    """The transpose of :func:`solved_matrix`: a cotangent of the solved matrix on ``a``.

    >>> solved_matrix_vjp(np.array([[1.0, 2.0], [3.0, 4.0]]), "sym", True, False)
    array([[1., 0.],
           [5., 4.]])
    """
    g = mT(g) if transposed else g
    return onto_triangle(g, _uplo(lower)) if _reads_a_triangle(assume_a) else g


def _reads_a_triangle(assume_a: Any) -> bool:
    return assume_a in ("sym", "her", "pos", "symmetric", "hermitian", "positive definite")


def block_diagonal(a: Any) -> Any:
    """``[[a, 0], [0, a]]`` (of the last two axes): with :func:`block_upper_right`, the matrix
    whose exponential holds the Fréchet derivative of ``expm``.

    >>> block_diagonal(np.array([[2.0]]))
    array([[2., 0.],
           [0., 2.]])
    """
    zeros = np.zeros_like(a)
    return np.concatenate(
        [np.concatenate([a, zeros], axis=-1), np.concatenate([zeros, a], axis=-1)], axis=-2
    )


def diagonal_blocks_sum(m: Any) -> Any:
    """The transpose of :func:`block_diagonal`: the sum of the two diagonal blocks.

    >>> diagonal_blocks_sum(np.arange(4.0).reshape(2, 2))
    array([[3.]])
    """
    n = np.shape(m)[-1] // 2
    return m[..., :n, :n] + m[..., n:, n:]


def block_upper_right(e: Any) -> Any:
    """``[[0, e], [0, 0]]`` (of the last two axes).

    >>> block_upper_right(np.array([[2.0]]))
    array([[0., 2.],
           [0., 0.]])
    """
    zeros = np.zeros_like(e)
    return np.concatenate(
        [np.concatenate([zeros, e], axis=-1), np.concatenate([zeros, zeros], axis=-1)], axis=-2
    )


def upper_right(m: Any) -> Any:
    """The upper right block of ``m`` (the transpose of :func:`block_upper_right`).

    >>> upper_right(np.arange(4.0).reshape(2, 2))
    array([[1.]])
    """
    n = np.shape(m)[-1] // 2
    return m[..., :n, n:]


def one_if_none(b: Any) -> Any:
    """``b``, or 1.0 for None: the weights of ``scipy.special.logsumexp(a, b=b)``.

    >>> one_if_none(None), one_if_none(2.0)
    (1.0, 2.0)
    """
    return 1.0 if b is None else b


def _permutation(piv: Any) -> np.ndarray:
    """The rows of ``A`` in the order ``P^T A`` has them, from LAPACK's interchanges."""
    order = np.arange(len(piv))
    for i, j in enumerate(piv):
        order[[i, j]] = order[[j, i]]
    return order


def rows_permuted(x: Any, piv: Any) -> Any:
    """``P^T x`` for ``A = P L U`` with the interchanges ``piv``: the rows ``L U`` has.

    >>> rows_permuted(np.array([1.0, 2.0, 3.0]), np.array([2, 1, 2]))
    array([3., 2., 1.])
    """
    return np.asarray(x)[_permutation(piv)]


def rows_unpermuted(x: Any, piv: Any) -> Any:
    """``P x``: the transpose of :func:`rows_permuted`.

    >>> rows_unpermuted(np.array([3.0, 2.0, 1.0]), np.array([2, 1, 2]))
    array([1., 2., 3.])
    """
    return np.asarray(x)[np.argsort(_permutation(piv))]
