"""Stage 2: lower a parsed function to the three-address IR.

Each statement of the result applies one primitive to atoms.  Parameters are
read with ``load`` the first time they are used; a variable assigned once
keeps the user's name, everything else gets a fresh ``t<k>``.  Every
statement keeps its source position and the source text it computes, so
errors and comments can point back at the user's line.

Control flow stays structured (:class:`ir.If`, :class:`ir.For`,
:class:`ir.While`).  A variable assigned inside a branch or a loop is a
*mutable* variable: it keeps the user's name and every assignment writes it.
``return``, ``break`` and ``continue`` inside an ``if`` move the statements
after the ``if`` into the branch that does not jump, so that every jump ends
its block; a ``return`` inside a loop sets ``retval`` and breaks out.
Loops over sequences become loops over indices (``for i in range(len(xs)):
x = xs[i]``), which is what reverse mode needs to walk them backwards.

>>> def f(x, a, b):
...     return (x + a) * (x + b)
>>> print(lower(parse(f)).function.body[2].note)
x + a

The lowerer is a class made of parts that share one state
(:class:`state.LoweringState`): :mod:`.statements`, :mod:`.expressions`,
:mod:`.calls`, :mod:`.local_functions`, :mod:`.function_loops` and the others
imported below.
"""

from __future__ import annotations

import gast

from .. import ir
from ..parse import Parsed, parse
from .calls import CallLowering
from .composites import CompositeLowering
from .containers import ContainerLowering
from .expressions import ExpressionLowering
from .factories import FactoryLowering
from .function_loops import FunctionLoopLowering
from .inlining import InliningLowering
from .local_functions import LocalFunctionLowering
from .pullbacks import PullbackLowering
from .records import RecordLowering
from .state import Lowered
from .statements import StatementLowering, close_open_paths

__all__ = ["Lowered", "lower", "lower_function"]


def lower(parsed: Parsed) -> Lowered:
    """The IR of a parsed function.

    The lowerer lets go of its state once done: that state refers back to the lowerer
    (a bound method its sharing analysis keeps), a cycle that held the syntax tree and
    the whole lowering (about 130,000 objects for a 2,000-line function) until the
    cyclic collector ran, and the collection cost a fiftieth of the transform.
    """
    lowerer = Lowerer(parsed)
    try:
        return lowerer.run()
    finally:
        vars(lowerer).clear()


def lower_function(fn) -> Lowered:
    """Parse and lower a Python function in one step."""
    return lower(parse(fn))


class Lowerer(
    StatementLowering,
    ExpressionLowering,
    CallLowering,
    CompositeLowering,
    ContainerLowering,
    LocalFunctionLowering,
    FunctionLoopLowering,
    InliningLowering,
    FactoryLowering,
    PullbackLowering,
    RecordLowering,
):
    """Lowers one parsed function: :meth:`run` lowers its body, statement by statement."""

    def run(self) -> Lowered:
        statements = list(self.node.body)
        if statements and _is_docstring(statements[0]):
            statements = statements[1:]
        loc = self.parsed.loc(self.node)
        for p in self.params:
            if p.name in self.mutable:  # reassigned in a loop or branch: one variable
                var = ir.Var(p.name)
                self.top.append(ir.Assign(var, ir.Load(p.name), loc, p.name))
                self.lowered.param_temps[p.name] = var
                self.lowered.load_of[var] = p.name
                self.env[p.name] = var
        if self.returns_in_loops:
            self.retval = ir.Var(self.names.claim("retval"))
            self.returned = ir.Var(self.names.claim("returned"))
            self.top.append(ir.Assign(self.returned, ir.Const(False)))
        self.block(statements)
        close_open_paths(self.top, ir.Return(ir.Const(None), loc))
        self.lowered.function = ir.Function(
            name=self.parsed.name, params=tuple(self.params), body=self.top, loc=loc
        )
        return self.lowered


def _is_docstring(node: gast.stmt) -> bool:
    return (
        isinstance(node, gast.Expr)
        and isinstance(node.value, gast.Constant)
        and isinstance(node.value.value, str)
    )
