"""Control flow in both modes: a loop, a ``while`` left by ``break``, a branch in a loop.

Print the derivative code s2s_ad emits for any of them:

    s2s-ad examples/control_flow.py:power
    s2s-ad examples/control_flow.py:grow
    s2s-ad examples/control_flow.py:clip_sum --mode forward
"""


def power(A: float, k: int) -> float:
    """The lecture's A**k by a Python loop: d/dA = k A**(k-1)."""
    result = 1
    for i in range(k):
        result = result * A
    return result


def grow(x: float, limit: float) -> float:
    """Iterate y <- y*y + x until y passes ``limit``."""
    y = x
    while True:
        y = y * y + x
        if y > limit:
            break
    return y


def clip_sum(x: float, n: int) -> float:
    """Add x*i while the sum is below 1, subtract x once it is not."""
    s = 0.0
    for i in range(n):
        if s < 1.0:
            s = s + x * i
        else:
            s = s - x
    return s


if __name__ == "__main__":
    import s2s_ad as ad

    print("d/dA A**3 at 1.5:", ad.grad(power)(1.5, 3))
    print("d/dx grow(x, 10) at 0.9:", ad.grad(grow)(0.9, 10.0))
    print("d/dx clip_sum(x, 6) at 0.3:", ad.grad(clip_sum)(0.3, 6))
    print()
    print(ad.source(power))
