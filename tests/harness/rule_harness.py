"""The harness shared by ``test_rules_python.py`` and ``test_rules_numpy.py``.

Both files check every derivative rule of one rule module against central
finite differences.  Each keeps its own table ``CASES`` (primitive -> `Case`:
a source expression, a domain per argument, the argument shapes to try) and
wraps it in a `RuleTable`.  The table writes the expressions into a real
module (s2s_ad reads source), imports it, and enumerates the `Point`\\ s to
test; the ``check_*`` functions below are the bodies of the parametrized
tests: forward (``jvp``), reverse (``vjp``, ``grad``), with and without the
optimizer, each compared with the finite differences computed here.
`standard_tests` makes those tests for one table: each rule test file
declares its table and takes them in, and adds only what is its own.

Plain helpers only: pytest does not collect this module (its name does not
start with ``test_``).
"""

from __future__ import annotations

import importlib.util
import sys
import zlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.compiler import ir, pipeline
from s2s_ad.compiler.analyse import kind_of_value
from s2s_ad.compiler.lower import lower_function
from s2s_ad.compiler.pipeline import Spec
from s2s_ad.rules import lookup, substitute_of

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
UNIT = between(-0.9, 0.9)  # inside (-1, 1): asin, acos, atanh and np.arcsin, ...
NONZERO = away_from_zero(0.3, 2.0)  # kinks (abs) and poles (1 / x) at 0
BASE = between(0.3, 2.5)  # a power's base, positive so that d/dy = out * log(x) exists
EXPONENT = between(-2.0, 2.5)

# Shapes per argument; None is a Python float, F64 a NumPy float64 scalar (what
# reductions such as np.sum return; it is a subclass of float), any tuple an
# array of that shape (() a 0-d array).
F64 = "np.float64"
SCALAR_ONLY = {"float": (None,), "np.float64": (F64,)}
ARRAYS = {"(3,)": ((3,),), "(2,3)": ((2, 3),)}
UNARY = {**SCALAR_ONLY, **ARRAYS}
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
    # The arguments reach the primitive packed in one list (np.concatenate([x, y])).
    packed: bool = False

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


# NumPy cases on arrays
# NumPy's unary functions also take a 0-d array, ().
NUMPY_UNARY = {**SCALAR_ONLY, "()": ((),), **ARRAYS}
SMALL = between(-0.5, 0.5)
MATRICES = {"(2,3)": ((2, 3),), "(2,3,2)": ((2, 3, 2),)}


def shaped(expr: str, *shapes: tuple) -> Case:
    """A one-argument case on arrays of the given shapes."""
    return Case(expr, (ANY,), {str(s).replace(" ", ""): (s,) for s in shapes})


def joined(expr: str, x: tuple, y: tuple) -> Case:
    """Two arrays joined in a list: the list is the primitive's one differentiable argument."""
    name = f"{x},{y}".replace(" ", "")
    return Case(expr, (ANY, ANY), {name: (x, y)}, packed=True)


ARGS = ("x", "y", "z")


# ------------------------------------------------------------ parametrization


@dataclass(frozen=True)
class Point:
    """One primitive, one shape combination, the arguments to differentiate."""

    fn: Any
    shape_id: str
    wrt: Tuple[int, ...]
    table: RuleTable = field(repr=False, compare=False)
    variant: int = 0  # which of the primitive's cases

    @property
    def case(self) -> Case:
        return self.table.variants(self.fn)[self.variant]

    @property
    def id(self) -> str:
        what = self.table.label(self.fn)
        if len(self.table.variants(self.fn)) > 1:
            what = self.case.expr
        return f"{what}-{self.shape_id}-" + ",".join(f"d{ARGS[i]}" for i in self.wrt)

    def function(self, generated: ModuleType) -> Callable:
        """The primitive's function in the generated module."""
        return getattr(generated, self.table.variant_name(self.fn, self.variant))

    def inputs(self, dtype: Any = np.float64) -> list:
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        shapes = self.case.shapes[self.shape_id]
        values = [d.sample(rng, s) for d, s in zip(self.case.domains, shapes)]
        return [v.astype(dtype) if isinstance(v, np.ndarray) else v for v in values]

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(self.id.encode()) + 1)


def no_array_arguments(point: Point) -> bool:
    """Whether every argument of ``point`` is a scalar (so is its output)."""
    return not any(isinstance(s, tuple) for s in point.case.shapes[point.shape_id])


@dataclass(frozen=True)
class RuleTable:
    """One test file's ``CASES``, how to name them, and the module they are written into."""

    cases: Dict[Any, Any]  # primitive -> a Case, or a list of them (keyword variants)
    name: str  # the generated module is ``<name>_cases``
    imports: Sequence[str]  # the generated module's first lines
    label: Callable[[Any], str]  # a primitive's name in test ids
    # Which points have a scalar output (the ones ``grad`` applies to).
    scalar_output: Callable[[Point], bool] = no_array_arguments
    # Whether ``grad`` must return Python floats (for the Python rules' float inputs).
    float_gradients: bool = False

    def variants(self, fn: Any) -> List[Case]:
        """The cases of one primitive (one per keyword form, such as ``axis=0``)."""
        cases = self.cases[fn]
        return list(cases) if isinstance(cases, (list, tuple)) else [cases]

    def function_name(self, fn: Any) -> str:
        """The primitive's function in the generated module: ``f_`` and its label."""
        return "f_" + self.label(fn).replace(".", "_")

    def variant_name(self, fn: Any, variant: int) -> str:
        return self.function_name(fn) + (f"_{variant}" if variant else "")

    def module_text(self) -> str:
        lines = list(self.imports)
        for fn in self.cases:
            for k, case in enumerate(self.variants(fn)):
                params = ", ".join(ARGS[: case.arity])
                name = self.variant_name(fn, k)
                lines += ["", f"def {name}({params}):", f"    return {case.expr}", ""]
        return "\n".join(lines)

    def imported(self, tmp_path_factory: Any) -> Iterator[ModuleType]:
        """Body of the session fixture ``generated``: write, import, yield, forget the module."""
        path = tmp_path_factory.mktemp(self.name) / f"{self.name}_cases.py"
        path.write_text(self.module_text())
        spec = importlib.util.spec_from_file_location(f"{self.name}_cases", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        yield module
        sys.modules.pop(spec.name, None)

    def point(self, fn: Any, shape_id: str, wrt: Tuple[int, ...], variant: int = 0) -> Point:
        return Point(fn, shape_id, wrt, self, variant)

    def points(self, scalar_output_only: bool = False) -> list:
        result = []
        for fn in self.cases:
            for k, case in enumerate(self.variants(fn)):
                diff = case.differentiable
                choices = [(i,) for i in diff] + ([diff] if len(diff) > 1 else [])
                for shape_id in case.shapes:
                    for wrt in choices:
                        point = self.point(fn, shape_id, wrt, k)
                        if not scalar_output_only or self.scalar_output(point):
                            result.append(pytest.param(point, id=point.id))
        return result


def like(value: Any, rng: np.random.Generator) -> Any:
    """A random tangent or cotangent of the type, shape and dtype of ``value``."""
    if isinstance(value, np.generic):
        return type(value)(rng.standard_normal())
    if isinstance(value, np.ndarray):
        return np.asarray(rng.standard_normal(np.shape(value)), dtype=value.dtype)
    return float(rng.standard_normal())


def build(f: Callable, mode: str, wrt: Tuple[int, ...], args: Sequence[Any], optimize: bool):
    kinds = tuple(kind_of_value(a) for a in args)
    names = tuple(ARGS[i] for i in wrt)
    return pipeline.build(f, Spec(mode, names, kinds, optimize)).bind(f)


# ------------------------------------------------------------- test bodies


def check_case_matches_rule(table: RuleTable, fn: Any, generated: ModuleType) -> None:
    """Each case calls its primitive, and every differentiable argument it passes straight
    to the primitive lands on a parameter that has templates.  A function transformed from its
    source (``rules.substitute``, the factorizations' helpers) has no rule: its cases check the
    derivatives its source gives."""
    if substitute_of(fn) is not None:
        return
    assert lookup(fn) is not None, f"{table.label(fn)} has a case but no rule"
    for k, case in enumerate(table.variants(fn)):
        low = lower_function(getattr(generated, table.variant_name(fn, k)))
        calls = [
            s.value
            for s in ir.walk(low.function.body)
            if isinstance(s, ir.Assign)
            and isinstance(s.value, ir.Call)
            # a bound method (scipy.stats.norm.logpdf) is a new object per read: its rule
            and (s.value.fn is fn or lookup(s.value.fn) is lookup(fn))
        ]
        assert calls, f"{case.expr!r} does not call {table.label(fn)}"
        rule = lookup(fn).for_call(len(calls[0].args))
        with_rule = {n for n, j, v in zip(rule.arg_names, rule.jvp, rule.vjp) if j or v}
        bound = rule.bind(calls[0].args, calls[0].kwargs)
        if case.packed:  # the list is the first parameter
            assert rule.arg_names[0] in with_rule, (case.expr, with_rule)
        passed = {low.load_of.get(atom): name for name, atom in bound.items()}
        for i in case.differentiable:
            if ARGS[i] in passed:
                assert passed[ARGS[i]] in with_rule, (case.expr, ARGS[i], with_rule)


def check_jvp(point: Point, generated: ModuleType) -> None:
    f = point.function(generated)
    args = point.inputs()
    rng = point.rng()
    tangents = [like(a, rng) if i in point.wrt else None for i, a in enumerate(args)]
    out, tangent = ad.jvp(f, args, tangents)
    assert_matches(out, np.asarray(f(*args), dtype=np.float64), "primal")
    assert_matches(tangent, fd_jvp(f, args, tangents), "tangent")


def check_vjp(point: Point, generated: ModuleType) -> None:
    f = point.function(generated)
    args = point.inputs()
    cotangent = like(f(*args), point.rng())
    out, pullback = ad.vjp(f, *args, wrt=point.wrt)
    assert_matches(out, np.asarray(f(*args), dtype=np.float64), "primal")
    cotangents = pullback(cotangent)
    assert len(cotangents) == len(point.wrt)
    for i, ours in zip(point.wrt, cotangents):
        assert_matches(ours, fd_vjp(f, args, i, cotangent), f"cotangent of {ARGS[i]}")


def check_grad(point: Point, generated: ModuleType) -> None:
    f = point.function(generated)
    args = point.inputs()
    grads = ad.grad(f, wrt=point.wrt)(*args)
    for i, ours in zip(point.wrt, grads):
        if point.table.float_gradients:
            assert isinstance(ours, float), f"gradient of a float is a {type(ours).__name__}"
        assert_matches(ours, fd_vjp(f, args, i, 1.0), f"gradient wrt {ARGS[i]}")


def check_optimizer_keeps_reverse_derivatives(point: Point, generated: ModuleType) -> None:
    f = point.function(generated)
    args = point.inputs()
    cotangent = like(f(*args), point.rng())
    results = {}
    for optimize in (True, False):
        _, pullback = build(f, "vjp", point.wrt, args, optimize)(*args)
        results[optimize] = pullback(cotangent)
    for i, plain, optimized in zip(point.wrt, results[False], results[True]):
        assert_matches(plain, fd_vjp(f, args, i, cotangent), f"unoptimized cotangent of {ARGS[i]}")
        np.testing.assert_allclose(optimized, plain, rtol=1e-12, atol=1e-14)


def check_optimizer_keeps_forward_derivatives(point: Point, generated: ModuleType) -> None:
    f = point.function(generated)
    args = point.inputs()
    rng = point.rng()
    tangents = [like(args[i], rng) for i in point.wrt]
    results = {o: build(f, "jvp", point.wrt, args, o)(*args, *tangents)[1] for o in (True, False)}
    full = [tangents[point.wrt.index(i)] if i in point.wrt else None for i in range(len(args))]
    assert_matches(results[False], fd_jvp(f, args, full), "unoptimized tangent")
    np.testing.assert_allclose(results[True], results[False], rtol=1e-12, atol=1e-14)


def check_optimizer_keeps_gradients(point: Point, generated: ModuleType) -> None:
    f = point.function(generated)
    args = point.inputs()
    plain = build(f, "grad", point.wrt, args, False)(*args)
    optimized = build(f, "grad", point.wrt, args, True)(*args)
    plain = plain if len(point.wrt) > 1 else (plain,)
    optimized = optimized if len(point.wrt) > 1 else (optimized,)
    for i, p, o in zip(point.wrt, plain, optimized):
        assert_matches(p, fd_vjp(f, args, i, 1.0), f"unoptimized gradient wrt {ARGS[i]}")
        np.testing.assert_allclose(o, p, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------- the tests


def standard_tests(table: RuleTable) -> Dict[str, Any]:
    """The fixture and the tests every rule table gets, by name, for the table's test module
    to take in: ``globals().update(standard_tests(TABLE))``.

    ``generated`` is the session fixture that writes the table's module and imports it;
    ``test_case_matches_rule`` runs per primitive, and ``test_jvp``, ``test_vjp``,
    ``test_grad``, ``test_optimizer_keeps_reverse_derivatives``,
    ``test_optimizer_keeps_forward_derivatives`` and ``test_optimizer_keeps_gradients`` per
    `Point` (the ``grad`` ones at the points with a scalar output only), each the
    ``check_*`` function of its name.
    """

    @pytest.fixture(scope="session")
    def generated(tmp_path_factory: Any) -> Iterator[ModuleType]:
        yield from table.imported(tmp_path_factory)

    @pytest.mark.parametrize("fn", list(table.cases), ids=table.label)
    def test_case_matches_rule(fn: Any, generated: ModuleType) -> None:
        check_case_matches_rule(table, fn, generated)

    tests: Dict[str, Any] = {
        "generated": generated,
        "test_case_matches_rule": test_case_matches_rule,
    }
    every, scalar_output = table.points(), table.points(scalar_output_only=True)
    for check, points in (
        (check_jvp, every),
        (check_vjp, every),
        (check_grad, scalar_output),
        (check_optimizer_keeps_reverse_derivatives, every),
        (check_optimizer_keeps_forward_derivatives, every),
        (check_optimizer_keeps_gradients, scalar_output),
    ):
        test = _test_at(points, check)
        tests[test.__name__] = test
    return tests


def _test_at(points: list, check: Callable[[Point, ModuleType], None]) -> Callable:
    """``check`` as a test parametrized over ``points``, named ``test_<what it checks>``."""

    @pytest.mark.parametrize("point", points)
    def test(point: Point, generated: ModuleType) -> None:
        check(point, generated)

    test.__name__ = test.__qualname__ = "test_" + check.__name__[len("check_") :]
    return test
