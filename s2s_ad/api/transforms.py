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
import weakref
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ..compiler import pipeline
from ..compiler.analyse import kind_of_value
from ..compiler.emit import EMITTED
from ..compiler.pipeline import DERIVATIVE, JVP, TANGENT, Spec
from ..compiler.reverse import GRAD, VALUE_AND_GRAD, VJP
from ..runtime import zeros_like

Wrt = Union[int, str, Sequence[Union[int, str]]]

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


# ------------------------------------------------------------- arguments


def _check_function(f: Any, who: str) -> None:
    if not inspect.isfunction(f):
        raise TypeError(
            f"{who} expects a Python function (def or lambda), got {type(f).__name__}: {f!r}"
        )


def _parameters(f: Callable) -> Tuple[str, ...]:
    return tuple(
        p.name
        for p in inspect.signature(f).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )


def _resolve_wrt(f: Callable, wrt: Wrt, who: str) -> Tuple[Tuple[str, ...], bool]:
    """Parameter names for ``wrt``, and whether a single result was asked for."""
    params = _parameters(f)
    single = isinstance(wrt, (int, str))
    items = (wrt,) if single else wrt
    if not isinstance(items, (tuple, list)) or not items:
        raise TypeError(
            f"{who}: wrt must be an int, a str or a non-empty tuple of those, got {wrt!r}"
        )
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise TypeError(f"{who}: wrt entries must be ints or strs, got {item!r}")
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise TypeError(
                    f"{who}: wrt={item} is out of range for {f.__name__}, "
                    f"which has {len(params)} parameter(s) {params}"
                )
            names.append(params[item])
        elif item not in params:
            raise TypeError(
                f"{who}: {f.__name__} has no parameter {item!r}; its parameters are {params}"
            )
        else:
            names.append(item)
    if len(set(names)) != len(names):
        raise TypeError(f"{who}: wrt names a parameter twice: {wrt!r}")
    return tuple(names), single


def _differentiable(value: Any) -> bool:
    """Floats, ints, float or int arrays, and lists, tuples and dicts of them."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (float, int, np.floating, np.integer)):
        return True
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_differentiable(v) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(_differentiable(v) for v in value.values())
    return isinstance(value, np.ndarray) and (
        np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)
    )


def _as_real(value: Any) -> Any:
    """An int that is differentiated is taken as a real (inside containers too)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.astype(float)
    if isinstance(value, (list, tuple)) and _needs_real(value):
        return type(value)(_as_real(v) for v in value)
    if isinstance(value, dict) and _needs_real(value):
        return {k: _as_real(v) for k, v in value.items()}
    return value


def _needs_real(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_needs_real(v) for v in value)
    if isinstance(value, dict):
        return any(_needs_real(v) for v in value.values())
    return (isinstance(value, (int, np.integer)) and not isinstance(value, bool)) or (
        isinstance(value, np.ndarray) and value.dtype.kind in "iu"
    )


def _may_need_real(value: Any) -> bool:
    """Values whose type does not say whether they hold ints (arrays, containers)."""
    return _needs_real(value) or isinstance(value, (np.ndarray, list, tuple, dict))


# ------------------------------------------------------- derived functions


class _Derived:
    """One transform of one function: emitted code per tuple of argument types."""

    def __init__(
        self, f: Callable, mode: str, wrt: Tuple[str, ...], optimize: bool = True, order: int = 1
    ):
        self.f = f
        self.mode = mode
        self.wrt = wrt
        self.optimize = optimize
        self.order = order
        # Transform the code another transform emitted (forward-over-reverse, ...).
        self.inner: Optional[_Derived] = getattr(f, "_s2s_derived", None)
        self.signature = inspect.signature(f)
        self.params = _parameters(f)
        self.positions = tuple(self.params.index(w) for w in wrt)
        self.by_types: Dict[tuple, Callable] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the emitted code; an error inside it names the user's line."""
        fn, args = self.prepare(args, kwargs)
        try:
            return fn(*args)
        except Exception as exc:
            _annotate(exc)
            raise

    def prepare(self, args: tuple, kwargs: dict) -> Tuple[Callable, tuple]:
        """The emitted function for these arguments, and the arguments in order."""
        args = self.in_order(args, kwargs)
        key = tuple(map(type, args))
        fn = self.by_types.get(key)
        if fn is None:
            fn = self.by_types[key] = self._specialize(args)
        return fn, args

    def in_order(self, args: tuple, kwargs: dict) -> tuple:
        """The arguments by position, keywords and defaults filled in."""
        if kwargs or len(args) != len(self.params):
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            args = tuple(bound.arguments[name] for name in self.params)
        return args

    def _specialize(self, args: tuple) -> Callable:
        for name, position in zip(self.wrt, self.positions):
            value = args[position]
            if not _differentiable(value):
                raise TypeError(
                    f"cannot differentiate {self.f.__name__} with respect to {name!r}: "
                    f"it is a {type(value).__name__}; expected a float, a NumPy float array, "
                    "or a list, tuple or dict of those"
                )
        kinds = tuple(
            kind_of_value(_as_real(a) if i in self.positions else a) for i, a in enumerate(args)
        )
        fn = self.emitted(kinds)
        # Arrays share one type whatever their dtype, so an int array can come
        # after a float one: array positions are checked on every call.
        to_convert = [p for p in self.positions if _may_need_real(args[p])]
        if not to_convert:
            return fn

        def with_reals(*call_args):
            call_args = list(call_args)
            for p in to_convert:
                call_args[p] = _as_real(call_args[p])
            return fn(*call_args)

        return with_reals

    def emitted(self, kinds: Tuple[str, ...]) -> Callable:
        """The emitted function for these argument kinds (of ``inner``'s code, if any)."""
        target = self.inner.transformable(kinds) if self.inner else self.f
        spec = Spec(self.mode, self.wrt, kinds, self.optimize, self.order)
        return pipeline.build(target, spec).bind(target)

    def transformable(self, kinds: Tuple[str, ...]) -> Callable:
        """:meth:`emitted`, for another transform to differentiate again."""
        if self.order != 1:  # Taylor code calls series helpers, which have no rules
            raise TypeError(
                f"derivative(f, order={self.order}) cannot be differentiated again; "
                f"ask for derivative(f, order={self.order + 1}) instead"
            )
        return self.emitted(kinds)


_DERIVED: weakref.WeakKeyDictionary[Callable, Dict[tuple, _Derived]] = weakref.WeakKeyDictionary()


def _derived(
    f: Callable, mode: str, wrt: Tuple[str, ...], inner: Optional[_Derived] = None
) -> _Derived:
    """The cached transform of ``f``; with ``inner``, of the code ``inner`` emits for ``f``."""
    per_function = _DERIVED.setdefault(f, {})
    key = (mode, wrt, inner and (inner.mode, inner.wrt))
    if key not in per_function:
        derived = per_function[key] = _Derived(f, mode, wrt)
        derived.inner = inner or derived.inner
    return per_function[key]


def _annotate(exc: BaseException) -> None:
    """Name the user's source line when emitted code raises."""
    if not hasattr(exc, "add_note"):  # Python < 3.11
        return
    tb = exc.__traceback__
    notes = []
    while tb is not None:
        emitted = EMITTED.get(tb.tb_frame.f_code.co_filename)
        loc = emitted.line_locs.get(tb.tb_lineno) if emitted else None
        if loc is not None:
            notes.append(
                f"s2s_ad: raised in {emitted.name}, derived from {loc.filename}, "
                f"line {loc.lineno}: {loc.source_line.strip()}"
            )
        tb = tb.tb_next
    for note in notes:
        if note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)


def _forwarding(derived: _Derived) -> Callable:
    """A plain function calling ``derived`` (it gets the user-facing name and docs).

    It returns exactly what the emitted code returns, so other transforms
    may differentiate that code again: ``jvp(grad(f), ...)`` is
    forward-over-reverse.
    """

    def call(*args, **kwargs):
        return derived(*args, **kwargs)

    call.__signature__ = derived.signature
    call._s2s_derived = derived
    return call


def _named(wrapper: Callable, f: Callable, what: str) -> Callable:
    wrapper.__name__ = f"{what}_{f.__name__}" if f.__name__ != "<lambda>" else what
    wrapper.__qualname__ = wrapper.__name__
    wrapper.__doc__ = f"{what} of {f.__qualname__}, computed by s2s_ad."
    wrapper.__wrapped__ = f
    return wrapper


# ------------------------------------------------------------ transforms


def grad(f: Callable, wrt: Wrt = 0) -> Callable:
    """The gradient of a scalar-valued ``f`` with respect to ``wrt``.

    >>> def f(x, y):
    ...     return x * x * y
    >>> grad(f)(3.0, 2.0)
    12.0
    >>> grad(f, wrt=(0, "y"))(3.0, 2.0)
    (12.0, 9.0)
    """
    _check_function(f, "grad")
    names, single = _resolve_wrt(f, wrt, "grad")
    derived = _derived(f, GRAD, names)
    if single or len(names) > 1:
        return _named(_forwarding(derived), f, "grad")

    def gradient(*args, **kwargs):
        return (derived(*args, **kwargs),)

    return _named(gradient, f, "grad")


def value_and_grad(f: Callable, wrt: Wrt = 0) -> Callable:
    """``(f(*args), gradient)`` in one pass.

    >>> def f(x):
    ...     return x ** 3
    >>> value_and_grad(f)(2.0)
    (8.0, 12.0)
    """
    _check_function(f, "value_and_grad")
    names, single = _resolve_wrt(f, wrt, "value_and_grad")
    derived = _derived(f, VALUE_AND_GRAD, names)
    if single or len(names) > 1:
        return _named(_forwarding(derived), f, "value_and_grad")

    def value_and_gradient(*args, **kwargs):
        value, result = derived(*args, **kwargs)
        return value, (result,)

    return _named(value_and_gradient, f, "value_and_grad")


def vjp(f: Callable, *primals: Any, wrt: Optional[Wrt] = None) -> Tuple[Any, Callable]:
    """``(f(*primals), pullback)``; ``pullback(cotangent)`` returns a tuple of cotangents.

    By default every float or array argument is differentiated.  The
    pullback may be called several times.

    >>> def f(x, y):
    ...     return x * y
    >>> out, pullback = vjp(f, 3.0, 4.0)
    >>> out, pullback(1.0), pullback(2.0)
    (12.0, (4.0, 3.0), (8.0, 6.0))
    """
    _check_function(f, "vjp")
    if wrt is None:
        params = _parameters(f)
        names = tuple(
            name
            for name, value in zip(params, primals)
            if _differentiable(value) and not _needs_real(value)  # floats and float arrays
        )
        if not names:
            raise TypeError("vjp: none of the arguments is a float or a float array")
    else:
        names, _ = _resolve_wrt(f, wrt, "vjp")
    derived = _derived(f, VJP, names)
    fn, args = derived.prepare(primals, {})
    try:
        out, pullback = fn(*args)
    except Exception as exc:
        _annotate(exc)
        raise

    def checked_pullback(cotangent):
        try:
            return pullback(cotangent)
        except Exception as exc:
            _annotate(exc)
            raise

    return out, _named(checked_pullback, f, "pullback")


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> Tuple[Any, Any]:
    """``(f(*primals), J @ tangents)``: forward mode.

    A tangent of ``None`` marks an argument that is not differentiated.

    >>> def f(x, y):
    ...     return x * y
    >>> jvp(f, (3.0, 4.0), (1.0, None))
    (12.0, 4.0)
    """
    _check_function(f, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp expects primals and tangents as tuples: jvp(f, (x, y), (dx, dy))")
    if len(primals) != len(tangents):
        raise TypeError(
            f"jvp: got {len(primals)} primal(s) but {len(tangents)} tangent(s); "
            "give one tangent per primal (None for an argument not differentiated)"
        )
    params = _parameters(f)
    if len(primals) != len(params):
        raise TypeError(f"jvp: {f.__name__} takes {len(params)} argument(s), got {len(primals)}")
    names = tuple(name for name, t in zip(params, tangents) if t is not None)
    if not names:
        out = f(*primals)
        return out, zeros_like(out)
    for name, t in zip(params, tangents):
        if t is not None and not _differentiable(t):
            raise TypeError(
                f"jvp: the tangent of {name!r} is a {type(t).__name__}; "
                "expected a float, an array, or a list, tuple or dict of those"
            )
    derived = _derived(f, JVP, names)
    fn, args = derived.prepare(tuple(primals), {})
    active = tuple(_as_real(t) for t in tangents if t is not None)
    try:
        return fn(*args, *active)
    except Exception as exc:
        _annotate(exc)
        raise


def derivative(f: Callable, order: int = 1) -> Callable:
    """The ``order``-th derivative of ``f: R -> R`` (elementwise for an array input).

    The first argument is differentiated; further arguments are passed
    through.  The output may be an array (``f: R -> R^m``).  Orders above 1
    propagate truncated Taylor series through ``f`` in one pass, so the
    code grows linearly with the order, not exponentially.

    >>> import math
    >>> def f(x):
    ...     return math.sin(x) * x
    >>> round(derivative(f)(0.0), 6)
    0.0
    >>> derivative(lambda x: x ** 3, order=3)(2.0)
    6.0
    """
    _check_function(f, "derivative")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise TypeError(f"derivative: order must be a positive int, got {order!r}")
    names, _ = _resolve_wrt(f, 0, "derivative")
    if order == 1:
        derived = _derived(f, DERIVATIVE, names)
    else:
        derived = _Derived(f, DERIVATIVE, names, order=order)
    return _named(_forwarding(derived), f, "derivative")


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
    _check_function(f, "trace")
    return pipeline.trace_text(f)


def source(
    f: Callable, mode: str = "reverse", wrt: Wrt = 0, optimize: bool = True, order: int = 1
) -> str:
    """The emitted derivative source of ``f``.

    ``mode`` is ``"reverse"`` (the gradient, as ``grad`` runs it),
    ``"forward"`` (the JVP), or one of ``"value_and_grad"``, ``"vjp"``,
    ``"derivative"``; ``order`` is that of ``"derivative"``.  ``"hvp"`` (or
    ``"hessian"``) shows forward mode applied to the emitted gradient, the
    code behind ``hvp``, ``hessian`` and ``laplacian``: it returns only the
    tangent, the Hessian times ``dx_1``.  Parameters
    annotated ``float`` get scalar code; others get code that also handles
    arrays.

    >>> def f(x: float):
    ...     return x * x
    >>> print(source(f).splitlines()[0])
    def f_grad(x):
    >>> "def f_derivative2(x):" in source(f, mode="derivative", order=2)
    True
    >>> print(source(f, mode="hvp").splitlines()[0])
    def f_grad_tangent(x, dx_1):
    """
    _check_function(f, "source")
    if mode not in SOURCE_MODES:
        raise TypeError(f"source: mode must be one of {sorted(SOURCE_MODES)}, got {mode!r}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise TypeError(f"source: order must be a positive int, got {order!r}")
    if order != 1 and SOURCE_MODES[mode] != DERIVATIVE:
        raise TypeError(f"source: order={order} needs mode='derivative', got mode={mode!r}")
    names, _ = _resolve_wrt(f, wrt, "source")
    kinds = pipeline.annotation_kinds(f)
    modes = SOURCE_MODES[mode]
    if isinstance(modes, tuple):  # a transform of emitted code
        inner, outer = modes
        emitted = pipeline.build(f, Spec(inner, names, kinds, bool(optimize))).bind(f)
        return pipeline.build(emitted, Spec(outer, names, kinds, bool(optimize))).text
    spec = Spec(modes, names, kinds, bool(optimize), order)
    return pipeline.build(f, spec).text


def differentiate(f: Optional[Callable] = None, *, wrt: Wrt = 0, mode: str = "reverse"):
    """Decorator: ``f`` unchanged, with its derivatives bound as attributes.

    ``f.grad``, ``f.value_and_grad``, ``f.jvp``, ``f.vjp``, ``f.source()`` and
    ``f.trace()``; ``wrt`` is their default, ``mode`` the default of ``source()``.

    >>> @differentiate(wrt="y")
    ... def f(x, y):
    ...     return x * y
    >>> f(2.0, 3.0), f.grad(2.0, 3.0)
    (6.0, 2.0)
    """
    if f is None:
        return functools.partial(differentiate, wrt=wrt, mode=mode)
    _check_function(f, "differentiate")
    _resolve_wrt(f, wrt, "differentiate")
    if mode not in SOURCE_MODES:
        raise TypeError(f"differentiate: mode must be one of {sorted(SOURCE_MODES)}, got {mode!r}")
    f.grad = grad(f, wrt)
    f.value_and_grad = value_and_grad(f, wrt)
    f.jvp = functools.partial(jvp, f)
    f.vjp = functools.partial(vjp, f, wrt=wrt)

    def source_of(mode: str = mode, wrt: Wrt = wrt, optimize: bool = True) -> str:
        return source(f, mode=mode, wrt=wrt, optimize=optimize)

    f.source = source_of
    f.trace = functools.partial(trace, f)
    return f


# --------------------------------------------------------------- checking


def check_grad(
    f: Callable, *args: Any, wrt: Wrt = 0, rtol: float = 1e-5, atol: float = 1e-8
) -> float:
    """Compare s2s_ad's derivative with central finite differences in float64.

    For a scalar ``f`` the gradient is compared; for an array-valued ``f``,
    the vector-Jacobian product with a fixed random cotangent.  Raises
    ``AssertionError`` naming the argument and index of the worst component;
    returns the largest absolute difference.

    >>> def f(x, y):
    ...     return x * y + y ** 2
    >>> check_grad(f, 1.5, 2.0, wrt=(0, 1)) < 1e-7
    True
    """
    _check_function(f, "check_grad")
    names, single = _resolve_wrt(f, wrt, "check_grad")
    params = _parameters(f)
    out = f(*args)
    if np.ndim(out) == 0:
        cotangent = 1.0
        analytic = grad(f, wrt=tuple(names))(*args)
    else:
        rng = np.random.default_rng(0)
        cotangent = rng.standard_normal(np.shape(out))
        _, pullback = vjp(f, *args, wrt=tuple(names))
        analytic = pullback(cotangent)

    def objective(values: list) -> float:
        return float(np.sum(np.asarray(f(*values), dtype=float) * cotangent))

    worst = 0.0
    for name, ours in zip(names, analytic):
        position = params.index(name)
        numeric = _central_differences(objective, list(args), position)
        ours = np.asarray(ours, dtype=float)
        if ours.shape != numeric.shape:
            raise AssertionError(
                f"check_grad: the derivative with respect to {name!r} has shape {ours.shape}, "
                f"but the argument has shape {numeric.shape}"
            )
        error = np.abs(ours - numeric)
        excess = error - (atol + rtol * np.abs(numeric))
        if excess.size and np.max(excess) > 0:
            index = np.unravel_index(int(np.argmax(excess)), excess.shape)
            where = f"[{', '.join(str(int(i)) for i in index)}]" if index else ""
            raise AssertionError(
                f"check_grad: d{f.__name__}/d{name}{where}: s2s_ad gives {float(ours[index])!r}, "
                f"finite differences give {float(numeric[index])!r} (difference "
                f"{float(error[index]):.3g} exceeds atol + rtol * |fd| = "
                f"{atol + rtol * abs(float(numeric[index])):.3g})"
            )
        worst = max(worst, float(np.max(error)) if error.size else 0.0)
    return worst


def _central_differences(objective: Callable, args: list, position: int) -> np.ndarray:
    base = np.array(args[position], dtype=float)
    is_array = isinstance(args[position], np.ndarray)
    result = np.zeros_like(base)
    step_scale = np.finfo(float).eps ** (1 / 3)
    for index in np.ndindex(base.shape):
        h = step_scale * max(1.0, abs(float(base[index])))
        values = []
        for sign in (1.0, -1.0):
            shifted = base.copy()
            shifted[index] += sign * h
            args[position] = shifted if is_array else float(shifted)
            values.append(objective(args))
        result[index] = (values[0] - values[1]) / (2 * h)
    args[position] = base if is_array else float(base)
    return result
