"""``uepmm simulate``: one coded multiplication setting, Monte Carlo over trials, every knob exposed."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ..codes import CODES
from ..experiments.synthetic import loss_vs_deadline
from ..experiments.tables import format_rows
from ..latency import Exponential, LatencyModel, Pareto, ShiftedExponential, Trace, Weibull
from ..scheme import SCHEMES, get_scheme
from ..spec import JobSpec
from ._common import (
    add_decoder_arguments,
    add_format_argument,
    add_prior_arguments,
    add_progress_argument,
    add_seed_argument,
)
from ._dask_options import add_dask_arguments, backend_from_args
from ._inputs import add_matrix_arguments, matrix_maker

LATENCIES = ("exponential", "shifted-exponential", "pareto", "weibull", "trace", "none")


def float_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.replace("x", ",").split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def add_latency_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("latency model (paper eq. 8, scaled as F(omega t))")
    group.add_argument("--latency", default="exponential", choices=LATENCIES,
                       help="response-time model (default: exponential)")
    group.add_argument("--rate", type=float, default=1.0, help="rate lambda of (shifted) exponential (default 1)")
    group.add_argument("--shift", type=float, default=0.0, help="shift of shifted-exponential (default 0)")
    group.add_argument("--shape", type=float, default=2.0, help="shape of pareto/weibull (default 2)")
    group.add_argument("--scale", type=float, default=1.0, help="scale of pareto/weibull (default 1)")
    group.add_argument("--trace-file", help="file of recorded response times, one per line (for --latency trace)")
    group.add_argument("--omega", default="paper",
                       help="time scaling Omega: a number, or 'paper' = K / workers (Remark 1)")


def latency_from_args(args: argparse.Namespace) -> LatencyModel | None:
    name = args.latency
    if name == "none":
        return None
    if name == "exponential":
        return Exponential(args.rate)
    if name == "shifted-exponential":
        return ShiftedExponential(args.rate, args.shift)
    if name == "pareto":
        return Pareto(args.shape, args.scale)
    if name == "weibull":
        return Weibull(args.shape, args.scale)
    if not args.trace_file:
        raise ValueError("--latency trace needs --trace-file FILE with one recorded response time per line")
    return Trace.from_file(args.trace_file)


def omega_from_args(args: argparse.Namespace) -> float | str:
    if args.omega == "paper":
        return "paper"
    try:
        return float(args.omega)
    except ValueError:
        raise ValueError(f"--omega must be a positive number or 'paper', got {args.omega!r}") from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run one coded-multiplication setting over many trials and report the loss per deadline",
        description=(
            "Monte Carlo of the normalized loss ||C - C_hat||^2 / ||C||^2 at one or more deadlines, "
            "with real encoding and decoding on the chosen backend."
        ),
    )
    parser.add_argument("--scheme", default=None, choices=list(SCHEMES), metavar="SCHEME",
                        help=f"a named scheme ({', '.join(SCHEMES)}; as in uepmm compare): its code, decoder, gamma "
                             "and task rule (--workers is the W it is given); --code/--decoder/--gamma/--copies "
                             "that contradict it are an error")
    parser.add_argument("--code", default=None, choices=CODES, help="code (default: ew, or the scheme's)")
    parser.add_argument("--partition", default="cxr", choices=("rxc", "cxr"),
                        help="r×c (eq. 3) or c×r (eq. 4) (default: cxr)")
    parser.add_argument("--blocks", type=int_list, default=[9], help="rxc: N,P or K=N*N; cxr: M (default 9)")
    parser.add_argument("--workers", type=int, default=15, help="number of workers W (default 15)")
    add_decoder_arguments(parser)
    parser.set_defaults(decoder=None)  # lmmse, unless --scheme sets one (run)
    add_prior_arguments(parser)
    parser.add_argument("--copies", type=int, help="copies per sub-product for repetition (default workers/K)")
    parser.add_argument("--class-counts", type=int_list,
                        help="sub-products per class k_1,..,k_L (default: 3 near-equal classes)")
    parser.add_argument("--classes", choices=("rectangles", "singletons"),
                        help="class table made from each job's block norms instead of --class-counts: rectangles "
                             "(rxc, nested rectangles; with --code ew --encoding factor one block product per "
                             "packet) or singletons (one class per sub-product)")
    parser.add_argument("--statistic", default="fro", choices=("fro", "mean_abs"),
                        help="importance statistic (default fro)")
    parser.add_argument("--no-reorder", action="store_true",
                        help="do not sort rows/columns by magnitude before partitioning")
    parser.add_argument("--encoding", default="direct", choices=("direct", "factor"),
                        help="worker task form (default direct)")
    parser.add_argument("--cost", default="equal", choices=("equal", "work"),
                        help="equal: every packet's response time is one latency draw (the paper's); work: the "
                             "sum of one draw per block product the packet costs (default equal)")
    add_latency_arguments(parser)
    parser.add_argument("--deadline", type=float_list, default=[0.5, 1.0, 2.0, 4.0],
                        help="deadline(s) T_max, comma-separated (default 0.5,1,2,4)")
    parser.add_argument("--trials", type=int, default=20, help="Monte Carlo trials (default 20)")
    add_seed_argument(parser)
    parser.add_argument("--fidelity", default="full", choices=("full", "fast"),
                        help="full: real packets and decoding; fast: rank-only (default full)")
    add_matrix_arguments(parser, per_trial=True)
    parser.add_argument("--backend", default="simulated", choices=("simulated", "dask"),
                        help="execution backend (default simulated)")
    add_format_argument(parser)
    add_progress_argument(parser)
    add_dask_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    blocks: Any = args.blocks[0] if len(args.blocks) == 1 else tuple(args.blocks)
    make = matrix_maker(args, args.partition)
    with backend_from_args(args) as backend:  # one cluster for all trials with --backend dask
        settings: dict[str, Any] = dict(
            partition=args.partition,
            blocks=blocks,
            workers=args.workers,
            gamma=args.gamma,
            copies=args.copies,
            class_counts=args.class_counts,
            classes=args.classes,
            statistic=args.statistic,
            reorder=not args.no_reorder,
            encoding=args.encoding,
            cost=args.cost,
            latency=latency_from_args(args),
            omega=omega_from_args(args),
            fidelity=args.fidelity,
            backend=backend,
            prior=args.prior,
            probes=args.probes,
        )
        if args.scheme is None:
            settings.update(code=args.code or "ew", decoder=args.decoder or "lmmse")
        else:  # the scheme's spec, every field spelled out (explicit flags must agree with it)
            given = {k: v for k, v in (("code", args.code), ("decoder", args.decoder)) if v is not None}
            spec = get_scheme(args.scheme).spec(**settings, **given)
            settings = {name: getattr(spec, name) for name in JobSpec.field_names() if name != "deadline"}
        code = settings["code"]
        label = args.scheme or code
        points = loss_vs_deadline(
            make,
            args.deadline,
            trials=args.trials,
            seed=args.seed,
            label=f"{label} {args.partition}",
            show_progress=args.progress,
            **settings,
        )
    rows = [
        {
            **({"scheme": args.scheme} if args.scheme else {}),
            "code": code,
            "partition": args.partition,
            "deadline": p.deadline,
            "mean_loss": p.mean_loss,
            "stderr": p.stderr if not math.isnan(p.stderr) else 0.0,
            "mean_received": p.mean_received,
            "mean_recovered": p.mean_recovered,
            "trials": p.trials,
        }
        for p in points
    ]
    print(format_rows(rows, args.format))
    return 0
