"""Stage 1, parse: a function's source as a gast tree, its free names resolved, its positions kept.

What goes in is a Python function; what must come out is its definition
(a lambda rewritten as a ``def`` returning its body), a resolver that finds
the object every free name denotes as Python would at call time, and
positions in the user's file.
"""

import builtins
import math
import sys
import types

import gast
import numpy as np
import pytest

from s2s_ad.compiler import lower
from s2s_ad.compiler.errors import TransformError
from s2s_ad.compiler.parse import NOT_FOUND, Resolver, parse

from conftest import import_source

SOURCE = """
import functools
import math

import numpy as np
import numpy
from numpy import exp

value = "global"
round = "the module's own round"


def three_spellings(x):
    return np.exp(x) + numpy.exp(x) + exp(x)


def reads_global(x):
    return x * value


def reads_builtins(x):
    return round(len(x))


def make_closure():
    value = "cell"

    def reads_cell(x):
        return x * value

    return reads_cell


def make_unbound_cell():
    def reads_late(x):
        return x * late

    return reads_late
    late = 1.0


one_line = (lambda x: x * 2.0, lambda x, y: x * y)
lambdas = [
    lambda x: x * 2.0,
    lambda x, y: x * y,
]
same_parameters = (lambda x: x + 1.0, lambda x: x * 3.0)


def deco(f):
    return f


@deco
@deco
def decorated(x):
    '''A docstring.'''
    return x * 5.0


class Holder:
    def method(self, x):
        return (x +
                7.0)


@functools.wraps(decorated)
def wrapper(x):
    return x - 2.0


async def coroutine(x):
    return x
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return import_source(SOURCE, tmp_path_factory.mktemp("parse"))


def returned(parsed):
    """The expression the parsed function returns (its last statement)."""
    ret = parsed.node.body[-1]
    assert isinstance(ret, gast.Return)
    return ret.value


# ------------------------------------------------------------------ resolving names


def test_three_spellings_of_exp_resolve_to_one_object(m):
    resolver = parse(m.three_spellings).resolver
    assert resolver.lookup("np").exp is np.exp
    assert resolver.lookup("numpy").exp is np.exp
    assert resolver.lookup("exp") is np.exp


def test_three_spellings_of_exp_lower_to_calls_of_one_primitive(m):
    """Rules are found by object: the spelling survives only for printing."""
    body = lower.lower_function(m.three_spellings).function.body
    calls = [s.value for s in body if getattr(s.value, "args", None) and s.value.fn is np.exp]
    assert [c.spelling for c in calls] == ["np.exp", "numpy.exp", "exp"]


def test_a_closure_cell_comes_before_a_global(m):
    assert Resolver(m.make_closure()).lookup("value") == "cell"
    assert Resolver(m.reads_global).lookup("value") == "global"


def test_a_global_comes_before_a_builtin(m):
    resolver = Resolver(m.reads_builtins)
    assert resolver.lookup("round") == "the module's own round"
    assert resolver.lookup("len") is builtins.len


def test_builtins_given_as_a_module_are_found_too(m):
    """``__builtins__`` is a dict in imported modules but the module itself in ``__main__``."""
    fn = types.FunctionType(m.reads_global.__code__, {"__builtins__": builtins})
    assert Resolver(fn).lookup("abs") is builtins.abs


def test_an_unknown_name_and_an_unbound_cell_are_not_found(m):
    assert Resolver(m.reads_global).lookup("no_such_name") is NOT_FOUND
    assert Resolver(m.make_unbound_cell()).lookup("late") is NOT_FOUND


# ------------------------------------------------------------------ finding the definition


def test_a_def_is_found_with_its_name_and_parameters(m):
    parsed = parse(m.reads_global)
    assert parsed.name == "reads_global"
    assert isinstance(parsed.node, gast.FunctionDef)
    assert [a.id for a in parsed.node.args.args] == ["x"]
    assert parsed.segment(returned(parsed)) == "x * value"


def test_a_lambda_among_several_on_one_line_is_found_by_its_parameters(m):
    first, second = (parse(fn) for fn in m.one_line)
    assert first.name == second.name == "<lambda>"
    assert [a.id for a in second.node.args.args] == ["x", "y"]
    assert second.segment(returned(second)) == "x * y"
    assert first.segment(returned(first)) == "x * 2.0"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="code positions arrived with 3.11")
def test_lambdas_with_the_same_parameters_on_one_line_are_told_apart_by_position(m):
    first, second = m.same_parameters
    assert parse(first).segment(returned(parse(first))) == "x + 1.0"
    assert parse(second).segment(returned(parse(second))) == "x * 3.0"


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.11 tells them apart by position")
def test_lambdas_with_the_same_parameters_on_one_line_are_refused_before_311(m):
    with pytest.raises(TransformError, match="several lambdas"):
        parse(m.same_parameters[1])


def test_a_decorated_def_is_found_from_its_first_decorator_line(m):
    parsed = parse(m.decorated)
    assert parsed.node.name == "decorated"
    assert parsed.first_lineno == m.decorated.__code__.co_firstlineno  # the first `@deco`
    assert parsed.lines[0].startswith("@deco")
    assert parsed.segment(returned(parsed)) == "x * 5.0"


def test_functools_wraps_does_not_lead_to_the_wrapped_function(m):
    """inspect follows ``__wrapped__``; parse reads the code object it is given."""
    parsed = parse(m.wrapper)
    assert parsed.node.name == "wrapper"
    assert parsed.segment(returned(parsed)) == "x - 2.0"


def test_a_method_is_parsed_dedented(m):
    parsed = parse(m.Holder.method)
    assert parsed.indent == 4
    assert [a.id for a in parsed.node.args.args] == ["self", "x"]


# ------------------------------------------------------------------ locations


def test_loc_gives_the_users_file_line_column_and_text(m):
    parsed = parse(m.Holder.method)
    loc = parsed.loc(parsed.node.body[-1])
    assert loc.filename == m.__file__
    first = m.Holder.method.__code__.co_firstlineno
    assert loc.lineno == first + 1
    assert loc.source_line == "        return (x +"
    assert loc.col_offset == loc.source_line.index("return")  # the dedent added back
    assert str(loc) == f"{m.__file__}:{first + 1}"


def test_segment_joins_an_expression_spread_over_lines(m):
    parsed = parse(m.Holder.method)
    assert parsed.segment(returned(parsed)) == "x + 7.0"


def test_loc_of_a_lambda_is_its_own_line(m):
    parsed = parse(m.lambdas[1])
    loc = parsed.loc(returned(parsed))
    assert loc.lineno == m.lambdas[1].__code__.co_firstlineno
    assert loc.source_line.strip() == "lambda x, y: x * y,"
    assert loc.source_line[loc.col_offset :].startswith("x * y")


def test_loc_of_a_node_without_position_is_the_first_line(m):
    parsed = parse(m.reads_global)
    loc = parsed.loc(None)
    assert loc.lineno == parsed.first_lineno
    assert loc.source_line == "def reads_global(x):"


# ------------------------------------------------------------------ refusals


def test_source_not_available_is_a_transform_error():
    namespace = {}
    exec("def typed_in(x):\n    return x * x\n", namespace)
    with pytest.raises(TransformError, match="source of 'typed_in' is not available") as info:
        parse(namespace["typed_in"])
    assert info.value.filename == "<string>"
    assert "Move the function into a file" in info.value.hint
    assert "`from model import typed_in`" in info.value.hint


@pytest.mark.parametrize("thing", [math.sin, np.exp, print, np.vectorize(abs)])
def test_only_python_functions_are_parsed(thing):
    with pytest.raises(TypeError, match="expected a Python function"):
        parse(thing)


def test_an_async_def_is_refused_at_its_line(m):
    with pytest.raises(TransformError, match="async def") as info:
        parse(m.coroutine)
    assert info.value.lineno == m.coroutine.__code__.co_firstlineno
    assert info.value.source_line.startswith("async def coroutine")


def test_a_lambda_whose_source_cannot_be_parsed_is_a_transform_error(tmp_path):
    """inspect gives only the lambda's first line; a line that parses neither alone nor
    bracketed is refused at that line, not with a SyntaxError."""
    m = import_source("table = [\n    lambda x:\n    x * 6.0,\n]\n", tmp_path)
    with pytest.raises(TransformError, match="cannot parse") as info:
        parse(m.table[0])
    assert (info.value.filename, info.value.lineno) == (m.__file__, 2)


def test_a_lambda_continued_on_the_next_line_is_not_cut_short(tmp_path):
    """``lambda x: x`` newline ``* 3.0`` inside a list: inspect gives ``lambda x: x``, which
    parses; differentiating it gave 1.0 instead of 3.0, silently.  It is refused."""
    m = import_source("table = [\n    lambda x: x\n    * 3.0,\n]\n", tmp_path)
    assert m.table[0](1.0) == 3.0
    with pytest.raises(TransformError, match="runs to line 3") as info:
        parse(m.table[0])
    assert (info.value.filename, info.value.lineno) == (m.__file__, 2)
    assert "parentheses" in info.value.hint


FORMATTED_CALLS = """
import s2s_ad as ad
x = 2.0
third = ad.derivative(
    lambda t: t ** 4 * x, order=3
)
gradient = ad.grad(
    lambda t: t * (1.0 +
                   t * x),
    wrt=0,
)
broken = ad.grad(
    lambda t: t * (1.0 +
                   ad.no_such_function(t)), wrt=0
)
"""


def test_a_lambda_on_its_own_line_in_a_call_that_goes_on_is_read(tmp_path):
    """A formatter puts a long call's lambda on its own line, followed by more arguments
    (``order=3``) or a closing bracket: the lines inspect gives parse neither alone nor
    bracketed, so the lambda is read out of them at its lines and columns."""
    m = import_source(FORMATTED_CALLS, tmp_path)
    assert m.third(0.5) == pytest.approx(24 * 0.5 * 2.0)  # d3/dt3 of t^4 x
    assert m.gradient(3.0) == pytest.approx(1.0 + 2 * 3.0 * 2.0)
    with pytest.raises(TransformError) as info:  # an error points at the lambda's own line
        m.broken(1.0)
    assert (info.value.lineno, info.value.source_line.strip()) == (
        14,
        "ad.no_such_function(t)), wrt=0",
    )
