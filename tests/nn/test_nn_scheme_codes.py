"""MatDot and norm-weighted sampling in training: the lean path and CodedLinear agree with the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from uepmm import coded_matmul  # noqa: E402
from uepmm.nn import CodedLinear, CodingConfig, lean_product, product_rng  # noqa: E402

CASES = [("matdot", 20, "cxr", 9), ("sampling", 15, "cxr", 9), ("sampling", 15, "rxc", (3, 3))]


@pytest.mark.parametrize("code,workers,partition,blocks", CASES)
@pytest.mark.parametrize("statistic", ["mean_abs", "fro"])
def test_lean_equals_coded_matmul(code, workers, partition, blocks, statistic):
    rng = np.random.default_rng(0)
    # deadline 3 with Ω = K/W: MatDot sometimes reaches its threshold of 17, sometimes not
    config = CodingConfig(code=code, workers=workers, partition=partition, blocks=blocks, deadline=3.0,
                          statistic=statistic)
    seen = set()
    for trial in range(10):
        A = rng.standard_normal((50, 40)) * rng.exponential(1.0, (1, 40))
        B = rng.standard_normal((40, 31)) * rng.exponential(1.0, (40, 1))
        estimate, info = lean_product(torch.from_numpy(A), torch.from_numpy(B), config, 500 + trial, track_loss=True)
        result = coded_matmul(A, B, config, seed=product_rng(500 + trial))
        assert np.array_equal(info["recovered"], result.recovered) and info["received"] == result.received
        np.testing.assert_allclose(estimate.numpy(), result.estimate, rtol=1e-10, atol=1e-10)
        assert info["normalized_loss"] == pytest.approx(result.normalized_loss(A @ B), rel=1e-9, abs=1e-12)
        assert result.report["decoder"] == code
        seen.add(bool(result.recovered.all()))
        if code == "matdot":
            assert info["normalized_loss"] == pytest.approx(0.0 if result.received >= 17 else 1.0, abs=1e-12)
    if code == "matdot":
        assert seen == {True, False}


def _grads(layer, x, r):
    x = x.clone().requires_grad_(True)
    (layer(x) * r).sum().backward()
    return [x.grad.detach().clone(), layer.weight.grad.detach().clone()]


@pytest.mark.parametrize("code,workers,partition,blocks", CASES)
def test_coded_linear_backward_is_the_engine_estimate(code, workers, partition, blocks):
    torch.manual_seed(0)
    coded = CodedLinear(30, 20, dtype=torch.float64, seed=3, code=code, workers=workers, partition=partition,
                        blocks=blocks, deadline=3.0, track_loss=True)
    plain = nn.Linear(30, 20, dtype=torch.float64)
    plain.load_state_dict(coded.state_dict(), strict=False)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, 30, generator=gen, dtype=torch.float64) * torch.rand(1, 30, generator=gen, dtype=torch.float64)
    r = torch.randn(64, 20, generator=gen, dtype=torch.float64)
    for _ in range(3):
        gx_c, gw_c = _grads(coded, x, r)
        gx_p, gw_p = _grads(plain, x, r)
        coded.zero_grad()
        plain.zero_grad()
        records = coded.last_results
        for name, (A, B), got, exact in (("grad_input", (r, coded.weight.detach()), gx_c, gx_p),
                                         ("grad_weight", (x.t(), r), gw_c, gw_p)):
            record = records[name]
            error = float(((got - exact) ** 2).sum() / (exact**2).sum())
            assert record.normalized_loss == pytest.approx(error, rel=1e-9, abs=1e-12)
            for fidelity in ("fast", "full"):  # the real engine, same seed
                result = record.engine_result(A, B, fidelity=fidelity)
                assert np.array_equal(result.recovered, record.recovered) and result.received == record.received
                assert result.normalized_loss((A @ B).numpy()) == pytest.approx(error, rel=1e-7, abs=1e-10)


def test_matdot_gradients_are_exact_when_nobody_straggles():
    torch.manual_seed(0)
    coded = CodedLinear(30, 20, dtype=torch.float64, seed=3, code="matdot", workers=17, partition="cxr", blocks=9,
                        deadline=math.inf)
    plain = nn.Linear(30, 20, dtype=torch.float64)
    plain.load_state_dict(coded.state_dict(), strict=False)
    x, r = torch.randn(24, 30, dtype=torch.float64), torch.randn(24, 20, dtype=torch.float64)
    for gc, gp in zip(_grads(coded, x, r), _grads(plain, x, r)):
        assert float((gc - gp).abs().max() / gp.abs().max()) < 1e-12
