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
from s2s_ad.compiler import derived, ir, pipeline

from conftest import central_difference, load_benchmark

long_functions = load_benchmark("long_functions")
COUNTED = ("atoms_read", "blocks_of", "targets_written")  # called per statement by every pass


def statement_visits(monkeypatch, f, args) -> int:
    """How often the counted helpers run while ``grad`` and ``jvp`` of ``f`` are built."""
    counts = collections.Counter()
    for name in COUNTED:
        original = getattr(ir, name)

        def counted(*a, _original=original, _name=name):
            counts[_name] += 1
            return _original(*a)

        monkeypatch.setattr(ir, name, counted)
    pipeline._CACHE.clear()
    derived._CACHE.clear()
    ad.grad(f, wrt=(0, 1, 2))(*args)
    ad.jvp(f, args, (1.0, 0.0, np.ones_like(args[2])))
    monkeypatch.undo()
    return sum(counts.values())


@pytest.mark.optimized_only  # counts the optimized transform alone
@pytest.mark.parametrize("shape", [{}, {"stepped": True}], ids=["straight", "loop body"])
def test_the_passes_visit_each_statement_a_bounded_number_of_times(monkeypatch, shape):
    short = statement_visits(monkeypatch, *long_functions.long_function(100, **shape))
    long = statement_visits(monkeypatch, *long_functions.long_function(400, **shape))
    assert short > 10_000  # the helpers are counted
    assert long < 4.5 * short  # four times the lines, about four times the work


def test_the_long_functions_gradient_is_right():
    f, args = long_functions.long_function(120, seed=1)
    gradient = ad.grad(f, wrt=(0, 1, 2))(*args)
    for position, value in enumerate(gradient):
        expected = central_difference(f, args, position)
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-8)
