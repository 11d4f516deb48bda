"""Central finite differences in float64, for ``check_grad``: of a number or an array
argument entry by entry, and of a container or record argument (a dict, list, tuple,
dataclass, ``NamedTuple`` or ``SimpleNamespace``) floating leaf by floating leaf.

>>> def objective(args):
...     return args[0]["a"] * args[0]["b"] ** 2
>>> [(label, round(float(numeric), 6)) for label, _, numeric in compared_leaves(
...     objective, [{"a": 2.0, "b": 3.0}], 0, {"a": 9.0, "b": 12.0}, "p")]
[("p['a']", 9.0), ("p['b']", 12.0)]
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List, Tuple

import numpy as np

from ..runtime.records import fields_of, is_floating, is_record
from .trees import leaves, rebuild


def compared_leaves(
    objective: Callable, args: list, position: int, ours: Any, name: str
) -> Iterator[Tuple[str, Any, np.ndarray]]:
    """``(label, derivative, finite differences)`` for ``args[position]``: itself if it is a
    number or an array, else each of its floating leaves, labelled with its path (``p.w``,
    ``p['b'][0]``); ``ours`` is s2s_ad's derivative, of the argument's structure.

    >>> total = lambda args: sum(args[0])
    >>> [label for label, *_ in compared_leaves(total, [[1.0, 2.0]], 0, [1.0, 1.0], "xs")]
    ['xs[0]', 'xs[1]']
    """
    tree = args[position]
    if not _is_tree(tree):
        yield name, ours, central_differences(objective, args, position)
        return
    tree_leaves, derivatives = leaves(tree), leaves(ours)
    for index, (path, leaf) in enumerate(zip(leaf_paths(tree), tree_leaves)):
        if not is_floating(leaf):
            continue

        def of_leaf(values: list, index: int = index) -> Any:
            moved = [values[position] if k == index else item for k, item in enumerate(tree_leaves)]
            return objective([*values[:position], rebuild(tree, moved), *values[position + 1 :]])

        at_leaf = [*args[:position], leaf, *args[position + 1 :]]
        yield name + path, derivatives[index], central_differences(of_leaf, at_leaf, position)


def leaf_paths(value: Any) -> List[str]:
    """How each of ``value``'s leaves (in :func:`~s2s_ad.api.trees.leaves`' order) is read.

    >>> leaf_paths({"w": [1.0, 2.0], "b": (3.0,)})
    ["['w'][0]", "['w'][1]", "['b'][0]"]
    """
    if is_record(value):
        items = [(f".{k}", v) for k, v in fields_of(value).items() if is_floating(v)]
    elif isinstance(value, (list, tuple)):
        items = [(f"[{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(f"[{k!r}]", v) for k, v in value.items()]
    else:
        return [""]
    return [head + tail for head, item in items for tail in leaf_paths(item)]


def central_differences(objective: Callable, args: list, position: int) -> np.ndarray:
    """d objective / d args[position], entry by entry; for a complex argument
    ``d/dx - i d/dy`` (JAX's convention, docs/complex.md).

    >>> round(float(central_differences(lambda args: args[0] ** 2, [3.0], 0)), 6)
    6.0
    """
    is_complex = np.iscomplexobj(args[position])
    base = np.array(args[position], dtype=complex if is_complex else float)
    is_array = isinstance(args[position], np.ndarray)
    result = np.zeros_like(base)
    step_scale = np.finfo(float).eps ** (1 / 3)
    for index in np.ndindex(base.shape):
        h = step_scale * max(1.0, abs(base[index].item()))
        for direction in (1.0, -1j) if is_complex else (1.0,):
            values = []
            for sign in (1.0, -1.0):
                shifted = base.copy()
                shifted[index] += sign * h * np.conj(direction)
                args[position] = shifted if is_array else shifted.item()
                values.append(objective(args))
            result[index] += direction * (values[0] - values[1]) / (2 * h)
    args[position] = base if is_array else base.item()
    return result


def _is_tree(value: Any) -> bool:
    """A container or a record, not a number or an array."""
    return is_record(value) or isinstance(value, (list, tuple, dict))
