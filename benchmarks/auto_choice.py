"""docs/comparison.md, "scheme='auto'": the scheme auto chooses against the best row of the comparison tables.

    PYTHONPATH=src python benchmarks/auto_choice.py            # the table (cost="work"), into docs
    PYTHONPATH=src python benchmarks/auto_choice.py --timing   # seconds of one choice, cold and warm

The tables are ``benchmarks/comparison_tables.py``'s (W = 30, K = 9, exponential latency rate 1,
Ω = K/W, seeds 0, 1, 2, each its own matrices and its own 100 trials; Sec. VI r×c and c×r,
Gaussian 900³ c×r, MNIST ``XᵀX`` c×r), read from their CSVs in docs/figures/comparison/.
For every seed and finite deadline :func:`uepmm.recommend.rank_schemes` chooses on that seed's
matrices (default prior: the probe's Gram matrix where the sub-products correlate, else the
diagonal one; its own draws, no block product), and the chosen scheme is run by compare's fast
path with the table's seed and trials (:func:`uepmm.experiments.compare.fast_losses`, exact
sub-products).  ``auto_loss`` is the mean over the seeds of that realized loss; the best row is
the single scheme with the least mean over the seeds in the table; ``ratio`` is their quotient
and ``ratio_min``/``ratio_max`` the range of the per-seed quotients (auto's loss on seed ``s``
over the best row's on seed ``s``).  Losses below :data:`~uepmm.experiments.compare.EXACT_FLOOR`
(1e-12: rounding residue of an exact result) count as 0, and 0/0 as 1.  ``csv_gap`` is the
largest relative gap between the realized loss and the table's row of the chosen scheme (0 when
the tables are current).

Writes ``docs/figures/comparison/auto_choice.csv`` and the table between the
``auto:begin``/``auto:end`` markers of docs/comparison.md.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uepmm.experiments.compare import EXACT_FLOOR, fast_losses  # noqa: E402
from uepmm.experiments.tables import format_rows, write_csv  # noqa: E402
from uepmm.matrices import workload_matrices  # noqa: E402
from uepmm.recommend import rank_schemes  # noqa: E402
from uepmm.scheme import SCHEMES  # noqa: E402
from uepmm.spec import JobSpec  # noqa: E402

SETTINGS = (("sec6", "rxc"), ("sec6", "cxr"), ("mnist", "cxr"), ("gaussian", "cxr"))
DEADLINES = (0.5, 1.0, 2.0, 4.0, 8.0)  # the finite deadlines of the comparison tables
TRIALS = 100  # per seed, as the tables
COLUMNS = ("setting", "cost", "deadline", "chosen", "auto_loss", "best", "best_loss", "ratio", "ratio_min",
           "ratio_max", "prior", "choice_seconds_max", "csv_gap", "long_trials", "long_auto", "long_best", "long_ratio")
BEGIN, END = "<!-- auto:begin -->", "<!-- auto:end -->"
COMMAND = "PYTHONPATH=src python benchmarks/auto_choice.py"


def exact(x: float) -> float:
    """``x``, with rounding residue below :data:`EXACT_FLOOR` counted as an exact 0."""
    return 0.0 if x < EXACT_FLOOR else x


def ratio_of(auto: float, best: float) -> float:
    auto, best = exact(auto), exact(best)
    return 1.0 if auto == best else (auto / best if best > 0 else math.inf)


def table_losses(workload: str, partition: str, cost: str, directory: Path) -> dict[tuple[int, float, str], float]:
    """``(seed, deadline, scheme) -> mean loss`` of a comparison table's CSV."""
    path = directory / f"{workload}_{partition}_{cost}.csv"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run benchmarks/comparison_tables.py first")
    with path.open() as f:
        return {(int(r["seed"]), float(r["deadline"]), r["scheme"]): float(r["mean_loss"]) for r in csv.DictReader(f)}


def remeasure(data: dict, names: dict[int, str], base: JobSpec, t: float, trials: int) -> float:
    """Mean over the seeds of compare's loss of scheme ``names[s]`` on seed ``s``'s matrices, ``trials``
    fresh trials per seed (seeds 1000 + s: none of the table's)."""
    return sum(float(fast_losses(*data[s], SCHEMES[name].spec(base), [t], trials, 1000 + s)[0].mean())
               for s, name in names.items()) / len(names)


def run(workload: str, partition: str, cost: str, seeds: list[int], directory: Path, long: int) -> list[dict]:
    table = table_losses(workload, partition, cost, directory)
    picks: dict[tuple[int, float], tuple[str, float, str, float]] = {}  # (seed, t) -> scheme, loss, prior, seconds
    data = {}
    base = JobSpec(partition=partition, blocks=9, workers=30, cost=cost)
    for seed in seeds:
        A, B = workload_matrices(workload, partition, seed=seed, rows=900, inner=900, cols=900)
        data[seed] = (A, B)
        for t in DEADLINES:
            t0 = time.perf_counter()
            choice = rank_schemes(A, B, base, deadline=t)
            seconds = time.perf_counter() - t0
            loss = float(fast_losses(A, B, choice.best.spec, [t], TRIALS, seed)[0].mean())
            picks[seed, t] = (choice.best.scheme.name, loss, choice.prior, seconds)
    order = {name: i for i, name in enumerate(SCHEMES)}
    schemes = sorted({s for (_, _, s) in table}, key=lambda s: order.get(s, len(order)))
    out = []
    for t in DEADLINES:
        mean = {s: sum(exact(table[seed, t, s]) for seed in seeds) / len(seeds) for s in schemes}
        best = min(schemes, key=lambda s: mean[s])  # ties (exact rows): the first in registry order
        auto = sum(exact(picks[seed, t][1]) for seed in seeds) / len(seeds)
        per_seed = [ratio_of(picks[seed, t][1], table[seed, t, best]) for seed in seeds]
        gap = max(abs(picks[s, t][1] - table[s, t, picks[s, t][0]]) / max(abs(table[s, t, picks[s, t][0]]), 1e-300)
                  if exact(picks[s, t][1]) or exact(table[s, t, picks[s, t][0]]) else 0.0 for s in seeds)
        ratio = ratio_of(auto, mean[best])
        long_auto = long_best = math.nan
        if ratio > 1.2 and long:  # a misprediction, or a 3 x 100-trial mean that missed a rare event?
            long_auto = remeasure(data, {s: picks[s, t][0] for s in seeds}, base, t, long)
            long_best = remeasure(data, {s: best for s in seeds}, base, t, long)
        out.append({
            "setting": f"{workload} {partition}", "cost": cost, "deadline": t,
            "chosen": "/".join(picks[seed, t][0] for seed in seeds), "auto_loss": auto, "best": best,
            "best_loss": mean[best], "ratio": ratio, "ratio_min": min(per_seed),
            "ratio_max": max(per_seed), "prior": "/".join(sorted({picks[seed, t][2] for seed in seeds})),
            "choice_seconds_max": max(picks[seed, t][3] for seed in seeds), "csv_gap": gap,
            "long_trials": long if ratio > 1.2 else 0, "long_auto": long_auto, "long_best": long_best,
            "long_ratio": ratio_of(long_auto, long_best) if ratio > 1.2 and long else math.nan,
        })
    return out


def _g(x: float) -> str:
    return "0" if x == 0 else (f"{x:.3g}" if math.isfinite(x) else "inf")


def markdown(rows: list[dict]) -> str:
    head = ("| setting | t | auto chose (seeds 0/1/2) | its loss | best row | its loss | ratio | per seed |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- |\n")
    lines = []
    for r in rows:
        chosen = r["chosen"].split("/")
        name = chosen[0] if len(set(chosen)) == 1 else r["chosen"]
        ratio = f"×{r['ratio']:.3g}" if math.isfinite(r["ratio"]) else "inf"
        if r["ratio"] > 1.2:
            ratio = f"**{ratio}**"
        spread = f"{_g(r['ratio_min'])}–{_g(r['ratio_max'])}" if r["ratio_min"] != r["ratio_max"] else _g(
            r["ratio_min"])
        lines.append(f"| {r['setting']} | {r['deadline']:g} | {name} | {_g(r['auto_loss'])} | {r['best']} | "
                     f"{_g(r['best_loss'])} | {ratio} | {spread} |")
    within = sum(r["ratio"] <= 1.2 for r in rows)
    worst = max(rows, key=lambda r: r["ratio"])
    longs = [f"{r['setting']}, t = {r['deadline']:g}: with {int(r['long_trials'])} fresh trials per seed (seeds 1000, "
             f"1001, 1002) auto's choice loses {_g(r['long_auto'])} and the best row {_g(r['long_best'])} "
             f"(×{r['long_ratio']:.3g})" for r in rows if r["long_trials"]]
    return (f"`{COMMAND}` (cost = {'/'.join(sorted({r['cost'] for r in rows}))}; CSV "
            f"`docs/figures/comparison/auto_choice.csv`)\n\n" + head + "\n".join(lines)
            + f"\n\nWithin 1.2× of the best row at {within} of {len(rows)} points; the largest ratio is "
            f"×{worst['ratio']:.3g} ({worst['setting']}, t = {worst['deadline']:g})."
            + ("".join(f"\n\n- {line}." for line in longs)) + "\n")


def write_docs(text: str, path: Path) -> None:
    doc = path.read_text()
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} section")
    path.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: f"{BEGIN}\n{text}{END}", doc,
                           flags=re.S))


def timing(repeats: int) -> list[dict]:
    """Seconds of one choice on the Sec. VI matrices (seed 0, cost="work"), wall-clock and CPU (all threads of
    the process: on a loaded machine the wall clock also counts the other jobs): cold (no Γ design cached; the
    first call of the process pays the imports too, so one choice at t = 3 warms them) and warm (designs cached);
    ``unscreened``: warm, with every candidate priced from all its draws (no screening)."""
    from uepmm import recommend
    from uepmm.codes import ew_matdot
    from uepmm.design.auto import _designed

    screen = recommend.SCREEN_TRIALS

    def clear() -> None:
        _designed.cache_clear()
        for value in vars(ew_matdot).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()

    rows = []
    for partition in ("rxc", "cxr"):
        A, B = workload_matrices("sec6", partition, seed=0)
        base = JobSpec(partition=partition, blocks=9, workers=30, cost="work")
        rank_schemes(A, B, base, deadline=3.0)
        for t in DEADLINES:
            cold, warm, unscreened = [], [], []
            for _ in range(repeats):
                clear()
                t0, c0 = time.perf_counter(), time.process_time()
                choice = rank_schemes(A, B, base, deadline=t)
                cold.append((time.perf_counter() - t0, time.process_time() - c0))
                t0, c0 = time.perf_counter(), time.process_time()
                rank_schemes(A, B, base, deadline=t)
                warm.append((time.perf_counter() - t0, time.process_time() - c0))
                recommend.SCREEN_TRIALS = recommend.RECOMMEND_TRIALS  # every candidate all its draws
                try:
                    c0 = time.process_time()
                    unscreened.append((rank_schemes(A, B, base, deadline=t).best.scheme.name,
                                       time.process_time() - c0))
                finally:
                    recommend.SCREEN_TRIALS = screen
            full = sum(p.draws == max(q.draws for q in choice.ranking) for p in choice.ranking)
            rows.append({"setting": f"sec6 {partition}", "deadline": t, "chosen": choice.best.scheme.name,
                         "cold_wall": min(w for w, _ in cold), "cold_cpu": min(c for _, c in cold),
                         "warm_wall": min(w for w, _ in warm), "warm_cpu": min(c for _, c in warm),
                         "unscreened_warm_cpu": min(c for _, c in unscreened),
                         "unscreened_chosen": "/".join(sorted({n for n, _ in unscreened})),
                         "fully_priced": f"{full}/{len(choice.ranking)}"})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--costs", nargs="+", default=["work"], choices=("work", "equal"))
    parser.add_argument("--settings", nargs="+", default=[f"{w}_{p}" for w, p in SETTINGS],
                        choices=[f"{w}_{p}" for w, p in SETTINGS])
    parser.add_argument("--tables", default=str(ROOT / "docs" / "figures" / "comparison"),
                        help="folder of the comparison tables' CSVs (and of auto_choice.csv)")
    parser.add_argument("--docs", default=str(ROOT / "docs" / "comparison.md"),
                        help="the page whose auto:begin/auto:end section gets the table ('' to skip)")
    parser.add_argument("--long", type=int, default=500,
                        help="fresh trials per seed re-measuring auto's choice and the best row where ratio > 1.2")
    parser.add_argument("--from-csv", action="store_true",
                        help="re-render the docs section from auto_choice.csv without choosing again")
    parser.add_argument("--timing", action="store_true", help="only time the choice (cold and warm), print it")
    parser.add_argument("--repeats", type=int, default=3, help="--timing: choices per point (the least is shown)")
    args = parser.parse_args(argv)
    if args.timing:
        print(format_rows(timing(args.repeats), "table"))
        return 0
    if args.from_csv:
        with (Path(args.tables) / "auto_choice.csv").open() as f:
            rows = [{k: (v if k in ("setting", "cost", "chosen", "best", "prior") else float(v)) for k, v in r.items()}
                    for r in csv.DictReader(f)]
        write_docs(markdown(rows), Path(args.docs))
        return 0
    rows = []
    for setting in args.settings:
        workload, partition = setting.split("_")
        for cost in args.costs:
            got = run(workload, partition, cost, args.seeds, Path(args.tables), args.long)
            rows += got
            print(f"{setting} {cost}: worst ratio {max(r['ratio'] for r in got):.3g}", file=sys.stderr)
    write_csv(Path(args.tables) / "auto_choice.csv", rows, COLUMNS)
    print(format_rows(rows, "table"))
    if args.docs:
        write_docs(markdown(rows), Path(args.docs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
