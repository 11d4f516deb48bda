"""Cases of the rules in ``s2s_ad/rules/helpers.py``, for ``test_rules_numpy.py``.

The helpers that emitted derivatives call (``arrays.matmul_vjp_x``, ``shapes.ungather``,
``linalg.det_vjp``, ...) are primitives too, so that derivatives can be differentiated again.
Each case calls one helper directly; ``wrt`` leaves out the arguments that only give shapes,
axes or indices, and the ones whose derivatives are refused (the factorizations' matrices).
Arguments that must be related (a matrix and its factorization, an array and its norm) are
written as expressions of the same input.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from s2s_ad import runtime
from s2s_ad.runtime import arrays, linalg
from s2s_ad.runtime import shape_ops as shapes

from rule_harness import ANY, NONZERO, POSITIVE, SMALL, Case, shaped


def case(expr: str, shapes_: Dict[str, tuple], wrt: Any = None, domains: Any = None) -> Case:
    """A case whose arguments are named by ``shapes_`` (one shape per argument)."""
    arity = len(next(iter(shapes_.values())))
    return Case(expr, domains or (ANY,) * arity, shapes_, wrt=wrt)


def ids(*shapes_: tuple) -> Dict[str, tuple]:
    """``{"(2,3),(3,)": ((2, 3), (3,))}`` for one combination of argument shapes."""
    name = ",".join("float" if s is None else str(s).replace(" ", "") for s in shapes_)
    return {name: shapes_}


# Constants in float32 keep float32 inputs float32, as in emitted code, where a cotangent has
# the dtype of the result it belongs to.
SPREAD = "np.diag(np.array([0.0, 3.0, 6.0], dtype=np.float32))"  # well-separated eigenvalues
EYE3 = "3 * np.eye(3, dtype=np.float32)"
EYE6 = "3 * np.eye(6, dtype=np.float32).reshape(2, 3, 2, 3)"
NAN_AT = "np.where(np.array([True, False, False, True]), np.nan, {})"
# an average of fixed samples with weights, to differentiate in the average m alone
FIXED_A = "np.arange(6, dtype=np.float32).reshape(2, 3)"
FIXED_W = "np.ones(3, dtype=np.float32) + z"

RUNTIME: Dict[Any, Any] = {
    runtime.getitem_vjp: [
        case("runtime.getitem_vjp(x, y, [0, 2, 2])", ids((3,), (4,)), wrt=(0,)),
        case("runtime.getitem_vjp(x, y, [1, 0, 1])", ids((3, 3), (2, 3)), wrt=(0,)),
    ],
    runtime.taken: [
        case("runtime.taken(x, [0, 2, 2], y)", ids((3,), (3,)), wrt=(0,)),
        case("runtime.taken(x, [0, 2], y)", ids((3,), None), wrt=(0,)),
    ],
    # the helpers of records' derivatives, on records made of x and y, read back field by field
    runtime.field_vjp: case(
        'runtime.field(runtime.field_vjp(x, NS(a=y, b=y), "a"), "a") * 2.0 + runtime.field('
        'runtime.field_vjp(x, NS(a=y, b=y), "b"), "b")',
        ids((3,), (3,)),
        wrt=(0,),
    ),
    runtime.field_tangent: [
        case('runtime.field_tangent(NS(a=x, b=x * x), NS(a=y, b=y), "b")', ids((3,), (3,)), (0,)),
        # a NamedTuple's derivatives are lists
        case('runtime.field_tangent([y, x], PAIR(y, y), "b")', ids((3,), (3,)), wrt=(0,)),
    ],
    runtime.field_cleared: [
        case(
            'runtime.field(runtime.field_cleared(NS(a=x, b=x * x), NS(a=y, b=y), "a"), "b")',
            ids((3,), (3,)),
            wrt=(0,),
        ),
        case('np.stack(runtime.field_cleared([x, x], PAIR(y, y), "a"))', ids((3,), (3,)), (0,)),
    ],
    runtime.field_set: case(
        'runtime.field(runtime.field_set(NS(a=x, b=x), NS(a=x, b=x), "a", y * y), "a") '
        '* runtime.field(runtime.field_set(NS(a=x, b=x), NS(a=x, b=x), "a", y), "b")',
        ids((3,), (3,)),
    ),
    runtime.add_at: case(
        "runtime.add_at(x + 0.0, [0, 2, 2], y)", {**ids((3,), (3,)), **ids((3,), None)}
    ),
    runtime.updated: [
        case("runtime.updated(x, 1, y)", ids((3,), None)),
        case("runtime.updated(x, slice(0, 2), y)", {**ids((3,), (2,)), **ids((3,), None)}),
        case("runtime.updated(x, [2, 0, 2], y)", ids((3,), (3,))),
        case("runtime.updated(x, (0, slice(None)), y)", ids((2, 3), (3,))),
    ],
    # a list's append as a value, and the two parts of its cotangent
    runtime.appended: case("np.stack(runtime.appended([x, x * x], y))", ids((3,), (3,))),
    runtime.initial: case(
        "np.stack(runtime.initial([x, y, x * y], z))", ids((3,), (3,), (3,)), wrt=(0, 1)
    ),
    runtime.last: case("runtime.last([x, y], [z])", ids((3,), (3,), (3,)), wrt=(0, 1)),
    runtime.part: case("runtime.part([x, y], 1, (z, z))", ids((3,), (3,), (3,)), wrt=(0, 1)),
    runtime.cleared: [
        case("runtime.cleared(x, slice(1, None))", ids((3,))),
        case("runtime.cleared(x, [0, 0])", ids((2, 2))),
    ],
    runtime.not_a_dict: case("runtime.not_a_dict(x, 'a dict')", ids((3,))),
    runtime.at_least: case("runtime.at_least(x, 2, 'too short')", ids((3,))),
    runtime.unshared: case("runtime.unshared(x, y, 'shared')", ids((3,), (3,)), wrt=(0,)),
    # a write through a view, made to its base where they share (True) and not (False)
    runtime.synced: [
        case("runtime.synced(x, True, slice(1, None), y)", ids((3,), (2,))),
        case("runtime.synced(x, False, slice(1, None), y)", ids((3,), (2,))),
        case("runtime.synced(x, True, None, y)", ids((3,), (3,))),
        case("runtime.synced(x, False, 0, y)", ids((3,), (2,))),
        case("runtime.synced(x, True, (0, Ellipsis), y)", ids((2, 3), (3,))),
    ],
    runtime.resynced: [
        case("runtime.resynced(x, True, y, slice(1, None))", ids((2,), (3,))),
        case("runtime.resynced(x, False, y, slice(1, None))", ids((2,), (3,))),
        case("runtime.resynced(x, True, y, None)", ids((3,), (3,))),
        case("runtime.resynced(x, False, y, 0)", ids((2,), (3,))),
    ],
    runtime.kept: [
        case("runtime.kept(x, True, slice(1, None))", ids((3,))),
        case("runtime.kept(x, False, 1)", ids((3,))),
        case("runtime.kept(x, True, None)", ids((3,))),
    ],
    runtime.written_vjp: [
        case("runtime.written_vjp(x, [2, 0, 2], y)", ids((3,), (3,)), wrt=(0,)),
        case("runtime.written_vjp(x, slice(0, 2), y)", ids((3,), None), wrt=(0,)),
    ],
    runtime.unwritten: [
        case("runtime.unwritten(x, y, [2, 0, 2], z)", ids((3,), (3,), (3,)), wrt=(0,)),
        case("runtime.unwritten(x, y, slice(0, 2), z)", ids(None, (3,), None), wrt=(0,)),
    ],
    runtime.as_structure: case("runtime.as_structure(x, y)", ids((3,), (3,)), wrt=(0,)),
    runtime.sum_vjp: case("runtime.sum_vjp(x, y)", {**ids((3,), (2, 3)), **ids(None, (3,))}, (0,)),
    runtime.add: case("runtime.add(x, y)", {**ids((3,), (3,)), **ids((2, 3), (2, 3))}),
    runtime.pick: [
        case("runtime.pick(True, x, y)", ids((2, 3), (3,))),
        case("runtime.pick(np.size(x) == 1, x, y)", ids((2, 3), (3,))),
    ],
}

SHAPES: Dict[Any, Any] = {
    shapes.untranspose: [
        shaped("shapes.untranspose(x)", (2, 3)),
        shaped("shapes.untranspose(x, (1, 2, 0))", (3, 4, 2)),
    ],
    shapes.untile: [
        case("shapes.untile(x, y, 2)", ids((6,), (3,)), wrt=(0,)),
        case("shapes.untile(x, y, (2, 1, 2))", ids((2, 2, 6), (2, 3)), wrt=(0,)),
    ],
    shapes.unrepeat: [
        case("shapes.unrepeat(x, y, 2)", ids((12,), (2, 3)), wrt=(0,)),
        case("shapes.unrepeat(x, y, [1, 2], axis=0)", ids((3, 3), (2, 3)), wrt=(0,)),
    ],
    shapes.diag_vjp: [
        case("shapes.diag_vjp(x, y)", {**ids((3, 3), (3,)), **ids((3,), (3, 3))}, wrt=(0,)),
        case("shapes.diag_vjp(x, y, k=1)", ids((4, 4), (3,)), wrt=(0,)),
    ],
    shapes.diagonal_vjp: [
        case("shapes.diagonal_vjp(x, y, offset=1)", ids((2,), (2, 3)), wrt=(0,)),
        case(
            "shapes.diagonal_vjp(x, y, offset=-1, axis1=1, axis2=2)", ids((2, 2), (2, 3, 3)), (0,)
        ),
    ],
    shapes.unpad: [
        case("shapes.unpad(x, y, ((0, 1), (2, 0)))", ids((3, 5), (2, 3)), wrt=(0,)),
        case("shapes.unpad(x, y, 1)", ids((4, 5), (2, 3)), wrt=(0,)),
    ],
    shapes.unconcatenate: [
        case("shapes.unconcatenate(x, [y, z])[1]", ids((5,), (2,), (3,)), wrt=(0,)),
        case("shapes.unconcatenate(x, [y, z], axis=1)[0]", ids((2, 4), (2, 3), (2, 1)), wrt=(0,)),
        case("shapes.unconcatenate(x, [y, z], axis=None)[0]", ids((7,), (2, 2), (3,)), wrt=(0,)),
    ],
    shapes.unstack: case(
        "shapes.unstack(x, [y, z], axis=1)[0]", ids((2, 2, 3), (2, 3), (2, 3)), (0,)
    ),
    shapes.unhstack: case("shapes.unhstack(x, [y, z])[1]", ids((5,), (2,), (3,)), wrt=(0,)),
    shapes.unvstack: case("shapes.unvstack(x, [y, z])[0]", ids((3, 3), (3,), (2, 3)), wrt=(0,)),
    shapes.uncolumn_stack: case(
        "shapes.uncolumn_stack(x, [y, z])[0]", ids((3, 3), (3,), (3, 2)), (0,)
    ),
    shapes.undstack: case("shapes.undstack(x, [y, z])[1]", ids((2, 3, 2), (2, 3), (2, 3)), (0,)),
    shapes.unarray: [
        case("shapes.unarray(x, y)", ids((2, 3), (2, 3)), wrt=(0,)),
        case("np.stack(shapes.unarray(x, [y, z]))", ids((2, 3), (3,), (3,)), wrt=(0,)),
    ],
    shapes.ungather: [
        case("shapes.ungather(x, y, np.array([1, -1, 1, 0]))", ids((4,), (3,)), wrt=(0,)),
        case("shapes.ungather(x, y, np.array([[0, 2], [1, 1]]))", ids((2,), (3,)), wrt=(0,)),
        case("shapes.ungather(x, [y, z], np.array([0, 3, 4]))[1]", ids((3,), (2,), (3,)), (0,)),
    ],
    shapes.gathered: [
        case("shapes.gathered(x, np.array([1, -1, 1, 0]), y)", ids((3,), (4,)), wrt=(0,)),
        case("shapes.gathered(x, np.array([[0, 2], [1, 1]]), y)", ids((3,), (2,)), wrt=(0,)),
    ],
    shapes.reordered: [
        case("shapes.reordered(x, y, np.sort(y))", ids((4,), (4,)), wrt=(0,)),
        case("shapes.reordered(x, y, np.sort(y, axis=0), axis=0)", ids((3, 2), (3, 2)), wrt=(0,)),
    ],
    shapes.unreordered: case("shapes.unreordered(x, y, np.sort(y))", ids((4,), (4,)), wrt=(0,)),
    shapes.undiff: [
        case("shapes.undiff(x, y)", {**ids((3,), (4,)), **ids((5,), (2, 3))}, wrt=(0,)),
        case("shapes.undiff(x, y, n=2, axis=0)", ids((2, 3), (4, 3)), wrt=(0,)),
    ],
    shapes.diff_like: [
        case("shapes.diff_like(x, y)", {**ids((4,), (3,)), **ids((2, 3), (5,))}, wrt=(0,)),
        case("shapes.diff_like(x, y, n=2, axis=0)", ids((4, 3), (2, 3)), wrt=(0,)),
    ],
    # np.gradient's differences (spacings in a tuple) and their transpose
    shapes.spaced_gradient: [
        case("shapes.spaced_gradient(x, (0.5,), edge_order=2)", ids((5,))),
        case("shapes.spaced_gradient(x, (np.array([0.0, 1.0, 1.5]),), axis=1)[0]", ids((2, 3))),
    ],
    shapes.gradient_vjp: [
        case("shapes.gradient_vjp(x, (0.5,))", ids((5,))),
        case("shapes.gradient_vjp([x, y], (2.0, 0.5), edge_order=2)", ids((3, 4), (3, 4))),
    ],
}

MOMENTS: Dict[Any, Any] = {
    arrays.var_vjp: [
        case("arrays.var_vjp(x, y)", ids(None, (4,))),
        case("arrays.var_vjp(x, y, axis=1, ddof=1)", ids((2,), (2, 3))),
        case("arrays.var_vjp(x, y, axis=0, keepdims=True)", ids((1, 3), (2, 3))),
    ],
    arrays.var_jvp: [
        case("arrays.var_jvp(x, y)", ids((4,), (4,))),
        case("arrays.var_jvp(x, y, axis=1, ddof=1)", ids((2, 3), (2, 3))),
    ],
    arrays.nanvar_vjp: [
        case(f"arrays.nanvar_vjp(x, {NAN_AT.format('y')})", ids(None, (4,))),
        case(f"arrays.nanvar_vjp(x, {NAN_AT.format('y')}, axis=1, ddof=1)", ids((2,), (2, 4))),
    ],
    arrays.nanvar_jvp: case(f"arrays.nanvar_jvp(x, {NAN_AT.format('y')})", ids((4,), (4,))),
    arrays.nanmean_vjp: [
        case(f"arrays.nanmean_vjp(x, {NAN_AT.format('y')})", ids(None, (4,)), wrt=(0,)),
        case(f"arrays.nanmean_vjp(x, {NAN_AT.format('y')}, axis=1)", ids((3,), (3, 4)), (0,)),
    ],
    arrays.weights_along: [
        case("arrays.weights_along(y, 0, x)", ids((2,), (2, 3)), wrt=(0,)),
        case("arrays.weights_along(y, 1, x)", ids((2, 3), (2, 3)), wrt=(0,)),
    ],
    arrays.unweights_along: [
        case("arrays.unweights_along(x, y, 0, z)", ids((2, 3), (2, 3), (2,)), wrt=(0,)),
        case("arrays.unweights_along(x, y, None, z)", ids((2, 3), (2, 3), (2, 3)), wrt=(0,)),
    ],
    # weights: positive; the average m is written as np.average of the same inputs
    arrays.average_vjp_a: [
        case(
            "arrays.average_vjp_a(x, y, 1, z)",
            ids((2,), (2, 3), (3,)),
            (0, 2),
            (ANY, ANY, POSITIVE),
        ),
        case(
            "arrays.average_vjp_a(x, y, 0, z, keepdims=True)",
            ids((1, 3), (2, 3), (2, 3)),
            (0, 2),
            (ANY, ANY, POSITIVE),
        ),
        case("arrays.average_vjp_a(x, y)", ids(None, (2, 3)), wrt=(0,)),
    ],
    arrays.average_vjp_weights: [
        case(
            "arrays.average_vjp_weights(x, y, 1, z, np.average(y, 1, z))",
            ids((2,), (2, 3), (3,)),
            domains=(ANY, ANY, POSITIVE),
        ),
        case(
            "arrays.average_vjp_weights(x, y, None, z, np.average(y, None, z))",
            ids(None, (3,), (3,)),
            domains=(ANY, ANY, POSITIVE),
        ),
        case(
            "arrays.average_vjp_weights(x, y, 0, z, np.average(y, 0, z, keepdims=True),"
            " keepdims=True)",
            ids((1, 3), (2, 3), (2, 3)),
            domains=(ANY, ANY, POSITIVE),
        ),
        case(
            f"arrays.average_vjp_weights(x, {FIXED_A}, 1, {FIXED_W}, y)",
            ids((2,), (2,), (3,)),
            domains=(ANY, ANY, POSITIVE),
        ),
    ],
    arrays.average_jvp_weights: [
        case(
            "arrays.average_jvp_weights(x, y, 1, z, np.average(y, 1, z))",
            ids((3,), (2, 3), (3,)),
            domains=(ANY, ANY, POSITIVE),
        ),
        case(
            "arrays.average_jvp_weights(x, y, 0, z, np.average(y, 0, z, keepdims=True),"
            " keepdims=True)",
            ids((2, 3), (2, 3), (2, 3)),
            domains=(ANY, ANY, POSITIVE),
        ),
        case(
            f"arrays.average_jvp_weights(x, {FIXED_A}, 1, {FIXED_W}, y)",
            ids((3,), (2,), (3,)),
            domains=(ANY, ANY, POSITIVE),
        ),
    ],
}

PRODUCTS: Dict[Any, Any] = {
    arrays.prod_others: [
        shaped("arrays.prod_others(x)", (4,)),
        shaped("arrays.prod_others(x, axis=1)", (2, 3)),
    ],
    arrays.prod_partials: [
        case("arrays.prod_partials(x, None, y)", ids((4,), (4,))),
        case("arrays.prod_partials(x, 1, y, z)", ids((2, 3), (2, 3), (2, 3))),
        case("arrays.prod_partials(x, (0, 1))", ids((2, 3))),
    ],
    arrays.cumprod_jvp: [
        case("arrays.cumprod_jvp(x, y)", ids((4,), (4,))),
        case("arrays.cumprod_jvp(x, y, axis=1)", ids((2, 3), (2, 3))),
    ],
    arrays.cumprod_vjp: [
        case("arrays.cumprod_vjp(x, y)", {**ids((4,), (4,)), **ids((6,), (2, 3))}),
        case("arrays.cumprod_vjp(x, y, axis=0)", ids((2, 3), (2, 3))),
    ],
    arrays.cumprod_derivative: [
        case("arrays.cumprod_derivative(x, None, y)", ids((4,), (4,))),
        case("arrays.cumprod_derivative(x, 1, y, z)", ids((2, 3), (2, 3), (2, 3))),
    ],
    arrays.cumprod_gradient: [
        case("arrays.cumprod_gradient(x, y, None)", ids((4,), (4,))),
        case("arrays.cumprod_gradient(x, y, 1, z)", ids((2, 3), (2, 3), (2, 3))),
    ],
    arrays.cumulative_prod_jvp: case("arrays.cumulative_prod_jvp(x, y, 0, True)", ids((4,), (4,))),
    arrays.cumulative_derivative: [
        case("arrays.cumulative_derivative(x, 0, True, True, y)", ids((4,), (4,))),
        case("arrays.cumulative_derivative(x, 1, False, True, y, z)", ids((2, 3), (2, 3), (2, 3))),
        case("arrays.cumulative_derivative(x, 0, True, False, y)", ids((4,), (4,))),
    ],
    arrays.cumulative_vjp: [
        case("arrays.cumulative_vjp(x, y, 0, True, True)", ids((5,), (4,))),
        case("arrays.cumulative_vjp(x, y, 1, False, True, z)", ids((2, 3), (2, 3), (2, 3))),
        case("arrays.cumulative_vjp(x, y, include_initial=True)", ids((5,), (4,)), wrt=(0,)),
        case("arrays.cumulative_vjp(x, y, 0, False, False, z)", ids((4,), (4,), (4,))),
    ],
    linalg.matrix_power_jvp: case("linalg.matrix_power_jvp(x, y, 3)", ids((3, 3), (3, 3))),
    linalg.matrix_power_vjp: case("linalg.matrix_power_vjp(x, y, 3)", ids((3, 3), (3, 3))),
    linalg.matrix_power_derivative: [
        case("linalg.matrix_power_derivative(x, 3, y)", ids((3, 3), (3, 3))),
        case("linalg.matrix_power_derivative(x, 3, y, z)", ids((2, 2), (2, 2), (2, 2))),
        case("linalg.matrix_power_derivative(x, 0, y)", ids((2, 2), (2, 2))),
    ],
    linalg.matrix_power_gradient: [
        case("linalg.matrix_power_gradient(x, y, 3)", ids((3, 3), (3, 3))),
        case("linalg.matrix_power_gradient(x, y, 2, z)", ids((2, 2), (2, 2), (2, 2))),
    ],
    linalg.multi_dot_jvp: Case(
        "linalg.multi_dot_jvp([x, np.ones((3, 2))], [y, z])",
        (ANY, ANY, ANY),
        ids((2, 3), (2, 3), (3, 2)),
        packed=True,
    ),
    linalg.multi_dot_vjp: case("linalg.multi_dot_vjp(x, [y, z])[0]", ids((2, 2), (2, 3), (3, 2))),
    linalg.multi_dot_derivative: [
        Case(
            "linalg.multi_dot_derivative([x, y], [z, np.ones((3, 2))])",
            (ANY, ANY, ANY),
            ids((2, 3), (3, 2), (2, 3)),
            packed=True,
        ),
        Case(
            "linalg.multi_dot_derivative([x, y, x], [z, y, z], [x, y * y, z])",
            (ANY, ANY, ANY),
            ids((3,), (3, 3), (3,)),
            packed=True,
        ),
    ],
    linalg.multi_dot_gradient: [
        case("linalg.multi_dot_gradient(x, [y, z])[1]", ids((2, 2), (2, 3), (3, 2))),
        case("linalg.multi_dot_gradient(x, [y, z], [y, z])[0]", ids((2, 2), (2, 3), (3, 2))),
    ],
    # bilinear products: the first argument is shape-only
    arrays.matmul_vjp_x: case(
        "arrays.matmul_vjp_x(x, y, z)",
        {
            **ids((2, 4), (2, 3), (3, 4)),
            **ids((4,), (3,), (3, 4)),
            **ids((5, 2, 4), (2, 3), (5, 3, 4)),
        },
        wrt=(0, 2),
    ),
    arrays.matmul_vjp_y: case(
        "arrays.matmul_vjp_y(x, y, z)",
        {
            **ids((2, 4), (2, 3), (3, 4)),
            **ids((2,), (2, 3), (3,)),
            **ids((5, 2, 4), (5, 2, 3), (3, 4)),
        },
        wrt=(0, 1),
    ),
    arrays.dot_vjp_x: case(
        "arrays.dot_vjp_x(x, y, z)",
        {**ids((2, 4), (2, 3), (3, 4)), **ids((3,), None, (3,))},
        wrt=(0, 2),
    ),
    arrays.dot_vjp_y: case(
        "arrays.dot_vjp_y(x, y, z)",
        {**ids((2, 4), (2, 3), (3, 4)), **ids((3,), (3,), None)},
        wrt=(0, 1),
    ),
    arrays.inner_vjp_x: case(
        "arrays.inner_vjp_x(x, y, z)", ids((2, 4), (2, 3), (4, 3)), wrt=(0, 2)
    ),
    arrays.inner_vjp_y: case(
        "arrays.inner_vjp_y(x, y, z)", ids((2, 4), (2, 3), (4, 3)), wrt=(0, 1)
    ),
    arrays.kron_vjp_x: case("arrays.kron_vjp_x(x, y, z)", ids((4, 6), (2, 3), (2, 2)), wrt=(0, 2)),
    arrays.kron_vjp_y: case("arrays.kron_vjp_y(x, y, z)", ids((4, 6), (2, 3), (2, 2)), wrt=(0, 1)),
    arrays.tensordot_vjp_x: [
        case("arrays.tensordot_vjp_x(x, y, z, axes=1)", ids((2, 4), (2, 3), (3, 4)), wrt=(0, 2)),
        case("arrays.tensordot_vjp_x(x, y, z)", ids((2, 2), (2, 3, 4), (3, 4, 2)), wrt=(0, 2)),
    ],
    arrays.tensordot_vjp_y: case(
        "arrays.tensordot_vjp_y(x, y, z, axes=1)", ids((2, 4), (2, 3), (3, 4)), wrt=(0, 1)
    ),
    arrays.outer_last: case("arrays.outer_last(x, y)", {**ids((2,), (3,)), **ids((4, 2), (3,))}),
    arrays.like: case("arrays.like(x, y)", ids((2, 3), (3,)), wrt=(1,)),
    linalg.vecdot_vjp: [
        case("linalg.vecdot_vjp(x, y, z)", ids((2,), (2, 3), (3,)), wrt=(0, 2)),
        case("linalg.vecdot_vjp(x, y, z, axis=0)", ids((2,), (3, 2), (3, 1)), wrt=(0, 2)),
    ],
    # the operand k only gives its shape: its tangent contributes nothing
    arrays.einsum_vjp: [
        case("arrays.einsum_vjp(x, 'ij,jk->ik', 0, y, z)", ids((2, 4), (2, 3), (3, 4))),
        case("arrays.einsum_vjp(x, 'ij,jk->ik', 1, y, z)", ids((2, 4), (2, 3), (3, 4))),
        case(
            "arrays.einsum_vjp(x, 'ij,jk,kl->il', 2, y, np.ones((3, 4), dtype=np.float32), z)",
            ids((2, 2), (2, 3), (4, 2)),
        ),
        case("arrays.einsum_vjp(x, 'ii->i', 0, y)", ids((3,), (3, 3))),
    ],
}

POSITIONAL: Dict[Any, Any] = {
    arrays.convolve_vjp: [
        case("arrays.convolve_vjp(x, y, z)", ids((7,), (5,), (3,))),
        case("arrays.convolve_vjp(x, y, z, 'same', 1)", ids((5,), (5,), (3,))),
        case("arrays.convolve_vjp(x, y, z, 'valid', 0)", ids((3,), (5,), (3,))),
    ],
    arrays.correlate_vjp: [
        case("arrays.correlate_vjp(x, y, z)", ids((3,), (5,), (3,))),
        case("arrays.correlate_vjp(x, y, z, 'full', 1)", ids((7,), (5,), (3,))),
    ],
    arrays.cross_vjp: [
        case("arrays.cross_vjp(x, y, z)", {**ids((3,), (3,), (3,)), **ids((2, 3), (3,), (2, 3))}),
        case("arrays.cross_vjp(x, y, z, None, 1)", ids((2, 3), (3,), (2, 3))),
        case("arrays.cross_vjp(x, y, z, 0)", ids((3, 2), (3, 2), (3, 2))),
    ],
    arrays.linspace_vjp: [
        case("arrays.linspace_vjp(x, y, 1.0, 5)", ids((5,), None), wrt=(0,)),
        case("arrays.linspace_vjp(x, y, 1.0, 4, False, 1, 0)", ids((3, 4), (3,)), wrt=(0,)),
        case("arrays.linspace_vjp(x, 0.0, y, 5, True, 0, 1)", ids((5, 2), (2,)), wrt=(0,)),
    ],
}

CALCULUS: Dict[Any, Any] = {
    arrays.polyval_slope: case(
        "arrays.polyval_slope(x, y)", {**ids((4,), None), **ids((4,), (2, 3))}
    ),
    arrays.polyval_derivative: [
        case("arrays.polyval_derivative(x, y)", ids((4,), (3,))),
        case("arrays.polyval_derivative(x, y, 2)", ids((4,), None)),
    ],
    arrays.polyval_vjp_p: [
        case(
            "arrays.polyval_vjp_p(x, y, z)",
            {**ids((3,), (4,), (3,)), **ids(None, (4,), None)},
            (0, 2),
        ),
        case("arrays.polyval_vjp_p(x, y, z, 2)", ids((3,), (4,), (3,)), wrt=(0, 2)),
    ],
    arrays.sinc_derivative: case(
        "arrays.sinc_derivative(x, np.sinc(x))", {"float": (None,), "(5,)": ((5,),)}
    ),
    arrays.sinc_nth_derivative: [
        case("arrays.sinc_nth_derivative(x, 2)", {"float": (None,), "(5,)": ((5,),)}),
        case("arrays.sinc_nth_derivative(x, 3)", {"(5,)": ((5,),)}),
    ],
}
if hasattr(np, "trapezoid"):  # NumPy 2
    CALCULUS.update(
        {
            arrays.trapezoid_vjp_y: [
                case("arrays.trapezoid_vjp_y(x, y, z)", ids(None, (4,), (4,)), wrt=(0, 2)),
                case("arrays.trapezoid_vjp_y(x, y, None, 0.5)", ids((2,), (2, 3)), wrt=(0,)),
                case("arrays.trapezoid_vjp_y(x, y, z, 1.0, 0)", ids((2,), (3, 2), (3, 2)), (0, 2)),
            ],
            arrays.trapezoid_vjp_x: [
                case("arrays.trapezoid_vjp_x(x, y, z)", ids(None, (4,), (4,)), wrt=(0, 1)),
                case("arrays.trapezoid_vjp_x(x, y, z, 0)", ids((2,), (3, 2), (3,)), wrt=(0, 1)),
            ],
            arrays.trapezoid_jvp_x: case(
                "arrays.trapezoid_jvp_x(x, y, z)", ids((4,), (4,), (4,)), wrt=(0, 1)
            ),
        }
    )

LINALG: Dict[Any, Any] = {
    linalg.mT: shaped("linalg.mT(x)", (2, 3), (2, 2, 3)),
    linalg.phi: shaped("linalg.phi(x)", (3, 3)),
    linalg.masked_product: [
        case("linalg.masked_product(x, y)", ids((3, 3), (3, 3))),
        case("linalg.masked_product(x, y)", ids((1, 3), (2, 3, 3))),
    ],
    linalg.symmetrized: [
        shaped("linalg.symmetrized(x)", (3, 3)),
        shaped("linalg.symmetrized(x, 'U')", (2, 3, 3)),
    ],
    linalg.onto_triangle: [
        shaped("linalg.onto_triangle(x)", (3, 3)),
        shaped("linalg.onto_triangle(x, 'U')", (3, 3)),
    ],
    linalg.as_square: shaped("linalg.as_square(x, 2)", (2, 3, 4)),
    linalg.matrix_spread: [
        case("linalg.matrix_spread(x, y)", ids((2,), (2, 3, 4)), wrt=(0,)),
        case("linalg.matrix_spread(x, y, True)", ids((2, 1, 1), (2, 3, 4)), wrt=(0,)),
    ],
    linalg.matrix_trace_vjp: case(
        "linalg.matrix_trace_vjp(x, y, offset=1)", ids((2,), (2, 3, 4)), (0,)
    ),
    linalg.solve_vjp_b: case(
        f"linalg.solve_vjp_b(x, y + {EYE3}, z)",
        {**ids((3,), (3, 3), (3,)), **ids((3, 2), (3, 3), (3, 2))},
        (0, 1),
    ),
    linalg.solve_vjp_a: case(
        f"linalg.solve_vjp_a(x, y + {EYE3}, z)",
        {**ids((3,), (3, 3), (3,)), **ids((3, 2), (3, 3), (3, 2))},
    ),
    linalg.det_vjp: case(
        f"linalg.det_vjp(x, y + {EYE3}, z)",
        {**ids(None, (3, 3), None), **ids((2,), (2, 3, 3), (2,))},
    ),
    linalg.det_jvp: case(f"linalg.det_jvp(x, y + {EYE3}, z)", ids((3, 3), (3, 3), None)),
    linalg.slogdet_jvp: case(f"linalg.slogdet_jvp(x, y + {EYE3})[1]", ids((3, 3), (3, 3))),
    linalg.slogdet_vjp: case(f"linalg.slogdet_vjp((0.0, x), y + {EYE3})", ids(None, (3, 3))),
    linalg.cholesky_jvp: case(f"linalg.cholesky_jvp(x, np.tril(y) + {EYE3})", ids((3, 3), (3, 3))),
    linalg.cholesky_vjp: case(f"linalg.cholesky_vjp(x, np.tril(y) + {EYE3})", ids((3, 3), (3, 3))),
    linalg.tensorinv_jvp: [
        case("linalg.tensorinv_jvp(x, y)", ids((2, 3, 6), (6, 2, 3))),
        case("linalg.tensorinv_jvp(x, y, 1)", ids((6, 2, 3), (2, 3, 6))),
    ],
    linalg.tensorinv_vjp: case(
        "linalg.tensorinv_vjp(x, y, z)", ids((6, 2, 3), (2, 3, 6), (6, 2, 3)), (0, 2)
    ),
    linalg.tensorsolve_vjp_b: [
        case(
            f"linalg.tensorsolve_vjp_b(x, y + {EYE6}, z)", ids((2, 3), (2, 3, 2, 3), (2, 3)), (0, 1)
        ),
        case(
            "linalg.tensorsolve_vjp_b(x, y + 3 * np.eye(6, dtype=np.float32).reshape(6, 3, 2)"
            ".transpose(2, 0, 1), z,"
            " axes=(0,))",
            ids((3, 2), (2, 6, 3), (6,)),
            wrt=(0, 1),
        ),
    ],
    linalg.tensorsolve_vjp_a: case(
        f"linalg.tensorsolve_vjp_a(x, y + {EYE6}, 0.0 * z, z)",
        ids((2, 3), (2, 3, 2, 3), (2, 3)),
        domains=(ANY, SMALL, ANY),
    ),
    linalg.tensorsolve_jvp_a: case(
        f"linalg.tensorsolve_jvp_a(x, y + {EYE6}, z)", ids((2, 3, 2, 3), (2, 3, 2, 3), (2, 3))
    ),
    linalg.eigvalsh_vjp: [
        case(f"linalg.eigvalsh_vjp(x, y + {SPREAD})", ids((3,), (3, 3)), domains=(ANY, SMALL)),
        case(f"linalg.eigvalsh_vjp(x, y + {SPREAD}, 'U')", ids((3,), (3, 3)), domains=(ANY, SMALL)),
    ],
    linalg.eigvalsh_jvp: case(
        f"linalg.eigvalsh_jvp(x, y + {SPREAD})", ids((3, 3), (3, 3)), domains=(ANY, SMALL)
    ),
    linalg.svdvals_vjp: case(
        "linalg.svdvals_vjp(x, y)", {**ids((2,), (3, 2)), **ids((2,), (2, 3))}
    ),
    linalg.svdvals_jvp: case("linalg.svdvals_jvp(x, y)", ids((3, 2), (3, 2))),
    linalg.norm_weights: [
        shaped("linalg.norm_weights(x, np.linalg.norm(x))", (3,), (2, 3)),
        case("linalg.norm_weights(x, np.linalg.norm(x, 3), 3)", ids((3,)), domains=(NONZERO,)),
        shaped("linalg.norm_weights(x, np.linalg.norm(x, 'nuc'), 'nuc')", (3, 2)),
        shaped("linalg.norm_weights(x, np.linalg.norm(x, 2), 2)", (3, 2)),
        shaped("linalg.norm_weights(x, np.linalg.norm(x, axis=1), axis=1)", (2, 3)),
        shaped("linalg.norm_weights(x, np.linalg.norm(x, np.inf), np.inf)", (3,)),
    ],
    linalg.vector_norm_weights: [
        shaped("linalg.vector_norm_weights(x, np.linalg.norm(x))", (3,)),
        case(
            "linalg.vector_norm_weights(x, np.linalg.norm(x, 3, 0), 0, False, 3)",
            ids((3, 2)),
            domains=(NONZERO,),
        ),
    ],
    linalg.norm_hvp: [
        case("linalg.norm_hvp(x, y)", ids((3,), (3,)), wrt=(0,)),
        case("linalg.norm_hvp(x, y, 'nuc')", ids((3, 2), (3, 2)), wrt=(0,)),
    ],
    linalg.vector_norm_hvp: case(
        "linalg.vector_norm_hvp(x, y, 1, 3)", ids((2, 3), (2, 3)), wrt=(0,), domains=(ANY, NONZERO)
    ),
    linalg.matrix_norm_hvp: case("linalg.matrix_norm_hvp(x, y, 2)", ids((3, 2), (3, 2)), wrt=(0,)),
    linalg.matrix_norm_jvp: [
        case("linalg.matrix_norm_jvp(x, y)", ids((2, 3), (2, 3))),
        case("linalg.matrix_norm_jvp(x, y, True, 'nuc')", ids((2, 3, 2), (2, 3, 2))),
    ],
    linalg.matrix_norm_vjp: [
        case("linalg.matrix_norm_vjp(x, y)", ids(None, (2, 3))),
        case("linalg.matrix_norm_vjp(x, y, False, 2)", ids((2,), (2, 3, 2))),
        case("linalg.matrix_norm_vjp(x, y, True)", ids((2, 1, 1), (2, 3, 2))),
    ],
}

# Factorizations: linear in the (co)tangent; derivatives of every order in the matrix (those of
# qr, eigh, svd and pinv come from their source, lstsq's and cond's from their rules).
EIGH = f"np.linalg.eigh(y + {SPREAD})"
SVD = "np.linalg.svd(y, full_matrices=False)"
LSTSQ = "np.linalg.lstsq(y, z)"
LSTSQ_COTANGENT = "(x, np.zeros(1), 0, np.zeros(2))"
# The matrix y is differentiated too: its factorization, written in the case, moves with it.
FACTORIZATIONS: Dict[Any, Any] = {
    linalg.eigh_jvp: [
        case(
            f"linalg.eigh_jvp(x, y + {SPREAD}, {EIGH})[0]", ids((3, 3), (3, 3)), None, (ANY, SMALL)
        ),
        case(
            f"linalg.eigh_jvp(x, y + {SPREAD}, {EIGH})[1]", ids((3, 3), (3, 3)), None, (ANY, SMALL)
        ),
    ],
    linalg.eigh_vjp: case(
        f"linalg.eigh_vjp((x, np.zeros((3, 3))), y + {SPREAD}, {EIGH})",
        ids((3,), (3, 3)),
        None,
        (ANY, SMALL),
    ),
    linalg.svd_jvp: case(f"linalg.svd_jvp(x, y, {SVD}, False)[1]", ids((3, 2), (3, 2)), wrt=None),
    linalg.svd_vjp: case(
        f"linalg.svd_vjp((np.zeros((3, 2)), x, np.zeros((2, 2))), y, {SVD}, False)",
        ids((2,), (3, 2)),
        None,
    ),
    linalg.qr_jvp: case("linalg.qr_jvp(x, y, np.linalg.qr(y))[1]", ids((3, 2), (3, 2)), wrt=None),
    linalg.qr_vjp: case(
        "linalg.qr_vjp((np.zeros((3, 2)), x), y, np.linalg.qr(y))", ids((2, 2), (3, 2)), None
    ),
    linalg.pinv_jvp: case(
        "linalg.pinv_jvp(x, y, np.linalg.pinv(y))", ids((3, 2), (3, 2)), wrt=None
    ),
    linalg.pinv_vjp: case(
        "linalg.pinv_vjp(x, y, np.linalg.pinv(y))", ids((2, 3), (3, 2)), wrt=None
    ),
    linalg.lstsq_jvp_a: case(
        f"linalg.lstsq_jvp_a(x, y, z, {LSTSQ})[0]", ids((4, 2), (4, 2), (4,)), (0,)
    ),
    linalg.lstsq_jvp_b: case(
        f"linalg.lstsq_jvp_b(x, y, z, {LSTSQ})[0]", ids((4,), (4, 2), (4,)), (0,)
    ),
    linalg.lstsq_vjp_a: case(
        f"linalg.lstsq_vjp_a({LSTSQ_COTANGENT}, y, z, {LSTSQ})", ids((2,), (4, 2), (4,)), (0,)
    ),
    linalg.lstsq_vjp_b: case(
        f"linalg.lstsq_vjp_b({LSTSQ_COTANGENT}, y, z, {LSTSQ})", ids((2,), (4, 2), (4,)), (0,)
    ),
    linalg.cond_jvp: case(f"linalg.cond_jvp(x, y + {EYE3})", ids((3, 3), (3, 3)), wrt=(0,)),
    linalg.cond_vjp: case(f"linalg.cond_vjp(x, y + {EYE3})", ids(None, (3, 3)), wrt=(0,)),
}

CASES: Dict[Any, Any] = {
    **RUNTIME,
    **SHAPES,
    **MOMENTS,
    **PRODUCTS,
    **POSITIONAL,
    **CALCULUS,
    **LINALG,
    **FACTORIZATIONS,
}
