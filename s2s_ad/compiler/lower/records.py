"""Lowering records made or changed in the differentiated function.

``dataclasses.replace(p, W=w)`` and ``p._replace(W=w)`` become one
``with_field(p, "W", w)`` per field; a record made by its class,
``Params(W=w, b=b)`` (a dataclass without ``__post_init__``, a NamedTuple, a
``SimpleNamespace``), is made by the class and then has its fields set the same
way: what is differentiated is the field writes, never the constructor.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from typing import Any, List, Optional, Tuple

import gast

from ... import runtime
from .. import ir
from ..parse import dotted_name
from .state import LoweringState


def is_record_class(fn: Any) -> bool:
    """A class whose calls make a record field by field: a dataclass without
    ``__post_init__``, a NamedTuple or ``types.SimpleNamespace``.

    >>> import collections
    >>> is_record_class(collections.namedtuple("P", "a")), is_record_class(dict)
    (True, False)
    """
    if not isinstance(fn, type):
        return False
    if fn is types.SimpleNamespace:
        return True
    if issubclass(fn, tuple) and hasattr(fn, "_fields"):
        return True
    return dataclasses.is_dataclass(fn) and not hasattr(fn, "__post_init__")


def field_names(cls: type) -> Tuple[str, ...]:
    """The fields of a record class: a dataclass's or a NamedTuple's.

    >>> import collections
    >>> field_names(collections.namedtuple("P", "a b"))
    ('a', 'b')
    """
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return tuple(getattr(cls, "_fields", ()))


class RecordLowering(LoweringState):
    """Records made and replaced field by field."""

    def record_call(self, node: gast.Call, fn: Any, keep: Optional[str]) -> Optional[ir.Atom]:
        """``dataclasses.replace(p, ...)`` or ``Params(...)``; None for other calls."""
        if fn is dataclasses.replace and node.args:
            record = self.expression(node.args[0])
            args, kwargs = self.call_arguments(gast.Call(node.func, node.args[1:], node.keywords))
            if args:
                raise self.error("dataclasses.replace takes the fields by name", node, "")
            return self.same_class(record, self.with_fields(record, kwargs, node, keep))
        if not is_record_class(fn):
            return None
        args, kwargs = self.call_arguments(node)
        try:
            if fn is types.SimpleNamespace and args:
                raise TypeError("SimpleNamespace takes its fields by name")
            fields = kwargs
            if fn is not types.SimpleNamespace:
                fields = list(inspect.signature(fn).bind(*args, **dict(kwargs)).arguments.items())
        except TypeError as exc:
            raise self.error(f"{fn.__name__}(...): {exc}", node, "") from None
        spelled = dotted_name(node.func)
        cls = ir.Const(fn, spelling=".".join(spelled) if spelled else None)
        made = self.emit(ir.Call(runtime.constructed, (cls, *args), tuple(kwargs)), node)
        record = self.with_fields(made, fields, node, keep)
        return self.of_class(record, None if fn is types.SimpleNamespace else fn)

    def replace_method(self, node: gast.Call, keep: Optional[str]) -> ir.Atom:
        """``p._replace(W=w)`` of a NamedTuple."""
        record = self.expression(node.func.value)
        args, kwargs = self.call_arguments(node)
        if args:
            raise self.error("_replace takes the fields by name", node, "")
        return self.same_class(record, self.with_fields(record, kwargs, node, keep))

    def same_class(self, record: ir.Atom, replaced: ir.Atom) -> ir.Atom:
        """``replaced``, whose methods are those of ``record``'s class where it is known."""
        return self.of_class(replaced, self.receiver_classes.get(record))

    def of_class(self, record: ir.Atom, cls: Optional[type]) -> ir.Atom:
        """``record``, whose methods are those of ``cls`` (``p.predict(x)`` is inlined), where
        its name has only this value: not a name assigned in branches or loops."""
        if cls is not None and not (isinstance(record, ir.Var) and record.name in self.mutable):
            self.receiver_classes[record] = cls
        return record

    def with_fields(
        self, record: ir.Atom, fields: List[Tuple[str, ir.Atom]], node: gast.AST, keep
    ) -> ir.Atom:
        """``record`` with ``fields`` set, one ``with_field`` each (constants too)."""
        for k, (name, value) in enumerate(fields):
            last = k == len(fields) - 1
            call = ir.Call(runtime.with_field, (record, ir.Const(name), value))
            record = self.emit(call, node, keep if last else None)
        return record
