"""A job: everything a backend needs to run one coded multiplication, and what it returns.

The parameter server builds a :class:`Job` (blocks, coefficient rows, latency model,
deadline); a backend turns it into :class:`Packet` s in arrival order; the decoder
consumes those.  Data flows one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .codes import Encoding
from .latency import LatencyModel
from .partition import Partition
from .worker import coded_product, factor_product

__all__ = ["Job", "Packet"]


@dataclass(frozen=True)
class Job:
    """One coded multiplication, ready to be executed.

    ``latency_seed`` seeds the response-time draws, so every backend given the same job
    draws the same per-worker delays (``latency.sample_response(rng, W, omega)``);
    ``drawn_times``, when given, are those delays already drawn (and ``latency_seed`` is unused).
    """

    partition: Partition
    a_blocks: list[np.ndarray]
    b_blocks: list[np.ndarray]
    encoding: Encoding
    latency: LatencyModel | None
    omega: float
    deadline: float
    latency_seed: np.random.SeedSequence | None = field(default_factory=np.random.SeedSequence)
    drawn_times: np.ndarray | None = None

    @property
    def workers(self) -> int:
        return self.encoding.workers

    def response_times(self) -> np.ndarray:
        """Each worker's response time in model time units (zeros without a latency model)."""
        if self.latency is None:
            return np.zeros(self.workers)
        if self.drawn_times is not None:
            return self.drawn_times.copy()
        rng = np.random.default_rng(self.latency_seed)
        return self.latency.sample_response(rng, self.workers, self.omega)

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
    """

    worker: int
    time: float
    payload: np.ndarray | None
    status: str = "ok"
