"""``dask.array`` inputs with the Dask backend: the data stays on the cluster, the estimate too.

One module-scoped LocalCluster (2 processes × 20 threads, loopback, no dashboard), a client
that is NOT the default one, so that anything computing the inputs in this process without
it would use dask's local scheduler (which the guarded arrays below refuse).  Deadlines lie
``MARGIN_S`` (1 s) of wall time from every packet's model time the test relies on: twice the
margin of ``test_dask_backend.py``, since each packet's check is one more task on the cluster
(beside ``stress --cpu 2`` on the shared 2-core machine, load average 8-11, packets of
``dask.array`` inputs came up to 0.57 s after their model time, numpy inputs up to 0.28 s).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import uepmm  # noqa: E402
from uepmm.api import plan_job  # noqa: E402
from uepmm.backends import _dask_arrays  # noqa: E402
from uepmm.backends.dask import DaskBackend  # noqa: E402
from uepmm.codes import CODES  # noqa: E402
from uepmm.decoders import Decoder, DecodeSession  # noqa: E402
from uepmm.importance import importance_order  # noqa: E402
from uepmm.latency import Exponential, Schedule  # noqa: E402
from uepmm.partition import make_partition  # noqa: E402

#: Wall seconds by which a packet may arrive later than its model time in these tests.
MARGIN_S = 1.0


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=20, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False}, silence_logs=logging.CRITICAL,
    )
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


@pytest.fixture
def healthy(client):
    client.wait_for_workers(2, timeout=30)
    return client


def _guarded_chunk(seed: int, shape: tuple[int, int], forbidden_pid: int) -> np.ndarray:
    """A chunk that can be made only in another process than ``forbidden_pid`` (the PS)."""
    if os.getpid() == forbidden_pid:
        raise RuntimeError("a chunk of the input was computed on the parameter server")
    return np.random.default_rng(seed).standard_normal(shape)


def guarded(seed: int, rows: int, cols: int, chunk: tuple[int, int]):
    """A ``rows × cols`` dask array of Gaussian chunks that refuse to be computed in this process."""
    pid = os.getpid()
    blocks = []
    for i, r0 in enumerate(range(0, rows, chunk[0])):
        line = []
        for j, c0 in enumerate(range(0, cols, chunk[1])):
            shape = (min(chunk[0], rows - r0), min(chunk[1], cols - c0))
            task = dask.delayed(_guarded_chunk, pure=True)(seed * 1000 + i * 37 + j, shape, pid)
            line.append(da.from_delayed(task, shape, dtype=np.float64))
        blocks.append(line)
    return da.block(blocks)


@pytest.fixture(scope="module")
def factors(client):
    """Guarded dask factors (24×36 @ 36×18, chunks not aligned with any block grid) and numpy copies."""
    A, B = guarded(1, 24, 36, (7, 10)), guarded(2, 36, 18, (10, 5))
    An, Bn = client.compute([A, B], sync=True)
    return A, B, An, Bn


def _rel(X, Y):
    return float(np.linalg.norm(X - Y) / np.linalg.norm(Y))


def _exact_recovered(result, recovered, A, B):
    """``C_hat`` built from the exact sub-products in ``recovered`` (numpy, for comparison)."""
    Ap, Bp = result.order.apply(A, B)
    exact = result.partition.products(Ap, Bp)
    parts = [exact[k] if recovered[k] else None for k in range(result.partition.num_products)]
    return result.order.restore(result.partition.assemble(parts))


# ------------------------------------------------------------------ exactness
LINEAR = [  # codes linear over sub-products, with enough workers to decode everything
    ("uncoded", 9, "rxc"), ("uncoded", 9, "cxr"), ("repetition", 18, "rxc"), ("repetition", 18, "cxr"),
    ("mds", 12, "rxc"), ("mds", 12, "cxr"), ("now", 30, "rxc"), ("now", 30, "cxr"),
    ("ew", 30, "rxc"), ("ew", 30, "cxr"), ("polynomial", 12, "rxc"),
]


#: codes refused with dask.array inputs (their own decoder, or backup copies, need data on the PS)
REFUSED = [("matdot", 20, "cxr"), ("sampling", 12, "rxc"), ("speculative", 12, "rxc"), ("ew-matdot", 20, "cxr")]


#: codes the Dask backend runs by pull execution only (late speculation: latency=None, else refused by JobSpec)
PULL_ONLY = [("spark", 12, "rxc"), ("cubed", 12, "rxc")]


def test_every_registered_code_is_served():
    served = {code for code, _, _ in LINEAR + REFUSED + PULL_ONLY}
    assert served == set(CODES)  # a new code must be added to LINEAR (or refused in REFUSED)


@pytest.mark.parametrize("code", [code for code, _, _ in PULL_ONLY])
def test_pull_only_codes_need_latency_none(code):
    with pytest.raises(ValueError, match=rf"code '{code}' runs on Dask without model delays only .* pass "
                                         r"latency=None"):
        uepmm.JobSpec(code=code, workers=12, backend="dask")


@pytest.mark.parametrize("code,workers,partition", PULL_ONLY)
def test_pull_only_codes_exact_with_dask_inputs(healthy, factors, code, workers, partition):
    A, B, An, Bn = factors
    res = uepmm.coded_matmul(A, B, code=code, partition=partition, blocks=9, workers=workers, latency=None,
                             backend="dask", client=healthy, seed=3)
    assert res.report["execution"] == "pull" and res.report["on_cluster"] and res.recovered.all()
    assert _rel(healthy.compute(res.estimate, sync=True), An @ Bn) < 1e-13


@pytest.mark.parametrize("code,workers,partition", REFUSED)
def test_codes_that_need_the_parameter_server_are_refused(healthy, factors, code, workers, partition):
    A, B, _, _ = factors
    with pytest.raises(ValueError, match=rf"code='{code}' is not supported with dask.array inputs: .* or pass "
                                         r"numpy arrays"):
        uepmm.coded_matmul(A, B, code=code, partition=partition, blocks=9, workers=workers, latency=None,
                           backend="dask", client=healthy, seed=3)


@pytest.mark.parametrize("code,workers,partition", LINEAR)
def test_dask_in_dask_out_exact(healthy, factors, code, workers, partition):
    A, B, An, Bn = factors
    res = uepmm.coded_matmul(A, B, code=code, partition=partition, blocks=9, workers=workers, latency=None,
                             backend="dask", client=healthy, seed=3)
    assert isinstance(res.estimate, da.Array) and res.estimate.shape == (24, 18)
    assert res.recovered.all() and res.report["on_cluster"] and res.report["scatter_bytes"] == 0
    assert res.report["erasures"] == []
    C_hat = healthy.compute(res.estimate, sync=True)
    # exact to rounding: cond(received rows) * eps (the arrival order, hence the rows solved, varies on Dask)
    assert _rel(C_hat, An @ Bn) < 1e-15 * max(res.report["condition_number"], 1.0) * 100
    # the same importance order, classes and code rows as the numpy inputs
    plan = plan_job(An, Bn, code=code, partition=partition, blocks=9, workers=workers, latency=None,
                    backend="dask", seed=3)
    assert np.array_equal(res.order.a_perm, plan.order.a_perm) and np.array_equal(res.order.b_perm, plan.order.b_perm)
    assert res.classes == plan.classes and np.array_equal(res.encoding.generator, plan.job.encoding.generator)


def test_polynomial_cxr_refused_as_with_numpy(healthy, factors):
    A, B, _, _ = factors
    with pytest.raises(ValueError, match="polynomial") as dask_error:
        uepmm.coded_matmul(A, B, code="polynomial", partition="cxr", blocks=9, workers=12, backend="dask",
                           client=healthy)
    with pytest.raises(ValueError) as numpy_error:
        uepmm.coded_matmul(np.ones((4, 9)), np.ones((9, 4)), code="polynomial", partition="cxr", blocks=9,
                           workers=12)
    assert str(dask_error.value) == str(numpy_error.value)


@pytest.mark.parametrize("decoder", ["lmmse", "unbiased"])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_other_decoders_exact_when_complete(healthy, factors, decoder, partition):
    A, B, An, Bn = factors
    res = uepmm.coded_matmul(A, B, code="ew", partition=partition, blocks=9, workers=30, latency=None,
                             decoder=decoder, backend="dask", client=healthy, seed=5)
    assert res.recovered.all() and res.report["decoder"] == decoder
    assert _rel(healthy.compute(res.estimate, sync=True), An @ Bn) < 1e-12


def test_mixed_inputs_float32_and_int(healthy):
    rng = np.random.default_rng(4)
    An = rng.standard_normal((20, 30)).astype(np.float32)
    Bn = rng.integers(-5, 5, size=(30, 12))
    A = da.from_array(An, chunks=(10, 15))
    res = uepmm.coded_matmul(A, Bn, code="mds", partition="rxc", blocks=(2, 3), workers=8, latency=None,
                             backend="dask", client=healthy, seed=0)
    C_hat = healthy.compute(res.estimate, sync=True)
    assert C_hat.dtype == np.float64 and res.recovered.all()  # float32 @ int -> float64, as numpy inputs
    assert _rel(C_hat, An.astype(np.float64) @ Bn) < 1e-6
    res32 = uepmm.coded_matmul(A, A.T, code="uncoded", partition="cxr", blocks=3, workers=3, latency=None,
                               backend="dask", client=healthy, seed=0)
    C32 = healthy.compute(res32.estimate, sync=True)
    assert C32.dtype == np.float32 and _rel(C32.astype(np.float64), An.astype(np.float64) @ An.T) < 1e-5


# --------------------------------------------------------- deadline, stragglers
@pytest.mark.parametrize("code,partition,decoder", [("ew", "cxr", "zero"), ("now", "rxc", "lmmse")])
def test_deadline_same_as_numpy_inputs(healthy, factors, code, partition, decoder):
    A, B, An, Bn = factors
    settings = dict(code=code, partition=partition, blocks=9, workers=15, latency=Exponential(rate=0.5),
                    decoder=decoder, backend="dask", client=healthy, seed=2)
    times = np.sort(plan_job(An, Bn, **{k: v for k, v in settings.items() if k != "client"}).job.times)
    # a deadline between two arrivals far apart (1.44 units), before K = 9 packets, with no
    # arrival within MARGIN_S of it
    gaps = np.diff(times[2:9])
    i = int(np.argmax(gaps)) + 2
    assert gaps.max() > 1.4 and i == 6
    deadline = float((times[i] + times[i + 1]) / 2)
    settings["time_unit"] = 2 * MARGIN_S / gaps.max()
    ours = uepmm.coded_matmul(A, B, deadline=deadline, **settings)
    numpy_run = uepmm.coded_matmul(An, Bn, deadline=deadline, **settings)
    assert ours.report["response_times"] == numpy_run.report["response_times"]
    assert ours.received == numpy_run.received == i + 1
    assert sorted(e.worker for e in ours.timeline) == sorted(e.worker for e in numpy_run.timeline)
    assert np.array_equal(ours.recovered, numpy_run.recovered) and not ours.recovered.all()
    C_hat = healthy.compute(ours.estimate, sync=True)
    assert np.allclose(C_hat, numpy_run.estimate, rtol=0, atol=1e-12 * np.abs(An @ Bn).max())
    # the losses, computed on the cluster, against a numpy and a dask C
    expected = float(np.sum((An @ Bn - numpy_run.estimate) ** 2))
    assert ours.loss(An @ Bn) == pytest.approx(expected, rel=1e-9)
    assert ours.normalized_loss(A @ B) == pytest.approx(numpy_run.normalized_loss(An @ Bn), rel=1e-9)
    C_local = da.from_array(An, chunks=(12, 12)) @ da.from_array(Bn, chunks=(12, 9))  # no client: computed here
    assert numpy_run.loss(C_local) == pytest.approx(expected, rel=1e-9)  # numpy estimate, dask C


def test_progressive_estimates_are_lazy_and_exact(healthy, factors):
    A, B, An, Bn = factors
    seen = []
    # a packet is only ever late: the 10th is due 1.05 s (> MARGIN_S) before the deadline, the 11th after it
    times = [0.5 + w for w in range(10)] + [25.0 + w for w in range(5)]
    res = uepmm.coded_matmul(A, B, code="ew", partition="rxc", blocks=9, workers=15, deadline=20.0, decoder="zero",
                             latency=Schedule(times), omega=1.0, backend="dask", client=healthy, time_unit=0.1,
                             seed=4, on_packet=lambda p: seen.append((p.entry, p.estimate(), p.recovered)))
    assert [s[0] for s in seen] == res.timeline and len(seen) == res.received
    assert res.received == 10 or (res.received < 10 and res.recovered.all())
    assert all(isinstance(estimate, da.Array) for _, estimate, _ in seen)
    computed = healthy.compute([estimate for _, estimate, _ in seen], sync=True)  # after the job: still there
    for C_hat, (_, _, recovered) in zip(computed, seen):
        assert np.allclose(C_hat, _exact_recovered(res, recovered, An, Bn), rtol=0, atol=1e-12 * np.abs(An @ Bn).max())
    counts = [int(s[2].sum()) for s in seen]
    assert counts == sorted(counts) and 0 < counts[-1] == res.recovered.sum()
    assert np.allclose(computed[-1], healthy.compute(res.estimate, sync=True), rtol=0, atol=1e-12)


def test_faulty_packets_rejected_on_the_cluster(healthy, factors):
    A, B, An, Bn = factors
    faults = {"nan": [0], "corrupt": [1, 3], "raise": [2]}
    times = [0.0 if w < 4 else 2.0 for w in range(14)]  # the faulty ones first, by MARGIN_S
    res = uepmm.coded_matmul(A, B, code="mds", partition="rxc", blocks=9, workers=14, latency=Schedule(times),
                             omega=1.0, backend=DaskBackend(client=healthy, time_unit=MARGIN_S / 2, faults=faults),
                             seed=0)
    status = {e["worker"]: e["status"] for e in res.report["erasures"]}
    assert status == {0: "nonfinite", 1: "corrupt", 3: "corrupt", 2: "error"}
    assert res.report["rejected"] == 3 and res.recovered.all()
    assert _rel(healthy.compute(res.estimate, sync=True), An @ Bn) < 1e-12


# ------------------------------------------------------ one read of each chunk
class _Here:
    """A stand-in client that computes with dask's synchronous scheduler, in this process."""

    def compute(self, tasks):
        return list(dask.compute(*tasks, scheduler="sync"))

    def gather(self, values):
        return values


@pytest.mark.parametrize("partition,blocks", [("rxc", 4), ("cxr", 3)])
@pytest.mark.parametrize("statistic", ["fro", "mean_abs"])
def test_statistics_and_blocks_equal_the_numpy_path(partition, blocks, statistic):
    """Line statistics (to rounding: sums in another order) and blocks (exactly, dtype too) as
    :func:`importance_order` and ``Partition.a_blocks``/``b_blocks`` on numpy copies; chunks
    not aligned with any block; with and without reordering."""
    rng = np.random.default_rng(9)
    An = rng.standard_normal((23, 37)) * rng.uniform(0.1, 3.0, size=(23, 1))
    Bn = (rng.standard_normal((37, 19)) * rng.uniform(0.1, 3.0, size=(1, 19))).astype(np.float32)
    A, B = da.from_array(An, chunks=(7, 10)), da.from_array(Bn, chunks=(10, 5))
    layout = make_partition(A.shape, B.shape, partition, blocks)
    a, b, a_fro, b_fro = _dask_arrays.line_statistics(_Here(), A, B, layout.kind, statistic, True)
    order = importance_order(An, Bn, layout.kind, statistic)
    assert np.allclose(a[order.a_perm], order.a_line_stats, rtol=1e-13, atol=0)
    assert np.allclose(b[order.b_perm], order.b_line_stats, rtol=1e-12, atol=0)
    fro = importance_order(An, Bn, layout.kind, "fro")
    assert np.allclose(a_fro[fro.a_perm], fro.a_line_stats, rtol=1e-13, atol=0)
    assert np.array_equal(importance_order(An, Bn, layout.kind, statistic).a_perm,
                          uepmm.importance.order_from_line_stats(layout.kind, a, b, statistic).a_perm)
    for a_perm, b_perm in [(order.a_perm, order.b_perm), (None, None)]:
        lazy_a, lazy_b = _dask_arrays.lazy_blocks(A, B, layout, a_perm, b_perm)
        got_a, got_b = dask.compute(lazy_a, lazy_b, scheduler="sync")
        for got, want in zip(got_a + got_b, layout.a_blocks(An, a_perm) + layout.b_blocks(Bn, b_perm)):
            assert got.dtype == want.dtype and np.array_equal(got, want)


def test_cached_sums_follow_the_array_name(monkeypatch):
    """Another array (another dask name), even of the same shape, gets its own sums; a full
    cache drops the least recently used entry and recomputes it when asked."""
    _dask_arrays.forget_line_statistics()
    monkeypatch.setattr(_dask_arrays, "CACHE_BYTES", (3 + 3 + 4 + 4) * 8)  # room for one 3 × 4 entry only
    computed = []
    monkeypatch.setattr(_Here, "compute", lambda self, tasks: computed.append(len(tasks)) or
                        list(dask.compute(*tasks, scheduler="sync")))
    X = np.arange(12.0).reshape(3, 4)
    first, second = da.from_array(X, chunks=2), da.from_array(X[::-1].copy(), chunks=2)
    assert first.name != second.name
    (s1,), (s2,) = _dask_arrays.line_sums(_Here(), first), _dask_arrays.line_sums(_Here(), second)
    assert np.array_equal(s1[0], (X * X).sum(axis=1)) and np.array_equal(s2[0], (X * X).sum(axis=1)[::-1])
    assert np.array_equal(s1[3], np.abs(X).sum(axis=0)) and computed == [4, 4]  # 2 row bands + 2 column bands
    _dask_arrays.line_sums(_Here(), second)  # cached
    assert computed == [4, 4]
    (again,) = _dask_arrays.line_sums(_Here(), first)  # dropped for `second`'s entry: computed again
    assert computed == [4, 4, 4] and len(_dask_arrays._LINE_SUMS) == 1
    assert all(np.array_equal(x, y) for x, y in zip(again, s1))
    monkeypatch.setattr(_dask_arrays, "CACHE_BYTES", 8)  # sums larger than the cache are not kept
    _dask_arrays.line_sums(_Here(), second)
    assert computed == [4, 4, 4, 4] and len(_dask_arrays._LINE_SUMS) == 0
    _dask_arrays.forget_line_statistics()


class _ChunkReads(distributed.diagnostics.plugin.SchedulerPlugin):
    """Records, per input chunk key, the kind (key prefix) of every task that depends on it."""

    def __init__(self, scheduler, keys):
        self.scheduler, self.keys, self.readers = scheduler, set(keys), {}

    def transition(self, key, start, finish, *args, **kwargs):
        ts = self.scheduler.tasks.get(key) if finish == "processing" else None
        for dep in () if ts is None else ts.dependencies:
            if dep.key in self.keys:
                self.readers.setdefault(dep.key, []).append(dask.utils.key_split(key))


def _count_reads(client, arrays, job):
    """``job()``'s result and ``{chunk key: sorted reader kinds}`` for every chunk of ``arrays``."""
    keys = [k for M in arrays for k in dask.core.flatten(M.__dask_keys__())]
    plugin = _ChunkReads(client.cluster.scheduler, keys)
    client.cluster.scheduler.add_plugin(plugin, name="uepmm-test-chunk-reads")
    try:
        result = job()
    finally:
        client.cluster.scheduler.remove_plugin(name="uepmm-test-chunk-reads")
    return result, {k: sorted(plugin.readers.get(k, [])) for k in keys}


def test_each_chunk_is_read_once_per_job(healthy):
    """Persisted inputs: a first job reads each chunk twice (one statistics task, one split task),
    a second job on the same arrays once (its statistics come from the cache), whatever its
    partition and statistic; both exact, in the importance order of the numpy path."""
    _dask_arrays.forget_line_statistics()
    rng = da.random.RandomState(11)
    A = healthy.persist(rng.standard_normal((60, 48), chunks=(25, 20)) * da.arange(1, 61)[:, None])
    B = healthy.persist(rng.standard_normal((48, 36), chunks=(20, 15)))
    An, Bn = healthy.compute([A, B], sync=True)
    settings = dict(code="mds", blocks=9, workers=12, latency=None, backend="dask", client=healthy, seed=1)
    for job, (partition, statistic) in enumerate([("rxc", "fro"), ("cxr", "mean_abs"), ("rxc", "fro")]):
        res, readers = _count_reads(healthy, [A, B], lambda p=partition, s=statistic: uepmm.coded_matmul(
            A, B, partition=p, statistic=s, **settings))
        expected = ["chunk_sums", "split"] if job == 0 else ["split"]
        assert all(kinds == expected for kinds in readers.values()), (job, readers)
        assert res.recovered.all() and _rel(healthy.compute(res.estimate, sync=True), An @ Bn) < 1e-12
        plan = plan_job(An, Bn, partition=partition, statistic=statistic,
                        **{k: v for k, v in settings.items() if k != "client"})
        assert np.array_equal(res.order.a_perm, plan.order.a_perm)
        assert np.array_equal(res.order.b_perm, plan.order.b_perm)


def test_a_changed_array_gets_fresh_statistics(healthy):
    """The cache is keyed by the dask name: rows scaled in reverse (a new array, a new name)
    reverse the order, and its chunks are read for statistics again."""
    _dask_arrays.forget_line_statistics()
    rng = da.random.RandomState(12)
    A = healthy.persist(rng.standard_normal((40, 30), chunks=(15, 15)) * da.arange(1, 41)[:, None])
    B = healthy.persist(rng.standard_normal((30, 20), chunks=(15, 10)))
    settings = dict(code="uncoded", partition="rxc", blocks=4, workers=4, latency=None, backend="dask",
                    client=healthy, seed=0)
    first = uepmm.coded_matmul(A, B, **settings)
    changed = healthy.persist(A / da.arange(1, 41)[:, None] ** 2)  # row i scaled by 1/(i+1): order reversed
    res, readers = _count_reads(healthy, [changed], lambda: uepmm.coded_matmul(changed, B, **settings))
    assert all(kinds == ["chunk_sums", "split"] for kinds in readers.values())
    An, Cn, Bn = healthy.compute([A, changed, B], sync=True)
    assert np.array_equal(first.order.a_perm, importance_order(An, Bn, "rxc").a_perm)
    assert np.array_equal(res.order.a_perm, importance_order(Cn, Bn, "rxc").a_perm)
    assert not np.array_equal(res.order.a_perm, first.order.a_perm)
    assert _rel(healthy.compute(res.estimate, sync=True), Cn @ Bn) < 1e-12


# ------------------------------------------------- the PS never holds the data
def test_guarded_inputs_cannot_be_computed_here(factors):
    A, _, _, _ = factors
    with pytest.raises(RuntimeError, match="computed on the parameter server"):
        np.asarray(A)  # dask's local scheduler runs the chunks in this process: the guard works


def test_parameter_server_never_holds_the_matrices(healthy, monkeypatch):
    n = 600  # a factor is 2.9 MB, a block 0.96 MB (200×600), a packet 0.32 MB (200×200)
    A, B = guarded(7, n, n, (150, 150)), guarded(8, n, n, (150, 150))
    settings = dict(code="mds", partition="rxc", blocks=9, workers=12, latency=None, backend="dask",
                    client=healthy, seed=0)
    received = []  # everything this process receives from the cluster passes Client._gather
    gather = healthy._gather

    async def recording_gather(futures, *args, **kwargs):
        out = await gather(futures, *args, **kwargs)
        received.append(dask.sizeof.sizeof(out))
        return out

    monkeypatch.setattr(healthy, "_gather", recording_gather)
    res = uepmm.coded_matmul(A, B, **settings)
    during_job = list(received)
    C_hat = healthy.compute(res.estimate, sync=True)  # the check sees a pulled matrix: C_hat is 2.9 MB
    monkeypatch.undo()
    assert res.recovered.all() and res.received == 9
    # statistics (2 × 600 numbers), probe references (K × 200 × 2), packet summaries (200 × 2 each):
    # O(W K + U + H + Q) numbers, never a block or a packet
    assert len(during_job) > 9 and max(during_job) < 40_000, sorted(during_job)[-3:]
    assert received[-1] >= C_hat.nbytes == n * n * 8
    assert res.normalized_loss(A @ B) < 1e-20


# ------------------------------------------------------------------- errors
def test_dask_inputs_need_the_dask_backend(factors):
    A, B, An, Bn = factors
    with pytest.raises(ValueError, match=r"dask.array inputs need backend='dask' \(backend='simulated' would pull"):
        uepmm.coded_matmul(A, Bn, blocks=9, workers=9)
    with pytest.raises(TypeError, match=r"A is a dask.array: only backend='dask' keeps it on the cluster"):
        plan_job(A, Bn, blocks=9, workers=9)


def test_dask_inputs_need_a_client_that_outlives_the_job(factors):
    A, B, _, _ = factors
    if distributed.client._get_global_client() is not None:
        pytest.skip("another test left a default client")
    with pytest.raises(ValueError, match=r"pass client=distributed.Client\(\.\.\.\) \(none is the default client"):
        uepmm.coded_matmul(A, B, blocks=9, workers=9, backend="dask")
    with pytest.raises(ValueError, match=r"pass client=distributed.Client\(address\) instead of address="):
        uepmm.coded_matmul(A, B, blocks=9, workers=9, backend="dask", address="tcp://127.0.0.1:1")


class _OwnSessionDecoder(Decoder):
    """A decoder with its own session: neither scales nor weights."""

    name = "own"

    def start(self, context):
        return DecodeSession()


def test_unsupported_decoder_and_track_loss(healthy, factors):
    A, B, _, _ = factors
    with pytest.raises(ValueError, match=r"decoder 'own' cannot decode packets that stay on the cluster"):
        uepmm.coded_matmul(A, B, blocks=9, workers=9, decoder=_OwnSessionDecoder(), backend="dask", client=healthy)
    with pytest.raises(ValueError, match=r"track_loss=True needs the exact sub-products on the parameter server"):
        uepmm.coded_matmul(A, B, blocks=9, workers=9, backend="dask", client=healthy, track_loss=True)


@pytest.mark.parametrize(
    "make,error,message",
    [
        (lambda: da.ones((4, 4), dtype=complex), TypeError, "A has complex dtype complex128"),
        (lambda: da.ones((4, 4), dtype=bool), TypeError, "A has dtype bool"),
        (lambda: da.ones((2, 2, 2)), ValueError, "A must be 2-D, got a 3-D dask.array"),
        (lambda: da.from_array(np.where(np.arange(16).reshape(4, 4) == 6, np.inf, 1.0), chunks=2), ValueError,
         r"A contains NaN or Inf entries \(1 of its lines have a non-finite fro norm, computed on the cluster\)"),
    ],
)
def test_bad_dask_inputs(healthy, make, error, message):
    for _ in range(2):  # the second job finds the line sums cached: the same error
        with pytest.raises(error, match=message):
            uepmm.coded_matmul(make(), da.ones((4, 4)), blocks=4, partition="cxr", workers=4, backend="dask",
                               client=healthy)


def test_unbiased_without_an_arrival_model_refused_as_with_numpy(healthy, factors):
    """The cluster's session checks the decoder like the parameter server's, before any packet."""
    A, B, An, Bn = factors
    settings = dict(code="now", partition="rxc", blocks=9, workers=6, latency=Schedule(tuple(range(18))), omega=1.0,
                    gamma=(0.4, 0.3, 0.3), cost="work", deadline=2.0, decoder="unbiased")
    with pytest.raises(ValueError, match=r"latency=Schedule\(\.\.\.\) fixes which workers answer") as numpy_error:
        uepmm.coded_matmul(An, Bn, **settings)
    with pytest.raises(ValueError) as dask_error:
        uepmm.coded_matmul(A, B, backend="dask", client=healthy, **settings)
    assert str(dask_error.value) == str(numpy_error.value)
