"""Blocks from the parameter server to the Dask workers (numpy and scipy.sparse inputs).

Every block is sent once per job, before the clock starts, to exactly the Dask workers whose
logical workers read it (dask.array inputs never pass through here: :mod:`._dask_arrays`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..job import Job
from ..sparse import nbytes

__all__ = ["block_support", "scatter_blocks"]


def scatter_blocks(
    client: Any, job: Job, placement: list[str], used: list[str]
) -> tuple[dict[tuple[str, int], Any], int]:
    """Every block once, on exactly the Dask workers whose logical workers read it.

    Returns ``{("a" | "b", index): future}`` and the bytes sent.
    """
    needs: dict[tuple[str, int], set[str]] = defaultdict(set)
    for w in range(job.workers):
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


def block_support(job: Job, worker: int) -> tuple[list[int], list[int]]:
    """Indices of the A and B blocks that logical worker ``worker`` reads."""
    if job.encoding.factors is not None:
        alpha, beta = job.encoding.factors[worker]
        return np.flatnonzero(alpha).tolist(), np.flatnonzero(beta).tolist()
    cells = job.encoding.support(worker)
    pairs = [job.partition.factors(int(k)) for k in cells]
    return sorted({i for i, _ in pairs}), sorted({j for _, j in pairs})



def _is_loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")
