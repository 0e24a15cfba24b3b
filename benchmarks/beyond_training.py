"""Table of the 'Training with better decoders and designed Γ' section of docs/beyond.md.

    PYTHONPATH=src python benchmarks/beyond_training.py RUNS_DIR OUT_DIR

Reads every run CSV/JSON in RUNS_DIR (made by the ``uepmm train mnist`` commands of that
section) and writes to OUT_DIR:

* ``training_final_accuracy.csv``: one row per (partition, scheme, decoder, Γ, deadline):
  final test accuracy (the ``test_accuracy`` of the last row of each run) as mean,
  sample sd, min and max over the seeds and each seed's value; the mean over the last 50
  evaluations of each run (iterations 2300-2790 for the 45-epoch runs; averaged over
  seeds), a steadier summary of the unstable c×r runs; the mean share of sub-products
  recovered per coded product (last row); the gap ``centralized - mean``; the mean
  seconds of a run (``seconds`` of the JSON: the training loop with its evaluations,
  1 torch thread, two runs sharing the 2 cores).
* ``training_final_accuracy.png``: the means with min-max bars (matplotlib object API).

and prints the Markdown table of the document.

Pure reading of finished runs: the same run CSVs give byte-identical outputs.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from uepmm.nn.training import read_run_csv  # noqa: E402

SCHEME_LABEL = {"centralized": "centralized", "uncoded": "uncoded", "repetition": "repetition",
                "now": "NOW-UEP", "ew": "EW-UEP"}
SCHEME_ORDER = ["centralized", "uncoded", "repetition", "now", "ew"]
DECODER_ORDER = ["zero", "lmmse", "unbiased"]
GAMMA_ORDER = ["table3", "auto"]
LAST_EVALS = 50


def _runs(runs_dir: Path):
    for path in sorted(runs_dir.glob("*.csv")):
        meta = json.loads(path.with_suffix(".json").read_text())
        settings = meta["settings"]
        rows = read_run_csv(path)
        if rows[-1]["iteration"] != meta["steps"]:
            raise ValueError(f"{path} is not a finished run")
        gamma = settings.get("gamma")
        yield {
            "partition": "-" if settings["scheme"] == "centralized" else settings["partition"],
            "scheme": settings["scheme"],
            "decoder": "-" if settings["scheme"] == "centralized" else settings.get("decoder", "zero"),
            "gamma": ("-" if settings["scheme"] not in ("now", "ew")
                      else "table3" if gamma is None else "auto" if gamma == "auto"
                      else "-".join(f"{g:g}" for g in gamma)),
            "deadline": "-" if settings["scheme"] == "centralized" else settings["deadline"],
            "seed": settings["seed"],
            "final": rows[-1]["test_accuracy"],
            "last": statistics.fmean(r["test_accuracy"] for r in rows[-LAST_EVALS:]),
            "recovered": rows[-1]["recovered"],
            "seconds": meta["seconds"],
            "threads": meta["torch_threads"],
        }


def _key(row):
    return (
        ["-", "cxr", "rxc"].index(row["partition"]),
        SCHEME_ORDER.index(row["scheme"]),
        DECODER_ORDER.index(row["decoder"]) if row["decoder"] in DECODER_ORDER else -1,
        GAMMA_ORDER.index(row["gamma"]) if row["gamma"] in GAMMA_ORDER else -1,
        -1 if row["deadline"] == "-" else row["deadline"],
    )


def table(runs_dir: Path) -> list[dict]:
    groups = defaultdict(list)
    for run in _runs(runs_dir):
        groups[(run["partition"], run["scheme"], run["decoder"], run["gamma"], run["deadline"])].append(run)
    rows = []
    for (partition, scheme, decoder, gamma, deadline), runs in groups.items():
        runs.sort(key=lambda r: r["seed"])
        finals = [r["final"] for r in runs]
        rows.append({
            "partition": partition, "scheme": scheme, "decoder": decoder, "gamma": gamma, "deadline": deadline,
            "seeds": " ".join(str(r["seed"]) for r in runs),
            "final_mean": statistics.fmean(finals),
            "final_sd": statistics.stdev(finals) if len(finals) > 1 else math.nan,
            "final_min": min(finals), "final_max": max(finals),
            "final_per_seed": " ".join(f"{f:.3f}" for f in finals),
            "last50_mean": statistics.fmean(r["last"] for r in runs),
            "recovered": statistics.fmean(r["recovered"] for r in runs) if scheme != "centralized" else math.nan,
            "seconds_mean": statistics.fmean(r["seconds"] for r in runs),
            "torch_threads": " ".join(sorted({str(r["threads"]) for r in runs})),
        })
    rows.sort(key=_key)
    central = [r for r in rows if r["scheme"] == "centralized"]
    for r in rows:
        r["gap_to_centralized"] = central[0]["final_mean"] - r["final_mean"] if central else math.nan
    return rows


def _fmt(value):
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def write_csv(rows, path: Path):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _fmt(v) for k, v in r.items()})


def markdown(rows) -> str:
    """Rows: partition/scheme/decoder/Γ; columns: T = 1 and T = 2 (mean [min-max]; last-50 mean)."""
    cells = defaultdict(dict)
    for r in rows:
        cells[(r["partition"], r["scheme"], r["decoder"], r["gamma"])][r["deadline"]] = r
    deadlines = sorted({r["deadline"] for r in rows if r["deadline"] != "-"})
    head = ["partition", "scheme", "decoder", "Γ", "seeds"] + [f"T={t:g}: final mean [min–max]" for t in deadlines] \
        + [f"T={t:g}: last-50 mean" for t in deadlines]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (partition, scheme, decoder, gamma), by_t in cells.items():
        part = {"-": "–", "cxr": "c×r", "rxc": "r×c"}[partition]
        g = {"table3": "Table III", "auto": "auto", "-": "–"}.get(gamma, gamma)
        if scheme == "centralized":
            r = by_t["-"]
            final = f"{r['final_mean']:.3f} [{r['final_min']:.3f}–{r['final_max']:.3f}]"
            gap = " | " * (len(deadlines) - 1)
            lines.append(f"| – | centralized | – | – | {len(r['seeds'].split())} | {final}"
                         + gap + f" | {r['last50_mean']:.3f}" + gap + " |")
            continue
        finals = [f"{by_t[t]['final_mean']:.3f} [{by_t[t]['final_min']:.3f}–{by_t[t]['final_max']:.3f}]"
                  if t in by_t else "" for t in deadlines]
        lasts = [f"{by_t[t]['last50_mean']:.3f}" if t in by_t else "" for t in deadlines]
        n = max(len(r["seeds"].split()) for r in by_t.values())
        lines.append("| " + " | ".join([part, SCHEME_LABEL[scheme], decoder, g, str(n)] + finals + lasts) + " |")
    return "\n".join(lines) + "\n"


def plot(rows, path: Path):
    from matplotlib.figure import Figure

    central = next((r["final_mean"] for r in rows if r["scheme"] == "centralized"), None)
    fig = Figure(figsize=(13, 7.5), constrained_layout=True)
    axes = fig.subplots(2, 2, sharey=True)
    for i, partition in enumerate(("cxr", "rxc")):
        for j, deadline in enumerate((1.0, 2.0)):
            ax = axes[i][j]
            sel = [r for r in rows if r["partition"] == partition and r["deadline"] == deadline]
            labels = [SCHEME_LABEL[r["scheme"]] + ("" if r["decoder"] == "zero" and r["gamma"] in ("-", "table3")
                                                   else f" {r['decoder']}" + ("" if r["gamma"] in ("-", "table3")
                                                                              else f" Γ={r['gamma']}"))
                      for r in sel]
            means = [r["final_mean"] for r in sel]
            err = [[r["final_mean"] - r["final_min"] for r in sel], [r["final_max"] - r["final_mean"] for r in sel]]
            colors = ["tab:gray" if r["scheme"] in ("uncoded", "repetition") else
                      "tab:blue" if r["scheme"] == "now" else "tab:orange" for r in sel]
            ax.bar(range(len(sel)), means, yerr=err, color=colors, capsize=2)
            uncoded = [r["final_mean"] for r in sel if r["scheme"] == "uncoded" and r["decoder"] == "zero"]
            if uncoded:
                ax.axhline(uncoded[0], color="tab:gray", ls=":", label="uncoded (zero-fill)")
            if central is not None:
                ax.axhline(central, color="k", ls="--", label="centralized")
            ax.set_xticks(range(len(sel)), labels, rotation=70, ha="right", fontsize=7)
            ax.set_ylim(0.3, 0.95)
            ax.set_title(f"{'c×r' if partition == 'cxr' else 'r×c'}, T = {deadline:g}")
            ax.set_ylabel("final test accuracy (mean, min–max over seeds)")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="lower right")
    fig.savefig(path, dpi=100)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    runs_dir, out_dir = Path(argv[0]), Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = table(runs_dir)
    write_csv(rows, out_dir / "training_final_accuracy.csv")
    plot(rows, out_dir / "training_final_accuracy.png")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
