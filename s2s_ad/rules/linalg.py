"""Rules for ``np.linalg``, with helpers from :mod:`s2s_ad.runtime.linalg`."""

from __future__ import annotations

import numpy as np

from .core import LINEAR, fixed, lookup, template_rule
from .kinds import SCALAR, always
from .numpy import NAMES, REDUCE, register_table

namespace = fixed(NAMES)  # its own object: tests and docs tell the tables apart by it

# Linear algebra (np.linalg).  The lecture's results: for x = solve(A, b),
# b's cotangent is A^-T g and A's is -(A^-T g) x^T; for singular values,
# W's cotangent is U diag(g) V^T.  Solutions are linear in the right-hand side b.
LINALG = {
    np.linalg.solve: (
        "np.linalg.solve(a, b)",
        ["np.linalg.solve(a, -(da @ out))", LINEAR],
        ["solve_vjp_a(g, a, out)", "solve_vjp_b(g, a, b)"],
    ),
    np.linalg.inv: (("a",), ["-(out @ da @ out)"], ["-(mT(out) @ g @ mT(out))"]),
    np.linalg.det: (("a",), ["det_jvp(da, a, out)"], ["det_vjp(g, a, out)"]),
    np.linalg.slogdet: (("a",), ["slogdet_jvp(da, a)"], ["slogdet_vjp(g, a)"]),
    np.linalg.cholesky: (("a",), ["cholesky_jvp(da, out)"], ["cholesky_vjp(g, out)"]),
    np.linalg.eigvalsh: (
        ("a", "UPLO='L'"),
        ["eigvalsh_jvp(da, a, UPLO=UPLO)"],
        ["eigvalsh_vjp(g, a, UPLO=UPLO)"],
    ),
    np.linalg.matrix_power: (
        ("a", "n"),
        ["matrix_power_jvp(da, a, n)"],
        ["matrix_power_vjp(g, a, n)"],
    ),
}

# Factorizations, whose results are tuples: a JVP gives a tuple of tangents, a VJP gets a tuple
# of cotangents (zeros for the parts the program does not use).  The formulas assume what
# makes the result a differentiable function: distinct eigenvalues and singular values, full
# rank (a constant rank for pinv and lstsq); where the result is not determined (svd's extra
# columns with full_matrices=True, qr's with mode="complete"), the helpers raise.
SVD = "full_matrices=full_matrices, compute_uv=compute_uv, hermitian=hermitian"
LINALG.update(
    {
        np.linalg.qr: (
            ("a", "mode='reduced'"),
            ["qr_jvp(da, a, out, mode=mode)"],
            ["qr_vjp(g, a, out, mode=mode)"],
        ),
        np.linalg.eigh: (
            ("a", "UPLO='L'"),
            ["eigh_jvp(da, a, out, UPLO=UPLO)"],
            ["eigh_vjp(g, a, out, UPLO=UPLO)"],
        ),
        np.linalg.svd: (
            ("a", "full_matrices=True", "compute_uv=True", "hermitian=False"),
            [f"svd_jvp(da, a, out, {SVD})"],
            [f"svd_vjp(g, a, out, {SVD})"],
        ),
        # rcond and rtol only choose the rank; the result tells it
        np.linalg.pinv: (
            ("a", "rcond=None", "hermitian=False", "rtol=None"),
            ["pinv_jvp(da, a, out, hermitian=hermitian)"],
            ["pinv_vjp(g, a, out, hermitian=hermitian)"],
        ),
        # (x, residuals, rank, sv): all but the integer rank are differentiable
        np.linalg.lstsq: (
            ("a", "b", "rcond=None"),
            ["lstsq_jvp_a(da, a, b, out)", "lstsq_jvp_b(db, a, b, out)"],
            ["lstsq_vjp_a(g, a, b, out)", "lstsq_vjp_b(g, a, b, out)"],
        ),
        np.linalg.multi_dot: (("xs",), "multi_dot_jvp(dxs, xs)", "multi_dot_vjp(g, xs)"),
        np.linalg.tensorsolve: (
            "np.linalg.tensorsolve(a, b, axes=None)",
            ["tensorsolve_jvp_a(da, a, out, axes=axes)", LINEAR],
            ["tensorsolve_vjp_a(g, a, b, out, axes=axes)", "tensorsolve_vjp_b(g, a, b, axes=axes)"],
        ),
        np.linalg.tensorinv: (
            ("a", "ind=2"),
            "tensorinv_jvp(da, out, ind=ind)",
            "tensorinv_vjp(g, a, out, ind=ind)",
        ),
        np.linalg.cond: (("x", "p=None"), "cond_jvp(dx, x, p=p)", "cond_vjp(g, x, p=p)"),
    }
)
if hasattr(np.linalg, "svdvals"):  # NumPy 2
    LINALG[np.linalg.svdvals] = (("a",), ["svdvals_jvp(da, a)"], ["svdvals_vjp(g, a)"])

# NumPy 2's array-API functions in np.linalg are objects of their own, apart from their np.
# namesakes: the matrices are the last two axes.  Each is registered where it exists.  All
# are linear (the products in each factor).
ARRAY_API = {
    "matrix_transpose": ("np.linalg.matrix_transpose(x)", "mT(g)"),
    "diagonal": (
        "np.linalg.diagonal(x, offset=0)",
        "diagonal_vjp(g, x, offset=offset, axis1=-2, axis2=-1)",
    ),
    "trace": ("np.linalg.trace(x, offset=0, dtype=None)", "matrix_trace_vjp(g, x, offset=offset)"),
    "outer": ("np.linalg.outer(x, y)", ["like(x, g @ y)", "like(y, x @ g)"]),
    "matmul": ("np.linalg.matmul(x, y)", ["matmul_vjp_x(g, x, y)", "matmul_vjp_y(g, x, y)"]),
    "tensordot": (
        "np.linalg.tensordot(x, y, axes=2)",
        ["tensordot_vjp_x(g, x, y, axes=axes)", "tensordot_vjp_y(g, x, y, axes=axes)"],
    ),
    "vecdot": (
        "np.linalg.vecdot(x, y, axis=-1)",
        ["vecdot_vjp(g, x, y, axis=axis)", "vecdot_vjp(g, y, x, axis=axis)"],
    ),
    "cross": (
        "np.linalg.cross(x, y, axis=-1)",
        ["cross_vjp(g, x, y, axis=axis)", "cross_vjp(g, x, y, axis=axis, position=1)"],
    ),
}
LINALG.update({getattr(np.linalg, n): v for n, v in ARRAY_API.items() if hasattr(np.linalg, n)})
register_table(LINALG, namespace)
# lstsq's JVPs are tuples, one per parameter: forward mode adds them item by item.  The
# factorizations' results are tuples too (their cotangents add item by item in reverse mode).
for factorization in (np.linalg.lstsq, np.linalg.eigh, np.linalg.slogdet):
    lookup(factorization).tuple_result = True
NORM = "ord=ord, axis=axis, keepdims=keepdims"
template_rule(
    np.linalg.norm,
    ("x", "ord=None", "axis=None", "keepdims=False"),
    jvp=[f"np.sum(dx * norm_weights(x, out, {NORM}), {REDUCE})"],
    vjp=[f"unreduce(g, x, {REDUCE}) * norm_weights(x, out, {NORM})"],
    namespace=namespace,
    result_kind=always(SCALAR),
    reduction=True,
)
if hasattr(np.linalg, "vector_norm"):  # NumPy 2
    template_rule(
        np.linalg.vector_norm,
        ("x", "axis=None", "keepdims=False", "ord=2"),
        jvp=[f"np.sum(dx * vector_norm_weights(x, out, {REDUCE}, ord=ord), {REDUCE})"],
        vjp=[f"unreduce(g, x, {REDUCE}) * vector_norm_weights(x, out, {REDUCE}, ord=ord)"],
        namespace=namespace,
        result_kind=always(SCALAR),
        reduction=True,
    )
if hasattr(np.linalg, "matrix_norm"):  # NumPy 2
    template_rule(
        np.linalg.matrix_norm,
        ("x", "keepdims=False", "ord='fro'"),
        jvp=["matrix_norm_jvp(dx, x, keepdims=keepdims, ord=ord)"],
        vjp=["matrix_norm_vjp(g, x, keepdims=keepdims, ord=ord)"],
        namespace=namespace,
    )
