"""The kinds of values that rules and the compiler tell apart.

A value is a *scalar* (a Python number: scalar code, the :mod:`math`
functions, no broadcasting), an *array* (a NumPy value: NumPy code, dtype
kept) or *unknown* (either; the code handles both).  Emitted code is
specialised by the kinds of the arguments, so the kind is part of every
transform's spec.

>>> kind_of_value(1.5), kind_of_value(np.ones(3)), kind_of_value([1.0])
(<Kind.SCALAR: 'scalar'>, <Kind.ARRAY: 'array'>, <Kind.UNKNOWN: 'unknown'>)
>>> Kind.SCALAR == "scalar"
True
"""

from __future__ import annotations

from enum import Enum
from typing import Callable, Sequence

import numpy as np


class Kind(str, Enum):
    """What is known of a value's type; equal to its name as a string."""

    SCALAR = "scalar"
    ARRAY = "array"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


SCALAR, ARRAY, UNKNOWN = Kind.SCALAR, Kind.ARRAY, Kind.UNKNOWN


def kind_of_value(value: object) -> Kind:
    """The kind of a value: Python numbers (and np.float64, a float) are scalars;
    other NumPy values count as arrays, so that their dtype is kept."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return SCALAR
    if isinstance(value, (np.ndarray, np.generic)):
        return ARRAY
    return UNKNOWN


def join_kinds(kinds: Sequence[str]) -> Kind:
    """The kind of an elementwise result: scalar only if all inputs are.

    >>> join_kinds([SCALAR, SCALAR]), join_kinds([SCALAR, ARRAY]), join_kinds([UNKNOWN])
    (<Kind.SCALAR: 'scalar'>, <Kind.ARRAY: 'array'>, <Kind.UNKNOWN: 'unknown'>)
    """
    if all(k == SCALAR for k in kinds):
        return SCALAR
    if any(k == ARRAY for k in kinds):
        return ARRAY
    return UNKNOWN


def always(kind: Kind) -> Callable[[Sequence[str]], Kind]:
    """A ``result_kind`` that ignores the argument kinds."""
    return lambda kinds: kind
