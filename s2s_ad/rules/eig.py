"""Rules for the general eigendecomposition, ``np.linalg.eig`` and ``np.linalg.eigvals``,
with the helpers of :mod:`s2s_ad.runtime.eig` (JAX's ``eig_jvp_rule`` and its transpose).

Both hold for real and complex matrices (their results are complex in general).  The helpers
are transformed from their source (NumPy that has rules, and the eigendecomposition, whose
rule calls them again), so ``eig`` and ``eigvals`` have derivatives of every order.
"""

from __future__ import annotations

import numpy as np

from ..runtime import eig as eig_helpers
from .core import fixed, impure, lookup, nondifferentiable, substitute, verified_on_complex
from .numpy import NAMES, register_table

EIG_NAMES = {**NAMES, **{k: v for k, v in vars(eig_helpers).items() if k[0] != "_"}}
namespace = fixed(EIG_NAMES)

register_table(
    {
        np.linalg.eig: (("a",), ["eig_jvp(da, a, out)"], ["eig_vjp(g, a, out)"]),
        np.linalg.eigvals: (("a",), ["eigvals_jvp(da, a, out)"], ["eigvals_vjp(g, a, out)"]),
    },
    namespace,
)
lookup(np.linalg.eig).tuple_result = True  # (w, V): cotangents add item by item
for helper in eig_helpers.TRANSFORMED_FROM_SOURCE:
    substitute(helper, helper)
nondifferentiable(eig_helpers.matching_columns)  # positions: integers
nondifferentiable(eig_helpers.require_eigenbasis)
impure(eig_helpers.require_eigenbasis)  # kept where its result is unused: it may refuse

verified_on_complex(np.linalg.eig, np.linalg.eigvals)
