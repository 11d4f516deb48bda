"""ad.derivative(f, order=n): truncated Taylor series, checked against closed forms."""

import math
from fractions import Fraction

import numpy as np
import pytest
from numpy.polynomial import hermite

import s2s_ad as ad
from s2s_ad.rules import series
from s2s_ad.rules.series import Series

ORDERS = list(range(1, 9))
RTOL = 1e-9


def falling(p, n):
    """p (p - 1) ... (p - n + 1): the n-th derivative of x**p is falling(p, n) x**(p - n)."""
    result = 1.0
    for k in range(n):
        result *= p - k
    return result


def tanh_derivative(n, x):
    """d^n tanh / dx^n = P_n(tanh x), P_0(t) = t, P_(k+1) = P_k'(t) (1 - t^2), exactly in ints."""
    poly = [0, 1]  # coefficients of t^0, t^1, ...
    for _ in range(n):
        slope = [k * c for k, c in enumerate(poly)][1:] or [0]
        poly = [0] * (len(slope) + 2)
        for k, c in enumerate(slope):
            poly[k] += c
            poly[k + 2] -= c
    t = math.tanh(x)
    return sum(c * t**k for k, c in enumerate(poly))


def polynomial_derivative(coefficients, n, x):
    """The n-th derivative of sum_k c_k x^k (coefficients lowest first)."""
    return sum(c * falling(k, n) * x ** (k - n) for k, c in enumerate(coefficients) if k >= n)


def leibniz(n, u, v):
    """(u v)^(n) from the derivatives u(k), v(k) of the two factors."""
    return sum(math.comb(n, k) * u(k) * v(n - k) for k in range(n + 1))


# ------------------------------------------------------ functions under test


def sin(x):
    return math.sin(x)


def cos(x):
    return np.cos(x)


def exp(x):
    return math.exp(x)


def log(x):
    return np.log(x)


def sqrt(x):
    return math.sqrt(x)


def tanh(x):
    return math.tanh(x)


def reciprocal(x):
    return 1 / x


def power_2_5(x):
    return x**2.5


def power_minus_1_5(x):
    return x**-1.5


def power_7(x):
    return x**7


def cube_root(x):  # a generic rule whose partial reads `out`: 1 / (3 * out ** 2)
    return np.cbrt(x)


def arctan(x):  # a generic rule from the partial 1 / (1 + x ** 2)
    return math.atan(x)


def erf(x):
    return math.erf(x)


POLY = [1.5, -2.0, 0.5, 3.0, -1.0, 0.25]


def polynomial(x):
    return 1.5 - 2.0 * x + 0.5 * x**2 + 3.0 * x**3 - x**4 + 0.25 * x**5


POLY_HIGHEST_FIRST = POLY[::-1]


def horner(x):
    s = 0.0
    for c in POLY_HIGHEST_FIRST:
        s = s * x + c
    return s


def repeated_product(x, k):
    p = 1.0
    for _ in range(k):
        p = p * x
    return p


def product(x):
    return x**2 * math.sin(x)


def quotient(x):
    return math.exp(x) / (1 + x)


def branch(x):
    if x > 0:
        y = x**3
    else:
        y = math.exp(2 * x)
    return y


def elementwise(x):
    return np.exp(x) * np.sin(x)


def harmonics(x):
    return np.sin(x * np.arange(1.0, 4.0))


def curve(x):
    return np.array([np.sin(x), x**3, np.exp(-x)])


def pair(x):
    return np.cos(x), 2 * x


def constant(x):
    return 3.0


CLOSED_FORMS = {
    sin: (0.7, lambda n, x: math.sin(x + n * math.pi / 2)),
    cos: (-1.2, lambda n, x: math.cos(x + n * math.pi / 2)),
    exp: (0.3, lambda n, x: math.exp(x)),
    log: (0.7, lambda n, x: (-1) ** (n - 1) * math.factorial(n - 1) / x**n),
    sqrt: (1.3, lambda n, x: falling(0.5, n) * x ** (0.5 - n)),
    tanh: (0.4, tanh_derivative),
    reciprocal: (-0.8, lambda n, x: (-1) ** n * math.factorial(n) / x ** (n + 1)),
    power_2_5: (1.3, lambda n, x: falling(2.5, n) * x ** (2.5 - n)),
    power_minus_1_5: (0.9, lambda n, x: falling(-1.5, n) * x ** (-1.5 - n)),
    power_7: (-1.1, lambda n, x: falling(7, n) * x ** (7 - n)),
    cube_root: (2.0, lambda n, x: falling(1 / 3, n) * x ** (1 / 3 - n)),
    arctan: (
        0.7,
        lambda n, x: (
            (-1) ** (n - 1)
            * math.factorial(n - 1)
            * math.sin(n * (math.pi / 2 - math.atan(x)))
            / (1 + x * x) ** (n / 2)
        ),
    ),
    erf: (
        0.6,
        lambda n, x: (
            (-1) ** (n - 1)
            * 2
            / math.sqrt(math.pi)
            * hermite.hermval(x, [0] * (n - 1) + [1])
            * math.exp(-x * x)
        ),
    ),
    polynomial: (0.8, lambda n, x: polynomial_derivative(POLY, n, x)),
    horner: (-1.3, lambda n, x: polynomial_derivative(POLY, n, x)),
    product: (
        1.1,
        lambda n, x: leibniz(
            n, lambda k: falling(2, k) * x ** (2 - k), lambda k: math.sin(x + k * math.pi / 2)
        ),
    ),
    quotient: (
        0.4,
        lambda n, x: leibniz(
            n,
            lambda k: math.exp(x),
            lambda k: (-1) ** k * math.factorial(k) / (1 + x) ** (k + 1),
        ),
    ),
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("f", list(CLOSED_FORMS), ids=lambda f: f.__name__)
def test_derivatives_match_closed_forms(f, order):
    x, closed_form = CLOSED_FORMS[f]
    result = ad.derivative(f, order=order)(x)
    assert result == pytest.approx(closed_form(order, x), rel=RTOL, abs=1e-12)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("x", [0.0, -0.6, 2.0])
def test_integer_powers_are_exact_at_zero_and_below(x, order):
    expected = falling(7, order) * x ** (7 - order) if order <= 7 else 0.0
    assert ad.derivative(power_7, order=order)(x) == pytest.approx(expected, rel=RTOL, abs=1e-12)


@pytest.mark.parametrize("order", ORDERS)
def test_a_loop_of_products(order):
    result = ad.derivative(repeated_product, order=order)(1.7, 6)
    assert result == pytest.approx(falling(6, order) * 1.7 ** (6 - order), rel=RTOL, abs=1e-12)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("x", [0.9, -0.9])
def test_each_side_of_a_branch(x, order):
    expected = falling(3, order) * x ** (3 - order) if x > 0 else 2**order * math.exp(2 * x)
    assert ad.derivative(branch, order=order)(x) == pytest.approx(expected, rel=RTOL, abs=1e-12)


@pytest.mark.parametrize("order", ORDERS)
def test_elementwise_over_an_array(order):
    x = np.linspace(-1.5, 2.0, 6).reshape(2, 3)
    # (e^x sin x)^(n) = 2^(n/2) e^x sin(x + n pi / 4)
    expected = 2 ** (order / 2) * np.exp(x) * np.sin(x + order * np.pi / 4)
    result = ad.derivative(elementwise, order=order)(x)
    assert result.shape == (2, 3) and result.dtype == np.float64
    np.testing.assert_allclose(result, expected, rtol=RTOL)


@pytest.mark.parametrize("order", ORDERS)
def test_a_scalar_to_vector_function(order):
    k = np.arange(1.0, 4.0)
    expected = k**order * np.sin(0.3 * k + order * np.pi / 2)
    np.testing.assert_allclose(ad.derivative(harmonics, order=order)(0.3), expected, rtol=RTOL)


@pytest.mark.parametrize("order", ORDERS)
def test_an_array_built_from_scalars(order):
    x = 0.6
    expected = [
        math.sin(x + order * math.pi / 2),
        falling(3, order) * x ** (3 - order),
        (-1) ** order * math.exp(-x),
    ]
    np.testing.assert_allclose(
        ad.derivative(curve, order=order)(x), expected, rtol=RTOL, atol=1e-12
    )


def powers_by_item(x):
    ys = np.zeros(3)
    for i in range(3):
        ys[i] = x ** (i + 1)
    return ys


def list_by_item(x):
    ys = [0.0, 0.0]
    ys[0] = math.sin(x)
    ys[1] = x * ys[0]
    return ys[1]


def while_power(x):
    y = x
    k = 0
    while k < 3:
        y = y * x
        k += 1
    return y


def piecewise_linear_parts(x):
    return np.where(x > 0, x**3, 2 * x) + np.abs(x) + np.maximum(x, 0.25)


@pytest.mark.parametrize("order", [2, 3, 5])
def test_items_written_in_a_loop(order):
    expected = [falling(p, order) * 0.8 ** (p - order) if p >= order else 0.0 for p in (1, 2, 3)]
    result = ad.derivative(powers_by_item, order=order)(0.8)
    np.testing.assert_allclose(result, expected, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("order", [2, 3, 5])
def test_items_of_a_list(order):
    # (x sin x)^(n) = x sin(x + n pi/2) + n sin(x + (n - 1) pi/2)
    x = 0.8
    expected = x * math.sin(x + order * math.pi / 2) + order * math.sin(
        x + (order - 1) * math.pi / 2
    )
    assert ad.derivative(list_by_item, order=order)(x) == pytest.approx(expected, rel=RTOL)


@pytest.mark.parametrize("order", ORDERS)
def test_a_while_loop(order):
    expected = falling(4, order) * 1.3 ** (4 - order)
    assert ad.derivative(while_power, order=order)(1.3) == pytest.approx(
        expected, rel=RTOL, abs=1e-12
    )


@pytest.mark.parametrize("order", [2, 3])
def test_piecewise_linear_calls_map_each_coefficient(order):
    x = np.array([-0.7, 0.1, 0.9])
    expected = np.where(x > 0, falling(3, order) * x ** (3 - order), 0.0)
    np.testing.assert_allclose(ad.derivative(piecewise_linear_parts, order=order)(x), expected)
    text = ad.source(piecewise_linear_parts, mode="derivative", order=order)
    assert "taylor_pow(" in text and "taylor_abs" not in text and "taylor_maximum" not in text


@pytest.mark.parametrize("f", [product, horner, branch, powers_by_item], ids=lambda f: f.__name__)
def test_unoptimized_code_computes_the_same(f):
    from s2s_ad.compiler import pipeline

    spec = pipeline.Spec(pipeline.DERIVATIVE, ("x",), ("scalar",), optimize=False, order=5)
    unoptimized = pipeline.build(f, spec).bind(f)
    np.testing.assert_allclose(unoptimized(0.6), ad.derivative(f, order=5)(0.6), rtol=1e-13)


def test_tuple_outputs_are_differentiated_item_by_item():
    first, second = ad.derivative(pair, order=3)(0.4)
    assert first == pytest.approx(math.sin(0.4), rel=RTOL)
    assert second == 0.0


def test_an_output_that_does_not_depend_on_the_input_is_zero():
    assert ad.derivative(constant, order=4)(1.0) == 0.0


def test_python_floats_give_python_floats():
    assert type(ad.derivative(sin, order=5)(0.3)) is float
    assert type(ad.derivative(horner, order=3)(0.3)) is float


@pytest.mark.parametrize("order", [2, 5, 8])
def test_float32_in_float32_out(order):
    x = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)
    result = ad.derivative(elementwise, order=order)(x)
    assert result.dtype == np.float32 and result.shape == (2, 3)
    x64 = x.astype(np.float64)
    expected = 2 ** (order / 2) * np.exp(x64) * np.sin(x64 + order * np.pi / 4)
    # float32 rounding, amplified by the recurrences: about 1e-6 of the largest term
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def no_taylor_rule(x):
    y = x * 2.0
    return np.sinc(y)


def plain_sine(x):
    return math.sin(x)


def calls_another_function(x):
    return plain_sine(x) * x


def countdown(x, n):
    return x if n == 0 else countdown(x * 1.5, n - 1)


def calls_a_recursive_function(x):
    return countdown(x, 2) * x


def test_a_call_without_a_taylor_rule_is_refused():
    with pytest.raises(ad.TransformError, match=r"derivative\(order > 1\).*sinc") as info:
        ad.derivative(no_taylor_rule, order=3)(0.5)
    assert info.value.lineno == no_taylor_rule.__code__.co_firstlineno + 2
    assert "order=1" in str(info.value) and "ad.derivative" in str(info.value)
    ad.derivative(no_taylor_rule)(0.5)  # order 1 has a rule


def test_taylor_mode_looks_through_calls_of_other_python_functions():
    """The call is inlined: (x sin x)'' = 2 cos x - x sin x."""
    x = 0.5
    value = ad.derivative(calls_another_function, order=2)(x)
    assert value == pytest.approx(2 * np.cos(x) - x * np.sin(x), rel=1e-12)


def test_taylor_mode_looks_through_a_recursive_call():
    """countdown is called, not inlined: its own Taylor-mode code (mode ``series``) takes
    the coefficients of x.  countdown(x, 2) * x = 2.25 x**2."""
    x = 0.5
    assert ad.derivative(calls_a_recursive_function, order=2)(x) == pytest.approx(4.5, rel=1e-12)
    assert ad.derivative(calls_a_recursive_function, order=3)(x) == 0.0


# --------------------------------------------------------- emitted code


def test_source_shows_the_order_n_code():
    text = ad.source(product, mode="derivative", order=4)
    assert "def product_derivative4(x):" in text
    assert "4th derivative" in text
    assert "taylor_mul(" in text and "taylor_sin(" in text
    assert text.rstrip().endswith("* 24")
    assert "taylor_" not in ad.source(product, mode="derivative")  # order 1: forward mode


def test_code_does_not_grow_with_the_order_when_every_call_is_nonlinear():
    sizes = [len(ad.source(product, mode="derivative", order=n)) for n in (2, 4, 8)]
    assert max(sizes) - min(sizes) < 10  # only the literals `2`, `24`, `40320` change


def test_source_refuses_an_order_for_other_modes():
    with pytest.raises(TypeError, match="order"):
        ad.source(product, mode="reverse", order=2)


# ---------------------------------------------------- series, rule by rule


def test_series_arithmetic_on_known_series():
    t = Series([0.0, 1.0, 0.0, 0.0, 0.0, 0.0])  # t itself, to order 5
    one_plus_t = 1 + t
    geometric = 1 / (1 - t)
    np.testing.assert_allclose(geometric.c, [1.0] * 6)
    np.testing.assert_allclose((geometric * geometric).c, [k + 1 for k in range(6)])
    np.testing.assert_allclose((one_plus_t**0.5).c, [float(binom(0.5, k)) for k in range(6)])
    np.testing.assert_allclose((one_plus_t**3).c, [1.0, 3.0, 3.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose((2.0**t).c, [math.log(2) ** k / math.factorial(k) for k in range(6)])


def binom(p, k):
    return Fraction(falling(p, k)) / math.factorial(k)


@pytest.mark.parametrize(
    "fn, expected",
    [
        (np.exp, [1 / math.factorial(k) for k in range(8)]),
        (math.log1p, [0.0] + [(-1) ** (k + 1) / k for k in range(1, 8)]),
        (np.sin, [0.0, 1.0, 0.0, -1 / 6, 0.0, 1 / 120, 0.0, -1 / 5040]),
        (math.cos, [1.0, 0.0, -1 / 2, 0.0, 1 / 24, 0.0, -1 / 720, 0.0]),
        (np.sinh, [0.0, 1.0, 0.0, 1 / 6, 0.0, 1 / 120, 0.0, 1 / 5040]),
        (math.cosh, [1.0, 0.0, 1 / 2, 0.0, 1 / 24, 0.0, 1 / 720, 0.0]),
        (np.tan, [0.0, 1.0, 0.0, 1 / 3, 0.0, 2 / 15, 0.0, 17 / 315]),
        (math.tanh, [0.0, 1.0, 0.0, -1 / 3, 0.0, 2 / 15, 0.0, -17 / 315]),
        (np.arctan, [0.0, 1.0, 0.0, -1 / 3, 0.0, 1 / 5, 0.0, -1 / 7]),  # generic rule
        (np.arcsinh, [0.0, 1.0, 0.0, -1 / 6, 0.0, 3 / 40, 0.0, -5 / 112]),  # generic rule
        (np.expm1, [0.0] + [1 / math.factorial(k) for k in range(1, 8)]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_rules_on_the_series_of_t_at_zero(fn, expected):
    t = Series([0.0, 1.0] + [0.0] * 6)
    np.testing.assert_allclose(series.apply(fn, t).c, expected, rtol=1e-12, atol=1e-15)


def test_sqrt_and_log_recurrences_at_one():
    x = Series([1.0, 1.0] + [0.0] * 5)  # 1 + t
    np.testing.assert_allclose(series.apply(np.sqrt, x).c, [float(binom(0.5, k)) for k in range(7)])
    np.testing.assert_allclose(
        series.apply(np.log, x).c, [0.0] + [(-1) ** (k + 1) / k for k in range(1, 7)]
    )


def test_a_rule_takes_a_constant_argument_as_none():
    # (1 + t) * 3 and 3 / (1 - t)
    assert series.taylor_mul(3.0, 1.0, (1.0, 0.0), 3.0, None) == (3.0, 0.0)
    assert series.taylor_div(3.0, 3.0, None, 1.0, (-1.0, 0.0, 0.0)) == (3.0, 3.0, 3.0)


def test_bilinear_products_use_the_cauchy_product():
    a = (np.eye(2), np.array([[0.0, 1.0], [0.0, 0.0]]))
    b = (np.array([[2.0, 0.0], [1.0, 1.0]]),)
    x, y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, 0.0], [0.0, 0.5]])
    first, second = series.taylor_matmul(x @ y, x, a, y, b + (np.zeros((2, 2)),))
    np.testing.assert_allclose(first, a[0] @ y + x @ b[0])
    np.testing.assert_allclose(second, a[1] @ y + a[0] @ b[0])


def test_rules_keep_float32():
    x = np.float32([0.5, 1.5])
    dx = series.taylor_seed(x, 4)
    for fn in (np.exp, np.sin, np.tanh, np.sqrt, np.arctan, np.log):
        coefficients_of = series.apply(fn, Series((x, *dx))).c
        assert all(c.dtype == np.float32 for c in coefficients_of), fn.__name__
