"""The differential fuzzer (issue 16): random NumPy programs, every transform, one oracle.

``programs()`` is a Hypothesis strategy for the source of a module defining
``f(x, w, s)`` (``x`` a vector of 3, ``w`` a 2 x 3 matrix, ``s`` a float) and the module-level
helpers it calls.  The programs are built from the constructs the issue lists, each by a
name in `CONSTRUCTS`:

========================  ===========================================================
``element_write``         ``m[1] = np.sin(a)``, ``u[i0] *= np.cos(c)``
``slice_write``           ``m[1:] *= s``, ``u[::2] += 0.5 * m[::2]``, ``m[:2] = np.sin(m[:2])``
``view_write``            ``v0 = m[1:]`` then ``v0 *= s`` (the write changes ``m``)
``alias_write``           ``b0 = m`` then ``b0[0] = ...``
``argument_write``        ``x[1:] *= s``, ``w[0] = ...``: writes into the caller's arrays
``rebound_loop``          ``for v0 in m:`` whose body rebinds ``m``
``matrix_rows``           ``for r0 in w:``
``tuple_loop``            ``for e0 in (s, 0.5):``, nested too
``range_loop``            ``for i0 in range(2):`` (``i0`` indexes the vectors)
``branch``                ``if``/``elif``/``else``
``one_sided_branch``      ``if`` without ``else``
``early_return``          ``if ...: return ...`` (in loops too), assign on one side and
                          return on the other, ``break``
``helper``                module-level helpers called in expressions (so in branches
                          and loops)
``helper_ignoring``       helpers that ignore their argument
``dead_write``            writes into an array nothing reads
``scalar_list``           ``np.sum([1.0, a * a, c])``, ``np.mean``, ``np.std`` of lists
========================  ===========================================================

Values stay where the derivatives are smooth (bounded functions, factors near 1), and
`path_differences` only takes finite differences where the whole stencil took one path.

``check_program(source, args)`` runs every transform of ``f`` against one oracle and
returns an `Outcome`: ``ok``; ``refused`` (a `TransformError`: a clear refusal, fine);
``skipped`` (finite differences say nothing at this point: a branch boundary is within a
step); ``wrong`` (a transform's value disagrees with the oracle, or a caller's array
changed); ``crashed`` (any other exception).  The fuzzing test and ``tools/fuzz.py`` share
it.

Restrict the constructs with ``S2S_AD_FUZZ`` (``constructs_from_environment``): a comma
list of names keeps only those; ``-name`` items drop names from the full set.  Plain
helpers only: pytest does not collect this module.
"""

from __future__ import annotations

import itertools
import os
import re
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

import numpy as np
from hypothesis import strategies as st

import s2s_ad as ad

from branch_paths import hvp_differences, path_differences
from conftest import SECOND_ORDER
from control_harness import Oracle, assert_close, flatten, fresh, like

CONSTRUCTS: Tuple[str, ...] = (
    "element_write",
    "slice_write",
    "view_write",
    "alias_write",
    "argument_write",
    "rebound_loop",
    "matrix_rows",
    "tuple_loop",
    "range_loop",
    "branch",
    "one_sided_branch",
    "early_return",
    "helper",
    "helper_ignoring",
    "helper_function",
    "function_loop",
    "dead_write",
    "scalar_list",
)

WRT = (0, 1, 2)  # f(x, w, s): every argument is differentiated


def constructs_from_environment(variable: str = "S2S_AD_FUZZ") -> FrozenSet[str]:
    """The constructs named by the environment variable (all of them when it is unset).

    >>> os.environ["S2S_AD_FUZZ_DOCTEST"] = "-helper,-helper_ignoring"
    >>> sorted(set(CONSTRUCTS) - constructs_from_environment("S2S_AD_FUZZ_DOCTEST"))
    ['helper', 'helper_ignoring']
    >>> os.environ["S2S_AD_FUZZ_DOCTEST"] = "slice_write, range_loop"
    >>> sorted(constructs_from_environment("S2S_AD_FUZZ_DOCTEST"))
    ['range_loop', 'slice_write']
    """
    return parse_constructs(os.environ.get(variable, ""))


def parse_constructs(text: str) -> FrozenSet[str]:
    """``"a,b"`` keeps constructs a and b, ``"-a"`` drops a from all, ``""`` is all."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = {item.lstrip("-") for item in items} - set(CONSTRUCTS)
    if unknown:
        raise ValueError(f"unknown constructs {sorted(unknown)}; choose from {CONSTRUCTS}")
    kept = [item for item in items if not item.startswith("-")]
    chosen = set(kept) if kept else set(CONSTRUCTS)
    return frozenset(chosen - {item[1:] for item in items if item.startswith("-")})


# ------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class Helper:
    """A module-level function the program may call; ``kinds``: what it takes and returns."""

    source: str
    kinds: Tuple[str, ...]  # "scalar" and/or "vector": argument and result alike
    construct: str  # the construct that enables it
    takes_function: bool = False  # called as `h(g, v)` with a function `g` of one value


HELPERS: Dict[str, Helper] = {
    "h_sin": Helper("def h_sin(v):\n    return 1.5 * np.sin(v)\n", ("scalar", "vector"), "helper"),
    "h_poly": Helper(
        "def h_poly(v):\n    t = v * 0.5\n    return t * t + np.tanh(v)\n",
        ("scalar", "vector"),
        "helper",
    ),
    "h_branch": Helper(
        "def h_branch(v):\n    if np.sum(v) > 0.25:\n        return np.cos(v)\n"
        "    return v * 0.5\n",
        ("scalar", "vector"),
        "helper",
    ),
    "h_rows": Helper(
        "def h_rows(v):\n    r = v * 1.0\n    r[1:] *= 0.5\n    return np.sin(r)\n",
        ("vector",),
        "helper",
    ),
    "h_const": Helper("def h_const(v):\n    return 0.5\n", ("scalar",), "helper_ignoring"),
    "h_ones": Helper(
        "def h_ones(v):\n    return np.ones(3) * 0.25\n", ("vector",), "helper_ignoring"
    ),
    # a function passed in: a NumPy function, a module-level helper, or a lambda that
    # captures a differentiated value
    "h_apply": Helper(
        "def h_apply(g, v):\n    return g(v) * 0.5 + v * 0.25\n",
        ("scalar", "vector"),
        "helper_function",
        takes_function=True,
    ),
    "h_twice": Helper(
        "def h_twice(g, v):\n    return g(g(v))\n",
        ("scalar", "vector"),
        "helper_function",
        takes_function=True,
    ),
}
# The functions a helper that takes one is given; {} is a scalar expression to capture.
FUNCTION_ARGUMENTS = ("np.sin", "np.tanh", "lambda t: np.cos(t) * {}", "lambda t: t * t * 0.5")

SLICES = ("1:", ":2", "::2", "1:3", ":", "-2:")
SCALAR_UNARY = (
    "np.sin({})",
    "np.cos({})",
    "np.tanh({})",
    "np.exp(np.sin({}))",
    "np.sqrt(1.0 + {0} * {0})",
    "-{}",
)
BINARY = ("({} + {})", "({} - {})", "({} * {})", "({} / (2.0 + np.cos({})))")
BOUNDED = ("np.tanh({})", "np.sin({})", "np.cos({})", "np.arctan({})")
FACTORS = ("s", "np.cos({})", "(0.5 + 0.25 * np.tanh({}))")


# ------------------------------------------------------------------ generator


@dataclass
class Scope:
    """What code at one point of the program may read (defined on every path to it)."""

    scalars: List[str]
    vectors: List[str]  # read-only ones (rows of w) included
    indices: List[str]  # loop counters in 0..2
    depth: int = 0
    in_loop: bool = False
    unrolled: bool = False  # in a loop over functions: no `return`, `break` or `continue`

    def nested(self, scalars=(), vectors=(), indices=(), loop=False, unrolled=False) -> Scope:
        return Scope(
            self.scalars + list(scalars),
            self.vectors + list(vectors),
            self.indices + list(indices),
            self.depth + 1,
            (self.in_loop or loop) and not unrolled,
            self.unrolled or unrolled,
        )


class ProgramWriter:
    """Draws one program statement by statement from the enabled constructs."""

    # constructs that are one statement (or two), and those that hold a block
    SIMPLE = ("element_write", "slice_write", "view_write", "alias_write", "argument_write")
    SIMPLE += ("dead_write", "early_return")
    COMPOUND = ("rebound_loop", "matrix_rows", "tuple_loop", "range_loop", "branch")
    COMPOUND += ("one_sided_branch", "function_loop")

    def __init__(self, draw, constructs: FrozenSet[str], max_depth: int, budget: int):
        self.draw = draw
        self.constructs = constructs
        self.max_depth = max_depth
        self.budget = budget
        self.numbers = itertools.count()

    def pick(self, options: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(list(options)))

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent

    def has(self, construct: str) -> bool:
        return construct in self.constructs

    def fresh_name(self, prefix: str) -> str:
        return f"{prefix}{next(self.numbers)}"

    # expressions

    def index(self, scope: Scope) -> str:
        return self.pick(scope.indices + ["0", "1", "2", "-1"])

    def helper(self, kind: str) -> Optional[str]:
        names = [n for n, h in HELPERS.items() if kind in h.kinds and self.has(h.construct)]
        if not names or not self.chance(25):
            return None
        return self.pick(names)

    def helper_call(self, name: str, scope: Scope, argument: str) -> str:
        if not HELPERS[name].takes_function:
            return f"{name}({argument})"
        function = self.pick(FUNCTION_ARGUMENTS).format(self.pick(scope.scalars + ["s"]))
        if "h_sin" in HELPERS and self.has("helper") and self.chance(20):
            function = "h_sin"
        return f"{name}({function}, {argument})"

    def scalar(self, scope: Scope, size: int = 3) -> str:
        """A float expression with about ``size`` leaves."""
        kind = self.draw(st.integers(0, 11)) if size > 1 else self.draw(st.integers(0, 2))
        if kind < 2:
            return self.pick(scope.scalars + ["s", "0.5", "1.5", "-1.0"])
        if kind < 3:
            return f"{self.pick(scope.vectors)}[{self.index(scope)}]"
        if kind < 5:
            return self.pick(SCALAR_UNARY).format(self.scalar(scope, size - 1))
        if kind < 7:
            left, right = self.scalar(scope, size // 2), self.scalar(scope, size - size // 2)
            return self.pick(BINARY).format(left, right)
        if kind < 8:
            return f"{self.pick(['np.sum', 'np.mean'])}({self.vector(scope, size - 1)})"
        if kind < 9 and self.has("scalar_list"):
            a, b = self.scalar(scope, 1), self.scalar(scope, 1)
            return self.pick(
                (
                    f"np.sum([1.0, {a} * {a}, {b}])",
                    f"np.mean([{a}, {b} + 2.0])",
                    f"np.std([{a}, {a} + 2.0 + {b} * {b}])",
                    f"np.sum([{a}, 0.5])",
                )
            )
        name = self.helper("scalar")
        if name:
            return self.helper_call(name, scope, self.scalar(scope, size - 1))
        return self.pick(BOUNDED).format(self.scalar(scope, size - 1))

    def vector(self, scope: Scope, size: int = 3) -> str:
        """A vector (3,) expression with about ``size`` leaves."""
        kind = self.draw(st.integers(0, 9)) if size > 1 else 0
        if kind < 3:
            return self.pick(scope.vectors + ["w[0]", "w[1]"])
        if kind < 5:
            return self.pick(SCALAR_UNARY).format(self.vector(scope, size - 1))
        if kind < 7:
            left, right = self.vector(scope, size // 2), self.vector(scope, size - size // 2)
            return self.pick(BINARY).format(left, right)
        if kind < 8:
            return f"({self.vector(scope, size - 1)} * {self.scalar(scope, 1)})"
        name = self.helper("vector")
        if name:
            return self.helper_call(name, scope, self.vector(scope, size - 1))
        return self.pick(BOUNDED).format(self.vector(scope, size - 1))

    def factor(self, scope: Scope) -> str:
        """A multiplier near 1 in size (repeated in loops, it cannot blow up)."""
        return self.pick(FACTORS).format(self.scalar(scope, 2))

    def condition(self, scope: Scope) -> str:
        kind = self.draw(st.integers(0, 3))
        op = self.pick(["<", ">", "<=", ">="])
        if kind == 0:
            return f"np.sum({self.vector(scope, 2)}) {op} {self.scalar(scope, 1)}"
        if kind == 1:
            return f"{self.pick(scope.vectors)}[{self.index(scope)}] {op} {self.scalar(scope, 1)}"
        if kind == 2:
            return f"{self.pick(scope.scalars + ['s'])} {op} {self.pick(['0.0', '0.5', '-0.5'])}"
        return f"{self.scalar(scope, 2)} {op} {self.scalar(scope, 2)}"

    def result(self, scope: Scope) -> str:
        """The returned expression: reads every local of the pool and a random expression."""
        return f"np.sum(m * u) + a * c + {self.scalar(scope, 2)}"

    # statements

    def statements(self, scope: Scope, count: int) -> List[str]:
        lines: List[str] = []
        for _ in range(count):
            if self.budget <= 0:
                break
            lines += self.statement(scope)
        return lines

    def block(self, scope: Scope, first: Sequence[str] = ()) -> List[str]:
        """The indented lines of a nested block (never empty)."""
        lines = list(first) + self.statements(scope, self.draw(st.integers(1, 3)))
        if len(lines) == len(first):
            lines += self.assignment(scope)
        return ["    " + line for line in lines]

    def statement(self, scope: Scope) -> List[str]:
        self.budget -= 1
        compound = scope.depth < self.max_depth and self.budget > 0
        kinds = ["assignment"] * 3 + [c for c in CONSTRUCTS if self.has(c) and c in self.SIMPLE]
        if scope.unrolled:
            kinds = [kind for kind in kinds if kind != "early_return"]
        if compound:
            kinds += [c for c in CONSTRUCTS if self.has(c) and c in self.COMPOUND]
        if scope.in_loop and self.has("early_return"):
            kinds.append("loop_exit")
        kind = self.pick(kinds)
        return getattr(self, kind)(scope)

    def assignment(self, scope: Scope) -> List[str]:
        kind = self.draw(st.integers(0, 6))
        scalar_target = self.pick(["a", "c"])
        vector_target = self.pick(["m", "u"])
        if kind == 0:
            name = self.fresh_name("t")
            line = f"{name} = {self.pick(BOUNDED).format(self.scalar(scope))}"
            scope.scalars.append(name)
            return [line]
        if kind == 1:
            return [f"{scalar_target} = 0.5 * {scalar_target} + {self.bounded_scalar(scope)}"]
        if kind == 2:
            return [f"{scalar_target} {self.pick(['+=', '-='])} {self.bounded_scalar(scope)}"]
        if kind == 3:
            return [f"{scalar_target} *= {self.factor(scope)}"]
        if kind == 4:
            return [f"{vector_target} = 0.5 * {vector_target} + {self.bounded_vector(scope)}"]
        if kind == 5:
            return [f"{vector_target} {self.pick(['+=', '-='])} {self.bounded_vector(scope)}"]
        return [f"{vector_target} = {self.bounded_vector(scope)}"]

    def bounded_scalar(self, scope: Scope) -> str:
        return self.pick(BOUNDED).format(self.scalar(scope))

    def bounded_vector(self, scope: Scope) -> str:
        return self.pick(BOUNDED).format(self.vector(scope))

    def write(self, target: str, scope: Scope) -> str:
        """One element or slice write into the array ``target`` (as the constructs allow)."""
        forms = []
        if self.has("element_write") or not self.has("slice_write"):
            i = self.index(scope)
            forms += [
                f"{target}[{i}] = {self.bounded_scalar(scope)}",
                f"{target}[{i}] *= {self.factor(scope)}",
                f"{target}[{i}] += {self.bounded_scalar(scope)}",
            ]
        if self.has("slice_write"):
            sl = self.pick(SLICES)
            other = self.pick(scope.vectors)
            forms += [
                f"{target}[{sl}] *= {self.factor(scope)}",
                f"{target}[{sl}] = np.sin({target}[{sl}])",
                f"{target}[{sl}] += 0.5 * {other}[{sl}]",
                f"{target}[{sl}] -= {self.bounded_scalar(scope)}",
            ]
        return self.pick(forms)

    def element_write(self, scope: Scope) -> List[str]:
        return [self.write(self.pick(["m", "u"]), scope)]

    slice_write = element_write

    def view_write(self, scope: Scope) -> List[str]:
        view = self.fresh_name("v")
        base = self.pick(["m", "u"] + (["x"] if self.has("argument_write") else []))
        update = self.pick(
            [
                f"{view} *= {self.factor(scope)}",
                f"{view}[0] = {self.bounded_scalar(scope)}",
                f"{view} += {self.bounded_scalar(scope)}",
            ]
        )
        return [f"{view} = {base}[{self.pick(SLICES)}]", update]

    def alias_write(self, scope: Scope) -> List[str]:
        alias = self.fresh_name("b")
        base = self.pick(["m", "u"] + (["x"] if self.has("argument_write") else []))
        update = self.pick([self.write(alias, scope), f"{alias} *= {self.factor(scope)}"])
        return [f"{alias} = {base}", update]

    def argument_write(self, scope: Scope) -> List[str]:
        if self.chance(70):
            return [self.write("x", scope)]
        row = self.pick(["0", "1", ":, 1", "1, ::2"])
        return [self.pick([f"w[{row}] *= {self.factor(scope)}", f"w[{row}] = np.sin(w[{row}])"])]

    def dead_write(self, scope: Scope) -> List[str]:
        name = self.fresh_name("d")
        start = self.pick([f"{self.pick(scope.vectors)} * 2.0", "np.zeros(3)"])
        return [f"{name} = {start}", self.write(name, scope)]

    def early_return(self, scope: Scope) -> List[str]:
        return [f"if {self.condition(scope)}:", f"    return {self.result(scope)}"]

    def loop_exit(self, scope: Scope) -> List[str]:
        return [f"if {self.condition(scope)}:", f"    {self.pick(['break', 'return 0.5 * a'])}"]

    def rebound_loop(self, scope: Scope) -> List[str]:
        item = self.fresh_name("e")
        over = self.pick(["m", "u", "x"])
        inner = scope.nested(scalars=[item], loop=True)
        rebind = f"{over} = {over} * 0.5 + {self.bounded_scalar(inner)}"
        body = self.block(inner, first=[f"a = a + {item} * {self.pick(['c', 's', '0.5'])}"])
        # right after the first line or at the end: both between statements of the body
        body.insert(self.pick([1, len(body)]), "    " + rebind)
        return [f"for {item} in {over}:"] + body

    def matrix_rows(self, scope: Scope) -> List[str]:
        row = self.fresh_name("r")
        inner = scope.nested(vectors=[row], loop=True)
        first = self.pick(
            [
                f"a = a + {row}[0] * c",
                f"m = m + np.tanh({row})",
                f"c = c + np.sum({row} * m) * 0.25",
            ]
        )
        return [f"for {row} in w:"] + self.block(inner, first=[first])

    def tuple_loop(self, scope: Scope) -> List[str]:
        item = self.fresh_name("e")
        items = f"({self.pick(scope.scalars + ['s'])}, 0.5)"
        return [f"for {item} in {items}:"] + self.block(scope.nested(scalars=[item], loop=True))

    def function_loop(self, scope: Scope) -> List[str]:
        """A loop over a tuple of functions (unrolled by s2s_ad): NumPy functions, helpers
        and lambdas that read a variable the loop's body may rebind (late binding)."""
        name = self.fresh_name("g")
        functions = [
            self.pick(FUNCTION_ARGUMENTS).format(self.pick(scope.scalars + ["s"])) for _ in "ab"
        ]
        if "h_sin" in HELPERS and self.has("helper") and self.chance(30):
            functions[1] = "h_sin"
        first = self.pick(
            [
                f"a = a + np.sum({name}(m)) * 0.25",
                f"m = 0.5 * m + {name}(m) * 0.25",
                f"c = c + {name}(a) * 0.5",
            ]
        )
        inner = scope.nested(unrolled=True)  # jumps in it are refused
        return [f"for {name} in ({functions[0]}, {functions[1]}):"] + self.block(inner, [first])

    def range_loop(self, scope: Scope) -> List[str]:
        counter = self.fresh_name("i")
        bound = self.pick(["2", "3", "1, 3"])
        inner = scope.nested(indices=[counter], loop=True)
        return [f"for {counter} in range({bound}):"] + self.block(inner)

    def branch(self, scope: Scope) -> List[str]:
        lines = [f"if {self.condition(scope)}:"] + self.block(scope.nested())
        if self.chance(30):
            lines += [f"elif {self.condition(scope)}:"] + self.block(scope.nested())
        return lines + ["else:"] + self.block(scope.nested())

    def one_sided_branch(self, scope: Scope) -> List[str]:
        if self.has("early_return") and not scope.unrolled and self.chance(40):
            name = self.fresh_name("k")
            lines = [f"if {self.condition(scope)}:", f"    {name} = {self.bounded_scalar(scope)}"]
            lines += ["else:", f"    return {self.result(scope)}"]
            scope.scalars.append(name)  # defined on every path that goes on
            return lines
        return [f"if {self.condition(scope)}:"] + self.block(scope.nested())

    # the module

    def module(self) -> str:
        scope = Scope(["a", "c"], ["m", "u", "x"], [])
        setup = ["m = x + 0.0", "u = np.tanh(w[0])", "a = s * 1.0", "c = np.sum(x) * 0.5"]
        body = setup + self.statements(scope, 10_000)
        body.append(f"return {self.result(scope)}")
        lines = "\n".join("    " + line for line in body)
        # drawn, not all kept; called, or passed to one that calls it
        called = [name for name in HELPERS if re.search(rf"\b{name}\b", lines)]
        helpers = "".join(f"\n\n{HELPERS[name].source}" for name in called)
        return f"import numpy as np\n{helpers}\n\ndef f(x, w, s):\n{lines}\n"


@st.composite
def programs(
    draw, constructs: FrozenSet[str] = frozenset(CONSTRUCTS), max_statements=6, max_depth=2
):
    """The source of a module defining ``f(x, w, s)``, built from ``constructs``."""
    budget = draw(st.integers(1, max_statements))
    return ProgramWriter(draw, frozenset(constructs), max_depth, budget).module()


# rounded to 3 decimals: readable failing examples, no denormals
coordinate = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3))


@st.composite
def arguments(draw) -> Tuple[np.ndarray, np.ndarray, float]:
    """``(x, w, s)``: a vector of 3, a 2 x 3 matrix and a float, entries in [-1.5, 1.5]."""
    x = np.array(draw(st.lists(coordinate, min_size=3, max_size=3)))
    w = np.array(draw(st.lists(coordinate, min_size=6, max_size=6))).reshape(2, 3)
    return x, w, draw(coordinate)


# ------------------------------------------------------------------ the oracle


class NotSmoothHere(Exception):
    """Finite differences say nothing at this point (a branch boundary within a step)."""


class DifferentialOracle(Oracle):
    """The control-flow tests' `Oracle` with a stricter contract and more transforms.

    Finite differences only where the stencil stays on one path (else `NotSmoothHere`);
    the caller's arrays must be exactly as they were after every transform; and on top of
    grad, value_and_grad, vjp (pullback called three times) and jvp: the unoptimized
    emission and ``hvp`` against central differences of the gradient.
    """

    strict_arguments = True

    def __init__(self, f: Callable, source: str, args: Sequence[Any]):
        self.source = source
        self.differences: Optional[List[Any]] = None
        super().__init__(f, args, wrt=WRT)

    def numeric_jacobian(self, p: int) -> np.ndarray:
        if self.differences is None:
            self.differences, why = path_differences(self.source, self.args, self.positions)
            if self.differences is None:
                raise NotSmoothHere(why)
        return flatten(self.differences[self.positions.index(p)]).reshape(1, -1)

    def unoptimized(self) -> None:
        """``optimize=False`` agrees with the oracle and, to rounding, with the optimized code."""
        call = fresh(self.args)
        plain = ad.grad(self.f, wrt=WRT, optimize=False)(*call)
        self.check_arguments(call, "grad(optimize=False)")
        optimized = ad.grad(self.f, wrt=WRT)(*fresh(self.args))
        for p, g, o in zip(self.positions, plain, optimized):
            self.check_gradient(g, p, np.ones(1), f"grad(optimize=False) wrt argument {p}")
            assert_close(flatten(g), flatten(o), True, self.scale, "optimized != unoptimized grad")
        call = fresh(self.args)
        _, pullback = ad.vjp(self.f, *call, wrt=WRT, optimize=False)
        for k, cotangent in enumerate((1.0, -2.5, 1.0)):
            for p, g in zip(self.positions, pullback(cotangent)):
                what = f"vjp(optimize=False) pullback call {k + 1}, argument {p}"
                self.check_gradient(g, p, np.array([cotangent]), what)
        self.check_arguments(call, "vjp(optimize=False) and its pullback")
        tangents = like(tuple(self.args), np.random.default_rng(3))
        call = fresh(self.args)
        _, tangent = ad.jvp(self.f, tuple(call), tangents, optimize=False)
        self.check_arguments(call, "jvp(optimize=False)")
        expected = sum(self.jacobians[p] @ flatten(t) for p, t in enumerate(tangents))
        assert_close(flatten(tangent), expected, False, self.scale, "jvp(optimize=False)")

    def hessian_vector(self) -> None:
        """``hvp`` against central differences of the gradient along the same direction."""
        direction = like(tuple(self.args), np.random.default_rng(5))
        call = fresh(self.args)
        ours = ad.hvp(self.f, wrt=WRT)(*call, direction)
        self.check_arguments(call, "hvp")
        gradient = ad.grad(self.f, wrt=WRT)
        expected, why = hvp_differences(self.source, gradient, self.args, direction)
        if expected is None:
            raise NotSmoothHere(why)
        scale = max(1.0, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(
            flatten(ours), expected, rtol=1e-5, atol=1e-6 * scale, err_msg="hvp"
        )


# ------------------------------------------------------------------ outcomes


@dataclass
class Outcome:
    """What one program did, and why.

    ``kind``: ok, refused (a clear `TransformError`), skipped (not smooth at the point),
    wrong, crashed, or invalid (the generator wrote a program plain Python cannot run
    to a moderate number: a bug of the generator).
    """

    kind: str
    category: str = ""  # the check and a normalized message: how failures are grouped
    detail: str = ""  # the full message or traceback

    @property
    def failed(self) -> bool:
        return self.kind in ("wrong", "crashed", "invalid")


CHECKS = ("reverse", "forward", "unoptimized") + (("hessian_vector",) if SECOND_ORDER else ())


def check_program(source: str, args: Sequence[Any], module_of: Callable[[str], Any]) -> Outcome:
    """Every transform of ``f`` from ``source`` at ``args`` against `DifferentialOracle`.

    ``module_of`` imports a module from source (``conftest.import_source`` into a
    directory).  A refusal anywhere makes the outcome ``refused``; the first wrong value
    or internal exception ends the run.
    """
    f = module_of(source).f
    try:
        value = f(*fresh(args))
    except Exception as error:
        return Outcome("invalid", f"plain Python: {crash_label(error)}", traceback.format_exc())
    if not (np.ndim(value) == 0 and np.isfinite(value) and abs(value) < 1e6):
        return Outcome("invalid", "plain Python: not a moderate finite number", repr(value))
    try:
        oracle = DifferentialOracle(f, source, args)
    except NotSmoothHere as why:
        return Outcome("skipped", f"near a branch: {why}")
    for check in CHECKS:
        try:
            getattr(oracle, check)()
        except NotSmoothHere as why:
            return Outcome("skipped", f"near a branch: {why}")
        except ad.TransformError as error:
            return Outcome("refused", f"{check}: {refusal(error)}", str(error))
        except AssertionError as error:
            message = str(error)
            detail = f"{message}\n{traceback.format_exc()}"
            return Outcome("wrong", f"{check}: {wrong_label(message)}", detail)
        except Exception as error:  # anything else is an internal error: the point of fuzzing
            detail = traceback.format_exc()
            return Outcome("crashed", f"{check}: {crash_label(error)}", detail)
    return Outcome("ok")


def refusal(error: Exception) -> str:
    """A refusal's message without its location: the first line, line numbers masked.

    >>> refusal(ValueError("m.py, line 12: cannot do `x[i0] = 3`\\n  more"))
    'm.py, line #: cannot do `x[i#] = #`'
    """
    return _masked(str(error).strip().splitlines()[0] if str(error).strip() else "")


def wrong_label(message: str) -> str:
    """The line of an assertion message that says which check failed.

    >>> wrong_label("\\nNot equal to tolerance rtol=1e-06\\npullback call 2, argument 0\\nx: 1")
    'pullback call #, argument #'
    """
    noise = ("Not equal", "Mismatch", "Max ", " x:", " y:", "x:", "y:", "ACTUAL", "DESIRED")
    for line in message.strip().splitlines():
        if line.strip() and not line.lstrip().startswith(noise):
            return _masked(line.strip())[:100]
    return "assertion"


def crash_label(error: Exception) -> str:
    """An internal exception's type and first line, numbers in names masked.

    >>> crash_label(NameError("name 'h_pullback_1' is not defined"))
    "NameError: name 'h_pullback_#' is not defined"
    """
    return f"{type(error).__name__}: {refusal(error)}"[:120]


def _masked(text: str) -> str:
    text = re.sub(r"/\S+\.py", "<file>", text)
    return re.sub(r"\d+(\.\d+)?(e-?\d+)?", "#", text)
