"""Rules for the runtime side of control flow: the schedules of checkpointed loops.

A schedule is a value the loop iterates, never differentiated, and every
loop needs its own: never shared or moved.  Asking it whether to save or
record a step is pure.
"""

from __future__ import annotations

from ..runtime.schedules import check_steps, checkpointed, records, saves
from .core import impure, nondifferentiable, pure

nondifferentiable(checkpointed, saves, records, check_steps)
impure(checkpointed, check_steps)
pure(saves, records)
