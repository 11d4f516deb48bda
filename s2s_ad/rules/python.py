"""Rules for Python's operators, numeric builtins and the :mod:`math` module.

One line per primitive: the partial derivative of the result with respect to
each argument, written with the arguments ``x``, ``y`` and the result ``out``.
For operators the names in a partial (``log``, ``sign``) mean the :mod:`math`
function when every argument is a Python scalar and the NumPy one otherwise.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from .. import runtime
from .core import fixed, nondifferentiable, pure, scalar_rule, template_rule
from .kinds import SCALAR, always

MATH_NAMES = {**vars(math), "math": math, "np": np, "sign": runtime.sign}
NUMPY_NAMES = {**vars(np), "math": math, "np": np}


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
    operator.add: ("1", "1"),
    operator.sub: ("1", "-1"),
    operator.mul: ("y", "x"),
    operator.truediv: ("1 / y", "-out / y"),
    operator.pow: ("y * x ** (y - 1)", "out * log(x)"),
    operator.neg: ("-1",),
    operator.pos: ("1",),
    builtins.abs: ("sign(x)",),
    builtins.pow: ("y * x ** (y - 1)", "out * log(x)"),
}
for fn, partials in OPERATORS.items():
    scalar_rule(fn, *partials, namespace=by_kind)

MATH = {
    math.exp: ("out",),
    math.log: ("1 / x",),
    math.log1p: ("1 / (1 + x)",),
    math.expm1: ("out + 1",),
    math.log2: ("1 / (x * log(2))",),
    math.log10: ("1 / (x * log(10))",),
    math.sqrt: ("1 / (2 * out)",),
    math.sin: ("cos(x)",),
    math.cos: ("-sin(x)",),
    math.tan: ("1 + out ** 2",),
    math.asin: ("1 / sqrt(1 - x ** 2)",),
    math.acos: ("-1 / sqrt(1 - x ** 2)",),
    math.atan: ("1 / (1 + x ** 2)",),
    math.sinh: ("cosh(x)",),
    math.cosh: ("sinh(x)",),
    math.tanh: ("1 - out ** 2",),
    math.asinh: ("1 / sqrt(x ** 2 + 1)",),
    math.acosh: ("1 / sqrt(x ** 2 - 1)",),
    math.atanh: ("1 / (1 - x ** 2)",),
    math.erf: ("2 / sqrt(pi) * exp(-x ** 2)",),
    math.erfc: ("-2 / sqrt(pi) * exp(-x ** 2)",),
    math.fabs: ("sign(x)",),
    math.pow: ("y * x ** (y - 1)", "out * log(x)"),
    math.atan2: ("y / (x ** 2 + y ** 2)", "-x / (x ** 2 + y ** 2)"),
    math.hypot: ("x / out", "y / out"),
}
for fn, partials in MATH.items():
    scalar_rule(fn, *partials, namespace=fixed(MATH_NAMES), result_kind=always(SCALAR))

# Helpers that emitted code calls are primitives too, so that emitted code
# can itself be differentiated (higher order).
RUNTIME_NAMES = {**NUMPY_NAMES, **vars(runtime)}
template_rule(
    runtime.unbroadcast,
    ("x", "y"),
    jvp=["unbroadcast(dx, y)", None],
    vjp=["expand_like(g, x)", None],
    namespace=fixed(RUNTIME_NAMES),
)
template_rule(
    runtime.expand_like,
    ("x", "y"),
    jvp=["expand_like(dx, y)", None],
    vjp=["unbroadcast(g, x)", None],
    namespace=fixed(RUNTIME_NAMES),
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

template_rule(
    runtime.copy_of,
    ("x",),
    jvp=["copy_of(dx)"],
    vjp=["g"],
    namespace=fixed(RUNTIME_NAMES),
)

# Indexing: the JVP indexes the tangent; reverse mode accumulates the
# cotangent into the indexed element of the container's adjoint
# (``dx[i] += g``), which ``reverse.py`` writes itself.
template_rule(
    operator.getitem,
    ("x", "i"),
    jvp=["getitem(dx, i)", None],
    vjp=["getitem_vjp(g, x, i)", None],
    namespace=fixed({**RUNTIME_NAMES, "getitem": operator.getitem}),
)

nondifferentiable(
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
    builtins.range,
    builtins.int,
    builtins.bool,
    builtins.isinstance,
    slice,
    *COMPARISONS,
)

# Displays build containers from their items; forward and reverse mode
# differentiate them item by item (they have no per-argument templates).
pure(runtime.make_tuple, runtime.make_list, runtime.make_dict, builtins.reversed)
