"""Rules for Python's operators, numeric builtins and the :mod:`math` module.

Operators and :mod:`math` functions do on numbers what their NumPy namesakes do
on arrays (``x + y`` is ``np.add``, ``math.asin`` is ``np.arcsin``): their rules
take the partial derivatives of the NumPy table, :data:`.numpy.ELEMENTWISE`,
and only functions without a namesake state their own.  For operators the
names in a partial (``log``, ``sign``) mean the :mod:`math` function when every
argument is a Python scalar and the NumPy one otherwise; for :mod:`math`
functions, always the :mod:`math` one.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from .. import runtime
from ..runtime import arrays, special
from ..runtime import shape_ops as shapes
from .core import (
    fixed,
    impure,
    linear_rule,
    nondifferentiable,
    pure,
    scalar_rule,
    structure_only,
    template_rule,
)
from .kinds import SCALAR, always
from .numpy import ELEMENTWISE

MATH_NAMES = {**vars(math), "math": math, "np": np, "sign": runtime.sign}
MATH_NAMES.update(digamma=special.digamma, polygamma=special.polygamma)
NUMPY_NAMES = {**vars(np), "math": math, "np": np}
# (x ** 0 at x = 0 and 0 ** y have derivatives 0: see runtime.power_exponent)
for _names in (MATH_NAMES, NUMPY_NAMES):
    _names.update(power_exponent=runtime.power_exponent, nonzero_base=runtime.nonzero_base)


def by_kind(scalar: bool):
    return MATH_NAMES if scalar else NUMPY_NAMES


COMPARISONS = (
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
    operator.eq,
    operator.ne,
    operator.is_,
    operator.is_not,
)

OPERATORS = {
    operator.add: np.add,
    operator.sub: np.subtract,
    operator.mul: np.multiply,
    operator.truediv: np.true_divide,
    operator.pow: np.power,
    operator.neg: np.negative,
    operator.pos: np.positive,
    builtins.abs: np.abs,
    builtins.pow: np.power,
}
for fn, namesake in OPERATORS.items():
    scalar_rule(fn, *ELEMENTWISE[namesake], namespace=by_kind)

# `x % y`: np.mod's partials, with np.floor for floats too (math.floor gives an int)
scalar_rule(operator.mod, "1", "-np.floor(x / y)", namespace=by_kind)

MATH_NAMESAKES = {
    math.exp: np.exp,
    math.log: np.log,
    math.log1p: np.log1p,
    math.expm1: np.expm1,
    math.log2: np.log2,
    math.log10: np.log10,
    math.sqrt: np.sqrt,
    math.sin: np.sin,
    math.cos: np.cos,
    math.tan: np.tan,
    math.asin: np.arcsin,
    math.acos: np.arccos,
    math.atan: np.arctan,
    math.sinh: np.sinh,
    math.cosh: np.cosh,
    math.tanh: np.tanh,
    math.asinh: np.arcsinh,
    math.acosh: np.arccosh,
    math.atanh: np.arctanh,
    math.fabs: np.fabs,
    math.pow: np.power,
    math.atan2: np.arctan2,
    math.hypot: np.hypot,
}
MATH = {fn: ELEMENTWISE[namesake] for fn, namesake in MATH_NAMESAKES.items()}
MATH.update(  # no NumPy namesake
    {
        math.erf: ("2 / sqrt(pi) * exp(-x ** 2)",),
        math.erfc: ("-2 / sqrt(pi) * exp(-x ** 2)",),
    }
)
for fn, partials in MATH.items():
    scalar_rule(fn, *partials, namespace=fixed(MATH_NAMES), result_kind=always(SCALAR))

# Helpers that emitted code calls are primitives too, so that emitted code
# can itself be differentiated (higher order).
RUNTIME_NAMES = {**NUMPY_NAMES, **vars(runtime)}
linear_rule(
    runtime.unbroadcast, "unbroadcast(x, y)", ["expand_like(g, x)"], namespace=fixed(RUNTIME_NAMES)
)
linear_rule(
    runtime.expand_like, "expand_like(x, y)", ["unbroadcast(g, x)"], namespace=fixed(RUNTIME_NAMES)
)

scalar_rule(builtins.float, "1", namespace=by_kind, result_kind=always(SCALAR))
# sum(xs) adds the items of a list (or the rows of an array); sum(xs, start) also start.
template_rule(
    builtins.sum,
    ("x", "y=0"),
    jvp=["sum(dx)", "dy"],
    vjp=["sum_vjp(g, x)", "g"],
    namespace=fixed({**RUNTIME_NAMES, "sum": builtins.sum}),
)

linear_rule(runtime.copy_of, "copy_of(x)", ["g"], namespace=fixed(RUNTIME_NAMES))
# (``x`` is a number only where it stands for zeros: a constant, never differentiated)
linear_rule(runtime.owned_copy, "owned_copy(x, like)", ["g"], namespace=fixed(RUNTIME_NAMES))
# The shape check of what a user's rule returns (api/custom.py) passes its value through.
linear_rule(
    runtime.shaped_like,
    "shaped_like(x, like, rule, what)",
    ["g"],
    namespace=fixed(RUNTIME_NAMES),
)

# Indexing: the JVP indexes the tangent; reverse mode accumulates the
# cotangent into the indexed element of the container's adjoint
# (``dx[i] += g``), which ``reverse.py`` writes itself.
linear_rule(
    operator.getitem,
    "getitem(x, i)",
    ["getitem_vjp(g, x, i)"],
    namespace=fixed({**RUNTIME_NAMES, "getitem": operator.getitem}),
)

# A field of a record (``params.W``): the JVP reads the tangent's field; reverse mode
# puts the cotangent into that field of a zero record of the same type.
template_rule(
    runtime.field,
    ("x", "name"),
    ["field_tangent(dx, x, name)"],
    ["field_vjp(g, x, name)"],
    namespace=fixed(RUNTIME_NAMES),
)
# they read which fields of the record `x` are floating, never its values
structure_only(runtime.field_tangent, 1)
structure_only(runtime.field_cleared, 1)
structure_only(runtime.field_set, 1)

# `dataclasses.replace(p, W=v)`: a new record, with the field's tangent set and the
# cotangent split between the field (to `v`) and the rest (to `p`).
template_rule(
    runtime.with_field,
    ("x", "name", "value"),
    ["field_cleared(dx, x, name)", None, "field_set(zeros_like(x), x, name, dvalue)"],
    ["field_cleared(g, x, name)", None, "field_tangent(g, x, name)"],
    namespace=fixed(RUNTIME_NAMES),
).tuple_result = True  # its tangent terms add field by field
nondifferentiable(runtime.constructed)  # the fields are set by `with_field` afterwards

# `x // y` is piecewise constant: its derivative is zero wherever it exists (as np.floor_divide)
nondifferentiable(
    operator.floordiv,
    math.floor,
    math.ceil,
    math.trunc,
    builtins.round,
    builtins.len,
    runtime.sign,
    runtime.stop_gradient,
    runtime.zeros_like,
    runtime.ones_like,
    runtime.seed_cotangent,
    runtime.both,
    runtime.either,
    operator.not_,
    operator.contains,
    operator.and_,  # of boolean masks and integers: `(x > 0) & (x < 1)`, `~mask`
    operator.or_,
    operator.xor,
    operator.invert,
    builtins.range,
    builtins.int,
    builtins.bool,
    builtins.isinstance,
    slice,
    *COMPARISONS,
)

# Strings are constants: f-strings build keys and messages, never differentiated.
nondifferentiable(runtime.formatted, runtime.joined, builtins.str)

# The keys a loop over ``d.items()`` walks are constants; ``tuple(...)`` of a list built
# item by item passes each item's derivative through (a tuple's cotangent is a list).
nondifferentiable(runtime.keys_of)
linear_rule(runtime.as_tuple, "as_tuple(x)", ["g"], namespace=fixed(RUNTIME_NAMES))

# `assert` runs where it stood, in every sweep, and is never differentiated.
nondifferentiable(runtime.check_assertion, runtime.check_vjp_primals)
impure(runtime.check_assertion, runtime.check_vjp_primals)

# Displays build containers from their items; forward and reverse mode
# differentiate them item by item (they have no per-argument templates).
pure(runtime.make_tuple, runtime.make_list, runtime.make_dict, builtins.reversed)

# The rest of the math module (Python 3.11+ adds cbrt and exp2, 3.12 sumprod, 3.13 fma).
# lgamma's derivative is the digamma function, and each polygamma's the next one
# (runtime/special.py): derivatives of any order.
MORE_MATH = {
    math.lgamma: ("digamma(x)",),
    math.gamma: ("out * digamma(x)",),
    math.degrees: ("180 / pi",),
    math.radians: ("pi / 180",),
    math.fmod: ("1", "-np.trunc(x / y)"),
    math.remainder: ("1", "-np.round(x / y)"),  # x - n y, n the nearest whole number
    math.copysign: ("copysign(1.0, x * y)", None),
    math.ldexp: ("ldexp(1.0, y)", None),
    special.digamma: ("polygamma(1, x)",),
}
for name, partials in {"cbrt": ("1 / (3 * out ** 2)",), "exp2": ("out * log(2)",)}.items():
    if hasattr(math, name):
        MORE_MATH[getattr(math, name)] = partials
if hasattr(math, "fma"):  # x * y + z
    MORE_MATH[math.fma] = ("y", "x", "1")
for fn, partials in MORE_MATH.items():
    scalar_rule(fn, *partials, namespace=fixed(MATH_NAMES), result_kind=always(SCALAR))
scalar_rule(
    special.polygamma,
    None,
    "polygamma(order + 1, x)",
    params=("order", "x"),
    namespace=fixed(MATH_NAMES),
)

# Functions of a sequence of numbers (a list, a tuple or an array): fsum adds like sum,
# prod multiplies, dist is the Euclidean distance of two points, sumprod a dot product.
SEQUENCE_NAMES = fixed({**RUNTIME_NAMES, **vars(arrays), **vars(shapes), "math": math})
template_rule(
    math.fsum,
    ("x",),
    jvp=["math.fsum(dx)"],
    vjp=["sum_vjp(g, x)"],
    namespace=SEQUENCE_NAMES,
    result_kind=always(SCALAR),
)
template_rule(
    math.prod,
    ("x", "start=1"),
    jvp=[
        "np.sum(np.asarray(dx) * prod_others(np.asarray(x), axis=0), axis=0) * start",
        "dstart * math.prod(x)",
    ],
    vjp=["unarray(g * start * prod_others(np.asarray(x), axis=0), x)", "g * math.prod(x)"],
    namespace=SEQUENCE_NAMES,
)
DIFFERENCE = "(np.asarray(p) - np.asarray(q))"
template_rule(
    math.dist,
    ("p", "q"),
    jvp=[
        f"np.sum(np.asarray(dp) * {DIFFERENCE}) / out",
        f"-np.sum(np.asarray(dq) * {DIFFERENCE}) / out",
    ],
    vjp=[f"unarray(g * {DIFFERENCE} / out, p)", f"unarray(-g * {DIFFERENCE} / out, q)"],
    namespace=SEQUENCE_NAMES,
    result_kind=always(SCALAR),
)
if hasattr(math, "sumprod"):
    template_rule(
        math.sumprod,
        ("p", "q"),
        jvp=["np.sum(np.asarray(dp) * np.asarray(q))", "np.sum(np.asarray(p) * np.asarray(dq))"],
        vjp=["unarray(g * np.asarray(q), p)", "unarray(g * np.asarray(p), q)"],
        namespace=SEQUENCE_NAMES,
        result_kind=always(SCALAR),
    )

# The parts of a float: modf's fraction x - trunc(x) has slope 1, frexp's mantissa
# m = x / 2 ** e slope 2 ** -e; the whole part and the exponent are constants.
TUPLE_PARTS = {
    math.modf: ("make_tuple(dx, 0.0)", "getitem(g, 0)"),
    math.frexp: (
        "make_tuple(dx * ldexp(1.0, -getitem(out, 1)), 0)",
        "getitem(g, 0) * ldexp(1.0, -getitem(out, 1))",
    ),
}
PART_NAMES = fixed({**MATH_NAMES, "make_tuple": runtime.make_tuple, "getitem": operator.getitem})
for fn, (jvp, vjp) in TUPLE_PARTS.items():
    rule = template_rule(fn, ("x",), jvp=[jvp], vjp=[vjp], namespace=PART_NAMES)
    rule.tuple_result = True

# Tests and whole-number functions: constants for differentiation.
nondifferentiable(
    *(
        getattr(math, name)
        for name in (
            "isclose", "isfinite", "isinf", "isnan", "factorial", "comb", "perm", "gcd", "lcm",
            "isqrt", "nextafter", "ulp",
        )
        if hasattr(math, name)
    )
)  # fmt: skip
