"""Rules for NumPy's shape operations: reshaping, joining and splitting.

They are linear, so the JVP applies the same operation to the tangent and
the VJP undoes it on the cotangent, with a helper from
:mod:`s2s_ad.shapes` where NumPy has no inverse of its own.
"""

from __future__ import annotations

import numpy as np

from . import fixed
from .numpy import NAMES, register_table

namespace = fixed(NAMES)  # its own object: tests and docs tell the tables apart by it

SHAPE_OPS = {
    np.reshape: (("x", "shape"), "np.reshape(dx, shape)", "np.reshape(g, np.shape(x))"),
    np.ravel: (("x",), "np.ravel(dx)", "np.reshape(g, np.shape(x))"),
    np.transpose: (("x", "axes=None"), "np.transpose(dx, axes)", "untranspose(g, axes)"),
    np.swapaxes: (
        ("x", "axis1", "axis2"),
        "np.swapaxes(dx, axis1, axis2)",
        "np.swapaxes(g, axis1, axis2)",
    ),
    np.moveaxis: (
        ("x", "source", "destination"),
        "np.moveaxis(dx, source, destination)",
        "np.moveaxis(g, destination, source)",
    ),
    np.expand_dims: (("x", "axis"), "np.expand_dims(dx, axis)", "np.reshape(g, np.shape(x))"),
    np.squeeze: (("x", "axis=None"), "np.squeeze(dx, axis=axis)", "np.reshape(g, np.shape(x))"),
    np.broadcast_to: (("x", "shape"), "np.broadcast_to(dx, shape)", "unbroadcast(g, x)"),
    np.flip: (("x", "axis=None"), "np.flip(dx, axis=axis)", "np.flip(g, axis=axis)"),
    np.roll: (
        ("x", "shift", "axis=None"),
        "np.roll(dx, shift, axis=axis)",
        "np.roll(g, np.negative(shift), axis=axis)",
    ),
    np.tile: (("x", "reps"), "np.tile(dx, reps)", "untile(g, x, reps)"),
    np.repeat: (
        ("x", "repeats", "axis=None"),
        "np.repeat(dx, repeats, axis=axis)",
        "unrepeat(g, x, repeats, axis=axis)",
    ),
    np.diag: (("x", "k=0"), "np.diag(dx, k=k)", "diag_vjp(g, x, k=k)"),
    np.diagonal: (
        ("x", "offset=0", "axis1=0", "axis2=1"),
        "np.diagonal(dx, offset=offset, axis1=axis1, axis2=axis2)",
        "diagonal_vjp(g, x, offset=offset, axis1=axis1, axis2=axis2)",
    ),
    np.triu: (("x", "k=0"), "np.triu(dx, k=k)", "np.triu(g, k=k)"),
    np.tril: (("x", "k=0"), "np.tril(dx, k=k)", "np.tril(g, k=k)"),
    np.pad: (("x", "pad_width"), "np.pad(dx, pad_width)", "unpad(g, x, pad_width)"),
    np.atleast_1d: (("x",), "np.atleast_1d(dx)", "np.reshape(g, np.shape(x))"),
    np.atleast_2d: (("x",), "np.atleast_2d(dx)", "np.reshape(g, np.shape(x))"),
    np.real: (("x",), "np.real(dx)", "g"),
    np.copy: (("x",), "np.copy(dx)", "g"),
    np.asarray: (("x",), "np.asarray(dx)", "unarray(g, x)"),
    np.array: (("x",), "np.array(dx)", "unarray(g, x)"),
}
register_table(SHAPE_OPS, namespace)

# Joining and splitting: the joined arrays come in one list (or tuple).
JOINS = {
    np.concatenate: (
        ("xs", "axis=0"),
        "np.concatenate(dxs, axis=axis)",
        "unconcatenate(g, xs, axis=axis)",
    ),
    np.stack: (("xs", "axis=0"), "np.stack(dxs, axis=axis)", "unstack(g, xs, axis=axis)"),
    np.hstack: (("xs",), "np.hstack(dxs)", "unhstack(g, xs)"),
    np.vstack: (("xs",), "np.vstack(dxs)", "unvstack(g, xs)"),
    np.split: (
        ("x", "indices_or_sections", "axis=0"),
        "np.split(dx, indices_or_sections, axis=axis)",
        "np.concatenate(g, axis=axis)",
    ),
}
register_table(JOINS, namespace)
