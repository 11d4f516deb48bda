"""Calls that are not inlined, in code that another transform differentiates again.

First-order code calls a user function that is not inlined (a recursive one, an
``ad.checkpoint`` one, a derivative made by s2s_ad, ...) through a
:class:`~s2s_ad.compiler.calls.Callee` and, in reverse mode, a pullback closure:
fast, but the next transform cannot see into a closure.  Code made for another
transform (``Spec.closed``, see ``Derived.transformable``) calls plain functions:

* reverse mode: ``t = p(a, b)`` in the primal sweep, and ``cts = p_cotangents(a, b,
  seed=dt)`` in the adjoint sweep, which runs ``p`` again and returns the cotangents of
  the differentiated arguments (the recomputation ``ad.checkpoint`` uses);
* forward mode: ``t, dt = p_jvp(a, b, d_a=da)``.

``p_cotangents`` and ``p_jvp`` are derived functions (``_s2s_derived``), so the next
transform calls *their* derivatives, made from their emitted code with ``closed`` set
again: closure by recursion, to any order.  There is one per function, mode and
``wrt`` (:func:`closed_derivative`), or the recursion would never meet a cache.

>>> def p(x, n):
...     return x * n
>>> wrapper = closed_derivative(p, COTANGENTS, ("x",))
>>> wrapper is closed_derivative(p, COTANGENTS, ("x",))
True
>>> str(signature(wrapper)), wrapper(2.0, 3.0, seed=1.0)
('(x, n, *, seed)', (3.0,))
"""

from __future__ import annotations

import inspect
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from . import hooks, ir
from .errors import Loc, TransformError
from .packed_calls import original, prepare
from .signatures import parameters, signature
from .spec import COTANGENTS, JVP

_WRAPPERS: weakref.WeakKeyDictionary[Callable, Dict[tuple, Callable]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ClosedDerivative:
    """What a function of :func:`closed_derivative` calls: the ``mode`` derivative of
    ``fn`` with respect to ``wrt``, with the parameters ``added`` to ``fn``'s."""

    fn: Callable
    mode: str
    wrt: Tuple[str, ...]
    added: Tuple[str, ...]


def closed_derivative_of(value: Any) -> Optional[ClosedDerivative]:
    """What ``value`` calls, if :func:`closed_derivative` made it."""
    return getattr(value, "_s2s_closed", None)


def closed_derivative(fn: Callable, mode: str, wrt: Tuple[str, ...]) -> Callable:
    """The plain function that calls the ``mode`` derivative of ``fn`` (cached): its
    parameters are ``fn``'s, then keyword-only ones for the seed (``COTANGENTS``) or the
    tangents (``JVP``), as :func:`added_parameters` names them."""
    per_function = _WRAPPERS.setdefault(fn, {})
    key = (str(mode), tuple(wrt))
    if key not in per_function:
        per_function[key] = _wrapper(fn, mode, tuple(wrt))
    return per_function[key]


def added_parameters(fn: Callable, mode: str, wrt: Sequence[str]) -> Tuple[str, ...]:
    """The keyword-only parameters :func:`closed_derivative` adds to ``fn``'s.

    >>> added_parameters(lambda x, seed: x, COTANGENTS, ("x",))
    ('seed_',)
    >>> added_parameters(lambda x, y: x, JVP, ("x", "y"))
    ('d_x', 'd_y')
    """
    taken = set(parameters(fn))
    wanted = ("seed",) if mode == COTANGENTS else tuple(f"d_{name}" for name in wrt)
    added = []
    for name in wanted:
        while name in taken:
            name += "_"
        taken.add(name)
        added.append(name)
    return tuple(added)


def cotangents_call(
    fn: Callable, wrt: Tuple[str, ...], call: ir.Call, seed: ir.Atom, loc: Optional[Loc]
) -> ir.Call:
    """``p_cotangents(a, b, seed=dt)`` for the call ``p(a, b)``: the cotangents of the
    parameters ``wrt``, in that order."""
    (name,) = added_parameters(fn, COTANGENTS, wrt)
    wrapper = _checked(fn, COTANGENTS, wrt, loc)
    return ir.Call(wrapper, call.args, call.kwargs + ((name, seed),))


def jvp_call(
    fn: Callable,
    wrt: Tuple[str, ...],
    call: ir.Call,
    tangents: Sequence[ir.Atom],
    loc: Optional[Loc],
) -> ir.Call:
    """``p_jvp(a, b, d_a=da)`` for the call ``p(a, b)``: ``(value, tangent)``."""
    names = added_parameters(fn, JVP, wrt)
    wrapper = _checked(fn, JVP, wrt, loc)
    return ir.Call(wrapper, call.args, call.kwargs + tuple(zip(names, tangents)))


def _checked(fn: Callable, mode: str, wrt: Tuple[str, ...], loc: Optional[Loc]) -> Callable:
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if any(p.kind in variadic for p in signature(fn).parameters.values()):
        raise TransformError(
            f"cannot differentiate through this call of `{fn.__name__}` again: it is called, "
            "not inlined, and it takes *args or **kwargs",
            loc,
            f"give `{fn.__name__}` explicit parameters",
        )
    return closed_derivative(fn, mode, wrt)


def _wrapper(fn: Callable, mode: str, wrt: Tuple[str, ...]) -> Callable:
    derived = hooks.derived(original(fn), mode, wrt)
    added = added_parameters(fn, mode, wrt)

    def call(*args: Any, **kwargs: Any) -> Any:
        given = {k: v for k, v in kwargs.items() if k not in added}
        emitted, ordered = prepare(derived, fn, args, given)
        return emitted(*ordered, *(kwargs[name] for name in added))

    own = signature(fn)
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in added]
    call.__signature__ = own.replace(parameters=[*own.parameters.values(), *extra])
    call.__name__ = call.__qualname__ = f"{fn.__name__}_{mode}"
    call.__doc__ = (
        f"The {mode} of {fn.__qualname__}, as code that is differentiated again calls it."
    )
    call._s2s_derived = derived  # type: ignore[attr-defined]
    call._s2s_closed = ClosedDerivative(fn, mode, wrt, added)  # type: ignore[attr-defined]
    return call
