"""scheme="auto" (uepmm.recommend): the predictor against compare's losses, known winners, the report, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from uepmm import coded_matmul, plan_job
from uepmm.experiments.compare import fast_losses
from uepmm.loss import BlockLoss
from uepmm.planning import plan_job as planning_plan_job
from uepmm.recommend import diagonal_prior, rank_schemes
from uepmm.scheme import SCHEMES, Scheme

BLOCKS = {"cxr": 9, "rxc": (3, 3)}


def _gaussian(partition: str, seed: int = 0, scales=None):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((36, 45)), rng.standard_normal((45, 36))
    if scales is not None:  # scale the lines the partition splits: c×r the inner ones, r×c rows of A / columns of B
        if partition == "cxr":
            A = A * np.repeat(scales, 5)[None, :]
        else:
            A = A * np.repeat(scales, 12)[:, None]
            B = B * np.repeat(scales, 12)[None, :]
    return A, B


def _exact_gram(A, B, spec):
    plan = plan_job(A, B, spec)
    layout = plan.job.partition
    return BlockLoss(layout, layout.block_products(plan.job.a_blocks, plan.job.b_blocks)).full_gram


def _measured(A, B, choice, trials=40, seed=0):
    """compare's loss (exact sub-products) of every candidate at the choice's deadline."""
    return {p.scheme.name: float(fast_losses(A, B, p.spec, [choice.deadline], trials, seed)[0].mean())
            for p in choice.ranking}


@pytest.mark.parametrize("partition", ["cxr", "rxc"])
@pytest.mark.parametrize("cost", ["equal", "work"])
def test_predictor_with_the_exact_gram_is_compare_fast_losses(partition, cost):
    # with R = <P_k, P_l> (after the importance order) and compare's seed, every prediction is compare's loss
    scales = np.array([4.0, 1, 0.5]) if partition == "rxc" else np.array([4.0, 1, 2, 1, 0.5, 1, 3, 1, 1])
    A, B = _gaussian(partition, 1, scales)
    settings = dict(partition=partition, blocks=BLOCKS[partition], workers=18, deadline=1.5, cost=cost)
    R = _exact_gram(A, B, SCHEMES["mds"].spec(**settings))
    choice = rank_schemes(A, B, prior=R, trials=6, seed=3, **settings)
    fits = [s.name for s in SCHEMES.values() if partition in s.partitions]  # every scheme that fits the partition
    assert sorted(p.scheme.name for p in choice.ranking) == sorted(fits)
    for p in choice.ranking:
        expected, decoder = fast_losses(A, B, p.spec, [1.5], 6, 3)
        assert p.loss == pytest.approx(expected.mean(), rel=1e-9, abs=1e-12), p.scheme.name
        assert p.decoder == decoder


def test_diagonal_prior_prices_independent_blocks_like_their_energies():
    # r×c blocks are disjoint: with R = diag(e) a zero-fill loss is the missing energy over the total
    e = np.array([4.0, 1.0, 0.0, 2.0])
    R = diagonal_prior(e)
    pricing = BlockLoss.from_gram("rxc", R)
    assert pricing.total == 7.0
    assert pricing.reconstruction_loss(np.diag([1.0, 0.0, 1.0, 1.0])) == 1.0
    cxr = BlockLoss.from_gram("cxr", np.ones((4, 4)))  # perfectly correlated: 1^T R 1
    assert cxr.total == 16.0
    assert cxr.reconstruction_loss(np.diag([1.0, 0.0, 0.0, 0.0])) == 9.0
    with pytest.raises(ValueError, match="square"):
        BlockLoss.from_gram("cxr", np.ones(3))


def test_concentrated_energy_short_deadline_picks_lmmse_uep():
    # one sub-product holds almost all of C: any packet whose window holds it gives it to LMMSE, while the
    # exact-block schemes need that very task; auto must pick a UEP scheme with LMMSE (now+/ew+ or an adaptive or
    # one-product variant), and compare must agree it is best
    scales = np.array([30.0, 1, 1, 1, 1, 1, 1, 1, 1])
    A, B = _gaussian("cxr", 2, scales)
    choice = rank_schemes(A, B, partition="cxr", blocks=9, workers=30, deadline=0.5, cost="equal", trials=32)
    assert choice.best.scheme.uep and choice.best.scheme.decoder == "lmmse"
    measured = _measured(A, B, choice)
    assert measured[choice.best.scheme.name] <= 1.2 * min(measured.values())
    assert measured[choice.best.scheme.name] < 0.2 * measured["speculative"]


def test_equal_energies_work_cost_picks_the_winning_baseline():
    # no importance to use and packets that cost their windows: the multi-product UEP windows lose, and the
    # winners are speculative copies and one-product adaptive packets (docs/comparison.md)
    A, B = _gaussian("cxr", 3)
    choice = rank_schemes(A, B, partition="cxr", blocks=9, workers=30, deadline=1.0, cost="work", trials=32)
    measured = _measured(A, B, choice)
    assert choice.best.scheme.name in ("speculative", "now-singletons+adaptive")
    assert min(measured, key=measured.get) in ("speculative", "now-singletons+adaptive")
    assert measured[choice.best.scheme.name] <= 1.2 * min(measured.values())
    assert measured[choice.best.scheme.name] < 0.5 * measured["ew+"]


def test_huge_deadline_ties_go_to_the_first_exact_scheme():
    A, B = _gaussian("rxc", 4)
    choice = rank_schemes(A, B, partition="rxc", blocks=(3, 3), workers=30, deadline=1e9, trials=8)
    assert choice.best.scheme.name == "uncoded" and choice.best.loss == 0.0  # all exact: registry order
    assert choice.ranking[-1].scheme.name == "sampling" and choice.ranking[-1].loss > 0.01  # never exact


def test_coded_matmul_auto_runs_and_names_the_chosen_scheme():
    scales = np.array([30.0, 1, 1, 1, 1, 1, 1, 1, 1])
    A, B = _gaussian("cxr", 2, scales)
    settings = dict(partition="cxr", blocks=9, workers=30, deadline=0.5, cost="equal")
    result = coded_matmul(A, B, scheme="auto", seed=7, **settings)
    name = result.report["scheme"]
    assert SCHEMES[name].uep and result.report["auto"]["chosen"]["name"] == name
    chosen = result.report["auto"]["chosen"]
    assert chosen["code"] == SCHEMES[name].code_name and chosen["decoder"] == "lmmse"
    assert len(chosen["gamma"]) == len(chosen["class_counts"]) and sum(chosen["gamma"]) == pytest.approx(1.0)
    assert [r["scheme"] for r in result.report["auto"]["ranking"]][0] == name
    assert result.report["auto"]["prior"] == "diagonal"  # independent Gaussian blocks: the probe sees no correlation
    draws = [r["draws"] for r in result.report["auto"]["ranking"]]
    assert draws[0] == 64 and set(draws) <= {16, 64} and draws == sorted(draws, reverse=True)
    same = coded_matmul(A, B, scheme=name, seed=7, **settings)  # what it ran is that scheme, same seed
    np.testing.assert_array_equal(result.estimate, same.estimate)
    assert result.report["gamma"] == same.report["gamma"]
    plan = plan_job(A, B, scheme="auto", seed=7, **settings)
    assert plan.choice.best.scheme.name == name and plan.spec == SCHEMES[name].spec(**settings)


def test_a_scheme_added_to_the_registry_joins_the_candidates(monkeypatch):
    extra = Scheme("ew-zero", "ew", gamma=(0.6, 0.3, 0.1), description="test scheme")
    monkeypatch.setitem(SCHEMES, "ew-zero", extra)
    A, B = _gaussian("cxr", 5)
    choice = rank_schemes(A, B, partition="cxr", blocks=9, workers=30, deadline=1.0, trials=4)
    assert "ew-zero" in [p.scheme.name for p in choice.ranking]


def test_candidates_that_do_not_fit_are_left_out_with_a_note():
    A, B = _gaussian("cxr", 6)
    choice = rank_schemes(A, B, partition="cxr", blocks=9, workers=5, deadline=1.0, trials=4)
    names = [p.scheme.name for p in choice.ranking]
    assert "uncoded" not in names and "repetition" not in names and "mds" in names  # 9 tasks need 9 workers
    assert any("uncoded" in note and "workers" in note for note in choice.notes)


@pytest.mark.parametrize("kwargs, match", [
    (dict(workers=1), "workers >= 2"),
    (dict(deadline=0.0), "deadline > 0"),
    (dict(decoder="lmmse"), "chooses code, decoder, gamma, copies itself; got decoder="),
    (dict(gamma=(0.5, 0.3, 0.2)), "got gamma="),
])
def test_bad_input_is_a_clear_error(kwargs, match):
    A, B = _gaussian("cxr")
    settings = dict(partition="cxr", blocks=9, workers=30, deadline=1.0) | kwargs
    with pytest.raises(ValueError, match=match):
        coded_matmul(A, B, scheme="auto", **settings)


def test_bad_scheme_names_and_priors():
    A, B = _gaussian("cxr")
    settings = dict(partition="cxr", blocks=9, workers=30, deadline=1.0)
    with pytest.raises(ValueError, match="unknown scheme 'autox'"):
        coded_matmul(A, B, scheme="autox", **settings)
    with pytest.raises(ValueError, match="unknown scheme 'fancy'"):
        rank_schemes(A, B, schemes=["mds", "fancy"], **settings)
    with pytest.raises(ValueError, match=r"K x K .*K = 9"):
        rank_schemes(A, B, prior=np.eye(4), **settings)
    with pytest.raises(ValueError, match="symmetric"):
        rank_schemes(A, B, prior=np.triu(np.ones((9, 9))), **settings)
    with pytest.raises(ValueError, match="uepmm.plan_job or uepmm.coded_matmul"):
        planning_plan_job(A, B, scheme="auto", **settings)
    with pytest.raises(ValueError, match="no scheme fits"):
        rank_schemes(A, B, schemes=["polynomial"], **settings)


def test_designed_windows_are_designed_for_the_deadline_in_the_prediction():
    # classes="sizes-auto": the class table is chosen with Γ for each deadline; the prediction (exact Gram) is
    # compare's loss and names the table plan_job designs at that deadline (here a different one per deadline)
    rng = np.random.default_rng(11)
    A, B = rng.standard_normal((6, 15)) * np.repeat([3.0, 2.0, 1.5, 0.3, 0.2], 3), rng.standard_normal((15, 6))
    designed = Scheme("now-sizes-auto", "now", decoder="lmmse", gamma="auto", classes="sizes-auto",
                      description="test scheme")
    settings = dict(partition="cxr", blocks=5, workers=10, omega=0.5, cost="work")
    R = _exact_gram(A, B, designed.spec(**settings, deadline=1.0))
    counts = {}
    for t in (0.4, 2.0):
        (p,) = rank_schemes(A, B, prior=R, trials=4, seed=3, schemes=[designed], deadline=t, **settings).ranking
        expected, _ = fast_losses(A, B, p.spec, [t], 4, 3)
        assert p.loss == pytest.approx(expected.mean(), rel=1e-9, abs=1e-12)
        assert p.class_counts == planning_plan_job(A, B, p.spec, seed=0).classes.counts
        counts[t] = p.class_counts
    assert counts[0.4] != counts[2.0]


def _correlated(seed: int = 0):
    # c×r, 9 inner blocks of 5: every sub-product A_i B_i is nearly the same X Y (Gram-matrix-like correlation)
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((36, 5)), rng.standard_normal((5, 36))
    A = np.tile(X, (1, 9)) + 0.05 * rng.standard_normal((36, 45))
    B = np.tile(Y, (9, 1)) + 0.05 * rng.standard_normal((45, 36))
    return A, B


def test_correlated_sub_products_only_the_probe_prior_picks_the_winner():
    # one sub-product per packet with LMMSE on the probe's Gram matrix scales what arrived up to nearly C; the
    # diagonal prior prices that estimate as if the sub-products were independent (a loss above 1) and prefers
    # speculative copies, which compare measures at twice the loss
    A, B = _correlated()
    settings = dict(partition="cxr", blocks=9, workers=30, deadline=0.5, cost="work",
                    schemes=["speculative", "repetition", "mds", "now-singletons", "now-singletons+adaptive"])
    probe = rank_schemes(A, B, **settings)
    diagonal = rank_schemes(A, B, prior="diagonal", **settings)
    assert probe.prior == "probe" and diagonal.prior == "diagonal"
    assert diagonal.best.scheme.name == "speculative"
    assert probe.best.scheme.name == "now-singletons+adaptive"
    measured = _measured(A, B, probe, trials=40)
    assert min(measured, key=measured.get) == "now-singletons+adaptive"
    assert measured["now-singletons+adaptive"] < 0.6 * measured["speculative"]
    # the exact Gram matrix, the probe's limit, agrees
    R = _exact_gram(A, B, SCHEMES["mds"].spec(partition="cxr", blocks=9, workers=30))
    assert rank_schemes(A, B, **(settings | {"prior": R})).best.scheme.name == "now-singletons+adaptive"


def test_uncorrelated_sub_products_price_with_the_diagonal_prior():
    A, B = _gaussian("cxr", 7)
    choice = rank_schemes(A, B, partition="cxr", blocks=9, workers=30, deadline=1.0, trials=4)
    assert choice.prior == "diagonal"
    assert choice.report()["prior"] == "diagonal"


def test_screening_keeps_every_survivor_estimate_and_is_deterministic(monkeypatch):
    import uepmm.recommend as recommend

    A, B = _gaussian("cxr", 8, np.array([6.0, 3, 2, 1, 1, 1, 0.5, 0.5, 0.2]))
    settings = dict(partition="cxr", blocks=9, workers=30, deadline=0.5, cost="work", trials=24)
    screened = rank_schemes(A, B, **settings)
    again = rank_schemes(A, B, **settings)
    assert [(p.scheme.name, p.loss, p.draws) for p in screened.ranking] == \
        [(p.scheme.name, p.loss, p.draws) for p in again.ranking]
    draws = {p.scheme.name: p.draws for p in screened.ranking}
    assert set(draws.values()) == {recommend.SCREEN_TRIALS, 24}
    assert draws["mds"] == recommend.SCREEN_TRIALS  # nine block products per packet: nothing by t = 0.5
    assert screened.best.draws == 24
    full = [p.draws == 24 for p in screened.ranking]
    assert full == sorted(full, reverse=True)  # the fully priced first
    monkeypatch.setattr(recommend, "SCREEN_TRIALS", 24)  # no screening: every candidate gets all 24 draws
    unscreened = {p.scheme.name: p.loss for p in rank_schemes(A, B, **settings).ranking}
    for p in screened.ranking:
        if p.draws == 24:  # a survivor's estimate is the one without screening (the same streams)
            assert p.loss == pytest.approx(unscreened[p.scheme.name], rel=1e-12, abs=1e-15), p.scheme.name
    assert min(unscreened, key=lambda s: (unscreened[s], list(unscreened).index(s))) == screened.best.scheme.name


def test_unknown_pricing_prior_is_a_clear_error():
    A, B = _gaussian("cxr")
    with pytest.raises(ValueError, match="prior must be one of 'diagonal', 'probe', 'auto', 'exact'"):
        rank_schemes(A, B, prior="fancy", partition="cxr", blocks=9, workers=30, deadline=1.0)
