"""``scheme="auto"``: predict every scheme's loss at the deadline from the matrices' statistics, run the least.

Before any block product the parameter server knows the importance order and every
sub-product's prior energy ``e_k = ||A_i||^2 ||B_j||^2 / H`` (:func:`uepmm.importance.sub_product_energies`),
and every scheme's randomness: the response times and coefficient rows a job would draw
(:func:`uepmm.draw.draw_job`), the rows that arrive by the deadline, what the code recovers from
them (:meth:`uepmm.codes.Code.recovery_curve_from`) and the decoder's reconstruction ``M``
(``P_hat = M P``).  Given a prior second moment ``R`` of the sub-products (``R_kl ≈ <P_k, P_l>``),
the loss of one draw is priced without the sub-products (:meth:`uepmm.loss.BlockLoss.from_gram`):

* c×r (``C = Σ_k P_k``): ``||C - C_hat||^2 = d^T R d`` with ``d = 1 - M^T 1``;
* r×c (disjoint blocks): ``trace((I - M) R (I - M)^T)``;

normalised by the prior's ``||C||^2`` (``1^T R 1``, resp. ``trace R``).  :func:`replay_losses`
averages it over :data:`RECOMMEND_TRIALS` draws per scheme; ``uepmm compare``'s fast path is the
same function priced with the exact Gram matrix, so with the exact ``R`` (and compare's seeds) the
prediction *is* compare's loss.

The prior (:func:`pricing_prior`) is by default the rule of LMMSE's ``prior="auto"``: the Gram
matrix estimated from a few random probes (:mod:`uepmm.prior`: matrix-vector products, no block
product) where it shows correlated sub-products (the MNIST Gram matrix ``XᵀX``), else the
diagonal ``R = diag(e)`` (:func:`diagonal_prior`), right in expectation for independent
zero-mean blocks.  ``prior=`` takes another name of :data:`uepmm.prior.PRIORS` or any ``K × K``
matrix.

The draws are common random numbers (draw ``j`` of every scheme has the seed
``trial_seed(seed, j)``: the same response times) and come in two stages: every candidate is
priced from its first :data:`SCREEN_TRIALS` draws, and only those not clearly losing (their mean
without their largest draw at most :data:`SCREEN_FACTOR` times the least mean) get the other
draws; the ranking puts the fully priced first.  The choice is a function of the matrices, the
job and ``seed``.

The candidates are every scheme of :data:`uepmm.scheme.SCHEMES` whose code exists and that fits the
partition and the workers (a scheme added there joins automatically).  Ties (predicted losses within
:data:`TIE` of each other) go to the first in registry order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ._validation import as_matrix, positive_int
from .codes import CODES, Code
from .decoders import DecodeContext, decoder_for_code
from .draw import draw_job
from .importance import sub_product_energies
from .loss import BlockLoss
from .planning import (
    JobPlan,
    _spec_from,
    classes_and_code,
    layout_and_order,
    needs_energies,
    plan_from_order,
    plan_job,
)
from .prior import PRIORS, prior_gram
from .scheme import SCHEMES, Scheme, get_scheme
from .spec import JobSpec
from .streams import trial_seed

__all__ = ["RECOMMEND_TRIALS", "RECOMMEND_SEED", "SCREEN_TRIALS", "SCREEN_FACTOR", "TIE", "Prediction",
           "Choice", "diagonal_prior", "pricing_prior", "replay_losses", "candidate_schemes", "rank_schemes",
           "plan_auto", "is_auto", "auto_base"]

#: Draws per scheme of the prediction (its standard error is in :attr:`Prediction.stderr`).
RECOMMEND_TRIALS = 64
#: Draws every candidate gets first; only those not clearly losing (:func:`_survives`) get the rest.
SCREEN_TRIALS = 16
#: A screened candidate is clearly losing when its mean without its largest draw exceeds this many times
#: the least screened mean (:func:`_survives`).
SCREEN_FACTOR = 2.0
#: Seed of the prediction's draws: its own trial streams (:func:`uepmm.streams.trial_seed`), not compare's 0, 1, 2.
RECOMMEND_SEED = 20261203
#: Predicted losses closer than this are a tie (an LMMSE estimate of a complete set is exact up to rounding).
TIE = 1e-12
#: Settings a scheme fixes: with ``scheme="auto"`` the choice sets them.
_CHOSEN = ("code", "decoder", "gamma", "copies")


def is_auto(scheme: Any) -> bool:
    """Whether ``scheme`` asks for the choice (``"auto"``, any case)."""
    return isinstance(scheme, str) and scheme.lower() == "auto"


def diagonal_prior(energies: np.ndarray) -> np.ndarray:
    """``R = diag(e)``: independent sub-products with the planner's energies ``e_k = ||A_i||^2 ||B_j||^2 / H``."""
    return np.diag(np.asarray(energies, dtype=np.float64))


def replay_losses(
    plan: JobPlan, deadlines: Sequence[float], trials: int, seed: int, pricing: BlockLoss, *, offset: int = 0
) -> tuple[np.ndarray, str]:
    """Normalised loss of trial ``j`` at ``deadlines[i]`` (shape ``(trials, len(deadlines))``) and the name of
    the decoder that ran, for the job ``plan`` drawn with the seed ``trial_seed(seed, j)``.

    One draw per trial (per deadline for ``gamma="auto"``, whose Γ, and with a designed class rule such as
    ``classes="rectangles-auto"`` the class table, depend on it: :func:`uepmm.planning.classes_and_code`),
    exactly as :func:`uepmm.plan_job` makes it; the rows that arrived by ``t`` give the recovered set and the
    decoder's ``M``, priced by ``pricing`` (the exact Gram matrix: ``uepmm compare``'s fast path; a
    prior: the expected loss).  ``plan`` needs no blocks (only its spec, layout, order, classes,
    scores, energies and code are read).  ``offset``: row ``j`` is trial ``offset + j`` (more draws of
    the same streams, :func:`rank_schemes`' second stage).
    """
    spec, layout = plan.spec, plan.job.partition
    deadlines = np.asarray(deadlines, dtype=np.float64)
    # one (classes, code) for every deadline, or (gamma="auto") the code designed for each deadline (a designed
    # class rule: the class table too)
    if spec.auto_gamma:
        designs = [classes_and_code(spec.with_(deadline=float(t)), plan.scores, plan.energies) for t in deadlines]
    else:
        designs = [(plan.classes, plan.code)] * deadlines.size
    groups: dict[int, list[int]] = {}
    for i, design in enumerate(designs):
        groups.setdefault(next(j for j, d in enumerate(designs) if d == design), []).append(i)
    decoder = decoder_for_code(plan.code, spec.decoder_object)
    # adaptive packets: simulated once to the last deadline; those by t are the same for every t (causality)
    drawing = spec.with_(deadline=float(deadlines.max())) if spec.adaptive else spec
    # the job at each deadline (the unbiased decoder's arrival model under cost="work" depends on it)
    timed = [spec.with_(deadline=float(t)) for t in deadlines] if spec.cost == "work" else [spec] * deadlines.size
    out = np.empty((trials, deadlines.size))
    total = pricing.total
    for j in range(trials):
        for first, members in groups.items():
            classes, code = designs[first]
            drawn = draw_job(drawing, classes, trial_seed(seed, offset + j), layout, code)
            order = np.argsort(drawn.times, kind="stable")  # the simulated backend's delivery order
            rows, times = drawn.generator[order], drawn.times[order]
            counts = np.searchsorted(times, deadlines[members], side="right")
            # the recovery decision after each arrival, replayed once per draw (MatDot: its decoder's)
            recovered_after = code.recovery_curve_from(drawn.encoding, order[: counts.max()])
            cache: dict[tuple[int, int], float] = {}
            for i, n in zip(members, counts):
                key = (int(n), i if spec.cost == "work" else -1)
                if key not in cache:
                    context = DecodeContext(layout, plan.order, plan.dtype, spec.workers, classes, plan.scores,
                                            None, plan.energies, code, plan.gram, spec=timed[i])
                    M = decoder.reconstruction(rows[:n], recovered_after[n], context)
                    cache[key] = pricing.reconstruction_loss(M) / total if total > 0 else 0.0
                out[j, i] = cache[key]
    return out, decoder.name


@dataclass(frozen=True)
class Prediction:
    """One candidate: the scheme, the job it would run, and its predicted mean normalised loss."""

    scheme: Scheme
    spec: JobSpec  # the candidate's job (the task rule's workers, the deadline)
    loss: float  # mean over the draws of the loss priced by the prior
    stderr: float  # its standard error over the draws
    decoder: str  # the decoder that forms C_hat (a code's own where it has one)
    code: Code  # as it would run (gamma="auto": with the Γ designed for the deadline)
    class_counts: tuple[int, ...]
    seconds: float  # time to predict it (design included)
    draws: int = RECOMMEND_TRIALS  # draws of its mean: all of them, or SCREEN_TRIALS when screened out

    def settings(self) -> dict[str, Any]:
        """What runs: scheme name, code, decoder, Γ, class sizes, encoding, workers used and the prediction."""
        gamma = getattr(self.code, "gamma", None)
        return {
            "name": self.scheme.name, "code": self.scheme.code_name, "decoder": self.decoder,
            "gamma": None if gamma is None else [float(g) for g in gamma],
            "class_counts": list(self.class_counts), "encoding": self.spec.encoding, "workers": self.spec.workers,
            "predicted_loss": self.loss,
        }


@dataclass(frozen=True)
class Choice:
    """The ranking of ``scheme="auto"`` (least predicted loss first) and how it was made."""

    ranking: tuple[Prediction, ...]
    deadline: float
    prior: str  # what the prediction priced with: "diagonal" (the energies), "probe", "exact" or "given"
    trials: int
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def best(self) -> Prediction:
        """The chosen candidate."""
        return self.ranking[0]

    def report(self) -> dict[str, Any]:
        """``Result.report["auto"]``: the chosen scheme's settings and every candidate's prediction."""
        return {
            "chosen": self.best.settings(), "deadline": self.deadline, "prior": self.prior, "trials": self.trials,
            "seconds": self.seconds, "notes": list(self.notes),
            "ranking": [{"scheme": p.scheme.name, "predicted_loss": p.loss, "stderr": p.stderr, "draws": p.draws}
                        for p in self.ranking],
        }


def candidate_schemes(
    base: JobSpec, schemes: Sequence[str | Scheme] | None = None
) -> tuple[list[tuple[Scheme, JobSpec]], list[str]]:
    """``[(scheme, spec)]`` of every candidate for the job ``base``, and notes on the schemes left out.

    ``schemes=None``: every scheme of :data:`~uepmm.scheme.SCHEMES` whose code exists and that fits
    the partition and the workers.  Named schemes must exist (else ``ValueError``) and are left out
    with a note when they do not fit.
    """
    chosen = list(SCHEMES.values()) if schemes is None else [get_scheme(s) for s in schemes]
    out, notes = [], []
    for scheme in chosen:
        if scheme.code_name not in CODES:
            notes.append(f"left out {scheme.name!r}: its code {scheme.code_name!r} is not in this uepmm")
            continue
        try:
            out.append((scheme, scheme.spec(base)))
        except ValueError as exc:
            notes.append(f"left out {scheme.name!r}: {exc}")
    if not out:
        raise ValueError(f"scheme='auto': no scheme fits partition={base.partition!r} with workers={base.workers}"
                         + (f" ({'; '.join(notes)})" if notes else ""))
    return out, notes


def auto_base(spec: JobSpec | None, settings: dict[str, Any]) -> tuple[JobSpec, dict[str, Any]]:
    """The job ``scheme="auto"`` chooses for (``spec`` with the settings), and the keywords left over.

    ``ValueError`` for settings the choice makes (code, decoder, Γ, copies), one worker, or a deadline
    that is not positive.
    """
    fixed = sorted(k for k in _CHOSEN if settings.get(k) is not None)
    if fixed:
        raise ValueError(f"scheme='auto' chooses {', '.join(_CHOSEN)} itself; got {', '.join(fixed)}=: drop "
                         f"{'it' if len(fixed) == 1 else 'them'}, or name a scheme ({', '.join(SCHEMES)})")
    if spec is None:  # the default code's classes need not fit this K: every candidate sets its own code
        settings = {**settings, "code": "mds"}
    base, rest = _spec_from(spec, settings)
    if base.workers < 2:
        raise ValueError(f"scheme='auto' compares schemes that spread the product over workers; got workers="
                         f"{base.workers}: give workers >= 2 (e.g. workers=30), or a scheme")
    if not base.deadline > 0:
        raise ValueError(f"scheme='auto' needs a deadline > 0 to predict the loss at (inf waits for every worker); "
                         f"got deadline={base.deadline}")
    return base, rest


def _check_prior(prior: Any, K: int) -> np.ndarray:
    R = np.asarray(prior, dtype=np.float64)
    if R.shape != (K, K):
        raise ValueError(f"prior must be the K x K second moment of the sub-products (K = {K}), got shape {R.shape}")
    if not np.all(np.isfinite(R)) or not np.allclose(R, R.T, rtol=1e-9, atol=1e-12 * max(np.abs(R).max(), 1e-300)):
        raise ValueError("prior must be a finite symmetric matrix (R_kl = <P_k, P_l>)")
    if np.any(np.diag(R) < 0):
        raise ValueError("prior must have a non-negative diagonal (R_kk = ||P_k||^2)")
    return R


def pricing_prior(
    prior: Any, layout, energies: np.ndarray, blocks: tuple, base: JobSpec
) -> tuple[np.ndarray, str, dict[str, Any] | None]:
    """The prior ``R`` the prediction prices with, its name (:attr:`Choice.prior`), and, when it was
    made by the rule of ``prior="auto"``, what a job with ``prior="auto"`` plans with (its ``gram``
    and ``prior_correlation``: the same probe, shared with the candidates' plans).

    ``prior``: a name of :data:`uepmm.prior.PRIORS` or a ``K × K`` matrix (``"given"``).
    ``"auto"`` (the default of :func:`rank_schemes`) takes the probe's Gram matrix (the job's
    ``probes`` and ``probe_seed``, :func:`uepmm.prior.prior_gram`) where it shows correlated
    sub-products, as LMMSE's ``prior="auto"`` does, and else ``diag(e)``; ``"probe"`` always the
    probe's, ``"exact"`` the exact Gram matrix (every block product: an oracle for measurements).
    """
    K = layout.num_products
    if prior is None:
        prior = "auto"
    if not isinstance(prior, str):
        return _check_prior(prior, K), "given", None
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {', '.join(map(repr, PRIORS))} or a K x K matrix, got {prior!r}")
    pairs = [layout.factors(k) for k in range(K)]
    gram, rho = prior_gram(prior, *blocks, pairs, base.probes, base.probe_seed)
    shared = {"gram": gram, "prior_correlation": rho} if prior == "auto" else None
    if gram is None:
        return diagonal_prior(energies), "diagonal", shared
    return gram, "probe" if prior == "auto" else prior, shared


def _rank(
    base: JobSpec, layout, order, energies: np.ndarray, blocks: tuple, dtype, prior: Any, trials: int, seed: int,
    schemes: Sequence[str | Scheme] | None,
) -> Choice:
    """The choice from the statistics (layout, order, energies; the blocks only for the probe prior,
    matrix-vector products): no block product.  Two stages on common random numbers: every
    candidate is priced from the first ``SCREEN_TRIALS`` draws, and those not clearly losing
    (:func:`_survives`) from ``trials`` draws."""
    t0 = time.perf_counter()
    R, prior_name, probe = pricing_prior(prior, layout, energies, blocks, base)
    pricing = BlockLoss.from_gram(layout.kind, R)
    candidates, notes = candidate_schemes(base, schemes)
    screen = min(SCREEN_TRIALS, trials)
    staged = []
    for scheme, spec in candidates:
        t1 = time.perf_counter()
        shared = probe if probe is not None and spec.prior == "auto" else {}  # the same probe: computed once
        plan = plan_from_order(spec, layout, order, energies if needs_energies(spec)
                               else None, *blocks, dtype, trial_seed(seed, 0), **shared)
        losses, decoder = replay_losses(plan, [spec.deadline], screen, seed, pricing)
        staged.append((scheme, spec, plan, losses[:, 0], decoder, time.perf_counter() - t1))
    least = min(float(x.mean()) for *_, x, _, _ in staged)
    predictions = []
    for scheme, spec, plan, losses, decoder, seconds in staged:
        t1 = time.perf_counter()
        if screen < trials and _survives(losses, least):  # the same streams, trials screen .. trials - 1
            more, _ = replay_losses(plan, [spec.deadline], trials - screen, seed, pricing, offset=screen)
            losses = np.concatenate([losses, more[:, 0]])
        classes, code = classes_and_code(spec, plan.scores, plan.energies) if spec.auto_gamma else \
            (plan.classes, plan.code)
        predictions.append(Prediction(scheme, spec, float(losses.mean()), _stderr(losses), decoder, code,
                                      classes.counts, seconds + time.perf_counter() - t1, losses.size))
    position = {p.scheme.name: i for i, p in enumerate(predictions)}
    full = max(p.draws for p in predictions)
    least = min(p.loss for p in predictions if p.draws == full)
    ranking = sorted(predictions, key=lambda p: (p.draws < full, p.loss > least + TIE, p.loss,
                                                 position[p.scheme.name]))
    return Choice(tuple(ranking), float(base.deadline), prior_name, trials, time.perf_counter() - t0,
                  tuple(notes))


def _stderr(losses: np.ndarray) -> float:
    return float(losses.std(ddof=1) / math.sqrt(losses.size)) if losses.size > 1 else 0.0


def _survives(losses: np.ndarray, least: float) -> bool:
    """Whether a candidate screened on ``losses`` goes on to the full draws: unless its mean without its
    largest draw exceeds :data:`SCREEN_FACTOR` times the least screened mean.  One large loss among the
    first draws (an event rarer than it looks) does not screen a candidate out; two do."""
    return float(losses.sum() - losses.max()) / losses.size <= SCREEN_FACTOR * least + TIE


def rank_schemes(
    A: Any,
    B: Any,
    spec: JobSpec | None = None,
    *,
    prior: Any = "auto",
    trials: int = RECOMMEND_TRIALS,
    seed: int = RECOMMEND_SEED,
    schemes: Sequence[str | Scheme] | None = None,
    **settings: Any,
) -> Choice:
    """Every candidate scheme's predicted loss at the deadline, least first (module docstring).

    Parameters
    ----------
    A, B : array_like or scipy sparse
        The factors; only their line norms are read (the importance order and the energies).
    spec, **settings : the job (:class:`~uepmm.spec.JobSpec` and its fields): partition, blocks,
        workers ``W``, deadline, latency, ``Ω``, cost...; not code, decoder, gamma or copies.
    prior : str or array_like (K, K)
        What the prediction prices with (:func:`pricing_prior`): ``"auto"`` (default: the probe's
        Gram matrix where the sub-products correlate, else ``diag(e)``), ``"diagonal"``,
        ``"probe"``, ``"exact"``, or the sub-products' second moment ``R`` (after the importance
        permutation).
    trials, seed : the draws per fully priced scheme (:data:`SCREEN_TRIALS` for those screened
        out), from :func:`uepmm.streams.trial_seed` ``(seed, j)``.
    schemes : names to choose among (default: all of :data:`~uepmm.scheme.SCHEMES` that fit).

    Examples
    --------
    >>> import numpy as np
    >>> from uepmm.recommend import rank_schemes
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((60, 90)), rng.standard_normal((90, 60))
    >>> choice = rank_schemes(A, B, partition="cxr", blocks=9, workers=30, deadline=1.0, cost="work")
    >>> choice.best.scheme.name in [p.scheme.name for p in choice.ranking]
    True
    """
    base, rest = auto_base(spec, dict(settings))
    if rest:
        raise TypeError(f"rank_schemes got unexpected keyword(s) {sorted(rest)}; the settings are "
                        f"{list(JobSpec.field_names())}")
    trials = positive_int(trials, "trials")
    seed = positive_int(seed, "seed", minimum=0)
    A = as_matrix(A, "A", allow_sparse=True)
    B = as_matrix(B, "B", allow_sparse=True)
    layout, order = layout_and_order(A, B, base)
    energies = sub_product_energies(order, layout, A, B)
    a_perm, b_perm = (order.a_perm, order.b_perm) if base.reorder else (None, None)
    blocks = (layout.a_blocks(A, a_perm), layout.b_blocks(B, b_perm))  # LMMSE's probe prior reads them
    return _rank(base, layout, order, energies, blocks, np.result_type(A.dtype, B.dtype), prior, trials, seed,
                 schemes)


def plan_auto(
    A: Any,
    B: Any,
    spec: JobSpec | None = None,
    *,
    seed: Any = None,
    prior: Any = "auto",
    trials: int = RECOMMEND_TRIALS,
    **settings: Any,
) -> JobPlan:
    """:func:`uepmm.plan_job` with ``scheme="auto"``: :func:`rank_schemes`, then the plan of the best
    (``plan.choice`` holds the ranking).  ``seed`` is the job's (the prediction uses its own draws)."""
    choice = rank_schemes(A, B, spec, prior=prior, trials=trials, **settings)
    plan = plan_job(A, B, choice.best.spec, seed=seed)
    return replace(plan, choice=choice)
