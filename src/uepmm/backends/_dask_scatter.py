"""Blocks from the parameter server to the Dask workers (numpy and scipy.sparse inputs).

Every block is sent once per job, before the clock starts, to exactly the Dask workers whose
logical workers read it (dask.array inputs never pass through here: :mod:`._dask_arrays`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from ..job import Job
from ..sparse import nbytes

__all__ = ["block_support", "row_blocks", "scatter_blocks", "scatter_and_submit"]

_log = logging.getLogger("uepmm.backends.dask")


def scatter_blocks(
    client: Any, job: Job, placement: list[str], used: list[str], only: str | None = None
) -> tuple[dict[tuple[str, int], Any], int]:
    """Every block once, on exactly the Dask workers whose logical workers read it.

    Returns ``{("a" | "b", index): future}`` and the bytes sent (``only``: to that Dask worker alone).
    """
    needs: dict[tuple[str, int], set[str]] = defaultdict(set)
    for w in range(job.workers):
        if only is not None and placement[w] != only:
            continue
        a_idx, b_idx = block_support(job, w)
        for i in a_idx:
            needs[("a", i)].add(placement[w])
        for j in b_idx:
            needs[("b", j)].add(placement[w])
    by_destination: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for block, dests in needs.items():
        by_destination[tuple(sorted(dests))].append(block)
    refs: dict[tuple[str, int], Any] = {}
    scatter_bytes = 0
    # straight from this process to the workers when they are on this machine (saves the
    # relay through the scheduler); otherwise Dask's own choice
    direct = True if all(_is_loopback(addr) for addr in used) else None
    for dests, blocks in by_destination.items():
        data = [job.a_blocks[i] if side == "a" else job.b_blocks[i] for side, i in blocks]
        scatter_bytes += sum(nbytes(d) for d in data) * len(dests)
        placed = client.scatter(data, workers=list(dests), broadcast=len(dests) > 1, hash=False, direct=direct)
        refs.update(zip(blocks, placed))
    return refs, scatter_bytes


def scatter_and_submit(
    client: Any, job: Job, placement: list[str], used: list[str], submit: Callable[[str, dict], list],
    arrivals: Any,
) -> dict[str, Any]:
    """A job without a start line: per Dask worker, in a thread of its own, its blocks go there and
    its tasks are submitted as soon as they are there, so a slow Dask worker holds up its own
    tasks only.  ``submit(address, refs)`` returns that worker's task futures; each goes to
    ``arrivals.add`` (a failed scatter to ``arrivals.fail``).  Returns the shared record
    ``{"futures", "blocks", "bytes", "seconds"}``, filled in as the threads go (returns at once).
    """
    record: dict[str, Any] = {"futures": [], "blocks": [], "bytes": 0, "seconds": {}}
    lock = threading.Lock()

    def one(addr: str) -> None:
        t = time.perf_counter()
        try:
            refs, sent = scatter_blocks(client, job, placement, used, only=addr)
            with lock:
                record["blocks"].extend(refs.values())
                record["bytes"] += sent
                record["seconds"][addr] = time.perf_counter() - t
            futures = submit(addr, refs)
        except Exception as exc:  # noqa: BLE001 (its tasks become erasures; the job goes on)
            _log.debug("scatter to %s failed", addr, exc_info=True)
            arrivals.fail(addr, exc)
            return
        with lock:
            record["futures"].extend(futures)
        for future in futures:
            arrivals.add(future)

    for addr in used:
        threading.Thread(target=one, args=(addr,), name=f"uepmm-scatter-{addr}", daemon=True).start()
    return record


def block_support(job: Job, worker: int) -> tuple[list[int], list[int]]:
    """Indices of the A and B blocks that logical worker ``worker`` reads."""
    factors = job.encoding.factors
    return row_blocks(job.partition, job.encoding.generator[worker], None if factors is None else factors[worker])


def row_blocks(partition: Any, row: np.ndarray, pair: Any = None) -> tuple[list[int], list[int]]:
    """Indices of the A and B blocks a packet with coefficient ``row`` (or factor ``pair``) reads."""
    if pair is not None:
        alpha, beta = pair
        return np.flatnonzero(alpha).tolist(), np.flatnonzero(beta).tolist()
    pairs = [partition.factors(int(k)) for k in np.flatnonzero(row)]
    return sorted({i for i, _ in pairs}), sorted({j for _, j in pairs})



def _is_loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")
