"""Whole programs through ``np.fft``, written the way signal-processing code is written:
fitting a low-pass filter's taps so that the filtered signal's power spectrum matches a
target, and recovering a complex transfer function.  Both modes, against central
differences, and a few steps of gradient descent that must lower the loss.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2s_ad as ad

N = 32
T = np.arange(N) / N
SIGNAL = (
    np.sin(2 * np.pi * 3 * T) + 0.5 * np.sin(2 * np.pi * 11 * T) + 0.2 * np.cos(2 * np.pi * 7 * T)
)
TARGET = np.abs(np.fft.rfft(np.sin(2 * np.pi * 3 * T))) ** 2  # only the slow component


def spectral_loss(taps, signal, target):
    """Filter the signal with an FIR filter (by FFT convolution) and compare its power
    spectrum, on a log scale, with the target's."""
    n = signal.shape[0]
    response = np.fft.rfft(taps, n=n)
    filtered = np.fft.irfft(np.fft.rfft(signal) * response, n=n)
    power = np.abs(np.fft.rfft(filtered)) ** 2
    return np.mean(np.log1p(power) - np.log1p(target)) ** 2 + np.mean(
        (np.log1p(power) - np.log1p(target)) ** 2
    )


def transfer_loss(h, x, y):
    """Least squares for a complex transfer function ``h`` with ``Y = H X`` in frequency."""
    predicted = np.fft.ifft(np.fft.fft(x) * h)
    residual = predicted - y
    return np.sum(residual.real**2 + residual.imag**2) + 1e-3 * np.sum(np.abs(h) ** 2)


def centered_window(x):
    """A 2-D spectrum, centered, windowed and brought back."""
    spectrum = np.fft.fftshift(np.fft.fft2(x))
    rows, cols = spectrum.shape
    window = np.outer(np.hanning(rows), np.hanning(cols))
    back = np.fft.ifft2(np.fft.ifftshift(spectrum * window))
    return np.sum(np.real(back) ** 2) + np.sum(np.angle(spectrum[1:, 1:] + 3.0))


def fd_gradient(f, args, position, h=1e-6):
    base = np.asarray(args[position])
    result = np.zeros(base.shape, dtype=base.dtype)
    for index in np.ndindex(base.shape):
        for direction in (1.0, 1j) if np.iscomplexobj(base) else (1.0,):
            up, down = base.copy(), base.copy()
            up[index] += h * direction
            down[index] -= h * direction
            moved = list(args)
            moved[position] = up
            high = f(*moved)
            moved[position] = down
            slope = (high - f(*moved)) / (2 * h)
            result[index] += slope if direction == 1.0 else -1j * slope
    return result


@pytest.fixture
def taps():
    return np.random.default_rng(0).standard_normal(8) * 0.3


def test_spectral_loss_gradient_matches_finite_differences(taps):
    args = (taps, SIGNAL, TARGET)
    grad = ad.grad(spectral_loss)(*args)
    assert grad.dtype == np.float64 and grad.shape == taps.shape
    np.testing.assert_allclose(grad, fd_gradient(spectral_loss, args, 0), rtol=1e-5, atol=1e-8)


def test_spectral_loss_forward_mode_matches_reverse_mode(taps):
    v = np.random.default_rng(1).standard_normal(taps.shape)
    _, tangent = ad.jvp(spectral_loss, (taps, SIGNAL, TARGET), (v, None, None))
    np.testing.assert_allclose(
        tangent, ad.grad(spectral_loss)(taps, SIGNAL, TARGET) @ v, rtol=1e-10
    )


def test_gradient_descent_fits_the_low_pass_filter(taps):
    loss_and_grad = ad.value_and_grad(spectral_loss)
    first, _ = loss_and_grad(taps, SIGNAL, TARGET)
    for _ in range(30):
        loss, grad = loss_and_grad(taps, SIGNAL, TARGET)
        taps = taps - 0.02 * grad
    assert loss < 0.5 * first


def test_spectral_loss_hvp_matches_differences_of_gradients(taps):
    v = np.random.default_rng(2).standard_normal(taps.shape)
    ours = ad.hvp(spectral_loss)(taps, SIGNAL, TARGET, v)
    grad = ad.grad(spectral_loss)
    h = 1e-5
    expected = (grad(taps + h * v, SIGNAL, TARGET) - grad(taps - h * v, SIGNAL, TARGET)) / (2 * h)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-7)


def test_complex_transfer_function_in_both_modes():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(16)
    true_h = np.exp(-np.arange(16) / 4.0) * np.exp(1j * np.arange(16) / 3.0)
    y = np.fft.ifft(np.fft.fft(x) * true_h)
    h = np.ones(16, dtype=complex)
    grad = ad.grad(transfer_loss)(h, x, y)
    assert grad.dtype == np.complex128
    np.testing.assert_allclose(grad, fd_gradient(transfer_loss, (h, x, y), 0), rtol=1e-6, atol=1e-7)
    # the real signal's gradient is real
    grad_x = ad.grad(transfer_loss, wrt=1)(h, x, y)
    assert grad_x.dtype == np.float64
    np.testing.assert_allclose(grad_x, fd_gradient(transfer_loss, (h, x, y), 1), rtol=1e-6)
    v = rng.standard_normal(16) + 1j * rng.standard_normal(16)
    _, tangent = ad.jvp(transfer_loss, (h, x, y), (v, None, None))
    # Re(grad * v): the pairing of the convention (docs/complex.md)
    np.testing.assert_allclose(tangent, np.real(np.sum(grad * v)), rtol=1e-10)
    # descending along conj(grad), with a step below 2 / (the curvature 2 |X|^2 / N), fits it
    step = 0.5 * 16 / np.max(np.abs(np.fft.fft(x)) ** 2)
    first = transfer_loss(h, x, y)
    for _ in range(100):
        h = h - step * np.conj(ad.grad(transfer_loss)(h, x, y))
    assert transfer_loss(h, x, y) < 0.01 * first


def test_two_dimensional_spectrum_in_both_modes():
    x = np.random.default_rng(4).standard_normal((4, 6))
    grad = ad.grad(centered_window)(x)
    np.testing.assert_allclose(grad, fd_gradient(centered_window, (x,), 0), rtol=1e-6, atol=1e-8)
    v = np.random.default_rng(5).standard_normal(x.shape)
    _, tangent = ad.jvp(centered_window, (x,), (v,))
    np.testing.assert_allclose(tangent, np.sum(grad * v), rtol=1e-10)
