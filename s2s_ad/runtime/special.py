"""Special functions that derivatives of the :mod:`math` module need, for real arguments.

``d lgamma(x) / dx`` is the digamma function ``psi(x)``, and every further derivative is a
polygamma function ``psi^(n)(x)``: neither :mod:`math` nor NumPy has them, and SciPy is not
a runtime dependency.  Both are computed the classical way: the recurrence
``psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n+1)`` moves ``x`` up to where the
asymptotic (Stirling) series converges to double precision.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Where the asymptotic series is used; below it, the recurrence steps up.
_LARGE = 12.0
# B_2, B_4, ..., B_16: the Bernoulli numbers of the series.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def digamma(x: Any) -> Any:
    """The digamma function ``psi(x) = d lgamma(x) / dx``, elementwise.

    >>> round(float(digamma(1.0)), 12)  # minus the Euler-Mascheroni constant
    -0.577215664902
    """
    return polygamma(0, x)


def polygamma(n: int, x: Any) -> Any:
    """The polygamma function ``psi^(n)(x)``, the ``n``-th derivative of digamma (``n >= 0``).

    Poles at ``0, -1, -2, ...`` give ``nan``.

    >>> round(float(polygamma(1, 1.0)), 12) == round(math.pi**2 / 6, 12)
    True
    """
    if not (isinstance(n, (int, np.integer)) and n >= 0):
        raise ValueError(f"polygamma(n, x) needs a whole n >= 0, not {n!r}")
    arr = np.asarray(x)
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    values = arr.astype(np.float64)
    pole = (values <= 0) & (values == np.floor(values))
    values = np.where(pole, np.nan, values)
    steps = int(max(0.0, np.ceil(_LARGE - np.nanmin(values, initial=_LARGE))))
    total = np.zeros_like(values)
    sign_n = -1.0 if n % 2 else 1.0
    for _ in range(steps):  # psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! x^-(n+1), while x is small
        small = values < _LARGE
        total = total - np.where(small, sign_n * math.factorial(n) / values ** (n + 1), 0.0)
        values = np.where(small, values + 1.0, values)
    result = (total + _asymptotic(n, values)).astype(dtype)
    return result if np.ndim(x) else dtype.type(result)


def _asymptotic(n: int, x: np.ndarray) -> np.ndarray:
    """``psi^(n)(x)`` for large ``x``, by the asymptotic series."""
    if n == 0:
        series = np.log(x) - 1 / (2 * x)
        for k, b in enumerate(_BERNOULLI, start=1):
            series = series - b / (2 * k * x ** (2 * k))
        return series
    series = math.factorial(n - 1) / x**n + math.factorial(n) / (2 * x ** (n + 1))
    for k, b in enumerate(_BERNOULLI, start=1):
        ratio = math.factorial(2 * k + n - 1) / math.factorial(2 * k)
        series = series + b * ratio / x ** (2 * k + n)
    return (1.0 if n % 2 else -1.0) * series
