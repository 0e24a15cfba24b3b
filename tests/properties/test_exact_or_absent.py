"""A decoded block is exact or absent: every sub-product reported as recovered equals the exact
product to float64 rounding, and the fast fidelity recovers the same set from the same seed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import ELEMENTS, jobs, norm, scale, sub_products

import uepmm

#: Rounding of a decoded sub-product relative to ``||A|| ||B||`` (the decoders solve systems of
#: condition number far below 1e6 in float64: errors near 1e-16 times that).
RTOL = 1e-9

#: Codes whose recovery decision is the rank decision on the coefficient rows (every code but the
#: two whose scheme defines the estimate: MatDot decodes from evaluation points, sampling scales).
LINEAR = [c for c in uepmm.CODES if c not in ("matdot", "ew-matdot", "sampling")]


def restore(result: uepmm.Result, blocks) -> np.ndarray:
    """Sub-products (``None``: absent) placed in ``C``'s original row and column order."""
    return result.order.restore(result.partition.assemble(blocks))


# found by this property: the sampling estimate divided 0 / 0 for a sub-product of zero energy (never
# sampled) in fast fidelity, a RuntimeWarning
@example((np.array([[0.0, 1.0]]), np.array([[1.0], [1.0]]),
          {"code": "sampling", "partition": "cxr", "blocks": 2, "deadline": np.inf, "reorder": False, "seed": 0,
           "workers": 3, "class_counts": (2,)}))
@given(jobs())
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_zero_fill_estimate_is_the_recovered_exact_sub_products(job):
    A, B, settings = job
    full = uepmm.coded_matmul(A, B, decoder="zero", fidelity="full", **settings)
    fast = uepmm.coded_matmul(A, B, decoder="zero", fidelity="fast", **settings)
    assert full.recovered.tolist() == fast.recovered.tolist()
    assert full.received == fast.received
    P = sub_products(full, A, B)
    tol = RTOL * scale(A, B)
    if full.report["decoder"] in ("zero", "matdot", "ew-matdot"):  # C_hat: the recovered sub-products, the rest 0
        expected = restore(full, [P[k] if full.recovered[k] else None for k in range(len(P))])
        np.testing.assert_allclose(full.estimate, expected, rtol=0, atol=tol)
    else:  # sampling: the scheme's own unbiased estimate, the same from the real packets and from the rank
        assert full.report["decoder"] == "sampling"
    np.testing.assert_allclose(full.estimate, fast.estimate, rtol=0, atol=tol)


# found by this property: sub-products 2e6 times apart in norm, where the LMMSE's rank decision on the
# energy-scaled rows dropped a direction, so the blocks reported recovered were off by 4e-8 relative
@example((np.ones((3, 1)), np.array([[2.0, 1e-6, 1e-6]]),
          {"code": "polynomial", "partition": "rxc", "blocks": (3, 3), "deadline": np.inf, "reorder": False,
           "seed": 0, "workers": 9, "class_counts": (9,)}), "lmmse")
@given(jobs(codes=LINEAR, partitions=("rxc",)), st.sampled_from(["lmmse", "zero"]))
def test_recovered_rxc_blocks_stay_exact_whatever_the_guess_elsewhere(job, decoder):
    # r×c blocks are disjoint: a recovered block of C_hat is P_k itself, even where the decoder
    # fills the missing blocks with a guess (LMMSE)
    A, B, settings = job
    res = uepmm.coded_matmul(A, B, decoder=decoder, **settings)
    P = sub_products(res, A, B)
    mask = restore(res, [np.ones_like(P[k]) if res.recovered[k] else None for k in range(len(P))]) > 0
    np.testing.assert_allclose(res.estimate[mask], (A @ B)[mask], rtol=0, atol=RTOL * scale(A, B))


@st.composite
def progressive_cases(draw):
    """A linear code's rows for random classes, some packets in a random order, and sub-products."""
    A, B, settings = draw(jobs(codes=LINEAR))
    spec = uepmm.JobSpec(**{k: v for k, v in settings.items() if k not in ("seed", "reorder")})
    encoding = spec.code_object.encode(spec.uniform_classes, spec.workers, np.random.default_rng(settings["seed"]))
    arrivals = draw(st.permutations(range(spec.workers)))[: draw(st.integers(0, spec.workers))]
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=3))
    P = draw(hnp.arrays(np.float64, (spec.num_products, *shape), elements=ELEMENTS))
    return encoding, list(arrivals), P, spec.code_object


@given(progressive_cases(), st.booleans())
def test_progressive_decoder_recovers_exact_sub_products(case, aggregate):
    encoding, arrivals, P, code = case
    G = encoding.generator
    K = G.shape[1]
    decoder = uepmm.ProgressiveDecoder(K, P.shape[1:], capacity=G.shape[0], aggregate=aggregate)
    tol = RTOL * max(1.0, float(np.abs(G).max())) * norm(P)
    before = np.zeros(K, dtype=bool)
    for w in arrivals:
        new = decoder.add(G[w], np.tensordot(G[w], P, axes=1))  # packet Y_w = sum_k G[w, k] P_k
        now = decoder.recovered.copy()
        assert not (before & ~now).any(), "a recovered sub-product was lost"
        assert set(new.tolist()) == set(np.flatnonzero(now & ~before).tolist())
        before = now
        if aggregate:  # the running sum of the recovered sub-products
            total = decoder.total if decoder.total is not None else np.zeros(P.shape[1:])
            np.testing.assert_allclose(total, P[now].sum(axis=0), rtol=0, atol=tol)
        else:
            for k in range(K):
                if now[k]:
                    np.testing.assert_allclose(decoder.products[k], P[k], rtol=0, atol=tol)
                else:
                    assert decoder.products[k] is None
    # the progressive decision after the last packet is the code's decision on all those rows at once
    assert decoder.recovered.tolist() == code.recovered_from(encoding, np.asarray(arrivals, dtype=np.int64)).tolist()
