"""The transform's work grows linearly with a function's size.

Wall time is the benchmark's business (``benchmarks/run.py`` times long functions by
size); here the passes' work is counted: how often the IR's statement helpers run while
``grad`` and ``jvp`` transform a long function and one four times as long.  A pass that
scans the body once per statement (as the stack and rematerialization analyses once did)
makes the count grow sixteenfold.
"""

import ast
import collections
import gc

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.compiler import (
    derived,
    in_place,
    ir,
    nested,
    pipeline,
    printing,
    reverse_control,
    stacks,
)
from s2s_ad.compiler.lower import lower_function
from s2s_ad.compiler.lower import state as lowering
from s2s_ad.compiler.lower.statements import StatementLowering

from conftest import central_difference, load_benchmark

long_functions = load_benchmark("long_functions")
COUNTED = ("atoms_read", "blocks_of", "targets_written")  # called per statement by every pass


def statement_visits(monkeypatch, f, args) -> int:
    """How often the counted helpers run while ``grad`` and ``jvp`` of ``f`` are built."""
    return work_done(monkeypatch, f, args, {(ir, name): lambda *a: 1 for name in COUNTED})


def work_done(monkeypatch, f, args, weights) -> int:
    """The sum, over the calls of each ``(module, function)`` of ``weights`` while ``grad``
    and ``jvp`` of ``f`` are built, of the weight its function gives the call's arguments."""
    total = collections.Counter()
    for (owner, name), weight in weights.items():
        original = getattr(owner, name)

        def counted(*a, _original=original, _weight=weight):
            total["work"] += _weight(*a)
            return _original(*a)

        monkeypatch.setattr(owner, name, counted)
    pipeline._CACHE.clear()
    derived._CACHE.clear()
    ad.grad(f, wrt=(0, 1, 2))(*args)
    ad.jvp(f, args, (1.0, 0.0, np.ones_like(args[2])))
    monkeypatch.undo()
    return total["work"]


@pytest.mark.optimized_only  # counts the optimized transform alone
@pytest.mark.parametrize("shape", [{}, {"stepped": True}], ids=["straight", "loop body"])
def test_the_passes_visit_each_statement_a_bounded_number_of_times(monkeypatch, shape):
    short = statement_visits(monkeypatch, *long_functions.long_function(100, **shape))
    long = statement_visits(monkeypatch, *long_functions.long_function(400, **shape))
    assert short > 10_000  # the helpers are counted
    assert long < 4.5 * short  # four times the lines, about four times the work


# Work that once grew with the square of a loop body's length: the variables the
# liveness of in-place writes carried into each loop of the body (all live ones), the
# entries of the adjoint-holder index built again for each branch and loop, the parses
# of a helper (one per call), and the names the lowerer looked at to forget a branch's
# bindings (all it knew).
QUADRATIC_ONCE = {
    (in_place, "_live_in"): lambda stmts, live, *rest: len(live),
    (reverse_control.AdjointMap, "_hold"): lambda *a: 1,
    (lowering, "parse"): lambda *a: 1,
    (StatementLowering, "forget_branch"): lambda lowerer, before: len(before),
}


@pytest.mark.optimized_only  # counts the optimized transform alone
@pytest.mark.parametrize("shape", [{}, {"stepped": True}], ids=["straight", "loop body"])
def test_the_analyses_carry_no_more_per_statement_in_a_longer_function(monkeypatch, shape):
    short = work_done(monkeypatch, *long_functions.long_function(100, **shape), QUADRATIC_ONCE)
    long = work_done(monkeypatch, *long_functions.long_function(400, **shape), QUADRATIC_ONCE)
    assert short > 100  # the work is counted
    assert long < 4.5 * short  # four times the lines, about four times the work


def test_the_long_functions_gradient_is_right():
    f, args = long_functions.long_function(120, seed=1)
    gradient = ad.grad(f, wrt=(0, 1, 2))(*args)
    for position, value in enumerate(gradient):
        expected = central_difference(f, args, position)
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-8)


def nested_loops(depth: int) -> str:
    """A function whose body is ``depth`` loops, one inside the other, each updating ``y``."""
    lines = ["def f(x):", "    y = x"]
    for level in range(depth):
        pad = "    " * (level + 1)
        lines += [f"{pad}for i{level} in range(2):", f"{pad}    y = y * 0.9 + x * x"]
    return "\n".join(lines + ["    return y", ""])


def sum_chain(terms: int) -> str:
    """A function returning one sum of ``terms`` terms: a chain of temporaries, each read
    once, that emission folds into one expression (``x + x + ... + x``)."""
    return f"def f(x):\n    return {' + '.join(['x'] * terms)}\n"


def reads_asked(monkeypatch, f, stages) -> int:
    """How often ``ir.atoms_read`` runs inside the ``(owner, name)`` ``stages`` while the
    gradient of ``f`` (a function of one float) is built."""
    total = collections.Counter()
    inside = []
    atoms_read = ir.atoms_read

    def counted(stmt):
        total["reads"] += bool(inside)
        return atoms_read(stmt)

    for owner, name in stages:
        stage = getattr(owner, name)

        def scoped(*a, _stage=stage, **k):
            inside.append(True)
            try:
                return _stage(*a, **k)
            finally:
                inside.pop()

        monkeypatch.setattr(owner, name, scoped)
    monkeypatch.setattr(ir, "atoms_read", counted)
    pipeline._CACHE.clear()
    derived._CACHE.clear()
    ad.grad(f)(0.7)
    monkeypatch.undo()
    return total["reads"]


@pytest.mark.optimized_only  # counts the optimized transform alone
def test_emission_and_stacks_ask_what_nested_statements_read_boundedly_often(
    monkeypatch, make_module
):
    """Emission's folding and the stack's settling gather what each block reads once, not
    once for each loop around it: four times the loops, about four times the work (it was
    eight to nine times)."""
    stages = [(pipeline, "emit"), (stacks.Stacks, "settle")]
    shallow = reads_asked(monkeypatch, make_module(nested_loops(4)).f, stages)
    deep = reads_asked(monkeypatch, make_module(nested_loops(16)).f, stages)
    assert shallow > 100  # the reads are counted
    assert deep < 5 * shallow


@pytest.mark.optimized_only  # counts the optimized transform alone
def test_emission_gathers_a_folded_expressions_names_once(monkeypatch, make_module):
    """The names a held expression reads are those of the expressions folded into it plus
    its own: a chain of folded temporaries is gathered once, not once per link (the names
    emission unites, and the syntax-tree nodes it walks, are counted)."""
    counted = collections.Counter()
    inside = []
    names_of, iter_child_nodes, nodes_under, emit_stage = (
        printing.names_of,
        ast.iter_child_nodes,
        nested.nodes_under,
        pipeline.emit,
    )

    def counted_names_of(items):
        items = list(items)
        counted["names"] += sum(len(item.names) for item in items)
        return names_of(items)

    def counted_children(node):
        counted["names"] += bool(inside)
        return iter_child_nodes(node)

    def counted_nodes_under(*a):
        for node in nodes_under(*a):
            counted["names"] += bool(inside)
            yield node

    def emitting(*a, **k):
        inside.append(True)
        try:
            return emit_stage(*a, **k)
        finally:
            inside.pop()

    def names_gathered(terms: int) -> int:
        f = make_module(sum_chain(terms)).f
        counted.clear()
        pipeline._CACHE.clear()
        derived._CACHE.clear()
        monkeypatch.setattr(printing, "names_of", counted_names_of)
        monkeypatch.setattr(ast, "iter_child_nodes", counted_children)
        monkeypatch.setattr(nested, "nodes_under", counted_nodes_under)
        monkeypatch.setattr(pipeline, "emit", emitting)
        value, tangent = ad.jvp(f, (0.7,), (1.0,))
        monkeypatch.undo()
        assert (value, tangent) == pytest.approx((terms * 0.7, terms))
        return counted["names"]

    short, long = names_gathered(20), names_gathered(80)
    assert short > 20  # the names are counted
    assert long < 5 * short  # four times the terms, about four times the names


@pytest.mark.parametrize("stepped", [False, True])
def test_lowering_leaves_no_reference_cycle(stepped):
    """Once lowered and dropped, a function's syntax tree and lowering are freed by reference
    counting: a cycle (the lowerer's state holding its bound method, a recursive local
    function) left them all to the cyclic collector, whose pass over them cost a fiftieth
    of a long function's transform."""
    f, _ = long_functions.long_function(40, stepped=stepped)
    lower_function(f)  # once, for the caches lowering fills
    gc.collect()
    gc.disable()
    try:
        lowered = lower_function(f)
        assert len(list(ir.walk(lowered.function.body))) > 40  # it was lowered
        del lowered
        assert gc.collect() == 0
    finally:
        gc.enable()
