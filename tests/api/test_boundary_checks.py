"""Inputs checked at the boundary, and ``optimize=False`` on the transforms (issue 16).

Wrong cotangents, tangents, outputs and ``checkpointed`` arguments raise a
``TypeError`` naming what was expected and what was given, before any emitted
code runs; right ones still give derivatives equal to central finite differences.
``optimize=False`` runs the unoptimized emission, which gives the same numbers.
"""

import sys

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.compiler.emit import EMITTED

from conftest import central_difference

# ------------------------------------------------------------------ programs


def cubic(x: float, y: float):
    return x * x * x * y + 2.0 * x * y


def softplus_sum(w):
    total = 0.0
    for k in range(3):
        total = total + np.log(1.0 + np.exp(w[k] * (k + 1.0)))
    return total


def two_outputs(x):
    return np.sin(x) * 2.0, np.sum(x * x)


def triple(x):
    return x * 3.0


def returns_none(x):
    y = x * 2.0  # noqa: F841
    return None


def returns_str(x):
    return "done"


def returns_strs(x):
    y = x * 2.0  # noqa: F841
    return ["a", "b"]


def fd_gradient(f, args, position):
    return central_difference(f, list(args), position)


W = np.array([0.3, -0.2, 0.5])


# ---------------------------------------------------------- optimize=False


@pytest.mark.parametrize("optimize", [True, False])
def test_grad_and_value_and_grad_agree_with_finite_differences(optimize):
    args = (1.3, -0.7)
    expected = (fd_gradient(cubic, args, 0), fd_gradient(cubic, args, 1))
    np.testing.assert_allclose(
        ad.grad(cubic, wrt=(0, 1), optimize=optimize)(*args), expected, rtol=1e-7
    )
    value, gradient = ad.value_and_grad(softplus_sum, optimize=optimize)(W)
    assert value == pytest.approx(softplus_sum(W), rel=1e-12)
    np.testing.assert_allclose(gradient, fd_gradient(softplus_sum, (W,), 0), rtol=1e-7)


@pytest.mark.parametrize("optimize", [True, False])
def test_vjp_jvp_and_higher_transforms_agree_with_finite_differences(optimize):
    x = np.array([0.4, -1.1, 0.9])
    cotangent = (np.array([1.0, -2.0, 0.5]), 1.5)
    out, pullback = ad.vjp(two_outputs, x, optimize=optimize)

    def weighted(x):
        first, second = two_outputs(x)
        return np.sum(first * cotangent[0]) + second * cotangent[1]

    for _ in range(2):  # the pullback may be called again
        (gradient,) = pullback(cotangent)
        np.testing.assert_allclose(gradient, fd_gradient(weighted, (x,), 0), rtol=1e-7)
    tangent = np.array([0.2, 0.1, -0.3])
    out, jvp_out = ad.jvp(softplus_sum, (x,), (tangent,), optimize=optimize)
    expected = np.dot(fd_gradient(softplus_sum, (x,), 0), tangent)
    assert jvp_out == pytest.approx(expected, rel=1e-7)
    jacobian = ad.jacobian(triple, optimize=optimize)(x)
    np.testing.assert_allclose(jacobian, 3.0 * np.eye(3))
    second = ad.derivative(lambda t: np.sin(t) * t, optimize=optimize)(0.7)
    assert second == pytest.approx(np.cos(0.7) * 0.7 + np.sin(0.7), rel=1e-12)


def field(p):
    return np.array([p[1] * p[2], 2.0 * p[0] * p[2], 3.0 * p[0] * p[1] + p[2] ** 2])


@pytest.mark.parametrize("optimize", [True, False])
def test_vector_calculus_agrees_with_closed_forms(optimize):
    p = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ad.curl(field, optimize=optimize)(p), [p[0], -2.0 * p[1], p[2]])
    assert ad.divergence(field, optimize=optimize)(p) == pytest.approx(2.0 * p[2])
    laplacian = ad.laplacian(lambda x: np.sum(x**2) * x[0], optimize=optimize)(p)
    assert laplacian == pytest.approx(10.0 * p[0])  # 6 x0 + 2 x0 + 2 x0


def softplus_unrolled(w):
    return np.log(1.0 + np.exp(w[0])) + np.log(1.0 + np.exp(2.0 * w[1])) * w[2]


def check_hessian_and_hvp(f, optimize):
    x = np.array([0.4, -1.1, 0.9])
    tangent = np.array([0.2, 0.1, -0.3])
    hessian = ad.hessian(f, optimize=optimize)(x)
    columns = [fd_gradient(lambda x, k=k: ad.grad(f)(x)[k], (x,), 0) for k in range(3)]
    np.testing.assert_allclose(hessian, np.array(columns), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ad.hvp(f, optimize=optimize)(x, tangent), hessian @ tangent)


@pytest.mark.parametrize("optimize", [True, False])
def test_hessian_and_hvp_agree_with_finite_differences(optimize):
    check_hessian_and_hvp(softplus_unrolled, optimize)


@pytest.mark.parametrize("optimize", [True, False])
def test_hessian_and_hvp_of_a_loop(optimize):
    # forward mode over the unoptimized gradient sees `for k in reversed(t8):`, not a
    # loop over a temporary holding a range_iterator (which has no len)
    check_hessian_and_hvp(softplus_sum, optimize)


def test_decorator_takes_optimize():
    decorated = ad.differentiate(lambda x: x**3, optimize=False)
    assert decorated.grad(2.0) == pytest.approx(12.0)
    assert decorated.vjp(2.0)[1](1.0) == pytest.approx((12.0,))
    assert decorated.jvp((2.0,), (1.0,)) == pytest.approx((8.0, 12.0))


def executed_emitted_text(call):
    """The text of each emitted function that ``call()`` runs."""
    ran = set()

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code.co_filename in EMITTED:
            ran.add(frame.f_code.co_filename)

    sys.setprofile(tracer)
    try:
        call()
    finally:
        sys.setprofile(None)
    return {EMITTED[name].text for name in ran}


@pytest.mark.optimized_only  # the suite-wide switch would also run the unoptimized code
def test_optimize_false_runs_the_unoptimized_emission():
    optimized, plain = ad.source(cubic), ad.source(cubic, optimize=False)
    assert optimized != plain
    assert executed_emitted_text(lambda: ad.grad(cubic)(1.3, -0.7)) == {optimized}
    assert executed_emitted_text(lambda: ad.grad(cubic, optimize=False)(1.3, -0.7)) == {plain}
    forward = ad.source(cubic, mode="forward", optimize=False)
    ran = executed_emitted_text(lambda: ad.jvp(cubic, (1.3, -0.7), (1.0, None), optimize=False))
    assert ran == {forward}


@pytest.mark.parametrize(
    "transform",
    [
        ad.grad,
        ad.value_and_grad,
        ad.hvp,
        ad.hessian,
        ad.jacobian,
        ad.derivative,
        ad.laplacian,
        ad.divergence,
    ],
)
def test_optimize_must_be_a_bool(transform):
    with pytest.raises(TypeError, match="optimize must be True or False, got 'no'"):
        transform(cubic, optimize="no")


# ------------------------------------------------------------ cotangents


def test_pullback_rejects_a_cotangent_of_another_shape():
    _, pullback = ad.vjp(triple, np.ones(3))
    with pytest.raises(TypeError, match=r"output's shape \(3,\), got shape \(5,\)"):
        pullback(np.ones(5))
    with pytest.raises(TypeError, match=r"output's shape \(3,\), got shape \(\)"):
        pullback(1.0)


def test_pullback_rejects_none():
    _, pullback = ad.vjp(triple, np.ones(3))
    with pytest.raises(TypeError, match=r"the cotangent must be shaped like the output .*got None"):
        pullback(None)


def test_pullback_rejects_a_complex_cotangent_for_a_real_output():
    _, pullback = ad.vjp(triple, np.ones(3))
    with pytest.raises(TypeError, match="cotangent is complex, but the output is real"):
        pullback(np.ones(3) * 1j)


def test_a_tuple_output_needs_a_tuple_cotangent():
    x = np.array([0.4, -1.1, 0.9])
    _, pullback = ad.vjp(two_outputs, x)
    with pytest.raises(
        TypeError, match="must be a tuple or list of 2 items like the output.*got an array of shape"
    ):
        pullback(np.ones(3))
    with pytest.raises(TypeError, match="tuple or list of 2 items.*got a tuple of 3 items"):
        pullback((np.ones(3), 1.0, 1.0))
    with pytest.raises(TypeError, match=r"cotangent\[1\] must have the output\[1\]'s shape \(\)"):
        pullback((np.ones(3), np.ones(3)))


def test_a_scalar_output_takes_a_float_or_a_0d_array_of_either_precision():
    x = np.array([0.4, -1.1, 0.9])
    _, pullback = ad.vjp(softplus_sum, x)
    expected = fd_gradient(softplus_sum, (x,), 0)
    for cotangent in (2.0, np.array(2.0), np.float32(2.0), np.array(2.0, dtype=np.float32), 2):
        (gradient,) = pullback(cotangent)
        np.testing.assert_allclose(gradient, 2.0 * expected, rtol=1e-6)


def test_an_array_output_takes_a_float32_cotangent():
    x = np.array([0.4, -1.1, 0.9])
    _, pullback = ad.vjp(triple, x)
    (gradient,) = pullback(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    np.testing.assert_allclose(gradient, [3.0, 6.0, 9.0])


def dict_output(x):
    return {"a": x * 2.0, "b": np.sum(x)}


def test_a_dict_output_needs_a_dict_cotangent_with_its_keys():
    x = np.array([0.4, -1.1])
    _, pullback = ad.vjp(dict_output, x)
    with pytest.raises(TypeError, match=r"keys \['a', 'b'\] of the output, got a dict with keys"):
        pullback({"a": np.ones(2)})
    (gradient,) = pullback({"a": np.array([1.0, -1.0]), "b": 0.5})

    def weighted(x):
        out = dict_output(x)
        return np.sum(out["a"] * np.array([1.0, -1.0])) + 0.5 * out["b"]

    np.testing.assert_allclose(gradient, fd_gradient(weighted, (x,), 0), rtol=1e-7)


# --------------------------------------------------------------- tangents


def product_of_items(xs):
    return xs[0] * xs[1]


def test_a_list_argument_needs_a_list_tangent_of_its_length():
    with pytest.raises(TypeError, match="tuple or list of 2 items like the argument .a list."):
        ad.jvp(product_of_items, ([2.0, 3.0],), ([1.0],))
    assert ad.jvp(product_of_items, ([2.0, 3.0],), ([1.0, 0.5],)) == pytest.approx((6.0, 4.0))


def test_jvp_rejects_a_tangent_of_another_shape():
    with pytest.raises(TypeError, match=r"tangent of 'x' must have the argument's shape \(3,\)"):
        ad.jvp(triple, (np.ones(3),), (np.ones(5),))
    with pytest.raises(
        TypeError, match=r"the tangent of 'x' must be shaped like the argument .*str"
    ):
        ad.jvp(triple, (np.ones(3),), ("abc",))


def test_jvp_accepts_a_float32_tangent():
    x = np.array([0.4, -1.1, 0.9])
    tangent = np.array([1.0, 0.5, -2.0], dtype=np.float32)
    _, product = ad.jvp(softplus_sum, (x,), (tangent,))
    expected = np.dot(fd_gradient(softplus_sum, (x,), 0), tangent.astype(float))
    assert product == pytest.approx(expected, rel=1e-6)


def test_hvp_rejects_a_v_of_another_shape():
    with pytest.raises(
        TypeError, match=r"hvp: v for 'w' must have the argument's shape \(3,\), got shape \(5,\)"
    ):
        ad.hvp(softplus_sum)(np.ones(3), np.ones(5))


# ---------------------------------------------------------------- outputs


@pytest.mark.parametrize(
    "f, given", [(returns_none, "None"), (returns_str, "'done'"), (returns_strs, "a list")]
)
def test_gradients_of_non_numeric_outputs_raise(f, given):
    for transform in (ad.grad, ad.value_and_grad):
        with pytest.raises(TypeError, match=f"scalar output, but it returned {given}"):
            transform(f)(1.5)


@pytest.mark.parametrize(
    "f, given", [(returns_none, "None"), (returns_str, "the str 'done'"), (returns_strs, "a list")]
)
def test_vjp_and_jvp_of_non_numeric_outputs_raise(f, given):
    with pytest.raises(TypeError, match=f"vjp needs a function that returns numbers.*{given}"):
        ad.vjp(f, 1.5)
    with pytest.raises(TypeError, match=f"jvp needs a function that returns numbers.*{given}"):
        ad.jvp(f, (1.5,), (1.0,))


def test_a_constant_numeric_output_still_has_a_zero_gradient():
    assert ad.grad(lambda x: 3.0)(1.5) == 0.0


# ------------------------------------------------------------ checkpointed


def test_checkpointed_needs_an_iterable():
    with pytest.raises(TypeError, match="an iterable such as range.n., got an int: 5"):
        ad.checkpointed(5)
    with pytest.raises(TypeError, match="snapshots must be an int of at least 1, got 0"):
        ad.checkpointed(range(3), snapshots=0)


def looped_five_times(x):
    t = x
    for _ in ad.checkpointed(5):
        t = t * 1.1
    return t


def test_checkpointed_of_an_int_in_a_differentiated_function_names_the_fix():
    with pytest.raises(ad.TransformError, match=r"got the int 5") as raised:
        ad.grad(looped_five_times)(1.0)
    assert "ad.checkpointed(range(5))" in str(raised.value)


def looped_n_times(x, n):
    t = x
    for _ in ad.checkpointed(n):
        t = t * 1.1
    return t


@pytest.mark.parametrize("transform", [ad.grad, ad.value_and_grad])
def test_checkpointed_of_an_int_variable_raises_at_the_call(transform):
    with pytest.raises(TypeError, match="an iterable such as range.n., got an int: 5"):
        transform(looped_n_times)(1.0, 5)
    value, gradient = ad.value_and_grad(looped_n_times)(1.0, range(5))
    assert value == pytest.approx(1.1**5)
    assert gradient == pytest.approx(fd_gradient(looped_n_times, (1.0, range(5)), 0))
