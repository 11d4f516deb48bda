"""The emitter prints IR expressions straight to text (``compiler.printing``): the text
must be what ``ast.unparse`` writes for the syntax tree ``ir.expr_to_ast`` builds, to
the character.  ``ast.unparse`` is the oracle, over nested expressions of every kind of
call the IR has, drawn at random with fixed seeds."""

from __future__ import annotations

import ast
import operator
import random

import numpy as np
import pytest

from s2s_ad import runtime
from s2s_ad.compiler import ir, printing
from s2s_ad.rules.syntax import BINARY_OPERATORS, COMPARE_OPERATORS, UNARY_OPERATORS

CONSTANTS = [0, 1, -1, 2.5, -2.5, 1e-05, float("inf"), -float("inf"), float("nan"), -0.0]
CONSTANTS += [True, False, None, "k", (1, -2), (), (3,), 1j, ...]


def random_atom(rng: random.Random) -> ir.Atom:
    if rng.random() < 0.6:
        return ir.Var(rng.choice("abcxyz"))
    if rng.random() < 0.1:
        return ir.Const(np.pi, spelling=rng.choice(["np.pi", "-np.pi", "a + b", "slice(1, 2)"]))
    return ir.Const(rng.choice(CONSTANTS))


def random_expr(rng: random.Random, depth: int):
    """An IR expression whose arguments are atoms or, nested, other expressions."""
    if depth == 0 or rng.random() < 0.25:
        return random_atom(rng)

    def arg():
        return random_expr(rng, depth - 1)

    kind = rng.randrange(11)
    if kind == 0:
        return ir.Call(rng.choice(list(BINARY_OPERATORS)), (arg(), arg()))
    if kind == 1:
        return ir.Call(rng.choice(list(UNARY_OPERATORS)), (arg(),))
    if kind == 2:
        return ir.Call(rng.choice(list(COMPARE_OPERATORS)), (arg(), arg()))
    if kind == 3:
        return ir.Call(operator.contains, (arg(), arg()))
    if kind == 4:
        index = rng.choice([arg, lambda: slice_call(rng, arg), lambda: tuple_call(rng, arg)])()
        return ir.Call(operator.getitem, (arg(), index))
    if kind == 5:
        return ir.Call(runtime.field, (arg(), ir.Const("W")))
    if kind == 6:
        fn = rng.choice([runtime.make_tuple, runtime.make_list, runtime.both, runtime.either])
        return ir.Call(fn, tuple(arg() for _ in range(rng.randrange(4))))
    if kind == 7:
        return ir.Call(runtime.make_dict, (), (("k", arg()), ("v", arg())))
    if kind == 8:
        return ir.Call(runtime.call_method, (arg(), ir.Const("sum"), arg()), (("axis", arg()),))
    if kind == 9:
        return ir.Call(np.sum, (arg(),), (("axis", arg()),), spelling="np.sum")
    return ir.Call(ir.Var("pullback"), (arg(), arg()))


def slice_call(rng: random.Random, arg) -> ir.Call:
    return ir.Call(slice, tuple(arg() for _ in range(rng.randint(1, 3))), spelling="slice")


def tuple_call(rng: random.Random, arg) -> ir.Call:
    items = [rng.choice([arg, lambda: slice_call(rng, arg)])() for _ in range(rng.randrange(3))]
    return ir.Call(runtime.make_tuple, tuple(items))


def spelled(call: ir.Call) -> str:
    return call.spelling or call.fn.__name__


def syntax_tree(expr) -> ast.expr:
    def atom(a):
        if isinstance(a, ir.Call):
            return ir.expr_to_ast(a, ir.spelled_callee, atom)
        return ir.atom_to_ast(a)

    return atom(expr)


def text_of(expr) -> printing.Text:
    def atom(a):
        if isinstance(a, ir.Call):
            return printing.call_of(a, spelled, atom)
        if isinstance(a, ir.Var):
            return printing.variable(a.name)
        if a.spelling:
            return printing.from_syntax(ast.parse(a.spelling, mode="eval").body)
        return printing.constant(a.value)

    return atom(expr)


@pytest.mark.parametrize("seed", range(40))
def test_printed_text_is_what_ast_unparse_writes(seed):
    rng = random.Random(seed)
    for _ in range(50):
        expr = random_expr(rng, depth=4)
        assert printing.top(text_of(expr)) == ir.unparse(syntax_tree(expr)), expr


def test_the_names_an_expression_reads_are_its_syntax_trees_names():
    """Emission holds back a folded expression until a name it reads changes."""
    rng = random.Random(7)
    for _ in range(500):
        expr = random_expr(rng, depth=4)
        tree = syntax_tree(expr)
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert set(text_of(expr).names) == names, expr
