"""``uepmm analyze gradients mnist``: sparsity and fits of the back-propagation matrices.

Reproduces paper Table II (share of near-zero entries of the gradients, weights and
inputs of every dense layer, thresholds of Sec. VII-B) and Fig. 5 (Gaussian fits of the
non-sparse entries; ReLU-Gaussian fits of the inputs) at a mini-batch iteration of
central training, as ``table2.csv``, ``fig5.csv`` and ``fig5.png``; prints Table II.
"""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from ..experiments.tables import format_rows
from ._common import add_format_argument, add_out_argument, add_seed_argument, notes_stream


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze", help="analyze DNN back-propagation matrices (Table II, Fig. 5)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_subparsers(title="analyses", dest="analysis", metavar="ANALYSIS")
    what.required = True
    grads = what.add_parser("gradients", help="Table II and Fig. 5: sparsity and fits of gradients, weights, inputs")
    grads.add_argument("dataset", choices=("mnist",), help="data set (the paper analyses MNIST)")
    grads.add_argument("--iteration", type=int, default=389, help="mini-batch iteration to analyse (default 389)")
    grads.add_argument("--data-dir", default=None, metavar="DIR",
                       help="directory of the MNIST IDX files (default: the bundled 5k subset)")
    add_seed_argument(grads)
    add_out_argument(grads, "uepmm-analysis", "table2.csv, fig5.csv and fig5.png")
    add_format_argument(grads)
    grads.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..nn.analysis import analyze_gradients
    from ..nn.training import describe_dataset, load_dataset

    if args.iteration < 1:
        raise ValueError(f"--iteration must be >= 1, got {args.iteration}")
    data = load_dataset(args.dataset, args.data_dir)
    print(describe_dataset(data, args.data_dir), file=sys.stderr)
    paths = analyze_gradients(args.out, iteration=args.iteration, data=data, seed=args.seed)
    with open(paths["table2"], newline="") as handle:
        if args.format == "csv":
            print(handle.read().replace("\r\n", "\n").strip())
        else:
            print(format_rows([_numbers(row) for row in csv.DictReader(handle)], args.format))
    for path in paths.values():
        print(path, file=notes_stream(args.format))
    return 0


def _numbers(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row with its numeric cells as int or float (for the table and JSON output)."""
    out: dict[str, Any] = {}
    for key, text in row.items():
        for kind in (int, float):
            try:
                out[key] = kind(text)
                break
            except ValueError:
                continue
        else:
            out[key] = text
    return out
