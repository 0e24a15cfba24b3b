"""One job specification: every setting of a coded product that does not depend on the data.

:class:`JobSpec` is validated once, when it is built, and then used by
:func:`uepmm.coded_matmul`, :func:`uepmm.plan_job`, the figure Monte Carlo and
:class:`uepmm.nn.CodingConfig` (a :class:`JobSpec` with the training defaults).  The
matrices enter later: the importance order and the class table need them, nothing here does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Sequence

import numpy as np

from ._validation import choice, int_sequence, positive_float, positive_int
from .backends import BACKENDS
from .backends.simulated import FIDELITIES
from .codes import Code, make_code
from .decoders import DECODER_NAMES as DECODERS
from .decoders import Decoder, make_decoder
from .importance import STATISTICS, ClassRule, ClassTable, equal_counts, make_class_rule
from .latency import Exponential, LatencyModel, paper_omega
from .partition import PARTITIONS, block_grid
from .prior import PRIORS

__all__ = ["JobSpec", "ENCODINGS", "FIDELITIES", "BACKENDS", "DECODERS", "COSTS", "PRIORS", "DEFAULT_CLASSES"]

#: How a worker evaluates its packet: the sum of its window's sub-products, or eq. (11)'s factor form.
ENCODINGS = ("direct", "factor")
#: Cost models of a worker's response time: ``"equal"``, the paper's (every packet costs the same), or
#: ``"work"``: the sum of one latency draw per block product of the packet (``Code.packet_work``).
COSTS = ("equal", "work")
#: Classes filled by rank when neither ``classes`` nor ``class_counts`` is given.
DEFAULT_CLASSES = 3


@dataclass(frozen=True)
class JobSpec:
    """The settings of one coded product ``C = A @ B`` (see :func:`uepmm.coded_matmul`).

    Parameters
    ----------
    code : str or Code
        ``"uncoded" | "repetition" | "mds" | "polynomial" | "now" | "ew"`` (any name in
        :data:`uepmm.codes.CODES`) or a :class:`~uepmm.codes.Code` (``"polynomial"``: r×c only).
    partition : str
        ``"rxc"`` (eq. 3) or ``"cxr"`` (eq. 4).
    blocks : int or tuple of int
        For r×c ``(N, P)`` or ``K = N*N``; for c×r ``M``.
    workers : int
        ``W``, one coded task each.
    deadline : float
        ``T_max`` in the latency model's unit; ``inf`` waits for every worker.
    latency : LatencyModel or None
        Response-time model (``None``: everyone answers at time 0).
    gamma : tuple of float, "auto" or None
        Window probabilities of NOW/EW (default Table III for 3 classes), or ``"auto"``:
        designed for each job from the PS's energy estimates and the deadline.
    copies : int or None
        Copies per sub-product for repetition (default ``workers / K``).
    classes : ClassTable, "rectangles", "singletons", ClassRule or None
        The class of every sub-product (after the importance permutation), or a rule that
        makes the table from each job's block scores: ``"rectangles"`` (r×c nested rectangles,
        the windows of ``code="ew"`` with ``encoding="factor"``: one block product per packet;
        :class:`~uepmm.importance.Rectangles` sets their sides) or ``"singletons"`` (one class
        per sub-product, :class:`~uepmm.importance.Singletons`); ``"rectangles-auto"`` /
        ``"sizes-auto"`` (with ``gamma="auto"``: the rectangle sides / class sizes chosen with Γ for
        each job, :mod:`uepmm.design.windows`); else the classes are filled by rank from ``class_counts``.
    class_counts : tuple of int or None
        ``(k_1..k_L)`` filled by rank of ``||A_i|| ||B_j||`` (``None`` when ``classes`` is given).
    statistic : str
        ``"fro"`` or ``"mean_abs"`` (Sec. VII) for the importance order.
    reorder : bool
        Permute rows/columns by descending magnitude first (Sec. VII-C).
    omega : float or "paper"
        The ``F(Ω t)`` scaling; ``"paper"`` is ``K / W`` (Remark 1).
    encoding : str
        ``"direct"`` or ``"factor"`` (eq. 11; r×c rectangle windows only).
    fidelity : str
        ``"full"`` or ``"fast"``.
    backend : str or Backend
        ``"simulated"``, ``"dask"`` or a backend object.
    decoder : str or Decoder
        How ``C_hat`` is formed from what arrived (:data:`DECODERS`): ``"lmmse"`` by default
        (never worse than the paper's ``"zero"`` in ``benchmarks/bench_decoder_quality.py``, docs/beyond.md);
        every reproduction of the paper passes ``decoder="zero"``.
    cost : str
        How a packet's work enters its response time (:data:`COSTS`): ``"equal"`` (the paper's,
        every worker's time one draw of ``latency``) or ``"work"`` (a packet of ``s`` block products,
        :meth:`~uepmm.codes.Code.packet_work`, answers after the sum of ``s`` i.i.d. draws; for the
        shifted exponential this is Lee et al.'s model); both scaled by ``1/Ω``.
    prior : str
        LMMSE's prior second moment of the sub-products (:data:`uepmm.prior.PRIORS`, decoder
        ``"lmmse"`` only): ``"diagonal"`` (energies from the block norms, uncorrelated; the default),
        ``"probe"`` (their Gram matrix ``R_kl = <P_k, P_l>_F`` from ``probes`` random probes, no
        block product, :func:`uepmm.prior.probe_gram`), ``"auto"`` (the probe's ``R`` when its
        off-diagonal correlation exceeds :data:`uepmm.prior.AUTO_CORRELATION`, else ``"diagonal"``) or
        ``"exact"`` (the exact ``R``: costs every block product; an oracle for measurements).
    probes : int
        Random vectors of the probe (``q >= 1``; its error shrinks as ``1/sqrt(q)``).
    probe_seed : int
        Seed of the probe's ``numpy.random.Generator`` (separate from ``seed``, so that
        the prior is the same for every trial of a job).
    adaptive : bool
        A worker that finishes before the deadline takes another packet, chosen from what is
        recovered then (:mod:`uepmm.adaptive`: the open window with the largest ``Γ`` per running
        packet for NOW/EW, a fresh row for MDS, a copy of the longest-running unfinished task for
        uncoded and repetition); on Dask the rule runs while the job runs (pull execution, needs
        ``latency=None``).  ``False`` (the default): one packet per worker.

    Examples
    --------
    A specification is checked once, when it is made, and copied with changes:

    >>> import uepmm
    >>> spec = uepmm.JobSpec(code="now", partition="rxc", blocks=4, workers=8)
    >>> spec.with_(deadline=1.0).deadline
    1.0
    >>> uepmm.JobSpec(partition="diag")
    Traceback (most recent call last):
    ...
    ValueError: unknown partition 'diag'; valid values are 'rxc', 'cxr'
    """

    code: str | Code = "ew"
    partition: str = "cxr"
    blocks: int | tuple[int, int] = 9
    workers: int = 15
    deadline: float = math.inf
    latency: LatencyModel | None = Exponential(1.0)
    gamma: tuple[float, ...] | str | None = None
    copies: int | None = None
    classes: ClassTable | ClassRule | str | None = None
    class_counts: tuple[int, ...] | None = None
    statistic: str = "fro"
    reorder: bool = True
    omega: float | str = "paper"
    encoding: str = "direct"
    fidelity: str = "full"
    backend: Any = "simulated"
    decoder: str | Decoder = "lmmse"
    cost: str = "equal"
    prior: str = "diagonal"
    probes: int = 16
    probe_seed: int = 0
    adaptive: bool = False
    _code: Code = field(init=False, repr=False, compare=False)
    _decoder: Decoder = field(init=False, repr=False, compare=False)
    _grid: tuple[int, int] = field(init=False, repr=False, compare=False)
    _omega: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        set_("partition", choice(self.partition, "partition", PARTITIONS))
        if isinstance(self.blocks, list):
            set_("blocks", tuple(self.blocks))
        set_("_grid", block_grid(self.partition, self.blocks))
        K = self._grid[0] * self._grid[1]
        set_("workers", positive_int(self.workers, "workers"))
        if isinstance(self.deadline, bool) or not isinstance(self.deadline, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"deadline must be a number (use float('inf') to wait for every worker), got {self.deadline!r}"
            )
        set_("deadline", positive_float(self.deadline, "deadline", allow_zero=True, allow_inf=True))
        if self.latency is not None and not isinstance(self.latency, LatencyModel):
            raise TypeError(
                f"latency must be a uepmm latency model such as uepmm.Exponential(rate=1.0), or None; "
                f"got {self.latency!r}"
            )
        if isinstance(self.gamma, str):
            if self.gamma != "auto":
                raise ValueError(f"gamma must be window probabilities (one per class) or 'auto', got {self.gamma!r}")
        elif self.gamma is not None and not isinstance(self.gamma, tuple):
            try:
                set_("gamma", tuple(float(g) for g in self.gamma))
            except (TypeError, ValueError):
                raise TypeError(
                    f"gamma must be a sequence of probabilities, one per class, got {self.gamma!r}"
                ) from None
        if self.auto_gamma:
            set_("_code", make_code(self.code, copies=self.copies))
            if not self._code.uses_window_probabilities:
                raise ValueError(
                    f"gamma='auto' designs window probabilities: use code='now' or 'ew', not {self.code!r}"
                )
            if not self._code.designable_gamma:
                raise ValueError(
                    f"gamma='auto' cannot design the windows of code {self._code.name!r} yet (uepmm.design models "
                    f"NOW and EW): give its window probabilities, one per class, e.g. gamma=(0.4, 0.3, 0.3)"
                )
        else:
            set_("_code", make_code(self.code, gamma=self.gamma, copies=self.copies))
        set_("_code", self._code.for_layout(self.partition, self._grid))  # e.g. polynomial codes need (N, P)
        set_("classes", self._class_table(K))
        set_("class_counts", self._counts(K))
        set_("statistic", choice(self.statistic, "statistic", STATISTICS))
        if not isinstance(self.reorder, bool):
            raise TypeError(f"reorder must be True or False, got {self.reorder!r}")
        if isinstance(self.omega, str):
            if self.omega != "paper":
                raise ValueError(
                    f"omega must be a positive number or 'paper' (K / workers, Remark 1), got {self.omega!r}"
                )
        else:
            set_("omega", positive_float(self.omega, "omega"))
        set_("_omega", paper_omega(K, self.workers) if self.omega == "paper" else float(self.omega))
        set_("encoding", choice(self.encoding, "encoding", ENCODINGS))
        set_("fidelity", choice(self.fidelity, "fidelity", FIDELITIES))
        if isinstance(self.backend, str):
            set_("backend", choice(self.backend, "backend", BACKENDS))
            if self.backend == "dask" and self.fidelity != "full":
                raise ValueError("backend 'dask' computes real packets: use fidelity='full'")
            if self.backend == "dask" and self._code.simulator_only:
                raise ValueError(
                    f"code {self._code.name!r} runs on the simulated backend only: {self._code.simulator_only}; "
                    f"use backend='simulated'"
                )
            if self.backend == "dask" and self._code.needs_pull and self.latency is not None:
                raise ValueError(
                    f"code {self._code.name!r} runs on Dask without model delays only ({self._code.needs_pull}); "
                    f"pass latency=None, or use backend='simulated' for the latency model"
                )
        elif not callable(getattr(self.backend, "packets", None)):
            raise TypeError(
                f"backend must be one of {', '.join(map(repr, BACKENDS))} or a backend object with a "
                f"packets(job) method, got {self.backend!r}"
            )
        set_("_decoder", make_decoder(self.decoder))
        set_("cost", choice(self.cost, "cost", COSTS))
        set_("prior", choice(self.prior, "prior", PRIORS))
        set_("probes", positive_int(self.probes, "probes"))
        set_("probe_seed", positive_int(self.probe_seed, "probe_seed", minimum=0))
        if self.prior != "diagonal" and not self._decoder.needs_energies:
            raise ValueError(
                f"prior={self.prior!r} is the prior of decoder 'lmmse'; decoder {self._decoder.name!r} uses no "
                f"prior: pass decoder='lmmse' or drop prior"
            )
        if not isinstance(self.adaptive, (bool, np.bool_)):
            raise TypeError(f"adaptive must be True or False, got {self.adaptive!r}")
        set_("adaptive", bool(self.adaptive))
        if self.adaptive:
            if self._code.adaptive_rule is None:
                raise ValueError(
                    f"adaptive=True: code {self._code.name!r} takes no adaptive packets: "
                    f"{self._code.adaptive_refusal}; pass adaptive=False"
                )
            if self._decoder.name == "unbiased":
                raise ValueError(
                    "adaptive=True: decoder 'unbiased' scales by the decoding probabilities of i.i.d. packets, and "
                    "adaptive packets are chosen from what is recovered; use decoder='lmmse' or 'zero'"
                )
            if not (self.backend in ("simulated", "dask") or getattr(self.backend, "name", None) == "dask"):
                raise ValueError(
                    "adaptive=True: adaptive packets run on the simulated backend and on Dask; use "
                    "backend='simulated' or 'dask', or adaptive=False"
                )
            if self.live_adaptive and self.latency is not None:
                raise ValueError(
                    "adaptive=True on Dask chooses packets while the job runs (pull execution), without model "
                    "delays: pass latency=None, or use backend='simulated' for the latency model"
                )
        # the code must accept these classes and workers (uncoded: W = K; repetition: W = copies * K)
        if not self.auto_gamma:  # with 'auto', Γ is designed per job (uepmm.design.auto)
            self._code.check(self.uniform_classes, self.workers)

    def _class_table(self, K: int) -> ClassTable | ClassRule | None:
        classes = self.classes
        if classes is None:
            return None
        if isinstance(classes, (str, ClassRule)):
            if self.class_counts is not None:
                raise ValueError(
                    f"give either classes={classes!r} (a rule that sets the class sizes) or class_counts, not both"
                )
            rule = make_class_rule(classes).for_layout(self.partition, self._grid)
            if rule.designed and not self.auto_gamma:
                raise ValueError(
                    f"classes={rule.name!r} chooses the window structure together with Γ for each job: give "
                    "gamma='auto', or a fixed structure (classes='rectangles', 'singletons' or "
                    "class_counts=(k_1, ..., k_L))"
                )
            return rule
        if not isinstance(classes, ClassTable):
            classes = ClassTable(tuple(_int_list(classes, "classes")))
        if self.class_counts is not None:
            raise ValueError("give either classes (a class per sub-product) or class_counts (k_1..k_L), not both")
        if classes.num_products != K:
            raise ValueError(
                f"classes names {classes.num_products} sub-products but the partition has K = {K}; "
                f"give one class per sub-product"
            )
        return classes

    def _counts(self, K: int) -> tuple[int, ...] | None:
        if self.classes is not None:
            return None
        counts = (
            self.default_class_counts(K)
            if self.class_counts is None
            else int_sequence(self.class_counts, "class_counts")
        )
        if sum(counts) != K:
            raise ValueError(f"class_counts {counts} sum to {sum(counts)} but the partition has K = {K} sub-products")
        return tuple(counts)

    @staticmethod
    def default_class_counts(num_products: int) -> tuple[int, ...]:
        """Class sizes when none are given: three near-equal classes."""
        return equal_counts(num_products, DEFAULT_CLASSES)

    # ------------------------------------------------------------------ derived
    @property
    def code_object(self) -> Code:
        """The :class:`~uepmm.codes.Code` (built from ``code``, ``gamma`` and ``copies``)."""
        return self._code

    @property
    def auto_gamma(self) -> bool:
        """``gamma="auto"``: the window probabilities are designed for each job (:mod:`uepmm.design.auto`)."""
        return isinstance(self.gamma, str)

    @property
    def decoder_object(self) -> Decoder:
        """The :class:`~uepmm.decoders.Decoder` that forms ``C_hat``."""
        return self._decoder

    @property
    def grid(self) -> tuple[int, int]:
        """``(N, P)`` for r×c, ``(M, 1)`` for c×r."""
        return self._grid

    @property
    def num_products(self) -> int:
        """``K``: sub-products per product (``N*P`` or ``M``)."""
        return self._grid[0] * self._grid[1]

    @property
    def live_adaptive(self) -> bool:
        """Adaptive packets chosen while the job runs (on Dask), not drawn ahead by the simulation."""
        return bool(self.adaptive) and (self.backend == "dask" or getattr(self.backend, "name", None) == "dask")

    @property
    def omega_value(self) -> float:
        """``Ω`` (``K / W`` for ``omega="paper"``, Remark 1)."""
        return self._omega

    @property
    def uniform_classes(self) -> ClassTable:
        """The class table with the sub-products already in importance order (class sizes only)."""
        if isinstance(self.classes, ClassRule):
            return self.classes.uniform_table()
        return self.classes or ClassTable(tuple(c for c, n in enumerate(self.class_counts) for _ in range(n)))

    @property
    def counts(self) -> tuple[int, ...]:
        """``(k_1..k_L)``: sub-products per class."""
        return self.uniform_classes.counts if self.classes is not None else self.class_counts

    def with_(self, **changes: Any) -> JobSpec:
        """A copy with some fields changed (validated again)."""
        if "class_counts" in changes and "classes" not in changes:
            changes["classes"] = None
        if "classes" in changes and "class_counts" not in changes:
            changes["class_counts"] = None
        return replace(self, **changes)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The settings a caller can give (the constructor's keywords)."""
        return tuple(f.name for f in fields(cls) if f.init)


def _int_list(values: Sequence[int], name: str) -> list[int]:
    try:
        out = [int(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of integer class indices, got {values!r}") from None
    if any(o != v for o, v in zip(out, values)):
        raise TypeError(f"{name} must hold integers, got {values!r}")
    return out
