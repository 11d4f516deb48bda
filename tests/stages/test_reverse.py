"""Stage 4b, reverse mode: a primal sweep, then the adjoint statements in reverse.

What goes in is a lowered function and a spec; what must come out is
``f_grad`` / ``f_value_and_grad`` (the primal sweep, ``# adjoint sweep``, the
adjoints of the statements in reverse order, the gradient returned) or
``f_vjp`` (the primal sweep returning the value and a nested pullback), in
which the first contribution to an adjoint assigns and later ones accumulate,
a loop saves exactly the values its adjoint reads, and the emitted code
agrees with central differences.
"""

import operator

import numpy as np
import pytest
import stage_programs as programs
from stage_programs import VALUE_CASES, run, wrt_of

from s2s_ad.compiler import ir
from s2s_ad.compiler.errors import TransformError
from s2s_ad.compiler.lower import lower_function
from s2s_ad.compiler.reverse import reverse
from s2s_ad.compiler.spec import Spec

from conftest import central_difference


def transformed(fn, mode, wrt, kinds, optimize=True) -> ir.Function:
    return reverse(lower_function(fn), Spec(mode, wrt, kinds, optimize=optimize))


def result_of(fn, mode, wrt, args, optimize=True):
    """What ``fn``'s transform, emitted for ``args``' kinds, returns on them."""
    return run(fn, mode, wrt, args, optimize)(*args)


def split_at_sweep(body):
    """The primal sweep and the adjoint sweep of a grad's body (its return dropped)."""
    k = next(k for k, s in enumerate(body) if s == ir.Comment("adjoint sweep"))
    return body[:k], body[k + 1 : -1]


def writes_of(body, var_name):
    return [s for s in ir.walk(body) if var_name in {v.name for v in ir.targets_written(s)}]


def loops(body):
    return [s for s in body if isinstance(s, (ir.For, ir.While))]


# ------------------------------------------------------------------ the function's shape


@pytest.mark.parametrize("mode", ["grad", "value_and_grad"])
def test_grad_is_named_after_the_function_and_mode_with_its_parameters(mode):
    fn = transformed(programs.chain, mode, ("x",), ("scalar",) * 2)
    assert fn.name == f"chain_{mode}"
    assert [param.name for param in fn.params] == ["x", "y"]
    ret = fn.body[-1]
    assert isinstance(ret, ir.Return)
    assert isinstance(ret.value, tuple) == (mode == "value_and_grad")


@pytest.mark.parametrize("optimize", [True, False])
def test_the_adjoint_sweep_follows_the_primal_sweep_in_reverse(optimize):
    fn = transformed(programs.chain, "grad", ("x", "y"), ("scalar",) * 2, optimize)
    primal, sweep = split_at_sweep(fn.body)
    assert all(isinstance(s, ir.Assign) for s in primal)
    assert not any(s.target.name.startswith("d") for s in primal)
    lines = [s.loc.lineno for s in sweep if getattr(s, "loc", None)]
    assert lines == sorted(lines, reverse=True)  # the last user line first
    if not optimize:  # every line has adjoint statements of its own
        first_line = programs.chain.__code__.co_firstlineno
        assert set(lines) == {first_line + k for k in (1, 2, 3, 4)}


def test_several_gradients_are_returned_in_the_order_of_wrt():
    fn = transformed(programs.chain, "grad", ("y", "x"), ("scalar",) * 2, optimize=False)
    assert [str(a) for a in fn.body[-1].value] == ["dy", "dx"]
    args = (0.4, 1.3)
    dy, dx = result_of(programs.chain, "grad", ("y", "x"), args)
    assert dy == pytest.approx(central_difference(programs.chain, args, 1))
    assert dx == pytest.approx(central_difference(programs.chain, args, 0))


# ------------------------------------------------------------------ accumulation


@pytest.mark.parametrize("optimize", [True, False])
def test_the_first_contribution_assigns_later_ones_accumulate(optimize):
    fn = transformed(programs.fan, "grad", ("x",), ("scalar",), optimize)
    _, sweep = split_at_sweep(fn.body)
    adjoints = {v.name for s in sweep for v in ir.targets_written(s) if v.name.startswith("d")}
    assert {"dx", "dy"} <= adjoints
    for name in adjoints:
        assert isinstance(writes_of(sweep, name)[0], ir.Assign), name
    assert any(isinstance(s, ir.Accum) and s.target.name == "dx" for s in sweep)


def test_fan_out_accumulates_one_term_per_use():
    """``x`` is read three times (``x * x``, ``y * x``): three terms reach ``dx``."""
    fn = transformed(programs.fan, "grad", ("x",), ("scalar",), optimize=False)
    _, sweep = split_at_sweep(fn.body)
    writes = writes_of(sweep, "dx")
    assert [type(s) for s in writes] == [ir.Assign, ir.Accum, ir.Accum]
    dy_writes = writes_of(sweep, "dy")  # y is read twice: y + ..., y * x
    assert [type(s) for s in dy_writes] == [ir.Assign, ir.Accum]


@pytest.mark.parametrize("optimize", [True, False])
def test_a_parameter_outside_wrt_and_an_unused_one_get_no_adjoint_code(optimize):
    fn = transformed(programs.ignores_y, "grad", ("x",), ("scalar",) * 2, optimize)
    assert not writes_of(fn.body, "dy")
    assert result_of(programs.ignores_y, "grad", ("x", "y"), (1.0, 2.0), optimize) == (2.0, 0.0)
    dx, dy = result_of(programs.ignores_y, "grad", ("x", "y"), (1.0, np.ones(3)), optimize)
    assert dx == 2.0 and np.array_equal(dy, np.zeros(3))


def test_grad_of_a_tuple_refuses():
    with pytest.raises(TransformError, match="returns a tuple") as info:
        transformed(programs.two_outputs, "grad", ("x",), ("scalar",) * 2)
    assert info.value.lineno == programs.two_outputs.__code__.co_firstlineno + 1


# ------------------------------------------------------------------ loops


def test_a_loop_saves_the_values_its_adjoint_reads():
    fn = transformed(programs.recurrence, "grad", ("x",), ("scalar",) * 2)
    primal, sweep = split_at_sweep(fn.body)
    (loop,) = loops(primal)
    (saved,) = [s for s in loop.body if isinstance(s, ir.Push)]
    assign = next(s for s in loop.body if isinstance(s, ir.Assign) and s.target == ir.Var("x"))
    assert saved.value == ir.Var("x")
    assert loop.body.index(saved) < loop.body.index(assign)  # saved before it is overwritten
    (reversed_loop,) = loops(sweep)
    (restored,) = [s for s in ir.walk(reversed_loop.body) if isinstance(s, ir.Pop)]
    assert restored.target == ir.Var("x") and restored.stack == saved.stack


def test_a_loop_whose_adjoint_reads_nothing_overwritten_saves_nothing():
    fn = transformed(programs.doubling, "grad", ("x",), ("scalar",) * 2)
    assert not [s for s in ir.walk(fn.body) if isinstance(s, (ir.Push, ir.Pop))]
    assert result_of(programs.doubling, "grad", ("x",), (1.0, 5)) == 2.0**5


def constant_branch(x: float, y: float):
    if y > 0.0:
        c = 2.0
    else:
        c = 3.0
    return x * x + c


def test_a_reversed_branch_of_pops_goes_and_one_look_at_the_sweep_settles_it(monkeypatch):
    """The reversed ``if`` of a constant holds only pops: they go, and the ``if`` with them.
    Its condition is no saved value, so what the sweep reads back is settled in one look."""
    from s2s_ad.compiler import stacks

    looks = []
    read_back = stacks.Stacks._read_back
    monkeypatch.setattr(
        stacks.Stacks, "_read_back", lambda self, sweep: looks.append(1) or read_back(self, sweep)
    )
    fn = transformed(constant_branch, "grad", ("x",), ("scalar",) * 2)
    assert len(looks) == 1
    primal, sweep = split_at_sweep(fn.body)
    assert any(isinstance(s, ir.If) for s in primal)
    assert not any(isinstance(s, (ir.If, ir.Pop)) for s in ir.walk(sweep))
    assert not any(isinstance(s, ir.Push) for s in ir.walk(primal))
    for y in (-1.0, 1.0):
        assert result_of(constant_branch, "grad", ("x",), (1.5, y)) == 3.0  # 2x


def test_the_reversed_loop_runs_over_the_same_steps_backwards():
    fn = transformed(programs.recurrence, "grad", ("x",), ("scalar",) * 2)
    primal, sweep = split_at_sweep(fn.body)
    (reversed_loop,) = loops(sweep)
    steps = next(s for s in sweep if isinstance(s, ir.Assign) and s.target == reversed_loop.iter)
    assert steps.value.fn is reversed
    assert reversed_loop.target == loops(primal)[0].target


def test_a_while_loop_counts_its_trips_and_runs_back_as_often():
    fn = transformed(programs.until_large, "grad", ("x",), ("scalar",))
    primal, sweep = split_at_sweep(fn.body)
    (loop,) = loops(primal)
    assert isinstance(loop, ir.While)
    count = loop.body[0]
    assert isinstance(count, ir.Assign) and count.value.fn is operator.add
    (reversed_loop,) = loops(sweep)
    assert isinstance(reversed_loop, ir.For)
    steps = next(s for s in sweep if isinstance(s, ir.Assign) and s.target == reversed_loop.iter)
    assert steps.value.fn is range and steps.value.args == (count.target,)


# ------------------------------------------------------------------ vjp


def test_vjp_returns_the_value_and_a_nested_pullback():
    fn = transformed(programs.recurrence, "vjp", ("x",), ("scalar",) * 2)
    assert fn.name == "recurrence_vjp"
    assert [param.name for param in fn.params] == ["x", "n"]
    (pullback,) = [s for s in fn.body if isinstance(s, ir.Function)]
    assert pullback.name == "recurrence_pullback"
    value, closure = fn.body[-1].value
    assert closure == ir.Var(pullback.name)
    cotangent, *restored = pullback.params
    assert cotangent.default is None
    assert all(param.default is not None for param in restored)  # snapshots of what it restores
    assert any(s == ir.Comment("adjoint sweep") for s in pullback.body)
    assert isinstance(pullback.body[-1].value, tuple)  # one cotangent per wrt


@pytest.mark.parametrize("optimize", [True, False])
def test_a_pullback_may_be_called_again(optimize):
    """The adjoint sweep pops its own copy of the stack: a second call sees the same values."""
    value, pullback = result_of(programs.recurrence, "vjp", ("x",), (0.9, 4), optimize)
    assert value == pytest.approx(programs.recurrence(0.9, 4))
    once = pullback(1.0)
    assert pullback(1.0) == once
    assert pullback(2.0)[0] == pytest.approx(2.0 * once[0])
    assert once[0] == pytest.approx(central_difference(programs.recurrence, (0.9, 4), 0))


def test_vjp_of_a_tuple_output_takes_a_tuple_cotangent():
    value, pullback = result_of(programs.two_outputs, "vjp", ("x", "y"), (2.0, 3.0))
    assert value == (6.0, 5.0, 3.0)
    assert pullback((1.0, 0.0, 0.0)) == (3.0, 2.0)
    assert pullback((0.0, 1.0, 5.0)) == (1.0, 1.0)  # the constant item takes nothing


@pytest.mark.parametrize("optimize", [True, False])
def test_value_and_grad_returns_the_value_the_sweep_restores_over(optimize):
    """The adjoint sweep pops ``x`` back to older values; the value returned is the output."""
    value, dx = result_of(programs.recurrence, "value_and_grad", ("x",), (0.9, 4), optimize)
    assert value == programs.recurrence(0.9, 4)
    assert dx == pytest.approx(central_difference(programs.recurrence, (0.9, 4), 0))


# ------------------------------------------------------------------ values


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "plain"])
@pytest.mark.parametrize("fn, args, positions", VALUE_CASES.values(), ids=VALUE_CASES.keys())
def test_grad_agrees_with_central_differences(fn, args, positions, optimize):
    wrt = wrt_of(fn, positions)
    grads = result_of(fn, "grad", wrt, args, optimize)
    grads = grads if len(positions) > 1 else (grads,)
    for grad, k in zip(grads, positions):
        np.testing.assert_allclose(grad, central_difference(fn, args, k), rtol=1e-6, atol=1e-8)
    value, both = result_of(fn, "value_and_grad", wrt, args, optimize)
    np.testing.assert_allclose(value, fn(*args))
    both = both if len(positions) > 1 else (both,)
    for grad, again in zip(grads, both):
        np.testing.assert_allclose(again, grad)


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "plain"])
@pytest.mark.parametrize("fn, args, positions", VALUE_CASES.values(), ids=VALUE_CASES.keys())
def test_vjp_agrees_with_grad(fn, args, positions, optimize):
    wrt = wrt_of(fn, positions)
    value, pullback = result_of(fn, "vjp", wrt, args, optimize)
    np.testing.assert_allclose(value, fn(*args))
    cotangents = pullback(2.0)
    assert isinstance(cotangents, tuple) and len(cotangents) == len(positions)
    for cotangent, k in zip(cotangents, positions):
        expected = 2.0 * central_difference(fn, args, k)
        np.testing.assert_allclose(cotangent, expected, rtol=1e-6, atol=1e-8)


def test_vjp_of_an_array_output_weights_each_element():
    x = np.linspace(-1.0, 1.0, 5)
    cotangent = np.array([1.0, -2.0, 0.5, 3.0, 0.0])
    _, pullback = result_of(programs.elementwise, "vjp", ("x",), (x,))
    (dx,) = pullback(cotangent)
    np.testing.assert_allclose(dx, cotangent * (np.cos(x) * x + np.sin(x)))
