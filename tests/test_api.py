import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uepmm import Exponential, coded_matmul, paper_sec6_classes
from uepmm.experiments.synthetic import sec6_matrices

CODE_WORKERS = {"uncoded": 9, "repetition": 18, "mds": 12, "now": 30, "ew": 30}


def rel_err(x, y):
    return np.linalg.norm(x - y) / np.linalg.norm(y)


@pytest.mark.parametrize("fidelity", ["full", "fast"])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("code", list(CODE_WORKERS))
def test_infinite_deadline_reproduces_product_uneven_blocks(code, partition, fidelity):
    rng = np.random.default_rng(7)
    A, B = rng.standard_normal((31, 29)), rng.standard_normal((29, 26))  # 31, 26 not divisible by 3; 29 not by 9
    res = coded_matmul(A, B, code=code, partition=partition, blocks=9, workers=CODE_WORKERS[code],
                       deadline=math.inf, fidelity=fidelity, seed=3)
    assert res.recovered.all()
    assert rel_err(res.estimate, A @ B) < 1e-9
    assert res.normalized_loss(A @ B) < 1e-18


@pytest.mark.parametrize("code,workers", [("now", 30), ("ew", 30), ("mds", 12)])
def test_recovered_blocks_are_exact_at_finite_deadline(code, workers):
    rng = np.random.default_rng(11)
    A, B = sec6_matrices("rxc", rng, scale=0.1)
    C = A @ B
    partial = 0
    for seed in range(8):
        res = coded_matmul(A, B, code=code, partition="rxc", blocks=9, workers=workers, deadline=1.5, decoder="zero",
                           classes=paper_sec6_classes("rxc"), reorder=False, seed=seed)
        partial += 0 < res.recovered.sum() < 9
        for k in range(9):
            rows, cols = res.partition.block_slices(k)
            block = res.estimate[rows, cols]
            if res.recovered[k]:
                assert rel_err(block, C[rows, cols]) < 1e-9
            else:
                assert np.all(block == 0)
    assert partial > 0 or code == "mds"


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("code", ["uncoded", "mds", "now", "ew", "repetition"])
def test_full_and_fast_agree(code, partition):
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((30, 27)) * np.linspace(3, 0.1, 30)[:, None], rng.standard_normal((27, 24))
    for seed in range(6):
        kw = dict(code=code, partition=partition, blocks=9, workers=CODE_WORKERS[code],
                  deadline=1.5, latency=Exponential(1.0), seed=seed)
        full = coded_matmul(A, B, fidelity="full", **kw)
        fast = coded_matmul(A, B, fidelity="fast", **kw)
        assert full.recovered.tolist() == fast.recovered.tolist()
        assert full.received == fast.received
        assert np.allclose(full.estimate, fast.estimate, rtol=1e-9, atol=1e-9 * np.abs(A @ B).max())


def test_factor_encoding_rxc_is_exact(rng):
    A, B = rng.standard_normal((12, 8)), rng.standard_normal((8, 9))
    res = coded_matmul(A, B, code="mds", partition="rxc", blocks=9, workers=10, encoding="factor", seed=0)
    assert res.encoding.factors is not None
    assert rel_err(res.estimate, A @ B) < 1e-9


def test_timeline_and_progress_callback(rng):
    A, B = rng.standard_normal((18, 18)), rng.standard_normal((18, 18))
    seen = []
    res = coded_matmul(A, B, code="ew", partition="cxr", workers=30, deadline=3.0, seed=4, track_loss=True,
                       on_packet=lambda p: seen.append((p.entry.recovered, p.estimate().copy())))
    times = [e.time for e in res.timeline]
    assert times == sorted(times) and all(t <= 3.0 for t in times)
    assert [e.received for e in res.timeline] == list(range(1, len(times) + 1))
    recovered_counts = [e.recovered for e in res.timeline]
    assert recovered_counts == sorted(recovered_counts)
    losses = [e.loss for e in res.timeline]
    assert losses[-1] == pytest.approx(res.normalized_loss(A @ B), abs=1e-12)
    # r×c blocks are disjoint, so every recovered block can only lower the loss
    rxc = coded_matmul(A, B, code="ew", partition="rxc", workers=30, deadline=3.0, seed=4, track_loss=True)
    rxc_losses = [e.loss for e in rxc.timeline]
    assert rxc_losses and all(a >= b - 1e-12 for a, b in zip(rxc_losses, rxc_losses[1:]))
    assert rxc_losses[-1] == pytest.approx(rxc.normalized_loss(A @ B), abs=1e-12)
    np.testing.assert_allclose(seen[-1][1], res.estimate)
    assert res.recovered_by_class().shape == (3,)


def test_same_seed_same_result_and_deadline_zero(rng):
    A, B = rng.standard_normal((9, 9)), rng.standard_normal((9, 9))
    r1 = coded_matmul(A, B, deadline=2.0, seed=8)
    r2 = coded_matmul(A, B, deadline=2.0, seed=8)
    assert r1.recovered.tolist() == r2.recovered.tolist() and np.array_equal(r1.estimate, r2.estimate)
    r0 = coded_matmul(A, B, deadline=0.0, seed=8)
    assert r0.received == 0 and np.all(r0.estimate == 0) and r0.normalized_loss(A @ B) == 1.0


def test_generator_seed_draws_response_times_first_then_the_code(rng):
    from uepmm.latency import Exponential

    A, B = rng.standard_normal((12, 9)), rng.standard_normal((9, 12))
    kwargs = dict(code="ew", workers=15, deadline=1.0, latency=Exponential(0.5), class_counts=(1, 2, 6))
    result = coded_matmul(A, B, seed=np.random.default_rng(11), fidelity="fast", **kwargs)
    stream = np.random.default_rng(11)
    times = Exponential(0.5).sample_response(stream, 15, 9 / 15)
    np.testing.assert_array_equal(result.report["response_times"], times)
    again = coded_matmul(A, B, seed=np.random.default_rng(11), fidelity="full", **kwargs)
    assert np.array_equal(again.recovered, result.recovered) and again.received == result.received
    np.testing.assert_allclose(again.estimate, result.estimate, atol=1e-9)
    # an int seed splits into independent code and latency streams: different draws
    assert not np.array_equal(coded_matmul(A, B, seed=11, fidelity="fast", **kwargs).report["response_times"], times)
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        coded_matmul(A, B, seed="eleven")
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        coded_matmul(A, B, seed=-1)


def test_integer_input_and_float32(rng):
    A = rng.integers(-5, 5, (9, 9))
    B = rng.integers(-5, 5, (9, 9))
    res = coded_matmul(A, B, code="mds", workers=9, seed=0)
    assert res.estimate.dtype == np.float64
    np.testing.assert_allclose(res.estimate, A @ B, atol=1e-9)
    A32, B32 = rng.standard_normal((9, 9), dtype=np.float32), rng.standard_normal((9, 9), dtype=np.float32)
    res32 = coded_matmul(A32, B32, code="now", workers=30, seed=0)
    assert res32.estimate.dtype == np.float32
    assert rel_err(res32.estimate.astype(float), A32.astype(float) @ B32.astype(float)) < 1e-4


def test_all_zero_blocks_work():
    A = np.zeros((9, 9))
    A[0, 0] = 1.0
    B = np.ones((9, 9))
    res = coded_matmul(A, B, code="ew", partition="rxc", workers=30, seed=1)
    np.testing.assert_allclose(res.estimate, A @ B, atol=1e-12)  # zero blocks decode to rounding level
    assert coded_matmul(np.zeros((9, 9)), B, code="now", workers=30, seed=0).normalized_loss(np.zeros((9, 9))) == 0.0


GOOD = dict(code="ew", partition="cxr", blocks=9, workers=15)
BAD_INPUTS = [
    ({"A": np.ones((9, 8))}, ValueError, "A's columns"),
    ({"A": np.ones(9)}, ValueError, "A must be 2-D"),
    ({"B": np.ones((9, 9, 1))}, ValueError, "B must be 2-D"),
    ({"A": np.full((9, 9), np.nan)}, ValueError, "A contains 81 NaN or Inf"),
    ({"B": np.full((9, 9), np.inf)}, ValueError, "B contains"),
    ({"A": np.ones((0, 9))}, ValueError, "A is empty"),
    ({"A": np.ones((9, 9), dtype=complex)}, TypeError, "A has complex"),
    ({"B": np.ones((9, 9), dtype=bool)}, TypeError, "B has dtype bool"),
    ({"A": np.array([["a"] * 9] * 9, dtype=object)}, TypeError, "A has dtype object"),
    ({"A": "matrix"}, TypeError, "A must be a 2-D numeric array"),
    ({"blocks": 10}, ValueError, "blocks=10 for partition 'cxr' exceeds"),
    ({"partition": "rxc", "blocks": 8}, ValueError, "perfect square"),
    ({"partition": "rxc", "blocks": (10, 3)}, ValueError, "N=10 row blocks but A has only 9 rows"),
    ({"workers": 0}, ValueError, "workers must be >= 1"),
    ({"workers": 2.5}, TypeError, "workers must be an integer"),
    ({"deadline": -1.0}, ValueError, "deadline must be >= 0"),
    ({"deadline": float("nan")}, ValueError, "deadline must be a number"),
    ({"deadline": "soon"}, TypeError, "deadline must be a number"),
    ({"gamma": (0.5, 0.6, 0.1)}, ValueError, "gamma must sum to 1"),
    ({"gamma": (0.5, 0.5)}, ValueError, "gamma has 2 entries but there are 3 classes"),
    ({"gamma": (-0.5, 1.0, 0.5)}, ValueError, "gamma entries must be finite and >= 0"),
    ({"classes": (0, 0, 1)}, ValueError, "classes names 3 sub-products but the partition has K = 9"),
    ({"classes": (0, 0, 0, 2, 2, 2, 2, 2, 2)}, ValueError, "classes must use every class"),
    ({"class_counts": (3, 3, 2)}, ValueError, "class_counts .* sum to 8"),
    ({"classes": (0,) * 9, "class_counts": (9,)}, ValueError, "either classes"),
    ({"code": "ldpc"}, ValueError,
     "unknown code 'ldpc'; valid values are 'uncoded', 'repetition', 'mds', 'polynomial', 'now', 'ew', "
     "'matdot', 'sampling', 'speculative'"),
    ({"partition": "diag"}, ValueError, "unknown partition 'diag'; valid values are 'rxc', 'cxr'"),
    ({"fidelity": "exact"}, ValueError, "unknown fidelity"),
    ({"backend": "mpi"}, ValueError, "unknown backend 'mpi'"),
    ({"encoding": "factor"}, ValueError, "encoding='factor' is invalid for partition 'cxr'"),
    ({"partition": "rxc", "encoding": "factor", "code": "now", "workers": 30,
      "classes": paper_sec6_classes("rxc")}, ValueError, "rectangle"),
    ({"code": "uncoded"}, ValueError, "code 'uncoded' needs workers == number of sub-products K = 9"),
    ({"latency": 3.0}, TypeError, "latency must be a uepmm latency model"),
    ({"omega": -2.0}, ValueError, "omega must be > 0"),
    ({"statistic": "max"}, ValueError, "unknown statistic 'max'"),
    ({"on_packet": 5}, TypeError, "on_packet must be a callable"),
    ({"time_unit": 0.1}, TypeError, "client/address/time_unit are for backend='dask'"),
]


@pytest.mark.parametrize("change,exc,message", BAD_INPUTS, ids=[m[:30] for _, _, m in BAD_INPUTS])
def test_bad_input_names_the_argument(change, exc, message):
    args = dict(GOOD)
    A = change.pop("A", np.ones((9, 9)))
    B = change.pop("B", np.ones((9, 9)))
    args.update(change)
    with pytest.raises(exc, match=message):
        coded_matmul(A, B, **args)


def test_normalized_loss_shape_check(rng):
    res = coded_matmul(np.ones((9, 9)), np.ones((9, 9)), seed=0)
    with pytest.raises(ValueError, match="C has shape"):
        res.normalized_loss(np.ones((3, 3)))


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(3, 14), h=st.integers(9, 14), q=st.integers(3, 14),
    code=st.sampled_from(["mds", "now", "ew", "uncoded"]), partition=st.sampled_from(["rxc", "cxr"]),
    seed=st.integers(0, 10_000), deadline=st.sampled_from([0.3, 1.0, math.inf]),
)
def test_property_recovered_blocks_exact_rest_zero(m, h, q, code, partition, seed, deadline):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, h)), rng.standard_normal((h, q))
    workers = 9 if code == "uncoded" else 20
    res = coded_matmul(A, B, code=code, partition=partition, blocks=9, workers=workers, deadline=deadline, seed=seed,
                       decoder="zero")
    products = res.partition.products(*res.order.apply(A, B))
    expected = [products[k] if res.recovered[k] else None for k in range(9)]
    np.testing.assert_allclose(res.estimate, res.order.restore(res.partition.assemble(expected)), atol=1e-9)
    if deadline == math.inf and code in ("mds", "uncoded"):
        assert res.recovered.all()  # NOW/EW may lack packets of a window even when all 20 arrive
