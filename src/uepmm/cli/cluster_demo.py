"""``uepmm cluster-demo``: the paper's Sec. VI scenario on a real (embedded) Dask cluster.

Runs every code on the cluster over a few trials and prints the mean normalized loss at
each deadline beside the simulated backend's figures (same seeds, and an independent
many-trial expectation).  The experiment itself is
:func:`uepmm.experiments.cluster.cluster_loss_vs_deadline`; this module only parses.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..experiments.tables import format_rows
from ._common import add_format_argument, add_progress_argument, add_seed_argument, notes_stream
from ._dask_options import add_dask_arguments, dask_options_from_args

__all__ = ["register", "run", "add_dask_arguments", "dask_options_from_args", "format_table"]

CODE_NAMES = ("uncoded", "repetition", "mds", "now", "ew")


def _float_list(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _code_list(text: str) -> list[str]:
    names = [x.strip().lower() for x in text.split(",") if x.strip()]
    bad = [n for n in names if n not in CODE_NAMES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"codes must be among {', '.join(CODE_NAMES)}; got {text!r}")
    return names


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cluster-demo",
        help="run the paper's Sec. VI scenario on a Dask cluster and print the loss table",
        description=(
            "Sec. VI synthetic matrices (high/medium/low blocks), exponential response times, "
            "every code on a real Dask cluster (an embedded LocalCluster unless --address): "
            "mean normalized loss per deadline, beside the simulated backend's figures."
        ),
    )
    parser.add_argument("--partition", default="cxr", choices=("rxc", "cxr"), help="r×c or c×r (default cxr)")
    parser.add_argument("--codes", type=_code_list, default=list(CODE_NAMES),
                        help="comma-separated codes (default: uncoded,repetition,mds,now,ew)")
    parser.add_argument("--coded-workers", type=int, default=30,
                        help="W for mds/now/ew (Sec. VI: 30); uncoded uses K = 9, repetition 2K = 18")
    parser.add_argument("--rate", type=float, default=1.0, help="exponential rate lambda (Sec. VI: 1)")
    parser.add_argument("--deadlines", type=_float_list, default=[1.0, 2.0, 4.0],
                        help="deadlines in model time units, comma-separated (default 1,2,4)")
    parser.add_argument("--trials", type=int, default=5, help="trials per code on the cluster (default 5)")
    parser.add_argument("--expectation-trials", type=int, default=200,
                        help="simulated trials for the expectation column (default 200)")
    parser.add_argument("--size-scale", type=float, default=0.2,
                        help="shrink factor of the Sec. VI matrices (default 0.2; 1 = paper sizes)")
    add_seed_argument(parser)
    add_format_argument(parser)
    add_progress_argument(parser)
    add_dask_arguments(parser)
    parser.set_defaults(func=run)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain text table of ``rows`` (dicts with the same keys)."""
    if not rows:
        return ""
    columns = list(rows[0])

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "nan" if math.isnan(value) else f"{value:.4f}"
        return str(value)

    widths = {c: max(len(c), *(len(cell(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(c.rjust(widths[c]) for c in columns)]
    lines += ["  ".join(cell(r[c]).rjust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..backends.dask import DaskBackend, DaskConnectionError  # needs dask.distributed
    from ..experiments.cluster import cluster_loss_vs_deadline
    from ..experiments.synthetic import sec6_matrices
    from ..latency import Exponential

    blocks = 9
    workers = {"uncoded": blocks, "repetition": 2 * blocks}
    codes = [(code, workers.get(code, args.coded_workers)) for code in args.codes]
    options = dask_options_from_args(argparse.Namespace(**{**vars(args), "backend": "dask"}))
    latency = Exponential(args.rate)
    try:
        with DaskBackend(**options) as backend:
            points = cluster_loss_vs_deadline(
                lambda rng: sec6_matrices(args.partition, rng, args.size_scale),
                codes,
                args.deadlines,
                backend=backend,
                trials=args.trials,
                expectation_trials=args.expectation_trials,
                latency=latency,
                seed=args.seed,
                show_progress=args.progress,
                partition=args.partition,
                blocks=blocks,
                decoder="zero",  # the paper's Sec. VI scenario
            )
    except DaskConnectionError as exc:
        print(f"uepmm cluster-demo: error: {exc}", file=sys.stderr)
        return 2
    rows = [
        {
            "code": p.code,
            "W": p.workers,
            "deadline": p.deadline,
            "dask": p.dask_mean,
            "dask_se": p.dask_stderr,
            "sim_same_seeds": p.paired_mean,
            "mismatch": p.mismatches,
            "expected": p.expected_mean,
            "expected_se": p.expected_stderr,
            "z": p.z,
        }
        for p in points
    ]
    print(
        f"Sec. VI {args.partition}, exponential rate {args.rate:g}, Omega = 9/W, time unit "
        f"{options.get('time_unit', 0.1):g} s, {args.trials} cluster trials and "
        f"{args.expectation_trials} simulated trials per code; mean normalized loss ||C - C_hat||^2/||C||^2",
        file=notes_stream(args.format),
    )
    print(format_table(rows) if args.format == "table" else format_rows(rows, args.format))
    return 0
