"""The np.linalg factorizations in whole programs, against results that do not use their rules.

``test_rules_numpy.py`` checks each rule against finite differences; here a factorization's
derivative is compared with the derivative of an equivalent program built from other
primitives (``pinv(A) = (A^T A)^-1 A^T``), with a closed form (the nuclear norm's gradient is
``U V^T``), or with the identity (a factorization multiplied back together is its input, so
its JVP and VJP are the identity: every component's derivative is used at once).
"""

import numpy as np
import pytest

import s2s_ad as ad

RNG = np.random.default_rng(20260301)
TALL = RNG.standard_normal((5, 3))
WIDE = RNG.standard_normal((3, 5))
SQUARE = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
B = RNG.standard_normal(5)
W = RNG.standard_normal((3, 5))


def close(ours, expected):
    np.testing.assert_allclose(ours, expected, rtol=1e-8, atol=1e-10)


# ------------------------------------------------ equal programs, equal derivatives


def pinv_weighted(a, w):
    return np.sum(w * np.linalg.pinv(a))


def normal_equations_weighted(a, w):
    return np.sum(w * (np.linalg.inv(a.T @ a) @ a.T))


def lstsq_solution(a, b, c):
    return np.sum(c * np.linalg.lstsq(a, b)[0])


def normal_equations_solution(a, b, c):
    return np.sum(c * np.linalg.solve(a.T @ a, a.T @ b))


def lstsq_residuals(a, b):
    return np.linalg.lstsq(a, b)[1][0]


def residuals_by_hand(a, b):
    return np.sum((b - a @ np.linalg.solve(a.T @ a, a.T @ b)) ** 2)


def cond(a):
    return np.linalg.cond(a)


def singular_value_ratio(a):
    return np.linalg.norm(a, 2) / np.linalg.norm(a, -2)


def chained_multi_dot(x, y, z):
    return np.sum(np.linalg.multi_dot([x, y, z]) ** 2)


def chained_matmul(x, y, z):
    return np.sum((x @ y @ z) ** 2)


def assert_same_derivatives(f, g, args, wrt):
    """``f`` and ``g`` compute the same function of ``args``: same gradient and same JVP."""
    for ours, expected in zip(ad.grad(f, wrt=wrt)(*args), ad.grad(g, wrt=wrt)(*args)):
        close(ours, expected)
    tangents = [RNG.standard_normal(np.shape(a)) if i in wrt else None for i, a in enumerate(args)]
    close(ad.jvp(f, args, tangents)[1], ad.jvp(g, args, tangents)[1])


def test_pinv_of_a_full_rank_matrix_is_the_normal_equations():
    assert_same_derivatives(pinv_weighted, normal_equations_weighted, (TALL, W), wrt=(0, 1))


def test_lstsq_solution_is_the_normal_equations_in_both_a_and_b():
    c = RNG.standard_normal(3)
    assert_same_derivatives(lstsq_solution, normal_equations_solution, (TALL, B, c), wrt=(0, 1))


def test_lstsq_residuals_are_the_squared_residual_norm():
    assert_same_derivatives(lstsq_residuals, residuals_by_hand, (TALL, B), wrt=(0, 1))


@pytest.mark.parametrize("a", [TALL, WIDE, SQUARE], ids=["tall", "wide", "square"])
def test_cond_is_the_ratio_of_extreme_singular_values(a):
    assert_same_derivatives(cond, singular_value_ratio, (a,), wrt=(0,))


def test_multi_dot_is_chained_matmul():
    assert_same_derivatives(chained_multi_dot, chained_matmul, (TALL.T, TALL, W), wrt=(0, 1, 2))


# ------------------------------------------------------------------ closed forms


def nuclear_norm(a):
    return np.sum(np.linalg.svd(a, compute_uv=False))


def largest_eigenvalue(s):
    return np.linalg.eigh(s + s.T)[0][-1]


@pytest.mark.parametrize("a", [TALL, WIDE], ids=["tall", "wide"])
def test_nuclear_norm_gradient_is_u_vt(a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    close(ad.grad(nuclear_norm)(a), u @ vh)


def test_eigenvalue_gradient_is_its_eigenvector_squared():
    s = RNG.standard_normal((4, 4))
    v = np.linalg.eigh(s + s.T)[1][:, -1]
    close(ad.grad(largest_eigenvalue)(s), 2 * np.outer(v, v))


def eigenvalue_sum(a):
    return np.sum(np.linalg.eigh(a)[0])


def test_repeated_values_do_not_matter_where_the_vectors_are_not_used():
    """The vectors of a repeated eigenvalue (singular value) are not determined, but a
    program that does not use them has a derivative: the trace, the polar factor."""
    close(ad.grad(eigenvalue_sum)(2 * np.eye(3)), np.eye(3))
    q = np.linalg.qr(SQUARE)[0]  # all singular values 1
    close(ad.grad(nuclear_norm)(q), q)


# ------------------------------------------- factorizations multiplied back together


def qr_product(a):
    q, r = np.linalg.qr(a)
    return q @ r


def svd_product(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return (u * s) @ vh


def eigh_product(a):
    w, v = np.linalg.eigh(a)
    return (v * w) @ v.T


def lower_symmetrized(a):
    """What eigh reads from ``a``: its lower triangle, mirrored."""
    return np.tril(a) + np.tril(a, -1).T


@pytest.mark.parametrize("product", [qr_product, svd_product], ids=["qr", "svd"])
@pytest.mark.parametrize("a", [TALL, WIDE, SQUARE], ids=["tall", "wide", "square"])
def test_a_factorization_multiplied_back_has_the_identity_derivative(product, a):
    direction = RNG.standard_normal(a.shape)
    close(ad.jvp(product, (a,), (direction,))[1], direction)
    _, pullback = ad.vjp(product, a)
    close(pullback(direction)[0], direction)


def test_eigh_multiplied_back_reads_the_lower_triangle():
    a = RNG.standard_normal((4, 4)) + np.diag([0.0, 3.0, 6.0, 9.0])
    direction = RNG.standard_normal((4, 4))
    close(ad.jvp(eigh_product, (a,), (direction,))[1], lower_symmetrized(direction))
    _, pullback = ad.vjp(eigh_product, a)
    # the transpose of "mirror the lower triangle": fold the upper triangle onto the lower
    expected = np.tril(direction + direction.T, -1) + np.diag(np.diag(direction))
    close(pullback(direction)[0], expected)


# ------------------------------------------------------------ undetermined results


def full_svd_values(a):
    return np.sum(np.linalg.svd(a)[1])


def complete_qr(a):
    return np.sum(np.linalg.qr(a, mode="complete")[0])


@pytest.mark.parametrize("f", [full_svd_values, complete_qr], ids=["svd", "qr"])
def test_undetermined_columns_of_a_tall_matrix_are_refused_in_both_modes(f):
    with pytest.raises(ValueError, match="any basis of a complement"):
        ad.grad(f)(TALL)
    with pytest.raises(ValueError, match="any basis of a complement"):
        ad.jvp(f, (TALL,), (np.ones_like(TALL),))


def test_full_svd_of_a_square_matrix_is_differentiable():
    u, _, vh = np.linalg.svd(SQUARE)
    close(ad.grad(full_svd_values)(SQUARE), u @ vh)


def qr_factor(a):
    return np.linalg.qr(a)[0]


def eigenvectors(a):
    return np.linalg.eigh(a)[1]


def singular_vectors(a):
    return np.linalg.svd(a, full_matrices=False)[2]


def pinv(a):
    return np.linalg.pinv(a)


@pytest.mark.parametrize("f", [qr_factor, eigenvectors, singular_vectors, pinv, nuclear_norm])
def test_float32_stays_float32(f):
    a = SQUARE.astype(np.float32)
    _, tangent = ad.jvp(f, (a,), (np.ones_like(a),))
    _, pullback = ad.vjp(f, a)
    (cotangent,) = pullback(np.ones_like(f(a)))
    assert np.asarray(tangent).dtype == np.float32
    assert cotangent.dtype == np.float32
