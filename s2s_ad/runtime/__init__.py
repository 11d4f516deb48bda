"""Helpers that emitted code calls.

They are ordinary Python, small enough to read in one go; the emitted source
imports them by name (``from s2s_ad.runtime import unbroadcast``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import records
from .errors import Loc, TransformError
from .records import field


def unbroadcast(g: Any, x: Any) -> Any:
    """Sum the cotangent ``g`` down to the shape of ``x``, in ``x``'s dtype.

    Broadcasting copies ``x`` along new or length-1 axes; the adjoint of a
    copy is a sum, so the cotangent is summed over those axes.

    >>> unbroadcast(np.ones((2, 3)), np.zeros(3))
    array([2., 2., 2.])
    """
    if type(g) is np.ndarray and type(x) is np.ndarray:  # the common case, quickly
        if g.shape == x.shape and g.dtype == x.dtype:
            return g
    elif isinstance(x, (list, tuple)):
        raise TypeError(
            "`+` on lists or tuples joins them, which s2s_ad follows only where an operand "
            "is surely a list where the function is transformed: write `list(xs) + ys` "
            "(or `tuple(xs) + ys`)"
        )
    shape = np.shape(x)
    if np.shape(g) != shape:
        g = sum_to_shape(np.asarray(g), shape)
    if np.iscomplexobj(g) and not np.iscomplexobj(x):  # a real value met a complex one
        g = np.real(g)
    dtype = getattr(x, "dtype", None)
    if dtype is not None and getattr(g, "dtype", None) != dtype:
        g = np.asarray(g, dtype=dtype) if shape else dtype.type(g)
    elif type(x) is float and type(g) is not float and np.ndim(g) == 0:
        g = float(g)  # a Python float's cotangent is one, not float32 from an array beside it
    return g


def sum_to_shape(g: np.ndarray, shape: tuple) -> Any:
    """``g`` summed over the leading and length-1 axes that broadcasting added to ``shape``."""
    extra = g.ndim - len(shape)
    if extra < 0:  # a number standing for the same value everywhere: the array it means
        return np.broadcast_to(g, shape).copy()
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g[()] if not shape else g


def expand_like(t: Any, out: Any) -> Any:
    """Broadcast the tangent ``t`` to the shape of ``out``.

    >>> expand_like(1.0, np.zeros(2))
    array([1., 1.])
    """
    shape = np.shape(out)
    if np.shape(t) == shape:
        return t
    return np.broadcast_to(t, shape)


def seed_cotangent(out: Any) -> Any:
    """The cotangent 1 that starts the adjoint sweep of a gradient.

    A gradient needs a scalar output; an array of size 1 (``np.sum(x,
    keepdims=True)``) counts as one, as in JAX, and gets a seed of its shape.
    Anything else is a ``TypeError`` that says what to use instead.

    >>> seed_cotangent(2.5), seed_cotangent(np.float32(2.5)).dtype
    (1.0, dtype('float32'))
    >>> seed_cotangent(np.array([[2.5]]))
    array([[1.]])
    """
    if isinstance(out, (float, int, complex)) and not isinstance(out, bool):
        return 1.0
    if isinstance(out, (np.ndarray, np.generic)) and out.size == 1:
        inexact = np.issubdtype(out.dtype, np.inexact)
        if out.ndim == 0:
            return np.ones_like(out)[()] if inexact else 1.0
        return np.ones_like(out) if inexact else np.ones(out.shape)
    shape = getattr(out, "shape", None)
    if shape is not None:
        given = f"an array of shape {shape}"
    elif out is None or isinstance(out, str):
        given = repr(out)
    else:
        given = f"a {type(out).__name__}"
    raise TypeError(
        f"grad needs a function with a scalar output, but it returned {given}; "
        "use ad.vjp or ad.jacobian for non-scalar outputs"
    )


def check_scalar_output(out: Any) -> None:
    """A ``TypeError`` unless ``out`` is a scalar: the check of a gradient's output
    where no cotangent is seeded (the output does not depend on the arguments).

    >>> check_scalar_output(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: grad needs a function with a scalar output, but it returned None; ...
    """
    seed_cotangent(out)


def check_assertion(holds: Any, message: Any = None) -> None:
    """The user's ``assert holds, message``: an ``AssertionError`` (with ``message``, when
    given) unless ``holds`` is true.  Emitted code runs it where the ``assert`` stood;
    it is never differentiated.

    >>> check_assertion(1.0 > 0.0, "positive")
    >>> check_assertion(1.0 < 0.0, "positive")
    Traceback (most recent call last):
    AssertionError: positive
    """
    if not holds:
        raise AssertionError() if message is None else AssertionError(message)


def check_vjp_primals(names: tuple, *values: Any) -> None:
    """A ``TypeError`` unless every value is a float or a float array (or a list, tuple or
    dict of those): ``ad.vjp(g, x, ...)`` inside a differentiated function, without
    ``wrt``, differentiates every argument.  Emitted code runs it at the call; it is never
    differentiated.

    >>> check_vjp_primals(("x", "n"), 1.0, 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: ad.vjp inside a differentiated function ..., and the argument 'n' is a int; ...
    """
    for name, value in zip(names, values):
        if not _floats(value):
            raise TypeError(
                "ad.vjp inside a differentiated function differentiates every argument without "
                f"wrt, and the argument {name!r} is a {type(value).__name__}; give wrt=... "
                "naming the float and array arguments"
            )


def shaped_like(value: Any, like: Any, rule: str, what: str) -> Any:
    """``value``, the result of the user's rule ``rule``, if its shape fits ``like``'s: the
    argument a VJP rule's cotangent is for, or the result a JVP rule's tangent is for.

    It fits if it broadcasts to ``like``'s shape without growing it (a scalar cotangent
    for an array argument gives every entry that value).  Otherwise a ``ValueError``
    names the rule: the gradient would silently take the wrong shape.  Containers are
    not checked.

    >>> shaped_like(np.ones(2), np.zeros(2), "f_vjp0", "the cotangent of argument 0")
    array([1., 1.])
    >>> shaped_like(np.ones(5), np.zeros(2), "f_vjp0", "the cotangent of argument 0")
    Traceback (most recent call last):
    ValueError: the rule f_vjp0 returned an array of shape (5,) as the cotangent of argument 0, \
which has shape (2,); a rule's result must have that shape
    """
    if not (_numeric(value) and _numeric(like)):
        return value
    shape, wanted = np.shape(value), np.shape(like)
    try:
        fits = np.broadcast_shapes(shape, wanted) == wanted
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"the rule {rule} returned an array of shape {shape} as {what}, which has shape "
            f"{wanted}; a rule's result must have that shape"
        )
    return value


def _numeric(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, float, int, complex))


def _floats(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(map(_floats, value))
    if isinstance(value, dict):
        return all(map(_floats, value.values()))
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return isinstance(value, (float, np.floating))


def formatted(value: Any, conversion: int = -1, spec: str = "") -> str:
    """One replacement field of an f-string, ``f"{value!r:spec}"``: ``conversion`` is
    Python's code for ``!s``, ``!r`` or ``!a`` (-1: none).

    >>> formatted(3.14159, -1, ".2f"), formatted("W", ord("r"))
    ('3.14', "'W'")
    """
    convert = {ord("s"): str, ord("r"): repr, ord("a"): ascii}.get(conversion)
    return format(value if convert is None else convert(value), spec)


def joined(*parts: str) -> str:
    """The parts of an f-string, joined.

    >>> joined("W", formatted(1))
    'W1'
    """
    return "".join(parts)


def zeros_like(x: Any) -> Any:
    """A zero derivative shaped like ``x`` (``0.0`` for Python numbers).

    Containers give containers of zeros; a tuple gives a list, so that its
    items can be accumulated into (:func:`as_structure` turns it back).  A
    record (a dataclass, ...) gives a copy with zeros in its floating fields
    and None in the others (see ``records.py``).

    >>> zeros_like((1.0, [2.0, 3.0]))
    [0.0, [0.0, 0.0]]
    """
    if isinstance(x, (np.ndarray, np.generic)):
        return np.zeros(x.shape, dtype=x.dtype if x.dtype.kind in "fc" else float)
    if isinstance(x, (list, tuple)):
        return [zeros_like(item) for item in x]
    if isinstance(x, dict):
        return {key: zeros_like(value) for key, value in x.items()}
    if records.is_record(x):
        zeros = {name: _zero_field(value) for name, value in records.fields_of(x).items()}
        return records.replaced(x, **zeros)
    return 0.0


def _zero_field(value: Any) -> Any:
    return zeros_like(value) if records.is_floating(value) else None


def as_structure(derivative: Any, like: Any) -> Any:
    """``derivative`` with the container types of ``like`` (tuples stay tuples).

    >>> as_structure([1.0, [2.0]], (0.0, (0.0,)))
    (1.0, (2.0,))
    """
    if records.is_namedtuple(like) and isinstance(derivative, (list, tuple)):
        return type(like)._make(map(_field_structure, derivative, like))
    if isinstance(like, (list, tuple)) and isinstance(derivative, (list, tuple)):
        items = [as_structure(d, x) for d, x in zip(derivative, like)]
        return tuple(items) if isinstance(like, tuple) else items
    if isinstance(like, dict) and isinstance(derivative, dict):
        return {key: as_structure(derivative[key], like[key]) for key in like}
    if type(like) is float and isinstance(derivative, (np.floating, np.ndarray)):
        return float(derivative) if np.ndim(derivative) == 0 else derivative
    if records.is_record(like) and (records.is_record(derivative) or isinstance(derivative, dict)):
        fields = records.fields_of(like)
        return records.replaced(
            like, **{k: _field_structure(field(derivative, k), v) for k, v in fields.items()}
        )
    return derivative


def _field_structure(derivative: Any, like: Any) -> Any:
    """A record's field in a derivative: None where the field is a constant."""
    return as_structure(derivative, like) if records.is_floating(like) else None


def ones_like(x: Any) -> Any:
    """A tangent of ones shaped like ``x`` (``1.0`` for Python numbers)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return np.ones_like(x, dtype=x.dtype if np.issubdtype(x.dtype, np.inexact) else float)
    return 1.0


def sign(x: float) -> float:
    """The sign of a number as a float: -1.0, 0.0 or 1.0 (the slope of ``abs``)."""
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def power_exponent(x: Any, y: Any) -> Any:
    """``y - 1``, the exponent in ``y * x ** (y - 1)``, the derivative of ``x ** y`` in ``x``;
    but 1 where ``x`` and ``y`` are both 0, where ``x ** 0`` (1 everywhere) has the derivative
    ``0 * x ** 1 = 0``, which the exponent -1 would make ``0 * inf``.  As in autograd and JAX.

    >>> power_exponent(0.0, 0), power_exponent(0.0, 3)
    (1, 2)
    >>> power_exponent(np.zeros(2), np.array([0, 2]))
    array([1, 1])
    """
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return 1 if x == 0 and y == 0 else y - 1
    if np.ndim(y) == 0:  # a number keeps x's dtype in x ** exponent, as in x ** y
        if y != 0:
            return y - 1
        dtype = np.asarray(x).dtype if np.asarray(x).dtype.kind == "f" else np.float64
        return np.where(np.equal(x, 0), 1, -1).astype(dtype)
    return np.where(np.equal(x, 0) & np.equal(y, 0), 1, np.subtract(y, 1))


def nonzero_base(x: Any) -> Any:
    """``x``, with 1 in place of 0: ``log(nonzero_base(x))`` is the factor in ``x ** y * log(x)``,
    the derivative of ``x ** y`` in ``y``, taken as 0 at ``x = 0`` (``0 ** y`` is 0 for every
    ``y > 0``), as in JAX and autograd.

    >>> nonzero_base(0.0), nonzero_base(np.array([0.0, 2.0]))
    (1.0, array([1., 2.]))
    """
    if isinstance(x, (int, float)):
        return x if x != 0 else 1.0
    return np.where(np.equal(x, 0), 1, x)


def stop_gradient(x: Any) -> Any:
    """``x``, with zero derivative: differentiation treats it as a constant.

    >>> stop_gradient(3.0)
    3.0
    """
    return x


def aux_of(pair: Any) -> Any:
    """The ``aux`` of ``(output, aux)``, which a function differentiated with
    ``has_aux=True`` returns; anything but a pair is a ``TypeError``.

    >>> aux_of((1.0, {"n": 3}))
    {'n': 3}
    """
    if not isinstance(pair, tuple) or len(pair) != 2:
        what = f"a tuple of {len(pair)} items" if isinstance(pair, tuple) else type(pair).__name__
        raise TypeError(
            "has_aux=True needs a function that returns a pair (output, aux), "
            f"but this one returned {what}"
        )
    return pair[1]


# Values built by displays and boolean operators.  The emitted code writes
# them as Python syntax (``(a, b)``, ``a and b``); these functions are their
# names in the IR, so that rules can be attached to them.


def make_tuple(*items: Any) -> tuple:
    """``(a, b, ...)``."""
    return items


def make_list(*items: Any) -> list:
    """``[a, b, ...]``."""
    return list(items)


def appended(items: Any, value: Any) -> list:
    """``items`` with ``value`` at the end, as a new list: ``xs.append(v)`` as a value.

    Reverse mode writes a varied list's ``append`` this way, so that the list
    the adjoint sweep reads back is never changed afterwards.

    >>> xs = [1.0]
    >>> appended(xs, 2.0), xs
    ([1.0, 2.0], [1.0])
    """
    return [*items, value]


def initial(v: Any, last: Any) -> Any:
    """All items of the cotangent ``v`` of ``appended(xs, last)`` but the last: ``xs``'s part.

    A zero cotangent (``0.0``, where a loop's trips start) stays zero; ``last`` only
    gives the transpose the shape of the item dropped.

    >>> initial([1.0, 2.0, 3.0], 0.0), initial(0.0, 0.0)
    ([1.0, 2.0], 0.0)
    """
    if type(v) is float and v == 0.0:
        return v
    return list(v[:-1])


def last(v: Any, rest: Any) -> Any:
    """The last item of the cotangent ``v`` of ``appended(rest, value)``: ``value``'s part.

    ``rest`` gives only the transpose of ``last`` its shape: code that is not
    differentiated again passes None, and need not keep the list.

    >>> last([1.0, 2.0, 3.0], [0.0, 0.0]), last(0.0, [])
    (3.0, 0.0)
    """
    if type(v) is float and v == 0.0:
        return v
    return v[-1]


def at_least(sequence: Any, count: int, message: str) -> Any:
    """``sequence``, once it is known to have at least ``count`` items; otherwise
    ``message`` as an error (a loop over functions zipped with it is unrolled).

    >>> at_least((1.0, 2.0), 2, "too short")
    (1.0, 2.0)
    """
    if len(sequence) < count:
        raise TransformError(message)
    return sequence


def part(v: Any, index: Any, whole: Any) -> Any:
    """``v[index]``, the cotangent of item ``index`` of ``whole`` taken from ``whole``'s
    cotangent ``v``; a zero cotangent (``0.0``, where a loop's trips start) gives zero.

    >>> part([1.0, 2.0], 1, (0.5, 0.5)), part(0.0, 1, (0.5, 0.5))
    (2.0, 0.0)
    """
    if type(v) is float and v == 0.0:
        return v
    return v[index]


def as_tuple(items: Any) -> tuple:
    """``tuple(items)`` of a list built item by item (``tuple(x for x in xs)``).

    >>> as_tuple([1.0, 2.0])
    (1.0, 2.0)
    """
    return tuple(items)


def keys_of(mapping: Any) -> list:
    """The keys of a dict, in order: what ``for k, v in d.items()`` walks (a constant).

    >>> keys_of({"W0": 1.0, "b0": 2.0})
    ['W0', 'b0']
    """
    return list(mapping.keys())


def make_dict(**items: Any) -> dict:
    """``{'k': v, ...}`` (string keys)."""
    return items


def both(a: Any, b: Any) -> Any:
    """``a and b`` on values already computed."""
    return a and b


def either(a: Any, b: Any) -> Any:
    """``a or b`` on values already computed."""
    return a or b


def getitem_vjp(g: Any, x: Any, index: Any) -> Any:
    """The cotangent of ``x`` from the cotangent ``g`` of ``x[index]``: zeros, and ``g`` there."""
    result = zeros_like(x)
    return add_at(result, index, g)


def field_vjp(g: Any, x: Any, name: str) -> Any:
    """The cotangent of the record ``x`` from the cotangent ``g`` of ``x.name``.

    >>> from types import SimpleNamespace
    >>> field_vjp(2.0, SimpleNamespace(W=1.0, b=3.0), "W")
    namespace(W=2.0, b=0.0)
    """
    if not records.is_record(x):
        raise TypeError(
            f"s2s_ad differentiates `.{name}` as a field of a dataclass, NamedTuple, "
            f"SimpleNamespace or object, not of a {type(x).__name__}: write the NumPy "
            f"function (np.{name}(x)) if there is one"
        )
    return add_at(zeros_like(x), records.position(x, name), g)


# Attributes of an array that describe its memory, not its values.
MEMORY_ATTRIBUTES = ("base", "flags", "strides", "data", "ctypes")


def check_memory_attribute(x: Any, name: str, where: tuple) -> None:
    """A :class:`TransformError` at the user's line when ``x.name`` reads how the array
    ``x`` sits in memory (``x.base``, ``x.flags``): emitted derivatives copy and share arrays
    where the function did not, so the answer would not be the function's.  A record's
    field of that name passes.  ``where`` is ``(filename, lineno, col_offset, source_line)``.

    >>> from types import SimpleNamespace
    >>> check_memory_attribute(SimpleNamespace(base=1.0), "base", ("f.py", 3))
    >>> check_memory_attribute(np.ones(3)[1:], "base", ("f.py", 3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    s2s_ad.runtime.errors.TransformError: f.py:3: `.base` of an array tells how it sits in ...
    """
    if isinstance(x, (np.ndarray, np.generic)):
        raise TransformError(
            f"`.{name}` of an array tells how it sits in memory (whether it shares it with "
            "another array, how it is laid out), not what it holds; s2s_ad's derivative code "
            "may copy or share arrays where your function does not, so it does not read it",
            Loc(*where),
            hint=f"compute with the array's values only: drop the test on `.{name}`, or make "
            "that choice outside the differentiated function and pass it in as an argument",
        )


def field_tangent(d: Any, x: Any, name: str) -> Any:
    """The field ``name`` of ``d``, a derivative of the record ``x`` (a list for a
    NamedTuple); zeros where ``x`` has a constant (whatever ``d`` holds there).

    >>> from types import SimpleNamespace
    >>> field_tangent(SimpleNamespace(W=2.0, n=3), SimpleNamespace(W=1.0, n=3), "n")
    0.0
    """
    primal = field(x, name)
    if not records.is_floating(primal):
        return zeros_like(primal)
    return d[records.position(x, name)] if isinstance(d, (list, dict)) else field(d, name)


def with_field(x: Any, name: str, value: Any) -> Any:
    """A copy of the record ``x`` with ``x.name`` set to ``value`` (``x`` is not changed):
    what ``dataclasses.replace(x, name=value)`` and ``x._replace(name=value)`` do.

    >>> from types import SimpleNamespace
    >>> with_field(SimpleNamespace(W=1.0, b=2.0), "b", 5.0)
    namespace(W=1.0, b=5.0)
    """
    return records.replaced(x, **{name: value})


def field_set(d: Any, x: Any, name: str, value: Any) -> Any:
    """``d``, a derivative of the record ``x`` (a list for a NamedTuple), with its
    field ``name`` set to ``value``; ``d`` is not changed."""
    if isinstance(d, (list, dict)):
        d = copy_of(d)
        d[records.position(x, name)] = value
        return d
    return records.replaced(d, **{name: value})


def field_cleared(g: Any, x: Any, name: str) -> Any:
    """``g``, a derivative of the record ``x``, with zeros in its field ``name``: the
    cotangent of ``x`` from that of ``with_field(x, name, value)``."""
    return field_set(g, x, name, _zero_field(field(x, name)))


def constructed(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``cls(*args, **kwargs)``: a record made in the differentiated function; its
    fields are then set one by one (``with_field``), which is what is differentiated."""
    return cls(*args, **kwargs)


def add_at(acc: Any, index: Any, g: Any) -> Any:
    """``acc[index] += g`` for arrays, lists and dicts of derivatives; returns ``acc``.

    >>> add_at([0.0, 0.0], 1, 2.5)
    [0.0, 2.5]
    """
    if isinstance(acc, np.ndarray):
        if is_basic_index(index):  # no index repeats: `+=` adds each item once
            acc[index] += g
        else:
            np.add.at(acc, index, g)
    elif records.is_record(acc) and not records.is_namedtuple(acc):
        return records.replaced(acc, **{index: add(getattr(acc, index), g)})
    else:
        acc[index] = add(acc[index], g)
    return acc


def is_basic_index(index: Any) -> bool:
    """Ints, slices, ``...`` and ``None`` (or a tuple of them) select each item at most once."""
    items = index if type(index) is tuple else (index,)
    return all(
        type(item) in (int, slice, type(Ellipsis), type(None)) or isinstance(item, np.integer)
        for item in items
    )


def add(a: Any, b: Any) -> Any:
    """The sum of two derivatives of the same structure (lists, tuples and dicts itemwise).

    A zero ``0.0`` (where a loop's trips start) is the zero of any structure.

    >>> add([1.0, 2.0], [3.0, 4.0]), add(0.0, [3.0, 4.0])
    ([4.0, 6.0], [3.0, 4.0])
    """
    container = isinstance(b, (list, tuple, dict)) or records.is_record(b)
    if type(a) is float and a == 0.0 and container:
        return b
    if a is None or b is None:  # a constant field of a record
        return b if a is None else a
    if records.is_namedtuple(a):
        return type(a)._make(add(x, y) for x, y in zip(a, b))
    if isinstance(a, (list, tuple)):
        return type(a)(add(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: add(a[k], b[k]) for k in a}
    if records.is_record(a):
        sums = {k: add(v, field(b, k)) for k, v in records.fields_of(a).items()}
        return records.replaced(a, **sums)
    return a + b


def copy_of(x: Any) -> Any:
    """A copy of an array or a list or dict (one level), to write items into.

    >>> a = [1.0, 2.0]; copy_of(a) is a
    False
    """
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, dict):
        return dict(x)
    return x


def owned_copy(d: Any, like: Any) -> Any:
    """A copy of the derivative ``d`` of ``like``, to write items into.

    Before a loop whose trips bind ``like`` (``for row in w``), the adjoint
    sweep starts its derivative at the number 0.0, as ``like`` is not bound
    there yet; inside the trip that 0.0 becomes zeros shaped like ``like``.

    >>> owned_copy(0.0, (1.0, np.ones(2)))
    [0.0, array([0., 0.])]
    >>> owned_copy(np.ones(2), np.zeros(2))
    array([1., 1.])
    """
    if isinstance(d, (int, float)) and not isinstance(like, (int, float)):
        return zeros_like(like)
    return copy_of(d)


def call_method(receiver: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``receiver.name(*args, **kwargs)``, a method s2s_ad knows no derivative of.

    Emitted code spells it as the method call.  Its result is a constant
    (``rng.normal(size=3)`` on a local ``np.random.Generator``); where the
    receiver or an argument varies, the transform refuses it.

    >>> call_method([3, 1, 2], "index", 1)
    1
    """
    return getattr(receiver, name)(*args, **kwargs)


def updated(x: Any, index: Any, value: Any) -> Any:
    """``x`` with ``x[index] = value``, as a new value: JAX's ``x.at[index].set(value)``.

    Emitted code writes items this way, so that no value the derivative reads
    later is overwritten, and the caller's arrays are never changed.  A tuple
    refuses the write, as Python does.

    >>> a = np.zeros(3)
    >>> updated(a, 1, 5.0), a
    (array([0., 5., 0.]), array([0., 0., 0.]))
    """
    if isinstance(x, tuple):
        raise TypeError("'tuple' object does not support item assignment")
    result = copy_of(x)
    result[index] = value
    return result


def cleared(g: Any, index: Any) -> Any:
    """A copy of the cotangent ``g`` with ``g[index]`` zero: the cotangent that reaches
    ``x`` through ``updated(x, index, value)``, whose item at ``index`` was replaced.

    >>> cleared(np.array([1.0, 2.0, 3.0]), slice(1, None))
    array([1., 0., 0.])
    """
    if type(g) is float and g == 0.0:  # a zero cotangent: a loop's trips start from it
        return g
    if isinstance(g, tuple):
        g = list(g)
    return updated(g, index, zeros_like(g[index]) if not isinstance(g, np.ndarray) else 0.0)


def unshared(x: Any, other: Any, message: str) -> Any:
    """``x``, once ``other`` is known not to share its memory; otherwise ``message`` as an error.

    Emitted code calls it before a write into ``x`` (``x[i] = v``, ``x += v``) where
    another name read later may hold the same object or a view of it: Python would
    change that name's value too, and s2s_ad differentiates values, so it refuses.

    >>> m = np.zeros(3)
    >>> unshared(m, np.zeros(3), "shared") is m
    True
    >>> unshared(m[1:], m, "shared")
    Traceback (most recent call last):
    s2s_ad.runtime.errors.TransformError: shared
    """
    if _shares(x, other, 3):
        raise TransformError(message)
    return x


def not_a_dict(sequence: Any, message: str) -> Any:
    """``sequence``, which a ``for`` loop walks by position; ``message`` as an error where it
    is a dict (Python walks a dict's keys: ``for k in d.keys()`` says so).

    >>> not_a_dict([1.0, 2.0], "a dict")
    [1.0, 2.0]
    >>> not_a_dict({"w": 1.0}, "a dict")
    Traceback (most recent call last):
    s2s_ad.runtime.errors.TransformError: a dict
    """
    if isinstance(sequence, dict):
        raise TransformError(message)
    return sequence


def shares(x: Any, base: Any, index: Any, message: str) -> bool:
    """Whether ``x`` is ``base[index]`` (``base`` itself where ``index`` is None) as Python
    sees it: a view of exactly those entries of the array ``base``, the list or dict
    ``base`` itself, or the item ``base[index]`` of a list, tuple or dict (an item the
    others do not share).  ``False`` where the two share nothing; ``message`` as an error
    where they share in any other way.

    Emitted code calls it before a write through ``x`` (or into ``base``) that Python
    would make in place: where it is true, the write is made to both (:func:`synced`,
    :func:`resynced`), as Python's shared object has it.

    >>> m = np.zeros(4)
    >>> shares(m[1:], m, slice(1, None), "shared"), shares(m + 1, m, None, "shared")
    (True, False)
    >>> shares(m, (1.0, m), 1, "shared")  # an item: a write into it is made to the tuple
    True
    >>> shares(m[2:], m, slice(1, None), "shared")
    Traceback (most recent call last):
    s2s_ad.runtime.errors.TransformError: shared
    >>> shares(m, (m, m), 1, "shared")  # Python's write would change both items
    Traceback (most recent call last):
    s2s_ad.runtime.errors.TransformError: shared
    """
    if not _shares(x, base, 3):
        return False
    if isinstance(base, np.ndarray) and isinstance(x, np.ndarray):
        try:
            part = base if index is None else base[index]
        except (IndexError, TypeError, ValueError):
            part = None
        if isinstance(part, np.ndarray) and _same_entries(x, part):
            return True
    elif index is None and x is base and isinstance(x, (list, dict)):
        return True
    elif index is not None and isinstance(base, (list, tuple, dict)) and _only_item(x, base, index):
        return True
    raise TransformError(message)


def _only_item(x: Any, base: Any, index: Any) -> bool:
    """Whether ``x`` is the item ``base[index]`` of a list, tuple or dict, and shares
    nothing with its other items (``(a, a)`` holds ``a`` twice: a write changes both)."""
    try:
        if base[index] is not x:
            return False
    except (IndexError, KeyError, TypeError):
        return False
    if isinstance(base, dict):
        others = [item for key, item in base.items() if key != index]
    else:
        position = range(len(base))[index]
        others = [item for k, item in enumerate(base) if k != position]
    return not any(_shares(x, item, 2) for item in others)


def _same_entries(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays are views of the same entries in the same layout."""
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
    )


def synced(base: Any, shared: bool, index: Any, x: Any) -> Any:
    """``base`` after a write through ``x``: ``updated(base, index, x)`` where ``x`` is
    ``base[index]`` (``shared``, from :func:`shares`), ``x`` itself where ``index`` is
    None; ``base`` unchanged where they share nothing.

    >>> m = np.zeros(3)
    >>> synced(m, True, slice(1, None), np.ones(2)), synced(m, False, 0, 5.0)
    (array([0., 1., 1.]), array([0., 0., 0.]))
    >>> synced((1.0, m), True, -1, np.ones(3))
    (1.0, array([1., 1., 1.]))
    """
    if not shared:
        return base
    if index is None:
        return x
    if isinstance(base, tuple):  # a tuple's item written through: a new tuple holds it
        position = range(len(base))[index]
        return tuple(x if k == position else item for k, item in enumerate(base))
    return updated(base, index, x)


def resynced(x: Any, shared: bool, base: Any, index: Any) -> Any:
    """``base[index]`` (``base`` where ``index`` is None) where ``shared``, else ``x``:
    after a write, the name that held a view of ``base`` holds a view of its new value.
    The zero ``0.0`` as ``base`` gives the zero ``0.0``.

    >>> m = np.arange(3.0)
    >>> resynced(None, True, m, slice(1, None)), resynced(7.0, False, m, 0)
    (array([1., 2.]), 7.0)
    """
    if not shared:
        return x
    if index is None or (type(base) is float and base == 0.0):
        return base
    return base[index]


def kept(g: Any, shared: bool, index: Any) -> Any:
    """``g`` with ``g[index]`` zero (all of it where ``index`` is None) where ``shared``,
    else ``g``: the cotangent that reaches ``base`` through :func:`synced`, and ``x``
    through :func:`resynced`.

    >>> kept(np.ones(3), True, 0), kept(np.ones(2), True, None), kept(2.0, False, None)
    (array([0., 1., 1.]), array([0., 0.]), 2.0)
    """
    if not shared:
        return g
    return zeros_like(g) if index is None else cleared(g, index)


_TOO_HARD = getattr(np, "exceptions", np).TooHardError


def _shares(a: Any, b: Any, depth: int) -> bool:
    """Whether writing into ``a`` may change ``b`` (or the other way round)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        try:
            return bool(np.shares_memory(a, b, max_work=100_000))
        except _TOO_HARD:  # overlapping strides NumPy will not settle cheaply
            return True
    if a is b:
        return isinstance(a, (list, dict, np.ndarray))
    if depth == 0:
        return False
    for outer, inner in ((a, b), (b, a)):
        if isinstance(outer, (list, tuple, dict)):
            items = outer.values() if isinstance(outer, dict) else outer
            if any(_shares(item, inner, depth - 1) for item in items):
                return True
    return False


def written_vjp(dx: Any, index: Any, value: Any) -> Any:
    """The cotangent of ``value`` in ``x[index] = value``, from the cotangent ``dx`` of ``x``.

    ``dx[index]``, summed to ``value``'s shape where the write broadcast it;
    where an index repeats, only the last write stays, so earlier entries get 0.

    >>> written_vjp(np.array([1.0, 2.0, 3.0]), [2, 0, 2], np.zeros(3))
    array([0., 1., 3.])
    >>> written_vjp(np.array([1.0, 2.0, 3.0]), slice(0, 2), 0.0)
    3.0
    """
    if type(dx) is float and dx == 0.0:  # a zero cotangent: a loop's trips start from it
        return zeros_like(value)
    if not isinstance(dx, np.ndarray):
        return copy_of(dx[index])
    part = dx[index]
    if not isinstance(part, np.ndarray):  # one entry
        return part
    part = part.copy()  # the adjoint sweep zeroes dx[index] next
    if part.ndim and _may_repeat(index):
        order = np.arange(part.size).reshape(part.shape)
        writer = np.full(dx.shape, -1)
        writer[index] = order  # NumPy keeps the last of repeated writes
        part = np.where(writer[index] == order, part, 0.0)
    result = unbroadcast(part, value)
    return float(result) if type(value) is float else result


def _may_repeat(index: Any) -> bool:
    """Whether an index may name one entry twice (it holds an integer list or array)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(
        isinstance(p, list) or (isinstance(p, np.ndarray) and p.dtype != bool) for p in parts
    )


def sum_vjp(g: Any, x: Any) -> Any:
    """The cotangent of ``x`` from that of ``sum(x)``: ``g`` for every item.

    >>> sum_vjp(2.0, [1.0, 5.0])
    [2.0, 2.0]
    """
    if isinstance(x, (list, tuple)):
        return [g for _ in x]
    return np.zeros_like(x, dtype=np.result_type(x, g)) + g


def astype(x: Any, dtype: Any) -> Any:
    """``x.astype(dtype)``, as a function.

    >>> astype(np.array([1.5]), np.float32).dtype
    dtype('float32')
    """
    return np.asarray(x).astype(dtype)


# Transposes of the helpers above, so that emitted gradients can be differentiated
# again (their rules are in ``rules/helpers.py``).


def taken(g: Any, index: Any, v: Any) -> Any:
    """``g[index]`` summed to the shape of ``v``: the transpose of ``getitem_vjp(v, x, index)``.

    >>> taken(np.array([1.0, 2.0, 3.0]), [2, 2], np.zeros(2))
    array([3., 3.])
    """
    part = g[index]
    if isinstance(g, np.ndarray):
        return unbroadcast(part, v)
    return copy_of(part)


def unwritten(g: Any, x: Any, index: Any, value: Any) -> Any:
    """The transpose of ``written_vjp(dx, index, value)``: zeros like ``x`` with ``g``
    written at ``index``, where a repeated index keeps only its last write, as NumPy does.

    >>> unwritten(np.array([1.0, 2.0, 3.0]), np.zeros(3), [2, 0, 2], np.zeros(3))
    array([2., 0., 3.])
    """
    result = zeros_like(x)
    if isinstance(result, np.ndarray):
        g = np.broadcast_to(g, np.shape(result[index]))
    result[index] = g
    return result


def pick(cond: Any, x: Any, y: Any) -> Any:
    """``x`` if ``cond`` else ``y``: an operand chosen by a position only known at run time
    (both are computed; their shapes may differ).

    >>> pick(0 == 1, "x", "y")
    'y'
    """
    return x if cond else y
