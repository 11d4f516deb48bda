"""Cases of the rules in ``s2s_ad/rules/shapes.py``, for ``test_rules_numpy.py``.

Shape operations, joins and splits. Each primitive maps to a `Case` (or a list of keyword
variants): the source expression, a domain per argument and the shapes to try.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from rule_harness import ANY, ARRAYS, NUMPY_UNARY, Case, joined, shaped

CASES: Dict[Any, Any] = {
    np.reshape: [shaped("np.reshape(x, (3, 2))", (2, 3)), shaped("np.reshape(x, -1)", (2, 3))],
    np.ravel: Case("np.ravel(x)", (ANY,), ARRAYS),
    np.transpose: [
        shaped("np.transpose(x)", (2, 3), (2, 3, 4)),
        shaped("np.transpose(x, (1, 2, 0))", (2, 3, 4)),
    ],
    np.swapaxes: shaped("np.swapaxes(x, 0, 2)", (2, 3, 4)),
    np.moveaxis: shaped("np.moveaxis(x, 0, -1)", (2, 3, 4)),
    np.expand_dims: shaped("np.expand_dims(x, 1)", (2, 3)),
    np.squeeze: [shaped("np.squeeze(x)", (2, 1, 3)), shaped("np.squeeze(x, axis=1)", (2, 1, 3))],
    np.broadcast_to: shaped("np.broadcast_to(x, (2, 3))", (3,), (1, 3)),
    np.flip: [shaped("np.flip(x)", (2, 3)), shaped("np.flip(x, axis=1)", (2, 3))],
    np.roll: [shaped("np.roll(x, 2)", (2, 3)), shaped("np.roll(x, (1, -1), axis=(0, 1))", (2, 3))],
    np.tile: [shaped("np.tile(x, 2)", (3,)), shaped("np.tile(x, (2, 1, 2))", (2, 3))],
    np.repeat: [
        shaped("np.repeat(x, 2)", (2, 3)),
        shaped("np.repeat(x, [1, 2], axis=0)", (2, 3)),
        shaped("np.repeat(x, 3, axis=1)", (2, 3)),
    ],
    np.diag: [shaped("np.diag(x)", (3,), (3, 3)), shaped("np.diag(x, k=1)", (3,), (3, 4))],
    np.diagonal: [
        shaped("np.diagonal(x)", (3, 4)),
        shaped("np.diagonal(x, offset=-1, axis1=1, axis2=2)", (2, 3, 3)),
    ],
    np.triu: [shaped("np.triu(x)", (3, 3)), shaped("np.triu(x, k=1)", (3, 4))],
    np.tril: [shaped("np.tril(x)", (3, 3)), shaped("np.tril(x, k=-1)", (3, 4))],
    np.pad: [shaped("np.pad(x, 1)", (2, 3)), shaped("np.pad(x, ((0, 1), (2, 0)))", (2, 3))],
    np.atleast_1d: Case("np.atleast_1d(x)", (ANY,), NUMPY_UNARY),
    np.atleast_2d: shaped("np.atleast_2d(x)", (3,), (2, 3)),
    np.real: Case("np.real(x)", (ANY,), ARRAYS),
    np.copy: Case("np.copy(x)", (ANY,), ARRAYS),
    np.asarray: [
        Case("np.asarray(x)", (ANY,), ARRAYS),
        Case("np.asarray([x, y])", (ANY, ANY), {"float,float": (None, None)}, packed=True),
    ],
    np.array: [
        Case("np.array(x)", (ANY,), ARRAYS),
        Case("np.array([[x, y], [y, x]])", (ANY, ANY), {"float,float": (None, None)}, packed=True),
        Case("np.array((x, y))", (ANY, ANY), {"(3,),(3,)": ((3,), (3,))}, packed=True),
    ],
    # joining and splitting
    np.concatenate: [
        joined("np.concatenate([x, y])", (2,), (3,)),
        joined("np.concatenate((x, y), axis=1)", (2, 3), (2, 1)),
        joined("np.concatenate([x, y], axis=None)", (2, 2), (3,)),
    ],
    np.stack: [
        joined("np.stack([x, y])", (3,), (3,)),
        joined("np.stack([x, y], axis=1)", (2, 3), (2, 3)),
    ],
    np.hstack: [
        joined("np.hstack([x, y])", (2,), (3,)),
        joined("np.hstack([x, y])", (2, 3), (2, 1)),
    ],
    np.vstack: joined("np.vstack([x, y])", (3,), (2, 3)),
    np.split: [shaped("np.split(x, 3)[1]", (6,)), shaped("np.split(x, [1], axis=1)[1]", (2, 3))],
}
