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


def test_auto_without_a_deadline_uses_the_default_and_errors_are_clear():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((9, 9)), rng.standard_normal((9, 9))
    res = coded_matmul(A, B, code="ew", workers=15, gamma="auto", seed=0)  # deadline inf: nothing to design
    assert res.report["gamma"] is None and res.recovered.all()
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
