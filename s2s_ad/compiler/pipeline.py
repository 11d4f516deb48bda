"""The stages in order: parse -> lower -> analyse -> forward/reverse/taylor -> optimize -> emit.

:func:`build` is the one entry point; it caches by the function's code
object and the options, so a function is transformed once per set of
options, and a redefined function (new code) gets a fresh derivative.
"""

from __future__ import annotations

import os
import re
import threading
import types
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import gast

from ..rules import ARRAY, SCALAR, UNKNOWN
from . import ir
from .analyse import kind_of_value
from .emit import Emitted, emit
from .forward import forward
from .lower import Lowered, lower_function
from .optimize import optimize as optimize_ir
from .parse import _MISSING, parse
from .reverse import GRAD, VALUE_AND_GRAD, VJP, reverse
from .taylor import taylor

JVP, DERIVATIVE = "jvp", "derivative"
TANGENT = "tangent"  # a JVP that returns only the output's tangent
MODES = (GRAD, VALUE_AND_GRAD, VJP, JVP, TANGENT, DERIVATIVE)


@dataclass(frozen=True)
class Spec:
    """Everything that decides the emitted code of one function."""

    mode: str  # one of MODES
    wrt: Tuple[str, ...]  # names of the differentiated parameters
    kinds: Tuple[str, ...]  # per parameter: "scalar", "array" or "unknown"
    optimize: bool = True
    order: int = 1  # of DERIVATIVE: above 1, Taylor mode (s2s_ad/taylor.py)


_CACHE: Dict[tuple, Tuple[Emitted, list]] = {}
_LOCK = threading.Lock()


def build(fn: Callable, spec: Spec) -> Emitted:
    """The emitted derivative of ``fn`` for ``spec`` (cached)."""
    code = fn.__code__
    names, keep_alive = _free_names_identity(fn)
    key = (code, code.co_filename, spec, names)
    entry = _CACHE.get(key)
    if entry is None:
        entry = (_transform(fn, spec), keep_alive)
        with _LOCK:
            _CACHE[key] = entry
    return entry[0]


def _free_names_identity(fn: Callable) -> Tuple[tuple, list]:
    """What the free names of ``fn`` denote, as far as the emitted code depends on it.

    Two closures of one ``def`` share a code object but may call different
    functions (``make(np.sin)``, ``make(np.cos)``); a rebound global may too.
    Callables and modules count by identity (the rule depends on them),
    other values by kind.  The objects are kept alive with the cache entry so
    that their ids stay unique.
    """
    code = fn.__code__
    values = []
    for cell in fn.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell
            values.append(None)
    values += [fn.__globals__[n] for n in code.co_names if n in fn.__globals__]
    identity, keep_alive = [], []
    for value in values:
        if callable(value) or isinstance(value, types.ModuleType):
            identity.append(id(value))
            keep_alive.append(value)
        else:
            identity.append(kind_of_value(value))
    return tuple(identity), keep_alive


def _transform(fn: Callable, spec: Spec) -> Emitted:
    low = lower_function(fn)
    param_kinds = dict(zip((p.name for p in low.function.params), spec.kinds))
    if spec.order != 1 and spec.mode != DERIVATIVE:
        raise ValueError(f"order={spec.order} is only for mode {DERIVATIVE!r}, not {spec.mode!r}")
    if spec.mode == DERIVATIVE and spec.order > 1:
        result = taylor(low, spec.wrt, param_kinds, optimize=spec.optimize, order=spec.order)
    elif spec.mode in (JVP, TANGENT, DERIVATIVE):
        result = forward(
            low,
            spec.wrt,
            param_kinds,
            optimize=spec.optimize,
            seed_ones=spec.mode == DERIVATIVE,
            tangent_only=spec.mode == TANGENT,
        )
    else:
        result = reverse(low, spec.wrt, param_kinds, optimize=spec.optimize, variant=spec.mode)
    if spec.optimize:
        result = optimize_ir(result)
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
    }[spec.mode]
    if spec.mode == DERIVATIVE and spec.order > 1:
        what = f"Elementwise {ordinal(spec.order)} derivative"
    wrt = ", ".join(spec.wrt)
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
    obj = _MISSING
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
