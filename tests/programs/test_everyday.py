"""The everyday language (issue 18): `assert`, f-strings and `str` operations, `%`, `//`
and `divmod`, `None` / `np.newaxis` / `...` in indices, the walrus operator and
`with np.errstate(...)`, each in every mode of `control_harness.MODES` against central
differences or a closed form; and the constructs that stay refused, by their message.
"""

import re
import sys

import gast
import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad import TransformError

from conftest import import_source
from control_harness import CASE_FIELDS, MODES, case, check_derivatives

X3 = np.array([0.4, -1.1, 0.7])
RNG = np.random.default_rng(18)
PARAMS = {
    "W0": RNG.normal(size=(3, 2)),
    "b0": RNG.normal(size=3),
    "W1": RNG.normal(size=(2, 3)),
    "b1": RNG.normal(size=2),
}
INPUT = RNG.normal(size=2)

# ================================================================ assert


def asserts_on_values(x, y):
    assert x > 0, "x must be positive"
    z = x * y
    assert np.all(z < 10)
    return z * x


def check_shape(v):
    assert v.shape == (3,), f"expected 3 items, got {v.shape}"
    return np.sin(v)


def asserts_in_loop_and_helper(x):
    s = 0.0
    for i in range(3):
        assert x[i] < 5.0, "too big"
        s = s + x[i] ** 2
    return np.sum(check_shape(x)) * s


# ================================================================ strings


def mlp_by_f_string_keys(params, x):
    h = x
    for i in range(2):
        h = np.tanh(params[f"W{i}"] @ h + params["b" + str(i)])
    return np.sum(h**2)


def string_operations(x):
    name = "layer".upper() + f"{x:.1f}" + f"{'!'!r}"
    return x * len(name)


# ================================================================ %, // and divmod


def remainder_times(x, y):
    return x % y * x


def floor_quotient(x, y):
    q = x // y  # piecewise constant: a zero derivative
    z = x + 0.0
    z %= y
    return q * x + z * z


def divmod_parts(x, y):
    q, r = divmod(x, y)
    return q * x + r * r


def remainder_of_a_count(x, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            s = s + x * (i // 2)
    return s


def remainder_closed_form(x, y):
    r, q = np.mod(x, y), np.floor(x / y)
    return (r + x, -q * x)


def divmod_closed_form(x, y):
    q, r = np.floor(x / y), np.mod(x, y)
    return (q + 2 * r, 2 * r * -q)


# ================================================================ None, np.newaxis, ... in indices


def outer_by_newaxis(x):
    return np.sum(np.sin(x[:, np.newaxis]) * x[np.newaxis, :])


def outer_by_none_and_ellipsis(x):
    return np.sum(np.sin(x[..., None]) * x[None, ...])


def ellipsis_and_newaxis_together(m):
    return np.sum(m[..., 0] ** 2) + np.sum(m[np.newaxis, ..., 1] * m[:, np.newaxis, 0])


def outer_closed_form(x):
    return (np.cos(x) * np.sum(x) + np.sum(np.sin(x)),)


M32 = np.array([[0.3, -1.2], [0.8, 0.5], [-0.4, 1.1]])

# ================================================================ the walrus operator


def walrus_in_a_test(x):
    if (y := x * x) > 1.0:
        return y * x
    return y + x


def walrus_in_a_loop_test(x):
    y = x
    while (y := y * 1.5) < 10.0:
        x = x + 0.0
    return y * x


def walrus_in_an_expression(x):
    z = (s := np.sin(x)) * s
    return np.sum(z + s)


def walrus_in_a_generator(x):
    return sum(y * k for k in range(3) if (y := x * k) > 0.5)


# ================================================================ with np.errstate(...)


def errstate_around_a_return(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(x) * x
        if np.sum(r) > 100.0:
            return r[0]
    return np.sum(r * x)


def errstate_in_a_loop(x):
    s = 0.0
    for i in range(4):
        with np.errstate(over="ignore"), np.errstate(under="ignore"):
            s = s + np.exp(x * i)
            if s > 20.0:
                break
    return s


# ================================================================ masks: & | ^ ~


def masked_by_and_or(x):
    inside = (x > 0.0) & (x < 2.0)
    outside = ~inside | (x > 10.0)
    return np.sum(np.where(inside, x**2, 0.0) + np.where(outside, np.sin(x), 0.0))


def flags_of_counts(x, k):
    k ^= 1
    bits = (k & 1) | 2
    return x * bits


CASES = [
    case(
        masked_by_and_or,
        np.array([0.5, 1.5, 2.5, -0.5]),
        expected=lambda x: (np.array([1.0, 3.0, np.cos(2.5), np.cos(-0.5)]),),
    ),
    case(flags_of_counts, 1.3, 4, wrt=0, expected=(3.0,)),
    case(
        errstate_around_a_return,
        np.array([0.5, 1.5, 2.0]),
        expected=lambda x: (2 * x * np.log(x) + x,),
    ),
    case(errstate_in_a_loop, 0.4, expected=lambda x: (sum(k * np.exp(k * x) for k in range(4)),)),
    case(errstate_in_a_loop, 1.6, expected=lambda x: (np.exp(x) + 2 * np.exp(2 * x),)),
    case(walrus_in_a_test, 1.5, expected=lambda x: (3 * x * x,)),
    case(walrus_in_a_test, 0.5, expected=lambda x: (2 * x + 1,)),
    case(walrus_in_a_loop_test, 1.3, expected=lambda x: (2 * 1.5**6 * x,)),
    case(walrus_in_an_expression, X3, expected=lambda x: ((2 * np.sin(x) + 1) * np.cos(x),)),
    case(walrus_in_a_generator, 0.7, expected=(5.0,)),
    case(outer_by_newaxis, X3, expected=outer_closed_form),
    case(outer_by_none_and_ellipsis, X3, expected=outer_closed_form),
    case(ellipsis_and_newaxis_together, M32),
    case(remainder_times, 2.7, 0.8, expected=remainder_closed_form),
    case(remainder_times, -2.7, 0.8, expected=remainder_closed_form),
    case(remainder_times, X3, 0.3),
    case(floor_quotient, 2.7, 0.8, expected=divmod_closed_form),
    case(floor_quotient, X3, 0.3),
    case(divmod_parts, 2.7, 0.8, expected=divmod_closed_form),
    case(divmod_parts, -1.9, 0.7, expected=divmod_closed_form),
    case(divmod_parts, X3, 0.3),
    case(remainder_of_a_count, 1.3, 5, wrt=0, expected=(0.0 + 1 + 2,)),
    case(asserts_on_values, 1.5, 2.0, expected=lambda x, y: (2 * x * y, x * x)),
    case(
        asserts_in_loop_and_helper,
        X3,
        expected=lambda x: (np.cos(x) * np.sum(x**2) + 2 * x * np.sum(np.sin(x)),),
    ),
    case(mlp_by_f_string_keys, PARAMS, INPUT, id="mlp_by_f_string_keys"),
    case(string_operations, 1.5, expected=(11.0,)),  # len("LAYER1.5'!'"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, CASES)
def test_derivatives(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


def with_a_file(x):
    with open("data.txt") as handle:
        y = x * float(handle.read())
    return y


def errstate_bound_to_a_name(x):
    with np.errstate(all="ignore") as state:
        y = x * x
    return y * len(str(state))


@pytest.mark.parametrize("f", [with_a_file, errstate_bound_to_a_name])
def test_other_with_blocks_are_refused_at_their_line(f):
    with pytest.raises(ad.TransformError) as refused:
        ad.grad(f)(1.5)
    message = str(refused.value)
    assert "`with` blocks cannot be differentiated, except `with np.errstate(...)`" in message
    assert "    with " in message  # the source line
    assert "With" not in message


# ================================================================ what stays refused, in words

SCALE = 2.0


def refused_try(x):
    try:
        y = 1.0 / x
    except ZeroDivisionError:
        y = 0.0
    return y


def refused_generator(x):
    yield x * x


def refused_global(x):
    global SCALE
    return x * SCALE


def refused_shift(x, k):
    return x * (k << 1)


def refused_right_shift(x, k):
    k >>= 1
    return x * k


def refused_attribute_write(x, p):
    p.scale = x
    return x


def refused_set_comprehension(x):
    return len({k for k in range(3)}) * x


REFUSALS = [
    (refused_try, "`try` blocks cannot be differentiated"),
    (refused_generator, "generators (`yield`) cannot be differentiated"),
    (refused_global, "`global` declarations are not supported"),
    (refused_shift, "the operator `<<` is not supported"),
    (refused_right_shift, "the operator `>>` is not supported"),
    (refused_attribute_write, "`p.scale = ...` changes the object `p` in place"),
    (refused_set_comprehension, "set comprehensions are not supported"),
]
AST_NODE_NAMES = {
    name
    for name, node in vars(gast).items()
    if isinstance(node, type) and issubclass(node, gast.AST) and name[0].isupper() and len(name) > 3
}


@pytest.mark.parametrize("f, message", REFUSALS, ids=[f.__name__ for f, _ in REFUSALS])
def test_refused_constructs_are_named_in_the_users_words(f, message):
    with pytest.raises(ad.TransformError) as refused:
        ad.source(f)
    text = str(refused.value)
    assert message in refused.value.reason
    assert refused.value.source_line.strip() in text  # the line, quoted
    named = {name for name in AST_NODE_NAMES if re.search(rf"\b{name}\b", text)}
    assert not named, f"an AST node's name leaks into {text!r}"


@pytest.mark.skipif(sys.version_info < (3, 10), reason="`match` is Python 3.10's")
def test_match_is_refused_in_the_users_words(tmp_path):
    source = "def f(x, k):\n    match k:\n        case 1:\n            return x\n    return x * x\n"
    with pytest.raises(ad.TransformError) as refused:
        ad.source(import_source(source, tmp_path).f)
    assert refused.value.reason == "`match` statements are not supported"
    assert refused.value.source_line == "    match k:"


@pytest.mark.parametrize(
    "f, args, message",
    [
        (asserts_on_values, (-1.5, 2.0), ("x must be positive",)),
        (asserts_on_values, (1.5, 20.0), ()),
        (asserts_in_loop_and_helper, (np.array([0.1, 6.0, 0.3]),), ("too big",)),
        (asserts_in_loop_and_helper, (np.ones(4),), ("expected 3 items, got (4,)",)),
    ],
)
def test_a_false_assert_raises_the_users_assertion_error_in_every_transform(f, args, message):
    tangents = tuple(np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args)
    for transform in (
        lambda: ad.grad(f)(*args),
        lambda: ad.vjp(f, *args),
        lambda: ad.jvp(f, args, tangents),
        lambda: ad.hessian(f)(*args),
    ):
        with pytest.raises(AssertionError) as raised:
            transform()
        assert raised.value.args == message


# ------------------------------------------------------------- a loop over a dict


def over_a_dict(d):
    total = 0.0
    for k in d:  # Python walks the keys
        total = total + d[k] ** 2
    return total


def over_its_keys(d):
    total = 0.0
    for k in d.keys():
        total = total + d[k] ** 2
    return total


def over_positions(xs, order):
    total = 0.0
    for k in order:  # the same idiom over a list of positions: walked as it is
        total = total + xs[k] * order[k]
    return total


DICT = {"a": 1.5, "b": -2.0}


def test_a_loop_over_a_dict_walks_its_keys_in_both_modes_and_at_second_order():
    """Python walks a dict's keys in insertion order: sum of d[k]^2 has the gradient 2 d."""
    expected = {"a": 3.0, "b": -4.0}
    assert ad.grad(over_a_dict)(DICT) == expected == ad.grad(over_its_keys)(DICT)
    assert ad.jvp(over_a_dict, (DICT,), ({"a": 1.0, "b": 2.0},)) == (6.25, 3.0 - 8.0)
    assert ad.hvp(over_a_dict)(DICT, {"a": 1.0, "b": 3.0}) == {"a": 2.0, "b": 6.0}
    assert ad.check_grad(over_a_dict, DICT) < 1e-6


def weighted_by_key(x):
    weights = {"a": 1.0, "bb": 3.0}
    values = {"a": x, "bb": x**2}
    total = 0.0
    for key in weights:  # a local dict: walked by key whatever the body reads
        total = total + weights[key] * values[key] * len(key)
    return total


SCALES = {"w": 2.0, "v": 0.5}


def over_a_global_dict(p):
    total = 0.0
    for k in SCALES:
        total = total + SCALES[k] * p[k] ** 3
    for k in SCALES.keys():
        total = total + p[k]
    return total


def dict_comprehensions(d):
    doubled = {k: 2 * d[k] for k in d}
    return sum(doubled[k] * d[k] for k in d) + sum([d[k] for k in d if k != "a"])


def test_dict_loops_over_local_and_global_dicts_and_in_comprehensions():
    x = 1.5
    assert ad.grad(weighted_by_key)(x) == pytest.approx(1.0 + 3.0 * 2 * 2 * x)
    assert ad.jvp(weighted_by_key, (x,), (1.0,))[1] == pytest.approx(1.0 + 12 * x)
    p = {"w": 0.5, "v": -1.0}
    expected = {"w": 2.0 * 3 * 0.25 + 1, "v": 0.5 * 3 * 1.0 + 1}
    assert ad.grad(over_a_global_dict)(p) == pytest.approx(expected)
    # sum 2 d_k^2 + d_b: the gradient 4 d + (0, 1), the Hessian 4 I
    assert ad.grad(dict_comprehensions)(DICT) == pytest.approx({"a": 6.0, "b": -7.0})
    assert ad.hvp(dict_comprehensions)(DICT, {"a": 1.0, "b": 0.5}) == pytest.approx(
        {"a": 4.0, "b": 2.0}
    )
    assert ad.check_grad(dict_comprehensions, DICT) < 1e-6


def test_a_loop_over_a_list_indexed_by_its_items_walks_it_by_position():
    xs = np.array([0.5, -1.0, 2.0])
    grad = ad.grad(over_positions)(xs, [2, 0, 1])
    np.testing.assert_allclose(grad, [2.0, 0.0, 1.0])  # d/dxs[k] of xs[k] * order[k]


def scaled_by_keys(d, x):
    total = 0.0
    for k in d:  # the keys, never read as d[k]: this loop may walk a list by position
        total = total + k * x
    return total


def keys_in_a_comprehension(p, x):
    return sum([k * x for k in p["w"]])


@pytest.mark.parametrize(
    "f, d", [(scaled_by_keys, {0: 5.0, 1: 7.0}), (keys_in_a_comprehension, {"w": {0: 5.0, 1: 7.0}})]
)
def test_a_dict_walked_by_position_is_refused_where_it_runs_never_read_by_position(f, d):
    """Walking {0: 5, 1: 7} by position would read 5 and 7 where Python reads the keys 0
    and 1: a silently wrong gradient (12 where 1 is right) before this refusal."""
    with pytest.raises(TransformError, match=r"by position, but it is a dict here") as raised:
        ad.grad(f, wrt=1)(d, 2.0)
    message = str(raised.value)
    assert "test_everyday.py" in message and ".keys():`" in message


def test_a_list_walked_by_position_where_a_dict_may_be_is_still_differentiated():
    assert ad.grad(scaled_by_keys, wrt=(0, 1))([1.0, 2.0], 2.0) == ([2.0, 2.0], 3.0)
    assert ad.grad(keys_in_a_comprehension, wrt=1)({"w": [1.0, 2.0]}, 2.0) == 3.0


# ------------------------------------------------------------- x.flat


def first_flat_item(x):
    return x.flat[0] * 2.0 + np.sum(x)


def flat_slices_and_lists(x):
    return np.sum(x.flat[1:4] ** 2) + x.flat[-1] * x.flat[[0, 2]].sum()


def over_flat_items(x):
    return sum(v**3 for v in x.flat)


M23 = np.arange(1.0, 7.0).reshape(2, 3) / 4


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", [first_flat_item, flat_slices_and_lists, over_flat_items])
def test_reading_x_flat_in_every_mode(f, mode):
    """``x.flat[i]`` is the item at flat position i (C order), as ``np.ravel(x)[i]``."""
    check_derivatives(mode, f, (M23,))


def test_reading_x_flat_at_second_order():
    v = np.array([[1.0, -0.5, 2.0], [0.3, 1.0, -1.0]])
    step = 1e-5
    for f in (first_flat_item, flat_slices_and_lists, over_flat_items):
        expected = (ad.grad(f)(M23 + step * v) - ad.grad(f)(M23 - step * v)) / (2 * step)
        np.testing.assert_allclose(ad.hvp(f)(M23, v), expected, atol=1e-7)
    # the closed form of the first: 2 x[0, 0] + sum(x)
    np.testing.assert_array_equal(ad.grad(first_flat_item)(M23), [[3.0, 1, 1], [1, 1, 1]])


def writes_through_flat(x):
    y = x * 1.0
    y.flat[1] = 5.0 * x.flat[0]
    return np.sum(y**2)


def test_writing_through_x_flat_is_refused_at_its_line_with_what_to_write():
    with pytest.raises(ad.TransformError) as info:
        ad.grad(writes_through_flat)(M23)
    assert info.value.lineno == writes_through_flat.__code__.co_firstlineno + 2
    message = str(info.value)
    assert "writing through `y.flat[...]` is not supported (reading is)" in message
    assert "`y[np.unravel_index(i, y.shape)] = v`" in message


# ------------------------------------------------------------- x.base


def sum_of_base(x):
    y = x[1:]
    return np.sum(y.base) if y.base is not None else 0.0


def contiguous_or_not(x):
    return np.sum(x) * 2.0 if x.flags["C_CONTIGUOUS"] else np.sum(x)


@pytest.mark.parametrize("f, what", [(sum_of_base, "base"), (contiguous_or_not, "flags")])
@pytest.mark.parametrize("transform", ["grad", "jvp"])
def test_memory_attributes_of_arrays_are_refused_at_their_line(f, what, transform):
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ad.TransformError) as info:
        if transform == "grad":
            ad.grad(f)(x)
        else:
            ad.jvp(f, (x,), (np.ones(3),))
    line = f.__code__.co_firstlineno + (2 if f is sum_of_base else 1)
    assert info.value.lineno == line and info.value.filename == __file__
    message = str(info.value)
    assert f"`.{what}` of an array tells how it sits in memory" in message
    assert "pass it in as an argument" in message


class Offset:
    def __init__(self, base, scale):
        self.base = base
        self.scale = scale


def shifted(p, x):
    return np.sum((x - p.base) ** 2) * p.scale


def test_a_record_field_named_base_is_differentiated():
    p, x = Offset(np.array([0.5, -1.0]), 2.0), np.array([1.0, 1.5])
    grad = ad.grad(shifted)(p, x)
    np.testing.assert_allclose(grad.base, -2 * 2.0 * (x - p.base))
    assert grad.scale == pytest.approx(np.sum((x - p.base) ** 2))
