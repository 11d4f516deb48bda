"""Which names may share an object, so that writes through one of them are caught.

Item writes are values in the IR (``a = updated(a, i, v)``), and ``a += v`` rebinds
``a``.  Python instead writes into the object, and every other name holding it (or a
view of it) sees the change: ``v = m[1:]; v *= 3`` changes ``m``.  Where that can
matter -- a write through a name that may share its object with another name read
later -- the lowerer checks at run time that the two do not share memory
(:func:`s2s_ad.runtime.unshared`) and refuses with a clear error where they do.  A
float rebinds and never trips the check; a fresh array neither.

Where the name read later is the one the written name was taken from as a whole or by a
constant basic index (``b = m``, ``v = m[1:]``, ``v = pair[0]``: its *derivation*), or the
other way round, the write is made to both instead: :func:`s2s_ad.runtime.shares` tells at
run time whether ``v`` is exactly ``m[1:]`` (or the item ``pair[0]`` of a list or tuple;
it refuses where they share otherwise), and
:func:`~s2s_ad.runtime.synced` and :func:`~s2s_ad.runtime.resynced` give ``m`` and ``v``
their new values where it is.  Derivations are followed in program order (where two
paths meet, one that a path has and the other does not contradict stays); they only
name what to check at run time, so one that no longer holds makes ``shares`` refuse.

:class:`Sharing` follows the names of one function in program order: a name may share
with the names its value was computed from by indexing, attributes, views, containers,
plain copies and calls to user functions; arithmetic and library calls make new objects.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

import gast

from ..nested import IN_BLOCK, IN_BLOCK_DEF, WalkedNodes, item_written

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

    def __init__(
        self, fn: gast.FunctionDef, nodes: WalkedNodes, is_library: Callable[[gast.Call], bool]
    ):
        self.is_library = is_library  # whether a call's callee is library code (new objects)
        self.shares: Dict[str, Set[str]] = {}
        self.reads: Dict[str, List[Position]] = {}
        self.loops: List[Tuple[Position, Position]] = []
        # name -> (the name it was taken from, the constant index or None for all of it)
        self.derived: Dict[str, Tuple[str, Optional[gast.AST]]] = {}
        self.top_level = {id(node) for node in _top_level(fn.body)}
        self._index(fn, nodes)

    def _index(self, fn: gast.FunctionDef, nodes: WalkedNodes) -> None:
        """Where the body reads each name and where its loops stand.  The reads in the
        body of a function defined in it (but for its own ``def`` statements) happen at
        any time later: at :data:`FAR`."""
        statements = {id(stmt) for stmt in fn.body}
        for node in nodes.in_body():
            read = _read(node)
            if read is not None:
                self.reads.setdefault(read.id, []).append((read.lineno, read.col_offset))
            elif isinstance(node, (gast.For, gast.While)):
                self.loops.append(((node.lineno, node.col_offset), _end(node)))
            if isinstance(node, (gast.FunctionDef, gast.Lambda)) and id(node) not in statements:
                body = node.body if isinstance(node.body, list) else [node.body]
                for inner in gast.walk(gast.Module(body=body, type_ignores=[])):
                    read = _read(inner)
                    if read is not None:
                        self.reads.setdefault(read.id, []).append(FAR)

    # ------------------------------------------------------------ bindings

    def bind(self, name: str, sources: Set[str], value: Optional[gast.AST] = None) -> None:
        """``name`` now holds a value computed from ``sources`` (see :meth:`sources`); the
        expression ``value``, where given, may make it a view of another name."""
        self.derived = {k: d for k, d in self.derived.items() if name not in (k, d[0])}
        derivation = _derivation(value)
        if derivation is not None and derivation[0] != name:
            self.derived[name] = derivation
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

    def join(self, derived: Dict[str, Tuple[str, Optional[gast.AST]]]) -> None:
        """Where two paths meet (``derived`` the other path's derivations): a derivation
        either path has, unless the other has a different one for the same name.  A
        derivation only names the view a write is checked against at run time."""
        merged = {**derived, **self.derived}
        self.derived = {k: d for k, d in merged.items() if derived.get(k, d) == d}

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


def synced_in_control_flow(placed: Iterable[Tuple[gast.AST, int]]) -> Set[str]:
    """The names a write inside a branch or a loop may keep in step with the name written
    (``v = m[1:]`` before a loop whose body does ``v *= s``: ``m`` and ``v``), which must be
    variables, not values; from the nodes of a function and where they stand
    (:func:`~s2s_ad.compiler.nested.own_nodes_placed`).

    >>> from s2s_ad.compiler.nested import own_nodes_placed
    >>> tree = gast.parse("def f(m, s):\\n    v = m[1:]\\n    for i in s:\\n        v *= i")
    >>> sorted(synced_in_control_flow(own_nodes_placed(tree.body[0])))
    ['m', 'v']
    """
    written: Set[str] = set()
    pairs: List[Set[str]] = []
    for node, place in placed:
        if place & IN_BLOCK:
            if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                written.add(node.target.id)
            root = item_written(node)
            if root is not None:
                written.add(root)
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and not place & IN_BLOCK_DEF:
            target, derivation = node.targets[0], _derivation(node.value)
            if isinstance(target, gast.Name) and derivation is not None:
                pairs.append({target.id, derivation[0]})
    names: Set[str] = set()
    for pair in pairs:
        if pair & written:
            names |= pair
    return names


def _derivation(value: Optional[gast.AST]) -> Optional[Tuple[str, Optional[gast.AST]]]:
    """``("m", None)`` for ``m``, ``("m", index)`` for ``m[index]`` with a constant basic
    index; None for anything else."""
    if isinstance(value, gast.Name):
        return value.id, None
    if (
        isinstance(value, gast.Subscript)
        and isinstance(value.value, gast.Name)
        and _constant_basic(value.slice)
    ):
        return value.value.id, value.slice
    return None


def _constant_basic(index: Optional[gast.AST]) -> bool:
    """Whether ``index`` is built from ints, None, ``...`` and slices of ints alone."""
    if index is None:
        return True
    if isinstance(index, gast.Constant):
        value = index.value
        return value is None or value is Ellipsis or type(value) is int
    if isinstance(index, gast.UnaryOp) and isinstance(index.op, gast.USub):
        return isinstance(index.operand, gast.Constant) and type(index.operand.value) is int
    if isinstance(index, gast.Slice):
        return all(_constant_basic(part) for part in (index.lower, index.upper, index.step))
    if isinstance(index, gast.Tuple):
        return all(_constant_basic(e) for e in index.elts)
    return False


def _top_level(statements: Iterable[gast.AST]) -> Iterable[gast.AST]:
    """The statements outside every branch and loop (``with`` blocks are transparent)."""
    for node in statements:
        yield node
        if isinstance(node, gast.With):
            yield from _top_level(node.body)


def _read(node: gast.AST) -> Optional[gast.Name]:
    """The name ``node`` reads: a loaded name, or the target of ``v *= s``; else None."""
    if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
        return node
    if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
        return node.target
    return None


def _end(node: gast.AST) -> Position:
    return (node.end_lineno, node.end_col_offset)
