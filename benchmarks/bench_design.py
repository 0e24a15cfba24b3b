"""Time uepmm.design.design_gamma: L = 3 / W = 30 (Sec. VI) and L = 8 / W = 300.

Run from the repository root:  PYTHONPATH=src python benchmarks/bench_design.py
Add ``--lmmse`` to time the LMMSE objectives of the Sec. VI case as well.
A measurement, not a test: nothing is asserted.  Each case runs ``repeats`` times and the
fastest wall time is printed (the machine is shared, so the spread is noise).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from uepmm.design import design_gamma
from uepmm.latency import Exponential

SEC6 = {"k": (3, 3, 3), "class_energy": (40.0, 1.0, 0.07), "workers": 30, "deadline": 0.5, "omega": 1.0}
# 8 classes of 3 sub-products, energies falling by sqrt(10) per class; Ω = K / W (Remark 1);
# at T = 1.6 about 1.5 K = 36 of the 300 packets have arrived on average.
LARGE = {
    "k": (3,) * 8, "class_energy": tuple(10.0 ** (-0.5 * np.arange(8))),
    "workers": 300, "deadline": 1.6, "omega": None,
}


def best_of(repeats: int, func):
    """Fastest wall time of ``repeats`` calls (seconds) and the last result."""
    best, out = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return best, out


def run(label: str, case: dict, code: str, decoder: str, repeats: int) -> None:
    def call():
        return design_gamma(
            code, case["k"], case["class_energy"], case["workers"], Exponential(1.0), case["deadline"],
            omega=case["omega"], decoder=decoder,
        )

    seconds, design = best_of(repeats, call)
    gamma = ", ".join(f"{g:.3f}" for g in design.gamma)
    print(
        f"{label:<12} {code:<3} {decoder:<5} {seconds:8.3f} s   loss {design.expected_loss:.4g} "
        f"({design.objective})   gamma = ({gamma})"
    )


def main() -> None:
    lmmse = "--lmmse" in sys.argv[1:]
    print("case         code dec     best time   designed loss (objective)   gamma")
    for code in ("now", "ew"):
        run("L=3, W=30", SEC6, code, "zero", 5)
    if lmmse:
        for code in ("now", "ew"):
            run("L=3, W=30", SEC6, code, "lmmse", 1)
    for code in ("now", "ew"):
        run("L=8, W=300", LARGE, code, "zero", 1)


if __name__ == "__main__":
    main()
