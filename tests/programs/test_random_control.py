"""Property-based tests: random programs with branches and loops.

Hypothesis writes small functions built from assignments, augmented
assignments, if/elif/else, conditional expressions, ``for`` over ``range``,
counter-bounded ``while`` loops, ``break`` and ``continue``, and math calls in
safe domains.  Each program is written to a real module and imported, so that
s2s_ad reads its source like any user's.  At random inputs, the reverse-mode
gradient, the forward-mode JVP columns and central finite differences must
agree, and the primal values the transforms return must be ``f(*args)``.

The programs are piecewise smooth, so a finite-difference stencil can straddle
a branch boundary.  An instrumented copy of each program (the same source with
every branch test, ``abs`` and ``int`` call recorded) is evaluated at every
stencil point; finite differences are compared only when all of them took the
same path and two step sizes agree.  Reverse against forward, the primal
values and the pullback checks hold everywhere, kinks included.
"""

import itertools
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st

import s2s_ad as ad

from branch_paths import hvp_differences, path_differences, path_recording
from conftest import SECOND_ORDER, import_source

_MODULES = Path(tempfile.mkdtemp(prefix="s2s_ad_random_control_"))


# ------------------------------------------------------------ dialects


@dataclass(frozen=True)
class Dialect:
    """The vocabulary of one kind of generated program; ``{}`` is an operand."""

    signature: str  # the def line's parameters
    setup: Tuple[str, ...]  # first lines of the body: the pool, defined on every path
    pool: Tuple[str, ...]  # float variables every statement may read and assign
    inputs: Tuple[str, ...]  # differentiated parameters
    targets: Tuple[str, ...]  # what assignments may write: the pool, perhaps parameters
    integers: Tuple[str, ...]  # int parameters, never differentiated
    constants: Tuple[str, ...]
    unary: Tuple[str, ...]  # any operand
    binary: Tuple[str, ...]
    bounded: Tuple[str, ...]  # |result| <= e for any operand: what assignments store
    factors: Tuple[str, ...]  # right-hand sides of *= and /=, |v| cannot grow much
    ranges: Tuple[str, ...]  # arguments of range(); {} is an expression
    scalar: Tuple[str, ...]  # turns an expression into a number a condition can compare
    result: str  # the returned expression: reads the whole pool
    copies: bool  # whether `v = u` is allowed (not for arrays: it would alias)


SCALAR = Dialect(
    signature="x, y, z, n",
    # `da` and the temporaries t0, t1, ... are the names s2s_ad itself likes
    # for adjoints and primal temporaries; the emitted code must not collide.
    setup=("a = x", "b = y", "da = z"),
    pool=("a", "b", "da"),
    inputs=("x", "y", "z"),
    targets=("a", "b", "da", "x", "y", "z"),
    integers=("n",),
    constants=("0.5", "1.5", "2.0", "-1.0"),
    unary=(
        "math.sin({})",
        "math.cos({})",
        "math.tanh({})",
        "math.exp(math.sin({}))",
        "math.log(1 + {0} * {0})",
        "math.sqrt(1 + {0} * {0})",
        "-{}",
        "abs({})",
    ),
    binary=("({} + {})", "({} - {})", "({} * {})", "({} / (2 + math.sin({})))"),
    bounded=(
        "math.tanh({})",
        "math.sin({})",
        "math.cos({})",
        "math.atan({})",
        "math.exp(math.sin({}))",
    ),
    factors=("*= math.cos({})", "*= 0.5 + math.tanh({})", "/= 2 + math.sin({})"),
    ranges=("2", "3", "n", "1, n + 1", "int(2 + 1.5 * math.sin({}))"),
    scalar=("{}",),
    result="{} + a * b - da",
    copies=True,
)

ARRAY = Dialect(
    signature="x, w",
    setup=("acc = x + 0.0", "h = np.tanh(w)", "g = w * x"),
    pool=("acc", "h", "g"),
    inputs=("x", "w"),
    targets=("acc", "h", "g"),  # `x += ...` would write into the caller's array
    integers=(),
    constants=("0.5", "1.5", "-1.0"),
    unary=(
        "np.sin({})",
        "np.tanh({})",
        "np.exp(np.sin({}))",
        "np.log1p({0} * {0})",
        "np.sqrt(1 + {0} * {0})",
        "-{}",
        "np.sum({})",
    ),
    binary=("({} + {})", "({} - {})", "({} * {})", "({} / (2 + np.cos({})))"),
    bounded=("np.tanh({})", "np.sin({})", "np.cos({})", "np.arctan({})"),
    factors=("*= np.cos({})", "*= 0.5 + np.tanh({})", "/= 2 + np.sin({})"),
    ranges=("2", "3", "int(1.5 + np.tanh(np.sum({})))"),
    scalar=("np.sum({})", "np.mean({})"),
    result="np.sum({} + acc * h - g)",
    copies=False,
)


# ------------------------------------------------------------ generator


@dataclass
class Scope:
    """What the code at one point of the program may use."""

    floats: List[str]  # defined on every path that reaches here
    integers: List[str]
    depth: int = 0  # how many compound statements enclose this point
    in_loop: bool = False

    def nested(self, loop_counter=None):
        integers = self.integers + ([loop_counter] if loop_counter else [])
        return Scope(
            list(self.floats), integers, self.depth + 1, self.in_loop or bool(loop_counter)
        )


class ProgramBuilder:
    """Draws one program statement by statement; every name is defined before use."""

    def __init__(self, draw, dialect: Dialect, max_depth: int, budget: int):
        self.draw = draw
        self.dialect = dialect
        self.max_depth = max_depth
        self.budget = budget  # statements left to write
        self.temporaries = itertools.count()

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent

    # expressions

    def leaf(self, scope: Scope, integers: bool = True) -> str:
        names = scope.floats + list(self.dialect.inputs)
        kind = self.draw(st.integers(0, 9))
        if kind < 7:
            return self.pick(names)
        if kind < 9 or not (integers and scope.integers):
            return self.pick(self.dialect.constants)
        return f"(0.5 * {self.pick(scope.integers)})"

    def expression(self, scope: Scope, size: int = 3, integers: bool = True) -> str:
        """A float (or array) expression with at most `size` leaves."""
        kind = self.draw(st.integers(0, 9)) if size > 1 else 0
        if kind < 3:
            return self.leaf(scope, integers)
        if kind < 6:
            return self.pick(self.dialect.unary).format(self.expression(scope, size - 1, integers))
        if kind < 9:
            left = self.expression(scope, size // 2, integers)
            right = self.expression(scope, size - size // 2, integers)
            return self.pick(self.dialect.binary).format(left, right)
        then = self.expression(scope, size // 2, integers)
        orelse = self.expression(scope, size - size // 2, integers)
        return f"({then} if {self.condition(scope, 1)} else {orelse})"

    def bounded(self, scope: Scope) -> str:
        """An expression bounded by e whatever its operand: what assignments store."""
        return self.pick(self.dialect.bounded).format(self.expression(scope))

    def comparable(self, scope: Scope) -> str:
        return self.pick(self.dialect.scalar).format(self.expression(scope, 2))

    def condition(self, scope: Scope, size: int = 2) -> str:
        kind = self.draw(st.integers(0, 9)) if size > 1 else 0
        if kind < 4:
            op = self.pick([">", "<", ">=", "<="])
            return f"{self.comparable(scope)} {op} {self.comparable(scope)}"
        if kind < 5:
            return f"{self.comparable(scope)} < {self.comparable(scope)} <= 1.0"
        if kind < 6 and scope.integers:
            return f"{self.pick(scope.integers)} {self.pick(['>', '==', '!='])} 1"
        if kind < 8:
            op = self.pick(["and", "or"])
            return f"({self.condition(scope, 1)} {op} {self.condition(scope, 1)})"
        return f"not {self.condition(scope, 1)}"

    # statements

    def block(self, scope: Scope, first: str = "") -> Tuple[List[str], List[str]]:
        """Indented lines of a block, and the new floats it defines on every path."""
        defined_before = list(scope.floats)
        lines = [first] if first else []
        for _ in range(self.draw(st.integers(1, 3))):
            if self.budget <= 0:
                break
            lines += self.statement(scope)
        if not lines:
            lines.append(self.assignment(scope))
        new = [name for name in scope.floats if name not in defined_before]
        return ["    " + line for line in lines], new

    def statement(self, scope: Scope) -> List[str]:
        self.budget -= 1
        compound = scope.depth < self.max_depth and self.budget > 0
        kind = self.draw(st.integers(0, 9))
        if kind < 4 or not compound and not (kind == 9 and scope.in_loop):
            return [self.assignment(scope)]
        if kind < 6:
            return self.if_statement(scope)
        if kind < 8:
            return self.for_loop(scope)
        if kind < 9 or not scope.in_loop:
            return self.while_loop(scope)
        return self.jump(scope)

    def assignment(self, scope: Scope) -> str:
        kind = self.draw(st.integers(0, 9))
        target = self.pick(self.dialect.targets)
        if kind < 2:
            name = f"t{next(self.temporaries)}"
            line = f"{name} = {self.bounded(scope)}"
            scope.floats.append(name)
            return line
        if kind < 4:
            return f"{target} = {self.bounded(scope)}"
        if kind < 5:
            return f"{target} = 0.5 * {target} + {self.bounded(scope)}"
        if kind < 7:
            return f"{target} {self.pick(['+=', '-='])} {self.bounded(scope)}"
        if kind < 9:
            return f"{target} {self.pick(self.dialect.factors).format(self.expression(scope))}"
        if self.dialect.copies:
            return f"{target} = {self.pick(scope.floats + list(self.dialect.inputs))}"
        return f"{target} = {self.pick(self.dialect.bounded).format(target)}"

    def if_statement(self, scope: Scope) -> List[str]:
        lines = [f"if {self.condition(scope)}:"]
        body, defined = self.block(scope.nested())
        lines += body
        for _ in range(self.draw(st.integers(0, 1))):
            lines.append(f"elif {self.condition(scope)}:")
            body, also = self.block(scope.nested())
            lines += body
            defined = [name for name in defined if name in also]
        if self.chance(50):
            lines.append("else:")
            body, also = self.block(scope.nested())
            lines += body
            scope.floats += [name for name in defined if name in also]
        return lines

    def loop_counter(self, scope: Scope, letter: str) -> str:
        return f"{letter}{scope.depth}"

    def for_loop(self, scope: Scope) -> List[str]:
        counter = self.loop_counter(scope, "i")
        bound = self.pick(self.dialect.ranges).format(self.expression(scope, 2, integers=False))
        body, _ = self.block(scope.nested(counter))
        return [f"for {counter} in range({bound}):"] + body

    def while_loop(self, scope: Scope) -> List[str]:
        """A while loop that stops after at most 3 trips whatever its condition does."""
        counter = self.loop_counter(scope, "j")
        limit = self.draw(st.integers(1, 3))
        test = f"{counter} < {limit} and {self.condition(scope)}"
        # The counter goes up first, so that a `continue` cannot skip it.
        body, _ = self.block(scope.nested(counter), first=f"{counter} += 1")
        return [f"{counter} = 0", f"while {test}:"] + body

    def jump(self, scope: Scope) -> List[str]:
        lines = [f"if {self.condition(scope)}:"]
        if self.chance(30):
            lines.append("    " + self.assignment(scope.nested()))
        return lines + ["    " + self.pick(["break", "continue"])]

    # the whole function

    def function(self) -> str:
        scope = Scope(list(self.dialect.pool), list(self.dialect.integers))
        lines = []
        while self.budget > 0:
            lines += self.statement(scope)
        result = self.dialect.result.format(self.expression(scope, 4, integers=False))
        body = "\n".join("    " + line for line in [*self.dialect.setup, *lines])
        return (
            "import math\n\nimport numpy as np\n\n\n"
            f"def f({self.dialect.signature}):\n{body}\n    return {result}\n"
        )


@st.composite
def programs(draw, dialect, max_depth=2, max_statements=8):
    """The source of a module defining `f`, in the given dialect."""
    budget = draw(st.integers(1, max_statements))
    return ProgramBuilder(draw, dialect, max_depth, budget).function()


# ------------------------------------------------------------ running programs


def finite_differences(source, args, positions):
    """Central differences of `f` at two step sizes, or None when not smooth here
    (`branch_paths.path_differences`; the reason becomes a Hypothesis event)."""
    gradients, why = path_differences(source, args, positions)
    if gradients is None:
        event(f"finite differences skipped: {why}")
    return gradients


# ------------------------------------------------------------ the checks


def unit_tangents(args, position):
    """`ad.jvp` tangent tuples, one per component of `args[position]`, with its index."""
    shape = np.shape(args[position])
    for index in np.ndindex(shape):
        direction = np.zeros(shape)
        direction[index] = 1.0
        tangent = direction if shape else 1.0
        yield index, tuple(tangent if j == position else None for j in range(len(args)))


def check_forward_against_reverse(f, source, args, positions, grad):
    for k, position in enumerate(positions):
        for index, tangents in unit_tangents(args, position):
            _, column = ad.jvp(f, args, tangents)
            np.testing.assert_allclose(
                column,
                np.asarray(grad[k])[index],
                rtol=1e-9,
                atol=1e-12,
                err_msg=f"jvp column {index} of argument {position} != reverse gradient\n{source}",
            )


def check_primal_outputs(f, source, args, positions, expected):
    """Every transform returns exactly f(*args) as its primal output."""
    tangents = next(unit_tangents(args, positions[0]))[1]
    outputs = {
        "jvp": ad.jvp(f, args, tangents)[0],
        "value_and_grad": ad.value_and_grad(f, wrt=tuple(positions))(*args)[0],
        "vjp": ad.vjp(f, *args, wrt=tuple(positions))[0],
    }
    for name, out in outputs.items():
        assert out == expected, f"{name} returns {out!r}, f returns {expected!r}\n{source}"


def check_gradient_types(source, args, grad):
    for value, g in zip(args, grad):
        if isinstance(value, np.ndarray):
            assert (g.shape, g.dtype) == (value.shape, value.dtype), source
        else:
            assert isinstance(g, float), f"gradient {g!r} of a float is not a float\n{source}"


def check_pullback(f, source, args, positions, grad):
    """value_and_grad and a pullback called several times give the gradient."""
    _, grad_again = ad.value_and_grad(f, wrt=tuple(positions))(*args)
    np.testing.assert_allclose(grad_again, grad, rtol=1e-9, atol=1e-12, err_msg=source)
    _, pullback = ad.vjp(f, *args, wrt=tuple(positions))
    first, doubled, again = pullback(1.0), pullback(2.0), pullback(1.0)
    for a, b, c, g in zip(first, doubled, again, grad):
        np.testing.assert_array_equal(a, c, err_msg=f"pullback changed between calls\n{source}")
        np.testing.assert_allclose(b, 2 * a, rtol=1e-12, atol=1e-12, err_msg=source)
        np.testing.assert_allclose(a, g, rtol=1e-9, atol=1e-12, err_msg=source)


def check_finite_differences(source, args, positions, grad):
    numeric = finite_differences(source, args, positions)
    if numeric is None:
        return
    for position, ours, fd in zip(positions, grad, numeric):
        np.testing.assert_allclose(
            ours,
            fd,
            rtol=1e-5,
            atol=1e-6,
            err_msg=f"gradient wrt argument {position} != finite differences\n{source}",
        )


def check_program(source, args, positions):
    """All transforms of `f` agree with each other, with f, and with finite differences."""
    note(source)
    f = import_source(source, _MODULES).f
    expected = f(*args)
    originals = [np.copy(a) for a in args]

    grad = ad.grad(f, wrt=tuple(positions))(*args)
    check_gradient_types(source, [args[i] for i in positions], grad)
    check_forward_against_reverse(f, source, args, positions, grad)
    check_primal_outputs(f, source, args, positions, expected)
    check_pullback(f, source, args, positions, grad)
    for a, original in zip(args, originals):
        np.testing.assert_array_equal(a, original, err_msg=f"an argument was changed\n{source}")
    check_finite_differences(source, args, positions, grad)
    if SECOND_ORDER:
        check_second_order(f, source, args, positions)


def check_second_order(f, source, args, positions):
    """``hvp`` (forward over the emitted gradient) against differences of the gradient."""
    rng = np.random.default_rng(len(source))
    direction = [
        rng.standard_normal(np.shape(a)) if p in positions else np.zeros(np.shape(a))
        for p, a in enumerate(args)
    ]
    wrt = tuple(positions)
    ours = ad.hvp(f, wrt=wrt)(*args, tuple(direction[p] for p in positions))
    gradient = ad.grad(f, wrt=wrt)
    expected, why = hvp_differences(source, gradient, args, direction)
    if expected is None:
        event(f"second order skipped: {why}")
        return
    ours = np.concatenate([np.ravel(o) for o in ours])
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(
        ours, expected, rtol=1e-5, atol=1e-6 * scale, err_msg=f"hvp != differences\n{source}"
    )


# ------------------------------------------------------------ tests

coordinate = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
small_int = st.integers(0, 3)
vector = st.lists(coordinate, min_size=3, max_size=3).map(np.array)

CONTROL_FLOW_EXAMPLE = """\
import math


def f(x, y, z, n):
    a = x
    b = y
    da = z
    for i0 in range(n):
        if a > b:
            a += math.sin(b * da)
        elif a < 0.5 * i0 < b or not da > 0:
            t0 = math.tanh(a)
            b *= math.cos(t0)
            continue
        else:
            da = (a if b > 0 else math.exp(math.sin(b)))
        j1 = 0
        while j1 < 3 and abs(da) < 2.0:
            j1 += 1
            da -= math.atan(a * da)
            if da < -0.5:
                break
    return a * b + da
"""

ARRAY_EXAMPLE = """\
import numpy as np


def f(x, w):
    acc = x + 0.0
    for i0 in range(3):
        acc = acc + np.tanh(w * acc)
        if np.sum(acc * w) > 0:
            acc *= np.cos(x)
        else:
            acc /= 2 + np.sin(w)
    return np.sum(acc * acc)
"""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(SCALAR), xyz=st.tuples(coordinate, coordinate, coordinate), n=small_int)
@example(source=CONTROL_FLOW_EXAMPLE, xyz=(0.3, -0.7, 1.1), n=3)
def test_random_scalar_programs_with_control_flow(source, xyz, n):
    check_program(source, (*xyz, n), [0, 1, 2])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(ARRAY), x=vector, w=vector)
@example(source=ARRAY_EXAMPLE, x=np.array([0.3, -0.7, 1.1]), w=np.array([1.0, 0.5, -0.2]))
def test_random_array_programs_with_control_flow(source, x, w):
    check_program(source, (x, w), [0, 1])


@pytest.mark.parametrize("dialect", [SCALAR, ARRAY], ids=["scalar", "array"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_generated_programs_run_in_plain_python(dialect, data):
    """The generator's own contract: programs run and return a finite number."""
    source = data.draw(programs(dialect))
    if dialect is SCALAR:
        args = (*data.draw(st.tuples(coordinate, coordinate, coordinate)), data.draw(small_int))
    else:
        args = (data.draw(vector), data.draw(vector))
    value, _ = path_recording(source)(*args)
    assert math.isfinite(value), source
