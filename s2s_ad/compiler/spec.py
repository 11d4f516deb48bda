"""The vocabulary every stage shares: the modes of a transform and its spec.

A :class:`Spec` is everything that decides the emitted code of one function:
the mode, the differentiated parameters, the kind of every parameter, whether
to optimize, the order of a Taylor-mode derivative, whether the function
returns an auxiliary value beside its output (``has_aux``), whether an argument
holds complex numbers (``complex_values``), and whether the code is differentiated
again (``closed``).  The pipeline caches
emitted code by it, and every stage receives it whole.

>>> spec = Spec("grad", ("x",), ("scalar", "array"))
>>> spec.mode, spec.kinds
(<Mode.GRAD: 'grad'>, (<Kind.SCALAR: 'scalar'>, <Kind.ARRAY: 'array'>))
>>> spec.param_kinds(("x", "w"))["w"]
<Kind.ARRAY: 'array'>
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Dict, Sequence, Tuple

from ..rules.kinds import Kind


class Mode(str, Enum):
    """What a transform emits; equal to its name as a string."""

    GRAD = "grad"  # reverse mode: the gradient
    VALUE_AND_GRAD = "value_and_grad"  # reverse mode: (value, gradient)
    VJP = "vjp"  # reverse mode: (value, pullback)
    # reverse mode without a closure: f_cotangents(*params, seed) -> (dx, ...), the primal
    # recomputed; what code that is differentiated again calls (compiler/closed_calls.py)
    COTANGENTS = "cotangents"
    JVP = "jvp"  # forward mode: (value, tangent)
    TANGENT = "tangent"  # forward mode: the output's tangent only (what an HVP needs)
    DERIVATIVE = "derivative"  # forward mode seeded with ones; Taylor mode above order 1
    # Taylor mode with the input's coefficients as parameters: (value, coefficients); what
    # the Taylor-mode code of a caller calls for a user function that is not inlined
    SERIES = "series"

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__

    @property
    def is_reverse(self) -> bool:
        return self in (Mode.GRAD, Mode.VALUE_AND_GRAD, Mode.VJP, Mode.COTANGENTS)


GRAD, VALUE_AND_GRAD, VJP = Mode.GRAD, Mode.VALUE_AND_GRAD, Mode.VJP
COTANGENTS = Mode.COTANGENTS
JVP, TANGENT, DERIVATIVE, SERIES = Mode.JVP, Mode.TANGENT, Mode.DERIVATIVE, Mode.SERIES
MODES = tuple(Mode)


@dataclass(frozen=True)
class Spec:
    """Everything that decides the emitted code of one function."""

    mode: Mode
    wrt: Tuple[str, ...]  # names of the differentiated parameters
    kinds: Tuple[Kind, ...]  # per parameter, in order
    optimize: bool = True
    order: int = 1  # of DERIVATIVE: above 1, Taylor mode (compiler/taylor.py)
    has_aux: bool = False  # f returns (output, aux): output is differentiated (compiler/aux.py)
    complex_values: bool = False  # an argument holds complex numbers (compiler/complex_guard.py)
    # The kinds were read from a call's arguments, so an unknown kind is a list, tuple,
    # dict or record, never a number or an array (``ad.source`` without arguments guesses)
    kinds_of_values: bool = False
    # Another transform differentiates the emitted code again: it calls user functions
    # that are not inlined through plain functions it can see into, never through
    # closures (compiler/closed_calls.py)
    closed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", Mode(self.mode))
        object.__setattr__(self, "wrt", tuple(self.wrt))
        object.__setattr__(self, "kinds", tuple(Kind(k) for k in self.kinds))
        if self.order != 1 and self.mode not in (DERIVATIVE, SERIES):
            mode = str(self.mode)
            raise ValueError(
                f"order={self.order} is only for modes 'derivative' and 'series', not {mode!r}"
            )
        if self.has_aux and self.mode not in (GRAD, VALUE_AND_GRAD, VJP, JVP):
            raise ValueError(f"has_aux is not supported in mode {str(self.mode)!r}")

    @property
    def taylor(self) -> bool:
        """Whether this is a higher derivative, which Taylor mode emits."""
        return self.mode == SERIES or self.mode == DERIVATIVE and self.order > 1

    def param_kinds(self, params: Sequence[str]) -> Dict[str, Kind]:
        """Parameter name -> kind."""
        return dict(zip(params, self.kinds))
