"""Array programs (issue 4): methods and attributes, indexing, constants and the lecture's
linear-algebra results, in both modes against central differences (the MLP of
examples/mlp_digits.py is checked in test_examples.py).

The rules themselves are walked one by one in ``test_rules_numpy.py``; here they
work together the way user code combines them.
"""

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference
from control_harness import CASE_FIELDS, MODES, case, check_derivatives

RNG = np.random.default_rng(20261122)
X23 = RNG.standard_normal((2, 3))
Y32 = RNG.standard_normal((3, 2))
V3 = RNG.standard_normal(3)

# ============================================== methods and attributes


def methods(x):
    return x.sum() + x.mean(axis=0).sum() + x.max(axis=1).dot(x.min(axis=1)) + x.var()


def reshaping_methods(x):
    y = x.reshape(3, 2) + x.T
    z = x.transpose(1, 0).reshape((6,)) * x.ravel()
    return np.sum(y * y) + z.sum() + x.flatten().prod() + x.std(ddof=1)


def more_methods(x, y):
    return x.dot(y).trace() + x.clip(-0.5, 0.5).cumsum().sum() + np.sum(x.squeeze() ** 2)


def selecting_methods(x):
    picked = x.take([2, 0, 2], axis=1) * x.take(0, axis=1)[:, None]
    return np.sum(picked.conj() ** 2) + x.cumprod(axis=1).sum()


def attribute_t_in_products(w, x):
    return np.sum(np.tanh(x @ w.T) ** 2)


def astype_keeps_floats(x):
    return np.sum(x.astype(np.float64) ** 2)


METHODS = [
    case(methods, X23),
    case(reshaping_methods, X23),
    case(more_methods, X23, Y32),
    case(selecting_methods, X23),
    case(attribute_t_in_products, Y32.T.copy(), X23),
    case(astype_keeps_floats, V3),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, METHODS)
def test_methods_and_attributes(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


def test_a_keyword_without_a_rule_is_refused_by_name():
    def sums_in_float32(x):
        return np.sum(x, dtype=np.float32)

    for differentiate in (ad.grad, ad.derivative):
        with pytest.raises(ad.TransformError, match="keyword argument `dtype=`"):
            differentiate(sums_in_float32)(V3)


def test_einsum_sublists_must_be_written_in_the_call():
    """The interleaved form with sublists written out is einsum with subscripts (see
    tests/api/test_numpy_more.py); a sublist computed at run time is refused."""

    def contracts_with_computed_sublists(x):
        axes = [0, 1]
        return np.einsum(x, axes, x, [1, 0])

    with pytest.raises(ad.TransformError, match="sublists of np.einsum") as info:
        ad.grad(contracts_with_computed_sublists)(np.eye(2))
    assert "np.einsum(x, axes, x, [1, 0])" in str(info.value)


# ============================================================= indexing

IDX = np.array([2, 0, 2])
MASK = np.array([True, False, True])


def fancy_indexing(x):
    return np.sum(x[IDX] ** 2) + np.sum(x[MASK] * 3.0) + x[-1] * x[0]


def row_and_column_indexing(x):
    return np.sum(x[1, :] * x[:, 2].sum()) + np.sum(x[0, 1:] ** 3)


UNIQUE = np.array([3, 0, 1])
REPEATED = [2, 0, 2]


def index_assignment(x):
    y = np.zeros(4)
    y[1:] = x * 2.0
    y[0] = x[0] * x[1]
    y[UNIQUE] += x
    y[MASK.nonzero()[0]] *= x[:2]
    return np.sum(y * y)


def repeated_index_writes(x, s):
    """Where an index repeats, the last write wins: y = [1 + x1², x1 s, s + x2², 1]."""
    y = np.ones(4)
    y[1:3] = s  # one number broadcast over two entries
    y[REPEATED] += x**2  # y[2] = y[2] + x2² (not x0²), y[0] = y[0] + x1²
    y[[1, 1]] = x[:2] * s  # y[1] = x1 s
    return np.sum(y * np.array([1.0, 2.0, 3.0, 4.0]))


def repeated_index_writes_gradient(x, s):
    return [np.array([0.0, 2 * x[1] + 2 * s, 6 * x[2]]), 2 * x[1] + 3.0]


INDEXING = [
    case(fancy_indexing, V3),
    case(row_and_column_indexing, X23),
    case(index_assignment, V3),
    case(repeated_index_writes, V3, 1.3, expected=repeated_index_writes_gradient),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, INDEXING)
def test_indexing(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


# ============================================ constants: draws, argmax, stop_gradient


def reparameterized(mu, log_sigma):
    eps = np.random.standard_normal(mu.shape)
    z = mu + np.exp(log_sigma) * eps
    return np.sum(z**2), eps


def generator_draws(mu, seed: int):
    rng = np.random.default_rng(seed)
    eps = rng.normal(size=mu.shape)
    return np.sum((mu + eps) ** 2)


def test_draws_of_a_local_generator_are_constants():
    """Methods with no rule (rng.normal) are constants: d/dmu sum((mu + eps)^2) = 2 (mu + eps)."""
    eps = np.random.default_rng(5).normal(size=V3.shape)
    np.testing.assert_allclose(ad.grad(generator_draws)(V3, 5), 2 * (V3 + eps), rtol=1e-12)
    _, tangent = ad.jvp(generator_draws, (V3, 5), (np.ones(3), None))
    assert tangent == pytest.approx(np.sum(2 * (V3 + eps)))
    assert "rng.normal(size=" in ad.source(generator_draws, wrt=0)


def test_a_method_without_a_rule_on_a_varied_value_is_refused():
    def lists_it(x):
        return sum(x.tolist())

    with pytest.raises(ad.TransformError, match=r"method `.tolist\(\)` of a varied value"):
        ad.grad(lists_it)(V3)


@pytest.mark.optimized_only  # each run draws anew
def test_reparameterization_trick_draws_are_constants():
    """z = mu + sigma * eps: d/dmu sum(z^2) = 2z and d/dlog_sigma = 2 z eps sigma."""
    mu, log_sigma = V3, 0.3 * V3

    def loss(mu, log_sigma):
        return reparameterized(mu, log_sigma)[0]

    np.random.seed(7)
    d_mu, d_log_sigma = ad.grad(loss, wrt=(0, 1))(mu, log_sigma)
    np.random.seed(7)
    _, eps = reparameterized(mu, log_sigma)
    z = mu + np.exp(log_sigma) * eps
    np.testing.assert_allclose(d_mu, 2 * z, rtol=1e-12)
    np.testing.assert_allclose(d_log_sigma, 2 * z * eps * np.exp(log_sigma), rtol=1e-12)


def picks_the_largest(x):
    k = np.argmax(x)
    return x[k] * np.sum(x) + ad.stop_gradient(x[0]) * x[1]


def test_argmax_and_stop_gradient_are_constants():
    x = np.array([0.5, -1.0, 2.0])
    expected = np.array([x[2], x[2] + x[0], np.sum(x) + x[2]])
    np.testing.assert_allclose(ad.grad(picks_the_largest)(x), expected, rtol=1e-12)
    _, tangent = ad.jvp(picks_the_largest, (x,), (np.array([1.0, 0.0, 0.0]),))
    assert tangent == pytest.approx(expected[0], rel=1e-12)


# ======================================================= the lecture's results


def solve_loss(A, b, c):
    x = np.linalg.solve(A, b)
    return np.sum(c * x) + 0.5 * np.sum(x * x)


def test_solve_adjoints_are_the_lecture_formulas():
    """For x = solve(A, b): dL/db = A^-T dL/dx and dL/dA = -A^-T dL/dx x^T."""
    A = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
    b, c = RNG.standard_normal(3), RNG.standard_normal(3)
    x = np.linalg.solve(A, b)
    dl_dx = c + x
    dl_db = np.linalg.solve(A.T, dl_dx)
    dl_dA = -np.outer(dl_db, x)
    got_A, got_b = ad.grad(solve_loss, wrt=(0, 1))(A, b, c)
    np.testing.assert_allclose(got_b, dl_db, rtol=1e-12)
    np.testing.assert_allclose(got_A, dl_dA, rtol=1e-12)
    numeric = central_difference(solve_loss, (A, b, c), 0)
    np.testing.assert_allclose(got_A, numeric, rtol=1e-6, atol=1e-8)


def singular_value_loss(W, weights):
    return np.sum(weights * np.linalg.svdvals(W))


def test_singular_value_adjoint_is_the_lecture_formula():
    """dL/dW = U (dL/dSigma) V^T."""
    W = RNG.standard_normal((4, 3))
    weights = np.array([1.0, -2.0, 0.5])
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    expected = U @ np.diag(weights) @ Vt
    np.testing.assert_allclose(ad.grad(singular_value_loss)(W, weights), expected, rtol=1e-10)
    numeric = central_difference(singular_value_loss, (W, weights), 0)
    np.testing.assert_allclose(expected, numeric, rtol=1e-6, atol=1e-8)
