"""The names and comments of emitted code: what a reader sees after folding and optimizing.

Temporaries are numbered consecutively, a ``dtK`` always has its ``tK``, a
gradient is named after its parameter, each ``# line N`` comment appears once
in a stretch of a block, copies of values computed only to be copied are
gone, and code transformed twice marks the second transform's derivatives
``d2``.
"""

import itertools
import math
import operator
import re

import pytest

import s2s_ad as ad
from s2s_ad.compiler import ir, optimize

from conftest import load_example

IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*\b")
TEMPORARY = re.compile(r"\bt(\d+)\b")


def code_lines(text):
    """The lines of the emitted function that are code (no comments, imports or docstring)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def "))
    return [
        line
        for line in lines[start + 2 :]
        if line.strip() and not line.lstrip().startswith(("#", "def ", '"""'))
    ]


def names_in(lines):
    return {name for line in lines for name in IDENTIFIER.findall(line)}


LECTURES = load_example("lectures")
CONTROL_FLOW = load_example("control_flow")
normal_pdf, product = LECTURES.normal_pdf, LECTURES.product
power, clip_sum = CONTROL_FLOW.power, CONTROL_FLOW.clip_sum


def with_user_temporaries(x: float, t1: float):
    t3 = x * t1
    return math.sin(t3) * math.cos(x) + t3


SOURCES = [
    (normal_pdf, "reverse", ("x", "mu", "sigma")),
    (normal_pdf, "forward", ("x", "mu", "sigma")),
    (normal_pdf, "vjp", ("x", "mu", "sigma")),
    (product, "reverse", ("x", "a", "b")),
    (power, "reverse", "A"),
    (power, "forward", "A"),
    (power, "hvp", "A"),
    (clip_sum, "reverse", "x"),
]


def _first_definitions(lines):
    """Temporary numbers in the order lines assign them."""
    order = []
    for line in lines:
        match = re.match(r"\s*t(\d+) = ", line)
        if match and int(match.group(1)) not in order:
            order.append(int(match.group(1)))
    return order


@pytest.mark.parametrize("fn, mode, wrt", SOURCES)
def test_temporaries_are_numbered_consecutively_in_order_of_definition(fn, mode, wrt):
    lines = code_lines(ad.source(fn, mode=mode, wrt=wrt))
    numbers = sorted({int(n) for line in lines for n in TEMPORARY.findall(line)})
    assert numbers == list(range(len(numbers)))
    defined = _first_definitions(lines)
    assert defined == sorted(defined)


@pytest.mark.parametrize("fn, mode, wrt", SOURCES)
def test_every_derivative_of_a_temporary_has_its_temporary_in_the_code(fn, mode, wrt):
    names = names_in(code_lines(ad.source(fn, mode=mode, wrt=wrt)))
    for name in names:
        match = re.fullmatch(r"d\d*(t\d+)", name)
        if match:
            assert match.group(1) in names, name


def test_normal_pdf_gradient_names_only_what_it_shows():
    lines = code_lines(ad.source(normal_pdf, wrt=("x", "mu", "sigma")))
    names = names_in(lines)
    assert {f"t{k}" for k in range(13)} <= names and "t13" not in names
    assert not {"dt10", "dt11", "dt3"} & names  # adjoints of values folded away


def test_a_gradient_held_by_a_primal_temporary_is_named_after_its_parameter():
    text = ad.source(product, wrt=("x", "a", "b"))
    assert "return (dx, da, db)" in text
    assert "da = x + b" in text and "db = x + a" in text
    assert ad.grad(product, wrt=(0, 1, 2))(1.0, 2.0, 3.0) == (7.0, 4.0, 3.0)


def test_a_pullback_takes_dout_when_the_output_is_folded_away():
    text = ad.source(normal_pdf, mode="vjp", wrt=("x", "mu", "sigma"))
    assert "def normal_pdf_pullback(dout):" in text


def test_temporaries_do_not_take_the_names_the_user_has():
    text = ad.source(with_user_temporaries, mode="forward", wrt=("x", "t1"))
    lines = code_lines(text)
    assert "t3 = x * t1" in text  # the user's own variable
    new = {int(n) for line in lines for n in TEMPORARY.findall(line)} - {1, 3}
    assert new and min(new) == 4  # numbered after the user's highest tK
    grad = ad.grad(with_user_temporaries, wrt=(0, 1))(0.4, 1.5)
    t3 = 0.4 * 1.5
    outer = math.cos(t3) * math.cos(0.4) + 1.0
    expected_x = outer * 1.5 - math.sin(t3) * math.sin(0.4)
    assert grad == pytest.approx((expected_x, outer * 0.4))


def _line_comments_per_stretch(text):
    """(stretch, N) for each ``# line N`` comment.

    A stretch is a run of one block at one depth: the end of a nested block
    does not end it; a new block, or a comment such as ``# adjoint sweep``, does.
    """
    open_at = {}  # depth -> the stretch open there
    new_stretch = itertools.count()
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        depth = len(line) - len(line.lstrip())
        for deeper in [d for d in open_at if d > depth]:
            del open_at[deeper]
        if stripped.startswith("#") and not stripped.startswith("# line"):
            open_at[depth] = next(new_stretch)
        open_at.setdefault(depth, next(new_stretch))
        match = re.match(r"# line (\d+):", stripped)
        if match:
            yield open_at[depth], int(match.group(1))


@pytest.mark.parametrize("fn, mode, wrt", SOURCES)
def test_each_line_comment_appears_once_per_stretch_of_a_block(fn, mode, wrt):
    comments = list(_line_comments_per_stretch(ad.source(fn, mode=mode, wrt=wrt)))
    assert len(comments) == len(set(comments))


def test_a_one_line_function_names_its_line_once():
    text = ad.source(normal_pdf, wrt=("x", "mu", "sigma"))
    assert text.count("# line ") == 1


def test_the_adjoint_of_a_branch_does_not_repeat_the_test_line_for_its_pop():
    text = ad.source(clip_sum)
    adjoint = text.split("# adjoint sweep")[1]
    assert adjoint.count("if s < 1.0:") == 1


def _copies_of_single_use_values(lines):
    """Lines ``y = v`` where ``v`` is assigned once and read only by that copy."""
    words = [w for line in lines for w in IDENTIFIER.findall(line)]
    for line in lines:
        match = re.fullmatch(r"\s*(\w+) = (\w+)", line)
        if match and words.count(match.group(2)) == 2:
            yield line


@pytest.mark.parametrize("mode", ["forward", "hvp"])
def test_no_copy_of_a_value_computed_only_to_be_copied(mode):
    lines = code_lines(ad.source(power, mode=mode))
    assert list(_copies_of_single_use_values(lines)) == []
    assert any(re.fullmatch(r"\s*d2?result = d2?result \* A \+ .*", line) for line in lines)


def test_hvp_code_marks_every_derivative_of_the_second_transform_d2():
    text = ad.source(power, mode="hvp")
    assert "def power_grad_tangent(A, k, d2A):" in text
    names = names_in(code_lines(text))
    gradient_names = names_in(code_lines(ad.source(power)))
    derivatives = {n for n in names if n.startswith("d") and n not in gradient_names}
    assert derivatives and all(n.startswith("d2") for n in derivatives)
    assert not [n for n in names if n.startswith("dd") or re.search(r"_\d+$", n)]
    assert {"d2dA", "d2dresult", "d2result"} <= names
    assert ad.hvp(power)(1.5, 4, 1.0) == pytest.approx(4 * 3 * 1.5**2)


def test_assign_directly_writes_the_copy_target_where_the_value_is_computed():
    a, b, t, u, y, z = (ir.Var(n) for n in "a b t u y z".split())
    add = ir.Call(operator.add, (a, b))
    body = [ir.Assign(t, add), ir.Assign(z, a), ir.Assign(y, t), ir.Return((y, z))]
    assert optimize.assign_directly(body) == [
        ir.Assign(y, add),
        ir.Assign(z, a),
        ir.Return((y, z)),
    ]
    reads_y = [ir.Assign(t, add), ir.Assign(u, y), ir.Assign(y, t), ir.Return((y, u))]
    assert optimize.assign_directly(reads_y) == reads_y  # y's old value is read between
    folded = [ir.Assign(t, add), ir.Assign(z, a), ir.Assign(y, t), ir.Return((y, z))]
    assert optimize.assign_directly(folded, {"t"}) == folded  # the emitter folds t into y
