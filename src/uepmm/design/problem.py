"""The design problem: the arguments of :func:`uepmm.design.design_gamma` checked and combined.

The deadlines and their weights become one arrival distribution ``P(N = n)``, ``n = 0..W``
(eq. 13 under the latency model and Ω, mixed over the deadlines with their weights), which
is all that the objectives need of the time axis.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._validation import choice, int_sequence, positive_float, positive_int
from ..codes import Code, make_code
from ..importance import ClassTable
from ..latency import LatencyModel

__all__ = ["DECODERS", "DESIGN_CODES", "PARTITIONS"]

# uepmm.theory (which needs scipy.stats) is imported where it is used: ``import uepmm`` loads
# this package and stays as light as it was without it (scipy.stats also builds array-API
# helpers at import that trip over a stubbed-out torch).

#: Partitionings (as uepmm.theory.PARTITIONS).
PARTITIONS = ("rxc", "cxr")
#: Codes whose window probabilities can be designed.
DESIGN_CODES = ("now", "ew")
#: Cost models of the design (as uepmm.spec.COSTS).
COSTS = ("equal", "work")
#: ``zero``: recovered sub-products in place, zeros elsewhere (the paper); ``lmmse``: docs/design.md §5.
DECODERS = ("zero", "lmmse")


@dataclass(frozen=True)
class _Problem:
    code: str
    k: tuple[int, ...]
    energy: np.ndarray  # per class
    workers: int
    arrivals: np.ndarray  # P(N = n), n = 0..W, mixed over the deadlines with their weights
    partition: str
    decoder: str
    deadlines: tuple[float, ...]
    weights: tuple[float, ...]
    trials: int
    seed: int
    latency: LatencyModel
    omega: float
    # cost="work" (uepmm.design.work): F_{s_l}(t_d) per deadline and window, F_{s_mds}(t_d)
    cost: str = "equal"
    work: tuple[int, ...] | None = None
    mds_work: int | None = None
    window_cdf: np.ndarray | None = None  # (D, L)
    mds_cdf: np.ndarray | None = None  # (D,)
    # each sub-product's energy in class order (the LMMSE Monte Carlo's prior); None: each class's repeated
    product_energy: np.ndarray | None = None

    @property
    def total(self) -> float:
        return float(np.dot(self.k, self.energy))

    @property
    def code_object(self) -> Code:
        """The code being designed (the objectives ask it, e.g. :attr:`~uepmm.codes.Code.expanding`)."""
        return make_code(self.code)


def _class_energy(value: object, L: int) -> np.ndarray:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"class_energy must be a sequence of {L} positive numbers (one per class), got {value!r}")
    try:
        e = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"class_energy must be a sequence of {L} positive numbers (one per class), got {value!r}"
        ) from None
    if e.ndim != 1:
        raise ValueError(f"class_energy must be 1-D (one energy per class), got shape {e.shape}")
    if e.size != L:
        raise ValueError(
            f"class_energy has {e.size} entries but k has {L} classes; give one per-sub-product "
            f"energy E||P_k||_F^2 per class, e.g. class_energy=(40, 1, 0.07) for k=(3, 3, 3)"
        )
    if not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(
            f"class_energy entries must be finite and > 0, got {e.tolist()}; a class of zero "
            f"energy needs no protection: leave its sub-products out of k"
        )
    return e


def _deadlines(value: object) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"deadline must be a positive number or a sequence of them, got {value!r}")
    items = (value,) if isinstance(value, numbers.Real) else value
    try:
        items = tuple(items)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"deadline must be a positive number or a sequence of them, got {value!r}") from None
    if not items:
        raise ValueError("deadline is empty; give at least one deadline T > 0")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise TypeError(f"deadline must be a positive number or a sequence of them, got entry {item!r}")
        t = float(item)
        if not math.isfinite(t) or t <= 0:
            raise ValueError(f"deadline must be finite and > 0 (the time at which the PS decodes), got {t}")
        out.append(t)
    return tuple(out)


def _weights(value: object, count: int) -> tuple[float, ...]:
    if value is None:
        return (1.0 / count,) * count
    if isinstance(value, (str, bytes)):
        raise TypeError(f"weights must be a sequence of {count} non-negative numbers (one per deadline), got {value!r}")
    items = (value,) if isinstance(value, numbers.Real) else value
    try:
        w = np.asarray(tuple(items), dtype=np.float64)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(
            f"weights must be a sequence of {count} non-negative numbers (one per deadline), got {value!r}"
        ) from None
    if w.ndim != 1 or w.size != count:
        raise ValueError(
            f"weights has {w.size} entries but there are {count} deadlines; give one weight per "
            f"deadline (or omit weights for equal weights)"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError(f"weights must be finite, >= 0 and not all zero, got {w.tolist()}")
    return tuple((w / w.sum()).tolist())


def _works(
    code: str, k: tuple[int, ...], partition: str, work: object, mds_work: object
) -> tuple[tuple[int, ...], int]:
    """The window works and the MDS work of ``cost="work"`` (defaults: c×r window sizes and ``K``)."""
    L, K = len(k), sum(k)
    masks = make_code(code).window_masks(ClassTable(tuple(level for level, size in enumerate(k) for _ in range(size))))
    if work is None:
        if partition == "rxc":
            raise ValueError(
                "cost='work' with partition 'rxc' needs work=(s_1, ..., s_L), the rank of each window's N x P "
                "coefficient pattern (CLI: --work S1,S2,...); "
                "uepmm.design.window_work(code, classes, 'rxc', grid) computes it"
            )
        work = tuple(int(mask.sum()) for mask in masks)  # the window sizes
    s = int_sequence(work, "work")
    if len(s) != L:
        raise ValueError(f"work has {len(s)} entries but k has {L} classes; give the block products of each window")
    if mds_work is None:
        if partition == "cxr":
            mds_work = K
        elif masks[-1].all():
            mds_work = s[-1]  # the last window holds every sub-product (EW), as an MDS packet
        else:
            raise ValueError(
                "cost='work' with code 'now' and partition 'rxc' needs mds_work=min(N, P) (the block products of "
                "an MDS packet, for the MDS reference; CLI: --mds-work); uepmm.design.window_work returns it"
            )
    return s, positive_int(mds_work, "mds_work")


def _product_energy(value: object, k: tuple[int, ...], class_energy: np.ndarray) -> np.ndarray | None:
    """Each sub-product's energy in class order; the class means must be ``class_energy``."""
    if value is None:
        return None
    e = np.asarray(value, dtype=np.float64)
    K = sum(k)
    if e.shape != (K,) or not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(f"product_energy must be {K} finite energies > 0, one per sub-product in class order "
                         f"(class 1's first), got shape {e.shape}")
    means = np.add.reduceat(e, np.cumsum((0, *k[:-1]))) / np.asarray(k)
    if not np.allclose(means, class_energy, rtol=1e-9, atol=0.0):
        raise ValueError(f"product_energy's class means {means.tolist()} differ from class_energy "
                         f"{class_energy.tolist()}: give class_energy as the mean of each class's sub-products")
    return e


def _problem(
    code, k, class_energy, workers, latency, deadline, omega, partition, decoder, weights, trials, seed,
    cost="equal", work=None, mds_work=None, product_energy=None,
) -> _Problem:
    code = choice(code, "code", DESIGN_CODES)
    decoder = choice(decoder, "decoder", DECODERS)
    partition = choice(partition, "partition", PARTITIONS)
    k = int_sequence(k, "k")
    energy = _class_energy(class_energy, len(k))
    products = _product_energy(product_energy, k, energy)
    workers = positive_int(workers, "workers")
    if not isinstance(latency, LatencyModel):
        raise TypeError(
            f"latency must be a uepmm.latency.LatencyModel (e.g. uepmm.Exponential(1.0)), got {type(latency).__name__}"
        )
    deadlines = _deadlines(deadline)
    w = _weights(weights, len(deadlines))
    omega = sum(k) / workers if omega is None else positive_float(omega, "omega")
    trials = positive_int(trials, "trials")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be a non-negative integer (the Monte Carlo draws are fixed by it), got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer (the Monte Carlo draws are fixed by it), got {seed}")
    cost = choice(cost, "cost", COSTS)
    from .. import theory

    arrivals = np.asarray(w) @ theory.arrival_distribution(latency, deadlines, workers, omega)
    if cost == "equal":
        if work is not None or mds_work is not None:
            raise ValueError(
                "work and mds_work only apply with cost='work' (under cost='equal' every packet costs one)"
            )
        return _Problem(
            code, k, energy, workers, arrivals, partition, decoder, deadlines, w, trials, int(seed), latency, omega,
            product_energy=products,
        )
    from .work import work_cdfs

    s, s_mds = _works(code, k, partition, work, mds_work)
    F = work_cdfs(latency, (*s, s_mds), deadlines, omega, int(seed))
    return _Problem(
        code, k, energy, workers, arrivals, partition, decoder, deadlines, w, trials, int(seed), latency, omega,
        cost, s, s_mds, F[:, :-1], F[:, -1], products,
    )
