"""A derivative is valid only for what it was built from (issue 16): the code object,
the objects the free names denote, and the kinds of the other values they hold.

Each test rebinds one of them -- a global helper, a global alias, a global constant
that turns from a float into an array, a closure cell, a global of a called helper,
a module's attribute -- and checks both a fresh ``ad.grad(f)`` and a derived
function built before the rebinding against central finite differences.  A file
edited on disk without a reload is refused with a TransformError that says to reload.
"""

import importlib

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad import TransformError
from s2s_ad.compiler import pipeline

from conftest import central_difference, import_source

SOURCE = """
import types

import numpy as np

def square(x):
    return x * x

def cube(x):
    return x * x * x

trig = np.sin
scale = 2.0

def helper_user(x):
    return square(x) + 1.0

def alias_user(x):
    return trig(x) * 3.0

def constant_user(x):
    return np.sum(np.sin(x) * scale)

def scaled(x):
    return np.sin(x) * scale

def callee_user(x):
    return np.sum(scaled(x) * 2.0)

tools = types.ModuleType("tools")
tools.power = square

def module_attribute_user(x):
    return tools.power(x) + 1.0

def make_closure():
    op = np.sin

    def closure_user(x):
        return op(x) * x

    def rebind(new_op):
        nonlocal op
        op = new_op

    return closure_user, rebind
"""


@pytest.fixture
def module(tmp_path):
    return import_source(SOURCE, tmp_path)


def rebind_global(module, name, value):
    def rebind():
        setattr(module, name, value)

    return rebind


CASES = {
    # case: (function name, how to rebind, given the module)
    "helper function": ("helper_user", lambda m: rebind_global(m, "square", m.cube)),
    "alias": ("alias_user", lambda m: rebind_global(m, "trig", np.cos)),
    "constant float to array": (
        "constant_user",
        lambda m: rebind_global(m, "scale", np.array([1.0, -2.0, 0.5])),
    ),
    "module attribute": (
        "module_attribute_user",
        lambda m: lambda: setattr(m.tools, "power", m.cube),
    ),
    "callee's global": (
        "callee_user",
        lambda m: rebind_global(m, "scale", np.array([1.0, -2.0, 0.5])),
    ),
}


def assert_gradient_right(f, grad_f, x=0.7):
    expected = central_difference(f, (x,), 0)
    assert np.allclose(grad_f(x), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("derived", ["fresh", "existing"])
def test_a_rebound_global_gives_a_new_derivative(module, case, derived):
    name, rebinder = CASES[case]
    f = getattr(module, name)
    existing = ad.grad(f)
    assert_gradient_right(f, existing)
    before = existing(0.7)
    rebinder(module)()
    grad_f = ad.grad(f) if derived == "fresh" else existing
    assert_gradient_right(f, grad_f)
    assert not np.allclose(grad_f(0.7), before)  # the rebinding changed the derivative


@pytest.mark.parametrize("derived", ["fresh", "existing"])
def test_a_rebound_closure_cell_gives_a_new_derivative(module, derived):
    f, rebind = module.make_closure()
    existing = ad.grad(f)
    assert_gradient_right(f, existing)
    rebind(np.cos)
    assert_gradient_right(f, ad.grad(f) if derived == "fresh" else existing)


def test_forward_mode_follows_a_rebound_alias(module):
    jvp_once = ad.jvp(module.alias_user, (0.7,), (1.0,))[1]
    module.trig = np.cos
    expected = central_difference(module.alias_user, (0.7,), 0)
    assert jvp_once != pytest.approx(expected)
    assert ad.jvp(module.alias_user, (0.7,), (1.0,))[1] == pytest.approx(expected, rel=1e-6)


def test_a_pullback_built_before_a_rebinding_keeps_its_own_derivative(module):
    """The pullback belongs to the primal evaluation that made it: it stays right."""
    out, pullback = ad.vjp(module.helper_user, 0.7)
    module.square = module.cube
    assert pullback(1.0)[0] == pytest.approx(2 * 0.7)


def test_rebinding_an_unrelated_global_keeps_the_derivative(module):
    grad_f = ad.grad(module.helper_user)
    grad_f(0.7)
    emitted = dict(ad_built(grad_f))
    module.unrelated = np.ones(3)
    module.scale = 5  # a scalar still: helper_user does not read it anyway
    grad_f(0.7)
    assert dict(ad_built(grad_f)) == emitted


def ad_built(grad_f):
    """The emitted functions a derived function holds, by argument types."""
    return grad_f._s2s_derived.by_types.items()


EDITED_BEFORE = """
def f(x):
    return x * x
"""

EDITED_AFTER = """
def f(x):
    return x * x * x * x
"""


UNFINISHED = """
def g(x:
"""


def test_a_file_edited_without_reload_is_refused(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))  # so that importlib.reload finds the file
    module = import_source(EDITED_BEFORE, tmp_path)
    path = tmp_path / f"{module.__name__}.py"
    for edited in (EDITED_AFTER + UNFINISHED, EDITED_AFTER):  # mid-edit, then saved
        path.write_text(edited)
        assert module.f(3.0) == 9.0  # the old code still runs
        with pytest.raises(TransformError, match="reload") as error:
            ad.value_and_grad(module.f)(3.0)
        assert str(path) in str(error.value)
    module = importlib.reload(module)
    value, gradient = ad.value_and_grad(module.f)(3.0)
    assert value == 81.0
    assert gradient == pytest.approx(central_difference(module.f, (3.0,), 0))


def test_the_cache_of_emitted_derivatives_is_bounded(tmp_path, monkeypatch):
    """Functions made as a program goes (a notebook cell run again, a fuzzer) do not keep
    every derivative alive: the least recently used is dropped, and built again if asked."""
    monkeypatch.setattr(pipeline, "CACHE_SIZE", 3)
    pipeline._CACHE.clear()
    made = [import_source(f"def f(x):\n    return x ** {k + 2}\n", tmp_path).f for k in range(5)]
    for k, f in enumerate(made):
        assert ad.grad(f)(1.5) == pytest.approx((k + 2) * 1.5 ** (k + 1))
    assert len(pipeline._CACHE) == 3
    assert ad.grad(made[0])(2.0) == pytest.approx(2 * 2.0)  # evicted, built again
    assert len(pipeline._CACHE) == 3
