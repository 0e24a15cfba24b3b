"""The ``uepmm`` command: parses arguments and calls the library; no logic of its own.

Each sub-command lives in its own module exposing ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

# Sub-command modules, in the order ``uepmm --help`` lists them.
_COMMAND_MODULES = ("demo", "simulate", "theory", "figure", "train", "analyze", "cluster_demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uepmm",
        description=(
            "Straggler-resilient distributed approximate matrix multiplication with "
            "unequal error protection (UEP) codes."
        ),
    )
    parser.add_argument("--version", action="version", version=f"uepmm {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ConnectionError) as exc:
        print(f"uepmm {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
