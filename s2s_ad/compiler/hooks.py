"""Tables the API layer fills for the compiler, which never imports the API.

* :data:`DERIVATIVE_MAKERS` -- the public transforms whose result may be
  called inside a differentiated function (``ad.grad(f)(x)``); the lowerer
  makes the derived function at transform time and differentiates its
  emitted code.
* :data:`DIRECT_TRANSFORMS` -- the public transforms that may be called inside a
  differentiated function for their value (``ad.jvp(g, (x,), (v,))``).
* :data:`PULLBACK_MAKERS` -- the public transforms that may be unpacked into a value
  and a pullback inside a differentiated function (``y, pb = ad.vjp(g, x)``).
* :data:`COMPOSITE_MAKERS` -- the public transforms whose result (a composite:
  ``ad.hessian(g)``, ``ad.jacobian(g)``, ...) may be called inside a differentiated
  function, by what they assemble (``"hessian"``, ...).
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

# Public transforms that make composites called inside a differentiated function
# (``ad.hessian(g)(x)``) -> (their name as users write it, what they assemble).
COMPOSITE_MAKERS: Dict[Callable, Tuple[str, str]] = {}

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


def register_composite_maker(fn: Callable, spelling: str, assembly: str) -> Callable:
    """Let ``fn(g, ...)(x)`` appear inside a differentiated function, computing
    ``assembly`` (``"hessian"``, ``"jacobian"``, ``"hvp"``, ``"laplacian"``,
    ``"divergence"`` or ``"curl"``); returns ``fn``."""
    COMPOSITE_MAKERS[fn] = (spelling, assembly)
    return fn


def inside_hint() -> str:
    """What can be called inside a differentiated function, as the hint of a refusal.

    >>> "value, pullback = ad.vjp(g, ...)" in inside_hint()
    True
    """
    inside = [f"{name}(g)(...)" for name in DERIVATIVE_MAKERS.values()]
    inside += [f"{name}(g)(...)" for name, _ in COMPOSITE_MAKERS.values()]
    inside += [f"{name}(g, ...)" for name in DIRECT_TRANSFORMS.values()]
    inside += [f"value, pullback = {name}(g, ...)" for name in PULLBACK_MAKERS.values()]
    return (
        "call " + ", ".join(inside) + " there, or transform the function outside and pass "
        "what it computes in as an argument"
    )


def spelling_of_maker(fn: Any) -> Optional[str]:
    """How users write ``fn`` if it makes a function that may be called inside a
    differentiated function (``ad.grad``, ``ad.hessian``, ...), else None; found by
    identity, since ``fn`` may be unhashable."""
    makers = [*DERIVATIVE_MAKERS.items(), *((f, s) for f, (s, _) in COMPOSITE_MAKERS.items())]
    return next((spelling for maker, spelling in makers if maker is fn), None)


def register_derive(derive: Callable[..., Any]) -> None:
    """Install the function that gives the cached transform of a user function."""
    global _derive
    _derive = derive


def derived(fn: Callable, mode: str, wrt: tuple, order: int = 1) -> Any:
    """The cached transform of ``fn`` for ``mode``, ``wrt`` and ``order``."""
    if _derive is None:
        raise RuntimeError("s2s_ad.compiler.derived registers the derived-function cache")
    return _derive(fn, mode, wrt, order=order)
