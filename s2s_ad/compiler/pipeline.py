"""The stages in order: parse -> lower -> analyse -> forward/reverse/taylor -> optimize -> emit.

:func:`build` is the one entry point; it caches by the function's code
object and the options and what its free names denote, so a function is transformed once per
set of options, and a redefined function (new code) or a rebound global gets a
fresh derivative.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import threading
from collections import OrderedDict
from typing import Callable, Iterator, Optional, Tuple

import gast

from ..rules import ARRAY, SCALAR, UNKNOWN
from . import ir
from .aux import split_aux, with_aux
from .complex_guard import guard_complex
from .dependencies import Dependencies
from .emit import EMITTED, Emitted, emit
from .forward import forward
from .lower import Lowered, lower_function
from .optimize import optimize as optimize_ir
from .parse import NOT_FOUND, parse
from .reverse import reverse
from .signatures import RECEIVER_ATTRIBUTE
from .spec import COTANGENTS, DERIVATIVE, GRAD, JVP, SERIES, TANGENT, VALUE_AND_GRAD, VJP, Spec
from .taylor import taylor

# The emitted derivatives, least recently used first.  Bounded: a process that
# makes functions as it goes (a notebook run again and again, a fuzzer) would
# otherwise keep every derivative it ever built; one evicted is built again.
_CACHE: OrderedDict[tuple, Tuple[Emitted, list]] = OrderedDict()
CACHE_SIZE = 2048
_LOCK = threading.Lock()


def build(fn: Callable, spec: Spec) -> Emitted:
    """The emitted derivative of ``fn`` for ``spec`` (cached)."""
    code = fn.__code__
    # Two closures of one ``def`` may call different functions (``make(np.sin)``,
    # ``make(np.cos)``), and a global may be rebound: what the free names denote
    # is part of the key, and its objects live as long as the entry.
    dependencies = Dependencies(fn)
    # a bound method's function is specialised to the class of its object
    receiver = getattr(fn, RECEIVER_ATTRIBUTE, None)
    key = (code, code.co_filename, spec, dependencies.key, receiver)
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE.move_to_end(key)
    if entry is None:
        with collection_paused():
            entry = (_transform(fn, spec), dependencies.keep_alive)
        with _LOCK:
            _CACHE[key] = entry
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    return entry[0]


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused (if it ran): a transform allocates many
    small objects that all live until it ends, and collecting passes over them again
    and again cost a quarter of the time of a long function's transform.

    >>> with collection_paused():
    ...     gc.isenabled()
    False
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _transform(fn: Callable, spec: Spec) -> Emitted:
    low = lower_function(fn)
    guard_complex(low, spec.complex_values)
    inner = EMITTED.get(fn.__code__.co_filename)
    low.names.level = inner.level + 1 if inner else 1  # derivative names say which transform
    # with has_aux, the stages differentiate a view of the function that returns the output only
    view, aux = split_aux(low) if spec.has_aux else (low, None)
    if spec.taylor:
        result = taylor(view, spec)
    elif spec.mode.is_reverse:
        result = reverse(view, spec)
    else:
        result = forward(view, spec)
    if spec.has_aux:
        result = with_aux(result, aux, spec.mode)
    if spec.optimize:
        result = optimize_ir(result, low.names.generated)
    result.doc = _docstring(low, spec)
    return emit(result, low.parsed, low.names, inline=spec.optimize)


def _docstring(low: Lowered, spec: Spec) -> str:
    what = {
        GRAD: "Gradient",
        VALUE_AND_GRAD: "Value and gradient",
        VJP: "Value and pullback (vector-Jacobian product)",
        JVP: "Value and Jacobian-vector product",
        TANGENT: "Jacobian-vector product",
        DERIVATIVE: "Elementwise derivative",
        SERIES: f"Value and Taylor coefficients up to order {spec.order}",
        COTANGENTS: "Cotangents (the primal run again, then the adjoint sweep)",
    }[spec.mode]
    if spec.mode == DERIVATIVE and spec.order > 1:
        what = f"Elementwise {ordinal(spec.order)} derivative"
    wrt = ", ".join(spec.wrt)
    if spec.has_aux:
        wrt += f", and {low.parsed.name}'s aux passed through"
    filename = low.parsed.filename
    emitted = re.fullmatch(r"<s2s_ad \S+ of (.*)>", filename)
    if emitted:  # code s2s_ad emitted, transformed again: name the user's function
        origin = re.sub(r"<s2s_ad \S+ of |>:\d+", "", emitted.group(1))
        where = f"s2s_ad's code from {os.path.basename(origin)}"
    else:
        if not filename.startswith("<"):
            filename = os.path.basename(filename)
        where = f"{filename}:{low.parsed.first_lineno}"
    return f"{what} of {low.parsed.name} ({where}) with respect to {wrt}; generated by s2s_ad."


def ordinal(n: int) -> str:
    """``2nd``, ``3rd``, ``4th``, ``11th``, ``21st``, ...

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 21, 102)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '21st', '102nd']
    """
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def annotation_kinds(fn: Callable) -> Tuple[str, ...]:
    """Parameter kinds from annotations: ``float``/``int`` are scalars, ndarray arrays."""
    parsed = parse(fn)
    args = parsed.node.args
    kinds = []
    for arg in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs):
        kinds.append(_annotation_kind(arg.annotation, parsed))
    return tuple(kinds)


def _annotation_kind(node: Optional[gast.expr], parsed) -> str:
    if node is None:
        return UNKNOWN
    if isinstance(node, gast.Constant) and isinstance(node.value, str):
        text = node.value
    else:
        text = ir.unparse(gast.gast_to_ast(node))
    obj = NOT_FOUND
    try:
        head, *rest = text.split(".")
        obj = parsed.resolver.lookup(head)
        for attr in rest:
            obj = getattr(obj, attr)
    except (AttributeError, ValueError):
        return UNKNOWN
    if obj in (float, int):
        return SCALAR
    import numpy as np

    if obj is np.ndarray:
        return ARRAY
    return UNKNOWN


def trace_text(fn: Callable) -> str:
    return ir.format_trace(lower_function(fn).function)
