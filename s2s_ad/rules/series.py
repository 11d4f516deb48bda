"""Truncated Taylor series: the runtime rules of ``derivative(f, order=n)``.

Code emitted for an ``n``-th derivative carries, beside each varied value
``t``, the tuple ``dt`` of its *normalized* Taylor coefficients of orders
``1..n`` (coefficient ``k`` is ``t^(k) / k!``; order 0 is ``t`` itself).  A
call that is linear in its varied arguments is differentiated by the JVP
templates of its rule, once per order (:mod:`s2s_ad.compiler.taylor`).  Every other
call goes through a *Taylor rule* from this module::

    dt2 = taylor_mul(t2, t0, dt0, t1, dt1)      # t2 = t0 * t1

A Taylor rule is ``rule(out, x, dx, y, dy, ..., **options)``: the primal
result, then each differentiable argument with its coefficient tuple (None
where that argument does not vary), then the call's other arguments by
keyword; it returns the result's coefficient tuple, in ``O(n^2)``
operations.  There are explicit recurrences for products, quotients,
powers and the elementary functions; every other elementwise function
registered with ``scalar_rule`` gets a generic rule from its partial
derivatives (out' = sum_i d out / d x_i * x_i'), which are evaluated on
:class:`Series`.

>>> taylor_exp(1.0, 0.0, (1.0, 0.0, 0.0))   # exp(t) = 1 + t + t^2/2 + t^3/6
(1.0, 0.5, 0.16666666666666666)
"""

from __future__ import annotations

import ast
import builtins
import math
import operator
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import runtime
from . import core
from .syntax import AST_BINARY, AST_COMPARE

Coefficients = Tuple[Any, ...]
TaylorRule = Callable[..., Coefficients]

# Taylor rules by the id of the primitive, as rules are (see core.key_of).
_TAYLOR: Dict[int, TaylorRule] = {}
# Functions whose generic rule could not be built (a partial calls a function
# without a Taylor rule): looked up once.
_NO_RULE: Dict[int, Any] = {}
_IN_PROGRESS: set = set()


def taylor_rule_of(fn: Any) -> Optional[TaylorRule]:
    """The Taylor rule of a primitive, or None.

    >>> taylor_rule_of(np.sin).__name__, taylor_rule_of(math.sin).__name__
    ('taylor_sin', 'taylor_sin')
    >>> taylor_rule_of(np.prod) is None
    True
    """
    found = _TAYLOR.get(id(fn))
    if found is None and id(fn) not in _NO_RULE:
        found = _generic_rule(fn)
        if found is None:
            _NO_RULE[id(fn)] = fn
    return found


def _register(*fns: Any) -> Callable[[TaylorRule], TaylorRule]:
    """Decorator: the Taylor rule of ``fns``; emitted code calls it by its ``__name__``."""

    def decorate(rule: TaylorRule) -> TaylorRule:
        for fn in fns:
            core.key_of(fn)  # keeps fn alive, so that its id stays its own
            _TAYLOR[id(fn)] = rule
        core.pure(rule)
        return rule

    return decorate


# ------------------------------------------------------------- helpers


def taylor_seed(x: Any, n: int) -> Coefficients:
    """The coefficients of the input itself: ``(1, 0, ..., 0)``, shaped like ``x``.

    >>> taylor_seed(np.zeros(2, dtype=np.float32), 2)
    (array([1., 1.], dtype=float32), array([0., 0.], dtype=float32))
    """
    return (runtime.ones_like(x),) + taylor_zeros(x, n - 1)


def taylor_zeros(x: Any, n: int) -> Coefficients:
    """``n`` zero coefficients shaped like ``x`` (each its own array, to write into).

    >>> taylor_zeros(2.5, 3)
    (0.0, 0.0, 0.0)
    """
    return tuple(runtime.zeros_like(x) for _ in range(n))


def taylor_copy(dx: Coefficients) -> Coefficients:
    """A copy of each coefficient, to write items into.

    >>> a = [1.0]; taylor_copy(([1.0], a))[1] is a
    False
    """
    return tuple(runtime.copy_of(c) for c in dx)


def taylor_scale(coefficient: Any, factor: float) -> Any:
    """``coefficient * factor``, item by item in lists, tuples and dicts.

    >>> taylor_scale([0.5, (1.0,)], 2)
    [1.0, (2.0,)]
    """
    if isinstance(coefficient, (list, tuple)):
        return type(coefficient)(taylor_scale(c, factor) for c in coefficient)
    if isinstance(coefficient, dict):
        return {k: taylor_scale(v, factor) for k, v in coefficient.items()}
    return coefficient * factor


core.pure(taylor_seed, taylor_scale)
# Each call makes new containers, which code writes items into: never shared.
core.impure(taylor_zeros, taylor_copy)


def _is_python_number(x: Any) -> bool:
    return type(x) in (float, int)


def _elementary(name: str, x: Any) -> Any:
    """``math.<name>(x)`` for Python numbers (a float stays a float), else ``np.<name>(x)``."""
    return getattr(math if _is_python_number(x) else np, name)(x)


def _series(x: Any, dx: Optional[Coefficients], n: int) -> List[Any]:
    """``[x, x_1, ..., x_n]``; a constant has zero coefficients."""
    if dx is None:
        return [x] + [0.0] * n
    return [x, *dx[:n]]


def _order(dx: Optional[Coefficients], dy: Optional[Coefficients]) -> int:
    """The order of a binary rule: that of the shorter of the coefficient tuples given."""
    if dx is None or dy is None:
        return len(dx if dy is None else dy)
    return min(len(dx), len(dy))


def _cauchy(a: Sequence[Any], b: Sequence[Any], k: int, start: int = 0, stop: int = -1) -> Any:
    """``sum_{j=start..stop} a_j b_{k-j}`` (``stop`` defaults to ``k``): with the
    defaults, the coefficient ``k`` of the product of two series."""
    stop = k if stop < 0 else stop
    total = a[start] * b[k - start]
    for j in range(start + 1, stop + 1):
        total = total + a[j] * b[k - j]
    return total


def _rate(a: Sequence[Any], p: Sequence[Any], k: int) -> Any:
    """Coefficient ``k`` of ``u`` where ``u' = a' p``: ``(1/k) sum_{j=1..k} j a_j p_{k-j}``."""
    total = a[1] * p[k - 1]
    for j in range(2, k + 1):
        total = total + j * a[j] * p[k - j]
    return total / k


def _product(a: Sequence[Any], b: Sequence[Any], n: int) -> List[Any]:
    return [_cauchy(a, b, k) for k in range(n + 1)]


# -------------------------------------------------- arithmetic rules


@_register(operator.add, np.add)
def taylor_add(out, x, dx, y, dy) -> Coefficients:
    """``x + y``: coefficients add."""
    n = _order(dx, dy)
    if dx is None or dy is None:
        return tuple(dy if dx is None else dx)[:n]
    return tuple(a + b for a, b in zip(dx[:n], dy[:n]))


@_register(operator.sub, np.subtract)
def taylor_sub(out, x, dx, y, dy) -> Coefficients:
    """``x - y``: coefficients subtract."""
    n = _order(dx, dy)
    if dy is None:
        return tuple(dx[:n])
    if dx is None:
        return tuple(-b for b in dy[:n])
    return tuple(a - b for a, b in zip(dx[:n], dy[:n]))


@_register(operator.neg, np.negative)
def taylor_neg(out, x, dx) -> Coefficients:
    """``-x``."""
    return tuple(-a for a in dx)


@_register(operator.mul, np.multiply)
def taylor_mul(out, x, dx, y, dy) -> Coefficients:
    """``x * y``: the Cauchy product ``c_k = sum_j x_j y_{k-j}``.

    >>> taylor_mul(2.0, 1.0, (1.0, 0.0), 2.0, (0.0, 1.0))   # (1 + t) (2 + t^2)
    (2.0, 1.0)
    """
    n = _order(dx, dy)
    if dy is None:
        return tuple(a * y for a in dx[:n])
    if dx is None:
        return tuple(x * b for b in dy[:n])
    a, b = _series(x, dx, n), _series(y, dy, n)
    return tuple(_cauchy(a, b, k) for k in range(1, n + 1))


@_register(np.square)
def taylor_square(out, x, dx) -> Coefficients:
    """``x ** 2``, as ``x * x``."""
    return taylor_mul(out, x, dx, x, dx)


@_register(operator.truediv, np.divide, np.true_divide)
def taylor_div(out, x, dx, y, dy) -> Coefficients:
    """``x / y``: ``q_k = (x_k - sum_{j=1..k} y_j q_{k-j}) / y_0``.

    >>> taylor_div(1.0, 1.0, None, 1.0, (1.0, 0.0, 0.0))   # 1 / (1 + t)
    (-1.0, 1.0, -1.0)
    """
    n = _order(dx, dy)
    if dy is None:
        return tuple(a / y for a in dx[:n])
    a, b = _series(x, dx, n), _series(y, dy, n)
    q = [out]
    for k in range(1, n + 1):
        q.append((a[k] - _cauchy(b, q, k, start=1)) / y)
    return tuple(q[1:])


@_register(np.reciprocal)
def taylor_reciprocal(out, x, dx) -> Coefficients:
    """``1 / x``."""
    return taylor_div(out, 1.0, None, x, dx)


# ------------------------------------------------------------- powers

# Integer exponents up to this are powered by repeated products, which is
# exact at x = 0, where the general recurrence divides by zero.
_MAX_POWERED_EXPONENT = 1024


@_register(operator.pow, builtins.pow, math.pow, np.power, np.float_power)
def taylor_pow(out, x, dx, y, dy) -> Coefficients:
    """``x ** y``: a constant exponent by the recurrence of ``x c' = y x' c``,
    a varied one as ``exp(y log x)``.

    >>> taylor_pow(4.0, 2.0, (1.0, 0.0, 0.0), 2, None)   # (2 + t) ** 2
    (4.0, 1.0, 0.0)
    """
    n = _order(dx, dy)
    if dy is None:
        return _constant_power(out, _series(x, dx, n), y, n)
    log_x = _series(_elementary("log", x), None, n)
    if dx is not None:
        log_x = [log_x[0], *taylor_log(log_x[0], x, dx)]
    exponent = _product(_series(y, dy, n), log_x, n)
    return _exp_coefficients(out, exponent, n)


def _constant_power(out: Any, a: List[Any], p: Any, n: int) -> Coefficients:
    whole = _whole_number(p)
    if whole is not None and 0 <= whole <= _MAX_POWERED_EXPONENT:
        return tuple(_powered(a, whole, n)[1:])
    c = [out]
    for k in range(1, n + 1):
        total = ((p + 1) - k) * a[1] * c[k - 1]
        for j in range(2, k + 1):
            total = total + ((p + 1) * j - k) * a[j] * c[k - j]
        c.append(total / (k * a[0]))
    return tuple(c[1:])


def _whole_number(p: Any) -> Optional[int]:
    """``p`` as an int if it is one number with an integer value, else None."""
    if isinstance(p, (bool, np.bool_)) or np.ndim(p) != 0:
        return None
    if isinstance(p, (int, np.integer)):
        return int(p)
    if isinstance(p, (float, np.floating)) and float(p).is_integer():
        return int(p)
    return None


def _powered(a: List[Any], p: int, n: int) -> List[Any]:
    """The series ``a ** p`` by repeated squaring."""
    result: Optional[List[Any]] = None
    base = a
    while True:
        if p & 1:
            result = base if result is None else _product(result, base, n)
        p >>= 1
        if not p:
            break
        base = _product(base, base, n)
    if result is None:  # p == 0
        one = a[0] ** 0
        return [one] + [0 * c for c in a[1:]]
    return result


@_register(math.sqrt, np.sqrt)
def taylor_sqrt(out, x, dx) -> Coefficients:
    """``sqrt(x)``: ``s_k = (x_k - sum_{j=1..k-1} s_j s_{k-j}) / (2 s_0)``.

    >>> taylor_sqrt(2.0, 4.0, (1.0, 0.0))   # sqrt(4 + t) = 2 + t/4 - t^2/64
    (0.25, -0.015625)
    """
    n = len(dx)
    s = [out]
    for k in range(1, n + 1):
        rest = _cauchy(s, s, k, start=1, stop=k - 1) if k > 1 else 0.0
        s.append((dx[k - 1] - rest) / (2 * out))
    return tuple(s[1:])


# -------------------------------------------- exponentials and logarithms


def _exp_coefficients(out: Any, a: Sequence[Any], n: int) -> Coefficients:
    e = [out]
    for k in range(1, n + 1):
        e.append(_rate(a, e, k))
    return tuple(e[1:])


@_register(math.exp, np.exp)
def taylor_exp(out, x, dx) -> Coefficients:
    """``exp(x)``: ``e' = x' e``."""
    return _exp_coefficients(out, _series(x, dx, len(dx)), len(dx))


@_register(math.expm1, np.expm1)
def taylor_expm1(out, x, dx) -> Coefficients:
    """``expm1(x)``: the coefficients of ``exp(x)``."""
    return _exp_coefficients(out + 1, _series(x, dx, len(dx)), len(dx))


def _log_coefficients(a: Sequence[Any], n: int) -> Coefficients:
    """The coefficients of ``log(a)``: ``l_k = (a_k - sum_{j<k} (j/k) l_j a_{k-j}) / a_0``."""
    lg: List[Any] = [None]
    for k in range(1, n + 1):
        total = a[k]
        for j in range(1, k):
            total = total - (j / k) * lg[j] * a[k - j]
        lg.append(total / a[0])
    return tuple(lg[1:])


@_register(math.log, np.log)
def taylor_log(out, x, dx) -> Coefficients:
    """``log(x)``: ``x l' = x'``.

    >>> taylor_log(0.0, 1.0, (1.0, 0.0, 0.0))   # log(1 + t) = t - t^2/2 + t^3/3
    (1.0, -0.5, 0.3333333333333333)
    """
    return _log_coefficients(_series(x, dx, len(dx)), len(dx))


@_register(math.log1p, np.log1p)
def taylor_log1p(out, x, dx) -> Coefficients:
    """``log1p(x)``: the coefficients of ``log(1 + x)``."""
    return _log_coefficients(_series(1 + x, dx, len(dx)), len(dx))


# ------------------------------------------------ trigonometric functions


def _sin_cos(s0: Any, c0: Any, a: Sequence[Any], n: int, sign: int) -> Tuple[List, List]:
    """The series of ``sin(a)`` and ``cos(a)`` (``sign = -1``), or of ``sinh`` and
    ``cosh`` (``sign = 1``), computed together: ``s' = a' c``, ``c' = sign a' s``."""
    s, c = [s0], [c0]
    for k in range(1, n + 1):
        s.append(_rate(a, c, k))
        c.append(sign * _rate(a, s, k))
    return s, c


@_register(math.sin, np.sin)
def taylor_sin(out, x, dx) -> Coefficients:
    """``sin(x)``, computed with ``cos(x)``."""
    s, _ = _sin_cos(out, _elementary("cos", x), _series(x, dx, len(dx)), len(dx), -1)
    return tuple(s[1:])


@_register(math.cos, np.cos)
def taylor_cos(out, x, dx) -> Coefficients:
    """``cos(x)``, computed with ``sin(x)``."""
    _, c = _sin_cos(_elementary("sin", x), out, _series(x, dx, len(dx)), len(dx), -1)
    return tuple(c[1:])


@_register(math.sinh, np.sinh)
def taylor_sinh(out, x, dx) -> Coefficients:
    """``sinh(x)``, computed with ``cosh(x)``."""
    s, _ = _sin_cos(out, _elementary("cosh", x), _series(x, dx, len(dx)), len(dx), 1)
    return tuple(s[1:])


@_register(math.cosh, np.cosh)
def taylor_cosh(out, x, dx) -> Coefficients:
    """``cosh(x)``, computed with ``sinh(x)``."""
    _, c = _sin_cos(_elementary("sinh", x), out, _series(x, dx, len(dx)), len(dx), 1)
    return tuple(c[1:])


def _tangent_like(out: Any, a: Sequence[Any], n: int, sign: int) -> Coefficients:
    """``t`` with ``t' = a' (1 + sign t^2)``: ``tan`` (``sign = 1``) and ``tanh`` (-1)."""
    t, v = [out], [1 + sign * out * out]
    for k in range(1, n + 1):
        t.append(_rate(a, v, k))
        v.append(sign * _cauchy(t, t, k))
    return tuple(t[1:])


@_register(math.tan, np.tan)
def taylor_tan(out, x, dx) -> Coefficients:
    """``tan(x)``: ``t' = x' (1 + t^2)``."""
    return _tangent_like(out, _series(x, dx, len(dx)), len(dx), 1)


@_register(math.tanh, np.tanh)
def taylor_tanh(out, x, dx) -> Coefficients:
    """``tanh(x)``: ``t' = x' (1 - t^2)``.

    >>> taylor_tanh(0.0, 0.0, (1.0, 0.0, 0.0))   # tanh(t) = t - t^3/3
    (1.0, 0.0, -0.3333333333333333)
    """
    return _tangent_like(out, _series(x, dx, len(dx)), len(dx), -1)


# ------------------------------------------------------ bilinear products


def _bilinear_rule(fn: Any) -> TaylorRule:
    """The Taylor rule of a product ``fn(x, y)`` linear in each operand:
    ``c_k = sum_j fn(x_j, y_{k-j})``."""

    def rule(out, x, dx, y, dy, **options) -> Coefficients:
        n = _order(dx, dy)
        if dy is None:
            return tuple(fn(a, y, **options) for a in dx[:n])
        if dx is None:
            return tuple(fn(x, b, **options) for b in dy[:n])
        a, b = _series(x, dx, n), _series(y, dy, n)
        terms = [[fn(a[j], b[k - j], **options) for j in range(k + 1)] for k in range(1, n + 1)]
        return tuple(_total(t) for t in terms)

    rule.__doc__ = (
        f"``{fn.__name__}(x, y)``, bilinear: ``c_k = sum_j {fn.__name__}(x_j, y_(k-j))``."
    )
    return rule


def _total(terms: List[Any]) -> Any:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


BILINEAR = [np.matmul, np.dot, np.inner, np.outer, np.vdot, np.kron, np.tensordot, np.cross]
BILINEAR += [np.convolve, np.correlate]
BILINEAR += [getattr(np, name) for name in ("vecdot", "matvec", "vecmat") if hasattr(np, name)]


# -------------------------------------------------------------- series


class Series:
    """A truncated Taylor series ``c[0] + c[1] t + ... + c[m] t^m``, ``c[0]`` the value.

    Arithmetic and :func:`apply` go through the Taylor rules, so that rules
    derived from partial derivatives can evaluate them on series.

    >>> x = Series([0.5, 1.0, 0.0])        # x = 0.5 + t
    >>> (x * x - 1 / x).c                  # x^2 - 1/x
    (-1.75, 5.0, -7.0)
    """

    __array_ufunc__ = None  # NumPy values defer to the operators below

    def __init__(self, coefficients: Sequence[Any]):
        self.c = tuple(coefficients)

    @property
    def order(self) -> int:
        return len(self.c) - 1

    def __repr__(self) -> str:
        return f"Series({list(self.c)!r})"

    def __add__(self, other):
        return apply(operator.add, self, other)

    def __radd__(self, other):
        return apply(operator.add, other, self)

    def __sub__(self, other):
        return apply(operator.sub, self, other)

    def __rsub__(self, other):
        return apply(operator.sub, other, self)

    def __mul__(self, other):
        return apply(operator.mul, self, other)

    def __rmul__(self, other):
        return apply(operator.mul, other, self)

    def __truediv__(self, other):
        return apply(operator.truediv, self, other)

    def __rtruediv__(self, other):
        return apply(operator.truediv, other, self)

    def __pow__(self, other):
        return apply(operator.pow, self, other)

    def __rpow__(self, other):
        return apply(operator.pow, other, self)

    def __neg__(self):
        return apply(operator.neg, self)

    def __pos__(self):
        return self


def _primal(value: Any) -> Any:
    return value.c[0] if isinstance(value, Series) else value


def apply(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` where arguments may be :class:`Series`.

    A function that is constant for differentiation gives its plain value.

    >>> apply(math.exp, Series([0.0, 1.0, 0.0])).c   # exp(t)
    (1.0, 1.0, 0.5)
    """
    if not any(isinstance(a, Series) for a in (*args, *kwargs.values())):
        return fn(*args, **kwargs)
    out = fn(*map(_primal, args), **{k: _primal(v) for k, v in kwargs.items()})
    if core.is_nondifferentiable(fn):
        return out
    rule, taylor = core.lookup(fn), taylor_rule_of(fn)
    if rule is None or taylor is None:
        name = getattr(fn, "__name__", repr(fn))
        raise TypeError(f"no Taylor rule for `{name}`: it cannot be evaluated on a series")
    bound = {**dict(zip(rule.arg_names, args)), **kwargs}
    varied = [bound[n] for n, t in zip(rule.arg_names, rule.jvp) if t is not None and n in bound]
    series = [v for v in varied if isinstance(v, Series)]
    if not series:
        return out
    n = min(s.order for s in series)
    pairs: List[Any] = []
    options = {}
    for name, template in zip(rule.arg_names, rule.jvp):
        value = bound.get(name, rule.defaults.get(name))
        if template is None:
            if name in bound:
                options[name] = _primal(value)
        elif isinstance(value, Series):
            pairs += [value.c[0], value.c[1 : n + 1]]
        else:
            pairs += [value, None]
    return Series((out, *taylor(out, *pairs, **options)))


# ------------------------------------------- expressions of partial derivatives


def evaluate(node: ast.expr, env: Mapping[str, Any], namespace: Mapping[str, Any]) -> Any:
    """The value of a partial-derivative expression whose names may hold :class:`Series`.

    >>> tree = ast.parse("1 + out ** 2", mode="eval").body
    >>> evaluate(tree, {"out": Series([0.0, 1.0])}, {}).c
    (1.0, 0.0)
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id] if node.id in env else namespace[node.id]
    if isinstance(node, ast.Attribute):
        return getattr(evaluate(node.value, env, namespace), node.attr)
    if isinstance(node, ast.BinOp):
        left, right = evaluate(node.left, env, namespace), evaluate(node.right, env, namespace)
        return apply(AST_BINARY[type(node.op)], left, right)
    if isinstance(node, ast.UnaryOp):
        operand = evaluate(node.operand, env, namespace)
        if isinstance(node.op, ast.USub):
            return apply(operator.neg, operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        return not _primal(operand)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = (
            evaluate(node.left, env, namespace),
            evaluate(node.comparators[0], env, namespace),
        )
        return AST_COMPARE[type(node.ops[0])](_primal(left), _primal(right))
    if isinstance(node, ast.Call):
        fn = evaluate(node.func, env, namespace)
        args = [evaluate(a, env, namespace) for a in node.args]
        kwargs = {k.arg: evaluate(k.value, env, namespace) for k in node.keywords}
        return apply(fn, *args, **kwargs)
    raise ValueError(f"unsupported syntax in a partial derivative: {ast.dump(node)}")


def _evaluable(node: ast.expr, names: set, namespaces: Sequence[Mapping[str, Any]]) -> bool:
    """Whether :func:`evaluate` can take ``node`` on series: every function it calls is
    constant for differentiation or has a Taylor rule, in every namespace."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Compare) and len(sub.ops) != 1:
            return False
        if not isinstance(sub, _SUPPORTED):
            return False
        if isinstance(sub, ast.Name) and sub.id not in names:
            if any(sub.id not in ns for ns in namespaces):
                return False
        if isinstance(sub, ast.Call):
            for ns in namespaces:
                try:
                    fn = evaluate(sub.func, {}, ns)
                except (KeyError, AttributeError):
                    return False
                known = core.is_nondifferentiable(fn) or id(fn) in _IN_PROGRESS
                if not known and taylor_rule_of(fn) is None:
                    return False
    return True


_SUPPORTED = (
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Call,
    ast.keyword,
    ast.Load,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
)


# ---------------------------------------------------------- generic rules


def _generic_rule(fn: Any) -> Optional[TaylorRule]:
    """A Taylor rule from the partial derivatives of an elementwise ``scalar_rule``.

    ``out' = sum_i p_i x_i'``, where ``p_i = d out / d x_i``, gives
    ``out_k = (1/k) sum_i sum_{j=1..k} j x_(i,j) p_(i,k-j)``: ``p_i`` is
    evaluated on the series truncated at order ``k - 1``.  A partial that
    reads ``out`` is evaluated again at each order, on the coefficients of
    ``out`` known so far.
    """
    rule = core.lookup(fn)
    if rule is None or rule.partials is None or not rule.elementwise:
        return None
    params = [n for n, p in zip(rule.arg_names, rule.partials) if p is not None]
    trees = {
        n: ast.parse(p.strip(), mode="eval").body
        for n, p in zip(rule.arg_names, rule.partials)
        if p is not None
    }
    names = set(rule.arg_names) | {"out"}
    _IN_PROGRESS.add(id(fn))
    try:
        namespaces = (rule.namespace(True), rule.namespace(False))
        if not all(_evaluable(tree, names, namespaces) for tree in trees.values()):
            return None
    finally:
        _IN_PROGRESS.discard(id(fn))
    reads_out = {
        n: any(isinstance(s, ast.Name) and s.id == "out" for s in ast.walk(t))
        for n, t in trees.items()
    }

    def taylor(out, *pairs, **options) -> Coefficients:
        values = {**rule.defaults, **options}
        moving = {}
        for name, x, dx in zip(params, pairs[::2], pairs[1::2]):
            values[name] = x
            if dx is not None:
                moving[name] = dx
        n = min(map(len, moving.values()))
        if n == 0:  # the value alone: no partial to evaluate (one that calls fn would recurse)
            return ()
        scalar = all(_is_python_number(v) for v in values.values() if v is not None)
        namespace = rule.namespace(scalar)

        def partial(name: str, m: int, known: List[Any]) -> List[Any]:
            env = {
                p: Series([values[p], *moving[p][:m]]) if p in moving else values[p] for p in values
            }
            env["out"] = Series(known[: m + 1]) if reads_out[name] else out
            value = evaluate(trees[name], env, namespace)
            return list(value.c) if isinstance(value, Series) else [value] + [0.0] * m

        result = [out]
        once = {name: partial(name, n - 1, result) for name in moving if not reads_out[name]}
        for k in range(1, n + 1):
            terms = []
            for name, dx in moving.items():
                p = once[name] if name in once else partial(name, k - 1, result)
                terms.append(_rate(_series(values[name], dx, n), p, k))
            result.append(_total(terms))
        return tuple(result[1:])

    taylor.__doc__ = f"``{rule.name}``, from its partial derivatives {rule.partials}."
    return _publish(taylor, fn)


_MODULE_PREFIXES = {"math": "math", "numpy": "np", "builtins": "builtin", "_operator": "op"}


def _publish(taylor: TaylorRule, fn: Any) -> TaylorRule:
    """Register ``taylor`` for ``fn`` under a name of its own in this module, so that the
    displayed source can import it (``from s2s_ad.rules.series import taylor_arcsin``)."""
    base = getattr(fn, "__name__", "fn")
    name = f"taylor_{base}"
    if name in globals():
        prefix = _MODULE_PREFIXES.get(getattr(fn, "__module__", None) or "", "fn")
        name, k = f"taylor_{prefix}_{base}", 1
        while name in globals():
            name, k = f"taylor_{prefix}_{base}_{k}", k + 1
    taylor.__name__ = taylor.__qualname__ = name
    taylor.__module__ = __name__
    globals()[name] = taylor
    return _register(fn)(taylor)


def _register_products() -> None:
    for fn in BILINEAR:
        _publish(_bilinear_rule(fn), fn)
    _register(operator.matmul)(_TAYLOR[id(np.matmul)])


def _register_generic_rules() -> None:
    """Generic rules for every elementwise scalar rule, named in the order of the tables."""
    for rule in core.all_rules():
        if rule.partials is not None:
            taylor_rule_of(rule.fn)


_register_products()
_register_generic_rules()
