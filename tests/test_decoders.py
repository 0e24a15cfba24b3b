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
