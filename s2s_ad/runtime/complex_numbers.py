"""Helpers that the emitted derivatives of complex numbers call.

s2s_ad follows JAX's convention (see ``docs/complex.md``): a tangent is the plain
R-linear pushforward, and a cotangent ``w`` of a complex value ``z`` is the one with
``Re(w * dz)`` the change of the real output, so the gradient of a real ``f(x + iy)`` is
``df/dx - i df/dy``, and the cotangent of a holomorphic ``f`` is ``g * f'(z)`` (no
conjugate).  A real value pairs with the real part of its cotangent: where a real value
met a complex one, the cotangent it gets is made real (:func:`real_like`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import records
from .errors import Loc, TransformError


def is_complex(x: Any) -> bool:
    """Whether ``x`` is a complex number or a complex array.

    >>> is_complex(1j), is_complex(np.ones(2)), is_complex(np.ones(2, dtype=complex))
    (True, False, True)
    """
    return isinstance(x, complex) or np.iscomplexobj(x)


def holds_complex(value: Any) -> bool:
    """Whether ``value`` is complex or holds complex numbers (inside lists, tuples, dicts
    and records too).

    >>> holds_complex([1.0, (np.ones(2), {"w": 2j})]), holds_complex((1.0, np.ones(2)))
    (True, False)
    """
    if records.is_record(value) and not isinstance(value, tuple):  # a NamedTuple is a tuple
        return any(holds_complex(v) for v in records.fields_of(value).values())
    if isinstance(value, (list, tuple)):
        return any(holds_complex(v) for v in value)
    if isinstance(value, dict):
        return any(holds_complex(v) for v in value.values())
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype.kind == "c"
    return isinstance(value, complex)


def require_real(what: str, where: tuple, hint: str, *values: Any) -> None:
    """A :class:`TransformError` at the user's line when one of ``values`` is complex:
    the derivative of ``what`` is only right for real numbers.  Emitted derivatives call
    it before such a call, where complex values may reach it.

    ``where`` is ``(filename, lineno, col_offset, source_line)``.

    >>> where = ("f.py", 3, 11, "    return np.var(z)")
    >>> require_real("np.var", where, "", np.ones(2))
    >>> require_real("np.var", where, "use np.abs", np.ones(2) * 1j)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    s2s_ad.runtime.errors.TransformError: f.py:3: np.var of complex numbers ...
    """
    if any(holds_complex(value) for value in values):
        raise TransformError(
            f"{what} of complex numbers has no derivative in s2s_ad: its rule is only right "
            "for real numbers",
            Loc(*where),
            hint=(hint or "Differentiate real values: np.real(z), np.imag(z) or np.abs(z)")
            + " (see docs/complex.md).",
        )


def real_like(g: Any, x: Any) -> Any:
    """The cotangent ``g`` of ``x``, of ``x``'s number kind: made real when ``x`` is real,
    complex when ``x`` is complex.

    >>> real_like(np.array([1 + 2j]), np.zeros(1)), real_like(2.0, 1j)
    (array([1.]), (2+0j))
    >>> real_like((1 + 2j, 3j), (0.5, 1j))  # a tuple of cotangents, item by item
    (1.0, 3j)
    """
    if isinstance(x, (tuple, list)) and isinstance(g, (tuple, list)):
        return type(x)(real_like(item, like) for item, like in zip(g, x))
    if is_complex(x):
        if is_complex(g):
            return g
        if isinstance(x, complex):
            return complex(g)
        return np.asarray(g).astype(np.result_type(x, np.asarray(g).dtype))[()]
    if not is_complex(g):
        return g
    part = np.real(g)
    if isinstance(x, float):
        return float(part)
    return part


def real_part(g: Any) -> Any:
    """``g``'s real part, of ``g``'s type: the cotangent a real value pairs with.

    >>> real_part(2 - 1j), real_part(np.float32(2.0)).dtype
    (2.0, dtype('float32'))
    """
    if isinstance(g, complex):
        return g.real
    return np.real(g) if is_complex(g) else g


def abs_jvp(dx: Any, x: Any) -> Any:
    """The tangent of ``abs(x)``: ``sign(x) dx`` for reals, ``Re(conj(x) dx) / |x|`` for
    complex ``x`` (0 where ``x`` is 0, as for reals).

    >>> abs_jvp(1.0, -2.0), float(abs_jvp(1j, 3 + 4j))
    (-1.0, 0.8)
    """
    if is_complex(x):
        return real_part(np.conjugate(np.sign(x)) * dx)
    return dx * _sign(x)


def abs_vjp(g: Any, x: Any) -> Any:
    """The cotangent of ``x`` from the cotangent ``g`` of ``abs(x)``: ``g sign(x)``, or
    ``Re(g) conj(x) / |x|`` for complex ``x`` (JAX's convention).

    >>> abs_vjp(1.0, 3 + 4j)
    np.complex128(0.6-0.8j)
    """
    if is_complex(x):
        return real_part(g) * np.conjugate(np.sign(x))
    return g * _sign(x)


def angle_jvp(dx: Any, x: Any, deg: bool = False) -> Any:
    """The tangent of ``np.angle(x)``: ``Im(dx / x)``; 0 for real ``x``.

    >>> round(float(angle_jvp(1j, 2.0 + 0j)), 12)
    0.5
    """
    if not is_complex(x):
        return _zeros_of(dx, x)
    slope = np.imag(dx * np.conjugate(x)) / _squared_modulus(x)
    return slope * (180 / np.pi) if deg else slope


def angle_vjp(g: Any, x: Any, deg: bool = False) -> Any:
    """The cotangent of ``x`` from the cotangent ``g`` of ``np.angle(x)``:
    ``-i Re(g) conj(x) / |x|^2``; 0 for real ``x``.

    >>> angle_vjp(1.0, 2.0 + 0j) == -0.5j
    np.True_
    """
    if not is_complex(x):
        return _zeros_of(g, x)
    cotangent = -1j * real_part(g) * np.conjugate(x) / _squared_modulus(x)
    return cotangent * (180 / np.pi) if deg else cotangent


def sign_of(x: Any) -> Any:
    """``np.sign(x)``, which NumPy 2 defines as ``x / |x|`` for complex ``x`` (0 at 0):
    differentiable there, a constant for real ``x``.  Complex derivatives call it in place
    of ``np.sign`` (``compiler/complex_guard.py``), whose rule is the real one.

    >>> sign_of(-2.0), sign_of(3 + 4j)
    (np.float64(-1.0), np.complex128(0.6+0.8j))
    """
    return np.sign(x)


def unit_jvp(dx: Any, x: Any) -> Any:
    """The change of ``conj(x) / |x|`` (the slope of ``abs``) along ``dx``:
    ``(conj(dx) - u Re(u dx)) / |x|`` with ``u = conj(x) / |x|``; 0 for real ``x``.

    >>> unit_jvp(1j, 1.0 + 0j)
    np.complex128(-1j)
    """
    if not is_complex(x):
        return _zeros_of(dx, x)
    u = np.conjugate(np.sign(x))
    return (np.conjugate(dx) - u * np.real(u * dx)) / np.abs(x)


def unit_vjp(g: Any, x: Any) -> Any:
    """The transpose of :func:`unit_jvp`: ``(conj(g) - Re(g u) u) / |x|``; 0 for real ``x``.

    >>> unit_vjp(1j, 1.0 + 0j)
    np.complex128(-1j)
    """
    if not is_complex(x):
        return _zeros_of(g, x)
    u = np.conjugate(np.sign(x))
    return (np.conjugate(g) - np.real(g * u) * u) / np.abs(x)


def complex_vjp_real(g: Any) -> Any:
    """The cotangent of ``a`` in ``complex(a, b)``: ``Re(g)``.

    >>> complex_vjp_real(2 - 3j), complex_vjp_imag(2 - 3j)
    (2.0, 3.0)
    """
    return real_part(g)


def complex_vjp_imag(g: Any) -> Any:
    """The cotangent of ``b`` in ``complex(a, b)``: ``-Im(g)``."""
    return -np.imag(g) if not isinstance(g, complex) else -g.imag


def _zeros_of(v: Any, x: Any) -> Any:
    """Zeros of the real dtype and the broadcast shape of ``v`` and a real ``x``."""
    return np.zeros_like(np.real(v) * x)[()]


def _squared_modulus(x: Any) -> Any:
    return np.real(x) ** 2 + np.imag(x) ** 2


def _sign(x: Any) -> Any:
    if isinstance(x, (float, int)):
        return 1.0 if x > 0 else -1.0 if x < 0 else 0.0
    return np.sign(x)
