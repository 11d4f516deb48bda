"""Cases of the rules in ``s2s_ad/rules/complex_numbers.py`` and ``s2s_ad/rules/fft.py``, for
``test_rules_numpy.py``.

These run on real inputs with real outputs, complex values in between: a real function that
uses complex primitives inside (a spectrum's magnitude, a phase).  ``test_rules_complex.py``
checks the same rules on complex inputs, along the real and the imaginary directions.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from s2s_ad.runtime import complex_numbers
from s2s_ad.runtime import fft as fft_helpers

from rule_harness import ANY, NONZERO, UNIT, Case, shaped

VECTORS = {"(4,)": ((4,),), "(5,)": ((5,),)}
PHASE = "np.exp(1j * x)"  # a unit complex number per entry, whose angle is x
SPECTRUM = "(x * (1 + 2j))"  # a complex half spectrum from a real x


def pair(expr: str, x: tuple, y: tuple, wrt: Any = None) -> Case:
    name = f"{x},{y}".replace(" ", "")
    return Case(expr, (ANY, ANY), {name: (x, y)}, wrt=wrt)


CASES: Dict[Any, Any] = {
    np.imag: [
        shaped(f"np.imag({PHASE})", (3,), (2, 3)),
        shaped("np.imag(x)", (3,)),  # of a real number: 0
    ],
    np.angle: [
        Case(f"np.angle({PHASE} * (2 + 1j))", (UNIT,), {"(3,)": ((3,),), "(2,3)": ((2, 3),)}),
        Case(f"np.angle({PHASE}, deg=True)", (UNIT,), {"(3,)": ((3,),)}),
    ],
    np.fft.fft: [
        Case("np.abs(np.fft.fft(x))", (NONZERO,), VECTORS),
        shaped("np.real(np.fft.fft(x, n=6) * (1 - 2j))", (4,)),
        shaped("np.imag(np.fft.fft(x, n=3, axis=0, norm='ortho'))", (5, 2)),
    ],
    np.fft.ifft: [
        shaped("np.real(np.fft.ifft(x * (2 + 1j)))", (4,), (2, 3)),
        shaped("np.imag(np.fft.ifft(x, n=6, norm='forward'))", (4,)),
    ],
    np.fft.rfft: [
        shaped("np.real(np.fft.rfft(x) * (1 + 1j))", (4,), (5,), (2, 6)),
        shaped("np.imag(np.fft.rfft(x, n=7, axis=0, norm='ortho'))", (5, 2)),
    ],
    np.fft.irfft: [
        shaped(f"np.fft.irfft({SPECTRUM})", (3,), (4,), (2, 4)),
        shaped(f"np.fft.irfft({SPECTRUM}, n=5, norm='ortho')", (3,)),
        shaped(f"np.fft.irfft({SPECTRUM}, n=4, axis=0, norm='forward')", (4, 2)),
    ],
    np.fft.fft2: shaped("np.real(np.fft.fft2(x) * (1 + 2j))", (3, 4), (2, 2, 3)),
    np.fft.ifft2: shaped("np.imag(np.fft.ifft2(x, s=(2, 5)))", (3, 4)),
    np.fft.fftn: [
        shaped("np.real(np.fft.fftn(x) * (1 - 1j))", (2, 3, 2)),
        shaped("np.imag(np.fft.fftn(x, axes=(0,), norm='ortho'))", (3, 2)),
    ],
    np.fft.ifftn: shaped("np.real(np.fft.ifftn(x * (1 + 1j), s=(4, 2), axes=(0, 1)))", (3, 3)),
    np.fft.rfftn: [
        shaped("np.real(np.fft.rfftn(x) * (1 + 2j))", (4,), (2, 3), (2, 3, 4)),
        shaped("np.imag(np.fft.rfftn(x, s=(3, 5), axes=(1, 0), norm='ortho'))", (2, 4)),
    ],
    np.fft.irfftn: [
        shaped(f"np.fft.irfftn({SPECTRUM})", (3,), (2, 3)),
        shaped(f"np.fft.irfftn({SPECTRUM}, s=(3, 5), axes=(0, 1), norm='forward')", (2, 3)),
    ],
    np.fft.hfft: [
        shaped(f"np.fft.hfft({SPECTRUM})", (3,), (2, 4)),
        shaped(f"np.fft.hfft({SPECTRUM}, n=5, axis=0, norm='ortho')", (3, 2)),
    ],
    np.fft.ihfft: [
        shaped("np.real(np.fft.ihfft(x) * (1 - 2j))", (4,), (5,), (2, 3)),
        shaped("np.imag(np.fft.ihfft(x, n=6, axis=0, norm='forward'))", (4, 2)),
    ],
    np.fft.fftshift: [
        shaped("np.fft.fftshift(x)", (5,), (2, 3)),
        shaped("np.fft.fftshift(x, axes=1)", (2, 3)),
    ],
    np.fft.ifftshift: [
        shaped("np.fft.ifftshift(x)", (5,), (2, 3)),
        shaped("np.fft.ifftshift(x, axes=0)", (3, 2)),
    ],
    # The helpers of emitted derivatives, differentiated again.
    fft_helpers.fft_vjp: pair("np.real(fft_helpers.fft_vjp(x * (1 + 1j), y, 6))", (6,), (4,), (0,)),
    fft_helpers.ifft_vjp: pair("fft_helpers.ifft_vjp(x * (1 - 1j), y)", (4,), (4,), (0,)),
    fft_helpers.rfft_vjp: pair("fft_helpers.rfft_vjp(x * (1 + 1j), y)", (3,), (5,), (0,)),
    fft_helpers.irfft_vjp: pair("np.imag(fft_helpers.irfft_vjp(x, y * 1j))", (4,), (3,), (0,)),
    fft_helpers.fftn_vjp: pair("fft_helpers.fftn_vjp(x * (1 + 1j), y)", (2, 3), (2, 3), (0,)),
    fft_helpers.rfftn_vjp: pair("fft_helpers.rfftn_vjp(x * (1 + 1j), y)", (2, 2), (2, 3), (0,)),
    fft_helpers.irfftn_vjp: pair(
        "np.imag(fft_helpers.irfftn_vjp(x, y * 1j, s=(3, 3), axes=(0, 1)))", (3, 3), (3, 2), (0,)
    ),
    fft_helpers.hfft_vjp: pair(
        "np.real(fft_helpers.hfft_vjp(x, y * 1j) * (2 + 1j))", (4,), (3,), (0,)
    ),
    fft_helpers.ihfft_vjp: pair("fft_helpers.ihfft_vjp(x * (1 - 1j), y)", (3,), (5,), (0,)),
    fft_helpers.fftn_of: shaped("np.real(fft_helpers.fftn_of(x, inverse=True) * (1 + 1j))", (2, 3)),
    complex_numbers.abs_jvp: Case(
        "complex_numbers.abs_jvp(x, y * (1 + 1j))", (ANY, NONZERO), {"(3,),(3,)": ((3,), (3,))}
    ),
    complex_numbers.abs_vjp: Case(
        "np.real(complex_numbers.abs_vjp(x, y * (1 - 2j)) * (1 + 1j))",
        (ANY, NONZERO),
        {"(3,),(3,)": ((3,), (3,))},
    ),
    complex_numbers.unit_jvp: pair(
        "np.real(complex_numbers.unit_jvp(x * (1 + 2j), y + 3j) * (2 - 1j))", (3,), (3,), (0,)
    ),
    complex_numbers.unit_vjp: pair(
        "np.imag(complex_numbers.unit_vjp(x * (1 + 2j), y + 3j))", (3,), (3,), (0,)
    ),
    complex_numbers.angle_jvp: pair("complex_numbers.angle_jvp(x * 1j, y + 2j)", (3,), (3,), (0,)),
    complex_numbers.angle_vjp: pair(
        "np.imag(complex_numbers.angle_vjp(x, y + 2j, True))", (3,), (3,), (0,)
    ),
    complex_numbers.real_part: shaped("complex_numbers.real_part(x * (1 + 1j))", (3,)),
    complex_numbers.real_like: pair("complex_numbers.real_like(x * (1 + 1j), y)", (3,), (3,), (0,)),
    complex_numbers.complex_vjp_real: shaped(
        "complex_numbers.complex_vjp_real(x * (1 - 1j))", (3,)
    ),
    complex_numbers.complex_vjp_imag: shaped(
        "complex_numbers.complex_vjp_imag(x * (1 - 1j))", (3,)
    ),
}
# Variants that pass the argument straight to a linear parameter (``test_rules_linear.py``
# runs those forward along it).
STRAIGHT = {
    np.fft.irfft: shaped("np.fft.irfft(x)", (4,)),  # a real half spectrum
    np.fft.ifftn: shaped("np.imag(np.fft.ifftn(x))", (2, 3)),
    fft_helpers.fft_vjp: pair("fft_helpers.fft_vjp(x, y, 3)", (3,), (4,), (0,)),
    fft_helpers.ifft_vjp: pair("fft_helpers.ifft_vjp(x, y)", (4,), (4,), (0,)),
    fft_helpers.rfft_vjp: pair("fft_helpers.rfft_vjp(x, y)", (3,), (4,), (0,)),
    fft_helpers.fftn_vjp: pair("fft_helpers.fftn_vjp(x, y, inverse=True)", (2, 3), (2, 3), (0,)),
    np.fft.irfftn: shaped("np.fft.irfftn(x, axes=(0,))", (3, 2)),  # a real half spectrum
    np.fft.hfft: shaped("np.fft.hfft(x, n=4)", (3,)),
    fft_helpers.rfftn_vjp: pair("fft_helpers.rfftn_vjp(x, y, axes=(0,))", (2, 2), (3, 2), (0,)),
    fft_helpers.ihfft_vjp: pair("fft_helpers.ihfft_vjp(x, y)", (3,), (4,), (0,)),
    complex_numbers.unit_jvp: pair(
        "np.imag(complex_numbers.unit_jvp(x, y + 3j))", (3,), (3,), (0,)
    ),
    complex_numbers.unit_vjp: pair(
        "np.real(complex_numbers.unit_vjp(x, y + 3j))", (3,), (3,), (0,)
    ),
    complex_numbers.angle_jvp: pair("complex_numbers.angle_jvp(x, y + 2j, True)", (3,), (3,), (0,)),
    complex_numbers.real_part: shaped("complex_numbers.real_part(x)", (3,)),
    complex_numbers.real_like: pair(
        "np.imag(complex_numbers.real_like(x, y * 1j))", (3,), (3,), (0,)
    ),
    complex_numbers.complex_vjp_real: shaped("complex_numbers.complex_vjp_real(x)", (3,)),
    complex_numbers.complex_vjp_imag: shaped("complex_numbers.complex_vjp_imag(x)", (3,)),
}
for _fn, _case in STRAIGHT.items():
    _cases = CASES[_fn]
    CASES[_fn] = [*(_cases if isinstance(_cases, list) else [_cases]), _case]
