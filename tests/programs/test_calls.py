"""Calls (issue 3): user functions in this module and in an imported user
module, recursion, keyword arguments and defaults, wrt by name, nested def and
lambda used locally, closures and global constants read as constants, and the
builtins abs / min / max / sum / pow / float with math.hypot / atan2 / pow.

Every case runs in the modes of `control_harness.MODES` against central
differences and, where there is one, an analytic formula.
"""

import math

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference
from control_harness import CASE_FIELDS, MODES, case, check_derivatives

X3 = np.array([0.4, -1.1, 0.7])
W3 = np.array([1.5, 0.3, -0.8])
X23 = np.array([[0.4, -1.1, 0.7], [0.2, 0.9, -0.6]])

SCALE = 2.5
COEFFS = (1.0, -2.0, 0.5)
WEIGHTS = np.array([0.5, -1.0, 2.0])

# ============================================== calls into this module


def square(x):
    return x * x


def affine(x, a=2.0, b=1.0):
    return a * x + b


def power(A, k):
    result = np.ones_like(A)
    for _i in range(k):
        result = result * A
    return result


def polar(x, y):
    return math.hypot(x, y), math.atan2(y, x)


def ramp(x):
    if x > 0.0:
        return x * x
    return -x


def calls_square(x, y):
    return square(x) * y + square(y)


def calls_with_defaults(x):
    return affine(x) + affine(x, 3.0) * affine(x, b=-1.0)


def calls_with_keywords(x, y):
    return affine(b=y, x=x) * affine(x, a=y)


def call_chain(x):
    return calls_square(x, square(x))


def power_sum(A, k):
    return np.sum(power(A, k))


def called_in_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + square(x + i)
    return s


def unpacks_a_returned_tuple(x, y):
    r, t = polar(x, y)
    return r * math.cos(t) + r * r * t


def calls_a_branching_function(x, y):
    return ramp(x) * ramp(y)


def same_callee_on_float_and_array(x, v):
    return square(x) + np.sum(square(v))


MODULE_CALLS = [
    case(calls_square, 1.3, -0.6, expected=lambda x, y: (2 * x * y, x * x + 2 * y)),
    case(calls_with_defaults, 0.7, expected=lambda x: (12 * x + 1,)),
    case(
        calls_with_keywords,
        0.7,
        -1.2,
        expected=lambda x, y: (2 * (x * y + 1) + (2 * x + y) * y, (x * y + 1) + (2 * x + y) * x),
    ),
    case(call_chain, 0.7, expected=lambda x: (8 * x**3,)),
    case(power_sum, X3, 3, wrt=0, expected=lambda A, k: (k * A ** (k - 1),)),
    case(power_sum, X23, 4, wrt=0, expected=lambda A, k: (k * A ** (k - 1),)),
    case(power_sum, 1.3, 3, wrt=0, expected=lambda A, k: (k * A ** (k - 1),)),
    case(
        called_in_loop, 0.7, 4, wrt=0, expected=lambda x, n: (sum(2 * (x + i) for i in range(n)),)
    ),
    case(
        unpacks_a_returned_tuple,
        0.8,
        0.6,
        expected=lambda x, y: (1 + 2 * x * math.atan2(y, x) - y, 2 * y * math.atan2(y, x) + x),
    ),
    case(calls_a_branching_function, 1.3, -0.6, expected=lambda x, y: (-2 * x * y, -(x * x))),
    case(calls_a_branching_function, -1.3, 0.6, expected=lambda x, y: (-(y * y), -2 * x * y)),
    case(same_callee_on_float_and_array, 1.3, X3, expected=lambda x, v: (2 * x, 2 * v)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, MODULE_CALLS)
def test_calls_into_this_module(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ================================================================ recursion


def power_by_squaring(x, n):
    if n == 0:
        return 1.0
    if n % 2 == 0:
        half = power_by_squaring(x, n // 2)
        return half * half
    return x * power_by_squaring(x, n - 1)


def geometric(x, n):
    return 1.0 if n == 0 else 1.0 + x * geometric(x, n - 1)


def ping(x, n):
    return x if n == 0 else pong(x * x, n - 1)


def pong(x, n):
    return x if n == 0 else ping(math.sin(x), n - 1)


RECURSION = [
    case(power_by_squaring, 1.3, 0, wrt=0, expected=(0.0,)),
    case(power_by_squaring, 1.3, 1, wrt=0, expected=(1.0,)),
    case(power_by_squaring, 1.3, 6, wrt=0, expected=lambda x, n: (n * x ** (n - 1),)),
    case(power_by_squaring, -0.9, 11, wrt=0, expected=lambda x, n: (n * x ** (n - 1),)),
    case(
        power_by_squaring,
        X3,
        5,
        wrt=0,
        expected=lambda x, n: (np.diag(n * x ** (n - 1)),),
    ),
    case(
        geometric,
        0.7,
        5,
        wrt=0,
        expected=lambda x, n: (sum(k * x ** (k - 1) for k in range(1, n + 1)),),
    ),
    case(ping, 0.8, 5, wrt=0),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, RECURSION)
def test_recursion(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ============================================ an imported user module

LIBRARY = """
import math

import numpy as np

OFFSET = 0.5


def cube(x):
    return x * x * x


def softplus(x):
    return math.log(1.0 + math.exp(x))


def weighted(v, w):
    s = 0.0
    for a, b in zip(v, w):
        s = s + a * b
    return s + OFFSET
"""

APPLICATION = """
import {lib}
import {lib} as library
from {lib} import cube as third_power


def via_module(x, y):
    return {lib}.cube(x) * y + library.softplus(y)


def via_from_import(x):
    return third_power(x + 1.0)


def via_array(v, w):
    return library.weighted(v * v, w)
"""


def sigmoid(y):
    return 1.0 / (1.0 + math.exp(-y))


IMPORTED = {
    "via_module": ((1.3, -0.6), lambda x, y: (3 * x * x * y, x**3 + sigmoid(y))),
    "via_from_import": ((0.7,), lambda x: (3 * (x + 1) ** 2,)),
    "via_array": ((X3, W3), lambda v, w: (2 * v * w, v * v)),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(IMPORTED))
def test_calls_into_an_imported_user_module(make_module, mode, name):
    library = make_module(LIBRARY)
    application = make_module(APPLICATION.format(lib=library.__name__))
    args, expected = IMPORTED[name]
    check_derivatives(mode, getattr(application, name), args, expected=expected)


# ================================ keyword arguments, defaults, wrt by name


def scaled(x, y, scale=2.0, shift=0.5):
    return scale * x * y * y + shift * x


def scaled_grad(x, y, scale, shift):
    return {
        "x": scale * y * y + shift,
        "y": 2 * scale * x * y,
        "scale": x * y * y,
        "shift": x,
    }


def numeric(f, args, position):
    return central_difference(f, args, position)


@pytest.mark.parametrize("wrt", ["y", ("y", "scale"), ("shift", 0), ("x", "y", "scale", "shift")])
@pytest.mark.parametrize("mode", MODES)
def test_wrt_by_name(mode, wrt):
    args = (1.3, -0.6, 2.0, 0.5)
    by_name = scaled_grad(*args)
    items = wrt if isinstance(wrt, tuple) else (wrt,)
    names = [("x", "y", "scale", "shift")[w] if isinstance(w, int) else w for w in items]
    expected = tuple(by_name[name] for name in names)
    check_derivatives(mode, scaled, args, wrt=wrt, expected=expected)


def test_keyword_arguments_and_defaults_reverse():
    x, y = 1.3, -0.6
    expected = scaled_grad(x, y, 2.0, 0.5)
    # Defaults filled in, keywords in any order.
    g = ad.grad(scaled, wrt=("y", "scale"))
    assert g(x, y) == pytest.approx((expected["y"], expected["scale"]), rel=1e-12)
    assert g(x, scale=2.0, y=y) == pytest.approx((expected["y"], expected["scale"]), rel=1e-12)
    other = scaled_grad(x, y, 3.0, -1.0)
    assert g(x, y, shift=-1.0, scale=3.0) == pytest.approx((other["y"], other["scale"]), rel=1e-12)
    assert other["scale"] == pytest.approx(numeric(scaled, (x, y, 3.0, -1.0), 2), rel=1e-6)
    value, grads = ad.value_and_grad(scaled, wrt="shift")(x, y=y)
    assert value == pytest.approx(scaled(x, y), rel=1e-12)
    assert grads == pytest.approx(expected["shift"], rel=1e-12)
    assert grads == pytest.approx(numeric(scaled, (x, y, 2.0, 0.5), 3), rel=1e-6)
    out, pullback = ad.vjp(scaled, x, y, 2.0, 0.5, wrt=("scale", "x"))
    assert out == pytest.approx(scaled(x, y), rel=1e-12)
    for _ in range(2):
        assert pullback(1.0) == pytest.approx((expected["scale"], expected["x"]), rel=1e-12)


def test_keyword_arguments_and_defaults_forward():
    x, y = 1.3, -0.6
    expected = scaled_grad(x, y, 3.0, -1.0)
    out, tangent = ad.jvp(scaled, (x, y, 3.0, -1.0), (None, None, 1.0, None))
    assert out == pytest.approx(scaled(x, y, 3.0, -1.0), rel=1e-12)
    assert tangent == pytest.approx(expected["scale"], rel=1e-12)
    assert tangent == pytest.approx(numeric(scaled, (x, y, 3.0, -1.0), 2), rel=1e-6)
    out, tangent = ad.jvp(scaled, (x, y, 3.0, -1.0), (0.5, 2.0, None, 1.0))
    assert tangent == pytest.approx(
        0.5 * expected["x"] + 2.0 * expected["y"] + expected["shift"], rel=1e-12
    )


# ====================================== nested def and lambda used locally


def local_def(x, y):
    def inner(t):
        return t * t * y

    return inner(x) + inner(y)


def local_lambda(x):
    sq = lambda t: t * t + 1.0
    return sq(x) * sq(2.0 * x)


def local_def_in_loop(x, n):
    def step(s):
        return s * x + 1.0

    s = 0.0
    for _i in range(n):
        s = step(s)
    return s


def local_lambda_on_arrays(x, w):
    scaled_sine = lambda v: np.sin(v) * w
    return np.sum(scaled_sine(x) * scaled_sine(x))


def local_def_with_branches(x, y):
    def soft_abs(t, eps=0.1):
        if t > eps:
            return t
        if t < -eps:
            return -t
        return t * t / (2 * eps) + eps / 2

    return soft_abs(x) * y + soft_abs(y, eps=0.5)


def local_def_returning_from_a_loop(x, n):
    def first_above(limit):
        v = x
        for k in range(n):
            v = v * 1.5
            if v > limit:
                return v * k
        return v

    return first_above(2.0) + first_above(limit=100.0)


def local_def_reads_the_current_value(x):
    scale = 2.0

    def scaled(t):
        return scale * t

    first = scaled(x)
    scale = x * x  # late binding: the next call sees the new value
    return first + scaled(x)


def local_def_returning_a_tuple(x, y):
    def polar_of(a, b):
        return math.hypot(a, b), math.atan2(b, a)

    r, angle = polar_of(x, y)
    return r * angle


def local_def_calls_helpers(x):
    def step(v):
        return square(v) + affine(v, a=0.5)

    inc = lambda v, by=1.0: v + by
    return step(inc(x)) * inc(x, by=-2.0)


def local_def_with_its_own_loop(v, w):
    def weighted_norm(a):
        total = 0.0
        for ai, wi in zip(a, w):
            total += wi * ai * ai
        return math.sqrt(total)

    return weighted_norm(v) / (1.0 + weighted_norm(2.0 * v))


def sorts_constants_with_a_key(x):
    order = sorted(range(len(WEIGHTS)), key=lambda i: -WEIGHTS[i])
    s = 0.0
    for rank, i in enumerate(order):
        s = s + (rank + 1) * WEIGHTS[i] * x[i] ** 2
    return s


def sorts_with_a_named_lambda(x):
    by_weight = lambda i: -WEIGHTS[i]
    order = sorted(range(len(WEIGHTS)), key=by_weight)
    return x[order[0]] * x[order[1]] + by_weight(0) * x[2]


def make_polynomial(coeffs):
    def polynomial(x):
        s = 0.0
        for c in coeffs:
            s = s * x + c
        return s

    return polynomial


def make_scaled_power(scale, k):
    def scaled_power(x):
        return scale * np.sum(power(x, k))

    return scaled_power


def uses_globals(x):
    s = 0.0
    for c in COEFFS:
        s = s * x + c
    return SCALE * s


def uses_a_global_array(x):
    return np.sum(WEIGHTS * x * x)


LOCAL_FUNCTIONS = [
    case(local_def, 1.3, 0.7, expected=lambda x, y: (2 * x * y, x * x + 3 * y * y)),
    case(local_lambda, 0.9, expected=lambda x: (2 * x * (4 * x * x + 1) + 8 * x * (x * x + 1),)),
    case(local_def_in_loop, 0.7, 4, wrt=0, expected=lambda x, n: (1 + 2 * x + 3 * x * x,)),
    case(
        local_lambda_on_arrays,
        X3,
        W3,
        expected=lambda x, w: (2 * np.sin(x) * np.cos(x) * w * w, 2 * np.sin(x) ** 2 * w),
    ),
    case(local_def_with_branches, 1.3, 0.2, expected=lambda x, y: (y, x + 0.4)),
    case(local_def_with_branches, -0.05, -0.7, expected=lambda x, y: (-0.5 * y, 0.0125 + 0.05 - 1)),
    case(local_def_returning_from_a_loop, 1.1, 5, wrt=0),
    case(local_def_returning_from_a_loop, 0.3, 3, wrt=0),
    case(local_def_reads_the_current_value, 0.8, expected=lambda x: (2 + 3 * x * x,)),
    case(local_def_returning_a_tuple, 0.8, -0.6),
    case(local_def_calls_helpers, 0.4),
    case(local_def_with_its_own_loop, X3, W3 * W3),
    case(
        sorts_with_a_named_lambda,
        X3,
        expected=lambda x: (np.array([x[2], 0.0, x[0] - WEIGHTS[0]]),),
    ),
    case(
        sorts_constants_with_a_key,
        X3,
        expected=lambda x: (np.array([2 * 2 * 0.5, 3 * 2 * -1.0, 1 * 2 * 2.0]) * x,),
    ),
    case(
        make_polynomial([1.0, 0.0, -3.0, 2.0]),
        0.7,
        expected=lambda x: (3 * x * x - 3,),
        id="closure_over_a_list-polynomial",
    ),
    case(
        make_scaled_power(-1.5, 3),
        X3,
        expected=lambda x: (-4.5 * x * x,),
        id="closure_calling_a_loop-scaled_power",
    ),
    case(uses_globals, 1.3, expected=lambda x: (SCALE * (2 * x - 2),)),
    case(uses_a_global_array, X3, expected=lambda x: (2 * WEIGHTS * x,)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, LOCAL_FUNCTIONS)
def test_local_functions_closures_and_globals(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


def test_another_closure_of_the_same_code_has_its_own_constants():
    for coeffs in ([1.0, 0.0, -3.0, 2.0], [2.0, 1.0, 0.0, 0.0]):
        polynomial = make_polynomial(coeffs)
        x = 0.7
        expected = 3 * coeffs[0] * x * x + 2 * coeffs[1] * x + coeffs[2]
        assert ad.grad(polynomial)(x) == pytest.approx(expected, rel=1e-12)
        assert ad.jvp(polynomial, (x,), (1.0,))[1] == pytest.approx(expected, rel=1e-12)


# ================================================================= builtins


def builtin_abs(x, y):
    return abs(x - y) * y


def builtin_min(x, y):
    return min(x, y) * min(x * x, 2.0, y)


def builtin_max(x, y, z):
    return max(x, y, z) + max(x * y, 0.5)


def builtin_sum(x, y):
    return sum([x, y, x * y]) + sum((x, 2.0), 1.0)


def builtin_pow(x, y):
    return pow(x, y) + pow(x, 3) + pow(2.0, y)


def builtin_float(x, n):
    return float(n) * x + float(x) * x


def math_hypot(x, y):
    return math.hypot(x, y)


def math_atan2(y, x):
    return math.atan2(y, x)


def math_pow(x, y):
    return math.pow(x, y)


def builtins_in_a_loop(xs):
    s = 0.0
    for v in xs:
        s = max(s, abs(v)) + min(v, 0.5) * v
    return s


BUILTINS = [
    case(builtin_abs, 1.3, -0.6, expected=lambda x, y: (y, x - 2 * y)),
    case(builtin_abs, -1.3, 0.6, expected=lambda x, y: (-y, 2 * y - x)),
    case(builtin_min, 0.5, 1.5, expected=lambda x, y: (3 * x * x, 0.0)),
    case(builtin_min, 1.2, 0.7, expected=lambda x, y: (0.0, 2 * y)),
    case(builtin_max, 1.3, -0.6, 0.9, expected=(1.0, 0.0, 0.0)),
    case(builtin_max, 0.8, 1.1, 0.2, expected=lambda x, y, z: (y, 1.0 + x, 0.0)),
    case(builtin_sum, 1.3, -0.6, expected=lambda x, y: (2.0 + y, 1.0 + x)),
    case(
        builtin_pow,
        1.3,
        0.7,
        expected=lambda x, y: (
            y * x ** (y - 1) + 3 * x * x,
            x**y * math.log(x) + 2**y * math.log(2.0),
        ),
    ),
    case(builtin_float, 1.3, 3, wrt=0, expected=lambda x, n: (n + 2 * x,)),
    case(math_hypot, 0.8, -0.6, expected=lambda x, y: (x / math.hypot(x, y), y / math.hypot(x, y))),
    case(
        math_atan2,
        0.6,
        -0.8,
        expected=lambda y, x: (x / (x * x + y * y), -y / (x * x + y * y)),
    ),
    case(
        math_pow,
        1.3,
        0.7,
        expected=lambda x, y: (y * x ** (y - 1), x**y * math.log(x)),
    ),
    case(builtins_in_a_loop, [0.3, -1.2, 0.9, 2.1]),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, BUILTINS)
def test_builtins(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


def recursive_local_def(x, n):
    def power_of(v, k):
        return 1.0 if k == 0 else v * power_of(v, k - 1)  # <recursive-call>

    return power_of(x, n)


def local_def_in_a_branch(x):
    if x > 0:

        def half(t):  # <def-in-branch>
            return t / 2

        return half(x)
    return x


def lambda_capturing_a_local_passed_on(x):
    scale = x * 2.0
    return sorted([x, 1.0], key=lambda v: v * scale)[0]  # <capturing-lambda>


def local_function_rebound(x):
    g = lambda t: t * t
    g = lambda t: t + 1.0  # <rebound>
    return g(x)


def local_def_with_a_wrong_call(x):
    def twice(t):
        return 2 * t

    return twice(x, 3.0)  # <wrong-call>


@pytest.mark.parametrize(
    "f, marker, message",
    [
        (recursive_local_def, "recursive-call", "calls itself"),
        (local_def_in_a_branch, "def-in-branch", "top level of the function body"),
        (lambda_capturing_a_local_passed_on, "capturing-lambda", "reads the local variables scale"),
        (local_function_rebound, "rebound", "bound more than once"),
        (local_def_with_a_wrong_call, "wrong-call", "takes 1 positional arguments but 2"),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_local_functions_out_of_reach_are_refused_at_their_line(f, marker, message):
    """What local functions cannot do (docs/language.md): a clear TransformError at the line."""
    for mode in ("reverse", "forward"):
        with pytest.raises(ad.TransformError) as info:
            ad.source(f, mode=mode)
        assert f"<{marker}>" in info.value.source_line
        assert message in str(info.value)
