"""A Sphinx directive that prints the ``uepmm`` command's own ``--help`` text.

``.. uepmm-help:: simulate`` (or ``theory decoding``) renders what ``uepmm simulate --help`` prints, taken from the
argument parser at build time, so the CLI page cannot drift from the code.  An empty
argument prints the top-level ``uepmm --help``.
"""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from docutils.parsers.rst import Directive


def _help_text(command: str) -> str:
    from uepmm.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to $COLUMNS; fixed so the page does not depend on the terminal
    try:
        parser = build_parser()
        for word in command.split():  # "theory decoding": walk down the sub-command parsers
            subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = subparsers.choices[word]
        return parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


class UepmmHelp(Directive):
    optional_arguments = 2
    has_content = False

    def run(self) -> list[nodes.Node]:
        command = " ".join(self.arguments)
        try:
            text = _help_text(command)
        except (KeyError, StopIteration):
            raise self.error(f"uepmm has no command {command!r}") from None
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):  # noqa: ANN001, ANN201 (Sphinx's extension hook)
    app.add_directive("uepmm-help", UepmmHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
