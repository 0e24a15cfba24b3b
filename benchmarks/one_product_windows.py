"""Windows that cost one block product (issue #17 item 1; docs/beyond.md, "One block product per packet").

Three measurements, one command (about 2 minutes on one core):

    PYTHONPATH=src python benchmarks/one_product_windows.py [--trials 100] [--seeds 0,1,2] [--out DIR]

1. ``one_product_windows.csv``: mean normalised loss of the one-product UEP variants against
   speculative copies and today's ``now+``/``ew+`` on the Sec. VI matrices (W = 30, K = 9,
   Ω = 9/30, exponential latency, ``cost="work"``, deadlines 0.5/1/2/4), each seed with its own
   matrices and trials (:func:`uepmm.experiments.compare.fast_losses`, the fast path of
   ``coded_matmul``), one row per (setting, scheme, seed, deadline).
2. ``factor_vs_direct.csv``: r×c EW with ``classes="rectangles"``: for the same draws (same
   windows, same arrival order: ``cost="equal"``), the number of packets after which each window
   is recovered, in the direct form (dense rows over the window) and in the factor form
   (rank-one rows ``α ⊗ β``), over ``--draws`` seeds, summarised per window.
3. ``ew_matdot_conditioning.csv``: how often an EW-MatDot window of 3, 6 or 9 sub-products
   (W = 30) decodes from exactly ``2 s − 1`` packets, and how often the conditioning refusal
   makes it wait (300 draws each).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uepmm.draw import draw_job  # noqa: E402
from uepmm.experiments.compare import fast_losses  # noqa: E402
from uepmm.experiments.tables import write_csv  # noqa: E402
from uepmm.matrices import workload_matrices  # noqa: E402
from uepmm.partition import make_partition  # noqa: E402
from uepmm.spec import JobSpec  # noqa: E402

DEADLINES = (0.5, 1.0, 2.0, 4.0)
#: (partition, scheme, JobSpec settings); speculative and now+/ew+ as `uepmm compare` runs them.
SCHEMES = (
    ("cxr", "speculative", dict(code="speculative", decoder="zero")),
    ("cxr", "now+", dict(code="now", decoder="lmmse", gamma="auto")),
    ("cxr", "now-singletons", dict(code="now", classes="singletons", decoder="lmmse", gamma="auto")),
    ("cxr", "ew-matdot-singletons", dict(code="ew-matdot", classes="singletons", gamma="auto")),
    ("cxr", "ew-matdot", dict(code="ew-matdot", gamma="auto")),
    ("rxc", "speculative", dict(code="speculative", decoder="zero")),
    ("rxc", "ew+", dict(code="ew", decoder="lmmse", gamma="auto")),
    ("rxc", "ew-rectangles", dict(code="ew", classes="rectangles", encoding="factor", decoder="lmmse",
                                  gamma="auto")),
    ("rxc", "now-singletons", dict(code="now", classes="singletons", encoding="factor", decoder="lmmse",
                                   gamma="auto")),
)


def base_spec(partition: str, cost: str = "work") -> JobSpec:
    return JobSpec(partition=partition, blocks=9 if partition == "cxr" else (3, 3), workers=30, omega=9 / 30,
                   cost=cost)


def losses(trials: int, seeds: list[int]) -> list[dict]:
    rows = []
    for partition, name, settings in SCHEMES:
        spec = base_spec(partition).with_(**settings)
        for seed in seeds:
            A, B = workload_matrices("sec6", partition, seed=seed)
            got, decoder = fast_losses(A, B, spec, DEADLINES, trials, seed)
            for t, mean in zip(DEADLINES, got.mean(axis=0)):
                rows.append({"partition": partition, "scheme": name, "decoder": decoder, "seed": seed,
                             "deadline": t, "trials": trials, "mean_loss": float(mean)})
            print(f"{partition} {name} seed {seed}: {np.round(got.mean(axis=0), 4).tolist()}", file=sys.stderr)
    return rows


def factor_vs_direct(draws: int) -> list[dict]:
    """Packets after which each window is recovered, direct and factor form, the same draws."""
    layout = make_partition((3, 1), (1, 3), "rxc", (3, 3))
    rows = []
    for seed in range(draws):
        needed = {}
        for encoding in ("direct", "factor"):
            spec = base_spec("rxc", cost="equal").with_(code="ew", classes="rectangles", encoding=encoding)
            drawn = draw_job(spec, spec.uniform_classes, seed, layout)
            order = np.argsort(drawn.times, kind="stable")
            curve = spec.code_object.recovery_curve_from(drawn.encoding, order)
            cls = spec.uniform_classes.as_array()
            needed[encoding] = [int(np.argmax(curve[:, cls <= level].all(axis=1))) if curve[-1, cls <= level].all()
                                else math.inf for level in range(cls.max() + 1)]  # window l: classes 0..l
        for level, (d, f) in enumerate(zip(needed["direct"], needed["factor"])):
            rows.append({"seed": seed, "window": level, "direct": d, "factor": f})
    summary = []
    for level in sorted({r["window"] for r in rows}):
        mine = [r for r in rows if r["window"] == level]
        direct = [r["direct"] for r in mine if math.isfinite(r["direct"])]
        factor = [r["factor"] for r in mine if math.isfinite(r["factor"])]
        same = sum(r["direct"] == r["factor"] for r in mine)
        summary.append({"window": level, "draws": len(mine), "same_count": same,
                        "recovered_direct": len(direct), "recovered_factor": len(factor),
                        "mean_packets_direct": float(np.mean(direct)), "mean_packets_factor": float(np.mean(factor))})
    return summary


def conditioning(draws: int) -> list[dict]:
    """EW-MatDot, W = 30, every worker in one window of ``s`` sub-products, random arrival order:
    after how many packets beyond ``2 s − 1`` the window decodes (MatDot's refusal of condition
    numbers above 1e8 makes it wait)."""
    from uepmm.codes import EWMatDot
    from uepmm.importance import ClassTable

    rows = []
    rng = np.random.default_rng(0)
    for s in (3, 6, 9):
        table = ClassTable(tuple([0] * s + [1] * (9 - s)))
        code = EWMatDot((1.0,) + (0.0,) * (table.num_classes - 1))
        extra = []
        for _ in range(draws):
            encoding = code.encode(table, 30, rng)
            curve = code.recovery_curve_from(encoding, rng.permutation(30))
            extra.append(int(np.argmax(curve[:, 0])) - (2 * s - 1) if curve[-1, 0] else math.inf)
        extra = np.asarray(extra, dtype=float)
        rows.append({"window": s, "draws": draws, "at_2s_minus_1": float(np.mean(extra == 0)),
                     "later": float(np.mean(np.isfinite(extra) & (extra > 0))),
                     "never": float(np.mean(np.isinf(extra))),
                     "most_extra_packets": float(extra[np.isfinite(extra)].max())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "one_product"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]

    table = losses(args.trials, seeds)
    write_csv(out / "one_product_windows.csv", table)
    print("| setting | scheme | " + " | ".join(f"t = {t:g}" for t in DEADLINES) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in DEADLINES) + " |")
    for partition, name, _ in SCHEMES:
        means = [np.mean([r["mean_loss"] for r in table if r["partition"] == partition and r["scheme"] == name
                          and r["deadline"] == t]) for t in DEADLINES]
        print(f"| {partition} | {name} | " + " | ".join(f"{m:.3g}" for m in means) + " |")

    counts = factor_vs_direct(args.draws)
    write_csv(out / "factor_vs_direct.csv", counts)
    for r in counts:
        print(f"window {r['window']}: same packet count in {r['same_count']}/{r['draws']} draws; recovered in "
              f"{r['recovered_direct']} (direct) and {r['recovered_factor']} (factor) of them, mean packets "
              f"{r['mean_packets_direct']:.3f} (direct), {r['mean_packets_factor']:.3f} (factor)")

    waits = conditioning(300)
    write_csv(out / "ew_matdot_conditioning.csv", waits)
    for r in waits:
        print(f"ew-matdot window of {r['window']}: decoded at 2s-1 packets in {r['at_2s_minus_1']:.3f} of "
              f"{r['draws']} draws, later in {r['later']:.3f} (at most {r['most_extra_packets']:g} more), "
              f"never {r['never']:.3f}")


if __name__ == "__main__":
    main()
