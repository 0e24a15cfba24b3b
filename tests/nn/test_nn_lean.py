"""The lean per-product path makes exactly coded_matmul's decisions (same seed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from uepmm import coded_matmul  # noqa: E402
from uepmm.nn import CodingConfig, LeanPlanner, lean_product, product_rng  # noqa: E402

CASES = [
    ("uncoded", 9, "rxc", (3, 3)),
    ("uncoded", 9, "cxr", 9),
    ("repetition", 18, "rxc", (3, 3)),
    ("repetition", 18, "cxr", 9),
    ("now", 15, "rxc", (3, 3)),
    ("now", 15, "cxr", 9),
    ("ew", 15, "rxc", (3, 3)),
    ("ew", 15, "cxr", 9),
    ("mds", 15, "cxr", 9),
    ("ew", 12, "rxc", (3, 4)),
]


def _operands(rng, transposed):
    A = rng.standard_normal((50, 40)) * rng.exponential(1.0, (1, 40))
    B = rng.standard_normal((40, 31)) * rng.exponential(1.0, (40, 1))
    A[:, :3] = 0.0  # ties (dead units) keep their order in both implementations
    At = torch.from_numpy(np.ascontiguousarray(A.T)).t() if transposed else torch.from_numpy(A)
    return A, B, At, torch.from_numpy(B)


@pytest.mark.parametrize("code,workers,partition,blocks", CASES)
@pytest.mark.parametrize("statistic", ["mean_abs", "fro"])
def test_lean_equals_coded_matmul(code, workers, partition, blocks, statistic):
    rng = np.random.default_rng(0)
    config = CodingConfig(code=code, workers=workers, partition=partition, blocks=blocks, deadline=1.5,
                          statistic=statistic, class_counts=None if blocks != (3, 4) else (2, 4, 6))
    partial = 0
    for trial in range(8):
        A, B, At, Bt = _operands(rng, transposed=trial % 2 == 1)
        estimate, info = lean_product(At, Bt, config, 1000 + trial, track_loss=True)
        result = coded_matmul(A, B, config, seed=product_rng(1000 + trial))
        assert np.array_equal(info["recovered"], result.recovered)
        assert info["received"] == result.received
        np.testing.assert_allclose(estimate.numpy(), result.estimate, rtol=1e-10, atol=1e-10)
        assert info["normalized_loss"] == pytest.approx(result.normalized_loss(A @ B), rel=1e-9, abs=1e-12)
        if info["scores"] is not None and code in ("now", "ew"):
            assert result.classes.classes == tuple(np.asarray(_classes(info["scores"], config)).tolist())
        partial += 0 < info["recovered"].sum() < info["recovered"].size
    if code != "mds":
        assert partial > 0


def _classes(scores, config):
    from uepmm.importance import classes_by_rank

    return classes_by_rank(scores, config.class_counts).classes


def test_deadline_extremes_and_no_reorder():
    rng = np.random.default_rng(1)
    A, B, At, Bt = _operands(rng, transposed=False)
    nothing = CodingConfig(code="ew", deadline=0.0)
    estimate, info = lean_product(At, Bt, nothing, 3, track_loss=True)
    assert info["received"] == 0 and not info["recovered"].any()
    assert torch.count_nonzero(estimate) == 0 and info["normalized_loss"] == 1.0
    everything = CodingConfig(code="uncoded", workers=9, deadline=math.inf)
    estimate, info = lean_product(At, Bt, everything, 3)
    torch.testing.assert_close(estimate, At @ Bt)
    plain = CodingConfig(code="now", deadline=2.0, reorder=False, partition="rxc", blocks=(3, 3))
    for seed in range(5):
        estimate, info = LeanPlanner(plain).product(At, Bt, seed)
        result = coded_matmul(A, B, plain, seed=product_rng(seed))
        assert np.array_equal(info["recovered"], result.recovered)
        np.testing.assert_allclose(estimate.numpy(), result.estimate, rtol=1e-10, atol=1e-10)


def test_float32_operands_stay_float32():
    rng = np.random.default_rng(2)
    A = torch.from_numpy(rng.standard_normal((64, 30)).astype(np.float32))
    B = torch.from_numpy(rng.standard_normal((30, 20)).astype(np.float32))
    config = CodingConfig(code="uncoded", workers=9, partition="rxc", blocks=(3, 3), deadline=1.0)
    estimate, info = lean_product(A, B, config, 7)
    assert estimate.dtype == torch.float32
    result = coded_matmul(A.numpy(), B.numpy(), config, seed=product_rng(7))
    assert np.array_equal(info["recovered"], result.recovered)
    np.testing.assert_allclose(estimate.numpy(), result.estimate, rtol=1e-5, atol=1e-5)


def test_device_branches_agree_on_cpu():
    """The helpers' device-side branches (used for CUDA tensors) give the host branches' results."""
    from uepmm.nn import lean

    rng = np.random.default_rng(3)
    grid = rng.random((3, 3)) > 0.5
    row_of, col_of = rng.integers(0, 3, 50), rng.integers(0, 3, 31)
    like = torch.zeros(1, dtype=torch.float64)
    host = lean._block_mask(grid, row_of, col_of, like, on_host=True)
    device = lean._block_mask(grid, row_of, col_of, like, on_host=False)
    torch.testing.assert_close(host, device)
    assert torch.equal(host, torch.from_numpy(grid[row_of][:, col_of].astype(np.float64)))
    A, B = torch.from_numpy(rng.standard_normal((50, 40))), torch.from_numpy(rng.standard_normal((40, 31)))
    for kind in ("rxc", "cxr"):
        for statistic in ("mean_abs", "fro"):
            a1, b1 = lean._line_stats(A, B, kind, statistic, on_host=True)
            a2, b2 = lean._line_stats(A, B, kind, statistic, on_host=False)
            # numpy (host) and torch (device) sum in different orders: equal to rounding
            np.testing.assert_allclose(a1, a2, rtol=1e-13)
            np.testing.assert_allclose(b1, b2, rtol=1e-13)
            assert a1.dtype == b1.dtype == np.float64


@pytest.mark.parametrize("settings", [
    dict(code="ew", partition="rxc", blocks=(3, 3), workers=15, classes="rectangles", encoding="factor", cost="work"),
    dict(code="now", partition="cxr", blocks=9, workers=15, classes="singletons", gamma=(1 / 9,) * 9, cost="work"),
    dict(code="ew-matdot", partition="cxr", blocks=9, workers=15, gamma=(0.4, 0.6, 0.0)),
])
def test_lean_equals_coded_matmul_for_class_rules(settings):
    rng = np.random.default_rng(2)
    config = CodingConfig(deadline=1.5, **settings)
    partial = 0
    for trial in range(8):
        A, B, At, Bt = _operands(rng, transposed=False)
        estimate, info = lean_product(At, Bt, config, 1000 + trial, track_loss=True)
        result = coded_matmul(A, B, config, seed=product_rng(1000 + trial))
        assert np.array_equal(info["recovered"], result.recovered)
        np.testing.assert_allclose(estimate.numpy(), result.estimate, rtol=1e-9, atol=1e-9)
        partial += 0 < info["recovered"].sum() < info["recovered"].size
    assert partial > 0


def _correlated_operands(rng, partition):
    """Positive operands (like images' Gram matrices): the sub-products are strongly correlated."""
    X = rng.exponential(1.0, (40, 30)) + 0.5
    if partition == "cxr":  # X^T X: sub-product k is X_k^T X_k
        A, B = X.T.copy(), X
    else:
        A, B = X.T.copy(), rng.exponential(1.0, (40, 27)) + 0.5
    return A, B, torch.from_numpy(A), torch.from_numpy(B)


@pytest.mark.parametrize("scheme,partition,blocks", [
    ("now-singletons", "cxr", 9), ("now-singletons", "rxc", (3, 3)), ("ew-rect", "rxc", (3, 3)),
])
@pytest.mark.parametrize("prior", ["probe", "auto"])
def test_lean_probe_prior_equals_coded_matmul(scheme, partition, blocks, prior):
    """With the probe prior (JobSpec.prior) the lean path decodes as coded_matmul does, and the
    prior matters: the diagonal prior gives another estimate on correlated sub-products."""
    from uepmm import get_scheme

    rng = np.random.default_rng(3)
    config = CodingConfig.from_scheme(get_scheme(scheme).with_(prior=prior), partition=partition, blocks=blocks,
                                      workers=15, deadline=0.6, cost="work")
    diagonal = config.with_(prior="diagonal")
    mixed = 0
    for trial in range(6):
        A, B, At, Bt = _correlated_operands(rng, partition)
        estimate, info = lean_product(At, Bt, config, 1000 + trial, track_loss=True)
        result = coded_matmul(A, B, config, seed=product_rng(1000 + trial))
        assert np.array_equal(info["recovered"], result.recovered)
        assert result.report["prior"] == "probe"  # correlated enough for "auto" to take the probe
        np.testing.assert_allclose(estimate.numpy(), result.estimate, rtol=1e-9, atol=1e-9)
        assert info["normalized_loss"] == pytest.approx(result.normalized_loss(A @ B), rel=1e-8, abs=1e-12)
        if 0 < info["received"] and not info["recovered"].all():
            plain, _ = lean_product(At, Bt, diagonal, 1000 + trial)
            mixed += not np.allclose(plain.numpy(), estimate.numpy(), rtol=1e-6, atol=1e-9)
    assert mixed > 0


ADAPTIVE = [
    ("now-singletons+adaptive", "cxr", 9),
    ("now-singletons+adaptive", "rxc", (3, 3)),
    ("ew-rect+adaptive", "rxc", (3, 3)),
    ("ew+adaptive", "cxr", 9),
    ("mds-adaptive", "cxr", 9),
]


@pytest.mark.parametrize("scheme,partition,blocks", ADAPTIVE)
@pytest.mark.parametrize("cost", ["work", "equal"])
def test_lean_adaptive_packets_equal_coded_matmul(scheme, partition, blocks, cost):
    """Adaptive packets (JobSpec.adaptive): the lean path draws the same packets as coded_matmul (times of every
    packet started, the same recovered blocks and estimate), and later packets do arrive."""
    rng = np.random.default_rng(4)
    workers = 9 if scheme == "mds-adaptive" else 15  # MDS: with W = K every packet after the first ones counts
    base = CodingConfig.from_scheme(scheme, partition=partition, blocks=blocks, workers=workers, cost=cost)
    later = partial = 0
    for trial in range(6):
        # an MDS row costs 9 block products in c×r under cost="work": deadlines that let a second packet arrive
        config = base.with_(deadline=(1.0, 3.0)[trial % 2] * (20 if scheme == "mds-adaptive" and cost == "work" else 1))
        A, B, At, Bt = _operands(rng, transposed=trial % 3 == 1)
        estimate, info = lean_product(At, Bt, config, 1000 + trial, track_loss=True)
        result = coded_matmul(A, B, config, seed=product_rng(1000 + trial))
        np.testing.assert_array_equal(info["response_times"], result.report["response_times"])
        np.testing.assert_array_equal(info["recovered"], result.recovered)
        assert info["received"] == result.received
        np.testing.assert_allclose(estimate.numpy(), result.estimate, rtol=1e-9, atol=1e-9)
        assert info["normalized_loss"] == pytest.approx(result.normalized_loss(A @ B), rel=1e-8, abs=1e-12)
        later += bool(np.any(info["response_times"][workers:] <= config.deadline))  # a later packet arrived
        partial += 0 < info["recovered"].sum() < info["recovered"].size
    assert later > 0
    if scheme != "mds-adaptive":  # MDS: all or nothing
        assert partial > 0


@pytest.mark.parametrize("scheme,partition,blocks", ADAPTIVE)
def test_lean_adaptive_with_infinite_deadline_is_the_exact_product(scheme, partition, blocks):
    rng = np.random.default_rng(5)
    config = CodingConfig.from_scheme(scheme, partition=partition, blocks=blocks, workers=15, deadline=math.inf,
                                      cost="work")
    for seed in range(3):
        A, B, At, Bt = _operands(rng, transposed=seed == 1)
        estimate, info = lean_product(At, Bt, config, seed, track_loss=True)
        assert info["recovered"].all()
        np.testing.assert_allclose(estimate.numpy(), A @ B, rtol=1e-9, atol=1e-9)
        assert info["normalized_loss"] < 1e-20


def test_lean_adaptive_refusals_name_the_setting():
    with pytest.raises(ValueError, match="code 'sampling' takes no adaptive packets"):
        LeanPlanner(CodingConfig(code="sampling", adaptive=True))
    with pytest.raises(ValueError, match="adaptive=True: decoder 'unbiased'"):
        LeanPlanner(CodingConfig(code="ew", decoder="unbiased", adaptive=True))
    with pytest.raises(ValueError, match="scheme 'ew-rect\\+adaptive' sets adaptive=True; got adaptive=False"):
        CodingConfig.from_scheme("ew-rect+adaptive", partition="rxc", blocks=(3, 3), adaptive=False)
