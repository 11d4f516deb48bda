"""The public API: argument handling, result shapes, caching, decorators, extension."""

import math
import sys

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference

SOURCE = """
import math
import numpy as np
import numpy as xp
from math import log, sin as sine

SCALE = 3.0

def poly(x, y, z=2.0):
    return x * x * y + z * y

def aliases(x):
    return xp.exp(x) + log(x) + sine(x) + np.tanh(x) * SCALE

def pair(x, y):
    return x * y, x - y

def vector(x, a):
    return np.sin(x) * a

def make_scaled(c):
    def scaled(x):
        return c * x * x
    return scaled

def stopped(x):
    return x * stop_gradient(x)

from s2s_ad import stop_gradient
"""


@pytest.fixture
def m(make_module):
    return make_module(SOURCE)


def test_wrt_by_position_name_and_tuple(m):
    x, y = 1.5, -2.0
    expected = (2 * x * y, x * x + 2.0)
    assert ad.grad(m.poly)(x, y) == pytest.approx(expected[0])
    assert ad.grad(m.poly, wrt="y")(x, y) == pytest.approx(expected[1])
    assert ad.grad(m.poly, wrt=(0, "y"))(x, y) == pytest.approx(expected)
    assert ad.grad(m.poly, wrt=-2)(x, y) == pytest.approx(expected[1])


def test_single_wrt_in_a_tuple_gives_a_tuple(m):
    result = ad.grad(m.poly, wrt=("x",))(1.0, 2.0)
    assert isinstance(result, tuple) and result == pytest.approx((4.0,))


def test_keyword_arguments_and_defaults(m):
    g = ad.grad(m.poly, wrt=("y", "z"))
    assert g(1.0, y=2.0, z=3.0) == pytest.approx((1.0 + 3.0, 2.0))
    assert g(1.0, 2.0) == pytest.approx((1.0 + 2.0, 2.0))


def test_value_and_grad(m):
    value, grads = ad.value_and_grad(m.poly, wrt=(0, 1))(1.5, -2.0)
    assert value == m.poly(1.5, -2.0)
    assert grads == pytest.approx(ad.grad(m.poly, wrt=(0, 1))(1.5, -2.0))


def test_names_are_resolved_by_object_not_spelling(m):
    x = 0.7
    expected = math.exp(x) + 1 / x + math.cos(x) + (1 - math.tanh(x) ** 2) * 3.0
    assert ad.grad(m.aliases)(x) == pytest.approx(expected, rel=1e-13)
    assert ad.derivative(m.aliases)(x) == pytest.approx(expected, rel=1e-13)


def test_vjp_pullback_can_be_called_several_times(m):
    out, pullback = ad.vjp(m.pair, 3.0, 4.0)
    assert out == (12.0, -1.0)
    assert pullback((1.0, 0.0)) == pytest.approx((4.0, 3.0))
    assert pullback((0.0, 1.0)) == pytest.approx((1.0, -1.0))
    assert pullback((1.0, 0.0)) == pytest.approx((4.0, 3.0))


def test_vjp_default_wrt_is_every_float_or_array_argument(m):
    a = np.array([1.0, 2.0, 3.0])
    out, pullback = ad.vjp(m.vector, 0.5, a)
    ct = np.array([1.0, -1.0, 2.0])
    dx, da = pullback(ct)
    assert dx == pytest.approx(np.sum(ct * np.cos(0.5) * a))
    np.testing.assert_allclose(da, ct * np.sin(0.5))
    (only_a,) = ad.vjp(m.vector, 0.5, a, wrt="a")[1](ct)
    np.testing.assert_allclose(only_a, ct * np.sin(0.5))


def test_jvp_with_none_tangent_does_not_differentiate_that_argument(m):
    out, tangent = ad.jvp(m.pair, (3.0, 4.0), (None, 1.0))
    assert out == (12.0, -1.0)
    assert tangent == (3.0, -1.0)


def test_jvp_of_an_array_function_is_elementwise(m):
    x = np.array([0.1, 0.2, 0.3])
    a = np.array([2.0, 3.0, 4.0])
    out, tangent = ad.jvp(m.vector, (x, a), (np.ones(3), None))
    np.testing.assert_allclose(out, np.sin(x) * a)
    np.testing.assert_allclose(tangent, np.cos(x) * a)


def test_derivative_is_elementwise_over_arrays(m):
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(ad.derivative(m.vector)(x, 2.0), 2.0 * np.cos(x))


def test_derivative_refuses_orders_that_are_not_positive_ints(m):
    for order in (0, -1, 2.0, True):
        with pytest.raises(TypeError, match="order"):
            ad.derivative(m.poly, order=order)


def test_ints_are_taken_as_reals(m):
    result = ad.grad(m.poly, wrt=(0, 1))(3, 2)
    assert result == (12.0, 11.0)
    assert all(type(r) is float for r in result)


def test_float_gradient_of_float_argument(m):
    assert type(ad.grad(m.poly)(1.5, 2.0)) is float


def test_float32_in_float32_out(m):
    x = np.array([0.1, 0.2], dtype=np.float32)
    a = np.array([1.0, 2.0], dtype=np.float32)
    _, pullback = ad.vjp(m.vector, x, a)
    dx, da = pullback(np.ones(2, dtype=np.float32))
    assert dx.dtype == np.float32 and da.dtype == np.float32


def test_closure_variables_are_read_as_constants(m):
    scaled = m.make_scaled(5.0)
    assert ad.grad(scaled)(2.0) == pytest.approx(20.0)
    other = m.make_scaled(-1.0)  # same code, another closure: its own constant
    assert ad.grad(other)(2.0) == pytest.approx(-4.0)


def test_lambda(m):
    assert ad.grad(lambda x: x * x + 3 * x)(2.0) == pytest.approx(7.0)


def test_stop_gradient_blocks_the_derivative(m):
    assert ad.grad(m.stopped)(3.0) == pytest.approx(3.0)


def test_cached_per_function_and_fresh_after_redefinition(make_module):
    first = make_module("def f(x):\n    return x * x\n")
    assert ad.grad(first.f)(3.0) == 6.0
    assert ad.source(first.f) is ad.source(first.f) or ad.source(first.f) == ad.source(first.f)
    second = make_module("def f(x):\n    return x * x * x\n")
    assert ad.grad(second.f)(3.0) == 27.0
    assert ad.grad(first.f)(3.0) == 6.0


def test_same_function_with_floats_then_arrays(m):
    g = ad.grad(lambda x: np.sum(x * x))
    assert g(3.0) == pytest.approx(6.0)
    np.testing.assert_allclose(g(np.array([1.0, 2.0])), [2.0, 4.0])
    assert g(3.0) == pytest.approx(6.0)


def test_differentiate_decorator_bare_and_with_options(make_module):
    m = make_module(
        """
        import s2s_ad as ad

        @ad.differentiate
        def f(x, y):
            return x * y + y

        @ad.differentiate(wrt=("x", "y"), mode="forward")
        def g(x, y):
            return x * x * y
        """
    )
    assert m.f(2.0, 3.0) == 9.0
    assert m.f.grad(2.0, 3.0) == 3.0
    assert m.f.value_and_grad(2.0, 3.0) == (9.0, 3.0)
    assert m.f.jvp((2.0, 3.0), (0.0, 1.0)) == (9.0, 3.0)
    assert m.f.vjp(2.0, 3.0)[1](1.0) == (3.0,)
    assert "def f_grad" in m.f.source()
    assert "load('x')" in m.f.trace()
    assert m.g.grad(2.0, 3.0) == (12.0, 4.0)
    assert "def g_jvp" in m.g.source()
    assert "def g_grad" in m.g.source(mode="reverse")


def test_optimized_and_unoptimized_code_agree(m, make_module):
    from s2s_ad.compiler import pipeline
    from s2s_ad.compiler.pipeline import Spec

    mod = make_module(
        """
        import math
        def f(x, y):
            a = x * y
            b = math.sin(a) + a * a
            return b / (1 + y * y) - math.exp(-x) * a
        """
    )
    results = []
    for optimize in (True, False):
        spec = Spec("grad", ("x", "y"), ("scalar", "scalar"), optimize)
        results.append(pipeline.build(mod.f, spec).bind(mod.f)(0.3, -1.2))
    assert results[0] == pytest.approx(results[1], rel=1e-14)
    expected = [central_difference(mod.f, (0.3, -1.2), i) for i in range(2)]
    assert results[0] == pytest.approx(expected, rel=1e-7)


@pytest.mark.optimized_only  # counts the calls of the rules
def test_defvjp_and_defjvp_make_a_primitive(make_module):
    m = make_module(
        """
        import math

        def softplus(x):
            return math.log1p(math.exp(x))

        def model(x):
            return softplus(x) * x
        """
    )
    calls = []

    def softplus_vjp(g, ans, x):
        calls.append("vjp")
        return g / (1 + math.exp(-x))

    ad.defvjp(m.softplus, softplus_vjp)
    x = 0.4
    expected = m.softplus(x) + x / (1 + math.exp(-x))
    assert ad.grad(m.model)(x) == pytest.approx(expected)
    assert calls == ["vjp"]
    with pytest.raises(ad.TransformError, match="defjvp"):
        ad.jvp(m.model, (x,), (1.0,))
    ad.defjvp(m.softplus, lambda t, ans, x: t / (1 + math.exp(-x)))
    assert ad.jvp(m.model, (x,), (1.0,))[1] == pytest.approx(expected)
    assert "softplus_vjp0" in ad.source(m.model)


def test_a_rule_returning_the_wrong_shape_is_an_error_naming_the_rule(make_module):
    """JAX checks a custom rule's result too: otherwise the gradient silently takes the
    rule's shape (a (5,) gradient came back for a (2,) argument)."""
    m = make_module(
        """
        import numpy as np

        def scaled(x, s):
            return x * s

        def loss(x):
            return np.sum(scaled(x, 2.0) ** 2)
        """
    )
    ad.defvjp(m.scaled, lambda g, ans, x, s: np.ones(5), lambda g, ans, x, s: np.sum(g * x))
    ad.defjvp(m.scaled, lambda t, ans, x, s: np.ones(4), lambda t, ans, x, s: t * x)
    x = np.array([0.5, -1.5])
    cotangent = r"scaled_vjp0 returned an array of shape \(5,\) as the cotangent of argument 0"
    with pytest.raises(ValueError, match=cotangent):
        ad.grad(m.loss)(x)
    with pytest.raises(ValueError, match=cotangent):
        ad.vjp(m.loss, x)[1](1.0)
    tangent = r"scaled_jvp0 returned an array of shape \(4,\) as the tangent of scaled's result"
    with pytest.raises(ValueError, match=tangent):
        ad.jvp(m.loss, (x,), (np.ones(2),))


def test_a_rule_may_return_a_scalar_for_an_array_argument_and_is_differentiated_again(
    make_module,
):
    """A scalar cotangent gives every entry that value; a rule's result checked for its
    shape is still differentiated at second order (the check passes its value through)."""
    m = make_module(
        """
        import numpy as np

        def total(x):
            return np.sum(x)

        def scaled(x, s):
            return x * s

        def loss(x):
            return total(x) ** 2 + np.sum(scaled(x, 3.0) ** 2)
        """
    )
    ad.defvjp(m.total, lambda g, ans, x: g)  # a scalar: d total / d x_i = 1
    ad.defjvp(m.total, lambda t, ans, x: np.sum(t))
    # one lambda per line: the Hessian transforms them, and before Python 3.11 a lambda
    # is told from another on its line only by its parameters
    ad.defvjp(
        m.scaled,
        lambda g, ans, x, s: g * s,
        lambda g, ans, x, s: np.sum(g * x),
    )
    ad.defjvp(
        m.scaled,
        lambda t, ans, x, s: t * s,
        lambda t, ans, x, s: t * x,
    )
    x = np.array([0.5, -1.5, 2.0])
    expected = 2 * np.sum(x) + 18 * x
    np.testing.assert_allclose(ad.grad(m.loss)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.jvp(m.loss, (x,), (np.ones(3),))[1], np.sum(expected))
    hessian = 2 * np.ones((3, 3)) + 18 * np.eye(3)
    np.testing.assert_allclose(ad.hessian(m.loss)(x), hessian, rtol=1e-12)
    np.testing.assert_allclose(expected, central_difference(m.loss, (x,), 0), rtol=1e-7)


def _bessel_i1(x):
    """I1 by its power series (the derivative of I0), independent of s2s_ad."""
    x = np.asarray(x, dtype=float)
    term, total = x / 2, x / 2
    for k in range(1, 40):
        term = term * (x / 2) ** 2 / (k * (k + 1))
        total = total + term
    return total


def test_defjvp_rules_with_tuple_results_add_item_by_item():
    """Forward mode sums the tangents of several arguments: tuples add itemwise, not join."""

    def pair(x, y):
        return (x * y, x + y)

    def first(x, y):
        return pair(x, y)[0] + pair(x, y)[1]

    ad.defjvp(pair, lambda t, ans, x, y: (t * y, t), lambda t, ans, x, y: (x * t, t))
    _, tangent = ad.jvp(first, (2.0, 3.0), (1.0, 1.0))
    assert tangent == pytest.approx(3.0 + 2.0 + 2.0)


@pytest.fixture
def rules_of_i0():
    """Register rules for np.i0 (a NumPy special function without one) for one test."""
    from s2s_ad import rules

    yield np.i0
    rules.unregister(np.i0)  # later tests must not see the rule


def test_defvjp_and_defjvp_of_a_third_party_function(make_module, rules_of_i0):
    m = make_module(
        """
        import numpy as np

        def weights(x, scale):
            return np.sum(np.i0(x * scale) ** 2)
        """
    )
    x, scale = np.array([0.3, -1.2, 2.0]), 0.7
    with pytest.raises(ad.TransformError, match="no derivative rule for `np.i0`"):
        ad.grad(m.weights)(x, scale)
    ad.defvjp(np.i0, lambda g, ans, x: g * _bessel_i1(x))
    ad.defjvp(np.i0, lambda t, ans, x: t * _bessel_i1(x))

    grads = ad.grad(m.weights, wrt=(0, 1))(x, scale)
    expected = [central_difference(m.weights, (x, scale), i) for i in range(2)]
    np.testing.assert_allclose(grads[0], expected[0], rtol=1e-7)
    assert grads[1] == pytest.approx(expected[1], rel=1e-7)
    _, tangent = ad.jvp(m.weights, (x, scale), (np.ones(3), 0.0))
    assert tangent == pytest.approx(np.sum(expected[0]), rel=1e-7)
    source = ad.source(m.weights)
    assert "np.i0(" in source and "i0_vjp0(" in source, source


def test_check_grad_passes_and_fails_as_it_should(make_module):
    m = make_module(
        """
        import numpy as np
        def f(x, y):
            return np.sum(np.sin(x) * y)
        """
    )
    x, y = np.array([0.1, 0.5, 0.9]), 2.0
    assert ad.check_grad(m.f, x, y, wrt=(0, 1)) < 1e-7
    from s2s_ad import rules

    right = rules.lookup(np.sin)
    ad.defvjp(np.sin, lambda g, ans, x: g * np.cos(x) * 1.01)  # a wrong rule
    try:
        with pytest.raises(AssertionError, match=r"df/dx\[0\]: s2s_ad gives 2.0099"):
            ad.check_grad(m.f, x, y, wrt=0)
    finally:
        rules.register(right)


def test_check_grad_of_a_vector_function(m):
    assert ad.check_grad(m.vector, np.array([0.2, 0.4]), np.array([1.0, 3.0]), wrt=(0, 1)) < 1e-7


OBJECTS = """
import dataclasses
from typing import NamedTuple

import numpy as np


@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: float
    name: str = "dense"


class Pair(NamedTuple):
    a: float
    b: np.ndarray


def of_layer(layer, x):
    return np.sum(np.tanh(layer.w * x + layer.b))


def of_pair(p):
    return p.a * np.sum(p.b ** 2)


def of_namespace(p):
    return p.a * p.b + p.a ** 3


def of_dict(p):
    return np.sum(p["w"] @ p["x"]) * p["s"][0] + p["s"][1]


def of_list(xs):
    return xs[0] * np.sum(xs[1] ** 3) + xs[2][0] * xs[0]


def wrong_layer(layer, x):
    return np.sum(np.tanh(layer.w * x + layer.b))
"""


def test_check_grad_takes_objects_and_containers(make_module):
    """Each floating leaf of a dataclass, NamedTuple, SimpleNamespace, dict, list or tuple
    is perturbed; the gradient has the argument's structure."""
    from types import SimpleNamespace

    m = make_module(OBJECTS)
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(2, 3)), rng.normal(size=3)
    assert ad.check_grad(m.of_layer, m.Layer(w, 0.5), x, wrt=(0, 1)) < 1e-7
    assert ad.check_grad(m.of_pair, m.Pair(1.5, x)) < 1e-7
    assert ad.check_grad(m.of_namespace, SimpleNamespace(a=1.0, b=2.0)) < 1e-7
    assert ad.check_grad(m.of_dict, {"w": w, "x": x, "s": (2.0, -1.0)}) < 1e-7
    assert ad.check_grad(m.of_list, [1.5, x, (0.5, 3)]) < 1e-7
    assert ad.check_grad(m.of_list, (1.5, x, [0.5, 3])) < 1e-7


def test_check_grad_names_the_leaf_of_an_object_that_differs(make_module):
    from s2s_ad import rules

    m = make_module(OBJECTS)
    w = np.array([[0.5, -0.2]])
    right = rules.lookup(np.tanh)
    ad.defvjp(np.tanh, lambda g, ans, x: g * (1 - ans**2) * 1.01)  # a wrong rule
    try:
        with pytest.raises(AssertionError, match=r"dwrong_layer/dlayer\.w\[0, 1\]: s2s_ad gives"):
            ad.check_grad(m.wrong_layer, m.Layer(w, 0.5), 2.0)
    finally:
        rules.register(right)


def test_check_grad_of_star_args_compares_each_item(make_module):
    """The arguments past the named ones are `*xs`, one tuple for grad and check_grad."""
    m = make_module(
        """
        import numpy as np

        def weighted(scale, *xs):
            return scale * xs[0] * xs[1] ** 2 + np.sin(xs[-1])

        def weighted_again(scale, *xs):  # transformed under the wrong rule below
            return scale * xs[0] * xs[1] ** 2 + np.sin(xs[-1])
        """
    )
    assert ad.check_grad(m.weighted, 0.5, 1.3, 2.6, 0.4, wrt="xs") < 1e-7
    assert ad.check_grad(m.weighted, 0.5, 1.3, 2.6, wrt=(0, "xs")) < 1e-7
    from s2s_ad import rules

    right = rules.lookup(np.sin)
    ad.defvjp(np.sin, lambda g, ans, x: g * np.cos(x) * 1.01)  # a wrong rule
    try:
        with pytest.raises(AssertionError, match=r"dweighted_again/dxs\[2\]: s2s_ad gives"):
            ad.check_grad(m.weighted_again, 0.5, 1.3, 2.6, 0.4, wrt="xs")
    finally:
        rules.register(right)


def test_closures_of_one_def_calling_different_functions(make_module):
    m = make_module(
        """
        import numpy as np

        def make(op):
            def f(x):
                return op(x)
            return f

        sin_f, cos_f = make(np.sin), make(np.cos)
        """
    )
    assert ad.grad(m.sin_f)(0.0) == pytest.approx(1.0)
    assert ad.grad(m.cos_f)(1.0) == pytest.approx(-math.sin(1.0))


@pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="code positions arrived with 3.11; before it they are refused (stages/test_parse.py)",
)
def test_two_lambdas_on_one_line_are_told_apart(make_module):
    m = make_module("square, triple = (lambda x: x * x), (lambda x: x * 3.0)\n")
    assert ad.grad(m.triple)(1.0) == 3.0
    assert ad.grad(m.square)(1.0) == 2.0


def test_a_functools_wraps_decorator_is_not_silently_skipped(make_module):
    m = make_module(
        """
        import functools

        def doubled(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return 2.0 * fn(*args, **kwargs)
            return wrapper

        @doubled
        def cube(x):
            return x * x * x
        """
    )
    with pytest.raises(ad.TransformError, match=r"\*args"):
        ad.grad(m.cube)(2.0)


def test_a_functools_wraps_wrapper_is_differentiated_with_its_own_parameters(make_module):
    """The wrapper's code is what runs and what s2s_ad reads: its parameters, not those of
    the function it wraps (inspect.signature follows __wrapped__ by default)."""
    m = make_module(
        """
        import functools

        def scaled(fn):
            @functools.wraps(fn)
            def wrapper(x, scale):
                return fn(x) * scale
            return wrapper

        @scaled
        def square(x):
            return x * x
        """
    )
    assert m.square(2.0, 3.0) == 12.0
    assert ad.grad(m.square, wrt=(0, 1))(2.0, 3.0) == (12.0, 4.0)
    assert ad.grad(m.square, wrt="scale")(2.0, scale=3.0) == 4.0
    assert ad.jvp(m.square, (2.0, 3.0), (1.0, None)) == (12.0, 12.0)


def test_emitted_code_can_be_differentiated_again(make_module):
    """The IR's promise for higher order: the output is made of primitives with rules."""
    from s2s_ad.compiler import pipeline

    m = make_module(
        """
        import math
        import numpy as np

        def f(x):
            return math.sin(x) * x * x

        def h(x):
            return np.sum(np.tanh(x) ** 2)
        """
    )
    f_grad = pipeline.build(m.f, pipeline.Spec("grad", ("x",), ("scalar",))).bind(m.f)
    x = 0.7
    second = -math.sin(x) * x * x + 4 * x * math.cos(x) + 2 * math.sin(x)
    assert ad.derivative(f_grad)(x) == pytest.approx(second, rel=1e-13)
    assert ad.grad(f_grad)(x) == pytest.approx(second, rel=1e-13)

    h_grad = pipeline.build(m.h, pipeline.Spec("grad", ("x",), ("array",))).bind(m.h)
    xs = np.array([0.1, 0.5, -0.3])
    t = np.tanh(xs)
    hessian_diagonal = 2 * (1 - t**2) ** 2 - 4 * t**2 * (1 - t**2)
    for i in range(3):
        e = np.eye(3)[i]
        column = ad.jvp(h_grad, (xs,), (e,))[1]
        np.testing.assert_allclose(column, hessian_diagonal * e, rtol=1e-12, atol=1e-15)


def test_an_int_array_after_a_float_array_is_still_taken_as_real(make_module):
    m = make_module("import numpy as np\n\ndef f(x):\n    return np.sum(x * x) / 2\n")
    g = ad.grad(m.f)
    np.testing.assert_array_equal(g(np.array([1.5, 2.0])), [1.5, 2.0])
    result = g(np.array([1, 2]))
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, [1.0, 2.0])
