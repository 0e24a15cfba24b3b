"""gamma="auto": the parameter server designs Γ per job; engine, lean path and CLI agree."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import JobSpec, coded_matmul, design_gamma, paper_sec6_classes, plan_job
from uepmm.design.auto import class_energies, energy_key
from uepmm.experiments.synthetic import sec6_matrices
from uepmm.importance import ClassTable
from uepmm.latency import Exponential


def test_auto_designs_the_theorem1_gamma_from_the_job_energies():
    A, B = sec6_matrices("rxc", np.random.default_rng(0), 0.3)
    spec = JobSpec(code="now", partition="rxc", blocks=(3, 3), workers=30, deadline=0.5, omega=1.0,
                   classes=paper_sec6_classes("rxc"), reorder=False, gamma="auto", decoder="zero")
    plan = plan_job(A, B, spec, seed=1)
    means = class_energies(plan.energies, plan.classes)
    key = energy_key(means)
    assert key[0] == 1.0 and all(k <= 1.0 for k in key)
    direct = design_gamma("now", (3, 3, 3), key, 30, Exponential(1.0), 0.5, omega=1.0)
    assert plan.code.gamma == pytest.approx(tuple(direct.gamma))
    assert plan.code.gamma[2] < 0.05 < plan.code.gamma[0]  # the low class gets (almost) nothing at T = 0.5


def test_auto_beats_table3_on_the_sec6_setting():
    A, B = sec6_matrices("rxc", np.random.default_rng(1), 0.25)
    C = A @ B
    common = dict(code="now", partition="rxc", blocks=(3, 3), workers=30, deadline=0.5, omega=1.0,
                  classes=paper_sec6_classes("rxc"), reorder=False, fidelity="fast")
    table3 = np.mean([coded_matmul(A, B, seed=s, **common).normalized_loss(C) for s in range(150)])
    auto = np.mean([coded_matmul(A, B, seed=s, gamma="auto", **common).normalized_loss(C) for s in range(150)])
    assert auto < 0.5 * table3, (auto, table3)


def test_auto_without_a_deadline_designs_for_all_the_packets_and_errors_are_clear():
    from uepmm.design.auto import ALL_ARRIVE, auto_code
    from uepmm.design.gamma import gamma_loss
    from uepmm.latency import Pareto

    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((9, 9)), rng.standard_normal((9, 9))
    res = coded_matmul(A, B, code="ew", workers=15, gamma="auto", seed=0)  # deadline inf: all 15 packets
    assert res.report["gamma"] is not None and res.recovered.all()
    # one class per sub-product (NOW, closed-form LMMSE objective): the design for exactly W packets, the same
    # whatever the latency model and cost, and better than the uniform Γ of before
    table = ClassTable(tuple(range(6)))
    energies = 10.0 ** -np.arange(6.0)
    spec = JobSpec(code="now", partition="cxr", blocks=6, workers=12, classes=table, gamma="auto", decoder="lmmse")
    got = auto_code(spec, table, energies).gamma
    latency, deadline, omega = ALL_ARRIVE
    common = dict(workers=12, latency=latency, deadline=deadline, omega=omega, partition="cxr", decoder="lmmse")
    key = energy_key(class_energies(energies, table))
    assert got == design_gamma("now", (1,) * 6, key, trials=400, **common).gamma
    for other in (spec.with_(latency=Pareto(1.0, 2.0)), spec.with_(cost="work", omega=0.5)):
        assert auto_code(other, table, energies).gamma == got
    designed, uniform = (gamma_loss("now", (1,) * 6, g, key, **common) for g in (got, (1 / 6,) * 6))
    assert designed < 0.5 * uniform
    # a finite deadline without a latency model, or none at all: nothing to design for, the default
    assert auto_code(spec.with_(latency=None, deadline=1.0), table, energies).gamma == (1 / 6,) * 6
    assert auto_code(spec.with_(deadline=0.0), table, energies).gamma == (1 / 6,) * 6
    with pytest.raises(ValueError, match="gamma='auto'.*now.*ew"):
        JobSpec(code="mds", gamma="auto")
    with pytest.raises(ValueError, match="'auto'"):
        JobSpec(code="now", gamma="best")
    table = ClassTable((0, 1, 1))
    np.testing.assert_allclose(class_energies(np.array([4.0, 0.0, 0.0]), table), [4.0, 4e-12])


def test_training_path_uses_the_same_design():
    torch = pytest.importorskip("torch")
    from uepmm import product_rng
    from uepmm.nn import CodingConfig, lean_product

    config = CodingConfig(code="ew", partition="cxr", blocks=9, workers=15, deadline=0.7, gamma="auto",
                          decoder="lmmse")
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((16, 27)) * rng.random(27) ** 2, rng.standard_normal((27, 12))
    for seed in range(5):
        est, info = lean_product(torch.from_numpy(A), torch.from_numpy(B), config, seed)
        res = coded_matmul(A, B, config, seed=product_rng(seed))
        np.testing.assert_array_equal(info["recovered"], res.recovered)
        np.testing.assert_allclose(est.numpy(), res.estimate, rtol=1e-10, atol=1e-10)
    assert math.isfinite(res.normalized_loss(A @ B))


# ------------------------------------------------------------------ the design cache
@pytest.fixture
def counted_designs(monkeypatch):
    """``design_gamma`` replaced by a counting stand-in (a Γ that names the key), with the design
    cache emptied before and after so that no stand-in design outlives the test."""
    from types import SimpleNamespace

    from uepmm.design import auto, gamma

    calls = []

    def fake(code, k, class_energy, *args, **kwargs):
        calls.append(tuple(class_energy))
        weights = np.log10(np.asarray(class_energy)) - 13.0  # negative, one per key
        return SimpleNamespace(gamma=tuple(weights / weights.sum()))

    auto._designed.cache_clear()
    monkeypatch.setattr(gamma, "design_gamma", fake)
    yield calls
    auto._designed.cache_clear()


def _ew_spec():
    return JobSpec(code="ew", partition="cxr", blocks=6, workers=12, deadline=0.8, class_counts=(1, 2, 3),
                   gamma="auto", decoder="lmmse")


def _energies(ratios):
    """Sub-product energies of the class table (0, 1, 1, 2, 2, 2) with class means ``10**ratios``."""
    return np.repeat(10.0 ** np.asarray(ratios, dtype=np.float64), (1, 2, 3))


def test_design_is_reused_while_the_energy_ratios_stay_in_their_cell(counted_designs):
    from uepmm.design.auto import AUTO_FLOOR, AUTO_RESOLUTION, auto_code

    spec, table = _ew_spec(), ClassTable((0, 1, 1, 2, 2, 2))
    assert (AUTO_RESOLUTION, AUTO_FLOOR) == (0.25, -12.0)
    first = auto_code(spec, table, _energies([0.0, -1.0, -2.0]))
    assert counted_designs == [(1.0, 0.1, 0.01)]
    # the same ratios at another scale, and ratios moved by less than half a step (0.125 decades)
    for ratios in ([3.0, 2.0, 1.0], [0.0, -0.9, -2.1], [0.0, -1.12, -1.88], [0.5, -0.6, -1.5]):
        assert auto_code(spec, table, _energies(ratios)).gamma == first.gamma
    assert len(counted_designs) == 1
    # class 2 moves to the next quarter decade: a new design, kept again within its cell
    second = auto_code(spec, table, _energies([0.0, -1.0, -2.2]))
    assert counted_designs[1] == pytest.approx((1.0, 0.1, 10**-2.25), rel=1e-14)
    assert second.gamma != first.gamma
    auto_code(spec, table, _energies([0.0, -0.95, -2.3]))
    assert len(counted_designs) == 2
    # back to the first cell: served from the cache
    assert auto_code(spec, table, _energies([0.0, -1.0, -2.0])).gamma == first.gamma
    assert len(counted_designs) == 2
    # an empty class, or one below the floor (10^-12 of the largest), counts as the floor: one design
    for low in (-12.1, -15.0, -np.inf):
        auto_code(spec, table, _energies([0.0, -1.0, low]))
    assert counted_designs[2:] == [(1.0, 0.1, 1e-12)]
    # far below the others, but above the floor: still a design of its own cell
    auto_code(spec, table, _energies([0.0, -1.0, -5.0]))
    assert counted_designs[3] == (1.0, 0.1, 1e-5)
    # another spec (deadline) is another design for the same energies
    auto_code(spec.with_(deadline=0.9), table, _energies([0.0, -1.0, -2.0]))
    assert len(counted_designs) == 5


def test_energy_key_is_within_half_a_step_of_every_ratio():
    from uepmm.design.auto import AUTO_FLOOR, AUTO_RESOLUTION

    rng = np.random.default_rng(5)
    for _ in range(200):
        means = 10.0 ** rng.uniform(-14.0, 2.0, size=rng.integers(2, 6))
        key = np.log10(energy_key(means))
        ratios = np.log10(means / means.max())
        assert key.max() == 0.0
        above = ratios >= AUTO_FLOOR
        assert np.all(np.abs(key[above] - ratios[above]) <= AUTO_RESOLUTION / 2 + 1e-12)
        assert np.all(key[~above] == AUTO_FLOOR)
        # the key is what the rounding of numpy gives (a quarter-decade grid, floored)
        expected = np.maximum(np.round(ratios / AUTO_RESOLUTION) * AUTO_RESOLUTION, AUTO_FLOOR)
        np.testing.assert_array_equal(key, np.log10(10.0**expected))


def _train_auto(steps):
    """Parameters after ``steps`` SGD steps of a two-layer net coded with ``gamma="auto"`` (NOW c×r, zero fill)."""
    torch = pytest.importorskip("torch")
    from uepmm.nn import CodedLinear, CodingConfig

    config = CodingConfig(code="now", partition="cxr", blocks=9, workers=15, deadline=0.6, gamma="auto",
                          decoder="zero", class_counts=(1, 2, 6))
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(27, 20, generator=gen), torch.randn(27, 9, generator=gen)
    torch.manual_seed(0)
    net = torch.nn.Sequential(CodedLinear(20, 18, coding=config, seed=3), torch.nn.Tanh(),
                              CodedLinear(18, 9, coding=config, seed=3, layer_index=1))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in net.parameters()]


def test_auto_training_is_deterministic_whatever_the_cache_holds():
    """The same seed gives the same run whether the designs come from the cache or are made anew."""
    torch = pytest.importorskip("torch")
    from uepmm.design import auto

    auto._designed.cache_clear()
    fresh = _train_auto(6)
    made = auto._designed.cache_info().misses
    assert made >= 1
    cached = _train_auto(6)  # every design from the cache
    assert auto._designed.cache_info().misses == made
    for a, b in zip(fresh, cached):
        assert torch.equal(a, b)


# ------------------------------------------------------------------ designs made ahead
def _now_zero_spec():
    return JobSpec(code="now", partition="cxr", blocks=6, workers=12, deadline=0.8, class_counts=(1, 2, 3),
                   gamma="auto", decoder="zero")


def test_neighbour_keys_are_the_cells_across_the_near_edges():
    from uepmm.design.auto import AUTO_RESOLUTION, neighbour_keys

    # ratios 0, -1.12 (0.005 decades from the edge at -1.125), -2.0 (a cell centre): one cell across
    means = 10.0 ** np.array([0.0, -1.12, -2.0])
    assert neighbour_keys(means, 0.05) == [energy_key(10.0 ** np.array([0.0, -1.13, -2.0]))]
    assert neighbour_keys(means, 0.001) == []
    # two near edges: each cell across, and the corner
    means = 10.0 ** np.array([0.0, -0.88, -2.12])
    keys = neighbour_keys(means, 0.05)
    moved = [[0.0, -0.87, -2.12], [0.0, -0.88, -2.13], [0.0, -0.87, -2.13]]
    assert keys == [energy_key(10.0 ** np.array(r)) for r in moved]
    assert all(np.abs(np.log10(k) - np.log10(energy_key(means))).max() == pytest.approx(AUTO_RESOLUTION)
               for k in keys)
    # the largest class and a class at the floor have no edge to cross
    assert neighbour_keys(10.0 ** np.array([0.0, -13.0, -12.99]), 0.2) == []


def test_a_design_made_ahead_is_the_design_made_here():
    from uepmm.design import auto

    spec, table = _now_zero_spec(), ClassTable((0, 1, 1, 2, 2, 2))
    auto._designed.cache_clear()
    try:
        near = _energies([0.0, -1.12, -2.0])  # 0.005 decades from the next cell of class 2
        across = _energies([0.0, -1.14, -2.0])
        auto.auto_code(spec, table, near, ahead=True)
        info = auto._designed.cache_info()
        assert (info.misses, info.ahead, info.speculative) == (1, 0, 1)
        got = auto.auto_code(spec, table, across)  # made ahead (waited for if still running)
        info = auto._designed.cache_info()
        assert (info.misses, info.ahead) == (2, 1)
        key = energy_key(auto.class_energies(across, table))
        expected = auto._design("now", (1, 2, 3), key, 12, spec.latency, 0.8, spec.omega_value, "cxr", "zero",
                                "equal", None, None)
        assert got.gamma == expected  # the same floats as a design made in this process
        assert auto.auto_code(spec, table, across).gamma == expected and auto._designed.cache_info().hits == 1
    finally:
        auto._designed.cache_clear()


def test_without_fork_designs_are_made_when_asked(monkeypatch):
    import multiprocessing

    from uepmm.design import auto

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    cache = auto._DesignCache(8)
    monkeypatch.setattr(auto, "_designed", cache)
    spec, table = _now_zero_spec(), ClassTable((0, 1, 1, 2, 2, 2))
    first = auto.auto_code(spec, table, _energies([0.0, -1.12, -2.0]), ahead=True)
    assert cache._worker is None and cache.cache_info().speculative == 0
    assert auto.auto_code(spec, table, _energies([0.0, -1.0, -2.0])).gamma == first.gamma


def test_auto_training_is_the_same_with_designs_made_ahead(monkeypatch):
    """Designs made ahead in the worker process change when a design is made, never what a product gets."""
    torch = pytest.importorskip("torch")
    from uepmm.design import auto
    from uepmm.nn import lean

    def run(ahead):
        monkeypatch.setattr(lean, "AHEAD", ahead)
        auto._designed.cache_clear()
        return _train_auto(8), auto._designed.cache_info()

    try:
        plain, plain_info = run(False)
        ahead, ahead_info = run(True)
    finally:
        auto._designed.cache_clear()
    assert plain_info.speculative == 0 and ahead_info.speculative >= 1
    for a, b in zip(plain, ahead):
        assert torch.equal(a, b)
