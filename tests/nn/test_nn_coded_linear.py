"""CodedLinear: exact forward, coded backward (eqs. 26-27), and the engine's losses."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from uepmm.nn import CodedLinear, CodingConfig, ThresholdSchedule, coded_layers, set_coding_enabled, set_epoch  # noqa: E402

# (code, workers, blocks per partition): the codes that recover everything once every worker answered
COMPLETE_CODES = [("uncoded", 9), ("repetition", 18), ("mds", 15)]
BLOCKS = {"rxc": (3, 3), "cxr": 9}


def _pair(dtype, seed=0, bias=True, **coding):
    torch.manual_seed(seed)
    coded = CodedLinear(30, 20, bias=bias, dtype=dtype, seed=seed, **coding)
    plain = nn.Linear(30, 20, bias=bias, dtype=dtype)
    plain.load_state_dict(coded.state_dict(), strict=False)  # the extra state (seed, steps) is CodedLinear's
    return coded, plain


def _grads(layer, x, r):
    x = x.clone().requires_grad_(True)
    out = layer(x)
    (out * r).sum().backward()
    grads = [x.grad, layer.weight.grad] + ([layer.bias.grad] if layer.bias is not None else [])
    return out.detach(), [g.detach().clone() for g in grads]


@pytest.mark.parametrize("decoder", ["zero", "lmmse", "unbiased"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-6), (torch.float32, 1e-4)])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("code,workers", COMPLETE_CODES)
def test_gradients_equal_linear_when_nobody_straggles(dtype, tol, partition, code, workers, decoder):
    coded, plain = _pair(dtype, code=code, workers=workers, partition=partition, blocks=BLOCKS[partition],
                         deadline=math.inf, decoder=decoder)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(24, 30, generator=gen, dtype=dtype)
    r = torch.randn(24, 20, generator=gen, dtype=dtype)
    out_c, grads_c = _grads(coded, x, r)
    out_p, grads_p = _grads(plain, x, r)
    torch.testing.assert_close(out_c, out_p, rtol=0, atol=0)  # forward is exactly nn.Linear's
    for gc, gp in zip(grads_c, grads_p):
        assert float((gc - gp).abs().max() / gp.abs().max()) < tol
    rec = coded.last_results
    assert set(rec) == {"grad_input", "grad_weight"}
    assert all(r.recovered.all() for r in rec.values())


def test_gradcheck_float64():
    layer = CodedLinear(6, 5, dtype=torch.float64, code="uncoded", workers=9, partition="rxc", blocks=(3, 3),
                        deadline=math.inf, seed=3)
    x = torch.randn(9, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: layer(inp), (x,), eps=1e-6, atol=1e-6)
    assert torch.autograd.gradcheck(lambda w, b: nn.functional.linear(x, w, b) * 0 + layer(x),
                                    (layer.weight, layer.bias), eps=1e-6, atol=1e-6)


def _relative_error(coded, exact):
    return float(((coded - exact) ** 2).sum() / (exact**2).sum())


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("code,workers", [("uncoded", 9), ("now", 15), ("ew", 15), ("repetition", 18), ("mds", 15)])
def test_gradient_error_equals_engine_loss_for_the_same_seed(partition, code, workers):
    coded, plain = _pair(torch.float64, seed=11, code=code, workers=workers, partition=partition,
                         blocks=BLOCKS[partition], deadline=1.0, track_loss=True)
    gen = torch.Generator().manual_seed(2)
    # rows/columns of unequal size, as in back-propagation
    x = (torch.randn(64, 30, generator=gen, dtype=torch.float64)
         * torch.rand(1, 30, generator=gen, dtype=torch.float64) * 3)
    r = (torch.randn(64, 20, generator=gen, dtype=torch.float64)
         * torch.rand(64, 1, generator=gen, dtype=torch.float64) * 3)
    losses = []
    for step in range(4):  # several steps: new draws each step
        _, (gx_c, gw_c, gb_c) = _grads(coded, x, r)
        _, (gx_p, gw_p, gb_p) = _grads(plain, x, r)
        torch.testing.assert_close(gb_c, gb_p)  # the bias gradient is exact
        coded.weight.grad = coded.bias.grad = plain.weight.grad = plain.bias.grad = None
        records = coded.last_results
        operands = {"grad_input": (r, coded.weight.detach()), "grad_weight": (x.t(), r)}
        errors = {"grad_input": _relative_error(gx_c, gx_p), "grad_weight": _relative_error(gw_c, gw_p)}
        for name, (A, B) in operands.items():
            record = records[name]
            assert record.step == step and record.seed == coded.product_seed(step, name)
            C = (A @ B).numpy()
            for fidelity in ("fast", "full"):  # the real engine, same seed, both fidelities
                result = record.engine_result(A, B, fidelity=fidelity)
                assert np.array_equal(result.recovered, record.recovered)
                assert result.received == record.received
                assert errors[name] == pytest.approx(result.normalized_loss(C), rel=1e-9, abs=1e-12)
            assert record.normalized_loss == pytest.approx(errors[name], rel=1e-9, abs=1e-12)
            losses.append(errors[name])
    if code == "mds":  # all or nothing
        assert all(value == pytest.approx(0, abs=1e-12) or value == pytest.approx(1) for value in losses)
    else:
        assert any(0 < value < 1 for value in losses)  # a partial recovery happened


@pytest.mark.parametrize("scheme,partition", [("now-singletons+adaptive", "cxr"), ("ew-rect+adaptive", "rxc")])
def test_adaptive_training_step_equals_the_engine_for_the_same_seed(scheme, partition):
    """A training step with adaptive packets (JobSpec.adaptive): each backward product is the coded product
    coded_matmul gives for the same draw, in both fidelities (same packets, recovered blocks and loss)."""
    config = CodingConfig.from_scheme(scheme, partition=partition, blocks=BLOCKS[partition], workers=15,
                                      deadline=2.0, cost="work")
    coded, plain = _pair(torch.float64, seed=3, coding=config, track_loss=True)
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(64, 30, generator=gen, dtype=torch.float64) * torch.rand(1, 30, generator=gen, dtype=torch.float64)
    r = torch.randn(64, 20, generator=gen, dtype=torch.float64) * torch.rand(64, 1, generator=gen, dtype=torch.float64)
    later = 0
    for _step in range(3):
        _, (gx_c, gw_c, _) = _grads(coded, x, r)
        _, (gx_p, gw_p, _) = _grads(plain, x, r)
        coded.weight.grad = coded.bias.grad = plain.weight.grad = plain.bias.grad = None
        operands = {"grad_input": (r, coded.weight.detach()), "grad_weight": (x.t(), r)}
        errors = {"grad_input": _relative_error(gx_c, gx_p), "grad_weight": _relative_error(gw_c, gw_p)}
        for name, (A, B) in operands.items():
            record = coded.last_results[name]
            C = (A @ B).numpy()
            for fidelity in ("fast", "full"):
                result = record.engine_result(A, B, fidelity=fidelity)
                np.testing.assert_array_equal(result.report["response_times"], record.response_times)
                np.testing.assert_array_equal(result.recovered, record.recovered)
                assert result.received == record.received
                assert errors[name] == pytest.approx(result.normalized_loss(C), rel=1e-8, abs=1e-12)
            later += len(record.response_times) > 15  # packets after the workers' first ones were started
    assert later > 0
    full, _ = _pair(torch.float64, seed=3, coding=config.with_(fidelity="full"))  # through coded_matmul
    fast, _ = _pair(torch.float64, seed=3, coding=config)
    for a, b in zip(_grads(fast, x, r)[1], _grads(full, x, r)[1]):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
    assert full.last_results["grad_weight"].result.encoding.workers > 15  # the adaptive packets it decoded


def test_full_fidelity_layer_matches_fast_layer():
    kwargs = dict(code="ew", workers=15, partition="rxc", blocks=(3, 3), deadline=1.5, seed=5)
    fast, _ = _pair(torch.float64, **kwargs, fidelity="fast")
    full, _ = _pair(torch.float64, **kwargs, fidelity="full", track_loss=True)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(32, 30, generator=gen, dtype=torch.float64)
    r = torch.randn(32, 20, generator=gen, dtype=torch.float64)
    for _ in range(3):
        _, g_fast = _grads(fast, x, r)
        _, g_full = _grads(full, x, r)
        for a, b in zip(g_fast, g_full):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
        assert full.last_results["grad_weight"].result is not None  # a real uepmm.Result
        fast.zero_grad()
        full.zero_grad()


def test_uncoded_flags_and_disabled_coding_give_exact_products():
    coded, plain = _pair(torch.float64, code="uncoded", workers=9, deadline=0.01, grad_input=False, grad_weight=False)
    x, r = torch.randn(16, 30, dtype=torch.float64), torch.randn(16, 20, dtype=torch.float64)
    for a, b in zip(_grads(coded, x, r)[1], _grads(plain, x, r)[1]):
        torch.testing.assert_close(a, b)
    assert coded.last_results == {}

    coded, plain = _pair(torch.float64, code="uncoded", workers=9, deadline=0.01, seed=1)
    set_coding_enabled(coded, False)
    for a, b in zip(_grads(coded, x, r)[1], _grads(plain, x, r)[1]):
        torch.testing.assert_close(a, b)


def test_per_product_configuration_and_flags():
    uncoded = CodingConfig(code="uncoded", workers=9, deadline=0.2)
    layer = CodedLinear(30, 20, code="ew", deadline=0.2, grad_weight=uncoded, grad_input=False, seed=2,
                        dtype=torch.float64)
    x = torch.randn(32, 30, dtype=torch.float64, requires_grad=True)
    layer(x).sum().backward()
    assert set(layer.last_results) == {"grad_weight"}
    assert layer.last_results["grad_weight"].config.code == "uncoded"
    plain = nn.Linear(30, 20, dtype=torch.float64)
    plain.load_state_dict(layer.state_dict(), strict=False)
    x2 = x.detach().clone().requires_grad_(True)
    plain(x2).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)  # eq. (26) left uncoded: exact


def test_thresholds_sparsify_the_operands():
    schedule = ThresholdSchedule(gradient=0.05, weight=0.05, input=0.5, epoch_growth=2.0, depth_growth=3.0)
    assert schedule.thresholds(1, 2) == pytest.approx((0.05 * 4 * 3, 0.05 * 4 * 3, 0.5 * 4 * 3))
    assert ThresholdSchedule().thresholds(0, 0) == (1e-5, 1e-4, 1e-4)
    assert ThresholdSchedule().thresholds(2, 10) == pytest.approx((1e-5 * 8 * 4, 1e-4 * 32, 1e-4 * 32))
    layer = CodedLinear(30, 20, dtype=torch.float64, grad_input=False, grad_weight=False,
                        thresholds=ThresholdSchedule(gradient=0.05, weight=0.05, input=0.5), layer_index=0)
    set_epoch(layer, 1)
    tg, tw, tx = layer.current_thresholds()
    assert (tg, tw, tx) == pytest.approx((0.1, 0.1, 1.0))
    x = torch.randn(16, 30, dtype=torch.float64, requires_grad=True)
    r = torch.randn(16, 20, dtype=torch.float64)
    (layer(x) * r).sum().backward()
    keep = lambda t, tau: t * (t.abs() > tau)  # noqa: E731  (eq. 28)
    g, w, xs = keep(r, tg), keep(layer.weight.detach(), tw), keep(x.detach(), tx)
    torch.testing.assert_close(x.grad, g @ w)
    torch.testing.assert_close(layer.weight.grad, (xs.t() @ g).t())
    torch.testing.assert_close(layer.bias.grad, r.sum(0))  # exact, from the raw gradient


def test_drop_in_behaviour():
    with pytest.raises(ValueError, match=r"eq\. \(26\).*inner dimension 4"):  # c×r, M = 9 > 4 outputs
        bad = CodedLinear(8, 4, code="uncoded", workers=9, partition="cxr", blocks=9, deadline=math.inf)
        bad(torch.randn(10, 8, requires_grad=True)).sum().backward()
    layer = CodedLinear(8, 4, code="uncoded", workers=9, partition="rxc", blocks=(3, 3), deadline=math.inf, seed=0)
    assert isinstance(layer, nn.Linear)
    plain = nn.Linear(8, 4)
    layer.load_state_dict(plain.state_dict())
    x = torch.randn(2, 5, 8, requires_grad=True)  # extra leading dimensions
    torch.testing.assert_close(layer(x), plain(x))
    assert layer.steps == 1
    with torch.no_grad():
        layer(x)
    assert layer.steps == 1  # evaluation does not draw
    layer(x).sum().backward()
    assert x.grad.shape == x.shape
    assert "code='uncoded'" in repr(layer)
    assert coded_layers(nn.Sequential(layer, nn.ReLU())) == [layer]


def test_product_seed_and_reproducibility():
    a = CodedLinear(30, 20, code="ew", deadline=1.0, seed=9, layer_index=2)
    assert a.product_seed(5, "grad_weight") == ((9 * 2**16 + 2) * 2**40 + 5) * 2 + 1
    b = CodedLinear(30, 20, code="ew", deadline=1.0, seed=9, layer_index=2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(64, 30)
    for layer in (a, b):
        layer(x).pow(2).sum().backward()
    torch.testing.assert_close(a.weight.grad, b.weight.grad)
    assert np.array_equal(a.last_results["grad_weight"].recovered, b.last_results["grad_weight"].recovered)


def test_state_dict_carries_seed_and_steps():
    """A differently seeded layer, after load_state_dict, makes the same next eight steps."""
    torch.manual_seed(0)
    a = CodedLinear(30, 20, code="now", workers=15, deadline=0.6, seed=5, layer_index=1)
    x = torch.randn(32, 30)
    for _ in range(3):  # a has drawn three steps
        a.zero_grad()
        a(x).sum().backward()
    b = CodedLinear(30, 20, code="now", workers=15, deadline=0.6, seed=77, layer_index=1)
    b.load_state_dict(a.state_dict())
    assert (b.seed, b.steps) == (5, 3) and a.state_dict()["_extra_state"] == {"seed": 5, "steps": 3}
    for _ in range(8):
        for layer in (a, b):
            layer.zero_grad()
            layer(x).pow(2).sum().backward()
        torch.testing.assert_close(a.weight.grad, b.weight.grad, rtol=0, atol=0)
        ra, rb = a.last_results["grad_weight"], b.last_results["grad_weight"]
        assert ra.seed == rb.seed and np.array_equal(ra.recovered, rb.recovered)
        np.testing.assert_array_equal(ra.response_times, rb.response_times)
    assert a.steps == b.steps == 11
    plain = nn.Linear(30, 20)
    b.load_state_dict(plain.state_dict())  # a plain Linear's weights load; b keeps its seed and steps
    assert (b.seed, b.steps) == (5, 11) and torch.equal(b.weight, plain.weight)
    with pytest.raises(ValueError, match="extra state"):
        b.set_extra_state({"seed": 1})


def test_validation_messages():
    with pytest.raises(TypeError, match="unexpected keyword"):
        CodedLinear(4, 4, colour="red")
    with pytest.raises(TypeError, match="grad_weight must be True, False"):
        CodedLinear(4, 4, grad_weight="yes")
    with pytest.raises(ValueError, match="class_counts"):
        CodingConfig(class_counts=(1, 2, 3))
    with pytest.raises(ValueError, match="workers"):
        CodingConfig(code="uncoded", workers=15)
    with pytest.raises(ValueError, match="perfect square"):
        CodingConfig(partition="rxc", blocks=8)
    with pytest.raises(ValueError, match="fidelity='full'"):
        CodingConfig(backend="dask")
    with pytest.raises(ValueError, match="epoch_growth"):
        ThresholdSchedule(epoch_growth=0.5)
    with pytest.raises(TypeError, match="both"):
        CodedLinear(4, 4, coding=CodingConfig(), code="ew")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("fidelity", ["fast", "full"])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_cuda_matches_cpu(fidelity, partition):
    kwargs = dict(code="now", workers=15, partition=partition, blocks=BLOCKS[partition], deadline=2.0, seed=4,
                  fidelity=fidelity, dtype=torch.float64)
    cpu = CodedLinear(30, 20, **kwargs)
    gpu = CodedLinear(30, 20, **kwargs, device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    x = torch.randn(64, 30, dtype=torch.float64)
    r = torch.randn(64, 20, dtype=torch.float64)
    for _ in range(3):
        _, g_cpu = _grads(cpu, x, r)
        _, g_gpu = _grads(gpu, x.cuda(), r.cuda())
        for a, b in zip(g_cpu, g_gpu):
            assert b.device.type == "cuda"
            torch.testing.assert_close(a, b.cpu(), rtol=1e-9, atol=1e-12)
        cpu.zero_grad()
        gpu.zero_grad()
