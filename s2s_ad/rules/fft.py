"""Rules for :mod:`numpy.fft`.

Every transform is linear: the JVP is the call on the tangent, and the VJP its transpose,
with the helpers of :mod:`s2s_ad.runtime.fft` (``fft_vjp(g, a, n, axis, norm)``).  The
shifts are permutations, undone by each other.
"""

from __future__ import annotations

import numpy as np

from ..runtime import fft as fft_helpers
from .core import fixed
from .numpy import NAMES, register_table

FFT_NAMES = {**NAMES, **{k: v for k, v in vars(fft_helpers).items() if k[0] != "_"}}
namespace = fixed(FFT_NAMES)

ALONG = "a, n=None, axis=-1, norm=None"
OVER = "a, s=None, axes={axes}, norm=None"
TRANSFORMS = {
    np.fft.fft: (f"np.fft.fft({ALONG})", "fft_vjp(g, a, n, axis, norm)"),
    np.fft.ifft: (f"np.fft.ifft({ALONG})", "ifft_vjp(g, a, n, axis, norm)"),
    np.fft.rfft: (f"np.fft.rfft({ALONG})", "rfft_vjp(g, a, n, axis, norm)"),
    np.fft.irfft: (f"np.fft.irfft({ALONG})", "irfft_vjp(g, a, n, axis, norm)"),
    np.fft.fft2: (
        f"np.fft.fft2({OVER.format(axes=(-2, -1))})",
        "fftn_vjp(g, a, s, axes, norm)",
    ),
    np.fft.ifft2: (
        f"np.fft.ifft2({OVER.format(axes=(-2, -1))})",
        "fftn_vjp(g, a, s, axes, norm, inverse=True)",
    ),
    np.fft.fftn: (f"np.fft.fftn({OVER.format(axes=None)})", "fftn_vjp(g, a, s, axes, norm)"),
    np.fft.ifftn: (
        f"np.fft.ifftn({OVER.format(axes=None)})",
        "fftn_vjp(g, a, s, axes, norm, inverse=True)",
    ),
    np.fft.rfftn: (f"np.fft.rfftn({OVER.format(axes=None)})", "rfftn_vjp(g, a, s, axes, norm)"),
    np.fft.irfftn: (f"np.fft.irfftn({OVER.format(axes=None)})", "irfftn_vjp(g, a, s, axes, norm)"),
    np.fft.hfft: (f"np.fft.hfft({ALONG})", "hfft_vjp(g, a, n, axis, norm)"),
    np.fft.ihfft: (f"np.fft.ihfft({ALONG})", "ihfft_vjp(g, a, n, axis, norm)"),
    np.fft.fftshift: ("np.fft.fftshift(x, axes=None)", "np.fft.ifftshift(g, axes=axes)"),
    np.fft.ifftshift: ("np.fft.ifftshift(x, axes=None)", "np.fft.fftshift(g, axes=axes)"),
}
register_table(TRANSFORMS, namespace)

# The helpers above, so that emitted derivatives can be differentiated again: each is
# linear in the cotangent ``v``, and its transpose is the transform it came from.
HELPERS = {
    fft_helpers.fft_vjp: (f"fft_vjp(v, {ALONG})", "real_like(np.fft.fft(g, n, axis, norm), v)"),
    fft_helpers.ifft_vjp: (
        f"ifft_vjp(v, {ALONG})",
        "real_like(np.fft.ifft(g, n, axis, norm), v)",
    ),
    fft_helpers.rfft_vjp: (
        f"rfft_vjp(v, {ALONG})",
        "real_like(np.fft.rfft(g, n, axis, norm), v)",
    ),
    fft_helpers.irfft_vjp: (
        f"irfft_vjp(v, {ALONG})",
        "real_like(np.fft.irfft(g, n, axis, norm), v)",
    ),
    fft_helpers.rfftn_vjp: (
        f"rfftn_vjp(v, {OVER.format(axes=None)})",
        "real_like(np.fft.rfftn(g, s, axes, norm), v)",
    ),
    fft_helpers.irfftn_vjp: (
        f"irfftn_vjp(v, {OVER.format(axes=None)})",
        "real_like(np.fft.irfftn(g, s, axes, norm), v)",
    ),
    # ``hfft`` and ``ihfft`` conjugate: their helpers are linear over the reals, and
    # each is the transpose of its transform (the cotangent of ``conj(z)`` is ``conj(g)``).
    fft_helpers.hfft_vjp: (
        f"hfft_vjp(v, {ALONG})",
        "real_like(np.fft.hfft(g, n, axis, norm), v)",
    ),
    fft_helpers.ihfft_vjp: (
        f"ihfft_vjp(v, {ALONG})",
        "real_like(np.fft.ihfft(g, n, axis, norm), v)",
    ),
    fft_helpers.fftn_vjp: (
        "fftn_vjp(v, a, s=None, axes=None, norm=None, inverse=False)",
        "real_like(fftn_of(g, s, axes, norm, inverse), v)",
    ),
    fft_helpers.fftn_of: (
        "fftn_of(x, s=None, axes=None, norm=None, inverse=False)",
        "real_like(fftn_vjp(g, x, s, axes, norm, inverse), x)",
    ),
}
register_table(HELPERS, namespace)
