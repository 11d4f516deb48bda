"""Every rule of ``s2s_ad/rules/python.py`` against central finite differences.

The rules cover Python's operators, the numeric builtins, :mod:`math` and the
runtime helpers that emitted code calls.  For each primitive the table
``CASES`` gives a source expression (``x + y``, ``math.asin(x)``), a domain
per argument and the argument shapes to try.  The expressions are written
into a real module (s2s_ad reads source), imported, and every derivative
s2s_ad produces -- forward (``jvp``), reverse (``vjp``, ``grad``), with and
without the optimizer -- is compared with finite differences.  The oracle,
the module writer and those tests are in ``rule_harness.py``
(`rule_harness.standard_tests`), shared with ``test_rules_numpy.py``; this
file declares the table and checks that it covers every rule.
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any, Dict

from s2s_ad import runtime
from s2s_ad.rules import all_rules
from s2s_ad.rules import numpy as numpy_rules
from s2s_ad.rules import python as python_rules
from s2s_ad.runtime import special

from rule_harness import (
    ANY,
    BASE,
    EXPONENT,
    NONZERO,
    POSITIVE,
    SCALAR_ONLY,
    UNIT,
    Case,
    Domain,
    RuleTable,
    between,
    binary,
    standard_tests,
    unary,
)

# ------------------------------------------------------------------- cases

# math takes floats only (SCALAR_ONLY: a Python float or a NumPy float64 scalar).
SCALAR_PAIR = {"float,float": (None, None)}


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
    operator.mod: binary("x % y", ANY, NONZERO),
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
    # the rest of math: lgamma's derivative is digamma, digamma's polygamma(1, x), ...
    math.lgamma: math1("math.lgamma(x)", between(0.2, 6.0)),
    math.gamma: math1("math.gamma(x)", between(0.2, 4.0)),
    special.digamma: math1("digamma(x)", between(0.2, 6.0)),
    special.polygamma: Case("polygamma(2, x)", (between(0.2, 6.0),), SCALAR_ONLY),
    math.degrees: math1("math.degrees(x)"),
    math.radians: math1("math.radians(x)"),
    math.fmod: math2("math.fmod(x, y)", between(0.3, 3.0), between(0.25, 0.35)),
    math.remainder: math2("math.remainder(x, y)", between(0.3, 3.0), between(0.25, 0.35)),
    math.copysign: Case("math.copysign(x, y)", (NONZERO, NONZERO), SCALAR_PAIR, wrt=(0,)),
    math.ldexp: math1("math.ldexp(x, 3)"),
    math.modf: math1("math.modf(x)[0] * x"),
    math.frexp: math1("math.frexp(x)[0] * x", between(0.55, 0.95)),
    math.fsum: Case("math.fsum(x)", (ANY,), {"(3,)": ((3,),)}),
    math.prod: Case("math.prod(x, start=y)", (ANY, ANY), {"(3,)*float": ((3,), None)}),
    math.dist: Case("math.dist(x, y)", (ANY, ANY), {"(3,),(3,)": ((3,), (3,))}),
    builtins.float: math1("float(x)"),
    # sum adds the items (the rows of an array) to its start value
    builtins.sum: Case(
        "sum(x, y)", (ANY, ANY), {"(3,)+float": ((3,), None), "(2,3)+(3,)": ((2, 3), (3,))}
    ),
    # indexing: an element or a row; the index (here a float, cast) is not differentiable
    operator.getitem: Case(
        "x[int(abs(y)) % 2]",
        (ANY, ANY),
        {"(3,)": ((3,), None), "(2,3)": ((2, 3), None)},
        wrt=(0,),
    ),
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
    # a record's field, and a record with a field replaced (made from x and y)
    runtime.field: Case(
        'field(NS(a=x, b=y), "a") * field(NS(a=x, b=y), "b")',
        (ANY, ANY),
        {"float": (None, None), "(3,)": ((3,), (3,))},
    ),
    runtime.with_field: Case(
        'field(with_field(NS(a=x, b=y), "a", x * y), "a") + field(with_field(NS(a=x, b=y), "a", '
        'y), "b")',
        (ANY, ANY),
        {"float": (None, None), "(3,)": ((3,), (3,))},
    ),
    runtime.copy_of: Case("copy_of(x)", (ANY,), {"float": (None,), "(3,)": ((3,),)}),
    # (a number with an array `like` stands for zeros, a constant: not a case)
    runtime.owned_copy: Case(
        "owned_copy(x, y)",
        (ANY, ANY),
        {"float->float": (None, None), "(3,)->(3,)": ((3,), (3,))},
        wrt=(0,),
    ),
    # the shape check of a user rule's result passes its value through
    runtime.shaped_like: Case(
        'shaped_like(x, y, "r_vjp0", "the cotangent of argument 0")',
        (ANY, ANY),
        {"float->float": (None, None), "(3,)->(3,)": ((3,), (3,))},
        wrt=(0,),
    ),
    # tuple(...) of a list built item by item: each item's derivative passes through
    runtime.as_tuple: Case(
        "sum(as_tuple([x, y * x]))",
        (ANY, ANY),
        {"float,float": (None, None), "(3,)": ((3,), (3,))},
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
    # a complex number from its parts, multiplied and taken apart again (docs/complex.md)
    builtins.complex: Case(
        "(complex(x, y) * complex(y, 0.5)).imag + abs(complex(x, 1.0))",
        (ANY, ANY),
        {"float,float": (None, None)},
    ),
}

for _name, _case in {
    "cbrt": math1("math.cbrt(x)", NONZERO),  # Python 3.11
    "exp2": math1("math.exp2(x)"),  # Python 3.11
    "sumprod": Case("math.sumprod(x, y)", (ANY, ANY), {"(3,),(3,)": ((3,), (3,))}),  # 3.12
    "fma": Case("math.fma(x, y, z)", (ANY, ANY, ANY), {"float": (None, None, None)}),  # 3.13
}.items():
    if hasattr(math, _name):
        CASES[getattr(math, _name)] = _case

PYTHON_MODULES = {"_operator", "operator", "builtins", "math", runtime.__name__}


def label(fn: Any) -> str:
    module = {"_operator": "operator", runtime.__name__: "runtime"}.get(
        fn.__module__, fn.__module__
    )
    return f"{module}.{fn.__name__}"


TABLE = RuleTable(
    CASES,
    name="rules_python",
    imports=(
        "import math",
        "import operator",
        "",
        "from types import SimpleNamespace as NS",
        "",
        "from s2s_ad.runtime import as_tuple, copy_of, expand_like, field, owned_copy",
        "from s2s_ad.runtime import shaped_like, unbroadcast, with_field",
        "from s2s_ad.runtime.special import digamma, polygamma",
        "",
    ),
    label=label,
    # math and the operators on floats give floats, and so must their gradients
    float_gradients=True,
)


# ------------------------------------------------------------------- tests


def test_every_python_rule_has_a_case():
    """Adding a rule to python.py (or for a Python/math/runtime object) without a case fails."""
    own_namespaces = (python_rules.MATH_NAMES, python_rules.NUMPY_NAMES, python_rules.RUNTIME_NAMES)
    missing = []
    for rule in all_rules():
        if rule.namespace is numpy_rules.namespace:  # `@` lives with the NumPy products
            continue
        registered_here = rule.namespace is python_rules.by_kind or any(
            rule.namespace(True) is names for names in own_namespaces
        )
        python_object = getattr(rule.fn, "__module__", None) in PYTHON_MODULES
        if (registered_here or python_object) and rule.fn not in CASES:
            missing.append(rule.name)
    assert not missing, f"rules without an entry in CASES: {missing}"
    for table in (python_rules.OPERATORS, python_rules.MATH):
        assert set(map(id, table)) <= set(map(id, CASES)), "a table entry has no case"


# The fixture `generated` (TABLE's module) and the tests every rule table gets:
# test_case_matches_rule, test_jvp, test_vjp, test_grad and test_optimizer_keeps_*.
globals().update(standard_tests(TABLE))
