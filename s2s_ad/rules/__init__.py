"""Derivative rules, found by the Python object a call denotes.

A rule is a pair of templates per argument, written in Python as the code
that should appear in the output:

* the JVP template of argument ``x`` is the tangent contribution, written
  with ``dx`` (the tangent of ``x``), the arguments and ``out``;
* the VJP template is the cotangent contribution, written with ``g`` (the
  cotangent of the result), the arguments and ``out``.

Most primitives are scalar functions with one partial derivative per
argument; :func:`scalar_rule` turns one line such as ``np.tanh: "1 - out ** 2"``
into both templates (``dx * (1 - out ** 2)`` and ``g * (1 - out ** 2)``), as
ChainRules' ``@scalar_rule`` does.  Structural primitives get explicit pairs
through :func:`template_rule`.  Linear functions (``np.reshape``, ``np.sum``,
each factor of ``np.matmul``) write only their call and VJP, as autograd's
``def_linear`` does: :func:`linear_rule` derives the JVP, the same call on the
tangent (``np.reshape(dx, shape)``).  Functions whose derivative is zero everywhere
they are defined (``np.sign``, random draws, ``stop_gradient``) are listed
with :func:`nondifferentiable`.  A template may also be :func:`refused`: the argument is
differentiable, but this derivative is not implemented, and the transform says so.

The layer's modules:

* :mod:`.kinds` and :mod:`.syntax` -- value kinds, and operators as syntax;
* :mod:`.core` -- :class:`Rule`, :class:`Template`, the registry and its builders;
* the tables, one per domain, each registering its rules when imported:
  :mod:`.python` (operators, builtins, ``math``), :mod:`.numpy`,
  :mod:`.shape_ops`, :mod:`.linalg`, :mod:`.helpers` (the runtime helpers
  emitted code calls, so derivatives can be differentiated again),
  :mod:`.control` (checkpoint schedules);
* :mod:`.scipy` -- SciPy's special functions, linear algebra and ``scipy.stats.norm``,
  registered only where SciPy can be imported (the optional extra ``scipy``);
* :mod:`.series` -- Taylor-mode rules, which emitted code of
  ``derivative(f, order=n)`` calls.

The rules layer imports only the runtime layer, never the compiler.
"""

from . import (  # noqa: F401  (register)
    complex_numbers,
    control,
    eig,
    fft,
    helpers,
    linalg,
    numpy,
    python,
    shape_ops,
)

try:  # the optional extra `scipy`: its rules, whenever SciPy can be imported
    from . import scipy as scipy_rules  # noqa: F401  (register)
except ImportError:
    scipy_rules = None
from .core import (
    ARG_NAMES,
    LINEAR,
    MISSING,
    NOT_CONSTANT,
    PREFERRED_NAMES,
    RESERVED,
    Call,
    Opaque,
    Refusal,
    Rule,
    Template,
    VariadicRule,
    all_rules,
    complex_counterpart,
    complex_hint,
    complex_verified_functions,
    counterpart_for_complex,
    deterministic_check,
    fixed,
    hint_for_complex,
    impure,
    is_complex_source,
    is_deterministic_check,
    is_nondifferentiable,
    is_pure,
    key_of,
    linear_rule,
    lookup,
    nondiff_functions,
    nondifferentiable,
    only,
    parse_parameters,
    produces_complex,
    pure,
    real_only_constant,
    refused,
    refuses_complex,
    register,
    rule_of,
    scalar_rule,
    scale,
    structural_positions,
    structure_only,
    substitute,
    substitute_of,
    template_rule,
    unregister,
    variadic_rule,
    verified_on_complex,
)
from .kinds import ARRAY, SCALAR, UNKNOWN, Kind, always, join_kinds, kind_of_value

__all__ = [
    "deterministic_check",
    "is_deterministic_check",
    "complex_verified_functions",
    "complex_hint",
    "complex_counterpart",
    "counterpart_for_complex",
    "real_only_constant",
    "produces_complex",
    "verified_on_complex",
    "refuses_complex",
    "is_complex_source",
    "hint_for_complex",
    "ARG_NAMES",
    "ARRAY",
    "LINEAR",
    "MISSING",
    "NOT_CONSTANT",
    "PREFERRED_NAMES",
    "RESERVED",
    "SCALAR",
    "UNKNOWN",
    "Call",
    "Kind",
    "Opaque",
    "Refusal",
    "Rule",
    "Template",
    "VariadicRule",
    "all_rules",
    "always",
    "fixed",
    "impure",
    "is_nondifferentiable",
    "structural_positions",
    "structure_only",
    "is_pure",
    "join_kinds",
    "key_of",
    "kind_of_value",
    "linear_rule",
    "lookup",
    "nondiff_functions",
    "nondifferentiable",
    "only",
    "parse_parameters",
    "pure",
    "refused",
    "register",
    "rule_of",
    "scalar_rule",
    "scale",
    "substitute",
    "substitute_of",
    "template_rule",
    "unregister",
    "variadic_rule",
]
