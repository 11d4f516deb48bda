"""Inlining calls of module-level user functions, and calls of functions passed as values.

A call of a user function (``norm_cdf(d1)``, ``model(w, x)``) is lowered as
its body, with fresh names, right where the call stands, the way a local
``def`` is (see ``local_functions.py``).  The derivative of the call is then
that of the body, in every mode and to every order: the emitted code calls
nothing the next transform cannot see into.  The callee's free names are
read as the callee reads them: its globals through its module (``tools.scale``)
when they are not the caller's own, its closure cells through the cell.

A function passed as an argument, a module-level function, a local ``def``
or ``lambda``, a ``functools.partial`` of one, or one of these in a tuple or
dict indexed by a constant, is known where the call is lowered, so a call
of the parameter inside the inlined body is inlined too: the derivative is
specialised per function value.

What is not inlined keeps being called (``compiler/calls.py``'s ``Callee``):
a function that calls itself, directly or through others (a call cycle,
found while inlining), and a function whose defaults are not constants.

>>> import functools
>>> Partial(print, (), ()).target is print
True
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import inspect
import linecache
import numbers
import types
from typing import Any, Dict, List, Optional, Tuple

import gast
import numpy as np

from ... import rules
from ...runtime.schedules import CHECKPOINT_MARK
from .. import hooks, ir, nested
from ..library import is_library_function, is_transparent
from ..parse import InlinedResolver, dotted_name
from .records import field_names
from .state import FunctionArgument, LoweringState, defined_function

# How deeply calls of user functions are inlined into each other, at most.
MAX_DEPTH = 40


@dataclasses.dataclass(frozen=True)
class Partial:
    """``functools.partial(target, *args, **kwargs)`` made inside the differentiated
    function: the target (a function value) and the atoms it was given."""

    target: Any
    args: Tuple[ir.Atom, ...]
    kwargs: Tuple[Tuple[str, ir.Atom], ...]


NOT_CONSTANT = object()  # what constant_index gives for an index computed at run time


@dataclasses.dataclass(frozen=True)
class Captured:
    """A derivative made inside the differentiated function of a local function that
    reads local variables (``ad.grad(lambda y: x * y)``): ``fn`` takes them as the
    keyword-only parameters ``names``, given where it is called, as a closure reads them."""

    fn: Any
    names: Tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class BoundDerivative:
    """A function of one value ``v``: the closed ``mode`` derivative of ``fn`` for the
    parameters ``wrt`` (``closed_calls``) at the arguments ``args`` and ``kwargs``, taken
    where it was made.  In ``COTANGENTS`` mode it is the pullback of ``value, pullback =
    ad.vjp(fn, *args)``, ``v`` the seed; in ``JVP`` mode a sweep of ``ad.hessian(fn)(x)``,
    ... (``J @ v``, the tangent alone).  ``aux``: what ``fn`` returns besides its output
    (``has_aux``), whose cotangent is zero.  See ``pullbacks.py`` and ``composites.py``."""

    fn: Any
    mode: str
    wrt: Tuple[str, ...]
    args: Tuple[ir.Atom, ...]
    kwargs: Tuple[Tuple[str, ir.Atom], ...]
    aux: Optional[ir.Atom] = None


@dataclasses.dataclass(frozen=True)
class CompositeCall:
    """``ad.hessian(fn, wrt)``, ``ad.jacobian(fn)``, ... made inside the differentiated
    function: a call of it inlines ``assembly`` over sweeps of ``fn`` (``J @ v``, or ``H @ v``
    when ``second_order``); ``fn`` takes the local variables ``captured`` as ``Captured``'s
    does.  See ``composites.py``."""

    spelling: str
    assembly: Any
    second_order: bool
    fn: Any
    wrt: Any
    captured: Tuple[str, ...]


# Functions made from local functions that read local variables, by their file name and
# source: the same text gives the same function, so its derivative stays cached.
_LIFTED: Dict[Tuple[str, str], Any] = {}


def lifted_function(
    local: nested.LocalFunction, captured: Tuple[str, ...], defaults: tuple, where: Any, globals_
) -> Any:
    """The local function ``local`` as a function of its own, which takes the local
    variables ``captured`` as keyword-only parameters.

    Its source is made here and registered with ``linecache`` under a name that says where
    the local function stands (``<s2s_ad: lambda at model.py:12>``), so that s2s_ad reads
    it like any function's.

    >>> import gast
    >>> tree = gast.parse("lambda y: x * y").body[0].value
    >>> f = lifted_function(nested.LocalFunction.of(tree, "<lambda>"), ("x",), (), "m.py:3", {})
    >>> f(2.0, x=3.0)
    6.0
    """
    shown = local.shown_name
    node = gast.gast_to_ast(local.node)
    arguments = copy.deepcopy(node.args)
    arguments.kwonlyargs += [ast.arg(arg=name) for name in captured]
    arguments.kw_defaults += [None] * len(captured)
    if isinstance(node, ast.Lambda):
        body = [f"return {ast.unparse(node.body)}"]
    else:
        body = [line for stmt in node.body for line in ast.unparse(stmt).splitlines()]
    name = f"{shown}_reading_{'_'.join(captured)}"
    text = f"def {name}({ast.unparse(arguments)}):\n" + "".join(f"    {b}\n" for b in body)
    filename = f"<s2s_ad: {shown} at {where}>"
    key = (filename, text)
    if key not in _LIFTED:
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        module = compile(text, filename, "exec", dont_inherit=True)
        code = next(c for c in module.co_consts if inspect.iscode(c))
        _LIFTED[key] = types.FunctionType(code, globals_, name, defaults or None)
    return _LIFTED[key]


def is_function_object(value: Any) -> bool:
    """A Python object a call can be resolved to at lowering: functions, partials,
    NumPy ufuncs, and tuples and dicts of them."""
    if isinstance(value, tuple) and value:
        return all(map(is_function_object, value))
    if isinstance(value, dict) and value:
        return all(map(is_function_object, value.values()))
    return (
        inspect.isfunction(value)
        or isinstance(value, (functools.partial, np.ufunc))
        or inspect.isbuiltin(value)
    )


class InliningLowering(LoweringState):
    """Calls of user functions and of function values, inlined."""

    # ------------------------------------------------------------ function values

    def known_function(self, node: gast.expr) -> Any:
        """The function value an argument expression denotes, or None if it is data."""
        if isinstance(node, gast.Name):
            if node.id in self.local_functions:
                return self.local_functions[node.id]
            if node.id in self.function_values:
                return self.function_values[node.id]
            atom = self.env.get(node.id)
            if isinstance(atom, ir.Const) and is_function_object(atom.value):
                return atom.value
            if node.id in self.locals or node.id in self.env:
                return None
            value = self.parsed.resolver.lookup(node.id)
            return value if is_function_object(value) else None
        if isinstance(node, gast.Attribute):
            parts = dotted_name(node)
            if parts is None or parts[0] in self.locals or parts[0] in self.env:
                return None
            value = self.callee_of(gast.Call(node, [], []))
            return value if is_function_object(value) else None
        if isinstance(node, gast.Lambda):
            local = nested.LocalFunction.of(node, "<lambda>")
            local.parsed = self.parsed
            for param, default in local.default_nodes:
                local.defaults[param] = self.expression(default)
            return local
        if isinstance(node, gast.Call) and self.callee_of(node) is functools.partial:
            return self.partial(node)
        if isinstance(node, gast.Call) and hooks.spelling_of_maker(self.callee_of(node)):
            return self.derived_function(node)
        if isinstance(node, gast.ListComp):  # `[lambda t, k=k: k * t for k in range(3)]`
            return self.function_comprehension(node)
        if isinstance(node, (gast.Tuple, gast.List)) and node.elts:
            items = [self.known_function(e) for e in node.elts]
            return tuple(items) if all(i is not None for i in items) else None
        if isinstance(node, gast.Dict) and node.keys:
            if not all(isinstance(k, gast.Constant) for k in node.keys):
                return None
            values = [self.known_function(v) for v in node.values]
            if any(v is None for v in values):
                return None
            return {k.value: v for k, v in zip(node.keys, values)}
        if isinstance(node, gast.Subscript):
            key = self.constant_index(node.slice)
            container = self.known_function(node.value) if key is not NOT_CONSTANT else None
            if isinstance(container, (tuple, dict)):
                try:
                    return container[key]
                except (IndexError, KeyError, TypeError):
                    message = f"there is no function at index {key!r} here"
                    raise self.error(message, node, "") from None
        return None

    def constant_index(self, node: gast.expr) -> Any:
        """The value of an index that is a constant, or a name bound to one (the key of
        an unrolled loop over a dict of functions); NOT_CONSTANT otherwise."""
        if isinstance(node, gast.Constant):
            return node.value
        if isinstance(node, gast.Name) and node.id in self.trip_constants:
            return self.trip_constants[node.id]
        return NOT_CONSTANT

    def partial(self, node: gast.Call) -> Optional[Partial]:
        """``functools.partial(f, a, k=b)`` with ``f`` a function value."""
        if not node.args or isinstance(node.args[0], gast.Starred):
            return None
        target = self.known_function(node.args[0])
        if target is None:
            return None
        rest = gast.Call(node.func, node.args[1:], node.keywords)
        args, kwargs = self.call_arguments(rest, functions=True)
        if args and isinstance(args[-1], nested.Spread):
            self.spread(node.args[-1].value, tuple, node)  # refused: its items are not known
        return Partial(target, tuple(args), tuple(kwargs))

    def function_table(self, node: gast.Assign) -> bool:
        """``fs = (f, g)``, ``table = {"f": f}``, ``rhs = functools.partial(f, a)`` of a
        name assigned once: recorded as a function value (True), not computed."""
        name = _single_target(node)
        table = isinstance(node.value, (gast.Tuple, gast.List, gast.Dict, gast.ListComp))
        partial = isinstance(node.value, gast.Call) and (
            self.callee_of(node.value) is functools.partial
            or hooks.spelling_of_maker(self.callee_of(node.value)) is not None
        )
        if name not in self.single_assignment or not (table or partial):
            return False
        value = self.known_function(node.value)
        if value is None:
            return False
        self.function_values[name] = value
        return True

    def function_argument_value(self, value: Any, node: gast.AST) -> ir.Atom:
        """A function value used as a value (not called): a Python function itself."""
        if isinstance(value, nested.LocalFunction):
            return self.function_value(value, node)
        if inspect.isfunction(value):
            return ir.Const(value, spelling=value.__name__)
        raise self.error(
            "a function passed in as an argument can only be called here, or passed on "
            "to another function",
            node,
            "call it, or pass it on as an argument",
        )

    def called_function(self, func: gast.expr) -> Any:
        """The function value a call's callee expression denotes when it is not a name of
        a module-level object: a parameter bound to a function, an item of a tuple or dict
        of functions, a local variable holding one."""
        if isinstance(func, gast.Name):
            if func.id in self.function_values:
                return self.function_values[func.id]
            atom = self.env.get(func.id)
            if isinstance(atom, ir.Const) and is_function_object(atom.value):
                return atom.value
            return None
        if isinstance(func, gast.Subscript):
            return self.known_function(func)
        return None

    def call_function(self, node: gast.Call, value: Any, keep, args=(), kwargs=()) -> ir.Atom:
        """A call of the function value ``value`` with ``args``/``kwargs`` bound first."""
        if isinstance(value, nested.LocalFunction):
            return self.inline_call(node, value, keep, args, kwargs)
        if isinstance(value, BoundDerivative):
            return self.bound_derivative_call(node, value, keep, args)
        if isinstance(value, CompositeCall):
            return self.composite_call(node, value, keep, args, kwargs)
        if isinstance(value, Partial):
            return self.call_function(
                node, value.target, keep, tuple(args) + value.args, tuple(kwargs) + value.kwargs
            )
        if isinstance(value, Captured):  # the local variables as they are at the call
            captured = tuple(
                (name, self.expression(gast.Name(name, gast.Load(), None, None)))
                for name in value.names
            )
            return self.call_function(node, value.fn, keep, args, tuple(kwargs) + captured)
        if isinstance(value, functools.partial):
            if not all(map(_is_literal, (*value.args, *value.keywords.values()))):
                raise self.error(
                    "a functools.partial made outside the differentiated function can be "
                    "called here only when the values it binds are numbers or strings",
                    node,
                    "make the partial inside the differentiated function, or pass the "
                    "values as arguments",
                )
            bound_args = tuple(map(ir.Const, value.args))
            bound_kwargs = tuple((k, ir.Const(v)) for k, v in value.keywords.items())
            return self.call_function(
                node, value.func, keep, tuple(args) + bound_args, tuple(kwargs) + bound_kwargs
            )
        if isinstance(value, (tuple, dict)):
            raise self.error(
                f"this calls a {type(value).__name__} of functions", node, "index it first"
            )
        if self.inlinable(value):
            return self.inline_function(node, value, keep, args, kwargs)
        if self.packs(value):
            return self.packed_call(node, value, keep, args, kwargs)
        call_args, call_kwargs = self.call_arguments(node)
        kwargs = list(dict([*kwargs, *call_kwargs]).items())
        spelling = getattr(value, "__name__", None) if inspect.isfunction(value) else None
        call = ir.Call(rules.Opaque.of(value), (*args, *call_args), tuple(kwargs), spelling)
        return self.emit(call, node, keep)

    def receiver_method_call(self, node: gast.Call, keep) -> Optional[ir.Atom]:
        """``self.forward(x)`` in a bound method (or a method it calls): the method of
        ``self``'s class, inlined with ``self`` bound first; None for other calls."""
        found = self.receiver_attribute(node.func)
        if found is None:
            return None
        return self.inline_method(node, *found, keep)

    def inline_method(self, node: gast.Call, receiver: ir.Atom, member: Any, keep):
        """A call of ``member`` (what the method's name is in the receiver's class),
        inlined with ``receiver`` bound first; None if it is no method of the object."""
        if isinstance(member, staticmethod):
            fn, bound = member.__func__, ()
        elif inspect.isfunction(member):
            fn, bound = member, (receiver,)
        else:  # a property, a classmethod, a field: not a method of the object
            return None
        return self.inline_function(node, fn, keep, bound) if self.inlinable(fn) else None

    def receiver_property(self, node: gast.Attribute) -> Optional[ir.Atom]:
        """``self.weights`` that is a property of ``self``'s class: its getter, inlined."""
        found = self.receiver_attribute(node)
        if found is None or not isinstance(found[1], property):
            return None
        getter = found[1].fget
        if not inspect.isfunction(getter) or not self.inlinable(getter):
            return None
        return self.inline_function(gast.Call(node, [], []), getter, None, (found[0],))

    def receiver_attribute(self, node: gast.Attribute) -> Optional[Tuple[ir.Atom, Any]]:
        """The atom of ``self`` in ``self.name`` and what ``name`` is in its class (without
        running a descriptor), when ``self`` is a bound method's object or a record made
        here (``p = Params(w, b)``); else None."""
        if not isinstance(node.value, gast.Name):
            return None
        name = node.value.id
        if name not in self.env and not (self.receiver and name == self.receiver[0]):
            return None
        receiver = self.expression(node.value)
        member = self.class_member(receiver, node.attr)
        return None if member is None else (receiver, member)

    def class_member(self, receiver: ir.Atom, name: str) -> Any:
        """What ``name`` is in the class of ``receiver`` (a bound method's object, or a
        record made here), without running a descriptor; None if not known or a field."""
        cls = self.receiver_classes.get(receiver)
        if cls is None or name in field_names(cls):
            return None  # a field, even one whose default is a function: not a method
        return inspect.getattr_static(cls, name, None)

    # ------------------------------------------------------------ module-level functions

    def inlinable(self, fn: Any) -> bool:
        """Whether a call of ``fn`` is inlined: a user function without a rule that can be
        (:func:`not_inlined_reason`), and not one being inlined already (recursion)."""
        return (
            is_user_code(fn)
            and not_inlined_reason(fn) is None
            and fn.__code__ not in self.inlined_code
            and len(self.inlined_code) <= MAX_DEPTH
            and not is_recursive(fn)
        )

    def inline_function(self, node: gast.Call, fn: Any, keep, args=(), kwargs=()) -> ir.Atom:
        """A call of a module-level user function: its body lowered right here."""
        self.refuse_parameter_writes(fn)
        parsed = self.parsed_callee(fn)
        local = nested.LocalFunction.of(parsed.node, fn.__name__)
        _set_defaults(local, fn)
        own = set(local.parameters) | set(nested.stored_names(local.statements()))
        resolver = InlinedResolver(fn, {}, self.lowered.parsed.resolver.globals)
        aliases = self.free_aliases(nested.free_names(local.statements(), own), resolver)
        resolver.aliases = {alias: name for name, alias in aliases.items()}
        local.parsed = dataclasses.replace(parsed, resolver=resolver)
        if fn not in self.callees_checked:
            outer = self.parsed
            self.parsed = local.parsed
            try:
                self.refuse_unsupported(parsed.node)
            finally:
                self.parsed = outer
            self.callees_checked.add(fn)
        return self.inline_call(node, local, keep, args, kwargs, aliases, fn.__code__)

    def free_aliases(self, names: List[str], resolver: InlinedResolver) -> Dict[str, str]:
        """Fresh names for the callee's free names that mean something else here."""
        aliases = {}
        for name in names:
            value = resolver.lookup(name)
            if name in self.free_scope and self.free_scope[name] is value:
                continue
            if name in self.names.taken:
                aliases[name] = name = self.names.claim(name)
            else:
                self.names.taken.add(name)
            self.free_scope[name] = value
        return aliases

    def register_definitions(self, statements: List[gast.stmt], renames: Dict[str, str]) -> None:
        """The local functions an inlined body defines at its top level, by statement."""
        for stmt in statements:
            name = defined_function(stmt)
            if name is not None:
                self.definition_sites[stmt] = renames.get(name, name)


def _single_target(node: gast.Assign) -> Optional[str]:
    targets = node.targets
    if len(targets) == 1 and isinstance(targets[0], gast.Name):
        return targets[0].id
    return None


def is_user_code(fn: Any) -> bool:
    """A Python function of the user's, without a derivative rule."""
    return (
        inspect.isfunction(fn)
        and rules.lookup(fn) is None
        and not rules.is_nondifferentiable(fn)
        and (
            is_transparent(fn)
            or not (LoweringState.is_library_call_of(fn) or is_library_function(fn))
        )
    )


def not_inlined_reason(fn: Any) -> Optional[str]:
    """Why calls of the user function ``fn`` are never inlined, or None if they are
    (unless they recurse)."""
    if getattr(fn, "_s2s_derived", None) is not None:
        return f"`{fn.__name__}` is a derivative made by s2s_ad, which is called, not inlined"
    if getattr(fn, CHECKPOINT_MARK, False):
        return f"`{fn.__name__}` is checkpointed (ad.checkpoint), so it is called, not inlined"
    defaults = list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
    if not all(_is_literal(d) or is_function_object(d) for d in defaults):
        return (
            f"`{fn.__name__}` has a default that is not a number, string or function, "
            "so it is called, not inlined"
        )
    return None


def is_recursive(fn: Any) -> bool:
    """Whether ``fn`` calls itself, directly or through other user functions it names
    (its globals and closure cells): such calls are called, not inlined."""
    return _reaches(fn, fn.__code__, set())


def _reaches(fn: Any, target: Any, seen: set) -> bool:
    for callee in _named_functions(fn):
        if callee.__code__ is target:
            return True
        if id(callee) not in seen:
            seen.add(id(callee))
            if _reaches(callee, target, seen):
                return True
    return False


def _named_functions(fn: Any) -> List[Any]:
    """The user functions ``fn``'s code (and the code nested in it) names."""
    names = set()
    pending = [fn.__code__]
    while pending:
        code = pending.pop()
        names.update(code.co_names)
        pending += [c for c in code.co_consts if inspect.iscode(c)]
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    found = []
    for name in sorted(names | set(cells)):
        try:
            value = cells[name].cell_contents if name in cells else fn.__globals__.get(name)
        except ValueError:
            continue
        if is_user_code(value):
            found.append(value)
    return found


def _set_defaults(local: nested.LocalFunction, fn: Any) -> None:
    """A module-level function's defaults, evaluated when it was defined: constants."""
    positional = fn.__defaults__ or ()
    names = local.positional[len(local.positional) - len(positional) :]
    values = dict(zip(names, positional))
    values.update(fn.__kwdefaults__ or {})
    for name, value in values.items():
        if is_function_object(value) and not _is_literal(value):
            local.defaults[name] = ir.Const(FunctionArgument(value))
        else:
            local.defaults[name] = ir.Const(value)


def _is_literal(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(map(_is_literal, value))
    return value is None or isinstance(value, (numbers.Number, str, bool))
