"""Real encode/decode against the analytic decoding rules of docs/design.md §7 (paper eqs. 14-15).

The analytic side is computed here by brute-force enumeration of window counts, independent
of ``uepmm.theory``; the engine side runs full-fidelity jobs (workers compute packets, the
decoder solves) and records which classes are recovered after each received packet.
"""

import itertools
import math

import numpy as np
import pytest

from uepmm import Deterministic, coded_matmul
from uepmm.importance import TABLE3_GAMMA, paper_sec6_classes

K_COUNTS = (3, 3, 3)
TRIALS = 2000
WORKERS = 16
PACKETS = (3, 6, 9, 12)


def analytic(code, N, k=K_COUNTS, gamma=TABLE3_GAMMA):
    L = len(k)
    out = np.zeros(L)
    for n in itertools.product(range(N + 1), repeat=L):
        if sum(n) != N:
            continue
        p = math.factorial(N) / math.prod(math.factorial(x) for x in n) * math.prod(g**x for g, x in zip(gamma, n))
        if code == "now":
            decoded = [n[l] >= k[l] for l in range(L)]
        else:  # EW rank recursion R_l = min(R_{l-1} + n_l, K_l)
            R, complete = 0, []
            for l in range(L):
                R = min(R + n[l], sum(k[: l + 1]))
                complete.append(R == sum(k[: l + 1]))
            decoded = [any(complete[l:]) for l in range(L)]
        out += p * np.asarray(decoded, dtype=float)
    return out


def test_analytic_check_values_from_design_notes():
    np.testing.assert_allclose(analytic("now", 9), [0.768, 0.663, 0.399], atol=1e-3)
    np.testing.assert_allclose(analytic("ew", 9), [1.000, 0.736, 0.274], atol=1e-3)


@pytest.mark.parametrize("code", ["now", "ew"])
def test_engine_recovery_frequencies_match_theory(code):
    rng = np.random.default_rng(99)
    A, B = rng.standard_normal((3, 9)), rng.standard_normal((9, 3))  # c×r with M = 9 one-column blocks
    table = paper_sec6_classes("cxr")
    cls = table.as_array()
    hits = np.zeros((len(PACKETS), 3))
    for trial in range(TRIALS):
        states = []
        res = coded_matmul(
            A, B, code=code, partition="cxr", blocks=9, workers=WORKERS, classes=table, reorder=False,
            latency=Deterministic(0.0), seed=trial, decoder="zero",
            on_packet=lambda p, states=states: states.append(p.recovered),
        )
        exact = res.partition.products(A, B)
        for i, n in enumerate(PACKETS):
            state = states[min(n, len(states)) - 1]  # the job stops early once everything is recovered
            hits[i] += [state[cls == l].all() for l in range(3)]
        # every recovered sub-product really decoded: the estimate equals their exact sum
        np.testing.assert_allclose(res.estimate, exact[res.recovered].sum(axis=0), atol=1e-9)
    freq = hits / TRIALS
    for i, n in enumerate(PACKETS):
        p = analytic(code, n)
        se = np.sqrt(np.clip(p * (1 - p), 0, None) / TRIALS)
        assert np.all(np.abs(freq[i] - p) <= 4 * se + 1.0 / TRIALS), (n, freq[i], p)
