"""The worked examples of the AD lecture notes s2s_ad was conceived from.

Print the derivative code s2s_ad emits for any of them:

    s2s-ad examples/lectures.py:normal_pdf
    s2s-ad examples/lectures.py:product --wrt a,b
    s2s-ad examples/lectures.py:log_product_sine --mode forward
    s2s-ad examples/lectures.py:normal_pdf --trace

Parameters annotated ``float`` get scalar code: no broadcasting bookkeeping.
"""

import math


def normal_pdf(x: float, mu: float, sigma: float) -> float:
    """The normal density f(x | mu, sigma).

    Its gradient at (0.5, 0, 1) is (-0.176, 0.176, -0.264).
    """
    return 1 / math.sqrt(2 * math.pi * sigma**2) * math.exp(-((x - mu) ** 2) / (2 * sigma**2))


def log_product_sine(x1: float, x2: float) -> float:
    """ln x1 + x1 x2 - sin x2: 11.652 at (2, 5), gradient (5.5, 1.716)."""
    return math.log(x1) + x1 * x2 - math.sin(x2)


def product(x: float, a: float, b: float) -> float:
    """(x + a)(x + b): d/da = x + b and d/db = x + a."""
    return (x + a) * (x + b)


def log_sqrt(w1: float, w2: float) -> float:
    """w2 log w1 + sqrt(w2 log w1), the lecture's computational-graph example."""
    return w2 * math.log(w1) + math.sqrt(w2 * math.log(w1))


def square_plus(x: float) -> float:
    """x + x**2: forward mode at 3 gives 7."""
    return x + x**2


if __name__ == "__main__":
    import s2s_ad as ad

    print("grad normal_pdf at (0.5, 0, 1):", ad.grad(normal_pdf, wrt=(0, 1, 2))(0.5, 0.0, 1.0))
    print("value and grad of log_product_sine at (2, 5):")
    print("   ", ad.value_and_grad(log_product_sine, wrt=(0, 1))(2.0, 5.0))
    print("d product / (da, db) at (1, 2, 3):", ad.grad(product, wrt=("a", "b"))(1.0, 2.0, 3.0))
    print("d/dx (x + x**2) at 3:", ad.derivative(square_plus)(3.0))
    print()
    print(ad.source(product, wrt=("a", "b")))
