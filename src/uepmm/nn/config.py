"""Configuration of coded back-propagation: what a :class:`~uepmm.nn.CodedLinear` hands the engine.

:class:`CodingConfig` holds the engine settings of ONE coded product (the arguments of
:func:`uepmm.coded_matmul` that do not depend on the data); :class:`ThresholdSchedule` is
the sparsification of paper eq. (28) with its per-layer, per-epoch thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .._validation import choice, int_sequence, positive_float, positive_int
from ..backends import BACKENDS
from ..backends.simulated import FIDELITIES
from ..codes import Code, make_code
from ..importance import STATISTICS, TABLE8_COUNTS, ClassTable, equal_counts
from ..latency import Exponential, LatencyModel
from ..paper import SEC7_RATE
from ..partition import PARTITIONS

__all__ = ["CodingConfig", "ThresholdSchedule", "default_class_counts"]

#: Rate of the exponential response time in Sec. VII-C.
PAPER_RATE = SEC7_RATE


def _num_products(partition: str, blocks: int | tuple[int, int]) -> int:
    if partition == "rxc":
        if isinstance(blocks, (tuple, list)):
            if len(blocks) != 2:
                raise ValueError(f"blocks for partition 'rxc' must be (N, P) or an int N*N, got {blocks!r}")
            return positive_int(blocks[0], "blocks[0]") * positive_int(blocks[1], "blocks[1]")
        k = positive_int(blocks, "blocks")
        n = int(round(k**0.5))
        if n * n != k:
            raise ValueError(f"blocks={k} for partition 'rxc' must be a perfect square (N = P); pass blocks=(N, P)")
        return k
    if isinstance(blocks, (tuple, list)):
        raise TypeError(f"blocks for partition 'cxr' must be an int M, got {blocks!r}")
    return positive_int(blocks, "blocks")


def default_class_counts(num_products: int) -> tuple[int, ...]:
    """Table VIII's ``(1, 2, 6)`` when ``K = 9``; otherwise three near-equal classes."""
    return TABLE8_COUNTS if num_products == sum(TABLE8_COUNTS) else equal_counts(num_products, 3)


@dataclass(frozen=True)
class CodingConfig:
    """Engine settings for one coded product (see :func:`uepmm.coded_matmul` for each field).

    Defaults follow Sec. VII-C: EW-UEP over ``M = 9`` column-times-row blocks, ``W = 15``
    workers, exponential response times of rate 0.5 scaled by ``Ω = K / W``, deadline 1,
    importance by mean magnitude with the class sizes of Table VIII and the window
    probabilities of Table III, and ``fidelity="fast"``.

    ``fidelity="fast"`` with the simulated backend runs the lean per-product path of
    :mod:`uepmm.nn.lean` (same draws and decoder as ``coded_matmul``, products in torch);
    ``fidelity="full"`` or ``backend="dask"`` calls :func:`uepmm.coded_matmul` itself.
    """

    code: str | Code = "ew"
    partition: str = "cxr"
    blocks: int | tuple[int, int] = 9
    workers: int = 15
    deadline: float = 1.0
    latency: LatencyModel | None = field(default_factory=lambda: Exponential(PAPER_RATE))
    gamma: tuple[float, ...] | None = None
    copies: int | None = None
    class_counts: tuple[int, ...] | None = None
    statistic: str = "mean_abs"
    reorder: bool = True
    omega: float | str = "paper"
    fidelity: str = "fast"
    backend: Any = "simulated"

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        set_("partition", choice(self.partition, "partition", PARTITIONS))
        if isinstance(self.blocks, list):
            set_("blocks", tuple(self.blocks))
        K = _num_products(self.partition, self.blocks)
        set_("workers", positive_int(self.workers, "workers"))
        if isinstance(self.deadline, bool) or not isinstance(self.deadline, (int, float)):
            raise TypeError(f"deadline must be a number (float('inf') waits for every worker), got {self.deadline!r}")
        set_("deadline", positive_float(self.deadline, "deadline", allow_zero=True, allow_inf=True))
        if self.latency is not None and not isinstance(self.latency, LatencyModel):
            raise TypeError(f"latency must be a uepmm latency model such as uepmm.Exponential(0.5), or None; got {self.latency!r}")
        if self.gamma is not None:
            set_("gamma", tuple(float(g) for g in self.gamma))
        counts = default_class_counts(K) if self.class_counts is None else int_sequence(self.class_counts, "class_counts")
        if sum(counts) != K:
            raise ValueError(f"class_counts {counts} sum to {sum(counts)} but the partition has K = {K} sub-products")
        set_("class_counts", tuple(counts))
        set_("statistic", choice(self.statistic, "statistic", STATISTICS))
        if not isinstance(self.reorder, bool):
            raise TypeError(f"reorder must be True or False, got {self.reorder!r}")
        if isinstance(self.omega, str):
            if self.omega != "paper":
                raise ValueError(f"omega must be a positive number or 'paper' (K / workers), got {self.omega!r}")
        else:
            set_("omega", positive_float(self.omega, "omega"))
        set_("fidelity", choice(self.fidelity, "fidelity", FIDELITIES))
        if isinstance(self.backend, str):
            set_("backend", choice(self.backend, "backend", BACKENDS))
            if self.backend == "dask" and self.fidelity != "full":
                raise ValueError("backend 'dask' computes real packets: use fidelity='full'")
        # The code must accept these classes and workers (uncoded: W = K; repetition: W = copies * K).
        code = make_code(self.code, gamma=self.gamma, copies=self.copies)
        code.check(ClassTable(tuple(c for c, n in enumerate(counts) for _ in range(n))), self.workers)

    # ------------------------------------------------------------------ derived
    @property
    def num_products(self) -> int:
        """``K``: sub-products per product (``N*P`` or ``M``)."""
        return _num_products(self.partition, self.blocks)

    @property
    def omega_value(self) -> float:
        """``Ω`` (``K / W`` for ``omega="paper"``, Remark 1)."""
        return self.num_products / self.workers if self.omega == "paper" else float(self.omega)

    @property
    def lean(self) -> bool:
        """Whether this product runs the lean in-torch path (fast fidelity, simulated backend)."""
        return self.fidelity == "fast" and self.backend == "simulated"

    def make_code(self) -> Code:
        return make_code(self.code, gamma=self.gamma, copies=self.copies)

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`uepmm.coded_matmul` (all but ``A``, ``B``, ``seed``)."""
        return {
            "code": self.code,
            "partition": self.partition,
            "blocks": self.blocks,
            "workers": self.workers,
            "deadline": self.deadline,
            "latency": self.latency,
            "gamma": self.gamma,
            "copies": self.copies,
            "class_counts": self.class_counts,
            "statistic": self.statistic,
            "reorder": self.reorder,
            "omega": self.omega,
            "fidelity": self.fidelity,
            "backend": self.backend,
        }

    def with_(self, **changes: Any) -> "CodingConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class ThresholdSchedule:
    """Sparsification ``R(x) = x 1(|x| > τ)`` of paper eq. (28) for the operands of eqs. (26)-(27).

    Sec. VII-B: ``τ = 1e-5`` for the gradient inputs ``G_(i+1)`` and ``1e-4`` for the weights
    ``V_i`` and the layer inputs ``X_i``; the thresholds grow with the epoch and deeper
    layers are sparser.  The exact schedule used here::

        τ(kind, layer i, epoch e) = base[kind] * min(epoch_growth ** e, max_epoch_factor)
                                              * depth_growth ** i

    with ``i = 0`` the first dense layer and ``e = 0`` the first epoch.  Defaults:
    ``base = (gradient 1e-5, weight 1e-4, input 1e-4)``, ``epoch_growth = 2``,
    ``max_epoch_factor = 8``, ``depth_growth = 2`` -- so in epoch 0 layer 0 uses exactly the
    thresholds of Sec. VII-B, and no threshold grows past 8x per-layer over training.
    Only the operands of the two backward products are thresholded; the stored weights,
    the forward pass and the bias gradient are untouched.
    """

    gradient: float = 1e-5
    weight: float = 1e-4
    input: float = 1e-4
    epoch_growth: float = 2.0
    depth_growth: float = 2.0
    max_epoch_factor: float = 8.0

    def __post_init__(self) -> None:
        for name in ("gradient", "weight", "input"):
            positive_float(getattr(self, name), name, allow_zero=True)
        for name in ("epoch_growth", "depth_growth", "max_epoch_factor"):
            value = positive_float(getattr(self, name), name)
            if value < 1.0:
                raise ValueError(f"{name} must be >= 1 (thresholds never shrink), got {value}")

    @classmethod
    def fixed(cls, gradient: float = 1e-5, weight: float = 1e-4, input: float = 1e-4) -> "ThresholdSchedule":
        """Constant thresholds (no growth over epochs or depth), e.g. for Table II."""
        return cls(gradient, weight, input, 1.0, 1.0, 1.0)

    def factor(self, layer_index: int, epoch: int) -> float:
        """The multiplier applied to the base thresholds."""
        epoch_factor = min(self.epoch_growth ** max(int(epoch), 0), self.max_epoch_factor)
        return epoch_factor * self.depth_growth ** max(int(layer_index), 0)

    def thresholds(self, layer_index: int, epoch: int) -> tuple[float, float, float]:
        """``(τ_gradient, τ_weight, τ_input)`` for a layer in an epoch."""
        f = self.factor(layer_index, epoch)
        return self.gradient * f, self.weight * f, self.input * f

