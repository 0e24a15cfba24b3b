"""docs/comparison.md, "scheme='auto'": the scheme auto chooses against the best row of ``uepmm compare``.

    PYTHONPATH=src python benchmarks/auto_choice.py            # the table
    PYTHONPATH=src python benchmarks/auto_choice.py --timing   # seconds of one choice, cold and warm

Settings as ``benchmarks/comparison_tables.py`` (W = 30, K = 9, exponential latency rate 1,
Ω = K/W, seeds 0, 1, 2, each its own Sec. VI / Gaussian matrices and its own 100 trials):
Sec. VI c×r and r×c, Gaussian 900³ c×r, MNIST ``XᵀX`` c×r, ``cost="equal"`` and ``"work"``,
deadlines 0.5, 1, 2, 4.  For every seed and deadline :func:`uepmm.recommend.rank_schemes`
chooses on that seed's matrices (diagonal prior, its own 64 draws per scheme, no block
product); the chosen scheme is then measured by compare's fast path (exact sub-products,
the seed's 100 trials).  ``auto_loss`` is the mean over the seeds of the chosen scheme's
measured loss, ``best_loss`` the least mean (over the seeds) of any single scheme, ``ratio``
their quotient (1 when both are 0).

``*_exact`` columns: the same choice with the exact Gram matrix of the sub-products as the
prior (what a perfect probe estimate would give; the decoders still use the diagonal prior).
Where ``ratio > 1.2``, ``long_auto`` / ``long_best`` re-measure the chosen schemes and the best
row with ``--long`` fresh trials per seed (seeds 1000 + s), to tell a misprediction from a
100-trial mean that missed a rare event.

Writes ``docs/figures/comparison/auto_choice.csv`` (one row per setting, cost, deadline) and
``auto_predictions.csv`` (every scheme's predicted and measured loss per seed).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uepmm.api import plan_job  # noqa: E402
from uepmm.experiments.compare import compare_schemes, fast_losses  # noqa: E402
from uepmm.experiments.tables import format_rows, write_csv  # noqa: E402
from uepmm.loss import BlockLoss  # noqa: E402
from uepmm.matrices import workload_matrices  # noqa: E402
from uepmm.recommend import rank_schemes  # noqa: E402
from uepmm.spec import JobSpec  # noqa: E402

SETTINGS = (("sec6", "cxr"), ("sec6", "rxc"), ("gaussian", "cxr"), ("mnist", "cxr"))
COSTS = ("equal", "work")
DEADLINES = (0.5, 1.0, 2.0, 4.0)
COLUMNS = ("setting", "cost", "deadline", "chosen", "auto_loss", "best", "best_loss", "ratio", "predicted_chosen",
           "predicted_best", "choice_seconds_max", "chosen_exact", "auto_loss_exact", "ratio_exact", "long_trials",
           "long_auto", "long_best")


def exact_gram(A, B, base: JobSpec):
    """``<P_k, P_l>`` of the sub-products in the planner's importance order (block products: not the PS's)."""
    plan = plan_job(A, B, base.with_(code="mds"))
    layout = plan.job.partition
    return BlockLoss(layout, layout.block_products(plan.job.a_blocks, plan.job.b_blocks)).full_gram


def remeasure(data: dict, specs: dict, t: float, trials: int) -> float:
    """Mean over the seeds of compare's loss with ``trials`` fresh trials (seeds 1000 + s)."""
    return sum(float(fast_losses(*data[s], spec, [t], trials, 1000 + s)[0].mean()) for s, spec in specs.items()) \
        / len(specs)


def ratio_of(auto: float, best: float) -> float:
    return 1.0 if auto == best else (auto / best if best > 0 else math.inf)


def run(workload: str, partition: str, cost: str, trials: int, seeds: list[int], long: int):
    measured: dict[tuple[int, float, str], float] = {}
    picks: dict[tuple[int, float], tuple[str, dict[str, float], float]] = {}
    exact: dict[tuple[int, float], str] = {}
    data, specs = {}, {}
    for seed in seeds:
        A, B = workload_matrices(workload, partition, seed=seed, rows=900, inner=900, cols=900)
        data[seed] = (A, B)
        base = JobSpec(partition=partition, blocks=9, workers=30, cost=cost)
        rows, _ = compare_schemes(A, B, base, deadlines=DEADLINES, trials=trials, seed=seed)
        measured.update({(seed, r["deadline"], r["scheme"]): r["mean_loss"] for r in rows})
        R = exact_gram(A, B, base)
        for t in DEADLINES:
            t0 = time.perf_counter()
            choice = rank_schemes(A, B, base, deadline=t)
            picks[seed, t] = (choice.best.scheme.name, {p.scheme.name: p.loss for p in choice.ranking},
                              time.perf_counter() - t0)
            specs.update({(seed, t, p.scheme.name): p.spec for p in choice.ranking})
            exact[seed, t] = rank_schemes(A, B, base, deadline=t, prior=R).best.scheme.name
    setting = f"{workload} {partition}"
    summary, detail = [], []
    schemes = sorted({s for (_, _, s) in measured})
    for t in DEADLINES:
        mean = {s: sum(measured[seed, t, s] for seed in seeds) / len(seeds) for s in schemes}
        best = min(schemes, key=lambda s: (mean[s], s))
        auto = sum(measured[seed, t, picks[seed, t][0]] for seed in seeds) / len(seeds)
        ratio = ratio_of(auto, mean[best])
        auto_exact = sum(measured[seed, t, exact[seed, t]] for seed in seeds) / len(seeds)
        long_auto = long_best = math.nan
        if ratio > 1.2 and long:
            long_auto = remeasure(data, {s: specs[s, t, picks[s, t][0]] for s in seeds}, t, long)
            long_best = remeasure(data, {s: specs[s, t, best] for s in seeds}, t, long)
        summary.append({
            "setting": setting, "cost": cost, "deadline": t,
            "chosen": "/".join(picks[seed, t][0] for seed in seeds), "auto_loss": auto, "best": best,
            "best_loss": mean[best], "ratio": ratio,
            "predicted_chosen": sum(picks[seed, t][1][picks[seed, t][0]] for seed in seeds) / len(seeds),
            "predicted_best": sum(picks[seed, t][1][best] for seed in seeds) / len(seeds),
            "choice_seconds_max": max(picks[seed, t][2] for seed in seeds),
            "chosen_exact": "/".join(exact[seed, t] for seed in seeds), "auto_loss_exact": auto_exact,
            "ratio_exact": ratio_of(auto_exact, mean[best]), "long_trials": long if ratio > 1.2 else 0,
            "long_auto": long_auto, "long_best": long_best,
        })
        for seed in seeds:
            detail += [{"setting": setting, "cost": cost, "deadline": t, "seed": seed, "scheme": s,
                        "predicted": picks[seed, t][1][s], "measured": measured[seed, t, s],
                        "chosen": int(s == picks[seed, t][0])} for s in schemes]
    return summary, detail


def timing() -> list[dict]:
    """Seconds of one choice on the Sec. VI matrices (seed 0): cold (Γ designs of now+/ew+ not cached) and warm."""
    from uepmm.design.auto import _designed

    rows = []
    for partition in ("cxr", "rxc"):
        A, B = workload_matrices("sec6", partition, seed=0)
        for cost in COSTS:
            base = JobSpec(partition=partition, blocks=9, workers=30, cost=cost)
            for t in DEADLINES:
                _designed.cache_clear()
                t0 = time.perf_counter()
                choice = rank_schemes(A, B, base, deadline=t)
                cold = time.perf_counter() - t0
                design = sum(p.seconds for p in choice.ranking if p.scheme.gamma == "auto")
                t0 = time.perf_counter()
                rank_schemes(A, B, base, deadline=t)
                rows.append({"setting": f"sec6 {partition}", "cost": cost, "deadline": t, "cold_seconds": cold,
                             "gamma_auto_candidates_seconds": design, "warm_seconds": time.perf_counter() - t0})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--long", type=int, default=1000, help="fresh trials per seed where ratio > 1.2 (0: none)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "comparison"))
    parser.add_argument("--timing", action="store_true", help="only time the choice (cold and warm), print the table")
    args = parser.parse_args(argv)
    if args.timing:
        print(format_rows(timing(), "table"))
        return 0
    summary, detail = [], []
    for workload, partition in SETTINGS:
        for cost in COSTS:
            rows, more = run(workload, partition, cost, args.trials, args.seeds, args.long)
            summary += rows
            detail += more
            print(f"{workload} {partition} {cost}: worst ratio {max(r['ratio'] for r in rows):.3g}", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "auto_choice.csv", summary, COLUMNS)
    write_csv(out / "auto_predictions.csv", detail)
    print(format_rows(summary, "table"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
