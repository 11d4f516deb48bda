"""Custom rules: teach s2s_ad the derivative of a function it cannot see into."""

from __future__ import annotations

from typing import Callable

from .. import rules, runtime
from ..compiler.library import make_transparent
from ..rules import MISSING, Rule, Template


def defvjp(fn: Callable, *vjps: Callable) -> None:
    """Register reverse-mode rules for ``fn``; its calls become a primitive.

    ``vjps[i](g, ans, *args)`` returns the cotangent of argument ``i`` given the
    cotangent ``g`` of the result ``ans`` (autograd's convention); ``None``
    marks an argument that is not differentiable.  What a rule returns must have
    its argument's shape, or broadcast to it (a scalar gives every entry that
    value): another shape is a ``ValueError`` naming the rule, as in JAX.

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
    not differentiable.  What a rule returns must have the result's shape, or
    broadcast to it; another shape is a ``ValueError`` naming the rule.

    >>> import math
    >>> def log1pexp(x):
    ...     return math.log1p(math.exp(x))
    >>> defjvp(log1pexp, lambda t, ans, x: t / (1 + math.exp(-x)))
    """
    _define(fn, jvps, "jvp")


def transparent(fn: Callable) -> Callable:
    """Opt the library function ``fn`` in to be differentiated through its source, as if the
    user had written it; returns ``fn``, so it also works as a decorator.

    Functions of installed packages and of the standard library are library code: s2s_ad
    calls them, and differentiates a call on varied values only with a rule
    (:func:`defvjp`, :func:`defjvp`); without one the transform is refused at the call.
    ``transparent`` is for a library function whose source is plain Python and NumPy.
    Library functions it calls in turn need rules (or ``transparent``) of their own.
    Call it before the first transform that uses ``fn``.

    >>> import colorsys
    >>> import s2s_ad as ad
    >>> def luma(r, g, b):
    ...     return colorsys.rgb_to_yiq(r, g, b)[0]
    >>> transparent(colorsys.rgb_to_yiq) is colorsys.rgb_to_yiq
    True
    >>> round(ad.grad(luma)(0.5, 0.2, 0.3), 6)
    0.3
    >>> from s2s_ad.compiler.library import forget_transparent
    >>> forget_transparent(colorsys.rgb_to_yiq)  # (the doctest puts things back)
    """
    return make_transparent(fn)


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
        # what the rule returns must fit the argument (VJP) or the result (JVP) it is for
        if side == "vjp":
            like, what = arg_names[i], f"the cotangent of argument {i}"
        else:
            like, what = "out", f"the tangent of {base}'s result"
        templates.append(Template.parse(f"shaped_like({call}, {like}, {rule_name!r}, {what!r})"))
    namespace["shaped_like"] = runtime.shaped_like

    existing = rules.lookup(fn)
    other_side = "jvp" if side == "vjp" else "vjp"
    # (a bound method, scipy.stats.norm.sf, is a new object per read: equal, not identical)
    same = existing is not None and (existing.fn is fn or existing.fn == fn)
    if same and len(existing.arg_names) == arity:
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
