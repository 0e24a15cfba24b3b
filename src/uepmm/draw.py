"""One draw of a job: the response times, then the code's coefficient rows.

:func:`draw_job` is the one place a job's randomness is drawn, for :func:`uepmm.plan_job`
(hence :func:`uepmm.coded_matmul` on every backend), the figure Monte Carlo and the lean
training path.  The streams come from :func:`uepmm.streams.job_streams`; with one
``Generator`` the times are drawn first, then the code (docs/design.md, "Streams").
The two halves are public too (:func:`draw_response_times`, :func:`draw_encoding`) for
the training path, which skips the code draw when no packet arrives by the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .codes import Code, Encoding, to_factor_form
from .importance import ClassTable
from .partition import Partition
from .spec import JobSpec
from .streams import JobStreams, SeedLike, job_streams

__all__ = ["JobDraw", "draw_job", "draw_response_times", "draw_encoding"]


@dataclass(frozen=True)
class JobDraw:
    """The random part of a job: each worker's response time and coefficient row."""

    times: np.ndarray  # (W,), in the latency model's unit
    encoding: Encoding

    @property
    def generator(self) -> np.ndarray:
        """The ``(W, K)`` coefficient rows."""
        return self.encoding.generator


def draw_response_times(spec: JobSpec, rng: np.random.Generator) -> np.ndarray:
    """Every worker's response time ``X / Ω`` (zeros without a latency model)."""
    if spec.latency is None:
        return np.zeros(spec.workers)
    return spec.latency.sample(rng, spec.workers) / spec.omega_value


def draw_encoding(
    spec: JobSpec,
    classes: ClassTable,
    rng: np.random.Generator,
    partition: Partition | None = None,
    code: Code | None = None,
) -> Encoding:
    """The code's coefficient rows for ``classes`` (eq. 11's factor form re-drawn from the
    same stream when ``spec.encoding == "factor"``, which needs the ``partition``).
    ``code`` replaces the spec's (``gamma="auto"``: the code with the designed ``Γ``)."""
    encoding = (code or spec.code_object).encode(classes, spec.workers, rng)
    if spec.encoding == "factor":
        if partition is None:
            raise ValueError("encoding='factor' needs the partition to check its windows; pass partition=")
        encoding = to_factor_form(encoding, partition, rng)
    return encoding


def draw_job(
    spec: JobSpec,
    classes: ClassTable | None = None,
    seed: SeedLike | JobStreams = None,
    partition: Partition | None = None,
    code: Code | None = None,
) -> JobDraw:
    """Response times, then coefficient rows, from ``seed`` (``classes`` default: the spec's).

    ``seed`` is anything :func:`uepmm.streams.job_streams` takes, or streams already made.
    """
    streams = seed if isinstance(seed, JobStreams) else job_streams(seed)
    times = draw_response_times(spec, streams.times)
    encoding = draw_encoding(spec, spec.uniform_classes if classes is None else classes, streams.code, partition, code)
    return JobDraw(times, encoding)
