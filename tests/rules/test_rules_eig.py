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


@pytest.mark.parametrize("loss", [eigenvalue_power, vector_magnitudes], ids=lambda f: f.__name__)
def test_second_derivatives_are_refused_by_name(loss):
    a = matrix("complex_pair")
    with pytest.raises(ad.TransformError, match="second derivatives through np.linalg.eig"):
        ad.hvp(loss)(a, np.ones((3, 3)))
