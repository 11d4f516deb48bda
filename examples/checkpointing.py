"""Checkpointing: the same loops, recorded by plain reverse mode and checkpointed.

A scalar recurrence with a branch in its body, an RNN-style loop over arrays,
and a loop of calls of an ``ad.checkpoint`` function.  ``snapshots=None`` is the
sqrt schedule; ``snapshots=s`` keeps at most ``s`` states.  Print the derivative code:

    s2s-ad examples/checkpointing.py:recurrence_checkpointed
"""

import numpy as np

import s2s_ad as ad


def recurrence(x: float, w: float, n: int) -> float:
    """``n`` steps of a driven nonlinear map that changes form with the sign of ``h``."""
    h = x
    for i in range(n):
        drive = 0.1 * np.cos(0.01 * i)
        if h > 0.0:
            h = w * np.sin(h) + drive
        else:
            h = np.tanh(w * h) - drive
    return h


def recurrence_checkpointed(x: float, w: float, n: int, snapshots=None) -> float:
    """:func:`recurrence`, checkpointed."""
    h = x
    for i in ad.checkpointed(range(n), snapshots=snapshots):
        drive = 0.1 * np.cos(0.01 * i)
        if h > 0.0:
            h = w * np.sin(h) + drive
        else:
            h = np.tanh(w * h) - drive
    return h


def rnn(h, W, U, xs):
    """A recurrent layer run over the rows of ``xs``; the loss is the sum of the last state."""
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h)


def rnn_checkpointed(h, W, U, xs, snapshots=None):
    """:func:`rnn`, checkpointed."""
    for t in ad.checkpointed(range(xs.shape[0]), snapshots=snapshots):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h)


@ad.checkpoint
def block(h, W):
    """A residual layer; reverse mode keeps its inputs and runs it again."""
    return np.tanh(W @ h) + 0.1 * h


def deep(h, W, n):
    """``n`` applications of :func:`block`, with the weights shared."""
    for _ in range(n):
        h = block(h, W)
    return np.sum(h * h)


def rnn_data(n: int, hidden: int = 8, inputs: int = 4, seed: int = 0):
    """``(h, W, U, xs)`` for ``n`` steps, scaled so the state stays in tanh's range."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)
    U = rng.standard_normal((hidden, inputs)) / np.sqrt(inputs)
    return rng.standard_normal(hidden), W, U, rng.standard_normal((n, inputs))


if __name__ == "__main__":
    print(ad.source(recurrence_checkpointed, wrt=("x", "w")))
    args = rnn_data(1000)
    plain = ad.grad(rnn, wrt=(1, 2))(*args)
    for snapshots in (None, 10):
        checkpointed = ad.grad(rnn_checkpointed, wrt=(1, 2))(*args, snapshots)
        same = all(np.array_equal(a, b) for a, b in zip(plain, checkpointed))
        print(f"snapshots={snapshots}: the same gradient as without checkpointing: {same}")
