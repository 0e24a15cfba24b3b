"""Neural-network training with coded back-propagation products (paper Sec. VII).

* :mod:`uepmm.nn.datasets` -- offline MNIST / CIFAR-10 loaders (numpy only).
* :mod:`uepmm.nn.models` -- the networks of Fig. 12 and Table V.
* :class:`CodedLinear` -- a drop-in ``torch.nn.Linear`` whose backward products
  (eqs. 26-27) go through the coded engine; :mod:`uepmm.nn.setups` builds the paper's
  training setups and :mod:`uepmm.nn.training` runs them.

Everything except ``datasets`` needs torch (``pip install "uepmm[torch]"``).  The names
below are imported lazily, so ``import uepmm.nn.datasets`` works without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CodedLinear": "coded_linear",
    "coded_layers": "coded_linear",
    "set_coding_enabled": "coded_linear",
    "set_epoch": "coded_linear",
    "CodingConfig": "config",
    "ThresholdSchedule": "config",
    "LeanPlanner": "lean",
    "ProductRecord": "lean",
    "lean_product": "lean",
    "product_rng": "lean",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'uepmm.nn' has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
    except ImportError as exc:
        if "torch" in str(exc):
            raise ImportError(f'uepmm.nn.{name} needs torch; install it with pip install "uepmm[torch]"') from exc
        raise
    return getattr(module, name)
