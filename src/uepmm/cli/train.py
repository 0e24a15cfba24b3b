"""``uepmm train mnist|cifar10``: the DNN training runs of paper Sec. VII-C.

Each (scheme, partition, deadline, seed) is one run that writes ``<out>/<name>.csv``
(test accuracy and loss per evaluation step; the same command gives the same file, byte
for byte, for the same torch thread count) and ``<out>/<name>.json`` (settings, wall
time, torch thread count, versions); runs whose complete CSV exists are skipped and
interrupted runs resume from their last epoch checkpoint.  Several values of
``--scheme``/``--partition``/``--deadline``/``--seed`` give every combination.
"""

from __future__ import annotations

import argparse
import sys

from ..nn.setups import PAPER_DEADLINES, RUN_SCHEMES, SCHEMES
from ._common import add_decoder_arguments, add_out_argument, add_progress_argument, add_seed_argument

_EPOCHS = {"mnist": 3, "cifar10": 120}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the paper's DNNs with coded back-propagation (Sec. VII-C)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    datasets = parser.add_subparsers(title="data sets", dest="dataset", metavar="DATASET")
    datasets.required = True
    for name, text in (
        ("mnist", "MNIST, 784-100-200-10 network (Fig. 12); the bundled 5k subset unless --data-dir"),
        ("cifar10", "CIFAR-10, Table V network; needs --data-dir (python-version batches)"),
    ):
        sub = datasets.add_parser(name, help=text, description=text)
        _options(sub, name)
        sub.set_defaults(func=run)


def _options(parser: argparse.ArgumentParser, dataset: str) -> None:
    parser.add_argument(
        "--scheme", nargs="+", default=["centralized"], metavar="SCHEME",
        help=f"one or more of {', '.join(SCHEMES)} (the paper's), or 'all' of those, or another named scheme "
             f"({', '.join(RUN_SCHEMES[len(SCHEMES):])}; W = 15, its own decoder and gamma) (default centralized)",
    )
    parser.add_argument("--partition", nargs="+", default=["rxc"], metavar="P",
                        help="rxc (N = P = 3) and/or cxr (M = 9), or 'both' (default rxc)")
    paper = ", ".join(f"{t:g}" for t in PAPER_DEADLINES)
    parser.add_argument("--deadline", nargs="+", default=["1"], metavar="T",
                        help=f"T_max, one or more, or 'paper' for {paper} (default 1)")
    parser.add_argument("--epochs", type=int, default=_EPOCHS[dataset],
                        help=f"training epochs (default {_EPOCHS[dataset]}, Table IV)")
    add_seed_argument(parser, several=True)
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="directory of the MNIST IDX files" if dataset == "mnist" else
                        "directory of the CIFAR-10 python batches (required)")
    parser.add_argument("--eval-every", type=int, default=None, metavar="N",
                        help="evaluate on the test set every N mini-batch iterations "
                        + ("(default 10)" if dataset == "mnist" else "(default: once per epoch)"))
    parser.add_argument("--limit-train", type=int, default=None, metavar="N",
                        help="use only the first N training images")
    add_out_argument(parser, None, "the run CSVs (complete runs there are skipped, interrupted ones resumed)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default 0.01, Table IV)")
    parser.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default 64, Table IV)")
    parser.add_argument("--clean-epochs", type=int, default=None, metavar="E",
                        help="first E epochs without stragglers (default 30 for cifar10, 0 for mnist)")
    parser.add_argument("--fidelity", choices=("fast", "full"), default="fast",
                        help="fast: rank-only decoding + exact sub-products (default); full: real packets")
    parser.add_argument("--no-thresholds", action="store_true", help="no sparsification (eq. 28) of the operands")
    parser.add_argument("--track-loss", action="store_true",
                        help="record the normalized loss of every coded product (coded_loss column)")
    parser.add_argument("--cost", choices=("equal", "work"), default="equal",
                        help="response-time cost model of the coded products: equal (every packet costs the same, "
                        "the paper's; default) or work (a packet's time scales with the block products it computes); "
                        "runs under 'work' are named ..._cwork_s<seed>")
    add_decoder_arguments(parser, default_decoder="zero")
    parser.set_defaults(decoder=None)  # zero-fill for the paper's schemes, a named scheme's own otherwise (RunSpec)
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel, one process each (default 1)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch threads per run (default: 1 with --jobs > 1, else torch's default); "
                        "results depend on it in the last bits, and through training in the accuracies")
    parser.add_argument("--force", action="store_true", help="redo runs whose CSV exists")
    add_progress_argument(parser)


def _expand(values: list[str], everything: tuple, word: str) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(everything if value.lower() == word else [value.lower()])
    return list(dict.fromkeys(out))


def _deadlines(values: list[str]) -> list[float]:
    out: list[float] = []
    for value in values:
        if value.lower() == "paper":
            out.extend(PAPER_DEADLINES)
            continue
        try:
            out.append(float(value))
        except ValueError:
            raise ValueError(f"--deadline must be numbers or 'paper', got {value!r}") from None
    return list(dict.fromkeys(out))


def specs_from_args(args: argparse.Namespace):
    """The :class:`~uepmm.nn.training.RunSpec` of every requested run."""
    from ..nn.config import ThresholdSchedule
    from ..nn.training import RunSpec

    schemes = _expand(args.scheme, SCHEMES, "all")
    partitions = _expand(args.partition, ("rxc", "cxr"), "both")
    deadlines = _deadlines(args.deadline)
    specs = []
    for seed in args.seed:
        for scheme in schemes:
            combos = [("rxc", 1.0)] if scheme == "centralized" else [(p, t) for p in partitions for t in deadlines]
            for partition, deadline in combos:
                specs.append(RunSpec(
                    dataset=args.dataset, scheme=scheme, partition=partition, deadline=deadline, seed=seed,
                    epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, eval_every=args.eval_every,
                    limit_train=args.limit_train, clean_epochs=args.clean_epochs, fidelity=args.fidelity,
                    thresholds=None if args.no_thresholds else ThresholdSchedule(), track_loss=args.track_loss,
                    device=args.device, decoder=args.decoder, gamma=args.gamma, cost=args.cost,
                ))
    return list(dict.fromkeys(specs))


def run(args: argparse.Namespace) -> int:
    from ..nn.training import _cached_data, describe_dataset, run_many

    if args.dataset == "cifar10" and args.data_dir is None:
        raise ValueError(
            "uepmm train cifar10 needs --data-dir DIR: the CIFAR-10 python-version batches "
            "(data_batch_1..5, test_batch)"
        )
    specs = specs_from_args(args)
    data = _cached_data(args.dataset, args.data_dir)
    print(describe_dataset(data, args.data_dir), file=sys.stderr)
    coded = [s for s in specs if s.scheme != "centralized"]
    import torch

    threads = args.threads or (1 if args.jobs > 1 and len(specs) > 1 else torch.get_num_threads())
    print(f"{len(specs)} run(s) ({len(coded)} coded), {threads} torch thread(s) each -> {args.out}", file=sys.stderr)
    paths = run_many(specs, args.out, data_dir=args.data_dir, jobs=args.jobs, force=args.force,
                     show_progress=args.progress, threads=args.threads)
    for path in paths:
        print(path)
    return 0
