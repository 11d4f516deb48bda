"""Array writes have value semantics (issue 16, minimal cases 1-9 and 13).

Each function below is one of the issue's minimal cases of a silently wrong
derivative.  Every case is checked in every mode by ``check_derivatives``
(grad, value_and_grad, vjp with the pullback called three times, jvp along
each direction, forward columns against reverse rows), against central
differences; then the Hessian-vector product against differences of the
gradient, and the caller's arrays, which no transform may change, even where
the function writes into its argument.  Writes through a second name holding
the same array are refused with a clear error instead.
"""

import numpy as np
import pytest

import s2s_ad as ad

from conftest import extrapolated_difference
from control_harness import CASE_FIELDS, MODES, case, check_derivatives

RNG = np.random.default_rng(16)
W = RNG.normal(size=(3, 3))
X = RNG.normal(size=3) + 1.0


def row_scaled(w, s):  # 1: grad gave d/ds 0.385 where 0.55 is right
    m = w + 0.0
    m[0] *= s
    return np.sum(m * 0.5)


def row_scaled_then_summed(w, s):  # 2: the pullback read rows changed after the sweep
    m = w + 0.0
    m[0] *= s
    return np.sum(m)


def slice_written_twice(y):  # 2
    y = y + 0.0
    y[1:] = np.sin(y[1:])
    y[1:] = np.sin(y[1:])
    return np.sum(y * y)


def slice_scaled_then_doubled(x, s):  # 3: the optimizer broke the slice write
    y = x + 0.0
    y[1:] *= s
    y = y + y
    return np.sum(y)


def loop_over_a_rebound_name(y):  # 4: the loop walked the rebound y
    total = 0.0
    for v in y:
        total = total + v * v
        y = y * 2.0
    return total


def rows_rewritten_in_a_loop(m):  # 7: later calls of the pullback were wrong
    m = m + 0.0
    for _ in range(3):
        m = np.sin(m)
        m[1:] *= 0.5
    return np.sum(m * m)


def scales_its_argument(x, s):  # 8: d/ds 3.24 where -4.63 is right; caller changed
    x[1:] *= s
    return x @ x


def doubles_its_argument(x):  # 8: jvp gave 0.0 where 4.0 is right
    x *= 2.0
    return np.sum(x * x)


def every_other_scaled_in_a_loop(u, s):  # 9: HVP wrong while the gradient was right
    u = u + 0.0
    for _ in range(2):
        u = np.sin(u)
        u[::2] *= s
    return np.sum(u * u)


def nested_item_written(w, s):
    m = w * 1.0
    m[1][2] = m[0][1] * s
    return np.sum(m * m)


def elements_in_a_loop(x, s):
    y = np.zeros(4)
    y[0] = x[0]
    for i in range(1, 4):
        y[i] = np.sin(y[i - 1]) * s + x[i % 3]
    return np.sum(y * y)


def slice_scaled_in_each_trip(x, w):  # the trips' zero cotangent was indexed: a crash
    for _ in range(2):
        a = np.tanh(w * x)
        b = a + 0.0
        b[:3] *= np.exp(-x * x)
    return np.sum(b)


def item_scaled_beside_a_broadcast_sum(x, w):  # a number stood for b's cotangent: a crash
    for _ in range(2):
        b = w * 1.0
        b[-1] *= x
        c = np.exp(-w * w) + b * 0.3
    return np.sum(c) * 0.0 + np.mean(c)


CASES = [
    case(slice_scaled_in_each_trip, 0.3, np.array([0.5, -0.2, 0.9, 0.1])),
    case(item_scaled_beside_a_broadcast_sum, 0.3, np.array([0.5, -0.2, 0.9, 0.1])),
    case(row_scaled, W, 1.3),
    case(row_scaled_then_summed, W, 1.3),
    case(slice_written_twice, X),
    case(slice_scaled_then_doubled, X, 1.3),
    case(loop_over_a_rebound_name, np.array([0.5, 1.0, 2.0])),
    case(rows_rewritten_in_a_loop, X),
    case(scales_its_argument, X, 1.3),
    case(doubles_its_argument, X),
    case(every_other_scaled_in_a_loop, X, 1.3),
    case(nested_item_written, W, 0.7),
    case(elements_in_a_loop, X, 0.8),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, CASES)
def test_writes_are_values(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt, expected, fd)


@pytest.mark.parametrize(CASE_FIELDS, CASES)
def test_hessian_vector_products_of_writes(f, args, wrt, expected, fd):
    positions = tuple(range(len(args)))
    v = tuple(RNG.normal(size=np.shape(a)) if np.ndim(a) else 0.7 for a in args)
    ours = ad.hvp(f, wrt=positions)(*[np.copy(a) for a in args], v)
    ours = ours if len(positions) > 1 else (ours,)

    def directional(*point):  # the gradient along v, a function of the point
        grads = ad.grad(f, wrt=positions)(*[np.copy(p) for p in point])
        return sum(float(np.sum(g * t)) for g, t in zip(grads, v))

    for p, h in enumerate(ours):
        reference = extrapolated_difference(directional, [np.copy(a) for a in args], p)
        np.testing.assert_allclose(h, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(CASE_FIELDS, CASES)
def test_no_transform_changes_the_callers_arrays(f, args, wrt, expected, fd):
    given = [np.copy(a) for a in args]
    ones = tuple(np.ones_like(a) if np.ndim(a) else 1.0 for a in args)
    positions = tuple(range(len(args)))
    calls = {
        "grad": lambda a: ad.grad(f, wrt=positions)(*a),
        "value_and_grad": lambda a: ad.value_and_grad(f, wrt=positions)(*a),
        "vjp": lambda a: ad.vjp(f, *a, wrt=positions)[1](1.0),
        "jvp": lambda a: ad.jvp(f, tuple(a), ones),
        "hvp": lambda a: ad.hvp(f, wrt=positions)(*a, ones),
    }
    for name, call in calls.items():
        caller = [np.copy(a) for a in args]
        call(caller)
        for before, after in zip(given, caller):
            np.testing.assert_array_equal(after, before, err_msg=f"{name} changed an argument")


# ------------------------------------------------------------ writes through views and aliases
# Python writes into the shared object, so the base (or the view) changes too; s2s_ad makes
# the write to both where the view is the base taken whole or by a constant basic index.


def write_through_a_view(x, s):
    m = x + 0.0
    v = m[1:]
    v *= s
    return np.sum(m * m)


def write_through_an_alias(x):
    m = x + 0.0
    b = m
    b[0] = b[0] * b[1]
    return np.sum(m * x)


def scaled_through_an_alias(x, s):
    m = x + 0.0
    b = m
    b *= s
    return np.sum(m * x) + np.sum(b)


def item_written_through_a_view(x, s):
    m = x * 1.0
    v = m[1:]
    v[0] = v[1] * s
    return np.sum(m * m) + np.sum(v)


def write_under_a_live_view(x, s):
    m = x * 1.0
    v = m[0:2]
    m[0] = 7.0 * s
    m *= s
    return np.sum(v * x[:2])


def row_view_scaled(w, s):
    m = w * 1.0
    row = m[1]
    column = m[:, 0]
    last = m[..., -1]
    row *= s
    column[2] = s * s
    last += s
    return np.sum(m * m) + np.sum(row * column)


def view_written_in_a_loop(x, s):
    m = x * 1.0
    v = m[1:]
    for _ in range(3):
        v *= s
        v[0] = np.sin(v[0])
        m[0] = m[0] + v[1]
    return np.sum(m * m)


def view_written_in_branches(x, s):
    m = x * 1.0
    v = m[:2]
    if s > 1.0:
        v *= s
    else:
        v[1] = s * s
    if x[0] > 0.0:
        m[1] = m[1] * s
    return np.sum(m * m) + np.sum(v)


def view_taken_in_one_branch(x, s):
    m = x * 1.0
    v = m + 0.0
    if s > 1.0:
        v = m[1:]  # a view on this path only: checked at run time
    v *= s
    return np.sum(m * m) + np.sum(v)


def copy_of_a_list_written(x, s):
    m = [x[0] * 1.0, x[1] * 1.0, x[2] * 1.0]
    v = m[1:]  # a list slice is a copy: m keeps its items
    v[0] = v[0] * s
    return m[0] * m[1] + v[0] * v[1]


def float_alias_scaled(x, s):
    a = s * 1.0
    b = a
    b *= 2.0  # a float rebinds: a keeps its value
    return a * b + np.sum(x * b)


def alias_copied_after_a_write(x, s):
    """`x -= ...` resyncs the alias `a`, whose new value `d = a` then copied: the copy
    took over the temporary `a` still named, so `a * s` read an unbound name."""
    a = x
    d = s
    if s > 0.5:
        s /= 2.0
    x -= s
    d = a
    return np.sum(a * s - d * d)


def entry_alias_scaled(x, s):
    m = x * 1.0
    e = m[1]  # one entry of a vector is a number, not a view
    e *= s
    return np.sum(m * m) + e


def array_in_a_list_scaled(x, s):
    m = [x * 1.0, x * 2.0]
    v = m[0]  # the list's item itself: the write is made to the list too
    v *= s
    return m[0] @ m[1] + np.sum(v)


def _pair(x):
    return (np.sin(x), {"k": x * x})


def array_in_a_returned_tuple_scaled(x, s):
    pair = _pair(x)
    a = pair[0]  # the tuple's item: the write makes a new tuple holding it
    d = pair[1]  # the other item, taken again from that tuple after the write
    a += s
    return np.sum(a * d["k"]) + np.sum(pair[0]) * s


def dict_alias_written(x, s):
    d = {"a": x * 1.0}
    e = d
    e["a"] = e["a"] * s
    return d["a"] @ x


VIEW_CASES = [
    case(write_through_a_view, X, 1.3),
    case(write_through_an_alias, X),
    case(scaled_through_an_alias, X, 1.3),
    case(item_written_through_a_view, X, 0.7),
    case(write_under_a_live_view, X, 1.3),
    case(row_view_scaled, W, 0.8),
    case(view_written_in_a_loop, X, 0.9),
    case(view_written_in_branches, X, 1.3),
    case(view_written_in_branches, X, 0.6),
    case(view_written_in_branches, -X, 0.6),
    case(view_taken_in_one_branch, X, 1.3),
    case(view_taken_in_one_branch, X, 0.7),
    case(copy_of_a_list_written, X, 1.3),
    case(float_alias_scaled, X, 1.3),
    case(alias_copied_after_a_write, X, 1.3),
    case(alias_copied_after_a_write, X, 0.3),
    case(alias_copied_after_a_write, 0.8, 1.3),
    case(entry_alias_scaled, X, 1.3),
    case(dict_alias_written, X, 1.3),
    case(array_in_a_list_scaled, X, 1.3),
    case(array_in_a_returned_tuple_scaled, X, 1.3),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, VIEW_CASES)
def test_writes_through_views_are_made_to_both(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt, expected, fd)


@pytest.mark.parametrize(CASE_FIELDS, VIEW_CASES)
def test_hessian_vector_products_through_views(f, args, wrt, expected, fd):
    test_hessian_vector_products_of_writes(f, args, wrt, expected, fd)


@pytest.mark.parametrize(CASE_FIELDS, VIEW_CASES)
def test_writes_through_views_leave_the_callers_arrays(f, args, wrt, expected, fd):
    test_no_transform_changes_the_callers_arrays(f, args, wrt, expected, fd)


# ------------------------------------------------------------ refused writes


def write_through_a_transposed_view(x):
    m = np.outer(x, x)
    v = m.T  # a view that is not base[index]
    v *= 3.0
    return np.sum(m * m)


def write_through_a_view_of_a_view(x):
    m = x + 0.0
    a = m[1:]
    b = a[1:]
    b *= 3.0
    return np.sum(m * m)


def write_into_an_array_held_twice(x):
    y = x * 1.0
    m = (y, y)
    v = m[0]  # both items hold it: Python's write changes both, refused at run time
    v *= 3.0
    return m[1] @ x


def write_through_a_view_in_a_checkpointed_loop(x):
    m = x + 0.0
    v = m[1:]
    for _ in ad.checkpointed(range(3)):  # its restores copy: v and m would come apart
        v *= 3.0
    return np.sum(m * m)


def write_through_views_that_alternate(x):
    m = x + 0.0
    v = m[1:]
    for i in range(2):
        if i == 0:
            v = m[:2]
        else:
            v = m[1:]
        v *= 3.0  # the paths disagree on the index: refused where they share
    return np.sum(m * m)


def write_through_a_view_at_a_variable_index(x):
    m = x + 0.0
    k = int(x.shape[0]) - 2
    v = m[k:]
    v *= 3.0
    return np.sum(m * m)


def write_under_a_view_bound_on_both_paths(x):
    m = x + 0.0
    if x[0] > 0.0:
        v = m[1:]
        if x[1] > 0.0:  # a branch inside one path: `v` is bound on both all the same
            t = 2.0
        else:
            t = 3.0
    else:
        v = m[:2]
        t = 1.0
    m *= t
    return np.sum(m * m) + np.sum(v)


def write_into_the_walked_array(u):
    u = u * 1.0
    total = 0.0
    for e in u:
        total = total + e * e
        u[::2] -= 0.3
        u = u * 0.5
    return total


def write_into_a_row_of_the_walked_matrix(w):
    w = w * 1.0
    for row in w:
        row[0] = 0.0
    return np.sum(w * w)


def _writes_into_its_parameter(u):
    u[0] = 0.0


def calls_a_helper_that_writes_into_its_argument(x):
    m = x * 1.0
    _writes_into_its_parameter(m)
    return np.sum(m * m)


@pytest.mark.parametrize(
    "f, message",
    [
        (write_through_a_transposed_view, "writes into `v`, which holds the same array as `m`"),
        (write_through_a_view_of_a_view, "writes into `b`, which holds the same array as `m`"),
        (write_into_an_array_held_twice, "writes into `v`, which holds the same array as `m`"),
        (
            write_through_a_view_in_a_checkpointed_loop,
            "writes into `v`, which holds the same array as `m`",
        ),
        (write_through_views_that_alternate, "writes into `v`, which holds the same array as `m`"),
        (
            write_through_a_view_at_a_variable_index,
            "writes into `v`, which holds the same array as `m`",
        ),
        (
            write_under_a_view_bound_on_both_paths,
            "writes into `m`, which holds the same array as `v`",
        ),
        (write_into_the_walked_array, "writes into `u`, which a `for` loop around it is walking"),
        (write_into_a_row_of_the_walked_matrix, "writes into `row`, which a `for` loop around"),
        (calls_a_helper_that_writes_into_its_argument, "writes into its parameter `u`"),
    ],
)
def test_writes_through_a_second_name_are_refused(f, message):
    x = W if f is write_into_a_row_of_the_walked_matrix else X
    for call in (lambda: ad.grad(f)(x.copy()), lambda: ad.jvp(f, (x.copy(),), (x,))):
        with pytest.raises(ad.TransformError, match=message) as info:
            call()
        assert "s2s_ad differentiates values" in str(info.value)


def test_a_float_rebinding_passes_the_check():
    def f(x, a):
        y = x
        y += a
        return y * x

    assert ad.grad(f, wrt=(0, 1))(1.5, 0.5) == pytest.approx((2 * 1.5 + 0.5, 1.5))


# ------------------------------------------------------------ gradient types (13)


def scaled_sum(s, a):
    return np.sum(s * a)


def test_a_float_beside_a_float32_array_gets_a_float_gradient():
    a = np.ones(3, dtype=np.float32)
    gs, ga = ad.grad(scaled_sum, wrt=(0, 1))(0.5, a)
    assert type(gs) is float and gs == pytest.approx(3.0)
    assert ga.dtype == np.float32 and ga.shape == (3,)


def checkpointed_power(x, n):
    for _ in ad.checkpointed(range(n)):
        x = x * 1.1
    return x


def test_a_float_through_a_checkpointed_loop_gets_a_float_gradient():
    g = ad.grad(checkpointed_power)(0.5, 3)
    assert type(g) is float and g == pytest.approx(1.1**3)


# ------------------------------------------------------------ a flag the branch assigns


def returns_from_nested_loops(x, s):  # the fuzzer's last silent wrong: grad 0 everywhere
    a = s * 1.0
    c = np.sum(x) * 0.5
    for _ in x:
        for _ in (s, 0.5):
            if x[-1] <= 0.5:
                return np.sum(x) + a * c
        if s < 0.5:
            return a * c + 0.5
    return a * c


def flag_assigned_in_its_branch(x, n):
    done = False
    total = 0.0
    for _ in range(n):
        if done:
            total = total + x * x
        else:
            total = total + 3.0 * x
            done = True
    return total


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    CASE_FIELDS,
    [
        case(returns_from_nested_loops, np.array([-0.039, -0.2, 0.877]), -1.499, wrt=(0, 1)),
        case(returns_from_nested_loops, np.array([-0.039, -0.2, 0.2]), -1.499, wrt=(0, 1)),
        case(flag_assigned_in_its_branch, 0.7, 3, wrt=0),
    ],
)
def test_a_branch_is_reversed_on_the_value_its_test_saw(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt, expected, fd)


# ------------------------------------------- calls that write into an argument


def adds_at_repeated_indices(x):
    y = np.zeros(3)
    np.add.at(y, np.array([0, 0, 2]), x)
    return np.sum(y**2)


def copies_into_a_buffer(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y**2)


def multiplies_into_out(x):
    y = np.zeros(3)
    np.multiply(x, x, out=y)
    return np.sum(y)


def fills_a_copy(x):
    y = x.copy()
    y.fill(2.0)
    return np.sum(y * x)


def sorts_a_copy_in_place(x):
    y = x.copy()
    y.sort()
    return y[0] * 3 + y[2]


def inserts_into_a_list(x):
    items = [x[0], 3.0]
    items.insert(0, x[1] * x[1])
    return items[0] + 2 * items[1]


def reverses_a_list(x):
    items = [x[0], x[1]]
    items.reverse()
    return items[0] * 5 + items[1]


def updates_a_dict(x):
    d = {"a": x[0]}
    d.update(b=x[1] * x[1])
    return d["a"] + d["b"]


def adds_into_a_positional_out(x):
    y = np.zeros(3)
    np.add(x, x, y)
    return np.sum(y**2)


def shuffles_a_copy(x):
    y = x.copy()
    np.random.default_rng(0).shuffle(y)
    return y[0] * 2 + y[1]


def sorts_by_the_unbound_method(x):
    y = x.copy()
    np.ndarray.sort(y)
    return y[0] * 2 + y[1]


@pytest.mark.parametrize(
    "f, message",
    [
        (adds_into_a_positional_out, "`np.add` with an output argument writes its result"),
        (shuffles_a_copy, r"`.shuffle\(\)` changes its list, dict or array in place"),
        (sorts_by_the_unbound_method, "`np.ndarray.sort` changes its list, dict or array"),
        (adds_at_repeated_indices, "`np.add.at` writes into its argument in place"),
        (copies_into_a_buffer, "`np.copyto` writes into its argument in place"),
        (multiplies_into_out, r"`np.multiply\(..., out=...\)` writes its result into"),
        (fills_a_copy, r"`.fill\(\)` changes its list, dict or array in place"),
        (sorts_a_copy_in_place, r"`.sort\(\)` changes its list, dict or array in place"),
        (inserts_into_a_list, r"`.insert\(\)` changes its list, dict or array in place"),
        (reverses_a_list, r"`.reverse\(\)` changes its list, dict or array in place"),
        (updates_a_dict, r"`.update\(\)` changes its list, dict or array in place"),
    ],
)
def test_calls_writing_a_varied_argument_are_refused(f, message):
    """These gave a zero or stale derivative (and `out=` a wrong value) without a word."""
    x = np.array([1.0, 2.0, 0.5])
    for call in (lambda: ad.grad(f)(x.copy()), lambda: ad.jvp(f, (x.copy(),), (x,))):
        with pytest.raises(ad.TransformError, match=message) as info:
            call()
        assert "s2s_ad differentiates values" in str(info.value)
        assert info.value.lineno == f.__code__.co_firstlineno + 2


def sorts_constant_indices(x):
    order = [2, 0, 1]
    order.sort()
    backwards = list(range(3))
    backwards.reverse()
    return x[order[0]] ** 2 * x[backwards[0]]


def test_in_place_methods_of_constants_still_run():
    x = np.array([1.0, 2.0, 3.0])
    expected = np.array([2 * x[0] * x[2], 0.0, x[0] ** 2])  # d(x0^2 x2)
    for optimize in (True, False):
        np.testing.assert_allclose(ad.grad(sorts_constant_indices, optimize=optimize)(x), expected)
    fd = extrapolated_difference(sorts_constant_indices, (x,), 0)
    np.testing.assert_allclose(expected, fd, rtol=1e-7)
