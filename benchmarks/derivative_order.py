"""Code size and speed of ``ad.derivative(f, order=n)``, against nested forward mode.

Taylor mode (``order=n``) propagates truncated Taylor series through ``f`` in
one pass, so its code grows at most linearly with ``n``.  Nesting forward mode
-- differentiating the emitted first derivative again, ``n`` times -- roughly
doubles the code at each order.  This prints Markdown tables of both: lines
and bytes of the emitted source, and the median time of one call of the
emitted function (``timeit``), for a Python float argument and for an array
of 10,000 floats.

    python benchmarks/derivative_order.py                  # n = 1, 2, 4, 8; nested up to 4
    python benchmarks/derivative_order.py --nested-up-to 8  # slow: nested code is large

Needs only NumPy and s2s_ad.
"""

from __future__ import annotations

import argparse
import math
import statistics
import timeit
from typing import Any, Callable, Tuple

import numpy as np

import s2s_ad as ad
from s2s_ad.compiler import pipeline
from s2s_ad.compiler.pipeline import DERIVATIVE, Spec

ORDERS = (1, 2, 4, 8)


def f(x: float) -> float:
    y = math.exp(math.sin(x)) * x / (1 + x * x)
    if x > 0:
        y = y * math.cos(x)
    return y


def f_array(x):
    y = np.exp(np.sin(x)) * x / (1 + x * x)
    return np.where(x > 0, y * np.cos(x), y)


CASES = {  # name: function, argument kind, argument
    "Python float": (f, "scalar", 0.7),
    "array of 10,000 floats": (f_array, "array", np.linspace(-2.0, 2.0, 10_000)),
}


def taylor_mode(fn: Callable, kind: str, order: int) -> Tuple[str, Callable]:
    """The emitted source and function of ``ad.derivative(fn, order=order)``."""
    emitted = pipeline.build(fn, Spec(DERIVATIVE, ("x",), (kind,), order=order))
    return emitted.text, emitted.bind(fn)


def nested_forward_mode(fn: Callable, kind: str, order: int) -> Tuple[str, Callable]:
    """Forward mode applied ``order`` times, each time to the emitted code of the last."""
    text = ""
    for _ in range(order):
        emitted = pipeline.build(fn, Spec(DERIVATIVE, ("x",), (kind,)))
        text, fn = emitted.text, emitted.bind(fn)
    return text, fn


def microseconds_per_call(fn: Callable, x: Any, repeats: int = 7) -> float:
    """The median over ``repeats`` of the time of one call, in microseconds."""
    timer = timeit.Timer(lambda: fn(x))
    number, _ = timer.autorange()
    times = timer.repeat(repeat=repeats, number=number)
    return statistics.median(times) / number * 1e6


def measure(build: Callable, case: tuple, order: int) -> Tuple[int, int, float, Any]:
    fn, kind, x = case
    text, derivative = build(fn, kind, order)
    time = microseconds_per_call(derivative, x)
    return len(text.splitlines()), len(text.encode()), time, derivative(x)


def table(case: tuple, nested_up_to: int) -> str:
    rows = [
        "| n | Taylor lines | Taylor bytes | Taylor µs/call "
        "| nested lines | nested bytes | nested µs/call |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for order in ORDERS:
        *taylor, value = measure(taylor_mode, case, order)
        cells = [f"{order}", f"{taylor[0]}", f"{taylor[1]}", f"{taylor[2]:.1f}"]
        if order <= nested_up_to:
            *nested, nested_value = measure(nested_forward_mode, case, order)
            np.testing.assert_allclose(value, nested_value, rtol=1e-8, atol=1e-10)
            cells += [f"{nested[0]}", f"{nested[1]}", f"{nested[2]:.1f}"]
        else:
            cells += ["-"] * 3
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nested-up-to", type=int, default=4, help="highest order to nest forward mode to"
    )
    args = parser.parse_args()
    print("f(x) = exp(sin(x)) * x / (1 + x*x), times cos(x) where x > 0\n")
    for name, case in CASES.items():
        print(f"{name}:\n\n{table(case, args.nested_up_to)}\n")
    print(f"ad.source(f, mode='derivative', order=4):\n\n{ad.source(f, 'derivative', order=4)}")


if __name__ == "__main__":
    main()
