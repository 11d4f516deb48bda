"""Closure through calls that are not inlined: recursion, derivatives made inside, checkpoints.

A recursive user function (or an ``ad.checkpoint`` one, or a derivative made inside the
differentiated function) is called, not inlined.  First-order code calls its VJP through
a pullback closure; code that is differentiated again calls plain functions instead
(``compiler/closed_calls.py``): the function itself in the primal sweep and
``p_cotangents`` (the call run again, then its adjoint sweep) in the adjoint sweep, so
Hessians, HVPs, ``jvp(grad f)``, ``grad(grad f)`` and third order see through them.

Every result is checked against a closed form or central differences of a lower
derivative in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference

# ------------------------------------------------------------------- recursions


def power(x, n):
    """x ** n, by linear recursion."""
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def cube(x):
    return power(x, 3)


def fib_power(x, n):
    """x ** fib(n + 1), by tree recursion: two recursive calls."""
    if n < 2:
        return x
    return fib_power(x, n - 1) * fib_power(x, n - 2)


def fifth(x):
    return fib_power(x, 4)  # x ** 5


def even(x, n):
    if n == 0:
        return x
    return odd(x, n - 1) * x


def odd(x, n):
    if n == 0:
        return x
    return even(x, n - 1) * x


def fourth_by_mutual_recursion(x):
    return even(x, 3)  # x ** 4


def nested_sine(x, n):
    if n == 0:
        return x
    return np.sin(nested_sine(x, n - 1)) * x


def sine_chain(x):
    return nested_sine(x, 3)


def recursion_in_a_loop(x):
    """y <- power(y, 2) * 0.5 three times: y is overwritten, so the adjoint sweep's
    second call reads y's old values back from a stack."""
    y = x
    for _ in range(3):
        y = power(y, 2) * 0.5
    return y  # x ** 8 / 2 ** 7


# (function, its derivatives of orders 1, 2, 3 in closed form)
POWERS = [
    (cube, lambda x: 3 * x**2, lambda x: 6 * x, lambda x: 6.0),
    (fifth, lambda x: 5 * x**4, lambda x: 20 * x**3, lambda x: 60 * x**2),
    (fourth_by_mutual_recursion, lambda x: 4 * x**3, lambda x: 12 * x**2, lambda x: 24 * x),
    (recursion_in_a_loop, lambda x: x**7 / 16, lambda x: 7 * x**6 / 16, lambda x: 42 * x**5 / 16),
]
ids = [f.__name__ for f, *_ in POWERS]


@pytest.mark.parametrize("f, first, second, third", POWERS, ids=ids)
def test_second_order_through_recursion_matches_the_closed_form(f, first, second, third):
    x = 0.8
    expected = second(x)
    assert ad.grad(f)(x) == pytest.approx(first(x), rel=1e-12)
    assert ad.hessian(f)(x) == pytest.approx(expected, rel=1e-12)
    assert ad.hvp(f)(x, 1.0) == pytest.approx(expected, rel=1e-12)
    assert ad.jvp(ad.grad(f), (x,), (1.0,))[1] == pytest.approx(expected, rel=1e-12)
    assert ad.jacobian(ad.grad(f))(x) == pytest.approx(expected, rel=1e-12)
    assert ad.grad(ad.grad(f))(x) == pytest.approx(expected, rel=1e-12)
    assert ad.derivative(ad.grad(f))(x) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("f, first, second, third", POWERS, ids=ids)
def test_third_order_through_recursion_matches_the_closed_form(f, first, second, third):
    x = 0.8
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third(x), rel=1e-11)
    assert ad.derivative(ad.derivative(ad.grad(f)))(x) == pytest.approx(third(x), rel=1e-11)
    assert ad.grad(ad.derivative(ad.grad(f)))(x) == pytest.approx(third(x), rel=1e-11)


@pytest.mark.parametrize("f, first, second, third", POWERS, ids=ids)
def test_taylor_mode_through_recursion_matches_the_closed_form(f, first, second, third):
    x = 0.8
    assert ad.derivative(f, order=2)(x) == pytest.approx(second(x), rel=1e-12)
    assert ad.derivative(f, order=3)(x) == pytest.approx(third(x), rel=1e-12)


def test_taylor_mode_through_an_array_recursion_matches_nested_forward_mode():
    x = np.array([0.3, 0.7, -0.4])
    expected = ad.derivative(ad.derivative(ad.derivative(sine_chain)))(x)
    assert np.all(np.abs(expected) > 0.1)  # not trivially zero
    np.testing.assert_allclose(ad.derivative(sine_chain, order=3)(x), expected, rtol=1e-12)


def test_a_recursion_that_is_not_a_power_against_differences_of_the_gradient():
    x = 0.7
    gradient = ad.grad(sine_chain)
    second = central_difference(gradient, (x,), 0)
    assert ad.hessian(sine_chain)(x) == pytest.approx(second, rel=1e-8)
    assert ad.grad(ad.grad(sine_chain))(x) == pytest.approx(second, rel=1e-8)
    third = central_difference(ad.grad(ad.grad(sine_chain)), (x,), 0)
    assert ad.grad(ad.grad(ad.grad(sine_chain)))(x) == pytest.approx(third, rel=1e-7)
    fourth = central_difference(ad.grad(ad.grad(ad.grad(sine_chain))), (x,), 0)
    assert ad.derivative(ad.derivative(ad.derivative(gradient)))(x) == pytest.approx(
        fourth, rel=1e-6
    )


def scaled_sine(x, n=3, *, scale=1.0):
    if n == 0:
        return x * scale
    return np.sin(scaled_sine(x, n=n - 1, scale=scale)) * x


def keywords_and_defaults(x):
    return scaled_sine(x, scale=2.0)


def a_differentiated_keyword(x):
    return scaled_sine(x, 2, scale=x)


def pair_step(pair, n):
    """A recursion that takes and returns a tuple."""
    if n == 0:
        return pair
    a, b = pair_step(pair, n - 1)
    return (a * b, np.sin(a))


def through_a_pair(x):
    a, b = pair_step((x, 2.0 * x), 2)
    return a + b


@pytest.mark.parametrize(
    "f",
    [keywords_and_defaults, a_differentiated_keyword, through_a_pair],
    ids=lambda f: f.__name__,
)
def test_second_and_third_order_through_keywords_and_tuples(f):
    x = 0.7
    second = central_difference(ad.grad(f), (x,), 0)
    assert ad.hessian(f)(x) == pytest.approx(second, rel=1e-8)
    assert ad.derivative(f, order=2)(x) == pytest.approx(second, rel=1e-8)
    third = ad.derivative(ad.derivative(ad.grad(f)))(x)
    assert third == pytest.approx(central_difference(ad.grad(ad.grad(f)), (x,), 0), rel=1e-7)
    assert ad.grad(ad.derivative(ad.grad(f)))(x) == pytest.approx(third, rel=1e-11)
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-11)
    assert ad.derivative(f, order=3)(x) == pytest.approx(third, rel=1e-11)


def take_pair(pair, n):
    """A recursion that takes a tuple and returns a number."""
    if n == 0:
        return pair[0] * pair[1]
    return np.sin(take_pair((pair[0] * 1.5, pair[1]), n - 1)) * pair[0]


def through_a_taken_pair(x):
    return take_pair((x, 2.0 * x), 2)


def test_reverse_over_reverse_through_a_recursion_that_takes_a_tuple():
    """grad(grad(f)) was -16.35 where -30.83 is right: the cotangent of the tuple passed to
    the recursive call got two terms, which `+=` joined as lists instead of adding."""
    f, x = through_a_taken_pair, 0.7
    second = central_difference(ad.grad(f), (x,), 0)
    assert ad.grad(ad.grad(f))(x) == pytest.approx(second, rel=1e-8)
    assert ad.hessian(f)(x) == pytest.approx(second, rel=1e-8)
    third = central_difference(ad.derivative(ad.derivative(f)), (x,), 0)
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-7)
    assert ad.derivative(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-7)


def with_pair(x, n, opts):
    """A recursion that takes a dict and returns a number."""
    if n == 0:
        return x * opts["scale"]
    return np.sin(with_pair(x, n - 1, {"scale": opts["scale"]}))


def through_a_dict(x):
    return with_pair(x, 2, {"scale": x})  # sin(sin(x^2))


def sine_of_sine_of_square(x):
    """The first three derivatives of sin(sin(x^2)): g(u) = sin(sin(u)) at u = x^2."""
    u = x * x
    s, c = math.sin(u), math.cos(u)
    g1 = math.cos(s) * c
    g2 = -math.sin(s) * c * c - math.cos(s) * math.sin(u)
    g3 = -math.cos(s) * c**3 + 3 * math.sin(s) * math.sin(u) * c - math.cos(s) * c
    return 2 * x * g1, 2 * g1 + 4 * x * x * g2, 12 * x * g2 + 8 * x**3 * g3


def test_third_order_reverse_through_a_recursion_that_takes_a_dict():
    """grad(grad(grad(f))) was refused: the second derivative's `d2x += t15[0]` (a float,
    rebound) was checked as a write into the tuple the recursive call returned, and the
    dict `d2t3` taken from that tuple as an item was counted as sharing it otherwise."""
    f, x = through_a_dict, 0.7
    first, second, third = sine_of_sine_of_square(x)
    assert ad.grad(f)(x) == pytest.approx(first, rel=1e-12)
    assert ad.grad(ad.grad(f))(x) == pytest.approx(second, rel=1e-11)
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-11)
    assert ad.derivative(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-11)
    assert ad.derivative(f, order=3)(x) == pytest.approx(third, rel=1e-11)
    differences = central_difference(ad.grad(ad.grad(f)), (x,), 0)
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(differences, rel=1e-7)


GAINS, SCALES = np.array([0.5, -1.2, 0.8]), np.array([1.1, 0.3, -0.7])


def through_a_dict_of_arrays(x):
    return np.sum(with_pair(x * GAINS, 2, {"scale": x * SCALES}))


def test_third_order_reverse_through_a_recursion_that_takes_a_dict_of_arrays():
    """The cotangents taken from the recursive call's result are arrays here: the second
    derivative adds to them as new arrays, and the third differentiates that."""
    f, x = through_a_dict_of_arrays, 0.7
    third = central_difference(ad.derivative(ad.grad(f)), (x,), 0)
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-7)
    assert ad.derivative(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-7)
    assert ad.derivative(f, order=3)(x) == pytest.approx(third, rel=1e-7)


def swapped_pairs(x):
    a = x
    b = 2.0 * x
    a, b = a * b, np.sin(a)
    a, b = a * b, np.sin(a)
    return a


def test_third_order_reverse_of_rebound_pairs_against_differences():
    """grad(grad(grad)) was 4.96 where 3.02 is right: common subexpressions shared two
    zeros_like(x) that the second derivative's add_at wrote into, mixing two cotangents."""
    x = 0.7
    third = central_difference(ad.grad(ad.grad(swapped_pairs)), (x,), 0)
    assert ad.grad(ad.grad(ad.grad(swapped_pairs)))(x) == pytest.approx(third, rel=1e-7)
    assert ad.derivative(ad.grad(ad.grad(swapped_pairs)))(x) == pytest.approx(third, rel=1e-7)


WEIGHTS = np.array([0.5, -1.0, 2.0])


def weighted_recursion(x):
    return np.sum(WEIGHTS * nested_sine(x, 3))


def test_the_hessian_of_an_array_recursion_against_differences_of_the_gradient():
    x = np.array([0.3, 0.7, -0.4])
    gradient = ad.grad(weighted_recursion)
    h = 1e-5
    expected = np.column_stack(
        [(gradient(x + h * e) - gradient(x - h * e)) / (2 * h) for e in np.eye(3)]
    )
    hessian = ad.hessian(weighted_recursion)(x)
    np.testing.assert_allclose(hessian, expected, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-12)  # elementwise: diagonal
    v = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(ad.hvp(weighted_recursion)(x, v), hessian @ v, rtol=1e-12)


# ------------------------------------------------- derivatives made inside the function


def gradient_of_a_capturing_lambda(x):
    g = ad.grad(lambda y: x * y * y)
    return g(x)  # 2 x^2


def captured_value_read_at_the_call(x):
    g = ad.grad(lambda y: x * y * y)
    x = x * 2.0  # the lambda reads the new x, as a closure does
    return g(x) + ad.value_and_grad(lambda y: np.sin(x * y))(0.5)[1]  # 8x^2 + 2x cos x


def sine_of_product(x, y):
    return np.sin(x * y)


def gradient_bound_to_a_name(x):
    g = ad.grad(sine_of_product, wrt=1)
    return g(x, x) * x  # x^2 cos(x^2)


def derivative_made_inside(x):
    d = ad.derivative(lambda y: np.sin(x * y))
    return d(x)  # x cos(x^2)


def sine_times_itself(y):
    return np.sin(y) * y


def jvp_inside(x):
    value, tangent = ad.jvp(sine_times_itself, (x,), (1.0,))
    return value * tangent  # (x sin x)(sin x + x cos x)


def jvp_of_a_capturing_lambda(x):
    value, tangent = ad.jvp(lambda y, s: np.sin(x * y) * s, (x, 2.0), (x, None))
    return value + tangent  # 2 sin(x^2) + 2 x^2 cos(x^2)


def jvp_inside_second(x):
    v, t = np.sin(x) * x, np.sin(x) + x * np.cos(x)
    dv, dt = t, 2 * np.cos(x) - x * np.sin(x)
    ddv, ddt = dt, -3 * np.sin(x) - x * np.cos(x)
    return ddv * t + 2 * dv * dt + v * ddt


def capturing_jvp_second(x):
    c, s = np.cos(x * x), np.sin(x * x)  # d/dx of 8 x c - 4 x^3 s
    return 8 * c - 28 * x * x * s - 8 * x**4 * c


MADE_INSIDE = [
    (jvp_inside, jvp_inside_second),
    (jvp_of_a_capturing_lambda, capturing_jvp_second),
    (gradient_of_a_capturing_lambda, lambda x: 4.0),
    (captured_value_read_at_the_call, lambda x: 16 - 4 * np.sin(x) - 2 * x * np.cos(x)),
    (
        gradient_bound_to_a_name,
        lambda x: 2 * np.cos(x * x) - 10 * x * x * np.sin(x * x) - 4 * x**4 * np.cos(x * x),
    ),
    (derivative_made_inside, lambda x: -6 * x * np.sin(x * x) - 4 * x**3 * np.cos(x * x)),
]


@pytest.mark.parametrize("f, second", MADE_INSIDE, ids=[f.__name__ for f, _ in MADE_INSIDE])
def test_second_order_through_a_derivative_made_inside(f, second):
    x = 0.7
    expected = central_difference(ad.grad(f), (x,), 0)
    assert second(x) == pytest.approx(expected, rel=1e-7)  # the closed form is right
    assert ad.hessian(f)(x) == pytest.approx(second(x), rel=1e-11)
    assert ad.hvp(f)(x, 1.0) == pytest.approx(second(x), rel=1e-11)
    assert ad.grad(ad.grad(f))(x) == pytest.approx(second(x), rel=1e-11)
    third = central_difference(ad.grad(ad.grad(f)), (x,), 0)
    assert ad.derivative(ad.derivative(ad.grad(f)))(x) == pytest.approx(third, rel=1e-6)


# ------------------------------------------------------- other calls that are called


@ad.checkpoint
def checkpointed_layer(x, w):
    return np.tanh(w * x)


def two_checkpointed_layers(x):
    return checkpointed_layer(checkpointed_layer(x, 1.5), 0.5)


def test_the_hessian_through_an_ad_checkpoint_function():
    x = 0.4
    gradient = ad.grad(two_checkpointed_layers)
    expected = central_difference(gradient, (x,), 0)
    assert ad.hessian(two_checkpointed_layers)(x) == pytest.approx(expected, rel=1e-8)
    assert ad.grad(gradient)(x) == pytest.approx(expected, rel=1e-8)


SCALE = np.array([1.0, 2.0])


def scaled(x, s=SCALE):  # a default that is an array: called, not inlined
    return x * s


def through_an_array_default(x):
    return np.sum(np.sin(scaled(x)))


def test_the_hessian_through_a_function_with_an_array_default():
    x = np.array([0.3, -0.6])
    expected = np.diag(-(SCALE**2) * np.sin(SCALE * x))
    np.testing.assert_allclose(ad.hessian(through_an_array_default)(x), expected, rtol=1e-12)


def test_closed_code_calls_plain_functions_the_next_transform_reads():
    """The code a second transform reads calls ``power`` and ``power_cotangents``, not a
    pullback closure."""
    from s2s_ad.compiler.derived import derived_of

    inner = derived_of(cube, "grad", ("x",))
    closed = inner.transformable(("scalar",))
    names = closed.__code__.co_names + closed.__code__.co_freevars
    assert "power" in names and "power_cotangents" in names
    assert not any("pullback" in name for name in names)
    assert math.isclose(closed(0.5), 0.75)  # it runs, too


# ------------------------------------------------------------------ what is refused


def with_options(x, n, **options):
    if n == 0:
        return x * options["scale"]
    return np.sin(with_options(x, n - 1, scale=options["scale"]))


def calls_with_options(x):
    return with_options(x, 2, scale=2.0)


def test_a_second_transform_through_a_called_function_with_kwargs():
    """It was refused ('takes *args or **kwargs'): the call passes ``**options`` as one
    dict now (``compiler/packed_calls.py``)."""
    x = 0.5  # sin(sin(2x)): the derivative is cos(sin 2x) cos(2x) 2
    expected = math.cos(math.sin(2 * x)) * math.cos(2 * x) * 2
    assert ad.grad(calls_with_options)(x) == pytest.approx(expected, rel=1e-12)
    s, c = math.sin(2 * x), math.cos(2 * x)
    second = -4 * math.sin(s) * c * c - 4 * math.cos(s) * s
    assert ad.hessian(calls_with_options)(x) == pytest.approx(second, rel=1e-12)
    assert ad.grad(ad.grad(calls_with_options))(x) == pytest.approx(second, rel=1e-12)


def jvp_with_an_option(x):
    return ad.jvp(sine_times_itself, (x,), (1.0,), has_aux=False)[1]


def test_jvp_inside_with_options_is_refused_at_the_users_line():
    with pytest.raises(ad.TransformError, match="takes g, the primals and the tangents") as info:
        ad.grad(jvp_with_an_option)(0.7)
    assert info.value.filename == __file__
    assert "has_aux=False" in str(info.value)


def hessian_made_in_a_loop(x):
    total = 0.0
    for _ in range(2):
        second = ad.hessian(sine_times_itself)
        total = total + second(x)
    return total


def test_a_transform_made_inside_and_not_called_where_it_is_made_is_refused():
    with pytest.raises(ad.TransformError) as info:
        ad.grad(hessian_made_in_a_loop)(0.7)
    assert info.value.filename == __file__
    assert "ad.hessian(g) made inside a differentiated function is called where" in str(info.value)
    assert "second = ad.hessian(sine_times_itself)" in info.value.source_line
    assert "value, pullback = ad.vjp(g, ...)" in info.value.hint
