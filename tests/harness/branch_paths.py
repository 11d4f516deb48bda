"""The path a program takes through its branches, so that finite differences stay on one side.

Generated programs are piecewise smooth: a finite-difference stencil that straddles a
branch boundary measures a jump, not a derivative.  ``path_recording(source)`` runs an
instrumented copy of the module's ``f`` (every ``if``, ``while`` and conditional-expression
test, every ``abs`` and ``int`` call recorded; helpers in the same module too) and
``path_differences`` takes central differences only where every stencil point took the
same path and two step sizes agree.

Shared by ``tests/programs/test_random_control.py`` and the differential fuzzer
(``differential.py``).  Plain helpers only: pytest does not collect this module.
"""

from __future__ import annotations

import ast
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from conftest import STEP_SCALE, central_difference


class _RecordDecisions(ast.NodeTransformer):
    """Wraps branch tests, `abs` and `int` so that a run records the path it took."""

    def _wrap(self, recorder, node):
        return ast.Call(ast.Name(recorder, ast.Load()), [node], [])

    def visit_If(self, node):
        self.generic_visit(node)
        node.test = self._wrap("_branch", node.test)
        return node

    visit_While = visit_IfExp = visit_If

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in ("abs", "int"):
            node.func = ast.Name(f"_record_{node.func.id}", ast.Load())
        return node


def path_recording(source: str, name: str = "f") -> Callable[..., Tuple[Any, tuple]]:
    """Function ``name`` from module ``source``, instrumented: returns ``(value, decisions)``.

    >>> run = path_recording("def f(x):\\n    if x > 0:\\n        return x\\n    return -x\\n")
    >>> run(2.0), run(-3.0)
    ((2.0, (True,)), (3.0, (False,)))
    """
    path = []

    def branch(test):
        path.append(bool(test))
        return test

    def record_abs(value):
        path.append(tuple(np.sign(value).ravel()))
        return abs(value)

    def record_int(value):
        path.append(int(value))
        return int(value)

    tree = _RecordDecisions().visit(ast.parse(source))
    namespace = {"_branch": branch, "_record_abs": record_abs, "_record_int": record_int}
    exec(compile(ast.fix_missing_locations(tree), "<instrumented>", "exec"), namespace)

    def run(*args):
        path.clear()
        value = namespace[name](*args)
        return value, tuple(path)

    return run


def path_differences(
    source: str, args: Sequence[Any], positions: Sequence[int]
) -> Tuple[Optional[List[Any]], str]:
    """Central differences of ``f`` by ``args[p]`` for each ``p`` in ``positions``, or None.

    Returns ``(gradients, "")``, or ``(None, why)`` when the differences say nothing about
    the derivative: a stencil point took another path through the program than ``args``
    did, or the differences at two step sizes disagree (a kink or a steep spot within a
    step).  ``f`` must return a scalar; it gets fresh copies of array arguments.

    >>> source = "def f(x):\\n    if x > 1.0:\\n        return 3 * x\\n    return x * x\\n"
    >>> round(path_differences(source, [0.5], [0])[0][0], 6)
    1.0
    >>> path_differences(source, [1.0], [0])
    (None, 'a step crosses a branch')
    """
    run = path_recording(source)
    paths = {run(*_copies(args))[1]}

    def value(*point):
        result, path = run(*_copies(point))
        paths.add(path)
        return result

    coarse = [central_difference(value, args, i) for i in positions]
    fine = [central_difference(value, args, i, STEP_SCALE / 10) for i in positions]
    if len(paths) > 1:
        return None, "a step crosses a branch"
    for c, d in zip(coarse, fine):
        if not np.allclose(c, d, rtol=1e-6, atol=1e-6):
            return None, "step sizes disagree"
    return coarse, ""


def hvp_differences(
    source: str,
    gradient: Callable[..., Any],
    args: Sequence[Any],
    direction: Sequence[Any],
    rtol: float = 1e-5,
) -> Tuple[Optional[np.ndarray], str]:
    """Central differences of ``gradient`` (flattened) along ``direction``, or None.

    The Hessian-vector product an ``hvp`` must match: ``(g(a + h v) - g(a - h v)) / 2h``
    with ``h = 1e-5``.  Returns ``(None, why)`` when a step takes another path through
    ``f`` of ``source`` than ``args`` do, or when ``h / 10`` gives another answer (the
    gradient bends within a step: a loop compounding a value).  ``direction`` has an item
    per argument (0.0 for one that stays).

    >>> source = "def f(x):\\n    return x ** 3\\n"
    >>> gradient = lambda x: 3 * x * x
    >>> round(float(hvp_differences(source, gradient, [2.0], [1.0])[0][0]), 6)
    12.0
    """
    run = path_recording(source)
    path = run(*_copies(args))[1]

    def difference(h: float) -> Optional[np.ndarray]:
        sides = []
        for sign in (1.0, -1.0):
            point = [_stepped(a, sign * h, d) for a, d in zip(args, direction)]
            if run(*_copies(point))[1] != path:
                return None
            sides.append(_flat(gradient(*_copies(point))))
        return (sides[0] - sides[1]) / (2 * h)

    coarse, fine = difference(1e-5), difference(1e-6)
    if coarse is None or fine is None:
        return None, "an hvp step crosses a branch"
    scale = max(1.0, float(np.max(np.abs(coarse), initial=0.0)))
    if not np.allclose(fine, coarse, rtol=rtol, atol=1e-6 * scale):
        return None, "hvp step sizes disagree"
    return coarse, ""


def _stepped(value: Any, step: float, direction: Any) -> Any:
    """``value + step * direction``; an argument that stays (an int count) is kept as is."""
    if isinstance(value, np.ndarray):
        return value + step * direction
    return value if not np.any(direction) else float(value + step * direction)


def _flat(value: Any) -> np.ndarray:
    """A gradient (a number, an array, or a tuple of them) as one flat float vector."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    return np.concatenate([np.ravel(np.asarray(item, dtype=float)) for item in items])


def _copies(args: Sequence[Any]) -> List[Any]:
    """``args`` with arrays copied: a program may write into its arguments."""
    return [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
