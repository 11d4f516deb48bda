"""The LU factorization as two primitives, for the SciPy rules (``s2s_ad/rules/scipy.py``):
``scipy.linalg.lu_factor`` is transformed as ``(lu_packed(a), lu_pivots(a))``, so that the
packed factors have a rule of their own and the pivots are constants.

SciPy is the optional extra ``scipy``: only ``s2s_ad.rules.scipy`` imports this module, and
only where SciPy can be imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the doctests' np)
import scipy.linalg


def lu_packed(a: Any) -> Any:
    """The packed factors of ``scipy.linalg.lu_factor(a)``: ``L`` below the diagonal (its unit
    diagonal left out), ``U`` on and above it.

    >>> lu_packed(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[3.        , 4.        ],
           [0.33333333, 0.66666667]])
    """
    return scipy.linalg.lu_factor(a)[0]


def lu_pivots(a: Any) -> Any:
    """The row interchanges of ``scipy.linalg.lu_factor(a)`` (LAPACK's ``piv``).

    >>> lu_pivots(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1, 1], dtype=int32)
    """
    return scipy.linalg.lu_factor(a)[1]
