"""Stage 4c: the ``n``-th derivative, by truncated Taylor series in one pass.

Nesting forward mode ``n`` times doubles the code at each order.  Instead,
each varied value ``t`` carries the tuple ``dt`` of its normalized Taylor
coefficients of orders ``1..n`` (coefficient ``k`` is ``t^(k) / k!``), and
the code grows linearly with ``n`` at worst:

* a call that is linear in its varied arguments (``x + c``, ``2 * x``,
  ``np.sum(x)``, indexing) maps each coefficient through its JVP template:
  ``dt = (2 * dx[0], 2 * dx[1], 2 * dx[2])``;
* any other call asks its Taylor rule (:mod:`s2s_ad.rules.series`) for all
  coefficients at once: ``dt2 = taylor_mul(t2, t0, dt0, t1, dt1)``.

The primal statements are left as they are, so branches and loops test the
values they always test; variables assigned in several places keep their
coefficients in one name, as in forward mode (:mod:`s2s_ad.compiler.forward`, whose
machinery this reuses).  The input is seeded with ``(1, 0, ..., 0)`` and
the function returns ``n! * dy[n - 1]``.  A call of a user function that is not
inlined (recursion) calls its code in mode ``series``, which takes the coefficients
of the arguments as parameters and returns ``(y, dy)``.

>>> def f(x):
...     return x * x * x
>>> from .lower import lower_function
>>> from .spec import Spec
>>> fn = taylor(lower_function(f), Spec("derivative", ("x",), ("scalar",), order=3))
>>> fn.name
'f_derivative3'
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable, List, Mapping, Sequence, Tuple

from .. import rules, runtime
from ..rules import ARRAY, SCALAR, Rule, Template, series
from . import ir
from .binding import Default, template_of
from .calls import Callee
from .errors import TransformError
from .forward import Forward, joint_write
from .ir import DISPLAYS
from .lower import Lowered
from .spec import SERIES, Spec
from .templates import resolve_callee


def taylor(low: Lowered, spec: Spec) -> ir.Function:
    """The ``spec.order``-th derivative of ``low``, elementwise: ``f_derivative<n>(*params)``."""
    return Taylor(low, spec).run()


class Taylor(Forward):
    """Taylor mode: forward mode carrying tuples of Taylor coefficients."""

    def __init__(self, low: Lowered, spec: Spec):
        super().__init__(low, spec)
        self.order = spec.order

    def run(self) -> ir.Function:
        fn = super().run()
        kind = "series" if self.spec.mode == SERIES else "derivative"
        fn.name = f"{self.base_name}_{kind}{self.order}"
        return fn

    # ------------------------------------------------ coefficient tuples

    def coefficient(self, tangent: ir.Atom, k: int) -> ir.Atom:
        """Coefficient ``k + 1`` of a tangent tuple: ``dt[k]``."""
        return self.builder.call(operator.getitem, (tangent, ir.Const(k)))

    def coefficient_or_zero(self, atom: ir.Atom, k: int) -> ir.Atom:
        if atom in self.tangent:
            return self.coefficient(self.tangent[atom], k)
        if self.kind(atom) == SCALAR:
            return ir.Const(0.0)
        return self.builder.call(runtime.zeros_like, (atom,))

    def pack(self, orders: List[ir.Atom], target: ir.Var) -> ir.Atom:
        """The tuple of the coefficients ``orders``: ``dt = (a, b, c)``."""
        return self.builder.call(runtime.make_tuple, orders, target=target)

    def passes_through(self, rule: Rule, env, index: int, name: str) -> bool:
        """Whether the JVP of argument ``index`` is its tangent itself (``x + c``):
        then so are the coefficients, and the call shares its argument's tuple."""
        tree = rule.jvp[index].tree
        if not (isinstance(tree, ast.Name) and tree.id == "d" + name):
            return False
        return not (rule.constant_partial(index) and self.broadcasts(rule, env, index))

    # ------------------------------------------- forward mode's hooks

    def zero(self, atom: ir.Atom) -> ir.Atom:
        """Zero coefficients shaped like ``atom``."""
        if self.kind(atom) == SCALAR:
            return self.builder.call(runtime.make_tuple, [ir.Const(0.0)] * self.order)
        return self.builder.call(series.taylor_zeros, (atom, ir.Const(self.order)))

    def seed(self, param: str) -> ir.Atom:
        """The coefficients of the input: ``(1.0, 0.0, ..., 0.0)``; in mode ``series``, a
        parameter."""
        if not self.seed_ones:
            return super().seed(param)
        x = ir.Var(param)
        target = self.low.names.derivative(x)
        if self.param_kinds.get(param) == SCALAR:
            items = [ir.Const(1.0)] + [ir.Const(0.0)] * (self.order - 1)
            return self.builder.call(runtime.make_tuple, items, target=target)
        return self.builder.call(series.taylor_seed, (x, ir.Const(self.order)), target=target)

    def list_tangent(self, stmt: ir.Assign, tangent: ir.Atom, canonical: ir.Var) -> ir.Atom:
        """A list that items are appended to has coefficients ``([dv0[0], ...], [dv0[1],
        ...], ...)``, each a list of its own to append to."""
        if self.is_varied_value(stmt):
            return self.builder.call(series.taylor_copy, (tangent,), target=canonical)
        zeros = (stmt.target, ir.Const(self.order))
        return self.builder.call(series.taylor_zeros, zeros, target=canonical)

    def push_tangent(self, stmt: ir.Push) -> None:
        """``xs.append(v)``: coefficient ``k`` of ``v`` is appended to list ``dxs[k]``."""
        for k in range(self.order):
            stack = self.coefficient(self.tangent[stmt.stack], k)
            value = self.coefficient_or_zero(stmt.value, k)
            self.builder.out.append(ir.Push(stack, value, stmt.loc))

    def pop_tangent(self, stmt: ir.Pop) -> None:
        """``v = xs.pop()``: each coefficient of ``v`` is popped from its list."""
        orders = []
        for k in range(self.order):
            item = self.names.temp()
            stack = self.coefficient(self.tangent[stmt.stack], k)
            self.builder.out.append(ir.Pop(item, stack, stmt.loc))
            orders.append(item)
        if stmt.target in self.active:
            target = self.tangent.get(stmt.target) or self.names.derivative(stmt.target)
            self.tangent[stmt.target] = self.pack(orders, target)

    def call_tangent(self, stmt: ir.Assign) -> ir.Atom:
        rule, namespace, env = self.rule_context(stmt)
        moving = [
            (i, name)
            for i, name in enumerate(rule.arg_names)
            if rule.jvp[i] is not None and env[name] in self.tangent
        ]
        if not moving:
            return self.zero(stmt.target)
        if is_linear(rule, [name for _, name in moving], namespace):
            tangent = self.linear_tangent(stmt, rule, namespace, env, moving)
        else:
            tangent = self.series_tangent(stmt, rule, env)
        return self.named(stmt.target, tangent)

    def linear_tangent(self, stmt, rule: Rule, namespace, env, moving) -> ir.Atom:
        """Each coefficient through the JVP templates: ``(2 * dx[0], 2 * dx[1])``."""
        add = runtime.add if rule.tuple_result else operator.add
        alone = len(moving) == 1
        if alone and self.passes_through(rule, env, *moving[0]):
            return self.tangent[env[moving[0][1]]]
        orders = []
        for k in range(self.order):
            total = None
            for i, name in moving:
                template = template_of(rule, i, "jvp", stmt.value, stmt.loc)
                env_k = {**env, "d" + name: self.coefficient(self.tangent[env[name]], k)}
                term = self.builder.instantiate(template, env_k, namespace)
                if alone and rule.constant_partial(i) and self.broadcasts(rule, env, i):
                    term = self.builder.call(runtime.expand_like, (term, stmt.target))
                total = term if total is None else self.builder.call(add, (total, term))
            orders.append(total)
        return self.pack(orders, self.low.names.derivative(stmt.target))

    def series_tangent(self, stmt: ir.Assign, rule: Rule, env) -> ir.Atom:
        """All coefficients from the call's Taylor rule: ``taylor_mul(t, a, da, b, db)``."""
        taylor_rule = series.taylor_rule_of(stmt.value.fn)
        if taylor_rule is None:
            raise self.no_taylor_rule(stmt)
        args: List[ir.Atom] = [stmt.target]
        kwargs = []
        for i, name in enumerate(rule.arg_names):
            atom = env[name]
            left_out = isinstance(atom, Default)
            if rule.jvp[i] is None:
                if not left_out:
                    kwargs.append((name, atom))
                continue
            value = ir.Const(atom.value) if left_out else atom
            args += [value, self.tangent.get(atom, ir.Const(None))]
        target = self.low.names.derivative(stmt.target)
        return self.builder.call(taylor_rule, args, kwargs, target=target)

    def no_taylor_rule(self, stmt: ir.Assign) -> TransformError:
        call = stmt.value
        name = call.spelling or getattr(call.fn, "__name__", repr(call.fn))
        return TransformError(
            f"derivative(order > 1) has no Taylor rule for `{name}`",
            stmt.loc,
            f"use order=1, or nest first derivatives (ad.derivative of ad.derivative, "
            f"or ad.jacobian) through `{name}`; or write it with functions that have "
            "Taylor rules (arithmetic, powers, exp, log, sqrt, trigonometric and "
            "hyperbolic functions, elementwise NumPy)",
        )

    def display_tangent(self, stmt: ir.Assign) -> ir.Atom:
        """``(a, b)`` has coefficients ``((da[0], db[0]), (da[1], db[1]), ...)``."""
        call = stmt.value
        orders = []
        for k in range(self.order):
            args = [self.coefficient_or_zero(a, k) for a in call.args]
            kwargs = [(key, self.coefficient_or_zero(v, k)) for key, v in call.kwargs]
            orders.append(self.builder.call(call.fn, args, kwargs))
        return self.pack(orders, self.names.derivative(stmt.target))

    def update_tangent(self, stmt: ir.Assign) -> ir.Atom:
        """``y = updated(x, i, v)``: coefficient ``k`` is ``updated(dx[k], i, dv[k])``; the
        same for the other joint writes (:data:`.forward.JOINT_WRITES`)."""
        call = stmt.value
        linear = joint_write(call.fn)
        orders = [
            self.builder.call(
                call.fn,
                [
                    self.coefficient_or_zero(a, k) if p in linear else a
                    for p, a in enumerate(call.args)
                ],
            )
            for k in range(self.order)
        ]
        return self.pack(orders, self.names.derivative(stmt.target))

    def returned_tangent(self, value: ir.Tree) -> ir.Tree:
        """In mode ``series``, a returned tuple's coefficients as a value's are: order by
        order, each a tuple of the items' coefficients (as :meth:`display_tangent`)."""
        if self.seed_ones or not isinstance(value, tuple):
            return super().returned_tangent(value)
        orders = [self.items_coefficient(value, k) for k in range(self.order)]
        return self.pack(orders, self.names.temp())

    def items_coefficient(self, tree: tuple, k: int) -> ir.Atom:
        """``(da[k], db[k])`` for the tuple ``(a, b)`` (nested tuples too)."""
        items = [
            self.items_coefficient(t, k) if isinstance(t, tuple) else self.coefficient_or_zero(t, k)
            for t in tree
        ]
        return self.builder.call(runtime.make_tuple, items)

    def output_tangent(self, atom: ir.Atom) -> ir.Atom:
        """``n! * dy[n - 1]``; zeros for an output that does not depend on the input.
        In mode ``series``, ``dy`` itself."""
        if not self.seed_ones:
            return self.tangent[atom] if atom in self.tangent else self.zero(atom)
        if not (isinstance(atom, ir.Var) and atom in self.tangent):
            if self.kind(atom) == SCALAR:
                return ir.Const(0.0)
            return self.builder.call(runtime.zeros_like, (atom,))
        top = self.coefficient(self.tangent[atom], self.order - 1)
        factor = ir.Const(math.factorial(self.order))
        if self.holds_numbers(atom, set()):
            return self.builder.call(operator.mul, (top, factor))
        return self.builder.call(series.taylor_scale, (top, factor))

    def holds_numbers(self, var: ir.Var, seen: set) -> bool:
        """Whether ``var`` is a number or an array, never a list, tuple or dict."""
        if self.kind(var) in (SCALAR, ARRAY):
            return True
        seen.add(var)
        values = [
            s.value for s in ir.walk(self.fn.body) if isinstance(s, ir.Assign) and s.target == var
        ]
        return bool(values) and all(self.makes_numbers(v, seen) for v in values)

    def makes_numbers(self, value: Any, seen: set) -> bool:
        if isinstance(value, ir.Const):
            return isinstance(value.value, (int, float))
        if isinstance(value, ir.Var):
            return value not in seen and self.holds_numbers(value, seen)
        if isinstance(value, ir.Load):  # the input itself is a number or an array
            return not value.free and value.name in self.wrt
        if not isinstance(value, ir.Call) or value.fn in DISPLAYS or value.fn is operator.getitem:
            return False
        rule = rules.rule_of(value)
        return rule is not None and not rule.tuple_result

    def callee(self, fn: Callable, wrt: Tuple[str, ...]) -> Callee:
        """A user function that is not inlined (a recursive one, ``ad.checkpoint``, ...):
        its own Taylor-mode code, which takes the coefficients of its arguments and returns
        its value and coefficients (mode ``series``)."""
        return Callee(fn, SERIES, wrt, self.order)


# ----------------------------------------------------------- linearity


def is_linear(rule: Rule, moving: Sequence[str], namespace: Mapping[str, Any]) -> bool:
    """Whether a call is linear in its varied arguments ``moving``: no JVP template of
    theirs reads ``out`` or any of them, except through functions that are constant
    for differentiation (``sign(x)``, ``zeros_like(out)``).

    Then every Taylor coefficient goes through the JVP templates as a tangent would.  A
    rule made from partial derivatives is judged by them (``abs``: ``sign(x)``), as its
    JVP template may call a helper that also serves complex numbers.
    """
    primal = set(moving) | {"out"}
    templates = [_slope(rule, rule.arg_names.index(name)) for name in moving]
    return not any(differentiable_reads(t, namespace) & primal for t in templates)


def _slope(rule: Rule, index: int) -> Template:
    """The template that says how argument ``index`` enters: its partial, or its JVP."""
    if rule.partials is not None and rule.partials[index] is not None:
        return Template.parse(rule.partials[index])
    return rule.jvp[index]


def differentiable_reads(template: Template, namespace: Mapping[str, Any]) -> frozenset:
    """The names a template reads, except in comparisons and in the arguments of
    functions that are constant for differentiation.

    >>> from s2s_ad.rules import Template
    >>> import numpy as np
    >>> sorted(differentiable_reads(Template.parse("dx * sign(x) + y"), {"sign": np.sign}))
    ['dx', 'y']
    """
    found = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            return
        if isinstance(node, ast.Call):
            fn = _callee(node.func, namespace)
            if fn is not None and rules.is_nondifferentiable(fn):
                return
            structural = rules.structural_positions(fn) if fn is not None else ()
            values = [a for k, a in enumerate(node.args) if k not in structural]
            for child in [*values, *(k.value for k in node.keywords)]:
                visit(child)
            return
        if isinstance(node, ast.Name):
            found.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(template.tree)
    return frozenset(found)


def _callee(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """The object a template's dotted function name denotes, or None."""
    try:
        return resolve_callee(node, namespace)[0]
    except (AttributeError, KeyError):  # not a name of the namespace
        return None
