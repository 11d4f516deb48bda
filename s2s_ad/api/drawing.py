"""The computational graph of a lowered function: its nodes, clusters and edges.

:class:`Drawing` reads the three-address IR of a function (what ``ad.trace`` prints)
and makes the picture :func:`s2s_ad.graph` draws: a node per value, labelled by the
statement that computes it; clusters for loop bodies and branches; an edge from each
value to each statement that reads it, labelled by :class:`EdgeLabels` with the local
partial derivative taken from the derivative rules, and, for the differentiated
values, an edge of the adjoint (reverse mode) or tangent (forward mode) flow labelled
with its statement.

>>> from s2s_ad.compiler.lower import lower_function
>>> def f(x, a):
...     return x * a
>>> drawing = Drawing(lower_function(f), ("x",), "reverse")
>>> [(e.tail, e.head, e.label) for e in drawing.edges.values() if e.kind != "partial"]
[('x', 't2', 'dx += dt2 * a'), ('t2', 't2:seed', ''), ('x:gradient', 'x', '')]
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple, Union

from .. import rules
from ..compiler import analyse, ir
from ..compiler.binding import Default, bound_arguments
from ..compiler.lower import Lowered
from ..rules.syntax import unparse


@dataclass
class Node:
    """A value of the trace (or where a derivative starts or ends)."""

    id: str
    label: str
    kind: str  # "input", "constant", "value", "output" or "derivative"
    tooltip: str = ""


@dataclass
class Cluster:
    """A loop body or a branch, drawn as a box around its nodes."""

    label: str
    items: list = field(default_factory=list)  # node ids and clusters, in order


@dataclass
class Edge:
    """A value read by another: its partial, adjoint or tangent edge."""

    tail: str
    head: str
    label: str
    kind: str  # "partial", "zero" (no derivative flows), "adjoint" or "tangent"


Defs = Dict[ir.Var, FrozenSet[str]]  # variable -> the nodes whose value it may hold


class Drawing:
    """The nodes, clusters and edges of one function's graph.

    Nodes are placed first, one per statement that computes a value (a loop
    body's once), in clusters that follow the control flow.  Then the reaching
    definitions of every variable are followed through the body (loops to a fixed
    point), and each read gets an edge from the nodes whose value it may see.
    """

    def __init__(self, low: Lowered, wrt: Tuple[str, ...], mode: str):
        fn = low.function
        self.low = low
        self.wrt = wrt
        self.mode = mode
        self.active = analyse.varied(fn, wrt) & analyse.useful(fn)
        loads = [s for s in ir.walk(fn.body) if isinstance(s, ir.Assign)]
        self.display = {  # the name a variable is shown by: a parameter's own
            s.target: s.value.name for s in loads if isinstance(s.value, ir.Load)
        }
        self.notes = {  # the user's source text a variable's value comes from
            s.target: s.note for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and s.note
        }
        self.returns_tuple = any(
            isinstance(s, ir.Return) and isinstance(s.value, tuple) for s in ir.walk(fn.body)
        )
        self.nodes: Dict[str, Node] = {}
        self.node_of: Dict[int, str] = {}  # id(statement) -> its node
        self.edges: Dict[tuple, Edge] = {}
        self.outputs: Dict[str, ir.Var] = {}  # node -> the variable returned from it
        self.top = Cluster("")  # the function body, holding the nodes and clusters
        self.place(fn.body, self.top)
        self.flow(fn.body, {})
        for node_id in self.outputs:
            if self.nodes[node_id].kind == "value":
                self.nodes[node_id].kind = "output"
        self.add_ends()

    @property
    def title(self) -> str:
        return f"{self.low.parsed.name}: {self.mode} mode with respect to {', '.join(self.wrt)}"

    # ------------------------------------------------------------ nodes

    def place(self, stmts: List[ir.Stmt], cluster: Cluster) -> None:
        for stmt in stmts:
            if isinstance(stmt, ir.Assign):
                self.add_node(stmt, stmt.target, *self.assign_label(stmt), cluster)
            elif isinstance(stmt, ir.SetItem):
                text = (
                    f"{self.name(stmt.target)}[{self.text(stmt.index)}] = {self.text(stmt.value)}"
                )
                self.add_node(stmt, stmt.target, text, "value", cluster)
            elif isinstance(stmt, ir.Push):
                text = f"{self.name(stmt.stack)}.append({self.text(stmt.value)})"
                self.add_node(stmt, stmt.stack, text, "value", cluster)
            elif isinstance(stmt, ir.Pop):
                text = f"{self.name(stmt.target)} = {self.name(stmt.stack)}.pop()"
                self.add_node(stmt, stmt.target, text, "value", cluster)
            elif isinstance(stmt, ir.If):
                self.place_cluster(f"if {self.source(stmt.cond)}:", stmt.body, cluster)
                if stmt.orelse:
                    self.place_cluster("else:", stmt.orelse, cluster)
            elif isinstance(stmt, ir.For):
                header = f"for {self.name(stmt.target)} in {self.source(stmt.iter)}:"
                inner = self.place_cluster(header, [], cluster)
                if any(stmt.target in ir.atoms_read(s) for s in ir.walk(stmt.body)):
                    text = f"{self.name(stmt.target)} in {self.text(stmt.iter)}"
                    self.add_node(stmt, stmt.target, text, "value", inner)
                self.place(stmt.body, inner)
            elif isinstance(stmt, ir.While):
                inner = self.place_cluster(f"while {self.source(stmt.cond)}:", stmt.test, cluster)
                self.place(stmt.body, inner)

    def place_cluster(self, label: str, body: List[ir.Stmt], parent: Cluster) -> Cluster:
        cluster = Cluster(label)
        parent.items.append(cluster)
        self.place(body, cluster)
        return cluster

    def add_node(self, stmt, var: ir.Var, label: str, kind: str, cluster: Cluster) -> None:
        node_id, k = self.name(var), 1
        while node_id in self.nodes:
            k += 1
            node_id = f"{self.name(var)}#{k}"
        loc = getattr(stmt, "loc", None)
        note = getattr(stmt, "note", "")
        tooltip = f"line {loc.lineno}: {note}" if loc is not None and note else note
        self.nodes[node_id] = Node(node_id, label, kind, tooltip)
        self.node_of[id(stmt)] = node_id
        cluster.items.append(node_id)

    def assign_label(self, stmt: ir.Assign) -> Tuple[str, str]:
        value = stmt.value
        if isinstance(value, ir.Load):
            differentiated = not value.free and value.name in self.wrt
            return value.name, "input" if differentiated else "constant"
        expression = unparse(ir.expr_to_ast(value, ir.spelled_callee, self.atom_ast))
        return f"{self.name(stmt.target)} = {expression}", "value"

    def name(self, var: ir.Var) -> str:
        return self.display.get(var, var.name)

    def atom_ast(self, atom: ir.Atom) -> ast.expr:
        if isinstance(atom, ir.Var):
            return ast.Name(id=self.name(atom), ctx=ast.Load())
        return ir.atom_to_ast(atom)

    def text(self, atom: ir.Atom) -> str:
        return unparse(self.atom_ast(atom))

    def source(self, atom: ir.Atom) -> str:
        """How the user wrote the value of ``atom`` (``range(n)`` for ``t2``), if known."""
        return self.notes.get(atom) or self.text(atom)

    # ------------------------------------------------------------ edges

    def flow(self, stmts: List[ir.Stmt], defs: Defs) -> Defs:
        """Edges into the nodes of ``stmts`` from what reaches them; the definitions after."""
        defs = dict(defs)
        for stmt in stmts:
            node = self.node_of.get(id(stmt))
            if isinstance(stmt, ir.Return):
                for atom in ir.tree_atoms(stmt.value):
                    for source in defs.get(atom, ()) if isinstance(atom, ir.Var) else ():
                        self.outputs[source] = atom
            elif isinstance(stmt, ir.If):
                branches = [self.flow(stmt.body, defs), self.flow(stmt.orelse, defs)]
                defs = _merge(*branches)
            elif isinstance(stmt, (ir.For, ir.While)):
                defs = self.flow_loop(stmt, defs)
            elif node is not None:
                for reads in self.reads(stmt):
                    self.connect(stmt, node, defs, *reads)
                for var in ir.targets_written(stmt):
                    defs[var] = frozenset((node,))
                if isinstance(stmt, ir.Push):
                    defs[stmt.stack] = frozenset((node,))
        return defs

    def flow_loop(self, loop: Union[ir.For, ir.While], before: Defs) -> Defs:
        """A loop runs its body zero or more times: follow it until nothing new reaches."""
        current = dict(before)
        target = self.node_of.get(id(loop))
        if target is not None:  # the loop variable of a `for`, read in the body
            self.connect(loop, target, current, loop.iter, None)
            current[loop.target] = frozenset((target,))
        body = loop.test + loop.body if isinstance(loop, ir.While) else loop.body
        while True:
            after = self.flow(body, current)
            merged = _merge(current, after)
            if merged == current:
                return _merge(before, merged)
            current = merged

    def reads(self, stmt: ir.Stmt) -> List[tuple]:
        """``(atom, position)`` for each value the statement reads; position None for a
        read that carries no derivative."""
        if isinstance(stmt, ir.Assign):
            value = stmt.value
            if isinstance(value, ir.Var):
                return [(value, 0)]
            if isinstance(value, ir.Call):
                items = list(value.args) + [v for _, v in value.kwargs]
                return [(atom, position) for position, atom in enumerate(items)]
            return []
        if isinstance(stmt, ir.SetItem):
            return [(stmt.target, "rest"), (stmt.index, None), (stmt.value, "item")]
        if isinstance(stmt, ir.Push):
            return [(stmt.stack, "rest"), (stmt.value, "item")]
        if isinstance(stmt, ir.Pop):
            return [(stmt.stack, "item")]
        return []

    def connect(self, stmt, node: str, defs: Defs, atom: ir.Atom, position) -> None:
        """Edges from the nodes ``atom`` may come from into ``node``."""
        if not isinstance(atom, ir.Var):
            return
        labels = None if position is None else EdgeLabels(self, stmt, atom, position).labels()
        target = _written(stmt)
        flows = labels is not None and atom in self.active and target in self.active
        for source in sorted(defs.get(atom, ())):
            if labels is None:
                self.add_edge(source, node, position, "", "zero")
                continue
            partial, adjoint, tangent = labels
            self.add_edge(source, node, position, partial, "partial")
            if flows and self.mode == "reverse":
                self.add_edge(source, node, position, adjoint, "adjoint")
            elif flows:
                self.add_edge(source, node, position, tangent, "tangent")

    def add_edge(self, tail: str, head: str, position, label: str, kind: str) -> None:
        self.edges.setdefault((tail, head, position, kind), Edge(tail, head, label, kind))

    # ------------------------------------------------------------ ends

    def add_ends(self) -> None:
        """Where the derivatives start and end: the seed and the gradients (reverse),
        the input and output tangents (forward)."""
        flow = "adjoint" if self.mode == "reverse" else "tangent"
        differentiated = [
            node
            for node in self.nodes.values()
            if node.kind == "input"
            and any(e.tail == node.id and e.kind == flow for e in self.edges.values())
        ]
        for node_id, var in list(self.outputs.items()):
            if var not in self.active:
                continue
            if self.mode == "reverse":
                seed = "cotangent" if self.returns_tuple else "1"
                self.add_end(f"{node_id}:seed", f"d{self.name(var)} = {seed}", node_id, flow)
            else:
                self.add_end(f"{node_id}:tangent", f"d{self.name(var)}", node_id, flow)
        for node in differentiated:
            end = f"{node.id}:{'gradient' if self.mode == 'reverse' else 'tangent'}"
            self.add_end(end, f"d{node.label}", node.id, flow, before=True)

    def add_end(self, end: str, label: str, node: str, flow: str, before: bool = False) -> None:
        """A derivative node beside ``node``: right of it, or left with ``before``."""
        self.nodes[end] = Node(end, label, "derivative")
        self.top.items.append(end)
        tail, head = (end, node) if before else (node, end)
        self.add_edge(tail, head, None, "", flow)


class EdgeLabels:
    """The three labels of one read: the local partial derivative (``t4``), its
    adjoint statement (``dt2 += dt5 * t4``) and its tangent statement."""

    def __init__(self, drawing: Drawing, stmt: ir.Stmt, atom: ir.Var, position):
        self.drawing = drawing
        self.stmt = stmt
        self.position = position  # in the call's arguments; "item" or "rest" of a container
        self.arg = drawing.name(atom)
        self.out = drawing.name(_written(stmt))

    def labels(self) -> Optional[Tuple[str, str, str]]:
        """``(partial, adjoint, tangent)``, or None where no derivative flows."""
        d_arg, d_out = f"d{self.arg}", f"d{self.out}"
        copy = isinstance(self.stmt, ir.Assign) and isinstance(self.stmt.value, ir.Var)
        if self.position in ("rest", "item") or copy:
            index = self.item_index()
            if self.position == "item" and index is not None:  # x[i] = v, xs.append(v)
                return "1", f"{d_arg} += {d_out}[{index}]", f"{d_out}[{index}] = {d_arg}"
            if index is not None:  # the items of x that x[i] = v leaves
                return f"1 but at [{index}]", f"{d_arg}[{index}] = 0", f"{d_out} = {d_arg}"
            return "1", f"{d_arg} += {d_out}", f"{d_out} += {d_arg}"
        call = self.stmt.value
        atom = self.atom()
        if atom not in analyse.differentiable_args(call):
            return None
        if call.fn is operator.getitem and self.position == 0:
            index = self.drawing.text(call.args[1])
            return "1", f"{d_arg}[{index}] += {d_out}", f"{d_out} += {d_arg}[{index}]"
        if call.fn in ir.DISPLAYS:
            keyword = self.position >= len(call.args)  # {'k': v} has keywords, (a, b) none
            key = call.kwargs[self.position - len(call.args)][0] if keyword else self.position
            return "1", f"{d_arg} += {d_out}[{key!r}]", f"{d_out}[{key!r}] = {d_arg}"
        rule = rules.rule_of(call)
        if rule is None:  # a user function or a call with no rule: named, not computed
            partial = f"∂{self.out}/∂{self.arg}"
            return partial, f"{d_arg} += {d_out} * {partial}", f"{d_out} += {partial} * {d_arg}"
        return self.from_rule(rule, call, d_arg, d_out)

    def atom(self) -> ir.Atom:
        call = self.stmt.value
        items = list(call.args) + [v for _, v in call.kwargs]
        return items[self.position]

    def item_index(self) -> Optional[str]:
        if isinstance(self.stmt, ir.SetItem):
            return self.drawing.text(self.stmt.index)
        if isinstance(self.stmt, ir.Push):
            return "-1"
        return None

    def from_rule(self, rule, call: ir.Call, d_arg: str, d_out: str) -> Tuple[str, str, str]:
        """The labels from the rule's templates: a scalar rule's partial derivative, or
        for other rules the linear map its JVP template writes (``dW ↦ dW @ x``)."""
        if self.position < len(call.args):
            name = rule.arg_names[self.position]
        else:
            name = call.kwargs[self.position - len(call.args)][0]
        index = rule.arg_names.index(name)
        names = {n: self.drawing.atom_ast(a) for n, a in bound_arguments(rule, call).items()}
        names.update(out=_name(self.out))
        for n, atom in bound_arguments(rule, call).items():
            if isinstance(atom, Default):  # left out of the call: left out of the labels
                names[n] = _LeftOut(atom.value)
        symbolic = f"∂{self.out}/∂{self.arg}"
        adjoint = _instantiate(rule.vjp[index], {**names, "g": _name(d_out)})
        tangent = _instantiate(rule.jvp[index], {**names, f"d{name}": _name(d_arg)})
        if rule.partials is not None and rule.partials[index] is not None:
            partial = _instantiate(rules.Template.parse(rule.partials[index]), names)
        else:
            partial = f"{d_arg} ↦ {tangent}" if tangent else symbolic
        return (
            partial,
            _accumulate(d_arg, adjoint or f"{d_out} * {symbolic}"),
            f"{d_out} += {tangent or f'{symbolic} * {d_arg}'}",
        )


def _written(stmt: ir.Stmt) -> ir.Var:
    if isinstance(stmt, ir.Push):
        return stmt.stack
    return next(iter(ir.targets_written(stmt)))


def _merge(*states: Defs) -> Defs:
    merged: Defs = {}
    for state in states:
        for var, nodes in state.items():
            merged[var] = merged.get(var, frozenset()) | nodes
    return merged


def _name(text: str) -> ast.Name:
    return ast.Name(id=text, ctx=ast.Load())


class _LeftOut(ast.Constant):
    """The value of a parameter the call left out: its keyword is dropped from labels."""


def _instantiate(template: Optional[rules.Template], names: Dict[str, ast.expr]) -> str:
    """A template's text with its names replaced, simplified where a person would;
    ``""`` for a template that is missing or refused."""
    if template is None or template.source.startswith("<"):
        return ""

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return names.get(node.id, node)

        def visit_Call(self, node: ast.Call) -> ast.expr:
            self.generic_visit(node)
            node.keywords = [k for k in node.keywords if not isinstance(k.value, _LeftOut)]
            return node

    tree = Substitute().visit(ast.parse(template.source.strip(), mode="eval").body)
    return unparse(_Simplify().visit(tree))


class _Simplify(ast.NodeTransformer):
    """``1 * e``, ``e * 1``, ``e / 1``, ``e ** 1`` -> ``e``; arithmetic on numbers folded;
    the guards of ``x ** y``'s partials at 0 shown as the formulas they guard
    (``power_exponent(x, y)`` is ``y - 1``, ``nonzero_base(x)`` is ``x``)."""

    FOLD = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name == "power_exponent" and len(node.args) == 2:
            return self.visit_BinOp(ast.BinOp(node.args[1], ast.Sub(), ast.Constant(1)))
        if name == "nonzero_base" and len(node.args) == 1:
            return node.args[0]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        left, right = node.left, node.right
        if isinstance(node.op, ast.Mult) and _is_number(left, 1):
            return right
        if isinstance(node.op, (ast.Mult, ast.Div, ast.Pow)) and _is_number(right, 1):
            return left
        fold = self.FOLD.get(type(node.op))
        if fold and _is_number(left) and _is_number(right):
            return ast.Constant(fold(left.value, right.value))
        return node


def _is_number(node: ast.expr, value: Optional[float] = None) -> bool:
    is_number = isinstance(node, ast.Constant) and type(node.value) in (int, float)
    return is_number and (value is None or node.value == value)


def _accumulate(target: str, term: str) -> str:
    """``dx += term``, or ``dx -= rest`` for a negated term."""
    tree = ast.parse(term, mode="eval").body
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
        return f"{target} -= {unparse(tree.operand)}"
    return f"{target} += {term}"
