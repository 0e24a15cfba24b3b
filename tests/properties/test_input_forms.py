"""The same product in another form gives the same job: scipy sparse factors as dense ones, integer
matrices as their float64 copies (the same recovered set and estimate), float32 to its own rounding."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from strategies import jobs, scale, sub_products

import uepmm


@given(jobs(), st.sampled_from(["zero", "lmmse"]))
def test_sparse_factors_give_the_dense_result(job, decoder):
    A, B, settings = job
    dense = uepmm.coded_matmul(A, B, decoder=decoder, **settings)
    sparse = uepmm.coded_matmul(sp.csr_array(A), sp.csc_array(B), decoder=decoder, **settings)
    assert dense.recovered.tolist() == sparse.recovered.tolist()
    estimate = sparse.estimate.toarray() if sp.issparse(sparse.estimate) else np.asarray(sparse.estimate)
    np.testing.assert_allclose(estimate, dense.estimate, rtol=0, atol=1e-9 * scale(A, B))


@given(jobs())
def test_integer_matrices_are_their_float64_copies(job):
    A, B, settings = job
    Ai, Bi = np.round(A).astype(np.int64), np.round(B).astype(np.int64)
    ints = uepmm.coded_matmul(Ai, Bi, decoder="zero", **settings)
    floats = uepmm.coded_matmul(Ai.astype(np.float64), Bi.astype(np.float64), decoder="zero", **settings)
    assert ints.recovered.tolist() == floats.recovered.tolist()
    np.testing.assert_array_equal(ints.estimate, floats.estimate)


# MatDot and EW-MatDot refuse float32 (their Vandermonde systems)
@given(jobs(codes=[c for c in uepmm.CODES if c not in ("matdot", "ew-matdot")]))
def test_float32_recovered_blocks_are_exact_to_float32_rounding(job):
    A, B, settings = job
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    res = uepmm.coded_matmul(A32, B32, decoder="zero", **settings)
    assert res.estimate.dtype == np.float32
    if res.report["decoder"] != "zero":  # sampling: its own estimate
        return
    P = sub_products(res, A32.astype(np.float64), B32.astype(np.float64))
    expected = res.order.restore(res.partition.assemble([P[k] if res.recovered[k] else None for k in range(len(P))]))
    # float32 rounding (1.2e-7) times the decoding systems' condition numbers (below 1e4 at these sizes)
    np.testing.assert_allclose(res.estimate, expected, rtol=0, atol=1e-3 * scale(A, B))
