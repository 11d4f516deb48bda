"""Rules for the helpers that emitted derivatives call, so that derivatives can be
differentiated again: forward mode over the emitted gradient gives Hessian-vector products.

Most helpers are linear in the (co)tangent they carry, called ``v`` (or ``t``) here: an
entry writes the helper's call and its VJP, the transposed map, often the primitive the
helper came from (``untile(v, x, reps)`` has the VJP ``np.tile(g, reps)``); the JVP is
the call on ``dv`` (see :func:`.core.linear_rule`; ``LINEAR`` marks it where other
parameters have JVPs of their own).  Arguments that only give shapes, axes or indices
have no templates.  Where a helper also depends on
a primal argument nonlinearly, the templates use primitives and helpers that have rules
themselves; families whose derivatives grow (products, matrix powers, chains) take any
number of directions, so that every derivative is another member of the family.  A few
derivatives through decompositions are refused with a message that says so.

The operand a helper differentiates is sometimes chosen by an argument known only at run
time (``einsum_vjp(g, subscripts, k, *operands)``): ``pick(k == 1, g, operand1)`` puts a
cotangent in place of operand ``k``, and a factor ``(k != 1)`` drops a term for it.

These rules stay out of ``docs/numpy.md``: users do not call these functions.
"""

from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np

from .. import runtime
from ..runtime import arrays, linalg
from ..runtime import shape_ops as shapes
from .core import (
    LINEAR,
    deterministic_check,
    impure,
    lookup,
    nondifferentiable,
    refused,
    substitute,
    variadic_rule,
    verified_on_complex,
)
from .numpy import REDUCE, namespace, register_table

# The functions ruled here, which the generated docs leave out.
FUNCTIONS: List[object] = []
# (table, functions in it whose results are tuples or lists), as ``register_table`` takes them
TABLES: List[tuple] = []
# (function, specialize, the number of arguments shown, whether it returns a list)
VARIADIC: List[tuple] = []


def register_rules(namespace: Callable) -> None:
    """Register every rule of this module in the NumPy table's ``namespace``.

    Called when this module is imported.  Results that are tuples or lists get their
    tangents added item by item in forward mode.
    """
    FUNCTIONS.clear()
    nondifferentiable(
        shapes.positions, shapes.elsewhere, linalg.tensorsolve_order, shapes.rolled_axes
    )
    # has_aux: the aux is passed through, never differentiated; its check runs where written,
    # before the output is taken from the pair
    nondifferentiable(runtime.aux_of)
    impure(runtime.aux_of)
    # a gradient's check of an output that does not depend on the arguments
    nondifferentiable(runtime.check_scalar_output)
    impure(runtime.check_scalar_output)
    impure(runtime.unshared)  # kept where the written value is dead: it refuses a write
    impure(runtime.not_a_dict)
    impure(runtime.at_least)
    # the refusal of `x.base` (memory, not values) on arrays, where it runs, in every sweep
    nondifferentiable(runtime.check_memory_attribute)
    impure(runtime.check_memory_attribute)
    deterministic_check(runtime.check_memory_attribute)
    # whether a name is a view of another, before a write Python makes in place: it may refuse
    nondifferentiable(runtime.shares)
    impure(runtime.shares)
    for table, tuple_results in TABLES:
        register_table(table, namespace)
        FUNCTIONS.extend(table)
        for fn in tuple_results:
            lookup(fn).tuple_result = True
    for fn, specialize, shown, listed in VARIADIC:
        rule = variadic_rule(fn, specialize(shown), specialize, namespace=namespace)
        rule.tuple_result = listed
        FUNCTIONS.append(fn)


# ------------------------------------------------------------------ runtime

RUNTIME = {
    runtime.getitem_vjp: ("getitem_vjp(v, x, index)", "taken(g, index, v)"),
    runtime.taken: ("taken(y, index, v)", "getitem_vjp(g, y, index)"),
    runtime.field_vjp: ("field_vjp(v, x, name)", "field_tangent(g, x, name)"),
    runtime.field_tangent: ("field_tangent(v, x, name)", "field_vjp(g, x, name)"),
    runtime.field_cleared: ("field_cleared(v, x, name)", "field_cleared(g, x, name)"),
    runtime.field_set: (
        ("d", "x", "name", "value"),
        ["field_cleared(dd, x, name)", None, None, "field_set(zeros_like(d), x, name, dvalue)"],
        ["field_cleared(g, x, name)", None, None, "field_tangent(g, x, name)"],
    ),
    runtime.add_at: (
        ("acc", "index", "v"),
        ["dacc", None, "getitem_vjp(dv, acc, index)"],
        ["g", None, "taken(g, index, v)"],
    ),
    # an item write as a value: the written item's cotangent goes to the value, the rest to x
    runtime.updated: (
        ("x", "index", "value"),
        ["cleared(dx, index)", None, "unwritten(dvalue, x, index, value)"],
        ["cleared(g, index)", None, "written_vjp(g, index, value)"],
    ),
    # ``xs.append(v)`` as a value in reverse mode: the last item's cotangent goes to v
    runtime.appended: (
        ("items", "value"),
        ["appended(ditems, zeros_like(value))", "appended(zeros_like(items), dvalue)"],
        ["initial(g, value)", "last(g, items)"],
    ),
    runtime.initial: ("initial(v, last)", "appended(g, zeros_like(last))"),
    runtime.last: ("last(v, rest)", "appended(zeros_like(rest), g)"),
    runtime.part: ("part(v, index, whole)", "getitem_vjp(g, whole, index)"),
    runtime.cleared: ("cleared(v, index)", "cleared(g, index)"),
    # the check before a write into an object another name may hold: x passes through
    runtime.unshared: ("unshared(x, other, message)", "g"),
    # the check that a `for` loop does not walk a dict by position: the sequence passes through
    runtime.not_a_dict: ("not_a_dict(x, message)", "g"),
    # the check that a sequence zipped with functions has an item per function: it passes
    runtime.at_least: ("at_least(x, count, message)", "g"),
    # a write through a view of base (shared): base takes the view's new value at index
    runtime.synced: (
        ("base", "shared", "index", "x"),
        ["kept(dbase, shared, index)", None, None, "synced(zeros_like(base), shared, index, dx)"],
        ["kept(g, shared, index)", None, None, "resynced(zeros_like(x), shared, g, index)"],
    ),
    # the view taken again from base's new value (shared), or x
    runtime.resynced: (
        ("x", "shared", "base", "index"),
        ["kept(dx, shared, None)", None, "resynced(zeros_like(x), shared, dbase, index)", None],
        ["kept(g, shared, None)", None, "synced(zeros_like(base), shared, index, g)", None],
    ),
    runtime.kept: ("kept(v, shared, index)", "kept(g, shared, index)"),
    runtime.written_vjp: ("written_vjp(x, index, value)", "unwritten(g, x, index, value)"),
    runtime.unwritten: ("unwritten(v, x, index, value)", "written_vjp(g, index, value)"),
    runtime.as_structure: ("as_structure(x, like)", "as_structure(g, x)"),
    runtime.sum_vjp: ("sum_vjp(v, x)", "builtin_sum(g)"),
    runtime.add: (("x", "y"), ["dx", "dy"], ["g", "g"]),
    runtime.pick: (
        ("cond", "x", "y"),
        [None, "pick(cond, dx, zeros_like(y))", "pick(cond, zeros_like(x), dy)"],
        [None, "pick(cond, g, zeros_like(x))", "pick(cond, zeros_like(y), g)"],
    ),
}
LISTED = (runtime.add_at, runtime.add, runtime.appended, runtime.initial, runtime.field_set)
TABLES.append((RUNTIME, LISTED))

# ------------------------------------------------------------------ shapes: linear maps and
# their transposes, the shape operations themselves

SHAPES = {
    shapes.untranspose: ("untranspose(v, axes=None, /)", "np.transpose(g, axes)"),
    shapes.untile: ("untile(v, x, reps)", "np.tile(g, reps)"),
    shapes.unrepeat: ("unrepeat(v, x, repeats, axis=None)", "np.repeat(g, repeats, axis=axis)"),
    shapes.diag_vjp: ("diag_vjp(v, x, k=0)", "np.diag(g, k=k)"),
    shapes.diagonal_vjp: (
        "diagonal_vjp(v, x, offset=0, axis1=0, axis2=1)",
        "np.diagonal(g, offset=offset, axis1=axis1, axis2=axis2)",
    ),
    shapes.unpad: ("unpad(v, x, pad_width)", "np.pad(g, pad_width)"),
    shapes.unconcatenate: ("unconcatenate(v, xs, axis=0)", "np.concatenate(g, axis=axis)"),
    shapes.unstack: ("unstack(v, xs, axis=0)", "np.stack(g, axis=axis)"),
    shapes.unhstack: ("unhstack(v, xs)", "np.hstack(g)"),
    shapes.unvstack: ("unvstack(v, xs)", "np.vstack(g)"),
    shapes.uncolumn_stack: ("uncolumn_stack(v, xs)", "np.column_stack(g)"),
    shapes.undstack: ("undstack(v, xs)", "np.dstack(g)"),
    shapes.unarray: ("unarray(v, x)", "np.array(g)"),
    shapes.ungather: ("ungather(v, xs, sources)", "gathered(g, sources, v)"),
    shapes.gathered: ("gathered(y, sources, v)", "ungather(g, y, sources)"),
    # (the order is piecewise constant in x and in the sorted y)
    shapes.reordered: ("reordered(t, x, y, axis=-1)", "unreordered(g, x, y, axis=axis)"),
    shapes.unreordered: ("unreordered(v, x, y, axis=-1)", "reordered(g, x, y, axis=axis)"),
    shapes.undiff: ("undiff(v, x, n=1, axis=-1)", "diff_like(g, v, n=n, axis=axis)"),
    shapes.diff_like: ("diff_like(y, v, n=1, axis=-1)", "undiff(g, y, n=n, axis=axis)"),
}
TABLES.append((SHAPES, ()))
# np.gradient's differences and their transpose (a list of arrays for several axes)
GRADIENTS = {
    shapes.spaced_gradient: (
        "spaced_gradient(v, spacing=(), axis=None, edge_order=1)",
        "gradient_vjp(g, spacing, axis=axis, edge_order=edge_order)",
    ),
    shapes.gradient_vjp: (
        "gradient_vjp(v, spacing=(), axis=None, edge_order=1)",
        "spaced_gradient(g, spacing, axis=axis, edge_order=edge_order)",
    ),
}
TABLES.append((GRADIENTS, (shapes.spaced_gradient,)))

# ------------------------------------------------------------------ reductions and moments

MOMENTS = "axis=axis, ddof=ddof, keepdims=keepdims"
VARIANCE = "axis=None, ddof=0, keepdims=False"


def _nan_at_x(value: str) -> str:
    """``value`` with NaN where ``x`` has NaN: a NaN-ignoring helper then skips those entries."""
    return f"where(isnan(x), nan, {value})"


# var_jvp(t, x) = sum(2 (x - mean) t) / (N - ddof) is bilinear and symmetric in (t, x), and
# var_vjp(v, x) is its transpose in t: their derivatives are each other.
MOMENT_HELPERS = {}
for prefix, centered in {"": lambda y: y, "nan": _nan_at_x}.items():
    vjp, jvp = getattr(arrays, f"{prefix}var_vjp"), getattr(arrays, f"{prefix}var_jvp")
    MOMENT_HELPERS[vjp] = (
        f"{prefix}var_vjp(v, x, {VARIANCE})",
        [LINEAR, f"{prefix}var_vjp(v, {centered('dx')}, {MOMENTS})"],
        [f"{prefix}var_jvp(g, x, {MOMENTS})", f"{prefix}var_vjp(v, {centered('g')}, {MOMENTS})"],
    )
    MOMENT_HELPERS[jvp] = (
        f"{prefix}var_jvp(t, x, {VARIANCE})",
        [LINEAR, f"{prefix}var_jvp(t, {centered('dx')}, {MOMENTS})"],
        [f"{prefix}var_vjp(g, x, {MOMENTS})", f"{prefix}var_vjp(g, {centered('t')}, {MOMENTS})"],
    )
MOMENT_HELPERS[arrays.nanmean_vjp] = (
    "nanmean_vjp(v, x, axis=None, keepdims=False)",
    f"np.nanmean({_nan_at_x('g')}, {REDUCE})",
)
TABLES.append((MOMENT_HELPERS, ()))

# np.average(a, axis, weights) = sum(W a) / sum(W), W the weights laid along the axis.
SPREAD_V = "unreduce(v, a, axis, keepdims)"
SPREAD_G = "unreduce(g, a, axis, keepdims)"


def _along(weights: str) -> str:
    return f"weights_along(a, axis, {weights})"


TOTAL = f"np.sum({_along('weights')}, axis=axis, keepdims=True)"
REDUCED_TOTAL = f"np.sum({_along('weights')}, {REDUCE})"
CENTERED = "(a - unreduce(m, a, axis, keepdims))"
# m: the average; the helpers are linear in (a - m), so their derivative in m is the helper
# itself at a = 0, m = dm
AVERAGE = "a, axis, weights, m, keepdims=False"
AVERAGE_HELPERS = {
    arrays.weights_along: (
        "weights_along(a, axis, weights)",
        [None, None, "unweights_along(g, a, axis, weights)"],
    ),
    arrays.unweights_along: ("unweights_along(v, a, axis, weights)", "weights_along(a, axis, g)"),
    arrays.average_vjp_a: (
        "average_vjp_a(v, a, axis=None, weights=None, /, keepdims=False)",
        [
            LINEAR,
            None,
            None,
            f"{SPREAD_V} * ({_along('dweights')} - {_along('weights')}"
            f" * np.sum({_along('dweights')}, axis=axis, keepdims=True) / {TOTAL}) / {TOTAL}",
        ],
        [
            "np.average(g, axis, weights, keepdims=keepdims)",
            None,
            None,
            f"unweights_along(({SPREAD_V} * g - np.sum({SPREAD_V} * g * {_along('weights')},"
            f" axis=axis, keepdims=True) / {TOTAL}) / {TOTAL}, a, axis, weights)",
        ],
    ),
    arrays.average_vjp_weights: (
        f"average_vjp_weights(v, {AVERAGE})",
        [
            LINEAR,
            "average_vjp_weights(v, da, axis, weights, zeros_like(m), keepdims=keepdims)",
            None,
            f"-average_vjp_weights(v * np.sum({_along('dweights')}, {REDUCE}) / {REDUCED_TOTAL},"
            " a, axis, weights, m, keepdims=keepdims)",
            "average_vjp_weights(v, zeros_like(a), axis, weights, dm, keepdims=keepdims)",
        ],
        [
            "average_jvp_weights(g, a, axis, weights, m, keepdims=keepdims)",
            f"{SPREAD_V} * {_along('g')} / {TOTAL}",
            None,
            f"unweights_along(-np.sum({_along('g')} * {SPREAD_V} * {CENTERED}, axis=axis,"
            f" keepdims=True) / {TOTAL} ** 2, a, axis, weights)",
            f"-np.sum({SPREAD_V} * {_along('g')} / {TOTAL}, {REDUCE})",
        ],
    ),
    arrays.average_jvp_weights: (
        f"average_jvp_weights(t, {AVERAGE})",
        [
            LINEAR,
            "average_jvp_weights(t, da, axis, weights, zeros_like(m), keepdims=keepdims)",
            None,
            "-(average_jvp_weights(t, a, axis, weights, m, keepdims=keepdims)"
            f" * np.sum({_along('dweights')}, {REDUCE}) / {REDUCED_TOTAL})",
            "average_jvp_weights(t, zeros_like(a), axis, weights, dm, keepdims=keepdims)",
        ],
        [
            "average_vjp_weights(g, a, axis, weights, m, keepdims=keepdims)",
            f"{SPREAD_G} * {_along('t')} / {TOTAL}",
            None,
            "-unweights_along(unreduce(g * average_jvp_weights(t, a, axis, weights, m,"
            f" keepdims=keepdims) / {REDUCED_TOTAL}, a, axis, keepdims), a, axis, weights)",
            f"-np.sum({SPREAD_G} * {_along('t')} / {TOTAL}, {REDUCE})",
        ],
    ),
}
TABLES.append((AVERAGE_HELPERS, ()))

# ------------------------------------------------------------------ families of derivatives

# A family's ``derivative(*fixed, *us)`` is an m-th derivative along the directions ``us``,
# symmetric in them; its ``gradient(v, *fixed, *us)`` is the gradient in the primal argument
# of ``<v, derivative(*fixed, *us)>``.  Each derivative of either is one of the two.


def _directions(count: int) -> List[str]:
    return [f"u{k}" for k in range(count)]


def _call(fn: str, *parts: object) -> str:
    return f"{fn}({', '.join(str(p) for p in parts if p != '')})"


def _replaced(us: List[str], k: int, by: str) -> str:
    """The directions ``us``, with ``by`` in place of the ``k``-th."""
    return ", ".join(by if j == k else u for j, u in enumerate(us))


def _family(
    derivative: Callable, gradient: Callable, fixed: Sequence[str], primal: str, listed=False
) -> None:
    """Add a derivative/gradient pair to ``VARIADIC``: ``fixed`` are their parameters before
    the directions (with defaults, as in ``template_rule``), ``primal`` the differentiable
    one; ``listed``: the gradient returns a list.  Both are linear in each direction, the
    gradient also in ``v``."""
    names = [f.partition("=")[0] for f in fixed]
    fixed_args = ", ".join(names)
    d_name, g_name = derivative.__name__, gradient.__name__

    def derivative_rule(count: int) -> tuple:
        us = _directions(max(0, count - len(fixed)))
        every = ", ".join(us)
        jvp = [_call(d_name, fixed_args, every, "d" + n) if n == primal else None for n in names]
        vjp = [_call(g_name, "g", fixed_args, every) if n == primal else None for n in names]
        vjp += [
            _call(g_name, "g", fixed_args, ", ".join(us[:k] + us[k + 1 :])) for k in range(len(us))
        ]
        return _call(d_name, *fixed, *us, "/"), jvp + [LINEAR] * len(us), vjp

    def gradient_rule(count: int) -> tuple:
        us = _directions(max(0, count - len(fixed) - 1))
        every = ", ".join(us)
        jvp = [LINEAR]
        vjp = [_call(d_name, fixed_args, every, "g")]
        for n in names:
            extends = n == primal
            jvp.append(_call(g_name, "v", fixed_args, every, "d" + n) if extends else None)
            vjp.append(_call(g_name, "v", fixed_args, every, "g") if extends else None)
        vjp += [_call(g_name, "v", fixed_args, _replaced(us, k, "g")) for k in range(len(us))]
        return _call(g_name, "v", *fixed, *us, "/"), jvp + [LINEAR] * len(us), vjp

    VARIADIC.append((derivative, derivative_rule, len(fixed) + 2, False))
    VARIADIC.append((gradient, gradient_rule, len(fixed) + 3, listed))


_family(arrays.cumprod_derivative, arrays.cumprod_gradient, ("x", "axis"), "x")
_family(
    arrays.cumulative_derivative,
    arrays.cumulative_vjp,
    ("x", "axis=None", "include_initial=False", "prod=False"),
    "x",
)
_family(linalg.matrix_power_derivative, linalg.matrix_power_gradient, ("a", "n"), "a")
_family(linalg.multi_dot_derivative, linalg.multi_dot_gradient, ("xs",), "xs", listed=True)


def _prod_partials(count: int) -> tuple:
    """``prod_partials(x, axis, *us)``, the gradient of a derivative of ``np.prod``: its
    Jacobian in each argument is a symmetric derivative tensor, so the VJPs are the JVPs
    (the JVPs of the directions, in which it is linear, are the call on their tangents)."""
    us = _directions(max(0, count - 2))
    every = ", ".join(us)
    jvp = [_call("prod_partials", "x", "axis", every, "dx"), None] + [LINEAR] * len(us)
    vjp = [_call("prod_partials", "x", "axis", every, "g"), None]
    vjp += [_call("prod_partials", "x", "axis", _replaced(us, k, "g")) for k in range(len(us))]
    return _call("prod_partials", "x", "axis", *us), jvp, vjp


VARIADIC.append((arrays.prod_partials, _prod_partials, 3, False))

PRODUCT_HELPERS = {
    arrays.prod_others: (
        ("x", "axis=None"),
        "prod_partials(x, axis, dx)",
        "prod_partials(x, axis, g)",
    ),
    arrays.cumprod_jvp: (
        "cumprod_jvp(t, x, axis=None)",
        [LINEAR, "cumprod_derivative(x, axis, t, dx)"],
        ["cumprod_vjp(g, x, axis=axis)", "cumprod_gradient(g, x, axis, t)"],
    ),
    arrays.cumprod_vjp: (
        "cumprod_vjp(v, x, axis=None)",
        [LINEAR, "cumprod_gradient(v, x, axis, dx)"],
        ["cumprod_jvp(g, x, axis=axis)", "cumprod_gradient(v, x, axis, g)"],
    ),
    arrays.cumulative_prod_jvp: (
        "cumulative_prod_jvp(t, x, axis=None, include_initial=False, /)",
        [LINEAR, "cumulative_derivative(x, axis, include_initial, True, t, dx)"],
        [
            "cumulative_vjp(g, x, axis, include_initial, True)",
            "cumulative_vjp(g, x, axis, include_initial, True, t)",
        ],
    ),
    linalg.matrix_power_jvp: (
        "matrix_power_jvp(t, a, n)",
        [LINEAR, "matrix_power_derivative(a, n, t, da)"],
        ["matrix_power_vjp(g, a, n)", "matrix_power_gradient(g, a, n, t)"],
    ),
    linalg.matrix_power_vjp: (
        "matrix_power_vjp(v, a, n)",
        [LINEAR, "matrix_power_gradient(v, a, n, da)"],
        ["matrix_power_jvp(g, a, n)", "matrix_power_gradient(v, a, n, g)"],
    ),
    linalg.multi_dot_jvp: (
        "multi_dot_jvp(ts, xs)",
        [LINEAR, "multi_dot_derivative(xs, ts, dxs)"],
        ["multi_dot_vjp(g, xs)", "multi_dot_gradient(g, xs, ts)"],
    ),
    linalg.multi_dot_vjp: (
        "multi_dot_vjp(v, xs)",
        [LINEAR, "multi_dot_gradient(v, xs, dxs)"],
        ["multi_dot_jvp(g, xs)", "multi_dot_gradient(v, xs, g)"],
    ),
}
TABLES.append((PRODUCT_HELPERS, (linalg.multi_dot_vjp,)))

# ------------------------------------------------------------------ bilinear products

# For a product B(x, y), x_vjp(v, x, y) is linear in v and y (x gives only its shape): its
# transpose in v is B with the cotangent in place of x, in y the other operand's VJP.


def _bilinear(x_vjp: str, y_vjp: str, product: str, option: str = "") -> dict:
    """The rules of the two VJP helpers of a product ``product(x, y)``; ``option`` is a
    parameter with its default (``"axes=2"``), passed on by keyword."""
    name = option.partition("=")[0]
    tail = f", {name}={name}" if option else ""
    params = ", ".join(("v", "x", "y") + ((option,) if option else ()))
    return {
        getattr(arrays, x_vjp): (
            f"{x_vjp}({params})",
            [f"{product}(g, y{tail})", None, f"{y_vjp}(v, g, y{tail})"],
        ),
        getattr(arrays, y_vjp): (
            f"{y_vjp}({params})",
            [f"{product}(x, g{tail})", f"{x_vjp}(v, x, g{tail})", None],
        ),
    }


PRODUCTS = {
    **_bilinear("matmul_vjp_x", "matmul_vjp_y", "matmul"),
    **_bilinear("dot_vjp_x", "dot_vjp_y", "np.dot"),
    **_bilinear("inner_vjp_x", "inner_vjp_y", "np.inner"),
    **_bilinear("kron_vjp_x", "kron_vjp_y", "np.kron"),
    **_bilinear("tensordot_vjp_x", "tensordot_vjp_y", "np.tensordot", "axes=2"),
    arrays.outer_last: (
        "outer_last(x, y)",
        [
            "unbroadcast(np.sum(g * np.expand_dims(y, -2), axis=-1), x)",
            "unbroadcast(np.sum(g * np.expand_dims(x, -1), axis=-2), y)",
        ],
    ),
    arrays.like: ("like(x, value)", [None, "unbroadcast(g, value)"]),
    linalg.vecdot_vjp: (
        "vecdot_vjp(v, x, other, axis=-1)",
        ["np.sum(g * other, axis)", None, "vecdot_vjp(v, other, g, axis=axis)"],
    ),
}
TABLES.append((PRODUCTS, ()))


def _einsum_vjp(count: int) -> tuple:
    """``einsum_vjp(v, subscripts, k, *operands)``: linear in ``v`` and in every operand but
    ``k``, whose place the cotangent takes in the transposes."""
    operands = [f"operand{j}" for j in range(count - 3)]

    def listed(replace) -> str:
        return ", ".join(replace(j, op) for j, op in enumerate(operands))

    def cotangent_at_k(j: int, op: str) -> str:
        return f"pick(k == {j}, g, {op})"

    jvp = [LINEAR, None, None]
    vjp = [f"np.einsum(subscripts, {listed(cotangent_at_k)})", None, None]
    for i in range(len(operands)):
        tangent = listed(lambda j, op, i=i: "d" + op if j == i else op)
        jvp.append(f"(k != {i}) * einsum_vjp(v, subscripts, k, {tangent})")
        others = listed(lambda j, op, i=i: op if j == i else cotangent_at_k(j, op))
        vjp.append(f"(k != {i}) * einsum_vjp(v, subscripts, {i}, {others})")
    return _call("einsum_vjp", "v", "subscripts", "k", *operands), jvp, vjp


VARIADIC.append((arrays.einsum_vjp, _einsum_vjp, 5, False))

# ------------------------------------------------------------------ helpers of one of two
# operands, chosen by ``position`` (0: the first, 1: the second)


def _one_of_two(helper: str, product: str, first: str, second: str, option: str) -> tuple:
    """The rule of ``helper(w, first, second, option, position)``, the cotangent of operand
    ``position`` of ``product(first, second, option=option)``: bilinear in ``w`` and the
    other operand.  ``option`` is a parameter with its default (``"mode='full'"``)."""
    name = option.partition("=")[0]
    at_0, at_1 = f"pick(position == 0, g, {first})", f"pick(position == 1, g, {second})"

    def own(w: str, x: str, y: str, position: str) -> str:
        return f"{helper}({w}, {x}, {y}, {name}, {position})"

    return (
        f"{helper}(w, {first}, {second}, {option}, position=0, /)",
        [
            LINEAR,
            f"(position == 1) * {own('w', 'd' + first, second, 'position')}",
            f"(position == 0) * {own('w', first, 'd' + second, 'position')}",
        ],
        [
            f"{product}({at_0}, {at_1}, {name}={name})",
            f"(position == 1) * {own('w', first, at_1, '0')}",
            f"(position == 0) * {own('w', at_0, second, '1')}",
        ],
    )


POSITIONAL = {
    arrays.convolve_vjp: _one_of_two("convolve_vjp", "np.convolve", "a", "v", "mode='full'"),
    arrays.correlate_vjp: _one_of_two("correlate_vjp", "np.correlate", "a", "v", "mode='valid'"),
    arrays.cross_vjp: _one_of_two("cross_vjp", "np.cross", "a", "b", "axis=None"),
    # linear in w alone: start and stop give only shapes
    arrays.linspace_vjp: (
        "linspace_vjp(w, start, stop, num=50, endpoint=True, axis=0, position=0, /)",
        "np.linspace(pick(position == 0, g, zeros_like(start)),"
        " pick(position == 1, g, zeros_like(stop)), num, endpoint, axis=axis)",
    ),
}
TABLES.append((POSITIONAL, ()))

# ------------------------------------------------------------------ polynomials, sinc,
# trapezoids: linear in the coefficients (samples), smooth in x

CALCULUS = {
    arrays.polyval_slope: (
        "polyval_slope(p, x)",
        [LINEAR, "dx * polyval_derivative(p, x, 2)"],
        ["polyval_vjp_p(g, p, x, 1)", "g * polyval_derivative(p, x, 2)"],
    ),
    arrays.polyval_derivative: (
        "polyval_derivative(p, x, n=1, /)",
        [LINEAR, "dx * polyval_derivative(p, x, n + 1)"],
        ["polyval_vjp_p(g, p, x, n)", "g * polyval_derivative(p, x, n + 1)"],
    ),
    arrays.polyval_vjp_p: (
        "polyval_vjp_p(v, p, x, n=0, /)",
        [LINEAR, None, "polyval_vjp_p(v * dx, p, x, n + 1)"],
        ["polyval_derivative(g, x, n)", None, "v * polyval_derivative(g, x, n + 1)"],
    ),
    # y is sinc(x) wherever emitted code calls this: its dependence is in x's derivative
    arrays.sinc_derivative: (
        ("x", "y"),
        ["dx * sinc_nth_derivative(x, 2)", None],
        ["g * sinc_nth_derivative(x, 2)", None],
    ),
    arrays.sinc_nth_derivative: (
        ("x", "n"),
        "dx * sinc_nth_derivative(x, n + 1)",
        "g * sinc_nth_derivative(x, n + 1)",
    ),
}
if hasattr(np, "trapezoid"):  # NumPy 2; the sample points x enter the widths linearly
    CALCULUS.update(
        {
            arrays.trapezoid_vjp_y: (
                "trapezoid_vjp_y(v, y, x=None, spacing=1.0, axis=-1, /)",
                ["np.trapezoid(g, x, spacing, axis)", None, "trapezoid_vjp_x(v, g, x, axis)"],
            ),
            arrays.trapezoid_vjp_x: (
                "trapezoid_vjp_x(v, y, x, axis=-1, /)",
                ["np.trapezoid(y, g, 1.0, axis)", "trapezoid_vjp_y(v, y, g, 1.0, axis)"],
            ),
            arrays.trapezoid_jvp_x: (
                "trapezoid_jvp_x(t, y, x, axis=-1, /)",
                ["trapezoid_vjp_x(g, y, x, axis)", "trapezoid_vjp_y(g, y, t, 1.0, axis)"],
            ),
        }
    )
TABLES.append((CALCULUS, ()))

# ------------------------------------------------------------------ linear algebra

INV_T = "mT(np.linalg.inv(a))"


def _square(t: str, rows: str) -> str:
    return f"as_square({t}, {rows})"


LINEAR_MAPS = {
    linalg.mT: ("mT(x)", "mT(g)"),
    linalg.phi: ("phi(x)", "phi(g)"),  # a mask: its own transpose
    # a product (bilinear, holomorphic), each term masked where its own (co)tangent factor is 0
    linalg.masked_product: (
        ("weights", "m"),
        ["masked_product(dweights, m)", "masked_product(weights, dm)"],
        [
            "unbroadcast(masked_product(g, m), weights)",
            "unbroadcast(masked_product(weights, g), m)",
        ],
    ),
    linalg.symmetrized: ("symmetrized(x, uplo='L', /)", "onto_triangle(g, uplo)"),
    linalg.onto_triangle: ("onto_triangle(x, uplo='L', /)", "symmetrized(g, uplo)"),
    linalg.as_square: ("as_square(x, ind)", "np.reshape(g, np.shape(x))"),
    linalg.matrix_spread: (
        "matrix_spread(v, x, keepdims=False, /)",
        "np.sum(np.sum(g, axis=-2, keepdims=keepdims), axis=-1, keepdims=keepdims)",
    ),
    linalg.matrix_trace_vjp: (
        "matrix_trace_vjp(v, x, offset=0)",
        "np.sum(np.diagonal(g, offset, -2, -1), axis=-1)",
    ),
}
TABLES.append((LINEAR_MAPS, ()))
verified_on_complex(linalg.masked_product)  # the eigenvectors of np.linalg.eig are complex

# solve, det, slogdet: d(A^-1) = -A^-1 dA A^-1, so each derivative in A is one more solve.
INVERSES = {
    linalg.solve_vjp_b: (
        "solve_vjp_b(v, a, b)",
        [LINEAR, "solve_vjp_b(-(mT(da) @ out), a, b)"],
        ["np.linalg.solve(a, g)", "solve_vjp_a(v, a, np.linalg.solve(a, g))"],
    ),
    linalg.solve_vjp_a: (
        "solve_vjp_a(v, a, x)",
        [LINEAR, "solve_vjp_a(-(mT(da) @ np.linalg.solve(mT(a), v)), a, x)", LINEAR],
        [
            "-np.linalg.solve(a, g @ x)",
            "-solve_vjp_a(v, a, np.linalg.solve(a, g @ x))",
            "-(mT(g) @ np.linalg.solve(mT(a), v))",
        ],
    ),
    # d is det(a); the results are multiples of A^-T
    linalg.det_vjp: (
        "det_vjp(v, a, d)",
        [LINEAR, f"-(out @ mT(da) @ {INV_T})", LINEAR],
        ["det_jvp(g, a, d)", f"-(out @ mT(g) @ {INV_T})", "det_jvp(g, a, v)"],
    ),
    linalg.det_jvp: (
        "det_jvp(t, a, d)",
        [LINEAR, "-det_jvp(da @ np.linalg.solve(a, t), a, d)", LINEAR],
        ["det_vjp(g, a, d)", f"-(det_vjp(g, a, d) @ mT(t) @ {INV_T})", "det_jvp(t, a, g)"],
    ),
    linalg.slogdet_jvp: (
        "slogdet_jvp(t, a)",
        [LINEAR, "slogdet_jvp(-(da @ np.linalg.solve(a, t)), a)"],
        ["slogdet_vjp(g, a)", f"-(slogdet_vjp(g, a) @ mT(t) @ {INV_T})"],
    ),
    linalg.slogdet_vjp: (
        "slogdet_vjp(v, a)",
        [LINEAR, f"-(out @ mT(da) @ {INV_T})"],
        ["slogdet_jvp(g, a)", f"-(out @ mT(g) @ {INV_T})"],
    ),
}

# cholesky_jvp(t, L) = L phi(M), M = L^-1 sym(t) L^-T; cholesky_vjp(v, L) = onto(N),
# N = L^-T phi(L^T v) L^-1.  Their derivatives in L follow from d(L^-1) = -L^-1 dL L^-1.
M = "np.linalg.solve(l, mT(np.linalg.solve(l, symmetrized(t))))"
K = "np.linalg.solve(l, dl)"


def _left_t(x: str) -> str:
    return f"np.linalg.solve(mT(l), {x})"  # L^-T x


def _right_inverse(x: str) -> str:
    return f"mT(np.linalg.solve(mT(l), mT({x})))"  # x L^-1


N = _right_inverse(_left_t("phi(mT(l) @ v)"))
Q = "np.linalg.solve(l, mT(np.linalg.solve(l, symmetrized(g))))"  # L^-1 sym(g) L^-T
INVERSES.update(
    {
        linalg.cholesky_jvp: (
            "cholesky_jvp(t, l)",
            [LINEAR, f"dl @ phi({M}) + l @ phi(-({K} @ {M}) - {M} @ mT({K}))"],
            [
                "cholesky_vjp(g, l)",
                f"g @ mT(phi({M})) - {_left_t(f'(phi(mT(l) @ g) + mT(phi(mT(l) @ g))) @ {M}')}",
            ],
        ),
        linalg.cholesky_vjp: (
            "cholesky_vjp(v, l)",
            [
                LINEAR,
                f"onto_triangle(-{_left_t('mT(dl) @ ' + N)} - {_right_inverse(N + ' @ dl')}"
                f" + {_right_inverse(_left_t('phi(mT(dl) @ v)'))})",
            ],
            [
                "cholesky_jvp(g, l)",
                f"-mT(np.linalg.solve(l, mT(({N} + mT({N})) @ symmetrized(g)))) + v @ mT(phi({Q}))",
            ],
        ),
    }
)

# tensorinv: -(P t P) with P the inverse, as matrices (P has its last `ind` axes as rows).
ROWS = "np.ndim(p) - ind"
P, DP = _square("p", ROWS), _square("dp", ROWS)
INVERSES.update(
    {
        linalg.tensorinv_jvp: (
            "tensorinv_jvp(t, p, ind=2, /)",
            [
                LINEAR,
                f"np.reshape(-({DP} @ {_square('t', 'ind')} @ {P}"
                f" + {P} @ {_square('t', 'ind')} @ {DP}), np.shape(p))",
            ],
            [
                "tensorinv_vjp(g, t, p, ind)",
                f"np.reshape(-({_square('g', ROWS)} @ mT({P}) @ mT({_square('t', 'ind')})"
                f" + mT({_square('t', 'ind')}) @ mT({P}) @ {_square('g', ROWS)}), np.shape(p))",
            ],
        ),
        linalg.tensorinv_vjp: (
            "tensorinv_vjp(v, a, p, ind=2, /)",
            [
                LINEAR,
                None,
                f"np.reshape(-(mT({DP}) @ {_square('v', ROWS)} @ mT({P})"
                f" + mT({P}) @ {_square('v', ROWS)} @ mT({DP})), np.shape(a))",
            ],
            [
                "tensorinv_jvp(g, p, ind)",
                None,
                f"np.reshape(-({_square('v', ROWS)} @ mT({P}) @ mT({_square('g', 'ind')})"
                f" + mT({_square('g', 'ind')}) @ mT({P}) @ {_square('v', ROWS)}), np.shape(p))",
            ],
        ),
    }
)


# tensorsolve: solve with a's axes moved (tensorsolve_order) and flattened into a matrix.
def _moved(x: str) -> str:
    return f"np.transpose({x}, tensorsolve_order(np.ndim(a), axes))"


SOLVED_B = "tensorsolve_vjp_b(v, a, b, axes=axes)"  # A^-T v, shaped like b
B_LIKE = f"np.tensordot({_moved('t')}, x, np.ndim(x))"  # a value of b's shape
INVERSES.update(
    {
        linalg.tensorsolve_vjp_b: (
            "tensorsolve_vjp_b(v, a, b, axes=None)",
            [
                LINEAR,
                f"tensorsolve_vjp_b(-np.tensordot(out, {_moved('da')}, np.ndim(out)), a, b,"
                " axes=axes)",
            ],
            [
                "np.linalg.tensorsolve(a, g, axes=axes)",
                "tensorsolve_vjp_a(v, a, b, np.linalg.tensorsolve(a, g, axes=axes), axes=axes)",
            ],
        ),
        linalg.tensorsolve_vjp_a: (
            "tensorsolve_vjp_a(v, a, b, x, axes=None)",
            [
                LINEAR,
                "untranspose(-np.tensordot(tensorsolve_vjp_b(-np.tensordot("
                f"{SOLVED_B}, {_moved('da')}, np.ndim(b)), a, b, axes=axes), x, 0),"
                " tensorsolve_order(np.ndim(a), axes))",
                None,
                LINEAR,
            ],
            [
                "tensorsolve_jvp_a(g, a, x, axes=axes)",
                "tensorsolve_vjp_a(v, a, b, tensorsolve_jvp_a(g, a, x, axes=axes), axes=axes)",
                None,
                f"-np.tensordot({SOLVED_B}, {_moved('g')}, np.ndim(b))",
            ],
        ),
        linalg.tensorsolve_jvp_a: (
            "tensorsolve_jvp_a(t, a, x, axes=None)",
            [LINEAR, "tensorsolve_jvp_a(da, a, out, axes=axes)", LINEAR],
            [
                f"tensorsolve_vjp_a(g, a, {B_LIKE}, x, axes=axes)",
                f"tensorsolve_vjp_a(g, a, {B_LIKE}, out, axes=axes)",
                f"-np.tensordot(tensorsolve_vjp_b(g, a, {B_LIKE}, axes=axes), {_moved('t')},"
                f" np.ndim({B_LIKE}))",
            ],
        ),
    }
)
TABLES.append((INVERSES, (linalg.slogdet_jvp,)))

# Symmetric eigenvalues and singular values move with their vectors, whose tangents
# eigh_jvp and svd_jvp give (the factorizations' own second derivatives are below).
EIGH = "np.linalg.eigh(a, UPLO)"
V = f"getitem({EIGH}, 1)"
DV = f"getitem(eigh_jvp(da, a, {EIGH}, UPLO), 1)"
SVD = "np.linalg.svd(a, full_matrices=False)"
U, VH = f"getitem({SVD}, 0)", f"getitem({SVD}, 2)"
DU = f"getitem(svd_jvp(da, a, {SVD}, full_matrices=False), 0)"
DVH = f"getitem(svd_jvp(da, a, {SVD}, full_matrices=False), 2)"


def _columns(m: str, scale: str) -> str:
    """``m diag(scale)``."""
    return f"{m} * np.expand_dims({scale}, -2)"


def _eigh_vjp(vectors_cotangent: str, like: str) -> str:
    return f"eigh_vjp(make_tuple(zeros_like({like}), {vectors_cotangent}), a, {EIGH}, UPLO)"


def _svd_vjp(u_cotangent: str, vh_cotangent: str, like: str) -> str:
    factors = f"make_tuple({u_cotangent}, zeros_like({like}), {vh_cotangent})"
    return f"svd_vjp({factors}, a, {SVD}, full_matrices=False)"


SPECTRA = {
    linalg.eigvalsh_vjp: (
        "eigvalsh_vjp(v, a, UPLO='L', /)",
        [
            LINEAR,
            f"onto_triangle({_columns(DV, 'v')} @ mT({V}) + {_columns(V, 'v')} @ mT({DV}), UPLO)",
        ],
        [
            "eigvalsh_jvp(g, a, UPLO)",
            _eigh_vjp(f"2 * (symmetrized(g, UPLO) @ {_columns(V, 'v')})", "v"),
        ],
    ),
    linalg.eigvalsh_jvp: (
        "eigvalsh_jvp(t, a, UPLO='L', /)",
        [
            LINEAR,
            f"2 * np.sum({DV} * (symmetrized(t, UPLO) @ {V}), axis=-2)",
        ],
        [
            "eigvalsh_vjp(g, a, UPLO)",
            _eigh_vjp(f"2 * (symmetrized(t, UPLO) @ {_columns(V, 'g')})", "g"),
        ],
    ),
    linalg.svdvals_vjp: (
        "svdvals_vjp(v, a)",
        [
            LINEAR,
            f"{_columns(DU, 'v')} @ {VH} + {_columns(U, 'v')} @ {DVH}",
        ],
        [
            "svdvals_jvp(g, a)",
            _svd_vjp(_columns(f"g @ mT({VH})", "v"), f"np.expand_dims(v, -1) * (mT({U}) @ g)", "v"),
        ],
    ),
    linalg.svdvals_jvp: (
        "svdvals_jvp(t, a)",
        [
            LINEAR,
            f"np.sum({DU} * (t @ mT({VH})) + {U} * (t @ mT({DVH})), axis=-2)",
        ],
        [
            "svdvals_vjp(g, a)",
            _svd_vjp(_columns(f"t @ mT({VH})", "g"), f"np.expand_dims(g, -1) * (mT({U}) @ t)", "g"),
        ],
    ),
}
TABLES.append((SPECTRA, ()))

# Norms: the weights' derivative is the Hessian of the norm (symmetric, so both templates
# are the same map); y is the norm of x, whose dependence is in x's derivative.
THIRD_NORM = refused(
    "third derivatives of np.linalg.norm are not supported",
    "s2s_ad differentiates norms twice (gradients and Hessians)",
)
NORMS = {
    linalg.norm_weights: (
        ("x", "y", "ord=None", "axis=None", "keepdims=False"),
        ["norm_hvp(dx, x, ord, axis)", None],
        ["norm_hvp(g, x, ord, axis)", None],
    ),
    linalg.vector_norm_weights: (
        ("x", "y", "axis=None", "keepdims=False", "ord=2"),
        ["vector_norm_hvp(dx, x, axis, ord)", None],
        ["vector_norm_hvp(g, x, axis, ord)", None],
    ),
    linalg.norm_hvp: (
        "norm_hvp(t, x, ord=None, axis=None, /)",
        ["norm_hvp(g, x, ord, axis)", THIRD_NORM],
    ),
    linalg.vector_norm_hvp: (
        "vector_norm_hvp(t, x, axis=None, ord=2, /)",
        ["vector_norm_hvp(g, x, axis, ord)", THIRD_NORM],
    ),
    linalg.matrix_norm_hvp: (
        "matrix_norm_hvp(t, x, ord='fro', /)",
        ["matrix_norm_hvp(g, x, ord)", THIRD_NORM],
    ),
    linalg.matrix_norm_jvp: (
        "matrix_norm_jvp(t, x, keepdims=False, ord='fro', /)",
        [
            LINEAR,
            "np.sum(np.sum(t * matrix_norm_hvp(dx, x, ord), axis=-2, keepdims=keepdims),"
            " axis=-1, keepdims=keepdims)",
        ],
        [
            "matrix_norm_vjp(g, x, keepdims, ord)",
            "matrix_norm_hvp(matrix_spread(g, x, keepdims) * t, x, ord)",
        ],
    ),
    linalg.matrix_norm_vjp: (
        "matrix_norm_vjp(v, x, keepdims=False, ord='fro', /)",
        [
            LINEAR,
            "matrix_spread(v, x, keepdims) * matrix_norm_hvp(dx, x, ord)",
        ],
        [
            "matrix_norm_jvp(g, x, keepdims, ord)",
            "matrix_norm_hvp(matrix_spread(v, x, keepdims) * g, x, ord)",
        ],
    ),
}
TABLES.append((NORMS, ()))


# lstsq and cond: their helpers are linear in the (co)tangent, each the other's transpose;
# their derivatives in the matrix are refused.
def _linear_pair(jvp: str, vjp: str, params: Sequence[str], what: str) -> dict:
    """The rules of a JVP helper ``jvp(t, *params)`` and its transpose ``vjp(v, *params)``."""
    refusal = refused(
        f"second derivatives through {what} are not supported",
        "s2s_ad differentiates it once; np.linalg.pinv, np.linalg.qr, np.linalg.svd and "
        "np.linalg.eigh have derivatives of every order",
    )
    names = ", ".join(p.partition("=")[0] for p in params)
    others = [None if "=" in p else refusal for p in params]
    return {
        getattr(linalg, jvp): (_call(jvp, "t", *params, "/"), [f"{vjp}(g, {names})", *others]),
        getattr(linalg, vjp): (_call(vjp, "v", *params, "/"), [f"{jvp}(g, {names})", *others]),
    }


FACTORIZATIONS = {
    **_linear_pair("lstsq_jvp_a", "lstsq_vjp_a", ("a", "b", "w"), "np.linalg.lstsq"),
    **_linear_pair("lstsq_jvp_b", "lstsq_vjp_b", ("a", "b", "w"), "np.linalg.lstsq"),
    **_linear_pair("cond_jvp", "cond_vjp", ("x", "p=None"), "np.linalg.cond"),
}
LISTED = ("lstsq_jvp_a", "lstsq_jvp_b")
TABLES.append((FACTORIZATIONS, [getattr(linalg, f) for f in LISTED]))

# qr, eigh, svd and pinv: their helpers are transformed from their source, to any order
# (runtime/linalg.py); the checks that refuse undetermined factors are kept, not differentiated.
for helper in linalg.TRANSFORMED_FROM_SOURCE:
    substitute(helper, helper)
nondifferentiable(linalg.require_determined_qr, linalg.require_determined_svd)
impure(linalg.require_determined_qr, linalg.require_determined_svd)

register_rules(namespace)
