"""Closure (issue 17): derivatives of derivatives through calls and function arguments.

Calls of user functions are inlined at lowering, so the emitted gradient calls no
pullback the next transform cannot see into: Hessians, HVPs, jvp(grad f), Taylor
mode and grad(grad f) look through the whole computation.  A function passed as
an argument (module-level, a local lambda that captures differentiated values, a
functools.partial, an item of a tuple or dict) is inlined where it is called.  Calls
that are not inlined (recursion, derivatives made inside, ad.checkpoint) are called
through plain functions in code that is differentiated again: test_closure_calls.py.
Every result is checked against a closed form or central differences in float64.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference, import_source

# ------------------------------------------------------------- the worked cases


def rk4(f, y, h, n):
    """n classical Runge-Kutta steps of y' = f(t, y) from t = 0."""
    t = 0.0
    for _ in range(n):
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2)
        k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t + h
    return y


def decay(t, y, alpha):
    return -alpha * y


def integrate_lambda(y0, alpha):
    return rk4(lambda t, y: -alpha * y, y0, 0.1, 10)


def integrate_partial(y0, alpha):
    return rk4(functools.partial(decay, alpha=alpha), y0, 0.1, 10)


def integrate_local_def(y0, alpha):
    def rhs(t, y):
        return -alpha * y

    return rk4(rhs, y0, 0.1, 10)


def rk4_factor(alpha, h=0.1):
    """One RK4 step of y' = -alpha y multiplies y by R(z), z = -alpha h; and R'(z)."""
    z = -alpha * h
    return 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24, 1 + z + z**2 / 2 + z**3 / 6


@pytest.mark.parametrize("f", [integrate_lambda, integrate_partial, integrate_local_def])
def test_rk4_with_a_right_hand_side_passed_in(f):
    y0, alpha, n, h = 1.3, 0.7, 10, 0.1
    r, dr = rk4_factor(alpha)
    d_y0, d_alpha = ad.grad(f, wrt=(0, 1))(y0, alpha)
    assert d_y0 == pytest.approx(r**n, rel=1e-12)
    assert d_alpha == pytest.approx(y0 * n * r ** (n - 1) * dr * -h, rel=1e-12)
    # second order: d2/dalpha dy0 = n R^(n-1) R'(z) (-h), through the lambda
    hessian = np.asarray(ad.hessian(f, wrt=(0, 1))(y0, alpha), dtype=float)
    assert hessian[0][1] == pytest.approx(n * r ** (n - 1) * dr * -h, rel=1e-9)
    assert hessian[0][0] == pytest.approx(0.0, abs=1e-12)


def norm_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black_scholes(s, k, sigma, t):
    d1 = (math.log(s / k) + 0.5 * sigma**2 * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return s * norm_cdf(d1) - k * norm_cdf(d2)


def black_scholes_gamma(s, k, sigma, t):
    d1 = (math.log(s / k) + 0.5 * sigma**2 * t) / (sigma * math.sqrt(t))
    return math.exp(-(d1**2) / 2) / math.sqrt(2 * math.pi) / (s * sigma * math.sqrt(t))


@pytest.mark.parametrize("s", [0.8, 1.0, 1.3])
def test_black_scholes_gamma_through_norm_cdf(s):
    args = (s, 1.0, 0.25, 0.5)
    gamma = black_scholes_gamma(*args)
    assert ad.hessian(black_scholes)(*args) == pytest.approx(gamma, rel=1e-10)
    assert ad.derivative(black_scholes, order=2)(*args) == pytest.approx(gamma, rel=1e-10)
    _, tangent = ad.jvp(ad.grad(black_scholes), args, (1.0, None, None, None))
    assert tangent == pytest.approx(gamma, rel=1e-10)


def model(w, x):
    return np.tanh(x @ w)


def loss(prediction, y):
    return np.mean((prediction - y) ** 2)


def objective(w, x, y):
    return loss(model(w, x), y)


def test_hessian_of_model_plus_loss_in_three_functions():
    rng = np.random.default_rng(17)
    x, w, y = rng.standard_normal((6, 3)), rng.standard_normal(3), rng.standard_normal(6)
    p = np.tanh(x @ w)
    r = p - y
    n = len(y)
    weights = (1 - p**2) ** 2 + r * (-2 * p * (1 - p**2))
    expected = 2 / n * x.T @ (weights[:, None] * x)
    np.testing.assert_allclose(ad.hessian(objective)(w, x, y), expected, rtol=1e-10)


def horner_loop(x):
    y = 0.0
    for c in (1.0, -2.0, 0.5, 3.0):
        y = y * x + c
    return y


def test_grad_of_grad_of_a_loop():
    x = 0.7  # y = x^3 - 2 x^2 + 0.5 x + 3, y'' = 6 x - 4
    assert ad.grad(ad.grad(horner_loop))(x) == pytest.approx(6 * x - 4, rel=1e-12)


# ------------------------------------------------------------- HVPs through calls


def scale_sum(u, c):
    return np.sum(c * u)


def square_helper(u):
    return u * u


def with_helpers_in_branches(x, c):
    if np.sum(x) > 0:
        z = square_helper(x) * np.sin(x)
    else:
        z = np.exp(square_helper(x))
    return scale_sum(z, c)


def with_helper_in_loop(x, c):
    total = 0.0
    for i in range(3):
        total = total + scale_sum(np.tanh(x * (i + 1)), c)
    return total


def apply_twice(f, u):
    return f(f(u))


def with_function_argument(x, c):
    return scale_sum(apply_twice(np.sin, x) + apply_twice(lambda v: v * c, x), c)


def with_dict_of_functions(x, c):
    table = {"inner": np.tanh, "outer": square_helper}
    return scale_sum(table["outer"](table["inner"](x)), c)


def with_tuple_argument(x, c):
    return np.sum(compose((np.sin, square_helper), x) * c)


def compose(fs, u):
    return fs[1](fs[0](u))


def with_a_helper_of_itself(x, c):
    # the inner call is in the outer call's arguments: not recursion, inlined both times
    inner = square_helper(np.sin(square_helper(x)))
    return scale_sum(inner + apply_twice(square_helper, 0.5 * x), c)


def sum_over(fs, u):
    total = 0.0
    for f in fs:
        total = total + f(u)
    return total


def weighted_over_table(table, u):
    total = 0.0
    for k in table:
        total = total + table[k](u) * len(k)
    return total


def with_a_loop_over_functions(x, c):
    # unrolled: one copy of the body per function, each call inlined
    return scale_sum(sum_over((np.sin, square_helper, lambda v: v * c), x), c)


def with_a_loop_over_a_dict_of_functions(x, c):
    table = {"a": np.tanh, "bb": square_helper}
    total = weighted_over_table(table, x)
    for name, f in table.items():
        total = total + f(c * x) * len(name)
    for i, f in enumerate((np.cos, np.exp)):
        total = total + (i + 1.0) * f(x)
    return scale_sum(total + sum(f(x) for f in table.values()), c)


PROGRAMS = [
    with_a_loop_over_functions,
    with_a_loop_over_a_dict_of_functions,
    with_helpers_in_branches,
    with_helper_in_loop,
    with_function_argument,
    with_dict_of_functions,
    with_tuple_argument,
    with_a_helper_of_itself,
]


def _hvp_by_differences(f, x, c, v, h=1e-5):
    grad = ad.grad(f)
    return (grad(x + h * v, c) - grad(x - h * v, c)) / (2 * h)


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_hvp_through_calls_matches_differences_of_the_gradient(f, sign):
    rng = np.random.default_rng(3)
    x, c, v = sign * np.abs(rng.standard_normal(4)), rng.standard_normal(4), rng.standard_normal(4)
    expected = _hvp_by_differences(f, x, c, v)
    np.testing.assert_allclose(ad.hvp(f)(x, c, v), expected, rtol=1e-6, atol=1e-8)
    gradient = ad.grad(f)(x, c)
    np.testing.assert_allclose(gradient, central_difference(f, (x, c), 0), rtol=1e-6, atol=1e-8)


def test_a_captured_value_gets_its_gradient_through_the_lambda():
    x, c = np.array([0.3, -0.5]), np.array([1.5, 0.25])
    d_c = ad.grad(with_function_argument, wrt=1)(x, c)
    np.testing.assert_allclose(d_c, central_difference(with_function_argument, (x, c), 1))


def zipped_with_weights(x, c):
    weights = [c[0], 2.0 * c[1]]  # data zipped with the functions: read by position
    total = 0.0
    for f, w in zip((np.sin, square_helper), weights):
        total = total + w * f(x)
    return np.sum(total * c)


def zipped_with_too_few(x):
    total = 0.0
    for f, w in zip((np.sin, np.cos), [x]):
        total = total + w * f(x)
    return total


def test_a_loop_over_functions_zipped_with_data():
    x, c = np.array([0.3, -0.5, 0.9]), np.array([1.5, 0.25, -0.7])
    for position in (0, 1):
        np.testing.assert_allclose(
            ad.grad(zipped_with_weights, wrt=position)(x, c),
            central_difference(zipped_with_weights, (x, c), position),
            rtol=1e-6,
            atol=1e-9,
        )
    v = np.array([0.2, 1.0, -0.4])
    np.testing.assert_allclose(
        ad.hvp(zipped_with_weights)(x, c, v), _hvp_by_differences(zipped_with_weights, x, c, v)
    )
    with pytest.raises(ad.TransformError, match="fewer items than the functions zipped"):
        ad.grad(zipped_with_too_few)(0.5)


def test_taylor_mode_through_a_loop_over_functions():
    # d3/ds3 of sum_k f_k(s x) with f = sin, square, (v -> v c): -x^3 cos(s x) (the square
    # and the linear function have none)
    x, c, s = np.array([0.3, -0.5]), np.array([1.5, 0.25]), 0.7
    third = ad.derivative(
        lambda t: np.sum(sum_over((np.sin, square_helper, lambda v: v * c), t * x)), order=3
    )(s)
    assert third == pytest.approx(np.sum(-(x**3) * np.cos(s * x)), rel=1e-12)


def stops_early(x):
    total = 0.0
    for f in (np.sin, np.cos):
        if total > 1.0:
            break
        total = total + f(x)
    return total


def rebinds_the_function(x):
    total = 0.0
    for f in (np.sin, np.cos):
        f = 2.0
        total = total + f * x
    return total


@pytest.mark.parametrize(
    "f, says",
    [
        (stops_early, "`break` in a loop over functions"),
        (rebinds_the_function, "`f` walks functions here and is rebound in the loop"),
    ],
)
def test_what_a_loop_over_functions_cannot_do_is_refused_at_its_line(f, says):
    with pytest.raises(ad.TransformError, match=says) as caught:
        ad.grad(f)(0.5)
    assert "test_closure.py" in str(caught.value)


# ------------------------------------------------------------- what is not inlined


def countdown(x, n):
    if n == 0:
        return x
    return countdown(x * x, n - 1) * 0.5


def uses_recursion(x):
    return np.sin(countdown(x, 2))


def test_first_order_through_recursion_still_works():
    x = 0.6  # sin(x^4 / 4)
    assert ad.grad(uses_recursion)(x) == pytest.approx(math.cos(x**4 / 4) * x**3, rel=1e-12)


def test_second_order_through_recursion():
    x = 0.6  # d/dx cos(x^4 / 4) x^3 (tests/programs/test_closure_calls.py has more)
    expected = -math.sin(x**4 / 4) * x**6 + 3 * math.cos(x**4 / 4) * x**2
    assert ad.hessian(uses_recursion)(x) == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------- derivatives made inside the function


def sine_times(y):
    return np.sin(y) * y


def gradient_bound_to_a_name(x):
    g = ad.grad(sine_times)
    return g(x) * x  # (sin x + x cos x) x


def gradient_of_a_capturing_lambda(x):
    g = ad.grad(lambda y: x * y * y)
    return g(x)  # 2 x^2


def gradient_of_a_capturing_def(x):
    def inner(y):
        return np.sin(x * y)

    return ad.grad(inner)(2.0) + x  # x cos(2x) + x


def captured_value_read_at_the_call(x):
    g = ad.grad(lambda y: x * y * y)
    x = x * 2.0  # the lambda reads the new x, as a closure does
    return g(x) + ad.value_and_grad(lambda y: np.sin(x * y))(0.5)[1]  # 8x^2 + 2x cos x


MADE_INSIDE = [
    (gradient_bound_to_a_name, lambda x: np.sin(x) + 3 * x * np.cos(x) - x * x * np.sin(x)),
    (gradient_of_a_capturing_lambda, lambda x: 4 * x),
    (gradient_of_a_capturing_def, lambda x: np.cos(2 * x) - 2 * x * np.sin(2 * x) + 1),
    (captured_value_read_at_the_call, lambda x: 16 * x + 2 * np.cos(x) - 2 * x * np.sin(x)),
]


@pytest.mark.parametrize("f, derivative", MADE_INSIDE, ids=lambda f: getattr(f, "__name__", ""))
def test_a_derivative_made_inside_the_function_of_a_local_function(f, derivative):
    x = 0.7
    assert ad.grad(f)(x) == pytest.approx(derivative(x), rel=1e-10)
    assert ad.jvp(f, (x,), (1.0,))[1] == pytest.approx(derivative(x), rel=1e-10)
    assert ad.grad(f)(x) == pytest.approx(central_difference(f, (x,), 0), rel=1e-7)


def test_second_order_through_a_derivative_made_inside():
    assert ad.hessian(gradient_of_a_capturing_lambda)(0.7) == pytest.approx(4.0, rel=1e-12)


# ------------------------------------------------------------- the cache

HELPERS = """
import numpy as np

scale = 2.0

def scaled(u):
    return u * scale

def use(x):
    return np.sum(scaled(x) * x)
"""

CALLER = """
import numpy as np
from {module} import scaled

scale = 100.0  # not the one scaled reads

def use_elsewhere(x):
    return np.sum(scaled(x) * x)

def apply(f, x):
    return f(x)

rhs = np.sin

def by_global_function(x):
    return np.sum(apply(rhs, x))
"""


def test_a_callee_from_another_module_reads_its_own_globals(tmp_path):
    helpers = import_source(HELPERS, tmp_path)
    caller = import_source(CALLER.format(module=helpers.__name__), tmp_path)
    x = np.array([0.5, -1.0])
    grad = ad.grad(caller.use_elsewhere)
    np.testing.assert_allclose(grad(x), 4.0 * x)  # d/dx sum(2 x^2)
    helpers.scale = 3.0  # a float still: the derivative reads it when it runs
    np.testing.assert_allclose(grad(x), 6.0 * x)
    helpers.scale = np.array([1.0, 2.0])  # an array now: a new derivative
    np.testing.assert_allclose(grad(x), 2 * np.array([1.0, 2.0]) * x)


def test_a_new_function_value_gives_a_new_derivative(tmp_path):
    helpers = import_source(HELPERS, tmp_path)
    caller = import_source(CALLER.format(module=helpers.__name__), tmp_path)
    grad = ad.hvp(caller.by_global_function)
    x, v = np.array([0.3, 1.1]), np.array([1.0, 1.0])
    np.testing.assert_allclose(grad(x, v), -np.sin(x) * v)
    caller.rhs = np.cos
    np.testing.assert_allclose(grad(x, v), -np.cos(x) * v)
    caller.rhs = lambda u: u**3
    np.testing.assert_allclose(grad(x, v), 6 * x * v)


def test_a_callee_given_new_code_gives_a_new_derivative(tmp_path):
    helpers = import_source(HELPERS, tmp_path)
    x = np.array([0.5, -1.0])
    grad = ad.grad(helpers.use)
    np.testing.assert_allclose(grad(x), 4.0 * x)  # sum(2 x^2)

    def cubed(u):
        return u * u * u

    helpers.scaled.__code__ = cubed.__code__  # scaled(u) = u^3 now, same function object
    np.testing.assert_allclose(grad(x), 4 * x**3)  # sum(x^4)
