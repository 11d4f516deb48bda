"""Lowering expressions: operators, comparisons, ``and``/``or``, names and attributes.

Each operation becomes one statement ``t = op(atoms)`` appended to the
current block; the atom holding the result is returned.  A parameter or a
free name is read once, by a ``load`` at the function's top level.
"""

from __future__ import annotations

import operator
from typing import Any, List, Optional

import gast
import numpy as np

from ... import runtime
from ...rules.numpy import ARRAY_ATTRIBUTES
from ...runtime import shape_ops
from .. import ir, nested
from ..parse import NOT_FOUND, dotted_name
from .containers import COMPREHENSIONS
from .state import LoweringState, unsupported_message, unsupported_operator

BINARY = {
    gast.Add: operator.add,
    gast.Sub: operator.sub,
    gast.Mult: operator.mul,
    gast.Div: operator.truediv,
    gast.FloorDiv: operator.floordiv,
    gast.Mod: operator.mod,
    gast.Pow: operator.pow,
    gast.MatMult: operator.matmul,
    gast.BitAnd: operator.and_,  # of masks (booleans) or integers: never differentiated
    gast.BitOr: operator.or_,
    gast.BitXor: operator.xor,
}
COMPARE = {
    gast.Lt: operator.lt,
    gast.LtE: operator.le,
    gast.Gt: operator.gt,
    gast.GtE: operator.ge,
    gast.Eq: operator.eq,
    gast.NotEq: operator.ne,
    gast.Is: operator.is_,
    gast.IsNot: operator.is_not,
}
# Calls that only build booleans: a test made of these may be evaluated eagerly.
_EAGER_SAFE = set(COMPARE.values()) | {operator.not_, runtime.both, runtime.either}
# The index expressions that join arrays: np.r_[a, b] and np.c_[a, b].
INDEX_JOINS = {id(np.r_): shape_ops.index_r, id(np.c_): shape_ops.index_c}
# Attributes of computed values that are constants for differentiation.
SHAPE_ATTRIBUTES = {"shape": np.shape, "ndim": np.ndim, "size": np.size}


class ExpressionLowering(LoweringState):
    """Expressions into atoms; calls are lowered by :class:`CallLowering` (through ``self``)."""

    def expression(self, node: gast.expr, name: Optional[str] = None) -> ir.Atom:
        """Lower an expression; ``name`` names its result after a user variable."""
        keep = name if name in self.single_assignment else None
        if node in self.prelowered:  # a call lowered to see whether it gave functions
            return self.prelowered.pop(node)
        if isinstance(node, gast.Constant):
            return ir.Const(node.value)
        if isinstance(node, gast.Name):
            return self.name(node.id, node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, gast.BinOp):
            joined = self.sequence_arithmetic(node, keep)  # `xs + [x]`, `[0.0] * n`
            if joined is not None:
                return joined
            fn = BINARY.get(type(node.op))
            if fn is None:
                raise self.error(unsupported_operator(node.op), node)
            left, right = self.expression(node.left), self.expression(node.right)
            return self.emit(ir.Call(fn, (left, right)), node, keep)
        if isinstance(node, gast.UnaryOp):
            operand = self.expression(node.operand)
            if isinstance(node.op, gast.UAdd):
                return operand
            if isinstance(node.op, gast.USub):
                if isinstance(operand, ir.Const) and isinstance(operand.value, (int, float)):
                    return ir.Const(-operand.value)
                return self.emit(ir.Call(operator.neg, (operand,)), node, keep)
            if isinstance(node.op, gast.Not):
                result = self.emit(ir.Call(operator.not_, (operand,)), node, keep)
                self.booleans.add(result)
                return result
            if isinstance(node.op, gast.Invert):  # `~mask`
                return self.emit(ir.Call(operator.invert, (operand,)), node, keep)
            raise self.error(unsupported_operator(node.op), node)
        if isinstance(node, gast.Call):
            return self.call(node, keep)
        if isinstance(node, gast.Compare):
            return self.compare(node, keep)
        if isinstance(node, gast.BoolOp):
            return self.boolean(node, keep)
        if isinstance(node, gast.IfExp):
            return self.conditional(node)
        if isinstance(node, gast.Subscript):
            if self.index_join_of(node.value) is not None:
                return self.index_join(node, keep)
            container = self.expression(node.value)
            index = self.index(node.slice)
            return self.emit(ir.Call(operator.getitem, (container, index)), node, keep)
        if isinstance(node, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) for e in node.elts):  # `[*xs, y]`
                return self.starred_display(node, keep)
            items = tuple(self.expression(e) for e in node.elts)
            maker = runtime.make_tuple if isinstance(node, gast.Tuple) else runtime.make_list
            return self.known(self.emit(ir.Call(maker, items), node, keep), items)
        if isinstance(node, gast.Dict):
            return self.dict_display(node, keep)
        if isinstance(node, COMPREHENSIONS):  # a generator only where a call takes it
            return self.comprehension(node, keep)
        if isinstance(node, gast.NamedExpr):  # `(y := value)`: bind y, and give the value
            return self.assign(node.target, self.expression(node.value), node)
        if isinstance(node, gast.JoinedStr):
            return self.f_string(node, keep)
        if isinstance(node, gast.Lambda):
            return self.function_value(nested.LocalFunction.of(node, "<lambda>"), node)
        raise self.error(unsupported_message(node), node)

    def divmod_call(self, node: gast.Call, keep: Optional[str]) -> ir.Atom:
        """``divmod(a, b)`` is ``(a // b, a % b)``, each differentiated by its own rule."""
        a, b = (self.expression(arg) for arg in node.args)
        quotient = self.emit(ir.Call(operator.floordiv, (a, b)), node)
        remainder = self.emit(ir.Call(operator.mod, (a, b)), node)
        return self.emit(ir.Call(runtime.make_tuple, (quotient, remainder)), node, keep)

    def index_join_of(self, node: gast.expr) -> Any:
        """``runtime.index_r`` for ``np.r_`` (``index_c`` for ``np.c_``), else None."""
        parts = dotted_name(node)
        if parts is None or parts[0] in self.locals or parts[0] in self.env:
            return None
        obj = self.parsed.resolver.lookup(parts[0])
        for attr in parts[1:]:
            obj = getattr(obj, attr, None)
        return INDEX_JOINS.get(id(obj))

    def index_join(self, node: gast.Subscript, keep: Optional[str]) -> ir.Atom:
        """``np.r_[a, b, 0.0]`` and ``np.c_[x, y]`` as ``index_r((a, b, 0.0))``: a constant
        slice item is the array it stands for (``np.r_[0:3]``); a string directive is refused."""
        joiner = self.index_join_of(node.value)
        elements = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        items = []
        for element in elements:
            if isinstance(element, gast.Constant) and isinstance(element.value, str):
                raise self.error(
                    f"the directive {element.value!r} in {self.parsed.segment(node.value)}[...] "
                    "is not supported",
                    node,
                    "join with np.concatenate, np.stack or np.column_stack instead",
                )
            item = self.index(element)
            if isinstance(item, ir.Const) and isinstance(item.value, slice):
                item = ir.Const(tuple(np.r_[item.value].tolist()))
            items.append(item)
        joined = self.emit(ir.Call(runtime.make_tuple, tuple(items)), node)
        return self.emit(ir.Call(joiner, (joined,)), node, keep)

    def index(self, node: gast.expr) -> ir.Atom:
        """An index: atoms, slices ``a:b:c`` and tuples of them."""
        if isinstance(node, gast.Slice):
            parts = [
                ir.Const(None) if p is None else self.expression(p)
                for p in (node.lower, node.upper, node.step)
            ]
            if all(isinstance(p, ir.Const) for p in parts):
                return ir.Const(slice(*(p.value for p in parts)), spelling=_slice_text(parts))
            return self.emit(ir.Call(slice, tuple(parts), spelling="slice"), node)
        if isinstance(node, gast.Tuple):
            parts = tuple(self.index(e) for e in node.elts)
            return self.emit(ir.Call(runtime.make_tuple, parts), node)
        return self.expression(node)

    def f_string(self, node: gast.JoinedStr, keep: Optional[str] = None) -> ir.Atom:
        """``f"W{i}"``: a string, a constant for differentiation, built where it stands."""
        parts = []
        for part in node.values:
            if isinstance(part, gast.FormattedValue):
                value = self.expression(part.value)
                spec = ir.Const("") if part.format_spec is None else self.f_string(part.format_spec)
                call = ir.Call(runtime.formatted, (value, ir.Const(part.conversion), spec))
                part = self.emit(call, node)
            else:
                part = self.expression(part)
            parts.append(part)
        if all(isinstance(p, ir.Const) for p in parts):
            return ir.Const("".join(p.value for p in parts))
        return self.emit(ir.Call(runtime.joined, tuple(parts)), node, keep)

    def dict_display(self, node: gast.Dict, keep: Optional[str]) -> ir.Atom:
        items = []
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, gast.Constant) and isinstance(key.value, str)):
                raise self.error(
                    "only dict displays with string keys are supported", key or node, ""
                )
            items.append((key.value, self.expression(value)))
        return self.known(
            self.emit(ir.Call(runtime.make_dict, (), tuple(items)), node, keep), dict(items)
        )

    def compare(self, node: gast.Compare, keep: Optional[str]) -> ir.Atom:
        """``a < b <= c`` is ``a < b and b <= c`` with ``b`` evaluated once."""
        left = self.expression(node.left)
        parts = []
        for op, right_node in zip(node.ops, node.comparators):
            right = self.expression(right_node)
            if isinstance(op, (gast.In, gast.NotIn)):
                part = self.emit(ir.Call(operator.contains, (right, left)), node)
                if isinstance(op, gast.NotIn):
                    part = self.emit(ir.Call(operator.not_, (part,)), node)
            else:
                part = self.emit(ir.Call(COMPARE[type(op)], (left, right)), node)
            parts.append(part)
            left = right
        result = parts[0]
        for part in parts[1:]:
            result = self.emit(ir.Call(runtime.both, (result, part)), node)
        if keep and isinstance(result, ir.Var) and result.name in self.names.generated:
            self.body[-1].target = result = ir.Var(keep)
        self.booleans.add(result)
        return result

    def boolean(self, node: gast.BoolOp, keep: Optional[str]) -> ir.Atom:
        """``and`` / ``or``: eager when the later operands only compare, short-circuit otherwise."""
        is_and = isinstance(node.op, gast.And)
        result = self.expression(node.values[0])
        for operand in node.values[1:]:
            outer, self.body = self.body, []
            try:
                value = self.expression(operand)
                statements = self.body
            finally:
                self.body = outer
            bools = self.booleans
            if all(_eager_safe(s) for s in statements) and result in bools and value in bools:
                self.body.extend(statements)
                combine = runtime.both if is_and else runtime.either
                result = self.emit(ir.Call(combine, (result, value)), node)
                self.booleans.add(result)
                continue
            var = self.names.temp()
            loc = self.parsed.loc(node)
            self.body.append(ir.Assign(var, result, loc))
            statements.append(ir.Assign(var, value, loc))
            body, orelse = (statements, []) if is_and else ([], statements)
            # the test reads the operand, not `var`: the branch rebinds `var`,
            # and reverse mode replays the test after the branch ran
            self.body.append(ir.If(result, body, orelse, loc))
            result = var
        return result

    def conditional(self, node: gast.IfExp) -> ir.Atom:
        """``a if c else b``: a branch that assigns one variable."""
        cond = self.expression(node.test)
        var = self.names.temp()
        loc = self.parsed.loc(node)
        branches = []
        for value_node in (node.body, node.orelse):
            outer, self.body = self.body, []
            try:
                value = self.expression(value_node)
                self.body.append(ir.Assign(var, value, loc, self.parsed.segment(value_node)))
                branches.append(self.body)
            finally:
                self.body = outer
        self.body.append(ir.If(cond, branches[0], branches[1], loc))
        return var

    def name(self, name: str, node: gast.AST) -> ir.Atom:
        if name in self.env:
            return self.env[name]
        if name in self.mutable:
            return ir.Var(name)
        if name in self.local_functions:
            return self.function_value(self.local_functions[name], node)
        if name in self.function_values:  # a parameter bound to a function, used as a value
            return self.function_argument_value(self.function_values[name], node)
        if name in self.param_names:
            temp = self.load(ir.Load(name), node)
            self.lowered.param_temps[name] = temp
            if self.receiver and name == self.receiver[0]:
                self.receiver_classes[temp] = self.receiver[1]
            return temp
        if name in self.locals:
            raise self.error(
                f"local variable {name!r} is used before it is assigned", node, hint=""
            )
        value = self.parsed.resolver.lookup(name)
        if value is NOT_FOUND:
            raise self.error(f"name {name!r} is not defined", node, hint="")
        self.lowered.free_values[name] = value
        home, attr = self.parsed.resolver.place(name) or (None, "")
        return self.load(ir.Load(name, free=True, home=home, attr=attr), node)

    def load(self, load: ir.Load, node: gast.AST) -> ir.Var:
        """Read a parameter or free name once, at the function's top level.

        Loads go to the top level even from inside a branch or a loop, so
        that the value is defined wherever the name is used later.
        """
        temp = self.names.temp()
        self.top.append(ir.Assign(temp, load, self.parsed.loc(node), load.name))
        self.lowered.load_of[temp] = load.name
        self.env[load.name] = temp
        return temp

    def attribute(self, node: gast.Attribute) -> ir.Atom:
        parts = dotted_name(node)
        local = parts is None or parts[0] in self.locals or parts[0] in self.env
        if local and node.attr in SHAPE_ATTRIBUTES:
            value = self.expression(node.value)
            return self.emit(ir.Call(SHAPE_ATTRIBUTES[node.attr], (value,)), node)
        if local and node.attr in ARRAY_ATTRIBUTES:
            fn = ARRAY_ATTRIBUTES[node.attr]
            value = self.expression(node.value)
            return self.emit(ir.Call(fn, (value,), spelling=f"np.{fn.__name__}"), node)
        if local:  # a field of a record (`params.W`), differentiated like an item
            inlined = self.receiver_property(node)
            if inlined is not None:
                return inlined
            record = self.expression(node.value)
            if node.attr in runtime.MEMORY_ATTRIBUTES:  # refused on arrays, where it runs
                loc = self.parsed.loc(node)
                where = (loc.filename, loc.lineno, loc.col_offset, loc.source_line)
                check = (record, ir.Const(node.attr), ir.Const(where))
                self.emit(ir.Call(runtime.check_memory_attribute, check), node)
            return self.emit(ir.Call(runtime.field, (record, ir.Const(node.attr))), node)
        value = self.resolve(node)
        # np.pi, np.float32, and np.newaxis (None) in an index
        if value is None or isinstance(value, (int, float, complex, bool, type, np.dtype)):
            return ir.Const(value, spelling=".".join(dotted_name(node)))
        raise self.error(
            f"{self.parsed.segment(node)!r} is a {type(value).__name__}, "
            "not a number this function can compute with",
            node,
        )


def _slice_text(parts: List[ir.Const]) -> str:
    lower, upper, step = (("" if p.value is None else repr(p.value)) for p in parts)
    return f"slice({lower or None}, {upper or None}, {step or None})"


def _eager_safe(stmt: ir.Stmt) -> bool:
    return isinstance(stmt, ir.Assign) and (
        isinstance(stmt.value, ir.Load)
        or isinstance(stmt.value, ir.Call)
        and stmt.value.fn in _EAGER_SAFE
    )
