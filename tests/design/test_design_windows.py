"""Designed windows: the class structure chosen with Γ (classes="rectangles-auto" / "sizes-auto")."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import JobSpec, coded_matmul, design_gamma, plan_job
from uepmm.design import windows
from uepmm.design.auto import AUTO_TRIALS, class_energies, energy_key
from uepmm.experiments.compare import fast_losses
from uepmm.experiments.engine_curves import trial_seed
from uepmm.importance import ClassSizes, Rectangles, rectangle_chains
from uepmm.latency import Exponential


def test_candidates_are_every_chain_and_every_non_decreasing_size_vector():
    assert rectangle_chains((2, 2), 2) == [((2, 2),), ((1, 1), (2, 2)), ((1, 2), (2, 2)), ((2, 1), (2, 2))]
    assert len(rectangle_chains((3, 3), 4)) == 46 and len(rectangle_chains((3, 3), 9)) == 52
    rule = Rectangles("auto").for_layout("rxc", (3, 3))
    candidates = rule.candidates()
    assert candidates[0].windows == ((1, 1), (2, 2), (3, 3))  # the default first
    assert len(candidates) == 46 and len({c.windows for c in candidates}) == 46
    sizes = [c.counts for c in ClassSizes("auto").for_layout("cxr", (9, 1)).candidates()]
    assert sizes[:2] == [(1,) * 9, (9,)] and len(sizes) == 19  # singletons, one class, 17 with 2..4 classes
    assert all(sum(s) == 9 and list(s) == sorted(s) for s in sizes)


def _now_cxr(deadline, cost="work"):
    return JobSpec(code="now", partition="cxr", blocks=5, workers=10, omega=0.5, cost=cost, deadline=deadline,
                   classes="sizes-auto", gamma="auto", decoder="lmmse")


def test_chosen_objective_is_the_least_of_every_candidate():
    """NOW c×r (closed-form objective, no screen): the winner is the minimum over all candidates."""
    scores = np.array([3.0, 2.0, 1.5, 0.3, 0.2])
    energies = scores**2
    spec = _now_cxr(0.8)
    result = windows.design_windows(spec, scores, energies)
    losses = []
    for rule in spec.classes.candidates():
        table = rule.table(scores)
        design = design_gamma("now", table.counts, energy_key(class_energies(energies, table)), 10, Exponential(1.0),
                              0.8, omega=0.5, partition="cxr", decoder="lmmse", cost="work", trials=AUTO_TRIALS)
        losses.append(design.expected_loss)
    assert result.expected_loss == pytest.approx(min(losses), rel=1e-12)
    assert result.expected_loss <= result.default_loss == pytest.approx(losses[0], rel=1e-12)
    assert result.candidates == len(losses) and sum(result.classes.counts) == 5


def test_a_known_best_rectangle_chain_is_picked_through_plan_job():
    """r×c 2×2, chains of at most two windows, all energy in the top row block: the window 1×2 holds
    exactly the heavy cells, so ((1, 2), (2, 2)) beats the default ((1, 1), (2, 2)) and the other chains."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 6)) * np.array([[30.0], [30.0], [1.0], [1.0]])
    B = rng.standard_normal((6, 4))
    spec = JobSpec(code="ew", partition="rxc", blocks=(2, 2), workers=8, omega=0.5, deadline=0.7, cost="work",
                   encoding="factor", classes=Rectangles("auto", max_windows=2), gamma="auto", decoder="zero")
    plan = plan_job(A, B, spec, seed=1)
    result = windows.design_windows(spec, plan.scores, plan.energies)
    assert result.rule.windows == ((1, 2), (2, 2)) and result.structure == "1x2, 2x2"
    assert plan.classes == result.classes == Rectangles(((1, 2), (2, 2))).for_layout("rxc", (2, 2)).table(plan.scores)
    assert plan.code == result.code and result.expected_loss < 0.75 * result.default_loss
    assert coded_matmul(A, B, spec, seed=1).classes == result.classes  # the result carries the chosen table
    for rule in spec.classes.candidates()[1:]:  # decoder zero: Theorem 1, no screen, every candidate designed
        if rule.windows != ((1, 2), (2, 2)):
            table = rule.table(plan.scores)
            other = design_gamma("ew", table.counts, energy_key(class_energies(plan.energies, table)), 8,
                                 Exponential(1.0), 0.7, omega=0.5, decoder="zero", cost="work",
                                 work=(1,) * table.num_classes, mds_work=1)
            assert result.expected_loss < other.expected_loss, rule.windows


def test_monte_carlo_winner_is_no_worse_than_the_default_and_deterministic():
    scores = np.array([5.0, 2.0, 0.5, 2.0, 0.8, 0.2, 0.5, 0.2, 0.05])  # r×c 3×3, row-major
    spec = JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=12, omega=0.75, deadline=0.6, cost="work",
                   encoding="factor", classes=Rectangles("auto", max_windows=2), gamma="auto", decoder="lmmse")
    windows._design.cache_clear()
    first = windows.design_windows(spec, scores, scores**2)
    windows._design.cache_clear()
    second = windows.design_windows(spec, scores, scores**2)
    assert first == second and first.candidates == 10  # the default (3 windows) and the 9 chains of <= 2
    assert first.expected_loss <= first.default_loss


def test_without_a_deadline_the_default_structure_is_used():
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((5, 10)), rng.standard_normal((10, 4))
    spec = _now_cxr(math.inf)
    result = windows.design_windows(spec, np.arange(5.0, 0, -1), np.ones(5))
    assert result.classes.counts == (1,) * 5 and math.isnan(result.expected_loss) and result.designs == 0
    out = coded_matmul(A, B, spec, seed=0)
    assert out.recovered.all() and out.normalized_loss(A @ B) < 1e-20


def test_fast_path_equals_coded_matmul_with_designed_windows():
    rng = np.random.default_rng(11)
    A, B = rng.standard_normal((6, 15)) * np.repeat([3.0, 2.0, 1.5, 0.3, 0.2], 3), rng.standard_normal((15, 6))
    spec = _now_cxr(math.inf)
    deadlines = [0.4, 2.0]
    tables = [plan_job(A, B, spec.with_(deadline=t), seed=0).classes.counts for t in deadlines]
    assert tables[0] != tables[1]  # a class table per deadline: the fast path must design each
    losses, _ = fast_losses(A, B, spec, deadlines, 2, seed=9)
    C = A @ B
    for j in range(2):
        for i, t in enumerate(deadlines):
            result = coded_matmul(A, B, spec, deadline=t, seed=trial_seed(9, j), fidelity="full")
            assert losses[j, i] == pytest.approx(result.normalized_loss(C), abs=1e-12), (j, t)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="gamma='auto'"):
        JobSpec(code="ew", partition="rxc", blocks=(3, 3), classes="rectangles-auto")
    with pytest.raises(ValueError, match="gamma='auto'.*class_counts"):
        JobSpec(code="now", classes="sizes-auto", gamma=(0.5, 0.5))
    with pytest.raises(ValueError, match="partition 'rxc'"):
        JobSpec(code="ew", partition="cxr", classes="rectangles-auto", gamma="auto")
    with pytest.raises(ValueError, match="sides must be pairs .* or 'auto'"):
        Rectangles("best").for_layout("rxc", (3, 3))
    with pytest.raises(ValueError, match="max_windows must be an integer >= 1"):
        Rectangles("auto", max_windows=0).for_layout("rxc", (3, 3))
    with pytest.raises(ValueError, match="ClassSizes counts .* sum to 4 .* K = 5"):
        ClassSizes((2, 2)).for_layout("cxr", (5, 1))
    with pytest.raises(ValueError, match="max_classes must be an integer >= 1"):
        ClassSizes("auto", max_classes=0).for_layout("cxr", (5, 1))
    with pytest.raises(ValueError, match="chosen with gamma for each job"):
        ClassSizes("auto").for_layout("cxr", (5, 1)).table([1.0] * 5)
    with pytest.raises(ValueError, match="designs itself"):
        windows.design_windows(JobSpec(code="ew-matdot", partition="cxr", blocks=3, workers=9, deadline=1.0,
                                       classes="sizes-auto", gamma="auto"), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="needs a designed class rule"):
        windows.design_windows(JobSpec(code="now", classes="singletons", gamma="auto", deadline=1.0),
                               np.ones(9), np.ones(9))


def test_product_energy_is_the_monte_carlo_prior():
    setting = dict(workers=8, latency=Exponential(1.0), deadline=0.8, omega=0.5, decoder="lmmse", trials=64)
    plain = design_gamma("ew", (1, 2), (4.0, 1.0), **setting)
    repeated = design_gamma("ew", (1, 2), (4.0, 1.0), product_energy=(4.0, 1.0, 1.0), **setting)
    assert repeated == plain  # each class's energy repeated: the same draws, the same design
    spread = design_gamma("ew", (1, 2), (4.0, 1.0), product_energy=(4.0, 1.9, 0.1), **setting)
    assert spread.expected_loss < plain.expected_loss  # LMMSE learns the heavier member of class 2 first
    with pytest.raises(ValueError, match="class means .* differ from class_energy"):
        design_gamma("ew", (1, 2), (4.0, 1.0), product_energy=(4.0, 2.0, 1.0), **setting)
    with pytest.raises(ValueError, match="product_energy must be 3 finite energies > 0"):
        design_gamma("ew", (1, 2), (4.0, 1.0), product_energy=(4.0, 1.0), **setting)
