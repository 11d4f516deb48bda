"""Cases of the rules in ``s2s_ad/rules/eig.py`` (``np.linalg.eig``, ``np.linalg.eigvals`` and
their helpers), for ``test_rules_numpy.py``.

Real matrices with well-separated eigenvalues: real ones (``SPREAD``), and a complex pair
(``ROTATION``, eigenvalues near 6 and +-3i), whose results are complex; the cases' outputs are
real functions of them.  Eigenvectors as LAPACK normalizes them (unit norm, a real largest
entry), and their magnitudes.  ``test_rules_complex.py`` checks the same rules on complex
matrices.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from s2s_ad.runtime import eig as eig_helpers

from rule_harness import ANY, SMALL, Case

SPREAD = "np.diag(np.array([0.0, 3.0, 6.0], dtype=np.float32))"
ROTATION = "np.array([[0.0, -3.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 6.0]], dtype=np.float32)"
MATRICES = {"(3,3)": ((3, 3),), "(2,3,3)": ((2, 3, 3),)}
# the (co)tangent x and the matrix y, differentiated in x alone: the helpers are linear in it
AT_EIG = f"y + {SPREAD}, np.linalg.eig(y + {SPREAD})"
AT_EIGVALS = f"y + {ROTATION}, np.linalg.eigvals(y + {ROTATION})"


def matrix(expr: str, shapes: Dict[str, Any] = MATRICES) -> Case:
    return Case(expr, (SMALL,), shapes)


def linear(expr: str, x: tuple) -> Case:
    return Case(expr, (ANY, SMALL), {f"{x},(3,3)".replace(" ", ""): (x, (3, 3))}, wrt=(0,))


CASES: Dict[Any, Any] = {
    np.linalg.eig: [
        matrix(f"np.linalg.eig(x + {SPREAD})[0]"),
        matrix(f"np.linalg.eig(x + {SPREAD})[1] ** 2"),
        matrix(f"np.linalg.eig(x + {SPREAD})[1]"),
        matrix(f"np.real(np.linalg.eig(x + {ROTATION})[1] * (1 - 2j))"),
        matrix(f"np.abs(np.linalg.eig(x + {ROTATION})[0]) ** 2"),
        matrix(f"np.abs(np.linalg.eig(x + {ROTATION})[1]) ** 2"),
        matrix(f"np.real(np.linalg.eig(x + {ROTATION})[0] ** 2)"),
    ],
    np.linalg.eigvals: [
        matrix(f"np.linalg.eigvals(x + {SPREAD})"),
        matrix(f"np.real(np.linalg.eigvals(x + {ROTATION}) ** 2)"),
        matrix(f"np.imag(np.linalg.eigvals(x + {ROTATION}))"),
    ],
    eig_helpers.eig_jvp: [
        linear(f"eig_helpers.eig_jvp(x, {AT_EIG})[0]", (3, 3)),
        linear(f"eig_helpers.eig_jvp(x, {AT_EIG})[1]", (3, 3)),
    ],
    eig_helpers.eig_vjp: [
        linear(f"eig_helpers.eig_vjp((x, np.zeros((3, 3), np.float32)), {AT_EIG})", (3,)),
        linear(f"eig_helpers.eig_vjp((np.zeros(3, np.float32), x), {AT_EIG})", (3, 3)),
    ],
    eig_helpers.eigvals_jvp: linear(
        f"np.real(eig_helpers.eigvals_jvp(x, {AT_EIGVALS}) * (1 - 2j))", (3, 3)
    ),
    eig_helpers.eigvals_vjp: linear(f"eig_helpers.eigvals_vjp(x, {AT_EIGVALS})", (3,)),
}
