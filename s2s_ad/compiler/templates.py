"""Instantiate rule templates as IR statements.

A :class:`Builder` turns a template such as ``g * cos(x)`` into three-address
statements with the template's names replaced by atoms of the program being
transformed.  With ``optimize`` it simplifies as it goes, the way a person
would when writing a derivative by hand: constants are folded, ``1 * e`` is
``e``, ``-1 * e`` is ``-e``, ``a + -b`` is ``a - b``.  Every simplification is
shape-safe: nothing turns an array into a scalar.
"""

from __future__ import annotations

import ast
import contextlib
import operator
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import runtime
from ..rules import SCALAR, Template
from . import ir
from .errors import Loc

# The arithmetic operators: folded on constants here, recomputed rather than
# saved by reverse mode's loops (reverse.py).
ARITHMETIC = {
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.pow,
    operator.neg,
}
_AST_BINARY = {v: k for k, v in ir.BINARY_OPERATORS.items()}
_AST_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}

# Calls that may return (a view of) their argument instead of a new value:
# an adjoint holding their result must not be updated in place.
ALIASING = {id(runtime.unbroadcast), id(runtime.expand_like), id(runtime.stop_gradient)}


class Builder:
    """Appends statements to ``out``; returns the atom holding each result."""

    def __init__(
        self,
        names: ir.Names,
        optimize: bool,
        is_float: Callable[[ir.Atom], bool],
    ):
        self.names = names
        self.optimize = optimize
        self.is_float = is_float
        self.out: List[ir.Stmt] = []
        self.loc: Optional[Loc] = None
        self.defs: Dict[ir.Var, ir.Call] = {}
        self.accumulated: set = set()  # defs that no longer describe the value

    # ------------------------------------------------------------ calls

    def call(
        self,
        fn: Any,
        args: Sequence[ir.Atom],
        kwargs: Sequence[Tuple[str, ir.Atom]] = (),
        target: Optional[ir.Var] = None,
        spelling: Optional[str] = None,
    ) -> ir.Atom:
        args = tuple(args)
        if self.optimize and not kwargs:
            simpler = self._simplify(fn, args)
            if simpler is not None:
                if isinstance(simpler, tuple):
                    return self.call(simpler[0], simpler[1], target=target)
                return simpler
            if fn is operator.mul:
                negated = self._negation_out_of_product(args, target)
                if negated is not None:
                    return negated
        var = target or self.names.temp()
        self.accumulated.discard(var)
        call = ir.Call(fn, args, tuple(kwargs), spelling)
        self.out.append(ir.Assign(var, call, self.loc))
        self.defs[var] = call
        return var

    def accumulate(self, target: ir.Var, value: ir.Atom, index: Optional[ir.Atom] = None) -> None:
        """Append ``target += value`` (``target[index] += value`` with an index).

        A negated value ``-e`` is subtracted: ``target -= e``.
        """
        negated = self.defs.get(value) if self.optimize else None
        if negated is not None and negated.fn is operator.neg and value not in self.accumulated:
            self.out.append(ir.Accum(target, negated.args[0], self.loc, index, subtract=True))
        else:
            self.out.append(ir.Accum(target, value, self.loc, index))
        self.accumulated.add(target)

    def assign(self, target: ir.Var, value: ir.Atom) -> ir.Var:
        """Append the copy ``target = value``."""
        self.out.append(ir.Assign(target, value, self.loc))
        self.defs.pop(target, None)
        self.accumulated.discard(target)
        return target

    def append(self, stmt: ir.Stmt) -> None:
        """Append a statement the builder does not look into; its targets are forgotten."""
        self.out.append(stmt)
        self.forget(ir.walk([stmt]))

    def forget(self, statements) -> None:
        """Drop what is known about variables these statements write.

        After a branch or a loop the builder no longer knows which of the
        values assigned inside a variable holds.
        """
        for stmt in statements:
            for var in ir.targets_written(stmt):
                self.defs.pop(var, None)
                self.accumulated.discard(var)

    @contextlib.contextmanager
    def block(self):
        """Build a nested body: statements go to a new list, which is yielded.

        What the builder learns about variables inside stays inside: a
        branch must not simplify with a definition from its sibling.
        """
        outer, self.out = self.out, []
        defs, accumulated = dict(self.defs), set(self.accumulated)
        try:
            yield self.out
        finally:
            self.out = outer
            self.defs, self.accumulated = defs, accumulated

    def is_fresh(self, atom: ir.Atom) -> bool:
        """Whether ``atom`` holds a value this builder just allocated."""
        call = self.defs.get(atom) if isinstance(atom, ir.Var) else None
        return call is not None and id(call.fn) not in ALIASING

    # -------------------------------------------------------- templates

    def instantiate(
        self,
        template: Template,
        env: Mapping[str, ir.Atom],
        namespace: Mapping[str, Any],
        target: Optional[ir.Var] = None,
    ) -> ir.Atom:
        """The atom holding ``template`` evaluated with ``env`` substituted."""
        return self._node(template.tree, env, namespace, target)

    def _node(self, node: ast.expr, env, namespace, target=None) -> ir.Atom:
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            value = namespace[node.id]
            if isinstance(value, (int, float)):
                return ir.Const(value)
            raise ValueError(f"template name {node.id!r} is not a value")
        if isinstance(node, ast.Constant):
            return ir.Const(node.value)
        if isinstance(node, ast.BinOp):
            left = self._node(node.left, env, namespace)
            right = self._node(node.right, env, namespace)
            fn = _AST_BINARY[type(node.op)]
            return self.call(fn, (left, right), target=target)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left = self._node(node.left, env, namespace)
            right = self._node(node.comparators[0], env, namespace)
            return self.call(_AST_COMPARE[type(node.ops[0])], (left, right), target=target)
        if isinstance(node, ast.UnaryOp):
            operand = self._node(node.operand, env, namespace)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self.call(operator.neg, (operand,), target=target)
        if isinstance(node, ast.Call):
            fn, spelling = resolve_callee(node.func, namespace)
            args = [self._node(a, env, namespace) for a in node.args]
            kwargs = [(k.arg, self._node(k.value, env, namespace)) for k in node.keywords]
            kwargs = [(k, v) for k, v in kwargs if not isinstance(v, Default)]
            return self.call(fn, args, kwargs, target=target, spelling=spelling)
        raise ValueError(f"unsupported template syntax: {ast.dump(node)}")

    # ---------------------------------------------------- simplification

    def _simplify(self, fn: Any, args: Tuple[ir.Atom, ...]):
        """An atom, or a (fn, args) pair, equal to ``fn(*args)``; None if no rule applies."""
        if fn in ARITHMETIC and all(_is_number(a) for a in args):
            try:
                return ir.Const(fn(*(a.value for a in args)))
            except (ArithmeticError, ValueError, TypeError):
                return None
        if fn is operator.mul:
            a, b = args
            for one, other in ((a, b), (b, a)):
                if self._is_unit(one, other, 1):
                    return other
                if self._is_unit(one, other, -1):
                    return (operator.neg, (other,))
        if fn is operator.truediv and self._is_unit(args[1], args[0], 1):
            return args[0]
        if fn is operator.pow and args[1] == ir.Const(1):
            return args[0]
        if fn is operator.neg:
            inner = self._negated(args[0])
            if inner is not None:
                return inner
        if fn is operator.add:
            a, b = args
            if self._negated(b) is not None:
                return (operator.sub, (a, self._negated(b)))
            if self._negated(a) is not None:
                return (operator.sub, (b, self._negated(a)))
        if fn is operator.sub and self._negated(args[1]) is not None:
            return (operator.add, (args[0], self._negated(args[1])))
        if fn is runtime.zeros_like:  # zeros like zeros like x are zeros like x
            inner = self.defs.get(args[0]) if isinstance(args[0], ir.Var) else None
            if inner is not None and inner.fn is runtime.zeros_like and not inner.kwargs:
                return (runtime.zeros_like, inner.args)
        return None

    def _is_unit(self, const: ir.Atom, other: ir.Atom, unit: int) -> bool:
        """``const`` is ``unit`` and multiplying ``other`` by it changes nothing.

        An int unit never changes a type; a float unit may turn an int into
        a float, so it is dropped only when ``other`` is known to be a float.
        """
        if not _is_number(const) or const.value != unit:
            return False
        return isinstance(const.value, int) or self.is_float(other)

    def _negation_out_of_product(self, args: tuple, target: Optional[ir.Var]):
        """``(-a) * b`` as ``-(a * b)``: the same rounding, and an accumulation
        or a sum that takes the result then absorbs the negation (``dx -= a * b``)."""
        for k, arg in enumerate(args):
            inner = self._negated(arg)
            if inner is not None:
                operands = (inner, args[1]) if k == 0 else (args[0], inner)
                product = self.call(operator.mul, operands)
                return self.call(operator.neg, (product,), target=target)
        return None

    def _negated(self, atom: ir.Atom) -> Optional[ir.Atom]:
        if atom in self.accumulated:
            return None
        call = self.defs.get(atom) if isinstance(atom, ir.Var) else None
        if call is not None and call.fn is operator.neg:
            return call.args[0]
        return None


def _is_number(atom: ir.Atom) -> bool:
    return (
        isinstance(atom, ir.Const)
        and isinstance(atom.value, (int, float))
        and not isinstance(atom.value, bool)
    )


def resolve_callee(node: ast.expr, namespace: Mapping[str, Any]) -> Tuple[Any, str]:
    """The object a template's dotted name (``np.linalg.solve``) denotes, and its spelling."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id)
    parts.reverse()
    obj = namespace[parts[0]]
    for attr in parts[1:]:
        obj = getattr(obj, attr)
    return obj, ".".join(parts)


# -------------------------------------------------- shared by the transforms


class Transform:
    """What forward and reverse mode share: the function, its analysis, a builder."""

    def __init__(self, low, wrt, param_kinds, optimize: bool):
        from . import analyse

        self.low = low
        self.fn = low.function
        self.names = low.names
        self.wrt = tuple(wrt)
        self.optimize = optimize
        self.param_kinds = param_kinds
        self.varied = analyse.varied(self.fn, self.wrt)
        self.active = self.varied & analyse.useful(self.fn)
        self.kinds = analyse.kinds(self.fn, param_kinds, low.free_values)
        self.kind_of_value = analyse.kind_of_value  # analyse imports this module
        self.mutable = mutable_variables(self.fn.body)
        self.shapes = analyse.shapes(self.fn, self.kinds, self.mutable) if optimize else {}
        # The derivatives of mutable variables are assigned again and again:
        # another derivative must copy them rather than share the name.
        self.unstable = {self.names.derivative(v) for v in sorted(self.mutable, key=str)}
        primal = {s.target for s in ir.walk(self.fn.body) if isinstance(s, ir.Assign)}
        constants = primal - self.varied  # may hold ints; everything varied is a float
        self.builder = Builder(self.names, optimize, is_float=lambda a: _is_float(a, constants))

    def entering_loop(self) -> None:
        """Before building a loop body: what is known of variables that change forgets.

        A second trip starts from the values the first one left, so a body must
        not simplify with a definition from before the loop (``dv = -t`` then
        ``a + dv`` as ``a - t`` inside the loop was a wrong JVP that the suite's
        optimized-against-unoptimized check found).
        """
        for var in self.mutable | self.unstable:
            self.builder.defs.pop(var, None)
            self.builder.accumulated.discard(var)

    def is_unstable(self, atom: ir.Atom) -> bool:
        """Whether ``atom`` names a value that changes later (a mutable variable or its
        derivative): a derivative must copy it rather than share its name."""
        return isinstance(atom, ir.Var) and (atom in self.unstable or atom in self.mutable)

    @property
    def base_name(self) -> str:
        """The name emitted functions are named after (``f`` of ``f_grad``)."""
        return "lambda" if self.fn.name == "<lambda>" else self.fn.name

    def kind(self, atom: ir.Atom) -> str:
        if isinstance(atom, ir.Const):
            return self.kind_of_value(atom.value)
        return self.kinds.get(atom, "unknown")

    def rule_context(self, stmt: ir.Assign):
        """The rule of a call statement, its template names and its bindings."""
        call = stmt.value
        rule = rule_for(call, stmt.loc)
        namespace = rule.namespace(all(self.kind(a) == SCALAR for a in call.args))
        env = bound_arguments(rule, call)
        env["out"] = stmt.target
        return rule, namespace, env

    def broadcasts(self, rule, env: Mapping[str, ir.Atom], index: int) -> bool:
        """Whether parameter ``index`` of an elementwise rule may be broadcast against
        another argument that is not known to be a scalar."""
        if not rule.elementwise:
            return False
        others = [
            env[name]
            for j, name in enumerate(rule.arg_names)
            if j != index and self.kind(env[name]) != SCALAR
        ]
        if not others:
            return False
        # Arrays of one shape broadcast nothing.  An argument's own derivative
        # keeps the conversion to its dtype that unbroadcast also does.
        arg = env[rule.arg_names[index]]
        key = self.shapes.get(arg) if isinstance(arg, ir.Var) else None
        own = arg in self.low.param_temps.values()
        return key is None or own or any(self.shapes.get(o) != key for o in others)


class Default(ir.Const):
    """A rule parameter the call left out: template calls drop it where passed by keyword."""


def mutable_variables(body: list) -> set:
    """Variables assigned in more than one place, or inside a loop, or by a ``for``."""
    sites: Dict[ir.Var, int] = {}

    def visit(stmts: list, in_loop: bool) -> None:
        for stmt in stmts:
            if isinstance(stmt, (ir.Assign, ir.For)):
                sites[stmt.target] = sites.get(stmt.target, 0) + (2 if in_loop else 1)
            if isinstance(stmt, ir.For):
                sites[stmt.target] = 2
            for block in ir.blocks_of(stmt):
                visit(block, in_loop or isinstance(stmt, (ir.For, ir.While)))

    visit(body, False)
    return {var for var, count in sites.items() if count > 1}


def _is_float(atom: ir.Atom, constants) -> bool:
    if isinstance(atom, ir.Const):
        return isinstance(atom.value, float)
    return atom not in constants


def rule_for(call: ir.Call, loc: Optional[Loc]):
    """The rule of an active call, or a TransformError that says what to do."""
    from .. import rules
    from .errors import TransformError

    rule = rules.rule_of(call)
    name = call.spelling or getattr(call.fn, "__name__", repr(call.fn))
    if call.fn is runtime.call_method:
        from .lower import ARRAY_METHODS

        raise TransformError(
            f"the method `.{call.args[1].value}()` of a varied value is not supported",
            loc,
            "call the NumPy function instead (`np.f(x)` for `x.f()`); supported methods: "
            + ", ".join(sorted(ARRAY_METHODS)),
        )
    if rule is None:
        import inspect

        if inspect.isfunction(call.fn):
            hint = (
                f"s2s_ad does not look inside calls to other Python functions yet: "
                f"register a derivative with ad.defvjp({name}, ...) and ad.defjvp({name}, ...), "
                "or write the computation inline"
            )
        else:
            hint = (
                f"register one with ad.defvjp({name}, ...) and ad.defjvp({name}, ...), "
                "or wrap a value that should not be differentiated in ad.stop_gradient(...)"
            )
        raise TransformError(f"no derivative rule for `{name}`", loc, hint)
    try:
        rule.bind(call.args, call.kwargs)
    except ValueError as exc:
        raise TransformError(
            f"`{name}` cannot be differentiated as called here: {exc}",
            loc,
            f"call it as {name}({', '.join(rule.arg_names)}), "
            "or register a rule for this form with ad.defvjp",
        ) from None
    return rule


def bound_arguments(rule, call: ir.Call) -> Dict[str, ir.Atom]:
    """The rule's parameter names bound to the call's atoms; left-out ones to a `Default`."""
    bound = rule.bind(call.args, call.kwargs)
    for name in rule.arg_names:
        if name not in bound:
            bound[name] = Default(rule.defaults[name])
    return bound


def template_of(rule, index: int, side: str, call: ir.Call, loc: Optional[Loc]):
    """The JVP or VJP template of one argument, or a TransformError if unregistered or
    refused (:func:`s2s_ad.rules.refused`)."""
    from ..rules import MISSING, Refusal
    from .errors import TransformError

    template = getattr(rule, side)[index]
    if isinstance(template, Refusal):
        raise TransformError(template.message, loc, template.hint)
    if template is MISSING:
        name = call.spelling or rule.name
        mode, register = ("forward", "defjvp") if side == "jvp" else ("reverse", "defvjp")
        raise TransformError(
            f"`{name}` has no {mode}-mode rule for argument {index}",
            loc,
            f"register one with ad.{register}({name}, ...)",
        )
    return template
