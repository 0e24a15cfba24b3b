"""The decoder interface: one session per job, for both fidelities, and the lean reconstruction."""

from __future__ import annotations

import numpy as np
import pytest

from uepmm import JobSpec, make_decoder, plan_job
from uepmm.decoders import DecodeContext, ZeroFillDecoder


def _context(fidelity: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((12, 18)), rng.standard_normal((18, 12))
    plan = plan_job(A, B, JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=15), seed=seed)
    job = plan.job
    exact = job.partition.block_products(job.a_blocks, job.b_blocks)
    context = DecodeContext(
        job.partition, plan.order, plan.dtype, job.workers, plan.classes, plan.scores,
        exact if fidelity == "fast" else None,
    )
    return A @ B, plan, context, exact


@pytest.mark.parametrize("fidelity", ["full", "fast"])
def test_zero_fill_sessions_recover_exact_blocks_or_nothing(fidelity):
    C, plan, context, exact = _context(fidelity)
    session = make_decoder("zero").start(context)
    job = plan.job
    for w in np.argsort(job.times)[:8]:
        payload = job.compute_packet(int(w)) if fidelity == "full" else None
        session.add(job.encoding.generator[w], payload)
    estimate = session.estimate()
    rows, cols = job.partition.grid
    for k in range(job.partition.num_products):  # in importance order: place through the order
        block = plan.order.assemble(job.partition, [exact[j] if j == k else None for j in range(9)])
        mask = block != 0
        if session.recovered[k]:
            np.testing.assert_allclose(estimate[mask], C[mask], rtol=1e-9, atol=1e-9)
        else:
            assert np.all(estimate[mask] == 0)
    assert 0 < session.recovered.sum() < 9 and not session.complete


def test_full_session_needs_payloads_and_reconstruction_is_the_selection():
    _, plan, context, _ = _context("full")
    session = ZeroFillDecoder().start(context)
    with pytest.raises(ValueError, match="payload"):
        session.add(plan.job.encoding.generator[0], None)
    recovered = np.array([True, False, True])
    np.testing.assert_array_equal(ZeroFillDecoder().reconstruction(np.eye(3)[[0, 2]], recovered), np.diag([1.0, 0, 1]))
    with pytest.raises(ValueError, match="decoder"):
        make_decoder("lmmse?")


# ----------------------------------------------------------------------------- LMMSE and unbiased

import math  # noqa: E402

from uepmm import coded_matmul, paper_sec6_classes  # noqa: E402
from uepmm.codes import make_code  # noqa: E402
from uepmm.estimation import lmmse_error  # noqa: E402
from uepmm.experiments.synthetic import sec6_matrices  # noqa: E402
from uepmm.importance import ImportanceOrder, sub_product_energies  # noqa: E402
from uepmm.partition import make_partition  # noqa: E402


@pytest.mark.parametrize("decoder", ["lmmse", "unbiased"])
@pytest.mark.parametrize("partition,blocks", [("rxc", (3, 3)), ("cxr", 9)])
@pytest.mark.parametrize("fidelity", ["full", "fast"])
def test_exact_with_every_packet(decoder, partition, blocks, fidelity):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((14, 19)), rng.standard_normal((19, 11))
    res = coded_matmul(A, B, code="ew", partition=partition, blocks=blocks, workers=30, decoder=decoder,
                       fidelity=fidelity, seed=2)
    assert res.recovered.all()
    np.testing.assert_allclose(res.estimate, A @ B, rtol=1e-9, atol=1e-9)


def test_lmmse_mean_loss_is_the_closed_form_error_on_gaussian_sub_products():
    """Fixed received rows, Gaussian sub-products of energies s: mean ||P - P_hat||^2 = trace(E)."""
    K, shape, trials = 9, (6, 5), 3000
    rng = np.random.default_rng(0)
    s = np.array([40.0, 40, 40, 1, 1, 1, 0.07, 0.07, 0.07])
    rows = make_code("now", gamma=(0.4, 0.35, 0.25)).encode(paper_sec6_classes("rxc"), 7, rng).generator
    layout = make_partition((18, 7), (7, 15), "rxc", (3, 3))
    order = ImportanceOrder("rxc", np.arange(18), np.arange(15))
    errors = np.empty(trials)
    decoder = make_decoder("lmmse")
    for t in range(trials):
        exact = rng.standard_normal((K, *shape)) * np.sqrt(s / (shape[0] * shape[1]))[:, None, None]
        context = DecodeContext(layout, order, np.dtype(np.float64), 7, paper_sec6_classes("rxc"), None, exact, s)
        session = decoder.start(context)
        for row in rows:
            session.add(row, None)
        truth = order.assemble(layout, list(exact))
        errors[t] = np.sum((session.estimate() - truth) ** 2)
    expected = lmmse_error(rows, s)
    assert abs(errors.mean() - expected) < 4 * errors.std() / math.sqrt(trials)
    zero_fill = float(np.sum(s * ~session.recovered))
    assert expected < 0.5 * zero_fill  # the packets that arrived carry most of what zero-fill drops


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("code", ["now", "ew", "mds"])
def test_lmmse_is_not_worse_than_zero_fill_in_the_sec6_setting(partition, code):
    rng = np.random.default_rng(1)
    A, B = sec6_matrices(partition, rng, 0.2)
    C = A @ B
    blocks = (3, 3) if partition == "rxc" else 9
    losses = {"zero": [], "lmmse": []}
    for seed in range(25):
        for decoder in losses:
            res = coded_matmul(A, B, code=code, partition=partition, blocks=blocks, workers=30, deadline=0.5,
                               omega=1.0, classes=paper_sec6_classes(partition), reorder=False, decoder=decoder,
                               fidelity="fast", seed=seed)
            losses[decoder].append(res.normalized_loss(C))
    zero, lmmse = np.mean(losses["zero"]), np.mean(losses["lmmse"])
    assert lmmse < 0.5 * zero, (zero, lmmse)


def test_unbiased_estimates_average_to_c():
    """All W = 12 packets arrive (n fixed): the mean over code draws of C_hat is C."""
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((6, 9)), rng.standard_normal((9, 6))
    C = A @ B
    trials = 3000
    total = np.zeros_like(C)
    totals_sq = np.zeros_like(C)
    for seed in range(trials):
        est = coded_matmul(A, B, code="now", partition="cxr", blocks=9, workers=12, latency=None,
                           decoder="unbiased", fidelity="fast", seed=seed).estimate
        total += est
        totals_sq += est**2
    mean = total / trials
    se = np.sqrt((totals_sq / trials - mean**2) / trials)
    assert np.all(np.abs(mean - C) < 4.5 * se + 1e-12)
    zero = np.mean([coded_matmul(A, B, code="now", partition="cxr", blocks=9, workers=12, latency=None,
                                 decoder="zero", fidelity="fast", seed=s).estimate for s in range(300)], axis=0)
    assert np.abs(zero - C).max() > 10 * se.max()  # zero-fill is biased towards 0


def test_energy_prior_from_norms():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((12, 20)), rng.standard_normal((20, 9))
    for kind, blocks in (("rxc", (3, 3)), ("cxr", 4)):
        layout = make_partition(A.shape, B.shape, kind, blocks)
        order = ImportanceOrder.identity(kind, A, B)
        s = sub_product_energies(order, layout, A, B)
        a_blocks, b_blocks = layout.a_blocks(A), layout.b_blocks(B)
        for k in range(layout.num_products):
            i, j = layout.factors(k)
            inner = A.shape[1] if kind == "rxc" else a_blocks[i].shape[1]
            expected = np.sum(a_blocks[i] ** 2) * np.sum(b_blocks[j] ** 2) / inner
            assert s[k] == pytest.approx(expected)
        mean_abs = ImportanceOrder.identity(kind, A, B, "mean_abs")  # the prior is always from norms
        np.testing.assert_allclose(sub_product_energies(mean_abs, layout, A, B), s)


def test_track_loss_prices_the_decoders_own_estimate():
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((12, 18)), rng.standard_normal((18, 12))
    C = A @ B
    seen = []
    res = coded_matmul(A, B, code="now", partition="rxc", blocks=(3, 3), workers=15, deadline=0.6, decoder="lmmse",
                       track_loss=True, seed=3, on_packet=lambda p: seen.append(np.sum((C - p.estimate()) ** 2)))
    assert res.timeline, "some packets arrived"
    np.testing.assert_allclose([e.loss for e in res.timeline], np.array(seen) / np.sum(C**2), rtol=1e-9)
    assert res.timeline[-1].loss == pytest.approx(res.normalized_loss(C))
