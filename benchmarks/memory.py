"""Peak memory and time of the emitted gradient code, with and without checkpointing.

Two loops from ``examples/checkpointing.py``: a scalar recurrence with a
branch in its body, and an RNN-style layer ``h = tanh(W @ h + U @ x_t)``
with 8 hidden units and 4 inputs.  For each number of steps ``n`` and each
schedule -- none (plain reverse mode), sqrt, binomial with ``s`` snapshots
-- it measures

* the peak memory allocated during one call of ``ad.grad(f)`` above what
  was allocated before it (``tracemalloc``, which sees NumPy's buffers too);
* the best time of ``--repeats`` calls, measured without ``tracemalloc``;
* from the schedule's counters (``s2s_ad.runtime.schedules.counting``): the steps
  run in all, primal and adjoint sweeps, per step of the loop, and the most
  snapshots held at once.

Every checkpointed gradient is checked to be bit-identical to the plain one.
Prints a Markdown table (the one in ``docs/memory.md``).

    nice -n 19 python benchmarks/memory.py                 # n = 10**3, 10**4, 10**5
    python benchmarks/memory.py --sizes 1000 --repeats 1   # a quick look

Needs only NumPy and s2s_ad.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

import s2s_ad as ad
from s2s_ad.runtime import schedules

ROOT = Path(__file__).resolve().parent.parent


def load_examples():
    spec = importlib.util.spec_from_file_location(
        "checkpointing_examples", ROOT / "examples" / "checkpointing.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


examples = load_examples()

# name, snapshots (None: sqrt); "none" is the loop without ad.checkpointed
SCHEDULES: List[Tuple[str, Optional[int]]] = [
    ("none", None),
    ("sqrt", None),
    ("binomial, s = 100", 100),
    ("binomial, s = 10", 10),
]


def workloads(n: int):
    """name, plain function, checkpointed function, wrt, arguments."""
    yield (
        "scalar recurrence",
        examples.recurrence,
        examples.recurrence_checkpointed,
        (0, 1),
        (0.7, 0.8, n),
    )
    yield (
        "RNN, 8 hidden units",
        examples.rnn,
        examples.rnn_checkpointed,
        (1, 2),
        examples.rnn_data(n),
    )


def peak_memory(call: Callable[[], Any]) -> Tuple[int, Any]:
    """Bytes allocated at the peak of ``call()`` above what was allocated before it."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before, result


def best_time(call: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def measure(n: int, repeats: int) -> List[dict]:
    rows = []
    for (name, plain, checkpointed, wrt, args), (*_, small) in zip(workloads(n), workloads(2)):
        expected = None
        for schedule, snapshots in SCHEDULES:
            if schedule == "none":
                gradient, call_args, warm_up = ad.grad(plain, wrt=wrt), args, small
            else:
                gradient = ad.grad(checkpointed, wrt=wrt)
                call_args, warm_up = (*args, snapshots), (*small, snapshots)
            gradient(*warm_up)  # builds the emitted code for these argument types
            with schedules.counting() as runs:
                memory, result = peak_memory(lambda: gradient(*call_args))  # noqa: B023
            if expected is None:
                expected = result
            assert all(np.array_equal(a, b) for a, b in zip(result, expected)), schedule
            seconds = best_time(lambda: gradient(*call_args), repeats)  # noqa: B023
            counts = runs[0] if runs else None
            rows.append(
                {
                    "workload": name,
                    "n": n,
                    "schedule": schedule,
                    "memory": memory,
                    "seconds": seconds,
                    "steps": (counts.advances + counts.records) / n if counts else 1.0,
                    "snapshots": counts.snapshots if counts else None,
                }
            )
    return rows


def table(rows: List[dict]) -> str:
    lines = [
        "| loop | n | checkpointing | peak memory | time | time / plain | steps run / n "
        "| most snapshots |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    plain = {(r["workload"], r["n"]): r for r in rows if r["schedule"] == "none"}
    for r in rows:
        base = plain[(r["workload"], r["n"])]
        snapshots = "-" if r["snapshots"] is None else str(r["snapshots"])
        lines.append(
            f"| {r['workload']} | {r['n']:,} | {r['schedule']} | {_bytes(r['memory'])} "
            f"| {_seconds(r['seconds'])} | {r['seconds'] / base['seconds']:.1f}x "
            f"| {r['steps']:.2f} | {snapshots} |"
        )
    return "\n".join(lines)


def _bytes(count: int) -> str:
    for unit, size in (("MB", 1 << 20), ("kB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls; the best is kept")
    options = parser.parse_args()
    rows = []
    for n in options.sizes:
        rows += measure(n, options.repeats)
    print(table(rows))


if __name__ == "__main__":
    main()
