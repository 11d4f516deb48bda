"""Shared test helpers: an independent finite-difference oracle and module writers.

The suite is laid out like the code:

* ``stages/``: one compiler stage at a time (analyse, optimize, the speed passes): what goes
  in, what must come out;
* ``rules/``: every derivative rule against finite differences (the tables, with their
  ``cases_*.py``), the rules of the helpers emitted code calls, the Taylor-series rules;
* ``programs/``: whole programs through the public transforms (lectures, control flow,
  containers, calls, arrays, linear algebra, random programs, checkpointing, higher order)
  and the golden files of the emitted code (``programs/test_golden/``);
* ``api/``: the API, the command line, errors and refusals, the README and the examples;
* ``harness/``: ``rule_harness`` and ``control_harness``, the oracles the rule and program
  tests share, ``stage_programs`` for the stage tests, and ``architecture``, which reads
  the package's layers (on ``sys.path``
  through the ``pythonpath`` option in pyproject.toml);
* ``test_architecture.py``: the package as a whole: layers, no import cycle.

The helpers here are imported as ``from conftest import ...`` from any of them; the
fixtures, and the switch below that compares optimized with unoptimized emission, apply to
every test.
"""

import copy
import importlib.util
import itertools
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# In CI the property tests replay a fixed set of examples, so a run is
# reproducible; on a developer's machine they explore new ones every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
# `--hypothesis-profile=long`: the differential fuzzer (programs/test_differential.py) runs
# until it finds a failure or is interrupted, and shrinks what it finds.
settings.register_profile("long", max_examples=10_000_000, deadline=None)

# Golden files are emitted source, not tests or modules to import.
collect_ignore_glob = ["programs/test_golden/*"]

ROOT = Path(__file__).resolve().parent.parent


STEP_SCALE = np.finfo(float).eps ** (1 / 3)


def central_difference(f, args, position, h_scale=STEP_SCALE):
    """d f / d args[position] by central differences in float64 (f scalar-valued).

    Returns a float for a scalar argument, an array shaped like the argument otherwise.
    """
    args = list(args)
    base = np.array(args[position], dtype=float)
    is_array = isinstance(args[position], np.ndarray)
    result = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        h = h_scale * max(1.0, abs(float(base[index])))
        plus, minus = base.copy(), base.copy()
        plus[index] += h
        minus[index] -= h
        args[position] = plus if is_array else float(plus)
        f_plus = float(np.sum(f(*args)))
        args[position] = minus if is_array else float(minus)
        f_minus = float(np.sum(f(*args)))
        result[index] = (f_plus - f_minus) / (2 * h)
    return result if is_array else float(result)


def extrapolated_difference(f, args, position, h_scale=STEP_SCALE):
    """:func:`central_difference` with Richardson extrapolation over steps h and h/2: the
    O(h^2) error of the central difference cancels, which matters where f bends fast
    (``sin(v ** 2)`` with large ``v``)."""
    coarse = central_difference(f, args, position, h_scale)
    fine = central_difference(f, args, position, h_scale / 2)
    return (4 * np.asarray(fine) - np.asarray(coarse)) / 3


_MODULE_NUMBERS = itertools.count()


def import_source(source: str, directory: Path):
    """Write Python source to a fresh module file in ``directory`` and import it.

    s2s_ad reads functions' source with inspect, so test programs must live in files.
    """
    name = f"s2s_ad_test_module_{next(_MODULE_NUMBERS)}"
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def make_module(tmp_path):
    """Write Python source to a fresh module file and import it."""
    return lambda source: import_source(source, tmp_path)


def load_example(name: str):
    """Import examples/<name>.py (once)."""
    return _import_file(ROOT / "examples" / f"{name}.py", f"s2s_ad_examples_{name}")


def load_benchmark(name: str):
    """Import benchmarks/<name>.py (once): the benchmarks are scripts, not a package."""
    return _import_file(ROOT / "benchmarks" / f"{name}.py", f"s2s_ad_benchmarks_{name}")


def _import_file(path: Path, module_name: str):
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # before running it: dataclasses look it up
        spec.loader.exec_module(module)
    return sys.modules[module_name]


@pytest.fixture(scope="session")
def lectures():
    """The lecture examples module from examples/."""
    return load_example("lectures")


# ------------------------------------- optimized against unoptimized emission
#
# Every derivative a test computes through the public API is also computed by
# the unoptimized emission of the same transform, on the same arguments, and
# the two must agree: the optimizer's passes may reorder and share work, never
# change a result.  One switch, for the whole suite (on unless
# S2S_AD_COMPARE_UNOPTIMIZED=0).

COMPARE_UNOPTIMIZED = os.environ.get("S2S_AD_COMPARE_UNOPTIMIZED", "1") != "0"

# The random-program suites (tests/programs/test_random_control.py, the differential
# fuzzer) also check second order: ``hvp`` against central differences of the gradient,
# wherever the steps stay on one path.  One switch (on unless S2S_AD_SECOND_ORDER=0).
SECOND_ORDER = os.environ.get("S2S_AD_SECOND_ORDER", "1") != "0"


@pytest.fixture(autouse=True)
def optimized_agrees_with_unoptimized(monkeypatch, request):
    if not COMPARE_UNOPTIMIZED or request.node.get_closest_marker("optimized_only"):
        # derived functions cached by an earlier test may hold a comparing wrapper
        _comparing.append(True)
        yield
        _comparing.pop()
        return
    from s2s_ad.compiler.derived import Derived

    specialize = Derived._specialize

    def specialize_and_compare(self, args):
        optimized = specialize(self, args)
        if not self.optimize:
            return optimized
        plain = Derived(
            self.f, self.mode, self.wrt, optimize=False, order=self.order, has_aux=self.has_aux
        )
        plain.inner = self.inner
        return _compared(optimized, specialize(plain, args))

    monkeypatch.setattr(Derived, "_specialize", specialize_and_compare)
    yield


# Non-empty while a comparison runs (derivatives called inside it run once) and
# during tests marked optimized_only.
_comparing = []


def _compared(optimized, plain):
    def both(*args):
        if _comparing:  # a callee's derivative (impure code, like a draw, must run once)
            return optimized(*args)
        copies = copy.deepcopy(args)  # code that writes into its arguments runs twice
        _comparing.append(True)
        try:
            result = optimized(*args)
            expected = plain(*copies)
        finally:
            _comparing.pop()
        return _agree(result, expected)

    return both


def _agree(result, expected):
    """``result``, after checking it against ``expected``; pullbacks are compared when called."""
    if callable(result):
        return _compared(result, expected)
    if isinstance(result, (tuple, list)):
        assert type(result) is type(expected) and len(result) == len(expected)
        return type(result)(_agree(r, e) for r, e in zip(result, expected))
    if isinstance(result, dict):
        assert result.keys() == expected.keys()
        return {key: _agree(result[key], expected[key]) for key in result}
    if isinstance(result, (float, int, complex, np.ndarray, np.generic)):
        np.testing.assert_allclose(
            result, expected, rtol=1e-9, atol=1e-12, err_msg="optimized != unoptimized emission"
        )
        assert np.shape(result) == np.shape(expected)
    return result
