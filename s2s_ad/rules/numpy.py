"""Rules for NumPy functions.

Elementwise functions are one line each: the partial derivative with respect
to each argument, written with NumPy names (``cos`` is ``np.cos``), the
arguments ``x``, ``y`` and the result ``out``.  Reductions and other
structural functions have explicit JVP/VJP template pairs.
"""

from __future__ import annotations

import operator

import numpy as np

from .. import arrays, ir, linalg, runtime, shapes
from . import (
    SCALAR,
    always,
    fixed,
    impure,
    nondifferentiable,
    scalar_rule,
    template_rule,
    variadic_rule,
)


def _public(module) -> dict:
    return {k: v for k, v in vars(module).items() if not k.startswith("_")}


HELPER_MODULES = (runtime, arrays, shapes, linalg)
NAMES = {**vars(np), "np": np}
for _module in HELPER_MODULES:
    NAMES.update(_public(_module))
NAMES["sign"] = np.sign
namespace = fixed(NAMES)


def register_table(table: dict, names=namespace) -> None:
    """Rules from ``fn: (parameters, jvp, vjp)``; a lone template is the first parameter's."""

    def per_parameter(templates):
        return [templates] if isinstance(templates, str) else list(templates)

    for fn, (params, jvp, vjp) in table.items():
        template_rule(fn, params, per_parameter(jvp), per_parameter(vjp), namespace=names)


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
    np.cbrt: ("1 / (3 * out ** 2)",),
    np.sinc: ("sinc_derivative(x, out)",),
    np.logaddexp: ("exp(x - out)", "exp(y - out)"),
    np.logaddexp2: ("2 ** (x - out)", "2 ** (y - out)"),
    np.maximum: ("wins(x, y)", "wins(y, x)"),
    np.minimum: ("wins(y, x)", "wins(x, y)"),
    np.fmax: ("wins(x, y)", "wins(y, x)"),
    np.fmin: ("wins(y, x)", "wins(x, y)"),
    np.deg2rad: ("pi / 180",),
    np.radians: ("pi / 180",),
    np.rad2deg: ("180 / pi",),
    np.degrees: ("180 / pi",),
    np.float_power: ("y * float_power(x, y - 1)", "out * log(x)"),
    np.mod: ("1", "-floor(x / y)"),
    np.fmod: ("1", "-trunc(x / y)"),
}
for fn, partials in ELEMENTWISE.items():
    scalar_rule(fn, *partials, namespace=namespace)

# Elementwise functions whose parameters have names of their own.
scalar_rule(
    np.clip,
    "inside(x, a_min, a_max)",
    "1.0 * (x < a_min)",
    "1.0 * (x > a_max)",
    params=("x", "a_min=None", "a_max=None"),
    namespace=namespace,
)
scalar_rule(
    np.where,
    None,
    "where(condition, 1.0, 0.0)",
    "where(condition, 0.0, 1.0)",
    params=("condition", "x", "y"),
    namespace=namespace,
)

# Reductions over an axis (None: all of them).  The JVP reduces the tangent
# the same way; the VJP spreads the cotangent back with `unreduce`.
AXIS = ("x", "axis=None", "keepdims=False")
REDUCE = "axis=axis, keepdims=keepdims"
EXTREMUM_WEIGHTS = f"extremum_weights(x, out, {REDUCE})"
REDUCTIONS = {
    np.sum: (f"np.sum(dx, {REDUCE})", f"unreduce(g, x, {REDUCE})"),
    np.mean: (
        f"np.mean(dx, {REDUCE})",
        f"unreduce_mean(g, x, {REDUCE})",
    ),
    np.prod: (
        f"np.sum(dx * prod_others(x, axis=axis), {REDUCE})",
        f"unreduce(g, x, {REDUCE}) * prod_others(x, axis=axis)",
    ),
}
for fn in (np.max, np.amax, np.min, np.amin):
    REDUCTIONS[fn] = (
        f"np.sum(dx * {EXTREMUM_WEIGHTS}, {REDUCE})",
        f"unreduce(g, x, {REDUCE}) * {EXTREMUM_WEIGHTS}",
    )
for fn, (jvp, vjp) in REDUCTIONS.items():
    template_rule(
        fn,
        AXIS,
        jvp=[jvp],
        vjp=[vjp],
        namespace=namespace,
        result_kind=always(SCALAR),
        reduction=True,
    )

VARIANCE = ("x", "axis=None", "ddof=0", "keepdims=False")
MOMENTS = "axis=axis, ddof=ddof, keepdims=keepdims"
template_rule(
    np.var,
    VARIANCE,
    jvp=[f"var_jvp(dx, x, {MOMENTS})"],
    vjp=[f"var_vjp(g, x, {MOMENTS})"],
    namespace=namespace,
    result_kind=always(SCALAR),
    reduction=True,
)
template_rule(
    np.std,
    VARIANCE,
    jvp=[f"var_jvp(dx, x, {MOMENTS}) / (2 * out)"],
    vjp=[f"var_vjp(g / (2 * out), x, {MOMENTS})"],
    namespace=namespace,
    result_kind=always(SCALAR),
    reduction=True,
)
template_rule(
    np.cumsum,
    ("x", "axis=None"),
    jvp=["np.cumsum(dx, axis=axis)"],
    vjp=["cumsum_vjp(g, x, axis=axis)"],
    namespace=namespace,
)
template_rule(
    np.trace,
    ("x", "offset=0"),
    jvp=["np.trace(dx, offset=offset)"],
    vjp=["trace_vjp(g, x, offset=offset)"],
    namespace=namespace,
    result_kind=always(SCALAR),
)
template_rule(
    np.full_like,
    ("x", "y"),
    jvp=[None, "np.full_like(x, dy)"],
    vjp=[None, "np.sum(g)"],
    namespace=namespace,
)

# x.astype(dtype) between float types: the derivative changes type the same way.
template_rule(
    runtime.astype,
    ("x", "dtype"),
    jvp=["astype(dx, dtype)"],
    vjp=["unbroadcast(g, x)"],
    namespace=namespace,
)

# Products: bilinear, so each JVP replaces one factor by its tangent.
PRODUCTS = {
    np.matmul: ("matmul(dx, y)", "matmul(x, dy)", "matmul_vjp_x(g, x, y)", "matmul_vjp_y(g, x, y)"),
    operator.matmul: ("dx @ y", "x @ dy", "matmul_vjp_x(g, x, y)", "matmul_vjp_y(g, x, y)"),
    np.dot: ("np.dot(dx, y)", "np.dot(x, dy)", "dot_vjp_x(g, x, y)", "dot_vjp_y(g, x, y)"),
    np.inner: (
        "np.inner(dx, y)",
        "np.inner(x, dy)",
        "inner_vjp_x(g, x, y)",
        "inner_vjp_y(g, x, y)",
    ),
    np.outer: (
        "np.outer(dx, y)",
        "np.outer(x, dy)",
        "np.reshape(g @ np.ravel(y), np.shape(x))",
        "np.reshape(np.ravel(x) @ g, np.shape(y))",
    ),
    np.vdot: (
        "np.vdot(dx, y)",
        "np.vdot(x, dy)",
        "g * np.reshape(y, np.shape(x))",
        "g * np.reshape(x, np.shape(y))",
    ),
    np.kron: ("np.kron(dx, y)", "np.kron(x, dy)", "kron_vjp_x(g, x, y)", "kron_vjp_y(g, x, y)"),
}
for fn, (jvp_x, jvp_y, vjp_x, vjp_y) in PRODUCTS.items():
    template_rule(fn, ("x", "y"), jvp=[jvp_x, jvp_y], vjp=[vjp_x, vjp_y], namespace=namespace)
template_rule(
    np.tensordot,
    ("x", "y", "axes=2"),
    jvp=["np.tensordot(dx, y, axes=axes)", "np.tensordot(x, dy, axes=axes)"],
    vjp=["tensordot_vjp_x(g, x, y, axes=axes)", "tensordot_vjp_y(g, x, y, axes=axes)"],
    namespace=namespace,
)


def _einsum_rule(positional: int) -> tuple:
    """``np.einsum(subscripts, a, b)``: the JVP replaces one operand by its tangent."""
    operands = [f"operand{k}" for k in range(positional - 1)]

    def replaced(k: int) -> str:
        return ", ".join("d" + op if i == k else op for i, op in enumerate(operands))

    jvp = [None] + [f"np.einsum(subscripts, {replaced(k)})" for k in range(len(operands))]
    vjp = [None] + [
        f"einsum_vjp(g, subscripts, {k}, {', '.join(operands)})" for k in range(len(operands))
    ]
    return ("subscripts", *operands), jvp, vjp


def _einsum_accepts(args) -> str:
    subscripts = args[0] if args else None
    if isinstance(subscripts, ir.Const) and isinstance(subscripts.value, str):
        return None
    return 'its subscripts must be a string written in the call ("ij,jk->ik")'


variadic_rule(
    np.einsum,
    (
        ("subscripts", "*operands"),
        [None, "np.einsum(subscripts, ..., doperand_k, ...)"],
        [None, "einsum_vjp(g, subscripts, k, *operands)"],
    ),
    _einsum_rule,
    namespace=namespace,
    accepts=_einsum_accepts,
)


# The helpers above, as they appear in emitted code, so that it can be
# differentiated again.  Each is linear in the cotangent ``v`` it spreads
# (``g`` is the name of the cotangent in VJP templates); the weights and
# masks are piecewise constant.
AXIS_OF_V = ("v", "x", "axis=None", "keepdims=False")
HELPERS = {
    arrays.unreduce: (AXIS_OF_V, f"unreduce(dv, x, {REDUCE})", f"np.sum(g, {REDUCE})"),
    arrays.unreduce_mean: (AXIS_OF_V, f"unreduce_mean(dv, x, {REDUCE})", f"np.mean(g, {REDUCE})"),
    arrays.cumsum_vjp: (
        ("v", "x", "axis=None"),
        "cumsum_vjp(dv, x, axis=axis)",
        "np.cumsum(g, axis=axis)",
    ),
    arrays.trace_vjp: (
        ("v", "x", "offset=0"),
        "trace_vjp(dv, x, offset=offset)",
        "np.trace(g, offset=offset)",
    ),
}
register_table(HELPERS)
nondifferentiable(
    arrays.reduced_size,
    arrays.extremum_weights,
    arrays.inside,
    arrays.wins,
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
    np.all,
    np.any,
    np.isnan,
    np.isfinite,
    np.isinf,
    np.equal,
    np.not_equal,
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
    np.logical_and,
    np.logical_or,
    np.logical_not,
    np.isclose,
    np.allclose,
    np.floor_divide,
    np.heaviside,
    np.count_nonzero,
    np.nonzero,
    np.searchsorted,
    np.eye,
    np.identity,
    np.empty,
)

_RANDOM_DRAWS = ("normal", "uniform", "standard_normal", "rand", "randn", "random", "randint")
_draws = [getattr(np.random, name) for name in _RANDOM_DRAWS]
nondifferentiable(*_draws)
impure(*_draws)
