"""``value, pullback = ad.vjp(g, x, ...)`` inside a differentiated function.

The value is the call of ``g``; a call of the pullback is a call of ``g``'s closed
reverse-mode code (``g_cotangents(x, seed=v)``), which the outer transform differentiates
again: first order in both modes, and second and third order through it.  Each result is
checked against a closed form, and each closed form against central differences in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference


def sine_times_itself(y):
    return np.sin(y) * y


def power_times(x, y, n):
    return x**n * y


def square(y):
    return y * y


def sine(y):
    return np.sin(y)


def pulled_back_once(x):
    value, pullback = ad.vjp(sine_times_itself, x)
    return value * pullback(1.0)[0]  # (x sin x)(sin x + x cos x)


def pulled_back_once_second(x):
    v, t = np.sin(x) * x, np.sin(x) + x * np.cos(x)
    dv, dt = t, 2 * np.cos(x) - x * np.sin(x)
    ddv, ddt = dt, -3 * np.sin(x) - x * np.cos(x)
    return ddv * t + 2 * dv * dt + v * ddt


def arguments_taken_at_the_call(x):
    _, pullback = ad.vjp(square, x)
    x = x * 3.0  # the pullback still reads x as it was: 2 x0 * 3 x0
    return pullback(x)[0]


def pulled_back_in_a_loop(x):
    _, pullback = ad.vjp(sine, x)
    total = 0.0
    for k in range(3):
        total = total + pullback(x * k)[0]
    return total  # 3 x cos x


def pulled_back_through_a_capturing_lambda(x):
    scale = np.exp(x)
    value, pullback = ad.vjp(lambda u: scale * u**2, x)
    (slope,) = pullback(1.0)
    return slope + value  # 2 x e^x + x^2 e^x


def first_cotangent(pullback, v):
    return pullback(v)[0]


def pullback_passed_to_a_helper(x):
    value, pullback = ad.vjp(sine_times_itself, x)
    return first_cotangent(pullback, value)  # the same as pulled_back_once


def vjp_in_a_helper(x):
    _, pullback = ad.vjp(sine_times_itself, x)
    return pullback(x)[0]


def calls_a_helper_with_vjp(x):
    return vjp_in_a_helper(x) * 2.0  # 2 x (sin x + x cos x)


def with_aux(x):
    value, pullback, aux = ad.vjp(lambda u: (u * u * x, np.sin(u)), x, has_aux=True)
    return pullback(aux)[0] + value  # 2 x^2 sin x + x^3: the aux gets no cotangent


SCALAR = [
    (with_aux, lambda x: 4 * np.sin(x) + 8 * x * np.cos(x) - 2 * x * x * np.sin(x) + 6 * x),
    (pullback_passed_to_a_helper, pulled_back_once_second),
    (calls_a_helper_with_vjp, lambda x: 8 * np.cos(x) - 10 * x * np.sin(x) - 2 * x * x * np.cos(x)),
    (pulled_back_once, pulled_back_once_second),
    (arguments_taken_at_the_call, lambda x: 12.0),
    (pulled_back_in_a_loop, lambda x: -6 * np.sin(x) - 3 * x * np.cos(x)),
    (pulled_back_through_a_capturing_lambda, lambda x: (6 + 6 * x + x * x) * np.exp(x)),
]


@pytest.mark.parametrize("f, second", SCALAR, ids=[f.__name__ for f, _ in SCALAR])
def test_vjp_inside_to_second_and_third_order(f, second):
    x = 0.7
    gradient = central_difference(f, (x,), 0)
    assert ad.grad(f)(x) == pytest.approx(gradient, rel=1e-7)
    assert ad.jvp(f, (x,), (1.0,))[1] == pytest.approx(gradient, rel=1e-7)
    assert ad.derivative(f)(x) == pytest.approx(gradient, rel=1e-7)
    assert second(x) == pytest.approx(central_difference(ad.grad(f), (x,), 0), rel=1e-7)
    assert ad.hessian(f)(x) == pytest.approx(second(x), rel=1e-11)
    assert ad.hvp(f)(x, 1.0) == pytest.approx(second(x), rel=1e-11)
    assert ad.grad(ad.grad(f))(x) == pytest.approx(second(x), rel=1e-11)
    assert ad.derivative(f, order=2)(x) == pytest.approx(second(x), rel=1e-11)
    third = central_difference(ad.grad(ad.grad(f)), (x,), 0)
    assert ad.derivative(ad.derivative(ad.grad(f)))(x) == pytest.approx(third, rel=1e-6)


def elementwise_pullback(x):
    _, pullback = ad.vjp(sine, x)
    return np.sum(pullback(np.ones(3))[0] * x)  # sum x cos x


def squares_with_a_dict_aux(u):
    return np.sum(u**2), {"scaled": 2 * u, "count": 3}


def array_aux(x):
    _, pullback, aux = ad.vjp(squares_with_a_dict_aux, x, has_aux=True)
    return np.sum(pullback(1.0)[0] * aux["scaled"]) * aux["count"]  # 12 sum(x^2)


def test_vjp_inside_with_an_aux_dict():
    x = np.array([0.3, -0.8, 1.1])
    np.testing.assert_allclose(central_difference(array_aux, (x,), 0), 24 * x, rtol=1e-7)
    np.testing.assert_allclose(ad.grad(array_aux)(x), 24 * x, rtol=1e-12)
    np.testing.assert_allclose(ad.jvp(array_aux, (x,), (np.ones(3),))[1], 24 * np.sum(x))
    np.testing.assert_allclose(ad.hessian(array_aux)(x), 24 * np.eye(3), atol=1e-12)


def test_vjp_inside_of_an_array_function():
    x = np.array([0.3, -0.8, 1.1])
    expected = np.cos(x) - x * np.sin(x)
    np.testing.assert_allclose(ad.grad(elementwise_pullback)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(central_difference(elementwise_pullback, (x,), 0), expected, 1e-7)
    hessian = np.diag(-2 * np.sin(x) - x * np.cos(x))
    np.testing.assert_allclose(ad.hessian(elementwise_pullback)(x), hessian, atol=1e-12)
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(ad.hvp(elementwise_pullback)(x, v), hessian @ v, atol=1e-12)


def two_arguments_with_wrt(x, y):
    value, pullback = ad.vjp(power_times, x, y, 3, wrt=(1, "x"))
    dy, dx = pullback(2.0)  # 2 x^3, 6 x^2 y
    return value + dx * dy  # x^3 y + 12 x^5 y


def captured_variable(x, a):
    value, pullback = ad.vjp(lambda u: a * u**2, x)
    (slope,) = pullback(1.0)
    return slope * a + value  # 2 a^2 x + a x^2


PAIRS = [
    (
        two_arguments_with_wrt,
        lambda x, y: [3 * x**2 * y + 60 * x**4 * y, x**3 + 12 * x**5],
        lambda x, y: [
            [6 * x * y + 240 * x**3 * y, 3 * x**2 + 60 * x**4],
            [3 * x**2 + 60 * x**4, 0],
        ],
    ),
    (
        captured_variable,
        lambda x, a: [2 * a * a + 2 * a * x, 4 * a * x + x * x],
        lambda x, a: [[2 * a, 4 * a + 2 * x], [4 * a + 2 * x, 4 * x]],
    ),
]


@pytest.mark.parametrize("f, first, second", PAIRS, ids=[f.__name__ for f, _, _ in PAIRS])
def test_vjp_inside_with_two_differentiated_variables(f, first, second):
    """Both variables receive their gradient: an argument named in wrt, and a variable a
    local function reads."""
    args = (0.6, -1.3)
    expected = [central_difference(f, args, k) for k in (0, 1)]
    np.testing.assert_allclose(first(*args), expected, rtol=1e-7)
    np.testing.assert_allclose(ad.grad(f, wrt=(0, 1))(*args), first(*args), rtol=1e-12)
    tangents = [ad.jvp(f, args, direction)[1] for direction in ((1.0, 0.0), (0.0, 1.0))]
    np.testing.assert_allclose(tangents, first(*args), rtol=1e-12)
    gradient = [lambda *a, k=k: ad.grad(f, wrt=(0, 1))(*a)[k] for k in (0, 1)]
    differences = [[central_difference(g, args, j) for j in (0, 1)] for g in gradient]
    np.testing.assert_allclose(second(*args), differences, rtol=1e-6, atol=1e-8)
    hessian = ad.hessian(f, wrt=(0, 1))(*args)
    np.testing.assert_allclose(np.array(hessian, dtype=float), second(*args), atol=1e-11)


# ------------------------------------------------------------------ what is refused


def every_argument_by_default(x):
    value, pullback = ad.vjp(power_times, x, 2.0, 3)
    return pullback(1.0)[0]


def test_the_default_wrt_checks_at_run_time_that_every_argument_is_a_float():
    with pytest.raises(TypeError, match="the argument 'n' is a int; give wrt="):
        ad.grad(every_argument_by_default)(0.5)


def aux_not_unpacked(x):
    value, pullback = ad.vjp(lambda u: (u * u, 1.0), x, has_aux=True)
    return value


def unknown_option(x):
    value, pullback = ad.vjp(sine_times_itself, x, argnums=0)
    return value


def pullback_in_a_branch(x):
    if x > 0:
        _, pullback = ad.vjp(sine_times_itself, x)
    else:
        _, pullback = ad.vjp(sine_times_itself, -x)
    return pullback(1.0)[0]


def vjp_in_an_expression(x):
    return ad.vjp(sine_times_itself, x)[0]


def vjp_not_unpacked(x):
    pair = ad.vjp(sine_times_itself, x)
    return pair[0]


def pullback_given_two_arguments(x):
    _, pullback = ad.vjp(sine_times_itself, x)
    return pullback(1.0, 2.0)[0]


@pytest.mark.parametrize(
    "f, message",
    [
        (aux_not_unpacked, "is unpacked into the value, the pullback and the aux"),
        (unknown_option, "does not take `argnums`"),
        (vjp_in_an_expression, "is unpacked where it is called"),
        (vjp_not_unpacked, "is unpacked into the value and the pullback"),
        (pullback_in_a_branch, "must be a name assigned once"),
        (pullback_given_two_arguments, "takes one argument, the cotangent"),
    ],
)
def test_what_vjp_inside_does_not_take_is_refused_at_the_users_line(f, message):
    with pytest.raises(ad.TransformError, match=message) as info:
        ad.grad(f)(0.7)
    assert info.value.filename == __file__
    assert "ad.vjp" in str(info.value) or "pullback(" in info.value.source_line


def pulled_back_through_a_lambda(p):
    # the lambda's closed reverse-mode code is named after `<lambda>`: the pullback's
    # variable in the emitted gradient must still be an identifier (it was `<lambda>_...`)
    y, pullback = ad.vjp(lambda z: np.sin(z) * z, p)
    return np.sum(pullback(np.ones_like(y))[0] * p)


def test_the_pullback_of_a_lambda_inside_against_differences():
    p = np.array([0.3, -0.5, 0.8])
    expected = central_difference(pulled_back_through_a_lambda, (p,), 0)
    np.testing.assert_allclose(ad.grad(pulled_back_through_a_lambda)(p), expected, rtol=1e-6)
