"""The two networks of paper Sec. VII-A (needs torch: ``pip install "uepmm[torch]"``).

* :class:`MnistMLP` -- Fig. 12 / Table VI: dense 784 -> 100 -> 200 -> 10.
* :class:`Cifar10CNN` -- Table V: two 3x3 convolutions, 2x2 max pooling, dense
  7200 -> 512 -> 256 -> 10.

Both return logits; the softmax of the figures/tables is applied by the loss
(``torch.nn.functional.cross_entropy``, the categorical cross entropy of Table IV).

Only the dense layers' back-propagation products (eqs. 26 and 27) go through coded
computation (Remark 5), so each dense layer is built by a *linear factory*::

    linear(in_features: int, out_features: int, layer_index: int) -> torch.nn.Module

called positionally, once per dense layer, in forward order with ``layer_index`` =
0, 1, 2 (index 0 is the paper's "Dense 1").  The returned module must map a
``(batch, in_features)`` tensor to ``(batch, out_features)`` like ``torch.nn.Linear``
(e.g. a coded drop-in replacement).  The default factory returns
``torch.nn.Linear(in_features, out_features)``.  :func:`dense_layers` returns the
modules in the same order.
"""

from __future__ import annotations

from typing import Callable

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        'uepmm.nn.models needs torch; install it with pip install "uepmm[torch]"'
    ) from exc

__all__ = [
    "LinearFactory",
    "default_linear",
    "MnistMLP",
    "Cifar10CNN",
    "dense_layers",
    "MNIST_DENSE_SIZES",
    "CIFAR10_DENSE_SIZES",
]

#: ``linear(in_features, out_features, layer_index) -> nn.Module`` (see module docstring).
LinearFactory = Callable[[int, int, int], nn.Module]

#: Widths of the MNIST network, input to output (Fig. 12, Table VI).
MNIST_DENSE_SIZES = (784, 100, 200, 10)
#: Widths of the CIFAR-10 dense layers, flattened conv output to logits (Tables V, VI).
CIFAR10_DENSE_SIZES = (7200, 512, 256, 10)


def default_linear(in_features: int, out_features: int, layer_index: int) -> nn.Module:
    """The default factory: a plain ``torch.nn.Linear(in_features, out_features)``."""
    return nn.Linear(in_features, out_features)


def _build_dense(linear: LinearFactory | None, sizes: tuple[int, ...], owner: str) -> nn.ModuleList:
    factory = default_linear if linear is None else linear
    if not callable(factory):
        raise TypeError(
            f"{owner}: linear must be a callable linear(in_features, out_features, layer_index) "
            f"-> torch.nn.Module, got {factory!r}"
        )
    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = factory(n_in, n_out, index)
        if not isinstance(layer, nn.Module):
            raise TypeError(
                f"{owner}: linear({n_in}, {n_out}, {index}) returned {type(layer).__name__}; the "
                "factory must return a torch.nn.Module (e.g. torch.nn.Linear(in_features, out_features))"
            )
        layers.append(layer)
    return nn.ModuleList(layers)


class MnistMLP(nn.Module):
    """The MNIST network of Fig. 12 / Table VI: 784 -> 100 -> 200 -> 10, ReLU between.

    Input: ``(N, 784)`` images (or ``(N, 1, 28, 28)`` / ``(N, 28, 28)``, flattened);
    output: ``(N, 10)`` logits.  ``linear`` builds each dense layer (see
    :data:`LinearFactory`; default ``torch.nn.Linear``).  Parameters:
    784*100+100 + 100*200+200 + 200*10+10 = 100,710 with plain linear layers.
    """

    def __init__(self, linear: LinearFactory | None = None) -> None:
        super().__init__()
        self.dense = _build_dense(linear, MNIST_DENSE_SIZES, "MnistMLP")
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"MnistMLP expects a torch.Tensor of shape (N, 784), got {type(x).__name__}")
        if x.dim() < 2 or x[0].numel() != MNIST_DENSE_SIZES[0]:
            raise ValueError(
                f"MnistMLP expects input of shape (N, 784) or (N, 1, 28, 28), got {tuple(x.shape)}"
            )
        x = x.reshape(x.shape[0], -1)
        return _dense_forward(self.dense, self.act, x)


class Cifar10CNN(nn.Module):
    """The CIFAR-10 network of Table V.

    Conv2d(3, 32, 3, padding="same") + ReLU, Conv2d(32, 32, 3, padding="valid") + ReLU
    (32x32 -> 30x30), MaxPool2d(2) (-> 15x15), Flatten (32*15*15 = 7200), dense
    7200 -> 512 + ReLU, 512 -> 256 + ReLU, 256 -> 10 logits.  Table V lists the last
    layer as 256 x 12, but Table VI and the ten CIFAR-10 classes give 256 x 10, which
    is used here.  Input ``(N, 3, 32, 32)``, output ``(N, 10)``.  The convolutions are
    ordinary ``torch.nn.Conv2d`` (Remark 5: only dense layers are coded); ``linear``
    builds the three dense layers (see :data:`LinearFactory`).
    """

    def __init__(self, linear: LinearFactory | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3, padding="same")
        self.conv2 = nn.Conv2d(32, 32, kernel_size=3, padding="valid")
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.dense = _build_dense(linear, CIFAR10_DENSE_SIZES, "Cifar10CNN")
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Cifar10CNN expects a torch.Tensor of shape (N, 3, 32, 32), got {type(x).__name__}")
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, 32, 32):
            raise ValueError(f"Cifar10CNN expects input of shape (N, 3, 32, 32), got {tuple(x.shape)}")
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        x = self.flatten(self.pool(x))
        return _dense_forward(self.dense, self.act, x)


def _dense_forward(dense: nn.ModuleList, act: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The dense stack: every layer followed by the activation, except the last (logits)."""
    for layer in dense[:-1]:
        x = act(layer(x))
    return dense[-1](x)


def dense_layers(model: nn.Module) -> list[nn.Module]:
    """The dense layers of ``model`` in forward order (Table VI's Dense 1, 2, 3).

    For :class:`MnistMLP` and :class:`Cifar10CNN` these are the modules built by the
    linear factory, whatever their type.  For any other module, every
    ``torch.nn.Linear`` it contains, in registration order.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"dense_layers expects a torch.nn.Module, got {type(model).__name__}")
    if isinstance(model, (MnistMLP, Cifar10CNN)):
        return list(model.dense)
    found = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError(
            f"dense_layers: {type(model).__name__} contains no torch.nn.Linear layers; pass a "
            "MnistMLP, a Cifar10CNN or a model with nn.Linear layers"
        )
    return found
