"""Functions that return functions (issue 17): closures, factories and combinators.

A call of a user function that returns a local function (or a tuple, list or
comprehension of them, or a partial) gives a function value at lowering; calling it
inlines its body, whose free variables are the callee's locals as they were when it
returned.  Derivatives flow through the captured variables.  Each case is checked in
reverse mode (grad), forward mode (jvp) and to second order (hessian, hvp), against
closed forms or central differences in float64; the value against the plain call.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from test_closure import decay, rk4, rk4_factor

import s2s_ad as ad

from conftest import central_difference

# ------------------------------------------------------------- the cases


def compose(*fs):
    def h(x):
        for f in fs:
            x = f(x)
        return x

    return h


def composed(p):
    return np.sum(compose(np.sin, np.exp, lambda v: v * p)(p))


def make_terms(p):
    return [lambda t, k=k: p[k] * t**k for k in range(3)]


def poly_sum(p):
    total = 0.0
    for term in make_terms(p):
        total = total + term(0.5)
    return total


def make_rhs(alpha):
    return lambda t, y: -alpha * y


def solve(alpha, y0):
    rhs = make_rhs(alpha)
    return rk4(rhs, y0, 0.1, 10)


# ------------------------------------------------------------- variations


def make_sine_terms(p):
    return [lambda t, k=k: np.sin(p[k]) * t**k for k in range(3)]


def sine_poly(p):
    total = 0.0
    for term in make_sine_terms(p):
        total = total + term(0.5)
    return total


def make_late_terms(p):
    # no default: every lambda reads the last k, as Python's closures do
    return [lambda t: p[k] * t**k for k in range(3)]  # noqa: B023


def late_poly(p):
    total = 0.0
    for term in make_late_terms(p):
        total = total + term(0.5)
    return total


def make_scale(a):
    def scaled(x):
        return a * np.sin(x)

    return scaled


def scaled_twice(a, b, x):
    f = make_scale(a)
    g = make_scale(b)
    return f(x) * g(x)


def adder(a):
    def inner(b):
        return lambda x: a * x + b * x**2

    return inner


def nested_factories(a, b, x):
    return adder(a)(b)(x)


def twice(f):
    return compose(f, f)


def sine_twice(a, x):
    return twice(lambda v: a * np.sin(v))(x)


def make_decay(alpha):
    return functools.partial(decay, alpha=alpha)


def solve_with_a_returned_partial(alpha, y0):
    return rk4(make_decay(alpha), y0, 0.1, 10)


def make_rebound(a):
    s = a
    f = lambda x: s * x  # noqa: E731 - reads `s` when called: its final value
    s = s * s
    return f


def rebound_after_the_def(a, x):
    return np.sin(make_rebound(a)(x))


def make_sum_scale(p):
    s = 0.0
    for v in p:
        s = s + v**2
    return lambda x: s * x


def scaled_by_a_loop(p, x):
    return make_sum_scale(p)(x) ** 2


def make_pair(a):
    return (lambda x: a * x, lambda x: a * x**3)


def unpacked_pair(a, x):
    first, second = make_pair(a)
    return first(x) * second(x)


def local_factory(a, x):
    def make(c):
        return lambda v: c * v**2

    return make(a)(x) + make(2 * a)(x)


def factory_in_a_loop(p, x):
    total = 0.0
    for i in range(3):
        total = total + make_scale(p[i])(x * i)
    return total


def walked_pair(a, x):
    total = 0.0
    for f in make_pair(a):  # a tuple of functions a call returned, walked
        total = total + f(x)
    return total


def make_table(a):
    return {"linear": lambda x: a * x, "cubic": lambda x: a * x**3}


def read_from_a_returned_table(a, x):
    table = make_table(a)
    return table["linear"](x) * table["cubic"](x)


def solves_in_a_loop(p, y0):
    total = 0.0
    for i in range(3):  # `solve` binds its `rhs` once per trip
        total = total + solve(p[i], y0)
    return total


def as_list(p):
    return [p[0], p[1] * 2.0]


def walks_a_returned_list_of_data(p):
    total = 0.0
    for v in as_list(p):  # lowered once to see it is data, then walked
        total = total + v * v
    return total


def apply_factory(make, a, x):
    return make(a)(0.0, x)  # a factory passed in, called, and its function called


def through_a_passed_factory(a, x):
    squares = apply_factory(lambda c: lambda t, y: c * y * y, a, x)
    return apply_factory(make_rhs, a, x) + squares


def through_a_passed_local_factory(a, x):
    def make(c):
        return lambda t, y: c * np.sin(y)

    return apply_factory(make, a, x)


def cube(u):
    return u * u * u


def pick_cube(x):
    return cube  # a module-level function, returned


def calls_what_a_call_returned(x):
    return pick_cube(x)(x) * x


CASES = [
    (composed, (np.array([0.3, 0.5, 0.7]),)),
    (poly_sum, (np.array([0.3, -0.5, 0.7]),)),
    (sine_poly, (np.array([0.3, -0.5, 0.7]),)),
    (late_poly, (np.array([0.3, -0.5, 0.7]),)),
    (solve, (0.7, 1.3)),
    (scaled_twice, (0.6, -1.1, 0.8)),
    (nested_factories, (0.6, -1.1, 0.8)),
    (sine_twice, (1.3, 0.4)),
    (solve_with_a_returned_partial, (0.7, 1.3)),
    (rebound_after_the_def, (0.6, 0.9)),
    (scaled_by_a_loop, (np.array([0.2, -0.4]), 0.7)),
    (unpacked_pair, (0.6, 0.8)),
    (local_factory, (0.6, 0.8)),
    (factory_in_a_loop, (np.array([0.2, -0.4, 0.9]), 0.7)),
    (walked_pair, (0.6, 0.8)),
    (calls_what_a_call_returned, (0.7,)),
    (through_a_passed_factory, (0.6, 0.8)),
    (through_a_passed_local_factory, (0.6, 0.8)),
    (read_from_a_returned_table, (0.6, 0.8)),
    (solves_in_a_loop, (np.array([0.3, 0.5, 0.7]), 1.3)),
    (walks_a_returned_list_of_data, (np.array([0.3, 0.5]),)),
]
IDS = [f.__name__ for f, _ in CASES]


def _gradient_by_differences(f, args):
    return [central_difference(f, args, k) for k in range(len(args))]


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_reverse_mode_against_central_differences(f, args):
    wrt = tuple(range(len(args)))
    value, grads = ad.value_and_grad(f, wrt=wrt)(*args)
    assert value == pytest.approx(f(*args), rel=1e-13)
    for got, expected in zip(grads, _gradient_by_differences(f, args)):
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_forward_mode_against_central_differences(f, args):
    rng = np.random.default_rng(17)
    tangents = tuple(rng.standard_normal(np.shape(a)) for a in args)
    tangents = tuple(float(t) if np.ndim(t) == 0 else t for t in tangents)
    value, tangent = ad.jvp(f, args, tangents)
    expected = sum(np.sum(g * t) for g, t in zip(_gradient_by_differences(f, args), tangents))
    assert value == pytest.approx(f(*args), rel=1e-13)
    assert tangent == pytest.approx(expected, rel=1e-7, abs=1e-8)


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_hvp_against_differences_of_the_gradient(f, args):
    """H v, by forward over reverse, against central differences of the gradient along v."""
    rng = np.random.default_rng(3)
    vector = tuple(rng.standard_normal(np.shape(a)) for a in args)
    vector = tuple(float(v) if np.ndim(v) == 0 else v for v in vector)
    wrt = tuple(range(len(args))) if len(args) > 1 else 0
    got = ad.hvp(f, wrt=wrt)(*args, vector if len(args) > 1 else vector[0])
    gradient = ad.grad(f, wrt=wrt)

    def along(step):
        moved = [np.asarray(a) + step * np.asarray(v) for a, v in zip(args, vector)]
        moved = [float(m) if np.ndim(m) == 0 else m for m in moved]
        return gradient(*moved)

    h = 1e-5
    plus, minus = along(h), along(-h)
    if len(args) == 1:
        got, plus, minus = (got,), (plus,), (minus,)
    for g, p, m in zip(got, plus, minus):
        expected = (np.asarray(p) - np.asarray(m)) / (2 * h)
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------- closed forms


def test_the_composition_against_its_closed_form():
    p = np.array([0.3, 0.5, 0.7])
    u = np.exp(np.sin(p))
    du, ddu = np.cos(p) * u, (np.cos(p) ** 2 - np.sin(p)) * u
    np.testing.assert_allclose(ad.grad(composed)(p), du * p + u, rtol=1e-13)
    np.testing.assert_allclose(ad.hessian(composed)(p), np.diag(ddu * p + 2 * du), rtol=1e-12)


def test_a_comprehension_of_lambdas_against_its_closed_form():
    p = np.array([0.3, -0.5, 0.7])
    powers = 0.5 ** np.arange(3)
    np.testing.assert_allclose(ad.grad(poly_sum)(p), powers, rtol=1e-14)
    np.testing.assert_allclose(ad.grad(sine_poly)(p), np.cos(p) * powers, rtol=1e-14)
    np.testing.assert_allclose(ad.hessian(sine_poly)(p), np.diag(-np.sin(p) * powers), rtol=1e-13)
    # without the default, every lambda reads the comprehension's last k, as Python does
    np.testing.assert_allclose(ad.grad(late_poly)(p), [0.0, 0.0, 3 * 0.25], rtol=1e-14)


@pytest.mark.parametrize("f", [solve, solve_with_a_returned_partial])
def test_the_integrator_with_a_returned_right_hand_side(f):
    alpha, y0, n, h = 0.7, 1.3, 10, 0.1
    r, dr = rk4_factor(alpha)
    z = -alpha * h
    ddr = 1 + z + z**2 / 2
    d_alpha, d_y0 = ad.grad(f, wrt=(0, 1))(alpha, y0)
    assert d_y0 == pytest.approx(r**n, rel=1e-12)
    assert d_alpha == pytest.approx(y0 * n * r ** (n - 1) * dr * -h, rel=1e-12)
    hessian = np.asarray(ad.hessian(f, wrt=(0, 1))(alpha, y0), dtype=float)
    second = y0 * h**2 * n * ((n - 1) * r ** (n - 2) * dr**2 + r ** (n - 1) * ddr)
    assert hessian[0][0] == pytest.approx(second, rel=1e-10)
    assert hessian[0][1] == pytest.approx(n * r ** (n - 1) * dr * -h, rel=1e-10)
    assert hessian[1][1] == pytest.approx(0.0, abs=1e-12)


def test_a_factory_called_twice_keeps_each_captured_value():
    a, b, x = 0.6, -1.1, 0.8
    s, c = np.sin(x), np.cos(x)
    grads = ad.grad(scaled_twice, wrt=(0, 1, 2))(a, b, x)
    np.testing.assert_allclose(grads, (b * s**2, a * s**2, 2 * a * b * s * c), rtol=1e-13)


def test_a_closure_reads_the_value_bound_after_its_def():
    a, x = 0.6, 0.9  # f(x) = a^2 x when called
    d_a, d_x = ad.grad(rebound_after_the_def, wrt=(0, 1))(a, x)
    assert d_a == pytest.approx(np.cos(a * a * x) * 2 * a * x, rel=1e-13)
    assert d_x == pytest.approx(np.cos(a * a * x) * a * a, rel=1e-13)


def quadratic_from_nested_factories(x):
    return adder(0.6)(-1.1)(x)  # 0.6 x - 1.1 x^2


def test_derivative_of_order_two_through_nested_factories():
    assert ad.derivative(quadratic_from_nested_factories, order=2)(0.8) == pytest.approx(-2.2)
    assert ad.derivative(quadratic_from_nested_factories)(0.8) == pytest.approx(0.6 - 2.2 * 0.8)


# ------------------------------------------------------------- refusals


def pick(a, c):
    if c > 0:
        return lambda x: a * x
    return lambda x: x


def picked_by_data(a, c):
    return pick(a, c)(2.0)


def rebound_in_a_loop(a):
    total = 0.0
    for i in range(3):
        g = make_rhs(a * i)
        total = total + g(0.0, 1.0)
    return total


def make_recursively(n, a):
    if n == 0:
        return lambda x: a * x
    return make_recursively(n - 1, 2 * a)


def made_recursively(a):
    return make_recursively(2, a)(1.0)


def returns_from_a_loop(a):
    for i in range(3):
        return lambda x: a * x * i


def returned_from_a_loop(a):
    return returns_from_a_loop(a)(1.0)


def returns_the_function(a):
    return make_rhs(a)


def uses_the_function_as_data(a):
    return make_rhs(a) + 1.0


REFUSALS = [
    (picked_by_data, (0.7, 1.0), "one of several `return`s", "pick(a, c)(2.0)"),
    (rebound_in_a_loop, (0.7,), "a name assigned once", "g = make_rhs(a * i)"),
    (made_recursively, (0.7,), "`make_recursively` calls itself", "make_recursively(2, a)"),
    (returned_from_a_loop, (0.7,), "returned from inside a loop", "return lambda x: a * x * i"),
    (returns_the_function, (0.7,), "differentiated function returns a function", "make_rhs(a)"),
    (uses_the_function_as_data, (0.7,), "as data", "make_rhs(a) + 1.0"),
]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("f, args, says, line", REFUSALS, ids=[f.__name__ for f, *_ in REFUSALS])
def test_a_function_not_known_at_lowering_is_refused_at_the_users_line(f, args, says, line, mode):
    with pytest.raises(ad.TransformError, match=says) as caught:
        if mode == "reverse":
            ad.grad(f)(*args)
        else:
            ad.jvp(f, args, tuple(1.0 for _ in args))
    assert caught.value.filename == __file__
    assert line in caught.value.source_line
    assert caught.value.hint
