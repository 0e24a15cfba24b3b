"""``uepmm figure``: regenerate the paper's figures (CSV + PNG) from the registry of figures."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..experiments.figure_options import FIG9_OMEGA, FigureOptions
from ..experiments.paper_figures import FIGURES, omega_option, run_figure
from ._common import add_out_argument, add_progress_argument, add_seed_argument


def _omega(text: str) -> float:
    try:
        return omega_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    names = [*FIGURES, "all"]
    parser = subparsers.add_parser(
        "figure",
        help="regenerate a figure of the paper (CSV + PNG): " + ", ".join(names),
        description=(
            "Regenerates a figure of the paper as NAME.csv and NAME.png in --out. "
            "fig8: decoding probabilities of NOW/EW-UEP (analytic). fig9: normalised loss versus time "
            "(r×c Theorem 1, c×r Monte Carlo with real encode/decode of Sec. VI matrices, MDS). "
            "fig10: the same versus packets received. fig11: c×r Monte Carlo versus the Theorem 2 bound. "
            "'all' makes every figure of the paper that needs no --runs (and those that do when --runs is given). "
            "beyond: Figs. 9/10-style curves of designed window probabilities and LMMSE decoding against MDS "
            "(docs/beyond.md; not part of 'all')."
        ),
        epilog="example: uepmm figure all --out docs/figures --trials 100 --seed 0",
    )
    parser.add_argument("name", choices=names, metavar="NAME", help="figure to make: " + ", ".join(names))
    add_out_argument(parser, "uepmm-figures", "NAME.csv and NAME.png")
    parser.add_argument("--trials", type=int, default=100, help="Monte Carlo trials per point (default 100)")
    parser.add_argument(
        "--matrix-draws", type=int, default=None,
        help="Sec. VI matrix pairs the trials are spread over; sub-products are computed once per pair "
             "(default min(trials, 10))",
    )
    add_seed_argument(parser)
    parser.add_argument(
        "--t-step", type=float, default=0.01, help="largest step of the time grid on [0, 1.2] (default 0.01)"
    )
    parser.add_argument(
        "--omega", type=_omega, default=FIG9_OMEGA,
        help="response-time scaling F(omega t): a number, 'plain' (1, the default, which matches the paper's "
             "Fig. 9 crossovers) or 'paper' (Remark 1: K/W = 9/30)",
    )
    parser.add_argument(
        "--estimator", choices=("conditional", "sampled"), default="conditional",
        help="c×r loss versus time: 'conditional' averages the engine's loss after n arrivals over "
             "N(t) ~ Binomial(W, F(omega t)) (default); 'sampled' counts each trial's sampled arrivals",
    )
    parser.add_argument(
        "--runs",
        default=None,
        metavar="DIR",
        help="folder of training runs (for training figures; ignored by fig8-fig11)",
    )
    add_progress_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = FigureOptions(
        trials=args.trials,
        seed=args.seed,
        t_step=args.t_step,
        omega=args.omega,
        estimator=args.estimator,
        matrix_draws=args.matrix_draws,
        runs=args.runs,
        show_progress=args.progress,
    )
    if args.name == "all":
        names = [n for n in FIGURES if (args.runs is not None or not getattr(FIGURES[n], "needs_runs", False))
                 and not getattr(FIGURES[n], "extra", False)]
        skipped = [n for n in FIGURES if n not in names and not getattr(FIGURES[n], "extra", False)]
    else:
        names, skipped = [args.name], []
    start = time.perf_counter()
    for name in names:
        try:
            output = run_figure(name, args.out, options)
        except ValueError as exc:
            if args.name != "all" or not getattr(FIGURES[name], "needs_runs", False):
                raise
            print(f"{name}: skipped: {exc}")  # 'all': the runs in --runs need not cover every figure
            continue
        written = output.csv_path + (f" and {output.png_path}" if output.png_path else " (no PNG: install uepmm[plot])")
        print(f"{name}: wrote {written}")
        for note in output.notes:
            print(f"  {note}")
    if skipped:
        print(f"skipped {', '.join(skipped)}: they plot training runs, pass --runs DIR")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
