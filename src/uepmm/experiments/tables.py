"""Rendering result rows (lists of dicts) as a text table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable

__all__ = ["format_rows", "write_csv", "FORMATS"]

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


def write_csv(path: str, rows: Iterable[dict[str, Any]]) -> None:
    """Write dict rows to ``path`` as CSV (columns from the first row)."""
    rows = list(rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
