"""Activity analysis and kinds: what gets a derivative, and where broadcasting can happen."""

import re

import pytest

import s2s_ad as ad
from s2s_ad.compiler import analyse, ir
from s2s_ad.compiler.lower import lower_function

SOURCE = """
import math

def product(x, a, b):
    return (x + a) * (x + b)

def with_constant(x, c):
    return x * c + c * c

def unused_branch_of_work(x):
    u = math.sin(x)
    return x * 3.0

def reused(x, y):
    s = x * y
    return s * s + s
"""


@pytest.fixture
def m(make_module):
    return make_module(SOURCE)


def _vars(names):
    return {ir.Var(n) for n in names}


def test_varied_useful_active_of_the_lecture_product(m):
    fn = lower_function(m.product).function
    # t0=x, t1=a, t2=x+a, t3=b, t4=x+b, t5=product
    assert analyse.varied(fn, ["a"]) == _vars(["t1", "t2", "t5"])
    assert analyse.useful(fn) == _vars(["t0", "t1", "t2", "t3", "t4", "t5"])
    assert analyse.active(fn, ["a", "b"]) == _vars(["t1", "t2", "t3", "t4", "t5"])


def test_value_not_reaching_the_output_is_not_useful(m):
    fn = lower_function(m.unused_branch_of_work).function
    u = next(s.target for s in fn.body if isinstance(s, ir.Assign) and s.note == "math.sin(x)")
    assert u in analyse.varied(fn, ["x"])
    assert u not in analyse.useful(fn)
    for mode in ("reverse", "forward"):
        assert "cos" not in ad.source(m.unused_branch_of_work, mode=mode)


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("mode", ["reverse", "forward", "vjp"])
def test_no_derivative_code_for_inactive_values(m, mode, optimize):
    code = ad.source(m.product, mode=mode, wrt=("a", "b"), optimize=optimize)
    assert not re.search(r"\bdx\b", code)
    code = ad.source(m.with_constant, mode=mode, wrt="x", optimize=optimize)
    assert not re.search(r"\bdc\b", code)
    assert "zeros_like" not in code and "0.0" not in code


@pytest.mark.parametrize("optimize", [True, False])
def test_first_contribution_assigns_later_ones_accumulate(m, optimize):
    code = ad.source(m.reused, wrt=("x", "y"), optimize=optimize)
    adjoint_sweep = code.split("# adjoint sweep")[1]
    first_writes = {}
    for line in adjoint_sweep.splitlines():
        match = re.match(r"\s*(d\w+) (\+?=)", line)
        if match:
            first_writes.setdefault(match.group(1), match.group(2))
    assert first_writes, code
    assert set(first_writes.values()) == {"="}, code
    assert "+=" in adjoint_sweep or " + " in adjoint_sweep


def test_kinds_follow_the_parameters(m):
    fn = lower_function(m.product).function
    kinds = analyse.kinds(fn, {"x": "scalar", "a": "scalar", "b": "scalar"}, {})
    assert set(kinds.values()) == {"scalar"}
    kinds = analyse.kinds(fn, {"x": "array", "a": "scalar", "b": "scalar"}, {})
    assert kinds[ir.Var("t5")] == "array"
    assert kinds[ir.Var("t1")] == "scalar"


def test_scalar_code_has_no_broadcasting_bookkeeping(m):
    from s2s_ad.compiler import pipeline

    generic = ad.source(m.product, wrt=("x", "a", "b"))
    assert "unbroadcast" in generic  # unannotated parameters may be arrays
    scalar = pipeline.build(m.product, pipeline.Spec("grad", ("x", "a", "b"), ("scalar",) * 3))
    assert "unbroadcast" not in scalar.text and "seed_cotangent" not in scalar.text
    mixed = pipeline.build(m.product, pipeline.Spec("grad", ("a",), ("array", "scalar", "scalar")))
    assert "unbroadcast" in mixed.text  # a scalar `a` meets an array `x`: its adjoint is summed
