"""Custom rules: teach s2s_ad the derivative of a function it cannot see into."""

from __future__ import annotations

from typing import Callable

from .. import rules
from ..rules import MISSING, Rule, Template


def defvjp(fn: Callable, *vjps: Callable) -> None:
    """Register reverse-mode rules for ``fn``; its calls become a primitive.

    ``vjps[i](g, ans, *args)`` returns the cotangent of argument ``i`` given the
    cotangent ``g`` of the result ``ans`` (autograd's convention); ``None``
    marks an argument that is not differentiable.

    >>> import math
    >>> def log1pexp(x):
    ...     return math.log1p(math.exp(x))
    >>> defvjp(log1pexp, lambda g, ans, x: g / (1 + math.exp(-x)))
    """
    _define(fn, vjps, "vjp")


def defjvp(fn: Callable, *jvps: Callable) -> None:
    """Register forward-mode rules for ``fn``; its calls become a primitive.

    ``jvps[i](t, ans, *args)`` returns the tangent of the result contributed
    by the tangent ``t`` of argument ``i``; ``None`` marks an argument that is
    not differentiable.

    >>> import math
    >>> def log1pexp(x):
    ...     return math.log1p(math.exp(x))
    >>> defjvp(log1pexp, lambda t, ans, x: t / (1 + math.exp(-x)))
    """
    _define(fn, jvps, "jvp")


def _define(fn: Callable, user_rules: tuple, side: str) -> None:
    if not callable(fn):
        raise TypeError(f"def{side} expects a callable first, got {fn!r}")
    if not user_rules:
        raise TypeError(f"def{side}({getattr(fn, '__name__', fn)}) needs one rule per argument")
    for rule in user_rules:
        if rule is not None and not callable(rule):
            raise TypeError(f"def{side}: each rule must be a callable or None, got {rule!r}")
    arity = len(user_rules)
    arg_names = tuple(f"a{i}" for i in range(arity))
    base = getattr(fn, "__name__", "fn")
    namespace = {}
    templates = []
    for i, rule in enumerate(user_rules):
        if rule is None:
            templates.append(None)
            continue
        rule_name = f"{base}_{side}{i}"
        namespace[rule_name] = rule
        rules.PREFERRED_NAMES[id(rule)] = rule_name
        first = "g" if side == "vjp" else f"d{arg_names[i]}"
        call = f"{rule_name}({first}, out, {', '.join(arg_names)})"
        templates.append(Template.parse(call))

    existing = rules.lookup(fn)
    other_side = "jvp" if side == "vjp" else "vjp"
    if existing is not None and len(existing.arg_names) == arity and existing.fn is fn:
        other = getattr(existing, other_side)
        namespace = {**existing.namespace(False), **namespace}
    else:
        other = tuple(None if t is None else MISSING for t in templates)
    sides = {side: tuple(templates), other_side: other}
    rules.register(
        Rule(
            fn,
            arg_names,
            jvp=sides["jvp"],
            vjp=sides["vjp"],
            namespace=rules.fixed(namespace),
            tuple_result=True,  # a user's rules may return tuples
            complex_values=True,  # the user's rule: its author says what it does on complex
        )
    )
