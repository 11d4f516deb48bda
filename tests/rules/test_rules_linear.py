"""Rules written once: linear functions and the ``math`` table.

A function linear in a parameter (``np.reshape``, ``np.sum``, each factor of ``np.matmul``,
the cotangent a helper carries) declares it: its rule writes the call and the VJP, and the
JVP is derived, the call with the parameter's tangent in its place.  For every such rule,
variadic ones fitted to a few argument counts included, the structural test checks that
the JVP is exactly that call; the numerical test runs each one's case from the rule
tables (``test_rules_numpy.py``, ``test_rules_python.py``) forward along its linear
parameters and compares with central finite differences, with the harness of
``rule_harness.py``.  The ``math`` functions and the operators take the partial
derivatives of their NumPy namesakes, which the last tests check.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any, List, Optional, Tuple

import cases_scipy
import pytest
import test_rules_numpy
import test_rules_python

from s2s_ad import runtime
from s2s_ad.compiler import ir
from s2s_ad.compiler.lower import lower_function
from s2s_ad.compiler.templates import resolve_callee
from s2s_ad.rules import Refusal, Rule, VariadicRule, all_rules, lookup
from s2s_ad.rules import python as python_rules

from rule_harness import ARGS, Point, RuleTable, check_jvp

# Argument counts variadic rules are fitted to.
VARIADIC_COUNTS = range(1, 7)
# Tuple and list displays, whose items an argument may reach a parameter as.
DISPLAYS = (runtime.make_tuple, runtime.make_list)


def fitted_rules() -> List[Tuple[str, Rule]]:
    """Every registered rule, and each variadic one fitted to ``VARIADIC_COUNTS``."""
    rules = []
    for rule in all_rules():
        if isinstance(rule, VariadicRule):
            rules += [(f"{rule.name}/{n}", rule.for_call(n)) for n in VARIADIC_COUNTS]
        else:
            rules.append((rule.name, rule))
    return rules


LINEAR_RULES = [pytest.param(rule, id=name) for name, rule in fitted_rules() if rule.linear]


def test_rules_declare_linear_parameters():
    assert len(LINEAR_RULES) > 150


class _Tangent(ast.NodeTransformer):
    """The tree with the tangent ``dname`` in place of the name ``name``."""

    def __init__(self, name: str):
        self.name = name

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(f"d{node.id}", node.ctx) if node.id == self.name else node


@pytest.mark.parametrize("rule", LINEAR_RULES)
def test_linear_jvp_is_the_call_on_the_tangent(rule):
    call = ast.parse(rule.call.written(), mode="eval").body
    assert isinstance(call, ast.Call), rule.call
    assert resolve_callee(call.func, rule.namespace(False))[0] is rule.fn, "calls another function"
    passed = [a.id for a in call.args] + [k.value.id for k in call.keywords]
    assert all(k.arg == k.value.id for k in call.keywords), "passes a parameter as another"
    assert sorted(passed) == sorted(rule.arg_names), "passes other arguments than the parameters"
    for name in rule.linear:
        i = rule.arg_names.index(name)
        on_tangent = _Tangent(name).visit(ast.parse(rule.call.written(), mode="eval").body)
        assert ast.dump(rule.jvp[i].tree) == ast.dump(on_tangent), (name, rule.jvp[i].source)
        transpose = rule.vjp[i]
        assert transpose is not None and not isinstance(transpose, Refusal), f"{name}: no VJP"


# ------------------------------------------------------------------ finite differences


def _linear_point(table: RuleTable, fn: Any, variant: int, generated: Any) -> Optional[Point]:
    """The point of ``fn``'s case ``variant`` that moves the arguments reaching only linear
    parameters (passed straight or as items of a tuple or list), on the case's first shapes;
    None if there are none."""
    case = table.variants(fn)[variant]
    low = lower_function(getattr(generated, table.variant_name(fn, variant)))
    defs = {
        s.target: s.value
        for s in ir.walk(low.function.body)
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)
    }
    call = next(value for value in defs.values() if value.fn is fn)
    rule = lookup(fn).for_call(len(call.args))
    reached = {}  # argument name -> the parameters it reaches
    for parameter, atom in rule.bind(call.args, call.kwargs).items():
        display = defs.get(atom)
        items = display.args if display and display.fn in DISPLAYS else (atom,)
        for item in items:
            reached.setdefault(low.load_of.get(item), set()).add(parameter)
    linear = set(rule.linear)
    wrt = tuple(i for i in case.differentiable if reached.get(ARGS[i], {None}) <= linear)
    return table.point(fn, next(iter(case.shapes)), wrt, variant) if wrt else None


def _linear_table(table: RuleTable, name: str) -> RuleTable:
    """``table`` restricted to functions with a linear rule, written into a module of its own."""
    linear = {
        fn: cases
        for fn, cases in table.cases.items()
        if lookup(fn) is not None  # not a function transformed from its source
        and any(lookup(fn).for_call(n).linear for n in VARIADIC_COUNTS)
    }
    return dataclasses.replace(table, cases=linear, name=name)


TABLES = (
    _linear_table(test_rules_numpy.TABLE, "linear_numpy"),
    _linear_table(test_rules_python.TABLE, "linear_python"),
)
if cases_scipy.TABLE is not None:  # the optional extra `scipy`
    TABLES += (_linear_table(cases_scipy.TABLE, "linear_scipy"),)


@pytest.fixture(scope="module", params=TABLES, ids=lambda table: table.name)
def table_and_module(request, tmp_path_factory):
    for generated in request.param.imported(tmp_path_factory):
        yield request.param, generated


def test_every_linear_rule_has_a_case():
    covered = {id(fn) for table in TABLES for fn in table.cases}
    missing = [rule.name for rule in all_rules() if rule.linear and id(rule.fn) not in covered]
    assert not missing, f"linear rules without a case: {missing}"


def test_linear_jvps_match_finite_differences(table_and_module):
    table, generated = table_and_module
    without = []
    for fn in table.cases:
        variants = range(len(table.variants(fn)))
        points = [_linear_point(table, fn, k, generated) for k in variants]
        points = [p for p in points if p is not None]
        without += [] if points else [table.label(fn)]
        for point in points:
            check_jvp(point, generated)
    assert not without, f"no case moves a linear parameter: {without}"


# ------------------------------------------------------------------ math and operators


@pytest.mark.parametrize(
    "fn, namesake",
    [*python_rules.MATH_NAMESAKES.items(), *python_rules.OPERATORS.items()],
    ids=lambda fn: getattr(fn, "__name__", ""),
)
def test_python_rules_take_their_numpy_namesakes_partials(fn, namesake):
    rule, numpy_rule = lookup(fn), lookup(namesake)
    assert rule.partials == numpy_rule.partials
    assert [t and t.source for t in rule.jvp] == [t and t.source for t in numpy_rule.jvp]
    assert [t and t.source for t in rule.vjp] == [t and t.source for t in numpy_rule.vjp]


def test_math_rules_read_math_names_for_numbers():
    for fn in python_rules.MATH:
        assert lookup(fn).namespace(False) is python_rules.MATH_NAMES, fn.__name__
