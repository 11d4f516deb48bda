"""Functions defined inside a differentiated function: local ``def`` and ``lambda``.

A *call* to a local function is inlined by the lowerer: its body is copied
with fresh names for its own variables and lowered where the call stands,
so the call's derivative is that of the body, in both modes.  Free names
read the enclosing function's variables as they are at the call, which is
what Python's late-binding closures do.

A local function used as a *value* (``sorted(xs, key=lambda i: w[i])``) is
passed on as the Python function object itself, taken from the enclosing
function's code.  That only works when it reads no local variable of the
enclosing function, and its result is never differentiated through.

>>> import gast
>>> tree = gast.parse("def inner(t, c=2.0):\\n    s = t * c\\n    return s")
>>> local = LocalFunction.of(tree.body[0], "inner")
>>> local.positional, [n for n, _ in local.default_nodes]
(['t', 'c'], ['c'])
"""

from __future__ import annotations

import copy
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import gast

from . import ir


class ByNode:
    """A mapping keyed by the identity of syntax nodes that holds the nodes themselves.

    A dict keyed by ``id(node)`` forgets nothing when the node is gone, and a node made
    later (a loop copied by lowering) may take its id and find the old entry.

    >>> sites = ByNode()
    >>> node = gast.Pass()
    >>> sites[node] = "g"
    >>> sites.get(node), sites.get(gast.Pass()), node in sites
    ('g', None, True)
    """

    def __init__(self) -> None:
        self._entries: Dict[int, Tuple[gast.AST, Any]] = {}

    def __setitem__(self, node: gast.AST, value: Any) -> None:
        self._entries[id(node)] = (node, value)

    def get(self, node: gast.AST, default: Any = None) -> Any:
        entry = self._entries.get(id(node))
        return entry[1] if entry is not None else default

    def __contains__(self, node: gast.AST) -> bool:
        return id(node) in self._entries

    def pop(self, node: gast.AST) -> Any:
        return self._entries.pop(id(node))[1]


# Scopes a renaming must not enter: their names are their own.
_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef, gast.Lambda)


@dataclass(frozen=True)
class Spread:
    """``*xs`` last among a call's positional arguments, where the items of ``xs`` are
    known only when the function runs: all of them go to the callee's ``*args``."""

    items: ir.Atom


@dataclass
class LocalFunction:
    """A ``def`` or ``lambda`` bound to a name inside the differentiated function."""

    name: str
    node: Union[gast.FunctionDef, gast.Lambda]
    positional: List[str]  # parameters that take positional arguments, in order
    keyword_only: List[str]
    positional_only: List[str]
    default_nodes: List[Tuple[str, gast.expr]]
    defaults: Dict[str, ir.Atom] = field(default_factory=dict)  # filled at the def
    parsed: Any = None  # the Parsed whose source holds ``node``, set where it is defined
    var_positional: Optional[str] = None  # ``*args``: a tuple of the extra positional atoms
    var_keyword: Optional[str] = None  # ``**kwargs``: a dict of the extra keyword atoms

    @classmethod
    def of(cls, node: Union[gast.FunctionDef, gast.Lambda], name: str) -> LocalFunction:
        args = node.args
        positional = [a.id for a in list(args.posonlyargs) + list(args.args)]
        keyword_only = [a.id for a in args.kwonlyargs]
        defaults = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults))
        defaults += [(a.id, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        return cls(
            name,
            node,
            positional,
            keyword_only,
            [a.id for a in args.posonlyargs],
            defaults,
            var_positional=args.vararg.id if args.vararg is not None else None,
            var_keyword=args.kwarg.id if args.kwarg is not None else None,
        )

    @property
    def parameters(self) -> List[str]:
        """Every parameter's name, ``*args`` and ``**kwargs`` last."""
        variadic = [n for n in (self.var_positional, self.var_keyword) if n is not None]
        return self.positional + self.keyword_only + variadic

    @property
    def shown_name(self) -> str:
        """The name as emitted code and messages show it: ``lambda`` for a lambda."""
        return "lambda" if self.name == "<lambda>" else self.name

    def statements(self) -> List[gast.stmt]:
        """The body as statements: a lambda is one ``return``."""
        if isinstance(self.node, gast.Lambda):
            ret = gast.Return(value=self.node.body)
            return [gast.copy_location(ret, self.node.body)]
        return list(self.node.body)

    def check_spread(self, given: int) -> None:
        """``TypeError`` unless a :class:`Spread` after ``given`` positional arguments goes
        to ``*args`` whole, as Python would bind it whatever its length."""
        missing = self.positional[given:]
        if missing or self.var_positional is None:
            raise TypeError(_spread_refusal(self.name, missing, self.var_positional is not None))

    def bind(self, args: List[ir.Atom], kwargs: List[Tuple[str, ir.Atom]]) -> Dict[str, Any]:
        """Parameter -> argument atom, as Python binds a call; ``TypeError`` if it cannot.

        ``*args`` gets the tuple of the extra positional atoms, ending with a
        :class:`Spread` if the call ends with one; ``**kwargs`` the dict of the extra
        keyword atoms (the lowerer builds them).
        """
        spread = args[-1] if args and isinstance(args[-1], Spread) else None
        if spread is not None:
            args = args[:-1]
            self.check_spread(len(args))
        if len(args) > len(self.positional) and self.var_positional is None:
            raise TypeError(
                f"{self.name}() takes {len(self.positional)} positional arguments "
                f"but {len(args)} were given"
            )
        bound: Dict[str, Any] = dict(zip(self.positional, args))
        extra: Dict[str, ir.Atom] = {}
        named = self.positional + self.keyword_only
        for key, value in kwargs:
            if key not in named or key in self.positional_only:
                if self.var_keyword is None:
                    raise TypeError(f"{self.name}() got an unexpected keyword argument {key!r}")
                extra[key] = value
                continue
            if key in bound:
                raise TypeError(f"{self.name}() got multiple values for argument {key!r}")
            bound[key] = value
        if self.var_positional is not None:
            rest = tuple(args[len(self.positional) :])
            bound[self.var_positional] = rest if spread is None else (*rest, spread)
        if self.var_keyword is not None:
            bound[self.var_keyword] = extra
        for name in named:
            if name not in bound:
                if name not in self.defaults:
                    raise TypeError(f"{self.name}() missing a value for its parameter {name!r}")
                bound[name] = self.defaults[name]
        return bound


def _spread_refusal(name: str, missing: List[str], has_varargs: bool) -> str:
    """Why ``*xs`` of a length known only at run time cannot fill ``missing``.

    >>> _spread_refusal("pair", ["a", "b"], False)[-56:]
    'pass them one by one, or give pair() a `*args` parameter'
    """
    shown = ", ".join(f"`{p}`" for p in missing)
    head = "`*` passes a list whose length is known only when the function runs"
    if has_varargs:
        return f"{head}: it can fill {name}()'s `*args`, not {shown}: pass {shown} before it"
    return (
        f"{head}, which only a `*args` parameter can take, and {name}() has none: pass "
        f"them one by one, or give {name}() a `*args` parameter"
    )


def own_nodes(node: gast.AST) -> Iterator[gast.AST]:
    """The nodes under ``node`` that belong to its scope (nested scopes excluded)."""
    return nodes_under(node, _SCOPES)


def nodes_under(node: gast.AST, closed: Tuple[type, ...]) -> Iterator[gast.AST]:
    """The nodes under ``node``, depth first in source order, not entering those of a
    ``closed`` type (they are yielded themselves).  A loop over a stack: generators
    nested as deep as the tree cost a step per level for each node.

    >>> tree = gast.parse("def f(a):\\n    b = lambda c: c\\n    return a")
    >>> [n.id for n in nodes_under(tree.body[0], (gast.Lambda,)) if isinstance(n, gast.Name)]
    ['a', 'b', 'a']
    """
    todo = _children(node)
    while todo:
        current = todo.pop()
        yield current
        if not isinstance(current, closed):
            todo += _children(current)


def own_nodes_within(node: gast.AST, kinds: Tuple[type, ...]) -> Iterator[Tuple[gast.AST, bool]]:
    """:func:`own_nodes` with whether each stands inside a node of ``kinds`` (a loop, say);
    the scopes nested in such a node are entered too.  One walk, where walking each
    such node again would cost as much as they nest deep.

    >>> tree = gast.parse("for i in a:\\n    def g():\\n        return i\\ndef h():\\n    return 1")
    >>> [(type(n).__name__, inside) for n, inside in own_nodes_within(tree, (gast.For,))
    ...  if isinstance(n, gast.Return)]
    [('Return', True)]
    """
    todo = [(child, False) for child in _children(node)]
    while todo:
        current, inside = todo.pop()
        yield current, inside
        if isinstance(current, _SCOPES) and not inside:
            continue
        inside = inside or isinstance(current, kinds)
        todo += [(child, inside) for child in _children(current)]


# Where a node stands, for :func:`own_nodes_placed`: bits that may combine.
IN_FOR_TARGET = 1  # in the target of a ``for``
IN_BLOCK = 2  # in the body or ``else`` of an ``if``, ``for`` or ``while``
IN_BLOCK_DEF = 4  # in a ``def`` or ``class`` that is a statement of such a block
PLACES = IN_FOR_TARGET | IN_BLOCK | IN_BLOCK_DEF
# More of where a node stands, for :class:`WalkedNodes`:
IN_SCOPE = 8  # in a def, lambda or class nested in the walked node: not one of its own nodes
UNPLACED = 16  # in a nested scope that :func:`own_nodes_placed` does not enter
IN_LOOP = 32  # in a ``for`` or ``while`` of the walked node's own (or in a scope nested in one)
IN_CLASS = 64  # in a class or ``async def``: inlining does not enter them
IN_HEADER = 128  # in the walked node but not its body's statements (a def's parameters)
_LOOPS = (gast.For, gast.While)
_BLOCKS = (gast.If, gast.For, gast.While)
_Block = Union[gast.If, gast.For, gast.While]
# Leaves that only mark what their parent does: the context of a name, an operator.
_MARKERS = (gast.expr_context, gast.operator, gast.unaryop, gast.cmpop, gast.boolop)
_NOT_INLINED = (gast.ClassDef, gast.AsyncFunctionDef)


def own_nodes_placed(node: gast.AST) -> List[Tuple[gast.AST, int]]:
    """:func:`own_nodes` with where each stands: :data:`IN_BLOCK` and
    :data:`IN_FOR_TARGET` bits, set by any enclosing branch or loop.  One walk, where a
    walk of each branch's and loop's blocks would cost as much as the nesting is deep.

    The nodes of a ``def`` or ``class`` that is itself a statement of a block come too,
    marked :data:`IN_BLOCK_DEF` (what such a block's statements contain; scopes nested
    deeper are not entered).

    >>> tree = gast.parse("def f(a):\\n    for i in a:\\n        b = i")
    >>> nodes = own_nodes_placed(tree.body[0])
    >>> [(n.id, place) for n, place in nodes if isinstance(n, gast.Name)]
    [('a', 0), ('i', 1), ('a', 0), ('b', 2), ('i', 2)]
    """
    return WalkedNodes(node).own_placed()


class WalkedNodes:
    """Every node under a node, depth first in source order, each with where it stands
    (the bits above): the analyses of a function's names select theirs from one walk,
    where each walked the function again.

    >>> tree = gast.parse("def f(a=b):\\n    for i in a:\\n        g = lambda: i\\n    return c")
    >>> nodes = WalkedNodes(tree.body[0])
    >>> names = lambda found: [n.id for n in found if isinstance(n, gast.Name)]
    >>> names(nodes.own()), names(nodes.own_in_body()), names(nodes.in_own_loops())
    (['a', 'b', 'i', 'a', 'g', 'c'], ['i', 'a', 'g', 'c'], ['i', 'a', 'g', 'i'])
    """

    def __init__(self, root: gast.AST):
        self.placed = _walk_placed(root)

    def every(self) -> List[gast.AST]:
        """Every node under the walked node (what ``nodes_under(node, ())`` gives)."""
        return [node for node, _ in self.placed]

    def own(self) -> List[gast.AST]:
        """What :func:`own_nodes` gives: the nodes outside nested scopes."""
        return [node for node, place in self.placed if not place & IN_SCOPE]

    def own_in_body(self) -> List[gast.AST]:
        """The nodes of the body's statements outside nested scopes."""
        return [node for node, place in self.placed if not place & (IN_SCOPE | IN_HEADER)]

    def own_placed(self) -> List[Tuple[gast.AST, int]]:
        """What :func:`own_nodes_placed` gives."""
        return [(node, place & PLACES) for node, place in self.placed if not place & UNPLACED]

    def outside_classes(self) -> List[gast.AST]:
        """The nodes outside classes and ``async def`` (what inlining may lower)."""
        return [node for node, place in self.placed if not place & IN_CLASS]

    def in_own_loops(self) -> List[gast.AST]:
        """The nodes in the loops of the walked node's own, nested scopes in them included."""
        return [node for node, place in self.placed if place & IN_LOOP]

    def in_body(self) -> List[gast.AST]:
        """The nodes of the body's statements, nested scopes included."""
        return [node for node, place in self.placed if not place & IN_HEADER]


def _walk_placed(root: gast.AST) -> List[Tuple[gast.AST, int]]:
    """The nodes under ``root`` with where they stand, for :class:`WalkedNodes`."""
    body = getattr(root, "body", None)
    statements = {id(stmt) for stmt in body} if isinstance(body, list) else set()
    todo = [(node, 0 if id(node) in statements else IN_HEADER, False) for node in _children(root)]
    placed = []
    while todo:
        current, place, block_statement = todo.pop()
        placed.append((current, place))
        if isinstance(current, _SCOPES):
            place |= IN_SCOPE | (IN_BLOCK_DEF if block_statement else UNPLACED)
            if isinstance(current, _NOT_INLINED):
                place |= IN_CLASS
        elif isinstance(current, _LOOPS) and not place & IN_SCOPE:
            place |= IN_LOOP
        if isinstance(current, _BLOCKS):
            todo += _block_children(current, place)
        else:
            todo += [(child, place, False) for child in _children(current)]
    return placed


def _block_children(node: _Block, place: int) -> List[Tuple[gast.AST, int, bool]]:
    """The children of an ``if``, ``for`` or ``while`` (last first), each with where it
    stands (``place`` its parent's) and whether it is a statement of one of its blocks."""
    blocks = {id(stmt) for stmt in node.body + node.orelse}
    target = node.target if isinstance(node, gast.For) else None
    placed = []
    for child in _children(node):
        if id(child) in blocks:
            placed.append((child, place | IN_BLOCK, True))
        elif child is target:
            placed.append((child, place | IN_FOR_TARGET, False))
        else:
            placed.append((child, place, False))
    return placed


def _children(node: gast.AST) -> List[gast.AST]:
    """The child nodes of ``node``, last first (``ast.iter_child_nodes`` reversed), but
    for the leaves that only mark what their parent does (``Load``, ``+``): no walk
    looks at them, and they are two nodes in five."""
    children = []
    for name in node._fields:
        value = getattr(node, name, None)
        if value.__class__ is list:  # what the parser makes; cheaper than isinstance
            if value:
                children += [
                    item
                    for item in value
                    if isinstance(item, gast.AST) and not isinstance(item, _MARKERS)
                ]
        elif isinstance(value, gast.AST) and not isinstance(value, _MARKERS):
            children.append(value)
    children.reverse()
    return children


def own_of(placed: List[Tuple[gast.AST, int]]) -> List[gast.AST]:
    """The nodes :func:`own_nodes` gives, from those :func:`own_nodes_placed` gives.

    >>> tree = gast.parse("if a:\\n    def g():\\n        b = 1")
    >>> own_of(list(own_nodes_placed(tree))) == list(own_nodes(tree))
    True
    """
    return [node for node, place in placed if not place & IN_BLOCK_DEF]


def stored_names(statements: List[gast.stmt]) -> List[str]:
    """Every name the statements bind, once per binding, in their own scope."""
    return names_stored(own_nodes(gast.Module(body=statements, type_ignores=[])))


def names_stored(own: Iterable[gast.AST]) -> List[str]:
    """Every name the nodes of one scope (:func:`own_nodes`) bind, once per binding.

    >>> names_stored(own_nodes(gast.parse("a = 1\\nb, c = a\\ndef g(): d = 2")))
    ['a', 'b', 'c', 'g']
    """
    names = []
    for node in own:
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            names.append(node.id)
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            names.append(node.target.id)
        elif isinstance(node, gast.FunctionDef):
            names.append(node.name)
    return names


def parameter_writes(fn: gast.FunctionDef) -> List[Tuple[str, gast.AST]]:
    """The items ``fn`` writes into its own parameters (``u[0] = v``), with where."""
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs if isinstance(a, gast.Name)}
    found = []
    for node in own_nodes(fn):
        root = item_written(node)
        if root in params:
            found.append((root, node))
    return found


def item_written(node: gast.AST) -> Optional[str]:
    """The variable that ``node``, an item stored into (``a[i][j]`` in ``a[i][j] = v``),
    rebinds: item writes are values (``a = updated(a, i, v)``); None for other nodes."""
    if not (isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store)):
        return None
    while isinstance(node, gast.Subscript):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def renamed_body(
    local: LocalFunction, claim: Callable[[str], str], free: Optional[Dict[str, str]] = None
) -> Tuple[List[gast.stmt], Dict[str, str]]:
    """A copy of the body whose parameters and variables have fresh names.

    ``free`` renames free names too (a module-level function's globals, so that
    they cannot be mistaken for its caller's variables).  The functions nested in
    the body see the new names, where they do not bind the names themselves.
    Returns the statements and the renaming of the function's own names (old name
    -> fresh name).
    """
    statements = copy.deepcopy(local.statements())
    own = set(local.parameters) | set(stored_names(statements))
    renames = {name: claim(name) for name in sorted(own)}
    _rename_in_scope(statements, {**(free or {}), **renames})  # closures see the new names
    return statements, renames


def _rename_in_scope(nodes: List[gast.AST], renames: Dict[str, str]) -> None:
    """Rename the names in ``nodes``, and in nested functions those they do not bind."""
    for node in own_nodes(gast.Module(body=nodes, type_ignores=[])):
        if isinstance(node, gast.Name) and node.id in renames:
            node.id = renames[node.id]
        elif isinstance(node, (gast.FunctionDef, gast.Lambda)):
            args = node.args
            bound = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
            bound |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
            body = node.body if isinstance(node.body, list) else [node.body]
            bound |= set(stored_names(body))
            inner = {k: v for k, v in renames.items() if k not in bound}
            _rename_in_scope(list(args.defaults) + [d for d in args.kw_defaults if d], renames)
            _rename_in_scope(body, inner)


def free_names(statements: List[gast.stmt], bound: set) -> List[str]:
    """The names the statements (and the functions nested in them) read but do not bind,
    ``bound`` left out, in order, once each."""
    names = [
        n.id
        for n in gast.walk(gast.Module(body=statements, type_ignores=[]))
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id not in bound
    ]
    return list(dict.fromkeys(names))


def function_object(
    outer: Callable, local: LocalFunction, file_line: int, cells: Dict[str, Any], defaults: tuple
) -> Tuple[Optional[types.FunctionType], List[str]]:
    """The Python function a local ``def``/``lambda`` at ``file_line`` creates.

    ``cells`` are the enclosing function's own closure cells.  Returns the
    function, or None and the names of the enclosing function's local
    variables it would need.
    """
    code_name = "<lambda>" if isinstance(local.node, gast.Lambda) else local.name
    found = _code_at(outer.__code__, code_name, file_line)
    if found is None:
        return None, []
    missing = [free for free in found.co_freevars if free not in cells]
    if missing:
        return None, missing
    closure = tuple(cells[free] for free in found.co_freevars) or None
    fn = types.FunctionType(found, outer.__globals__, local.name, defaults or None, closure)
    return fn, []


def _code_at(code: types.CodeType, name: str, file_line: int) -> Optional[types.CodeType]:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_name == name and const.co_firstlineno == file_line:
                return const
            inner = _code_at(const, name, file_line)
            if inner is not None:
                return inner
    return None
