"""Stage 2, lower: a parsed function as three-address IR.

What goes in is a Python function; what must come out is one primitive per
statement on atoms, parameters read by ``load`` at the top level, the user's
names kept where a variable is assigned once or changes in control flow,
structured control flow with every path ending in a ``return``, local
functions inlined, and every statement tied to the user's line.  What cannot
be lowered is refused with a :class:`TransformError` at the user's line.
"""

import math
import operator

import numpy as np
import pytest
import stage_programs as programs

import s2s_ad as ad
from s2s_ad import runtime
from s2s_ad.compiler import hooks, ir
from s2s_ad.compiler.errors import TransformError
from s2s_ad.compiler.lower import lower_function

from conftest import import_source

SOURCE = """
import math

import numpy as np

import s2s_ad as ad

SCALE = 3.0


def documented(x):
    '''Squares x.'''
    return x * x


def named_once(x, y):
    z = x * y
    return z + 1.0


def named_twice(x):
    y = x * 2.0
    y = y + 1.0
    return y


def over_pairs(xs, ys):
    s = 0.0
    for a, b in zip(xs, ys):
        s = s + a * b
    return s


def over_numbered(xs):
    s = 0.0
    for k, v in enumerate(xs):
        s = s + k * v
    return s


def over_reversed(xs):
    s = 0.0
    for v in reversed(xs):
        s = s * 0.5 + v
    return s


def if_return(x, a):
    if x > 0.0:
        return x * a
    y = x * 2.0
    return y


def no_return(x):
    y = x * 2.0


def local_def(x):
    def g(u):
        return u * u

    return g(x) + 1.0


def local_lambda(x):
    sq = lambda u: u * u
    return sq(x) + sq(2.0 * x)


def recursive_local(x):
    def g(u):
        return g(u)

    return g(x)


def uses_global(x):
    return x * SCALE + math.pi


def method_call(x):
    return x.sum()


def smaller(x, y):
    return min(x, y)


def cube(u):
    return u * u * u


def calls_grad(x):
    return ad.grad(cube)(x) * x


def calls_call(x):
    return abs(x)(x)  # a library call's result: no function known at lowering
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return import_source(SOURCE, tmp_path_factory.mktemp("lower"))


def body_of(fn):
    return lower_function(fn).function.body


def assigns(body):
    return [s for s in ir.walk(body) if isinstance(s, ir.Assign)]


def assigned_names(body):
    return {s.target.name for s in assigns(body)}


def calls_of(body, fn):
    return [s for s in assigns(body) if isinstance(s.value, ir.Call) and s.value.fn is fn]


def definition(body, var):
    """The assignment of ``var`` in ``body`` (a temporary is assigned once)."""
    (assign,) = [s for s in assigns(body) if s.target == var]
    return assign


def first(body, kind):
    return next(s for s in ir.walk(body) if isinstance(s, kind))


def ends_every_path_in_return(body) -> bool:
    last = body[-1] if body else None
    if isinstance(last, ir.If):
        return ends_every_path_in_return(last.body) and ends_every_path_in_return(last.orelse)
    return isinstance(last, ir.Return)


# ------------------------------------------------------------------ the trace


def test_the_lecture_example_trace():
    assert ir.format_trace(lower_function(programs.product).function) == (
        "t0 = load('x')          # x\n"
        "t1 = load('a')          # a\n"
        "t2 = t0 + t1            # x + a\n"
        "t3 = load('b')          # b\n"
        "t4 = t0 + t3            # x + b\n"
        "t5 = t2 * t4            # (x + a) * (x + b)\n"
        "return t5\n"
    )


def test_the_lowered_function_keeps_name_and_parameters():
    low = lower_function(programs.product)
    assert low.function.name == "product"
    assert [p.name for p in low.function.params] == ["x", "a", "b"]
    assert low.parsed.fn is programs.product


def test_each_statement_applies_one_primitive_to_atoms():
    for stmt in assigns(body_of(programs.product)):
        value = stmt.value
        assert isinstance(value, (ir.Load, ir.Call, ir.Var, ir.Const))
        if isinstance(value, ir.Call):
            assert all(isinstance(a, (ir.Var, ir.Const)) for a in value.args)
    adds = calls_of(body_of(programs.product), operator.add)
    assert len(adds) == 2 and len(calls_of(body_of(programs.product), operator.mul)) == 1


def test_each_parameter_is_loaded_once_where_first_used():
    low = lower_function(programs.product)
    loads = [s for s in low.function.body if isinstance(s.value, ir.Load)]
    assert [s.value.name for s in loads] == ["x", "a", "b"]
    assert not any(s.value.free for s in loads)
    assert {name: var for var, name in low.load_of.items()} == low.param_temps


def test_statements_keep_the_users_line_and_text(m):
    low = lower_function(m.named_once)
    first_line = m.named_once.__code__.co_firstlineno
    z = next(s for s in low.function.body if isinstance(s, ir.Assign) and s.target.name == "z")
    assert z.loc.filename == m.__file__
    assert z.loc.lineno == first_line + 1
    assert z.loc.source_line.strip() == "z = x * y"
    assert z.note == "x * y"
    ret = low.function.body[-1]
    assert ret.loc.lineno == first_line + 2


def test_a_docstring_is_not_lowered(m):
    body = body_of(m.documented)
    assert not any(isinstance(s.value, ir.Const) for s in body if isinstance(s, ir.Assign))
    assert len(calls_of(body, operator.mul)) == 1


def test_a_free_name_is_loaded_as_free_and_its_value_recorded(m):
    low = lower_function(m.uses_global)
    (load,) = [
        s.value
        for s in low.function.body
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Load) and s.value.name == "SCALE"
    ]
    assert load.free
    assert low.free_values["SCALE"] == 3.0
    pi = [a for s in calls_of(low.function.body, operator.add) for a in s.value.args]
    assert ir.Const(math.pi) in pi and "math.pi" in {str(a) for a in pi}  # spelled as written


def test_a_method_of_a_computed_value_is_the_numpy_function(m):
    (call,) = calls_of(body_of(m.method_call), np.sum)
    assert call.value.spelling == "np.sum"


def test_min_of_two_values_is_a_branch(m):
    body = body_of(m.smaller)
    (branch,) = [s for s in body if isinstance(s, ir.If)]
    (choose,) = branch.body
    assert isinstance(choose, ir.Assign) and not branch.orelse
    assert calls_of(body, operator.lt)


# ------------------------------------------------------------------ names


def test_a_variable_assigned_once_keeps_the_users_name(m):
    body = body_of(m.named_once)
    (z,) = [s for s in assigns(body) if s.target.name == "z"]
    assert z.value.fn is operator.mul
    assert body[-1].value != ir.Var("z")  # z + 1.0 is a temporary


def test_a_variable_assigned_twice_in_straight_code_gets_temporaries(m):
    assert "y" not in assigned_names(body_of(m.named_twice))


def test_a_variable_changed_in_a_loop_is_one_variable_written_by_every_assignment():
    body = body_of(programs.over_items)
    writes = [s for s in assigns(body) if s.target == ir.Var("s")]
    assert len(writes) == 2  # `s = 0.0` and the update in the loop
    assert isinstance(first(body, ir.For).body[-1], ir.Assign)
    assert first(body, ir.For).body[-1].target == ir.Var("s")
    assert body[-1].value == ir.Var("s")


def test_a_parameter_reassigned_in_a_loop_is_loaded_into_its_own_name():
    body = body_of(programs.doubling)
    assert body[0].target == ir.Var("x") and body[0].value == ir.Load("x")


# ------------------------------------------------------------------ loops


def test_a_loop_over_a_sequence_becomes_a_loop_over_indices():
    body = body_of(programs.over_items)
    loop = first(body, ir.For)
    steps = definition(body, loop.iter)
    assert steps.value.fn is range
    length = definition(body, steps.value.args[0])
    assert length.value.fn is len
    item = loop.body[0]
    assert item.target == ir.Var("v")
    assert item.value.fn is operator.getitem
    assert item.value.args[1] == loop.target
    assert item.value.args[0] == length.value.args[0]  # xs


def test_zip_loops_over_the_shortest_sequence(m):
    body = body_of(m.over_pairs)
    loop = first(body, ir.For)
    (shortest,) = calls_of(body, min)
    assert len(calls_of(body, len)) == 2
    steps = definition(body, loop.iter)
    assert steps.value.args == (shortest.target,)
    assert [s.target.name for s in loop.body[:2]] == ["a", "b"]
    assert all(s.value.args[1] == loop.target for s in loop.body[:2])


def test_enumerate_counts_with_the_users_index(m):
    loop = first(body_of(m.over_numbered), ir.For)
    assert loop.target == ir.Var("k")
    assert loop.body[0].target == ir.Var("v")
    assert loop.body[0].value.args[1] == ir.Var("k")


def test_reversed_sequence_loops_over_reversed_indices(m):
    body = body_of(m.over_reversed)
    loop = first(body, ir.For)
    backwards = definition(body, loop.iter)
    assert backwards.value.fn is reversed
    steps = definition(body, backwards.value.args[0])
    assert steps.value.fn is range


def test_a_range_loop_keeps_the_users_index():
    loop = first(body_of(programs.doubling), ir.For)
    assert loop.target == ir.Var("_")


# ------------------------------------------------------------------ jumps


def test_return_inside_a_loop_sets_retval_and_breaks():
    body = body_of(programs.early_return)
    returned = next(
        s.target for s in body if isinstance(s, ir.Assign) and s.value == ir.Const(False)
    )
    loop = first(body, ir.For)
    branch = first(loop.body, ir.If)
    *value, retval, flag, leave = branch.body  # `x * x`, then `retval = ...`
    assert [s.note for s in value] == ["x * x"]
    assert retval.value == value[0].target and retval.note == "return x * x"
    assert flag.target == returned and flag.value == ir.Const(True)
    assert isinstance(leave, ir.Break)
    after = body[-1]  # after the loop: return retval if a trip returned
    tested = body[-2]  # the flag in a name of its own: reverse mode tests what the primal saw
    assert isinstance(tested, ir.Assign) and tested.value == returned
    assert isinstance(after, ir.If) and after.cond == tested.target
    assert after.body == [ir.Return(retval.target, after.body[0].loc)]
    assert isinstance(after.orelse[-1], ir.Return)
    assert ends_every_path_in_return(body)


def test_statements_after_an_early_return_go_into_the_other_branch(m):
    body = body_of(m.if_return)
    branch = body[-1]
    assert isinstance(branch, ir.If)
    assert "y" in assigned_names(branch.orelse)
    assert ends_every_path_in_return(body)


@pytest.mark.parametrize("name", ["no_return", "if_return"])
def test_every_path_ends_in_a_return(m, name):
    body = body_of(getattr(m, name))
    assert ends_every_path_in_return(body)


def test_a_function_without_return_returns_none(m):
    assert body_of(m.no_return)[-1].value == ir.Const(None)


# ------------------------------------------------------------------ local functions


@pytest.mark.parametrize("name", ["local_def", "local_lambda"])
def test_a_local_function_is_inlined(m, name):
    body = body_of(getattr(m, name))
    assert not any(isinstance(s, ir.Function) for s in ir.walk(body))
    for stmt in assigns(body):
        if isinstance(stmt.value, ir.Call):
            assert stmt.value.fn in (operator.mul, operator.add)
    squares = [s for s in calls_of(body, operator.mul) if s.note == "u * u"]
    assert len(squares) == (1 if name == "local_def" else 2)  # once per call


def test_a_local_function_calling_itself_is_refused(m):
    with pytest.raises(TransformError, match="calls itself"):
        lower_function(m.recursive_local)


# ------------------------------------------------------------------ ad.grad(f)(x) inside


def test_a_derivative_maker_call_is_made_at_transform_time(m):
    assert hooks.DERIVATIVE_MAKERS[ad.grad] == "ad.grad"
    (call,) = [s.value for s in assigns(body_of(m.calls_grad)) if s.note == "ad.grad(cube)(x)"]
    assert call.fn is not ad.grad and callable(call.fn)
    assert call.fn(2.0) == pytest.approx(12.0)  # d/du u**3 at 2


def test_a_registered_maker_is_recognised_through_the_hook_table(m, monkeypatch):
    """Any function in the table is called on its constant arguments when lowering."""
    given = []

    def maker(fn):
        given.append(fn)
        return runtime.make_tuple  # what the lowered call then calls

    monkeypatch.setitem(hooks.DERIVATIVE_MAKERS, maker, "maker")
    monkeypatch.setitem(vars(m), "ad", type("Namespace", (), {"grad": staticmethod(maker)}))
    (call,) = [s.value for s in assigns(body_of(m.calls_grad)) if s.note == "ad.grad(cube)(x)"]
    assert given == [m.cube]
    assert call.fn is runtime.make_tuple


def test_calling_the_result_of_another_call_names_the_makers(m):
    with pytest.raises(TransformError) as info:
        lower_function(m.calls_call)
    for spelling in hooks.DERIVATIVE_MAKERS.values():
        assert f"{spelling}(f)(...)" in info.value.reason
    assert info.value.source_line.strip().startswith("return abs(x)(x)")


# ------------------------------------------------------------------ refusals

REFUSED = {
    "try": ("try:  # refused\n        y = x\n    except ValueError:\n        y = 0.0", "`try`"),
    "with": ("with open('f') as fh:  # refused\n        y = x", "`with`"),
    "yield": ("yield x  # refused", "generators"),
    "global": ("global SCALE  # refused", "`global`"),
    "raise": ("raise ValueError(x)  # refused", "`raise`"),
    "del": ("z = x\n    del z  # refused", "`del`"),
    "import": ("import os  # refused", "imports"),
    "class": ("class C:  # refused\n        pass", "class definitions"),
    "loop else": (
        "for i in range(3):\n        y = x\n    else:\n        y = 0.0  # refused",
        "`else`",
    ),
    "set comprehension": ("z = {x for k in 'ab'}  # refused", "set comprehensions"),
    "stored generator": ("z = (x for k in 'ab')  # refused", "generator expression"),
    "set display": ("z = {x}  # refused", "set displays"),
    "starred call": ("z = max(*x)  # refused", "needs a tuple or list whose items are known"),
    "starred assignment": ("z, *rest = x  # refused", "star unpacking"),
    "global in a nested def": ("def g():\n        global SCALE  # refused", "`global`"),
    "nonlocal": (
        "y = x\n    def g():\n        nonlocal y  # refused\n        y = 1.0",
        "`nonlocal`",
    ),
}


@pytest.mark.parametrize("statement, message", REFUSED.values(), ids=REFUSED.keys())
def test_refused_syntax_names_file_line_and_source(tmp_path, statement, message):
    source = f"SCALE = 1.0\n\n\ndef f(x):\n    {statement}\n    return x\n"
    m = import_source(source, tmp_path)
    with pytest.raises(TransformError) as info:
        lower_function(m.f)
    error = info.value
    lines = source.splitlines()
    line = next(k + 1 for k, text in enumerate(lines) if "# refused" in text)
    assert message in error.reason
    assert (error.filename, error.lineno) == (m.__file__, line)
    assert error.source_line == lines[line - 1]
    assert f"{m.__file__}:{line}:" in str(error)  # the message quotes where
    assert lines[line - 1].strip() in str(error)


def test_star_parameters_are_parameters(tmp_path):
    """``*rest`` and ``**options`` are parameters holding a tuple and a dict, taken last."""
    m = import_source("def f(x, *rest, k=1.0, **options):\n    return x * rest[0]\n", tmp_path)
    assert [p.name for p in lower_function(m.f).function.params] == ["x", "k", "rest", "options"]


def test_an_unknown_name_is_refused_at_its_line(tmp_path):
    m = import_source("def f(x):\n    y = x * 2.0\n    return y * undefined_thing\n", tmp_path)
    with pytest.raises(TransformError, match="'undefined_thing' is not defined") as info:
        lower_function(m.f)
    assert info.value.lineno == 3
