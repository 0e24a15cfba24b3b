"""``uepmm compare``: every scheme side by side on your matrices (:mod:`uepmm.experiments.compare`)."""

from __future__ import annotations

import argparse
from typing import Any

from ..experiments.compare import DEFAULT_DEADLINES, compare_schemes, format_wide_table, write_compare
from ..experiments.tables import format_rows
from ..scheme import SCHEMES
from ..spec import JobSpec
from ._common import (
    add_format_argument,
    add_out_argument,
    add_prior_arguments,
    add_progress_argument,
    add_seed_argument,
    notes_stream,
)
from ._dask_options import add_dask_arguments, backend_from_args
from ._inputs import add_matrix_arguments, fixed_matrices
from .simulate import add_latency_arguments, float_list, int_list, latency_from_args, omega_from_args

_SCHEMES_HELP = (
    "comma list of schemes (default: all that exist and fit the partition). Decoders: uncoded, repetition, "
    "speculative, mds, polynomial: zero-fill (exact-block schemes: a block is exact or absent); matdot, sampling: "
    "their own estimate; now, ew: the paper's (Table III gamma, zero-fill); now+, ew+: LMMSE decoder and gamma "
    "designed for each deadline (gamma=auto). uncoded and speculative-k run their K tasks on K of the W workers "
    "(the other W-K idle; speculative uses all W: its spares clone tasks from time 0, hedging), repetition "
    "floor(W/K) copies of each task; every scheme sees the same stragglers (same seeds) and the same Omega"
)


def scheme_list(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated scheme names ({', '.join(SCHEMES)}), got {text!r}")
    return names


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="every scheme (uncoded, repetition, speculative, MDS, MatDot/polynomial, sampling, NOW, EW) side by "
             "side on your matrices: mean loss per deadline",
        description=(
            "Mean normalized loss ||C - C_hat||^2 / ||C||^2 of every scheme at each deadline, on your matrices "
            "(--a/--b) or a named workload, with the same workers, the same Omega and the same stragglers for "
            "every scheme. The simulated backend reads every deadline off one draw per trial (what coded_matmul "
            "returns for that seed and deadline); --backend dask runs coded_matmul with real compute. The table "
            "is schemes x deadlines with the least loss of each deadline marked *; --format csv/json give one "
            "row per (scheme, deadline) with its code, decoder, spread and uep (1: the code protects classes "
            "unequally). Costs default to work (--cost equal for the paper's model)."
        ),
    )
    add_matrix_arguments(parser)
    parser.add_argument("--partition", default="cxr", choices=("rxc", "cxr"),
                        help="r×c (eq. 3) or c×r (eq. 4) (default: cxr)")
    parser.add_argument("--blocks", type=int_list, default=[9], help="rxc: N,P or K=N*N; cxr: M (default 9)")
    parser.add_argument("--workers", type=int, default=30, help="workers W, the same for every scheme (default 30)")
    parser.add_argument("--deadline", type=float_list, default=list(DEFAULT_DEADLINES),
                        help="deadline(s), comma-separated, inf allowed (default 0.5,1,2,4,8,inf)")
    parser.add_argument("--cost", default="work", choices=("equal", "work"),
                        help="work (default): a packet's response time is the sum of one latency draw per block "
                             "product it costs (Code.packet_work: s block products take s draws), the honest model; "
                             "equal: every packet is one latency draw, the paper's model (the default of uepmm "
                             "figure, demo and simulate)")
    parser.add_argument("--trials", type=int, default=100, help="Monte Carlo trials per scheme (default 100)")
    add_seed_argument(parser)
    parser.add_argument("--schemes", type=scheme_list, default=None, help=_SCHEMES_HELP)
    add_prior_arguments(parser)
    add_latency_arguments(parser)
    parser.add_argument("--backend", default="simulated", choices=("simulated", "dask"),
                        help="simulated (default, fast) or dask (real compute, slow)")
    add_format_argument(parser)
    add_out_argument(parser, "uepmm-compare", "compare.csv and compare.png (mean loss vs deadline, log y, losses "
                                              "below 1e-12 on an 'exact' floor)")
    add_progress_argument(parser)
    add_dask_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    blocks: Any = args.blocks[0] if len(args.blocks) == 1 else tuple(args.blocks)
    A, B, label = fixed_matrices(args, args.partition)
    base = JobSpec(partition=args.partition, blocks=blocks, workers=args.workers,
                   latency=latency_from_args(args), omega=omega_from_args(args), cost=args.cost,
                   prior=args.prior, probes=args.probes)
    with backend_from_args(args) as backend:
        rows, notes = compare_schemes(A, B, base, deadlines=args.deadline, trials=args.trials, seed=args.seed,
                                      schemes=args.schemes, backend=backend, show_progress=args.progress)
    notes_out = notes_stream(args.format)
    for note in notes:
        print(f"note: {note}", file=notes_out)
    print(format_wide_table(rows) if args.format == "table" else format_rows(rows, args.format))
    title = f"{label}, {args.partition}, W={args.workers}, cost={args.cost}, {args.trials} trials, seed {args.seed}"
    for path in write_compare(rows, args.out, title=title):
        print(f"wrote {path}", file=notes_out)
    return 0
