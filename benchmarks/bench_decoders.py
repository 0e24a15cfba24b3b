"""Benchmark: decode time of each decoder at the paper's sizes, and the loss it buys.

    PYTHONPATH=src python benchmarks/bench_decoders.py [--trials 5]

Real jobs (simulated backend, ``fidelity="full"``: workers compute packets, the decoder
solves) on Sec. VI matrices at the paper's sizes, W = 30, exponential λ = 1, Ω = 1, Table III
Γ, deadline 0.5 and 1.0.  Reports the decoder's time (``Result.report["decode_seconds"]``:
packet handling plus forming ``C_hat``), its ratio to zero-fill, and the normalised loss.
Each row is the median over ``--trials`` seeds (same seeds, hence same packets, for every decoder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import uepmm  # noqa: E402
from uepmm.experiments.synthetic import sec6_matrices  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    print(f"{'partition':>9} {'code':>4} {'T':>4} {'decoder':>9} {'decode s':>9} {'x zero':>7} {'loss':>10}")
    for partition, blocks in (("rxc", (3, 3)), ("cxr", 9)):
        A, B = sec6_matrices(partition, np.random.default_rng(0))
        C = A @ B
        for code in ("now", "ew"):
            for deadline in (0.5, 1.0):
                times: dict[str, float] = {}
                for decoder in ("zero", "lmmse", "unbiased"):
                    seconds, losses = [], []
                    for seed in range(args.trials):
                        res = uepmm.coded_matmul(
                            A, B, code=code, partition=partition, blocks=blocks, workers=30, deadline=deadline,
                            omega=1.0, classes=uepmm.paper_sec6_classes(partition), reorder=False,
                            decoder=decoder, seed=seed,
                        )
                        seconds.append(res.report["decode_seconds"])
                        losses.append(res.normalized_loss(C))
                    times[decoder] = float(np.median(seconds))
                    print(f"{partition:>9} {code:>4} {deadline:>4} {decoder:>9} {times[decoder]:>9.4f} "
                          f"{times[decoder] / times['zero']:>7.2f} {np.mean(losses):>10.3g}")


if __name__ == "__main__":
    main()
