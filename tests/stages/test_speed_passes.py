"""The optimizations that make emitted derivatives as fast as hand-written ones.

Each is tested where it acts: IR snippets in, IR out for the passes; the
emitted source for what reverse mode decides; runtime helpers against NumPy.
Every gradient is also checked against an independent oracle.
"""

import math
import operator

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.compiler import analyse, ir, optimize, pipeline
from s2s_ad.compiler.derived import Derived
from s2s_ad.compiler.lower import lower_function
from s2s_ad.compiler.spec import Spec
from s2s_ad.compiler.templates import Builder
from s2s_ad.compiler.transform import mutable_variables
from s2s_ad.runtime import add_at, unbroadcast, zeros_like
from s2s_ad.runtime.arrays import matmul_vjp_x, matmul_vjp_y, unreduce

from conftest import central_difference, load_benchmark

x, y, t0, t1, t2 = (ir.Var(n) for n in ("x", "y", "t0", "t1", "t2"))


def call(fn, *args):
    return ir.Call(fn, tuple(args))


def emitted_text(f, kinds, wrt=None, mode="grad", optimize=True):
    params = f.__code__.co_varnames[: f.__code__.co_argcount]
    wrt = wrt or (params[0],)
    return pipeline.build(f, Spec(mode, wrt, kinds, optimize)).text


# ------------------------------------------------------ dead code in loops


def test_dead_code_goes_inside_loops_and_branches_too():
    loop = ir.For(
        ir.Var("i"),
        ir.Var("steps"),
        [ir.Assign(t1, call(operator.neg, x)), ir.Assign(y, call(operator.mul, y, x))],
    )
    branch = ir.If(x, [ir.Assign(t2, call(math.sin, x))], [])
    pruned = optimize.eliminate_dead_code([loop, branch, ir.Return(y)])
    assert pruned[0].body == [loop.body[1]]
    assert pruned[1].body == []


def test_dead_code_in_a_loop_keeps_what_a_later_trip_reads():
    loop = ir.For(
        ir.Var("i"),
        ir.Var("steps"),
        [ir.Assign(t2, call(operator.mul, t1, x)), ir.Assign(t1, call(operator.neg, x))],
    )
    assert optimize.eliminate_dead_code([loop, ir.Return(t2)]) == [loop, ir.Return(t2)]


# ------------------------------------------------- negated accumulations


def _builder(optimize=True):
    return Builder(ir.Names({"x", "y"}), optimize, is_float=lambda a: True)


def test_a_negated_term_is_subtracted_not_negated_then_added():
    b = _builder()
    negated = b.call(operator.neg, (y,))
    b.accumulate(x, negated)
    assert b.out[-1] == ir.Accum(x, y, None, None, subtract=True)


def test_without_optimization_the_negation_stays():
    b = _builder(optimize=False)
    negated = b.call(operator.neg, (y,))
    b.accumulate(x, negated)
    assert b.out[-1] == ir.Accum(x, negated)


def test_subtraction_is_emitted_as_minus_equals():
    text = emitted_text(recurrence, ("scalar",) * 4, wrt=("x0", "a", "b"))
    assert "dx -= t2 * t0" in text and "dx += -" not in text


# ------------------------------------------------------------ shape keys


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_shape_keys_follow_elementwise_calls_and_row_slices():
    low = lower_function(rosenbrock)
    kinds = analyse.kinds(low.function, {"x": "array"}, low.free_values)
    keys = analyse.shape_keys(low.function, kinds, mutable_variables(low.function.body))
    by_source = {s.note: keys.get(s.target) for s in low.function.body if isinstance(s, ir.Assign)}
    head, tail = by_source["x[:-1]"], by_source["x[1:]"]
    assert head == tail == ("rows", ("argument", "x"), 1)
    assert by_source["x[:-1] ** 2"] == head  # elementwise with a scalar keeps the key
    assert by_source["x[1:] - x[:-1] ** 2"] == head  # two arrays of one key
    assert keys.get(low.function.body[-2].target) is None  # np.sum: a new shape


def test_different_slices_get_different_keys():
    def f(x):
        return np.sum(x[2:] * x[:-1])

    low = lower_function(f)
    kinds = analyse.kinds(low.function, {"x": "array"}, low.free_values)
    keys = analyse.shape_keys(low.function, kinds, mutable_variables(low.function.body))
    notes = {s.note: keys.get(s.target) for s in low.function.body if isinstance(s, ir.Assign)}
    assert notes["x[2:]"] != notes["x[:-1]"]
    assert notes["x[2:] * x[:-1]"] is None  # they broadcast (or fail): no key


def test_same_shapes_need_no_unbroadcast_and_shapes_come_from_the_earliest_value():
    text = emitted_text(rosenbrock, ("array",))
    adjoint = text.split("# adjoint sweep")[1]
    assert "unbroadcast" not in text
    assert "unreduce(1.0, t0)" in adjoint  # not the sum's argument, which is never computed
    assert "dx[:-1] -=" in adjoint and "dx[1:] +=" in adjoint  # in place, no np.add.at
    point = np.random.default_rng(0).uniform(-1, 1.5, size=7)
    np.testing.assert_allclose(
        ad.grad(rosenbrock)(point), central_difference(rosenbrock, (point,), 0), rtol=1e-6
    )


def test_broadcasting_still_unbroadcasts():
    def f(a, b):
        return np.sum(np.tanh(a + b))

    assert "unbroadcast(" in emitted_text(f, ("array", "array"), wrt=("a", "b"))
    a, b = np.linspace(0.1, 0.6, 6).reshape(2, 3), np.array([0.2, -0.1, 0.3])
    grads = ad.grad(f, wrt=(0, 1))(a, b)
    for k in range(2):
        np.testing.assert_allclose(grads[k], central_difference(f, (a, b), k), rtol=1e-6)


def test_a_parameter_gradient_keeps_its_dtype():
    def f(a, b):
        return np.sum(a * b)

    a32 = np.ones(3, dtype=np.float32)
    assert ad.grad(f)(a32, np.full(3, 2.0)).dtype == np.float32


# --------------------------------------- loops: stored values per iteration


def recurrence(x0: float, a: float, b: float, n: int) -> float:
    x = x0
    for _ in range(n):
        x = x + 0.01 * (a * x * (1.0 - x) - b * x)
    return x


appends = load_benchmark("stores").appends  # list.append calls, counted by a profiler hook


@pytest.mark.optimized_only  # counts what the optimized code alone stores
def test_the_scalar_recurrence_stores_one_float_per_step():
    gradient = ad.grad(recurrence, wrt=(0, 1, 2))
    gradient(0.1, 2.0, 0.5, 1)  # built before counting: the build's own appends are not stores
    per_step = appends(gradient, (0.1, 2.0, 0.5, 200)) - appends(gradient, (0.1, 2.0, 0.5, 100))
    assert per_step / 100 == 1
    text = emitted_text(recurrence, ("scalar",) * 4, wrt=("x0", "a", "b"))
    reverse_loop = text.split("for _ in reversed(range(n)):")[1]
    assert "t0 = a * x" in reverse_loop  # recomputed, not popped
    assert "None" not in text  # no placeholders for the first push


def test_the_recomputed_recurrence_gradient_is_exact():
    args = (0.1, 2.0, 0.5, 50)
    got = ad.grad(recurrence, wrt=(0, 1, 2))(*args)
    for k in range(3):
        assert got[k] == pytest.approx(central_difference(recurrence, args, k), rel=1e-6)


@pytest.mark.optimized_only
def test_without_optimization_the_temporaries_are_saved():
    gradient = ad.grad(recurrence, wrt=(0, 1, 2))
    plain = Derived(recurrence, "grad", ("x0", "a", "b"), optimize=False)
    args_100, args_200 = (0.1, 2.0, 0.5, 100), (0.1, 2.0, 0.5, 200)
    per_step = (appends(plain, args_200) - appends(plain, args_100)) / 100
    assert per_step > 1
    assert plain(*args_100) == pytest.approx(gradient(*args_100), rel=1e-12)


def test_a_value_computed_from_one_read_after_the_loop_is_saved():
    def f(x: float, n: int) -> float:
        for _ in range(n):
            t = x * x
            x = 0.5 * t * x + 0.1
        return t + x

    text = emitted_text(f, ("scalar", "scalar"))
    # `0.5 * t` reads t, which is not recomputed (the return reads it): saved with x
    assert text.count("stack.append(") == 2
    got = ad.grad(f)(0.9, 4)
    assert got == pytest.approx(central_difference(f, (0.9, 4), 0), rel=1e-6)


def test_a_temporary_whose_operand_changes_before_its_use_is_saved():
    def f(x: float, n: int) -> float:
        y = x
        for _ in range(n):
            t = 2.0 * y
            y = y * 0.5 + x
            x = t * y
        return x

    got = ad.grad(f)(0.7, 3)
    assert got == pytest.approx(central_difference(f, (0.7, 3), 0), rel=1e-6)


# ---------------------------------------------------------- runtime fast paths


def test_add_at_adds_slices_in_place_and_repeated_indices_twice():
    acc = np.zeros(4)
    assert add_at(acc, slice(1, None), np.ones(3)) is acc
    np.testing.assert_array_equal(acc, [0, 1, 1, 1])
    add_at(acc, np.array([0, 0, 2]), np.array([1.0, 2.0, 5.0]))
    np.testing.assert_array_equal(acc, [3, 1, 6, 1])
    add_at(acc, (Ellipsis, 3), 10.0)
    np.testing.assert_array_equal(acc, [3, 1, 6, 11])


def test_unreduce_of_a_full_reduction_fills_with_the_cotangent():
    out = unreduce(2.5, np.zeros((2, 3), dtype=np.float32))
    assert out.dtype == np.float32 and out.shape == (2, 3) and np.all(out == 2.5)
    assert unreduce(np.float64(1.0), np.zeros(3, dtype=int)).dtype == np.float64


def test_unbroadcast_returns_a_matching_array_itself_and_converts_others():
    g = np.ones(3)
    assert unbroadcast(g, np.zeros(3)) is g
    assert unbroadcast(g, np.zeros(3, dtype=np.float32)).dtype == np.float32
    np.testing.assert_array_equal(unbroadcast(np.ones((2, 3)), np.zeros(3)), [2, 2, 2])


def test_zeros_like_gives_float_zeros():
    assert zeros_like(np.arange(3)).dtype == np.float64
    assert zeros_like(np.ones(2, dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("x_shape, y_shape", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,))])
def test_matmul_cotangents_against_finite_differences(x_shape, y_shape):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=x_shape), rng.normal(size=y_shape)
    g = rng.normal(size=np.shape(a @ b))

    def loss(a, b):
        return np.sum(g * (a @ b))

    np.testing.assert_allclose(matmul_vjp_x(g, a, b), central_difference(loss, (a, b), 0), 1e-6)
    np.testing.assert_allclose(matmul_vjp_y(g, a, b), central_difference(loss, (a, b), 1), 1e-6)


def test_a_matmul_cotangent_is_not_copied_and_owns_its_memory():
    a, b, g = np.ones((3, 4)), np.ones((4, 5)), np.ones((3, 5))
    gy = matmul_vjp_y(g, a, b)
    assert gy.base is None and gy.flags.writeable


# ----------------------------------------- simplification and loops


def negated_before_loop(x: float, n: int) -> float:
    acc = math.cos(x)  # its tangent is a negation, -sin(x) dx
    for _ in range(n):
        acc = acc / (2 + math.sin(x - acc))
    return acc


def test_a_loop_body_does_not_simplify_with_a_definition_from_before_the_loop():
    """`dx - dacc` was simplified to `dx + t` with `dacc = -t` from before the loop, wrong
    from the second trip on (found by the optimized-against-unoptimized check)."""
    expected = central_difference(negated_before_loop, (0.7, 3), 0)
    _, tangent = ad.jvp(negated_before_loop, (0.7, 3), (1.0, None))
    assert tangent == pytest.approx(expected, rel=1e-7)
    assert ad.grad(negated_before_loop)(0.7, 3) == pytest.approx(expected, rel=1e-7)


# ------------------------------- dead containers, and HVP without the gradient

acc, s, item = ir.Var("acc"), ir.Var("stack"), ir.Var("item")


def test_writes_into_a_container_nobody_needs_are_dead():
    from s2s_ad import runtime

    body = [
        ir.Assign(acc, call(runtime.zeros_like, x)),
        ir.SetItem(acc, ir.Const(0), y),
        ir.Accum(acc, y),
        ir.Return(y),
    ]
    assert optimize.eliminate_dead_code(body) == [ir.Return(y)]


def test_writes_into_a_value_that_may_be_shared_stay():
    view = ir.Var("view")
    body = [
        ir.Assign(view, call(operator.getitem, x, ir.Const(slice(1, None)))),
        ir.SetItem(view, ir.Const(0), y),  # writes into x
        ir.Return(x),
    ]
    assert optimize.eliminate_dead_code(body) == body


def test_zeros_like_reads_only_the_shape_of_a_fresh_array():
    from s2s_ad import runtime

    body = [
        ir.Assign(acc, call(runtime.zeros_like, x)),
        ir.SetItem(acc, ir.Const(0), y),  # the shape stays
        ir.Assign(t1, call(runtime.zeros_like, acc)),
        ir.Return(t1),
    ]
    assert optimize.eliminate_dead_code(body) == [body[0], body[2], body[3]]


def test_pushes_change_a_list_shape_and_stay_for_zeros_like():
    from s2s_ad import runtime

    body = [
        ir.Assign(s, call(runtime.make_list)),
        ir.Push(s, y),
        ir.Assign(t1, call(runtime.zeros_like, s)),
        ir.Return(t1),
    ]
    assert optimize.eliminate_dead_code(body) == body


def test_a_stack_nobody_pops_into_a_needed_value_is_dead():
    from s2s_ad import runtime

    body = [
        ir.Assign(s, call(runtime.make_list)),
        ir.Push(s, y),
        ir.Pop(item, s),
        ir.Return(y),
    ]
    assert optimize.eliminate_dead_code(body) == [ir.Return(y)]


def test_zeros_like_of_zeros_like_is_zeros_like():
    from s2s_ad import runtime

    b = _builder()
    inner = b.call(runtime.zeros_like, (x,))
    b.call(runtime.zeros_like, (inner,))
    assert b.out[-1].value == call(runtime.zeros_like, x)


def test_the_hvp_code_returns_only_the_tangent_and_skips_the_gradient():
    text = ad.source(rosenbrock, mode="hvp")
    assert "def rosenbrock_grad_tangent(x, d2x):" in text
    assert "dx[" not in text  # the gradient's own writes are gone
    point = np.random.default_rng(2).uniform(-1, 1.5, size=6)
    v = np.random.default_rng(3).normal(size=6)
    gradient = ad.grad(rosenbrock)

    def directional(t):
        return gradient(point + t * v)

    h = 1e-6
    expected = (directional(h) - directional(-h)) / (2 * h)
    np.testing.assert_allclose(ad.hvp(rosenbrock)(point, v), expected, rtol=1e-6, atol=1e-6)


def test_a_negated_factor_comes_out_of_the_product():
    b = _builder()
    negated = b.call(operator.neg, (y,))
    product = b.call(operator.mul, (negated, x))
    assert b.out[-2].value == call(operator.mul, y, x)
    assert b.defs[product] == call(operator.neg, b.out[-2].target)
    b.accumulate(t0, product)
    assert b.out[-1] == ir.Accum(t0, b.out[-3].target, None, None, subtract=True)
