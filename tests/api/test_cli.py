"""The ``s2s-ad`` command line: ``python -m s2s_ad`` and the installed console script.

Every test runs the command in a subprocess on a small module written into
``tmp_path`` and checks the exit status, stdout and stderr the contract in
API.md ("Command line") promises.
"""

import importlib.util
import inspect
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

EXAMPLE = textwrap.dedent(
    """\
    import math

    import numpy as np


    def f(x, a, b):
        return (x + a) * (x + b)


    def h(x, y):
        s = math.sin(x) * y
        return s + np.exp(x * y)


    def checked(x):
        y = x
        for _ in range(3):
            y = y * x
        del x
        return y


    class Doubler:
        def __call__(self, x):
            return x * 2.0


    helper = Doubler()


    def calls_helper(x):
        z = x * x
        return helper(z) + x


    NOT_A_FUNCTION = 3.0
    """
)

# A line that assigns or accumulates a derivative variable such as `dx`, `da` or `dt5`.
ADJOINT_LINE = re.compile(r"^\s*d\w+\s*(=|\+=)\s*\S", re.MULTILINE)


def line_of(text, needle):
    """1-based line number of the only line of ``text`` containing ``needle``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


@pytest.fixture
def example(tmp_path):
    path = tmp_path / "example_mod.py"
    path.write_text(EXAMPLE)
    return path


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "s2s_ad", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def run_ok(*args, cwd=None):
    proc = run(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "expected emitted source on stdout"
    return proc.stdout


def load_module(path):
    name = f"s2s_ad_cli_test_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def exec_emitted(text, path, name):
    """Run the printed source in (a copy of) the module's globals; return ``name``."""
    module = load_module(path)
    namespace = dict(vars(module))
    exec(compile(text, f"<emitted {name}>", "exec"), namespace)
    assert name in namespace, f"{name} is not defined by the printed source:\n{text}"
    return module, namespace[name]


def assert_usage_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.strip(), "a usage error needs a message on stderr"
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


# ----------------------------------------------------------------- success


def test_default_mode_is_reverse_and_prints_compilable_source(example):
    text = run_ok(f"{example}:f")
    compile(text, "<cli output>", "exec")
    assert re.search(r"^def f_grad\(x, a, b\):", text, re.MULTILINE), text
    assert ADJOINT_LINE.search(text), text
    assert "_jvp" not in text
    # Explicit --mode reverse prints the same thing.
    assert run_ok(f"{example}:f", "--mode", "reverse") == text


def test_forward_mode_prints_a_jvp_function(example):
    text = run_ok(f"{example}:f", "--mode", "forward")
    compile(text, "<cli output>", "exec")
    assert re.search(r"^def f_jvp\(", text, re.MULTILINE), text
    assert "f_grad" not in text


def test_wrt_restricts_the_gradient(example):
    text = run_ok(f"{example}:f", "--wrt", "a,b")
    compile(text, "<cli output>", "exec")
    assert not re.search(r"\bdx\b", text), text
    assert re.search(r"\bda\b", text) and re.search(r"\bdb\b", text), text
    full = run_ok(f"{example}:f")
    assert re.search(r"\bdx\b", full), full


def test_wrt_positions_and_names_agree(example):
    by_name = run_ok(f"{example}:f", "--wrt", "a,b")
    by_position = run_ok(f"{example}:f", "--wrt", "1,2")
    assert by_name == by_position


def test_trace_prints_three_address_code(example):
    text = run_ok(f"{example}:f", "--trace")
    lines = text.splitlines()
    assert re.match(r"^t0 = load\('x'\)", lines[0]), text
    assert any(re.match(r"^t\d+ = load\('a'\)", line) for line in lines), text
    assert any(re.match(r"^t\d+ = load\('b'\)", line) for line in lines), text
    assert lines[-1].startswith("return "), text
    assert "def " not in text
    assert not ADJOINT_LINE.search(text)


def test_no_optimize_differs_and_still_compiles(example):
    optimized = run_ok(f"{example}:f")
    plain = run_ok(f"{example}:f", "--no-optimize")
    assert plain != optimized
    compile(plain, "<cli output>", "exec")
    assert ADJOINT_LINE.search(plain), plain
    _, fast = exec_emitted(optimized, example, "f_grad")
    _, slow = exec_emitted(plain, example, "f_grad")
    np.testing.assert_allclose(slow(0.5, 1.5, -2.0), fast(0.5, 1.5, -2.0), rtol=1e-12)


def test_emitted_gradient_matches_the_analytic_one(example):
    text = run_ok(f"{example}:f", "--wrt", "a")
    module, f_grad = exec_emitted(text, example, "f_grad")
    assert list(inspect.signature(f_grad).parameters) == list(
        inspect.signature(module.f).parameters
    )
    for x, a, b in [(0.5, 1.5, -2.0), (-3.0, 0.25, 4.0)]:
        assert f_grad(x, a, b) == pytest.approx(x + b)


def test_emitted_gradient_with_respect_to_all_parameters(example):
    text = run_ok(f"{example}:f")
    _, f_grad = exec_emitted(text, example, "f_grad")
    x, a, b = 0.5, 1.5, -2.0
    result = f_grad(x, a, b)
    assert len(result) == 3
    np.testing.assert_allclose(result, (2 * x + a + b, x + b, x + a), rtol=1e-12)


def test_emitted_gradient_with_math_and_numpy_calls(example):
    text = run_ok(f"{example}:h")
    module, h_grad = exec_emitted(text, example, "h_grad")
    assert list(inspect.signature(h_grad).parameters) == ["x", "y"]
    x, y = 0.7, -1.3
    dx, dy = h_grad(x, y)
    assert dx == pytest.approx(math.cos(x) * y + y * math.exp(x * y), rel=1e-12)
    assert dy == pytest.approx(math.sin(x) + x * math.exp(x * y), rel=1e-12)


def test_emitted_jvp_matches_the_analytic_one(example):
    text = run_ok(f"{example}:f", "--mode", "forward")
    _, f_jvp = exec_emitted(text, example, "f_jvp")
    x, a, b = 0.5, 1.5, -2.0
    dx, da, db = 0.3, -0.7, 2.0
    value, tangent = f_jvp(x, a, b, dx, da, db)
    assert value == pytest.approx((x + a) * (x + b))
    assert tangent == pytest.approx((dx + da) * (x + b) + (x + a) * (dx + db))


def test_relative_path_from_the_working_directory(example):
    text = run_ok(f"{example.name}:f", cwd=example.parent)
    assert text == run_ok(f"{example}:f")


def test_console_script(example):
    bindir = os.path.dirname(sys.executable)
    script = shutil.which("s2s-ad", path=bindir + os.pathsep + os.environ.get("PATH", ""))
    assert script is not None, "the s2s-ad console script is not installed"
    proc = subprocess.run(
        [script, f"{example}:f", "--wrt", "a,b"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == run_ok(f"{example}:f", "--wrt", "a,b")
    bad = subprocess.run(
        [script, f"{example}:checked"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1
    assert bad.stdout == ""


# ------------------------------------------------ cannot transform: exit 1


def test_unsupported_syntax_exits_1_with_file_and_line(example):
    proc = run(f"{example}:checked")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lineno = line_of(EXAMPLE, "del x")
    assert proc.stderr.startswith(f"{example}:{lineno}:"), proc.stderr
    assert "del x" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("flags", [["--mode", "forward"], ["--trace"], ["--no-optimize"]])
def test_unsupported_syntax_exits_1_in_every_mode(example, flags):
    proc = run(f"{example}:checked", *flags)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lineno = line_of(EXAMPLE, "del x")
    assert proc.stderr.startswith(f"{example}:{lineno}:"), proc.stderr


def test_call_without_a_rule_exits_1_naming_the_call(example):
    proc = run(f"{example}:calls_helper")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lineno = line_of(EXAMPLE, "return helper(z) + x")
    assert proc.stderr.startswith(f"{example}:{lineno}:"), proc.stderr
    assert "helper" in proc.stderr


# ---------------------------------------------------- bad usage: exit 2


def test_missing_file(tmp_path):
    missing = tmp_path / "does_not_exist.py"
    assert_usage_error(run(f"{missing}:f"), "does_not_exist.py")


def test_unknown_function_name(example):
    assert_usage_error(run(f"{example}:no_such_function"), "no_such_function")


def test_name_that_is_not_a_function(example):
    assert_usage_error(run(f"{example}:NOT_A_FUNCTION"))


@pytest.mark.parametrize("target", ["{path}", "{path}:", ":f"])
def test_malformed_target(example, target):
    assert_usage_error(run(target.format(path=example)))


def test_bad_mode(example):
    assert_usage_error(run(f"{example}:f", "--mode", "sideways"), "sideways")


def test_no_target_at_all():
    assert_usage_error(run())


@pytest.mark.parametrize("wrt", ["z", "7", ","])
def test_bad_wrt(example, wrt):
    assert_usage_error(run(f"{example}:f", "--wrt", wrt))


def test_module_that_fails_to_import(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(
        "import math\n\nraise RuntimeError('boom at import')\n\n\ndef f(x):\n    return x\n"
    )
    assert_usage_error(run(f"{path}:f"), "boom at import")


def test_parameters_annotated_int_are_not_differentiated_by_default():
    """`power(A: float, k: int)`: the gradient is with respect to A; --wrt can still ask for k."""
    from conftest import ROOT

    target = f"{ROOT / 'examples' / 'control_flow.py'}:power"
    assert "with respect to A;" in run_ok(target)
    assert "with respect to A, k;" in run_ok(target, "--wrt", "A,k")


def test_a_parameter_whose_default_is_none_is_not_differentiated_by_default():
    """`snapshots=None` in examples/checkpointing.py is a setting, not an input."""
    from conftest import ROOT

    target = f"{ROOT / 'examples' / 'checkpointing.py'}:recurrence_checkpointed"
    text = run_ok(target)
    assert "with respect to x, w;" in text
    assert "dsnapshots" not in text


DEFAULT_WRT = textwrap.dedent(
    """\
    {future}
    from typing import List, Optional

    import numpy as np


    def mixed(
        bare,
        x: float,
        v: np.ndarray,
        xs: List[float],
        maybe: Optional[np.ndarray],
        scale=2.0,
        start=np.zeros(2),
        flag=False,
        count=3,
        n: int = 2,
        on: bool = True,
        label: str = "a",
        options=None,
        w: Optional[float] = None,
    ):
        return bare * x * np.sum(v) * xs[0] * np.sum(maybe) * scale + np.sum(start)


    def counts(n: int, flag: bool = False):
        return n * 2.0
    """
)


@pytest.mark.parametrize("future", ["", "from __future__ import annotations"])
def test_default_wrt_takes_the_floats_and_arrays_by_annotation_or_default(tmp_path, capsys, future):
    """Annotations decide (also as strings); then a float or float-array default; a
    parameter with neither is taken; None, bool, int and str never are."""
    from s2s_ad.api import cli

    path = tmp_path / "defaults.py"
    path.write_text(DEFAULT_WRT.format(future=future))
    assert cli.main([f"{path}:mixed"]) == cli.EXIT_OK
    text = capsys.readouterr().out
    assert "with respect to bare, x, v, xs, maybe, scale, start;" in text, text


def test_default_wrt_with_no_float_or_array_parameter_is_a_usage_error(tmp_path):
    path = tmp_path / "defaults.py"
    path.write_text(DEFAULT_WRT.format(future=""))
    assert_usage_error(run(f"{path}:counts"), "none of the parameters of counts", "--wrt")
    assert "with respect to n;" in run_ok(f"{path}:counts", "--wrt", "n")


def test_help_says_what_the_default_wrt_is_and_that_the_code_runs_as_printed():
    proc = run("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "runs as printed" in text
    assert "never one annotated int or bool or whose default is None" in text
    assert "neither annotation nor default" in text
