"""Every rule of ``s2s_ad/rules/scipy.py`` against central finite differences, and at second
order (Hessian-vector products against differences of the gradient).

The cases are in ``cases_scipy.py``; the tests every rule table gets come from
``rule_harness.standard_tests``.  SciPy is the optional extra ``scipy``: without it this
module skips.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("scipy", reason="the SciPy rules need the optional extra `scipy`")

import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402
from cases_scipy import CASES, TABLE  # noqa: E402

import s2s_ad as ad  # noqa: E402
from s2s_ad.rules import all_rules  # noqa: E402
from s2s_ad.rules import scipy as scipy_rules  # noqa: E402

from rule_harness import ARGS, STEP, Point, like  # noqa: E402


def test_every_scipy_rule_has_a_case():
    """Adding a rule to scipy.py without a case fails."""
    missing = [
        rule.name
        for rule in all_rules()
        if rule.namespace is scipy_rules.namespace and rule.fn not in CASES
    ]
    assert not missing, f"rules without an entry in cases_scipy.py: {missing}"
    required = ["erf", "erfinv", "gammaln", "polygamma", "logsumexp", "log_softmax", "xlog1py"]
    required += ["i1e", "y1", "betaln", "ndtri", "log_ndtr", "solve_triangular", "expm"]
    covered = {getattr(fn, "__name__", "") for fn in CASES}
    assert set(required) <= covered


# The fixture `generated` and the tests every rule table gets: test_case_matches_rule,
# test_jvp, test_vjp, test_grad and test_optimizer_keeps_*.
globals().update(pytest.importorskip("rule_harness").standard_tests(TABLE))


# ------------------------------------------------------------------ second order


def second_order_points() -> list:
    """Per case, its first shape, differentiated in each argument."""
    result = []
    for fn in CASES:
        for k, case in enumerate(TABLE.variants(fn)):
            shape_id = next(iter(case.shapes))
            for i in case.differentiable:
                point = TABLE.point(fn, shape_id, (i,), k)
                result.append(pytest.param(point, id=point.id))
    return result


def summed_sine(f: Any, arity: int) -> Any:
    """``sum(sin(f(...)))``: a scalar whose Hessian needs the second derivative of ``f``."""

    def one(x):
        return np.sum(np.sin(f(x)))

    def two(x, y):
        return np.sum(np.sin(f(x, y)))

    def three(x, y, z):
        return np.sum(np.sin(f(x, y, z)))

    return (one, two, three)[arity - 1]


@pytest.mark.parametrize("point", second_order_points())
def test_hessian_vector_product(point: Point, generated: Any) -> None:
    """Forward over reverse through the emitted gradient, against central differences of the
    gradient along ``v``: the derivative code is differentiated again."""
    f = point.function(generated)
    (i,) = point.wrt
    args = point.inputs()
    scalar = summed_sine(f, point.case.arity)
    v = np.asarray(point.rng().standard_normal(np.shape(args[i])))
    v = float(v) if not isinstance(args[i], np.ndarray) else v
    gradient = ad.grad(scalar, wrt=i)

    def moved(sign: float) -> Any:
        shifted = list(args)
        shifted[i] = args[i] + sign * STEP * v
        return np.asarray(gradient(*shifted), dtype=np.float64)

    expected = (moved(1.0) - moved(-1.0)) / (2 * STEP)
    ours = ad.hvp(scalar, wrt=i)(*args, v)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6, err_msg=f"d{ARGS[i]}")


# ------------------------------------------------------------------ float32


# SciPy itself gives float64 results for float32 inputs here: so do their derivatives.
FLOAT64_IN_SCIPY = (
    scipy.special.polygamma,
    scipy.stats.norm.logpdf,
    scipy.stats.norm.pdf,
    scipy.stats.norm.cdf,
    scipy.stats.norm.logcdf,
)


def float32_points() -> list:
    """Per case, its first shape whose arguments are all arrays, in all its arguments."""
    result = []
    for fn in CASES:
        for k, case in enumerate(TABLE.variants(fn)):
            arrays = [
                shape_id
                for shape_id, shapes in case.shapes.items()
                if all(isinstance(shape, tuple) and shape for shape in shapes)
            ]
            if arrays and fn not in FLOAT64_IN_SCIPY:
                point = TABLE.point(fn, arrays[0], case.differentiable, k)
                result.append(pytest.param(point, id=point.id))
    return result


@pytest.mark.parametrize("point", float32_points())
def test_float32_stays_float32(point: Point, generated: Any) -> None:
    """float32 arrays in: float32 tangents and cotangents out, close to the float64 ones."""
    f = point.function(generated)
    args = point.inputs(np.float32)
    rng = point.rng()
    tangents = [like(a, rng) if i in point.wrt else None for i, a in enumerate(args)]
    out, tangent = ad.jvp(f, args, tangents)
    if np.asarray(out).dtype == np.float32:  # (a float64 constant in the case makes float64)
        assert np.asarray(tangent).dtype == np.float32, f"tangent is {np.asarray(tangent).dtype}"
    _, exact = ad.jvp(
        f,
        [np.float64(a) if np.ndim(a) == 0 else a.astype(np.float64) for a in args],
        [None if t is None else t.astype(np.float64) for t in tangents],
    )
    np.testing.assert_allclose(tangent, exact, rtol=2e-3, atol=2e-4)
    _, pullback = ad.vjp(f, *args, wrt=point.wrt)
    for i, cotangent in zip(point.wrt, pullback(like(out, rng))):
        assert np.asarray(cotangent).dtype == np.float32, f"d{ARGS[i]} is {cotangent.dtype}"
        assert np.shape(cotangent) == np.shape(args[i])
