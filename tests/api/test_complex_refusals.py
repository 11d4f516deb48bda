"""Rules that are only right for real numbers refuse complex values (docs/complex.md, "Not
supported"): the derivative raises a TransformError at the user's line instead of returning
a wrong derivative, in every mode, and the same function still differentiates real inputs.

The rules that do hold for complex values are an allowlist (``rules.verified_on_complex``),
each checked in ``tests/rules/test_rules_complex.py``.
"""

from __future__ import annotations

import cmath
import inspect

import numpy as np
import pytest

import s2s_ad as ad
from s2s_ad.rules import refuses_complex


def largest(z):
    return np.real(np.max(z))


def smallest(z):
    return np.real(np.min(z) * 2)


def sorted_first(z):
    return np.real(np.sort(z)[0])


def elementwise_max(z):
    return np.sum(np.real(np.maximum(z, 0.5 * z)))


def elementwise_min(z):
    return np.sum(np.real(np.minimum(z, 0.5 * z)))


def clipped(z):
    return np.sum(np.real(np.clip(z, -1.0, 1.0)))


def matrix_power(m):
    return np.real(np.sum(np.linalg.matrix_power(m, 3)))


def eigh(m):
    return np.sum(np.linalg.eigh(m + m.T)[0] ** 3)


def singular_values(m):
    return np.sum(np.linalg.svd(m)[1])


def qr(m):
    return np.sum(np.real(np.linalg.qr(m)[1]))


def cholesky(m):
    return np.sum(np.real(np.linalg.cholesky(m @ m.T + 4 * np.eye(3))))


def pinv(m):
    return np.sum(np.real(np.linalg.pinv(m)))


def lstsq(m):
    return np.sum(np.real(np.linalg.lstsq(m, np.ones(3), rcond=None)[0]))


def slogdet(m):
    return np.linalg.slogdet(m + 3 * np.eye(3))[1]


def norm(m):
    return np.linalg.norm(m)


def arccosh(z):
    return np.sum(np.real(np.arccosh(z)))


def listed_sum(z):
    return np.sum(np.real(sum([z, 2 * z])))


VECTOR = [largest, smallest, sorted_first, elementwise_max]
VECTOR += [elementwise_min, clipped, listed_sum, arccosh]
MATRIX = [matrix_power, eigh, singular_values, qr, cholesky, pinv, lstsq, slogdet, norm]
REFUSED = {f.__name__: f for f in VECTOR + MATRIX}
WHAT = {  # the name the message gives, where it is not np.<function name>
    "largest": "np.max",
    "smallest": "np.min",
    "sorted_first": "np.sort",
    "elementwise_max": "np.maximum",
    "elementwise_min": "np.minimum",
    "singular_values": "np.linalg.svd",
    "listed_sum": "sum",
    "matrix_power": "np.linalg.matrix_power",
    "clipped": "np.clip",
}
# Second derivatives through these are refused whatever the numbers, as the transform is built.
# refused at second order for real matrices too (eigh, svd, qr and pinv have second
# derivatives for real ones, and refuse complex ones as every other mode does)
NO_SECOND_ORDER = {lstsq}


def real_argument(f):
    rng = np.random.default_rng(len(f.__name__))
    return rng.uniform(1.5, 2.5, size=(3, 3) if f in MATRIX else (4,))


def complex_argument(f):
    real = real_argument(f)
    return real + 1j * np.random.default_rng(7).uniform(-1.0, 1.0, size=real.shape)


def line_of(f) -> int:
    return f.__code__.co_firstlineno + 1


def what(f) -> str:
    name = f.__name__
    return WHAT.get(name, f"np.linalg.{name}" if f in MATRIX else f"np.{name}")


@pytest.mark.parametrize("mode", ["grad", "jvp", "hvp"])
@pytest.mark.parametrize("name", list(REFUSED))
def test_complex_values_are_refused_at_the_users_line(name, mode):
    f = REFUSED[name]
    z = complex_argument(f)
    transform = {
        "grad": lambda: ad.grad(f)(z),
        "jvp": lambda: ad.jvp(f, (z,), (np.ones_like(z),)),
        "hvp": lambda: ad.hvp(f)(z, np.ones_like(z)),
    }[mode]
    with pytest.raises(ad.TransformError) as caught:
        transform()
    error = caught.value
    if mode == "hvp" and f in NO_SECOND_ORDER:
        assert "second derivatives" in str(error)
        return
    assert error.lineno == line_of(f) and error.filename == __file__
    assert f"{what(f)} of complex numbers has no derivative" in str(error)
    assert inspect.getsource(f).splitlines()[1].strip() in str(error)
    assert "docs/complex.md" in str(error)


@pytest.mark.parametrize("name", list(REFUSED))
def test_the_same_functions_still_differentiate_real_values(name):
    f = REFUSED[name]
    assert ad.check_grad(f, real_argument(f)) < 1e-5


def test_the_message_says_what_to_write_instead():
    with pytest.raises(ad.TransformError, match=r"by a real key you choose: np.real\(z\)"):
        ad.grad(largest)(complex_argument(largest))
    with pytest.raises(ad.TransformError, match=r"log\(z \+ sqrt\(z - 1\) \* sqrt\(z \+ 1\)\)"):
        ad.grad(arccosh)(complex_argument(arccosh))


def variance(z):
    return np.var(z) * 2.0


def deviation(z):
    return np.std(z, ddof=1) + 1.0


def sign(z):
    return np.sum(np.real(np.sign(z) * z * z))


@pytest.mark.parametrize("f", [variance, deviation, sign])
def test_variances_and_signs_of_complex_values_differentiate(f):
    """np.var and np.std of complex z are means of |z - mean|^2 (real), np.sign(z) is
    z / |z|: check_grad compares with central differences along the real and imaginary
    directions of each entry, in both modes and the Hessian-vector product."""
    z = complex_argument(f)
    assert ad.check_grad(f, z) < 1e-6
    rng = np.random.default_rng(3)
    v = rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape)
    step = 1e-5
    slope = (f(z + step * v) - f(z - step * v)) / (2 * step)
    assert ad.jvp(f, (z,), (v,))[1] == pytest.approx(slope, abs=1e-6)
    expected = (ad.grad(f)(z + step * v) - ad.grad(f)(z - step * v)) / (2 * step)
    np.testing.assert_allclose(ad.hvp(f)(z, v), expected, atol=1e-6)


def sign_of_a_real_part(z):
    return np.sum(np.sign(np.real(z)) * np.abs(z) ** 2)


def test_sign_of_real_values_stays_a_constant_where_complex_values_occur():
    z = complex_argument(sign)
    assert ad.check_grad(sign_of_a_real_part, z) < 1e-6
    assert ad.grad(sign)(np.zeros(3) + 0j).tolist() == [0j] * 3  # no derivative at 0: 0


def spectral_maximum(x):
    return np.real(np.max(np.fft.fft(x)))


def spectral_magnitude_maximum(x):
    return np.max(np.abs(np.fft.fft(x)))


def test_complex_values_made_inside_are_refused_too():
    """Real arguments, complex values between (np.fft): the check runs where they meet."""
    x = np.array([1.0, 2.0, 0.5, -1.0])
    with pytest.raises(ad.TransformError, match="np.max of complex numbers") as caught:
        ad.grad(spectral_maximum)(x)
    assert caught.value.lineno == line_of(spectral_maximum)
    # a real value made of complex ones passes the check
    assert ad.check_grad(spectral_magnitude_maximum, x) < 1e-6


def real_maximum(x, w):
    return np.max(x * w) + np.var(x)


def test_no_check_where_no_complex_value_can_occur():
    assert "require_real" not in ad.source(real_maximum, mode="grad")
    assert "require_real" in ad.source(spectral_maximum, mode="grad")


def test_real_and_complex_arguments_get_their_own_derivatives():
    """The same derived function called with real, then complex, then real arrays: the
    check is emitted for the complex ones only, and real calls keep working."""
    grad = ad.grad(largest)
    real = real_argument(largest)
    expected = grad(real)
    with pytest.raises(ad.TransformError):
        grad(complex_argument(largest))
    np.testing.assert_array_equal(grad(real), expected)


def cmath_acosh(z):
    return cmath.acosh(z) * 2


def test_acosh_is_refused_on_complex_numbers():
    """Its partial derivative 1 / sqrt(z**2 - 1) has the wrong sign where Re z < 0."""
    with pytest.raises(ad.TransformError, match="cmath.acosh of complex numbers"):
        ad.grad(cmath_acosh)(-2.0 + 0.5j)
    assert ad.check_grad(cmath_acosh, 2.0) < 1e-6


def test_taylor_mode_refuses_complex_values_too():
    def cube_of_sign(z):
        return np.sign(z) * z**3

    with pytest.raises(ad.TransformError, match="no Taylor rule for `np.sign`"):
        ad.derivative(cube_of_sign, order=2)(1.0 + 1.0j)
    assert ad.derivative(cube_of_sign, order=2)(2.0) == pytest.approx(12.0)


def twice(z):
    return 2.0 * z


def doubled_energy(z):
    return np.sum(np.abs(twice(z)) ** 2)


def test_a_users_own_rule_holds_for_complex_values():
    """A user's rule is on the allowlist: its author says what it does on complex values."""
    ad.defvjp(twice, lambda g, out, z: 2.0 * g)
    ad.defjvp(twice, lambda dz, out, z: 2.0 * dz)
    assert not refuses_complex(twice)
    assert ad.check_grad(doubled_energy, complex_argument(largest)) < 1e-6


def spectrum_after(x, n):
    if n == 0:
        return np.fft.fft(x)
    return spectrum_after(x, n - 1)


def maximum_of_recursive_spectrum(x):
    return np.real(np.max(spectrum_after(x, 2)))


def test_complex_values_returned_by_a_recursive_call_are_refused():
    """A function that is called, not inlined, may return complex values from real ones."""
    with pytest.raises(ad.TransformError, match="np.max of complex numbers") as caught:
        ad.grad(maximum_of_recursive_spectrum)(np.array([1.0, 2.0, 0.5]))
    assert caught.value.lineno == line_of(maximum_of_recursive_spectrum)


PHASES = np.exp(1j * np.arange(3.0))


def maximum_with_global_phases(x):
    return np.real(np.max(x * PHASES))


def maximum_of_complex_copy(x):
    return np.real(np.min(x.astype(np.complex128) * 2))


@pytest.mark.parametrize("f", [maximum_with_global_phases, maximum_of_complex_copy])
def test_complex_globals_and_dtypes_are_sources_of_complex_values(f):
    with pytest.raises(ad.TransformError, match="of complex numbers") as caught:
        ad.grad(f)(np.array([1.0, 2.0, 0.5]))
    assert caught.value.lineno == line_of(f)


def checkpointed_maxima(z):
    total = 0.0
    for i in ad.checkpointed(range(3)):
        total = total + np.real(np.max(z * (i + 1)))
    return total


def test_the_check_may_run_in_a_checkpointed_loop():
    """The check is recomputed with the step, like any deterministic call."""
    with pytest.raises(ad.TransformError, match="np.max of complex numbers") as caught:
        ad.grad(checkpointed_maxima)(complex_argument(largest))
    assert caught.value.lineno == line_of(checkpointed_maxima) + 2
    assert ad.check_grad(checkpointed_maxima, real_argument(largest)) < 1e-6
