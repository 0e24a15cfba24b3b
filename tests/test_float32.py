"""Float32 end to end: float32 inputs give float32 blocks, packets and estimate; the decoding
weights are solved in float64 on the K-dimensional coefficient rows.

Tolerance (docs/performance.md, "Float32 end to end"): with ``deadline=inf`` the float32
estimate is within relative Frobenius error ``2 · cond · eps32`` of ``A @ B`` computed in float64
from the same float32 values (``cond``: condition number of the received coefficient rows;
``benchmarks/bench_float32.py`` measures 0.07-0.75 of ``cond · eps32``), and within ``1e-5`` at
the sizes below, where ``cond < 40``.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.sparse as sp

import uepmm
from uepmm.api import plan_job

EPS32 = float(np.finfo(np.float32).eps)
# (code, partition, blocks, workers): every code on every partition it supports
CASES = [
    ("uncoded", "rxc", 4, 4), ("uncoded", "cxr", 4, 4),
    ("repetition", "rxc", 4, 8), ("repetition", "cxr", 4, 8),
    ("mds", "rxc", 4, 8), ("mds", "cxr", 4, 8),
    ("polynomial", "rxc", 4, 8),
    ("now", "rxc", 4, 16), ("now", "cxr", 4, 16),
    ("ew", "rxc", 4, 16), ("ew", "cxr", 4, 16),
]


@pytest.fixture(scope="module")
def pair32():
    rng = np.random.default_rng(32)
    A, B = rng.standard_normal((48, 40)).astype(np.float32), rng.standard_normal((40, 36)).astype(np.float32)
    return A, B, A.astype(np.float64) @ B.astype(np.float64)


def _rel(X, C):
    return float(np.linalg.norm(X.astype(np.float64) - C) / np.linalg.norm(C))


def _condition(res) -> float:
    return res.report.get("condition_number", 1.0)


@pytest.mark.parametrize("fidelity", ["full", "fast"])
@pytest.mark.parametrize("decoder", ["zero", "lmmse", "unbiased"])
@pytest.mark.parametrize("code,partition,blocks,workers", CASES)
def test_float32_in_float32_out_and_exact_with_every_code(pair32, code, partition, blocks, workers, decoder, fidelity):
    A, B, C = pair32
    res = uepmm.coded_matmul(A, B, code=code, partition=partition, blocks=blocks, workers=workers,
                             deadline=np.inf, decoder=decoder, fidelity=fidelity, seed=5)
    assert res.estimate.dtype == np.float32
    assert res.recovered.all()
    cond = _condition(res)
    assert cond < 40
    err = _rel(res.estimate, C)
    assert err <= 2 * cond * EPS32 and err <= 1e-5


@pytest.mark.parametrize("encoding", ["direct", "factor"])
@pytest.mark.parametrize("code,partition,blocks,workers", CASES)
def test_blocks_and_every_packet_stay_float32(pair32, code, partition, blocks, workers, encoding):
    A, B, _ = pair32
    try:
        plan = plan_job(A, B, code=code, partition=partition, blocks=blocks, workers=workers,
                        encoding=encoding, seed=5)
    except ValueError as exc:  # windows that are no rectangle have no factor form
        assert encoding == "factor" and str(exc).startswith("encoding='factor'") and "encoding='direct'" in str(exc)
        return
    job = plan.job
    assert plan.dtype == np.float32
    assert {b.dtype for b in (*job.a_blocks, *job.b_blocks)} == {np.dtype(np.float32)}
    for w in range(job.workers):
        packet = job.compute_packet(w)
        assert packet.dtype == np.float32 and packet.nbytes == packet.size * 4
        # the packet is the coded combination, to float32 accuracy
        exact = np.tensordot(job.encoding.generator[w], job.partition.block_products(
            [b.astype(np.float64) for b in job.a_blocks], [b.astype(np.float64) for b in job.b_blocks]), axes=1)
        assert _rel(packet, exact) <= 1e-6


@pytest.mark.parametrize("dtypes,expected", [
    ((np.float32, np.float64), np.float64),
    ((np.float64, np.float32), np.float64),
    ((np.float32, np.int32), np.float64),  # integers become float64 first, as numpy's result type says
    ((np.float32, np.float32), np.float32),
])
def test_mixed_inputs_follow_numpys_result_type(pair32, dtypes, expected):
    A, B, _ = pair32
    A, B = A.astype(dtypes[0]), (B * 4).astype(dtypes[1])
    C = A.astype(np.float64) @ B.astype(np.float64)
    plan = plan_job(A, B, code="mds", partition="rxc", blocks=4, workers=8, seed=1)
    assert plan.dtype == expected and plan.job.compute_packet(0).dtype == expected
    res = uepmm.coded_matmul(A, B, code="mds", partition="rxc", blocks=4, workers=8, deadline=np.inf, seed=1)
    assert res.estimate.dtype == expected
    assert _rel(res.estimate, C) <= (1e-5 if expected == np.float32 else 1e-12)


@pytest.mark.parametrize("code,workers", [("mds", 8), ("now", 16), ("ew", 16), ("repetition", 8)])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_sparse_float32_stays_float32(code, workers, partition):
    rng = np.random.default_rng(3)
    A = sp.random_array((60, 80), density=0.05, format="csr", rng=rng, dtype=np.float32)
    B = sp.random_array((80, 50), density=0.05, format="csc", rng=rng, dtype=np.float32)
    C = (A.astype(np.float64) @ B.astype(np.float64)).toarray()
    plan = plan_job(A, B, code=code, partition=partition, blocks=4, workers=workers, seed=2)
    assert plan.dtype == np.float32 and sp.issparse(plan.job.a_blocks[0])
    assert plan.job.a_blocks[0].dtype == np.float32 and plan.job.b_blocks[0].dtype == np.float32
    assert {plan.job.compute_packet(w).dtype for w in range(workers)} == {np.dtype(np.float32)}
    res = uepmm.coded_matmul(A, B, code=code, partition=partition, blocks=4, workers=workers,
                             deadline=np.inf, seed=2)
    assert res.estimate.dtype == np.float32 and res.recovered.all()
    assert _rel(res.estimate, C) <= 2 * _condition(res) * EPS32


def test_partial_recovery_float32_blocks_exact_others_zero(pair32):
    A, B, C = pair32
    res = uepmm.coded_matmul(A, B, code="ew", partition="rxc", blocks=4, workers=16, deadline=2.0, seed=1)
    assert res.estimate.dtype == np.float32
    assert res.recovered.tolist() == [True, True, True, False]
    layout, order = res.partition, res.order
    exact = layout.block_products(layout.a_blocks(A.astype(np.float64), order.a_perm),
                                  layout.b_blocks(B.astype(np.float64), order.b_perm))
    expected = order.assemble(layout, [exact[k] if res.recovered[k] else None for k in range(4)])
    assert np.all(res.estimate[expected == 0] == 0)
    assert _rel(res.estimate, expected) <= 1e-5


distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client():
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=16, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False}, silence_logs=logging.CRITICAL,
    )
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client
    cluster.close()


@pytest.mark.parametrize("code,partition,blocks,workers", [
    ("ew", "rxc", 4, 16), ("now", "cxr", 4, 16), ("mds", "cxr", 4, 8), ("polynomial", "rxc", 4, 8),
])
def test_dask_ships_float32_blocks_and_packets(pair32, dask_client, code, partition, blocks, workers):
    from uepmm.backends.dask import DaskBackend

    A, B, C = pair32
    settings = dict(code=code, partition=partition, blocks=blocks, workers=workers, deadline=np.inf, seed=4)
    backend = DaskBackend(client=dask_client, time_unit=0.01)
    packets = list(backend.packets(plan_job(A, B, **settings).job))
    scatter32 = backend.last_report["scatter_bytes"]
    assert {p.status for p in packets} == {"ok"} and len(packets) == workers  # float32 packets pass the probe
    assert {p.payload.dtype for p in packets} == {np.dtype(np.float32)}
    list(backend.packets(plan_job(A.astype(np.float64), B.astype(np.float64), **settings).job))
    assert 2 * scatter32 == backend.last_report["scatter_bytes"]  # half the bytes on the wire
    res = uepmm.coded_matmul(A, B, **settings, backend=backend)
    assert res.estimate.dtype == np.float32
    assert _rel(res.estimate, C) <= 2 * _condition(res) * EPS32 and _rel(res.estimate, C) <= 1e-5


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("fidelity", ["full", "fast"])
def test_speculative_and_sampling_keep_float32(partition, fidelity):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((30, 45)).astype(np.float32), rng.standard_normal((45, 27)).astype(np.float32)
    C = A.astype(np.float64) @ B.astype(np.float64)
    spec = dict(partition=partition, blocks=9, workers=12, latency=None, seed=1, fidelity=fidelity)
    exact = uepmm.coded_matmul(A, B, code="speculative", **spec)
    assert exact.estimate.dtype == np.float32 and exact.recovered.all()
    assert np.linalg.norm(exact.estimate - C) / np.linalg.norm(C) < 1e-6
    sampled = uepmm.coded_matmul(A, B, code="sampling", **spec)
    assert sampled.estimate.dtype == np.float32 and sampled.report["decoder"] == "sampling"


def test_matdot_refuses_float32_packets_in_full_fidelity():
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((30, 45)).astype(np.float32), rng.standard_normal((45, 27)).astype(np.float32)
    spec = dict(code="matdot", partition="cxr", blocks=9, workers=20, latency=None, seed=1)
    with pytest.raises(ValueError, match=r"code='matdot' decodes through a Vandermonde system .* float32 packets "
                                         r"would give C with errors of about 1e-3.* pass float64 inputs"):
        uepmm.coded_matmul(A, B, **spec)
    fast = uepmm.coded_matmul(A, B, fidelity="fast", **spec)  # exact sub-products: no decoding of packets
    assert fast.estimate.dtype == np.float32 and fast.recovered.all()
    full64 = uepmm.coded_matmul(A.astype(np.float64), B.astype(np.float64), **spec)
    C = A.astype(np.float64) @ B.astype(np.float64)
    assert np.linalg.norm(full64.estimate - C) / np.linalg.norm(C) < 1e-8
