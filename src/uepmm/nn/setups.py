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

Every other named scheme of :data:`uepmm.SCHEMES` (``ew+``, ``now+``, ``mds``, ``speculative``, ...,
:data:`RUN_SCHEMES`) runs with the same settings and ``W = 15`` (Table VII's for NOW/EW; its task
rule may use fewer, ``Ω = 9 / 15`` either way), its own decoder and Γ (:meth:`uepmm.Scheme.spec`).

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
from ..scheme import SCHEMES as NAMED_SCHEMES
from ..scheme import get_scheme
from .coded_linear import CodedLinear
from .config import PAPER_RATE, CodingConfig, ThresholdSchedule

__all__ = [
    "SCHEMES",
    "CODED_SCHEMES",
    "RUN_SCHEMES",
    "NAMED_SCHEME_WORKERS",
    "DATASETS",
    "PAPER_DEADLINES",
    "TABLE7_WORKERS",
    "scheme_coding",
    "paper_linear_factory",
]

SCHEMES = ("centralized", "uncoded", "now", "ew", "repetition")
CODED_SCHEMES = SCHEMES[1:]
#: Every scheme a run may use: the paper's, then the other named schemes of :data:`uepmm.SCHEMES`.
RUN_SCHEMES = SCHEMES + tuple(name for name in NAMED_SCHEMES if name not in SCHEMES)
#: Workers ``W`` given to a named scheme outside the paper's (Table VII's for NOW and EW).
NAMED_SCHEME_WORKERS = TABLE7_WORKERS["ew"]
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
    decoder: str | None = None,
    gamma: str | tuple[float, ...] | None = None,
    cost: str = "equal",
) -> CodingConfig | None:
    """The :class:`CodingConfig` of a Sec. VII-C scheme (``None`` for ``"centralized"``), or of a
    named scheme of :data:`uepmm.SCHEMES` with the same settings and ``W = 15`` (module docstring).

    ``decoder`` and ``gamma`` go beyond the paper (``"zero"`` and Table III when ``None``):
    ``gamma`` is window probabilities or ``"auto"`` and applies to the NOW/EW schemes only.
    A named scheme fixes its decoder (``None``: take it) and may fix Γ; a contradicting
    ``decoder`` or ``gamma`` is a ``ValueError``.  ``cost`` is the response-time cost model
    (:data:`uepmm.spec.COSTS`): ``"equal"``, the paper's, or ``"work"`` (a packet's time scales
    with the block products it computes).
    """
    scheme = choice(scheme, "scheme", RUN_SCHEMES)
    if scheme == "centralized":
        return None
    if scheme not in SCHEMES:
        base = CodingConfig(partition=partition, blocks=(3, 3) if partition == "rxc" else 9, deadline=deadline,
                            latency=Exponential(rate), class_counts=TABLE8_COUNTS, statistic="mean_abs",
                            omega="paper", fidelity=fidelity, cost=cost)
        return get_scheme(scheme).spec(base, workers=NAMED_SCHEME_WORKERS, decoder=decoder, gamma=gamma)
    decoder = "zero" if decoder is None else decoder
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
        cost=cost,
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
    decoder: str | None = None,
    gamma: str | tuple[float, ...] | None = None,
    cost: str = "equal",
) -> Callable[[int, int, int], CodedLinear]:
    """A ``linear(in_features, out_features, layer_index)`` factory for the models of
    :mod:`uepmm.nn.models` that builds the paper's coded dense layers.

    ``num_dense`` is the number of dense layers (3 in both paper models); for CIFAR-10 the
    last one's eq. (27) uses the uncoded scheme (Sec. VII-C).  ``init="keras"`` (default)
    initialises each layer as Keras' ``Dense`` does (Glorot-uniform weights, zero bias):
    the paper's networks are Keras models (Tables IV-V), and with plain SGD at lr 0.01 this
    initialisation learns MNIST several times faster in the first few hundred iterations
    than torch's default; ``init="torch"`` keeps ``torch.nn.Linear``'s.  ``decoder``,
    ``gamma`` and ``cost``: see :func:`scheme_coding`.
    """
    dataset = choice(dataset, "dataset", DATASETS)
    init = choice(init, "init", ("keras", "torch"))
    scheme = choice(scheme, "scheme", RUN_SCHEMES)
    if scheme != "centralized" and (isinstance(deadline, bool) or not isinstance(deadline, (int, float))):
        raise TypeError(f"deadline must be a number, got {deadline!r}")
    coding = scheme_coding(scheme, partition, deadline if scheme != "centralized" else math.inf, fidelity=fidelity,
                           decoder=decoder, gamma=gamma, cost=cost)

    def linear(in_features: int, out_features: int, layer_index: int) -> CodedLinear:
        if coding is None:
            layer = CodedLinear(
                in_features, out_features, grad_input=False, grad_weight=False, thresholds=thresholds,
                seed=seed, layer_index=layer_index,
            )
        else:
            grad_weight: bool | CodingConfig = True
            if dataset == "cifar10" and layer_index == num_dense - 1 and scheme != "uncoded":
                grad_weight = scheme_coding("uncoded", partition, deadline, fidelity=fidelity, decoder=decoder,
                                            cost=cost)
            layer = CodedLinear(
                in_features, out_features, coding=coding, grad_weight=grad_weight, thresholds=thresholds,
                seed=seed, layer_index=layer_index, track_loss=track_loss, on_product=on_product,
            )
        if init == "keras":
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        return layer

    return linear
