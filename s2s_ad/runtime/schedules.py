"""Schedules of checkpointed loops: the runtime side of ``ad.checkpointed``.

Reverse mode normally records every step of a loop, so a loop of ``n``
steps keeps ``n`` steps' worth of values for the adjoint sweep.  A
checkpointed loop keeps *snapshots* instead -- the loop-carried state at a
few steps -- and recomputes the rest.  The emitted code asks a
:class:`Schedule` what to do:

* the primal sweep runs ``for i in schedule`` and, at each step, saves the
  state when ``saves(schedule)`` and runs the step recording what its
  adjoint reads when ``records(schedule)`` (the last steps), plainly
  otherwise;
* the adjoint sweep runs ``for i in schedule.reversal()`` and, for each
  step, does the :meth:`Reversal.action` it names: ``advance`` (run step
  ``i`` plainly), ``record`` (run it recording), ``reverse`` (the adjoint of
  the last recorded step, ``i``), ``save`` (keep the state before step ``i``)
  or ``restore`` (go back to the state saved before step ``i``).

Two schedules share this protocol:

* ``"sqrt"``: the state every ``k = ceil(sqrt(n))`` steps; each segment of
  ``k`` steps is recorded again from its snapshot and then reversed.  At
  most ``ceil(sqrt(n))`` snapshots and ``k`` recorded steps at once, and
  every step runs twice.
* ``"binomial"`` with ``snapshots=s``: Griewank and Walther's Revolve
  schedule.  At most ``s`` snapshots and one recorded step at once, and the
  fewest possible steps run without recording: Griewank's bound
  ``r * n - C(s + r, s + 1)``, where ``r`` is the least integer with
  ``C(s + r, s) >= n``.

:func:`counting` shows what a reversal did (:class:`Counts`).

>>> schedule = checkpointed(range(4), snapshots=2)
>>> list(schedule)
[0, 1, 2, 3]
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

ADVANCE, RECORD, REVERSE, SAVE, RESTORE = "advance", "record", "reverse", "save", "restore"
# The attribute ``ad.checkpoint`` sets on its copy of a function (never inlined).
CHECKPOINT_MARK = "_s2s_checkpoint"
_FREE = "free"  # a snapshot no longer needed; the reversal drops it itself

Action = Tuple[str, int]  # an action and the position (0 to n - 1) of its step


def checkpointed(
    iterable: Iterable, *, snapshots: Optional[int] = None, schedule: Optional[str] = None
) -> Schedule:
    """``iterable``, for a loop that reverse mode checkpoints instead of recording.

    ``for i in ad.checkpointed(range(n))`` loops like ``for i in range(n)``.
    In reverse mode the loop keeps snapshots of its state and recomputes
    the steps in between: by default every ``ceil(sqrt(n))``-th state
    (``schedule="sqrt"``); with ``snapshots=s``, at most ``s`` states and
    the fewest recomputed steps (``schedule="binomial"``, Revolve).
    Gradients are the same as without it.

    >>> list(checkpointed(range(3)))
    [0, 1, 2]
    >>> list(checkpointed(["a", "b"], snapshots=1))
    ['a', 'b']
    """
    check_steps(iterable)
    if schedule not in (None, "sqrt", "binomial"):
        raise TypeError(f"checkpointed: schedule must be 'sqrt' or 'binomial', got {schedule!r}")
    if snapshots is not None and (
        isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 1
    ):
        raise TypeError(f"checkpointed: snapshots must be an int of at least 1, got {snapshots!r}")
    if schedule == "binomial" and snapshots is None:
        raise TypeError("checkpointed: schedule='binomial' needs snapshots=s, the most kept")
    if schedule == "sqrt" and snapshots is not None:
        raise TypeError(
            "checkpointed: schedule='sqrt' chooses its own snapshots; "
            "give snapshots=s without schedule='sqrt' for at most s of them"
        )
    return Schedule(iterable, snapshots)


def check_steps(iterable: Any) -> None:
    """A ``TypeError`` unless ``iterable`` can be the steps of a checkpointed loop.

    >>> check_steps(5)
    Traceback (most recent call last):
    ...
    TypeError: checkpointed expects the loop's steps, an iterable such as range(n), got an int: 5
    """
    if not hasattr(iterable, "__iter__") or isinstance(iterable, (str, bytes)):
        kind = type(iterable).__name__
        article = "an" if kind[0] in "aeiou" else "a"
        raise TypeError(
            "checkpointed expects the loop's steps, an iterable such as range(n), "
            f"got {article} {kind}: {iterable!r}"
        )


@dataclass
class Counts:
    """What one checkpointed loop did, primal sweep included.

    ``advances`` and ``records`` count steps run without and with recording;
    ``snapshots`` and ``recorded`` are the most snapshots, and the most
    recorded steps awaiting their adjoint, held at any one time.
    """

    steps: int = 0
    advances: int = 0
    records: int = 0
    restores: int = 0
    snapshots: int = 0
    recorded: int = 0
    live_snapshots: int = field(default=0, repr=False)
    live_recorded: int = field(default=0, repr=False)

    def saved(self) -> None:
        self.live_snapshots += 1
        self.snapshots = max(self.snapshots, self.live_snapshots)

    def recording(self) -> None:
        self.records += 1
        self.live_recorded += 1
        self.recorded = max(self.recorded, self.live_recorded)


_COLLECTORS: List[List[Counts]] = []


@contextlib.contextmanager
def counting() -> Iterator[List[Counts]]:
    """Collect the :class:`Counts` of every checkpointed loop reversed in the block.

    >>> with counting() as runs:
    ...     reversal = checkpointed(range(0)).reversal()
    >>> runs
    [Counts(steps=0, advances=0, records=0, restores=0, snapshots=0, recorded=0)]
    """
    runs: List[Counts] = []
    _COLLECTORS.append(runs)
    try:
        yield runs
    finally:
        _COLLECTORS.remove(runs)


class Schedule:
    """The steps of a checkpointed loop, and which of them the primal sweep saves and records.

    Iterating gives the steps; reverse-mode code also asks :func:`saves` and
    :func:`records` at each step, saves with ``schedule[i] = state``, and
    then runs :meth:`reversal`.
    """

    def __init__(self, steps: Iterable, snapshots: Optional[int] = None):
        # Reverse mode indexes the steps; lowering passes a range.
        self.steps = steps if _indexable(steps) else list(steps)
        self.snapshots = snapshots
        self.counts = Counts()
        self._plan: Optional[_Plan] = None
        self._saved: Dict[Any, tuple] = {}
        self.position = -1

    def __iter__(self) -> Iterator:
        self._saved = {}
        self.counts = counts = Counts(steps=len(self.steps))
        recorded_from = self.plan().recorded_from
        for position, step in enumerate(self.steps):
            self.position = position
            yield step
            if position >= recorded_from:
                counts.recording()
            else:
                counts.advances += 1

    def plan(self) -> _Plan:
        if self._plan is None:
            n = len(self.steps)
            self._plan = (
                _sqrt_plan(n) if self.snapshots is None else _binomial_plan(n, self.snapshots)
            )
        return self._plan

    def __setitem__(self, step: Any, state: tuple) -> None:
        self._saved[step] = state
        self.counts.saved()

    def reversal(self, keep: bool = False) -> Reversal:
        """The adjoint sweep's actions; ``keep`` leaves the snapshots for another reversal."""
        saved = dict(self._saved) if keep else self._saved
        if not keep:
            self._saved = {}
        counts = Counts(**vars(self.counts))
        actions = self.plan().adjoint() if self.steps else iter(())
        return Reversal(self.steps, actions, saved, counts)


def saves(schedule: Schedule) -> bool:
    """Whether the primal sweep keeps the state before the current step of ``schedule``.

    >>> schedule = checkpointed(range(10))
    >>> [i for i in schedule if saves(schedule)]
    [0, 4]
    """
    return schedule.position in schedule.plan().saved


def records(schedule: Schedule) -> bool:
    """Whether the primal sweep records the current step of ``schedule`` (the last ones).

    >>> schedule = checkpointed(range(10))
    >>> [i for i in schedule if records(schedule)]
    [8, 9]
    """
    return schedule.position >= schedule.plan().recorded_from


class Reversal:
    """Iterating gives the step of each action of the adjoint sweep; :meth:`action` names it.

    ``reversal[i] = state`` saves the state before step ``i``,
    ``reversal[i]`` gives it back.
    """

    def __init__(
        self, steps: Sequence, actions: Iterator[Action], saved: Dict[Any, tuple], counts: Counts
    ):
        self.steps = steps
        self.counts = counts
        self._actions = actions
        self._saved = saved
        self._action: Optional[str] = None
        for runs in _COLLECTORS:
            runs.append(counts)

    def __iter__(self) -> Iterator:
        counts = self.counts
        for action, position in self._actions:
            step = self.steps[position]
            if action == _FREE:
                del self._saved[step]
                counts.live_snapshots -= 1
                continue
            if action == ADVANCE:
                counts.advances += 1
            elif action == RECORD:
                counts.recording()
            elif action == REVERSE:
                counts.live_recorded -= 1
            elif action == RESTORE:
                counts.restores += 1
            self._action = action
            yield step

    def action(self) -> Optional[str]:
        """What to do with the current step: advance, record, reverse, save or restore."""
        return self._action

    def __setitem__(self, step: Any, state: tuple) -> None:
        self._saved[step] = state
        self.counts.saved()

    def __getitem__(self, step: Any) -> tuple:
        return self._saved[step]


# ------------------------------------------------------------------ plans


@dataclass(frozen=True)
class _Plan:
    """Positions the primal sweep saves, the first one it records, and the adjoint's actions."""

    saved: frozenset
    recorded_from: int
    adjoint: Callable[[], Iterator[Action]]


def _sqrt_plan(n: int) -> _Plan:
    """Snapshots every ``k = ceil(sqrt(n))`` steps; the last segment is recorded at once."""
    k = max(1, _ceil_sqrt(n))
    starts = range(0, n, k)
    last = starts[-1] if n else 0

    def adjoint() -> Iterator[Action]:
        for position in reversed(range(last, n)):
            yield REVERSE, position
        for start in reversed(starts[:-1]):
            yield RESTORE, start
            segment = range(start, start + k)
            for position in segment:
                yield RECORD, position
            for position in reversed(segment):
                yield REVERSE, position
            yield _FREE, start

    return _Plan(frozenset(starts[:-1]), last, adjoint)


def _binomial_plan(n: int, snapshots: int) -> _Plan:
    """Revolve: the primal sweep saves the states where the optimal schedule splits."""
    chain = []  # (position, snapshots available from it on), as the primal sweep saves them
    low, slots = 0, snapshots
    while n - low > 1 and slots > 1:
        chain.append((low, slots))
        low, slots = low + _split(n - low, slots), slots - 1
    if n - low > 1:
        chain.append((low, slots))
    ends = [position for position, _ in chain[1:]] + [n - 1]

    def adjoint() -> Iterator[Action]:
        yield REVERSE, n - 1  # the primal sweep recorded the last step
        for (start, slots), end in reversed(list(zip(chain, ends))):
            yield from _reverse_range(start, end, slots)
            yield _FREE, start

    return _Plan(frozenset(p for p, _ in chain), n - 1, adjoint)


def _reverse_range(low: int, high: int, slots: int) -> Iterator[Action]:
    """Reverse steps ``high - 1`` down to ``low`` from the snapshot at ``low``, holding at
    most ``slots`` snapshots (that one included), with the fewest advances."""
    current = None  # the position of the state the variables hold, if known
    tasks: list = [(low, high, slots)]
    while tasks:
        task = tasks.pop()
        if task[0] == _FREE:
            yield task
            continue
        low, high, slots = task
        if high - low <= 0:
            continue
        if slots == 1 or high - low == 1:
            for position in reversed(range(low, high)):
                if current != low:
                    yield RESTORE, low
                for step in range(low, position):
                    yield ADVANCE, step
                yield RECORD, position
                yield REVERSE, position
                current = None
            continue
        middle = low + _split(high - low, slots)
        if current != low:
            yield RESTORE, low
        for step in range(low, middle):
            yield ADVANCE, step
        yield SAVE, middle
        current = middle
        tasks += [(low, middle, slots), (_FREE, middle), (middle, high, slots - 1)]


def _split(steps: int, slots: int) -> int:
    """How far to advance before the next snapshot, reversing ``steps`` steps with ``slots``
    snapshots: any split that leaves the left part ``r - 1`` and the right part ``r``
    repetitions is optimal (``r`` the repetition number of ``steps`` and ``slots``)."""
    r = _repetitions(steps, slots)
    return min(_beta(slots, r - 1), max(_beta(slots, r - 2) + 1, steps - _beta(slots - 1, r)))


def _beta(slots: int, repetitions: int) -> int:
    """The most steps ``slots`` snapshots reverse with each step advanced ``repetitions`` times."""
    return math.comb(slots + repetitions, slots) if repetitions >= 0 else 0


def _repetitions(steps: int, slots: int) -> int:
    """The least ``r`` with ``beta(slots, r) >= steps``."""
    high = 1
    while _beta(slots, high) < steps:
        high *= 2
    low = 0
    while low < high:
        middle = (low + high) // 2
        if _beta(slots, middle) >= steps:
            high = middle
        else:
            low = middle + 1
    return low


def _ceil_sqrt(n: int) -> int:
    k = math.isqrt(n)
    return k if k * k == n else k + 1


def _indexable(steps: Any) -> bool:
    return hasattr(steps, "__len__") and hasattr(steps, "__getitem__")
