"""The unbiased decoder: ``E[C_hat | N] = C`` under the job's own arrival model, and where it refuses.

``C_hat_k = s_k P_k`` (a diagonal decoder), so ``E[C_hat_k | N] = P_k`` is ``E[s_k | N] = 1``:
the tests average the scales ``s_k`` over seeds, per class, over the seeds whose ``N`` meets
the class's condition (:class:`uepmm.decoders.UnbiasedDecoder`).  Seeds are fixed, so each
test gives the same numbers every run; the tolerance is 4 standard errors of the mean.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import JobSpec, coded_matmul, plan_job
from uepmm.codes import make_code
from uepmm.decoders import DecodeContext, UnbiasedDecoder, recovery_probabilities
from uepmm.draw import draw_job
from uepmm.importance import ClassTable, paper_sec6_classes
from uepmm.latency import Exponential, Schedule


def _spec(code, partition, cost, deadline, **kw):
    return JobSpec(code=make_code(code), partition=partition, blocks=(3, 3) if partition == "rxc" else 9,
                   workers=30, latency=Exponential(1.0), omega=9 / 30, classes=paper_sec6_classes(partition),
                   cost=cost, deadline=deadline, **kw)


def _meets(decoder, p, q):
    """The class docstring's condition for ``E[s_k | N] = 1``, per sub-product."""
    return (q >= 1.0) | ((p > q) & ((p - q) / max(1.0 - q, 1e-300) >= decoder.min_probability))


def _scales(spec, seeds, fixed_n=None, decoder=None, context_spec="job"):
    """Per seed: the scales ``s_k`` after ``N`` packets (``fixed_n``, else the arrivals by the
    deadline), ``q(N)`` and whether each sub-product meets the condition."""
    decoder = decoder or UnbiasedDecoder()
    code, classes = spec.code_object, spec.classes
    context = DecodeContext(None, None, np.dtype(np.float64), spec.workers, classes, code=code,
                            spec=spec if context_spec == "job" else context_spec)
    p_all, q_all = recovery_probabilities(context)
    s = np.empty((seeds, spec.num_products))
    q = np.empty(seeds)
    meets = np.empty((seeds, spec.num_products), dtype=bool)
    for j in range(seeds):
        drawn = draw_job(spec, classes, j)
        order = np.argsort(drawn.times, kind="stable")
        n = fixed_n if fixed_n is not None else int(np.count_nonzero(drawn.times <= spec.deadline))
        recovered = code.recovery_curve_from(drawn.encoding, order[:n])[n]
        s[j] = decoder.scales(drawn.generator[order[:n]], recovered, context)
        q[j] = q_all[n]
        meets[j] = _meets(decoder, p_all[n], q_all[n])
    return s, q, meets


def _class_means(s, meets, classes):
    """Per class: (mean scale over the seeds meeting the condition, its standard error, their share)."""
    cls = classes.as_array()
    out = []
    for level in range(classes.num_classes):
        ok = meets[:, cls == level].all(axis=1)
        x = s[ok][:, cls == level].mean(axis=1)
        out.append((x.mean() if x.size else math.nan, x.std(ddof=1) / math.sqrt(x.size) if x.size > 1 else math.inf,
                    ok.mean()))
    return out


# the deadline of the cost="work" cases: Ω t = 2.4 units, so windows of work 2 and 3 arrive often
CASES = [(code, part, cost) for code in ("now", "ew") for part in ("rxc", "cxr") for cost in ("equal", "work")]


@pytest.mark.parametrize("code,partition,cost", CASES)
def test_mean_scale_is_one_given_n(code, partition, cost):
    """``E[C_hat_k | N] = P_k`` wherever the condition holds: ``N = 14`` packets (``cost="equal"``:
    the windows do not depend on the times) or the arrivals by ``t = 8`` (``cost="work"``)."""
    spec = _spec(code, partition, cost, 8.0)
    s, q, meets = _scales(spec, 1500, fixed_n=14 if cost == "equal" else None)
    tested = 0
    for level, (mean, se, share) in enumerate(_class_means(s, meets, spec.classes)):
        if share >= 0.2:
            assert abs(mean - 1.0) <= 4 * se + 1e-12, (level, mean, se, share)
            tested += 1
    assert tested >= 1
    if code == "ew":  # the last class is recovered only with everything: exact or zero, E = q(N) P_L
        last = s[:, spec.classes.as_array() == spec.classes.num_classes - 1]
        assert set(np.unique(last)) <= {0.0, 1.0}
        assert abs(last.mean() - q.mean()) <= 4 * last.mean(axis=1).std(ddof=1) / math.sqrt(len(q)) + 1e-9


def test_work_bias_of_the_codes_gamma_is_gone():
    """Sec. VI r×c NOW, ``cost="work"``, T = 4: with the code's ``Γ`` the middle class (windows of
    work 3, which arrive late) is scaled by 0.2 on average; with the job's ``Γ'`` by 1."""
    spec = _spec("now", "rxc", "work", 4.0)
    before, _, meets_before = _scales(spec, 2000, context_spec=None)
    after, _, meets_after = _scales(spec, 2000)
    old = _class_means(before, meets_before, spec.classes)
    new = _class_means(after, meets_after, spec.classes)
    assert old[1][0] < 0.4 and old[2][0] > 1.4  # measured 0.20 and 1.80
    for mean, se, share in new:
        assert share > 0.9 and abs(mean - 1.0) < 4 * se, new


def test_complete_decode_is_exact():
    """Everything recovered: ``C_hat = C`` (scale 1), though EW's last class has ``p_L(N) = q(N)``."""
    spec = _spec("ew", "cxr", "equal", math.inf)
    context = DecodeContext(None, None, np.dtype(np.float64), 30, spec.classes, code=spec.code_object, spec=spec)
    p, q = recovery_probabilities(context)
    np.testing.assert_allclose(p[:, -1], q, atol=1e-12)
    assert np.all(p[12, :-3] > q[12] + 0.3)
    assert np.all(UnbiasedDecoder().scales(np.zeros((12, 9)), np.ones(9, dtype=bool), context) == 1.0)


def test_work_probabilities_are_those_of_gamma_prime():
    """``cost="work"``: ``p_k(N)`` is the code's with ``Γ'_l ∝ Γ_l F_{s_l}(Ω t)``; ``t = inf``: ``Γ``."""
    from uepmm.design import window_work, work_cdfs

    spec = _spec("now", "rxc", "work", 4.0)
    classes, code = spec.classes, spec.code_object

    def probabilities(s):
        return recovery_probabilities(DecodeContext(None, None, np.dtype(np.float64), 30, classes, code=code, spec=s))

    works, _ = window_work("now", classes, "rxc", (3, 3))
    assert works == (2, 3, 2)
    joint = np.asarray(code.window_probabilities(3)) * work_cdfs(Exponential(1.0), works, [4.0], 9 / 30, 0)[0]
    expected = make_code("now", gamma=tuple(joint / joint.sum())).decoding_probabilities(classes.counts, 30)
    np.testing.assert_allclose(probabilities(spec)[0], expected[:, classes.as_array()], rtol=1e-12)
    plain = code.decoding_probabilities(classes.counts, 30)[:, classes.as_array()]
    np.testing.assert_allclose(probabilities(spec.with_(deadline=math.inf))[0], plain, rtol=1e-12)
    np.testing.assert_allclose(probabilities(spec.with_(cost="equal"))[0], plain, rtol=1e-12)
    np.testing.assert_allclose(probabilities(spec.with_(encoding="factor"))[0], plain, rtol=1e-12)  # work 1 each


def test_coded_matmul_scales_with_the_jobs_own_model():
    """The engine hands the job's spec to the decoder: each block of ``C_hat`` is ``C``'s times the Γ' scale."""
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((9, 12)), rng.standard_normal((12, 9))
    spec = _spec("now", "rxc", "work", 4.0, decoder="unbiased", fidelity="fast", reorder=False)
    C = A @ B
    checked = 0
    for seed in range(40):
        result = coded_matmul(A, B, spec, seed=seed)
        if result.recovered.all() or not result.recovered.any():
            continue
        job = plan_job(A, B, spec, seed=seed).job
        arrived = np.argsort(job.times, kind="stable")[: result.received]
        context = DecodeContext(None, None, np.dtype(np.float64), 30, spec.classes, code=spec.code_object, spec=spec)
        scales = UnbiasedDecoder().scales(job.encoding.generator[arrived], result.recovered, context)
        blocks = scales.reshape(3, 3).repeat(3, axis=0).repeat(3, axis=1)  # sub-product k = 3 n + p
        np.testing.assert_allclose(result.estimate, blocks * C, rtol=1e-10, atol=1e-10)
        checked += 1
    assert checked >= 5


def test_mds_blocks_are_exact_or_zero():
    """Every MDS block is recovered only with everything (``p_k = q``): never rescaled, and the
    condition holds only where ``q(N) = 1`` (``N >= K``): ``E[C_hat | N] = q(N) C``."""
    spec = _spec("mds", "cxr", "equal", 1.2)  # about 9 of the 30 packets by the deadline
    s, q, meets = _scales(spec, 300)
    assert set(np.unique(s)) == {0.0, 1.0}
    np.testing.assert_array_equal(meets.all(axis=1), q == 1.0)
    np.testing.assert_array_equal(meets.any(axis=1), q == 1.0)
    assert 0.1 < q.mean() < 0.9


# ----------------------------------------------------------------------------- refusals


def _context(code, cost, latency, classes=None, workers=6):
    classes = classes or ClassTable((0, 0, 1, 0, 1, 2, 1, 2, 2))
    spec = JobSpec(code=code, partition="rxc", blocks=(3, 3), workers=workers, latency=latency, omega=1.0,
                   classes=classes, cost=cost, deadline=2.0, decoder="unbiased")
    return DecodeContext(None, None, np.dtype(np.float64), workers, classes, code=spec.code_object, spec=spec)


def test_schedule_under_work_is_refused():
    with pytest.raises(ValueError, match=r"latency=Schedule\(\.\.\.\) fixes which workers answer.*cost='work'"):
        UnbiasedDecoder().start(_context("now", "work", Schedule(tuple(range(18)))))
    recovery_probabilities(_context("now", "equal", Schedule(tuple(range(6)))))  # windows independent of times


def test_schedule_with_fixed_tasks_is_refused():
    with pytest.raises(ValueError, match=r"code 'uncoded' gives each worker a fixed task.*i.i.d. latency model"):
        UnbiasedDecoder().start(_context("uncoded", "equal", Schedule(tuple(range(9))), workers=9))


def test_engine_refuses_before_any_packet():
    A = np.ones((6, 6))
    with pytest.raises(ValueError, match=r"decoder 'unbiased' needs P\(sub-product recovered \| N\)"):
        coded_matmul(A, A, code="now", partition="rxc", blocks=(3, 3), workers=6, latency=Schedule(tuple(range(18))),
                     omega=1.0, classes=paper_sec6_classes("rxc"), gamma=(0.4, 0.3, 0.3), cost="work", deadline=2.0,
                     decoder="unbiased", fidelity="fast")


def test_speculative_is_refused():
    with pytest.raises(ValueError, match=r"code 'speculative' has no analytic per-task decoding probabilities"):
        UnbiasedDecoder().start(_context("speculative", "equal", Exponential(1.0), workers=12))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"min_probability must be in \(0, 1\]"):
        UnbiasedDecoder(min_probability=0.0)


def test_compare_fast_path_uses_each_deadlines_model():
    """``fast_losses`` decodes each deadline with that deadline's ``Γ'``: the same loss as ``coded_matmul``."""
    from uepmm.experiments.compare import fast_losses
    from uepmm.experiments.engine_curves import trial_seed

    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((9, 12)) * np.repeat([3.0, 1.0, 0.3], 3)[:, None], rng.standard_normal((12, 9))
    spec = _spec("ew", "rxc", "work", math.inf, decoder="unbiased", fidelity="fast")
    deadlines = [3.0, 6.0, 12.0]
    losses, name = fast_losses(A, B, spec, deadlines, 6, seed=2)
    assert name == "unbiased"
    C = A @ B
    for j in range(6):
        for i, t in enumerate(deadlines):
            result = coded_matmul(A, B, spec, deadline=t, seed=trial_seed(2, j))
            assert losses[j, i] == pytest.approx(result.normalized_loss(C), rel=1e-9, abs=1e-12), (j, t)
    assert np.any((losses > 0) & (losses != 1.0))  # some partial decodes were rescaled


def test_latency_without_closed_form_uses_the_monte_carlo():
    """A trace (resampled i.i.d.) under ``cost="work"``: ``F_s`` from the seeded Monte Carlo of
    :func:`uepmm.design.work_cdfs`, the same ``Γ'`` as computed by hand from it."""
    from uepmm.design import work_cdfs
    from uepmm.latency import Trace

    trace = Trace((0.2, 0.5, 0.9, 1.4, 3.0))
    spec = _spec("now", "rxc", "work", 4.0).with_(latency=trace)
    context = DecodeContext(None, None, np.dtype(np.float64), 30, spec.classes, code=spec.code_object, spec=spec)
    joint = np.asarray(spec.code_object.window_probabilities(3)) * work_cdfs(trace, (2, 3, 2), [4.0], 9 / 30, 0)[0]
    expected = make_code("now", gamma=tuple(joint / joint.sum())).decoding_probabilities(spec.classes.counts, 30)
    np.testing.assert_allclose(recovery_probabilities(context)[0], expected[:, spec.classes.as_array()], rtol=1e-12)
    assert not np.allclose(joint / joint.sum(), spec.code_object.window_probabilities(3))


@pytest.mark.parametrize("code,partition,blocks", [("now", "rxc", (3, 3)), ("ew", "cxr", 9)])
def test_training_path_scales_like_coded_matmul_under_work(code, partition, blocks):
    """The lean path hands its config (cost, latency, deadline) to the decoder: same ``C_hat`` as the engine."""
    torch = pytest.importorskip("torch")
    from uepmm.nn import CodingConfig, lean_product, product_rng

    config = CodingConfig(code=code, partition=partition, blocks=blocks, workers=15, deadline=6.0, cost="work",
                          decoder="unbiased")
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((12, 18)), rng.standard_normal((18, 12))
    partial = 0
    for seed in range(10):
        estimate, info = lean_product(torch.from_numpy(A), torch.from_numpy(B), config, seed)
        result = coded_matmul(A, B, config, seed=product_rng(seed))
        np.testing.assert_allclose(estimate.numpy(), result.estimate, rtol=1e-10, atol=1e-10)
        partial += 0 < result.recovered.sum() < result.recovered.size
    assert partial > 0
