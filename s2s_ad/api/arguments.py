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
from typing import Any, Callable, Optional, Tuple

from ..compiler.derived import Derived
from ..compiler.signatures import MADE_BY_ATTRIBUTE, PARTIAL_ATTRIBUTE, Binding, Wrt, vararg_item

__all__ = ["Wrt", "binding_of", "forwarding", "made_by", "named", "vararg_items"]


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


def made_by(wrapper: Callable, f: Callable, what: str) -> Callable:
    """``wrapper``, :func:`named` as ``what`` of ``f`` and marked as made by ``ad.what``: a
    Python wrapper whose source no transform reads (``Binding.of`` refuses it).

    >>> def f(x):
    ...     return x
    >>> binding_of(made_by(lambda *a: a, f, "hessian"), "grad")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: grad cannot transform hessian_f: it is made by ad.hessian, ...
    """
    setattr(named(wrapper, f, what), MADE_BY_ATTRIBUTE, f"ad.{what}")
    return wrapper


def vararg_items(
    names: Tuple[str, ...], single: bool, where: Optional[int]
) -> Tuple[Tuple[str, ...], Optional[Callable[[Callable], Callable]]]:
    """The parameters to differentiate for ``wrt`` names that may be items of ``*args``
    (``xs[1]``, see ``Binding.wrt_names``), and a wrapper that picks those items out of
    the derivative of the whole tuple (None when no name is an item).

    ``where`` is the position of the derivatives in what the derived function returns
    (None: they are all of it).

    >>> names, picking = vararg_items(("xs[1]",), True, None)
    >>> names, picking(lambda *xs: tuple(2.0 * x for x in xs))(1.0, 3.0)
    (('xs',), 6.0)
    """
    if not any(vararg_item(name) for name in names):
        return names, None
    params: list = []
    picks = []
    for name in names:
        item = vararg_item(name)
        param = item[0] if item else name
        if param not in params:
            params.append(param)
        picks.append((params.index(param), item[1] if item else None))

    def pick(derivatives: Any) -> Any:
        per_param = (derivatives,) if len(params) == 1 else derivatives
        chosen = tuple(per_param[k] if j is None else per_param[k][j] for k, j in picks)
        return chosen[0] if single else chosen

    def picking(forward: Callable) -> Callable:
        def picked(*args, **kwargs):
            result = forward(*args, **kwargs)
            if where is None:
                return pick(result)
            return (*result[:where], pick(result[where]), *result[where + 1 :])

        return picked

    return tuple(params), picking
