"""The transform's work grows linearly with a function's size.

Wall time is the benchmark's business (``benchmarks/run.py`` times long functions by
size); here the passes' work is counted: how often the IR's statement helpers run while
``grad`` and ``jvp`` transform a long function and one four times as long.  A pass that
scans the body once per statement (as the stack and rematerialization analyses once did)
makes the count grow sixteenfold.
"""

import collections

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.compiler import derived, in_place, ir, pipeline, reverse_control
from s2s_ad.compiler.lower import state as lowering

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
# entries of the adjoint-holder index built again for each branch and loop, and the
# parses of a helper (one per call).
QUADRATIC_ONCE = {
    (in_place, "_live_in"): lambda stmts, live, *rest: len(live),
    (reverse_control.AdjointMap, "_hold"): lambda *a: 1,
    (lowering, "parse"): lambda *a: 1,
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
