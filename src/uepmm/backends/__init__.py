"""Backends execute a :class:`~uepmm.job.Job` and yield packets in arrival order.

A backend is any object with ``name`` and ``packets(job) -> Iterator[Packet]``; the
iterator stops at the job's deadline.
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol

from .._validation import choice
from ..job import Job, Packet
from .simulated import SimulatedBackend

__all__ = ["Backend", "SimulatedBackend", "make_backend", "BACKENDS"]

BACKENDS = ("simulated", "dask")


class Backend(Protocol):
    name: str

    def packets(self, job: Job) -> Iterator[Packet]: ...


def make_backend(backend: str | Backend, fidelity: str, **options: Any) -> Backend:
    """A backend from its name (or the object itself) and its options."""
    if not isinstance(backend, str):
        if options:
            raise TypeError(
                f"options {sorted(options)} are for backends given by name; configure the backend object instead"
            )
        return backend
    name = choice(backend, "backend", BACKENDS)
    if name == "simulated":
        if options:
            raise TypeError(
                f"backend 'simulated' takes no options {sorted(options)}; "
                f"client/address/time_unit are for backend='dask'"
            )
        return SimulatedBackend(fidelity)
    from .dask import DaskBackend  # optional dependency, imported on demand

    if fidelity != "full":
        raise ValueError("backend 'dask' computes real packets: use fidelity='full'")
    return DaskBackend(**options)
