"""Assignment forms (issue 3): augmented assignment, unpacking and swaps,
reassignment, subscript reads and writes on lists and arrays, writes into
argument arrays.

Every case runs in the modes of `control_harness.MODES` against central
differences and, where there is one, an analytic formula.  The harness also
checks, after every call of derivative code, that each argument holds either
its original value or what the original function leaves in it.
"""

import math

import numpy as np
import pytest

import s2s_ad as ad

from control_harness import CASE_FIELDS, MODES, case, check_derivatives

X3 = np.array([0.4, -1.1, 0.7])
W3 = np.array([1.5, 0.3, -0.8])
X23 = np.array([[0.4, -1.1, 0.7], [0.2, 0.9, -0.6]])
W23 = np.array([[1.5, 0.3, -0.8], [0.5, -1.2, 2.0]])

# ==================================================== augmented assignment


def augmented_add(x, y):
    z = x
    z += y * y
    return z * x


def augmented_sub(x, y):
    z = x * x
    z -= x * y
    return z * y


def augmented_mul(x, y):
    z = x + 1.0
    z *= y
    z *= z
    return z


def augmented_div(x, y):
    z = x * x
    z /= y
    return z + x


def augmented_pow(x, y):
    z = x
    z **= 3
    z **= y
    return z


def augmented_chain(x):
    z = x
    z += 1.0
    z *= x
    z -= 0.5
    z /= x
    z **= 2.0
    return z


def augmented_in_loop(x, n):
    s = 0.0
    for _i in range(n):
        s += x
        s *= x
    return s


def augmented_on_arrays(x, w):
    z = x * 1.0
    z += w
    z *= x
    z -= w * w
    z /= 2.0
    return np.sum(z)


AUGMENTED = [
    case(augmented_add, 1.3, -0.6, expected=lambda x, y: (2 * x + y * y, 2 * x * y)),
    case(augmented_sub, 1.3, -0.6, expected=lambda x, y: ((2 * x - y) * y, x * x - 2 * x * y)),
    case(
        augmented_mul,
        1.3,
        -0.6,
        expected=lambda x, y: (2 * (x + 1) * y * y, 2 * (x + 1) ** 2 * y),
    ),
    case(augmented_div, 1.3, -0.6, expected=lambda x, y: (2 * x / y + 1, -x * x / (y * y))),
    case(
        augmented_pow,
        1.3,
        0.7,
        expected=lambda x, y: (3 * y * x ** (3 * y - 1), 3 * x ** (3 * y) * math.log(x)),
    ),
    case(
        augmented_chain,
        1.3,
        expected=lambda x: (2 * (x + 1 - 0.5 / x) * (1 + 0.5 / (x * x)),),
    ),
    case(augmented_in_loop, 0.9, 3, wrt=0, expected=lambda x, n: (4 * x**3 + 3 * x**2 + 2 * x,)),
    case(augmented_on_arrays, X3, W3, expected=lambda x, w: ((2 * x + w) / 2, (x - 2 * w) / 2)),
    case(augmented_on_arrays, X23, W23, expected=lambda x, w: ((2 * x + w) / 2, (x - 2 * w) / 2)),
    case(
        augmented_on_arrays,
        X23,
        0.5,
        expected=lambda x, w: ((2 * x + w) / 2, float(np.sum(x - 2 * w)) / 2),
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, AUGMENTED)
def test_augmented_assignment(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ======================================== unpacking, swaps, reassignment


def tuple_unpacking(x, y):
    a, b = x * y, x + y
    return a * b


def nested_unpacking(x, y):
    (a, b), c = (x, y), x * y
    return a * c + b


def swap(x, y):
    x, y = y, x
    return x * x * y


def swap_in_loop(x, y, n):
    a, b = x, y
    for _i in range(n):
        a, b = b, a + b
    return a


def rotate_in_loop(x, y, z):
    for _i in range(3):
        x, y, z = y * z, math.sin(z), x
    return x + y * z


def unpack_array(v):
    a, b, c = v
    return a * b + c * c


def unpack_rows(X):
    top, bottom = X
    return np.sum(top * bottom)


def unpack_list(xs):
    a, b = xs
    return a * a * b


def reassignment(x):
    y = x * x
    y = y + x
    y = math.sin(y)
    return y * y


def reassign_argument(x, y):
    x = x * y
    x = x * x
    y = x + y
    return y


def reassign_int_then_float(x, n):
    k = n
    k = k * 2
    y = x
    y = y * k
    return y * x


def reassign_arrays(x, w):
    y = x * w
    y = np.sin(y)
    y = y * y + x
    return np.sum(y)


def reassign_in_a_branch(x: float, z: float):
    """The adjoint of exp reads its result `c`, then the stack gives `c` back its old
    value: `-1 * c` folded into a later product read the old one (found by hypothesis)."""
    c = z
    if x < 0.0:
        c = math.exp(math.sin(x))
    return x - c


UNPACKING = [
    case(tuple_unpacking, 1.3, -0.6, expected=lambda x, y: (2 * x * y + y * y, x * x + 2 * x * y)),
    case(nested_unpacking, 1.3, -0.6, expected=lambda x, y: (2 * x * y, x * x + 1)),
    case(swap, 1.3, -0.6, expected=lambda x, y: (y * y, 2 * x * y)),
    case(swap_in_loop, 1.3, -0.6, 5, wrt=(0, 1), expected=(3.0, 5.0)),
    case(swap_in_loop, 1.3, -0.6, 0, wrt=(0, 1), expected=(1.0, 0.0)),
    case(rotate_in_loop, 0.7, -0.4, 1.2),
    case(unpack_array, X3, expected=lambda v: (np.array([v[1], v[0], 2 * v[2]]),)),
    case(unpack_rows, X23, expected=lambda X: (X[::-1].copy(),)),
    case(unpack_list, [1.3, -0.6], expected=lambda xs: ([2 * xs[0] * xs[1], xs[0] ** 2],)),
    case(
        reassignment,
        0.8,
        expected=lambda x: (2 * math.sin(x * x + x) * math.cos(x * x + x) * (2 * x + 1),),
    ),
    case(reassign_argument, 1.3, -0.6, expected=lambda x, y: (2 * x * y * y, 2 * x * x * y + 1)),
    case(reassign_int_then_float, 1.3, 3, wrt=0, expected=lambda x, n: (4 * n * x,)),
    case(
        reassign_in_a_branch,
        -1.0,
        0.5,
        expected=lambda x, z: (1 - math.exp(math.sin(x)) * math.cos(x), 0.0),
    ),
    case(reassign_in_a_branch, 1.0, 0.5, expected=(1.0, -1.0)),
    case(reassign_arrays, X3, W3),
    case(reassign_arrays, X23, W23),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, UNPACKING)
def test_unpacking_swaps_and_reassignment(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# =========================================================== subscript reads


def list_reads(xs):
    return xs[0] * xs[2] + xs[-1] * xs[1]


def tuple_reads(t, y):
    return t[1] * y + t[0] * t[0]


def computed_index_reads(xs, i):
    return xs[i] * xs[i + 1] + xs[len(xs) - 1]


def array_reads(x):
    return x[0] * x[1] + x[-1] * x[-1]


def array_reads_2d(X):
    return X[0, 1] * X[1, 2] + np.sum(X[1] * X[0])


def reads_in_loop(x, w):
    s = 0.0
    for i in range(len(x)):
        s = s + w[i] * x[i] * x[i]
    return s


def list_reads_grad(xs):
    return ([xs[2], xs[2], xs[0] + xs[1]],)


def array_reads_2d_grad(X):
    g = np.zeros_like(X)
    g[0] = X[1]
    g[1] = X[0]
    g[0, 1] += X[1, 2]
    g[1, 2] += X[0, 1]
    return (g,)


READS = [
    case(list_reads, [0.4, -1.1, 0.7], expected=list_reads_grad),
    case(tuple_reads, (0.4, -1.1), 0.7, expected=lambda t, y: ((2 * t[0], y), t[1])),
    case(
        computed_index_reads,
        [0.4, -1.1, 0.7, 1.9],
        1,
        wrt=0,
        expected=lambda xs, i: ([0.0, xs[2], xs[1], 1.0],),
    ),
    case(
        array_reads,
        X3,
        expected=lambda x: (np.array([x[1], x[0], 2 * x[2]]),),
    ),
    case(array_reads_2d, X23, expected=array_reads_2d_grad),
    case(reads_in_loop, X3, W3, expected=lambda x, w: (2 * w * x, x * x)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, READS)
def test_subscript_reads(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ========================================== subscript writes on local values


def list_writes(x, y):
    ys = [0.0, 0.0, 0.0]
    ys[0] = x * x
    ys[1] = ys[0] * y
    ys[2] += ys[1]
    ys[0] = ys[0] * ys[0]
    return ys[2] + ys[0]


def list_element_overwritten_in_loop(x, y):
    ys = [x, y]
    for _i in range(3):
        ys[0] = math.sin(ys[0]) * ys[1]
        ys[1] = ys[1] * ys[0]
    return ys[0] + ys[1]


def list_augmented_elements(x):
    ys = [x, 2.0 * x]
    ys[1] *= ys[0]
    ys[0] **= 3
    ys[-1] -= x
    return ys[0] + ys[1]


def array_element_writes(x, w):
    z = np.zeros(3)
    for i in range(3):
        z[i] = x ** (i + 1)
    return np.sum(z * w)


def array_copy_then_writes(x):
    z = x * 1.0
    z[1] = z[0] * z[2]
    z[1] += z[1] * z[0]
    return np.sum(z * z)


def array_element_overwritten_in_loop(x):
    z = x * 1.0
    for _k in range(3):
        z[1] = np.sin(z[1]) * z[0]
    return np.sum(z * z)


def array_augmented_element_in_loop(x, a):
    z = x * 1.0
    for k in range(4):
        z[k % 3] *= a + z[(k + 1) % 3]
    return np.sum(z)


def array_2d_writes(X, a):
    Z = X * 1.0
    Z[0, 1] = a * Z[1, 2]
    Z[1] = Z[0] * a
    Z[1, 0] += a
    return np.sum(Z * Z)


def array_write_computed_index(x, a):
    z = x * 2.0
    n = len(z)
    z[n - 1] = a * z[0]
    z[n // 2] *= a
    return np.sum(z)


def list_writes_grad(x, y):
    return (2 * x * y + 4 * x**3, x * x)


def array_element_writes_grad(x, w):
    return (sum((i + 1) * x**i * w[i] for i in range(3)), np.array([x, x * x, x**3]))


def array_write_computed_index_grad(x, a):
    # z = [2 x0, 2 a x1, 2 a x0]
    return (np.array([2.0 + 2.0 * a, 2.0 * a, 0.0]), 2.0 * x[1] + 2.0 * x[0])


LOCAL_WRITES = [
    case(list_writes, 1.3, -0.6, expected=list_writes_grad),
    case(list_element_overwritten_in_loop, 0.9, 1.1),
    case(list_augmented_elements, 1.3, expected=lambda x: (3 * x * x + 4 * x - 1,)),
    case(array_element_writes, 1.3, W3, expected=array_element_writes_grad),
    case(array_copy_then_writes, X3),
    case(array_element_overwritten_in_loop, X3),
    case(array_augmented_element_in_loop, X3, 0.6),
    case(array_2d_writes, X23, 0.6),
    case(array_write_computed_index, X3, 0.6, expected=array_write_computed_index_grad),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, LOCAL_WRITES)
def test_subscript_writes(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ================================================ writes into arguments
#
# The function is differentiated as a function of the argument values at call
# time; the harness checks that after each call of derivative code the
# caller's array is either untouched or exactly what the original leaves.


def write_into_argument(x, a, b):
    x[0] = a * b
    return np.sum(x * x)


def augment_argument_element(x, a):
    x[1] += a * x[0]
    return np.sum(x * x)


def read_then_write_argument(x, a):
    first = x[0] * a
    x[0] = a
    return first + np.sum(np.sin(x))


def write_row_of_argument(X, a):
    X[1] = X[0] * a
    return np.sum(X * X)


def inplace_through_an_alias(x, a):
    y = x
    y *= a
    return np.sum(y * x)


def write_into_list_argument(xs, a):
    xs[0] = xs[0] * a
    return xs[0] * xs[1]


def cumulative_product_in_place(x):
    for i in range(1, len(x)):
        x[i] = x[i] * x[i - 1]
    return np.sum(x)


def write_into_argument_grad(x, a, b):
    return (np.array([0.0, 2 * x[1], 2 * x[2]]), 2 * a * b * b, 2 * a * a * b)


def augment_argument_element_grad(x, a):
    t = x[1] + a * x[0]
    return (np.array([2 * x[0] + 2 * t * a, 2 * t, 2 * x[2]]), 2 * t * x[0])


def read_then_write_argument_grad(x, a):
    return (np.array([a, math.cos(x[1]), math.cos(x[2])]), x[0] + math.cos(a))


def write_row_of_argument_grad(X, a):
    g = np.zeros_like(X)
    g[0] = 2 * X[0] * (1 + a * a)
    return (g, 2 * a * float(np.sum(X[0] * X[0])))


def cumulative_product_grad(x):
    x0, x1, x2 = x
    return (np.array([1 + x1 + x1 * x2, x0 + x0 * x2, x0 * x1]),)


ARGUMENT_WRITES = [
    case(write_into_argument, X3, 0.6, -1.4, expected=write_into_argument_grad),
    case(augment_argument_element, X3, 0.6, expected=augment_argument_element_grad),
    case(read_then_write_argument, X3, 0.6, expected=read_then_write_argument_grad),
    case(write_row_of_argument, X23, 0.6, expected=write_row_of_argument_grad),
    case(
        write_into_list_argument,
        [1.3, -0.6],
        0.7,
        expected=lambda xs, a: ([a * xs[1], a * xs[0]], xs[0] * xs[1]),
    ),
    case(cumulative_product_in_place, X3, expected=cumulative_product_grad),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, ARGUMENT_WRITES)
def test_writes_into_arguments(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


@pytest.mark.parametrize("mode", ["grad", "value_and_grad", "vjp", "jvp"])
def test_caller_array_is_untouched_or_as_the_original_leaves_it(mode):
    """The same property as the harness checks, spelled out for one function."""
    original = np.array([0.4, -1.1, 0.7])
    as_f_leaves_it = np.array([0.6 * -1.4, -1.1, 0.7])
    x = original.copy()
    if mode == "grad":
        ad.grad(write_into_argument, wrt=(0, 1, 2))(x, 0.6, -1.4)
    elif mode == "value_and_grad":
        ad.value_and_grad(write_into_argument, wrt=(0, 1, 2))(x, 0.6, -1.4)
    elif mode == "vjp":
        _, pullback = ad.vjp(write_into_argument, x, 0.6, -1.4)
        pullback(1.0)
        pullback(1.0)
    else:
        ad.jvp(write_into_argument, (x, 0.6, -1.4), (np.ones(3), 1.0, 1.0))
    assert np.array_equal(x, original) or np.array_equal(x, as_f_leaves_it), x


def test_in_place_update_through_an_alias_changes_both_names_where_the_arrays_are_shared():
    """`y = x; y *= a` changes `x` in Python, and `x` is read after: the function is
    sum(a^2 x^2) (the derivative of values used to give 2 a x where 2 a^2 x is right), in
    every transform, and the caller's array stays as it was; a float parameter rebinds."""
    x, a = X3.copy(), 0.6
    gx, ga = ad.grad(inplace_through_an_alias, wrt=(0, 1))(x, a)
    np.testing.assert_allclose(gx, 2 * a * a * X3, rtol=1e-12)
    assert ga == pytest.approx(2 * a * np.sum(X3 * X3), rel=1e-12)
    _, tangent = ad.jvp(inplace_through_an_alias, (x, a), (X3, 1.0))
    assert tangent == pytest.approx(2 * a * a * np.sum(X3 * X3) + ga, rel=1e-12)
    value, pullback = ad.vjp(inplace_through_an_alias, x, a)
    assert value == pytest.approx(a * a * np.sum(X3 * X3), rel=1e-12)
    for _ in range(3):
        np.testing.assert_allclose(pullback(1.0)[0], gx, rtol=1e-12)
    np.testing.assert_array_equal(x, X3)
    assert ad.grad(inplace_through_an_alias, wrt=(0, 1))(1.5, 0.6) == pytest.approx(
        (2 * 0.6 * 1.5, 1.5 * 1.5)
    )
