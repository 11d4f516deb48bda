"""Control flow (issue 3): branches, loops, break / continue / return, nested loops.

Each function below is plain module-level Python (s2s_ad reads its source).
Every case runs in the three modes of `control_harness.MODES`: reverse
(grad, value_and_grad, vjp with the pullback called several times), forward
(jvp along every input direction), and forward columns against reverse
rows; the oracle is central differences in float64 and, where one exists,
an analytic formula (itself checked against the differences first).
"""

import math

import numpy as np
import pytest

from conftest import load_example
from control_harness import CASE_FIELDS, MODES, case, check_derivatives

# ================================================================ branches


def if_else(x):
    if x > 0.5:
        y = x * x
    else:
        y = 3.0 * x
    return y * x


def if_elif_else(x, y):
    if x > y:
        z = x * y
    elif x < -y:
        z = x - y * y
    else:
        z = math.sin(x) * y
    return z


def if_without_else(x):
    y = 2.0 * x
    if x < 1.0:
        y = y * x
    return y + x


def nested_if(x, y):
    if x > 0.0:
        if y > 0.0:
            r = x * y * y
        else:
            r = x / (1.0 - y)
    else:
        r = x * x + y
    return r


def conditional_expression(x):
    return x * x if x > 1.0 else 2.0 * x - 1.0


def nested_conditional_expression(x, y):
    return x * y if x > y else (y - x if x > 0.0 else x * x * y)


def and_or_not(x, y):
    if x > 0.0 and y > 0.0:
        return x * y
    if x > 0.0 or y > 0.0:
        return x + 2.0 * y * y
    if not x < -1.0:
        return x * x * y
    return y * y * x


def boolean_flags(x, y):
    positive = x > 0.0
    small = abs(y) < 1.0
    flag = positive and not small
    either = positive or small
    s = x * y
    if flag:
        s = s * x
    if either:
        s = s + y
    return s


def and_or_on_values(x, y):
    first = x * y or y  # x * y is not zero here: the product
    second = (x - x) or x * x  # 0.0 is false: x * x
    third = x > 0.0 and y * y  # False (0) or y * y
    return first + second + third


def truthiness_of_a_float(x):
    if x:
        return x * x
    return x


def chained_comparisons(x, y):
    if 0.0 < x < 1.0 <= y:
        return x * y
    if -1.0 < x <= y:
        return x * x + y
    return y * y - x


def branch_on_an_int(x, n):
    if n == 0:
        return x
    elif n == 1:
        return x * x
    return x**n


def constant_branch(x):
    if x > 2.0:
        return 5.0
    return x * x


def early_return(x):
    if x < 0.0:
        return -x * x
    y = x * x * x
    return y


def branch_on_array(x, w):
    if np.sum(x * w) > 0.0:
        return np.sum(x * x * w)
    return np.sum(np.sin(x)) * np.sum(w)


def branch_on_array_grad_x(x, w):
    if np.sum(x * w) > 0.0:
        return 2.0 * x * w
    return np.cos(x) * np.sum(w)


def branch_on_array_grad_w(x, w):
    if np.sum(x * w) > 0.0:
        return x * x
    return np.sum(np.sin(x)) * np.ones_like(w)


X3 = np.array([0.4, -1.1, 0.7])
W3 = np.array([1.5, 0.3, -0.8])
X23 = np.array([[0.4, -1.1, 0.7], [0.2, 0.9, -0.6]])
W23 = np.array([[1.5, 0.3, -0.8], [0.5, -1.2, 2.0]])


def reassigned_in_one_branch(x):
    """The tangent of `g` before the `if` is a negation and the else branch assigns a new
    one: forward mode once simplified `dt - dg` with the first (a silently wrong JVP)."""
    g = x * x
    g = math.cos(x)
    if x > 10.0:
        t = x * 2.0  # noqa: F841
    else:
        g = math.tanh(x)
    return x - g


BRANCHES = [
    case(if_else, 1.3, expected=lambda x: (3 * x * x,)),
    case(if_else, -0.7, expected=lambda x: (6 * x,)),
    case(if_elif_else, 2.0, 0.5, expected=lambda x, y: (y, x)),
    case(if_elif_else, -2.0, 0.5, expected=lambda x, y: (1.0, -2 * y)),
    case(if_elif_else, 0.2, 0.5, expected=lambda x, y: (math.cos(x) * y, math.sin(x))),
    case(if_without_else, 0.4, expected=lambda x: (4 * x + 1,)),
    case(if_without_else, 1.5, expected=lambda x: (3.0,)),
    case(nested_if, 1.2, 0.7, expected=lambda x, y: (y * y, 2 * x * y)),
    case(nested_if, 1.2, -0.7, expected=lambda x, y: (1 / (1 - y), x / (1 - y) ** 2)),
    case(nested_if, -1.2, 0.7, expected=lambda x, y: (2 * x, 1.0)),
    case(conditional_expression, 1.6, expected=lambda x: (2 * x,)),
    case(conditional_expression, 0.3, expected=lambda x: (2.0,)),
    case(nested_conditional_expression, 1.5, 0.5, expected=lambda x, y: (y, x)),
    case(nested_conditional_expression, 0.5, 1.5, expected=lambda x, y: (-1.0, 1.0)),
    case(nested_conditional_expression, -0.5, 1.5, expected=lambda x, y: (2 * x * y, x * x)),
    case(and_or_not, 1.0, 2.0, expected=lambda x, y: (y, x)),
    case(and_or_not, 1.0, -2.0, expected=lambda x, y: (1.0, 4 * y)),
    case(and_or_not, -1.5, 2.0, expected=lambda x, y: (1.0, 4 * y)),
    case(and_or_not, -0.5, -2.0, expected=lambda x, y: (2 * x * y, x * x)),
    case(and_or_not, -1.5, -2.0, expected=lambda x, y: (y * y, 2 * x * y)),
    case(boolean_flags, 1.5, 2.0, expected=lambda x, y: (2 * x * y, x * x + 1)),
    case(boolean_flags, 1.5, 0.5, expected=lambda x, y: (y, x + 1)),
    case(boolean_flags, -1.5, 2.0, expected=lambda x, y: (y, x)),
    case(boolean_flags, -1.5, 0.5, expected=lambda x, y: (y, x + 1)),
    case(and_or_on_values, 1.5, 0.7, expected=lambda x, y: (y + 2 * x, x + 2 * y)),
    case(and_or_on_values, -1.5, 0.7, expected=lambda x, y: (y + 2 * x, x)),
    case(truthiness_of_a_float, 1.3, expected=lambda x: (2 * x,)),
    case(chained_comparisons, 0.5, 2.0, expected=lambda x, y: (y, x)),
    case(chained_comparisons, 1.5, 2.0, expected=lambda x, y: (2 * x, 1.0)),
    case(chained_comparisons, 0.5, 0.7, expected=lambda x, y: (2 * x, 1.0)),
    case(chained_comparisons, 2.5, 2.0, expected=lambda x, y: (-1.0, 2 * y)),
    case(branch_on_an_int, 1.3, 0, wrt=0, expected=lambda x, n: (1.0,)),
    case(branch_on_an_int, 1.3, 1, wrt=0, expected=lambda x, n: (2 * x,)),
    case(branch_on_an_int, 1.3, 4, wrt=0, expected=lambda x, n: (4 * x**3,)),
    case(constant_branch, 3.0, expected=lambda x: (0.0,)),
    case(constant_branch, 1.5, expected=lambda x: (2 * x,)),
    case(early_return, -0.8, expected=lambda x: (-2 * x,)),
    case(early_return, 0.8, expected=lambda x: (3 * x * x,)),
    case(reassigned_in_one_branch, 0.4, expected=lambda x: (math.tanh(x) ** 2,)),
    case(reassigned_in_one_branch, 10.5, expected=lambda x: (1 + math.sin(x),)),
    case(
        branch_on_array,
        X3,
        W3,
        expected=lambda x, w: (branch_on_array_grad_x(x, w), branch_on_array_grad_w(x, w)),
    ),
    case(
        branch_on_array,
        X3,
        -W3,
        expected=lambda x, w: (branch_on_array_grad_x(x, w), branch_on_array_grad_w(x, w)),
    ),
    case(
        branch_on_array,
        X23,
        W23,
        expected=lambda x, w: (branch_on_array_grad_x(x, w), branch_on_array_grad_w(x, w)),
    ),
    case(
        branch_on_array,
        X23,
        -W23,
        expected=lambda x, w: (branch_on_array_grad_x(x, w), branch_on_array_grad_w(x, w)),
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, BRANCHES)
def test_branches(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ------------------------------------------------ kinks: the branch taken


def positive_branch_first(x):
    return x if x > 0 else -x


def negative_branch_first(x):
    return -x if x < 0 else x


def kink_in_if_statement(x):
    if x >= 1.0:
        return 2.0 * x - 1.0
    return x * x * x


def kink_in_loop(x):
    s = 0.0
    for _i in range(2):
        if x > 0.0:
            s = s + x
        else:
            s = s - 2.0 * x
    return s


# At the kink there is no finite-difference oracle: the derivative is the
# derivative of the branch the primal takes, in both modes.
KINKS = [
    case(positive_branch_first, 0.0, expected=(-1.0,), fd=False),
    case(negative_branch_first, 0.0, expected=(1.0,), fd=False),
    case(kink_in_if_statement, 1.0, expected=(2.0,), fd=False),
    case(truthiness_of_a_float, 0.0, expected=(1.0,), fd=False),
    case(kink_in_loop, 0.0, expected=(-4.0,), fd=False),
    case(positive_branch_first, 0.6, expected=(1.0,)),
    case(positive_branch_first, -0.6, expected=(-1.0,)),
    case(negative_branch_first, -0.6, expected=(-1.0,)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, KINKS)
def test_derivative_at_a_kink_is_that_of_the_branch_taken(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# =================================================================== loops


def power(A, k):
    """The lecture example, as written in the lecture."""
    result = 1.0
    for i in range(k):  # noqa: B007
        result = result * A
    return result


def power_ones_like(A, k):
    """The lecture example on arrays: elementwise A ** k."""
    result = np.ones_like(A)
    for i in range(k):  # noqa: B007
        result = result * A
    return result


def power_jacobian(A, k):
    return (np.diag((k * A ** (k - 1)).ravel()),)


def range_with_runtime_bounds(x, n):
    s = 0.0
    for i in range(1, n + 1, 2):
        s = s + x**i / i
    return s


def range_with_negative_step(x, n):
    s = x
    for i in range(n, 0, -1):
        s = s * x + i
    return s


def loop_counter_in_arithmetic(x):
    s = 0.0
    for i in range(4):
        s = s + i * x * x + i
    return s


def loop_variable_after_the_loop(x):
    for i in range(3):
        y = x * (i + 1.0)
    return y * i


def loop_over_list(xs):
    s = 0.0
    for v in xs:
        s = s + v * v
    return s


def loop_over_constant_tuple(x):
    s = 0.0
    for c in (1.0, -2.0, 0.5):
        s = s * x + c
    return s


def loop_over_tuple_argument(xs, y):
    s = y
    for v in xs:
        s = s * v
    return s


def loop_over_rows(X, w):
    s = 0.0
    for row in X:
        s = s + np.sum(row * row) * w
    return s


def loop_enumerate(xs):
    s = 0.0
    for i, v in enumerate(xs):
        s = s + (i + 1) * v * v
    return s


def loop_enumerate_start(xs):
    s = 0.0
    for i, v in enumerate(xs, 1):
        s = s + np.sum(i * v * v)
    return s


def loop_zip(xs, ys):
    s = 0.0
    for a, b in zip(xs, ys):
        s = s + np.sum(a * b * a)
    return s


def loop_zip_range(x, n):
    s = 0.0
    for i, c in zip(range(n), (2.0, 3.0, 4.0, 5.0)):
        s = s + c * x**i
    return s


def branch_in_loop(xs):
    s = 0.0
    for v in xs:
        if v > 0.0:
            s = s + v * v
        else:
            s = s - 3.0 * v
    return s


def branch_on_loop_state(x):
    s = x
    for _i in range(6):
        if s > 1.0:
            s = s * 0.5
        else:
            s = s * s + x
    return s


def flags_and_counters(xs):
    found = False
    count = 0
    s = 0.0
    for v in xs:
        if v > 1.0:
            found = True
            count += 1
        s = s + v * v
    if found:
        return s * count
    return -s


def overwrite_in_loop(x, y, n):
    for _i in range(n):
        x = math.sin(x) * y
    return x


def array_recurrence(x, w, b, n):
    h = x
    for _i in range(n):
        h = np.tanh(h * w + b)
    return np.sum(h * h)


def array_loop_vector_output(x, w):
    h = x
    for _i in range(3):
        h = np.sin(h) * w + h
    return h


LIST3 = [0.4, -1.1, 0.7]

LOOPS = [
    case(power, 1.7, 0, wrt=0, expected=lambda A, k: (0.0,)),
    case(power, 1.7, 1, wrt=0, expected=lambda A, k: (1.0,)),
    case(power, 1.7, 3, wrt=0, expected=lambda A, k: (k * A ** (k - 1),)),
    case(power, -0.8, 5, wrt="A", expected=lambda A, k: (k * A ** (k - 1),)),
    case(power_ones_like, X3, 3, wrt=0, expected=power_jacobian),
    case(power_ones_like, X23, 4, wrt=0, expected=power_jacobian),
    case(
        range_with_runtime_bounds,
        0.9,
        6,
        wrt=0,
        expected=lambda x, n: (sum(x ** (i - 1) for i in range(1, n + 1, 2)),),
    ),
    case(range_with_runtime_bounds, 0.9, 0, wrt=0, expected=(0.0,)),
    case(range_with_negative_step, 0.7, 3, wrt=0, expected=lambda x, n: (4 * x**3 + 6 * x + 2,)),
    case(loop_counter_in_arithmetic, 1.3, expected=lambda x: (12 * x,)),
    case(loop_variable_after_the_loop, 1.3, expected=(6.0,)),
    case(loop_over_list, LIST3, expected=lambda xs: ([2 * v for v in xs],)),
    case(loop_over_constant_tuple, 1.3, expected=lambda x: (2 * x - 2,)),
    case(
        loop_over_tuple_argument,
        (1.5, -0.5, 2.0),
        0.7,
        expected=lambda xs, y: (
            (y * xs[1] * xs[2], y * xs[0] * xs[2], y * xs[0] * xs[1]),
            xs[0] * xs[1] * xs[2],
        ),
    ),
    case(loop_over_rows, X3, 0.7, expected=lambda X, w: (2 * X * w, np.sum(X * X))),
    case(loop_over_rows, X23, 0.7, expected=lambda X, w: (2 * X * w, np.sum(X * X))),
    case(loop_enumerate, LIST3, expected=lambda xs: ([2 * (i + 1) * v for i, v in enumerate(xs)],)),
    case(loop_enumerate, X3, expected=lambda xs: (2 * np.arange(1, 4) * xs,)),
    case(loop_enumerate_start, X23, expected=lambda xs: (2 * np.array([[1.0], [2.0]]) * xs,)),
    case(loop_zip, X3, W3, expected=lambda a, b: (2 * a * b, a * a)),
    case(loop_zip, X23, W23, expected=lambda a, b: (2 * a * b, a * a)),
    case(loop_zip, LIST3, [1.5, 0.3, -0.8], fd=True),
    case(loop_zip_range, 1.3, 3, wrt=0, expected=lambda x, n: (3.0 + 8.0 * x,)),
    case(branch_in_loop, LIST3, expected=lambda xs: ([2 * v if v > 0 else -3.0 for v in xs],)),
    case(branch_in_loop, X3, expected=lambda xs: (np.where(xs > 0, 2 * xs, -3.0),)),
    case(branch_on_loop_state, 0.3),
    case(branch_on_loop_state, 1.7),
    case(flags_and_counters, [1.5, 0.5, 2.5], expected=lambda xs: ([4 * v for v in xs],)),
    case(flags_and_counters, [0.5, -0.5], expected=lambda xs: ([-2 * v for v in xs],)),
    case(overwrite_in_loop, 0.9, 1.3, 4, wrt=(0, 1)),
    case(array_recurrence, X3, W3, 0.1, 3, wrt=(0, 1, 2)),
    case(array_recurrence, X23, W23, 0.1, 3, wrt=(0, 1, 2)),
    case(array_recurrence, X23, 0.8, 0.1, 3, wrt=(0, 1, 2)),
    case(array_loop_vector_output, X3, W3),
    case(array_loop_vector_output, X23, 0.8),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, LOOPS)
def test_for_loops(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ------------------------------------------------------------------ while


def while_grow(x):
    y = x
    while y < 10.0:
        y = y * x
    return y


def while_counter(x, n):
    s = 1.0
    i = 0
    while i < n:
        s = s * x + 1.0
        i += 1
    return s


def while_halving(x, y):
    z = x * y
    while z > 1.0:
        z = z / 2.0
    return z * x


def while_true_break(x):
    y = x
    n = 0
    while True:
        y = math.sin(y) + x
        n += 1
        if n >= 4:
            break
    return y


def while_on_array(x):
    s = np.sum(x * x)
    while s > 1.0:
        x = x * 0.5
        s = np.sum(x * x)
    return s + np.sum(x)


def grow_count(x):
    return math.ceil(math.log(10.0) / math.log(x))


WHILES = [
    case(while_grow, 1.5, expected=lambda x: (grow_count(x) * x ** (grow_count(x) - 1),)),
    case(while_grow, 12.0, expected=(1.0,)),
    case(
        while_counter,
        0.8,
        4,
        wrt=0,
        expected=lambda x, n: (sum(k * x ** (k - 1) for k in range(1, n + 1)),),
    ),
    case(while_counter, 0.8, 0, wrt=0, expected=(0.0,)),
    case(while_halving, 3.0, 1.7, expected=lambda x, y: (2 * x * y / 8, x * x / 8)),
    case(while_halving, 0.5, 1.7, expected=lambda x, y: (2 * x * y, x * x)),
    case(while_true_break, 0.7),
    case(while_on_array, np.array([1.2, -0.9, 0.4])),
    case(while_on_array, X23),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, WHILES)
def test_while_loops(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# -------------------------------------------------- break, continue, return


def for_break(x):
    s = 1.0
    for _i in range(10):
        s = s * x
        if s > 5.0:
            break
    return s


def for_continue(x, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            continue
        s = s + x**i
    return s


def break_and_continue(xs):
    s = 0.0
    for v in xs:
        if v < 0.0:
            continue
        if v > 2.0:
            break
        s = s + v * v * v
    return s


def return_from_loop(x):
    y = 1.0
    for _i in range(10):
        y = y * x
        if y > 3.0:
            return y - x
    return -y


def return_from_while(x):
    y = x
    while True:
        y = y * y + x
        if y > 2.0:
            return y
        if y < -2.0:
            return -y


def return_from_nested_loop(x, y):
    s = 0.0
    for _i in range(5):
        for _j in range(5):
            s = s + x * y
            if s > 2.0:
                return s * x
    return s


JUMPS = [
    case(for_break, 1.7, expected=lambda x: (4 * x**3,)),
    case(for_break, 0.9, expected=lambda x: (10 * x**9,)),
    case(
        for_continue,
        1.1,
        6,
        wrt=0,
        expected=lambda x, n: (sum(i * x ** (i - 1) for i in range(1, n, 2)),),
    ),
    case(break_and_continue, [0.5, -1.0, 1.5, 3.0, 0.7], expected=([0.75, 0.0, 6.75, 0.0, 0.0],)),
    case(break_and_continue, np.array([0.5, -1.0, 1.5]), expected=(np.array([0.75, 0.0, 6.75]),)),
    case(return_from_loop, 1.5, expected=lambda x: (3 * x * x - 1,)),
    case(return_from_loop, 0.8, expected=lambda x: (-10 * x**9,)),
    case(return_from_while, 0.9),
    case(return_from_nested_loop, 0.7, 0.9, expected=lambda x, y: (8 * x * y, 4 * x * x)),
    case(return_from_nested_loop, 0.1, 0.2, expected=lambda x, y: (25 * y, 25 * x)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, JUMPS)
def test_break_continue_return(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ------------------------------------------------------------ nested loops


def nested_loops(x, y, n, m):
    s = 0.0
    for i in range(n):
        for j in range(m):
            s = s + x**i * y**j
    return s


def nested_loops_grad(x, y, n, m):
    sx = sum(i * x ** (i - 1) for i in range(1, n))
    sy = sum(j * y ** (j - 1) for j in range(1, m))
    px = sum(x**i for i in range(n))
    py = sum(y**j for j in range(m))
    return (sx * py, px * sy)


def nested_loops_over_matrix(X):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            s = s + (i + j + 1) * X[i, j] * X[i, j]
    return s


def nested_loops_dependent_bounds(x):
    s = 0.0
    for i in range(4):
        for _j in range(i):
            s = s * x + 1.0
    return s


def nested_loops_break_continue(x):
    s = x
    for i in range(4):
        for j in range(4):
            if j > i:
                break
            if (i + j) % 2 == 1:
                continue
            s = math.sin(s) * x
    return s


def nested_while_in_for(x):
    s = 0.0
    for i in range(3):
        y = x
        while y < 4.0:
            y = y * (i + 2.0)
        s = s + y * x
    return s


def nested_loops_over_arrays(X, w):
    s = 0.0
    for row in X:
        t = row
        for _k in range(2):
            t = np.sin(t) * w
        s = s + np.sum(t)
    return s


NESTED = [
    case(nested_loops, 0.9, 1.2, 3, 4, wrt=(0, 1), expected=nested_loops_grad),
    case(
        nested_loops_over_matrix,
        X23,
        expected=lambda X: (2 * (np.add.outer(np.arange(2), np.arange(3)) + 1) * X,),
    ),
    case(
        nested_loops_dependent_bounds,
        0.7,
        expected=lambda x: (5 * x**4 + 4 * x**3 + 3 * x**2 + 2 * x + 1,),
    ),
    case(nested_loops_break_continue, 0.8),
    case(nested_while_in_for, 0.7),
    case(nested_loops_over_arrays, X23, np.array([0.5, 1.5, -0.7])),
    case(nested_loops_over_arrays, X3, 1.2),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, NESTED)
def test_nested_loops(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ============================================ examples/control_flow.py


def _grow_grad(x, limit):
    """d/dx of y <- y*y + x iterated until y > limit (the path taken at x)."""
    y, dy = x, 1.0
    while True:
        y, dy = y * y + x, 2 * y * dy + 1.0
        if y > limit:
            return (dy, 0.0)


EXAMPLE = load_example("control_flow")
EXAMPLES = [
    case(EXAMPLE.power, 1.5, 3, wrt=0, expected=lambda A, k: (k * A ** (k - 1),)),
    case(EXAMPLE.power, 0.7, 0, wrt=0, expected=lambda A, k: (0.0,)),
    case(EXAMPLE.grow, 0.9, 10.0, expected=_grow_grad),
    case(EXAMPLE.grow, 0.3, 0.2, expected=_grow_grad),
    case(EXAMPLE.clip_sum, 0.3, 6, wrt=0, expected=lambda x, n: (4.0,)),
    case(EXAMPLE.clip_sum, 0.05, 6, wrt=0, expected=lambda x, n: (15.0,)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, EXAMPLES)
def test_the_control_flow_example(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)
