"""SciPy in whole programs (the optional extra ``scipy``), and library code that is not user
code.

* A Gaussian-process negative log likelihood, written the way people write it (Cholesky,
  triangular solves, ``cho_solve``), in every mode of ``control_harness.MODES`` against
  central differences, and at second order.
* ``cho_factor``/``cho_solve`` and ``lu_factor``/``lu_solve``, which s2s_ad transforms as
  definitions in Python (``s2s_ad/rules/scipy.py``): same values as SciPy's, derivatives
  against central differences, Hessian-vector products.
* A call of a library function without a rule is refused at the user's line, naming the
  function and showing ``ad.defvjp``; ``ad.transparent`` opts one in.
"""

from __future__ import annotations

import colorsys
import re

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad import rules
from s2s_ad.compiler.library import forget_transparent, is_library_file, is_library_function

from control_harness import CASE_FIELDS, MODES, case, check_derivatives

pytest.importorskip("scipy", reason="the SciPy rules need the optional extra `scipy`")
import scipy.linalg  # noqa: E402
import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402
import scipy.stats as st  # noqa: E402

RNG = np.random.default_rng(18)
POINTS = np.linspace(-1.0, 1.0, 5)
TARGETS = np.sin(3 * POINTS) + 0.1 * RNG.normal(size=5)
A3 = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
B3 = RNG.normal(size=3)

# ================================================================ a Gaussian process


def gp_negative_log_likelihood(log_length, log_noise, y):
    """-log N(y | 0, K + noise I) with a squared-exponential kernel on POINTS."""
    length = np.exp(log_length)
    d = POINTS[:, None] - POINTS[None, :]
    K = np.exp(-0.5 * (d / length) ** 2) + np.exp(log_noise) * np.eye(len(y))
    L = scipy.linalg.cholesky(K, lower=True)
    alpha = scipy.linalg.cho_solve((L, True), y)
    half_log_det = np.sum(np.log(np.diag(L)))
    return 0.5 * y @ alpha + half_log_det + 0.5 * len(y) * np.log(2 * np.pi)


def gp_by_triangular_solves(log_length, log_noise, y):
    """The same likelihood, written with two triangular solves and an upper factor."""
    d = POINTS[:, None] - POINTS[None, :]
    K = np.exp(-0.5 * d**2 / np.exp(2 * log_length)) + np.exp(log_noise) * np.eye(len(y))
    U = scipy.linalg.cholesky(K)
    z = scipy.linalg.solve_triangular(U, y, trans="T")
    return 0.5 * np.sum(z**2) + np.sum(np.log(np.diag(U))) + 0.5 * len(y) * np.log(2 * np.pi)


def gp_by_cho_factor(log_length, log_noise, y):
    length = np.exp(log_length)
    d = POINTS[:, None] - POINTS[None, :]
    K = np.exp(-0.5 * (d / length) ** 2) + np.exp(log_noise) * np.eye(len(y))
    factor = scipy.linalg.cho_factor(K)
    alpha = scipy.linalg.cho_solve(factor, y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(factor[0])))


def gp_log_marginal_in_closed_form(log_length, log_noise, y):
    """The oracle's value: the likelihood with NumPy's slogdet and solve."""
    d = POINTS[:, None] - POINTS[None, :]
    K = np.exp(-0.5 * (d / np.exp(log_length)) ** 2) + np.exp(log_noise) * np.eye(len(y))
    return 0.5 * y @ np.linalg.solve(K, y) + 0.5 * np.linalg.slogdet(K)[1]


def classifier_loss(w, x):
    """A softmax classifier's loss with scipy.special: log_softmax, logsumexp, expit."""
    logits = x @ w
    labels = np.array([0, 2, 1, 1])
    picked = scipy.special.log_softmax(logits, axis=1)[np.arange(4), labels]
    gate = scipy.special.expit(scipy.special.logsumexp(logits, axis=1))
    return -np.mean(picked) + np.sum(scipy.stats.norm.logpdf(w, 0.0, 2.0)) * np.mean(gate)


def solves_with_lu(a, b):
    lu_and_piv = scipy.linalg.lu_factor(a)
    x = scipy.linalg.lu_solve(lu_and_piv, b)
    y = scipy.linalg.lu_solve(lu_and_piv, x, trans=1)
    return np.sum(np.sin(y)) + np.sum(np.tanh(lu_and_piv[0]))


def solves_with_cho_factor(a, b):
    c, lower = scipy.linalg.cho_factor(a @ a.T, lower=True)
    return np.sum(np.cos(scipy.linalg.cho_solve((c, lower), b))) + np.sum(c**2)


CASES = [
    case(gp_negative_log_likelihood, 0.2, -1.5, TARGETS),
    case(gp_by_triangular_solves, 0.2, -1.5, TARGETS),
    case(gp_by_cho_factor, -0.3, -2.0, TARGETS),
    case(classifier_loss, RNG.normal(size=(3, 3)), RNG.normal(size=(4, 3))),
    case(solves_with_lu, A3, B3),
    case(solves_with_lu, A3[[2, 0, 1]], B3, id="solves_with_lu(pivoted)"),
    case(solves_with_cho_factor, A3, B3),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(CASE_FIELDS, CASES)
def test_derivatives(mode, f, args, wrt, expected, fd):
    check_derivatives(mode, f, args, wrt=wrt, expected=expected, fd=fd)


@pytest.mark.parametrize(
    "f", [gp_negative_log_likelihood, gp_by_triangular_solves, gp_by_cho_factor]
)
def test_gp_likelihoods_agree_with_numpy(f):
    """The three spellings compute the likelihood (up to its constant), and so its gradient."""
    args = (0.2, -1.5, TARGETS)
    constant = 0.5 * len(TARGETS) * np.log(2 * np.pi) * (f is not gp_by_cho_factor)
    np.testing.assert_allclose(f(*args) - constant, gp_log_marginal_in_closed_form(*args))
    ours = ad.grad(f, wrt=(0, 1))(*args)
    oracle = ad.grad(gp_log_marginal_in_closed_form, wrt=(0, 1))(*args)
    np.testing.assert_allclose(ours, oracle, rtol=1e-9)


@pytest.mark.parametrize("f", [gp_negative_log_likelihood, gp_by_cho_factor])
def test_gp_hessian_matches_differences_of_the_gradient(f):
    """Second order through cholesky, cho_solve and solve_triangular (type-II ML's Newton step)."""
    point = np.array([0.2, -1.5])

    def nll(theta, y):
        return f(theta[0], theta[1], y)

    hessian = ad.hessian(nll)(point, TARGETS)
    gradient = ad.grad(nll)
    h = 1e-5
    columns = [
        (gradient(point + h * e, TARGETS) - gradient(point - h * e, TARGETS)) / (2 * h)
        for e in np.eye(2)
    ]
    np.testing.assert_allclose(hessian, np.stack(columns, axis=1), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [solves_with_lu, solves_with_cho_factor])
def test_definitions_in_python_differentiate_twice(f):
    v = RNG.normal(size=(3, 3))
    gradient, h = ad.grad(f), 1e-5
    expected = (gradient(A3 + h * v, B3) - gradient(A3 - h * v, B3)) / (2 * h)
    np.testing.assert_allclose(ad.hvp(f)(A3, B3, v), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [solves_with_lu, solves_with_cho_factor])
def test_definitions_in_python_give_scipys_values(f):
    """cho_factor's other triangle holds ``a``, as SciPy's does; the values are SciPy's."""
    ours, _ = ad.value_and_grad(f)(A3, B3)
    np.testing.assert_allclose(ours, f(A3, B3), rtol=1e-12)
    c, lower = scipy.linalg.cho_factor(A3 @ A3.T, lower=True)
    np.testing.assert_allclose(np.triu(c, 1), np.triu(A3 @ A3.T, 1))


# ================================================================ library code


def rgb_mix(r):
    y, i, q = colorsys.rgb_to_yiq(r, 0.2, 0.3)
    return y * i + q


def matrix_square_root_trace(a):
    return np.trace(scipy.linalg.sqrtm(a))


def constant_library_call(x):
    """A library call on constants needs no derivative: it runs as it is."""
    return x * colorsys.rgb_to_yiq(0.1, 0.2, 0.3)[0]


def test_library_files_are_told_from_the_users():
    assert is_library_file(scipy.__file__) and is_library_file(re.__file__)
    assert not is_library_file(__file__)
    assert is_library_function(scipy.linalg.sqrtm) and is_library_function(colorsys.rgb_to_yiq)
    assert not is_library_function(rgb_mix)


@pytest.mark.parametrize(
    "f, written, named",
    [
        (matrix_square_root_trace, "scipy.linalg.sqrtm", "scipy.linalg.sqrtm"),
        (rgb_mix, "colorsys.rgb_to_yiq", "colorsys.rgb_to_yiq"),
    ],
)
def test_a_library_function_without_a_rule_is_refused_at_the_users_call(f, written, named):
    with pytest.raises(ad.TransformError) as caught:
        ad.grad(f)(A3 @ A3.T if f is matrix_square_root_trace else 0.5)
    error = caught.value
    message = str(error)
    assert error.filename == __file__
    assert f"no derivative rule for `{written}`" in message
    assert "library code" in message
    assert f"ad.defvjp({named}, lambda " in message
    assert f"ad.transparent({named})" in message
    line = next(line for line in message.splitlines() if written in line and "(" in line)
    assert "def " not in line  # the user's call line, not the library's source


def test_a_library_call_on_constants_runs_as_it_is():
    expected = colorsys.rgb_to_yiq(0.1, 0.2, 0.3)[0]
    assert ad.grad(constant_library_call)(2.0) == pytest.approx(expected, rel=1e-15)


def test_transparent_opts_a_library_function_in():
    """colorsys.rgb_to_yiq is plain arithmetic: opted in, its source is differentiated."""
    ad.transparent(colorsys.rgb_to_yiq)
    try:
        for mode in MODES:
            check_derivatives(mode, rgb_mix, (0.5,))
        # y = 0.3 r + ..., i = 0.74 (r - y) - 0.27 (b - y), q = 0.48 (r - y) + 0.41 (b - y)
        y, i, _ = colorsys.rgb_to_yiq(0.5, 0.2, 0.3)
        dy, di, dq = 0.30, 0.74 * 0.70 + 0.27 * 0.30, 0.48 * 0.70 - 0.41 * 0.30
        assert ad.grad(rgb_mix)(0.5) == pytest.approx(dy * i + y * di + dq, rel=1e-12)
    finally:
        forget_transparent(colorsys.rgb_to_yiq)


def test_transparent_takes_python_functions_only():
    with pytest.raises(TypeError, match="expects a Python function"):
        ad.transparent(np.sin)


def survival_sum(x):
    return np.sum(scipy.stats.norm.sf(x))


def test_a_library_method_is_refused_by_name_and_takes_a_rule():
    """``scipy.stats.norm.sf`` has no rule: refused by its name; with ad.defvjp/defjvp it is a
    primitive, though each read of the attribute makes a new method object."""
    x = np.array([0.3, -1.2])
    with pytest.raises(ad.TransformError, match=r"no derivative rule for `scipy\.stats\.norm\.sf`"):
        ad.grad(survival_sum)(x)
    density = scipy.stats.norm.pdf
    ad.defvjp(scipy.stats.norm.sf, lambda g, ans, x: -g * density(x))
    ad.defjvp(scipy.stats.norm.sf, lambda t, ans, x: -t * density(x))
    try:
        for mode in MODES:
            check_derivatives(mode, survival_sum, (x,))
    finally:
        rules.unregister(scipy.stats.norm.sf)


def survival_sum_through_an_alias(x):
    return np.sum(st.norm.sf(x))


def test_a_library_method_called_through_an_alias_names_its_package():
    """The package is where the method's code lives (scipy), not the alias it was read by."""
    with pytest.raises(ad.TransformError) as caught:
        ad.grad(survival_sum_through_an_alias)(np.array([0.3, -1.2]))
    message = str(caught.value)
    assert "no derivative rule for `st.norm.sf`" in message
    assert "standard module `scipy`)" in message
