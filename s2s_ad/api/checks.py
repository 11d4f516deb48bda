"""Checks of what users pass to the transforms, made before any emitted code runs.

Each wrong input gets a ``TypeError`` that names what was expected and what was
given: a cotangent or tangent of the wrong shape or structure, a ``None``
cotangent, a function whose output is not numeric, an option that is not a bool.
Every check is a few ``isinstance`` tests and a shape comparison.

>>> import numpy as np
>>> check_cotangent(np.ones(5), np.zeros(3))
Traceback (most recent call last):
...
TypeError: pullback: the cotangent must have the output's shape (3,), got shape (5,)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..runtime.records import fields_of, is_floating, is_record

_NUMBERS = (float, int, complex, np.number)


def flag(value: Any, option: str, who: str) -> bool:
    """``value``, checked to be ``True`` or ``False``.

    >>> flag(True, "has_aux", "grad")
    True
    """
    if not isinstance(value, bool):
        raise TypeError(f"{who}: {option} must be True or False, got {value!r}")
    return value


def describe(value: Any) -> str:
    """A short description of a value for an error message: its type, and its shape.

    >>> describe(np.zeros((2, 3)))
    'an array of shape (2, 3) and dtype float64'
    """
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the str {value!r}"
    return f"a {type(value).__name__}"


def is_numeric(value: Any) -> bool:
    """Numbers, number arrays, and tuples, lists and dicts of them (bools are not numbers).

    >>> is_numeric((1.0, np.ones(2))), is_numeric(["a", "b"]), is_numeric(None)
    (True, False, False)
    """
    if isinstance(value, _NUMBERS) and not isinstance(value, bool):
        return True
    if is_record(value):  # a dataclass, NamedTuple, ...: its other fields are constants
        return is_floating(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype.kind in "iufc"
    if isinstance(value, (tuple, list)):
        return all(is_numeric(item) for item in value)
    if isinstance(value, dict):
        return all(is_numeric(item) for item in value.values())
    return False


def check_output(out: Any, who: str) -> Any:
    """``out``, checked to be something a derivative can be taken of.

    >>> check_output(None, "vjp")
    Traceback (most recent call last):
    ...
    TypeError: vjp needs a function that returns numbers or arrays of numbers, but it returned None
    """
    if type(out) is float or (type(out) is np.ndarray and out.dtype.kind in "fc"):
        return out  # the common case, quickly
    if not is_numeric(out):
        raise TypeError(
            f"{who} needs a function that returns numbers or arrays of numbers, "
            f"but it returned {describe(out)}"
        )
    return out


def check_cotangent(cotangent: Any, out: Any, who: str = "pullback") -> None:
    """A cotangent must have the structure and the shapes of the output ``out``.

    >>> check_cotangent((1.0, np.ones(2)), (0.5, np.zeros(2)))
    >>> check_cotangent(None, 0.5)
    Traceback (most recent call last):
    ...
    TypeError: pullback: the cotangent must be shaped like the output (a float), got None
    """
    if _same_kind_and_shape(cotangent, out):
        return
    _check_like(cotangent, out, who, "the cotangent", "the output")


def check_tangent(
    tangent: Any, primal: Any, who: str, name: str, called: str = "the tangent of"
) -> None:
    """A tangent must have the structure and the shapes of its primal (argument ``name``).

    >>> check_tangent(np.ones(5), np.zeros(3), "jvp", "x")
    Traceback (most recent call last):
    ...
    TypeError: jvp: the tangent of 'x' must have the argument's shape (3,), got shape (5,)
    """
    _check_like(tangent, primal, who, f"{called} {name!r}", "the argument")


def _check_like(value: Any, like: Any, who: str, what: str, whose: str) -> None:
    """``value`` has the container structure, shapes and number kind of ``like``;
    ``what`` names ``value`` (with its article) and ``whose`` names ``like``."""
    if _same_kind_and_shape(value, like):
        return
    if is_record(like):
        _check_record(value, like, who, what, whose)
        return
    if isinstance(like, (tuple, list, dict)):
        _check_container(value, like, who, what, whose)
        return
    if value is None or not is_numeric(value) or isinstance(value, (tuple, list, dict)):
        raise TypeError(
            f"{who}: {what} must be shaped like {whose} ({describe(like)}), got {describe(value)}"
        )
    if np.shape(value) != np.shape(like):
        raise TypeError(
            f"{who}: {what} must have {whose}'s shape {np.shape(like)}, got shape {np.shape(value)}"
        )
    if np.iscomplexobj(value) and not np.iscomplexobj(like):
        raise TypeError(f"{who}: {what} is complex, but {whose} is real ({describe(like)})")


def _check_container(value: Any, like: Any, who: str, what: str, whose: str) -> None:
    kind = type(like).__name__
    if isinstance(like, dict):
        if not isinstance(value, dict) or value.keys() != like.keys():
            raise TypeError(
                f"{who}: {what} must be a dict with the keys {sorted(like)} of "
                f"{whose}, got {describe(value)}"
                + (f" with keys {sorted(value)}" if isinstance(value, dict) else "")
            )
        for key in like:
            _check_like(value[key], like[key], who, f"{what}[{key!r}]", f"{whose}[{key!r}]")
        return
    if not isinstance(value, (tuple, list)) or len(value) != len(like):
        raise TypeError(
            f"{who}: {what} must be a tuple or list of {len(like)} items "
            f"like {whose} (a {kind}), got {describe(value)}"
            + (f" of {len(value)} items" if isinstance(value, (tuple, list)) else "")
        )
    for k, (item, item_like) in enumerate(zip(value, like)):
        _check_like(item, item_like, who, f"{what}[{k}]", f"{whose}[{k}]")


def _check_record(value: Any, like: Any, who: str, what: str, whose: str) -> None:
    """A record's derivative is a record of its type; its constant fields are not checked."""
    if type(value) is not type(like):
        raise TypeError(
            f"{who}: {what} must be a {type(like).__name__} like {whose}, got {describe(value)}"
        )
    theirs = fields_of(value)
    for name, field_like in fields_of(like).items():
        if is_floating(field_like):
            _check_like(theirs[name], field_like, who, f"{what}.{name}", f"{whose}.{name}")


def _same_kind_and_shape(value: Any, like: Any) -> bool:
    """The common cases, quickly: two floats, or two real arrays of one shape."""
    kind = type(like)
    if kind is float:
        return type(value) is float
    return (
        kind is np.ndarray
        and type(value) is np.ndarray
        and value.shape == like.shape
        and value.dtype.kind in "iuf"
        and like.dtype.kind in "iuf"
    )
