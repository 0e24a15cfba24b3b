"""Benchmark: conditioning and accuracy of the real-valued polynomial code against K.

    PYTHONPATH=src python benchmarks/bench_polynomial_conditioning.py [--trials 20]

For K = N*N in (4, 9, 16, 25, 36), r×c with W = 1.5 K workers (exponential latency, no
deadline: the parameter server decodes the first K arrivals, a random K-subset of the
evaluation points), and with W = K (every point, no latency): the condition number of the
square system of the first K arrivals (``numpy.linalg.cond``; ``Result.report["condition_number"]``
holds it whenever the decoder recovered everything), the relative error of ``C_hat``
(zero-fill decoder) and how often every block was recovered; MDS (Gaussian rows) for
comparison.  Prints a Markdown table (docs/comparison.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

from uepmm import Exponential, coded_matmul  # noqa: E402


def _row(code: str, n: int, workers: int, latency, trials: int, A: np.ndarray, B: np.ndarray) -> dict:
    C = A @ B
    conds, errors, complete = [], [], 0
    for seed in range(trials if latency is not None or code != "polynomial" else 1):
        result = coded_matmul(
            A, B, code=code, partition="rxc", blocks=(n, n), workers=workers, latency=latency, decoder="zero",
            seed=seed, class_counts=None,
        )
        complete += bool(result.recovered.all())
        first = [entry.worker for entry in result.timeline[: n * n]]  # the first K arrivals' square system
        conds.append(np.linalg.cond(result.encoding.generator[first]))
        errors.append(np.linalg.norm(result.estimate - C) / np.linalg.norm(C))
    runs = len(errors)
    return {
        "cond_median": float(np.median(conds)),
        "cond_max": float(np.max(conds)),
        "err_median": float(np.median(errors)),
        "err_max": float(np.max(errors)),
        "complete": f"{complete}/{runs}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((120, 60)), rng.standard_normal((60, 120))
    print("| K | code | W | points | cond. median | cond. max | rel. error median | rel. error max | all recovered |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in (2, 3, 4, 5, 6):
        K = n * n
        cases = [
            ("polynomial", K, None, "all K"),
            ("polynomial", K + K // 2, Exponential(1.0), "first K of 1.5K"),
            ("mds", K + K // 2, Exponential(1.0), "first K of 1.5K"),
        ]
        for code, workers, latency, points in cases:
            r = _row(code, n, workers, latency, args.trials, A, B)
            print(
                f"| {K} | {code} | {workers} | {points} | {r['cond_median']:.2e} | {r['cond_max']:.2e} | "
                f"{r['err_median']:.1e} | {r['err_max']:.1e} | {r['complete']} |"
            )


if __name__ == "__main__":
    main()
