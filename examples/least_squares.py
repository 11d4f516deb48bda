"""Least squares through ``np.linalg.solve``: fit a regularized linear model.

The weights solve the normal equations ``(X^T X + lam I) w = X^T y``; the
validation loss depends on ``lam`` through that solve, so its derivative
with respect to ``lam`` uses the lecture's adjoint of ``solve``.

    python examples/least_squares.py
    s2s-ad examples/least_squares.py:validation_loss --wrt lam
"""

import numpy as np


def fit(X, y, lam):
    """Ridge weights: the solution of (X^T X + lam I) w = X^T y."""
    gram = X.T @ X + lam * np.eye(X.shape[1])
    return np.linalg.solve(gram, X.T @ y)


def validation_loss(lam, X, y, X_val, y_val):
    """Mean squared error on held-out data of the weights fitted with ``lam``."""
    w = fit(X, y, lam)
    residual = X_val @ w - y_val
    return np.mean(residual**2)


def make_data(rng, n=40, d=5, noise=0.5):
    w_true = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    return X, X @ w_true + noise * rng.standard_normal(n)


if __name__ == "__main__":
    import s2s_ad as ad

    rng = np.random.default_rng(0)
    X, y = make_data(rng)
    X_val, y_val = make_data(rng)
    value_and_grad = ad.value_and_grad(validation_loss)
    log_lam = 0.0
    for step in range(20):  # gradient descent on log(lam)
        lam = float(np.exp(log_lam))
        loss, d_lam = value_and_grad(lam, X, y, X_val, y_val)
        log_lam -= 2.0 * d_lam * lam
        if step % 5 == 0:
            print(f"step {step:2d}  lam {lam:.4f}  validation loss {loss:.5f}")
    print(f"chosen lam {np.exp(log_lam):.4f}")
