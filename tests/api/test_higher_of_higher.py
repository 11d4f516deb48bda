"""Transforms of the functions ad.hessian, ad.jacobian, ad.hvp, ad.laplacian, ... make.

Third and fourth derivatives against closed forms, and against central differences in
float64 of the second-order functions themselves; what stays unsupported is refused
with a TypeError that says what to do.
"""

import math

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference


def poly(x):
    return np.sum(x**4) + x[0] * x[1] ** 3


def poly_third(x):
    """d^3 poly / dx_i dx_j dx_k, in closed form."""
    x0, x1 = x
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = 24 * x0
    t[0, 1, 1] = t[1, 0, 1] = t[1, 1, 0] = 6 * x1
    t[1, 1, 1] = 24 * x1 + 6 * x0
    return t


def quartic(x):
    return x**4


def wave(x):
    return math.sin(3.0 * x)


def bumpy(x, y):
    return np.sum(np.exp(np.sin(x)) * y[0]) + np.sum(x**3) * np.cos(y[1])


X = np.array([0.7, -1.3])


def jacobian_by_differences(fn, args, position):
    """d fn / d args[position] entry by entry, central differences of each output entry."""
    out = np.asarray(fn(*args))
    columns = [
        central_difference(lambda *a, i=i: np.reshape(np.asarray(fn(*a)), -1)[i], args, position)
        for i in range(out.size)
    ]
    return np.reshape(np.array(columns), out.shape + np.shape(args[position]))


@pytest.mark.parametrize("optimize", [True, False])
def test_jacobian_of_hessian_is_the_third_derivative_tensor(optimize):
    third = ad.jacobian(ad.hessian(poly, optimize=optimize), optimize=optimize)
    np.testing.assert_allclose(third(X), poly_third(X), rtol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_hessian_of_jacobian_of_grad(mode):
    third = ad.jacobian(ad.jacobian(ad.grad(poly), mode=mode))
    np.testing.assert_allclose(third(X), poly_third(X), rtol=1e-12)


def test_grad_of_laplacian_and_of_hvp():
    x0, x1 = X
    expected = np.array([24 * x0 + 6 * x1, 24 * x1 + 6 * x0])  # of 12 x0^2 + 12 x1^2 + 6 x0 x1
    np.testing.assert_allclose(ad.grad(ad.laplacian(poly))(X), expected, rtol=1e-12)
    assert ad.grad(ad.hvp(quartic))(1.5, 2.0) == pytest.approx(24 * 1.5 * 2.0, rel=1e-12)
    value, gradient = ad.value_and_grad(ad.laplacian(poly))(X)
    assert value == pytest.approx(12 * x0**2 + 12 * x1**2 + 6 * x0 * x1, rel=1e-12)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)


def test_scalar_functions_to_fourth_and_fifth_order():
    x = 0.4
    assert ad.grad(ad.hessian(wave))(x) == pytest.approx(-27 * math.cos(3 * x), rel=1e-12)
    assert ad.derivative(ad.hessian(wave))(x) == pytest.approx(-27 * math.cos(3 * x), rel=1e-12)
    fourth = 81 * math.sin(3 * x)
    assert ad.grad(ad.grad(ad.hessian(wave)))(x) == pytest.approx(fourth, rel=1e-12)
    assert ad.derivative(ad.hessian(wave), order=2)(x) == pytest.approx(fourth, rel=1e-12)
    assert ad.hessian(ad.hessian(wave))(x) == pytest.approx(fourth, rel=1e-12)
    fifth = 243 * math.cos(3 * x)
    assert ad.grad(ad.hessian(ad.hessian(wave)))(x) == pytest.approx(fifth, rel=1e-11)
    assert ad.hessian(ad.laplacian(quartic))(1.5) == 24.0


def test_jvp_and_vjp_of_hvp_and_hessian():
    v, t = np.array([0.5, 2.0]), np.array([-1.0, 3.0])
    out, tangent = ad.jvp(ad.hvp(poly), (X, v), (t, None))
    np.testing.assert_allclose(out, ad.hessian(poly)(X) @ v, rtol=1e-12)
    np.testing.assert_allclose(tangent, np.einsum("ijk,j,k->i", poly_third(X), v, t), rtol=1e-12)
    out, pullback = ad.vjp(ad.hessian(poly), X)
    cotangent = np.array([[1.0, 2.0], [0.5, -1.0]])
    (gradient,) = pullback(cotangent)
    np.testing.assert_allclose(out, ad.hessian(poly)(X), rtol=1e-12)
    np.testing.assert_allclose(gradient, np.einsum("ij,ijk->k", cotangent, poly_third(X)))


def test_third_derivatives_against_differences_of_the_hessian():
    x, y = np.array([0.3, -0.8, 1.1]), np.array([0.9, 0.4])
    hessian = ad.hessian(bumpy)
    for position in (0, 1):
        third = ad.jacobian(hessian, wrt=position)(x, y)
        numeric = jacobian_by_differences(hessian, [x, y], position)
        np.testing.assert_allclose(third, numeric, rtol=1e-6, atol=1e-7)
    blocks = ad.jacobian(hessian, wrt=(0, 1))(x, y)
    assert [np.shape(b) for b in blocks] == [(3, 3, 3), (3, 3, 2)]
    np.testing.assert_allclose(blocks[1], ad.jacobian(hessian, wrt=1)(x, y))
    mixed = ad.hessian(bumpy, wrt=1)
    numeric = jacobian_by_differences(mixed, [x, y], 0)
    np.testing.assert_allclose(ad.jacobian(mixed, wrt=0)(x, y), numeric, rtol=1e-6, atol=1e-7)


def test_hessian_of_laplacian_with_a_tuple_wrt():
    def g(x, y):
        return x[0] ** 3 * y[0] + x[1] ** 2 * y[1] ** 2

    x, y = np.array([0.2, -0.4]), np.array([1.1, 0.6])
    laplacian = ad.laplacian(g)  # 6 x0 y0 + 2 y1^2
    assert laplacian(x, y) == pytest.approx(6 * x[0] * y[0] + 2 * y[1] ** 2, rel=1e-12)
    (h_xx, h_xy), (h_yx, h_yy) = ad.hessian(laplacian, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(h_xx, np.zeros((2, 2)), atol=1e-12)
    np.testing.assert_allclose(h_xy, [[6.0, 0.0], [0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(h_yx, h_xy.T, atol=1e-12)
    np.testing.assert_allclose(h_yy, [[0.0, 0.0], [0.0, 4.0]], atol=1e-12)
    v = np.array([0.3, 0.7])
    np.testing.assert_allclose(ad.hvp(laplacian, wrt=1)(x, y, v), h_yy @ v, atol=1e-12)


def test_jacobian_of_hvp_against_differences():
    x, y, v = np.array([0.3, -0.8, 1.1]), np.array([0.9, 0.4]), np.array([1.0, 0.5, -2.0])
    third = ad.jacobian(ad.hvp(bumpy), optimize=False)(x, y, v)
    hessian = ad.hessian(bumpy)
    numeric = jacobian_by_differences(lambda a, b: hessian(a, b) @ v, [x, y], 0)
    np.testing.assert_allclose(third, numeric, rtol=1e-6, atol=1e-7)


def test_gradient_of_divergence_and_jacobian_of_curl():
    def field(p):
        return np.array([p[0] ** 2 * p[1], p[1] * p[2] ** 2, p[0] * p[2]])

    p = np.array([0.5, -1.5, 2.0])
    # divergence: 2 x y + z^2 + x
    expected = np.array([2 * p[1] + 1, 2 * p[0], 2 * p[2]])
    np.testing.assert_allclose(ad.grad(ad.divergence(field))(p), expected, rtol=1e-12)
    curl = ad.curl(field)  # (-2 y z, -z, -x^2)
    numeric = jacobian_by_differences(curl, [p], 0)
    np.testing.assert_allclose(ad.jacobian(curl)(p), numeric, rtol=1e-6, atol=1e-7)


def test_what_stays_unsupported_is_refused_clearly():
    hessian = ad.hessian(poly)
    with pytest.raises(TypeError, match="expects a scalar output.*ad.jacobian"):
        ad.grad(hessian)(X)
    with pytest.raises(TypeError, match="grad of a function made by ad.hessian.*has_aux"):
        ad.grad(hessian, has_aux=True)
    with pytest.raises(TypeError, match="source cannot transform hessian_poly: it is made by"):
        ad.source(hessian)
    with pytest.raises(TypeError, match="grad cannot transform jacobian.*has_aux=True"):
        ad.grad(ad.jacobian(lambda x: (x**2, "aux"), has_aux=True))
    with pytest.raises(TypeError, match="the tangent of 'x' must have the argument's shape"):
        ad.jvp(hessian, (X,), (np.ones(3),))
    with pytest.raises(TypeError, match="tangents for the parameters of poly only.*None"):
        ad.jvp(ad.hvp(poly), (X, X), (X, X))
    with pytest.raises(TypeError, match="grad expects f to return a float or an array, got a"):
        ad.grad(ad.hessian(lambda p: p[0] ** 3 * p[1]))((1.0, 2.0))  # the Hessian is a tuple


def test_a_function_made_outside_and_called_inside_is_refused():
    made = ad.hessian(quartic)

    def calling(x):
        return made(x)

    with pytest.raises(ad.TransformError, match="`made` is made by ad.hessian outside") as info:
        ad.grad(calling)(1.0)
    assert "ad.hessian(f)(...) inside" in info.value.hint
