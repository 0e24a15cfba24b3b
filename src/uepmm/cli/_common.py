"""Options that several ``uepmm`` commands share, each defined once, so that a flag means
the same thing (type, default, help) in every command that has it.

=================================  ==========================================================
``--progress/--no-progress``       a progress bar on stderr; on by default (off a terminal,
                                   only its final line is printed)
``--format {table,csv,json}``      how the result table is printed on stdout; ``table`` by
                                   default; with csv/json stdout holds only the data (notes
                                   such as "wrote FILE" go to stderr)
``--seed S``                       the random seed, an int, 0 by default (``train``: several)
``--out DIR``                      the output directory, created if missing; a default named
                                   ``uepmm-...`` in the current directory, or required
=================================  ==========================================================

"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ..experiments.tables import FORMATS

__all__ = [
    "FORMATS",
    "add_progress_argument",
    "add_format_argument",
    "add_seed_argument",
    "add_out_argument",
    "notes_stream",
    "PROGRESS_HELP",
    "FORMAT_HELP",
    "SEED_HELP",
    "SEEDS_HELP",
]

PROGRESS_HELP = "show a progress bar on stderr (default: on; off a terminal only its final line is printed)"
FORMAT_HELP = "how stdout shows the results: table (aligned columns), csv or json (default: {default})"
SEED_HELP = "random seed: the same seed gives the same results (default: 0)"
SEEDS_HELP = "random seed(s): the same seed gives the same results; several seeds give one run each (default: 0)"


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """``--progress`` / ``--no-progress`` (``args.progress``, default ``True``)."""
    action = parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    action.help = PROGRESS_HELP  # set afterwards: Python 3.10 would append "(default: True)" to it


def add_format_argument(parser: argparse.ArgumentParser, *, default: str = "table") -> None:
    """``--format {table,csv,json}`` (``args.format``, default ``"table"``)."""
    if default not in FORMATS:
        raise ValueError(f"default must be one of {FORMATS}, got {default!r}")
    parser.add_argument("--format", choices=FORMATS, default=default, help=FORMAT_HELP.format(default=default))


def add_seed_argument(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    """``--seed S`` (``args.seed``, an int, default 0); ``several=True``: ``--seed S [S ...]``, a list."""
    if several:
        parser.add_argument("--seed", type=int, nargs="+", default=[0], metavar="S", help=SEEDS_HELP)
    else:
        parser.add_argument("--seed", type=int, default=0, metavar="S", help=SEED_HELP)


def add_out_argument(parser: argparse.ArgumentParser, default: str | None, contents: str) -> None:
    """``--out DIR`` (``args.out``): the directory the command writes ``contents`` to.

    ``default`` is a directory name in the current directory (``uepmm-...``), or ``None``
    for a required option (commands whose output must not land anywhere by accident).
    """
    where = "required" if default is None else f"default: {default}/"
    parser.add_argument("--out", metavar="DIR", default=default, required=default is None,
                        help=f"output directory for {contents}, created if missing ({where})")


def notes_stream(fmt: str) -> TextIO:
    """Where a command prints notes beside its table: stdout for ``table``, stderr for csv/json
    (so that stdout parses)."""
    return sys.stdout if fmt == "table" else sys.stderr


def gamma_value(text: str) -> str | list[float]:
    """``--gamma``: ``auto`` (designed per job) or comma-separated window probabilities."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or comma-separated probabilities, got {text!r}") from None


def add_prior_arguments(parser: argparse.ArgumentParser) -> None:
    """``--prior {diagonal,probe,auto,exact}`` and ``--probes q`` (``args.prior``, ``args.probes``)."""
    from ..prior import PRIORS

    parser.add_argument(
        "--prior", default="diagonal", choices=PRIORS,
        help="LMMSE's prior of the sub-products (decoder lmmse): diagonal (energies from block norms, "
             "uncorrelated), probe (their Gram matrix from random probes, no block product), auto (probe when "
             "the sub-products are correlated, else diagonal), exact (costs every block product; for "
             "measurements) (default diagonal)",
    )
    parser.add_argument("--probes", type=int, default=16,
                        help="random probe vectors of --prior probe/auto (default 16)")


def add_decoder_arguments(
    parser: argparse.ArgumentParser,
    *,
    default_decoder: str = "lmmse",
    default_gamma: str = "0.40,0.35,0.25 (Table III)",
) -> None:
    """``--decoder {zero,lmmse,unbiased}`` and ``--gamma auto|G1,G2,...`` (``args.decoder``, ``args.gamma``)."""
    from ..decoders import DECODER_NAMES

    parser.add_argument(
        "--decoder", default=default_decoder, choices=DECODER_NAMES,
        help="how C_hat is formed: zero (the paper's: unrecovered blocks are zero), lmmse (linear MMSE from "
             "every packet), unbiased (recovered blocks rescaled: E[C_hat_k | N] = P_k exactly when P_k = 0, q(N) = 1 "
             "or p_k(N) > q(N) with (p_k - q)/(1 - q) >= 0.02, where p_k and q are the probabilities that block k "
             "and everything are recovered from the N packets by the deadline under the job's --cost; blocks "
             "recovered only with everything (EW's last class, MDS) stay exact or zero, E = q(N) P_k) "
             f"(default {default_decoder})",
    )
    parser.add_argument(
        "--gamma", type=gamma_value, default=None,
        help=f"window probabilities of now/ew: G1,G2,... or auto (designed per job for the deadline) "
             f"(default {default_gamma})",
    )
