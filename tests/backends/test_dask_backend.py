"""The Dask backend on a real LocalCluster (processes, loopback): exactness, timing, faults.

One module-scoped cluster (2 processes × 20 threads) serves every test but the embedded ones.
Matrices are small; ``time_unit`` is 0.1-1 s.  No test bounds a wall-clock time by a fixed
number of seconds (a loaded machine is slower by an unknown amount): timing checks are in the
model's terms (packet times against ``deadline_seconds``) or ratios of times measured in the same
test (a job with a deadline against the same job waiting for its stragglers).  A packet never
arrives before its model time; how much later it arrives depends on the machine's load.  So
where a test needs packets to arrive by a deadline, or in the model's order, the model times it
relies on are at least ``MARGIN_S`` (0.5 s) apart in wall time (beside ``stress --cpu 2`` on
the shared 2-core machine, load average 8-9, packets came up to 0.28 s after their model time;
0.02 s without stress, load average 5).  The measured numbers are in
``benchmarks/bench_dask.py --part timing``.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import uepmm  # noqa: E402
from uepmm.api import plan_job  # noqa: E402
from uepmm.backends.dask import DaskBackend, DaskConnectionError  # noqa: E402
from uepmm.cli import _dask_options, cluster_demo  # noqa: E402
from uepmm.decoding import recoverable  # noqa: E402
from uepmm.latency import Schedule  # noqa: E402

THREADS = 20
#: Wall seconds by which a packet may arrive later than its model time in these tests.
MARGIN_S = 0.5


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=THREADS,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.CRITICAL,
    )
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


@pytest.fixture
def healthy(client):
    """The shared client, with both workers up (a kill test restarts one)."""
    client.wait_for_workers(2, timeout=30)
    return client


@pytest.fixture(scope="module")
def matrices():
    rng = np.random.default_rng(0)
    return rng.standard_normal((24, 36)), rng.standard_normal((36, 18))


def _rel(X, Y):
    return float(np.linalg.norm(X - Y) / np.linalg.norm(Y))


def _estimate_from(result, recovered, A, B):
    """``C_hat`` built from the exact sub-products in ``recovered`` (the paper's estimate)."""
    Ap, Bp = result.order.apply(A, B)
    exact = result.partition.products(Ap, Bp)
    parts = [exact[k] if recovered[k] else None for k in range(result.partition.num_products)]
    return result.order.restore(result.partition.assemble(parts))


def _exact_blocks_ok(result, A, B):
    """Every recovered sub-product equals the exact one to 1e-9 relative, the rest is zero."""
    expected = _estimate_from(result, result.recovered, A, B)
    return np.allclose(result.estimate, expected, rtol=0, atol=1e-9 * np.abs(A @ B).max())


# ------------------------------------------------------------------ exactness
CASES = [
    ("uncoded", 9, "direct"), ("repetition", 18, "direct"), ("mds", 12, "direct"),
    ("now", 30, "direct"), ("ew", 24, "direct"),
]


CASES = [(*case, partition) for case in CASES for partition in ("rxc", "cxr")]
# eq. (11) factor form: valid for r×c rectangles, and for single sub-products in c×r
CASES += [("mds", 12, "factor", "rxc"), ("uncoded", 9, "factor", "rxc"), ("uncoded", 9, "factor", "cxr")]


@pytest.mark.parametrize("code,workers,encoding,partition", CASES)
def test_deadline_inf_reproduces_the_product(healthy, matrices, code, workers, encoding, partition):
    A, B = matrices
    kwargs = dict(code=code, partition=partition, blocks=9, workers=workers, encoding=encoding, latency=None, seed=0)
    res = uepmm.coded_matmul(A, B, backend="dask", client=healthy, **kwargs)
    sim = uepmm.coded_matmul(A, B, **kwargs)
    assert sim.recovered.all()
    # every worker answered, or was released once C was complete (a parameter server may stop then)
    assert res.recovered.all() and res.received == len(res.timeline)
    assert res.received + len(res.report["unfinished"]) == workers  # pull: not sent yet counts as unfinished
    assert _rel(res.estimate, A @ B) < 1e-9
    assert res.report["erasures"] == [] and res.report["rejected"] == 0
    assert res.report["backend"] == "dask" and res.report["cluster"] == "client"
    assert all(e.time >= 0 for e in res.timeline)
    # data moved once: each block went only to the Dask workers that read it
    assert res.report["scatter_bytes"] <= 2 * (A.nbytes + B.nbytes)


# --------------------------------------------------------------------- timing
def test_deadline_returns_what_arrived_by_it(healthy, matrices):
    A, B = matrices
    # seed 0: 8 packets due by 3.16 units, the next at 6.03; C is not complete from the 8
    time_unit, deadline = 0.5, 4.0
    res = uepmm.coded_matmul(A, B, code="ew", partition="cxr", blocks=9, workers=15, deadline=deadline,
                             latency=uepmm.Exponential(rate=0.5), backend="dask", client=healthy,
                             time_unit=time_unit, seed=0)
    model = np.asarray(res.report["response_times"])
    assert res.report["deadline_seconds"] == pytest.approx(deadline * time_unit)
    assert all(e.time <= res.report["deadline_seconds"] for e in res.timeline)
    unfinished = set(res.report["unfinished"])
    assert set(np.flatnonzero(model > deadline)) <= unfinished and res.received == 15 - len(unfinished)
    assert not res.recovered.all()  # so the job ran to its deadline: nothing was released early
    # what was due MARGIN_S before the deadline arrived (7 of the 8 due by it)
    assert unfinished <= set(np.flatnonzero(model > deadline - MARGIN_S / time_unit))
    assert np.sum(model <= deadline - MARGIN_S / time_unit) == 7


def test_deadline_returns_promptly_and_frees_the_threads(healthy, matrices):
    A, B = matrices
    # 8 workers answer by 2.5 units, 7 stragglers from 30 units on; with K = 9 sub-products C is
    # never complete before a straggler answers, so without a deadline the job waits >= 30 units
    times = np.r_[np.linspace(0.5, 2.5, 8), np.linspace(30.0, 36.0, 7)]
    kwargs = dict(code="ew", partition="cxr", blocks=9, workers=15, latency=Schedule(times), omega=1.0,
                  backend="dask", client=healthy, time_unit=0.1, seed=0)
    start = time.perf_counter()
    res = uepmm.coded_matmul(A, B, deadline=4.0, **kwargs)
    with_deadline = time.perf_counter() - start
    # the stragglers' threads are free again before the first of them would have finished by itself
    give_up = start + 0.9 * times[8] * 0.1
    while any(healthy.processing().values()) and time.perf_counter() < give_up:
        time.sleep(0.02)
    assert not any(healthy.processing().values())
    start = time.perf_counter()
    waited = uepmm.coded_matmul(A, B, **kwargs)  # deadline = inf
    without_deadline = time.perf_counter() - start
    assert set(range(8, 15)) <= set(res.report["unfinished"]) and res.received <= 8
    assert not res.recovered.all()
    assert all(e.time <= res.report["deadline_seconds"] for e in res.timeline)
    assert waited.received >= 9 and any(e.worker >= 8 for e in waited.timeline)
    # from the start line (the set-up before it is the same for both and varies with the load):
    # the job returned, its stragglers released, in less than half the time they would have taken
    assert waited.report["elapsed_seconds"] >= times[8] * 0.1
    assert res.report["elapsed_seconds"] + res.report["release_seconds"] < 0.5 * times[8] * 0.1
    assert res.report["elapsed_seconds"] < 0.5 * waited.report["elapsed_seconds"]
    assert with_deadline < without_deadline


def _deadline_in_the_widest_gap(times, rows, first=3, last=8.0):
    """The middle of the widest gap between arrivals, after ``first`` of them, before model time
    ``last`` and before C is complete (the job would stop there, not at the deadline); and the gap."""
    t, order = np.sort(times), np.argsort(times, kind="stable")
    best = (None, 0.0)
    for i in range(first - 1, len(t) - 1):
        if t[i + 1] >= last or recoverable(rows[order[: i + 1]]).all():
            break
        if t[i + 1] - t[i] > best[1]:
            best = (float((t[i] + t[i + 1]) / 2), float(t[i + 1] - t[i]))
    return best


@pytest.mark.parametrize("code,partition,seed", [("ew", "cxr", 1), ("now", "rxc", 2), ("mds", "cxr", 3)])
def test_agrees_with_the_simulated_backend(healthy, matrices, code, partition, seed):
    A, B = matrices
    kwargs = dict(code=code, partition=partition, blocks=9, workers=15, latency=uepmm.Exponential(rate=0.5), seed=seed)
    job = plan_job(A, B, **kwargs).job
    times = job.response_times()
    deadline, gap = _deadline_in_the_widest_gap(times, job.encoding.generator)
    assert deadline is not None and gap > 0.6  # (1.74, 1.44 and 0.96 units for the three seeds)
    time_unit = 2 * MARGIN_S / gap  # no arrival within MARGIN_S of the deadline
    sim = uepmm.coded_matmul(A, B, deadline=deadline, **kwargs)
    res = uepmm.coded_matmul(A, B, deadline=deadline, backend="dask", client=healthy, time_unit=time_unit, **kwargs)
    assert res.report["response_times"] == times.tolist()  # the same draws as the simulated backend
    assert {e.worker for e in res.timeline} == {e.worker for e in sim.timeline}
    assert np.array_equal(res.recovered, sim.recovered) and not sim.recovered.all()
    assert res.received == sim.received == int(np.sum(times <= deadline)) >= 3
    np.testing.assert_array_equal(res.recovered, recoverable(job.encoding.generator[[e.worker for e in res.timeline]]))
    assert _rel(res.estimate, sim.estimate) < 1e-9 if np.any(sim.estimate) else np.all(res.estimate == 0)
    # arrival order follows the model for arrivals more than MARGIN_S apart
    arrival = {e.worker: e.time for e in res.timeline}
    for a in arrival:
        for b in arrival:
            if (times[b] - times[a]) * time_unit > MARGIN_S:
                assert arrival[a] < arrival[b]
    # no packet arrived before its model time (20 ms for clock resolution); that none came later
    # than the deadline's margin is what the equal results above show
    lags = [arrival[w] - times[w] * time_unit for w in arrival]
    assert min(lags) > -0.02


def test_on_packet_sees_the_estimate_while_the_job_runs(healthy, matrices):
    TIMES = np.r_[np.linspace(0.5, 3.0, 8), np.linspace(9.0, 12.0, 7)]  # 8 due by the deadline, 6.0
    time_unit = 0.25  # packets due from 0.125 s to 0.75 s, the deadline at 1.5 s
    A, B = matrices
    seen = []
    start = time.perf_counter()

    def on_packet(progress):
        seen.append((time.perf_counter() - start, progress.entry, progress.estimate(), progress.recovered))

    res = uepmm.coded_matmul(A, B, code="ew", partition="rxc", blocks=9, workers=15, deadline=6.0, decoder="zero",
                             latency=Schedule(TIMES), omega=1.0, backend="dask",
                             client=healthy, time_unit=time_unit, seed=4, on_packet=on_packet)
    wall = time.perf_counter() - start
    assert [s[1] for s in seen] == res.timeline
    assert len(seen) == res.received <= 8
    # the estimates came as the packets arrived, not in a burst at the end: the callbacks are spread
    # over at least half the time over which the packets arrived (packets due over 0.625 s)
    assert seen[-1][0] - seen[0][0] > 0.5 * (res.timeline[-1].time - res.timeline[0].time) > 0
    assert seen[-1][0] <= wall
    for _, _, estimate, recovered in seen:  # each estimate is the exact recovered blocks, zeros elsewhere
        assert np.allclose(estimate, _estimate_from(res, recovered, A, B), rtol=0, atol=1e-9 * np.abs(A @ B).max())
    assert np.allclose(seen[-1][2], res.estimate) and np.array_equal(seen[-1][3], res.recovered)
    counts = [int(s[3].sum()) for s in seen]
    assert counts == sorted(counts) and counts[-1] > counts[0]


# --------------------------------------------------------------------- faults
def test_wrong_nan_and_raising_packets_are_erasures(healthy, matrices):
    A, B = matrices
    faults = {"nan": [0, 5], "corrupt": [1, 7], "raise": [2]}
    times = [0.0 if w in (0, 1, 2, 5, 7) else 3.0 for w in range(30)]  # the faulty ones first, by 0.6 s
    res = uepmm.coded_matmul(A, B, code="ew", partition="rxc", blocks=9, workers=30, latency=Schedule(times),
                             omega=1.0, seed=0, backend="dask", client=healthy, time_unit=0.2, faults=faults)
    status = {e["worker"]: e["status"] for e in res.report["erasures"]}
    assert status == {0: "nonfinite", 5: "nonfinite", 1: "corrupt", 7: "corrupt", 2: "error"}
    assert res.report["rejected"] == 4 and res.received + len(res.report["unfinished"]) == 25
    assert [e["worker"] for e in res.report["errors"]] == [2]
    assert "InjectedFault" in res.report["errors"][0]["error"]
    assert res.recovered.all() and _rel(res.estimate, A @ B) < 1e-9  # a recovered block is never wrong


def test_corrupt_packets_never_reach_a_recovered_block(healthy, matrices):
    A, B = matrices
    # MDS, K = 9, 12 workers of which 4 lie: the 8 honest packets recover nothing, and
    # nothing wrong is recovered from the lies
    res = uepmm.coded_matmul(A, B, code="mds", partition="cxr", blocks=9, workers=12, latency=None, seed=0,
                             decoder="zero", backend="dask", client=healthy, faults={"corrupt": [0, 3, 6, 9]})
    assert res.received == 8 and not res.recovered.any() and np.all(res.estimate == 0)
    # without verification the lies are decoded into a wrong product (the check is what stops them)
    unchecked = uepmm.coded_matmul(A, B, code="mds", partition="cxr", blocks=9, workers=12, latency=None,
                                   seed=0, backend="dask", client=healthy, faults={"corrupt": [0, 3, 6, 9]},
                                   verify=False, decoder="zero")
    assert unchecked.recovered.all() and _rel(unchecked.estimate, A @ B) > 1e-6


def test_duplicates_are_ignored(healthy, matrices):
    A, B = matrices
    # the duplicates of 0 and 2 are due 0.58 s before the job's last packet
    res = uepmm.coded_matmul(A, B, code="uncoded", partition="cxr", blocks=9, workers=9,
                             latency=Schedule([0.1, 0.1, 0.1, 0.1, 3, 3, 3, 3, 3]), omega=1.0, seed=0,
                             backend="dask", client=healthy, time_unit=0.2, faults={"duplicate": [0, 2]})
    assert res.report["duplicates"] == 2 and res.received == 9
    assert sorted(e.worker for e in res.timeline) == list(range(9))
    assert res.recovered.all() and _rel(res.estimate, A @ B) < 1e-9


def test_late_packets_are_ignored(healthy, matrices):
    A, B = matrices
    # time_unit 0.2 s: 1-4 due 0.6 s before the deadline (4 units), 5-8 0.4 s after it and 0.8 s
    # before the parameter server reads on (it sleeps 2 s from the first packet)
    times = [0.0, 1.0, 1.0, 1.0, 1.0, 6.0, 6.0, 6.0, 6.0]

    def slow(progress):  # the parameter server is busy past the deadline while packets come in
        if progress.entry.received == 1:
            time.sleep(2.0)

    res = uepmm.coded_matmul(A, B, code="uncoded", partition="cxr", blocks=9, workers=9, deadline=4.0,
                             latency=Schedule(times), omega=1.0, seed=0, backend="dask", client=healthy,
                             time_unit=0.2, on_packet=slow)
    assert sorted(e.worker for e in res.timeline) == [0, 1, 2, 3, 4]  # on time, though read late
    assert res.report["late"] == 4 and sorted(res.report["unfinished"]) == [5, 6, 7, 8]
    assert all(e.time <= res.report["deadline_seconds"] for e in res.timeline)


def test_early_stop_releases_the_rest(healthy, matrices):
    A, B = matrices
    straggler = 100.0  # model units: 10 s
    plan = plan_job(A, B, code="uncoded", partition="cxr", blocks=9, workers=9,
                    latency=Schedule([0.0, 0.0, 0.0] + [straggler] * 6), omega=1.0, seed=0)
    backend = DaskBackend(client=healthy, time_unit=0.1)
    start = time.perf_counter()
    packets = backend.packets(plan.job)
    got = [next(packets) for _ in range(3)]
    packets.close()  # the parameter server stops listening (e.g. C is complete)
    closed = time.perf_counter() - start
    assert sorted(p.worker for p in got) == [0, 1, 2]
    assert backend.last_report["unfinished"] == [3, 4, 5, 6, 7, 8]
    due = straggler * backend.time_unit
    give_up = start + 0.5 * due
    while any(healthy.processing().values()) and time.perf_counter() < give_up:
        time.sleep(0.02)
    # the sleepers were woken, not waited for: the stream closed and the threads are free in less
    # than half the time the stragglers would have taken
    assert not any(healthy.processing().values())
    assert closed < 0.5 * due


def test_too_few_threads_warns(healthy, matrices):
    A, B = matrices
    with pytest.warns(RuntimeWarning, match="threads for 45 logical workers"):
        res = uepmm.coded_matmul(A, B, code="repetition", partition="cxr", blocks=9, workers=45, latency=None,
                                 seed=0, backend="dask", client=healthy, execution="pinned")
    assert res.recovered.all() and res.received + len(res.report["unfinished"]) == 45


def test_a_dying_worker_process_costs_its_packets_not_the_deadline(healthy, matrices):
    A, B = matrices
    # Uncoded (C is never complete with a block missing), time_unit 0.25 s.  Even logical
    # workers share one Dask process, odd ones the other.  Worker 4 kills its process at
    # half its 8.0 units (1 s): even workers due by 1.5 units have answered 0.6 s before, the
    # later ones (>= 5.5 units) are lost; the odd ones are due 0.9 s before the deadline.
    times = [1.0, 1.0, 1.5, 1.5, 8.0, 2.0, 5.5, 2.5, 5.75]
    kwargs = dict(code="uncoded", partition="cxr", blocks=9, workers=9, latency=Schedule(times), omega=1.0,
                  seed=0, backend="dask", client=healthy, time_unit=0.25)
    # the same job without the fault, for the time it takes
    start = time.perf_counter()
    intact = uepmm.coded_matmul(A, B, deadline=6.0, **kwargs)
    intact_wall = time.perf_counter() - start
    assert 4 in intact.report["unfinished"] and intact.report["erasures"] == []  # due at 8.0 > 6.0
    kwargs["faults"] = {"kill": [4]}
    start = time.perf_counter()
    res = uepmm.coded_matmul(A, B, deadline=6.0, **kwargs)
    assert time.perf_counter() - start < 2 * intact_wall  # the death did not hold the job past its deadline
    victims = next(ws for ws in res.report["dask_workers"].values() if 4 in ws)
    assert victims == [0, 2, 4, 6, 8]
    lost = [e["worker"] for e in res.report["erasures"] if e["status"] == "worker-lost"]
    # erasures if the death was noticed before the deadline, else simply never answered
    assert sorted(lost + res.report["unfinished"]) == [4, 6, 8], res.report["erasures"]
    assert sorted(e.worker for e in res.timeline) == [0, 1, 2, 3, 5, 7]
    assert all(e.time <= res.report["deadline_seconds"] for e in res.timeline)
    assert res.recovered.sum() == 6 and _exact_blocks_ok(res, A, B)
    healthy.wait_for_workers(2, timeout=30)
    # deadline = inf: the job still ends, once the death is noticed and every live worker answered
    start = time.perf_counter()
    res = uepmm.coded_matmul(A, B, **kwargs)
    # (the live workers are done by 2.5 units and the death comes at 4.0: it is noticed promptly,
    # well before the 8.0 units the dead worker's packet was due)
    assert time.perf_counter() - start < 3 * intact_wall
    lost = sorted(e["worker"] for e in res.report["erasures"] if e["status"] == "worker-lost")
    assert lost == [4, 6, 8] and res.report["unfinished"] == []
    assert res.received == 6 and _exact_blocks_ok(res, A, B)
    healthy.wait_for_workers(2, timeout=30)


# ------------------------------------------------------------- configuration
def test_unreachable_cluster_fails_fast_and_clearly(matrices):
    import dask.config
    from dask.utils import parse_timedelta

    A, B = matrices
    default = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="s")
    assert default >= 10  # so that connect_timeout=1.0 is the one that counts
    start = time.perf_counter()
    with pytest.raises(DaskConnectionError, match="could not reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        uepmm.coded_matmul(A, B, backend="dask", address="tcp://127.0.0.1:9", connect_timeout=1.0)
    # it gave up after connect_timeout, not after Dask's own (much longer) connect timeout
    assert time.perf_counter() - start < 0.5 * default


def test_bad_options_are_refused(healthy, matrices):
    A, B = matrices
    with pytest.raises(ValueError, match="either client"):
        DaskBackend(client=healthy, address="tcp://127.0.0.1:9")
    with pytest.raises(TypeError, match="client must be a dask.distributed.Client"):
        DaskBackend(client="tcp://127.0.0.1:9")
    with pytest.raises(ValueError, match="time_unit must be > 0"):
        DaskBackend(time_unit=0)
    with pytest.raises(ValueError, match="unknown fault 'melt'"):
        DaskBackend(faults={"melt": [0]})
    with pytest.raises(ValueError, match="at most one of the faults"):
        DaskBackend(faults={"nan": [0], "raise": [0]})
    with pytest.raises(ValueError, match="n_workers/threads_per_worker"):
        DaskBackend(client=healthy, n_workers=2)
    with pytest.raises(ValueError, match=r"faults\['nan'\] names workers \[40\]"):
        uepmm.coded_matmul(A, B, backend="dask", client=healthy, faults={"nan": [40]}, workers=15)
    with pytest.raises(ValueError, match="fidelity='full'"):
        uepmm.coded_matmul(A, B, backend="dask", client=healthy, fidelity="fast")
    with pytest.raises(TypeError, match="takes no options"):
        uepmm.coded_matmul(A, B, time_unit=0.1)


def test_embedded_cluster_per_job_and_as_context_manager(matrices):
    A, B = matrices
    res = uepmm.coded_matmul(A, B, code="mds", workers=12, latency=uepmm.Exponential(1.0), backend="dask",
                             time_unit=0.02, seed=0)
    assert res.report["cluster"] == "embedded" and res.report["threads"] >= 12
    assert res.recovered.all() and _rel(res.estimate, A @ B) < 1e-9
    with DaskBackend(time_unit=0.02, n_workers=1, execution="pinned") as backend:
        first = uepmm.coded_matmul(A, B, code="ew", workers=10, latency=None, backend=backend, seed=0)
        client = backend.client
        second = uepmm.coded_matmul(A, B, code="ew", workers=10, latency=None, backend=backend, seed=0)
        assert backend.client is client and len(first.report["dask_workers"]) == 1
        assert first.report["threads"] == 10
        assert _rel(first.estimate, second.estimate) < 1e-12
    assert backend.client is None and client.status in ("closed", "closing")


# ------------------------------------------------------------------------ CLI
def _parse(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cluster_demo.register(sub)
    return parser.parse_args(["cluster-demo", *argv])


def test_dask_cli_options():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="simulated")
    _dask_options.add_dask_arguments(parser)
    args = parser.parse_args(["--backend", "dask", "--address", "tcp://127.0.0.1:8786", "--time-unit", "0.25"])
    assert _dask_options.dask_options_from_args(args) == {"address": "tcp://127.0.0.1:8786", "time_unit": 0.25}
    assert _dask_options.dask_options_from_args(parser.parse_args([])) == {}
    with pytest.raises(ValueError, match="--time-unit only apply with --backend dask"):
        _dask_options.dask_options_from_args(parser.parse_args(["--time-unit", "0.2"]))
    with _dask_options.backend_from_args(parser.parse_args([])) as backend:
        assert backend == "simulated"
    with _dask_options.backend_from_args(args) as backend:
        assert isinstance(backend, DaskBackend) and backend.address == "tcp://127.0.0.1:8786"
        assert backend.time_unit == 0.25 and backend.client is None  # connects on the first job only


def test_cluster_demo_prints_the_loss_table(healthy, capsys):
    address = healthy.scheduler.address
    args = _parse(["--address", address, "--codes", "uncoded,ew", "--trials", "2", "--expectation-trials", "10",
                   "--deadlines", "2,4", "--time-unit", "0.05", "--size-scale", "0.1", "--coded-workers", "15"])
    assert args.func(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["code", "W", "deadline", "dask", "dask_se", "sim_same_seeds", "mismatch",
                              "expected", "expected_se", "z"]
    rows = [line.split() for line in out[2:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("uncoded", "9", "2.0000"), ("uncoded", "9", "4.0000"),
                                                 ("ew", "15", "2.0000"), ("ew", "15", "4.0000")]
    assert all(0.0 <= float(r[3]) <= 1.0 and 0.0 <= float(r[7]) <= 1.0 for r in rows)
    bad = _parse(["--address", "tcp://127.0.0.1:9", "--connect-timeout", "0.5", "--trials", "1"])
    assert bad.func(bad) == 2
    assert "could not reach the Dask scheduler" in capsys.readouterr().err


# ------------------------------------------------------------------ one block product per packet
@pytest.mark.parametrize("settings", [
    dict(code="ew-matdot", partition="cxr", blocks=9, workers=20, gamma=(0.6, 0.4, 0.0)),
    dict(code="ew", partition="rxc", blocks=(3, 3), workers=20, classes="rectangles", encoding="factor",
         gamma=(0.3, 0.3, 0.4), decoder="zero"),
])
def test_one_product_windows_on_dask(healthy, matrices, settings):
    A, B = matrices
    kwargs = dict(latency=None, seed=4, **settings)
    res = uepmm.coded_matmul(A, B, backend="dask", client=healthy, **kwargs)
    sim = uepmm.coded_matmul(A, B, **kwargs)
    assert res.report["packet_work"] == [1.0] * 20 and res.report["erasures"] == []
    assert res.report["decoder"] == sim.report["decoder"]
    # every packet arrives (in whatever order): the same windows decode as in the simulated run
    np.testing.assert_array_equal(res.recovered, sim.recovered)
    assert res.recovered.any()
    scale = np.linalg.norm(sim.estimate)
    assert np.linalg.norm(res.estimate - sim.estimate) <= 1e-8 * scale


# ------------------------------------------------------------------ MatDot and sampling (scheme-owned decoders)
@pytest.mark.parametrize("code,workers,partition,blocks", [
    ("matdot", 20, "cxr", 9), ("sampling", 12, "cxr", 9), ("sampling", 12, "rxc", (3, 3)),
])
def test_matdot_and_sampling_on_dask(healthy, matrices, code, workers, partition, blocks):
    A, B = matrices
    kwargs = dict(code=code, partition=partition, blocks=blocks, workers=workers, latency=None, seed=4)
    res = uepmm.coded_matmul(A, B, backend="dask", client=healthy, **kwargs)
    sim = uepmm.coded_matmul(A, B, **kwargs)
    assert res.report["decoder"] == code and res.report["packet_work"] == [1.0] * workers
    if code == "matdot":  # exact from the first 2M-1 = 17 packets, whichever they are; then the PS stops
        assert res.received == 17 and res.recovered.all() and _rel(res.estimate, A @ B) < 1e-8
        assert 1.0 < res.report["condition_number"] < 1e9
    else:  # every sample arrives; the same draws as the simulated backend give the same estimate
        assert res.received == workers
        np.testing.assert_array_equal(res.recovered, sim.recovered)
        np.testing.assert_allclose(res.estimate, sim.estimate, rtol=1e-12, atol=1e-12 * np.abs(sim.estimate).max())
