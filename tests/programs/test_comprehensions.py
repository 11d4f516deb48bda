"""Lists and other containers as people write them (issue 18): comprehensions anywhere,
``list``/``tuple``/``dict`` constructors, ``+`` and ``*`` on lists, ``np.mean``/``np.std``/
``np.var``/``np.array`` of lists, and ``*args``/``**kwargs``.

Each program is checked in every mode against central differences
(``control_harness.check_derivatives``), and at second order: the HVP
(forward-over-reverse) and reverse-over-reverse against central differences of the
gradient.  What stays refused is refused in the user's words.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference
from control_harness import MODES, check_derivatives

X = np.array([0.3, 0.5, -0.7])


# ============================================================ comprehensions


def assigned_comprehension(x):
    ys = [np.sin(v) * x[0] for v in x]
    return ys[0] * ys[2] + ys[1]


def stacked_comprehension(x):
    return np.sum(np.stack([x * (i + 1) for i in range(3)]) ** 2)


def arrayed_comprehension(x):
    return np.sum(np.array([x[i] ** (i + 1) for i in range(len(x))]) * 2.0)


def concatenated_comprehension(x):
    return np.sum(np.concatenate([x[:k] * k for k in range(1, 4)]) ** 2)


def nested_comprehension(x):
    outer = [[x[i] * x[j] for j in range(3)] for i in range(3)]
    return np.sum(np.array(outer) ** 2)


def filtered_comprehension(x):
    positive = [np.exp(v) for v in x if v > 0]
    return sum(positive) * x[2]


def shadowing_comprehension(x):
    # the outermost iterable is read in the enclosing scope, before `x` names an item
    return sum([x**3 for x in x])


def zipped_comprehension(x):
    weights = [1.0, 2.0, 3.0]
    return sum([w * v**3 for v, w in zip(x, weights)])


def enumerated_generator(x):
    return np.sum(np.stack(list(v ** (k + 1) for k, v in enumerate(x))))


def dict_comprehension(x):
    d = {f"W{i}": x * (i + 1) for i in range(3)}
    return np.sum(d["W0"] * d["W2"] + np.sin(d["W1"]))


def comprehension_over_items(x):
    d = {"a": x, "b": x * x}
    scaled = {k: 2.0 * v for k, v in d.items()}
    return sum(np.sum(v * v) for v in scaled.values()) + np.sum(scaled["b"])


def comprehension_in_a_loop(x):
    total = 0.0
    for step in range(2):
        parts = [np.tanh(v * (step + 1)) for v in x]
        total = total + np.sum(np.array(parts)) * x[step]
    return total


# ============================================================ constructors and list arithmetic


def constructors(x):
    t = tuple(v * v for v in x)
    ys = list(x)
    d = dict(a=x[0], b=t[1])
    e = dict(zip(["p", "q"], [x[1], x[2]]), **d)
    return t[0] * ys[2] + e["a"] * e["q"] + e["b"] * e["p"]


def joined_lists(x):
    a = [x[0]]
    a = a + [x[1] * x[2]]
    a += [np.sin(x[2])]
    pair = (x[0],) + (x[1] ** 2,)
    return sum(a) * pair[1] + len(a) * pair[0]


def repeated_lists(x):
    a = [0.0] * 3
    for i in range(3):
        a[i] = x[i] ** 2
    b = 2 * [x[0]]
    b *= 2
    return sum(a) * b[3] + np.sum(np.array([x[1]] * 2) ** 3) + len(b)


def starred_min_max(x):
    pair = (x[0] * x[1], np.sin(x[2]))
    return max(*pair) * min(*[x[0], x[1] ** 2]) + squares(*pair)


def starred_displays(x):
    head = [x[0], x[1]]
    ys = [*head, x[2] ** 2, *[np.sin(v) for v in x]]
    both = (*ys, *head)
    return sum(ys) * both[-1]


def statistics_of_scalars(x):
    ys = [x[i] * x[(i + 1) % 3] for i in range(3)]
    return np.mean(ys) + np.std(ys) * np.var(ys)


def statistics_of_arrays(x):
    ys = [x * i + np.cos(x) for i in range(1, 4)]
    return np.sum(np.mean(ys, axis=0) * np.std(ys, axis=0)) + np.var(ys) + np.mean(ys)


PROGRAMS = [
    assigned_comprehension,
    stacked_comprehension,
    arrayed_comprehension,
    concatenated_comprehension,
    nested_comprehension,
    filtered_comprehension,
    shadowing_comprehension,
    zipped_comprehension,
    enumerated_generator,
    dict_comprehension,
    comprehension_over_items,
    comprehension_in_a_loop,
    constructors,
    joined_lists,
    repeated_lists,
    starred_min_max,
    starred_displays,
    statistics_of_scalars,
    statistics_of_arrays,
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_first_derivatives(mode, f):
    check_derivatives(mode, f, (X.copy(),), wrt=0)


def gradient_difference(f, x, v, h=1e-5):
    """The directional derivative of ``ad.grad(f)`` along ``v``, by central differences."""
    gradient = ad.grad(f)
    return (gradient(x + h * v) - gradient(x - h * v)) / (2 * h)


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_hessian_vector_product(f):
    v = np.array([1.0, -0.5, 0.25])
    expected = gradient_difference(f, X, v)
    np.testing.assert_allclose(ad.hvp(f)(X, v), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "f",
    [assigned_comprehension, nested_comprehension, dict_comprehension, joined_lists],
    ids=lambda f: f.__name__,
)
def test_reverse_over_reverse(f):
    hessian = ad.jacobian(ad.grad(f), mode="reverse")(X)
    columns = [gradient_difference(f, X, e) for e in np.eye(3)]
    np.testing.assert_allclose(hessian, np.stack(columns, axis=1), rtol=1e-6, atol=1e-7)


def test_a_comprehension_keeps_user_names_and_lines_in_the_trace():
    trace = ad.trace(assigned_comprehension)
    assert "ys" in trace and "append" in trace


# ============================================================ an MLP with dict parameters


def init_params(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return {
        **{
            f"W{i}": rng.normal(size=(m, n)) / np.sqrt(m)
            for i, (m, n) in enumerate(zip(sizes, sizes[1:]))
        },
        **{f"b{i}": np.zeros(n) for i, n in enumerate(sizes[1:])},
    }


def mlp_loss(params, x, y, layers=2):
    weights = {f"W{i}": params[f"W{i}"] for i in range(layers)}
    h = x
    for i in range(layers):
        h = h @ weights[f"W{i}"] + params[f"b{i}"]
        if i < layers - 1:
            h = np.tanh(h)
    penalty = sum([np.sum(w**2) for w in weights.values()])
    return np.mean((h - y) ** 2) + 1e-3 * penalty


def mlp_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3))
    return x, np.sin(x[:, :1]) + 0.5 * x[:, 1:2]


@pytest.mark.parametrize("mode", MODES)
def test_mlp_with_a_dict_of_parameters(mode):
    x, y = mlp_data()
    check_derivatives(mode, mlp_loss, (init_params([3, 4, 1]), x, y), wrt=0)


def test_mlp_trains_a_few_steps():
    x, y = mlp_data()
    params = init_params([3, 4, 1])
    step = ad.value_and_grad(mlp_loss)
    losses = []
    for _ in range(20):
        loss, grads = step(params, x, y)
        assert set(grads) == set(params)
        params = {k: params[k] - 0.1 * grads[k] for k in params}
        losses.append(loss)
    assert losses[-1] < 0.7 * losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


def test_mlp_gradient_entry_against_central_differences():
    x, y = mlp_data()
    params = init_params([3, 4, 1])
    grads = ad.grad(mlp_loss)(params, x, y)

    def loss_of_w0(w0):
        return mlp_loss({**params, "W0": w0}, x, y)

    expected = central_difference(loss_of_w0, (params["W0"],), 0)
    np.testing.assert_allclose(grads["W0"], expected, rtol=1e-6, atol=1e-8)


# ============================================================ *args and **kwargs


def squares(*terms):
    return sum(t * t for t in terms)


def weighted(x, **weights):
    return x * weights["a"] + weights["b"] ** 2


def forwarded(*args, **kwargs):
    return squares(*args) + weighted(args[0], **kwargs)


def args_helper_program(x, y):
    pair = (x, y)
    options = {"a": y, "b": x}
    return squares(x, y, x * y) + forwarded(*pair, **options) + squares(*[np.sin(x)])


def local_varargs(x, y):
    def scaled_sum(*terms, scale=1.0):
        return scale * sum(t * t for t in terms)

    combine = lambda *ts: ts[0] * ts[-1]  # noqa: E731
    return scaled_sum(x, np.sin(y), scale=y) + combine(x, y, 2.0)


def star_args(*xs):
    return xs[0] * xs[1] ** 2 + np.sin(xs[2])


def mixed_signature(a, *xs, scale=2.0, **named):
    return scale * a * sum(v for v in xs) + named["c"] ** 2


@pytest.mark.parametrize("mode", MODES)
def test_args_helper_program(mode):
    check_derivatives(mode, args_helper_program, (0.7, -1.3), wrt=(0, 1))


@pytest.mark.parametrize("mode", MODES)
def test_local_functions_with_varargs(mode):
    check_derivatives(mode, local_varargs, (0.7, -1.3), wrt=(0, 1))


def test_args_helper_hvp():
    x, y = 0.7, -1.3
    gradient = ad.grad(args_helper_program, wrt=0)
    expected = central_difference(gradient, (x, y), 0)
    assert ad.hvp(args_helper_program, wrt=0)(x, y, 1.0) == pytest.approx(expected, rel=1e-6)


def test_grad_of_star_args_indexes_the_positional_arguments():
    xs = (2.0, 3.0, 0.4)
    expected = [central_difference(star_args, xs, k) for k in range(3)]
    assert ad.grad(star_args)(*xs) == pytest.approx(expected[0])
    assert ad.grad(star_args, wrt=(2, 1))(*xs) == pytest.approx((expected[2], expected[1]))
    assert ad.grad(star_args, wrt="xs")(*xs) == pytest.approx(tuple(expected))
    value, gradient = ad.value_and_grad(star_args, wrt=1)(*xs)
    assert value == pytest.approx(star_args(*xs)) and gradient == pytest.approx(expected[1])


def test_star_args_in_jvp_and_vjp():
    xs = (2.0, 3.0, 0.4)
    expected = [central_difference(star_args, xs, k) for k in range(3)]
    out, tangent = ad.jvp(star_args, xs, (1.0, None, 1.0))
    assert out == pytest.approx(star_args(*xs))
    assert tangent == pytest.approx(expected[0] + expected[2])
    _, pullback = ad.vjp(star_args, *xs)
    assert pullback(1.0) == pytest.approx(tuple(expected))


def test_mixed_signature_with_keywords():
    args = (1.5, 0.5, -2.0)
    grads = ad.grad(mixed_signature, wrt=(0, 2, "scale", "named"))(*args, c=3.0)
    a, *xs = args
    assert grads[0] == pytest.approx(2.0 * sum(xs))
    assert grads[1] == pytest.approx(2.0 * a)
    assert grads[2] == pytest.approx(a * sum(xs))
    assert grads[3] == pytest.approx({"c": 6.0})


def test_star_args_differentiated_as_one_tuple_by_hessian():
    xs = (2.0, 3.0, 0.4)
    hessian = ad.hessian(star_args, wrt="xs")(*xs)
    assert hessian[0][1] == pytest.approx(2 * xs[1]) and hessian[1][1] == pytest.approx(2 * xs[0])
    assert hessian[2][2] == pytest.approx(-np.sin(xs[2]))
    with pytest.raises(TypeError, match="give wrt='xs'"):
        ad.hessian(star_args)(*xs)


def cubes_from(w, *xs):
    total = 0.0
    for k, v in enumerate(xs):
        total = total + w * (k + 1) * v**3
    return total


def spread_of_a_repeated_list(x, n):
    return squares(*([x] * n))


def spread_of_a_list_built_in_a_loop(x, n):
    xs = []
    for i in range(n):
        xs.append(x * (i + 1))
    return squares(*xs) + cubes_from(x, *xs)


def spread_of_an_appended_list(x):
    xs = [x[0], x[1]]
    xs.append(x[2])  # its items are no longer those of the display
    return squares(*xs)


def spread_of_an_argument(xs):
    return forwarded(*xs, a=2.0, b=xs[0])


def spread_into_a_local_function(x, n):
    def stacked(*vs):
        return np.sum(np.stack(vs) ** 2)

    return stacked(*[x * k for k in range(1, n + 1)])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "f, args",
    [
        (spread_of_a_repeated_list, (1.5, 3)),
        (spread_of_a_list_built_in_a_loop, (1.5, 3)),
        (spread_of_a_list_built_in_a_loop, (0.7, 0)),
        (spread_of_an_appended_list, (X,)),
        (spread_into_a_local_function, (X, 2)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_spreads_of_lists_whose_length_is_known_when_the_function_runs(f, args, mode):
    """``g(*xs)`` into a helper's ``*args``, ``xs`` of any length: the helper walks it."""
    check_derivatives(mode, f, args, wrt=0)


def test_spreads_of_runtime_lists_in_closed_form_and_at_second_order():
    # squares: 14 x^2; cubes_from: x * (x^3 + 2 (2x)^3 + 3 (3x)^3) = 98 x^4
    x = 1.5
    assert ad.grad(spread_of_a_list_built_in_a_loop)(x, 3) == pytest.approx(28 * x + 392 * x**3)
    assert ad.hvp(spread_of_a_list_built_in_a_loop)(x, 3, 1.0) == pytest.approx(28 + 1176 * x**2)
    xs = [1.0, 2.0, 0.5]  # forwarded: sum of squares + xs[0] * 2 + xs[0] ** 2
    assert ad.grad(spread_of_an_argument)(xs) == pytest.approx([6.0, 4.0, 1.0])
    gradient = ad.grad(spread_of_a_repeated_list, wrt=0)
    expected = central_difference(gradient, (x, 4), 0)
    assert ad.hvp(spread_of_a_repeated_list, wrt=0)(x, 4, 1.0) == pytest.approx(expected)


# ============================================================ what stays refused


def set_comprehension(x):
    return len({v for v in x}) * x[0]


def stored_generator(x):
    squares_of_x = (v * v for v in x)
    return sum(squares_of_x)


def three(a, b, c):
    return a * b * c


def spread_into_named_parameters(*xs):
    return three(*xs)


def spread_before_args(x):
    return cubes_from(*[x[0]] * 2)


def spread_into_a_library_function(x):
    xs = list(x)
    return np.hypot(*xs)


def starred_assignment(x):
    first, *rest = x
    return first * rest[0]


REFUSED = [
    (set_comprehension, "set comprehensions are not supported", "{v for v in x}"),
    (stored_generator, "generator expression is supported only as the argument of a call", "("),
    (
        spread_into_named_parameters,
        "only a `*args` parameter can take, and three() has none: pass them one by one",
        "three(*xs)",
    ),
    (spread_before_args, "it can fill cubes_from()'s `*args`, not `w`: pass `w` before", "*"),
    (spread_into_a_library_function, "`*xs` in a call needs a tuple or list whose items", "*xs"),
    (starred_assignment, "star unpacking (`*xs`) is supported only in calls", "*rest"),
]


@pytest.mark.parametrize("f, message, quoted", REFUSED, ids=lambda v: getattr(v, "__name__", ""))
def test_refused_in_the_users_words(f, message, quoted):
    with pytest.raises(ad.TransformError) as info:
        ad.grad(f)(X.copy())
    assert message in str(info.value)
    assert quoted in info.value.source_line
    for node_name in ("SetComp", "GeneratorExp", "Starred", "JoinedStr"):
        assert node_name not in str(info.value)
