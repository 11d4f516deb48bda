"""What every part of the lowerer shares: the state of one lowering, errors and names.

:class:`LoweringState` holds the function being lowered, what is known about
its names (parameters, locals, mutable and single-assignment variables), the
environment from names to atoms, and the block statements are appended to.
It refuses unsupported syntax before anything is lowered, and resolves the
dotted names of free variables (``np.linalg.norm``) to the objects they denote.
"""

from __future__ import annotations

import inspect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

import gast
import numpy as np

from .. import ir, nested
from ..errors import TransformError
from ..parse import NOT_FOUND, Parsed, dotted_name, parse
from ..signatures import RECEIVER_ATTRIBUTE
from .aliasing import Sharing, synced_in_control_flow
from .environment import BoundNames, Environment

# What to tell the user about syntax this version does not transform.
UNSUPPORTED = {
    gast.AsyncFor: "`async for` loops cannot be differentiated",
    gast.Try: "`try` blocks cannot be differentiated",
    gast.With: "`with` blocks cannot be differentiated, except `with np.errstate(...)`",
    gast.AsyncWith: "`async with` blocks cannot be differentiated",
    gast.Raise: "`raise` is not supported in differentiated code",
    gast.Yield: "generators (`yield`) cannot be differentiated",
    gast.YieldFrom: "generators (`yield from`) cannot be differentiated",
    gast.Await: "`await` cannot be differentiated",
    gast.Global: "`global` declarations are not supported",
    gast.Nonlocal: "`nonlocal` declarations are not supported",
    gast.AsyncFunctionDef: "`async def` cannot be differentiated",
    gast.ClassDef: "class definitions inside a differentiated function are not supported",
    gast.GeneratorExp: "a generator expression is supported only as the argument of a call "
    "(`sum(...)`, `np.stack(...)`, `list(...)`), not stored or returned",
    gast.SetComp: "set comprehensions are not supported yet",
    gast.Set: "set displays are not supported",
    gast.Starred: "star unpacking (`*xs`) is supported only in calls and in list and tuple "
    "displays",
    gast.Delete: "`del` is not supported in differentiated code",
    gast.Import: "imports inside a differentiated function are not supported",
    gast.Match: "`match` statements are not supported",
    gast.TryStar: "`try` blocks cannot be differentiated",
    gast.ImportFrom: "imports inside a differentiated function are not supported",
}
HINTS = {
    gast.Try: "move the code that may raise out of the differentiated function",
    gast.TryStar: "move the code that may raise out of the differentiated function",
    gast.Match: "write `if` / `elif` tests",
    gast.With: "open the resource outside and pass the values in",
    gast.Yield: "return a list (or an array) of the values instead",
    gast.YieldFrom: "return a list (or an array) of the values instead",
    gast.Global: "pass the value in as an argument and return the new value",
    gast.Nonlocal: "pass the value in as an argument and return the new value",
    gast.ClassDef: "define the class at module level",
    gast.AsyncFunctionDef: "write a plain `def`",
    gast.AsyncFor: "write a plain `for` loop",
    gast.Await: "compute the value before calling the differentiated function",
    gast.GeneratorExp: "write a list comprehension `[...]` instead",
    gast.SetComp: "build a list (a list comprehension `[...]`) instead",
    gast.Set: "use a list or a tuple instead",
    gast.Starred: "index the items instead: `first, rest = xs[0], xs[1:]`",
}
REWRITE_HINT = (
    "rewrite this line with arithmetic, math and NumPy calls, or move it into a "
    "helper function registered with ad.defvjp / ad.defjvp"
)
LOOPS = (gast.For, gast.While)
LIBRARIES = {"numpy", "math", "cmath", "builtins", "operator", "scipy", "s2s_ad"}


@dataclass
class Lowered:
    """A function in IR form, with what later stages need to know about it."""

    parsed: Parsed
    function: ir.Function
    names: ir.Names
    param_temps: Dict[str, ir.Var] = field(default_factory=dict)
    free_values: Dict[str, Any] = field(default_factory=dict)
    load_of: Dict[ir.Var, str] = field(default_factory=dict)  # load temp -> name loaded


@dataclass(frozen=True, eq=False)
class FunctionArgument:
    """An argument that is a function value, bound to the inlined callee's parameter
    instead of being computed (it stands in a ``Const`` while arguments are bound), or
    what the call of a function that returns a function gives (see ``factories.py``)."""

    value: Any


def is_function_value(atom: Any) -> bool:
    """Whether a lowered value is a function value, not data.

    >>> is_function_value(ir.Const(FunctionArgument(print))), is_function_value(ir.Const(1))
    (True, False)
    """
    return isinstance(atom, ir.Const) and isinstance(atom.value, FunctionArgument)


class LoweringState:
    """One function being lowered: what is known about its names, and where statements go.

    The parts of the lowerer (statements, expressions, calls, local functions)
    are mixins of this class, and call one another's methods through ``self``.
    """

    def __init__(self, parsed: Parsed):
        self.parsed = parsed
        self.node = parsed.node
        self.params = _params(parsed)
        self.param_names = {p.name for p in self.params}
        # every node with where it stands: one walk for the analyses below and later ones
        self.function_nodes = nodes = nested.WalkedNodes(self.node)
        stores = Counter(nested.names_stored(nodes.own_in_body()))
        self.locals = set(stores) | self.param_names
        placed = nodes.own_placed()
        stores.update(  # an item write rebinds its variable: `a = updated(a, i, v)`
            root for root in map(nested.item_written, nodes.own()) if root in self.locals
        )
        self.definition_sites = self._definition_sites(stores)
        self.local_functions: Dict[str, nested.LocalFunction] = {}
        self.inlining: List[gast.AST] = []  # functions being inlined (their nodes), innermost last
        self.mutable = assigned_in_control_flow(placed) & self.locals
        self.mutable |= synced_in_control_flow(placed) & self.locals
        self.single_assignment = {
            n for n, c in stores.items() if c == 1 and n not in self.param_names
        } - self.mutable
        # the nodes, local functions' too (a class is refused below, so not entered)
        inlined = nodes.outside_classes()
        every_name = {n.id for n in inlined if isinstance(n, gast.Name)}
        self.names = ir.Names(every_name | self.param_names)
        self.env: Dict[str, ir.Atom] = Environment()  # names -> atoms, on the current path
        # parameters of inlined functions bound to function values (see inlining.py)
        self.function_values: Dict[str, Any] = {}
        # calls lowered ahead of their statement, by id of their node (see factories.py)
        self.prelowered = nested.ByNode()
        # the class of a bound method's `self`, by the atom holding it (see inlining.py)
        receiver = getattr(parsed.fn, RECEIVER_ATTRIBUTE, None)
        self.receiver = (self.params[0].name, receiver) if receiver and self.params else None
        self.receiver_classes: Dict[ir.Atom, type] = {}
        self.inlined_code = [parsed.fn.__code__]  # functions being inlined, outermost first
        # what each free name in the lowered code denotes (inlined callees' included)
        self.free_scope = {
            n: parsed.resolver.lookup(n) for n in every_name - self.locals if n.isidentifier()
        }
        self.refuse_unsupported(self.node, inlined)
        self.top: List[ir.Stmt] = []
        self.body: List[ir.Stmt] = self.top
        self.loop_depth = 0
        self.booleans: set = set()  # variables holding results of comparisons
        self.returns_in_loops = returns_in_loops(nodes)
        self.retval = self.returned = None
        self.lowered = Lowered(parsed, None, self.names)  # function filled in by run()
        self.sharing = Sharing(self.node, nodes, self.is_library_call)
        self.bound_names = BoundNames(self.param_names)  # surely bound on the current path
        self.named_temps: set = set()  # temporaries that are the value of a name (env)
        self.inline_calls: List[gast.Call] = []  # calls of local functions being inlined
        # the sequences the `for` loops around the current statement walk: (names, atom)
        self.loop_sequences: List[tuple] = []
        # tuples, lists and dicts whose items are known atoms (displays, a helper's *args):
        # what `g(*xs)` and `g(**kw)` expand to
        self.known_items: Dict[ir.Atom, Any] = {}
        self.sequences_found: Optional[set] = None  # names bound only to lists (containers.py)
        self.positional_loops = nested.ByNode()  # `for k in d` loops walked by position
        # the keys and indices an unrolled loop over functions binds in the trip being
        # lowered (function_loops.py), where the body reads `table[k]`
        self.trip_constants: Dict[str, Any] = {}
        self.method_receivers: Optional[set] = None  # names whose methods are called
        self.checkpointing = 0  # checkpointed loops being lowered (their restores copy)
        # user functions called, parsed once each (a helper called on every line of a
        # long function would be parsed, and its file compared, at every call)
        self.callees: Dict[Any, Parsed] = {}
        self.callees_checked: set = set()  # those refuse_unsupported found nothing in
        self.callees_writing_nothing: set = set()  # those that write into no parameter

    def _definition_sites(self, stores: Counter) -> nested.ByNode:
        """The statements that define local functions (``def g``, ``g = lambda``).

        Only definitions at the top of the body count, and their name must
        not be bound anywhere else: a call then always means one function.
        """
        sites = nested.ByNode()
        for stmt in self.node.body:
            name = defined_function(stmt)
            if name is None:
                continue
            if stores[name] > 1 or name in self.param_names:
                raise self.error(
                    f"the local function `{name}` is bound more than once",
                    _another_binding(self.node, name, stmt),
                    "give each local function a name of its own",
                )
            sites[stmt] = name
        return sites

    def parsed_callee(self, fn: Any) -> Parsed:
        """``parse(fn)`` of a function this one calls, once per lowering."""
        parsed = self.callees.get(fn)
        if parsed is None:
            parsed = self.callees[fn] = parse(fn)
        return parsed

    def error(self, message: str, node: gast.AST, hint: str = REWRITE_HINT) -> TransformError:
        return TransformError(message, self.parsed.loc(node), hint)

    def refuse_unsupported(
        self, function: gast.FunctionDef, inlined: Optional[List[gast.AST]] = None
    ) -> None:
        """Refuse, at its own line, the first construct this compiler cannot transform
        (``inlined``: the function's nodes, as :func:`_walk_inlined` gives them, if known)."""
        if inlined is None:
            inlined = list(_walk_inlined(function))
        reduced = {  # generators handed straight to a call (built as lists), `g(*xs)`, `[*xs]`
            id(arg)
            for node in inlined
            if isinstance(node, gast.Call)
            or isinstance(node, (gast.List, gast.Tuple))
            and isinstance(node.ctx, gast.Load)
            for arg in (node.args if isinstance(node, gast.Call) else node.elts)
            if isinstance(arg, (gast.GeneratorExp, gast.Starred))
        }
        scoping = (gast.Global, gast.Nonlocal)
        unwalked = [n for n in inlined if isinstance(n, (gast.ClassDef, gast.AsyncFunctionDef))]
        if any(isinstance(n, scoping) for n in inlined) or any(
            isinstance(n, scoping) for scope in unwalked for n in gast.walk(scope)
        ):
            for node in gast.walk(function):  # also inside nested functions: a clearer message
                if isinstance(node, scoping):  # the first in ast.walk's order
                    raise self.error(UNSUPPORTED[type(node)], node, HINTS[type(node)])
        for node in inlined:
            if id(node) in reduced:
                continue
            if isinstance(node, gast.With) and self.transparent(node):
                continue
            if type(node) in UNSUPPORTED:
                raise self.error(UNSUPPORTED[type(node)], node, HINTS.get(type(node), REWRITE_HINT))
            if isinstance(node, (gast.For, gast.While)) and node.orelse:
                raise self.error(
                    "`else` clauses on loops are not supported",
                    node.orelse[0],
                    "set a flag before `break` and test it after the loop",
                )

    def transparent(self, node: gast.With) -> bool:
        """Whether a ``with`` only sets how NumPy reports floating-point errors
        (``with np.errstate(divide="ignore"):``): its body is lowered as if it stood alone."""
        return all(
            item.optional_vars is None and self.callee_of(item.context_expr) is np.errstate
            for item in node.items
        )

    def emit(
        self, value: ir.Expr, node: gast.AST, name: Optional[str] = None, note: str = ""
    ) -> ir.Var:
        if isinstance(value, ir.Call):
            self.refuse_function_values((*value.args, *(a for _, a in value.kwargs)), node)
        # A user variable assigned once keeps its name; it cannot collide.
        target = ir.Var(name) if name else self.names.temp()
        loc = self.parsed.loc(node)
        self.body.append(ir.Assign(target, value, loc, note or self.parsed.segment(node)))
        return target

    def refuse_function_values(self, atoms: Any, node: gast.AST) -> None:
        """A function value (what a factory's call gives) among the atoms of a computation:
        s2s_ad only calls it, or passes it to a function it inlines."""
        if any(map(is_function_value, atoms)):
            raise self.error(
                "this uses a function a call returned as data: s2s_ad can call it, or pass "
                "it to a user function that calls it",
                node,
                "call the function here, or pass it to a function of yours that calls it",
            )

    def callee_of(self, node: gast.expr) -> Any:
        """The object a call's dotted callee denotes, or None."""
        if not isinstance(node, gast.Call):
            return None
        parts = dotted_name(node.func)
        if parts is None or parts[0] in self.locals or parts[0] in self.env:
            return None
        obj = self.parsed.resolver.lookup(parts[0])
        for attr in parts[1:]:
            obj = getattr(obj, attr, NOT_FOUND)
        return None if obj is NOT_FOUND else obj

    def is_library_call(self, node: gast.Call) -> bool:
        """Whether ``node`` calls library code (NumPy, math, builtins), whose results are
        new objects unless :mod:`.aliasing` lists them as views."""
        callee = self.callee_of(node)
        return callee is not None and self.is_library_call_of(callee)

    @staticmethod
    def is_library_call_of(callee: Any) -> bool:
        """Whether ``callee`` is library code (NumPy, math, builtins, SciPy, s2s_ad)."""
        module = (getattr(callee, "__module__", None) or "").split(".")[0]
        return module in LIBRARIES or inspect.isbuiltin(callee)

    def resolve(self, node: gast.expr) -> Any:
        """The object a dotted name of free variables denotes (``np.linalg.norm``)."""
        parts = dotted_name(node)
        if parts is None or parts[0] in self.locals or parts[0] in self.env:
            raise self.error(
                "calling or reading attributes of computed values is not supported yet",
                node,
            )
        obj = self.parsed.resolver.lookup(parts[0])
        if obj is NOT_FOUND:
            raise self.error(f"name {parts[0]!r} is not defined", node, hint="")
        for attr in parts[1:]:
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                raise self.error(f"{'.'.join(parts)!r} does not exist", node, hint="") from None
        return obj


def _params(parsed: Parsed) -> List[ir.Param]:
    """The parameters in the order the emitted code takes them: ``*args`` (a tuple) and
    ``**kwargs`` (a dict) last, as :class:`~s2s_ad.compiler.signatures.Binding` passes them."""
    args = parsed.node.args
    every = list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
    every += [arg for arg in (args.vararg, args.kwarg) if arg is not None]
    return [ir.Param(arg.id) for arg in every]


def _walk_inlined(node: gast.AST):
    """Nodes of a function, including local functions (they are inlined), not classes."""
    return nested.nodes_under(node, (gast.ClassDef, gast.AsyncFunctionDef))


def defined_function(stmt: gast.stmt) -> Optional[str]:
    """The name a statement binds to a local function (``def g``, ``g = lambda``), or None."""
    if isinstance(stmt, gast.FunctionDef):
        return stmt.name
    if (
        isinstance(stmt, gast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], gast.Name)
        and isinstance(stmt.value, gast.Lambda)
    ):
        return stmt.targets[0].id
    return None


def _another_binding(fn: gast.FunctionDef, name: str, site: gast.stmt) -> gast.AST:
    """Where ``name`` is bound other than by the definition ``site`` (or the site itself)."""
    own = {id(n) for n in nested.own_nodes(site)} | {id(site)}
    for node in nested.own_nodes(fn):
        if id(node) in own:
            continue
        stored = isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Param))
        if (stored and node.id == name) or (
            isinstance(node, gast.FunctionDef) and node.name == name
        ):
            return node
    return site


def loops(node: gast.AST) -> list:
    """The ``for`` and ``while`` loops in ``node`` (nested scopes excluded)."""
    return [n for n in nested.own_nodes(node) if isinstance(n, LOOPS)]


def returns_in_loops(nodes: nested.WalkedNodes) -> bool:
    """Whether a ``return`` stands in a loop of the walked node (nested functions in it
    included).

    >>> walked = nested.WalkedNodes(gast.parse("while a:\\n    def g():\\n        return b"))
    >>> returns_in_loops(walked), returns_in_loops(nested.WalkedNodes(gast.parse("return a")))
    (True, False)
    """
    return any(isinstance(node, gast.Return) for node in nodes.in_own_loops())


def assigned_in_control_flow(placed: Iterable[Tuple[gast.AST, int]]) -> set:
    """Names bound inside a branch or a loop (they become mutable variables), from the
    nodes of a function and where they stand (:func:`~s2s_ad.compiler.nested.own_nodes_placed`).

    >>> tree = gast.parse("def f(a):\\n    b = a\\n    if a:\\n        c = b")
    >>> assigned_in_control_flow(nested.own_nodes_placed(tree.body[0]))
    {'c'}
    """
    names = set()
    for node, place in placed:
        if isinstance(node, gast.NamedExpr):  # `:=` may stand in a loop's test or a branch
            names.add(node.target.id)
        if not place:  # outside the blocks and `for` targets of branches and loops
            continue
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            names.add(node.id)
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            names.add(node.target.id)
        root = nested.item_written(node)
        if root is not None:
            names.add(root)
    return names


def unsupported_message(node: gast.AST) -> str:
    """What to tell the user about a node this compiler does not lower."""
    return UNSUPPORTED.get(type(node), "this construct is not supported")


# The operators Python has that s2s_ad does not lower, as they are written.
OPERATOR_SYMBOLS = {gast.LShift: "<<", gast.RShift: ">>"}


def unsupported_operator(op: gast.AST) -> str:
    """What to tell the user about an operator this compiler does not lower.

    >>> unsupported_operator(gast.LShift())
    'the operator `<<` is not supported'
    """
    return f"the operator `{OPERATOR_SYMBOLS.get(type(op), '?')}` is not supported"
