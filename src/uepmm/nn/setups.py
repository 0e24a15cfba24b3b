"""The training setups of paper Sec. VII-C as layer factories.

Schemes (colours of Sec. VII-C / Fig. 16):

=========== ==== ============================================= =========
scheme      W    code                                          Ω = 9 / W
=========== ==== ============================================= =========
centralized --   exact products, no stragglers (the benchmark) --
uncoded     9    one sub-product per worker                    1
now         15   NOW-UEP, classes (1, 2, 6), Γ = Table III     0.6
ew          15   EW-UEP, classes (1, 2, 6), Γ = Table III      0.6
repetition  18   every sub-product on 2 workers                0.5
=========== ==== ============================================= =========

All coded schemes: exponential response times of rate ``λ = 0.5`` scaled as ``F(Ω t)``
(Remark 1), deadline ``T_max``, ``K = 9`` sub-products (r×c: ``N = P = 3``; c×r:
``M = 9``), rows/columns ordered by descending mean magnitude (statistic
``"mean_abs"``), the sparsification schedule of :class:`ThresholdSchedule`.  Every
dense layer codes both backward products, except (CIFAR-10, Sec. VII-C) the last
layer's eq. (27), which uses the uncoded scheme (``W = 9``) whatever the layer's scheme.
The centralized scheme applies the same sparsification with exact products, so the
schemes differ only by stragglers.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from .._validation import choice
from ..codes import make_code
from ..latency import Exponential
from ..paper import TABLE3_GAMMA, TABLE7_WORKERS, TABLE8_COUNTS
from .coded_linear import CodedLinear
from .config import PAPER_RATE, CodingConfig, ThresholdSchedule

__all__ = [
    "SCHEMES",
    "CODED_SCHEMES",
    "DATASETS",
    "PAPER_DEADLINES",
    "TABLE7_WORKERS",
    "scheme_coding",
    "paper_linear_factory",
]

SCHEMES = ("centralized", "uncoded", "now", "ew", "repetition")
CODED_SCHEMES = SCHEMES[1:]
DATASETS = ("mnist", "cifar10")
#: Sec. VII-C: the deadlines of Figs. 13-15.
PAPER_DEADLINES = (0.25, 0.5, 1.0, 2.0)
#: Table VII: workers per scheme.


def scheme_coding(
    scheme: str,
    partition: str = "rxc",
    deadline: float = 1.0,
    *,
    rate: float = PAPER_RATE,
    fidelity: str = "fast",
    decoder: str = "zero",
    gamma: str | tuple[float, ...] | None = None,
) -> CodingConfig | None:
    """The :class:`CodingConfig` of a Sec. VII-C scheme (``None`` for ``"centralized"``).

    ``decoder`` and ``gamma`` go beyond the paper (``"zero"`` and Table III by default):
    ``gamma`` is window probabilities or ``"auto"`` and applies to the NOW/EW schemes only.
    """
    scheme = choice(scheme, "scheme", SCHEMES)
    if scheme == "centralized":
        return None
    windows = make_code(scheme).uses_window_probabilities
    return CodingConfig(
        code=scheme,  # repetition: 18 workers / 9 sub-products = 2 copies
        gamma=(TABLE3_GAMMA if gamma is None else gamma) if windows else None,
        decoder=decoder,
        partition=partition,
        blocks=(3, 3) if partition == "rxc" else 9,
        workers=TABLE7_WORKERS[scheme],
        deadline=deadline,
        latency=Exponential(rate),
        class_counts=TABLE8_COUNTS,
        statistic="mean_abs",
        omega="paper",
        fidelity=fidelity,
    )


def paper_linear_factory(
    dataset: str,
    scheme: str,
    partition: str = "rxc",
    deadline: float = 1.0,
    *,
    seed: int = 0,
    thresholds: ThresholdSchedule | None = ThresholdSchedule(),
    fidelity: str = "fast",
    num_dense: int = 3,
    track_loss: bool = False,
    on_product: Callable | None = None,
    init: str = "keras",
    decoder: str = "zero",
    gamma: str | tuple[float, ...] | None = None,
) -> Callable[[int, int, int], CodedLinear]:
    """A ``linear(in_features, out_features, layer_index)`` factory for the models of
    :mod:`uepmm.nn.models` that builds the paper's coded dense layers.

    ``num_dense`` is the number of dense layers (3 in both paper models); for CIFAR-10 the
    last one's eq. (27) uses the uncoded scheme (Sec. VII-C).  ``init="keras"`` (default)
    initialises each layer as Keras' ``Dense`` does (Glorot-uniform weights, zero bias):
    the paper's networks are Keras models (Tables IV-V), and with plain SGD at lr 0.01 this
    initialisation learns MNIST several times faster in the first few hundred iterations
    than torch's default; ``init="torch"`` keeps ``torch.nn.Linear``'s.  ``decoder`` and
    ``gamma``: see :func:`scheme_coding`.
    """
    dataset = choice(dataset, "dataset", DATASETS)
    init = choice(init, "init", ("keras", "torch"))
    scheme = choice(scheme, "scheme", SCHEMES)
    if scheme != "centralized" and (isinstance(deadline, bool) or not isinstance(deadline, (int, float))):
        raise TypeError(f"deadline must be a number, got {deadline!r}")
    coding = scheme_coding(scheme, partition, deadline if scheme != "centralized" else math.inf, fidelity=fidelity,
                           decoder=decoder, gamma=gamma)

    def linear(in_features: int, out_features: int, layer_index: int) -> CodedLinear:
        if coding is None:
            layer = CodedLinear(
                in_features, out_features, grad_input=False, grad_weight=False, thresholds=thresholds,
                seed=seed, layer_index=layer_index,
            )
        else:
            grad_weight: bool | CodingConfig = True
            if dataset == "cifar10" and layer_index == num_dense - 1 and scheme != "uncoded":
                grad_weight = scheme_coding("uncoded", partition, deadline, fidelity=fidelity, decoder=decoder)
            layer = CodedLinear(
                in_features, out_features, coding=coding, grad_weight=grad_weight, thresholds=thresholds,
                seed=seed, layer_index=layer_index, track_loss=track_loss, on_product=on_product,
            )
        if init == "keras":
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        return layer

    return linear
