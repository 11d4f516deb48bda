"""Shared test helpers: an independent finite-difference oracle and module writers."""

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

# Golden files are emitted source, not tests or modules to import.
collect_ignore_glob = ["test_golden/*"]

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
    module_name = f"s2s_ad_examples_{name}"
    if module_name not in sys.modules:
        path = ROOT / "examples" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


@pytest.fixture(scope="session")
def lectures():
    """The lecture examples module from examples/."""
    return load_example("lectures")
