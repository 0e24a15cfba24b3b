"""PacketVerifier: honest packets pass, wrong ones are caught (no cluster needed)."""

from __future__ import annotations

import numpy as np
import pytest

from uepmm.api import plan_job
from uepmm.verification import PacketVerifier


def _job(partition, code="ew", workers=20, encoding="direct", dtype=np.float64, scale=(1.0, 1.0)):
    rng = np.random.default_rng(5)
    A = (scale[0] * rng.standard_normal((40, 60))).astype(dtype)
    B = (scale[1] * rng.standard_normal((60, 30))).astype(dtype)
    return plan_job(A, B, code=code, partition=partition, blocks=9, workers=workers, encoding=encoding, seed=2).job


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("code", ["uncoded", "repetition", "mds", "now", "ew"])
def test_honest_packets_pass(partition, code):
    workers = {"uncoded": 9, "repetition": 18}.get(code, 20)
    job = _job(partition, code, workers)
    verifier = PacketVerifier(job.partition, job.a_blocks, job.b_blocks, rng=np.random.default_rng(0))
    verdicts = [verifier.check(job.encoding.generator[w], job.compute_packet(w)) for w in range(job.workers)]
    assert verdicts == ["ok"] * job.workers
    assert verifier.rtol == pytest.approx(32 * np.finfo(np.float64).eps * 60)


def test_factor_form_and_float32_and_badly_scaled_inputs_pass():
    job = _job("rxc", "mds", 12, encoding="factor")
    verifier = PacketVerifier(job.partition, job.a_blocks, job.b_blocks, rng=np.random.default_rng(1))
    assert all(verifier.check(job.encoding.generator[w], job.compute_packet(w)) == "ok" for w in range(12))
    job32 = _job("cxr", "ew", 20, dtype=np.float32)
    verifier32 = PacketVerifier(job32.partition, job32.a_blocks, job32.b_blocks, rng=np.random.default_rng(1))
    assert verifier32.rtol == pytest.approx(32 * np.finfo(np.float32).eps * 60)
    assert all(verifier32.check(job32.encoding.generator[w], job32.compute_packet(w)) == "ok" for w in range(20))
    wide = _job("cxr", "mds", 12, scale=(1e150, 1e-140))
    verifier_wide = PacketVerifier(wide.partition, wide.a_blocks, wide.b_blocks, rng=np.random.default_rng(1))
    assert all(verifier_wide.check(wide.encoding.generator[w], wide.compute_packet(w)) == "ok" for w in range(12))


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_wrong_packets_are_caught(partition):
    job = _job(partition, "ew", 20)
    rng = np.random.default_rng(3)
    verifier = PacketVerifier(job.partition, job.a_blocks, job.b_blocks, rng=rng)
    caught = 0
    for w in range(job.workers):
        packet = job.compute_packet(w)
        row = job.encoding.generator[w]
        typical = float(np.sqrt(np.mean(packet**2)))
        wrong = packet.copy()
        wrong.flat[rng.integers(packet.size)] += 1e-6 * typical  # one entry, a millionth of a typical value
        caught += verifier.check(row, wrong) == "corrupt"
        assert verifier.check(row, 1.0001 * packet) == "corrupt"
        assert verifier.check(-row, packet) == "corrupt"  # right product, claimed for the wrong row
        nan = packet.copy()
        nan.flat[0] = np.nan
        assert verifier.check(row, nan) == "nonfinite"
        inf = packet.copy()
        inf.flat[-1] = -np.inf
        assert verifier.check(row, inf) == "nonfinite"
        assert verifier.check(row, packet[:-1]) == "malformed"
        assert verifier.check(row, packet.tolist()) == "malformed"
        assert verifier.check(row, None) == "malformed"
    assert caught == job.workers


def test_rejects_bad_arguments():
    job = _job("cxr")
    with pytest.raises(TypeError, match="rng"):
        PacketVerifier(job.partition, job.a_blocks, job.b_blocks, rng=3)
    with pytest.raises(ValueError, match="verify_rtol"):
        PacketVerifier(job.partition, job.a_blocks, job.b_blocks, rtol=-1.0)
    with pytest.raises(ValueError, match="probes"):
        PacketVerifier(job.partition, job.a_blocks, job.b_blocks, probes=0)
