"""``uepmm theory``: analytic results of paper Sec. V (decoding probabilities, eqs. 14-15)."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from .. import theory
from ..importance import SEC6_COUNTS, TABLE3_GAMMA
from ._common import add_format_argument


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 3,3,3, got {text!r}") from None


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.4,0.35,0.25, got {text!r}"
        ) from None


def _field_size(text: str) -> float:
    if text.strip().lower() in ("inf", "infinity"):
        return math.inf
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a field size such as 2, 256 or INF, got {text!r}") from None


def _join(values: tuple) -> str:
    return ",".join(format(v, "g") for v in values)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "theory",
        help="analytic decoding probabilities (paper Sec. V)",
        description="Analytic results of paper Sec. V: no simulation, closed forms and small dynamic programmes.",
    )
    sub = parser.add_subparsers(title="analyses", dest="analysis", metavar="ANALYSIS")
    sub.required = True
    dec = sub.add_parser(
        "decoding",
        help="P_d,l(N): probability that class l is decoded after N received packets",
        description=(
            "Print P_d,l(N) for N = 0..max-packets received packets and every class l "
            "(class 1 = most important): paper eqs. 14-15 for NOW-UEP, the expanding-window "
            "rank recursion of docs/design.md §7 for EW-UEP, a step at N = K for MDS (N = 2K-1 for MatDot), and for "
            "uncoded/repetition the probability that a given sub-product has arrived."
        ),
        epilog=(
            "example: uepmm theory decoding --code ew --k 3,3,3 --gamma 0.4,0.35,0.25 "
            "--max-packets 30   (Fig. 8 of the paper)"
        ),
    )
    dec.add_argument("--code", required=True, choices=theory.THEORY_CODES, help="code family")
    dec.add_argument(
        "--k", type=_int_list, default=SEC6_COUNTS, metavar="K1,K2,...",
        help=f"sub-products per class, most important first (default: {_join(SEC6_COUNTS)}, Table III)",
    )
    dec.add_argument(
        "--gamma", type=_float_list, default=TABLE3_GAMMA, metavar="G1,G2,...",
        help=f"window selection probabilities for now/ew, summing to 1 (default: {_join(TABLE3_GAMMA)}, Table III)",
    )
    dec.add_argument(
        "--max-packets", type=int, default=None, metavar="N",
        help="largest number of received packets "
             "(required for now/ew; default K for mds/uncoded, copies*K for repetition)",
    )
    dec.add_argument("--copies", type=int, default=None,
                     help="copies per sub-product for --code repetition (default 2)")
    dec.add_argument(
        "--q", type=_field_size, default=math.inf, metavar="Q",
        help="finite field size for now/ew random coefficients (default INF, the paper's large-field limit)",
    )
    add_format_argument(dec)
    dec.set_defaults(func=_run_decoding)


def _run_decoding(args: argparse.Namespace) -> int:
    if args.code in ("now", "ew") and args.max_packets is None:
        raise ValueError(f"--max-packets is required for --code {args.code} (e.g. --max-packets 30)")
    gamma = args.gamma if args.code in ("now", "ew") else None
    probs = theory.decoding_probabilities(args.code, args.k, gamma, args.max_packets, args.copies, args.q)
    header = ["packets"] + [f"class_{l + 1}" for l in range(probs.shape[1])]
    if args.format == "json":
        payload = {
            "code": args.code,
            "k": list(args.k),
            "gamma": None if gamma is None else list(gamma),
            "copies": args.copies,
            "q": "inf" if math.isinf(args.q) else args.q,
            "columns": header,
            "rows": [[n] + row.tolist() for n, row in enumerate(probs)],
        }
        print(json.dumps(payload, indent=2))
    elif args.format == "table":
        widths = [max(len(h), 8) for h in header]
        print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
        for n, row in enumerate(probs):
            cells = [str(n)] + [f"{p:.6f}" for p in row]
            print("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    else:
        print(",".join(header))
        for n, row in enumerate(probs):
            print(",".join([str(n)] + [format(float(p), ".10g") for p in np.asarray(row)]))
    return 0
