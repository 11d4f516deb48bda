"""One way, for every transform, to bind a call's arguments to the user function's parameters.

What the user passes to a transform is a function (``def`` or lambda) or a
``functools.partial`` of one, nested or not.  :class:`Binding` sees through
the partials to the Python function whose source is transformed, and binds a
call the way Python would: positions, keywords, defaults, keyword-only
parameters, and the arguments and keywords frozen in the partials.  The
result is every parameter's value in the function's order, which is how the
emitted code takes them.

>>> import functools
>>> def f(x, y=2.0, *, scale=1.0):
...     return scale * x * y
>>> Binding.of(f, "grad").bind((3.0,), {"scale": 0.5}, "grad")
(3.0, 2.0, 0.5)
>>> Binding.of(functools.partial(f, y=4.0), "grad").bind((3.0,), {}, "grad")
(3.0, 4.0, 1.0)
"""

from __future__ import annotations

import functools
import inspect
import types
import weakref
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

Wrt = Union[int, str, Sequence[Union[int, str]]]

#: The attribute by which a transform of a ``functools.partial`` names the partial of
#: the transform of its function that it computes (so that it can be transformed again).
PARTIAL_ATTRIBUTE = "_s2s_partial"
#: The attribute by which a function made by ``ad.hessian``, ``ad.jacobian``, ``ad.hvp``, ...
#: (a Python wrapper around sweeps of emitted code, not code s2s_ad reads) names its maker.
MADE_BY_ATTRIBUTE = "_s2s_made_by"
#: The attribute by which the function of a bound method names the class of its ``self``,
#: so that calls of ``self.forward(x)`` in it can be inlined (see :func:`method_function`).
RECEIVER_ATTRIBUTE = "_s2s_receiver_class"
_METHOD_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def method_function(method: types.MethodType) -> Callable:
    """The function of a bound method, as a function of its own that knows the class of
    the object it is bound to (one per function and class, so that a subclass overriding a
    method ``self`` calls gets its own derivative).

    >>> class Model:
    ...     def loss(self, x):
    ...         return x
    >>> f = method_function(Model().loss)
    >>> f.__qualname__, getattr(f, RECEIVER_ATTRIBUTE) is Model
    ('Model.loss', True)
    """
    function, owner = method.__func__, method.__self__
    if isinstance(owner, type) or not inspect.isfunction(function):  # a classmethod
        return function
    per_class = _METHOD_FUNCTIONS.setdefault(function, {})
    cls = type(owner)
    if cls not in per_class:
        copy = types.FunctionType(
            function.__code__,
            function.__globals__,
            function.__name__,
            function.__defaults__,
            function.__closure__,
        )
        copy.__kwdefaults__ = function.__kwdefaults__
        copy.__qualname__ = function.__qualname__
        copy.__module__ = function.__module__
        copy.__annotations__ = function.__annotations__
        copy.__doc__ = function.__doc__
        setattr(copy, RECEIVER_ATTRIBUTE, cls)
        per_class[cls] = copy
    return per_class[cls]


def signature(f: Callable) -> inspect.Signature:
    """The signature of the code that runs: ``f``'s own, not that of a function it wraps
    (``functools.wraps``), unless its own is just ``(*args, **kwargs)``.

    >>> def f(x, y=1.0):
    ...     return x
    >>> str(signature(f))
    '(x, y=1.0)'
    """
    own = inspect.signature(f, follow_wrapped=False)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if own.parameters and all(p.kind in variadic for p in own.parameters.values()):
        return inspect.signature(f)
    return own


def parameters(f: Callable) -> Tuple[str, ...]:
    """The names of ``f``'s parameters, ``*args`` and ``**kwargs`` left out.

    >>> parameters(lambda x, *rest, y: x)
    ('x', 'y')
    """
    return named_parameters(signature(f))


def named_parameters(sig: inspect.Signature) -> Tuple[str, ...]:
    """The names of the parameters of ``sig``, ``*args`` and ``**kwargs`` left out."""
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return tuple(p.name for p in sig.parameters.values() if p.kind not in variadic)


def ordered_parameters(sig: inspect.Signature) -> Tuple[str, ...]:
    """Every parameter of ``sig`` in the order the emitted code takes them: the named ones,
    then ``*args`` (a tuple) and ``**kwargs`` (a dict).

    >>> ordered_parameters(inspect.signature(lambda a, *xs, k, **kw: a))
    ('a', 'k', 'xs', 'kw')
    """
    kinds = {p.name: p.kind for p in sig.parameters.values()}
    variadic = [n for n in kinds if kinds[n] == inspect.Parameter.VAR_POSITIONAL]
    variadic += [n for n in kinds if kinds[n] == inspect.Parameter.VAR_KEYWORD]
    return named_parameters(sig) + tuple(variadic)


def vararg_item(name: str) -> Tuple[str, int] | None:
    """The ``*args`` parameter and index a ``wrt`` name like ``xs[1]`` denotes, or None.

    >>> vararg_item("xs[1]"), vararg_item("x")
    (('xs', 1), None)
    """
    if not name.endswith("]") or "[" not in name:
        return None
    base, index = name[:-1].split("[", 1)
    return base, int(index)


class Binding:
    """How a call of what the user passed reaches the parameters of ``function``.

    ``function`` is the Python function whose source is transformed;
    ``frozen_args`` and ``frozen_kwargs`` are what the ``functools.partial``
    objects around it fix (none for a plain function); ``signature`` is the one
    users call (the partial's); ``params`` are ``function``'s parameter names,
    in the order the emitted code takes them.

    >>> import functools
    >>> def f(a, b, c=3.0):
    ...     return a * b * c
    >>> binding = Binding.of(functools.partial(functools.partial(f, 1.0), c=5.0), "jvp")
    >>> binding.visible, binding.bind((2.0,), {}, "jvp")
    (('b', 'c'), (1.0, 2.0, 5.0))
    """

    def __init__(
        self,
        function: Callable,
        frozen_args: tuple = (),
        frozen_kwargs: Dict[str, Any] | None = None,
        called: Callable | None = None,
    ):
        self.function = function
        self.frozen_args = frozen_args
        self.frozen_kwargs = dict(frozen_kwargs or {})
        self.called = function if called is None else called
        self.plain = not frozen_args and not self.frozen_kwargs
        self.function_signature = signature(function)
        self.params = ordered_parameters(self.function_signature)
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        kinds = [p.kind for p in self.function_signature.parameters.values()]
        # the common call, all arguments by position, needs no binding
        self.direct = self.plain and all(kind in positional for kind in kinds)
        self.signature = (
            self.function_signature
            if self.plain
            else inspect.signature(self.called, follow_wrapped=False)
        )
        #: The parameters a call can still give (those ``wrt`` may name).
        self.visible = named_parameters(self.signature)
        kinds = {p.name: p.kind for p in self.signature.parameters.values()}
        #: The ``*args`` parameter, if any: positions past the named ones index into it.
        self.var_positional = next(
            (n for n, k in kinds.items() if k == inspect.Parameter.VAR_POSITIONAL), None
        )
        self.var_keyword = next(
            (n for n, k in kinds.items() if k == inspect.Parameter.VAR_KEYWORD), None
        )
        #: ``self`` of a bound method: fixed, and differentiated only when ``wrt`` names it.
        self.receiver: Optional[str] = None

    @classmethod
    def of(cls, f: Any, who: str) -> Binding:
        """The binding of ``f``: a function, or a ``functools.partial`` of one (nested).

        >>> Binding.of(len, "grad")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: grad expects a Python function (def or lambda) or a functools.partial of one, ...
        """
        function, args, kwargs = f, (), {}
        receiver = False
        while True:
            if isinstance(function, functools.partial):
                args, kwargs = function.args + args, {**function.keywords, **kwargs}
                function = function.func
            elif inspect.ismethod(function):  # `model.loss`: `self` is a frozen argument
                args = (function.__self__,) + args
                function = method_function(function)
                receiver = True
            elif inspect.isfunction(function) and hasattr(function, PARTIAL_ATTRIBUTE):
                function = getattr(function, PARTIAL_ATTRIBUTE)
            else:
                break
        made_by = getattr(function, MADE_BY_ATTRIBUTE, None)
        if made_by is not None:
            raise TypeError(
                f"{who} cannot transform {function.__name__}: it is made by {made_by}, which "
                "computes with sweeps of emitted code and has no source to read; ad.grad, "
                "ad.value_and_grad, ad.vjp, ad.jvp, ad.derivative, ad.jacobian, ad.hessian, "
                "ad.hvp, ad.laplacian, ad.divergence and ad.curl differentiate it again "
                "(not with has_aux=True); for anything else, transform f itself"
            )
        if not inspect.isfunction(function):
            raise TypeError(
                f"{who} expects a Python function (def or lambda) or a functools.partial "
                f"of one, or a bound method, got {type(f).__name__}: {f!r}"
            )
        binding = cls(function, args, kwargs, f)
        if receiver and binding.params:
            binding.receiver = binding.params[0]
        return binding

    @property
    def name(self) -> str:
        """The function's name, as error messages show it."""
        return self.function.__name__

    def spelled(self) -> str:
        """The signature users call, as ``name(x, y=…)`` (long defaults elided)."""
        parts = []
        star_shown = False
        for p in self.signature.parameters.values():
            if p.kind == p.KEYWORD_ONLY and not star_shown:
                parts.append("*")
                star_shown = True
            star_shown = star_shown or p.kind == p.VAR_POSITIONAL
            prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
            default = "" if p.default is p.empty else "=" + _short(p.default)
            parts.append(prefix + p.name + default)
        return f"{self.name}({', '.join(parts)})"

    def bind(self, args: Sequence[Any], kwargs: Dict[str, Any], who: str) -> tuple:
        """Every parameter's value in ``function``'s order, as Python would bind the call."""
        if self.direct and not kwargs and len(args) == len(self.params):
            return tuple(args)
        try:
            bound = self.function_signature.bind(
                *self.frozen_args, *args, **{**self.frozen_kwargs, **kwargs}
            )
        except TypeError as exc:
            given = f"{len(args)} positional argument(s)"
            if kwargs:
                given += f" and the keyword(s) {', '.join(kwargs)}"
            raise TypeError(f"{who}: {self.spelled()} cannot take {given}: {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments[name] for name in self.params)

    def call(self, ordered: Sequence[Any]) -> Any:
        """Run ``function`` on what :meth:`bind` returned (keyword-only ones by keyword).

        >>> def f(x, *, scale):
        ...     return scale * x
        >>> binding = Binding.of(f, "grad")
        >>> binding.call(binding.bind((2.0,), {"scale": 3.0}, "grad"))
        6.0
        """
        positional, keywords = [], {}
        for name, value in zip(self.params, ordered):
            kind = self.function_signature.parameters[name].kind
            if kind == inspect.Parameter.KEYWORD_ONLY:
                keywords[name] = value
            elif kind == inspect.Parameter.VAR_POSITIONAL:
                positional.extend(value)
            elif kind == inspect.Parameter.VAR_KEYWORD:
                keywords.update(value)
            else:
                positional.append(value)
        return self.function(*positional, **keywords)

    def positional_names(self, count: int, who: str, what: str) -> Tuple[str, ...]:
        """The parameters that ``count`` positional arguments (``what``) go to.

        >>> def f(x, y=1.0, *, scale=2.0):
        ...     return x
        >>> Binding.of(f, "jvp").positional_names(1, "jvp", "primal(s)")
        ('x',)

        Those past the named ones go to ``*args``, named once (see :meth:`grouped`).
        """
        positional = self.positional_parameters()
        if count > len(positional) and self.var_positional is not None:
            return (*positional, self.var_positional)
        if count > len(positional):
            raise TypeError(
                f"{who}: {self.spelled()} takes at most {len(positional)} positional "
                f"argument(s), got {count} {what}"
            )
        return tuple(positional[:count])

    def positional_parameters(self) -> Tuple[str, ...]:
        """The named parameters a call's positional arguments go to, in order.

        >>> Binding.of(lambda a, b=1.0, *xs, k: a, "grad").positional_parameters()
        ('a', 'b')
        """
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return tuple(p.name for p in self.signature.parameters.values() if p.kind in kinds)

    def grouped(self, values: Sequence[Any]) -> tuple:
        """Per-argument values (``jvp``'s tangents), those of the arguments that go to
        ``*args`` gathered into one tuple, as :meth:`positional_names` names them.

        >>> def f(a, *xs):
        ...     return a
        >>> Binding.of(f, "jvp").grouped((1.0, 2.0, 3.0))
        (1.0, (2.0, 3.0))
        """
        named = len(self.positional_parameters())
        if self.var_positional is None or len(values) <= named:
            return tuple(values)
        return (*values[:named], tuple(values[named:]))

    def wrt_names(
        self, wrt: Wrt, who: str, vararg_items: bool = False
    ) -> Tuple[Tuple[str, ...], bool]:
        """Parameter names for ``wrt`` (positions count among the visible parameters),
        and whether a single result was asked for.

        With ``*args``, positions count the positional arguments of a call: past the named
        parameters they are items of ``*args``, named ``xs[1]``, which only a transform
        that picks them out of the tuple's derivative accepts (``vararg_items``).

        >>> def f(x, y):
        ...     return x * y
        >>> Binding.of(f, "grad").wrt_names(("y", 0), "grad")
        (('y', 'x'), False)
        """
        params = self.visible
        variadic = tuple(n for n in (self.var_positional, self.var_keyword) if n is not None)
        positional = self.positional_parameters()
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
            if isinstance(item, int) and self.var_positional is not None:
                # positions index the positional arguments: the named ones, then *args
                if item < 0:
                    raise TypeError(f"{who}: wrt={item} must count from 0 with *args")
                if item < len(positional):
                    names.append(positional[item])
                elif vararg_items:
                    names.append(f"{self.var_positional}[{item - len(positional)}]")
                else:
                    raise TypeError(
                        f"{who}: wrt={item} is an argument passed to `*{self.var_positional}`, "
                        f"which {who} differentiates as one tuple: give "
                        f"wrt={self.var_positional!r}"
                    )
            elif isinstance(item, int):
                if not -len(params) <= item < len(params):
                    raise TypeError(
                        f"{who}: wrt={item} is out of range for {self.spelled()}, "
                        f"which has {len(params)} parameter(s) {params}"
                    )
                names.append(params[item])
            elif item not in params + variadic and item != self.receiver:
                raise TypeError(
                    f"{who}: {self.name} has no parameter {item!r} to differentiate; "
                    f"its parameters are {params + variadic}"
                    + (f" (and {self.receiver!r}, its object)" if self.receiver else "")
                )
            else:
                names.append(item)
        if len(set(names)) != len(names):
            raise TypeError(f"{who}: wrt names a parameter twice: {wrt!r}")
        return tuple(names), single

    def positions(self, names: Sequence[str]) -> Tuple[int, ...]:
        """Where the parameters ``names`` are in what :meth:`bind` returns."""
        return tuple(self.params.index(name) for name in names)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 20 and "\n" not in text else "…"
