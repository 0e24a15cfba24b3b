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
    """What a backend is: a ``name`` and ``packets(job)``, the packets in arrival order up to the deadline.

    Examples
    --------
    Any object with these two members is a backend; :func:`uepmm.coded_matmul` accepts it as
    ``backend=``.  This one delivers every packet at once, ignoring the response times:

    >>> import numpy as np, uepmm
    >>> from uepmm.job import Packet
    >>> class Instant:
    ...     name = "instant"
    ...     def packets(self, job):
    ...         for w in range(job.encoding.workers):
    ...             yield Packet(w, 0.0, job.compute_packet(w))
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> res = uepmm.coded_matmul(A, B, code="mds", partition="cxr", blocks=2, workers=3,
    ...                          backend=Instant(), seed=0)
    >>> bool(np.allclose(res.estimate, A @ B))
    True
    """

    name: str

    def packets(self, job: Job) -> Iterator[Packet]: ...


def make_backend(backend: str | Backend, fidelity: str, **options: Any) -> Backend:
    """A backend from its name (or the object itself) and its options.

    Examples
    --------
    >>> from uepmm.backends import make_backend
    >>> make_backend("simulated", "fast").fidelity
    'fast'
    >>> make_backend("dask", "fast")
    Traceback (most recent call last):
    ...
    ValueError: backend 'dask' computes real packets: use fidelity='full'
    """
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
