"""Every rule of ``s2s_ad/rules/python.py`` against central finite differences.

The rules cover Python's operators, the numeric builtins, :mod:`math` and the
runtime helpers that emitted code calls.  For each primitive the table
``CASES`` gives a source expression (``x + y``, ``math.asin(x)``), a domain
per argument and the argument shapes to try.  The expressions are written
into a real module (s2s_ad reads source), imported, and every derivative
s2s_ad produces -- forward (``jvp``), reverse (``vjp``, ``grad``), with and
without the optimizer -- is compared with finite differences computed here.
"""

from __future__ import annotations

import builtins
import importlib.util
import math
import operator
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad import ir, pipeline, runtime
from s2s_ad.analyse import kind_of_value
from s2s_ad.pipeline import Spec
from s2s_ad.rules import all_rules, lookup
from s2s_ad.rules import python as python_rules

# ------------------------------------------------------------------ oracle

STEP = np.finfo(np.float64).eps ** (1 / 3)


def _shifted(value: Any, delta: Any) -> Any:
    """``value + delta``, keeping a Python float a Python float."""
    if isinstance(value, np.ndarray):
        return value + delta
    return float(value + delta)


def fd_jvp(f: Callable, args: Sequence[Any], tangents: Sequence[Any]) -> np.ndarray:
    """Directional derivative of ``f`` at ``args`` along ``tangents`` (None: held fixed)."""
    scale = max(1.0, *(float(np.max(np.abs(a))) for a, t in zip(args, tangents) if t is not None))
    h = STEP * scale

    def at(sign: float) -> np.ndarray:
        moved = [
            a if t is None else _shifted(a, sign * h * np.asarray(t))
            for a, t in zip(args, tangents)
        ]
        return np.asarray(f(*moved), dtype=np.float64)

    return (at(1.0) - at(-1.0)) / (2 * h)


def fd_vjp(f: Callable, args: Sequence[Any], position: int, cotangent: Any) -> np.ndarray:
    """Gradient of ``<cotangent, f(args)>`` with respect to ``args[position]``, entry by entry."""
    base = np.array(args[position], dtype=np.float64)
    result = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        h = STEP * max(1.0, abs(float(base[index])))
        values = []
        for sign in (1.0, -1.0):
            moved = base.copy()
            moved[index] += sign * h
            call_args = list(args)
            call_args[position] = moved if isinstance(args[position], np.ndarray) else float(moved)
            values.append(float(np.sum(np.asarray(f(*call_args)) * cotangent)))
        result[index] = (values[0] - values[1]) / (2 * h)
    return result


def assert_matches(ours: Any, expected: Any, what: str) -> None:
    assert np.shape(ours) == np.shape(expected), (
        f"{what}: shape {np.shape(ours)}, expected {np.shape(expected)}"
    )
    np.testing.assert_allclose(
        np.asarray(ours, dtype=np.float64), expected, rtol=1e-6, atol=1e-8, err_msg=what
    )


# ------------------------------------------------------------ domains and cases


@dataclass(frozen=True)
class Domain:
    """Inputs drawn uniformly from [lo, hi], or from +-[lo, hi] if ``signed``."""

    lo: float
    hi: float
    signed: bool = False

    def sample(self, rng: np.random.Generator, shape: Any) -> Any:
        size = shape if isinstance(shape, tuple) else ()
        value = rng.uniform(self.lo, self.hi, size=size)
        if self.signed:
            value = value * rng.choice([-1.0, 1.0], size=size)
        if shape is None:
            return float(value)
        if shape == F64:
            return np.float64(value)
        return np.asarray(value, dtype=np.float64)


def between(lo: float, hi: float) -> Domain:
    return Domain(lo, hi)


def away_from_zero(lo: float, hi: float) -> Domain:
    return Domain(lo, hi, signed=True)


ANY = between(-2.0, 2.0)
POSITIVE = between(0.2, 3.0)
UNIT = between(-0.9, 0.9)  # inside (-1, 1): asin, acos, atanh
NONZERO = away_from_zero(0.3, 2.0)  # kinks (abs) and poles (1 / y) at 0
BASE = between(0.3, 2.5)  # a power's base, positive so that d/dy = out * log(x) exists
EXPONENT = between(-2.0, 2.5)

# Shapes per argument; None is a Python float, F64 a NumPy float64 scalar (what
# reductions such as np.sum return; it is a subclass of float).
F64 = "np.float64"
SCALAR_ONLY = {"float": (None,), "np.float64": (F64,)}
UNARY = {"float": (None,), "np.float64": (F64,), "(3,)": ((3,),), "(2,3)": ((2, 3),)}
SCALAR_PAIR = {"float,float": (None, None)}
BINARY = {
    "float,float": (None, None),
    "np.float64,float": (F64, None),
    "(3,),(3,)": ((3,), (3,)),
    "(2,3),(3,)": ((2, 3), (3,)),
    "(2,1),(1,3)": ((2, 1), (1, 3)),
    "float,(3,)": (None, (3,)),
    "(3,),float": ((3,), None),
}


@dataclass(frozen=True)
class Case:
    """How to call one primitive: ``expr`` reads the arguments ``x`` (and ``y``)."""

    expr: str
    domains: Tuple[Domain, ...]
    shapes: Dict[str, Tuple[Any, ...]]  # per argument: None, F64 or a shape
    # Positions of the arguments with a derivative (None: all of them).
    wrt: Optional[Tuple[int, ...]] = field(default=None)

    @property
    def arity(self) -> int:
        return len(self.domains)

    @property
    def differentiable(self) -> Tuple[int, ...]:
        return tuple(range(self.arity)) if self.wrt is None else self.wrt


def unary(expr: str, domain: Domain = ANY) -> Case:
    return Case(expr, (domain,), UNARY)


def binary(expr: str, x: Domain = ANY, y: Domain = ANY) -> Case:
    return Case(expr, (x, y), BINARY)


def math1(expr: str, domain: Domain = ANY) -> Case:
    return Case(expr, (domain,), SCALAR_ONLY)


def math2(expr: str, x: Domain = ANY, y: Domain = ANY) -> Case:
    return Case(expr, (x, y), SCALAR_PAIR)


CASES: Dict[Any, Case] = {
    # operators, through their syntax
    operator.add: binary("x + y"),
    operator.sub: binary("x - y"),
    operator.mul: binary("x * y"),
    operator.truediv: binary("x / y", ANY, NONZERO),
    operator.pow: binary("x ** y", BASE, EXPONENT),
    operator.neg: unary("-x"),
    # `+x` lowers to `x` itself, so the rule of `pos` is reached by name only
    operator.pos: unary("operator.pos(x)"),
    # builtins, by name
    builtins.abs: unary("abs(x)", NONZERO),
    builtins.pow: binary("pow(x, y)", BASE, EXPONENT),
    # math, floats only
    math.exp: math1("math.exp(x)"),
    math.log: math1("math.log(x)", POSITIVE),
    math.log1p: math1("math.log1p(x)", between(-0.5, 2.0)),
    math.expm1: math1("math.expm1(x)"),
    math.log2: math1("math.log2(x)", POSITIVE),
    math.log10: math1("math.log10(x)", POSITIVE),
    math.sqrt: math1("math.sqrt(x)", POSITIVE),
    math.sin: math1("math.sin(x)", between(-3.0, 3.0)),
    math.cos: math1("math.cos(x)", between(-3.0, 3.0)),
    math.tan: math1("math.tan(x)", between(-1.2, 1.2)),
    math.asin: math1("math.asin(x)", UNIT),
    math.acos: math1("math.acos(x)", UNIT),
    math.atan: math1("math.atan(x)", between(-3.0, 3.0)),
    math.sinh: math1("math.sinh(x)"),
    math.cosh: math1("math.cosh(x)"),
    math.tanh: math1("math.tanh(x)"),
    math.asinh: math1("math.asinh(x)", between(-3.0, 3.0)),
    math.acosh: math1("math.acosh(x)", between(1.1, 3.0)),
    math.atanh: math1("math.atanh(x)", UNIT),
    math.erf: math1("math.erf(x)"),
    math.erfc: math1("math.erfc(x)"),
    math.fabs: math1("math.fabs(x)", NONZERO),
    math.pow: math2("math.pow(x, y)", BASE, EXPONENT),
    math.atan2: math2("math.atan2(x, y)", NONZERO, NONZERO),
    math.hypot: math2("math.hypot(x, y)", NONZERO, NONZERO),
    # runtime helpers: (value, like); only the value is differentiable
    runtime.unbroadcast: Case(
        "unbroadcast(x, y)",
        (ANY, ANY),
        {
            "float->float": (None, None),
            "(3,)->(3,)": ((3,), (3,)),
            "(2,3)->(3,)": ((2, 3), (3,)),
            "(2,3)->(2,1)": ((2, 3), (2, 1)),
            "(2,3)->(1,3)": ((2, 3), (1, 3)),
        },
        wrt=(0,),
    ),
    runtime.expand_like: Case(
        "expand_like(x, y)",
        (ANY, ANY),
        {
            "float->float": (None, None),
            "float->(3,)": (None, (3,)),
            "(3,)->(3,)": ((3,), (3,)),
            "(3,)->(2,3)": ((3,), (2, 3)),
            "(2,1)->(2,3)": ((2, 1), (2, 3)),
        },
        wrt=(0,),
    ),
}

ARGS = ("x", "y")
PYTHON_MODULES = {"_operator", "operator", "builtins", "math", runtime.__name__}


def label(fn: Any) -> str:
    module = {"_operator": "operator", runtime.__name__: "runtime"}.get(
        fn.__module__, fn.__module__
    )
    return f"{module}.{fn.__name__}"


def function_name(fn: Any) -> str:
    return "f_" + label(fn).replace(".", "_")


# ----------------------------------------------------- the generated module


def module_text() -> str:
    lines = [
        "import math",
        "import operator",
        "",
        "from s2s_ad.runtime import expand_like, unbroadcast",
        "",
    ]
    for fn, case in CASES.items():
        params = ", ".join(ARGS[: case.arity])
        lines += ["", f"def {function_name(fn)}({params}):", f"    return {case.expr}", ""]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules_python") / "rules_python_cases.py"
    path.write_text(module_text())
    spec = importlib.util.spec_from_file_location("rules_python_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


# ------------------------------------------------------------ parametrization


@dataclass(frozen=True)
class Point:
    """One primitive, one shape combination, the arguments to differentiate."""

    fn: Any
    shape_id: str
    wrt: Tuple[int, ...]

    @property
    def case(self) -> Case:
        return CASES[self.fn]

    @property
    def id(self) -> str:
        return f"{label(self.fn)}-{self.shape_id}-" + ",".join(f"d{ARGS[i]}" for i in self.wrt)

    def inputs(self) -> list:
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        shapes = self.case.shapes[self.shape_id]
        return [d.sample(rng, s) for d, s in zip(self.case.domains, shapes)]

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(self.id.encode()) + 1)


def points(scalar_output_only: bool = False) -> list:
    result = []
    for fn, case in CASES.items():
        diff = case.differentiable
        choices = [(i,) for i in diff] + ([diff] if len(diff) > 1 else [])
        for shape_id, shapes in case.shapes.items():
            if scalar_output_only and any(isinstance(s, tuple) for s in shapes):
                continue
            for wrt in choices:
                point = Point(fn, shape_id, wrt)
                result.append(pytest.param(point, id=point.id))
    return result


def like(value: Any, rng: np.random.Generator) -> Any:
    """A random tangent or cotangent of the type and shape of ``value``."""
    if isinstance(value, np.generic):
        return type(value)(rng.standard_normal())
    if isinstance(value, np.ndarray):
        return rng.standard_normal(np.shape(value))
    return float(rng.standard_normal())


# ------------------------------------------------------------------- tests


def test_every_python_rule_has_a_case():
    """Adding a rule to python.py (or for a Python/math/runtime object) without a case fails."""
    own_namespaces = (python_rules.MATH_NAMES, python_rules.NUMPY_NAMES, python_rules.RUNTIME_NAMES)
    missing = []
    for rule in all_rules():
        registered_here = rule.namespace is python_rules.by_kind or any(
            rule.namespace(True) is names for names in own_namespaces
        )
        python_object = getattr(rule.fn, "__module__", None) in PYTHON_MODULES
        if (registered_here or python_object) and rule.fn not in CASES:
            missing.append(rule.name)
    assert not missing, f"rules without an entry in CASES: {missing}"
    for table in (python_rules.OPERATORS, python_rules.MATH):
        assert set(map(id, table)) <= set(map(id, CASES)), "a table entry has no case"


@pytest.mark.parametrize("fn", list(CASES), ids=label)
def test_case_matches_rule(fn, generated):
    """Each case calls its primitive, with the rule's arity and differentiable arguments."""
    rule = lookup(fn)
    case = CASES[fn]
    assert rule is not None, f"{label(fn)} has a case but no rule"
    assert len(rule.arg_names) == case.arity
    with_rule = tuple(i for i, (j, v) in enumerate(zip(rule.jvp, rule.vjp)) if j or v)
    assert with_rule == case.differentiable
    body = pipeline.lowered(getattr(generated, function_name(fn))).function.body
    calls = [
        s.value.fn
        for s in ir.walk(body)
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)
    ]
    assert any(c is fn for c in calls), f"{case.expr!r} does not call {label(fn)}: {calls}"


@pytest.mark.parametrize("point", points())
def test_jvp(point, generated):
    f = getattr(generated, function_name(point.fn))
    args = point.inputs()
    rng = point.rng()
    tangents = [like(a, rng) if i in point.wrt else None for i, a in enumerate(args)]
    out, tangent = ad.jvp(f, args, tangents)
    assert_matches(out, np.asarray(f(*args), dtype=np.float64), "primal")
    assert_matches(tangent, fd_jvp(f, args, tangents), "tangent")


@pytest.mark.parametrize("point", points())
def test_vjp(point, generated):
    f = getattr(generated, function_name(point.fn))
    args = point.inputs()
    cotangent = like(f(*args), point.rng())
    out, pullback = ad.vjp(f, *args, wrt=point.wrt)
    assert_matches(out, np.asarray(f(*args), dtype=np.float64), "primal")
    cotangents = pullback(cotangent)
    assert len(cotangents) == len(point.wrt)
    for i, ours in zip(point.wrt, cotangents):
        assert_matches(ours, fd_vjp(f, args, i, cotangent), f"cotangent of {ARGS[i]}")


@pytest.mark.parametrize("point", points(scalar_output_only=True))
def test_grad(point, generated):
    f = getattr(generated, function_name(point.fn))
    args = point.inputs()
    grads = ad.grad(f, wrt=point.wrt)(*args)
    for i, ours in zip(point.wrt, grads):
        assert isinstance(ours, float), f"gradient of a float is a {type(ours).__name__}"
        assert_matches(ours, fd_vjp(f, args, i, 1.0), f"gradient wrt {ARGS[i]}")


def build(f: Callable, mode: str, wrt: Tuple[int, ...], args: Sequence[Any], optimize: bool):
    kinds = tuple(kind_of_value(a) for a in args)
    names = tuple(ARGS[i] for i in wrt)
    return pipeline.build(f, Spec(mode, names, kinds, optimize)).bind(f)


@pytest.mark.parametrize("point", points())
def test_optimizer_keeps_reverse_derivatives(point, generated):
    f = getattr(generated, function_name(point.fn))
    args = point.inputs()
    cotangent = like(f(*args), point.rng())
    results = {}
    for optimize in (True, False):
        _, pullback = build(f, "vjp", point.wrt, args, optimize)(*args)
        results[optimize] = pullback(cotangent)
    for i, plain, optimized in zip(point.wrt, results[False], results[True]):
        assert_matches(plain, fd_vjp(f, args, i, cotangent), f"unoptimized cotangent of {ARGS[i]}")
        np.testing.assert_allclose(optimized, plain, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("point", points())
def test_optimizer_keeps_forward_derivatives(point, generated):
    f = getattr(generated, function_name(point.fn))
    args = point.inputs()
    rng = point.rng()
    tangents = [like(args[i], rng) for i in point.wrt]
    results = {o: build(f, "jvp", point.wrt, args, o)(*args, *tangents)[1] for o in (True, False)}
    full = [tangents[point.wrt.index(i)] if i in point.wrt else None for i in range(len(args))]
    assert_matches(results[False], fd_jvp(f, args, full), "unoptimized tangent")
    np.testing.assert_allclose(results[True], results[False], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("point", points(scalar_output_only=True))
def test_optimizer_keeps_gradients(point, generated):
    f = getattr(generated, function_name(point.fn))
    args = point.inputs()
    plain = build(f, "grad", point.wrt, args, False)(*args)
    optimized = build(f, "grad", point.wrt, args, True)(*args)
    plain = plain if len(point.wrt) > 1 else (plain,)
    optimized = optimized if len(point.wrt) > 1 else (optimized,)
    for i, p, o in zip(point.wrt, plain, optimized):
        assert_matches(p, fd_vjp(f, args, i, 1.0), f"unoptimized gradient wrt {ARGS[i]}")
        np.testing.assert_allclose(o, p, rtol=1e-12, atol=1e-14)
