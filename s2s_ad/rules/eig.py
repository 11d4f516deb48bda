"""Rules for the general eigendecomposition, ``np.linalg.eig`` and ``np.linalg.eigvals``,
with the helpers of :mod:`s2s_ad.runtime.eig` (JAX's ``eig_jvp_rule`` and its transpose).

Both hold for real and complex matrices (their results are complex in general).  They are
differentiated once: the helpers are linear in the (co)tangent, each the other's
transpose, and their derivatives in the matrix are refused.
"""

from __future__ import annotations

import numpy as np

from ..runtime import eig as eig_helpers
from ..runtime.complex_numbers import real_like
from .core import fixed, lookup, refused, verified_on_complex
from .numpy import NAMES, register_table

EIG_NAMES = {**NAMES, **{k: v for k, v in vars(eig_helpers).items() if k[0] != "_"}}
EIG_NAMES["real_like"] = real_like
namespace = fixed(EIG_NAMES)

register_table(
    {
        np.linalg.eig: (("a",), ["eig_jvp(da, a, out)"], ["eig_vjp(g, a, out)"]),
        np.linalg.eigvals: (("a",), ["eigvals_jvp(da, a, out)"], ["eigvals_vjp(g, a, out)"]),
    },
    namespace,
)

SECOND_ORDER = refused(
    "second derivatives through np.linalg.eig and np.linalg.eigvals are not supported",
    "s2s_ad differentiates them once; for a symmetric or Hermitian matrix, "
    "np.linalg.eigvalsh has second derivatives",
)
# helper: its transpose, linear in the first parameter (refused in the matrix and in eig,
# the result of np.linalg.eig or np.linalg.eigvals it was given);
# a real cotangent of the eigenvalues gets a real cotangent
TRANSPOSES = {
    "eig_jvp": "eig_vjp(g, a, eig)",
    "eig_vjp": "real_like(eig_jvp(g, a, eig), v)",
    "eigvals_jvp": "eigvals_vjp(g, a, eig)",
    "eigvals_vjp": "real_like(eigvals_jvp(g, a, eig), v)",
}
register_table(
    {
        getattr(eig_helpers, helper): (
            f"{helper}(v, a, eig, /)",
            [transpose, SECOND_ORDER, SECOND_ORDER],
        )
        for helper, transpose in TRANSPOSES.items()
    },
    namespace,
)
lookup(eig_helpers.eig_jvp).tuple_result = True

verified_on_complex(np.linalg.eig, np.linalg.eigvals)
verified_on_complex(*(getattr(eig_helpers, helper) for helper in TRANSPOSES))
