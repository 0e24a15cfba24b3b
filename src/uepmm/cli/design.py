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
            "--workers 30 --rate 1 --omega 1 --deadline 0.5.  "
            "Designed windows (the structure chosen with Γ): uepmm design --code ew --windows rectangles "
            "--grid 3,3 --energies 1,0.1,0.01,0.1,0.01,0.001,0.01,0.001,0.0001 --encoding factor --cost work "
            "--decoder lmmse --workers 30 --omega 0.3 --deadline 1"
        ),
    )
    parser.add_argument("--code", required=True, choices=design.DESIGN_CODES, help="code family")
    parser.add_argument(
        "--k", type=_int_list, default=SEC6_COUNTS, metavar="K1,K2,...",
        help=f"sub-products per class, most important first (default: {_join(SEC6_COUNTS)})",
    )
    parser.add_argument(
        "--class-energy", type=_float_list, default=None, metavar="E1,E2,...",
        help="energy E||P_k||_F^2 of one sub-product of each class, all > 0 (only ratios matter), e.g. 40,1,0.07 "
             "(required unless --windows)",
    )
    parser.add_argument(
        "--windows", choices=("rectangles", "sizes"), default=None,
        help="design the window structure with Γ (uepmm.design.windows): rectangles: every nested chain of at most "
             "4 rectangles of the --grid (r×c); sizes: the class sizes of nested prefixes of the importance order "
             "(singletons, one class, non-decreasing sizes up to 4 classes); needs --energies; prints the chosen "
             "structure, its Γ and objective against the default structure's (rectangles 1x1, 2x2, ...; sizes: "
             "singletons). One deadline; the LMMSE Monte Carlo uses 400 draws (not --trials)",
    )
    parser.add_argument(
        "--energies", type=_float_list, default=None, metavar="E1,...,EK",
        help="--windows: energy of every sub-product (r×c: row-major over the N x P grid), > 0; they also rank them",
    )
    parser.add_argument("--grid", type=_int_list, default=None, metavar="N,P",
                        help="--windows rectangles: the r×c grid of row and column blocks")
    parser.add_argument("--encoding", choices=("direct", "factor"), default="direct",
                        help="--windows with --cost work: factor: one block product per packet (EW rectangles, "
                             "eq. 11); direct: a window costs its work (default direct)")
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
    if args.windows is not None:
        return _run_windows(args)
    if args.class_energy is None:
        raise ValueError("--class-energy is required (one energy per class), or design the structure too with "
                         "--windows rectangles|sizes and --energies (one per sub-product)")
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


def _run_windows(args: argparse.Namespace) -> int:
    """``--windows``: the structure and Γ of least objective (:func:`uepmm.design.windows.design_windows`)."""
    import numpy as np

    from ..design.windows import describe, design_windows
    from ..spec import JobSpec

    if args.energies is None:
        raise ValueError("--windows needs --energies E1,...,EK: the energy of every sub-product (r×c row-major)")
    if len(args.deadline) != 1:
        raise ValueError(f"--windows designs for one deadline, got {len(args.deadline)}: give --deadline T")
    energies = np.asarray(args.energies, dtype=np.float64)
    if not np.all(np.isfinite(energies)) or np.any(energies <= 0):
        raise ValueError(f"--energies must be finite and > 0, got {args.energies}")
    if args.windows == "rectangles":
        if args.grid is None or len(args.grid) != 2:
            raise ValueError("--windows rectangles needs --grid N,P (the r×c grid of row and column blocks)")
        blocks, partition, classes = tuple(args.grid), "rxc", "rectangles-auto"
    else:
        blocks, partition, classes = energies.size, args.partition, "sizes-auto"
    if int(np.prod(blocks)) != energies.size:
        raise ValueError(f"--energies has {energies.size} entries but --grid {blocks[0]},{blocks[1]} has "
                         f"{int(np.prod(blocks))} sub-products: give one energy per sub-product, row-major")
    spec = JobSpec(code=args.code, partition=partition, blocks=blocks, workers=args.workers,
                   latency=Exponential(args.rate), deadline=args.deadline[0], gamma="auto", classes=classes,
                   omega=args.omega if args.omega is not None else "paper", encoding=args.encoding,
                   decoder=args.decoder, cost=args.cost)
    result = design_windows(spec, np.sqrt(energies), energies)
    rows = [("chosen", result.rule, result.code, result.expected_loss),
            ("default", result.default_rule, result.default_code, result.default_loss)]
    if args.format == "csv":
        print("structure_of,structure,classes,gamma,expected_loss")
        for which, rule, code, loss in rows:
            print(f'{which},"{describe(rule)}",{len(code.gamma)},"{" ".join(format(g, ".6g") for g in code.gamma)}",'
                  f"{loss:.10g}")
    elif args.format == "json":
        payload = {which: {"structure": describe(rule), "gamma": list(code.gamma), "expected_loss": _number(loss),
                           "class_counts": list((result.classes if which == "chosen" else result.default_classes)
                                                .counts)}
                   for which, rule, code, loss in rows}
        payload.update(windows=args.windows, code=args.code, partition=partition, decoder=args.decoder,
                       cost=args.cost, encoding=args.encoding, deadline=args.deadline[0], workers=args.workers,
                       omega=spec.omega_value, candidates=result.candidates, designs=result.designs)
        print(json.dumps(payload, indent=2))
    else:
        print(f"windows       {args.windows}: {result.candidates} candidates, {result.designs} designs "
              f"({args.code}, {partition}, decoder {args.decoder}, cost {args.cost}, deadline {args.deadline[0]:g})")
        for which, rule, code, loss in rows:
            print(f"{which:13s} {describe(rule)}   gamma ({', '.join(f'{g:.4f}' for g in code.gamma)})   "
                  f"expected loss {loss:.6g}")
    return 0
