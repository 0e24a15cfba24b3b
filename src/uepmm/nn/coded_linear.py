"""``CodedLinear``: a ``torch.nn.Linear`` whose back-propagation products are coded (Sec. VII).

Forward is exact (paper eq. 25, ``O = X V + b``; torch stores ``V^T`` as ``weight``).
Backward computes the two products of the paper through the coded engine:

* eq. (26) ``G_i = G_(i+1) V_i^T``: in torch's convention ``grad_input = grad_out @ weight``,
  i.e. ``A = grad_out`` (batch × out), ``B = weight`` (out × in);
* eq. (27) ``V_i* = X_i^T G_(i+1)``: ``A = X^T`` (in × batch), ``B = grad_out``
  (batch × out); torch's ``grad_weight`` is its transpose.

Both use the paper's orientation, so r×c splits (batch, in) for eq. (26) and (in, out)
for eq. (27), and c×r splits the inner dimension (out for eq. 26, the batch for eq. 27),
as in Table VI.  The bias gradient is exact (the sum of ``grad_out`` over the batch).
Eq. (26) is skipped when the input needs no gradient (the first layer).

Sparsification (eq. 28, :class:`~uepmm.nn.ThresholdSchedule`) is applied to the three
operands ``G_(i+1)``, ``V_i``, ``X_i`` of the backward products when a schedule is given.

Devices: CPU and CUDA tensors both work.  With ``fidelity="fast"`` (default) the lean
path keeps operands and products on their device and copies only per-row/column
statistics to the host (see :mod:`uepmm.nn.lean`).  With ``fidelity="full"`` or the Dask
backend the engine runs in numpy: each coded product copies its two operands to the
host and the estimate back to the device, and nothing else.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..streams import product_rng
from .config import CodingConfig, ThresholdSchedule
from .lean import LeanPlanner, ProductRecord, _mm

__all__ = ["CodedLinear", "coded_layers", "set_epoch", "set_coding_enabled"]

PRODUCTS = ("grad_input", "grad_weight")
_PRODUCT_ID = {"grad_input": 0, "grad_weight": 1}
_CODING_FIELDS = set(CodingConfig.__dataclass_fields__)


def _threshold(x: torch.Tensor, tau: float) -> torch.Tensor:
    """Paper eq. (28): keep entries with ``|x| > tau``, zero the rest (``hardshrink`` is exactly that)."""
    if tau <= 0.0:
        return x
    return torch.nn.functional.hardshrink(x, tau)


class _CodedLinearFunction(torch.autograd.Function):
    """Exact forward; the backward products of eqs. (26)-(27) through the coded engine."""

    @staticmethod
    def forward(ctx, x, weight, bias, layer, step):  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        ctx.layer = layer
        ctx.step = step
        ctx.has_bias = bias is not None
        return torch.nn.functional.linear(x, weight, bias)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        layer: CodedLinear = ctx.layer
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_out = grad_out.contiguous()
        tau_g, tau_w, tau_x = layer.current_thresholds()
        g = _threshold(grad_out, tau_g)
        grad_x = grad_w = grad_b = None
        records: dict[str, ProductRecord | None] = {}
        if need_x:
            w = _threshold(weight, tau_w)
            grad_x, records["grad_input"] = layer._product("grad_input", g, w, ctx.step)  # eq. (26)
        if need_w:
            xs = _threshold(x, tau_x)
            product, records["grad_weight"] = layer._product("grad_weight", xs.t(), g, ctx.step)  # eq. (27)
            grad_w = product.t()
        if ctx.has_bias and need_b:
            grad_b = grad_out.sum(dim=0)
        layer._state.last_results = {k: v for k, v in records.items() if v is not None}
        return grad_x, grad_w, grad_b, None, None


class CodedLinear(nn.Linear):
    """Drop-in ``torch.nn.Linear`` whose backward products are computed by a UEP-coded engine.

    ``CodedLinear(in_features, out_features, bias=True, device=None, dtype=None, *, ...)``
    takes ``torch.nn.Linear``'s arguments plus:

    * ``coding``: a :class:`CodingConfig` for both products, or its fields as keywords
      (``code``, ``partition``, ``blocks``, ``workers``, ``deadline``, ``latency``,
      ``gamma``, ``copies``, ``class_counts``, ``statistic``, ``reorder``, ``omega``,
      ``fidelity``, ``backend``);
    * ``grad_input`` / ``grad_weight``: ``True`` (use ``coding``), ``False`` (leave that
      product uncoded: computed exactly, no stragglers), or a :class:`CodingConfig` of
      its own (e.g. the paper's last CIFAR-10 layer, whose eq. (27) uses the uncoded scheme);
    * ``thresholds``: a :class:`ThresholdSchedule` (eq. 28) or ``None`` (no sparsification);
    * ``seed``: seeds every draw (per product, step and layer; see :meth:`product_seed`);
      ``None`` draws fresh entropy once, at construction;
    * ``layer_index``: 0 for the first dense layer; selects the threshold and the seeds;
    * ``track_loss``: record each product's normalized loss (costs one reduction, and for
      c×r one extra product); ``on_product``: called with each :class:`ProductRecord`.

    ``state_dict()`` carries ``seed`` and ``steps`` (the layer's extra state): loading it into
    another layer makes every later step draw exactly as this one would.

    After a backward pass ``last_results`` maps ``"grad_input"``/``"grad_weight"`` to the
    :class:`ProductRecord` of each coded product.  ``coding_enabled = False`` (or
    :func:`set_coding_enabled`) makes both products exact, e.g. for the CIFAR-10 epochs
    trained without stragglers; ``epoch`` (or :func:`set_epoch`) drives the thresholds.

    Examples
    --------
    With every worker waited for and an MDS code, the coded gradients equal
    ``torch.nn.Linear``'s:

    >>> import torch
    >>> from uepmm.nn import CodedLinear
    >>> layer = CodedLinear(6, 4, code="mds", blocks=2, class_counts=(1, 1), deadline=float("inf"), seed=0)
    >>> plain = torch.nn.Linear(6, 4)
    >>> _ = plain.load_state_dict({"weight": layer.weight.detach(), "bias": layer.bias.detach()})
    >>> x = torch.randn(18, 6, generator=torch.Generator().manual_seed(0))
    >>> layer(x).sum().backward()
    >>> plain(x).sum().backward()
    >>> torch.allclose(layer.weight.grad, plain.weight.grad)
    True
    >>> bool(layer.last_results["grad_weight"].recovered.all())
    True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        coding: CodingConfig | None = None,
        grad_input: bool | CodingConfig = True,
        grad_weight: bool | CodingConfig = True,
        thresholds: ThresholdSchedule | None = None,
        seed: int | None = None,
        layer_index: int = 0,
        track_loss: bool = False,
        on_product: Callable[[ProductRecord], None] | None = None,
        **coding_options: Any,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        unknown = set(coding_options) - _CODING_FIELDS
        if unknown:
            raise TypeError(
                f"CodedLinear got unexpected keyword(s) {sorted(unknown)}; coding options are {sorted(_CODING_FIELDS)}"
            )
        if coding is not None and coding_options:
            raise TypeError("give either coding=CodingConfig(...) or its fields as keywords, not both")
        if coding is None:
            coding = CodingConfig(**coding_options)
        if not isinstance(coding, CodingConfig):
            raise TypeError(f"coding must be a uepmm.nn.CodingConfig, got {type(coding).__name__}")
        self.coding = coding
        self.product_coding: dict[str, CodingConfig | None] = {
            "grad_input": self._resolve(grad_input, "grad_input"),
            "grad_weight": self._resolve(grad_weight, "grad_weight"),
        }
        self._planners = {
            name: LeanPlanner(cfg) for name, cfg in self.product_coding.items() if cfg is not None and cfg.lean
        }
        if thresholds is not None and not isinstance(thresholds, ThresholdSchedule):
            raise TypeError(f"thresholds must be a uepmm.nn.ThresholdSchedule or None, got {thresholds!r}")
        self.thresholds = thresholds
        if isinstance(layer_index, bool) or not isinstance(layer_index, int) or not 0 <= layer_index < 2**16:
            raise ValueError(f"layer_index must be an int in 0..65535 (0 = first dense layer), got {layer_index!r}")
        self.layer_index = layer_index
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TypeError(f"seed must be a non-negative int or None, got {seed!r}")
        self.seed = int(seed)
        if not isinstance(track_loss, bool):
            raise TypeError(f"track_loss must be True or False, got {track_loss!r}")
        self.track_loss = track_loss
        if on_product is not None and not callable(on_product):
            raise TypeError(f"on_product must be callable with a ProductRecord, got {on_product!r}")
        self.on_product = on_product
        self.coding_enabled = True
        self.epoch = 0
        self._state = _StepState()

    # Written every step: kept in a plain object, off nn.Module's attribute protocol
    # (its __setattr__ costs a few microseconds, a visible share of a 1 ms step).
    @property
    def steps(self) -> int:
        """Forward passes that recorded a graph (one per training step)."""
        return self._state.steps

    @steps.setter
    def steps(self, value: int) -> None:
        self._state.steps = int(value)

    @property
    def last_results(self) -> dict[str, ProductRecord]:
        """The :class:`ProductRecord` of each product coded in the last backward pass."""
        return self._state.last_results

    # Seed and step count travel in state_dict, so a loaded layer draws exactly as the saved one would.
    def get_extra_state(self) -> dict[str, int]:
        """``{"seed", "steps"}``: what every later product's random stream depends on."""
        return {"seed": self.seed, "steps": self.steps}

    def set_extra_state(self, state: dict[str, int]) -> None:
        if not isinstance(state, dict) or set(state) != {"seed", "steps"}:
            raise ValueError(f"CodedLinear extra state must be a dict with keys 'seed' and 'steps', got {state!r}")
        self.seed = int(state["seed"])
        self.steps = int(state["steps"])

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        # a plain nn.Linear's state (no seed, no steps) loads too: the layer keeps its own
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        key = prefix + "_extra_state"
        if key in missing_keys:
            missing_keys.remove(key)

    def _resolve(self, value: bool | CodingConfig, name: str) -> CodingConfig | None:
        if isinstance(value, CodingConfig):
            return value
        if isinstance(value, bool):
            return self.coding if value else None
        raise TypeError(f"{name} must be True, False or a uepmm.nn.CodingConfig, got {value!r}")

    # ----------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"CodedLinear expects input (..., {self.in_features}), got {tuple(x.shape)}")
        state = self._state
        step = state.steps
        weight = self.weight
        if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
            state.steps = step + 1
        if x.dim() == 2:
            return _CodedLinearFunction.apply(x, weight, self.bias, self, step)
        out = _CodedLinearFunction.apply(x.reshape(-1, self.in_features), weight, self.bias, self, step)
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        coded = [p for p in PRODUCTS if self.product_coding[p] is not None]
        c = self.coding
        return (
            f"{super().extra_repr()}, code={getattr(c.code, 'name', c.code)!r}, partition={c.partition!r}, "
            f"workers={c.workers}, deadline={c.deadline}, coded={coded}, layer_index={self.layer_index}"
        )

    # ---------------------------------------------------------------- backward
    def current_thresholds(self) -> tuple[float, float, float]:
        """``(τ_gradient, τ_weight, τ_input)`` now (zeros without a schedule)."""
        if self.thresholds is None:
            return 0.0, 0.0, 0.0
        return self.thresholds.thresholds(self.layer_index, self.epoch)

    def product_seed(self, step: int, product: str) -> int:
        """The engine seed of one product: ``((seed * 2^16 + layer_index) * 2^40 + step) * 2 + id``.

        ``id`` is 0 for eq. (26), 1 for eq. (27).  ``coded_matmul(..., seed=product_rng(s))``
        (:func:`uepmm.nn.lean.product_rng`) reproduces the product's response times and code.
        """
        return ((self.seed * 2**16 + self.layer_index) * 2**40 + int(step)) * 2 + _PRODUCT_ID[product]

    def _product(self, name: str, A: torch.Tensor, B: torch.Tensor, step: int):
        config = self.product_coding[name]
        if config is None or not self.coding_enabled:
            return _mm(A, B), None
        seed = self.product_seed(step, name)
        try:
            if config.lean:
                estimate, info = self._planners[name].product(A, B, seed, track_loss=self.track_loss)
                record = ProductRecord(name, self.layer_index, step, seed, config, **info)
            else:
                estimate, record = self._engine_product(name, A, B, config, seed, step)
        except ValueError as exc:
            what = "G_(i+1) @ V_i^T" if name == "grad_input" else "X_i^T @ G_(i+1)"
            raise ValueError(
                f"CodedLinear({self.in_features}, {self.out_features}), layer_index {self.layer_index}: "
                f"eq. ({26 if name == 'grad_input' else 27}) {what}, {tuple(A.shape)} @ {tuple(B.shape)}, "
                f"cannot be coded with partition={config.partition!r}, blocks={config.blocks!r}: {exc}"
            ) from exc
        if self.on_product is not None:
            self.on_product(record)
        return estimate, record

    def _engine_product(self, name, A, B, config, seed, step):
        """Through :func:`uepmm.coded_matmul` in numpy: operands to host, estimate back."""
        from ..api import coded_matmul

        A_np = A.detach().cpu().numpy()
        B_np = B.detach().cpu().numpy()
        result = coded_matmul(A_np, B_np, config, seed=product_rng(seed))
        estimate = torch.from_numpy(np.ascontiguousarray(result.estimate)).to(device=A.device, dtype=A.dtype)
        loss = math.nan
        if self.track_loss:
            loss = float(result.normalized_loss(A_np @ B_np))
        record = ProductRecord(
            name, self.layer_index, step, seed, config, result.received, result.recovered.copy(),
            normalized_loss=loss, result=result,
        )
        return estimate, record


# --------------------------------------------------------------------- helpers
class _StepState:
    """A :class:`CodedLinear`'s per-step bookkeeping (see its ``steps`` property)."""

    __slots__ = ("steps", "last_results")

    def __init__(self) -> None:
        self.steps = 0
        self.last_results: dict[str, ProductRecord] = {}


def coded_layers(model: nn.Module) -> list[CodedLinear]:
    """Every :class:`CodedLinear` in ``model``, in registration order.

    Examples
    --------
    >>> import torch
    >>> from uepmm.nn import CodedLinear, coded_layers
    >>> model = torch.nn.Sequential(CodedLinear(6, 4, seed=0), torch.nn.ReLU(),
    ...                             CodedLinear(4, 2, seed=1, layer_index=1))
    >>> [layer.out_features for layer in coded_layers(model)]
    [4, 2]
    """
    return [m for m in model.modules() if isinstance(m, CodedLinear)]


def set_epoch(model: nn.Module, epoch: int) -> None:
    """Tell every :class:`CodedLinear` in ``model`` the current epoch (drives the thresholds).

    Examples
    --------
    >>> import torch
    >>> from uepmm.nn import CodedLinear, coded_layers, set_epoch
    >>> model = torch.nn.Sequential(CodedLinear(6, 4, seed=0), torch.nn.ReLU(), CodedLinear(4, 2, seed=1))
    >>> set_epoch(model, 2)
    >>> [layer.epoch for layer in coded_layers(model)]
    [2, 2]
    """
    for layer in coded_layers(model):
        layer.epoch = int(epoch)


def set_coding_enabled(model: nn.Module, enabled: bool) -> None:
    """Switch coded products on/off (off: exact products, no stragglers) in every layer.

    Examples
    --------
    >>> import torch
    >>> from uepmm.nn import CodedLinear, coded_layers, set_coding_enabled
    >>> model = torch.nn.Sequential(CodedLinear(6, 4, seed=0), torch.nn.ReLU(), CodedLinear(4, 2, seed=1))
    >>> set_coding_enabled(model, False)  # e.g. for an exact reference run
    >>> [layer.coding_enabled for layer in coded_layers(model)]
    [False, False]
    """
    for layer in coded_layers(model):
        layer.coding_enabled = bool(enabled)
