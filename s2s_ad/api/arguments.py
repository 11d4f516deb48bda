"""What every transform does with its arguments: check ``f``, resolve ``wrt``, name the result.

>>> def f(x, y):
...     return x * y
>>> resolve_wrt(f, ("y", 0), "grad")
(('y', 'x'), False)
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence, Tuple, Union

from ..compiler.derived import Derived, parameters

Wrt = Union[int, str, Sequence[Union[int, str]]]


def check_function(f: Any, who: str) -> None:
    """A ``TypeError`` unless ``f`` is a Python function that s2s_ad can read."""
    if not inspect.isfunction(f):
        raise TypeError(
            f"{who} expects a Python function (def or lambda), got {type(f).__name__}: {f!r}"
        )


def resolve_wrt(f: Callable, wrt: Wrt, who: str) -> Tuple[Tuple[str, ...], bool]:
    """Parameter names for ``wrt``, and whether a single result was asked for."""
    params = parameters(f)
    single = isinstance(wrt, (int, str))
    items = (wrt,) if single else wrt
    if not isinstance(items, (tuple, list)) or not items:
        raise TypeError(
            f"{who}: wrt must be an int, a str or a non-empty tuple of those, got {wrt!r}"
        )
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise TypeError(f"{who}: wrt entries must be ints or strs, got {item!r}")
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise TypeError(
                    f"{who}: wrt={item} is out of range for {f.__name__}, "
                    f"which has {len(params)} parameter(s) {params}"
                )
            names.append(params[item])
        elif item not in params:
            raise TypeError(
                f"{who}: {f.__name__} has no parameter {item!r}; its parameters are {params}"
            )
        else:
            names.append(item)
    if len(set(names)) != len(names):
        raise TypeError(f"{who}: wrt names a parameter twice: {wrt!r}")
    return tuple(names), single


def forwarding(derived: Derived) -> Callable:
    """A plain function calling ``derived`` (it gets the user-facing name and docs).

    It returns exactly what the emitted code returns, so other transforms
    may differentiate that code again: ``jvp(grad(f), ...)`` is
    forward-over-reverse.
    """

    def call(*args, **kwargs):
        return derived(*args, **kwargs)

    call.__signature__ = derived.signature
    call._s2s_derived = derived
    return call


def named(wrapper: Callable, f: Callable, what: str) -> Callable:
    """``wrapper``, named and documented as ``what`` of ``f`` (``grad_f``)."""
    wrapper.__name__ = f"{what}_{f.__name__}" if f.__name__ != "<lambda>" else what
    wrapper.__qualname__ = wrapper.__name__
    wrapper.__doc__ = f"{what} of {f.__qualname__}, computed by s2s_ad."
    wrapper.__wrapped__ = f
    return wrapper
