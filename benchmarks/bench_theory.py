"""Time the analytic decoding probabilities for L = 8 classes and W = 300 packets.

Run from the repository root:  PYTHONPATH=src python benchmarks/bench_theory.py
A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import math
import time

import numpy as np

from uepmm.theory import decoding_probabilities

GAMMA = np.array([0.30, 0.20, 0.15, 0.10, 0.10, 0.05, 0.05, 0.05])
W = 300


def best_of(repeats: int, func) -> float:
    """Fastest wall time of ``repeats`` calls, in seconds."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    cases = [
        ("now", (3,) * 8, math.inf),
        ("ew", (3,) * 8, math.inf),
        ("now", (10,) * 8, math.inf),
        ("ew", (10,) * 8, math.inf),
        ("ew", (3,) * 8, 2.0),
    ]
    print(f"L = 8 classes, W = {W} packets, gamma = {GAMMA.tolist()}")
    for code, k, q in cases:
        seconds = best_of(5, lambda code=code, k=k, q=q: decoding_probabilities(code, k, GAMMA, W, q=q))
        print(f"{code:>4}  k = {k[0]}x8 (K = {sum(k):3d})  q = {q:<4g}  {seconds * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
