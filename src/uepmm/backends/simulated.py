"""The embedded default backend: a virtual clock over simulated workers.

Each worker's completion time is drawn from the job's latency model; packets are
delivered in completion order until the deadline.  ``fidelity="full"``: every delivered
packet is really computed from the blocks (the decoder then solves).  ``fidelity="fast"``:
no payloads; the parameter server decides recoverability from the coefficient rows and
fills recovered blocks with exact sub-products.  Both draw the same times and
coefficients for the same seed, so they recover the same sub-products.  With adaptive packets
(``JobSpec.adaptive``, :mod:`uepmm.adaptive`) the job holds one row and one time per packet;
``Packet.worker`` is then the packet's row and ``report["packet_workers"]`` its worker.
"""

from __future__ import annotations

from time import perf_counter
from typing import Iterator

import numpy as np

from .._validation import choice
from ..job import Job, Packet

__all__ = ["SimulatedBackend", "FIDELITIES"]

FIDELITIES = ("full", "fast")


class SimulatedBackend:
    """The embedded backend: a virtual clock over the job's drawn response times (module docstring).

    ``fidelity="full"`` computes every delivered packet; ``"fast"`` delivers rank-only packets
    (``payload=None``).

    Examples
    --------
    The packets that arrive by the deadline, in order of the drawn times:

    >>> import numpy as np, uepmm
    >>> from uepmm.backends import SimulatedBackend
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> job = uepmm.plan_job(A, B, code="mds", partition="cxr", blocks=2, workers=3, seed=0,
    ...                      latency=uepmm.Schedule((0.5, 3.0, 1.0)), omega=1.0, deadline=2.0).job
    >>> [(p.worker, p.time) for p in SimulatedBackend("full").packets(job)]
    [(0, 0.5), (2, 1.0)]
    >>> [p.payload for p in SimulatedBackend("fast").packets(job)]
    [None, None]
    """

    name = "simulated"

    def __init__(self, fidelity: str = "full"):
        self.fidelity = choice(fidelity, "fidelity", FIDELITIES)
        self.last_report: dict = {}

    def packets(self, job: Job) -> Iterator[Packet]:
        times = job.response_times()
        self.last_report = {"response_times": times.tolist(), "worker_seconds": 0.0}
        if job.packet_workers is not None:  # adaptive packets: Packet.worker is the packet's row
            self.last_report["packet_workers"] = job.packet_workers.tolist()
        for worker in np.argsort(times, kind="stable"):
            time = float(times[worker])
            if time > job.deadline:
                break
            payload = None
            if self.fidelity == "full":
                start = perf_counter()
                payload = job.compute_packet(int(worker))
                self.last_report["worker_seconds"] += perf_counter() - start
            yield Packet(int(worker), time, payload)
