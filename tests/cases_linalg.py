"""Cases of the rules in ``s2s_ad/rules/linalg.py``, for ``test_rules_numpy.py``.

Linear algebra, on well-conditioned matrices. Each primitive maps to a `Case` (or a list of keyword
variants): the source expression, a domain per argument and the shapes to try.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from rule_harness import ANY, NONZERO, SMALL, Case, shaped

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
    np.linalg.eigvalsh: Case(
        "np.linalg.eigvalsh(x + np.diag([0.0, 3.0, 6.0]))", (SMALL,), {"(3,3)": ((3, 3),)}
    ),
    np.linalg.svdvals: shaped("np.linalg.svdvals(x)", (3, 2), (2, 3)),
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
}
