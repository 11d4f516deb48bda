"""What the lowerer knows of the names on the current path, undone block by block.

A branch's bindings are forgotten before the other branch is lowered, and a loop's
names are unbound again after it (the loop may run no trip).  Copying what is known of
every name at each branch and loop, to compare or restore it afterwards, costs as much
as the function has names: a long function's lowering grew with the square of its
length.  :class:`Environment` and :class:`BoundNames` instead record what a block
changes while it is lowered, so that undoing it costs what the block changed.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterable, Iterator, List, Set

UNBOUND = object()  # in a record of changes: the name was bound to nothing


class Environment(dict):
    """Names -> the atoms they are bound to, which records, for each block that asks
    (:meth:`changes`), what the names it rebinds were bound to before it.

    >>> env = Environment(a=1)
    >>> with env.changes() as before:
    ...     env["a"] = 2
    ...     env["b"] = 3
    ...     env["a"] = 4
    >>> before["a"], before["b"] is UNBOUND, env
    (1, True, {'a': 4, 'b': 3})
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._records: List[Dict[str, Any]] = []

    @contextlib.contextmanager
    def changes(self) -> Iterator[Dict[str, Any]]:
        """Within the ``with``: the names rebound since it began, each with what it was
        bound to then (:data:`UNBOUND` if nothing)."""
        record: Dict[str, Any] = {}
        self._records.append(record)
        try:
            yield record
        finally:
            self._records.pop()

    def _note(self, name: str) -> None:
        for record in self._records:
            if name not in record:
                record[name] = dict.get(self, name, UNBOUND)

    def __setitem__(self, name: str, atom: Any) -> None:
        self._note(name)
        super().__setitem__(name, atom)

    def __delitem__(self, name: str) -> None:
        self._note(name)
        super().__delitem__(name)

    def pop(self, name: str, *default: Any) -> Any:
        self._note(name)
        return super().pop(name, *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, atom in dict(*args, **kwargs).items():
            self[name] = atom

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name not in self:
            self[name] = default
        return self[name]


class BoundNames(set):
    """The names surely bound on the current path; a :meth:`block` unbinds those bound
    within it when it ends.

    >>> bound = BoundNames({"x"})
    >>> with bound.block() as added:
    ...     bound.add("y")
    ...     bound |= {"x", "z"}
    >>> sorted(added), sorted(bound)
    (['y', 'z'], ['x'])
    """

    def __init__(self, names: Iterable[str] = ()):
        super().__init__(names)
        self._records: List[Set[str]] = []

    @contextlib.contextmanager
    def block(self) -> Iterator[Set[str]]:
        """Names bound within the ``with`` are unbound when it ends, and the set it gives
        then holds them (those of an inner block that it unbound left out)."""
        record: Set[str] = set()
        self._records.append(record)
        try:
            yield record
        finally:
            self._records.pop()
            record.intersection_update(self)  # an inner block unbound the others
            self.difference_update(record)

    def add(self, name: str) -> None:
        if name not in self:
            for record in self._records:
                record.add(name)
            super().add(name)

    def __ior__(self, names: Iterable[str]) -> BoundNames:  # type: ignore[override]
        for name in names:
            self.add(name)
        return self
