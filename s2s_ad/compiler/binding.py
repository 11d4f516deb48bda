"""Matching a call of the IR to its derivative rule.

A call that the derivative passes through needs a rule; :func:`rule_for`
finds it, checks that the call fits its templates and otherwise raises a
:class:`TransformError` that says what to do.  :func:`bound_arguments`
binds the rule's parameter names to the call's atoms, and
:func:`template_of` picks one argument's JVP or VJP template.
"""

from __future__ import annotations

import inspect
from typing import AbstractSet, Any, Dict, Optional

import numpy as np

from .. import rules, runtime
from ..rules.numpy import ARRAY_METHODS
from . import ir
from .errors import Loc, TransformError
from .library import is_library_function, public_name
from .signatures import MADE_BY_ATTRIBUTE

# Methods that change their list, dict or array in place (and return None or an item).
IN_PLACE_METHODS = frozenset(
    "insert remove reverse sort clear update setdefault popitem fill put partition itemset "
    "resize setfield shuffle".split()
)
# NumPy functions that write into an argument instead of returning a new array.
_IN_PLACE_FUNCTIONS = (np.copyto, np.put, np.place, np.putmask, np.put_along_axis)
_IN_PLACE_FUNCTIONS += (np.fill_diagonal, np.random.shuffle)


class Default(ir.Const):
    """A rule parameter the call left out: template calls drop it where passed by keyword."""


def rule_for(call: ir.Call, loc: Optional[Loc]) -> rules.Rule:
    """The rule of an active call, or a TransformError that says what to do."""
    rule = rules.rule_of(call)
    name = call.spelling or getattr(call.fn, "__name__", repr(call.fn))
    if call.fn is runtime.call_method:
        raise TransformError(
            f"the method `.{call.args[1].value}()` of a varied value is not supported",
            loc,
            "call the NumPy function instead (`np.f(x)` for `x.f()`); supported methods: "
            + ", ".join(sorted(ARRAY_METHODS)),
        )
    if rule is None:
        if is_library_function(call.fn):
            raise library_call_error(call.fn, name, loc)
        hint = _missing_rule_hint(call, name)
        raise TransformError(f"no derivative rule for `{name}`", loc, hint)
    try:
        bound = rule.bind(call.args, call.kwargs)
        reason = rule.refusal({k: constant_of(v) for k, v in bound.items()})
        if reason:
            raise ValueError(reason)
    except ValueError as exc:
        raise TransformError(
            f"`{name}` cannot be differentiated as called here: {exc}",
            loc,
            f"call it as {name}({', '.join(rule.arg_names)}), "
            "or register a rule for this form with ad.defvjp",
        ) from None
    return rule


def refuse_varied_write(call: ir.Call, loc: Optional[Loc], varied: AbstractSet) -> None:
    """Refuse a call that writes into one of its arguments (``np.copyto(y, x)``,
    ``np.add.at(y, i, x)``, ``np.multiply(a, b, out=y)``, ``xs.sort()``) when a varied
    value takes part: derivatives work on values and would not see the change.

    >>> y, x = ir.Var("y"), ir.Var("x")
    >>> try:
    ...     refuse_varied_write(ir.Call(np.copyto, (y, x), spelling="np.copyto"), None, {x})
    ... except TransformError as exc:
    ...     print(str(exc).split(";")[0])
    `np.copyto` writes into its argument in place
    """
    arguments = [*call.args, *(value for _, value in call.kwargs)]
    if not any(isinstance(a, ir.Var) and a in varied for a in arguments):
        return
    written = _in_place_write(call)
    if written is not None:
        raise TransformError(
            f"{written}; s2s_ad differentiates values and would not see the change",
            loc,
            "assign the new value instead: `y = np.multiply(a, b)`, `y[idx] = x`, "
            "`x = np.sort(x)`, `xs = xs[::-1]`, `d = {**d, **other}`, or a loop "
            "`for k in range(len(idx)): y[idx[k]] += x[k]` for np.add.at",
        )


def _in_place_write(call: ir.Call) -> Optional[str]:
    """How ``call`` writes into one of its arguments, or None if it does not."""
    name = call.spelling or getattr(call.fn, "__name__", repr(call.fn))
    if call.fn is runtime.call_method and call.args[1].value in IN_PLACE_METHODS:
        return f"`.{call.args[1].value}()` changes its list, dict or array in place"
    unbound = getattr(call.fn, "__objclass__", None) in (list, dict, np.ndarray)
    if unbound and call.fn.__name__ in IN_PLACE_METHODS:  # `list.reverse(xs)`
        return f"`{name}` changes its list, dict or array in place"
    if isinstance(call.fn, np.ufunc) and len(call.args) > call.fn.nin:  # `np.add(a, b, y)`
        return f"`{name}` with an output argument writes its result into an existing array"
    ufunc_at = getattr(call.fn, "__name__", None) == "at" and isinstance(
        getattr(call.fn, "__self__", None), np.ufunc
    )
    if ufunc_at or any(call.fn is f for f in _IN_PLACE_FUNCTIONS):
        return f"`{name}` writes into its argument in place"
    if any(key == "out" and not _is_none(value) for key, value in call.kwargs):
        return f"`{name}(..., out=...)` writes its result into an existing array"
    return None


def _is_none(atom: ir.Atom) -> bool:
    return isinstance(atom, ir.Const) and atom.value is None


def library_call_error(fn: Any, written: str, loc: Optional[Loc]) -> TransformError:
    """The refusal of a varied call into library code that has no rule: library functions
    are called, never transformed from their source (see :mod:`.library`)."""
    name = public_name(fn) or written
    spelled = f"`{written}`" if written == name else f"`{written}` ({name})"
    # `st.norm.sf` has no public name: its package is where its code lives, not the alias
    package = (public_name(fn) or getattr(fn, "__module__", None) or written).split(".")[0]
    required = _required_parameters(fn) or ["x"]
    params = ", ".join(required)
    g, t = ("cotangent" if "g" in required else "g"), ("tangent" if "t" in required else "t")
    return TransformError(
        f"no derivative rule for {spelled}: it is library code (the installed package or "
        f"standard module `{package}`), which s2s_ad calls but does not differentiate "
        "through its source",
        loc,
        f"give it a rule, one function per differentiated argument (autograd's convention): "
        f"`ad.defvjp({name}, lambda {g}, ans, {params}: ...)` for reverse mode and "
        f"`ad.defjvp({name}, lambda {t}, ans, {params}: ...)` for forward mode"
        + (
            f"; or, if its source is plain Python and NumPy, opt it in with "
            f"`ad.transparent({name})`"
            if inspect.isfunction(fn)
            else ""
        ),
    )


def _required_parameters(fn: Any) -> list:
    """The names of ``fn``'s positional parameters without defaults (none if unknown)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in parameters if p.kind in positional and p.default is p.empty]


def _missing_rule_hint(call: ir.Call, name: str) -> str:
    made_by = getattr(call.fn, MADE_BY_ATTRIBUTE, None)
    if made_by is not None:  # ad.hessian(f), ad.jacobian(f), ...: no source to look into
        return (
            f"`{name}` is made by {made_by} outside the differentiated function, so there is "
            f"no source to look into: make it where it is called ({made_by}(f)(...) inside "
            "the function), or transform it directly (ad.grad, ad.jvp, ad.jacobian, ... take it)"
        )
    if inspect.isfunction(call.fn):
        return (
            f"s2s_ad does not look inside calls to other Python functions yet: "
            f"register a derivative with ad.defvjp({name}, ...) and ad.defjvp({name}, ...), "
            "or write the computation inline"
        )
    return (
        f"register one with ad.defvjp({name}, ...) and ad.defjvp({name}, ...), "
        "or wrap a value that should not be differentiated in ad.stop_gradient(...)"
    )


def constant_of(atom: ir.Atom) -> Any:
    """The value of a constant atom, or ``rules.NOT_CONSTANT``."""
    return atom.value if isinstance(atom, ir.Const) else rules.NOT_CONSTANT


def bound_arguments(rule: rules.Rule, call: ir.Call) -> Dict[str, ir.Atom]:
    """The rule's parameter names bound to the call's atoms; left-out ones to a `Default`."""
    bound = rule.bind(call.args, call.kwargs)
    for name in rule.arg_names:
        if name not in bound:
            bound[name] = Default(rule.defaults[name])
    return bound


def template_of(
    rule: rules.Rule, index: int, side: str, call: ir.Call, loc: Optional[Loc]
) -> rules.Template:
    """The JVP or VJP template of one argument, or a TransformError if unregistered or
    refused (:func:`s2s_ad.rules.refused`)."""
    template = getattr(rule, side)[index]
    if isinstance(template, rules.Refusal):
        raise TransformError(template.message, loc, template.hint)
    if template is rules.MISSING:
        name = call.spelling or rule.name
        mode, register = ("forward", "defjvp") if side == "jvp" else ("reverse", "defvjp")
        raise TransformError(
            f"`{name}` has no {mode}-mode rule for argument {index}",
            loc,
            f"register one with ad.{register}({name}, ...)",
        )
    return template
