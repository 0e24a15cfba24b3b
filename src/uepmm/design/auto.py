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
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..codes import Code
from ..importance import ClassTable
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


def class_energies(energies: np.ndarray, classes: ClassTable) -> np.ndarray:
    """Mean sub-product energy of every class, floored at ``1e-12`` of the largest (the design needs ``> 0``)."""
    cls = classes.as_array()
    _, counts = _counts(classes)
    means = np.bincount(cls, weights=energies, minlength=counts.size) / counts
    top = float(means.max()) if means.size and means.max() > 0 else 1.0
    return np.maximum(means, 1e-12 * top)


def auto_code(spec, classes: ClassTable, energies: np.ndarray) -> Code:
    """The spec's NOW/EW code with ``Γ`` designed for this job (``spec.gamma == "auto"``); a code
    with its own ``designed(classes, energies, workers, arrival)`` (ew-matdot, one block product per
    packet) designs itself from the probability that a packet has arrived by the deadline.

    Without a deadline (``inf``) or a latency model there is no deadline to design for: the
    code's default (Table III for three classes, else uniform) is used.  For the paper's three
    classes and ``W`` well above ``K`` that loses little; for one class per sub-product
    (``classes="singletons"``) a window may get no packet among the ``W`` (docs/comparison.md).
    """
    code = spec.code_object
    counts, _ = _counts(classes)
    L = len(counts)
    if spec.latency is None or not math.isfinite(spec.deadline) or spec.deadline <= 0 or L == 1:
        gamma = None if L == 3 else tuple([1.0 / L] * L)
        return type(code)(gamma)
    designed = getattr(code, "designed", None)
    if designed is not None:  # a code with its own exact design (ew-matdot): from one packet's arrival probability
        arrival = float(work_cdfs(spec.latency, [1], [float(spec.deadline)], spec.omega_value, seed=0)[0, 0])
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
    gamma = _designed(code.name, counts, key, spec.workers, spec.latency, float(spec.deadline),
                      spec.omega_value, spec.partition, decoder, spec.cost, work, mds_work)
    return type(code)(gamma)


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


@functools.lru_cache(maxsize=AUTO_CACHE_SIZE)
def _designed(code, counts, energies, workers, latency, deadline, omega, partition, decoder, cost="equal",
              work=None, mds_work=None) -> tuple[float, ...]:
    from .gamma import design_gamma

    design = design_gamma(code, counts, energies, workers, latency, deadline, omega=omega, partition=partition,
                          decoder=decoder, trials=AUTO_TRIALS, cost=cost, work=work, mds_work=mds_work)
    return tuple(float(g) for g in design.gamma)
