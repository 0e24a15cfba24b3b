"""Benchmark: ``uepmm compare`` on the issue's setting, every scheme × 6 deadlines × 100 trials.

The Sec. VI c×r setting (paper sizes: A 900×900 in 9 column blocks, K = 9, W = 30,
exponential latency, Ω = K/W), every scheme that exists in this uepmm (:data:`SCHEMES`
filtered by :data:`uepmm.codes.CODES`), deadlines 0.5,1,2,4,8,inf, 100 trials, cost
``equal`` and ``work``.  Each repeat times the whole command in-process (matrices, the
exact sub-products, the Γ designs of now+/ew+, the Monte Carlo, the table, the CSV and PNG), with the
design caches cleared so that every repeat designs afresh.  Target (issue #11): < 60 s on
the 2-core machine for 10 schemes.

Usage:  PYTHONPATH=src python benchmarks/bench_compare.py [--repeats 3] [--trials 100]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from uepmm.cli import main  # noqa: E402
from uepmm.codes import CODES  # noqa: E402
from uepmm.design import auto  # noqa: E402
from uepmm.experiments.compare import resolve_schemes  # noqa: E402


def run_once(argv: list[str]) -> float:
    auto._designed.cache_clear()  # every repeat designs Γ afresh, as a new process would
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"uepmm {' '.join(argv)} failed with exit code {code}")
    return elapsed


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    schemes, _ = resolve_schemes(None, "cxr")
    print(f"codes: {', '.join(CODES)}; schemes run (cxr): {', '.join(s.name for s in schemes)} ({len(schemes)})")
    print("cost   repeats  median_s  min_s  max_s  per_scheme_s")
    out = tempfile.mkdtemp(prefix="bench-compare-")
    for cost in ("equal", "work"):
        argv = ["compare", "--matrices", "sec6", "--partition", "cxr", "--blocks", "9", "--workers", "30",
                "--trials", str(args.trials), "--deadline", "0.5,1,2,4,8,inf", "--cost", cost, "--no-progress",
                "--format", "csv", "--out", out]
        times = [run_once(argv) for _ in range(args.repeats)]
        med = statistics.median(times)
        print(f"{cost:6} {args.repeats:7d}  {med:8.2f}  {min(times):5.2f}  {max(times):5.2f}  "
              f"{med / len(schemes):12.2f}")


if __name__ == "__main__":
    main_bench()
