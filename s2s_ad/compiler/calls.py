"""Calls from emitted code into the derivatives of other user functions.

When a differentiated function calls another Python function that has no
rule, the callee is transformed too -- on its own, cached on its own -- and
the emitted code calls its derivative through a :class:`Callee`:

* forward mode: ``t, dt = g_jvp((da,), a, b)``; Taylor mode (``derivative(order=n)``)
  the same with ``g_series``, whose tangents are tuples of Taylor coefficients;
* reverse mode: ``t, g_pullback = g_vjp(a, b)`` in the primal sweep, and
  ``da = g_pullback(dt)[0]`` in the adjoint sweep.

The derivative is built on the first call, so a function may call itself
(recursion) or be defined after its caller.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import threading
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

from .. import rules
from . import hooks, ir
from .errors import Loc, TransformError
from .library import is_library_function
from .lower import lower_function
from .packed_calls import original, prepare
from .spec import JVP, SERIES


class Callee:
    """The JVP or VJP of a user function, as emitted code calls it.

    ``g_jvp(tangents, *args, **kwargs)`` returns ``(out, out_tangent)``;
    ``g_vjp(*args, **kwargs)`` returns ``(out, pullback)``.
    """

    def __init__(self, fn: Callable, mode: str, wrt: Tuple[str, ...], order: int = 1):
        if not is_derived(original(fn)):  # a derived function's code is emitted: it lowers
            lower_function(original(fn))  # what the callee cannot use is reported with the caller
        self.fn = fn
        self.mode = mode
        self.wrt = wrt
        self.order = order  # of Taylor mode (``SERIES``)
        self.__name__ = f"{fn.__name__}_{mode}"
        self._derived = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not getattr(_NESTING, "headroom", False):  # the outermost callee's call
            with _recursion_headroom(self.fn):
                return self(*args, **kwargs)
        depth = _NESTING.depth
        _NESTING.depth = depth + 1
        _NESTING.deepest = max(_NESTING.deepest, depth + 1)
        try:
            if self._derived is None:
                self._derived = hooks.derived(original(self.fn), self.mode, self.wrt, self.order)
            if self.mode in (JVP, SERIES):
                tangents, *args = args
                fn, args = prepare(self._derived, self.fn, tuple(args), kwargs)
                return fn(*args, *tangents)
            fn, args = prepare(self._derived, self.fn, args, kwargs)
            return fn(*args)
        finally:
            _NESTING.depth = depth

    def __repr__(self) -> str:
        return f"s2s_ad callee {self.mode} of {self.fn.__qualname__} wrt {self.wrt}"


# Python frames a derivative runs for each frame of a recursive user function (the
# emitted function and the Callee's call; measured: 3), with room to spare.
FRAMES_PER_CALL = 4
# The highest recursion limit the derivatives raise it to on their own: their calls go
# through C, and 8 MB of C stack (Linux's default) held about 24,000 such frames.
SAFE_LIMIT = 10_000
_NESTING = threading.local()  # how deeply callees' calls nest in this thread
# The recursion limit is the interpreter's: the first thread to raise it records the
# limit it found, the last one out puts it back.
_LIMIT_LOCK = threading.Lock()
_RAISED: list = []  # (limit found, limit set) of each thread running derivatives


@contextlib.contextmanager
def _recursion_headroom(fn: Callable) -> Iterator[None]:
    """While the outermost callee runs: a recursion limit ``FRAMES_PER_CALL`` times higher
    (up to ``SAFE_LIMIT``), so that a derivative recurses as deep as ``fn`` itself can;
    past that, an error that says how deep it went and what to do."""
    with _LIMIT_LOCK:
        limit = _RAISED[0][0] if _RAISED else sys.getrecursionlimit()
        raised = max(limit, min(limit * FRAMES_PER_CALL, SAFE_LIMIT))
        if not _RAISED:
            sys.setrecursionlimit(raised)
        _RAISED.append((limit, raised))
    _NESTING.headroom, _NESTING.depth, _NESTING.deepest = True, 0, 0
    try:
        yield
    except RecursionError as exc:
        deepest = _NESTING.deepest
        raise RecursionError(
            f"the derivative of `{fn.__name__}` reached Python's recursion limit after "
            f"{deepest} nested calls of user functions (the limit is {limit}, raised to "
            f"{raised} while derivatives run; they take up to {FRAMES_PER_CALL} frames for "
            "each frame of the function itself); if the function itself recurses deeper, "
            f"raise the limit: sys.setrecursionlimit({FRAMES_PER_CALL * deepest}) or more "
            "(and, that deep, a bigger stack: threading.stack_size); else look for a "
            "recursion that does not end"
        ) from exc
    finally:
        _NESTING.headroom = False
        with _LIMIT_LOCK:
            _RAISED.remove((limit, raised))
            # put the limit back, unless someone else changed it meanwhile
            if not _RAISED and sys.getrecursionlimit() == raised:
                sys.setrecursionlimit(limit)


def is_user_function(fn: Any) -> bool:
    """A Python function without a derivative rule: transformed when called."""
    fn = original(fn)  # a call lowering packed (``packed_calls.py``): of the user function
    return (
        inspect.isfunction(fn)
        and rules.lookup(fn) is None
        and not rules.is_nondifferentiable(fn)
        and (not _is_ours(fn) or is_derived(fn))
        and not is_library_function(fn)
    )


def is_derived(fn: Any) -> bool:
    """A function made by ``ad.grad``, ``ad.derivative``, ...: its emitted code is transformed."""
    return getattr(fn, "_s2s_derived", None) is not None


def _is_ours(fn: Any) -> bool:
    module = getattr(fn, "__module__", None) or ""
    return module == "s2s_ad" or module.startswith("s2s_ad.")


def varied_parameters(
    call: ir.Call, varied: set, loc: Optional[Loc]
) -> Sequence[Tuple[str, ir.Atom]]:
    """The callee's parameters that receive varied atoms, in the callee's order."""
    try:
        signature = inspect.signature(call.fn)
        bound = signature.bind(*call.args, **dict(call.kwargs))
    except (TypeError, ValueError) as exc:
        raise TransformError(
            f"cannot match this call to the parameters of `{call.fn.__name__}`: {exc}",
            loc,
            "call it with arguments that match its parameters",
        ) from None
    result = []
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            values = value if isinstance(value, tuple) else tuple(value.values())
            if any(v in varied for v in values):
                raise TransformError(
                    f"`{call.fn.__name__}` takes *args or **kwargs, which cannot be "
                    "differentiated through",
                    loc,
                    f"give `{call.fn.__name__}` explicit parameters",
                )
            continue
        if value in varied:
            result.append((name, value))
    return result
