"""Time s2s_ad against hand-written derivatives and against autograd, JAX and PyTorch.

    pip install -e ".[bench]" && python benchmarks/run.py
    python benchmarks/run.py --only recurrence mlp --repeats 5
    python benchmarks/run.py --no-peers          # s2s_ad and hand-written only

In one run, for every workload of ``workloads.py``, each implementation is
called in batches of about ``--batch-seconds``; the batches are interleaved
(one batch of each implementation per round, the order rotating from round to
round) so that a slow moment of the machine hits all of them alike, and the
time per call is the median over ``--repeats`` rounds.  BLAS and the peers run
on one thread.  Every derivative is checked against the hand-written one
before it is timed.

"s2s_ad" is the emitted function called directly (the code ``ad.source``
prints); "s2s_ad via ad.grad" goes through the function ``ad.grad`` returns,
which picks the emitted code for the argument types.  The difference is the
call overhead, reported on its own with the transform cost and the values a
loop's reverse sweep stores per iteration.

Prints a Markdown table and writes the same numbers as JSON (``--json``).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Dict, List  # noqa: E402

import numpy as np  # noqa: E402

import s2s_ad as ad  # noqa: E402
from s2s_ad.api import higher  # noqa: E402
from s2s_ad.compiler import derived, pipeline, signatures  # noqa: E402
from s2s_ad.compiler.pipeline import GRAD  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import long_functions  # noqa: E402
import peers  # noqa: E402
import stores  # noqa: E402
import workloads  # noqa: E402
from workloads import WORKLOADS, Workload  # noqa: E402

HAND, FUNCTION, S2S, S2S_API = "hand-written", "function", "s2s_ad", "s2s_ad via ad.grad"


def main(argv: List[str] = None) -> None:
    options = _options(argv)
    peers.configure_threads()
    chosen = [w for w in WORKLOADS if not options.only or w.name in options.only]
    rng = np.random.default_rng(0)
    report: Dict[str, Any] = {"machine": machine(), "workloads": {}}
    for workload in chosen:
        print(f"timing {workload.name} ...", file=sys.stderr, flush=True)
        report["workloads"][workload.name] = time_workload(
            workload, workload.arguments(rng), options
        )
    report["transform"] = transform_cost(options.repeats)
    report["transform_by_size"] = transform_by_size(options.sizes)
    # Where a call takes milliseconds, a microsecond is lost in the noise.
    report["call_overhead_us"] = {
        name: entry["times"][S2S_API]["seconds"] * 1e6 - entry["times"][S2S]["seconds"] * 1e6
        for name, entry in report["workloads"].items()
        if entry["times"][S2S]["seconds"] < 50e-6
    }
    report["stored_per_iteration"] = stored_per_iteration()
    print(markdown(report))
    with open(options.json, "w") as out:
        json.dump(report, out, indent=1)
    print(f"\n(the same numbers are in {options.json})")


def _options(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="workload names (default: all)")
    parser.add_argument("--repeats", type=int, default=11, help="interleaved rounds (median)")
    parser.add_argument("--batch-seconds", type=float, default=0.02)
    parser.add_argument("--no-peers", action="store_true", help="time s2s_ad and NumPy only")
    parser.add_argument(
        "--first-calls", type=int, default=1, help="fresh jax.jit compilations timed (0: none)"
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=list(long_functions.SIZES),
        help="lines of the long functions whose transform is timed (none: skip)",
    )
    parser.add_argument("--json", default=os.path.join("benchmarks", "results.json"))
    return parser.parse_args(argv)


# --------------------------------------------------------------- timing


def time_workload(workload: Workload, args: tuple, options) -> Dict[str, Any]:
    timed = implementations(workload, args, options.no_peers)
    expected = workload.by_hand(*args)
    mismatches = [
        label
        for label, (fn, a) in timed.items()
        if label != FUNCTION and not _agrees(fn(*a), expected)
    ]
    batches = {label: _batch_size(fn, a, options.batch_seconds) for label, (fn, a) in timed.items()}
    samples: Dict[str, List[float]] = {label: [] for label in timed}
    labels = list(timed)
    for round_ in range(options.repeats):
        shift = round_ % len(labels)
        for label in labels[shift:] + labels[:shift]:
            fn, a = timed[label]
            samples[label].append(_per_call(fn, a, batches[label]))
    times = {label: _summary(values) for label, values in samples.items()}
    entry = {"title": workload.title, "target": workloads.target(workload), "times": times}
    if not options.no_peers and options.first_calls:
        try:
            firsts = [peers.jax_first_call(workload, args) for _ in range(options.first_calls)]
            entry["times"]["JAX (jit, first call)"] = _summary(firsts)
        except ImportError:
            pass
    base, hand = times[FUNCTION]["seconds"], times[HAND]["seconds"]
    for value in times.values():
        value["x_function"] = value["seconds"] / base
        value["x_hand_written"] = value["seconds"] / hand
    entry["mismatches"] = mismatches
    return entry


def implementations(workload: Workload, args: tuple, no_peers: bool) -> Dict[str, tuple]:
    primal_args = args[:-1] if workload.hvp else args
    timed = {
        FUNCTION: (workload.function, primal_args),
        HAND: (workload.by_hand, args),
        S2S: (emitted_function(workload, args), args),
        S2S_API: (workload.s2s(), args),
    }
    if not no_peers:
        for name, build in peers.PEERS.items():
            try:
                timed.update(build(workload, args))
            except ImportError:
                print(f"  {name} is not installed: left out", file=sys.stderr)
    return timed


def emitted_function(workload: Workload, args: tuple) -> Callable:
    """The function s2s_ad emitted for these argument types, to call without the API's dispatch."""
    names = tuple(signatures.parameters(workload.function)[i] for i in workload.wrt)
    if workload.hvp:
        emitted, _ = higher._over_gradient(workload.function, names).prepare(args[:-1], {})
        return emitted
    emitted, _ = derived.derived_of(workload.function, GRAD, names).prepare(args, {})
    return emitted


def _batch_size(fn: Callable, args: tuple, seconds: float) -> int:
    fn(*args)  # warm caches (and let the peers build their graphs)
    once = _per_call(fn, args, 1)
    if once * 10 < seconds:
        once = _per_call(fn, args, max(1, int(seconds / once / 10)))
    return max(1, int(seconds / once))


def _per_call(fn: Callable, args: tuple, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn(*args)
    return (time.perf_counter() - start) / number


def _summary(values: List[float]) -> Dict[str, Any]:
    return {"seconds": statistics.median(values), "samples": values}


def _agrees(result: Any, expected: Any) -> bool:
    result, expected = peers.as_numpy(result), peers.as_numpy(expected)
    if isinstance(expected, tuple):
        return (
            isinstance(result, tuple)
            and len(result) == len(expected)
            and all(map(_agrees, result, expected))
        )
    return bool(np.allclose(result, expected, rtol=1e-7, atol=1e-10))


# ----------------------------------------------- transform cost, storage


def transform_cost(repeats: int) -> Dict[str, float]:
    """The first ``ad.grad(f)(...)`` of a 30-line function, and the calls after it."""
    f, args = workloads.thirty_lines, (0.3, 0.2, 2.0, 0.1, 0.05)
    firsts = []
    for _ in range(repeats):
        _forget_transforms()
        start = time.perf_counter()
        ad.grad(f, wrt=(0, 1, 2, 3, 4))(*args)
        firsts.append(time.perf_counter() - start)
    gradient = ad.grad(f, wrt=(0, 1, 2, 3, 4))
    later = statistics.median(_per_call(gradient, args, 10_000) for _ in range(repeats))
    return {"first_call_ms": statistics.median(firsts) * 1e3, "later_call_us": later * 1e6}


def _forget_transforms() -> None:
    pipeline._CACHE.clear()
    derived._CACHE.clear()


# (mode, optimize) -> the first call it times, of f(x, y, w) from long_functions.py
FIRST_CALLS = {
    "grad": lambda f, args, optimize: ad.grad(f, wrt=(0, 1, 2), optimize=optimize)(*args),
    "vjp": lambda f, args, optimize: ad.vjp(f, *args, optimize=optimize)[1](1.0),
    "jvp": lambda f, args, optimize: ad.jvp(
        f, args, (1.0, 0.0, np.ones_like(args[2])), optimize=optimize
    ),
}
SHAPES = {"straight": {}, "loop": {"stepped": True}}


def transform_by_size(sizes: List[int]) -> Dict[str, Dict[str, float]]:
    """Seconds of the first call (a fresh transform) of ``grad``, ``vjp`` and ``jvp``,
    optimized or not, of long functions of each size: straight-line code with loops,
    branches, helpers and item writes, and the same as the body of one loop."""
    table: Dict[str, Dict[str, float]] = {}
    for shape, options in SHAPES.items():
        for lines in sizes:
            f, args = long_functions.long_function(lines, **options)
            print(f"transforming {shape} code of {lines} lines ...", file=sys.stderr, flush=True)
            row = table[f"{shape} {lines}"] = {}
            for mode, first_call in FIRST_CALLS.items():
                for optimize in (True, False):
                    _forget_transforms()
                    gc.collect()  # the garbage of the transforms timed before is not this one's
                    start = time.perf_counter()
                    first_call(f, args, optimize)
                    row[mode + ("" if optimize else " unoptimized")] = time.perf_counter() - start
    return table


def stored_per_iteration() -> Dict[str, float]:
    """Values pushed on the reverse sweep's stack per loop iteration, counted, not estimated.

    ``list.append`` calls are counted with a profiler hook over runs of 1000 and
    2000 steps; the difference divided by 1000 leaves out what is stored once.
    """
    recurrence = next(w for w in WORKLOADS if w.name == "recurrence")
    emitted = emitted_function(recurrence, (0.1, 2.0, 0.5, 1000))
    counts = {}
    for label, fn in ((HAND, recurrence.by_hand), (S2S, emitted)):
        appends = [stores.appends(fn, (0.1, 2.0, 0.5, n)) for n in (1000, 2000)]
        counts[label] = (appends[1] - appends[0]) / 1000
    return counts


# ---------------------------------------------------------------- output


def machine() -> Dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _processor(),
        "cores": os.cpu_count(),
        "s2s_ad": ad.__version__ if hasattr(ad, "__version__") else "0.1.0",
        "versions": peers.versions(),
        "date": time.strftime("%Y-%m-%d"),
    }


def _processor() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown(report: Dict[str, Any]) -> str:
    lines = [
        "| workload | implementation | time per call | × function | × hand-written |",
        "|---|---|---:|---:|---:|",
    ]
    for name, entry in report["workloads"].items():
        for label, value in entry["times"].items():
            mark = ""
            if label == S2S:
                mark = " ✓" if value["x_hand_written"] <= entry["target"] else " ✗"
                mark += f" (target ≤ {entry['target']}×)"
            if label in entry["mismatches"]:
                mark += " (result differs!)"
            lines.append(
                f"| {name} | {label} | {_duration(value['seconds'])} | "
                f"{value['x_function']:.2f} | {value['x_hand_written']:.2f}{mark} |"
            )
    transform, overhead = report["transform"], report["call_overhead_us"]
    stored = report["stored_per_iteration"]
    lines += [
        "",
        f"- first `ad.grad(f)(...)` of a 30-line function: {transform['first_call_ms']:.1f} ms "
        f"(target ≤ 20 ms); later calls {transform['later_call_us']:.2f} µs",
        "- call overhead of `ad.grad(f)(...)` over the emitted function: "
        + ", ".join(f"{name} {us:.2f} µs" for name, us in overhead.items())
        + " (target ≤ 2 µs; it includes the check that the globals still denote what the "
        "derivative was built from)",
        f"- values stored per loop iteration (recurrence): s2s_ad {stored[S2S]:g}, "
        f"hand-written {stored[HAND]:g}",
    ]
    lines += _size_table(report["transform_by_size"])
    versions = report["machine"]["versions"]
    lines += [
        "",
        f"Machine: {report['machine']['processor']}, {report['machine']['cores']} cores, "
        f"Python {report['machine']['python']}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; {report['machine']['date']}.",
    ]
    return "\n".join(lines)


def _size_table(by_size: Dict[str, Dict[str, float]]) -> List[str]:
    """The first calls of long functions (target: at most 2 s for 2,000 lines)."""
    if not by_size:
        return []
    columns = list(next(iter(by_size.values())))
    lines = [
        "",
        "First call (transform included) of long functions, by lines "
        "(target ≤ 2 s for 2,000; time linear in size):",
        "",
        "| function | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name, row in by_size.items():
        lines.append(f"| {name} | " + " | ".join(_duration(row[c]) for c in columns) + " |")
    return lines


def _duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} µs"


if __name__ == "__main__":
    main()
