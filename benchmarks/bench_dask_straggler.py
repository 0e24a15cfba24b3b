"""On Dask with one worker process slowed, how soon is the loss ≤ ε, against dask.array and the oracle? (issue 18)

One command, one configuration per call (matrices, inputs, slow-down factor, n), every scheme and
every target ε of that configuration, one CSV:

    PYTHONPATH=src python benchmarks/bench_dask_straggler.py --matrices sec6 --inputs numpy \\
        --factor 10 --target 1e-1,1e-2,1e-4,exact --n 2400 --repeats 5 --csv out.csv

Columns (one row per scheme × target; rows in the order ``dask.array``, the uepmm schemes in
``--schemes`` order, ``oracle``; targets loosest first, ``exact`` last): ``scheme, inputs,
matrices, n, slowed, target, seconds_median, seconds_min, seconds_max, ratio_to_dask_array,
ratio_to_oracle``.  ``slowed`` is the slow-down factor of the one slowed process (1: no one
slowed); seconds are rounded to 0.1 ms, ratios to 3 decimals; ``inf``: never reached.

**Cluster.**  A ``LocalCluster`` of ``--processes`` worker processes (``--threads`` threads each,
BLAS single-threaded), real compute (``latency=None``: no model delays), ``n × n`` matrices in
r×c 3×3 blocks (each block product ``n/3 × n`` by ``n × n/3``), ``--workers`` logical workers
(the scheme's task rule may use fewer, :data:`uepmm.SCHEMES`).  ``--factor F > 1``: a thread of
this script sends the worker process with the highest address ``SIGCONT``, lets it run
``--run-ms``, sends ``SIGSTOP`` and waits ``(F - 1) × --run-ms``, over and over, for the whole
benchmark: every thread of that process gets ``1/F`` of the wall clock.

**Matrices.**  ``sec6``: the paper's Sec. VI blocks scaled to ``n × n``
(:func:`uepmm.experiments.synthetic.sec6_matrices`, r×c: row blocks of ``A`` and column blocks of
``B`` with entry variances 10, 1, 0.1), so the energy is concentrated in a few block products;
``gaussian``: i.i.d. N(0, 1), every block product equally heavy.

**Rows.**

* ``dask.array``: ``x @ y`` with chunks of the same blocks (``da.from_array`` from numpy, or the
  persisted inputs); it has an estimate only when the whole product is done, so its time to every
  target is its total time.
* uepmm schemes: ``coded_matmul(A, B, scheme=..., backend=DaskBackend(client=..., execution=...))``
  with ``latency=None`` and ``deadline=inf``.  The time to ε is the wall clock from the call to the
  packet after which the estimate's normalized loss ``||C - C_hat||² / ||C||²`` is ≤ ε
  (``on_packet``); ``exact``: the packet after which every block is recovered.  For a zero-fill
  decoder the loss is the energy of the blocks not yet recovered, priced from the exact blocks
  computed before the clock starts; for another decoder the estimate is formed and compared
  with ``C``, and the seconds the benchmark spends pricing are taken off the clock (approximate:
  the pricing shares the CPU with the workers, and a packet that arrives during it is stamped as
  if the pricing had not happened).  A scheme the
  backend refuses (a simulator-only code, adaptive packets where the backend has none, a code
  that refuses ``dask.array`` inputs) is skipped with a note on stderr.
* ``oracle``: not run, computed.  The time a perfectly balanced, importance-ordered computation
  on the healthy processes reaches ε::

      T_oracle(ε) = k(ε) / R

  ``k(ε)``: the fewest block products, heaviest first (energies ``||C_ij||²`` of this job's
  3×3 blocks), after which the zero-fill loss is ≤ ε (``exact``: all 9); ``R``: the healthy
  processes' aggregate block products per second, measured once per call while the slow-down
  runs: ``--threads`` block products of the job's block size at once on every healthy process,
  operands already there, ``R`` = products / wall seconds of the batch, median of 3 batches
  (after one warm-up batch).  With ``--factor 1`` every process is healthy.

**Inputs.**  ``numpy``: ``A`` and ``B`` in this process (uepmm scatters its blocks, dask.array
embeds them in its graph and its result is gathered).  ``dask``: ``A`` (row chunks) and ``B``
(column chunks) persisted on the cluster before the slow-down starts; uepmm reads its blocks from
those chunks and its packets stay there, dask.array's result is persisted there.

**Execution.**  ``--execution pull|pinned|auto`` is passed as ``DaskBackend(execution=...)``
(pull-based execution, issue 18 item 2); omitted, it is ``pull`` where the installed backend
takes ``execution=`` and the backend's own (pinned round-robin) placement otherwise, said on
stderr.  ``pinned-legacy`` passes nothing.

Between runs the script waits until no task runs anywhere on the cluster (an abandoned copy on
the slowed process would otherwise steal the next run's CPU); the order of the rows rotates
between repeats.  ``--quick``: n = 600, 1 repeat, uncoded, mds, now (a smoke test, not a figure).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # inherited by the worker processes
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from contextlib import nullcontext  # noqa: E402

import numpy as np  # noqa: E402

#: The CSV's columns, in order.
COLUMNS = ("scheme", "inputs", "matrices", "n", "slowed", "target", "seconds_median", "seconds_min",
           "seconds_max", "ratio_to_dask_array", "ratio_to_oracle")
#: uepmm schemes run by default (then every adaptive row of the registry).
BASE_SCHEMES = ("uncoded", "speculative", "spark", "cubed", "mds", "now", "ew", "ew-rect", "now-singletons")
#: ``--quick``: a smoke test.
QUICK = {"n": 600, "repeats": 1, "schemes": "uncoded,mds,now"}
#: The grid: r×c, 3 × 3 blocks.
GRID = (3, 3)
EXECUTIONS = ("pull", "pinned", "auto", "pinned-legacy")


def default_schemes() -> list[str]:
    """:data:`BASE_SCHEMES`, then the registry's adaptive rows (registry order)."""
    from uepmm import SCHEMES

    return [*BASE_SCHEMES, *(name for name, s in SCHEMES.items() if s.adaptive)]


# ---------------------------------------------------------------------------------- inputs
def parse_targets(text: str) -> list[tuple[str, float]]:
    """``"1e-1,1e-2,exact"`` -> ``[("1e-1", 0.1), ("1e-2", 0.01), ("exact", 0.0)]``: loosest first, unique.

    ``exact`` is ε = 0 (every block recovered); a number must satisfy 0 < ε < 1.
    """
    targets: dict[str, float] = {}
    for token in str(text).split(","):
        token = token.strip().lower()
        if token == "exact":
            targets["exact"] = 0.0
            continue
        try:
            eps = float(token)
        except ValueError:
            raise ValueError(f"--target: {token!r} is not a number or 'exact'; give e.g. 1e-1,1e-2,exact") from None
        if not 0.0 < eps < 1.0:
            raise ValueError(f"--target: {token!r} must lie strictly between 0 and 1 (a normalized loss; "
                             f"the zero estimate has loss 1), or be 'exact'")
        targets[_label(eps)] = eps
    if not targets:
        raise ValueError("--target: give at least one of e.g. 1e-1,1e-2,1e-4,exact")
    return sorted(targets.items(), key=lambda item: -item[1])


def _label(eps: float) -> str:
    """``0.01`` -> ``"1e-2"``; a value that is not ``d·10^k`` keeps ``repr``."""
    short = f"{eps:.0e}"
    if float(short) != eps:
        return repr(eps)
    mantissa, exponent = short.split("e")
    return f"{mantissa}e{int(exponent)}"


def make_matrices(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)``, both ``n × n``: ``sec6`` (paper Sec. VI r×c blocks, scaled) or ``gaussian``."""
    from uepmm.experiments.synthetic import gaussian_matrices, sec6_matrices

    if not isinstance(n, int) or n < 3 or n % 3:
        raise ValueError(f"--n must be a multiple of 3 (3 × 3 blocks of n/3 lines), got {n!r}")
    rng = np.random.default_rng(seed)
    if kind == "sec6":
        A, B = sec6_matrices("rxc", rng, n / 900)  # 3 row blocks of n/3 lines, inner dimension n
        assert A.shape == (n, n) and B.shape == (n, n), (A.shape, B.shape)
        return A, B
    if kind == "gaussian":
        return gaussian_matrices(n, n, n, rng)
    raise ValueError(f"--matrices must be 'sec6' or 'gaussian', got {kind!r}")


# ---------------------------------------------------------------------------------- the oracle
def block_energies(C: np.ndarray, grid: tuple[int, int] = GRID) -> np.ndarray:
    """``||C_ij||²`` of the r×c blocks of ``C`` (rows and columns cut into ``grid`` near-equal parts)."""
    rows = np.array_split(np.arange(C.shape[0]), grid[0])
    cols = np.array_split(np.arange(C.shape[1]), grid[1])
    return np.array([float(np.sum(C[np.ix_(r, c)] ** 2)) for r in rows for c in cols])


def blocks_needed(energies: np.ndarray, eps: float) -> int:
    """``k(ε)``: the fewest block products, heaviest first, after which the zero-fill loss is ≤ ``eps``.

    The loss after the ``k`` heaviest is ``(sum of the other energies) / (sum of all)``;
    ``eps = 0`` (``exact``) needs every block.
    """
    e = np.sort(np.asarray(energies, dtype=float))[::-1]
    if eps <= 0.0 or e.sum() <= 0.0:
        return int(e.size)
    remaining = e.sum() - np.cumsum(e)  # after the k = 1..K heaviest
    losses = np.concatenate([[1.0], np.maximum(remaining, 0.0) / e.sum()])
    return int(np.argmax(losses <= eps))  # losses[K] = 0 <= eps: always found


def oracle_seconds(energies: np.ndarray, eps: float, rate: float) -> float:
    """``T_oracle(ε) = k(ε) / R`` (module docstring): ``rate`` R in block products per second."""
    if not rate > 0:
        raise ValueError(f"rate must be a positive number of block products per second, got {rate!r}")
    return blocks_needed(energies, eps) / rate


def _block_product(a: np.ndarray, b: np.ndarray) -> float:
    return float((a @ b)[0, 0])  # the whole product is computed; one number comes back


def healthy_rate(client, addresses: list[str], threads: int, rows: int, inner: int, batches: int = 3) -> float:
    """R: aggregate block products per second of the processes at ``addresses`` (module docstring)."""
    rng = np.random.default_rng(12345)
    a, b = rng.standard_normal((rows, inner)), rng.standard_normal((inner, rows))
    operands = {addr: client.scatter([a, b], workers=[addr], broadcast=False) for addr in addresses}
    rates = []
    for batch in range(batches + 1):  # batch 0 warms up
        t0 = time.perf_counter()
        futures = [client.submit(_block_product, fa, fb, workers=[addr], allow_other_workers=False, pure=False)
                   for addr, (fa, fb) in operands.items() for _ in range(threads)]
        client.gather(futures)
        if batch:
            rates.append(len(futures) / (time.perf_counter() - t0))
    del operands
    return statistics.median(rates)


# ---------------------------------------------------------------------------------- the cluster
class Throttle:
    """Slow one process ``factor``× by a SIGCONT/SIGSTOP duty cycle (runs ``run_s`` of every ``factor × run_s``)."""

    def __init__(self, pid: int, factor: float, run_s: float):
        self.pid, self.run_s, self.stop_s = pid, run_s, (factor - 1.0) * run_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="throttle", daemon=True)

    def _loop(self) -> None:
        while not self._done.is_set():
            os.kill(self.pid, signal.SIGCONT)
            time.sleep(self.run_s)
            os.kill(self.pid, signal.SIGSTOP)
            self._done.wait(self.stop_s)
        os.kill(self.pid, signal.SIGCONT)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        os.kill(self.pid, signal.SIGCONT)


def _executing(dask_worker) -> int:
    return len(getattr(dask_worker.state, "executing", ()))


def settle(client, timeout: float = 300.0) -> None:
    """Wait until no task is queued or running anywhere on the cluster."""
    give_up = time.perf_counter() + timeout
    while time.perf_counter() < give_up:
        busy = sum(client.run(_executing).values()) + sum(len(v) for v in client.processing().values())
        if busy == 0:
            return
        time.sleep(0.2)


def execution_options(execution: str | None) -> tuple[dict[str, str], str]:
    """``(DaskBackend keywords, note)`` for ``--execution``; ``SystemExit`` when the backend lacks ``execution=``."""
    from uepmm.backends.dask import DaskBackend

    takes = "execution" in inspect.signature(DaskBackend).parameters
    if execution == "pinned-legacy":
        return {}, "execution: not passed (--execution pinned-legacy: the backend's default)"
    if not takes:
        if execution is not None:
            raise SystemExit(f"--execution {execution}: this uepmm's DaskBackend takes no execution= (pull-based "
                             f"execution is not installed); omit --execution or pass --execution pinned-legacy")
        return {}, "execution: pinned (this DaskBackend takes no execution=)"
    execution = execution or "pull"
    return {"execution": execution}, f"execution: {execution}"


def make_spec(name: str, workers: int, backend):
    """The scheme's job on ``backend``; ``ValueError`` (the reason) where the backend cannot run it."""
    import uepmm

    scheme = uepmm.get_scheme(name)
    refusal = scheme.code_object.simulator_only
    if refusal:
        raise ValueError(refusal)
    return scheme.spec(partition="rxc", blocks=GRID, workers=workers, latency=None, deadline=math.inf,
                       backend=backend)


def persist(client, A, B, chunk: int):
    """``A`` in row chunks and ``B`` in column chunks, as ``dask.array`` s persisted on the cluster."""
    import dask.array as da
    from distributed import futures_of, wait

    x = client.persist(da.from_array(A, chunks=(chunk, A.shape[1])))
    y = client.persist(da.from_array(B, chunks=(B.shape[0], chunk)))
    with client.as_current():
        wait(futures_of(x) + futures_of(y))
    return x, y


def chunks_on(client, arrays, address: str) -> str:
    """Which chunks of the persisted ``(A, B)`` sit on ``address`` (it serves them to every task that
    reads them: with one process slowed, this decides much of dask.array's own time)."""
    from distributed import futures_of

    held = []
    for label, x, axis in (("A", arrays[0], 0), ("B", arrays[1], 1)):  # A in row chunks, B in column chunks
        where = client.who_has(futures_of(x))  # keys (name, row chunk, column chunk)
        mine = sorted(int(key[1 + axis]) for key, places in where.items() if address in places)
        held.append(f"{label} chunks {mine} of {len(where)}")
    return ", ".join(held)


# ---------------------------------------------------------------------------------- one run
def run_scheme(A, B, spec, targets, seed: int, on_cluster=None) -> dict[str, float]:
    """Seconds from the call to the packet that brings the loss to ≤ each target (``inf``: never)."""
    import uepmm
    from uepmm.api import plan_job
    from uepmm.decoders import decoder_for_code

    C = A @ B
    C_energy = float(np.sum(C**2))
    additive = decoder_for_code(spec.code_object, spec.decoder_object).selects_exact_blocks
    if on_cluster is not None and not additive:
        raise ValueError(f"decoder {spec.decoder_object.name!r}: pricing its estimate would pull it from the "
                         f"cluster into this process on every packet")
    if additive:  # zero-fill r×c: the loss is the energy of the blocks not recovered (plan order)
        plan = plan_job(A, B, spec, seed=seed)
        layout = plan.job.partition
        energies = np.array([np.sum(P**2) for P in layout.block_products(plan.job.a_blocks, plan.job.b_blocks)])
    reached: dict[str, float] = {}
    priced = [0.0]  # seconds spent pricing the loss, taken off the clock

    def on_packet(progress):
        entered = time.perf_counter()
        now = entered - t_start - priced[0]
        pending = [(label, eps) for label, eps in targets if label not in reached]
        if not pending:
            return
        done = bool(progress.recovered.all())
        if done:
            loss = 0.0
        elif additive:
            loss = float(energies[~progress.recovered].sum()) / C_energy
        elif any(eps > 0 for _, eps in pending):
            loss = float(np.sum((C - progress.estimate()) ** 2)) / C_energy
        else:
            loss = math.inf
        for label, eps in pending:
            if done or (eps > 0 and loss <= eps):
                reached[label] = now
        priced[0] += time.perf_counter() - entered

    t_start = time.perf_counter()
    uepmm.coded_matmul(*(on_cluster or (A, B)), spec, seed=seed, on_packet=on_packet)
    return {label: reached.get(label, math.inf) for label, _ in targets}


def run_dask_array(client, A, B, chunk: int, targets, on_cluster=None) -> dict[str, float]:
    """``A @ B`` by ``dask.array``: from numpy (``da.from_array``, the result gathered here), or from
    ``on_cluster = (x, y)`` persisted there (the result persisted there); every target at its end."""
    import dask.array as da
    from distributed import futures_of, wait

    t_start = time.perf_counter()
    if on_cluster is None:
        x = da.from_array(A, chunks=(chunk, A.shape[1]))
        y = da.from_array(B, chunks=(B.shape[0], chunk))
        client.compute(x @ y).result()
    else:
        z = client.persist(on_cluster[0] @ on_cluster[1])
        with client.as_current():
            wait(futures_of(z))
        del z
    total = time.perf_counter() - t_start
    return {label: total for label, _ in targets}


# ---------------------------------------------------------------------------------- the table
def summarize(samples: dict[str, list[dict[str, float]]], oracle: dict[str, float], targets, config: dict) -> list:
    """CSV rows: ``samples`` (scheme -> per-repeat seconds per target, ``dask.array`` among them), then the oracle."""
    base = {label: statistics.median(s[label] for s in samples["dask.array"]) for label, _ in targets}
    rows = []

    def row(scheme, label, values):
        median = statistics.median(values)
        return {"scheme": scheme, **config, "target": label, "seconds_median": _round(median, 4),
                "seconds_min": _round(min(values), 4), "seconds_max": _round(max(values), 4),
                "ratio_to_dask_array": _round(median / base[label], 3),
                "ratio_to_oracle": _round(median / oracle[label], 3)}

    for scheme, runs in samples.items():
        rows.extend(row(scheme, label, [s[label] for s in runs]) for label, _ in targets)
    rows.extend(row("oracle", label, [oracle[label]]) for label, _ in targets)
    return rows


def _round(x: float, digits: int) -> float:
    return x if not math.isfinite(x) else round(x, digits)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--matrices", choices=("sec6", "gaussian"), default="sec6")
    parser.add_argument("--inputs", choices=("numpy", "dask"), default="numpy",
                        help="numpy: A, B in this process; dask: persisted on the cluster before the clock")
    parser.add_argument("--factor", type=float, default=10.0, help="slow-down of one process (default 10; 1: none)")
    parser.add_argument("--target", default="1e-2", help="comma-separated losses and/or 'exact' (default 1e-2)")
    parser.add_argument("--n", type=int, default=None, help="A and B are n × n, n a multiple of 3 (default 2400)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per row (default 3)")
    parser.add_argument("--csv", default=None, help="write the rows here")
    parser.add_argument("--schemes", default=None, help="comma-separated uepmm schemes (default: "
                        f"{', '.join(BASE_SCHEMES)} and every registered adaptive row)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=5, help="threads per worker process (default 5)")
    parser.add_argument("--workers", type=int, default=12, help="logical workers W given to each scheme (default 12)")
    parser.add_argument("--execution", choices=EXECUTIONS, default=None,
                        help="DaskBackend(execution=...); default pull where the backend has it (module docstring)")
    parser.add_argument("--run-ms", type=float, default=10.0, help="running slice of the duty cycle (default 10 ms)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help=f"smoke test: {QUICK} unless given")
    args = parser.parse_args(argv)

    preset = QUICK if args.quick else {"n": 2400, "repeats": 3, "schemes": None}
    n = args.n if args.n is not None else preset["n"]
    repeats = args.repeats if args.repeats is not None else preset["repeats"]
    try:
        targets = parse_targets(args.target)
        A, B = make_matrices(args.matrices, n, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    if repeats < 1 or args.processes < 1 or args.threads < 1 or args.workers < 1:
        parser.error("--repeats, --processes, --threads and --workers must be positive")
    if args.factor < 1:
        parser.error(f"--factor must be >= 1 (1: no one slowed), got {args.factor}")
    from uepmm import SCHEMES

    names = (args.schemes or preset["schemes"] or ",".join(default_schemes())).split(",")
    names = [s.strip() for s in names if s.strip()]
    unknown = [s for s in names if s not in SCHEMES]
    if unknown or not names:
        parser.error(f"--schemes: unknown {unknown}; valid values are {', '.join(SCHEMES)}")

    import warnings

    from distributed import Client, LocalCluster

    from uepmm.backends.dask import DaskBackend

    warnings.filterwarnings("ignore", message="Sending large graph")  # dask.array embeds A and B in its graph
    note = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    execution, execution_note = execution_options(args.execution)  # before the cluster starts
    note(execution_note)
    cluster = LocalCluster(n_workers=args.processes, threads_per_worker=args.threads, processes=True,
                           host="127.0.0.1", dashboard_address=None, scheduler_kwargs={"dashboard": False},
                           silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    try:
        client.wait_for_workers(args.processes, timeout=120)
        backend = DaskBackend(client=client, **execution)
        pids = client.run(os.getpid)
        slow = sorted(pids)[-1] if args.factor > 1 else None
        healthy = [addr for addr in sorted(pids) if addr != slow]
        chunk = n // GRID[0]
        small = np.random.default_rng(1).standard_normal((90, 90))  # warm up (imports) before the clock
        small_on, on_cluster = None, None
        if args.inputs == "dask":  # chunks on the cluster before the clock (and before the slow-down)
            small_on = persist(client, small, small, 30)
            on_cluster = persist(client, A, B, chunk)
            if slow:
                note(f"the slowed process holds {chunks_on(client, on_cluster, slow)}")
        specs = {}
        for name in names:
            try:
                spec = make_spec(name, args.workers, backend)
                run_scheme(small, small, spec, targets, args.seed, small_on)
            except ValueError as exc:
                note(f"skipped {name}: {exc}")
                continue
            specs[name] = spec
        run_dask_array(client, small, small, 30, targets, small_on)
        runners = {"dask.array": lambda: run_dask_array(client, A, B, chunk, targets, on_cluster)}
        runners.update({name: (lambda s=spec: run_scheme(A, B, s, targets, args.seed, on_cluster))
                        for name, spec in specs.items()})
        order = list(runners)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in order}
        throttle = Throttle(pids[slow], args.factor, args.run_ms / 1000.0) if slow else nullcontext()
        with throttle:
            settle(client)
            rate = healthy_rate(client, healthy, args.threads, chunk, n)
            note(f"oracle: R = {rate:.2f} block products/s on {len(healthy)} healthy process(es) "
                 f"({args.threads} at once on each, {chunk}x{n} by {n}x{chunk})")
            for r in range(repeats):
                for name in order[r % len(order):] + order[: r % len(order)]:
                    settle(client)
                    samples[name].append(runners[name]())
                    shown = ", ".join(f"{label}: {s:.3f} s" for label, s in samples[name][-1].items())
                    note(f"repeat {r} {name:>24}: {shown}")
            settle(client)
    finally:
        client.close()
        cluster.close()
    energies = block_energies(A @ B)
    oracle = {label: oracle_seconds(energies, eps, rate) for label, eps in targets}
    slowed = int(args.factor) if args.factor.is_integer() else _round(args.factor, 3)
    config = {"inputs": args.inputs, "matrices": args.matrices, "n": n, "slowed": slowed}
    rows = summarize(samples, oracle, targets, config)
    print("  ".join(COLUMNS))
    for row in rows:
        print("  ".join(str(row[c]) for c in COLUMNS))
    if args.csv:
        from uepmm.experiments.tables import write_csv

        os.makedirs(os.path.dirname(args.csv) or ".", exist_ok=True)
        write_csv(args.csv, rows, COLUMNS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
