"""Every rule of ``s2s_ad/rules/numpy.py`` against central finite differences.

For each NumPy primitive the table ``CASES`` gives a source expression
(``np.arcsin(x)``), a domain per argument and the argument shapes to try,
broadcasting included.  The expressions are written into a real module
(s2s_ad reads source), imported, and every derivative s2s_ad produces --
forward (``jvp``), reverse (``vjp``, ``grad``), with and without the
optimizer -- is compared with finite differences computed here in float64.
A few primitives are also run in float32, whose derivatives must stay float32.
"""

from __future__ import annotations

import importlib.util
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad import ir, pipeline
from s2s_ad.analyse import kind_of_value
from s2s_ad.pipeline import Spec
from s2s_ad.rules import all_rules, lookup
from s2s_ad.rules import numpy as numpy_rules

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
            values.append(float(np.sum(np.asarray(f(*call_args), dtype=np.float64) * cotangent)))
        result[index] = (values[0] - values[1]) / (2 * h)
    return result


def assert_matches(ours: Any, expected: Any, what: str, rtol: float = 1e-6) -> None:
    assert np.shape(ours) == np.shape(expected), (
        f"{what}: shape {np.shape(ours)}, expected {np.shape(expected)}"
    )
    np.testing.assert_allclose(
        np.asarray(ours, dtype=np.float64), expected, rtol=rtol, atol=1e-8, err_msg=what
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
UNIT = between(-0.9, 0.9)  # inside (-1, 1): arcsin, arccos, arctanh
NONZERO = away_from_zero(0.3, 2.0)  # kinks (abs) and poles (1 / x) at 0
BASE = between(0.3, 2.5)  # a power's base, positive so that d/dy = out * log(x) exists
EXPONENT = between(-2.0, 2.5)

# Shapes per argument; None is a Python float, F64 a NumPy float64 scalar, () a 0-d array.
F64 = "np.float64"
UNARY = {
    "float": (None,),
    "np.float64": (F64,),
    "()": ((),),
    "(3,)": ((3,),),
    "(2,3)": ((2, 3),),
}
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


CASES: Dict[Any, Case] = {
    np.add: binary("np.add(x, y)"),
    np.subtract: binary("np.subtract(x, y)"),
    np.multiply: binary("np.multiply(x, y)"),
    np.divide: binary("np.divide(x, y)", ANY, NONZERO),
    # the same ufunc as np.divide in NumPy 2
    np.true_divide: binary("np.true_divide(x, y)", ANY, NONZERO),
    np.negative: unary("np.negative(x)"),
    np.positive: unary("np.positive(x)"),
    np.power: binary("np.power(x, y)", BASE, EXPONENT),
    np.exp: unary("np.exp(x)"),
    np.exp2: unary("np.exp2(x)"),
    np.log: unary("np.log(x)", POSITIVE),
    np.log1p: unary("np.log1p(x)", between(-0.5, 2.0)),
    np.expm1: unary("np.expm1(x)"),
    np.log2: unary("np.log2(x)", POSITIVE),
    np.log10: unary("np.log10(x)", POSITIVE),
    np.sqrt: unary("np.sqrt(x)", POSITIVE),
    np.square: unary("np.square(x)"),
    np.reciprocal: unary("np.reciprocal(x)", NONZERO),
    np.sin: unary("np.sin(x)", between(-3.0, 3.0)),
    np.cos: unary("np.cos(x)", between(-3.0, 3.0)),
    np.tan: unary("np.tan(x)", between(-1.2, 1.2)),
    np.arcsin: unary("np.arcsin(x)", UNIT),
    np.arccos: unary("np.arccos(x)", UNIT),
    np.arctan: unary("np.arctan(x)", between(-3.0, 3.0)),
    np.sinh: unary("np.sinh(x)"),
    np.cosh: unary("np.cosh(x)"),
    np.tanh: unary("np.tanh(x)"),
    np.arcsinh: unary("np.arcsinh(x)", between(-3.0, 3.0)),
    np.arccosh: unary("np.arccosh(x)", between(1.1, 3.0)),
    np.arctanh: unary("np.arctanh(x)", UNIT),
    np.abs: unary("np.abs(x)", NONZERO),
    np.fabs: unary("np.fabs(x)", NONZERO),
    np.arctan2: binary("np.arctan2(x, y)", NONZERO, NONZERO),
    np.hypot: binary("np.hypot(x, y)", NONZERO, NONZERO),
    # whole-array reductions
    np.sum: Case("np.sum(x)", (ANY,), UNARY),
    np.mean: Case("np.mean(x)", (ANY,), UNARY),
    # (like, fill value): only the fill value is differentiable
    np.full_like: Case(
        "np.full_like(x, y)",
        (ANY, ANY),
        {"(3,),float": ((3,), None), "(2,3),float": ((2, 3), None), "(2,3),()": ((2, 3), ())},
        wrt=(1,),
    ),
}

ARGS = ("x", "y")


def label(fn: Any) -> str:
    return f"np.{fn.__name__}"


def function_name(fn: Any) -> str:
    return f"f_{fn.__name__}"


def is_numpy_object(fn: Any) -> bool:
    module = getattr(fn, "__module__", None) or ""
    return module == "numpy" or module.startswith("numpy.")


# ----------------------------------------------------- the generated module


def module_text() -> str:
    lines = ["import numpy as np", ""]
    for fn, case in CASES.items():
        params = ", ".join(ARGS[: case.arity])
        lines += ["", f"def {function_name(fn)}({params}):", f"    return {case.expr}", ""]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules_numpy") / "rules_numpy_cases.py"
    path.write_text(module_text())
    spec = importlib.util.spec_from_file_location("rules_numpy_cases", path)
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

    def inputs(self, dtype: Any = np.float64) -> list:
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        shapes = self.case.shapes[self.shape_id]
        values = [d.sample(rng, s) for d, s in zip(self.case.domains, shapes)]
        return [v.astype(dtype) if isinstance(v, np.ndarray) else v for v in values]

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(self.id.encode()) + 1)

    def scalar_output(self) -> bool:
        return np.ndim(eval(self.case.expr, {"np": np}, dict(zip(ARGS, self.inputs())))) == 0


def points(scalar_output_only: bool = False) -> list:
    result = []
    for fn, case in CASES.items():
        diff = case.differentiable
        choices = [(i,) for i in diff] + ([diff] if len(diff) > 1 else [])
        for shape_id in case.shapes:
            for wrt in choices:
                point = Point(fn, shape_id, wrt)
                if not scalar_output_only or point.scalar_output():
                    result.append(pytest.param(point, id=point.id))
    return result


def like(value: Any, rng: np.random.Generator) -> Any:
    """A random tangent or cotangent of the type, shape and dtype of ``value``."""
    if isinstance(value, np.generic):
        return type(value)(rng.standard_normal())
    if isinstance(value, np.ndarray):
        return np.asarray(rng.standard_normal(np.shape(value)), dtype=value.dtype)
    return float(rng.standard_normal())


# ------------------------------------------------------------------- tests


def test_every_numpy_rule_has_a_case():
    """Adding a rule to numpy.py (or for any NumPy function) without a case fails."""
    missing = [
        rule.name
        for rule in all_rules()
        if (rule.namespace is numpy_rules.namespace or is_numpy_object(rule.fn))
        and rule.fn not in CASES
    ]
    assert not missing, f"rules without an entry in CASES: {missing}"
    assert set(map(id, numpy_rules.ELEMENTWISE)) <= set(map(id, CASES)), "a table entry has no case"


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


# ------------------------------------------------------------------ float32

FLOAT32 = [np.sin, np.exp, np.tanh, np.sqrt, np.arctanh, np.multiply, np.divide, np.power]
FLOAT32 += [np.arctan2, np.hypot, np.sum, np.mean]


def float32_points() -> list:
    result = []
    for fn in FLOAT32:
        case = CASES[fn]
        shape_id = "(2,3)" if case.arity == 1 else "(2,3),(3,)"
        point = Point(fn, shape_id, case.differentiable)
        result.append(pytest.param(point, id=point.id))
    return result


@pytest.mark.parametrize("point", float32_points())
def test_float32_stays_float32(point, generated):
    """float32 inputs give float32 tangents and cotangents, close to the float64 oracle."""
    f = getattr(generated, function_name(point.fn))
    args = point.inputs(np.float32)
    args64 = [a.astype(np.float64) for a in args]
    rng = point.rng()

    tangents = [like(a, rng) for a in args]
    _, tangent = ad.jvp(f, args, tangents)
    assert np.asarray(tangent).dtype == np.float32, f"tangent is {np.asarray(tangent).dtype}"
    expected = fd_jvp(f, args64, [t.astype(np.float64) for t in tangents])
    assert_matches(tangent, expected, "float32 tangent", rtol=1e-4)

    out = f(*args)
    cotangent = like(out, rng)
    _, pullback = ad.vjp(f, *args, wrt=point.wrt)
    for i, ours in zip(point.wrt, pullback(cotangent)):
        assert np.asarray(ours).dtype == np.float32, f"cotangent of {ARGS[i]} is {ours.dtype}"
        expected = fd_vjp(f, args64, i, np.asarray(cotangent, dtype=np.float64))
        assert_matches(ours, expected, f"float32 cotangent of {ARGS[i]}", rtol=1e-4)

    if np.ndim(out) == 0:
        grads = ad.grad(f, wrt=point.wrt)(*args)
        for i, ours in zip(point.wrt, grads):
            assert np.asarray(ours).dtype == np.float32, f"gradient wrt {ARGS[i]} is {ours.dtype}"
