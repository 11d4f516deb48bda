"""Second and third transforms through calls of functions that take ``*args``/``**kwargs``.

A recursive or ``ad.checkpoint`` function is called, not inlined; when it takes
``*args`` or ``**kwargs``, lowering passes them as one tuple and one dict
(``compiler/packed_calls.py``), so the callee's derivative is taken with respect to
the packed parameter and the tuple display at the call hands each item its part.
Every result is checked against a closed form or central differences of a lower
derivative in float64, in forward mode, reverse mode and Taylor mode.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference


def spread_power(n, *xs):
    """xs[0] ** n * xs[1], recursing with the whole ``*xs`` (its length unknown there)."""
    if n == 0:
        return xs[1]
    return xs[0] * spread_power(n - 1, *xs)


def cube_times_two(x):
    return spread_power(3, x, 2.0)  # 2 x^3


def fourth_power(x):
    return spread_power(3, x, x)  # x^4


def item_by_item(n, *xs):
    """Recursing with the items written out, swapped and scaled."""
    if n == 0:
        return xs[0] * xs[1]
    return np.sin(item_by_item(n - 1, xs[1], xs[0] * 1.5)) * xs[0]


def swapped_items(x):
    return item_by_item(2, x, 2.0 * x)


def scaled_sine(x, n, *, power=1, **options):
    if n == 0:
        return x * options["scale"] ** power
    return np.sin(scaled_sine(x, n - 1, power=power, scale=options["scale"]))


def a_differentiated_keyword(x):
    return scaled_sine(x, 2, scale=x)  # sin(sin(x^2))


@ad.checkpoint
def gained_layer(*weights, **options):
    return np.tanh(weights[0] * weights[1]) * options["gain"]


def two_gained_layers(x):
    return gained_layer(gained_layer(x, 1.5, gain=x), 0.5, gain=2.0)


# (function, its derivatives of orders 1, 2 and 3 in closed form)
CLOSED_FORMS = [
    (cube_times_two, lambda x: 6 * x**2, lambda x: 12 * x, lambda x: 12.0),
    (fourth_power, lambda x: 4 * x**3, lambda x: 12 * x**2, lambda x: 24 * x),
]


@pytest.mark.parametrize("f, first, second, third", CLOSED_FORMS, ids=lambda f: f.__name__)
def test_first_second_and_third_order_through_a_recursion_with_args_match_the_closed_form(
    f, first, second, third
):
    x = 0.7
    assert ad.grad(f)(x) == pytest.approx(first(x), rel=1e-12)
    assert ad.jvp(f, (x,), (1.0,))[1] == pytest.approx(first(x), rel=1e-12)
    assert ad.derivative(f)(x) == pytest.approx(first(x), rel=1e-12)
    expected = second(x)
    assert ad.hessian(f)(x) == pytest.approx(expected, rel=1e-12)
    assert ad.hvp(f)(x, 1.0) == pytest.approx(expected, rel=1e-12)
    assert ad.jvp(ad.grad(f), (x,), (1.0,))[1] == pytest.approx(expected, rel=1e-12)
    assert ad.grad(ad.grad(f))(x) == pytest.approx(expected, rel=1e-12)
    assert ad.derivative(f, order=2)(x) == pytest.approx(expected, rel=1e-12)
    assert ad.derivative(f, order=3)(x) == pytest.approx(third(x), rel=1e-12)
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third(x), rel=1e-12)
    assert ad.derivative(ad.grad(ad.grad(f)))(x) == pytest.approx(third(x), rel=1e-12)


@pytest.mark.parametrize(
    "f", [swapped_items, a_differentiated_keyword, two_gained_layers], ids=lambda f: f.__name__
)
def test_second_and_third_order_through_args_and_kwargs_against_differences(f):
    x = 0.7
    second = central_difference(ad.grad(f), (x,), 0)
    assert abs(second) > 0.05  # not trivially zero
    assert ad.hessian(f)(x) == pytest.approx(second, rel=1e-8)
    assert ad.hvp(f)(x, 1.0) == pytest.approx(second, rel=1e-8)
    assert ad.jvp(ad.grad(f), (x,), (1.0,))[1] == pytest.approx(second, rel=1e-8)
    assert ad.grad(ad.grad(f))(x) == pytest.approx(second, rel=1e-8)
    assert ad.derivative(f, order=2)(x) == pytest.approx(second, rel=1e-8)
    third = central_difference(ad.derivative(ad.grad(f)), (x,), 0)
    assert ad.derivative(f, order=3)(x) == pytest.approx(third, rel=1e-7)
    assert ad.derivative(ad.derivative(ad.grad(f)))(x) == pytest.approx(third, rel=1e-7)
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-7)
    assert ad.derivative(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-7)


def test_third_order_through_a_differentiated_keyword_matches_the_closed_form():
    """grad(grad(grad(f))) and derivative(grad(grad(f))) were refused: a write into a
    float taken from the recursive call's result tuple was checked against the dict of
    ``**options`` taken from the same tuple (an item of it, which the check refused)."""
    x = 0.7
    u, f = x * x, a_differentiated_keyword
    s, c = np.sin(u), np.cos(u)
    g2 = -np.sin(s) * c * c - np.cos(s) * np.sin(u)  # of sin(sin(u))
    g3 = -np.cos(s) * c**3 + 3 * np.sin(s) * np.sin(u) * c - np.cos(s) * c
    third = 12 * x * g2 + 8 * x**3 * g3  # of sin(sin(x^2))
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-11)
    assert ad.derivative(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-11)
    assert ad.derivative(f, order=3)(x) == pytest.approx(third, rel=1e-11)


def spread_of_arrays(*xs):
    return np.sum(np.sin(spread_power(2, *xs)))  # sum sin(x0^2 x1)


def test_the_hessian_with_respect_to_args_is_a_tuple_of_tuples():
    """``wrt="xs"`` names the packed parameter: the gradient is a tuple, as ad.grad gives."""
    a, b = np.array([0.3, -0.6]), np.array([1.2, 0.8])
    gradient = ad.grad(spread_of_arrays, wrt="xs")(a, b)
    c = np.cos(a * a * b)
    assert isinstance(gradient, tuple) and len(gradient) == 2
    np.testing.assert_allclose(gradient[0], c * 2 * a * b, rtol=1e-12)
    np.testing.assert_allclose(gradient[1], c * a * a, rtol=1e-12)
    hessian = ad.hessian(spread_of_arrays, wrt="xs")(a, b)
    s = np.sin(a * a * b)
    expected_aa = np.diag(c * 2 * b - s * (2 * a * b) ** 2)
    expected_ab = np.diag(c * 2 * a - s * 2 * a * b * a * a)
    expected_bb = np.diag(-s * a**4)
    np.testing.assert_allclose(hessian[0][0], expected_aa, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hessian[0][1], expected_ab, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hessian[1][0], expected_ab, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hessian[1][1], expected_bb, rtol=1e-12, atol=1e-15)
    v = (np.array([1.0, -2.0]), np.array([0.5, 0.25]))
    tangent = ad.jvp(lambda p, q: ad.grad(spread_of_arrays, wrt="xs")(p, q), (a, b), v)[1]
    np.testing.assert_allclose(tangent[0], expected_aa @ v[0] + expected_ab @ v[1], rtol=1e-12)
    np.testing.assert_allclose(tangent[1], expected_ab @ v[0] + expected_bb @ v[1], rtol=1e-12)


def named_by_a_spread(x, *rest):
    if x > 10.0:
        return x
    return named_by_a_spread(x * rest[0], *rest)  # recursive: called, not inlined


def fills_a_named_parameter(x):
    pair = (x, 2.0)
    return named_by_a_spread(*pair[:1])


def test_a_spread_that_would_fill_a_named_parameter_is_refused_at_the_users_line():
    with pytest.raises(ad.TransformError, match=r"would fill the parameter `x`") as info:
        ad.grad(fills_a_named_parameter)(0.5)
    assert info.value.filename == __file__
    assert info.value.lineno == fills_a_named_parameter.__code__.co_firstlineno + 2
