"""The oracle shared by the control-flow tests (issue 3).

``check_derivatives(mode, f, args, ...)`` is the body of every derivative
test in ``test_control_flow.py``, ``test_assignments.py``, ``test_calls.py``
and ``test_containers.py``.  It runs ``f`` in plain Python, builds the full
Jacobian of each differentiated argument by central differences in float64
(``conftest.central_difference``, one output component at a time), and then,
depending on ``mode``:

* ``"reverse"``: ``ad.grad`` (tuple ``wrt`` and, for one argument, bare
  ``wrt``), ``ad.value_and_grad`` (its value must equal ``f(*args)``) and
  ``ad.vjp`` with the pullback called twice, all against the oracle;
* ``"forward"``: ``ad.jvp`` along every unit direction of every
  differentiated argument (one Jacobian column each), plus one random
  direction over all of them at once, against the oracle;
* ``"forward_vs_reverse"``: the Jacobian from ``jvp`` columns equals the one
  from ``vjp`` rows to rounding.

Arguments and results may be floats, NumPy arrays, or lists, tuples and
dicts nesting them; a gradient must have the structure of its argument
(tuple stays tuple, list stays list, dict keeps its keys, arrays keep shape
and dtype).  Every call gets fresh copies of the arguments, and afterwards
each argument must hold either its original value or what ``f`` itself
leaves in it (a function may write into an argument array; the derivative
code may do the same, or leave it alone, but nothing else).

Plain helpers only: pytest does not collect this module.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference

MODES = ("reverse", "forward", "forward_vs_reverse")

FD_RTOL = 1e-6  # ours against central differences
FD_ATOL = 1e-7  # times max(1, |f|, |reference|)
EXACT_RTOL = 1e-9  # ours against an analytic formula
AGREE_RTOL = 1e-10  # forward columns against reverse rows


# ---------------------------------------------------------------- pytrees


def is_leaf(value: Any) -> bool:
    return isinstance(value, (float, int, np.generic, np.ndarray)) and not isinstance(value, bool)


def leaves(tree: Any) -> List[Any]:
    """The leaves of ``tree`` in a fixed order (dicts by the order of their keys)."""
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in leaves(item)]
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in leaves(tree[key])]
    assert is_leaf(tree), f"not a float, array or container of them: {tree!r}"
    return [tree]


def flatten(tree: Any) -> np.ndarray:
    """All leaves of ``tree`` as one float64 vector."""
    parts = [np.asarray(leaf, dtype=np.float64).ravel() for leaf in leaves(tree)]
    return np.concatenate(parts) if parts else np.zeros(0)


def unflatten(template: Any, vector: np.ndarray, dtype: Any = None) -> Any:
    """A tree shaped like ``template`` holding ``vector``'s entries.

    Python numbers become Python floats, NumPy scalars keep their type, arrays
    keep their shape and (unless ``dtype`` is given) their float dtype.
    """
    vector = np.asarray(vector, dtype=np.float64)
    position = [0]

    def build(node: Any) -> Any:
        if isinstance(node, tuple):
            return tuple(build(item) for item in node)
        if isinstance(node, list):
            return [build(item) for item in node]
        if isinstance(node, dict):
            return {key: build(node[key]) for key in node}
        size = int(np.size(node))
        chunk = vector[position[0] : position[0] + size]
        position[0] += size
        if isinstance(node, np.ndarray):
            kind_dtype = node.dtype if node.dtype.kind == "f" else np.float64
            return chunk.reshape(node.shape).astype(dtype or kind_dtype)
        if isinstance(node, np.floating) and dtype is None:
            return type(node)(chunk[0])
        return float(chunk[0])

    result = build(template)
    assert position[0] == vector.size
    return result


def tree_equal(a: Any, b: Any) -> bool:
    """Exact equality of two trees (same containers, same leaves bit for bit)."""
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(tree_equal, a, b))
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(tree_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and np.array_equal(a, b)
    return a == b


def assert_structure(value: Any, template: Any, what: str) -> None:
    """``value`` has the containers, shapes and float dtypes of ``template``."""
    if isinstance(template, (tuple, list, dict)):
        assert type(value) is type(template), (
            f"{what}: a {type(value).__name__}, expected a {type(template).__name__}: {value!r}"
        )
        if isinstance(template, dict):
            assert set(value) == set(template), (
                f"{what}: keys {set(value)}, expected {set(template)}"
            )
            for key in template:
                assert_structure(value[key], template[key], f"{what}[{key!r}]")
        else:
            assert len(value) == len(template), f"{what}: length {len(value)} != {len(template)}"
            for i, (v, t) in enumerate(zip(value, template)):
                assert_structure(v, t, f"{what}[{i}]")
    elif isinstance(template, np.ndarray):
        assert isinstance(value, np.ndarray), f"{what}: a {type(value).__name__}, expected an array"
        assert value.shape == template.shape, f"{what}: shape {value.shape} != {template.shape}"
        expected_dtype = template.dtype if template.dtype.kind == "f" else np.dtype(np.float64)
        assert value.dtype == expected_dtype, f"{what}: dtype {value.dtype} != {expected_dtype}"
    elif isinstance(template, np.generic):
        # A NumPy scalar: a NumPy scalar or a 0-d array of a float dtype.
        assert isinstance(value, (np.floating, np.ndarray)) and np.ndim(value) == 0, (
            f"{what}: a {type(value).__name__}, expected a NumPy float scalar: {value!r}"
        )
        assert np.asarray(value).dtype.kind == "f", f"{what}: dtype {np.asarray(value).dtype}"
    else:
        # A Python float argument gets a float gradient (np.float64 is one too).
        assert isinstance(value, (float, np.floating)) and not isinstance(value, bool), (
            f"{what}: a {type(value).__name__}, expected a float: {value!r}"
        )


def fresh(args: Sequence[Any]) -> List[Any]:
    return copy.deepcopy(list(args))


def like(tree: Any, rng: np.random.Generator) -> Any:
    """A random tree shaped like ``tree`` (a tangent or a cotangent)."""
    return unflatten(tree, rng.standard_normal(flatten(tree).size))


def unit(tree: Any, k: int) -> Any:
    """The ``k``-th unit direction in the space of ``tree``."""
    vector = np.zeros(flatten(tree).size)
    vector[k] = 1.0
    return unflatten(tree, vector)


# ----------------------------------------------------------------- oracle


def positions_of(f: Callable, args: Sequence[Any], wrt: Any) -> List[int]:
    """Argument positions named by ``wrt`` (None: every argument whose leaves are all floats)."""
    if wrt is None:
        return [
            i
            for i, a in enumerate(args)
            if leaves(a)
            and all(
                isinstance(x, (float, np.floating))
                or (isinstance(x, np.ndarray) and x.dtype.kind == "f")
                for x in leaves(a)
            )
        ]
    names = list(inspect.signature(f).parameters)
    items = wrt if isinstance(wrt, tuple) else (wrt,)
    return [names.index(w) if isinstance(w, str) else w % len(args) for w in items]


def fd_jacobian(f: Callable, args: Sequence[Any], p: int) -> np.ndarray:
    """d flatten(f(args)) / d flatten(args[p]) by central differences in float64."""
    base = flatten(args[p])
    n_out = flatten(f(*fresh(args))).size
    jacobian = np.empty((n_out, base.size))
    for i in range(n_out):

        def component(vector: np.ndarray, i: int = i) -> float:
            call = fresh(args)
            call[p] = unflatten(args[p], vector, dtype=np.float64)
            return float(flatten(f(*call))[i])

        jacobian[i] = central_difference(component, [base], 0)
    return jacobian


def assert_close(ours: np.ndarray, reference: np.ndarray, exact: bool, scale: float, what: str):
    ours = np.asarray(ours, dtype=np.float64)
    assert ours.shape == reference.shape, f"{what}: {ours.shape} values, expected {reference.shape}"
    if exact:
        rtol, atol = EXACT_RTOL, 1e-12 * scale
    else:
        rtol, atol = FD_RTOL, FD_ATOL * scale
    np.testing.assert_allclose(ours, reference, rtol=rtol, atol=atol, err_msg=what)


class Oracle:
    """``f`` at ``args`` in plain Python: its value, its effect on the arguments, its Jacobians.

    With ``strict_arguments`` (a subclass's choice) every transform must leave the caller's
    arguments exactly as they were, even where ``f`` itself writes into them.
    """

    strict_arguments = False

    def __init__(self, f, args, wrt=None, expected=None, fd=True):
        assert fd or expected is not None, "a test needs an oracle"
        self.f = f
        self.args = fresh(args)
        self.positions = positions_of(f, self.args, wrt)
        assert self.positions, "nothing to differentiate"
        self.wrt = wrt if wrt is not None else tuple(self.positions)
        self.wrt_tuple = self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)
        self.after = fresh(self.args)
        self.value = f(*self.after)  # self.after: the arguments as f leaves them
        self.scalar = is_leaf(self.value) and np.ndim(self.value) == 0
        self.n_out = flatten(self.value).size
        values = flatten(self.value)
        self.scale = max(1.0, float(np.max(np.abs(values))) if values.size else 1.0)
        self.exact = expected is not None
        self.jacobians: Dict[int, np.ndarray] = {}
        for j, p in enumerate(self.positions):
            n_in = flatten(self.args[p]).size
            analytic = None
            if expected is not None:
                item = expected[j]
                analytic = (
                    flatten(item).reshape(1, n_in)
                    if self.scalar
                    else np.asarray(item, dtype=float).reshape(self.n_out, n_in)
                )
            if fd:
                numeric = self.numeric_jacobian(p)
                if analytic is not None:  # the test's own formula is checked first
                    np.testing.assert_allclose(
                        analytic,
                        numeric,
                        rtol=1e-5,
                        atol=1e-6 * self.scale,
                        err_msg=f"TEST BUG: analytic derivative (argument {p}) != differences",
                    )
            self.jacobians[p] = analytic if analytic is not None else numeric
            self.scale = max(self.scale, float(np.max(np.abs(self.jacobians[p]), initial=0.0)))

    def numeric_jacobian(self, p: int) -> np.ndarray:
        """The oracle's Jacobian by argument ``p`` (central differences; a subclass may
        choose the points)."""
        return fd_jacobian(self.f, self.args, p)

    def check_value(self, out: Any, what: str) -> None:
        if not self.scalar:
            assert_structure(out, self.value, what)
        np.testing.assert_allclose(
            flatten(out), flatten(self.value), rtol=1e-12, atol=1e-14, err_msg=f"{what} != f(*args)"
        )

    def check_arguments(self, call_args: Sequence[Any], what: str) -> None:
        """After a call, each argument is untouched or as ``f`` itself leaves it (untouched
        only, with ``strict_arguments``)."""
        for i, (now, before, after) in enumerate(zip(call_args, self.args, self.after)):
            if self.strict_arguments:
                assert tree_equal(now, before), (
                    f"{what} changed the caller's argument {i}\n{before!r} became {now!r}"
                )
            assert tree_equal(now, before) or tree_equal(now, after), (
                f"{what} left argument {i} as {now!r}; the original leaves {after!r}, "
                f"and untouched it is {before!r}"
            )

    def check_gradient(self, ours: Any, p: int, row: np.ndarray, what: str) -> None:
        """``ours`` is the cotangent of argument ``p`` for the output cotangent ``row``."""
        assert_structure(ours, self.args[p], what)
        assert_close(flatten(ours), row @ self.jacobians[p], self.exact, self.scale, what)

    # -------------------------------------------------------------- modes

    def reverse(self) -> None:
        if self.scalar:
            call = fresh(self.args)
            grads = ad.grad(self.f, wrt=self.wrt_tuple)(*call)
            self.check_arguments(call, "grad")
            assert isinstance(grads, tuple) and len(grads) == len(self.positions), grads
            for p, g in zip(self.positions, grads):
                self.check_gradient(g, p, np.ones(1), f"grad wrt argument {p}")
            if len(self.wrt_tuple) == 1:
                call = fresh(self.args)
                single = ad.grad(self.f, wrt=self.wrt_tuple[0])(*call)
                self.check_gradient(single, self.positions[0], np.ones(1), "grad with a single wrt")
            call = fresh(self.args)
            value, grads = ad.value_and_grad(self.f, wrt=self.wrt_tuple)(*call)
            self.check_arguments(call, "value_and_grad")
            self.check_value(value, "value_and_grad's value")
            assert isinstance(grads, tuple) and len(grads) == len(self.positions), grads
            for p, g in zip(self.positions, grads):
                self.check_gradient(g, p, np.ones(1), f"value_and_grad wrt argument {p}")
        call = fresh(self.args)
        out, pullback = ad.vjp(self.f, *call, wrt=self.wrt_tuple)
        self.check_value(out, "vjp's output")
        rng = np.random.default_rng(self.n_out)
        first = unit(self.value, 0) if self.scalar else like(self.value, rng)
        second = (
            unflatten(self.value, -2.5 * flatten(first)) if self.scalar else like(self.value, rng)
        )
        for k, cotangent in enumerate((first, second, first)):
            result = pullback(cotangent)
            assert isinstance(result, tuple) and len(result) == len(self.positions), result
            for p, g in zip(self.positions, result):
                self.check_gradient(
                    g, p, flatten(cotangent), f"pullback call {k + 1}, argument {p}"
                )
        self.check_arguments(call, "vjp and its pullback")

    def jvp(self, tangents: Dict[int, Any], what: str) -> np.ndarray:
        call = fresh(self.args)
        full = [tangents.get(i) for i in range(len(call))]
        out, tangent = ad.jvp(self.f, tuple(call), tuple(full))
        self.check_arguments(call, what)
        self.check_value(out, f"{what}: output")
        if self.scalar:
            assert np.ndim(tangent) == 0, f"{what}: tangent {tangent!r} of a scalar output"
        else:
            assert_structure(tangent, self.value, f"{what}: tangent")
        return flatten(tangent)

    def forward(self) -> None:
        for p in self.positions:
            for k in range(flatten(self.args[p]).size):
                what = f"jvp along argument {p}, entry {k}"
                column = self.jvp({p: unit(self.args[p], k)}, what)
                assert_close(column, self.jacobians[p][:, k], self.exact, self.scale, what)
        rng = np.random.default_rng(7)
        tangents = {p: like(self.args[p], rng) for p in self.positions}
        expected = sum(self.jacobians[p] @ flatten(t) for p, t in tangents.items())
        ours = self.jvp(tangents, "jvp along all arguments at once")
        assert_close(ours, expected, self.exact, self.scale, "jvp along all arguments at once")

    def forward_vs_reverse(self) -> None:
        _, pullback = ad.vjp(self.f, *fresh(self.args), wrt=self.wrt_tuple)
        rows = [pullback(unit(self.value, i)) for i in range(self.n_out)]
        for j, p in enumerate(self.positions):
            reverse = np.array([flatten(r[j]) for r in rows])
            forward = np.array(
                [
                    self.jvp({p: unit(self.args[p], k)}, "jvp")
                    for k in range(flatten(self.args[p]).size)
                ]
            ).T
            np.testing.assert_allclose(
                forward,
                reverse,
                rtol=AGREE_RTOL,
                atol=1e-12 * self.scale,
                err_msg=f"forward columns != reverse rows for argument {p}",
            )


def check_derivatives(
    mode: str,
    f: Callable,
    args: Sequence[Any],
    wrt: Any = None,
    expected: Optional[Sequence[Any]] = None,
    fd: bool = True,
) -> None:
    """Check ``f``'s derivatives at ``args`` in ``mode`` (one of `MODES`).

    ``wrt``: positions or names as for ``ad.grad`` (None: every float argument).
    ``expected``: analytic derivatives (or a function of ``*args`` returning
    them), one per differentiated argument: the gradient (shaped like the
    argument) for a scalar ``f``, otherwise the Jacobian of the flattened
    output by the flattened argument.  With
    ``fd=False`` (a deliberate kink) only ``expected`` is the oracle.
    """
    assert mode in MODES, mode
    if callable(expected):
        expected = expected(*args)
    oracle = Oracle(f, args, wrt=wrt, expected=expected, fd=fd)
    getattr(oracle, mode)()


def check_all_modes(f: Callable, args: Sequence[Any], **options: Any) -> None:
    """`check_derivatives` in every mode, for checks outside a parametrized test."""
    if callable(options.get("expected")):
        options["expected"] = options["expected"](*args)
    oracle = Oracle(f, args, **options)
    for mode in MODES:
        getattr(oracle, mode)()


# ---------------------------------------------------------- parametrization


def describe(value: Any) -> str:
    """A short test id for an argument."""
    if isinstance(value, np.ndarray):
        return "x".join(map(str, value.shape)) + (
            "" if value.dtype == np.float64 else str(value.dtype)
        )
    if isinstance(value, (list, tuple)):
        inner = ",".join(describe(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{describe(v)}" for k, v in value.items()) + "}"
    return repr(value)


def case(f: Callable, *args: Any, wrt: Any = None, expected: Any = None, fd: bool = True, id=None):
    """One parametrized point: ``f`` at ``args`` (see `check_derivatives` for the options)."""
    name = id or f"{f.__name__}({','.join(describe(a) for a in args)})"
    return pytest.param(f, args, wrt, expected, fd, id=name)


CASE_FIELDS = "f, args, wrt, expected, fd"
