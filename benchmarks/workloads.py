"""The benchmark's workloads: each function as a user writes it, its gradient
written by hand, and the same function written for each peer library.

The plain functions are what s2s_ad differentiates; parameters annotated
``float`` give scalar code.  The hand-written gradients are what a careful
person writes with the same NumPy: shared subexpressions, no wasted
temporaries, a loop that stores one float per step.  They are the yardstick
the targets of ``docs/performance.md`` are ratios to.

Peers get the same arithmetic in their own array module (``autograd.numpy``,
``jax.numpy``, ``torch``), passed in as ``m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Tuple

import numpy as np

import s2s_ad as ad

# ----------------------------------------------------------- 1. normal PDF


def normal_pdf(x: float, mu: float, sigma: float) -> float:
    return 1 / math.sqrt(2 * math.pi * sigma**2) * math.exp(-((x - mu) ** 2) / (2 * sigma**2))


def normal_pdf_by_hand(x: float, mu: float, sigma: float) -> Tuple[float, float, float]:
    var = sigma * sigma
    d = x - mu
    p = math.exp(-d * d / (2 * var)) / math.sqrt(2 * math.pi * var)
    dx = -p * d / var
    return dx, -dx, p * (d * d / var - 1) / sigma


def normal_pdf_with(m: Any) -> Callable:
    def f(x, mu, sigma):
        return 1 / m.sqrt(2 * math.pi * sigma**2) * m.exp(-((x - mu) ** 2) / (2 * sigma**2))

    return f


# ---------------------------------------------- 2. w2 log w1 + sqrt(w2 log w1)


def log_sqrt(w1: float, w2: float) -> float:
    return w2 * math.log(w1) + math.sqrt(w2 * math.log(w1))


def log_sqrt_by_hand(w1: float, w2: float) -> Tuple[float, float]:
    log_w1 = math.log(w1)
    outer = 1.0 + 0.5 / math.sqrt(w2 * log_w1)
    return outer * w2 / w1, outer * log_w1


def log_sqrt_with(m: Any) -> Callable:
    def f(w1, w2):
        return w2 * m.log(w1) + m.sqrt(w2 * m.log(w1))

    return f


# ------------------------------------------------- 3. ln x1 + x1 x2 - sin x2


def log_product_sine(x1: float, x2: float) -> float:
    return math.log(x1) + x1 * x2 - math.sin(x2)


def log_product_sine_by_hand(x1: float, x2: float) -> Tuple[float, float]:
    return 1.0 / x1 + x2, x1 - math.cos(x2)


def log_product_sine_with(m: Any) -> Callable:
    def f(x1, x2):
        return m.log(x1) + x1 * x2 - m.sin(x2)

    return f


# ------------------------------------------- 4. a 1000-step scalar recurrence

STEPS = 1000


def recurrence(x0: float, a: float, b: float, n: int) -> float:
    """Euler steps of logistic growth with harvesting: x' = a x (1 - x) - b x."""
    x = x0
    for _ in range(n):
        x = x + 0.01 * (a * x * (1.0 - x) - b * x)
    return x


def recurrence_by_hand(x0: float, a: float, b: float, n: int) -> Tuple[float, float, float]:
    xs = []
    x = x0
    for _ in range(n):
        xs.append(x)
        x = x + 0.01 * (a * x * (1.0 - x) - b * x)
    dx, da, db = 1.0, 0.0, 0.0
    for x in reversed(xs):
        h = 0.01 * dx
        da += h * x * (1.0 - x)
        db -= h * x
        dx += h * (a * (1.0 - 2.0 * x) - b)
    return dx, da, db


def recurrence_with(m: Any) -> Callable:
    def f(x0, a, b, n):
        x = x0
        for _ in range(n):
            x = x + 0.01 * (a * x * (1.0 - x) - b * x)
        return x

    return f


# ----------------------------------------------- 5. a tanh MLP, cross-entropy

LAYERS = (64, 256, 256, 10)
BATCH = 128


def mlp_loss(W1, b1, W2, b2, W3, b3, X, Y):
    h1 = np.tanh(X @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    logits = h2 @ W3 + b3
    shifted = logits - ad.stop_gradient(np.max(logits, axis=1, keepdims=True))
    log_norm = np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * (shifted - log_norm)) / X.shape[0]


def mlp_loss_by_hand(W1, b1, W2, b2, W3, b3, X, Y):
    h1 = np.tanh(X @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    logits = h2 @ W3 + b3
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    dlogits = (e / np.sum(e, axis=1, keepdims=True) - Y) / X.shape[0]
    dh2 = dlogits @ W3.T
    dz2 = dh2 * (1.0 - h2 * h2)
    dh1 = dz2 @ W2.T
    dz1 = dh1 * (1.0 - h1 * h1)
    return (
        X.T @ dz1,
        dz1.sum(axis=0),
        h1.T @ dz2,
        dz2.sum(axis=0),
        h2.T @ dlogits,
        dlogits.sum(axis=0),
    )


def mlp_loss_with(m: Any, stop_gradient: Callable) -> Callable:
    def f(W1, b1, W2, b2, W3, b3, X, Y):
        h1 = m.tanh(X @ W1 + b1)
        h2 = m.tanh(h1 @ W2 + b2)
        logits = h2 @ W3 + b3
        shifted = logits - stop_gradient(m.max(logits, axis=1, keepdims=True))
        log_norm = m.log(m.sum(m.exp(shifted), axis=1, keepdims=True))
        return -m.sum(Y * (shifted - log_norm)) / X.shape[0]

    return f


def mlp_arguments(rng: np.random.Generator) -> tuple:
    params = []
    for fan_in, fan_out in zip(LAYERS, LAYERS[1:]):
        params += [rng.normal(size=(fan_in, fan_out)) / math.sqrt(fan_in), np.zeros(fan_out)]
    X = rng.normal(size=(BATCH, LAYERS[0]))
    Y = np.eye(LAYERS[-1])[rng.integers(0, LAYERS[-1], size=BATCH)]
    return (*params, X, Y)


# -------------------------------------------------- 6. sum(tanh(A @ x))

MATVEC_SIZE = 1000


def tanh_matvec(A, x):
    return np.sum(np.tanh(A @ x))


def tanh_matvec_by_hand(A, x):
    t = np.tanh(A @ x)
    return A.T @ (1.0 - t * t)


def tanh_matvec_with(m: Any) -> Callable:
    def f(A, x):
        return m.sum(m.tanh(A @ x))

    return f


# ------------------------------------------- 7. and 8. Rosenbrock, n = 1000

ROSENBROCK_SIZE = 1000


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_by_hand(x):
    head = x[:-1]
    d = x[1:] - head * head
    g = np.zeros_like(x)
    g[:-1] = -400.0 * head * d - 2.0 * (1.0 - head)
    g[1:] += 200.0 * d
    return g


def rosenbrock_hvp_by_hand(x, v):
    """H v without forming H: H is tridiagonal."""
    head, tail = x[:-1], x[1:]
    diagonal = np.zeros_like(x)
    diagonal[:-1] = 1200.0 * head * head - 400.0 * tail + 2.0
    diagonal[1:] += 200.0
    off = -400.0 * head
    hv = diagonal * v
    hv[:-1] += off * v[1:]
    hv[1:] += off * v[:-1]
    return hv


def rosenbrock_with(m: Any) -> Callable:
    def f(x):
        return m.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return f


# ------------------------------------------------------------- the table


@dataclass
class Workload:
    """One row group of the benchmark table."""

    name: str
    title: str
    function: Callable  # as the user writes it; what s2s_ad differentiates
    by_hand: Callable  # its gradient (or HVP) written by hand
    arguments: Callable[[np.random.Generator], tuple]
    wrt: Tuple[int, ...]
    peer_function: Callable[..., Callable]  # module -> the function in that module
    static: Tuple[int, ...] = ()  # argument positions that stay Python ints
    hvp: bool = False  # time the Hessian-vector product instead of the gradient
    notes: Dict[str, str] = field(default_factory=dict)

    @property
    def array_heavy(self) -> bool:
        return self.name in ARRAY_HEAVY

    def s2s(self) -> Callable:
        """The s2s_ad derivative the benchmark times, through the public API."""
        if self.hvp:
            return ad.hvp(self.function, wrt=self.wrt[0])
        wrt = self.wrt if len(self.wrt) > 1 else self.wrt[0]
        return ad.grad(self.function, wrt=wrt)


def _scalars(*values: float) -> Callable[[np.random.Generator], tuple]:
    return lambda rng: values


def _rosenbrock_arguments(rng: np.random.Generator) -> tuple:
    return (rng.uniform(-1.0, 1.5, size=ROSENBROCK_SIZE),)


WORKLOADS = (
    Workload(
        "normal_pdf",
        "normal PDF f(x | mu, sigma), gradient in x, mu, sigma",
        normal_pdf,
        normal_pdf_by_hand,
        _scalars(0.5, 0.1, 1.3),
        (0, 1, 2),
        normal_pdf_with,
    ),
    Workload(
        "log_sqrt",
        "w2 log w1 + sqrt(w2 log w1), gradient in w1, w2",
        log_sqrt,
        log_sqrt_by_hand,
        _scalars(2.0, 3.0),
        (0, 1),
        log_sqrt_with,
    ),
    Workload(
        "log_product_sine",
        "ln x1 + x1 x2 - sin x2, gradient in x1, x2",
        log_product_sine,
        log_product_sine_by_hand,
        _scalars(2.0, 5.0),
        (0, 1),
        log_product_sine_with,
    ),
    Workload(
        "recurrence",
        f"{STEPS}-step scalar recurrence (Python for loop), gradient in x0, a, b",
        recurrence,
        recurrence_by_hand,
        _scalars(0.1, 2.0, 0.5, STEPS),
        (0, 1, 2),
        recurrence_with,
        static=(3,),
    ),
    Workload(
        "mlp",
        "64-256-256-10 tanh MLP, batch 128, softmax cross-entropy, gradient in 6 arrays",
        mlp_loss,
        mlp_loss_by_hand,
        lambda rng: mlp_arguments(rng),
        (0, 1, 2, 3, 4, 5),
        mlp_loss_with,
    ),
    Workload(
        "tanh_matvec",
        f"sum(tanh(A @ x)), A {MATVEC_SIZE}x{MATVEC_SIZE}, gradient in x",
        tanh_matvec,
        tanh_matvec_by_hand,
        lambda rng: (
            rng.normal(size=(MATVEC_SIZE, MATVEC_SIZE)) / math.sqrt(MATVEC_SIZE),
            rng.normal(size=MATVEC_SIZE),
        ),
        (1,),
        tanh_matvec_with,
    ),
    Workload(
        "rosenbrock",
        f"Rosenbrock, n = {ROSENBROCK_SIZE}, gradient",
        rosenbrock,
        rosenbrock_by_hand,
        _rosenbrock_arguments,
        (0,),
        rosenbrock_with,
    ),
    Workload(
        "rosenbrock_hvp",
        f"Rosenbrock, n = {ROSENBROCK_SIZE}, Hessian-vector product",
        rosenbrock,
        rosenbrock_hvp_by_hand,
        lambda rng: (*_rosenbrock_arguments(rng), rng.normal(size=ROSENBROCK_SIZE)),
        (0,),
        rosenbrock_with,
        hvp=True,
    ),
)

# The targets of issue 6 are tighter where NumPy does nearly all the work.
ARRAY_HEAVY = ("mlp", "tanh_matvec")


def target(workload: Workload) -> float:
    """The ratio to the hand-written derivative that s2s_ad aims to stay under."""
    if workload.hvp:
        return 1.3
    return 1.1 if workload.array_heavy else 1.2


# ---------------------------------------------- the transform-cost function


def thirty_lines(x: float, v: float, k: float, c: float, dt: float) -> float:
    """One step of a damped, driven oscillator and its energy: 30 lines to transform."""
    omega = math.sqrt(k)
    zeta = c / (2.0 * omega)
    force = math.sin(omega * x) + 0.1 * math.cos(3.0 * x)
    a1 = force - k * x - c * v
    x1 = x + 0.5 * dt * v
    v1 = v + 0.5 * dt * a1
    a2 = math.sin(omega * x1) - k * x1 - c * v1
    x2 = x + 0.5 * dt * v1
    v2 = v + 0.5 * dt * a2
    a3 = math.sin(omega * x2) - k * x2 - c * v2
    x3 = x + dt * v2
    v3 = v + dt * a3
    a4 = math.sin(omega * x3) - k * x3 - c * v3
    x_next = x + dt / 6.0 * (v + 2.0 * v1 + 2.0 * v2 + v3)
    v_next = v + dt / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    kinetic = 0.5 * v_next * v_next
    potential = 0.5 * k * x_next * x_next
    damping = c * v_next * v_next * dt
    energy = kinetic + potential
    ratio = energy / (1.0 + damping)
    log_energy = math.log(1.0 + energy)
    phase = math.atan2(v_next, omega * x_next)
    amplitude = math.sqrt(x_next * x_next + v_next * v_next / k)
    if zeta < 1.0:
        decay = math.exp(-zeta * omega * dt)
    else:
        decay = math.exp(-omega * dt)
    wobble = math.tanh(phase) * amplitude
    total = ratio + log_energy + decay * wobble
    return total * total
