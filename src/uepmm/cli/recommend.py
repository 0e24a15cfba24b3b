"""``uepmm recommend``: every scheme's predicted loss at the deadline on your matrices, least first
(:mod:`uepmm.recommend`, what ``coded_matmul(A, B, scheme="auto", ...)`` runs)."""

from __future__ import annotations

import argparse
from typing import Any

from ..prior import PRIORS
from ..recommend import RECOMMEND_TRIALS, SCREEN_TRIALS, rank_schemes
from ..spec import JobSpec
from ._common import add_format_argument, add_seed_argument, notes_stream
from ._inputs import add_matrix_arguments, fixed_matrices
from .compare import scheme_list
from .simulate import add_latency_arguments, float_list, int_list, latency_from_args, omega_from_args


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="rank every scheme by its loss predicted at the deadline from your matrices' statistics "
             "(what scheme='auto' runs)",
        description=(
            "Predicts the mean normalised loss ||C - C_hat||^2 / ||C||^2 of every scheme at the deadline without "
            "any block product: the sub-products' second moment is the Gram matrix estimated from a few random "
            "probes (matrix-vector products) where they correlate (e.g. Gram matrices X^T X), else the prior "
            "energies ||A_i||^2 ||B_j||^2 / H from the line norms (independent sub-products); each scheme's own "
            "draws (response times, coefficient rows, what its decoder reconstructs) are replayed: "
            f"{SCREEN_TRIALS} for every scheme, --trials for those not clearly losing. The first row is what "
            "coded_matmul(A, B, scheme='auto', ...) runs. --check N puts uepmm compare's measured loss (exact "
            "sub-products, N trials from --seed) beside each prediction."
        ),
    )
    add_matrix_arguments(parser)
    parser.add_argument("--partition", default="cxr", choices=("rxc", "cxr"),
                        help="r×c (eq. 3) or c×r (eq. 4) (default: cxr)")
    parser.add_argument("--blocks", type=int_list, default=[9], help="rxc: N,P or K=N*N; cxr: M (default 9)")
    parser.add_argument("--workers", type=int, default=30, help="workers W (default 30)")
    parser.add_argument("--deadline", type=float_list, default=[1.0],
                        help="deadline(s) > 0, comma-separated: one ranking each (default 1)")
    parser.add_argument("--cost", default="work", choices=("equal", "work"),
                        help="work (default): a packet's response time is one latency draw per block product it "
                             "costs; equal: one draw per packet (the paper's)")
    parser.add_argument("--trials", type=int, default=RECOMMEND_TRIALS,
                        help=f"draws per scheme not clearly losing after the first {SCREEN_TRIALS} (default "
                             f"{RECOMMEND_TRIALS})")
    parser.add_argument("--prior", default="auto", choices=PRIORS,
                        help="what the prediction prices with: auto (default: the probe's Gram matrix where the "
                             "sub-products correlate, else the diagonal), diagonal, probe, exact (every block "
                             "product: a check)")
    parser.add_argument("--check", type=int, default=0, metavar="N",
                        help="also measure every scheme with uepmm compare's fast path, N trials (default 0: no)")
    parser.add_argument("--schemes", type=scheme_list, default=None,
                        help="comma list of schemes to choose among (default: every scheme that fits)")
    add_seed_argument(parser)
    add_latency_arguments(parser)
    add_format_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    blocks: Any = args.blocks[0] if len(args.blocks) == 1 else tuple(args.blocks)
    A, B, label = fixed_matrices(args, args.partition)
    if args.check < 0:
        raise ValueError(f"--check must be >= 0 trials, got {args.check}")
    base = JobSpec(partition=args.partition, blocks=blocks, workers=args.workers,
                   latency=latency_from_args(args), omega=omega_from_args(args), cost=args.cost)
    rows, notes = [], []
    for t in args.deadline:
        choice = rank_schemes(A, B, base, deadline=t, prior=args.prior, trials=args.trials, schemes=args.schemes)
        measured = _measured(A, B, choice, args.check, args.seed) if args.check else {}
        notes.extend(n for n in choice.notes if n not in notes)
        for rank, p in enumerate(choice.ranking, 1):
            gamma = p.settings()["gamma"]
            row = {"deadline": t, "rank": rank, "scheme": p.scheme.name, "code": p.scheme.code_name,
                   "decoder": p.decoder, "gamma": "" if gamma is None else "/".join(f"{g:.3g}" for g in gamma),
                   "predicted_loss": p.loss, "stderr": p.stderr, "draws": p.draws}
            if measured:
                row["measured_loss"] = measured[p.scheme.name]
            rows.append(row)
        notes.append(f"t = {t:g}: chose {choice.best.scheme.name} in {choice.seconds:.2f} s ({label}, prior "
                     f"{choice.prior}, {choice.trials} draws per scheme not screened out)")
    out = notes_stream(args.format)
    for note in notes:
        print(f"note: {note}", file=out)
    from ..experiments.tables import format_rows

    print(format_rows(rows, args.format))
    return 0


def _measured(A: Any, B: Any, choice: Any, trials: int, seed: int) -> dict[str, float]:
    """uepmm compare's mean loss of every candidate at the choice's deadline (exact sub-products)."""
    from ..experiments.compare import fast_losses

    return {p.scheme.name: float(fast_losses(A, B, p.spec, [choice.deadline], trials, seed)[0].mean())
            for p in choice.ranking}
