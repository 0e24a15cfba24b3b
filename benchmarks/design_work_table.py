"""docs/design-gamma.md, "Under cost='work'": the equal-cost design against the work design.

Both Γ are evaluated by the work objective with the same draws (LMMSE decoder, Sec. VI class
energies, W = 30, Ω = K/W, exponential rate 1, deadlines 2, 4, 8).  NOW LMMSE is exact; for EW
the mean over seeds 0-4 (2000 draws each), with their range.  Prints markdown table rows:

    PYTHONPATH=src python benchmarks/design_work_table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from uepmm import Exponential, paper_sec6_classes  # noqa: E402
from uepmm.design import design_gamma, gamma_loss, window_work  # noqa: E402
from uepmm.importance import ClassTable  # noqa: E402

K, ENERGY, LATENCY, WORKERS = (3, 3, 3), (40, 1, 0.07), Exponential(1.0), 30


def spread(values: list[float]) -> str:
    text = f"{np.mean(values):.3g}"
    return text + (f" ({min(values):.3g}–{max(values):.3g})" if len(values) > 1 else "")


def main() -> None:
    for partition in ("cxr", "rxc"):
        classes = paper_sec6_classes("rxc") if partition == "rxc" else ClassTable((0, 0, 0, 1, 1, 1, 2, 2, 2))
        for code in ("now", "ew"):
            work, mds = window_work(code, classes, partition, (3, 3) if partition == "rxc" else None)
            for t in (2.0, 4.0, 8.0):
                designed, equal, gammas = [], [], []
                for seed in range(5) if code == "ew" else [0]:
                    kw = dict(partition=partition, decoder="lmmse", trials=2000, seed=seed)
                    eq = design_gamma(code, K, ENERGY, WORKERS, LATENCY, t, **kw)
                    wk = design_gamma(code, K, ENERGY, WORKERS, LATENCY, t, **kw, cost="work", work=work, mds_work=mds)
                    equal.append(gamma_loss(code, K, eq.gamma, ENERGY, WORKERS, LATENCY, t, **kw, cost="work",
                                            work=work, mds_work=mds))
                    designed.append(wk.expected_loss)
                    gammas.append(wk.gamma)
                gamma = tuple(np.round(gammas[0], 2).tolist())
                print(f"| {partition} | {code} | {work} | {t:g} | {gamma} | {spread(designed)} | {spread(equal)} |")


if __name__ == "__main__":
    main()
