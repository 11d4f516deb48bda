"""Rules for NumPy functions.

Elementwise functions are one line each: the partial derivative with respect
to each argument, written with NumPy names (``cos`` is ``np.cos``), the
arguments ``x``, ``y`` and the result ``out``.  Linear functions (sums,
products, which are linear in each factor) are one line each too: the call,
whose JVP is the same call on the tangent, and the VJP.  Other reductions and
structural functions have explicit JVP/VJP template pairs.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .. import runtime
from ..runtime import arrays, linalg
from ..runtime import shape_ops as shapes
from .core import (
    LINEAR,
    NOT_CONSTANT,
    fixed,
    impure,
    linear_rule,
    nondifferentiable,
    only,
    scalar_rule,
    template_rule,
    variadic_rule,
)
from .kinds import SCALAR, always, join_kinds


def _public(module) -> dict:
    return {k: v for k, v in vars(module).items() if not k.startswith("_")}


HELPER_MODULES = (runtime, arrays, shapes, linalg)
NAMES = {**vars(np), "np": np, "math": math, "getitem": operator.getitem, "builtin_sum": sum}
for _module in HELPER_MODULES:
    NAMES.update(_public(_module))
NAMES["sign"] = np.sign
namespace = fixed(NAMES)


def register_table(table: dict, names=namespace, **options) -> None:
    """Rules from ``fn: (parameters, jvp, vjp)`` (see :func:`template_rule`), or from
    ``fn: (call, vjp)`` for a function linear in each parameter with a VJP (see
    :func:`linear_rule`); a lone template is the first parameter's."""

    def per_parameter(templates):
        return [templates] if isinstance(templates, str) else list(templates)

    for fn, (params, *jvp, vjp) in table.items():
        if jvp:
            jvp = per_parameter(jvp[0])
            template_rule(fn, params, jvp, per_parameter(vjp), namespace=names, **options)
        else:
            linear_rule(fn, params, per_parameter(vjp), namespace=names, **options)


ELEMENTWISE = {
    np.add: ("1", "1"),
    np.subtract: ("1", "-1"),
    np.multiply: ("y", "x"),
    np.divide: ("1 / y", "-out / y"),
    np.true_divide: ("1 / y", "-out / y"),
    np.negative: ("-1",),
    np.positive: ("1",),
    np.power: ("y * x ** power_exponent(x, y)", "out * log(nonzero_base(x))"),
    np.exp: ("out",),
    np.exp2: ("out * math.log(2)",),
    np.log: ("1 / x",),
    np.log1p: ("1 / (1 + x)",),
    np.expm1: ("out + 1",),
    np.log2: ("1 / (x * math.log(2))",),
    np.log10: ("1 / (x * math.log(10))",),
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
    np.float_power: ("y * float_power(x, power_exponent(x, y))", "out * log(nonzero_base(x))"),
    np.mod: ("1", "-floor(x / y)"),
    np.fmod: ("1", "-trunc(x / y)"),
    np.conjugate: ("1",),  # of real numbers: the identity
    np.copysign: ("copysign(1.0, x * y)", None),  # sign(x) sign(y)
    np.ldexp: ("ldexp(ones_like(x), y)", None),  # x * 2**y, y an integer
}
for fn, partials in ELEMENTWISE.items():
    scalar_rule(fn, *partials, namespace=namespace)
# The pieces of x ** y's derivatives that keep x ** 0 and 0 ** y from 0 * inf: piecewise,
# with the slopes of y - 1 and x.
scalar_rule(runtime.power_exponent, None, "1", namespace=namespace)
scalar_rule(runtime.nonzero_base, "1", namespace=namespace)

# Elementwise functions whose parameters have names of their own.
scalar_rule(
    np.clip,
    "inside(x, a_min, a_max)",
    "1.0 * (x < a_min)",
    "1.0 * (x > a_max)",
    params=("x", "a_min=None", "a_max=None"),
    namespace=namespace,
)
# np.where picks entries: the derivative is picked the same way (in the
# derivative's own dtype, which a 1.0/0.0 mask would turn into float64).
template_rule(
    np.where,
    ("condition", "x", "y"),
    jvp=[None, "where(condition, dx, zeros_like(out))", "where(condition, zeros_like(out), dy)"],
    vjp=[
        None,
        "unbroadcast(where(condition, g, 0.0), x)",
        "unbroadcast(where(condition, 0.0, g), y)",
    ],
    namespace=namespace,
    result_kind=join_kinds,
)

# np.nan_to_num replaces NaN and infinities by constants: the derivative passes where x is finite.
scalar_rule(
    np.nan_to_num,
    "isfinite(x)",
    *(None,) * 4,
    params=("x", "copy=True", "nan=0.0", "posinf=None", "neginf=None"),
    namespace=namespace,
)

# Reductions over an axis (None: all of them).  Sums and means are linear; the VJP
# spreads the cotangent back with `unreduce`.
AXIS = ("x", "axis=None", "keepdims=False")
REDUCE = "axis=axis, keepdims=keepdims"
REDUCTION = {"result_kind": always(SCALAR), "reduction": True}
LINEAR_REDUCTIONS = {
    np.sum: ("np.sum(x, axis=None, keepdims=False)", f"unreduce(g, x, {REDUCE})"),
    np.mean: ("np.mean(x, axis=None, keepdims=False)", f"unreduce_mean(g, x, {REDUCE})"),
}
register_table(LINEAR_REDUCTIONS, **REDUCTION)
EXTREMUM_WEIGHTS = f"extremum_weights(x, out, {REDUCE})"
REDUCTIONS = {
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
# Extremes and NaN-ignoring reductions: NaN entries get no derivative.
PEAK = f"extremum_weights(x, np.max(x, {REDUCE}), {REDUCE})"
TROUGH = f"extremum_weights(x, np.min(x, {REDUCE}), {REDUCE})"
REDUCTIONS[np.ptp] = (
    f"np.sum(dx * ({PEAK} - {TROUGH}), {REDUCE})",
    f"unreduce(g, x, {REDUCE}) * ({PEAK} - {TROUGH})",
)
NAN_AS_1 = "where(isnan(x), 1.0, x)"
REDUCTIONS.update(
    {
        np.nansum: (
            f"np.sum(where(isnan(x), 0.0, dx), {REDUCE})",
            f"where(isnan(x), 0.0, unreduce(g, x, {REDUCE}))",
        ),
        np.nanmean: (
            f"np.nanmean(where(isnan(x), nan, dx), {REDUCE})",
            f"nanmean_vjp(g, x, {REDUCE})",
        ),
        np.nanprod: (
            f"np.sum(where(isnan(x), 0.0, dx) * prod_others({NAN_AS_1}, axis=axis), {REDUCE})",
            f"where(isnan(x), 0.0, unreduce(g, x, {REDUCE}) * prod_others({NAN_AS_1}, axis=axis))",
        ),
        # NaN never equals the extreme, so the weights of max and min skip it.
        np.nanmax: REDUCTIONS[np.max],
        np.nanmin: REDUCTIONS[np.min],
    }
)
for fn, (jvp, vjp) in REDUCTIONS.items():
    template_rule(fn, AXIS, jvp=[jvp], vjp=[vjp], namespace=namespace, **REDUCTION)

# Variances and standard deviations (std = sqrt(var)), NaN-ignoring or not.
VARIANCE = ("x", "axis=None", "ddof=0", "keepdims=False")
MOMENTS = "axis=axis, ddof=ddof, keepdims=keepdims"
VARIANCES = {}
for prefix, (var, std) in {"": (np.var, np.std), "nan": (np.nanvar, np.nanstd)}.items():
    VARIANCES[var] = (f"{prefix}var_jvp(dx, x, {MOMENTS})", f"{prefix}var_vjp(g, x, {MOMENTS})")
    VARIANCES[std] = (
        f"{prefix}var_jvp(dx, x, {MOMENTS}) / (2 * out)",
        f"{prefix}var_vjp(g / (2 * out), x, {MOMENTS})",
    )
for fn, (jvp, vjp) in VARIANCES.items():
    template_rule(fn, VARIANCE, jvp=[jvp], vjp=[vjp], namespace=namespace, **REDUCTION)
template_rule(
    np.average,
    ("a", "axis=None", "weights=None", "returned=False", "keepdims=False"),
    jvp=[
        "np.average(da, axis, weights, keepdims=keepdims)",
        None,
        "average_jvp_weights(dweights, a, axis, weights, out, keepdims=keepdims)",
    ],
    vjp=[
        "average_vjp_a(g, a, axis, weights, keepdims=keepdims)",
        None,
        "average_vjp_weights(g, a, axis, weights, out, keepdims=keepdims)",
    ],
    namespace=namespace,
    result_kind=always(SCALAR),
    reduction=True,
    accepts=only(returned=False),
)

# Cumulative sums and products along an axis (None: the flattened array).
ALONG = ("x", "axis=None")
CUMULATIVE = {
    np.cumsum: ("np.cumsum(x, axis=None)", "cumsum_vjp(g, x, axis=axis)"),
    np.cumprod: (ALONG, "cumprod_jvp(dx, x, axis=axis)", "cumprod_vjp(g, x, axis=axis)"),
    np.nancumsum: (
        ALONG,
        "np.cumsum(where(isnan(x), 0.0, dx), axis=axis)",
        "where(isnan(x), 0.0, cumsum_vjp(g, x, axis=axis))",
    ),
    np.nancumprod: (
        ALONG,
        f"cumprod_jvp(where(isnan(x), 0.0, dx), {NAN_AS_1}, axis=axis)",
        f"where(isnan(x), 0.0, cumprod_vjp(g, {NAN_AS_1}, axis=axis))",
    ),
}
register_table(CUMULATIVE)
if hasattr(np, "cumulative_sum"):  # NumPy 2.1: an initial 0 (or 1) may lead the result
    INITIAL = "axis=axis, include_initial=include_initial"
    register_table(
        {
            np.cumulative_sum: (
                "np.cumulative_sum(x, axis=None, include_initial=False)",
                f"cumulative_vjp(g, x, {INITIAL})",
            ),
            np.cumulative_prod: (
                ("x", "axis=None", "include_initial=False"),
                f"cumulative_prod_jvp(dx, x, {INITIAL})",
                f"cumulative_vjp(g, x, {INITIAL}, prod=True)",
            ),
        }
    )
linear_rule(
    np.trace,
    "np.trace(x, offset=0)",
    ["trace_vjp(g, x, offset=offset)"],
    namespace=namespace,
    result_kind=always(SCALAR),
)
register_table(
    {
        np.full_like: ("np.full_like(x, y)", [None, "np.sum(g)"]),
        # x.astype(dtype) between float types: the derivative changes type the same way.
        runtime.astype: ("astype(x, dtype)", "unbroadcast(g, x)"),
    }
)

# Products: linear in each factor.
PRODUCTS = {
    np.matmul: ("matmul(x, y)", ["matmul_vjp_x(g, x, y)", "matmul_vjp_y(g, x, y)"]),
    operator.matmul: (  # an operator, not a call: its JVPs are written out
        ("x", "y"),
        ["dx @ y", "x @ dy"],
        ["matmul_vjp_x(g, x, y)", "matmul_vjp_y(g, x, y)"],
    ),
    np.dot: ("np.dot(x, y)", ["dot_vjp_x(g, x, y)", "dot_vjp_y(g, x, y)"]),
    np.inner: ("np.inner(x, y)", ["inner_vjp_x(g, x, y)", "inner_vjp_y(g, x, y)"]),
    np.outer: (
        "np.outer(x, y)",
        ["np.reshape(g @ np.ravel(y), np.shape(x))", "np.reshape(np.ravel(x) @ g, np.shape(y))"],
    ),
    np.vdot: (
        "np.vdot(x, y)",
        ["g * np.reshape(y, np.shape(x))", "g * np.reshape(x, np.shape(y))"],
    ),
    np.kron: ("np.kron(x, y)", ["kron_vjp_x(g, x, y)", "kron_vjp_y(g, x, y)"]),
    np.tensordot: (
        "np.tensordot(x, y, axes=2)",
        ["tensordot_vjp_x(g, x, y, axes=axes)", "tensordot_vjp_y(g, x, y, axes=axes)"],
    ),
}
register_table(PRODUCTS)


def _einsum_rule(positional: int) -> tuple:
    """``np.einsum(subscripts, a, b)``: linear in each operand."""
    operands = ", ".join(f"operand{k}" for k in range(positional - 1))
    vjp = [f"einsum_vjp(g, subscripts, {k}, {operands})" for k in range(positional - 1)]
    return f"np.einsum(subscripts, {operands})", [None] + [LINEAR] * len(vjp), [None, *vjp]


def _einsum_accepts(constants) -> str:
    subscripts = constants["subscripts"]
    if subscripts is not NOT_CONSTANT and isinstance(subscripts, str):
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


# More products.  np.convolve and np.correlate are bilinear in 1-D arrays,
# np.cross in 3-vectors; np.vecdot, np.matvec and np.vecmat (NumPy 2) broadcast.
for fn, mode in ((np.convolve, "full"), (np.correlate, "valid")):
    name = fn.__name__
    linear_rule(
        fn,
        f"np.{name}(a, v, mode={mode!r})",
        [f"{name}_vjp(g, a, v, mode=mode)", f"{name}_vjp(g, a, v, mode=mode, position=1)"],
        namespace=namespace,
    )
template_rule(
    np.cross,
    ("a", "b", "axisa=-1", "axisb=-1", "axisc=-1", "axis=None"),
    jvp=["np.cross(da, b, axis=axis)", "np.cross(a, db, axis=axis)"],
    vjp=["cross_vjp(g, a, b, axis=axis)", "cross_vjp(g, a, b, axis=axis, position=1)"],
    namespace=namespace,
    accepts=only(axisa=-1, axisb=-1, axisc=-1),
)
if hasattr(np, "vecdot"):  # NumPy 2
    linear_rule(
        np.vecdot,
        "np.vecdot(x1, x2, axis=-1)",
        ["vecdot_vjp(g, x1, x2, axis=axis)", "vecdot_vjp(g, x2, x1, axis=axis)"],
        namespace=namespace,
    )
if hasattr(np, "matvec"):  # NumPy 2.2
    MATRIX_VECTOR = {
        np.matvec: (
            "np.matvec(x1, x2)",
            ["unbroadcast(outer_last(g, x2), x1)", "unbroadcast(np.vecmat(g, x1), x2)"],
        ),
        np.vecmat: (
            "np.vecmat(x1, x2)",
            ["unbroadcast(np.matvec(x2, g), x1)", "unbroadcast(outer_last(x1, g), x2)"],
        ),
    }
    register_table(MATRIX_VECTOR)
# np.trapezoid, linear in the samples y: its parameter `dx` (the spacing) is also
# the name of x's tangent; x's JVP template reads the tangent, and NumPy ignores
# `dx` when x is given, so the two never meet.
if hasattr(np, "trapezoid"):  # NumPy 2
    template_rule(
        np.trapezoid,
        "np.trapezoid(y, x=None, dx=1.0, axis=-1, /)",
        jvp=[LINEAR, "trapezoid_jvp_x(dx, y, x, axis)"],
        vjp=["trapezoid_vjp_y(g, y, x, dx, axis)", "trapezoid_vjp_x(g, y, x, axis)"],
        namespace=namespace,
        result_kind=always(SCALAR),
    )

# Arrays made from differentiable numbers: samples between two ends, a fill value.
template_rule(
    np.linspace,
    ("start", "stop", "num=50", "endpoint=True", "retstep=False", "dtype=None", "axis=0"),
    jvp=[
        "np.linspace(dstart, zeros_like(stop), num, endpoint, axis=axis)",
        "np.linspace(zeros_like(start), dstop, num, endpoint, axis=axis)",
    ],
    vjp=[
        "linspace_vjp(g, start, stop, num, endpoint, axis)",
        "linspace_vjp(g, start, stop, num, endpoint, axis, position=1)",
    ],
    namespace=namespace,
    accepts=only(retstep=False, dtype=None),
)
template_rule(
    np.full,
    ("shape", "fill_value", "dtype=None"),
    jvp=[None, "np.full(shape, dfill_value)"],
    vjp=[None, "unbroadcast(g, fill_value)"],
    namespace=namespace,
    accepts=only(dtype=None),
)

# The helpers above, as they appear in emitted code, so that it can be
# differentiated again.  Each is linear in the cotangent ``v`` it spreads
# (``g`` is the name of the cotangent in VJP templates); the weights and
# masks are piecewise constant.
HELPERS = {
    arrays.unreduce: ("unreduce(v, x, axis=None, keepdims=False)", f"np.sum(g, {REDUCE})"),
    arrays.unreduce_mean: (
        "unreduce_mean(v, x, axis=None, keepdims=False)",
        f"np.mean(g, {REDUCE})",
    ),
    arrays.cumsum_vjp: ("cumsum_vjp(v, x, axis=None)", "np.cumsum(g, axis=axis)"),
    arrays.trace_vjp: ("trace_vjp(v, x, offset=0)", "np.trace(g, offset=offset)"),
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
nondifferentiable(*_draws, np.random.default_rng)
impure(*_draws)
impure(runtime.call_method)  # methods without rules, such as rng.normal(), may draw

# Attributes and methods of arrays, as the NumPy functions they stand for.
# ``x.flat`` reads as ``np.ravel(x)``: the same items, by the same flat positions.
ARRAY_ATTRIBUTES = {"T": np.transpose, "real": np.real, "imag": np.imag, "flat": np.ravel}
ARRAY_METHODS = {
    name: getattr(np, name)
    for name in (
        "sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod", "trace", "dot",
        "reshape", "ravel", "transpose", "swapaxes", "squeeze", "clip", "diagonal",
        "copy", "repeat", "round", "argmax", "argmin", "argsort", "all", "any", "take",
        "conj", "conjugate",
    )
}  # fmt: skip
ARRAY_METHODS.update(flatten=np.ravel, astype=runtime.astype)
