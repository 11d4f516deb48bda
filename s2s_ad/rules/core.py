"""The rule registry and the builders that fill it: :class:`Rule`, :class:`Template`,
:func:`scalar_rule`, :func:`template_rule`, :func:`linear_rule`, :func:`variadic_rule`,
:func:`nondifferentiable`.

The table modules (``python``, ``numpy``, ...) register their rules through
these builders; ``s2s_ad.rules`` imports them all.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from types import MethodType
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .kinds import SCALAR, UNKNOWN, always, join_kinds
from .syntax import unparse

# Bound to a parameter whose argument is not a constant written in the call.
NOT_CONSTANT = type("NotConstant", (), {"__repr__": lambda self: "NOT_CONSTANT"})()

ARG_NAMES = ("x", "y", "z", "w")
# Names templates give to the cotangent and the result.
RESERVED = ("g", "out")


@dataclass(frozen=True)
class Template:
    """One template expression, parsed once, with the names it reads."""

    source: str
    tree: ast.expr = field(compare=False)
    names: frozenset = field(compare=False)

    @classmethod
    def parse(cls, source: str) -> Template:
        tree = ast.parse(source.strip(), mode="eval").body
        names = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
        return cls(source, tree, names)


# A JVP template that is the rule's call with the parameter's tangent in its place.
LINEAR = type("Linear", (), {"__repr__": lambda self: "LINEAR"})()


@dataclass(frozen=True)
class Call:
    """How the templates call a function, written as a signature: ``np.transpose(x, axes=None, /)``.

    The parameters come in order, with their defaults (as :func:`parse_parameters` reads
    them).  The call passes those before ``/`` by position and the others by keyword
    (``axes=axes``), so that one left at its default is left out of the emitted call;
    without ``/``, those before the first parameter with a default go by position.

    >>> call = Call.parse("np.rot90(m, k=1, /, axes=(0, 1))")
    >>> call.names, call.defaults
    (('m', 'k', 'axes'), {'k': 1, 'axes': (0, 1)})
    >>> call.written(), call.written(tangent_of="m")
    ('np.rot90(m, k, axes=axes)', 'np.rot90(dm, k, axes=axes)')
    """

    spelling: str
    names: Tuple[str, ...]
    defaults: Mapping[str, Any]
    positional: int  # how many parameters, from the first, go by position

    @classmethod
    def parse(cls, signature: str) -> Call:
        spelling, opening, rest = signature.strip().partition("(")
        if not opening or not rest.endswith(")"):
            raise ValueError(f"a call is written `name(parameters)`, not {signature!r}")
        specs = _top_level_parts(rest[:-1])
        names, defaults = parse_parameters([spec for spec in specs if spec != "/"])
        if "/" in specs:
            positional = specs.index("/")
        else:
            positional = next((i for i, n in enumerate(names) if n in defaults), len(names))
        return cls(spelling.strip(), names, defaults, positional)

    def written(self, tangent_of: Optional[str] = None) -> str:
        """The call's source, with the tangent ``d<tangent_of>`` in place of that parameter."""

        def argument(name: str) -> str:
            return f"d{name}" if name == tangent_of else name

        arguments = [argument(name) for name in self.names[: self.positional]]
        arguments += [f"{name}={argument(name)}" for name in self.names[self.positional :]]
        return f"{self.spelling}({', '.join(arguments)})"


def _top_level_parts(text: str) -> List[str]:
    """``text`` split at the commas outside brackets and strings.

    >>> _top_level_parts("m, k=1, /, axes=(0, 1), mode=','")
    ['m', 'k=1', '/', 'axes=(0, 1)', "mode=','"]
    """
    parts, depth, start = [], 0, 0
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.string in ("(", "[", "{"):
            depth += 1
        elif token.string in (")", "]", "}"):
            depth -= 1
        elif token.string == "," and depth == 0:
            parts.append(text[start : token.start[1]])
            start = token.end[1]
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


@dataclass
class Rule:
    """How to differentiate calls of one primitive.

    ``jvp[i]`` / ``vjp[i]`` are the templates for positional argument ``i``
    (``None``: that argument is not differentiable).  ``namespace(scalar)``
    gives the names the templates may use; ``scalar`` says whether all
    arguments are known to be scalars, so that operator rules can use
    :mod:`math` for floats and NumPy otherwise.  ``elementwise`` rules
    broadcast their arguments: their VJPs are reduced with ``unbroadcast``
    where an argument may be smaller than the result.  ``result_kind`` maps
    the argument kinds to the kind of the result.
    """

    fn: Any
    arg_names: Tuple[str, ...]
    jvp: Tuple[Optional[Template], ...]
    vjp: Tuple[Optional[Template], ...]
    namespace: Callable[[bool], Mapping[str, Any]]
    elementwise: bool = False
    result_kind: Callable[[Sequence[str]], str] = lambda kinds: UNKNOWN
    # Parameters that may be left out, with their values (``axis=None``).
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # A reduction over ``axis``: its result is a scalar when it reduces everything.
    reduction: bool = False
    # The result may be a tuple: forward mode adds the parameters' tangents item by item.
    tuple_result: bool = False
    # Refuses call forms the templates do not fit: ``accepts(bound)`` is None or the reason.
    accepts: Optional[Callable[[Mapping[str, Any]], Optional[str]]] = None
    # The partial derivatives a `scalar_rule` was made from (Taylor mode evaluates them).
    partials: Optional[Tuple[Optional[str], ...]] = None
    # How the templates call ``fn``, where the rule derives JVPs from the call.
    call: Optional[Call] = None
    # The parameters ``fn`` is linear in: the JVP of each is ``call`` on its tangent.
    linear: Tuple[str, ...] = ()
    # Applied to complex values whatever the allowlist says (a user's own rule, ad.defvjp).
    complex_values: bool = False

    @property
    def name(self) -> str:
        return getattr(self.fn, "__name__", repr(self.fn))

    def bind(self, args: Sequence[Any], kwargs: Sequence[Tuple[str, Any]]) -> Dict[str, Any]:
        """Parameter name -> argument (the ``defaults`` value, wrapped by the caller,
        for parameters left out); ``ValueError`` naming what does not fit."""
        if len(args) > len(self.arg_names):
            raise ValueError(f"it takes at most {len(self.arg_names)} positional argument(s)")
        bound = dict(zip(self.arg_names, args))
        for key, value in kwargs:
            if key in bound or key not in self.arg_names:
                raise ValueError(f"the keyword argument `{key}=` does not fit its rule")
            bound[key] = value
        missing = [n for n in self.arg_names if n not in bound and n not in self.defaults]
        if missing:
            raise ValueError(f"`{missing[0]}` is not given")
        return bound

    def refusal(self, constants: Mapping[str, Any]) -> Optional[str]:
        """Why the templates do not fit a call, or None.

        ``constants`` maps the bound parameters to the constants written in
        the call, or to :data:`NOT_CONSTANT`.
        """
        return self.accepts(constants) if self.accepts else None

    def for_call(self, positional: int) -> Rule:
        """The rule of a call with this many positional arguments (itself, unless variadic)."""
        return self

    def constant_partial(self, index: int) -> bool:
        """Whether the JVP of argument ``index`` reads nothing but its tangent."""
        tmpl = self.jvp[index]
        reads = set(self.arg_names) | {"out"}
        return tmpl is not None and not (tmpl.names & reads)


# A rule side that was never registered (``defvjp`` without ``defjvp``):
# the argument is differentiable, but this mode cannot differentiate it.
MISSING = Template("<missing>", ast.Constant(None), frozenset())


@dataclass(frozen=True)
class Refusal(Template):
    """A template that refuses, with its own message: the argument is differentiable, but
    s2s_ad does not implement this derivative (a second derivative through a decomposition)."""

    message: str = ""
    hint: str = ""


def refused(message: str, hint: str = "") -> Refusal:
    """A template that stops the transform with ``message`` (and ``hint``).

    >>> refused("second derivatives through np.linalg.svd are not supported").names
    frozenset()
    """
    return Refusal("<refused>", ast.Constant(None), frozenset(), message, hint)


# Names to give objects that emitted code must bind itself (user rule functions).
PREFERRED_NAMES: Dict[int, str] = {}

_RULES: Dict[int, Rule] = {}
_NONDIFF: Dict[int, Any] = {}
_KEEP_ALIVE: Dict[int, Any] = {}


def key_of(fn: Any) -> int:
    """The registry key of ``fn``: its id, with ``fn`` kept alive so that the id stays its own."""
    # Keyed by identity: many primitives (ufuncs, builtins) are not hashable
    # in a useful way, and identity is exactly "the object the name denotes".
    _KEEP_ALIVE[id(fn)] = fn
    if type(fn) is MethodType:  # a new object per attribute read: known by its parts
        _BOUND_METHODS[(id(fn.__func__), id(fn.__self__))] = id(fn)
    return id(fn)


# A bound method (``scipy.stats.norm.logpdf``) registered with a rule: (function, instance)
# -> its key, since each read of the attribute makes a new method object.
_BOUND_METHODS: Dict[Tuple[int, int], int] = {}


def register(rule: Rule) -> Rule:
    _RULES[key_of(rule.fn)] = rule
    _NONDIFF.pop(id(rule.fn), None)
    return rule


def unregister(fn: Any) -> Optional[Rule]:
    """Remove the rule of ``fn``; returns it (None if there was none), to register again."""
    return _RULES.pop(_id(fn), None)


def all_rules() -> list:
    """Every registered rule (for tests and generated docs)."""
    return list(_RULES.values())


def lookup(fn: Any) -> Optional[Rule]:
    """The rule of a primitive, or None."""
    return _RULES.get(_id(fn))


def rule_of(call: Any) -> Optional[Rule]:
    """The rule of an IR call, fitted to its number of arguments (variadic rules), or None."""
    rule = _RULES.get(_id(call.fn))
    return None if rule is None else rule.for_call(len(call.args))


def _id(fn: Any) -> int:
    """The registry key of a callee, seeing through :class:`Opaque` and bound methods."""
    if type(fn) is Opaque:
        return id(fn.fn)
    if type(fn) is MethodType:
        return _BOUND_METHODS.get((id(fn.__func__), id(fn.__self__)), id(fn))
    return id(fn)


class Opaque:
    """An unhashable callee (a ctypes function) as the callee of an IR call.

    The compiler's stages find callees in sets and dicts; this wrapper hashes by
    identity and calls ``fn``.  It has the rule ``fn`` has (``ad.defvjp(fn,
    ...)``), if any, and the emitter spells ``fn`` itself.

    >>> Opaque(abs)(-2.0), Opaque(abs).__name__
    (2.0, 'abs')
    """

    def __init__(self, fn: Callable):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "fn")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @staticmethod
    def of(fn: Any) -> Any:
        """``fn``, wrapped if it cannot be hashed."""
        try:
            hash(fn)
        except TypeError:
            return Opaque(fn)
        return fn


def nondiff_functions() -> list:
    """Every function registered as non-differentiable (for generated docs)."""
    return list(_NONDIFF.values())


def is_nondifferentiable(fn: Any) -> bool:
    """Whether calls of ``fn`` are constants for differentiation."""
    return _id(fn) in _NONDIFF


def nondifferentiable(*fns: Any) -> None:
    """List functions whose result is treated as a constant (zero derivative)."""
    for fn in fns:
        _NONDIFF[key_of(fn)] = fn
        _RULES.pop(id(fn), None)


_STRUCTURAL: Dict[int, Tuple[int, ...]] = {}


def structure_only(fn: Any, *positions: int) -> None:
    """Say that ``fn`` reads its arguments at ``positions`` for their structure only (which
    fields a record has, which are floating), never for their values: a template calling
    it stays linear in them (Taylor mode maps each coefficient through it)."""
    _STRUCTURAL[key_of(fn)] = positions


def structural_positions(fn: Any) -> Tuple[int, ...]:
    """The argument positions :func:`structure_only` gave for ``fn`` (none by default).

    >>> structural_positions(len)
    ()
    """
    return _STRUCTURAL.get(_id(fn), ())


_SUBSTITUTES: Dict[int, Callable] = {}


def substitute(fn: Any, definition: Callable) -> None:
    """Have calls of the library function ``fn`` transformed as calls of ``definition``, a
    Python function with the same parameters and results, written with functions that have
    rules (``scipy.linalg.cho_solve`` as two triangular solves).  The transform inlines it
    in place of the call, as it does the user's own functions."""
    _SUBSTITUTES[key_of(fn)] = definition


def substitute_of(fn: Any) -> Optional[Callable]:
    """The definition that calls of ``fn`` are transformed as (see :func:`substitute`), or None.

    >>> substitute_of(len) is None
    True
    """
    return _SUBSTITUTES.get(_id(fn))


def is_pure(fn: Any) -> bool:
    """Calls that may be moved, shared or dropped: those with rules, and those listed pure."""
    key = _id(fn)
    if key in _IMPURE:
        return False
    return key in _RULES or key in _NONDIFF or key in _PURE


_IMPURE: Dict[int, Any] = {}
_PURE: Dict[int, Any] = {}


def pure(*fns: Any) -> None:
    """Mark functions without rules whose calls may still be moved, shared or dropped."""
    for fn in fns:
        _PURE[key_of(fn)] = fn


def deterministic_check(*fns: Any) -> None:
    """Mark impure functions that only check their arguments (they run where written, and
    may run again: a checkpointed loop recomputes them)."""
    for fn in fns:
        _CHECKS[key_of(fn)] = fn


def is_deterministic_check(fn: Any) -> bool:
    """Whether ``fn`` was marked with :func:`deterministic_check`."""
    return _id(fn) in _CHECKS


_CHECKS: Dict[int, Any] = {}


def impure(*fns: Any) -> None:
    """Mark functions whose calls must run exactly where written (random draws)."""
    for fn in fns:
        _IMPURE[key_of(fn)] = fn


# ---------------------------------------------------------- complex numbers

_COMPLEX_VERIFIED: Dict[int, Any] = {}
_COMPLEX_SOURCES: Dict[int, Any] = {}
_REAL_ONLY_CONSTANTS: Dict[int, Any] = {}
_COMPLEX_HINTS: Dict[int, str] = {}
_COMPLEX_COUNTERPARTS: Dict[int, Any] = {}


def verified_on_complex(*fns: Any) -> None:
    """List functions whose rules are right for complex values too (an allowlist: the rule
    of a function not listed refuses complex values where they reach it)."""
    for fn in fns:
        _COMPLEX_VERIFIED[key_of(fn)] = fn


def complex_verified_functions() -> list:
    """Every function on the allowlist of :func:`verified_on_complex` (for tests)."""
    return list(_COMPLEX_VERIFIED.values())


def real_only_constant(fn: Any, hint: str = "") -> None:
    """A non-differentiable function whose result is not a constant for complex values
    (``np.sign(z) = z / |z|``): complex values that reach it are refused."""
    _REAL_ONLY_CONSTANTS[key_of(fn)] = fn
    if hint:
        _COMPLEX_HINTS[id(fn)] = hint


def complex_hint(fn: Any, hint: str) -> None:
    """What to write instead of ``fn`` on complex values, for its refusal's message."""
    _COMPLEX_HINTS[key_of(fn)] = hint


def refuses_complex(fn: Any) -> bool:
    """Whether the derivative of a call of ``fn`` would be wrong for complex values: it has
    a rule not verified on them, or it is a constant only for real numbers.

    >>> import numpy as np
    >>> from s2s_ad import rules
    >>> refuses_complex(np.exp), refuses_complex(np.max)
    (False, True)
    """
    key = _id(fn)
    if key in _RULES:
        return not (key in _COMPLEX_VERIFIED or _RULES[key].complex_values)
    return key in _REAL_ONLY_CONSTANTS


def hint_for_complex(fn: Any) -> str:
    """What to write instead of ``fn`` on complex values, or ``""``."""
    return _COMPLEX_HINTS.get(_id(fn), "")


def complex_counterpart(fn: Any, counterpart: Any) -> None:
    """Where complex values may occur, calls of ``fn``, a function whose rule is only right
    for real numbers, are made calls of ``counterpart``: the same values, with a rule
    verified on complex numbers (``np.sign``, a constant for real numbers, and ``sign_of``,
    whose derivative is that of ``z / |z|`` for complex ones)."""
    _COMPLEX_COUNTERPARTS[key_of(fn)] = counterpart


def counterpart_for_complex(fn: Any) -> Optional[Any]:
    """The function that calls of ``fn`` become where complex values may occur, or None.

    >>> counterpart_for_complex(len) is None
    True
    """
    return _COMPLEX_COUNTERPARTS.get(_id(fn))


def produces_complex(*fns: Any) -> None:
    """List functions that may return complex values from real arguments (``np.fft.fft``,
    ``complex``, ``cmath.sqrt``)."""
    for fn in fns:
        _COMPLEX_SOURCES[key_of(fn)] = fn


def is_complex_source(fn: Any) -> bool:
    """Whether ``fn`` may return complex values from real arguments."""
    return _id(fn) in _COMPLEX_SOURCES


# ------------------------------------------------------------ rule builders


def scale(factor: str, partial: str) -> str:
    """``factor * (partial)``, written the way a person would.

    >>> scale("g", "1"), scale("g", "-1"), scale("g", "1 / x"), scale("g", "-sin(x)")
    ('g', '-g', 'g / x', '-(g * sin(x))')
    """
    return unparse(ast.parse(_scale(factor, partial), mode="eval"))


def _scale(factor: str, partial: str) -> str:
    tree = ast.parse(partial.strip(), mode="eval").body

    def is_const(node: ast.AST, value: float) -> bool:
        return isinstance(node, ast.Constant) and node.value == value

    def is_minus_one(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and is_const(node.operand, 1)
        )

    if is_const(tree, 1):
        return factor
    if is_minus_one(tree):
        return f"-{factor}"
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Div):
        rest = unparse(tree.right)
        if is_const(tree.left, 1):
            return f"{factor} / ({rest})"
        if is_minus_one(tree.left):
            return f"-({factor} / ({rest}))"
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
        return f"-({factor} * ({unparse(tree.operand)}))"
    return f"{factor} * ({partial})"


def scalar_rule(
    fn: Any,
    *partials: Optional[str],
    namespace: Callable[[bool], Mapping[str, Any]],
    elementwise: bool = True,
    result_kind: Optional[Callable[[Sequence[str]], str]] = None,
    params: Optional[Sequence[str]] = None,
) -> Rule:
    """A rule from the partial derivatives of a scalar function.

    ``partials[i]`` is d out / d arg_i as an expression of the arguments
    (``x``, ``y``, or the names in ``params``, which may give defaults as in
    :func:`template_rule`) and the result ``out``; ``None`` marks an argument
    that is not differentiable.
    """
    names, defaults = parse_parameters(params or ARG_NAMES[: len(partials)])
    jvp = tuple(
        None if p is None else Template.parse(scale(f"d{n}", p)) for n, p in zip(names, partials)
    )
    vjp = tuple(None if p is None else Template.parse(scale("g", p)) for p in partials)
    kind = result_kind or (join_kinds if elementwise else always(SCALAR))
    rule = Rule(fn, names, jvp, vjp, namespace, elementwise, kind, defaults=defaults)
    rule.partials = tuple(partials)
    return register(rule)


def template_rule(
    fn: Any,
    arg_names: Union[str, Sequence[str]],
    jvp: Sequence[Any],
    vjp: Sequence[Any],
    *,
    namespace: Callable[[bool], Mapping[str, Any]],
    result_kind: Callable[[Sequence[str]], str] = always(UNKNOWN),
    reduction: bool = False,
    accepts: Optional[Callable[[Mapping[str, Any]], Optional[str]]] = None,
) -> Rule:
    """A rule with explicit JVP and VJP templates per argument.

    ``arg_names`` may give defaults, ``("x", "axis=None", "keepdims=False")``:
    the templates read every parameter by name, and a parameter left at its
    default is left out of the template calls that pass it on by keyword
    (``np.sum(dx, axis=axis)`` is ``np.sum(dx)`` for ``np.sum(x)``).  Missing
    templates (non-differentiable parameters such as ``axis``) may be omitted.
    ``arg_names`` may also be the rule's :class:`Call` (``"np.sum(x, axis=None)"``):
    then the JVP of a parameter ``fn`` is linear in may be :data:`LINEAR`, the call on its
    tangent.  ``accepts`` may refuse call forms the templates do not fit (see :func:`only`).
    """
    rule = _template_rule(fn, arg_names, jvp, vjp, namespace, result_kind, reduction)
    rule.accepts = accepts
    return register(rule)


def linear_rule(fn: Any, call: str, vjp: Sequence[Any], **options: Any) -> Rule:
    """The rule of a function linear in each parameter that has a VJP template: only the
    transposes are written.

    ``call`` is how the templates call ``fn``, as :class:`Call` reads it.  The JVP of each
    parameter with a VJP is the call on that parameter's tangent (``np.reshape(x, shape)``
    gives ``np.reshape(dx, shape)``): one per factor for a multilinear function such as
    ``np.matmul``.  A refused parameter is refused both ways.  The options are
    :func:`template_rule`'s.
    """
    jvp = [LINEAR if isinstance(template, str) else template for template in vjp]
    return template_rule(fn, call, jvp, vjp, **options)


def only(**allowed: Any) -> Callable[[Mapping[str, Any]], Optional[str]]:
    """An ``accepts`` that lets options keep only the given values (``only(retstep=False)``).

    >>> only(retstep=False)({"retstep": True})
    '`retstep=` can only be False here'
    >>> only(retstep=False)({"retstep": NOT_CONSTANT}) is None, only(retstep=False)({})
    (False, None)
    """

    def accepts(constants: Mapping[str, Any]) -> Optional[str]:
        for name, value in allowed.items():
            given = constants.get(name, value)
            if given is NOT_CONSTANT or not (given is value or given == value):
                return f"`{name}=` can only be {value!r} here"
        return None

    return accepts


def _template_rule(
    fn: Any,
    arg_names: Union[str, Sequence[str]],
    jvp: Sequence[Any],
    vjp: Sequence[Any],
    namespace: Callable[[bool], Mapping[str, Any]],
    result_kind: Callable[[Sequence[str]], str] = always(UNKNOWN),
    reduction: bool = False,
) -> Rule:
    """The rule :func:`template_rule` registers."""
    call = Call.parse(arg_names) if isinstance(arg_names, str) else None
    names, defaults = (call.names, call.defaults) if call else parse_parameters(arg_names)
    jvp = tuple(jvp) + (None,) * (len(names) - len(jvp))
    vjp = tuple(vjp) + (None,) * (len(names) - len(vjp))
    linear = tuple(name for name, template in zip(names, jvp) if template is LINEAR)
    if linear and call is None:
        raise ValueError("a LINEAR template needs the parameters written as a call")
    if any(f"d{name}" in names for name in linear):
        raise ValueError(f"a parameter of {names} has the name of a tangent")
    jvp = tuple(call.written(name) if t is LINEAR else t for name, t in zip(names, jvp))

    def parse(source):
        return source if source is None or isinstance(source, Template) else Template.parse(source)

    rule = Rule(
        fn,
        names,
        tuple(map(parse, jvp)),
        tuple(map(parse, vjp)),
        namespace,
        False,
        result_kind,
        defaults,
        reduction,
    )
    rule.call, rule.linear = call, linear
    return rule


@dataclass
class VariadicRule(Rule):
    """The rule of a function with ``*args`` (``np.einsum(subscripts, *operands)``).

    ``specialize(n)`` returns ``(parameters, jvp, vjp)`` for a call with
    ``n`` positional arguments, as :func:`template_rule` takes them; the
    result is cached.  The rule's own templates only document it (generated
    docs show them).
    """

    specialize: Optional[Callable[[int], tuple]] = None
    _fitted: Dict[int, Rule] = field(default_factory=dict)

    def for_call(self, positional: int) -> Rule:
        if positional not in self._fitted:
            names, jvp, vjp = self.specialize(positional)
            fitted = _template_rule(self.fn, names, jvp, vjp, self.namespace, self.result_kind)
            fitted.accepts, fitted.tuple_result = self.accepts, self.tuple_result
            self._fitted[positional] = fitted
        return self._fitted[positional]

    def bind(self, args, kwargs):
        return self.for_call(len(args)).bind(args, kwargs)


def variadic_rule(
    fn: Any,
    shown: Tuple[Sequence[str], Sequence[Optional[str]], Sequence[Optional[str]]],
    specialize: Callable[[int], tuple],
    *,
    namespace: Callable[[bool], Mapping[str, Any]],
    accepts: Optional[Callable[[Mapping[str, Any]], Optional[str]]] = None,
    result_kind: Callable[[Sequence[str]], str] = always(UNKNOWN),
) -> Rule:
    """Register a :class:`VariadicRule`; ``shown`` is ``(parameters, jvp, vjp)`` for the docs."""
    shown_rule = _template_rule(fn, *shown, namespace, result_kind)
    rule = VariadicRule(
        fn,
        shown_rule.arg_names,
        shown_rule.jvp,
        shown_rule.vjp,
        namespace,
        result_kind=result_kind,
        specialize=specialize,
        accepts=accepts,
    )
    return register(rule)


def parse_parameters(specs: Sequence[str]) -> Tuple[Tuple[str, ...], Dict[str, Any]]:
    """``("x", "axis=None")`` -> ``(("x", "axis"), {"axis": None})``.

    >>> parse_parameters(["x", "axis=None", "ddof=0"])
    (('x', 'axis', 'ddof'), {'axis': None, 'ddof': 0})
    """
    names, defaults = [], {}
    for spec in specs:
        name, _, default = spec.partition("=")
        if name.strip() in RESERVED:
            raise ValueError(
                f"a rule parameter cannot be called {name.strip()!r}: templates use it"
            )
        names.append(name.strip())
        if default:
            defaults[name.strip()] = ast.literal_eval(default.strip())
    return tuple(names), defaults


def fixed(names: Mapping[str, Any]) -> Callable[[bool], Mapping[str, Any]]:
    """A template namespace that does not depend on the argument kinds."""
    return lambda scalar: names
