"""Every rule of ``s2s_ad/rules/numpy.py`` against central finite differences.

For each NumPy primitive the table ``CASES`` gives a source expression
(``np.arcsin(x)``), a domain per argument and the argument shapes to try,
broadcasting included.  The expressions are written into a real module
(s2s_ad reads source), imported, and every derivative s2s_ad produces --
forward (``jvp``), reverse (``vjp``, ``grad``), with and without the
optimizer -- is compared with finite differences in float64.  A few
primitives are also run in float32, whose derivatives must stay float32.
The oracle, the module writer and the shared test bodies are in
``rule_harness.py``, shared with ``test_rules_python.py``.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.rules import all_rules
from s2s_ad.rules import numpy as numpy_rules

from rule_harness import (
    ANY,
    ARGS,
    ARRAYS,
    BASE,
    EXPONENT,
    NONZERO,
    POSITIVE,
    SCALAR_ONLY,
    UNIT,
    Case,
    Domain,
    Point,
    RuleTable,
    assert_matches,
    between,
    binary,
    check_case_matches_rule,
    check_grad,
    check_jvp,
    check_optimizer_keeps_forward_derivatives,
    check_optimizer_keeps_gradients,
    check_optimizer_keeps_reverse_derivatives,
    check_vjp,
    fd_jvp,
    fd_vjp,
    like,
)

# ------------------------------------------------------------------- cases

# NumPy's unary functions also take a 0-d array, ().
UNARY = {**SCALAR_ONLY, "()": ((),), **ARRAYS}


def unary(expr: str, domain: Domain = ANY) -> Case:
    return Case(expr, (domain,), UNARY)


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


def label(fn: Any) -> str:
    return f"np.{fn.__name__}"


def function_name(fn: Any) -> str:
    return f"f_{fn.__name__}"


def is_numpy_object(fn: Any) -> bool:
    module = getattr(fn, "__module__", None) or ""
    return module == "numpy" or module.startswith("numpy.")


def scalar_output(point: Point) -> bool:
    return np.ndim(eval(point.case.expr, {"np": np}, dict(zip(ARGS, point.inputs())))) == 0


TABLE = RuleTable(
    CASES,
    name="rules_numpy",
    imports=("import numpy as np", ""),
    label=label,
    function_name=function_name,
    scalar_output=scalar_output,
)


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    yield from TABLE.imported(tmp_path_factory)


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
    check_case_matches_rule(TABLE, fn, generated)


@pytest.mark.parametrize("point", TABLE.points())
def test_jvp(point, generated):
    check_jvp(point, generated)


@pytest.mark.parametrize("point", TABLE.points())
def test_vjp(point, generated):
    check_vjp(point, generated)


@pytest.mark.parametrize("point", TABLE.points(scalar_output_only=True))
def test_grad(point, generated):
    check_grad(point, generated)


@pytest.mark.parametrize("point", TABLE.points())
def test_optimizer_keeps_reverse_derivatives(point, generated):
    check_optimizer_keeps_reverse_derivatives(point, generated)


@pytest.mark.parametrize("point", TABLE.points())
def test_optimizer_keeps_forward_derivatives(point, generated):
    check_optimizer_keeps_forward_derivatives(point, generated)


@pytest.mark.parametrize("point", TABLE.points(scalar_output_only=True))
def test_optimizer_keeps_gradients(point, generated):
    check_optimizer_keeps_gradients(point, generated)


# ------------------------------------------------------------------ float32

FLOAT32 = [np.sin, np.exp, np.tanh, np.sqrt, np.arctanh, np.multiply, np.divide, np.power]
FLOAT32 += [np.arctan2, np.hypot, np.sum, np.mean]


def float32_points() -> list:
    result = []
    for fn in FLOAT32:
        case = CASES[fn]
        shape_id = "(2,3)" if case.arity == 1 else "(2,3),(3,)"
        point = TABLE.point(fn, shape_id, case.differentiable)
        result.append(pytest.param(point, id=point.id))
    return result


@pytest.mark.parametrize("point", float32_points())
def test_float32_stays_float32(point, generated):
    """float32 inputs give float32 tangents and cotangents, close to the float64 oracle."""
    f = point.function(generated)
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
