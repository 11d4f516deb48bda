"""The everyday language (issue 18): `assert`, f-strings and `str` operations, `%`, `//`
and `divmod`, `None` / `np.newaxis` / `...` in indices, the walrus operator and
`with np.errstate(...)`, each in every mode of `control_harness.MODES` against central
differences or a closed form; and the constructs that stay refused, by their message.
"""

import numpy as np
import pytest

import s2s_ad as ad

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


CASES = [
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
