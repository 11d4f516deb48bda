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

The smallest program of each category is then minimized further: lines (and whole blocks)
of ``f`` are deleted while the program still fails the same way.  The programs run in
child processes of at most `CHUNK_MINUTES` each, so that the caches of a long run are
given back.

Needs Hypothesis (a test dependency), NumPy and s2s_ad.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

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
CHUNK_MINUTES = 5.0  # then a fresh child process
MINIMIZING_CHECKS = 80  # at most, per category


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

    def merge(self, other: Tally) -> None:
        self.kinds.update(other.kinds)
        for kind, categories in other.categories.items():
            self.categories.setdefault(kind, Counter()).update(categories)
        for key, (source, args, outcome) in other.smallest.items():
            if key not in self.smallest or size(source) < size(self.smallest[key][0]):
                self.smallest[key] = (source, args, outcome)

    def minimize(self, directory: Path) -> None:
        """Minimize the smallest failing program of every category (`minimized`)."""
        for key, (source, args, outcome) in self.smallest.items():
            if outcome.failed:
                source = minimized(source, args, outcome, directory)
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


def minimized(source: str, args: Any, outcome: Outcome, directory: Path) -> str:
    """``source`` with lines of ``f`` deleted (a compound statement with its block) for as
    long as the program fails with the same kind and category."""
    checks = 0
    changed = True
    while changed and checks < MINIMIZING_CHECKS:
        changed = False
        lines = source.splitlines()
        start = lines.index("def f(x, w, s):") + 1
        for first in range(len(lines) - 2, start - 1, -1):
            candidate = without_statement(lines, first)
            checks += 1
            if checks > MINIMIZING_CHECKS:
                break
            if fails_the_same_way(candidate, args, outcome, directory):
                source, changed = candidate, True
                break
    return source


def without_statement(lines: List[str], first: int) -> str:
    """The module without the statement on line ``first`` (with its block, if it has one)."""
    indent = len(lines[first]) - len(lines[first].lstrip())
    last = first + 1
    while last < len(lines) and len(lines[last]) - len(lines[last].lstrip()) > indent:
        last += 1
    kept = lines[:first] + lines[last:]
    helpers = [line[4 : line.index("(")] for line in kept if line.startswith("def h_")]
    body = "\n".join(kept[kept.index("def f(x, w, s):") :])
    unused = {name for name in helpers if not re.search(rf"\b{name}\b", body)}
    return "\n".join(drop_functions(kept, unused)) + "\n"


def drop_functions(lines: List[str], names: set) -> List[str]:
    """``lines`` without the module-level functions called ``names``."""
    kept, dropping = [], False
    for line in lines:
        if line.startswith("def "):
            dropping = line[4 : line.index("(")] in names
        if not dropping:
            kept.append(line)
    return kept


def fails_the_same_way(source: str, args: Any, outcome: Outcome, directory: Path) -> bool:
    try:
        again = check_program(source, args, lambda s: import_source(s, directory))
    except Exception:  # a deletion that broke the program (an indentation, a name)
        return False
    return (again.kind, again.category) == (outcome.kind, outcome.category)


def chunk(minutes: float, constructs, first_seed: Optional[int]) -> Tally:
    """`fuzz` for ``minutes`` in this process; returns what it found."""
    tally = Tally()
    fuzz(minutes, constructs, first_seed, tally)
    return tally


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
    parser.add_argument("--no-minimize", action="store_true", help="report programs as drawn")
    options = parser.parse_args(list(argv) or None)
    constructs = parse_constructs(options.constructs)
    tally = Tally()
    start = time.monotonic()
    context = multiprocessing.get_context("spawn")
    try:
        for number in range(int(-(-options.minutes // CHUNK_MINUTES))):
            minutes = min(CHUNK_MINUTES, options.minutes - number * CHUNK_MINUTES)
            seed_of_chunk = None if options.seed is None else options.seed + 1000 * number
            with context.Pool(1) as pool:
                tally.merge(pool.apply(chunk, (minutes, constructs, seed_of_chunk)))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    if not options.no_minimize:
        tally.minimize(Path(tempfile.mkdtemp(prefix="s2s_ad_fuzz_minimize_")))
    print(tally.report(time.monotonic() - start, options.details))
    return 1 if any(tally.kinds[kind] for kind in ("wrong", "crashed", "invalid")) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
