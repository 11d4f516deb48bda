"""The lines above an emitted function that make its text run as printed.

The compiled code runs in the user's module globals, with our helpers bound
as free variables; a reader who pastes the printed text into a file of its
own has neither.  So the text starts with a binding for every name it reads
from outside: an import of each module, runtime helper and user function
(``import numpy as np``, ``from s2s_ad.runtime import unbroadcast``,
``from least_squares import fit``), and, for a call into another user
function's derivative, a short ``def`` that asks the public API for it::

    def fit_vjp(X, y, lam):
        return s2s_ad.vjp(fit, X, y, lam, wrt=('X', 'y', 'lam'))

A user's module is imported by the name ``import`` finds it under next to its
file: a script (``__main__``) or a file loaded by path under another name
(``s2s-ad PATH.py:FUNC`` does that) by its file's stem.  What has no import
(a lambda passed as a value, an object of the user's closure) stays a comment.
"""

from __future__ import annotations

import ast
import inspect
import os
import symtable
import sys
import types
from typing import Any, Dict, List, Mapping, Optional, Set

import numpy as np

from .calls import Callee
from .closed_calls import closed_derivative_of
from .parse import NOT_FOUND, Resolver
from .spec import COTANGENTS, JVP, SERIES, VJP


def header_lines(def_text: str, helpers: Mapping[str, Any], resolver: Resolver) -> List[str]:
    """The imports and definitions ``def_text`` needs to run on its own.

    ``helpers`` are the objects emit binds by name; every other name the text
    reads is looked up as the user's function would (closure, globals, builtins).

    >>> import math
    >>> def f(x):
    ...     return math.sin(x)
    >>> header_lines("def g(x):\\n    return math.cos(x) * x", {}, Resolver(f))
    ['import math']
    """
    header = _Header(resolver)
    for name in sorted(free_names(def_text)):
        value = helpers[name] if name in helpers else _user_binding(resolver, name)
        if value is not NOT_FOUND:
            header.bind(name, value)
    return header.lines()


def free_names(text: str) -> Set[str]:
    """The names the functions defined in ``text`` read from the module or the builtins.

    >>> sorted(free_names("def f(x):\\n    y = np.sin(x)\\n    return y + c"))
    ['c', 'np']
    """
    names: Set[str] = set()
    tables = symtable.symtable(text, "<emitted>", "exec").get_children()
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        names.update(s.get_name() for s in table.get_symbols() if s.is_global())
    return names


def importable_name(module_name: str, file: Optional[str]) -> str:
    """The name ``import`` finds a module under when its file's directory is on sys.path.

    A script runs as ``__main__`` and ``s2s-ad`` loads a file under a private name;
    both are imported by the stem of their file.

    >>> importable_name("__main__", "/home/me/fit.py"), importable_name("numpy.linalg", None)
    ('fit', 'numpy.linalg')
    """
    if file and "." not in module_name:
        stem = os.path.splitext(os.path.basename(file))[0]
        if stem.isidentifier() and stem != "__init__":
            return stem
    return module_name


def _user_binding(resolver: Resolver, name: str) -> Any:
    """What ``name`` denotes in the user's function; builtins need no binding."""
    if name not in resolver.cells and name not in resolver.globals:
        return NOT_FOUND
    return resolver.lookup(name)


class _Header:
    """Collects the bindings of one text, grouped the way a reader expects them."""

    def __init__(self, resolver: Resolver):
        self.resolver = resolver
        user_globals = resolver.globals
        self.user_module = importable_name(
            user_globals.get("__name__", "__main__"), user_globals.get("__file__")
        )
        self.imports: Set[str] = set()
        self.from_imports: Dict[str, Set[str]] = {}
        self.assignments: List[str] = []
        self.comments: List[str] = []
        self.definitions: List[List[str]] = []

    def lines(self) -> List[str]:
        lines = sorted(self.imports)
        for module in sorted(self.from_imports):
            lines.append(f"from {module} import {', '.join(sorted(self.from_imports[module]))}")
        lines += self.assignments + self.comments
        for definition in self.definitions:
            lines += [""] + definition
        return lines

    def bind(self, name: str, value: Any) -> None:
        """Add the line that binds ``name`` to ``value`` as the emitted code sees it."""
        if isinstance(value, types.ModuleType):
            module = importable_name(value.__name__, getattr(value, "__file__", None))
            self.imports.add(f"import {module}" + ("" if name == module else f" as {name}"))
        elif isinstance(value, Callee) and value.mode != SERIES:  # no public API for series
            self.callee(name, value, value.fn, value.mode, tuple(value.wrt))
        elif closed_derivative_of(value) is not None:
            closed = closed_derivative_of(value)
            self.callee(name, value, closed.fn, closed.mode, closed.wrt, closed.added)
        elif not self.import_(name, value):
            self.unimportable(name, value)

    def import_(self, name: str, value: Any) -> bool:
        """``from module import value``, where it lives or from the user's module."""
        own_name = getattr(value, "__name__", None)
        module = home_module(value)
        if isinstance(own_name, str) and getattr(module, own_name, None) is value:
            where = importable_name(module.__name__, getattr(module, "__file__", None))
        elif name not in self.resolver.cells and self.resolver.globals.get(name) is value:
            where, own_name = self.user_module, name
        else:
            return False
        suffix = "" if own_name == name else f" as {name}"
        self.from_imports.setdefault(where, set()).add(own_name + suffix)
        return True

    def unimportable(self, name: str, value: Any) -> None:
        if _is_literal(value):
            self.assignments.append(f"{name} = {value!r}")
        elif isinstance(value, types.FunctionType):  # a local function passed on
            code = value.__code__
            where = f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}"
            self.comments.append(f"# {name} = {value.__qualname__} ({where})  (bound by s2s_ad)")
        else:
            self.comments.append(f"# {name} = {value!r}  (bound by s2s_ad)")

    def callee(
        self, name: str, value: Any, fn: Any, mode: str, wrt: tuple, added: tuple = ()
    ) -> None:
        """``def g_vjp(...)`` calling ``s2s_ad.vjp``, or ``g_jvp`` calling ``s2s_ad.jvp``;
        ``added``: the keyword-only parameters of a function of ``closed_calls.py``
        (``g_cotangents(..., *, seed)`` is ``s2s_ad.vjp(...)[1](seed)``)."""
        params = _plain_parameters(fn)
        fn_name = self.user_name(fn) if params is not None else None
        api = self.s2s_ad_name() if fn_name is not None else None
        if api is None or fn_name in params or api in params:  # a parameter would hide them
            self.unimportable(name, value)
            return
        names = list(params)
        keyword_only = [inspect.Parameter(a, inspect.Parameter.KEYWORD_ONLY) for a in added]
        signature = inspect.Signature(list(params.values()) + keyword_only)
        if mode in (VJP, COTANGENTS):
            doc = f"{fn_name}'s value and pullback"
            args = ", ".join([fn_name] + names + [f"wrt={wrt!r}"])
            call = f"{api}.vjp({args})"
            if mode == COTANGENTS:
                doc = f"{fn_name}'s cotangents"
                call += f"[1]({added[0]})"
            mode = VJP
        else:
            tangents = "tangents"
            while tangents in names:
                tangents += "_"
            if added:
                slots = [added[wrt.index(n)] if n in wrt else "None" for n in names]
            else:
                signature = inspect.Signature([_tangents(tangents, params), *params.values()])
                slots = [f"{tangents}[{wrt.index(n)}]" if n in wrt else "None" for n in names]
            doc = f"{fn_name}'s value and tangent"
            call = f"{api}.jvp({fn_name}, {_tuple(names)}, {_tuple(slots)})"
            mode = JVP
        shows = f"{api}.source({fn_name}, mode={str(mode)!r}, wrt={wrt!r})"
        self.definitions.append(
            [
                f"def {name}{signature}:",
                f'    """{doc}; {shows} shows its code."""',
                f"    return {call}",
            ]
        )

    def user_name(self, fn: Any) -> Optional[str]:
        """A name the header can import ``fn`` under, imported; None if there is none."""
        names = [fn.__name__] + list(self.resolver.globals)
        for name in names:
            if self.resolver.globals.get(name) is fn and name.isidentifier():
                if self.import_(name, fn):
                    return name
        return None

    def s2s_ad_name(self) -> str:
        """The user's name for the s2s_ad package (``ad``), or ``s2s_ad``, imported."""
        package = sys.modules["s2s_ad"]
        name = next(
            (n for n, v in self.resolver.globals.items() if v is package and n.isidentifier()),
            "s2s_ad",
        )
        self.bind(name, package)
        return name


def _plain_parameters(fn: Any) -> Optional[Mapping[str, inspect.Parameter]]:
    """``fn``'s parameters without annotations, or None if a call cannot pass them all.

    ``s2s_ad.vjp`` and ``s2s_ad.jvp`` take every parameter by position, so
    ``*args``, ``**kwargs`` and defaults that are not literals cannot be written.
    """
    try:
        params = inspect.signature(fn, follow_wrapped=False).parameters
    except (TypeError, ValueError):
        return None
    plain = {}
    for name, p in params.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            return None
        if p.default is not p.empty and not _is_literal(p.default):
            return None
        plain[name] = p.replace(annotation=p.empty)
    return plain


def _tangents(name: str, params: Mapping[str, inspect.Parameter]) -> inspect.Parameter:
    """The first parameter of a ``g_jvp``: positional-only if ``g``'s first one is."""
    first = next(iter(params.values()), None)
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    if first is not None and first.kind is first.POSITIONAL_ONLY:
        kind = first.POSITIONAL_ONLY
    return inspect.Parameter(name, kind)


def _tuple(items: List[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _is_literal(value: Any) -> bool:
    """Whether ``repr(value)`` reads back as an equal value of the same type."""
    if isinstance(value, (types.FunctionType, types.ModuleType)):
        return False
    try:
        again = ast.literal_eval(repr(value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return type(again) is type(value) and again == value


def home_module(obj: Any) -> Optional[types.ModuleType]:
    """The loaded module ``obj.__module__`` names; NumPy's ufuncs, which have no
    ``__module__`` before NumPy 2.1, live in ``numpy``.

    >>> import numpy as np
    >>> home_module(np.cos).__name__, home_module(np.linalg.solve).__name__
    ('numpy', 'numpy.linalg')
    """
    module_name = getattr(obj, "__module__", None)
    if module_name is None and isinstance(obj, np.ufunc):
        module_name = "numpy"
    return sys.modules.get(module_name or "")
