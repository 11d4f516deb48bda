"""``ad.hessian(g)(x)``, ``ad.jacobian``, ``ad.hvp``, ``ad.laplacian``, ``ad.divergence`` and
``ad.curl`` called inside a differentiated function.

The composite's assembly is inlined over sweeps of ``g``'s closed forward-mode code, which
the outer transform differentiates again: the gradient of the outer function in both
modes, and its Hessian (third derivatives of ``g``), are checked against closed forms,
and each closed form against central differences in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference

X = np.array([0.3, -0.5, 0.8])


def sine_times_itself(y):
    return np.sum(np.sin(y) * y)  # Hessian: diag(2 cos y - y sin y)


def field(p):
    return np.array([p[1] * p[2], 2 * p[0] * p[2] ** 2, 3 * p[0] * p[1]])


def trace_of_the_hessian(x):
    return np.trace(ad.hessian(sine_times_itself)(x))  # sum(2 cos x - x sin x)


def laplacian_inside(x):
    return ad.laplacian(sine_times_itself)(x)


def hessian_bound_to_a_name(x):
    second = ad.hessian(sine_times_itself)
    return np.sum(np.diag(second(x)))


def hvp_inside(x):
    return np.sum(ad.hvp(sine_times_itself)(x, x))  # sum(2 x cos x - x^2 sin x)


def jacobian_inside(x):
    return np.sum(ad.jacobian(field)(x))  # 3 x0 + 4 x1 + x2 + 2 x2^2 + 4 x0 x2


def curl_inside(x):
    return np.sum(ad.curl(field)(x))  # 3 x0 - 4 x0 x2 - 2 x1 + 2 x2^2 - x2


def trace_gradient(x):
    return -3 * np.sin(x) - x * np.cos(x)


def trace_hessian(x):
    return np.diag(-4 * np.cos(x) + x * np.sin(x))


CASES = [
    (trace_of_the_hessian, trace_gradient, trace_hessian),
    (laplacian_inside, trace_gradient, trace_hessian),
    (hessian_bound_to_a_name, trace_gradient, trace_hessian),
    (
        hvp_inside,
        lambda x: 2 * np.cos(x) - 4 * x * np.sin(x) - x * x * np.cos(x),
        lambda x: np.diag(-6 * np.sin(x) - 6 * x * np.cos(x) + x * x * np.sin(x)),
    ),
    (
        jacobian_inside,
        lambda x: np.array([3 + 4 * x[2], 4.0, 1 + 4 * x[2] + 4 * x[0]]),
        lambda x: np.array([[0.0, 0, 4], [0, 0, 0], [4, 0, 4]]),
    ),
    (
        curl_inside,
        lambda x: np.array([3 - 4 * x[2], -2.0, 4 * x[2] - 4 * x[0] - 1]),
        lambda x: np.array([[0.0, 0, -4], [0, 0, 0], [-4, 0, 4]]),
    ),
]


@pytest.mark.parametrize("f, gradient, hessian", CASES, ids=[f.__name__ for f, _, _ in CASES])
def test_a_composite_called_inside_to_first_and_second_order(f, gradient, hessian):
    np.testing.assert_allclose(central_difference(f, (X,), 0), gradient(X), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ad.grad(f)(X), gradient(X), rtol=1e-12, atol=1e-12)
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(ad.jvp(f, (X,), (v,))[1], gradient(X) @ v, rtol=1e-12)
    differences = [central_difference(lambda x, k=k: ad.grad(f)(x)[k], (X,), 0) for k in range(3)]
    np.testing.assert_allclose(differences, hessian(X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ad.hessian(f)(X), hessian(X), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ad.hvp(f)(X, v), hessian(X) @ v, rtol=1e-11, atol=1e-11)


def swirl(p):
    return np.array([p[0] ** 2 * p[1], p[1] * p[2], np.sin(p[2])])


def divergence_of_a_capturing_lambda(x, a):
    return ad.divergence(lambda p: a * swirl(p))(x)  # a (2 x0 x1 + x2 + cos x2)


def hessian_of_a_capturing_lambda(x, a):
    return np.trace(ad.hessian(lambda y: a * np.sum(y**3))(x))  # 6 a sum(x)


def scalar_hessian_with_wrt(x, a):
    return ad.hessian(lambda s, t: np.sin(s * t), wrt=1)(a, x)  # -a^2 sin(a x)


CAPTURING = [
    (
        divergence_of_a_capturing_lambda,
        lambda x, a: (
            a * np.array([2 * x[1], 2 * x[0], 1 - np.sin(x[2])]),
            2 * x[0] * x[1] + x[2] + np.cos(x[2]),
        ),
    ),
    (hessian_of_a_capturing_lambda, lambda x, a: (6 * a * np.ones(3), 6 * np.sum(x))),
]


@pytest.mark.parametrize("f, gradient", CAPTURING, ids=[f.__name__ for f, _ in CAPTURING])
def test_the_variables_a_local_g_reads_receive_their_gradient(f, gradient):
    a = 1.7
    expected_x, expected_a = gradient(X, a)
    np.testing.assert_allclose(central_difference(f, (X, a), 0), expected_x, rtol=1e-7)
    assert central_difference(f, (X, a), 1) == pytest.approx(expected_a, rel=1e-7)
    gx, ga = ad.grad(f, wrt=(0, 1))(X, a)
    np.testing.assert_allclose(gx, expected_x, rtol=1e-12)
    assert ga == pytest.approx(expected_a, rel=1e-12)
    assert ad.jvp(f, (X, a), (np.zeros(3), 1.0))[1] == pytest.approx(expected_a, rel=1e-12)
    mixed = ad.hessian(f, wrt=(0, 1))(X, a)[0][1]  # d/da of the gradient in x
    np.testing.assert_allclose(mixed, expected_x / a, rtol=1e-11)


def test_a_scalar_hessian_with_wrt_to_third_order_and_in_taylor_mode():
    x, a = 0.6, 1.3
    f = scalar_hessian_with_wrt
    assert f(x, a) == pytest.approx(-a * a * np.sin(a * x), rel=1e-12)
    first = -(a**3) * np.cos(a * x)
    assert central_difference(f, (x, a), 0) == pytest.approx(first, rel=1e-7)
    assert ad.grad(f)(x, a) == pytest.approx(first, rel=1e-12)
    assert ad.derivative(f)(x, a) == pytest.approx(first, rel=1e-12)
    second = a**4 * np.sin(a * x)
    assert ad.hessian(f)(x, a) == pytest.approx(second, rel=1e-11)
    assert ad.grad(ad.grad(f))(x, a) == pytest.approx(second, rel=1e-11)
    assert ad.derivative(f, order=2)(x, a) == pytest.approx(second, rel=1e-11)
    third = central_difference(ad.grad(ad.grad(f)), (x, a), 0)
    assert third == pytest.approx(a**5 * np.cos(a * x), rel=1e-6)
    assert ad.derivative(ad.grad(ad.grad(f)))(x, a) == pytest.approx(third, rel=1e-6)
    assert ad.derivative(f, order=3)(x, a) == pytest.approx(third, rel=1e-6)


# ------------------------------------------------------------------ what is refused


def hessian_with_two_wrt(x):
    return ad.hessian(lambda s, t: s * t, wrt=(0, 1))(x, x)


def jacobian_with_aux(x):
    return ad.jacobian(lambda s: (s * s, 1.0), has_aux=True)(x)


def hessian_with_an_unknown_option(x):
    return ad.hessian(sine_times_itself, order=2)(x)


@pytest.mark.parametrize(
    "f, message",
    [
        (hessian_with_two_wrt, "takes one wrt and no has_aux"),
        (jacobian_with_aux, "takes one wrt and no has_aux"),
        (hessian_with_an_unknown_option, "unexpected keyword argument 'order'"),
    ],
)
def test_what_a_composite_inside_does_not_take_is_refused_at_the_users_line(f, message):
    with pytest.raises(ad.TransformError, match=message) as info:
        ad.grad(f)(0.7)
    assert info.value.filename == __file__
    assert "ad." in info.value.source_line


def plane_field(p):
    return np.array([p[0] * p[1], p[1] ** 2])


def lifted_plane(p):
    return np.array([p[0], p[1], p[0] * p[1]])


def divergence_of_a_field_to_another_space(x):
    return ad.divergence(lifted_plane)(x[:2])


def curl_of_a_plane_field(x):
    return np.sum(ad.curl(plane_field)(x))


@pytest.mark.parametrize(
    "f, message",
    [
        (divergence_of_a_field_to_another_space, r"ad.divergence expects g: R\^n -> R\^n"),
        (curl_of_a_plane_field, r"ad.curl expects g: R\^3 -> R\^3"),
    ],
)
def test_a_field_of_the_wrong_shape_fails_when_the_code_runs(f, message):
    with pytest.raises(AssertionError, match=message):
        ad.grad(f)(X)
