"""Containers (issue 3): lists, tuples and dicts as arguments and return values,
and list comprehensions and generator expressions inside sum / min / max.

A gradient has the structure of its argument: a tuple stays a tuple, a list a
list, a dict keeps its keys, an array its shape and dtype, a float is a
float; a tangent or a value has the structure of the output.  The harness
(`control_harness`) checks all of this in every mode, against central
differences and, where there is one, an analytic formula.
"""

import math

import numpy as np
import pytest

import s2s_ad as ad

from control_harness import CASE_FIELDS, MODES, assert_structure, case, check_derivatives

X3 = np.array([0.4, -1.1, 0.7])
W3 = np.array([1.5, 0.3, -0.8])
X23 = np.array([[0.4, -1.1, 0.7], [0.2, 0.9, -0.6]])
W23 = np.array([[1.5, 0.3, -0.8], [0.5, -1.2, 2.0]])
COEFFS = (0.5, -1.0, 2.0)

# ====================================================== containers in


def list_argument(xs):
    return xs[0] * xs[1] + xs[2] ** 2


def tuple_argument(t):
    a, b = t
    return a * math.exp(b)


def dict_argument(p, x):
    return p["w"] * x + p["b"]


def unused_entries(xs, p):
    return xs[0] * xs[2] + p["used"]


def list_of_arrays(xs):
    s = 0.0
    for v in xs:
        s = s + np.sum(v * v * v)
    return s


def mixed_list(items):
    scale, v = items
    return scale * np.sum(np.sin(v))


def nested_parameters(params, x):
    W1, W2 = params["layers"]
    (b,) = params["bias"]
    h = np.tanh(x * W1 + b)
    return np.sum(h * W2) + params["scale"] * np.sum(x)


def loop_over_keys(p):
    s = 0.0
    for key in ("a", "b", "c"):
        s = s + p[key] * p[key] * len(key)
    return s * p["a"]


def containers_built_inside(x, y):
    pair = (x, y)
    table = {"a": x, "b": y * y}
    items = [pair[0] * table["b"], table["a"]]
    return items[0] * items[1] + pair[1]


PARAMS = {"layers": [X3, W3], "bias": (0.2,), "scale": 0.5}

IN = [
    case(list_argument, [1.3, -0.6, 0.9], expected=lambda xs: ([xs[1], xs[0], 2 * xs[2]],)),
    case(
        tuple_argument, (1.3, -0.6), expected=lambda t: ((math.exp(t[1]), t[0] * math.exp(t[1])),)
    ),
    case(
        dict_argument,
        {"w": 1.3, "b": -0.6},
        0.9,
        expected=lambda p, x: ({"w": x, "b": 1.0}, p["w"]),
    ),
    case(
        dict_argument,
        {"w": X3, "b": 0.5},
        W3,
        # Jacobians of the output by the flattened argument (p: w's entries, then b).
        expected=lambda p, x: (np.hstack([np.diag(x), np.ones((3, 1))]), np.diag(p["w"])),
        id="dict_argument-arrays-vector_output",
    ),
    case(
        unused_entries,
        [1.3, -0.6, 0.9],
        {"used": 2.0, "unused": 3.0},
        expected=lambda xs, p: ([xs[2], 0.0, xs[0]], {"used": 1.0, "unused": 0.0}),
    ),
    case(list_of_arrays, [X3, W3], expected=lambda xs: ([3 * v * v for v in xs],)),
    case(list_of_arrays, [X23, W23, X23[0]], expected=lambda xs: ([3 * v * v for v in xs],)),
    case(list_of_arrays, (X23, W3), expected=lambda xs: (tuple(3 * v * v for v in xs),)),
    case(
        mixed_list,
        [1.3, X23],
        expected=lambda items: ([float(np.sum(np.sin(items[1]))), items[0] * np.cos(items[1])],),
    ),
    case(nested_parameters, PARAMS, X3),
    case(nested_parameters, {"layers": [X23, W23], "bias": (0.2,), "scale": -1.5}, X23),
    case(
        loop_over_keys,
        {"a": 1.3, "b": -0.6, "c": 0.9},
        expected=lambda p: (
            {
                "a": 3 * p["a"] ** 2 + p["b"] ** 2 + p["c"] ** 2,
                "b": 2 * p["b"] * p["a"],
                "c": 2 * p["c"] * p["a"],
            },
        ),
    ),
    case(
        containers_built_inside,
        1.3,
        -0.6,
        expected=lambda x, y: (2 * x * y * y, 2 * x * x * y + 1),
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, IN)
def test_containers_as_arguments(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ====================================================== containers out


def return_tuple(x, y):
    return x * y, x + y


def return_list(x, y):
    return [x * y, math.sin(x)]


def return_dict(x, y):
    return {"product": x * y, "ratio": x / y}


def return_nested(x, v):
    return {"pair": (x * x, v * x), "list": [np.sum(v)]}


def return_a_container_argument_transformed(xs, a):
    return [a * v for v in xs]


def return_from_a_loop(xs):
    total = 0.0
    partial = []
    for v in xs:
        total = total + v * v
        partial = partial + [total]
    return partial


OUT = [
    case(
        return_tuple,
        1.3,
        -0.6,
        expected=lambda x, y: (np.array([[y], [1.0]]), np.array([[x], [1.0]])),
    ),
    case(
        return_list,
        1.3,
        -0.6,
        expected=lambda x, y: (np.array([[y], [math.cos(x)]]), np.array([[x], [0.0]])),
    ),
    case(
        return_dict,
        1.3,
        -0.6,
        expected=lambda x, y: (np.array([[y], [1 / y]]), np.array([[x], [-x / (y * y)]])),
    ),
    case(return_nested, 1.3, X3),
    case(return_nested, 1.3, X23),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, OUT)
def test_containers_as_return_values(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


def test_structure_of_results_spelled_out():
    """What the harness checks generically, written out once for each container type."""
    grad = ad.grad(tuple_argument)((1.3, -0.6))
    assert type(grad) is tuple and len(grad) == 2 and all(type(g) is float for g in grad)
    grad = ad.grad(list_argument)([1.3, -0.6, 0.9])
    assert type(grad) is list and len(grad) == 3 and all(type(g) is float for g in grad)
    grad = ad.grad(dict_argument)({"w": 1.3, "b": -0.6}, 0.9)
    assert type(grad) is dict and set(grad) == {"w", "b"}
    assert grad == pytest.approx({"w": 0.9, "b": 1.0})
    grad = ad.grad(nested_parameters)(PARAMS, X3)
    assert_structure(grad, PARAMS, "gradient of nested_parameters")
    out, tangent = ad.jvp(return_dict, (1.3, -0.6), (1.0, None))
    assert type(out) is dict and type(tangent) is dict and set(tangent) == {"product", "ratio"}
    assert tangent == pytest.approx({"product": -0.6, "ratio": 1 / -0.6})
    out, pullback = ad.vjp(return_tuple, 1.3, -0.6)
    assert type(out) is tuple
    assert pullback((1.0, 0.0)) == pytest.approx((-0.6, 1.3))
    assert pullback((0.0, 1.0)) == pytest.approx((1.0, 1.0))


def test_float32_arrays_in_a_list_keep_their_dtype():
    xs = [X3.astype(np.float32), W3.astype(np.float32)]
    grad = ad.grad(list_of_arrays)(xs)
    assert type(grad) is list
    for g, v in zip(grad, xs):
        assert g.dtype == np.float32 and g.shape == v.shape
        np.testing.assert_allclose(g, 3 * v.astype(np.float64) ** 2, rtol=1e-5)


# ================================= comprehensions in sum / min / max


def sum_of_list_comprehension(xs):
    return sum([v * v for v in xs])


def sum_of_generator(xs):
    return sum(v * v for v in xs)


def min_of_generator(xs):
    return min(v * v for v in xs)


def max_of_generator(xs):
    return max(abs(v) for v in xs)


def max_of_list_comprehension(x, y):
    return max([x * y, x + y, 1.0])


def filtered_sum(xs):
    return sum(v * v * v for v in xs if v > 0.0)


def nested_generator(x, y):
    return sum(x[i] * y[j] for i in range(3) for j in range(i + 1))


def generator_over_range(x, n):
    return sum(x**i for i in range(n))


def generator_over_zip(xs, ys):
    return sum(a * b for a, b in zip(xs, ys))


def generator_over_rows(X):
    return sum(np.sum(r * r) for r in X)


def generator_with_enumerate(x):
    return sum(c * x**k for k, c in enumerate(COEFFS))


def comprehension_then_loop(xs, a):
    ys = [a * v for v in xs]
    s = 0.0
    for y in ys:
        s = s + y * y
    return s


def nested_generator_grads(x, y):
    # sum over i, j <= i of x_i y_j: d/dx_i = sum_{j<=i} y_j, d/dy_j = sum_{i>=j} x_i
    return (np.cumsum(y), np.cumsum(x[::-1])[::-1].copy())


LIST3 = [0.4, -1.1, 0.7]

COMPREHENSIONS = [
    case(sum_of_list_comprehension, LIST3, expected=lambda xs: ([2 * v for v in xs],)),
    case(sum_of_list_comprehension, X3, expected=lambda xs: (2 * xs,)),
    case(sum_of_generator, LIST3, expected=lambda xs: ([2 * v for v in xs],)),
    case(sum_of_generator, X3, expected=lambda xs: (2 * xs,)),
    case(min_of_generator, LIST3, expected=([0.8, 0.0, 0.0],)),
    case(max_of_generator, LIST3, expected=([0.0, -1.0, 0.0],)),
    case(max_of_generator, X3, expected=(np.array([0.0, -1.0, 0.0]),)),
    case(max_of_list_comprehension, 1.3, 0.9, expected=lambda x, y: (1.0, 1.0)),
    case(max_of_list_comprehension, 3.0, 2.0, expected=lambda x, y: (y, x)),
    case(max_of_list_comprehension, 0.3, 0.2, expected=(0.0, 0.0)),
    case(filtered_sum, LIST3, expected=lambda xs: ([3 * v * v if v > 0 else 0.0 for v in xs],)),
    case(nested_generator, X3, W3, expected=nested_generator_grads),
    case(
        generator_over_range,
        0.7,
        5,
        wrt=0,
        expected=lambda x, n: (sum(i * x ** (i - 1) for i in range(1, n)),),
    ),
    case(generator_over_zip, LIST3, [1.5, 0.3, -0.8], expected=lambda xs, ys: (list(ys), list(xs))),
    case(generator_over_zip, X3, W3, expected=lambda xs, ys: (ys, xs)),
    case(generator_over_rows, X23, expected=lambda X: (2 * X,)),
    case(generator_with_enumerate, 1.3, expected=lambda x: (-1.0 + 4.0 * x,)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, COMPREHENSIONS)
def test_comprehensions_in_sum_min_max(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


@pytest.mark.parametrize("mode", MODES)
def test_a_list_comprehension_assigned_then_walked(mode):
    # s = a^2 sum v^2: ds/dv = 2 a^2 v, ds/da = 2 a sum v^2
    xs, a = [0.4, -1.1, 0.7], 1.3
    expected = ([2 * a * a * v for v in xs], 2 * a * sum(v * v for v in xs))
    check_derivatives(mode, comprehension_then_loop, (xs, a), wrt=(0, 1), expected=expected)


def test_a_returned_list_comprehension_in_both_modes():
    xs, a = [0.4, -1.1, 0.7], 1.3
    out, pullback = ad.vjp(return_a_container_argument_transformed, xs, a)
    assert out == pytest.approx([a * v for v in xs])
    cotangent = [1.0, 2.0, -1.0]
    dxs, da = pullback(cotangent)
    assert dxs == pytest.approx([a * c for c in cotangent])
    assert da == pytest.approx(sum(v * c for v, c in zip(xs, cotangent)))
    _, tangent = ad.jvp(return_a_container_argument_transformed, (xs, a), ([0.0] * 3, 1.0))
    assert tangent == pytest.approx(xs)


def test_joining_lists_with_plus_in_both_modes():
    """`partial = partial + [total]` joins lists: both modes follow each item."""
    xs = [1.3, -0.6, 0.9]
    _, tangent = ad.jvp(return_from_a_loop, (xs,), ([1.0, 0.0, 0.0],))
    assert tangent == pytest.approx([2.6, 2.6, 2.6])
    (cotangent,) = ad.vjp(return_from_a_loop, xs)[1]([1.0, 1.0, 1.0])
    # partial[k] = sum_{j<=k} x_j^2: x_j reaches the len(xs) - j partial sums after it
    assert cotangent == pytest.approx([2 * v * (len(xs) - j) for j, v in enumerate(xs)])
