"""The NumPy and math functions issue 18 added, the edge cases, and the gradients' types.

Programs as people write them (``np.r_[a, b, 0.0]``, ``np.c_[x, y]``, ``np.gradient``, the
interleaved ``np.einsum``, ``math.lgamma``, ...) in every mode of ``control_harness.MODES``
against central differences or closed forms; Hessian-vector products against central
differences of the gradient; the edge cases (``x ** 0`` at 0, ``0.0 ** y``, a zero variance,
``np.repeat(x, 0)``) against the values autograd and JAX give; and refusals by their message.
"""

import math

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.runtime import special

from control_harness import CASE_FIELDS, MODES, case, check_derivatives

RNG = np.random.default_rng(1818)
V3 = np.array([0.4, -1.1, 0.7])
M23 = RNG.normal(size=(2, 3))
EULER_GAMMA = 0.5772156649015329
APERY = 1.2020569031595942  # zeta(3)

# ============================================================ programs


def joined_with_r(x, y):
    v = np.r_[x, y, 0.0, 0:2]
    return np.sum(v**2 * np.arange(1.0, 8.0))


def stacked_rows_with_r(a):
    return np.sum(np.r_[a, 2 * a] ** 3)


def columns_with_c(x, y):
    design = np.c_[x, y]
    return np.sum((design @ np.array([1.0, 2.0])) ** 2)


def columns_with_fixed_y(x):
    return columns_with_c(x, np.array([1.0, 0.5, -2.0])) * np.sum(x**2)


def smoothness_penalty(u):
    du = np.gradient(u, 0.5)
    return np.sum(du**2) + np.sum(np.gradient(u, edge_order=2) * u)


def field_gradients(f):
    fy, fx = np.gradient(f, 2.0, 0.5)
    return np.sum(fy * fx) + np.sum(np.gradient(f, np.array([0.0, 0.4, 1.5]), axis=1) ** 2)


def cleaned(x):
    overflowed = np.where(x > 1.0, np.inf, x**2)
    return np.sum(np.nan_to_num(overflowed, posinf=5.0) * x)


def rolled(x):
    return np.sum(np.rollaxis(x, 2, 0) * np.arange(24.0).reshape(4, 2, 3))


B32 = np.arange(6.0).reshape(3, 2)


def matrix_product_interleaved(a, b=B32):
    return np.sum(np.einsum(a, [0, 1], b, [1, 2], [0, 2]) ** 2)


def trace_interleaved(a):
    return np.einsum(a, [0, 0]) * np.einsum(a, [0, 1], a, [1, 0])


def batched_dot_interleaved(a, b):
    return np.sum(np.einsum(a, [..., 0], b, [..., 0]) ** 2)


def log_likelihood(k, rate):
    return k * math.log(rate) - rate - math.lgamma(k + 1)


def special_math(x):
    return math.gamma(x) + math.degrees(math.atan(x)) + math.fmod(x, 0.7) + 2**x / 4


def point_math(x, y):
    return math.dist([x, y], [0.5, -1.0]) + math.prod([x, y, x]) + math.fsum([x, y, y])


def poly(x):
    total = 0.0
    for k in range(4):
        total = total + (k + 1.0) * x**k
    return total


def gamma_expected(x):
    return [
        math.gamma(x) * special.digamma(x)
        + 180 / math.pi / (1 + x * x)
        + 1
        + 2**x * math.log(2) / 4
    ]


def poly_expected(x):
    return [sum(k * (k + 1.0) * x ** (k - 1) for k in range(1, 4))]


CASES = [
    case(joined_with_r, V3, 2.5),
    case(stacked_rows_with_r, M23),
    case(columns_with_c, V3, np.array([1.0, 0.5, -2.0])),
    case(smoothness_penalty, RNG.normal(size=6)),
    case(field_gradients, RNG.normal(size=(4, 3))),
    case(cleaned, np.array([0.5, -0.3, 2.0])),
    case(rolled, RNG.normal(size=(2, 3, 4))),
    case(matrix_product_interleaved, M23, RNG.normal(size=(3, 2))),
    case(trace_interleaved, RNG.normal(size=(3, 3))),
    case(batched_dot_interleaved, M23, RNG.normal(size=(2, 3))),
    case(
        log_likelihood,
        3.0,
        2.5,
        expected=[math.log(2.5) - special.digamma(4.0), 3.0 / 2.5 - 1],
    ),
    case(special_math, 1.3, expected=gamma_expected),
    case(point_math, 1.5, 2.0),
    case(poly, 0.0, expected=poly_expected),
    case(poly, 0.7, expected=poly_expected),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, CASES)
def test_derivatives(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ==================================================== second derivatives


def central_hvp(f, x, v, h=1e-5):
    """Central differences of the gradient along ``v``."""
    grad = ad.grad(f)
    return (grad(x + h * v) - grad(x - h * v)) / (2 * h)


SECOND_ORDER = [
    (stacked_rows_with_r, M23),
    (columns_with_fixed_y, V3),
    (cleaned, np.array([0.5, -0.3, 2.0])),
    (matrix_product_interleaved, M23),
    (smoothness_penalty, RNG.normal(size=6)),
    (field_gradients, RNG.normal(size=(4, 3))),
    (rolled, RNG.normal(size=(2, 3, 4))),
    (trace_interleaved, RNG.normal(size=(3, 3))),
    (special_math, 1.3),
    (poly, 0.0),
]


@pytest.mark.parametrize("f, x", SECOND_ORDER, ids=[f.__name__ for f, _ in SECOND_ORDER])
def test_hessian_vector_products_match_differences_of_the_gradient(f, x):
    v = RNG.normal(size=np.shape(x)) if np.ndim(x) else 1.0
    np.testing.assert_allclose(ad.hvp(f)(x, v), central_hvp(f, x, v), rtol=1e-6, atol=1e-8)


def lgamma_only(x):
    return math.lgamma(x)


def test_derivatives_of_lgamma_are_the_polygamma_functions_in_closed_form():
    """psi(1) = -gamma, psi'(1) = pi^2 / 6, psi''(1) = -2 zeta(3)."""
    assert ad.grad(lgamma_only)(1.0) == pytest.approx(-EULER_GAMMA, rel=1e-14)
    assert ad.hessian(lgamma_only)(1.0) == pytest.approx(math.pi**2 / 6, rel=1e-14)
    third = ad.derivative(lgamma_only, order=3)(1.0)
    assert third == pytest.approx(-2 * APERY, rel=1e-12)


def test_polygamma_recurrence_and_reflection():
    """psi(x + 1) = psi(x) + 1 / x, and psi(1 - x) - psi(x) = pi cot(pi x), off the poles."""
    x = np.array([-2.7, -0.5, 0.3, 1.5, 7.25, 12.6])
    np.testing.assert_allclose(special.digamma(x + 1), special.digamma(x) + 1 / x, rtol=1e-13)
    reflected = special.digamma(1 - x) - special.digamma(x)
    np.testing.assert_allclose(reflected, np.pi / np.tan(np.pi * x), rtol=1e-11, atol=1e-12)
    assert np.isnan(special.digamma(-2.0))


# ============================================================ edge cases


def power_zero(x):
    return x**0


def power_k(x, k):
    return x**k


def base_zero(y):
    return 0.0**y


def array_power_zero(x):
    return np.sum(np.power(x, 0.0))


def std_of(x):
    return np.std(x)


def var_of(x):
    return np.var(x)


def repeated_none(x):
    return np.sum(np.repeat(x, 0)) + np.sum(x**2)


def repeated_some(x):
    return np.sum(np.repeat(x, [0, 2, 0]) ** 2)


@pytest.mark.parametrize("transform", [ad.grad, ad.hessian], ids=["grad", "hessian"])
def test_x_to_the_zero_has_derivative_zero_at_zero(transform):
    """d/dx x ** 0 = 0 everywhere, also at x = 0 (autograd and JAX: 0, not 0 * inf)."""
    assert transform(power_zero)(0.0) == 0.0
    assert transform(power_k)(0.0, 0) == 0.0
    np.testing.assert_array_equal(transform(array_power_zero)(np.zeros(2)), 0.0)
    assert ad.jvp(power_zero, (0.0,), (1.0,))[1] == 0.0


def test_powers_at_zero_keep_their_exact_derivatives():
    """x ** 1 has slope 1 at 0 and x ** 2 curvature 2: only 0 * inf is avoided."""
    assert ad.grad(power_k)(0.0, 1) == 1.0
    assert ad.hessian(power_k)(0.0, 2) == 2.0
    assert ad.grad(power_k, wrt=1)(2.0, 0) == pytest.approx(math.log(2.0))


def test_zero_to_the_y_has_derivative_zero_in_y():
    """0 ** y is 0 for every y > 0: derivative 0, as JAX and autograd give (log 0 is not taken);
    at y = 0, where 0 ** y jumps, also 0 (JAX's choice)."""
    for y in (2.0, 0.5, 0.0):
        assert ad.grad(base_zero)(y) == 0.0
        assert ad.jvp(base_zero, (y,), (1.0,))[1] == 0.0


def test_a_zero_variance_has_a_gradient_of_var_and_none_of_std():
    """var's gradient 2 (x - mean) / n is 0; std = sqrt(var) has no derivative there (a cone),
    and gives NaN, as autograd's std and JAX's (documented in docs/numpy.md)."""
    x = np.full(3, 2.0)
    np.testing.assert_array_equal(ad.grad(var_of)(x), np.zeros(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.all(np.isnan(ad.grad(std_of)(x)))


def test_repeat_zero_times_gives_no_cotangent():
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(ad.grad(repeated_none)(x), 2 * x)
    np.testing.assert_array_equal(ad.grad(repeated_some)(x), [0.0, 4 * x[1], 0.0])
    np.testing.assert_array_equal(ad.hessian(repeated_some)(x), np.diag([0.0, 4.0, 0.0]))
    np.testing.assert_array_equal(ad.jvp(repeated_some, (x,), (np.ones(3),))[1], 4 * x[1])


# ======================================================== gradient types


def hstacked(x):
    return np.sum(np.hstack(x) ** 2)


def vstacked(x):
    return np.sum(np.vstack(x) ** 2)


def column_stacked(x):
    return np.sum(np.column_stack(x) ** 2)


def concatenated(x):
    return np.sum(np.concatenate(x) ** 2)


def stacked(x):
    return np.sum(np.stack(x) ** 2)


@pytest.mark.parametrize("f", [hstacked, vstacked, column_stacked, concatenated, stacked])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_join_of_one_array_gives_an_array_gradient(f, dtype):
    """np.hstack(x) joins the rows of x: x's gradient is an array like x, not a list."""
    x = M23.astype(dtype)
    g = ad.grad(f)(x)
    assert isinstance(g, np.ndarray) and g.shape == x.shape and g.dtype == dtype
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)


def test_a_join_of_a_list_still_gives_a_list():
    def joins_two(x, y):
        return np.sum(np.hstack([x, y]) ** 2)

    gx, gy = ad.grad(joins_two, wrt=(0, 1))(V3, 1.5)
    np.testing.assert_allclose(gx, 2 * V3)
    assert gy == 3.0


# ============================================================== refusals


def directive(x):
    return np.r_["0,2", x, x]


def gradient_in_spacing(x, h):
    return np.sum(np.gradient(x, h))


REFUSALS = [
    (directive, (V3,), "the directive '0,2' in np.r_[...]", "np.concatenate"),
    (gradient_in_spacing, (V3, 0.5), "np.gradient with respect to its spacing", "constant"),
]


@pytest.mark.parametrize(
    "f, args, message, advice", REFUSALS, ids=[f.__name__ for f, *_ in REFUSALS]
)
def test_refusals_say_what_to_do(f, args, message, advice):
    with pytest.raises(ad.TransformError) as info:
        ad.grad(f, wrt=tuple(range(len(args))))(*args)
    text = str(info.value)
    assert message in text and advice in text
    assert f"def {f.__name__}" not in text.splitlines()[0]  # the line is the call's


def log_in_base(x, b):
    return math.log(x, b) * x


@pytest.mark.parametrize("mode", MODES)
def test_log_in_a_base_is_a_quotient_of_logs(mode):
    expected = [
        math.log(3.0, 2.0) + 1 / math.log(2.0),
        -3.0 * math.log(3.0) / (2.0 * math.log(2.0) ** 2),
    ]
    check_derivatives(mode, log_in_base, (3.0, 2.0), expected=expected)
