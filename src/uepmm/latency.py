"""Worker response-time models (paper eq. 8) with the Ω scaling of Remark 1.

A model describes the base response time ``X`` of one worker through ``cdf`` and
``sample``.  Comparing schemes with different numbers of workers, the paper scales the
CDF as ``F(Ω t)`` with ``Ω = K / W`` (sub-products per worker): the response time is
then ``T = X / Ω``.  ``response_cdf`` and ``sample_response`` apply that scaling, and
``uepmm.theory`` and every backend use exactly these two methods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._validation import positive_float

__all__ = [
    "LatencyModel",
    "Exponential",
    "ShiftedExponential",
    "Pareto",
    "Weibull",
    "Trace",
    "Deterministic",
    "Schedule",
]


class LatencyModel:
    """Base class: i.i.d. response times with CDF ``F`` (paper eq. 8).

    Examples
    --------
    Every model has a CDF and draws response times; ``response_cdf`` applies the ``F(Ω t)``
    scaling of Remark 1:

    >>> import math, numpy as np, uepmm
    >>> model = uepmm.Exponential(rate=1.0)
    >>> math.isclose(float(model.response_cdf(1.0, omega=0.5)), 1 - math.exp(-0.5))
    True
    >>> times = model.sample(np.random.default_rng(0), 4)
    >>> times.shape, bool(np.all(times > 0))
    ((4,), True)
    """

    def cdf(self, t: np.ndarray | float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` unscaled response times from ``rng``."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return np.asarray(self._draw(rng, int(size)), dtype=np.float64)

    def response_cdf(self, t: np.ndarray | float, omega: float = 1.0) -> np.ndarray:
        """``F(Ω t)``: probability that one worker has answered by time ``t`` (Remark 1)."""
        omega = positive_float(omega, "omega")
        return self.cdf(np.asarray(t, dtype=np.float64) * omega)

    def sample_response(self, rng: np.random.Generator, size: int, omega: float = 1.0) -> np.ndarray:
        """Response times ``X / Ω`` whose CDF is ``F(Ω t)``."""
        omega = positive_float(omega, "omega")
        return self.sample(rng, size) / omega


@dataclass(frozen=True)
class Exponential(LatencyModel):
    """Exponential response time, ``F(t) = 1 - exp(-rate t)`` (the paper's model).

    Examples
    --------
    >>> import math, uepmm
    >>> math.isclose(float(uepmm.Exponential(rate=2.0).cdf(0.5)), 1 - math.exp(-1.0))
    True
    """

    rate: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", positive_float(self.rate, "rate"))

    def cdf(self, t):
        t = np.asarray(t, dtype=np.float64)
        return np.where(t > 0, -np.expm1(-self.rate * np.maximum(t, 0.0)), 0.0)

    def _draw(self, rng, size):
        return rng.exponential(1.0 / self.rate, size)


@dataclass(frozen=True)
class ShiftedExponential(LatencyModel):
    """``shift`` plus an exponential of rate ``rate``: a fixed compute time plus a random delay.

    Examples
    --------
    Nobody answers before the shift:

    >>> import math, uepmm
    >>> model = uepmm.ShiftedExponential(rate=1.0, shift=0.5)
    >>> float(model.cdf(0.5))
    0.0
    >>> math.isclose(float(model.cdf(1.5)), 1 - math.exp(-1.0))
    True
    """

    rate: float = 1.0
    shift: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", positive_float(self.rate, "rate"))
        object.__setattr__(self, "shift", positive_float(self.shift, "shift", allow_zero=True))

    def cdf(self, t):
        t = np.asarray(t, dtype=np.float64) - self.shift
        return np.where(t > 0, -np.expm1(-self.rate * np.maximum(t, 0.0)), 0.0)

    def _draw(self, rng, size):
        return self.shift + rng.exponential(1.0 / self.rate, size)


@dataclass(frozen=True)
class Pareto(LatencyModel):
    """Pareto (type I) response time: ``F(t) = 1 - (scale / t)^shape`` for ``t >= scale``.

    Examples
    --------
    >>> import uepmm
    >>> float(uepmm.Pareto(shape=2.0, scale=1.0).cdf(2.0))  # 1 - (1/2)^2
    0.75
    """

    shape: float = 2.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", positive_float(self.shape, "shape"))
        object.__setattr__(self, "scale", positive_float(self.scale, "scale"))

    def cdf(self, t):
        t = np.asarray(t, dtype=np.float64)
        safe = np.maximum(t, self.scale)
        return np.where(t >= self.scale, 1.0 - (self.scale / safe) ** self.shape, 0.0)

    def _draw(self, rng, size):
        return self.scale * (1.0 + rng.pareto(self.shape, size))


@dataclass(frozen=True)
class Weibull(LatencyModel):
    """Weibull response time: ``F(t) = 1 - exp(-(t / scale)^shape)``.

    Examples
    --------
    With ``shape=1`` it is the exponential of mean ``scale``:

    >>> import math, uepmm
    >>> math.isclose(float(uepmm.Weibull(shape=1.0, scale=2.0).cdf(2.0)), 1 - math.exp(-1.0))
    True
    """

    shape: float = 1.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", positive_float(self.shape, "shape"))
        object.__setattr__(self, "scale", positive_float(self.scale, "scale"))

    def cdf(self, t):
        t = np.asarray(t, dtype=np.float64)
        return np.where(t > 0, -np.expm1(-((np.maximum(t, 0.0) / self.scale) ** self.shape)), 0.0)

    def _draw(self, rng, size):
        return self.scale * rng.weibull(self.shape, size)


@dataclass(frozen=True)
class Deterministic(LatencyModel):
    """Every worker answers after exactly ``delay`` (no stragglers).

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> uepmm.Deterministic(0.3).sample(np.random.default_rng(0), 3).tolist()
    [0.3, 0.3, 0.3]
    """

    delay: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "delay", positive_float(self.delay, "delay", allow_zero=True))

    def cdf(self, t):
        return np.where(np.asarray(t, dtype=np.float64) >= self.delay, 1.0, 0.0)

    def _draw(self, rng, size):
        return np.full(size, self.delay)


@dataclass(frozen=True)
class Trace(LatencyModel):
    """Empirical model from recorded response times: resamples them, CDF is their ECDF.

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> trace = uepmm.Trace((0.5, 1.0, 2.0, 4.0))
    >>> float(trace.cdf(1.0))  # two of the four recorded times are <= 1
    0.5
    >>> draws = trace.sample(np.random.default_rng(0), 5)
    >>> bool(np.isin(draws, trace.times).all())
    True
    """

    times: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        try:
            arr = np.asarray(self.times, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise TypeError("times must be a sequence of recorded response times (numbers)") from None
        if arr.size == 0:
            raise ValueError("times is empty; give at least one recorded response time")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError("times must be finite and >= 0 (recorded response times)")
        object.__setattr__(self, "times", tuple(np.sort(arr).tolist()))

    @classmethod
    def from_file(cls, path: str) -> Trace:
        """Read response times from a text/CSV file: one number per line (a header is skipped)."""
        values: list[float] = []
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                text = line.strip().split(",")[0].strip()
                if not text or text.startswith("#"):
                    continue
                try:
                    values.append(float(text))
                except ValueError:
                    if line_no == 1:
                        continue  # header
                    raise ValueError(f"{path}:{line_no}: expected a response time, got {text!r}") from None
        return cls(tuple(values))

    def cdf(self, t):
        t = np.asarray(t, dtype=np.float64)
        sorted_times = np.asarray(self.times)
        return np.searchsorted(sorted_times, t, side="right") / sorted_times.size

    def _draw(self, rng, size):
        return rng.choice(np.asarray(self.times), size=size, replace=True)


@dataclass(frozen=True)
class Schedule(LatencyModel):
    """A fixed straggler pattern: worker ``w`` answers at ``times[w]`` in every job.

    For replaying a measured pattern and for scenarios (one slow worker, a late group).  Not
    i.i.d.: ``cdf(t)`` is the fraction of the workers that have answered by ``t``, so
    eq. 13's binomial does not describe its arrivals; use it with ``omega=1.0`` to keep the
    times as given (Ω divides them like any model's).

    Examples
    --------
    One slow worker out of three, the same in every job:

    >>> import numpy as np, uepmm
    >>> schedule = uepmm.Schedule((0.1, 0.2, 5.0))
    >>> schedule.sample(np.random.default_rng(0), 3).tolist()
    [0.1, 0.2, 5.0]
    >>> bool(np.isclose(schedule.cdf(1.0), 2 / 3))
    True
    """

    times: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        try:
            arr = np.asarray(self.times, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise TypeError("times must be a sequence of response times, one per worker") from None
        if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError("times must be one finite response time >= 0 per worker")
        object.__setattr__(self, "times", tuple(arr.tolist()))

    def cdf(self, t):
        times = np.asarray(self.times)
        return np.mean(times[:, None] <= np.atleast_1d(np.asarray(t, dtype=np.float64))[None, :], axis=0)

    def _draw(self, rng, size):
        if size > len(self.times):
            raise ValueError(f"Schedule has {len(self.times)} times but {size} workers; give one time per worker")
        return np.asarray(self.times[:size])


def paper_omega(num_products: int, workers: int) -> float:
    """Ω of Remark 1: number of sub-products divided by the number of workers."""
    if workers <= 0:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return num_products / workers


def mean_response(model: LatencyModel, omega: float = 1.0) -> float:
    """Mean of the scaled response time (numerical integral of ``1 - F``); for docs and checks."""
    from scipy import integrate

    value, _ = integrate.quad(lambda t: 1.0 - float(model.response_cdf(t, omega)), 0, math.inf, limit=200)
    return float(value)
