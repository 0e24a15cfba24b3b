"""The ``uepmm`` command: parses arguments and calls the library; no logic of its own.

Each sub-command lives in its own module exposing ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

# Sub-command modules, in the order ``uepmm --help`` lists them.
_COMMAND_MODULES = (
    "demo", "simulate", "compare", "recommend", "theory", "design", "figure", "train", "analyze", "cluster_demo",
)


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
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ImportError as exc:  # an optional extra (torch, dask) is not installed
            _register_unavailable(subparsers, name.replace("_", "-"), exc)
            continue
        module.register(subparsers)
    return parser


_EXTRA_OF = {"torch": "torch", "mlxtend": "torch", "dask": "dask", "distributed": "dask", "matplotlib": "plot"}


def _register_unavailable(subparsers: argparse._SubParsersAction, command: str, exc: ImportError) -> None:
    """A placeholder command that says which extra to install."""
    missing = (exc.name or "a dependency").split(".")[0]
    hint = f'pip install "uepmm[{_EXTRA_OF.get(missing, "all")}]"'
    parser = subparsers.add_parser(command, help=f"(unavailable: needs {missing}; {hint})", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER)

    def unavailable(args: argparse.Namespace) -> int:
        print(f"uepmm {command}: error: this command needs {missing}, which is not installed; {hint}", file=sys.stderr)
        return 2

    parser.set_defaults(func=unavailable)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ConnectionError, ImportError) as exc:
        message = str(exc)
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            message += f'; install it with pip install "uepmm[{_EXTRA_OF.get(exc.name.split(".")[0], "all")}]"'
        print(f"uepmm {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
