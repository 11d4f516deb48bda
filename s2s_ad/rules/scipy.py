"""Rules for SciPy (the optional extra ``scipy``): ``scipy.special``, ``scipy.linalg`` and
``scipy.stats.norm``, registered when SciPy can be imported (``s2s_ad.rules`` imports this
module only then; SciPy is never a dependency).

The anchors are autograd's ``autograd.scipy`` and ``jax.scipy``.  Every template is written
with functions that have rules themselves (SciPy's, NumPy's, or the helpers of
:mod:`s2s_ad.runtime.scipy_helpers`, each linear and ruled below with its transpose), so
that the derivative code can be differentiated again: the derivative of ``digamma`` is
``polygamma(1, x)``, that of ``i1`` is written with ``iv``, whose derivative is ``iv`` again;
``expm``'s Fréchet derivative is the upper right block of the exponential of a block
matrix (``[[A, E], [0, A]]``).

``scipy.linalg.cho_factor``, ``cho_solve``, ``lu_factor`` and ``lu_solve`` are not primitives:
:data:`SUBSTITUTES` gives each a definition in Python, which the transform inlines in
place of the call, as it does a user's function (``cho_solve`` is two triangular solves).

>>> import scipy.special
>>> from s2s_ad.rules.core import lookup
>>> lookup(scipy.special.digamma).vjp[0].source
'g * like(x, scipy.special.polygamma(1, x))'
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import scipy
import scipy.linalg
import scipy.special
import scipy.stats

from ..runtime import scipy_helpers as helpers
from ..runtime import scipy_lu
from .core import LINEAR, fixed, nondifferentiable, only, scalar_rule, substitute, template_rule
from .kinds import SCALAR, always
from .numpy import NAMES, REDUCE, register_table

HELPERS_SEEN = {k: v for m in (helpers, scipy_lu) for k, v in vars(m).items() if k[0] != "_"}
namespace = fixed({**NAMES, **HELPERS_SEEN, "scipy": scipy})
special = scipy.special
linalg = scipy.linalg
norm = scipy.stats.norm

# ------------------------------------------------------------------ scipy.special

# Elementwise functions: the partial derivative per argument (None: not differentiable),
# with NumPy's names (exp, sqrt, pi) and SciPy's spelled in full.
SQRT_2PI = "SQRT_2PI"  # Python floats (scipy_helpers): float32 stays float32
SPECIAL = {
    special.erf: ("2 / SQRT_PI * exp(-x ** 2)",),
    special.erfc: ("-2 / SQRT_PI * exp(-x ** 2)",),
    special.erfinv: ("SQRT_PI / 2 * exp(out ** 2)",),
    special.gammaln: ("scipy.special.digamma(x)",),
    # polygamma gives float64 for float32 (SciPy's own): the partial has x's dtype
    special.digamma: ("like(x, scipy.special.polygamma(1, x))",),
    special.expit: ("out * (1 - out)",),
    special.logit: ("1 / (x * (1 - x))",),
    special.xlogy: ("log(y)", "x / y"),
    special.xlog1py: ("log1p(y)", "x / (1 + y)"),
    special.i0: ("scipy.special.i1(x)",),
    special.i1: ("(scipy.special.i0(x) + scipy.special.iv(2, x)) / 2",),
    special.i0e: ("scipy.special.i1e(x) - sign(x) * out",),
    special.i1e: ("(scipy.special.i0e(x) + scipy.special.ive(2, x)) / 2 - sign(x) * out",),
    special.j0: ("-scipy.special.j1(x)",),
    special.j1: ("(scipy.special.j0(x) - scipy.special.jv(2, x)) / 2",),
    special.y0: ("-scipy.special.y1(x)",),
    special.y1: ("(scipy.special.y0(x) - scipy.special.yv(2, x)) / 2",),
    special.betaln: (
        "scipy.special.digamma(x) - scipy.special.digamma(x + y)",
        "scipy.special.digamma(y) - scipy.special.digamma(x + y)",
    ),
    special.ndtr: (f"exp(-x ** 2 / 2) / {SQRT_2PI}",),
    special.ndtri: (f"{SQRT_2PI} * exp(out ** 2 / 2)",),
    special.log_ndtr: (f"exp(-x ** 2 / 2 - out) / {SQRT_2PI}",),
}
# Functions of an order v and x, differentiable in x: the families the derivatives above
# are written in, whose derivatives stay in the family.
ORDERED = {
    special.polygamma: ("n", "scipy.special.polygamma(n + 1, x)"),
    special.iv: ("v", "(scipy.special.iv(v - 1, x) + scipy.special.iv(v + 1, x)) / 2"),
    special.ive: (
        "v",
        "(scipy.special.ive(v - 1, x) + scipy.special.ive(v + 1, x)) / 2 - sign(x) * out",
    ),
    special.jv: ("v", "(scipy.special.jv(v - 1, x) - scipy.special.jv(v + 1, x)) / 2"),
    special.yv: ("v", "(scipy.special.yv(v - 1, x) - scipy.special.yv(v + 1, x)) / 2"),
}
for fn, partials in SPECIAL.items():
    scalar_rule(fn, *partials, namespace=namespace)
for fn, (order, partial) in ORDERED.items():
    scalar_rule(fn, None, partial, params=(order, "x"), namespace=namespace)

# logsumexp over axis with weights b: each term's share of the sum, exp(a - out) (times b).
SPREAD_OUT = "unreduce(out, a, axis, keepdims)"
SHARES = f"np.exp(a - {SPREAD_OUT})"
template_rule(
    special.logsumexp,
    ("a", "axis=None", "b=None", "keepdims=False", "return_sign=False"),
    jvp=[
        f"np.sum(da * one_if_none(b) * {SHARES}, {REDUCE})",
        None,
        f"np.sum(db * {SHARES}, {REDUCE})",
    ],
    vjp=[
        f"unbroadcast(unreduce(g, a, {REDUCE}) * one_if_none(b) * {SHARES}, a)",
        None,
        f"unbroadcast(unreduce(g, a, {REDUCE}) * {SHARES}, b)",
    ],
    namespace=namespace,
    result_kind=always(SCALAR),
    reduction=True,
    accepts=only(return_sign=False),
)
template_rule(
    special.softmax,
    ("x", "axis=None"),
    jvp=["out * (dx - np.sum(out * dx, axis=axis, keepdims=True))"],
    vjp=["out * (g - np.sum(out * g, axis=axis, keepdims=True))"],
    namespace=namespace,
)
template_rule(
    special.log_softmax,
    ("x", "axis=None"),
    jvp=["dx - np.sum(np.exp(out) * dx, axis=axis, keepdims=True)"],
    vjp=["g - np.exp(out) * np.sum(g, axis=axis, keepdims=True)"],
    namespace=namespace,
)

# ------------------------------------------------------------------ scipy.stats.norm

# z = (x - loc) / scale; each partial is written with it.
Z = "((x - loc) / scale)"
NORM_PARAMS = ("x", "loc=0.0", "scale=1.0")
DENSITY = f"exp(-{Z} ** 2 / 2) / ({SQRT_2PI} * scale)"
# the density over the probability (the result of logcdf): d logcdf / dx
SHARE = f"exp(-{Z} ** 2 / 2 - out) / ({SQRT_2PI} * scale)"
NORM = {
    norm.logpdf: (f"-{Z} / scale", f"{Z} / scale", f"({Z} ** 2 - 1) / scale"),
    norm.pdf: (f"-out * {Z} / scale", f"out * {Z} / scale", f"out * ({Z} ** 2 - 1) / scale"),
    norm.cdf: (DENSITY, f"-{DENSITY}", f"-{DENSITY} * {Z}"),
    norm.logcdf: (SHARE, f"-{SHARE}", f"-{SHARE} * {Z}"),
}
for fn, partials in NORM.items():
    scalar_rule(fn, *partials, params=NORM_PARAMS, namespace=namespace)

# ------------------------------------------------------------------ scipy.linalg

TRIANGULAR = "trans=trans, lower=lower, unit_diagonal=unit_diagonal"
# the solve with the transposed matrix, for the cotangents
TRANSPOSED = "trans=flipped(trans), lower=lower, unit_diagonal=unit_diagonal"
GB = f"scipy.linalg.solve_triangular(a, g, {TRANSPOSED})"
# x = op(T)^-1 b with T the triangle read: dx = -op(T)^-1 op(dT) x; A's cotangent is the
# triangle of op^T(-(op(T)^-T g) x^T).
template_rule(
    linalg.solve_triangular,
    "scipy.linalg.solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, "
    "overwrite_b=False, check_finite=True)",
    jvp=[
        "scipy.linalg.solve_triangular(a, -(transposed_if(triangle(da, lower, unit_diagonal), "
        f"trans) @ out), {TRIANGULAR})",
        LINEAR,
    ],
    vjp=[
        f"triangle(transposed_if(-matmul_vjp_x({GB}, a, out), trans), lower, unit_diagonal)",
        f"like(b, {GB})",
    ],
    namespace=namespace,
    accepts=only(overwrite_b=False),
)
# scipy.linalg.cholesky reads the upper triangle unless lower=True; an upper factor is the
# transpose of the lower factor of the transpose, which NumPy's rules differentiate.
template_rule(
    linalg.cholesky,
    ("a", "lower=False", "overwrite_a=False", "check_finite=True"),
    jvp=[
        "lower_view(cholesky_jvp(lower_view(da, lower), lower_view(out, lower)), lower)",
    ],
    vjp=["lower_view(cholesky_vjp(lower_view(g, lower), lower_view(out, lower)), lower)"],
    namespace=namespace,
    accepts=only(overwrite_a=False),
)
# scipy.linalg.solve as np.linalg.solve with the matrix it solves with (the symmetric matrix
# of one triangle for assume_a="sym", "her" or "pos"; transposed if asked)
SOLVED = "solved_matrix(a, assume_a, lower, transposed)"
SOLVE_FORMS = (None, "gen", "general", "sym", "symmetric", "her", "hermitian", "pos")


def _solvable(constants: Mapping[str, Any]) -> Optional[str]:
    """Refuses scipy.linalg.solve's banded and triangular forms, and overwriting."""
    for name in ("overwrite_a", "overwrite_b"):
        if constants.get(name, False) is not False:
            return f"`{name}=` can only be False here"
    form = constants.get("assume_a")
    if form not in SOLVE_FORMS:
        return "`assume_a=` can only be a general, symmetric or positive definite form here"
    return None


template_rule(
    linalg.solve,
    (
        "a",
        "b",
        "lower=False",
        "overwrite_a=False",
        "overwrite_b=False",
        "check_finite=True",
        "assume_a=None",
        "transposed=False",
    ),
    jvp=[
        f"np.linalg.solve({SOLVED}, -(solved_matrix(da, assume_a, lower, transposed) @ out))",
        f"np.linalg.solve({SOLVED}, db)",
    ],
    vjp=[
        f"solved_matrix_vjp(solve_vjp_a(g, {SOLVED}, out), assume_a, lower, transposed)",
        f"solve_vjp_b(g, {SOLVED}, b)",
    ],
    namespace=namespace,
    accepts=_solvable,
)
# expm's Fréchet derivative L(A, E) is the upper right block of expm([[A, E], [0, A]]); its
# transpose is L(A^T, G).
FRECHET = "upper_right(scipy.linalg.expm(block_diagonal({}) + block_upper_right({})))"
template_rule(
    linalg.expm,
    ("A",),
    jvp=[FRECHET.format("A", "dA")],
    vjp=[FRECHET.format("mT(A)", "g")],
    namespace=namespace,
)

# lu = lu_factor(a) packs A = P L U: with M = L^-1 P^T dA U^-1, dL = L tril(M, -1) and
# dU = triu(M) U; the transpose takes N = tril(L^T g, -1) + triu(g U^T) to P L^-T N U^-T.
# The solves with L read the packed factors below the diagonal (unit_diagonal=True).
UNIT_LOWER = "lower=True, unit_diagonal=True"


def _times_unit_lower(x: str, left: bool) -> str:
    """``L x`` (``left``) or ``L^T x``, with L the unit lower factor of the packed ``out``."""
    factor = "np.tril(out, -1)" if left else "mT(np.tril(out, -1))"
    return f"({factor} @ {x} + {x})"


def _right_solve_upper(x: str, trans: int) -> str:
    """``x U^-1`` (trans=0) or ``x U^-T`` (trans=1), with U the upper factor of ``out``."""
    return f"mT(scipy.linalg.solve_triangular(out, mT({x}), trans={1 - trans}))"


PIVOTS = "lu_pivots(a)"
M = _right_solve_upper(
    f"scipy.linalg.solve_triangular(out, rows_permuted(da, {PIVOTS}), {UNIT_LOWER})", 0
)
N = f"(np.tril({_times_unit_lower('g', left=False)}, -1) + np.triu(g @ mT(np.triu(out))))"
LU_VJP = _right_solve_upper(f"scipy.linalg.solve_triangular(out, {N}, trans=1, {UNIT_LOWER})", 1)
template_rule(
    scipy_lu.lu_packed,
    ("a",),
    jvp=[f"{_times_unit_lower(f'np.tril({M}, -1)', left=True)} + np.triu({M}) @ np.triu(out)"],
    vjp=[f"rows_unpermuted({LU_VJP}, {PIVOTS})"],
    namespace=namespace,
)
nondifferentiable(scipy_lu.lu_pivots)

# ------------------------------------------------------------------ definitions in Python

# Library functions that are not primitives here: calls are transformed as calls of these
# definitions, with the same parameters and results, which the transform inlines.


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cho_factor``: the factor in one triangle, ``a`` in the other."""
    factor = scipy.linalg.cholesky(a, lower=lower, check_finite=check_finite)
    if lower:
        return factor + np.triu(a, 1), lower
    return factor + np.tril(a, -1), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``scipy.linalg.cho_solve``: two triangular solves with the factor."""
    c, lower = c_and_lower
    if lower:  # L L^T x = b
        y = scipy.linalg.solve_triangular(c, b, lower=True)
        return scipy.linalg.solve_triangular(c, y, trans=1, lower=True)
    y = scipy.linalg.solve_triangular(c, b, trans=1)  # U^T U x = b
    return scipy.linalg.solve_triangular(c, y)


def lu_factor(a, overwrite_a=False, check_finite=True):
    """``scipy.linalg.lu_factor``: the packed factors, and the row interchanges."""
    return scipy_lu.lu_packed(a), scipy_lu.lu_pivots(a)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """``scipy.linalg.lu_solve``: P L U x = b (or its transpose) as triangular solves."""
    lu, piv = lu_and_piv
    if helpers.flipped(trans):  # not transposed: x = U^-1 L^-1 P^T b
        y = scipy.linalg.solve_triangular(
            lu, helpers.rows_permuted(b, piv), lower=True, unit_diagonal=True
        )
        return scipy.linalg.solve_triangular(lu, y)
    z = scipy.linalg.solve_triangular(lu, b, trans=1)  # x = P L^-T U^-T b
    w = scipy.linalg.solve_triangular(lu, z, trans=1, lower=True, unit_diagonal=True)
    return helpers.rows_unpermuted(w, piv)


SUBSTITUTES = {
    linalg.cho_factor: cho_factor,
    linalg.cho_solve: cho_solve,
    linalg.lu_factor: lu_factor,
    linalg.lu_solve: lu_solve,
}
for fn, definition in SUBSTITUTES.items():
    substitute(fn, definition)

# ------------------------------------------------------------------ helpers

# Each helper is linear in its first argument; its VJP is its transpose.
HELPERS = {
    helpers.transposed_if: ("transposed_if(m, trans, /)", "transposed_if(g, trans)"),
    helpers.triangle: (
        "triangle(m, lower, unit_diagonal=False, /)",
        "triangle(g, lower, unit_diagonal)",
    ),
    helpers.lower_view: ("lower_view(m, lower, /)", "lower_view(g, lower)"),
    helpers.solved_matrix: (
        "solved_matrix(a, assume_a, lower, transposed, /)",
        "solved_matrix_vjp(g, assume_a, lower, transposed)",
    ),
    helpers.solved_matrix_vjp: (
        "solved_matrix_vjp(m, assume_a, lower, transposed, /)",
        "solved_matrix(g, assume_a, lower, transposed)",
    ),
    helpers.block_diagonal: ("block_diagonal(a)", "diagonal_blocks_sum(g)"),
    helpers.diagonal_blocks_sum: ("diagonal_blocks_sum(m)", "block_diagonal(g)"),
    helpers.block_upper_right: ("block_upper_right(e)", "upper_right(g)"),
    helpers.upper_right: ("upper_right(m)", "block_upper_right(g)"),
    helpers.one_if_none: ("one_if_none(b)", "g"),
    helpers.rows_permuted: ("rows_permuted(x, piv, /)", "rows_unpermuted(g, piv)"),
    helpers.rows_unpermuted: ("rows_unpermuted(x, piv, /)", "rows_permuted(g, piv)"),
}
register_table(HELPERS, namespace)
nondifferentiable(helpers.flipped)
