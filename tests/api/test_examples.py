"""The examples: the array examples' derivatives against central differences (issue 4),
training that lowers the loss, and every example printing the same on every run
(issue 19).  The digits data set needs scikit-learn, which the tests do not;
synthetic data stands in for it, and its script runs only where scikit-learn is."""

import functools
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import s2s_ad as ad

from conftest import ROOT, central_difference, load_example
from control_harness import check_derivatives

least_squares = load_example("least_squares")
vae = load_example("vae_loss")
mlp = load_example("mlp_digits")


def test_least_squares_gradient_with_respect_to_lam():
    rng = np.random.default_rng(0)
    X, y = least_squares.make_data(rng)
    X_val, y_val = least_squares.make_data(rng)
    args = (0.7, X, y, X_val, y_val)
    ours = ad.grad(least_squares.validation_loss)(*args)
    numeric = central_difference(least_squares.validation_loss, args, 0)
    assert ours == pytest.approx(numeric, rel=1e-6)
    out, tangent = ad.jvp(least_squares.validation_loss, args, (1.0, None, None, None, None))
    assert tangent == pytest.approx(numeric, rel=1e-6)


def seeded_vae_loss(enc_w, dec_w, x):
    # the same eps for every evaluation, ours and the differences'
    return vae.vae_loss(enc_w, dec_w, x, np.random.default_rng(5))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_vae_loss_gradient(mode):
    rng = np.random.default_rng(1)
    x = np.tanh(rng.standard_normal((6, 4)))
    args = (0.3 * rng.standard_normal((4, 4)), 0.3 * rng.standard_normal((2, 4)), x)
    check_derivatives(mode, seeded_vae_loss, args, wrt=(0, 1))


def small_mlp(rng):
    params = mlp.init_params(rng, sizes=(6, 5, 4, 3))
    return [p + 0.1 * rng.standard_normal(p.shape) for p in params]


@pytest.mark.parametrize("mode", ["reverse", "forward", "forward_vs_reverse"])
def test_mlp_loss_gradient(mode):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, 6))
    labels = rng.integers(0, 3, size=7)
    check_derivatives(mode, mlp.loss, (*small_mlp(rng), x, labels), wrt=tuple(range(6)))


def test_mlp_training_lowers_the_loss_and_learns():
    rng = np.random.default_rng(3)
    centers = 2.0 * rng.standard_normal((3, 6))
    labels = rng.integers(0, 3, size=120)
    x = centers[labels] + 0.3 * rng.standard_normal((120, 6))
    params = small_mlp(rng)
    before = mlp.loss(*params, x, labels)
    trained = mlp.train(params, x, labels, epochs=15, batch=20, log=None)
    assert mlp.loss(*trained, x, labels) < 0.5 * before
    assert mlp.accuracy(trained, x, labels) > 0.9


# ------------------------------------------------------------ the scripts as run

EXAMPLES = sorted(path.stem for path in (ROOT / "examples").glob("*.py"))
# what a script needs beyond the runtime dependencies and the tests'
NEEDS = {"mlp_digits": "sklearn"}


@functools.cache
def printed_twice(name):
    """The output of two runs of ``python examples/<name>.py``, with different hash seeds."""
    outputs = []
    for hash_seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, str(ROOT / "examples" / f"{name}.py")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    return tuple(outputs)


def test_every_example_is_listed():
    assert "vae_loss" in EXAMPLES and len(EXAMPLES) >= 7


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_prints_the_same_on_every_run(name):
    needed = NEEDS.get(name)
    if needed and importlib.util.find_spec(needed) is None:
        pytest.skip(f"examples/{name}.py needs {needed} (pip install '.[examples]')")
    first, second = printed_twice(name)
    assert first.strip(), f"examples/{name}.py printed nothing"
    assert first == second


def test_vae_example_loss_falls_clearly():
    logged = re.findall(r"^step +(\d+) +loss +(\S+)$", printed_twice("vae_loss")[0], re.M)
    steps = [int(step) for step, _ in logged]
    losses = [float(loss) for _, loss in logged]
    assert steps == sorted(steps) and len(steps) >= 5, logged
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.4 * losses[0], losses
    # it stays down: no blow-up after the first fall
    assert max(losses[len(losses) // 2 :]) < 0.5 * losses[0], losses
