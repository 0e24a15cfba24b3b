"""``uepmm design``: window selection probabilities chosen for the job (uepmm.design)."""

from __future__ import annotations

import argparse
import json
import math

from .. import design
from ..importance import SEC6_COUNTS
from ..latency import Exponential
from ..theory import PARTITIONS
from ._common import add_format_argument, add_seed_argument
from .theory import _float_list, _int_list, _join


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "design",
        help="choose the window selection probabilities Γ of a NOW/EW code for a deadline",
        description=(
            "Choose the window selection probabilities Γ of a NOW-UEP or EW-UEP code that minimise "
            "the expected normalised loss at the deadline(s), for exponential response times "
            "F(t) = 1 - exp(-rate Ω t) (paper eq. 13 and Remark 1). Zero-fill decoder: Theorem 1 "
            "(r×c, exact) or the Theorem 2 bound (c×r). LMMSE decoder: exact for NOW, Monte Carlo "
            "with common random numbers (--trials, --seed) for EW and MDS. Also prints the loss of "
            "the paper's Table III Γ (3 classes only) and of an MDS code under the same objective."
        ),
        epilog=(
            "example (Sec. VI, r×c): uepmm design --code now --k 3,3,3 --class-energy 40,1,0.07 "
            "--workers 30 --rate 1 --omega 1 --deadline 0.5"
        ),
    )
    parser.add_argument("--code", required=True, choices=design.DESIGN_CODES, help="code family")
    parser.add_argument(
        "--k", type=_int_list, default=SEC6_COUNTS, metavar="K1,K2,...",
        help=f"sub-products per class, most important first (default: {_join(SEC6_COUNTS)})",
    )
    parser.add_argument(
        "--class-energy", type=_float_list, required=True, metavar="E1,E2,...",
        help="energy E||P_k||_F^2 of one sub-product of each class, all > 0 (only ratios matter), e.g. 40,1,0.07",
    )
    parser.add_argument("--workers", type=int, default=30, help="number of workers W (default 30)")
    parser.add_argument("--rate", type=float, default=1.0, help="rate of the exponential response time (default 1)")
    parser.add_argument(
        "--omega", type=float, default=None,
        help="time scaling Ω of Remark 1, F(Ω t) (default K / W, sub-products per worker)",
    )
    parser.add_argument(
        "--deadline", type=_float_list, required=True, metavar="T1,T2,...",
        help="deadline T > 0, or a comma list of deadlines whose weighted mean loss is minimised",
    )
    parser.add_argument(
        "--deadline-weights", type=_float_list, default=None, metavar="W1,W2,...",
        help="weights of the deadlines, one each, >= 0 (default equal)",
    )
    parser.add_argument("--partition", choices=PARTITIONS, default="rxc", help="r×c or c×r partitioning (default rxc)")
    parser.add_argument(
        "--decoder", choices=design.DECODERS, default="zero",
        help="zero: recovered sub-products, zeros elsewhere (the paper); lmmse: linear MMSE estimate (default zero)",
    )
    parser.add_argument(
        "--trials", type=int, default=2000,
        help="Monte Carlo draws of the LMMSE objective for EW and MDS (default 2000; ignored otherwise)",
    )
    parser.add_argument(
        "--cost", choices=design.COSTS, default="equal",
        help="equal: every packet answers after one draw (the paper); work: a packet of window l answers after "
             "the sum of s_l draws, s_l its block products (default equal)",
    )
    parser.add_argument(
        "--work", type=_int_list, default=None, metavar="S1,S2,...",
        help="--cost work: block products of each window (default for cxr: the window sizes; rxc needs it: the "
             "rank of each window's N x P pattern)",
    )
    parser.add_argument(
        "--mds-work", type=int, default=None, metavar="S",
        help="--cost work: block products of an MDS packet, for the MDS reference (default K for cxr; rxc: "
             "the last EW window's work; rxc NOW needs it, min(N, P))",
    )
    add_seed_argument(parser)
    add_format_argument(parser)
    parser.set_defaults(func=_run)


def _number(value: float) -> float | None:
    """JSON has no NaN: an undefined value is null."""
    return None if math.isnan(value) else value


def _run(args: argparse.Namespace) -> int:
    result = design.design_gamma(
        args.code,
        args.k,
        args.class_energy,
        args.workers,
        Exponential(args.rate),
        args.deadline,
        omega=args.omega,
        partition=args.partition,
        decoder=args.decoder,
        weights=args.deadline_weights,
        trials=args.trials,
        seed=args.seed,
        cost=args.cost,
        work=args.work,
        mds_work=args.mds_work,
    )
    gamma_columns = [f"gamma_{l + 1}" for l in range(len(result.gamma))]
    if args.format == "csv":
        print(",".join([*gamma_columns, "expected_loss", "table3_loss", "mds_loss"]))
        values = [*result.gamma, result.expected_loss, result.table3_loss, result.mds_loss]
        print(",".join(format(float(v), ".10g") for v in values))
    elif args.format == "json":
        payload = {
            "code": result.code,
            "gamma": list(result.gamma),
            "expected_loss": result.expected_loss,
            "table3_loss": _number(result.table3_loss),
            "mds_loss": result.mds_loss,
            "objective": result.objective,
            "mds_objective": result.mds_objective,
            "decoder": result.decoder,
            "partition": result.partition,
            "deadlines": list(result.deadlines),
            "weights": list(result.weights),
            "k": list(args.k),
            "class_energy": list(args.class_energy),
            "workers": args.workers,
            "rate": args.rate,
            "omega": args.omega if args.omega is not None else sum(args.k) / args.workers,
            "trials": args.trials,
            "seed": args.seed,
            "cost": result.cost,
            "work": None if result.work is None else list(result.work),
        }
        print(json.dumps(payload, indent=2))
    else:
        deadlines = ", ".join(f"{t:g} (weight {w:.3g})" for t, w in zip(result.deadlines, result.weights))
        print(f"code          {result.code} ({result.partition}, decoder {result.decoder})")
        print(f"deadlines     {deadlines}")
        if result.work is not None:
            print(f"cost          work: window block products ({', '.join(map(str, result.work))})")
        print(f"gamma         ({', '.join(f'{g:.4f}' for g in result.gamma)})")
        print(f"expected loss {result.expected_loss:.6g}   [{result.objective}, normalised by E||C||_F^2]")
        table3 = "n/a (Table III has 3 classes)" if math.isnan(result.table3_loss) else f"{result.table3_loss:.6g}"
        print(f"Table III     {table3}   [gamma = 0.40, 0.35, 0.25]")
        print(f"MDS           {result.mds_loss:.6g}   [{result.mds_objective}]")
    return 0
