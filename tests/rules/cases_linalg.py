"""Cases of the rules in ``s2s_ad/rules/linalg.py``, for ``test_rules_numpy.py``.

Linear algebra, on well-conditioned matrices. Each primitive maps to a `Case` (or a list of keyword
variants): the source expression, a domain per argument and the shapes to try.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from rule_harness import ANY, NONZERO, SMALL, Case, joined, shaped

# Symmetric parts with well-separated eigenvalues (also in absolute value, for svd and pinv
# with hermitian=True); the inputs are not symmetric, so reading the wrong triangle shows.
SPREAD = "np.diag([0.0, 3.0, 6.0])"
SIGNED_SPREAD = "np.diag([1.0, -3.0, 6.0])"
STACKED = {"(3,3)": ((3, 3),), "(2,3,3)": ((2, 3, 3),)}
# Tall, wide, square and stacked matrices, for factorizations of any shape.
ALL_SHAPES = ((4, 2), (2, 4), (3, 3), (2, 3, 2))
MATMUL = {
    "(2,3),(3,4)": ((2, 3), (3, 4)),
    "(3,),(3,4)": ((3,), (3, 4)),
    "(2,3),(3,)": ((2, 3), (3,)),
    "(5,2,3),(1,3,4)": ((5, 2, 3), (1, 3, 4)),
}
LSTSQ = {"(4,2),(4,)": ((4, 2), (4,)), "(4,2),(4,3)": ((4, 2), (4, 3))}
# a full-rank tall matrix, a wide one (the minimum-norm solution)
LSTSQ_X = {**LSTSQ, "(2,4),(2,)": ((2, 4), (2,)), "(2,4),(2,3)": ((2, 4), (2, 3))}


# 3 I (6 x 6) as tensorsolve sees it with axes=(0,): axis 0 moved last
MOVED_EYE = "3 * np.eye(6).reshape(6, 3, 2).transpose(2, 0, 1)"


def symmetric(expr: str, shapes: Dict[str, Any] = STACKED) -> Case:
    """A case on small matrices ``x`` plus a symmetric part that sets the eigenvalues."""
    return Case(expr, (SMALL,), shapes)


def pair(expr: str, shapes: Dict[str, Any]) -> Case:
    return Case(expr, (ANY, ANY), shapes)


CASES: Dict[Any, Any] = {
    np.linalg.solve: Case(
        "np.linalg.solve(x + 3 * np.eye(3), y)",
        (ANY, ANY),
        {"(3,3),(3,)": ((3, 3), (3,)), "(3,3),(3,2)": ((3, 3), (3, 2))},
    ),
    np.linalg.inv: shaped("np.linalg.inv(x + 3 * np.eye(3))", (3, 3), (2, 3, 3)),
    np.linalg.det: shaped("np.linalg.det(x)", (3, 3), (2, 3, 3)),
    np.linalg.slogdet: shaped("np.linalg.slogdet(x)[1]", (3, 3), (2, 3, 3)),
    # NumPy reads the lower triangle: perturbing the upper one changes nothing
    np.linalg.cholesky: Case(
        "np.linalg.cholesky(x + 4 * np.eye(3))", (SMALL,), {"(3,3)": ((3, 3),)}
    ),
    np.linalg.eigvalsh: [
        Case("np.linalg.eigvalsh(x + np.diag([0.0, 3.0, 6.0]))", (SMALL,), {"(3,3)": ((3, 3),)}),
        Case(f"np.linalg.eigvalsh(x + {SPREAD}, UPLO='U')", (SMALL,), STACKED),
    ],
    np.linalg.matrix_power: [
        shaped("np.linalg.matrix_power(x, 3)", (3, 3)),
        shaped("np.linalg.matrix_power(x, 0)", (2, 2)),
    ],
    np.linalg.norm: [
        shaped("np.linalg.norm(x)", (3,), (2, 3)),
        Case("np.linalg.norm(x, 1)", (NONZERO,), {"(3,)": ((3,),), "(2,3)": ((2, 3),)}),
        shaped("np.linalg.norm(x, np.inf)", (3,), (2, 3)),
        Case("np.linalg.norm(x, 3)", (NONZERO,), {"(3,)": ((3,),)}),
        shaped("np.linalg.norm(x, axis=1)", (2, 3)),
        shaped("np.linalg.norm(x, axis=1, keepdims=True)", (2, 3)),
        shaped("np.linalg.norm(x, 'fro')", (2, 3)),
        shaped("np.linalg.norm(x, 'nuc')", (3, 2)),
        shaped("np.linalg.norm(x, 2)", (3, 2)),
        shaped("np.linalg.norm(x, -2)", (3, 2)),
        shaped("np.linalg.norm(x, axis=(1, 2))", (2, 2, 3)),
    ],
    np.linalg.qr: [
        shaped("np.linalg.qr(x)[0]", *ALL_SHAPES),
        shaped("np.linalg.qr(x)[1]", *ALL_SHAPES),
        shaped("np.linalg.qr(x, mode='r')", (4, 2), (2, 4)),
        shaped("np.linalg.qr(x, mode='complete')[0]", (2, 4)),
    ],
    # eigenvectors and singular vectors are squared: their signs are not determined
    np.linalg.eigh: [
        symmetric(f"np.linalg.eigh(x + {SPREAD})[0]"),
        symmetric(f"np.linalg.eigh(x + {SPREAD})[1] ** 2"),
        symmetric(f"np.linalg.eigh(x + {SPREAD}, UPLO='U')[1] ** 2"),
    ],
    np.linalg.svd: [
        shaped("np.linalg.svd(x, compute_uv=False)", *ALL_SHAPES),
        shaped("np.linalg.svd(x, full_matrices=False)[0] ** 2", *ALL_SHAPES),
        shaped("np.linalg.svd(x, full_matrices=False)[1]", (4, 2), (2, 4)),
        shaped("np.linalg.svd(x, full_matrices=False)[2] ** 2", *ALL_SHAPES),
        shaped("np.linalg.svd(x)[2] ** 2", (3, 3)),
        symmetric(f"np.linalg.svd(x + {SIGNED_SPREAD}, hermitian=True)[0] ** 2"),
        symmetric(f"np.linalg.svd(x + {SIGNED_SPREAD}, hermitian=True)[1]"),
        symmetric(f"np.linalg.svd(x + {SIGNED_SPREAD}, compute_uv=False, hermitian=True)"),
    ],
    np.linalg.pinv: [
        shaped("np.linalg.pinv(x)", *ALL_SHAPES),
        symmetric(f"np.linalg.pinv(x + {SIGNED_SPREAD}, hermitian=True)"),
    ],
    np.linalg.lstsq: [
        pair("np.linalg.lstsq(x, y)[0]", LSTSQ_X),
        pair("np.linalg.lstsq(x, y)[1]", LSTSQ),
        pair("np.linalg.lstsq(x, y, rcond=None)[3]", LSTSQ),
    ],
    np.linalg.multi_dot: [
        Case(
            "np.linalg.multi_dot([x, y, z])",
            (ANY, ANY, ANY),
            {
                "(2,3),(3,4),(4,2)": ((2, 3), (3, 4), (4, 2)),
                "(3,),(3,4),(4,)": ((3,), (3, 4), (4,)),
            },
            packed=True,
        ),
        joined("np.linalg.multi_dot([x, y])", (3,), (3, 2)),
    ],
    np.linalg.tensorsolve: [
        pair(
            "np.linalg.tensorsolve(x + 3 * np.eye(6).reshape(2, 3, 2, 3), y)",
            {"(2,3,2,3),(2,3)": ((2, 3, 2, 3), (2, 3))},
        ),
        pair(
            f"np.linalg.tensorsolve(x + {MOVED_EYE}, y, axes=(0,))",
            {"(2,6,3),(6,)": ((2, 6, 3), (6,))},
        ),
    ],
    np.linalg.tensorinv: [
        shaped("np.linalg.tensorinv(x + 3 * np.eye(6).reshape(2, 3, 6))", (2, 3, 6)),
        shaped("np.linalg.tensorinv(x + 3 * np.eye(6).reshape(6, 2, 3), ind=1)", (6, 2, 3)),
    ],
    np.linalg.cond: [
        shaped("np.linalg.cond(x + 3 * np.eye(3))", (3, 3), (2, 3, 3)),
        shaped("np.linalg.cond(x)", (4, 2), (2, 4)),
        shaped("np.linalg.cond(x, -2)", (4, 2)),
        shaped("np.linalg.cond(x + 3 * np.eye(3), 2)", (3, 3)),
        *(
            shaped(f"np.linalg.cond(x + 3 * np.eye(3), {p})", (3, 3), (2, 3, 3))
            for p in ("'fro'", "'nuc'", "1", "-1", "np.inf", "-np.inf")
        ),
    ],
}

# NumPy 2's functions in np.linalg (the array-API ones are apart from their np. namesakes),
# tested where they exist.
ARRAY_API = {
    "svdvals": shaped("np.linalg.svdvals(x)", (3, 2), (2, 3)),
    "matrix_transpose": shaped("np.linalg.matrix_transpose(x)", (2, 3), (2, 2, 3)),
    "diagonal": [
        shaped("np.linalg.diagonal(x)", (3, 3), (2, 3, 4)),
        shaped("np.linalg.diagonal(x, offset=-1)", (2, 3, 4)),
    ],
    "trace": [
        shaped("np.linalg.trace(x)", (3, 3), (2, 3, 4)),
        shaped("np.linalg.trace(x, offset=1)", (2, 3, 4)),
    ],
    "outer": pair("np.linalg.outer(x, y)", {"(3,),(2,)": ((3,), (2,))}),
    "matmul": pair("np.linalg.matmul(x, y)", MATMUL),
    "tensordot": [
        pair("np.linalg.tensordot(x, y)", {"(2,3,4),(3,4,2)": ((2, 3, 4), (3, 4, 2))}),
        pair("np.linalg.tensordot(x, y, axes=1)", {"(2,3),(3,4)": ((2, 3), (3, 4))}),
    ],
    "vecdot": [
        pair("np.linalg.vecdot(x, y)", {"(3,),(3,)": ((3,), (3,)), "(2,3),(3,)": ((2, 3), (3,))}),
        pair("np.linalg.vecdot(x, y, axis=0)", {"(3,2),(3,2)": ((3, 2), (3, 2))}),
    ],
    "cross": [
        pair("np.linalg.cross(x, y)", {"(3,),(3,)": ((3,), (3,)), "(2,3),(3,)": ((2, 3), (3,))}),
        pair("np.linalg.cross(x, y, axis=0)", {"(3,2),(3,2)": ((3, 2), (3, 2))}),
    ],
    "vector_norm": [
        shaped("np.linalg.vector_norm(x)", (3,), (2, 3)),
        shaped("np.linalg.vector_norm(x, axis=(0, 2))", (2, 3, 2)),
        shaped("np.linalg.vector_norm(x, axis=1, keepdims=True)", (2, 3)),
        Case("np.linalg.vector_norm(x, ord=1)", (NONZERO,), {"(2,3)": ((2, 3),)}),
        shaped("np.linalg.vector_norm(x, ord=np.inf)", (2, 3)),
        Case("np.linalg.vector_norm(x, axis=0, ord=3)", (NONZERO,), {"(3,2)": ((3, 2),)}),
    ],
    "matrix_norm": [
        shaped("np.linalg.matrix_norm(x)", (2, 3), (2, 2, 3)),
        shaped("np.linalg.matrix_norm(x, keepdims=True)", (2, 2, 3)),
        *(
            shaped(f"np.linalg.matrix_norm(x, ord={o})", (3, 2), (2, 3, 2))
            for o in ("'nuc'", "2", "-2", "1", "-np.inf")
        ),
    ],
}
CASES.update({getattr(np.linalg, n): c for n, c in ARRAY_API.items() if hasattr(np.linalg, n)})
