"""What every transform does with its arguments: bind them, resolve ``wrt``, name the result.

Every transform reads the function it is given through one
:class:`~s2s_ad.compiler.signatures.Binding` (:func:`binding_of`), so that
defaults, keywords, keyword-only parameters and ``functools.partial`` work
the same way in all of them.

>>> def f(x, y):
...     return x * y
>>> binding_of(f, "grad").wrt_names(("y", 0), "grad")
(('y', 'x'), False)
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..compiler.derived import Derived
from ..compiler.signatures import PARTIAL_ATTRIBUTE, Binding, Wrt

__all__ = ["Wrt", "binding_of", "forwarding", "named"]


def binding_of(f: Any, who: str) -> Binding:
    """How calls reach ``f``'s parameters; a ``TypeError`` unless s2s_ad can read ``f``.

    >>> import functools
    >>> def f(x, y=2.0):
    ...     return x * y
    >>> binding_of(functools.partial(f, y=3.0), "grad").bind((1.0,), {}, "grad")
    (1.0, 3.0)
    """
    return Binding.of(f, who)


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
