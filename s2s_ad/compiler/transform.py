"""What forward, Taylor and reverse mode share: the function, its analysis, a builder.

A :class:`Transform` is built from the lowered function and the
:class:`~s2s_ad.compiler.spec.Spec`; it runs the analyses once (activity,
kinds, shape keys, which variables are mutable) and holds the
:class:`~s2s_ad.compiler.templates.Builder` that writes derivative
statements.
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Tuple

from ..rules import SCALAR, UNKNOWN, Kind, kind_of_value
from . import analyse, ir
from .binding import bound_arguments, refuse_varied_write, rule_for
from .lower import Lowered
from .spec import Spec
from .templates import Builder


class DifferentiableArgs:
    """:func:`~.analyse.differentiable_args` of each call, found once per transform: the
    activity analyses and reverse mode's adjoints each ask it of every call.  Calls are
    known by id, and held so that the id stays theirs.

    >>> import operator
    >>> call = ir.Call(operator.mul, (ir.Var("x"), ir.Const(2.0)))
    >>> args_of = DifferentiableArgs()
    >>> args_of(call) is args_of(call), [str(a) for a in args_of(call)]
    (True, ['x', '2.0'])
    """

    def __init__(self) -> None:
        self._found: Dict[int, Tuple[ir.Call, Iterable[ir.Atom]]] = {}

    def __call__(self, call: ir.Call) -> Iterable[ir.Atom]:
        found = self._found.get(id(call))
        if found is None:
            found = self._found[id(call)] = (call, analyse.differentiable_args(call))
        return found[1]


class Transform:
    """What forward and reverse mode share: the function, its analysis, a builder.

    ``args_of``: the memo of differentiable arguments to go on with (a new one if None).
    """

    def __init__(self, low: Lowered, spec: Spec, args_of: Optional[DifferentiableArgs] = None):
        self.low = low
        self.spec = spec
        self.fn = low.function
        self.names = low.names
        self.wrt = spec.wrt
        self.optimize = spec.optimize
        self.param_kinds = spec.param_kinds([p.name for p in low.function.params])
        self.args_of = args_of or DifferentiableArgs()
        self.varied = analyse.varied(self.fn, self.wrt, self.args_of)
        self.active = self.varied & analyse.useful(self.fn, self.args_of)
        for stmt in ir.walk(self.fn.body):
            if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Call):
                refuse_varied_write(stmt.value, stmt.loc, self.varied)
        self.kinds = analyse.kinds(self.fn, self.param_kinds, low.free_values)
        self.mutable = mutable_variables(self.fn.body)
        self.shape_keys = (
            analyse.shape_keys(self.fn, self.kinds, self.mutable) if self.optimize else {}
        )
        # The derivatives of mutable variables are assigned again and again:
        # another derivative must copy them rather than share the name.
        self.unstable = {self.names.derivative(v) for v in sorted(self.mutable, key=str)}
        primal = {s.target for s in ir.walk(self.fn.body) if isinstance(s, ir.Assign)}
        constants = primal - self.varied  # may hold ints; everything varied is a float
        is_float = lambda a: _is_float(a, constants)  # noqa: E731
        changing = self.mutable | self.unstable
        self.builder = Builder(self.names, self.optimize, is_float=is_float, changing=changing)

    def entering_loop(self) -> None:
        """Before building a loop body: what is known of variables that change forgets.

        A second trip starts from the values the first one left, so a body must
        not simplify with a definition from before the loop (``dv = -t`` then
        ``a + dv`` as ``a - t`` inside the loop was a wrong JVP that the suite's
        optimized-against-unoptimized check found).
        """
        self.builder.entering_loop()

    def is_unstable(self, atom: ir.Atom) -> bool:
        """Whether ``atom`` names a value that changes later (a mutable variable or its
        derivative): a derivative must copy it rather than share its name."""
        return isinstance(atom, ir.Var) and (atom in self.unstable or atom in self.mutable)

    @property
    def base_name(self) -> str:
        """The name emitted functions are named after (``f`` of ``f_grad``)."""
        return "lambda" if self.fn.name == "<lambda>" else self.fn.name

    def kind(self, atom: ir.Atom) -> Kind:
        if isinstance(atom, ir.Const):
            return kind_of_value(atom.value)
        return self.kinds.get(atom, UNKNOWN)

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
        key = self.shape_keys.get(arg) if isinstance(arg, ir.Var) else None
        own = arg in self.low.param_temps.values()
        return key is None or own or any(self.shape_keys.get(o) != key for o in others)


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
