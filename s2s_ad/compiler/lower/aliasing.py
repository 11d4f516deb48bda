"""Which names may share an object, so that writes through one of them are caught.

Item writes are values in the IR (``a = updated(a, i, v)``), and ``a += v`` rebinds
``a``.  Python instead writes into the object, and every other name holding it (or a
view of it) sees the change: ``v = m[1:]; v *= 3`` changes ``m``.  Where that can
matter -- a write through a name that may share its object with another name read
later -- the lowerer checks at run time that the two do not share memory
(:func:`s2s_ad.runtime.unshared`) and refuses with a clear error where they do.  A
float rebinds and never trips the check; a fresh array neither.

:class:`Sharing` follows the names of one function in program order: a name may share
with the names its value was computed from by indexing, attributes, views, containers,
plain copies and calls to user functions; arithmetic and library calls make new objects.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

import gast

# Methods and NumPy functions that may return a view of (or an object inside) an argument.
VIEW_NAMES = {
    "reshape",
    "ravel",
    "transpose",
    "swapaxes",
    "moveaxis",
    "squeeze",
    "expand_dims",
    "view",
    "diagonal",
    "asarray",
    "asanyarray",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_to",
    "broadcast_arrays",
    "split",
    "array_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "flip",
    "fliplr",
    "flipud",
    "rot90",
    "real",
    "imag",
    "get",
    "values",
    "items",
    "setdefault",
    "pop",
}
# Builtins whose results hold the argument's items.
CONTAINER_BUILTINS = {"list", "tuple", "dict", "sorted", "reversed", "zip", "enumerate", "iter"}

Position = Tuple[int, int]
FAR = (1 << 30, 0)  # where reads inside nested functions happen: any time later


class Sharing:
    """The names that may share an object with each name, and where names are read."""

    def __init__(self, fn: gast.FunctionDef, is_library: Callable[[gast.Call], bool]):
        self.is_library = is_library  # whether a call's callee is library code (new objects)
        self.shares: Dict[str, Set[str]] = {}
        self.reads: Dict[str, List[Position]] = {}
        self.loops: List[Tuple[Position, Position]] = []
        self._index(fn.body, nested=False)

    def _index(self, statements: Iterable[gast.AST], nested: bool) -> None:
        for node in statements:
            for n in gast.walk(node):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                    where = FAR if nested else (n.lineno, n.col_offset)
                    self.reads.setdefault(n.id, []).append(where)
                elif isinstance(n, (gast.For, gast.While)) and not nested:
                    self.loops.append(((n.lineno, n.col_offset), _end(n)))
                if isinstance(n, (gast.FunctionDef, gast.Lambda)) and n is not node:
                    body = n.body if isinstance(n.body, list) else [n.body]
                    self._index(body, nested=True)

    # ------------------------------------------------------------ bindings

    def bind(self, name: str, sources: Set[str]) -> None:
        """``name`` now holds a value computed from ``sources`` (see :meth:`sources`)."""
        for other in self.shares.pop(name, set()):
            self.shares.get(other, set()).discard(name)
        related = set(sources)
        for source in sources:
            related |= self.shares.get(source, set())
        related.discard(name)
        if related:
            self.shares[name] = related
            for other in related:
                self.shares.setdefault(other, set()).add(name)

    def sources(self, node: Optional[gast.AST]) -> Set[str]:
        """The names whose objects the value of expression ``node`` may hold or view."""
        if node is None:
            return set()
        if isinstance(node, gast.Name):
            return {node.id}
        if isinstance(node, (gast.Subscript, gast.Attribute, gast.Starred)):
            return self.sources(node.value)
        if isinstance(node, (gast.Tuple, gast.List)):
            return set().union(*map(self.sources, node.elts))
        if isinstance(node, gast.Dict):
            return set().union(*map(self.sources, node.values))
        if isinstance(node, gast.IfExp):
            return self.sources(node.body) | self.sources(node.orelse)
        if isinstance(node, gast.NamedExpr):
            return self.sources(node.value)
        if isinstance(node, gast.Call):
            return self._call_sources(node)
        return set()  # arithmetic, comparisons, constants: new objects

    def _call_sources(self, node: gast.Call) -> Set[str]:
        func = node.func
        name = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", "")
        arguments = list(node.args) + [kw.value for kw in node.keywords]
        found = set().union(*map(self.sources, arguments)) if arguments else set()
        if isinstance(func, gast.Attribute) and not self.is_library(node):
            found |= self.sources(func.value)  # a method: its receiver too
        if name in VIEW_NAMES or name in CONTAINER_BUILTINS or not self.is_library(node):
            return found
        return set()

    # ------------------------------------------------------------ writes

    def at_risk(self, name: str, write: Optional[gast.AST], bound: Set[str]) -> List[str]:
        """The names that may share ``name``'s object and are read after ``write``;
        with no ``write`` (a write inside an inlined body, whose reads are not indexed
        here), all of them: the check at run time decides."""
        candidates = self.shares.get(name, set()) & bound
        if write is None:
            return sorted(candidates)
        end = _end(write)
        loops = [(a, b) for a, b in self.loops if a <= (write.lineno, write.col_offset) <= b]
        start = min((a for a, _ in loops), default=None)

        def read_later(other: str) -> bool:
            reads = self.reads.get(other, ())
            return any(p > end or (start is not None and p >= start) for p in reads)

        return sorted(other for other in candidates if read_later(other))


def _end(node: gast.AST) -> Position:
    return (node.end_lineno, node.end_col_offset)
