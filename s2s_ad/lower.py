"""Stage 2: lower a parsed function to the three-address IR.

Each statement of the result applies one primitive to atoms.  Parameters are
read with ``load`` the first time they are used; a variable assigned once
keeps the user's name, everything else gets a fresh ``t<k>``.  Every
statement keeps its source position and the source text it computes, so
errors and comments can point back at the user's line.

>>> def f(x, a, b):
...     return (x + a) * (x + b)
>>> print(lower(parse(f)).function.body[2].note)
x + a
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import gast

from . import ir
from .errors import TransformError
from .parse import _MISSING, Parsed, dotted_name, parse

BINARY = {
    gast.Add: operator.add,
    gast.Sub: operator.sub,
    gast.Mult: operator.mul,
    gast.Div: operator.truediv,
    gast.FloorDiv: operator.floordiv,
    gast.Mod: operator.mod,
    gast.Pow: operator.pow,
    gast.MatMult: operator.matmul,
}

# What to tell the user about syntax this version does not transform.
UNSUPPORTED = {
    gast.For: "`for` loops are not supported yet",
    gast.AsyncFor: "`async for` loops cannot be differentiated",
    gast.While: "`while` loops are not supported yet",
    gast.If: "`if` statements are not supported yet",
    gast.IfExp: "conditional expressions (`a if c else b`) are not supported yet",
    gast.Compare: "comparisons are not supported yet",
    gast.BoolOp: "`and` / `or` are not supported yet",
    gast.Try: "`try` blocks cannot be differentiated",
    gast.With: "`with` blocks cannot be differentiated",
    gast.AsyncWith: "`async with` blocks cannot be differentiated",
    gast.Raise: "`raise` is not supported in differentiated code",
    gast.Yield: "generators (`yield`) cannot be differentiated",
    gast.YieldFrom: "generators (`yield from`) cannot be differentiated",
    gast.Await: "`await` cannot be differentiated",
    gast.Global: "`global` declarations are not supported",
    gast.Nonlocal: "`nonlocal` declarations are not supported",
    gast.FunctionDef: "nested function definitions are not supported yet",
    gast.AsyncFunctionDef: "`async def` cannot be differentiated",
    gast.ClassDef: "class definitions inside a differentiated function are not supported",
    gast.Lambda: "lambdas inside a differentiated function are not supported yet",
    gast.ListComp: "list comprehensions are not supported yet",
    gast.GeneratorExp: "generator expressions are not supported yet",
    gast.DictComp: "dict comprehensions are not supported yet",
    gast.SetComp: "set comprehensions are not supported yet",
    gast.Subscript: "indexing (`x[i]`) is not supported yet",
    gast.List: "list displays are not supported yet",
    gast.Dict: "dict displays are not supported yet",
    gast.Set: "set displays are not supported yet",
    gast.Starred: "star arguments (`*args`) are not supported",
    gast.Delete: "`del` is not supported in differentiated code",
    gast.Assert: "`assert` is not supported in differentiated code",
    gast.Import: "imports inside a differentiated function are not supported",
    gast.ImportFrom: "imports inside a differentiated function are not supported",
}
REWRITE_HINT = (
    "rewrite this line with arithmetic, math and NumPy calls, or move it into a "
    "helper function registered with ad.defvjp / ad.defjvp"
)


@dataclass
class Lowered:
    """A function in IR form, with what later stages need to know about it."""

    parsed: Parsed
    function: ir.Function
    names: ir.Names
    param_temps: Dict[str, ir.Var] = field(default_factory=dict)
    free_values: Dict[str, Any] = field(default_factory=dict)
    load_of: Dict[ir.Var, str] = field(default_factory=dict)  # load temp -> name loaded


def lower(parsed: Parsed) -> Lowered:
    """The IR of a parsed function (straight-line code)."""
    return _Lowerer(parsed).run()


def lower_function(fn) -> Lowered:
    """Parse and lower a Python function in one step."""
    return lower(parse(fn))


class _Lowerer:
    def __init__(self, parsed: Parsed):
        self.parsed = parsed
        self.node = parsed.node
        self.params = _params(parsed)
        param_names = {p.name for p in self.params}
        stores = Counter(
            n.id
            for n in gast.walk(self.node)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)
        )
        for n in gast.walk(self.node):
            if isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name):
                stores[n.target.id] += 1
        self.locals = set(stores) | param_names
        self.single_assignment = {n for n, c in stores.items() if c == 1 and n not in param_names}
        every_name = {n.id for n in gast.walk(self.node) if isinstance(n, gast.Name)}
        self.names = ir.Names(every_name | param_names)
        self.body: List[ir.Stmt] = []
        self.env: Dict[str, ir.Atom] = {}
        self.lowered = Lowered(parsed, None, self.names)  # function filled in by run()

    # ------------------------------------------------------------ driver

    def run(self) -> Lowered:
        statements = list(self.node.body)
        if statements and _is_docstring(statements[0]):
            statements = statements[1:]
        returned = False
        for stmt in statements:
            self.statement(stmt)
            if isinstance(stmt, gast.Return):
                returned = True
                break
        if not returned:
            self.body.append(ir.Return(ir.Const(None), self.parsed.loc(self.node)))
        self.lowered.function = ir.Function(
            name=self.parsed.name,
            params=tuple(self.params),
            body=self.body,
            loc=self.parsed.loc(self.node),
        )
        return self.lowered

    def error(self, message: str, node: gast.AST, hint: str = REWRITE_HINT) -> TransformError:
        return TransformError(message, self.parsed.loc(node), hint)

    # -------------------------------------------------------- statements

    def statement(self, node: gast.stmt) -> None:
        if isinstance(node, gast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], gast.Name):
                raise self.error(
                    "only assignments to a single name (`y = ...`) are supported yet", node
                )
            name = node.targets[0].id
            self.env[name] = self.expression(node.value, name=name)
        elif isinstance(node, gast.AnnAssign):
            if node.value is not None:
                if not isinstance(node.target, gast.Name):
                    raise self.error("only assignments to a single name are supported yet", node)
                name = node.target.id
                self.env[name] = self.expression(node.value, name=name)
        elif isinstance(node, gast.AugAssign):
            if not isinstance(node.target, gast.Name):
                raise self.error("only augmented assignments to a name are supported yet", node)
            fn = BINARY.get(type(node.op))
            if fn is None:
                raise self.error(f"the operator {type(node.op).__name__} is not supported", node)
            current = self.name(node.target.id, node.target)
            value = self.expression(node.value)
            note = self.parsed.segment(node)
            self.env[node.target.id] = self.emit(ir.Call(fn, (current, value)), node, note=note)
        elif isinstance(node, gast.Return):
            value = ir.Const(None) if node.value is None else self.tree(node.value)
            self.body.append(ir.Return(value, self.parsed.loc(node)))
        elif isinstance(node, gast.Expr):
            self.expression(node.value)
        elif isinstance(node, gast.Pass):
            pass
        else:
            raise self.error(_unsupported(node), node)

    def tree(self, node: gast.expr) -> ir.Tree:
        """A returned value: an atom, or a tuple display of returned values."""
        if isinstance(node, gast.Tuple):
            return tuple(self.tree(elt) for elt in node.elts)
        return self.expression(node)

    # ------------------------------------------------------- expressions

    def emit(
        self, value: ir.Expr, node: gast.AST, name: Optional[str] = None, note: str = ""
    ) -> ir.Var:
        # A user variable assigned once keeps its name; it cannot collide.
        target = ir.Var(name) if name else self.names.temp()
        loc = self.parsed.loc(node)
        self.body.append(ir.Assign(target, value, loc, note or self.parsed.segment(node)))
        return target

    def expression(self, node: gast.expr, name: Optional[str] = None) -> ir.Atom:
        """Lower an expression; ``name`` names its result after a user variable."""
        keep = name if name in self.single_assignment else None
        if isinstance(node, gast.Constant):
            return ir.Const(node.value)
        if isinstance(node, gast.Name):
            return self.name(node.id, node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, gast.BinOp):
            fn = BINARY.get(type(node.op))
            if fn is None:
                raise self.error(f"the operator {type(node.op).__name__} is not supported", node)
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
            raise self.error(f"the operator {type(node.op).__name__} is not supported yet", node)
        if isinstance(node, gast.Call):
            return self.call(node, keep)
        if isinstance(node, gast.Tuple):
            raise self.error("tuples are supported only as the returned value yet", node)
        raise self.error(_unsupported(node), node)

    def name(self, name: str, node: gast.AST) -> ir.Atom:
        if name in self.env:
            return self.env[name]
        if name in {p.name for p in self.params}:
            temp = self.emit(ir.Load(name), node, note=name)
            self.lowered.param_temps[name] = temp
            self.lowered.load_of[temp] = name
            self.env[name] = temp
            return temp
        if name in self.locals:
            raise self.error(
                f"local variable {name!r} is used before it is assigned", node, hint=""
            )
        value = self.parsed.resolver.lookup(name)
        if value is _MISSING:
            raise self.error(f"name {name!r} is not defined", node, hint="")
        temp = self.emit(ir.Load(name, free=True), node, note=name)
        self.lowered.free_values[name] = value
        self.lowered.load_of[temp] = name
        self.env[name] = temp
        return temp

    def resolve(self, node: gast.expr) -> Any:
        """The object a dotted name of free variables denotes (``np.linalg.norm``)."""
        parts = dotted_name(node)
        if parts is None or parts[0] in self.locals or parts[0] in self.env:
            raise self.error(
                "calling or reading attributes of computed values is not supported yet",
                node,
            )
        obj = self.parsed.resolver.lookup(parts[0])
        if obj is _MISSING:
            raise self.error(f"name {parts[0]!r} is not defined", node, hint="")
        for attr in parts[1:]:
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                raise self.error(f"{'.'.join(parts)!r} does not exist", node, hint="") from None
        return obj

    def attribute(self, node: gast.Attribute) -> ir.Atom:
        value = self.resolve(node)
        if isinstance(value, (int, float, complex, bool)):
            return ir.Const(value, spelling=".".join(dotted_name(node)))
        raise self.error(
            f"{self.parsed.segment(node)!r} is a {type(value).__name__}, "
            "not a number this function can compute with",
            node,
        )

    def call(self, node: gast.Call, name: Optional[str]) -> ir.Var:
        fn = self.resolve(node.func)
        args = []
        for arg in node.args:
            if isinstance(arg, gast.Starred):
                raise self.error(UNSUPPORTED[gast.Starred], arg)
            args.append(self.expression(arg))
        kwargs = []
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error("`**kwargs` in calls is not supported", node)
            kwargs.append((kw.arg, self.expression(kw.value)))
        spelling = ".".join(dotted_name(node.func))
        return self.emit(ir.Call(fn, tuple(args), tuple(kwargs), spelling), node, name)


def _params(parsed: Parsed) -> List[ir.Param]:
    args = parsed.node.args
    if args.vararg is not None or args.kwarg is not None:
        raise TransformError(
            "functions with *args or **kwargs cannot be differentiated yet",
            parsed.loc(args.vararg or args.kwarg),
            "list the parameters explicitly",
        )
    every = list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
    return [ir.Param(arg.id) for arg in every]


def _is_docstring(node: gast.stmt) -> bool:
    return (
        isinstance(node, gast.Expr)
        and isinstance(node.value, gast.Constant)
        and isinstance(node.value.value, str)
    )


def _unsupported(node: gast.AST) -> str:
    return UNSUPPORTED.get(type(node), f"`{type(node).__name__}` is not supported")
