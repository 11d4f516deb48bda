"""Small programs the stage tests feed to lower, forward and reverse, and how to run them.

The programs are plain module-level functions (s2s_ad reads their source).
:data:`VALUE_CASES` lists arguments on which forward and reverse mode must
both agree with central differences; :func:`run` emits a transform through
the pipeline for the arguments' kinds and binds it.
"""

import inspect
import math

import numpy as np

from s2s_ad.compiler import pipeline
from s2s_ad.compiler.spec import Spec
from s2s_ad.rules import kind_of_value


def product(x, a, b):
    return (x + a) * (x + b)


def with_constant(x, c):
    k = c * c
    return x * k + c


def unused_work(x):
    u = math.exp(x)  # noqa: F841 (a value that does not reach the output)
    return x * 3.0


def two_outputs(x, y):
    return x * y, x + y, 3.0


def ignores_y(x, y):
    return x * 2.0


def chain(x, y):
    a = x * y
    b = math.sin(a)
    c = b * x
    return c


def fan(x):
    y = x * x
    return y + y * x


def recurrence(x, n):
    for _ in range(n):
        x = math.sin(x) * x
    return x


def doubling(x, n):
    for _ in range(n):
        x = x * 2.0
    return x


def until_large(x):
    while x < 10.0:
        x = x * 1.7 + math.sin(x)
    return x


def with_break(x, n):
    for _ in range(n):
        x = x * math.cos(x) + 1.0
        if x > 3.0:
            break
    return x


def branch(x, y):
    if x > y:
        z = x * y
    else:
        z = y / x
    return z * z


def early_return(x, n):
    for _ in range(n):
        x = x * 1.5
        if x > 4.0:
            return x * x
    return -x


def helper(u):
    return u * u * u


def calls_helper(x, y):
    return helper(x * y) + x


def stacked(x):
    xs = []
    xs.append(x * x)
    xs.append(math.sin(x))
    return xs.pop() * xs.pop()


def over_items(xs):
    s = 0.0
    for v in xs:
        s = s * 0.5 + v * v
    return s


def written_into(x):
    y = np.zeros(3)
    y[0] = x[0] * x[1]
    y[2] = np.sin(x[2])
    return np.sum(y * x)


def weighted(x, w):
    return np.sum(np.exp(x) * w)


def elementwise(x):
    return np.sin(x) * x


# name -> (function, arguments, positions of the differentiated ones)
VALUE_CASES = {
    "product": (product, (0.7, 1.5, -2.0), (0, 1, 2)),
    "product wrt a": (product, (0.7, 1.5, -2.0), (1,)),
    "constant": (with_constant, (0.7, 1.3), (0, 1)),
    "chain": (chain, (0.7, 1.3), (0, 1)),
    "fan": (fan, (1.1,), (0,)),
    "recurrence": (recurrence, (0.9, 4), (0,)),
    "while": (until_large, (1.2,), (0,)),
    "break taken": (with_break, (1.5, 5), (0,)),
    "break not taken": (with_break, (0.1, 2), (0,)),
    "branch taken": (branch, (2.0, 1.5), (0, 1)),
    "branch not taken": (branch, (1.0, 1.5), (0, 1)),
    "return in loop": (early_return, (1.0, 6), (0,)),
    "return after loop": (early_return, (1.0, 2), (0,)),
    "user function": (calls_helper, (0.8, 1.2), (0, 1)),
    "items": (over_items, (np.array([0.3, -1.2, 2.0, 0.5]),), (0,)),
    "written into": (written_into, (np.array([0.5, -1.0, 2.0]),), (0,)),
    "arrays": (weighted, (np.linspace(-1.0, 1.0, 5), np.linspace(2.0, 3.0, 5)), (0, 1)),
}


def wrt_of(fn, positions) -> tuple:
    """The names of ``fn``'s parameters at ``positions``."""
    params = list(inspect.signature(fn).parameters)
    return tuple(params[p] for p in positions)


def run(fn, mode, wrt, args, optimize=True):
    """``fn``'s transform emitted for the kinds of ``args`` and bound, ready to call."""
    spec = Spec(mode, wrt, tuple(kind_of_value(a) for a in args), optimize=optimize)
    return pipeline.build(fn, spec).bind(fn)
