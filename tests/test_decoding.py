import numpy as np
import pytest

from uepmm.decoding import ProgressiveDecoder, RecoveryTracker, recovery_curve


def test_tracker_detects_unit_vectors_in_row_space(rng):
    t = RecoveryTracker(4)
    assert t.add(np.array([1.0, 1.0, 0, 0])).tolist() == []
    assert t.add(np.array([1.0, -1.0, 0, 0])).tolist() == [0, 1]
    assert t.add(np.array([2.0, 3.0, 0, 0])).tolist() == []  # dependent: no rank
    assert t.rank == 2
    assert t.add(np.array([0, 0, 0, 5.0])).tolist() == [3]
    assert t.recovered.tolist() == [True, True, False, True]


def test_recovery_curve_mds_step(rng):
    G = rng.standard_normal((12, 9))
    curve = recovery_curve(G)
    assert curve[:9].sum() == 0
    assert curve[9:].all()


def test_progressive_decoder_recovers_exact_blocks(rng):
    K = 6
    products = rng.standard_normal((K, 5, 4)) * np.array([100, 10, 1, 0.1, 0.01, 1e-3])[:, None, None]
    G = rng.standard_normal((8, K))
    G[:3, 3:] = 0  # first three packets only touch the first three sub-products
    dec = ProgressiveDecoder(K, (5, 4), capacity=8)
    new_per_packet = []
    for row in G:
        new_per_packet.append(dec.add(row, np.tensordot(row, products, axes=1)).tolist())
    assert new_per_packet[2] == [0, 1, 2]
    assert sorted(sum(new_per_packet, [])) == list(range(K))
    for k in range(K):
        err = np.linalg.norm(dec.products[k] - products[k]) / np.linalg.norm(products[k])
        assert err < 1e-9


def test_duplicate_rows_do_not_fake_recovery(rng):
    dec = ProgressiveDecoder(3, (2, 2), capacity=3)
    row = np.array([1.0, 2.0, 0.0])
    p = rng.standard_normal((3, 2, 2))
    dec.add(row, np.tensordot(row, p, axes=1))
    assert dec.add(row, np.tensordot(row, p, axes=1)).size == 0
    assert not dec.recovered.any() and all(x is None for x in dec.products)


def test_recoverable_agrees_with_the_tracker_on_every_code():
    """The batch decision equals the packet-by-packet one on 2,500 random arrivals per code."""
    from uepmm.codes import make_code
    from uepmm.decoding import recoverable
    from uepmm.importance import ClassTable

    table = ClassTable((0, 1, 1, 2, 2, 2, 2, 2, 2))
    cases = [("now", {"gamma": (0.4, 0.35, 0.25)}, 15), ("ew", {"gamma": (0.4, 0.35, 0.25)}, 15),
             ("mds", {}, 12), ("uncoded", {}, 9), ("repetition", {"copies": 2}, 18)]
    partial = 0
    for name, options, workers in cases:
        code = make_code(name, **options)
        for seed in range(2500):
            rng = np.random.default_rng(seed)
            rows = code.encode(table, workers, rng).generator[rng.permutation(workers)[: rng.integers(0, workers + 1)]]
            tracker = RecoveryTracker(9)
            for row in rows:
                tracker.add(row)
            batch = recoverable(rows)
            assert batch.dtype == bool and np.array_equal(batch, tracker.recovered), (name, seed)
            partial += 0 < batch.sum() < 9
    assert partial > 5000  # the comparison is not only all-or-nothing


def test_recoverable_edge_cases():
    from uepmm.decoding import recoverable

    assert not recoverable(np.zeros((0, 4))).any() and recoverable(np.zeros((0, 4))).shape == (4,)
    assert not recoverable(np.zeros((3, 4))).any()
    # e_0 + e_1 and e_1: both recoverable; e_2 only in a sum with e_3
    rows = np.array([[1.0, 1.0, 0, 0], [0, 1.0, 0, 0], [0, 0, 2.0, -1.0], [0, 0, 4.0, -2.0]])
    assert recoverable(rows).tolist() == [True, True, False, False]
    # a perturbation far below the tolerance does not make e_2 recoverable
    rows[3, 2] += 1e-13
    assert recoverable(rows).tolist() == [True, True, False, False]
    rows[3, 2] += 1e-3
    assert recoverable(rows).tolist() == [True, True, True, True]
    with pytest.raises(ValueError, match="rows must be a 2-D array"):
        recoverable(np.ones(4))
