"""Checkpointing, as users ask for it: ``ad.checkpoint`` for calls, ``ad.checkpointed`` for loops.

The compiler side is :mod:`s2s_ad.compiler.checkpoint`; the schedules of
checkpointed loops run in :mod:`s2s_ad.runtime.schedules`.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Callable, TypeVar

from ..compiler import hooks
from ..compiler.checkpoint import CHECKPOINT_MARK
from ..runtime.schedules import checkpointed

F = TypeVar("F", bound=Callable)

__all__ = ["checkpoint", "checkpointed"]


def checkpoint(fn: F) -> F:
    """``fn``, with its calls recomputed by reverse mode instead of stored.

    In a function that reverse mode differentiates, a call to the result
    keeps only its arguments during the primal sweep; the adjoint sweep runs
    ``fn``'s derivative code on them again.  Gradients are unchanged, memory
    drops to the arguments, time grows by one more run of ``fn``.  Called
    directly (or in forward mode) it is ``fn``.  Works as a decorator.

    >>> import numpy as np
    >>> import s2s_ad as ad
    >>> def layer(h, w):
    ...     return np.tanh(w * h)
    >>> recomputed = ad.checkpoint(layer)
    >>> bool(recomputed(0.5, 0.8) == layer(0.5, 0.8))
    True
    >>> bool(ad.grad(recomputed, wrt=1)(0.5, 0.8) == ad.grad(layer, wrt=1)(0.5, 0.8))
    True

    See docs/memory.md for a loop of checkpointed calls.
    """
    if not inspect.isfunction(fn):
        raise TypeError(
            f"checkpoint expects a Python function (def or lambda), got {type(fn).__name__}: {fn!r}"
        )
    # A copy of the function, not a wrapper: the same code, so it is parsed,
    # called and transformed like ``fn``; only the mark differs.
    copy = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    functools.update_wrapper(copy, fn)
    copy.__kwdefaults__ = fn.__kwdefaults__
    setattr(copy, CHECKPOINT_MARK, True)
    return copy


hooks.register_derivative_maker(checkpoint, "ad.checkpoint")
