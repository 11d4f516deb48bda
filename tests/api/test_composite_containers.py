"""Second transforms of composites (``ad.hessian``, ``ad.hvp``, ``ad.laplacian``, ...) whose
arguments are tuples, lists or dicts: the derivatives take the argument's structure, as
``ad.grad`` gives them (pytree semantics, as in JAX).

Each result is checked against a closed form or central differences in float64, with and
without the optimizer.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference


def energy(p):
    """a^2 sum(b^3): its Laplacian is 2 sum(b^3) + 6 a^2 sum(b)."""
    return p["a"] ** 2 * np.sum(p["b"] ** 3)


def energy_of_a_sequence(t):
    return t[0] ** 2 * np.sum(t[1] ** 3)


def laplacian_gradient(a, b):
    """The gradient of 2 sum(b^3) + 6 a^2 sum(b) in (a, b)."""
    return 12 * a * np.sum(b), 6 * b**2 + 6 * a**2


A, B = 1.5, np.array([1.0, -2.0, 0.5])


def as_kind(kind, a, b):
    return {"a": a, "b": b} if kind is dict else kind([a, b])


def parts(kind, value):
    return (value["a"], value["b"]) if kind is dict else (value[0], value[1])


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "plain"])
@pytest.mark.parametrize("kind", [dict, tuple, list], ids=lambda k: k.__name__)
def test_the_gradient_of_a_laplacian_has_the_arguments_structure(kind, optimize):
    f = energy if kind is dict else energy_of_a_sequence
    p = as_kind(kind, A, B)
    laplacian = ad.laplacian(f, optimize=optimize)
    assert laplacian(p) == pytest.approx(2 * np.sum(B**3) + 6 * A**2 * np.sum(B), rel=1e-12)
    gradient = ad.grad(laplacian, optimize=optimize)(p)
    assert type(gradient) is kind
    expected_a, expected_b = laplacian_gradient(A, B)
    got_a, got_b = parts(kind, gradient)
    assert got_a == pytest.approx(expected_a, rel=1e-12)
    np.testing.assert_allclose(got_b, expected_b, rtol=1e-12)
    value, again = ad.value_and_grad(laplacian)(p)
    assert value == pytest.approx(laplacian(p), rel=1e-12)
    np.testing.assert_allclose(parts(kind, again)[1], expected_b, rtol=1e-12)
    (pulled,) = ad.vjp(laplacian, p)[1](2.0)
    np.testing.assert_allclose(parts(kind, pulled)[1], 2 * expected_b, rtol=1e-12)
    # along ones in every entry: the sum of the gradient's entries
    along_ones = ad.derivative(laplacian)(p)
    assert along_ones == pytest.approx(expected_a + np.sum(expected_b), rel=1e-12)


@pytest.mark.parametrize("kind", [dict, tuple, list], ids=lambda k: k.__name__)
def test_the_jvp_of_an_hvp_with_container_arguments_against_differences(kind):
    f = energy if kind is dict else energy_of_a_sequence
    hvp = ad.hvp(f)
    p, v = as_kind(kind, A, B), as_kind(kind, 0.5, np.array([1.0, 0.25, -1.0]))
    direction = as_kind(kind, 0.3, np.array([0.2, -0.1, 0.4]))
    value, tangent = ad.jvp(hvp, (p, v), (direction, None))
    d_a, d_b = parts(kind, direction)

    def hvp_along(eps):  # H(p + eps direction) v, as flat arrays
        moved = as_kind(kind, A + eps * d_a, B + eps * d_b)
        a, b = parts(kind, hvp(moved, v))
        return np.concatenate([[a], b])

    got = np.concatenate([[parts(kind, tangent)[0]], parts(kind, tangent)[1]])
    numeric = np.array(
        [central_difference(lambda eps, k=k: hvp_along(eps)[k], (0.0,), 0) for k in range(4)]
    )
    assert np.all(np.abs(numeric) > 0.05)  # not trivially zero
    np.testing.assert_allclose(got, numeric, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(parts(kind, value)[1], parts(kind, hvp(p, v))[1], rtol=1e-12)


def test_the_hessian_of_a_laplacian_of_a_dict_against_differences_of_its_gradient():
    p = {"a": A, "b": B}
    gradient = ad.grad(ad.laplacian(energy))
    hessian = ad.hessian(ad.laplacian(energy))(p)
    assert set(hessian) == {"a", "b"} and set(hessian["b"]) == {"a", "b"}

    def gradient_b(a, b):
        return gradient({"a": a, "b": b})["b"]

    h = 1e-6
    column_a = (gradient_b(A + h, B) - gradient_b(A - h, B)) / (2 * h)
    np.testing.assert_allclose(hessian["b"]["a"], column_a, rtol=1e-7)
    np.testing.assert_allclose(hessian["b"]["b"], np.diag(12 * B), rtol=1e-12)  # 6 b^2
    assert hessian["a"]["a"] == pytest.approx(12 * np.sum(B), rel=1e-12)


def test_what_a_second_transform_of_a_composite_refuses_says_so():
    p = (A, B)
    with pytest.raises(TypeError, match="jacobian expects f to return a float or an array, got"):
        ad.jacobian(ad.hessian(energy_of_a_sequence))(p)  # the Hessian of a tuple is a tuple
    with pytest.raises(TypeError, match="grad expects f to return a float or an array, got"):
        ad.grad(ad.grad(ad.laplacian(energy_of_a_sequence)))(p)
