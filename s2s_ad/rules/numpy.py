"""Rules for NumPy functions.

Elementwise functions are one line each: the partial derivative with respect
to each argument, written with NumPy names (``cos`` is ``np.cos``), the
arguments ``x``, ``y`` and the result ``out``.  Reductions and other
structural functions have explicit JVP/VJP template pairs.
"""

from __future__ import annotations

import numpy as np

from .. import runtime
from . import SCALAR, always, fixed, impure, nondifferentiable, scalar_rule, template_rule

NAMES = {**vars(np), "np": np, **{k: v for k, v in vars(runtime).items() if not k.startswith("_")}}
NAMES["sign"] = np.sign
namespace = fixed(NAMES)

ELEMENTWISE = {
    np.add: ("1", "1"),
    np.subtract: ("1", "-1"),
    np.multiply: ("y", "x"),
    np.divide: ("1 / y", "-out / y"),
    np.true_divide: ("1 / y", "-out / y"),
    np.negative: ("-1",),
    np.positive: ("1",),
    np.power: ("y * x ** (y - 1)", "out * log(x)"),
    np.exp: ("out",),
    np.exp2: ("out * log(2)",),
    np.log: ("1 / x",),
    np.log1p: ("1 / (1 + x)",),
    np.expm1: ("out + 1",),
    np.log2: ("1 / (x * log(2))",),
    np.log10: ("1 / (x * log(10))",),
    np.sqrt: ("1 / (2 * out)",),
    np.square: ("2 * x",),
    np.reciprocal: ("-out ** 2",),
    np.sin: ("cos(x)",),
    np.cos: ("-sin(x)",),
    np.tan: ("1 + out ** 2",),
    np.arcsin: ("1 / sqrt(1 - x ** 2)",),
    np.arccos: ("-1 / sqrt(1 - x ** 2)",),
    np.arctan: ("1 / (1 + x ** 2)",),
    np.sinh: ("cosh(x)",),
    np.cosh: ("sinh(x)",),
    np.tanh: ("1 - out ** 2",),
    np.arcsinh: ("1 / sqrt(x ** 2 + 1)",),
    np.arccosh: ("1 / sqrt(x ** 2 - 1)",),
    np.arctanh: ("1 / (1 - x ** 2)",),
    np.abs: ("sign(x)",),
    np.fabs: ("sign(x)",),
    np.arctan2: ("y / (x ** 2 + y ** 2)", "-x / (x ** 2 + y ** 2)"),
    np.hypot: ("x / out", "y / out"),
}
for fn, partials in ELEMENTWISE.items():
    scalar_rule(fn, *partials, namespace=namespace)

# Whole-array reductions (the axis= forms arrive with the NumPy coverage work).
template_rule(
    np.sum,
    ("x",),
    jvp=["np.sum(dx)"],
    vjp=["np.full_like(x, g)"],
    namespace=namespace,
    result_kind=always(SCALAR),
    keywords={"axis": None},
)
template_rule(
    np.mean,
    ("x",),
    jvp=["np.mean(dx)"],
    vjp=["np.full_like(x, g / np.size(x))"],
    namespace=namespace,
    result_kind=always(SCALAR),
    keywords={"axis": None},
)
template_rule(
    np.full_like,
    ("x", "y"),
    jvp=[None, "np.full_like(x, dy)"],
    vjp=[None, "np.sum(g)"],
    namespace=namespace,
)

nondifferentiable(
    np.sign,
    np.floor,
    np.ceil,
    np.round,
    np.rint,
    np.trunc,
    np.shape,
    np.size,
    np.ndim,
    np.zeros_like,
    np.ones_like,
    np.empty_like,
    np.zeros,
    np.ones,
    np.argmax,
    np.argmin,
    np.argsort,
)

_RANDOM_DRAWS = ("normal", "uniform", "standard_normal", "rand", "randn", "random", "randint")
_draws = [getattr(np.random, name) for name in _RANDOM_DRAWS]
nondifferentiable(*_draws)
impure(*_draws)
