"""What ``ad.hessian(g)(x)``, ``ad.jacobian(g)(x)``, ... compute inside a differentiated
function, as Python the lowerer inlines.

Each is the linear assembly of its composite (``api/composite.py``) over *sweeps*:
``sweep(v)`` is ``J @ v`` (``g``'s closed forward-mode code, ``g_jvp``) or ``H @ v``
(forward mode over ``g``'s gradient), bound to the call's arguments (see
``composites.py``).  Inlined, the loop over the entries of ``x`` and the sweeps are
ordinary code to the outer transform, which differentiates through them to any order.
The results are arrays (a 0-d one for a scalar ``x``).

>>> import numpy as np
>>> hessian_inside(lambda v: 2.0 * v, np.zeros(2))
array([[2., 0.],
       [0., 2.]])
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..library import make_transparent


def jacobian_inside(sweep: Callable, x: Any) -> Any:
    """``out.shape + x.shape``: one sweep ``J @ e_k`` per entry ``k`` of ``x``.

    >>> jacobian_inside(lambda v: np.array([v[0], 3.0 * v[1], v[0] + v[1]]), np.zeros(2))
    array([[1., 0.],
           [0., 3.],
           [1., 1.]])
    """
    size = np.size(x)
    first = sweep(np.reshape(np.eye(size)[0], np.shape(x)))
    columns = np.zeros((size, np.size(first)))
    columns[0] = np.reshape(first, (-1,))
    for k in range(1, size):  # written by index: Taylor mode follows no appends
        columns[k] = np.reshape(sweep(np.reshape(np.eye(size)[k], np.shape(x))), (-1,))
    return np.reshape(np.transpose(columns), np.shape(first) + np.shape(x))


def hessian_inside(hvp: Callable, x: Any) -> Any:
    """``x.shape + x.shape``: one product ``H @ e_k`` per entry ``k`` of ``x``."""
    return jacobian_inside(hvp, x)


def hvp_inside(hvp: Callable, x: Any, v: Any) -> Any:
    """``H @ v``: one product.

    >>> hvp_inside(lambda v: 2.0 * v, 1.0, 3.0)
    6.0
    """
    return hvp(v)


def trace_inside(sweep: Callable, x: Any) -> Any:
    """``sum_k (J @ e_k)[k]``: the divergence of ``g`` (``J @ v`` sweeps) or its Laplacian
    (``H @ v`` sweeps).

    >>> float(trace_inside(lambda v: np.array([2.0 * v[0], 5.0 * v[1]]), np.zeros(2)))
    7.0
    """
    size = np.size(x)
    total = 0.0
    for k in range(size):
        column = sweep(np.reshape(np.eye(size)[k], np.shape(x)))
        assert np.shape(column) == np.shape(x), "ad.divergence expects g: R^n -> R^n"
        total = total + np.reshape(column, (-1,))[k]
    return total


def curl_inside(sweep: Callable, x: Any) -> Any:
    """The curl of ``g: R^3 -> R^3`` from its Jacobian.

    >>> curl_inside(lambda v: np.array([0.0, 0.0, 2.0 * v[1]]), np.zeros(3))
    array([2., 0., 0.])
    """
    jacobian = jacobian_inside(sweep, x)
    assert np.shape(jacobian) == (3, 3), "ad.curl expects g: R^3 -> R^3"
    return np.array(
        [
            jacobian[2, 1] - jacobian[1, 2],
            jacobian[0, 2] - jacobian[2, 0],
            jacobian[1, 0] - jacobian[0, 1],
        ]
    )


# Their calls of one another are inlined too, as user code's are.
for _assembly in (jacobian_inside, hessian_inside, hvp_inside, trace_inside, curl_inside):
    make_transparent(_assembly)
