"""Rules for ``np.linalg``, with helpers from :mod:`s2s_ad.linalg`."""

from __future__ import annotations

import numpy as np

from . import SCALAR, always, fixed, template_rule
from .numpy import NAMES, REDUCE, register_table

namespace = fixed(NAMES)  # its own object: tests and docs tell the tables apart by it

# Linear algebra (np.linalg).  The lecture's results: for x = solve(A, b),
# b's cotangent is A^-T g and A's is -(A^-T g) x^T; for singular values,
# W's cotangent is U diag(g) V^T.
LINALG = {
    np.linalg.solve: (
        ("a", "b"),
        ["np.linalg.solve(a, -(da @ out))", "np.linalg.solve(a, db)"],
        ["solve_vjp_a(g, a, out)", "solve_vjp_b(g, a)"],
    ),
    np.linalg.inv: (("a",), ["-(out @ da @ out)"], ["-(mT(out) @ g @ mT(out))"]),
    np.linalg.det: (("a",), ["det_jvp(da, a, out)"], ["det_vjp(g, a, out)"]),
    np.linalg.slogdet: (("a",), ["slogdet_jvp(da, a)"], ["slogdet_vjp(g, a)"]),
    np.linalg.cholesky: (("a",), ["cholesky_jvp(da, out)"], ["cholesky_vjp(g, out)"]),
    np.linalg.eigvalsh: (("a",), ["eigvalsh_jvp(da, a)"], ["eigvalsh_vjp(g, a)"]),
    np.linalg.matrix_power: (
        ("a", "n"),
        ["matrix_power_jvp(da, a, n)"],
        ["matrix_power_vjp(g, a, n)"],
    ),
}
if hasattr(np.linalg, "svdvals"):  # NumPy 2
    LINALG[np.linalg.svdvals] = (("a",), ["svdvals_jvp(da, a)"], ["svdvals_vjp(g, a)"])
register_table(LINALG, namespace)
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
