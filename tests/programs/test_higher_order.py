"""Hessians, Hessian-vector products, Jacobians and the vector-calculus family.

Every result is compared with an independent oracle: a Hessian written out by
hand, or central finite differences of a first derivative in float64.  The
second derivatives come from forward mode applied to the emitted gradient
code (forward-over-reverse), through its stacks, branches and loops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2s_ad as ad

RNG = np.random.default_rng(5)


def fd_jacobian(f, x, h=1e-6):
    """Central differences of ``f`` (any output shape) at ``x``: ``out.shape + x.shape``."""
    x = np.asarray(x, dtype=float)
    columns = []
    for k in range(x.size):
        step = np.zeros_like(x)
        step.flat[k] = h
        columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * h))
    out_shape = np.shape(columns[0])
    return np.stack([np.reshape(c, -1) for c in columns], axis=-1).reshape(out_shape + x.shape)


# ------------------------------------------------------------- functions


def quadratic(x, A):
    return 0.5 * x @ A @ x


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_loop(x):
    total = 0.0
    for i in range(len(x) - 1):
        total = total + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return total


def rosenbrock_hessian(x):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


def horner(a, b, n):
    """``a * (1 + b + ... + b**n)``, by a loop that overwrites ``s``."""
    s = a
    for _ in range(n):
        s = s * b + a
    return s


def horner_hessian(a, b, n):
    d_ab = sum(k * b ** (k - 1) for k in range(1, n + 1))
    d_bb = a * sum(k * (k - 1) * b ** (k - 2) for k in range(2, n + 1))
    return np.array([[0.0, d_ab], [d_ab, d_bb]])


def branchy(x):
    if x[0] > 0:
        return x[0] ** 2 * x[1]
    return np.sin(x[0]) * x[1] ** 2


def branchy_hessian(x):
    a, b = x
    if a > 0:
        return np.array([[2 * b, 2 * a], [2 * a, 0.0]])
    return np.array([[-np.sin(a) * b**2, 2 * b * np.cos(a)], [2 * b * np.cos(a), 2 * np.sin(a)]])


def while_loop(x):
    """A ``while`` loop whose trip count depends on the input, and a branch inside it."""
    s = x
    k = 0
    while k < 4 and s < 10.0:
        if s > 1.0:
            t = math.log(s)
            s = s * (t + 2.0)
        else:
            s = s + math.exp(s)
        k += 1
    return s * s


# ---------------------------------------------------------------- Hessian


def test_hessian_of_a_quadratic_form_is_the_symmetric_part():
    A = RNG.standard_normal((4, 4))
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(ad.hessian(quadratic)(x, A), (A + A.T) / 2, rtol=1e-12)


@pytest.mark.parametrize("n", [5, 50])
@pytest.mark.parametrize("f", [rosenbrock, rosenbrock_loop], ids=["sliced", "loop"])
def test_hessian_of_rosenbrock(f, n):
    x = RNG.uniform(-1.5, 1.5, n)
    np.testing.assert_allclose(ad.hessian(f)(x), rosenbrock_hessian(x), rtol=1e-10, atol=1e-9)


def test_hessian_through_a_loop_that_overwrites_its_variable():
    H = ad.hessian(horner, wrt=(0, 1))(0.7, 1.3, 6)
    expected = horner_hessian(0.7, 1.3, 6)
    np.testing.assert_allclose(np.array(H), expected, rtol=1e-12)


@pytest.mark.parametrize("x", [[0.8, -1.1], [-0.6, 1.7]], ids=["then", "else"])
def test_hessian_through_a_branch(x):
    x = np.array(x)
    np.testing.assert_allclose(ad.hessian(branchy)(x), branchy_hessian(x), rtol=1e-12)


@pytest.mark.parametrize("x", [0.3, 0.9, 1.5, 4.0])
def test_second_derivative_through_a_while_loop_with_a_branch(x):
    expected = fd_jacobian(ad.grad(while_loop), x)
    assert ad.hessian(while_loop)(x) == pytest.approx(float(expected), rel=1e-7)


def test_hessian_blocks_follow_jax_conventions():
    def f(x, w):
        return np.sum(np.tanh(w @ x))

    x, w = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    H = ad.hessian(f, wrt=(0, 1))(x, w)
    assert [[block.shape for block in row] for row in H] == [
        [(3, 3), (3, 2, 3)],
        [(2, 3, 3), (2, 3, 2, 3)],
    ]
    np.testing.assert_allclose(H[0][1], fd_jacobian(lambda w_: ad.grad(f)(x, w_), w), atol=1e-8)
    np.testing.assert_allclose(H[1][0], fd_jacobian(lambda x_: ad.grad(f, 1)(x_, w), x), atol=1e-8)
    np.testing.assert_allclose(H[1][1], fd_jacobian(lambda w_: ad.grad(f, 1)(x, w_), w), atol=1e-8)


def test_hessian_keeps_float32():
    x = np.array([0.5, -0.25, 1.0], dtype=np.float32)
    H = ad.hessian(lambda v: np.sum(v**3))(x)
    assert H.dtype == np.float32
    np.testing.assert_allclose(H, np.diag(6 * x), rtol=1e-6)


# -------------------------------------------------------------------- HVP


@pytest.mark.parametrize("f", [rosenbrock, rosenbrock_loop], ids=["sliced", "loop"])
def test_hvp_is_the_hessian_times_v(f):
    x, v = RNG.uniform(-1, 1, 7), RNG.standard_normal(7)
    np.testing.assert_allclose(ad.hvp(f)(x, v), rosenbrock_hessian(x) @ v, rtol=1e-10)


def test_hvp_with_several_arguments_takes_and_gives_tuples():
    def f(x, y):
        return np.sum(x**2 * y) + np.sum(y**3)

    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    vx, vy = RNG.standard_normal(3), RNG.standard_normal(3)
    hx, hy = ad.hvp(f, wrt=(0, 1))(x, y, (vx, vy))
    np.testing.assert_allclose(hx, 2 * y * vx + 2 * x * vy, rtol=1e-12)
    np.testing.assert_allclose(hy, 2 * x * vx + 6 * y * vy, rtol=1e-12)


def test_hvp_refuses_a_v_of_the_wrong_shape():
    with pytest.raises(
        TypeError, match=r"v for 'x' must have the argument's shape \(3,\), got shape \(2,\)"
    ):
        ad.hvp(rosenbrock)(np.ones(3), np.ones(2))


# --------------------------------------------------------------- Jacobian


def r3_to_r5(x):
    return np.array([x[0] * x[1], np.sin(x[2]), x[0] ** 2, x[1] * x[2] ** 2, np.exp(x[0])])


def r5_to_r2(x):
    return np.array([np.sum(x**2), np.prod(np.tanh(x))])


def matrix_in(X):
    return np.array([np.sum(X**3), X[0, 1] * X[1, 2], np.sum(np.sin(X) * X)])


@pytest.mark.parametrize(
    "f,x",
    [
        (r3_to_r5, RNG.standard_normal(3)),
        (r5_to_r2, RNG.standard_normal(5)),
        (matrix_in, RNG.standard_normal((2, 3))),
    ],
    ids=["R3->R5", "R5->R2", "(2,3)->R3"],
)
def test_jacobian_modes_agree_with_each_other_and_with_finite_differences(f, x):
    expected = fd_jacobian(f, x)
    results = {mode: ad.jacobian(f, mode=mode)(x) for mode in ("forward", "reverse", "auto")}
    for mode, J in results.items():
        assert J.shape == expected.shape, mode
        np.testing.assert_allclose(J, expected, rtol=1e-7, atol=1e-8, err_msg=mode)
    np.testing.assert_allclose(results["forward"], results["reverse"], rtol=1e-13)


def test_jacobian_of_a_scalar_function_is_its_gradient():
    x = RNG.standard_normal(4)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(ad.jacobian(rosenbrock, mode=mode)(x), ad.grad(rosenbrock)(x))


def test_jacobian_with_several_arguments_gives_one_per_argument():
    def f(x, a):
        return x * a

    x, a = RNG.standard_normal(3), 2.5
    for mode in ("forward", "reverse"):
        Jx, Ja = ad.jacobian(f, wrt=(0, 1), mode=mode)(x, a)
        np.testing.assert_allclose(Jx, 2.5 * np.eye(3))
        np.testing.assert_allclose(Ja, x)


def test_jacobian_through_a_loop_in_forward_mode():
    def f(x):
        ys = []
        for i in range(3):
            ys.append(x[i] * x[(i + 1) % 3])
        return np.array(ys)

    x = RNG.standard_normal(3)
    np.testing.assert_allclose(ad.jacobian(f, mode="forward")(x), fd_jacobian(f, x), rtol=1e-8)


def test_jacobian_refuses_an_unknown_mode():
    with pytest.raises(TypeError, match="mode must be one of"):
        ad.jacobian(r3_to_r5, mode="sideways")


# --------------------------------------------------------- vector calculus


def test_laplacian_of_a_harmonic_and_a_radial_function():
    def harmonic(p):
        return p[0] ** 2 - p[1] ** 2 + p[0] * p[1] * p[2]

    def radial(p):
        return np.exp(-np.sum(p**2))

    p = RNG.standard_normal(3)
    assert ad.laplacian(harmonic)(p) == pytest.approx(0.0, abs=1e-12)
    r2 = np.sum(p**2)
    expected = (4 * r2 - 6) * np.exp(-r2)  # (4 r^2 - 2n) e^{-r^2} in n = 3 dimensions
    assert ad.laplacian(radial)(p) == pytest.approx(expected, rel=1e-12)


def test_divergence_of_known_fields():
    def field(p):
        return np.array([p[0] ** 2 * p[1], np.sin(p[1]) * p[2], p[2] ** 3])

    p = RNG.standard_normal(3)
    expected = 2 * p[0] * p[1] + np.cos(p[1]) * p[2] + 3 * p[2] ** 2
    assert ad.divergence(field)(p) == pytest.approx(expected, rel=1e-12)
    assert ad.divergence(lambda q: q * 2.0)(np.ones(4)) == pytest.approx(8.0)


def test_curl_of_known_fields():
    def rotation(p):
        return np.array([-p[1], p[0], 0.0 * p[2]])

    def field(p):
        x, y, z = p[0], p[1], p[2]
        return np.array([y * z**2, x * np.sin(z), x * y * z])

    p = RNG.standard_normal(3)
    np.testing.assert_allclose(ad.curl(rotation)(p), [0.0, 0.0, 2.0])
    x, y, z = p
    expected = [x * z - x * np.cos(z), 2 * y * z - y * z, np.sin(z) - z**2]
    np.testing.assert_allclose(ad.curl(field)(p), expected, rtol=1e-12)
    grad_field = ad.grad(lambda q: np.sin(q[0]) * q[1] * q[2] ** 2)
    np.testing.assert_allclose(ad.curl(grad_field)(p), 0.0, atol=1e-12)  # curl grad = 0


def test_vector_calculus_refuses_the_wrong_shapes():
    with pytest.raises(TypeError, match="R\\^3 -> R\\^3"):
        ad.curl(lambda p: p * 2.0)(np.ones(2))
    with pytest.raises(TypeError, match="R\\^n -> R\\^n"):
        ad.divergence(lambda p: p[:2])(np.ones(3))


# ------------------------------------------------------------------ nesting


def cubic(x, y):
    return x**3 * y + np.sin(x)


def test_forward_over_reverse_by_the_user():
    _, second = ad.jvp(ad.grad(cubic), (2.0, 1.5), (1.0, None))
    assert second == pytest.approx(6 * 2.0 * 1.5 - math.sin(2.0), rel=1e-14)
    assert ad.derivative(ad.derivative(lambda x: x**4))(2.0) == pytest.approx(48.0)


def test_reverse_over_reverse_of_straight_line_code():
    assert ad.grad(ad.grad(cubic))(2.0, 1.5) == pytest.approx(6 * 2.0 * 1.5 - math.sin(2.0))


def uses_grad_inside(x):
    return ad.grad(cubic)(x, 2.0) * x


def uses_loop_grad_inside(x):
    return ad.grad(horner)(x, 1.1, 3) ** 2


def test_grad_of_a_function_that_calls_grad():
    assert ad.check_grad(uses_grad_inside, 1.5) < 1e-6
    # d/dx [x * (6 x^2 + cos x)] = 18 x^2 + cos x - x sin x
    expected = 18 * 1.5**2 + math.cos(1.5) - 1.5 * math.sin(1.5)
    assert ad.grad(uses_grad_inside)(1.5) == pytest.approx(expected, rel=1e-12)


def grad_of_a_pair(x):
    """The gradient, made inside, of a function of a tuple: a tuple, as at top level."""
    h = ad.grad(lambda t: t[0] * t[1] ** 2)
    g = h((x, 2.0 * x))
    return (1.0 if isinstance(g, tuple) else 0.0) + g[0] * g[1]


def test_a_gradient_made_inside_has_the_tuple_type_of_its_argument():
    """t[0] t[1]^2 at (x, 2x) has the gradient (4x^2, 4x^2): the value is 1 + 16 x^4, whose
    derivative is 64 x^3, in both modes; the value would be 16 x^4 for a list."""
    x = 1.5
    assert grad_of_a_pair(x) == pytest.approx(1 + 16 * x**4, rel=1e-12)
    value, slope = ad.value_and_grad(grad_of_a_pair)(x)
    assert value == pytest.approx(1 + 16 * x**4, rel=1e-12)
    assert slope == pytest.approx(64 * x**3, rel=1e-12)
    assert ad.jvp(grad_of_a_pair, (x,), (1.0,)) == pytest.approx((1 + 16 * x**4, 64 * x**3))
    assert ad.check_grad(grad_of_a_pair, x) < 1e-5
    value, tangent = ad.jvp(returns_grad_of_a_pair, (x,), (1.0,))
    assert type(value) is tuple and type(tangent) is tuple
    assert value == pytest.approx((4.0, 4 * x)) and tangent == pytest.approx((0.0, 4.0))


def returns_grad_of_a_pair(x):
    return ad.grad(lambda t: t[0] * t[1] ** 2)((x, 2.0))


def test_reverse_over_reverse_of_code_with_stacks():
    _, tangent = ad.jvp(uses_loop_grad_inside, (0.5,), (1.0,))
    assert tangent == pytest.approx(0.0)  # d/da of the gradient in a: it does not depend on a
    # the emitted gradient's stack (append/pop) is differentiated in reverse mode again
    a, b, n = 0.5, 1.1, 3
    assert ad.grad(ad.grad(horner, wrt=1), wrt=1)(a, b, n) == pytest.approx(
        horner_hessian(a, b, n)[1, 1], rel=1e-12
    )
    assert ad.grad(ad.grad(horner, wrt=1), wrt=0)(a, b, n) == pytest.approx(
        horner_hessian(a, b, n)[0, 1], rel=1e-12
    )


# -------------------------------------------- lists, reversed loops, regressions


def appended(x):
    ys = []
    for i in range(3):
        ys.append(x * (i + 1))
    last = ys.pop()
    return ys[1] * last + ys[0]


def test_list_append_and_pop_in_forward_mode():
    _, tangent = ad.jvp(appended, (1.5,), (1.0,))
    assert tangent == pytest.approx(12 * 1.5 + 1)  # d/dx (2x * 3x + x)


def test_list_append_and_pop_in_reverse_mode():
    assert ad.grad(appended)(1.5) == pytest.approx(12 * 1.5 + 1)


def backwards(x, n):
    s = x
    for i in reversed(range(n)):
        s = s * x + i
        if s > 50.0:
            break
    return s


@pytest.mark.parametrize("x", [0.5, 1.3, 3.0])
def test_loops_over_reversed_ranges_in_both_modes(x):
    expected = float(fd_jacobian(lambda v: backwards(float(v), 6), x))
    assert ad.grad(backwards)(x, 6) == pytest.approx(expected, rel=1e-7)
    assert ad.derivative(backwards)(x, 6) == pytest.approx(expected, rel=1e-7)


def branch_in_loop(x):
    acc = x
    for _ in range(2):
        if x < 0:
            t = math.tanh(acc)
            acc = acc * (t + 2)
    return acc


def test_a_variable_assigned_in_a_branch_of_a_loop_gets_a_fresh_adjoint_each_trip():
    # Was wrong: the adjoint of `t` carried over from the trip after.
    expected = float(fd_jacobian(lambda v: branch_in_loop(float(v)), -0.5))
    assert ad.grad(branch_in_loop)(-0.5) == pytest.approx(expected, rel=1e-8)


def concatenated_and_stacked(x):
    xs = [x, x**2]
    return np.sum(np.concatenate(xs) ** 2) + np.sum(np.stack(xs) ** 3)


def test_a_list_used_twice_gets_its_adjoints_added_item_by_item():
    # Was wrong: the two adjoints of `xs` were joined with `+`, concatenating the lists.
    x = np.array([0.5, -1.0])
    expected = 2 * x + 4 * x**3 + 3 * x**2 + 6 * x**5
    np.testing.assert_allclose(ad.grad(concatenated_and_stacked)(x), expected, rtol=1e-12)
