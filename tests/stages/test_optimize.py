"""Optimization passes and template simplification on small IR snippets."""

import operator

import numpy as np
import pytest

from s2s_ad import runtime
from s2s_ad.compiler import ir, optimize
from s2s_ad.compiler.templates import Builder

x, y, t0, t1, t2, t3, dx = (ir.Var(n) for n in ("x", "y", "t0", "t1", "t2", "t3", "dx"))


def call(fn, *args):
    return ir.Call(fn, tuple(args))


def test_copy_propagation_removes_loads_and_copies():
    body = [
        ir.Assign(t0, ir.Load("x")),
        ir.Assign(t1, t0),
        ir.Assign(t2, call(operator.mul, t1, t0)),
        ir.Return(t2),
    ]
    assert optimize.propagate_copies(body) == [
        ir.Assign(t2, call(operator.mul, x, x)),
        ir.Return(t2),
    ]


def test_copies_of_accumulated_variables_are_kept():
    body = [ir.Assign(dx, t0), ir.Accum(dx, t1), ir.Return(dx)]
    assert optimize.propagate_copies(body) == body


def test_common_subexpressions_are_shared():
    body = [
        ir.Assign(t1, call(np.cos, x)),
        ir.Assign(t2, call(np.cos, x)),
        ir.Assign(t3, call(operator.mul, t1, t2)),
        ir.Return(t3),
    ]
    assert optimize.share_common_subexpressions(body) == [
        ir.Assign(t1, call(np.cos, x)),
        ir.Assign(t3, call(operator.mul, t1, t1)),
        ir.Return(t3),
    ]


def test_no_sharing_through_an_accumulated_variable():
    body = [
        ir.Assign(dx, call(operator.mul, x, y)),
        ir.Assign(t1, call(operator.mul, dx, y)),
        ir.Accum(dx, t1),
        ir.Assign(t2, call(operator.mul, dx, y)),
        ir.Return((t1, t2)),
    ]
    assert optimize.share_common_subexpressions(body) == body


def test_new_containers_are_not_shared():
    """Two ``zeros_like(x)`` are two containers: ``add_at`` writes into each in place."""
    body = [
        ir.Assign(t0, call(runtime.zeros_like, x)),
        ir.Assign(t1, call(runtime.add_at, t0, ir.Const(0), y)),
        ir.Assign(t2, call(runtime.zeros_like, x)),
        ir.Assign(t3, call(runtime.add_at, t2, ir.Const(1), y)),
        ir.Return((t1, t3)),
    ]
    assert optimize.share_common_subexpressions(body) == body


def test_sharing_reaches_into_a_nested_pullback():
    inner = ir.Function("pb", (ir.Param("g"),), [ir.Assign(t2, call(np.cos, x)), ir.Return(t2)])
    body = [ir.Assign(t1, call(np.cos, x)), inner, ir.Return((t1, ir.Var("pb")))]
    shared = optimize.share_common_subexpressions(body)
    assert shared[1].body == [ir.Return(t1)]


def test_dead_pure_code_goes_impure_code_stays():
    body = [
        ir.Assign(t1, call(np.exp, x)),
        ir.Assign(t2, call(np.random.normal, x)),
        ir.Assign(t3, call(operator.add, t1, x)),
        ir.Return(x),
    ]
    assert optimize.eliminate_dead_code(body) == [body[1], body[3]]


def _builder(optimize=True, floats=("x", "y")):
    return Builder(
        ir.Names({"x", "y"}), optimize, is_float=lambda a: a in {ir.Var(f) for f in floats}
    )


@pytest.mark.parametrize(
    "fn, args, expected",
    [
        (operator.mul, (ir.Const(1), x), x),
        (operator.mul, (x, ir.Const(1.0)), x),
        (operator.add, (ir.Const(2), ir.Const(3)), ir.Const(5)),
        (operator.sub, (ir.Const(2), ir.Const(1)), ir.Const(1)),
        (operator.pow, (x, ir.Const(1)), x),
        (operator.truediv, (x, ir.Const(1.0)), x),
    ],
)
def test_builder_simplifies(fn, args, expected):
    b = _builder()
    assert b.call(fn, args) == expected
    assert b.out == []


def test_a_float_one_does_not_turn_an_int_into_itself():
    b = _builder(floats=())
    result = b.call(operator.mul, (ir.Const(1.0), ir.Var("n")))
    assert isinstance(result, ir.Var) and b.out[0].value.args == (ir.Const(1.0), ir.Var("n"))


def test_minus_one_becomes_negation_and_a_plus_minus_b_a_minus_b():
    b = _builder()
    negated = b.call(operator.mul, (ir.Const(-1), y))
    assert b.out[-1].value == call(operator.neg, y)
    total = b.call(operator.add, (x, negated))
    assert b.out[-1].value == call(operator.sub, x, y) and b.out[-1].target == total
    assert b.call(operator.neg, (negated,)) == y


def test_without_optimization_nothing_is_simplified():
    b = _builder(optimize=False)
    b.call(operator.mul, (ir.Const(1), x))
    assert b.out[0].value == call(operator.mul, ir.Const(1), x)


def test_sharing_sees_through_the_order_of_a_product():
    body = [
        ir.Assign(t1, call(operator.mul, x, y)),
        ir.Assign(t2, call(operator.mul, y, x)),
        ir.Assign(t3, call(operator.add, t1, t2)),
        ir.Return(t3),
    ]
    shared = optimize.share_common_subexpressions(body)
    assert shared[1] == ir.Assign(t3, call(operator.add, t1, t1))


def test_an_accumulated_variable_is_not_simplified_through_its_first_value():
    """`d = -c; d += c; d + d` is 0, not `d - c` (found by hypothesis)."""
    b = _builder()
    c = ir.Var("c")
    d = b.call(operator.neg, (c,), target=ir.Var("d"))
    b.accumulate(d, c)
    b.call(operator.add, (d, d))
    assert b.out[-1].value == call(operator.add, d, d)


def test_a_list_grown_as_a_value_is_appended_to_in_place_unless_another_name_holds_it():
    """``t = appended(ys, v); ys = t`` is ``ys.append(v)`` when ``ys`` always holds a list
    this code built; not when a copy of it (``zs = ys``) is read later, nor when it was
    pushed on a stack."""
    from s2s_ad import runtime
    from s2s_ad.compiler.in_place import write_in_place

    ys, zs, t, stack = (ir.Var(n) for n in ("ys", "zs", "t", "stack"))
    grow = [ir.Assign(t, call(runtime.appended, ys, x)), ir.Assign(ys, t)]
    start = [ir.Assign(ys, call(runtime.make_list)), ir.Assign(stack, call(runtime.make_list))]
    alone = start + [ir.For(y, x, grow)] + [ir.Return(ys)]
    rewritten = write_in_place(alone)
    assert rewritten[2].body == [ir.Push(ys, x)]  # the copy back to ys is dropped too
    copied = start + [ir.Assign(zs, ys)] + grow + [ir.Return((zs, ys))]
    assert write_in_place(copied) == copied
    pushed = start + [ir.Push(stack, ys)] + grow + [ir.Return((stack, ys))]
    assert write_in_place(pushed) == pushed
    given = [ir.Assign(ys, x)] + grow + [ir.Return(ys)]  # a parameter: the caller's list
    assert write_in_place(given) == given


def test_code_without_item_writes_or_appends_skips_the_in_place_analyses(monkeypatch):
    """The ownership, sharing and liveness analyses of ``write_in_place`` serve its
    ``updated`` and ``appended`` calls: a body with none is returned as it is, unanalysed
    (they took a twentieth of a long loop's transform for nothing)."""
    from s2s_ad import runtime
    from s2s_ad.compiler import in_place

    analysed = []
    for name in ("_owned", "_built_lists", "_sharing", "_copied_from"):
        original = getattr(in_place, name)
        monkeypatch.setattr(
            in_place, name, lambda body, _o=original: analysed.append(1) or _o(body)
        )
    plain = [ir.Assign(t0, call(operator.mul, x, y)), ir.For(y, x, [ir.Assign(t1, t0)])]
    plain.append(ir.Return(t1))
    assert in_place.write_in_place(plain) is plain and analysed == []
    written = [ir.Assign(t0, call(runtime.zeros_like, x))]
    written += [ir.Assign(t1, call(runtime.updated, t0, ir.Const(0), y)), ir.Return(t1)]
    assert [type(s).__name__ for s in in_place.write_in_place(written)] == [
        "Assign",
        "SetItem",
        "Return",
    ]
    assert len(analysed) == 4  # with an item write, every analysis runs


def test_writes_in_place_spare_bases_with_live_views_and_synced_values():
    """``resynced`` may return a view of its base and ``synced`` the view written through:
    neither allocates, so a base stays copied while such a view is live, and their results
    are never written into in place."""
    from s2s_ad import runtime
    from s2s_ad.compiler.in_place import write_in_place

    m, v, c, w = (ir.Var(n) for n in ("m", "v", "c", "w"))
    index = ir.Const(slice(1, None))
    body = [
        ir.Assign(m, call(runtime.zeros_like, x)),
        ir.Assign(c, call(runtime.shares, y, m, index, ir.Const("shared"))),
        ir.Assign(v, call(runtime.resynced, y, c, m, index)),
        ir.Assign(w, call(runtime.updated, m, ir.Const(0), ir.Const(1.0))),
        ir.Assign(t0, call(runtime.synced, w, c, index, v)),
        ir.Assign(t1, call(runtime.updated, t0, ir.Const(0), ir.Const(2.0))),
        ir.Assign(t2, call(operator.add, t1, v)),
        ir.Return(t2),
    ]
    assert write_in_place(body) == body
    # without the live view, the base's copy is elided as before
    alone = body[:1] + [body[3], ir.Return(w)]
    assert [type(s).__name__ for s in write_in_place(alone)] == ["Assign", "SetItem", "Return"]
