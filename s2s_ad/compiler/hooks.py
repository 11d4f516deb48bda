"""Tables the API layer fills for the compiler, which never imports the API.

* :data:`DERIVATIVE_MAKERS` -- the public transforms whose result may be
  called inside a differentiated function (``ad.grad(f)(x)``); the lowerer
  makes the derived function at transform time and differentiates its
  emitted code.
* :data:`DIRECT_TRANSFORMS` -- the public transforms that may be called inside a
  differentiated function for their value (``ad.jvp(g, (x,), (v,))``).
* :data:`PULLBACK_MAKERS` -- the public transforms that may be unpacked into a value
  and a pullback inside a differentiated function (``y, pb = ad.vjp(g, x)``).
* :func:`derived` -- the cached transform of a function, which a call from
  emitted code into another user function's derivative runs
  (:class:`~s2s_ad.compiler.calls.Callee`).  The pipeline's cache
  registers it (:mod:`s2s_ad.compiler.derived`).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

# Public transform -> its name as users write it (``ad.grad``).
DERIVATIVE_MAKERS: Dict[Callable, str] = {}

# Public transforms called inside a differentiated function for their value
# (``ad.jvp(g, (x,), (v,))``) -> their name as users write it.
DIRECT_TRANSFORMS: Dict[Callable, str] = {}

# Public transforms unpacked inside a differentiated function into a value and a pullback
# (``y, pb = ad.vjp(g, x)``) -> their name as users write it.
PULLBACK_MAKERS: Dict[Callable, str] = {}

# Public transforms that cannot be called inside a differentiated function yet -> their
# name as users write it: a call of one is refused there, saying what to write instead.
NOT_INSIDE: Dict[Callable, str] = {}

_derive: Optional[Callable[..., Any]] = None


def register_derivative_maker(fn: Callable, spelling: str) -> Callable:
    """Let ``fn(g, ...)(x)`` appear inside a differentiated function; returns ``fn``."""
    DERIVATIVE_MAKERS[fn] = spelling
    return fn


def register_direct_transform(fn: Callable, spelling: str) -> Callable:
    """Let ``fn(g, ...)`` appear inside a differentiated function; returns ``fn``."""
    DIRECT_TRANSFORMS[fn] = spelling
    return fn


def register_pullback_maker(fn: Callable, spelling: str) -> Callable:
    """Let ``y, pb = fn(g, x)`` appear inside a differentiated function; returns ``fn``."""
    PULLBACK_MAKERS[fn] = spelling
    return fn


def register_not_inside(fn: Callable, spelling: str) -> Callable:
    """Refuse ``fn(...)`` inside a differentiated function with a message; returns ``fn``."""
    NOT_INSIDE[fn] = spelling
    return fn


def not_inside_message(spelling: str) -> Tuple[str, str]:
    """The refusal of a call of the public transform ``spelling`` inside a differentiated
    function, and what to do.

    >>> not_inside_message("ad.hessian")[0]
    'ad.hessian cannot be called inside a differentiated function yet'
    """
    inside = [f"{name}(g)(...)" for name in DERIVATIVE_MAKERS.values()]
    inside += [f"{name}(g, ...)" for name in DIRECT_TRANSFORMS.values()]
    inside += [f"value, pullback = {name}(g, ...)" for name in PULLBACK_MAKERS.values()]
    return (
        f"{spelling} cannot be called inside a differentiated function yet",
        "call " + ", ".join(inside) + " there, or transform the function outside and pass "
        "what it computes in as an argument",
    )


def register_derive(derive: Callable[..., Any]) -> None:
    """Install the function that gives the cached transform of a user function."""
    global _derive
    _derive = derive


def derived(fn: Callable, mode: str, wrt: tuple, order: int = 1) -> Any:
    """The cached transform of ``fn`` for ``mode``, ``wrt`` and ``order``."""
    if _derive is None:
        raise RuntimeError("s2s_ad.compiler.derived registers the derived-function cache")
    return _derive(fn, mode, wrt, order=order)
