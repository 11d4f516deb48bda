"""Cases of the rules in ``s2s_ad/rules/scipy.py``, for ``test_rules_scipy.py`` (and the linear
rules among them for ``test_rules_linear.py``).

``TABLE`` is None without SciPy (the optional extra ``scipy``): the tests that use it skip.
Matrices are well conditioned (a multiple of the identity added); the inputs of the
functions that read one triangle are not symmetric, so reading the wrong one shows.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Optional

import numpy as np

from rule_harness import (
    ANY,
    NONZERO,
    POSITIVE,
    SMALL,
    UNIT,
    Case,
    Point,
    RuleTable,
    between,
    binary,
    shaped,
    unary,
)

try:
    import scipy.linalg  # noqa: F401

    HAS_SCIPY = True
except ImportError:
    HAS_SCIPY = False
SQUARE = {"(3,3)": ((3, 3),)}
SOLVE = {"(3,3),(3,)": ((3, 3), (3,)), "(3,3),(3,2)": ((3, 3), (3, 2))}
PROBABILITY = between(0.05, 0.95)
ORDER_X = between(0.5, 3.0)  # Bessel functions of the second kind and polygamma: x > 0
WEIGHTS = between(0.5, 2.0)
PIVOTS = "np.array([2, 2, 2])"  # LAPACK's row interchanges: rows 0 and 2, then 1 and 2


def matrix_case(expr: str, shapes: Dict[str, tuple] = SOLVE) -> Case:
    """A case of a matrix ``x`` (made well conditioned in ``expr``) and a right-hand side ``y``."""
    return Case(expr, (SMALL, ANY)[: len(next(iter(shapes.values())))], shapes)


def cases() -> Dict[Any, Any]:
    import scipy.linalg
    import scipy.special
    import scipy.stats

    from s2s_ad.runtime import scipy_helpers as helpers
    from s2s_ad.runtime import scipy_lu

    special, linalg, norm = scipy.special, scipy.linalg, scipy.stats.norm
    well = "x + 3 * np.eye(3)"
    return {
        special.erf: unary("scipy.special.erf(x)"),
        special.erfc: unary("scipy.special.erfc(x)"),
        special.erfinv: unary("scipy.special.erfinv(x)", UNIT),
        special.gammaln: unary("scipy.special.gammaln(x)", POSITIVE),
        special.digamma: unary("scipy.special.digamma(x)", POSITIVE),
        special.polygamma: [
            unary("scipy.special.polygamma(1, x)", POSITIVE),
            unary("scipy.special.polygamma(2, x)", POSITIVE),
        ],
        special.expit: unary("scipy.special.expit(x)"),
        special.logit: unary("scipy.special.logit(x)", PROBABILITY),
        special.xlogy: binary("scipy.special.xlogy(x, y)", ANY, POSITIVE),
        special.xlog1py: binary("scipy.special.xlog1py(x, y)", ANY, POSITIVE),
        special.i0: unary("scipy.special.i0(x)"),
        special.i1: unary("scipy.special.i1(x)"),
        special.i0e: unary("scipy.special.i0e(x)", NONZERO),
        special.i1e: unary("scipy.special.i1e(x)", NONZERO),
        special.j0: unary("scipy.special.j0(x)"),
        special.j1: unary("scipy.special.j1(x)"),
        special.y0: unary("scipy.special.y0(x)", ORDER_X),
        special.y1: unary("scipy.special.y1(x)", ORDER_X),
        special.iv: unary("scipy.special.iv(1.5, x)", ORDER_X),
        special.ive: unary("scipy.special.ive(2, x)", NONZERO),
        special.jv: unary("scipy.special.jv(2.5, x)", ORDER_X),
        special.yv: unary("scipy.special.yv(0.5, x)", ORDER_X),
        special.betaln: binary("scipy.special.betaln(x, y)", POSITIVE, POSITIVE),
        special.ndtr: unary("scipy.special.ndtr(x)"),
        special.ndtri: unary("scipy.special.ndtri(x)", PROBABILITY),
        special.log_ndtr: unary("scipy.special.log_ndtr(x)"),
        special.logsumexp: [
            shaped("scipy.special.logsumexp(x)", (3,), (2, 3)),
            shaped("scipy.special.logsumexp(x, axis=1)", (2, 3)),
            shaped("scipy.special.logsumexp(x, axis=0, keepdims=True)", (2, 3)),
            Case(
                "scipy.special.logsumexp(x, axis=-1, b=y)",
                (ANY, WEIGHTS),
                {"(2,3),(2,3)": ((2, 3), (2, 3)), "(2,3),(3,)": ((2, 3), (3,))},
            ),
        ],
        special.softmax: [
            shaped("scipy.special.softmax(x)", (3,), (2, 3)),
            shaped("scipy.special.softmax(x, axis=1)", (2, 3)),
        ],
        special.log_softmax: [
            shaped("scipy.special.log_softmax(x)", (3,), (2, 3)),
            shaped("scipy.special.log_softmax(x, axis=0)", (2, 3)),
        ],
        norm.logpdf: [
            Case("scipy.stats.norm.logpdf(x, y, z)", (ANY, ANY, POSITIVE), NORM_SHAPES),
            unary("scipy.stats.norm.logpdf(x)"),
        ],
        norm.pdf: Case(
            "scipy.stats.norm.pdf(x, loc=y, scale=z)", (ANY, ANY, POSITIVE), NORM_SHAPES
        ),
        norm.cdf: Case("scipy.stats.norm.cdf(x, y, scale=z)", (ANY, ANY, POSITIVE), NORM_SHAPES),
        norm.logcdf: [
            Case("scipy.stats.norm.logcdf(x, y, z)", (ANY, ANY, POSITIVE), NORM_SHAPES),
            unary("scipy.stats.norm.logcdf(x)"),
        ],
        linalg.solve_triangular: [
            matrix_case(f"scipy.linalg.solve_triangular({well}, y)"),
            matrix_case(f"scipy.linalg.solve_triangular({well}, y, lower=True)"),
            matrix_case(f"scipy.linalg.solve_triangular({well}, y, trans=1, lower=True)"),
            matrix_case(f"scipy.linalg.solve_triangular({well}, y, trans='T')"),
            matrix_case("scipy.linalg.solve_triangular(x, y, lower=True, unit_diagonal=True)"),
        ],
        linalg.cholesky: [
            matrix_case("scipy.linalg.cholesky(x + 4 * np.eye(3))", SQUARE),
            matrix_case("scipy.linalg.cholesky(x + 4 * np.eye(3), lower=True)", SQUARE),
        ],
        linalg.solve: [
            matrix_case(f"scipy.linalg.solve({well}, y)"),
            matrix_case(f"scipy.linalg.solve({well}, y, transposed=True)"),
            matrix_case(f"scipy.linalg.solve({well}, y, assume_a='pos')"),
            matrix_case(f"scipy.linalg.solve({well}, y, assume_a='sym', lower=True)"),
        ],
        linalg.expm: [
            matrix_case("scipy.linalg.expm(x)", SQUARE),
            matrix_case("scipy.linalg.expm(x)", {"(2,3,3)": ((2, 3, 3),)}),
        ],
        helpers.transposed_if: [
            matrix_case("helpers.transposed_if(x, 'T')", SQUARE),
            matrix_case("helpers.transposed_if(x, 0)", SQUARE),
        ],
        helpers.triangle: [
            matrix_case("helpers.triangle(x, True)", SQUARE),
            matrix_case("helpers.triangle(x, False, True)", SQUARE),
        ],
        helpers.lower_view: matrix_case("helpers.lower_view(x, False)", SQUARE),
        helpers.solved_matrix: matrix_case("helpers.solved_matrix(x, 'pos', True, True)", SQUARE),
        helpers.solved_matrix_vjp: matrix_case(
            "helpers.solved_matrix_vjp(x, 'sym', False, True)", SQUARE
        ),
        helpers.block_diagonal: matrix_case("helpers.block_diagonal(x)", SQUARE),
        helpers.diagonal_blocks_sum: shaped("helpers.diagonal_blocks_sum(x)", (4, 4)),
        helpers.block_upper_right: matrix_case("helpers.block_upper_right(x)", SQUARE),
        helpers.upper_right: shaped("helpers.upper_right(x)", (4, 4), (2, 4, 4)),
        helpers.one_if_none: unary("helpers.one_if_none(x)"),
        scipy_lu.lu_packed: [
            matrix_case("scipy_lu.lu_packed(x + 3 * np.eye(3))", SQUARE),
            # rows interchanged: the pivots move the large entries onto the diagonal
            matrix_case("scipy_lu.lu_packed(x + 3 * np.eye(3)[[2, 0, 1]])", SQUARE),
        ],
        helpers.rows_permuted: matrix_case(f"helpers.rows_permuted(x, {PIVOTS})", SOLVE),
        helpers.rows_unpermuted: matrix_case(f"helpers.rows_unpermuted(x, {PIVOTS})", SOLVE),
    }


NORM_SHAPES = {
    "float,float,float": (None, None, None),
    "(3,),float,float": ((3,), None, None),
    "(2,3),(3,),(2,1)": ((2, 3), (3,), (2, 1)),
}


def label(fn: Any) -> str:
    """``scipy.special.erf``, ``scipy.stats.norm.logpdf``, ``helpers.triangle``."""
    if inspect.ismethod(fn):  # the methods of scipy.stats.norm
        return f"scipy.stats.norm.{fn.__name__}"
    module = getattr(fn, "__module__", None) or "scipy.special"
    if module == "s2s_ad.runtime.scipy_lu":
        return f"scipy_lu.{fn.__name__}"
    if module.startswith("s2s_ad"):
        return f"helpers.{fn.__name__}"
    return f"{'.'.join(p for p in module.split('.')[:2] if not p.startswith('_'))}.{fn.__name__}"


def scalar_output(point: Point) -> bool:
    """Whether the point's expression gives a scalar (the points ``grad`` applies to)."""
    import scipy

    from s2s_ad.runtime import scipy_helpers as helpers
    from s2s_ad.runtime import scipy_lu

    names = {
        "np": np,
        "scipy": scipy,
        "helpers": helpers,
        "scipy_lu": scipy_lu,
        **dict(zip("xyz", point.inputs())),
    }
    return np.ndim(eval(point.case.expr, names)) == 0


TABLE: Optional[RuleTable] = None
CASES: Dict[Any, Any] = {}
if HAS_SCIPY:
    CASES = cases()
    TABLE = RuleTable(
        CASES,
        name="rules_scipy",
        imports=(
            "import numpy as np",
            "import scipy.linalg",
            "import scipy.special",
            "import scipy.stats",
            "",
            "from s2s_ad.runtime import scipy_helpers as helpers",
            "from s2s_ad.runtime import scipy_lu",
            "",
        ),
        label=label,
        scalar_output=scalar_output,
    )
