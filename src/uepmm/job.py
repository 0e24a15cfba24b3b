"""A job: everything a backend needs to run one coded multiplication, and what it returns.

The parameter server builds a :class:`Job` (blocks, coefficient rows, the drawn response
times, deadline); a backend turns it into :class:`Packet` s in arrival order; the decoder
consumes those.  Data flows one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .codes import Encoding
from .partition import Partition
from .worker import coded_product, factor_product

__all__ = ["Job", "Packet"]


@dataclass(frozen=True)
class Job:
    """One coded multiplication, ready to be executed.

    ``times`` are the workers' response times in model units, drawn once by
    :func:`uepmm.draw.draw_job`, so every backend given the same job sees the same
    stragglers; ``omega`` is the ``F(Ω t)`` scaling they were drawn with (reported only).
    ``copy_times`` (codes with backup copies only): the duration of each worker's ``j``-th
    copy, from which ``times`` were derived; the Dask backend runs the copies for real.

    Examples
    --------
    A job comes from :func:`uepmm.plan_job`; worker ``w``'s packet is its coefficient row
    applied to the exact sub-products:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> job = uepmm.plan_job(A, B, code="mds", partition="cxr", blocks=2, workers=3, seed=0).job
    >>> P = job.partition.block_products(job.a_blocks, job.b_blocks)
    >>> packet = job.compute_packet(1)
    >>> bool(np.allclose(packet, np.tensordot(job.encoding.generator[1], P, axes=1)))
    True
    """

    partition: Partition
    a_blocks: list[np.ndarray]
    b_blocks: list[np.ndarray]
    encoding: Encoding
    times: np.ndarray
    deadline: float
    omega: float = 1.0
    copy_times: np.ndarray | None = None  # speculative backups: copy j of worker w lasts [j, w] (model units)
    #: adaptive packets: the worker of each packet (row); ``None``: row ``w`` is worker ``w``'s one packet
    packet_workers: np.ndarray | None = None
    #: adaptive packets chosen while the job runs (the Dask backend's pull execution): a
    #: :class:`uepmm.adaptive.LivePackets`; ``None``: none
    live: Any = None
    #: late speculation (Spark, cubed): the :class:`uepmm.codes.speculative.LateRule` that launches copies
    #: of slow tasks on a real cluster
    late_rule: Any = None
    #: ``(K,)`` importance scores of the sub-products (higher: more important), for the order of pull execution
    scores: np.ndarray | None = None

    @property
    def workers(self) -> int:
        """Rows of the encoding: the workers, or with adaptive packets the packets started."""
        return self.encoding.workers

    @property
    def capacity(self) -> int:
        """The most packets the job can deliver: its rows, or ``live.limit`` with live adaptive packets."""
        return self.encoding.workers if self.live is None else max(self.live.limit, self.encoding.workers)

    def response_times(self) -> np.ndarray:
        """Each worker's response time in model time units (a copy)."""
        return np.array(self.times, dtype=np.float64)

    def compute_packet(self, worker: int) -> np.ndarray:
        """Worker ``worker``'s coded product, computed from the blocks (locally)."""
        if self.encoding.factors is not None:
            alpha, beta = self.encoding.factors[worker]
            return factor_product(self.a_blocks, self.b_blocks, alpha, beta)
        return coded_product(
            self.partition.kind, self.a_blocks, self.b_blocks, self.partition.grid, self.encoding.generator[worker]
        )


@dataclass(frozen=True)
class Packet:
    """One worker's answer as the parameter server sees it.

    ``payload`` is ``None`` for a rank-only (``fast``) simulation, and for an erasure
    (``status`` other than ``"ok"``: the worker died, raised, or sent a wrong packet).
    ``time`` is in the latency model's units (simulated) or seconds (real clusters).
    ``row``: the packet's coefficient row when it is not row ``worker`` of the job's encoding
    (a packet chosen while the job ran, or a lost packet sent again: Dask pull execution).

    Examples
    --------
    A backend yields packets in arrival order:

    >>> import numpy as np, uepmm
    >>> from uepmm.backends import SimulatedBackend
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> job = uepmm.plan_job(A, B, code="mds", partition="cxr", blocks=2, workers=3, seed=0).job
    >>> packets = list(SimulatedBackend("full").packets(job))
    >>> [p.status for p in packets]
    ['ok', 'ok', 'ok']
    >>> times = [p.time for p in packets]
    >>> times == sorted(times) and packets[0].payload.shape == (6, 5)
    True
    """

    worker: int
    time: float
    payload: np.ndarray | None
    status: str = "ok"
    row: np.ndarray | None = None
