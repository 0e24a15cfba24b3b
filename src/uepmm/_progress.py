"""A minimal progress bar on stderr (no dependency).

On a terminal it redraws at most ten times a second; elsewhere (logs, CI) it prints only
the final line, so logs are not flooded.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, label: str, *, enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while drawing ``label [####....] i/total`` on stderr."""
    stream = sys.stderr
    interactive = enabled and hasattr(stream, "isatty") and stream.isatty()
    start = last = time.perf_counter()
    width = 30
    count = 0

    def line(i: int) -> str:
        filled = int(width * i / max(total, 1))
        return f"{label} [{'#' * filled}{'.' * (width - filled)}] {i}/{total} {time.perf_counter() - start:6.1f}s"

    for count, item in enumerate(items, 1):
        yield item
        now = time.perf_counter()
        if interactive and (now - last > 0.1 or count == total):
            stream.write("\r" + line(count))
            stream.flush()
            last = now
    if enabled:
        stream.write(("\r" if interactive else "") + line(count) + "\n")
        stream.flush()
