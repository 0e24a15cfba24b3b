"""Decoders: how the parameter server forms ``C_hat`` from the packets that arrived.

A :class:`Decoder` is chosen by name in the job specification (``decoder=``) and used by
every path that makes a coded product:

* the engine (:func:`uepmm.coded_matmul`, full and fast fidelity, every backend) opens a
  :class:`DecodeSession` per job and feeds it packets in arrival order;
* the lean training path asks :meth:`Decoder.reconstruction` for the ``K × K`` matrix ``M``
  with ``P_hat = M P`` (exact sub-products ``P``), which it applies in torch.

The recovery decision is the code's (:meth:`uepmm.codes.Code.recovery_tracker`; for linear
codes the rank decision :func:`uepmm.decoding.recoverable` / :class:`uepmm.decoding.RecoveryTracker`);
the payload algebra of exact recovery is :class:`uepmm.decoding.ProgressiveDecoder`.  A code
whose estimate the scheme defines (MatDot, norm-weighted sampling) replaces the requested
decoder by its own (:meth:`uepmm.codes.Code.decoder_for`); callers use
:func:`decoder_for_code` and report the decoder that ran.

Decoders (docs/design.md §5; docs/beyond.md for the measurements):

* ``"zero"`` (the paper's): recovered sub-products exact, the others zero.
* ``"lmmse"``: the linear MMSE estimate ``P_hat = S G^T (G S G^T)^+ Y`` under a diagonal prior
  ``S`` of sub-product energies from the block norms (``E||A_i B_j||^2 ≈ ||A_i||^2 ||B_j||^2 / H``).
  Recovered sub-products stay exact; the others get the best linear guess from the packets that
  mix them.  It assumes uncorrelated zero-mean sub-products; where they are correlated (a Gram
  matrix ``X X^T``, sub-products with a common mean) it can lose to zero-fill, unless
  ``JobSpec.prior`` gives it their Gram matrix ``R`` (``DecodeContext.gram``, :mod:`uepmm.prior`).
* ``"unbiased"``: recovered sub-products scaled so that ``E[C_hat | N] = C`` under the job's
  arrival model, except for sub-products recovered only with everything (the exact
  condition: :class:`UnbiasedDecoder`).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Callable

import numpy as np

from ._validation import choice
from .decoder_base import DecodeContext, Decoder, DecodeSession, _tracker, decoder_for_code
from .decoding import ProgressiveDecoder, recoverable

if TYPE_CHECKING:
    from .codes.base import Code

__all__ = [
    "Decoder", "DecodeContext", "DecodeSession", "ZeroFillDecoder", "LMMSEDecoder", "UnbiasedDecoder", "make_decoder",
    "DECODER_NAMES", "decoder_for_code", "recovery_probabilities",
]


class ZeroFillDecoder(Decoder):
    """The paper's decoder: recovered sub-products exact, the rest zero.

    Examples
    --------
    The paper's decoder in :func:`uepmm.coded_matmul`: what is not recovered is zero.

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> res = uepmm.coded_matmul(A, B, code="uncoded", partition="cxr", blocks=2, workers=2,
    ...                          latency=uepmm.Schedule((0.5, 2.0)), omega=1.0, deadline=1.0,
    ...                          decoder=uepmm.ZeroFillDecoder(), reorder=False, seed=0)
    >>> res.recovered.tolist()
    [True, False]
    >>> bool(np.allclose(res.estimate, A[:, :2] @ B[:2]))
    True
    """

    name = "zero"
    selects_exact_blocks = True
    diagonal = True

    def open_session(self, context: DecodeContext) -> DecodeSession:
        if context.exact is not None:
            return _ExactBlocksSession(context)
        return _ProgressiveSession(context)

    def scales(self, rows: np.ndarray, recovered: np.ndarray, context: DecodeContext | None = None) -> np.ndarray:
        return np.asarray(recovered, dtype=np.float64)


class LMMSEDecoder(Decoder):
    """Linear MMSE: ``P_hat = S G^T (G S G^T)^+ Y`` with the energy prior ``S`` (:mod:`uepmm.estimation`),
    or ``P_hat = R G^T (G R G^T)^+ Y`` with the sub-products' Gram matrix ``R`` when the context
    has one (``JobSpec.prior``, :mod:`uepmm.prior`); the recovered sub-products are solved on ``G``
    itself, exact whatever their energy."""

    name = "lmmse"
    needs_energies = True

    def weights(self, rows: np.ndarray, context: DecodeContext) -> np.ndarray:
        from .estimation import lmmse_weights, lmmse_weights_gram

        if context.gram is not None:
            return _exact_where_recovered(lmmse_weights_gram(rows, context.gram), rows, context)
        if context.energies is None:
            raise ValueError("decoder 'lmmse' needs the sub-product energies (DecodeContext.energies)")
        return _exact_where_recovered(lmmse_weights(rows, context.energies), rows, context)


def _exact_where_recovered(weights: np.ndarray, rows: np.ndarray, context: DecodeContext) -> np.ndarray:
    """``weights`` with the rows of the recovered sub-products replaced by the minimum-norm solve of
    ``G^T c = e_k`` on the received rows themselves, so that a recovered sub-product is exact.

    The LMMSE's rank decision is on ``G S^(1/2)``: for a sub-product many decades weaker than the
    largest (energy ratios near ``1 / rank_tol^2``) it can drop a direction that the rank decision on
    ``G`` keeps, and the block reported recovered would be only approximate.
    """
    rows = np.asarray(rows, dtype=np.float64)
    if rows.shape[0] == 0:
        return weights
    decided = context.code.recoverable(rows) if context.code is not None else recoverable(rows)
    done = np.flatnonzero(decided)
    if done.size:
        targets = np.zeros((rows.shape[1], done.size))
        targets[done, np.arange(done.size)] = 1.0
        weights = np.array(weights, dtype=np.float64)
        weights[done] = np.linalg.lstsq(rows.T, targets, rcond=None)[0].T
    return weights


class UnbiasedDecoder(Decoder):
    """Recovered sub-products scaled so that ``E[C_hat | N] = C``, ``N`` the packets that arrived by the deadline.

    ``p_k(N)`` is the probability that sub-product ``k`` is recovered from ``N`` packets and
    ``q(N)`` that everything is, under the job's own arrival model (:func:`recovery_probabilities`):
    given ``N``, the arrived windows are i.i.d. ``Γ`` under ``cost="equal"`` (the window is drawn
    independently of the response time, whatever the latency model) and i.i.d.
    ``Γ'_l = Γ_l F_{s_l}(Ω t) / Σ_j Γ_j F_{s_j}(Ω t)`` under ``cost="work"`` at the deadline ``t``
    (a window of work ``s_l`` arrives with probability ``F_{s_l}``; eq. 13 with ``Γ'``,
    :mod:`uepmm.theory.work`).  When everything is recovered, ``C_hat = C``; otherwise a recovered
    ``P_k`` is scaled by ``1 / P(k recovered | N, not everything) = (1 - q) / (p_k - q)``, so
    ``E[C_hat_k | N] = q P_k + (1 - q) P(k | N, not everything) P_k / P(k | N, not everything) = P_k``.

    **Exact condition.**  ``E[C_hat_k | N] = P_k`` holds exactly when ``P_k = 0``, or ``q(N) = 1``,
    or ``p_k(N) > q(N)`` and ``(p_k(N) - q(N)) / (1 - q(N)) >= min_probability`` (the scale is
    clipped at ``1 / min_probability`` to bound the variance).  Sub-products recovered only
    together with everything (``p_k = q``: EW's last class, every MDS or polynomial block) are
    kept exact-or-zero: ``E[C_hat_k | N] = q(N) P_k``.  The Horvitz–Thompson form (every recovered
    ``P_k`` scaled by ``1 / p_k(N)``, complete or not) would remove that bias only by giving up
    ``C_hat = C`` on a complete decode and the engine's stop on completion (it needs ``N`` at the
    deadline); on Sec. VI its loss is within a factor of 2.2 of this form's, either way
    (docs/beyond.md, "The unbiased decoder").  The model behind ``p_k`` must hold: with
    ``cost="work"`` the response times are i.i.d. (not a :class:`uepmm.latency.Schedule`) and
    ``p_k`` is for ``N`` at the deadline (an ``on_packet`` estimate before it is the one the
    deadline would give if no other packet arrived); codes with a fixed task per worker
    (uncoded, repetition) need i.i.d. response times under either cost (with ties among them, as
    a trace or a deterministic model has, at the deadline only: ties are delivered by index).  Where there is no such
    model (a ``Schedule`` there, speculative copies) it refuses with a ``ValueError``.  ``F_s`` is
    in closed form for exponential, shifted exponential and deterministic times, else a seeded
    Monte Carlo of :data:`uepmm.design.work.CDF_DRAWS` sums (:func:`uepmm.design.work_cdfs`).
    """

    name = "unbiased"
    diagonal = True

    def __init__(self, min_probability: float = 0.02):
        if isinstance(min_probability, bool) or not 0.0 < float(min_probability) <= 1.0:
            raise ValueError(f"min_probability must be in (0, 1], got {min_probability!r}")
        self.min_probability = float(min_probability)

    def check(self, context: DecodeContext) -> None:
        recovery_probabilities(context)  # refuse up front where the job has no arrival model

    def scales(self, rows: np.ndarray, recovered: np.ndarray, context: DecodeContext) -> np.ndarray:
        recovered = np.asarray(recovered, dtype=bool)
        if not recovered.any() or recovered.all():
            return recovered.astype(np.float64)
        per_product, everything = recovery_probabilities(context)
        n = int(rows.shape[0])
        p, q = per_product[n], everything[n]
        conditional = np.where(p > q, (p - q) / max(1.0 - q, 1e-300), 0.0)
        return np.where(recovered, 1.0 / np.maximum(conditional, self.min_probability), 0.0)


def recovery_probabilities(context: DecodeContext) -> tuple[np.ndarray, np.ndarray]:
    """``p_k(N)`` (shape ``(W + 1, K)``) and ``q(N)`` (``(W + 1,)``), ``N = 0..W``, under the job's
    arrival model (:class:`UnbiasedDecoder`); ``ValueError`` where there is none."""
    code, spec = context.code, context.spec
    if code is None:
        raise ValueError("decoder 'unbiased' needs the job's code (DecodeContext.code)")
    model = _arrival_model(code, context.classes, spec)
    try:
        hash(model)
        compute = _recovery_probabilities
    except TypeError:  # a latency model that cannot be a cache key (a non-frozen dataclass)
        compute = _recovery_probabilities.__wrapped__
    per_class, everything = compute(code, context.classes, context.workers, model)
    return per_class[:, context.classes.as_array()], everything


def _arrival_model(code: Code, classes, spec) -> tuple | None:
    """What, besides the code, decides which windows arrive: ``None`` (i.i.d. ``Γ`` given ``N``)
    or the key of the ``cost="work"`` deadline model; ``ValueError`` where no model holds."""
    if spec is None:  # the paper's model: cost="equal", i.i.d. response times
        return None
    from .latency import Schedule

    windows = code.uses_window_probabilities
    if isinstance(spec.latency, Schedule) and (spec.cost == "work" or not windows):
        why = (
            "with cost='work' the window a worker drew decides whether it answers by the deadline"
            if windows
            else f"code {code.name!r} gives each worker a fixed task, so the fixed order decides which arrive"
        )
        raise ValueError(
            f"decoder 'unbiased' needs P(sub-product recovered | N) from i.i.d. response times, but "
            f"latency=Schedule(...) fixes which workers answer ({why}); use an i.i.d. latency model "
            f"(Exponential, Trace, ...), cost='equal' with a window code, or decoder='zero' or 'lmmse'"
        )
    if spec.cost == "equal" or not windows or spec.latency is None or not math.isfinite(spec.deadline):
        if spec.cost == "work" and not windows and code.cxr_packet_work(classes.num_products) is None:
            raise ValueError(
                f"decoder 'unbiased' with cost='work': the packets of code {code.name!r} differ in work and "
                f"it has no window probabilities to weigh by their arrival; use cost='equal' or decoder='zero'"
            )
        return None  # every packet costs the same, everything arrives, or work does not enter the times
    works = (1,) * classes.num_classes if spec.encoding == "factor" else None
    return (spec.latency, float(spec.deadline), float(spec.omega_value), spec.partition, tuple(spec.grid), works)


@functools.lru_cache(maxsize=256)
def _recovery_probabilities(code: Code, classes, workers: int, model: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """``P_d,l(N)`` and ``P(everything | N)`` for ``N = 0..workers`` (cached per code, classes and model)."""
    if model is not None:  # cost="work": the arrived windows follow Γ' at the deadline
        code = _arrived_windows_code(code, classes, *model)
    counts = classes.counts
    per_class = code.decoding_probabilities(counts, workers, workers=workers)
    everything = code.all_decoded_probability(counts, workers, workers=workers)
    return per_class, everything


def _arrived_windows_code(code: Code, classes, latency, deadline: float, omega: float, partition: str,
                          grid: tuple[int, int], works: tuple[int, ...] | None) -> Code:
    """The window code with ``Γ'_l = Γ_l F_{s_l}(Ω t) / p`` (:mod:`uepmm.design.work`), or ``code``
    itself where no window can arrive by ``t`` (then ``N = 0``)."""
    from dataclasses import replace

    from .design.work import window_work, work_cdfs

    if works is None:
        works, _ = window_work(code.name, classes, partition, grid)
    gamma = np.asarray(code.window_probabilities(classes.num_classes), dtype=np.float64)
    joint = gamma * work_cdfs(latency, works, [deadline], omega, seed=0)[0]
    p = float(joint.sum())
    return code if p <= 0.0 else replace(code, gamma=tuple((joint / p).tolist()))


class _ProgressiveSession(DecodeSession):
    """Full fidelity: real packets through :class:`ProgressiveDecoder`."""

    def __init__(self, context: DecodeContext):
        layout = context.partition
        self.context = context
        self.decoder = ProgressiveDecoder(
            layout.num_products, layout.product_shape, context.workers, context.dtype, aggregate=layout.kind == "cxr"
        )
        self.recovered = self.decoder.recovered

    def add(self, row: np.ndarray, payload: np.ndarray | None, worker: int | None = None) -> np.ndarray:
        if payload is None:
            raise ValueError("full fidelity needs every packet's payload; use fidelity='fast' for rank-only runs")
        return self.decoder.add(row, payload)

    def estimate(self) -> np.ndarray:
        decoder, context = self.decoder, self.context
        if decoder.aggregate:  # c×r: C_hat is the decoded sum itself
            return (
                decoder.total.copy()
                if decoder.total is not None
                else np.zeros(context.partition.c_shape, context.dtype)
            )
        return context.order.assemble(context.partition, decoder.products, dtype=context.dtype)


class _ExactBlocksSession(DecodeSession):
    """Fast fidelity: the rank decision alone, recovered blocks taken from the exact sub-products."""

    def __init__(self, context: DecodeContext):
        self.context = context
        self.tracker = _tracker(context)
        self.recovered = self.tracker.recovered

    def add(self, row: np.ndarray, payload: np.ndarray | None, worker: int | None = None) -> np.ndarray:
        return self.tracker.add(row)

    def estimate(self) -> np.ndarray:
        context, exact = self.context, self.context.exact
        products = [exact[k] if self.recovered[k] else None for k in range(context.num_products)]
        return context.order.assemble(context.partition, products, dtype=context.dtype)


_DECODERS: dict[str, Callable[[], Decoder]] = {
    "zero": ZeroFillDecoder,
    "lmmse": LMMSEDecoder,
    "unbiased": UnbiasedDecoder,
}
#: Names of the registered decoders.
DECODER_NAMES = tuple(_DECODERS)


def make_decoder(decoder: str | Decoder) -> Decoder:
    """A :class:`Decoder` from its name (or the object itself).

    Examples
    --------
    >>> import uepmm
    >>> decoder = uepmm.make_decoder("zero")
    >>> isinstance(decoder, uepmm.ZeroFillDecoder), decoder.selects_exact_blocks
    (True, True)
    """
    if isinstance(decoder, Decoder):
        return decoder
    return _DECODERS[choice(decoder, "decoder", DECODER_NAMES)]()
