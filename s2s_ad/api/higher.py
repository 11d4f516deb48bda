"""Derivatives of derivatives: Hessians, Jacobians and the vector-calculus family.

A source-to-source compiler emits ordinary Python built from primitives that
have rules, so its output can be transformed again.  The Hessian-vector
product is forward mode applied to the emitted gradient code
(forward-over-reverse, Pearlmutter's trick): one sweep costs a small multiple
of one gradient and never forms the Hessian.  Every function here is built
from three sweeps:

* ``hvp`` sweeps: forward mode over the emitted gradient, ``H @ v``;
* ``jvp`` sweeps: one per input entry, a column of the Jacobian;
* pullbacks: one primal sweep, then one adjoint sweep per output entry.

>>> def f(x, y):
...     return x * x * y
>>> hessian(f, wrt=(0, 1))(3.0, 2.0)
((4.0, 6.0), (6.0, 0.0))
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np

from ..compiler.derived import Derived, annotate_error, as_real, derived_of, differentiable
from ..compiler.signatures import Binding
from ..compiler.spec import GRAD, JVP, TANGENT, VJP
from .arguments import Wrt, binding_of, made_by
from .checks import check_tangent, flag
from .transforms import pullback_of
from .trees import leaves, rebuild

JACOBIAN_MODES = ("forward", "reverse", "auto")


# ------------------------------------------------------------ arguments


def _check_input(value: Any, who: str, name: str) -> None:
    """A differentiated argument is a float, an array, or a list, tuple or dict of those."""
    if not differentiable(value):
        raise TypeError(
            f"{who}: the argument {name!r} is a {type(value).__name__}; expected a float or "
            "complex number, a NumPy float or complex array, or a list, tuple or dict of those"
        )


def _basis(like: Any, k: int) -> Any:
    """The ``k``-th unit vector shaped (and typed) like ``like``."""
    if isinstance(like, np.ndarray):
        unit = np.zeros_like(like)
        unit.flat[k] = 1
        return unit
    return type(like)(1.0) if isinstance(like, np.floating) else 1.0


def _zero(like: Any) -> Any:
    return np.zeros_like(like) if isinstance(like, np.ndarray) else 0.0 * like


def _entries(inputs: Sequence[Any]) -> Iterator[Tuple[int, int, int]]:
    """``(j, m, k)`` for every entry ``k`` of every leaf ``m`` of every input ``j``."""
    for j, x in enumerate(inputs):
        for m, leaf in enumerate(leaves(x)):
            for k in range(np.size(leaf)):
                yield j, m, k


def _unit_tangents(inputs: Sequence[Any], j: int, m: int, k: int) -> tuple:
    """Tangents for all ``inputs``: the ``k``-th unit vector in leaf ``m`` of input ``j``,
    zeros elsewhere (each shaped like its input)."""
    return tuple(
        rebuild(
            x,
            [
                _basis(leaf, k) if (i, n) == (j, m) else _zero(leaf)
                for n, leaf in enumerate(leaves(x))
            ],
        )
        for i, x in enumerate(inputs)
    )


def _diagonal_entry(column: Any, k: int) -> Any:
    """Entry ``k`` of ``J @ e_k`` (a scalar for a scalar input)."""
    return np.reshape(column, -1)[k] if np.ndim(column) else column


def _assemble(columns: List[Any], out_like: Any, in_like: Any) -> Any:
    """Columns ``J @ e_k`` (one per entry of ``in_like``) as ``out.shape + in.shape``."""
    out_shape, in_shape = np.shape(out_like), np.shape(in_like)
    if not columns:  # an empty input
        return np.zeros(out_shape + in_shape)
    if not out_shape and not in_shape:
        value = columns[0]
        return float(value) if isinstance(value, float) or type(value) is float else value
    flat = np.stack([np.reshape(np.asarray(c), -1) for c in columns], axis=-1)
    return flat.reshape(out_shape + in_shape)


def _arguments(
    binding: Binding, derived: Derived, args: tuple, kwargs: dict, who: str
) -> Tuple[tuple, list]:
    """The arguments in parameter order (differentiated ones as floats), and those ones."""
    args = list(binding.bind(args, kwargs, who))
    for name, p in zip(derived.wrt, derived.positions):
        _check_input(args[p], who, name)
        args[p] = as_real(args[p])
    return tuple(args), [args[p] for p in derived.positions]


# ---------------------------------------------------------------- sweeps


def _sweep(derived: Derived) -> Callable:
    """``sweep(args, tangents)``: one run of the forward-mode code ``derived`` emits.

    It gives ``(out, J @ tangents)``; over the emitted gradient
    (:func:`_over_gradient`), ``H @ tangents`` alone.
    """

    def sweep(args: tuple, tangents: Sequence[Any]) -> Any:
        fn, args = derived.specialized(args)
        try:
            return fn(*args, *tangents)
        except Exception as exc:
            annotate_error(exc)
            raise

    return sweep


def _over_gradient(f: Callable, names: Tuple[str, ...], optimize: bool = True) -> Derived:
    """Forward mode over the emitted gradient of ``f`` (cached per function and ``wrt``).

    Its code returns only the tangent, ``H @ v``: the gradient itself is not needed.
    """
    gradient = derived_of(f, GRAD, names, optimize=optimize)
    return derived_of(f, TANGENT, names, inner=gradient, optimize=optimize)


# ------------------------------------------------------------- transforms


def hvp(f: Callable, wrt: Wrt = 0, optimize: bool = True) -> Callable:
    """``g(*args, v)``: the Hessian of scalar ``f`` times ``v``, without forming the Hessian.

    Forward mode over the emitted gradient (forward-over-reverse).  ``g``
    takes ``f``'s arguments as ``f`` does (defaults, keywords) and then ``v``,
    shaped like the differentiated argument (a list, tuple or dict for such an
    argument).  With a tuple ``wrt``, ``v`` is a tuple with one such value
    per argument, and so is the result.  ``optimize=False`` runs the
    unoptimized emission.

    >>> def f(x, y):
    ...     return x ** 3 * y
    >>> hvp(f)(2.0, 1.0, 1.0)
    12.0
    >>> hvp(f, optimize=False)(2.0, 1.0, 1.0)
    12.0
    >>> hvp(lambda xs: xs[0] ** 2 * xs[1])([3.0, 2.0], [1.0, 0.0])
    [4.0, 6.0]
    """
    binding = binding_of(f, "hvp")
    names, single = binding.wrt_names(wrt, "hvp")
    over_gradient = _over_gradient(binding.function, names, flag(optimize, "optimize", "hvp"))
    sweep = _sweep(over_gradient)

    def hessian_vector_product(*args: Any, **kwargs: Any) -> Any:
        usage = f"hvp(f) takes the arguments of {binding.spelled()} and then v"
        if not args:
            raise TypeError(f"hvp: {usage}, the vector to multiply; got no positional argument")
        *primals, v = args
        try:
            primals, inputs = _arguments(binding, over_gradient, tuple(primals), kwargs, "hvp")
        except TypeError as exc:
            raise TypeError(f"{exc} ({usage})") from None
        vs = (v,) if single else tuple(v) if isinstance(v, (tuple, list)) else None
        if vs is None or len(vs) != len(names):
            raise TypeError(
                f"hvp: with wrt={wrt!r}, v must be a tuple of {len(names)} values, one shaped "
                f"like each of the arguments {names}; got {type(v).__name__}"
                + (f" of {len(v)} item(s)" if isinstance(v, (tuple, list)) else "")
            )
        for value, x, name in zip(vs, inputs, names):
            check_tangent(value, x, "hvp", name, called="v for")
        return sweep(primals, tuple(as_real(value) for value in vs))

    return made_by(hessian_vector_product, f, "hvp")


def hessian(f: Callable, wrt: Wrt = 0, optimize: bool = True) -> Callable:
    """The Hessian of a scalar ``f``: shape ``in.shape + in.shape``.

    One forward-over-reverse sweep per input entry.  With a tuple ``wrt`` the
    result is nested tuples of blocks ``H[i][j]`` of shape
    ``x_i.shape + x_j.shape`` (JAX's convention).  A list, tuple or dict
    argument gives its structure holding its structure again, as JAX's
    pytrees do: for ``p = (a, b)``, ``((H_aa, H_ab), (H_ba, H_bb))``.
    ``optimize=False`` runs the unoptimized emission.

    >>> import numpy as np
    >>> def f(x):
    ...     return np.sum(x ** 3)
    >>> hessian(f)(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    >>> hessian(lambda p: p[0] ** 2 * p[1])((3.0, 2.0))
    ((4.0, 6.0), (6.0, 0.0))
    """
    binding = binding_of(f, "hessian")
    names, single = binding.wrt_names(wrt, "hessian")
    over_gradient = _over_gradient(binding.function, names, flag(optimize, "optimize", "hessian"))
    sweep = _sweep(over_gradient)

    def hessian_of(*args: Any, **kwargs: Any) -> Any:
        args, inputs = _arguments(binding, over_gradient, args, kwargs, "hessian")
        # columns[i, n, j, m]: H @ e_k in leaf n of argument i, for the entries k of leaf m of j
        columns: Dict[Tuple[int, int, int, int], List[Any]] = {}
        for j, m, k in _entries(inputs):
            product = sweep(args, _unit_tangents(inputs, j, m, k))
            for i, part in enumerate((product,) if single else product):
                for n, leaf in enumerate(leaves(part)):
                    columns.setdefault((i, n, j, m), []).append(leaf)
        blocks = [
            [_blocks(columns, i, j, inputs[i], inputs[j]) for j in range(len(inputs))]
            for i in range(len(inputs))
        ]
        return blocks[0][0] if single else tuple(map(tuple, blocks))

    return made_by(hessian_of, f, "hessian")


def _blocks(columns: dict, i: int, j: int, x_i: Any, x_j: Any) -> Any:
    """The block ``d grad_i / d x_j``: ``x_i``'s structure holding ``x_j``'s, whose leaves
    are arrays of shape ``leaf_i.shape + leaf_j.shape`` (JAX's pytree convention)."""
    return rebuild(
        x_i,
        [
            rebuild(
                x_j,
                [
                    _assemble(columns.get((i, n, j, m), []), leaf_i, leaf_j)
                    for m, leaf_j in enumerate(leaves(x_j))
                ],
            )
            for n, leaf_i in enumerate(leaves(x_i))
        ],
    )


def jacobian(
    f: Callable, wrt: Wrt = 0, mode: str = "auto", has_aux: bool = False, optimize: bool = True
) -> Callable:
    """The Jacobian of ``f``: shape ``out.shape + in.shape``.

    ``mode="forward"`` runs one JVP sweep per input entry; ``"reverse"`` one
    primal sweep and then one pullback per output entry; ``"auto"`` picks
    forward when the inputs have fewer entries than the output.  A list,
    tuple or dict argument gives its structure with leaves of shape
    ``out.shape + leaf.shape``.  With
    ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is
    ``(jacobian, aux)``.  ``optimize=False`` runs the unoptimized emission.

    >>> import numpy as np
    >>> def f(x):
    ...     return np.array([x[0] * x[1], x[0] + 2 * x[1], 3 * x[1]])
    >>> jacobian(f, mode="forward")(np.array([1.0, 2.0]))
    array([[2., 1.],
           [1., 2.],
           [0., 3.]])
    >>> jacobian(lambda x: (x ** 2, "aux"), has_aux=True)(3.0)
    (6.0, 'aux')
    """
    binding = binding_of(f, "jacobian")
    if mode not in JACOBIAN_MODES:
        raise TypeError(f"jacobian: mode must be one of {JACOBIAN_MODES}, got {mode!r}")
    flag(has_aux, "has_aux", "jacobian")
    flag(optimize, "optimize", "jacobian")
    names, single = binding.wrt_names(wrt, "jacobian")
    forward = derived_of(binding.function, JVP, names, has_aux=has_aux, optimize=optimize)
    reverse = derived_of(binding.function, VJP, names, has_aux=has_aux, optimize=optimize)
    sweep = _sweep(forward)

    def jacobian_of(*args: Any, **kwargs: Any) -> Any:
        args, inputs = _arguments(binding, forward, args, kwargs, "jacobian")
        chosen, primal = mode, None
        if mode == "auto":
            if has_aux:  # the reverse primal sweep gives the output without calling f again
                primal = pullback_of(reverse, args)
                out = primal[0]
            else:
                out = binding.call(args)
            _check_output(out)
            size = sum(np.size(leaf) for x in inputs for leaf in leaves(x))
            chosen = "forward" if size < np.size(out) else "reverse"
        if chosen == "forward":
            result, aux = _forward_jacobian(sweep, args, inputs)
        else:
            result, aux = _reverse_jacobian(primal or pullback_of(reverse, args), inputs)
        result = result[0] if single else result
        return (result, aux[0]) if has_aux else result

    return made_by(jacobian_of, f, "jacobian")


def _check_output(out: Any) -> None:
    if isinstance(out, bool) or not isinstance(
        out, (float, int, np.floating, np.integer, np.ndarray)
    ):
        raise TypeError(
            f"jacobian expects f to return a float or an array, got a {type(out).__name__}"
        )


def _forward_jacobian(sweep: Callable, args: tuple, inputs: list) -> Tuple[tuple, list]:
    """One JVP sweep per input entry; each gives a column.  Also the aux of the
    last sweep, in a list (empty without ``has_aux``)."""
    out, aux = None, []
    columns: Dict[Tuple[int, int], List[Any]] = {}
    for j, m, k in _entries(inputs):
        out, column, *aux = sweep(args, _unit_tangents(inputs, j, m, k))
        columns.setdefault((j, m), []).append(column)
    if out is None or any(np.size(leaf) == 0 for x in inputs for leaf in leaves(x)):
        out, _, *aux = sweep(args, tuple(rebuild(x, map(_zero, leaves(x))) for x in inputs))
    _check_output(out)
    result = tuple(
        rebuild(x, [_assemble(columns.get((j, m), []), out, y) for m, y in enumerate(leaves(x))])
        for j, x in enumerate(inputs)
    )
    return result, aux


def _reverse_jacobian(primal: tuple, inputs: list) -> Tuple[tuple, list]:
    """From ``(out, pullback, *aux)`` of one primal sweep, one pullback per output
    entry; each gives a row.  Also the aux, in a list (empty without ``has_aux``)."""
    out, pullback, *aux = primal
    _check_output(out)
    rows: List[tuple] = [pullback(_basis(as_real(out), n)) for n in range(np.size(out))]
    result = []
    for j, x_j in enumerate(inputs):
        row_leaves = [leaves(row[j]) for row in rows]
        blocks = []
        for m, leaf in enumerate(leaves(x_j)):
            if not np.shape(out):
                blocks.append(row_leaves[0][m])
                continue
            flat = [np.reshape(np.asarray(entries[m]), -1) for entries in row_leaves]
            block = np.stack(flat, axis=0) if flat else np.zeros((0, np.size(leaf)))
            blocks.append(block.reshape(np.shape(out) + np.shape(leaf)))
        result.append(rebuild(x_j, blocks))
    return tuple(result), aux


def laplacian(f: Callable, optimize: bool = True) -> Callable:
    """The trace of the Hessian of a scalar ``f: R^n -> R`` (first argument).

    One forward-over-reverse sweep per input entry, each giving one diagonal
    entry ``e_k . H e_k``.  ``optimize=False`` runs the unoptimized emission.

    >>> import numpy as np
    >>> def f(x):
    ...     return np.sum(x ** 2) * x[0]
    >>> float(laplacian(f)(np.array([1.0, 2.0])))  # 6 x0 + 2 x0
    8.0
    """
    binding = binding_of(f, "laplacian")
    names, _ = binding.wrt_names(0, "laplacian")
    over_gradient = _over_gradient(binding.function, names, flag(optimize, "optimize", "laplacian"))
    sweep = _sweep(over_gradient)

    def laplacian_of(*args: Any, **kwargs: Any) -> Any:
        args, inputs = _arguments(binding, over_gradient, args, kwargs, "laplacian")
        total = 0.0
        for _, m, k in _entries(inputs):
            product = sweep(args, _unit_tangents(inputs, 0, m, k))
            total = total + _diagonal_entry(leaves(product)[m], k)
        return total

    return made_by(laplacian_of, f, "laplacian")


def divergence(f: Callable, optimize: bool = True) -> Callable:
    """``sum_i d f_i / d x_i`` for ``f: R^n -> R^n`` (first argument).

    One JVP sweep per input entry.  ``optimize=False`` runs the unoptimized emission.

    >>> import numpy as np
    >>> def field(x):
    ...     return np.array([x[0] * x[1], x[1] ** 2])
    >>> float(divergence(field)(np.array([1.0, 3.0])))
    9.0
    """
    binding = binding_of(f, "divergence")
    names, _ = binding.wrt_names(0, "divergence")
    forward = derived_of(
        binding.function, JVP, names, optimize=flag(optimize, "optimize", "divergence")
    )
    sweep = _sweep(forward)

    def divergence_of(*args: Any, **kwargs: Any) -> Any:
        args, (x,) = _arguments(binding, forward, args, kwargs, "divergence")
        if isinstance(x, (list, tuple, dict)):
            raise TypeError(
                f"divergence expects f: R^n -> R^n of an array, got a {type(x).__name__}"
            )
        total = 0.0
        for k in range(np.size(x)):
            out, column = sweep(args, (_basis(x, k),))
            if np.shape(out) != np.shape(x):
                raise TypeError(
                    f"divergence expects f: R^n -> R^n; f returns shape {np.shape(out)} "
                    f"for an input of shape {np.shape(x)}"
                )
            total = total + _diagonal_entry(column, k)
        return total

    return made_by(divergence_of, f, "divergence")


def curl(f: Callable, optimize: bool = True) -> Callable:
    """The curl of ``f: R^3 -> R^3`` (first argument), from its Jacobian by forward mode.

    ``optimize=False`` runs the unoptimized emission.

    >>> import numpy as np
    >>> def field(p):
    ...     x, y, z = p[0], p[1], p[2]
    ...     return np.array([y * z, 2 * x * z, 3 * x * y])
    >>> curl(field)(np.array([1.0, 2.0, 3.0]))  # (x, -2 y, z)
    array([ 1., -4.,  3.])
    """
    binding_of(f, "curl")
    jacobian_of = jacobian(f, wrt=0, mode="forward", optimize=optimize)

    def curl_of(*args: Any, **kwargs: Any) -> Any:
        J = jacobian_of(*args, **kwargs)
        if np.shape(J) != (3, 3):
            raise TypeError(
                f"curl expects f: R^3 -> R^3; its Jacobian has shape {np.shape(J)}, not (3, 3)"
            )
        return np.array([J[2, 1] - J[1, 2], J[0, 2] - J[2, 0], J[1, 0] - J[0, 1]])

    return made_by(curl_of, f, "curl")
