"""Stage 4a, forward mode: a tangent statement beside each primal one.

What goes in is a lowered function and a spec; what must come out is
``f_jvp(*params, *tangents) -> (out, tangent)`` (``f_tangent`` without the
value, ``f_derivative`` seeded with ones and without tangent parameters),
with tangents only for active variables, and whose emitted code agrees with
central differences.
"""

import numpy as np
import pytest
import stage_programs as programs
from stage_programs import VALUE_CASES, run, wrt_of

from s2s_ad.compiler import ir
from s2s_ad.compiler.forward import forward
from s2s_ad.compiler.lower import lower_function
from s2s_ad.compiler.spec import Spec

from conftest import central_difference


def transformed(fn, mode, wrt, kinds, optimize=True) -> ir.Function:
    return forward(lower_function(fn), Spec(mode, wrt, kinds, optimize=optimize))


def directional(fn, args, positions, tangents) -> float:
    """d sum(fn) along ``tangents``, by central differences per argument."""
    return sum(
        float(np.sum(central_difference(fn, args, k) * t)) for k, t in zip(positions, tangents)
    )


def written(fn: ir.Function) -> set:
    return {v.name for s in ir.walk(fn.body) for v in ir.targets_written(s)}


def read(fn: ir.Function) -> set:
    return {a.name for s in ir.walk(fn.body) for a in ir.atoms_read(s) if isinstance(a, ir.Var)}


# ------------------------------------------------------------------ the function's shape


def test_jvp_is_named_f_jvp_with_tangent_parameters_after_the_parameters():
    fn = transformed(programs.product, "jvp", ("x",), ("scalar",) * 3)
    assert fn.name == "product_jvp"
    assert [param.name for param in fn.params] == ["x", "a", "b", "dx"]
    ret = fn.body[-1]
    assert isinstance(ret, ir.Return) and isinstance(ret.value, tuple) and len(ret.value) == 2


def test_tangent_parameters_follow_the_order_of_wrt():
    fn = transformed(programs.product, "jvp", ("b", "x"), ("scalar",) * 3)
    assert [param.name for param in fn.params] == ["x", "a", "b", "db", "dx"]


def test_tangent_mode_returns_only_the_tangent():
    fn = transformed(programs.product, "tangent", ("x",), ("scalar",) * 3)
    assert fn.name == "product_tangent"
    assert [param.name for param in fn.params] == ["x", "a", "b", "dx"]
    assert isinstance(fn.body[-1].value, ir.Var)


def test_derivative_mode_has_no_tangent_parameters():
    fn = transformed(programs.product, "derivative", ("x",), ("scalar",) * 3)
    assert fn.name == "product_derivative"
    assert [param.name for param in fn.params] == ["x", "a", "b"]
    assert isinstance(fn.body[-1].value, ir.Var)


def test_primal_statements_stay_in_order():
    low = lower_function(programs.product)
    primal = [s for s in low.function.body if isinstance(s, ir.Assign)]
    fn = forward(low, Spec("jvp", ("x",), ("scalar",) * 3, optimize=False))
    assert [s for s in fn.body if any(s is q for q in primal)] == primal


# ------------------------------------------------------------------ activity


@pytest.mark.parametrize("optimize", [True, False])
def test_a_parameter_not_in_wrt_gets_no_tangent(optimize):
    low = lower_function(programs.with_constant)
    c = next(s.target for s in low.function.body if s.value == ir.Load("c"))
    fn = forward(low, Spec("jvp", ("x",), ("scalar",) * 2, optimize=optimize))
    assert [param.name for param in fn.params] == ["x", "c", "dx"]
    assert not {f"d{c}", "dc", "dk"} & (written(fn) | read(fn))
    assert "k" in read(fn)  # the tangent of x * k reads k itself


@pytest.mark.parametrize("optimize", [True, False])
def test_a_value_that_does_not_reach_the_output_gets_no_tangent(optimize):
    fn = transformed(programs.unused_work, "jvp", ("x",), ("scalar",), optimize)
    assert "du" not in written(fn)


def test_a_constant_output_item_has_a_zero_tangent():
    value, tangent = run(programs.two_outputs, "jvp", ("x", "y"), (2.0, 5.0))(2.0, 5.0, 1.0, 0.5)
    assert value == (10.0, 7.0, 3.0)
    assert tangent == (1.0 * 5.0 + 0.5 * 2.0, 1.5, 0.0)


def test_a_parameter_outside_wrt_is_a_constant_of_the_tangent():
    x, w = np.linspace(0.1, 0.5, 4), np.ones(4)
    _, tangent = run(programs.weighted, "jvp", ("w",), (x, w))(x, w, np.ones(4))
    assert tangent == pytest.approx(np.sum(np.exp(x)))


# ------------------------------------------------------------------ values

FORWARD_CASES = {**VALUE_CASES, "list stack": (programs.stacked, (0.6,), (0,))}


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "plain"])
@pytest.mark.parametrize("fn, args, positions", FORWARD_CASES.values(), ids=FORWARD_CASES.keys())
def test_jvp_agrees_with_central_differences(fn, args, positions, optimize):
    wrt = wrt_of(fn, positions)
    rng = np.random.default_rng(len(positions) + len(args))
    tangents = [rng.normal(size=np.shape(args[k])) for k in positions]
    tangents = [t if np.ndim(t) else float(t) for t in tangents]
    value, tangent = run(fn, "jvp", wrt, args, optimize)(*args, *tangents)
    np.testing.assert_allclose(value, fn(*args))
    expected = directional(fn, args, positions, tangents)
    np.testing.assert_allclose(np.sum(tangent), expected, rtol=1e-6, atol=1e-8)
    only = run(fn, "tangent", wrt, args, optimize)(*args, *tangents)
    np.testing.assert_allclose(only, tangent)


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "plain"])
def test_derivative_is_elementwise_and_seeded_with_ones(optimize):
    x = np.linspace(-2.0, 2.0, 7)
    derivative = run(programs.elementwise, "derivative", ("x",), (x,), optimize)(x)
    np.testing.assert_allclose(derivative, np.cos(x) * x + np.sin(x))
    args = (0.5, 1.0, 2.0)
    scalar = run(programs.product, "derivative", ("x",), args, optimize)(*args)
    assert isinstance(scalar, float)
    assert scalar == pytest.approx(central_difference(programs.product, args, 0))
