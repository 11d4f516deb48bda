"""The rules on complex inputs, against central finite differences along the real and the
imaginary directions, in JAX's convention (``docs/complex.md``).

For ``f`` of a complex ``z = x + iy`` and a cotangent ``g`` of its output, the cotangent of
``z`` is ``d/dx Re<g, f> - i d/dy Re<g, f>`` with ``<g, f> = sum(g * f)`` (no conjugate):
for a real-valued ``f`` and ``g = 1`` that is JAX's gradient ``df/dx - i df/dy``, for a
holomorphic ``f`` it is ``g * f'(z)``.  The tangent is the plain directional derivative,
checked along a real and an imaginary direction.  A real argument's cotangent is real.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import zlib
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
import pytest
from cases_shapes import CASES as SHAPE_CASES

import s2s_ad as ad
from s2s_ad.compiler import ir
from s2s_ad.compiler.lower import lower_function
from s2s_ad.rules import complex_numbers as complex_rules
from s2s_ad.rules import complex_verified_functions, lookup, refuses_complex

STEP = 1e-6

# name -> (expression of x, y, the kinds of x, y: "c" complex, "r" real, with their shapes)
C3, C4, R4, C23 = ("c", (3,)), ("c", (4,)), ("r", (4,)), ("c", (2, 3))
C33 = ("c", (3, 3))
CS = ("c", None)  # a Python complex
CASES: Dict[str, Tuple[str, Tuple[Tuple[str, Any], ...]]] = {
    # holomorphic: the real rules as written
    "add": ("x + y", (C3, C3)),
    "mul": ("x * y", (C3, C3)),
    "mul_real": ("x * y", (C4, R4)),
    "div": ("x / (y + 3)", (C3, C3)),
    "pow": ("x ** 3", (C3,)),
    "pow_complex": ("(x + 3) ** y", (C3, C3)),
    "exp": ("np.exp(x)", (C3,)),
    "log": ("np.log(x + 3)", (C3,)),
    "sin": ("np.sin(x)", (C3,)),
    "cos": ("np.cos(x)", (C3,)),
    "tanh": ("np.tanh(x)", (C3,)),
    "sqrt": ("np.sqrt(x + 3)", (C3,)),
    "square": ("np.square(x)", (C3,)),
    "reciprocal": ("np.reciprocal(x + 3)", (C3,)),
    "sum": ("np.sum(x * y, axis=0)", (C23, C23)),
    "mean": ("np.mean(x)", (C23,)),
    "prod": ("np.prod(x)", (C3,)),
    "cumsum": ("np.cumsum(x)", (C3,)),
    "matmul": ("x @ y", (C23, ("c", (3, 2)))),
    "dot_real": ("np.dot(y, x)", (C3, ("r", (2, 3)))),
    "scalar": ("x * x + 2 * x", (CS,)),
    # not holomorphic
    "real": ("np.real(x) * y", (C3, C3)),
    "imag": ("np.imag(x) * y", (C3, C3)),
    "real_attribute": ("x.real + 2 * x.imag", (C3,)),
    "conj": ("np.conj(x) * y", (C3, C3)),
    "conjugate_method": ("x.conj() * y", (C3, C3)),
    "abs": ("np.abs(x) ** 2", (C3,)),
    "builtin_abs": ("abs(x) * x", (CS,)),
    "angle": ("np.angle(x)", (C3,)),
    "angle_deg": ("np.angle(x, deg=True) * y", (C3, C3)),
    "complex": ("complex(x, y)", (("r", None), ("r", None))),
    "complex_literal": ("x + 1j * y", (R4, R4)),
    "vdot": ("np.vdot(x, y)", (C3, C3)),
    # the mean of |z - mean|^2, real; np.sign(z) = z / |z|
    "var": ("np.var(x)", (C4,)),
    "var_axis": ("np.var(x, axis=0, ddof=1, keepdims=True) * y", (C23, ("c", (1, 3)))),
    "std": ("np.std(x, axis=1) * y", (C23, ("r", (2,)))),
    "nanvar": ("np.nanvar(x, axis=1, ddof=1)", (C23,)),
    "nanstd": ("np.nanstd(x)", (C4,)),
    "sign": ("np.sign(x) * y", (C3, C3)),
    "sign_of_real": ("np.sign(y) * x", (C3, ("r", (3,)))),
    # products of a real and a complex factor, and products that conjugate a factor
    "outer": ("np.outer(x, y)", (R4, C3)),
    "outer_complex_first": ("np.outer(x, y)", (C3, R4)),
    "vecdot": ("np.vecdot(x, y)", (C23, ("c", (3,)))),
    "vecdot_real_second": ("np.vecdot(x, y)", (C4, R4)),
    "polyval": ("np.polyval(x, y)", (C3, R4)),
    "polyval_complex_x": ("np.polyval(y, x)", (C3, R4)),
    "convolve": ("np.convolve(x, y)", (C3, R4)),
    "correlate": ("np.correlate(x, y, 'full')", (C3, C4)),
    "take": ("np.take(x, [0, 2, 2]) * y", (C3, C3)),
    "append": ("np.append(y, x)", (C3, R4)),
    # on the allowlist of rules that hold for complex values (rules/complex_numbers.py)
    "matmul_real": ("x @ y", (C23, ("r", (3, 2)))),
    "linalg_matmul": ("np.linalg.matmul(y, x)", (C23, ("r", (2, 2)))),
    "inner": ("np.inner(x, y)", (C3, ("r", (2, 3)))),
    "tensordot": ("np.tensordot(x, y, axes=1)", (C23, ("c", (3, 2)))),
    "kron": ("np.kron(x, y)", (C3, ("r", (2,)))),
    "einsum": ("np.einsum('ij,j->i', x, y)", (C23, ("r", (3,)))),
    "cumprod": ("np.cumprod(x)", (C3,)),
    "trace": ("np.trace(x) * y", (C33, C3)),
    "inv": ("np.linalg.inv(x + 3 * np.eye(3))", (C33,)),
    "det": ("np.linalg.det(x)", (C33,)),
    "solve": ("np.linalg.solve(x + 3 * np.eye(3), y)", (C33, C3)),
    "solve_real_b": ("np.linalg.solve(x + 3 * np.eye(4), y)", (("c", (4, 4)), R4)),
    "multi_dot": ("np.linalg.multi_dot([x, y, x])", (C33, ("r", (3, 3)))),
    # eigenvectors: unit norm and a real largest entry, as LAPACK makes them
    "eig_vectors_raw": ("np.linalg.eig(x + np.diag([0, 3, 6j]))[1]", (C33,)),
    "eigvals": ("np.linalg.eigvals(x + np.diag([0, 3, 6j]))", (C33,)),
    "eig_values": ("np.linalg.eig(x + np.diag([0, 3, 6j]))[0] * y", (C33, C3)),
    "eig_vectors": ("np.abs(np.linalg.eig(x + np.diag([0, 3, 6j]))[1]) ** 2", (C33,)),
    "eig_real": ("np.abs(np.linalg.eig(y + np.diag([0, 3, 6]))[1]) ** 2 * x", (C3, ("r", (3, 3)))),
    "reshape": ("np.reshape(x, (3, 2)) * 2", (C23,)),
    "transpose": ("np.transpose(x) @ y", (C23, ("r", (2, 2)))),
    "concatenate": ("np.concatenate([x, y])", (C3, R4)),
    "stack": ("np.stack([x, y], axis=1)", (C3, C3)),
    "where": ("np.where(np.arange(3) > 0, x, y)", (C3, ("r", (3,)))),
    "getitem": ("x[1:] * y[0]", (C3, C3)),
    "diff": ("np.diff(x)", (C4,)),
    "add_real": ("x + y - y * 2", (C3, ("r", (3,)))),
    "divide_real": ("y / (x + 3) + x / (y + 3)", (C3, ("r", (3,)))),
    "builtin_pow": ("pow(x + 3, y)", (C3, C3)),
    "signs": ("-x * operator.pos(y)", (C3, C3)),
    "np_matmul": ("np.matmul(x, y)", (C23, ("r", (3,)))),
    "select": ("np.select([np.arange(3) > 0, np.arange(3) > 1], [x, y], 0)", (C3, C3)),
    "insert": ("np.insert(x, 1, y)", (C3, ("r", (2,)))),
    # np.fft, linear
    "fft": ("np.fft.fft(x)", (C4,)),
    "fft_n": ("np.fft.fft(x, n=6, norm='ortho')", (C4,)),
    "fft_cut": ("np.fft.fft(x, n=3, axis=0)", (("c", (4, 2)),)),
    "ifft": ("np.fft.ifft(x, norm='forward')", (C4,)),
    "rfft": ("np.fft.rfft(x)", (R4,)),
    "rfft_odd": ("np.fft.rfft(x, n=5, norm='ortho')", (R4,)),
    "irfft": ("np.fft.irfft(x)", (C4,)),
    "irfft_odd": ("np.fft.irfft(x, n=5)", (C3,)),
    "irfft_ortho": ("np.fft.irfft(x, n=8, axis=0, norm='ortho')", (("c", (3, 2)),)),
    "fft2": ("np.fft.fft2(x)", (C23,)),
    "ifft2": ("np.fft.ifft2(x, s=(3, 3))", (C23,)),
    "fftn": ("np.fft.fftn(x, axes=(1,))", (C23,)),
    "ifftn": ("np.fft.ifftn(x, norm='ortho')", (("c", (2, 2, 3)),)),
    "rfftn": ("np.fft.rfftn(x, axes=(1, 0))", (("r", (2, 4)),)),
    "rfftn_s": ("np.fft.rfftn(x, s=(3, 5), axes=(0, 1), norm='ortho')", (("r", (2, 4)),)),
    "irfftn": ("np.fft.irfftn(x)", (C23,)),
    "irfftn_s": ("np.fft.irfftn(x, s=(3, 3), axes=(1, 0), norm='forward')", (C23,)),
    "hfft": ("np.fft.hfft(x)", (C4,)),
    "hfft_odd": ("np.fft.hfft(x, n=5, axis=0, norm='ortho')", (("c", (3, 2)),)),
    "ihfft": ("np.fft.ihfft(x)", (R4,)),
    "ihfft_n": ("np.fft.ihfft(x, n=5, norm='forward')", (R4,)),
    "fftshift": ("np.fft.fftshift(x)", (("c", (5,)),)),
    "ifftshift": ("np.fft.ifftshift(x, axes=0)", (C23,)),
}
# Every holomorphic NumPy function on the allowlist, away from its branch cuts and poles.
UFUNCS = [f for f in complex_rules.HOLOMORPHIC if isinstance(f, np.ufunc)]
HOLOMORPHIC = [f.__name__ for f in UFUNCS if f.nin == 1]
CASES.update({f"np_{name}": (f"np.{name}(x * 0.3 + 0.4 + 0.2j)", (C3,)) for name in HOLOMORPHIC})
if hasattr(np, "matvec"):  # NumPy 2.2
    CASES["matvec"] = ("np.matvec(x, y)", (C23, ("r", (3,))))
    CASES["vecmat"] = ("np.vecmat(x, y)", (("c", (2,)), C23))
if hasattr(np.linalg, "matrix_transpose"):  # NumPy 2's np.linalg namesakes
    CASES["linalg_matrix_transpose"] = ("np.linalg.matrix_transpose(x)", (C23,))
    CASES["linalg_diagonal"] = ("np.linalg.diagonal(x)", (C33,))
    CASES["linalg_trace"] = ("np.linalg.trace(x) * y", (C33, C3))
    CASES["linalg_tensordot"] = ("np.linalg.tensordot(x, y, axes=1)", (C23, ("r", (3, 2))))
BINARY = [f.__name__ for f in UFUNCS if f.nin == 2]
CASES.update({f"np_{name}_2": (f"np.{name}(x + 3, y)", (C3, C3)) for name in BINARY})
CASES["np_power_of"] = ("np.power(x * 0.3 + 1.5, y)", (C3, C3))
CASES["np_float_power_of"] = ("np.float_power(x * 0.3 + 1.5, y)", (C3, C3))
# Every arrangement on the allowlist, in each call form of its real cases (cases_shapes.py):
# complex arrays, and a complex array joined with a real one (whose cotangent stays real).
for _fn, _cases in SHAPE_CASES.items():
    if refuses_complex(_fn):
        continue
    for _number, _case in enumerate(_cases if isinstance(_cases, list) else [_cases]):
        for _shape_id, _shapes in _case.shapes.items():
            if len(_shapes) > 2 or not all(isinstance(shape, tuple) for shape in _shapes):
                continue
            _name = re.sub(r"\W+", "_", f"{_fn.__name__}_{_number}_{_shape_id}").strip("_")
            CASES[_name] = (_case.expr, tuple(("c", shape) for shape in _shapes))
            if len(_shapes) == 2:
                CASES[f"{_name}_real_y"] = (_case.expr, (("c", _shapes[0]), ("r", _shapes[1])))
# cmath, on Python complex numbers away from the axes, where its branch cuts lie
AWAY_FROM_AXES = "(x * 0.5 + 1 + 2j)"
CMATH = ["exp", "sqrt", "log", "log10", "sin", "cos", "tan", "asin", "acos", "atan"]
CMATH += ["sinh", "cosh", "tanh", "asinh", "atanh", "phase"]  # acosh: refused
CASES.update({f"cmath_{name}": (f"cmath.{name}({AWAY_FROM_AXES})", (CS,)) for name in CMATH})
# Real-valued losses of complex inputs, for gradients and Hessian-vector products.
LOSSES = {
    "abs2": ("np.sum(np.abs(x) ** 2 * np.arange(3))", (C3,)),
    "abs": ("np.sum(np.abs(x * x))", (C3,)),
    "real_exp": ("np.sum(np.real(np.exp(x) * y))", (C3, C3)),
    "spectrum": ("np.sum(np.abs(np.fft.fft(x * y)) ** 2 * np.arange(4))", (C4, R4)),
    "rfft_power": ("np.sum(np.abs(np.fft.rfft(y)) ** 3)", (C4, R4)),
    "irfft": ("np.sum(np.fft.irfft(x, n=5) ** 2 * np.arange(5))", (C3,)),
    "fft2": ("np.sum(np.real(np.fft.ifft2(x) * np.conj(x)))", (C23,)),
    "hfft": ("np.sum(np.fft.hfft(x * y) ** 2 * np.arange(4))", (C3, ("r", (3,)))),
    "irfftn": ("np.sum(np.fft.irfftn(x, s=(2, 4), axes=(0, 1)) ** 3)", (C23,)),
    "rfftn_power": ("np.sum(np.abs(np.fft.rfftn(y * np.real(x))) ** 3)", (C23, ("r", (2, 3)))),
    "vdot": ("np.real(np.vdot(x, x * y))", (C3, C3)),
    "variances": ("np.std(x * y) + np.var(x, axis=0) @ np.arange(3)", (C23, ("r", (2, 3)))),
    "nan_variances": ("np.nanstd(x, axis=1) @ y + np.nanvar(x, ddof=1) * y[0]", (C23, ("r", (2,)))),
    "sign": ("np.sum(np.real(np.sign(x) * np.conj(y + x)))", (C3, C3)),
    "inv": ("np.sum(np.abs(np.linalg.inv(x + 3 * np.eye(3)) @ y) ** 2)", (C33, C3)),
    "einsum_det": ("np.abs(np.linalg.det(np.einsum('ij,jk->ik', x, x)))", (C33,)),
    "cumprod": (
        "np.sum(np.real(np.cumprod(x) * np.conj(np.concatenate([x[1:], y]))))",
        (C3, ("c", (1,))),
    ),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: Any):
    lines = ["import cmath", "import operator", "", "import numpy as np", ""]
    for name, (expr, kinds) in {**CASES, **{f"loss_{k}": v for k, v in LOSSES.items()}}.items():
        params = ", ".join("xy"[: len(kinds)])
        lines += [f"def f_{name}({params}):", f"    return {expr}", ""]
    path = tmp_path_factory.mktemp("complex") / "complex_cases.py"
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location("complex_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def sample(kind: str, shape: Any, rng: np.random.Generator, dtype: Any = np.complex128) -> Any:
    real = rng.uniform(-1.5, 1.5, size=shape or ())
    if kind == "r":
        value = real.astype(np.dtype(dtype).type(0).real.dtype)
    else:
        value = (real + 1j * rng.uniform(-1.5, 1.5, size=shape or ())).astype(dtype)
    if shape is None:
        return complex(value) if kind == "c" else float(value)
    return value


def inputs(name: str, table: Dict[str, Any], dtype: Any = np.complex128) -> List[Any]:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return [sample(kind, shape, rng, dtype) for kind, shape in table[name][1]]


def pairing(g: Any, out: Any) -> float:
    """``Re<g, f>``: the real number whose gradient the cotangent is."""
    return float(np.real(np.sum(np.asarray(g) * np.asarray(out))))


def moved(args: Sequence[Any], position: int, index: tuple, delta: complex) -> list:
    result = list(args)
    value = np.array(args[position], dtype=complex if np.iscomplexobj(args[position]) else float)
    value[index] += delta
    result[position] = value if isinstance(args[position], np.ndarray) else value[()].item()
    return result


def fd_cotangent(f: Callable, args: Sequence[Any], position: int, g: Any) -> np.ndarray:
    """``d/dx Re<g, f> - i d/dy Re<g, f>`` entry by entry (``d/dx`` only for a real argument)."""
    base = np.asarray(args[position])
    result = np.zeros(base.shape, dtype=complex if np.iscomplexobj(base) else float)
    directions = (1.0, 1j) if np.iscomplexobj(base) else (1.0,)
    for index in np.ndindex(base.shape):
        for direction in directions:
            up = pairing(g, f(*moved(args, position, index, STEP * direction)))
            down = pairing(g, f(*moved(args, position, index, -STEP * direction)))
            slope = (up - down) / (2 * STEP)
            result[index] += slope if direction == 1.0 else -1j * slope
    return result


def fd_tangent(f: Callable, args: Sequence[Any], tangents: Sequence[Any]) -> Any:
    def at(sign: float) -> Any:
        shifted = [a if t is None else a + sign * STEP * t for a, t in zip(args, tangents)]
        return np.asarray(f(*shifted), dtype=complex)

    return (at(1.0) - at(-1.0)) / (2 * STEP)


def random_like(value: Any, rng: np.random.Generator) -> Any:
    """A random number or array of ``value``'s shape and dtype (complex if it is)."""
    shape = np.shape(value)
    draw = rng.standard_normal(shape)
    if np.iscomplexobj(value):
        draw = draw + 1j * rng.standard_normal(shape)
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(draw).astype(value.dtype)[()] if not shape else draw.astype(value.dtype)
    return complex(draw) if np.iscomplexobj(value) else float(draw)


@pytest.mark.parametrize("direction", ["real", "imaginary"])
@pytest.mark.parametrize("name", list(CASES))
def test_jvp_along_real_and_imaginary_directions(name, direction, generated):
    f = getattr(generated, f"f_{name}")
    args = inputs(name, CASES)
    rng = np.random.default_rng(1)
    unit = 1.0 if direction == "real" else 1j
    tangents = [random_like(np.real(a), rng) * (unit if np.iscomplexobj(a) else 1.0) for a in args]
    out, tangent = ad.jvp(f, tuple(args), tuple(tangents))
    np.testing.assert_allclose(out, f(*args), rtol=1e-12)
    np.testing.assert_allclose(tangent, fd_tangent(f, args, tangents), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("name", list(CASES))
def test_vjp_in_jax_convention(name, optimize, generated):
    f = getattr(generated, f"f_{name}")
    args = inputs(name, CASES)
    out = f(*args)
    g = random_like(out, np.random.default_rng(2))
    _, pullback = ad.vjp(f, *args, optimize=optimize)
    for position, ours in enumerate(pullback(g)):
        expected = fd_cotangent(f, args, position, g)
        assert np.shape(ours) == np.shape(args[position])
        assert np.iscomplexobj(ours) == np.iscomplexobj(args[position]), "a real gets a real"
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_of_a_real_loss_is_df_dx_minus_i_df_dy(name, generated):
    f = getattr(generated, f"f_loss_{name}")
    args = inputs(name, LOSSES)
    wrt = tuple(range(len(args)))
    grads = ad.grad(f, wrt=wrt)(*args)
    for position, ours in zip(wrt, grads):
        np.testing.assert_allclose(ours, fd_cotangent(f, args, position, 1.0), rtol=1e-6, atol=1e-7)
        assert type(ours) is type(args[position]) and np.shape(ours) == np.shape(args[position])


@pytest.mark.parametrize("name", list(LOSSES))
def test_hvp_of_a_real_loss(name, generated):
    """Forward over reverse: the derivative of the gradient along ``v``, against central
    differences of gradients computed by central differences."""
    f = getattr(generated, f"f_loss_{name}")
    args = inputs(name, LOSSES)
    v = random_like(args[0], np.random.default_rng(3))
    ours = ad.hvp(f)(*args, v)

    def fd_gradient(at: Any) -> np.ndarray:
        return fd_cotangent(f, [at, *args[1:]], 0, 1.0)

    h = 1e-4
    expected = (fd_gradient(args[0] + h * v) - fd_gradient(args[0] - h * v)) / (2 * h)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)


COMPLEX64 = ["mul", "exp", "abs", "angle", "fft", "ifft", "irfft", "fft2", "rfft", "real"]


@pytest.mark.parametrize("name", COMPLEX64)
def test_complex64_stays_complex64(name, generated):
    """complex64 (and float32) inputs: derivatives of the same dtypes, close to complex128."""
    f = getattr(generated, f"f_{name}")
    args = inputs(name, CASES, np.complex64)
    wide = [np.asarray(a).astype(complex if np.iscomplexobj(a) else float) for a in args]
    rng = np.random.default_rng(4)
    tangents = [random_like(a, rng) for a in args]
    _, tangent = ad.jvp(f, tuple(args), tuple(tangents))
    assert np.asarray(tangent).dtype in (np.complex64, np.float32), np.asarray(tangent).dtype
    np.testing.assert_allclose(tangent, fd_tangent(f, wide, tangents), rtol=2e-3, atol=2e-3)
    out = f(*args)
    g = random_like(out, rng)
    _, pullback = ad.vjp(f, *args)
    for position, ours in enumerate(pullback(g)):
        assert ours.dtype == args[position].dtype, (ours.dtype, args[position].dtype)
        expected = fd_cotangent(f, wide, position, g)
        np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=2e-3)


def test_holomorphic_gradient_is_the_complex_derivative():
    """JAX: grad(f, holomorphic=True)(z) = f'(z); here the pullback of 1."""

    def f(z):
        return np.sin(z) * z

    z = 0.5 - 1.25j
    np.testing.assert_allclose(ad.grad(f)(z), np.cos(z) * z + np.sin(z), rtol=1e-12)


def test_gradient_of_abs_squared_is_2_conj_z():
    """The worked example of docs/complex.md: f(z) = |z|^2 = x^2 + y^2 has the gradient
    2x - 2iy = 2 conj(z); a gradient descent step is z - lr * conj(grad)."""

    def f(z):
        return np.abs(z) ** 2

    z = 3.0 + 4.0j
    assert ad.grad(f)(z) == pytest.approx(6.0 - 8.0j)
    assert z - 0.25 * np.conj(ad.grad(f)(z)) == pytest.approx(1.5 + 2.0j)


def test_second_derivative_of_angle_is_refused():
    def f(z):
        return np.sum(np.angle(z))

    with pytest.raises(ad.TransformError, match="second derivatives through np.angle"):
        ad.hvp(f)(np.array([1 + 1j]), np.array([1j]))


def test_fft_without_a_rule_is_refused_at_the_users_line():
    def f(d):
        return np.sum(np.fft.fftfreq(4, d) ** 2)

    with pytest.raises(ad.TransformError, match="no derivative rule for `np.fft.fftfreq`"):
        ad.grad(f)(0.5)


def test_third_derivative_through_complex_abs_is_refused():
    def f(z):
        return np.abs(z)

    with pytest.raises(ad.TransformError, match="third derivatives through abs"):
        ad.hessian(ad.grad(f))(1.0 + 2.0j)


def test_every_function_on_the_allowlist_has_a_case(generated):
    """The allowlist of rules that hold for complex values (rules/complex_numbers.py) is
    what this file checks: every NumPy, cmath, operator or builtin function on it is called
    by a case (the helpers of emitted code are checked through the losses' second
    derivatives)."""
    called = set()
    for name in [*CASES, *(f"loss_{k}" for k in LOSSES)]:
        low = lower_function(getattr(generated, f"f_{name}"))
        for stmt in ir.walk(low.function.body):
            if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Call):
                called.add(id(stmt.value.fn))
    missing = [
        getattr(fn, "__name__", repr(fn))
        for fn in complex_verified_functions()
        if lookup(fn)
        and not getattr(fn, "__module__", "s2s_ad").startswith("s2s_ad")
        and id(fn) not in called
    ]
    assert not missing, f"on the allowlist without a complex case: {missing}"
