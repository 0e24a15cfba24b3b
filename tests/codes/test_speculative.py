"""Speculative backups: exactness, the rule against an independent event simulation, the one draw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import Exponential, JobSpec, coded_matmul, make_code, paper_sec6_classes, plan_job
from uepmm.cli import main
from uepmm.codes import CODES
from uepmm.draw import draw_job
from uepmm.experiments.engine_curves import draw_trial, trial_seed
from uepmm.loss import BlockLoss
from uepmm.partition import make_partition
from uepmm.streams import job_streams, product_rng

RXC = dict(partition="rxc", blocks=(3, 3))


def reference_completion(durations: np.ndarray) -> np.ndarray:
    """An independent event-by-event run of the rule: ``durations[j, w]`` is worker ``w``'s ``j``-th copy.

    Time advances to the earliest finishing copy; ties go to the lowest worker.  A free worker
    copies the unfinished task with the fewest running copies, then the earliest latest start,
    then the lowest index.  Returns each task's completion time.
    """
    K, W = durations.shape
    finished = [None] * K
    copies = [[] for _ in range(K)]  # running copies: (worker, end)
    latest_start = [0.0] * K
    used = [0] * W

    def assign(worker, now):
        open_tasks = [k for k in range(K) if finished[k] is None]
        if not open_tasks:
            return
        task = min(open_tasks, key=lambda k: (len(copies[k]), latest_start[k], k))
        copies[task].append((worker, now + durations[used[worker], worker]))
        used[worker] += 1
        latest_start[task] = now

    for w in range(K):
        copies[w].append((w, durations[0, w]))
        used[w] = 1
    for w in range(K, W):
        assign(w, 0.0)
    while any(f is None for f in finished):
        now, worker, task = min((end, wk, k) for k in range(K) for wk, end in copies[k])
        finished[task] = now
        freed = sorted(wk for wk, _ in copies[task])
        copies[task] = []
        for wk in freed:
            assign(wk, now)
    return np.array(finished)


def _units(spec: JobSpec, seed: int) -> np.ndarray:
    """The unit draws of ``draw_job`` for ``seed``, re-drawn here: ``K × W`` from the times stream."""
    K, W = spec.num_products, spec.workers
    return spec.latency.sample(job_streams(seed).times, K * W).reshape(K, W)


def test_registered_and_refuses_fewer_workers_than_tasks():
    assert "speculative" in CODES
    with pytest.raises(ValueError) as info:
        JobSpec(code="speculative", workers=8, **RXC)
    assert str(info.value) == (
        "code 'speculative' needs workers >= number of sub-products K = 9, got workers=8; "
        "use workers=9 (no spares) or more"
    )
    with pytest.raises(ValueError, match="copies=2 only applies to code 'repetition'"):
        make_code("speculative", copies=2)


@pytest.mark.parametrize("workers", [9, 12, 20])
@pytest.mark.parametrize("partition,blocks", [("rxc", (3, 3)), ("cxr", 9)])
def test_exact_at_deadline_inf(partition, blocks, workers):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((27, 36)), rng.standard_normal((36, 18))
    result = coded_matmul(A, B, code="speculative", partition=partition, blocks=blocks, workers=workers, seed=5)
    assert result.recovered.all() and result.received == 9
    np.testing.assert_allclose(result.estimate, A @ B, rtol=1e-12, atol=1e-12)
    assert sorted(e.worker for e in result.timeline) == list(range(9))  # the K task rows answer, spares never


@pytest.mark.parametrize("workers", [9, 11, 18])
def test_task_times_equal_the_independent_simulation(workers):
    spec = JobSpec(code="speculative", workers=workers, latency=Exponential(1.0), omega=0.5, **RXC)
    for seed in range(40):
        drawn = draw_job(spec, seed=seed)
        expected = reference_completion(_units(spec, seed) / 0.5)
        np.testing.assert_array_equal(drawn.times[:9], expected)
        assert np.all(np.isinf(drawn.times[9:]))
        np.testing.assert_array_equal(drawn.generator, np.eye(9)[np.arange(workers) % 9])


def test_hand_worked_schedule():
    # K=2, W=3: worker 2 copies task 0 at t=0; task 0 done at 1 by worker 0 (tie at 1 -> lower worker);
    # workers 0 and 2 then both copy task 1 (1 + 1 = 2 < 5), so task 1 is done at 2.
    from uepmm.codes.speculative import speculative_schedule

    finish, first = speculative_schedule(np.array([[1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_array_equal(finish, [1.0, 2.0])
    np.testing.assert_array_equal(first, [0, 1, 0])
    # without spares and without stragglers the first copies win: the times are uncoded's
    np.testing.assert_array_equal(speculative_schedule(np.array([[1.0, 2.0], [9.0, 9.0]]))[0], [1.0, 2.0])


def test_loss_curve_matches_the_independent_simulation():
    """Mean normalised loss against the deadline (fast fidelity, 150 seeds) equals the reference's."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((30, 20)), rng.standard_normal((20, 30))
    deadlines = [0.2, 0.4, 0.6, 0.8, 1.2]
    spec = JobSpec(code="speculative", workers=12, latency=Exponential(1.0), omega=1.0, fidelity="fast", **RXC)
    layout = make_partition(A.shape, B.shape, "rxc", (3, 3))
    engine = np.zeros(len(deadlines))
    reference = np.zeros(len(deadlines))
    seeds = range(150)
    for seed in seeds:
        plan = plan_job(A, B, spec, seed=seed)
        pricing = BlockLoss(layout, layout.block_products(plan.job.a_blocks, plan.job.b_blocks))
        done = reference_completion(_units(spec, seed))
        for i, t in enumerate(deadlines):
            result = coded_matmul(A, B, spec.with_(deadline=t), seed=seed)
            engine[i] += np.sum((result.estimate - A @ B) ** 2) / np.sum((A @ B) ** 2)
            reference[i] += pricing.normalized(done <= t)
    engine /= len(seeds)
    reference /= len(seeds)
    np.testing.assert_allclose(engine, reference, rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(reference) < 0) and reference[0] > 0.5 and reference[-1] < 0.05


def test_spares_help_and_copies_never_hurt():
    """W = 12 (3 spares) beats uncoded W = 9 on the same first-copy draws; W = K is never later than uncoded."""
    latency = Exponential(1.0)
    spare = JobSpec(code="speculative", workers=12, latency=latency, omega=1.0, **RXC)
    alone = JobSpec(code="speculative", workers=9, latency=latency, omega=1.0, **RXC)
    uncoded = JobSpec(code="uncoded", workers=9, latency=latency, omega=1.0, **RXC)
    deadline = 1.0
    done = {"spare": [], "alone": [], "uncoded": []}
    for seed in range(300):
        times_uncoded = draw_job(uncoded, seed=seed).times
        times_alone = draw_job(alone, seed=seed).times
        assert np.all(times_alone <= times_uncoded)  # the first copies are uncoded's draws
        done["uncoded"].append(np.count_nonzero(times_uncoded <= deadline))
        done["alone"].append(np.count_nonzero(times_alone <= deadline))
        done["spare"].append(np.count_nonzero(draw_job(spare, seed=seed).times <= deadline))
    means = {k: float(np.mean(v)) for k, v in done.items()}
    se = float(np.std(np.subtract(done["spare"], done["uncoded"]), ddof=1) / math.sqrt(300))
    # uncoded: 9 (1 - e^-1) = 5.69 tasks by t = 1; three spares add well over 5 standard errors
    assert abs(means["uncoded"] - 9 * (1 - math.exp(-1))) < 0.2
    assert means["spare"] - means["uncoded"] > 5 * se > 0
    assert means["alone"] >= means["uncoded"]


def test_per_task_probabilities_depend_on_the_schedule_so_none_are_claimed():
    code = make_code("speculative")
    with pytest.raises(ValueError, match="no analytic per-task decoding probabilities: .* spares copy the lowest"):
        code.decoding_probabilities((3, 3, 3), 12)
    with pytest.raises(ValueError, match="q=7 .a finite field. only applies"):
        code.decoding_probabilities((3, 3, 3), 12, q=7)
    np.testing.assert_array_equal(code.all_decoded_probability((3, 3, 3), 12), (np.arange(13) >= 9).astype(float))
    # why: with W = 12 the 3 spares copy tasks 0-2 at time 0, so they are among the first arrivals more often
    spec = JobSpec(code="speculative", workers=12, latency=Exponential(1.0), omega=1.0, **RXC)
    first3 = np.zeros(9)
    for seed in range(600):
        finish = draw_job(spec, seed=seed).times[:9]
        first3[np.argsort(finish, kind="stable")[:3]] += 1
    p = first3 / 600
    assert p[:3].min() > p[3:].max() + 0.04 and p[3:].min() < 1 / 3 - 0.05  # not N / K = 1/3 for every task (SE 0.02)


def test_theory_cli_refuses_speculative(capsys):
    with pytest.raises(SystemExit):
        main(["theory", "decoding", "--code", "speculative", "--k", "3,3,3"])
    assert "invalid choice: 'speculative'" in capsys.readouterr().err


def test_figure_monte_carlo_and_simulate_cli_draw_the_same():
    classes = paper_sec6_classes("rxc")
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((12, 18)), rng.standard_normal((18, 12))
    latency = Exponential(1.0)
    for trial in range(3):
        plan = plan_job(A, B, code="speculative", workers=11, classes=classes, latency=latency, omega=1.0,
                        seed=trial_seed(0, trial), **RXC)
        rows, times = draw_trial("speculative", classes, 11, latency, 1.0, trial_seed(0, trial))
        np.testing.assert_array_equal(plan.job.encoding.generator, rows)
        np.testing.assert_array_equal(plan.job.times, times)
    code = main(["simulate", "--code", "speculative", "--partition", "rxc", "--workers", "12", "--matrices", "gaussian",
                 "--rows", "12", "--inner", "6", "--cols", "12", "--deadline", "0,100", "--trials", "3",
                 "--format", "json", "--fidelity", "fast"])
    assert code == 0


@pytest.mark.parametrize("cost", ["equal", "work"])
def test_training_path_draws_what_coded_matmul_draws(cost):
    torch = pytest.importorskip("torch")
    from uepmm.nn import CodingConfig, lean_product

    config = CodingConfig(code="speculative", workers=12, deadline=0.8, cost=cost, **RXC)
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((12, 18)), rng.standard_normal((18, 12))
    for seed in range(6):
        _, info = lean_product(torch.from_numpy(A), torch.from_numpy(B), config, seed)
        result = coded_matmul(A, B, config, seed=product_rng(seed))
        np.testing.assert_array_equal(info["response_times"], result.report["response_times"])
        np.testing.assert_array_equal(info["recovered"], result.recovered)
    exact = CodingConfig(code="speculative", workers=12, deadline=math.inf, **RXC)
    out, info = lean_product(torch.from_numpy(A), torch.from_numpy(B), exact, 0)
    np.testing.assert_allclose(out.numpy(), A @ B, rtol=1e-12, atol=1e-12)
    assert info["recovered"].all()


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import logging

    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=24, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False}, silence_logs=logging.CRITICAL,
    )
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client
    cluster.close()


def test_dask_small_job_exact_at_deadline_inf(dask_client):
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((18, 24)), rng.standard_normal((24, 12))
    result = coded_matmul(A, B, code="speculative", workers=12, backend="dask", client=dask_client,
                          time_unit=0.05, seed=2, **RXC)
    assert result.recovered.all() and result.received == 9
    np.testing.assert_allclose(result.estimate, A @ B, rtol=1e-12, atol=1e-12)
    assert sorted(e.worker for e in result.timeline) == list(range(9))


def test_dask_runs_the_copies_for_real(dask_client):
    """Task 3's first copy answers at 20 units; copies started at t = 1 (2 units each) finish it at 3.
    The deadline (10 units) falls between: only the real copies can deliver task 3 by then."""
    from uepmm.codes.speculative import speculative_schedule
    from uepmm.latency import Schedule

    units = np.full((4, 5), 2.0)
    units[0] = [1.0, 1.0, 1.0, 20.0, 1.0]
    finish, first = speculative_schedule(units)
    np.testing.assert_array_equal(finish, [1.0, 1.0, 1.0, 3.0])
    np.testing.assert_array_equal(first, [0, 1, 2, 3, 0])
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((8, 16)), rng.standard_normal((16, 6))
    spec = JobSpec(code="speculative", partition="cxr", blocks=4, workers=5, latency=Schedule(tuple(units.ravel())),
                   omega=1.0, deadline=10.0, reorder=False)
    np.testing.assert_array_equal(plan_job(A, B, spec).job.times, [1.0, 1.0, 1.0, 3.0, math.inf])
    result = coded_matmul(A, B, spec, backend="dask", client=dask_client, time_unit=0.1)
    assert result.recovered.all() and result.report["backup_copies"] >= 2
    np.testing.assert_allclose(result.estimate, A @ B, rtol=1e-12, atol=1e-12)
    assert max(e.time for e in result.timeline) <= result.report["deadline_seconds"] < 20 * 0.1


@pytest.mark.parametrize("decoder", ["zero", "lmmse", "unbiased"])
def test_every_decoder_on_the_identity_rows(decoder):
    rng = np.random.default_rng(6)
    A, B = rng.standard_normal((27, 12)), rng.standard_normal((12, 27))
    spec = JobSpec(code="speculative", workers=12, latency=Exponential(1.0), omega=1.0, decoder=decoder, **RXC)
    if decoder == "unbiased":  # its scales need P(task k | N), which the backup schedule makes task-dependent:
        for deadline in (0.5, math.inf):  # refused before any packet (Decoder.check), whatever the deadline
            with pytest.raises(ValueError, match="'speculative' has no analytic per-task decoding probabilities"):
                coded_matmul(A, B, spec.with_(deadline=deadline), seed=3)
        return
    exact = coded_matmul(A, B, spec, seed=3)
    np.testing.assert_allclose(exact.estimate, A @ B, rtol=1e-10, atol=1e-10)
    plan = plan_job(A, B, spec, seed=3)
    partial = coded_matmul(A, B, spec.with_(deadline=0.5), seed=3)
    np.testing.assert_array_equal(partial.recovered, plan.job.times[:9] <= 0.5)
    assert 0 < partial.recovered.sum() < 9
