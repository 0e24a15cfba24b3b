"""Adaptive packets (uepmm.adaptive): the simulator against an independent event simulation on a fixed
schedule, the streams contract (adaptive=False unchanged), the refusals, and compare's fast path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import JobSpec, Schedule, coded_matmul, plan_job
from uepmm.draw import draw_job
from uepmm.streams import job_streams

RNG = np.random.default_rng(7)
A = RNG.standard_normal((36, 45))
B = RNG.standard_normal((45, 27))
C = A @ B


def _in_row_space(rows: np.ndarray, k: int) -> bool:
    """``e_k`` is a combination of ``rows``: appending it does not raise the rank (SVD rank, not the tracker)."""
    if rows.shape[0] == 0:
        return False
    e = np.zeros(rows.shape[1])
    e[k] = 1.0
    return np.linalg.matrix_rank(np.vstack([rows, e]), tol=1e-8) == np.linalg.matrix_rank(rows, tol=1e-8)


def _window_of(row, rule, masks):
    """The task of a first packet (copy rule), read off its support."""
    return int(np.flatnonzero(row)[0]) if rule == "copy" else None


def reference(first_rows, first_times, unit, deadline, rule, rng, masks=None, gamma=None, work_of=None):
    """An independent run of the adaptive rule (``masks``: each window's sub-products, ``gamma``: Γ).

    ``unit[w](s)``: how long a new packet of ``s`` block products takes on worker ``w``.  Scans all
    running packets for the next arrival (ties: the lowest packet number), decides recovery by SVD
    rank, and lets the free workers (in worker order) start packets by ``rule``.  Returns the packets
    (dicts with row, worker, start, end, state) and the arrival order.
    """
    K = first_rows.shape[1]
    rec = np.zeros(K, dtype=bool)

    def dhondt():
        live = [p for p in packets if p["state"] == "running"]
        best, chosen = -1.0, None
        for level in range(len(masks)):
            if np.any(masks[level] & ~rec):
                quotient = gamma[level] / (1 + sum(p["task"] == level for p in live))
                if quotient > best:
                    best, chosen = quotient, level
        return chosen

    packets = []
    for w in range(len(first_rows)):
        if rule == "window":  # the first packets by the rule too
            level = dhondt()
            row = rng.standard_normal(K) * masks[level]
            end = unit[w](1 if work_of is None else work_of(row))
            packets.append({"row": row, "worker": w, "start": 0.0, "end": end, "state": "running", "task": level})
        else:
            packets.append({"row": first_rows[w], "worker": w, "start": 0.0, "end": float(first_times[w]),
                            "state": "running", "task": _window_of(first_rows[w], rule, masks)})
    arrived: list[int] = []
    while True:
        running = [i for i, p in enumerate(packets) if p["state"] == "running"]
        if not running:
            break
        i = min(running, key=lambda j: (packets[j]["end"], j))
        now = packets[i]["end"]
        if now > deadline:
            break
        packets[i]["state"] = "arrived"
        arrived.append(i)
        G = np.array([packets[j]["row"] for j in arrived])
        rec[:] = [_in_row_space(G, k) for k in range(K)]
        if rec.all():
            for j in running:
                if packets[j]["state"] == "running":
                    packets[j]["state"] = "cancelled"
            break
        free = [packets[i]["worker"]]
        for j in running:
            p = packets[j]
            if p["state"] == "running" and rec[np.flatnonzero(p["row"])].all():
                p["state"] = "cancelled"
                free.append(p["worker"])
        if now >= deadline:
            continue
        for w in sorted(free):
            if rule == "copy":
                live = [p for p in packets if p["state"] == "running"]
                candidates = [k for k in range(K) if not rec[k]]
                starts = {k: [p["start"] for p in live if p["task"] == k] for k in candidates}
                task = min(candidates, key=lambda k: (len(starts[k]), max(starts[k], default=0.0), k))
                row = np.eye(K)[task]
            elif rule == "row":
                row, task = rng.standard_normal(K), None
            else:  # window: D'Hondt over the windows with an unrecovered sub-product
                task = dhondt()
                row = rng.standard_normal(K) * masks[task]
            s = 1 if work_of is None else work_of(row)
            packets.append({"row": row, "worker": w, "start": now, "end": now + unit[w](s), "state": "running",
                            "task": task})
    return packets, arrived


def _check_against_reference(spec: JobSpec, seed: int, rule: str, masks=None, gamma=None, work_of=None, unit=None):
    plain = plan_job(A, B, spec.with_(adaptive=False), seed=seed)
    adaptive = plan_job(A, B, spec, seed=seed)
    W = spec.workers
    times = spec.latency.times
    if unit is None:  # cost="equal": every packet of worker w lasts times[w] / Ω
        unit = [(lambda s, w=w: times[w] / spec.omega_value) for w in range(W)]
    packets, arrived = reference(plain.job.encoding.generator, plain.job.times, unit, spec.deadline, rule,
                                 job_streams(seed).adaptive, masks, gamma, work_of)
    job = adaptive.job
    # the first packets are the plain job's (window codes: chosen by the rule); every row is the reference's
    if rule != "window":
        np.testing.assert_array_equal(job.encoding.generator[:W], plain.job.encoding.generator)
    assert job.encoding.workers == len(packets)
    np.testing.assert_array_equal(job.encoding.generator, np.array([p["row"] for p in packets]))
    np.testing.assert_array_equal(job.packet_workers, [p["worker"] for p in packets])
    # arrival times and order through the simulated backend and the decoder
    result = coded_matmul(A, B, spec, seed=seed, fidelity="fast", decoder="zero")
    assert [e.worker for e in result.timeline] == arrived
    assert [e.time for e in result.timeline] == [packets[i]["end"] for i in arrived]
    G = np.array([packets[i]["row"] for i in arrived]).reshape(-1, spec.num_products)
    expected = np.array([_in_row_space(G, k) for k in range(spec.num_products)])
    np.testing.assert_array_equal(result.recovered, expected)
    cancelled = [i for i, p in enumerate(packets) if p["state"] == "cancelled"]
    assert np.all(np.isinf(job.times[cancelled]))
    return packets, arrived, result


def test_uncoded_is_speculation_on_a_fixed_schedule():
    """W = K = 9: worker w's every task lasts times[w]; hand-checked start of the first copies."""
    times = (5.0, 1.0, 7.0, 2.0, 9.0, 3.0, 6.5, 8.0, 4.0)
    spec = JobSpec(code="uncoded", partition="cxr", blocks=9, workers=9, latency=Schedule(times), omega=1.0,
                   deadline=6.0, adaptive=True, reorder=False)
    packets, arrived, result = _check_against_reference(spec, 3, "copy")
    # by hand: worker 1 (done at 1) copies task 0 (all have one copy from time 0: lowest index), done at 2;
    # worker 3 (done at 2) and worker 1 (again at 2, ties: packet order) copy the next ones ...
    extra = packets[9:]
    assert (extra[0]["worker"], extra[0]["start"], extra[0]["task"]) == (1, 1.0, 0)
    assert extra[0]["end"] == 2.0
    # task 0's copy on worker 1 ends at 2 < 5: worker 0's original packet is cancelled then
    assert packets[0]["state"] == "cancelled"
    assert result.recovered[0] and result.recovered[1]


@pytest.mark.parametrize("code", ["now", "ew"])
@pytest.mark.parametrize("deadline", [4.0, math.inf])
def test_window_codes_on_a_fixed_schedule(code, deadline):
    W = 12
    times = tuple(float(t) for t in (3, 1, 4, 1.5, 5, 9, 2, 6, 5.5, 3.5, 8, 7))
    gamma = (0.5, 0.3, 0.2)
    spec = JobSpec(code=code, gamma=gamma, partition="cxr", blocks=9, workers=W, latency=Schedule(times),
                   omega=1.0, deadline=deadline, adaptive=True, class_counts=(2, 3, 4))
    classes = plan_job(A, B, spec, seed=1).classes.as_array()
    masks = [(classes <= level) if code == "ew" else (classes == level) for level in range(3)]
    packets, arrived, result = _check_against_reference(spec, 11, "window", masks, gamma)
    assert len(packets) > W  # workers took more packets
    if math.isinf(deadline):
        assert result.recovered.all()
        assert result.normalized_loss(C) < 1e-20


def test_singleton_windows_draw_only_unrecovered_products():
    W = 10
    times = tuple(float(t) for t in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
    gamma = tuple(np.linspace(2, 1, 9) / np.linspace(2, 1, 9).sum())
    spec = JobSpec(code="now", gamma=gamma, partition="cxr", blocks=9, workers=W, latency=Schedule(times),
                   omega=1.0, deadline=12.0, adaptive=True, class_counts=(1,) * 9)
    classes = plan_job(A, B, spec, seed=1).classes.as_array()
    masks = [classes == level for level in range(9)]
    packets, arrived, _ = _check_against_reference(spec, 5, "window", masks, gamma)
    for p in packets[W:]:  # every later packet is a sub-product not recovered before it started
        done = {int(np.flatnonzero(packets[j]["row"])[0]) for j in arrived if packets[j]["end"] < p["start"]}
        assert int(np.flatnonzero(p["row"])[0]) not in done


def test_mds_fresh_rows_on_a_fixed_schedule():
    W = 6
    times = (2.0, 4.0, 1.0, 3.0, 9.0, 8.0)
    spec = JobSpec(code="mds", partition="cxr", blocks=9, workers=W, latency=Schedule(times), omega=1.0,
                   deadline=math.inf, adaptive=True)
    packets, arrived, result = _check_against_reference(spec, 2, "row")
    assert result.recovered.all() and len(arrived) == 9  # the 9th packet completes the MDS system
    # by hand: arrivals at 1, 2, 2 (worker 2's second), 3, 3 (worker 2's third), 4, 4, 4, 5
    assert [packets[i]["end"] for i in arrived] == [1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 4.0, 5.0]


def test_cost_work_new_packets_take_their_work_in_units():
    """cost="work", EW over 3+3+3: a new packet of s products on worker w lasts sum_j<s times[j W + w]."""
    W, M = 8, 9
    rng = np.random.default_rng(4)
    flat = tuple(float(x) for x in np.round(rng.uniform(0.2, 1.0, M * W), 3))
    gamma = (0.6, 0.25, 0.15)
    spec = JobSpec(code="ew", gamma=gamma, partition="cxr", blocks=M, workers=W, latency=Schedule(flat),
                   omega=1.0, deadline=6.0, adaptive=True, cost="work", class_counts=(3, 3, 3))
    classes = plan_job(A, B, spec, seed=1).classes.as_array()
    masks = [classes <= level for level in range(3)]
    units = np.array(flat).reshape(M, W)
    unit = [(lambda s, w=w: float(units[:s, w].sum())) for w in range(W)]
    packets, _, _ = _check_against_reference(spec, 9, "window", masks, gamma,
                                              work_of=lambda row: int(np.count_nonzero(row)), unit=unit)
    assert len(packets) > W


def test_adaptive_false_draws_what_it_always_drew():
    spec = JobSpec(code="mds", partition="cxr", blocks=9, workers=30, deadline=2.0, cost="work")
    for seed in (0, 5):
        plain = draw_job(spec, seed=seed)
        streams = job_streams(seed)
        units = spec.latency.sample(streams.times, 9 * 30).reshape(9, 30)
        assert plain.packet_workers is None and plain.encoding.workers == 30
        np.testing.assert_array_equal(units[0] / spec.omega_value, draw_job(spec.with_(cost="equal"), seed=seed).times)
        adaptive = draw_job(spec.with_(adaptive=True), seed=seed)
        np.testing.assert_array_equal(adaptive.generator[:30], plain.generator)
        finished = np.isfinite(adaptive.times[:30])
        np.testing.assert_array_equal(adaptive.times[:30][finished], plain.times[finished])


def test_adaptive_never_recovers_less_where_it_keeps_the_first_packets():
    for code, workers in (("mds", 30), ("uncoded", 9), ("repetition", 18)):
        spec = JobSpec(code=code, partition="cxr", blocks=9, workers=workers, deadline=4.0)
        for seed in range(5):
            plain = coded_matmul(A, B, spec, seed=seed, fidelity="fast")
            more = coded_matmul(A, B, spec, seed=seed, fidelity="fast", adaptive=True)
            assert np.all(more.recovered >= plain.recovered)


def test_refusals():
    with pytest.raises(TypeError, match="adaptive must be True or False"):
        JobSpec(adaptive=1)
    with pytest.raises(ValueError, match="adaptive=True on Dask chooses packets while the job runs .* latency=None"):
        JobSpec(adaptive=True, backend="dask")
    with pytest.raises(ValueError, match="code 'polynomial' takes no adaptive packets: a new evaluation point"):
        JobSpec(code="polynomial", partition="rxc", blocks=(3, 3), adaptive=True)
    with pytest.raises(ValueError, match="code 'speculative' takes no adaptive packets"):
        JobSpec(code="speculative", workers=30, adaptive=True)
    with pytest.raises(ValueError, match="decoder 'unbiased'"):
        JobSpec(decoder="unbiased", adaptive=True)
    for code in ("matdot", "sampling"):
        with pytest.raises(ValueError, match=f"code '{code}' takes no adaptive packets"):
            JobSpec(code=code, workers=30, adaptive=True)


def test_full_fidelity_decodes_the_adaptive_packets():
    spec = JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=15, deadline=3.0, adaptive=True)
    full = coded_matmul(A, B, spec, seed=4, decoder="lmmse")
    fast = coded_matmul(A, B, spec, seed=4, decoder="lmmse", fidelity="fast")
    np.testing.assert_array_equal(full.recovered, fast.recovered)
    assert full.received == fast.received > 15 or full.recovered.all()
    assert abs(full.normalized_loss(C) - fast.normalized_loss(C)) < 1e-9


def test_the_adaptive_stream_is_the_third_child_and_spawns_nothing():
    streams = job_streams(12)
    third = np.random.SeedSequence(12).spawn(3)[2]
    np.testing.assert_array_equal(streams.adaptive.random(3), np.random.default_rng(third).random(3))
    seeds = np.random.SeedSequence(4)
    times, code = job_streams(seeds)  # still a pair
    assert seeds.n_children_spawned == 2
    rng = np.random.default_rng(1)
    assert job_streams(rng).adaptive is rng


def test_adaptive_schemes_thread_the_flag():
    from uepmm import SCHEMES, Scheme, get_scheme

    spec = get_scheme("ew+adaptive").spec(partition="cxr", blocks=9, workers=30)
    assert spec.adaptive and spec.code == "ew" and spec.gamma == "auto" and spec.workers == 30
    assert not get_scheme("ew+").spec(partition="cxr", blocks=9, workers=30).adaptive
    assert get_scheme("mds-adaptive").spec(workers=30).adaptive
    assert all(not s.adaptive for name, s in SCHEMES.items() if "adaptive" not in name)
    with pytest.raises(ValueError, match="scheme 'ew\\+adaptive' sets adaptive=True; got adaptive=False"):
        get_scheme("ew+adaptive").spec(workers=30, adaptive=False)
    with pytest.raises(ValueError, match="scheme 'x': code 'matdot' takes no adaptive packets"):
        Scheme("x", "matdot", adaptive=True)
    with pytest.raises(TypeError, match="adaptive must be True or False"):
        Scheme("x", "mds", adaptive="yes")


def test_compare_fast_path_equals_coded_matmul_with_adaptive_packets():
    from uepmm.experiments.compare import fast_losses

    for code, decoder in (("ew", "lmmse"), ("now", "zero"), ("mds", "zero"), ("uncoded", "zero")):
        spec = JobSpec(code=code, partition="cxr", blocks=9, workers=9 if code == "uncoded" else 20, omega=0.45,
                       adaptive=True, decoder=decoder, cost="work")
        deadlines = [1.0, 3.0, 8.0]
        losses, _ = fast_losses(A, B, spec, deadlines, trials=3, seed=2)
        from uepmm.experiments.engine_curves import trial_seed

        for j in range(3):
            for i, t in enumerate(deadlines):
                result = coded_matmul(A, B, spec, deadline=t, seed=trial_seed(2, j), fidelity="fast")
                assert abs(losses[j, i] - result.normalized_loss(C)) <= 1e-9 * max(1.0, losses[j, i])


def test_windows_without_probability_still_finish_with_an_infinite_deadline():
    # Γ = (1, 0, 0): the first packets all draw class 1; once it is recovered, the free workers take the
    # other windows (every open window has Γ = 0: the most important first), and everything is recovered
    for code in ("now", "ew"):
        spec = JobSpec(code=code, gamma=(1.0, 0.0, 0.0), partition="cxr", blocks=9, workers=12, adaptive=True)
        for seed in range(3):
            result = coded_matmul(A, B, spec, seed=seed, fidelity="fast")
            assert result.recovered.all()
            assert not coded_matmul(A, B, spec.with_(adaptive=False), seed=seed, fidelity="fast").recovered.all()


def test_equal_gamma_singletons_balance_running_packets_like_speculation():
    # 9 one-product windows of equal Γ: every new packet goes to an unrecovered sub-product with the
    # fewest packets running when it starts (D'Hondt with equal weights), as speculative copies do
    from uepmm.adaptive import adaptive_packets
    from uepmm.draw import draw_unit_times

    spec = JobSpec(code="now", gamma=(1 / 9,) * 9, class_counts=(1,) * 9, partition="cxr", blocks=9, workers=30,
                   deadline=3.0, cost="work")
    plan = plan_job(A, B, spec, seed=8)
    units = draw_unit_times(spec, np.random.default_rng(0))
    out = adaptive_packets(spec, plan.code, plan.classes, plan.job.encoding, plan.job.times, plan.job.partition,
                           units, np.random.default_rng(1))
    product = out.encoding.windows  # one product per window: the window is the sub-product's class
    assert out.encoding.workers > 40
    np.testing.assert_array_equal(np.bincount(out.encoding.windows[:30]), [4, 4, 4, 3, 3, 3, 3, 3, 3])
    for i in range(out.encoding.workers):  # the first packets too
        start = out.starts[i]
        arrived = {int(product[j]) for j in range(i) if out.times[j] <= start}
        running = [int(product[j]) for j in range(i) if out.starts[j] <= start < out.times[j]]
        open_ = [level for level in range(9) if level not in arrived]
        assert int(product[i]) in open_
        assert running.count(int(product[i])) == min(running.count(level) for level in open_)


def test_report_names_the_workers_and_each_packets_worker():
    spec = JobSpec(code="mds", partition="cxr", blocks=9, workers=12, deadline=6.0, adaptive=True)
    result = coded_matmul(A, B, spec, seed=3, fidelity="fast")
    assert result.report["workers"] == 12
    owners = result.report["packet_workers"]
    assert owners[:12] == list(range(12)) and len(owners) == len(result.report["response_times"]) > 12


def test_factor_form_rectangles_adaptive_full_equals_fast():
    # EW over nested rectangles of the 3x3 grid in eq. (11)'s factor form: every adaptive packet is
    # re-drawn as alpha ⊗ beta and really computed as one block product in full fidelity
    spec = JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=12, deadline=5.0, adaptive=True,
                   classes=(0, 1, 2, 1, 1, 2, 2, 2, 2), gamma=(0.5, 0.3, 0.2), encoding="factor", cost="work")
    for seed in (1, 2):
        full = coded_matmul(A, B, spec, seed=seed, decoder="lmmse")
        fast = coded_matmul(A, B, spec, seed=seed, decoder="lmmse", fidelity="fast")
        assert full.encoding.workers > 12 and full.encoding.factors is not None  # packets started
        assert len(full.encoding.factors) == full.encoding.workers
        assert set(full.report["packet_work"]) == {1.0}  # the factor form: one block product per packet
        np.testing.assert_array_equal(full.recovered, fast.recovered)
        assert abs(full.normalized_loss(C) - fast.normalized_loss(C)) < 1e-9
