"""Command-line options of the Dask backend, shared by ``uepmm simulate`` and ``uepmm cluster-demo``.

``uepmm simulate`` calls :func:`add_dask_arguments` on its parser, then either passes
``**dask_options_from_args(args)`` to :func:`uepmm.coded_matmul` (empty unless
``--backend dask``), or, for many trials, runs them inside ``with backend_from_args(args)
as backend:`` and passes ``backend=backend``: one cluster for all trials instead of one
embedded cluster per call.  Dask timelines are in seconds: divide packet times by
``result.report["time_unit"]`` to compare them with deadlines in model units.
This module does not import ``distributed`` unless ``--backend dask``.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any, Iterator

__all__ = ["add_dask_arguments", "dask_options_from_args", "backend_from_args", "DASK_FLAGS"]

#: (flag, argparse dest, backend option) of every Dask-only option.
DASK_FLAGS = (
    ("--address", "dask_address", "address"),
    ("--time-unit", "dask_time_unit", "time_unit"),
    ("--connect-timeout", "dask_connect_timeout", "connect_timeout"),
    ("--dask-workers", "dask_workers", "n_workers"),
    ("--threads-per-worker", "dask_threads_per_worker", "threads_per_worker"),
)


def add_dask_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--backend dask`` options (an argument group) to ``parser``."""
    group = parser.add_argument_group(
        "Dask backend (with --backend dask; without --address an embedded LocalCluster is started)"
    )
    group.add_argument("--address", dest="dask_address", metavar="ADDRESS",
                       help="scheduler of a running Dask cluster, e.g. tcp://127.0.0.1:8786")
    group.add_argument("--time-unit", dest="dask_time_unit", type=float, metavar="SECONDS",
                       help="seconds per latency-model time unit (default 0.1)")
    group.add_argument("--connect-timeout", dest="dask_connect_timeout", type=float, metavar="SECONDS",
                       help="give up reaching --address after this long (default 10)")
    group.add_argument("--dask-workers", dest="dask_workers", type=int, metavar="N",
                       help="processes of the embedded cluster (default: min(workers, CPUs))")
    group.add_argument("--threads-per-worker", dest="dask_threads_per_worker", type=int, metavar="N",
                       help="threads per process of the embedded cluster (default: enough for every logical worker)")


def dask_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Backend options for ``coded_matmul(..., backend="dask", **options)``.

    Empty when ``args.backend`` is not ``"dask"``; then giving any Dask option is an error
    (a ``ValueError`` naming it), rather than silently ignored.
    """
    given = {option: getattr(args, dest, None) for _, dest, option in DASK_FLAGS}
    given = {option: value for option, value in given.items() if value is not None}
    if getattr(args, "backend", "dask") != "dask":
        if given:
            flags = [flag for flag, _, option in DASK_FLAGS if option in given]
            raise ValueError(f"{', '.join(flags)} only apply with --backend dask")
        return {}
    return given


@contextlib.contextmanager
def backend_from_args(args: argparse.Namespace) -> Iterator[Any]:
    """``args.backend`` as a name (``"simulated"``), or a ``DaskBackend`` kept open for the block."""
    options = dask_options_from_args(args)
    if getattr(args, "backend", "dask") != "dask":
        yield args.backend
        return
    from ..backends.dask import DaskBackend

    with DaskBackend(**options) as backend:
        yield backend
