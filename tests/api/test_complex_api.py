"""The transforms on complex arguments (docs/complex.md): what each returns, and the checks
of what users pass."""

from __future__ import annotations

import numpy as np
import pytest

import s2s_ad as ad


def spectrum_energy(z):
    return np.sum(np.abs(np.fft.fft(z)) ** 2 * np.arange(1, 4))


def exp_times(z):
    return np.exp(z) * z


def real_of_square(z, w):
    return np.real(z * z * w)


Z = np.array([1.0 + 2.0j, 0.5 - 1.0j, -0.25 + 0.5j])


def test_check_grad_differences_along_real_and_imaginary_directions():
    assert ad.check_grad(spectrum_energy, Z) < 1e-6
    assert ad.check_grad(real_of_square, 1.0 + 0.5j, 2.0 - 1.0j, wrt=(0, 1)) < 1e-6


def test_check_grad_sees_a_conjugated_gradient_as_wrong():
    """A rule that gave df/dx + i df/dy would be caught: the check is of the convention."""
    ad.defvjp(np.sinc, lambda g, out, z: np.conj(g * np.cos(z)))
    ad.defjvp(np.sinc, lambda dz, out, z: dz * np.cos(z))

    def f(z):
        return np.real(np.sinc(z))

    try:
        with pytest.raises(AssertionError, match="finite differences give"):
            ad.check_grad(f, 0.5 + 0.75j)
    finally:
        from s2s_ad.rules import numpy as numpy_rules  # noqa: F401  (np.sinc's own rule)
        from s2s_ad.rules import scalar_rule

        scalar_rule(np.sinc, "sinc_derivative(x, out)", namespace=numpy_rules.namespace)


def test_jacobian_of_a_holomorphic_function_is_its_complex_derivative_both_ways():
    expected = np.diag(np.exp(Z) * (1 + Z))
    np.testing.assert_allclose(ad.jacobian(exp_times, mode="forward")(Z), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.jacobian(exp_times, mode="reverse")(Z), expected, rtol=1e-12)


def test_taylor_mode_of_a_holomorphic_function():
    z = 1.0 + 2.0j
    np.testing.assert_allclose(ad.derivative(exp_times)(z), np.exp(z) * (1 + z), rtol=1e-12)
    np.testing.assert_allclose(
        ad.derivative(exp_times, order=2)(z), np.exp(z) * (2 + z), rtol=1e-12
    )


def test_gradients_have_the_types_of_their_arguments():
    grads = ad.grad(real_of_square, wrt=(0, 1))(1.0 + 0.5j, 2.0)
    assert type(grads[0]) is complex and type(grads[1]) is float
    # d/dz Re(z^2 w) = 2 z w, transposed: the cotangent is 2 z w (holomorphic in z)
    assert grads[0] == pytest.approx(2 * (1.0 + 0.5j) * 2.0)
    assert grads[1] == pytest.approx(np.real((1.0 + 0.5j) ** 2))
    pair = ad.grad(lambda_pair)((Z, 2.0))
    assert isinstance(pair, tuple) and pair[0].dtype == np.complex128
    assert not np.iscomplexobj(pair[1]) and pair[1] == pytest.approx(np.sum(np.abs(Z) ** 2))


def lambda_pair(p):
    z, scale = p
    return np.sum(np.abs(z) ** 2) * scale


def test_vjp_default_differentiates_complex_arguments():
    out, pullback = ad.vjp(real_of_square, 1.0 + 0.5j, 2.0 - 1.0j)
    dz, dw = pullback(1.0)
    assert dz == pytest.approx(2 * (1.0 + 0.5j) * (2.0 - 1.0j))
    assert dw == pytest.approx((1.0 + 0.5j) ** 2)


def test_a_complex_cotangent_for_a_real_output_is_refused():
    _, pullback = ad.vjp(real_of_square, 1.0 + 0.5j, 2.0 - 1.0j)
    with pytest.raises(TypeError, match="cotangent is complex, but the output is real"):
        pullback(1j)
