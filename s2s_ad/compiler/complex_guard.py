"""Refuse complex values at the calls whose rules are only right for real numbers.

Kinds analysis treats a complex value as a real one, so a rule that was not verified on
complex numbers (``np.max``, ``np.linalg.eigh``; see :func:`~s2s_ad.rules.refuses_complex`)
would return a wrong derivative silently.  Where complex values may occur at all, each
such call is preceded by a run-time check, ``require_real(what, where, hint, *args)``,
which raises a :class:`~s2s_ad.compiler.errors.TransformError` at the user's line when an
argument is complex; a call of a function that has a counterpart for complex values
(``np.sign``, whose rule is a real constant's) calls that instead.  Complex values may
occur when an argument is complex (``spec.complex_values``), or when the function makes
them itself: a complex constant or free value, a complex dtype, a call that returns complex
numbers from real ones
(``np.fft.fft``, ``complex``, ``cmath.exp``), or a call of a user function that is not
inlined, whose result is not known.  Otherwise nothing is added.

>>> import numpy as np
>>> from s2s_ad.compiler.lower import lower_function
>>> def f(x):
...     return np.max(np.fft.fft(x)) * np.sign(x)
>>> low = lower_function(f)
>>> guard_complex(low, complex_arguments=False)
>>> [s.value.fn.__name__ for s in low.function.body if isinstance(s.value, ir.Call)]
['fft', 'require_real', 'max', 'sign_of', 'mul']
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Iterator, List

import numpy as np

from ..rules import (
    counterpart_for_complex,
    hint_for_complex,
    is_complex_source,
    is_pure,
    refuses_complex,
)
from ..runtime import complex_numbers
from . import ir
from .lower import Lowered


def guard_complex(low: Lowered, complex_arguments: bool) -> None:
    """Add a ``require_real`` check before each call in ``low`` whose rule refuses complex
    values, if complex values may occur in it."""
    if complex_arguments or makes_complex(low):
        low.function.body = guarded(low.function.body, low.names)


def makes_complex(low: Lowered) -> bool:
    """Whether the function may make complex values from real arguments."""
    if any(_complex_constant(value) for value in low.free_values.values()):
        return True
    for stmt in ir.walk(low.function.body):
        if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Call):
            call = stmt.value
            if is_complex_source(call.fn) or _user_function(call.fn):
                return True
        if any(_complex_constant(atom.value) for atom in _constants(stmt)):
            return True
    return False


def _user_function(fn: Any) -> bool:
    """A call of a user function that was not inlined (a recursive one): what it returns is
    not known here, so it may be complex."""
    own = getattr(fn, "__module__", "") or ""
    return inspect.isfunction(fn) and not own.startswith("s2s_ad") and not is_pure(fn)


def _constants(stmt: ir.Stmt) -> Iterator[ir.Const]:
    return (atom for atom in ir.atoms_read(stmt) if isinstance(atom, ir.Const))


def _complex_constant(value: Any) -> bool:
    """A complex number or array, or a complex dtype (``complex``, ``"complex64"``).

    >>> _complex_constant(1j), _complex_constant(np.complex64), _complex_constant("c16")
    (True, True, True)
    >>> _complex_constant(2.0), _complex_constant("mean"), _complex_constant(float)
    (False, False, False)
    """
    if isinstance(value, str):
        return value.lower().startswith("complex") or value.lstrip("<>=") in COMPLEX_CODES
    if isinstance(value, type) and issubclass(value, (complex, np.complexfloating)):
        return True
    return isinstance(value, np.dtype) and value.kind == "c" or complex_numbers.holds_complex(value)


COMPLEX_CODES = ("c8", "c16", "c32", "F", "D", "G")  # NumPy's codes of complex dtypes


def guarded(body: list, names: ir.Names) -> list:
    """``body`` with a check before each call whose rule refuses complex values, and the
    counterparts of the functions that have one for complex values."""
    result: List[ir.Stmt] = []
    for stmt in body:
        if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Call):
            stmt = _with_counterpart(stmt)
            check = _check(stmt, names)
            if check is not None:
                result.append(check)
        blocks = ir.blocks_of(stmt)
        if blocks:
            stmt = ir.with_blocks(stmt, tuple(guarded(block, names) for block in blocks))
        result.append(stmt)
    return result


def _with_counterpart(stmt: ir.Assign) -> ir.Assign:
    """``stmt``, calling the counterpart verified on complex numbers of its function if it
    has one (``np.sign`` becomes ``sign_of``)."""
    counterpart = counterpart_for_complex(stmt.value.fn)
    if counterpart is None:
        return stmt
    call = dataclasses.replace(stmt.value, fn=counterpart)  # spelled as the user wrote it
    return dataclasses.replace(stmt, value=call)


def _check(stmt: ir.Assign, names: ir.Names) -> ir.Assign | None:
    """``t = require_real(what, where, hint, *arguments)`` for ``stmt``'s call, or None."""
    call = stmt.value
    if not refuses_complex(call.fn):
        return None
    arguments = [a for a in (*call.args, *(v for _, v in call.kwargs)) if _may_be_number(a)]
    if not arguments:
        return None
    loc = stmt.loc
    where = (loc.filename, loc.lineno, loc.col_offset, loc.source_line) if loc else ("?", 0)
    what = call.spelling or getattr(call.fn, "__name__", repr(call.fn))
    head = (ir.Const(what), ir.Const(where), ir.Const(hint_for_complex(call.fn)))
    check = ir.Call(complex_numbers.require_real, (*head, *arguments), spelling="require_real")
    return ir.Assign(names.temp(), check, loc, stmt.note)


def _may_be_number(atom: ir.Atom) -> bool:
    return isinstance(atom, ir.Var) or complex_numbers.holds_complex(atom.value)
