"""Calls of a user function that takes ``*args`` or ``**kwargs`` and is not inlined.

The emitted code of such a function takes its ``*args`` as one tuple and its
``**kwargs`` as one dict (see :func:`~s2s_ad.compiler.signatures.ordered_parameters`).
Lowering writes a call of it that is not inlined (a recursive one, an ``ad.checkpoint``
one) as a call of :func:`packed`, which takes every parameter by keyword, the ``*args``
as a tuple built at the call and the ``**kwargs`` as a dict: so a call passes each
parameter as one value, which the transforms differentiate like any other (``wrt="xs"``
of the callee; the tuple display distributes the cotangents to the items), and the
plain derived functions that code differentiated again calls (``closed_calls.py``) have
explicit parameters.

>>> def h(n, *xs, **kw):
...     return n * sum(xs) + kw.get("c", 0.0)
>>> p = packed(h)
>>> p is packed(h), original(p) is h
(True, True)
>>> str(signature(p)), p(n=2.0, xs=(1.0, 3.0), kw={"c": 1.0})
('(*, n, xs=(), kw={})', 9.0)
>>> ordered_arguments(p, (), {"n": 2.0, "xs": (1.0,)})
(2.0, (1.0,), {})
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any, Callable, Dict, Tuple

from ..runtime.schedules import CHECKPOINT_MARK
from .signatures import Binding, signature

_PACKED: weakref.WeakKeyDictionary[Callable, Callable] = weakref.WeakKeyDictionary()
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def takes_variadic(fn: Any) -> bool:
    """Whether the Python function ``fn`` takes ``*args`` or ``**kwargs``.

    >>> takes_variadic(lambda x, *rest: x), takes_variadic(lambda x: x)
    (True, False)
    """
    try:
        params = signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in _VARIADIC for p in params)


def packed(fn: Callable) -> Callable:
    """``fn`` taking every parameter by keyword, its ``*args`` as one tuple and its
    ``**kwargs`` as one dict (cached: one per function)."""
    if fn not in _PACKED:
        _PACKED[fn] = _packed(fn)
    return _PACKED[fn]


def original(fn: Any) -> Any:
    """The function :func:`packed` made ``fn`` from, or ``fn`` itself."""
    return getattr(fn, "_s2s_packs", fn)


def ordered_arguments(fn: Callable, args: tuple, kwargs: Dict[str, Any]) -> tuple:
    """The arguments of a call of ``fn`` in the order its emitted code takes them; for a
    function :func:`packed` made, bound to its parameters (defaults filled in)."""
    if original(fn) is fn:
        raise TypeError(f"{fn.__name__} was not made by packed()")
    bound = signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.arguments.values())


def prepare(derived: Any, fn: Callable, args: tuple, kwargs: Dict[str, Any]) -> Tuple[Any, tuple]:
    """``derived.prepare(args, kwargs)`` (a :class:`~s2s_ad.compiler.derived.Derived` of
    ``original(fn)``): the emitted function and the arguments, in order, of a call of ``fn``."""
    if original(fn) is fn:
        return derived.prepare(args, kwargs)
    return derived.specialized(ordered_arguments(fn, args, kwargs))


def _packed(fn: Callable) -> Callable:
    binding = Binding(fn)
    own = signature(fn).parameters
    params = []
    for name in binding.params:
        kind = own[name].kind
        default = {kind.VAR_POSITIONAL: (), kind.VAR_KEYWORD: {}}.get(kind, own[name].default)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))

    def call(**arguments: Any) -> Any:
        return binding.call(ordered_arguments(call, (), arguments))

    call.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    call.__name__ = fn.__name__
    call.__qualname__ = fn.__qualname__
    call.__module__ = fn.__module__
    call.__doc__ = f"{fn.__qualname__}, its *args as one tuple and its **kwargs as one dict."
    call._s2s_packs = fn  # type: ignore[attr-defined]
    if getattr(fn, CHECKPOINT_MARK, False):
        setattr(call, CHECKPOINT_MARK, True)
    return call
