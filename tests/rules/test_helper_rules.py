"""Second derivatives through the helpers of emitted gradients (forward over reverse).

The emitted gradient of a NumPy program calls helpers (``unreduce``, ``matmul_vjp_y``,
``ungather``, ``det_vjp``, ...); their rules (``s2s_ad/rules/helpers.py``) let forward mode
differentiate that gradient again.  Each program here is differentiated twice, and the
Hessian-vector product is compared with central differences of the gradient along ``v``
(and, for a few, with the Hessian written out by hand).  Second derivatives through the
factorizations (eigh, svd, qr, pinv) are checked too, and their third derivatives; lstsq's and
cond's are refused with a message that names them.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.compiler import pipeline
from s2s_ad.compiler.analyse import kind_of_value
from s2s_ad.compiler.errors import TransformError
from s2s_ad.compiler.pipeline import Spec
from s2s_ad.rules import MISSING, all_rules, is_nondifferentiable, lookup, substitute_of
from s2s_ad.rules import helpers as helper_rules

RNG = np.random.default_rng(5)
A = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
IDX = np.array([0, 2, 2, 1])


def gradient(f: Callable, args: Sequence[Any]) -> Callable:
    """The emitted gradient of ``f`` with respect to its first parameter."""
    spec = Spec("grad", (f.__code__.co_varnames[0],), tuple(kind_of_value(a) for a in args))
    return pipeline.build(f, spec).bind(f)


def hvp(f: Callable, args: Sequence[Any], v: Any) -> Any:
    """The Hessian of ``f`` (in its first argument) times ``v``: forward over reverse."""
    _, tangent = ad.jvp(gradient(f, args), tuple(args), (v,) + (None,) * (len(args) - 1))
    return tangent


def fd_hvp(f: Callable, args: Sequence[Any], v: Any) -> Any:
    """Central differences of the emitted gradient along ``v``."""
    grad = gradient(f, args)
    h = 1e-5 * max(1.0, float(np.max(np.abs(args[0]))))
    rest = tuple(args[1:])
    return (grad(args[0] + h * v, *rest) - grad(args[0] - h * v, *rest)) / (2 * h)


# ------------------------------------------------------------------ programs


def tanh_of_matmul(x, a):
    return np.sum(np.tanh(a @ x))


def repeated_index(x, idx):
    return np.sum(x[idx] ** 2)


def cumprod(x):
    return np.sum(np.cumprod(x))


def det(x):
    return np.linalg.det(x)


def solve(x, a):
    return np.sum(np.linalg.solve(a, x) ** 2)


def einsum_form(x, a):
    return np.einsum("ij,j->i", a, x) @ x


def stack_and_concatenate(x):
    return np.sum(np.stack([x, x**2]) * np.concatenate([x, np.sin(x)])[:3])


def var(x):
    return np.var(x)


def prod(x):
    return np.prod(x)


def slogdet(x):
    return np.linalg.slogdet(x)[1]


def cholesky(x):
    return np.sum(np.linalg.cholesky(x @ x.T + 3 * np.eye(3)) ** 2)


def inv(x):
    return np.sum(np.linalg.inv(x) ** 2)


def matrix_power(x):
    return np.sum(np.linalg.matrix_power(x, 3))


def multi_dot(x, a):
    return np.sum(np.linalg.multi_dot([a, x, a]) ** 2)


def take_and_sort(x):
    return np.sum(np.take(x, [0, 2, 2]) ** 3) + np.sum(np.sort(x) * np.arange(3.0))


def convolve_and_cross(x):
    return np.sum(np.convolve(x, x**2) ** 2) + np.sum(np.cross(x, np.cos(x)) ** 2)


def polyval_and_trapezoid(x):
    return np.sum(np.polyval(x, 1.5 * x)) + np.trapezoid(x**2, np.cumsum(np.exp(x)))


def average_and_nanvar(x):
    weighted = np.average(x**2, weights=np.exp(x))
    return weighted + np.nanvar(np.where(x > 1.0, np.nan, x)) * np.std(x)


def norms(x):
    return np.linalg.norm(x) + np.linalg.norm(x, "nuc") + np.linalg.matrix_norm(x, ord=2)


def spectra(x):
    return np.sum(np.linalg.eigvalsh(x + x.T) ** 3) + np.sum(np.linalg.svdvals(x) ** 3)


def tensor_inverses(x):
    eye = 3 * np.eye(6)
    inverse = np.linalg.tensorinv(x.reshape(2, 3, 6) + eye.reshape(2, 3, 6))
    solved = np.linalg.tensorsolve(x.reshape(2, 3, 2, 3) + eye.reshape(2, 3, 2, 3), np.ones((2, 3)))
    return np.sum(inverse**2) + np.sum(solved**2)


def products(x):
    pieces = np.kron(x, x**2), np.tensordot(np.outer(x, x), x, axes=1), np.dot(x, x)
    return sum(np.sum(p**2) for p in pieces[:2]) + pieces[2] * np.inner(x, np.sin(x))


def shapes(x):
    padded = np.diff(np.pad(x, 1) ** 2)
    return np.sum(np.repeat(x, 2) * np.tile(x, 2) ** 2) + np.sum(padded**2)


def written(x):
    y = np.zeros(4)
    y[[0, 2, 2]] = x[:3] ** 2
    return np.sum(y**2)


def piecewise(x):
    clipped = np.clip(x, -0.5, 0.5) ** 2
    return np.sum(clipped) + np.max(x**2) + np.sum(np.where(x > 0, x**2, x**3))


def smooth(x):
    return np.sum(np.sinc(x) ** 2) + np.sum(np.linspace(x, x**2, 5) ** 2)


def cumulative(x):
    return np.sum(np.cumulative_prod(x, include_initial=True) ** 2) + np.sum(np.cumsum(x**2) ** 2)


# Factorizations: their vectors and factors, whose second derivatives (runtime/linalg.py's
# helpers, transformed from their source) are checked here like every other program's.
def eigh_vectors(x):
    w, v = np.linalg.eigh(x + x.T, UPLO="U")
    return np.sum(w**3) + np.sum(v[:, 0] ** 2 * np.arange(3.0))


def svd_factors(x):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return np.sum(u[:, 0] ** 3) + np.sum(s**3) + np.sum(vh[0] ** 3)


def svd_values(x):
    return np.sum(np.linalg.svd(x, compute_uv=False) ** 3)


def svd_hermitian(x):
    return np.sum(np.linalg.svd(x + x.T + np.diag([1.0, -3.0, 6.0]), hermitian=True)[0] ** 4)


def qr_factors(x):
    q, r = np.linalg.qr(x)
    return np.sum(r**2 * np.arange(3.0)) + np.sum(q[:, 0] ** 3)


def qr_r(x):
    return np.sum(np.linalg.qr(x, mode="r") ** 3)


def pinv(x):
    return np.sum(np.linalg.pinv(x) ** 2)


def pinv_hermitian(x):
    return np.sum(np.linalg.pinv(x + x.T + np.diag([1.0, -3.0, 6.0]), hermitian=True) ** 2)


FACTORED = [
    (eigh_vectors, "np.linalg.eigh"),
    (svd_factors, "np.linalg.svd"),
    (qr_factors, "np.linalg.qr"),
    (pinv, "np.linalg.pinv"),
]


def vector(n: int) -> np.ndarray:
    return RNG.uniform(0.3, 1.2, n) * RNG.choice([-1.0, 1.0], n)


def tall() -> np.ndarray:
    return RNG.uniform(0.3, 1.2, (4, 3)) * RNG.choice([-1.0, 1.0], (4, 3))


def matrix() -> np.ndarray:
    return RNG.uniform(0.3, 1.2, (3, 3)) * RNG.choice([-1.0, 1.0], (3, 3))


PROGRAMS = [
    (tanh_of_matmul, lambda: (vector(3), A)),
    (repeated_index, lambda: (vector(3), IDX)),
    (cumprod, lambda: (vector(4),)),
    (det, lambda: (matrix(),)),
    (solve, lambda: (vector(3), A)),
    (einsum_form, lambda: (vector(3), A)),
    (stack_and_concatenate, lambda: (vector(3),)),
    (var, lambda: (vector(4),)),
    (prod, lambda: (vector(4),)),
    (slogdet, lambda: (matrix(),)),
    (cholesky, lambda: (matrix(),)),
    (inv, lambda: (matrix() + 3 * np.eye(3),)),
    (matrix_power, lambda: (matrix(),)),
    (multi_dot, lambda: (matrix(), A)),
    (take_and_sort, lambda: (vector(3),)),
    (convolve_and_cross, lambda: (vector(3),)),
    (polyval_and_trapezoid, lambda: (vector(4),)),
    (average_and_nanvar, lambda: (vector(4),)),
    (norms, lambda: (matrix(),)),
    (spectra, lambda: (matrix(),)),
    (tensor_inverses, lambda: (0.3 * vector(36),)),
    (products, lambda: (vector(3),)),
    (shapes, lambda: (vector(3),)),
    (written, lambda: (vector(3),)),
    (piecewise, lambda: (vector(4),)),
    (smooth, lambda: (vector(4),)),
    (cumulative, lambda: (vector(4),)),
    (eigh_vectors, lambda: (matrix(),)),
    (svd_factors, lambda: (matrix(),)),
    (svd_factors, lambda: (tall(),)),
    (svd_values, lambda: (tall().T,)),
    (svd_hermitian, lambda: (matrix(),)),
    (qr_factors, lambda: (tall(),)),
    (qr_r, lambda: (tall().T,)),
    (pinv, lambda: (tall(),)),
    (pinv_hermitian, lambda: (matrix(),)),
]
# Programs that call NumPy functions newer than the oldest NumPy s2s_ad supports.
NEEDS_NEWER_NUMPY = {
    cumulative: pytest.mark.skipif(
        not hasattr(np, "cumulative_prod"), reason="np.cumulative_prod arrived with NumPy 2.1"
    ),
}
PROGRAM_PARAMS = [
    pytest.param(f, make_args, id=f"{f.__name__}-{k}", marks=NEEDS_NEWER_NUMPY.get(f, ()))
    for k, (f, make_args) in enumerate(PROGRAMS)
]


@pytest.mark.parametrize("f, make_args", PROGRAM_PARAMS)
def test_hessian_vector_product_matches_differences_of_the_gradient(f, make_args):
    args = make_args()
    v = RNG.standard_normal(np.shape(args[0]))
    np.testing.assert_allclose(hvp(f, args, v), fd_hvp(f, args, v), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f, make_args", PROGRAM_PARAMS)
def test_reverse_over_forward_matches_forward_over_reverse(f, make_args):
    """The VJP templates of the helpers in emitted JVP code: the gradient of ``J(x) v``."""
    args = make_args()
    v = RNG.standard_normal(np.shape(args[0]))
    kinds = tuple(kind_of_value(a) for a in args)
    jvp_fn = pipeline.build(f, Spec("jvp", (f.__code__.co_varnames[0],), kinds)).bind(f)
    out, pullback = ad.vjp(jvp_fn, *args, v, wrt=0)
    (hv,) = pullback((np.zeros_like(out[0]), 1.0))
    np.testing.assert_allclose(hv, hvp(f, args, v), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("f, make_args", PROGRAM_PARAMS)
def test_forward_over_forward_matches_forward_over_reverse(f, make_args):
    """The JVP templates of the helpers in emitted JVP code: ``w . H v``."""
    args = make_args()
    v, w = (RNG.standard_normal(np.shape(args[0])) for _ in range(2))
    kinds = tuple(kind_of_value(a) for a in args) + (kind_of_value(v),)
    jvp_fn = pipeline.build(f, Spec("jvp", (f.__code__.co_varnames[0],), kinds)).bind(f)
    rest = (None,) * (len(args) - 1)
    _, (_, whv) = ad.jvp(jvp_fn, (args[0], *args[1:], v), (w, *rest, None))
    np.testing.assert_allclose(whv, np.sum(w * hvp(f, args, v)), rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------ closed forms


def test_hessian_of_tanh_of_a_linear_map_is_a_transpose_diag_a():
    x, v = vector(3), RNG.standard_normal(3)
    t = np.tanh(A @ x)
    expected = A.T @ (-2 * t * (1 - t**2) * (A @ v))
    np.testing.assert_allclose(hvp(tanh_of_matmul, (x, A), v), expected, rtol=1e-10)


def test_hessian_of_det_in_closed_form():
    x, v = matrix(), RNG.standard_normal((3, 3))
    inv_t = np.linalg.inv(x).T
    expected = np.linalg.det(x) * (np.trace(np.linalg.solve(x, v)) * inv_t - inv_t @ v.T @ inv_t)
    np.testing.assert_allclose(hvp(det, (x,), v), expected, rtol=1e-10)


def test_hessian_of_var_is_the_centering_matrix():
    x, v = vector(5), RNG.standard_normal(5)
    np.testing.assert_allclose(hvp(var, (x,), v), 2 / 5 * (v - np.mean(v)), rtol=1e-10)


def test_hessian_of_a_quadratic_form_written_with_einsum_is_a_plus_a_transpose():
    x, v = vector(3), RNG.standard_normal(3)
    np.testing.assert_allclose(hvp(einsum_form, (x, A), v), (A + A.T) @ v, rtol=1e-10)


# ------------------------------------------------------------------ refusals


def lstsq(x):
    return np.sum(np.linalg.lstsq(x, np.ones(3))[0])


def cond(x):
    return np.linalg.cond(x)


REFUSED = [(lstsq, "np.linalg.lstsq"), (cond, "np.linalg.cond")]


@pytest.mark.parametrize("f, what", REFUSED, ids=[what for _, what in REFUSED])
def test_second_derivatives_through_decompositions_are_refused_by_name(f, what):
    x = matrix()
    with pytest.raises(TransformError, match=f"second derivatives through {what} are not"):
        hvp(f, (x,), np.ones_like(x))


# Third derivatives through the factorizations: their helpers are transformed from their source
# (runtime/linalg.py), so each derivative is checked against central differences of the one
# below it, which the tests above check in turn.
THIRD_ORDER = [(eigh_vectors, matrix), (svd_factors, tall), (qr_factors, tall), (pinv, tall)]
THIRD_ORDER += [(svd_values, lambda: tall().T), (qr_r, lambda: tall().T)]


@pytest.mark.parametrize("f, make_x", THIRD_ORDER, ids=[f.__name__ for f, _ in THIRD_ORDER])
def test_third_derivative_forward_over_forward_over_reverse(f, make_x):
    """``d/du (H(x) v)`` (forward mode over the emitted Hessian-vector product) against central
    differences of ``H(x) v`` along ``u``."""
    x = make_x()
    v, u = (RNG.standard_normal(np.shape(x)) for _ in range(2))
    grad = gradient(f, (x,))
    second = pipeline.build(grad, Spec("jvp", ("x",), ("array",))).bind(grad)
    _, (_, ours) = ad.jvp(second, (x, v), (u, None))
    h = 1e-5
    expected = (hvp(f, (x + h * u,), v) - hvp(f, (x - h * u,), v)) / (2 * h)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


S0 = np.diag([0.0, 2.0, 5.0]) + 0.3 * (A + A.T)
S1 = np.array([[0.4, 1.0, -0.3], [1.0, -0.2, 0.6], [-0.3, 0.6, 0.8]])
T0, T1 = RNG.uniform(-1, 1, (3, 3)) + np.diag([1.0, 3.0, 6.0]), RNG.uniform(-1, 1, (3, 3))


def largest_eigenvalue(t):
    return np.linalg.eigh(S0 + t * S1)[0][-1]


def eigh_curve(t):
    w, v = np.linalg.eigh(S0 + t * S1)
    return np.sum(w**3) + np.sum(v[:, 0] ** 3)


def svd_curve(t):
    u, s, vh = np.linalg.svd(T0 + t * T1)
    return np.sum(u[:, 0] ** 3) + np.sum(vh[0] ** 3) + np.sum(s**3)


def qr_curve(t):
    q, r = np.linalg.qr(T0 + t * T1)
    return np.sum(r**3) + np.sum(q**3)


def pinv_curve(t):
    return np.sum(np.linalg.pinv(T0 + t * T1) ** 3)


def eigenvalue_curvature(t: float) -> float:
    """The second derivative of the largest eigenvalue of ``S0 + t S1`` in closed form:
    ``2 sum_j (v_j^T S1 v_k)^2 / (w_k - w_j)`` over the other eigenvalues ``j``."""
    w, v = np.linalg.eigh(S0 + t * S1)
    couplings = (v.T @ S1 @ v)[:, -1]
    return 2 * np.sum(couplings[:-1] ** 2 / (w[-1] - w[:-1]))


def test_three_derivatives_of_the_largest_eigenvalue():
    """grad of grad of grad, against the closed-form second derivative and its differences."""
    second = ad.grad(ad.grad(largest_eigenvalue))
    assert second(0.3) == pytest.approx(eigenvalue_curvature(0.3), rel=1e-9)
    h = 1e-5
    expected = (eigenvalue_curvature(0.3 + h) - eigenvalue_curvature(0.3 - h)) / (2 * h)
    assert ad.grad(second)(0.3) == pytest.approx(expected, rel=1e-6)
    assert ad.derivative(second)(0.3) == pytest.approx(expected, rel=1e-6)


CURVES = [eigh_curve, svd_curve, qr_curve, pinv_curve]


@pytest.mark.parametrize("f", CURVES, ids=lambda f: f.__name__)
def test_reverse_over_reverse_over_reverse_matches_differences(f):
    """Three gradients of a scalar parameter of the matrix: the third against central
    differences of the second, and against forward mode over the second."""
    second = ad.grad(ad.grad(f))
    h = 1e-5
    expected = (second(0.3 + h) - second(0.3 - h)) / (2 * h)
    third = ad.grad(second)(0.3)
    assert third == pytest.approx(expected, rel=1e-6)
    assert ad.derivative(second)(0.3) == pytest.approx(third, rel=1e-9)


def norm(x):
    return np.linalg.norm(x)


def test_third_derivatives_of_norms_are_refused():
    x = vector(3)
    grad = gradient(norm, (x,))
    second = pipeline.build(grad, Spec("jvp", ("x",), ("array",))).bind(grad)
    with pytest.raises(TransformError, match="third derivatives of np.linalg.norm"):
        pipeline.build(second, Spec("jvp", ("x",), ("array", "array")))


# ------------------------------------------------------------------ coverage


def helpers_in_templates() -> dict:
    """Each s2s_ad function a rule's template calls, with the rules that call it."""
    used = {}
    for rule in all_rules():
        for template in (*rule.jvp, *rule.vjp):
            if template is None or template is MISSING:
                continue
            for scalar in (True, False):
                for name in template.names:
                    obj = rule.namespace(scalar).get(name)
                    if callable(obj) and str(getattr(obj, "__module__", "")).startswith("s2s_ad"):
                        used.setdefault(obj, set()).add(rule.name)
    return used


def test_every_helper_a_template_calls_can_be_differentiated():
    displays = {ad.runtime.make_tuple, ad.runtime.make_list}
    missing = [
        fn.__name__
        for fn in helpers_in_templates()
        if lookup(fn) is None
        and not is_nondifferentiable(fn)
        and substitute_of(fn) is None  # or transformed from its source
        and fn not in displays
    ]
    assert not missing, f"helpers without rules: {missing}"


def test_helper_rules_stay_out_of_the_numpy_docs():
    from s2s_ad.rules.docs import numpy_page

    page = numpy_page()
    names = [f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}" for fn in helper_rules.FUNCTIONS]
    listed = [name for name in names if f"| `{name}` |" in page]
    assert not listed, f"helpers listed in docs/numpy.md: {listed}"
