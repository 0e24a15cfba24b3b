"""Windows that cost one block product: r×c nested rectangles in the factor form, c×r singleton
windows, and MatDot inside nested windows (code="ew-matdot")."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from uepmm import JobSpec, coded_matmul, plan_job
from uepmm.codes import EWMatDot
from uepmm.codes.ew_matdot import design_window_gamma, window_sum_loss
from uepmm.draw import draw_job
from uepmm.experiments.compare import fast_losses
from uepmm.experiments.engine_curves import trial_seed
from uepmm.importance import Rectangles, Singletons
from uepmm.latency import Exponential, Schedule


def _rxc_with_block_norms(a_norms, b_norms, rng=None):
    """A (2 rows per block, 4 columns) and B (4 rows, 2 columns per block) with the given block norms."""
    rng = rng or np.random.default_rng(0)
    A = np.repeat(np.asarray(a_norms, dtype=float), 2)[:, None] * np.ones((1, 4)) / math.sqrt(8)
    B = np.ones((4, 1)) * np.repeat(np.asarray(b_norms, dtype=float), 2)[None, :] / math.sqrt(8)
    return A + 1e-3 * rng.standard_normal(A.shape), B + 1e-3 * rng.standard_normal(B.shape)


# ------------------------------------------------------------------ rectangle class tables
def test_rectangles_default_is_nested_squares_1_3_5():
    spec = JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=30, classes="rectangles", encoding="factor")
    assert spec.counts == (1, 3, 5)
    assert np.asarray(spec.uniform_classes.classes).reshape(3, 3).tolist() == [[0, 1, 2], [1, 1, 2], [2, 2, 2]]


def test_rectangles_rank_row_and_column_blocks_by_their_norms():
    A, B = _rxc_with_block_norms([1.0, 5.0, 3.0], [2.0, 1.0, 7.0])
    # without the importance permutation, row blocks rank (2, 0, 1) and column blocks (1, 2, 0)
    plan = plan_job(A, B, code="ew", partition="rxc", blocks=(3, 3), workers=30, classes="rectangles",
                    encoding="factor", reorder=False, seed=0)
    assert np.asarray(plan.classes.classes).reshape(3, 3).tolist() == [[2, 2, 2], [1, 2, 0], [1, 2, 1]]
    # with it, the blocks are already in order: the top-left rectangles
    plan = plan_job(A, B, code="ew", partition="rxc", blocks=(3, 3), workers=30, classes="rectangles",
                    encoding="factor", seed=0)
    assert np.asarray(plan.classes.classes).reshape(3, 3).tolist() == [[0, 1, 2], [1, 1, 2], [2, 2, 2]]


def test_rectangles_sides_are_a_parameter():
    rule = Rectangles(((1, 2), (2, 3), (3, 3))).for_layout("rxc", (3, 3))
    assert np.asarray(rule.uniform_table().classes).reshape(3, 3).tolist() == [[0, 0, 1], [1, 1, 1], [2, 2, 2]]
    spec = JobSpec(code="ew", partition="rxc", blocks=(2, 4), workers=20, classes="rectangles", gamma=(0.5, 0.5))
    assert spec.classes.windows == ((1, 2), (2, 4))
    assert spec.counts == (2, 6)


@pytest.mark.parametrize("sides, message", [
    (((2, 2), (1, 3), (3, 3)), "nested, each window larger"),
    (((1, 1), (2, 2)), "must be the whole 3 x 3 grid"),
    (((0, 1), (3, 3)), "outside the 3 x 3 grid"),
])
def test_rectangles_sides_are_validated(sides, message):
    with pytest.raises(ValueError, match=message):
        JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=30, classes=Rectangles(sides))


def test_rectangles_refuse_cxr_and_class_counts():
    with pytest.raises(ValueError, match="classes='rectangles' is for partition 'rxc'.*classes='singletons'"):
        JobSpec(code="ew", partition="cxr", blocks=9, workers=30, classes="rectangles")
    with pytest.raises(ValueError, match="not both"):
        JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=30, classes="rectangles", class_counts=(1, 3, 5))
    with pytest.raises(ValueError, match="unknown classes 'squares'"):
        JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=30, classes="squares")


def test_singletons_rank_sub_products_by_score():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((20, 8)) * np.array([1, 8, 2, 7, 3, 6, 4, 5], dtype=float)
    B = rng.standard_normal((8, 10))
    plan = plan_job(A, B, code="now", partition="cxr", blocks=8, workers=16, classes="singletons",
                    gamma=(1 / 8,) * 8, reorder=False, seed=0)
    assert plan.classes.classes == tuple(np.argsort(np.argsort(-plan.scores, kind="stable")).tolist())
    assert Singletons().for_layout("cxr", (8, 1)).uniform_table().counts == (1,) * 8


# ------------------------------------------------------------------ one block product per packet
def test_rectangle_windows_in_factor_form_cost_one_block_product():
    spec = JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=30, classes="rectangles", encoding="factor",
                   cost="work", latency=Exponential(1.0), omega=0.3)
    A, B = _rxc_with_block_norms([3.0, 2.0, 1.0], [3.0, 2.0, 1.0])
    plan = plan_job(A, B, spec, seed=4)
    drawn = draw_job(spec, plan.classes, 4, plan.job.partition)
    assert drawn.work.tolist() == [1.0] * 30
    # work 1 everywhere: the response times are exactly the cost="equal" draw
    np.testing.assert_array_equal(drawn.times, draw_job(spec.with_(cost="equal"), plan.classes, 4,
                                                          plan.job.partition).times)
    sides = {0: (1, 1), 1: (2, 2), 2: (3, 3)}
    for w in range(30):  # rank-one rows alpha ⊗ beta on the drawn rectangle
        G = drawn.generator[w].reshape(3, 3)
        r, c = sides[int(drawn.encoding.windows[w])]
        assert np.linalg.matrix_rank(G) == 1
        assert (np.flatnonzero(G.any(axis=1)).tolist(), np.flatnonzero(G.any(axis=0)).tolist()) == (
            list(range(r)), list(range(c)))
    # the direct form of the same windows costs the rank of the pattern: 1, 2, 3
    direct = draw_job(spec.with_(encoding="direct"), plan.classes, 4, plan.job.partition)
    assert direct.work.tolist() == [float(w + 1) for w in direct.encoding.windows]
    result = coded_matmul(A, B, spec, deadline=2.0, seed=4)
    assert result.report["packet_work"] == [1.0] * 30


@pytest.mark.parametrize("code, settings", [
    ("ew-matdot", dict(gamma=(0.5, 0.3, 0.2))),
    ("now", dict(classes="singletons", gamma=(1 / 9,) * 9)),
])
def test_cxr_one_product_windows_cost_one_block_product(code, settings):
    spec = JobSpec(code=code, partition="cxr", blocks=9, workers=30, cost="work", **settings)
    drawn = draw_job(spec, seed=2)
    assert drawn.work.tolist() == [1.0] * 30


def test_factor_form_refuses_a_non_rectangle_window_and_names_the_fix():
    A, B = _rxc_with_block_norms([3.0, 2.0, 1.0], [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=r"needs every window to be a rectangle.*Use classes='rectangles' with "
                                         r"code='ew'.*or encoding='direct'"):
        coded_matmul(A, B, code="ew", partition="rxc", blocks=(3, 3), workers=30, encoding="factor", seed=0)


def test_factor_form_recovers_each_window_from_as_many_packets_as_the_direct_form():
    spec = JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=30, classes="rectangles", omega=0.3)
    A, B = _rxc_with_block_norms([3.0, 2.0, 1.0], [3.0, 2.0, 1.0])
    layout = plan_job(A, B, spec, seed=0).job.partition
    cls = spec.uniform_classes.as_array()
    for seed in range(40):
        curves = []
        for encoding in ("direct", "factor"):
            drawn = draw_job(spec.with_(encoding=encoding), spec.uniform_classes, seed, layout)
            order = np.argsort(drawn.times, kind="stable")
            curves.append(spec.code_object.recovery_curve_from(drawn.encoding, order))
        np.testing.assert_array_equal(*curves)
        assert curves[0][-1, cls == 0].all()  # window 0 is recovered in every draw (a 1x1 rectangle)


# ------------------------------------------------------------------ ew-matdot
def _cxr(seed=0, shape=(12, 45, 10)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape[:2]) * np.linspace(3, 0.5, shape[1]), rng.standard_normal(shape[1:])


def _window_sum(plan, level):
    cls = plan.classes.as_array()
    return sum(plan.job.a_blocks[k] @ plan.job.b_blocks[k] for k in np.flatnonzero(cls <= level))


@pytest.mark.parametrize("level, size", [(0, 3), (1, 6)])
def test_ew_matdot_window_is_exact_from_2s_minus_1_of_its_packets(level, size):
    A, B = _cxr()
    gamma = tuple(1.0 if j == level else 0.0 for j in range(3))  # every worker draws window `level`
    times = tuple(float(t) for t in np.random.default_rng(5).permutation(15) + 1.0)
    spec = JobSpec(code="ew-matdot", partition="cxr", blocks=9, workers=15, gamma=gamma, latency=Schedule(times),
                   omega=1.0)
    need = 2 * size - 1
    plan = plan_job(A, B, spec, seed=0)
    for fidelity in ("full", "fast"):
        before = coded_matmul(A, B, spec, deadline=need - 0.5, fidelity=fidelity, seed=0)
        assert before.received == need - 1 and not before.recovered.any()
        assert np.all(before.estimate == 0.0)
        after = coded_matmul(A, B, spec, deadline=need + 0.5, fidelity=fidelity, seed=0)
        assert after.received == need
        assert after.recovered.tolist() == (plan.classes.as_array() <= level).tolist()
        expected = _window_sum(plan, level)
        assert np.linalg.norm(after.estimate - expected) <= 1e-8 * np.linalg.norm(expected)
        assert after.report["decoder"] == "ew-matdot" and after.report["condition_number"] < 1e8


def test_ew_matdot_estimate_is_the_largest_decoded_window():
    A, B = _cxr(1)
    spec = JobSpec(code="ew-matdot", partition="cxr", blocks=9, workers=30, gamma=(0.5, 0.5, 0.0),
                   classes=(0, 1, 1, 1, 2, 2, 2, 2, 2), reorder=False)
    result = coded_matmul(A, B, spec, seed=3)  # every packet: window 0 (1 packet) and window 1 (7 packets)
    plan = plan_job(A, B, spec, seed=3)
    assert result.recovered.tolist() == [True] * 4 + [False] * 5
    expected = _window_sum(plan, 1)
    assert np.linalg.norm(result.estimate - expected) <= 1e-8 * np.linalg.norm(expected)


@pytest.mark.parametrize("spec", [
    JobSpec(code="ew-matdot", partition="cxr", blocks=9, workers=30, classes="singletons", gamma="auto",
            cost="work", omega=0.3),
    JobSpec(code="ew-matdot", partition="cxr", blocks=9, workers=30, gamma=(0.6, 0.3, 0.1), omega=0.3),
    JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=30, classes="rectangles", encoding="factor",
            gamma="auto", cost="work", omega=0.3),
])
def test_fast_and_full_fidelity_recover_the_same_and_fast_losses_agree(spec):
    A, B = (_cxr(2) if spec.partition == "cxr" else _rxc_with_block_norms([3.0, 2.0, 1.0], [4.0, 2.0, 1.0]))
    C = A @ B
    deadlines = (1.0, 2.0, 4.0)
    fast, _ = fast_losses(A, B, spec, deadlines, 6, seed=0)
    for j in range(6):
        for i, t in enumerate(deadlines):
            full = coded_matmul(A, B, spec, deadline=t, fidelity="full", seed=trial_seed(0, j))
            quick = coded_matmul(A, B, spec, deadline=t, fidelity="fast", seed=trial_seed(0, j))
            assert full.recovered.tolist() == quick.recovered.tolist()
            assert full.normalized_loss(C) == pytest.approx(fast[j, i], rel=1e-7, abs=1e-12)
            assert quick.normalized_loss(C) == pytest.approx(fast[j, i], rel=1e-7, abs=1e-12)


def test_ew_matdot_refuses_rxc_and_float32():
    with pytest.raises(ValueError, match="code='ew-matdot' is for partition 'cxr'.*classes='rectangles'"):
        JobSpec(code="ew-matdot", partition="rxc", blocks=(3, 3), workers=30)
    A, B = _cxr()
    with pytest.raises(ValueError, match="pass float64 inputs"):
        coded_matmul(A.astype(np.float32), B.astype(np.float32), code="ew-matdot", partition="cxr", blocks=9,
                     workers=30, seed=0)


def test_window_sum_loss_equals_enumeration_of_every_draw():
    sizes, tails, W, p = (1, 2), (0.4, 0.0), 5, 0.7
    gamma = np.array([0.35, 0.65])
    expected = 0.0
    probs = [gamma[0] * p, gamma[1] * p, 1 - p]  # window 0, window 1, not arrived
    for draw in itertools.product(range(3), repeat=W):
        n = [draw.count(0), draw.count(1)]
        loss = 0.0 if n[1] >= 3 else (0.4 if n[0] >= 1 else 1.0)
        expected += np.prod([probs[c] for c in draw]) * loss
    assert window_sum_loss(gamma, sizes, tails, W, p) == pytest.approx(expected, rel=1e-12)


def test_designed_gamma_is_at_least_as_good_as_every_single_window():
    sizes, tails = (1, 2, 3), (0.5, 0.2, 0.0)
    gamma = design_window_gamma(sizes, tails, 12, 0.5)
    best = window_sum_loss(gamma, sizes, tails, 12, 0.5)
    for level in range(3):
        alone = np.eye(3)[level]
        assert best <= window_sum_loss(alone, sizes, tails, 12, 0.5) + 1e-9
    assert EWMatDot(gamma).window_probabilities(3).sum() == pytest.approx(1.0)


def test_ew_matdot_decoding_probabilities_equal_enumeration_and_the_decoder():
    code = EWMatDot((0.35, 0.65))
    k = (1, 1)  # windows of 1 and 2 sub-products: 1 and 3 packets
    P = code.decoding_probabilities(k, 5)
    for N in range(6):
        expected = np.zeros(2)
        for draw in itertools.product(range(2), repeat=N):
            n0, n1 = draw.count(0), draw.count(1)
            weight = 0.35**n0 * 0.65**n1
            expected += weight * np.array([n0 >= 1 or n1 >= 3, n1 >= 3])
        np.testing.assert_allclose(P[N], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(code.all_decoded_probability(k, 5), P[:, 1], rtol=0, atol=0)
    # the decoder's own decision over random draws and arrival orders agrees within 4 standard errors
    code, table, W, draws = EWMatDot((0.3, 0.3, 0.4)), (0, 1, 2, 2), 16, 3000
    from uepmm.importance import ClassTable

    table = ClassTable(table)
    theory = code.decoding_probabilities((1, 1, 2), W)
    hits = np.zeros((W + 1, 3))
    rng = np.random.default_rng(7)
    for _ in range(draws):
        encoding = code.encode(table, W, rng)
        curve = code.recovery_curve_from(encoding, rng.permutation(W))
        hits += np.stack([curve[:, table.as_array() == level].all(axis=1) for level in range(3)], axis=1)
    freq = hits / draws
    stderr = np.sqrt(np.maximum(theory * (1 - theory), 1.0 / draws) / draws)
    assert np.all(np.abs(freq - theory) <= 4 * stderr)
    assert all(np.any((0.2 < theory[:, level]) & (theory[:, level] < 0.8)) for level in range(3))  # not only 0, 1
