"""Derivatives of derivatives through calls and function arguments (issue 17).

Calls of user functions are inlined into the emitted code, so a second
transform sees through them: the gamma of a Black-Scholes price written
with a ``norm_cdf`` helper, and an RK4 integrator whose right-hand side is
a lambda that captures a differentiated parameter.

    python examples/closure.py
"""

import math

import s2s_ad as ad


def norm_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def call_price(s, k, sigma, t):
    """Black-Scholes price of a European call."""
    d1 = (math.log(s / k) + 0.5 * sigma**2 * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return s * norm_cdf(d1) - k * norm_cdf(d2)


def rk4(f, y, h, n):
    """n classical Runge-Kutta steps of y' = f(t, y) from t = 0."""
    t = 0.0
    for _ in range(n):
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2)
        k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t + h
    return y


def decayed(y0, alpha):
    """y(1) for y' = -alpha y, y(0) = y0, in ten RK4 steps."""
    return rk4(lambda t, y: -alpha * y, y0, 0.1, 10)


if __name__ == "__main__":
    print("gamma:", ad.hessian(call_price)(1.1, 1.0, 0.2, 1.0))
    print("d y(1) / d (y0, alpha):", ad.grad(decayed, wrt=(0, 1))(1.0, 0.5))
    print(ad.source(decayed, wrt=(0, 1)))
