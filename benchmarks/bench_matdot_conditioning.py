"""Benchmark: conditioning and accuracy of the real-valued MatDot code against M.

    PYTHONPATH=src python benchmarks/bench_matdot_conditioning.py [--trials 20]

For M in (2, 3, 4, 6, 9, 12, 16), c×r (``A`` 120×144, ``B`` 144×120 Gaussian, ``M`` inner blocks),
with ``W = 2M - 1`` workers (every point, no latency) and with ``W = 1.5 (2M - 1)`` (exponential
latency, no deadline: the parameter server decodes the first ``2M - 1`` arrivals, a random subset
of the evaluation points, one seed per trial): the condition number of the Vandermonde system
the decoder solved (``Result.report["condition_number"]``; the decoder declines a system above
``MAX_CONDITION = 1e8`` and waits for more packets), the packets it used, how often it decoded
at all, and the relative error of ``C_hat`` in the runs that decoded.
Prints a Markdown table (docs/comparison.md, "MatDot: conditioning").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

from uepmm import Exponential, coded_matmul  # noqa: E402


def _row(M: int, workers: int, latency, trials: int, A: np.ndarray, B: np.ndarray) -> dict:
    C = A @ B
    conds, errors, used, decoded = [], [], [], 0
    runs = trials if latency is not None else 1
    for seed in range(runs):
        result = coded_matmul(A, B, code="matdot", partition="cxr", blocks=M, workers=workers, latency=latency,
                              seed=seed)
        conds.append(result.report["condition_number"])
        if result.recovered.all():
            decoded += 1
            used.append(result.received)
            errors.append(np.linalg.norm(result.estimate - C) / np.linalg.norm(C))
    return {
        "cond_median": float(np.median(conds)),
        "cond_max": float(np.max(conds)),
        "used": f"{np.median(used):.0f}–{np.max(used)}" if used else "–",
        "decoded": f"{decoded}/{runs}",
        "err_median": f"{np.median(errors):.1e}" if errors else "–",
        "err_max": f"{np.max(errors):.1e}" if errors else "–",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((120, 144)), rng.standard_normal((144, 120))
    print("| M | 2M−1 | W | points | cond. median | cond. max | packets used (median–max) | decoded | "
          "rel. error median | rel. error max |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for M in (2, 3, 4, 6, 9, 12, 16):
        n = 2 * M - 1
        cases = ((n, None, "all 2M−1"), (n + n // 2, Exponential(1.0), "arrival order, W = 1.5 (2M−1)"))
        for workers, latency, points in cases:
            r = _row(M, workers, latency, args.trials, A, B)
            print(
                f"| {M} | {n} | {workers} | {points} | {r['cond_median']:.2e} | {r['cond_max']:.2e} | {r['used']} | "
                f"{r['decoded']} | {r['err_median']} | {r['err_max']} |"
            )


if __name__ == "__main__":
    main()
