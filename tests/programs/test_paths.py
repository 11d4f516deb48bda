"""Every variable and every saved pullback exists on every path that reads it (issue 16).

Minimal programs from the issue's differential test that crashed inside
emitted code or gave a silently wrong derivative: a helper called in both
branches of an ``if``, a helper that ignores its argument, a helper before
and inside a loop, rows of a matrix and items of a tuple as loop variables,
reductions over lists (``np.sum([1, a * a, 2])``), callees that cannot be
hashed (ctypes functions), and recursion as deep as the function itself runs.

Every case runs in the modes of `control_harness.MODES` against central
differences and, where there is one, a closed form; reverse mode calls the
pullback three times and checks that the caller's arguments are unchanged.
"""

import ctypes
import ctypes.util
import math
import sys

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad import TransformError

from control_harness import CASE_FIELDS, MODES, case, check_derivatives

W33 = np.array([[0.4, -1.1, 0.7], [0.2, 0.9, -0.6], [1.3, -0.5, 0.8]])

# ------------------------------------------------------------- helpers


def square(u):
    return u * u


def constant(u):
    return 2.0


def square_in_both_branches(x):
    if x > 0:
        y = square(x)
    else:
        y = square(x * 2)
    return y * x


def ignored_in_a_branch(s):
    a = s * 1.0
    v = 3 * np.sin(a)
    if s > 0:
        a = constant(s)
    return v


def before_and_inside_a_loop(x):
    t = square(x)
    for _ in range(3):
        t = square(t) * 0.5
    return t


def both_branches_inside_a_loop(x):
    t = x * 1.0
    for _ in range(3):
        if t > 1.0:
            y = square(t)
        else:
            y = square(t * 2)
        t = y * 0.5
    return t


def in_two_loops(x):
    t = x * 1.0
    for _ in range(2):
        t = square(t)
    for _ in range(2):
        t = square(t) * 0.5
    return t


def on_some_trips(x):
    t = 0.0
    for i in range(4):
        if i % 2 == 0:
            t = t + square(x + i)
    return t


def halve_and_add(u, v):
    return u * 0.5 + v


def in_a_loop_of_n_trips(x, n):
    """With no trips the helper's pullback was never bound, and the adjoint of
    ``t = x * 1.0`` called it: 'NoneType' object is not callable, noted at that line."""
    t = x * 1.0
    u = x + 0.5
    for _ in range(n):
        t = halve_and_add(u, x)
    return x * t


HELPERS = [
    case(square_in_both_branches, 0.7, expected=lambda x: (3 * x * x,)),
    case(square_in_both_branches, -0.7, expected=lambda x: (12 * x * x,)),
    case(ignored_in_a_branch, 0.7, expected=lambda s: (3 * np.cos(s),)),
    case(ignored_in_a_branch, -0.7, expected=lambda s: (3 * np.cos(s),)),
    case(before_and_inside_a_loop, 0.9, expected=lambda x: (16 * x**15 / 2**7,)),
    case(both_branches_inside_a_loop, 0.9),
    case(both_branches_inside_a_loop, 1.6),
    case(in_two_loops, 1.1, expected=lambda x: (16 * x**15 / 2**3,)),
    case(on_some_trips, 0.7, expected=lambda x: (2 * (x + 0) + 2 * (x + 2),)),
    case(in_a_loop_of_n_trips, 0.7, 0, expected=lambda x, n: (2 * x,)),
    case(in_a_loop_of_n_trips, 0.7, 2, expected=lambda x, n: (3 * x + 0.25,)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, HELPERS)
def test_helpers_in_branches_and_loops(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ------------------------------------------------- a branch that returns, then more code


def returns_in_an_elif(x):
    """The code after the ``if`` goes into each branch that does not return; the first
    branch's ``u = u * u`` left ``u`` naming its result in the second (UnboundLocalError)."""
    u = x + 0.5
    if x > 0.8:
        u = x * 2.0
    elif u > 1.5:
        return u * x
    u = u * u
    return u * 3.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    CASE_FIELDS,
    [
        case(returns_in_an_elif, 0.6, expected=lambda x: (6 * (x + 0.5),)),
        case(returns_in_an_elif, 0.9, expected=lambda x: (24 * x,)),
        case(returns_in_an_elif, 2.1),
    ],
)
def test_code_after_a_branch_that_returns(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ------------------------------------------- loop variables that are containers


def rows(w):
    t = 0.0
    for row in w:
        t = t + row[0] * row[1]
    return t


def row_slices(w):
    t = 0.0
    for row in w:
        t = t + np.sum(row[1:] * row[0])
    return t


def rows_into_a_list(w):
    t = 0.0
    for row in w:
        p = [row[0], row[1]]
        t = t + p[0] * np.sum(p)
    return t


def rows_into_a_dict(w):
    t = 0.0
    for row in w:
        d = {"a": row[0], "b": row[1]}
        t = t + d["a"] * d["b"]
    return t


def rows_in_branches(w):
    t = 0.0
    for row in w:
        if row[0] > 0:
            t = t + row[1]
        else:
            t = t - row[2] * row[0]
    return t


def tuples_in_nested_loops(s):
    t = 0.0
    for a in (s, 0.5):
        for b in (s, 2.0):
            t = t + a * b
            a = a * s
    return t


def tuple_walked_but_unread(s):
    a = s * 1.0
    for _trip in range(1, 3):
        for _item in (a, 0.5):  # the items are never read: the tuple's cotangent stays 0.0
            a -= 0.25 * a * a
    return a


def rows_expected(w):
    grad = np.zeros_like(w)
    grad[:, 0], grad[:, 1] = w[:, 1], w[:, 0]
    return (grad,)


CONTAINERS = [
    case(rows, W33, expected=rows_expected),
    case(row_slices, W33),
    case(rows_into_a_list, W33),
    case(rows_into_a_dict, W33, expected=rows_expected),
    case(rows_in_branches, W33),
    case(tuples_in_nested_loops, 0.7, expected=lambda s: (6 * s + 1.5,)),
    case(tuple_walked_but_unread, 0.7),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, CONTAINERS)
def test_loop_variables_holding_rows_and_tuples(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ------------------------------------------------------ reductions of lists


def sum_of_a_list(a):
    return np.sum([1, a * a, 2])


def mean_of_a_list(x):
    return np.mean([x, x + 2]) * x


def std_of_a_list(x):
    return np.std([x, x * 3])


def var_of_a_tuple(x):
    return np.var((x, x * x))


def mean_of_a_list_of_arrays(x):
    return np.sum(np.mean([x, x * 2], axis=0) ** 2)


LISTS = [
    case(sum_of_a_list, 0.7, expected=lambda a: (2 * a,)),
    case(mean_of_a_list, 0.7, expected=lambda x: (2 * x + 1,)),
    case(std_of_a_list, 0.7, expected=lambda x: (1.0,)),
    case(var_of_a_tuple, 0.7),
    case(mean_of_a_list_of_arrays, np.array([0.4, -1.1, 0.7])),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, LISTS)
def test_reductions_of_lists(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ------------------------------------------------------ callees that cannot be hashed


class Cosine:
    """A callable that cannot be hashed, like a ctypes function."""

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, x):
        return math.cos(x)


def _ctypes_cosine():
    """libm's cos through ctypes, a new function object (None where libm is not found)."""
    library = ctypes.util.find_library("m")
    if library is None:
        return None
    prototype = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)
    return prototype(("cos", ctypes.CDLL(library)))


UNHASHABLE = [pytest.param(Cosine, id="callable object")]
if _ctypes_cosine() is not None:
    UNHASHABLE.append(pytest.param(_ctypes_cosine, id="ctypes"))


def scaled_by(cosine):
    def f(x):
        return x * cosine(x)

    return f


def constant_factor(cosine):
    def f(x):
        return x * cosine(0.5)

    return f


@pytest.mark.parametrize("make", UNHASHABLE)
def test_an_unhashable_callee_without_a_rule_is_refused_by_name(make):
    f = scaled_by(make())
    for transform in (
        lambda: ad.grad(f)(0.3),
        lambda: ad.jvp(f, (0.3,), (1.0,)),
        lambda: ad.vjp(f, 0.3),
    ):
        with pytest.raises(TransformError, match="no derivative rule for `cosine`"):
            transform()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make", UNHASHABLE)
def test_an_unhashable_callee_of_constants_is_a_constant(make, mode):
    f = constant_factor(make())
    check_derivatives(mode, f, (0.3,), expected=(math.cos(0.5),))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make", UNHASHABLE)
def test_an_unhashable_callee_takes_the_rules_registered_for_it(make, mode):
    cosine = make()
    ad.defvjp(cosine, lambda g, ans, x: -g * math.sin(x))
    ad.defjvp(cosine, lambda t, ans, x: -t * math.sin(x))
    f = scaled_by(cosine)
    expected = (math.cos(0.3) - 0.3 * math.sin(0.3),)
    check_derivatives(mode, f, (0.3,), expected=expected)


# ------------------------------------------------------------------ deep recursion


def compound(x, n):
    if n == 0:
        return x
    return compound(x * 1.0001, n - 1)


def _frames_in_use() -> int:
    frame, count = sys._getframe(), 0
    while frame is not None:
        frame, count = frame.f_back, count + 1
    return count


def test_a_derivative_recurses_as_deep_as_the_function_itself():
    """Each level of ``compound`` costs its derivative several frames; the derivative
    still runs as deep as the function does under the recursion limit, which it leaves
    as it found it."""
    limit = sys.getrecursionlimit()
    n = limit - _frames_in_use() - 30  # 900 and more under the default limit
    compound(1.0, n)  # the function itself runs
    slope = 1.0001**n
    assert ad.grad(compound)(1.0, n) == pytest.approx(slope, rel=1e-12)
    out, pullback = ad.vjp(compound, 1.0, n)
    for cotangent in (1.0, -2.5, 1.0):
        assert pullback(cotangent)[0] == pytest.approx(cotangent * slope, rel=1e-12)
    assert ad.jvp(compound, (1.0, n), (1.0, 0)) == pytest.approx((slope, slope), rel=1e-12)
    assert sys.getrecursionlimit() == limit


@pytest.mark.parametrize(
    "transform",
    [
        lambda n: ad.grad(compound)(1.0, n),
        lambda n: ad.vjp(compound, 1.0, n),
        lambda n: ad.jvp(compound, (1.0, n), (1.0, 0)),
    ],
    ids=["grad", "vjp", "jvp"],
)
def test_recursion_past_the_limit_says_how_deep_it_went_and_what_to_do(transform):
    limit = sys.getrecursionlimit()
    n = 10 * limit
    with pytest.raises(RecursionError):
        compound(1.0, n)  # too deep for the function itself, too
    with pytest.raises(RecursionError) as error:
        transform(n)
    message = str(error.value)
    assert "the derivative of `compound` reached Python's recursion limit after" in message
    deepest = int(message.split(" after ")[1].split()[0])
    assert limit // 2 < deepest < n
    assert f"sys.setrecursionlimit({4 * deepest})" in message
    assert sys.getrecursionlimit() == limit
