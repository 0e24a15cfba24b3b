"""``gamma="auto"``: the parameter server designs ``Γ`` for each job from its own estimates.

At planning time the PS knows the class table and, from the block norms, every
sub-product's energy (:func:`uepmm.importance.sub_product_energies`).  :func:`auto_code`
turns the class means of those energies, the job's workers, latency, ``Ω``, deadline and
cost model into :func:`uepmm.design.design_gamma`'s ``Γ`` and returns the NOW/EW code with it.
With ``cost="work"`` the design uses each window's work in this job's layout
(:func:`uepmm.design.window_work`: c×r the window's size, r×c the rank of its pattern;
one for the factor form), so the cache key holds the cost and those works.

Designs are cached on a key, :func:`energy_key`: the class energies relative to the
largest, rounded to :data:`AUTO_RESOLUTION` decades, ratios below ``10**AUTO_FLOOR = 1e-12``
(empty classes) counting as that floor (the objective depends only on the ratios).  So the
``Γ`` used for a job is the design for class energy ratios each within
``AUTO_RESOLUTION / 2 = 0.125`` decades of the job's own; it is redesigned when a ratio
leaves its quarter-decade cell.  (A higher floor, ``1e-3``, saved a third of the designs of
a training run but raised a late deadline's loss 28-fold where a class was below it:
docs/design-gamma.md.)  The key is a function of the
job's energies alone, never of the jobs before it: a training run draws the same whatever
the cache holds (resumed, repeated, or next to other runs in one process).  A training run's energies move step after
step; it designs a few dozen times, mostly in its first hundred steps, and every other
product is a cache hit of some tens of microseconds (docs/design-gamma.md, "The design cache
of gamma="auto"", has the measurements).  The LMMSE objective uses :data:`AUTO_TRIALS`
Monte Carlo draws (fewer than the CLI's default) to stay fast.

Designs made ahead (``auto_code(..., ahead=True)``; training with ``uepmm.nn.lean.AHEAD = True``):
when a class energy ratio is within :data:`AHEAD_MARGIN` decades of its cell's edge, the design of
the cell across (and of the corners, for several such ratios) is sent to a worker process
(``fork``; none on platforms without it), at most :data:`AHEAD_PENDING` at a time.  A product whose
cell was sent takes that design, waiting for it if it is still running; the design is
:func:`_design` of the same key either way, so what a product gets never depends on it.  It moves
designs off the step, not out of the run: measured, it spends more CPU in the worker than it saves
the step, and it is off by default (docs/design-gamma.md).

Without a deadline (``deadline=inf``) ``Γ`` is designed for all ``W`` packets arriving
(:data:`ALL_ARRIVE`): :func:`auto_code`.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ..codes import Code
from ..importance import ClassTable
from ..latency import Deterministic
from .work import window_work, work_cdfs

__all__ = ["auto_code", "class_energies", "energy_key", "AUTO_TRIALS", "AUTO_RESOLUTION", "AUTO_FLOOR"]

#: Monte Carlo draws of the LMMSE objective (EW) in a per-job design.
AUTO_TRIALS = 400
#: Resolution of the cache key: class energies relative to the largest, in steps of this many decades.
AUTO_RESOLUTION = 0.25
#: Floor of the cache key, in decades: a class energy below ``10**AUTO_FLOOR`` of the largest counts as that
#: (as :func:`class_energies` floors them).
AUTO_FLOOR = -12.0
#: Designs kept (one per key; a training run visits a few dozen keys per configuration).
AUTO_CACHE_SIZE = 4096
#: ``(latency, deadline, Ω)`` of the design for ``deadline=inf``: every packet has answered by the deadline
#: (``Deterministic(0.5)`` answers at 0.5; the arrival distribution is a point mass at ``W``).
ALL_ARRIVE = (Deterministic(0.5), 1.0, 1.0)
#: ``auto_code(..., ahead=True)``: a class energy ratio this many decades or less from the edge of its key
#: cell sends the design of the cell across that edge to the worker process.
AHEAD_MARGIN = 0.05
#: Designs sent ahead and not yet received, at most.
AHEAD_PENDING = 4


def class_energies(energies: np.ndarray, classes: ClassTable) -> np.ndarray:
    """Mean sub-product energy of every class, floored at ``1e-12`` of the largest (the design needs ``> 0``)."""
    cls = classes.as_array()
    _, counts = _counts(classes)
    means = np.bincount(cls, weights=energies, minlength=counts.size) / counts
    top = float(means.max()) if means.size and means.max() > 0 else 1.0
    return np.maximum(means, 1e-12 * top)


def auto_code(spec, classes: ClassTable, energies: np.ndarray, *, ahead: bool = False) -> Code:
    """The spec's NOW/EW code with ``Γ`` designed for this job (``spec.gamma == "auto"``); a code
    with its own ``designed(classes, energies, workers, arrival)`` (ew-matdot, one block product per
    packet) designs itself from the probability that a packet has arrived by the deadline.

    Without a deadline (``deadline=inf``: every one of the ``W`` packets arrives) ``Γ`` is designed for
    exactly that: the least expected loss given all ``W`` packets (the same objective, with an arrival
    distribution that is a point mass at ``W``: :data:`ALL_ARRIVE`), whatever the latency model and cost
    (ew-matdot: its design with arrival probability 1).  Windows draw their packets at random, so that
    is not exact in general (one class per sub-product: a window may get no packet among the ``W``),
    but it is the best ``Γ`` for it; where some ``Γ`` recovers everything from ``W`` packets (EW whose
    last window needs fewer than ``W``) the design finds one (docs/design-gamma.md, "gamma='auto'
    without a deadline").  With a finite deadline and no latency model, or a deadline ``<= 0``, there is
    nothing to design for: the code's default (Table III for three classes, else uniform).
    """
    code = spec.code_object
    counts, _ = _counts(classes)
    L = len(counts)
    every = not math.isfinite(spec.deadline)  # every packet arrives
    if L == 1 or (not every and (spec.latency is None or spec.deadline <= 0)):
        gamma = None if L == 3 else tuple([1.0 / L] * L)
        return type(code)(gamma)
    designed = getattr(code, "designed", None)
    if designed is not None:  # a code with its own exact design (ew-matdot): from one packet's arrival probability
        arrival = 1.0 if every else float(
            work_cdfs(spec.latency, [1], [float(spec.deadline)], spec.omega_value, seed=0)[0, 0])
        return designed(classes, energies, spec.workers, arrival)
    means = class_energies(np.asarray(energies, dtype=np.float64), classes)
    key = energy_key(means)
    decoder = "lmmse" if spec.decoder_object.needs_energies else "zero"
    work = mds_work = None
    if spec.cost == "work":  # the windows' own work (the factor form costs one product per packet)
        if spec.encoding == "factor":
            work, mds_work = (1,) * L, 1
        else:
            work, mds_work = window_work(code.name, classes, spec.partition, spec.grid)
    if every:  # the arrivals are all W packets, whatever their work: one design for every latency and cost
        rest = (spec.workers, *ALL_ARRIVE, spec.partition, decoder, "equal", None, None)
    else:
        rest = (spec.workers, spec.latency, float(spec.deadline), spec.omega_value, spec.partition, decoder,
                spec.cost, work, mds_work)
    gamma = _designed(code.name, counts, key, *rest)
    if ahead:
        _designed.ahead((code.name, counts, near, *rest) for near in neighbour_keys(means))
    return type(code)(gamma)


def neighbour_keys(means: np.ndarray, margin: float | None = None) -> list[tuple[float, ...]]:
    """The keys (as :func:`energy_key`) of the cells across the edges that the class energy ratios are within
    ``margin`` decades of (default :data:`AHEAD_MARGIN`): one per non-empty set of such edges.

    A ratio at the largest class or at the floor has no edge counted (the largest stays 1; below the
    floor every ratio is the floor).
    """
    margin = AHEAD_MARGIN if margin is None else margin
    top = max(means)
    step, floor = AUTO_RESOLUTION, AUTO_FLOOR
    x = [math.log10(m / top) / step if m > 0.0 else -math.inf for m in means.tolist()]
    steps = [round(v) if math.isfinite(v) else None for v in x]
    moves = []
    for i, (m, v, s) in enumerate(zip(means.tolist(), x, steps)):
        if s is None or m == top or s * step <= floor:
            continue
        if v - s >= 0.5 - margin / step:
            moves.append((i, s + 1))
        elif v - s <= -0.5 + margin / step:
            moves.append((i, s - 1))
    keys = []
    for r in range(1, len(moves) + 1):
        for chosen in itertools.combinations(moves, r):
            moved = list(steps)
            for i, s in chosen:
                moved[i] = s
            keys.append(tuple(10.0 ** max(s * step, floor) if s is not None else 10.0**floor for s in moved))
    return keys


@functools.lru_cache(maxsize=4096)
def _counts(classes: ClassTable) -> tuple[tuple[int, ...], np.ndarray]:
    """``classes.counts``, and as a read-only float array (cached: a layer sees few class tables)."""
    counts = classes.counts
    array = np.asarray(counts, dtype=np.float64)
    array.flags.writeable = False
    return counts, array


def energy_key(means: np.ndarray) -> tuple[float, ...]:
    """The class energies the design is made for: relative to the largest, rounded to
    :data:`AUTO_RESOLUTION` decades, those below :data:`AUTO_FLOOR` raised to it.

    Every class's ratio to the largest differs from the key's by at most half a step
    (``AUTO_RESOLUTION / 2`` decades), except that ratios below the floor count as the floor.
    """
    top = max(means)
    step, floor = AUTO_RESOLUTION, AUTO_FLOOR
    # plain floats: a few microseconds per product on the training path
    steps = [round(math.log10(m / top) / step) if m > 0.0 else -math.inf for m in means.tolist()]
    return tuple(10.0 ** max(s * step, floor) for s in steps)


def _design(code, counts, energies, workers, latency, deadline, omega, partition, decoder, cost="equal",
            work=None, mds_work=None) -> tuple[float, ...]:
    """The design for one key (a pure function of its arguments: the same Γ in any process)."""
    from .gamma import design_gamma

    design = design_gamma(code, counts, energies, workers, latency, deadline, omega=omega, partition=partition,
                          decoder=decoder, trials=AUTO_TRIALS, cost=cost, work=work, mds_work=mds_work)
    return tuple(float(g) for g in design.gamma)


class _CacheInfo(NamedTuple):
    hits: int
    misses: int  # keys not in the cache when asked for (designed here, or taken from the designs made ahead)
    maxsize: int
    currsize: int
    ahead: int  # of the misses, served by a design made ahead (finished, or waited for)
    waited: int  # of those, still running when asked for (the step waited for the rest)
    speculative: int  # designs sent ahead


class _DesignCache:
    """The designs by key (least recently used out past :data:`AUTO_CACHE_SIZE`), and the designs made ahead.

    ``cache(*key)`` is the key's Γ: from the cache, else from a design made ahead for it (waiting for
    it if it is still running), else designed here.  :meth:`ahead` sends keys to a worker process
    (:class:`_AheadWorker`); whichever way a design is made, it is :func:`_design` of the key, so what a
    product gets never depends on what was made ahead or when.
    """

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._data: OrderedDict[tuple, tuple[float, ...]] = OrderedDict()
        self._worker: _AheadWorker | None = None
        self._counts = dict(hits=0, misses=0, ahead=0, waited=0, speculative=0)

    def __call__(self, *key) -> tuple[float, ...]:
        gamma = self._data.get(key)
        if gamma is not None:
            self._data.move_to_end(key)
            self._counts["hits"] += 1
            return gamma
        self._counts["misses"] += 1
        gamma, waited = self._worker.take(key) if self._worker is not None else (None, False)
        if gamma is None:
            gamma = _design(*key)
        else:
            self._counts["ahead"] += 1
            self._counts["waited"] += waited
        self._store(key, gamma)
        return gamma

    def _store(self, key: tuple, gamma: tuple[float, ...]) -> None:
        self._data[key] = gamma
        if len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def ahead(self, keys) -> None:
        """Design ``keys`` (not cached, not yet sent) in the worker process, at most :data:`AHEAD_PENDING` at a time."""
        if self._worker is None:
            self._worker = _AheadWorker.start()
            if self._worker is None:  # no worker on this platform: designs are made when asked for
                return
        for key in keys:
            if key not in self._data and self._worker.send(key):
                self._counts["speculative"] += 1

    def cache_info(self) -> _CacheInfo:
        return _CacheInfo(self._counts["hits"], self._counts["misses"], self.maxsize, len(self._data),
                          self._counts["ahead"], self._counts["waited"], self._counts["speculative"])

    def cache_clear(self) -> None:
        """Empty the cache, forget the designs in flight (their results are dropped) and zero the counts."""
        self._data.clear()
        if self._worker is not None:
            self._worker.forget()
        self._counts = dict.fromkeys(self._counts, 0)


class _AheadWorker:
    """A daemon worker process (``fork``) that runs :func:`_design` on the keys sent to it, in order."""

    def __init__(self, process, inbox, outbox):
        self.process, self.inbox, self.outbox = process, inbox, outbox
        self.pending: set[tuple] = set()  # sent, result not received yet
        self.stale: set[tuple] = set()  # pending when the cache was cleared: dropped on arrival
        self.ready: dict[tuple, tuple[float, ...] | None] = {}

    @classmethod
    def start(cls) -> _AheadWorker | None:
        import multiprocessing

        if "fork" not in multiprocessing.get_all_start_methods():  # spawn would re-run the user's script
            return None
        ctx = multiprocessing.get_context("fork")
        inbox, outbox = ctx.SimpleQueue(), ctx.SimpleQueue()
        process = ctx.Process(target=_ahead_loop, args=(inbox, outbox), name="uepmm-design-ahead", daemon=True)
        process.start()
        return cls(process, inbox, outbox)

    def send(self, key: tuple) -> bool:
        self._drain()
        if (key in self.pending or key in self.ready or len(self.pending - self.stale) >= AHEAD_PENDING
                or not self.process.is_alive()):
            return False
        self.pending.add(key)
        self.inbox.put(key)
        return True

    def take(self, key: tuple) -> tuple[tuple[float, ...] | None, bool]:
        """The key's Γ if it was sent (waiting for it if needed) and whether it was still running;
        ``(None, ...)`` if it was not sent, failed, or the worker is gone."""
        self._drain()
        waited = key in self.pending
        while key in self.pending and self.process.is_alive():
            self._receive(self.outbox.get())
        return self.ready.pop(key, None), waited

    def forget(self) -> None:
        self._drain()
        self.ready.clear()
        self.stale |= self.pending

    def _drain(self) -> None:
        while not self.outbox.empty():
            self._receive(self.outbox.get())

    def _receive(self, item) -> None:
        key, gamma = item
        self.pending.discard(key)
        if key in self.stale:
            self.stale.discard(key)
        else:
            self.ready[key] = gamma


def _ahead_loop(inbox, outbox) -> None:
    """The worker process: design every key received; ``None`` for a key whose design failed."""
    while True:
        key = inbox.get()
        try:
            gamma = _design(*key)
        except Exception:  # the asking process designs it itself and sees the error there
            gamma = None
        outbox.put((key, gamma))


#: The design cache of :func:`auto_code` (``_designed.cache_info()``, ``_designed.cache_clear()``).
_designed = _DesignCache(AUTO_CACHE_SIZE)
