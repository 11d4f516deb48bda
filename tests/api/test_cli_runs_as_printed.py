"""The code ``s2s-ad`` prints runs as printed, next to the user's module.

For example functions in every mode the command offers (and ``ad.source(f,
mode="hvp")``), the printed text is written to a file of its own and run in a
fresh interpreter whose ``sys.path`` holds only the directories of the user's
modules: whatever the text needs it must import or define itself.  Its
result is compared with ``ad.grad``'s (``ad.jvp``'s, ``ad.hvp``'s) in this
process.  One interpreter runs every text, each with globals of its own.
"""

import contextlib
import io
import os
import pickle
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Callable, Tuple

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.api import cli

from conftest import ROOT, import_source, load_example

EXAMPLES = ROOT / "examples"

# A module of the user's with what the printed text must import from it: a constant,
# a tuple of constants, a function it calls (whose derivative the text asks s2s_ad
# for), a function imported under another name, and NumPy under an unusual alias.
# (Forward over reverse cannot go through a call yet: `smooth` has none, for hvp.)
OWN_MODULE = """
import math
from math import sin as sine

import numpy as numeric

SCALE = 2.5
OFFSETS = (0.5, -1.0)


def square_plus(x, a):
    return x * x + a


def model(x, a, w: float):
    y = square_plus(x, a) * SCALE + sine(w) * OFFSETS[0]
    return numeric.sum(numeric.tanh(y * w)) + math.log(w)


def smooth(x, w: float):
    y = (x * x + OFFSETS[1]) * SCALE + sine(w)
    return numeric.sum(numeric.tanh(y * w)) + math.log(w)
"""


def _rng():
    return np.random.default_rng(19)


def _fit_tanh_args():
    x = np.linspace(-2.0, 2.0, 7)
    return (0.3, -0.2, x, np.tanh(1.5 * x - 0.5))


def _least_squares_args():
    rng = _rng()
    make = load_example("least_squares").make_data
    return (0.5, *make(rng, n=9, d=3), *make(rng, n=6, d=3))


def _mlp_args():
    rng = _rng()
    sizes = (4, 3, 3, 2)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params += [rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out)]
    return (*params, rng.standard_normal((5, 4)), np.array([0, 1, 1, 0, 1]))


def _rnn_args():
    return load_example("checkpointing").rnn_data(5, hidden=3, inputs=2)


def _own_args():
    return (np.array([0.3, -0.4, 1.1]), 0.7, 1.3)


@dataclass(frozen=True)
class Case:
    """One printed text: ``where:function`` with CLI ``flags``, or ``ad.source`` for hvp."""

    where: str  # an example's stem, or "own" for OWN_MODULE
    function: str
    mode: str  # "reverse", "forward" or "hvp"
    args: Callable[[], tuple]
    flags: Tuple[str, ...] = ()
    hvp_wrt: Tuple[int, ...] = ()

    @property
    def id(self) -> str:
        return "-".join([self.where, self.function, self.mode, *self.flags]).replace(",", "_")


CASES = [
    # reverse mode, the command's default
    Case("fit_tanh", "loss", "reverse", _fit_tanh_args),
    Case("lectures", "normal_pdf", "reverse", lambda: (0.5, 0.1, 1.3)),
    Case("lectures", "normal_pdf", "reverse", lambda: (0.5, 0.1, 1.3), ("--no-optimize",)),
    Case("lectures", "product", "reverse", lambda: (1.0, 2.0, 3.0), ("--wrt", "a,b")),
    Case("control_flow", "power", "reverse", lambda: (1.5, 3)),
    Case("control_flow", "grow", "reverse", lambda: (0.9, 10.0)),
    Case("control_flow", "clip_sum", "reverse", lambda: (0.3, 6)),
    Case("checkpointing", "recurrence_checkpointed", "reverse", lambda: (0.3, 0.8, 30, 4)),
    Case("checkpointing", "rnn_checkpointed", "reverse", lambda: (*_rnn_args(), None)),
    Case("checkpointing", "deep", "reverse", lambda: (*_rnn_args()[:2], 3), ("--wrt", "h,W")),
    Case("least_squares", "validation_loss", "reverse", _least_squares_args),
    Case("least_squares", "validation_loss", "reverse", _least_squares_args, ("--no-optimize",)),
    Case("mlp_digits", "loss", "reverse", _mlp_args, ("--wrt", "0,1,2,3,4,5")),
    Case("own", "model", "reverse", _own_args),
    # forward mode
    Case("fit_tanh", "loss", "forward", _fit_tanh_args),
    Case("lectures", "log_product_sine", "forward", lambda: (2.0, 5.0)),
    Case("control_flow", "power", "forward", lambda: (1.5, 3)),
    Case("control_flow", "grow", "forward", lambda: (0.9, 10.0)),
    Case("checkpointing", "recurrence_checkpointed", "forward", lambda: (0.3, 0.8, 30, 4)),
    Case("checkpointing", "rnn", "forward", _rnn_args),
    Case("checkpointing", "deep", "forward", lambda: (*_rnn_args()[:2], 3), ("--wrt", "h,W")),
    Case("least_squares", "validation_loss", "forward", _least_squares_args),
    Case("own", "model", "forward", _own_args),
    # forward over reverse, as ad.source(f, mode="hvp") prints it
    Case("lectures", "normal_pdf", "hvp", lambda: (0.5, 0.1, 1.3), hvp_wrt=(0, 1, 2)),
    Case("fit_tanh", "loss", "hvp", _fit_tanh_args, hvp_wrt=(0, 1)),
    Case("control_flow", "power", "hvp", lambda: (1.5, 3), hvp_wrt=(0,)),
    Case("checkpointing", "rnn", "hvp", _rnn_args, hvp_wrt=(1,)),
    Case("own", "smooth", "hvp", lambda: _own_args()[::2], hvp_wrt=(0, 1)),
]


@pytest.fixture(scope="module")
def own_module(tmp_path_factory):
    return import_source(OWN_MODULE, tmp_path_factory.mktemp("own"))


def user_function(case, own_module):
    module = own_module if case.where == "own" else load_example(case.where)
    return module, getattr(module, case.function)


def printed(case, own_module):
    """The text the command prints (``ad.source`` for hvp), and the parameters it differentiates."""
    module, fn = user_function(case, own_module)
    params = list(ad.compiler.signatures.parameters(fn))
    if case.mode == "hvp":
        wrt = tuple(params[i] for i in case.hvp_wrt)
        return ad.source(fn, mode="hvp", wrt=wrt), wrt
    flags = case.flags + (("--mode", "forward") if case.mode == "forward" else ())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main([f"{module.__file__}:{case.function}", *flags])
    assert status == cli.EXIT_OK
    text = out.getvalue()
    said = re.search(r"with respect to ([\w, ]+);", text).group(1)
    return text, tuple(said.split(", "))


def directions(args, params, wrt):
    """A tangent (or ``v``) per differentiated argument, shaped like it."""
    rng = _rng()
    return tuple(
        rng.standard_normal(np.shape(args[params.index(name)]))
        if np.ndim(args[params.index(name)])
        else float(rng.standard_normal())
        for name in wrt
    )


def printed_call(case, params, wrt):
    """The arguments the printed function takes."""
    args = case.args()
    if case.mode == "reverse":
        return args
    return args + directions(args, params, wrt)


def expected(case, fn, params, wrt):
    """What the public API gives in this process."""
    args = case.args()
    if case.mode == "reverse":
        return ad.grad(fn, wrt=wrt[0] if len(wrt) == 1 else wrt)(*args)
    ds = directions(args, params, wrt)
    if case.mode == "forward":
        tangents = tuple(ds[wrt.index(p)] if p in wrt else None for p in params)
        return ad.jvp(fn, args, tangents)
    v = ds[0] if len(wrt) == 1 else ds
    return ad.hvp(fn, wrt=wrt[0] if len(wrt) == 1 else wrt)(*args, v)


RUNNER = textwrap.dedent(
    """\
    import pickle, runpy, sys, traceback

    manifest, out = sys.argv[1:]
    with open(manifest, "rb") as file:
        runs = pickle.load(file)
    results = {}
    for case_id, path, name, args in runs:
        try:
            results[case_id] = ("ok", runpy.run_path(path)[name](*args))
        except BaseException:
            results[case_id] = ("error", traceback.format_exc())
    with open(out, "wb") as file:
        pickle.dump(results, file)
    """
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, own_module):
    """Every case's text, its parameters and ``wrt``, and what the fresh interpreter got."""
    directory = tmp_path_factory.mktemp("printed")
    texts, manifest = {}, []
    for case in CASES:
        text, wrt = printed(case, own_module)
        _, fn = user_function(case, own_module)
        params = list(ad.compiler.signatures.parameters(fn))
        path = directory / f"printed_{len(manifest)}.py"
        path.write_text(text)
        name = re.findall(r"^def (\w+)\(", text, re.MULTILINE)[-1]
        manifest.append((case.id, str(path), name, printed_call(case, params, wrt)))
        texts[case.id] = (text, params, wrt)
    (directory / "manifest.pkl").write_bytes(pickle.dumps(manifest))
    (directory / "runner.py").write_text(RUNNER)
    # Only the directories of the user's modules and of s2s_ad: the text imports the rest.
    package = os.path.dirname(os.path.dirname(ad.__file__))
    user_dirs = [str(EXAMPLES), os.path.dirname(own_module.__file__)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package, *user_dirs]))
    subprocess.run(
        [sys.executable, "runner.py", "manifest.pkl", "results.pkl"],
        cwd=directory,
        env=env,
        check=True,
        timeout=600,
    )
    results = pickle.loads((directory / "results.pkl").read_bytes())
    return texts, results


def assert_same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert_same(g, w)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_printed_code_runs_as_printed_and_agrees_with_the_api(runs, case, own_module):
    texts, results = runs
    text, params, wrt = texts[case.id]
    status, got = results[case.id]
    assert status == "ok", f"the printed text failed in a fresh interpreter:\n{got}\n{text}"
    assert "bound by s2s_ad" not in text
    _, fn = user_function(case, own_module)
    assert_same(got, expected(case, fn, params, wrt))


def test_the_parameters_the_command_chose(runs):
    """`snapshots=None` and `k: int` are not differentiated; unannotated arrays are."""
    texts, _ = runs
    chosen = {
        "checkpointing-recurrence_checkpointed-reverse": ("x", "w"),
        "checkpointing-rnn_checkpointed-reverse": ("h", "W", "U", "xs"),
        "control_flow-power-reverse": ("A",),
        "fit_tanh-loss-reverse": ("a", "b", "x", "y"),
        "own-model-forward": ("x", "a", "w"),
    }
    for case_id, wrt in chosen.items():
        assert texts[case_id][2] == wrt, case_id


def test_a_callee_is_inlined_through_the_public_api(runs):
    """``fit`` is a module-level function: its body is inlined into the derivative, which
    calls no derivative of its own (and runs as printed, like every case here)."""
    texts, _ = runs
    reverse, _, _ = texts["least_squares-validation_loss-reverse"]
    forward, _, _ = texts["least_squares-validation_loss-forward"]
    assert "fit_vjp" not in reverse and "from least_squares import fit\n" not in reverse
    assert "fit_jvp" not in forward
    assert "np.linalg.solve" in reverse  # fit's body


def test_the_users_module_is_imported_by_its_file_name(runs, own_module):
    texts, _ = runs
    text, _, _ = texts["own-model-reverse"]
    stem = os.path.splitext(os.path.basename(own_module.__file__))[0]
    header = text.split("\ndef model_grad(")[0]
    assert f"from {stem} import OFFSETS, SCALE\n" in header  # square_plus is inlined
    assert "import numpy as numeric\n" in header
    assert "from math import sin as sine\n" in header
    assert "import math\n" in header
