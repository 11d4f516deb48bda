"""Run the differential fuzzer for N minutes and print what it found.

The programs, the transforms and the oracle are those of
``tests/programs/test_differential.py`` (``tests/harness/differential.py``); here nothing
stops at the first failure.  At the end (or on Ctrl-C) it prints how many programs it
checked and how many were ok, refused (by message), skipped (a branch boundary within a
finite-difference step), wrong and crashed (by check and message), with the smallest
program of each failing category.

    python tools/fuzz.py --minutes 10
    python tools/fuzz.py --minutes 5 --constructs slice_write,range_loop   # bisect
    python tools/fuzz.py --minutes 5 --constructs=-helper,-helper_ignoring --seed 1

Needs Hypothesis (a test dependency), NumPy and s2s_ad.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "harness")]

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from conftest import import_source  # noqa: E402
from differential import (  # noqa: E402
    CONSTRUCTS,
    Outcome,
    arguments,
    check_program,
    parse_constructs,
    programs,
)

KINDS = ("ok", "refused", "skipped", "wrong", "crashed", "invalid")
BATCH = 200  # examples per Hypothesis run; the clock is checked before every example


@dataclass
class Tally:
    """Outcomes by kind and category, and the smallest program of each failing category."""

    kinds: Counter = field(default_factory=Counter)
    categories: Dict[str, Counter] = field(default_factory=dict)
    smallest: Dict[Tuple[str, str], Tuple[str, Any, Outcome]] = field(default_factory=dict)

    def add(self, source: str, args: Any, outcome: Outcome) -> None:
        self.kinds[outcome.kind] += 1
        if outcome.kind == "ok":
            return
        self.categories.setdefault(outcome.kind, Counter())[outcome.category] += 1
        key = (outcome.kind, outcome.category)
        if key not in self.smallest or size(source) < size(self.smallest[key][0]):
            self.smallest[key] = (source, args, outcome)

    def report(self, seconds: float, failing_details: bool) -> str:
        total = sum(self.kinds.values())
        lines = [f"{total} programs in {seconds / 60:.1f} minutes"]
        lines += [f"  {kind:8s} {self.kinds[kind]}" for kind in KINDS]
        for kind in KINDS[1:]:
            if kind not in self.categories:
                continue
            lines.append(f"\n{kind}, by category:")
            for category, count in self.categories[kind].most_common():
                lines.append(f"  {count:6d}  {category}")
        for (kind, category), (source, args, outcome) in self.smallest.items():
            if kind not in ("wrong", "crashed", "invalid"):
                continue
            lines += [f"\n=== smallest {kind}: {category}", source.rstrip(), f"# args = {args!r}"]
            if failing_details:
                lines.append(outcome.detail.rstrip())
        return "\n".join(lines)


def size(source: str) -> Tuple[int, int]:
    """Lines, then characters: what "smallest" means."""
    return source.count("\n"), len(source)


def fuzz(minutes: float, constructs, first_seed: Optional[int], tally: Tally) -> None:
    """Check random programs until ``minutes`` have passed, adding each outcome to ``tally``."""
    directory = Path(tempfile.mkdtemp(prefix="s2s_ad_fuzz_"))
    stop = time.monotonic() + 60 * minutes

    @settings(
        max_examples=BATCH,
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(source=programs(constructs), args=arguments())
    def one(source: str, args: Any) -> None:
        if time.monotonic() < stop:
            tally.add(
                source, args, check_program(source, args, lambda s: import_source(s, directory))
            )

    batch = 0
    while time.monotonic() < stop:
        run = one if first_seed is None else seed(first_seed + batch)(one)
        run()
        batch += 1


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run (1)")
    parser.add_argument(
        "--constructs",
        default="",
        help=f"comma list to keep, or -name items to drop; all of: {','.join(CONSTRUCTS)}",
    )
    parser.add_argument("--seed", type=int, default=None, help="reproducible programs")
    parser.add_argument("--details", action="store_true", help="tracebacks of the smallest")
    options = parser.parse_args(list(argv) or None)
    tally = Tally()
    start = time.monotonic()
    try:
        fuzz(options.minutes, parse_constructs(options.constructs), options.seed, tally)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    print(tally.report(time.monotonic() - start, options.details))
    return 1 if any(tally.kinds[kind] for kind in ("wrong", "crashed", "invalid")) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
