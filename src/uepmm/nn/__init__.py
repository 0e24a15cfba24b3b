"""PyTorch integration: coded back-propagation (paper Sec. VII).

Needs torch (``pip install "uepmm[torch]"``).  :class:`CodedLinear` is a drop-in
``torch.nn.Linear`` whose backward products (eqs. 26-27) go through the coded engine;
:mod:`uepmm.nn.setups` builds the paper's training setups and :mod:`uepmm.nn.training`
runs them.
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError('uepmm.nn needs torch; install it with pip install "uepmm[torch]"') from exc

from .coded_linear import CodedLinear, coded_layers, set_coding_enabled, set_epoch
from .config import CodingConfig, ThresholdSchedule
from .lean import LeanPlanner, ProductRecord, lean_product

__all__ = [
    "CodedLinear",
    "CodingConfig",
    "ThresholdSchedule",
    "ProductRecord",
    "lean_product",
    "LeanPlanner",
    "coded_layers",
    "set_epoch",
    "set_coding_enabled",
]
