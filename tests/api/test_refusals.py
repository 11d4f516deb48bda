"""Clear refusals (issue 3): yield, async def, try, with, global / nonlocal
writes, classes defined inside, *args forwarding.

Each raises ``ad.TransformError`` pointing at its own line (in this file; the
line carries a marker comment ``# <name>``), quoting that line and suggesting
what to do, in both modes and through ``ad.source`` as well as the first call
of ``ad.grad`` / ``ad.jvp``.  That loops, branches and calls are now supported
must not hide a refused construct inside them, nor inside a called function.
"""

import os
from pathlib import Path

import numpy as np
import pytest

import s2s_ad as ad

SOURCE_LINES = Path(__file__).read_text().splitlines()


def line_of(name):
    """The 1-based line number of the line carrying ``# <name>``."""
    hits = [i + 1 for i, line in enumerate(SOURCE_LINES) if line.endswith(f"# <{name}>")]
    assert len(hits) == 1, (name, hits)
    return hits[0]


# ----------------------------------------------------- refused functions


def generator(x):
    y = x * x
    yield y  # <yield>


def yield_in_loop(x):
    for i in range(3):
        if i > 0:
            yield x * i  # <yield-in-loop>


async def coroutine(x):  # <async>
    return x * x


def try_except(x):
    y = x * x
    try:  # <try>
        y = y / x
    except ZeroDivisionError:
        y = x
    return y


def try_finally_in_loop(x):
    s = x
    for _ in range(2):
        try:  # <try-in-loop>
            s = s * x
        finally:
            s = s + 1.0
    return s


def with_statement(x):
    y = x + 1.0
    with np.printoptions(precision=3):  # <with>
        y = y * x
    return y


def with_in_branch(x):
    y = x * 2.0
    if y > 1.0:
        with open(__file__) as handle:  # <with-in-branch>
            y = y * len(handle.readline())
    return y


CALLS = 0


def global_write(x):
    global CALLS  # <global>
    CALLS = CALLS + 1  # <global-write>
    return x * x


def make_accumulator():
    total = 0.0

    def accumulate(x):
        nonlocal total  # <nonlocal>
        total = total + x  # <nonlocal-write>
        return total * x

    return accumulate


ACCUMULATE = make_accumulator()


def nonlocal_in_nested_def(x):
    acc = 0.0

    def add(v):
        nonlocal acc  # <nested-nonlocal>
        acc = acc + v  # <nested-nonlocal-write>

    add(x * x)
    return acc


def class_inside(x):
    class Point:  # <class>
        scale = 2.0

    return Point.scale * x


def helper(a, b):
    return a * b


def starred_call(x, y):
    first, *rest = (x, y)  # <starred>
    return helper(first, rest[0])


def forwards_varargs(x, *rest):  # <varargs-def>
    return helper(x, *rest)  # <varargs>


def calls_a_refused_function(x):
    return try_except(x) * 2.0


# name -> (function, markers of the accepted lines, a word the first line names, args)
REFUSED = {
    "yield": (generator, ("yield",), "yield", (1.5,)),
    "yield in a loop": (yield_in_loop, ("yield-in-loop",), "yield", (1.5,)),
    "async def": (coroutine, ("async",), "async", (1.5,)),
    "try": (try_except, ("try",), "try", (1.5,)),
    "try in a loop": (try_finally_in_loop, ("try-in-loop",), "try", (1.5,)),
    "with": (with_statement, ("with",), "with", (1.5,)),
    "with in a branch": (with_in_branch, ("with-in-branch",), "with", (1.5,)),
    # The declaration or the write: either is the offending line.
    "global write": (global_write, ("global", "global-write"), "global", (1.5,)),
    "nonlocal write": (ACCUMULATE, ("nonlocal", "nonlocal-write"), "nonlocal", (1.5,)),
    "nonlocal write in a nested def": (
        nonlocal_in_nested_def,
        ("nested-nonlocal", "nested-nonlocal-write"),
        "nonlocal",
        (1.5,),
    ),
    "class inside": (class_inside, ("class",), "class", (1.5,)),
    "starred assignment": (starred_call, ("starred",), "*", (1.5, 2.0)),
    # The forwarding call or the signature that collects the arguments.
    "*args parameter forwarded": (forwards_varargs, ("varargs", "varargs-def"), "*", (1.5,)),
    # The error is at the construct's own line, inside the callee.
    "refused inside a callee": (calls_a_refused_function, ("try",), "try", (1.5,)),
}

SUGGESTIONS = ("rewrite", "instead", "use ", "move ", "pass ", "define ", "list ")

HOW = {
    "source reverse": lambda f, args: ad.source(f),
    "source forward": lambda f, args: ad.source(f, mode="forward"),
    "grad": lambda f, args: ad.grad(f)(*args),
    "value_and_grad": lambda f, args: ad.value_and_grad(f)(*args),
    "vjp": lambda f, args: ad.vjp(f, *args)[1](1.0),
    "jvp": lambda f, args: ad.jvp(f, args, (1.0,) + (None,) * (len(args) - 1)),
}


def check_refusal(err, markers, topic):
    """``err`` points at one of the marked lines, quotes it, names the construct, suggests."""
    assert isinstance(err, ad.TransformError), type(err)
    message = str(err)
    assert err.filename is not None and os.path.samefile(err.filename, __file__), err.filename
    lines = [line_of(m) for m in markers]
    assert err.lineno in lines, f"line {err.lineno}, expected one of {lines}:\n{message}"
    quoted = SOURCE_LINES[err.lineno - 1].split("  # <")[0].strip()
    assert quoted in message, f"{quoted!r} is not quoted in:\n{message}"
    assert message.startswith(f"{err.filename}:{err.lineno}:"), message
    assert topic in message.splitlines()[0].lower(), message
    # A suggestion: a line of its own after the quoted line and its caret, or in the message.
    after_caret = message.split("^", 1)[1].strip() if "^" in message else ""
    assert after_caret or any(word in message.lower() for word in SUGGESTIONS), (
        f"no suggestion in:\n{message}"
    )


@pytest.mark.parametrize("how", sorted(HOW))
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_construct(name, how):
    f, markers, topic, args = REFUSED[name]
    with pytest.raises(ad.TransformError) as info:
        HOW[how](f, args)
    check_refusal(info.value, markers, topic)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusal_is_not_cached_as_a_success(name):
    f, markers, topic, args = REFUSED[name]
    for _ in range(2):
        with pytest.raises(ad.TransformError) as info:
            ad.grad(f)(*args)
        check_refusal(info.value, markers, topic)
