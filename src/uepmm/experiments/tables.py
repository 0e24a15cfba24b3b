"""Rendering result rows (lists of dicts) as a text table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["FORMATS", "format_rows", "write_csv"]

FORMATS = ("table", "csv", "json")


def format_rows(rows: Iterable[dict[str, Any]], fmt: str) -> str:
    """Render dict rows as ``table``, ``csv`` or ``json``."""
    rows = list(rows)
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if not rows:
        return ""
    columns = list(rows[0])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")

    def cell(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    widths = {c: max(len(c), *(len(cell(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(c.rjust(widths[c]) for c in columns)]
    lines += ["  ".join(cell(r[c]).rjust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def write_csv(path: str | os.PathLike, rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Write dict rows to ``path`` as UTF-8 CSV with ``\\n`` line ends.

    The columns are ``columns`` or else the first row's keys (then ``rows`` must not be
    empty).  The one CSV writer of the figures, the demo, the analyses and the training runs.
    """
    rows = list(rows)
    fieldnames = list(rows[0]) if columns is None else list(columns)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
