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

from typing import Any, Optional, Sequence, Tuple

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
    axes = _axes_of(np.ndim(a), s, axes)
    return real_like(_fftn_transpose(g, np.shape(a), axes, norm, inverse), a)


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
    return real_like(_irfft_transpose(g, np.shape(a), n, axis, norm), a)


def rfftn_vjp(
    g: Any,
    a: Any,
    s: Optional[Sequence[int]] = None,
    axes: Optional[Sequence[int]] = None,
    norm: Optional[str] = None,
) -> Any:
    """The cotangent of the real ``a`` in ``np.fft.rfftn(a, s, axes, norm)``.

    ``rfftn`` is ``rfft`` along the last of ``axes``, then ``fft`` along the others: the
    transpose undoes them in the opposite order.

    >>> rfftn_vjp(np.ones((2, 2)), np.zeros((2, 3)))
    array([[4., 1., 1.],
           [0., 0., 0.]])
    """
    lengths, axes = _lengths_and_axes(np.shape(a), s, axes, inverse_real=False)
    halved = list(np.shape(a))
    halved[axes[-1]] = lengths[-1] // 2 + 1
    g = _fftn_transpose(g, halved, axes[:-1], norm, inverse=False)
    return rfft_vjp(g, a, lengths[-1], axes[-1], norm)


def irfftn_vjp(
    g: Any,
    a: Any,
    s: Optional[Sequence[int]] = None,
    axes: Optional[Sequence[int]] = None,
    norm: Optional[str] = None,
) -> Any:
    """The cotangent of the half spectrum ``a`` in ``np.fft.irfftn(a, s, axes, norm)``.

    ``irfftn`` is ``ifft`` along all but the last of ``axes``, then ``irfft`` along it: the
    transpose undoes them in the opposite order.

    >>> irfftn_vjp(np.ones((2, 2)), np.zeros((2, 2), dtype=complex)).real
    array([[1., 0.],
           [0., 0.]])
    """
    lengths, axes = _lengths_and_axes(np.shape(a), s, axes, inverse_real=True)
    spread = list(np.shape(a))
    for axis, length in zip(axes[:-1], lengths[:-1]):
        spread[axis] = length
    g = _irfft_transpose(g, spread, lengths[-1], axes[-1], norm)
    return real_like(_fftn_transpose(g, np.shape(a), axes[:-1], norm, inverse=True), a)


def hfft_vjp(
    g: Any, a: Any, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None
) -> Any:
    """The cotangent of ``a`` in ``np.fft.hfft(a, n, axis, norm)``.

    ``hfft(a)`` is ``irfft(conj(a))`` with the opposite normalisation: the transpose is
    ``irfft``'s, conjugated (the cotangent of ``conj(z)`` is ``conj(g)``).

    >>> hfft_vjp(np.array([1.0, 0.0, 0.0, 0.0]), np.zeros(3, dtype=complex)).real
    array([1., 2., 1.])
    """
    spectrum = _irfft_transpose(g, np.shape(a), n, axis, _SWAPPED[norm])
    return real_like(np.conjugate(spectrum), a)


def ihfft_vjp(
    g: Any, a: Any, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None
) -> Any:
    """The cotangent of the real ``a`` in ``np.fft.ihfft(a, n, axis, norm)``.

    ``ihfft(a)`` is ``conj(rfft(a))`` with the opposite normalisation: the transpose is
    ``rfft``'s of the conjugated cotangent.

    >>> ihfft_vjp(np.array([1.0, 0.0]), np.zeros(2))
    array([0.5, 0.5])
    """
    return rfft_vjp(np.conjugate(g), a, n, axis, _SWAPPED[norm])


# The normalisation of the transform in the other direction, as ``hfft`` and ``ihfft`` use it.
_SWAPPED = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _fftn_transpose(
    g: Any, shape: Sequence[int], axes: Sequence[int], norm: Optional[str], inverse: bool
) -> Any:
    """The cotangent, of shape ``shape``, of an ``fftn`` (``ifftn``) along ``axes``."""
    if not len(axes):
        return g
    transform = np.fft.ifftn if inverse else np.fft.fftn
    return resized(transform(g, axes=axes, norm=norm), shape, axes)


def _irfft_transpose(
    g: Any, shape: Sequence[int], n: Optional[int], axis: int, norm: Optional[str]
) -> Any:
    """The complex cotangent, of shape ``shape``, of a half spectrum in ``irfft``."""
    length = 2 * (shape[axis] - 1) if n is None else n
    spectrum = np.fft.rfft(g, axis=axis)
    weights = np.full(spectrum.shape[axis], 2.0, dtype=spectrum.real.dtype)
    weights[0] = 1.0
    if length % 2 == 0:
        weights[-1] = 1.0
    along = [1] * spectrum.ndim
    along[axis] = -1
    scale = {None: 1 / length, "backward": 1 / length, "ortho": 1 / float(np.sqrt(length))}
    cotangent = np.conjugate(spectrum * np.reshape(weights, along)) * scale.get(norm, 1.0)
    return resized(cotangent, shape, (axis,))


def _lengths(n: Optional[int]) -> Optional[tuple]:
    return None if n is None else (n,)


def _lengths_and_axes(
    shape: Sequence[int],
    s: Optional[Sequence[int]],
    axes: Optional[Sequence[int]],
    inverse_real: bool,
) -> Tuple[list, tuple]:
    """The lengths and the nonnegative axes of ``rfftn`` (``irfftn`` if ``inverse_real``),
    with NumPy's defaults: the lengths of ``shape``, the last ``2 * (m - 1)`` for ``irfftn``.
    """
    axes = _axes_of(len(shape), s, axes)
    if s is not None:
        return list(s), axes
    lengths = [shape[axis] for axis in axes]
    if inverse_real:
        lengths[-1] = 2 * (lengths[-1] - 1)
    return lengths, axes


def _axes_of(ndim: int, s: Optional[Sequence[int]], axes: Optional[Sequence[int]]) -> tuple:
    """The axes an n-dimensional transform works on, nonnegative (NumPy's defaults)."""
    if axes is None:
        axes = range(-(len(s) if s is not None else ndim), 0)
    return tuple(axis % ndim for axis in axes)
