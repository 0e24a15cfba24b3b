"""The start line of the Dask backend is there for model delays only (docs/distributed.md).

With ``latency=None`` a job has no start line: each Dask worker's blocks and tasks go as soon as
it takes them, so a stopped (SIGSTOP) worker process holds up its own logical workers only.
With a latency model the start line still waits for every task, the stopped one included.
The gaps are seconds wide (a process stopped for 3 s, tasks of microseconds), not tight margins.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import uepmm  # noqa: E402
from uepmm.latency import Schedule  # noqa: E402

STOP_S = 3.0  # how long the slow Dask worker process is stopped


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=10, processes=True, host="127.0.0.1", dashboard_address=None,
        scheduler_kwargs={"dashboard": False}, silence_logs=logging.CRITICAL,
    )
    with distributed.Client(cluster, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=30)
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def matrices():
    rng = np.random.default_rng(3)
    return rng.standard_normal((30, 40)), rng.standard_normal((40, 24))


def _stopped(client, seconds: float):
    """Stop the Dask worker process with the higher address for ``seconds`` (a thread resumes it).

    Logical workers are placed round robin over the threads, interleaving the two processes,
    so the stopped one holds the odd logical workers.  Returns (address, resume thread).
    """
    pids = client.run(os.getpid)
    fast, slow = sorted(pids)
    os.kill(pids[slow], signal.SIGSTOP)
    resume = threading.Timer(seconds, os.kill, (pids[slow], signal.SIGCONT))
    resume.start()
    return fast, slow, resume


def _run(A, B, client, latency, **options):
    """The job, and the wall seconds from the call to each packet's ``on_packet``."""
    seen: dict[int, float] = {}
    t0 = time.perf_counter()
    res = uepmm.coded_matmul(A, B, code="uncoded", partition="rxc", blocks=(3, 3), workers=9, latency=latency,
                             omega=1.0, deadline=math.inf, decoder="zero", seed=0, backend="dask", client=client,
                             time_unit=0.01, on_packet=lambda p: seen.setdefault(p.entry.worker,
                                                                              time.perf_counter() - t0),
                             **options)
    return res, seen


def test_no_start_line_without_model_delays_and_one_with_them(client, matrices):
    A, B = matrices
    res, _ = _run(A, B, client, None)
    assert res.report["start_line"] is False and res.report["startup_seconds"] == 0.0
    assert res.recovered.all() and np.abs(res.estimate - A @ B).max() < 1e-12
    # every A block (10 x 40) and B block (40 x 8) once to each Dask worker (both read all of them)
    assert res.report["scatter_bytes"] == 2 * (3 * 10 * 40 + 3 * 40 * 8) * 8
    res, _ = _run(A, B, client, Schedule([1.0] * 9))
    assert res.report["start_line"] is True and res.report["start_timed_out"] is False
    assert res.recovered.all() and np.abs(res.estimate - A @ B).max() < 1e-12


def test_a_stopped_process_holds_up_only_its_own_packets_without_a_latency_model(client, matrices):
    A, B = matrices
    _run(A, B, client, None, execution="pinned")  # warm; pinned: the logical workers stay where they were put
    fast, slow, resume = _stopped(client, STOP_S)
    try:
        res, seen = _run(A, B, client, None, execution="pinned")
    finally:
        resume.join()
    on_slow = set(res.report["dask_workers"][slow])
    assert on_slow == {1, 3, 5, 7} and set(res.report["dask_workers"][fast]) == {0, 2, 4, 6, 8}
    assert sorted(seen) == list(range(9)) and np.abs(res.estimate - A @ B).max() < 1e-12
    assert max(seen[w] for w in range(9) if w not in on_slow) < STOP_S - 1.5  # did not wait for the stopped process
    assert min(seen[w] for w in on_slow) > STOP_S - 1.0  # its own packets did
    assert max(res.report["arrival_seconds"][w] for w in range(9) if w not in on_slow) < STOP_S - 1.5


def test_with_a_latency_model_the_start_line_waits_for_the_stopped_process(client, matrices):
    A, B = matrices
    _run(A, B, client, Schedule([1.0] * 9))  # warm
    _, _, resume = _stopped(client, STOP_S)
    try:
        res, seen = _run(A, B, client, Schedule([1.0] * 9))
    finally:
        resume.join()
    assert res.report["start_line"] is True and sorted(seen) == list(range(9))
    assert min(seen.values()) > STOP_S - 1.0  # nobody started before the stopped process was there
    assert max(res.report["arrival_seconds"].values()) < STOP_S - 1.5  # the model clock started at the line
    assert np.abs(res.estimate - A @ B).max() < 1e-12


def test_dask_array_inputs_without_a_start_line_still_check_every_packet(client, matrices):
    """No start line: the probe's references are fetched as each packet's check needs them."""
    A, B = matrices
    x, y = da.from_array(A, chunks=(10, 40)), da.from_array(B, chunks=(40, 8))
    faults = {"corrupt": [1, 4], "nan": [6]}  # uncoded: the job waits for every packet, so all are seen
    res = uepmm.coded_matmul(x, y, code="uncoded", partition="rxc", blocks=(3, 3), workers=9, latency=None,
                             deadline=math.inf, decoder="zero", seed=0, backend="dask", client=client, faults=faults)
    status = {e["worker"]: e["status"] for e in res.report["erasures"]}
    assert res.report["start_line"] is False and res.report["startup_seconds"] == 0.0
    assert status == {1: "corrupt", 4: "corrupt", 6: "nonfinite"} and res.report["rejected"] == 3
    assert res.report["verify_rtol"] == pytest.approx(32 * np.finfo(np.float64).eps * 40)
    assert res.received == 6 and res.recovered.sum() == 6
    C, C_hat = A @ B, client.compute(res.estimate, sync=True)
    kept = C_hat != 0  # the 6 checked blocks (10 x 8 each), exact; the lies never decoded
    assert kept.sum() == 6 * 10 * 8 and np.abs(C_hat[kept] - C[kept]).max() < 1e-12
