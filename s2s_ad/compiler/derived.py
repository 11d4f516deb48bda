"""Derived functions: one transform of one user function, and the cache of them.

A :class:`Derived` is what ``ad.grad(f)`` and the other transforms call: it
binds the arguments, specialises by their kinds (Python floats get scalar
code), asks the pipeline for the emitted code and runs it.  :func:`derived`
caches one per function, mode and ``wrt``, so that emitted code calling
another user function's derivative (:class:`~s2s_ad.compiler.calls.Callee`)
shares it.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from ..rules import kind_of_value
from ..runtime import as_structure
from ..runtime.complex_numbers import holds_complex
from ..runtime.records import is_floating, is_record
from . import hooks, pipeline
from .dependencies import Dependencies
from .emit import EMITTED
from .errors import TransformError
from .signatures import Binding, ordered_parameters, signature
from .spec import COTANGENTS, GRAD, JVP, TANGENT, VALUE_AND_GRAD, VJP, Mode, Spec


def differentiable(value: Any) -> bool:
    """Floats, ints, complex numbers, arrays of those, and lists, tuples and dicts of them;
    records (dataclasses, NamedTuples, ...) with a floating field."""
    if isinstance(value, bool):
        return False
    if is_record(value):
        return is_floating(value)
    if isinstance(value, (float, int, complex, np.floating, np.integer, np.complexfloating)):
        return True
    if isinstance(value, (list, tuple)):
        return bool(value) and all(differentiable(v) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(differentiable(v) for v in value.values())
    return isinstance(value, np.ndarray) and (
        np.issubdtype(value.dtype, np.inexact) or np.issubdtype(value.dtype, np.integer)
    )


def as_real(value: Any) -> Any:
    """An int that is differentiated is taken as a real (inside containers too)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.astype(float)
    if isinstance(value, (list, tuple)) and needs_real(value):
        return type(value)(as_real(v) for v in value)
    if isinstance(value, dict) and needs_real(value):
        return {k: as_real(v) for k, v in value.items()}
    return value


def needs_real(value: Any) -> bool:
    """Whether ``value`` holds ints (inside containers too) that :func:`as_real` converts;
    the int fields of a record are constants, never converted."""
    if is_record(value):
        return False
    if isinstance(value, (list, tuple)):
        return any(needs_real(v) for v in value)
    if isinstance(value, dict):
        return any(needs_real(v) for v in value.values())
    return (isinstance(value, (int, np.integer)) and not isinstance(value, bool)) or (
        isinstance(value, np.ndarray) and value.dtype.kind in "iu"
    )


def may_need_real(value: Any) -> bool:
    """Values whose type does not say whether they hold ints (arrays, containers)."""
    return needs_real(value) or isinstance(value, (np.ndarray, list, tuple, dict))


class Derived:
    """One transform of one function: emitted code per tuple of argument types."""

    def __init__(
        self,
        f: Callable,
        mode: str,
        wrt: Tuple[str, ...],
        optimize: bool = True,
        order: int = 1,
        has_aux: bool = False,
    ):
        self.f = f
        self.mode = mode
        self.wrt = wrt
        self.optimize = optimize
        self.order = order
        self.has_aux = has_aux
        # Transform the code another transform emitted (forward-over-reverse, ...).
        self.inner: Optional[Derived] = getattr(f, "_s2s_derived", None)
        self.binding = Binding(f)
        self.signature = self.binding.signature
        self.params = self.binding.params
        self.positions = self.binding.positions(wrt)
        self.by_types: Dict[tuple, Callable] = {}
        self.dependencies: Optional[Dependencies] = None  # what by_types was built from

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the emitted code; an error inside it names the user's line."""
        fn, args = self.prepare(args, kwargs)
        try:
            return fn(*args)
        except Exception as exc:
            annotate_error(exc)
            raise

    def prepare(self, args: tuple, kwargs: dict) -> Tuple[Callable, tuple]:
        """The emitted function for these arguments, and the arguments in order."""
        return self.specialized(self.binding.bind(args, kwargs, str(self.mode)))

    def specialized(self, args: tuple) -> Tuple[Callable, tuple]:
        """The emitted function for arguments already in parameter order (see
        :class:`~s2s_ad.compiler.signatures.Binding`), and those arguments."""
        dependencies = self.dependencies
        if dependencies is None or not dependencies.hold():  # a global was rebound
            self.by_types.clear()
            self.dependencies = Dependencies(self.user_function())
        # Arrays share one type whatever their dtype: whether one is complex is in the key.
        key = (tuple(map(type, args)), any(map(holds_complex, args)))
        fn = self.by_types.get(key)
        if fn is None:
            fn = self.by_types[key] = self._specialize(args)
        return fn, args

    def user_function(self) -> Callable:
        """The user's function whose code is transformed (through ``inner`` transforms)."""
        derived = self
        while derived.inner is not None:
            derived = derived.inner
        return derived.f

    def _specialize(self, args: tuple) -> Callable:
        for name, position in zip(self.wrt, self.positions):
            value = args[position]
            if not differentiable(value):
                raise TypeError(
                    f"cannot differentiate {self.f.__name__} with respect to {name!r}: "
                    f"it is a {type(value).__name__}; expected a float or complex number, a NumPy "
                    "float or complex array, a list, tuple or dict of those, or a dataclass, "
                    "NamedTuple or SimpleNamespace holding one"
                )
        kinds = tuple(
            kind_of_value(as_real(a) if i in self.positions else a) for i, a in enumerate(args)
        )
        fn = self.structured(self.emitted(kinds, any(map(holds_complex, args))), args)
        # Arrays share one type whatever their dtype, so an int array can come
        # after a float one: array positions are checked on every call.
        to_convert = [p for p in self.positions if may_need_real(args[p])]
        if not to_convert:
            return fn

        def with_reals(*call_args):
            call_args = list(call_args)
            for p in to_convert:
                call_args[p] = as_real(call_args[p])
            return fn(*call_args)

        return with_reals

    def structured(self, fn: Callable, args: tuple) -> Callable:
        """``fn``, whose gradients get the types of their arguments: a tuple's is a tuple
        (emitted code accumulates into lists), a NamedTuple's or dataclass's is one."""
        gradient = self if self.inner is None else self.inner
        if gradient.inner is not None or not Mode(gradient.mode).is_reverse:
            return fn
        if gradient.mode == COTANGENTS and self.inner is not None:
            return fn  # a transform of the cotangents: not gradients of the arguments
        likes = tuple(args[p] for p in gradient.positions)
        if not any(map(needs_structure, likes)):
            return fn
        shaped = Restructure(likes)
        if gradient.mode == VJP and self.inner is None:

            def vjp_structured(*call_args):
                out, pullback, *aux = fn(*call_args)
                return (out, lambda g: shaped.each(pullback(g)), *aux)

            return vjp_structured
        pick = _GRADIENT_PLACES.get((Mode(self.mode), self.inner is not None, self.has_aux))
        if pick is None:
            return fn
        return lambda *call_args: pick(fn(*call_args), shaped)

    def emitted(
        self, kinds: Tuple[str, ...], complex_values: bool = False, closed: bool = False
    ) -> Callable:
        """The emitted function for these argument kinds (of ``inner``'s code, if any);
        ``complex_values``: an argument holds complex numbers; ``closed``: another
        transform differentiates the code again (``Spec.closed``)."""
        target = self.inner.transformable(kinds, complex_values) if self.inner else self.f
        spec = Spec(
            self.mode,
            self.wrt_of(target),
            kinds,
            self.optimize,
            self.order,
            self.has_aux,
            complex_values,
            kinds_of_values=True,
            closed=closed,
        )
        try:
            return pipeline.build(target, spec).bind(target)
        except TransformError as exc:
            raise at_users_line(exc) from None

    def wrt_of(self, target: Callable) -> Tuple[str, ...]:
        """The names in ``target`` of the parameters ``wrt`` names in :attr:`signature`:
        the same, unless ``target`` is the code of a function that adds parameters of its
        own (the seed of ``p_cotangents``, see ``compiler/closed_calls.py``), which match by
        position."""
        names = ordered_parameters(signature(target))
        if self.inner is None or len(names) != len(self.params):
            return self.wrt
        return tuple(names[p] for p in self.positions)

    def transformable(self, kinds: Tuple[str, ...], complex_values: bool = False) -> Callable:
        """:meth:`emitted`, for another transform to differentiate again."""
        if self.order != 1:  # Taylor code calls series helpers, which have no rules
            raise TypeError(
                f"derivative(f, order={self.order}) cannot be differentiated again; "
                f"ask for derivative(f, order={self.order + 1}) instead"
            )
        return self.emitted(kinds, complex_values, closed=True)


def needs_structure(value: Any) -> bool:
    """Whether the gradient of ``value`` needs :func:`runtime.as_structure`: it holds a
    tuple or a record, which emitted code's derivatives do not keep."""
    if isinstance(value, tuple) or is_record(value):
        return True
    if isinstance(value, list):
        return any(map(needs_structure, value))
    if isinstance(value, dict):
        return any(map(needs_structure, value.values()))
    return False


class Restructure:
    """Gradients given the structure of the arguments ``likes`` (one, or a tuple)."""

    def __init__(self, likes: tuple):
        self.likes = likes

    def __call__(self, gradients: Any) -> Any:
        if len(self.likes) == 1:
            return as_structure(gradients, self.likes[0])
        return self.each(gradients)

    def each(self, gradients: Any) -> tuple:
        return tuple(as_structure(g, x) for g, x in zip(gradients, self.likes))


# Where the gradients are in what emitted code returns, by (mode, over a gradient, has_aux).
_GRADIENT_PLACES: Dict[tuple, Callable[[Any, Restructure], Any]] = {
    (GRAD, False, False): lambda r, shaped: shaped(r),
    (GRAD, False, True): lambda r, shaped: (shaped(r[0]), *r[1:]),
    (VALUE_AND_GRAD, False, False): lambda r, shaped: (r[0], shaped(r[1])),
    (VALUE_AND_GRAD, False, True): lambda r, shaped: (r[0], shaped(r[1])),
    (TANGENT, True, False): lambda r, shaped: shaped(r),  # hvp: the tangent of a gradient
    (JVP, True, False): lambda r, shaped: (shaped(r[0]), shaped(r[1])),
    (COTANGENTS, False, False): lambda r, shaped: shaped.each(r),
}

_CACHE: weakref.WeakKeyDictionary[Callable, Dict[tuple, Derived]] = weakref.WeakKeyDictionary()


def derived_of(
    f: Callable,
    mode: str,
    wrt: Tuple[str, ...],
    inner: Optional[Derived] = None,
    has_aux: bool = False,
    optimize: bool = True,
    order: int = 1,
) -> Derived:
    """The cached transform of ``f``; with ``inner``, of the code ``inner`` emits for ``f``.

    With ``has_aux``, ``f`` returns ``(output, aux)`` and only ``output`` is differentiated;
    ``optimize=False`` runs the unoptimized emission; ``order`` is that of Taylor mode.
    """
    per_function = _CACHE.setdefault(f, {})
    key = (mode, wrt, _chain(inner), has_aux, optimize, order)
    if key not in per_function:
        derived = Derived(f, mode, wrt, optimize, order, has_aux)
        per_function[key] = derived
        derived.inner = inner or derived.inner
    return per_function[key]


def _chain(inner: Optional[Derived]) -> Optional[tuple]:
    """What identifies the code ``inner`` emits: its transform and those it transforms
    (forward over forward over reverse is not forward over forward over forward)."""
    if inner is None:
        return None
    return (inner.mode, inner.wrt, inner.optimize, inner.order, inner.has_aux, _chain(inner.inner))


def at_users_line(exc: TransformError) -> TransformError:
    """``exc``, raised where a transform read code s2s_ad emitted, at the user's line that
    code came from, quoting the emitted statement (``exc`` itself when it is elsewhere)."""
    emitted = EMITTED.get(exc.filename or "")
    loc = emitted.line_locs.get(exc.lineno) if emitted else None
    if loc is None:
        return exc
    statement = exc.source_line.strip()
    made = f"in {emitted.name}, the derivative code s2s_ad made from this line: `{statement}`"
    reason = f"{exc.reason} ({made})"
    return TransformError(reason, loc, exc.hint)


def annotate_error(exc: BaseException) -> None:
    """Name the user's source line when emitted code raises."""
    if not hasattr(exc, "add_note"):  # Python < 3.11
        return
    tb = exc.__traceback__
    notes = []
    while tb is not None:
        emitted = EMITTED.get(tb.tb_frame.f_code.co_filename)
        loc = emitted.line_locs.get(tb.tb_lineno) if emitted else None
        if loc is not None:
            notes.append(
                f"s2s_ad: raised in {emitted.name}, derived from {loc.filename}, "
                f"line {loc.lineno}: {loc.source_line.strip()}"
            )
        tb = tb.tb_next
    for note in notes:
        if note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)


hooks.register_derive(derived_of)
