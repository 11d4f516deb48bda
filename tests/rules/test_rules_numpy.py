"""Every rule of ``s2s_ad/rules/numpy.py`` against central finite differences.

For each NumPy primitive the table ``CASES`` gives a source expression
(``np.arcsin(x)``), a domain per argument and the argument shapes to try,
broadcasting included.  The expressions are written into a real module
(s2s_ad reads source), imported, and every derivative s2s_ad produces --
forward (``jvp``), reverse (``vjp``, ``grad``), with and without the
optimizer -- is compared with finite differences in float64.  A few
primitives are also run in float32, whose derivatives must stay float32.
The oracle, the module writer and the tests every rule table gets are in
``rule_harness.py`` (`rule_harness.standard_tests`), shared with
``test_rules_python.py``; this file declares the table, checks that it covers
every rule, and adds the float32 tests and the check of ``docs/numpy.md``.
"""

from __future__ import annotations

import collections
import operator
import re
import types
from typing import Any, Dict

import numpy as np
import pytest
from cases_complex import CASES as COMPLEX_CASES
from cases_eig import CASES as EIG_CASES
from cases_helpers import CASES as HELPER_CASES
from cases_linalg import CASES as LINALG_CASES
from cases_shapes import CASES as SHAPE_CASES

import s2s_ad as ad
from s2s_ad import rules, runtime
from s2s_ad.rules import Refusal, all_rules
from s2s_ad.rules import linalg as linalg_rules
from s2s_ad.rules import numpy as numpy_rules
from s2s_ad.rules import shape_ops as shape_rules
from s2s_ad.runtime import arrays, complex_numbers, linalg
from s2s_ad.runtime import eig as eig_helpers
from s2s_ad.runtime import fft as fft_helpers
from s2s_ad.runtime import shape_ops as shapes

from rule_harness import (
    ANY,
    ARGS,
    ARRAYS,
    BASE,
    BINARY,
    EXPONENT,
    MATRICES,
    NONZERO,
    NUMPY_UNARY,
    POSITIVE,
    UNIT,
    Case,
    Domain,
    Point,
    RuleTable,
    assert_matches,
    between,
    binary,
    fd_jvp,
    fd_vjp,
    like,
    shaped,
    standard_tests,
)

# ------------------------------------------------------------------- cases

UNARY = NUMPY_UNARY


def unary(expr: str, domain: Domain = ANY) -> Case:
    return Case(expr, (domain,), UNARY)


TERNARY = {
    "float,float,float": (None, None, None),
    "(3,),(3,),(3,)": ((3,), (3,), (3,)),
    "(2,3),(3,),float": ((2, 3), (3,), None),
}


MATMUL = {
    "(2,3),(3,4)": ((2, 3), (3, 4)),
    "(3,),(3,4)": ((3,), (3, 4)),
    "(2,3),(3,)": ((2, 3), (3,)),
    "(3,),(3,)": ((3,), (3,)),
    "(5,2,3),(1,3,4)": ((5, 2, 3), (1, 3, 4)),
}
DOT = {
    "(2,3),(3,4)": ((2, 3), (3, 4)),
    "(3,),(3,)": ((3,), (3,)),
    "(2,3,4),(5,4,2)": ((2, 3, 4), (5, 4, 2)),
    "float,(3,)": (None, (3,)),
    "(3,),(3,2)": ((3,), (3, 2)),
}


def nan_reductions(name: str) -> list:
    """The reduction of an array with NaNs in it (its middle column), whole and along an axis."""
    with_nans = "np.where(np.array([False, True, False]), np.nan, x)"
    return [
        Case(f"{name}({with_nans})", (ANY,), ARRAYS),
        Case(f"{name}({with_nans}, axis=1)", (ANY,), {"(2,3)": ((2, 3),)}),
    ]


def reductions(name: str, scalars: bool = True) -> list:
    """A reduction over everything (also of scalars), along one axis, and with keepdims."""
    everything = UNARY if scalars else ARRAYS
    return [
        Case(f"{name}(x)", (ANY,), everything),
        Case(f"{name}(x, axis=1)", (ANY,), MATRICES),
        Case(f"{name}(x, 0, keepdims=True)", (ANY,), MATRICES),
        Case(f"{name}(x, axis=(0, 2))", (ANY,), {"(2,3,2)": ((2, 3, 2),)}),
    ]


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
    np.cbrt: unary("np.cbrt(x)", NONZERO),
    np.sinc: unary("np.sinc(x)", NONZERO),
    np.logaddexp: binary("np.logaddexp(x, y)"),
    np.logaddexp2: binary("np.logaddexp2(x, y)"),
    np.maximum: binary("np.maximum(x, y)"),
    np.minimum: binary("np.minimum(x, y)"),
    np.fmax: binary("np.fmax(x, y)"),
    np.fmin: binary("np.fmin(x, y)"),
    np.deg2rad: unary("np.deg2rad(x)"),
    np.radians: unary("np.radians(x)"),
    np.rad2deg: unary("np.rad2deg(x)"),
    np.degrees: unary("np.degrees(x)"),
    np.float_power: binary("np.float_power(x, y)", BASE, EXPONENT),
    np.mod: binary("np.mod(x, y)", ANY, NONZERO),
    np.fmod: binary("np.fmod(x, y)", ANY, NONZERO),
    np.conjugate: unary("np.conjugate(x)"),
    np.copysign: [
        Case("np.copysign(x, y)", (NONZERO, NONZERO), BINARY, wrt=(0,)),
        Case("np.copysign(x, -1.0)", (NONZERO,), UNARY),
    ],
    np.ldexp: [Case("np.ldexp(x, 3)", (ANY,), UNARY), Case("np.ldexp(x, -2)", (ANY,), UNARY)],
    np.clip: [
        Case("np.clip(x, y, z)", (ANY, between(-1.5, -0.5), between(0.5, 1.5)), TERNARY),
        Case("np.clip(x, a_min=-0.5, a_max=None)", (NONZERO,), UNARY),
    ],
    np.where: Case("np.where(x > 0, y, z)", (NONZERO, ANY, ANY), TERNARY, wrt=(1, 2)),
    # reductions, over everything and along axes
    np.sum: reductions("np.sum"),
    np.mean: reductions("np.mean"),
    np.prod: reductions("np.prod"),
    np.max: reductions("np.max"),
    np.amax: reductions("np.amax"),
    np.min: reductions("np.min"),
    np.amin: reductions("np.amin"),
    np.var: reductions("np.var") + [Case("np.var(x, 0, ddof=1, keepdims=True)", (ANY,), MATRICES)],
    np.std: reductions("np.std", scalars=False)
    + [Case("np.std(x, axis=1, ddof=1)", (ANY,), MATRICES)],
    np.ptp: reductions("np.ptp", scalars=False),
    np.nansum: reductions("np.nansum") + nan_reductions("np.nansum"),
    np.nanmean: reductions("np.nanmean") + nan_reductions("np.nanmean"),
    np.nanprod: reductions("np.nanprod") + nan_reductions("np.nanprod"),
    np.nanmax: reductions("np.nanmax") + nan_reductions("np.nanmax"),
    np.nanmin: reductions("np.nanmin") + nan_reductions("np.nanmin"),
    np.nanvar: reductions("np.nanvar", scalars=False)
    + nan_reductions("np.nanvar")
    + [Case("np.nanvar(x, 0, ddof=1, keepdims=True)", (ANY,), MATRICES)],
    np.nanstd: reductions("np.nanstd", scalars=False)
    + nan_reductions("np.nanstd")
    + [Case("np.nanstd(x, axis=1, ddof=1)", (ANY,), MATRICES)],
    np.average: [
        Case("np.average(x)", (ANY,), UNARY),
        Case("np.average(x, axis=1)", (ANY,), MATRICES),
        Case("np.average(x, weights=y)", (ANY, POSITIVE), {"(3,),(3,)": ((3,), (3,))}),
        Case("np.average(x, 1, y, keepdims=True)", (ANY, POSITIVE), {"(2,3),(3,)": ((2, 3), (3,))}),
        Case("np.average(x, 0, y)", (ANY, POSITIVE), {"(2,3),(2,3)": ((2, 3), (2, 3))}),
    ],
    np.cumprod: [
        Case("np.cumprod(x)", (ANY,), UNARY),
        Case("np.cumprod(x, axis=1)", (ANY,), MATRICES),
        shaped("np.cumprod(x * np.array([1.0, 0.0, 1.0, 0.0]))", (4,)),  # zeros
    ],
    np.nancumsum: [
        Case("np.nancumsum(x)", (ANY,), UNARY),
        Case("np.nancumsum(x, axis=1)", (ANY,), MATRICES),
        shaped("np.nancumsum(np.where(x > 1.5, np.nan, x))", (2, 3)),
    ],
    np.nancumprod: [
        Case("np.nancumprod(x)", (ANY,), UNARY),
        Case("np.nancumprod(x, axis=0)", (ANY,), MATRICES),
        shaped("np.nancumprod(np.where(x > 1.5, np.nan, x), axis=1)", (2, 3)),
    ],
    np.cumsum: [
        Case("np.cumsum(x)", (ANY,), UNARY),
        Case("np.cumsum(x, axis=1)", (ANY,), MATRICES),
    ],
    np.trace: [
        Case(
            "np.trace(x)", (ANY,), {"(3,3)": ((3, 3),), "(2,3)": ((2, 3),), "(2,2,3)": ((2, 2, 3),)}
        ),
        Case("np.trace(x, offset=1)", (ANY,), {"(3,3)": ((3, 3),), "(2,3,2)": ((2, 3, 2),)}),
    ],
    runtime.astype: [
        Case("x.astype(np.float64)", (ANY,), ARRAYS),
        Case("x.astype(float)", (ANY,), ARRAYS),
    ],
    # products
    np.matmul: Case("np.matmul(x, y)", (ANY, ANY), MATMUL),
    operator.matmul: Case("x @ y", (ANY, ANY), MATMUL),
    np.dot: Case("np.dot(x, y)", (ANY, ANY), DOT),
    np.inner: Case(
        "np.inner(x, y)",
        (ANY, ANY),
        {"(2,3),(4,3)": ((2, 3), (4, 3)), "(3,),(3,)": ((3,), (3,)), "float,(3,)": (None, (3,))},
    ),
    np.outer: Case(
        "np.outer(x, y)", (ANY, ANY), {"(3,),(2,)": ((3,), (2,)), "(2,2),(3,)": ((2, 2), (3,))}
    ),
    np.vdot: Case(
        "np.vdot(x, y)", (ANY, ANY), {"(3,),(3,)": ((3,), (3,)), "(2,3),(2,3)": ((2, 3), (2, 3))}
    ),
    np.kron: Case(
        "np.kron(x, y)",
        (ANY, ANY),
        {"(2,3),(2,2)": ((2, 3), (2, 2)), "(2,),(3,)": ((2,), (3,)), "(3,),(2,2)": ((3,), (2, 2))},
    ),
    np.convolve: [
        Case(
            f"np.convolve(x, y{mode})",
            (ANY, ANY),
            {"(5,),(3,)": ((5,), (3,)), "(3,),(5,)": ((3,), (5,)), "(4,),(4,)": ((4,), (4,))},
        )
        for mode in ("", ", 'same'", ", mode='valid'")
    ],
    np.correlate: [
        Case(
            f"np.correlate(x, y{mode})",
            (ANY, ANY),
            {"(5,),(3,)": ((5,), (3,)), "(3,),(5,)": ((3,), (5,)), "(4,),(4,)": ((4,), (4,))},
        )
        for mode in ("", ", 'same'", ", mode='full'")
    ],
    np.cross: [
        Case(
            "np.cross(x, y)", (ANY, ANY), {"(3,),(3,)": ((3,), (3,)), "(2,3),(3,)": ((2, 3), (3,))}
        ),
        Case("np.cross(x, y, axis=0)", (ANY, ANY), {"(3,2),(3,2)": ((3, 2), (3, 2))}),
    ],
    np.polyval: [
        Case(
            "np.polyval(x, y)",
            (ANY, ANY),
            {"(3,),float": ((3,), None), "(4,),(2,3)": ((4,), (2, 3))},
        ),
        Case(
            "np.polyval([x, 2.0, y], 1.5)", (ANY, ANY), {"float,float": (None, None)}, packed=True
        ),
    ],
    np.linspace: [
        Case(
            "np.linspace(x, y, 5)",
            (ANY, ANY),
            {"float,float": (None, None), "(2,),float": ((2,), None), "float,(2,)": (None, (2,))},
        ),
        Case(
            "np.linspace(x, y, num=4, endpoint=False, axis=1)",
            (ANY, ANY),
            {"(3,),(3,)": ((3,), (3,))},
        ),
    ],
    np.full: [
        Case("np.full((2, 3), x)", (ANY,), {"float": (None,), "(3,)": ((3,),)}),
        Case("np.full(3, x)", (ANY,), {"()": ((),)}),
    ],
    np.tensordot: [
        Case("np.tensordot(x, y)", (ANY, ANY), {"(2,3,4),(3,4,2)": ((2, 3, 4), (3, 4, 2))}),
        Case("np.tensordot(x, y, axes=1)", (ANY, ANY), {"(2,3),(3,4)": ((2, 3), (3, 4))}),
        Case(
            "np.tensordot(x, y, axes=([0, 2], [1, 0]))",
            (ANY, ANY),
            {"(2,3,4),(4,2,5)": ((2, 3, 4), (4, 2, 5))},
        ),
    ],
    # helpers that emitted VJPs call: linear in the cotangent (x), y only gives the shape
    arrays.unreduce: [
        Case("arrays.unreduce(x, y)", (ANY, ANY), {"float,(2,3)": (None, (2, 3))}, wrt=(0,)),
        Case("arrays.unreduce(x, y, axis=1)", (ANY, ANY), {"(2,),(2,3)": ((2,), (2, 3))}, wrt=(0,)),
        Case(
            "arrays.unreduce(x, y, axis=0, keepdims=True)",
            (ANY, ANY),
            {"(1,3),(2,3)": ((1, 3), (2, 3))},
            wrt=(0,),
        ),
    ],
    arrays.unreduce_mean: [
        Case("arrays.unreduce_mean(x, y)", (ANY, ANY), {"float,(2,3)": (None, (2, 3))}, wrt=(0,)),
        Case(
            "arrays.unreduce_mean(x, y, axis=(0, 2))",
            (ANY, ANY),
            {"(3,),(2,3,2)": ((3,), (2, 3, 2))},
            wrt=(0,),
        ),
    ],
    arrays.cumsum_vjp: [
        Case("arrays.cumsum_vjp(x, y)", (ANY, ANY), {"(6,),(2,3)": ((6,), (2, 3))}, wrt=(0,)),
        Case(
            "arrays.cumsum_vjp(x, y, axis=1)",
            (ANY, ANY),
            {"(2,3),(2,3)": ((2, 3), (2, 3))},
            wrt=(0,),
        ),
    ],
    arrays.trace_vjp: Case(
        "arrays.trace_vjp(x, y, offset=1)", (ANY, ANY), {"float,(3,3)": (None, (3, 3))}, wrt=(0,)
    ),
    # (like, fill value): only the fill value is differentiable
    np.full_like: Case(
        "np.full_like(x, y)",
        (ANY, ANY),
        {"(3,),float": ((3,), None), "(2,3),float": ((2, 3), None), "(2,3),()": ((2, 3), ())},
        wrt=(1,),
    ),
    np.einsum: [
        Case("np.einsum('ij,jk->ik', x, y)", (ANY, ANY), {"(2,3),(3,4)": ((2, 3), (3, 4))}),
        Case("np.einsum('ij,jk', x, y)", (ANY, ANY), {"(2,3),(3,4)": ((2, 3), (3, 4))}),
        Case("np.einsum('i,i', x, y)", (ANY, ANY), {"(3,),(3,)": ((3,), (3,))}),
        Case("np.einsum('ij,k->i', x, y)", (ANY, ANY), {"(2,3),(4,)": ((2, 3), (4,))}),
        Case("np.einsum('ij,k->ijk', x, y)", (ANY, ANY), {"(2,3),(4,)": ((2, 3), (4,))}),
        Case(
            "np.einsum('...ij,...jk->...ik', x, y)",
            (ANY, ANY),
            {"(5,2,3),(1,3,4)": ((5, 2, 3), (1, 3, 4)), "(2,3),(4,3,2)": ((2, 3), (4, 3, 2))},
        ),
        Case("np.einsum('i...j,j->...', x, y)", (ANY, ANY), {"(2,3,4),(4,)": ((2, 3, 4), (4,))}),
        Case(
            "np.einsum('ij, jk, kl -> il', x, y, z)",
            (ANY, ANY, ANY),
            {"(2,3),(3,4),(4,2)": ((2, 3), (3, 4), (4, 2))},
        ),
        shaped("np.einsum('ii->i', x)", (3, 3)),
        shaped("np.einsum('ii', x)", (3, 3)),
        shaped("np.einsum('iij->j', x)", (3, 3, 2)),
        shaped("np.einsum('ijk->kj', x)", (2, 3, 4)),
        Case("np.einsum('ij,ij->', x, x)", (ANY,), {"(2,3)": ((2, 3),)}),
    ],
    **SHAPE_CASES,
    **LINALG_CASES,
    **HELPER_CASES,
    **COMPLEX_CASES,
    **EIG_CASES,
}


# Functions that only recent NumPy versions have.
RECENT = {
    "cumulative_sum": [
        shaped("np.cumulative_sum(x)", (4,)),
        shaped("np.cumulative_sum(x, axis=1, include_initial=True)", (2, 3)),
    ],
    "cumulative_prod": [
        shaped("np.cumulative_prod(x)", (4,)),
        shaped("np.cumulative_prod(x, axis=0, include_initial=True)", (2, 3)),
    ],
    "vecdot": [
        Case(
            "np.vecdot(x, y)", (ANY, ANY), {"(3,),(3,)": ((3,), (3,)), "(2,3),(3,)": ((2, 3), (3,))}
        ),
        Case("np.vecdot(x, y, axis=0)", (ANY, ANY), {"(3,2),(3,1)": ((3, 2), (3, 1))}),
    ],
    "matvec": Case(
        "np.matvec(x, y)",
        (ANY, ANY),
        {"(2,3),(3,)": ((2, 3), (3,)), "(4,2,3),(1,3)": ((4, 2, 3), (1, 3))},
    ),
    "vecmat": Case(
        "np.vecmat(x, y)",
        (ANY, ANY),
        {"(2,),(2,3)": ((2,), (2, 3)), "(4,2),(1,2,3)": ((4, 2), (1, 2, 3))},
    ),
    "trapezoid": [
        Case("np.trapezoid(x)", (ANY,), ARRAYS),
        Case("np.trapezoid(x, dx=0.5, axis=0)", (ANY,), MATRICES),
        Case("np.trapezoid(x, np.cumsum(y))", (ANY, POSITIVE), {"(4,),(4,)": ((4,), (4,))}),
        Case(
            "np.trapezoid(x, y, axis=0)",
            (ANY, ANY),
            {"(3,2),(3,)": ((3, 2), (3,)), "(3,2),(3,2)": ((3, 2), (3, 2))},
        ),
    ],
}
CASES.update({getattr(np, name): case for name, case in RECENT.items() if hasattr(np, name)})
# NaN and infinities replaced by constants; the pieces of x ** y's derivatives at 0
CASES[np.nan_to_num] = [
    Case(
        "np.nan_to_num(x + np.array([0.0, np.inf, np.nan]), nan=2.0, posinf=3.0)",
        (ANY,),
        {"(3,)": ((3,),)},
    ),
    Case(
        "np.nan_to_num(x + np.array([[1.0], [-np.inf]]), neginf=-3.0)", (ANY,), {"(2,3)": ((2, 3),)}
    ),
]
CASES[runtime.power_exponent] = Case(
    "runtime.power_exponent(y, x)",
    (ANY, ANY),
    {"float": (None, None), "(3,)": ((3,), (3,))},
    wrt=(0,),
)
CASES[runtime.nonzero_base] = Case("runtime.nonzero_base(x)", (NONZERO,), UNARY)


def label(fn: Any) -> str:
    module = getattr(fn, "__module__", "") or ""
    prefix = {
        arrays.__name__: "arrays",
        runtime.__name__: "runtime",
        shapes.__name__: "shapes",
        linalg.__name__: "linalg",
        "_operator": "operator",
        "operator": "operator",
        "numpy.linalg": "np.linalg",
        "numpy.fft": "np.fft",
        complex_numbers.__name__: "complex_numbers",
        fft_helpers.__name__: "fft_helpers",
        eig_helpers.__name__: "eig_helpers",
    }
    return f"{prefix.get(module, 'np')}.{fn.__name__}"


def is_numpy_object(fn: Any) -> bool:
    module = getattr(fn, "__module__", None) or ""
    return module == "numpy" or module.startswith("numpy.")


HELPER_MODULES = {
    "NS": types.SimpleNamespace,
    "PAIR": collections.namedtuple("PAIR", "a b"),
    "np": np,
    "arrays": arrays,
    "linalg": linalg,
    "runtime": runtime,
    "shapes": shapes,
    "complex_numbers": complex_numbers,
    "fft_helpers": fft_helpers,
    "eig_helpers": eig_helpers,
}


def scalar_output(point: Point) -> bool:
    return np.ndim(eval(point.case.expr, HELPER_MODULES, dict(zip(ARGS, point.inputs())))) == 0


TABLE = RuleTable(
    CASES,
    name="rules_numpy",
    imports=(
        "from collections import namedtuple",
        "from types import SimpleNamespace as NS",
        "",
        'PAIR = namedtuple("PAIR", "a b")',
        "",
        "import numpy as np",
        "",
        "from s2s_ad import runtime",
        "from s2s_ad.runtime import arrays, linalg, shape_ops as shapes",
        "from s2s_ad.runtime import complex_numbers, eig as eig_helpers, fft as fft_helpers",
        "",
    ),
    label=label,
    scalar_output=scalar_output,
)


# ------------------------------------------------------------------- tests


NAMESPACES = (numpy_rules.namespace, shape_rules.namespace, linalg_rules.namespace)


def refused_throughout(rule) -> bool:
    """A rule that only refuses (np.linalg.eig): tests/api/test_numpy_more.py checks its message."""
    templates = [t for t in (*rule.jvp, *rule.vjp) if t is not None]
    return bool(templates) and all(isinstance(t, Refusal) for t in templates)


def test_every_numpy_rule_has_a_case():
    """Adding a rule to numpy.py (or for any NumPy function) without a case fails."""
    missing = [
        rule.name
        for rule in all_rules()
        if (any(rule.namespace is n for n in NAMESPACES) or is_numpy_object(rule.fn))
        and rule.fn not in CASES
        and not refused_throughout(rule)
    ]
    assert not missing, f"rules without an entry in CASES: {missing}"
    assert set(map(id, numpy_rules.ELEMENTWISE)) <= set(map(id, CASES)), "a table entry has no case"


# The fixture `generated` (TABLE's module, also for the float32 tests below) and the tests
# every rule table gets: test_case_matches_rule, test_jvp, test_vjp, test_grad and
# test_optimizer_keeps_*.
globals().update(standard_tests(TABLE))


# ------------------------------------------------------------------ float32

FLOAT32 = [np.sin, np.exp, np.tanh, np.sqrt, np.arctanh, np.multiply, np.divide, np.power]
FLOAT32 += [np.arctan2, np.hypot, np.sum, np.mean, np.prod, np.max, np.var, np.std, np.cumsum]
FLOAT32 += [np.maximum, np.logaddexp, np.cbrt, np.cumprod, np.average, np.nansum, np.nanstd]


def float32_points() -> list:
    result = []
    for fn in FLOAT32:
        case = TABLE.variants(fn)[0]
        shape_id = "(2,3)" if case.arity == 1 else "(2,3),(3,)"
        point = TABLE.point(fn, shape_id, case.differentiable)
        result.append(pytest.param(point, id=point.id))
    return result


def all_array_points() -> list:
    """Per case, its first shape whose arguments are all arrays, differentiated in all of them."""
    result = []
    for fn in CASES:
        for k, case in enumerate(TABLE.variants(fn)):
            arrays_only = [
                shape_id
                for shape_id, shapes in case.shapes.items()
                if all(isinstance(shape, tuple) and shape for shape in shapes)
            ]
            if arrays_only and not case.packed:
                point = TABLE.point(fn, arrays_only[0], case.differentiable, k)
                result.append(pytest.param(point, id=point.id))
    return result


@pytest.mark.parametrize("point", all_array_points())
def test_every_rule_keeps_float32_arrays_float32(point, generated):
    """float32 arrays in: float32 tangent and cotangents out, for every rule of the table."""
    f = point.function(generated)
    args = point.inputs(np.float32)
    rng = point.rng()
    tangents = [like(a, rng) if i in point.wrt else None for i, a in enumerate(args)]
    out, tangent = ad.jvp(f, args, tangents)
    if np.asarray(out).dtype == np.float32:
        assert np.asarray(tangent).dtype == np.float32, f"tangent is {np.asarray(tangent).dtype}"
    _, pullback = ad.vjp(f, *args, wrt=point.wrt)
    for i, cotangent in zip(point.wrt, pullback(like(out, rng))):
        assert np.asarray(cotangent).dtype == np.float32, f"d{ARGS[i]} is {cotangent.dtype}"
        assert np.shape(cotangent) == np.shape(args[i])


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


# ------------------------------------------------------------------ docs


def test_docs_numpy_md_is_generated_from_the_rules_table():
    """docs/numpy.md is `python -m s2s_ad.rules.docs` output: regenerate it after adding a rule."""
    from s2s_ad.rules.docs import numpy_page

    from conftest import ROOT

    page = (ROOT / "docs" / "numpy.md").read_text()
    missing = [
        name for name in re.findall(r"^\| `(np\.[\w.]+)` \|", page, re.M) if not _exists(name)
    ]
    if missing:
        pytest.skip(f"docs/numpy.md lists functions NumPy {np.__version__} lacks: {missing}")
    if rules.scipy_rules is None:  # the page's SciPy tables need the extra `scipy`
        assert page.startswith(numpy_page()), "run: python -m s2s_ad.rules.docs > docs/numpy.md"
    else:
        assert page == numpy_page(), "run: python -m s2s_ad.rules.docs > docs/numpy.md"
        assert "| `scipy.special.logsumexp` |" in page
    for name in ("np.sum", "np.linalg.solve", "operator.matmul", "np.concatenate"):
        assert f"| `{name}` |" in page


def _exists(dotted: str) -> bool:
    """Whether ``np.a.b`` names something in this NumPy."""
    value: Any = np
    for part in dotted.split(".")[1:]:
        value = getattr(value, part, None)
    return value is not None
