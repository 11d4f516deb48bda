"""Cases of the rules in ``s2s_ad/rules/shapes.py``, for ``test_rules_numpy.py``.

Shape operations, joins and splits. Each primitive maps to a `Case` (or a list of keyword
variants): the source expression, a domain per argument and the shapes to try.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from s2s_ad.runtime import shape_ops as shapes

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

# Arguments left out of `wrt` only supply indices or conditions (x in np.compress(x > 0, y)).
ARGS_1D = {"(4,),(4,)": ((4,), (4,))}
CASES.update(
    {
        np.atleast_3d: Case("np.atleast_3d(x)", (ANY,), NUMPY_UNARY),
        np.fliplr: shaped("np.fliplr(x)", (2, 3), (2, 3, 2)),
        np.flipud: shaped("np.flipud(x)", (3,), (2, 3)),
        np.rot90: [
            shaped("np.rot90(x)", (2, 3)),
            shaped("np.rot90(x, 2)", (2, 3)),
            shaped("np.rot90(x, k=-1, axes=(1, 2))", (2, 3, 4)),
        ],
        np.resize: [
            shaped("np.resize(x, (2, 4))", (3,), (2, 3)),
            shaped("np.resize(x, 4)", (2, 3)),
        ],
        np.diff: [
            shaped("np.diff(x)", (4,), (2, 4)),
            shaped("np.diff(x, 3)", (5,)),
            shaped("np.diff(x, n=2, axis=0)", (4, 3)),
            shaped("np.diff(x, axis=1)", (2, 3, 2)),
            joined("np.diff([x, y, 0.5])", None, None),
        ],
        np.ediff1d: [
            shaped("np.ediff1d(x)", (4,), (2, 3)),
            joined("np.ediff1d([x, y])", None, None),
        ],
        # selections; repeated indices accumulate their cotangents
        np.take: [
            shaped("np.take(x, [0, 2, 2, 1])", (3,), (2, 3)),
            shaped("np.take(x, 4)", (2, 3)),
            shaped("np.take(x, [[1, 1], [0, 1]], axis=1)", (2, 3)),
            shaped("np.take(x, [4, -1, 1], mode='wrap')", (3,)),
            shaped("np.take(x, [5, 0, 5], axis=1, mode='clip')", (2, 3)),
        ],
        np.take_along_axis: [
            shaped("np.take_along_axis(x, np.array([[0, 0, 2], [2, 1, 2]]), axis=1)", (2, 3)),
            shaped("np.take_along_axis(x, np.array([[1, 1, 0], [0, 0, 1]]), axis=0)", (2, 1)),
            shaped("np.take_along_axis(x, np.argsort(x, axis=0), axis=0)", (3, 2)),
            shaped("np.take_along_axis(x, np.array([5, 0, 5]), axis=None)", (2, 3)),
        ],
        np.compress: [
            Case("np.compress(x > np.mean(x), y)", (ANY, ANY), ARGS_1D, wrt=(1,)),
            Case(
                "np.compress(x > np.mean(x), y)",
                (ANY, ANY),
                {"(4,),(2,3)": ((4,), (2, 3))},
                wrt=(1,),
            ),
            Case(
                "np.compress(x > np.mean(x), y, axis=1)",
                (ANY, ANY),
                {"(3,),(2,3)": ((3,), (2, 3)), "(2,),(2,3)": ((2,), (2, 3))},
                wrt=(1,),
            ),
        ],
        np.extract: Case(
            "np.extract(x > np.mean(x), y)",
            (ANY, ANY),
            {**ARGS_1D, "(2,3),(2,3)": ((2, 3), (2, 3))},
            wrt=(1,),
        ),
        np.delete: [
            shaped("np.delete(x, 1)", (4,), (2, 3)),
            shaped("np.delete(x, [0, 2], axis=1)", (2, 3)),
            shaped("np.delete(x, [True, False, True], axis=0)", (3, 2)),
        ],
        # the choices: one choice per entry of np.argsort(x) // 2, each chosen twice
        np.choose: [
            Case(
                "np.choose(np.argsort(x) // 2, y)",
                (ANY, ANY),
                {"(4,),(2,)": ((4,), (2,))},
                wrt=(1,),
            ),
            Case(
                "np.choose(np.argsort(x), y)",
                (ANY, ANY),
                {"(2,3),(3,3)": ((2, 3), (3, 3))},
                wrt=(1,),
            ),
            Case(
                "np.choose(np.argsort(x) + 1, y, mode='wrap')",
                (ANY, ANY),
                {"(3,),(3,1)": ((3,), (3, 1))},
                wrt=(1,),
            ),
            # a list of choices gets a list of cotangents
            Case(
                "np.choose(np.argsort(x) // 2, [y, z])",
                (ANY, ANY, ANY),
                {"(4,),(4,),float": ((4,), (4,), None), "(2,3),(3,),(2,3)": ((2, 3), (3,), (2, 3))},
                wrt=(1, 2),
            ),
        ],
        # the choices y and z (or y and the default z); x gives the conditions
        np.select: [
            Case(
                "np.select([x > 0.5, x < -0.5], [y, z])",
                (ANY, ANY, ANY),
                {"(4,),(4,),(4,)": ((4,), (4,), (4,)), "(2,3),(3,),(2,3)": ((2, 3), (3,), (2, 3))},
                wrt=(1, 2),
            ),
            Case(
                "np.select([x > 0], [y], z)",
                (ANY, ANY, ANY),
                {
                    "(2,3),(2,3),float": ((2, 3), (2, 3), None),
                    "(3,),(3,),(3,)": ((3,), (3,), (3,)),
                    "(3,),(3,),(2,3)": ((3,), (3,), (2, 3)),
                },
                wrt=(1, 2),
            ),
        ],
        # reorderings (the random inputs have no ties)
        np.sort: [
            shaped("np.sort(x)", (5,), (2, 3)),
            shaped("np.sort(x, axis=0)", (3, 2)),
            shaped("np.sort(x, axis=None, kind='stable')", (2, 3)),
            joined("np.sort([x, y, 0.5])", None, None),
        ],
        np.partition: [
            shaped("np.partition(x, 2)", (5,), (2, 4)),
            shaped("np.partition(x, (0, 2), axis=0)", (4, 2)),
            shaped("np.partition(x, 1, axis=None)", (2, 3)),
        ],
        # joining and splitting
        np.array_split: [
            shaped("np.array_split(x, 3)[1]", (7,)),
            shaped("np.array_split(x, [1, 3], axis=1)[2]", (2, 4)),
        ],
        np.hsplit: [
            shaped("np.hsplit(x, 2)[0]", (4,), (2, 4)),
            shaped("np.hsplit(x, [1])[1]", (2, 3)),
        ],
        np.vsplit: [
            shaped("np.vsplit(x, 2)[1]", (4, 3)),
            shaped("np.vsplit(x, [1])[0]", (3, 2, 2)),
        ],
        np.dsplit: shaped("np.dsplit(x, 2)[1]", (2, 3, 4)),
        np.column_stack: [
            joined("np.column_stack([x, y])", (3,), (3, 2)),
            joined("np.column_stack((x, y))", (2,), (2,)),
        ],
        np.dstack: [
            joined("np.dstack([x, y])", (2,), (1, 2, 3)),
            joined("np.dstack([x, y])", (2, 3), (2, 3)),
        ],
        np.block: [
            joined("np.block([x, y])", (2,), (3,)),
            joined("np.block([[x], [y]])", (1, 3), (2, 3)),
            joined("np.block([[x, y], [y, x]])", (2, 2), (2, 2)),
        ],
        np.append: [
            Case(
                "np.append(x, y)",
                (ANY, ANY),
                {"(3,),(2,)": ((3,), (2,)), "(2,2),float": ((2, 2), None)},
            ),
            Case("np.append(x, y, axis=0)", (ANY, ANY), {"(2,3),(1,3)": ((2, 3), (1, 3))}),
        ],
        # y only gives the insertion points: np.argsort(y) // 2 repeats one of them
        np.insert: [
            Case(
                "np.insert(x, np.argmax(y), z)",
                (ANY, ANY, ANY),
                {"(4,),(3,),float": ((4,), (3,), None), "(4,),(3,),(2,)": ((4,), (3,), (2,))},
                wrt=(0, 2),
            ),
            Case(
                "np.insert(x, np.argsort(y) // 2, z)",
                (ANY, ANY, ANY),
                {"(2,2),(3,),(3,)": ((2, 2), (3,), (3,))},
                wrt=(0, 2),
            ),
            Case(
                "np.insert(x, np.argsort(y) // 2, z, axis=1)",
                (ANY, ANY, ANY),
                {
                    "(2,3),(3,),(2,1)": ((2, 3), (3,), (2, 1)),
                    "(2,3),(3,),(3,)": ((2, 3), (3,), (3,)),
                },
                wrt=(0, 2),
            ),
        ],
    }
)
if hasattr(np, "matrix_transpose"):  # NumPy 2
    CASES[np.matrix_transpose] = shaped("np.matrix_transpose(x)", (2, 3), (2, 3, 4))
if hasattr(np, "unstack"):  # NumPy 2.1
    CASES[np.unstack] = [
        shaped("np.unstack(x)[1]", (3,), (3, 2)),
        shaped("np.unstack(x, axis=1)[0]", (2, 3, 2)),
    ]

# np.rollaxis, np.gradient and the index expressions np.r_[...], np.c_[...]
CASES.update(
    {
        np.rollaxis: [
            shaped("np.rollaxis(x, 2)", (2, 3, 4)),
            shaped("np.rollaxis(x, 0, 3)", (2, 3, 4)),
        ],
        np.gradient: [
            shaped("np.gradient(x)", (5,), (2,)),
            shaped("np.gradient(x, 0.5, edge_order=2)", (5,)),
            shaped("np.gradient(x, 2.0, 0.5)[0]", (3, 4)),
            shaped("np.gradient(x)[1]", (3, 4)),
            shaped("np.gradient(x, np.array([0.0, 0.5, 1.5, 1.7]), axis=0)", (4, 3)),
            shaped("np.gradient(x, axis=1, edge_order=2)", (2, 4)),
        ],
        shapes.index_r: [
            joined("np.r_[x, y, 0.5, 0:2]", (2,), (3,)),
            joined("np.r_[x, 2 * y]", (1, 3), (2, 3)),
            joined("np.r_[x, y]", None, (3,)),
        ],
        shapes.index_c: [
            joined("np.c_[x, y]", (3,), (3,)),
            joined("np.c_[x, y]", (3, 2), (3,)),
        ],
    }
)
