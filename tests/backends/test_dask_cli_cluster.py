"""A cluster started from the ``dask`` command line, as on several machines, with a worker killed mid-job.

The fixture starts ``dask scheduler`` and ``dask worker`` as subprocesses on loopback (port 0,
no dashboard, the address read from a ``--scheduler-file`` in a temporary directory), waits
until both worker processes registered, and kills every subprocess on the way out, also when
the test fails (should the test process itself be killed, the scheduler exits after 300 s idle
and the workers 60 s after losing it).  The job points ``address=`` at the scheduler, exactly as a user would
(docs/distributed.md, "A cluster from the dask command line").

Timing is in the model's terms, with wide gaps: the kill happens when the first packet
arrives (model time 1), the killed process's logical workers were due at 6-8 and the deadline
is 12, so a loaded machine shifts nothing across a boundary.  The one wall-clock bound is
that the job returned before its next straggler was due (model time 60, five deadlines later).
Then ``uepmm simulate --backend dask --address ...`` runs the next job on the repaired cluster.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import uepmm  # noqa: E402
from uepmm import cli  # noqa: E402
from uepmm.decoding import recoverable  # noqa: E402
from uepmm.latency import Schedule  # noqa: E402

PROCESSES, THREADS = 2, 4
TIME_UNIT = 0.3  # seconds per model time unit
DEADLINE = 12.0  # model units: 3.6 s
# logical worker w runs on the (w % 2)-th Dask worker (sorted addresses, round robin over threads):
# the survivor gets the even ones, the victim the odd ones.  Worker 6 is a straggler past the deadline.
TIMES = (1.0, 6.0, 2.0, 7.0, 3.0, 8.0, 60.0, 70.0)
SURVIVOR_ON_TIME, STRAGGLER = [0, 2, 4], 6


def _dask_command() -> list[str]:
    """The ``dask`` entry point of this interpreter's environment (``python -m dask`` if no script)."""
    script = Path(sys.executable).with_name("dask")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dask"]


def _stop(proc: subprocess.Popen) -> None:
    """Terminate a subprocess we started and its children (its own process group), then kill."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # nanny children left behind, if any
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _scheduler_address(scheduler_file: Path, proc: subprocess.Popen, log: Path) -> str:
    """The address the scheduler wrote to ``--scheduler-file`` (waits up to 60 s for it)."""
    give_up = time.monotonic() + 60
    while True:
        try:
            return json.loads(scheduler_file.read_text())["address"]
        except (OSError, ValueError, KeyError):  # not there yet, or half written
            if proc.poll() is not None or time.monotonic() > give_up:
                pytest.fail(f"dask scheduler did not start:\n{log.read_text()}")
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["random-ports", "fixed-ports"])
def cli_cluster(request, tmp_path):
    """``(scheduler address, client, mode)`` of a ``dask scheduler`` + ``dask worker`` cluster of two processes.

    ``random-ports``: ``dask worker ADDRESS --nworkers 2``; ``fixed-ports``: two ``dask worker
    ADDRESS --worker-port P`` commands, so that the nanny restarts the killed process under the
    address the job's tasks are pinned to (they must not come back with a packet).
    """
    if not Path(sys.executable).with_name("dask").exists():
        pytest.importorskip("dask.__main__")  # `python -m dask` instead of the script
    env = dict(os.environ)
    src = str(Path(uepmm.__file__).resolve().parents[1])  # the workers import this uepmm
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    scheduler_file = tmp_path / "scheduler.json"
    dask = _dask_command()
    procs: list[subprocess.Popen] = []
    logs: list = []
    client = None
    try:
        logs.append(open(tmp_path / "scheduler.log", "w"))
        procs.append(subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file), "--idle-timeout", "300"],
            env=env, cwd=tmp_path, start_new_session=True, stdout=logs[-1], stderr=subprocess.STDOUT,
        ))
        address = _scheduler_address(scheduler_file, procs[0], tmp_path / "scheduler.log")
        if request.param == "random-ports":  # one command, two worker processes (each behind a nanny)
            commands = [["--nworkers", str(PROCESSES)]]
        else:  # one command per process, fixed ports: the nanny restarts a killed worker under the same address
            commands = [["--worker-port", str(_free_port())] for _ in range(PROCESSES)]
        for i, extra in enumerate(commands):
            logs.append(open(tmp_path / f"worker{i}.log", "w"))
            procs.append(subprocess.Popen(
                [*dask, "worker", address, "--nthreads", str(THREADS), "--host", "127.0.0.1", "--no-dashboard",
                 "--death-timeout", "60", *extra],
                env=env, cwd=tmp_path, start_new_session=True, stdout=logs[-1], stderr=subprocess.STDOUT,
            ))
        client = distributed.Client(address, timeout=60, set_as_default=False)
        try:
            client.wait_for_workers(PROCESSES, timeout=120)
        except TimeoutError:
            text = "\n".join(p.read_text() for p in sorted(tmp_path.glob("worker*.log")))
            pytest.fail(f"dask workers did not register:\n{text}")
        yield address, client, request.param
    finally:
        if client is not None:
            client.close()
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()


def test_killed_dask_worker_process_costs_only_its_own_packets(cli_cluster, capsys):
    address, client, mode = cli_cluster
    pids = client.run(os.getpid)  # {worker address: OS pid of that `dask worker` process}
    survivor, victim = sorted(pids)
    rng = np.random.default_rng(7)
    A, B = rng.standard_normal((40, 30)), rng.standard_normal((30, 36))
    killed: list[float] = []

    def kill_on_first_packet(progress: uepmm.Progress) -> None:
        if not killed:  # the job has started: its first packet is in
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(progress.entry.time)

    res = uepmm.coded_matmul(
        A, B, code="ew", partition="rxc", blocks=(2, 2), workers=len(TIMES), deadline=DEADLINE,
        latency=Schedule(TIMES), omega=1.0, seed=1, on_packet=kill_on_first_packet,
        backend="dask", address=address, time_unit=TIME_UNIT,
    )
    report = res.report
    assert report["cluster"] == "address"
    # the placement the timing relies on: even logical workers on the survivor, odd ones on the victim
    assert report["dask_workers"] == {survivor: [0, 2, 4, 6], victim: [1, 3, 5, 7]}
    assert killed and killed[0] < TIMES[1] * TIME_UNIT  # killed before any victim packet was due

    # the killed process's logical workers, and only they, are erasures
    assert sorted(e["worker"] for e in report["erasures"]) == [1, 3, 5, 7]
    assert {e["status"] for e in report["erasures"]} == {"worker-lost"}  # gone for two liveness checks
    # every other logical worker due before the deadline delivered; the straggler is unfinished
    assert sorted(e.worker for e in res.timeline) == SURVIVOR_ON_TIME
    assert report["unfinished"] == [STRAGGLER]
    assert report["late"] == 0 and report["duplicates"] == 0 and report["rejected"] == 0
    deadline_s = DEADLINE * TIME_UNIT
    assert report["deadline_seconds"] == pytest.approx(deadline_s)
    assert all(e.time <= deadline_s for e in res.timeline)
    # it waited for the deadline (the straggler was pending), not for the straggler
    assert deadline_s <= report["elapsed_seconds"] < TIMES[STRAGGLER] * TIME_UNIT / 2

    # every packet that arrived was decoded: the recovered set is the rank decision on their rows
    rows = res.encoding.generator[[e.worker for e in res.timeline]]
    np.testing.assert_array_equal(res.recovered, recoverable(rows))
    assert res.recovered.tolist() == [True, True, True, False]  # seed 1: three of four from the survivor
    on_time = sorted(w for w, t in enumerate(TIMES) if t <= DEADLINE)
    assert recoverable(res.encoding.generator[on_time]).all()  # without the kill: everything
    # recovered blocks exact against A @ B, the others zero (zero-fill)
    layout, order = res.partition, res.order
    exact = layout.block_products(layout.a_blocks(A, order.a_perm), layout.b_blocks(B, order.b_perm))
    np.testing.assert_allclose(order.assemble(layout, list(exact)), A @ B, rtol=0, atol=1e-10)
    expected = order.assemble(layout, [exact[k] if res.recovered[k] else None for k in range(len(exact))])
    np.testing.assert_allclose(res.estimate, expected, rtol=0, atol=1e-10)
    client.wait_for_workers(PROCESSES, timeout=120)  # the nanny restarted the killed process
    back = client.run(os.getpid)
    assert pids[victim] not in back.values() and back.get(survivor) == pids[survivor]
    if mode == "fixed-ports":  # under the address the job's tasks were pinned to; they delivered nothing
        assert victim in back

    # the next job on the same cluster, from the command line as documented: everything, exactly
    assert cli.main([
        "simulate", "--backend", "dask", "--address", address, "--time-unit", "0.01", "--code", "mds",
        "--partition", "cxr", "--blocks", "4", "--workers", "8", "--deadline", "1000", "--trials", "2",
        "--matrices", "gaussian", "--rows", "40", "--inner", "32", "--cols", "36", "--format", "csv", "--no-progress",
    ]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(table) == 1 and float(table[0]["deadline"]) == 1000 and table[0]["trials"] == "2"
    assert float(table[0]["mean_recovered"]) == 4 and float(table[0]["mean_loss"]) < 1e-20
