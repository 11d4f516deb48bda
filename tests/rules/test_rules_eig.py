"""``np.linalg.eig`` and ``np.linalg.eigvals`` in whole real-valued losses, of real and complex
matrices, against central differences along the real and imaginary directions (JAX's
convention, ``docs/complex.md``); the single rules are in ``cases_eig.py`` and
``test_rules_complex.py``.

Eigenvectors are differentiated as LAPACK normalizes them (unit norm, a real largest entry),
as JAX does: losses of the vectors themselves, of their magnitudes only, and of products that
do not see their phases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_rules_complex import fd_cotangent, fd_tangent, random_like

import s2s_ad as ad

WEIGHTS = np.arange(1.0, 4.0)[:, None]


def eigenvalue_power(a):
    return np.sum(np.abs(np.linalg.eigvals(a)) ** 2)


def eigenvalue_squares(a):
    w, _ = np.linalg.eig(a)
    return np.real(np.sum(w**2))


def vector_magnitudes(a):
    _, v = np.linalg.eig(a)
    return np.sum(np.abs(v) ** 2 * WEIGHTS) + np.sum(np.abs(v[0]) ** 4)


def values_and_vectors(a):
    w, v = np.linalg.eig(a)
    return np.sum(np.abs(w) * np.abs(v[1]) ** 2) + np.imag(np.sum(w))


def vector_entries(a):
    _, v = np.linalg.eig(a)
    return np.real(np.sum(v * np.arange(9.0).reshape(3, 3) * (1 - 0.5j))) + np.imag(np.sum(v**2))


def reconstruction(a):
    w, v = np.linalg.eig(a)
    return np.sum(np.abs(v @ (w[:, None] * np.linalg.inv(v))) ** 2 * WEIGHTS)


LOSSES = [eigenvalue_power, eigenvalue_squares, vector_magnitudes, values_and_vectors]
LOSSES += [vector_entries, reconstruction]
ROTATION = np.array([[0.0, -3.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 6.0]])
MATRICES = {
    # real, with real eigenvalues: NumPy returns real arrays
    "real_spectrum": lambda rng: np.diag([0.0, 3.0, 6.0]) + rng.uniform(-0.5, 0.5, (3, 3)),
    # real, with a complex pair: complex results
    "complex_pair": lambda rng: ROTATION + rng.uniform(-0.5, 0.5, (3, 3)),
    "complex": lambda rng: (
        np.diag([0.0, 3.0, 6.0j]) + rng.uniform(-1, 1, (3, 3)) + 1j * rng.uniform(-1, 1, (3, 3))
    ),
}


def matrix(kind: str) -> np.ndarray:
    return MATRICES[kind](np.random.default_rng(len(kind)))


@pytest.mark.parametrize("kind", list(MATRICES))
@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
def test_gradient_is_df_dx_minus_i_df_dy(loss, kind):
    a = matrix(kind)
    ours = ad.grad(loss)(a)
    assert ours.dtype == a.dtype, "a real matrix gets a real gradient"
    np.testing.assert_allclose(ours, fd_cotangent(loss, [a], 0, 1.0), rtol=1e-6, atol=1e-7)


# a real matrix has real tangents; a complex one is moved along both directions
DIRECTIONS = [(kind, 1.0) for kind in MATRICES] + [("complex", 1j)]


@pytest.mark.parametrize("kind, direction", DIRECTIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
def test_jvp_along_real_and_imaginary_directions(loss, kind, direction):
    a = matrix(kind)
    tangent = random_like(np.real(a), np.random.default_rng(5)) * direction
    out, ours = ad.jvp(loss, (a,), (tangent,))
    assert out == pytest.approx(loss(a), rel=1e-12)
    np.testing.assert_allclose(ours, fd_tangent(loss, [a], [tangent]), rtol=1e-6, atol=1e-7)


def decomposition(a):
    w, v = np.linalg.eig(a)
    return w, v


@pytest.mark.skipif(
    np.iscomplexobj(np.linalg.eigvals(np.eye(2))),
    reason="this NumPy (2.5 and later) gives complex eigenvalues for every real matrix",
)
def test_real_eigenvalues_have_real_tangents():
    """NumPy's results are real when every eigenvalue is: so are their tangents."""
    a = matrix("real_spectrum")
    (w, v), (dw, dv) = ad.jvp(decomposition, (a,), (np.ones((3, 3)),))
    assert not np.iscomplexobj(w) and not np.iscomplexobj(dw) and not np.iscomplexobj(dv)
    a = matrix("complex_pair")
    (w, v), (dw, dv) = ad.jvp(decomposition, (a,), (np.ones((3, 3)),))
    expected = fd_tangent(lambda m: np.linalg.eig(m)[0], [a], [np.ones((3, 3))])
    assert np.abs(np.imag(expected)).min() < 1e-3 < np.abs(np.imag(expected)).max()
    np.testing.assert_allclose(dw, expected, rtol=1e-6, atol=1e-8)  # no imaginary part dropped


def eigenvalue_sum_of_squares(a: Any):
    return np.sum(np.linalg.eigvals(a) ** 2)  # = trace(a @ a), for the closed form


def test_gradient_of_the_trace_of_a_square_in_closed_form():
    """sum(w**2) = trace(A A), whose gradient in JAX's convention is 2 A^T (holomorphic)."""
    a = matrix("complex")
    np.testing.assert_allclose(ad.grad(eigenvalue_sum_of_squares)(a), 2 * a.T, rtol=1e-10)


# ------------------------------------------------------------------ higher orders
# The helpers are transformed from their source (s2s_ad/runtime/eig.py): each order is checked
# against central differences of the one below it, which the tests above check.
SECOND_ORDER_LOSSES = [eigenvalue_power, eigenvalue_squares, vector_magnitudes, vector_entries]


@pytest.mark.parametrize("kind, direction", DIRECTIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("loss", SECOND_ORDER_LOSSES, ids=lambda f: f.__name__)
def test_hessian_vector_product_along_real_and_imaginary_directions(loss, kind, direction):
    """Forward mode over the gradient (JAX's convention) against differences of the gradient."""
    a = matrix(kind)
    v = random_like(np.real(a), np.random.default_rng(7)) * direction
    gradient = ad.grad(loss)
    _, ours = ad.jvp(gradient, (a,), (v,))
    np.testing.assert_allclose(ours, fd_tangent(gradient, [a], [v]), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("loss", SECOND_ORDER_LOSSES, ids=lambda f: f.__name__)
def test_hessian_of_a_real_matrix_is_symmetric_and_matches_differences(loss):
    a = matrix("complex_pair")
    hessian = ad.hessian(loss)(a).reshape(9, 9)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-8, atol=1e-10)
    v = random_like(a, np.random.default_rng(8))
    expected = fd_tangent(ad.grad(loss), [a], [v])
    np.testing.assert_allclose(hessian @ v.ravel(), np.real(expected).ravel(), rtol=1e-6, atol=1e-7)


A0 = np.array([[1.0, 2.0], [0.5, -1.0]])
A1 = np.array([[0.3, -0.4], [0.7, 0.2]])
TURN = np.array([[0.0, -2.0], [1.5, 0.5]])  # a complex pair of eigenvalues


def largest_eigenvalue(t):
    return np.max(np.real(np.linalg.eigvals(A0 + t * A1)))


def rotation_rate(t):
    """The imaginary part of the upper eigenvalue of a matrix with a complex pair."""
    w, _ = np.linalg.eig(TURN + t * A1)
    return np.max(np.imag(w))


def root_derivatives(q: np.ndarray) -> list:
    """``sqrt(q(t))`` and its first three derivatives at 0, for the quadratic ``q(t)`` with
    coefficients ``q = (q0, q1, q2)``."""
    q0, q1, q2 = q[0], q[1], 2 * q[2]  # q(0), q'(0), q''
    s = np.sqrt(q0)
    second = q2 / (2 * s) - q1**2 / (4 * s**3)
    third = -3 * q1 * q2 / (4 * s**3) + 3 * q1**3 / (8 * s**5)
    return [s, q1 / (2 * s), second, third]


def discriminant(a0: np.ndarray, a1: np.ndarray) -> np.ndarray:
    """The coefficients of ``trace(t)^2 - 4 det(t)`` of ``a0 + t a1`` (2x2), lowest first."""
    trace = np.array([np.trace(a0), np.trace(a1)])
    det = np.array(
        [
            np.linalg.det(a0),
            a0[0, 0] * a1[1, 1] + a1[0, 0] * a0[1, 1] - a0[0, 1] * a1[1, 0] - a1[0, 1] * a0[1, 0],
            np.linalg.det(a1),
        ]
    )
    return np.polynomial.polynomial.polymul(trace, trace) - 4 * det


def test_three_derivatives_of_a_2x2_eigenvalue_in_closed_form():
    """``lambda(t) = (trace + sqrt(disc)) / 2``: its derivatives by the chain rule on ``sqrt``."""
    _, slope, second, third = root_derivatives(discriminant(A0, A1))
    first = ad.grad(largest_eigenvalue)
    assert first(0.0) == pytest.approx(np.trace(A1) / 2 + slope / 2, rel=1e-10)
    assert ad.grad(first)(0.0) == pytest.approx(second / 2, rel=1e-8)
    assert ad.grad(ad.grad(first))(0.0) == pytest.approx(third / 2, rel=1e-8)
    assert ad.derivative(ad.derivative(first))(0.0) == pytest.approx(third / 2, rel=1e-8)


def test_three_derivatives_of_a_complex_pair_in_closed_form():
    """``Im lambda(t) = sqrt(-disc) / 2`` for a real 2x2 matrix with a complex pair."""
    _, slope, second, third = root_derivatives(-discriminant(TURN, A1))
    first = ad.grad(rotation_rate)
    assert first(0.0) == pytest.approx(slope / 2, rel=1e-10)
    assert ad.grad(first)(0.0) == pytest.approx(second / 2, rel=1e-8)
    assert ad.grad(ad.grad(first))(0.0) == pytest.approx(third / 2, rel=1e-8)


B1 = np.random.default_rng(4).uniform(-1, 1, (3, 3))
REAL_SPECTRUM, COMPLEX_PAIR, COMPLEX = (matrix(kind) for kind in MATRICES)


# (np.abs of complex numbers has no third derivative: these losses do without it)
def along_real_spectrum(t):
    return vector_entries(REAL_SPECTRUM + t * B1) + eigenvalue_squares(REAL_SPECTRUM + t * B1)


def along_complex_pair(t):
    return vector_entries(COMPLEX_PAIR + t * B1)


def along_complex_matrix(t):
    return vector_entries(COMPLEX + t * B1) + eigenvalue_squares(COMPLEX + t * B1)


@pytest.mark.parametrize("f", [along_real_spectrum, along_complex_pair, along_complex_matrix])
def test_third_derivative_matches_differences_of_the_second(f):
    second = ad.grad(ad.grad(f))
    h = 1e-4
    expected = (second(0.2 + h) - second(0.2 - h)) / (2 * h)
    assert ad.grad(second)(0.2) == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert ad.derivative(second)(0.2) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_repeated_eigenvalues_give_nan_not_a_wrong_number():
    """As in JAX and autograd: where two eigenvalues meet, the vectors are not determined and
    their derivatives are not finite; the eigenvalues' own gradient stays finite."""
    a = np.eye(3)
    assert np.all(np.isfinite(ad.grad(eigenvalue_squares)(a)))
    with np.errstate(divide="ignore", invalid="ignore"):
        hessian = ad.hessian(vector_magnitudes)(a)
    assert not np.all(np.isfinite(hessian))


def eigvals_trace(a):
    return np.sum(np.real(np.linalg.eigvals(a)))


def eigvals_squares(a):
    return np.sum(np.real(np.linalg.eigvals(a)) ** 2)


@pytest.mark.parametrize("a", [np.eye(2), np.diag([2.0, 2.0, -1.0])], ids=["identity", "pair"])
def test_eigvals_of_a_repeated_eigenvalue_with_an_eigenbasis(a):
    """The sum of the eigenvalues is the trace and that of their squares trace(A @ A): their
    gradients are I and 2 A^T, where eigvals used to pick one eigenvector twice and fail."""
    np.testing.assert_allclose(ad.grad(eigvals_trace)(a), np.eye(len(a)), atol=1e-12)
    np.testing.assert_allclose(ad.grad(eigvals_squares)(a), 2 * a.T, atol=1e-12)


@pytest.mark.parametrize("f", [eigvals_squares, eigenvalue_squares], ids=lambda f: f.__name__)
def test_a_defective_matrix_is_refused_not_given_noise(f):
    """A Jordan block has one eigenvector for a double eigenvalue: its eigenvalues have no
    derivative, and the formulas returned [[2, 0], [0, 2]] where trace(A @ A) has 2 A^T."""
    jordan = np.array([[1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="the matrix is defective"):
        ad.grad(f)(jordan)
