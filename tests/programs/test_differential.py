"""The differential fuzzer (issue 16): random programs with array writes, aliases, rebound
loops, one-sided branches, early returns and helpers; every transform against one oracle.

``differential.programs()`` writes the programs and ``differential.check_program`` runs
``grad``, ``value_and_grad``, ``vjp`` (the pullback called three times), ``jvp``, the
unoptimized emission and ``hvp`` against central differences in float64 taken away from
branch boundaries, and checks that no transform changes the caller's arrays.  A
`TransformError` is a clear refusal and passes; a wrong value or an internal exception
fails.

* CI: a derandomized, bounded set, without shrinking (a failure prints the program as
  drawn).
* ``python -m pytest tests/programs/test_differential.py --hypothesis-profile=long``:
  random programs until the first failure, which Hypothesis shrinks.
* ``python tools/fuzz.py --minutes 10``: counts of every outcome and the smallest failing
  program of each kind.
* ``S2S_AD_FUZZ=slice_write,range_loop`` (or ``-helper``) restricts the constructs, to
  bisect a failure.
"""

import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, find, given, note, reject, settings

import s2s_ad as ad

from branch_paths import path_recording
from conftest import central_difference, import_source
from differential import (
    CONSTRUCTS,
    arguments,
    check_program,
    constructs_from_environment,
    programs,
)

_MODULES = Path(tempfile.mkdtemp(prefix="s2s_ad_differential_"))

CI_EXAMPLES = 60
LONG = settings.default.max_examples > 100_000  # --hypothesis-profile=long
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target)


def module_of(source: str):
    return import_source(source, _MODULES)


def run(source: str, args) -> None:
    """Check one program; a failure names its kind, check and program."""
    note(source)
    outcome = check_program(source, args, module_of)
    event(outcome.kind)
    if outcome.kind == "skipped":
        reject()  # finite differences say nothing here: a branch boundary within a step
    report = f"{outcome.kind}: {outcome.category}\n{source}\nargs = {args!r}\n{outcome.detail}"
    # separate lines, so that Hypothesis keeps a wrong value and a crash apart when it shrinks
    if outcome.kind == "wrong":
        raise AssertionError(report)
    if outcome.kind == "crashed":
        raise AssertionError(report)
    assert outcome.kind in ("ok", "refused"), report


@settings(
    max_examples=settings.default.max_examples if LONG else CI_EXAMPLES,
    derandomize=not LONG,
    phases=tuple(Phase) if LONG else NO_SHRINK,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(source=programs(constructs_from_environment()), args=arguments())
def test_every_transform_agrees_with_the_oracle_on_random_programs(source, args):
    run(source, args)


# ------------------------------------------------------------ the generator's contract

MARKERS = {  # a line only that construct writes
    "element_write": r"^ +[mu]\[[\w-]+\] [*+-]?= ",
    "slice_write": r"^ +[mu]\[[\w-]*:[\w:-]*\] [*+-]?= ",
    "view_write": r"^ +v\d+ = [mu]\[[\w-]*:[\w:-]*\]\n +v\d+",
    "alias_write": r"^ +b\d+ = [mu]\n +b\d+",
    "argument_write": r"^ +[xw]\[[^]]+\] [*+-]?= ",
    "rebound_loop": r"^ +for (e\d+) in ([mux]):\n(.*\n)*? +\2 = \2 \* 0\.5",
    "matrix_rows": r"^ +for r\d+ in w:",
    "tuple_loop": r"^ +for e\d+ in \(\w+, 0\.5\):",
    "range_loop": r"^ +for i\d+ in range\(",
    "branch": r"^ +else:\n(?! +return)",
    "one_sided_branch": r"^( +)if .*:\n(\1 .*\n)+(?!\1(else|elif))",
    "early_return": r"^ +if .*:\n +(return|break)",
    "helper": r"^def h_(sin|poly|branch|rows)\(",
    "helper_ignoring": r"^def h_(const|ones)\(",
    "helper_function": r"^def h_(apply|twice)\(g, ",
    "dead_write": r"^ +d\d+\[",
    "scalar_list": r"np\.(sum|mean|std)\(\[",
    "function_loop": r"^ +for g\d+ in \(",
}


@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_the_generator_writes_each_construct_when_restricted_to_it(construct):
    pattern = re.compile(MARKERS[construct], re.MULTILINE)
    found = find(
        programs(frozenset({construct})),
        pattern.search,
        settings=settings(
            max_examples=200, derandomize=True, database=None, phases=(Phase.generate,)
        ),
    )
    assert pattern.search(found)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(source=programs(constructs_from_environment()), args=arguments())
def test_generated_programs_run_in_plain_python_to_moderate_numbers(source, args):
    """Plain Python runs every program (on copies: it may write into them) to a finite
    number of moderate size: the derivatives are then tested where they are smooth."""
    value, _ = path_recording(source)(*[np.copy(a) for a in args])
    assert np.ndim(value) == 0 and math.isfinite(value) and abs(value) < 1e6, source


# ------------------------------------------------------------ the issue's cases, as programs

ISSUE_CASES = {
    "row_scaled_in_place": """
        m = w + 0.0
        m[0] *= s
        return np.sum(m * 0.5)
    """,
    "pullback_reads_later_writes": """
        m = x + 0.0
        m[1:] = np.sin(m[1:])
        m[1:] = np.sin(m[1:])
        return np.sum(m)
    """,
    "optimizer_and_slice_write": """
        y = x + 0.0
        y[1:] *= s
        y = y + y
        return np.sum(y)
    """,
    "loop_over_rebound_name": """
        total = 0.0
        y = x * s
        for v in y:
            total = total + v * v
            y = y * 2.0
        return total
    """,
    "assign_on_one_side_return_on_the_other": """
        y = s * 1.0
        if s > 10.0:
            k = 1.0
        else:
            return 3.0 * y
        return y * k
    """,
    "helper_ignoring_its_argument_in_a_branch": """
        a = s * 1.0
        v = 3 * np.sin(a)
        if s > 0:
            a = h_const(s)
        return v
    """,
    "pullback_called_again_after_a_loop": """
        m = x * s
        for i in range(3):
            m = np.sin(m)
            m[1:] *= 0.5
        return np.sum(m)
    """,
    "writes_into_the_argument": """
        x[1:] *= s
        return x @ x
    """,
    "hvp_of_strided_writes_in_a_loop": """
        u = x + 0.0
        for i in range(2):
            u = np.sin(u)
            u[::2] *= s
        return np.sum(u * u)
    """,
    "helper_in_both_branches": """
        if s > 0:
            a = h_sin(s)
        else:
            a = h_sin(2.0 * s)
        return a
    """,
    "sum_of_a_list_of_scalars": """
        a = s * 1.0
        return np.sum([1.0, a * a, 2.0]) + np.mean([s, s + 2.0])
    """,
    "rows_of_a_matrix": """
        t = s * 1.0
        for row in w:
            t = t + row[0] * s
        return t
    """,
    "dead_write": """
        d = x * 2.0
        d[0] = s
        return np.sum(x * s)
    """,
}


def issue_module(body: str) -> str:
    lines = "\n".join(line[4:] for line in body.strip("\n").splitlines())
    return (
        "import numpy as np\n\n\ndef h_const(v):\n    return 0.5\n\n\n"
        "def h_sin(v):\n    return 1.5 * np.sin(v)\n\n\n"
        f"def f(x, w, s):\n{lines}\n"
    )


ISSUE_ARGS = (np.array([0.3, -0.7, 1.1]), np.array([[0.9, -0.4, 0.6], [0.2, 1.3, -0.8]]), 0.7)


@pytest.mark.parametrize("name", ISSUE_CASES)
def test_the_issues_minimal_cases_through_the_same_oracle(name):
    """The issue's silent-wrong and crash cases, in the fuzzer's shape: its own oracle."""
    source = issue_module(ISSUE_CASES[name])
    outcome = check_program(source, ISSUE_ARGS, module_of)
    assert outcome.kind in ("ok", "refused"), (
        f"{outcome.kind}: {outcome.category}\n{source}\n{outcome.detail}"
    )


# found by tools/fuzz.py: the zero adjoint of `w` after `w[1] *= ...`, at the join of branches
# that do not all read it, was the number 0.0 where the item adjoint below needed an array
# (TypeError: 'float' object is not subscriptable, from emitted code)
WRITTEN_THEN_READ_IN_ONE_BRANCH = """
        m = x + 0.0
        u = np.tanh(w[0])
        a = s * 1.0
        c = np.sum(x) * 0.5
        if np.tanh(-1.0) > u[2]:
            return np.sum(m * u) + a * c + np.sum([m[1], 0.5])
        w[1] *= np.cos((c / (2.0 + np.cos(x[2]))))
        if np.sum(np.ones(3) * 0.25) >= 1.5:
            x[1:] -= np.cos(-np.sin(m[2]))
        elif m[1] < a:
            u = 0.5 * u + np.cos(np.sqrt(1.0 + u * u))
        else:
            m = 0.5 * m + np.arctan(w[1])
        return np.sum(m * u) + a * c + np.tanh(1.5)
    """


@pytest.mark.parametrize("position", [0, 1, 2])
def test_an_array_written_then_read_in_one_branch_of_three(position, tmp_path):
    f = import_source(issue_module(WRITTEN_THEN_READ_IN_ONE_BRANCH), tmp_path).f
    args = (np.array([0.3, -0.7, 1.1]), np.array([[0.9, -0.4, 0.6], [0.2, 1.3, -0.8]]), 0.7)
    expected = central_difference(f, [np.copy(a) for a in args], position)
    gradient = ad.grad(f, wrt=position)(*[np.copy(a) for a in args])
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-8)
