"""The public function transforms: grad, value_and_grad, vjp, jvp, derivative, ...

Each transform returns an ordinary Python function.  On its first call with
a given combination of argument types it builds (or finds in the cache) the
emitted code specialized to those types -- Python floats get scalar code
with no broadcasting bookkeeping -- and afterwards a call costs a dictionary
lookup plus the emitted code.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from .. import runtime
from ..compiler import hooks, pipeline
from ..compiler.derived import (
    Derived,
    annotate_error,
    as_real,
    derived_of,
    differentiable,
    needs_real,
)
from ..compiler.signatures import Binding
from ..compiler.spec import DERIVATIVE, GRAD, JVP, TANGENT, VALUE_AND_GRAD, VJP, Spec
from ..runtime import zeros_like
from . import composite_transforms
from .arguments import Wrt, binding_of, forwarding, named, vararg_items
from .checks import check_cotangent, check_output, check_tangent, flag
from .finite_differences import compared_leaves

SOURCE_MODES = {
    "reverse": GRAD,
    "grad": GRAD,
    "value_and_grad": VALUE_AND_GRAD,
    "vjp": VJP,
    "forward": JVP,
    "jvp": JVP,
    "derivative": DERIVATIVE,
    # forward mode over the emitted gradient: what hvp, hessian and laplacian run
    "hvp": (GRAD, TANGENT),
    "hessian": (GRAD, TANGENT),
}


# ------------------------------------------------------------ transforms


def grad(f: Callable, wrt: Wrt = 0, has_aux: bool = False, optimize: bool = True) -> Callable:
    """The gradient of a scalar-valued ``f`` with respect to ``wrt``.

    The result takes ``f``'s arguments as ``f`` does (defaults, keywords, and
    those of a ``functools.partial``).  An output of size 1
    (``np.sum(x, keepdims=True)``) counts as a scalar, as in JAX.

    With ``has_aux=True``, ``f`` returns ``(output, aux)``: the output is
    differentiated, ``aux`` is passed through, and the result is ``(gradient, aux)``.
    ``optimize=False`` runs the unoptimized emission (the same gradient).

    >>> def f(x, y):
    ...     return x * x * y
    >>> grad(f)(3.0, 2.0)
    12.0
    >>> grad(f, wrt=(0, "y"))(3.0, 2.0)
    (12.0, 9.0)
    >>> def loss(x):
    ...     return x ** 2, {"x": x}
    >>> grad(loss, has_aux=True)(3.0)
    (6.0, {'x': 3.0})
    >>> grad(f, optimize=False)(3.0, 2.0)
    12.0
    >>> import functools
    >>> grad(functools.partial(f, y=2.0))(3.0)
    12.0
    """
    composite = composite_transforms.composite_of(f)
    if composite is not None:  # made by ad.hessian, ad.jacobian, ...
        if flag(has_aux, "has_aux", "grad"):
            composite_transforms.refuse(composite, "grad", "has_aux")
        optimize = flag(optimize, "optimize", "grad")
        return composite_transforms.gradient(composite, wrt, optimize, "grad").function(f, "grad")
    binding = binding_of(f, "grad")
    names, single = binding.wrt_names(wrt, "grad", vararg_items=True)
    names, picking = vararg_items(names, single, 0 if has_aux else None)
    derived = derived_of(
        binding.function,
        GRAD,
        names,
        has_aux=flag(has_aux, "has_aux", "grad"),
        optimize=flag(optimize, "optimize", "grad"),
    )
    forward = forwarding(derived, binding)
    if picking is not None:  # `def f(*xs)`: the items of the tuple's gradient wrt names
        return named(picking(forward), f, "grad")
    if single or len(names) > 1:
        return named(forward, f, "grad")

    def gradient(*args, **kwargs):
        if has_aux:
            result, aux = forward(*args, **kwargs)
            return (result,), aux
        return (forward(*args, **kwargs),)

    return named(gradient, f, "grad")


def value_and_grad(
    f: Callable, wrt: Wrt = 0, has_aux: bool = False, optimize: bool = True
) -> Callable:
    """``(f(*args), gradient)`` in one pass.

    With ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is
    ``((output, aux), gradient)``.  ``optimize=False`` runs the unoptimized emission.

    >>> def f(x):
    ...     return x ** 3
    >>> value_and_grad(f)(2.0)
    (8.0, 12.0)
    >>> value_and_grad(lambda x: (x ** 3, "aux"), has_aux=True)(2.0)
    ((8.0, 'aux'), 12.0)
    >>> value_and_grad(f, optimize=False)(2.0)
    (8.0, 12.0)
    """
    who = "value_and_grad"
    composite = composite_transforms.composite_of(f)
    if composite is not None:  # made by ad.hessian, ad.jacobian, ...
        if flag(has_aux, "has_aux", who):
            composite_transforms.refuse(composite, who, "has_aux")
        optimize = flag(optimize, "optimize", who)
        both = composite_transforms.gradient(composite, wrt, optimize, who, with_value=True)
        return both.function(f, who)
    binding = binding_of(f, who)
    names, single = binding.wrt_names(wrt, who, vararg_items=True)
    names, picking = vararg_items(names, single, 1)
    derived = derived_of(
        binding.function,
        VALUE_AND_GRAD,
        names,
        has_aux=flag(has_aux, "has_aux", who),
        optimize=flag(optimize, "optimize", who),
    )
    forward = forwarding(derived, binding)
    if picking is not None:
        return named(picking(forward), f, who)
    if single or len(names) > 1:
        return named(forward, f, who)

    def value_and_gradient(*args, **kwargs):
        value, result = forward(*args, **kwargs)
        return value, (result,)

    return named(value_and_gradient, f, "value_and_grad")


def vjp(
    f: Callable,
    *primals: Any,
    wrt: Optional[Wrt] = None,
    has_aux: bool = False,
    optimize: bool = True,
) -> Tuple[Any, ...]:
    """``(f(*primals), pullback)``; ``pullback(cotangent)`` returns a tuple of cotangents.

    By default every float or array argument is differentiated.  The
    pullback may be called several times; its cotangent must have the
    output's structure and shapes.  With ``has_aux=True``, ``f`` returns
    ``(output, aux)``; the result is ``(output, pullback, aux)`` and the
    pullback takes the cotangent of ``output`` alone.  ``optimize=False``
    runs the unoptimized emission.

    >>> def f(x, y):
    ...     return x * y
    >>> out, pullback = vjp(f, 3.0, 4.0)
    >>> out, pullback(1.0), pullback(2.0)
    (12.0, (4.0, 3.0), (8.0, 6.0))
    >>> out, pullback, aux = vjp(lambda x: (x * x, x + 1.0), 3.0, has_aux=True)
    >>> out, pullback(1.0), aux
    (9.0, (6.0,), 4.0)
    >>> vjp(f, 3.0, 4.0, optimize=False)[1](1.0)
    (4.0, 3.0)
    """
    composite = composite_transforms.composite_of(f)
    if composite is not None:  # made by ad.hessian, ad.jacobian, ...
        if flag(has_aux, "has_aux", "vjp"):
            composite_transforms.refuse(composite, "vjp", "has_aux")
        optimize = flag(optimize, "optimize", "vjp")
        return composite_transforms.vjp(composite, primals, wrt, optimize)
    binding = binding_of(f, "vjp")
    flag(has_aux, "has_aux", "vjp")
    if wrt is None:
        given = binding.positional_names(len(primals), "vjp", "primal(s)")
        names = tuple(
            name
            for name, value in zip(given, binding.grouped(primals))
            if differentiable(value) and not needs_real(value)  # floats and float arrays
        )
        if not names:
            raise TypeError("vjp: none of the arguments is a float or a float array")
    else:
        names, _ = binding.wrt_names(wrt, "vjp")
    derived = derived_of(
        binding.function, VJP, names, has_aux=has_aux, optimize=flag(optimize, "optimize", "vjp")
    )
    out, pullback, *aux = pullback_of(derived, binding.bind(primals, {}, "vjp"))
    if wrt is None and binding.var_positional in names:  # one cotangent per argument
        pullback = named(_spread_last(pullback), f, "pullback")
    return (out, pullback, *aux)


def _spread_last(pullback: Callable) -> Callable:
    """``pullback`` whose last cotangent, that of ``*args``, is given item by item."""

    def spread(cotangent):
        *named, items = pullback(cotangent)
        return (*named, *items)

    return spread


def pullback_of(derived: Derived, args: tuple) -> Tuple[Any, ...]:
    """``(out, pullback, *aux)``: what :func:`vjp` returns, from the emitted VJP code
    ``derived`` run on ``args`` (every parameter's value, in the function's order)."""
    fn, args = derived.specialized(args)
    try:
        out, pullback, *aux = fn(*args)
    except Exception as exc:
        annotate_error(exc)
        raise
    check_output(out, "vjp")

    def checked_pullback(cotangent):
        check_cotangent(cotangent, out)
        try:
            return pullback(cotangent)
        except Exception as exc:
            annotate_error(exc)
            raise

    return (out, named(checked_pullback, derived.f, "pullback"), *aux)


def jvp(
    f: Callable,
    primals: Sequence[Any],
    tangents: Sequence[Any],
    has_aux: bool = False,
    optimize: bool = True,
) -> Tuple[Any, ...]:
    """``(f(*primals), J @ tangents)``: forward mode.

    A tangent of ``None`` marks an argument that is not differentiated; the
    others must have their primal's structure and shapes.  The primals go by
    position and may leave out parameters that have defaults (their tangent
    is zero); give keyword-only ones with ``functools.partial``.  With
    ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is
    ``(output, tangent, aux)``.  ``optimize=False`` runs the unoptimized emission.

    >>> def f(x, y):
    ...     return x * y
    >>> jvp(f, (3.0, 4.0), (1.0, None))
    (12.0, 4.0)
    >>> jvp(lambda x: (x * x, "aux"), (3.0,), (1.0,), has_aux=True)
    (9.0, 6.0, 'aux')
    >>> jvp(f, (3.0, 4.0), (1.0, None), optimize=False)
    (12.0, 4.0)
    >>> def g(x, y=2.0):
    ...     return x * y
    >>> jvp(g, (3.0,), (1.0,))
    (6.0, 2.0)
    """
    composite = composite_transforms.composite_of(f)
    binding = binding_of(f, "jvp") if composite is None else composite.binding
    flag(has_aux, "has_aux", "jvp")
    flag(optimize, "optimize", "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp expects primals and tangents as tuples: jvp(f, (x, y), (dx, dy))")
    if len(primals) != len(tangents):
        raise TypeError(
            f"jvp: got {len(primals)} primal(s) but {len(tangents)} tangent(s); "
            "give one tangent per primal (None for an argument not differentiated)"
        )
    if composite is not None:  # made by ad.hessian, ad.jacobian, ...
        if has_aux:
            composite_transforms.refuse(composite, "jvp", "has_aux")
        return composite_transforms.jvp(composite, primals, tangents, optimize)
    given = binding.positional_names(len(primals), "jvp", "primal(s)")
    args = _bound_primals(binding, primals)
    tangents = _vararg_tangents(binding, primals, tangents)
    names = tuple(name for name, t in zip(given, tangents) if t is not None)
    if not names:
        out = binding.called(*primals)
        if has_aux:
            runtime.aux_of(out)
            return check_output(out[0], "jvp"), zeros_like(out[0]), out[1]
        return check_output(out, "jvp"), zeros_like(out)
    active = tuple(t for t in tangents if t is not None)
    for name, position, t in zip(names, binding.positions(names), active):
        check_tangent(t, args[position], "jvp", name)
    derived = derived_of(binding.function, JVP, names, has_aux=has_aux, optimize=optimize)
    fn, args = derived.specialized(args)
    try:
        result = fn(*args, *map(as_real, active))
    except Exception as exc:
        annotate_error(exc)
        raise
    check_output(result[0], "jvp")
    return result


def _vararg_tangents(binding: Binding, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple:
    """``jvp``'s tangents with those of the arguments to ``*args`` gathered into the tuple's
    tangent (zeros for an argument whose tangent is None), or None if all are None."""
    grouped = binding.grouped(tangents)
    if len(grouped) == len(tangents):
        return grouped
    rest = len(tangents) - len(grouped[-1])
    items = list(zip(primals[rest:], grouped[-1]))
    if all(t is None for _, t in items):
        return (*grouped[:-1], None)
    return (*grouped[:-1], tuple(zeros_like(p) if t is None else t for p, t in items))


def _bound_primals(binding: Binding, primals: Sequence[Any]) -> tuple:
    """``jvp``'s primals, by position, with the defaults of the parameters they leave out."""
    try:
        return binding.bind(primals, {}, "jvp")
    except TypeError as exc:
        raise TypeError(
            f"{exc}; jvp passes the primals by position: leave out only parameters that "
            f"have defaults, and give keyword-only ones with functools.partial({binding.name}, "
            "name=value)"
        ) from None


def derivative(f: Callable, order: int = 1, optimize: bool = True) -> Callable:
    """The ``order``-th derivative of ``f: R -> R`` (elementwise for an array input).

    The first argument is differentiated; further arguments are passed
    through.  The output may be an array (``f: R -> R^m``).  Orders above 1
    propagate truncated Taylor series through ``f`` in one pass, so the
    code grows linearly with the order, not exponentially.  ``optimize=False``
    runs the unoptimized emission.

    >>> import math
    >>> def f(x):
    ...     return math.sin(x) * x
    >>> round(derivative(f)(0.0), 6)
    0.0
    >>> derivative(lambda x: x ** 3, order=3)(2.0)
    6.0
    >>> derivative(lambda x: x ** 3, optimize=False)(2.0)
    12.0
    """
    flag(optimize, "optimize", "derivative")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise TypeError(f"derivative: order must be a positive int, got {order!r}")
    composite = composite_transforms.composite_of(f)
    if composite is not None:  # made by ad.hessian, ad.jacobian, ...
        taylor = composite_transforms.derivative(composite, order, optimize)
        return taylor.function(f, "derivative")
    binding = binding_of(f, "derivative")
    names, _ = binding.wrt_names(0, "derivative")
    if order == 1:
        derived = derived_of(binding.function, DERIVATIVE, names, optimize=optimize)
    else:
        derived = Derived(binding.function, DERIVATIVE, names, optimize, order=order)
    return named(forwarding(derived, binding), f, "derivative")


for _maker, _spelling in ((grad, "ad.grad"), (value_and_grad, "ad.value_and_grad")):
    hooks.register_derivative_maker(_maker, _spelling)
hooks.register_derivative_maker(derivative, "ad.derivative")
hooks.register_direct_transform(jvp, "ad.jvp")
hooks.register_pullback_maker(vjp, "ad.vjp")


# ---------------------------------------------------------- source level


def trace(f: Callable) -> str:
    """The three-address primal trace of ``f``, one primitive per line.

    >>> def f(x, a):
    ...     return x * a
    >>> print(trace(f), end="")
    t0 = load('x')          # x
    t1 = load('a')          # a
    t2 = t0 * t1            # x * a
    return t2
    """
    return pipeline.trace_text(binding_of(f, "trace").function)


def source(
    f: Callable,
    mode: str = "reverse",
    wrt: Wrt = 0,
    optimize: bool = True,
    order: int = 1,
    has_aux: bool = False,
) -> str:
    """The emitted derivative source of ``f``.

    ``mode`` is ``"reverse"`` (the gradient, as ``grad`` runs it),
    ``"forward"`` (the JVP), or one of ``"value_and_grad"``, ``"vjp"``,
    ``"derivative"``; ``order`` is that of ``"derivative"``.  ``"hvp"`` (or
    ``"hessian"``) shows forward mode applied to the emitted gradient, the
    code behind ``hvp``, ``hessian`` and ``laplacian``: it returns only the
    tangent, the Hessian times ``d2x`` (the second transform's names start
    with ``d2``).  Parameters annotated ``float`` get scalar code; others get
    code that also handles arrays.  ``has_aux`` shows the code of the transforms
    given ``has_aux=True`` (modes reverse, value_and_grad, vjp and forward).

    >>> def f(x: float):
    ...     return x * x
    >>> print(source(f).splitlines()[0])
    def f_grad(x):
    >>> "def f_derivative2(x):" in source(f, mode="derivative", order=2)
    True
    >>> print(source(f, mode="hvp").splitlines()[0])
    def f_grad_tangent(x, d2x):
    """
    binding = binding_of(f, "source")
    if mode not in SOURCE_MODES:
        raise TypeError(f"source: mode must be one of {sorted(SOURCE_MODES)}, got {mode!r}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise TypeError(f"source: order must be a positive int, got {order!r}")
    if order != 1 and SOURCE_MODES[mode] != DERIVATIVE:
        raise TypeError(f"source: order={order} needs mode='derivative', got mode={mode!r}")
    names, _ = binding.wrt_names(wrt, "source")
    f = binding.function
    kinds = pipeline.annotation_kinds(f)
    modes = SOURCE_MODES[mode]
    if flag(has_aux, "has_aux", "source") and modes not in (GRAD, VALUE_AND_GRAD, VJP, JVP):
        raise TypeError(f"source: has_aux=True is not available in mode {mode!r}")
    if isinstance(modes, tuple):  # a transform of emitted code
        inner, outer = modes
        spec = Spec(inner, names, kinds, bool(optimize), closed=True)
        emitted = pipeline.build(f, spec).bind(f)
        return pipeline.build(emitted, Spec(outer, names, kinds, bool(optimize))).text
    spec = Spec(modes, names, kinds, bool(optimize), order, has_aux)
    return pipeline.build(f, spec).text


def differentiate(
    f: Optional[Callable] = None,
    *,
    wrt: Wrt = 0,
    mode: str = "reverse",
    has_aux: bool = False,
    optimize: bool = True,
):
    """Decorator: ``f`` unchanged, with its derivatives bound as attributes.

    ``f.grad``, ``f.value_and_grad``, ``f.jvp``, ``f.vjp``, ``f.source()`` and
    ``f.trace()``; ``wrt`` is their default, ``mode`` the default of ``source()``.
    With ``has_aux=True``, ``f`` returns ``(output, aux)`` and the bound
    derivatives pass ``aux`` through (as :func:`grad` and the others do).
    ``optimize=False`` makes them (and ``source()``) run the unoptimized emission.

    >>> @differentiate(wrt="y")
    ... def f(x, y):
    ...     return x * y
    >>> f(2.0, 3.0), f.grad(2.0, 3.0)
    (6.0, 2.0)
    >>> differentiate(lambda x: x ** 3, optimize=False).grad(2.0)
    12.0
    """
    if f is None:
        return functools.partial(
            differentiate, wrt=wrt, mode=mode, has_aux=has_aux, optimize=optimize
        )
    if inspect.ismethod(f):
        raise TypeError(
            "differentiate decorates functions; for a bound method use the transforms "
            "themselves: ad.grad(model.loss), ad.value_and_grad(model.loss, wrt='self')"
        )
    binding_of(f, "differentiate").wrt_names(wrt, "differentiate")
    flag(has_aux, "has_aux", "differentiate")
    flag(optimize, "optimize", "differentiate")
    if mode not in SOURCE_MODES:
        raise TypeError(f"differentiate: mode must be one of {sorted(SOURCE_MODES)}, got {mode!r}")
    options = {"has_aux": has_aux, "optimize": optimize}
    f.grad = grad(f, wrt, **options)
    f.value_and_grad = value_and_grad(f, wrt, **options)
    f.jvp = functools.partial(jvp, f, **options)
    f.vjp = functools.partial(vjp, f, wrt=wrt, **options)

    def source_of(mode: str = mode, wrt: Wrt = wrt, optimize: bool = optimize) -> str:
        return source(f, mode=mode, wrt=wrt, optimize=optimize, has_aux=has_aux)

    f.source = source_of
    f.trace = functools.partial(trace, f)
    return f


# --------------------------------------------------------------- checking


def check_grad(
    f: Callable, *args: Any, wrt: Wrt = 0, rtol: float = 1e-5, atol: float = 1e-8
) -> float:
    """Compare s2s_ad's derivative with central finite differences in float64.

    For a scalar ``f`` the gradient is compared; for an array-valued ``f``,
    the vector-Jacobian product with a fixed random cotangent.  An argument may be
    anything ``grad`` takes: a dict, list, tuple, dataclass, ``NamedTuple`` or
    ``SimpleNamespace`` has each of its floating leaves perturbed in turn.  Raises
    ``AssertionError`` naming the argument (and leaf, ``dloss/dparams.w``) and index of
    the worst component; returns the largest absolute difference.

    >>> def f(x, y):
    ...     return x * y + y ** 2
    >>> check_grad(f, 1.5, 2.0, wrt=(0, 1)) < 1e-7
    True
    """
    binding = binding_of(f, "check_grad")
    names, single = binding.wrt_names(wrt, "check_grad")
    given = binding.positional_names(len(args), "check_grad", "argument(s)")
    missing = [name for name in names if name not in given]
    if missing:
        raise TypeError(
            f"check_grad: {binding.spelled()} was given {len(args)} argument(s), not "
            f"{', '.join(map(repr, missing))}: pass the arguments to differentiate by position"
        )
    out = f(*args)
    if np.ndim(out) == 0:
        cotangent = 1.0
        analytic = grad(f, wrt=tuple(names))(*args)
    else:
        rng = np.random.default_rng(0)
        cotangent = rng.standard_normal(np.shape(out))
        _, pullback = vjp(f, *args, wrt=tuple(names))
        analytic = pullback(cotangent)

    # The arguments past the named ones go to `*args`: one tuple, as grad differentiates it.
    named = given.index(binding.var_positional) if binding.var_positional in given else None
    packed = list(args) if named is None else [*args[:named], tuple(args[named:])]

    def objective(values: list) -> float:
        if named is not None:
            values = [*values[:named], *values[named]]
        return float(np.real(np.sum(np.asarray(f(*values)) * cotangent)))

    worst = 0.0
    for name, ours in zip(names, analytic):
        position = given.index(name)
        for label, leaf, numeric in compared_leaves(objective, packed, position, ours, name):
            worst = max(worst, _compared(f"d{binding.name}/d{label}", leaf, numeric, rtol, atol))
    return worst


def _compared(what: str, ours: Any, numeric: np.ndarray, rtol: float, atol: float) -> float:
    """The largest difference between ``ours`` and ``numeric``; AssertionError naming the
    worst entry if one differs by more than ``atol + rtol * |numeric|``."""
    ours = np.asarray(ours, dtype=complex if np.iscomplexobj(ours) else float)
    if ours.shape != numeric.shape:
        raise AssertionError(
            f"check_grad: {what} has shape {ours.shape}, but the argument has shape {numeric.shape}"
        )
    error = np.abs(ours - numeric)
    excess = error - (atol + rtol * np.abs(numeric))
    if excess.size and np.max(excess) > 0:
        index = np.unravel_index(int(np.argmax(excess)), excess.shape)
        where = f"[{', '.join(str(int(i)) for i in index)}]" if index else ""
        raise AssertionError(
            f"check_grad: {what}{where}: s2s_ad gives {ours[index].item()!r}, "
            f"finite differences give {numeric[index].item()!r} (difference "
            f"{float(error[index]):.3g} exceeds atol + rtol * |fd| = "
            f"{atol + rtol * abs(numeric[index].item()):.3g})"
        )
    return float(np.max(error)) if error.size else 0.0
