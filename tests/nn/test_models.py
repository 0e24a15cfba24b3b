"""The networks of paper Sec. VII-A: Fig. 12 / Table VI (MNIST) and Table V (CIFAR-10)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from uepmm.nn.models import (  # noqa: E402
    CIFAR10_DENSE_SIZES,
    MNIST_DENSE_SIZES,
    Cifar10CNN,
    MnistMLP,
    dense_layers,
)


def dense_params(sizes: list[int]) -> int:
    """Weights plus biases of a chain of dense layers."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def conv_params(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_layer_sizes_match_paper() -> None:
    # Table VI rows: MNIST 784-100-200-10; CIFAR-10 7200-512-256-10.
    assert MNIST_DENSE_SIZES == (784, 100, 200, 10)
    # Table V: 'same' conv keeps 32x32, 'valid' 3x3 gives 30x30, 2x2 pooling gives 15x15.
    assert CIFAR10_DENSE_SIZES == (32 * 15 * 15, 512, 256, 10) and 32 * 15 * 15 == 7200


def test_mnist_mlp_shapes_and_parameter_count() -> None:
    model = MnistMLP()
    assert n_params(model) == dense_params([784, 100, 200, 10]) == 100_710
    x = torch.rand(5, 784)
    out = model(x)
    assert out.shape == (5, 10)
    torch.testing.assert_close(model(x.reshape(5, 1, 28, 28)), out)
    layers = dense_layers(model)
    assert [(m.in_features, m.out_features) for m in layers] == [(784, 100), (100, 200), (200, 10)]
    assert all(type(m) is nn.Linear for m in layers)


def test_mnist_mlp_is_relu_between_dense_layers() -> None:
    model = MnistMLP()
    x = torch.randn(3, 784)
    d1, d2, d3 = dense_layers(model)
    expected = d3(torch.relu(d2(torch.relu(d1(x)))))
    torch.testing.assert_close(model(x), expected)


def test_cifar_cnn_shapes_and_parameter_count() -> None:
    model = Cifar10CNN()
    expected = conv_params(3, 32, 3) + conv_params(32, 32, 3) + dense_params([32 * 15 * 15, 512, 256, 10])
    assert expected == 3_830_954
    assert n_params(model) == expected
    out = model(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 10)
    layers = dense_layers(model)
    assert [(m.in_features, m.out_features) for m in layers] == [(7200, 512), (512, 256), (256, 10)]
    assert model.conv1.padding == "same" and model.conv2.padding == "valid"


def test_cifar_cnn_flattened_width_is_7200() -> None:
    model = Cifar10CNN()
    seen = {}

    def record(module, args):
        seen["shape"] = args[0].shape

    dense_layers(model)[0].register_forward_pre_hook(record)
    model(torch.rand(4, 3, 32, 32))
    assert tuple(seen["shape"]) == (4, 7200)


class Recorder:
    """A linear factory that records its calls and returns a custom module."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        in_features, out_features, _ = args
        return Tagged(in_features, out_features)


class Tagged(nn.Module):
    """A stand-in for a coded drop-in replacement of nn.Linear (not an nn.Linear subclass)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.inner = nn.Linear(in_features, out_features)
        self.used = 0

    def forward(self, x):
        self.used += 1
        return self.inner(x)


@pytest.mark.parametrize(
    "cls,sizes,shape",
    [
        (MnistMLP, [784, 100, 200, 10], (2, 784)),
        (Cifar10CNN, [7200, 512, 256, 10], (2, 3, 32, 32)),
    ],
)
def test_linear_factory_called_per_dense_layer(cls, sizes, shape) -> None:
    factory = Recorder()
    model = cls(linear=factory)
    assert factory.calls == [((sizes[i], sizes[i + 1], i), {}) for i in range(3)]
    layers = dense_layers(model)
    assert all(isinstance(m, Tagged) for m in layers)
    assert model(torch.rand(*shape)).shape == (2, 10)
    assert [m.used for m in layers] == [1, 1, 1]
    # the factory's modules are registered, so their parameters train
    assert all(any(p is q for q in model.parameters()) for m in layers for p in m.parameters())


def test_factory_errors() -> None:
    with pytest.raises(TypeError, match="linear must be a callable"):
        MnistMLP(linear=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"linear\(784, 100, 0\) returned str"):
        MnistMLP(linear=lambda i, o, k: "nope")  # type: ignore[arg-type, return-value]


def test_input_errors() -> None:
    with pytest.raises(ValueError, match=r"\(N, 784\)"):
        MnistMLP()(torch.rand(2, 10))
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        Cifar10CNN()(torch.rand(2, 1, 28, 28))
    with pytest.raises(TypeError, match="torch.Tensor"):
        MnistMLP()([[0.0] * 784])  # type: ignore[arg-type]


def test_dense_layers_generic_and_errors() -> None:
    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert dense_layers(seq) == [seq[0], seq[2]]
    with pytest.raises(ValueError, match="no torch.nn.Linear layers"):
        dense_layers(nn.ReLU())
    with pytest.raises(TypeError, match="expects a torch.nn.Module"):
        dense_layers("model")  # type: ignore[arg-type]


def test_one_sgd_step_reduces_loss() -> None:
    torch.manual_seed(0)
    model = MnistMLP()
    x = torch.rand(64, 784)
    y = torch.randint(0, 10, (64,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
