"""What a derivative was built from: the objects and kinds its free names denoted.

Emitted code is valid only while the free names of the user's function (and
of the user functions it calls), and the attributes it reads of modules
(``np.sin``, ``tools.helper``), denote what they denoted when it was built:
the same callables and modules, values of the same kind.  :class:`Dependencies`
records that once and re-checks it on every call of a derived function with
a few dict lookups; :attr:`Dependencies.key` is the same record as a cache key.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import types
import weakref
from typing import Any, Callable, Dict, List, Tuple

from ..rules import kind_of_value
from .calls import is_derived, is_user_function

_GLOBAL_LOADS = {"LOAD_GLOBAL", "LOAD_NAME"}
_NAME_LOADS = _GLOBAL_LOADS | {"LOAD_DEREF", "LOAD_CLASSDEREF"}
_ATTRIBUTE_LOADS = {"LOAD_ATTR", "LOAD_METHOD"}
_NOTHING: Dict[str, Any] = {}  # a module attribute has no builtins to fall back on
MISSING = object()  # a name bound to nothing (yet): compared by identity too


class _NoType:
    """The type no value has: objects are compared by identity alone."""


class Dependencies:
    """The free names of ``fn`` and of the user functions it reaches, and what they denote.

    >>> scale = 2.0
    >>> def f(x):
    ...     return x * scale
    >>> deps = Dependencies(f)
    >>> deps.hold()
    True
    >>> f.__globals__["scale"] = 3  # an int is a scalar too: the derivative stands
    >>> deps.hold()
    True
    >>> import numpy as np
    >>> f.__globals__["scale"] = np.ones(3)  # an array: the derivative must be rebuilt
    >>> deps.hold()
    False
    """

    def __init__(self, fn: Callable):
        # (globals, builtins, name, closure cell or None, what it denoted, and for a
        # kind the value's type, which decides its kind; for an object, _NoType)
        self._reads: List[Tuple[Dict[str, Any], Dict[str, Any], str, Any, Any, type]] = []
        self.keep_alive: List[Any] = []
        self._record(fn, set())
        # by id: kinds are enum members, and the objects are kept alive
        self.key = tuple(id(entry[4]) for entry in self._reads)

    def hold(self) -> bool:
        """Whether every name still denotes what it did (the per-call check)."""
        for namespace, fallback, name, cell, denoted, kind_type in self._reads:
            if cell is None:  # inlined _read: this runs on every call
                value = namespace.get(name, MISSING)
                if value is MISSING:
                    value = fallback.get(name, MISSING)
            else:
                value = _read(namespace, fallback, name, cell)
            if value is denoted or type(value) is kind_type:
                continue
            if _denotation(value) is not denoted:
                return False
        return True

    def _record(self, fn: Callable, seen: set) -> None:
        if not inspect.isfunction(fn) or id(fn) in seen:
            return
        seen.add(id(fn))
        if seen != {id(fn)}:  # a callee, inlined: its code can be replaced in place
            self._add(_Attributes(fn), _NOTHING, "__code__", None, seen)
        code = fn.__code__
        namespace = fn.__globals__
        found = namespace.get("__builtins__", builtins)
        fallback = found if isinstance(found, dict) else vars(found)
        names = [(name, cell) for name, cell in zip(code.co_freevars, fn.__closure__ or ())]
        global_names, attribute_reads = _names_read(code)
        names += [(name, None) for name in global_names]
        denoted = {name: self._add(namespace, fallback, name, cell, seen) for name, cell in names}
        for name, attribute in attribute_reads:  # tools.helper, np.sin
            module = denoted.get(name)
            if isinstance(module, types.ModuleType):
                self._add(vars(module), _NOTHING, attribute, None, seen)

    def _add(self, namespace, fallback, name: str, cell: Any, seen: set) -> Any:
        """Record one read; the value it reads now."""
        value = _read(namespace, fallback, name, cell)
        denoted = _denotation(value)
        if denoted is value:
            self.keep_alive.append(value)  # so that its identity stays unique
        kind_type = _NoType if denoted is value else type(value)
        self._reads.append((namespace, fallback, name, cell, denoted, kind_type))
        if is_user_function(value) and not is_derived(value):
            self._record(value, seen)  # a callee's own globals can change too
        return value


class _Attributes:
    """A function's attributes, read like a namespace (``__code__``)."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def get(self, name: str, default: Any) -> Any:
        return getattr(self.fn, name, default)


def _names_read(code: types.CodeType) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The global names ``code`` and the code nested in it (lambdas, comprehensions)
    read, and ``(name, attribute)`` for each ``name.attribute`` read from a global or
    closure name (``np.sin``), in order, once each.  Read once per code object: a long
    function has many instructions, and each derived function looks them up."""
    found = _NAMES_READ.get(code)
    if found is None:
        instructions = list(dis.get_instructions(code))
        names = [i.argval for i in instructions if i.opname in _GLOBAL_LOADS]
        pairs = [
            (load.argval, following.argval)
            for load, following in zip(instructions, instructions[1:])
            if load.opname in _NAME_LOADS and following.opname in _ATTRIBUTE_LOADS
        ]
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                nested_names, nested_pairs = _names_read(const)
                names += nested_names
                pairs += nested_pairs
        found = _NAMES_READ[code] = (list(dict.fromkeys(names)), list(dict.fromkeys(pairs)))
    return found


_NAMES_READ: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _read(namespace: Dict[str, Any], fallback: Dict[str, Any], name: str, cell: Any) -> Any:
    """What ``name`` denotes now: the closure cell's content, else global, else builtin."""
    if cell is not None:
        try:
            return cell.cell_contents
        except ValueError:  # an empty cell
            return MISSING
    value = namespace.get(name, MISSING)
    return fallback.get(name, MISSING) if value is MISSING else value


def _denotation(value: Any) -> Any:
    """Callables, modules and unbound names count by identity, other values by kind
    (a :class:`~s2s_ad.rules.Kind` member, so that ``is`` compares both)."""
    if value is MISSING or callable(value) or isinstance(value, (types.ModuleType, types.CodeType)):
        return value
    return kind_of_value(value)
