"""docs/comparison.md, "Which scheme wins, when": every scheme on three workloads, both cost models.

One command writes everything (CSV + PNG per setting into docs/figures/comparison/, and the
section of docs/comparison.md between its ``compare:begin``/``compare:end`` markers):

    PYTHONPATH=src python benchmarks/comparison_tables.py

Settings (W = 30 workers, K = 9, exponential latency rate 1, Ω = K/W, deadlines
0.5,1,2,4,8,inf, 100 trials per seed, seeds 0,1,2): Sec. VI c×r and r×c, Gaussian 900³
c×r, MNIST ``XᵀX`` c×r (:mod:`uepmm.matrices`), each with ``cost="equal"`` and ``"work"``.
Each seed draws its own matrices (sec6, gaussian) and its own 100 trials; the loss of a
scheme at a deadline is the mean over the seeds of the 100-trial means, with the range of
the three seed means as the spread.  Every scheme in ``uepmm.scheme.SCHEMES`` that fits the
partition is run (a UEP column marks the rows whose ``uep`` CSV column is 1): re-run after
adding schemes.  Same command, same CSVs (seeded).
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uepmm.experiments.compare import TIE, compare_schemes, plot_compare  # noqa: E402
from uepmm.experiments.tables import write_csv  # noqa: E402
from uepmm.matrices import workload_matrices  # noqa: E402
from uepmm.spec import JobSpec  # noqa: E402

SETTINGS = (("sec6", "cxr"), ("sec6", "rxc"), ("gaussian", "cxr"), ("mnist", "cxr"))
COSTS = ("equal", "work")
DEADLINES = (0.5, 1.0, 2.0, 4.0, 8.0, math.inf)
BEGIN, END = "<!-- compare:begin -->", "<!-- compare:end -->"
LABELS = {"sec6": "Sec. VI matrices", "gaussian": "Gaussian 900×900 @ 900×900",
          "mnist": "MNIST XᵀX (784×5000 @ 5000×784)"}


def command(workload: str, partition: str, cost: str, trials: int, seed: int) -> str:
    sizes = " --rows 900 --inner 900 --cols 900" if workload == "gaussian" else ""
    return (f"uepmm compare --matrices {workload}{sizes} --partition {partition} --blocks 9 --workers 30 "
            f"--cost {cost} --trials {trials} --seed {seed} --deadline 0.5,1,2,4,8,inf")


def run_setting(workload: str, partition: str, cost: str, trials: int, seeds: list[int]) -> list[dict]:
    rows = []
    for seed in seeds:
        A, B = workload_matrices(workload, partition, seed=seed, rows=900, inner=900, cols=900)
        base = JobSpec(partition=partition, blocks=9, workers=30, cost=cost)
        got, notes = compare_schemes(A, B, base, deadlines=DEADLINES, trials=trials, seed=seed)
        rows += [{"seed": seed, **r} for r in got]
        print(f"{workload} {partition} {cost} seed {seed}: {len({r['scheme'] for r in got})} schemes"
              + "".join(f"\n  note: {n}" for n in notes if seed == seeds[0]), file=sys.stderr)
    return rows


def summarise(rows: list[dict], seeds: list[int]) -> tuple[list[str], dict]:
    """Schemes in order, and per (scheme, deadline): (mean over seeds, min, max of the seed means)."""
    schemes = list(dict.fromkeys(r["scheme"] for r in rows))
    out = {}
    for s in schemes:
        for t in DEADLINES:
            means = [r["mean_loss"] for r in rows if r["scheme"] == s and r["deadline"] == t]
            out[s, t] = (sum(means) / len(means), min(means), max(means))
    return schemes, out


def seed_winners(rows: list[dict], t: float, seed: int) -> set[str]:
    at = [r for r in rows if r["deadline"] == t and r["seed"] == seed]
    best = min(r["mean_loss"] for r in at)
    return {r["scheme"] for r in at if r["mean_loss"] <= best + TIE}


def uep_schemes(rows: list[dict]) -> list[str]:
    """The UEP rows' schemes (``uep`` = 1: the code protects classes unequally), in row order."""
    return list(dict.fromkeys(r["scheme"] for r in rows if r["uep"]))


def fmt(x: float) -> str:
    return "0" if x <= TIE else f"{x:.3g}"


def ratio_text(r: float) -> str:
    """A loss ratio: two digits, or three decimals near 1 (where ×1 would hide who is ahead)."""
    return f"{r:.3f}" if 0.9 <= r <= 1.1 else f"{r:.2g}"


def load_rows(path: Path) -> list[dict]:
    """The rows of a CSV this script wrote, with its numbers as numbers (floats round-trip exactly)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    ints, floats = ("seed", "trials", "workers", "tasks", "uep"), ("deadline", "mean_loss", "std_loss", "stderr")
    return [{k: int(v) if k in ints else float(v) if k in floats else v for k, v in r.items()} for r in rows]


def setting_markdown(workload, partition, cost, rows, seeds, trials, csv_name) -> tuple[str, list[dict]]:
    schemes, stats = summarise(rows, seeds)
    uep_rows = set(uep_schemes(rows))
    header = "| scheme | UEP | " + " | ".join(f"t = {t:g}" for t in DEADLINES) + " |"
    lines = [header, "|" + " --- |" * (len(DEADLINES) + 2)]
    winners, summary = {}, []
    for t in DEADLINES:
        best = min(stats[s, t][0] for s in schemes)
        winners[t] = [s for s in schemes if stats[s, t][0] <= best + TIE]
    for s in schemes:
        cells = []
        for t in DEADLINES:
            mean, lo, hi = stats[s, t]
            text = fmt(mean) if fmt(lo) == fmt(hi) else f"{fmt(mean)} ({fmt(lo)}–{fmt(hi)})"
            cells.append(f"**{text}**" if s in winners[t] else text)
        lines.append(f"| {s} | {'yes' if s in uep_rows else ''} | " + " | ".join(cells) + " |")
    won = []
    for t in DEADLINES:
        count = sum(bool(set(winners[t]) & seed_winners(rows, t, seed)) for seed in seeds)
        names = ("all" if len(winners[t]) == len(schemes) else " ".join(winners[t]) if len(winners[t]) <= 4
                 else f"{len(winners[t])} tied (bold)")
        won.append(f"{names} ({count}/{len(seeds)})")
        uep = [s for s in schemes if s in uep_rows]
        other = [s for s in schemes if s not in uep_rows]
        best_uep = min(uep, key=lambda s: stats[s, t][0]) if uep else ""
        best_other = min(other, key=lambda s: stats[s, t][0]) if other else ""
        summary.append({"workload": workload, "partition": partition, "cost": cost, "deadline": t,
                        "winner": " ".join(winners[t]), "winner_loss": stats[winners[t][0], t][0],
                        "best_uep": best_uep, "best_uep_loss": stats[best_uep, t][0] if uep else math.nan,
                        "best_other": best_other, "best_other_loss": stats[best_other, t][0] if other else math.nan})
    lines.append("| **winner** (seeds it won) | | " + " | ".join(won) + " |")
    title = f"#### {LABELS[workload]}, {'c×r' if partition == 'cxr' else 'r×c'}, `cost=\"{cost}\"`"
    cmds = "\n".join(f"    {command(workload, partition, cost, trials, s)}" for s in seeds)
    text = (f"{title}\n\nMean normalised loss (mean of {len(seeds)} seeds × {trials} trials; in brackets the range of "
            f"the seed means), winner in bold. CSV: `docs/figures/comparison/{csv_name}.csv`, plot: "
            f"`{csv_name}.png`. One seed each:\n\n{cmds}\n\n" + "\n".join(lines) + "\n")
    return text, summary


def verdict(summary: list[dict]) -> str:
    """UEP's best against the best other scheme, per setting and deadline (finite deadlines)."""
    lines = ["| setting | cost | " + " | ".join(f"t = {t:g}" for t in DEADLINES if math.isfinite(t)) + " |",
             "|" + " --- |" * (2 + sum(math.isfinite(t) for t in DEADLINES))]
    keys = list(dict.fromkeys((s["workload"], s["partition"], s["cost"]) for s in summary))
    for w, p, c in keys:
        cells = []
        for s in summary:
            if (s["workload"], s["partition"], s["cost"]) != (w, p, c) or not math.isfinite(s["deadline"]):
                continue
            u, o = s["best_uep_loss"], s["best_other_loss"]
            if u <= TIE and o <= TIE:
                cells.append("tie (0)")
            elif o <= TIE:
                cells.append(f"UEP loses ({fmt(u)} vs 0, {s['best_other']})")
            else:
                ratio = u / o
                word = "UEP wins" if ratio < 1 else "UEP loses"
                cells.append(f"{word} ×{ratio_text(ratio)} ({s['best_uep']} vs {s['best_other']})")
        lines.append(f"| {w} {p} | {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def statement(summary: list[dict]) -> str:
    """A plain sentence per cost model: where the best UEP row wins, ties and loses, and by how much."""
    out = []
    for cost in COSTS:
        points = [s for s in summary if s["cost"] == cost and math.isfinite(s["deadline"])]
        wins, ties, losses, exact_other = [], 0, [], 0
        for s in points:
            u, o = s["best_uep_loss"], s["best_other_loss"]
            if u <= TIE and o <= TIE:
                ties += 1
            elif o <= TIE:
                exact_other += 1
            elif u < o:
                wins.append(o / u if u > TIE else math.inf)
            else:
                losses.append(u / o)
        text = (f"- `cost=\"{cost}\"`: over {len(points)} (setting, finite deadline) points the best UEP row wins "
                f"{len(wins)}, ties {ties} (both exact) and loses {len(losses) + exact_other}")
        if losses:
            text += f"; where both are inexact it loses by ×{ratio_text(min(losses))}–×{ratio_text(max(losses))}"
        if exact_other:
            text += f"; at {exact_other} another scheme is exact and UEP is not"
        if wins:
            finite = [w for w in wins if math.isfinite(w)]
            text += (f"; it wins by ×{ratio_text(min(finite))}–×{ratio_text(max(finite))} (other / UEP)"
                     if finite else "")
        out.append(text + ".")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "comparison"))
    parser.add_argument("--doc", default=str(ROOT / "docs" / "comparison.md"),
                        help="markdown file whose compare:begin/end block is replaced ('' to skip)")
    parser.add_argument("--from-csv", action="store_true",
                        help="re-render the markdown from the CSVs already in --out (no simulation, no plots)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    parts, summary, uep = [], [], []
    for workload, partition in SETTINGS:
        for cost in COSTS:
            name = f"{workload}_{partition}_{cost}"
            if args.from_csv:
                rows = load_rows(out / f"{name}.csv")
                held = (sorted({r["seed"] for r in rows}), {r["trials"] for r in rows})
                if held != (sorted(args.seeds), {args.trials}):
                    raise SystemExit(f"{name}.csv holds seeds/trials {held}, not --seeds/--trials: run without "
                                     "--from-csv")
            else:
                rows = run_setting(workload, partition, cost, args.trials, args.seeds)
                write_csv(out / f"{name}.csv", rows)
                first = [r for r in rows if r["seed"] == args.seeds[0]]
                plot_compare(first, str(out / f"{name}.png"),
                             f"{LABELS[workload]}, {partition}, W=30, K=9, cost={cost}, seed {args.seeds[0]}, "
                             f"{args.trials} trials")
            text, summ = setting_markdown(workload, partition, cost, rows, args.seeds, args.trials, name)
            parts.append(text)
            summary += summ
            uep += uep_schemes(rows)
    write_csv(out / "winners.csv", summary)
    seeds = " ".join(map(str, args.seeds))
    body = (f"{BEGIN}\n<!-- generated by: PYTHONPATH=src python benchmarks/comparison_tables.py "
            f"--trials {args.trials} --seeds {seeds}; do not edit by hand -->\n\n"
            f"Best UEP row ({', '.join(dict.fromkeys(uep))}) against the best other scheme:\n\n" + statement(summary)
            + "\nPer setting and deadline, the ratio of their mean losses (`docs/figures/comparison/winners.csv`):\n\n"
            + verdict(summary) + "\n" + "\n".join(parts) + END)
    print(body)
    if args.doc:
        doc = Path(args.doc)
        text = doc.read_text(encoding="utf-8")
        if BEGIN not in text or END not in text:
            raise SystemExit(f"{doc} has no {BEGIN} ... {END} block to replace")
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: body, text, flags=re.S)
        doc.write_text(text, encoding="utf-8")
        print(f"updated {doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
