"""Lowering comprehensions, container constructors and ``+``/``*`` on lists, as loops.

Each of them is rewritten as the Python statements that build the same container
one item at a time, and those are lowered like user code: both modes then see an
ordinary loop of ``append`` (a list) or of item writes (a dict), whose derivatives
exist already, to every order.  The statements keep the user's line, so errors
point at it.

* ``[e for x in xs if c]`` is ``ys = []; for x in xs: if c: ys.append(e)``; a
  generator passed to a call is the same list, ``{k: v for ...}`` a dict built by
  ``d[k] = v``;
* ``list(xs)`` and ``tuple(xs)`` copy the items (``tuple`` then makes the list a tuple),
  ``dict(pairs, k=v, **d)`` writes the items in Python's order;
* ``xs + ys`` and ``xs * n`` on lists (a display, a comprehension, ``list(...)``, or a
  name bound to one of those) append the items of each operand in turn;
* ``for k, v in d.items()`` (and ``keys()``, ``values()``) walks the dict's keys,
  a constant list, and reads ``d[k]``; so does ``for k in d`` where ``d`` is surely a dict
  (bound to dicts only, or a global one), and, where it reads ``d[k]`` (the dict idiom),
  of a ``d`` that may be a dict or a list, a branch on ``isinstance(d, dict)`` walks it by
  key or by position, as Python would.

>>> import s2s_ad as ad
>>> def f(x):
...     ys = [x * i for i in range(3)]
...     return sum(ys + [x])
>>> ad.grad(f)(2.0)
4.0
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import gast

from ... import runtime
from .. import ir, nested
from ..errors import TransformError
from ..parse import dotted_name
from .state import LoweringState

COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp, gast.DictComp)
DICT_VIEWS = ("keys", "values", "items")


class ContainerLowering(LoweringState):
    """Comprehensions, ``list``/``tuple``/``dict`` and list arithmetic, lowered as loops."""

    def comprehension(self, node: gast.AST, keep: Optional[str] = None) -> ir.Atom:
        """A list (or dict) comprehension, or a generator handed to a call, built by a loop."""
        comp = self.fresh_comprehension(node)
        result = self.fresh_variable("items")
        if isinstance(comp, gast.DictComp):
            init: gast.expr = gast.Dict([], [])
            target = gast.Subscript(_name(result), comp.key, gast.Store())
            body: List[gast.stmt] = [gast.Assign([target], comp.value, None)]
        else:
            init = gast.List([], gast.Load())
            body = [_append(result, comp.elt)]
        for generator in reversed(comp.generators):
            for condition in reversed(generator.ifs):
                body = [gast.If(condition, body, [])]
            body = [gast.For(generator.target, generator.iter, body, [], None)]
        self.lower_at([_assign(result, init), *body], node)
        return self.result_of(result, keep, node)

    def fresh_comprehension(self, comp: gast.AST) -> gast.AST:
        """A copy of a comprehension whose variables have fresh, mutable names."""
        comp = copy.deepcopy(comp)
        renames: Dict[str, str] = {}
        for generator in comp.generators:
            for node in gast.walk(generator.target):
                if isinstance(node, gast.Name):
                    renames.setdefault(node.id, self.names.claim(node.id))
        outermost = comp.generators[0].iter  # evaluated in the enclosing scope, as in Python
        comp.generators[0].iter = gast.Constant(None, None)
        for node in gast.walk(comp):
            if isinstance(node, gast.Name) and node.id in renames:
                node.id = renames[node.id]
        comp.generators[0].iter = outermost
        self.mutable.update(renames.values())
        self.locals.update(renames.values())
        return comp

    def fresh_variable(self, hint: str) -> str:
        """A new mutable local variable's name."""
        name = self.names.claim(hint)
        self.mutable.add(name)
        self.locals.add(name)
        return name

    def lower_at(self, statements: List[gast.stmt], where: gast.AST) -> None:
        """Lower synthesized statements as if they stood at the user's ``where``."""
        for stmt in statements:
            locate(stmt, where)
        self.block(statements)

    def result_of(self, name: str, keep: Optional[str], node: gast.AST) -> ir.Atom:
        """The variable ``name`` built by a loop, under the user's name if it has one."""
        if keep is None:
            return ir.Var(name)
        return self.emit(ir.Var(name), node, keep)

    def bound_to(self, atom: ir.Atom, hint: str) -> gast.Name:
        """A name, for synthesized statements, that stands for an atom computed already."""
        name = self.names.claim(hint)
        self.locals.add(name)
        self.env[name] = atom
        return _name(name)

    # ------------------------------------------------------------ *args and **kwargs

    def known(self, atom: ir.Atom, items: Any) -> ir.Atom:
        """``atom``, a tuple, list or dict whose items are the atoms ``items`` (unless a
        variable that is rebound, or whose methods may change it: ``xs.append(v)``)."""
        if self.method_receivers is None:
            self.method_receivers = {
                node.func.value.id
                for node in self.function_nodes.every()
                if isinstance(node, gast.Call)
                and isinstance(node.func, gast.Attribute)
                and isinstance(node.func.value, gast.Name)
            }
        changes = self.mutable | self.method_receivers
        if not (isinstance(atom, ir.Var) and atom.name in changes):
            self.known_items[atom] = items
        return atom

    def packed(self, value: Any, node: gast.AST) -> ir.Atom:
        """What an inlined helper's ``*args`` (a tuple of atoms) or ``**kwargs`` (a dict
        of atoms) is bound to: the tuple or dict built from them; a tuple ending with a
        :class:`~s2s_ad.compiler.nested.Spread` is built when the function runs."""
        if isinstance(value, tuple) and value and isinstance(value[-1], nested.Spread):
            elements = [self.bound_to(atom, "item") for atom in value[:-1]]
            elements.append(gast.Starred(self.bound_to(value[-1].items, "items"), gast.Load()))
            display = gast.Tuple(elements, gast.Load())
            locate(display, node)
            return self.starred_display(display, None)
        if isinstance(value, dict):
            call = ir.Call(runtime.make_dict, (), tuple(value.items()))
        else:
            call = ir.Call(runtime.make_tuple, tuple(value))
        return self.known(self.emit(call, node), value)

    def spread(self, node: gast.expr, what: type, call: gast.Call, open_ended=False) -> Any:
        """The atoms ``*xs`` (``what`` is tuple) or ``**d`` (dict) passes to a call, from a
        container whose items are known where the call is lowered; with ``open_ended`` (the
        last positional argument of a call that is inlined), ``[Spread(xs)]`` otherwise."""
        atom = self.expression(node)
        items = self.known_items.get(atom)
        if isinstance(items, dict) if what is dict else isinstance(items, (tuple, list)):
            return items
        if open_ended:
            return [nested.Spread(atom)]
        spelled = "*" if what is tuple else "**"
        raise self.error(
            f"`{spelled}{self.parsed.segment(node)}` in a call needs a "
            f"{'tuple or list' if what is tuple else 'dict'} whose items are known where the "
            "function is transformed (a display, or the "
            f"`{spelled}{'args' if what is tuple else 'kwargs'}` of a helper)",
            call,
            "pass the arguments one by one"
            + (", or call a function of yours that takes them as `*args`" * (what is tuple)),
        )

    # ------------------------------------------------------------ constructors

    def container_call(self, node: gast.Call, fn: Any, keep: Optional[str]) -> ir.Atom:
        """``list(...)``, ``tuple(...)``, ``dict(...)``."""
        if fn is dict:
            return self.dict_call(node, keep)
        if node.keywords or len(node.args) > 1 or any(_starred(a) for a in node.args):
            raise self.error(f"{fn.__name__}() takes at most one iterable here", node, "")
        if not node.args:
            items = ir.Call(runtime.make_list if fn is list else runtime.make_tuple, ())
            return self.emit(items, node, keep)
        arg = node.args[0]
        if isinstance(arg, (gast.ListComp, gast.GeneratorExp)):
            items = self.comprehension(arg)
        else:
            items = self.copied_items([self.expression(arg)], 1, node)
        if fn is tuple:
            return self.emit(ir.Call(runtime.as_tuple, (items,)), node, keep)
        return self.result_of(items.name, keep, node)

    def copied_items(self, operands: List[ir.Atom], repeats: Any, node: gast.AST) -> ir.Var:
        """A new list of the items of each operand in turn, all of it ``repeats`` times."""
        result = self.fresh_variable("items")
        item = self.fresh_variable("item")
        body: List[gast.stmt] = []
        for operand in operands:
            sequence = self.bound_to(operand, "sequence")
            step = _append(result, _name(item))
            body.append(gast.For(_name(item, gast.Store()), sequence, [step], [], None))
        if repeats != 1:
            count = self.bound_to(repeats, "count")
            trip = self.fresh_variable("trip")
            body = [gast.For(_name(trip, gast.Store()), _call("range", count), body, [], None)]
            self.free_scope.setdefault("range", range)
        self.lower_at([_assign(result, gast.List([], gast.Load())), *body], node)
        return ir.Var(result)

    def starred_display(self, node: gast.expr, keep: Optional[str]) -> ir.Atom:
        """``[*xs, y]``, ``(*xs, *ys)``: a new list of the items, in turn (a tuple for a tuple)."""
        result = self.fresh_variable("items")
        item = self.fresh_variable("item")
        body: List[gast.stmt] = []
        for elt in node.elts:
            if isinstance(elt, gast.Starred):
                sequence = self.bound_to(self.expression(elt.value), "sequence")
                step = _append(result, _name(item))
                body.append(gast.For(_name(item, gast.Store()), sequence, [step], [], None))
            else:
                body.append(_append(result, self.bound_to(self.expression(elt), "item")))
        self.lower_at([_assign(result, gast.List([], gast.Load())), *body], node)
        if isinstance(node, gast.Tuple):
            return self.emit(ir.Call(runtime.as_tuple, (ir.Var(result),)), node, keep)
        return self.result_of(result, keep, node)

    def dict_call(self, node: gast.Call, keep: Optional[str]) -> ir.Atom:
        """``dict(pairs_or_mapping, k=v, **d)``: item writes in Python's order."""
        if len(node.args) > 1 or any(_starred(a) for a in node.args):
            raise self.error("dict() takes at most one positional argument", node, "")
        result = self.fresh_variable("entries")
        statements: List[gast.stmt] = [_assign(result, gast.Dict([], []))]
        key, value = self.fresh_variable("key"), self.fresh_variable("value")
        write = gast.Assign([gast.Subscript(_name(result), _name(key), gast.Store())], None, None)
        sources = [(None, arg) for arg in node.args] + [(kw.arg, kw.value) for kw in node.keywords]
        for name, source in sources:
            if name is not None:  # dict(k=v)
                target = gast.Subscript(_name(result), gast.Constant(name, None), gast.Store())
                statements.append(gast.Assign([target], source, None))
                continue
            step = copy.deepcopy(write)
            if _pairs(source):  # dict(zip(keys, values)), dict(d.items()), dict([(k, v)])
                pair = gast.Tuple(
                    [_name(key, gast.Store()), _name(value, gast.Store())], gast.Store()
                )
                step.value = _name(value)
                statements.append(gast.For(pair, source, [step], [], None))
            else:  # dict(mapping), dict(**mapping)
                mapping = self.bound_to(self.expression(source), "mapping")
                step.value = gast.Subscript(mapping, _name(key), gast.Load())
                keys = gast.Call(gast.Attribute(mapping, "keys", gast.Load()), [], [])
                statements.append(gast.For(_name(key, gast.Store()), keys, [step], [], None))
        self.lower_at(statements, node)
        return self.result_of(result, keep, node)

    # ------------------------------------------------------------ list arithmetic

    def is_sequence(self, node: gast.expr) -> bool:
        """Whether an expression surely gives a list or tuple (so ``+`` joins, ``*`` repeats)."""
        if isinstance(node, (gast.List, gast.Tuple, gast.ListComp)):
            return True
        if isinstance(node, gast.Call):
            return self.callee_of(node) in (list, tuple)
        if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Mult)):
            return self.is_sequence(node.left) or self.is_sequence(node.right)
        return isinstance(node, gast.Name) and node.id in self.sequence_names()

    def sequence_names(self) -> set:
        """The local names every assignment of which binds a list or tuple."""
        if self.sequences_found is not None:
            return self.sequences_found
        bindings = self.name_bindings()
        # the largest set of names whose every binding is a list, given that set
        self.sequences_found = found = {n for n, values in bindings.items() if None not in values}
        changed = True
        while changed:
            changed = False
            for name in sorted(found):
                if not all(self.is_sequence(v) for v in bindings[name]):
                    found.discard(name)
                    changed = True
        return found

    def name_bindings(self) -> Dict[str, List[Optional[gast.expr]]]:
        """Each local name's bound values, None where it is bound otherwise (a loop,
        unpacking, a parameter, an update that makes a number)."""
        bindings: Dict[str, List[Optional[gast.expr]]] = {}
        seen = set()
        every_node = self.function_nodes.every()
        for stmt in every_node:
            if isinstance(stmt, gast.Assign):
                for target in stmt.targets:
                    if isinstance(target, gast.Name):
                        bindings.setdefault(target.id, []).append(stmt.value)
                        seen.add(id(target))
            elif isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
                # `ys += [x]`, `ys *= 2` keep a list a list; other updates make a number
                joins = isinstance(stmt.op, (gast.Add, gast.Mult))
                bindings.setdefault(stmt.target.id, []).append(stmt.target if joins else None)
                seen.add(id(stmt.target))
        for node in every_node:  # bound otherwise: a loop, unpacking, a parameter
            if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
                if id(node) not in seen:
                    bindings.setdefault(node.id, []).append(None)
        return bindings

    def is_dict_name(self, name: str) -> bool:
        """Whether every binding of the local ``name`` is a dict display, a dict
        comprehension or a ``dict(...)`` call."""
        values = self.name_bindings().get(name, [None])
        return all(
            isinstance(value, (gast.Dict, gast.DictComp))
            or isinstance(value, gast.Call)
            and self.callee_of(value) is dict
            for value in values
        )

    def sequence_arithmetic(self, node: gast.BinOp, keep: Optional[str]) -> Optional[ir.Atom]:
        """``xs + ys`` and ``xs * n`` on lists or tuples, or None for arithmetic on numbers."""
        if not isinstance(node.op, (gast.Add, gast.Mult)):
            return None
        left, right = self.is_sequence(node.left), self.is_sequence(node.right)
        if not (left or right):
            return None
        tuples = _is_tuple(node.left if left else node.right)
        if isinstance(node.op, gast.Add):
            operands = [self.expression(node.left), self.expression(node.right)]
            items = self.copied_items(operands, 1, node)
        else:
            sequence, count = (node.left, node.right) if left else (node.right, node.left)
            operand, repeats = self.expression(sequence), self.expression(count)
            items = self.copied_items([operand], repeats, node)
        if tuples:
            return self.emit(ir.Call(runtime.as_tuple, (items,)), node, keep)
        return self.result_of(items.name, keep, node)

    # ------------------------------------------------------------ loops over dicts

    def dict_view_loop(self, node: gast.For) -> bool:
        """``for k, v in d.items()`` (``keys()``, ``values()``) as a loop over the keys,
        reading ``d[k]``; False when the loop walks something else."""
        call = node.iter
        if not (
            isinstance(call, gast.Call)
            and isinstance(call.func, gast.Attribute)
            and call.func.attr in DICT_VIEWS
            and not call.args
            and not call.keywords
            and (self.is_computed(call.func.value) or self.global_dict(call.func.value))
        ):
            return False
        view = call.func.attr
        mapping = self.expression(call.func.value)
        keys = self.emit(ir.Call(runtime.keys_of, (mapping,), spelling="keys_of"), call)
        mapping_name = self.bound_to(mapping, "mapping")
        target, prologue = node.target, []
        if view != "keys":
            if view == "items":
                if not (isinstance(target, gast.Tuple) and len(target.elts) == 2):
                    raise self.error("unpack each item of `.items()` as `key, value`", target, "")
                key_target, value_target = target.elts
            else:
                key_target, value_target = None, target
            if not isinstance(key_target, gast.Name):
                key_target = _name(self.fresh_variable("key"), gast.Store())
            read = gast.Subscript(mapping_name, _name(key_target.id), gast.Load())
            prologue = [gast.Assign([value_target], read, None)]
            target = key_target
        loop = gast.For(target, self.bound_to(keys, "keys"), prologue + list(node.body), [], None)
        locate(loop, node)
        self.for_statement(loop)
        return True

    def global_dict(self, node: gast.expr) -> bool:
        """Whether ``node`` is a name of free variables (``PARAMS``, ``config.weights``) that
        denotes a dict."""
        if dotted_name(node) is None or self.is_computed(node):
            return False
        try:
            return isinstance(self.resolve(node), dict)
        except TransformError:
            return False

    def dict_key_loop(self, node: gast.For) -> bool:
        """``for k in d`` over a dict, which walks its keys (``for k in d.keys()``): where
        ``d`` is bound to dicts only, and where the loop reads ``d[k]`` (the dict idiom)
        with a ``d`` that may be a dict or a list, walked by key or by position as it is at
        run time; False for any other loop."""
        iterable = node.iter
        if not isinstance(iterable, gast.Name) or node in self.positional_loops:
            return False
        if iterable.id in self.sequence_names():
            return False
        keys = gast.Call(gast.Attribute(_name(iterable.id), "keys", gast.Load()), [], [])
        by_key = gast.For(node.target, keys, node.body, node.orelse, None)
        if not self.is_computed(iterable):  # a global: walked by key if it is a dict
            if not self.global_dict(iterable):
                return False
            self.lower_at([by_key], node)
            return True
        if self.is_dict_name(iterable.id):
            self.lower_at([by_key], node)
            return True
        if not indexes_by_target(node, iterable):
            return False
        by_position = copy.deepcopy(node)
        self.positional_loops[by_position] = True
        is_dict = gast.Call(_name("isinstance"), [_name(iterable.id), _name("dict")], [])
        self.lower_at([gast.If(is_dict, [by_key], [by_position])], node)
        return True


def indexes_by_target(loop: gast.For, iterable: gast.expr) -> bool:
    """Whether ``for k in d`` reads ``d[k]`` in its body: ``d`` may be a dict."""
    if not (isinstance(loop.target, gast.Name) and isinstance(iterable, gast.Name)):
        return False
    return any(
        isinstance(node, gast.Subscript)
        and isinstance(node.value, gast.Name)
        and node.value.id == iterable.id
        and isinstance(node.slice, gast.Name)
        and node.slice.id == loop.target.id
        for stmt in loop.body
        for node in gast.walk(stmt)
    )


def _is_tuple(node: gast.expr) -> bool:
    return isinstance(node, gast.Tuple) or (
        isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == "tuple"
    )


def _pairs(node: gast.expr) -> bool:
    """Whether ``dict(node)`` reads pairs (``zip(...)``, ``d.items()``, a list of pairs)."""
    if isinstance(node, gast.Call):
        func = node.func
        return (isinstance(func, gast.Name) and func.id == "zip") or (
            isinstance(func, gast.Attribute) and func.attr == "items"
        )
    if isinstance(node, (gast.List, gast.Tuple)):
        return all(isinstance(e, gast.Tuple) and len(e.elts) == 2 for e in node.elts)
    if isinstance(node, (gast.ListComp, gast.GeneratorExp)):
        return isinstance(node.elt, gast.Tuple) and len(node.elt.elts) == 2
    return False


def _starred(node: gast.expr) -> bool:
    return isinstance(node, gast.Starred)


def _name(name: str, ctx: Any = None) -> gast.Name:
    return gast.Name(name, ctx or gast.Load(), None, None)


def _assign(name: str, value: gast.expr) -> gast.Assign:
    return gast.Assign([_name(name, gast.Store())], value, None)


def _append(name: str, value: gast.expr) -> gast.Expr:
    method = gast.Attribute(_name(name), "append", gast.Load())
    return gast.Expr(gast.Call(method, [value], []))


def _call(name: str, *args: gast.expr) -> gast.Call:
    return gast.Call(_name(name), list(args), [])


def locate(tree: gast.AST, where: gast.AST) -> None:
    """Give synthesized nodes the position of the user's expression they stand for.

    >>> where = gast.parse("y = x").body[0]
    >>> made = gast.Pass()
    >>> locate(made, where); made.lineno
    1
    """
    for node in gast.walk(tree):
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if hasattr(node, "_attributes") and attr in node._attributes:
                if getattr(node, attr, None) is None:
                    setattr(node, attr, getattr(where, attr, None))
