"""scipy.sparse inputs (uepmm.sparse): exact products, statistics equal to the dense copy's,
sparse blocks, dense packets, the Dask backend, and the errors for what is refused."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.sparse as sp

import uepmm
from uepmm import sparse as usp
from uepmm.api import plan_job
from uepmm.importance import importance_order, product_scores
from uepmm.latency import Schedule
from uepmm.partition import make_partition
from uepmm.verification import PacketVerifier
from uepmm.worker import coded_product, factor_product

CODE_WORKERS = {"uncoded": 9, "repetition": 18, "mds": 12, "now": 30, "ew": 30}


@pytest.fixture(scope="module")
def pair():
    """A 1%-dense 300×400 and 400×200 (CSR, CSC), and their product."""
    rng = np.random.default_rng(7)
    A = sp.random_array((300, 400), density=0.01, format="csr", rng=rng)
    B = sp.random_array((400, 200), density=0.01, format="csc", rng=rng)
    return A, B, (A @ B).toarray()


def _rel(X, Y):
    return float(np.linalg.norm(X - Y) / np.linalg.norm(Y))


# ------------------------------------------------------------------ exactness
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("code", list(CODE_WORKERS))
@pytest.mark.parametrize("fidelity", ["full", "fast"])
def test_deadline_inf_is_exact_for_every_code_and_partition(pair, code, partition, fidelity):
    A, B, C = pair
    res = uepmm.coded_matmul(A, B, code=code, partition=partition, blocks=9, workers=CODE_WORKERS[code],
                             deadline=np.inf, fidelity=fidelity, seed=3)
    assert type(res.estimate) is np.ndarray and res.estimate.shape == (300, 200)
    assert res.recovered.all() and res.received >= 9
    assert _rel(res.estimate, C) < 1e-10


@pytest.mark.parametrize("decoder", ["lmmse", "unbiased"])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_other_decoders_are_exact_at_deadline_inf(pair, decoder, partition):
    A, B, C = pair
    res = uepmm.coded_matmul(A, B, code="ew", partition=partition, blocks=9, workers=30, deadline=np.inf,
                             decoder=decoder, seed=5)
    assert res.recovered.all() and _rel(res.estimate, C) < 1e-10


def test_factor_form_and_every_scipy_format(pair):
    A, B, C = pair
    res = uepmm.coded_matmul(A, B, code="mds", partition="rxc", blocks=9, workers=12, encoding="factor",
                             deadline=np.inf, seed=0)
    assert res.recovered.all() and _rel(res.estimate, C) < 1e-10
    for a, b in [(sp.csr_matrix(A), sp.csc_matrix(B)), (sp.coo_array(A), sp.coo_matrix(B)),
                 (sp.lil_matrix(A), sp.dok_array(B)), (A, B.toarray())]:  # sparse times dense too
        res = uepmm.coded_matmul(a, b, code="mds", partition="cxr", blocks=4, workers=6, deadline=np.inf, seed=1)
        assert _rel(res.estimate, C) < 1e-10
        assert res.normalized_loss(a @ b) < 1e-20  # a sparse C is accepted


# ----------------------------------------------------- same decisions as dense
@pytest.mark.parametrize("statistic", ["fro", "mean_abs"])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_importance_statistics_equal_the_dense_copy(pair, statistic, partition):
    A, B, _ = pair
    sparse_order = importance_order(A, B, partition, statistic)
    dense_order = importance_order(A.toarray(), B.toarray(), partition, statistic)
    np.testing.assert_allclose(sparse_order.a_line_stats, dense_order.a_line_stats, rtol=1e-12, atol=0)
    np.testing.assert_allclose(sparse_order.b_line_stats, dense_order.b_line_stats, rtol=1e-12, atol=0)
    assert np.array_equal(sparse_order.a_perm, dense_order.a_perm)
    assert np.array_equal(sparse_order.b_perm, dense_order.b_perm)
    layout = make_partition(A.shape, B.shape, partition, 9)
    for got, want in zip(sparse_order.apply(A, B), dense_order.apply(A.toarray(), B.toarray())):
        assert sp.issparse(got) and np.array_equal(got.toarray(), want)
    np.testing.assert_allclose(product_scores(A, B, layout, statistic),
                               product_scores(A.toarray(), B.toarray(), layout, statistic), rtol=1e-12)


@pytest.mark.parametrize("code,partition,decoder,fidelity", [
    ("ew", "rxc", "zero", "full"), ("now", "cxr", "zero", "fast"), ("ew", "cxr", "lmmse", "full"),
    ("mds", "rxc", "lmmse", "fast"), ("now", "rxc", "unbiased", "full"), ("repetition", "cxr", "zero", "full"),
])
def test_finite_deadline_matches_the_dense_run(pair, code, partition, decoder, fidelity):
    A, B, C = pair
    kwargs = dict(code=code, partition=partition, blocks=9, workers=CODE_WORKERS[code], deadline=1.0,
                  decoder=decoder, fidelity=fidelity, seed=11)
    sparse_res = uepmm.coded_matmul(A, B, **kwargs)
    dense_res = uepmm.coded_matmul(A.toarray(), B.toarray(), **kwargs)
    # some packets came, not all: the estimates compared are partial ones (MDS with LMMSE recovers nothing
    # exactly below K packets, but its estimate is not zero)
    assert 0 < sparse_res.received < CODE_WORKERS[code]
    assert np.any(sparse_res.estimate) and not sparse_res.recovered.all()
    assert np.array_equal(sparse_res.recovered, dense_res.recovered)
    assert sparse_res.received == dense_res.received
    np.testing.assert_allclose(sparse_res.estimate, dense_res.estimate, rtol=0, atol=1e-12 * np.abs(C).max())
    assert sparse_res.normalized_loss(C) == pytest.approx(dense_res.normalized_loss(C), rel=1e-9)


# ---------------------------------------------------------------- blocks, packets
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_blocks_stay_sparse_and_hold_the_dense_blocks(pair, partition):
    A, B, _ = pair
    plan = plan_job(A, B, partition=partition, blocks=(3, 2) if partition == "rxc" else 7, seed=0)
    dense = plan_job(A.toarray(), B.toarray(), partition=partition, blocks=(3, 2) if partition == "rxc" else 7,
                     seed=0)
    assert plan.dtype == np.float64
    for got, want in zip(plan.job.a_blocks + plan.job.b_blocks, dense.job.a_blocks + dense.job.b_blocks):
        assert sp.issparse(got) and got.shape == want.shape  # padding included (rxc: 300/3, 200/2 divide)
        assert np.array_equal(got.toarray(), want)
    # r×c with uneven blocks: 400 rows... 300 rows in 7 blocks pads to 43 rows with empty lines
    uneven = plan_job(A, B, partition="rxc", blocks=(7, 3), seed=0)
    assert [blk.shape for blk in uneven.job.a_blocks] == [(43, 400)] * 7
    assert sum(blk.nnz for blk in uneven.job.a_blocks) == A.nnz
    assert [blk.format for blk in uneven.job.a_blocks + uneven.job.b_blocks] == ["csr"] * 7 + ["csc"] * 3


def test_dense_enough_blocks_are_stored_dense():
    rng = np.random.default_rng(1)
    A = sp.random_array((40, 30), density=0.9, format="csr", rng=rng)
    B = sp.random_array((30, 20), density=0.02, format="csr", rng=rng)
    plan = plan_job(A, B, partition="cxr", blocks=3, seed=0)
    assert all(type(b) is np.ndarray for b in plan.job.a_blocks)
    assert all(sp.issparse(b) for b in plan.job.b_blocks)
    res = uepmm.coded_matmul(A, B, code="mds", partition="cxr", blocks=3, workers=5, deadline=np.inf, seed=0)
    assert _rel(res.estimate, (A @ B).toarray()) < 1e-12


def test_packets_are_dense_and_equal_the_dense_packets(pair):
    A, B, _ = pair
    rng = np.random.default_rng(2)
    for kind in ("rxc", "cxr"):
        layout = make_partition(A.shape, B.shape, kind, 9)
        sa, sb = layout.a_blocks(A), layout.b_blocks(B)
        da, db = layout.a_blocks(A.toarray()), layout.b_blocks(B.toarray())
        row = rng.standard_normal(9) * (rng.random(9) < 0.6)
        row[0] = 1.0
        got, want = coded_product(kind, sa, sb, layout.grid, row), coded_product(kind, da, db, layout.grid, row)
        assert type(got) is np.ndarray and np.allclose(got, want, rtol=1e-12, atol=1e-14)
        exact = layout.block_products(sa, sb)
        assert type(exact) is np.ndarray and np.allclose(exact, layout.block_products(da, db), atol=1e-14)
    alpha, beta = np.array([1.0, 0.0, -2.0]), np.array([0.5, 3.0, 0.0])
    layout = make_partition(A.shape, B.shape, "rxc", 9)
    got = factor_product(layout.a_blocks(A), layout.b_blocks(B), alpha, beta)
    want = factor_product(layout.a_blocks(A.toarray()), layout.b_blocks(B.toarray()), alpha, beta)
    assert type(got) is np.ndarray and np.allclose(got, want, rtol=1e-12, atol=1e-14)


def test_packet_verifier_with_sparse_blocks(pair):
    A, B, _ = pair
    layout = make_partition(A.shape, B.shape, "rxc", 9)
    a_blocks, b_blocks = layout.a_blocks(A), layout.b_blocks(B)
    verifier = PacketVerifier(layout, a_blocks, b_blocks, rng=np.random.default_rng(0))
    row = np.array([0.3, -1.2, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.7])
    packet = coded_product("rxc", a_blocks, b_blocks, layout.grid, row)
    assert verifier.check(row, packet) == "ok"
    bad = packet.copy()
    bad[3, 4] += 1.0 + np.abs(packet).max()
    assert verifier.check(row, bad) == "corrupt"
    assert usp.nbytes(a_blocks[0]) == a_blocks[0].data.nbytes + a_blocks[0].indices.nbytes + a_blocks[0].indptr.nbytes


# ------------------------------------------------------------------- dtypes
def test_integer_and_bool_become_float64_and_float32_is_kept(pair):
    A, B, _ = pair
    ai, bi = sp.csr_array((A.toarray() * 10).astype(np.int32)), sp.csr_array(B.toarray() > 0.5)
    res = uepmm.coded_matmul(ai, bi, code="mds", partition="rxc", blocks=4, workers=6, deadline=np.inf, seed=0)
    want = ai.toarray().astype(np.float64) @ bi.toarray().astype(np.float64)
    assert res.estimate.dtype == np.float64 and _rel(res.estimate, want) < 1e-12
    plan = plan_job(A.astype(np.float32), B.astype(np.float32), blocks=4, seed=0)
    assert plan.dtype == np.float32 and plan.job.a_blocks[0].dtype == np.float32


# ------------------------------------------------------------------- errors
class ForeignSparse:
    """Stands in for pydata ``sparse.COO``: sparse-looking but not scipy's."""

    shape, dtype, ndim = (3, 3), np.dtype(np.float64), 2

    def todense(self):
        return np.eye(3)

    def tocsr(self):
        return sp.csr_matrix(np.eye(3))


def _refused(A, B, error, message):
    with pytest.raises(error) as info:
        uepmm.coded_matmul(A, B, code="mds", blocks=1, workers=2)
    assert message in str(info.value)


def test_complex_object_foreign_and_bad_sparse_inputs_are_refused(pair):
    A, B, _ = pair
    complex_a = sp.csr_array(A * (1 + 1j))
    _refused(complex_a, B, TypeError, "A is a sparse matrix with complex dtype complex128; only real matrices are "
             "supported: multiply the real and imaginary parts separately (A.real, A.imag)")
    obj = sp.csr_array((np.array([1, 2], dtype=object), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
    _refused(obj, obj, TypeError, "A is a sparse matrix with dtype object; pass real numeric entries (int or float)")
    _refused(np.eye(3), ForeignSparse(), TypeError, "B is a test_sparse.ForeignSparse, a sparse type that is not "
             "scipy's; convert it with scipy.sparse.csr_array(B) (stays sparse) or np.asarray(B.todense())")
    nan = A.copy()
    nan.data[3] = np.nan
    _refused(nan, B, ValueError, "A contains 1 NaN or Inf entries; all entries must be finite")
    _refused(sp.coo_array(np.ones(3)), B, ValueError, "A must be 2-D, got 1-D with shape (3,)")
    _refused(sp.csr_array((0, 4)), B, ValueError, "A is empty (shape (0, 4)); both dimensions must be >= 1")
    _refused(A, sp.csr_array(B.T), ValueError, "A's columns (400) must equal B's rows (200)")


# -------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=16, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0",
                                       scheduler_kwargs={"dashboard": False}, silence_logs=logging.CRITICAL)
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client
    cluster.close()


@pytest.mark.parametrize("partition,code,workers", [("rxc", "ew", 15), ("cxr", "mds", 12)])
def test_dask_backend_with_sparse_blocks(pair, dask_client, partition, code, workers):
    A, B, C = pair
    kwargs = dict(code=code, partition=partition, blocks=9, workers=workers, latency=None, seed=0)
    res = uepmm.coded_matmul(A, B, backend="dask", client=dask_client, **kwargs)
    assert res.report["backend"] == "dask" and res.report["erasures"] == [] and res.report["rejected"] == 0
    assert res.recovered.all() and _rel(res.estimate, C) < 1e-10
    # the sparse blocks were shipped, not their dense copies (a dense A and B hold 1.6 MB)
    dense_bytes = 8 * (A.shape[0] * A.shape[1] + B.shape[0] * B.shape[1])
    job = plan_job(A, B, **kwargs).job
    block_bytes = sum(usp.nbytes(b) for b in job.a_blocks + job.b_blocks)
    assert block_bytes < 1.2 * (usp.nbytes(A) + usp.nbytes(B))  # index arrays of 9 blocks, no more
    assert res.report["scatter_bytes"] <= 2 * block_bytes < dense_bytes / 10
    # a lying worker, first to answer (0.5 s before the others: a loaded machine keeps that order),
    # is caught by the verifier probing the sparse blocks
    kwargs.update(latency=Schedule([0.0] + [1.0] * (workers - 1)), omega=1.0)
    faulty = uepmm.coded_matmul(A, B, backend="dask", client=dask_client, faults={"corrupt": [0]}, time_unit=0.5,
                                **kwargs)
    assert faulty.report["rejected"] == 1 and faulty.report["erasures"][0]["status"] == "corrupt"
    assert faulty.recovered.all() and _rel(faulty.estimate, C) < 1e-10


@pytest.mark.parametrize("method", ["spgemm", "dense_left", "dense_right", "dense"])
def test_every_product_method_gives_the_dense_product(monkeypatch, method):
    rng = np.random.default_rng(3)
    left = sp.random_array((50, 30), density=0.1, format="csc", rng=rng)
    right = sp.random_array((30, 40), density=0.2, format="csr", rng=rng)
    monkeypatch.setattr(usp, "product_method", lambda a, b: method)
    out = usp.matmul(left, right)
    assert type(out) is np.ndarray and np.allclose(out, left.toarray() @ right.toarray(), rtol=1e-13, atol=1e-15)


def test_product_method_follows_the_cost_model():
    rng = np.random.default_rng(4)
    thin = sp.random_array((1333, 4000), density=0.01, format="csr", rng=rng)
    assert usp.product_method(thin, sp.csc_array(thin.T)) == "spgemm"  # 1%: the sparse product is cheapest
    full = sp.random_array((400, 400), density=0.4, format="csr", rng=rng)
    assert usp.product_method(full, full) == "dense"  # 40%: BLAS wins
