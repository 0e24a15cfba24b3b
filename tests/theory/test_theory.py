"""Tests of uepmm.theory (paper Sec. V, eqs. 13-19; docs/design.md §7) and ``uepmm theory``."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from uepmm import cli, theory
from uepmm.importance import SEC6_COUNTS, TABLE3_GAMMA, paper_sec6_classes
from uepmm.latency import Exponential, Weibull
from uepmm.theory import (
    arrival_distribution,
    conditional_loss_bound_cxr,
    conditional_loss_rxc,
    decoding_probabilities,
    expected_loss,
    expected_loss_vs_packets,
    sec6_class_energy,
    sub_product_energy,
    total_energy,
)

# ----------------------------------------------------------------------------- brute force


def _compositions(total: int, parts: int):
    """All (n_1..n_parts) of non-negative integers summing to ``total``."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


def _multinomial_pmf(n: tuple[int, ...], gamma) -> float:
    """Eq. 15."""
    out = math.factorial(sum(n))
    for n_i, g_i in zip(n, gamma):
        out = out / math.factorial(n_i) * (g_i**n_i)
    return out


def _ew_decoded(n: tuple[int, ...], k: tuple[int, ...]) -> list[bool]:
    """docs/design.md §7 rule for one composition."""
    complete, rank, K = [], 0, 0
    for n_l, k_l in zip(n, k):
        K += k_l
        rank = min(rank + n_l, K)
        complete.append(rank == K)
    return [any(complete[j:]) for j in range(len(k))]


def _brute_force(code: str, k, gamma, N: int) -> np.ndarray:
    out = np.zeros(len(k))
    for n in _compositions(N, len(k)):
        weight = _multinomial_pmf(n, gamma)
        if code == "now":
            decoded = [n_l >= k_l for n_l, k_l in zip(n, k)]
        else:
            decoded = _ew_decoded(n, k)
        out += weight * np.asarray(decoded, dtype=float)
    return out


# ----------------------------------------------------------------------------- check values


def test_design_check_values_at_nine_packets():
    now = decoding_probabilities("now", SEC6_COUNTS, TABLE3_GAMMA, 9)[9]
    ew = decoding_probabilities("ew", SEC6_COUNTS, TABLE3_GAMMA, 9)[9]
    np.testing.assert_allclose(now, [0.768, 0.663, 0.399], atol=5e-4)
    np.testing.assert_allclose(ew, [1.000, 0.736, 0.274], atol=5e-4)


def test_shape_and_first_rows():
    P = decoding_probabilities("ew", (3, 3, 3), TABLE3_GAMMA, 30)
    assert P.shape == (31, 3)
    # class 1 of EW needs 3 packets: first possible at N = 3 when all pick window 1
    assert P[2, 0] == 0.0
    assert P[3, 0] == pytest.approx(0.4**3)
    # class 3 needs every one of the K = 9 sub-products: impossible below N = 9
    assert np.all(P[:9, 2] == 0.0)
    assert P[9, 2] == pytest.approx(_brute_force("ew", (3, 3, 3), TABLE3_GAMMA, 9)[2])


def test_now_with_single_sub_products_is_geometric():
    gamma = (0.5, 0.3, 0.15, 0.05)
    P = decoding_probabilities("now", (1, 1, 1, 1), gamma, 40)
    N = np.arange(41)[:, None]
    np.testing.assert_allclose(P, 1.0 - (1.0 - np.asarray(gamma)[None, :]) ** N, rtol=1e-12, atol=1e-15)


def test_mds_step_exactly_at_K():
    P = decoding_probabilities("mds", (2, 3, 4), max_packets=20)
    assert np.all(P[:9] == 0.0)
    assert np.all(P[9:] == 1.0)
    assert decoding_probabilities("mds", (2, 3, 4)).shape == (10, 3)  # default max_packets = K


@pytest.mark.parametrize("code", theory.THEORY_CODES)
def test_probabilities_monotone_in_packets(code):
    k = (2, 3, 1, 2)
    gamma = (0.35, 0.3, 0.2, 0.15)
    use_gamma = gamma if code in ("now", "ew") else None
    max_packets = 40 if code in ("now", "ew", "mds") else None
    P = decoding_probabilities(code, k, use_gamma, max_packets)
    assert np.all(P >= 0.0) and np.all(P <= 1.0)
    assert np.all(np.diff(P, axis=0) >= -1e-12)


def test_ew_protects_class_one_at_least_as_well_as_now():
    for k, gamma in [((3, 3, 3), TABLE3_GAMMA), ((1, 2, 6), (0.5, 0.3, 0.2)), ((4, 2), (0.2, 0.8))]:
        now = decoding_probabilities("now", k, gamma, 60)
        ew = decoding_probabilities("ew", k, gamma, 60)
        assert np.all(ew[:, 0] >= now[:, 0] - 1e-12)


def test_ew_is_ordered_by_class():
    """Class l decoded implies class l-1 decoded, so the EW probabilities fall with l."""
    P = decoding_probabilities("ew", (2, 4, 1, 3), (0.1, 0.2, 0.3, 0.4), 50)
    assert np.all(np.diff(P, axis=1) <= 1e-12)


# ----------------------------------------------------------------------------- DP vs enumeration


@st.composite
def _small_cases(draw):
    L = draw(st.integers(1, 4))
    k = tuple(draw(st.lists(st.integers(1, 3), min_size=L, max_size=L)))
    weights = draw(st.lists(st.integers(0, 6), min_size=L, max_size=L).filter(lambda w: sum(w) > 0))
    gamma = tuple(w / sum(weights) for w in weights)
    N = draw(st.integers(0, 12))
    return k, gamma, N


@settings(max_examples=60, deadline=None)
@given(_small_cases())
def test_dynamic_programme_equals_enumeration(case):
    k, gamma, N = case
    for code in ("now", "ew"):
        P = decoding_probabilities(code, k, gamma, N)
        np.testing.assert_allclose(P[N], _brute_force(code, k, gamma, N), atol=1e-12, err_msg=code)


def test_dynamic_programme_equals_enumeration_seeded_loop():
    rng = np.random.default_rng(2024)
    for _ in range(25):
        L = int(rng.integers(1, 5))
        k = tuple(int(x) for x in rng.integers(1, 4, size=L))
        gamma = rng.dirichlet(np.ones(L))
        N = 12
        for code in ("now", "ew"):
            P = decoding_probabilities(code, k, gamma, N)
            for n_recv in (0, 3, 7, 12):
                np.testing.assert_allclose(P[n_recv], _brute_force(code, k, gamma, n_recv), atol=1e-12)


@pytest.mark.parametrize("gamma", [(0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)])
def test_zero_window_probabilities(gamma):
    k = (2, 1, 2)
    for code in ("now", "ew"):
        P = decoding_probabilities(code, k, gamma, 10)
        for N in range(11):
            np.testing.assert_allclose(P[N], _brute_force(code, k, gamma, N), atol=1e-12)


def test_large_case_is_a_valid_distribution():
    gamma = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05])
    P = decoding_probabilities("ew", (3,) * 8, gamma, 300)
    assert P.shape == (301, 8)
    assert np.all(np.isfinite(P))
    assert np.all(np.diff(P, axis=0) >= -1e-12)
    # Monte Carlo over multinomial window counts with the docs/design.md §7 rule
    rng = np.random.default_rng(7)
    k = np.full(8, 3)
    for N in (24, 40, 300):
        counts = rng.multinomial(N, gamma, size=100_000)
        rank = np.zeros(counts.shape[0], dtype=int)
        complete = []
        for l in range(8):
            rank = np.minimum(rank + counts[:, l], k[: l + 1].sum())
            complete.append(rank == k[: l + 1].sum())
        complete = np.array(complete)
        estimate = [np.any(complete[l:], axis=0).mean() for l in range(8)]
        np.testing.assert_allclose(P[N], estimate, atol=0.006)


# ----------------------------------------------------------------------------- baselines


def _subset_recovery(K: int, copies: int, N: int) -> float:
    """Fraction of N-subsets of the copies*K tasks holding a copy of sub-product 0."""
    tasks = [t % K for t in range(copies * K)]
    hits = total = 0
    for subset in itertools.combinations(range(copies * K), N):
        total += 1
        hits += any(tasks[t] == 0 for t in subset)
    return hits / total


@pytest.mark.parametrize("K,copies", [(4, 1), (3, 2), (4, 2), (3, 3)])
def test_uncoded_and_repetition_against_subsets(K, copies):
    k = (1, K - 1) if K > 1 else (1,)
    if copies == 1:
        P = decoding_probabilities("uncoded", k)
    else:
        P = decoding_probabilities("repetition", k, copies=copies)
    assert P.shape == (copies * K + 1, len(k))
    for N in range(copies * K + 1):
        np.testing.assert_allclose(P[N], _subset_recovery(K, copies, N), atol=1e-12)


def test_uncoded_is_N_over_K():
    P = decoding_probabilities("uncoded", (3, 3, 3))
    np.testing.assert_allclose(P[:, 1], np.arange(10) / 9)


# ----------------------------------------------------------------------------- finite field


def _gf2_rank(rows: list[int]) -> int:
    basis: list[int] = []
    for row in rows:
        for b in basis:
            row = min(row, row ^ b)
        if row:
            basis.append(row)
    return len(basis)


def _gf2_exhaustive(code: str, k, gamma, N: int) -> np.ndarray:
    """Exact P(class decoded) over every GF(2) coefficient assignment (tiny cases only)."""
    L = len(k)
    cum = np.cumsum(k)
    out = np.zeros(L)
    for n in _compositions(N, L):
        weight = _multinomial_pmf(n, gamma)
        if weight == 0.0:
            continue
        if code == "now":
            widths = [k_l for k_l, n_l in zip(k, n) for _ in range(n_l)]
        else:
            widths = [int(cum[l]) for l in range(L) for _ in range(n[l])]
        owners = [l for l in range(L) for _ in range(n[l])]
        hits = np.zeros(L)
        for values in itertools.product(*[range(2**w) for w in widths]):
            if code == "now":
                full = [_gf2_rank([v for v, o in zip(values, owners) if o == l]) == k[l] for l in range(L)]
                hits += full
            else:
                full = [_gf2_rank([v for v, o in zip(values, owners) if o <= j]) == cum[j] for j in range(L)]
                hits += [any(full[l:]) for l in range(L)]
        out += weight * hits / math.prod(2**w for w in widths)
    return out


@pytest.mark.parametrize("code,k,gamma", [
    ("ew", (1, 1), (0.6, 0.4)), ("ew", (1, 2), (0.5, 0.5)), ("ew", (2, 1), (0.3, 0.7)), ("now", (2, 1), (0.6, 0.4)),
])
def test_finite_field_model_is_exact_for_gf2(code, k, gamma):
    P = decoding_probabilities(code, k, gamma, 4, q=2)
    for N in range(5):
        np.testing.assert_allclose(P[N], _gf2_exhaustive(code, k, gamma, N), atol=1e-12, err_msg=f"N={N}")


@pytest.mark.parametrize("code", ["now", "ew"])
def test_large_field_approaches_infinite_field(code):
    k, gamma = (2, 3, 2), (0.4, 0.35, 0.25)
    exact = decoding_probabilities(code, k, gamma, 25)
    near = decoding_probabilities(code, k, gamma, 25, q=1e9)
    np.testing.assert_allclose(near, exact, atol=1e-6)


@pytest.mark.parametrize("code", ["now", "ew"])
def test_small_field_is_strictly_worse(code):
    k, gamma = SEC6_COUNTS, TABLE3_GAMMA
    exact = decoding_probabilities(code, k, gamma, 25)
    q16 = decoding_probabilities(code, k, gamma, 25, q=16)
    q2 = decoding_probabilities(code, k, gamma, 25, q=2)
    positive = exact > 0
    assert np.all(q2[positive] < exact[positive])
    assert np.all(q2[~positive] == 0.0)
    assert np.all(q2 <= q16 + 1e-12) and np.all(q16 <= exact + 1e-12)


def test_now_finite_field_closed_form():
    """Single class: P = sum_n Binom(N, 1)(n) prod_{i<k} (1 - q^(i-n)) = prod_{i<k} (1 - q^(i-N))."""
    P = decoding_probabilities("now", (3,), (1.0,), 8, q=3)
    for N in range(9):
        expected = math.prod(1 - 3.0 ** (i - N) for i in range(3)) if N >= 3 else 0.0
        assert P[N, 0] == pytest.approx(expected, abs=1e-14)


# ----------------------------------------------------------------------------- arrivals and loss


def test_arrival_distribution_is_binomial():
    latency = Exponential(1.0)
    times = np.array([0.0, 0.1, 0.5, 1.0, 3.0])
    P = arrival_distribution(latency, times, 30, omega=0.3)
    assert P.shape == (5, 31)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    F = 1.0 - np.exp(-0.3 * times)
    np.testing.assert_allclose(P, stats.binom.pmf(np.arange(31)[None, :], 30, F[:, None]), atol=1e-14)
    assert P[0, 0] == 1.0
    assert arrival_distribution(Weibull(2.0), 0.7, 5).shape == (1, 6)


def test_theorem1_equals_direct_sum():
    k, gamma, W = (2, 1, 2), (0.5, 0.3, 0.2), 8
    energy = np.array([5.0, 2.0, 0.5])
    latency = Exponential(1.0)
    times = [0.2, 0.9, 2.0]
    value = expected_loss("now", k, gamma, latency, times, W, energy)
    P = decoding_probabilities("now", k, gamma, W)
    omega = sum(k) / W
    for i, t in enumerate(times):
        F = 1.0 - math.exp(-omega * t)
        direct = 0.0
        for w in range(W + 1):
            p_w = math.comb(W, w) * F**w * (1 - F) ** (W - w)
            direct += p_w * sum(k[l] * (1 - P[w, l]) * energy[l] for l in range(3))
        assert value[i] == pytest.approx(direct, rel=1e-12)


def test_theorem2_bound_is_M_times_theorem1():
    k, gamma, W = SEC6_COUNTS, TABLE3_GAMMA, 30
    energy = sec6_class_energy("cxr")
    times = np.linspace(0, 2, 7)
    rxc = expected_loss("ew", k, gamma, Exponential(1.0), times, W, energy, partition="rxc")
    cxr = expected_loss("ew", k, gamma, Exponential(1.0), times, W, energy, partition="cxr")
    np.testing.assert_allclose(cxr, 9 * rxc, rtol=1e-12)
    P = decoding_probabilities("ew", k, gamma, W)
    np.testing.assert_allclose(conditional_loss_bound_cxr(P, k, energy), 9 * conditional_loss_rxc(P, k, energy))
    np.testing.assert_allclose(conditional_loss_bound_cxr(P, k, energy, num_blocks=4),
                               4 * conditional_loss_rxc(P, k, energy))


def test_conditional_loss_formula():
    P = np.array([[0.0, 0.0], [1.0, 0.5]])
    np.testing.assert_allclose(conditional_loss_rxc(P, (2, 3), (10.0, 1.0)), [23.0, 1.5])
    assert float(conditional_loss_rxc(np.array([1.0, 1.0]), (2, 3), (10.0, 1.0))) == 0.0


def test_normalised_loss_vs_packets():
    energy = sec6_class_energy("rxc")
    mds = expected_loss_vs_packets("mds", SEC6_COUNTS, None, energy, max_packets=15, normalize=True)
    np.testing.assert_allclose(mds[:9], 1.0)
    np.testing.assert_allclose(mds[9:], 0.0)
    ew = expected_loss_vs_packets("ew", SEC6_COUNTS, TABLE3_GAMMA, energy, max_packets=30, normalize=True)
    assert ew[0] == pytest.approx(1.0)
    assert np.all(np.diff(ew) <= 1e-12)
    assert ew[9] < 0.1  # class 1 (most of the energy) is decoded with probability 1 at N = 9
    raw = expected_loss_vs_packets("ew", SEC6_COUNTS, TABLE3_GAMMA, energy, max_packets=30)
    np.testing.assert_allclose(raw / total_energy(SEC6_COUNTS, energy), ew)


def test_expected_loss_limits_and_omega():
    energy = sec6_class_energy("rxc")
    latency = Exponential(1.0)
    at_zero = expected_loss("mds", SEC6_COUNTS, None, latency, [0.0, 1e6], 30, energy, normalize=True)
    np.testing.assert_allclose(at_zero, [1.0, 0.0], atol=1e-12)
    default = expected_loss("now", SEC6_COUNTS, TABLE3_GAMMA, latency, [0.5], 30, energy)
    explicit = expected_loss("now", SEC6_COUNTS, TABLE3_GAMMA, latency, [0.5], 30, energy, omega=9 / 30)
    assert default[0] == pytest.approx(explicit[0], rel=1e-14)
    rep = expected_loss("repetition", SEC6_COUNTS, None, latency, [0.5], 18, energy)
    rep2 = expected_loss("repetition", SEC6_COUNTS, None, latency, [0.5], 18, energy, copies=2)
    assert rep[0] == pytest.approx(rep2[0])


def test_sec6_class_energies():
    base = 300 * 900 * 300
    np.testing.assert_allclose(sec6_class_energy("rxc"), base * np.array([40.0, 1.0, 0.07]))
    np.testing.assert_allclose(sec6_class_energy("cxr"), 900 * 100 * 900 * np.array([100.0, 1.0, 0.01]))
    # agrees with the paper's class table: mean over the members of each class
    var = (10.0, 1.0, 0.1)
    table = paper_sec6_classes("rxc")
    per_product = [sub_product_energy(300, 900, 300, var[i // 3], var[i % 3]) for i in range(9)]
    means = [np.mean([per_product[i] for i in table.members(c)]) for c in range(3)]
    np.testing.assert_allclose(sec6_class_energy("rxc"), means)
    assert sub_product_energy(2, 3, 4, 0.5, 2.0) == pytest.approx(24.0)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(code="now", k=(3, 3, 3), gamma=(0.5, 0.5), max_packets=5), ValueError, "gamma"),
        (dict(code="ew", k=(3, 3), gamma=(0.5, 0.6), max_packets=5), ValueError, "gamma"),
        (dict(code="now", k=(3, 0, 3), gamma=(0.4, 0.3, 0.3), max_packets=5), ValueError, "k"),
        (dict(code="now", k=(3, 2.5), gamma=(0.5, 0.5), max_packets=5), TypeError, "k"),
        (dict(code="ldpc", k=(3, 3), gamma=(0.5, 0.5), max_packets=5), ValueError, "code"),
        (dict(code="now", k=(3, 3), gamma=(0.5, 0.5), max_packets=-1), ValueError, "max_packets"),
        (dict(code="now", k=(3, 3), gamma=(0.5, 0.5)), ValueError, "max_packets"),
        (dict(code="ew", k=(3, 3), max_packets=5), ValueError, "gamma"),
        (dict(code="uncoded", k=(3, 3), max_packets=7), ValueError, "max_packets"),
        (dict(code="mds", k=(3, 3), max_packets=7, copies=2), ValueError, "copies"),
        (dict(code="repetition", k=(3, 3), copies=0), ValueError, "copies"),
        (dict(code="now", k=(3, 3), gamma=(0.5, 0.5), max_packets=5, q=1), ValueError, "q"),
        (dict(code="mds", k=(3, 3), max_packets=5, q=4), ValueError, "q"),
    ],
)
def test_bad_input_names_the_argument(kwargs, exc, word):
    with pytest.raises(exc, match=rf"\b{word}\b"):
        decoding_probabilities(**kwargs)


def test_bad_loss_input():
    with pytest.raises(ValueError, match="class_energy"):
        conditional_loss_rxc(np.zeros((3, 2)), (1, 1), (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="probs"):
        conditional_loss_rxc(np.zeros((3, 3)), (1, 1), (1.0, 2.0))
    with pytest.raises(ValueError, match="partition"):
        sec6_class_energy("rxr")
    with pytest.raises(TypeError, match="latency"):
        arrival_distribution("exponential", [1.0], 10)
    with pytest.raises(ValueError, match="workers"):
        arrival_distribution(Exponential(), [1.0], 0)
    with pytest.raises(ValueError, match="workers"):
        expected_loss("uncoded", (3, 3), None, Exponential(), [1.0], 7, (1.0, 1.0))
    with pytest.raises(ValueError, match="omega"):
        arrival_distribution(Exponential(), [1.0], 10, omega=0.0)


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def theory_cli(monkeypatch):
    # Only the sub-command under test: the CLI imports every listed module.
    monkeypatch.setattr(cli, "_COMMAND_MODULES", ("theory",))
    return cli.main


def test_cli_decoding_csv(theory_cli, capsys):
    rc = theory_cli(["theory", "decoding", "--code", "ew", "--k", "3,3,3", "--gamma", "0.4,0.35,0.25",
                     "--max-packets", "30", "--format", "csv"])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "packets,class_1,class_2,class_3"
    assert len(lines) == 32
    row = lines[10].split(",")
    assert row[0] == "9"
    np.testing.assert_allclose([float(x) for x in row[1:]], [1.000, 0.736, 0.274], atol=5e-4)


def test_cli_other_formats_and_errors(theory_cli, capsys):
    assert theory_cli(["theory", "decoding", "--code", "repetition", "--copies", "2", "--format", "json"]) == 0
    import json

    payload = json.loads(capsys.readouterr().out)
    assert payload["columns"][0] == "packets" and len(payload["rows"]) == 19
    assert payload["rows"][1][1] == pytest.approx(1 / 9)
    assert theory_cli(["theory", "decoding", "--code", "now", "--max-packets", "3", "--format", "table"]) == 0
    assert "class_3" in capsys.readouterr().out
    assert theory_cli(["theory", "decoding", "--code", "now", "--max-packets", "3", "--k", "2,2"]) == 2
    assert "gamma" in capsys.readouterr().err
    assert theory_cli(["theory", "decoding", "--code", "now"]) == 2
    assert "--max-packets" in capsys.readouterr().err
