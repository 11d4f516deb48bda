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

What they return is differentiated again through its
:class:`~s2s_ad.api.composite.Composite` (``ad.jacobian(ad.hessian(f))``).

>>> def f(x, y):
...     return x * x * y
>>> hessian(f, wrt=(0, 1))(3.0, 2.0)
((4.0, 6.0), (6.0, 0.0))
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from ..compiler import hooks
from ..compiler.derived import Derived, as_real, derived_of
from ..compiler.signatures import Binding
from ..compiler.spec import GRAD, JVP, TANGENT, VJP
from . import composite_transforms
from .arguments import Wrt, binding_of, made_by
from .checks import check_tangent, flag
from .composite import (
    Binder,
    Composite,
    Emitted,
    Through,
    assemble,
    attach,
    basis,
    check_output,
    checked,
    composite_of,
    entries,
    forward_jacobian,
    jacobian_body,
    plain_binder,
    unit_tangents,
)
from .transforms import pullback_of
from .trees import leaves, rebuild

JACOBIAN_MODES = ("forward", "reverse", "auto")


# ---------------------------------------------------------------- sweeps


def _over_gradient(f: Callable, names: Tuple[str, ...], optimize: bool = True) -> Derived:
    """Forward mode over the emitted gradient of ``f`` (cached per function and ``wrt``).

    Its code returns only the tangent, ``H @ v``: the gradient itself is not needed.
    """
    gradient = derived_of(f, GRAD, names, optimize=optimize)
    return derived_of(f, TANGENT, names, inner=gradient, optimize=optimize)


def _prepared(
    f: Callable, wrt: Wrt, who: str, optimize: bool, second_order: bool
) -> Tuple[Binding, Tuple[str, ...], bool, Any, Binder]:
    """``(binding, names, single, sweep, bind)`` for ``who`` of ``f``: its user function's
    binding, the names ``wrt`` gives and whether one was asked for, the sweep (``J @ t``
    with the output, or with ``second_order`` ``H @ t`` alone), and how calls bind.

    ``f`` is a user function (the sweep runs its emitted code) or a function made by
    ``ad.hessian``, ... (the sweep runs forward mode through its composite).
    """
    composite = composite_of(f)
    binding = binding_of(f, who) if composite is None else composite.binding
    names, single = binding.wrt_names(wrt, who)
    if composite is None:
        if second_order:
            derived = _over_gradient(binding.function, names, optimize)
        else:
            derived = derived_of(binding.function, JVP, names, optimize=optimize)
        sweep, bind = Emitted(derived), plain_binder(binding)
    elif second_order:
        one = names[0] if len(names) == 1 else names  # the gradient of one name is bare
        gradient = composite_transforms.gradient(composite, one, optimize, who)
        sweep, bind = Through(gradient, names, optimize, with_value=False), composite.bind
    else:
        sweep, bind = Through(composite, names, optimize), composite.bind
    return binding, names, single, sweep, checked(bind, binding.positions(names), names)


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
    optimize = flag(optimize, "optimize", "hvp")
    binding, names, single, sweep, bind = _prepared(f, wrt, "hvp", optimize, True)
    positions = binding.positions(names)

    def bind_with_vector(args: tuple, kwargs: dict, who: str) -> tuple:
        usage = f"hvp(f) takes the arguments of {binding.spelled()} and then v"
        if not args:
            raise TypeError(f"hvp: {usage}, the vector to multiply; got no positional argument")
        *primals, v = args
        try:
            primals = bind(tuple(primals), kwargs, "hvp")
        except TypeError as exc:
            raise TypeError(f"{exc} ({usage})") from None
        vs = (v,) if single else tuple(v) if isinstance(v, (tuple, list)) else None
        if vs is None or len(vs) != len(names):
            raise TypeError(
                f"hvp: with wrt={wrt!r}, v must be a tuple of {len(names)} values, one shaped "
                f"like each of the arguments {names}; got {type(v).__name__}"
                + (f" of {len(v)} item(s)" if isinstance(v, (tuple, list)) else "")
            )
        for value, p, name in zip(vs, positions, names):
            check_tangent(value, primals[p], "hvp", name, called="v for")
        return (*primals, tuple(as_real(value) for value in vs))

    def body(sweep: Any, args: tuple) -> Any:
        *primals, vs = args
        return sweep(tuple(primals), vs)

    composite = Composite("ad.hvp", binding, body, sweep, bind_with_vector)
    return composite.function(f, "hvp")


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
    optimize = flag(optimize, "optimize", "hessian")
    binding, names, single, sweep, bind = _prepared(f, wrt, "hessian", optimize, True)
    positions = binding.positions(names)

    def body(sweep: Any, args: tuple) -> Any:
        inputs = [args[p] for p in positions]
        # columns[i, n, j, m]: H @ e_k in leaf n of argument i, for the entries k of leaf m of j
        columns: Dict[Tuple[int, int, int, int], List[Any]] = {}
        for j, m, k in entries(inputs):
            product = sweep(args, unit_tangents(inputs, j, m, k))
            for i, part in enumerate((product,) if single else product):
                for n, leaf in enumerate(leaves(part)):
                    columns.setdefault((i, n, j, m), []).append(leaf)
        blocks = [
            [_blocks(columns, i, j, inputs[i], inputs[j]) for j in range(len(inputs))]
            for i in range(len(inputs))
        ]
        return blocks[0][0] if single else tuple(map(tuple, blocks))

    return Composite("ad.hessian", binding, body, sweep, bind).function(f, "hessian")


def _blocks(columns: dict, i: int, j: int, x_i: Any, x_j: Any) -> Any:
    """The block ``d grad_i / d x_j``: ``x_i``'s structure holding ``x_j``'s, whose leaves
    are arrays of shape ``leaf_i.shape + leaf_j.shape`` (JAX's pytree convention)."""
    return rebuild(
        x_i,
        [
            rebuild(
                x_j,
                [
                    assemble(columns.get((i, n, j, m), []), leaf_i, leaf_j)
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
    if mode not in JACOBIAN_MODES:
        raise TypeError(f"jacobian: mode must be one of {JACOBIAN_MODES}, got {mode!r}")
    flag(has_aux, "has_aux", "jacobian")
    flag(optimize, "optimize", "jacobian")
    outer = composite_of(f)
    if outer is not None and has_aux:
        composite_transforms.refuse(outer, "jacobian", "has_aux")
    if has_aux:
        return made_by(_jacobian_with_aux(f, wrt, mode, optimize), f, "jacobian")
    binding, names, single, sweep, bind = _prepared(f, wrt, "jacobian", optimize, False)
    composite = Composite(
        "ad.jacobian", binding, jacobian_body(binding.positions(names), single), sweep, bind
    )
    if outer is not None or mode == "forward":  # through a composite: forward mode
        return composite.function(f, "jacobian")
    reverse = derived_of(binding.function, VJP, names, optimize=optimize)

    def jacobian_of(*args: Any, **kwargs: Any) -> Any:
        args = bind(args, kwargs, "jacobian")
        inputs = [args[p] for p in binding.positions(names)]
        out = binding.call(args) if mode == "auto" else None
        if mode == "auto":
            check_output(out)
            size = sum(np.size(leaf) for x in inputs for leaf in leaves(x))
            if size < np.size(out):
                return composite(args)
        result, _ = _reverse_jacobian(pullback_of(reverse, args), inputs)
        return result[0] if single else result

    return attach(made_by(jacobian_of, f, "jacobian"), composite)


def _jacobian_with_aux(f: Callable, wrt: Wrt, mode: str, optimize: bool) -> Callable:
    """``jacobian(f, wrt, mode, has_aux=True)``: ``(jacobian, aux)``."""
    binding = binding_of(f, "jacobian")
    names, single = binding.wrt_names(wrt, "jacobian")
    positions = binding.positions(names)
    forward = derived_of(binding.function, JVP, names, has_aux=True, optimize=optimize)
    reverse = derived_of(binding.function, VJP, names, has_aux=True, optimize=optimize)
    bind = checked(plain_binder(binding), positions, names)

    def jacobian_of(*args: Any, **kwargs: Any) -> Any:
        args = bind(args, kwargs, "jacobian")
        inputs = [args[p] for p in positions]
        chosen, primal = mode, None
        if mode == "auto":  # the reverse primal sweep gives the output without calling f again
            primal = pullback_of(reverse, args)
            check_output(primal[0])
            size = sum(np.size(leaf) for x in inputs for leaf in leaves(x))
            chosen = "forward" if size < np.size(primal[0]) else "reverse"
        if chosen == "forward":
            _, result, aux = forward_jacobian(Emitted(forward), args, inputs)
        else:
            result, aux = _reverse_jacobian(primal or pullback_of(reverse, args), inputs)
        return (result[0] if single else result), aux[0]

    return jacobian_of


def _reverse_jacobian(primal: tuple, inputs: list) -> Tuple[tuple, list]:
    """From ``(out, pullback, *aux)`` of one primal sweep, one pullback per output
    entry; each gives a row.  Also the aux, in a list (empty without ``has_aux``)."""
    out, pullback, *aux = primal
    check_output(out)
    rows: List[tuple] = [pullback(basis(as_real(out), n)) for n in range(np.size(out))]
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


def _diagonal_entry(column: Any, k: int) -> Any:
    """Entry ``k`` of ``J @ e_k`` (a scalar for a scalar input)."""
    return np.reshape(column, -1)[k] if np.ndim(column) else column


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
    optimize = flag(optimize, "optimize", "laplacian")
    binding, names, _, sweep, bind = _prepared(f, 0, "laplacian", optimize, True)
    (position,) = binding.positions(names)

    def body(sweep: Any, args: tuple) -> Any:
        inputs = [args[position]]
        total = 0.0
        for _, m, k in entries(inputs):
            product = sweep(args, unit_tangents(inputs, 0, m, k))
            total = total + _diagonal_entry(leaves(product)[m], k)
        return total

    return Composite("ad.laplacian", binding, body, sweep, bind).function(f, "laplacian")


def divergence(f: Callable, optimize: bool = True) -> Callable:
    """``sum_i d f_i / d x_i`` for ``f: R^n -> R^n`` (first argument).

    One JVP sweep per input entry.  ``optimize=False`` runs the unoptimized emission.

    >>> import numpy as np
    >>> def field(x):
    ...     return np.array([x[0] * x[1], x[1] ** 2])
    >>> float(divergence(field)(np.array([1.0, 3.0])))
    9.0
    """
    optimize = flag(optimize, "optimize", "divergence")
    binding, names, _, sweep, bind = _prepared(f, 0, "divergence", optimize, False)
    (position,) = binding.positions(names)

    def body(sweep: Any, args: tuple) -> Any:
        x = args[position]
        if isinstance(x, (list, tuple, dict)):
            raise TypeError(
                f"divergence expects f: R^n -> R^n of an array, got a {type(x).__name__}"
            )
        total = 0.0
        for k in range(np.size(x)):
            out, column = sweep(args, (basis(x, k),))
            if np.shape(out) != np.shape(x):
                raise TypeError(
                    f"divergence expects f: R^n -> R^n; f returns shape {np.shape(out)} "
                    f"for an input of shape {np.shape(x)}"
                )
            total = total + _diagonal_entry(column, k)
        return total

    return Composite("ad.divergence", binding, body, sweep, bind).function(f, "divergence")


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
    optimize = flag(optimize, "optimize", "curl")
    binding, names, _, sweep, bind = _prepared(f, 0, "curl", optimize, False)
    jacobian_of = jacobian_body(binding.positions(names), True)

    def body(sweep: Any, args: tuple) -> Any:
        J = jacobian_of(sweep, args)
        if np.shape(J) != (3, 3):
            raise TypeError(
                f"curl expects f: R^3 -> R^3; its Jacobian has shape {np.shape(J)}, not (3, 3)"
            )
        return np.array([J[2, 1] - J[1, 2], J[0, 2] - J[2, 0], J[1, 0] - J[0, 1]])

    return Composite("ad.curl", binding, body, sweep, bind).function(f, "curl")


for _transform in (hvp, hessian, jacobian, laplacian, divergence, curl):
    hooks.register_composite_maker(_transform, f"ad.{_transform.__name__}", _transform.__name__)
