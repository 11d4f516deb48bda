"""Rules for complex numbers: the functions that are not holomorphic.

Holomorphic functions need no rules of their own: in JAX's convention, which s2s_ad
follows (``docs/complex.md``), the cotangent of a holomorphic ``f`` is ``g * f'(z)``, so
the partial derivatives of :mod:`.numpy` and :mod:`.python` (``np.exp: "out"``) hold for
complex arguments as written.  The functions here are only R-linear or not even that:
``np.real``, ``np.imag``, ``np.conjugate``, ``np.angle``, ``abs`` and ``complex(a, b)``.
A cotangent of a real result pairs with the real part only (``real_part(g)``), and a
real argument gets a real cotangent (``real_like``).  Products whose transposes would give
a real factor a complex cotangent, or that conjugate a factor (``np.vdot``, ``np.vecdot``,
``np.vecmat``), are restated here; so are the rules of the helpers, for second
derivatives, and the :mod:`cmath` functions, from their NumPy namesakes' partials.
"""

from __future__ import annotations

import builtins
import cmath
import math
import operator

import numpy as np

from ..runtime import arrays, complex_numbers
from ..runtime import shape_ops as runtime_shapes
from . import fft
from .core import (
    LINEAR,
    Template,
    complex_counterpart,
    complex_hint,
    deterministic_check,
    fixed,
    impure,
    lookup,
    nondifferentiable,
    produces_complex,
    real_only_constant,
    refused,
    scalar_rule,
    template_rule,
    verified_on_complex,
)
from .kinds import UNKNOWN, always
from .numpy import ELEMENTWISE, NAMES, register_table
from .python import by_kind
from .shape_ops import JOINS, SELECTIONS, SHAPE_OPS  # first: its np.real is replaced here

COMPLEX_NAMES = {**NAMES, **{k: v for k, v in vars(complex_numbers).items() if k[0] != "_"}}
namespace = fixed(COMPLEX_NAMES)

register_table(
    {
        np.real: ("np.real(x)", "real_like(real_part(g), x)"),
        np.imag: ("np.imag(x)", "real_like(-1j * real_part(g), x)"),
        np.conjugate: ("np.conjugate(x)", "real_like(np.conjugate(g), x)"),
    },
    namespace,
)
template_rule(
    np.angle,
    ("z", "deg=False"),
    jvp=["angle_jvp(dz, z, deg)"],
    vjp=["real_like(angle_vjp(g, z, deg), z)"],
    namespace=namespace,
)
template_rule(
    builtins.complex,
    ("real=0.0", "imag=0.0"),
    jvp=["dreal + 0j", "1j * dimag"],
    vjp=["complex_vjp_real(g)", "complex_vjp_imag(g)"],
    namespace=namespace,
)
# Products whose VJPs make a real factor's cotangent complex, or that conjugate a factor
# (np.vdot, np.vecdot, np.vecmat): restated for complex factors.
register_table(
    {
        np.outer: (
            "np.outer(x, y)",
            [
                "real_like(np.reshape(g @ np.ravel(y), np.shape(x)), x)",
                "real_like(np.reshape(np.ravel(x) @ g, np.shape(y)), y)",
            ],
        ),
        np.vdot: (
            "np.vdot(x, y)",
            [
                "real_like(np.conjugate(g * np.reshape(y, np.shape(x))), x)",
                "real_like(g * np.reshape(np.conjugate(x), np.shape(y)), y)",
            ],
        ),
    },
    namespace,
)
if hasattr(np, "vecdot"):  # NumPy 2: sum(conj(x1) * x2) over an axis
    register_table(
        {
            np.vecdot: (
                "np.vecdot(x1, x2, axis=-1)",
                [
                    "np.conjugate(vecdot_vjp(g, x1, x2, axis=axis))",
                    "vecdot_vjp(g, x2, np.conjugate(x1), axis=axis)",
                ],
            )
        },
        namespace,
    )
if hasattr(np, "matvec"):  # NumPy 2.2: np.vecmat conjugates its vector, np.matvec does not
    register_table(
        {
            np.matvec: (
                "np.matvec(x1, x2)",
                [
                    "real_like(unbroadcast(outer_last(g, x2), x1), x1)",
                    "real_like(unbroadcast(np.matvec(np.matrix_transpose(x1), g), x2), x2)",
                ],
            ),
            np.vecmat: (
                "np.vecmat(x1, x2)",
                [
                    "real_like(unbroadcast(np.conjugate(np.matvec(x2, g)), x1), x1)",
                    "real_like(unbroadcast(outer_last(np.conjugate(x1), g), x2), x2)",
                ],
            ),
        },
        namespace,
    )
# Linear in the coefficients p, smooth in x (its only rule: a real x gets a real cotangent).
template_rule(
    np.polyval,
    "np.polyval(p, x)",
    jvp=[LINEAR, "dx * polyval_slope(p, x)"],
    vjp=["polyval_vjp_p(g, p, x)", "real_like(g * polyval_slope(p, x), x)"],
    namespace=namespace,
)


def _with_complex_abs(fn, names) -> None:
    """``fn``'s rule (``abs``), with templates that also fit complex arguments; its
    partial derivative ``sign(x)`` stays, for Taylor mode (real series only)."""
    rule = lookup(fn)
    rule.jvp = (Template.parse("abs_jvp(dx, x)"),)
    rule.vjp = (Template.parse("abs_vjp(g, x)"),)
    rule.namespace = names


HELPERS = {k: v for k, v in COMPLEX_NAMES.items() if k in ("abs_jvp", "abs_vjp")}
_with_complex_abs(np.abs, namespace)
_with_complex_abs(builtins.abs, lambda scalar: {**by_kind(scalar), **HELPERS})

# The helpers above, so that emitted derivatives can be differentiated again.  Each is
# linear in its first argument; ``unit_jvp`` gives the change of abs's slope.
THIRD_ORDER = refused(
    "third derivatives through abs are not supported", "write abs(z) as sqrt(z.real**2 + z.imag**2)"
)
template_rule(
    complex_numbers.abs_jvp,
    "abs_jvp(v, x)",
    jvp=[LINEAR, "real_part(unit_jvp(dx, x) * v)"],
    vjp=["real_like(abs_vjp(g, x), v)", "unit_vjp(real_part(g) * v, x)"],
    namespace=namespace,
)
template_rule(
    complex_numbers.abs_vjp,
    "abs_vjp(v, x)",
    jvp=[LINEAR, "real_part(v) * unit_jvp(dx, x)"],
    vjp=["real_like(abs_jvp(g, x), v)", "unit_vjp(g * real_part(v), x)"],
    namespace=namespace,
)
for _helper, _transpose in (("unit_jvp", "unit_vjp"), ("unit_vjp", "unit_jvp")):
    template_rule(
        getattr(complex_numbers, _helper),
        f"{_helper}(v, x)",
        jvp=[LINEAR, THIRD_ORDER],
        vjp=[f"real_like({_transpose}(g, x), v)", THIRD_ORDER],
        namespace=namespace,
    )
register_table(
    {
        complex_numbers.real_part: ("real_part(v)", "real_like(real_part(g), v)"),
        complex_numbers.real_like: ("real_like(v, x)", "real_like(real_like(g, x), v)"),
        complex_numbers.complex_vjp_real: ("complex_vjp_real(v)", "real_like(real_part(g), v)"),
        complex_numbers.complex_vjp_imag: (
            "complex_vjp_imag(v)",
            "real_like(1j * real_part(g), v)",
        ),
    },
    namespace,
)
ANGLE_CURVATURE = refused("second derivatives through np.angle are not supported")
template_rule(
    complex_numbers.angle_jvp,
    "angle_jvp(v, x, deg=False)",
    jvp=[LINEAR, ANGLE_CURVATURE],
    vjp=["real_like(angle_vjp(g, x, deg), v)", ANGLE_CURVATURE],
    namespace=namespace,
)
template_rule(
    complex_numbers.angle_vjp,
    "angle_vjp(v, x, deg=False)",
    jvp=[LINEAR, ANGLE_CURVATURE],
    vjp=["real_like(angle_jvp(g, x, deg), v)", ANGLE_CURVATURE],
    namespace=namespace,
)

# cmath, on Python complex numbers: the partial derivatives of the NumPy namesakes, with
# cmath's functions for the names in them.  The result is complex whatever the argument.
CMATH_NAMESAKES = {
    cmath.exp: np.exp,
    cmath.sqrt: np.sqrt,
    cmath.log10: np.log10,
    cmath.sin: np.sin,
    cmath.cos: np.cos,
    cmath.tan: np.tan,
    cmath.asin: np.arcsin,
    cmath.acos: np.arccos,
    cmath.atan: np.arctan,
    cmath.sinh: np.sinh,
    cmath.cosh: np.cosh,
    cmath.tanh: np.tanh,
    cmath.asinh: np.arcsinh,
    cmath.acosh: np.arccosh,
    cmath.atanh: np.arctanh,
}
CMATH_NAMES = {**vars(cmath), "math": math, "np": np}
for _fn, _namesake in CMATH_NAMESAKES.items():
    scalar_rule(
        _fn, *ELEMENTWISE[_namesake], namespace=fixed(CMATH_NAMES), result_kind=always(UNKNOWN)
    )
scalar_rule(  # cmath.log(z), without a base
    cmath.log, "1 / x", namespace=fixed(CMATH_NAMES), result_kind=always(UNKNOWN)
)
template_rule(
    cmath.phase,
    ("x",),
    jvp=["angle_jvp(dx, x)"],
    vjp=["real_like(angle_vjp(g, x), x)"],
    namespace=namespace,
    result_kind=always(UNKNOWN),
)

# np.sign(z) = z / |z| for complex z (NumPy 2), whose change is (dz - sign(z) d|z|) / |z|:
# 0 for real z (sign(z) ** 2 is 1), and taken as 0 at 0, where there is none.  Written with
# abs's helpers, it has second derivatives.
NONZERO_MODULUS = "(np.abs(x) + (x == 0))"
template_rule(
    complex_numbers.sign_of,
    ("x",),
    jvp=[f"where(x == 0, 0.0, (dx - out * abs_jvp(dx, x)) / {NONZERO_MODULUS})"],
    vjp=[f"real_like(where(x == 0, 0.0, (g - abs_vjp(g * out, x)) / {NONZERO_MODULUS}), x)"],
    namespace=namespace,
)

# ------------------------------------------------- which rules hold for complex values
# An allowlist (``verified_on_complex``): every other rule refuses complex values where they
# reach it, at the user's line (``runtime.complex_numbers.require_real``, placed by
# ``compiler/complex_guard.py`` where complex values may occur), instead of returning the
# derivative of a real rule.  Each listed function has a case in
# ``tests/rules/test_rules_complex.py`` or is one of a family checked there.
HOLOMORPHIC = [np.add, np.subtract, np.multiply, np.divide, np.true_divide, np.negative]
HOLOMORPHIC += [np.positive, np.power, np.float_power, np.exp, np.exp2, np.expm1, np.log]
HOLOMORPHIC += [np.log1p, np.log2, np.log10, np.sqrt, np.square, np.reciprocal, np.sin, np.cos]
HOLOMORPHIC += [np.tan, np.arcsin, np.arccos, np.arctan, np.sinh, np.cosh, np.tanh, np.arcsinh]
HOLOMORPHIC += [np.arctanh, builtins.pow]
# Not np.arccosh nor cmath.acosh: their partial 1 / sqrt(x ** 2 - 1) has the wrong sign for
# complex x with a negative real part (it is 1 / (sqrt(x - 1) * sqrt(x + 1)) there).
ACOSH = "For complex z, arccosh(z) = log(z + sqrt(z - 1) * sqrt(z + 1)): write that"
HOLOMORPHIC += [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]
HOLOMORPHIC += [operator.neg, operator.pos]
# Sums and products of entries, with real coefficients or none: linear or multilinear.
PRODUCTS = [np.sum, np.mean, np.prod, np.cumsum, np.cumprod, np.trace, np.matmul, np.dot]
PRODUCTS += [np.inner, np.tensordot, np.kron, np.einsum, np.convolve, np.correlate]
# Moving, copying and joining entries: real coefficients, transposed as for real numbers.
ORDER_BASED = (np.sort, np.partition)  # lexicographic order on complex numbers: refused
ARRANGEMENTS = [fn for fn in (*SHAPE_OPS, *SELECTIONS, *JOINS) if fn not in ORDER_BASED]
ARRANGEMENTS += [np.where, operator.matmul]
ARRANGEMENTS += [  # NumPy 2's np.linalg namesakes
    getattr(np.linalg, name)
    for name in ("matmul", "matrix_transpose", "diagonal", "trace", "tensordot")
    if hasattr(np.linalg, name)
]
# Holomorphic matrix functions (the decompositions' rules are for real matrices).
LINEAR_ALGEBRA = [np.linalg.inv, np.linalg.det, np.linalg.solve, np.linalg.multi_dot]
verified_on_complex(*HOLOMORPHIC, *PRODUCTS, *ARRANGEMENTS, *LINEAR_ALGEBRA, operator.getitem)
# The helpers the derivatives of the functions above call, so that second derivatives
# through them hold too: transposes of arrangements, and products.
SHAPE_HELPERS = runtime_shapes.__name__  # every helper there moves entries: all listed
STRUCTURAL_HELPERS = ["unreduce", "unreduce_mean", "cumsum_vjp", "trace_vjp", "unbroadcast"]
STRUCTURAL_HELPERS += ["expand_like", "copy_of", "owned_copy", "getitem_vjp", "taken", "add_at"]
STRUCTURAL_HELPERS += ["shaped_like"]
STRUCTURAL_HELPERS += ["updated", "appended", "initial", "last", "cleared", "unshared", "at_least"]
STRUCTURAL_HELPERS += ["written_vjp", "unwritten", "as_structure", "sum_vjp", "add", "pick"]
PRODUCT_HELPERS = ["matmul_vjp_x", "matmul_vjp_y", "dot_vjp_x", "dot_vjp_y", "inner_vjp_x"]
PRODUCT_HELPERS += ["inner_vjp_y", "kron_vjp_x", "kron_vjp_y", "tensordot_vjp_x"]
PRODUCT_HELPERS += ["tensordot_vjp_y", "einsum_vjp", "outer_last", "like", "vecdot_vjp"]
PRODUCT_HELPERS += ["convolve_vjp", "correlate_vjp", "prod_others", "prod_partials"]
PRODUCT_HELPERS += ["cumprod_jvp", "cumprod_vjp", "cumprod_derivative", "cumprod_gradient"]
PRODUCT_HELPERS += ["cumulative_prod_jvp", "cumulative_derivative", "cumulative_vjp"]
PRODUCT_HELPERS += ["multi_dot_jvp", "multi_dot_vjp", "multi_dot_derivative", "polyval_slope"]
PRODUCT_HELPERS += ["multi_dot_gradient", "mT", "polyval_vjp_p"]
PRODUCT_HELPERS += ["solve_vjp_a", "solve_vjp_b", "det_jvp", "det_vjp"]
verified_on_complex(*(COMPLEX_NAMES[name] for name in STRUCTURAL_HELPERS + PRODUCT_HELPERS))
verified_on_complex(
    *(f for f in vars(runtime_shapes).values() if getattr(f, "__module__", "") == SHAPE_HELPERS)
)
verified_on_complex(builtins.abs, np.abs, np.absolute, np.real, np.imag, np.conjugate, np.angle)
verified_on_complex(builtins.complex, np.outer, np.vdot, np.polyval, cmath.log, cmath.phase)
verified_on_complex(*(fn for fn in CMATH_NAMESAKES if fn is not cmath.acosh))
verified_on_complex(*fft.TRANSFORMS, *fft.HELPERS)
# The variances of complex values are real, means of |z - mean|^2: their helpers conjugate.
verified_on_complex(np.var, np.std, np.nanvar, np.nanstd)
verified_on_complex(arrays.var_vjp, arrays.var_jvp, arrays.nanvar_vjp, arrays.nanvar_jvp)
verified_on_complex(*(getattr(np, n) for n in ("vecdot", "matvec", "vecmat") if hasattr(np, n)))
verified_on_complex(*(fn for fn in vars(complex_numbers).values() if lookup(fn)))

# Functions that may make complex values of real ones: where they are called, complex
# values may reach any rule.
produces_complex(builtins.complex, *CMATH_NAMESAKES, cmath.log, cmath.rect, *fft.TRANSFORMS)
produces_complex(np.linalg.eig, np.linalg.eigvals, np.emath.sqrt, np.emath.log, np.emath.power)

# Refused on complex values, with what to write instead.
if np.lib.NumpyVersion(np.__version__) >= "2.0.0":  # np.sign(z) = z / |z|
    complex_counterpart(np.sign, complex_numbers.sign_of)
else:  # np.sign(z) is the sign of z.real (or of z.imag where z.real is 0)
    real_only_constant(np.sign, "For complex z, write z / np.abs(z)")
ORDER = "Order complex numbers by a real key you choose: np.real(z), np.abs(z), ..."
for _fn in (np.max, np.amax, np.min, np.amin, np.maximum, np.minimum, np.fmax, np.fmin):
    complex_hint(_fn, ORDER)
for _fn in (np.clip, np.sort, np.partition, np.nanmax, np.nanmin):
    complex_hint(_fn, ORDER)
DECOMPOSITION = "The rules of np.linalg's decompositions and norms are for real matrices"
DECOMPOSITIONS = ["eigh", "eigvalsh", "svd", "svdvals", "qr", "cholesky", "pinv", "lstsq"]
DECOMPOSITIONS += ["slogdet", "norm", "matrix_norm", "vector_norm", "cond", "tensorinv"]
for _name in DECOMPOSITIONS:
    if hasattr(np.linalg, _name):  # svdvals, matrix_norm, vector_norm: NumPy 2
        complex_hint(getattr(np.linalg, _name), DECOMPOSITION)
complex_hint(np.linalg.matrix_power, "For a complex matrix m, write m @ m @ m")
complex_hint(builtins.sum, "Add complex values with + or np.sum")
complex_hint(np.arccosh, ACOSH)
complex_hint(cmath.acosh, ACOSH)

# The check itself runs where it stands, in every sweep, and is never differentiated.
nondifferentiable(complex_numbers.require_real)
impure(complex_numbers.require_real)
deterministic_check(complex_numbers.require_real)
