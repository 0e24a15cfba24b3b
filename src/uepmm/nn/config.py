"""Configuration of coded back-propagation: what a :class:`~uepmm.nn.CodedLinear` hands the engine.

:class:`CodingConfig` is the :class:`uepmm.JobSpec` of ONE coded product, with the training defaults;
:class:`ThresholdSchedule` is the sparsification of paper eq. (28) with its per-layer, per-epoch thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._validation import positive_float
from ..codes import Code
from ..importance import equal_counts
from ..latency import Exponential, LatencyModel
from ..paper import SEC7_RATE, TABLE8_COUNTS
from ..scheme import Scheme, get_scheme
from ..spec import JobSpec

__all__ = ["CodingConfig", "ThresholdSchedule", "default_class_counts"]

#: Rate of the exponential response time in Sec. VII-C.
PAPER_RATE = SEC7_RATE


def default_class_counts(num_products: int) -> tuple[int, ...]:
    """Table VIII's ``(1, 2, 6)`` when ``K = 9``; otherwise three near-equal classes."""
    return TABLE8_COUNTS if num_products == sum(TABLE8_COUNTS) else equal_counts(num_products, 3)


@dataclass(frozen=True)
class CodingConfig(JobSpec):
    """A :class:`uepmm.JobSpec` with the training defaults of Sec. VII-C.

    EW-UEP over ``M = 9`` column-times-row blocks, ``W = 15`` workers, exponential response
    times of rate 0.5 scaled by ``Ω = K / W``, deadline 1, importance by mean magnitude with
    the class sizes of Table VIII and the window probabilities of Table III, and
    ``fidelity="fast"``, and the paper's zero-fill decoder (``decoder="lmmse"`` or
    ``"unbiased"`` go beyond it; docs/beyond.md).  Every field is a :class:`~uepmm.JobSpec`
    field, validated once.

    ``fidelity="fast"`` with the simulated backend runs the lean per-product path of
    :mod:`uepmm.nn.lean` (the engine's draw and decoder, products in torch);
    ``fidelity="full"`` or ``backend="dask"`` calls :func:`uepmm.coded_matmul` itself.

    Examples
    --------
    >>> from uepmm.nn import CodingConfig
    >>> config = CodingConfig()
    >>> config.code, config.partition, config.blocks, config.workers, config.class_counts
    ('ew', 'cxr', 9, 15, (1, 2, 6))
    >>> CodingConfig(code="mds", deadline=2.0).deadline
    2.0
    """

    deadline: float = 1.0
    latency: LatencyModel | None = field(default_factory=lambda: Exponential(PAPER_RATE))
    statistic: str = "mean_abs"
    fidelity: str = "fast"
    decoder: str = "zero"

    @staticmethod
    def default_class_counts(num_products: int) -> tuple[int, ...]:
        return default_class_counts(num_products)

    @property
    def lean(self) -> bool:
        """Whether this product runs the lean in-torch path (fast fidelity, simulated backend)."""
        return self.fidelity == "fast" and self.backend == "simulated"

    def make_code(self) -> Code:
        return self.code_object

    @classmethod
    def from_scheme(cls, scheme: str | Scheme, **settings: Any) -> CodingConfig:
        """A :class:`CodingConfig` for a named scheme (:data:`uepmm.SCHEMES`) with the training
        defaults and ``settings`` (:meth:`uepmm.Scheme.spec`: ``workers`` is the ``W`` it is given,
        and a setting that contradicts the scheme is a ``ValueError``).

        Examples
        --------
        >>> from uepmm.nn import CodingConfig
        >>> config = CodingConfig.from_scheme("ew+", partition="rxc", blocks=(3, 3), workers=15)
        >>> config.code, config.decoder, config.gamma, config.class_counts, config.fidelity
        ('ew', 'lmmse', 'auto', (1, 2, 6), 'fast')
        """
        return get_scheme(scheme).spec(cls, **settings)


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

    Examples
    --------
    Epoch 0, layer 0 uses the thresholds of Sec. VII-B; they double per epoch (up to 8×) and
    per layer:

    >>> import math
    >>> from uepmm.nn import ThresholdSchedule
    >>> schedule = ThresholdSchedule()
    >>> schedule.thresholds(0, 0)
    (1e-05, 0.0001, 0.0001)
    >>> all(math.isclose(a, 16 * b) for a, b in zip(schedule.thresholds(1, 3), schedule.thresholds(0, 0)))
    True
    >>> schedule.factor(0, 10)  # the epoch growth stops at max_epoch_factor
    8.0
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
    def fixed(cls, gradient: float = 1e-5, weight: float = 1e-4, input: float = 1e-4) -> ThresholdSchedule:
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

