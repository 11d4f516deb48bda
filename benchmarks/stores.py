"""Counting what a reverse sweep stores: ``list.append`` calls, seen by a profiler hook.

Used by ``run.py`` (values stored per loop iteration) and by the tests that
prove a loop stores one value per step.  Counts, not estimates or timings.
"""

from __future__ import annotations

import sys
from typing import Callable


def appends(fn: Callable, args: tuple) -> int:
    """How many times ``list.append`` runs during ``fn(*args)``.

    >>> appends(lambda n: [[].append(i) for i in range(n)], (3,))
    3
    """
    count = 0

    def hook(frame, event, arg):
        nonlocal count
        if event == "c_call" and getattr(arg, "__name__", "") == "append":
            count += isinstance(getattr(arg, "__self__", None), list)

    sys.setprofile(hook)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
    return count
