import numpy as np
import pytest
from scipy import stats

from uepmm.latency import Deterministic, Exponential, Pareto, ShiftedExponential, Trace, Weibull, mean_response


@pytest.mark.parametrize(
    "model,reference",
    [
        (Exponential(0.5), stats.expon(scale=2.0)),
        (ShiftedExponential(2.0, 0.3), stats.expon(loc=0.3, scale=0.5)),
        (Pareto(3.0, 1.5), stats.pareto(b=3.0, scale=1.5)),
        (Weibull(1.7, 2.0), stats.weibull_min(c=1.7, scale=2.0)),
    ],
)
def test_cdf_matches_scipy_and_samples_follow_it(model, reference):
    t = np.linspace(0, 6, 31)
    np.testing.assert_allclose(model.cdf(t), reference.cdf(t), atol=1e-12)
    samples = model.sample(np.random.default_rng(0), 20000)
    assert stats.kstest(samples, reference.cdf).pvalue > 1e-3


def test_omega_scaling_remark1():
    model = Exponential(1.0)
    omega = 9 / 15
    t = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(model.response_cdf(t, omega), 1 - np.exp(-omega * t))
    draws = model.sample_response(np.random.default_rng(1), 200000, omega)
    assert abs(draws.mean() - 1 / omega) < 0.02
    assert mean_response(model, omega) == pytest.approx(1 / omega, rel=1e-6)


def test_trace_model(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("seconds\n0.5\n1.5\n1.0\n2.0\n")
    model = Trace.from_file(str(path))
    assert model.times == (0.5, 1.0, 1.5, 2.0)
    np.testing.assert_allclose(model.cdf([0.4, 1.0, 1.9, 5.0]), [0, 0.5, 0.75, 1.0])
    assert set(model.sample(np.random.default_rng(0), 50)) <= {0.5, 1.0, 1.5, 2.0}


def test_deterministic():
    assert Deterministic(1.0).cdf(0.99) == 0 and Deterministic(1.0).cdf(1.0) == 1


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: Exponential(-1), "rate"),
        (lambda: Exponential(float("nan")), "rate"),
        (lambda: Pareto(0, 1), "shape"),
        (lambda: Trace(()), "times"),
        (lambda: Trace((1.0, -2.0)), "times"),
        (lambda: ShiftedExponential(1.0, -1.0), "shift"),
    ],
)
def test_bad_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_schedule_replays_one_time_per_worker():
    from uepmm.latency import Schedule

    model = Schedule((0.5, 2.0, 1.0))
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(model.sample(rng, 3), [0.5, 2.0, 1.0])
    np.testing.assert_array_equal(model.sample_response(rng, 3, 2.0), [0.25, 1.0, 0.5])
    np.testing.assert_allclose(model.cdf([0.4, 1.0, 2.0]), [0.0, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="3 times but 4 workers"):
        model.sample(rng, 4)
    with pytest.raises(ValueError, match="one finite response time"):
        Schedule((1.0, -1.0))
