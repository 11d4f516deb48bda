"""What every transform does with its arguments: bind them, resolve ``wrt``, name the result.

Every transform reads the function it is given through one
:class:`~s2s_ad.compiler.signatures.Binding` (:func:`binding_of`), so that
defaults, keywords, keyword-only parameters and ``functools.partial`` work
the same way in all of them.

>>> def f(x, y):
...     return x * y
>>> resolve_wrt(f, ("y", 0), "grad")
(('y', 'x'), False)
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Tuple

from ..compiler.derived import Derived
from ..compiler.signatures import PARTIAL_ATTRIBUTE, Binding, Wrt

__all__ = ["Wrt", "binding_of", "check_function", "forwarding", "named", "resolve_wrt"]


def binding_of(f: Any, who: str) -> Binding:
    """How calls reach ``f``'s parameters; a ``TypeError`` unless s2s_ad can read ``f``.

    >>> import functools
    >>> def f(x, y=2.0):
    ...     return x * y
    >>> binding_of(functools.partial(f, y=3.0), "grad").bind((1.0,), {}, "grad")
    (1.0, 3.0)
    """
    return Binding.of(f, who)


def check_function(f: Any, who: str) -> None:
    """A ``TypeError`` unless ``f`` is a Python function (or a partial of one) s2s_ad can read.

    >>> check_function(print, "grad")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: grad expects a Python function (def or lambda) or a functools.partial of one, ...
    """
    binding_of(f, who)


def resolve_wrt(f: Callable, wrt: Wrt, who: str) -> Tuple[Tuple[str, ...], bool]:
    """Parameter names for ``wrt``, and whether a single result was asked for."""
    return binding_of(f, who).wrt_names(wrt, who)


def forwarding(derived: Derived, binding: Binding | None = None) -> Callable:
    """A plain function calling ``derived`` (it gets the user-facing name and docs).

    It returns exactly what the emitted code returns, so other transforms
    may differentiate that code again: ``jvp(grad(f), ...)`` is
    forward-over-reverse.  With the ``binding`` of a ``functools.partial``,
    the function takes what the partial takes; transforming it again
    transforms the same partial of the plain forwarding function.
    """

    def call(*args, **kwargs):
        return derived(*args, **kwargs)

    call.__signature__ = derived.signature
    call._s2s_derived = derived
    if binding is None or binding.plain:
        return call
    as_partial = functools.partial(call, *binding.frozen_args, **binding.frozen_kwargs)

    def call_partial(*args, **kwargs):
        return as_partial(*args, **kwargs)

    call_partial.__signature__ = binding.signature
    setattr(call_partial, PARTIAL_ATTRIBUTE, as_partial)
    return call_partial


def named(wrapper: Callable, f: Callable, what: str) -> Callable:
    """``wrapper``, named and documented as ``what`` of ``f`` (``grad_f``)."""
    name = getattr(f, "__name__", None) or Binding.of(f, what).name
    wrapper.__name__ = f"{what}_{name}" if name != "<lambda>" else what
    wrapper.__qualname__ = wrapper.__name__
    wrapper.__doc__ = f"{what} of {getattr(f, '__qualname__', name)}, computed by s2s_ad."
    wrapper.__wrapped__ = f
    return wrapper
