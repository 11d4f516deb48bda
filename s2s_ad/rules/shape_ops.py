"""Rules for NumPy's shape operations: reshaping, selecting, sorting, joining and splitting.

They are linear (sorting is, for a fixed order), so the JVP applies the
same operation to the tangent and the VJP undoes it on the cotangent, with
a helper from :mod:`s2s_ad.runtime.shape_ops` where NumPy has no inverse of its own.
"""

from __future__ import annotations

import numpy as np

from .core import fixed
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
    np.atleast_3d: (("x",), "np.atleast_3d(dx)", "np.reshape(g, np.shape(x))"),
    np.fliplr: (("m",), "np.fliplr(dm)", "np.fliplr(g)"),
    np.flipud: (("m",), "np.flipud(dm)", "np.flipud(g)"),
    np.rot90: (
        ("m", "k=1", "axes=(0, 1)"),
        "np.rot90(dm, k, axes=axes)",
        "np.rot90(g, -k, axes=axes)",
    ),
    np.resize: (
        ("a", "new_shape"),
        "np.resize(da, new_shape)",
        "ungather(g, a, np.resize(positions(a), new_shape))",
    ),
    np.diff: (
        ("a", "n=1", "axis=-1"),
        "np.diff(da, n=n, axis=axis)",
        "undiff(g, a, n=n, axis=axis)",
    ),
    # prepend= and append= (np.diff), to_begin= and to_end= (np.ediff1d) are left out:
    # a call that passes them is refused
    np.ediff1d: (("ary",), "np.ediff1d(dary)", "undiff(g, ary)"),
}
if hasattr(np, "matrix_transpose"):  # NumPy 2 (np.linalg's own is in rules/linalg.py)
    SHAPE_OPS[np.matrix_transpose] = (
        ("x",),
        "np.matrix_transpose(dx)",
        "np.matrix_transpose(g)",
    )
register_table(SHAPE_OPS, namespace)

# Selections: each entry of the result is a copy of one entry of an argument.
# The VJP makes the same selection of `positions(x)`, labels that say where each
# entry came from, and `ungather` sums `g` back there (copies accumulate).
# `out=` is no parameter of these rules: a call that passes it by keyword is refused.
SELECTIONS = {
    np.take: (
        ("a", "indices", "axis=None", "mode='raise'"),
        "np.take(da, indices, axis=axis, mode=mode)",
        "ungather(g, a, np.take(positions(a), indices, axis=axis, mode=mode))",
    ),
    np.take_along_axis: (
        ("arr", "indices", "axis=-1"),
        "np.take_along_axis(darr, indices, axis=axis)",
        "ungather(g, arr, np.take_along_axis(positions(arr), indices, axis=axis))",
    ),
    np.compress: (
        ("condition", "a", "axis=None"),
        [None, "np.compress(condition, da, axis=axis)"],
        [None, "ungather(g, a, np.compress(condition, positions(a), axis=axis))"],
    ),
    np.extract: (
        ("condition", "arr"),
        [None, "np.extract(condition, darr)"],
        [None, "ungather(g, arr, np.extract(condition, positions(arr)))"],
    ),
    np.delete: (
        ("arr", "obj", "axis=None"),
        "np.delete(darr, obj, axis=axis)",
        "ungather(g, arr, np.delete(positions(arr), obj, axis=axis))",
    ),
    np.choose: (
        ("a", "choices", "mode='raise'"),
        [None, "np.choose(a, dchoices, mode=mode)"],
        [None, "ungather(g, choices, np.choose(a, positions(choices), mode=mode))"],
    ),
    np.select: (
        ("condlist", "choicelist", "default=0"),
        [
            None,
            "np.select(condlist, dchoicelist, zeros_like(default))",
            "np.select(condlist, zeros_like(choicelist), ddefault)",
        ],
        [
            None,
            "ungather(g, choicelist, "
            "np.select(condlist, positions(choicelist), elsewhere(default)))",
            "ungather(g, default, np.select(condlist, elsewhere(choicelist), positions(default)))",
        ],
    ),
    # Sorting reorders the entries along `axis`; at ties the derivative is not unique.
    np.sort: (
        ("a", "axis=-1", "kind=None", "order=None", "stable=None"),
        "reordered(da, a, out, axis=axis)",
        "unreordered(g, a, out, axis=axis)",
    ),
    np.partition: (
        ("a", "kth", "axis=-1", "kind='introselect'"),
        "reordered(da, a, out, axis=axis)",
        "unreordered(g, a, out, axis=axis)",
    ),
}
register_table(SELECTIONS, namespace)

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
    np.array_split: (
        ("ary", "indices_or_sections", "axis=0"),
        "np.array_split(dary, indices_or_sections, axis=axis)",
        "np.concatenate(g, axis=axis)",
    ),
    np.hsplit: (
        ("ary", "indices_or_sections"),
        "np.hsplit(dary, indices_or_sections)",
        "np.hstack(g)",
    ),
    np.vsplit: (
        ("ary", "indices_or_sections"),
        "np.vsplit(dary, indices_or_sections)",
        "np.vstack(g)",
    ),
    np.dsplit: (
        ("ary", "indices_or_sections"),
        "np.dsplit(dary, indices_or_sections)",
        "np.dstack(g)",
    ),
    np.column_stack: (("tup",), "np.column_stack(dtup)", "uncolumn_stack(g, tup)"),
    np.dstack: (("tup",), "np.dstack(dtup)", "undstack(g, tup)"),
    np.block: (
        ("arrays",),
        "np.block(darrays)",
        "ungather(g, arrays, np.block(positions(arrays)))",
    ),
    np.append: (
        ("arr", "values", "axis=None"),
        [
            "np.append(darr, zeros_like(values), axis=axis)",
            "np.append(zeros_like(arr), dvalues, axis=axis)",
        ],
        [
            "ungather(g, arr, np.append(positions(arr), elsewhere(values), axis=axis))",
            "ungather(g, values, np.append(elsewhere(arr), positions(values), axis=axis))",
        ],
    ),
    np.insert: (
        ("arr", "obj", "values", "axis=None"),
        [
            "np.insert(darr, obj, zeros_like(values), axis=axis)",
            None,
            "np.insert(zeros_like(arr), obj, dvalues, axis=axis)",
        ],
        [
            "ungather(g, arr, np.insert(positions(arr), obj, elsewhere(values), axis=axis))",
            None,
            "ungather(g, values, np.insert(elsewhere(arr), obj, positions(values), axis=axis))",
        ],
    ),
}
if hasattr(np, "unstack"):  # NumPy 2.1
    JOINS[np.unstack] = (("x", "axis=0"), "np.unstack(dx, axis=axis)", "np.stack(g, axis=axis)")
register_table(JOINS, namespace)
