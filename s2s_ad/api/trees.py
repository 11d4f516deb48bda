"""Arguments as trees: lists, tuples, dicts and records (nested) whose leaves are numbers
or arrays.  A record's fields that are not floating (ints, strs, None, functions) are
constants: they are no leaves, and a rebuilt record has None there.

The transforms that build a matrix entry by entry (``hessian``, ``jacobian``,
``laplacian``) walk the leaves of a differentiated argument and put the
blocks back in its structure, as JAX does with pytrees.

>>> value = {"w": [1.0, 2.0], "b": 3.0}
>>> leaves(value)
[1.0, 2.0, 3.0]
>>> rebuild(value, ["a", "b", "c"])
{'w': ['a', 'b'], 'b': 'c'}
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, List

from ..runtime.records import fields_of, is_floating, is_namedtuple, is_record, replaced


def leaves(value: Any) -> List[Any]:
    """The numbers and arrays in ``value``, depth first (dicts in their key order).

    >>> leaves((1.0, [2.0, (3.0,)]))
    [1.0, 2.0, 3.0]
    """
    if is_record(value):
        return [
            leaf for item in fields_of(value).values() if is_floating(item) for leaf in leaves(item)
        ]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in leaves(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    return [value]


def rebuild(like: Any, new_leaves: Iterable[Any]) -> Any:
    """``like``'s structure (its list, tuple and dict types) with ``new_leaves`` as leaves.

    >>> rebuild((1.0, [2.0, 3.0]), [10, 20, 30])
    (10, [20, 30])
    """
    return _rebuild(like, iter(new_leaves))


def _rebuild(like: Any, new_leaves: Iterator[Any]) -> Any:
    if is_record(like):
        fields = {
            name: _rebuild(item, new_leaves) if is_floating(item) else None
            for name, item in fields_of(like).items()
        }
        return type(like)(**fields) if is_namedtuple(like) else replaced(like, **fields)
    if isinstance(like, dict):
        return {key: _rebuild(item, new_leaves) for key, item in like.items()}
    if isinstance(like, (list, tuple)):
        items = [_rebuild(item, new_leaves) for item in like]
        if isinstance(like, list):
            return items
        return type(like)(*items) if hasattr(like, "_fields") else type(like)(items)
    return next(new_leaves)
