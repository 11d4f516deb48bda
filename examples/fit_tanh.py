"""Fit y = tanh(a x + b) to noisy data by gradient descent with ad.value_and_grad.

python examples/fit_tanh.py
"""

import numpy as np

import s2s_ad as ad


def loss(a, b, x, y):
    """Mean squared error of the model tanh(a x + b) on the data (x, y)."""
    return np.mean((np.tanh(a * x + b) - y) ** 2)


def main() -> None:
    rng = np.random.default_rng(0)
    x = np.linspace(-2.0, 2.0, 200)
    y = np.tanh(1.5 * x - 0.5) + 0.05 * rng.standard_normal(x.shape)
    step = ad.value_and_grad(loss, wrt=("a", "b"))
    a, b = 0.1, 0.0
    for iteration in range(301):
        value, (da, db) = step(a, b, x, y)
        if iteration % 50 == 0:
            print(f"iteration {iteration:3d}  loss {value:.5f}  a {a:+.3f}  b {b:+.3f}")
        a, b = a - 0.5 * da, b - 0.5 * db
    print("\nThe gradient code s2s_ad runs (Python-float a and b, array x and y):\n")
    print(ad.source(loss, wrt=("a", "b")))


if __name__ == "__main__":
    main()
