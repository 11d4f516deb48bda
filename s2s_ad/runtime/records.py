"""Objects as containers of values: dataclasses, NamedTuples, SimpleNamespaces, instances.

A *record* is an object whose fields are read by attribute (``params.W``).
Its derivative has its type, as a pytree's does in JAX: the gradient of a
dataclass is the same dataclass with the gradients in its fields.  Only
floating fields (Python floats, NumPy float and complex scalars and arrays,
and lists, tuples, dicts and records of them) are differentiated; every
other field (an int, a str, None, a function) is a constant, and its field
in a gradient is ``None``, as equinox's ``filter_grad`` does.

NamedTuples are tuples as well: inside emitted code their derivatives are
lists, like a tuple's, and a field name reads the item at its position.

>>> from types import SimpleNamespace
>>> p = SimpleNamespace(W=1.0, name="layer")
>>> is_record(p), field_names(p)
(True, ['W', 'name'])
>>> replaced(p, W=2.0)
namespace(W=2.0, name='layer')
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import types
from typing import Any, Dict, List

import numpy as np

# Objects with a ``__dict__`` that are code or modules, never records.
_NOT_RECORDS = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
    functools.partial,
    np.ufunc,
)


def is_namedtuple(x: Any) -> bool:
    """Whether ``x`` is a ``typing.NamedTuple`` or ``collections.namedtuple`` instance.

    >>> import collections
    >>> is_namedtuple(collections.namedtuple("P", "a b")(1, 2)), is_namedtuple((1, 2))
    (True, False)
    """
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_record(x: Any) -> bool:
    """Whether ``x`` holds values in named fields: a dataclass instance, a NamedTuple,
    a ``SimpleNamespace`` or an instance of a user class (a model holding parameters).

    >>> import dataclasses
    >>> @dataclasses.dataclass
    ... class P:
    ...     w: float
    >>> is_record(P(1.0)), is_record(P), is_record({"w": 1.0}), is_record(1.0)
    (True, False, False, False)
    """
    if is_namedtuple(x):
        return True
    if isinstance(x, _NOT_RECORDS) or isinstance(x, (np.ndarray, np.generic)):
        return False
    return dataclasses.is_dataclass(x) or hasattr(x, "__dict__")


def field_names(record: Any) -> List[str]:
    """The names of a record's fields, in their order."""
    if is_namedtuple(record):
        return list(record._fields)
    if dataclasses.is_dataclass(record):
        return [f.name for f in dataclasses.fields(record)]
    return list(vars(record))


def fields_of(record: Any) -> Dict[str, Any]:
    """A record's fields, name -> value.

    >>> from types import SimpleNamespace
    >>> fields_of(SimpleNamespace(a=1.0, b=2.0))
    {'a': 1.0, 'b': 2.0}
    """
    return {name: getattr(record, name) for name in field_names(record)}


def replaced(record: Any, **values: Any) -> Any:
    """A copy of ``record`` with some fields set (frozen dataclasses too; the record
    itself is never changed, and ``__init__``/``__post_init__`` do not run again).

    >>> import collections
    >>> replaced(collections.namedtuple("P", "a b")(1.0, 2.0), b=5.0)
    P(a=1.0, b=5.0)
    """
    if is_namedtuple(record):
        return record._replace(**values)
    new = copy.copy(record)
    for name, value in values.items():
        object.__setattr__(new, name, value)
    return new


def is_floating(x: Any) -> bool:
    """Whether a record's field is differentiated: floats, and containers holding one.

    >>> is_floating(1.0), is_floating(3), is_floating("relu"), is_floating([1, 2.0])
    (True, False, False, True)
    """
    if isinstance(x, bool):
        return False
    if isinstance(x, (float, complex, np.inexact)):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc"
    if isinstance(x, (list, tuple)):
        return any(map(is_floating, x))
    if isinstance(x, dict):
        return any(map(is_floating, x.values()))
    if is_record(x):
        return any(map(is_floating, fields_of(x).values()))
    return False


def field(x: Any, name: str) -> Any:
    """``x.name``: a field of a record (also of a dict standing for one).

    >>> from types import SimpleNamespace
    >>> field(SimpleNamespace(W=2.0), "W"), field({"W": 3.0}, "W")
    (2.0, 3.0)
    """
    if isinstance(x, dict):
        return x[name]
    return getattr(x, name)


def position(record: Any, name: str) -> Any:
    """Where the field ``name`` is in a derivative of ``record``: its index in a
    NamedTuple (whose derivatives are lists), otherwise the name itself."""
    return record._fields.index(name) if is_namedtuple(record) else name
