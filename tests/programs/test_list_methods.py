"""Reverse mode of lists (issue 17): ``append``, ``pop``, ``extend`` on lists of varied values.

Reverse mode writes them as new values (``xs = appended(xs, v)``, ``xs = xs[:-1]``;
``xs.extend(items)`` is a loop of appends), so a list built in a loop and fed to
``np.stack``, ``np.array`` or ``sum`` has a gradient, and the emitted gradient's own
stack can be differentiated again: ``grad(grad(f))`` of a loop.  First derivatives
are checked in every mode against central differences; second ones (HVPs,
Hessians) against central differences of the gradient or closed forms.  The
gradient that another transform differentiates pushes whole lists on its stack, which
reverse mode follows too: reverse-over-reverse is checked against forward-over-reverse.
A gradient that is only run appends in place, so a loop of appends is O(n).
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference
from control_harness import MODES, check_derivatives


def stacked_in_a_loop(x, n=3):
    ys = []
    for i in range(n):
        ys.append(np.sin(x * (i + 1)))
    return np.sum(np.stack(ys) ** 2)


def summed_in_a_loop(x, n=3):
    ys = []
    for i in range(n):
        ys.append(np.sin(x * (i + 1)) * x)
    return np.sum(sum(ys))


def arrayed_in_a_loop(x, n=3):
    ys = []
    for i in range(n):
        ys.append(np.cos(x * i) + x)
    return np.sum(np.array(ys) * np.arange(1.0, n + 1)[:, None])


def popped(x):
    ys = [x, 2 * x, np.exp(x)]
    a = ys.pop()
    return np.sum(a * np.stack(ys))


def popped_in_a_loop(x, n=3):
    ys = []
    for i in range(n):
        ys.append(x ** (i + 1))
    total = 0.0
    while ys:
        total = total + np.sum(np.sin(ys.pop()) * (len(ys) + 1))
    return total


def extended(x):
    ys = [x]
    ys.extend([np.sin(x), x * x])
    return np.sum(np.stack(ys) * np.arange(1.0, 4.0)[:, None])


def extended_in_a_loop(x):
    ys = []
    for i in range(3):
        more = (np.cos(x + i), x ** (i + 1))
        ys.extend(more)
    ys.extend(ys[:2])
    return np.sum(np.array(ys) ** 2)


def scalars_appended(x):
    ys = []
    for i in range(4):
        ys.append(x * i + x * x)
    return sum(ys) * x


def tuple_items_read_in_a_loop(x):
    total = 0.0
    for i in range(3):
        pair = (np.cos(x + i), x * x)
        total = total + pair[0] * pair[1]
    return np.sum(total)


PROGRAMS = [
    stacked_in_a_loop,
    summed_in_a_loop,
    arrayed_in_a_loop,
    popped,
    popped_in_a_loop,
    extended,
    extended_in_a_loop,
    tuple_items_read_in_a_loop,
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", PROGRAMS)
def test_lists_built_by_append(mode, f):
    check_derivatives(mode, f, (np.array([0.3, -0.7]),), wrt=0)


@pytest.mark.parametrize("mode", MODES)
def test_scalars_appended(mode):
    check_derivatives(mode, scalars_appended, (0.6,), wrt=0)


@pytest.mark.parametrize("f", PROGRAMS)
def test_hessian_vector_product_of_a_list_built_by_append(f):
    x, v = np.array([0.3, -0.7]), np.array([1.0, 0.5])
    gradient = ad.grad(f)

    def directional(x):
        return float(np.dot(gradient(x), v))

    expected = central_difference(directional, (x,), 0)
    np.testing.assert_allclose(ad.hvp(f)(x, v), expected, rtol=1e-6, atol=1e-7)


def test_hessian_of_appended_scalars():
    x = 0.6  # f = x * sum_i (i x + x^2) = 6 x^2 + 4 x^3, f'' = 12 + 24 x
    assert ad.hessian(scalars_appended)(x) == pytest.approx(12 + 24 * x, rel=1e-12)


def test_reverse_over_reverse_of_appended_scalars():
    # the gradient of code that appends pushes whole lists on its stack: a list of lists,
    # whose appends reverse mode follows too
    x = 0.6  # f = 6 x^2 + 4 x^3, f'' = 12 + 24 x
    assert ad.grad(ad.grad(scalars_appended))(x) == pytest.approx(12 + 24 * x, rel=1e-12)


@pytest.mark.parametrize("f", PROGRAMS)
def test_reverse_over_reverse_of_a_list_built_by_append(f):
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(
        ad.jacobian(ad.grad(f), mode="reverse")(x), ad.hessian(f)(x), rtol=1e-9, atol=1e-10
    )


@pytest.mark.parametrize("f", [stacked_in_a_loop, summed_in_a_loop, scalars_appended])
def test_a_gradient_appends_in_place_in_its_loop(f):
    """No list is copied on each trip (``appended``) or saved on the stack: the gradient's
    primal loop calls ``ys.append``, as the user's code does (checked by the source, not
    by timing; the derivatives are checked above)."""
    text = ad.source(f)
    assert "ys.append(" in text and "appended(" not in text
    assert "stack.append(ys)" not in text
    loop = text[text.index("for i in range") : text.index("# adjoint sweep")]
    assert "ys.append(" in loop


def test_the_gradient_of_a_long_loop_of_appends_stays_right():
    n = 400  # the list is appended to in place; each item's cotangent is its own
    x = 0.3  # d/dx x sum_i sin((i + 1) x)
    expected = sum(np.cos(x * (i + 1)) * (i + 1) for i in range(n))
    assert ad.grad(summed_in_a_loop)(x, n) == pytest.approx(
        expected * x + sum(np.sin(x * (i + 1)) for i in range(n)), rel=1e-10
    )


def summed_twice(xs):
    return sum(xs) + np.sum(np.array(xs) ** 2)


@pytest.mark.parametrize("make", [list, tuple])
def test_a_list_argument_used_twice_gets_its_cotangents_added_item_by_item(make):
    # `+` on the two list cotangents would join them: [1, 1, 1, 1] for [2, 2]
    xs = make([1.5, 2.0])
    grad = ad.grad(summed_twice)(xs)
    assert type(grad) is make
    np.testing.assert_allclose(grad, [1 + 2 * xs[0], 1 + 2 * xs[1]], rtol=1e-12)


def taylor_appends_and_pops(s):
    xs = []
    for k in range(1, 4):
        xs.append(np.sin(s * k))
    xs.extend([s * s])
    last = xs.pop()
    squares = [x * x for x in xs]
    return sum(squares) * last + np.sum(np.stack(xs) ** 3)


def taylor_closed_form(s, n):
    """The n-th derivative of taylor_appends_and_pops, s^2 g(s) + h(s) with
    g = sum_k sin(ks)^2 = sum_k (1 - cos 2ks) / 2 and h = sum_k sin(ks)^3 =
    sum_k (3 sin ks - sin 3ks) / 4, by Leibniz's rule on s^2 g."""

    def g(m):
        if m == 0:
            return sum((1 - np.cos(2 * k * s)) / 2 for k in range(1, 4))
        return sum(-((2 * k) ** m) * np.cos(2 * k * s + m * np.pi / 2) / 2 for k in range(1, 4))

    def d_sin(a, m):
        return a**m * np.sin(a * s + m * np.pi / 2)

    h = sum((3 * d_sin(k, n) - d_sin(3 * k, n)) / 4 for k in range(1, 4))
    return s * s * g(n) + 2 * n * s * g(n - 1) + n * (n - 1) * g(n - 2) + h


@pytest.mark.parametrize("order", [2, 3, 4])
def test_taylor_mode_of_a_list_built_by_append_pop_and_a_comprehension(order):
    s = 0.7
    expected = taylor_closed_form(s, order)
    assert ad.derivative(taylor_appends_and_pops, order=order)(s) == pytest.approx(expected)
