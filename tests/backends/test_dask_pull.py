"""Pull execution on Dask (``DaskBackend(execution="pull")``, :mod:`uepmm.backends._dask_pull`).

Most tests use one module-scoped in-process cluster (2 workers × 2 threads, ``processes=False``);
the killed-process test has its own small process cluster.  No test bounds a wall-clock time:
a packet's fate is forced by a fault (``"stall"``: it never answers; ``"kill"``: its process
dies), and what must happen then is checked by count (packets sent, copies launched, tasks
still running), never by how long it took.  The Spark/cubed decisions are tested on given
start and finish times (:meth:`uepmm.codes.speculative.LateRule.due`).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import uepmm  # noqa: E402
from uepmm.backends._dask_pull import pull_order  # noqa: E402
from uepmm.backends._dask_tasks import running_count  # noqa: E402
from uepmm.backends.dask import DaskBackend  # noqa: E402
from uepmm.codes.speculative import CUBED, SPARK, late_backup_schedule  # noqa: E402
from uepmm.latency import Schedule  # noqa: E402

INF = math.inf


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None, silence_logs=logging.CRITICAL,
    )
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def matrices():
    rng = np.random.default_rng(0)
    return rng.standard_normal((40, 36)), rng.standard_normal((36, 30))


def _rel(X, Y):
    return float(np.linalg.norm(X - Y) / np.linalg.norm(Y))


def _run(client, A, B, backend=None, **settings):
    settings = {"latency": None, "deadline": INF, "decoder": "zero", "seed": 0, **settings}
    if backend is None:
        return uepmm.coded_matmul(A, B, backend="dask", client=client, **settings)
    return uepmm.coded_matmul(A, B, backend=backend, **settings)


def _idle(client, job_id):
    """No task of ``job_id`` inside its function on any worker, and none a worker still means to run."""
    counts = client.run(running_count, job_id)  # Client.run passes dask_worker: its task states count too
    return sum(counts.values()) == 0


# -------------------------------------------------------------------- exactness
EXACT = [
    ("uncoded", "cxr", 6, 6), ("uncoded", "rxc", (2, 3), 6), ("mds", "cxr", 6, 8), ("mds", "rxc", (2, 3), 9),
    ("now", "rxc", (2, 3), 12), ("ew", "rxc", (2, 3), 10), ("ew", "cxr", 6, 12),
]


@pytest.mark.parametrize("code,partition,blocks,workers", EXACT)
@pytest.mark.parametrize("adaptive", [False, True])
def test_pull_recovers_C_exactly(client, matrices, code, partition, blocks, workers, adaptive):
    A, B = matrices
    res = _run(client, A, B, code=code, partition=partition, blocks=blocks, workers=workers, adaptive=adaptive)
    report = res.report
    assert report["execution"] == "pull" and report["drained"] and report["start_line"] is False
    assert res.recovered.all() and res.report["erasures"] == [] and report["rejected"] == 0
    # exact to rounding: cond(received rows) * eps (the arrival order decides which rows are solved)
    assert _rel(res.estimate, A @ B) < 1e-13 * max(report["condition_number"], 1.0)
    if not adaptive:  # every row arrived, or was cancelled once it could add nothing
        assert res.received + report["cancelled_useless"] + len(report["unfinished"]) == workers
    assert _idle(client, report["job_id"])


def test_data_on_the_cluster_in_pull_mode(client, matrices):
    da = pytest.importorskip("dask.array")
    A, B = matrices
    x, y = da.from_array(A, chunks=(13, 12)), da.from_array(B, chunks=(12, 10))
    x, y = client.persist([x, y])
    res = uepmm.coded_matmul(x, y, code="mds", partition="rxc", blocks=(2, 3), workers=8, latency=None,
                             deadline=INF, backend="dask", client=client, decoder="zero", adaptive=True, seed=1)
    assert res.report["execution"] == "pull" and res.report["on_cluster"] and res.recovered.all()
    assert _rel(client.compute(res.estimate, sync=True), A @ B) < 1e-13 * max(res.report["condition_number"], 1.0)


# ---------------------------------------------------------------- importance order
def test_rows_go_out_in_importance_order(matrices):
    A, B = matrices
    scale = np.repeat([1.0, 8.0, 2.0, 64.0, 4.0, 16.0], 6)  # column blocks of A, c×r: the sub-product energies
    job = uepmm.plan_job(A * scale, B, code="uncoded", partition="cxr", blocks=6, workers=6, latency=None,
                         reorder=False).job
    assert pull_order(job, 6) == [3, 5, 1, 4, 2, 0]
    ew = uepmm.plan_job(A, B, code="ew", partition="rxc", blocks=(2, 3), workers=10, latency=None, seed=2).job
    windows = ew.encoding.windows[pull_order(ew, 10)]
    assert list(windows) == sorted(windows)  # EW: every window holds class 0; the most important window first


# ------------------------------------------------------------------ adaptive
def test_adaptive_delivers_more_packets_than_workers(client, matrices):
    """Two MDS rows cannot recover four sub-products; the processes that return them pull more."""
    A, B = matrices
    res = _run(client, A, B, code="mds", partition="cxr", blocks=4, workers=2, adaptive=True)
    assert res.recovered.all() and res.received == 4 > 2
    assert max(e.worker for e in res.timeline) >= 2  # packets beyond the job's rows, chosen as it ran
    assert res.report["packets_sent"] >= 4
    assert _rel(res.estimate, A @ B) < 1e-13 * max(res.report["condition_number"], 1.0)
    plain = _run(client, A, B, code="mds", partition="cxr", blocks=4, workers=2, deadline=20.0)
    assert plain.received == 2 and not plain.recovered.any()


def test_stalled_packet_is_copied_cancelled_and_the_next_job_is_clean(client, matrices):
    """Uncoded, task 2 never answers: the adaptive copy rule sends another process a copy; once it
    arrives the stalled attempt is cancelled and stops; nothing of the job runs after it returns."""
    A, B = matrices
    with DaskBackend(client=client, faults={"stall": [2]}) as backend:
        res = _run(client, A, B, backend, code="uncoded", partition="cxr", blocks=6, workers=6, adaptive=True)
        report = backend.last_report
        assert res.recovered.all() and _rel(res.estimate, A @ B) < 1e-13
        assert report["statuses"][2] == "cancelled" and report["drained"]
        assert 2 not in [e.worker for e in res.timeline]  # task 2 came from a copy
        assert _idle(client, report["job_id"])
        backend.faults = {}
        again = _run(client, A, B, backend, code="uncoded", partition="cxr", blocks=6, workers=6)
        assert again.recovered.all() and backend.last_report["statuses"] == {w: "ok" for w in range(6)}


def test_deadline_stops_every_task_of_the_job(client, matrices):
    """Every packet stalls: the job ends at its deadline with nothing, and no task of it is left running."""
    A, B = matrices
    with DaskBackend(client=client, time_unit=0.1, faults={"stall": list(range(6))}) as backend:
        res = _run(client, A, B, backend, code="uncoded", partition="cxr", blocks=6, workers=6, deadline=3.0)
        assert res.received == 0 and not res.recovered.any()
        assert backend.last_report["drained"] and _idle(client, backend.last_report["job_id"])
        assert sorted(backend.last_report["unfinished"]) == list(range(6))


def test_big_products_stop_between_slabs(client):
    """A product of many row slabs, released right after it starts: the job returns drained."""
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((1024, 600)), rng.standard_normal((600, 600))
    with DaskBackend(client=client, time_unit=1e-4) as backend:
        _run(client, A, B, backend, code="uncoded", partition="rxc", blocks=(2, 2), workers=4, deadline=1.0)
        assert backend.last_report["drained"] and _idle(client, backend.last_report["job_id"])


def test_killed_process_packets_go_to_the_other_process(matrices):
    """Packet 0 kills its process: what that process held is sent again and C is still exact."""
    A, B = matrices
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=logging.CRITICAL)
    try:
        with distributed.Client(cluster, set_as_default=False) as c:
            backend = DaskBackend(client=c, faults={"kill": [0]}, poll_interval=0.05)
            res = _run(c, A, B, backend, code="uncoded", partition="cxr", blocks=6, workers=6)
            report = backend.last_report
            assert res.recovered.all() and _rel(res.estimate, A @ B) < 1e-13
            assert report["statuses"][0] in ("lost", "worker-lost") and report["resent"] >= 1
            survivors = {report["placement"][e.worker] for e in res.timeline if e.worker >= 6}
            assert survivors and report["placement"][0] not in survivors
    finally:
        cluster.close()


# --------------------------------------------------------------- late speculation
def test_spark_rule_on_given_times():
    """spark.speculation: quantile 0.75 of the tasks finished, then runtime > 1.5 × median (and > 0.1 s)."""
    running = {6: 0.0, 7: 1.0}
    assert SPARK.due(10.0, 8, [1.0] * 5, running) == []  # 5 of 8 finished: under floor(0.75 × 8) = 6
    durations = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]  # median 1.5: threshold 2.25
    assert SPARK.threshold(8, durations) == 2.25
    assert SPARK.due(3.0, 8, durations, running) == [6]  # runtimes 3.0 and 2.0
    assert SPARK.due(3.3, 8, durations, running) == [6, 7]
    assert SPARK.due(3.25, 8, durations, running) == [6]  # task 7 has run 2.25: not above 2.25 (strictly)
    assert SPARK.threshold(4, [0.01, 0.02, 0.03]) == 0.1  # spark.speculation.minTaskRuntime


def test_cubed_rule_on_given_times():
    """cubed: at least 10 tasks and half of them done, then runtime > 3 × median completed time."""
    assert CUBED.due(100.0, 9, [1.0] * 8, {8: 0.0}) == []  # fewer than 10 tasks: never
    assert CUBED.due(100.0, 12, [1.0] * 5, {11: 0.0}) == []  # 5 of 12 done: under half
    durations = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]  # median 2.0: threshold 6.0
    assert CUBED.due(6.0, 12, durations, {10: 0.0, 11: 0.5}) == []
    assert CUBED.due(6.1, 12, durations, {10: 0.0, 11: 0.5}) == [10]
    assert CUBED.due(6.6, 12, durations, {10: 0.0, 11: 0.5}) == [10, 11]


def test_simulated_schedule_launches_by_the_same_rule():
    """The simulator's launches on a fixed schedule: each at the first 0.1 s check past the threshold."""
    units = np.ones((4, 4))
    units[0] = [1.0, 2.0, 3.0, 10.0]  # tasks 0..2 finish at 1, 2, 3: 3 of 4 (75 %), median 2 → copy after 3.0
    units[1:, :] = 1.0
    finish, launches = late_backup_schedule(units, 1.0, SPARK)
    (t, task, worker), = launches
    assert task == 3 and worker == 0  # the lowest free worker
    assert SPARK.due(t, 4, [1.0, 2.0, 3.0], {3: 0.0}) == [3] and SPARK.due(t - 0.1, 4, [1.0, 2.0, 3.0], {3: 0.0}) == []
    assert math.isclose(t, 3.0, abs_tol=0.1 + 1e-9) and finish[3] == t + 1.0  # the copy's draw: units[1, 0] = 1


@pytest.mark.parametrize("code,blocks", [("spark", 4), ("cubed", 12)])
def test_spark_and_cubed_copy_a_stalled_task_on_another_process(client, matrices, code, blocks):
    """The stalled task is the only one past the threshold: exactly one copy, of it, elsewhere; C exact."""
    A, B = matrices
    with DaskBackend(client=client, faults={"stall": [1]}) as backend:
        res = _run(client, A, B, backend, code=code, partition="cxr", blocks=blocks, workers=blocks + 1)
        report = backend.last_report
    assert res.recovered.all() and _rel(res.estimate, A @ B) < 1e-13
    copies = report["speculative_copies"]
    assert 1 in [c["task"] for c in copies] and all(c["process"] != c["original"] for c in copies)
    if code == "spark":  # when 3 of the 4 tasks are done (the first moment Spark may copy), only task 1 runs
        assert len(copies) == 1
    assert len({c["task"] for c in copies}) == len(copies)  # at most one copy per task
    assert report["drained"] and _idle(client, report["job_id"])


# ------------------------------------------------------------------- refusals
def test_execution_option_and_refusals(client, matrices):
    A, B = matrices
    with pytest.raises(ValueError, match="execution must be one of 'auto', 'pinned', 'pull'"):
        DaskBackend(execution="push")
    with pytest.raises(ValueError, match="adaptive packets run on Dask by pull execution only"):
        _run(client, A, B, DaskBackend(client=client, execution="pinned"), code="mds", partition="cxr", blocks=3,
             workers=4, adaptive=True)
    with pytest.raises(ValueError, match="execution='pull' runs packets .* latency=None"):
        _run(client, A, B, DaskBackend(client=client, execution="pull"), code="mds", partition="cxr", blocks=3,
             workers=4, latency=Schedule((1.0,) * 4), omega=1.0, deadline=5.0)
    with pytest.raises(ValueError, match="adaptive=True on Dask .* pass latency=None"):
        uepmm.JobSpec(code="mds", workers=4, backend="dask", adaptive=True, decoder="zero")
    with pytest.raises(ValueError, match="code 'spark' runs on Dask without model delays only"):
        uepmm.JobSpec(code="spark", workers=12, backend="dask")
    job = uepmm.plan_job(A, B, code="mds", partition="cxr", blocks=3, workers=4, latency=Schedule((1.0,) * 4),
                         deadline=5.0).job
    assert DaskBackend().execution_for(job) == "pinned"


def test_bad_packets_are_erasures_and_adaptive_copies_replace_them(client, matrices):
    A, B = matrices
    faults = {"raise": [0], "nan": [1], "corrupt": [2]}
    with DaskBackend(client=client, faults=faults) as backend:
        plain = _run(client, A, B, backend, code="uncoded", partition="cxr", blocks=6, workers=6)
        statuses = {e["worker"]: e["status"] for e in plain.report["erasures"]}
        assert statuses == {0: "error", 1: "nonfinite", 2: "corrupt"}
        assert plain.recovered.tolist() == [False] * 3 + [True] * 3  # uncoded: packet w is sub-product w
        more = _run(client, A, B, backend, code="uncoded", partition="cxr", blocks=6, workers=6, adaptive=True)
        assert more.recovered.all() and _rel(more.estimate, A @ B) < 1e-13  # copies carry no fault
        assert {e["worker"] for e in more.report["erasures"]} == {0, 1, 2}
