"""Library code is not user code: which functions s2s_ad transforms from their source.

A Python function the user wrote, called on varied values, is transformed too (inlined,
or differentiated on its own).  A function of an installed package or of the standard
library is not: its source is written for speed and generality (``*args`` wrappers, array-API
dispatch), not for s2s_ad, and transforming it fails deep inside the library.  Such a call
needs a rule (``ad.defvjp``); without one the transform refuses it at the user's call.

What counts as library code is decided by where the function's source lives: under a
``site-packages`` or ``dist-packages`` folder, or in the standard library of this Python.
A user may opt one library function in (:func:`make_transparent`, which ``ad.transparent``
calls): its source is then transformed like the user's own.

>>> import colorsys
>>> is_library_function(colorsys.rgb_to_yiq), is_library_function(is_library_function)
(True, False)
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import sysconfig
from typing import Any, Callable, Dict, Optional, Tuple

# Folders that hold installed packages, whatever the prefix.
PACKAGE_FOLDERS = ("site-packages", "dist-packages")

# Library functions a user opted in to be transformed as user code, by identity.
_TRANSPARENT: Dict[int, Callable] = {}


def make_transparent(fn: Callable) -> Callable:
    """Have calls of the library function ``fn`` transformed from its source, as user code.

    >>> import colorsys
    >>> make_transparent(colorsys.rgb_to_yiq) is colorsys.rgb_to_yiq
    True
    >>> is_library_function(colorsys.rgb_to_yiq)
    False
    >>> forget_transparent(colorsys.rgb_to_yiq)
    """
    if not inspect.isfunction(fn):
        raise TypeError(
            f"ad.transparent expects a Python function (whose source s2s_ad can read), got {fn!r}"
        )
    _TRANSPARENT[id(fn)] = fn
    return fn


def forget_transparent(fn: Callable) -> None:
    """Undo :func:`make_transparent` (for tests)."""
    _TRANSPARENT.pop(id(fn), None)


def is_transparent(fn: Any) -> bool:
    """Whether the user opted ``fn`` in to be transformed as user code."""
    return _TRANSPARENT.get(id(fn)) is fn


def is_library_function(fn: Any) -> bool:
    """Whether ``fn`` is a Python function of an installed package or of the standard library
    (and not opted in with ``ad.transparent``)."""
    function = fn.__func__ if inspect.ismethod(fn) else fn  # a bound method: its function
    if not inspect.isfunction(function) or is_transparent(fn):
        return False
    return is_library_file(function.__code__.co_filename)


def is_library_file(filename: str) -> bool:
    """Whether the source file ``filename`` belongs to an installed package or the standard
    library (rather than to the user's project).

    >>> is_library_file(os.__file__), is_library_file("/home/me/project/model.py")
    (True, False)
    """
    if not filename or filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    if any(folder in path.split(os.sep) for folder in PACKAGE_FOLDERS):
        return True
    return any(_is_within(path, root) for root in _standard_library_roots())


@functools.cache
def _standard_library_roots() -> Tuple[str, ...]:
    """The folders of this Python's standard library (its own and its base's)."""
    roots = set()
    for key in ("stdlib", "platstdlib"):
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
            path = sysconfig.get_path(key, vars={"installed_base": prefix, "base": prefix})
            if path:
                roots.add(os.path.realpath(path))
    return tuple(sorted(roots))


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def public_name(fn: Any) -> Optional[str]:
    """The dotted name of a library function from the deepest public module that has it
    (``scipy.special.logsumexp``, not ``scipy.special._logsumexp.logsumexp``), or None.

    >>> import colorsys
    >>> public_name(colorsys.rgb_to_yiq)
    'colorsys.rgb_to_yiq'
    """
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__name__", None)
    if not module or not name:
        return None
    parts = module.split(".")
    public = [p for p in range(1, len(parts) + 1) if not any(x.startswith("_") for x in parts[:p])]
    for length in reversed(public):
        prefix = ".".join(parts[:length])
        if getattr(sys.modules.get(prefix), name, None) is fn:
            return f"{prefix}.{name}"
    return None
