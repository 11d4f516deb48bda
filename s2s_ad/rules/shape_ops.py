"""Rules for NumPy's shape operations: reshaping, selecting, sorting, joining and splitting.

They are linear (sorting is, for a fixed order): each entry is the call, whose JVP is the
same call on the tangent, and the VJP, which undoes the operation on the cotangent, with
a helper from :mod:`s2s_ad.runtime.shape_ops` where NumPy has no inverse of its own.
"""

from __future__ import annotations

import numpy as np

from ..runtime import shape_ops as shapes
from .core import fixed, refused, variadic_rule
from .numpy import NAMES, register_table

namespace = fixed(NAMES)  # its own object: tests and docs tell the tables apart by it

UNSHAPED = "np.reshape(g, np.shape(x))"
SHAPE_OPS = {
    np.reshape: ("np.reshape(x, shape)", UNSHAPED),
    np.ravel: ("np.ravel(x)", UNSHAPED),
    np.transpose: ("np.transpose(x, axes=None, /)", "untranspose(g, axes)"),
    np.swapaxes: ("np.swapaxes(x, axis1, axis2)", "np.swapaxes(g, axis1, axis2)"),
    np.moveaxis: ("np.moveaxis(x, source, destination)", "np.moveaxis(g, destination, source)"),
    np.expand_dims: ("np.expand_dims(x, axis)", UNSHAPED),
    np.squeeze: ("np.squeeze(x, axis=None)", UNSHAPED),
    np.broadcast_to: ("np.broadcast_to(x, shape)", "unbroadcast(g, x)"),
    np.flip: ("np.flip(x, axis=None)", "np.flip(g, axis=axis)"),
    np.roll: ("np.roll(x, shift, axis=None)", "np.roll(g, np.negative(shift), axis=axis)"),
    np.tile: ("np.tile(x, reps)", "untile(g, x, reps)"),
    np.repeat: ("np.repeat(x, repeats, axis=None)", "unrepeat(g, x, repeats, axis=axis)"),
    np.diag: ("np.diag(x, k=0)", "diag_vjp(g, x, k=k)"),
    np.diagonal: (
        "np.diagonal(x, offset=0, axis1=0, axis2=1)",
        "diagonal_vjp(g, x, offset=offset, axis1=axis1, axis2=axis2)",
    ),
    np.triu: ("np.triu(x, k=0)", "np.triu(g, k=k)"),
    np.tril: ("np.tril(x, k=0)", "np.tril(g, k=k)"),
    np.pad: ("np.pad(x, pad_width)", "unpad(g, x, pad_width)"),
    np.atleast_1d: ("np.atleast_1d(x)", UNSHAPED),
    np.atleast_2d: ("np.atleast_2d(x)", UNSHAPED),
    np.real: ("np.real(x)", "g"),
    np.copy: ("np.copy(x)", "g"),
    np.asarray: ("np.asarray(x)", "unarray(g, x)"),
    np.array: ("np.array(x)", "unarray(g, x)"),
    np.atleast_3d: ("np.atleast_3d(x)", UNSHAPED),
    np.fliplr: ("np.fliplr(m)", "np.fliplr(g)"),
    np.flipud: ("np.flipud(m)", "np.flipud(g)"),
    np.rot90: ("np.rot90(m, k=1, /, axes=(0, 1))", "np.rot90(g, -k, axes=axes)"),
    np.resize: ("np.resize(a, new_shape)", "ungather(g, a, np.resize(positions(a), new_shape))"),
    np.diff: ("np.diff(a, n=1, axis=-1)", "undiff(g, a, n=n, axis=axis)"),
    # prepend= and append= (np.diff), to_begin= and to_end= (np.ediff1d) are left out:
    # a call that passes them is refused
    np.ediff1d: ("np.ediff1d(ary)", "undiff(g, ary)"),
}
if hasattr(np, "matrix_transpose"):  # NumPy 2 (np.linalg's own is in rules/linalg.py)
    SHAPE_OPS[np.matrix_transpose] = ("np.matrix_transpose(x)", "np.matrix_transpose(g)")
register_table(SHAPE_OPS, namespace)

# Selections: each entry of the result is a copy of one entry of an argument.
# The VJP makes the same selection of `positions(x)`, labels that say where each
# entry came from, and `ungather` sums `g` back there (copies accumulate).
# `out=` is no parameter of these rules: a call that passes it by keyword is refused.
SELECTIONS = {
    np.take: (
        "np.take(a, indices, axis=None, mode='raise')",
        "ungather(g, a, np.take(positions(a), indices, axis=axis, mode=mode))",
    ),
    np.take_along_axis: (
        "np.take_along_axis(arr, indices, axis=-1)",
        "ungather(g, arr, np.take_along_axis(positions(arr), indices, axis=axis))",
    ),
    np.compress: (
        "np.compress(condition, a, axis=None)",
        [None, "ungather(g, a, np.compress(condition, positions(a), axis=axis))"],
    ),
    np.extract: (
        "np.extract(condition, arr)",
        [None, "ungather(g, arr, np.extract(condition, positions(arr)))"],
    ),
    np.delete: (
        "np.delete(arr, obj, axis=None)",
        "ungather(g, arr, np.delete(positions(arr), obj, axis=axis))",
    ),
    np.choose: (
        "np.choose(a, choices, mode='raise')",
        [None, "ungather(g, choices, np.choose(a, positions(choices), mode=mode))"],
    ),
    # Linear in (choicelist, default) together: each JVP keeps the other one at zero.
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
    np.concatenate: ("np.concatenate(xs, axis=0)", "unconcatenate(g, xs, axis=axis)"),
    np.stack: ("np.stack(xs, axis=0)", "unstack(g, xs, axis=axis)"),
    np.hstack: ("np.hstack(xs)", "unhstack(g, xs)"),
    np.vstack: ("np.vstack(xs)", "unvstack(g, xs)"),
    np.split: ("np.split(x, indices_or_sections, axis=0)", "np.concatenate(g, axis=axis)"),
    np.array_split: (
        "np.array_split(ary, indices_or_sections, axis=0)",
        "np.concatenate(g, axis=axis)",
    ),
    np.hsplit: ("np.hsplit(ary, indices_or_sections)", "np.hstack(g)"),
    np.vsplit: ("np.vsplit(ary, indices_or_sections)", "np.vstack(g)"),
    np.dsplit: ("np.dsplit(ary, indices_or_sections)", "np.dstack(g)"),
    np.column_stack: ("np.column_stack(tup)", "uncolumn_stack(g, tup)"),
    np.dstack: ("np.dstack(tup)", "undstack(g, tup)"),
    np.block: ("np.block(arrays)", "ungather(g, arrays, np.block(positions(arrays)))"),
    # Linear in (arr, values) together: each JVP keeps the other one at zero.
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
    JOINS[np.unstack] = ("np.unstack(x, axis=0)", "np.stack(g, axis=axis)")
register_table(JOINS, namespace)

# More shape operations: np.rollaxis, and the index expressions np.r_[a, b, ...] and
# np.c_[a, b], which the lowering writes as calls of index_r and index_c on the tuple of items
# (a constant slice item, np.r_[0:3, x], is its array already).
MORE_SHAPE_OPS = {
    np.rollaxis: (
        "np.rollaxis(a, axis, start=0)",
        "untranspose(g, rolled_axes(np.ndim(a), axis, start))",
    ),
    shapes.index_r: ("index_r(items)", "ungather(g, items, index_r(positions(items)))"),
    shapes.index_c: ("index_c(items)", "ungather(g, items, index_c(positions(items)))"),
}
register_table(MORE_SHAPE_OPS, namespace)


# np.gradient(f, *spacing): linear in f; the spacings (numbers or coordinates) are constants.
SPACING_REFUSED = refused(
    "the derivative of np.gradient with respect to its spacing is not supported",
    "pass constant spacings or coordinates (or ad.stop_gradient(x))",
)


def _gradient_rule(positional: int) -> tuple:
    """``np.gradient(f, spacing1, ...)`` with ``positional - 1`` spacings."""
    spacings = [f"spacing{k}" for k in range(1, positional)]
    spacing = f"make_tuple({', '.join(spacings)})"
    options = "axis=axis, edge_order=edge_order"
    call = f"np.gradient({', '.join(['f', *spacings])}, axis=None, edge_order=1)"
    jvp = [f"spaced_gradient(df, {spacing}, {options})"] + [SPACING_REFUSED] * len(spacings)
    vjp = [f"gradient_vjp(g, {spacing}, {options})"] + [SPACING_REFUSED] * len(spacings)
    return call, jvp, vjp


variadic_rule(
    np.gradient,
    (
        ("f", "*varargs", "axis=None", "edge_order=1"),
        ["spaced_gradient(df, varargs, axis=axis, edge_order=edge_order)"],
        ["gradient_vjp(g, varargs, axis=axis, edge_order=edge_order)"],
    ),
    _gradient_rule,
    namespace=namespace,
).tuple_result = True
