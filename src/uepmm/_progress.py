"""A minimal progress bar on stderr (no dependency), silent when not a terminal unless forced."""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, label: str, *, enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while drawing ``label [####....] i/total`` on stderr."""
    stream = sys.stderr
    start = time.perf_counter()
    width = 30
    for i, item in enumerate(items, 1):
        yield item
        if enabled:
            filled = int(width * i / max(total, 1))
            elapsed = time.perf_counter() - start
            stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {i}/{total} {elapsed:6.1f}s")
            stream.flush()
    if enabled:
        stream.write("\n")
        stream.flush()
