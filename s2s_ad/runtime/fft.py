"""Helpers that the emitted derivatives of :mod:`numpy.fft` call.

Discrete Fourier transforms are linear: a tangent goes through the same transform, and a
cotangent through its transpose (JAX's convention, ``docs/complex.md``: the transpose, not
the conjugate transpose).  The DFT matrix is symmetric, so the transpose of ``fft`` is
``fft`` again, with the same ``norm``; the zero padding or cutting that ``n`` (or ``s``)
does is undone by cutting or padding the cotangent back (:func:`resized`).  ``rfft``
keeps half of a full FFT of a real signal, and ``irfft`` reads only half of a Hermitian
spectrum: their transposes weigh the entries as JAX's ``_rfft_transpose`` and
``_irfft_transpose`` do.  A real argument gets a real cotangent.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .complex_numbers import real_like


def resized(g: Any, shape: Sequence[int], axes: Sequence[int]) -> np.ndarray:
    """``g`` cut or zero-padded along ``axes`` to the lengths ``shape`` has there.

    >>> resized(np.ones(3), (5,), (0,)), resized(np.arange(4.0), (2,), (0,))
    (array([1., 1., 1., 0., 0.]), array([0., 1.]))
    """
    g = np.asarray(g)
    for axis in axes:
        have, want = g.shape[axis], shape[axis]
        if want < have:
            g = np.take(g, np.arange(want), axis=axis)
        elif want > have:
            widths = [(0, 0)] * g.ndim
            widths[axis] = (0, want - have)
            g = np.pad(g, widths)
    return g


def fftn_vjp(
    g: Any,
    a: Any,
    s: Optional[Sequence[int]] = None,
    axes: Optional[Sequence[int]] = None,
    norm: Optional[str] = None,
    inverse: bool = False,
) -> Any:
    """The cotangent of ``a`` in ``np.fft.fftn(a, s, axes, norm)`` (``ifftn`` if ``inverse``).

    >>> fftn_vjp(np.ones(4), np.zeros(4))
    array([4., 0., 0., 0.])
    """
    transform = np.fft.ifftn if inverse else np.fft.fftn
    axes = _axes_of(np.ndim(a), s, axes)
    return real_like(resized(transform(g, axes=axes, norm=norm), np.shape(a), axes), a)


def fftn_of(
    x: Any,
    s: Optional[Sequence[int]] = None,
    axes: Optional[Sequence[int]] = None,
    norm: Optional[str] = None,
    inverse: bool = False,
) -> Any:
    """``np.fft.fftn(x, s, axes, norm)``, or ``ifftn`` if ``inverse``: the transpose of
    :func:`fftn_vjp`.

    >>> fftn_of(np.array([1.0, 0.0]), inverse=True)
    array([0.5+0.j, 0.5+0.j])
    """
    if axes is None and s is not None:
        axes = tuple(range(-len(s), 0))
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, s, axes, norm)


def fft_vjp(
    g: Any, a: Any, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None
) -> Any:
    """The cotangent of ``a`` in ``np.fft.fft(a, n, axis, norm)``: ``fft`` again.

    >>> fft_vjp(np.ones(2), np.zeros(3), n=2)
    array([2., 0., 0.])
    """
    return fftn_vjp(g, a, _lengths(n), (axis,), norm)


def ifft_vjp(
    g: Any, a: Any, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None
) -> Any:
    """The cotangent of ``a`` in ``np.fft.ifft(a, n, axis, norm)``: ``ifft`` again."""
    return fftn_vjp(g, a, _lengths(n), (axis,), norm, inverse=True)


def rfft_vjp(
    g: Any, a: Any, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None
) -> Any:
    """The cotangent of the real ``a`` in ``np.fft.rfft(a, n, axis, norm)``.

    ``rfft`` is the first ``n // 2 + 1`` entries of ``fft``: the transpose pads the
    cotangent back with zeros, applies ``fft`` and keeps the real part.

    >>> rfft_vjp(np.array([1.0, 0.0]), np.zeros(3), n=2)
    array([1., 1., 0.])
    """
    length = np.shape(a)[axis] if n is None else n
    full = list(np.shape(g))
    full[axis] = length
    spectrum = np.fft.fft(resized(g, full, (axis,)), axis=axis, norm=norm)
    return real_like(resized(spectrum, np.shape(a), (axis,)), a)


def irfft_vjp(
    g: Any, a: Any, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None
) -> Any:
    """The cotangent of the half spectrum ``a`` in ``np.fft.irfft(a, n, axis, norm)``.

    ``irfft`` reads each entry between the first and the Nyquist one twice (it and its
    mirror image); it ignores the imaginary parts of the first and of the Nyquist entry.
    The transpose is ``conj(weights * rfft(g)) * scale``, weights 1 at those two entries
    and 2 between (JAX's ``_irfft_transpose``).

    >>> irfft_vjp(np.array([1.0, 0.0, 0.0, 0.0]), np.zeros(3, dtype=complex)).real
    array([0.25, 0.5 , 0.25])
    """
    length = 2 * (np.shape(a)[axis] - 1) if n is None else n
    spectrum = np.fft.rfft(g, axis=axis)
    weights = np.full(spectrum.shape[axis], 2.0, dtype=spectrum.real.dtype)
    weights[0] = 1.0
    if length % 2 == 0:
        weights[-1] = 1.0
    shape = [1] * spectrum.ndim
    shape[axis] = -1
    scale = {None: 1 / length, "backward": 1 / length, "ortho": 1 / float(np.sqrt(length))}
    cotangent = np.conjugate(spectrum * np.reshape(weights, shape)) * scale.get(norm, 1.0)
    return real_like(resized(cotangent, np.shape(a), (axis,)), a)


def _lengths(n: Optional[int]) -> Optional[tuple]:
    return None if n is None else (n,)


def _axes_of(ndim: int, s: Optional[Sequence[int]], axes: Optional[Sequence[int]]) -> tuple:
    """The axes an n-dimensional transform works on, nonnegative (NumPy's defaults)."""
    if axes is None:
        axes = range(-(len(s) if s is not None else ndim), 0)
    return tuple(axis % ndim for axis in axes)
